# Detection engine: PII, secrets, exfiltration, tool poisoning, redaction
# vault, the combined engine (issue 3, items 1, 4-9, 11, 12 and the PII /
# secret part of 10). The PII dev spans are committed (MIT, presidio-research).
DETECTORS_PII_DATA ?= detectors/pii/corpus/dev.jsonl.gz

EVAL_TARGETS += eval-pii
BENCH_TARGETS += bench-detectors
FUZZ_TARGETS += fuzz-detectors

.PHONY: eval-pii bench-detectors fuzz-detectors
eval-pii: ## PII span precision/recall per entity type on the pii dev spans; gitleaks TP/FP sample coverage of the secrets rules
	$(GO) run ./detectors/pii/evalpii -data $(DETECTORS_PII_DATA)
	@$(GO) test -count=1 -run '^TestGitleaksCoverage$$' -v ./detectors/secrets/ | grep -E 'coverage_test|^(ok|FAIL)'

bench-detectors: ## whole pipeline (injection+PII+secrets+exfil+invisible) on 1/4/64 KB tool results vs a no-op JSON walk; per-stage and per-detector split; redaction (again and from the scan's report); wall and CPU time per op
	$(GO) test -run '^$$' -bench 'BenchmarkPipeline|BenchmarkStages|BenchmarkDetectors' -benchtime 2s -count 1 -cpu 1 -benchmem ./detectors/
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 -cpu 1 ./detectors/pii/ ./detectors/secrets/ ./detectors/exfil/

fuzz-detectors: ## fuzz the JSON walker, the engine, each recognizer and the vault, and the invariants of the normaliser and recognisers (15s each)
	$(GO) test -run '^$$' -fuzz '^FuzzWalk$$' -fuzztime 15s ./detectors/internal/jsonwalk/
	$(GO) test -run '^$$' -fuzz '^FuzzScanJSON$$' -fuzztime 15s ./detectors/
	$(GO) test -run '^$$' -fuzz '^FuzzFind$$' -fuzztime 15s ./detectors/pii/
	$(GO) test -run '^$$' -fuzz '^FuzzFind$$' -fuzztime 15s ./detectors/secrets/
	$(GO) test -run '^$$' -fuzz '^FuzzScan$$' -fuzztime 15s ./detectors/exfil/
	$(GO) test -run '^$$' -fuzz '^FuzzScan$$' -fuzztime 15s ./detectors/poison/
	$(GO) test -run '^$$' -fuzz '^FuzzVault$$' -fuzztime 15s ./detectors/redact/
	$(GO) test -run '^$$' -fuzz '^FuzzViewInvariants$$' -fuzztime 15s ./detectors/normalize/
	$(GO) test -run '^$$' -fuzz '^FuzzFindInvariants$$' -fuzztime 15s ./detectors/pii/
	$(GO) test -run '^$$' -fuzz '^FuzzHasContext$$' -fuzztime 15s ./detectors/pii/
	$(GO) test -run '^$$' -fuzz '^FuzzFindInvariants$$' -fuzztime 15s ./detectors/secrets/
	$(GO) test -run '^$$' -fuzz '^FuzzScanInvariants$$' -fuzztime 15s ./detectors/exfil/

# Allocation budgets are skipped under -race (the race detector makes
# sync.Pool drop items at random), so `make test` runs them once without it.
TEST_EXTRA += test-alloc

.PHONY: test-alloc
test-alloc: ## allocation budgets (detectors, normaliser, data-plane buffering, JSON encoder) without -race
	$(GO) test -count=1 -run 'Alloc' ./detectors/ ./detectors/normalize/ ./envoy/dataplane/ ./internal/jsonstr/
