/*
 * leash allowlist: known goroutine leaks that a test may have.
 *
 * A test fails when goroutines leak. Some leaks are known and accepted for
 * a while (a vendor pool keeps one idle worker until the next upgrade); the
 * allowlist names them, says why, and bounds them in number and in time.
 *
 * Where the harness looks
 * -----------------------
 * $LEASH_ALLOWLIST, if set (a missing file is then an error), else the first
 * file named "leash-allow.yaml" in the working directory or one of its
 * parents up to /. With neither, nothing is allowed.
 *
 * The file
 * --------
 *     version: 1
 *     allow:
 *       - reason: "vendor pool keeps one idle worker; fixed upstream in 2.3"
 *         entry: "pool_worker*"     # the goroutine's entry function
 *         top: "leash_chan_recv"    # its innermost frame's function
 *         frame: "*vendor_*"        # ANY frame's function
 *         creator: "pool_start"     # the function that called leash_go
 *         wait: "chan receive"      # why it is parked (see below)
 *         file: "*vendor*.c"        # ANY frame's source file
 *         test: "pool/idle_*"       # the test, as "suite/name"
 *         max: 2                    # at most 2 such goroutines per test
 *         expires: 2027-03-31       # last day the entry applies
 *
 * version   required, the integer 1.
 * allow     required, a list of entries; "allow: []" allows nothing.
 * reason    required in each entry, a non-empty string. Reports quote it.
 * matchers  entry, top, frame, creator, wait, file, test: at least one per
 *           entry. Each is a glob in fnmatch(3) syntax: "*" matches any
 *           run of characters including "/", "?" one character, "[a-z]"
 *           and "[!a-z]" (or "[^a-z]") a set, "[[:alpha:]]" a class, and
 *           "\" makes the next character literal. "[.x.]" and "[=x=]" are
 *           not accepted. An entry matches a goroutine when ALL of its
 *           matchers match; a matcher on a missing value (no creator, no
 *           frames, no source file) does not match.
 * wait      the wait reason, with Go's names: "chan receive",
 *           "chan send", "chan receive (nil chan)", "chan send (nil chan)",
 *           "select", "select (no cases)", "sync.Mutex.Lock",
 *           "sync.RWMutex.RLock", "sync.RWMutex.Lock",
 *           "sync.WaitGroup.Wait", "sync.Cond.Wait"; in strict mode,
 *           for goroutines not parked on a primitive, "sleep" (in
 *           leash_sleep) or their state: "runnable", "running",
 *           "sleeping", "waiting". A wait glob that matches none of
 *           these (a typo such as "chan recieve") is an error.
 * test      the test as "suite/name" (see the harness). A test glob that
 *           can match no such name, one with neither "/" nor a wildcard
 *           ("idle_pool"), is an error.
 * max       optional positive integer: the entry allows at most this many
 *           goroutines in one test; more are reported as over the limit.
 * expires   optional date YYYY-MM-DD (UTC, year 2000 or later). The entry
 *           applies up to and including that day; from the next day on,
 *           goroutines it would have allowed are reported as "allowance
 *           expired" instead of silently failing as plain leaks.
 *
 * When several entries match one goroutine, the first in file order that
 * is not expired and has not used up its max allows it. If none can, the
 * verdict is "over max" when a live entry matched, else "expired".
 *
 * The file must be UTF-8 YAML with exactly one document. Everything else is
 * an error reported as "path:line:column: message", and the run stops: an
 * unknown key, a duplicate key, a value of the wrong type, a glob with an
 * unbalanced "[", a wait or test glob that can match nothing, a date that
 * does not exist, two entries with the same
 * matchers, a second document, an empty file. Aliases (*name) are not
 * accepted.
 *
 * Nothing here is thread-safe; the harness calls it from one thread.
 */
#ifndef LEASH_ALLOWLIST_H
#define LEASH_ALLOWLIST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One leaked goroutine, as the leak report sees it. Nothing is copied. */
typedef struct leash_allow_subject {
    const char *test;               /* "suite/name" */
    const char *entry;              /* entry function name */
    const char *creator;            /* caller of leash_go; may be NULL */
    const char *wait_reason;        /* Go's name, see above */
    size_t nframes;
    const char *const *frame_funcs; /* innermost first; [0] is "top" */
    const char *const *frame_files; /* may be NULL or contain NULLs */
} leash_allow_subject_t;

typedef struct leash_allowlist leash_allowlist_t;

enum leash_allow_verdict {
    LEASH_ALLOW_NONE = 0,  /* no entry matched: a plain leak */
    LEASH_ALLOW_OK,        /* allowed, and counted against the entry's max */
    LEASH_ALLOW_EXPIRED,   /* only entries past their expiry matched */
    LEASH_ALLOW_OVER_MAX   /* a live entry matched, but its max is used up */
};

/*
 * Read and validate the allowlist at path.
 * Result: the allowlist, owned by the caller (leash_allowlist_free), or
 * NULL with a message in err: "path:line:col: message" for a bad file,
 * "path: cannot read: <strerror>" for one that cannot be read, or
 * "path: out of memory". err is always NUL-terminated when errlen > 0,
 * and "" on success; err may be NULL when errlen is 0.
 */
leash_allowlist_t *leash_allowlist_load(const char *path, char *err,
                                        size_t errlen);

/*
 * The same from len bytes at buf (which need not be NUL-terminated);
 * name stands for the path in messages and in leash_allowlist_entry.
 */
leash_allowlist_t *leash_allowlist_parse(const char *name, const char *buf,
                                         size_t len, char *err,
                                         size_t errlen);

/* Free al and everything it owns. NULL is accepted. */
void leash_allowlist_free(leash_allowlist_t *al);

/*
 * The allowlist to use: $LEASH_ALLOWLIST if set, even to a file that does
 * not exist (loading it then reports the error), else the first
 * "leash-allow.yaml" found from the working directory up to /.
 * Result: a path owned by the caller (free), or NULL when there is none
 * (or memory ran out).
 */
char *leash_allowlist_find(void);

/*
 * Decide for one leaked goroutine s on day `today` (days since 1970-01-01,
 * UTC; see leash_today). An entry allows at most `max` goroutines between
 * two calls of leash_allowlist_reset_counts, which the harness makes
 * between tests. *entry_index, when entry_index is not NULL, receives the
 * entry that decided the verdict, or -1 for LEASH_ALLOW_NONE.
 */
enum leash_allow_verdict leash_allowlist_match(leash_allowlist_t *al,
                                               const leash_allow_subject_t *s,
                                               long today, int *entry_index);

/* Start a new test: every entry's max is available again. */
void leash_allowlist_reset_counts(leash_allowlist_t *al);

/* The number of entries. */
size_t leash_allowlist_count(const leash_allowlist_t *al);

/* What reports say about one entry. */
typedef struct leash_allow_entry_info {
    const char *reason;   /* owned by the allowlist */
    const char *file;     /* the path or name given at load; owned too */
    int line;             /* 1-based line where the entry starts */
    long expires;         /* last day it applies (days since epoch); 0: none */
    long max;             /* 0: no bound */
    long total_matches;   /* verdicts it decided since load, of any kind;
                             0 means it is unused */
} leash_allow_entry_info_t;

/* Fill *out for entry i (0-based); all zeros when i is out of range. */
void leash_allowlist_entry(const leash_allowlist_t *al, size_t i,
                           leash_allow_entry_info_t *out);

/*
 * One line naming entry i's matchers, e.g. "entry=pool_worker* wait=chan
 * receive", in the order entry, top, frame, creator, wait, file, test.
 * Control characters are escaped (\n, \xNN). Truncated to fit len bytes,
 * always NUL-terminated when len > 0; "" when i is out of range.
 */
void leash_allowlist_describe(const leash_allowlist_t *al, size_t i,
                              char *buf, size_t len);

/*
 * Days from 1970-01-01 to the date y-m-d of the proleptic Gregorian
 * calendar (negative before 1970). Meaningful for years 1 to 9999 and a
 * valid month and day.
 */
long leash_days_from_civil(int y, int m, int d);

/*
 * Parse "YYYY-MM-DD" (exactly that, a real date, year 1970 to 9999) into
 * days since 1970-01-01. Result: 0, or -1 when s is not such a date.
 */
int leash_parse_date(const char *s, long *days);

/*
 * Today in UTC as days since 1970-01-01. $LEASH_TODAY=YYYY-MM-DD overrides
 * the clock, for reproducible tests; here an invalid value is ignored with
 * a warning on stderr (the CLI relies on that). The harness checks the
 * variable itself first and fails every test on an invalid value.
 */
long leash_today(void);

#ifdef __cplusplus
}
#endif

#endif
