// Package scriptstream is an in-memory ext_proc stream for benchmarks and
// tests that measure a processor alone (no gRPC, no client): Recv replays a
// script of requests, then io.EOF; Send discards. It imports neither the
// processor nor the gateway, so extproc's own tests can use it too.
package scriptstream
