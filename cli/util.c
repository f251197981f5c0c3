/*
 * Helpers every subcommand uses: messages, allocation that cannot fail
 * (a command-line tool has nothing better to do than stop), paths shown
 * relative to the source root, and the grouping of goroutines that the
 * harness uses too, so that the tool and the test output agree.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void message(const char *prefix, const char *fmt, va_list ap)
{
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void lc_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message("leash: ", fmt, ap);
    va_end(ap);
}

void lc_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message("leash: warning: ", fmt, ap);
    va_end(ap);
}

static void out_of_memory(void)
{
    fputs("leash: out of memory\n", stderr);
    exit(LC_EXIT_INPUT);
}

void *lc_xmalloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);

    if (p == NULL)
        out_of_memory();
    return p;
}

void *lc_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n != 0 ? n : 1, size != 0 ? size : 1);

    if (p == NULL)
        out_of_memory();
    return p;
}

void *lc_xrealloc(void *p, size_t n)
{
    p = realloc(p, n != 0 ? n : 1);
    if (p == NULL)
        out_of_memory();
    return p;
}

void lc_scrub(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

char *lc_xstrdup(const char *s)
{
    char *p = strdup(s);

    if (p == NULL)
        out_of_memory();
    return p;
}

static char *xvasprintf(const char *fmt, va_list ap)
{
    char *s;

    if (vasprintf(&s, fmt, ap) < 0)
        out_of_memory();
    return s;
}

char *lc_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

void lc_xappendf(char **s, const char *fmt, ...)
{
    va_list ap;
    char *tail, *t;

    va_start(ap, fmt);
    tail = xvasprintf(fmt, ap);
    va_end(ap);
    t = lc_xasprintf("%s%s", *s, tail);
    free(*s);
    free(tail);
    *s = t;
}

const char *lc_rel(const struct lc_opts *o, const char *path)
{
    size_t n;

    if (path == NULL || o->root == NULL || o->root[0] == '\0')
        return path;
    n = strlen(o->root);
    while (n > 1 && o->root[n - 1] == '/')
        n--;
    if (strncmp(path, o->root, n) != 0)
        return path;
    if (path[n] == '/' && path[n + 1] != '\0')
        return path + n + 1;
    return path;
}

static bool is_runtime(const char *func)
{
    return func != NULL && strncmp(func, "leash_", 6) == 0;
}

const struct lc_frame *lc_block_frame(const struct lc_leak *l)
{
    size_t i;

    for (i = 0; i < l->nframes; i++)
        if (!is_runtime(l->frames[i].func) && l->frames[i].file != NULL)
            return &l->frames[i];
    if (l->entry.file != NULL)
        return &l->entry;
    if (l->has_creator && l->creator.file != NULL)
        return &l->creator;
    return NULL;
}

const char *lc_reason(const struct lc_leak *l)
{
    if (l->wait_reason[0] != '\0')
        return l->wait_reason;
    return l->state;
}

const char *lc_verdict_name(enum lc_verdict v)
{
    switch (v) {
    case LC_ALLOWED:
        return "allowed";
    case LC_EXPIRED:
        return "allowance expired";
    case LC_OVER_MAX:
        return "over the allowance's max";
    case LC_NOT_ALLOWED:
        break;
    }
    return "not allowed";
}

const char *lc_xml_status_text(enum lc_xml_status s)
{
    switch (s) {
    case LC_XML_PASSED:
        return "passed";
    case LC_XML_FAILED:
        return "failed";
    case LC_XML_CRASHED:
        return "crashed";
    case LC_XML_TIMED_OUT:
        return "timed out";
    case LC_XML_EXITED:
        return "ended before its body returned";
    case LC_XML_ERRORED:
        return "errored";
    case LC_XML_SKIPPED:
        break;
    }
    return "skipped";
}

const char *lc_plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

char *lc_missing_text(const struct lc_run *run, const struct lc_xml_test *t)
{
    return lc_xasprintf("%s/%s %s (%s), so its leak check never ran and it "
                        "wrote no leak report", t->suite, t->name,
                        lc_xml_status_text(t->status),
                        lc_rel(run->opts, t->xml_path));
}

void lc_print_verdict(FILE *f, const struct lc_run *run, const char *ok,
                      const char *fail)
{
    size_t leaky = run->failing - run->errors;
    const char *sep = "";

    if (run->pass) {
        fprintf(f, "%s%zu %s, no goroutine leaks outside the allowlist", ok,
                run->tests, lc_plural(run->tests, "test", "tests"));
        if (run->allowed > 0)
            fprintf(f, " (%zu allowed)", run->allowed);
        return;
    }
    fputs(fail, f);
    if (leaky > 0) {
        fprintf(f, "%zu of %zu %s leaked goroutines outside the allowlist",
                leaky, run->tests, lc_plural(run->tests, "test", "tests"));
        sep = "; ";
    }
    if (run->errors > 0) {
        fprintf(f, "%s%zu %s no leak check", sep, run->errors,
                lc_plural(run->errors, "test had", "tests had"));
        sep = "; ";
    }
    if (run->nmissing > 0)
        fprintf(f, "%s%zu %s no leak report", sep, run->nmissing,
                lc_plural(run->nmissing, "test wrote", "tests wrote"));
}

FILE *lc_open_output(const struct lc_opts *o)
{
    FILE *f;

    if (o->output == NULL || strcmp(o->output, "-") == 0)
        return stdout;
    f = fopen(o->output, "w");
    if (f == NULL)
        lc_error("cannot write %s: %s", o->output, strerror(errno));
    return f;
}

int lc_close_output(const struct lc_opts *o, FILE *f)
{
    const char *name = f == stdout ? "standard output" : o->output;
    int bad = ferror(f);

    if (f == stdout)
        bad |= fflush(f) != 0;
    else
        bad |= fclose(f) != 0;
    if (bad) {
        lc_error("cannot write %s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Grouping                                                             */
/* ------------------------------------------------------------------ */

static bool same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool same_group(const struct lc_leak *a, const struct lc_leak *b)
{
    const struct lc_frame *fa = lc_block_frame(a), *fb = lc_block_frame(b);

    if (a->verdict != b->verdict || a->leaked != b->leaked ||
        !same_str(a->wait_reason, b->wait_reason) ||
        !same_str(a->entry.func, b->entry.func))
        return false;
    if (fa == NULL || fb == NULL)
        return fa == fb;
    return same_str(fa->file, fb->file) && fa->line == fb->line;
}

struct lc_group *lc_group_leaks(const struct lc_report *r, bool allowed,
                                size_t *ngroups)
{
    struct lc_group *g = lc_xcalloc(r->nleaks, sizeof *g);
    size_t i, j, n = 0;

    for (i = 0; i < r->nleaks; i++) {
        const struct lc_leak *l = &r->leaks[i];

        if ((l->verdict == LC_ALLOWED) != allowed)
            continue;
        for (j = 0; j < n; j++)
            if (same_group(g[j].first, l))
                break;
        if (j == n) {
            g[n].first = l;
            g[n].ids = lc_xcalloc(r->nleaks, sizeof *g[n].ids);
            n++;
        }
        g[j].ids[g[j].n++] = l->id;
    }
    *ngroups = n;
    return g;
}

void lc_free_groups(struct lc_group *g, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(g[i].ids);
    free(g);
}

char *lc_id_list(const struct lc_group *g, size_t max)
{
    char *s = lc_xstrdup("");
    size_t i;

    for (i = 0; i < g->n && i < max; i++)
        lc_xappendf(&s, "%s%ld", i > 0 ? ", " : "", g->ids[i]);
    if (g->n > max)
        lc_xappendf(&s, ", ... (%zu in all)", g->n);
    return s;
}

unsigned long long lc_hash(unsigned long long h, const char *s)
{
    if (h == 0)
        h = 1469598103934665603ULL;
    for (; s != NULL && *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    /* A separator, so that ("ab", "c") and ("a", "bc") differ. */
    h ^= 0xff;
    h *= 1099511628211ULL;
    return h;
}
