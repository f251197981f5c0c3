/*
 * Tests of select (runtime/select.c): ready cases, default, blocking,
 * nil channels, fairness, send cases, closed channels, the stale waiters a
 * completed select leaves behind, wait records, and the panic of a send
 * case on a closed channel (in a child process).
 *
 * Goroutines other than the test body never assert; they record what they
 * saw and the body asserts.
 */
#include <criterion/criterion.h>
#include <leash/leash.h>
#include <string.h>

#include "chan.h"
#include "child.h"
#include "internal.h"
#include "util.h"

/* ---- Helpers ----------------------------------------------------- */

static leash_chan_t *chan64(size_t cap)
{
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), cap);

    cr_assert_not_null(c);
    return c;
}

static void send64(leash_chan_t *c, int64_t v)
{
    leash_chan_send(c, &v);
}

/* A goroutine running one blocking select over its cases. */
struct sel {
    leash_case_t cases[4];
    size_t n;
    int64_t vals[4];
    int result;
    int done;
};

static void do_select(void *arg)
{
    struct sel *s = arg;

    s->result = leash_select(s->cases, s->n, false);
    s->done = 1;
}

/* Start s in a goroutine and run until it blocks as the only goroutine
 * left; return its record. */
static leash__g_t *park_select(struct sel *s)
{
    int64_t id = leash_go(do_select, s);

    cr_assert_eq(leash_settle(0), 1);
    return find_g(id);
}

/* ---- Ready cases and default ------------------------------------- */

Test(select, picks_the_ready_case)
{
    leash_chan_t *a = chan64(1), *b = chan64(1);
    int64_t va = -1, vb = -1;
    leash_case_t cs[2] = { LEASH_RECV_CASE(a, &va), LEASH_RECV_CASE(b, &vb) };
    int i;

    send64(b, 42);
    cr_assert_eq(leash_select(cs, 2, false), 1);
    cr_assert_eq(vb, 42);
    cr_assert(cs[1].ok);
    cr_assert_eq(va, -1, "the other case wrote its element");
    cr_assert_eq(leash_chan_len(b), 0);

    /* The same with a default: a ready case wins over it. */
    for (i = 0; i < 20; i++) {
        send64(a, i);
        va = -1;
        cr_assert_eq(leash_select(cs, 2, true), 0);
        cr_assert_eq(va, i);
        cr_assert(cs[0].ok);
    }
}

Test(select, default_when_nothing_ready)
{
    leash_chan_t *a = chan64(0), *b = chan64(1);
    int64_t va = -1, vb = -1, out = 5;
    leash_case_t cs[3] = {
        LEASH_RECV_CASE(a, &va),
        LEASH_RECV_CASE(b, &vb),
        LEASH_SEND_CASE(a, &out),
    };

    cr_assert_eq(leash_select(cs, 3, true), -1);
    cr_assert_eq(va, -1);
    cr_assert_eq(vb, -1);
    cr_assert_eq(leash_chan_len(b), 0);
    cr_assert_null(a->recvq.head, "a default select left a waiter");
    cr_assert_null(a->sendq.head, "a default select left a waiter");
    cr_assert_eq(leash_select(NULL, 0, true), -1);
}

Test(select, send_case_into_buffer_and_full_buffer)
{
    leash_chan_t *c = chan64(1);
    int64_t out = 9, in = 0;
    leash_case_t cs[1] = { LEASH_SEND_CASE(c, &out) };

    cr_assert_eq(leash_select(cs, 1, true), 0);
    cr_assert_eq(leash_chan_len(c), 1);
    cr_assert_eq(leash_select(cs, 1, true), -1, "sent into a full buffer");
    cr_assert(leash_chan_recv(c, &in));
    cr_assert_eq(in, 9);
}

Test(select, send_case_to_waiting_receiver)
{
    leash_chan_t *c = chan64(0);
    struct op r = make_op(c, 0);
    int64_t out = 31;
    leash_case_t cs[1] = { LEASH_SEND_CASE(c, &out) };

    leash_go(do_recv, &r);
    cr_assert_eq(leash_select(cs, 1, true), -1, "no receiver yet");
    leash_yield();
    cr_assert_eq(leash_select(cs, 1, true), 0);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(r.ok, 1);
    cr_assert_eq(r.value, 31);
}

Test(select, recv_case_from_waiting_sender)
{
    leash_chan_t *c = chan64(0);
    struct op s = make_op(c, 64);
    int64_t in = 0;
    leash_case_t cs[1] = { LEASH_RECV_CASE(c, &in) };

    leash_go(do_send, &s);
    leash_yield();
    cr_assert_eq(leash_select(cs, 1, true), 0);
    cr_assert_eq(in, 64);
    cr_assert(cs[0].ok);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.done, 1);
}

/* ---- Blocking ---------------------------------------------------- */

struct late {
    leash_chan_t *c;
    int64_t value;
    int64_t ms;
};

static void late_send(void *arg)
{
    struct late *l = arg;

    leash_sleep(l->ms * LEASH_MILLISECOND);
    leash_chan_send(l->c, &l->value);
}

Test(select, blocks_until_a_case_is_ready)
{
    leash_chan_t *a = chan64(0), *b = chan64(0);
    int64_t va = -1, vb = -1;
    leash_case_t cs[2] = { LEASH_RECV_CASE(a, &va), LEASH_RECV_CASE(b, &vb) };
    struct late l = { b, 808, 10 };
    int64_t t0 = leash_now();

    leash_go(late_send, &l);
    cr_assert_eq(leash_select(cs, 2, false), 1);
    cr_assert_geq(leash_now() - t0, 10 * LEASH_MILLISECOND);
    cr_assert_eq(vb, 808);
    cr_assert_eq(va, -1);
    cr_assert(cs[1].ok);
    cr_assert_null(a->recvq.head, "the losing case's waiter stayed queued");
    cr_assert_null(b->recvq.head);
    cr_assert_eq(leash_settle(0), 0);
}

Test(select, blocked_select_records_wait)
{
    leash_chan_t *a = chan64(0), *b = chan64(0);
    struct sel s;
    leash__g_t *g;
    int64_t v;

    memset(&s, 0, sizeof s);
    s.cases[0] = LEASH_RECV_CASE(a, &s.vals[0]);
    s.cases[1] = LEASH_RECV_CASE(NULL, &s.vals[1]);
    s.vals[2] = 17;
    s.cases[2] = LEASH_SEND_CASE(b, &s.vals[2]);
    s.n = 3;
    g = park_select(&s);
    cr_assert_eq(g->state, LEASH_G_WAITING);
    cr_assert_eq(g->wait, LEASH_WAIT_SELECT);
    cr_assert_eq(g->wait_kind, LEASH_PRIM_CHAN);
    cr_assert_eq(g->nwait_prims, 2, "nil cases are not waited on");
    cr_assert_eq(g->wait_prims[0], a);
    cr_assert_eq(g->wait_prims[1], b);

    cr_assert(leash_chan_recv(b, &v));
    cr_assert_eq(v, 17);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.result, 2);
    cr_assert_null(a->recvq.head);
}

Test(select, empty_select_blocks_forever)
{
    struct sel s;
    leash__g_t *g;

    memset(&s, 0, sizeof s);
    s.n = 0;
    g = park_select(&s);
    cr_assert_eq(g->wait, LEASH_WAIT_SELECT_NO_CASES);
    cr_assert_eq(g->nwait_prims, 0);
    cr_assert_eq(s.done, 0);
}

Test(select, all_nil_select_blocks_forever)
{
    struct sel s;
    leash__g_t *g;

    memset(&s, 0, sizeof s);
    s.cases[0] = LEASH_RECV_CASE(NULL, &s.vals[0]);
    s.cases[1] = LEASH_SEND_CASE(NULL, &s.vals[1]);
    s.n = 2;
    g = park_select(&s);
    cr_assert_eq(g->wait, LEASH_WAIT_SELECT);
    cr_assert_eq(g->nwait_prims, 0);
    cr_assert_eq(s.done, 0);
}

/* ---- Nil channels ------------------------------------------------ */

Test(select, nil_channel_cases_never_chosen)
{
    leash_chan_t *c = chan64(0);
    int64_t v = 0, out = 1;
    leash_case_t cs[4] = {
        LEASH_RECV_CASE(NULL, &v),
        LEASH_SEND_CASE(NULL, &out),
        LEASH_RECV_CASE(c, &v),
        LEASH_RECV_CASE(NULL, &v),
    };
    int i;

    leash_chan_close(c);
    for (i = 0; i < 1000; i++)
        cr_assert_eq(leash_select(cs, 4, false), 2);
    cr_assert_eq(leash_select(cs, 2, true), -1);
}

/* ---- Fairness ---------------------------------------------------- */

Test(select, two_ready_cases_chosen_uniformly)
{
    enum { N = 10000 };
    leash_chan_t *a = chan64(0), *b = chan64(0);
    leash_case_t cs[2] = { LEASH_RECV_CASE(a, NULL),
                           LEASH_RECV_CASE(b, NULL) };
    int count[2] = { 0, 0 }, i, r;

    leash_chan_close(a);
    leash_chan_close(b);
    for (i = 0; i < N; i++) {
        r = leash_select(cs, 2, false);
        cr_assert(r == 0 || r == 1, "select returned %d", r);
        count[r]++;
    }
    cr_assert_eq(count[0] + count[1], N);
    cr_assert(count[0] >= N * 4 / 10 && count[0] <= N * 6 / 10,
              "case 0 chosen %d of %d times", count[0], N);
}

Test(select, ready_send_and_recv_chosen_uniformly)
{
    enum { N = 10000 };
    leash_chan_t *in = chan64(1), *out = chan64(N + 1);
    int64_t v = 0, w = 3;
    leash_case_t cs[2] = { LEASH_RECV_CASE(in, &v),
                           LEASH_SEND_CASE(out, &w) };
    int count[2] = { 0, 0 }, i, r;

    for (i = 0; i < N; i++) {
        if (leash_chan_len(in) == 0)
            send64(in, i);
        r = leash_select(cs, 2, true);
        cr_assert(r == 0 || r == 1, "select returned %d", r);
        count[r]++;
    }
    cr_assert_eq(leash_chan_len(out), (size_t)count[1]);
    cr_assert(count[0] >= N * 4 / 10 && count[0] <= N * 6 / 10,
              "recv chosen %d of %d times", count[0], N);
}

/* ---- Closed channels --------------------------------------------- */

Test(select, recv_case_on_closed_channel_reports_not_ok)
{
    leash_chan_t *c = chan64(2);
    int64_t v = -1;
    leash_case_t cs[1] = { LEASH_RECV_CASE(c, &v) };

    send64(c, 12);
    leash_chan_close(c);
    cr_assert_eq(leash_select(cs, 1, false), 0);
    cr_assert(cs[0].ok, "a buffered value reported not ok");
    cr_assert_eq(v, 12);
    v = -1;
    cr_assert_eq(leash_select(cs, 1, true), 0);
    cr_assert_not(cs[0].ok);
    cr_assert_eq(v, 0);
}

static void close_later(void *arg)
{
    leash_chan_close(arg);
}

Test(select, blocked_recv_case_woken_by_close)
{
    leash_chan_t *a = chan64(0), *b = chan64(0);
    int64_t va = -1, vb = -1;
    leash_case_t cs[2] = { LEASH_RECV_CASE(a, &va), LEASH_RECV_CASE(b, &vb) };

    cs[1].ok = true;
    leash_go(close_later, b);
    cr_assert_eq(leash_select(cs, 2, false), 1);
    cr_assert_not(cs[1].ok);
    cr_assert_eq(vb, 0);
    cr_assert_eq(va, -1);
    cr_assert_null(a->recvq.head);
}

/* ---- Stale waiters ----------------------------------------------- */

/*
 * A select blocked on a and b is woken through a. Before it runs again, a
 * sender on b finds its stale waiter: the value must not go to the select,
 * and the sender must block instead.
 */
Test(select, stale_waiter_not_used_by_later_sender)
{
    leash_chan_t *a = chan64(0), *b = chan64(0);
    struct op sa = make_op(a, 1), sb = make_op(b, 2);
    int64_t va = -1, vb = -1, v;
    leash_case_t cs[2] = { LEASH_RECV_CASE(a, &va), LEASH_RECV_CASE(b, &vb) };
    int64_t idb;

    leash_go(do_send, &sa);
    idb = leash_go(do_send, &sb);
    /* Parks with both waiters queued; sa wakes it through a, then sb runs
     * before the select resumes. */
    cr_assert_eq(leash_select(cs, 2, false), 0);
    cr_assert_eq(va, 1);
    cr_assert_eq(vb, -1, "a stale select waiter received a value");
    cr_assert_eq(sb.done, 0);
    cr_assert_eq(find_g(idb)->wait, LEASH_WAIT_CHAN_SEND);
    cr_assert(leash_chan_recv(b, &v));
    cr_assert_eq(v, 2);
    cr_assert_eq(leash_settle(0), 0);
}

/*
 * The stale waiter is popped by a sender that buffers its value; a
 * receiver drains it and another receiver then queues on b. When the
 * select resumes and dequeues its stale waiter, the queue of b must keep
 * the receiver that is really waiting.
 */
Test(select, dequeue_of_stale_waiter_keeps_other_waiters)
{
    leash_chan_t *a = chan64(0), *b = chan64(1);
    struct op sa = make_op(a, 1), sb = make_op(b, 2);
    struct op r1 = make_op(b, -1), r2 = make_op(b, -1);
    int64_t va = -1, vb = -1;
    leash_case_t cs[2] = { LEASH_RECV_CASE(a, &va), LEASH_RECV_CASE(b, &vb) };
    int64_t id2;

    leash_go(do_send, &sa);   /* wakes the select through a */
    leash_go(do_send, &sb);   /* pops the stale waiter, buffers 2 */
    leash_go(do_recv, &r1);   /* takes 2 from the buffer */
    id2 = leash_go(do_recv, &r2); /* queues on b's recvq */
    cr_assert_eq(leash_select(cs, 2, false), 0);
    cr_assert_eq(va, 1);
    cr_assert_eq(vb, -1);
    cr_assert_eq(sb.done, 1);
    cr_assert_eq(r1.done, 1);
    cr_assert_eq(r1.value, 2);
    cr_assert_eq(r2.done, 0);
    cr_assert_eq(find_g(id2)->wait, LEASH_WAIT_CHAN_RECV);
    cr_assert_not_null(b->recvq.head,
                       "the select's cleanup unlinked a live receiver "
                       "from b's wait queue");

    /* The receiver must get this value. */
    send64(b, 3);
    cr_assert_eq(leash_settle(0), 0, "the receiver on b was lost");
    cr_assert_eq(r2.value, 3);
    cr_assert_eq(leash_chan_len(b), 0);
}

/* Two selects in turn on the same channels leave no waiter behind. */
Test(select, repeated_blocking_selects_leave_no_waiters)
{
    leash_chan_t *a = chan64(0), *b = chan64(0);
    struct op s = make_op(NULL, 0);
    int64_t va, vb;
    leash_case_t cs[2] = { LEASH_RECV_CASE(a, &va), LEASH_RECV_CASE(b, &vb) };
    int i, r;

    for (i = 0; i < 100; i++) {
        s.c = i % 2 ? a : b;
        s.value = i;
        s.done = 0;
        leash_go(do_send, &s);
        r = leash_select(cs, 2, false);
        cr_assert_eq(r, i % 2 ? 0 : 1);
        cr_assert_eq(r == 0 ? va : vb, i);
        cr_assert_eq(leash_settle(0), 0);
        cr_assert_null(a->recvq.head);
        cr_assert_null(b->recvq.head);
        cr_assert_null(a->recvq.tail);
        cr_assert_null(b->recvq.tail);
    }
}

/* ---- Send cases that block --------------------------------------- */

Test(select, blocked_send_case_completes_with_receiver)
{
    leash_chan_t *a = chan64(0), *b = chan64(0);
    int64_t x = 100, y = 200;
    leash_case_t cs[2] = { LEASH_SEND_CASE(a, &x), LEASH_SEND_CASE(b, &y) };
    struct op r = make_op(b, -1);

    leash_go(do_recv, &r);
    cr_assert_eq(leash_select(cs, 2, false), 1);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(r.ok, 1);
    cr_assert_eq(r.value, 200);
    cr_assert_null(a->sendq.head);
}

/* ---- Panics ------------------------------------------------------ */

/* Run body in a child: it must panic on a send to a closed channel in
 * goroutine 1, with frame in the dump. */
static void expect_send_on_closed(void (*body)(void), const char *frame)
{
    struct child_result r;

    child_run(body, &r);
    assert_child_aborted(&r);
    cr_assert(child_line_is(&r, 0, "panic: send on closed channel"),
              "stderr:\n%s", r.err);
    cr_assert(child_find_line(&r, 0, "goroutine 1 [running]:") >= 0,
              "stderr:\n%s", r.err);
    cr_assert(child_find_line(&r, 0, frame) >= 0, "stderr:\n%s", r.err);
    child_free(&r);
}

static KEEP void select_send_on_closed_body(void)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 1);
    int v = 1;
    leash_case_t cs[1] = { LEASH_SEND_CASE(c, &v) };

    leash_chan_close(c);
    leash_select(cs, 1, true);
    NO_TAIL();
}

Test(select, send_case_on_closed_channel_panics)
{
    expect_send_on_closed(select_send_on_closed_body,
                          "select_send_on_closed_body(...)");
}

static KEEP void select_send_woken_by_close_body(void)
{
    leash_chan_t *a = leash_chan_make(sizeof(int), 0);
    leash_chan_t *b = leash_chan_make(sizeof(int), 0);
    int v = 1, w = 0;
    leash_case_t cs[2] = { LEASH_RECV_CASE(a, &w), LEASH_SEND_CASE(b, &v) };

    leash_go(close_later, b);
    leash_select(cs, 2, false);
    NO_TAIL();
}

Test(select, blocked_send_case_woken_by_close_panics)
{
    expect_send_on_closed(select_send_woken_by_close_body,
                          "select_send_woken_by_close_body(...)");
}

/* ---- A select over more channels than fit on its stack ------------ */

enum { MANY = 1000 };

static leash_chan_t *many_chans[MANY];
static int many_won = -1;
static long many_value;

static void select_over_many(void *unused)
{
    leash_case_t *cs = leash_alloc(MANY * sizeof *cs);
    int i;

    for (i = 0; i < MANY; i++)
        cs[i] = LEASH_RECV_CASE(many_chans[i], &many_value);
    many_won = leash_select(cs, MANY, false);
}

Test(select, thousand_cases)
{
    long v = 77;
    int i;

    for (i = 0; i < MANY; i++)
        many_chans[i] = leash_chan_make(sizeof(long), 0);
    leash_go(select_over_many, NULL);
    leash_settle(0);
    cr_assert_eq(many_won, -1);
    leash_chan_send(many_chans[777], &v);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(many_won, 777);
    cr_assert_eq(many_value, 77);
    for (i = 0; i < MANY; i++)
        cr_assert_null(many_chans[i]->recvq.head, "channel %d", i);
}
