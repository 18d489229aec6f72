#!/usr/bin/env bash
# Runs every Google Benchmark binary of the build; results also go to <build>/bench-results/.
set -euo pipefail
BUILD_DIR=${1:-build}
mkdir -p "$BUILD_DIR/bench-results"
for b in "$BUILD_DIR"/bench/bench_*; do
  [ -x "$b" ] || continue
  n=$(basename "$b")
  echo "== $n"
  "$b" --benchmark_out="$BUILD_DIR/bench-results/$n.json" --benchmark_out_format=json
done
