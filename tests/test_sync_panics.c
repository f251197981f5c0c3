/*
 * Misuse of sync primitives that Go turns into a panic or fatal error.
 * Each misuse is tested twice: with Criterion's .signal = SIGABRT, and in a
 * child process (child.h) whose stderr is captured, so that the message
 * and the goroutine header can be checked too.
 */
#include <criterion/criterion.h>
#include <leash/leash.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "child.h"

/* ---- The misuses ------------------------------------------------- */

static void unlock_unlocked_mutex(void)
{
    leash_mutex_t m = LEASH_MUTEX_INIT;

    leash_mutex_unlock(&m);
}

static void unlock_mutex_twice(void)
{
    leash_mutex_t m = LEASH_MUTEX_INIT;

    leash_mutex_lock(&m);
    leash_mutex_unlock(&m);
    leash_mutex_unlock(&m);
}

static void runlock_unlocked_rwmutex(void)
{
    leash_rwmutex_t rw = LEASH_RWMUTEX_INIT;

    leash_rwmutex_runlock(&rw);
}

/* A write lock is not a read lock. */
static void runlock_write_locked_rwmutex(void)
{
    leash_rwmutex_t rw = LEASH_RWMUTEX_INIT;

    leash_rwmutex_lock(&rw);
    leash_rwmutex_runlock(&rw);
}

static void unlock_unlocked_rwmutex(void)
{
    leash_rwmutex_t rw = LEASH_RWMUTEX_INIT;

    leash_rwmutex_unlock(&rw);
}

/* A read lock is not a write lock. */
static void unlock_read_locked_rwmutex(void)
{
    leash_rwmutex_t rw = LEASH_RWMUTEX_INIT;

    leash_rwmutex_rlock(&rw);
    leash_rwmutex_unlock(&rw);
}

static void waitgroup_add_negative(void)
{
    leash_waitgroup_t wg = LEASH_WAITGROUP_INIT;

    leash_waitgroup_add(&wg, -1);
}

static void waitgroup_done_too_often(void)
{
    leash_waitgroup_t wg = LEASH_WAITGROUP_INIT;

    leash_waitgroup_add(&wg, 2);
    leash_waitgroup_done(&wg);
    leash_waitgroup_done(&wg);
    leash_waitgroup_done(&wg);
}

/* A cond wait with m not held unlocks an unlocked mutex, as in Go. */
static void cond_wait_without_mutex(void)
{
    leash_mutex_t m = LEASH_MUTEX_INIT;
    leash_cond_t c = LEASH_COND_INIT;

    leash_cond_wait(&c, &m);
}

static void unlock_worker(void *arg)
{
    leash_mutex_unlock(arg);
}

/* The panic names the goroutine that misused the mutex. */
static void unlock_unlocked_mutex_in_goroutine(void)
{
    static leash_mutex_t m = LEASH_MUTEX_INIT;

    leash_go(unlock_worker, &m);
    leash_settle(0);
}

/* Go: "fatal error: all goroutines are asleep - deadlock!". */
static void lock_mutex_twice(void)
{
    leash_mutex_t m = LEASH_MUTEX_INIT;

    leash_mutex_lock(&m);
    leash_mutex_lock(&m);
}

/* ---- With Criterion's signal check ------------------------------- */

Test(sync_panics, unlock_unlocked_mutex, .signal = SIGABRT,
     .init = child_no_core)
{
    unlock_unlocked_mutex();
}

Test(sync_panics, unlock_mutex_twice, .signal = SIGABRT,
     .init = child_no_core)
{
    unlock_mutex_twice();
}

Test(sync_panics, runlock_unlocked_rwmutex, .signal = SIGABRT,
     .init = child_no_core)
{
    runlock_unlocked_rwmutex();
}

Test(sync_panics, unlock_unlocked_rwmutex, .signal = SIGABRT,
     .init = child_no_core)
{
    unlock_unlocked_rwmutex();
}

Test(sync_panics, negative_waitgroup_counter, .signal = SIGABRT,
     .init = child_no_core)
{
    waitgroup_add_negative();
}

/* ---- In a child, with the message -------------------------------- */

static void expect_panic(void (*fn)(void), const char *msg, int goid)
{
    struct child_result r;
    char want[256];

    child_run(fn, &r);
    assert_child_aborted(&r);
    snprintf(want, sizeof want, "panic: %s\n", msg);
    cr_assert_not_null(strstr(r.err, want), "no \"%s\" in:\n%s", msg,
                       r.err);
    snprintf(want, sizeof want, "goroutine %d [running]:", goid);
    cr_assert_not_null(strstr(r.err, want), "no \"%s\" in:\n%s", want,
                       r.err);
    child_free(&r);
}

Test(sync_panics, unlock_unlocked_mutex_message)
{
    expect_panic(unlock_unlocked_mutex, "sync: unlock of unlocked mutex", 1);
}

Test(sync_panics, unlock_mutex_twice_message)
{
    expect_panic(unlock_mutex_twice, "sync: unlock of unlocked mutex", 1);
}

Test(sync_panics, unlock_unlocked_mutex_in_goroutine_message)
{
    expect_panic(unlock_unlocked_mutex_in_goroutine,
                 "sync: unlock of unlocked mutex", 2);
}

Test(sync_panics, cond_wait_without_mutex_message)
{
    expect_panic(cond_wait_without_mutex, "sync: unlock of unlocked mutex",
                 1);
}

Test(sync_panics, runlock_unlocked_rwmutex_message)
{
    expect_panic(runlock_unlocked_rwmutex,
                 "sync: RUnlock of unlocked RWMutex", 1);
}

Test(sync_panics, runlock_write_locked_rwmutex_message)
{
    expect_panic(runlock_write_locked_rwmutex,
                 "sync: RUnlock of unlocked RWMutex", 1);
}

Test(sync_panics, unlock_unlocked_rwmutex_message)
{
    expect_panic(unlock_unlocked_rwmutex,
                 "sync: Unlock of unlocked RWMutex", 1);
}

Test(sync_panics, unlock_read_locked_rwmutex_message)
{
    expect_panic(unlock_read_locked_rwmutex,
                 "sync: Unlock of unlocked RWMutex", 1);
}

Test(sync_panics, negative_waitgroup_counter_message)
{
    expect_panic(waitgroup_add_negative, "sync: negative WaitGroup counter",
                 1);
}

Test(sync_panics, waitgroup_done_too_often_message)
{
    expect_panic(waitgroup_done_too_often,
                 "sync: negative WaitGroup counter", 1);
}

/* Locking twice blocks for good; alone, that is the runtime's deadlock,
 * and the dump names the wait as Go does. */
Test(sync_panics, lock_twice_deadlocks)
{
    static const char deadlock[] =
        "fatal error: all goroutines are asleep - deadlock!";
    struct child_result r;

    child_run(lock_mutex_twice, &r);
    assert_child_exit(&r, 2);
    cr_assert_not_null(strstr(r.err, deadlock), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "goroutine 1 [sync.Mutex.Lock]:"),
                       "%s", r.err);
    child_free(&r);
}
