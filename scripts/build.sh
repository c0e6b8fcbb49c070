#!/usr/bin/env bash
# Configures and builds Agora into ./build (release with debug info, Ninja).
# Usage: scripts/build.sh [TARGET...]   (no target: everything, tests included)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > build-configure.log 2>&1 ||
  { cat build-configure.log; exit 1; }
if [ $# -eq 0 ]; then
  cmake --build build -j "$jobs"
else
  cmake --build build -j "$jobs" --target "$@"
fi
