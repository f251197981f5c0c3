/*
 * Leash tests of an installed leash: each test checks its goroutines for
 * leaks when its body returns. All of them pass.
 */
#include <leash/harness.h>

static void worker(void *arg)
{
    leash_chan_t *jobs = arg;
    int v;

    while (leash_chan_recv(jobs, &v))
        ;
}

LEASH_TEST(pipeline, workers_drain_and_exit)
{
    leash_chan_t *jobs = leash_chan_make(sizeof(int), 8);
    int i;

    for (i = 0; i < 4; i++)
        leash_go(worker, jobs);
    for (i = 0; i < 100; i++)
        leash_chan_send(jobs, &i);
    leash_chan_close(jobs);
}

static void add_one(void *arg)
{
    leash_waitgroup_t *wg = arg;

    leash_waitgroup_done(wg);
}

LEASH_TEST(pipeline, waitgroup)
{
    leash_waitgroup_t wg = LEASH_WAITGROUP_INIT;
    int i;

    leash_waitgroup_add(&wg, 10);
    for (i = 0; i < 10; i++)
        leash_go(add_one, &wg);
    leash_waitgroup_wait(&wg);
    cr_assert_eq(leash_goid(), 1);
}
