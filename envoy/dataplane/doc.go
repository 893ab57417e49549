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
//   - The request path is normalised before routing (path.go); a request
//     reaches only its route's upstream path and below.
//   - An HTTP/1 connection is reused only at a request boundary: a reply sent
//     before the request body was read says "Connection: close", the rest is
//     drained (bounded), otherwise the connection is aborted (downstream.go).
//   - Message timers and trace timestamps come from Config.Clock (clock.go),
//     so tests drive time instead of sleeping.
//
// InProcess(srv) is a Config.Processor for a data plane embedded beside its
// processor: the same stream semantics, messages handed over by pointer
// (inprocess.go).
//
// API: New(Config) validates and builds a Proxy (an http.Handler); Stats()
// returns Envoy-named counters; WithTrace(ctx, *Trace) records one request's
// ProcessingRequests/Responses, local replies (status + Envoy-style details)
// and resets; Config.Recorder (a LocalReplyRecorder, localrecord.go) is
// told of every reply and reset the proxy makes itself, once each, so the
// embedding gateway can audit them. ProcessingMode/HeaderSendMode/BodySendMode reuse the
// go-control-plane enums (ModeFromProto / ProcessingMode.Proto convert).
//
// Deliberate differences from Envoy 1.38:
//   - dot segments in the path ("..", "%2e%2e") are refused with 400, not
//     resolved;
//   - Config.LocalReply formats the proxy's own replies (Envoy:
//     local_reply_config body_format), never a processor's ImmediateResponse;
//   - local replies produced by the proxy itself (413, 500 buffer overflow,
//     503 upstream unreachable, 404 no route) are not sent through ext_proc
//     again (Envoy ≥1.37 would process them on the encoding path);
//   - not implemented: observability_mode, StreamedImmediateResponse (treated
//     as a spurious reply), metadata_options (metadata_context is always sent
//     empty; dynamic_metadata replies are ignored), forward_rules, header
//     count/size limits (§2.3), response attributes, the FULL_DUPLEX
//     "cannot fail open once body was received" rule;
//   - the upstream request body is an unbounded in-memory queue (no
//     watermarks), so a STREAMED request to a slow upstream is held in memory;
//     the response side has natural back-pressure (writes block);
//   - a reset (ImmediateResponse or error after response headers were sent)
//     is done with panic(http.ErrAbortHandler), the net/http way to abort the
//     downstream stream.
package dataplane
