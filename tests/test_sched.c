/*
 * Tests of the scheduler (runtime/sched.c, stack.c): when goroutines run,
 * their ids, round-robin yields, sleeping, stack sizes, many goroutines,
 * leash_settle, and the records a goroutine carries (wait reason names,
 * parent, entry, spawn site).
 *
 * Goroutines other than the test body never assert (an assertion jumps off
 * their stack); they record what they saw and the body asserts.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <leash/leash.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "trace.h"
#include "util.h"

/* ---- Starting goroutines ----------------------------------------- */

static void set_flag(void *arg)
{
    *(int *)arg += 1;
}

Test(sched, go_runs_only_when_caller_yields)
{
    int flag = 0;
    int64_t id;

    id = leash_go(set_flag, &flag);
    cr_assert_gt(id, 1);
    cr_assert_eq(flag, 0, "leash_go ran the goroutine at once");
    cr_assert_eq(find_g(id)->state, LEASH_G_RUNNABLE);
    leash_yield();
    cr_assert_eq(flag, 1, "the goroutine did not run on yield");
    cr_assert_null(find_g(id), "a finished goroutine is still registered");
    leash_yield();
    cr_assert_eq(flag, 1, "the goroutine ran twice");
}

static void send_one(void *arg)
{
    int v = 42;

    leash_chan_send(arg, &v);
}

Test(sched, go_runs_when_caller_blocks)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 0);
    int v = 0;

    leash_go(send_one, c);
    cr_assert(leash_chan_recv(c, &v));
    cr_assert_eq(v, 42);
}

struct id_probe {
    int64_t seen;
    int64_t parent_seen;
};

static void record_id(void *arg)
{
    struct id_probe *p = arg;

    p->seen = leash_goid();
}

Test(sched, goroutine_one_is_the_test_body)
{
    struct id_probe p = { 0, 0 };

    cr_assert_eq(leash_goid(), 1);
    leash_go(record_id, &p);
    leash_yield();
    cr_assert_eq(leash_goid(), 1, "the body's id changed after a switch");
    cr_assert_eq(leash__s.cur, leash__s.g1);
    cr_assert_eq(leash__s.g1->id, 1);
}

Test(sched, ids_increase_and_match_goid)
{
    enum { N = 20 };
    struct id_probe p[N];
    int64_t ids[N];
    int i;

    memset(p, 0, sizeof p);
    for (i = 0; i < N; i++)
        ids[i] = leash_go(record_id, &p[i]);
    cr_assert_eq(ids[0], 2, "a fresh process starts at goroutine 2");
    for (i = 1; i < N; i++)
        cr_assert_eq(ids[i], ids[i - 1] + 1, "id %d is %lld after %lld", i,
                     (long long)ids[i], (long long)ids[i - 1]);
    cr_assert_eq(leash_settle(0), 0);
    for (i = 0; i < N; i++)
        cr_assert_eq(p[i].seen, ids[i], "goroutine %lld saw goid %lld",
                     (long long)ids[i], (long long)p[i].seen);

    /* Descriptors of dead goroutines are reused, ids never are. */
    cr_assert_eq(leash_go(record_id, &p[0]), ids[N - 1] + 1);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(p[0].seen, ids[N - 1] + 1);
}

struct spawner {
    int64_t child_id;
    int64_t my_id;
    struct id_probe probe;
};

static void spawn_from_goroutine(void *arg)
{
    struct spawner *s = arg;

    s->my_id = leash_goid();
    s->child_id = leash_go(record_id, &s->probe);
    leash_yield();
}

Test(sched, goroutines_spawn_goroutines)
{
    struct spawner s;

    memset(&s, 0, sizeof s);
    leash_go(spawn_from_goroutine, &s);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.my_id, 2);
    cr_assert_eq(s.child_id, 3);
    cr_assert_eq(s.probe.seen, 3);
}

/* ---- Yield order ------------------------------------------------- */

struct rr_arg {
    struct events *ev;
    int tag;
};

static void rr_worker(void *arg)
{
    struct rr_arg *a = arg;
    int i;

    for (i = 0; i < 3; i++) {
        event(a->ev, a->tag * 10 + i);
        leash_yield();
    }
    event(a->ev, a->tag * 10 + 9);
}

/* Each yield puts the caller at the tail of the run queue behind every
 * runnable goroutine: strict round robin in spawn order. */
Test(sched, yield_is_round_robin)
{
    static const int want[] = {
        100, 10, 20, 30,
        101, 11, 21, 31,
        102, 12, 22, 32,
        103, 19, 29, 39,
        104,
    };
    struct events ev;
    struct rr_arg a[3];
    int i;

    memset(&ev, 0, sizeof ev);
    for (i = 0; i < 3; i++) {
        a[i].ev = &ev;
        a[i].tag = i + 1;
        leash_go(rr_worker, &a[i]);
    }
    for (i = 0; i < 4; i++) {
        event(&ev, 100 + i);
        leash_yield();
    }
    event(&ev, 104);
    assert_events(&ev, want, (int)(sizeof want / sizeof want[0]));
    cr_assert_eq(leash_settle(0), 0);
}

Test(sched, yield_alone_returns)
{
    int i;

    for (i = 0; i < 1000; i++)
        leash_yield();
    cr_assert_eq(leash_goid(), 1);
    cr_assert_eq(leash_settle(0), 0);
}

/* A goroutine spawned during a round runs after those already queued. */
static void rr_spawner(void *arg)
{
    struct rr_arg *a = arg;

    event(a->ev, 1);
    leash_go(rr_worker, a + 1);
    leash_yield();
    event(a->ev, 2);
}

static void rr_plain(void *arg)
{
    struct rr_arg *a = arg;

    event(a->ev, a->tag);
}

Test(sched, new_goroutine_queues_at_tail)
{
    static const int want[] = { 1, 5, 90, 2, 91, 92, 99 };
    struct events ev;
    struct rr_arg a[3];

    memset(&ev, 0, sizeof ev);
    a[0].ev = a[1].ev = a[2].ev = &ev;
    a[0].tag = 0;
    a[1].tag = 9;
    a[2].tag = 5;
    leash_go(rr_spawner, &a[0]);
    leash_go(rr_plain, &a[2]);
    /* Run queue: spawner, plain. The spawner adds rr_worker (tag 9)
     * behind plain, then yields behind it. */
    cr_assert_eq(leash_settle(0), 0);
    assert_events(&ev, want, (int)(sizeof want / sizeof want[0]));
}

/* ---- Sleep ------------------------------------------------------- */

Test(sched, sleep_lasts_at_least_the_duration)
{
    int64_t t0 = leash_now(), t1;

    leash_sleep(20 * LEASH_MILLISECOND);
    t1 = leash_now();
    cr_assert_geq(t1 - t0, 20 * LEASH_MILLISECOND, "slept %lld ns",
                  (long long)(t1 - t0));
    cr_assert_lt(t1 - t0, 5 * LEASH_SECOND);
}

struct sleeper {
    struct events *ev;
    int ms;
    int64_t start, end;
};

static void sleeper_fn(void *arg)
{
    struct sleeper *s = arg;

    s->start = leash_now();
    leash_sleep(s->ms * LEASH_MILLISECOND);
    s->end = leash_now();
    event(s->ev, s->ms);
}

Test(sched, sleepers_wake_in_deadline_order)
{
    static const int ms[] = { 150, 50, 200, 100 };
    static const int want[] = { 50, 100, 150, 200 };
    struct events ev;
    struct sleeper s[4];
    int i;

    memset(&ev, 0, sizeof ev);
    for (i = 0; i < 4; i++) {
        s[i].ev = &ev;
        s[i].ms = ms[i];
        leash_go(sleeper_fn, &s[i]);
    }
    leash_yield();
    cr_assert_eq(ev.n, 0, "a sleeper woke before its time");
    cr_assert_eq(leash_settle(0), 4, "sleepers are alive");
    cr_assert_eq(leash_settle(10 * LEASH_SECOND), 0);
    assert_events(&ev, want, 4);
    for (i = 0; i < 4; i++)
        cr_assert_geq(s[i].end - s[i].start, ms[i] * LEASH_MILLISECOND,
                      "goroutine slept %lld ns of %d ms",
                      (long long)(s[i].end - s[i].start), ms[i]);
}

Test(sched, body_sleeps_while_others_run)
{
    struct events ev;
    struct rr_arg a = { &ev, 7 };

    memset(&ev, 0, sizeof ev);
    leash_go(rr_plain, &a);
    leash_sleep(LEASH_MILLISECOND);
    cr_assert_eq(ev.n, 1);
    cr_assert_eq(ev.v[0], 7);
}

Test(sched, sleep_zero_or_negative_yields)
{
    int flag = 0;

    leash_go(set_flag, &flag);
    leash_sleep(0);
    cr_assert_eq(flag, 1);
    leash_go(set_flag, &flag);
    leash_sleep(-5);
    cr_assert_eq(flag, 2);
}

/* ---- Stacks ------------------------------------------------------ */

Test(sched, set_stack_size_rejects_small_and_huge)
{
    size_t before;

    leash_goid();
    before = leash__s.stack_size;
    cr_assert_eq(before, 256 * 1024, "default stack size is %zu", before);

    errno = 0;
    cr_assert_eq(leash_set_stack_size(64 * 1024 - 1), -1);
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_eq(leash_set_stack_size(0), -1);
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_eq(leash_set_stack_size(4096), -1);
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_eq(leash_set_stack_size(((size_t)1 << 32) + 1), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(leash__s.stack_size, before, "a rejected size was kept");

    cr_assert_eq(leash_set_stack_size(64 * 1024), 0);
    cr_assert_eq(leash__s.stack_size, 64 * 1024);
    cr_assert_eq(leash_set_stack_size(100 * 1000), 0);
    cr_assert_eq(leash__s.stack_size % 4096, 0, "not rounded to pages");
    cr_assert_geq(leash__s.stack_size, 100 * 1000);
    cr_assert_lt(leash__s.stack_size, 100 * 1000 + 4096);
}

/* Each level keeps 1 KiB live across the recursive call. */
static KEEP unsigned long recurse(int depth)
{
    volatile unsigned char buf[1024];
    unsigned long sum;
    size_t i;

    for (i = 0; i < sizeof buf; i += 64)
        buf[i] = (unsigned char)(depth + i);
    if (depth == 0)
        return buf[0];
    sum = recurse(depth - 1);
    NO_TAIL();
    return sum + buf[64];
}

static unsigned long recurse_expect(int depth)
{
    unsigned long sum = 0;
    int d;

    for (d = 0; d <= depth; d++)
        sum += (unsigned char)(d + (d == 0 ? 0 : 64));
    return sum;
}

struct deep {
    int depth;
    unsigned long result;
    size_t used;
    char *lo, *hi;
};

static void deep_fn(void *arg)
{
    struct deep *d = arg;
    leash__g_t *g = leash__s.cur;

    d->lo = g->stack_lo;
    d->hi = g->stack_hi;
    d->result = recurse(d->depth);
}

Test(sched, deep_recursion_fits_256k_stack)
{
    struct deep d = { 200, 0, 0, NULL, NULL };

    leash_goid();
    cr_assert_eq(leash_set_stack_size(256 * 1024), 0);
    leash_go(deep_fn, &d);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq((size_t)(d.hi - d.lo), 256 * 1024);
    cr_assert_eq(d.result, recurse_expect(200));
}

/* 800 KiB of frames: only fits because the larger size was applied. */
Test(sched, larger_stack_size_applies_to_new_goroutines)
{
    struct deep d = { 800, 0, 0, NULL, NULL };

    leash_goid();   /* see set_stack_size_before_first_use_is_kept */
    cr_assert_eq(leash_set_stack_size(1024 * 1024), 0);
    leash_go(deep_fn, &d);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq((size_t)(d.hi - d.lo), 1024 * 1024);
    cr_assert_eq(d.result, recurse_expect(800));
}

static void stack_bounds(void *arg)
{
    struct deep *d = arg;

    d->lo = leash__s.cur->stack_lo;
    d->hi = leash__s.cur->stack_hi;
}

/* A size set before anything else starts the runtime is not lost when
 * the runtime initializes. */
Test(sched, set_stack_size_before_first_use_is_kept)
{
    struct deep d = { 0, 0, 0, NULL, NULL };

    cr_assert_eq(leash_set_stack_size(512 * 1024), 0);
    leash_go(stack_bounds, &d);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(leash__s.stack_size, 512 * 1024,
                 "runtime initialization reset the stack size to %zu",
                 leash__s.stack_size);
    cr_assert_eq((size_t)(d.hi - d.lo), 512 * 1024);
}

/* ---- Many goroutines --------------------------------------------- */

static void count_up(void *arg)
{
    ++*(int *)arg;
}

Test(sched, ten_thousand_goroutines_finish, .timeout = 120)
{
    enum { N = 10000 };
    int counter = 0, i;
    int64_t first = 0, last = 0;

    for (i = 0; i < N; i++) {
        int64_t id = leash_go(count_up, &counter);

        cr_assert_gt(id, 1, "leash_go failed at %d", i);
        if (i == 0)
            first = id;
        last = id;
    }
    cr_assert_eq(last - first, N - 1);
    cr_assert_eq(counter, 0);
    cr_assert_eq(leash__s.nall, N + 1);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(counter, N);
    cr_assert_eq(leash__s.nall, 1);
}

struct gate {
    leash_chan_t *c;
    int *started, *finished;
};

static void wait_gate(void *arg)
{
    struct gate *g = arg;

    ++*g->started;
    leash_chan_recv(g->c, NULL);
    ++*g->finished;
}

Test(sched, ten_thousand_blocked_goroutines_then_released, .timeout = 120)
{
    enum { N = 10000 };
    int started = 0, finished = 0, i;
    struct gate g;

    g.c = leash_chan_make(0, 0);
    g.started = &started;
    g.finished = &finished;
    for (i = 0; i < N; i++)
        cr_assert_gt(leash_go(wait_gate, &g), 1);
    cr_assert_eq(leash_settle(0), N);
    cr_assert_eq(started, N);
    cr_assert_eq(finished, 0);
    leash_chan_close(g.c);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(finished, N);
}

/* ---- Settle ------------------------------------------------------ */

static void block_forever_recv(void *arg)
{
    leash_chan_recv(arg, NULL);
}

static void nap(void *arg)
{
    leash_sleep(*(int64_t *)arg);
}

Test(sched, settle_counts_goroutines_still_alive)
{
    leash_chan_t *c = leash_chan_make(0, 0);
    int flag = 0, i;
    int64_t short_nap = 100 * LEASH_MILLISECOND;
    int64_t long_nap = 60 * LEASH_SECOND;

    cr_assert_eq(leash_settle(0), 0, "nothing started yet");
    for (i = 0; i < 3; i++)
        leash_go(block_forever_recv, c);
    leash_go(set_flag, &flag);
    leash_go(set_flag, &flag);
    cr_assert_eq(leash_settle(0), 3);
    cr_assert_eq(flag, 2);

    /* A sleeper is alive; settle waits for timers only up to max_ns. */
    leash_go(nap, &short_nap);
    leash_go(nap, &long_nap);
    cr_assert_eq(leash_settle(0), 5);
    cr_assert_eq(leash_settle(5 * LEASH_SECOND), 4,
                 "settle did not wait for the short sleeper");

    leash_chan_close(c);
    cr_assert_eq(leash_settle(0), 1, "only the long sleeper remains");
}

/* ---- Records ----------------------------------------------------- */

Test(sched, wait_names_match_go)
{
    static const struct {
        enum leash__wait w;
        const char *name;
        bool candidate;
    } want[] = {
        { LEASH_WAIT_NONE, "", false },
        { LEASH_WAIT_CHAN_RECV, "chan receive", true },
        { LEASH_WAIT_CHAN_SEND, "chan send", true },
        { LEASH_WAIT_CHAN_RECV_NIL, "chan receive (nil chan)", true },
        { LEASH_WAIT_CHAN_SEND_NIL, "chan send (nil chan)", true },
        { LEASH_WAIT_SELECT, "select", true },
        { LEASH_WAIT_SELECT_NO_CASES, "select (no cases)", true },
        { LEASH_WAIT_MUTEX, "sync.Mutex.Lock", true },
        { LEASH_WAIT_RWMUTEX_R, "sync.RWMutex.RLock", true },
        { LEASH_WAIT_RWMUTEX_W, "sync.RWMutex.Lock", true },
        { LEASH_WAIT_WAITGROUP, "sync.WaitGroup.Wait", true },
        { LEASH_WAIT_COND, "sync.Cond.Wait", true },
        { LEASH_WAIT_SLEEP, "sleep", false },
    };
    size_t i;

    cr_assert_eq(sizeof want / sizeof want[0], LEASH_WAIT_COUNT,
                 "a wait reason has no test");
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        cr_assert_str_eq(leash__wait_name(want[i].w), want[i].name);
        cr_assert_eq(leash__wait_is_candidate(want[i].w), want[i].candidate,
                     "candidate(%s)", want[i].name);
    }
    cr_assert_str_eq(leash__wait_name(LEASH_WAIT_COUNT), "?");
    cr_assert_not(leash__wait_is_candidate(LEASH_WAIT_COUNT));
}

Test(sched, state_and_prim_names)
{
    cr_assert_str_eq(leash__gstate_name(LEASH_G_IDLE), "idle");
    cr_assert_str_eq(leash__gstate_name(LEASH_G_RUNNABLE), "runnable");
    cr_assert_str_eq(leash__gstate_name(LEASH_G_RUNNING), "running");
    cr_assert_str_eq(leash__gstate_name(LEASH_G_WAITING), "waiting");
    cr_assert_str_eq(leash__gstate_name(LEASH_G_DEAD), "dead");
    cr_assert_str_eq(leash__gstate_name(LEASH_G_LEAKED), "leaked");
    cr_assert_str_eq(leash__prim_name(LEASH_PRIM_CHAN), "channel");
    cr_assert_str_eq(leash__prim_name(LEASH_PRIM_MUTEX), "mutex");
}

/* Spawns from a known function, so the spawn site resolves to it. */
static KEEP int64_t spawn_here(void (*fn)(void *), void *arg, int *line)
{
    int64_t id;

    *line = __LINE__ + 1;
    id = leash_go(fn, arg);
    NO_TAIL();
    return id;
}

static void nested_spawn(void *arg)
{
    int64_t *ids = arg;
    int line;

    ids[1] = spawn_here(block_forever_recv, NULL, &line);
    ids[2] = line;
}

Test(sched, creation_record)
{
    int64_t ids[3] = { 0, 0, 0 };
    leash__g_t *g, *child;
    leash__frame_t f;
    int line;

    ids[0] = spawn_here(nested_spawn, ids, &line);
    g = find_g(ids[0]);
    cr_assert_not_null(g);
    cr_assert_eq(g->parent_id, 1);
    cr_assert_eq(g->entry, nested_spawn);
    leash__symbolize(g->spawn_pc, true, &f);
    cr_assert_str_eq(f.func, "spawn_here");
    cr_assert_eq(f.line, line);

    cr_assert_eq(leash_settle(0), 1);
    child = find_g(ids[1]);
    cr_assert_not_null(child);
    cr_assert_eq(child->parent_id, ids[0]);
    cr_assert_eq(child->entry, block_forever_recv);
    leash__symbolize(child->spawn_pc, true, &f);
    cr_assert_str_eq(f.func, "spawn_here");
    cr_assert_eq(f.line, ids[2]);
    cr_assert_eq(child->wait, LEASH_WAIT_CHAN_RECV_NIL);
}

static void sleep_long(void *arg)
{
    leash_sleep(60 * LEASH_SECOND);
}

Test(sched, sleeping_goroutine_records_sleep)
{
    struct timespec res;
    int64_t before, tick;
    int64_t id;
    leash__g_t *g;

    /* Park times come from the coarse clock: within one of its ticks. */
    clock_getres(CLOCK_MONOTONIC_COARSE, &res);
    tick = res.tv_sec * LEASH_SECOND + res.tv_nsec;
    before = leash_now();
    id = leash_go(sleep_long, NULL);
    leash_yield();
    g = find_g(id);
    cr_assert_eq(g->state, LEASH_G_WAITING);
    cr_assert_eq(g->wait, LEASH_WAIT_SLEEP);
    cr_assert_eq(g->nwait_prims, 0);
    cr_assert_geq(g->park_time, before - tick);
    cr_assert_leq(g->park_time, leash_now());
    cr_assert_eq(leash_settle(0), 1);
}
