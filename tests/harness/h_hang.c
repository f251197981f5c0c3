/*
 * A helper suite for tests/test_harness.c: a test that never ends. Only
 * its default .timeout (from the macro, capped by --timeout or set by
 * LEASH_TIMEOUT) stops it. Not a CTest test.
 */
#include "h_common.h"

LEASH_TEST(hang, forever)
{
    for (;;)
        leash_sleep(LEASH_SECOND);
}
