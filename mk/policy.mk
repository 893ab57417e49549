# Policy engine (issue 4): Evaluate with 10 rules and all seven factors,
# side by side with an allow-all function and a rule-less policy; the
# committed example suite through the CLI; short fuzzing runs.
BENCH_TARGETS += bench-policy
TEST_EXTRA += test-policy-examples
FUZZ_TARGETS += fuzz-policy

.PHONY: bench-policy test-policy-examples fuzz-policy
bench-policy: ## policy Evaluate (10 rules + all factors) vs allow-all and no-rules baselines (ns/op, allocs)
	$(GO) test -run '^$$' -bench 'BenchmarkEvaluate' -benchtime 20000x -count 3 ./policy/

test-policy-examples: ## portcullis policy check + policy test -coverage on examples/policies
	$(GO) run ./cmd/portcullis policy check examples/policies/policy.yaml
	$(GO) run ./cmd/portcullis policy test -coverage examples/policies/policy.yaml examples/policies/cases.yaml

fuzz-policy: ## fuzz the policy parser, JWT verifier and SPIFFE ID parser (15s each)
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 15s ./policy/
	$(GO) test -run '^$$' -fuzz '^FuzzVerifyJWT$$' -fuzztime 15s ./policy/identity/
	$(GO) test -run '^$$' -fuzz '^FuzzParseSPIFFEID$$' -fuzztime 15s ./policy/identity/
