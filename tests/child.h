/*
 * Run code that must die (a panic, a fatal error, a deadlock) in a child
 * process, and collect how it ended and what it wrote to stderr.
 *
 * The child is forked before the parent touches the runtime, so it starts
 * the runtime afresh; it runs with core dumps off and an alarm, so that a
 * hang ends as SIGALRM instead of blocking the suite. Its stdout goes to
 * /dev/null. If the function returns, the child exits with status 0.
 *
 * Only for test files (the assert_ helpers need Criterion); everything is
 * static.
 */
#ifndef LEASH_TESTS_CHILD_H
#define LEASH_TESTS_CHILD_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Seconds a child may run before SIGALRM ends it. */
#define CHILD_ALARM 30

struct child_result {
    int status;      /* as waitpid stores it */
    char *err;       /* all of stderr, NUL-terminated; malloc'd */
    size_t len;
};

/* No core files: a child that aborts on purpose must not write one. Also
 * a Criterion .init for tests that expect a signal. */
static inline void child_no_core(void)
{
    struct rlimit no_core = { 0, 0 };

    setrlimit(RLIMIT_CORE, &no_core);
}

static inline void child_run(void (*fn)(void), struct child_result *r)
{
    int fds[2], devnull;
    size_t cap = 4096;
    pid_t pid;

    memset(r, 0, sizeof *r);
    r->err = malloc(cap);
    if (r->err == NULL || pipe(fds) != 0)
        abort();
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        child_no_core();
        signal(SIGALRM, SIG_DFL);
        alarm(CHILD_ALARM);
        fn();
        fflush(stderr);
        _exit(0);
    }

    /* Read until the child closes its end: a big dump must not fill the
     * pipe and block the child. */
    close(fds[1]);
    for (;;) {
        ssize_t n;

        if (r->len + 1 >= cap) {
            cap *= 2;
            r->err = realloc(r->err, cap);
            if (r->err == NULL)
                abort();
        }
        n = read(fds[0], r->err + r->len, cap - r->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        r->len += (size_t)n;
    }
    r->err[r->len] = '\0';
    close(fds[0]);
    while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
        ;
}

static inline void child_free(struct child_result *r)
{
    free(r->err);
    r->err = NULL;
}

static inline bool child_aborted(const struct child_result *r)
{
    return WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT;
}

static inline int child_exit_code(const struct child_result *r)
{
    return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

/* How the child ended, for messages. */
static inline const char *child_how(const struct child_result *r)
{
    static char buf[64];

    if (WIFEXITED(r->status))
        snprintf(buf, sizeof buf, "exit status %d", WEXITSTATUS(r->status));
    else if (WIFSIGNALED(r->status))
        snprintf(buf, sizeof buf, "signal %d (%s)", WTERMSIG(r->status),
                 strsignal(WTERMSIG(r->status)));
    else
        snprintf(buf, sizeof buf, "status 0x%x", r->status);
    return buf;
}

/* Assert that the child aborted (SIGABRT). */
static inline void assert_child_aborted(const struct child_result *r)
{
    cr_assert(child_aborted(r), "child ended with %s; stderr:\n%s",
              child_how(r), r->err);
}

/* Assert that the child exited with status code. */
static inline void assert_child_exit(const struct child_result *r, int code)
{
    cr_assert_eq(child_exit_code(r), code, "child ended with %s; "
                 "stderr:\n%s", child_how(r), r->err);
}

/* Whether line i (from 0) of stderr is exactly want. */
static inline bool child_line_is(const struct child_result *r, int i,
                                 const char *want)
{
    const char *p = r->err, *end;
    size_t n = strlen(want);

    while (i-- > 0) {
        p = strchr(p, '\n');
        if (p == NULL)
            return false;
        p++;
    }
    end = strchr(p, '\n');
    if (end == NULL)
        end = p + strlen(p);
    return (size_t)(end - p) == n && memcmp(p, want, n) == 0;
}

/* Offset of the first line at or after from that is exactly want, or -1. */
static inline long child_find_line(const struct child_result *r,
                                   long from, const char *want)
{
    const char *p = r->err + from;
    size_t n = strlen(want);

    if (from < 0 || (size_t)from > r->len)
        return -1;
    if (from > 0 && r->err[from - 1] != '\n') {
        p = strchr(p, '\n');
        if (p == NULL)
            return -1;
        p++;
    }
    while (*p != '\0') {
        const char *end = strchr(p, '\n');

        if (end == NULL)
            end = p + strlen(p);
        if ((size_t)(end - p) == n && memcmp(p, want, n) == 0)
            return p - r->err;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    return -1;
}

/* Number of lines that are exactly want. */
static inline int child_count_lines(const struct child_result *r,
                                    const char *want)
{
    long at = 0;
    int n = 0;

    while ((at = child_find_line(r, at, want)) >= 0) {
        n++;
        at += (long)strlen(want) + 1;
        if ((size_t)at > r->len)
            break;
    }
    return n;
}

/*
 * Whether the block that starts with the line header (a goroutine in a
 * dump: its header up to the next empty line) holds a line exactly want.
 */
static inline bool child_block_has(const struct child_result *r,
                                   const char *header, const char *want)
{
    long at = child_find_line(r, 0, header);
    const char *p;
    size_t n = strlen(want);

    if (at < 0)
        return false;
    p = strchr(r->err + at, '\n');
    while (p != NULL && p[1] != '\0' && p[1] != '\n') {
        const char *line = p + 1, *end = strchr(line, '\n');

        if (end == NULL)
            end = line + strlen(line);
        if ((size_t)(end - line) == n && memcmp(line, want, n) == 0)
            return true;
        p = *end == '\0' ? NULL : end;
    }
    return false;
}

#endif
