/*
 * Select over send and receive cases.
 *
 * A blocking select queues one waiter per case with a channel, all on its
 * own stack, and parks waiting on every such channel. The first operation
 * to take one of them marks the goroutine woken (leash__waitq_take), so the
 * other waiters are stale from then on; the select removes them when it
 * resumes, before any of its stack is reused.
 */
#include "chan.h"

#include <string.h>

/* Per-thread xorshift: cheap and good enough for fair case choice. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rand_below(uint32_t n)
{
    uint64_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return (uint32_t)(((x >> 32) * (uint64_t)n) >> 32);
}

static bool case_ready(const leash_case_t *k)
{
    const leash_chan_t *c = k->chan;
    const leash__waiter_t *w;

    if (c == NULL)
        return false;
    if (k->dir == LEASH_SEND) {
        if (c->closed || c->count < c->cap)
            return true;
        for (w = c->recvq.head; w != NULL; w = w->next)
            if (w->g->woken_by == NULL)
                return true;
        return false;
    }
    if (c->count > 0 || c->closed)
        return true;
    for (w = c->sendq.head; w != NULL; w = w->next)
        if (w->g->woken_by == NULL)
            return true;
    return false;
}

static void run_case(leash_case_t *k)
{
    if (k->dir == LEASH_SEND) {
        if (!leash__chan_try_send(k->chan, k->elem))
            leash__fatal("runtime: select: a ready send did not complete");
        return;
    }
    if (!leash__chan_try_recv(k->chan, k->elem, &k->ok))
        leash__fatal("runtime: select: a ready receive did not complete");
}

/* Waiters of a select with up to this many channels live on its stack;
 * more go to bookkeeping memory, so that no select can overflow a stack.
 * The channels stay referenced from the caller's cases. */
#define STACK_CASES 32

/* Block until one case completes. n_live cases have a channel. */
static LEASH_PARKS int select_block(leash_case_t *cases, size_t n,
                                    size_t n_live)
{
    leash__waiter_t ws_stack[STACK_CASES];
    const void *prims_stack[STACK_CASES];
    leash__waiter_t *ws = ws_stack;
    const void **prims = prims_stack;
    leash__g_t *g = leash__s.cur;
    leash__waiter_t *won;
    bool sent_to_closed;
    size_t i, j;

    if (n_live > STACK_CASES) {
        ws = leash__xalloc(n_live * sizeof *ws);
        prims = leash__xalloc(n_live * sizeof *prims);
    }

    for (i = 0, j = 0; i < n; i++) {
        leash_chan_t *c = cases[i].chan;

        if (c == NULL)
            continue;
        memset(&ws[j], 0, sizeof ws[j]);
        ws[j].g = g;
        ws[j].elem = cases[i].elem;
        ws[j].case_index = (int)i;
        ws[j].is_select = true;
        prims[j] = c;
        leash__waitq_push(cases[i].dir == LEASH_SEND ? &c->sendq
                                                      : &c->recvq, &ws[j]);
        j++;
    }
    leash__park(LEASH_WAIT_SELECT, LEASH_PRIM_CHAN, prims, n_live);
    won = g->woken_by;

    /* Dequeue the waiters that did not fire. */
    for (j = 0; j < n_live; j++) {
        leash_case_t *k = &cases[ws[j].case_index];

        if (&ws[j] == won)
            continue;
        leash__waitq_remove(k->dir == LEASH_SEND ? &k->chan->sendq
                                                 : &k->chan->recvq, &ws[j]);
    }
    i = (size_t)won->case_index;
    if (cases[i].dir == LEASH_RECV)
        cases[i].ok = won->success;
    sent_to_closed = cases[i].dir == LEASH_SEND && !won->success;
    if (ws != ws_stack) {
        leash__xfree(ws);
        leash__xfree(prims);
    }
    if (sent_to_closed)
        leash_panic("send on closed channel");
    return (int)i;
}

LEASH_PARKS int leash_select(leash_case_t *cases, size_t n, bool has_default)
{
    size_t i, n_ready = 0, n_live = 0, pick = 0;

    leash__init();

    /* Uniform choice among the ready cases in one pass: the k-th ready
     * case replaces the pick with probability 1/k (reservoir sampling). */
    for (i = 0; i < n; i++) {
        if (cases[i].chan == NULL)
            continue;
        n_live++;
        if (case_ready(&cases[i]) &&
            rand_below((uint32_t)++n_ready) == 0)
            pick = i;
    }
    if (n_ready > 0) {
        run_case(&cases[pick]);
        return (int)pick;
    }
    if (has_default)
        return -1;
    if (n_live == 0) {
        /* Go parks "select {}" as no cases, and a select whose channels are
         * all nil as a select waiting on nothing. */
        leash__park(n == 0 ? LEASH_WAIT_SELECT_NO_CASES : LEASH_WAIT_SELECT,
                    LEASH_PRIM_CHAN, NULL, 0);
        leash__fatal("runtime: a select with no channels woke up");
    }
    i = (size_t)select_block(cases, n, n_live);
    /* Not a tail call: leash_select stays a frame in tracebacks. */
    __asm__ volatile("");
    return (int)i;
}
