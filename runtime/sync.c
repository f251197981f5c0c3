/*
 * Sync: mutex, rwmutex, waitgroup, cond and once, with Go's semantics.
 * Every primitive is valid when zeroed; its first public use records the
 * caller's return address as its site, for leak reports. A blocked
 * goroutine waits on a leash__waiter_t on its own stack, queued on the
 * primitive, and parks with the primitive's wait reason and address.
 *
 * Invariants:
 *   - mutex: owner == 0 implies waiters is empty. Unlock hands the lock to
 *     the first waiter (owner becomes its id before it runs), so a waiter
 *     never finds the lock taken by a late comer (no barging) and never
 *     retries;
 *   - rwmutex: writer != 0 implies readers == 0; writers_waiting is the
 *     length of wwait; wwait nonempty implies writer != 0 or readers > 0;
 *     rwait nonempty implies writer != 0 or writers_waiting > 0 (a waiting
 *     writer holds new readers back). The lock is handed over as the
 *     mutex's is: woken readers are counted in readers, a woken writer is
 *     already in writer;
 *   - waitgroup: count >= 0; waiters nonempty implies count > 0;
 *   - cond: waiters holds exactly the goroutines inside leash_cond_wait
 *     that no signal has taken yet, oldest first;
 *   - once: done is set only after fn returned, under o->m.
 *
 * Each operation reads and changes its primitive in one critical section,
 * between SYNC_LOCK and SYNC_UNLOCK (or PARK_UNLOCK). On one thread nothing
 * can interleave there, so they are empty; an M:N scheduler puts a
 * per-primitive spin lock in them. Lock order: a cond before its mutex.
 */
#include "internal.h"

#include <string.h>

/* Where an M:N scheduler takes and drops the primitive's lock. */
#define SYNC_LOCK(p)   ((void)(p))
#define SYNC_UNLOCK(p) ((void)(p))

/* leash__waiter_t.flags of rwmutex waiters, so a report can tell them
 * apart without knowing which queue a waiter is on. */
enum { RW_READER = 1, RW_WRITER = 2 };

/*
 * Park the current goroutine, whose waiter is queued on prim, and drop
 * prim's lock. With M:N the lock must be dropped only once the goroutine is
 * marked waiting (Go's gopark does it through unlockf), or a waker could
 * ready a goroutine that is still running. A macro, not a function, so
 * that tracebacks show the public call as the frame above leash__park,
 * at the line of its park.
 */
#define PARK_UNLOCK(prim, why, kind) leash__park1((why), (kind), (prim))

static inline void waiter_init(leash__waiter_t *w, int32_t flags)
{
    memset(w, 0, sizeof *w);
    w->g = leash__s.cur;
    w->flags = flags;
}

static inline void set_site(uintptr_t *site, void *pc)
{
    if (*site == 0)
        *site = (uintptr_t)pc;
}

/* ---- Mutex ------------------------------------------------------- */

LEASH_PARKS void leash_mutex_lock(leash_mutex_t *m)
{
    leash__waiter_t w;

    leash__init();
    set_site(&m->site, __builtin_return_address(0));

    SYNC_LOCK(m);
    if (m->owner == 0) {
        m->owner = leash__s.cur->id;
        SYNC_UNLOCK(m);
        return;
    }
    waiter_init(&w, 0);
    leash__waitq_push(&m->waiters, &w);
    PARK_UNLOCK(m, LEASH_WAIT_MUTEX, LEASH_PRIM_MUTEX);
    /* Unlock made this goroutine the owner before readying it. Owner is
     * not checked here: any goroutine may unlock, even before this one
     * runs again. */
}

LEASH_NOINLINE bool leash_mutex_trylock(leash_mutex_t *m)
{
    bool locked = false;

    leash__init();
    set_site(&m->site, __builtin_return_address(0));

    SYNC_LOCK(m);
    if (m->owner == 0) {
        m->owner = leash__s.cur->id;
        locked = true;
    }
    SYNC_UNLOCK(m);
    return locked;
}

/* The unlock shared by leash_mutex_unlock and leash_cond_wait. */
static void mutex_unlock(leash_mutex_t *m)
{
    leash__waiter_t *w;

    SYNC_LOCK(m);
    if (m->owner == 0) {
        SYNC_UNLOCK(m);
        leash_panic("sync: unlock of unlocked mutex");
    }
    /* Hand over to the oldest waiter: it owns the lock before it runs,
     * so nobody can take the lock between this unlock and its wake. */
    w = leash__waitq_take(&m->waiters);
    if (w != NULL) {
        m->owner = w->g->id;
        leash__ready(w->g);
    } else {
        m->owner = 0;
    }
    SYNC_UNLOCK(m);
}

LEASH_NOINLINE void leash_mutex_unlock(leash_mutex_t *m)
{
    leash__init();
    set_site(&m->site, __builtin_return_address(0));
    mutex_unlock(m);
}

/* ---- RWMutex ----------------------------------------------------- */

LEASH_PARKS void leash_rwmutex_lock(leash_rwmutex_t *rw)
{
    leash__waiter_t w;

    leash__init();
    set_site(&rw->site, __builtin_return_address(0));

    SYNC_LOCK(rw);
    if (rw->writer == 0 && rw->readers == 0) {
        rw->writer = leash__s.cur->id;
        SYNC_UNLOCK(rw);
        return;
    }
    waiter_init(&w, RW_WRITER);
    rw->writers_waiting++;
    leash__waitq_push(&rw->wwait, &w);
    PARK_UNLOCK(rw, LEASH_WAIT_RWMUTEX_W, LEASH_PRIM_RWMUTEX);
    /* The unlock that woke this goroutine made it the writer. */
}

/* Give the write lock to the oldest waiting writer, if any. Called with
 * the lock free (no writer, no readers). */
static void rw_handoff_writer(leash_rwmutex_t *rw)
{
    leash__waiter_t *w = leash__waitq_take(&rw->wwait);

    if (w == NULL)
        return;
    rw->writers_waiting--;
    rw->writer = w->g->id;
    leash__ready(w->g);
}

LEASH_NOINLINE void leash_rwmutex_unlock(leash_rwmutex_t *rw)
{
    leash__waiter_t *w;

    leash__init();
    set_site(&rw->site, __builtin_return_address(0));

    SYNC_LOCK(rw);
    if (rw->writer == 0) {
        SYNC_UNLOCK(rw);
        leash_panic("sync: Unlock of unlocked RWMutex");
    }
    rw->writer = 0;

    /* Readers that queued behind this writer go first, all together, as
     * in Go; a waiting writer then waits for them to leave. */
    if (rw->rwait.head != NULL) {
        while ((w = leash__waitq_take(&rw->rwait)) != NULL) {
            rw->readers++;
            leash__ready(w->g);
        }
    } else {
        rw_handoff_writer(rw);
    }
    SYNC_UNLOCK(rw);
}

LEASH_PARKS void leash_rwmutex_rlock(leash_rwmutex_t *rw)
{
    leash__waiter_t w;

    leash__init();
    set_site(&rw->site, __builtin_return_address(0));

    /* A waiting writer blocks new readers, or a stream of readers could
     * starve it. */
    SYNC_LOCK(rw);
    if (rw->writer == 0 && rw->writers_waiting == 0) {
        rw->readers++;
        SYNC_UNLOCK(rw);
        return;
    }
    waiter_init(&w, RW_READER);
    leash__waitq_push(&rw->rwait, &w);
    PARK_UNLOCK(rw, LEASH_WAIT_RWMUTEX_R, LEASH_PRIM_RWMUTEX);
    /* The unlocking writer counted this goroutine in readers. */
}

LEASH_NOINLINE void leash_rwmutex_runlock(leash_rwmutex_t *rw)
{
    leash__init();
    set_site(&rw->site, __builtin_return_address(0));

    SYNC_LOCK(rw);
    if (rw->readers <= 0) {
        SYNC_UNLOCK(rw);
        leash_panic("sync: RUnlock of unlocked RWMutex");
    }
    rw->readers--;
    if (rw->readers == 0)
        rw_handoff_writer(rw);
    SYNC_UNLOCK(rw);
}

LEASH_NOINLINE bool leash_rwmutex_trylock(leash_rwmutex_t *rw)
{
    bool locked = false;

    leash__init();
    set_site(&rw->site, __builtin_return_address(0));

    SYNC_LOCK(rw);
    if (rw->writer == 0 && rw->readers == 0) {
        rw->writer = leash__s.cur->id;
        locked = true;
    }
    SYNC_UNLOCK(rw);
    return locked;
}

LEASH_NOINLINE bool leash_rwmutex_tryrlock(leash_rwmutex_t *rw)
{
    bool locked = false;

    leash__init();
    set_site(&rw->site, __builtin_return_address(0));

    /* Fails while a writer waits, as Go's TryRLock does. */
    SYNC_LOCK(rw);
    if (rw->writer == 0 && rw->writers_waiting == 0) {
        rw->readers++;
        locked = true;
    }
    SYNC_UNLOCK(rw);
    return locked;
}

/* ---- WaitGroup --------------------------------------------------- */

static void waitgroup_add(leash_waitgroup_t *wg, int64_t delta)
{
    leash__waiter_t *w;
    int64_t count;

    SYNC_LOCK(wg);
    /* An overflow wraps negative in Go's 32-bit counter; say the same. */
    if (__builtin_add_overflow(wg->count, delta, &count) || count < 0) {
        SYNC_UNLOCK(wg);
        leash_panic("sync: negative WaitGroup counter");
    }
    wg->count = count;
    if (count == 0) {
        while ((w = leash__waitq_take(&wg->waiters)) != NULL)
            leash__ready(w->g);
    }
    SYNC_UNLOCK(wg);
}

LEASH_NOINLINE void leash_waitgroup_add(leash_waitgroup_t *wg, int64_t delta)
{
    leash__init();
    set_site(&wg->site, __builtin_return_address(0));
    waitgroup_add(wg, delta);
}

LEASH_NOINLINE void leash_waitgroup_done(leash_waitgroup_t *wg)
{
    leash__init();
    set_site(&wg->site, __builtin_return_address(0));
    waitgroup_add(wg, -1);
}

LEASH_PARKS void leash_waitgroup_wait(leash_waitgroup_t *wg)
{
    leash__waiter_t w;

    leash__init();
    set_site(&wg->site, __builtin_return_address(0));

    SYNC_LOCK(wg);
    if (wg->count == 0) {
        SYNC_UNLOCK(wg);
        return;
    }
    waiter_init(&w, 0);
    leash__waitq_push(&wg->waiters, &w);
    PARK_UNLOCK(wg, LEASH_WAIT_WAITGROUP, LEASH_PRIM_WAITGROUP);
}

/* ---- Cond -------------------------------------------------------- */

LEASH_PARKS void leash_cond_wait(leash_cond_t *c, leash_mutex_t *m)
{
    leash__waiter_t w;

    leash__init();
    set_site(&c->site, __builtin_return_address(0));
    set_site(&m->site, __builtin_return_address(0));

    /* Queue before unlocking m: a signal sent by whoever takes m next
     * must find this waiter. With M:N, c stays locked across the unlock of
     * m until the park (lock order: cond, then mutex). */
    SYNC_LOCK(c);
    waiter_init(&w, 0);
    leash__waitq_push(&c->waiters, &w);
    mutex_unlock(m);
    PARK_UNLOCK(c, LEASH_WAIT_COND, LEASH_PRIM_COND);

    /* Not a handoff: the woken goroutine competes for m like any other
     * caller of lock, and shows as blocked in lock while it waits. */
    leash_mutex_lock(m);
}

LEASH_NOINLINE void leash_cond_signal(leash_cond_t *c)
{
    leash__waiter_t *w;

    leash__init();
    set_site(&c->site, __builtin_return_address(0));

    SYNC_LOCK(c);
    w = leash__waitq_take(&c->waiters);
    if (w != NULL)
        leash__ready(w->g);
    SYNC_UNLOCK(c);
}

LEASH_NOINLINE void leash_cond_broadcast(leash_cond_t *c)
{
    leash__waiter_t *w;

    leash__init();
    set_site(&c->site, __builtin_return_address(0));

    SYNC_LOCK(c);
    while ((w = leash__waitq_take(&c->waiters)) != NULL)
        leash__ready(w->g);
    SYNC_UNLOCK(c);
}

/* ---- Once -------------------------------------------------------- */

LEASH_PARKS void leash_once_do(leash_once_t *o, void (*fn)(void *arg),
                               void *arg)
{
    leash__init();
    set_site(&o->m.site, __builtin_return_address(0));

    /* M:N: an acquire load, paired with the release store below, so that
     * a caller who sees done also sees what fn wrote. */
    if (o->done)
        return;

    /* Later callers block on o->m until fn has returned; done is set only
     * then, so no caller returns before fn finished. */
    leash_mutex_lock(&o->m);
    if (!o->done) {
        fn(arg);
        o->done = 1;
    }
    mutex_unlock(&o->m);
}
