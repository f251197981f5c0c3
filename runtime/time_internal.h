/* Timers, shared by time.c and context.c. */
#ifndef LEASH_TIME_INTERNAL_H
#define LEASH_TIME_INTERNAL_H

#include "internal.h"

struct leash_timer {
    int64_t when;          /* leash_now() at which it fires */
    int64_t period;        /* tickers: > 0 */
    ptrdiff_t index;       /* position in the heap, -1 when not pending */
    void (*fire)(struct leash_timer *t, int64_t now);
    leash_chan_t *c;       /* timers and tickers: where the time is sent */
    void *arg;             /* sleep: the goroutine; contexts: the context */
};

/* Start (or restart) t to fire at when. */
void leash__timer_start(leash_timer_t *t, int64_t when);
/* Remove t from the heap. Result: true when it was pending. */
bool leash__timer_cancel(leash_timer_t *t);

#endif
