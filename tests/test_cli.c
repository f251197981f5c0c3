/*
 * The leash tool (cli/), run as users run it: a subprocess on the fixtures
 * of tests/cli/ (fixed reports of tests/cli/suite.c with their source root
 * rewritten to /home/ci/shop, and inputs it must refuse), its outputs
 * compared with tests/cli/golden/ (remade by tests/cli/regen.sh, to be
 * reviewed like code), and once on what a live run of the suite writes,
 * so that the tool and the harness's report writer cannot drift apart.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUN_DIR CLI_DIR "/run"
#define FAKE_ROOT "/home/ci/shop"
#define TODAY "2026-01-15"

struct result {
    int status;     /* exit status, or 128 + signal */
    char *out;
    char *err;
};

static char *read_all(FILE *f)
{
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap);

    cr_assert_not_null(buf);
    rewind(f);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            buf = realloc(buf, cap *= 2);
            cr_assert_not_null(buf);
        }
    }
    buf[n] = '\0';
    return buf;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s;

    cr_assert_not_null(f, "cannot read %s: %s", path, strerror(errno));
    s = read_all(f);
    fclose(f);
    return s;
}

/*
 * Run prog with argv in dir, in a clean environment for the tool: no CI
 * variables that change its defaults, a fixed day for expiry dates, then
 * env ("NAME=value" sets, "NAME" unsets).
 */
static struct result run_prog(const char *prog, const char *dir,
                              const char *const *env,
                              const char *const *argv)
{
    struct result r = { 0, NULL, NULL };
    FILE *out = tmpfile(), *err = tmpfile();
    int status;
    pid_t pid;

    cr_assert(out != NULL && err != NULL);
    fflush(NULL);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* BXFI_MAP would make a Criterion child think it is one of
         * this test's workers. */
        const char *unset[] = { "GITHUB_WORKSPACE", "CI_PROJECT_DIR",
                                "LEASH_REPORT_DIR", "LEASH_DOT",
                                "LEASH_ALLOWLIST", "GITHUB_ACTIONS",
                                "BXFI_MAP" };
        size_t i;

        for (i = 0; i < sizeof unset / sizeof unset[0]; i++)
            unsetenv(unset[i]);
        setenv("LEASH_TODAY", TODAY, 1);
        for (i = 0; env != NULL && env[i] != NULL; i++) {
            const char *eq = strchr(env[i], '=');

            if (eq == NULL) {
                unsetenv(env[i]);
            } else {
                char *name = strndup(env[i], (size_t)(eq - env[i]));

                setenv(name, eq + 1, 1);
                free(name);
            }
        }
        if (chdir(dir) != 0)
            _exit(126);
        dup2(fileno(out), 1);
        dup2(fileno(err), 2);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        cr_assert_eq(errno, EINTR);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status)
                                 : 128 + WTERMSIG(status);
    r.out = read_all(out);
    r.err = read_all(err);
    fclose(out);
    fclose(err);
    return r;
}

#define LEASH_ENV(dir, env, ...)                                        \
    run_prog(LEASH_CLI, dir, env,                                       \
             (const char *const[]){ "leash", __VA_ARGS__, NULL })
#define LEASH(dir, ...) LEASH_ENV(dir, NULL, __VA_ARGS__)

/* The fixture run, as regen.sh renders it. */
#define RUN_INPUTS "reports", "--xml", "criterion.xml", "--root", FAKE_ROOT

static void free_result(struct result *r)
{
    free(r->out);
    free(r->err);
}

/* The SARIF golden says @VERSION@ where the tool says its version. */
static char *normalize_version(const char *s)
{
    const char *from = "\"" LEASH_VERSION "\"", *to = "\"@VERSION@\"";
    size_t n = strlen(from), cap = strlen(s) * 2 + 64, len = 0;
    char *out = malloc(cap);

    cr_assert_not_null(out);
    while (*s != '\0') {
        if (strncmp(s, from, n) == 0) {
            memcpy(out + len, to, strlen(to));
            len += strlen(to);
            s += n;
        } else {
            out[len++] = *s++;
        }
    }
    out[len] = '\0';
    return out;
}

/* Fail with the first line that differs; keep the actual output. */
static void expect_golden(const char *name, const char *actual)
{
    char *path, *golden, *keep;
    const char *g, *a, *gl, *al;
    int line = 1;
    FILE *f;

    cr_assert(asprintf(&path, "%s/golden/%s", CLI_DIR, name) > 0);
    golden = read_file(path);
    if (strcmp(golden, actual) == 0) {
        free(golden);
        free(path);
        return;
    }
    cr_assert(asprintf(&keep, "cli-actual-%s", name) > 0);
    f = fopen(keep, "w");
    if (f != NULL) {
        fputs(actual, f);
        fclose(f);
    }
    gl = golden;
    al = actual;
    for (g = golden, a = actual; *g != '\0' && *g == *a; g++, a++) {
        if (*g == '\n') {
            line++;
            gl = g + 1;
            al = a + 1;
        }
    }
    cr_assert_fail("%s differs from the golden file at line %d:\n"
                   "  golden: %.*s\n  actual: %.*s\n"
                   "(the actual output is in %s; tests/cli/regen.sh remakes "
                   "golden files)", path, line, (int)strcspn(gl, "\n"), gl,
                   (int)strcspn(al, "\n"), al, keep);
}

static void remove_tree(const char *dir)
{
    char *cmd;

    cr_assert(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
    cr_expect_eq(system(cmd), 0);
    free(cmd);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void check_sarif(const char *text);

/* ------------------------------------------------------------------ */
/* Usage                                                                */
/* ------------------------------------------------------------------ */

Test(cli, help)
{
    struct result r = LEASH(CLI_DIR, "--help");

    cr_assert_eq(r.status, 0);
    cr_assert(starts_with(r.out, "usage: leash <command>"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "allowlist validate"));
    free_result(&r);

    r = LEASH(CLI_DIR, "check", "--help");
    cr_assert_eq(r.status, 0);
    cr_assert(starts_with(r.out, "usage: leash <command>"));
    free_result(&r);

    r = LEASH(CLI_DIR, "allowlist", "--help");
    cr_assert_eq(r.status, 0);
    cr_assert(starts_with(r.out, "usage: leash allowlist validate"));
    free_result(&r);
}

Test(cli, version)
{
    struct result r = LEASH(CLI_DIR, "--version");

    cr_assert_eq(r.status, 0);
    cr_assert_str_eq(r.out, "leash " LEASH_VERSION "\n");
    free_result(&r);
}

Test(cli, usage_errors)
{
    struct result r = run_prog(LEASH_CLI, CLI_DIR, NULL,
                               (const char *const[]){ "leash", NULL });

    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "leash: a command is needed\n"
                            "run 'leash --help' for usage\n");
    free_result(&r);

    r = LEASH(CLI_DIR, "frob");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "leash: unknown command 'frob'\n"
                            "run 'leash --help' for usage\n");
    free_result(&r);

    r = LEASH(CLI_DIR, "check", "--bogus", "run/reports");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "leash check: unrecognized option '--bogus'\n"
                            "run 'leash --help' for usage\n");
    free_result(&r);

    r = LEASH(CLI_DIR, "check");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "leash: check: no report directory or file "
                            "given (and LEASH_REPORT_DIR is not set)\n"
                            "run 'leash --help' for usage\n");
    cr_assert_str_empty(r.out);
    free_result(&r);

    r = LEASH(CLI_DIR, "allowlist", "check", "x.yaml");
    cr_assert_eq(r.status, 2);
    free_result(&r);
}

/* ------------------------------------------------------------------ */
/* check                                                                */
/* ------------------------------------------------------------------ */

Test(check, golden)
{
    struct result r = LEASH(RUN_DIR, "check", RUN_INPUTS);

    cr_assert_eq(r.status, 1, "exit %d, stderr: %s", r.status, r.err);
    cr_assert_str_empty(r.err);
    expect_golden("check.txt", r.out);
    free_result(&r);
}

Test(check, verbose_lists_allowed_leaks)
{
    struct result r = LEASH(RUN_DIR, "check", "-v", RUN_INPUTS);

    cr_assert_eq(r.status, 1);
    expect_golden("check-verbose.txt", r.out);
    cr_assert_not_null(strstr(r.out, "ok    pool/idle_worker_allowed: "
                                     "1 allowed goroutine\n"));
    free_result(&r);
}

Test(check, quiet_prints_the_verdict_only)
{
    struct result r = LEASH(RUN_DIR, "check", "-q", RUN_INPUTS);

    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.out, "leash: FAIL: 9 of 13 tests leaked goroutines "
                            "outside the allowlist; 2 tests wrote no leak "
                            "report\n");
    free_result(&r);
}

Test(check, without_xml_only_reports_count)
{
    struct result r = LEASH(RUN_DIR, "check", "-q", "reports");

    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.out, "leash: FAIL: 9 of 11 tests leaked goroutines "
                            "outside the allowlist\n");
    free_result(&r);
}

Test(check, clean_run_passes)
{
    struct result r = LEASH(RUN_DIR, "check", "../clean", "--root",
                            FAKE_ROOT);

    cr_assert_eq(r.status, 0, "exit %d: %s%s", r.status, r.out, r.err);
    cr_assert_str_empty(r.err);
    expect_golden("check-clean.txt", r.out);
    free_result(&r);
}

/* Every report passes, but a test crashed before writing its own. */
Test(check, crash_without_report_fails)
{
    struct result r = LEASH(RUN_DIR, "check", "../clean", "--xml",
                            "../clean/crash.xml", "--root", FAKE_ROOT);

    cr_assert_eq(r.status, 1);
    cr_assert_not_null(strstr(r.out, "NO REPORT crash/segfault: crashed "
                                     "(../clean/crash.xml), so the leak "
                                     "check never ran\n"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "leash: FAIL: 1 test wrote no leak "
                                     "report\n"));
    free_result(&r);
}

/* A test whose leak check could not run fails the gate, in every output. */
Test(check, test_without_a_check)
{
    struct result r = LEASH(RUN_DIR, "check", "../error", "--root",
                            FAKE_ROOT);

    cr_assert_eq(r.status, 1);
    cr_assert_not_null(strstr(r.out, "ERROR shop/checkout_clean: no leak "
                                     "check ran: leash: allowlist error: "
                                     "leash-allow.yaml:4:5: unknown key"),
                       "%s", r.out);
    cr_assert(strstr(r.out, "\nleash: FAIL: 1 test had no leak check\n"));
    free_result(&r);

    r = LEASH(RUN_DIR, "annotations", "../error", "--root", FAKE_ROOT);
    cr_assert_eq(r.status, 0);
    cr_assert(starts_with(r.out, "::error file=tests/cli/suite.c,line=158,"
                                 "title=leash%3A no leak check::shop/"
                                 "checkout_clean: no leak check ran: "),
              "%s", r.out);
    free_result(&r);

    r = LEASH(RUN_DIR, "sarif", "../error", "--root", FAKE_ROOT);
    cr_assert_eq(r.status, 0);
    cr_assert_not_null(strstr(r.out, "\"ruleId\": \"leash/no-leak-check\""));
    check_sarif(r.out);
    free_result(&r);

    r = LEASH(RUN_DIR, "markdown", "../error", "--root", FAKE_ROOT);
    cr_assert_eq(r.status, 0);
    cr_assert_not_null(strstr(r.out, "| `shop/checkout_clean` | | no leak "
                                     "check ran: leash: allowlist error: "));
    free_result(&r);
}

/* Instances of a parameterized test share a name in Criterion's XML. */
Test(check, parameterized_tests)
{
    struct result r = LEASH(CLI_DIR, "check", "param/reports", "--xml",
                            "param/criterion.xml", "--root", FAKE_ROOT);

    cr_assert_eq(r.status, 1);
    expect_golden("check-param.txt", r.out);
    cr_assert_not_null(strstr(r.out, "NO REPORT param/leaks_n: crashed"));
    cr_assert_not_null(strstr(r.out, "FAIL  param/strict_pollers[1]: "));
    free_result(&r);
}

Test(check, test_filter)
{
    struct result r = LEASH(RUN_DIR, "check", "-q", "--test", "pool/*",
                            RUN_INPUTS);

    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.out, "leash: FAIL: 2 of 3 tests leaked goroutines "
                            "outside the allowlist\n");
    free_result(&r);

    r = LEASH(RUN_DIR, "check", "-q", "--test", "shop/checkout_*",
              "--test", "pool/idle_*", RUN_INPUTS);
    cr_assert_eq(r.status, 0);
    cr_assert_str_eq(r.out, "leash: OK: 2 tests, no goroutine leaks outside "
                            "the allowlist (1 allowed)\n");
    free_result(&r);

    r = LEASH(RUN_DIR, "check", "--test", "nothing/*", RUN_INPUTS);
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "leash: no report is of a test that --test "
                            "names\n");
    free_result(&r);
}

Test(check, files_and_report_dir_from_environment)
{
    struct result r = LEASH(RUN_DIR, "check", "-q",
                            "reports/shop.checkout_clean.json",
                            "reports/shop.lost_reply.json");

    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.out, "leash: FAIL: 1 of 2 tests leaked goroutines "
                            "outside the allowlist\n");
    free_result(&r);

    r = LEASH_ENV(RUN_DIR, ((const char *const[]){
                      "LEASH_REPORT_DIR=reports", NULL }), "check", "-q");
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.out, "leash: FAIL: 9 of 11 tests leaked goroutines "
                            "outside the allowlist\n");
    free_result(&r);
}

Test(check, output_file)
{
    char dir[] = "/tmp/leash-cli-XXXXXX", *path, *text;
    struct result r;

    cr_assert_not_null(mkdtemp(dir));
    cr_assert(asprintf(&path, "%s/summary.txt", dir) > 0);
    r = LEASH(RUN_DIR, "check", RUN_INPUTS, "-o", path);
    cr_assert_eq(r.status, 1);
    cr_assert_str_empty(r.out);
    text = read_file(path);
    expect_golden("check.txt", text);
    free(text);
    free_result(&r);
    unlink(path);
    rmdir(dir);
    free(path);

    r = LEASH(RUN_DIR, "check", RUN_INPUTS, "-o", "/nonexistent/x.txt");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "leash: cannot write /nonexistent/x.txt: No "
                            "such file or directory\n");
    free_result(&r);
}

/* Entries of an allowlist the reports did not use are all unused. */
Test(check, allowlist_option)
{
    struct result r = LEASH(RUN_DIR, "check", RUN_INPUTS, "--allowlist",
                            "../allow/good.yaml");

    cr_assert_eq(r.status, 1);
    cr_assert_not_null(strstr(r.err, "leash: warning: "));
    cr_assert_not_null(strstr(r.out, "allowlist:  2 entries, 2 unused"),
                       "%s", r.out);
    free_result(&r);

    r = LEASH(RUN_DIR, "check", RUN_INPUTS, "--allowlist", "missing.yaml");
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "leash: missing.yaml: cannot read: No such "
                            "file or directory\n");
    free_result(&r);
}

/* ------------------------------------------------------------------ */
/* Inputs that must be refused                                          */
/* ------------------------------------------------------------------ */

/* `check` on inputs fails with status 2 and exactly message on stderr. */
static void refused(const char *message, const char *const *inputs)
{
    const char *argv[16] = { "leash", "check" };
    struct result r;
    size_t i;

    for (i = 0; inputs[i] != NULL; i++)
        argv[2 + i] = inputs[i];
    argv[2 + i] = NULL;
    r = run_prog(LEASH_CLI, CLI_DIR, NULL, argv);
    cr_assert_eq(r.status, 2, "exit %d for %s", r.status, inputs[0]);
    cr_assert_str_empty(r.out);
    if (message[strlen(message) - 1] == '\n')
        cr_assert_str_eq(r.err, message);
    else
        cr_assert(starts_with(r.err, message), "stderr: %s", r.err);
    free_result(&r);
}

#define REFUSED(message, ...) \
    refused(message, (const char *const[]){ __VA_ARGS__, NULL })

Test(errors, missing_file_or_directory)
{
    REFUSED("leash: cannot read nowhere: No such file or directory\n",
            "nowhere");
    REFUSED("leash: cannot read run/reports/nope.json: No such file or "
            "directory\n", "run/reports/nope.json");
}

Test(errors, empty_directory)
{
    char dir[] = "/tmp/leash-cli-XXXXXX", *msg;

    cr_assert_not_null(mkdtemp(dir));
    cr_assert(asprintf(&msg, "leash: %s: no leak reports (*.json) in this "
                             "directory: did the tests run with "
                             "LEASH_REPORT_DIR=%s?\n", dir, dir) > 0);
    REFUSED(msg, dir);
    /* Also when another input has reports. */
    REFUSED(msg, "run/reports", dir);
    rmdir(dir);
    free(msg);
}

Test(errors, empty_file)
{
    REFUSED("leash: bad/empty.json: empty file, not a leak report (a report "
            "is written whole or not at all, so something else made this "
            "file)\n", "bad/empty.json");
}

Test(errors, truncated_json)
{
    REFUSED("leash: bad/truncated.json:35:18: truncated JSON: the file ends "
            "before the report does (", "bad/truncated.json");
}

Test(errors, invalid_json)
{
    REFUSED("leash: bad/invalid.json:4:8: invalid JSON: ",
            "bad/invalid.json");
}

Test(errors, foreign_files)
{
    REFUSED("leash: bad/foreign.json: not a leash report: it has no "
            "\"schema\": \"leash-report\"\n", "bad/foreign.json");
    REFUSED("leash: bad/other-schema.json: not a leash report: its schema "
            "is \"gotestsum-report\", not \"leash-report\"\n",
            "bad/other-schema.json");
    REFUSED("leash: bad/array.json: not a leash report: the JSON is an "
            "array, not an object with \"schema\": \"leash-report\"\n",
            "bad/array.json");
    /* In a directory too: never skipped silently. */
    REFUSED("leash: bad/array.json: not a leash report", "bad");
}

Test(errors, unsupported_version)
{
    REFUSED("leash: bad/version2.json: unsupported report version 2: this "
            "leash reads version 1; use the leash that wrote it\n",
            "bad/version2.json");
    REFUSED("leash: bad/string-version.json: invalid leash report: "
            "\"version\" is a string, not an integer\n",
            "bad/string-version.json");
}

Test(errors, invalid_fields)
{
    REFUSED("leash: bad/bad-field.json: invalid leash report: "
            "leaks[0].frames is a string, not an array\n",
            "bad/bad-field.json");
    REFUSED("leash: bad/no-test-name.json: invalid leash report: test.name "
            "is missing\n", "bad/no-test-name.json");
}

Test(errors, criterion_xml)
{
    REFUSED("leash: cannot read nowhere.xml: No such file or directory\n",
            "run/reports", "--xml", "nowhere.xml");
    REFUSED("leash: bad/empty.xml: empty file, not Criterion XML (did the "
            "test run crash before Criterion wrote it?)\n", "run/reports",
            "--xml", "bad/empty.xml");
    REFUSED("leash: bad/truncated.xml:15:43: truncated XML: the file ends "
            "inside the tag <testsuite\n", "run/reports", "--xml",
            "bad/truncated.xml");
    REFUSED("leash: bad/foreign.xml:2:1: not a Criterion XML report: the "
            "root element is <html>, not Criterion's <testsuites>\n",
            "run/reports", "--xml", "bad/foreign.xml");
    REFUSED("leash: bad/mismatched.xml:4:3: invalid XML: </testsuites> "
            "closes <testsuite>\n", "run/reports", "--xml",
            "bad/mismatched.xml");
    REFUSED("leash: bad/not-utf8.xml:3:23: not a UTF-8 XML file: byte "
            "0xE9 is not part of a UTF-8 character\n", "run/reports",
            "--xml", "bad/not-utf8.xml");
}

/* ------------------------------------------------------------------ */
/* markdown, annotations                                                */
/* ------------------------------------------------------------------ */

Test(markdown, golden)
{
    struct result r = LEASH(RUN_DIR, "markdown", RUN_INPUTS);

    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    expect_golden("markdown.md", r.out);
    cr_assert(starts_with(r.out, "## leash: goroutine leaks\n\n:x: **FAIL**"));
    free_result(&r);

    r = LEASH(RUN_DIR, "markdown", "../clean", "--root", FAKE_ROOT);
    cr_assert_eq(r.status, 0);
    cr_assert_not_null(strstr(r.out, ":white_check_mark: **OK**: 2 tests"));
    cr_assert_null(strstr(r.out, "<details>"));
    free_result(&r);
}

Test(annotations, golden_and_format)
{
    struct result r = LEASH(RUN_DIR, "annotations", RUN_INPUTS);
    char *line, *save = NULL;
    size_t errors = 0, warnings = 0;

    cr_assert_eq(r.status, 0);
    expect_golden("annotations.txt", r.out);

    /* The blocking line is the first frame outside the runtime. */
    cr_assert_not_null(strstr(r.out, "::error file=tests/cli/suite.c,"
                                     "line=27,title=leash%3A goroutine "
                                     "leak::1 goroutine [chan send] in "
                                     "price_lookup blocks forever here"));
    for (line = strtok_r(r.out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        const char *msg = strstr(line + 2, "::");

        cr_assert(starts_with(line, "::error ") ||
                  starts_with(line, "::warning "), "%s", line);
        cr_assert_not_null(msg, "no message in %s", line);
        cr_assert_not_null(strstr(line, "title=leash%3A "));
        cr_assert_null(strstr(line, "runtime/"), "%s", line);
        errors += starts_with(line, "::error ");
        warnings += starts_with(line, "::warning ");
    }
    /* 11 places where goroutines block, 2 tests without a report; 2
     * unused and 2 expired allowlist entries. */
    cr_assert_eq(errors, 13);
    cr_assert_eq(warnings, 4);
    free_result(&r);
}

/* ------------------------------------------------------------------ */
/* SARIF                                                                */
/* ------------------------------------------------------------------ */

static json_t *member(json_t *obj, const char *key, const char *where)
{
    json_t *j = json_object_get(obj, key);

    cr_assert_not_null(j, "SARIF: %s.%s is missing", where, key);
    return j;
}

/* The properties SARIF 2.1.0 requires, and those GitHub needs. */
static void check_sarif(const char *text)
{
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err), *runs, *run, *results, *res;
    size_t i, j;

    cr_assert_not_null(doc, "SARIF is not JSON: %d:%d: %s", err.line,
                       err.column, err.text);
    cr_assert_str_eq(json_string_value(member(doc, "version", "log")),
                     "2.1.0");
    cr_assert(starts_with(json_string_value(member(doc, "$schema", "log")),
                          "https://"));
    runs = member(doc, "runs", "log");
    cr_assert(json_is_array(runs) && json_array_size(runs) == 1);
    run = json_array_get(runs, 0);
    cr_assert_str_eq(json_string_value(member(
                         member(member(run, "tool", "run"), "driver",
                                "tool"), "name", "driver")), "leash");
    results = member(run, "results", "run");
    cr_assert(json_is_array(results));
    json_array_foreach(results, i, res) {
        json_t *locs = member(res, "locations", "result");
        json_t *loc, *phys;

        cr_assert(starts_with(json_string_value(member(res, "ruleId",
                                                       "result")),
                              "leash/"));
        cr_assert_not_null(json_string_value(member(member(res, "message",
                                                           "result"),
                                                    "text", "message")));
        cr_assert_gt(json_array_size(locs), 0);
        json_array_foreach(locs, j, loc) {
            phys = member(loc, "physicalLocation", "location");
            cr_assert_not_null(json_string_value(member(
                member(phys, "artifactLocation", "physicalLocation"),
                "uri", "artifactLocation")));
            cr_assert_geq(json_integer_value(member(
                              member(phys, "region", "physicalLocation"),
                              "startLine", "region")), 1);
        }
    }
    json_decref(doc);
}

Test(sarif, golden_and_required_properties)
{
    struct result r = LEASH(RUN_DIR, "sarif", RUN_INPUTS);
    char *norm = normalize_version(r.out);
    json_t *doc;

    cr_assert_eq(r.status, 0);
    expect_golden("sarif.json", norm);
    check_sarif(r.out);

    /* Allowed leaks are suppressed results; crashes are notifications. */
    doc = json_loads(r.out, 0, NULL);
    cr_assert_not_null(strstr(r.out, "\"justification\": \"vendor pool "
                                     "keeps one idle worker; fixed "
                                     "upstream in 2.3\""));
    cr_assert_eq(json_array_size(json_object_get(json_array_get(
                     json_object_get(json_array_get(json_object_get(doc,
                                                                    "runs"),
                                                    0), "invocations"), 0),
                     "toolExecutionNotifications")), 2);
    json_decref(doc);
    free(norm);
    free_result(&r);
}

/* ------------------------------------------------------------------ */
/* DOT and SVG                                                          */
/* ------------------------------------------------------------------ */

static size_t count(const char *s, const char *what)
{
    size_t n = 0;

    for (s = strstr(s, what); s != NULL; s = strstr(s + 1, what))
        n++;
    return n;
}

Test(dot, golden_and_structure)
{
    struct result r = LEASH(RUN_DIR, "dot", RUN_INPUTS);

    cr_assert_eq(r.status, 0);
    expect_golden("dot.dot", r.out);
    cr_assert(starts_with(r.out, "digraph leash {\n"));
    cr_assert_eq(count(r.out, "{"), count(r.out, "}"));
    /* One cluster per test with goroutines left: 10 of the 11. */
    cr_assert_eq(count(r.out, "subgraph cluster_"), 10);
    /* The deadlock: each mutex is held by the other's waiter. */
    cr_assert_not_null(strstr(r.out, "t0_p0 -> t0_g3 [label=\"held by\""));
    cr_assert_not_null(strstr(r.out, "t0_p1 -> t0_g2 [label=\"held by\""));
    cr_assert_not_null(strstr(r.out, "t0_g2 -> t0_p0 [label=\"sync.Mutex."
                                     "Lock\"]"));
    cr_assert_not_null(strstr(r.out, "t0_g3 -> t0_p1 [label=\"sync.Mutex."
                                     "Lock\"]"));
    free_result(&r);
}

Test(svg, draws_with_graphviz)
{
    char dir[] = "/tmp/leash-cli-XXXXXX", *path, *svg;
    struct result r;

    if (access("/usr/bin/dot", X_OK) != 0)
        cr_skip_test("Graphviz's dot is not installed");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert(asprintf(&path, "%s/leaks.svg", dir) > 0);
    r = LEASH(RUN_DIR, "svg", RUN_INPUTS, "-o", path);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    svg = read_file(path);
    cr_assert_not_null(strstr(svg, "<svg"));
    cr_assert_not_null(strstr(svg, "ledger/deadlock"));
    free(svg);
    unlink(path);
    rmdir(dir);
    free(path);
    free_result(&r);
}

Test(svg, clear_error_without_graphviz)
{
    struct result r = LEASH_ENV(RUN_DIR, ((const char *const[]){
                                    "PATH=/nonexistent", NULL }),
                                "svg", RUN_INPUTS, "-o", "/tmp/x.svg");

    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "leash: svg: Graphviz's 'dot' command was not "
                            "found on PATH: install Graphviz (Debian: "
                            "apt-get install graphviz), or write the graph "
                            "with 'leash dot' and draw it elsewhere\n");
    free_result(&r);

    r = LEASH_ENV(RUN_DIR, ((const char *const[]){
                      "LEASH_DOT=/bin/false", NULL }), "svg", RUN_INPUTS);
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "leash: svg: /bin/false failed (exit status "
                            "1)\n");
    free_result(&r);
}

/* ------------------------------------------------------------------ */
/* allowlist validate                                                   */
/* ------------------------------------------------------------------ */

Test(validate, valid_file)
{
    struct result r = LEASH(CLI_DIR, "allowlist", "validate",
                            "allow/good.yaml");

    cr_assert_eq(r.status, 0);
    cr_assert_str_eq(r.out, "allow/good.yaml: ok, 2 entries\n");
    cr_assert_str_eq(r.err, "allow/good.yaml:6: warning: entry expired on "
                            "2025-06-30: old metrics pusher, gone since "
                            "the v3 rewrite\n");
    free_result(&r);

    r = LEASH(CLI_DIR, "allowlist", "validate", "-q", "allow/good.yaml",
              "run/leash-allow.yaml");
    cr_assert_eq(r.status, 0);
    cr_assert_str_empty(r.out);
    free_result(&r);
}

Test(validate, invalid_files)
{
    struct result r = LEASH(CLI_DIR, "allowlist", "validate",
                            "allow/good.yaml", "allow/bad-key.yaml",
                            "allow/bad-date.yaml", "allow/empty.yaml",
                            "allow/missing.yaml");

    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.out, "allow/good.yaml: ok, 2 entries\n");
    cr_assert_str_eq(r.err,
        "allow/good.yaml:6: warning: entry expired on 2025-06-30: old "
        "metrics pusher, gone since the v3 rewrite\n"
        "allow/bad-key.yaml:4:5: unknown key \"entyr\" in an allow entry; "
        "the keys are entry, top, frame, creator, wait, file, test, "
        "reason, max and expires\n"
        "allow/bad-date.yaml:5:14: \"expires\": there is no such date as "
        "\"2025-02-30\"\n"
        "allow/empty.yaml:1:1: the file has no content; it needs "
        "\"version: 1\" and an \"allow\" list\n"
        "allow/missing.yaml: cannot read: No such file or directory\n");
    free_result(&r);
}

Test(validate, usage)
{
    struct result r = LEASH(CLI_DIR, "allowlist", "validate");

    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "leash: allowlist validate: no file given\n");
    free_result(&r);

    r = LEASH(CLI_DIR, "allowlist", "validate", "--strict", "a.yaml");
    cr_assert_eq(r.status, 2);
    free_result(&r);
}

/* ------------------------------------------------------------------ */
/* A live run                                                           */
/* ------------------------------------------------------------------ */

/*
 * Run tests/cli/suite.c as CI would and read what it wrote: the reports
 * of today's harness, not the fixtures, must give the same verdict.
 */
Test(live, suite_reports, .timeout = 120)
{
    char dir[] = "/tmp/leash-cli-XXXXXX", *reports, *xml, *xml_opt, *env;
    struct result r;

    cr_assert_not_null(mkdtemp(dir));
    cr_assert(asprintf(&reports, "%s/reports", dir) > 0);
    cr_assert(asprintf(&xml, "%s/criterion.xml", dir) > 0);
    cr_assert(asprintf(&xml_opt, "--xml=%s", xml) > 0);
    cr_assert(asprintf(&env, "LEASH_REPORT_DIR=%s", reports) > 0);

    r = run_prog(CLI_SUITE, RUN_DIR, (const char *const[]){
                     env, "LEASH_ALLOWLIST=leash-allow.yaml", NULL },
                 (const char *const[]){ "cli_suite", xml_opt, "-j2",
                                        NULL });
    cr_assert_eq(r.status, 1, "the suite exited %d: %s", r.status, r.err);
    free_result(&r);

    r = LEASH(RUN_DIR, "check", reports, "--xml", xml);
    cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_assert_str_empty(r.err);
    cr_assert_not_null(strstr(r.out, "\nleash: FAIL: 9 of 13 tests leaked "
                                     "goroutines outside the allowlist; 2 "
                                     "tests wrote no leak report\n"),
                       "%s", r.out);
    cr_assert_not_null(strstr(r.out, "FAIL  shop/lost_reply: 1 goroutine "
                                     "not allowed\n  goroutine 2 [chan "
                                     "send] price_lookup at "));
    cr_assert_not_null(strstr(r.out, "NO REPORT crash/segfault: "));
    cr_assert_not_null(strstr(r.out, "NO REPORT crash/hangs: timed out"));
    cr_assert_not_null(strstr(r.out, "unused allowances (matched nothing "
                                     "in this run):\n  leash-allow.yaml:17:"
                                     " report flusher"), "%s", r.out);
    free_result(&r);

    r = LEASH(RUN_DIR, "sarif", reports, "--xml", xml);
    cr_assert_eq(r.status, 0);
    check_sarif(r.out);
    free_result(&r);

    r = LEASH(RUN_DIR, "check", reports, "--test", "shop/checkout_*",
              "--test", "pool/idle_*");
    cr_assert_eq(r.status, 0, "%s", r.out);
    free_result(&r);

    free(reports);
    free(xml);
    free(xml_opt);
    free(env);
    remove_tree(dir);
}

/* ------------------------------------------------------------------ */
/* ci/gate.sh                                                           */
/* ------------------------------------------------------------------ */

#define GATE CLI_DIR "/../../ci/gate.sh"

#define RUN_GATE(dir, ...)                                              \
    run_prog("/bin/bash", dir, NULL,                                    \
             (const char *const[]){ "bash", GATE, "--leash", LEASH_CLI, \
                                    __VA_ARGS__, NULL })

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* Bad usage is status 2 with a message, never 1, which means leaks. */
Test(gate, usage_errors_exit_2)
{
    static const char *const cases[][3] = {
        { "--out", NULL, "gate: --out needs an argument\n" },
        { "--reports", NULL, "gate: --reports needs an argument\n" },
        { "--allowlist", "--", "gate: --allowlist needs an argument\n" },
        { "--allowlist", "/tmp",
          "gate: allowlist /tmp is a directory, not a file\n" },
        { "--reports", ".", "gate: --reports . is the working directory; "
          "give the reports a directory of their own\n" },
        { "--reports", "/proc/foo", "gate: cannot create the report "
          "directory /proc/foo\n" },
    };
    char dir[] = "/tmp/leash-gate-XXXXXX";
    struct result r;
    size_t i;

    cr_assert_not_null(mkdtemp(dir));
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i][1] != NULL)
            r = RUN_GATE(dir, cases[i][0], cases[i][1], "--", "true");
        else
            r = RUN_GATE(dir, cases[i][0]);
        cr_expect_eq(r.status, 2, "%s: exit %d: %s", cases[i][0],
                     r.status, r.err);
        cr_expect(strncmp(r.err, cases[i][2], strlen(cases[i][2])) == 0,
                  "%s %s: %s", cases[i][0], cases[i][1], r.err);
        free_result(&r);
    }
    remove_tree(dir);
}

/* --reports on a directory with the user's files: refused, untouched. */
Test(gate, reports_dir_with_other_files_is_refused)
{
    char dir[] = "/tmp/leash-gate-XXXXXX", *rep, *notes, *pkg;
    struct result r;
    struct stat st;

    cr_assert_not_null(mkdtemp(dir));
    cr_assert(asprintf(&rep, "%s/rep", dir) > 0);
    cr_assert(asprintf(&notes, "%s/notes.txt", rep) > 0);
    cr_assert(asprintf(&pkg, "%s/package.json", rep) > 0);
    cr_assert_eq(mkdir(rep, 0777), 0);
    write_file(notes, "mine\n");
    r = RUN_GATE(dir, "--reports", "rep", "--", "true");
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.err, "gate: --reports rep holds files that are not "
                     "leash reports (notes.txt); give an empty or new "
                     "directory\n");
    cr_expect_eq(stat(notes, &st), 0, "notes.txt was deleted");
    free_result(&r);

    /* A JSON file that is not a leash report is the user's too. */
    unlink(notes);
    write_file(pkg, "{\"name\": \"shop\"}\n");
    r = RUN_GATE(dir, "--reports", "rep", "--", "true");
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect_eq(stat(pkg, &st), 0, "package.json was deleted");
    free_result(&r);
    free(rep);
    free(notes);
    free(pkg);
    remove_tree(dir);
}

/* Old reports and the harness's temporary files go; the directory
 * stays, and gets this run's reports. */
Test(gate, old_reports_are_replaced, .timeout = 120)
{
    char dir[] = "/tmp/leash-gate-XXXXXX", *rep, *old, *tmp, *new;
    struct result r;
    struct stat st;

    cr_assert_not_null(mkdtemp(dir));
    cr_assert(asprintf(&rep, "%s/rep", dir) > 0);
    cr_assert(asprintf(&old, "%s/old.test.json", rep) > 0);
    cr_assert(asprintf(&tmp, "%s/.old.test.json.42.tmp", rep) > 0);
    cr_assert(asprintf(&new, "%s/shop.checkout_clean.json", rep) > 0);
    cr_assert_eq(mkdir(rep, 0777), 0);
    write_file(old, "{\"schema\": \"leash-report\", \"version\": 1}\n");
    write_file(tmp, "{");
    r = RUN_GATE(dir, "--reports", "rep", "--out", "out", "--",
                 CLI_SUITE, "--filter=shop/checkout_clean");
    cr_expect_eq(r.status, 0, "exit %d: %s\n%s", r.status, r.err, r.out);
    cr_expect_neq(stat(old, &st), 0, "the old report is still there");
    cr_expect_neq(stat(tmp, &st), 0, "the temporary file is still there");
    cr_expect_eq(stat(new, &st), 0, "no new report");
    free_result(&r);
    free(rep);
    free(old);
    free(tmp);
    free(new);
    remove_tree(dir);
}
