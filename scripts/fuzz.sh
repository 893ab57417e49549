#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 10s), one
# after the other, and prints a table of targets and wall times. Targets are
# found in the sources (func FuzzXxx in *_test.go), so a new one is picked up
# without editing any makefile. Seed corpora live in each package's
# testdata/fuzz/<Target>/ and run on every plain `go test` too; a failing
# input found here is written there by `go test` — commit it.
#   FUZZTIME=2s scripts/fuzz.sh            # all targets
#   FUZZTIME=30s scripts/fuzz.sh ./mcp/     # the targets of one package
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
dirs=("${@:-.}")

mapfile -t targets < <(grep -rHoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' "${dirs[@]}" |
  sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)$#\1 \2#' | sort -u)
((${#targets[@]})) || { echo "no fuzz targets under ${dirs[*]}"; exit 1; }

start=$SECONDS
report=()
for t in "${targets[@]}"; do
  dir=${t% *} name=${t#* }
  pkg=./${dir#./}
  s=$SECONDS
  if ! $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >/tmp/fuzz.$$.log 2>&1; then
    cat /tmp/fuzz.$$.log
    rm -f /tmp/fuzz.$$.log
    echo "FAIL: $name in $pkg (the failing input is under $pkg/testdata/fuzz/$name)"
    exit 1
  fi
  report+=("$(printf '%-28s %-40s %4ds' "$name" "$pkg" $((SECONDS - s)))")
done
rm -f /tmp/fuzz.$$.log
printf '%s\n' "${report[@]}"
echo "fuzz: ${#targets[@]} targets, ${FUZZTIME} each, $((SECONDS - start))s total"
