#!/usr/bin/env bash
# Configure and build into build/ (Release, Ninja, clang if present: it
# compiles the torch-heavy files in about half gcc's time and memory).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cxx=${CXX:-}
  if [ -z "$cxx" ]; then
    if command -v clang++-14 >/dev/null; then cxx=clang++-14; elif command -v clang++ >/dev/null; then cxx=clang++; else cxx=g++; fi
  fi
  CXX=$cxx cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
fi
# Two jobs: each torch translation unit takes about 1 GB with clang.
cmake --build "$BUILD_DIR" -j 2
