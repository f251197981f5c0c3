/*
 * leash: the command-line tool. Options, subcommands and help.
 *
 * Every subcommand but `allowlist validate` reads the same inputs (report
 * directories and files, Criterion XML, an allowlist) through lc_run_load,
 * so they agree on what a run contains; they differ only in what they
 * write. Exit statuses are the same everywhere: 0 done (check: no leak
 * outside the allowlist), 1 leaks (check only), 2 bad usage or input.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LEASH_VERSION
#define LEASH_VERSION "unknown"
#endif

static const char usage_text[] =
    "usage: leash <command> [options] [REPORT_DIR | REPORT.json]...\n"
    "\n"
    "Reads the JSON leak reports that leash tests write into\n"
    "$LEASH_REPORT_DIR (one per test) and reports on the whole run.\n"
    "\n"
    "commands:\n"
    "  check        summary and verdict: exit 0 when no test leaked\n"
    "               outside the allowlist, 1 when one did (or ended early\n"
    "               without a report, or could not be checked)\n"
    "  markdown     the summary as markdown, for a CI job summary\n"
    "  annotations  GitHub workflow commands (::error file=...,line=...)\n"
    "               at the line where each leaked goroutine blocks\n"
    "  sarif        SARIF 2.1.0, for code scanning\n"
    "  dot          a Graphviz graph of who waits on what\n"
    "  svg          the same graph drawn by Graphviz's dot (-o FILE)\n"
    "  allowlist validate FILE...\n"
    "               check allowlist files (for pre-commit hooks)\n"
    "\n"
    "options:\n"
    "  -a, --allowlist FILE  the allowlist to list unused and expired\n"
    "                        entries of (default: the one each report\n"
    "                        names)\n"
    "  -x, --xml FILE        Criterion's --xml output of the run; tests\n"
    "                        that crashed, timed out or exited early\n"
    "                        without a report then fail the check\n"
    "                        (repeatable)\n"
    "  -t, --test GLOB       only tests whose suite/name matches\n"
    "                        (repeatable)\n"
    "  -r, --root DIR        show paths relative to DIR (default:\n"
    "                        $GITHUB_WORKSPACE, $CI_PROJECT_DIR, or the\n"
    "                        current directory)\n"
    "  -o, --output FILE     write there instead of standard output\n"
    "  -v, --verbose         check: list allowed leaks too\n"
    "  -q, --quiet           check: print the verdict line only\n"
    "  -h, --help            this help\n"
    "      --version         the version\n"
    "\n"
    "With no REPORT_DIR, $LEASH_REPORT_DIR is read.\n"
    "Exit status: 0 done, 1 leaks (check), 2 bad usage or input.\n";

static const char validate_usage[] =
    "usage: leash allowlist validate [-q] FILE...\n"
    "\n"
    "Checks each allowlist as the harness would load it and prints\n"
    "FILE:LINE:COLUMN: message for the first problem in each file.\n"
    "Exit status: 0 all valid, 1 a file is invalid, 2 bad usage.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("leash: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nrun 'leash --help' for usage\n", stderr);
    return LC_EXIT_INPUT;
}

static const struct {
    const char *name;
    int (*fn)(struct lc_run *);
} commands[] = {
    { "check", lc_cmd_check },
    { "markdown", lc_cmd_markdown },
    { "annotations", lc_cmd_annotations },
    { "sarif", lc_cmd_sarif },
    { "dot", lc_cmd_dot },
    { "svg", lc_cmd_svg },
};

static void push(const char ***list, size_t *n, const char *s)
{
    *list = lc_xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = s;
}

static const char *default_root(char *buf, size_t len)
{
    const char *vars[] = { "GITHUB_WORKSPACE", "CI_PROJECT_DIR" };
    size_t i;

    for (i = 0; i < 2; i++) {
        const char *v = getenv(vars[i]);

        if (v != NULL && v[0] != '\0')
            return v;
    }
    return getcwd(buf, len);
}

static int run_command(int (*fn)(struct lc_run *), int argc, char **argv)
{
    static const struct option longs[] = {
        { "allowlist", required_argument, NULL, 'a' },
        { "xml", required_argument, NULL, 'x' },
        { "test", required_argument, NULL, 't' },
        { "root", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, 'o' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct lc_opts o;
    struct lc_run run;
    char cwd[4096], *prog;
    const char *env, *cmd;
    int c, rc;

    memset(&o, 0, sizeof o);
    /* getopt names argv[0] in its messages: make it "leash check". */
    cmd = argv[0];
    prog = lc_xasprintf("leash %s", cmd);
    argv[0] = prog;
    optind = 1;
    while ((c = getopt_long(argc, argv, "a:x:t:r:o:vqh", longs, NULL)) != -1) {
        switch (c) {
        case 'a':
            o.allowlist = optarg;
            break;
        case 'x':
            push(&o.xml, &o.nxml, optarg);
            break;
        case 't':
            push(&o.tests, &o.ntests, optarg);
            break;
        case 'r':
            o.root = optarg;
            break;
        case 'o':
            o.output = optarg;
            break;
        case 'v':
            o.verbose = true;
            break;
        case 'q':
            o.quiet = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            rc = LC_EXIT_OK;
            goto out;
        default:
            fputs("run 'leash --help' for usage\n", stderr);
            rc = LC_EXIT_INPUT;
            goto out;
        }
    }
    for (; optind < argc; optind++)
        push(&o.inputs, &o.ninputs, argv[optind]);
    env = getenv("LEASH_REPORT_DIR");
    if (o.ninputs == 0 && env != NULL && env[0] != '\0')
        push(&o.inputs, &o.ninputs, env);
    if (o.ninputs == 0) {
        rc = usage_error("%s: no report directory or file given (and "
                         "LEASH_REPORT_DIR is not set)", cmd);
        goto out;
    }
    if (o.root == NULL)
        o.root = default_root(cwd, sizeof cwd);

    rc = lc_run_load(&run, &o) == 0 ? fn(&run) : LC_EXIT_INPUT;
    lc_run_free(&run);
out:
    free(prog);
    free(o.xml);
    free(o.tests);
    free(o.inputs);
    return rc;
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2)
        return usage_error("%s", "a command is needed");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return LC_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 ||
        strcmp(argv[1], "version") == 0) {
        printf("leash %s\n", LEASH_VERSION);
        return LC_EXIT_OK;
    }
    if (strcmp(argv[1], "allowlist") == 0) {
        if (argc >= 3 && (strcmp(argv[2], "-h") == 0 ||
                          strcmp(argv[2], "--help") == 0)) {
            fputs(validate_usage, stdout);
            return LC_EXIT_OK;
        }
        if (argc < 3 || strcmp(argv[2], "validate") != 0) {
            fputs(validate_usage, stderr);
            return LC_EXIT_INPUT;
        }
        return lc_cmd_allowlist_validate(argc - 2, argv + 2);
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return run_command(commands[i].fn, argc - 1, argv + 1);
    return usage_error("unknown command '%s'", argv[1]);
}
