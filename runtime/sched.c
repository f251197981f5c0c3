/*
 * The scheduler: goroutine descriptors, the run queue, parking and waking,
 * and the loop that picks the next goroutine, waits for timers, and detects
 * a deadlock.
 *
 * One OS thread runs every goroutine (1:N). The thread's own stack is
 * goroutine 1. Every switch goes through switch_to(). A later M:N
 * scheduler keeps the public API: it adds a lock to the run queue, and to
 * each primitive a lock held from its check-and-enqueue until the waiter is
 * parked (released by the park, as Go's gopark does with its unlock
 * function).
 *
 * Invariants:
 *   - exactly one goroutine is RUNNING: leash__s.cur;
 *   - a RUNNABLE goroutine is on the run queue exactly once;
 *   - a WAITING goroutine is on the wait queues of what it waits on (a
 *     sleeper: on the timer heap) and nowhere else, and wait names why;
 *   - leash__s.all lists every goroutine that is not IDLE or DEAD;
 *   - a DEAD goroutine's stack goes back to the cache only after the switch
 *     away from it (dying), since it is still running on it until then.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

leash__sched_t leash__s;

/* The goroutine that just exited, whose stack the next one releases. */
static leash__g_t *dying;

extern void *__libc_calloc(size_t n, size_t size);
extern void __libc_free(void *p);
extern void leash__trampoline(void);

void *leash__xalloc(size_t size)
{
    void *p = __libc_calloc(1, size);

    if (p == NULL)
        leash__fatal("runtime: out of memory allocating %zu bytes", size);
    return p;
}

void leash__xfree(void *p)
{
    __libc_free(p);
}

void *leash__xgrow(void *v, size_t n, size_t *cap, size_t size,
                   size_t first)
{
    void *w;

    if (n < *cap)
        return v;
    *cap = *cap != 0 ? *cap * 2 : first;
    w = leash__xalloc(*cap * size);
    if (n != 0)
        memcpy(w, v, n * size);
    leash__xfree(v);
    return w;
}

static const char *const wait_names[LEASH_WAIT_COUNT] = {
    [LEASH_WAIT_NONE] = "",
    [LEASH_WAIT_CHAN_RECV] = "chan receive",
    [LEASH_WAIT_CHAN_SEND] = "chan send",
    [LEASH_WAIT_CHAN_RECV_NIL] = "chan receive (nil chan)",
    [LEASH_WAIT_CHAN_SEND_NIL] = "chan send (nil chan)",
    [LEASH_WAIT_SELECT] = "select",
    [LEASH_WAIT_SELECT_NO_CASES] = "select (no cases)",
    [LEASH_WAIT_MUTEX] = "sync.Mutex.Lock",
    [LEASH_WAIT_RWMUTEX_R] = "sync.RWMutex.RLock",
    [LEASH_WAIT_RWMUTEX_W] = "sync.RWMutex.Lock",
    [LEASH_WAIT_WAITGROUP] = "sync.WaitGroup.Wait",
    [LEASH_WAIT_COND] = "sync.Cond.Wait",
    [LEASH_WAIT_SLEEP] = "sleep",
};

const char *leash__wait_name(enum leash__wait w)
{
    return (unsigned)w < LEASH_WAIT_COUNT ? wait_names[w] : "?";
}

bool leash__wait_is_candidate(enum leash__wait w)
{
    return w != LEASH_WAIT_NONE && w != LEASH_WAIT_SLEEP &&
           (unsigned)w < LEASH_WAIT_COUNT;
}

const char *leash__prim_name(enum leash__prim p)
{
    switch (p) {
    case LEASH_PRIM_NONE: return "none";
    case LEASH_PRIM_CHAN: return "channel";
    case LEASH_PRIM_MUTEX: return "mutex";
    case LEASH_PRIM_RWMUTEX: return "rwmutex";
    case LEASH_PRIM_WAITGROUP: return "waitgroup";
    case LEASH_PRIM_COND: return "cond";
    }
    return "?";
}

const char *leash__gstate_name(enum leash__gstate s)
{
    switch (s) {
    case LEASH_G_IDLE: return "idle";
    case LEASH_G_RUNNABLE: return "runnable";
    case LEASH_G_RUNNING: return "running";
    case LEASH_G_WAITING: return "waiting";
    case LEASH_G_DEAD: return "dead";
    case LEASH_G_LEAKED: return "leaked";
    }
    return "?";
}

/* ---- Registry ---------------------------------------------------- */

static void all_add(leash__g_t *g)
{
    g->all_prev = NULL;
    g->all_next = leash__s.all;
    if (leash__s.all != NULL)
        leash__s.all->all_prev = g;
    leash__s.all = g;
    leash__s.nall++;
}

static void all_remove(leash__g_t *g)
{
    if (g->all_prev != NULL)
        g->all_prev->all_next = g->all_next;
    else
        leash__s.all = g->all_next;
    if (g->all_next != NULL)
        g->all_next->all_prev = g->all_prev;
    leash__s.nall--;
}

/* ---- Initialization ---------------------------------------------- */

static void find_native_stack(void)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;

    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        leash__fatal("runtime: cannot find the thread's stack");
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    leash__s.native_lo = addr;
    leash__s.native_hi = (char *)addr + size;
}

void leash__init_slow(void)
{
    const char *env = getenv("LEASH_STACK_SIZE");
    leash__g_t *g1;

    leash__s.inited = true;
    leash__s.stack_size = 256 * 1024;
    if (env != NULL && *env != '\0') {
        char *end;
        unsigned long long v = strtoull(env, &end, 0);

        if (*end == 'k' || *end == 'K')
            v *= 1024, end++;
        else if (*end == 'm' || *end == 'M')
            v *= 1024 * 1024, end++;
        if (*end != '\0' || leash_set_stack_size((size_t)v) != 0)
            leash__fatal("runtime: bad LEASH_STACK_SIZE=%s (a number of "
                         "bytes, with an optional K or M suffix, from 64K "
                         "to 4096M)", env);
    }
    find_native_stack();
    leash__s.next_id = 2;

    g1 = leash__xalloc(sizeof *g1);
    g1->id = 1;
    g1->state = LEASH_G_RUNNING;
    g1->stack_lo = leash__s.native_lo;
    g1->stack_hi = leash__s.native_hi;
    leash__s.g1 = g1;
    leash__s.cur = g1;
    all_add(g1);

    leash__mem_init();
}

int leash_set_stack_size(size_t bytes)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    leash__init();
    if (bytes < 64 * 1024 || bytes > ((size_t)1 << 32)) {
        errno = EINVAL;
        return -1;
    }
    leash__s.stack_size = (bytes + page - 1) & ~(page - 1);
    return 0;
}

/* ---- Switching --------------------------------------------------- */

void leash__ctx_regs(const void *sp, leash__regs_t *out)
{
    const uintptr_t *w = sp;

    out->r15 = w[1];
    out->r14 = w[2];
    out->r13 = w[3];
    out->r12 = w[4];
    out->rbx = w[5];
    out->rbp = w[6];
    out->rip = w[7];
    out->rsp = (uintptr_t)sp + 64;
}

void *leash__ctx_make(char *hi, void (*fn)(void *), void *arg)
{
    uintptr_t *w = (uintptr_t *)((uintptr_t)hi & ~(uintptr_t)15);

    /* The trampoline starts with rsp at w, which must be 16-aligned. */
    w -= 8;
    w[0] = 0x1f80 | ((uintptr_t)0x37f << 32); /* mxcsr, x87 control */
    w[1] = 0;                                 /* r15 */
    w[2] = 0;                                 /* r14 */
    w[3] = (uintptr_t)arg;                    /* r13 */
    w[4] = (uintptr_t)fn;                     /* r12 */
    w[5] = 0;                                 /* rbx */
    w[6] = 0;                                 /* rbp */
    w[7] = (uintptr_t)leash__trampoline;      /* return address */
    return w;
}

#ifdef LEASH_ASAN
#include <sanitizer/common_interface_defs.h>

void leash__fiber_enter(void **save, const void *lo, const void *hi)
{
    __sanitizer_start_switch_fiber(save, lo, (size_t)((const char *)hi -
                                                      (const char *)lo));
}

void leash__fiber_entered(void *save)
{
    __sanitizer_finish_switch_fiber(save, NULL, NULL);
}
#endif

/* First code of a new goroutine, called by the trampoline. */
void leash__first_run(void)
{
    leash__fiber_entered(NULL);
    leash__after_switch();
}

/* Runs on the goroutine switched to, right after every switch. */
void leash__after_switch(void)
{
    leash__g_t *d = dying;

    if (d != NULL) {
        dying = NULL;
        leash__stack_put(d->stack);
        d->stack = NULL;
        d->runq_next = leash__s.dead_list;
        leash__s.dead_list = d;
    }
}

static void switch_to(leash__g_t *next)
{
    leash__g_t *prev = leash__s.cur;

    if (next == prev) {
        next->state = LEASH_G_RUNNING;
        return;
    }
    if (!leash__stack_intact(prev->stack))
        leash__fatal("fatal error: stack overflow in goroutine %lld",
                     (long long)prev->id);
    leash__s.cur = next;
    next->state = LEASH_G_RUNNING;
    leash__fiber_enter(prev->state == LEASH_G_DEAD ? NULL : &prev->asan_fake,
                       next->stack_lo, next->stack_hi);
    leash__swap(&prev->sp, &next->sp);
    leash__fiber_entered(prev->asan_fake);
    leash__after_switch();
}

/* ---- Run queue --------------------------------------------------- */

void leash__ready(leash__g_t *g)
{
    if (g->state == LEASH_G_LEAKED)
        leash__fatal("runtime: goroutine %lld was reported leaked and "
                     "is being woken: a false leak", (long long)g->id);
    if (g->state == LEASH_G_RUNNABLE)
        leash__fatal("runtime: goroutine %lld made runnable twice",
                     (long long)g->id);
    g->state = LEASH_G_RUNNABLE;
    g->wait = LEASH_WAIT_NONE;
    g->nwait_prims = 0;
    g->runq_next = NULL;
    if (leash__s.runq_tail != NULL)
        leash__s.runq_tail->runq_next = g;
    else
        leash__s.runq_head = g;
    leash__s.runq_tail = g;
    leash__s.nrunq++;
}

static leash__g_t *runq_pop(void)
{
    leash__g_t *g = leash__s.runq_head;

    if (g != NULL) {
        leash__s.runq_head = g->runq_next;
        if (leash__s.runq_head == NULL)
            leash__s.runq_tail = NULL;
        g->runq_next = NULL;
        leash__s.nrunq--;
    }
    return g;
}

static void sleep_until(int64_t when)
{
    int64_t d = when - leash_now();
    struct timespec ts;

    if (d <= 0)
        return;
    ts.tv_sec = d / LEASH_SECOND;
    ts.tv_nsec = d % LEASH_SECOND;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

_Noreturn static void deadlock(void)
{
    fflush(stdout);
    fprintf(stderr, "fatal error: all goroutines are asleep - deadlock!\n\n");
    leash__dump_all(stderr);
    fflush(stderr);
    _exit(2);
}

/*
 * Pick the next goroutine and switch to it. The current goroutine has
 * already been queued (yield), parked (waiting) or marked dead.
 */
static void schedule(void)
{
    leash__g_t *next;

    for (;;) {
        int64_t when;

        next = runq_pop();
        if (next != NULL)
            break;
        if (leash__timers_run(leash_now()))
            continue;
        when = leash__timers_next();
        if (when < 0)
            deadlock();
        sleep_until(when);
    }
    switch_to(next);
}

/* ---- Public entry points ----------------------------------------- */

LEASH_NOINLINE int64_t leash_go(void (*fn)(void *), void *arg)
{
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    leash__g_t *g;
    struct leash__stack *stk;
    char *lo, *hi;

    leash__init();
    if (fn == NULL)
        leash_panic("go of nil func value");
    stk = leash__stack_get(leash__s.stack_size, &lo, &hi);
    if (stk == NULL)
        return -1;
    g = leash__s.dead_list;
    if (g != NULL) {
        leash__s.dead_list = g->runq_next;
        memset(g, 0, sizeof *g);
    } else {
        g = leash__xalloc(sizeof *g);
    }
    g->id = leash__s.next_id++;
    g->stack = stk;
    g->stack_lo = lo;
    g->stack_hi = hi;
    g->entry = fn;
    g->parent_id = leash__s.cur->id;
    g->spawn_pc = pc;
    g->sp = leash__ctx_make(hi, fn, arg);
    all_add(g);
    leash__ready(g);
    return g->id;
}

_Noreturn void leash__goexit(void)
{
    leash__g_t *g = leash__s.cur;

    g->state = LEASH_G_DEAD;
    all_remove(g);
    dying = g;
    schedule();
    leash__fatal("runtime: a dead goroutine was scheduled");
}

void leash_yield(void)
{
    leash__init();
    if (leash__s.runq_head == NULL) {
        leash__timers_run(leash_now());
        if (leash__s.runq_head == NULL)
            return;
    }
    leash__ready(leash__s.cur);
    schedule();
}

int64_t leash_goid(void)
{
    leash__init();
    return leash__s.cur->id;
}

LEASH_PARKS void leash__park(enum leash__wait w, enum leash__prim kind,
                             const void *const *prims, size_t nprims)
{
    leash__g_t *g = leash__s.cur;

    g->state = LEASH_G_WAITING;
    g->woken_by = NULL;
    g->wait = w;
    g->wait_kind = kind;
    g->wait_prims = prims;
    g->nwait_prims = nprims;
    g->park_time = leash__coarse_now();
    schedule();
    /* Not a tail call: the park stays a frame in tracebacks. */
    __asm__ volatile("");
}

LEASH_PARKS void leash__park1(enum leash__wait w, enum leash__prim kind,
                              const void *prim)
{
    leash__g_t *g = leash__s.cur;

    g->wait_one = prim;
    leash__park(w, kind, prim != NULL ? &g->wait_one : NULL,
                prim != NULL ? 1 : 0);
    __asm__ volatile("");
}

size_t leash_settle(int64_t max_ns)
{
    int64_t deadline;
    size_t turns = 0;

    leash__init();
    deadline = leash__after_ns(max_ns);

    /* Bounded both ways: goroutines that keep yielding (two settlers, a
     * polling loop) stop it once the deadline has passed and the others
     * have had a million turns in all: enough for a chain of goroutines
     * that each start the next to finish, some tens of ms of spinning. */
    for (;;) {
        int64_t when;

        leash__timers_run(leash_now());
        if (leash__s.runq_head != NULL) {
            if (turns >= 1000000 && leash_now() >= deadline)
                break;
            turns += leash__s.nrunq;
            leash_yield();
            continue;
        }
        when = leash__timers_next();
        if (when < 0 || when > deadline)
            break;
        sleep_until(when);
    }
    return leash__s.nall - 1;
}

/* ---- Wait queues ------------------------------------------------- */

void leash__waitq_push(leash_waitq_t *q, leash__waiter_t *w)
{
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail != NULL)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
}

void leash__waitq_remove(leash_waitq_t *q, leash__waiter_t *w)
{
    /* Not queued: a stale select waiter that leash__waitq_take already
     * popped and dropped. Unlinking it would overwrite head and tail. */
    if (w->prev == NULL && q->head != w)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->next = w->prev = NULL;
}

leash__waiter_t *leash__waitq_pop(leash_waitq_t *q)
{
    leash__waiter_t *w = q->head;

    if (w != NULL)
        leash__waitq_remove(q, w);
    return w;
}

leash__waiter_t *leash__waitq_take(leash_waitq_t *q)
{
    leash__waiter_t *w;

    while ((w = leash__waitq_pop(q)) != NULL) {
        if (w->g->woken_by == NULL) {
            w->g->woken_by = w;
            return w;
        }
    }
    return NULL;
}
