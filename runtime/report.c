/*
 * Reports: leaked or living goroutines as plain structs for the harness,
 * and as text in the manner of Go's goroutine dumps.
 *
 * A report owns its memory (bookkeeping memory, so that holding a report
 * does not make anything reachable to the next analysis). Strings come
 * from the symbol cache and live as long as the process.
 */
#include "chan.h"
#include "leak_internal.h"
#include "trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 64

struct leash_report {
    size_t n, cap;
    size_t n_new;
    leash_goroutine_t *gs;
};

static void frame_of(uintptr_t pc, bool is_return, leash_frame_t *out)
{
    leash__frame_t f;

    memset(out, 0, sizeof *out);
    if (pc == 0) {
        out->func = "?";
        return;
    }
    leash__symbolize(pc, is_return, &f);
    out->pc = pc;
    out->func = f.func;
    out->file = f.file;
    out->line = f.line;
}

static const char *state_name(const leash__g_t *g)
{
    if (g->state == LEASH_G_WAITING && g->wait == LEASH_WAIT_SLEEP)
        return "sleeping";
    return leash__gstate_name(g->state);
}

/*
 * Stack frames without the runtime's internals. When the compiler turned
 * the entry function's last call into a jump, its frame is gone; it is
 * put back as the outermost frame, at the function's start, so that
 * reports and allowlists always see it.
 */
static void fill_frames(leash__g_t *g, leash_goroutine_t *out)
{
    uintptr_t pcs[MAX_FRAMES];
    leash_frame_t *fr;
    int n, i;
    size_t k = 0;

    if (g == leash__s.cur)
        n = leash__trace_current(pcs, MAX_FRAMES, 2);
    else
        n = leash__trace_saved(g->sp, pcs, MAX_FRAMES);
    fr = leash__xalloc((size_t)(n + 1) * sizeof *fr);
    for (i = 0; i < n; i++) {
        if (leash__pc_is_internal(pcs[i]))
            continue;
        frame_of(pcs[i], true, &fr[k++]);
        /* Go's dumps stop at main.main; so do these. */
        if (g->id == 1 && strcmp(fr[k - 1].func, "main") == 0)
            break;
    }
    if (g->entry != NULL && n < MAX_FRAMES) {
        leash_frame_t entry;

        frame_of((uintptr_t)g->entry, false, &entry);
        if (k == 0 || strcmp(fr[k - 1].func, entry.func) != 0)
            fr[k++] = entry;
    }
    out->frames = fr;
    out->nframes = k;
}

static void fill_prim(leash__g_t *g, leash_goroutine_t *out)
{
    const void *p;

    out->nprims = g->nwait_prims;
    if (g->nwait_prims == 0 || !leash__wait_is_candidate(g->wait))
        return;
    p = g->wait_prims[0];
    out->prim_kind = leash__prim_name(g->wait_kind);
    out->prim_addr = (uintptr_t)p;
    switch (g->wait_kind) {
    case LEASH_PRIM_NONE:
        break;
    case LEASH_PRIM_CHAN:
        frame_of(((const leash_chan_t *)p)->site, true,
                 &out->prim_site);
        break;
    case LEASH_PRIM_MUTEX:
        frame_of(((const leash_mutex_t *)p)->site, true, &out->prim_site);
        out->holder_id = ((const leash_mutex_t *)p)->owner;
        break;
    case LEASH_PRIM_RWMUTEX:
        frame_of(((const leash_rwmutex_t *)p)->site, true, &out->prim_site);
        out->holder_id = ((const leash_rwmutex_t *)p)->writer;
        break;
    case LEASH_PRIM_WAITGROUP:
        frame_of(((const leash_waitgroup_t *)p)->site, true,
                 &out->prim_site);
        break;
    case LEASH_PRIM_COND:
        frame_of(((const leash_cond_t *)p)->site, true, &out->prim_site);
        break;
    }
}

static void add(leash_report_t *r, leash__g_t *g, int64_t now)
{
    leash_goroutine_t *o;

    r->gs = leash__xgrow(r->gs, r->n, &r->cap, sizeof *r->gs, 16);
    o = &r->gs[r->n++];
    memset(o, 0, sizeof *o);
    o->id = g->id;
    o->state = state_name(g);
    o->leaked = g->state == LEASH_G_LEAKED;
    o->wait_reason = g->state == LEASH_G_WAITING || o->leaked
                         ? leash__wait_name(g->wait) : "";
    if (g->state == LEASH_G_WAITING || o->leaked)
        o->blocked_ns = now - g->park_time;
    o->already_reported = o->leaked && g->leak_reported;
    if (o->leaked && !g->leak_reported) {
        g->leak_reported = true;
        r->n_new++;
    }
    fill_frames(g, o);
    frame_of((uintptr_t)g->entry, false, &o->entry);
    if (g->id != 1)
        frame_of(g->spawn_pc, true, &o->creator);
    o->parent_id = g->parent_id;
    fill_prim(g, o);
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = ((const leash_goroutine_t *)a)->id;
    int64_t y = ((const leash_goroutine_t *)b)->id;

    return (x > y) - (x < y);
}

static leash_report_t *finish(leash_report_t *r)
{
    if (r->n > 1)
        qsort(r->gs, r->n, sizeof *r->gs, cmp_id);
    return r;
}

/*
 * Zero the dead stack below the caller, where the analysis' frames will
 * lie: their unwritten slots would otherwise hold old pointers of the
 * caller's finished calls, which a conservative scan takes for live ones.
 */
static LEASH_NOINLINE void scrub_stack(void)
{
    volatile char pad[16 * 1024];

    memset((char *)pad, 0, sizeof pad);
}

LEASH_NOINLINE leash_report_t *leash_find_leaks(void)
{
    leash_report_t *r;
    leash__g_t *g;
    int64_t now;

    scrub_stack();
    leash__analyse();
    r = leash__xalloc(sizeof *r);
    now = leash_now();
    for (g = leash__s.all; g != NULL; g = g->all_next)
        if (g->state == LEASH_G_LEAKED)
            add(r, g, now);
    return finish(r);
}

leash_baseline_t leash_baseline(void)
{
    leash__init();
    return leash__s.next_id;
}

leash_report_t *leash_goroutines_since(leash_baseline_t baseline)
{
    leash_report_t *r;
    leash__g_t *g;
    int64_t now;

    leash__init();
    r = leash__xalloc(sizeof *r);
    now = leash_now();
    for (g = leash__s.all; g != NULL; g = g->all_next)
        if (g != leash__s.cur && g->id >= baseline && g->id != 1)
            add(r, g, now);
    return finish(r);
}

size_t leash_report_count(const leash_report_t *r)
{
    return r != NULL ? r->n : 0;
}

size_t leash_report_new_count(const leash_report_t *r)
{
    return r != NULL ? r->n_new : 0;
}

const leash_goroutine_t *leash_report_get(const leash_report_t *r, size_t i)
{
    return r != NULL && i < r->n ? &r->gs[i] : NULL;
}

void leash_report_free(leash_report_t *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n; i++)
        leash__xfree((void *)r->gs[i].frames);
    leash__xfree(r->gs);
    leash__xfree(r);
}

/* ---- Text -------------------------------------------------------- */

static void print_loc(FILE *out, const leash_frame_t *f)
{
    if (f->file != NULL)
        fprintf(out, "\t%s:%d\n", f->file, f->line);
}

static void print_header(FILE *out, const leash_goroutine_t *g)
{
    int64_t mins = g->blocked_ns / (60 * LEASH_SECOND);

    fprintf(out, "goroutine %lld [", (long long)g->id);
    if (g->wait_reason[0] != '\0')
        fputs(g->wait_reason, out);
    else
        fputs(g->state, out);
    if (g->leaked)
        fputs(" (leaked)", out);
    if (mins >= 1)
        fprintf(out, ", %lld minutes", (long long)mins);
    fputs("]:\n", out);
}

static void print_body(FILE *out, const leash_goroutine_t *g)
{
    size_t i;

    for (i = 0; i < g->nframes; i++) {
        fprintf(out, "%s(...)\n", g->frames[i].func);
        print_loc(out, &g->frames[i]);
    }
    if (g->id != 1) {
        fprintf(out, "created by %s in goroutine %lld\n", g->creator.func,
                (long long)g->parent_id);
        print_loc(out, &g->creator);
    }
    if (g->prim_kind != NULL) {
        fprintf(out, "waiting on %s %#lx", g->prim_kind,
                (unsigned long)g->prim_addr);
        if (g->prim_site.file != NULL)
            fprintf(out, " (%s at %s:%d)",
                    strcmp(g->prim_kind, "channel") == 0 ? "made"
                                                         : "first used",
                    g->prim_site.file, g->prim_site.line);
        if (g->nprims > 1)
            fprintf(out, " and %zu more", g->nprims - 1);
        if (g->holder_id != 0)
            fprintf(out, ", held by goroutine %lld",
                    (long long)g->holder_id);
        fputc('\n', out);
    } else if (g->leaked) {
        fputs("waiting on nothing: it can never be woken\n", out);
    }
}

void leash_goroutine_print(FILE *out, const leash_goroutine_t *g)
{
    print_header(out, g);
    print_body(out, g);
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_place(const leash_frame_t *a, const leash_frame_t *b)
{
    return a->line == b->line && same_str(a->func, b->func) &&
           same_str(a->file, b->file);
}

/* Same state and wait, same frames, created at the same line (a loop the
 * compiler unrolled creates from several return addresses). */
bool leash_goroutine_same_group(const leash_goroutine_t *a,
                                const leash_goroutine_t *b)
{
    size_t i;

    if (a->nframes != b->nframes || a->leaked != b->leaked ||
        !same_str(a->state, b->state) ||
        !same_str(a->wait_reason, b->wait_reason) ||
        !same_place(&a->creator, &b->creator))
        return false;
    for (i = 0; i < a->nframes; i++)
        if (a->frames[i].pc != b->frames[i].pc)
            return false;
    return true;
}

void leash_report_print(FILE *out, const leash_report_t *r)
{
    bool *done;
    size_t i, j;

    if (r == NULL || r->n == 0)
        return;
    done = leash__xalloc(r->n * sizeof *done);
    for (i = 0; i < r->n; i++) {
        size_t count = 1;

        if (done[i])
            continue;
        for (j = i + 1; j < r->n; j++)
            if (!done[j] && leash_goroutine_same_group(&r->gs[i], &r->gs[j]))
                count++;
        leash_goroutine_print(out, &r->gs[i]);
        if (count > 1) {
            fprintf(out, "... and %zu more goroutines with this stack:",
                    count - 1);
            for (j = i + 1; j < r->n; j++) {
                if (!done[j] && leash_goroutine_same_group(&r->gs[i], &r->gs[j])) {
                    done[j] = true;
                    fprintf(out, " %lld", (long long)r->gs[j].id);
                }
            }
            fputc('\n', out);
        }
        fputc('\n', out);
    }
    leash__xfree(done);
}
