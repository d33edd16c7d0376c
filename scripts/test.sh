#!/usr/bin/env bash
# Install, build, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
scripts/build.sh
cd build
# Two test processes at a time: each is single-threaded.
ctest --output-on-failure -j 2 --timeout 600
