/*
 * `leash allowlist validate FILE...`: load each allowlist exactly as the
 * harness does (the same loader, harness/allowlist.c, is compiled in), so
 * a pre-commit hook rejects what a test run would reject, with the same
 * "path:line:column: message". Entries past their expiry date are
 * warnings: the file is valid, but tests that relied on them now fail.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allowlist.h"

static void warn_expired(const char *path, leash_allowlist_t *al)
{
    long today = leash_today();
    size_t i, n = leash_allowlist_count(al);

    for (i = 0; i < n; i++) {
        leash_allow_entry_info_t info;
        time_t t;
        struct tm tm;
        char day[32] = "?";
        char *reason;

        leash_allowlist_entry(al, i, &info);
        if (info.expires == 0 || info.expires >= today)
            continue;
        t = (time_t)info.expires * 86400;
        if (gmtime_r(&t, &tm) != NULL)
            strftime(day, sizeof day, "%Y-%m-%d", &tm);
        reason = lc_xstrdup(info.reason);
        lc_scrub(reason);
        fprintf(stderr, "%s:%d: warning: entry expired on %s: %s\n", path,
                info.line, day, reason);
        free(reason);
    }
}

int lc_cmd_allowlist_validate(int argc, char **argv)
{
    const char **files = lc_xcalloc((size_t)argc, sizeof *files);
    bool quiet = false, bad = false, options = true;
    int i, n = 0;

    for (i = 1; i < argc; i++) {
        if (options && strcmp(argv[i], "--") == 0) {
            options = false;
        } else if (options && (strcmp(argv[i], "-q") == 0 ||
                               strcmp(argv[i], "--quiet") == 0)) {
            quiet = true;
        } else if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
            lc_error("allowlist validate: unknown option '%s'", argv[i]);
            free(files);
            return LC_EXIT_INPUT;
        } else {
            files[n++] = argv[i];
        }
    }
    if (n == 0) {
        lc_error("allowlist validate: no file given");
        free(files);
        return LC_EXIT_INPUT;
    }
    for (i = 0; i < n; i++) {
        char err[1024];
        leash_allowlist_t *al = leash_allowlist_load(files[i], err,
                                                     sizeof err);
        size_t count;

        if (al == NULL) {
            fprintf(stderr, "%s\n", err);
            bad = true;
            continue;
        }
        warn_expired(files[i], al);
        count = leash_allowlist_count(al);
        if (!quiet)
            printf("%s: ok, %zu %s\n", files[i], count,
                   lc_plural(count, "entry", "entries"));
        leash_allowlist_free(al);
    }
    free(files);
    return bad ? LC_EXIT_LEAKS : LC_EXIT_OK;
}
