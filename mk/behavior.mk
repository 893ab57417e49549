# Session and behaviour engine (issue 7): per-call update+score vs a no-op
# baseline, lock contention under 64 goroutines, Redis vs memory store;
# short fuzzing runs of the config parser, resource extraction and the
# verbatim-value scanner.
BENCH_TARGETS += bench-behavior
FUZZ_TARGETS += fuzz-behavior

.PHONY: bench-behavior fuzz-behavior
bench-behavior: ## behaviour engine: OnCall+OnResult vs no-op, 64-goroutine contention, Redis vs memory (ns/op, allocs)
	$(GO) test -run '^$$' -bench 'BenchmarkCall|BenchmarkParallel64|BenchmarkPinTools' -benchtime 1s -count 1 ./policy/behavior/
	$(GO) test -run '^$$' -bench 'BenchmarkRedisCall' -benchtime 2000x -count 1 ./policy/behavior/redisstore/

fuzz-behavior: ## fuzz the behaviour config parser, resource extraction and verbatim scanner (15s each)
	$(GO) test -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime 15s ./policy/behavior/
	$(GO) test -run '^$$' -fuzz '^FuzzExtractResource$$' -fuzztime 15s ./policy/behavior/
	$(GO) test -run '^$$' -fuzz '^FuzzCandidateHashes$$' -fuzztime 15s ./policy/behavior/
