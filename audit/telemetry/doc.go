// Package telemetry owns Portcullis' metric and span names: a Prometheus
// registry with the gateway metrics (served by Handler on the admin
// listener) and an OpenTelemetry helper that starts one span per MCP call
// with the MCP and GenAI semantic-convention attribute names, continuing the
// W3C trace context of the incoming request.
//
// Invariants: label values are bounded (decisions and planes are enums;
// server, phase, detector type and sink names are capped at MaxLabelValues
// distinct values per label, extras become "other"); no content ever becomes
// a label or a span attribute (arguments and results are opt-in content in
// the conventions and are never set here). Every method is safe on a nil
// *Telemetry, which disables telemetry at the cost of a nil check.
package telemetry
