/*
 * A helper suite for tests/test_harness.c, which runs it in a subprocess
 * and compares what Criterion prints and writes with golden files. Most
 * of these tests fail on purpose; this binary is not a CTest test.
 */
#include "h_common.h"

/* Ping: receive one value and answer it, then exit. */
KEEP static void echo(void *arg)
{
    leash_chan_t *c = arg;
    int v;

    leash_chan_recv(c, &v);
    v++;
    leash_chan_send(c, &v);
}

KEEP static void late_finisher(void *arg)
{
    leash_sleep(10 * LEASH_MILLISECOND);
    *(int *)arg = 1;
}

/* Goroutines that all finish: passes. */
LEASH_TEST(basic, clean)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 0);
    int v = 41;

    leash_go(echo, c);
    leash_chan_send(c, &v);
    leash_chan_recv(c, &v);
    cr_assert_eq(v, 42);
}

/* A goroutine still sleeping when the body returns finishes within the
 * grace period, and is not blamed. */
LEASH_TEST(basic, finishes_in_grace)
{
    static int done;

    leash_go(late_finisher, &done);
}

/* One goroutine blocked forever on a send. */
LEASH_TEST(basic, leak_one, .description = "one sender leaks")
{
    start_senders(1);
}

/* Three identical leaks are grouped; a different one is printed apart. */
LEASH_TEST(basic, leak_grouped)
{
    start_senders(3);
    start_receiver();
}

/* The body fails first: its own failure stays, the leak report follows
 * as extra information. */
LEASH_TEST(basic, assert_then_leak)
{
    start_senders(1);
    cr_assert_fail("the original failure");
}

/* A cr_expect failure and a leak: both are failures of the test. */
LEASH_TEST(basic, expect_and_leak)
{
    cr_expect_eq(1, 2, "the original expectation");
    start_receiver();
}
