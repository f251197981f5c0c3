/*
 * The harness (harness/harness.c, include/leash/harness.h) seen from
 * outside: each test runs one of the helper suites of tests/harness/ in a
 * subprocess, as CI would, and checks its exit status and what it printed
 * and wrote against golden files in tests/harness/golden/.
 *
 * Before the comparison, what varies between machines and runs is
 * normalized: the source, build and temporary directories become SRC,
 * BUILD and TMP, addresses 0xADDR, durations T, and line numbers in files
 * outside tests/harness/ and examples/ (the runtime's, which others edit)
 * N. Line numbers in the helper suites stay, so a golden also checks that
 * a failure points at the test's own line.
 *
 * LEASH_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing;
 * on a mismatch the actual output is left in BUILD/tests/harness/actual/
 * for a diff.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "text.h"

#ifndef HARNESS_BIN_DIR
#error "tests/harness/CMakeLists.txt defines HARNESS_BIN_DIR and friends"
#endif

#define GOLDEN_DIR HARNESS_SRC_DIR "/golden"
#define ACTUAL_DIR HARNESS_BIN_DIR "/actual"
#define TODAY "2026-01-15"

/* ---- Running a helper -------------------------------------------- */

struct run {
    int status;      /* exit status, or 128 + signal */
    char *out;       /* stdout and stderr together, NUL-terminated */
    double seconds;
};

/* The environment a helper gets: nothing of ours or of Criterion's
 * sandbox (BXFI_MAP would make it believe it is a sandboxed test). */
static const char *const passed_through[] = {
    "PATH", "HOME", "LD_LIBRARY_PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS",
    "LSAN_OPTIONS", NULL,
};

/*
 * Run the helper bin with args (NULL-terminated) in directory cwd with
 * extra environment variables envs ("NAME=value", NULL-terminated).
 */
static struct run run_in(const char *cwd, const char *bin,
                         const char *const *args, const char *const *envs)
{
    const char *argv[32], *envp[32];
    char *owned[16];
    struct run r = { 0, NULL, 0 };
    struct timespec t0, t1;
    size_t len = 0, cap = 65536;
    int fds[2], st, i, n = 0, no = 0;
    ssize_t got;
    pid_t pid;

    argv[0] = bin;
    for (i = 0; args[i] != NULL; i++)
        argv[i + 1] = args[i];
    argv[i + 1] = NULL;
    for (i = 0; passed_through[i] != NULL; i++) {
        const char *v = getenv(passed_through[i]);

        if (v != NULL &&
            asprintf(&owned[no], "%s=%s", passed_through[i], v) >= 0)
            envp[n++] = owned[no++];
    }
    envp[n++] = "LANG=C";
    for (i = 0; envs[i] != NULL; i++)
        envp[n++] = envs[i];
    envp[n] = NULL;

    r.out = malloc(cap);
    cr_assert_not_null(r.out);
    cr_assert_eq(pipe(fds), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        if (chdir(cwd) != 0)
            _exit(126);
        execve(bin, (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    close(fds[1]);
    while ((got = read(fds[0], r.out + len, cap - len - 1)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        cr_assert_gt(got, 0, "reading the helper's output: %s",
                     strerror(errno));
        len += (size_t)got;
        if (cap - len < 4096) {
            cap *= 2;
            r.out = realloc(r.out, cap);
            cr_assert_not_null(r.out);
        }
    }
    r.out[len] = '\0';
    close(fds[0]);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r.seconds = (double)(t1.tv_sec - t0.tv_sec) +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    for (i = 0; i < no; i++)
        free(owned[i]);
    return r;
}

/* A fresh temporary directory for one test; the test's cwd. */
static char *tmp_dir(void)
{
    char *d = strdup("/tmp/leash-th.XXXXXX");

    cr_assert_not_null(d);
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    return remove(path);
}

/* The test passed: remove its directory. A failed test keeps it. */
static void done(char *tmp)
{
    nftw(tmp, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(tmp);
}

static char *path_in(const char *dir, const char *name)
{
    char *p;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;
    FILE *m;
    int ch;

    cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
    m = open_memstream(&buf, &len);
    cr_assert_not_null(m);
    while ((ch = fgetc(f)) != EOF)
        fputc(ch, m);
    fclose(f);
    fclose(m);
    return buf;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

/* ---- Normalizing ------------------------------------------------- */

/* Replace every match of the extended regex re in s by rep, where \1..\9
 * in rep stand for groups. Result: malloc'd; s is freed. */
static char *subst(char *s, const char *re, const char *rep)
{
    regmatch_t m[10];
    regex_t rx;
    char *out = NULL;
    size_t len = 0;
    const char *p = s, *r;
    FILE *f;

    cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE), 0, "%s", re);
    f = open_memstream(&out, &len);
    cr_assert_not_null(f);
    while (*p != '\0' &&
           regexec(&rx, p, 10, m, p == s ? 0 : REG_NOTBOL) == 0) {
        if (m[0].rm_eo == 0) {
            fputc(*p++, f);
            continue;
        }
        fwrite(p, 1, (size_t)m[0].rm_so, f);
        for (r = rep; *r != '\0'; r++) {
            if (r[0] == '\\' && r[1] >= '1' && r[1] <= '9') {
                regmatch_t *g = &m[r[1] - '0'];

                if (g->rm_so >= 0)
                    fwrite(p + g->rm_so, 1, (size_t)(g->rm_eo - g->rm_so),
                           f);
                r++;
            } else {
                fputc(*r, f);
            }
        }
        p += m[0].rm_eo;
    }
    fputs(p, f);
    fclose(f);
    regfree(&rx);
    free(s);
    return out;
}

/* s with the regex metacharacters of a literal path escaped. */
static char *re_quote(const char *s)
{
    char *out = malloc(strlen(s) * 2 + 1), *o = out;

    cr_assert_not_null(out);
    for (; *s != '\0'; s++) {
        if (strchr(".[]()*+?{}|^$\\", *s) != NULL)
            *o++ = '\\';
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

/* Replace the literal dir, absolute or as Criterion prints it relative
 * to the working directory (../../dir), by name. */
static char *subst_dir(char *s, const char *dir, const char *name)
{
    char *q = re_quote(dir + 1), *re;

    cr_assert_geq(asprintf(&re, "(\\.\\./)*/?%s", q), 0);
    s = subst(s, re, name);
    free(re);
    free(q);
    return s;
}

/* The path of dir relative to from ("../../src"), both absolute. */
static char *relative_to(const char *from, const char *dir)
{
    size_t common = 0, i;
    char *out;
    FILE *f;
    size_t len;

    /* The longest common prefix ending at a directory boundary. */
    for (i = 0; from[i] != '\0' && from[i] == dir[i]; i++)
        if (from[i] == '/')
            common = i;
    if (from[i] == '\0' && (dir[i] == '/' || dir[i] == '\0'))
        common = i;
    f = open_memstream(&out, &len);
    cr_assert_not_null(f);
    for (i = common; from[i] != '\0'; i++)
        if (from[i] == '/')
            fputs("../", f);
    fputs(dir[common] == '/' ? dir + common + 1 : dir + common, f);
    fclose(f);
    return out;
}

/* dir as Criterion may print it from the working directory cwd. */
static char *subst_rel(char *s, const char *cwd, const char *dir,
                       const char *name)
{
    char *rel = relative_to(cwd, dir), *q, *re;

    if (rel[0] != '\0' && strncmp(rel, "../", 3) == 0) {
        q = re_quote(rel);
        cr_assert_geq(asprintf(&re, "%s/", q), 0);
        cr_assert_geq(asprintf(&q, "%s/", name), 0);
        s = subst(s, re, q);
        free(re);
        free(q);
    }
    free(rel);
    return s;
}

static char *normalize(const char *text, const char *tmp)
{
    char *s = strdup(text);

    cr_assert_not_null(s);
    s = subst_rel(s, tmp, LEASH_BIN_DIR, "BUILD");
    s = subst_rel(s, tmp, LEASH_SRC_DIR, "SRC");
    s = subst_dir(s, tmp, "TMP");
    s = subst_dir(s, LEASH_BIN_DIR, "BUILD");
    s = subst_dir(s, LEASH_SRC_DIR, "SRC");
    s = subst(s, "0x[0-9a-f]{5,}", "0xADDR");
    s = subst(s, "\\([0-9]+\\.[0-9]+s\\)", "(T)");
    s = subst(s, "time=\"[0-9.]+\"", "time=\"T\"");
    s = subst(s, "Criterion v[0-9.]+", "Criterion vX");
    s = subst(s, "(SRC/(runtime|harness|include)/[A-Za-z0-9_/]+\\.[chS]):"
                 "[0-9]+", "\\1:N");
    return s;
}

/* The same inside a JSON report: strings as text; durations, addresses,
 * and line numbers of frames outside the helpers zeroed. */
static void normalize_json(json_t *j, const char *tmp)
{
    const char *key;
    json_t *v;
    size_t i;

    if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            if (json_is_string(v)) {
                char *n = normalize(json_string_value(v), tmp);

                json_array_set_new(j, i, json_string(n));
                free(n);
            } else {
                normalize_json(v, tmp);
            }
        }
        return;
    }
    if (!json_is_object(j))
        return;
    json_object_foreach(j, key, v) {
        if (json_is_string(v)) {
            char *n = normalize(json_string_value(v), tmp);

            json_object_set_new(j, key, json_string(n));
            free(n);
        } else {
            normalize_json(v, tmp);
        }
    }
    if (json_object_get(j, "blocked_ms") != NULL)
        json_object_set_new(j, "blocked_ms", json_integer(0));
    if (json_is_string(json_object_get(j, "address")))
        json_object_set_new(j, "address", json_string("0xADDR"));
    if (json_is_string(json_object_get(j, "file")) &&
        json_is_integer(json_object_get(j, "line"))) {
        const char *f = json_string_value(json_object_get(j, "file"));

        if (strncmp(f, "SRC/tests/harness/", 18) != 0 &&
            strncmp(f, "SRC/examples/", 13) != 0)
            json_object_set_new(j, "line", json_integer(0));
    }
}

static char *normalize_report(const char *path, const char *tmp)
{
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    char *text;

    cr_assert_not_null(doc, "%s: not JSON: %s (line %d)", path, err.text,
                       err.line);
    normalize_json(doc, tmp);
    text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    cr_assert_not_null(text);
    json_decref(doc);
    return text;
}

/* ---- Golden files ------------------------------------------------ */

static void golden(const char *name, const char *actual)
{
    char *gpath = path_in(GOLDEN_DIR, name), *apath, *want;
    const char *update = getenv("LEASH_UPDATE_GOLDEN");

    if (update != NULL && strcmp(update, "1") == 0) {
        spit(gpath, actual);
        free(gpath);
        return;
    }
    want = slurp(gpath);
    if (strcmp(want, actual) != 0) {
        mkdir(ACTUAL_DIR, 0777);
        apath = path_in(ACTUAL_DIR, name);
        spit(apath, actual);
        cr_assert_fail("%s differs from the golden file; see\n"
                       "  diff -u %s %s\n(LEASH_UPDATE_GOLDEN=1 rewrites "
                       "it)", name, gpath, apath);
    }
    free(want);
    free(gpath);
}

static void golden_output(const char *name, const struct run *r,
                          const char *tmp)
{
    char *n = normalize(r->out, tmp);

    golden(name, n);
    free(n);
}

static void golden_report(const char *name, const char *dir,
                          const char *file, const char *tmp)
{
    char *p = path_in(dir, file), *n = normalize_report(p, tmp);

    golden(name, n);
    free(n);
    free(p);
}

#define BIN(name) HARNESS_BIN_DIR "/" name
#define SRC(name) HARNESS_SRC_DIR "/" name
#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NOENV ((const char *const[]){ NULL })

/* Every helper run is serial, so output order is deterministic. */
#define J1 "--jobs=1"

TestSuite(harness, .timeout = 300);

/* ---- A clean suite, a leaking one -------------------------------- */

Test(harness, clean_tests_pass)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_basic"),
                          ARGS(J1, "--filter=basic/[cf]*"), NOENV);

    cr_assert_eq(r.status, 0, "%s", r.out);
    cr_assert(strstr(r.out, "Tested: 2 | Passing: 2") != NULL, "%s", r.out);
    done(tmp);
}

Test(harness, leaks_fail_with_their_stacks)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_basic"), ARGS(J1), NOENV);

    cr_assert_eq(r.status, 1, "%s", r.out);
    golden_output("basic.console.txt", &r, tmp);
    cr_assert(strstr(r.out, "[FAIL] basic::leak_one") != NULL);
    cr_assert(strstr(r.out, "... and 2 more goroutines with this stack: "
                            "3 4") != NULL);
    done(tmp);
}

/* The failure is in Criterion's own --xml, --json and --tap files, and
 * those stay well-formed. */
Test(harness, leaks_in_criterion_outputs)
{
    char *tmp = tmp_dir(), *xml = path_in(tmp, "out.xml");
    char *js = path_in(tmp, "out.json"), *tap = path_in(tmp, "out.tap");
    char *ax, *aj, *at, *text;
    json_error_t err;
    json_t *doc;
    struct run r;

    cr_assert_geq(asprintf(&ax, "--xml=%s", xml), 0);
    cr_assert_geq(asprintf(&aj, "--json=%s", js), 0);
    cr_assert_geq(asprintf(&at, "--tap=%s", tap), 0);
    r = run_in(tmp, BIN("h_basic"), ARGS(J1, ax, aj, at), NOENV);
    cr_assert_eq(r.status, 1, "%s", r.out);

    doc = json_load_file(js, 0, &err);
    cr_assert_not_null(doc, "Criterion's --json is not JSON: %s", err.text);
    json_decref(doc);

    text = slurp(xml);
    cr_assert(strstr(text, "leash: basic/leak_one: 1 of 1 leaked "
                           "goroutine not allowed") != NULL, "%s", text);
    cr_assert_eq(count(text, "&") - count(text, "&#10;"), 0);
    text = normalize(text, tmp);
    golden("basic.xml", text);
    text = normalize(slurp(js), tmp);
    golden("basic.json", text);
    text = normalize(slurp(tap), tmp);
    cr_assert(strstr(text, "not ok - basic::leak_one") != NULL, "%s", text);
    golden("basic.tap", text);
    done(tmp);
}

/* Whether text is valid UTF-8 with only characters XML 1.0 allows. */
static bool xml_chars_ok(const char *text)
{
    size_t n = strlen(text), i, k;
    uint32_t c;

    for (i = 0; i < n; i += k) {
        k = leash__utf8_char(text + i, n - i, &c);
        if (k == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
            c == 0xFFFE || c == 0xFFFF)
            return false;
    }
    return true;
}

/* A source file name that is not UTF-8 and an allowlist reason with
 * U+FFFE: Criterion's outputs stay valid, the JSON report keeps the
 * valid characters and marks the bad byte. */
Test(harness, odd_text_in_criterion_outputs)
{
    char *tmp = tmp_dir(), *xml = path_in(tmp, "out.xml");
    char *js = path_in(tmp, "out.json"), *dir = path_in(tmp, "reports");
    char *ax, *aj, *env, *text;
    json_error_t err;
    json_t *doc;
    struct run r;

    cr_assert_geq(asprintf(&ax, "--xml=%s", xml), 0);
    cr_assert_geq(asprintf(&aj, "--json=%s", js), 0);
    cr_assert_geq(asprintf(&env, "LEASH_REPORT_DIR=%s", dir), 0);
    r = run_in(tmp, BIN("h_text"), ARGS(J1, ax, aj),
               ARGS(env, "LEASH_ALLOWLIST=" SRC("text.yaml")));
    cr_assert_eq(r.status, 1, "%s", r.out);

    text = slurp(xml);
    cr_assert(xml_chars_ok(text), "%s", text);
    cr_assert(strstr(text, "caf?.c:") != NULL, "%s", text);
    cr_assert(strstr(text, "odd ? reason ? (here) + 'there'") != NULL,
              "%s", text);
    text = slurp(js);
    cr_assert(xml_chars_ok(text), "%s", text);
    doc = json_load_file(js, 0, &err);
    cr_assert_not_null(doc, "Criterion's --json is not JSON: %s", err.text);
    json_decref(doc);

    text = slurp(path_in(dir, "text.latin1_file.json"));
    cr_assert(strstr(text, "caf\xEF\xBF\xBD.c") != NULL, "%s", text);
    text = slurp(path_in(dir, "text.odd_reason.json"));
    cr_assert(strstr(text, "odd \xEF\xBF\xBE reason") != NULL, "%s", text);
    done(tmp);
}

/* The replacements themselves. */
Test(harness, criterion_text_replacements)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "a\tb", "a    b" },
        { "\"\\<>&", "'/()+" },
        { "cr\r del\x7F bel\x07 nul-free", "cr  del  bel? nul-free" },
        { "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
          "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80" },
        { "latin1 caf\xE9.c", "latin1 caf?.c" },
        { "nonchars \xEF\xBF\xBE \xEF\xBF\xBF", "nonchars ? ?" },
        { "surrogate \xED\xA0\x80", "surrogate ???" },
        { "overlong \xC0\xAF \xE0\x80\xAF", "overlong ?? ???" },
        { "too big \xF4\x90\x80\x80", "too big ????" },
        { "cut short \xE2\x82", "cut short ??" },
        { "stray \x80\xBF", "stray ??" },
        { "U+FFFD \xEF\xBF\xBD kept", "U+FFFD \xEF\xBF\xBD kept" },
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = leash__criterion_text(cases[i].in, 1024, 0);

        cr_expect_str_eq(t, cases[i].out, "case %zu", i);
        free(t);
    }
}

/* Lines longer than the limit are broken, never inside a character. */
Test(harness, criterion_text_breaks_long_lines)
{
    char *t = leash__criterion_text("abcdefgh\n12345\xC3\xA9xy", 1024, 6);

    cr_expect_str_eq(t, "abcdef\n  gh\n12345\n  \xC3\xA9xy");
    free(t);
}

/* The JSON report's strings: bad bytes become U+FFFD, nothing else. */
Test(harness, utf8_fix)
{
    char *t = leash__utf8_fix("caf\xE9 caf\xC3\xA9 \xEF\xBF\xBE");

    cr_expect_str_eq(t, "caf\xEF\xBF\xBD caf\xC3\xA9 \xEF\xBF\xBE");
    free(t);
    cr_expect_eq(leash__utf8_bad("ok\xC3\xA9\xE9", 5), 4);
    cr_expect_eq(leash__utf8_bad("ok", 2), 2);
}

/* Hundreds of goroutines with one stack: the id list is abbreviated, and
 * no console line is cut or runs into the next. */
Test(harness, long_id_lists_are_abbreviated)
{
    char *tmp = tmp_dir(), *line, *save = NULL;
    struct run r = run_in(tmp, BIN("h_many"), ARGS(J1), NOENV);

    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert(strstr(r.out, "... and 499 more goroutines with this stack: "
                            "3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 "
                            "21 ... 501 (479 more in the JSON report)\n")
              != NULL, "%s", r.out);
    for (line = strtok_r(r.out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        cr_expect_lt(strlen(line), 200, "%s", line);
        cr_expect_leq(count(line, "[----]"), 1, "%s", line);
    }
    done(tmp);
}

/* Each test writes its JSON report into LEASH_REPORT_DIR. */
Test(harness, json_reports)
{
    char *tmp = tmp_dir(), *dir = path_in(tmp, "reports"), *env;
    const char *names[] = { "clean", "finishes_in_grace", "leak_one",
                            "leak_grouped", "assert_then_leak",
                            "expect_and_leak" };
    struct run r;
    size_t i;

    cr_assert_geq(asprintf(&env, "LEASH_REPORT_DIR=%s", dir), 0);
    r = run_in(tmp, BIN("h_basic"), ARGS(J1), ARGS(env));
    cr_assert_eq(r.status, 1, "%s", r.out);
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        char file[128];
        struct stat st;
        char *p;

        snprintf(file, sizeof file, "basic.%s.json", names[i]);
        p = path_in(dir, file);
        cr_assert_eq(stat(p, &st), 0, "no report %s", p);
        free(p);
    }
    golden_report("basic.report.leak_grouped.json", dir,
                  "basic.leak_grouped.json", tmp);
    golden_report("basic.report.assert_then_leak.json", dir,
                  "basic.assert_then_leak.json", tmp);
    golden_report("basic.report.clean.json", dir, "basic.clean.json", tmp);
    done(tmp);
}

Test(harness, unwritable_report_dir_fails)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_basic"),
                          ARGS(J1, "--filter=basic/clean"),
                          ARGS("LEASH_REPORT_DIR=/proc/leash/no"));

    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert(strstr(r.out, "leash: cannot write the JSON report: "
                            "/proc/leash/no") != NULL, "%s", r.out);
    done(tmp);
}

/* A test whose body failed keeps its failure; the leaks come after, as
 * warnings. */
Test(harness, failed_test_keeps_its_failure)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_basic"),
                          ARGS(J1, "--filter=basic/assert_then_leak"),
                          NOENV);
    char *orig, *fail, *warn;

    cr_assert_eq(r.status, 1, "%s", r.out);
    orig = strstr(r.out, "the original failure");
    fail = strstr(r.out, "[FAIL] basic::assert_then_leak");
    warn = strstr(r.out, "[WARN] leash: basic/assert_then_leak: 1 of 1");
    cr_assert(orig != NULL && fail != NULL && warn != NULL, "%s", r.out);
    cr_assert(orig < fail && fail < warn, "%s", r.out);
    cr_assert_eq(count(r.out, "Assertion Failed"), 1, "%s", r.out);
    done(tmp);
}

/* ---- Modes and settings ------------------------------------------ */

Test(harness, mode_report_does_not_fail)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_basic"),
                          ARGS(J1, "--filter=basic/leak_*"),
                          ARGS("LEASH_MODE=report"));

    cr_assert_eq(r.status, 0, "%s", r.out);
    golden_output("basic.mode_report.txt", &r, tmp);
    done(tmp);
}

Test(harness, mode_off_checks_nothing)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_basic"),
                          ARGS(J1, "--filter=basic/leak_*"),
                          ARGS("LEASH_MODE=off"));

    cr_assert_eq(r.status, 0, "%s", r.out);
    cr_assert_null(strstr(r.out, "leash"), "%s", r.out);
    done(tmp);
}

/* A bad value fails every test with the variable's name. */
static void bad_setting(const char *assignment, const char *message)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_basic"), ARGS(J1),
                          ARGS(assignment));

    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert_eq(count(r.out, message), 6, "%s:\n%s", assignment, r.out);
    cr_assert(strstr(r.out, "Tested: 6 | Passing: 0") != NULL, "%s",
              r.out);
    done(tmp);
}

Test(harness, bad_settings_fail_every_test)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_basic"), ARGS(J1),
                          ARGS("LEASH_MODE=loose"));

    cr_assert_eq(r.status, 1, "%s", r.out);
    golden_output("basic.bad_mode.txt", &r, tmp);
    bad_setting("LEASH_STRICT=yes", "LEASH_STRICT='yes' is not 0 or 1");
    bad_setting("LEASH_GRACE_MS=10ms", "LEASH_GRACE_MS='10ms' is not a "
                "number of milliseconds");
    bad_setting("LEASH_GRACE_MS=-1", "LEASH_GRACE_MS='-1'");
    bad_setting("LEASH_TIMEOUT=-5", "LEASH_TIMEOUT='-5' is not a number "
                "of seconds");
    bad_setting("LEASH_TIMEOUT=soon", "LEASH_TIMEOUT='soon'");
    bad_setting("LEASH_TODAY=2027-02-30", "LEASH_TODAY='2027-02-30' is "
                "not a date YYYY-MM-DD");
    bad_setting("LEASH_TODAY=garbage", "LEASH_TODAY='garbage' is not a "
                "date");
    done(tmp);
}

/* ---- The allowlist ----------------------------------------------- */

static const char *const allow_env[] = {
    "LEASH_ALLOWLIST=" SRC("allow.yaml"), "LEASH_TODAY=" TODAY, NULL,
};

Test(harness, allowlist_allows_expires_and_bounds)
{
    char *tmp = tmp_dir(), *dir = path_in(tmp, "reports"), *env;
    struct run r;

    cr_assert_geq(asprintf(&env, "LEASH_REPORT_DIR=%s", dir), 0);
    r = run_in(tmp, BIN("h_allow"), ARGS(J1, "--verbose"),
               ARGS(allow_env[0], allow_env[1], env));
    cr_assert_eq(r.status, 1, "%s", r.out);
    golden_output("allow.console.txt", &r, tmp);
    cr_assert(strstr(r.out, "[PASS] allow::allowed") != NULL);
    cr_assert(strstr(r.out, "[PASS] allow::by_test_name") != NULL);
    cr_assert(strstr(r.out, "allowance expired on 2025-12-31") != NULL);
    cr_assert(strstr(r.out, "allows at most 2") != NULL);
    cr_assert(strstr(r.out, "allow.yaml:22 (report flusher, fixed in #42: "
                            "delete this entry) matched nothing in this "
                            "run") != NULL, "%s", r.out);
    cr_assert_eq(count(r.out, "matched nothing"), 1, "%s", r.out);
    golden_report("allow.report.expired.json", dir, "allow.expired.json",
                  tmp);
    golden_report("allow.report.over_max.json", dir, "allow.over_max.json",
                  tmp);
    golden_report("allow.report.mixed.json", dir, "allow.mixed.json", tmp);
    done(tmp);
}

/* Unused entries are named after the run, which they do not fail. */
Test(harness, unused_entries_named_after_the_run)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_allow"),
                          ARGS(J1, "--filter=allow/nothing"), allow_env);
    char *last = strstr(r.out, "[====] Synthesis");

    cr_assert_eq(r.status, 0, "%s", r.out);
    cr_assert_eq(count(r.out, "matched nothing in this run"), 5, "%s",
                 r.out);
    cr_assert(last != NULL && strstr(last, "matched nothing") == NULL,
              "%s", r.out);
    done(tmp);
}

/* An expiry date is a day: the entry applies through it. */
Test(harness, allowlist_applies_through_its_expiry_day)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_allow"),
                          ARGS(J1, "--filter=allow/expired"),
                          ARGS(allow_env[0], "LEASH_TODAY=2025-12-31"));

    cr_assert_eq(r.status, 0, "%s", r.out);
    done(tmp);
}

Test(harness, malformed_allowlist_fails_every_test)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_allow"), ARGS(J1),
                          ARGS("LEASH_ALLOWLIST=" SRC("bad.yaml")));

    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert_eq(count(r.out, "bad.yaml:5:5: "), 6, "%s", r.out);
    cr_assert(strstr(r.out, "Tested: 6 | Passing: 0") != NULL, "%s",
              r.out);
    golden_output("allow.malformed.txt", &r, tmp);
    done(tmp);
}

Test(harness, missing_allowlist_fails_every_test)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_allow"), ARGS(J1),
                          ARGS("LEASH_ALLOWLIST=no-such-allowlist.yaml"));

    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert_eq(count(r.out, "leash: allowlist error: "
                              "no-such-allowlist.yaml: cannot read"), 6,
                 "%s", r.out);
    done(tmp);
}

/* Set but empty is a mistake, not "no allowlist". */
Test(harness, empty_allowlist_variable_fails_every_test)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_allow"), ARGS(J1),
                          ARGS("LEASH_ALLOWLIST="));

    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert_eq(count(r.out, "leash: allowlist error: LEASH_ALLOWLIST is "
                              "set but empty"), 6, "%s", r.out);
    cr_assert_null(strstr(r.out, "cannot read"), "%s", r.out);
    done(tmp);
}

/* Without LEASH_ALLOWLIST, leash-allow.yaml is found in a parent of the
 * working directory. */
Test(harness, allowlist_found_upward)
{
    char *tmp = tmp_dir(), *a = path_in(tmp, "a"), *ab = path_in(a, "b");
    char *file = path_in(tmp, "leash-allow.yaml");
    struct run r;

    cr_assert_eq(mkdir(a, 0777), 0);
    cr_assert_eq(mkdir(ab, 0777), 0);
    spit(file, slurp(SRC("allow.yaml")));
    r = run_in(ab, BIN("h_allow"),
               ARGS(J1, "--verbose", "--filter=allow/allowed"),
               ARGS("LEASH_TODAY=" TODAY));
    cr_assert_eq(r.status, 0, "%s", r.out);
    cr_assert(strstr(r.out, "by /tmp/leash-th.") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "/leash-allow.yaml:4 (vendor pool") != NULL,
              "%s", r.out);
    done(tmp);
}

/* ---- Strict mode ------------------------------------------------- */

Test(harness, strict_per_test_and_suite)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_strict"), ARGS(J1),
                          ARGS("LEASH_ALLOWLIST=" SRC("strict.yaml")));

    cr_assert_eq(r.status, 1, "%s", r.out);
    golden_output("strict.console.txt", &r, tmp);
    cr_assert(strstr(r.out, "Tested: 6 | Passing: 4 | Failing: 2") != NULL,
              "%s", r.out);
    done(tmp);
}

Test(harness, strict_by_environment)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_strict"),
                          ARGS(J1, "--filter=lenient/*"),
                          ARGS("LEASH_ALLOWLIST=" SRC("strict.yaml")));

    cr_assert_eq(r.status, 0, "%s", r.out);
    r = run_in(tmp, BIN("h_strict"), ARGS(J1, "--filter=lenient/*"),
               ARGS("LEASH_ALLOWLIST=" SRC("strict.yaml"),
                    "LEASH_STRICT=1"));
    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert(strstr(r.out, "leash: lenient/poller_left: 1 of 1 goroutine "
                            "left at the end not allowed (strict mode)")
              != NULL, "%s", r.out);
    done(tmp);
}

/* Goroutines an .init started are the test's: a leaked one fails it,
 * strict or not; strict mode leaves the living ones alone. */
Test(harness, init_goroutines_are_checked)
{
    char *tmp = tmp_dir(), *dir = path_in(tmp, "reports"), *env, *rep;
    struct run r;

    cr_assert_geq(asprintf(&env, "LEASH_REPORT_DIR=%s", dir), 0);
    r = run_in(tmp, BIN("h_init"), ARGS(J1), ARGS(env));
    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert(strstr(r.out, "leash: init/leaks: 1 of 1 leaked goroutine "
                            "not allowed") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "leash: init/leaks_strict: 1 of 1 goroutine "
                            "left at the end not allowed (strict mode)")
              != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "created by init_leak in goroutine 1") != NULL,
              "%s", r.out);
    cr_assert(strstr(r.out, "Tested: 3 | Passing: 1 | Failing: 2") != NULL,
              "%s", r.out);
    rep = path_in(dir, "init.leaks.json");
    cr_assert(strstr(slurp(rep), "\"verdict\": \"leaks\"") != NULL);
    done(tmp);
}

/* ---- Criterion's options ----------------------------------------- */

Test(harness, criterion_options_still_work)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_options"), ARGS(J1), NOENV);

    cr_assert_eq(r.status, 1, "%s", r.out);
    golden_output("options.console.txt", &r, tmp);
    /* .signal and .exit_code pass; .disabled is skipped. */
    cr_assert(strstr(r.out, "Tested: 7 | Passing: 3 | Failing: 4 | "
                            "Crashing: 1") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "the user's .fini ran") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "[FAIL] options::own_timeout: Timed out.")
              != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "[FAIL] slow_suite::sleeps: Timed out.")
              != NULL, "%s", r.out);
    done(tmp);
}

#ifndef __SANITIZE_ADDRESS__
/* A cr_assert in another goroutine than the body: the test fails with
 * the assertion, and the harness says why it did not check. */
Test(harness, assert_inside_a_goroutine)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_goroutine"), ARGS(J1), NOENV);

    cr_assert_eq(r.status, 1, "%s", r.out);
    golden_output("goroutine.console.txt", &r, tmp);
    done(tmp);
}
#endif

/* Criterion's --timeout caps declared timeouts only: the hang is killed
 * because the macro declared one. */
Test(harness, default_timeout_stops_a_hang)
{
    char *tmp = tmp_dir();
    struct run r = run_in(tmp, BIN("h_hang"), ARGS(J1, "--timeout=1"),
                          NOENV);

    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert(strstr(r.out, "[FAIL] hang::forever: Timed out.") != NULL,
              "%s", r.out);
    cr_assert_lt(r.seconds, 30.0);
    golden_output("hang.console.txt", &r, tmp);

    r = run_in(tmp, BIN("h_hang"), ARGS(J1), ARGS("LEASH_TIMEOUT=0.5"));
    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert(strstr(r.out, "[FAIL] hang::forever: Timed out.") != NULL,
              "%s", r.out);
    cr_assert_lt(r.seconds, 30.0);
    done(tmp);
}

/* ---- Parameterized tests ----------------------------------------- */

Test(harness, parameterized)
{
    char *tmp = tmp_dir(), *dir = path_in(tmp, "reports"), *env;
    const char *files[] = {
        "param.leaks_n.0.json", "param.leaks_n.1.json",
        "param.leaks_n.2.json", "param.strict_pollers.0.json",
        "param.strict_pollers.1.json",
    };
    struct run r;
    size_t i;

    cr_assert_geq(asprintf(&env, "LEASH_REPORT_DIR=%s", dir), 0);
    r = run_in(tmp, BIN("h_param"), ARGS(J1), ARGS(env));
    cr_assert_eq(r.status, 1, "%s", r.out);
    golden_output("param.console.txt", &r, tmp);
    cr_assert(strstr(r.out, "Tested: 5 | Passing: 2 | Failing: 3") != NULL,
              "%s", r.out);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *p = path_in(dir, files[i]);
        struct stat st;

        cr_assert_eq(stat(p, &st), 0, "no report %s", p);
        free(p);
    }
    golden_report("param.report.leaks_n.2.json", dir,
                  "param.leaks_n.2.json", tmp);
    done(tmp);
}

/* ---- The example --------------------------------------------------- */

#ifdef EXAMPLE_WORK_ITEMS
Test(harness, example_work_items)
{
    char *tmp = tmp_dir();
    struct run r = run_in(LEASH_SRC_DIR "/examples", EXAMPLE_WORK_ITEMS,
                          ARGS(J1), ARGS("LEASH_TODAY=" TODAY));

    cr_assert_eq(r.status, 1, "%s", r.out);
    golden_output("work_items.console.txt", &r, tmp);
    done(tmp);
}
#endif
