# Portcullis — MCP security gateway. `make help` lists targets.
SHELL := /bin/bash
GO ?= go
BIN := bin
PKGS := ./...

.PHONY: help build run test test-go vet bench eval conformance fuzz clean

help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

build: ## build the portcullis binary and the example servers into bin/
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/... ./examples/...

vet: ## go vet
	$(GO) vet $(PKGS)

test-go: vet ## Go tests with the race detector
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

test: test-go ## everything CI runs

clean: ## remove build output
	rm -rf $(BIN)
