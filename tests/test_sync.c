/*
 * Tests of runtime/sync.c: each rule of the mutex, rwmutex, waitgroup,
 * cond and once has a test that fails when the rule breaks. Goroutines
 * other than the test body report through cr_expect (which never jumps
 * off their stack) and shared counters; the body asserts.
 *
 * The scheduler is driven by hand: leash_yield() lets every runnable
 * goroutine run once, leash_settle(0) runs them until all are blocked or
 * gone, so each test builds the exact interleaving it checks.
 */
#include <criterion/criterion.h>
#include <leash/leash.h>
#include <string.h>

#include "internal.h"
#include "util.h"

/* ---- Mutex ------------------------------------------------------- */

struct excl {
    leash_mutex_t m;
    int counter;
    int inside;
    int max_inside;
};

#define EXCL_WORKERS 8
#define EXCL_ITERS 50

/* A read-yield-write increment: without mutual exclusion the other
 * workers run during the yields and updates are lost. */
static void excl_worker(void *arg)
{
    struct excl *s = arg;
    int i, v;

    for (i = 0; i < EXCL_ITERS; i++) {
        leash_mutex_lock(&s->m);
        if (++s->inside > s->max_inside)
            s->max_inside = s->inside;
        v = s->counter;
        yield_n(2);
        s->counter = v + 1;
        s->inside--;
        leash_mutex_unlock(&s->m);
        leash_yield();
    }
}

Test(sync_mutex, mutual_exclusion)
{
    struct excl s;
    int i;

    memset(&s, 0, sizeof s);
    for (i = 0; i < EXCL_WORKERS; i++)
        cr_assert_gt(leash_go(excl_worker, &s), 1);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.counter, EXCL_WORKERS * EXCL_ITERS);
    cr_assert_eq(s.max_inside, 1);
    cr_assert_eq(s.m.owner, 0);
    cr_assert_null(s.m.waiters.head);
}

struct fifo {
    leash_mutex_t m;
    struct events ev;
};

struct fifo_arg {
    struct fifo *f;
    int idx;
};

static void fifo_worker(void *arg)
{
    struct fifo_arg *a = arg;

    leash_mutex_lock(&a->f->m);
    event(&a->f->ev, a->idx);
    leash_yield();
    leash_mutex_unlock(&a->f->m);
}

/* Unlock hands the mutex to the oldest waiter before it runs: the
 * unlocker cannot take it back (no barging) and waiters get it in the
 * order they queued. */
Test(sync_mutex, fifo_handoff)
{
    enum { N = 5 };
    static const int want[] = { 0, 1, 2, 3, 4, 99 };
    struct fifo f;
    struct fifo_arg a[N];
    int64_t ids[N];
    int i;

    memset(&f, 0, sizeof f);
    leash_mutex_lock(&f.m);
    cr_assert_eq(f.m.owner, leash_goid());
    for (i = 0; i < N; i++) {
        a[i].f = &f;
        a[i].idx = i;
        ids[i] = leash_go(fifo_worker, &a[i]);
    }
    cr_assert_eq(leash_settle(0), N);
    cr_assert_eq(f.ev.n, 0);
    for (i = 0; i < N; i++)
        assert_parked(ids[i], LEASH_WAIT_MUTEX, LEASH_PRIM_MUTEX, &f.m);

    leash_mutex_unlock(&f.m);
    cr_assert_eq(f.m.owner, ids[0], "unlock did not hand over");
    cr_assert_not(leash_mutex_trylock(&f.m), "the unlocker barged in");

    /* Queue behind the four still waiting. */
    leash_mutex_lock(&f.m);
    event(&f.ev, 99);
    assert_events(&f.ev, want, N + 1);
    leash_mutex_unlock(&f.m);
    cr_assert_eq(leash_settle(0), 0);
}

struct try_arg {
    leash_mutex_t *m;
    int result;
};

static void try_worker(void *arg)
{
    struct try_arg *t = arg;

    t->result = leash_mutex_trylock(t->m) ? 1 : 0;
}

Test(sync_mutex, trylock)
{
    leash_mutex_t m = LEASH_MUTEX_INIT;
    struct try_arg t = { &m, -1 };

    cr_assert(leash_mutex_trylock(&m));
    cr_assert_eq(m.owner, leash_goid());
    cr_assert_not(leash_mutex_trylock(&m), "trylock is not recursive");

    leash_go(try_worker, &t);
    leash_settle(0);
    cr_assert_eq(t.result, 0, "another goroutine took a held mutex");
    cr_assert_eq(m.owner, leash_goid());

    leash_mutex_unlock(&m);
    cr_assert_eq(m.owner, 0);
    leash_go(try_worker, &t);
    leash_settle(0);
    cr_assert_eq(t.result, 1);
    cr_assert_neq(m.owner, 0);
    cr_assert_neq(m.owner, leash_goid());
    cr_assert_not(leash_mutex_trylock(&m));
    leash_mutex_unlock(&m);
}

static void unlock_worker(void *arg)
{
    leash_mutex_unlock(arg);
}

/* Go lets any goroutine unlock. */
Test(sync_mutex, unlock_from_other_goroutine)
{
    leash_mutex_t m = LEASH_MUTEX_INIT;

    leash_mutex_lock(&m);
    leash_go(unlock_worker, &m);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(m.owner, 0);
    cr_assert(leash_mutex_trylock(&m));
    leash_mutex_unlock(&m);
}

struct twice {
    leash_mutex_t m;
    int step;
};

static void twice_worker(void *arg)
{
    struct twice *t = arg;

    leash_mutex_lock(&t->m);
    t->step = 1;
    leash_mutex_lock(&t->m);
    t->step = 2;
    leash_mutex_unlock(&t->m);
}

/* No recursion: a second lock by the holder blocks until someone
 * unlocks. */
Test(sync_mutex, lock_twice_blocks)
{
    struct twice t;
    int64_t id;

    memset(&t, 0, sizeof t);
    id = leash_go(twice_worker, &t);
    cr_assert_eq(leash_settle(0), 1);
    cr_assert_eq(t.step, 1);
    cr_assert_eq(t.m.owner, id);
    assert_parked(id, LEASH_WAIT_MUTEX, LEASH_PRIM_MUTEX, &t.m);

    leash_mutex_unlock(&t.m);
    cr_assert_eq(t.m.owner, id);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(t.step, 2);
    cr_assert_eq(t.m.owner, 0);
}

static void lock_unlock_worker(void *arg)
{
    leash_mutex_lock(arg);
    leash_mutex_unlock(arg);
}

Test(sync_mutex, wait_reason_recorded)
{
    leash_mutex_t m = LEASH_MUTEX_INIT;
    leash__g_t *g;
    int64_t id;

    leash_mutex_lock(&m);
    id = leash_go(lock_unlock_worker, &m);
    leash_settle(0);
    assert_parked(id, LEASH_WAIT_MUTEX, LEASH_PRIM_MUTEX, &m);
    g = find_g(id);
    cr_assert_str_eq(leash__wait_name(g->wait), "sync.Mutex.Lock");
    cr_assert(leash__wait_is_candidate(g->wait));

    leash_mutex_unlock(&m);
    cr_assert_eq(g->wait, LEASH_WAIT_NONE, "ready did not clear the wait");
    cr_assert_eq(leash_settle(0), 0);
}

/* ---- RWMutex ----------------------------------------------------- */

struct rw {
    leash_rwmutex_t rw;
    int readers_inside;
    int max_readers;
    int writer_inside;
    int violations;
    int release;
    struct events ev;
};

static void reader_enter(struct rw *s)
{
    if (s->writer_inside)
        s->violations++;
    if (++s->readers_inside > s->max_readers)
        s->max_readers = s->readers_inside;
}

static void parked_reader(void *arg)
{
    struct rw *s = arg;

    leash_rwmutex_rlock(&s->rw);
    reader_enter(s);
    while (!s->release)
        leash_yield();
    s->readers_inside--;
    leash_rwmutex_runlock(&s->rw);
}

Test(sync_rwmutex, many_readers_at_once)
{
    enum { N = 6 };
    struct rw s;
    int i;

    memset(&s, 0, sizeof s);
    leash_rwmutex_rlock(&s.rw);
    for (i = 0; i < N; i++)
        leash_go(parked_reader, &s);
    leash_yield();
    cr_assert_eq(s.readers_inside, N, "readers excluded each other");
    cr_assert_eq(s.rw.readers, N + 1);
    cr_assert(leash_rwmutex_tryrlock(&s.rw));
    cr_assert_not(leash_rwmutex_trylock(&s.rw));
    leash_rwmutex_runlock(&s.rw);

    s.release = 1;
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.readers_inside, 0);
    cr_assert_eq(s.rw.readers, 1);
    leash_rwmutex_runlock(&s.rw);
    cr_assert_eq(s.rw.readers, 0);
    cr_assert(leash_rwmutex_trylock(&s.rw));
    leash_rwmutex_unlock(&s.rw);
}

enum { EV_READER = 100, EV_WRITER = 200 };

static void reader_once(void *arg)
{
    struct rw *s = arg;

    leash_rwmutex_rlock(&s->rw);
    reader_enter(s);
    event(&s->ev, EV_READER);
    leash_yield();
    s->readers_inside--;
    leash_rwmutex_runlock(&s->rw);
}

static void writer_once(void *arg)
{
    struct rw *s = arg;

    leash_rwmutex_lock(&s->rw);
    if (s->writer_inside || s->readers_inside)
        s->violations++;
    s->writer_inside = 1;
    event(&s->ev, EV_WRITER);
    leash_yield();
    s->writer_inside = 0;
    leash_rwmutex_unlock(&s->rw);
}

/* A held write lock keeps readers and writers out; its unlock lets all
 * the waiting readers in together, then the writer after them. */
Test(sync_rwmutex, writer_excludes_readers)
{
    enum { N = 4 };
    static const int want[] = { EV_READER, EV_READER, EV_READER,
                                EV_READER, EV_WRITER };
    struct rw s;
    int64_t rid[N], wid;
    int i;

    memset(&s, 0, sizeof s);
    leash_rwmutex_lock(&s.rw);
    cr_assert_eq(s.rw.writer, leash_goid());
    for (i = 0; i < N; i++)
        rid[i] = leash_go(reader_once, &s);
    wid = leash_go(writer_once, &s);
    cr_assert_eq(leash_settle(0), N + 1);
    cr_assert_eq(s.ev.n, 0, "someone entered under a write lock");
    cr_assert_eq(s.rw.readers, 0);
    cr_assert_eq(s.rw.writers_waiting, 1);
    for (i = 0; i < N; i++)
        assert_parked(rid[i], LEASH_WAIT_RWMUTEX_R, LEASH_PRIM_RWMUTEX,
                      &s.rw);
    assert_parked(wid, LEASH_WAIT_RWMUTEX_W, LEASH_PRIM_RWMUTEX, &s.rw);
    cr_assert_not(leash_rwmutex_tryrlock(&s.rw));
    cr_assert_not(leash_rwmutex_trylock(&s.rw));

    leash_rwmutex_unlock(&s.rw);
    cr_assert_eq(s.rw.writer, 0);
    cr_assert_eq(s.rw.readers, N, "readers were not let in together");
    cr_assert_eq(s.rw.writers_waiting, 1);
    cr_assert_eq(leash_settle(0), 0);
    assert_events(&s.ev, want, N + 1);
    cr_assert_eq(s.max_readers, N);
    cr_assert_eq(s.violations, 0);
    cr_assert_eq(s.rw.writer, 0);
    cr_assert_eq(s.rw.writers_waiting, 0);
}

/* Readers that queued behind a writer go before a writer that queued
 * earlier, as in Go. */
Test(sync_rwmutex, unlock_prefers_waiting_readers)
{
    static const int want[] = { EV_READER, EV_WRITER };
    struct rw s;

    memset(&s, 0, sizeof s);
    leash_rwmutex_lock(&s.rw);
    leash_go(writer_once, &s);
    leash_go(reader_once, &s);
    cr_assert_eq(leash_settle(0), 2);
    leash_rwmutex_unlock(&s.rw);
    cr_assert_eq(leash_settle(0), 0);
    assert_events(&s.ev, want, 2);
    cr_assert_eq(s.violations, 0);
}

enum {
    EV_W_WANTS = 1,
    EV_W_LOCKED,
    EV_W_UNLOCKS,
    EV_R2_WANTS,
    EV_R2_LOCKED,
    EV_MAIN_RUNLOCK,
};

static void blocked_writer(void *arg)
{
    struct rw *s = arg;

    event(&s->ev, EV_W_WANTS);
    leash_rwmutex_lock(&s->rw);
    event(&s->ev, EV_W_LOCKED);
    yield_n(2);
    event(&s->ev, EV_W_UNLOCKS);
    leash_rwmutex_unlock(&s->rw);
}

static void late_reader(void *arg)
{
    struct rw *s = arg;

    event(&s->ev, EV_R2_WANTS);
    leash_rwmutex_rlock(&s->rw);
    event(&s->ev, EV_R2_LOCKED);
    leash_rwmutex_runlock(&s->rw);
}

/* Reader 1 holds; a writer queues; reader 2 arrives and must wait behind
 * the writer although only readers hold the lock. */
Test(sync_rwmutex, waiting_writer_blocks_new_readers)
{
    static const int before[] = { EV_W_WANTS, EV_R2_WANTS };
    static const int want[] = { EV_W_WANTS, EV_R2_WANTS, EV_MAIN_RUNLOCK,
                                EV_W_LOCKED, EV_W_UNLOCKS, EV_R2_LOCKED };
    struct rw s;
    int64_t wid, rid;

    memset(&s, 0, sizeof s);
    leash_rwmutex_rlock(&s.rw);
    wid = leash_go(blocked_writer, &s);
    leash_yield();
    rid = leash_go(late_reader, &s);
    yield_n(3);
    assert_events(&s.ev, before, 2);
    cr_assert_eq(s.rw.readers, 1);
    cr_assert_eq(s.rw.writers_waiting, 1);
    assert_parked(wid, LEASH_WAIT_RWMUTEX_W, LEASH_PRIM_RWMUTEX, &s.rw);
    assert_parked(rid, LEASH_WAIT_RWMUTEX_R, LEASH_PRIM_RWMUTEX, &s.rw);
    cr_assert_not(leash_rwmutex_tryrlock(&s.rw),
                  "tryrlock passed a waiting writer");

    /* The last reader out hands the lock to the writer. */
    event(&s.ev, EV_MAIN_RUNLOCK);
    leash_rwmutex_runlock(&s.rw);
    cr_assert_eq(s.rw.writer, wid);
    cr_assert_eq(s.rw.writers_waiting, 0);
    cr_assert_eq(leash_settle(0), 0);
    assert_events(&s.ev, want, 6);
    cr_assert_eq(s.rw.readers, 0);
    cr_assert_eq(s.rw.writer, 0);
}

Test(sync_rwmutex, trylock_and_tryrlock)
{
    leash_rwmutex_t rw = LEASH_RWMUTEX_INIT;

    cr_assert(leash_rwmutex_trylock(&rw));
    cr_assert_eq(rw.writer, leash_goid());
    cr_assert_not(leash_rwmutex_trylock(&rw));
    cr_assert_not(leash_rwmutex_tryrlock(&rw));
    leash_rwmutex_unlock(&rw);
    cr_assert_eq(rw.writer, 0);

    cr_assert(leash_rwmutex_tryrlock(&rw));
    cr_assert(leash_rwmutex_tryrlock(&rw));
    cr_assert_eq(rw.readers, 2);
    cr_assert_not(leash_rwmutex_trylock(&rw));
    leash_rwmutex_runlock(&rw);
    cr_assert_not(leash_rwmutex_trylock(&rw));
    leash_rwmutex_runlock(&rw);
    cr_assert(leash_rwmutex_trylock(&rw));
    leash_rwmutex_unlock(&rw);
}

#define STRESS_ITERS 30

static void stress_reader(void *arg)
{
    struct rw *s = arg;
    int i;

    for (i = 0; i < STRESS_ITERS; i++) {
        leash_rwmutex_rlock(&s->rw);
        reader_enter(s);
        yield_n(1 + i % 3);
        if (s->writer_inside)
            s->violations++;
        s->readers_inside--;
        leash_rwmutex_runlock(&s->rw);
        leash_yield();
    }
}

static void stress_writer(void *arg)
{
    struct rw *s = arg;
    int i;

    for (i = 0; i < STRESS_ITERS; i++) {
        leash_rwmutex_lock(&s->rw);
        if (s->writer_inside || s->readers_inside)
            s->violations++;
        s->writer_inside = 1;
        yield_n(1 + i % 2);
        if (s->readers_inside)
            s->violations++;
        s->writer_inside = 0;
        leash_rwmutex_unlock(&s->rw);
        yield_n(2);
    }
}

/* Readers and writers that yield inside their critical sections. */
Test(sync_rwmutex, readers_and_writers_exclusion)
{
    struct rw s;
    int i;

    memset(&s, 0, sizeof s);
    for (i = 0; i < 6; i++)
        leash_go(stress_reader, &s);
    for (i = 0; i < 3; i++)
        leash_go(stress_writer, &s);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.violations, 0);
    cr_assert_gt(s.max_readers, 1, "readers never shared the lock");
    cr_assert_eq(s.rw.readers, 0);
    cr_assert_eq(s.rw.writer, 0);
    cr_assert_eq(s.rw.writers_waiting, 0);
}

/* ---- WaitGroup --------------------------------------------------- */

struct wg {
    leash_waitgroup_t wg;
    int want_done;      /* done when the waiters may wake */
    int done;
    int woke;
    int woke_early;
};

struct wg_arg {
    struct wg *s;
    int yields;
};

static void wg_worker(void *arg)
{
    struct wg_arg *a = arg;

    yield_n(a->yields);
    a->s->done++;
    leash_waitgroup_done(&a->s->wg);
}

static void wg_waiter(void *arg)
{
    struct wg *s = arg;

    leash_waitgroup_wait(&s->wg);
    s->woke++;
    if (s->done != s->want_done)
        s->woke_early++;
}

Test(sync_waitgroup, wait_returns_after_all_done)
{
    enum { N = 5, M = 3 };
    struct wg s;
    struct wg_arg a[N];
    int64_t wid[M];
    int i;

    memset(&s, 0, sizeof s);
    s.want_done = N;
    leash_waitgroup_add(&s.wg, N);
    for (i = 0; i < M; i++)
        wid[i] = leash_go(wg_waiter, &s);
    for (i = 0; i < N; i++) {
        a[i].s = &s;
        a[i].yields = 2 * i + 1;
        leash_go(wg_worker, &a[i]);
    }
    leash_yield();
    for (i = 0; i < M; i++)
        assert_parked(wid[i], LEASH_WAIT_WAITGROUP, LEASH_PRIM_WAITGROUP,
                      &s.wg);

    leash_waitgroup_wait(&s.wg);
    cr_assert_eq(s.done, N);
    cr_assert_eq(s.wg.count, 0);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.woke, M);
    cr_assert_eq(s.woke_early, 0);
    cr_assert_null(s.wg.waiters.head);
}

Test(sync_waitgroup, wait_at_zero_returns)
{
    leash_waitgroup_t wg = LEASH_WAITGROUP_INIT;

    /* Blocking here would be a deadlock: the process would exit 2. */
    leash_waitgroup_wait(&wg);
    leash_waitgroup_add(&wg, 2);
    leash_waitgroup_done(&wg);
    leash_waitgroup_add(&wg, -1);
    cr_assert_eq(wg.count, 0);
    leash_waitgroup_wait(&wg);
}

Test(sync_waitgroup, negative_delta_wakes_at_zero)
{
    struct wg s;
    int64_t id;

    memset(&s, 0, sizeof s);
    leash_waitgroup_add(&s.wg, 3);
    id = leash_go(wg_waiter, &s);
    leash_settle(0);
    leash_waitgroup_add(&s.wg, -2);
    cr_assert_eq(s.wg.count, 1);
    leash_settle(0);
    assert_parked(id, LEASH_WAIT_WAITGROUP, LEASH_PRIM_WAITGROUP, &s.wg);
    cr_assert_eq(s.woke, 0);
    leash_waitgroup_add(&s.wg, -1);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.woke, 1);
}

/* ---- Cond -------------------------------------------------------- */

struct cond {
    leash_mutex_t m;
    leash_cond_t c;
    int waiting;
    int woke;
    int owner_after_wait_wrong;
    struct events order;
};

struct cond_arg {
    struct cond *s;
    int idx;
};

static void cond_waiter(void *arg)
{
    struct cond_arg *a = arg;
    struct cond *s = a->s;

    leash_mutex_lock(&s->m);
    s->waiting++;
    leash_cond_wait(&s->c, &s->m);
    if (s->m.owner != leash_goid())
        s->owner_after_wait_wrong++;
    s->woke++;
    event(&s->order, a->idx);
    leash_mutex_unlock(&s->m);
}

Test(sync_cond, signal_wakes_one_broadcast_all)
{
    enum { N = 4 };
    static const int want[] = { 0, 1, 2, 3 };
    struct cond s;
    struct cond_arg a[N];
    int64_t ids[N];
    int i;

    memset(&s, 0, sizeof s);
    for (i = 0; i < N; i++) {
        a[i].s = &s;
        a[i].idx = i;
        ids[i] = leash_go(cond_waiter, &a[i]);
    }
    cr_assert_eq(leash_settle(0), N);
    cr_assert_eq(s.waiting, N);
    cr_assert_eq(s.woke, 0);
    for (i = 0; i < N; i++)
        assert_parked(ids[i], LEASH_WAIT_COND, LEASH_PRIM_COND, &s.c);
    /* Wait released the mutex. */
    cr_assert_eq(s.m.owner, 0);

    leash_cond_signal(&s.c);
    cr_assert_eq(leash_settle(0), N - 1);
    cr_assert_eq(s.woke, 1);
    leash_cond_signal(&s.c);
    cr_assert_eq(leash_settle(0), N - 2);
    cr_assert_eq(s.woke, 2);

    leash_cond_broadcast(&s.c);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.woke, N);
    assert_events(&s.order, want, N);
    cr_assert_eq(s.owner_after_wait_wrong, 0);
    cr_assert_eq(s.m.owner, 0);
}

/* A woken waiter must take the mutex again before wait returns: while
 * the signaller holds it the waiter is blocked in lock. */
Test(sync_cond, wait_relocks_mutex)
{
    struct cond s;
    struct cond_arg a;
    int64_t id;

    memset(&s, 0, sizeof s);
    a.s = &s;
    a.idx = 0;
    id = leash_go(cond_waiter, &a);
    leash_settle(0);
    assert_parked(id, LEASH_WAIT_COND, LEASH_PRIM_COND, &s.c);

    leash_mutex_lock(&s.m);
    leash_cond_signal(&s.c);
    leash_settle(0);
    cr_assert_eq(s.woke, 0, "wait returned without the mutex");
    assert_parked(id, LEASH_WAIT_MUTEX, LEASH_PRIM_MUTEX, &s.m);

    leash_mutex_unlock(&s.m);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.woke, 1);
    cr_assert_eq(s.owner_after_wait_wrong, 0);
}

/* A signal with nobody waiting is not remembered. */
Test(sync_cond, signal_without_waiters_is_lost)
{
    struct cond s;
    struct cond_arg a;

    memset(&s, 0, sizeof s);
    a.s = &s;
    a.idx = 0;
    leash_cond_signal(&s.c);
    leash_cond_broadcast(&s.c);
    leash_go(cond_waiter, &a);
    cr_assert_eq(leash_settle(0), 1);
    cr_assert_eq(s.woke, 0);
    leash_cond_broadcast(&s.c);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.woke, 1);
}

/* ---- Once -------------------------------------------------------- */

struct once {
    leash_once_t o;
    int calls;
    int finished;
    int returned;
    int returned_early;
    int parked_on_mutex;
};

static void once_fn(void *arg)
{
    struct once *s = arg;
    leash__g_t *g;

    s->calls++;
    yield_n(4);
    for (g = leash__s.all; g != NULL; g = g->all_next)
        if (g->state == LEASH_G_WAITING && g->wait == LEASH_WAIT_MUTEX &&
            g->nwait_prims == 1 && g->wait_prims[0] == &s->o.m)
            s->parked_on_mutex++;
    s->finished = 1;
}

static void once_caller(void *arg)
{
    struct once *s = arg;

    leash_once_do(&s->o, once_fn, s);
    s->returned++;
    if (!s->finished)
        s->returned_early++;
}

Test(sync_once, runs_once_concurrent_callers_wait)
{
    enum { N = 6 };
    struct once s;
    int i;

    memset(&s, 0, sizeof s);
    for (i = 0; i < N; i++)
        leash_go(once_caller, &s);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(s.calls, 1);
    cr_assert_eq(s.returned, N);
    cr_assert_eq(s.returned_early, 0, "a caller returned before fn did");
    cr_assert_eq(s.parked_on_mutex, N - 1,
                 "callers did not block on the once's mutex");
    cr_assert_eq(s.o.done, 1);

    leash_once_do(&s.o, once_fn, &s);
    cr_assert_eq(s.calls, 1);
    cr_assert_eq(s.o.m.owner, 0);
}

/* ---- Zero values and static initializers ------------------------- */

struct prims {
    leash_mutex_t m;
    leash_rwmutex_t rw;
    leash_waitgroup_t wg;
    leash_cond_t c;
    leash_once_t o;
};

struct holder {
    int before;
    leash_mutex_t m;
    leash_rwmutex_t rw;
    leash_waitgroup_t wg;
    leash_cond_t c;
    leash_once_t o;
    int after;
};

static leash_mutex_t g_m = LEASH_MUTEX_INIT;
static leash_rwmutex_t g_rw = LEASH_RWMUTEX_INIT;
static leash_waitgroup_t g_wg = LEASH_WAITGROUP_INIT;
static leash_cond_t g_c = LEASH_COND_INIT;
static leash_once_t g_o = LEASH_ONCE_INIT;
static struct holder g_holder = {
    .before = 7,
    .m = LEASH_MUTEX_INIT,
    .rw = LEASH_RWMUTEX_INIT,
    .wg = LEASH_WAITGROUP_INIT,
    .c = LEASH_COND_INIT,
    .o = LEASH_ONCE_INIT,
    .after = 9,
};

struct exercise {
    leash_mutex_t *m;
    leash_rwmutex_t *rw;
    leash_waitgroup_t *wg;
    leash_cond_t *c;
    leash_once_t *o;
    int step;
    int ran;
};

static void count_run(void *arg)
{
    ((struct exercise *)arg)->ran++;
}

static void exercise_worker(void *arg)
{
    struct exercise *e = arg;

    leash_mutex_lock(e->m);
    e->step++;
    leash_mutex_unlock(e->m);
    leash_rwmutex_rlock(e->rw);
    e->step++;
    leash_rwmutex_runlock(e->rw);
    leash_mutex_lock(e->m);
    leash_cond_wait(e->c, e->m);
    e->step++;
    leash_mutex_unlock(e->m);
    leash_once_do(e->o, count_run, e);
    leash_waitgroup_done(e->wg);
}

/* Drive one blocking round trip through each primitive. */
static void exercise(leash_mutex_t *m, leash_rwmutex_t *rw,
                     leash_waitgroup_t *wg, leash_cond_t *c,
                     leash_once_t *o)
{
    struct exercise e;

    memset(&e, 0, sizeof e);
    e.m = m;
    e.rw = rw;
    e.wg = wg;
    e.c = c;
    e.o = o;

    leash_mutex_lock(m);
    leash_rwmutex_lock(rw);
    leash_waitgroup_add(wg, 1);
    leash_go(exercise_worker, &e);
    leash_settle(0);
    cr_assert_eq(e.step, 0);
    leash_mutex_unlock(m);
    leash_settle(0);
    cr_assert_eq(e.step, 1);
    leash_rwmutex_unlock(rw);
    leash_settle(0);
    cr_assert_eq(e.step, 2);
    leash_cond_signal(c);
    leash_once_do(o, count_run, &e);
    leash_waitgroup_wait(wg);
    cr_assert_eq(e.step, 3);
    cr_assert_eq(e.ran, 1);
    cr_assert_eq(leash_settle(0), 0);
    cr_assert_eq(m->owner, 0);
    cr_assert_eq(rw->writer, 0);
    cr_assert_eq(rw->readers, 0);
    cr_assert_eq(wg->count, 0);
    cr_assert_null(c->waiters.head);
    cr_assert_eq(o->done, 1);
}

Test(sync_init, static_globals)
{
    exercise(&g_m, &g_rw, &g_wg, &g_c, &g_o);
}

Test(sync_init, static_struct_members)
{
    exercise(&g_holder.m, &g_holder.rw, &g_holder.wg, &g_holder.c,
             &g_holder.o);
    cr_assert_eq(g_holder.before, 7);
    cr_assert_eq(g_holder.after, 9);
}

Test(sync_init, zeroed_memory)
{
    struct prims stack_p;
    struct prims *heap_p = leash_alloc(sizeof *heap_p);
    struct holder local = { .before = 1, .after = 2 };

    memset(&stack_p, 0, sizeof stack_p);
    exercise(&stack_p.m, &stack_p.rw, &stack_p.wg, &stack_p.c, &stack_p.o);
    cr_assert_not_null(heap_p);
    exercise(&heap_p->m, &heap_p->rw, &heap_p->wg, &heap_p->c, &heap_p->o);
    exercise(&local.m, &local.rw, &local.wg, &local.c, &local.o);
}

/* ---- First-use sites --------------------------------------------- */

/* Each wrapper is one call into the runtime; the site recorded must lie
 * inside the wrapper, not inside the runtime. The empty asm keeps the
 * call from becoming a tail jump. */
#define SITE_WRAPPER(name, type, call)                                   \
    static __attribute__((noinline)) void name(type *p)                  \
    {                                                                    \
        call;                                                            \
        __asm__ volatile("");                                            \
    }

SITE_WRAPPER(site_mutex, leash_mutex_t, leash_mutex_trylock(p))
SITE_WRAPPER(site_rwmutex, leash_rwmutex_t, leash_rwmutex_tryrlock(p))
SITE_WRAPPER(site_waitgroup, leash_waitgroup_t, leash_waitgroup_add(p, 0))
SITE_WRAPPER(site_cond, leash_cond_t, leash_cond_signal(p))

static void once_nop(void *arg)
{
}

SITE_WRAPPER(site_once, leash_once_t, leash_once_do(p, once_nop, NULL))

static void assert_site_in(uintptr_t site, uintptr_t lo, const char *what)
{
    cr_assert(site > lo && site < lo + 1024,
              "%s: site %#lx is not in the calling function at %#lx",
              what, (unsigned long)site, (unsigned long)lo);
}

Test(sync_init, first_use_site_recorded)
{
    leash_mutex_t m = LEASH_MUTEX_INIT;
    leash_rwmutex_t rw = LEASH_RWMUTEX_INIT;
    leash_waitgroup_t wg = LEASH_WAITGROUP_INIT;
    leash_cond_t c = LEASH_COND_INIT;
    leash_once_t o = LEASH_ONCE_INIT;
    uintptr_t first;

    site_mutex(&m);
    assert_site_in(m.site, (uintptr_t)site_mutex, "mutex");
    site_rwmutex(&rw);
    assert_site_in(rw.site, (uintptr_t)site_rwmutex, "rwmutex");
    site_waitgroup(&wg);
    assert_site_in(wg.site, (uintptr_t)site_waitgroup, "waitgroup");
    site_cond(&c);
    assert_site_in(c.site, (uintptr_t)site_cond, "cond");
    site_once(&o);
    assert_site_in(o.m.site, (uintptr_t)site_once, "once");

    /* Later uses elsewhere keep the first site. */
    first = m.site;
    leash_mutex_unlock(&m);
    leash_mutex_lock(&m);
    leash_mutex_unlock(&m);
    cr_assert_eq(m.site, first);
}
