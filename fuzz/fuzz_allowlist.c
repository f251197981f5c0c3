/*
 * libFuzzer target: leash_allowlist_parse on arbitrary bytes.
 *
 * Besides what the sanitizers catch, it checks the promises of the API: a
 * rejected input gets an error naming the input as "fuzz:line:col: " (or
 * "fuzz: out of memory"), always NUL-terminated; an accepted one has
 * entries with a reason and at least one matcher, and survives matching
 * and describing into buffers of every small size. The subject to match is
 * cut from the input itself, so that globs and names sometimes agree.
 */
#include "allowlist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_allowlist: broken promise: %s\n", what);
        abort();
    }
}

/* The error of a rejected input. */
static void check_error(const char *err, size_t errlen)
{
    unsigned line, col;
    int n = 0;

    check(memchr(err, '\0', errlen) != NULL, "error not terminated");
    if (strcmp(err, "fuzz: out of memory") == 0)
        return;
    check(sscanf(err, "fuzz:%u:%u: %n", &line, &col, &n) == 2 && n > 0,
          "error without fuzz:line:col:");
    check(line >= 1 && col >= 1, "line or column not 1-based");
    check(err[n] != '\0', "error without a message");
}

/* Up to 8 NUL-terminated strings cut from the input at newlines. */
static size_t cut_lines(const uint8_t *data, size_t size, char *copy,
                        const char **lines, size_t max)
{
    size_t i, n = 0;

    memcpy(copy, data, size);
    copy[size] = '\0';
    lines[n++] = copy;
    for (i = 0; i < size && n < max; i++) {
        if (copy[i] == '\n') {
            copy[i] = '\0';
            lines[n++] = copy + i + 1;
        }
    }
    return n;
}

static void exercise(leash_allowlist_t *al, const uint8_t *data, size_t size)
{
    const char *lines[8] = { 0 };
    leash_allow_entry_info_t in;
    leash_allow_subject_t s;
    char *copy = malloc(size + 1), d[64];
    size_t i, n, len;
    int idx;

    check(copy != NULL, "malloc");
    n = cut_lines(data, size, copy, lines, 8);
    s.test = lines[0];
    s.entry = lines[1 % n];
    s.creator = n > 2 ? lines[2] : NULL;
    s.wait_reason = lines[3 % n];
    s.nframes = n;
    s.frame_funcs = lines;
    s.frame_files = lines;

    for (i = 0; i < leash_allowlist_count(al); i++) {
        leash_allowlist_entry(al, i, &in);
        check(in.reason != NULL && in.reason[0] != '\0', "empty reason");
        check(in.line >= 1, "entry line");
        check(in.max >= 0 && in.expires >= 0, "max or expires negative");
        for (len = 0; len <= sizeof d; len++) {
            memset(d, 'X', sizeof d);
            leash_allowlist_describe(al, i, d, len);
            check(len == 0 || memchr(d, '\0', len) != NULL,
                  "describe not terminated");
        }
        check(d[0] != '\0', "entry without matchers");
    }
    for (i = 0; i < 3; i++) {
        enum leash_allow_verdict v;

        v = leash_allowlist_match(al, &s, (long)i * 20000, &idx);
        check(v == LEASH_ALLOW_NONE ? idx == -1 :
              idx >= 0 && (size_t)idx < leash_allowlist_count(al),
              "entry index");
    }
    leash_allowlist_reset_counts(al);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[200];
    leash_allowlist_t *al;

    memset(err, 'X', sizeof err);
    al = leash_allowlist_parse("fuzz", (const char *)data, size, err,
                               sizeof err);
    if (al == NULL) {
        check_error(err, sizeof err);
        return 0;
    }
    check(err[0] == '\0', "error text on success");
    exercise(al, data, size);
    leash_allowlist_free(al);
    return 0;
}
