#!/usr/bin/env bash
# Run every test of leash on a fresh Debian machine (as root): install the
# packages, build with warnings as errors, run the whole suite (with the
# install-and-consume check, ctest's cli_install), the same under
# AddressSanitizer and UBSan, the example suite through the gate, and the
# comparison of the scenario corpus with Go's leak profile.
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

echo "== the example suite through the gate: its planted leaks must fail it"
ex=build/ci/examples/work_items
status=0
(cd examples && bash ../ci/gate.sh --out ../build/ci/gate-leaky \
     --leash ../build/ci/cli/leash --allowlist leash-allow.yaml \
     -- "../$ex") || status=$?
if [ "$status" -ne 1 ]; then
    echo "test-all: the gate should have failed the leaky suite with" \
         "status 1, got $status" >&2
    exit 1
fi

echo "== the example suite's clean tests through the gate: they must pass"
clean=()
for t in all_items_succeed first_error_fixed vendor_pool progress_stopped; do
    clean+=(-- "../$ex" "--filter=work_items/$t")
done
(cd examples && bash ../ci/gate.sh --out ../build/ci/gate-clean \
     --leash ../build/ci/cli/leash --allowlist leash-allow.yaml \
     "${clean[@]}")

echo "== the corpus against Go's leak profile (when Go is installed)"
bash ci/compare-corpus.sh --optional build/ci

echo "== all tests passed"
