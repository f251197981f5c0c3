#!/usr/bin/env bash
# Compare leash's leak analysis with Go's goroutine leak profile on the leak
# corpus: every scenario of tests/corpus/SCENARIOS.md runs once in C
# (tests/corpus/corpus_dump) and once as its Go twin (tests/corpus/go, run
# with GOEXPERIMENT=goroutineleakprofile), and both leak sets are printed
# side by side.
#
# Usage: ci/compare-corpus.sh [--optional] [BUILD_DIR]
#
#   BUILD_DIR   a configured cmake build directory of leash; corpus_dump is
#               built in it. Default: build-compare (configured here with
#               -DLEASH_BENCH=OFF).
#   --optional  when Go (1.26 or later) is missing, print
#               "go not found: comparison skipped" and exit 0.
#
# Environment: GO (the go command, default go), JOBS (build jobs),
# CORPUS_TIMEOUT (seconds per scenario and side, default 120).
#
# Verdicts: "yes" (same lines), "NO (wait reason name only)" (same entry
# functions and counts, a wait reason named differently), "NO", "ERROR" (a
# side crashed, timed out or has no such scenario). A "yes" whose set is
# not the one SCENARIOS.md documents is flagged too.
#
# Exit status: 0 when the comparison ran, whatever the two sides said
# (disagreements are listed, with the expected set of SCENARIOS.md, but do
# not fail); 1 when it could not run: a build failed, a scenario crashed or
# timed out on either side, or a scenario has no Go twin; 2 for bad usage.
# The explanations of known disagreements: tests/corpus/go/DISAGREEMENTS.md.
set -euo pipefail

usage() {
    awk '/^# Usage:/ { on = 1 } /^# Verdicts:/ { exit }
         on { sub(/^# ?/, ""); print }' "$0" >&2
    exit 2
}

optional=0
build_dir=""
while [ $# -gt 0 ]; do
    case "$1" in
    --optional) optional=1 ;;
    -h | --help) usage ;;
    -*) usage ;;
    *)
        [ -z "$build_dir" ] || usage
        build_dir=$1
        ;;
    esac
    shift
done

root=$(cd "$(dirname "$0")/.." && pwd)
scenarios_md=$root/tests/corpus/SCENARIOS.md
go_dir=$root/tests/corpus/go
go_cmd=${GO:-go}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
per_run=${CORPUS_TIMEOUT:-120}

skip_or_fail() {
    if [ "$optional" = 1 ]; then
        echo "$1: comparison skipped"
        exit 0
    fi
    echo "compare-corpus: $1" >&2
    exit 1
}

# --- Go: present, and new enough for the goroutine leak profile ----------
if ! command -v "$go_cmd" >/dev/null 2>&1; then
    skip_or_fail "go not found"
fi
# Never download a toolchain: go.mod says go 1.26, an older go must refuse.
export GOTOOLCHAIN=local
go_version=$("$go_cmd" env GOVERSION)
case "$go_version" in
go1.2[6-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
*) skip_or_fail "go not found (have $go_version, need go1.26 or later)" ;;
esac

[ -f "$scenarios_md" ] || {
    echo "compare-corpus: $scenarios_md not found" >&2
    exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- build both sides --------------------------------------------------
echo "== building the Go twins ($go_version, GOEXPERIMENT=goroutineleakprofile)"
(cd "$go_dir" && GOEXPERIMENT=goroutineleakprofile \
    "$go_cmd" build -o "$work/leashcorpus" .)

if [ -z "$build_dir" ]; then
    build_dir=$root/build-compare
    echo "== configuring $build_dir"
    cmake -S "$root" -B "$build_dir" -DLEASH_BENCH=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/cmake.log" 2>&1 || {
        cat "$work/cmake.log" >&2
        echo "compare-corpus: cmake configure failed" >&2
        exit 1
    }
fi
echo "== building corpus_dump in $build_dir"
cmake --build "$build_dir" --target corpus_dump -j "$jobs" \
    >"$work/build.log" 2>&1 || {
    cat "$work/build.log" >&2
    echo "compare-corpus: building corpus_dump failed" >&2
    exit 1
}
corpus_dump=$build_dir/tests/corpus/corpus_dump
[ -x "$corpus_dump" ] || {
    echo "compare-corpus: $corpus_dump not built" >&2
    exit 1
}

# --- the scenarios and their documented answers -------------------------
# A scenario starts a line "N. name" or "Nb. name"; its expected groups
# follow as "- `entry | reason | count`" or "- `none`".
awk '
    /^[0-9]+[a-z]?\. / { id = $1; sub(/\.$/, "", id); print id > ids; next }
    id != "" && /^ *- `/ {
        line = $0
        sub(/^ *- `/, "", line); sub(/`.*$/, "", line)
        if (line == "none") next
        n = split(line, f, / \| /)
        if (n == 3) print id "|" f[1] "|" f[2] "|" f[3]
    }
' ids="$work/ids" "$scenarios_md" >"$work/expected"
mapfile -t ids <"$work/ids"
[ "${#ids[@]}" -gt 0 ] || {
    echo "compare-corpus: no scenarios found in $scenarios_md" >&2
    exit 1
}

# "1|s01_child|chan send|1" lines -> "s01_child: chan send x1; ..." or none
summarize() {
    if [ ! -s "$1" ]; then
        echo "none"
        return
    fi
    awk -F'|' '{ printf "%s%s: %s x%s", (NR > 1 ? "; " : ""), $2, $3, $4 }
               END { print "" }' "$1"
}

# The leak set without wait reasons: "entry|count" per goroutine group,
# summed over reasons.
entries_counts() {
    awk -F'|' '{ n[$2] += $4 } END { for (e in n) print e "|" n[e] }' "$1" |
        LC_ALL=C sort
}

# Run one side; keep stdout sorted (byte order), stderr apart.
run_side() { # name out err cmd...
    local name=$1 out=$2 err=$3
    shift 3
    local rc=0
    timeout "$per_run" "$@" >"$out.raw" 2>"$err" || rc=$?
    LC_ALL=C sort "$out.raw" >"$out"
    if [ "$rc" -ne 0 ]; then
        if [ "$rc" -eq 124 ]; then
            echo "$name: timed out after ${per_run}s" >>"$err"
        fi
        return "$rc"
    fi
}

# --- compare -----------------------------------------------------------
echo "== running ${#ids[@]} scenarios"
agree=0
reason_only=0
disagree=0
errors=0
rows=()
details=()
for id in "${ids[@]}"; do
    go_out=$work/go.$id
    c_out=$work/c.$id
    exp_out=$work/exp.$id
    awk -F'|' -v id="$id" '$1 == id' "$work/expected" | LC_ALL=C sort >"$exp_out"

    go_rc=0
    c_rc=0
    run_side go "$go_out" "$go_out.err" \
        "$work/leashcorpus" "$id" || go_rc=$?
    run_side leash "$c_out" "$c_out.err" "$corpus_dump" "$id" || c_rc=$?

    go_sum=$(summarize "$go_out")
    c_sum=$(summarize "$c_out")
    if [ "$go_rc" -ne 0 ] || [ "$c_rc" -ne 0 ]; then
        verdict="ERROR"
        errors=$((errors + 1))
        [ "$go_rc" -eq 0 ] || go_sum="error (exit $go_rc)"
        [ "$c_rc" -eq 0 ] || c_sum="error (exit $c_rc)"
    elif cmp -s "$go_out" "$c_out"; then
        verdict="yes"
        agree=$((agree + 1))
        if ! cmp -s "$c_out" "$exp_out"; then
            verdict="yes, but not SCENARIOS.md's set"
        fi
    elif cmp -s <(entries_counts "$go_out") <(entries_counts "$c_out"); then
        # Same goroutines, same counts; only the wait reason's name differs.
        verdict="NO (wait reason name only)"
        reason_only=$((reason_only + 1))
    else
        verdict="NO"
        disagree=$((disagree + 1))
    fi
    rows+=("$id"$'\t'"$go_sum"$'\t'"$c_sum"$'\t'"$verdict")

    if [ "$verdict" != "yes" ]; then
        d="-- scenario $id: $verdict"$'\n'
        d+="   Go:       $go_sum"$'\n'
        d+="   leash:    $c_sum"$'\n'
        d+="   expected: $(summarize "$exp_out")"$'\n'
        if [ "$verdict" != "ERROR" ]; then
            cmp -s "$go_out" "$exp_out" && d+="   (Go matches SCENARIOS.md)"$'\n'
            cmp -s "$c_out" "$exp_out" && d+="   (leash matches SCENARIOS.md)"$'\n'
        fi
        for f in "$go_out.err" "$c_out.err"; do
            if [ -s "$f" ]; then
                d+="   stderr of ${f##*/}:"$'\n'
                d+=$(sed 's/^/     /' "$f" | head -n 20)$'\n'
            fi
        done
        details+=("$d")
    fi
done

# --- report ------------------------------------------------------------
{
    printf 'scenario\tGo'"'"'s leaks\tleash'"'"'s leaks\tagree?\n'
    printf '%s\n' "${rows[@]}"
} | awk -F'\t' '
    { id[NR] = $1; g[NR] = $2; c[NR] = $3; v[NR] = $4
      if (length($1) > w1) w1 = length($1)
      if (length($2) > w2) w2 = length($2)
      if (length($3) > w3) w3 = length($3) }
    END {
      for (i = 1; i <= NR; i++) {
        printf "%-*s | %-*s | %-*s | %s\n", w1, id[i], w2, g[i], w3, c[i], v[i]
        if (i == 1) {
          s = ""
          for (k = 0; k < w1 + w2 + w3 + 16; k++) s = s "-"
          print s
        }
      }
    }'
echo
if [ "${#details[@]}" -gt 0 ]; then
    echo "== disagreements and errors (explained in tests/corpus/go/DISAGREEMENTS.md)"
    printf '%s\n' "${details[@]}"
fi
echo "== ${#ids[@]} scenarios: $agree agree, $reason_only differ only in a wait" \
    "reason's name, $disagree disagree, $errors errors"
[ "$errors" -eq 0 ]
