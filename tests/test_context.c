/*
 * Tests of contexts (runtime/context.c): cancellation closes done, error
 * values and strings, propagation to descendants only, timeouts and
 * deadlines, children of done parents, and the background context.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <leash/leash.h>

#include "chan.h"
#include "internal.h"

#define MS LEASH_MILLISECOND
#define LIVENESS (5 * LEASH_SECOND)

/* Whether ctx's done channel is closed, without blocking. */
static bool is_done(leash_context_t *ctx)
{
    leash_chan_t *d = leash_context_done(ctx);
    leash_case_t cs[1] = { LEASH_RECV_CASE(d, NULL) };

    if (d == NULL)
        return false;
    if (leash_select(cs, 1, true) != 0)
        return false;
    cr_assert_not(cs[0].ok, "a value was sent on a done channel");
    return true;
}

/* ---- Background -------------------------------------------------- */

Test(context, background)
{
    leash_context_t *bg = leash_context_background();

    cr_assert_not_null(bg);
    cr_assert_eq(leash_context_background(), bg, "not a singleton");
    cr_assert_null(leash_context_done(bg));
    cr_assert_eq(leash_context_err(bg), LEASH_CTX_OK);
    cr_assert_eq(leash_context_deadline(bg), 0);
    leash_context_cancel(bg);
    cr_assert_eq(leash_context_err(bg), LEASH_CTX_OK,
                 "the background was cancelled");
    cr_assert_null(leash_context_done(bg));
}

Test(context, derive_from_null_is_einval)
{
    errno = 0;
    cr_assert_null(leash_context_with_cancel(NULL));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(leash_context_with_timeout(NULL, MS));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(leash_context_with_deadline(NULL, leash_now() + MS));
    cr_assert_eq(errno, EINVAL);
}

Test(context, err_strings)
{
    cr_assert_str_eq(leash_context_err_string(LEASH_CTX_OK), "");
    cr_assert_str_eq(leash_context_err_string(LEASH_CTX_CANCELED),
                     "context canceled");
    cr_assert_str_eq(leash_context_err_string(LEASH_CTX_DEADLINE_EXCEEDED),
                     "context deadline exceeded");
    cr_assert_eq(LEASH_CTX_OK, 0);
    cr_assert_eq(LEASH_CTX_CANCELED, 1);
    cr_assert_eq(LEASH_CTX_DEADLINE_EXCEEDED, 2);
}

/* ---- Cancel ------------------------------------------------------ */

Test(context, cancel_closes_done)
{
    leash_context_t *ctx =
        leash_context_with_cancel(leash_context_background());
    leash_chan_t *done;
    int64_t junk = 7;

    cr_assert_not_null(ctx);
    done = leash_context_done(ctx);
    cr_assert_not_null(done);
    cr_assert_eq(leash_context_done(ctx), done, "done changed");
    cr_assert_eq(leash_context_err(ctx), LEASH_CTX_OK);
    cr_assert_eq(leash_context_deadline(ctx), 0);
    cr_assert_not(is_done(ctx));

    leash_context_cancel(ctx);
    cr_assert_eq(leash_context_err(ctx), LEASH_CTX_CANCELED);
    cr_assert_str_eq(leash_context_err_string(leash_context_err(ctx)),
                     "context canceled");
    cr_assert_not(leash_chan_recv(done, &junk));
    cr_assert(is_done(ctx));

    /* Cancelling again changes nothing (and does not close twice). */
    leash_context_cancel(ctx);
    cr_assert_eq(leash_context_err(ctx), LEASH_CTX_CANCELED);
}

struct waiter {
    leash_context_t *ctx;
    int ok;          /* what the receive from done returned */
    int done;
    int64_t when;
};

static void wait_done(void *arg)
{
    struct waiter *w = arg;

    w->ok = leash_chan_recv(leash_context_done(w->ctx), NULL);
    w->when = leash_now();
    w->done = 1;
}

Test(context, cancel_wakes_every_waiter)
{
    enum { N = 4 };
    leash_context_t *ctx =
        leash_context_with_cancel(leash_context_background());
    struct waiter w[N];
    int i;

    for (i = 0; i < N; i++) {
        w[i].ctx = ctx;
        w[i].ok = -1;
        w[i].done = 0;
        leash_go(wait_done, &w[i]);
    }
    cr_assert_eq(leash_settle(0), N);
    leash_context_cancel(ctx);
    cr_assert_eq(leash_settle(0), 0);
    for (i = 0; i < N; i++) {
        cr_assert_eq(w[i].done, 1);
        cr_assert_eq(w[i].ok, 0);
    }
}

Test(context, parent_cancel_reaches_children_and_grandchildren)
{
    leash_context_t *bg = leash_context_background();
    leash_context_t *p = leash_context_with_cancel(bg);
    leash_context_t *c1 = leash_context_with_cancel(p);
    leash_context_t *c2 = leash_context_with_timeout(p, 60 * LEASH_SECOND);
    leash_context_t *g1 = leash_context_with_cancel(c1);
    leash_context_t *g2 = leash_context_with_cancel(c2);
    leash_context_t *other = leash_context_with_cancel(bg);
    leash_context_t *all[] = { p, c1, c2, g1, g2 };
    size_t i;

    leash_context_cancel(p);
    for (i = 0; i < sizeof all / sizeof all[0]; i++) {
        cr_assert_eq(leash_context_err(all[i]), LEASH_CTX_CANCELED,
                     "context %zu not cancelled", i);
        cr_assert(is_done(all[i]), "context %zu not done", i);
    }
    cr_assert_eq(leash_context_err(other), LEASH_CTX_OK);
    cr_assert_not(is_done(other));
    cr_assert_eq(leash__timers_next(), -1,
                 "a cancelled child's deadline timer is still pending");
}

Test(context, child_cancel_leaves_parent_and_siblings)
{
    leash_context_t *p = leash_context_with_cancel(leash_context_background());
    leash_context_t *a = leash_context_with_cancel(p);
    leash_context_t *b = leash_context_with_cancel(p);
    leash_context_t *c = leash_context_with_cancel(p);
    leash_context_t *a1 = leash_context_with_cancel(a);

    leash_context_cancel(b);
    cr_assert_eq(leash_context_err(b), LEASH_CTX_CANCELED);
    cr_assert_eq(leash_context_err(p), LEASH_CTX_OK);
    cr_assert_eq(leash_context_err(a), LEASH_CTX_OK);
    cr_assert_eq(leash_context_err(c), LEASH_CTX_OK);
    cr_assert_eq(leash_context_err(a1), LEASH_CTX_OK);
    cr_assert_not(is_done(p));

    /* Cancel the first and last children too, then the parent: the
     * remaining links must still reach a and a1. */
    leash_context_cancel(c);
    cr_assert_eq(leash_context_err(a), LEASH_CTX_OK);
    leash_context_cancel(p);
    cr_assert_eq(leash_context_err(a), LEASH_CTX_CANCELED);
    cr_assert_eq(leash_context_err(a1), LEASH_CTX_CANCELED);
}

Test(context, child_of_cancelled_parent_is_born_cancelled)
{
    leash_context_t *p = leash_context_with_cancel(leash_context_background());
    leash_context_t *c, *t, *d;

    leash_context_cancel(p);
    c = leash_context_with_cancel(p);
    t = leash_context_with_timeout(p, 60 * LEASH_SECOND);
    d = leash_context_with_deadline(p, leash_now() + LEASH_SECOND);
    cr_assert_not_null(c);
    cr_assert_eq(leash_context_err(c), LEASH_CTX_CANCELED);
    cr_assert(is_done(c));
    cr_assert_eq(leash_context_err(t), LEASH_CTX_CANCELED);
    cr_assert(is_done(t));
    cr_assert_eq(leash_context_err(d), LEASH_CTX_CANCELED);
    cr_assert_eq(leash__timers_next(), -1, "a born-cancelled child's timer");
}

/* ---- Deadlines --------------------------------------------------- */

Test(context, with_timeout_fires_by_itself)
{
    int64_t start;
    leash_context_t *ctx;
    struct waiter w = { NULL, -1, 0, 0 };

    leash_goid();   /* start the runtime before the clock starts */
    start = leash_now();
    ctx = leash_context_with_timeout(leash_context_background(), 20 * MS);
    w.ctx = ctx;

    cr_assert_geq(leash_context_deadline(ctx), start + 20 * MS);
    cr_assert_eq(leash_context_err(ctx), LEASH_CTX_OK);
    leash_go(wait_done, &w);
    cr_assert_eq(leash_settle(LIVENESS), 0);
    cr_assert_eq(w.done, 1);
    cr_assert_eq(w.ok, 0);
    cr_assert_geq(w.when, start + 20 * MS);
    cr_assert_eq(leash_context_err(ctx), LEASH_CTX_DEADLINE_EXCEEDED);
    cr_assert_str_eq(leash_context_err_string(leash_context_err(ctx)),
                     "context deadline exceeded");

    /* A later cancel keeps the first reason. */
    leash_context_cancel(ctx);
    cr_assert_eq(leash_context_err(ctx), LEASH_CTX_DEADLINE_EXCEEDED);
}

Test(context, body_blocks_on_timeout)
{
    int64_t start = leash_now();
    leash_context_t *ctx =
        leash_context_with_timeout(leash_context_background(), 10 * MS);

    cr_assert_not(leash_chan_recv(leash_context_done(ctx), NULL));
    cr_assert_geq(leash_now() - start, 10 * MS);
    cr_assert_eq(leash_context_err(ctx), LEASH_CTX_DEADLINE_EXCEEDED);
}

Test(context, cancel_before_deadline_stops_the_timer)
{
    leash_context_t *ctx =
        leash_context_with_timeout(leash_context_background(), LEASH_SECOND);

    cr_assert_eq(leash_context_err(ctx), LEASH_CTX_OK);
    cr_assert_eq(leash__timers_next(), leash_context_deadline(ctx));
    leash_context_cancel(ctx);
    cr_assert_eq(leash__timers_next(), -1);
    leash_sleep(20 * MS);
    cr_assert_eq(leash_context_err(ctx), LEASH_CTX_CANCELED);
}

Test(context, deadline_in_the_past_is_born_exceeded)
{
    leash_context_t *p = leash_context_with_cancel(leash_context_background());
    leash_context_t *d = leash_context_with_deadline(p, leash_now() - MS);
    leash_context_t *t = leash_context_with_timeout(p, 0);

    cr_assert_eq(leash_context_err(d), LEASH_CTX_DEADLINE_EXCEEDED);
    cr_assert(is_done(d));
    cr_assert_eq(leash_context_err(t), LEASH_CTX_DEADLINE_EXCEEDED);
    cr_assert_eq(leash_context_err(p), LEASH_CTX_OK);
    cr_assert_eq(leash__timers_next(), -1);
}

Test(context, child_deadline_is_min_of_parent_and_own)
{
    leash_context_t *bg = leash_context_background();
    int64_t now = leash_now();
    int64_t pd = now + 10 * LEASH_SECOND;
    leash_context_t *p = leash_context_with_deadline(bg, pd);
    leash_context_t *later = leash_context_with_deadline(p, now + 20 *
                                                         LEASH_SECOND);
    leash_context_t *sooner = leash_context_with_deadline(p, now + 5 *
                                                          LEASH_SECOND);
    leash_context_t *plain = leash_context_with_cancel(p);
    leash_context_t *grand = leash_context_with_timeout(sooner,
                                                        60 * LEASH_SECOND);

    cr_assert_eq(leash_context_deadline(p), pd);
    cr_assert_eq(leash_context_deadline(later), pd);
    cr_assert_eq(leash_context_deadline(sooner), now + 5 * LEASH_SECOND);
    cr_assert_eq(leash_context_deadline(plain), pd);
    cr_assert_eq(leash_context_deadline(grand), now + 5 * LEASH_SECOND);
    leash_context_cancel(p);
}

Test(context, parent_deadline_cancels_children_with_deadline_exceeded)
{
    leash_context_t *p =
        leash_context_with_timeout(leash_context_background(), 10 * MS);
    leash_context_t *c = leash_context_with_cancel(p);
    leash_context_t *g = leash_context_with_timeout(c, 60 * LEASH_SECOND);
    struct waiter w = { g, -1, 0, 0 };

    leash_go(wait_done, &w);
    cr_assert_eq(leash_settle(LIVENESS), 0);
    cr_assert_eq(w.ok, 0);
    cr_assert_eq(leash_context_err(p), LEASH_CTX_DEADLINE_EXCEEDED);
    cr_assert_eq(leash_context_err(c), LEASH_CTX_DEADLINE_EXCEEDED);
    cr_assert_eq(leash_context_err(g), LEASH_CTX_DEADLINE_EXCEEDED);
    cr_assert_eq(leash__timers_next(), -1);
}

Test(context, child_timeout_leaves_parent)
{
    leash_context_t *p = leash_context_with_cancel(leash_context_background());
    leash_context_t *c = leash_context_with_timeout(p, 5 * MS);

    cr_assert_not(leash_chan_recv(leash_context_done(c), NULL));
    cr_assert_eq(leash_context_err(c), LEASH_CTX_DEADLINE_EXCEEDED);
    cr_assert_eq(leash_context_err(p), LEASH_CTX_OK);
    cr_assert_not(is_done(p));
    leash_context_cancel(p);
    cr_assert_eq(leash_context_err(c), LEASH_CTX_DEADLINE_EXCEEDED);
}

/* A context referenced only by its pending timer survives collections. */
static __attribute__((noipa)) leash_chan_t *timeout_done_only(int64_t ns)
{
    return leash_context_done(
        leash_context_with_timeout(leash_context_background(), ns));
}

Test(context, pending_deadline_survives_collection)
{
    leash_chan_t *done = timeout_done_only(20 * MS);
    int i, k;

    for (i = 0; i < 3; i++) {
        leash_gc();
        for (k = 0; k < 1000; k++)
            leash_alloc(64);
    }
    cr_assert_not(leash_chan_recv(done, NULL));
}
