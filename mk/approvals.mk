# Human approval (issue 12): canonical argument digest vs the raw sha256
# baseline, Check on a pending retry and a new request; short fuzzing runs of
# the canonical JSON encoder and the sealed requestState parser.
BENCH_TARGETS += bench-approvals
FUZZ_TARGETS += fuzz-approvals

.PHONY: bench-approvals fuzz-approvals
bench-approvals: ## approvals: canonical digest vs raw sha256, Check pending-retry / new-request (ns/op, allocs)
	$(GO) test -run '^$$' -bench 'BenchmarkDigest|BenchmarkCheck' -benchtime 1s -count 1 ./approval/

fuzz-approvals: ## fuzz canonical JSON and requestState opening (15s each)
	$(GO) test -run '^$$' -fuzz '^FuzzCanonical$$' -fuzztime 15s ./approval/
	$(GO) test -run '^$$' -fuzz '^FuzzOpenState$$' -fuzztime 15s ./approval/
