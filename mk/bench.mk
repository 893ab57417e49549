# ext_proc processor vs null processor over gRPC, side by side (issue 2).
BENCH_TARGETS += bench-extproc

.PHONY: bench-extproc
bench-extproc: ## processor latency/throughput vs a null processor over gRPC
	$(GO) run ./cmd/portcullis-bench -streams 1,64 -duration 3s

# The processor alone (no gRPC, no client): exact allocations per exchange,
# side by side with a baseline that reads the same messages (issue 10);
# then the gateway's real engines (trust plane and full pipeline) the same
# way, and over loopback gRPC, with process CPU per exchange (cpu-ns/op).
BENCH_TARGETS += bench-pipeline

.PHONY: bench-pipeline
bench-pipeline: ## processor allocations and CPU per tools/call exchange, in memory and over gRPC
	$(GO) test -run '^$$' -bench ProcessToolCall -benchmem -count 3 ./extproc
	$(GO) test -run '^$$' -bench 'Processor|GRPC' -benchmem -count 3 ./cmd/portcullis-bench

# Before/after in one go (issue 10): bench-extproc built from BASE (a git
# ref) and from the working tree, run back to back on the same machine, so
# the two tables share the machine's load. Outputs go to .portcullis/bench.
BASE ?= HEAD~1
BENCH_COMPARE_ARGS ?= -streams 1,64 -duration 3s

.PHONY: bench-compare
bench-compare: ## bench-extproc of BASE (git ref, default HEAD~1) and of the working tree, back to back
	@set -e; tmp=$$(mktemp -d); trap 'git worktree remove --force $$tmp/src >/dev/null 2>&1 || true; rm -rf $$tmp' EXIT; \
	git worktree add -q --detach $$tmp/src $(BASE); \
	(cd $$tmp/src && $(GO) build -o $$tmp/bench-base ./cmd/portcullis-bench); \
	$(GO) build -o $$tmp/bench-new ./cmd/portcullis-bench; \
	mkdir -p .portcullis/bench; \
	echo "== $(BASE)"; $$tmp/bench-base $(BENCH_COMPARE_ARGS) | tee .portcullis/bench/base.txt; \
	echo "== working tree"; $$tmp/bench-new $(BENCH_COMPARE_ARGS) | tee .portcullis/bench/new.txt
