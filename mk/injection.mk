# Prompt-injection detection and shared normalisation (issue 3, items 2, 3,
# 10-12 for injection). Data lives outside the repo in ../shared/data.
INJECTION_DATA ?= ../shared/data/injection/dev.jsonl
PII_DATA ?= ../shared/data/pii/dev.jsonl

EVAL_TARGETS += eval-injection
BENCH_TARGETS += bench-injection
FUZZ_TARGETS += fuzz-injection

.PHONY: eval-injection bench-injection train-injection fuzz-injection
eval-injection: ## injection quality: held-out per-source TPR/FPR, AUC, balanced accuracy, benign tool-text FPR, per-transform evasion TPR
	$(GO) run ./detectors/injection/eval --data $(INJECTION_DATA) --pii $(PII_DATA)

bench-injection: ## injection Score/ScoreView and Normalize on 1/4/64 KB vs a strings.ToLower baseline (ns/op, allocs/op)
	$(GO) test -run '^$$' -bench 'BenchmarkScore' -benchtime 2000x -count 1 ./detectors/injection/
	$(GO) test -run '^$$' -bench 'BenchmarkNormalize' -benchtime 2000x -count 1 ./detectors/normalize/

train-injection: ## retrain detectors/injection/model.bin (deterministic; byte-identical on re-run)
	$(GO) run ./cmd/portcullis train injection --data $(INJECTION_DATA) --out detectors/injection/model.bin

fuzz-injection: ## fuzz Normalize, the decoders and Score (15s each)
	$(GO) test -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime 15s ./detectors/normalize/
	$(GO) test -run '^$$' -fuzz '^FuzzDecoders$$' -fuzztime 15s ./detectors/normalize/
	$(GO) test -run '^$$' -fuzz '^FuzzScore$$' -fuzztime 15s ./detectors/injection/
