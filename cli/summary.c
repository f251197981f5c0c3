/*
 * `leash check`: the summary of a run and the gate's verdict.
 *
 * The output is for a person reading a CI log: the counts first, then one
 * block per test that fails the gate (grouped goroutines, as the harness
 * groups them), then the allowlist's unused and expired entries, then one
 * verdict line that starts with "leash: OK" or "leash: FAIL", so that it
 * can be found with grep.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void print_frame_at(FILE *f, const struct lc_opts *o,
                           const struct lc_frame *fr)
{
    if (fr == NULL || fr->file == NULL) {
        fputs(" (no source location)", f);
        return;
    }
    fprintf(f, " at %s:%ld", lc_rel(o, fr->file), fr->line);
}

static void print_group(FILE *f, const struct lc_run *run,
                        const struct lc_group *g)
{
    const struct lc_leak *l = g->first;
    char *ids = lc_id_list(g, 8);

    fprintf(f, "  %s %s [%s%s] %s", lc_plural(g->n, "goroutine",
                                               "goroutines"),
            ids, lc_reason(l), l->leaked ? "" : ", alive in strict mode",
            l->entry.func);
    print_frame_at(f, run->opts, lc_block_frame(l));
    if (l->has_matched && l->verdict != LC_NOT_ALLOWED)
        fprintf(f, ": %s%s%s (%s:%ld)", lc_verdict_name(l->verdict),
                l->verdict == LC_EXPIRED && l->matched.expires != NULL
                    ? " on " : "",
                l->verdict == LC_EXPIRED && l->matched.expires != NULL
                    ? l->matched.expires : "",
                lc_rel(run->opts, l->matched.file), l->matched.line);
    fputc('\n', f);
    free(ids);
}

static void print_groups(FILE *f, const struct lc_run *run,
                         const struct lc_report *r, bool allowed)
{
    size_t n, i;
    struct lc_group *g = lc_group_leaks(r, allowed, &n);

    for (i = 0; i < n; i++)
        print_group(f, run, &g[i]);
    lc_free_groups(g, n);
}

static void print_test(FILE *f, const struct lc_run *run,
                       const struct lc_report *r)
{
    if (r->verdict == LC_ERROR && r->nleaks == 0) {
        fprintf(f, "ERROR %s: no leak check ran: %s\n", r->display,
                r->error != NULL ? r->error : "(no reason given)");
        return;
    }
    if (lc_report_fails(r)) {
        fprintf(f, "FAIL  %s: %zu %s not allowed", r->display,
                r->not_allowed, lc_plural(r->not_allowed, "goroutine",
                                          "goroutines"));
        if (r->allowed > 0)
            fprintf(f, ", %zu allowed", r->allowed);
        fputc('\n', f);
        print_groups(f, run, r, false);
        if (run->opts->verbose)
            print_groups(f, run, r, true);
        return;
    }
    if (run->opts->verbose && r->allowed > 0) {
        fprintf(f, "ok    %s: %zu allowed %s\n", r->display, r->allowed,
                lc_plural(r->allowed, "goroutine", "goroutines"));
        print_groups(f, run, r, true);
    }
}

static void print_counts(FILE *f, const struct lc_run *run)
{
    fprintf(f, "tests:      %zu with a leak report", run->nreports);
    if (run->nmissing > 0)
        fprintf(f, ", %zu without (the test ended early)", run->nmissing);
    if (run->unchecked > 0)
        fprintf(f, ", %zu not checked", run->unchecked);
    if (run->skipped > 0)
        fprintf(f, ", %zu skipped", run->skipped);
    fputc('\n', f);

    fprintf(f, "goroutines: %zu leaked", run->leaked);
    if (run->alive > 0)
        fprintf(f, ", %zu alive in strict mode", run->alive);
    fprintf(f, ": %zu allowed, %zu not allowed", run->allowed,
            run->not_allowed);
    if (run->expired > 0 || run->over_max > 0)
        fprintf(f, " (%zu allowance expired, %zu over max)", run->expired,
                run->over_max);
    fputc('\n', f);

    if (run->nallowlists > 0 || run->nentries > 0)
        fprintf(f, "allowlist:  %zu %s, %zu unused, %zu expired\n",
                run->nloaded, lc_plural(run->nloaded, "entry", "entries"),
                run->unused, run->expired_entries);
}

static void print_entry(FILE *f, const struct lc_run *run,
                        const struct lc_allow_entry *e)
{
    fprintf(f, "  %s:%ld: %s", lc_rel(run->opts, e->file), e->line,
            e->reason);
    if (e->matchers[0] != '\0')
        fprintf(f, " [%s]", e->matchers);
}

static void print_entries(FILE *f, const struct lc_run *run)
{
    size_t i;

    if (run->unused > 0) {
        fprintf(f, "\nunused allowances (matched nothing in this run):\n");
        for (i = 0; i < run->nentries; i++) {
            if (run->entries[i].used)
                continue;
            print_entry(f, run, &run->entries[i]);
            fputc('\n', f);
        }
    }
    if (run->expired_entries > 0) {
        fprintf(f, "\nexpired allowances:\n");
        for (i = 0; i < run->nentries; i++) {
            const struct lc_allow_entry *e = &run->entries[i];

            if (!e->expired)
                continue;
            print_entry(f, run, e);
            fprintf(f, ": expired on %s", e->expires != NULL ? e->expires
                                                            : "?");
            if (e->expired_hits > 0)
                fprintf(f, "; %ld %s in %zu %s no longer allowed",
                        e->expired_hits,
                        lc_plural((size_t)e->expired_hits, "goroutine",
                                  "goroutines"),
                        e->tests, lc_plural(e->tests, "test", "tests"));
            fputc('\n', f);
        }
    }
}

int lc_cmd_check(struct lc_run *run)
{
    FILE *f = lc_open_output(run->opts);
    size_t i;

    if (f == NULL)
        return LC_EXIT_INPUT;
    if (!run->opts->quiet) {
        print_counts(f, run);
        if (!run->pass || run->opts->verbose)
            fputc('\n', f);
        for (i = 0; i < run->nreports; i++)
            print_test(f, run, &run->reports[i]);
        for (i = 0; i < run->nmissing; i++) {
            const struct lc_xml_test *t = run->missing[i].t;

            fprintf(f, "NO REPORT %s/%s: %s (%s), so the leak check never "
                    "ran\n", t->suite, t->name,
                    lc_xml_status_text(t->status),
                    lc_rel(run->opts, t->xml_path));
        }
        print_entries(f, run);
        fputc('\n', f);
    }
    lc_print_verdict(f, run, "leash: OK: ", "leash: FAIL: ");
    fputc('\n', f);
    if (lc_close_output(run->opts, f) != 0)
        return LC_EXIT_INPUT;
    return run->pass ? LC_EXIT_OK : LC_EXIT_LEAKS;
}
