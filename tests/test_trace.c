/*
 * Tracebacks (runtime/trace.c): unwinding the current stack, a signal
 * frame and parked goroutines, symbolization and its cache, and Go's
 * printing format.
 *
 * The call chains below are noipa (no inlining, cloning or other
 * interprocedural changes, so each keeps its name and frame) and end each
 * call with an empty asm, so that no call becomes a tail call. AT records
 * the source line of the call it wraps, which is where the return address
 * of that call must resolve to.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"
#include "trace.h"
#include "util.h"

#define AT(i, expr) (line_at[i] = __LINE__, (expr))

#define MAX 64

/* Source lines of the calls made through AT, by slot. */
static int line_at[8];

enum { L_C, L_B, L_A, L_FAULT, L_RECV, L_ENTRY, L_NATIVE, L_HIDDEN };

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static leash__frame_t sym(uintptr_t pc)
{
    leash__frame_t f;

    leash__symbolize(pc, true, &f);
    return f;
}

/* Index of the first frame at or after from that is in function name. */
static int find_func(const uintptr_t *pcs, int n, int from, const char *name)
{
    int i;

    for (i = from; i < n; i++)
        if (strcmp(sym(pcs[i]).func, name) == 0)
            return i;
    return -1;
}

/* ---- The current stack ------------------------------------------- */

KEEP static int chain_c(uintptr_t *pcs, int max, int skip)
{
    int n = AT(L_C, leash__trace_current(pcs, max, skip));

    NO_TAIL();
    return n;
}

KEEP static int chain_b(uintptr_t *pcs, int max, int skip)
{
    int n = AT(L_B, chain_c(pcs, max, skip));

    NO_TAIL();
    return n;
}

KEEP static int chain_a(uintptr_t *pcs, int max, int skip)
{
    int n = AT(L_A, chain_b(pcs, max, skip));

    NO_TAIL();
    return n;
}

Test(trace, current_chain)
{
    static const char *const names[] = { "chain_c", "chain_b", "chain_a" };
    static const int slots[] = { L_C, L_B, L_A };
    uintptr_t pcs[MAX];
    int n = chain_a(pcs, MAX, 0), i;

    /* c, b, a, this test, Criterion, libc at least. */
    cr_assert_gt(n, 4, "only %d frames", n);
    cr_assert_lt(n, MAX, "the walk did not end");
    for (i = 0; i < 3; i++) {
        leash__frame_t f = sym(pcs[i]);

        cr_expect_str_eq(f.func, names[i], "frame %d", i);
        cr_expect_eq(f.pc, pcs[i]);
        cr_assert_not_null(f.file, "frame %d (%s) has no file", i, f.func);
        cr_expect(ends_with(f.file, "/tests/test_trace.c"), "file %s",
                  f.file);
        cr_expect_eq(f.line, line_at[slots[i]], "frame %d (%s): line %d",
                     i, f.func, f.line);
        cr_expect_gt(f.offset, 0);
    }
}

Test(trace, current_skip_and_max)
{
    uintptr_t pcs[MAX];
    int n;

    n = chain_a(pcs, MAX, 1);
    cr_assert_gt(n, 2);
    cr_expect_str_eq(sym(pcs[0]).func, "chain_b");
    cr_expect_str_eq(sym(pcs[1]).func, "chain_a");

    n = chain_a(pcs, 2, 0);
    cr_assert_eq(n, 2);
    cr_expect_str_eq(sym(pcs[0]).func, "chain_c");
    cr_expect_str_eq(sym(pcs[1]).func, "chain_b");

    cr_expect_eq(chain_a(pcs, 0, 0), 0);
    cr_expect_eq(leash__trace_saved(NULL, pcs, MAX), 0);
}

/* ---- Symbolization and its cache --------------------------------- */

Test(trace, symbolize_function_address)
{
    leash__frame_t f;

    /* A function's own address is no return address: is_return false. */
    leash__symbolize((uintptr_t)chain_b, false, &f);
    cr_expect_str_eq(f.func, "chain_b");
    cr_expect_eq(f.offset, 0);
    cr_assert_not_null(f.file);
    cr_expect(ends_with(f.file, "/tests/test_trace.c"), "file %s", f.file);
    cr_expect_gt(f.line, 0);

    /* The runtime's own functions, in libleash. */
    leash__symbolize((uintptr_t)leash__symbolize, false, &f);
    cr_expect_str_eq(f.func, "leash__symbolize");
    cr_assert_not_null(f.file);
    cr_expect(ends_with(f.file, "/runtime/trace.c"), "file %s", f.file);

    /* libc: a name at least, from its symbol table. */
    leash__symbolize((uintptr_t)abort, false, &f);
    cr_expect_str_eq(f.func, "abort");

    /* Nothing is mapped at page 0. */
    leash__symbolize(16, true, &f);
    cr_expect_str_eq(f.func, "?");
    cr_expect_null(f.file);
    cr_expect_eq(f.line, 0);
}

Test(trace, symbolize_cache_is_stable)
{
    uintptr_t pcs[MAX];
    leash__frame_t f1, f2, f3;
    int n = chain_a(pcs, MAX, 0);

    cr_assert_gt(n, 2);
    leash__symbolize(pcs[1], true, &f1);
    leash__symbolize(pcs[1], true, &f2);
    cr_expect_eq(f1.func, f2.func);
    cr_expect_eq(f1.file, f2.file);
    cr_expect_eq(f1.line, f2.line);
    cr_expect_eq(f1.offset, f2.offset);

    /* Another pc in another function of the same file: the path is shared
     * by interning, not copied again. */
    leash__symbolize(pcs[2], true, &f3);
    cr_expect_neq(f1.func, f3.func);
    cr_expect_eq(f1.file, f3.file);
}

/* ---- Printing ---------------------------------------------------- */

static char *print_to_string(const uintptr_t *pcs, int n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    cr_assert_not_null(f);
    leash__print_frames(f, pcs, n);
    fclose(f);
    return buf;
}

static void expect_match(const char *text, const char *pattern)
{
    regex_t re;

    cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED), 0, "bad regex %s",
                 pattern);
    cr_expect_eq(regexec(&re, text, 0, NULL, 0), 0,
                 "output:\n%s\ndoes not match:\n%s", text, pattern);
    regfree(&re);
}

Test(trace, print_go_format)
{
    uintptr_t pcs[MAX];
    char pattern[512];
    int n = chain_a(pcs, MAX, 0);
    char *out = print_to_string(pcs, n);

    snprintf(pattern, sizeof pattern,
             "^chain_c\\(\\.\\.\\.\\)\n"
             "\t/[^\n]*/tests/test_trace\\.c:%d \\+0x[0-9a-f]+\n"
             "chain_b\\(\\.\\.\\.\\)\n"
             "\t/[^\n]*/tests/test_trace\\.c:%d \\+0x[0-9a-f]+\n"
             "chain_a\\(\\.\\.\\.\\)\n"
             "\t/[^\n]*/tests/test_trace\\.c:%d \\+0x[0-9a-f]+\n",
             line_at[L_C], line_at[L_B], line_at[L_A]);
    expect_match(out, pattern);
    free(out);
}

/* Named like a runtime internal, so reports must leave it out. */
KEEP int leash__test_hidden(uintptr_t *pcs, int max)
{
    int n = AT(L_HIDDEN, leash__trace_current(pcs, max, 0));

    NO_TAIL();
    return n;
}

KEEP static int calls_hidden(uintptr_t *pcs, int max)
{
    int n = leash__test_hidden(pcs, max);

    NO_TAIL();
    return n;
}

Test(trace, print_omits_internal_frames)
{
    uintptr_t pcs[MAX];
    int n = calls_hidden(pcs, MAX);
    char *out;

    cr_assert_gt(n, 2);
    cr_expect_str_eq(sym(pcs[0]).func, "leash__test_hidden");
    cr_expect(leash__pc_is_internal(pcs[0]));
    cr_expect_not(leash__pc_is_internal(pcs[1]));

    out = print_to_string(pcs, n);
    cr_expect_null(strstr(out, "leash__test_hidden"), "output:\n%s", out);
    expect_match(out, "^calls_hidden\\(\\.\\.\\.\\)\n\t");
    free(out);
}

/* ---- A signal frame ---------------------------------------------- */

static sigjmp_buf fault_jmp;
static uintptr_t fault_pcs[MAX];
static int fault_n;

static void on_fault(int sig)
{
    fault_n = leash__trace_current(fault_pcs, MAX, 0);
    siglongjmp(fault_jmp, 1);
}

KEEP static void faulter(volatile int *p)
{
    AT(L_FAULT, *p = 42);
    NO_TAIL();
}

Test(trace, current_through_signal_frame)
{
    struct sigaction sa, old;
    leash__frame_t f;
    void *page;
    int i;

    /* An inaccessible page rather than NULL, which UBSan would catch. */
    page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(page, MAP_FAILED);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGSEGV, &sa, &old), 0);
    if (sigsetjmp(fault_jmp, 1) == 0)
        faulter(page);
    sigaction(SIGSEGV, &old, NULL);
    munmap(page, 4096);

    /* on_fault, then at once the interrupted faulter: the kernel's
     * trampoline between them is not a frame. */
    cr_assert_gt(fault_n, 2);
    cr_expect_str_eq(sym(fault_pcs[0]).func, "on_fault");
    i = find_func(fault_pcs, fault_n, 0, "faulter");
    cr_assert_eq(i, 1, "faulter at %d", i);

    /* Stored as the faulting pc + 1: pc - 1 is the store itself. */
    f = sym(fault_pcs[1]);
    cr_expect_eq(f.line, line_at[L_FAULT], "line %d", f.line);
    cr_expect_str_eq(sym(fault_pcs[2]).func,
                     "trace_current_through_signal_frame_impl");
}

/* ---- Parked goroutines ------------------------------------------- */

KEEP static void parks_in_recv(leash_chan_t *c)
{
    int v;

    AT(L_RECV, leash_chan_recv(c, &v));
    NO_TAIL();
}

KEEP static void goroutine_entry(void *arg)
{
    AT(L_ENTRY, parks_in_recv(arg));
    NO_TAIL();
}

Test(trace, saved_goroutine)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 0);
    uintptr_t pcs[MAX];
    leash__g_t *g;
    leash__frame_t f;
    int64_t id;
    int n, i, recv, inner, entry, v = 1;
    char *out, pattern[512];

    id = leash_go(goroutine_entry, c);
    cr_assert_gt(id, 1);
    leash_yield();
    g = find_g(id);
    cr_assert_not_null(g);
    cr_assert_eq(g->state, LEASH_G_WAITING);

    n = leash__trace_saved(g->sp, pcs, MAX);
    cr_assert_gt(n, 3);
    cr_assert_lt(n, MAX, "the walk did not end");

    /* The blocking call, then the goroutine's functions, in order. */
    recv = find_func(pcs, n, 0, "leash_chan_recv");
    inner = find_func(pcs, n, 0, "parks_in_recv");
    entry = find_func(pcs, n, 0, "goroutine_entry");
    cr_assert_geq(recv, 0);
    cr_expect_eq(inner, recv + 1);
    cr_expect_eq(entry, recv + 2);
    f = sym(pcs[inner]);
    cr_expect_eq(f.line, line_at[L_RECV]);
    f = sym(pcs[entry]);
    cr_expect_eq(f.line, line_at[L_ENTRY]);

    /* Everything before the blocking call is the park path. */
    for (i = 0; i < recv; i++)
        cr_expect(leash__pc_is_internal(pcs[i]), "frame %d %s not internal",
                  i, sym(pcs[i]).func);

    /* The walk ends at the goroutine's first code. */
    cr_expect_eq(entry, n - 2);
    cr_expect_str_eq(sym(pcs[n - 1]).func, "leash__trampoline");

    /* The report starts at the blocking call and ends at the entry. */
    out = print_to_string(pcs, n);
    snprintf(pattern, sizeof pattern,
             "^leash_chan_recv\\(\\.\\.\\.\\)\n"
             "\t[^\n]*:[0-9]+ \\+0x[0-9a-f]+\n"
             "parks_in_recv\\(\\.\\.\\.\\)\n"
             "\t/[^\n]*/tests/test_trace\\.c:%d \\+0x[0-9a-f]+\n"
             "goroutine_entry\\(\\.\\.\\.\\)\n"
             "\t/[^\n]*/tests/test_trace\\.c:%d \\+0x[0-9a-f]+\n$",
             line_at[L_RECV], line_at[L_ENTRY]);
    expect_match(out, pattern);
    free(out);

    leash_chan_send(c, &v);
    cr_expect_eq(leash_settle(0), 0);
}

/* The thread's own stack, parked while a goroutine looks at it. */
static uintptr_t native_pcs[MAX];
static int native_n;

static void trace_g1(void *arg)
{
    leash_chan_t *c = arg;
    int v = 1;

    native_n = leash__trace_saved(leash__s.g1->sp, native_pcs, MAX);
    leash_chan_send(c, &v);
}

KEEP static void native_wait(leash_chan_t *c)
{
    int v;

    AT(L_NATIVE, leash_chan_recv(c, &v));
    NO_TAIL();
}

Test(trace, saved_native_stack)
{
    leash_chan_t *c = leash_chan_make(sizeof(int), 0);
    int recv, wait;

    cr_assert_gt(leash_go(trace_g1, c), 1);
    native_wait(c);

    cr_assert_gt(native_n, 3);
    recv = find_func(native_pcs, native_n, 0, "leash_chan_recv");
    wait = find_func(native_pcs, native_n, 0, "native_wait");
    cr_assert_geq(recv, 0);
    cr_expect_eq(wait, recv + 1);
    cr_expect_eq(sym(native_pcs[wait]).line, line_at[L_NATIVE]);
    cr_expect_str_eq(sym(native_pcs[wait + 1]).func,
                     "trace_saved_native_stack_impl");
    cr_expect_lt(native_n, MAX, "the walk did not end");
    cr_expect_eq(leash_settle(0), 0);
}
