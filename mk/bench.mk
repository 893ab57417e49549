# ext_proc processor vs null processor over gRPC, side by side (issue 2).
BENCH_TARGETS += bench-extproc

.PHONY: bench-extproc
bench-extproc: ## processor latency/throughput vs a null processor over gRPC
	$(GO) run ./cmd/portcullis-bench -streams 1,64 -duration 3s
