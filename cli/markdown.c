/*
 * `leash markdown`: the run as GitHub-flavoured markdown, for a CI job
 * summary ($GITHUB_STEP_SUMMARY) or a merge request note.
 *
 * Tables first (counts, failing tests, allowlist entries), then each
 * failing test's full report text folded in a <details> block. GitHub
 * caps a step summary at 1 MiB, so the folded texts stop after about half
 * of that and the rest is left to the report artifacts.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define TEXT_BUDGET (512 * 1024)
#define GROUPS_PER_CELL 5

/* Text in a table cell or paragraph: nothing in it may act as markup. */
static void md_text(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '|':
        case '\\':
        case '*':
        case '_':
        case '`':
        case '[':
        case ']':
        case '#':
        case '~':
            fputc('\\', f);
            fputc(*s, f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '\n':
        case '\r':
        case '\t':
            fputc(' ', f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* A code span in a table cell: "|" must still be escaped in GFM tables. */
static void md_code(FILE *f, const char *s)
{
    bool tick = strchr(s, '`') != NULL;

    fputs(tick ? "`` " : "`", f);
    for (; *s != '\0'; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
    fputs(tick ? " ``" : "`", f);
}

/* Text inside HTML (<summary>). */
static void html_text(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
}

static void location(FILE *f, const struct lc_run *run,
                     const struct lc_frame *fr)
{
    char *loc;

    if (fr == NULL || fr->file == NULL) {
        fputs("(no source location)", f);
        return;
    }
    loc = lc_xasprintf("%s:%ld", lc_rel(run->opts, fr->file), fr->line);
    md_code(f, loc);
    free(loc);
}

static void counts(FILE *f, const struct lc_run *run)
{
    fputs("| Tests | No report | Leaked goroutines | Allowed | "
          "Not allowed | Expired allowance | Over max | "
          "Unused allowances |\n", f);
    fputs("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n", f);
    fprintf(f, "| %zu | %zu | %zu | %zu | %zu | %zu | %zu | %zu |\n\n",
            run->tests, run->nmissing, run->leaked, run->allowed,
            run->not_allowed, run->expired, run->over_max, run->unused);
    if (run->alive > 0)
        fprintf(f, "%zu %s alive in strict mode.\n\n", run->alive,
                lc_plural(run->alive, "goroutine was", "goroutines were"));
    if (run->unchecked > 0 || run->skipped > 0)
        fprintf(f, "Not checked for leaks: %zu %s without the leak check, "
                "%zu skipped.\n\n", run->unchecked,
                lc_plural(run->unchecked, "test", "tests"), run->skipped);
}

static void where_cell(FILE *f, const struct lc_run *run,
                       const struct lc_report *r)
{
    size_t n, i;
    struct lc_group *g = lc_group_leaks(r, false, &n);

    for (i = 0; i < n && i < GROUPS_PER_CELL; i++) {
        const struct lc_leak *l = g[i].first;

        if (i > 0)
            fputs("<br>", f);
        fprintf(f, "%zu &times; ", g[i].n);
        md_code(f, l->entry.func);
        fputs(" [", f);
        md_text(f, lc_reason(l));
        fputs("] at ", f);
        location(f, run, lc_block_frame(l));
        if (l->verdict == LC_EXPIRED || l->verdict == LC_OVER_MAX) {
            fputs(": ", f);
            md_text(f, lc_verdict_name(l->verdict));
        } else if (!l->leaked) {
            fputs(": still running (strict test)", f);
        }
    }
    if (n > GROUPS_PER_CELL)
        fprintf(f, "<br>and %zu more", n - GROUPS_PER_CELL);
    lc_free_groups(g, n);
}

static void failing_table(FILE *f, const struct lc_run *run)
{
    size_t i;

    if (run->pass)
        return;
    fputs("### Tests that fail the leak gate\n\n", f);
    fputs("| Test | Not allowed | Where they block |\n", f);
    fputs("| --- | ---: | --- |\n", f);
    for (i = 0; i < run->nreports; i++) {
        const struct lc_report *r = &run->reports[i];

        if (!lc_report_fails(r))
            continue;
        fputs("| ", f);
        md_code(f, r->display);
        if (r->verdict == LC_ERROR && r->nleaks == 0) {
            fputs(" | | no leak check ran: ", f);
            md_text(f, r->error != NULL ? r->error : "(no reason given)");
            fputs(" |\n", f);
            continue;
        }
        fprintf(f, " | %zu | ", r->not_allowed);
        where_cell(f, run, r);
        fputs(" |\n", f);
    }
    for (i = 0; i < run->nmissing; i++) {
        const struct lc_xml_test *t = run->missing[i].t;
        char *name = lc_xasprintf("%s/%s", t->suite, t->name);

        fputs("| ", f);
        md_code(f, name);
        fprintf(f, " | | %s: no leak report |\n",
                lc_xml_status_text(t->status));
        free(name);
    }
    fputc('\n', f);
}

static void entry_cell(FILE *f, const struct lc_run *run,
                       const struct lc_allow_entry *e)
{
    char *loc = lc_xasprintf("%s:%ld", lc_rel(run->opts, e->file), e->line);

    fputs("| ", f);
    md_code(f, loc);
    fputs(" | ", f);
    md_text(f, e->reason);
    fputs(" | ", f);
    if (e->matchers[0] != '\0')
        md_code(f, e->matchers);
    free(loc);
}

static void entries(FILE *f, const struct lc_run *run)
{
    size_t i;

    if (run->unused > 0) {
        fputs("### Unused allowances\n\n", f);
        fputs("These allowlist entries matched nothing in this run: "
              "delete them, or narrow the run they are meant for.\n\n", f);
        fputs("| Entry | Reason | Matchers |\n| --- | --- | --- |\n", f);
        for (i = 0; i < run->nentries; i++) {
            if (run->entries[i].used)
                continue;
            entry_cell(f, run, &run->entries[i]);
            fputs(" |\n", f);
        }
        fputc('\n', f);
    }
    if (run->expired_entries > 0) {
        fputs("### Expired allowances\n\n", f);
        fputs("| Entry | Reason | Matchers | Expired on | "
              "No longer allowed |\n", f);
        fputs("| --- | --- | --- | --- | ---: |\n", f);
        for (i = 0; i < run->nentries; i++) {
            const struct lc_allow_entry *e = &run->entries[i];

            if (!e->expired)
                continue;
            entry_cell(f, run, e);
            fprintf(f, " | %s | %ld |\n", e->expires != NULL ? e->expires
                                                            : "?",
                    e->expired_hits);
        }
        fputc('\n', f);
    }
}

/* A fence longer than any run of backticks in s. */
static size_t fence_len(const char *s)
{
    size_t run = 0, longest = 0;

    for (; *s != '\0'; s++) {
        run = *s == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    return longest < 3 ? 3 : longest + 1;
}

static void fence(FILE *f, size_t n)
{
    while (n-- > 0)
        fputc('`', f);
    fputc('\n', f);
}

static void details(FILE *f, const struct lc_run *run)
{
    size_t i, used = 0, left = 0;

    if (run->pass)
        return;
    for (i = 0; i < run->nreports; i++) {
        const struct lc_report *r = &run->reports[i];
        const char *text = r->text != NULL ? r->text : r->error;
        size_t n, len;

        if (!lc_report_fails(r) || text == NULL)
            continue;
        len = strlen(text);
        if (used + len > TEXT_BUDGET) {
            left++;
            continue;
        }
        used += len;
        n = fence_len(text);
        fputs("<details><summary><code>", f);
        html_text(f, r->display);
        fputs("</code>", f);
        if (r->test_file != NULL) {
            fputs(" (", f);
            html_text(f, lc_rel(run->opts, r->test_file));
            fprintf(f, ":%ld)", r->test_line);
        }
        fputs("</summary>\n\n", f);
        fence(f, n);
        fputs(text, f);
        if (len == 0 || text[len - 1] != '\n')
            fputc('\n', f);
        fence(f, n);
        fputs("\n</details>\n\n", f);
    }
    if (left > 0)
        fprintf(f, "The reports of %zu more failing %s are left out to keep "
                "this summary short: see the report artifacts.\n\n", left,
                lc_plural(left, "test", "tests"));
}

int lc_cmd_markdown(struct lc_run *run)
{
    FILE *f = lc_open_output(run->opts);

    if (f == NULL)
        return LC_EXIT_INPUT;
    fputs("## leash: goroutine leaks\n\n", f);
    lc_print_verdict(f, run, ":white_check_mark: **OK**: ",
                     ":x: **FAIL**: ");
    fputs("\n\n", f);
    counts(f, run);
    failing_table(f, run);
    entries(f, run);
    details(f, run);
    return lc_close_output(run->opts, f) == 0 ? LC_EXIT_OK : LC_EXIT_INPUT;
}
