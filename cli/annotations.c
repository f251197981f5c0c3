/*
 * `leash annotations`: GitHub Actions workflow commands, one per place
 * where leaked goroutines block, so that the leak shows in the pull
 * request's diff at the line of the blocking call:
 *
 *     ::error file=src/pool.c,line=42,title=leash%3A goroutine leak::...
 *
 * Goroutines blocked at the same line for the same reason are one
 * annotation naming every test they leaked in: GitHub shows only the first
 * ten errors of a step, and a hundred tests leaking the same worker are
 * one bug. Tests without a report or without a check are errors too;
 * unused and expired allowlist entries are warnings on the allowlist.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define TESTS_NAMED 5

/* Workflow command data: %, CR and LF are escaped; in a property value
 * (prop) also ":" and ",", which end properties. */
static void escape(FILE *f, const char *s, bool prop)
{
    for (; *s != '\0'; s++) {
        if (prop && *s == ':')
            fputs("%3A", f);
        else if (prop && *s == ',')
            fputs("%2C", f);
        else if (*s == '%')
            fputs("%25", f);
        else if (*s == '\r')
            fputs("%0D", f);
        else if (*s == '\n')
            fputs("%0A", f);
        else
            fputc(*s, f);
    }
}

/* Write msg, a string from lc_xasprintf, as data, and free it. */
static void data(FILE *f, char *msg)
{
    escape(f, msg, false);
    free(msg);
}

/* Start "::level file=...,line=...,title=...::". */
static void command(FILE *f, const struct lc_run *run, const char *level,
                    const char *file, long line, const char *title)
{
    fprintf(f, "::%s ", level);
    if (file != NULL) {
        fputs("file=", f);
        escape(f, lc_rel(run->opts, file), true);
        if (line > 0)
            fprintf(f, ",line=%ld", line);
        fputc(',', f);
    }
    fputs("title=", f);
    escape(f, title, true);
    fputs("::", f);
}

/* Goroutines blocked at one place, over all tests. */
struct site {
    const struct lc_leak *first;
    const struct lc_frame *at;
    size_t n;
    const char **tests;
    size_t ntests;
};

static bool same_site(const struct site *s, const struct lc_leak *l,
                      const struct lc_frame *at)
{
    const struct lc_leak *a = s->first;

    if (a->verdict != l->verdict || a->leaked != l->leaked ||
        strcmp(a->wait_reason, l->wait_reason) != 0 ||
        strcmp(a->entry.func, l->entry.func) != 0)
        return false;
    if (s->at == NULL || at == NULL)
        return s->at == at;
    return s->at->line == at->line && strcmp(s->at->file, at->file) == 0;
}

static void add(struct site **sites, size_t *n, const struct lc_leak *l,
                const char *test)
{
    const struct lc_frame *at = lc_block_frame(l);
    struct site *s = NULL;
    size_t i;

    for (i = 0; i < *n && s == NULL; i++)
        if (same_site(&(*sites)[i], l, at))
            s = &(*sites)[i];
    if (s == NULL) {
        *sites = lc_xrealloc(*sites, (*n + 1) * sizeof **sites);
        s = &(*sites)[(*n)++];
        memset(s, 0, sizeof *s);
        s->first = l;
        s->at = at;
    }
    s->n++;
    if (s->ntests == 0 || s->tests[s->ntests - 1] != test) {
        s->tests = lc_xrealloc(s->tests, (s->ntests + 1) * sizeof *s->tests);
        s->tests[s->ntests++] = test;
    }
}

static const char *title_of(const struct lc_leak *l)
{
    if (!l->leaked)
        return "leash: goroutine left running (strict test)";
    switch (l->verdict) {
    case LC_EXPIRED:
        return "leash: goroutine leak (allowance expired)";
    case LC_OVER_MAX:
        return "leash: goroutine leak (over the allowance's max)";
    default:
        break;
    }
    return "leash: goroutine leak";
}

static void site_message(FILE *f, const struct lc_run *run,
                         const struct site *s)
{
    const struct lc_leak *l = s->first;
    char *tests = lc_xstrdup("");
    size_t i;

    for (i = 0; i < s->ntests && i < TESTS_NAMED; i++)
        lc_xappendf(&tests, "%s%s", i > 0 ? ", " : "", s->tests[i]);
    if (s->ntests > TESTS_NAMED)
        lc_xappendf(&tests, " and %zu more", s->ntests - TESTS_NAMED);
    data(f, lc_xasprintf("%zu %s [%s] in %s %s here (in %s %s)", s->n,
                         lc_plural(s->n, "goroutine", "goroutines"),
                         lc_reason(l), l->entry.func,
                         !l->leaked ? (s->n == 1 ? "is still running"
                                                 : "are still running")
                                    : (s->n == 1 ? "blocks forever"
                                                 : "block forever"),
                         lc_plural(s->ntests, "test", "tests"), tests));
    free(tests);
    if (l->has_creator && l->creator.file != NULL)
        data(f, lc_xasprintf("; created by %s at %s:%ld", l->creator.func,
                             lc_rel(run->opts, l->creator.file),
                             l->creator.line));
    if (l->has_prim) {
        data(f, l->has_site && l->prim_site.file != NULL
                    ? lc_xasprintf("; waits on the %s %s at %s:%ld",
                                   l->prim_kind,
                                   strcmp(l->prim_kind, "channel") == 0
                                       ? "made" : "first used",
                                   lc_rel(run->opts, l->prim_site.file),
                                   l->prim_site.line)
                    : lc_xasprintf("; waits on a %s", l->prim_kind));
        if (l->holder_id != 0)
            data(f, lc_xasprintf(", held by goroutine %ld", l->holder_id));
    }
    if (l->has_matched && l->verdict != LC_NOT_ALLOWED)
        data(f, lc_xasprintf("; %s%s%s (%s:%ld: %s)",
                             lc_verdict_name(l->verdict),
                             l->matched.expires != NULL &&
                                     l->verdict == LC_EXPIRED
                                 ? " on " : "",
                             l->matched.expires != NULL &&
                                     l->verdict == LC_EXPIRED
                                 ? l->matched.expires : "",
                             lc_rel(run->opts, l->matched.file),
                             l->matched.line, l->matched.reason));
}

static void leaks(FILE *f, const struct lc_run *run)
{
    struct site *sites = NULL;
    size_t n = 0, i, j;

    for (i = 0; i < run->nreports; i++) {
        const struct lc_report *r = &run->reports[i];

        for (j = 0; j < r->nleaks; j++)
            if (r->leaks[j].verdict != LC_ALLOWED)
                add(&sites, &n, &r->leaks[j], r->display);
    }
    for (i = 0; i < n; i++) {
        const struct site *s = &sites[i];

        command(f, run, "error", s->at != NULL ? s->at->file : NULL,
                s->at != NULL ? s->at->line : 0, title_of(s->first));
        site_message(f, run, s);
        fputc('\n', f);
        free(sites[i].tests);
    }
    free(sites);
}

static void unchecked(FILE *f, const struct lc_run *run)
{
    size_t i;

    for (i = 0; i < run->nreports; i++) {
        const struct lc_report *r = &run->reports[i];

        if (r->verdict != LC_ERROR || r->nleaks > 0)
            continue;
        command(f, run, "error", r->test_file, r->test_line,
                "leash: no leak check");
        data(f, lc_xasprintf("%s: no leak check ran: %s", r->display,
                             r->error != NULL ? r->error
                                              : "(no reason given)"));
        fputc('\n', f);
    }
    for (i = 0; i < run->nmissing; i++) {
        command(f, run, "error", NULL, 0, "leash: no leak report");
        data(f, lc_missing_text(run, run->missing[i].t));
        fputc('\n', f);
    }
}

static void allowances(FILE *f, const struct lc_run *run)
{
    size_t i;

    for (i = 0; i < run->nentries; i++) {
        const struct lc_allow_entry *e = &run->entries[i];

        if (!e->used) {
            command(f, run, "warning", e->file, e->line,
                    "leash: unused allowance");
            data(f, lc_xasprintf("this allowlist entry matched nothing in "
                                 "this run: %s", e->reason));
            fputc('\n', f);
        }
        if (e->expired) {
            command(f, run, "warning", e->file, e->line,
                    "leash: allowance expired");
            data(f, lc_xasprintf("expired on %s: %s",
                                 e->expires != NULL ? e->expires : "?",
                                 e->reason));
            fputc('\n', f);
        }
    }
}

int lc_cmd_annotations(struct lc_run *run)
{
    FILE *f = lc_open_output(run->opts);

    if (f == NULL)
        return LC_EXIT_INPUT;
    leaks(f, run);
    unchecked(f, run);
    allowances(f, run);
    return lc_close_output(run->opts, f) == 0 ? LC_EXIT_OK : LC_EXIT_INPUT;
}
