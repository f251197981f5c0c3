/*
 * Tests of time (runtime/time.c): the clock, timers, leash_after, stop and
 * reset with Go 1.23's no-stale-value rule, tickers and their dropped
 * ticks, and pending timers keeping their channels alive across a
 * collection.
 *
 * Timing assertions are only "at least the duration" and generous upper
 * bounds (seconds) for liveness.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <leash/leash.h>
#include <string.h>

#include "chan.h"
#include "internal.h"
#include "time_internal.h"

#define MS LEASH_MILLISECOND
#define LIVENESS (5 * LEASH_SECOND)

/* Whether c has nothing to receive right now (a select with default). */
static bool nothing_ready(leash_chan_t *c)
{
    int64_t v = -1;
    leash_case_t cs[1] = { LEASH_RECV_CASE(c, &v) };

    return leash_select(cs, 1, true) == -1;
}

/* ---- Clock ------------------------------------------------------- */

Test(time, now_is_monotonic)
{
    int64_t prev = leash_now(), t;
    int i;

    cr_assert_gt(prev, 0);
    for (i = 0; i < 10000; i++) {
        t = leash_now();
        cr_assert_geq(t, prev);
        prev = t;
    }
}

Test(time, unit_constants)
{
    cr_assert_eq(LEASH_NANOSECOND, 1);
    cr_assert_eq(LEASH_MICROSECOND, 1000);
    cr_assert_eq(LEASH_MILLISECOND, 1000000);
    cr_assert_eq(LEASH_SECOND, 1000000000);
}

/* ---- After and timers -------------------------------------------- */

Test(time, after_fires_after_the_duration)
{
    int64_t start = leash_now(), v = 0, end;
    leash_chan_t *c = leash_after(20 * MS);

    cr_assert_not_null(c);
    cr_assert_eq(leash_chan_cap(c), 1);
    cr_assert_eq(c->elemsize, sizeof(int64_t));
    cr_assert(nothing_ready(c), "fired at once");
    cr_assert(leash_chan_recv(c, &v));
    end = leash_now();
    cr_assert_geq(v, start + 20 * MS, "value %lld is %lld ns after start",
                  (long long)v, (long long)(v - start));
    cr_assert_leq(v, end);
    cr_assert_geq(end - start, 20 * MS);
    cr_assert_lt(end - start, LIVENESS);
    cr_assert(nothing_ready(c), "a timer fired twice");
}

Test(time, after_zero_fires_at_next_scheduling_point)
{
    int64_t v = 0, start = leash_now();
    leash_chan_t *c = leash_after(0);

    cr_assert(leash_chan_recv(c, &v));
    cr_assert_geq(v, start);
}

Test(time, timers_fire_in_deadline_order)
{
    leash_chan_t *c30 = leash_after(30 * MS);
    leash_chan_t *c10 = leash_after(10 * MS);
    leash_chan_t *c20 = leash_after(20 * MS);
    int64_t v10, v20, v30;

    cr_assert(leash_chan_recv(c30, &v30));
    cr_assert(leash_chan_recv(c10, &v10));
    cr_assert(leash_chan_recv(c20, &v20));
    cr_assert_leq(v10, v20);
    cr_assert_leq(v20, v30);
}

Test(time, timer_new_sends_once)
{
    int64_t start = leash_now(), v;
    leash_timer_t *t = leash_timer_new(5 * MS);
    leash_chan_t *c = leash_timer_chan(t);

    cr_assert_not_null(t);
    cr_assert_eq(leash_timer_chan(NULL), NULL);
    cr_assert(leash_chan_recv(c, &v));
    cr_assert_geq(v, start + 5 * MS);
    leash_sleep(20 * MS);
    cr_assert(nothing_ready(c));
    cr_assert_eq(t->index, -1, "a fired timer is still pending");
}

/* ---- Stop -------------------------------------------------------- */

Test(time, stop_before_firing_prevents_the_value)
{
    leash_timer_t *t = leash_timer_new(10 * MS);
    leash_chan_t *c = leash_timer_chan(t);

    cr_assert(leash_timer_stop(t), "stop of a pending timer");
    cr_assert_not(leash_timer_stop(t), "a second stop");
    leash_sleep(40 * MS);
    cr_assert(nothing_ready(c), "a stopped timer fired");
    cr_assert_eq(leash_chan_len(c), 0);
    cr_assert_eq(leash__timers_next(), -1, "the timer heap is not empty");
}

Test(time, stop_after_firing_discards_unreceived_value)
{
    leash_timer_t *t = leash_timer_new(5 * MS);
    leash_chan_t *c = leash_timer_chan(t);

    leash_sleep(30 * MS);
    cr_assert_eq(leash_chan_len(c), 1, "the timer did not fire");
    cr_assert_not(leash_timer_stop(t), "stop of a fired timer");
    cr_assert_eq(leash_chan_len(c), 0, "a stale value survived stop");
    cr_assert(nothing_ready(c));
}

Test(time, stop_after_value_received)
{
    leash_timer_t *t = leash_timer_new(MS);
    int64_t v;

    cr_assert(leash_chan_recv(leash_timer_chan(t), &v));
    cr_assert_not(leash_timer_stop(t));
    cr_assert_eq(leash_chan_len(leash_timer_chan(t)), 0);
}

/* A receiver blocked on a stopped timer stays blocked. */
static void recv_time(void *arg)
{
    int64_t *out = arg;
    leash_chan_t *c = (leash_chan_t *)(intptr_t)out[0];

    out[1] = leash_chan_recv(c, &out[2]) ? 1 : 0;
}

Test(time, stopped_timer_never_wakes_its_receiver)
{
    leash_timer_t *t = leash_timer_new(10 * MS);
    int64_t box[3] = { (int64_t)(intptr_t)leash_timer_chan(t), -1, -1 };

    leash_go(recv_time, box);
    leash_yield();
    cr_assert(leash_timer_stop(t));
    cr_assert_eq(leash_settle(100 * MS), 1);
    cr_assert_eq(box[1], -1, "the receiver woke");
}

/* ---- Reset ------------------------------------------------------- */

Test(time, reset_pending_timer_moves_its_deadline)
{
    leash_timer_t *t = leash_timer_new(30 * LEASH_SECOND);
    int64_t v, at = leash_now(), end;

    cr_assert(leash_timer_reset(t, 40 * MS), "reset of a pending timer");
    cr_assert(leash_chan_recv(leash_timer_chan(t), &v));
    end = leash_now();
    cr_assert_geq(v, at + 40 * MS, "fired %lld ns after reset",
                  (long long)(v - at));
    cr_assert_lt(end - at, LIVENESS, "still on the old deadline");
}

Test(time, reset_fired_timer_discards_value_and_fires_again)
{
    leash_timer_t *t = leash_timer_new(2 * MS);
    leash_chan_t *c = leash_timer_chan(t);
    int64_t v, at;

    leash_sleep(20 * MS);
    cr_assert_eq(leash_chan_len(c), 1);
    at = leash_now();
    cr_assert_not(leash_timer_reset(t, 20 * MS), "the timer had fired");
    cr_assert_eq(leash_chan_len(c), 0, "a stale value survived reset");
    cr_assert(nothing_ready(c));
    cr_assert(leash_chan_recv(c, &v));
    cr_assert_geq(v, at + 20 * MS);
    leash_sleep(30 * MS);
    cr_assert(nothing_ready(c), "fired twice after one reset");
}

Test(time, reset_stopped_timer_fires)
{
    leash_timer_t *t = leash_timer_new(LEASH_SECOND);
    int64_t v, at;

    cr_assert(leash_timer_stop(t));
    at = leash_now();
    cr_assert_not(leash_timer_reset(t, 5 * MS));
    cr_assert(leash_chan_recv(leash_timer_chan(t), &v));
    cr_assert_geq(v, at + 5 * MS);
}

/* ---- Tickers ----------------------------------------------------- */

Test(time, ticker_rejects_non_positive_period)
{
    errno = 0;
    cr_assert_null(leash_ticker_new(0));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(leash_ticker_new(-MS));
    cr_assert_eq(errno, EINVAL);
}

Test(time, ticker_ticks_repeatedly_until_stopped)
{
    enum { TICKS = 6 };
    int64_t period = 5 * MS, start = leash_now(), prev = start, v;
    leash_timer_t *t = leash_ticker_new(period);
    leash_chan_t *c = leash_timer_chan(t);
    int k;

    cr_assert_not_null(t);
    cr_assert_eq(leash_chan_cap(c), 1);
    for (k = 1; k <= TICKS; k++) {
        cr_assert(leash_chan_recv(c, &v));
        cr_assert_geq(v, start + k * period, "tick %d at %lld ns", k,
                      (long long)(v - start));
        cr_assert_gt(v, prev, "tick %d not after the previous one", k);
        prev = v;
    }
    cr_assert_lt(leash_now() - start, LIVENESS);

    cr_assert(leash_timer_stop(t), "a running ticker is pending");
    cr_assert_eq(leash_chan_len(c), 0);
    leash_sleep(4 * period);
    cr_assert(nothing_ready(c), "a stopped ticker ticked");
    cr_assert_eq(leash__timers_next(), -1);
}

Test(time, ticker_drops_ticks_for_slow_reader)
{
    int64_t period = MS, v, start = leash_now(), after_first = 0;
    leash_timer_t *t = leash_ticker_new(period);
    leash_chan_t *c = leash_timer_chan(t);
    int i;

    for (i = 0; i < 5; i++) {
        leash_sleep(10 * period);
        if (i == 0)
            after_first = leash_now();
        cr_assert_eq(leash_chan_len(c), 1, "len %zu after a slow sleep",
                     leash_chan_len(c));
    }
    cr_assert(leash_chan_recv(c, &v));
    cr_assert_geq(v, start + period);
    /* The one buffered tick is still the one from the first sleep: the
     * later ticks were dropped, not queued or overwritten. */
    cr_assert_leq(v, after_first, "the buffered tick is not the oldest");
    cr_assert(leash_timer_stop(t));
}

Test(time, ticker_reset_changes_period)
{
    leash_timer_t *t = leash_ticker_new(30 * LEASH_SECOND);
    int64_t at = leash_now(), v, prev;
    int k;

    cr_assert(leash_timer_reset(t, 3 * MS));
    prev = at;
    for (k = 1; k <= 3; k++) {
        cr_assert(leash_chan_recv(leash_timer_chan(t), &v));
        cr_assert_geq(v, at + k * 3 * MS);
        cr_assert_gt(v, prev);
        prev = v;
    }
    cr_assert_lt(leash_now() - at, LIVENESS, "still on the old period");
    cr_assert(leash_timer_stop(t));
}

/* ---- Sleep records ----------------------------------------------- */

static void sleeper(void *arg)
{
    leash_sleep(*(int64_t *)arg);
}

Test(time, sleeping_goroutine_is_on_the_timer_heap)
{
    int64_t d = 50 * MS, before = leash_now();
    int64_t id = leash_go(sleeper, &d);
    leash__g_t *g;

    leash_yield();
    for (g = leash__s.all; g != NULL && g->id != id; g = g->all_next)
        ;
    cr_assert_not_null(g);
    cr_assert_eq(g->wait, LEASH_WAIT_SLEEP);
    cr_assert_not(leash__wait_is_candidate(g->wait));
    cr_assert_geq(leash__timers_next(), before + d);
    cr_assert_eq(leash_settle(LIVENESS), 0);
}

/* ---- Collection -------------------------------------------------- */

/* The only reference to the channel of a pending timer is the timer heap
 * while the goroutine below keeps the channel behind a disguised pointer. */
struct hidden {
    uintptr_t chan_xor;
    int64_t got;
    int ok;
};

#define HIDE ((uintptr_t)0x5a5a5a5a5a5a5a5aull)

static void recv_hidden_later(void *arg)
{
    struct hidden *h = arg;

    leash_sleep(30 * MS);
    h->ok = leash_chan_recv((leash_chan_t *)(h->chan_xor ^ HIDE), &h->got);
}

static __attribute__((noipa)) void start_hidden_timer(struct hidden *h)
{
    h->chan_xor = (uintptr_t)leash_after(10 * MS) ^ HIDE;
}

Test(time, pending_timer_keeps_its_channel_alive)
{
    struct hidden h = { 0, 0, -1 };
    int64_t start = leash_now();
    int i;

    start_hidden_timer(&h);
    leash_go(recv_hidden_later, &h);
    for (i = 0; i < 3; i++) {
        leash_gc();
        /* Allocations that would reuse a freed channel. */
        for (int k = 0; k < 1000; k++)
            memset(leash_alloc(sizeof(struct leash_chan) + 8), 0xff,
                   sizeof(struct leash_chan) + 8);
    }
    cr_assert_eq(leash_settle(LIVENESS), 0);
    cr_assert_eq(h.ok, 1);
    cr_assert_geq(h.got, start + 10 * MS);
}

/* ---- Huge durations mean "never" --------------------------------- */

static void sleep_forever(void *unused)
{
    leash_sleep(INT64_MAX - 10);
}

Test(time, huge_durations_never_fire)
{
    leash_chan_t *after = leash_after(INT64_MAX);
    leash_timer_t *t = leash_timer_new(INT64_MAX - 1);
    leash_context_t *ctx =
        leash_context_with_timeout(leash_context_background(), INT64_MAX);
    int64_t id = leash_go(sleep_forever, NULL);
    leash__g_t *g;

    leash_sleep(20 * MS);
    leash_settle(0);
    cr_assert(nothing_ready(after));
    cr_assert(nothing_ready(leash_timer_chan(t)));
    cr_assert_eq(leash_context_err(ctx), LEASH_CTX_OK);
    cr_assert_eq(leash_context_deadline(ctx), INT64_MAX);
    for (g = leash__s.all; g != NULL && g->id != id; g = g->all_next)
        ;
    cr_assert_not_null(g, "the sleeper woke up and exited");
    cr_assert_eq(g->wait, LEASH_WAIT_SLEEP);

    /* A ticker's next tick saturates too, instead of wrapping. */
    cr_assert_eq(leash__time_add(INT64_MAX - 5, 10), INT64_MAX);
    cr_assert_eq(leash__time_add(-5, 3), -2);
    cr_assert(leash_timer_stop(t));
    leash_context_cancel(ctx);
}
