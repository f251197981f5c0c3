#!/bin/sh
# Build a libFuzzer target and run it for a while. See README.md.
#
#   fuzz/run.sh [SECONDS] [TARGET] [libFuzzer options...]
#
# TARGET is "allowlist" (default) or "glob". Builds and findings go to
# $LEASH_FUZZ_OUT (default: $TMPDIR/leash-fuzz or /tmp/leash-fuzz), never
# into the source tree; the committed corpus only seeds the run.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
secs=${1:-60}
target=${2:-allowlist}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
out=${LEASH_FUZZ_OUT:-${TMPDIR:-/tmp}/leash-fuzz}
cc=${CC_FUZZ:-clang}
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"

case $target in
allowlist)
    srcs="$here/fuzz_allowlist.c $root/harness/allowlist.c"
    seeds=$here/corpus
    dict="-dict=$here/allowlist.dict"
    ;;
glob)
    # fuzz_glob.c includes allowlist.c itself, to reach its static checker.
    srcs=$here/fuzz_glob.c
    seeds=$here/corpus_glob
    dict=
    ;;
*)
    echo "usage: $0 [seconds] [allowlist|glob] [libFuzzer options...]" >&2
    exit 2
    ;;
esac

mkdir -p "$out/corpus-$target" "$out/artifacts-$target"
# shellcheck disable=SC2086 # word splitting of flags and srcs is meant
$cc $flags -I"$root/harness" $srcs -lyaml -o "$out/fuzz_$target"

# New inputs go to the first corpus directory, the one outside the tree.
# shellcheck disable=SC2086
exec "$out/fuzz_$target" -max_total_time="$secs" $dict \
    -artifact_prefix="$out/artifacts-$target/" "$@" \
    "$out/corpus-$target" "$seeds"
