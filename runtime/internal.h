/*
 * Internal interfaces shared by the runtime's files. Nothing here is API.
 *
 * Memory kinds, which the leak analysis depends on:
 *   - runtime bookkeeping (goroutine descriptors, the registry, the run
 *     queue, the timer heap) lives in memory from leash__xalloc: invisible
 *     to the collector's marking and to the leak analysis, so it creates no
 *     reachability. Anything in it that must keep collected memory alive is
 *     pushed by hand (mem.c);
 *   - channels, timers and contexts are collected objects (GC_malloc);
 *   - waiter records live on the waiting goroutine's stack.
 */
#ifndef LEASH_INTERNAL_H
#define LEASH_INTERNAL_H

#include <leash/leash.h>
#include <stdarg.h>
#include <stdio.h>

#if defined(__SANITIZE_ADDRESS__)
#define LEASH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEASH_ASAN 1
#endif
#endif

#define LEASH_NOINLINE __attribute__((noinline))
/* Keeps a blocking call as a frame of its own in tracebacks. */
#define LEASH_PARKS __attribute__((noinline, noipa))

/* Wait reasons: the fixed list a parked goroutine records (Go's names). */
enum leash__wait {
    LEASH_WAIT_NONE = 0,
    LEASH_WAIT_CHAN_RECV,       /* "chan receive" */
    LEASH_WAIT_CHAN_SEND,       /* "chan send" */
    LEASH_WAIT_CHAN_RECV_NIL,   /* "chan receive (nil chan)" */
    LEASH_WAIT_CHAN_SEND_NIL,   /* "chan send (nil chan)" */
    LEASH_WAIT_SELECT,          /* "select" */
    LEASH_WAIT_SELECT_NO_CASES, /* "select (no cases)" */
    LEASH_WAIT_MUTEX,           /* "sync.Mutex.Lock" */
    LEASH_WAIT_RWMUTEX_R,       /* "sync.RWMutex.RLock" */
    LEASH_WAIT_RWMUTEX_W,       /* "sync.RWMutex.Lock" */
    LEASH_WAIT_WAITGROUP,       /* "sync.WaitGroup.Wait" */
    LEASH_WAIT_COND,            /* "sync.Cond.Wait" */
    LEASH_WAIT_SLEEP,           /* "sleep" */
    LEASH_WAIT_COUNT
};
const char *leash__wait_name(enum leash__wait w);
/* Whether a goroutine parked for w can be judged leaked. */
bool leash__wait_is_candidate(enum leash__wait w);

/* Kind of primitive a goroutine waits on. */
enum leash__prim {
    LEASH_PRIM_NONE = 0,        /* sleeping: waits on no primitive */
    LEASH_PRIM_CHAN,
    LEASH_PRIM_MUTEX,
    LEASH_PRIM_RWMUTEX,
    LEASH_PRIM_WAITGROUP,
    LEASH_PRIM_COND,
};
const char *leash__prim_name(enum leash__prim p);

/* Goroutine states. Who owns the stack is noted for each. */
enum leash__gstate {
    LEASH_G_IDLE = 0,  /* descriptor free; no stack */
    LEASH_G_RUNNABLE,  /* on the run queue; stack owned by the scheduler */
    LEASH_G_RUNNING,   /* the current goroutine; owns its stack */
    LEASH_G_WAITING,   /* parked with a wait reason; stack frozen */
    LEASH_G_DEAD,      /* returned; stack back in the cache */
    LEASH_G_LEAKED,    /* proven never to run again; stack kept */
};
const char *leash__gstate_name(enum leash__gstate s);

/*
 * A waiter: one goroutine queued on one primitive. Lives on the waiting
 * goroutine's stack for as long as it is queued.
 */
typedef struct leash__waiter {
    struct leash__waiter *next, *prev;
    struct leash__g *g;
    void *elem;           /* channel: value to send or destination */
    int case_index;       /* select: which case this waiter is */
    bool success;         /* channel: woken by a value, not by a close */
    bool is_select;
    int32_t flags;        /* primitive specific (rwmutex: reader/writer) */
} leash__waiter_t;

#define LEASH_MAX_WAIT_PRIMS 4

typedef struct leash__g {
    int64_t id;
    enum leash__gstate state;
    enum leash__wait wait;
    void *sp;                 /* saved stack pointer while not running */
    char *stack_lo, *stack_hi;/* usable stack (g1: the thread stack) */
    struct leash__stack *stack;

    /* What it waits on: addresses of primitives, for the leak analysis. */
    const void *const *wait_prims;
    size_t nwait_prims;
    enum leash__prim wait_kind;
    const void *wait_one;     /* storage when there is one primitive */
    int64_t park_time;        /* leash__coarse_now() at park */
    struct leash__waiter *woken_by; /* the waiter that ended the park */

    /* Creation record. */
    int64_t parent_id;
    uintptr_t spawn_pc;       /* return address of leash_go in the parent */
    void (*entry)(void *);

    bool leak_reported;       /* in a report already */
    int64_t leak_time;        /* when the analysis proved it leaked */
    bool scan_live;           /* leak analysis: proven live this round */
    void *asan_fake;          /* AddressSanitizer's fake stack, if any */

    struct leash__g *runq_next;
    struct leash__g *all_next, *all_prev;
} leash__g_t;

typedef struct leash__sched {
    leash__g_t *cur;
    leash__g_t *g1;           /* the thread's own code */
    leash__g_t *runq_head, *runq_tail;
    size_t nrunq;             /* goroutines on the run queue */
    leash__g_t *all;          /* every live or leaked goroutine */
    size_t nall;
    int64_t next_id;
    size_t stack_size;
    char *native_lo, *native_hi; /* the thread's stack mapping */
    leash__g_t *dead_list;    /* descriptors to reuse */
    bool inited;
} leash__sched_t;

extern leash__sched_t leash__s;

void leash__init_slow(void);
static inline void leash__init(void)
{
    if (__builtin_expect(!leash__s.inited, 0))
        leash__init_slow();
}

/* Make g runnable (at the tail of the run queue). */
void leash__ready(leash__g_t *g);
/*
 * Park the current goroutine with reason w, waiting on the given primitives
 * (copied pointer, must outlive the park), until leash__ready is called on
 * it. Must not be inlined: it is the frame reports start from.
 */
void leash__park(enum leash__wait w, enum leash__prim kind,
                 const void *const *prims, size_t nprims);
void leash__park1(enum leash__wait w, enum leash__prim kind,
                  const void *prim);

/* Wait queues. */
void leash__waitq_push(leash_waitq_t *q, leash__waiter_t *w);
leash__waiter_t *leash__waitq_pop(leash_waitq_t *q);
void leash__waitq_remove(leash_waitq_t *q, leash__waiter_t *w);

/* Runtime bookkeeping memory: zeroed, aborts when exhausted. */
void *leash__xalloc(size_t size);
void leash__xfree(void *p);
/*
 * Room for one more element in a growable array of bookkeeping memory
 * holding n elements of size bytes in *cap slots: doubles it (first slots
 * at first) when full. Result: the array, moved or not.
 */
void *leash__xgrow(void *v, size_t n, size_t *cap, size_t size,
                   size_t first);
/* Collected memory for runtime objects (channels, timers, contexts). */
void *leash__gc_alloc(size_t size);

/* Stacks (stack.c). */
struct leash__stack;
struct leash__stack *leash__stack_get(size_t size, char **lo, char **hi);
void leash__stack_put(struct leash__stack *s);
/* Check the canary of a stack without a guard page. */
bool leash__stack_intact(const struct leash__stack *s);
/* The goroutine whose guard page contains addr, or NULL. */
leash__g_t *leash__stack_owner_of_guard(const void *addr);

/* Context switch (switch_x86_64.S). Saves the callee-saved registers on
 * the current stack, stores the stack pointer at *save, switches to *load. */
void leash__swap(void **save, void *const *load);
/* Prepare a fresh stack so that switching to it calls fn(arg) and then
 * leash__goexit. Result: the stack pointer to switch to. */
void *leash__ctx_make(char *hi, void (*fn)(void *), void *arg);

/* Registers saved by leash__swap, recovered from a saved sp. */
typedef struct leash__regs {
    uintptr_t rip, rsp, rbp, rbx, r12, r13, r14, r15;
} leash__regs_t;
void leash__ctx_regs(const void *sp, leash__regs_t *out);

_Noreturn void leash__goexit(void);

/* a + b for times and durations, saturated: a huge duration means
 * "never", not a time in the past. */
int64_t leash__time_add(int64_t a, int64_t b);
/* leash_now() + ns (ns < 0 counts as 0), saturated. */
int64_t leash__after_ns(int64_t ns);
/* The monotonic clock to within a scheduler tick (a few ms), at a fifth of
 * leash_now()'s cost: for how long a goroutine has been parked. */
int64_t leash__coarse_now(void);

/* Timers (time.c): called by the scheduler. */
/* Fire every timer due by now. Result: true when any fired. */
bool leash__timers_run(int64_t now);
/* When the earliest pending timer is due, or -1 when none is pending. */
int64_t leash__timers_next(void);
/* Push collected objects the timer heap references (mem.c's root hook). */
void leash__timers_push_roots(void (*push)(void *lo, void *hi));
/* Objects pending timers will touch, for the leak analysis. */
void leash__timers_each(void (*fn)(void *obj, void *ctx), void *ctx);

/* Fatal errors and panics (panic.c). */
_Noreturn void leash__fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
_Noreturn void leash__vpanic(const char *fmt, va_list ap);
/* Print every goroutine in Go's dump format. */
void leash__dump_all(FILE *out);
/* Print one goroutine: header line, frames, creator. */
void leash__dump_g(FILE *out, leash__g_t *g, const char *state_override);

/* Memory (mem.c). */
void leash__mem_init(void);

/* Runs on a goroutine right after the switch to it (sched.c). */
void leash__after_switch(void);

/*
 * AddressSanitizer must be told of every stack switch: leash__fiber_enter
 * before switching to the stack [lo, hi) (save is NULL when the current
 * stack is abandoned for good), leash__fiber_entered right after arriving.
 * Other builds compile them away: they sit on every switch.
 */
#ifdef LEASH_ASAN
void leash__fiber_enter(void **save, const void *lo, const void *hi);
void leash__fiber_entered(void *save);
#else
static inline void leash__fiber_enter(void **save, const void *lo,
                                      const void *hi)
{
    (void)save, (void)lo, (void)hi;
}

static inline void leash__fiber_entered(void *save)
{
    (void)save;
}
#endif

/*
 * Take the first waiter of q that can still be woken: a select waiter whose
 * goroutine another case already woke is dropped. Marks the goroutine as
 * woken by the waiter returned.
 */
leash__waiter_t *leash__waitq_take(leash_waitq_t *q);

#endif
