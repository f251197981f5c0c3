/*
 * The allowlist: reading leash-allow.yaml and deciding whether a leaked
 * goroutine is allowed. The file format is documented in allowlist.h.
 *
 * The file is read with libyaml's event parser and checked against the
 * schema as the events arrive, so each error names the line and column
 * libyaml gives for the offending node, and reading stops at the first
 * error: nothing is skipped, nothing is guessed. The schema is four levels
 * deep (top mapping, allow list, entry, value) and a node of the wrong kind
 * is an error at once, so the checker never walks into nesting it did not
 * ask for, however deep the input nests. libyaml itself keeps its state on
 * heap stacks, not the C stack.
 *
 * Sections: small text helpers; dates; globs; reading; matching; finding
 * the file.
 */
#define _GNU_SOURCE
#include "allowlist.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

/* Matchers, in the order leash_allowlist_describe prints them. */
enum { M_ENTRY, M_TOP, M_FRAME, M_CREATOR, M_WAIT, M_FILE, M_TEST, M_COUNT };

/* The keys of an entry: the matchers first, then these. */
enum { K_REASON = M_COUNT, K_MAX, K_EXPIRES, K_COUNT };

static const char *const entry_keys[K_COUNT] = {
    "entry", "top", "frame", "creator", "wait", "file", "test",
    "reason", "max", "expires",
};

enum { T_VERSION, T_ALLOW, T_COUNT };

static const char *const top_keys[T_COUNT] = { "version", "allow" };

/* Expiry dates before this year are refused as typos; 0 means "none". */
#define MIN_EXPIRY_YEAR 2000

struct entry {
    char *match[M_COUNT];   /* globs; NULL where the entry has none */
    char *reason;
    int line;               /* 1-based line where the entry starts */
    long expires;           /* last day it applies; 0: never expires */
    long max;               /* 0: no bound */
    long count;             /* goroutines allowed in the current test */
    long total;             /* verdicts decided since load */
};

struct leash_allowlist {
    char *file;             /* path or name given at load */
    struct entry *v;
    size_t n;
    size_t cap;
};

/* ------------------------------------------------------------------ */
/* Text helpers                                                         */
/* ------------------------------------------------------------------ */

/* A fixed buffer that is filled until full and always NUL-terminated. */
struct sbuf {
    char *p;
    size_t len;             /* bytes written, excluding the NUL */
    size_t cap;             /* size of p; 0 means nothing may be written */
    bool full;              /* something did not fit: write nothing more */
};

static void sb_init(struct sbuf *b, char *p, size_t cap)
{
    b->p = p;
    b->len = 0;
    b->cap = cap;
    b->full = cap == 0;
    if (cap > 0)
        p[0] = '\0';
}

/* Append n bytes whole, or nothing (never half a UTF-8 character). */
static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->full || b->len + n >= b->cap) {
        b->full = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* The length of the UTF-8 sequence that starts with byte c (1 if bad). */
static size_t utf8_len(unsigned char c)
{
    if (c >= 0xF0 && c < 0xF8)
        return 4;
    if (c >= 0xE0)
        return c < 0xF0 ? 3 : 1;
    if (c >= 0xC0)
        return 2;
    return 1;
}

/*
 * Append n bytes of s with control characters escaped, so that a value
 * from the file stays on one line of a report. With quote, '"' is escaped
 * too. Stops early after `limit` bytes of s, returning false then.
 */
static bool sb_escaped(struct sbuf *b, const char *s, size_t n, bool quote,
                       size_t limit)
{
    char hex[8];
    size_t i, k;

    for (i = 0; i < n; i += k) {
        unsigned char c = (unsigned char)s[i];

        k = utf8_len(c);
        if (k > n - i)
            k = 1;
        if (i + k > limit)
            return false;
        if (c == '\n')
            sb_puts(b, "\\n");
        else if (c == '\t')
            sb_puts(b, "\\t");
        else if (c == '\r')
            sb_puts(b, "\\r");
        else if (c == '"' && quote)
            sb_puts(b, "\\\"");
        else if (c < 0x20 || c == 0x7F) {
            snprintf(hex, sizeof hex, "\\x%02X", c);
            sb_puts(b, hex);
        } else
            sb_put(b, s + i, k);
    }
    return true;
}

/* Format into err, which is always NUL-terminated when errlen > 0. */
static void set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Dates                                                                */
/* ------------------------------------------------------------------ */

static bool is_leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(long y, int m)
{
    static const unsigned char len[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
    };

    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Leap days in the years 1 to y - 1. */
static long leaps_before(long y)
{
    y--;
    return y / 4 - y / 100 + y / 400;
}

long leash_days_from_civil(int y, int m, int d)
{
    static const short before[12] = {
        0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334,
    };
    long yy = y, mm = m;

    /* A month out of range carries into the year, as mktime's does. */
    if (mm < 1 || mm > 12) {
        long q = (mm - 1) / 12, rem = (mm - 1) % 12;

        if (rem < 0) {
            rem += 12;
            q--;
        }
        yy += q;
        mm = rem + 1;
    }
    return 365 * (yy - 1970) + leaps_before(yy) - leaps_before(1970) +
           before[mm - 1] + (mm > 2 && is_leap(yy)) + d - 1;
}

enum date_status { DATE_OK, DATE_FORM, DATE_NONE };

/* Split "YYYY-MM-DD" and check that the date exists. */
static enum date_status parse_ymd(const char *s, size_t n, int *y, int *m,
                                  int *d)
{
    static const unsigned char digit_at[] = { 0, 1, 2, 3, 5, 6, 8, 9 };
    size_t i;

    if (n != 10 || s[4] != '-' || s[7] != '-')
        return DATE_FORM;
    for (i = 0; i < sizeof digit_at; i++) {
        if (s[digit_at[i]] < '0' || s[digit_at[i]] > '9')
            return DATE_FORM;
    }
    *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
         (s[3] - '0');
    *m = (s[5] - '0') * 10 + (s[6] - '0');
    *d = (s[8] - '0') * 10 + (s[9] - '0');
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1 ||
        *d > days_in_month(*y, *m))
        return DATE_NONE;
    return DATE_OK;
}

int leash_parse_date(const char *s, long *days)
{
    int y, m, d;

    if (s == NULL || parse_ymd(s, strlen(s), &y, &m, &d) != DATE_OK ||
        y < 1970) {
        errno = EINVAL;
        return -1;
    }
    *days = leash_days_from_civil(y, m, d);
    return 0;
}

long leash_today(void)
{
    static bool warned;
    const char *env = getenv("LEASH_TODAY");
    long days;
    time_t now;

    if (env != NULL && env[0] != '\0') {
        if (leash_parse_date(env, &days) == 0)
            return days;
        if (!warned) {
            fprintf(stderr, "leash: ignoring LEASH_TODAY=\"%s\": "
                    "not a date YYYY-MM-DD\n", env);
            warned = true;
        }
    }
    now = time(NULL);
    return (long)(now / 86400);
}

/* ------------------------------------------------------------------ */
/* Globs                                                                */
/* ------------------------------------------------------------------ */

/*
 * glibc's fnmatch reads a "[" that has no "]" as a literal "[", and an
 * unknown "[:class:]" as a set that matches nothing, without an error. A
 * glob like "pool[1" would then never match what its author meant, and the
 * entry would sit unused. So globs are checked here, strictly, at load.
 */

static const char *const char_classes[] = {
    "alnum", "alpha", "blank", "cntrl", "digit", "graph",
    "lower", "print", "punct", "space", "upper", "xdigit",
};

/* p follows "[:"; return what follows ":]", or NULL with *why. */
static const char *skip_class(const char *p, const char **why)
{
    const char *end = strstr(p, ":]");
    size_t i, n;

    if (end == NULL) {
        *why = "\"[:\" without its \":]\"";
        return NULL;
    }
    n = (size_t)(end - p);
    for (i = 0; i < sizeof char_classes / sizeof char_classes[0]; i++) {
        if (strlen(char_classes[i]) == n &&
            memcmp(char_classes[i], p, n) == 0)
            return end + 2;
    }
    *why = "unknown character class";
    return NULL;
}

/* p follows a "["; return what follows its "]", or NULL with *why. */
static const char *skip_bracket(const char *p, const char **why)
{
    const char *first;

    if (*p == '!' || *p == '^')
        p++;
    first = p;
    if (*p == ']')
        p++;            /* a "]" right after "[" is a member */
    for (;;) {
        switch (*p) {
        case '\0':
            *why = "unbalanced '['";
            return NULL;
        case ']':
            return p + 1;
        case '\\':
            if (p[1] == '\0') {
                *why = "unbalanced '['";
                return NULL;
            }
            p += 2;
            break;
        case '-':
            if (p != first && p[1] == '[' && p[2] == ':') {
                *why = "a range cannot end with a character class";
                return NULL;
            }
            p++;
            break;
        case '[':
            if (p[1] == ':') {
                p = skip_class(p + 2, why);
                if (p == NULL)
                    return NULL;
            } else if (p[1] == '.' || p[1] == '=') {
                *why = "\"[.\" and \"[=\" are not supported in a set";
                return NULL;
            } else
                p++;
            break;
        default:
            p++;
        }
    }
}

/* NULL when glob is accepted, else why it is not. */
static const char *glob_problem(const char *glob)
{
    const char *p = glob, *why = NULL;

    while (*p != '\0') {
        if (*p == '\\') {
            if (p[1] == '\0')
                return "it ends with a lone backslash";
            p += 2;
        } else if (*p == '[') {
            p = skip_bracket(p + 1, &why);
            if (p == NULL)
                return why;
        } else
            p++;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Reading                                                              */
/* ------------------------------------------------------------------ */

struct reader {
    yaml_parser_t yp;
    yaml_event_t ev;        /* the current event, when have_ev */
    bool have_ev;
    bool failed;            /* err holds the first error */
    const char *name;
    const unsigned char *buf;
    size_t len;
    char *err;
    size_t errlen;
    leash_allowlist_t *al;
    char shown[80];         /* a value quoted for a message */
};

static bool fail_at(struct reader *r, size_t line, size_t col,
                    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record the first error as "name:line:col: message"; returns false. */
static bool fail_at(struct reader *r, size_t line, size_t col,
                    const char *fmt, ...)
{
    va_list ap;
    int n;

    if (r->failed || r->err == NULL || r->errlen == 0) {
        r->failed = true;
        return false;
    }
    r->failed = true;
    n = snprintf(r->err, r->errlen, "%s:%zu:%zu: ", r->name, line + 1,
                 col + 1);
    if (n < 0 || (size_t)n >= r->errlen)
        return false;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

#define fail(r, mark, ...) fail_at((r), (mark).line, (mark).column, \
                                   __VA_ARGS__)

static bool out_of_memory(struct reader *r)
{
    if (!r->failed)
        set_error(r->err, r->errlen, "%s: out of memory", r->name);
    r->failed = true;
    return false;
}

/*
 * libyaml reports an encoding error as a byte offset, not a mark. Count
 * lines and characters up to it as libyaml's marks do: a BOM is not a
 * column, and CR LF, CR, LF, NEL, LS and PS each end a line.
 */
static yaml_mark_t mark_of_offset(const unsigned char *b, size_t len,
                                  size_t off)
{
    yaml_mark_t m = { 0, 0, 0 };
    size_t i = 0;

    if (off > len)
        off = len;
    if (off >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (; i < off; i++) {
        if (b[i] == '\r' && i + 1 < off && b[i + 1] == '\n')
            continue;
        if (b[i] == '\n' || b[i] == '\r' ||
            (b[i] == 0xC2 && i + 1 < off && b[i + 1] == 0x85) ||
            (b[i] == 0xE2 && i + 2 < off && b[i + 1] == 0x80 &&
             (b[i + 2] == 0xA8 || b[i + 2] == 0xA9))) {
            m.line++;
            m.column = 0;
        } else if ((b[i] & 0xC0) != 0x80)
            m.column++;
    }
    return m;
}

/* Turn libyaml's error into ours. */
static bool syntax_error(struct reader *r)
{
    yaml_parser_t *yp = &r->yp;
    const char *problem = yp->problem ? yp->problem : "malformed YAML";
    yaml_mark_t m;

    switch (yp->error) {
    case YAML_MEMORY_ERROR:
        return out_of_memory(r);
    case YAML_READER_ERROR:
        m = mark_of_offset(r->buf, r->len, yp->problem_offset);
        if (yp->problem_value < 0)
            return fail(r, m, "%s", problem);
        return fail(r, m, "%s (0x%02X)", problem,
                    (unsigned)yp->problem_value);
    default:
        m = yp->problem_mark;
        if (yp->context == NULL)
            return fail(r, m, "syntax error: %s", problem);
        return fail(r, m, "syntax error: %s (%s at %zu:%zu)", problem,
                    yp->context, yp->context_mark.line + 1,
                    yp->context_mark.column + 1);
    }
}

/* Move to the next event. Aliases are refused here, once for all. */
static bool next(struct reader *r)
{
    if (r->have_ev) {
        yaml_event_delete(&r->ev);
        r->have_ev = false;
    }
    if (!yaml_parser_parse(&r->yp, &r->ev))
        return syntax_error(r);
    r->have_ev = true;
    if (r->ev.type == YAML_ALIAS_EVENT)
        return fail(r, r->ev.start_mark,
                    "aliases (*%s) are not supported; write the value out",
                    (const char *)r->ev.data.alias.anchor);
    return true;
}

/* libyaml produces events in a fixed grammar; anything else is a bug. */
static bool expect(struct reader *r, yaml_event_type_t type)
{
    if (r->ev.type == type)
        return true;
    return fail(r, r->ev.start_mark, "unexpected YAML event %d (expected %d)",
                (int)r->ev.type, (int)type);
}

static const char *scalar_value(const struct reader *r)
{
    return (const char *)r->ev.data.scalar.value;
}

static size_t scalar_len(const struct reader *r)
{
    return r->ev.data.scalar.length;
}

/* Whether the current event is a scalar that YAML reads as null. */
static bool is_null(const struct reader *r)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
    size_t i;

    if (r->ev.type != YAML_SCALAR_EVENT || r->ev.data.scalar.tag != NULL ||
        r->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    for (i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
        if (strlen(nulls[i]) == scalar_len(r) &&
            memcmp(nulls[i], scalar_value(r), scalar_len(r)) == 0)
            return true;
    }
    return false;
}

/* Quote s for a message, cut to a readable length. */
static const char *quoted(struct reader *r, const char *s, size_t n)
{
    struct sbuf b;

    sb_init(&b, r->shown, sizeof r->shown);
    sb_puts(&b, "\"");
    if (!sb_escaped(&b, s, n, true, 40))
        sb_puts(&b, "...");
    sb_puts(&b, "\"");
    return r->shown;
}

/* What the current event is, for "... found X" in messages. */
static const char *found(struct reader *r)
{
    switch (r->ev.type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_SCALAR_EVENT:
        if (is_null(r))
            return scalar_len(r) == 0 ? "nothing" : "null";
        return quoted(r, scalar_value(r), scalar_len(r));
    default:
        return "the end of a collection";
    }
}

/* The explicit tag of the current node, or NULL. */
static const char *tag_of(const struct reader *r)
{
    switch (r->ev.type) {
    case YAML_SCALAR_EVENT:
        return (const char *)r->ev.data.scalar.tag;
    case YAML_SEQUENCE_START_EVENT:
        return (const char *)r->ev.data.sequence_start.tag;
    case YAML_MAPPING_START_EVENT:
        return (const char *)r->ev.data.mapping_start.tag;
    default:
        return NULL;
    }
}

/* A node may carry no tag or the core tag of what it is; else an error. */
static bool check_tag(struct reader *r, const char *ok1, const char *ok2)
{
    static const char core[] = "tag:yaml.org,2002:";
    const char *tag = tag_of(r);
    struct sbuf b;

    if (tag == NULL || (ok1 != NULL && strcmp(tag, ok1) == 0) ||
        (ok2 != NULL && strcmp(tag, ok2) == 0))
        return true;
    /* Show core tags as they are usually written. */
    sb_init(&b, r->shown, sizeof r->shown);
    if (strncmp(tag, core, sizeof core - 1) == 0) {
        sb_puts(&b, "!!");
        tag += sizeof core - 1;
    }
    if (!sb_escaped(&b, tag, strlen(tag), false, 40))
        sb_puts(&b, "...");
    return fail(r, r->ev.start_mark, "unexpected tag %s", r->shown);
}

/* "a, b or c" (with last = " or ") from keys[0..n), for messages. */
static const char *key_list(char *buf, size_t len, const char *const *keys,
                            int n, const char *last)
{
    struct sbuf b;
    int i;

    sb_init(&b, buf, len);
    for (i = 0; i < n; i++) {
        if (i > 0)
            sb_puts(&b, i == n - 1 ? last : ", ");
        sb_puts(&b, keys[i]);
    }
    return buf;
}

/*
 * The current event is a key of a mapping in `where` whose keys are
 * keys[0..n). Find its index, refusing unknown and repeated keys; seen[k]
 * keeps the 1-based line of each key met so far.
 */
static bool read_key(struct reader *r, const char *const *keys, int n,
                     const char *where, size_t *seen, int *k)
{
    char list[160];
    int i;

    if (r->ev.type != YAML_SCALAR_EVENT)
        return fail(r, r->ev.start_mark, "a key %s must be a name, "
                    "found %s", where, found(r));
    if (!check_tag(r, YAML_STR_TAG, NULL))
        return false;
    for (i = 0; i < n; i++) {
        if (strlen(keys[i]) == scalar_len(r) &&
            memcmp(keys[i], scalar_value(r), scalar_len(r)) == 0)
            break;
    }
    if (i == n)
        return fail(r, r->ev.start_mark, "unknown key %s %s; the keys "
                    "are %s", quoted(r, scalar_value(r), scalar_len(r)),
                    where, key_list(list, sizeof list, keys, n, " and "));
    if (seen[i] != 0)
        return fail(r, r->ev.start_mark, "duplicate key \"%s\" "
                    "(first on line %zu)", keys[i], seen[i]);
    seen[i] = r->ev.start_mark.line + 1;
    *k = i;
    return true;
}

/* The current event must be a string for key; *out gets a copy. */
static bool read_string(struct reader *r, const char *key, char **out)
{
    if (r->ev.type != YAML_SCALAR_EVENT || is_null(r))
        return fail(r, r->ev.start_mark, "\"%s\" must be a string, "
                    "found %s", key, found(r));
    if (!check_tag(r, YAML_STR_TAG, NULL))
        return false;
    if (scalar_len(r) == 0)
        return fail(r, r->ev.start_mark, "\"%s\" must not be empty", key);
    /* A double-quoted "\0" puts a NUL inside the value. */
    if (memchr(scalar_value(r), '\0', scalar_len(r)) != NULL)
        return fail(r, r->ev.start_mark, "\"%s\" contains a NUL character",
                    key);
    *out = strndup(scalar_value(r), scalar_len(r));
    if (*out == NULL)
        return out_of_memory(r);
    return true;
}

/*
 * The current event must be a plain decimal integer >= min. Leading zeros
 * are refused: YAML 1.1 reads "010" as octal 8.
 */
static bool read_int(struct reader *r, const char *key, long min, long *out)
{
    const char *s;
    size_t i, n;
    long v = 0;

    if (r->ev.type != YAML_SCALAR_EVENT || is_null(r))
        return fail(r, r->ev.start_mark, "\"%s\" must be an integer, "
                    "found %s", key, found(r));
    if (!check_tag(r, YAML_INT_TAG, NULL))
        return false;
    if (r->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return fail(r, r->ev.start_mark, "\"%s\" must be an integer "
                    "without quotes, found %s", key, found(r));
    s = scalar_value(r);
    n = scalar_len(r);
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || (i == 0 && s[i] == '0' && n > 1))
            break;
    }
    if (i < n || n == 0) {
        if (n > 0 && s[0] == '-')
            return fail(r, r->ev.start_mark, "\"%s\" must be at least %ld, "
                        "found %s", key, min, found(r));
        return fail(r, r->ev.start_mark, "\"%s\" must be a decimal "
                    "integer, found %s", key, found(r));
    }
    for (i = 0; i < n; i++) {
        if (v > (LONG_MAX - (s[i] - '0')) / 10)
            return fail(r, r->ev.start_mark, "\"%s\" is too large: %s",
                        key, found(r));
        v = v * 10 + (s[i] - '0');
    }
    if (v < min)
        return fail(r, r->ev.start_mark, "\"%s\" must be at least %ld, "
                    "found %ld", key, min, v);
    *out = v;
    return true;
}

/* The current event must be a date YYYY-MM-DD. */
static bool read_date(struct reader *r, const char *key, long *out)
{
    int y, m, d;

    if (r->ev.type != YAML_SCALAR_EVENT || is_null(r))
        return fail(r, r->ev.start_mark, "\"%s\" must be a date "
                    "YYYY-MM-DD, found %s", key, found(r));
    if (!check_tag(r, YAML_TIMESTAMP_TAG, YAML_STR_TAG))
        return false;
    switch (parse_ymd(scalar_value(r), scalar_len(r), &y, &m, &d)) {
    case DATE_FORM:
        return fail(r, r->ev.start_mark, "\"%s\" must be a date "
                    "YYYY-MM-DD, found %s", key, found(r));
    case DATE_NONE:
        return fail(r, r->ev.start_mark, "\"%s\": there is no such date "
                    "as %s", key, found(r));
    case DATE_OK:
        break;
    }
    if (y < MIN_EXPIRY_YEAR)
        return fail(r, r->ev.start_mark, "\"%s\": the year must be %d or "
                    "later, found %s", key, MIN_EXPIRY_YEAR, found(r));
    *out = leash_days_from_civil(y, m, d);
    return true;
}

/*
 * Every wait a subject can have: the runtime's wait reasons, then what the
 * harness gives strict mode's goroutines that wait on nothing (their
 * state). A wait glob must match one of them.
 */
static const char *const known_waits[] = {
    "chan receive", "chan send", "chan receive (nil chan)",
    "chan send (nil chan)", "select", "select (no cases)",
    "sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock",
    "sync.WaitGroup.Wait", "sync.Cond.Wait", "sleep",
    "runnable", "running", "sleeping", "waiting",
};

static bool matches_a_wait(const char *glob)
{
    size_t i;

    for (i = 0; i < sizeof known_waits / sizeof known_waits[0]; i++)
        if (fnmatch(glob, known_waits[i], 0) == 0)
            return true;
    return false;
}

/* Whether glob has a '/' or a wildcard, so that it may match a test's
 * "suite/name"; an escaped character counts as itself. */
static bool may_match_a_test(const char *glob)
{
    const char *p;

    for (p = glob; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        else if (*p == '*' || *p == '?' || *p == '[')
            return true;
        if (*p == '/')
            return true;
    }
    return false;
}

/* A matcher's glob: a string that glob_problem accepts, and for wait and
 * test, one that can match something. */
static bool read_glob(struct reader *r, const char *key, char **out)
{
    yaml_mark_t at = r->ev.start_mark;
    const char *why;
    char list[400];
    struct sbuf b;
    size_t i;

    if (!read_string(r, key, out))
        return false;
    why = glob_problem(*out);
    if (why != NULL)
        return fail(r, at, "\"%s\": bad glob %s: %s", key,
                    quoted(r, *out, strlen(*out)), why);
    if (strcmp(key, "wait") == 0 && !matches_a_wait(*out)) {
        sb_init(&b, list, sizeof list);
        for (i = 0; i < sizeof known_waits / sizeof known_waits[0]; i++) {
            sb_puts(&b, i > 0 ? ", " : "");
            sb_puts(&b, known_waits[i]);
        }
        return fail(r, at, "wait pattern %s matches no wait reason "
                    "(known: %s)", quoted(r, *out, strlen(*out)), list);
    }
    if (strcmp(key, "test") == 0 && !may_match_a_test(*out))
        return fail(r, at, "test pattern %s matches no test: test names "
                    "are suite/name (put the suite, or \"*/\" for any, "
                    "in front)", quoted(r, *out, strlen(*out)));
    return true;
}

/* A reason must say something: blank is refused as well as empty. */
static bool read_reason(struct reader *r, char **out)
{
    yaml_mark_t at = r->ev.start_mark;

    if (!read_string(r, "reason", out))
        return false;
    if ((*out)[strspn(*out, " \t\r\n")] == '\0')
        return fail(r, at, "\"reason\" must not be blank");
    return true;
}

/* Append a zeroed entry to r->al. */
static struct entry *new_entry(struct reader *r)
{
    leash_allowlist_t *al = r->al;
    struct entry *v;
    size_t cap;

    if (al->n == (size_t)INT_MAX) {
        fail(r, r->ev.start_mark, "too many entries");
        return NULL;
    }
    if (al->n == al->cap) {
        cap = al->cap ? 2 * al->cap : 8;
        v = realloc(al->v, cap * sizeof *v);
        if (v == NULL) {
            out_of_memory(r);
            return NULL;
        }
        al->v = v;
        al->cap = cap;
    }
    memset(&al->v[al->n], 0, sizeof al->v[0]);
    return &al->v[al->n++];
}

static bool same_matchers(const struct entry *a, const struct entry *b)
{
    int m;

    for (m = 0; m < M_COUNT; m++) {
        if ((a->match[m] == NULL) != (b->match[m] == NULL))
            return false;
        if (a->match[m] != NULL && strcmp(a->match[m], b->match[m]) != 0)
            return false;
    }
    return true;
}

/* After an entry's last key: what every entry needs, and no twins. */
static bool check_entry(struct reader *r, const struct entry *e,
                        yaml_mark_t start)
{
    char list[160];
    size_t i;
    int m;

    if (e->reason == NULL)
        return fail(r, start, "this allow entry has no \"reason\"");
    for (m = 0; m < M_COUNT && e->match[m] == NULL; m++)
        ;
    if (m == M_COUNT)
        return fail(r, start, "this allow entry has no matcher; give at "
                    "least one of %s",
                    key_list(list, sizeof list, entry_keys, M_COUNT,
                             " or "));
    for (i = 0; i + 1 < r->al->n; i++) {
        if (same_matchers(&r->al->v[i], e))
            return fail(r, start, "this allow entry has the same matchers "
                        "as the one on line %d", r->al->v[i].line);
    }
    return true;
}

/* The current event starts one entry of the allow list. */
static bool read_entry(struct reader *r)
{
    const char *where = "in an allow entry";
    yaml_mark_t start = r->ev.start_mark;
    size_t seen[K_COUNT] = { 0 };
    struct entry *e;
    bool ok;
    int k;

    if (r->ev.type != YAML_MAPPING_START_EVENT)
        return fail(r, start, "an allow entry must be a mapping with a "
                    "reason and matchers, found %s", found(r));
    if (!check_tag(r, YAML_MAP_TAG, NULL))
        return false;
    e = new_entry(r);
    if (e == NULL)
        return false;
    e->line = (int)(start.line + 1 < INT_MAX ? start.line + 1 : INT_MAX);
    for (;;) {
        if (!next(r))
            return false;
        if (r->ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (!read_key(r, entry_keys, K_COUNT, where, seen, &k) || !next(r))
            return false;
        if (k < M_COUNT)
            ok = read_glob(r, entry_keys[k], &e->match[k]);
        else if (k == K_REASON)
            ok = read_reason(r, &e->reason);
        else if (k == K_MAX)
            ok = read_int(r, "max", 1, &e->max);
        else
            ok = read_date(r, "expires", &e->expires);
        if (!ok)
            return false;
    }
    return check_entry(r, e, start);
}

static bool read_allow(struct reader *r)
{
    if (r->ev.type != YAML_SEQUENCE_START_EVENT)
        return fail(r, r->ev.start_mark, "\"allow\" must be a list of "
                    "entries (\"allow: []\" for none), found %s", found(r));
    if (!check_tag(r, YAML_SEQ_TAG, NULL))
        return false;
    for (;;) {
        if (!next(r))
            return false;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT)
            return true;
        if (!read_entry(r))
            return false;
    }
}

static bool read_version(struct reader *r)
{
    yaml_mark_t at = r->ev.start_mark;
    long v;

    if (!read_int(r, "version", 1, &v))
        return false;
    if (v != 1)
        return fail(r, at, "unsupported version %ld: this leash reads "
                    "version 1", v);
    return true;
}

/* The current event starts the document's top node. */
static bool read_top(struct reader *r)
{
    const char *where = "at the top level";
    yaml_mark_t start = r->ev.start_mark;
    size_t seen[T_COUNT] = { 0 };
    int k;

    if (r->ev.type != YAML_MAPPING_START_EVENT)
        return fail(r, start, "the top level must be a mapping with "
                    "\"version\" and \"allow\", found %s", found(r));
    if (!check_tag(r, YAML_MAP_TAG, NULL))
        return false;
    for (;;) {
        if (!next(r))
            return false;
        if (r->ev.type == YAML_MAPPING_END_EVENT)
            break;
        if (!read_key(r, top_keys, T_COUNT, where, seen, &k) || !next(r))
            return false;
        if (!(k == T_VERSION ? read_version(r) : read_allow(r)))
            return false;
    }
    if (seen[T_VERSION] == 0)
        return fail(r, start, "missing \"version: 1\"");
    if (seen[T_ALLOW] == 0)
        return fail(r, start, "missing \"allow\" (\"allow: []\" for none)");
    return true;
}

/* stream-start, document-start, top node, document-end, stream-end. */
static bool read_stream(struct reader *r)
{
    if (!next(r) || !expect(r, YAML_STREAM_START_EVENT) || !next(r))
        return false;
    if (r->ev.type == YAML_STREAM_END_EVENT)
        return fail_at(r, 0, 0, "the file has no content; it needs "
                       "\"version: 1\" and an \"allow\" list");
    if (!expect(r, YAML_DOCUMENT_START_EVENT) || !next(r) || !read_top(r))
        return false;
    if (!next(r) || !expect(r, YAML_DOCUMENT_END_EVENT) || !next(r))
        return false;
    if (r->ev.type == YAML_DOCUMENT_START_EVENT)
        return fail(r, r->ev.start_mark, "a second YAML document; the "
                    "allowlist must be a single document");
    return expect(r, YAML_STREAM_END_EVENT);
}

static void free_entries(leash_allowlist_t *al)
{
    size_t i;
    int m;

    for (i = 0; i < al->n; i++) {
        for (m = 0; m < M_COUNT; m++)
            free(al->v[i].match[m]);
        free(al->v[i].reason);
    }
    free(al->v);
}

void leash_allowlist_free(leash_allowlist_t *al)
{
    if (al == NULL)
        return;
    free_entries(al);
    free(al->file);
    free(al);
}

leash_allowlist_t *leash_allowlist_parse(const char *name, const char *buf,
                                         size_t len, char *err,
                                         size_t errlen)
{
    struct reader r;
    bool ok;

    memset(&r, 0, sizeof r);
    r.name = name != NULL ? name : "<allowlist>";
    r.buf = (const unsigned char *)(buf != NULL ? buf : "");
    r.len = buf != NULL ? len : 0;
    r.err = err;
    r.errlen = errlen;
    set_error(err, errlen, "%s", "");

    /* libyaml would read UTF-16 happily, but our columns assume UTF-8. */
    if (r.len >= 2 && ((r.buf[0] == 0xFF && r.buf[1] == 0xFE) ||
                       (r.buf[0] == 0xFE && r.buf[1] == 0xFF))) {
        fail_at(&r, 0, 0, "the file is UTF-16; save it as UTF-8");
        return NULL;
    }
    r.al = calloc(1, sizeof *r.al);
    if (r.al == NULL || (r.al->file = strdup(r.name)) == NULL) {
        out_of_memory(&r);
        leash_allowlist_free(r.al);
        return NULL;
    }
    if (!yaml_parser_initialize(&r.yp)) {
        out_of_memory(&r);
        leash_allowlist_free(r.al);
        return NULL;
    }
    yaml_parser_set_input_string(&r.yp, r.buf, r.len);
    ok = read_stream(&r);
    if (r.have_ev)
        yaml_event_delete(&r.ev);
    yaml_parser_delete(&r.yp);
    if (!ok) {
        leash_allowlist_free(r.al);
        return NULL;
    }
    return r.al;
}

/* Read all of path into a malloc'd buffer; -1 with errno on failure. */
static int read_file(const char *path, char **out, size_t *outlen)
{
    size_t len = 0, cap = 4096;
    char *buf = NULL, *nb;
    ssize_t got;
    int fd, saved;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    for (;;) {
        if (buf == NULL || len == cap) {
            cap = buf == NULL ? cap : 2 * cap;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                errno = ENOMEM;
                goto failed;
            }
            buf = nb;
        }
        got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            goto failed;
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    *out = buf;
    *outlen = len;
    return 0;

failed:
    saved = errno;
    free(buf);
    close(fd);
    errno = saved;
    return -1;
}

leash_allowlist_t *leash_allowlist_load(const char *path, char *err,
                                        size_t errlen)
{
    leash_allowlist_t *al;
    char *buf;
    size_t len;

    if (read_file(path, &buf, &len) != 0) {
        set_error(err, errlen, "%s: cannot read: %s", path,
                  strerror(errno));
        return NULL;
    }
    al = leash_allowlist_parse(path, buf, len, err, errlen);
    free(buf);
    return al;
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */
/* ------------------------------------------------------------------ */

/* A missing value matches no glob. */
static bool glob_match(const char *glob, const char *s)
{
    return s != NULL && fnmatch(glob, s, 0) == 0;
}

static bool any_match(const char *glob, const char *const *v, size_t n)
{
    size_t i;

    if (v == NULL)
        return false;
    for (i = 0; i < n; i++) {
        if (glob_match(glob, v[i]))
            return true;
    }
    return false;
}

/* Every matcher the entry has must match; absent ones do not count. */
static bool entry_matches(const struct entry *e,
                          const leash_allow_subject_t *s)
{
    char *const *m = e->match;
    const char *top = NULL;

    if (s->nframes > 0 && s->frame_funcs != NULL)
        top = s->frame_funcs[0];
    return (m[M_ENTRY] == NULL || glob_match(m[M_ENTRY], s->entry)) &&
           (m[M_TOP] == NULL || glob_match(m[M_TOP], top)) &&
           (m[M_FRAME] == NULL ||
            any_match(m[M_FRAME], s->frame_funcs, s->nframes)) &&
           (m[M_CREATOR] == NULL || glob_match(m[M_CREATOR], s->creator)) &&
           (m[M_WAIT] == NULL || glob_match(m[M_WAIT], s->wait_reason)) &&
           (m[M_FILE] == NULL ||
            any_match(m[M_FILE], s->frame_files, s->nframes)) &&
           (m[M_TEST] == NULL || glob_match(m[M_TEST], s->test));
}

static enum leash_allow_verdict decide(leash_allowlist_t *al, size_t i,
                                       enum leash_allow_verdict v,
                                       int *entry_index)
{
    al->v[i].total++;
    if (v == LEASH_ALLOW_OK)
        al->v[i].count++;
    if (entry_index != NULL)
        *entry_index = (int)i;
    return v;
}

enum leash_allow_verdict leash_allowlist_match(leash_allowlist_t *al,
                                               const leash_allow_subject_t *s,
                                               long today, int *entry_index)
{
    size_t i, expired = SIZE_MAX, over = SIZE_MAX;
    const struct entry *e;

    if (entry_index != NULL)
        *entry_index = -1;
    if (al == NULL || s == NULL)
        return LEASH_ALLOW_NONE;
    for (i = 0; i < al->n; i++) {
        e = &al->v[i];
        if (!entry_matches(e, s))
            continue;
        if (e->expires != 0 && today > e->expires) {
            if (expired == SIZE_MAX)
                expired = i;
        } else if (e->max != 0 && e->count >= e->max) {
            if (over == SIZE_MAX)
                over = i;
        } else
            return decide(al, i, LEASH_ALLOW_OK, entry_index);
    }
    /* A live entry that ran out says more than a dead one. */
    if (over != SIZE_MAX)
        return decide(al, over, LEASH_ALLOW_OVER_MAX, entry_index);
    if (expired != SIZE_MAX)
        return decide(al, expired, LEASH_ALLOW_EXPIRED, entry_index);
    return LEASH_ALLOW_NONE;
}

void leash_allowlist_reset_counts(leash_allowlist_t *al)
{
    size_t i;

    if (al == NULL)
        return;
    for (i = 0; i < al->n; i++)
        al->v[i].count = 0;
}

size_t leash_allowlist_count(const leash_allowlist_t *al)
{
    return al != NULL ? al->n : 0;
}

void leash_allowlist_entry(const leash_allowlist_t *al, size_t i,
                           leash_allow_entry_info_t *out)
{
    const struct entry *e;

    memset(out, 0, sizeof *out);
    if (al == NULL || i >= al->n)
        return;
    e = &al->v[i];
    out->reason = e->reason;
    out->file = al->file;
    out->line = e->line;
    out->expires = e->expires;
    out->max = e->max;
    out->total_matches = e->total;
}

void leash_allowlist_describe(const leash_allowlist_t *al, size_t i,
                              char *buf, size_t len)
{
    const struct entry *e;
    struct sbuf b;
    int m;

    sb_init(&b, buf, len);
    if (al == NULL || i >= al->n)
        return;
    e = &al->v[i];
    for (m = 0; m < M_COUNT; m++) {
        if (e->match[m] == NULL)
            continue;
        if (b.len > 0)
            sb_puts(&b, " ");
        sb_puts(&b, entry_keys[m]);
        sb_puts(&b, "=");
        sb_escaped(&b, e->match[m], strlen(e->match[m]), false, SIZE_MAX);
    }
}

/* ------------------------------------------------------------------ */
/* Finding the file                                                     */
/* ------------------------------------------------------------------ */

#define ALLOWLIST_NAME "leash-allow.yaml"

char *leash_allowlist_find(void)
{
    const char *env = getenv("LEASH_ALLOWLIST");
    char *dir, *path = NULL, *slash;
    struct stat st;

    if (env != NULL)
        return strdup(env);
    dir = getcwd(NULL, 0);
    if (dir == NULL)
        return NULL;
    for (;;) {
        /* dir is absolute: "/" or "/a/b" without a trailing slash. */
        if (asprintf(&path, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
                     ALLOWLIST_NAME) < 0) {
            path = NULL;
            break;
        }
        if (stat(path, &st) == 0)
            break;
        free(path);
        path = NULL;
        slash = strrchr(dir, '/');
        if (slash == NULL || strcmp(dir, "/") == 0)
            break;
        slash[slash == dir] = '\0';
    }
    free(dir);
    return path;
}
