#!/usr/bin/env bash
# `make bench` without make: harness/benches/bench/ prints the fork floor, the runner's cost per
# case, explain's latency and the whole suite's wall time next to their targets. Numbers, not
# assertions (docs/performance.md). Knobs: BENCH_RUNS, BENCH_CASES, BENCH_EXPLAIN,
# BENCH_SKIP_SUITE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --locked --bench bench
