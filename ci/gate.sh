#!/usr/bin/env bash
# Gate a CI job on leak-free tests: build the suite, run it with leash's
# leak reports collected, and let `leash check` decide.
#
# Usage: ci/gate.sh [options] -- COMMAND [ARGS...] [-- COMMAND [ARGS...]]...
#
#   COMMAND        a Criterion test binary built with the leash harness
#                  (it gets --xml=OUT/criterion-N.xml, so that a test that
#                  crashes or times out is caught even without a report),
#                  or ctest (its tests get LEASH_REPORT_DIR through the
#                  environment; no XML, and a crash fails through ctest's
#                  own status). Several commands are separated by "--".
#
# Options:
#   --build-dir DIR   run `cmake --build DIR` first (configured from
#                     --source when DIR has no CMakeCache.txt)
#   --source DIR      the project to configure into --build-dir
#   --allowlist FILE  the allowlist (exported as LEASH_ALLOWLIST, absolute,
#                     and validated before anything runs)
#   --reports DIR     where tests write their JSON reports (default
#                     OUT/reports). Created when missing; when it exists it
#                     may hold only leash reports (*.json of schema
#                     leash-report) and the harness's temporary files
#                     (.*.json.*.tmp) of an earlier run, which are deleted;
#                     anything else makes the gate refuse to run
#   --out DIR         where the gate writes its outputs (default
#                     leash-gate in --build-dir, else in the current
#                     directory): summary.txt, summary.md, leash.sarif,
#                     leash.dot, leash.svg (with Graphviz), criterion-N.xml
#   --leash PATH      the leash tool (default: $LEASH, `leash` on PATH, or
#                     --build-dir's cli/leash)
#   --root DIR        show paths relative to DIR (default: the tool's:
#                     $GITHUB_WORKSPACE, $CI_PROJECT_DIR or the current
#                     directory)
#   --leaks-only      exit with the leak verdict alone, whatever the test
#                     commands' own statuses (e.g. with LEASH_MODE=report)
#   -h, --help        this help
#
# On GitHub Actions it appends the markdown summary to $GITHUB_STEP_SUMMARY
# and, when GITHUB_ACTIONS=true, prints annotations at the lines where
# leaked goroutines block.
#
# Exit status: 0 no leak outside the allowlist and every command passed;
# 1 leaks outside the allowlist, or a test without a report or without a
# check; 2 bad usage or unreadable input (no report at all, a bad
# allowlist); 3 no leak, but a test command failed for another reason.
set -euo pipefail

usage() {
    awk '/^# Usage:/ { on = 1 } /^# Exit status:/ { exit }
         on { sub(/^# ?/, ""); print }' "$0" >&2
    exit 2
}

die() {
    echo "gate: $*" >&2
    exit 2
}

# The value of option $1, which is $2; an option without one is bad usage.
value() {
    if [ "$3" -lt 2 ] || [ -z "$2" ] || [ "$2" = -- ]; then
        echo "gate: $1 needs an argument" >&2
        usage
    fi
    printf '%s' "$2"
}

build_dir=""
source_dir=""
allowlist=""
reports=""
out=""
leash=${LEASH:-}
root=""
leaks_only=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build-dir) build_dir=$(value "$1" "${2-}" $#); shift ;;
    --source) source_dir=$(value "$1" "${2-}" $#); shift ;;
    --allowlist) allowlist=$(value "$1" "${2-}" $#); shift ;;
    --reports) reports=$(value "$1" "${2-}" $#); shift ;;
    --out) out=$(value "$1" "${2-}" $#); shift ;;
    --leash) leash=$(value "$1" "${2-}" $#); shift ;;
    --root) root=$(value "$1" "${2-}" $#); shift ;;
    --leaks-only) leaks_only=1 ;;
    -h | --help) usage ;;
    --) shift; break ;;
    *) echo "gate: unknown option '$1'" >&2; usage ;;
    esac
    shift
done
[ $# -gt 0 ] || { echo "gate: no test command after --" >&2; usage; }
if [ -n "$allowlist" ]; then
    [ ! -d "$allowlist" ] ||
        die "allowlist $allowlist is a directory, not a file"
    [ -f "$allowlist" ] || die "allowlist $allowlist not found"
fi

# --- build ------------------------------------------------------------------
if [ -n "$build_dir" ]; then
    if [ ! -f "$build_dir/CMakeCache.txt" ]; then
        [ -n "$source_dir" ] ||
            die "$build_dir is not a configured build directory (give --source)"
        echo "== gate: configuring $build_dir from $source_dir"
        cmake -S "$source_dir" -B "$build_dir"
    fi
    echo "== gate: building $build_dir"
    cmake --build "$build_dir"
fi

# --- the tool and the places ------------------------------------------------
if [ -z "$leash" ]; then
    if command -v leash >/dev/null 2>&1; then
        leash=$(command -v leash)
    elif [ -n "$build_dir" ] && [ -x "$build_dir/cli/leash" ]; then
        leash=$build_dir/cli/leash
    else
        die "the leash tool was not found: install leash, or give --leash"
    fi
fi
[ -x "$leash" ] || die "$leash is not an executable"

if [ -z "$out" ]; then
    out=${build_dir:-.}/leash-gate
fi
mkdir -p "$out" 2>/dev/null || die "cannot create the output directory $out"
out=$(cd "$out" && pwd)
reports=${reports:-$out/reports}

# Reports of an earlier run would pass for this one's, so they go; but the
# directory is the user's: anything in it that the harness did not write
# stops the gate instead of being deleted with it.
if [ -e "$reports" ] || [ -L "$reports" ]; then
    [ -d "$reports" ] && [ ! -L "$reports" ] ||
        die "--reports $reports is not a directory"
    stale=()
    foreign=()
    [ "$(cd "$reports" && pwd -P)" != "$(pwd -P)" ] ||
        die "--reports $reports is the working directory; give the" \
            "reports a directory of their own"
    while IFS= read -r -d '' f; do
        if [ ! -f "$f" ] || [ -L "$f" ]; then
            foreign+=("$f")
            continue
        fi
        case "${f##*/}" in
        .*.json.*.tmp) stale+=("$f") ;;
        *.json)
            if grep -q '"schema": *"leash-report"' "$f" 2>/dev/null; then
                stale+=("$f")
            else
                foreign+=("$f")
            fi ;;
        *) foreign+=("$f") ;;
        esac
    done < <(find "$reports" -mindepth 1 -maxdepth 1 -print0 2>/dev/null)
    if [ ${#foreign[@]} -gt 0 ]; then
        die "--reports $reports holds files that are not leash reports" \
            "(${foreign[0]##*/}$([ ${#foreign[@]} -gt 1 ] &&
            echo " and $((${#foreign[@]} - 1)) more")); give an empty" \
            "or new directory"
    fi
    [ -r "$reports" ] && [ -w "$reports" ] && [ -x "$reports" ] ||
        die "--reports $reports cannot be read and written"
    for f in "${stale[@]}"; do
        rm -f -- "$f" || die "cannot delete the old report $f"
    done
else
    mkdir -p "$reports" 2>/dev/null ||
        die "cannot create the report directory $reports"
fi
reports=$(cd "$reports" && pwd)
export LEASH_REPORT_DIR=$reports
rm -f "$out"/criterion-*.xml

tool_args=()
if [ -n "$root" ]; then
    tool_args+=(--root "$root")
fi
if [ -n "$allowlist" ]; then
    allowlist=$(cd "$(dirname "$allowlist")" && pwd)/$(basename "$allowlist")
    "$leash" allowlist validate -q "$allowlist" || exit 2
    export LEASH_ALLOWLIST=$allowlist
    tool_args+=(--allowlist "$allowlist")
fi

# --- run the tests ----------------------------------------------------------
xml_args=()
test_status=0
n=0
run_one() {
    local status=0 name
    n=$((n + 1))
    name=$(basename "$1")
    if [ "$name" = ctest ]; then
        echo "== gate: $* (LEASH_REPORT_DIR=$reports)"
        "$@" || status=$?
    else
        local xml=$out/criterion-$n.xml
        echo "== gate: $* --xml=$xml (LEASH_REPORT_DIR=$reports)"
        "$@" "--xml=$xml" || status=$?
        xml_args+=(--xml "$xml")
    fi
    if [ "$status" -ne 0 ]; then
        echo "== gate: $name exited with status $status"
        test_status=$status
    fi
}
cmd=()
for arg in "$@"; do
    if [ "$arg" = -- ]; then
        [ ${#cmd[@]} -eq 0 ] || run_one "${cmd[@]}"
        cmd=()
    else
        cmd+=("$arg")
    fi
done
[ ${#cmd[@]} -eq 0 ] || run_one "${cmd[@]}"

# An XML file a crashed runner never wrote is reported by the tool; one
# that is missing altogether must not be passed, or check stops at it.
present_xml=()
for ((i = 1; i < ${#xml_args[@]}; i += 2)); do
    if [ -s "${xml_args[$i]}" ]; then
        present_xml+=(--xml "${xml_args[$i]}")
    else
        echo "== gate: ${xml_args[$i]} was not written (the test runner" \
            "itself failed?)"
        [ "$test_status" -ne 0 ] || test_status=1
    fi
done

# --- the verdict and the reports --------------------------------------------
verdict=0
echo "== gate: leash check"
"$leash" check "${tool_args[@]}" "${present_xml[@]}" "$reports" |
    tee "$out/summary.txt" || verdict=${PIPESTATUS[0]}

if [ "$verdict" -ne 2 ]; then
    "$leash" markdown "${tool_args[@]}" "${present_xml[@]}" "$reports" \
        -o "$out/summary.md"
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
        cat "$out/summary.md" >>"$GITHUB_STEP_SUMMARY"
    fi
    if [ "${GITHUB_ACTIONS:-}" = true ]; then
        "$leash" annotations "${tool_args[@]}" "${present_xml[@]}" "$reports"
    fi
    "$leash" sarif "${tool_args[@]}" "${present_xml[@]}" "$reports" \
        -o "$out/leash.sarif"
    "$leash" dot "${tool_args[@]}" "${present_xml[@]}" "$reports" \
        -o "$out/leash.dot"
    if command -v "${LEASH_DOT:-dot}" >/dev/null 2>&1; then
        "$leash" svg "${tool_args[@]}" "${present_xml[@]}" "$reports" \
            -o "$out/leash.svg" || echo "== gate: drawing leash.svg failed"
    fi
    echo "== gate: outputs in $out"
fi

if [ "$verdict" -ne 0 ]; then
    exit "$verdict"
fi
if [ "$test_status" -ne 0 ] && [ "$leaks_only" = 0 ]; then
    echo "== gate: no leak outside the allowlist, but a test command" \
        "failed (status $test_status)"
    exit 3
fi
exit 0
