# Fuzzing across the module (issue 15 #6).
#   make fuzz-all              every Fuzz target in the module, FUZZTIME each
#   make fuzz-all FUZZTIME=2s  shorter
# Every target's seed corpus (f.Add seeds and testdata/fuzz/<Target>/, where
# every input that was ever a bug is committed) already runs in `make test`
# as ordinary subtests. Timed fuzzing of every target is not part of
# `make test`: building each target with coverage instrumentation dominates,
# and the 29 targets took 502 s at FUZZTIME=1s on the shared 2-core machine
# (load ~25; xds and filesmcp over 100 s each). `make test` runs the
# request-path parsers only (fuzz-short, below).
FUZZTIME ?= 10s

.PHONY: fuzz-all
fuzz-all: ## run every fuzz target in the module for FUZZTIME (10s) each and print a timing table
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

# make test runs the fuzz targets of the parsers on the request path (MCP
# JSON-RPC and SSE, the single-pass tokenizer, the data plane's path and
# header handling, bearer-token parsing, the decision pipeline) for a fixed
# number of inputs each; the rest run with `make fuzz-all`. A count, not a
# duration: a time-bounded run can end with the fuzzer's own "context
# deadline exceeded" report, which would make CI flaky.
TEST_EXTRA += fuzz-short
FUZZ_SHORT_DIRS := ./mcp ./envoy/dataplane ./authz ./extproc
FUZZ_SHORT_TIME ?= 20000x

.PHONY: fuzz-short
fuzz-short: ## fuzz the request-path parsers for FUZZ_SHORT_TIME (20000 inputs) each (part of make test)
	FUZZTIME=$(FUZZ_SHORT_TIME) GO=$(GO) scripts/fuzz.sh $(FUZZ_SHORT_DIRS)
