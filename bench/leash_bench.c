/*
 * leash_bench: what goroutines, channels and the leak analysis cost, in the
 * same terms as bench/go/main.go, which does the same work in Go. Keep the
 * two in step: a benchmark changed on one side only measures nothing.
 *
 * Usage:
 *   leash_bench [all|micro|leak|hotpath]   run benchmarks, print results
 *   leash_bench case KIND N                one leak case (used by "leak")
 *   leash_bench count NAME N               N operations of one micro
 *                                          benchmark, for callgrind
 *   leash_bench count-after NAME N         the same after an analysis
 *
 * Every result is one line: name, iterations, value, unit.
 *
 * Micro benchmarks run n operations; n grows until one run lasts
 * BENCH_TARGET_MS (300 by default), then five runs of that n are timed and
 * the median is printed. The machine is shared: the median ignores a run
 * that a neighbour slowed down, where a mean would not.
 *
 * A leak benchmark leaves leaked goroutines behind, and nothing can ever
 * free those, so each case runs in a fresh process (this program again,
 * as "case KIND N") and the best of BENCH_LEAK_RUNS (3) is printed. Leak
 * cases use 64 KiB stacks: 100 000 goroutines take 6 GiB of address space
 * instead of 25 (untouched stack pages cost no memory either way).
 */
#define _GNU_SOURCE
#include <leash/leak.h>
#include <leash/leash.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEAK_STACK_SIZE (64 * 1024)
#define WAITGROUP_SIZE 1000
#define BUFFER_CAP 128
#define MAX_PARKED 100000
#define HEAP_GOROUTINES 1000

static int64_t target_ns = 300 * LEASH_MILLISECOND;
static bool wall_clock;

/*
 * The clock every result is measured with: CPU time of the whole process
 * (user and system, every thread) unless BENCH_CLOCK=wall. The machine is
 * shared, and time spent descheduled says nothing about the runtime; the
 * Go twin reads the same clock (getrusage) for the same reason.
 */
static int64_t bench_clock(void)
{
    struct rusage ru;

    if (wall_clock)
        return leash_now();
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
               LEASH_SECOND +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) *
               LEASH_MICROSECOND;
}

static void result(const char *name, int64_t iters, double value,
                   const char *unit)
{
    printf("%-34s %12" PRId64 " %14.3f %s\n", name, iters, value, unit);
    fflush(stdout);
}

static void die(const char *what)
{
    fprintf(stderr, "leash_bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Goroutines of the leak cases get 64 KiB stacks. */
static void use_leak_stacks(void)
{
    if (leash_set_stack_size(LEAK_STACK_SIZE) != 0)
        die("leash_set_stack_size");
}

static void go_or_die(void (*fn)(void *), void *arg)
{
    if (leash_go(fn, arg) < 0)
        die("leash_go");
}

static leash_chan_t *chan_or_die(size_t elemsize, size_t cap)
{
    leash_chan_t *c = leash_chan_make(elemsize, cap);

    if (c == NULL)
        die("leash_chan_make");
    return c;
}

/* ---- Micro benchmarks -------------------------------------------- */

/*
 * Each function runs n operations in the unit its result is given in.
 * Set-up (a partner goroutine, channels) is inside the timing and
 * amortized over n, as in Go's own benchmarks.
 */

struct partner {
    int64_t n;
    leash_chan_t *a, *b;
    volatile bool done;   /* set by the partner as its last act */
};

/* The partner reads its struct, on this frame, until it returns: let it
 * finish before the frame goes. */
static void wait_partner(struct partner *p)
{
    while (!p->done)
        leash_yield();
}

static void yield_partner(void *arg)
{
    struct partner *p = arg;
    int64_t i;

    for (i = 0; i < p->n; i++)
        leash_yield();
    p->done = true;
}

/* n yields in all, half on each side: the result is per switch. */
static void bench_yield(int64_t n)
{
    struct partner p = { .n = n / 2 };
    int64_t i;

    go_or_die(yield_partner, &p);
    for (i = 0; i < n / 2; i++)
        leash_yield();
    wait_partner(&p);
}

static void noop(void *arg)
{
}

/* Spawn a goroutine and let it run to its end before the next one. */
static void bench_spawn(int64_t n)
{
    int64_t i;

    for (i = 0; i < n; i++) {
        go_or_die(noop, NULL);
        leash_yield();
    }
}

static void pingpong_partner(void *arg)
{
    struct partner *p = arg;
    int64_t i, v;

    for (i = 0; i < p->n; i++) {
        leash_chan_recv(p->a, &v);
        leash_chan_send(p->b, &v);
    }
    p->done = true;
}

/* One round trip: a value to the partner and back, two channel
 * transfers. */
static void bench_pingpong(int64_t n)
{
    struct partner p = { .n = n };
    int64_t i, v;

    p.a = chan_or_die(sizeof v, 0);
    p.b = chan_or_die(sizeof v, 0);
    go_or_die(pingpong_partner, &p);
    for (i = 0; i < n; i++) {
        leash_chan_send(p.a, &i);
        leash_chan_recv(p.b, &v);
    }
    wait_partner(&p);
}

static void buffered_sender(void *arg)
{
    struct partner *p = arg;
    int64_t i;

    for (i = 0; i < p->n; i++)
        leash_chan_send(p->a, &i);
    p->done = true;
}

/* n elements through a channel of BUFFER_CAP: the result is per element. */
static void bench_buffered(int64_t n)
{
    struct partner p = { .n = n };
    int64_t i, v;

    p.a = chan_or_die(sizeof v, BUFFER_CAP);
    go_or_die(buffered_sender, &p);
    for (i = 0; i < n; i++)
        leash_chan_recv(p.a, &v);
    wait_partner(&p);
}

static void select_sender(void *arg)
{
    struct partner *p = arg;
    int64_t i;

    for (i = 0; i < p->n; i++)
        leash_chan_send(i % 2 == 0 ? p->a : p->b, &i);
    p->done = true;
}

/* The sender alternates between two unbuffered channels; the receiver
 * selects on both. The result is per select. */
static void bench_select(int64_t n)
{
    struct partner p = { .n = n };
    leash_case_t cases[2];
    int64_t i, v, sum = 0;

    p.a = chan_or_die(sizeof v, 0);
    p.b = chan_or_die(sizeof v, 0);
    go_or_die(select_sender, &p);
    for (i = 0; i < n; i++) {
        cases[0] = LEASH_RECV_CASE(p.a, &v);
        cases[1] = LEASH_RECV_CASE(p.b, &v);
        leash_select(cases, 2, false);
        sum += v;
    }
    wait_partner(&p);
    if (sum != n * (n - 1) / 2) {
        fprintf(stderr, "leash_bench: select lost values\n");
        exit(1);
    }
}

static leash_mutex_t bench_mu = LEASH_MUTEX_INIT;

static void bench_mutex(int64_t n)
{
    int64_t i;

    for (i = 0; i < n; i++) {
        leash_mutex_lock(&bench_mu);
        leash_mutex_unlock(&bench_mu);
    }
}

static leash_waitgroup_t bench_wg = LEASH_WAITGROUP_INIT;

static void wg_done(void *arg)
{
    leash_waitgroup_done(&bench_wg);
}

/* One op: WAITGROUP_SIZE goroutines that call done, and the wait. */
static void bench_waitgroup(int64_t n)
{
    int64_t i, j;

    for (i = 0; i < n; i++) {
        leash_waitgroup_add(&bench_wg, WAITGROUP_SIZE);
        for (j = 0; j < WAITGROUP_SIZE; j++)
            go_or_die(wg_done, NULL);
        leash_waitgroup_wait(&bench_wg);
    }
}

static const struct micro {
    const char *name;
    void (*fn)(int64_t n);
} micros[] = {
    { "yield", bench_yield },
    { "spawn_exit", bench_spawn },
    { "pingpong_unbuffered", bench_pingpong },
    { "chan_buffered_128", bench_buffered },
    { "select_2", bench_select },
    { "mutex_uncontended", bench_mutex },
    { "waitgroup_1000", bench_waitgroup },
};
#define NMICROS (sizeof micros / sizeof micros[0])

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static int64_t time_run(void (*fn)(int64_t), int64_t n)
{
    int64_t t0 = bench_clock();

    fn(n);
    return bench_clock() - t0;
}

/*
 * Grow n until a run lasts target_ns, as Go's testing package does, then
 * time five runs of that n. Result: the median ns per operation.
 */
static double measure(void (*fn)(int64_t), int64_t *iters)
{
    int64_t n = 1, t, runs[5];
    size_t i;

    leash_gc();
    for (;;) {
        int64_t want;

        t = time_run(fn, n);
        if (t >= target_ns || n >= 1000000000)
            break;
        want = t > 0 ? (int64_t)(1.2 * (double)target_ns * (double)n /
                                 (double)t)
                     : n * 100;
        if (want > n * 100)
            want = n * 100;
        n = want > n ? want : n + 1;
    }
    for (i = 0; i < 5; i++)
        runs[i] = time_run(fn, n);
    qsort(runs, 5, sizeof runs[0], cmp_i64);
    *iters = n;
    return (double)runs[2] / (double)n;
}

static void run_micro(void)
{
    size_t i;

    for (i = 0; i < NMICROS; i++) {
        int64_t iters;
        double ns = measure(micros[i].fn, &iters);

        result(micros[i].name, iters, ns, "ns/op");
    }
}

/* ---- Leak cases (each in a fresh process) ------------------------ */

/* Channels the live half waits on: a global array, hence a root. */
static leash_chan_t *live_chans[MAX_PARKED / 2];

/* Goroutines about to block: nothing runs between the count and the
 * block, so once it reaches n, all n are parked. */
static int64_t parked;

/*
 * Let the set-up run until n goroutines are parked. leash_settle would
 * stop a daisy chain early: it bounds its rounds, and the chain starts one
 * link per round.
 */
static void wait_parked(int64_t n)
{
    int64_t stalled = 0, before;

    while (parked < n) {
        before = parked;
        leash_yield();
        if (parked == before && ++stalled > 1000000) {
            fprintf(stderr, "leash_bench: set-up stalled at %" PRId64
                    " of %" PRId64 " goroutines parked\n", parked, n);
            exit(1);
        }
    }
}

static void park_live(void *arg)
{
    parked++;
    leash_chan_recv(live_chans[(intptr_t)arg], NULL);
}

/* Waits on a channel only its own stack knows: leaked. */
static void park_leaked(void *arg)
{
    leash_chan_t *c = chan_or_die(sizeof(int64_t), 0);

    parked++;
    leash_chan_recv(c, NULL);
}

/* n goroutines, every other one leaked. Result: the leaks expected. */
static int64_t spawn_parked(int64_t n)
{
    int64_t i;

    if (n > MAX_PARKED) {
        fprintf(stderr, "leash_bench: at most %d parked goroutines\n",
                MAX_PARKED);
        exit(2);
    }
    for (i = 0; i < n; i++) {
        if (i % 2 == 0) {
            live_chans[i / 2] = chan_or_die(sizeof(int64_t), 0);
            go_or_die(park_live, (void *)(intptr_t)(i / 2));
        } else {
            go_or_die(park_leaked, NULL);
        }
    }
    return n / 2;
}

/* 64-byte nodes, as Go's struct { next *node; payload [7]uint64 }. */
struct node {
    struct node *next;
    uint64_t payload[7];
};

static struct node *heap_root;

static void build_heap(int64_t mb)
{
    int64_t n = mb * 1024 * 1024 / (int64_t)sizeof(struct node), i;
    size_t j;

    for (i = 0; i < n; i++) {
        struct node *p = leash_alloc(sizeof *p);

        if (p == NULL)
            die("leash_alloc");
        for (j = 0; j < 7; j++)
            p->payload[j] = (uint64_t)i * 8 + j;
        p->next = heap_root;
        heap_root = p;
    }
}

/*
 * The daisy chain (scenario 16): each link waits to receive from the
 * channel of the link it started, and then sends on its own; the last link
 * sleeps for an hour first. Nothing leaks, but only the sleeper is a root,
 * so liveness has to travel the whole chain.
 */
struct link {
    leash_chan_t *out;
    int64_t left;
};

static void chain_link(void *arg)
{
    struct link *l = arg, *next;
    int64_t v = 0;

    if (l->left == 0) {
        parked++;
        leash_sleep(3600 * LEASH_SECOND);
        leash_chan_send(l->out, &v);
        return;
    }
    next = leash_alloc(sizeof *next);
    if (next == NULL)
        die("leash_alloc");
    next->out = chan_or_die(sizeof v, 0);
    next->left = l->left - 1;
    go_or_die(chain_link, next);
    parked++;
    leash_chan_recv(next->out, &v);
    leash_chan_send(l->out, &v);
}

/* Not inlined, so that the first link is in no frame of the caller. */
__attribute__((noinline)) static void start_chain(int64_t n)
{
    struct link *l = leash_alloc(sizeof *l);

    if (l == NULL)
        die("leash_alloc");
    l->out = chan_or_die(sizeof(int64_t), 0);
    l->left = n - 1;
    go_or_die(chain_link, l);
}

/*
 * Time one leash_find_leaks (which collects first) with the report it
 * builds, freed too. Result: ns; *leaked: the leaks it found new.
 */
static int64_t time_find_leaks(size_t *leaked)
{
    int64_t t0 = bench_clock();
    leash_report_t *r = leash_find_leaks();

    if (r == NULL)
        die("leash_find_leaks");
    *leaked = leash_report_new_count(r);
    leash_report_free(r);
    return bench_clock() - t0;
}

/*
 * One case: set up, let everything park, then time a plain collection,
 * the first analysis (what a test harness pays once per process), and a
 * second one, which finds nothing new but still collects, analyses the
 * live goroutines and reports every leaked one again. Prints "gc NS",
 * "leak NS", "again NS", "leaked K", "expect K".
 */
static int run_case(const char *kind, int64_t n)
{
    int64_t expect, t0, t_gc, t_leak, t_again;
    size_t leaked, none;

    use_leak_stacks();
    if (strcmp(kind, "parked") == 0) {
        expect = spawn_parked(n);
        wait_parked(n);
    } else if (strcmp(kind, "heap") == 0) {
        build_heap(n);
        expect = spawn_parked(HEAP_GOROUTINES);
        wait_parked(HEAP_GOROUTINES);
    } else if (strcmp(kind, "daisy") == 0) {
        start_chain(n);
        expect = 0;
        wait_parked(n);
    } else {
        fprintf(stderr, "leash_bench: unknown case %s\n", kind);
        return 2;
    }

    /* The first collection after set-up does extra work (fresh blocks);
     * time the second, which is what the analysis' collection costs. */
    leash_gc();
    t0 = bench_clock();
    leash_gc();
    t_gc = bench_clock() - t0;

    t_leak = time_find_leaks(&leaked);
    /* A first analysis that took more than 10 s is not repeated (Go's
     * daisy chain of 100 000 takes minutes): -1 says so. */
    t_again = t_leak <= 10 * LEASH_SECOND ? time_find_leaks(&none) : -1;

    printf("gc %" PRId64 "\nleak %" PRId64 "\nagain %" PRId64
           "\nleaked %zu\nexpect %" PRId64 "\n",
           t_gc, t_leak, t_again, leaked, expect);
    fflush(stdout);
    /* Parked goroutines would block forever; the process just ends. */
    _exit(0);
}

struct case_result {
    int64_t gc_ns, leak_ns, again_ns;
};

/* Run "case KIND N" in a fresh process. Result: false when it failed. */
static bool run_child(const char *kind, int64_t n, struct case_result *out)
{
    char nbuf[32], line[128];
    int fds[2], status;
    int64_t leaked = -1, expect = -2;
    pid_t pid;
    FILE *f;

    snprintf(nbuf, sizeof nbuf, "%" PRId64, n);
    fflush(stdout);
    if (pipe(fds) != 0)
        die("pipe");
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        char *argv[] = { "leash_bench", "case", (char *)kind, nbuf, NULL };

        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    if (f == NULL)
        die("fdopen");
    out->gc_ns = out->leak_ns = out->again_ns = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        sscanf(line, "gc %" SCNd64, &out->gc_ns);
        sscanf(line, "leak %" SCNd64, &out->leak_ns);
        sscanf(line, "again %" SCNd64, &out->again_ns);
        sscanf(line, "leaked %" SCNd64, &leaked);
        sscanf(line, "expect %" SCNd64, &expect);
    }
    fclose(f);
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        out->leak_ns < 0) {
        fprintf(stderr, "leash_bench: case %s %s failed (status %#x)\n",
                kind, nbuf, status);
        return false;
    }
    if (leaked != expect) {
        fprintf(stderr, "leash_bench: case %s %s: %" PRId64 " leaks "
                "reported, %" PRId64 " expected\n", kind, nbuf, leaked,
                expect);
        return false;
    }
    return true;
}

/*
 * Best of *runs fresh processes; one that needed more than 10 s is not
 * repeated (Go's daisy chain of 100 000), and *runs says how many ran.
 * Result: false when any failed.
 */
static bool best_of(const char *kind, int64_t n, int *runs,
                    struct case_result *best)
{
    struct case_result r;
    int i;

    best->gc_ns = best->leak_ns = best->again_ns = INT64_MAX;
    for (i = 0; i < *runs; i++) {
        if (!run_child(kind, n, &r))
            return false;
        if (r.gc_ns < best->gc_ns)
            best->gc_ns = r.gc_ns;
        if (r.leak_ns < best->leak_ns)
            best->leak_ns = r.leak_ns;
        if (r.again_ns < best->again_ns)
            best->again_ns = r.again_ns;
        if (r.leak_ns > 10 * LEASH_SECOND) {
            *runs = i + 1;
            break;
        }
    }
    return true;
}

/* The lines of one case: first analysis, second one (left out when not
 * run), plain collection. */
static void print_case(const char *label, int runs,
                       const struct case_result *r)
{
    char name[64];

    snprintf(name, sizeof name, "leak/%s", label);
    result(name, runs, (double)r->leak_ns / 1e6, "ms/op");
    if (r->again_ns >= 0) {
        snprintf(name, sizeof name, "leak-again/%s", label);
        result(name, runs, (double)r->again_ns / 1e6, "ms/op");
    }
    snprintf(name, sizeof name, "gc/%s", label);
    result(name, runs, (double)r->gc_ns / 1e6, "ms/op");
}

static void run_leak(void)
{
    /* Goroutine counts; the daisy chain also at 30 000, where Go still
     * finishes in seconds, to show how its cost grows. */
    static const int64_t counts[][5] = {
        { 1000, 10000, 100000, 0 },
        { 1000, 10000, 30000, 100000, 0 },
    };
    static const int64_t mbs[] = { 10, 100 };
    static const char *const kinds[] = { "parked", "daisy" };
    const char *env = getenv("BENCH_LEAK_RUNS");
    int want = env != NULL && atoi(env) > 0 ? atoi(env) : 3, runs;
    struct case_result r, base = { -1, -1, -1 };
    char label[64];
    size_t i, k;

    for (k = 0; k < 2; k++) {
        for (i = 0; counts[k][i] != 0; i++) {
            int64_t n = counts[k][i];

            runs = want;
            if (!best_of(kinds[k], n, &runs, &r))
                continue;
            if (k == 0 && n == HEAP_GOROUTINES)
                base = r;
            snprintf(label, sizeof label, "%s/%" PRId64, kinds[k], n);
            print_case(label, runs, &r);
            /* Flat from 1k to 100k goroutines means linear growth. */
            snprintf(label, sizeof label, "leak/%s/%" PRId64 "/per-g",
                     kinds[k], n);
            result(label, runs, (double)r.leak_ns / 1e3 / (double)n,
                   "us/goroutine");
        }
    }
    for (i = 0; i < 2; i++) {
        runs = want;
        if (!best_of("heap", mbs[i], &runs, &r))
            continue;
        snprintf(label, sizeof label, "heap/%" PRId64 "MB", mbs[i]);
        print_case(label, runs, &r);
        /* The heap's share: the same goroutines without the heap cost
         * leak/parked/1000. Flat from 10 to 100 MB means linear. */
        if (base.leak_ns >= 0) {
            snprintf(label, sizeof label, "leak/heap/%" PRId64 "MB/per-MB",
                     mbs[i]);
            result(label, runs,
                   (double)(r.leak_ns - base.leak_ns) / 1e6 /
                       (double)mbs[i],
                   "ms/MB");
        }
    }
}

/* ---- The hot paths around an analysis ---------------------------- */

/*
 * The analysis runs only when asked and leaves nothing behind in the
 * scheduler or the channels, so a yield and a round trip cost the same
 * after one as before. Measured with 1000 parked goroutines, half of them
 * leaked by the analysis, in a process of its own.
 */
/* Park HEAP_GOROUTINES goroutines, half of them leaked, and let one
 * analysis find those. */
static void park_and_analyse(void)
{
    leash_report_t *r;

    use_leak_stacks();
    spawn_parked(HEAP_GOROUTINES);
    wait_parked(HEAP_GOROUTINES);
    r = leash_find_leaks();
    if (r == NULL)
        die("leash_find_leaks");
    leash_report_free(r);
}

static int run_hotpath(void)
{
    static const struct micro *const which[] = { &micros[0], &micros[2] };
    double before[2], after[2];
    int64_t iters[2];
    leash_report_t *r;
    char name[64];
    size_t i;

    use_leak_stacks();
    spawn_parked(HEAP_GOROUTINES);
    wait_parked(HEAP_GOROUTINES);
    for (i = 0; i < 2; i++)
        before[i] = measure(which[i]->fn, &iters[i]);
    r = leash_find_leaks();
    if (r == NULL)
        die("leash_find_leaks");
    leash_report_free(r);
    for (i = 0; i < 2; i++)
        after[i] = measure(which[i]->fn, &iters[i]);
    for (i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "hotpath/%s/before", which[i]->name);
        result(name, iters[i], before[i], "ns/op");
        snprintf(name, sizeof name, "hotpath/%s/after", which[i]->name);
        result(name, iters[i], after[i], "ns/op");
    }
    _exit(0);
}

static void run_hotpath_child(void)
{
    int status;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        char *argv[] = { "leash_bench", "hotpath-case", NULL };

        execv("/proc/self/exe", argv);
        _exit(127);
    }
    waitpid(pid, &status, 0);
}

/* ---- Entry ------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: leash_bench [all|micro|leak|hotpath]\n"
            "       leash_bench case parked|heap|daisy N\n"
            "       leash_bench count|count-after BENCHMARK N\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "all";
    const char *env = getenv("BENCH_TARGET_MS");
    size_t i;

    if (env != NULL && atoll(env) > 0)
        target_ns = atoll(env) * LEASH_MILLISECOND;
    env = getenv("BENCH_CLOCK");
    wall_clock = env != NULL && strcmp(env, "wall") == 0;
    /* One marking thread, as Go's collector gets one P with
     * GOMAXPROCS=1; the children inherit it. */
    setenv("GC_MARKERS", "1", 0);

    if (strcmp(mode, "case") == 0 && argc == 4)
        return run_case(argv[2], atoll(argv[3]));
    if (strcmp(mode, "hotpath-case") == 0)
        return run_hotpath();
    if ((strcmp(mode, "count") == 0 || strcmp(mode, "count-after") == 0)
        && argc == 4) {
        /* A fixed amount of work after a warm-up: the difference of two
         * callgrind totals divided by the difference of N is the cost of
         * one operation, without start-up or warm-up. count-after first
         * parks 1000 goroutines and runs an analysis that leaks half of
         * them, to show that it leaves the operation's cost unchanged. */
        for (i = 0; i < NMICROS; i++) {
            if (strcmp(micros[i].name, argv[2]) == 0) {
                if (strcmp(mode, "count-after") == 0)
                    park_and_analyse();
                micros[i].fn(1000);
                micros[i].fn(atoll(argv[3]));
                return 0;
            }
        }
        return usage();
    }

    printf("# leash: clock %s, GC_MARKERS=%s, leak cases on %d KiB "
           "stacks\n", wall_clock ? "wall" : "cpu (getrusage)",
           getenv("GC_MARKERS"), LEAK_STACK_SIZE / 1024);
    if (strcmp(mode, "all") == 0 || strcmp(mode, "micro") == 0)
        run_micro();
    if (strcmp(mode, "all") == 0 || strcmp(mode, "leak") == 0)
        run_leak();
    if (strcmp(mode, "all") == 0 || strcmp(mode, "hotpath") == 0)
        run_hotpath_child();
    else if (strcmp(mode, "micro") != 0 && strcmp(mode, "leak") != 0)
        return usage();
    return 0;
}
