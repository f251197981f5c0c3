/*
 * Panics, fatal errors and goroutine dumps in Go's format:
 *
 *   goroutine 7 [chan send, 2 minutes]:
 *   worker(...)
 *           /src/app.c:41 +0x2c
 *   created by start_workers in goroutine 1
 *           /src/app.c:60 +0x51
 */
#include "internal.h"
#include "trace.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_FRAMES 64

static bool in_panic;

static void print_wait(FILE *out, leash__g_t *g)
{
    int64_t mins = (leash_now() - g->park_time) / (60 * LEASH_SECOND);

    fputs(leash__wait_name(g->wait), out);
    if (mins >= 1)
        fprintf(out, ", %lld minutes", (long long)mins);
}

void leash__dump_g(FILE *out, leash__g_t *g, const char *state_override)
{
    uintptr_t pcs[MAX_FRAMES];
    leash__frame_t f;
    int n;

    fprintf(out, "goroutine %lld [", (long long)g->id);
    if (state_override != NULL)
        fputs(state_override, out);
    else if (g->state == LEASH_G_WAITING || g->state == LEASH_G_LEAKED)
        print_wait(out, g);
    else
        fputs(leash__gstate_name(g->state), out);
    if (g->state == LEASH_G_LEAKED)
        fputs(" (leaked)", out);
    fputs("]:\n", out);

    if (g == leash__s.cur)
        n = leash__trace_current(pcs, MAX_FRAMES, 1);
    else
        n = leash__trace_saved(g->sp, pcs, MAX_FRAMES);
    leash__print_frames(out, pcs, n);

    if (g->id != 1) {
        leash__symbolize(g->spawn_pc, true, &f);
        fprintf(out, "created by %s in goroutine %lld\n", f.func,
                (long long)g->parent_id);
        if (f.file != NULL)
            fprintf(out, "\t%s:%d +0x%lx\n", f.file, f.line,
                    (unsigned long)f.offset);
    }
    fputc('\n', out);
}

void leash__dump_all(FILE *out)
{
    leash__g_t *g;

    /* The current goroutine first, as Go does, then by id order of the
     * registry (newest first). */
    if (leash__s.cur != NULL && leash__s.cur->state != LEASH_G_DEAD)
        leash__dump_g(out, leash__s.cur, NULL);
    for (g = leash__s.all; g != NULL; g = g->all_next)
        if (g != leash__s.cur)
            leash__dump_g(out, g, NULL);
}

_Noreturn static void die(void)
{
    fflush(stderr);
    signal(SIGABRT, SIG_DFL);
    abort();
}

_Noreturn void leash__vpanic(const char *fmt, va_list ap)
{
    fflush(stdout);
    if (in_panic) {
        fputs("panic during panic\n", stderr);
        die();
    }
    in_panic = true;
    fputs("panic: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    if (leash__s.inited)
        leash__dump_g(stderr, leash__s.cur, "running");
    die();
}

_Noreturn void leash_panic(const char *fmt, ...)
{
    va_list ap;

    leash__init();
    va_start(ap, fmt);
    leash__vpanic(fmt, ap);
}

_Noreturn void leash__fatal(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    if (leash__s.inited && !in_panic) {
        in_panic = true;
        leash__dump_g(stderr, leash__s.cur, "running");
    }
    die();
}
