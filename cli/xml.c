/*
 * Reading Criterion's --xml output (JUnit style): which tests ran and how
 * each ended, so that a test that crashed or timed out, and so wrote no
 * leak report, is not mistaken for a clean one.
 *
 * The reader is a small scanner for the XML that Criterion 2.4 writes,
 * not a general XML parser: elements, attributes, comments, processing
 * instructions, CDATA and character references. It is lenient where
 * Criterion is sloppy (failure messages are copied unescaped into CDATA,
 * and a stray "<" in text is kept as text) and strict where it matters:
 * a file that is not UTF-8, one that ends inside an element (truncated),
 * a root other than <testsuites> (a foreign file) and mismatched tags are
 * errors, each with file:line:column.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "text.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct scan {
    const char *path;
    const char *buf;
    size_t len, pos;
    bool failed;
    char *stack[MAX_DEPTH];     /* open elements */
    int depth;
    bool seen_root;
    const char *tag;            /* the start tag being read, or NULL */
    char *suite;                /* the <testsuite> we are in */
    long testcase;              /* index in run->xml_tests, or -1 */
    struct lc_run *run;
    size_t cap;
};

static void where(const struct scan *s, size_t pos, int *line, int *col)
{
    size_t i;

    *line = 1;
    *col = 1;
    for (i = 0; i < pos && i < s->len; i++) {
        if (s->buf[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static void fail(struct scan *s, size_t pos, const char *what,
                 const char *detail)
{
    int line, col;

    if (s->failed)
        return;
    s->failed = true;
    where(s, pos, &line, &col);
    lc_error("%s:%d:%d: %s%s%s", s->path, line, col, what,
             detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

static void truncated(struct scan *s)
{
    char *msg;

    if (s->tag != NULL)
        msg = lc_xasprintf("the file ends inside the tag <%s", s->tag);
    else if (s->depth > 0)
        msg = lc_xasprintf("the file ends inside <%s>",
                           s->stack[s->depth - 1]);
    else
        msg = lc_xstrdup("the file ends inside a tag");
    fail(s, s->len, "truncated XML", msg);
    free(msg);
}

/* Find end (a C string) from s->pos; position after it, or truncation. */
static bool skip_past(struct scan *s, const char *end)
{
    const char *p = memmem(s->buf + s->pos, s->len - s->pos, end,
                           strlen(end));

    if (p == NULL) {
        truncated(s);
        return false;
    }
    s->pos = (size_t)(p - s->buf) + strlen(end);
    return true;
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' ||
           c == ':';
}

static char *read_name(struct scan *s)
{
    size_t start = s->pos;

    while (s->pos < s->len && name_char(s->buf[s->pos]))
        s->pos++;
    return strndup(s->buf + start, s->pos - start);
}

static void skip_space(struct scan *s)
{
    while (s->pos < s->len && isspace((unsigned char)s->buf[s->pos]))
        s->pos++;
}

/* Decode the character references of an attribute value. */
static char *decode(const char *p, size_t n)
{
    char *out = lc_xmalloc(n + 1), *o = out;
    size_t i = 0;

    while (i < n) {
        static const struct { const char *name; char c; } ents[] = {
            { "lt;", '<' }, { "gt;", '>' }, { "amp;", '&' },
            { "quot;", '"' }, { "apos;", '\'' },
        };
        size_t k;

        if (p[i] != '&') {
            *o++ = p[i++];
            continue;
        }
        for (k = 0; k < sizeof ents / sizeof ents[0]; k++) {
            size_t m = strlen(ents[k].name);

            if (n - i - 1 >= m && strncmp(p + i + 1, ents[k].name, m) == 0) {
                *o++ = ents[k].c;
                i += m + 1;
                break;
            }
        }
        if (k < sizeof ents / sizeof ents[0])
            continue;
        if (i + 2 < n && p[i + 1] == '#') {
            char *end;
            long c = p[i + 2] == 'x' ? strtol(p + i + 3, &end, 16)
                                     : strtol(p + i + 2, &end, 10);

            /* Criterion writes only ASCII references (&#10;). */
            if (end < p + n && *end == ';' && c > 0 && c < 128) {
                *o++ = (char)c;
                i = (size_t)(end - p) + 1;
                continue;
            }
        }
        *o++ = p[i++];
    }
    *o = '\0';
    return out;
}

/* Attributes of the tag being read, name and value pairs. */
struct attrs {
    char *names[16], *values[16];
    int n;
};

static const char *attr(const struct attrs *a, const char *name)
{
    int i;

    for (i = 0; i < a->n; i++)
        if (strcmp(a->names[i], name) == 0)
            return a->values[i];
    return NULL;
}

static void free_attrs(struct attrs *a)
{
    int i;

    for (i = 0; i < a->n; i++) {
        free(a->names[i]);
        free(a->values[i]);
    }
    a->n = 0;
}

/* Read attributes up to ">" or "/>"; *empty tells which. */
static bool read_attrs(struct scan *s, struct attrs *a, bool *empty)
{
    for (;;) {
        char *name, quote;
        size_t start, at;

        skip_space(s);
        if (s->pos >= s->len) {
            truncated(s);
            return false;
        }
        if (s->buf[s->pos] == '>') {
            s->pos++;
            *empty = false;
            return true;
        }
        if (s->buf[s->pos] == '/' && s->pos + 1 < s->len &&
            s->buf[s->pos + 1] == '>') {
            s->pos += 2;
            *empty = true;
            return true;
        }
        at = s->pos;
        name = read_name(s);
        if (name == NULL || name[0] == '\0') {
            free(name);
            fail(s, at, "invalid XML", "an attribute name was expected");
            return false;
        }
        skip_space(s);
        if (s->pos >= s->len || s->buf[s->pos] != '=') {
            free(name);
            if (s->pos >= s->len)
                truncated(s);
            else
                fail(s, s->pos, "invalid XML", "\"=\" was expected");
            return false;
        }
        s->pos++;
        skip_space(s);
        if (s->pos >= s->len ||
            (s->buf[s->pos] != '"' && s->buf[s->pos] != '\'')) {
            free(name);
            if (s->pos >= s->len)
                truncated(s);
            else
                fail(s, s->pos, "invalid XML", "a quoted value was "
                     "expected");
            return false;
        }
        quote = s->buf[s->pos++];
        start = s->pos;
        while (s->pos < s->len && s->buf[s->pos] != quote)
            s->pos++;
        if (s->pos >= s->len) {
            free(name);
            truncated(s);
            return false;
        }
        if (a->n < 16) {
            a->names[a->n] = name;
            a->values[a->n] = decode(s->buf + start, s->pos - start);
            a->n++;
        } else {
            free(name);
        }
        s->pos++;
    }
}

static enum lc_xml_status status_of(const char *st)
{
    if (st == NULL || strcmp(st, "PASSED") == 0)
        return LC_XML_PASSED;
    if (strcmp(st, "FAILED") == 0)
        return LC_XML_FAILED;
    if (strcmp(st, "SKIPPED") == 0)
        return LC_XML_SKIPPED;
    /* ERRORED, and anything newer: never take it for a pass. */
    return LC_XML_ERRORED;
}

static void start_element(struct scan *s, const char *name,
                          const struct attrs *a, size_t at)
{
    struct lc_run *run = s->run;
    const char *parent = s->depth > 0 ? s->stack[s->depth - 1] : NULL;

    if (parent == NULL) {
        if (strcmp(name, "testsuites") != 0) {
            char *why = lc_xasprintf("the root element is <%s>, not "
                                     "Criterion's <testsuites>", name);

            fail(s, at, "not a Criterion XML report", why);
            free(why);
        }
        s->seen_root = true;
        return;
    }
    if (strcmp(name, "testsuite") == 0 && strcmp(parent, "testsuites") == 0) {
        const char *sname = attr(a, "name");

        free(s->suite);
        s->suite = lc_xstrdup(sname != NULL ? sname : "?");
    } else if (strcmp(name, "testcase") == 0 &&
               strcmp(parent, "testsuite") == 0) {
        struct lc_xml_test *t;
        const char *tname = attr(a, "name");

        if (run->nxml_tests == s->cap)
            run->xml_tests = lc_xrealloc(run->xml_tests,
                                         (s->cap = s->cap * 2 + 16) *
                                             sizeof *run->xml_tests);
        t = &run->xml_tests[run->nxml_tests];
        t->suite = lc_xstrdup(s->suite != NULL ? s->suite : "?");
        t->name = lc_xstrdup(tname != NULL ? tname : "?");
        t->status = status_of(attr(a, "status"));
        t->xml_path = lc_xstrdup(s->path);
        s->testcase = (long)run->nxml_tests++;
    } else if (s->testcase >= 0 && strcmp(parent, "testcase") == 0) {
        struct lc_xml_test *t = &run->xml_tests[s->testcase];
        const char *type = attr(a, "type");

        if (strcmp(name, "error") == 0) {
            t->status = LC_XML_ERRORED;
            if (type != NULL && strcmp(type, "crash") == 0)
                t->status = LC_XML_CRASHED;
            else if (type != NULL && strcmp(type, "timeout") == 0)
                t->status = LC_XML_TIMED_OUT;
        } else if (strcmp(name, "failure") == 0 &&
                   t->status == LC_XML_FAILED) {
            const char *msg = attr(a, "message");

            /* Criterion's words for a test process that ended with no
             * assertion failed: it exited or was killed mid-body. */
            if (msg != NULL && strncmp(msg, "0 assertion(s)", 14) == 0)
                t->status = LC_XML_EXITED;
        } else if (strcmp(name, "skipped") == 0 &&
                   t->status == LC_XML_PASSED) {
            t->status = LC_XML_SKIPPED;
        }
    }
}

static void end_element(struct scan *s, const char *name)
{
    if (strcmp(name, "testcase") == 0)
        s->testcase = -1;
}

/* One markup construct at s->pos, which is at "<". */
static void markup(struct scan *s)
{
    size_t at = s->pos;
    const char *p = s->buf + s->pos;
    size_t left = s->len - s->pos;
    struct attrs a = { .n = 0 };
    bool empty;
    char *name;

    if (left >= 4 && strncmp(p, "<!--", 4) == 0) {
        s->pos += 4;
        skip_past(s, "-->");
        return;
    }
    if (left >= 9 && strncmp(p, "<![CDATA[", 9) == 0) {
        s->pos += 9;
        skip_past(s, "]]>");
        return;
    }
    if (left >= 2 && (p[1] == '?' || p[1] == '!')) {
        s->pos += 2;
        skip_past(s, p[1] == '?' ? "?>" : ">");
        return;
    }
    if (left >= 2 && p[1] == '/') {
        s->pos += 2;
        name = read_name(s);
        skip_space(s);
        if (s->pos >= s->len) {
            free(name);
            truncated(s);
            return;
        }
        if (s->buf[s->pos] != '>' || s->depth == 0 ||
            strcmp(name, s->stack[s->depth - 1]) != 0) {
            char *why = s->depth > 0
                            ? lc_xasprintf("</%s> closes <%s>", name,
                                           s->stack[s->depth - 1])
                            : lc_xasprintf("</%s> closes nothing", name);

            fail(s, at, "invalid XML", why);
            free(why);
            free(name);
            return;
        }
        s->pos++;
        end_element(s, name);
        free(name);
        free(s->stack[--s->depth]);
        return;
    }
    if (left < 2 || !(isalpha((unsigned char)p[1]) || p[1] == '_')) {
        /* A "<" that starts no tag: Criterion's unescaped text. */
        s->pos++;
        return;
    }
    if (s->depth == 0 && s->seen_root) {
        fail(s, at, "invalid XML", "a second root element");
        return;
    }
    s->pos++;
    name = read_name(s);
    s->tag = name;
    if (!read_attrs(s, &a, &empty)) {
        s->tag = NULL;
        free(name);
        free_attrs(&a);
        return;
    }
    s->tag = NULL;
    start_element(s, name, &a, at);
    free_attrs(&a);
    if (empty) {
        end_element(s, name);
        free(name);
        return;
    }
    if (s->depth == MAX_DEPTH) {
        fail(s, at, "invalid XML", "elements nested too deep");
        free(name);
        return;
    }
    s->stack[s->depth++] = name;
}

int lc_load_xml(struct lc_run *run, const char *path)
{
    struct scan s = { .path = path, .testcase = -1, .run = run };
    FILE *f = fopen(path, "rb");
    size_t cap = 65536, got, bad;
    char *buf;

    if (f == NULL) {
        lc_error("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    buf = lc_xmalloc(cap);
    while ((got = fread(buf + s.len, 1, cap - s.len, f)) > 0) {
        s.len += got;
        if (s.len == cap)
            buf = lc_xrealloc(buf, cap *= 2);
    }
    fclose(f);
    s.buf = buf;
    s.cap = run->nxml_tests;

    /* XML is UTF-8 here: names and messages go on into other outputs. */
    bad = leash__utf8_bad(buf, s.len);
    if (bad < s.len) {
        char detail[96];

        snprintf(detail, sizeof detail, "byte 0x%02X is not part of a "
                 "UTF-8 character", (unsigned char)buf[bad]);
        fail(&s, bad, "not a UTF-8 XML file", detail);
    }

    while (!s.failed) {
        const char *lt = memchr(s.buf + s.pos, '<', s.len - s.pos);

        if (lt == NULL)
            break;
        s.pos = (size_t)(lt - s.buf);
        markup(&s);
    }
    if (!s.failed) {
        size_t i;
        bool text = false;

        for (i = 0; i < s.len; i++)
            text |= !isspace((unsigned char)s.buf[i]);
        if (!text)
            lc_error("%s: empty file, not Criterion XML (did the test run "
                     "crash before Criterion wrote it?)", path);
        else if (!s.seen_root)
            lc_error("%s: not a Criterion XML report: no XML element in "
                     "it", path);
        else if (s.depth > 0)
            truncated(&s);
        s.failed = !text || !s.seen_root || s.depth > 0;
    }
    while (s.depth > 0)
        free(s.stack[--s.depth]);
    free(s.suite);
    free(buf);
    return s.failed ? -1 : 0;
}
