# Long-run resource check (issue 15): tool calls through `portcullis serve`,
# RSS / goroutines / open files sampled, bounded growth after warm-up.
# `make soak` runs a million calls; `make test` runs a shortened form.
TEST_EXTRA += soak-short

SOAK_OUT ?= .portcullis/soak

.PHONY: soak soak-short
soak: ## 1,000,000 tool calls; fails if RSS, goroutines or open files grow after warm-up (table + PNG plot)
	$(GO) build -o $(BIN)/ ./cmd/portcullis ./cmd/portcullis-soak
	$(BIN)/portcullis-soak --gateway $(BIN)/portcullis --calls 1000000 --out $(SOAK_OUT)

soak-short: ## the soak shortened to 100,000 calls (part of make test)
	$(GO) build -o $(BIN)/ ./cmd/portcullis ./cmd/portcullis-soak
	$(BIN)/portcullis-soak --gateway $(BIN)/portcullis --calls 100000 --out $(SOAK_OUT)
