/*
 * A first leash suite: a small order-processing service and its tests.
 *
 * MOST OF THESE TESTS FAIL ON PURPOSE. Each failing test shows one way
 * goroutines leak and what leash prints about it; the passing ones show
 * the fix, a clean test, and a known leak the allowlist (leash-allow.yaml,
 * next to this file) accepts. Run from this directory, so that the
 * allowlist is found:
 *
 *     cd examples && ../build/examples/work_items
 *
 * What to expect:
 *   work_items/all_items_succeed        passes: every goroutine finishes
 *   work_items/first_error_returns_early FAILS: the example from Go 1.26's
 *                                        release notes, three senders leak
 *   work_items/first_error_fixed        passes: the same with the fix
 *   work_items/vendor_pool              passes: a leak the allowlist allows
 *   work_items/legacy_cache             FAILS: its allowance has expired
 *   work_items/forgotten_stop           FAILS: a component never stopped
 *   work_items/progress_stopped         passes in strict mode
 *   work_items/progress_left_running    FAILS in strict mode only: the
 *                                        reporter is alive, not leaked
 * and at the end, a warning for an allowlist entry nothing matched.
 */
#include <errno.h>
#include <leash/harness.h>

/* ------------------------------------------------------------------ */
/* The code under test                                                  */
/* ------------------------------------------------------------------ */

struct work_item {
    int id;
    int qty;                 /* a quantity of 0 is an invalid order */
};

struct work_result {
    int id;
    int total;
    int err;                 /* 0, or an errno value */
};

struct job {
    struct work_item item;
    leash_chan_t *results;   /* where the result goes */
};

static struct work_result process_work_item(struct work_item w)
{
    struct work_result r = { w.id, 0, 0 };

    if (w.qty <= 0)
        r.err = EINVAL;
    else
        r.total = w.qty * 250;
    return r;
}

/* One goroutine per item: compute, then send the result. */
static void work_item_goroutine(void *arg)
{
    struct job *j = arg;
    struct work_result r = process_work_item(j->item);

    leash_chan_send(j->results, &r);
}

/*
 * Process the n items in parallel, results in out. Returns n, or -errno
 * at the first error: Go 1.26's release notes show this function, whose
 * early return leaves the goroutines not yet received blocked in their
 * send on the unbuffered channel, forever.
 */
static int process_work_items(const struct work_item *ws, int n,
                              struct work_result *out)
{
    leash_chan_t *ch = leash_chan_make(sizeof(struct work_result), 0);
    int i;

    for (i = 0; i < n; i++) {
        struct job *j = leash_alloc(sizeof *j);

        j->item = ws[i];
        j->results = ch;
        leash_go(work_item_goroutine, j);
    }
    for (i = 0; i < n; i++) {
        struct work_result r;

        leash_chan_recv(ch, &r);
        if (r.err != 0)
            return -r.err;   /* the goroutines not yet received leak */
        out[i] = r;
    }
    return n;
}

/* The fix: a buffer with room for every result, so no send blocks. */
static int process_work_items_fixed(const struct work_item *ws, int n,
                                    struct work_result *out)
{
    leash_chan_t *ch = leash_chan_make(sizeof(struct work_result),
                                       (size_t)n);
    int i;

    for (i = 0; i < n; i++) {
        struct job *j = leash_alloc(sizeof *j);

        j->item = ws[i];
        j->results = ch;
        leash_go(work_item_goroutine, j);
    }
    for (i = 0; i < n; i++) {
        struct work_result r;

        leash_chan_recv(ch, &r);
        if (r.err != 0)
            return -r.err;
        out[i] = r;
    }
    return n;
}

/* A vendored connection pool: its 1.4 release keeps an idle worker
 * waiting for requests that never come, even after the pool is gone. */
struct vendorpool {
    leash_chan_t *requests;
};

static void vendorpool_worker(void *arg)
{
    struct vendorpool *p = arg;
    int req;

    while (leash_chan_recv(p->requests, &req))
        continue;
}

static struct vendorpool *vendorpool_open(void)
{
    struct vendorpool *p = leash_alloc(sizeof *p);

    p->requests = leash_chan_make(sizeof(int), 0);
    leash_go(vendorpool_worker, p);
    return p;
}

/* The legacy price cache: its refresher waits for invalidations that
 * only the (never called) close would send. */
struct legacy_cache {
    leash_chan_t *invalidate;
    int prices[16];
};

static void legacy_cache_refresher(void *arg)
{
    struct legacy_cache *c = arg;
    int key;

    leash_chan_recv(c->invalidate, &key);
    c->prices[key & 15] = 0;
}

static struct legacy_cache *legacy_cache_open(void)
{
    struct legacy_cache *c = leash_alloc(sizeof *c);

    c->invalidate = leash_chan_make(sizeof(int), 0);
    leash_go(legacy_cache_refresher, c);
    return c;
}

/*
 * An order queue with a start and a stop: start launches a loop that
 * serves requests until done is closed. A caller that never calls stop
 * leaves the loop waiting on two channels nobody else can reach.
 */
struct order_queue {
    leash_chan_t *requests;
    leash_chan_t *done;
    int served;
};

static void order_queue_loop(void *arg)
{
    struct order_queue *q = arg;
    int req;

    for (;;) {
        leash_case_t cases[2] = {
            LEASH_RECV_CASE(q->requests, &req),
            LEASH_RECV_CASE(q->done, NULL),
        };

        if (leash_select(cases, 2, false) == 1)
            return;
        q->served++;
    }
}

static struct order_queue *order_queue_start(void)
{
    struct order_queue *q = leash_alloc(sizeof *q);

    q->requests = leash_chan_make(sizeof(int), 0);
    q->done = leash_chan_make(0, 0);
    leash_go(order_queue_loop, q);
    return q;
}

static void order_queue_submit(struct order_queue *q, int order)
{
    leash_chan_send(q->requests, &order);
}

static void order_queue_stop(struct order_queue *q)
{
    leash_chan_close(q->done);
}

/* A progress reporter that logs on every tick until stopped. Its ticker
 * keeps waking it: it is alive, not leaked, and only strict mode objects
 * to it still running after the test. */
struct progress {
    leash_timer_t *ticker;
    leash_chan_t *stop;
    int ticks;
};

static void progress_loop(void *arg)
{
    struct progress *p = arg;

    for (;;) {
        leash_case_t cases[2] = {
            LEASH_RECV_CASE(leash_timer_chan(p->ticker), NULL),
            LEASH_RECV_CASE(p->stop, NULL),
        };

        if (leash_select(cases, 2, false) == 1)
            break;
        p->ticks++;
    }
    leash_timer_stop(p->ticker);
}

static struct progress *progress_start(void)
{
    struct progress *p = leash_alloc(sizeof *p);

    p->ticker = leash_ticker_new(10 * LEASH_MILLISECOND);
    p->stop = leash_chan_make(0, 0);
    leash_go(progress_loop, p);
    return p;
}

static void progress_stop(struct progress *p)
{
    leash_chan_close(p->stop);
    leash_yield();
}

/* ------------------------------------------------------------------ */
/* The tests                                                            */
/* ------------------------------------------------------------------ */

static const struct work_item good[] = {
    { 1, 2 }, { 2, 1 }, { 3, 4 }, { 4, 1 }, { 5, 3 },
};

/* The second item is invalid. */
static const struct work_item one_bad[] = {
    { 1, 2 }, { 2, 0 }, { 3, 4 }, { 4, 1 }, { 5, 3 },
};

LEASH_TEST(work_items, all_items_succeed)
{
    struct work_result out[5];

    cr_assert_eq(process_work_items(good, 5, out), 5);
    cr_assert_eq(out[0].total + out[4].total, 5 * 250);
}

/* Scenario 21: the error is returned as it should be, and three senders
 * are left blocked forever. */
LEASH_TEST(work_items, first_error_returns_early)
{
    struct work_result out[5];

    cr_assert_eq(process_work_items(one_bad, 5, out), -EINVAL);
}

LEASH_TEST(work_items, first_error_fixed)
{
    struct work_result out[5];

    cr_assert_eq(process_work_items_fixed(one_bad, 5, out), -EINVAL);
}

/* The pool's idle worker leaks; leash-allow.yaml allows one. */
LEASH_TEST(work_items, vendor_pool)
{
    cr_assert_not_null(vendorpool_open());
}

/* The cache's refresher leaks; its allowance expired on 2025-06-30. */
LEASH_TEST(work_items, legacy_cache)
{
    struct legacy_cache *c = legacy_cache_open();

    cr_assert_eq(c->prices[0], 0);
}

/* Scenario 19: started, used, never stopped. */
LEASH_TEST(work_items, forgotten_stop)
{
    struct order_queue *q = order_queue_start();

    order_queue_submit(q, 7);
    order_queue_submit(q, 8);
    leash_yield();           /* let the queue count the last order */
    cr_assert_eq(q->served, 2);
}

LEASH_STRICT_TEST(work_items, progress_stopped)
{
    struct order_queue *q = order_queue_start();

    progress_stop(progress_start());
    order_queue_stop(q);
}

LEASH_STRICT_TEST(work_items, progress_left_running)
{
    struct progress *p = progress_start();

    leash_sleep(30 * LEASH_MILLISECOND);
    cr_assert_geq(p->ticks, 1);
}
