/*
 * Goroutines the helper suites leak, block or keep alive. Each blocks in
 * a function of its own (noipa keeps its frame and name; NO_TAIL keeps
 * its last call from becoming a jump), so reports name stable frames.
 */
#ifndef LEASH_H_COMMON_H
#define LEASH_H_COMMON_H

#include <leash/harness.h>

#define KEEP __attribute__((noipa, unused))
#define NO_TAIL() __asm__ volatile("" ::: "memory")

/* Send one int on the channel arg; nobody receives. */
KEEP static void stuck_sender(void *arg)
{
    int v = 1;

    leash_chan_send(arg, &v);
    NO_TAIL();
}

/* Receive from the channel arg; nobody sends or closes. */
KEEP static void stuck_receiver(void *arg)
{
    leash_chan_recv(arg, NULL);
    NO_TAIL();
}

/* n goroutines blocked sending on one unbuffered channel. */
KEEP static void start_senders(int n)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 0);
    int i;

    for (i = 0; i < n; i++)
        leash_go(stuck_sender, c);
    NO_TAIL();
}

KEEP static void start_receiver(void)
{
    leash_go(stuck_receiver, leash_chan_make(sizeof(int), 0));
    NO_TAIL();
}

/* A poller: polls on every tick of its ticker until stop is closed. */
struct poller {
    leash_timer_t *ticker;
    leash_chan_t *stop;
    leash_chan_t *done;
    int polls;
};

KEEP static void poll_loop(void *arg)
{
    struct poller *p = arg;

    for (;;) {
        leash_case_t cases[2] = {
            LEASH_RECV_CASE(leash_timer_chan(p->ticker), NULL),
            LEASH_RECV_CASE(p->stop, NULL),
        };

        if (leash_select(cases, 2, false) == 1)
            break;
        p->polls++;
    }
    leash_timer_stop(p->ticker);
    leash_chan_close(p->done);
}

KEEP static struct poller *poller_start(void)
{
    struct poller *p = leash_alloc(sizeof *p);

    p->ticker = leash_ticker_new(5 * LEASH_MILLISECOND);
    p->stop = leash_chan_make(0, 0);
    p->done = leash_chan_make(0, 0);
    leash_go(poll_loop, p);
    NO_TAIL();
    return p;
}

KEEP static void poller_stop(struct poller *p)
{
    leash_chan_close(p->stop);
    leash_chan_recv(p->done, NULL);
    NO_TAIL();
}

#endif
