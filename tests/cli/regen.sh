#!/usr/bin/env bash
# Remake the golden outputs of tests/test_cli.c from the fixtures, and with
# --fixtures the fixtures themselves from a run of tests/cli/suite.c.
#
# Usage: tests/cli/regen.sh [--fixtures] BUILD_DIR
#
#   BUILD_DIR   a build directory of leash where leash-cli and cli_suite
#               are built (cmake --build BUILD_DIR --target leash-cli
#               cli_suite)
#   --fixtures  rerun cli_suite from tests/cli/run (LEASH_TODAY=2026-01-15)
#               and replace run/reports/*.json and run/criterion.xml; the
#               source root in them becomes /home/ci/shop, so that goldens
#               do not depend on where the tree is checked out
#
# Review the diff before committing: a golden file is a claim about what
# users see.
set -euo pipefail

fixtures=0
if [ "${1:-}" = --fixtures ]; then
    fixtures=1
    shift
fi
[ $# -eq 1 ] || {
    sed -n 's/^# \{0,1\}//; /^Usage:/,/^$/p' "$0" >&2
    exit 2
}
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
leash=$build/cli/leash
fake_root=/home/ci/shop
export LEASH_TODAY=2026-01-15
unset GITHUB_WORKSPACE CI_PROJECT_DIR LEASH_REPORT_DIR LEASH_DOT

if [ "$fixtures" = 1 ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # The suite fails on purpose; only its reports and XML matter.
    (cd "$here/run" && LEASH_ALLOWLIST=leash-allow.yaml \
        LEASH_REPORT_DIR="$tmp/reports" \
        "$build/tests/cli/cli_suite" --xml="$tmp/criterion.xml" -j1 \
        >/dev/null 2>&1) || true
    rm -rf "$here/run/reports"
    mkdir "$here/run/reports"
    for f in "$tmp"/reports/*.json; do
        sed "s#$root/#$fake_root/#g" "$f" >"$here/run/reports/${f##*/}"
    done
    sed "s#$root/#$fake_root/#g" "$tmp/criterion.xml" \
        >"$here/run/criterion.xml"
fi

golden=$here/golden
mkdir -p "$golden"
cd "$here/run"
run() { # golden-file leash-args...
    local out=$1
    shift
    "$leash" "$@" >"$golden/$out" || true
}
in=(reports --xml criterion.xml --root "$fake_root")
run check.txt check "${in[@]}"
run check-verbose.txt check -v "${in[@]}"
run markdown.md markdown "${in[@]}"
run annotations.txt annotations "${in[@]}"
run dot.dot dot "${in[@]}"
run sarif.json sarif "${in[@]}"
version=$("$leash" --version | sed 's/^leash //')
sed -i "s/\"$version\"/\"@VERSION@\"/g" "$golden/sarif.json"
run check-clean.txt check ../clean --root "$fake_root"
cd "$here"
run check-param.txt check param/reports --xml param/criterion.xml \
    --root "$fake_root"
echo "regenerated $golden"
