# Embedded Envoy-compatible data plane (issue 2 item 5): proxy overhead with
# a null ext_proc processor vs a plain httputil.ReverseProxy, side by side;
# short fuzzing runs of the mutation checker, path normalisation and the router.
BENCH_TARGETS += bench-dataplane
FUZZ_TARGETS += fuzz-dataplane

.PHONY: bench-dataplane fuzz-dataplane
bench-dataplane: ## data plane: direct reverse proxy vs ext_proc (null processor, NONE and BUFFERED) per request (ns/op, allocs), then one client's latency per exchange (p50, p99, added over direct)
	$(GO) test -run '^$$' -bench 'BenchmarkProxy$$' -benchtime 2s -count 1 ./envoy/dataplane/
	$(GO) test -run '^$$' -bench 'BenchmarkProxyLatency' -benchtime 40x -count 1 ./envoy/dataplane/

fuzz-dataplane: ## fuzz header-mutation rules, path normalisation and routing (FUZZTIME, default 10s, each)
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh ./envoy/dataplane/
