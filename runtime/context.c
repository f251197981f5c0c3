/*
 * Contexts: cancellation trees with deadlines, as Go's context package.
 *
 * A derived context is linked into its parent's list of children unless the
 * parent is the background (which never cancels), so that a live parent
 * keeps its children, and goroutines waiting on them, reachable: exactly
 * Go's behaviour, which the leak analysis relies on. A context with a
 * deadline is also referenced by its pending timer.
 */
#include "chan.h"
#include "time_internal.h"

#include <errno.h>

struct leash_context {
    leash_context_t *parent;
    leash_context_t *children;      /* first child */
    leash_context_t *next, *prev;   /* siblings */
    leash_chan_t *done;             /* NULL for the background */
    enum leash_context_err err;
    int64_t deadline;               /* 0: none */
    leash_timer_t *timer;
};

static leash_context_t background;

leash_context_t *leash_context_background(void)
{
    return &background;
}

static void unlink_child(leash_context_t *c)
{
    leash_context_t *p = c->parent;

    if (p == NULL || p == &background)
        return;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (p->children == c)
        p->children = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void cancel(leash_context_t *c, enum leash_context_err err,
                   bool detach)
{
    leash_context_t *k;

    if (c->err != LEASH_CTX_OK || c == &background)
        return;
    c->err = err;
    leash_chan_close(c->done);
    if (c->timer != NULL)
        leash__timer_cancel(c->timer);
    while ((k = c->children) != NULL) {
        c->children = k->next;
        k->next = k->prev = NULL;
        k->parent = NULL;
        cancel(k, err, false);
    }
    if (detach)
        unlink_child(c);
}

static void on_deadline(leash_timer_t *t, int64_t now)
{
    cancel(t->arg, LEASH_CTX_DEADLINE_EXCEEDED, true);
}

static leash_context_t *derive(leash_context_t *parent, int64_t deadline,
                               uintptr_t site)
{
    leash_context_t *c;

    leash__init();
    if (parent == NULL) {
        errno = EINVAL;
        return NULL;
    }
    c = leash__gc_alloc(sizeof *c);
    if (c == NULL)
        return NULL;
    c->done = leash_chan_make(0, 0);
    if (c->done == NULL)
        return NULL;
    c->done->site = site;
    c->parent = parent;
    c->deadline = parent->deadline;
    if (deadline != 0 && (c->deadline == 0 || deadline < c->deadline))
        c->deadline = deadline;

    if (parent->err != LEASH_CTX_OK) {
        cancel(c, parent->err, false);
        return c;
    }
    if (parent != &background) {
        c->next = parent->children;
        if (c->next != NULL)
            c->next->prev = c;
        parent->children = c;
    }
    if (deadline != 0 && c->deadline == deadline) {
        if (deadline <= leash_now()) {
            cancel(c, LEASH_CTX_DEADLINE_EXCEEDED, true);
            return c;
        }
        c->timer = leash__gc_alloc(sizeof *c->timer);
        if (c->timer == NULL)
            return NULL;
        c->timer->index = -1;
        c->timer->fire = on_deadline;
        c->timer->arg = c;
        leash__timer_start(c->timer, deadline);
    }
    return c;
}

#define CALLER ((uintptr_t)__builtin_return_address(0))

LEASH_NOINLINE leash_context_t *
leash_context_with_cancel(leash_context_t *parent)
{
    return derive(parent, 0, CALLER);
}

LEASH_NOINLINE leash_context_t *
leash_context_with_deadline(leash_context_t *parent, int64_t deadline)
{
    return derive(parent, deadline, CALLER);
}

LEASH_NOINLINE leash_context_t *
leash_context_with_timeout(leash_context_t *parent, int64_t ns)
{
    /* Start the runtime before reading the clock: starting takes time. */
    leash__init();
    return derive(parent, leash__after_ns(ns), CALLER);
}

void leash_context_cancel(leash_context_t *ctx)
{
    if (ctx != NULL)
        cancel(ctx, LEASH_CTX_CANCELED, true);
}

leash_chan_t *leash_context_done(leash_context_t *ctx)
{
    return ctx != NULL ? ctx->done : NULL;
}

enum leash_context_err leash_context_err(leash_context_t *ctx)
{
    return ctx != NULL ? ctx->err : LEASH_CTX_OK;
}

const char *leash_context_err_string(enum leash_context_err err)
{
    switch (err) {
    case LEASH_CTX_OK: return "";
    case LEASH_CTX_CANCELED: return "context canceled";
    case LEASH_CTX_DEADLINE_EXCEEDED: return "context deadline exceeded";
    }
    return "?";
}

int64_t leash_context_deadline(leash_context_t *ctx)
{
    return ctx != NULL ? ctx->deadline : 0;
}
