#!/usr/bin/env bash
# Installs every system dependency from Debian's packages. Idempotent: skips
# what is already installed, runs `apt-get update` at most once per call.
set -euo pipefail

PKGS=(
  libtorch-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
  libsentencepiece-dev sentencepiece libgtest-dev cmake ninja-build zlib1g-dev
  libgloo-dev  # headers for LibTorch's c10d Gloo process group (data-parallel training)
  clang-14
  # A fast BLAS: libtorch links libblas.so.3, which is netlib's reference
  # implementation (~4 GFLOPS) unless an alternative is installed. BLIS
  # detects this AVX-512 CPU by itself (OpenBLAS 0.3.21 needs an env var).
  libblis4-openmp
)

# --test: what only the test suite needs (a browser to render attention.html).
if [ "${1:-}" = "--test" ]; then PKGS+=(chromium); fi
# --bench: the plain-PyTorch comparator (Debian's, the same ATen as libtorch).
if [ "${1:-}" = "--bench" ]; then PKGS+=(python3-torch); fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Make BLIS the libblas.so.3 that libtorch loads (highest priority wins, but
# be explicit in case another BLAS was installed with a higher priority).
blis=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep blis | head -n1 || true)
if [ -n "$blis" ]; then
  current=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu || true)
  if [ "$current" != "$(readlink -f "$blis")" ]; then
    ${SUDO:-$([ "$(id -u)" -ne 0 ] && echo sudo)} update-alternatives --set libblas.so.3-x86_64-linux-gnu "$blis" >/dev/null
  fi
fi
echo "setup: dependencies present"
