# xDS control plane and shipped Envoy/Istio/Kubernetes files.
# Their Go tests (xds/, envoy/configtest/) already run under `make test`.
.PHONY: fuzz-xds
FUZZ_TARGETS += fuzz-xds

fuzz-xds: ## fuzz the xDS rendering of server URLs (30s)
	$(GO) test ./xds -run '^$$' -fuzz FuzzBuildSnapshot -fuzztime 30s

.PHONY: bench-xds
BENCH_TARGETS += bench-xds

bench-xds: ## xDS reload cost: quickstart (baseline) vs 200 servers
	$(GO) test ./xds -run '^$$' -bench BenchmarkUpdate -benchtime 100x -benchmem
