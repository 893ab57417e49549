// Package extproc is Portcullis's Envoy external processor: it implements
// envoy.service.ext_proc.v3.ExternalProcessor and decides, for every MCP
// message crossing the gateway, whether it may pass, must be rewritten, or is
// answered with a JSON-RPC error.
//
// Invariants:
//   - One state machine per gRPC stream (one HTTP request); every
//     ProcessingRequest gets exactly one ProcessingResponse of the matching
//     type, in order.
//   - Fail closed: a message that cannot be parsed, validated or inspected is
//     never passed through unprocessed; the call ends with a JSON-RPC error
//     (or, once an SSE response is already streaming, with a gRPC error that
//     makes Envoy reset the stream).
//   - Request bodies are BUFFERED; JSON responses are BUFFERED; SSE responses
//     are switched to STREAMED with mode_override and each event is held until
//     complete, inspected, then released.
//   - Header values are written to raw_value only; content-length is set to
//     the new length whenever a buffered body is replaced.
//   - The runtime configuration is an immutable snapshot swapped atomically;
//     a stream keeps the snapshot it started with.
//   - Every content-bearing message, in both directions, is inspected and
//     decided (decide.go; docs/inspection.md); surrogates are restored
//     before deciding. Each decision yields one final Outcome, and record
//     emits the audit record, the metric, the span attributes and the
//     observers from it, once. A refusal made before any decision
//     (framing, parsing, headers, an upstream's answer) is such an outcome
//     too (recordRefusal; rules protocol:*), content-free, and so is a
//     refusal the data plane made without the processor (RecordLocal,
//     local.go; rules dataplane:*).
//   - Redaction reuses the scan: a ReportScanner detector hands its scan
//     report back to RedactWith, so a redacted value is not detected twice.
//   - Every message is tokenized once (mcp.ParseBody / ParseMessage over
//     mcp/jsondoc); stages read its mcp.Value views, not the bytes again.
//     Message edits go through mcp/jsondoc (one splice, output verified); a
//     failed edit refuses the message.
//   - Serve is the one gRPC loop; the per-stream state machine and the
//     benchmark's NullProcessor are both Processors, served with the same
//     gRPC server options (GRPCServerOptions).
package extproc
