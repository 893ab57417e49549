// Package telemetry owns Portcullis' metric and span names: a Prometheus
// registry with the gateway metrics (served by Handler on the admin
// listener), the per-decision metrics fed from one content-free decision
// record (ObserveDecision, RecordDecision), and an OpenTelemetry helper that
// starts one span per MCP call with the MCP and GenAI semantic-convention
// attribute names, continuing the W3C trace context of the incoming request.
// Spans go to a swappable exporter (ConfigureTracing: otlp, stdout, file or
// none), so a reload can change it without a restart.
//
// Invariants: label values are bounded (decisions and planes are enums;
// actions and modes outside short lower-case identifiers become "other";
// server, rule, phase, detector type and sink names are capped at
// MaxLabelValues distinct values per label and tool names at
// MaxToolsPerServer per server, extras become "other"; calls refused as
// unknown tools never create a tool value); no content ever becomes a label
// or a span attribute (arguments and results are opt-in content in the
// conventions and are never set here). Every method is safe on a nil
// *Telemetry, which disables telemetry at the cost of a nil check.
package telemetry
