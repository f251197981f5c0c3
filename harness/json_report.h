/*
 * The JSON leak report of one test (schema in include/leash/harness.h),
 * and reading reports back in the runner process. Internal to the harness.
 */
#ifndef LEASH_JSON_REPORT_H
#define LEASH_JSON_REPORT_H

#include <leash/leak.h>
#include <stdbool.h>
#include <stddef.h>

#include "allowlist.h"

#define LEASH__REPORT_SCHEMA "leash-report"
#define LEASH__REPORT_VERSION 1

/* One goroutine the check judged. */
struct leash__judged {
    const leash_goroutine_t *g;
    enum leash_allow_verdict verdict;
    int entry;                  /* allowlist entry that decided, or -1 */
    bool printed;               /* already in the text (grouping) */
};

/* How one allowlist entry fared in one test. */
struct leash__entry_use {
    long matches;               /* verdicts it decided */
    long allowed, expired, over_max;
};

/* Everything a report says about one test. */
struct leash__check {
    const char *suite, *name;
    const char *file;           /* where the test is defined */
    unsigned line;
    long param_index;           /* -1: not parameterized */
    const char *body;           /* "returned" or "aborted" */
    const char *mode;           /* "fail" or "report" */
    bool strict;
    long grace_ms;
    const char *verdict;        /* "clean", "allowed", "leaks", "error" */
    bool failed;                /* the harness failed the test */
    const char *error;          /* NULL, or why no check ran */
    const char *allow_path;     /* NULL when no allowlist is used */
    leash_allowlist_t *al;
    struct leash__entry_use *uses; /* one per allowlist entry */
    struct leash__judged *v;    /* sorted by goroutine id */
    size_t n;
    size_t leaked, alive, allowed, not_allowed, expired, over_max;
    const char *text;           /* as printed, or NULL */
};

/*
 * Write c's report as dir/name atomically (dir/.name.<pid>.tmp, then
 * rename), creating dir (one level) when missing.
 * Result: 0, or -1 with a message "<path>: <what failed>: <strerror>" in
 * err.
 */
int leash__json_write(const struct leash__check *c, const char *dir,
                      const char *name, char *err, size_t errlen);

/* Days since 1970-01-01 as "YYYY-MM-DD" (UTC), "?" when out of range. */
void leash__format_day(long days, char *buf, size_t len);

/*
 * Call fn for each allowlist entry (file, line) that decided a verdict in
 * a report in dir, once per report. Reports that are not version 1 of
 * the schema are skipped; a report that cannot be parsed is counted in
 * *bad.
 * Result: the number of reports read, or -1 when dir cannot be opened.
 */
long leash__json_read_used(const char *dir,
                           void (*fn)(const char *file, long line, void *ctx),
                           void *ctx, long *bad);

#endif
