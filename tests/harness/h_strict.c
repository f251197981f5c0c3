/*
 * A helper suite for tests/test_harness.c: strict mode per test, per
 * suite and (LEASH_STRICT=1) for all. A poller whose ticker still fires
 * is alive, not leaked: only strict mode fails it. Some tests fail on
 * purpose; this binary is not a CTest test.
 */
#include "h_common.h"

/* A metrics flusher that runs for the whole process, by design. */
KEEP static void metrics_flusher(void *arg)
{
    for (;;)
        leash_sleep(LEASH_SECOND);
}

static struct poller *fixture_poller;

static void start_fixture_poller(void)
{
    fixture_poller = poller_start();
}

/* Left running: fails in strict mode. */
LEASH_STRICT_TEST(strict, poller_left)
{
    poller_start();
}

/* Stopped: passes. */
LEASH_STRICT_TEST(strict, poller_stopped)
{
    poller_stop(poller_start());
}

/* Started by .init, before the body: not the body's, passes. */
LEASH_STRICT_TEST(strict, poller_from_init, .init = start_fixture_poller)
{
    cr_assert_not_null(fixture_poller);
}

/* Alive, and allowed by tests/harness/strict.yaml: passes. */
LEASH_STRICT_TEST(strict, allowed_flusher)
{
    leash_go(metrics_flusher, NULL);
}

/* Every test of this suite is strict. */
LEASH_STRICT_SUITE(strict_suite);

LEASH_TEST(strict_suite, poller_left)
{
    poller_start();
}

/* Not strict: the poller is alive, not leaked, and the test passes
 * unless LEASH_STRICT=1. */
LEASH_SUITE(lenient);

LEASH_TEST(lenient, poller_left)
{
    poller_start();
}
