/*
 * Channels, with Go's semantics.
 *
 * Invariants:
 *   - count <= cap; the buffered values are the count slots from recvx;
 *   - a receiver waits only when the buffer is empty and no sender waits:
 *     recvq nonempty implies count == 0 and sendq empty of live waiters;
 *   - a sender waits only when the buffer is full: sendq nonempty implies
 *     count == cap;
 *   - a closed channel has no waiting senders or receivers: close wakes
 *     them all, receivers with ok false, senders to panic.
 * Waiters may be stale select waiters (their select already completed
 * through another case); leash__waitq_take skips them, and each select
 * removes its waiters on resume.
 */
#include "chan.h"

#include <errno.h>
#include <string.h>

LEASH_NOINLINE leash_chan_t *leash_chan_make(size_t elemsize, size_t cap)
{
    uintptr_t site = (uintptr_t)__builtin_return_address(0);
    leash_chan_t *c;
    size_t bytes;

    leash__init();
    if (elemsize > 65536 ||
        __builtin_mul_overflow(elemsize, cap, &bytes) ||
        bytes > ((size_t)1 << 40)) {
        errno = EINVAL;
        return NULL;
    }
    c = leash__gc_alloc(sizeof *c + bytes);
    if (c == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    c->elemsize = elemsize;
    c->cap = cap;
    c->site = site;
    return c;
}

/* The slot after i in the ring; no division on the hot path. */
static inline size_t next_slot(const leash_chan_t *c, size_t i)
{
    return i + 1 == c->cap ? 0 : i + 1;
}

static void copy_elem(void *dst, const void *src, size_t n)
{
    if (dst == NULL || n == 0)
        return;
    if (src == NULL)
        memset(dst, 0, n);
    else
        memcpy(dst, src, n);
}

bool leash__chan_try_send(leash_chan_t *c, const void *elem)
{
    leash__waiter_t *w;

    if (c->closed)
        leash_panic("send on closed channel");

    /* A waiting receiver takes the value directly. */
    w = leash__waitq_take(&c->recvq);
    if (w != NULL) {
        copy_elem(w->elem, elem, c->elemsize);
        w->success = true;
        leash__ready(w->g);
        return true;
    }
    if (c->count < c->cap) {
        copy_elem(c->buf + c->sendx * c->elemsize, elem, c->elemsize);
        c->sendx = next_slot(c, c->sendx);
        c->count++;
        return true;
    }
    return false;
}

bool leash__chan_try_recv(leash_chan_t *c, void *elem, bool *ok)
{
    leash__waiter_t *w = leash__waitq_take(&c->sendq);

    if (w != NULL) {
        if (c->cap == 0) {
            copy_elem(elem, w->elem, c->elemsize);
        } else {
            /* Buffer full: take its head, put the sender's value at the
             * tail, which is the same slot. */
            char *slot = c->buf + c->recvx * c->elemsize;

            copy_elem(elem, slot, c->elemsize);
            copy_elem(slot, w->elem, c->elemsize);
            c->recvx = next_slot(c, c->recvx);
            c->sendx = c->recvx;
        }
        w->success = true;
        leash__ready(w->g);
        *ok = true;
        return true;
    }
    if (c->count > 0) {
        char *slot = c->buf + c->recvx * c->elemsize;

        copy_elem(elem, slot, c->elemsize);
        memset(slot, 0, c->elemsize);
        c->recvx = next_slot(c, c->recvx);
        c->count--;
        *ok = true;
        return true;
    }
    if (c->closed) {
        copy_elem(elem, NULL, c->elemsize);
        *ok = false;
        return true;
    }
    return false;
}

LEASH_PARKS void leash_chan_send(leash_chan_t *c, const void *elem)
{
    leash__waiter_t w;

    leash__init();
    if (c == NULL) {
        leash__park(LEASH_WAIT_CHAN_SEND_NIL, LEASH_PRIM_CHAN, NULL, 0);
        leash__fatal("runtime: a send on a nil channel woke up");
    }
    if (leash__chan_try_send(c, elem))
        return;

    memset(&w, 0, sizeof w);
    w.g = leash__s.cur;
    w.elem = (void *)elem;
    leash__waitq_push(&c->sendq, &w);
    leash__park1(LEASH_WAIT_CHAN_SEND, LEASH_PRIM_CHAN, c);
    if (!w.success)
        leash_panic("send on closed channel");
}

LEASH_PARKS bool leash_chan_recv(leash_chan_t *c, void *elem)
{
    leash__waiter_t w;
    bool ok;

    leash__init();
    if (c == NULL) {
        leash__park(LEASH_WAIT_CHAN_RECV_NIL, LEASH_PRIM_CHAN, NULL, 0);
        leash__fatal("runtime: a receive on a nil channel woke up");
    }
    if (leash__chan_try_recv(c, elem, &ok))
        return ok;

    memset(&w, 0, sizeof w);
    w.g = leash__s.cur;
    w.elem = elem;
    leash__waitq_push(&c->recvq, &w);
    leash__park1(LEASH_WAIT_CHAN_RECV, LEASH_PRIM_CHAN, c);
    return w.success;
}

void leash_chan_close(leash_chan_t *c)
{
    leash__waiter_t *w;

    leash__init();
    if (c == NULL)
        leash_panic("close of nil channel");
    if (c->closed)
        leash_panic("close of closed channel");
    c->closed = true;

    while ((w = leash__waitq_take(&c->recvq)) != NULL) {
        copy_elem(w->elem, NULL, c->elemsize);
        w->success = false;
        leash__ready(w->g);
    }
    while ((w = leash__waitq_take(&c->sendq)) != NULL) {
        w->success = false;
        leash__ready(w->g);
    }
}

size_t leash_chan_len(const leash_chan_t *c)
{
    return c != NULL ? c->count : 0;
}

size_t leash_chan_cap(const leash_chan_t *c)
{
    return c != NULL ? c->cap : 0;
}
