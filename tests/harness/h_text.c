/*
 * A helper suite for tests/test_harness.c: text that Criterion's --xml
 * and --json would not survive unchanged. The frames below claim a source
 * file whose name is Latin-1, not UTF-8 (byte 0xE9), as strange debug
 * information can; text.yaml gives a reason with U+FFFE in it. Fails on
 * purpose; this binary is not a CTest test.
 */
#include "h_common.h"

/* Everything from here on claims to be in "caf<0xE9>.c". */
#line 1 "caf\351.c"
KEEP static void latin1_sender(void *arg)
{
    int v = 1;

    leash_chan_send(arg, &v);
    NO_TAIL();
}

LEASH_TEST(text, latin1_file)
{
    leash_go(latin1_sender, leash_chan_make(sizeof(int), 0));
}

/* Expired in text.yaml, whose reason has U+FFFE and a control char. */
LEASH_TEST(text, odd_reason)
{
    start_receiver();
}
