/*
 * `leash sarif`: SARIF 2.1.0 (OASIS), for GitHub code scanning and other
 * viewers of static-analysis results.
 *
 * One result per group of goroutines of one test that block at the same
 * place (as in `check`), located at the blocking line, with the creator
 * and the primitive's origin as related locations and each goroutine's
 * stack as a SARIF stack. Allowed leaks are results with an external
 * suppression whose justification is the allowlist's reason, so viewers
 * show them as accepted. Every result has a physical location (a viewer
 * drops results without one); a test that wrote no report has none to
 * give, and becomes a tool execution notification instead.
 *
 * Paths under --root are relative to the base id %SRCROOT%, which is what
 * GitHub resolves against the repository; others are file:// URIs.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define SARIF_SCHEMA \
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/" \
    "sarif-schema-2.1.0.json"
#define SRCROOT "%SRCROOT%"

#ifndef LEASH_VERSION
#define LEASH_VERSION "unknown"
#endif

enum rule {
    RULE_LEAK,
    RULE_EXPIRED,
    RULE_OVER_MAX,
    RULE_STRICT,
    RULE_NO_CHECK,
    RULE_UNUSED,
    RULE_EXPIRED_ENTRY,
    NRULES
};

static const struct {
    const char *id, *name, *level, *short_text, *full_text;
} rules[NRULES] = {
    { "leash/goroutine-leak", "GoroutineLeak", "error",
      "A goroutine blocks forever",
      "A goroutine is blocked on channels or locks that nothing still "
      "running can reach, so it can never run again: its stack and "
      "everything it references stay in memory for good. Close the "
      "channel, cancel the context or return the lock on every path, or "
      "add an allowlist entry with a reason." },
    { "leash/expired-allowance", "ExpiredAllowance", "error",
      "A goroutine leak whose allowance expired",
      "The allowlist entry that allowed this leak is past its expiry "
      "date. Fix the leak, or extend the entry with a reason." },
    { "leash/over-max", "AllowanceOverMax", "error",
      "More goroutine leaks than an allowance allows",
      "An allowlist entry matched this goroutine but its max was used up "
      "by others of the same test." },
    { "leash/strict-alive", "GoroutineLeftRunning", "error",
      "A goroutine still runs after a strict test",
      "In strict mode every goroutine still alive when the test body "
      "returned fails the test, leaked or not (a poller whose ticker "
      "still fires, a server still listening)." },
    { "leash/no-leak-check", "NoLeakCheck", "error",
      "The leak check of a test did not run",
      "The harness could not check the test for leaks: a bad setting, an "
      "allowlist that cannot be loaded, or a report it could not write." },
    { "leash/unused-allowance", "UnusedAllowance", "warning",
      "An allowlist entry matched nothing",
      "No goroutine of the whole run matched this allowlist entry: the "
      "leak it was written for is gone, or the entry is too narrow." },
    { "leash/expired-entry", "ExpiredAllowlistEntry", "warning",
      "An allowlist entry is past its expiry date",
      "Goroutines this entry allowed now fail their tests." },
};

/* ------------------------------------------------------------------ */
/* Building blocks                                                      */
/* ------------------------------------------------------------------ */

static void set(json_t *o, const char *k, json_t *v)
{
    if (v == NULL || json_object_set_new(o, k, v) != 0) {
        fputs("leash: out of memory\n", stderr);
        exit(LC_EXIT_INPUT);
    }
}

static void push(json_t *a, json_t *v)
{
    if (v == NULL || json_array_append_new(a, v) != 0) {
        fputs("leash: out of memory\n", stderr);
        exit(LC_EXIT_INPUT);
    }
}

/* A JSON string, with bytes that are not UTF-8 replaced by "?". */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    char *copy;
    size_t i;

    if (j != NULL)
        return j;
    copy = lc_xstrdup(s);
    for (i = 0; copy[i] != '\0'; i++)
        if ((unsigned char)copy[i] >= 0x80)
            copy[i] = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static json_t *message(const char *text)
{
    json_t *m = json_object();

    set(m, "text", jstr(text));
    return m;
}

/* Percent-encode what may not stand in a URI path. */
static char *uri_path(const char *p)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = lc_xmalloc(strlen(p) * 3 + 1), *o = out;

    for (; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("-._~/!$&'()*+,;=:@", c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

static json_t *artifact(const struct lc_run *run, const char *file)
{
    const char *rel = lc_rel(run->opts, file);
    json_t *a = json_object();
    char *enc = uri_path(rel);

    if (rel != file || file[0] != '/') {
        set(a, "uri", jstr(enc));
        set(a, "uriBaseId", json_string(SRCROOT));
    } else {
        char *uri = lc_xasprintf("file://%s", enc);

        set(a, "uri", jstr(uri));
        free(uri);
    }
    free(enc);
    return a;
}

static json_t *physical(const struct lc_run *run, const char *file,
                        long line)
{
    json_t *p = json_object(), *region = json_object();

    set(p, "artifactLocation", artifact(run, file));
    set(region, "startLine", json_integer(line > 0 ? line : 1));
    set(p, "region", region);
    return p;
}

/* A location, with an id and a message when given. */
static json_t *location(const struct lc_run *run, const char *file,
                        long line, int id, const char *msg)
{
    json_t *l = json_object();

    if (id > 0)
        set(l, "id", json_integer(id));
    set(l, "physicalLocation", physical(run, file, line));
    if (msg != NULL)
        set(l, "message", message(msg));
    return l;
}

static json_t *result(enum rule r, const char *text)
{
    json_t *res = json_object();

    set(res, "ruleId", json_string(rules[r].id));
    set(res, "ruleIndex", json_integer(r));
    set(res, "level", json_string(rules[r].level));
    set(res, "message", message(text));
    return res;
}

static void fingerprint(json_t *res, enum rule r, const char *a,
                        const char *b, const char *c, const char *d)
{
    unsigned long long h = lc_hash(0, rules[r].id);
    json_t *fp = json_object();
    char hex[32];

    h = lc_hash(h, a);
    h = lc_hash(h, b);
    h = lc_hash(h, c);
    h = lc_hash(h, d);
    snprintf(hex, sizeof hex, "%016llx", h);
    set(fp, "leash/v1", json_string(hex));
    set(res, "partialFingerprints", fp);
}

/* ------------------------------------------------------------------ */
/* Results                                                              */
/* ------------------------------------------------------------------ */

static enum rule rule_of(const struct lc_leak *l)
{
    if (!l->leaked && l->verdict != LC_ALLOWED)
        return RULE_STRICT;
    switch (l->verdict) {
    case LC_EXPIRED:
        return RULE_EXPIRED;
    case LC_OVER_MAX:
        return RULE_OVER_MAX;
    default:
        break;
    }
    return RULE_LEAK;
}

static json_t *stack(const struct lc_run *run, const struct lc_leak *l)
{
    json_t *st = json_object(), *frames = json_array();
    char *msg = lc_xasprintf("goroutine %ld [%s]", l->id, lc_reason(l));
    size_t i;

    set(st, "message", message(msg));
    free(msg);
    for (i = 0; i < l->nframes; i++) {
        const struct lc_frame *fr = &l->frames[i];
        json_t *frame = json_object(), *loc = json_object();
        json_t *logical = json_array(), *ll = json_object();

        if (fr->file != NULL)
            set(loc, "physicalLocation", physical(run, fr->file, fr->line));
        set(ll, "name", jstr(fr->func));
        set(ll, "kind", json_string("function"));
        push(logical, ll);
        set(loc, "logicalLocations", logical);
        set(frame, "location", loc);
        push(frames, frame);
    }
    set(st, "frames", frames);
    return st;
}

static char *group_text(const struct lc_report *r, const struct lc_group *g)
{
    const struct lc_leak *l = g->first;
    char *ids = lc_id_list(g, 8), *text;
    const char *what;

    if (!l->leaked)
        what = g->n == 1 ? "is still running" : "are still running";
    else
        what = g->n == 1 ? "blocks forever" : "block forever";
    if (g->n == 1)
        text = lc_xasprintf("goroutine %s [%s] in %s %s in test %s", ids,
                            lc_reason(l), l->entry.func, what, r->display);
    else
        text = lc_xasprintf("%zu goroutines (%s) [%s] in %s %s in test %s",
                            g->n, ids, lc_reason(l), l->entry.func, what,
                            r->display);
    free(ids);
    return text;
}

static void add_group(json_t *results, const struct lc_run *run,
                      const struct lc_report *r, const struct lc_group *g)
{
    const struct lc_leak *l = g->first;
    const struct lc_frame *at = lc_block_frame(l);
    enum rule rule = rule_of(l);
    json_t *res, *locs, *related, *stacks, *props, *ids;
    char *text, *plain;
    size_t i, k;
    int id = 1;

    if (at == NULL && r->test_file == NULL)
        return;
    text = group_text(r, g);
    if (l->has_matched && l->verdict != LC_NOT_ALLOWED) {
        char *more = lc_xasprintf("%s; %s (%s:%ld: %s)", text,
                                  lc_verdict_name(l->verdict),
                                  lc_rel(run->opts, l->matched.file),
                                  l->matched.line, l->matched.reason);

        free(text);
        text = more;
    }
    res = result(rule, text);
    free(text);

    locs = json_array();
    if (at != NULL)
        push(locs, location(run, at->file, at->line, 0, NULL));
    else
        push(locs, location(run, r->test_file, r->test_line, 0, NULL));
    set(res, "locations", locs);

    related = json_array();
    if (l->has_creator && l->creator.file != NULL) {
        char *m = lc_xasprintf("created by %s", l->creator.func);

        push(related, location(run, l->creator.file, l->creator.line, id++,
                               m));
        free(m);
    }
    if (l->has_prim && l->has_site && l->prim_site.file != NULL) {
        char *m = lc_xasprintf("the %s it waits on was %s here",
                               l->prim_kind,
                               strcmp(l->prim_kind, "channel") == 0
                                   ? "made" : "first used");

        push(related, location(run, l->prim_site.file, l->prim_site.line,
                               id++, m));
        free(m);
    }
    if (r->test_file != NULL) {
        char *m = lc_xasprintf("test %s", r->display);

        push(related, location(run, r->test_file, r->test_line, id++, m));
        free(m);
    }
    if (json_array_size(related) > 0)
        set(res, "relatedLocations", related);
    else
        json_decref(related);

    /* One stack per goroutine of the group. */
    stacks = json_array();
    for (i = 0, k = 0; i < r->nleaks && k < g->n; i++) {
        if (r->leaks[i].id == g->ids[k]) {
            push(stacks, stack(run, &r->leaks[i]));
            k++;
        }
    }
    set(res, "stacks", stacks);

    if (l->verdict == LC_ALLOWED) {
        json_t *sups = json_array(), *sup = json_object();

        set(sup, "kind", json_string("external"));
        set(sup, "status", json_string("accepted"));
        if (l->has_matched) {
            set(sup, "justification", jstr(l->matched.reason));
            set(sup, "location", location(run, l->matched.file,
                                          l->matched.line, 0, NULL));
        }
        push(sups, sup);
        set(res, "suppressions", sups);
    }

    plain = lc_xasprintf("%s/%s", r->suite, r->name);
    fingerprint(res, rule, plain, l->entry.func, l->wait_reason,
                at != NULL ? lc_rel(run->opts, at->file) : "");
    free(plain);

    props = json_object();
    ids = json_array();
    for (i = 0; i < g->n; i++)
        push(ids, json_integer(g->ids[i]));
    set(props, "test", jstr(r->display));
    set(props, "goroutines", ids);
    set(props, "waitReason", jstr(l->wait_reason));
    set(props, "blockedMs", json_integer(l->blocked_ms));
    set(res, "properties", props);
    push(results, res);
}

static void add_report(json_t *results, json_t *notes,
                       const struct lc_run *run, const struct lc_report *r)
{
    size_t n, i;
    struct lc_group *g;
    int allowed;

    if (r->verdict == LC_ERROR && r->nleaks == 0) {
        char *text = lc_xasprintf("%s: no leak check ran: %s", r->display,
                                  r->error != NULL ? r->error
                                                   : "(no reason given)");

        if (r->test_file != NULL) {
            json_t *res = result(RULE_NO_CHECK, text), *locs = json_array();
            char *plain = lc_xasprintf("%s/%s", r->suite, r->name);

            push(locs, location(run, r->test_file, r->test_line, 0, NULL));
            set(res, "locations", locs);
            fingerprint(res, RULE_NO_CHECK, plain, "", "", "");
            free(plain);
            push(results, res);
        } else {
            json_t *note = json_object();

            set(note, "level", json_string("error"));
            set(note, "message", message(text));
            push(notes, note);
        }
        free(text);
        return;
    }
    for (allowed = 0; allowed < 2; allowed++) {
        g = lc_group_leaks(r, allowed, &n);
        for (i = 0; i < n; i++)
            add_group(results, run, r, &g[i]);
        lc_free_groups(g, n);
    }
}

static void add_entries(json_t *results, const struct lc_run *run)
{
    size_t i;

    for (i = 0; i < run->nentries; i++) {
        const struct lc_allow_entry *e = &run->entries[i];

        if (!e->used) {
            char *text = lc_xasprintf("allowlist entry matched nothing in "
                                      "this run: %s", e->reason);
            json_t *res = result(RULE_UNUSED, text), *locs = json_array();

            push(locs, location(run, e->file, e->line, 0, NULL));
            set(res, "locations", locs);
            fingerprint(res, RULE_UNUSED, lc_rel(run->opts, e->file),
                        e->reason, e->matchers, "");
            push(results, res);
            free(text);
        }
        if (e->expired) {
            char *text = lc_xasprintf("allowlist entry expired on %s: %s",
                                      e->expires != NULL ? e->expires : "?",
                                      e->reason);
            json_t *res = result(RULE_EXPIRED_ENTRY, text);
            json_t *locs = json_array();

            push(locs, location(run, e->file, e->line, 0, NULL));
            set(res, "locations", locs);
            fingerprint(res, RULE_EXPIRED_ENTRY,
                        lc_rel(run->opts, e->file), e->reason, e->matchers,
                        "");
            push(results, res);
            free(text);
        }
    }
}

static json_t *driver(void)
{
    json_t *d = json_object(), *list = json_array();
    int i;

    set(d, "name", json_string("leash"));
    set(d, "version", json_string(LEASH_VERSION));
    set(d, "semanticVersion", json_string(LEASH_VERSION));
    for (i = 0; i < NRULES; i++) {
        json_t *r = json_object(), *conf = json_object();

        set(r, "id", json_string(rules[i].id));
        set(r, "name", json_string(rules[i].name));
        set(r, "shortDescription", message(rules[i].short_text));
        set(r, "fullDescription", message(rules[i].full_text));
        set(r, "help", message(rules[i].full_text));
        set(conf, "level", json_string(rules[i].level));
        set(r, "defaultConfiguration", conf);
        push(list, r);
    }
    set(d, "rules", list);
    return d;
}

json_t *lc_sarif_build(const struct lc_run *run)
{
    json_t *doc = json_object(), *runs = json_array(), *r = json_object();
    json_t *tool = json_object(), *results = json_array();
    json_t *notes = json_array(), *inv = json_object(), *invs = json_array();
    json_t *props = json_object();
    size_t i;

    set(doc, "$schema", json_string(SARIF_SCHEMA));
    set(doc, "version", json_string("2.1.0"));
    set(tool, "driver", driver());
    set(r, "tool", tool);

    if (run->opts->root != NULL && run->opts->root[0] == '/') {
        json_t *bases = json_object(), *base = json_object();
        size_t n = strlen(run->opts->root);
        char *enc = uri_path(run->opts->root);
        char *uri = lc_xasprintf("file://%s%s", enc,
                                 n > 0 && run->opts->root[n - 1] == '/'
                                     ? "" : "/");

        set(base, "uri", jstr(uri));
        set(bases, SRCROOT, base);
        set(r, "originalUriBaseIds", bases);
        free(uri);
        free(enc);
    }

    for (i = 0; i < run->nreports; i++)
        add_report(results, notes, run, &run->reports[i]);
    for (i = 0; i < run->nmissing; i++) {
        char *text = lc_missing_text(run, run->missing[i].t);
        json_t *note = json_object();

        set(note, "level", json_string("error"));
        set(note, "message", message(text));
        push(notes, note);
        free(text);
    }
    add_entries(results, run);
    set(r, "results", results);

    set(inv, "executionSuccessful", json_true());
    if (json_array_size(notes) > 0)
        set(inv, "toolExecutionNotifications", notes);
    else
        json_decref(notes);
    push(invs, inv);
    set(r, "invocations", invs);

    set(props, "tests", json_integer((json_int_t)run->tests));
    set(props, "testsWithoutReport", json_integer((json_int_t)run->nmissing));
    set(props, "leaked", json_integer((json_int_t)run->leaked));
    set(props, "allowed", json_integer((json_int_t)run->allowed));
    set(props, "notAllowed", json_integer((json_int_t)run->not_allowed));
    set(props, "pass", json_boolean(run->pass));
    set(r, "properties", props);

    push(runs, r);
    set(doc, "runs", runs);
    return doc;
}

int lc_cmd_sarif(struct lc_run *run)
{
    json_t *doc = lc_sarif_build(run);
    FILE *f = lc_open_output(run->opts);
    int rc;

    if (f == NULL) {
        json_decref(doc);
        return LC_EXIT_INPUT;
    }
    rc = json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    json_decref(doc);
    if (lc_close_output(run->opts, f) != 0 || rc != 0)
        return LC_EXIT_INPUT;
    return LC_EXIT_OK;
}
