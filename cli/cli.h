/*
 * The leash command-line tool: reads the JSON leak reports of a test run
 * (schema "leash-report" version 1, documented in include/leash/harness.h)
 * and, when given, Criterion's --xml output, and turns them into a verdict,
 * a summary, markdown, GitHub annotations, SARIF and a Graphviz graph.
 *
 * One file per subsystem:
 *   main.c         options, subcommands, --help
 *   load.c         reading and validating reports (every input error)
 *   xml.c          reading Criterion's XML
 *   run.c          the run as a whole: tests without a report, allowlist
 *                  entries used, unused and expired; the verdict
 *   util.c         strings, paths, the frame a goroutine blocks at, the
 *                  verdict line
 *   summary.c      `leash check`
 *   markdown.c     `leash markdown`
 *   annotations.c  `leash annotations`
 *   sarif.c        `leash sarif`
 *   dot.c          `leash dot`, `leash svg`
 *   validate.c     `leash allowlist validate`
 *
 * Reports are kept as jansson documents for the life of the process; the
 * strings below point into them and are never NULL unless said so.
 */
#ifndef LEASH_CLI_H
#define LEASH_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses of every subcommand. */
#define LC_EXIT_OK 0
#define LC_EXIT_LEAKS 1     /* check: leaks outside the allowlist */
#define LC_EXIT_INPUT 2     /* bad usage, or an input that cannot be read */

/* A source location; file is NULL and line 0 when unknown. */
struct lc_frame {
    const char *func;
    const char *file;
    long line;
};

/* An allowlist entry as a report names it. */
struct lc_entry_ref {
    const char *file;
    long line;
    const char *reason;
    const char *expires;        /* "YYYY-MM-DD" or NULL */
};

/* How one goroutine was judged. */
enum lc_verdict {
    LC_NOT_ALLOWED,
    LC_ALLOWED,
    LC_EXPIRED,
    LC_OVER_MAX
};

/* One goroutine of a report. */
struct lc_leak {
    long id;
    const char *state;          /* "leaked", or strict mode's "waiting"... */
    bool leaked;
    const char *wait_reason;    /* "" when none */
    long blocked_ms;
    enum lc_verdict verdict;
    bool has_allowed_by, has_matched;
    struct lc_entry_ref allowed_by; /* the entry that allowed it */
    struct lc_entry_ref matched;    /* the entry that decided the verdict */
    struct lc_frame entry;
    bool has_creator;
    struct lc_frame creator;
    long parent_id;
    struct lc_frame *frames;    /* innermost first */
    size_t nframes;
    bool has_prim;              /* false: waits on nothing */
    const char *prim_kind;
    const char *prim_addr;
    long prim_count;
    bool has_site;
    struct lc_frame prim_site;
    long holder_id;             /* 0: none */
};

/* An allowlist entry that decided a verdict in one test. */
struct lc_used {
    const char *file;
    long line;
    const char *reason;
    long matches, allowed, expired, over_max;
};

/* The verdict of one test, from the report. */
enum lc_test_verdict {
    LC_CLEAN,
    LC_ALL_ALLOWED,
    LC_LEAKS,
    LC_ERROR
};

/* One report: one test (one parameter of a parameterized test). */
struct lc_report {
    char *path;                 /* as found: dir/name or the argument */
    json_t *doc;
    const char *suite, *name;
    long param_index;           /* -1: not parameterized */
    char *display;              /* "suite/name" or "suite/name[i]" */
    const char *test_file;      /* may be NULL */
    long test_line;
    const char *body;           /* "returned", "aborted" or NULL */
    const char *mode;           /* may be NULL */
    bool strict;
    enum lc_test_verdict verdict;
    const char *error;          /* may be NULL */
    const char *allow_path;     /* NULL: no allowlist used */
    struct lc_used *used;
    size_t nused;
    struct lc_leak *leaks;      /* by goroutine id */
    size_t nleaks;
    const char *text;           /* may be NULL */
    /* Counted from leaks[], not taken from the summary. */
    size_t leaked, allowed, not_allowed, expired, over_max;
};

/* One <testcase> of a Criterion XML file. */
enum lc_xml_status {
    LC_XML_PASSED,
    LC_XML_FAILED,
    LC_XML_CRASHED,
    LC_XML_TIMED_OUT,
    LC_XML_EXITED,              /* FAILED with no failed assertion: the
                                   process ended early (exit, a signal
                                   that a sanitizer caught) */
    LC_XML_ERRORED,             /* ERRORED for another reason */
    LC_XML_SKIPPED
};

struct lc_xml_test {
    char *suite, *name;
    enum lc_xml_status status;
    char *xml_path;             /* the file it came from */
};

/* A test Criterion ran that wrote no report although it should have. */
struct lc_missing {
    const struct lc_xml_test *t;
};

/* One allowlist entry as the run sees it. */
struct lc_allow_entry {
    char *file;                 /* the allowlist's path as reports name it */
    long line;
    char *reason;
    char *matchers;             /* "entry=pool_* wait=chan receive" */
    char *expires;              /* "YYYY-MM-DD" or NULL */
    bool expired;               /* past its expiry date today */
    bool loaded;                /* from an allowlist read here, not only
                                   named by a report */
    bool used;                  /* decided a verdict somewhere in the run */
    long matches, allowed, expired_hits, over_max;
    size_t tests;               /* reports in which it decided a verdict */
};

/* Options common to the report subcommands. */
struct lc_opts {
    const char **inputs;        /* report dirs and files */
    size_t ninputs;
    const char **xml;           /* Criterion XML files */
    size_t nxml;
    const char **tests;         /* globs on "suite/name" */
    size_t ntests;
    const char *allowlist;      /* NULL: the paths recorded in reports */
    const char *root;           /* paths under it are shown relative */
    const char *output;         /* NULL: stdout */
    bool verbose, quiet;
};

/* Everything the renderers need. */
struct lc_run {
    struct lc_opts *opts;
    struct lc_report *reports;  /* sorted by test, then path */
    size_t nreports;
    struct lc_xml_test *xml_tests;
    size_t nxml_tests;
    struct lc_missing *missing; /* crashed or timed out, no report */
    size_t nmissing;
    size_t unchecked;           /* Criterion tests with no leak check */
    size_t skipped;             /* skipped or disabled in the XML */
    struct lc_allow_entry *entries; /* of every allowlist in use */
    size_t nentries;
    size_t nloaded;             /* entries with loaded set */
    size_t nallowlists;
    char **allowlists;          /* their paths */
    /* Totals over the run. */
    size_t tests, failing, errors;
    size_t leaked, alive, allowed, not_allowed, expired, over_max;
    size_t unused, expired_entries;
    bool pass;
};

/* ---- load.c ---- */

/*
 * Read the reports named by opts->inputs (directories are searched for
 * *.json, not recursively) into *run, keeping those whose test matches
 * opts->tests. Result: 0, or -1 after printing a message naming the file
 * to stderr.
 */
int lc_load_reports(struct lc_run *run);

/* Free the reports lc_load_reports read. */
void lc_free_reports(struct lc_run *run);

/* ---- xml.c ---- */

/* Append the testcases of Criterion's XML file path to run->xml_tests.
 * Result: 0, or -1 after printing a message with file:line:column. */
int lc_load_xml(struct lc_run *run, const char *path);

/* ---- run.c ---- */

/*
 * Load everything opts names and work out the run's verdict: reports,
 * XML, tests without a report, allowlist entries. Result: 0, or -1 after
 * printing why.
 */
int lc_run_load(struct lc_run *run, struct lc_opts *opts);

/* Free what lc_run_load built. */
void lc_run_free(struct lc_run *run);

/* Does the test pass the gate? */
bool lc_report_fails(const struct lc_report *r);

/* ---- util.c ---- */

/* Print "leash: <message>" to stderr. */
void lc_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* malloc family that exits with a message when memory runs out. */
void *lc_xmalloc(size_t n);
void *lc_xcalloc(size_t n, size_t size);
void *lc_xrealloc(void *p, size_t n);
/* Replace control characters (newlines, escapes) by '?' in place: text
 * from reports and allowlists must not start a line of its own in a CI
 * log, where "::error ...", say, is a workflow command. */
void lc_scrub(char *s);
char *lc_xstrdup(const char *s);
char *lc_xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Append the formatted text to *s, a string from the functions above. */
void lc_xappendf(char **s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* path relative to root when it lies under root, else path itself.
 * The result points into path; NULL stays NULL. */
const char *lc_rel(const struct lc_opts *o, const char *path);

/*
 * Where a goroutine blocks, as a user would look for it: the innermost
 * frame that is not a leash_* runtime function and has a source file;
 * else the entry function, the creator, and NULL when none has a file.
 */
const struct lc_frame *lc_block_frame(const struct lc_leak *l);

/* "chan send", or "running" style state when there is no wait reason. */
const char *lc_reason(const struct lc_leak *l);

/* Words for verdicts. */
const char *lc_verdict_name(enum lc_verdict v);
const char *lc_xml_status_text(enum lc_xml_status s);

/* "1 goroutine" / "3 goroutines". */
const char *lc_plural(size_t n, const char *one, const char *many);

/* Why test t has no report ("suite/name crashed (file), so its leak check
 * never ran..."), in a fresh string. */
char *lc_missing_text(const struct lc_run *run, const struct lc_xml_test *t);

/*
 * The verdict of the run in one line without its newline: ok or fail,
 * then "3 tests, no goroutine leaks outside the allowlist" or what
 * failed.
 */
void lc_print_verdict(FILE *f, const struct lc_run *run, const char *ok,
                      const char *fail);

/* Open opts->output for writing, or stdout. NULL after an error message. */
FILE *lc_open_output(const struct lc_opts *o);

/* Close what lc_open_output returned; -1 after a message on failure. */
int lc_close_output(const struct lc_opts *o, FILE *f);

/*
 * Goroutines of one report grouped as the harness groups them: same
 * verdict, wait reason, entry function and blocking frame.
 */
struct lc_group {
    const struct lc_leak *first;
    size_t n;
    long *ids;
};
struct lc_group *lc_group_leaks(const struct lc_report *r, bool allowed,
                                size_t *ngroups);
void lc_free_groups(struct lc_group *g, size_t n);

/* "2, 3, 4" into a fresh string, at most max ids then ", ...". */
char *lc_id_list(const struct lc_group *g, size_t max);

/* A stable 64-bit FNV-1a hash of s, continued from h (start: 0). */
unsigned long long lc_hash(unsigned long long h, const char *s);

/* ---- the subcommands ---- */

int lc_cmd_check(struct lc_run *run);
int lc_cmd_markdown(struct lc_run *run);
int lc_cmd_annotations(struct lc_run *run);
int lc_cmd_sarif(struct lc_run *run);
int lc_cmd_dot(struct lc_run *run);
int lc_cmd_svg(struct lc_run *run);
int lc_cmd_allowlist_validate(int argc, char **argv);

/* The SARIF document of run (sarif.c), owned by the caller. */
json_t *lc_sarif_build(const struct lc_run *run);

/* DOT text of run into f (dot.c, used by svg too). */
void lc_write_dot(struct lc_run *run, FILE *f);

#endif
