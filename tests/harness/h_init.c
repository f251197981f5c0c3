/*
 * A helper suite for tests/test_harness.c: goroutines started by a
 * test's .init, before its body. Some tests fail on purpose; this binary
 * is not a CTest test.
 */
#include "h_common.h"

/* A sender that blocks for good: leaked once the body has returned. */
static void init_leak(void)
{
    leash_go(stuck_sender, leash_chan_make(sizeof(int), 0));
    NO_TAIL();
}

static struct poller *fixture_poller;

static void init_poller(void)
{
    fixture_poller = poller_start();
}

/* The .init's goroutine leaks: fails. */
LEASH_TEST(init, leaks, .init = init_leak)
{
    leash_yield();
}

/* Strict mode checks leaked .init goroutines too: fails. */
LEASH_STRICT_TEST(init, leaks_strict, .init = init_leak)
{
    leash_yield();
}

/* Alive, not leaked, started by .init: left out of strict's check. */
LEASH_STRICT_TEST(init, poller_strict, .init = init_poller)
{
    cr_assert_not_null(fixture_poller);
}
