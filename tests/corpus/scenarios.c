/*
 * The leak corpus: each scenario is a small program with a known leak set.
 * tests/corpus/SCENARIOS.md is the list the Go twins follow; each scenario
 * here repeats its reasoning where the code is.
 *
 * How the scheduler orders things, which the exact counts rest on: one
 * thread, a FIFO run queue; leash_go appends and does not switch; a
 * goroutine runs until it blocks, yields or returns; a send to a waiting
 * receiver (or a receive from a waiting sender) completes at once and
 * appends the partner to the run queue.
 *
 * Memory the scenarios share between goroutines is collected memory
 * (leash_alloc) unless the scenario is about malloc; nothing but the
 * goroutines' own stacks refers to it, unless a global is the point. Entry
 * functions are not static-inlined away: leash_go takes their address, so
 * each keeps its symbol, which is the name the report gives.
 */
#define _GNU_SOURCE
#include "scenarios.h"

#include <leash/leash.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR (3600 * LEASH_SECOND)

/* ---- Helpers ----------------------------------------------------- */

static void die(const char *what)
{
    fprintf(stderr, "corpus: %s failed\n", what);
    abort();
}

static leash_chan_t *mkchan(size_t elemsize, size_t cap)
{
    leash_chan_t *c = leash_chan_make(elemsize, cap);

    if (c == NULL)
        die("leash_chan_make");
    return c;
}

static void *xalloc(size_t size)
{
    void *p = leash_alloc(size);

    if (p == NULL)
        die("leash_alloc");
    return p;
}

static void spawn(void (*fn)(void *), void *arg)
{
    if (leash_go(fn, arg) < 0)
        die("leash_go");
}

static void send_int(leash_chan_t *c, int v)
{
    leash_chan_send(c, &v);
}

/* ---- Micro ------------------------------------------------------- */

/* 1: a receive from a nil channel never completes, by definition. */
static void s01_child(void *arg)
{
    int v;

    leash_chan_recv(NULL, &v);
}

static void scenario_1(void)
{
    spawn(s01_child, NULL);
}

/* 2: a send on a nil channel never completes, by definition. */
static void s02_child(void *arg)
{
    send_int(NULL, 1);
}

static void scenario_2(void)
{
    spawn(s02_child, NULL);
}

/* 3: select {} never completes, by definition. */
static void s03_child(void *arg)
{
    leash_select(NULL, 0, false);
}

static void scenario_3(void)
{
    spawn(s03_child, NULL);
}

/* 4: the channel is the child's argument, and goroutine 1 drops it: only
 * the blocked child's stack refers to it. */
static void s04_child(void *arg)
{
    leash_chan_recv(arg, NULL);
}

static void scenario_4(void)
{
    spawn(s04_child, mkchan(sizeof(int), 0));
}

/* 5: as 4, sending. */
static void s05_child(void *arg)
{
    send_int(arg, 1);
}

static void scenario_5(void)
{
    spawn(s05_child, mkchan(sizeof(int), 0));
}

/* 6: both channels of the select are reachable only from the child. */
struct s06_pair {
    leash_chan_t *out, *in;
};

static void s06_child(void *arg)
{
    struct s06_pair *p = arg;
    int v = 1, w;
    leash_case_t cases[2] = {
        LEASH_SEND_CASE(p->out, &v),
        LEASH_RECV_CASE(p->in, &w),
    };

    leash_select(cases, 2, false);
}

static void scenario_6(void)
{
    struct s06_pair *p = xalloc(sizeof *p);

    p->out = mkchan(sizeof(int), 0);
    p->in = mkchan(sizeof(int), 0);
    spawn(s06_child, p);
}

/* 7: the counter stays at 1; only the waiter holds the waitgroup. */
static void s07_child(void *arg)
{
    leash_waitgroup_wait(arg);
}

static void scenario_7(void)
{
    leash_waitgroup_t *wg = xalloc(sizeof *wg);

    leash_waitgroup_add(wg, 1);
    spawn(s07_child, wg);
}

/*
 * 8: the mutex lives on the child's own stack; the second lock waits on
 * memory that only the blocked child could reach. 1000 children, each its
 * own mutex: 1000 leaks.
 *
 * Go's twin often reports one fewer: Go's tiny allocator packs a lone
 * 8-byte mutex into a 16-byte block with one mark bit, so a neighbour that
 * is reachable (or the block being a processor's current tiny block) makes
 * the mutex look reachable. Nothing can unlock it: leash is right
 * (tests/corpus/go/DISAGREEMENTS.md has the evidence).
 */
static void s08_child(void *arg)
{
    leash_mutex_t mu = LEASH_MUTEX_INIT;

    leash_mutex_lock(&mu);
    leash_mutex_lock(&mu);
}

static void scenario_8(void)
{
    int i;

    for (i = 0; i < 1000; i++)
        spawn(s08_child, NULL);
}

/*
 * 9: each parent mallocs a mutex, hands it to its child and returns. The
 * block is referenced only by the child's stack; a malloc'd block is traced
 * like any object, never a root: 1000 children leak, the parents are gone.
 *
 * Go's twin often reports one fewer: Go's tiny allocator packs a lone
 * 8-byte mutex into a 16-byte block with one mark bit, so a neighbour that
 * is reachable (or the block being a processor's current tiny block) makes
 * the mutex look reachable. Nothing can unlock it: leash is right
 * (tests/corpus/go/DISAGREEMENTS.md has the evidence).
 */
static void s09_child(void *arg)
{
    leash_mutex_lock(arg);
    leash_mutex_lock(arg);
}

static void s09_parent(void *arg)
{
    leash_mutex_t *mu = calloc(1, sizeof *mu);

    if (mu == NULL)
        die("calloc");
    spawn(s09_child, mu);
}

static void scenario_9(void)
{
    int i;

    for (i = 0; i < 1000; i++)
        spawn(s09_parent, NULL);
}

/* 10: a read lock while holding the write lock waits for ever. */
static void s10_child(void *arg)
{
    leash_rwmutex_lock(arg);
    leash_rwmutex_rlock(arg);
}

static void scenario_10(void)
{
    spawn(s10_child, xalloc(sizeof(leash_rwmutex_t)));
}

/*
 * 11: the write lock twice. Go's twin finds the same leak but names it
 * "sync.Mutex.Lock": Go's RWMutex.Lock first takes an inner plain mutex,
 * which the second writer blocks on. leash has no inner mutex and names
 * what the goroutine called.
 */
static void s11_child(void *arg)
{
    leash_rwmutex_lock(arg);
    leash_rwmutex_lock(arg);
}

static void scenario_11(void)
{
    spawn(s11_child, xalloc(sizeof(leash_rwmutex_t)));
}

/* 12: nobody else has the cond, so nobody can signal it. */
struct s12_cv {
    leash_mutex_t mu;
    leash_cond_t cond;
};

static void s12_child(void *arg)
{
    struct s12_cv *cv = arg;

    leash_mutex_lock(&cv->mu);
    leash_cond_wait(&cv->cond, &cv->mu);
    leash_mutex_unlock(&cv->mu);
}

static void scenario_12(void)
{
    spawn(s12_child, xalloc(sizeof(struct s12_cv)));
}

/*
 * 13: the parent waits for Done before receiving; the child's Done comes
 * after a send that only the parent's receive could complete. Both are
 * candidates and hold the only references to each other's primitives:
 * both leak.
 */
struct s13_state {
    leash_waitgroup_t wg;
    leash_chan_t *c;
};

static void s13_child(void *arg)
{
    struct s13_state *st = arg;

    send_int(st->c, 1);
    leash_waitgroup_done(&st->wg);
}

static void s13_parent(void *arg)
{
    struct s13_state *st = xalloc(sizeof *st);

    leash_waitgroup_add(&st->wg, 1);
    st->c = mkchan(sizeof(int), 0);
    spawn(s13_child, st);
    leash_waitgroup_wait(&st->wg);
    leash_chan_recv(st->c, NULL);
}

static void scenario_13(void)
{
    spawn(s13_parent, NULL);
}

/* 14, control: a global can still be used to send, so no leak.
 * volatile: the stores must not be optimized away. */
static leash_chan_t *volatile s14_ch;

static void s14_child(void *arg)
{
    leash_chan_recv(s14_ch, NULL);
}

static void scenario_14(void)
{
    s14_ch = mkchan(sizeof(int), 0);
    spawn(s14_child, NULL);
}

/*
 * 15, control: the channel is only in a malloc'd block, which a global
 * points to: reachable, no leak. 15b: the same block referenced only by
 * the blocked child's stack: 1 leak (the block is not a root).
 */
struct s15_box {
    leash_chan_t *c;
};

static struct s15_box *volatile s15_box;

static struct s15_box *s15_new_box(void)
{
    struct s15_box *b = malloc(sizeof *b);

    if (b == NULL)
        die("malloc");
    b->c = mkchan(sizeof(int), 0);
    return b;
}

static void s15_child(void *arg)
{
    struct s15_box *b = arg;

    leash_chan_recv(b->c, NULL);
}

static void scenario_15(void)
{
    s15_box = s15_new_box();
    spawn(s15_child, s15_box);
}

static void s15b_child(void *arg)
{
    struct s15_box *b = arg;

    leash_chan_recv(b->c, NULL);
}

static void scenario_15b(void)
{
    spawn(s15b_child, s15_new_box());
}

/*
 * 16: link i receives from the channel of link i+1, then sends on its own;
 * each channel is held only by the goroutine that will send on it (and the
 * one that waits on it). The chain is live only through s16_last, which
 * sleeps (never a candidate) and then sends: nothing leaks, and proving it
 * takes one pass along the chain.
 */
struct s16_args {
    leash_chan_t *next;  /* the channel this link waits on */
    leash_chan_t *own;   /* the channel the link before waits on */
};

static void s16_link(void *arg)
{
    struct s16_args *a = arg;
    int v = 0;

    leash_chan_recv(a->next, &v);
    leash_chan_send(a->own, &v);
}

static void s16_last(void *arg)
{
    leash_sleep(HOUR);
    send_int(arg, 1);
}

void corpus_daisy_chain(size_t n)
{
    leash_chan_t *c = mkchan(sizeof(int), 0);
    size_t i;

    spawn(s16_last, c);
    for (i = n; i-- > 0;) {
        struct s16_args *a = xalloc(sizeof *a);

        a->next = c;
        /* Link 0 sends into a buffer, so the chain could end cleanly. */
        a->own = c = mkchan(sizeof(int), i == 0 ? 1 : 0);
        spawn(s16_link, a);
    }
    leash_settle(0);
}

static void scenario_16(void)
{
    corpus_daisy_chain(1000);
}

/*
 * 17: levels 0 to 4; a node at level d < 4 starts 5-d nodes, so the levels
 * hold 1, 5, 20, 60, 120 nodes, 206 in all. Each node also starts one
 * s17_stuck on a channel the stuck goroutine makes itself: 206 leaks. The
 * nodes return.
 */
static void s17_stuck(void *arg)
{
    leash_chan_recv(mkchan(sizeof(int), 0), NULL);
}

static void s17_node(void *arg)
{
    intptr_t level = (intptr_t)arg;
    intptr_t i;

    spawn(s17_stuck, NULL);
    if (level < 4)
        for (i = 0; i < 5 - level; i++)
            spawn(s17_node, (void *)(level + 1));
}

static void scenario_17(void)
{
    spawn(s17_node, (void *)(intptr_t)0);
}

/* ---- Common patterns --------------------------------------------- */

/*
 * 18: the producer sends 5 jobs and returns without closing; the 3 workers
 * take them and then wait in their range loop for ever. 18b: with no
 * worker the producer blocks on its first send.
 */
static void s18_worker(void *arg)
{
    int job;

    while (leash_chan_recv(arg, &job))
        ;
}

static void s18_producer(void *arg)
{
    int i;

    for (i = 0; i < 5; i++)
        send_int(arg, i);
    /* The missing close(jobs). */
}

static void scenario_18(void)
{
    leash_chan_t *jobs = mkchan(sizeof(int), 0);
    int i;

    spawn(s18_producer, jobs);
    for (i = 0; i < 3; i++)
        spawn(s18_worker, jobs);
}

static void s18b_producer(void *arg)
{
    int i;

    for (i = 0; i < 5; i++)
        send_int(arg, i);
}

static void scenario_18b(void)
{
    spawn(s18b_producer, mkchan(sizeof(int), 0));
}

/*
 * 19: start returns the component, the caller drops it without stop: the
 * loop's select waits on two channels only the loop's stack refers to.
 */
struct s19_component {
    leash_chan_t *req;
    leash_chan_t *done;
};

static void s19_loop(void *arg)
{
    struct s19_component *c = arg;
    int r;

    for (;;) {
        leash_case_t cases[2] = {
            LEASH_RECV_CASE(c->req, &r),
            LEASH_RECV_CASE(c->done, NULL),
        };

        if (leash_select(cases, 2, false) == 1)
            return;
    }
}

static LEASH_CORPUS_NOINLINE struct s19_component *s19_start(void)
{
    struct s19_component *c = xalloc(sizeof *c);

    c->req = mkchan(sizeof(int), 0);
    c->done = mkchan(0, 0);
    spawn(s19_loop, c);
    return c;
}

static void scenario_19(void)
{
    (void)s19_start();
}

/*
 * 20: goroutine 1 receives once. The worker's first send meets the waiting
 * receiver; the second (the missing return) blocks for ever. 20b: with a
 * buffer of 1 the second send is buffered and the worker returns.
 */
static void s20_worker(void *arg)
{
    send_int(arg, -1);      /* the error */
    send_int(arg, 42);      /* the result, after the missing return */
}

static void scenario_20(void)
{
    leash_chan_t *c = mkchan(sizeof(int), 0);

    spawn(s20_worker, c);
    leash_chan_recv(c, NULL);
}

static void s20b_worker(void *arg)
{
    send_int(arg, -1);
    send_int(arg, 42);
}

static void scenario_20b(void)
{
    leash_chan_t *c = mkchan(sizeof(int), 1);

    spawn(s20b_worker, c);
    leash_chan_recv(c, NULL);
}

/*
 * 21: Go 1.26's release-notes example. Every item fails, so the collector
 * returns after its first receive whatever the order: worker 0 hands its
 * result to the waiting collector, workers 1 to 9 block on send: 9 leaks.
 */
struct s21_result {
    int value;
    int err;
};

struct s21_item {
    leash_chan_t *out;
    int index;
};

static void s21_worker(void *arg)
{
    struct s21_item *it = arg;
    struct s21_result r = { .value = it->index, .err = 1 };

    leash_chan_send(it->out, &r);
}

static LEASH_CORPUS_NOINLINE int s21_process(int n)
{
    leash_chan_t *ch = mkchan(sizeof(struct s21_result), 0);
    struct s21_result r;
    int i;

    for (i = 0; i < n; i++) {
        struct s21_item *it = xalloc(sizeof *it);

        it->out = ch;
        it->index = i;
        spawn(s21_worker, it);
    }
    for (i = 0; i < n; i++) {
        leash_chan_recv(ch, &r);
        if (r.err != 0)
            return -1;
    }
    return 0;
}

static void scenario_21(void)
{
    (void)s21_process(10);
}

/*
 * 22: first response wins. 5 senders, one receive: sender 0 meets the
 * waiting caller, senders 1 to 4 block: 4 leaks; the caller returns. 22b:
 * no items, the caller's receive never completes: 1 leak.
 */
static void s22_sender(void *arg)
{
    send_int(arg, 1);
}

static LEASH_CORPUS_NOINLINE int s22_first(int n)
{
    leash_chan_t *ch = mkchan(sizeof(int), 0);
    int i, v = 0;

    for (i = 0; i < n; i++)
        spawn(s22_sender, ch);
    leash_chan_recv(ch, &v);
    return v;
}

static void s22_caller(void *arg)
{
    (void)s22_first(5);
}

static void scenario_22(void)
{
    spawn(s22_caller, NULL);
}

static void s22b_caller(void *arg)
{
    (void)s22_first(0);
}

static void scenario_22b(void)
{
    spawn(s22b_caller, NULL);
}

/*
 * 23: the worker just started has not run when the caller selects, so
 * only the closed done channel is ready and the select takes it, every
 * one of the 100 calls: 100 workers block on send.
 */
static void s23_worker(void *arg)
{
    send_int(arg, 1);
}

static LEASH_CORPUS_NOINLINE int s23_call(leash_chan_t *done)
{
    leash_chan_t *res = mkchan(sizeof(int), 0);
    int v = 0;
    leash_case_t cases[2] = {
        LEASH_RECV_CASE(res, &v),
        LEASH_RECV_CASE(done, NULL),
    };

    spawn(s23_worker, res);
    return leash_select(cases, 2, false) == 0 ? v : -1;
}

static void scenario_23(void)
{
    leash_chan_t *done = mkchan(0, 0);
    int i;

    leash_chan_close(done);
    for (i = 0; i < 100; i++)
        (void)s23_call(done);
}

/* ---- Kernels of real bugs ---------------------------------------- */

/*
 * 24: the watcher waits on the done channel of a context derived from the
 * background (which keeps no list of children) that is never cancelled;
 * the transaction is dropped: only the watcher's stack holds the context.
 */
struct s24_tx {
    leash_context_t *ctx;
    int state;
};

static void s24_watcher(void *arg)
{
    struct s24_tx *tx = arg;

    leash_chan_recv(leash_context_done(tx->ctx), NULL);
    tx->state = -1;         /* rolled back */
}

static LEASH_CORPUS_NOINLINE struct s24_tx *s24_begin(void)
{
    struct s24_tx *tx = xalloc(sizeof *tx);

    tx->ctx = leash_context_with_cancel(leash_context_background());
    if (tx->ctx == NULL)
        die("leash_context_with_cancel");
    spawn(s24_watcher, tx);
    return tx;
}

static void scenario_24(void)
{
    (void)s24_begin();
}

/*
 * 25: the suggestion buffer holds 1; the second suggestion blocks, and the
 * compactor that would drain it is never started (the caller failed before
 * starting it): 1 leak.
 */
struct s25_store {
    leash_chan_t *suggestions;
};

static void s25_suggester(void *arg)
{
    struct s25_store *st = arg;

    send_int(st->suggestions, 1);
    send_int(st->suggestions, 2);
}

static void scenario_25(void)
{
    struct s25_store *st = xalloc(sizeof *st);

    st->suggestions = mkchan(sizeof(int), 1);
    spawn(s25_suggester, st);
}

/*
 * 26: both producers run first and block on the unbuffered row channel;
 * the consumer then fails its start-up and returns: 2 leaks.
 */
static void s26_producer(void *arg)
{
    int i;

    for (i = 0; i < 3; i++)
        send_int(arg, i);
}

static LEASH_CORPUS_NOINLINE int s26_startup(void)
{
    return -1;
}

static void s26_consumer(void *arg)
{
    int row;

    if (s26_startup() != 0)
        return;             /* neither drains nor closes the rows */
    while (leash_chan_recv(arg, &row))
        ;
}

static void scenario_26(void)
{
    leash_chan_t *rows = mkchan(sizeof(int), 0);

    spawn(s26_producer, rows);
    spawn(s26_producer, rows);
    spawn(s26_consumer, rows);
}

/*
 * 27: the helper returns from its error path still holding a read lock;
 * the writer started after it blocks for ever: 1 leak.
 */
static void s27_helper(void *arg)
{
    leash_rwmutex_rlock(arg);
    /* error path: return without leash_rwmutex_runlock */
}

static void s27_writer(void *arg)
{
    leash_rwmutex_lock(arg);
    leash_rwmutex_unlock(arg);
}

static void scenario_27(void)
{
    leash_rwmutex_t *rw = xalloc(sizeof *rw);

    spawn(s27_helper, rw);
    leash_settle(0);
    spawn(s27_writer, rw);
}

/* 28: a method holding the mutex calls another that locks it. */
struct s28_obj {
    leash_mutex_t mu;
    int n;
};

static LEASH_CORPUS_NOINLINE int s28_len(struct s28_obj *o)
{
    int n;

    leash_mutex_lock(&o->mu);
    n = o->n;
    leash_mutex_unlock(&o->mu);
    return n;
}

static void s28_worker(void *arg)
{
    struct s28_obj *o = arg;

    leash_mutex_lock(&o->mu);
    o->n = s28_len(o) + 1;
    leash_mutex_unlock(&o->mu);
}

static void scenario_28(void)
{
    spawn(s28_worker, xalloc(sizeof(struct s28_obj)));
}

/* 29: the caller returned before the worker reports done: 1 leak. */
static void s29_worker(void *arg)
{
    send_int(arg, 1);
}

static void scenario_29(void)
{
    spawn(s29_worker, mkchan(sizeof(int), 0));
}

/*
 * 30: close marks the stream closed but neither sends nor closes the data
 * channel the reader waits on: 1 leak.
 */
struct s30_stream {
    leash_chan_t *data;
    int closed;
};

static void s30_reader(void *arg)
{
    struct s30_stream *s = arg;
    int v;

    leash_chan_recv(s->data, &v);
}

static LEASH_CORPUS_NOINLINE void s30_close(struct s30_stream *s)
{
    s->closed = 1;          /* the missing leash_chan_close(s->data) */
}

static void scenario_30(void)
{
    struct s30_stream *s = xalloc(sizeof *s);

    s->data = mkchan(sizeof(int), 0);
    spawn(s30_reader, s);
    leash_settle(0);
    s30_close(s);
}

/*
 * 31: the 1 ms timeout fires before the helper's 5 ms of work ends, so the
 * select takes the timeout. Goroutine 1 then lets timers run (up to
 * 100 ms) until the helper is blocked on its send: 1 leak.
 */
static void s31_helper(void *arg)
{
    leash_sleep(5 * LEASH_MILLISECOND);
    send_int(arg, 1);
}

static void scenario_31(void)
{
    leash_chan_t *res = mkchan(sizeof(int), 0);
    int v = 0;
    leash_case_t cases[2] = {
        LEASH_RECV_CASE(res, &v),
        LEASH_RECV_CASE(leash_after(LEASH_MILLISECOND), NULL),
    };

    spawn(s31_helper, res);
    if (leash_select(cases, 2, false) != 1)
        fprintf(stderr, "corpus 31: the result came before the timeout\n");
    leash_settle(100 * LEASH_MILLISECOND);
}

/*
 * 32: the watcher's initial event is a plain send on a result channel no
 * one reads; stop closes only the input channel, which the watcher would
 * read only after that send: 1 leak.
 */
struct s32_watch {
    leash_chan_t *input;
    leash_chan_t *results;
};

static void s32_watcher(void *arg)
{
    struct s32_watch *w = arg;
    int ev;

    send_int(w->results, 0);        /* initial event */
    while (leash_chan_recv(w->input, &ev))
        send_int(w->results, ev);
}

static LEASH_CORPUS_NOINLINE void s32_stop(struct s32_watch *w)
{
    leash_chan_close(w->input);
}

static void scenario_32(void)
{
    struct s32_watch *w = xalloc(sizeof *w);

    w->input = mkchan(sizeof(int), 0);
    w->results = mkchan(sizeof(int), 0);
    spawn(s32_watcher, w);
    leash_settle(0);
    s32_stop(w);
}

/*
 * 33: each proxy has its own mutex; the first iteration takes the error
 * path and continues without unlocking, the second blocks in lock. 20
 * proxies: 20 leaks.
 *
 * Go's twin often reports one fewer: Go's tiny allocator packs a lone
 * 8-byte mutex into a 16-byte block with one mark bit, so a neighbour that
 * is reachable (or the block being a processor's current tiny block) makes
 * the mutex look reachable. Nothing can unlock it: leash is right
 * (tests/corpus/go/DISAGREEMENTS.md has the evidence).
 */
static void s33_proxy(void *arg)
{
    leash_mutex_t *mu = xalloc(sizeof *mu);
    int i;

    for (i = 0; i < 3; i++) {
        leash_mutex_lock(mu);
        if (i == 0)
            continue;       /* error path: the missing unlock */
        leash_mutex_unlock(mu);
    }
}

static void scenario_33(void)
{
    int i;

    for (i = 0; i < 20; i++)
        spawn(s33_proxy, NULL);
}

/*
 * 34: Add(3), then Wait inside the loop that starts the workers: the first
 * Wait needs 3 Dones with 1 worker started. The worker runs, calls Done
 * (counter 2) and returns; run waits for ever: 1 leak.
 */
static void s34_worker(void *arg)
{
    leash_waitgroup_done(arg);
}

static void s34_run(void *arg)
{
    leash_waitgroup_t *wg = xalloc(sizeof *wg);
    int i;

    leash_waitgroup_add(wg, 3);
    for (i = 0; i < 3; i++) {
        spawn(s34_worker, wg);
        leash_waitgroup_wait(wg);
    }
}

static void scenario_34(void)
{
    spawn(s34_run, NULL);
}

/* 35: the writer calls a getter that read-locks the same rwmutex. */
struct s35_cache {
    leash_rwmutex_t rw;
    int v;
};

static LEASH_CORPUS_NOINLINE int s35_get(struct s35_cache *c)
{
    int v;

    leash_rwmutex_rlock(&c->rw);
    v = c->v;
    leash_rwmutex_runlock(&c->rw);
    return v;
}

static void s35_worker(void *arg)
{
    struct s35_cache *c = arg;

    leash_rwmutex_lock(&c->rw);
    c->v = s35_get(c) + 1;
    leash_rwmutex_unlock(&c->rw);
}

static void scenario_35(void)
{
    spawn(s35_worker, xalloc(sizeof(struct s35_cache)));
}

/* ---- Our additions ----------------------------------------------- */

/*
 * 36: stopping a timer does not close its channel. The timer is stopped
 * before the waiter runs, so no pending timer refers to the channel; only
 * the waiter's stack does: 1 leak.
 */
static void s36_waiter(void *arg)
{
    int64_t when;

    leash_chan_recv(leash_timer_chan(arg), &when);
}

static void scenario_36(void)
{
    leash_timer_t *t = leash_timer_new(HOUR);

    if (t == NULL)
        die("leash_timer_new");
    spawn(s36_waiter, t);
    leash_timer_stop(t);
}

/*
 * 37: parent and child contexts, neither cancelled. The parent lists the
 * child, the child points to its parent, and only the monitor's stack
 * points to either (the parent of the parent is the background, which
 * keeps no list): 1 leak, in a select.
 */
struct s37_monitor {
    leash_context_t *ctx;
    leash_chan_t *updates;
};

static void s37_monitor(void *arg)
{
    struct s37_monitor *m = arg;
    int u;

    for (;;) {
        leash_case_t cases[2] = {
            LEASH_RECV_CASE(leash_context_done(m->ctx), NULL),
            LEASH_RECV_CASE(m->updates, &u),
        };

        if (leash_select(cases, 2, false) == 0)
            return;
    }
}

static void scenario_37(void)
{
    struct s37_monitor *m = xalloc(sizeof *m);
    leash_context_t *parent;

    parent = leash_context_with_cancel(leash_context_background());
    if (parent == NULL)
        die("leash_context_with_cancel");
    m->ctx = leash_context_with_cancel(parent);
    if (m->ctx == NULL)
        die("leash_context_with_cancel");
    m->updates = mkchan(sizeof(int), 0);
    spawn(s37_monitor, m);
}

/*
 * 38: gen -> square -> goroutine 1, which reads one value and returns.
 * Ten values, two unbuffered hops: square ends holding a value it cannot
 * send, gen a value it cannot send, whatever the order: 2 leaks.
 */
struct s38_stage {
    leash_chan_t *in, *out;
};

static void s38_gen(void *arg)
{
    int i;

    for (i = 1; i <= 10; i++)
        send_int(arg, i);
    leash_chan_close(arg);
}

static void s38_square(void *arg)
{
    struct s38_stage *s = arg;
    int v;

    while (leash_chan_recv(s->in, &v))
        send_int(s->out, v * v);
    leash_chan_close(s->out);
}

static void scenario_38(void)
{
    struct s38_stage *s = xalloc(sizeof *s);

    s->in = mkchan(sizeof(int), 0);
    s->out = mkchan(sizeof(int), 0);
    spawn(s38_gen, s->in);
    spawn(s38_square, s);
    leash_chan_recv(s->out, NULL);
}

/*
 * 39: 10 jobs queued (buffer 10) and closed, 2 results taken from the
 * unbuffered results channel: 8 results for 3 workers, so each worker ends
 * blocked sending one: 3 leaks.
 */
struct s39_pool {
    leash_chan_t *jobs, *results;
};

static void s39_worker(void *arg)
{
    struct s39_pool *p = arg;
    int job;

    while (leash_chan_recv(p->jobs, &job))
        send_int(p->results, job * 2);
}

static void scenario_39(void)
{
    struct s39_pool *p = xalloc(sizeof *p);
    int i;

    p->jobs = mkchan(sizeof(int), 10);
    p->results = mkchan(sizeof(int), 0);
    for (i = 0; i < 3; i++)
        spawn(s39_worker, p);
    for (i = 0; i < 10; i++)
        send_int(p->jobs, i);
    leash_chan_close(p->jobs);
    leash_chan_recv(p->results, NULL);
    leash_chan_recv(p->results, NULL);
}

/*
 * 40: the holder sends with the mutex held, and the reader is gone; the
 * two waiters queue on the mutex. All three hold the only references to
 * the mutex and the channel: 3 leaks in two groups.
 */
struct s40_shared {
    leash_mutex_t mu;
    leash_chan_t *ch;
};

static void s40_holder(void *arg)
{
    struct s40_shared *s = arg;

    leash_mutex_lock(&s->mu);
    send_int(s->ch, 1);
    leash_mutex_unlock(&s->mu);
}

static void s40_waiter(void *arg)
{
    struct s40_shared *s = arg;

    leash_mutex_lock(&s->mu);
    leash_mutex_unlock(&s->mu);
}

static void scenario_40(void)
{
    struct s40_shared *s = xalloc(sizeof *s);

    s->ch = mkchan(sizeof(int), 0);
    spawn(s40_holder, s);
    spawn(s40_waiter, s);
    spawn(s40_waiter, s);
}

/*
 * 41: the producer signals before the consumer waits (goroutine 1 starts
 * the consumer only once `sent` is closed), and the consumer waits without
 * checking `ready`: the signal is lost, 1 leak.
 */
struct s41_state {
    leash_mutex_t mu;
    leash_cond_t cond;
    int ready;
    leash_chan_t *sent;
};

static void s41_producer(void *arg)
{
    struct s41_state *s = arg;

    leash_mutex_lock(&s->mu);
    s->ready = 1;
    leash_cond_signal(&s->cond);
    leash_mutex_unlock(&s->mu);
    leash_chan_close(s->sent);
}

static void s41_consumer(void *arg)
{
    struct s41_state *s = arg;

    leash_mutex_lock(&s->mu);
    leash_cond_wait(&s->cond, &s->mu);      /* should loop on !ready */
    leash_mutex_unlock(&s->mu);
}

static void scenario_41(void)
{
    struct s41_state *s = xalloc(sizeof *s);

    s->sent = mkchan(0, 0);
    spawn(s41_producer, s);
    leash_chan_recv(s->sent, NULL);
    spawn(s41_consumer, s);
}

/*
 * 42: the barrier makes a hold m1 and b hold m2 before either takes its
 * second lock; a then waits for m2, b for m1: 2 leaks.
 */
struct s42_locks {
    leash_mutex_t m1, m2;
    leash_waitgroup_t barrier;
};

static void s42_a(void *arg)
{
    struct s42_locks *l = arg;

    leash_mutex_lock(&l->m1);
    leash_waitgroup_done(&l->barrier);
    leash_waitgroup_wait(&l->barrier);
    leash_mutex_lock(&l->m2);
    leash_mutex_unlock(&l->m2);
    leash_mutex_unlock(&l->m1);
}

static void s42_b(void *arg)
{
    struct s42_locks *l = arg;

    leash_mutex_lock(&l->m2);
    leash_waitgroup_done(&l->barrier);
    leash_waitgroup_wait(&l->barrier);
    leash_mutex_lock(&l->m1);
    leash_mutex_unlock(&l->m1);
    leash_mutex_unlock(&l->m2);
}

static void scenario_42(void)
{
    struct s42_locks *l = xalloc(sizeof *l);

    leash_waitgroup_add(&l->barrier, 2);
    spawn(s42_a, l);
    spawn(s42_b, l);
}

/*
 * 43: the owner's mutex lives on the owner's stack; the owner holds it and
 * receives from a nil channel, leaked by definition, so its stack is never
 * a root. The 5 waiters point into that stack and nowhere live: 6 leaks.
 *
 * Go's twin sometimes misses the five waiters, for the reason given at
 * scenario 8: their one mutex can share a tiny-allocator block with
 * reachable memory. leash is right.
 */
struct s43_conn {
    leash_chan_t *ready;    /* never set */
};

static void s43_waiter(void *arg)
{
    leash_mutex_lock(arg);
    leash_mutex_unlock(arg);
}

static void s43_owner(void *arg)
{
    leash_mutex_t mu = LEASH_MUTEX_INIT;
    struct s43_conn conn = { 0 };
    int i;

    leash_mutex_lock(&mu);
    for (i = 0; i < 5; i++)
        spawn(s43_waiter, &mu);
    leash_chan_recv(conn.ready, NULL);
    leash_mutex_unlock(&mu);
}

static void scenario_43(void)
{
    spawn(s43_owner, NULL);
}

/*
 * 44: a semaphore of 2 slots; every worker acquires and fails without
 * releasing. The first two fill the slots, the other three block on the
 * acquiring send: 3 leaks.
 */
static void s44_worker(void *arg)
{
    leash_chan_send(arg, NULL);
    /* error path: return without leash_chan_recv(sem) */
}

static void scenario_44(void)
{
    leash_chan_t *sem = mkchan(0, 2);
    int i;

    for (i = 0; i < 5; i++)
        spawn(s44_worker, sem);
}

/*
 * 45, control: a pending timer will send on the first channel, and will
 * cancel the context whose done channel the second waits on: neither is
 * leaked, though no goroutine refers to either.
 */
static void s45_after(void *arg)
{
    leash_chan_recv(leash_after(HOUR), NULL);
}

static void s45_deadline(void *arg)
{
    leash_context_t *ctx;

    ctx = leash_context_with_timeout(leash_context_background(), HOUR);
    if (ctx == NULL)
        die("leash_context_with_timeout");
    leash_chan_recv(leash_context_done(ctx), NULL);
}

static void scenario_45(void)
{
    spawn(s45_after, NULL);
    spawn(s45_deadline, NULL);
}

/* ---- The table --------------------------------------------------- */

#define LEAK(entry, reason, n) { entry, reason, n }
#define NONE { { NULL, NULL, 0 } }

const corpus_scenario_t corpus_scenarios[] = {
    { "1", "nil_recv", scenario_1, 1,
      { LEAK("s01_child", "chan receive (nil chan)", 1) } },
    { "2", "nil_send", scenario_2, 1,
      { LEAK("s02_child", "chan send (nil chan)", 1) } },
    { "3", "empty_select", scenario_3, 1,
      { LEAK("s03_child", "select (no cases)", 1) } },
    { "4", "fresh_recv", scenario_4, 1,
      { LEAK("s04_child", "chan receive", 1) } },
    { "5", "fresh_send", scenario_5, 1,
      { LEAK("s05_child", "chan send", 1) } },
    { "6", "fresh_select", scenario_6, 1,
      { LEAK("s06_child", "select", 1) } },
    { "7", "wg_no_done", scenario_7, 1,
      { LEAK("s07_child", "sync.WaitGroup.Wait", 1) } },
    { "8", "stack_mutex_x1000", scenario_8, 1000,
      { LEAK("s08_child", "sync.Mutex.Lock", 1000) } },
    { "9", "heap_mutex_x1000", scenario_9, 1000,
      { LEAK("s09_child", "sync.Mutex.Lock", 1000) } },
    { "10", "rw_write_then_read", scenario_10, 1,
      { LEAK("s10_child", "sync.RWMutex.RLock", 1) } },
    { "11", "rw_write_twice", scenario_11, 1,
      { LEAK("s11_child", "sync.RWMutex.Lock", 1) } },
    { "12", "cond_never_signalled", scenario_12, 1,
      { LEAK("s12_child", "sync.Cond.Wait", 1) } },
    { "13", "wg_before_recv", scenario_13, 2,
      { LEAK("s13_child", "chan send", 1),
        LEAK("s13_parent", "sync.WaitGroup.Wait", 1) } },
    { "14", "global_chan", scenario_14, 1, NONE },
    { "15", "malloc_struct_global", scenario_15, 1, NONE },
    { "15b", "malloc_struct_stack", scenario_15b, 1,
      { LEAK("s15b_child", "chan receive", 1) } },
    { "16", "daisy_chain", scenario_16, 1001, NONE },
    { "17", "spawn_tree", scenario_17, 206,
      { LEAK("s17_stuck", "chan receive", 206) } },
    { "18", "range_never_closed", scenario_18, 3,
      { LEAK("s18_worker", "chan receive", 3) } },
    { "18b", "range_no_workers", scenario_18b, 1,
      { LEAK("s18b_producer", "chan send", 1) } },
    { "19", "start_without_stop", scenario_19, 1,
      { LEAK("s19_loop", "select", 1) } },
    { "20", "double_send_unbuffered", scenario_20, 1,
      { LEAK("s20_worker", "chan send", 1) } },
    { "20b", "double_send_buffered", scenario_20b, 0, NONE },
    { "21", "release_notes", scenario_21, 9,
      { LEAK("s21_worker", "chan send", 9) } },
    { "22", "first_response_wins", scenario_22, 4,
      { LEAK("s22_sender", "chan send", 4) } },
    { "22b", "first_response_no_items", scenario_22b, 1,
      { LEAK("s22b_caller", "chan receive", 1) } },
    { "23", "select_done_closed", scenario_23, 100,
      { LEAK("s23_worker", "chan send", 100) } },
    { "24", "tx_watcher", scenario_24, 1,
      { LEAK("s24_watcher", "chan receive", 1) } },
    { "25", "compactor_late", scenario_25, 1,
      { LEAK("s25_suggester", "chan send", 1) } },
    { "26", "consumer_fails", scenario_26, 2,
      { LEAK("s26_producer", "chan send", 2) } },
    { "27", "rlock_error_path", scenario_27, 1,
      { LEAK("s27_writer", "sync.RWMutex.Lock", 1) } },
    { "28", "double_lock", scenario_28, 1,
      { LEAK("s28_worker", "sync.Mutex.Lock", 1) } },
    { "29", "bench_done", scenario_29, 1,
      { LEAK("s29_worker", "chan send", 1) } },
    { "30", "stream_close", scenario_30, 1,
      { LEAK("s30_reader", "chan receive", 1) } },
    { "31", "select_timeout", scenario_31, 1,
      { LEAK("s31_helper", "chan send", 1) } },
    { "32", "watcher_initial_events", scenario_32, 1,
      { LEAK("s32_watcher", "chan send", 1) } },
    { "33", "proxy_missed_unlock", scenario_33, 20,
      { LEAK("s33_proxy", "sync.Mutex.Lock", 20) } },
    { "34", "wait_inside_loop", scenario_34, 1,
      { LEAK("s34_run", "sync.WaitGroup.Wait", 1) } },
    { "35", "rlock_under_lock", scenario_35, 1,
      { LEAK("s35_worker", "sync.RWMutex.RLock", 1) } },
    { "36", "timer_stop_waiter", scenario_36, 1,
      { LEAK("s36_waiter", "chan receive", 1) } },
    { "37", "ctx_never_cancelled", scenario_37, 1,
      { LEAK("s37_monitor", "select", 1) } },
    { "38", "pipeline_stops_reading", scenario_38, 2,
      { LEAK("s38_gen", "chan send", 1),
        LEAK("s38_square", "chan send", 1) } },
    { "39", "pool_results_abandoned", scenario_39, 3,
      { LEAK("s39_worker", "chan send", 3) } },
    { "40", "lock_across_send", scenario_40, 3,
      { LEAK("s40_holder", "chan send", 1),
        LEAK("s40_waiter", "sync.Mutex.Lock", 2) } },
    { "41", "cond_missed_signal", scenario_41, 1,
      { LEAK("s41_consumer", "sync.Cond.Wait", 1) } },
    { "42", "lock_order_inversion", scenario_42, 2,
      { LEAK("s42_a", "sync.Mutex.Lock", 1),
        LEAK("s42_b", "sync.Mutex.Lock", 1) } },
    { "43", "leak_inside_leak", scenario_43, 6,
      { LEAK("s43_owner", "chan receive (nil chan)", 1),
        LEAK("s43_waiter", "sync.Mutex.Lock", 5) } },
    { "44", "semaphore_not_released", scenario_44, 3,
      { LEAK("s44_worker", "chan send", 3) } },
    { "45", "pending_timers", scenario_45, 2, NONE },
};

const size_t corpus_nscenarios =
    sizeof corpus_scenarios / sizeof corpus_scenarios[0];

/* ---- Running and comparing --------------------------------------- */

const corpus_scenario_t *corpus_find(const char *id)
{
    size_t i;

    for (i = 0; i < corpus_nscenarios; i++)
        if (strcmp(corpus_scenarios[i].id, id) == 0)
            return &corpus_scenarios[i];
    return NULL;
}

/*
 * The scenario's frames are dead once it returns, but their words stay on
 * goroutine 1's stack below its stack pointer until overwritten, and a
 * later call may leave some of them inside a live frame (padding, unused
 * slots). Overwriting a generous area below the caller keeps a dropped
 * channel from looking reachable to the conservative scan.
 */
LEASH_CORPUS_NOINLINE void corpus_scrub_stack(void)
{
    volatile char area[64 * 1024];

    memset((char *)area, 0, sizeof area);
    __asm__ volatile("" : : "r"(area) : "memory");
}

size_t corpus_run(const corpus_scenario_t *s)
{
    size_t alive;

    s->run();
    corpus_scrub_stack();
    alive = leash_settle(0);
    corpus_scrub_stack();
    return alive;
}

static int cmp_leak(const void *a, const void *b)
{
    const corpus_leak_t *x = a, *y = b;
    int c = strcmp(x->entry, y->entry);

    return c != 0 ? c : strcmp(x->reason, y->reason);
}

size_t corpus_groups(const leash_report_t *r, corpus_leak_t *out,
                     size_t max)
{
    size_t n = leash_report_count(r), ng = 0, i, j;
    corpus_leak_t *g = calloc(n + 1, sizeof *g);

    if (g == NULL)
        die("calloc");
    for (i = 0; i < n; i++) {
        const leash_goroutine_t *gr = leash_report_get(r, i);
        const char *entry = gr->entry.func ? gr->entry.func : "?";
        const char *reason = gr->wait_reason ? gr->wait_reason : "";

        if (!gr->leaked)
            continue;
        for (j = 0; j < ng; j++)
            if (strcmp(g[j].entry, entry) == 0 &&
                strcmp(g[j].reason, reason) == 0)
                break;
        if (j == ng) {
            g[ng].entry = entry;
            g[ng].reason = reason;
            ng++;
        }
        g[j].count++;
    }
    qsort(g, ng, sizeof *g, cmp_leak);
    memcpy(out, g, (ng < max ? ng : max) * sizeof *g);
    free(g);
    return ng;
}

size_t corpus_expected(const corpus_scenario_t *s, corpus_leak_t *out)
{
    size_t n = 0;

    while (n < CORPUS_MAX_GROUPS && s->expected[n].entry != NULL) {
        out[n] = s->expected[n];
        n++;
    }
    qsort(out, n, sizeof *out, cmp_leak);
    return n;
}

bool corpus_same(const corpus_leak_t *a, size_t na, const corpus_leak_t *b,
                 size_t nb)
{
    size_t i;

    if (na != nb)
        return false;
    for (i = 0; i < na; i++)
        if (cmp_leak(&a[i], &b[i]) != 0 || a[i].count != b[i].count)
            return false;
    return true;
}

void corpus_print_groups(FILE *out, const char *id, const corpus_leak_t *g,
                         size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        fprintf(out, "%s|%s|%s|%zu\n", id, g[i].entry, g[i].reason,
                g[i].count);
}
