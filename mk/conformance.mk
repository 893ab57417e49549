# make conformance: the MCP conformance suites directly and through Portcullis.
# conformance/run.sh: suite 0.1.16 (--suite all) against server-everything and
# the Go SDK everything-server (stateful). conformance/next/run.sh: suite
# 0.2.x with --requirements 2026-07-28 against the Go SDK everything-server
# (stateless), then (`run.sh client`) the 2026-07-28 client scenarios, incl.
# auth/*, with the Go SDK everything-client, directly and through a gateway
# per scenario. Part of `make test`. `make conformance-client` runs only the
# client half.
TEST_EXTRA += conformance

.PHONY: conformance
conformance: conformance/node_modules/.package-lock.json conformance/next/node_modules/.package-lock.json ## MCP conformance (0.1.16 and 2026-07-28, server and client scenarios) directly vs through Portcullis (no unexplained regressions)
	@conformance/run.sh
	@conformance/next/run.sh
	@conformance/next/run.sh client

.PHONY: conformance-client
conformance-client: conformance/next/node_modules/.package-lock.json ## MCP 2026-07-28 client scenarios (incl. auth/*) directly vs through Portcullis, differences explained in conformance/next/client-expected.txt
	@conformance/next/run.sh client

# npm ci only when the lock file changed (or node_modules is missing). Never
# through a symlinked node_modules (a worktree sharing another checkout's):
# npm ci empties the link's target before replacing the link, which breaks
# every other user of that directory; the shared modules are used as they are.
conformance/node_modules/.package-lock.json: conformance/package-lock.json
	@if [ -L conformance/node_modules ]; then echo "conformance/node_modules is a symlink: not running npm ci through it (remove the link to install here)" >&2; \
	else cd conformance && npm ci --no-audit --no-fund; fi

conformance/next/node_modules/.package-lock.json: conformance/next/package-lock.json
	@if [ -L conformance/next/node_modules ]; then echo "conformance/next/node_modules is a symlink: not running npm ci through it (remove the link to install here)" >&2; \
	else cd conformance/next && npm ci --no-audit --no-fund; fi
