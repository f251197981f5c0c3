/*
 * A helper suite for tests/test_harness.c: parameterized leash tests.
 * Some instances fail on purpose; this binary is not a CTest test.
 */
#include "h_common.h"

ParameterizedTestParameters(param, leaks_n)
{
    static int n[] = { 0, 1, 2 };

    return cr_make_param_array(int, n, sizeof n / sizeof n[0]);
}

/* Leaks *n senders: the instance for 0 passes, 1 and 2 fail. */
LEASH_PARAMETERIZED_TEST(int *n, param, leaks_n)
{
    start_senders(*n);
}

ParameterizedTestParameters(param, strict_pollers)
{
    static bool stop[] = { true, false };

    return cr_make_param_array(bool, stop, 2);
}

/* Strict: the poller left running (stop false) fails. */
LEASH_STRICT_PARAMETERIZED_TEST(bool *stop, param, strict_pollers)
{
    struct poller *p = poller_start();

    if (*stop)
        poller_stop(p);
}
