#!/usr/bin/env bash
# Measures the suite's wall time on this machine: five runs of `mmcheck run`, then the slowest
# cases of the last run. Numbers, not assertions: tests check behaviour, this checks speed.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./target/release/mmcheck
runs=${RUNS:-5}
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  "$bin" run --format json > /tmp/mmcheck-bench.json || true
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "whole suite, $runs runs, wall ms: $(echo $sorted | tr '\n' ' ')"
echo "median: $(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p") ms, jobs: $(nproc)"
python3 - <<'PY'
import json
doc = json.load(open("/tmp/mmcheck-bench.json"))
cases = sorted(doc["cases"], key=lambda c: -c["millis"])
print(f"{len(cases)} cases; slowest:")
for c in cases[:5]:
    print(f"  {c['millis']:6d} ms  {c['id']}")
PY
