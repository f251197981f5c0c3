#!/usr/bin/env bash
# The main job: build the example suite (examples/work_items.c) and run it
# through the CI gate, as a user's CI job would. Four of its tests leak on
# purpose: they fail with their leaked goroutines' stacks, and the gate
# fails the job. Run as root on a fresh Debian machine; it installs what it
# needs. Exit status: the gate's (1: leaks outside the allowlist).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

bash ci/install-deps.sh

build="$top/build/example"
cmake -S . -B "$build" -G Ninja -DLEASH_TESTS=OFF -DLEASH_BENCH=OFF
cmake --build "$build" -j "$(nproc)"

# From examples/, so that the suite's leash-allow.yaml is the one found.
cd examples
status=0
bash "$top/ci/gate.sh" --build-dir "$build" --out "$build/gate" \
    --allowlist leash-allow.yaml -- "$build/examples/work_items" || status=$?

echo
case $status in
0) echo "run-example: the gate passed" ;;
1) echo "run-example: the gate failed, as it should: the tests above" \
        "leaked goroutines (reports in $build/gate)" ;;
*) echo "run-example: the gate could not decide (status $status)" ;;
esac
exit "$status"
