/*
 * Helpers the runtime's test files share: markers for functions whose
 * frames a test looks at, a goroutine's record and how it is parked, an
 * ordered record of events, and goroutines that do one channel operation.
 *
 * Only for test files; everything is static.
 */
#ifndef LEASH_TESTS_UTIL_H
#define LEASH_TESTS_UTIL_H

#include <criterion/criterion.h>
#include <leash/leash.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* No inlining, cloning or other interprocedural changes: the function
 * keeps its name and frame. */
#define KEEP __attribute__((noipa))

/* Ends a function so that its last call does not become a tail call. */
#define NO_TAIL() __asm__ volatile("" ::: "memory")

/* ---- Goroutine records ------------------------------------------- */

static inline leash__g_t *find_g(int64_t id)
{
    leash__g_t *g;

    for (g = leash__s.all; g != NULL; g = g->all_next)
        if (g->id == id)
            return g;
    return NULL;
}

/* Assert that goroutine id is parked for why on exactly prim, a
 * primitive of the given kind; on nothing when prim is NULL. */
static inline void assert_parked(int64_t id, enum leash__wait why,
                                 enum leash__prim kind, const void *prim)
{
    leash__g_t *g = find_g(id);

    cr_assert_not_null(g, "goroutine %lld not registered", (long long)id);
    cr_assert_eq(g->state, LEASH_G_WAITING, "goroutine %lld is %s",
                 (long long)id, leash__gstate_name(g->state));
    cr_assert_eq(g->wait, why, "goroutine %lld waits for \"%s\"",
                 (long long)id, leash__wait_name(g->wait));
    if (prim == NULL) {
        cr_assert_eq(g->nwait_prims, 0);
        return;
    }
    cr_assert_eq(g->wait_kind, kind);
    cr_assert_eq(g->nwait_prims, 1);
    cr_assert_eq(g->wait_prims[0], prim);
}

static inline void yield_n(int n)
{
    while (n-- > 0)
        leash_yield();
}

/* ---- Events ------------------------------------------------------ */

#define MAX_EVENTS 128

/* An ordered record of what happened, written by several goroutines. */
struct events {
    int v[MAX_EVENTS];
    int n;
};

static inline void event(struct events *e, int v)
{
    if (e->n < MAX_EVENTS)
        e->v[e->n++] = v;
}

/* Assert that the events are exactly want[0..n). */
static inline void assert_events(const struct events *e, const int *want,
                                 int n)
{
    int i;

    for (i = 0; i < n && i < e->n; i++)
        cr_assert_eq(e->v[i], want[i], "event %d is %d, want %d", i,
                     e->v[i], want[i]);
    cr_assert_eq(e->n, n, "%d events, want %d", e->n, n);
}

/* ---- One channel operation in a goroutine ------------------------ */

/* A goroutine's view of one operation. */
struct op {
    leash_chan_t *c;
    int64_t value;      /* send: what to send; recv: what arrived */
    int ok;             /* recv: the result; -1 before it returns */
    int done;           /* the operation returned */
    int order;          /* position among finished operations */
    int *clock;         /* shared counter giving order; may be NULL */
};

static inline struct op make_op(leash_chan_t *c, int64_t value)
{
    struct op o;

    memset(&o, 0, sizeof o);
    o.c = c;
    o.value = value;
    o.ok = -1;
    return o;
}

static inline void do_send(void *arg)
{
    struct op *o = arg;

    leash_chan_send(o->c, &o->value);
    o->done = 1;
    if (o->clock != NULL)
        o->order = (*o->clock)++;
}

static inline void do_recv(void *arg)
{
    struct op *o = arg;

    o->ok = leash_chan_recv(o->c, &o->value);
    o->done = 1;
    if (o->clock != NULL)
        o->order = (*o->clock)++;
}

#endif
