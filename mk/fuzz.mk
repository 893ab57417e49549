# Fuzzing across the module (issue 15 #6).
#   make fuzz-all              every Fuzz target in the module, FUZZTIME each
#   make fuzz-all FUZZTIME=2s  shorter
# Every target's seed corpus (f.Add seeds and testdata/fuzz/<Target>/, where
# every input that was ever a bug is committed) already runs in `make test`
# as ordinary subtests. Timed fuzzing is not part of `make test`: building
# each target with coverage instrumentation costs 5-10 s on 2 cores, so the
# 29 targets take about 4 minutes even at 1 s each (over the CI budget).
FUZZTIME ?= 10s

.PHONY: fuzz-all
fuzz-all: ## run every fuzz target in the module for FUZZTIME (10s) each and print a timing table
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh
