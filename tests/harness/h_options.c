/*
 * A helper suite for tests/test_harness.c: Criterion's options through
 * the leash macros. Some tests fail on purpose; this binary is not a
 * CTest test.
 */
#include "h_common.h"

#include <signal.h>
#include <stdlib.h>

static int init_ran;

static void user_init(void)
{
    init_ran = 1;
}

static void user_fini(void)
{
    cr_log_warn("options: the user's .fini ran");
}

/* The expected signal: passes. */
LEASH_TEST(options, signal, .signal = SIGABRT)
{
    abort();
}

/* The expected exit code: passes. */
LEASH_TEST(options, exit_code, .exit_code = 3)
{
    exit(3);
}

/* A signal that was not expected: crashes. (SIGTERM, which the
 * sanitizers leave alone, so that the run reads the same under them.) */
LEASH_TEST(options, unexpected_signal)
{
    raise(SIGTERM);
}

/* The user's .init ran before the body, the .fini after the check. */
LEASH_TEST(options, init_fini, .init = user_init, .fini = user_fini)
{
    cr_assert_eq(init_ran, 1);
    start_senders(1);
}

LEASH_TEST(options, disabled, .disabled = true)
{
    start_senders(1);
}

LEASH_TEST(options, described, .description = "a test with a description")
{
}

/* The test's own .timeout wins over the default: times out. */
LEASH_TEST(options, own_timeout, .timeout = 0.5)
{
    leash_sleep(5 * LEASH_SECOND);
}

/* A suite's .timeout applies to leash tests that set none: times out. */
LEASH_SUITE(slow_suite, .timeout = 0.5);

LEASH_TEST(slow_suite, sleeps)
{
    leash_sleep(5 * LEASH_SECOND);
}
