#!/usr/bin/env bash
# Runs the suite under gVisor (Debian's runsc) and prints its JSON on stdout:
#   ci/run-gvisor.sh STATIC_MMCHECK CASES_DIR
# `runsc do` runs a command in a sandbox over a read-only view of the host with a writable
# overlay; --network=none because plain `runsc do` wants iptables. MMCHECK_LAYOUT_SEED, when
# set (make stability), is passed on as --layout-seed.
set -euo pipefail
bin=$1
cases=$2
command -v runsc >/dev/null || { echo "error: runsc is missing (apt-get install runsc)" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Piped, not redirected: direct redirection of runsc's output lost output here.
timeout "${MMCHECK_GVISOR_TIMEOUT:-600}" runsc --network=none do \
  "$bin" run --format json --cases "$cases" --progress \
  ${MMCHECK_LAYOUT_SEED:+--layout-seed "$MMCHECK_LAYOUT_SEED"} \
  2> >(grep --line-buffered '^mmcheck: progress' >&2) | cat > "$out" || true
[ -s "$out" ] || { echo "error: runsc produced no result" >&2; exit 1; }
cat "$out"
