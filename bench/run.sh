#!/bin/sh
# Build leash_bench and its Go twin, run both, and print them side by side.
#
#   bench/run.sh [--quick] [--no-leak] [--no-callgrind]
#
# --quick        shorter runs (one round of 100 ms micro runs, one run per
#                leak case, Go leak cases cut off after 60 s)
# --no-leak      skip the leak-analysis benchmarks (the longest part)
# --no-callgrind skip the instruction counts
#
# Environment:
#   BENCH_ROUNDS (3)          alternating rounds of the micro benchmarks;
#                             each side keeps its median
#   BENCH_TARGET_MS (300)     time per micro run
#   BENCH_LEAK_RUNS (3)       fresh processes per leak case
#   BENCH_LEAK_TIMEOUT_S (300) wall time one Go leak case may take (its
#                             daisy chain of 100 000 needs more: the CPU
#                             time it used until killed is printed as a
#                             lower bound, ">x")
#   BENCH_CLOCK=wall          the wall clock instead of CPU time
#
# Needs cmake, a C compiler, the Debian packages the build needs, and Go
# 1.26; valgrind for the instruction counts (skipped when missing). Raw
# outputs go to build-bench/results/. A missed target is reported, not
# fatal: the script fails only when something does not build or run.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-bench"
out="$build/results"
leak=1
callgrind=1

for arg in "$@"; do
    case "$arg" in
    --quick)
        BENCH_TARGET_MS=${BENCH_TARGET_MS:-100}
        BENCH_LEAK_RUNS=${BENCH_LEAK_RUNS:-1}
        BENCH_LEAK_TIMEOUT_S=${BENCH_LEAK_TIMEOUT_S:-60}
        BENCH_ROUNDS=${BENCH_ROUNDS:-1}
        export BENCH_TARGET_MS BENCH_LEAK_RUNS BENCH_LEAK_TIMEOUT_S
        export BENCH_ROUNDS ;;
    --no-leak) leak=0 ;;
    --no-callgrind) callgrind=0 ;;
    *) echo "usage: $0 [--quick] [--no-leak] [--no-callgrind]" >&2
       exit 2 ;;
    esac
done

# ---- Build ----------------------------------------------------------

echo "== building (Release) into $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DLEASH_TESTS=OFF -DLEASH_BENCH=ON >/dev/null
cmake --build "$build" --target leash_bench -j 2 >/dev/null
cbench="$build/bench/leash_bench"

# GOTOOLCHAIN=local: never fetch another toolchain; the leak profile
# exists only under the experiment.
(cd "$root/bench/go" &&
    GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
    GOEXPERIMENT=goroutineleakprofile go build -o "$build/go-bench" .)
gobench="$build/go-bench"
mkdir -p "$out"

# Go runs on one P, as leash runs on one thread; leash's collector marks
# with one thread, as Go's gets one P.
GOMAXPROCS=1
GC_MARKERS=1
export GOMAXPROCS GC_MARKERS

# ---- Run --------------------------------------------------------------

# median_of FILE...: each result line with the median value across the
# files, in the order of the first file.
median_of() {
    awk '
        $1 ~ /^#/ { next }
        !($1 in n) { order[++names] = $1; iters[$1] = $2; unit[$1] = $4 }
        { v[$1, ++n[$1]] = $3 }
        END {
            for (k = 1; k <= names; k++) {
                name = order[k]
                for (i = 1; i <= n[name]; i++) s[i] = v[name, i] + 0
                for (i = 2; i <= n[name]; i++)
                    for (j = i; j > 1 && s[j - 1] > s[j]; j--) {
                        t = s[j]; s[j] = s[j - 1]; s[j - 1] = t
                    }
                printf "%-34s %12d %14.3f %s\n", name, iters[name],
                    s[int((n[name] + 1) / 2)], unit[name]
            }
        }' "$@"
}

# The machine's load drifts over minutes: rounds alternate between the
# two programs, and each side keeps the median of its rounds, so that a
# slow stretch does not fall on one side only.
rounds=${BENCH_ROUNDS:-3}
round=1
while [ "$round" -le "$rounds" ]; do
    echo "== micro benchmarks, round $round of $rounds (leash, then Go)"
    "$cbench" micro | tee "$out/leash-micro.$round.txt"
    "$gobench" micro | tee "$out/go-micro.$round.txt"
    round=$((round + 1))
done
rm -f "$out/leash-micro.txt" "$out/go-micro.txt"
i=1
lfiles= gfiles=
while [ "$i" -le "$rounds" ]; do
    lfiles="$lfiles $out/leash-micro.$i.txt"
    gfiles="$gfiles $out/go-micro.$i.txt"
    i=$((i + 1))
done
# shellcheck disable=SC2086
median_of $lfiles > "$out/leash-micro.txt"
# shellcheck disable=SC2086
median_of $gfiles > "$out/go-micro.txt"

if [ "$leak" = 1 ]; then
    echo "== leak analysis (leash, then Go; each case in fresh processes)"
    "$cbench" leak | tee "$out/leash-leak.txt"
    "$gobench" leak | tee "$out/go-leak.txt"
fi

echo "== leash hot paths before and after one leash_find_leaks"
"$cbench" hotpath | tee "$out/leash-hotpath.txt"

# ---- Tables -----------------------------------------------------------

# side_by_side LEASH GO: benchmark, leash, Go, Go/leash for every line of
# the leash file, in its order. A Go value ">x" is a lower bound (the case
# timed out), and so is its ratio; "-" means Go has no such line.
side_by_side() {
    awk '
        FNR == NR { if ($1 !~ /^#/) go[$1] = $3; next }
        $1 ~ /^#/ { next }
        !($1 in go) {
            printf "%-34s %14.3f %14s %9s  %s\n", $1, $3, "-", "-", $4
            next
        }
        {
            g = go[$1]; lb = ""
            if (substr(g, 1, 1) == ">") { lb = ">"; g = substr(g, 2) }
            r = $3 > 0 ? g / $3 : 0
            printf "%-34s %14.3f %14s %9s  %s\n", $1, $3,
                lb sprintf("%.3f", g), lb sprintf("%.2fx", r), $4
        }' "$2" "$1"
}

echo
echo "== results: ratio is Go/leash, above 1 means leash is faster"
printf "%-34s %14s %14s %9s  %s\n" benchmark leash Go ratio unit
side_by_side "$out/leash-micro.txt" "$out/go-micro.txt"
if [ "$leak" = 1 ]; then
    side_by_side "$out/leash-leak.txt" "$out/go-leak.txt"
fi

echo
echo "== targets: at least 2x faster than Go"
awk '
    FNR == NR { if ($1 !~ /^#/) go[$1] = $3; next }
    $1 == "spawn_exit" || $1 == "pingpong_unbuffered" || $1 == "select_2" {
        r = $3 > 0 ? go[$1] / $3 : 0
        printf "%-30s %8.2fx  %s\n", $1, r, (r >= 2 ? "PASS" : "MISS")
    }' "$out/go-micro.txt" "$out/leash-micro.txt"

echo
echo "== hot paths around an analysis (leash, ns/op)"
awk '$1 ~ /^hotpath\// {
        split($1, p, "/")
        v[p[2] "/" p[3]] = $3; names[p[2]] = 1
    }
    END {
        for (n in names)
            printf "%-30s before %10.3f  after %10.3f  after/before %.2f\n",
                n, v[n "/before"], v[n "/after"],
                (v[n "/before"] > 0 ? v[n "/after"] / v[n "/before"] : 0)
    }' "$out/leash-hotpath.txt"

# ---- Instruction counts -----------------------------------------------

# count_ir MODE BENCHMARK N: instructions callgrind counted for the run.
count_ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$cbench" "$1" "$2" "$3" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

# per_op MODE BENCHMARK: instructions per operation, from the difference
# of the totals for n and 2n operations, so that start-up and warm-up
# cancel out. The counts do not depend on what else the machine does.
per_op() {
    n=200000
    a=$(count_ir "$1" "$2" "$n")
    c=$(count_ir "$1" "$2" $((2 * n)))
    awk -v a="$a" -v c="$c" -v n="$n" 'BEGIN { printf "%.1f", (c - a) / n }'
}

if [ "$callgrind" = 1 ] && command -v valgrind >/dev/null 2>&1; then
    echo
    echo "== instructions per operation (callgrind, leash); \"after\" is"
    echo "   after an analysis that leaked 500 of 1000 parked goroutines"
    printf "%-30s %12s %12s\n" benchmark instructions after
    for b in yield spawn_exit pingpong_unbuffered chan_buffered_128 \
             select_2 mutex_uncontended; do
        ir=$(per_op count "$b")
        case "$b" in
        yield|pingpong_unbuffered) after=$(per_op count-after "$b") ;;
        *) after=- ;;
        esac
        printf "%-30s %12s %12s\n" "$b" "$ir" "$after"
        if [ "$b" = pingpong_unbuffered ]; then
            awk -v x="$ir" -v y="$after" 'BEGIN {
                printf "%-30s %12.1f %12.1f\n",
                    "  per send/recv pair", x / 2, y / 2 }'
        fi
    done | tee "$out/leash-callgrind.txt"
fi
