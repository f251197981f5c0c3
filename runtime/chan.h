/* The channel object, shared by chan.c, select.c and the leak reports. */
#ifndef LEASH_CHAN_H
#define LEASH_CHAN_H

#include "internal.h"

struct leash_chan {
    size_t elemsize;
    size_t cap;            /* buffer slots */
    size_t count;          /* values in the buffer */
    size_t recvx;          /* next slot to receive from */
    size_t sendx;          /* next slot to send into */
    bool closed;
    leash_waitq_t recvq;   /* blocked receivers */
    leash_waitq_t sendq;   /* blocked senders */
    uintptr_t site;        /* return address of leash_chan_make */
    char buf[];            /* cap * elemsize bytes */
};

/* Operations that complete at once, for chan.c and select.c. Each returns
 * true when it completed; recv stores the ok flag in *ok. */
bool leash__chan_try_send(leash_chan_t *c, const void *elem);
bool leash__chan_try_recv(leash_chan_t *c, void *elem, bool *ok);

#endif
