/*
 * leash leak analysis: which goroutines can never run again.
 *
 * A goroutine blocked on channels or locks is leaked when none of what it
 * waits on is reachable from memory a live goroutine could touch (Go 1.26's
 * goroutine leak profile). Roots are the writable data of every loaded
 * object, the calling thread's thread-local storage, the ranges registered
 * with leash_add_roots, and the stacks of the goroutines that are not
 * blocked on a primitive (running, runnable, sleeping). Heap objects,
 * malloc'd blocks and goroutine stacks are traced. Any doubt resolves to
 * "reachable": a reported leak is a true one, provided that every memory
 * holding pointers is one of these (mmap'd memory must be registered).
 *
 * A goroutine blocked on a nil channel or in a select with no channels is
 * leaked by definition. A leaked goroutine stays leaked: it is kept, with
 * everything it references, and never runs again.
 */
#ifndef LEASH_LEAK_H
#define LEASH_LEAK_H

#include <leash/leash.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A source location. func is "?" and file NULL when unknown. */
typedef struct leash_frame {
    uintptr_t pc;
    const char *func;
    const char *file;
    int line;
} leash_frame_t;

/* One goroutine in a report. Strings live as long as the process. */
typedef struct leash_goroutine {
    int64_t id;
    const char *state;        /* "leaked", "waiting", "runnable", "sleeping"*/
    const char *wait_reason;  /* Go's name ("chan send"), "" when none */
    int64_t blocked_ns;       /* how long it has been parked */
    bool leaked;
    bool already_reported;    /* leaked, and in an earlier report already */
    size_t nframes;           /* innermost first; runtime internals left */
    const leash_frame_t *frames; /* out, the blocking call kept on top */
    leash_frame_t entry;      /* the function it was started with */
    leash_frame_t creator;    /* the call to leash_go: function, file:line */
    int64_t parent_id;        /* goroutine that started it */
    /* What it waits on (the first one for a select). kind is NULL when it
     * waits on nothing (nil channel, select with no channels). */
    const char *prim_kind;    /* "channel", "mutex", "rwmutex", ... */
    uintptr_t prim_addr;
    size_t nprims;            /* how many primitives it waits on */
    leash_frame_t prim_site;  /* channels: where made; locks: first use */
    int64_t holder_id;        /* mutex or write-locked rwmutex: holder */
} leash_goroutine_t;

typedef struct leash_report leash_report_t;

/*
 * Collect, analyse, and report every leaked goroutine: those found now and
 * those found by earlier calls (flagged already_reported). Blocks nothing:
 * the analysis runs to completion on the calling goroutine.
 * Result: the report (free with leash_report_free), or NULL with errno
 * ENOMEM.
 */
leash_report_t *leash_find_leaks(void);

/*
 * A baseline for leash_goroutines_since: goroutines alive now are left out
 * of later queries (goleak's "ignore current").
 */
typedef int64_t leash_baseline_t;
leash_baseline_t leash_baseline(void);

/*
 * Every goroutine alive other than the caller (runnable, waiting, leaked),
 * minus those alive at the baseline (0: none left out). Does not analyse.
 */
leash_report_t *leash_goroutines_since(leash_baseline_t baseline);

size_t leash_report_count(const leash_report_t *r);
/* The leaked goroutines of the report that were not reported before. */
size_t leash_report_new_count(const leash_report_t *r);
const leash_goroutine_t *leash_report_get(const leash_report_t *r, size_t i);

/*
 * Print the report in the manner of Go's goroutine dumps: goroutines with
 * the same wait reason, stack and creator are grouped, printed once, and
 * counted. Leaked ones read "goroutine 7 [chan send (leaked)]:".
 */
void leash_report_print(FILE *out, const leash_report_t *r);
/* Print one goroutine in the same format. */
void leash_goroutine_print(FILE *out, const leash_goroutine_t *g);

/* Whether leash_report_print prints a and b as one group: same state,
 * wait reason and frames, created at the same line. */
bool leash_goroutine_same_group(const leash_goroutine_t *a,
                                const leash_goroutine_t *b);

void leash_report_free(leash_report_t *r);

#ifdef __cplusplus
}
#endif

#endif
