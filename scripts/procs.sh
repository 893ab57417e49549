# Shared process helpers for the shell scripts (sourced, not run).
# The caller sets: work (log directory), pids (array), PROG (message prefix).

# start NAME CMD...: run CMD in the background, logging to $work/NAME.log.
start() {
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=("$!")
  eval "pid_$name=$!"
}

# wait_for NAME URL [WANT]: poll URL until it answers (with HTTP status WANT
# when given); fail early, showing NAME's log, if its process died.
wait_for() {
  local name=$1 url=$2 want=${3:-} pidvar="pid_$1" code
  for _ in $(seq 1 150); do
    if ! kill -0 "${!pidvar}" 2>/dev/null; then
      echo "$PROG: $name exited during start-up; its log:" >&2
      cat "$work/$name.log" >&2
      return 1
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)
    if [[ "$code" != 000 && ( -z "$want" || "$code" == "$want" ) ]]; then
      return 0
    fi
    sleep 0.1
  done
  echo "$PROG: $name not ready at $url after 15s; its log:" >&2
  cat "$work/$name.log" >&2
  return 1
}

# cleanup_on_exit LOG...: install the exit handling of a runner. On exit
# (INT and TERM exit with 130 and 143) it stops every process in $pids and
# waits for them; when the script failed it shows the last lines of the
# named logs under $work (LOG is a name, as given to start); it removes
# $work unless KEEP is set, in which case it says where the results are.
cleanup_on_exit() {
  cleanup_logs=("$@")
  trap _cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

_cleanup() {
  local rc=$? pid name
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $rc -ne 0 && -z "${KEEP:-}" && ${#cleanup_logs[@]} -gt 0 ]]; then
    echo "$PROG: logs:" >&2
    local files=()
    for name in "${cleanup_logs[@]}"; do files+=("$work/$name.log"); done
    tail -n 15 "${files[@]}" >&2 2>/dev/null || true
  fi
  if [[ -n "${KEEP:-}" ]]; then echo "$PROG: results kept in $work"; else rm -rf "$work"; fi
  exit "$rc"
}
