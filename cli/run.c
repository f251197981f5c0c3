/*
 * The run as a whole: what the reports say together, which no single
 * report can say.
 *
 * - Tests that Criterion ran (its XML) but that wrote no report although
 *   they should have: a test that crashed or timed out never reaches the
 *   leak check. Those fail the gate, so that a crash cannot hide a leak.
 *   A test that passed or failed without a report is a plain Criterion
 *   test (or ran with LEASH_MODE=off): counted, not failed.
 * - Allowlist entries: each report lists the entries that decided a
 *   verdict in its test; an entry no report lists matched nothing in the
 *   whole run and is reported as unused. Entries past their expiry date
 *   are listed too, with the goroutines they no longer allow.
 *
 * Reports and allowlists are matched by file identity (same path, or same
 * file after resolving links), so run the tool where the paths that the
 * reports record still lead to the allowlist, or pass --allowlist with the
 * same file.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allowlist.h"

/* ------------------------------------------------------------------ */
/* Tests without a report                                               */
/* ------------------------------------------------------------------ */

static bool xml_wanted(const struct lc_opts *o, const struct lc_xml_test *t)
{
    char *name = lc_xasprintf("%s/%s", t->suite, t->name);
    bool yes = o->ntests == 0;
    size_t i;

    for (i = 0; i < o->ntests && !yes; i++)
        yes = fnmatch(o->tests[i], name, 0) == 0;
    free(name);
    return yes;
}

static bool errored(enum lc_xml_status s)
{
    return s == LC_XML_CRASHED || s == LC_XML_TIMED_OUT ||
           s == LC_XML_EXITED || s == LC_XML_ERRORED;
}

/*
 * A test that ended early and wrote no report is missing whatever way
 * Criterion saw it end: a crash, a timeout, or an exit (under a sanitizer
 * a segmentation fault is an exit with status 1).
 *
 * Criterion names every instance of a parameterized test alike, so tests
 * are matched by count: of the T instances of suite/name that ran, R wrote
 * a report; the ones that crashed or timed out are the missing ones, at
 * most T - R of them.
 */
static void match_xml(struct lc_run *run)
{
    size_t i, j;
    bool *done = lc_xcalloc(run->nxml_tests, sizeof *done);

    run->missing = lc_xcalloc(run->nxml_tests, sizeof *run->missing);
    for (i = 0; i < run->nxml_tests; i++) {
        const struct lc_xml_test *t = &run->xml_tests[i];
        size_t ran = 0, crashed = 0, reports = 0, missing;

        if (done[i] || !xml_wanted(run->opts, t))
            continue;
        for (j = i; j < run->nxml_tests; j++) {
            const struct lc_xml_test *u = &run->xml_tests[j];

            if (strcmp(u->suite, t->suite) != 0 ||
                strcmp(u->name, t->name) != 0)
                continue;
            done[j] = true;
            if (u->status == LC_XML_SKIPPED) {
                run->skipped++;
                continue;
            }
            ran++;
            crashed += errored(u->status);
        }
        for (j = 0; j < run->nreports; j++)
            reports += strcmp(run->reports[j].suite, t->suite) == 0 &&
                       strcmp(run->reports[j].name, t->name) == 0;
        missing = ran > reports ? ran - reports : 0;
        if (missing > crashed)
            missing = crashed;
        if (reports < ran)
            run->unchecked += ran - reports - missing;

        /* List the crashed instances, in file order. */
        for (j = i; j < run->nxml_tests && missing > 0; j++) {
            const struct lc_xml_test *u = &run->xml_tests[j];

            if (strcmp(u->suite, t->suite) == 0 &&
                strcmp(u->name, t->name) == 0 && errored(u->status)) {
                run->missing[run->nmissing++].t = u;
                missing--;
            }
        }
    }
    free(done);
}

/* ------------------------------------------------------------------ */
/* Allowlist entries                                                    */
/* ------------------------------------------------------------------ */

/* realpath results, so that each path is resolved once. */
struct real_cache {
    char **path, **real;
    size_t n;
};

static const char *real_of(struct real_cache *c, const char *path)
{
    char buf[PATH_MAX];
    size_t i;

    for (i = 0; i < c->n; i++)
        if (strcmp(c->path[i], path) == 0)
            return c->real[i];
    c->path = lc_xrealloc(c->path, (c->n + 1) * sizeof *c->path);
    c->real = lc_xrealloc(c->real, (c->n + 1) * sizeof *c->real);
    c->path[c->n] = lc_xstrdup(path);
    c->real[c->n] = realpath(path, buf) != NULL ? lc_xstrdup(buf) : NULL;
    return c->real[c->n++];
}

static bool same_file(struct real_cache *c, const char *a, const char *b)
{
    const char *ra, *rb;

    if (strcmp(a, b) == 0)
        return true;
    ra = real_of(c, a);
    rb = real_of(c, b);
    return ra != NULL && rb != NULL && strcmp(ra, rb) == 0;
}

static void free_cache(struct real_cache *c)
{
    size_t i;

    for (i = 0; i < c->n; i++) {
        free(c->path[i]);
        free(c->real[i]);
    }
    free(c->path);
    free(c->real);
}

static char *format_day(long days)
{
    time_t t = (time_t)days * 86400;
    struct tm tm;
    char buf[32];

    if (gmtime_r(&t, &tm) == NULL)
        return lc_xstrdup("?");
    strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return lc_xstrdup(buf);
}

static struct lc_allow_entry *add_entry(struct lc_run *run)
{
    struct lc_allow_entry *e;

    run->entries = lc_xrealloc(run->entries,
                               (run->nentries + 1) * sizeof *run->entries);
    e = &run->entries[run->nentries++];
    memset(e, 0, sizeof *e);
    return e;
}

/* Load one allowlist's entries; -1 after a message. */
static int load_allowlist(struct lc_run *run, const char *path, bool given)
{
    char err[1024], desc[1024];
    leash_allowlist_t *al = leash_allowlist_load(path, err, sizeof err);
    long today = leash_today();
    size_t i, n;

    if (al == NULL) {
        if (given) {
            lc_error("%s", err);
            return -1;
        }
        lc_warn("cannot list the unused entries of the allowlist the "
                "reports name (run where the tests ran, or give "
                "--allowlist): %s", err);
        return 0;
    }
    n = leash_allowlist_count(al);
    for (i = 0; i < n; i++) {
        struct lc_allow_entry *e = add_entry(run);
        leash_allow_entry_info_t info;

        leash_allowlist_entry(al, i, &info);
        leash_allowlist_describe(al, i, desc, sizeof desc);
        e->file = lc_xstrdup(path);
        e->line = info.line;
        e->reason = lc_xstrdup(info.reason != NULL ? info.reason : "");
        lc_scrub(e->reason);
        e->matchers = lc_xstrdup(desc);
        e->expires = info.expires != 0 ? format_day(info.expires) : NULL;
        e->expired = info.expires != 0 && info.expires < today;
        e->loaded = true;
        run->nloaded++;
    }
    leash_allowlist_free(al);
    run->allowlists = lc_xrealloc(run->allowlists, (run->nallowlists + 1) *
                                                       sizeof *run->allowlists);
    run->allowlists[run->nallowlists++] = lc_xstrdup(path);
    return 0;
}

static int load_allowlists(struct lc_run *run)
{
    struct real_cache cache = { NULL, NULL, 0 };
    const char **tried;
    size_t i, j, ntried = 0;
    int rc = 0;

    if (run->opts->allowlist != NULL) {
        rc = load_allowlist(run, run->opts->allowlist, true);
        /* Say so when the tests judged with another file. */
        for (i = 0; rc == 0 && i < run->nreports; i++) {
            const char *p = run->reports[i].allow_path;

            if (p != NULL && !same_file(&cache, p, run->opts->allowlist)) {
                lc_warn("%s used the allowlist %s, not %s: its entries "
                        "are not counted as used", run->reports[i].path, p,
                        run->opts->allowlist);
                break;
            }
        }
        free_cache(&cache);
        return rc;
    }
    /* Each allowlist once, also one that could not be read. */
    tried = lc_xcalloc(run->nreports, sizeof *tried);
    for (i = 0; i < run->nreports && rc == 0; i++) {
        const char *p = run->reports[i].allow_path;
        bool seen = false;

        if (p == NULL)
            continue;
        for (j = 0; j < ntried && !seen; j++)
            seen = same_file(&cache, p, tried[j]);
        if (seen)
            continue;
        tried[ntried++] = p;
        rc = load_allowlist(run, p, false);
    }
    free(tried);
    free_cache(&cache);
    return rc;
}

/* Count what each entry decided, from the reports' entries_used. */
static void count_uses(struct lc_run *run)
{
    struct real_cache cache = { NULL, NULL, 0 };
    size_t i, j, k;

    for (i = 0; i < run->nreports; i++) {
        const struct lc_report *r = &run->reports[i];

        for (j = 0; j < r->nused; j++) {
            const struct lc_used *u = &r->used[j];

            for (k = 0; k < run->nentries; k++) {
                struct lc_allow_entry *e = &run->entries[k];

                if (e->line != u->line || !same_file(&cache, u->file,
                                                     e->file))
                    continue;
                e->used = true;
                e->tests++;
                e->matches += u->matches;
                e->allowed += u->allowed;
                e->expired_hits += u->expired;
                e->over_max += u->over_max;
                break;
            }
        }
    }

    /*
     * Goroutines judged by an expired entry of an allowlist that could
     * not be loaded here: list the entry from what the report says.
     */
    for (i = 0; i < run->nreports; i++) {
        const struct lc_report *r = &run->reports[i];

        for (j = 0; j < r->nleaks; j++) {
            const struct lc_leak *l = &r->leaks[j];
            struct lc_allow_entry *e = NULL;

            if (l->verdict != LC_EXPIRED || !l->has_matched)
                continue;
            for (k = 0; k < run->nentries && e == NULL; k++)
                if (run->entries[k].line == l->matched.line &&
                    same_file(&cache, l->matched.file,
                              run->entries[k].file))
                    e = &run->entries[k];
            if (e != NULL)
                continue;
            e = add_entry(run);
            e->file = lc_xstrdup(l->matched.file);
            e->line = l->matched.line;
            e->reason = lc_xstrdup(l->matched.reason);
            lc_scrub(e->reason);
            e->matchers = lc_xstrdup("");
            e->expires = l->matched.expires != NULL
                             ? lc_xstrdup(l->matched.expires) : NULL;
            e->expired = true;
            e->used = true;
            for (k = 0; k < r->nused; k++)
                if (r->used[k].line == e->line &&
                    strcmp(r->used[k].file, l->matched.file) == 0)
                    e->expired_hits += r->used[k].expired;
            if (e->expired_hits == 0)
                e->expired_hits = 1;
            e->tests = 1;
        }
    }
    free_cache(&cache);
}

/* ------------------------------------------------------------------ */
/* The run                                                              */
/* ------------------------------------------------------------------ */

bool lc_report_fails(const struct lc_report *r)
{
    return r->verdict == LC_LEAKS || r->verdict == LC_ERROR ||
           r->not_allowed > 0;
}

int lc_run_load(struct lc_run *run, struct lc_opts *opts)
{
    size_t i;

    memset(run, 0, sizeof *run);
    run->opts = opts;
    if (lc_load_reports(run) != 0)
        return -1;
    for (i = 0; i < opts->nxml; i++)
        if (lc_load_xml(run, opts->xml[i]) != 0)
            return -1;
    if (run->nreports == 0) {
        lc_error("no report is of a test that --test names");
        return -1;
    }
    match_xml(run);
    if (load_allowlists(run) != 0)
        return -1;
    count_uses(run);

    for (i = 0; i < run->nreports; i++) {
        const struct lc_report *r = &run->reports[i];
        size_t k;

        run->failing += lc_report_fails(r);
        run->errors += r->verdict == LC_ERROR;
        run->leaked += r->leaked;
        run->allowed += r->allowed;
        run->not_allowed += r->not_allowed;
        run->expired += r->expired;
        run->over_max += r->over_max;
        for (k = 0; k < r->nleaks; k++)
            run->alive += !r->leaks[k].leaked;
    }
    for (i = 0; i < run->nentries; i++) {
        run->unused += !run->entries[i].used;
        run->expired_entries += run->entries[i].expired;
    }
    run->tests = run->nreports + run->nmissing;
    run->pass = run->failing == 0 && run->nmissing == 0;
    return 0;
}

void lc_run_free(struct lc_run *run)
{
    size_t i;

    lc_free_reports(run);
    for (i = 0; i < run->nxml_tests; i++) {
        free(run->xml_tests[i].suite);
        free(run->xml_tests[i].name);
        free(run->xml_tests[i].xml_path);
    }
    free(run->xml_tests);
    free(run->missing);
    for (i = 0; i < run->nentries; i++) {
        free(run->entries[i].file);
        free(run->entries[i].reason);
        free(run->entries[i].matchers);
        free(run->entries[i].expires);
    }
    free(run->entries);
    for (i = 0; i < run->nallowlists; i++)
        free(run->allowlists[i]);
    free(run->allowlists);
    memset(run, 0, sizeof *run);
}
