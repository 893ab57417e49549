// Package configtest loads the Envoy, Istio and Kubernetes files that
// Portcullis ships (envoy/*.yaml, envoy/istio, envoy/k8s, docker-compose.yml)
// into their typed Go APIs so that a typo or an invalid field fails `go test`.
//
// Envoy files are converted from YAML to JSON and decoded with protojson into
// go-control-plane's bootstrapv3.Bootstrap (unknown fields are errors); every
// google.protobuf.Any is resolved against the linked extension packages and
// each message, including the ones packed in Any, must pass its PGV
// ValidateAll. Nothing here runs Envoy: Envoy's own extra semantic checks are
// not covered.
//
// The package is imported only by tests; it has no runtime users.
package configtest
