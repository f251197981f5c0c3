/*
 * Memory: the collector (bdwgc) and the malloc index.
 *
 * Collected memory. Channels, timers, contexts and leash_alloc come from
 * bdwgc. The collector scans the running stack itself; every other stack
 * (suspended goroutines, the suspended native stack) is pushed from the
 * push-other-roots hook, which also moves the collector's idea of the
 * current stack's cold end to the running goroutine's stack before the
 * thread stacks are scanned. Doing that in the hook, which only runs during
 * a collection, keeps the context switch free of collector work.
 *
 * The malloc index. malloc and friends are interposed and every live block
 * is recorded in a hash table (bookkeeping memory, invisible to the
 * collector). Each collection pushes every live block as a root, so that
 * collected memory referenced only from malloc'd memory is never freed; the
 * leak analysis instead traces blocks as ordinary objects. Under
 * AddressSanitizer, which owns malloc, the sanitizer's allocation hooks feed
 * the same index.
 */
#define _GNU_SOURCE
#include "mem.h"

#include <errno.h>
#define GC_THREADS 1
#include <gc/gc.h>
#include <gc/gc_mark.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

/* ---- The malloc index -------------------------------------------- */

/*
 * Open addressing with linear probing and tombstones, keyed by block base.
 * A mutex guards it: threads the runtime does not run (a test framework's,
 * a library's) may allocate at any time.
 */
#define SLOT_EMPTY ((uintptr_t)0)
#define SLOT_DEAD ((uintptr_t)1)

static struct {
    pthread_mutex_t lock;
    leash__block_t *slots;
    size_t cap;      /* power of two */
    size_t used;     /* live + dead slots */
    size_t live;
} idx = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t hash_ptr(uintptr_t p)
{
    p ^= p >> 33;
    p *= 0xff51afd7ed558ccdull;
    p ^= p >> 33;
    return (size_t)p;
}

static void idx_insert_locked(uintptr_t base, size_t size);

static void idx_grow_locked(void)
{
    leash__block_t *old = idx.slots;
    size_t oldcap = idx.cap, i;

    idx.cap = oldcap != 0 ? oldcap * 2 : 4096;
    if (idx.live * 4 < oldcap)
        idx.cap = oldcap;  /* mostly tombstones: rehash in place size */
    idx.slots = __libc_calloc(idx.cap, sizeof *idx.slots);
    if (idx.slots == NULL)
        leash__fatal("runtime: out of memory for the malloc index");
    idx.used = idx.live = 0;
    for (i = 0; i < oldcap; i++)
        if (old[i].base > SLOT_DEAD)
            idx_insert_locked(old[i].base, old[i].size);
    __libc_free(old);
}

static void idx_insert_locked(uintptr_t base, size_t size)
{
    size_t mask, i;

    if ((idx.used + 1) * 4 >= idx.cap * 3)
        idx_grow_locked();
    mask = idx.cap - 1;
    for (i = hash_ptr(base) & mask;; i = (i + 1) & mask) {
        if (idx.slots[i].base <= SLOT_DEAD) {
            if (idx.slots[i].base == SLOT_EMPTY)
                idx.used++;
            idx.slots[i].base = base;
            idx.slots[i].size = size;
            idx.live++;
            return;
        }
    }
}

static void idx_insert(void *p, size_t size)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&idx.lock);
    idx_insert_locked((uintptr_t)p, size);
    pthread_mutex_unlock(&idx.lock);
}

static void idx_remove(void *p)
{
    uintptr_t base = (uintptr_t)p;
    size_t mask, i;

    if (p == NULL)
        return;
    pthread_mutex_lock(&idx.lock);
    if (idx.cap != 0) {
        mask = idx.cap - 1;
        for (i = hash_ptr(base) & mask; idx.slots[i].base != SLOT_EMPTY;
             i = (i + 1) & mask) {
            if (idx.slots[i].base == base) {
                idx.slots[i].base = SLOT_DEAD;
                idx.live--;
                break;
            }
        }
    }
    pthread_mutex_unlock(&idx.lock);
}

static int cmp_block(const void *a, const void *b)
{
    uintptr_t x = ((const leash__block_t *)a)->base;
    uintptr_t y = ((const leash__block_t *)b)->base;

    return (x > y) - (x < y);
}

size_t leash__blocks_snapshot(leash__block_t **out)
{
    leash__block_t *v;
    size_t i, n = 0;

    pthread_mutex_lock(&idx.lock);
    v = leash__xalloc((idx.live + 1) * sizeof *v);
    for (i = 0; i < idx.cap; i++)
        if (idx.slots[i].base > SLOT_DEAD)
            v[n++] = idx.slots[i];
    pthread_mutex_unlock(&idx.lock);
    qsort(v, n, sizeof *v, cmp_block);
    *out = v;
    return n;
}

static void push_blocks(void)
{
    size_t i;

    /* The world is stopped; threads the collector does not know keep
     * running, so take the lock. */
    pthread_mutex_lock(&idx.lock);
    for (i = 0; i < idx.cap; i++) {
        uintptr_t b = idx.slots[i].base;

        if (b > SLOT_DEAD)
            GC_push_all_eager((void *)b, (void *)(b + idx.slots[i].size));
    }
    pthread_mutex_unlock(&idx.lock);
}

#ifdef LEASH_ASAN

/* Declared here: gcc's headers lack allocator_interface.h. */
int __sanitizer_install_malloc_and_free_hooks(
    void (*on_malloc)(const volatile void *p, size_t size),
    void (*on_free)(const volatile void *p));

static void asan_on_malloc(const volatile void *p, size_t size)
{
    idx_insert((void *)p, size);
}

static void asan_on_free(const volatile void *p)
{
    idx_remove((void *)p);
}

__attribute__((constructor)) static void install_asan_hooks(void)
{
    __sanitizer_install_malloc_and_free_hooks(asan_on_malloc, asan_on_free);
}

#else

void *malloc(size_t size)
{
    void *p = __libc_malloc(size);

    idx_insert(p, size);
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);

    idx_insert(p, n * size);
    return p;
}

void free(void *p)
{
    idx_remove(p);
    __libc_free(p);
}

void *realloc(void *old, size_t size)
{
    void *p;

    if (old == NULL)
        return malloc(size);
    if (size == 0) {
        free(old);
        return NULL;
    }
    p = __libc_realloc(old, size);
    if (p != NULL) {
        idx_remove(old);
        idx_insert(p, size);
    }
    return p;
}

void *memalign(size_t align, size_t size)
{
    void *p = __libc_memalign(align, size);

    idx_insert(p, size);
    return p;
}

void *aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    void *p;

    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    p = memalign(align, size);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t size)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    return memalign(page, (size + page - 1) & ~(page - 1));
}

#endif

/* ---- The collector's roots --------------------------------------- */

static GC_push_other_roots_proc prev_push_other_roots;
static void *gc_thread;

static void push_range(void *lo, void *hi)
{
    GC_push_all_eager(lo, hi);
}

static int push_tls(struct dl_phdr_info *info, size_t n, void *unused)
{
    size_t i;

    if (info->dlpi_tls_data == NULL)
        return 0;
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

        if (ph->p_type == PT_TLS) {
            char *lo = info->dlpi_tls_data;

            GC_push_all_eager(lo, lo + ph->p_memsz);
        }
    }
    return 0;
}

static void push_other_roots(void)
{
    leash__g_t *cur = leash__s.cur, *g;
    struct GC_stack_base sb;

    /* The running stack's cold end, for the thread scan that follows. */
    sb.mem_base = cur != NULL ? cur->stack_hi : leash__s.native_hi;
    if (sb.mem_base != NULL)
        GC_set_stackbottom(gc_thread, &sb);

    /* Every suspended stack, from its saved stack pointer up, and what
     * a parked goroutine waits on, so that a leaked goroutine keeps its
     * primitives. */
    for (g = leash__s.all; g != NULL; g = g->all_next) {
        if (g != cur && g->sp != NULL)
            GC_push_all_eager(g->sp, g->stack_hi);
        GC_push_all_eager(&g->wait_one, &g->wait_one + 1);
    }

    leash__timers_push_roots(push_range);
    push_blocks();
    dl_iterate_phdr(push_tls, NULL);

    if (prev_push_other_roots != NULL)
        prev_push_other_roots();
}

void leash__mem_init(void)
{
    struct GC_stack_base sb;

    GC_INIT();
    GC_allow_register_threads();
    gc_thread = GC_get_my_stackbottom(&sb);
    prev_push_other_roots = GC_get_push_other_roots();
    GC_set_push_other_roots(push_other_roots);
}

void *leash__gc_alloc(size_t size)
{
    return GC_MALLOC(size);
}

void *leash_alloc(size_t size)
{
    void *p;

    leash__init();
    p = GC_MALLOC(size);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

/* ---- Roots the user registers ------------------------------------ */

static struct {
    leash__block_t *v;
    size_t n, cap;
} user_roots;

int leash_add_roots(void *lo, void *hi)
{
    leash__init();
    if ((uintptr_t)lo >= (uintptr_t)hi) {
        errno = EINVAL;
        return -1;
    }
    user_roots.v = leash__xgrow(user_roots.v, user_roots.n, &user_roots.cap,
                                sizeof *user_roots.v, 8);
    user_roots.v[user_roots.n].base = (uintptr_t)lo;
    user_roots.v[user_roots.n].size = (uintptr_t)hi - (uintptr_t)lo;
    user_roots.n++;
    GC_add_roots(lo, hi);
    return 0;
}

int leash_remove_roots(void *lo, void *hi)
{
    size_t i;

    leash__init();
    for (i = 0; i < user_roots.n; i++) {
        leash__block_t *r = &user_roots.v[i];

        if (r->base == (uintptr_t)lo &&
            r->base + r->size == (uintptr_t)hi) {
            *r = user_roots.v[--user_roots.n];
            GC_remove_roots(lo, hi);
            return 0;
        }
    }
    errno = EINVAL;
    return -1;
}

void leash__user_roots_each(void (*fn)(uintptr_t lo, uintptr_t hi))
{
    size_t i;

    for (i = 0; i < user_roots.n; i++)
        fn(user_roots.v[i].base, user_roots.v[i].base + user_roots.v[i].size);
}

void leash_gc(void)
{
    leash__init();
    GC_gcollect();
}
