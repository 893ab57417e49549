# Audit log (issue 5): append throughput with group commit vs an in-memory
# baseline and vs fsync-per-record, side by side; short fuzzing runs.
BENCH_TARGETS += bench-audit
FUZZ_TARGETS += fuzz-audit

.PHONY: bench-audit fuzz-audit
bench-audit: ## audit Append: in-memory baseline vs group commit vs fsync-each (records/s, fsyncs/op)
	$(GO) test -run '^$$' -bench 'BenchmarkAppend' -benchtime 20000x -count 1 ./audit/
	$(GO) test -run '^$$' -bench 'BenchmarkLogWithSink' -benchtime 50000x -count 1 ./audit/sink/

fuzz-audit: ## fuzz the audit verifier and canonical encoder (20s each)
	$(GO) test -run '^$$' -fuzz '^FuzzVerifySegment$$' -fuzztime 20s ./audit/
	$(GO) test -run '^$$' -fuzz '^FuzzCanonicalJSON$$' -fuzztime 20s ./audit/
