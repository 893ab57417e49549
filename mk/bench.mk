# ext_proc processor vs null processor over gRPC, side by side (issue 2).
BENCH_TARGETS += bench-extproc

.PHONY: bench-extproc
bench-extproc: ## processor latency/throughput vs a null processor over gRPC
	$(GO) run ./cmd/portcullis-bench -streams 1,64 -duration 3s

# The processor alone (no gRPC, no client): exact allocations per exchange,
# side by side with a baseline that reads the same messages (issue 10).
BENCH_TARGETS += bench-pipeline

.PHONY: bench-pipeline
bench-pipeline: ## processor allocations per tools/call exchange, in memory
	$(GO) test -run '^$$' -bench ProcessToolCall -benchmem -count 3 ./extproc
