#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: installs the Debian
# packages (scripts/install-deps.sh), builds, and runs every test with ctest.
# Exit status is ctest's. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
start=$(date +%s)
bash scripts/build.sh
echo "build: $(( $(date +%s) - start )) s"
cd build
jobs=$(nproc 2>/dev/null || echo 2)
ctest --output-on-failure -j "$jobs" --timeout 600
