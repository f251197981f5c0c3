/*
 * A small shop's test suite with the leaks the leash tool reports on: a
 * lost reply, a fan-out that is never drained, a lock held by a goroutine
 * that blocks forever (and its waiters), a wait group nobody finishes, a
 * nil channel, a select, leaks the allowlist (tests/cli/run/leash-allow.yaml)
 * allows, allows no longer or allows too few of, a crash and a timeout.
 *
 * tests/test_cli.c runs it with LEASH_REPORT_DIR and --xml and checks the
 * tool on what it wrote; tests/cli/regen.sh --fixtures ran it to make the fixed
 * fixtures in tests/cli/run/. Most tests fail on purpose: it is not a
 * CTest test.
 */
#include <leash/harness.h>
#include <signal.h>
#include <stdlib.h>

#define KEEP __attribute__((noipa, unused))
#define NO_TAIL() __asm__ volatile("" ::: "memory")

/* ---- the shop's code ------------------------------------------------ */

/* Answers one request on its reply channel; nobody reads the answer. */
KEEP static void price_lookup(void *arg)
{
    int price = 42;

    leash_chan_send(arg, &price);
    NO_TAIL();
}

/* One of several workers whose results nobody collects. */
KEEP static void stock_worker(void *arg)
{
    int n = 1;

    leash_chan_send(arg, &n);
    NO_TAIL();
}

struct ledger {
    leash_mutex_t lock;
    leash_chan_t *flush;
};

/* Takes the ledger's lock, then waits for a flush that never comes. */
KEEP static void ledger_writer(void *arg)
{
    struct ledger *l = arg;

    leash_mutex_lock(&l->lock);
    leash_chan_recv(l->flush, NULL);
    NO_TAIL();
}

/* Waits for the ledger's lock, which the writer never returns. */
KEEP static void ledger_reader(void *arg)
{
    struct ledger *l = arg;

    leash_mutex_lock(&l->lock);
    leash_mutex_unlock(&l->lock);
    NO_TAIL();
}

/* Two locks taken in opposite orders: each holder waits for the other. */
struct pair {
    leash_mutex_t a, b;
};

KEEP static void transfer_ab(void *arg)
{
    struct pair *p = arg;

    leash_mutex_lock(&p->a);
    leash_yield();
    leash_mutex_lock(&p->b);
    NO_TAIL();
}

KEEP static void transfer_ba(void *arg)
{
    struct pair *p = arg;

    leash_mutex_lock(&p->b);
    leash_yield();
    leash_mutex_lock(&p->a);
    NO_TAIL();
}

KEEP static void batch_waiter(void *arg)
{
    leash_waitgroup_wait(arg);
    NO_TAIL();
}

KEEP static void nil_reader(void *arg)
{
    leash_chan_recv(NULL, NULL);
    NO_TAIL();
}

KEEP static void either_waiter(void *arg)
{
    leash_chan_t **c = arg;
    leash_case_t cases[2] = {
        { .chan = c[0], .dir = LEASH_RECV },
        { .chan = c[1], .dir = LEASH_RECV },
    };

    leash_select(cases, 2, false);
    NO_TAIL();
}

/* A vendor pool keeps one idle worker (allowed by the allowlist). */
KEEP static void vendor_idle_worker(void *arg)
{
    leash_chan_recv(arg, NULL);
    NO_TAIL();
}

/* An old refresher whose allowance expired. */
KEEP static void legacy_refresher(void *arg)
{
    leash_chan_recv(arg, NULL);
    NO_TAIL();
}

/* Pooled connections: two may leak, the third is one too many. */
KEEP static void pooled_conn(void *arg)
{
    int v = 0;

    leash_chan_send(arg, &v);
    NO_TAIL();
}

KEEP static void start(void (*fn)(void *), int n)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 0);
    int i;

    for (i = 0; i < n; i++)
        leash_go(fn, c);
    NO_TAIL();
}

KEEP static void echo(void *arg)
{
    leash_chan_t *c = arg;
    int v;

    leash_chan_recv(c, &v);
    leash_chan_send(c, &v);
}

/* ---- the tests -------------------------------------------------------- */

LEASH_TEST(shop, checkout_clean)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 0);
    int v = 7;

    leash_go(echo, c);
    leash_chan_send(c, &v);
    leash_chan_recv(c, &v);
    cr_assert_eq(v, 7);
}

LEASH_TEST(shop, lost_reply)
{
    start(price_lookup, 1);
}

LEASH_TEST(shop, fanout)
{
    start(stock_worker, 3);
}

LEASH_TEST(ledger, lock_held_forever)
{
    struct ledger *l = leash_alloc(sizeof *l);

    l->flush = leash_chan_make(0, 0);
    leash_go(ledger_writer, l);
    leash_yield();
    leash_go(ledger_reader, l);
    leash_go(ledger_reader, l);
}

LEASH_TEST(ledger, deadlock)
{
    struct pair *p = leash_alloc(sizeof *p);

    leash_go(transfer_ab, p);
    leash_go(transfer_ba, p);
}

LEASH_TEST(sync, batch_never_done)
{
    leash_waitgroup_t *wg = leash_alloc(sizeof *wg);

    leash_waitgroup_add(wg, 1);
    leash_go(batch_waiter, wg);
}

LEASH_TEST(sync, nil_channel)
{
    leash_go(nil_reader, NULL);
}

LEASH_TEST(sync, select_forever)
{
    leash_chan_t **c = leash_alloc(2 * sizeof *c);

    c[0] = leash_chan_make(0, 0);
    c[1] = leash_chan_make(0, 0);
    leash_go(either_waiter, c);
}

LEASH_TEST(pool, idle_worker_allowed)
{
    start(vendor_idle_worker, 1);
}

LEASH_TEST(pool, legacy_expired)
{
    start(legacy_refresher, 1);
}

LEASH_TEST(pool, conns_over_max)
{
    start(pooled_conn, 3);
}

LEASH_TEST(crash, segfault)
{
    raise(SIGSEGV);
}

LEASH_TEST(crash, hangs, .timeout = 1)
{
    for (;;)
        leash_sleep(LEASH_SECOND);
}

/* A plain Criterion test: no leak check, no report. */
Test(plain, no_leash) {}

Test(plain, skipped)
{
    cr_skip_test("not today");
}
