#!/usr/bin/env bash
# `make run`: build, start the two example MCP servers and Portcullis with the
# quickstart config, run the demo client (one allowed and one blocked tool
# call through the gateway, then a write_file held for approval, approved
# through the admin API and retried once), then keep everything running until Ctrl-C.
# RUN_ONCE=1 exits after the demo with the client's exit status.
# Child processes are stopped on exit either way.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"

CONFIG=examples/quickstart/portcullis.yaml
GATEWAY=http://127.0.0.1:10000
ADMIN=http://127.0.0.1:9090
FILES_ADDR=127.0.0.1:3001
WEB_ADDR=127.0.0.1:3002
SANDBOX_ADDR=127.0.0.1:3003
AUDIT_DIR=.portcullis/audit

work=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-run.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "stopped."; exit 0' INT
trap 'exit 143' TERM

PROG=run
# shellcheck source=scripts/procs.sh
source scripts/procs.sh

for addr in "$FILES_ADDR" "$WEB_ADDR" "$SANDBOX_ADDR" 127.0.0.1:10000 127.0.0.1:50051 127.0.0.1:9090; do
  if ss -Hltn "sport = :${addr##*:}" 2>/dev/null | grep -q .; then
    echo "run: port ${addr##*:} is already in use (is another 'make run' still running?)" >&2
    exit 1
  fi
done

echo "==> building"
mkdir -p bin
go build -o bin/ ./cmd/portcullis ./examples/...

# The files server works on a scratch copy so that the demo never changes
# the committed sandbox, whatever the gateway decides.
cp -r examples/files/sandbox "$work/sandbox"

echo "==> starting example servers (files on $FILES_ADDR, web on $WEB_ADDR, web sandbox on $SANDBOX_ADDR)"
start files bin/files -addr "$FILES_ADDR" -root "$work/sandbox"
start web bin/web -addr "$WEB_ADDR"
start sandbox bin/web -addr "$SANDBOX_ADDR" -instance sandbox -stateless
wait_for files "http://$FILES_ADDR/mcp"
wait_for web "http://$WEB_ADDR/mcp"
wait_for sandbox "http://$SANDBOX_ADDR/mcp"

echo "==> starting Portcullis: bin/portcullis serve --config $CONFIG"
start portcullis bin/portcullis serve --config "$CONFIG"
wait_for portcullis "$ADMIN/readyz" 200
wait_for portcullis "$GATEWAY/mcp/files"

echo "==> running the demo client through $GATEWAY"
echo
status=0
bin/client -gateway "$GATEWAY" || status=$?
echo
bin/approvaldemo -gateway "$GATEWAY" -admin "$ADMIN" || status=$?
echo
if [[ "${RUN_ONCE:-}" == 1 ]]; then
  # Stop the gateway so the audit log is flushed and checkpointed, then verify it.
  kill "$pid_portcullis" 2>/dev/null || true
  wait "$pid_portcullis" 2>/dev/null || true
  echo "==> bin/portcullis audit verify $AUDIT_DIR"
  bin/portcullis audit verify "$AUDIT_DIR" || status=$?
  # Explain the last refused call of the demo from the audit log.
  id=$(grep -ho '"decision_id":"[0-9a-f]*","plane":"request","decision":"block"' "$AUDIT_DIR"/seg-*.jsonl | tail -n 1 | cut -d'"' -f4 || true)
  if [[ -n "$id" ]]; then
    echo "==> bin/portcullis explain $id --config $CONFIG"
    bin/portcullis explain "$id" --config "$CONFIG" || status=$?
  fi
  exit "$status"
fi
echo "The audit log is in $AUDIT_DIR (check it with: bin/portcullis audit verify $AUDIT_DIR)."
echo "Why was a call refused? bin/portcullis explain DECISION_ID --config $CONFIG (the id is in the error's data)."
echo "Portcullis is running: point an MCP client at $GATEWAY/mcp/files or $GATEWAY/mcp/web"
echo "(approvals console: $ADMIN/approvals; metrics: $ADMIN/metrics; logs in $work). Press Ctrl-C to stop."
wait -n "${pids[@]}" || true
echo "run: a process exited unexpectedly; logs:" >&2
tail -n 20 "$work"/*.log >&2
exit 1
