// Package dataplane is Portcullis' embedded, Envoy-compatible data plane: an
// HTTP reverse proxy that plays Envoy 1.38's side of the ext_proc protocol
// (envoy.service.ext_proc.v3.ExternalProcessor/Process) over real gRPC against
// any processor.
//
// It owns: route selection (path prefix → upstream, optional sandbox
// re-route after clear_route_cache), the per-request ext_proc conversation
// (one lazily opened Process stream per HTTP request), processing modes
// NONE / BUFFERED / STREAMED / BUFFERED_PARTIAL / FULL_DUPLEX_STREAMED (GRPC
// behaves as NONE), header send modes, trailers, mode_override, content-length
// rules, buffer limits, ImmediateResponse, header-mutation rules, message
// timeouts and failure handling, all as described in
// shared/docs/envoy-ext-proc.md §1-§4.
//
// Invariants:
//   - Every HTTP request is handled by exactly one goroutine (the event loop
//     in exchange.go); helper goroutines only read (downstream body, gRPC
//     replies, upstream response) and post events, so the per-request state
//     needs no locks.
//   - Header values are sent in raw_value only, keys lower-cased, repeated
//     headers as separate entries; only raw_value is read from mutations.
//   - Response chunks are flushed to the client as soon as they are released,
//     so SSE streams are never buffered whole; the message timer only runs
//     while a reply is awaited.
//   - Nothing is forwarded upstream before the processor released it (unless
//     failure_mode_allow or an OK close of the stream says so).
//
// Deliberate differences from Envoy (documented, tested where relevant):
// local replies produced by the proxy itself (413, 503, 404) are not sent
// through ext_proc again; observability_mode, StreamedImmediateResponse,
// dynamic-metadata forwarding and forward_rules are not implemented
// (StreamedImmediateResponse is treated as a spurious reply); response
// attributes are not sent.
package dataplane
