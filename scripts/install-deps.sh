#!/usr/bin/env bash
# Installs every build and test dependency of Agora from Debian 12's archive.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libzmq3-dev cppzmq-dev libsodium-dev libmsgpack-cxx-dev libabsl-dev
  libtorch-dev libgtest-dev
  libopenblas0-openmp   # without it LibTorch falls back to reference BLAS (30-40x slower)
  libsqlite3-dev libtomlplusplus-dev libcpp-httplib-dev nlohmann-json3-dev
  clang                 # libFuzzer builds of tests/fuzz (optional for the gcc build)
  bible-kjv             # the devnet's training text (public domain King James Bible)
  curl procps
  chromium              # headless browser for the gateway dashboard's test
  faketime libfaketime  # clock skew for the fault tests (tests/devnet/devnet_fault_test.cc)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" > /dev/null; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
