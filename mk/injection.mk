# Prompt-injection detection and shared normalisation (issues 3 and 14).
# Every input is committed (detectors/injection/corpus, see its README), so
# training and evaluation work from a clone.
INJECTION_DATA ?= detectors/injection/corpus/dev.jsonl.gz
INJECTION_HARMLESS ?= detectors/injection/corpus/harmless.jsonl.gz

EVAL_TARGETS += eval-injection
BENCH_TARGETS += bench-injection
FUZZ_TARGETS += fuzz-injection

.PHONY: eval-injection dev-injection bench-injection train-injection fuzz-injection corpus-injection letters-injection
eval-injection: ## injection quality on sources excluded from training: per-source TPR/FPR/AUC, harmless tool-output FPR and FP/MB per kind, embedded held-out attacks per placement/family/language, attacks diluted in a paragraph of prose, trigger-word prompts, evasion transforms, the gateway's request-plane argument rule
	$(GO) run ./detectors/injection/eval --data $(INJECTION_DATA) --harmless $(INJECTION_HARMLESS)

dev-injection: ## injection numbers on the training side of the split only (for developing rules without touching held-out data; not quality claims); DEV_LOSO=src1,src2 retrains without those training sources and reports on them (leave-one-source-out)
	$(GO) run ./detectors/injection/devcheck $(if $(DEV_LOSO),-loso $(DEV_LOSO))

bench-injection: ## injection Score/ScoreView and Normalize on 1/4/64 KB vs a strings.ToLower baseline (ns/op, cpu-ns/op, allocs/op); BenchmarkLinear times 1x vs 16x inputs
	$(GO) test -run '^$$' -bench 'BenchmarkScore' -benchtime 2000x -count 1 ./detectors/injection/
	$(GO) test -run '^$$' -bench 'BenchmarkNormalize' -benchtime 2000x -count 1 ./detectors/normalize/

train-injection: ## retrain detectors/injection/model.bin on the training sources and groups only (deterministic; byte-identical on re-run)
	$(GO) run ./cmd/portcullis train injection --data $(INJECTION_DATA) --harmless $(INJECTION_HARMLESS) --out detectors/injection/model.bin

letters-injection: ## rebuild detectors/normalize/letters.bin (letter trigrams that recognise rot13 and reversed lines) from the harmless corpus's training groups, and print its error rates on the calibration groups
	$(GO) run ./detectors/injection/genletters --harmless $(INJECTION_HARMLESS) --out detectors/normalize/letters.bin

corpus-injection: ## rebuild the harmless tool-output corpus from this machine's files (needs python3; the committed corpus is what eval uses)
	python3 scripts/build-harmless-corpus.py --out $(INJECTION_HARMLESS)

fuzz-injection: ## fuzz Normalize, the decoders, the letter model, Score, Flatten and the two-chain keyword scan (15s each)
	$(GO) test -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime 15s ./detectors/normalize/
	$(GO) test -run '^$$' -fuzz '^FuzzDecoders$$' -fuzztime 15s ./detectors/normalize/
	$(GO) test -run '^$$' -fuzz '^FuzzLetterLine$$' -fuzztime 15s ./detectors/normalize/
	$(GO) test -run '^$$' -fuzz '^FuzzScore$$' -fuzztime 15s ./detectors/injection/
	$(GO) test -run '^$$' -fuzz '^FuzzFlatten$$' -fuzztime 15s ./detectors/injection/
	$(GO) test -run '^$$' -fuzz '^FuzzACScan$$' -fuzztime 15s ./detectors/injection/
