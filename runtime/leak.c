/*
 * The leak analysis: which parked goroutines can never run again.
 *
 * A candidate is a goroutine parked on channels, locks, a waitgroup or a
 * cond. It is live when some primitive it waits on lies in reachable
 * memory; what remains when nothing more becomes reachable is leaked.
 *
 * Memory the analysis knows, and how a word found while scanning is read:
 *   - collected objects: a word inside one (GC_base) that the collection
 *     just before marked reaches the object; objects without pointers are
 *     reached but not scanned;
 *   - malloc'd blocks (the index of mem.c): reached like objects;
 *   - goroutine stacks: a word inside a stack at or above its saved stack
 *     pointer reaches that live part;
 *   - bookkeeping memory (descriptors, the registry, the timer heap): not
 *     known, so it reaches nothing.
 * Roots: writable segments of every loaded object except the collector's
 * and the sanitizers', the thread's TLS, the ranges registered with
 * leash_add_roots, the objects of pending timers, and the stacks of
 * goroutines that are not candidates.
 *
 * Invariants that make it correct and linear:
 *   - every object, block and stack is scanned at most once;
 *   - a range is searched for primitives exactly when it becomes reachable,
 *     in the table of (primitive address, waiting goroutine) sorted by
 *     address, so each wait edge is followed once: a chain of n goroutines
 *     costs O(n log n) lookups, not n rounds;
 *   - a primitive in memory the analysis does not know is a doubt, and its
 *     waiters are live from the start; a goroutine waiting on nothing (nil
 *     channel, select without channels) is never made live.
 *
 * Wait queues of primitives point into their waiters' stacks; scanning a
 * reachable primitive thus reaches stacks of goroutines that are live
 * anyway, since they wait on it.
 *
 * It runs on a stack of its own, so the calling goroutine is suspended like
 * any other and its stack is scanned from its saved registers up, without
 * the analysis' own frames.
 */
#define _GNU_SOURCE
#include "leak_internal.h"
#include "mem.h"

#include <gc/gc.h>
#include <gc/gc_mark.h>
#include <gc/gc_inline.h>
#include <link.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#define NO_ASAN __attribute__((no_sanitize_address))

typedef struct sreg {
    uintptr_t lo, hi;     /* whole stack */
    uintptr_t live_lo;    /* saved stack pointer */
    leash__g_t *g;
    bool scanned;
} sreg_t;

typedef struct wait_edge {
    uintptr_t addr;
    leash__g_t *g;
} wait_edge_t;

typedef struct range {
    uintptr_t lo, hi;
} range_t;

static struct scan {
    sreg_t *stacks;
    size_t nstacks;
    leash__block_t *blocks;
    size_t nblocks;
    uint8_t *block_marked;
    uint64_t *seen_bits;   /* one bit per 16-byte granule of the heap */
    size_t seen_bits_len;  /* bytes mapped */
    uintptr_t *seen;       /* else: open addressing set of object bases */
    size_t seen_cap, seen_n;
    wait_edge_t *edges;
    size_t nedges;
    range_t *work;
    size_t nwork, work_cap;
    /* Bounds of the stacks and blocks, and of the collector's heap: most
     * words scanned are not pointers and fall outside both. */
    uintptr_t known_lo, known_hi, heap_lo, heap_hi;
} sc;

/* ---- Worklist and sets ------------------------------------------- */

static void push_range(uintptr_t lo, uintptr_t hi)
{
    if (hi <= lo)
        return;
    sc.work = leash__xgrow(sc.work, sc.nwork, &sc.work_cap, sizeof *sc.work,
                           1024);
    sc.work[sc.nwork].lo = lo;
    sc.work[sc.nwork].hi = hi;
    sc.nwork++;
}

static size_t hash_word(uintptr_t p)
{
    p ^= p >> 31;
    p *= 0x9e3779b97f4a7c15ull;
    return (size_t)(p ^ (p >> 29));
}

static bool seen_add(uintptr_t base);

static void seen_grow(void)
{
    uintptr_t *old = sc.seen;
    size_t oldcap = sc.seen_cap, i;

    sc.seen_cap = oldcap != 0 ? oldcap * 2 : 4096;
    sc.seen = leash__xalloc(sc.seen_cap * sizeof *sc.seen);
    sc.seen_n = 0;
    for (i = 0; i < oldcap; i++)
        if (old[i] != 0)
            seen_add(old[i]);
    leash__xfree(old);
}

/*
 * Result: true when base was not in the set. The bitmap over the
 * collector's heap costs one bit per granule and no cache miss per probe
 * beyond its own word; the hash set serves when it could not be mapped.
 */
static bool seen_add(uintptr_t base)
{
    size_t mask, i;

    if (sc.seen_bits != NULL) {
        size_t k = (base - (sc.heap_lo & ~(uintptr_t)15)) >> 4;
        uint64_t bit = (uint64_t)1 << (k & 63);

        if (sc.seen_bits[k >> 6] & bit)
            return false;
        sc.seen_bits[k >> 6] |= bit;
        return true;
    }

    if ((sc.seen_n + 1) * 2 >= sc.seen_cap)
        seen_grow();
    mask = sc.seen_cap - 1;
    for (i = hash_word(base) & mask; sc.seen[i] != 0; i = (i + 1) & mask)
        if (sc.seen[i] == base)
            return false;
    sc.seen[i] = base;
    sc.seen_n++;
    return true;
}

/* ---- Lookups ----------------------------------------------------- */

static sreg_t *find_stack(uintptr_t p)
{
    size_t lo = 0, hi = sc.nstacks;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (p < sc.stacks[mid].lo)
            hi = mid;
        else if (p >= sc.stacks[mid].hi)
            lo = mid + 1;
        else
            return &sc.stacks[mid];
    }
    return NULL;
}

static ptrdiff_t find_block(uintptr_t p)
{
    size_t lo = 0, hi = sc.nblocks;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const leash__block_t *b = &sc.blocks[mid];

        if (p < b->base)
            hi = mid;
        else if (p >= b->base + (b->size != 0 ? b->size : 1))
            lo = mid + 1;
        else
            return (ptrdiff_t)mid;
    }
    return -1;
}

/* ---- Reachability ------------------------------------------------ */

static void reach_stack(sreg_t *s);

static void make_live(leash__g_t *g)
{
    sreg_t *s;

    if (g->scan_live)
        return;
    g->scan_live = true;
    s = find_stack((uintptr_t)g->stack_hi - 1);
    if (s != NULL)
        reach_stack(s);
}

/* Every goroutine waiting on a primitive inside [lo, hi) is live. */
static void wake_range(uintptr_t lo, uintptr_t hi)
{
    size_t a = 0, b = sc.nedges;

    while (a < b) {
        size_t mid = (a + b) / 2;

        if (sc.edges[mid].addr < lo)
            a = mid + 1;
        else
            b = mid;
    }
    for (; a < sc.nedges && sc.edges[a].addr < hi; a++)
        make_live(sc.edges[a].g);
}

static void reach(uintptr_t lo, uintptr_t hi, bool scan)
{
    wake_range(lo, hi);
    if (scan)
        push_range(lo, hi);
}

static void reach_stack(sreg_t *s)
{
    if (s->scanned)
        return;
    s->scanned = true;
    reach(s->live_lo, s->hi, true);
}

static void consider(uintptr_t w)
{
    void *base;
    sreg_t *s;
    ptrdiff_t bi;

    if ((w < sc.heap_lo || w > sc.heap_hi) &&
        (w < sc.known_lo || w >= sc.known_hi))
        return;
    base = GC_base((void *)w);
    if (base != NULL) {
        size_t size;
        int kind;

        /* A collection just ran: unmarked objects are free. */
        if (!GC_is_marked(base) || !seen_add((uintptr_t)base))
            return;
        kind = GC_get_kind_and_size(base, &size);
        reach((uintptr_t)base, (uintptr_t)base + size,
              kind != GC_I_PTRFREE);
        return;
    }
    s = find_stack(w);
    if (s != NULL) {
        if (w >= s->live_lo)
            reach_stack(s);
        return;
    }
    bi = find_block(w);
    if (bi >= 0 && !sc.block_marked[bi]) {
        const leash__block_t *b = &sc.blocks[bi];

        sc.block_marked[bi] = 1;
        reach(b->base, b->base + b->size, true);
    }
}

NO_ASAN static void drain(void)
{
    while (sc.nwork > 0) {
        range_t r = sc.work[--sc.nwork];
        uintptr_t p = (r.lo + 7) & ~(uintptr_t)7;

        for (; p + sizeof(uintptr_t) <= r.hi; p += sizeof(uintptr_t))
            consider(*(const uintptr_t *)p);
    }
}

/* Whether a primitive lies in memory the analysis knows. */
static bool known_memory(uintptr_t p)
{
    return GC_base((void *)p) != NULL || find_stack(p) != NULL ||
           find_block(p) >= 0;
}

/* ---- Roots ------------------------------------------------------- */

static bool skip_object(const char *name)
{
    static const char *const skip[] = {
        "/libgc.so", "/libasan.so", "/libubsan.so", "/liblsan.so",
    };
    size_t i;

    for (i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strstr(name, skip[i]) != NULL)
            return true;
    return false;
}

static int root_segments(struct dl_phdr_info *info, size_t n, void *unused)
{
    size_t i;

    if (info->dlpi_name != NULL && skip_object(info->dlpi_name))
        return 0;
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo;

        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
            lo = info->dlpi_addr + ph->p_vaddr;
            reach(lo, lo + ph->p_memsz, true);
        } else if (ph->p_type == PT_TLS && info->dlpi_tls_data != NULL) {
            lo = (uintptr_t)info->dlpi_tls_data;
            reach(lo, lo + ph->p_memsz, true);
        }
    }
    return 0;
}

static void user_root(uintptr_t lo, uintptr_t hi)
{
    reach(lo, hi, true);
}

static void timer_root(void *obj, void *unused)
{
    consider((uintptr_t)obj);
}

/* ---- Set-up and the fixpoint ------------------------------------- */

static int cmp_sreg(const void *a, const void *b)
{
    uintptr_t x = ((const sreg_t *)a)->lo, y = ((const sreg_t *)b)->lo;

    return (x > y) - (x < y);
}

static int cmp_edge(const void *a, const void *b)
{
    uintptr_t x = ((const wait_edge_t *)a)->addr;
    uintptr_t y = ((const wait_edge_t *)b)->addr;

    return (x > y) - (x < y);
}

static bool is_candidate(const leash__g_t *g)
{
    return g->state == LEASH_G_WAITING && leash__wait_is_candidate(g->wait);
}

static void build_tables(void)
{
    leash__g_t *g;
    size_t n = 0, ne = 0;

    sc.stacks = leash__xalloc((leash__s.nall + 1) * sizeof *sc.stacks);
    for (g = leash__s.all; g != NULL; g = g->all_next) {
        g->scan_live = false;
        sc.stacks[n].lo = (uintptr_t)g->stack_lo;
        sc.stacks[n].hi = (uintptr_t)g->stack_hi;
        sc.stacks[n].live_lo = (uintptr_t)g->sp;
        sc.stacks[n].g = g;
        n++;
        if (is_candidate(g))
            ne += g->nwait_prims;
    }
    sc.nstacks = n;
    qsort(sc.stacks, n, sizeof *sc.stacks, cmp_sreg);

    sc.edges = leash__xalloc((ne + 1) * sizeof *sc.edges);
    for (g = leash__s.all; g != NULL; g = g->all_next) {
        size_t i;

        if (!is_candidate(g))
            continue;
        for (i = 0; i < g->nwait_prims; i++) {
            sc.edges[sc.nedges].addr = (uintptr_t)g->wait_prims[i];
            sc.edges[sc.nedges].g = g;
            sc.nedges++;
        }
    }
    qsort(sc.edges, sc.nedges, sizeof *sc.edges, cmp_edge);

    sc.nblocks = leash__blocks_snapshot(&sc.blocks);
    sc.block_marked = leash__xalloc(sc.nblocks + 1);

    sc.known_lo = UINTPTR_MAX;
    sc.known_hi = 0;
    if (sc.nstacks > 0) {
        sc.known_lo = sc.stacks[0].lo;
        sc.known_hi = sc.stacks[sc.nstacks - 1].hi;
    }
    if (sc.nblocks > 0) {
        const leash__block_t *last = &sc.blocks[sc.nblocks - 1];

        if (sc.blocks[0].base < sc.known_lo)
            sc.known_lo = sc.blocks[0].base;
        if (last->base + last->size + 1 > sc.known_hi)
            sc.known_hi = last->base + last->size + 1;
    }
    sc.heap_lo = (uintptr_t)GC_least_plausible_heap_addr;
    sc.heap_hi = (uintptr_t)GC_greatest_plausible_heap_addr;

    /* Untouched pages of the bitmap cost nothing. */
    if (sc.heap_hi > sc.heap_lo) {
        sc.seen_bits_len = ((sc.heap_hi - sc.heap_lo) >> 7) + 16;
        sc.seen_bits = mmap(NULL, sc.seen_bits_len, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                            -1, 0);
        if (sc.seen_bits == MAP_FAILED)
            sc.seen_bits = NULL;
    }
}

static void free_tables(void)
{
    leash__xfree(sc.stacks);
    leash__xfree(sc.edges);
    leash__xfree(sc.blocks);
    leash__xfree(sc.block_marked);
    leash__xfree(sc.seen);
    if (sc.seen_bits != NULL)
        munmap(sc.seen_bits, sc.seen_bits_len);
    leash__xfree(sc.work);
    memset(&sc, 0, sizeof sc);
}

static void analyse(void)
{
    leash__g_t *g;
    size_t i;
    int64_t now = leash_now();

    build_tables();

    /* Doubts first: waiters on primitives in unknown memory are live. */
    for (i = 0; i < sc.nedges; i++)
        if (!known_memory(sc.edges[i].addr))
            make_live(sc.edges[i].g);

    for (g = leash__s.all; g != NULL; g = g->all_next)
        if (g->state != LEASH_G_LEAKED && !is_candidate(g))
            make_live(g);
    dl_iterate_phdr(root_segments, NULL);
    leash__user_roots_each(user_root);
    leash__timers_each(timer_root, NULL);
    drain();

    for (g = leash__s.all; g != NULL; g = g->all_next) {
        if (is_candidate(g) && !g->scan_live) {
            g->state = LEASH_G_LEAKED;
            g->leak_time = now;
        }
    }
}

/* ---- Running on a stack of its own ------------------------------- */

static struct leash__stack *side_stack;
static char *side_lo, *side_hi;

static void *call_analyse(void *unused)
{
    analyse();
    return NULL;
}

static void side_entry(void *unused)
{
    void *dead;

    /* The collector's lock: GC_is_marked needs it, and nothing may
     * collect while the analysis reads mark bits. */
    GC_call_with_alloc_lock(call_analyse, NULL);
    leash__fiber_enter(NULL, leash__s.cur->stack_lo, leash__s.cur->stack_hi);
    leash__swap(&dead, &leash__s.cur->sp);
    leash__fatal("runtime: the leak analysis stack was resumed");
}

void leash__analyse(void)
{
    leash__g_t *cur;
    void *sp;

    leash__init();
    GC_gcollect();
    if (side_stack != NULL)
        leash__stack_put(side_stack);
    side_stack = leash__stack_get(256 * 1024, &side_lo, &side_hi);
    if (side_stack == NULL)
        leash__fatal("runtime: no memory for the leak analysis stack");

    /* Suspend the caller like any goroutine and analyse elsewhere. */
    cur = leash__s.cur;
    sp = leash__ctx_make(side_hi, side_entry, NULL);
    leash__fiber_enter(&cur->asan_fake, side_lo, side_hi);
    leash__swap(&cur->sp, &sp);
    leash__fiber_entered(cur->asan_fake);

    free_tables();
}
