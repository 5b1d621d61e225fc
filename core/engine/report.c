#include "report.h"

#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct folder_counts {
    char *name;
    uint64_t n[MP_COUNT__N];
} folder_counts;

typedef struct report_error {
    char *folder, *message, *error;
    char *sha256; /* repaired messages: the original's hash */
} report_error;

struct mp_report {
    pthread_mutex_t lock;
    uint64_t total[MP_COUNT__N];
    folder_counts *folders;
    size_t n_folders;
    report_error *errors;
    size_t n_errors;
    report_error *altered; /* .error holds what differs */
    size_t n_altered;
    report_error *repaired; /* .error holds the changes */
    size_t n_repaired;
    char **warnings;
    size_t n_warnings;
    char current[256]; /* the folder a worker started last, for progress */
    int n_current;     /* folders being worked on now */
};

mp_report *mp_report_new(void)
{
    mp_report *r = calloc(1, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

static void free_entries(report_error *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].folder);
        free(v[i].message);
        free(v[i].error);
        free(v[i].sha256);
    }
}

void mp_report_free(mp_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_folders; i++)
        free(r->folders[i].name);
    for (size_t i = 0; i < r->n_errors; i++) {
        free(r->errors[i].folder);
        free(r->errors[i].message);
        free(r->errors[i].error);
    }
    free_entries(r->altered, r->n_altered);
    free_entries(r->repaired, r->n_repaired);
    free(r->repaired);
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    free(r->altered);
    free(r->folders);
    free(r->errors);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static folder_counts *folder_of(mp_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_folders; i++)
        if (strcmp(r->folders[i].name, name) == 0)
            return &r->folders[i];
    r->folders = realloc(r->folders, (r->n_folders + 1) * sizeof *r->folders);
    folder_counts *f = &r->folders[r->n_folders++];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    return f;
}

void mp_report_add(mp_report *r, const char *folder, mp_counter c, uint64_t n)
{
    pthread_mutex_lock(&r->lock);
    folder_of(r, folder)->n[c] += n;
    r->total[c] += n;
    pthread_mutex_unlock(&r->lock);
}

void mp_report_count(mp_report *r, mp_counter c, uint64_t n)
{
    pthread_mutex_lock(&r->lock);
    r->total[c] += n;
    pthread_mutex_unlock(&r->lock);
}

void mp_report_error(mp_report *r, const char *folder, const char *message,
                     const char *error)
{
    pthread_mutex_lock(&r->lock);
    if (folder && *folder) /* a job-wide error names no folder */
        folder_of(r, folder);
    r->errors = realloc(r->errors, (r->n_errors + 1) * sizeof *r->errors);
    r->errors[r->n_errors++] = (report_error){strdup(folder ? folder : ""),
                                              message ? strdup(message) : NULL,
                                              strdup(error ? error : ""), NULL};
    pthread_mutex_unlock(&r->lock);
}

void mp_report_altered(mp_report *r, const char *folder, const char *message,
                       const char *difference)
{
    pthread_mutex_lock(&r->lock);
    r->altered = realloc(r->altered, (r->n_altered + 1) * sizeof *r->altered);
    r->altered[r->n_altered++] = (report_error){strdup(folder), strdup(message),
                                                strdup(difference), NULL};
    folder_of(r, folder)->n[MP_COUNT_ALTERED]++;
    r->total[MP_COUNT_ALTERED]++;
    pthread_mutex_unlock(&r->lock);
}

void mp_report_repaired(mp_report *r, const char *folder, const char *message,
                        const char *changes, const char *original_sha256)
{
    pthread_mutex_lock(&r->lock);
    report_error *v =
        realloc(r->repaired, (r->n_repaired + 1) * sizeof *r->repaired);
    if (v) {
        r->repaired = v;
        r->repaired[r->n_repaired++] =
            (report_error){strdup(folder), strdup(message), strdup(changes),
                           strdup(original_sha256)};
        folder_of(r, folder)->n[MP_COUNT_REPAIRED]++;
        r->total[MP_COUNT_REPAIRED]++;
    }
    pthread_mutex_unlock(&r->lock);
}

uint64_t mp_report_total(const mp_report *r, mp_counter c)
{
    pthread_mutex_lock((pthread_mutex_t *)&r->lock);
    uint64_t n = r->total[c];
    pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
    return n;
}

void mp_report_mark_folder(mp_report *r, const char *folder,
                           mp_report_mark *mark)
{
    pthread_mutex_lock(&r->lock);
    memcpy(mark->n, folder_of(r, folder)->n, sizeof mark->n);
    mark->n_errors = r->n_errors;
    pthread_mutex_unlock(&r->lock);
}

void mp_report_retry_folder(mp_report *r, const char *folder,
                            const mp_report_mark *mark)
{
    static const mp_counter redone[] = {MP_COUNT_SKIPPED, MP_COUNT_FAILED,
                                        MP_COUNT_FILTERED, MP_COUNT_PLANNED};
    pthread_mutex_lock(&r->lock);
    folder_counts *f = folder_of(r, folder);
    for (size_t i = 0; i < sizeof redone / sizeof redone[0]; i++) {
        mp_counter c = redone[i];
        r->total[c] -= f->n[c] - mark->n[c];
        f->n[c] = mark->n[c];
    }
    size_t kept = mark->n_errors;
    for (size_t i = mark->n_errors; i < r->n_errors; i++) {
        report_error *e = &r->errors[i];
        if (strcmp(e->folder, folder) == 0) {
            free(e->folder);
            free(e->message);
            free(e->error);
        } else {
            r->errors[kept++] = *e;
        }
    }
    r->n_errors = kept;
    pthread_mutex_unlock(&r->lock);
}

void mp_report_copies_lost(mp_report *r)
{
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_folders; i++) {
        uint64_t *n = r->folders[i].n;
        n[MP_COUNT_FAILED] += n[MP_COUNT_COPIED];
        n[MP_COUNT_COPIED] = n[MP_COUNT_BYTES] = n[MP_COUNT_ALTERED] = 0;
        n[MP_COUNT_REPAIRED] = 0;
    }
    r->total[MP_COUNT_FAILED] += r->total[MP_COUNT_COPIED];
    r->total[MP_COUNT_COPIED] = r->total[MP_COUNT_BYTES] = 0;
    r->total[MP_COUNT_ALTERED] = r->total[MP_COUNT_REPAIRED] = 0;
    r->total[MP_COUNT_SUBSCRIBED] = 0; /* they went with the archive */
    free_entries(r->altered, r->n_altered);
    r->n_altered = 0;
    free_entries(r->repaired, r->n_repaired);
    r->n_repaired = 0;
    pthread_mutex_unlock(&r->lock);
}

void mp_report_warning(mp_report *r, const char *text)
{
    pthread_mutex_lock(&r->lock);
    char **v = realloc(r->warnings, (r->n_warnings + 1) * sizeof *v);
    if (v) {
        r->warnings = v;
        r->warnings[r->n_warnings++] = strdup(text);
    }
    pthread_mutex_unlock(&r->lock);
}

size_t mp_report_n_errors(const mp_report *r)
{
    return r->n_errors;
}

static int set_count(json_t *o, const char *key, uint64_t n)
{
    return json_object_set_new(o, key, json_integer((json_int_t)n));
}

static int set_text(json_t *o, const char *key, const char *s)
{
    return json_object_set_new(o, key, s ? mp_json_text(s) : json_null());
}

/* [{"folder": ..., "message": ... or null, "TEXT": ...}, ...] */
static json_t *entries(const report_error *v, size_t n, const char *text)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *e = json_object();
        if (!e || set_text(e, "folder", v[i].folder) != 0 ||
            set_text(e, "message", v[i].message) != 0 ||
            set_text(e, text, v[i].error ? v[i].error : "") != 0 ||
            (v[i].sha256 && set_text(e, "original_sha256", v[i].sha256) != 0) ||
            json_array_append_new(a, e) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* The report as a jansson object, keys in the order of CLI.md. */
static json_t *report_json(const mp_report *r)
{
    static const struct {
        const char *key;
        mp_counter c;
    } totals[] = {
        {"copied", MP_COUNT_COPIED},
        {"skipped", MP_COUNT_SKIPPED},
        {"flags_updated", MP_COUNT_FLAGS_UPDATED},
        {"failed", MP_COUNT_FAILED},
        {"bytes", MP_COUNT_BYTES},
        {"filtered", MP_COUNT_FILTERED},
        {"removed", MP_COUNT_REMOVED},
        {"altered", MP_COUNT_ALTERED},
        {"repaired", MP_COUNT_REPAIRED},
        {"subscribed", MP_COUNT_SUBSCRIBED},
        {"connections", MP_COUNT_CONNECTIONS},
    }, per_folder[] = {
        {"copied", MP_COUNT_COPIED},
        {"skipped", MP_COUNT_SKIPPED},
        {"failed", MP_COUNT_FAILED},
        {"flags_updated", MP_COUNT_FLAGS_UPDATED},
        {"filtered", MP_COUNT_FILTERED},
        {"removed", MP_COUNT_REMOVED},
        {"bytes", MP_COUNT_BYTES},
        {"repaired", MP_COUNT_REPAIRED},
    };
    json_t *o = json_object(), *folders = json_array(), *warnings = json_array();
    int bad = !o || !folders || !warnings;
    for (size_t i = 0; !bad && i < sizeof totals / sizeof *totals; i++)
        bad = set_count(o, totals[i].key, r->total[totals[i].c]) != 0;
    bad = bad ||
          json_object_set_new(o, "rate_limit_seconds",
                              json_real((double)r->total[MP_COUNT_RATE_WAIT_MS] /
                                        1000.0)) != 0 ||
          json_object_set_new(o, "throttled_seconds",
                              json_real((double)r->total[MP_COUNT_THROTTLED_MS] /
                                        1000.0)) != 0;
    for (size_t i = 0; !bad && i < r->n_folders; i++) {
        const folder_counts *fc = &r->folders[i];
        json_t *fo = json_object();
        bad = !fo || set_text(fo, "name", fc->name) != 0;
        for (size_t k = 0; !bad && k < sizeof per_folder / sizeof *per_folder; k++)
            bad = set_count(fo, per_folder[k].key, fc->n[per_folder[k].c]) != 0;
        if (bad || json_array_append_new(folders, fo) != 0) {
            json_decref(fo);
            bad = 1;
        }
    }
    for (size_t i = 0; !bad && i < r->n_warnings; i++)
        bad = json_array_append_new(warnings,
                                    mp_json_text(r->warnings[i] ? r->warnings[i] : "")) != 0;
    bad = bad || json_object_set(o, "folders", folders) != 0 ||
          json_object_set_new(o, "errors",
                              entries(r->errors, r->n_errors, "error")) != 0 ||
          json_object_set_new(o, "altered_messages",
                              entries(r->altered, r->n_altered, "difference")) != 0 ||
          json_object_set_new(o, "repaired_messages",
                              entries(r->repaired, r->n_repaired, "changes")) != 0 ||
          json_object_set(o, "warnings", warnings) != 0;
    json_decref(folders);
    json_decref(warnings);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int mp_report_write(const mp_report *r, const char *path)
{
    json_t *o = report_json(r);
    if (!o) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        json_decref(o);
        return -1;
    }
    mp_json_write_report(f, o, 1);
    json_decref(o);
    fputc('\n', f);
    return fclose(f) == 0 ? 0 : -1;
}

void mp_report_print(const mp_report *r, FILE *f)
{
    json_t *o = report_json(r);
    if (o)
        mp_json_write_report(f, o, 1);
    else
        fputs("null", f);
    json_decref(o);
}

void mp_report_set_current(mp_report *r, const char *folder)
{
    pthread_mutex_lock(&r->lock);
    if (folder) {
        snprintf(r->current, sizeof r->current, "%s", folder);
        r->n_current++;
    } else if (r->n_current > 0 && --r->n_current == 0) {
        r->current[0] = '\0';
    }
    pthread_mutex_unlock(&r->lock);
}

int mp_report_current(mp_report *r, char *out, size_t size)
{
    pthread_mutex_lock(&r->lock);
    snprintf(out, size, "%s", r->current);
    int n = r->n_current;
    pthread_mutex_unlock(&r->lock);
    return n;
}
