/*
 * A helper suite for tests/test_harness.c: leaks the allowlist
 * tests/harness/allow.yaml allows, allowed no longer, or allows too many
 * of. Run with LEASH_ALLOWLIST pointing at it and LEASH_TODAY fixed.
 * Some tests fail on purpose; this binary is not a CTest test.
 */
#include "h_common.h"

/* A vendor library's pool keeps an idle worker forever. */
KEEP static void vendor_idle_worker(void *arg)
{
    leash_chan_recv(arg, NULL);
    NO_TAIL();
}

/* An old cache refresher whose allowance ran out. */
KEEP static void legacy_refresher(void *arg)
{
    leash_chan_recv(arg, NULL);
    NO_TAIL();
}

/* Pooled connections, at most two of which are allowed to leak. */
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

/* Allowed by the vendor entry: passes. */
LEASH_TEST(allow, allowed)
{
    start(vendor_idle_worker, 1);
}

/* Only an expired entry matches: fails with "allowance expired". */
LEASH_TEST(allow, expired)
{
    start(legacy_refresher, 1);
}

/* Three where the entry allows two: the third fails as over the limit. */
LEASH_TEST(allow, over_max)
{
    start(pooled_conn, 3);
}

/* One allowed, one not: fails, and lists the allowed one too. */
LEASH_TEST(allow, mixed)
{
    start(vendor_idle_worker, 1);
    start_senders(1);
}

/* Allowed by an entry that matches on the test's name and wait. */
LEASH_TEST(allow, by_test_name)
{
    start_senders(2);
}

/* Nothing leaks. */
LEASH_TEST(allow, nothing)
{
}
