# Observability (issue 13): the decision log encoder against encoding/json,
# side by side; a short fuzzing run that pins them byte for byte.
BENCH_TARGETS += bench-observe
FUZZ_TARGETS += fuzz-observe

.PHONY: bench-observe fuzz-observe
bench-observe: ## decision log line: hand-written encoder vs encoding/json baseline (ns/op, allocs/op)
	$(GO) test -run '^$$' -bench 'BenchmarkEncode|BenchmarkLog' -benchmem -count 1 ./audit/decisionlog/

fuzz-observe: ## fuzz the decision log encoder against encoding/json (20s)
	$(GO) test -run '^$$' -fuzz '^FuzzAppendMatchesMarshal$$' -fuzztime 20s ./audit/decisionlog/
