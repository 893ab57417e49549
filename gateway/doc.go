// Package gateway assembles a running Portcullis from a configuration: the
// ext_proc gRPC processor, the embedded Envoy-compatible data plane that
// drives it over real gRPC, and the admin listener. `portcullis serve` and
// the end-to-end tests both start a Gateway, so what the tests exercise is
// what users run.
//
// Invariants: listeners are bound before Start returns (addresses may use
// port 0 and are reported by Addr*); Close stops everything and waits.
package gateway
