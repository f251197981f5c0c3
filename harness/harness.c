/*
 * The Criterion glue: a leash test's body runs as goroutine 1; when it
 * returns, the harness lets the other goroutines finish what they can,
 * finds the ones left behind, judges them against the allowlist, and fails
 * the test from inside its body, where Criterion still counts a failure.
 *
 * Criterion runs every test in a fresh process (a new exec of the test
 * binary), so the state below is one test's. When a cr_assert jumps out of
 * the body, the code after the body never runs; the .fini the macros
 * install notices the body did not return, runs the same check and prints
 * its result as warnings, since the test has failed already.
 *
 * The runner process, which spawns the test processes, only runs the two
 * report hooks at the end of this file: PRE_ALL gives leash tests their
 * default timeout and makes a private directory for the run, POST_ALL
 * reads back which allowlist entries the tests used and names the others.
 *
 * Sections: registry; settings; judging; text; the check; entry points;
 * report hooks.
 */
#define _GNU_SOURCE
#include <leash/harness.h>
#include <leash/leak.h>

#include <criterion/event.h>
#include <criterion/hooks.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allowlist.h"
#include "json_report.h"
#include "text.h"

/* The longest failure message handed to Criterion; the JSON has all. */
#define MAX_CRITERION_TEXT (128 * 1024)

/* Criterion's console cuts a message line at about 1 000 bytes and loses
 * its newline; longer lines are broken before that. */
#define MAX_CRITERION_LINE 960

/* A group's goroutine ids shown on its "... and N more" line, at most. */
#define MAX_GROUP_IDS 20

/* How much of the stack below the check is cleared before it runs. */
#define SCRUB_BYTES (64 * 1024)

#define MAX_GRACE_MS 600000L
#define MAX_TIMEOUT_S 86400.0

/* The directory the runner makes for the run, handed to the workers. */
#define RUN_DIR_ENV "LEASH__RUN_DIR"

/* ------------------------------------------------------------------ */
/* Registry                                                             */
/* ------------------------------------------------------------------ */

/*
 * The macros register every test and suite from a constructor, in the
 * runner and in each test process alike; lookups are by name, because
 * pointers that Criterion hands from the runner to a test process do not
 * survive the exec.
 */
static struct leash__test *tests;
static struct leash__suite *suites;

void leash__harness_register(struct leash__test *t)
{
    t->next = tests;
    tests = t;
}

void leash__harness_register_suite(struct leash__suite *s)
{
    s->next = suites;
    suites = s;
}

static const struct leash__test *find_test(const char *suite,
                                           const char *name)
{
    const struct leash__test *t;

    for (t = tests; t != NULL; t = t->next)
        if (strcmp(t->suite, suite) == 0 && strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

static bool suite_is_strict(const char *name)
{
    const struct leash__suite *s;

    for (s = suites; s != NULL; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s->strict;
    return false;
}

/* ------------------------------------------------------------------ */
/* Settings                                                             */
/* ------------------------------------------------------------------ */

enum mode { MODE_FAIL, MODE_REPORT, MODE_OFF };

static const char *const mode_names[] = { "fail", "report", "off" };

struct settings {
    enum mode mode;
    bool strict;            /* LEASH_STRICT=1 */
    long grace_ms;
    bool has_timeout;       /* LEASH_TIMEOUT is set */
    double timeout;
    const char *report_dir; /* NULL when unset */
    long today;             /* LEASH_TODAY or the clock, days since 1970 */
};

/* The variable's value, NULL when unset or empty. */
static const char *env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/*
 * Read every LEASH_* setting. Result: true, or false with a message that
 * names the variable and its value in err. Quotes in messages are single:
 * Criterion 2.4.1 does not escape double ones in its JSON output.
 */
static bool read_settings(struct settings *s, char *err, size_t errlen)
{
    const char *v;
    char *end;
    long n;

    memset(s, 0, sizeof *s);
    s->grace_ms = LEASH_DEFAULT_GRACE_MS;
    s->timeout = LEASH_DEFAULT_TIMEOUT;

    if ((v = env("LEASH_MODE")) != NULL) {
        for (n = 0; n < 3 && strcmp(v, mode_names[n]) != 0; n++)
            continue;
        if (n == 3) {
            snprintf(err, errlen, "leash: LEASH_MODE='%s' is not one of "
                     "fail, report, off", v);
            return false;
        }
        s->mode = (enum mode)n;
    }
    if ((v = env("LEASH_STRICT")) != NULL) {
        if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
            snprintf(err, errlen, "leash: LEASH_STRICT='%s' is not 0 or 1",
                     v);
            return false;
        }
        s->strict = v[0] == '1';
    }
    if ((v = env("LEASH_GRACE_MS")) != NULL &&
        !parse_long(v, 0, MAX_GRACE_MS, &s->grace_ms)) {
        snprintf(err, errlen, "leash: LEASH_GRACE_MS='%s' is not a number "
                 "of milliseconds from 0 to %ld", v, MAX_GRACE_MS);
        return false;
    }
    if ((v = env("LEASH_TIMEOUT")) != NULL) {
        errno = 0;
        s->timeout = strtod(v, &end);
        if (errno != 0 || end == v || *end != '\0' || !isfinite(s->timeout)
            || s->timeout < 0 || s->timeout > MAX_TIMEOUT_S) {
            snprintf(err, errlen, "leash: LEASH_TIMEOUT='%s' is not a "
                     "number of seconds from 0 to %.0f", v, MAX_TIMEOUT_S);
            return false;
        }
        s->has_timeout = true;
    }
    s->report_dir = env("LEASH_REPORT_DIR");
    if ((v = env("LEASH_TODAY")) != NULL) {
        if (leash_parse_date(v, &s->today) != 0) {
            snprintf(err, errlen, "leash: LEASH_TODAY='%s' is not a date "
                     "YYYY-MM-DD (a day that exists, year 1970 to 9999)",
                     v);
            return false;
        }
    } else {
        s->today = leash_today();
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Judging                                                              */
/* ------------------------------------------------------------------ */

static int cmp_judged(const void *a, const void *b)
{
    int64_t x = ((const struct leash__judged *)a)->g->id;
    int64_t y = ((const struct leash__judged *)b)->g->id;

    return (x > y) - (x < y);
}

/* What the allowlist calls a goroutine's wait: a state when not parked. */
static const char *wait_of(const leash_goroutine_t *g)
{
    return g->wait_reason[0] != '\0' ? g->wait_reason : g->state;
}

static enum leash_allow_verdict match(struct leash__check *c,
                                      const char *test,
                                      const leash_goroutine_t *g, long today,
                                      int *entry)
{
    leash_allow_subject_t s;
    const char **funcs, **files;
    enum leash_allow_verdict v;
    size_t i;

    funcs = calloc(g->nframes + 1, sizeof *funcs);
    files = calloc(g->nframes + 1, sizeof *files);
    if (funcs == NULL || files == NULL) {
        free(funcs);
        free(files);
        *entry = -1;
        return LEASH_ALLOW_NONE;
    }
    for (i = 0; i < g->nframes; i++) {
        funcs[i] = g->frames[i].func;
        files[i] = g->frames[i].file;
    }
    s.test = test;
    s.entry = g->entry.func != NULL ? g->entry.func : "?";
    s.creator = g->id != 1 && g->creator.func != NULL &&
                        strcmp(g->creator.func, "?") != 0
                    ? g->creator.func : NULL;
    s.wait_reason = wait_of(g);
    s.nframes = g->nframes;
    s.frame_funcs = funcs;
    s.frame_files = files;
    v = leash_allowlist_match(c->al, &s, today, entry);
    free(funcs);
    free(files);
    return v;
}

/*
 * Fill c->v with the goroutines to judge: every leaked one, and in strict
 * mode every one alive that was started since the baseline. Judge each
 * against the allowlist on day `today`. Result: 0, or -1 when memory ran
 * out.
 */
static int judge(struct leash__check *c, const leash_report_t *leaks,
                 const leash_report_t *alive, long today)
{
    size_t nl = leash_report_count(leaks), na = leash_report_count(alive);
    char test[512];
    size_t i, k;

    c->v = calloc(nl + na + 1, sizeof *c->v);
    if (c->v == NULL)
        return -1;
    for (i = 0; i < nl; i++)
        c->v[c->n++].g = leash_report_get(leaks, i);
    for (i = 0; i < na; i++) {
        const leash_goroutine_t *g = leash_report_get(alive, i);

        for (k = 0; k < nl && c->v[k].g->id != g->id; k++)
            continue;
        if (k == nl)
            c->v[c->n++].g = g;
    }
    qsort(c->v, c->n, sizeof *c->v, cmp_judged);

    if (c->al != NULL) {
        c->uses = calloc(leash_allowlist_count(c->al) + 1,
                         sizeof *c->uses);
        if (c->uses == NULL)
            return -1;
        leash_allowlist_reset_counts(c->al);
    }
    snprintf(test, sizeof test, "%s/%s", c->suite, c->name);
    for (i = 0; i < c->n; i++) {
        struct leash__judged *j = &c->v[i];

        j->entry = -1;
        if (c->al != NULL)
            j->verdict = match(c, test, j->g, today, &j->entry);
        if (j->g->leaked)
            c->leaked++;
        else
            c->alive++;
        if (j->verdict == LEASH_ALLOW_OK)
            c->allowed++;
        else
            c->not_allowed++;
        if (j->verdict == LEASH_ALLOW_EXPIRED)
            c->expired++;
        if (j->verdict == LEASH_ALLOW_OVER_MAX)
            c->over_max++;
        if (j->entry >= 0) {
            struct leash__entry_use *u = &c->uses[j->entry];

            u->matches++;
            u->allowed += j->verdict == LEASH_ALLOW_OK;
            u->expired += j->verdict == LEASH_ALLOW_EXPIRED;
            u->over_max += j->verdict == LEASH_ALLOW_OVER_MAX;
        }
    }
    c->verdict = c->n == 0 ? "clean"
                 : c->not_allowed == 0 ? "allowed" : "leaks";
    return 0;
}

/* ------------------------------------------------------------------ */
/* Text                                                                 */
/* ------------------------------------------------------------------ */

/* One group: same verdict and entry, and the same group for
 * leash_report_print, so both print the same groups. */
static bool same_group(const struct leash__judged *x,
                       const struct leash__judged *y)
{
    return x->verdict == y->verdict && x->entry == y->entry &&
           leash_goroutine_same_group(x->g, y->g);
}

/* The line that says why a group is not allowed, if there is more to it
 * than "no entry matched". */
static void print_note(FILE *f, const struct leash__check *c,
                       const struct leash__judged *j)
{
    leash_allow_entry_info_t e;
    char day[32];

    if (j->entry < 0)
        return;
    leash_allowlist_entry(c->al, (size_t)j->entry, &e);
    if (j->verdict == LEASH_ALLOW_EXPIRED) {
        leash__format_day(e.expires, day, sizeof day);
        fprintf(f, "allowance expired on %s (%s:%d): %s\n", day, e.file,
                e.line, e.reason);
    } else if (j->verdict == LEASH_ALLOW_OVER_MAX) {
        fprintf(f, "over the limit: %s:%d allows at most %ld (%s)\n",
                e.file, e.line, e.max, e.reason);
    }
}

static void print_groups(FILE *f, struct leash__check *c)
{
    size_t i, k, count, shown;
    int64_t last = 0;

    for (i = 0; i < c->n; i++) {
        struct leash__judged *j = &c->v[i];

        if (j->printed || j->verdict == LEASH_ALLOW_OK)
            continue;
        count = 1;
        for (k = i + 1; k < c->n; k++)
            if (!c->v[k].printed && same_group(j, &c->v[k]))
                count++;
        fputc('\n', f);
        print_note(f, c, j);
        leash_goroutine_print(f, j->g);
        j->printed = true;
        if (count == 1)
            continue;
        fprintf(f, "... and %zu more goroutine%s with this stack:",
                count - 1, count - 1 == 1 ? "" : "s");
        shown = 0;
        for (k = i + 1; k < c->n; k++) {
            if (c->v[k].printed || !same_group(j, &c->v[k]))
                continue;
            c->v[k].printed = true;
            last = c->v[k].g->id;
            if (++shown < MAX_GROUP_IDS || count - 1 == MAX_GROUP_IDS)
                fprintf(f, " %lld", (long long)last);
        }
        /* Long lists: the first ids, the last, and how many are left. */
        if (count - 1 > MAX_GROUP_IDS)
            fprintf(f, " ... %lld (%zu more in the JSON report)",
                    (long long)last, count - 1 - MAX_GROUP_IDS);
        fputc('\n', f);
    }
}

static void print_allowed(FILE *f, const struct leash__check *c,
                          const char *prefix)
{
    leash_allow_entry_info_t e;
    size_t i;

    for (i = 0; i < c->n; i++) {
        const struct leash__judged *j = &c->v[i];

        if (j->verdict != LEASH_ALLOW_OK)
            continue;
        leash_allowlist_entry(c->al, (size_t)j->entry, &e);
        fprintf(f, "%sallowed: goroutine %lld [%s] %s by %s:%d (%s)\n",
                prefix, (long long)j->g->id, wait_of(j->g),
                j->g->entry.func != NULL ? j->g->entry.func : "?", e.file,
                e.line, e.reason);
    }
}

/*
 * The report of the goroutines not allowed, after a first line `lead`
 * (NULL: none). Result: malloc'd text, or NULL when memory ran out.
 */
static char *render(struct leash__check *c, const char *lead)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (f == NULL)
        return NULL;
    if (lead != NULL)
        fprintf(f, "%s\n", lead);
    fprintf(f, "leash: %s/%s", c->suite, c->name);
    if (c->param_index >= 0)
        fprintf(f, "[%ld]", c->param_index);
    if (c->strict)
        fprintf(f, ": %zu of %zu goroutine%s left at the end not allowed "
                "(strict mode)\n", c->not_allowed, c->n,
                c->n == 1 ? "" : "s");
    else
        fprintf(f, ": %zu of %zu leaked goroutine%s not allowed\n",
                c->not_allowed, c->n, c->n == 1 ? "" : "s");
    print_groups(f, c);
    if (c->allowed > 0) {
        fputc('\n', f);
        print_allowed(f, c, "");
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/*
 * Print text on stderr with each line tagged "[LEAK] ", in one write so
 * that parallel tests do not interleave. Not a Criterion warning: the
 * runner counts those, and any makes it exit non-zero.
 */
static void print_tagged(const char *text)
{
    char *out = NULL;
    size_t len = 0;
    const char *p, *nl;
    FILE *f = open_memstream(&out, &len);

    if (f == NULL)
        return;
    for (p = text; *p != '\0'; p = nl) {
        nl = strchrnul(p, '\n');
        if (nl > p)
            fprintf(f, "[LEAK] %.*s\n", (int)(nl - p), p);
        if (*nl == '\n')
            nl++;
    }
    if (fclose(f) == 0) {
        fflush(stderr);
        for (p = out; len > 0;) {
            ssize_t n = write(2, p, len);

            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            p += n;
            len -= (size_t)n;
        }
    }
    free(out);
}

/* Fail the running test with msg, at the test's own file:line. */
static void fail_test(const struct leash__test *t, const char *msg)
{
    struct criterion_assert_stats st;
    char *safe = leash__criterion_text(msg, MAX_CRITERION_TEXT,
                                       MAX_CRITERION_LINE);
    char *file = leash__criterion_text(t->file, PATH_MAX, 0);

    memset(&st, 0, sizeof st);
    st.message = safe != NULL ? safe : "leash: out of memory";
    st.passed = false;
    st.file = file != NULL ? file : "?";
    st.line = t->line;
    criterion_send_assert(&st);
    free(safe);
    free(file);
}

/* ------------------------------------------------------------------ */
/* The check                                                            */
/* ------------------------------------------------------------------ */

/* The one test this process runs. */
static struct {
    enum { PHASE_IDLE, PHASE_BODY, PHASE_DONE } phase;
    struct leash__test *t;
    const void *param;
    struct settings set;
    bool strict;
    long param_index;       /* -1: not parameterized, or not found */
    leash_baseline_t baseline;
    char *allow_path;       /* malloc'd; NULL: no allowlist */
    leash_allowlist_t *al;
} run;

/* Which parameter of its test this process runs, -1 when unknown. */
static long param_index(const struct leash__test *t, const void *param)
{
    struct criterion_test_params p;
    long idx = -1;
    size_t i;

    if (t->params == NULL || param == NULL)
        return -1;
    p = t->params();
    for (i = 0; i < p.length && p.params != NULL; i++) {
        if (memcmp((const char *)p.params + i * p.size, param,
                   p.size) == 0) {
            idx = (long)i;
            break;
        }
    }
    if (p.cleanup != NULL)
        p.cleanup(&p);
    return idx;
}

static void init_check(struct leash__check *c, bool aborted)
{
    memset(c, 0, sizeof *c);
    c->suite = run.t->suite;
    c->name = run.t->name;
    c->file = run.t->file;
    c->line = run.t->line;
    c->body = aborted ? "aborted" : "returned";
    c->mode = mode_names[run.set.mode];
    c->strict = run.strict;
    c->grace_ms = run.set.grace_ms;
    c->allow_path = run.allow_path;
    c->al = run.al;
    c->param_index = run.param_index;
}

/*
 * Write the JSON report where it is wanted: LEASH_REPORT_DIR and the
 * run's private directory. Result: 0, or -1 with the reason in err.
 */
static int write_reports(struct leash__check *c, char *err, size_t errlen)
{
    const char *dirs[2] = { run.set.report_dir, env(RUN_DIR_ENV) };
    char name[PATH_MAX];
    int i;

    if (run.t->params != NULL) {
        if (c->param_index >= 0)
            snprintf(name, sizeof name, "%s.%s.%ld.json", c->suite,
                     c->name, c->param_index);
        else
            snprintf(name, sizeof name, "%s.%s.pid%ld.json", c->suite,
                     c->name, (long)getpid());
    } else {
        snprintf(name, sizeof name, "%s.%s.json", c->suite, c->name);
    }
    for (i = 0; i < 2; i++)
        if (dirs[i] != NULL &&
            leash__json_write(c, dirs[i], name, err, errlen) != 0)
            return -1;
    return 0;
}

static void report_write_error(bool aborted, const char *why)
{
    char *msg;

    if (asprintf(&msg, "leash: cannot write the JSON report: %s", why) < 0)
        msg = NULL;
    if (aborted)
        cr_log_warn("%s", msg != NULL ? msg : why);
    else
        fail_test(run.t, msg != NULL ? msg : why);
    free(msg);
}

/* A test that fails before any check: bad settings, bad allowlist. */
static void fail_before(const char *msg)
{
    struct leash__check c;
    char err[PATH_MAX + 256];

    fail_test(run.t, msg);
    init_check(&c, false);
    c.verdict = "error";
    c.failed = true;
    c.error = msg;
    if (write_reports(&c, err, sizeof err) != 0)
        report_write_error(false, err);
}

/*
 * Zero the stack below the caller. The dead frames of the body and of
 * the scheduler (leash_settle ran the other goroutines from there) hold
 * pointers to channels, and the frames of the check that reuse that
 * memory would carry them in their not yet written slots; the analysis
 * scans goroutine 1's live frames conservatively, so one stale pointer to
 * a channel would keep its leaked waiters "reachable".
 */
#if defined(__clang__)
__attribute__((noinline))
#else
__attribute__((noinline, noipa))
#endif
static void scrub_stack(void)
{
    char buf[SCRUB_BYTES];

    explicit_bzero(buf, sizeof buf);
    __asm__ volatile("" : : "r"(buf) : "memory");
}

/* Let the other goroutines finish what they can, then clear the stack
 * they were run from. */
static void settle(void)
{
    leash_settle(run.set.grace_ms * LEASH_MILLISECOND);
    scrub_stack();
}

/*
 * Collect, judge, and say what was found: by failing the test
 * (body returned, mode fail) or by warnings (mode report, or the body
 * was left by a failed assertion and the test has failed already).
 */
static void check(bool aborted)
{
    leash_report_t *leaks, *alive = NULL;
    struct leash__check c;
    char err[PATH_MAX + 256];
    char *text = NULL;
    const char *lead = NULL;

    init_check(&c, aborted);
    leaks = leash_find_leaks();
    if (run.strict)
        alive = leash_goroutines_since(run.baseline);
    if (leaks == NULL || (run.strict && alive == NULL) ||
        judge(&c, leaks, alive, run.set.today) != 0) {
        c.verdict = "error";
        c.error = "leash: the leak check ran out of memory";
        if (aborted)
            cr_log_warn("%s", c.error);
        else
            fail_test(run.t, c.error);
        goto out;
    }

    if (aborted)
        lead = "leash: the test failed before the end of its body; what "
               "it left behind, for information:";
    else if (run.set.mode == MODE_REPORT)
        lead = "leash: LEASH_MODE=report: these leaks do not fail the "
               "test";
    if (c.not_allowed > 0) {
        text = render(&c, lead);
        c.text = text != NULL ? text : "leash: out of memory";
        c.failed = !aborted && run.set.mode == MODE_FAIL;
    }
    if (write_reports(&c, err, sizeof err) != 0)
        report_write_error(aborted, err);

    if (c.not_allowed > 0 && c.failed)
        fail_test(run.t, c.text);
    else if (c.not_allowed > 0 && aborted)
        cr_log_warn("%s", c.text);
    else if (c.not_allowed > 0)
        print_tagged(c.text);
    else if (c.allowed > 0) {
        char *lines = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&lines, &len);

        if (f != NULL) {
            print_allowed(f, &c, "leash: ");
            if (fclose(f) == 0 && len > 0)
                cr_log_info("%.*s", (int)(len - 1), lines);
            free(lines);
        }
    }
out:
    free(text);
    free(c.v);
    free(c.uses);
    leash_report_free(leaks);
    leash_report_free(alive);
}

/* ------------------------------------------------------------------ */
/* Entry points                                                         */
/* ------------------------------------------------------------------ */

/* Find and read the allowlist. Result: true, or false with err set. */
static bool load_allowlist(char *err, size_t errlen)
{
    const char *set = getenv("LEASH_ALLOWLIST");
    char msg[1024];

    if (set != NULL && set[0] == '\0') {
        snprintf(err, errlen, "leash: allowlist error: LEASH_ALLOWLIST is "
                 "set but empty; name a file, or unset it to use the "
                 "nearest leash-allow.yaml");
        return false;
    }
    errno = 0;
    run.allow_path = leash_allowlist_find();
    if (run.allow_path == NULL) {
        if (errno == ENOMEM) {
            snprintf(err, errlen, "leash: out of memory looking for the "
                     "allowlist");
            return false;
        }
        return true;
    }
    run.al = leash_allowlist_load(run.allow_path, msg, sizeof msg);
    if (run.al == NULL) {
        snprintf(err, errlen, "leash: allowlist error: %s", msg);
        return false;
    }
    return true;
}

void leash__harness_run(struct leash__test *t, void *param)
{
    char err[2048];

    run.t = t;
    run.param = param;
    run.phase = PHASE_DONE;
    run.param_index = param_index(t, param);
    if (!read_settings(&run.set, err, sizeof err)) {
        fail_test(t, err);
        return;
    }
    run.strict = t->strict || run.set.strict || suite_is_strict(t->suite);

    if (run.set.mode == MODE_OFF) {
        if (t->param_body != NULL)
            t->param_body(param);
        else
            t->body();
        return;
    }
    if (!load_allowlist(err, sizeof err)) {
        fail_before(err);
        return;
    }

    /* The body; a failed cr_assert leaves it for the .fini below. */
    run.baseline = leash_baseline();
    run.phase = PHASE_BODY;
    if (t->param_body != NULL)
        t->param_body(param);
    else
        t->body();
    run.phase = PHASE_DONE;

    settle();
    check(false);
}

/*
 * Criterion's .init runs in frames that the body's and the harness's own
 * frames later reuse, and not all of their slots get written: a pointer
 * the .init left there (the channel its goroutine blocks on) would keep
 * that goroutine reachable, so a leak from .init would never be found.
 * The user's .init runs below this function, and the dead stack it left
 * is cleared before the test function is called.
 */
void leash__harness_init(struct leash__test *t)
{
    if (t->user->init != NULL)
        t->user->init();
    scrub_stack();
}

void leash__harness_fini(struct leash__test *t)
{
    if (run.phase == PHASE_BODY && run.t == t) {
        run.phase = PHASE_DONE;
        if (leash_goid() != 1) {
            /* Criterion's longjmp left a goroutine's stack for the
             * thread's own: the scheduler's state no longer matches the
             * stack it runs on, so nothing of it may be touched. */
            cr_log_warn("leash: an assertion failed in goroutine %lld, "
                        "not in the test body; the leak check is skipped "
                        "(use cr_expect outside the body)",
                        (long long)leash_goid());
        } else {
            settle();
            check(true);
        }
    }
    if (t->user->fini != NULL)
        t->user->fini();
}

/* ------------------------------------------------------------------ */
/* Report hooks (the runner process)                                    */
/* ------------------------------------------------------------------ */

/* The run's private directory, made by PRE_ALL, removed by POST_ALL. */
static char *run_dir;

/*
 * Leash tests that set no .timeout got LEASH_DEFAULT_TIMEOUT from their
 * macro. Criterion prefers any test timeout to the suite's, so where the
 * suite has one, take the default away again; where LEASH_TIMEOUT is set,
 * use it. The runner reads timeouts when it spawns each test.
 */
static void apply_timeouts(struct criterion_test_set *set,
                           const struct settings *s)
{
    struct criterion_ordered_set_node *sn, *tn;

    for (sn = set->suites->first; sn != NULL; sn = sn->next) {
        struct criterion_suite_set *ss = (void *)(sn + 1);
        bool suite_timeout = ss->suite.data != NULL &&
                             ss->suite.data->timeout > 0;

        for (tn = ss->tests != NULL ? ss->tests->first : NULL; tn != NULL;
             tn = tn->next) {
            struct criterion_test *ct = (void *)(tn + 1);
            const struct leash__test *t = find_test(ct->category, ct->name);

            if (t == NULL || t->user->timeout > 0 || ct->data == NULL)
                continue;
            if (suite_timeout)
                ct->data->timeout = 0;
            else if (s->has_timeout)
                ct->data->timeout = s->timeout;
        }
    }
}

static void pre_all(struct criterion_test_set *set)
{
    struct settings s;
    char err[512], tmpl[PATH_MAX];
    const char *tmp = env("TMPDIR");

    /* A bad setting fails each test; the runner keeps the defaults. */
    if (!read_settings(&s, err, sizeof err))
        memset(&s, 0, sizeof s);
    apply_timeouts(set, &s);
    if (s.mode == MODE_OFF)
        return;

    snprintf(tmpl, sizeof tmpl, "%s/leash-run.XXXXXX",
             tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(tmpl) == NULL) {
        cr_log_warn("leash: cannot make a directory for this run (%s: %s); "
                    "unused allowlist entries will not be reported", tmpl,
                    strerror(errno));
        unsetenv(RUN_DIR_ENV);
        return;
    }
    run_dir = strdup(tmpl);
    if (run_dir == NULL || setenv(RUN_DIR_ENV, tmpl, 1) != 0) {
        rmdir(tmpl);
        free(run_dir);
        run_dir = NULL;
        unsetenv(RUN_DIR_ENV);
    }
}

/* The entries the run's tests used, as (file, line). */
struct used {
    struct {
        char *file;
        long line;
    } *v;
    size_t n, cap;
};

static void add_used(const char *file, long line, void *ctx)
{
    struct used *u = ctx;
    size_t i;

    for (i = 0; i < u->n; i++)
        if (u->v[i].line == line && strcmp(u->v[i].file, file) == 0)
            return;
    if (u->n == u->cap) {
        size_t cap = u->cap != 0 ? u->cap * 2 : 16;
        void *v = realloc(u->v, cap * sizeof *u->v);

        if (v == NULL)
            return;
        u->v = v;
        u->cap = cap;
    }
    u->v[u->n].file = strdup(file);
    if (u->v[u->n].file != NULL)
        u->v[u->n++].line = line;
}

static bool was_used(const struct used *u, const char *file, long line)
{
    size_t i;

    for (i = 0; i < u->n; i++)
        if (u->v[i].line == line && strcmp(u->v[i].file, file) == 0)
            return true;
    return false;
}

static void remove_dir(const char *dir)
{
    struct dirent *d;
    DIR *dp = opendir(dir);
    char path[PATH_MAX];

    if (dp != NULL) {
        while ((d = readdir(dp)) != NULL) {
            if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, d->d_name);
            unlink(path);
        }
        closedir(dp);
    }
    rmdir(dir);
}

static void report_unused(const struct used *u)
{
    leash_allow_entry_info_t e;
    leash_allowlist_t *al;
    char *path = leash_allowlist_find();
    size_t i;

    /* A file that does not load failed every test already. */
    al = path != NULL ? leash_allowlist_load(path, NULL, 0) : NULL;
    for (i = 0; al != NULL && i < leash_allowlist_count(al); i++) {
        leash_allowlist_entry(al, i, &e);
        if (!was_used(u, e.file, e.line))
            cr_log_warn("leash: allowlist entry %s:%d (%s) matched nothing "
                        "in this run", e.file, e.line, e.reason);
    }
    leash_allowlist_free(al);
    free(path);
}

static void post_all(struct criterion_global_stats *stats)
{
    struct used u = { NULL, 0, 0 };
    long count, bad;
    size_t i;

    if (run_dir == NULL)
        return;
    count = leash__json_read_used(run_dir, add_used, &u, &bad);
    if (bad > 0)
        cr_log_warn("leash: %ld test report%s of this run could not be read",
                    bad, bad == 1 ? "" : "s");
    /* No report: no leash test ran, nothing to say about entries. */
    if (count > 0)
        report_unused(&u);
    for (i = 0; i < u.n; i++)
        free(u.v[i].file);
    free(u.v);
    remove_dir(run_dir);
    free(run_dir);
    run_dir = NULL;
}

/*
 * ReportHook() names its function after the line it is on, so a user's
 * hook on the same line of another file would clash at link time; these
 * are the same registrations under names of our own.
 */
__attribute__((used)) CR_SECTION_("cr_pra")
f_report_hook leash__hook_pre_all = (f_report_hook)pre_all
    CR_SECTION_SUFFIX_;
__attribute__((used)) CR_SECTION_("cr_poa")
f_report_hook leash__hook_post_all = (f_report_hook)post_all
    CR_SECTION_SUFFIX_;
