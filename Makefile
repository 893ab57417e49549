# Portcullis — MCP security gateway. `make help` lists targets.
# Area-specific targets live in mk/*.mk and add themselves to the
# TEST_EXTRA / BENCH_TARGETS / EVAL_TARGETS lists below.
SHELL := /bin/bash
GO ?= go
BIN := bin
PKGS := ./...

TEST_EXTRA :=
BENCH_TARGETS :=
EVAL_TARGETS :=
FUZZ_TARGETS :=

.PHONY: help build run test test-go vet bench eval fuzz clean
help: ## show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

-include mk/*.mk

build: ## build the portcullis binary and the example servers into bin/
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/... ./examples/...

vet: ## go vet
	$(GO) vet $(PKGS)

test-go: vet ## Go tests with the race detector
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

test: test-go $(TEST_EXTRA) ## everything CI runs

bench: $(BENCH_TARGETS) ## benchmarks, side by side with baselines

eval: $(EVAL_TARGETS) ## detector quality tables

fuzz: $(FUZZ_TARGETS) ## short fuzzing runs

clean: ## remove build output
	rm -rf $(BIN)
