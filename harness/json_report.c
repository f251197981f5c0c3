/*
 * The JSON leak report: one file per test, built with jansson, written
 * atomically so that a CI step collecting reports never reads half of
 * one; and reading the reports of a run back in the runner process.
 *
 * The schema is documented in include/leash/harness.h. Every string is
 * checked for UTF-8 by jansson; in a string that is not (a file name from
 * strange debug information) each bad byte is written as U+FFFD and every
 * valid character kept, so a report is never lost to one bad byte.
 */
#define _GNU_SOURCE
#include "json_report.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Building                                                             */
/* ------------------------------------------------------------------ */

/* A builder that remembers whether anything failed (out of memory). */
struct jb {
    bool failed;
};

static json_t *jstr(struct jb *b, const char *s)
{
    json_t *j;
    char *copy;

    if (s == NULL)
        return json_null();
    j = json_string(s);
    if (j != NULL)
        return j;

    /* Not UTF-8: keep the valid characters, mark the bad bytes. */
    copy = leash__utf8_fix(s);
    if (copy == NULL) {
        b->failed = true;
        return NULL;
    }
    j = json_string(copy);
    free(copy);
    if (j == NULL)
        b->failed = true;
    return j;
}

static json_t *jint(struct jb *b, long long v)
{
    json_t *j = json_integer(v);

    if (j == NULL)
        b->failed = true;
    return j;
}

static json_t *jobj(struct jb *b)
{
    json_t *j = json_object();

    if (j == NULL)
        b->failed = true;
    return j;
}

static json_t *jarr(struct jb *b)
{
    json_t *j = json_array();

    if (j == NULL)
        b->failed = true;
    return j;
}

/* Set obj[key] = v, taking v; a NULL obj or v marks the build failed. */
static void put(struct jb *b, json_t *obj, const char *key, json_t *v)
{
    if (obj == NULL || v == NULL || json_object_set_new(obj, key, v) != 0)
        b->failed = true;
}

static void append(struct jb *b, json_t *arr, json_t *v)
{
    if (arr == NULL || v == NULL || json_array_append_new(arr, v) != 0)
        b->failed = true;
}

static json_t *jframe(struct jb *b, const leash_frame_t *f)
{
    json_t *o = jobj(b);

    put(b, o, "func", jstr(b, f->func != NULL ? f->func : "?"));
    put(b, o, "file", jstr(b, f->file));
    put(b, o, "line", jint(b, f->line));
    return o;
}

void leash__format_day(long days, char *buf, size_t len)
{
    time_t t = (time_t)days * 86400;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL)
        snprintf(buf, len, "?");
    else
        strftime(buf, len, "%Y-%m-%d", &tm);
}

/* {file, line, reason} of an entry, plus expires and max when full. */
static json_t *jentry(struct jb *b, const leash_allowlist_t *al, int i,
                      bool full)
{
    leash_allow_entry_info_t info;
    char day[32];
    json_t *o;

    leash_allowlist_entry(al, (size_t)i, &info);
    o = jobj(b);
    put(b, o, "file", jstr(b, info.file));
    put(b, o, "line", jint(b, info.line));
    put(b, o, "reason", jstr(b, info.reason));
    if (full) {
        if (info.expires != 0) {
            leash__format_day(info.expires, day, sizeof day);
            put(b, o, "expires", jstr(b, day));
        } else {
            put(b, o, "expires", json_null());
        }
        put(b, o, "max", info.max != 0 ? jint(b, info.max) : json_null());
    }
    return o;
}

static const char *verdict_name(enum leash_allow_verdict v)
{
    switch (v) {
    case LEASH_ALLOW_OK:
        return "allowed";
    case LEASH_ALLOW_EXPIRED:
        return "expired";
    case LEASH_ALLOW_OVER_MAX:
        return "over_max";
    case LEASH_ALLOW_NONE:
        break;
    }
    return "not_allowed";
}

static json_t *jprimitive(struct jb *b, const leash_goroutine_t *g)
{
    char addr[32];
    json_t *o;

    if (g->prim_kind == NULL)
        return json_null();
    o = jobj(b);
    snprintf(addr, sizeof addr, "%#lx", (unsigned long)g->prim_addr);
    put(b, o, "kind", jstr(b, g->prim_kind));
    put(b, o, "address", jstr(b, addr));
    put(b, o, "count", jint(b, (long long)g->nprims));
    put(b, o, "site", g->prim_site.func != NULL || g->prim_site.file != NULL
                          ? jframe(b, &g->prim_site) : json_null());
    put(b, o, "holder_id", jint(b, g->holder_id));
    return o;
}

static json_t *jgoroutine(struct jb *b, const struct leash__check *c,
                          const struct leash__judged *j)
{
    const leash_goroutine_t *g = j->g;
    json_t *o = jobj(b), *frames = jarr(b);
    size_t i;

    put(b, o, "id", jint(b, g->id));
    put(b, o, "state", jstr(b, g->state));
    put(b, o, "leaked", json_boolean(g->leaked));
    put(b, o, "wait_reason", jstr(b, g->wait_reason));
    put(b, o, "blocked_ms", jint(b, g->blocked_ns / LEASH_MILLISECOND));
    put(b, o, "verdict", jstr(b, verdict_name(j->verdict)));
    put(b, o, "allowed", json_boolean(j->verdict == LEASH_ALLOW_OK));
    put(b, o, "expired", json_boolean(j->verdict == LEASH_ALLOW_EXPIRED));
    put(b, o, "allowed_by", j->verdict == LEASH_ALLOW_OK
                                ? jentry(b, c->al, j->entry, false)
                                : json_null());
    put(b, o, "entry_matched", j->entry >= 0
                                   ? jentry(b, c->al, j->entry, true)
                                   : json_null());
    put(b, o, "entry", jframe(b, &g->entry));
    put(b, o, "creator", g->id != 1 ? jframe(b, &g->creator) : json_null());
    put(b, o, "parent_id", jint(b, g->parent_id));
    for (i = 0; i < g->nframes; i++)
        append(b, frames, jframe(b, &g->frames[i]));
    put(b, o, "frames", frames);
    put(b, o, "primitive", jprimitive(b, g));
    return o;
}

static json_t *jallowlist(struct jb *b, const struct leash__check *c)
{
    json_t *o, *used;
    size_t i, n;

    if (c->allow_path == NULL)
        return json_null();
    o = jobj(b);
    used = jarr(b);
    put(b, o, "path", jstr(b, c->allow_path));
    n = c->al != NULL ? leash_allowlist_count(c->al) : 0;
    for (i = 0; i < n && c->uses != NULL; i++) {
        const struct leash__entry_use *u = &c->uses[i];
        json_t *e;

        if (u->matches == 0)
            continue;
        e = jentry(b, c->al, (int)i, false);
        put(b, e, "matches", jint(b, u->matches));
        put(b, e, "allowed", jint(b, u->allowed));
        put(b, e, "expired", jint(b, u->expired));
        put(b, e, "over_max", jint(b, u->over_max));
        append(b, used, e);
    }
    put(b, o, "entries_used", used);
    return o;
}

static json_t *build(struct jb *b, const struct leash__check *c)
{
    json_t *doc = jobj(b), *test = jobj(b), *set = jobj(b);
    json_t *leaks = jarr(b), *sum = jobj(b);
    size_t i;

    put(b, doc, "schema", jstr(b, LEASH__REPORT_SCHEMA));
    put(b, doc, "version", jint(b, LEASH__REPORT_VERSION));

    put(b, test, "suite", jstr(b, c->suite));
    put(b, test, "name", jstr(b, c->name));
    put(b, test, "param_index", c->param_index >= 0
                                    ? jint(b, c->param_index) : json_null());
    put(b, test, "file", jstr(b, c->file));
    put(b, test, "line", jint(b, c->line));
    put(b, test, "body", jstr(b, c->body));
    put(b, doc, "test", test);

    put(b, set, "mode", jstr(b, c->mode));
    put(b, set, "strict", json_boolean(c->strict));
    put(b, set, "grace_ms", jint(b, c->grace_ms));
    put(b, doc, "settings", set);

    put(b, doc, "verdict", jstr(b, c->verdict));
    put(b, doc, "failed", json_boolean(c->failed));
    put(b, doc, "error", jstr(b, c->error));
    put(b, doc, "allowlist", jallowlist(b, c));

    for (i = 0; i < c->n; i++)
        append(b, leaks, jgoroutine(b, c, &c->v[i]));
    put(b, doc, "leaks", leaks);

    put(b, sum, "goroutines", jint(b, (long long)c->n));
    put(b, sum, "leaked", jint(b, (long long)c->leaked));
    put(b, sum, "alive", jint(b, (long long)c->alive));
    put(b, sum, "allowed", jint(b, (long long)c->allowed));
    put(b, sum, "not_allowed", jint(b, (long long)c->not_allowed));
    put(b, sum, "expired", jint(b, (long long)c->expired));
    put(b, sum, "over_max", jint(b, (long long)c->over_max));
    put(b, doc, "summary", sum);
    put(b, doc, "text", jstr(b, c->text));
    return doc;
}

/* ------------------------------------------------------------------ */
/* Writing                                                              */
/* ------------------------------------------------------------------ */

static int write_error(char *err, size_t errlen, const char *path,
                       const char *what, int e)
{
    snprintf(err, errlen, "%s: %s: %s", path, what, strerror(e));
    return -1;
}

int leash__json_write(const struct leash__check *c, const char *dir,
                      const char *name, char *err, size_t errlen)
{
    struct jb b = { false };
    char *path = NULL, *tmp = NULL;
    json_t *doc;
    FILE *f = NULL;
    int rc = -1, fd, e;

    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return write_error(err, errlen, dir, "cannot create directory",
                           errno);
    if (asprintf(&path, "%s/%s", dir, name) < 0 ||
        asprintf(&tmp, "%s/.%s.%ld.tmp", dir, name, (long)getpid()) < 0) {
        free(path);
        return write_error(err, errlen, dir, "cannot write report", ENOMEM);
    }
    doc = build(&b, c);
    if (b.failed || doc == NULL) {
        write_error(err, errlen, path, "cannot build report", ENOMEM);
        goto out;
    }

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        e = errno;
        if (fd >= 0)
            close(fd);
        write_error(err, errlen, tmp, "cannot create", e);
        goto out;
    }
    if (json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', f) == EOF || fflush(f) != 0) {
        e = errno != 0 ? errno : EIO;
        fclose(f);
        unlink(tmp);
        write_error(err, errlen, tmp, "cannot write", e);
        goto out;
    }
    if (fclose(f) != 0) {
        e = errno;
        unlink(tmp);
        write_error(err, errlen, tmp, "cannot write", e);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        write_error(err, errlen, path, "cannot rename into place", e);
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    free(path);
    free(tmp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reading                                                              */
/* ------------------------------------------------------------------ */

static bool is_report_name(const char *name)
{
    size_t n = strlen(name);

    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

long leash__json_read_used(const char *dir,
                           void (*fn)(const char *file, long line, void *ctx),
                           void *ctx, long *bad)
{
    struct dirent *d;
    long count = 0;
    DIR *dp = opendir(dir);

    *bad = 0;
    if (dp == NULL)
        return -1;
    while ((d = readdir(dp)) != NULL) {
        json_t *doc, *used, *e;
        json_error_t jerr;
        char *path;
        size_t i;

        if (!is_report_name(d->d_name))
            continue;
        if (asprintf(&path, "%s/%s", dir, d->d_name) < 0) {
            (*bad)++;
            continue;
        }
        doc = json_load_file(path, 0, &jerr);
        free(path);
        if (doc == NULL) {
            (*bad)++;
            continue;
        }
        if (json_integer_value(json_object_get(doc, "version")) !=
                LEASH__REPORT_VERSION ||
            json_string_value(json_object_get(doc, "schema")) == NULL ||
            strcmp(json_string_value(json_object_get(doc, "schema")),
                   LEASH__REPORT_SCHEMA) != 0) {
            json_decref(doc);
            continue;
        }
        count++;
        used = json_object_get(json_object_get(doc, "allowlist"),
                               "entries_used");
        json_array_foreach(used, i, e) {
            const char *file =
                json_string_value(json_object_get(e, "file"));

            if (file != NULL)
                fn(file, (long)json_integer_value(json_object_get(e, "line")),
                   ctx);
        }
        json_decref(doc);
    }
    closedir(dp);
    return count;
}
