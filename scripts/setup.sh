#!/usr/bin/env bash
# Installs every system dependency from Debian's packages. Idempotent: skips
# what is already installed, runs `apt-get update` at most once per call.
set -euo pipefail

PKGS=(
  libtorch-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
  libsentencepiece-dev sentencepiece libgtest-dev cmake ninja-build zlib1g-dev
  libcpp-httplib-dev  # attn serve: the HTTP server (a shared library in Debian: limits are runtime setters)
  libgloo-dev  # headers for LibTorch's c10d Gloo process group (data-parallel training)
  clang-14
  # Fast BLAS candidates: libtorch links libblas.so.3, which is netlib's
  # reference implementation (~4 GFLOPS) unless an alternative is chosen.
  # Which one is fastest depends on the CPU (BLIS on some Intel cores, OpenBLAS
  # on AMD EPYC, by 3-6x either way), so both are installed and measured below.
  libblis4-openmp libopenblas0-pthread
  pkg-config  # finds cpp-httplib's build flags
  g++  # builds the BLAS probe, which links neither libtorch nor a BLAS
)

# --test: what only the test suite needs (a browser to render attention.html).
if [ "${1:-}" = "--test" ]; then PKGS+=(chromium); fi
# --bench: the plain-PyTorch comparator (Debian's, the same ATen as libtorch).
if [ "${1:-}" = "--bench" ]; then PKGS+=(python3-torch wrk); fi  # wrk: load for scripts/bench.sh serve

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Point libblas.so.3 at the fastest BLAS that computes right on this CPU,
# as src/blas/probe_main.cpp measures it (table printed), or at the one named
# by ATTN_BLAS (a path, or a word in its path: openblas, blis, blas/ for
# netlib). The choice is cached per CPU, candidate set and BLAS environment
# (OPENBLAS_*, BLIS_*, OMP_NUM_THREADS); ATTN_BLAS_PROBE=1 measures again.
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/attn
mkdir -p "$cache"
probe=$cache/attn-blas-probe
srcs=("$top/src/blas/blas_probe.cpp" "$top/src/blas/probe_main.cpp")
if [ ! -x "$probe" ] || [ -n "$(find "${srcs[@]}" "$top/src/blas/blas_probe.h" -newer "$probe" 2>/dev/null)" ]; then
  g++ -O2 -std=c++17 -I"$top/src" "${srcs[@]}" -ldl -o "$probe.tmp" || { echo "setup: cannot build the BLAS probe" >&2; exit 1; }
  mv "$probe.tmp" "$probe"
fi
alt=libblas.so.3-$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
key=$(grep -m4 -E '^(vendor_id|cpu family|model|model name)\s' /proc/cpuinfo | tr -s ' \t\n' ' ')
key="$key|$(update-alternatives --list "$alt" 2>/dev/null | tr '\n' ' ')|$(env | { grep -E '^(OPENBLAS_|BLIS_|OMP_NUM_THREADS)' || true; } | sort | tr '\n' ' ')"
key="$key|${ATTN_BLAS:-}|$(cksum < "$probe" | cut -d' ' -f1)"
chosen=""
if [ "${ATTN_BLAS_PROBE:-0}" != 1 ] && [ -f "$cache/blas-choice" ] && [ "$(head -n1 "$cache/blas-choice")" = "$key" ]; then
  chosen=$(sed -n 2p "$cache/blas-choice")
  [ -f "$chosen" ] || chosen=""
  [ -n "$chosen" ] && echo "setup: BLAS $chosen (measured earlier on this CPU; ATTN_BLAS_PROBE=1 measures again)"
fi
if [ -z "$chosen" ]; then
  echo "setup: measuring the installed BLAS libraries (about 20 s)"
  want=()
  [ -n "${ATTN_BLAS:-}" ] && want=(--want "$ATTN_BLAS")
  chosen=$("$probe" "${want[@]}") || { echo "setup: no usable BLAS (see above)" >&2; exit 1; }
  printf '%s\n%s\n' "$key" "$chosen" > "$cache/blas-choice"
fi
if [ "$(readlink -f "/etc/alternatives/$alt" || true)" != "$(readlink -f "$chosen")" ]; then
  $SUDO update-alternatives --set "$alt" "$chosen" >/dev/null
  echo "setup: libblas.so.3 -> $chosen"
fi
echo "setup: dependencies present"
