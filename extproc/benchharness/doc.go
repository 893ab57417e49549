// Package benchharness drives an ext_proc server over real gRPC the way
// Envoy does for MCP tool calls — request headers, buffered request body,
// response headers, buffered JSON or streamed SSE response body — from many
// concurrent streams, and reports latency percentiles and throughput. The
// same load against a null processor (CONTINUE to everything) gives the
// transport baseline in the same run.
package benchharness
