#!/usr/bin/env bash
# Check what `cmake --install` puts in place: build leash, install it into
# a temporary prefix, then build tests/consumer against the installed tree
# only, once with find_package(leash) and once with pkg-config, run it,
# and gate a passing and a leaking suite with the installed `leash` tool.
#
# Usage: ci/check-install.sh [BUILD_DIR]
#
#   BUILD_DIR   an existing build directory of leash to install from (it is
#               built first); default: a fresh one in a temporary directory
#
# Environment: CC (the compiler for the pkg-config build, default cc),
# KEEP=1 keeps the temporary directory and prints where it is.
#
# Exit status: 0 when every step passed; non-zero at the first failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "check-install: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

fail() {
    echo "check-install: $*" >&2
    exit 1
}

generator=()
if command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
fi

# --- build and install ------------------------------------------------------
if [ $# -ge 1 ]; then
    build=$(cd "$1" && pwd)
else
    build=$work/build
    echo "== configuring $build"
    cmake -S "$root" -B "$build" "${generator[@]}" -DLEASH_TESTS=OFF \
        -DLEASH_BENCH=OFF >"$work/configure.log" ||
        { cat "$work/configure.log" >&2; fail "configure failed"; }
fi
echo "== building $build"
cmake --build "$build" >"$work/build.log" ||
    { cat "$work/build.log" >&2; fail "build failed"; }
prefix=$work/prefix
echo "== installing into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" ||
    { cat "$work/install.log" >&2; fail "cmake --install failed"; }

# --- the installed tree -----------------------------------------------------
config=$(find "$prefix" -name leashConfig.cmake -print -quit)
[ -n "$config" ] || fail "no leashConfig.cmake under $prefix"
libdir=$(dirname "$(dirname "$(dirname "$config")")")
for f in bin/leash include/leash/leash.h include/leash/leak.h \
    include/leash/harness.h; do
    [ -e "$prefix/$f" ] || fail "$f is not installed"
done
for f in libleash.so libleash_harness.a cmake/leash/leashConfig.cmake \
    cmake/leash/leashConfigVersion.cmake cmake/leash/leashTargets.cmake \
    pkgconfig/leash.pc pkgconfig/leash-harness.pc; do
    [ -e "$libdir/$f" ] || fail "${libdir#"$prefix"/}/$f is not installed"
done
# The installed files must not lead back to the source or build tree.
if grep -rlF -e "$root/" -e "$build" "$libdir/cmake" "$libdir/pkgconfig"; then
    fail "installed package files name the source or build tree"
fi
"$prefix/bin/leash" --version

# --- consumer with find_package ---------------------------------------------
consumer=$work/consumer
echo "== building tests/consumer with find_package(leash)"
cmake -S "$root/tests/consumer" -B "$consumer" "${generator[@]}" \
    -DCMAKE_PREFIX_PATH="$prefix" >"$work/consumer.log" ||
    { cat "$work/consumer.log" >&2; fail "consumer configure failed"; }
cmake --build "$consumer" >>"$work/consumer.log" ||
    { cat "$work/consumer.log" >&2; fail "consumer build failed"; }
if grep -rqF "$root/include" "$consumer/build.ninja" "$consumer"/CMakeFiles \
    2>/dev/null; then
    fail "the consumer was built with the source tree's headers"
fi
ctest --test-dir "$consumer" --output-on-failure

# --- consumer with pkg-config -----------------------------------------------
echo "== building tests/consumer with pkg-config"
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc=${CC:-cc}
pc=$work/pkgconfig
mkdir -p "$pc"
# shellcheck disable=SC2046 # word splitting of pkg-config's flags is meant
"$cc" -Wall -Werror -o "$pc/pipeline" "$root/tests/consumer/pipeline.c" \
    $(pkg-config --cflags --libs leash) -Wl,-rpath,"$libdir"
# shellcheck disable=SC2046
"$cc" -Wall -Werror -o "$pc/test_pipeline" \
    "$root/tests/consumer/test_pipeline.c" \
    $(pkg-config --cflags --libs leash-harness) -Wl,-rpath,"$libdir"
out=$("$pc/pipeline" 100)
[ "$out" = "sum of squares 1..100 = 338350" ] ||
    fail "pkg-config pipeline printed '$out'"
"$pc/test_pipeline"

# --- the gate, with the installed tool --------------------------------------
echo "== ci/gate.sh on the consumer's suites"
export PATH=$prefix/bin:$PATH
gate() { # expected-status args...
    local want=$1 got=0
    shift
    "$root/ci/gate.sh" "$@" >"$work/gate.log" 2>&1 || got=$?
    if [ "$got" -ne "$want" ]; then
        cat "$work/gate.log" >&2
        fail "ci/gate.sh $* exited $got, not $want"
    fi
    grep '^leash: ' "$work/gate.log" | tail -1
}
gate 0 --out "$work/gate-pass" -- "$consumer/test_pipeline"
gate 1 --out "$work/gate-leak" -- "$consumer/leaky_suite"
grep -q 'FAIL  leaky/forgotten_result: 1 goroutine not allowed' \
    "$work/gate-leak/summary.txt" || fail "the leak is not in the summary"
gate 0 --out "$work/gate-ctest" -- ctest --test-dir "$consumer" \
    -R test_pipeline
[ -s "$work/gate-leak/leash.sarif" ] || fail "the gate wrote no SARIF"

echo "== install check passed"
