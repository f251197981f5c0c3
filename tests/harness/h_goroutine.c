/*
 * A helper suite for tests/test_harness.c: a cr_assert that fails inside
 * a goroutine other than the body. Criterion's abort jumps from that
 * goroutine's stack to the test thread's; the harness must notice, say
 * so, and leave the runtime alone. (AddressSanitizer reports the jump
 * itself as an error, so this suite is not run under it.) Not a CTest
 * test.
 */
#include "h_common.h"

KEEP static void asserting_goroutine(void *arg)
{
    cr_assert_fail("an assertion inside a goroutine");
    NO_TAIL();
}

LEASH_TEST(goroutine, assert_inside)
{
    leash_go(asserting_goroutine, NULL);
    leash_yield();
}
