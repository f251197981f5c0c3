/*
 * The allowlist: every way a file can be wrong, the valid forms, matching,
 * expiry and max, finding the file, and the inputs the fuzzer once broke.
 *
 * Data files live in tests/allowlist/ and fuzz/regressions/, found
 * relative to this file (or to LEASH_SOURCE_DIR when the build defines it).
 * Each Criterion test runs in its own process, so chdir and setenv here do
 * not leak into other tests.
 */
#define _GNU_SOURCE
#include "allowlist.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/redirect.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A path under the source tree, from this file's own location. */
static char *src_path(const char *rel)
{
    char *path;
    int n;

#ifdef LEASH_SOURCE_DIR
    n = asprintf(&path, "%s/%s", LEASH_SOURCE_DIR, rel);
#else
    const char *slash = strrchr(__FILE__, '/');
    int dirlen = slash ? (int)(slash - __FILE__) : 1;

    n = asprintf(&path, "%.*s/../%s", dirlen, slash ? __FILE__ : ".", rel);
#endif
    cr_assert(n > 0);
    return path;
}

static leash_allowlist_t *parse_str(const char *yaml, char *err,
                                    size_t errlen)
{
    return leash_allowlist_parse("t.yaml", yaml, strlen(yaml), err, errlen);
}

static leash_allowlist_t *must_parse(const char *yaml)
{
    char err[512];
    leash_allowlist_t *al = parse_str(yaml, err, sizeof err);

    cr_assert_not_null(al, "unexpected error: %s", err);
    cr_assert_str_empty(err);
    return al;
}

/* ------------------------------------------------------------------ */
/* Malformed files                                                      */
/* ------------------------------------------------------------------ */

/*
 * Criterion may run each parameter in a fresh process, where pointers into
 * this one mean nothing: the texts live in the struct itself.
 */
struct bad_case {
    char yaml[128];
    size_t len;             /* 0: strlen(yaml) */
    char msg[384];          /* the exact message */
};

#define ENTRY_HEAD "version: 1\nallow:\n  - reason: x\n"

ParameterizedTestParameters(allowlist, malformed)
{
    static struct bad_case cases[] = {
        /* The document as a whole. */
        { "", 0, "t.yaml:1:1: the file has no content; it needs "
          "\"version: 1\" and an \"allow\" list" },
        { "# only a comment\n", 0, "t.yaml:1:1: the file has no content; "
          "it needs \"version: 1\" and an \"allow\" list" },
        { "- a\n", 0, "t.yaml:1:1: the top level must be a mapping with "
          "\"version\" and \"allow\", found a list" },
        { "just text\n", 0, "t.yaml:1:1: the top level must be a mapping "
          "with \"version\" and \"allow\", found \"just text\"" },
        { "---\n", 0, "t.yaml:2:1: the top level must be a mapping with "
          "\"version\" and \"allow\", found nothing" },
        { "version: 1\nallow: []\n---\nversion: 1\nallow: []\n", 0,
          "t.yaml:3:1: a second YAML document; the allowlist must be a "
          "single document" },
        { "version: 1\nallow: []\n--- 2\n", 0, "t.yaml:3:1: a second YAML "
          "document; the allowlist must be a single document" },
        { "version: 1\nallow: []\nextra: 1\n", 0, "t.yaml:3:1: unknown key "
          "\"extra\" at the top level; the keys are version and allow" },
        { "version: 1\nversion: 1\nallow: []\n", 0, "t.yaml:2:1: duplicate "
          "key \"version\" (first on line 1)" },
        { "{version: 1, allow: [], version: 1}", 0, "t.yaml:1:25: "
          "duplicate key \"version\" (first on line 1)" },
        { "? [a]\n: b\n", 0, "t.yaml:1:3: a key at the top level must be "
          "a name, found a list" },
        { "allow: []\n", 0, "t.yaml:1:1: missing \"version: 1\"" },
        { "version: 1\n", 0, "t.yaml:1:1: missing \"allow\" "
          "(\"allow: []\" for none)" },
        /* version */
        { "version: 2\nallow: []\n", 0, "t.yaml:1:10: unsupported version "
          "2: this leash reads version 1" },
        { "version: \"1\"\nallow: []\n", 0, "t.yaml:1:10: \"version\" must "
          "be an integer without quotes, found \"1\"" },
        { "version: 1.0\nallow: []\n", 0, "t.yaml:1:10: \"version\" must "
          "be a decimal integer, found \"1.0\"" },
        { "version: [1]\nallow: []\n", 0, "t.yaml:1:10: \"version\" must "
          "be an integer, found a list" },
        { "version: !!str 1\nallow: []\n", 0, "t.yaml:1:10: unexpected "
          "tag !!str" },
        /* allow */
        { "version: 1\nallow:\n", 0, "t.yaml:2:7: \"allow\" must be a list "
          "of entries (\"allow: []\" for none), found nothing" },
        { "version: 1\nallow: {}\n", 0, "t.yaml:2:8: \"allow\" must be a "
          "list of entries (\"allow: []\" for none), found a mapping" },
        { "version: 1\nallow: !!set []\n", 0, "t.yaml:2:8: unexpected "
          "tag !!set" },
        { "version: 1\nallow: [a, b]\n", 0, "t.yaml:2:9: an allow entry "
          "must be a mapping with a reason and matchers, found \"a\"" },
        { "version: 1\nallow:\n  - [a]\n", 0, "t.yaml:3:5: an allow entry "
          "must be a mapping with a reason and matchers, found a list" },
        /* entries */
        { "version: 1\nallow:\n  - entry: a\n", 0, "t.yaml:3:5: this allow "
          "entry has no \"reason\"" },
        { ENTRY_HEAD, 0, "t.yaml:3:5: this allow entry has no matcher; "
          "give at least one of entry, top, frame, creator, wait, file or "
          "test" },
        { "version: 1\nallow:\n  - {reason: x}\n", 0, "t.yaml:3:5: this "
          "allow entry has no matcher; give at least one of entry, top, "
          "frame, creator, wait, file or test" },
        { ENTRY_HEAD "    entry: a\n    entyr: b\n", 0, "t.yaml:5:5: "
          "unknown key \"entyr\" in an allow entry; the keys are entry, "
          "top, frame, creator, wait, file, test, reason, max and "
          "expires" },
        { ENTRY_HEAD "    file: \"*.c\"\n    file: \"*.h\"\n", 0,
          "t.yaml:5:5: duplicate key \"file\" (first on line 4)" },
        { ENTRY_HEAD "    entry: a\n    reason: y\n", 0, "t.yaml:5:5: "
          "duplicate key \"reason\" (first on line 3)" },
        { ENTRY_HEAD "    creator: f\n  - reason: y\n    creator: f\n"
          "    max: 3\n", 0, "t.yaml:5:5: this allow entry has the same "
          "matchers as the one on line 3" },
        { ENTRY_HEAD "    creator: f\n    wait: select\n  - reason: y\n"
          "    wait: select\n    creator: f\n", 0, "t.yaml:6:5: this allow "
          "entry has the same matchers as the one on line 3" },
        /* reason */
        { "version: 1\nallow:\n  - reason: \"\"\n    entry: a\n", 0,
          "t.yaml:3:13: \"reason\" must not be empty" },
        { "version: 1\nallow:\n  - reason: \" \\t\"\n    entry: a\n", 0,
          "t.yaml:3:13: \"reason\" must not be blank" },
        { "version: 1\nallow:\n  - reason: ~\n    entry: a\n", 0,
          "t.yaml:3:13: \"reason\" must be a string, found null" },
        { "version: 1\nallow:\n  - reason: [a]\n    entry: a\n", 0,
          "t.yaml:3:13: \"reason\" must be a string, found a list" },
        /* globs */
        { ENTRY_HEAD "    entry: \"a[b\"\n", 0, "t.yaml:4:12: \"entry\": "
          "bad glob \"a[b\": unbalanced '['" },
        { ENTRY_HEAD "    test: \"suite/[!a\"\n", 0, "t.yaml:4:11: "
          "\"test\": bad glob \"suite/[!a\": unbalanced '['" },
        { ENTRY_HEAD "    frame: \"[]\"\n", 0, "t.yaml:4:12: \"frame\": "
          "bad glob \"[]\": unbalanced '['" },
        { ENTRY_HEAD "    wait: \"[[:foo:]]\"\n", 0, "t.yaml:4:11: "
          "\"wait\": bad glob \"[[:foo:]]\": unknown character class" },
        { ENTRY_HEAD "    wait: \"[[:alpha]\"\n", 0, "t.yaml:4:11: "
          "\"wait\": bad glob \"[[:alpha]\": \"[:\" without its \":]\"" },
        { ENTRY_HEAD "    top: \"[[.a.]]\"\n", 0, "t.yaml:4:10: \"top\": "
          "bad glob \"[[.a.]]\": \"[.\" and \"[=\" are not supported in a "
          "set" },
        { ENTRY_HEAD "    top: \"[a-[:alpha:]]\"\n", 0, "t.yaml:4:10: "
          "\"top\": bad glob \"[a-[:alpha:]]\": a range cannot end with a "
          "character class" },
        { ENTRY_HEAD "    file: \"a\\\\\"\n", 0, "t.yaml:4:11: \"file\": "
          "bad glob \"a\\\": it ends with a lone backslash" },
        { ENTRY_HEAD "    wait: \"\"\n", 0, "t.yaml:4:11: \"wait\" must "
          "not be empty" },
        { ENTRY_HEAD "    wait:\n", 0, "t.yaml:4:10: \"wait\" must be a "
          "string, found nothing" },
        { ENTRY_HEAD "    frame: {a: b}\n", 0, "t.yaml:4:12: \"frame\" "
          "must be a string, found a mapping" },
        { ENTRY_HEAD "    entry: \"a\\0b\"\n", 0, "t.yaml:4:12: \"entry\" "
          "contains a NUL character" },
        /* globs that can never match */
        { ENTRY_HEAD "    wait: \"chan recieve\"\n", 0, "t.yaml:4:11: "
          "wait pattern \"chan recieve\" matches no wait reason (known: "
          "chan receive, chan send, chan receive (nil chan), chan send "
          "(nil chan), select, select (no cases), sync.Mutex.Lock, "
          "sync.RWMutex.RLock, sync.RWMutex.Lock, sync.WaitGroup.Wait, "
          "sync.Cond.Wait, sleep, runnable, running, sleeping, waiting)" },
        { ENTRY_HEAD "    wait: \"Chan*\"\n", 0, "t.yaml:4:11: wait "
          "pattern \"Chan*\" matches no wait reason (known: chan receive, "
          "chan send, chan receive (nil chan), chan send (nil chan), "
          "select, select (no cases), sync.Mutex.Lock, sync.RWMutex.RLock, "
          "sync.RWMutex.Lock, sync.WaitGroup.Wait, sync.Cond.Wait, sleep, "
          "runnable, running, sleeping, waiting)" },
        { ENTRY_HEAD "    test: idle_pool\n", 0, "t.yaml:4:11: test "
          "pattern \"idle_pool\" matches no test: test names are "
          "suite/name (put the suite, or \"*/\" for any, in front)" },
        { ENTRY_HEAD "    test: \"pool\\\\*\"\n", 0, "t.yaml:4:11: test "
          "pattern \"pool\\*\" matches no test: test names are "
          "suite/name (put the suite, or \"*/\" for any, in front)" },
        { ENTRY_HEAD "    top: !custom a\n", 0, "t.yaml:4:10: unexpected "
          "tag !custom" },
        /* max */
        { ENTRY_HEAD "    entry: a\n    max: 0\n", 0, "t.yaml:5:10: "
          "\"max\" must be at least 1, found 0" },
        { ENTRY_HEAD "    entry: a\n    max: -1\n", 0, "t.yaml:5:10: "
          "\"max\" must be at least 1, found \"-1\"" },
        { ENTRY_HEAD "    entry: a\n    max: two\n", 0, "t.yaml:5:10: "
          "\"max\" must be a decimal integer, found \"two\"" },
        { ENTRY_HEAD "    entry: a\n    max: 2.5\n", 0, "t.yaml:5:10: "
          "\"max\" must be a decimal integer, found \"2.5\"" },
        { ENTRY_HEAD "    entry: a\n    max: 010\n", 0, "t.yaml:5:10: "
          "\"max\" must be a decimal integer, found \"010\"" },
        { ENTRY_HEAD "    entry: a\n    max: \"2\"\n", 0, "t.yaml:5:10: "
          "\"max\" must be an integer without quotes, found \"2\"" },
        { ENTRY_HEAD "    entry: a\n    max: |\n      2\n", 0,
          "t.yaml:5:10: \"max\" must be an integer without quotes, found "
          "\"2\\n\"" },
        { ENTRY_HEAD "    entry: a\n    max: 99999999999999999999\n", 0,
          "t.yaml:5:10: \"max\" is too large: \"99999999999999999999\"" },
        /* expires */
        { ENTRY_HEAD "    entry: a\n    expires: 2027-02-30\n", 0,
          "t.yaml:5:14: \"expires\": there is no such date as "
          "\"2027-02-30\"" },
        { ENTRY_HEAD "    entry: a\n    expires: 2026-02-29\n", 0,
          "t.yaml:5:14: \"expires\": there is no such date as "
          "\"2026-02-29\"" },
        { ENTRY_HEAD "    entry: a\n    expires: 2027-13-01\n", 0,
          "t.yaml:5:14: \"expires\": there is no such date as "
          "\"2027-13-01\"" },
        { ENTRY_HEAD "    entry: a\n    expires: 2027-3-31\n", 0,
          "t.yaml:5:14: \"expires\" must be a date YYYY-MM-DD, found "
          "\"2027-3-31\"" },
        { ENTRY_HEAD "    entry: a\n    expires: 2027-03-31T00:00:00\n", 0,
          "t.yaml:5:14: \"expires\" must be a date YYYY-MM-DD, found "
          "\"2027-03-31T00:00:00\"" },
        { ENTRY_HEAD "    entry: a\n    expires: ~\n", 0, "t.yaml:5:14: "
          "\"expires\" must be a date YYYY-MM-DD, found null" },
        { ENTRY_HEAD "    entry: a\n    expires: 1999-12-31\n", 0,
          "t.yaml:5:14: \"expires\": the year must be 2000 or later, found "
          "\"1999-12-31\"" },
        /* YAML syntax and encoding */
        { "version: 1\nallow: [\n", 0, "t.yaml:3:1: syntax error: did not "
          "find expected node content (while parsing a flow node at 3:1)" },
        { ENTRY_HEAD "    entry: a\n   wait: b\n", 0, "t.yaml:5:4: syntax "
          "error: did not find expected '-' indicator (while parsing a "
          "block collection at 3:3)" },
        { "version: 1\nallow:\n  - reason: \"x\n", 0, "t.yaml:4:1: syntax "
          "error: found unexpected end of stream (while scanning a quoted "
          "scalar at 3:13)" },
        { "version: 1\nallow: []\n...\nfoo\n", 0, "t.yaml:4:1: syntax "
          "error: did not find expected <document start>" },
        { "%YAML 2.0\n---\nversion: 1\n", 0, "t.yaml:1:1: syntax error: "
          "found incompatible YAML document" },
        { ENTRY_HEAD "    entry: \xc3\xa9\xff\n", 0, "t.yaml:4:13: invalid "
          "leading UTF-8 octet (0xFF)" },
        { "\xef\xbb\xbfversion: 1\r\nallow: [\r\n \xe2\x80\xa8 a\xff]\n", 0,
          "t.yaml:4:3: invalid leading UTF-8 octet (0xFF)" },
        { "version: 1\nallow:\n  - reason: \x01x\n", 0, "t.yaml:3:13: "
          "control characters are not allowed (0x01)" },
        { "version: 1\nallow: []\0\n", 22, "t.yaml:2:10: control "
          "characters are not allowed (0x00)" },
        { "\xff\xfev\0e\0", 6, "t.yaml:1:1: the file is UTF-16; save it "
          "as UTF-8" },
        { "version: 1\nallow:\n  - &a {reason: x, entry: y}\n  - *a\n", 0,
          "t.yaml:4:5: aliases (*a) are not supported; write the value "
          "out" },
    };

    return cr_make_param_array(struct bad_case, cases,
                               sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *c, allowlist, malformed)
{
    size_t len = c->len ? c->len : strlen(c->yaml);
    char err[512];
    leash_allowlist_t *al;

    memset(err, 'X', sizeof err);
    al = leash_allowlist_parse("t.yaml", c->yaml, len, err, sizeof err);
    cr_assert_null(al, "accepted: %s", c->yaml);
    cr_expect_str_eq(err, c->msg, "for input:\n%s", c->yaml);
}

/* ------------------------------------------------------------------ */
/* Valid files                                                          */
/* ------------------------------------------------------------------ */

Test(allowlist, every_key_from_a_file)
{
    char *path = src_path("tests/allowlist/full.yaml");
    leash_allow_entry_info_t in;
    leash_allowlist_t *al;
    char err[512], d[256];

    al = leash_allowlist_load(path, err, sizeof err);
    cr_assert_not_null(al, "%s", err);
    cr_assert_eq(leash_allowlist_count(al), 4);

    leash_allowlist_entry(al, 0, &in);
    cr_expect_str_eq(in.reason, "vendor pool keeps one idle worker; fixed "
                     "upstream in 2.3");
    cr_expect_str_eq(in.file, path);
    cr_expect_eq(in.line, 4);
    cr_expect_eq(in.expires, leash_days_from_civil(2027, 3, 31));
    cr_expect_eq(in.expires, 20908);
    cr_expect_eq(in.max, 2);
    cr_expect_eq(in.total_matches, 0);
    leash_allowlist_describe(al, 0, d, sizeof d);
    cr_expect_str_eq(d, "entry=pool_worker* top=leash_chan_recv "
                     "frame=*vendor_* creator=pool_start wait=chan receive "
                     "file=*/vendor/*.c test=pool/*");

    leash_allowlist_entry(al, 1, &in);
    cr_expect_str_eq(in.reason, "the logger's flusher lives for the whole "
                     "process\n");
    cr_expect_eq(in.line, 15);
    cr_expect_eq(in.expires, 0);
    cr_expect_eq(in.max, 0);
    leash_allowlist_describe(al, 1, d, sizeof d);
    cr_expect_str_eq(d, "entry=log_flusher");

    leash_allowlist_entry(al, 2, &in);
    cr_expect_str_eq(in.reason, "flow style");
    cr_expect_eq(in.line, 20);
    leash_allowlist_describe(al, 2, d, sizeof d);
    cr_expect_str_eq(d, "wait=select (no cases) test=misc/*");

    leash_allowlist_entry(al, 3, &in);
    cr_expect_str_eq(in.reason, "quoted keys and a quoted date");
    cr_expect_eq(in.line, 22);
    cr_expect_eq(in.expires, leash_days_from_civil(2030, 1, 1));
    leash_allowlist_describe(al, 3, d, sizeof d);
    cr_expect_str_eq(d, "creator=[a-c]?_start");

    leash_allowlist_free(al);
    free(path);
}

Test(allowlist, bad_file_names_its_path)
{
    char *path = src_path("tests/allowlist/bad.yaml");
    char err[512], want[PATH_MAX + 128];

    cr_assert_null(leash_allowlist_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s:4:12: \"entry\": bad glob "
             "\"pool_worker[0-9\": unbalanced '['", path);
    cr_expect_str_eq(err, want);
    free(path);
}

Test(allowlist, empty_allow_list)
{
    leash_allowlist_t *al = must_parse("version: 1\nallow: []\n");
    leash_allow_subject_t s = { .test = "a/b", .entry = "f" };
    int idx = 7;

    cr_expect_eq(leash_allowlist_count(al), 0);
    cr_expect_eq(leash_allowlist_match(al, &s, 0, &idx), LEASH_ALLOW_NONE);
    cr_expect_eq(idx, -1);
    leash_allowlist_free(al);
}

Test(allowlist, yaml_forms_accepted)
{
    static const char *const ok[] = {
        /* document markers, directive, BOM, CRLF, comments */
        "%YAML 1.1\n---\nversion: 1\nallow: []\n...\n",
        "\xef\xbb\xbfversion: 1\r\nallow: []\r\n",
        "# head\nversion: 1 # one\nallow: [] # none\n# tail\n",
        /* order of keys, flow style, explicit core tags */
        "allow: []\nversion: 1\n",
        "{version: 1, allow: [{reason: r, entry: e}]}",
        "version: !!int 1\nallow: !!seq\n  - !!map\n    reason: !!str r\n"
        "    entry: e\n    expires: !!timestamp 2027-01-01\n",
        /* globs fnmatch takes as the writer means */
        "version: 1\nallow:\n  - reason: r\n    entry: \"[]]\"\n",
        "version: 1\nallow:\n  - reason: r\n    entry: \"[!]a]\"\n",
        "version: 1\nallow:\n  - reason: r\n    entry: \"[[:alpha:]_]*\"\n",
        "version: 1\nallow:\n  - reason: r\n    entry: \"a\\\\[b\"\n",
        "version: 1\nallow:\n  - reason: r\n    entry: \"[a-]\"\n",
        /* a leap day, a block scalar, a non-ASCII reason */
        "version: 1\nallow:\n  - reason: r\n    entry: e\n"
        "    expires: 2028-02-29\n",
        "version: 1\nallow:\n  - reason: |\n      two\n      lines\n"
        "    entry: e\n",
        "version: 1\nallow:\n  - reason: \"caf\xc3\xa9\"\n    entry: e\n",
        /* same matchers in a different order are different entries */
        "version: 1\nallow:\n  - {reason: r, entry: a}\n"
        "  - {reason: r, top: a}\n",
    };
    size_t i;

    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char err[512];
        leash_allowlist_t *al = parse_str(ok[i], err, sizeof err);

        cr_expect_not_null(al, "rejected:\n%s\nwith %s", ok[i], err);
        leash_allowlist_free(al);
    }
}

Test(allowlist, error_buffer_edges)
{
    const char *bad = "version: 3\nallow: []\n";
    char small[12], one[1];

    memset(small, 'X', sizeof small);
    cr_assert_null(parse_str(bad, small, sizeof small));
    cr_expect_str_eq(small, "t.yaml:1:10");
    one[0] = 'X';
    cr_assert_null(parse_str(bad, one, sizeof one));
    cr_expect_eq(one[0], '\0');
    cr_assert_null(parse_str(bad, NULL, 0));
    cr_assert_null(leash_allowlist_parse(NULL, NULL, 0, small,
                                         sizeof small));
    cr_expect_str_eq(small, "<allowlist>");
}

Test(allowlist, long_values_are_cut_in_messages)
{
    char err[512];

    cr_assert_null(parse_str(ENTRY_HEAD "    entry: \"0123456789012345678"
                             "9012345678901234567890123456789[\"\n",
                             err, sizeof err));
    cr_expect_str_eq(err, "t.yaml:4:12: \"entry\": bad glob \"012345678901"
                     "2345678901234567890123456789...\": unbalanced '['");
}

Test(allowlist, describe_escapes_and_truncates)
{
    leash_allowlist_t *al = must_parse(
        "version: 1\nallow:\n  - reason: r\n    entry: \"a\\tb\\nc\\x01\"\n"
        "    test: \"s/caf\xc3\xa9\"\n");
    char d[64];

    leash_allowlist_describe(al, 0, d, sizeof d);
    cr_expect_str_eq(d, "entry=a\\tb\\nc\\x01 test=s/caf\xc3\xa9");
    /* Never half an escape or half a character. */
    leash_allowlist_describe(al, 0, d, 9);
    cr_expect_str_eq(d, "entry=a");
    leash_allowlist_describe(al, 0, d, 30);
    cr_expect_str_eq(d, "entry=a\\tb\\nc\\x01 test=s/caf");
    leash_allowlist_describe(al, 0, d, 1);
    cr_expect_str_eq(d, "");
    leash_allowlist_describe(al, 1, d, sizeof d);
    cr_expect_str_eq(d, "");
    leash_allowlist_free(al);
}

Test(allowlist, entry_info_out_of_range)
{
    leash_allowlist_t *al = must_parse(ENTRY_HEAD "    entry: e\n");
    leash_allow_entry_info_t in;

    memset(&in, 0xAA, sizeof in);
    leash_allowlist_entry(al, 1, &in);
    cr_expect_null(in.reason);
    cr_expect_null(in.file);
    cr_expect_eq(in.line, 0);
    cr_expect_eq(in.total_matches, 0);
    cr_expect_eq(leash_allowlist_count(NULL), 0);
    leash_allowlist_free(al);
    leash_allowlist_free(NULL);
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */
/* ------------------------------------------------------------------ */

static const char *const funcs[] = {
    "leash_chan_recv", "vendor_pool_wait", "pool_worker_main",
};
static const char *const files[] = {
    "/src/runtime/chan.c", NULL, "/src/third/vendor/pool.c",
};

/* A goroutine parked in a vendor pool, started by pool_start. */
static leash_allow_subject_t subject(void)
{
    leash_allow_subject_t s = {
        .test = "pool/idle",
        .entry = "pool_worker_main",
        .creator = "pool_start",
        .wait_reason = "chan receive",
        .nframes = 3,
        .frame_funcs = funcs,
        .frame_files = files,
    };
    return s;
}

static enum leash_allow_verdict match_one(const char *matcher)
{
    char yaml[256];
    leash_allow_subject_t s = subject();
    leash_allowlist_t *al;
    enum leash_allow_verdict v;
    int idx;

    snprintf(yaml, sizeof yaml, ENTRY_HEAD "    %s\n", matcher);
    al = must_parse(yaml);
    v = leash_allowlist_match(al, &s, 0, &idx);
    cr_expect_eq(idx, v == LEASH_ALLOW_NONE ? -1 : 0, "%s", matcher);
    leash_allowlist_free(al);
    return v;
}

Test(allowlist, each_matcher)
{
    static const struct {
        const char *matcher;
        enum leash_allow_verdict want;
    } t[] = {
        { "entry: pool_worker_main", LEASH_ALLOW_OK },
        { "entry: pool_worker*", LEASH_ALLOW_OK },
        { "entry: pool_worker", LEASH_ALLOW_NONE },
        { "top: leash_chan_recv", LEASH_ALLOW_OK },
        { "top: vendor_pool_wait", LEASH_ALLOW_NONE },  /* not innermost */
        { "frame: vendor_pool_wait", LEASH_ALLOW_OK },
        { "frame: pool_worker_main", LEASH_ALLOW_OK },  /* outermost too */
        { "frame: \"*vendor_*\"", LEASH_ALLOW_OK },
        { "frame: nowhere", LEASH_ALLOW_NONE },
        { "creator: pool_start", LEASH_ALLOW_OK },
        { "creator: pool_stop", LEASH_ALLOW_NONE },
        { "wait: chan receive", LEASH_ALLOW_OK },
        { "wait: chan send", LEASH_ALLOW_NONE },
        { "wait: \"chan *\"", LEASH_ALLOW_OK },
        { "file: \"*/vendor/*.c\"", LEASH_ALLOW_OK },   /* third frame */
        { "file: \"*chan.c\"", LEASH_ALLOW_OK },
        { "file: \"*.h\"", LEASH_ALLOW_NONE },
        { "test: pool/idle", LEASH_ALLOW_OK },
        { "test: \"pool/*\"", LEASH_ALLOW_OK },
        { "test: \"*\"", LEASH_ALLOW_OK },
        { "test: \"pool/busy\"", LEASH_ALLOW_NONE },
        /* glob syntax: ? sets, classes, escapes; "*" crosses "/" */
        { "test: \"p??l/i*\"", LEASH_ALLOW_OK },
        { "test: \"[n-q]ool/idle\"", LEASH_ALLOW_OK },
        { "test: \"[!p]ool/idle\"", LEASH_ALLOW_NONE },
        { "test: \"[^p]ool/idle\"", LEASH_ALLOW_NONE },
        { "test: \"[[:lower:]]ool/idle\"", LEASH_ALLOW_OK },
        { "test: \"[[:upper:]]ool/idle\"", LEASH_ALLOW_NONE },
        { "test: \"\\\\pool/idle\"", LEASH_ALLOW_OK },
        { "test: \"pool/\\\\*\"", LEASH_ALLOW_NONE },
        { "file: \"/src*pool.c\"", LEASH_ALLOW_OK },
        { "entry: POOL_WORKER_MAIN", LEASH_ALLOW_NONE }, /* case matters */
    };
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++)
        cr_expect_eq(match_one(t[i].matcher), t[i].want, "%s",
                     t[i].matcher);
}

Test(allowlist, all_matchers_must_match)
{
    leash_allowlist_t *al = must_parse(
        "version: 1\nallow:\n"
        "  - reason: all seven\n    entry: pool_worker_main\n"
        "    top: leash_chan_recv\n    frame: vendor_pool_wait\n"
        "    creator: pool_start\n    wait: chan receive\n"
        "    file: \"*vendor*\"\n    test: pool/idle\n");
    leash_allow_subject_t s = subject();
    const char *other_funcs[] = { "leash_chan_recv", "x", "y" };
    const char *other_files[] = { NULL, NULL, "/src/other.c" };
    int idx;

    cr_expect_eq(leash_allowlist_match(al, &s, 0, &idx), LEASH_ALLOW_OK);
    cr_expect_eq(idx, 0);

    /* Changing any one attribute breaks the match. */
    s = subject();
    s.entry = "other";
    cr_expect_eq(leash_allowlist_match(al, &s, 0, &idx), LEASH_ALLOW_NONE);
    cr_expect_eq(idx, -1);
    s = subject();
    s.creator = "main";
    cr_expect_eq(leash_allowlist_match(al, &s, 0, NULL), LEASH_ALLOW_NONE);
    s = subject();
    s.wait_reason = "select";
    cr_expect_eq(leash_allowlist_match(al, &s, 0, NULL), LEASH_ALLOW_NONE);
    s = subject();
    s.test = "pool/busy";
    cr_expect_eq(leash_allowlist_match(al, &s, 0, NULL), LEASH_ALLOW_NONE);
    s = subject();
    s.frame_funcs = other_funcs;
    cr_expect_eq(leash_allowlist_match(al, &s, 0, NULL), LEASH_ALLOW_NONE);
    s = subject();
    s.frame_files = other_files;
    cr_expect_eq(leash_allowlist_match(al, &s, 0, NULL), LEASH_ALLOW_NONE);
    leash_allowlist_free(al);
}

Test(allowlist, missing_values_match_nothing)
{
    leash_allowlist_t *al = must_parse(
        "version: 1\nallow:\n"
        "  - {reason: r, creator: \"*\"}\n"
        "  - {reason: r, top: \"*\"}\n"
        "  - {reason: r, frame: \"*\"}\n"
        "  - {reason: r, file: \"*\"}\n");
    const char *no_files[] = { NULL, NULL, NULL };
    leash_allow_subject_t s = { .test = "t/t", .entry = "e",
                                .wait_reason = "select" };
    int idx;

    /* No creator, no frames. */
    cr_expect_eq(leash_allowlist_match(al, &s, 0, &idx), LEASH_ALLOW_NONE);
    /* Frames without files: top and frame match, file does not. */
    s.nframes = 3;
    s.frame_funcs = funcs;
    cr_expect_eq(leash_allowlist_match(al, &s, 0, &idx), LEASH_ALLOW_OK);
    cr_expect_eq(idx, 1);
    leash_allowlist_free(al);

    al = must_parse("version: 1\nallow:\n  - {reason: r, file: \"*\"}\n");
    s.frame_files = no_files;
    cr_expect_eq(leash_allowlist_match(al, &s, 0, NULL), LEASH_ALLOW_NONE);
    s.frame_files = files;
    cr_expect_eq(leash_allowlist_match(al, &s, 0, NULL), LEASH_ALLOW_OK);
    cr_expect_eq(leash_allowlist_match(NULL, &s, 0, &idx),
                 LEASH_ALLOW_NONE);
    cr_expect_eq(idx, -1);
    cr_expect_eq(leash_allowlist_match(al, NULL, 0, NULL),
                 LEASH_ALLOW_NONE);
    leash_allowlist_free(al);
}

Test(allowlist, max_counts_per_test)
{
    leash_allowlist_t *al = must_parse(
        ENTRY_HEAD "    entry: \"pool_*\"\n    max: 2\n");
    leash_allow_subject_t s = subject();
    leash_allow_entry_info_t in;
    int idx;

    cr_expect_eq(leash_allowlist_match(al, &s, 0, &idx), LEASH_ALLOW_OK);
    cr_expect_eq(leash_allowlist_match(al, &s, 0, &idx), LEASH_ALLOW_OK);
    cr_expect_eq(leash_allowlist_match(al, &s, 0, &idx),
                 LEASH_ALLOW_OVER_MAX);
    cr_expect_eq(idx, 0);
    cr_expect_eq(leash_allowlist_match(al, &s, 0, &idx),
                 LEASH_ALLOW_OVER_MAX);

    /* A new test starts with the full allowance again. */
    leash_allowlist_reset_counts(al);
    cr_expect_eq(leash_allowlist_match(al, &s, 0, &idx), LEASH_ALLOW_OK);
    cr_expect_eq(idx, 0);
    leash_allowlist_entry(al, 0, &in);
    cr_expect_eq(in.max, 2);
    cr_expect_eq(in.total_matches, 5);
    leash_allowlist_reset_counts(NULL);
    leash_allowlist_free(al);
}

Test(allowlist, first_live_entry_wins)
{
    leash_allowlist_t *al = must_parse(
        "version: 1\nallow:\n"
        "  - {reason: a, entry: \"pool_*\", max: 1}\n"
        "  - {reason: b, wait: \"chan *\", max: 1}\n"
        "  - {reason: c, test: \"pool/*\", expires: 2027-03-31}\n");
    leash_allow_subject_t s = subject();
    long day = leash_days_from_civil(2027, 3, 31);
    leash_allow_entry_info_t in;
    int idx;

    cr_expect_eq(leash_allowlist_match(al, &s, day, &idx), LEASH_ALLOW_OK);
    cr_expect_eq(idx, 0);
    cr_expect_eq(leash_allowlist_match(al, &s, day, &idx), LEASH_ALLOW_OK);
    cr_expect_eq(idx, 1);
    cr_expect_eq(leash_allowlist_match(al, &s, day, &idx), LEASH_ALLOW_OK);
    cr_expect_eq(idx, 2);
    cr_expect_eq(leash_allowlist_match(al, &s, day, &idx), LEASH_ALLOW_OK);
    cr_expect_eq(idx, 2);

    /* The day after, only the exhausted live entries are left. */
    cr_expect_eq(leash_allowlist_match(al, &s, day + 1, &idx),
                 LEASH_ALLOW_OVER_MAX);
    cr_expect_eq(idx, 0);

    /* In a new test the live entries allow again before the dead one. */
    leash_allowlist_reset_counts(al);
    cr_expect_eq(leash_allowlist_match(al, &s, day + 1, &idx),
                 LEASH_ALLOW_OK);
    cr_expect_eq(idx, 0);

    leash_allowlist_entry(al, 0, &in);
    cr_expect_eq(in.total_matches, 3);
    leash_allowlist_entry(al, 1, &in);
    cr_expect_eq(in.total_matches, 1);
    leash_allowlist_entry(al, 2, &in);
    cr_expect_eq(in.total_matches, 2);
    leash_allowlist_free(al);
}

Test(allowlist, expiry_boundary)
{
    leash_allowlist_t *al = must_parse(
        ENTRY_HEAD "    entry: \"pool_*\"\n    expires: 2027-03-31\n");
    leash_allow_subject_t s = subject();
    long last = leash_days_from_civil(2027, 3, 31);
    leash_allow_entry_info_t in;
    int idx;

    cr_expect_eq(leash_allowlist_match(al, &s, last - 1, &idx),
                 LEASH_ALLOW_OK);
    cr_expect_eq(leash_allowlist_match(al, &s, last, &idx), LEASH_ALLOW_OK);
    cr_expect_eq(idx, 0);
    cr_expect_eq(leash_allowlist_match(al, &s, last + 1, &idx),
                 LEASH_ALLOW_EXPIRED);
    cr_expect_eq(idx, 0);
    cr_expect_eq(leash_allowlist_match(al, &s, last + 400, &idx),
                 LEASH_ALLOW_EXPIRED);
    leash_allowlist_entry(al, 0, &in);
    cr_expect_eq(in.total_matches, 4);

    /* A goroutine the entry does not match is a plain leak. */
    s.entry = "other";
    cr_expect_eq(leash_allowlist_match(al, &s, last + 1, &idx),
                 LEASH_ALLOW_NONE);
    cr_expect_eq(idx, -1);
    leash_allowlist_free(al);
}

Test(allowlist, expired_entries_do_not_count)
{
    leash_allowlist_t *al = must_parse(
        "version: 1\nallow:\n"
        "  - {reason: a, entry: \"pool_*\", expires: 2026-01-01}\n"
        "  - {reason: b, entry: \"*\", expires: 2026-06-30, max: 1}\n");
    leash_allow_subject_t s = subject();
    long jan2 = leash_days_from_civil(2026, 1, 2);
    long jul1 = leash_days_from_civil(2026, 7, 1);
    int idx;

    /* Entry 0 is dead on January 2nd; entry 1 takes over. */
    cr_expect_eq(leash_allowlist_match(al, &s, jan2, &idx), LEASH_ALLOW_OK);
    cr_expect_eq(idx, 1);
    cr_expect_eq(leash_allowlist_match(al, &s, jan2, &idx),
                 LEASH_ALLOW_OVER_MAX);
    cr_expect_eq(idx, 1);
    /* Both dead: the first expired one is named. */
    cr_expect_eq(leash_allowlist_match(al, &s, jul1, &idx),
                 LEASH_ALLOW_EXPIRED);
    cr_expect_eq(idx, 0);
    leash_allowlist_free(al);
}

/* ------------------------------------------------------------------ */
/* Dates                                                                */
/* ------------------------------------------------------------------ */

Test(allowlist, days_from_civil_agrees_with_timegm)
{
    static const int dates[][3] = {
        { 1970, 1, 1 }, { 1970, 12, 31 }, { 1972, 2, 29 }, { 1999, 12, 31 },
        { 2000, 2, 29 }, { 2000, 3, 1 }, { 2024, 2, 29 }, { 2027, 3, 31 },
        { 2100, 2, 28 }, { 2100, 3, 1 }, { 2400, 2, 29 }, { 9999, 12, 31 },
        { 1969, 12, 31 }, { 1900, 3, 1 }, { 1, 1, 1 },
    };
    size_t i;

    for (i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        struct tm tm = { .tm_year = dates[i][0] - 1900,
                         .tm_mon = dates[i][1] - 1, .tm_mday = dates[i][2] };
        long want = (long)(timegm(&tm) / 86400);

        cr_expect_eq(leash_days_from_civil(dates[i][0], dates[i][1],
                                           dates[i][2]), want,
                     "%04d-%02d-%02d", dates[i][0], dates[i][1],
                     dates[i][2]);
    }
    cr_expect_eq(leash_days_from_civil(1970, 1, 1), 0);
    cr_expect_eq(leash_days_from_civil(2027, 3, 31), 20908);
    /* Months out of range carry into the year. */
    cr_expect_eq(leash_days_from_civil(2026, 13, 1),
                 leash_days_from_civil(2027, 1, 1));
    cr_expect_eq(leash_days_from_civil(2027, 0, 1),
                 leash_days_from_civil(2026, 12, 1));
    cr_expect_eq(leash_days_from_civil(2027, -11, 1),
                 leash_days_from_civil(2026, 1, 1));
}

Test(allowlist, parse_date)
{
    static const char *const bad[] = {
        "", "2027-3-31", "2027-03-31 ", "2027/03/31", "2027-02-29",
        "2027-04-31", "2027-00-10", "2027-01-00", "1969-12-31", "12345-01-01",
        "+027-01-01", "2027-0a-01",
    };
    long d = 42;
    size_t i;

    cr_expect_eq(leash_parse_date("2027-03-31", &d), 0);
    cr_expect_eq(d, 20908);
    cr_expect_eq(leash_parse_date("1970-01-01", &d), 0);
    cr_expect_eq(d, 0);
    cr_expect_eq(leash_parse_date("2024-02-29", &d), 0);
    cr_expect_eq(d, 19782);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = 42;
        errno = 0;
        cr_expect_eq(leash_parse_date(bad[i], &d), -1, "%s", bad[i]);
        cr_expect_eq(errno, EINVAL);
        cr_expect_eq(d, 42);
    }
    cr_expect_eq(leash_parse_date(NULL, &d), -1);
}

Test(allowlist, today, .init = cr_redirect_stderr)
{
    long now = (long)(time(NULL) / 86400);
    long t;

    setenv("LEASH_TODAY", "2027-04-01", 1);
    cr_expect_eq(leash_today(), 20909);
    unsetenv("LEASH_TODAY");
    t = leash_today();
    cr_expect(t == now || t == now + 1);

    /* A bad value falls back to the clock, and says so once. */
    setenv("LEASH_TODAY", "tomorrow", 1);
    t = leash_today();
    cr_expect(t == now || t == now + 1);
    t = leash_today();
    cr_expect(t == now || t == now + 1);
    fflush(stderr);
    cr_expect_stderr_eq_str("leash: ignoring LEASH_TODAY=\"tomorrow\": not "
                            "a date YYYY-MM-DD\n");
}

/* ------------------------------------------------------------------ */
/* Finding and reading the file                                         */
/* ------------------------------------------------------------------ */

/* A fresh directory with its real path (so getcwd agrees with it). */
static char *temp_dir(void)
{
    char tmpl[] = "/tmp/leash-allow-test-XXXXXX";
    char *real;

    cr_assert_not_null(mkdtemp(tmpl));
    real = realpath(tmpl, NULL);
    cr_assert_not_null(real);
    return real;
}

static char *join(const char *a, const char *b)
{
    char *p;

    cr_assert(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

static void touch(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

Test(allowlist, find_uses_the_environment)
{
    char *p;

    setenv("LEASH_ALLOWLIST", "/no/such/dir/allow.yaml", 1);
    p = leash_allowlist_find();
    cr_expect_str_eq(p, "/no/such/dir/allow.yaml");
    free(p);

    /* Set but empty still wins, and fails at load. */
    setenv("LEASH_ALLOWLIST", "", 1);
    p = leash_allowlist_find();
    cr_expect_str_eq(p, "");
    free(p);
}

Test(allowlist, find_searches_upward)
{
    char *top = temp_dir(), *a = join(top, "a"), *b = join(a, "b");
    char *c = join(b, "c"), *in_a = join(a, "leash-allow.yaml");
    char *in_c = join(c, "leash-allow.yaml"), *p;

    unsetenv("LEASH_ALLOWLIST");
    cr_assert_eq(mkdir(a, 0700), 0);
    cr_assert_eq(mkdir(b, 0700), 0);
    cr_assert_eq(mkdir(c, 0700), 0);
    touch(in_a, "version: 1\nallow: []\n");
    cr_assert_eq(chdir(c), 0);

    p = leash_allowlist_find();
    cr_expect_str_eq(p, in_a);
    free(p);

    /* The nearest one wins. */
    touch(in_c, "version: 1\nallow: []\n");
    p = leash_allowlist_find();
    cr_expect_str_eq(p, in_c);
    free(p);

    unlink(in_c);
    unlink(in_a);
    rmdir(c);
    rmdir(b);
    rmdir(a);
    rmdir(top);
    free(in_c);
    free(in_a);
    free(c);
    free(b);
    free(a);
    free(top);
}

Test(allowlist, find_nothing)
{
    char *top = temp_dir();

    if (access("/tmp/leash-allow.yaml", F_OK) == 0 ||
        access("/leash-allow.yaml", F_OK) == 0) {
        rmdir(top);
        cr_skip_test("a leash-allow.yaml above /tmp exists");
    }
    unsetenv("LEASH_ALLOWLIST");
    cr_assert_eq(chdir(top), 0);
    cr_expect_null(leash_allowlist_find());
    rmdir(top);
    free(top);
}

Test(allowlist, unreadable_files)
{
    char *top = temp_dir(), *locked = join(top, "locked.yaml");
    char err[PATH_MAX + 128], want[PATH_MAX + 128];

    cr_expect_null(leash_allowlist_load("/no/such/allow.yaml", err,
                                        sizeof err));
    cr_expect_str_eq(err, "/no/such/allow.yaml: cannot read: No such file "
                     "or directory");

    cr_expect_null(leash_allowlist_load(top, err, sizeof err));
    snprintf(want, sizeof want, "%s: cannot read: Is a directory", top);
    cr_expect_str_eq(err, want);

    /* root reads anything; the permission case needs another user. */
    touch(locked, "version: 1\nallow: []\n");
    chmod(locked, 0);
    if (geteuid() != 0) {
        cr_expect_null(leash_allowlist_load(locked, err, sizeof err));
        snprintf(want, sizeof want, "%s: cannot read: Permission denied",
                 locked);
        cr_expect_str_eq(err, want);
    }
    unlink(locked);
    rmdir(top);
    free(locked);
    free(top);
}

Test(allowlist, load_a_large_file)
{
    char *top = temp_dir(), *path = join(top, "big.yaml");
    FILE *f = fopen(path, "w");
    char err[512];
    leash_allowlist_t *al;
    int i;

    /* Larger than any one read, so the buffer has to grow. */
    cr_assert_not_null(f);
    fputs("version: 1\nallow:\n", f);
    for (i = 0; i < 3000; i++)
        fprintf(f, "  - reason: \"number %d\"\n    entry: \"f%d_*\"\n", i, i);
    fclose(f);
    al = leash_allowlist_load(path, err, sizeof err);
    cr_assert_not_null(al, "%s", err);
    cr_expect_eq(leash_allowlist_count(al), 3000);
    leash_allowlist_free(al);
    unlink(path);
    rmdir(top);
    free(path);
    free(top);
}

/* ------------------------------------------------------------------ */
/* Fuzzer regressions                                                   */
/* ------------------------------------------------------------------ */

/* Whatever the input, the result is an allowlist or a located error. */
static void check_sane(const char *path)
{
    char err[1024], d[256];
    leash_allow_subject_t s = subject();
    leash_allow_entry_info_t in;
    leash_allowlist_t *al;
    size_t i, plen = strlen(path);
    unsigned line, col;

    al = leash_allowlist_load(path, err, sizeof err);
    if (al == NULL) {
        cr_expect(strncmp(err, path, plen) == 0 && err[plen] == ':',
                  "%s: error does not name the file: %s", path, err);
        cr_expect(sscanf(err + plen, ":%u:%u: ", &line, &col) == 2 &&
                  line >= 1 && col >= 1, "%s: no line:column: %s", path,
                  err);
        return;
    }
    for (i = 0; i < leash_allowlist_count(al); i++) {
        leash_allowlist_entry(al, i, &in);
        cr_expect(in.reason != NULL && in.reason[0] != '\0');
        cr_expect(in.line >= 1);
        leash_allowlist_describe(al, i, d, sizeof d);
        cr_expect(d[0] != '\0');
    }
    leash_allowlist_match(al, &s, 0, NULL);
    leash_allowlist_free(al);
}

Test(allowlist, fuzz_regressions)
{
    char *dir = src_path("fuzz/regressions");
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        char *path;

        if (de->d_name[0] == '.')
            continue;
        path = join(dir, de->d_name);
        check_sane(path);
        free(path);
        n++;
    }
    closedir(d);
    cr_expect_gt(n, 0, "no files in %s", dir);
    free(dir);
}
