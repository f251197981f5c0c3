/*
 * leash: goroutines for C with a leak-aware garbage collector.
 *
 * One OS thread runs every goroutine (1:N). The thread's own code (main, a
 * test body) is goroutine 1: it may block on every primitive below while the
 * scheduler runs the others. Nothing here may be called from another OS
 * thread.
 *
 * Misuse that Go treats as a panic (send on a closed channel, closing a
 * closed or nil channel, unlocking an unlocked mutex, a negative waitgroup
 * counter) prints "panic: <message>", the goroutine's stack, and aborts.
 *
 * Every primitive is usable as a struct member or a global initialized with
 * its LEASH_*_INIT macro or with zeros, as Go's zero values are.
 */
#ifndef LEASH_LEASH_H
#define LEASH_LEASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Goroutines                                                           */
/* ------------------------------------------------------------------ */

/*
 * Start a goroutine running fn(arg). Does not block: the new goroutine
 * becomes runnable and runs when the caller blocks or yields. A NULL fn
 * panics ("go of nil func value").
 * Result: the new goroutine's id (> 1), or -1 with errno ENOMEM when no
 * stack could be mapped.
 */
int64_t leash_go(void (*fn)(void *arg), void *arg);

/* Let every other runnable goroutine run once. Never blocks for good. */
void leash_yield(void);

/* The id of the calling goroutine; goroutine 1 is the thread's own code. */
int64_t leash_goid(void);

/*
 * Set the stack size of goroutines started from now on, in bytes (rounded up
 * to pages; at least 64 KiB, because the collector may clear up to 16 KiB
 * below the stack pointer). The default is 256 KiB, or LEASH_STACK_SIZE from
 * the environment. Result: 0, or -1 with errno EINVAL.
 */
int leash_set_stack_size(size_t bytes);

/*
 * Run the other goroutines until none is runnable, waiting for timers due
 * within max_ns (0: none). Goroutines that never stop running (a polling
 * loop, another settler) end it once max_ns has passed and they have had
 * 1 000 000 turns in all. The harness uses it to let goroutines about to
 * finish finish. Result: the number of goroutines other than the caller still
 * alive, leaked ones included.
 */
size_t leash_settle(int64_t max_ns);

/* ------------------------------------------------------------------ */
/* Channels                                                             */
/* ------------------------------------------------------------------ */

typedef struct leash_chan leash_chan_t;

/*
 * Make a channel of elements of elemsize bytes (0 is allowed) with a buffer
 * of cap elements (0: unbuffered). The channel is collected memory: it is
 * never freed by hand and lives while anything points to it.
 * Result: the channel, or NULL with errno EINVAL (sizes overflow) or ENOMEM.
 */
leash_chan_t *leash_chan_make(size_t elemsize, size_t cap);

/*
 * Send the elemsize bytes at elem. Blocks until a receiver takes it or the
 * buffer has room. A NULL channel blocks forever; a closed one panics.
 */
void leash_chan_send(leash_chan_t *c, const void *elem);

/*
 * Receive one element into elem (NULL discards it). Blocks until a value
 * arrives or the channel is closed. Result: true for a value sent, false
 * once the channel is closed and drained (elem is then zeroed). A NULL
 * channel blocks forever.
 */
bool leash_chan_recv(leash_chan_t *c, void *elem);

/* Close the channel; waiting receivers get false. Closing a closed or NULL
 * channel panics. Never blocks. */
void leash_chan_close(leash_chan_t *c);

/* Buffered elements now, and buffer capacity. 0 for a NULL channel. */
size_t leash_chan_len(const leash_chan_t *c);
size_t leash_chan_cap(const leash_chan_t *c);

/* ------------------------------------------------------------------ */
/* Select                                                               */
/* ------------------------------------------------------------------ */

enum leash_dir { LEASH_RECV = 0, LEASH_SEND = 1 };

typedef struct leash_case {
    leash_chan_t *chan;  /* NULL: this case is never ready */
    enum leash_dir dir;  /* LEASH_SEND or LEASH_RECV */
    void *elem;          /* send: value to send; recv: destination or NULL */
    bool ok;             /* out, recv only: false when closed and drained */
} leash_case_t;

#define LEASH_SEND_CASE(ch, ptr) \
    ((leash_case_t){ .chan = (ch), .dir = LEASH_SEND, .elem = (void *)(ptr) })
#define LEASH_RECV_CASE(ch, ptr) \
    ((leash_case_t){ .chan = (ch), .dir = LEASH_RECV, .elem = (void *)(ptr) })

/*
 * Go's select over n cases. When several are ready one is chosen uniformly
 * at random. With has_default, returns -1 at once if none is ready;
 * otherwise blocks until one is (forever when n is 0 or every channel is
 * NULL). A ready send case on a closed channel panics.
 * Result: the index of the case that ran, or -1 for the default.
 */
int leash_select(leash_case_t *cases, size_t n, bool has_default);

/* ------------------------------------------------------------------ */
/* Sync                                                                 */
/* ------------------------------------------------------------------ */

/* Internal wait queue of a primitive; treat as opaque. */
typedef struct leash_waitq {
    struct leash__waiter *head;
    struct leash__waiter *tail;
} leash_waitq_t;

typedef struct leash_mutex {
    int64_t owner;        /* id of the holding goroutine, 0 when unlocked */
    leash_waitq_t waiters;
    uintptr_t site;       /* where it was first used */
} leash_mutex_t;
#define LEASH_MUTEX_INIT { 0 }

/* Lock; blocks while another goroutine holds it (also when the caller
 * does: locking twice blocks forever, as in Go). */
void leash_mutex_lock(leash_mutex_t *m);
/* Lock when free. Result: true when locked. Never blocks. */
bool leash_mutex_trylock(leash_mutex_t *m);
/* Unlock; any goroutine may unlock. Unlocking an unlocked mutex panics. */
void leash_mutex_unlock(leash_mutex_t *m);

typedef struct leash_rwmutex {
    int64_t writer;        /* id of the goroutine holding the write lock */
    int32_t readers;       /* read locks held */
    int32_t writers_waiting;
    leash_waitq_t rwait;   /* blocked readers */
    leash_waitq_t wwait;   /* blocked writers */
    uintptr_t site;
} leash_rwmutex_t;
#define LEASH_RWMUTEX_INIT { 0 }

/* Write lock; blocks while any lock is held. */
void leash_rwmutex_lock(leash_rwmutex_t *rw);
void leash_rwmutex_unlock(leash_rwmutex_t *rw);
/* Read lock; blocks while a writer holds or waits for the lock, so that a
 * waiting writer is not starved (Go's rule; a recursive read lock can
 * therefore deadlock). */
void leash_rwmutex_rlock(leash_rwmutex_t *rw);
void leash_rwmutex_runlock(leash_rwmutex_t *rw);
bool leash_rwmutex_trylock(leash_rwmutex_t *rw);
bool leash_rwmutex_tryrlock(leash_rwmutex_t *rw);

typedef struct leash_waitgroup {
    int64_t count;
    leash_waitq_t waiters;
    uintptr_t site;
} leash_waitgroup_t;
#define LEASH_WAITGROUP_INIT { 0 }

/* Add delta (may be negative); a counter below zero panics. Reaching zero
 * wakes every waiter. */
void leash_waitgroup_add(leash_waitgroup_t *wg, int64_t delta);
void leash_waitgroup_done(leash_waitgroup_t *wg);
/* Block until the counter is zero. */
void leash_waitgroup_wait(leash_waitgroup_t *wg);

typedef struct leash_cond {
    uintptr_t site;
    leash_waitq_t waiters;
} leash_cond_t;
#define LEASH_COND_INIT { 0 }

/* Unlock m, block until signalled, lock m again. m must be held. */
void leash_cond_wait(leash_cond_t *c, leash_mutex_t *m);
/* Wake one waiter, or all. Never block. */
void leash_cond_signal(leash_cond_t *c);
void leash_cond_broadcast(leash_cond_t *c);

typedef struct leash_once {
    int32_t done;
    leash_mutex_t m;
} leash_once_t;
#define LEASH_ONCE_INIT { 0 }

/* Run fn(arg) the first time only; later callers block until it returned
 * (wait reason "sync.Mutex.Lock", as in Go). */
void leash_once_do(leash_once_t *o, void (*fn)(void *arg), void *arg);

/* ------------------------------------------------------------------ */
/* Time                                                                 */
/* ------------------------------------------------------------------ */

#define LEASH_NANOSECOND  ((int64_t)1)
#define LEASH_MICROSECOND ((int64_t)1000)
#define LEASH_MILLISECOND ((int64_t)1000000)
#define LEASH_SECOND      ((int64_t)1000000000)

/* Durations are int64_t nanoseconds. A duration so long that the time it
 * ends would overflow (INT64_MAX, say) never ends. */

/* Monotonic clock in nanoseconds. */
int64_t leash_now(void);

/* Block the calling goroutine for ns nanoseconds (wait reason "sleep"). */
void leash_sleep(int64_t ns);

typedef struct leash_timer leash_timer_t;

/*
 * A timer whose channel (leash_timer_chan) receives the leash_now() of its
 * firing, an int64_t, once after ns. A ticker sends every period ns and
 * drops ticks a slow reader misses. Both are collected memory.
 * Result: NULL with errno ENOMEM or EINVAL (ticker period <= 0).
 */
leash_timer_t *leash_timer_new(int64_t ns);
leash_timer_t *leash_ticker_new(int64_t period);
leash_chan_t *leash_timer_chan(const leash_timer_t *t);

/* Stop the timer. As in Go 1.23, no stale value is received afterwards.
 * Result: true when this call stopped a pending timer. */
bool leash_timer_stop(leash_timer_t *t);
/* Restart with a new duration (a ticker: a new period). Discards a value not
 * yet received. Result: true when the timer was pending. */
bool leash_timer_reset(leash_timer_t *t, int64_t ns);

/* A channel receiving once after ns: leash_timer_chan(leash_timer_new(ns)). */
leash_chan_t *leash_after(int64_t ns);

/* ------------------------------------------------------------------ */
/* Contexts                                                             */
/* ------------------------------------------------------------------ */

typedef struct leash_context leash_context_t;

enum leash_context_err {
    LEASH_CTX_OK = 0,
    LEASH_CTX_CANCELED = 1,          /* "context canceled" */
    LEASH_CTX_DEADLINE_EXCEEDED = 2, /* "context deadline exceeded" */
};

/* The root context: never cancelled, no deadline, done channel NULL. */
leash_context_t *leash_context_background(void);

/*
 * Derived contexts. Cancelling a parent cancels its children. Call
 * leash_context_cancel when done, or the context (and a goroutine waiting
 * on it) stays until its parent is cancelled, as in Go.
 * Result: NULL with errno EINVAL (NULL parent) or ENOMEM.
 */
leash_context_t *leash_context_with_cancel(leash_context_t *parent);
leash_context_t *leash_context_with_deadline(leash_context_t *parent,
                                             int64_t deadline);
leash_context_t *leash_context_with_timeout(leash_context_t *parent,
                                            int64_t ns);

/* Cancel ctx and its descendants; later calls do nothing. */
void leash_context_cancel(leash_context_t *ctx);

/* A channel closed when ctx is done; NULL for the background context. */
leash_chan_t *leash_context_done(leash_context_t *ctx);

/* LEASH_CTX_OK while not done, else why. */
enum leash_context_err leash_context_err(leash_context_t *ctx);
const char *leash_context_err_string(enum leash_context_err err);

/* Deadline of ctx, or 0 when it has none. */
int64_t leash_context_deadline(leash_context_t *ctx);

/* ------------------------------------------------------------------ */
/* Memory                                                               */
/* ------------------------------------------------------------------ */

/* Zeroed collected memory: never freed by hand, reclaimed when nothing
 * points to it. Result: NULL with errno ENOMEM. */
void *leash_alloc(size_t size);

/* Force a full collection. */
void leash_gc(void);

/*
 * Memory the runtime cannot see by itself: pages from mmap, shared memory,
 * a custom allocator's arena (malloc'd memory, globals, thread-local
 * variables and goroutine stacks are seen). A pointer stored only there
 * is invisible: what it points to may be collected, and a goroutine
 * waiting on it may be judged leaked. Registering [lo, hi) makes the range
 * a root for the collector and for the leak analysis. The range must stay
 * mapped and readable while registered (each collection reads it): remove
 * it before unmapping it; a range added twice is removed twice.
 * Result: 0, or -1 with errno EINVAL (lo >= hi; removing a range that was
 * not added) or ENOMEM. Never blocks.
 */
int leash_add_roots(void *lo, void *hi);
int leash_remove_roots(void *lo, void *hi);

/* ------------------------------------------------------------------ */
/* Panic                                                                */
/* ------------------------------------------------------------------ */

/* Print "panic: <message>" and the calling goroutine's stack, then abort. */
_Noreturn void leash_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif

#endif
