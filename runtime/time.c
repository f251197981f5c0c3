/*
 * Time: the monotonic clock, sleeping, timers, tickers and the timer heap
 * the scheduler drives.
 *
 * Invariants:
 *   - a timer is pending exactly when it is in the heap (index >= 0);
 *   - the heap is a binary min-heap on when; it lives in bookkeeping
 *     memory, and its timers are pushed as roots (leash__timers_push_roots)
 *     so that a pending timer keeps its channel or context alive;
 *   - timer channels have one buffer slot; stop and reset empty it, so that
 *     no value from before the call is received after it (Go 1.23).
 * Timer callbacks run on the scheduler's loop and must not block.
 */
#include "chan.h"
#include "time_internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static struct {
    leash_timer_t **heap;
    size_t n, cap;
} th;

int64_t leash_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * LEASH_SECOND + ts.tv_nsec;
}

int64_t leash__coarse_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * LEASH_SECOND + ts.tv_nsec;
}

int64_t leash__time_add(int64_t a, int64_t b)
{
    int64_t r;

    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

int64_t leash__after_ns(int64_t ns)
{
    return leash__time_add(leash_now(), ns > 0 ? ns : 0);
}

/* ---- The heap ---------------------------------------------------- */

static void heap_set(size_t i, leash_timer_t *t)
{
    th.heap[i] = t;
    t->index = (ptrdiff_t)i;
}

static void sift_up(size_t i)
{
    leash_timer_t *t = th.heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (th.heap[parent]->when <= t->when)
            break;
        heap_set(i, th.heap[parent]);
        i = parent;
    }
    heap_set(i, t);
}

static void sift_down(size_t i)
{
    leash_timer_t *t = th.heap[i];

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= th.n)
            break;
        if (c + 1 < th.n && th.heap[c + 1]->when < th.heap[c]->when)
            c++;
        if (t->when <= th.heap[c]->when)
            break;
        heap_set(i, th.heap[c]);
        i = c;
    }
    heap_set(i, t);
}

void leash__timer_start(leash_timer_t *t, int64_t when)
{
    if (t->index >= 0)
        leash__timer_cancel(t);
    th.heap = leash__xgrow(th.heap, th.n, &th.cap, sizeof *th.heap, 64);
    t->when = when;
    heap_set(th.n++, t);
    sift_up(th.n - 1);
}

bool leash__timer_cancel(leash_timer_t *t)
{
    size_t i;
    leash_timer_t *last;

    if (t->index < 0)
        return false;
    i = (size_t)t->index;
    t->index = -1;
    last = th.heap[--th.n];
    th.heap[th.n] = NULL;
    if (i < th.n) {
        heap_set(i, last);
        sift_down(i);
        sift_up((size_t)last->index);
    }
    return true;
}

bool leash__timers_run(int64_t now)
{
    bool fired = false;

    while (th.n > 0 && th.heap[0]->when <= now) {
        leash_timer_t *t = th.heap[0];

        leash__timer_cancel(t);
        if (t->period > 0) {
            int64_t next = leash__time_add(t->when, t->period);

            leash__timer_start(t, next > now ? next
                                             : leash__time_add(now, t->period));
        }
        t->fire(t, now);
        fired = true;
    }
    return fired;
}

int64_t leash__timers_next(void)
{
    return th.n > 0 ? th.heap[0]->when : -1;
}

void leash__timers_push_roots(void (*push)(void *lo, void *hi))
{
    if (th.n > 0)
        push(th.heap, th.heap + th.n);
}

void leash__timers_each(void (*fn)(void *obj, void *ctx), void *ctx)
{
    size_t i;

    for (i = 0; i < th.n; i++)
        fn(th.heap[i], ctx);
}

/* ---- Sleep ------------------------------------------------------- */

static void wake_sleeper(leash_timer_t *t, int64_t now)
{
    leash__ready(t->arg);
}

LEASH_PARKS void leash_sleep(int64_t ns)
{
    leash_timer_t t;

    leash__init();
    if (ns <= 0) {
        leash_yield();
        return;
    }
    memset(&t, 0, sizeof t);
    t.index = -1;
    t.fire = wake_sleeper;
    t.arg = leash__s.cur;
    leash__timer_start(&t, leash__after_ns(ns));
    leash__park(LEASH_WAIT_SLEEP, LEASH_PRIM_NONE, NULL, 0);
}

/* ---- Timers and tickers ------------------------------------------ */

static void send_time(leash_timer_t *t, int64_t now)
{
    /* A full buffer means the reader is behind: drop, as Go does. */
    (void)leash__chan_try_send(t->c, &now);
}

/* site: where the user asked for it, which reports name as the
 * channel's creation site. */
static leash_timer_t *timer_make(int64_t ns, int64_t period, uintptr_t site)
{
    leash_timer_t *t;

    leash__init();
    t = leash__gc_alloc(sizeof *t);
    if (t == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    t->c = leash_chan_make(sizeof(int64_t), 1);
    if (t->c == NULL)
        return NULL;
    t->c->site = site;
    t->index = -1;
    t->period = period;
    t->fire = send_time;
    leash__timer_start(t, leash__after_ns(ns));
    return t;
}

LEASH_NOINLINE leash_timer_t *leash_timer_new(int64_t ns)
{
    return timer_make(ns, 0, (uintptr_t)__builtin_return_address(0));
}

LEASH_NOINLINE leash_timer_t *leash_ticker_new(int64_t period)
{
    if (period <= 0) {
        errno = EINVAL;
        return NULL;
    }
    return timer_make(period, period,
                      (uintptr_t)__builtin_return_address(0));
}

leash_chan_t *leash_timer_chan(const leash_timer_t *t)
{
    return t != NULL ? t->c : NULL;
}

static void drain(leash_timer_t *t)
{
    bool ok;

    if (t->c->count > 0)
        leash__chan_try_recv(t->c, NULL, &ok);
}

bool leash_timer_stop(leash_timer_t *t)
{
    bool pending = leash__timer_cancel(t);

    drain(t);
    return pending;
}

bool leash_timer_reset(leash_timer_t *t, int64_t ns)
{
    bool pending = leash__timer_cancel(t);

    drain(t);
    if (t->period > 0) {
        if (ns <= 0)
            leash_panic("non-positive interval for Ticker.Reset");
        t->period = ns;
    }
    leash__timer_start(t, leash__after_ns(ns));
    return pending;
}

LEASH_NOINLINE leash_chan_t *leash_after(int64_t ns)
{
    leash_timer_t *t = timer_make(ns, 0,
                                  (uintptr_t)__builtin_return_address(0));

    return t != NULL ? t->c : NULL;
}
