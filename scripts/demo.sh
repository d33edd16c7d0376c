#!/usr/bin/env bash
# The main job on its embedded default: install, build, then compare the
# fixed-bottleneck baseline with Bahdanau and Luong attention on a toy
# reversal task (about 8 minutes on 2 cores) and print where the report is.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
OUT=${1:-runs/compare_toy}
./build/attn compare --config configs/compare_toy.json --out "$OUT"
echo
echo "Report: $OUT/report.md  |  plot: $OUT/accuracy_vs_length.svg  |  attention: $OUT/attention.html"
