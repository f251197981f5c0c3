#!/usr/bin/env bash
# Run every test of leash on a fresh Debian machine (as root): install the
# packages, build with warnings as errors, run the whole suite, then the
# same under AddressSanitizer and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh

jobs=$(nproc)

echo "== build (warnings are errors) and test"
cmake -S . -B build/ci -G Ninja -DLEASH_WERROR=ON -DLEASH_BENCH=ON
cmake --build build/ci -j "$jobs"
ctest --test-dir build/ci --output-on-failure -j "$jobs"

echo "== AddressSanitizer + UBSan build and test"
cmake -S . -B build/asan -G Ninja -DLEASH_WERROR=ON -DLEASH_SANITIZE=ON \
      -DLEASH_BENCH=OFF
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=0 ctest --test-dir build/asan --output-on-failure \
      -j "$jobs"

echo "== the corpus against Go's leak profile (when Go is installed)"
bash ci/compare-corpus.sh --optional build/ci

echo "== all tests passed"
