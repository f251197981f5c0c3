/*
 * Reading the leak reports of a run.
 *
 * Every way an input can be wrong gets its own message naming the file,
 * because the tool gates CI: a report it cannot read must stop the gate
 * with a reason, never count as a clean test. The cases are a path that
 * does not exist, a directory with no report in it (the tests did not run
 * with LEASH_REPORT_DIR, or wrote elsewhere), an empty file, JSON that
 * ends early (a truncated copy or upload), JSON that is not valid, JSON
 * that is not a leash report, and a report of a version this tool does
 * not know. Unknown fields are accepted: version 1 may grow fields.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPORT_SCHEMA "leash-report"
#define REPORT_VERSION 1

/* ------------------------------------------------------------------ */
/* Validation                                                           */
/* ------------------------------------------------------------------ */

/* The first thing wrong with a report, if anything. */
struct val {
    const char *path;
    bool bad;
    char why[512];
};

enum need { OPTIONAL, REQUIRED };

static void invalid(struct val *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void invalid(struct val *v, const char *fmt, ...)
{
    va_list ap;

    if (v->bad)
        return;
    v->bad = true;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof v->why, fmt, ap);
    va_end(ap);
}

static const char *type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        break;
    }
    return "null";
}

/*
 * obj[key] when it has the type wanted; NULL when it is absent or null
 * (an error when required) or of another type (always an error).
 */
static json_t *get(struct val *v, json_t *obj, const char *where,
                   const char *key, json_type type, const char *what,
                   enum need need)
{
    json_t *j = obj != NULL ? json_object_get(obj, key) : NULL;
    const char *dot = where[0] != '\0' ? "." : "";

    if (j == NULL || json_is_null(j)) {
        if (need == REQUIRED)
            invalid(v, "%s%s%s is missing", where, dot, key);
        return NULL;
    }
    if (json_typeof(j) != type &&
        !(type == JSON_TRUE && json_is_boolean(j))) {
        invalid(v, "%s%s%s is %s, not %s", where, dot, key, type_name(j),
                what);
        return NULL;
    }
    return j;
}

static bool has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* A one-line string of the report, control characters scrubbed
 * (lc_scrub). The multi-line dump ("text") is read with str_text. */
static const char *str(struct val *v, json_t *obj, const char *where,
                       const char *key, enum need need)
{
    json_t *j = get(v, obj, where, key, JSON_STRING, "a string", need);
    const char *s = json_string_value(j);
    char *copy;

    if (s == NULL || !has_control(s))
        return s;
    copy = lc_xstrdup(s);
    lc_scrub(copy);
    json_string_set(j, copy);
    free(copy);
    return json_string_value(j);
}

/* The goroutine dump: newlines and tabs are its layout, and it is only
 * ever printed inside a fenced block of markdown. */
static const char *str_text(struct val *v, json_t *obj, const char *key)
{
    return json_string_value(
        get(v, obj, "", key, JSON_STRING, "a string", OPTIONAL));
}

static long integer(struct val *v, json_t *obj, const char *where,
                    const char *key, enum need need, long dflt)
{
    json_t *j = get(v, obj, where, key, JSON_INTEGER, "an integer", need);

    return j != NULL ? (long)json_integer_value(j) : dflt;
}

static bool boolean(struct val *v, json_t *obj, const char *where,
                    const char *key)
{
    return json_is_true(get(v, obj, where, key, JSON_TRUE, "a boolean",
                            OPTIONAL));
}

static json_t *object(struct val *v, json_t *obj, const char *where,
                      const char *key, enum need need)
{
    return get(v, obj, where, key, JSON_OBJECT, "an object", need);
}

static json_t *array(struct val *v, json_t *obj, const char *where,
                     const char *key, enum need need)
{
    return get(v, obj, where, key, JSON_ARRAY, "an array", need);
}

/* ------------------------------------------------------------------ */
/* Fields                                                               */
/* ------------------------------------------------------------------ */

static void read_frame(struct val *v, json_t *j, const char *where,
                       struct lc_frame *f)
{
    const char *func;

    if (!json_is_object(j)) {
        invalid(v, "%s is %s, not an object", where, type_name(j));
        return;
    }
    func = str(v, j, where, "func", OPTIONAL);
    f->func = func != NULL ? func : "?";
    f->file = str(v, j, where, "file", OPTIONAL);
    f->line = integer(v, j, where, "line", OPTIONAL, 0);
}

/* A frame field: false when it is absent or null. */
static bool frame_field(struct val *v, json_t *obj, const char *where,
                        const char *key, struct lc_frame *f)
{
    json_t *j = object(v, obj, where, key, OPTIONAL);
    char sub[128];

    f->func = "?";
    if (j == NULL)
        return false;
    snprintf(sub, sizeof sub, "%s.%s", where, key);
    read_frame(v, j, sub, f);
    return true;
}

static bool entry_ref(struct val *v, json_t *obj, const char *where,
                      const char *key, struct lc_entry_ref *e)
{
    json_t *j = object(v, obj, where, key, OPTIONAL);
    char sub[128];

    if (j == NULL)
        return false;
    snprintf(sub, sizeof sub, "%s.%s", where, key);
    e->file = str(v, j, sub, "file", REQUIRED);
    e->line = integer(v, j, sub, "line", REQUIRED, 0);
    e->reason = str(v, j, sub, "reason", OPTIONAL);
    if (e->reason == NULL)
        e->reason = "";
    e->expires = str(v, j, sub, "expires", OPTIONAL);
    return true;
}

static enum lc_verdict leak_verdict(struct val *v, json_t *j,
                                    const char *where)
{
    const char *s = str(v, j, where, "verdict", OPTIONAL);

    if (s == NULL) {
        /* Derive it from the booleans every version 1 report has. */
        if (boolean(v, j, where, "allowed"))
            return LC_ALLOWED;
        if (boolean(v, j, where, "expired"))
            return LC_EXPIRED;
        return LC_NOT_ALLOWED;
    }
    if (strcmp(s, "not_allowed") == 0)
        return LC_NOT_ALLOWED;
    if (strcmp(s, "allowed") == 0)
        return LC_ALLOWED;
    if (strcmp(s, "expired") == 0)
        return LC_EXPIRED;
    if (strcmp(s, "over_max") == 0)
        return LC_OVER_MAX;
    invalid(v, "%s.verdict is \"%s\", not one of not_allowed, allowed, "
            "expired, over_max", where, s);
    return LC_NOT_ALLOWED;
}

static void read_primitive(struct val *v, json_t *j, const char *where,
                           struct lc_leak *l)
{
    json_t *p = object(v, j, where, "primitive", OPTIONAL);
    char sub[128];

    if (p == NULL)
        return;
    snprintf(sub, sizeof sub, "%s.primitive", where);
    l->has_prim = true;
    l->prim_kind = str(v, p, sub, "kind", REQUIRED);
    l->prim_addr = str(v, p, sub, "address", OPTIONAL);
    if (l->prim_addr == NULL)
        l->prim_addr = "?";
    l->prim_count = integer(v, p, sub, "count", OPTIONAL, 1);
    l->has_site = frame_field(v, p, sub, "site", &l->prim_site);
    l->holder_id = integer(v, p, sub, "holder_id", OPTIONAL, 0);
}

static void read_leak(struct val *v, json_t *j, size_t i, struct lc_leak *l)
{
    char where[64];
    json_t *frames, *f;
    size_t k;

    snprintf(where, sizeof where, "leaks[%zu]", i);
    if (!json_is_object(j)) {
        invalid(v, "%s is %s, not an object", where, type_name(j));
        return;
    }
    l->id = integer(v, j, where, "id", REQUIRED, 0);
    l->state = str(v, j, where, "state", OPTIONAL);
    if (l->state == NULL)
        l->state = "leaked";
    l->leaked = json_object_get(j, "leaked") != NULL
                    ? boolean(v, j, where, "leaked")
                    : strcmp(l->state, "leaked") == 0;
    l->wait_reason = str(v, j, where, "wait_reason", OPTIONAL);
    if (l->wait_reason == NULL)
        l->wait_reason = "";
    l->blocked_ms = integer(v, j, where, "blocked_ms", OPTIONAL, 0);
    l->verdict = leak_verdict(v, j, where);
    l->has_allowed_by = entry_ref(v, j, where, "allowed_by", &l->allowed_by);
    l->has_matched = entry_ref(v, j, where, "entry_matched", &l->matched);
    if (!l->has_matched && l->has_allowed_by) {
        l->has_matched = true;
        l->matched = l->allowed_by;
    }
    frame_field(v, j, where, "entry", &l->entry);
    l->has_creator = frame_field(v, j, where, "creator", &l->creator);
    l->parent_id = integer(v, j, where, "parent_id", OPTIONAL, 0);

    frames = array(v, j, where, "frames", REQUIRED);
    l->nframes = json_array_size(frames);
    l->frames = lc_xcalloc(l->nframes, sizeof *l->frames);
    json_array_foreach(frames, k, f) {
        char sub[96];

        snprintf(sub, sizeof sub, "%s.frames[%zu]", where, k);
        read_frame(v, f, sub, &l->frames[k]);
    }
    read_primitive(v, j, where, l);
}

static void read_allowlist(struct val *v, json_t *doc, struct lc_report *r)
{
    json_t *al = object(v, doc, "", "allowlist", OPTIONAL), *used, *e;
    size_t i;

    if (al == NULL)
        return;
    r->allow_path = str(v, al, "allowlist", "path", REQUIRED);
    used = array(v, al, "allowlist", "entries_used", OPTIONAL);
    r->nused = json_array_size(used);
    r->used = lc_xcalloc(r->nused, sizeof *r->used);
    json_array_foreach(used, i, e) {
        struct lc_used *u = &r->used[i];
        char where[64];

        snprintf(where, sizeof where, "allowlist.entries_used[%zu]", i);
        if (!json_is_object(e)) {
            invalid(v, "%s is %s, not an object", where, type_name(e));
            return;
        }
        u->file = str(v, e, where, "file", OPTIONAL);
        if (u->file == NULL)
            u->file = r->allow_path;
        u->line = integer(v, e, where, "line", REQUIRED, 0);
        u->reason = str(v, e, where, "reason", OPTIONAL);
        if (u->reason == NULL)
            u->reason = "";
        u->matches = integer(v, e, where, "matches", OPTIONAL, 0);
        u->allowed = integer(v, e, where, "allowed", OPTIONAL, 0);
        u->expired = integer(v, e, where, "expired", OPTIONAL, 0);
        u->over_max = integer(v, e, where, "over_max", OPTIONAL, 0);
    }
}

static enum lc_test_verdict test_verdict(struct val *v, const char *s)
{
    if (s == NULL)
        return LC_ERROR;
    if (strcmp(s, "clean") == 0)
        return LC_CLEAN;
    if (strcmp(s, "allowed") == 0)
        return LC_ALL_ALLOWED;
    if (strcmp(s, "leaks") == 0)
        return LC_LEAKS;
    if (strcmp(s, "error") == 0)
        return LC_ERROR;
    invalid(v, "verdict is \"%s\", not one of clean, allowed, leaks, error",
            s);
    return LC_ERROR;
}

/* Fill r from doc, a document whose schema and version are right. */
static void read_report(struct val *v, json_t *doc, struct lc_report *r)
{
    json_t *test = object(v, doc, "", "test", REQUIRED);
    json_t *set = object(v, doc, "", "settings", OPTIONAL);
    json_t *leaks, *j;
    size_t i;

    r->suite = str(v, test, "test", "suite", REQUIRED);
    r->name = str(v, test, "test", "name", REQUIRED);
    r->param_index = integer(v, test, "test", "param_index", OPTIONAL, -1);
    r->test_file = str(v, test, "test", "file", OPTIONAL);
    r->test_line = integer(v, test, "test", "line", OPTIONAL, 0);
    r->body = str(v, test, "test", "body", OPTIONAL);
    r->mode = str(v, set, "settings", "mode", OPTIONAL);
    r->strict = boolean(v, set, "settings", "strict");
    r->verdict = test_verdict(v, str(v, doc, "", "verdict", REQUIRED));
    r->error = str(v, doc, "", "error", OPTIONAL);
    r->text = str_text(v, doc, "text");
    read_allowlist(v, doc, r);

    leaks = array(v, doc, "", "leaks", REQUIRED);
    r->nleaks = json_array_size(leaks);
    r->leaks = lc_xcalloc(r->nleaks, sizeof *r->leaks);
    json_array_foreach(leaks, i, j) {
        struct lc_leak *l = &r->leaks[i];

        read_leak(v, j, i, l);
        if (v->bad)
            return;
        r->leaked += l->leaked;
        switch (l->verdict) {
        case LC_ALLOWED:
            r->allowed++;
            break;
        case LC_EXPIRED:
            r->expired++;
            r->not_allowed++;
            break;
        case LC_OVER_MAX:
            r->over_max++;
            r->not_allowed++;
            break;
        case LC_NOT_ALLOWED:
            r->not_allowed++;
            break;
        }
    }
    if (v->bad)
        return;
    if (r->param_index >= 0)
        r->display = lc_xasprintf("%s/%s[%ld]", r->suite, r->name,
                                  r->param_index);
    else
        r->display = lc_xasprintf("%s/%s", r->suite, r->name);
}

/* ------------------------------------------------------------------ */
/* Files                                                                */
/* ------------------------------------------------------------------ */

/* The whole file into *buf; -1 after a message. */
static int slurp(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 65536, n = 0, got;
    char *b;

    if (f == NULL) {
        lc_error("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    b = lc_xmalloc(cap);
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            b = lc_xrealloc(b, cap *= 2);
    }
    if (ferror(f)) {
        lc_error("cannot read %s: %s", path, strerror(errno));
        fclose(f);
        free(b);
        return -1;
    }
    fclose(f);
    *buf = b;
    *len = n;
    return 0;
}

static bool blank(const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r')
            return false;
    return true;
}

/* Parse path into r. Result: 0, or -1 after a message. */
static int load_file(const char *path, struct lc_report *r)
{
    struct val v = { path, false, "" };
    json_error_t jerr;
    const char *schema;
    json_t *doc, *version;
    char *buf;
    size_t len;

    if (slurp(path, &buf, &len) != 0)
        return -1;
    if (blank(buf, len)) {
        lc_error("%s: empty file, not a leak report (a report is written "
                 "whole or not at all, so something else made this file)",
                 path);
        free(buf);
        return -1;
    }
    doc = json_loadb(buf, len, 0, &jerr);
    free(buf);
    if (doc == NULL) {
        if (json_error_code(&jerr) == json_error_premature_end_of_input)
            lc_error("%s:%d:%d: truncated JSON: the file ends before the "
                     "report does (%s)", path, jerr.line, jerr.column,
                     jerr.text);
        else
            lc_error("%s:%d:%d: invalid JSON: %s", path, jerr.line,
                     jerr.column, jerr.text);
        return -1;
    }

    /* Foreign files first: their other fields mean nothing to us. */
    if (!json_is_object(doc)) {
        lc_error("%s: not a leash report: the JSON is %s, not an object "
                 "with \"schema\": \"%s\"", path, type_name(doc),
                 REPORT_SCHEMA);
        json_decref(doc);
        return -1;
    }
    schema = json_string_value(json_object_get(doc, "schema"));
    if (schema == NULL || strcmp(schema, REPORT_SCHEMA) != 0) {
        if (schema == NULL)
            lc_error("%s: not a leash report: it has no \"schema\": \"%s\"",
                     path, REPORT_SCHEMA);
        else
            lc_error("%s: not a leash report: its schema is \"%s\", not "
                     "\"%s\"", path, schema, REPORT_SCHEMA);
        json_decref(doc);
        return -1;
    }
    version = json_object_get(doc, "version");
    if (!json_is_integer(version) ||
        json_integer_value(version) != REPORT_VERSION) {
        if (json_is_integer(version))
            lc_error("%s: unsupported report version %lld: this leash "
                     "reads version %d; use the leash that wrote it",
                     path, (long long)json_integer_value(version),
                     REPORT_VERSION);
        else
            lc_error("%s: invalid leash report: \"version\" is %s, not an "
                     "integer", path,
                     version != NULL ? type_name(version) : "missing");
        json_decref(doc);
        return -1;
    }

    r->path = lc_xstrdup(path);
    r->doc = doc;
    read_report(&v, doc, r);
    if (v.bad) {
        lc_error("%s: invalid leash report: %s", path, v.why);
        return -1;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_report_name(const char *name)
{
    size_t n = strlen(name);

    /* Dot files are the harness's temporary files, renamed when whole. */
    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* The report files of dir, sorted; -1 after a message. */
static int list_dir(const char *dir, char ***names, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 16;

    if (d == NULL) {
        lc_error("cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    *n = 0;
    *names = lc_xmalloc(cap * sizeof **names);
    while ((e = readdir(d)) != NULL) {
        if (!is_report_name(e->d_name))
            continue;
        if (*n == cap)
            *names = lc_xrealloc(*names, (cap *= 2) * sizeof **names);
        (*names)[(*n)++] = lc_xasprintf("%s%s%s", dir,
                                        dir[strlen(dir) - 1] == '/'
                                            ? "" : "/", e->d_name);
    }
    closedir(d);
    qsort(*names, *n, sizeof **names, cmp_names);
    return 0;
}

static bool wanted(const struct lc_opts *o, const struct lc_report *r)
{
    char *plain;
    bool yes = false;
    size_t i;

    if (o->ntests == 0)
        return true;
    plain = lc_xasprintf("%s/%s", r->suite, r->name);
    for (i = 0; i < o->ntests && !yes; i++)
        yes = fnmatch(o->tests[i], plain, 0) == 0 ||
              fnmatch(o->tests[i], r->display, 0) == 0;
    free(plain);
    return yes;
}

static void free_report(struct lc_report *r)
{
    size_t i;

    for (i = 0; i < r->nleaks; i++)
        free(r->leaks[i].frames);
    free(r->leaks);
    free(r->used);
    free(r->display);
    free(r->path);
    json_decref(r->doc);
    memset(r, 0, sizeof *r);
}

static int add_file(struct lc_run *run, const char *path, size_t *cap)
{
    struct lc_report r;

    memset(&r, 0, sizeof r);
    if (load_file(path, &r) != 0) {
        free_report(&r);
        return -1;
    }
    if (!wanted(run->opts, &r)) {
        free_report(&r);
        return 0;
    }
    if (run->nreports == *cap)
        run->reports = lc_xrealloc(run->reports,
                                   (*cap *= 2) * sizeof *run->reports);
    run->reports[run->nreports++] = r;
    return 0;
}

static int cmp_reports(const void *pa, const void *pb)
{
    const struct lc_report *a = pa, *b = pb;
    int c = strcmp(a->suite, b->suite);

    if (c == 0)
        c = strcmp(a->name, b->name);
    if (c == 0 && a->param_index != b->param_index)
        c = a->param_index < b->param_index ? -1 : 1;
    if (c == 0)
        c = strcmp(a->path, b->path);
    return c;
}

int lc_load_reports(struct lc_run *run)
{
    const struct lc_opts *o = run->opts;
    size_t cap = 16, i, j;
    struct stat st;

    run->reports = lc_xmalloc(cap * sizeof *run->reports);
    for (i = 0; i < o->ninputs; i++) {
        const char *in = o->inputs[i];
        char **names;
        size_t n;
        int rc = 0;

        if (stat(in, &st) != 0) {
            lc_error("cannot read %s: %s", in, strerror(errno));
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (add_file(run, in, &cap) != 0)
                return -1;
            continue;
        }
        if (list_dir(in, &names, &n) != 0)
            return -1;
        if (n == 0)
            lc_error("%s: no leak reports (*.json) in this directory: did "
                     "the tests run with LEASH_REPORT_DIR=%s?", in, in);
        for (j = 0; j < n; j++) {
            if (rc == 0 && add_file(run, names[j], &cap) != 0)
                rc = -1;
            free(names[j]);
        }
        free(names);
        if (n == 0 || rc != 0)
            return -1;
    }
    qsort(run->reports, run->nreports, sizeof *run->reports, cmp_reports);
    return 0;
}

void lc_free_reports(struct lc_run *run)
{
    size_t i;

    for (i = 0; i < run->nreports; i++)
        free_report(&run->reports[i]);
    free(run->reports);
    run->reports = NULL;
    run->nreports = 0;
}
