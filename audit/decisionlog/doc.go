// Package decisionlog owns the content-free decision record that explains one
// gateway decision, and DecisionLogger, which writes it as one JSON line per
// decision (config key log.decisions: all, refusals or off).
//
// The same Decision value is meant to feed every view of a decision: the
// decision log line, the metrics (telemetry.ObserveDecision), the span
// attributes and the `portcullis explain` output.
//
// Invariants: a Decision carries no argument, result or matched content —
// only identifiers (principal, server, method, tool, rule, policy version),
// numbers (score, factor scores and weights, finding spans, latencies) and
// the factors' reasons, which the policy engine builds from metadata. A line
// is written whole or not at all, under a mutex, so concurrent decisions
// never interleave. Writing never blocks the decision on a slow reader for
// longer than the underlying Write; a failed write is counted (Errors) and
// returned, never retried.
package decisionlog
