// Package telemetrytest keeps the example dashboard and alert rules
// (examples/observability) honest: it extracts every portcullis_* metric
// and selector label they use, parses a Prometheus text exposition into
// metric families with their label names, and checks one against the other.
// ExerciseAll feeds every metric once so that each family is exposed.
//
// Invariants: test support only (imported by tests, never by the gateway);
// it reads files and text, starts nothing, and never changes a Telemetry
// beyond incrementing its metrics.
package telemetrytest
