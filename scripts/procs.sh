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
