/*
 * A suite with a leak, for ci/check-install.sh to see the gate fail on:
 * a worker whose result nobody reads blocks forever on its send.
 */
#include <leash/harness.h>

static void compute(void *arg)
{
    int answer = 42;

    leash_chan_send(arg, &answer);
}

LEASH_TEST(leaky, forgotten_result)
{
    leash_go(compute, leash_chan_make(sizeof(int), 0));
}

LEASH_TEST(leaky, clean)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 1);
    int v = 1;

    leash_chan_send(c, &v);
    leash_chan_recv(c, &v);
}
