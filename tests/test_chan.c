/*
 * Tests of channels (runtime/chan.c): handoff, buffering, close, zero-size
 * elements, FIFO order of waiters, many senders and receivers, the wait
 * reasons of blocked goroutines and the creation site of a channel.
 *
 * Goroutines other than the test body never assert; they record what they
 * saw and the body asserts.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <leash/leash.h>
#include <stdint.h>
#include <string.h>

#include "chan.h"
#include "internal.h"
#include "trace.h"
#include "util.h"

/* ---- Making channels --------------------------------------------- */

Test(chan, make_len_cap)
{
    leash_chan_t *u = leash_chan_make(sizeof(int), 0);
    leash_chan_t *b = leash_chan_make(sizeof(int), 7);

    cr_assert_not_null(u);
    cr_assert_not_null(b);
    cr_assert_eq(leash_chan_len(u), 0);
    cr_assert_eq(leash_chan_cap(u), 0);
    cr_assert_eq(leash_chan_len(b), 0);
    cr_assert_eq(leash_chan_cap(b), 7);
    cr_assert_eq(leash_chan_len(NULL), 0);
    cr_assert_eq(leash_chan_cap(NULL), 0);
    cr_assert_eq(u->elemsize, sizeof(int));
    cr_assert_not(u->closed);
}

Test(chan, make_rejects_overflowing_sizes)
{
    errno = 0;
    cr_assert_null(leash_chan_make(SIZE_MAX / 2, 4));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(leash_chan_make(8, SIZE_MAX / 4));
    cr_assert_eq(errno, EINVAL);
}

/* ---- Unbuffered -------------------------------------------------- */

Test(chan, unbuffered_receiver_waits_for_sender)
{
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 0);
    struct op r = make_op(c, 0);
    int64_t id = leash_go(do_recv, &r), v = 1234;

    leash_yield();
    cr_assert_eq(r.done, 0);
    assert_parked(id, LEASH_WAIT_CHAN_RECV, LEASH_PRIM_CHAN, c);

    leash_chan_send(c, &v);
    v = 0;          /* the value was copied at the send */
    cr_assert_eq(r.done, 0, "the receiver ran before the sender yielded");
    leash_yield();
    cr_assert_eq(r.done, 1);
    cr_assert_eq(r.ok, 1);
    cr_assert_eq(r.value, 1234);
    cr_assert_eq(leash_chan_len(c), 0);
    cr_assert_null(c->recvq.head);
}

Test(chan, unbuffered_send_blocks_until_receiver_arrives)
{
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 0);
    struct op s = make_op(c, 77);
    int64_t id = leash_go(do_send, &s), v = 0;
    int i;

    for (i = 0; i < 5; i++)
        leash_yield();
    cr_assert_eq(s.done, 0, "an unbuffered send completed alone");
    assert_parked(id, LEASH_WAIT_CHAN_SEND, LEASH_PRIM_CHAN, c);
    cr_assert_eq(leash_chan_len(c), 0);

    cr_assert(leash_chan_recv(c, &v));
    cr_assert_eq(v, 77);
    leash_yield();
    cr_assert_eq(s.done, 1);
    cr_assert_null(find_g(id));
    cr_assert_null(c->sendq.head);
}

Test(chan, body_blocks_on_recv_until_goroutine_sends)
{
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 0);
    struct op s = make_op(c, -9);
    int64_t v = 0;

    leash_go(do_send, &s);
    cr_assert(leash_chan_recv(c, &v));
    cr_assert_eq(v, -9);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.done, 1);
}

/* Large elements are copied whole. */
struct big {
    uint64_t w[32];
};

static void send_big(void *arg)
{
    leash_chan_t *c = arg;
    struct big b;
    int i;

    for (i = 0; i < 32; i++)
        b.w[i] = 0x1000 + (uint64_t)i;
    leash_chan_send(c, &b);
    memset(&b, 0, sizeof b);
}

Test(chan, large_elements_copied_exactly)
{
    leash_chan_t *u = leash_chan_make(sizeof(struct big), 0);
    leash_chan_t *b = leash_chan_make(sizeof(struct big), 2);
    struct big got;
    int i;

    leash_go(send_big, u);
    memset(&got, 0xee, sizeof got);
    cr_assert(leash_chan_recv(u, &got));
    for (i = 0; i < 32; i++)
        cr_assert_eq(got.w[i], 0x1000 + (uint64_t)i);

    leash_go(send_big, b);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(leash_chan_len(b), 1);
    memset(&got, 0xee, sizeof got);
    cr_assert(leash_chan_recv(b, &got));
    for (i = 0; i < 32; i++)
        cr_assert_eq(got.w[i], 0x1000 + (uint64_t)i);
}

Test(chan, recv_with_null_discards)
{
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 2);
    int64_t v = 5;

    leash_chan_send(c, &v);
    v = 6;
    leash_chan_send(c, &v);
    cr_assert(leash_chan_recv(c, NULL));
    cr_assert(leash_chan_recv(c, &v));
    cr_assert_eq(v, 6);
}

/* ---- Buffered ---------------------------------------------------- */

Test(chan, buffered_fifo_and_len)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 5);
    int i, v;

    for (i = 0; i < 5; i++) {
        v = 100 + i;
        leash_chan_send(c, &v);
        cr_assert_eq(leash_chan_len(c), (size_t)i + 1);
    }
    cr_assert_eq(leash_chan_cap(c), 5);
    for (i = 0; i < 5; i++) {
        v = -1;
        cr_assert(leash_chan_recv(c, &v));
        cr_assert_eq(v, 100 + i, "receive %d got %d", i, v);
        cr_assert_eq(leash_chan_len(c), 4 - (size_t)i);
    }
}

/* The ring wraps around many times and keeps order. */
Test(chan, buffered_ring_wraps)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 3);
    int next_send = 0, next_recv = 0, round, k, v;

    for (round = 0; round < 50; round++) {
        int nsend = 1 + round % 3;
        int nrecv = 1 + (round * 7) % 3;

        for (k = 0; k < nsend && leash_chan_len(c) < 3; k++) {
            v = next_send++;
            leash_chan_send(c, &v);
        }
        for (k = 0; k < nrecv && leash_chan_len(c) > 0; k++) {
            cr_assert(leash_chan_recv(c, &v));
            cr_assert_eq(v, next_recv, "got %d, want %d", v, next_recv);
            next_recv++;
        }
        cr_assert_eq(leash_chan_len(c), (size_t)(next_send - next_recv));
    }
    cr_assert_gt(next_send, 30);
}

/* A sender blocked on a full buffer: a receive takes the head and moves
 * the sender's value into the buffer, so order is preserved. */
Test(chan, full_buffer_blocks_sender_then_keeps_order)
{
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 2);
    struct op s = make_op(c, 3);
    int64_t v, id;

    v = 1;
    leash_chan_send(c, &v);
    v = 2;
    leash_chan_send(c, &v);
    id = leash_go(do_send, &s);
    leash_yield();
    cr_assert_eq(s.done, 0);
    assert_parked(id, LEASH_WAIT_CHAN_SEND, LEASH_PRIM_CHAN, c);

    cr_assert(leash_chan_recv(c, &v));
    cr_assert_eq(v, 1);
    cr_assert_eq(leash_chan_len(c), 2, "the sender's value is buffered");
    cr_assert_eq(find_g(id)->state, LEASH_G_RUNNABLE);
    leash_yield();
    cr_assert_eq(s.done, 1);
    cr_assert(leash_chan_recv(c, &v));
    cr_assert_eq(v, 2);
    cr_assert(leash_chan_recv(c, &v));
    cr_assert_eq(v, 3);
    cr_assert_eq(leash_chan_len(c), 0);
}

Test(chan, buffered_send_does_not_block_until_full)
{
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 3);
    struct op s[4];
    int i;

    for (i = 0; i < 4; i++) {
        s[i] = make_op(c, i);
        leash_go(do_send, &s[i]);
    }
    cr_assert_eq(leash_settle(0), 1);
    cr_assert_eq(s[0].done + s[1].done + s[2].done, 3);
    cr_assert_eq(s[3].done, 0);
    cr_assert_eq(leash_chan_len(c), 3);
}

/* ---- Zero-size elements ------------------------------------------ */

static void send_nothing(void *arg)
{
    leash_chan_send(arg, NULL);
}

Test(chan, elemsize_zero)
{
    leash_chan_t *b = leash_chan_make(0, 3);
    leash_chan_t *u = leash_chan_make(0, 0);
    int64_t guard = 0x55;

    cr_assert_not_null(b);
    leash_chan_send(b, NULL);
    leash_chan_send(b, &guard);
    cr_assert_eq(leash_chan_len(b), 2);
    cr_assert_eq(leash_chan_cap(b), 3);
    cr_assert(leash_chan_recv(b, NULL));
    cr_assert(leash_chan_recv(b, &guard));
    cr_assert_eq(guard, 0x55, "a zero-size receive wrote memory");
    cr_assert_eq(leash_chan_len(b), 0);

    leash_go(send_nothing, u);
    cr_assert(leash_chan_recv(u, &guard));
    cr_assert_eq(guard, 0x55);
    leash_chan_close(u);
    cr_assert_not(leash_chan_recv(u, &guard));
    cr_assert_eq(guard, 0x55);
    cr_assert_eq(leash_settle(0), 0);
}

/* ---- Close ------------------------------------------------------- */

Test(chan, close_wakes_all_receivers)
{
    enum { N = 6 };
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 0);
    struct op r[N];
    int64_t ids[N];
    int i;

    for (i = 0; i < N; i++) {
        r[i] = make_op(c, 0x7777);
        ids[i] = leash_go(do_recv, &r[i]);
    }
    cr_assert_eq(leash_settle(0), N);
    for (i = 0; i < N; i++)
        assert_parked(ids[i], LEASH_WAIT_CHAN_RECV, LEASH_PRIM_CHAN, c);
    leash_chan_close(c);
    cr_assert(c->closed);
    cr_assert_null(c->recvq.head);
    cr_assert_eq(leash_settle(0), 0);
    for (i = 0; i < N; i++) {
        cr_assert_eq(r[i].done, 1);
        cr_assert_eq(r[i].ok, 0, "receiver %d got ok", i);
        cr_assert_eq(r[i].value, 0, "receiver %d element not zeroed", i);
    }
}

Test(chan, closed_channel_drains_buffer_first)
{
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 4);
    int64_t v;
    int i;

    for (i = 1; i <= 3; i++) {
        v = i * 11;
        leash_chan_send(c, &v);
    }
    leash_chan_close(c);
    cr_assert_eq(leash_chan_len(c), 3);
    for (i = 1; i <= 3; i++) {
        v = -1;
        cr_assert(leash_chan_recv(c, &v), "value %d lost at close", i);
        cr_assert_eq(v, i * 11);
    }
    for (i = 0; i < 3; i++) {
        v = -1;
        cr_assert_not(leash_chan_recv(c, &v));
        cr_assert_eq(v, 0);
    }
    cr_assert_eq(leash_chan_len(c), 0);
    cr_assert_eq(leash_chan_cap(c), 4);
}

Test(chan, recv_on_closed_unbuffered_returns_at_once)
{
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 0);
    int64_t v = 99;

    leash_chan_close(c);
    cr_assert_not(leash_chan_recv(c, &v));
    cr_assert_eq(v, 0);
    cr_assert_not(leash_chan_recv(c, NULL));
}

/* ---- Order of waiters -------------------------------------------- */

Test(chan, blocked_receivers_served_in_arrival_order)
{
    enum { N = 5 };
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 0);
    struct op r[N];
    int i, clock = 0;
    int64_t v;

    for (i = 0; i < N; i++) {
        r[i] = make_op(c, -1);
        r[i].clock = &clock;
        leash_go(do_recv, &r[i]);
    }
    cr_assert_eq(leash_settle(0), N);
    for (i = 0; i < N; i++) {
        v = 1000 + i;
        leash_chan_send(c, &v);
    }
    cr_assert_eq(leash_settle(0), 0);
    for (i = 0; i < N; i++) {
        cr_assert_eq(r[i].value, 1000 + i, "receiver %d got %lld", i,
                     (long long)r[i].value);
        cr_assert_eq(r[i].order, i);
    }
}

Test(chan, blocked_senders_served_in_arrival_order)
{
    enum { N = 5 };
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 0);
    struct op s[N];
    int i;
    int64_t v;

    for (i = 0; i < N; i++) {
        s[i] = make_op(c, 500 + i);
        leash_go(do_send, &s[i]);
    }
    cr_assert_eq(leash_settle(0), N);
    for (i = 0; i < N; i++) {
        cr_assert(leash_chan_recv(c, &v));
        cr_assert_eq(v, 500 + i);
    }
    cr_assert_eq(leash_settle(0), 0);
}

/* ---- Many senders and receivers ---------------------------------- */

#define MS_SENDERS 40
#define MS_RECEIVERS 30
#define MS_PER_SENDER 100
#define MS_TOTAL (MS_SENDERS * MS_PER_SENDER)

struct ms {
    leash_chan_t *c;
    int seen[MS_TOTAL];
    int received;
    int bad;
    int senders_left;
};

struct ms_sender {
    struct ms *m;
    int index;
};

static void ms_send(void *arg)
{
    struct ms_sender *s = arg;
    int k;

    for (k = 0; k < MS_PER_SENDER; k++) {
        int64_t v = (int64_t)s->index * MS_PER_SENDER + k;

        leash_chan_send(s->m->c, &v);
        if (k % 7 == s->index % 7)
            leash_yield();
    }
    if (--s->m->senders_left == 0)
        leash_chan_close(s->m->c);
}

static void ms_recv(void *arg)
{
    struct ms *m = arg;
    int64_t v;

    while (leash_chan_recv(m->c, &v)) {
        if (v < 0 || v >= MS_TOTAL)
            m->bad++;
        else
            m->seen[v]++;
        m->received++;
        if (v % 5 == 0)
            leash_yield();
    }
}

static void many_senders_receivers(size_t cap)
{
    static struct ms m;
    static struct ms_sender s[MS_SENDERS];
    int i;

    memset(&m, 0, sizeof m);
    m.c = leash_chan_make(sizeof(int64_t), cap);
    m.senders_left = MS_SENDERS;
    for (i = 0; i < MS_RECEIVERS; i++)
        leash_go(ms_recv, &m);
    for (i = 0; i < MS_SENDERS; i++) {
        s[i].m = &m;
        s[i].index = i;
        leash_go(ms_send, &s[i]);
    }
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(m.bad, 0);
    cr_assert_eq(m.received, MS_TOTAL);
    for (i = 0; i < MS_TOTAL; i++)
        cr_assert_eq(m.seen[i], 1, "value %d received %d times", i,
                     m.seen[i]);
}

Test(chan, many_senders_receivers_unbuffered)
{
    many_senders_receivers(0);
}

Test(chan, many_senders_receivers_buffered)
{
    many_senders_receivers(8);
}

/* ---- Wait reasons and sites -------------------------------------- */

Test(chan, nil_channel_blocks_forever)
{
    struct op r = make_op(NULL, 0), s = make_op(NULL, 1);
    int64_t rid = leash_go(do_recv, &r);
    int64_t sid = leash_go(do_send, &s);

    cr_assert_eq(leash_settle(0), 2);
    cr_assert_eq(r.done + s.done, 0);
    assert_parked(rid, LEASH_WAIT_CHAN_RECV_NIL, LEASH_PRIM_CHAN, NULL);
    assert_parked(sid, LEASH_WAIT_CHAN_SEND_NIL, LEASH_PRIM_CHAN, NULL);
    cr_assert(leash__wait_is_candidate(find_g(rid)->wait));
}

Test(chan, woken_goroutine_clears_wait)
{
    leash_chan_t *c = leash_chan_make(sizeof(int64_t), 0);
    struct op r = make_op(c, 0);
    int64_t id = leash_go(do_recv, &r), v = 1;
    leash__g_t *g;

    leash_yield();
    g = find_g(id);
    cr_assert_eq(g->wait, LEASH_WAIT_CHAN_RECV);
    leash_chan_send(c, &v);
    cr_assert_eq(g->state, LEASH_G_RUNNABLE);
    cr_assert_eq(g->wait, LEASH_WAIT_NONE);
    cr_assert_eq(g->nwait_prims, 0);
    cr_assert_eq(leash_settle(0), 0);
}

static KEEP leash_chan_t *make_chan_here(int *line)
{
    leash_chan_t *c;

    *line = __LINE__ + 1;
    c = leash_chan_make(sizeof(int), 1);
    NO_TAIL();
    return c;
}

Test(chan, site_is_the_call_site)
{
    leash__frame_t f;
    int line = 0;
    leash_chan_t *c = make_chan_here(&line);

    cr_assert_neq(c->site, 0);
    leash__symbolize(c->site, true, &f);
    cr_assert_str_eq(f.func, "make_chan_here");
    cr_assert_eq(f.line, line);
    cr_assert_not_null(f.file);
    cr_assert(strstr(f.file, "test_chan.c") != NULL, "file %s", f.file);
}
