#!/usr/bin/env bash
# The suite on an idle machine and on a loaded one: runs the whole ctest
# suite of an existing build (scripts/test.sh builds it) RUNS times back to
# back, then once more with stress-ng keeping every core busy. Stops at the
# first failing run. Installs stress-ng from Debian if it is missing.
# Usage: scripts/soak-tests.sh [RUNS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
[ -f build/CTestTestfile.cmake ] || { echo "soak-tests: no build; run scripts/test.sh first"; exit 1; }
if ! command -v stress-ng > /dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get install -y -q --no-install-recommends stress-ng > /dev/null ||
    { $SUDO apt-get update -q > /dev/null && $SUDO apt-get install -y -q --no-install-recommends stress-ng > /dev/null; }
fi
jobs=$(nproc 2>/dev/null || echo 2)
mkdir -p build/soak
run_suite() {  # run_suite NAME
  local start log=build/soak/$1.log
  start=$(date +%s)
  if (cd build && ctest --output-on-failure -j "$jobs" --timeout 1500) > "$log" 2>&1; then
    echo "soak-tests: $1: $(grep -E 'tests passed|tests failed' "$log" | tail -1) in $(( $(date +%s) - start )) s"
  else
    echo "soak-tests: $1 FAILED after $(( $(date +%s) - start )) s (log: $log):"
    sed -n '/The following tests FAILED/,$p' "$log"
    exit 1
  fi
}
for i in $(seq "$runs"); do run_suite "idle-$i"; done
stress-ng --cpu "$jobs" --timeout 0 --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null || true' EXIT
echo "soak-tests: stress-ng --cpu $jobs running (pid $hog)"
run_suite "loaded"
