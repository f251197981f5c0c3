/*
 * A helper suite for tests/test_harness.c: one stack shared by hundreds
 * of leaked goroutines, whose ids would not fit on one line. Fails on
 * purpose; this binary is not a CTest test.
 */
#include "h_common.h"

LEASH_TEST(many, leak_500)
{
    start_senders(500);
}
