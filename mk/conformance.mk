# make conformance: the MCP conformance suite against server-everything,
# directly and through Portcullis (conformance/run.sh). Part of `make test`.
TEST_EXTRA += conformance

.PHONY: conformance
conformance: conformance/node_modules/.package-lock.json ## MCP conformance directly vs through Portcullis (no regressions allowed)
	@conformance/run.sh

# npm ci only when the lock file changed (or node_modules is missing).
conformance/node_modules/.package-lock.json: conformance/package-lock.json
	cd conformance && npm ci --no-audit --no-fund
