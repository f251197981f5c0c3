/*
 * Goroutine stacks: mmap'd, cached for reuse, guarded where the kernel's
 * mapping budget allows.
 *
 * A guarded stack is one mapping of guard + size bytes whose lowest page is
 * made inaccessible: two kernel mappings (VMAs). Linux allows
 * vm.max_map_count of them per process (65530 by default), so guarded
 * stacks are limited to a third of that budget. Beyond it, stacks are
 * mapped without a guard page and carry a canary at their lowest word that
 * the scheduler checks whenever a goroutine parks or exits; an overflow
 * there is reported after the fact, and may already have corrupted the
 * neighbouring mapping. Unused pages of a stack cost no memory: the kernel
 * backs only the pages touched.
 *
 * Overflow into a guard page raises SIGSEGV on the goroutine's stack; an
 * alternate signal stack lets the handler run and name the goroutine.
 */
#define _GNU_SOURCE
#include "internal.h"

#ifdef LEASH_ASAN
#include <sanitizer/asan_interface.h>
#endif

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CANARY ((uint64_t)0x6c65617368a5c3e1ull)

struct leash__stack {
    struct leash__stack *next;  /* free list of the cache */
    char *map;                  /* whole mapping, guard page included */
    size_t maplen;
    size_t size;                /* usable bytes */
    bool guarded;
};

static struct {
    struct leash__stack *free;
    size_t nfree;
    size_t nguarded;
    size_t max_guarded;
    size_t page;
    bool handler_installed;
} st;

static size_t read_max_map_count(void)
{
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    unsigned long n = 65530;

    if (f != NULL) {
        if (fscanf(f, "%lu", &n) != 1)
            n = 65530;
        fclose(f);
    }
    return n / 3;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    leash__g_t *g = leash__stack_owner_of_guard(si->si_addr);
    char msg[96];
    int n;

    if (g == NULL) {
        /* Not ours: restore the default action and let it recur. */
        signal(sig, SIG_DFL);
        return;
    }
    n = snprintf(msg, sizeof msg,
                 "fatal error: stack overflow in goroutine %lld\n",
                 (long long)g->id);
    if (write(2, msg, (size_t)n) < 0) {
        /* nothing more can be done */
    }
    leash__dump_g(stderr, g, "running");
    fflush(stderr);
    signal(SIGABRT, SIG_DFL);
    abort();
}

static void install_handler(void)
{
    /* Symbolizing with libdw takes well over 64 KiB of stack. Mapped,
     * not static, so the leak analysis does not scan it as a root. */
    size_t size = 1024 * 1024;
    void *alt = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    stack_t ss = { .ss_sp = alt, .ss_size = size };
    struct sigaction sa;

    if (alt != MAP_FAILED)
        sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    st.handler_installed = true;
}

struct leash__stack *leash__stack_get(size_t size, char **lo, char **hi)
{
    struct leash__stack **pp, *s;
    bool guard;
    char *map;
    size_t maplen;

    if (st.page == 0) {
        st.page = (size_t)sysconf(_SC_PAGESIZE);
        st.max_guarded = read_max_map_count();
    }
    if (!st.handler_installed)
        install_handler();

    /* A cached stack of the same size costs nothing. */
    for (pp = &st.free; (s = *pp) != NULL; pp = &s->next) {
        if (s->size == size) {
            *pp = s->next;
            st.nfree--;
            goto done;
        }
    }

    guard = st.nguarded < st.max_guarded;
    maplen = size + (guard ? st.page : 0);
    map = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    if (guard && mprotect(map, st.page, PROT_NONE) != 0) {
        munmap(map, maplen);
        errno = ENOMEM;
        return NULL;
    }
    s = leash__xalloc(sizeof *s);
    s->map = map;
    s->maplen = maplen;
    s->size = size;
    s->guarded = guard;
    if (guard)
        st.nguarded++;

done:
    *hi = s->map + s->maplen;
    *lo = *hi - s->size;
#ifdef LEASH_ASAN
    /* Frames abandoned on a reused stack leave their redzones behind. */
    ASAN_UNPOISON_MEMORY_REGION(*lo, s->size);
#endif
    if (!s->guarded)
        *(uint64_t *)*lo = CANARY;
    return s;
}

void leash__stack_put(struct leash__stack *s)
{
    /* Keep a bounded cache; unmap the rest. */
    if (st.nfree < 4096) {
        s->next = st.free;
        st.free = s;
        st.nfree++;
        return;
    }
    if (s->guarded)
        st.nguarded--;
    munmap(s->map, s->maplen);
    leash__xfree(s);
}

bool leash__stack_intact(const struct leash__stack *s)
{
    if (s == NULL || s->guarded)
        return true;
    return *(const uint64_t *)(s->map) == CANARY;
}

leash__g_t *leash__stack_owner_of_guard(const void *addr)
{
    const char *a = addr;
    leash__g_t *g;

    for (g = leash__s.all; g != NULL; g = g->all_next) {
        struct leash__stack *s = g->stack;

        if (s != NULL && s->guarded && a >= s->map - st.page &&
            a < s->map + st.page)
            return g;
    }
    return NULL;
}
