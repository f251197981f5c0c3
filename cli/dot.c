/*
 * `leash dot` and `leash svg`: a Graphviz graph of who waits on what.
 *
 * One cluster per test with goroutines in its report (each test ran in a
 * process of its own, so addresses of different tests are unrelated).
 * Goroutines are boxes, coloured by verdict; primitives are ellipses,
 * one per address; an edge goes from a goroutine to what it waits on,
 * labelled with the wait reason, and from a locked mutex to the goroutine
 * that holds it, so a lock cycle reads as a cycle. A goroutine that holds
 * a lock but is not in the report (it was not leaked) is drawn dashed.
 * Dotted grey edges link a goroutine to the one that created it, when
 * both are drawn.
 *
 * `svg` pipes the same text through Graphviz's dot (or $LEASH_DOT).
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* A label string: quotes and backslashes escaped, newlines as \n. */
static void dot_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else if (*s != '\r')
            fputc(*s, f);
    }
    fputc('"', f);
}

static const char *fill_of(const struct lc_leak *l)
{
    if (!l->leaked && l->verdict != LC_ALLOWED)
        return "#fff3cd";
    switch (l->verdict) {
    case LC_ALLOWED:
        return "#e2efda";
    case LC_EXPIRED:
    case LC_OVER_MAX:
        return "#fde2c4";
    case LC_NOT_ALLOWED:
        break;
    }
    return "#f8d7da";
}

static const struct lc_leak *find_leak(const struct lc_report *r, long id)
{
    size_t i;

    for (i = 0; i < r->nleaks; i++)
        if (r->leaks[i].id == id)
            return &r->leaks[i];
    return NULL;
}

static void goroutine_node(FILE *f, const struct lc_run *run, size_t t,
                           const struct lc_leak *l)
{
    const struct lc_frame *at = lc_block_frame(l);
    char *label, *where;

    where = at != NULL ? lc_xasprintf("\n%s:%ld", lc_rel(run->opts,
                                                          at->file),
                                      at->line)
                       : lc_xstrdup("");
    label = lc_xasprintf("goroutine %ld\n%s\n[%s]%s%s%s", l->id,
                         l->entry.func, lc_reason(l), where,
                         l->verdict != LC_NOT_ALLOWED ? "\n" : "",
                         l->verdict != LC_NOT_ALLOWED
                             ? lc_verdict_name(l->verdict)
                             : (!l->leaked ? "\nalive (strict)" : ""));
    fprintf(f, "        t%zu_g%ld [shape=box, style=\"rounded,filled\", "
            "fillcolor=\"%s\", label=", t, l->id, fill_of(l));
    dot_str(f, label);
    fputs("];\n", f);
    free(label);
    free(where);
}

/* The primitives of one test, by address. */
struct prims {
    const char **addr;
    size_t n;
};

static size_t prim_index(struct prims *p, const char *addr, bool *fresh)
{
    size_t i;

    for (i = 0; i < p->n; i++)
        if (strcmp(p->addr[i], addr) == 0) {
            *fresh = false;
            return i;
        }
    p->addr = lc_xrealloc(p->addr, (p->n + 1) * sizeof *p->addr);
    p->addr[p->n] = addr;
    *fresh = true;
    return p->n++;
}

static void prim_node(FILE *f, const struct lc_run *run, size_t t,
                      size_t i, const struct lc_leak *l)
{
    char *label;

    if (l->has_site && l->prim_site.file != NULL)
        label = lc_xasprintf("%s %s\n%s at %s:%ld", l->prim_kind,
                             l->prim_addr,
                             strcmp(l->prim_kind, "channel") == 0
                                 ? "made" : "first used",
                             lc_rel(run->opts, l->prim_site.file),
                             l->prim_site.line);
    else
        label = lc_xasprintf("%s %s", l->prim_kind, l->prim_addr);
    fprintf(f, "        t%zu_p%zu [shape=ellipse, label=", t, i);
    dot_str(f, label);
    fputs("];\n", f);
    free(label);
}

static void test_cluster(FILE *f, const struct lc_run *run, size_t t,
                         const struct lc_report *r)
{
    struct prims prims = { NULL, 0 };
    long *outsiders = lc_xcalloc(r->nleaks, sizeof *outsiders);
    size_t i, j, nout = 0;
    bool nil_node = false;

    fprintf(f, "    subgraph cluster_%zu {\n        label=", t);
    dot_str(f, r->display);
    fputs(";\n        style=rounded;\n", f);

    for (i = 0; i < r->nleaks; i++)
        goroutine_node(f, run, t, &r->leaks[i]);

    for (i = 0; i < r->nleaks; i++) {
        const struct lc_leak *l = &r->leaks[i];
        char *edge;
        bool fresh;
        size_t p;

        if (!l->has_prim) {
            if (l->wait_reason[0] == '\0')
                continue;
            if (!nil_node)
                fprintf(f, "        t%zu_nil [shape=plaintext, label=\""
                        "nothing: never ready\"];\n", t);
            nil_node = true;
            fprintf(f, "        t%zu_g%ld -> t%zu_nil [label=", t, l->id,
                    t);
            dot_str(f, l->wait_reason);
            fputs("];\n", f);
            continue;
        }
        p = prim_index(&prims, l->prim_addr, &fresh);
        if (fresh) {
            prim_node(f, run, t, p, l);
            if (l->holder_id != 0) {
                fprintf(f, "        t%zu_p%zu -> t%zu_g%ld [label=\"held "
                        "by\", style=dashed];\n", t, p, t, l->holder_id);
                if (find_leak(r, l->holder_id) == NULL) {
                    for (j = 0; j < nout; j++)
                        if (outsiders[j] == l->holder_id)
                            break;
                    if (j == nout)
                        outsiders[nout++] = l->holder_id;
                }
            }
        }
        edge = l->prim_count > 1
                   ? lc_xasprintf("%s (1 of %ld)", lc_reason(l),
                                  l->prim_count)
                   : lc_xstrdup(lc_reason(l));
        fprintf(f, "        t%zu_g%ld -> t%zu_p%zu [label=", t, l->id, t, p);
        dot_str(f, edge);
        fputs("];\n", f);
        free(edge);
    }
    for (i = 0; i < nout; i++)
        fprintf(f, "        t%zu_g%ld [shape=box, style=\"rounded,dashed\", "
                "label=\"goroutine %ld\\nnot in the report\"];\n", t,
                outsiders[i], outsiders[i]);

    /* Who created whom, among the goroutines drawn. */
    for (i = 0; i < r->nleaks; i++) {
        const struct lc_leak *l = &r->leaks[i];

        if (l->parent_id != 0 && find_leak(r, l->parent_id) != NULL)
            fprintf(f, "        t%zu_g%ld -> t%zu_g%ld [label=\"created\", "
                    "style=dotted, color=gray50, fontcolor=gray50];\n", t,
                    l->parent_id, t, l->id);
    }
    fputs("    }\n", f);
    free(prims.addr);
    free(outsiders);
}

void lc_write_dot(struct lc_run *run, FILE *f)
{
    size_t i, drawn = 0;

    fputs("digraph leash {\n", f);
    fputs("    graph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, "
          "label=\"leash: who waits on what\"];\n", f);
    fputs("    node [fontname=\"Helvetica\", fontsize=10];\n", f);
    fputs("    edge [fontname=\"Helvetica\", fontsize=9];\n", f);
    for (i = 0; i < run->nreports; i++) {
        if (run->reports[i].nleaks == 0)
            continue;
        test_cluster(f, run, i, &run->reports[i]);
        drawn++;
    }
    if (drawn == 0)
        fputs("    none [shape=plaintext, label=\"no goroutine left in any "
              "test\"];\n", f);
    fputs("}\n", f);
}

int lc_cmd_dot(struct lc_run *run)
{
    FILE *f = lc_open_output(run->opts);

    if (f == NULL)
        return LC_EXIT_INPUT;
    lc_write_dot(run, f);
    return lc_close_output(run->opts, f) == 0 ? LC_EXIT_OK : LC_EXIT_INPUT;
}

/* Is prog an executable, found as execvp would find it? */
static bool on_path(const char *prog)
{
    const char *path = getenv("PATH"), *p, *end;
    bool found = false;

    if (strchr(prog, '/') != NULL)
        return access(prog, X_OK) == 0;
    if (path == NULL)
        path = "/usr/bin:/bin";
    for (p = path; !found; p = end + 1) {
        size_t n;
        char *cand;
        struct stat st;

        end = strchr(p, ':');
        if (end == NULL)
            end = p + strlen(p);
        n = (size_t)(end - p);
        cand = lc_xasprintf("%.*s/%s", (int)n, n > 0 ? p : ".", prog);
        found = stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
                access(cand, X_OK) == 0;
        free(cand);
        if (*end == '\0')
            break;
    }
    return found;
}

int lc_cmd_svg(struct lc_run *run)
{
    const char *dot = getenv("LEASH_DOT");
    const char *out = run->opts->output;
    posix_spawn_file_actions_t fa;
    char *argv[5];
    int fds[2], status, rc;
    pid_t pid;
    FILE *f;

    if (dot == NULL || dot[0] == '\0')
        dot = "dot";
    if (!on_path(dot)) {
        lc_error("svg: Graphviz's '%s' command was not found on PATH: "
                 "install Graphviz (Debian: apt-get install graphviz), or "
                 "write the graph with 'leash dot' and draw it elsewhere",
                 dot);
        return LC_EXIT_INPUT;
    }
    argv[0] = (char *)dot;
    argv[1] = (char *)"-Tsvg";
    argv[2] = out != NULL && strcmp(out, "-") != 0 ? (char *)"-o" : NULL;
    argv[3] = argv[2] != NULL ? (char *)out : NULL;
    argv[4] = NULL;

    if (pipe2(fds, O_CLOEXEC) != 0) {
        lc_error("svg: pipe: %s", strerror(errno));
        return LC_EXIT_INPUT;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    rc = posix_spawnp(&pid, dot, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (rc != 0) {
        close(fds[1]);
        lc_error("svg: cannot run %s: %s", dot, strerror(rc));
        return LC_EXIT_INPUT;
    }

    /* dot failing early must end in its message, not in SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    f = fdopen(fds[1], "w");
    if (f == NULL) {
        close(fds[1]);
    } else {
        lc_write_dot(run, f);
        fclose(f);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        lc_error("svg: %s failed (%s %d)", dot,
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status)
                                   : WTERMSIG(status));
        return LC_EXIT_INPUT;
    }
    return LC_EXIT_OK;
}
