/*
 * The series sink: writes the next archive of a series (series.h) through
 * the targz sink, and shows the sync engine what the series holds from
 * the catalogue (series_catalogue.h), so that the engine's ordinary pass
 * puts only new messages into the archive and turns flag changes and
 * removals into its change lines.
 *
 * Order of what becomes final, so that a failure at any point leaves
 * nothing that a later run or a restore would take for what it is not:
 *   1. the archive is written under a temporary name and renamed into
 *      place by the targz sink's finish (which never replaces a file);
 *   2. then the catalogue's transaction, which holds every put, flag
 *      change and removal of the run, commits with the new head.
 * A run stopped before 1 leaves no archive and the catalogue as it was. A
 * run stopped between 1 and 2 leaves an archive the catalogue does not
 * know: the next run sees that the newest file is not the catalogue's
 * head and starts a new generation, which holds everything again.
 */
#include "series.h"
#include "series_catalogue.h"
#include "targz_common.h"
#include "targz_sink.h"
#include "targz_source.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Identity needs the header block; more than this is not looked at (as
 * the targz source reads it). */
#define HEADER_CAPTURE_MAX (256u * 1024)

typedef struct series_sink {
    mp_host *host;
    char *display, *dir, *name, *path;
    void *inner; /* the targz sink writing the next archive */
    series_catalogue *cat;
    series_header hdr;
    int base;
    int changed; /* a message put, flags set or a message removed */
    int finished;
    char *changes; /* change lines (series.h) */
    size_t changes_len, changes_cap;
} series_sink;

typedef struct series_folder {
    series_sink *s;
    void *inner;
    char *name;
} series_folder;

typedef struct series_put {
    series_folder *f;
    void *inner;
    unsigned flags;
    char *keywords;
    int64_t date;
    uint64_t size, lines;
    char *hdr; /* the header block so far, up to HEADER_CAPTURE_MAX */
    size_t hdr_len;
    int hdr_done;
} series_put;

static mp_status oom(mp_host *host)
{
    host->set_error(host, MP_ERR_INTERNAL, "out of memory");
    return MP_FATAL;
}

/* The catalogue failed: say so with SQLite's words. */
static mp_status catalogue_failed(series_sink *s)
{
    s->host->set_error(s->host, MP_ERR_IO, "%s: series catalogue: %s",
                       s->display, series_catalogue_error(s->cat));
    return MP_FATAL;
}

/* ---- parameters ---------------------------------------------------------- */

typedef struct series_params {
    const char *ext; /* ".tar.gz", ".tar.zst.age", ... */
    int full;
    const char *catalogue;
} series_params;

static mp_status read_params(mp_host *host, const mp_endpoint *ep,
                             series_params *p, char ext[32])
{
    const char *format = host->param(host, "format", 0);
    const char *full = host->param(host, "full", 0);
    p->catalogue = host->param(host, "catalogue", 0);
    /* Read by the source, when a pass reads the series' bodies (pairing
     * without a sync state, a dry run): one URL serves every use. */
    host->param(host, "identity", 0);
    if (!format)
        format = "tar.gz";
    if (strcmp(format, "tar.gz") != 0 && strcmp(format, "tar.zst") != 0 &&
        strcmp(format, "tar") != 0) {
        host->set_error(host, MP_ERR_USAGE,
                        "%s: format=%s: give tar.gz, tar.zst or tar",
                        ep->display, format);
        return MP_FATAL;
    }
    if (full && strcmp(full, "0") != 0 && strcmp(full, "1") != 0) {
        host->set_error(host, MP_ERR_USAGE, "%s: full=%s must be 0 or 1",
                        ep->display, full);
        return MP_FATAL;
    }
    p->full = full && strcmp(full, "1") == 0;
    int encrypt = host->param(host, "recipient", 0) ||
                  host->param(host, "recipients_file", 0) ||
                  targz_passphrase_given(host);
    snprintf(ext, 32, ".%s%s", format, encrypt ? ".age" : "");
    p->ext = ext;
    if (!ep->path || !*ep->path) {
        host->set_error(host, MP_ERR_USAGE,
                        "%s: no directory for the series (targz-series:DIR)",
                        ep->display);
        return MP_FATAL;
    }
    return MP_OK;
}

/* DIR is a directory, or can be made as one (its parent is). */
static mp_status check_dir(mp_host *host, const mp_endpoint *ep, int create)
{
    struct stat sb;
    if (stat(ep->path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return MP_OK;
        host->set_error(host, MP_ERR_USAGE,
                        "%s: %s is not a directory (a series is a directory "
                        "of archives)",
                        ep->display, ep->path);
        return MP_FATAL;
    }
    char *parent = targz_dirname(ep->path);
    int parent_ok = parent && stat(parent, &sb) == 0 && S_ISDIR(sb.st_mode);
    free(parent);
    if (!parent_ok) {
        host->set_error(host, MP_ERR_NOTFOUND,
                        "%s: neither %s nor its parent directory exists",
                        ep->display, ep->path);
        return MP_FATAL;
    }
    if (create && mkdir(ep->path, 0700) != 0 && errno != EEXIST) {
        host->set_error(host, MP_ERR_IO, "%s: cannot create %s: %s",
                        ep->display, ep->path, strerror(errno));
        return MP_FATAL;
    }
    return MP_OK;
}

mp_status series_probe_sink(mp_host *host, const mp_endpoint *ep,
                            const char *folder)
{
    series_params p;
    char ext[32];
    mp_status st = read_params(host, ep, &p, ext);
    if (st == MP_OK)
        st = check_dir(host, ep, 0);
    if (st != MP_OK)
        return st;
    /* The targz sink's checks of a new archive in DIR (its name is made
     * up: the real one depends on the moment of the run). */
    struct stat sb;
    int exists = stat(ep->path, &sb) == 0;
    char *path = NULL;
    if (asprintf(&path, "%s/000000-19700101T000000Z%s", exists ? ep->path : ".",
                 ext) < 0)
        return oom(host);
    mp_endpoint inner = *ep;
    inner.path = path;
    st = targz_probe_sink(host, &inner, folder);
    free(path);
    return st;
}

/* ---- open ------------------------------------------------------------------
 */

static int is_series_file(const char *base, void *ctx)
{
    (void)ctx;
    return series_file_seq(base) != 0;
}

static void sink_close(void *store);

/* Where the next archive stands: the catalogue's head checked against
 * the files in DIR. Sets s->hdr and s->base. */
static mp_status place_next(series_sink *s, const series_params *p)
{
    series_file *files;
    size_t n;
    char *clash;
    if (series_list(s->dir, &files, &n, &clash) != 0) {
        if (errno == EEXIST) {
            s->host->set_error(s->host, MP_ERR_FORMAT,
                               "%s: two archives of the series have the "
                               "sequence number of %s/%s; move one away",
                               s->display, s->dir, clash);
            free(clash);
        } else {
            s->host->set_error(s->host, MP_ERR_IO, "%s: cannot read %s: %s",
                               s->display, s->dir, strerror(errno));
        }
        return MP_FATAL;
    }
    series_head head;
    int known = series_catalogue_head(s->cat, &head);
    if (known < 0) {
        series_files_free(files, n);
        return catalogue_failed(s);
    }
    const series_file *last = n ? &files[n - 1] : NULL;
    int in_step = known == 1 && last && last->seq == head.seq &&
                  strcmp(last->name, head.file) == 0;
    /* The chain the next archive would extend must be whole: every
     * archive of the generation there, the newest with the bytes the
     * catalogue recorded. Else a restore would stop at the break, and
     * each archive written after it would be lost with it. */
    const char *broken = NULL;
    if (in_step) {
        uint64_t want = head.generation;
        for (size_t i = 0; i < n; i++)
            if (files[i].seq == want)
                want++;
        char *path = NULL, hex[65];
        if (want != head.seq + 1)
            broken = "an archive of the current generation is missing from "
                     "the directory";
        else if (asprintf(&path, "%s/%s", s->dir, last->name) < 0 ||
                 series_file_sha256(path, hex) != 0 ||
                 strcmp(hex, head.sha256) != 0)
            broken = "the newest archive's bytes are not those the "
                     "catalogue recorded (changed or damaged since)";
        free(path);
        in_step = broken == NULL;
    }
    uint64_t top = last ? last->seq : 0;
    if (known == 1 && head.seq > top)
        top = head.seq;
    s->hdr.seq = top + 1;
    s->hdr.created = (int64_t)time(NULL);
    s->base = !in_step || p->full;
    if (!s->base) {
        s->hdr.generation = head.generation;
        memcpy(s->hdr.prev_sha256, head.sha256, sizeof head.sha256);
    } else {
        s->hdr.generation = s->hdr.seq;
        s->hdr.prev_sha256[0] = '\0';
        if (!p->full && (known == 1 || last))
            s->host->log(
                s->host, MP_LOG_WARN,
                "%s: %s; archive %" PRIu64 " is a full one and starts a new "
                "generation of the series",
                s->display,
                known != 1 ? "the series catalogue is missing (a new "
                             "machine, or a catalogue deleted)"
                : broken   ? broken
                : !last    ? "the catalogue names archives the directory no "
                             "longer holds"
                           : "the newest archive in the directory is not the "
                             "one the catalogue recorded (a run stopped after "
                             "writing it, or files moved)",
                s->hdr.seq);
    }
    if (known == 1)
        free(head.file);
    series_files_free(files, n);
    if (s->base && series_catalogue_clear(s->cat) != 0) {
        return catalogue_failed(s);
    }
    return MP_OK;
}

static mp_status sink_open(mp_host *host, const mp_endpoint *ep, void **store)
{
    series_params p;
    char ext[32];
    mp_status st = read_params(host, ep, &p, ext);
    if (st == MP_OK)
        st = check_dir(host, ep, 1);
    if (st != MP_OK)
        return st;
    series_sink *s = calloc(1, sizeof *s);
    if (!s)
        return oom(host);
    s->host = host;
    s->display = strdup(ep->display ? ep->display : "targz-series:");
    s->dir = strdup(ep->path);
    if (!s->display || !s->dir) {
        sink_close(s);
        return oom(host);
    }
    /* What killed runs left here, whatever this run does. */
    targz_remove_stale_temps(host, s->display, s->dir, is_series_file, NULL);
    char err[1024];
    char *cat_path =
        p.catalogue ? strdup(p.catalogue)
                    : series_catalogue_default_path(s->dir, err, sizeof err);
    if (!cat_path) {
        host->set_error(host, MP_ERR_IO, "%s: %s", s->display,
                        p.catalogue ? "out of memory" : err);
        sink_close(s);
        return MP_FATAL;
    }
    int rc = series_catalogue_open(cat_path, 1, &s->cat, err, sizeof err);
    free(cat_path);
    if (rc != 0) {
        host->set_error(host, MP_ERR_IO, "%s: %s", s->display, err);
        sink_close(s);
        return MP_FATAL;
    }
    if ((st = place_next(s, &p)) != MP_OK) {
        sink_close(s);
        return st;
    }
    s->name = series_file_name(s->hdr.seq, (time_t)s->hdr.created, p.ext);
    if (!s->name || asprintf(&s->path, "%s/%s", s->dir, s->name) < 0) {
        s->path = NULL;
        sink_close(s);
        return oom(host);
    }
    mp_endpoint inner = *ep;
    inner.path = s->path;
    if ((st = targz_sink_ops.open(host, &inner, &s->inner)) != MP_OK) {
        s->inner = NULL;
        sink_close(s);
        return st;
    }
    char *text = series_header_format(&s->hdr);
    st = text ? targz_sink_add_file(s->inner, TARGZ_SERIES_HEADER_NAME, text,
                                    strlen(text))
              : oom(host);
    free(text);
    if (st != MP_OK) {
        sink_close(s);
        return st;
    }
    *store = s;
    return MP_OK;
}

/* ---- finish and close
 * --------------------------------------------------------- */

/* Names (folders, subscriptions) read from the catalogue. */
typedef struct name_list {
    char **names;
    size_t n, cap;
} name_list;

static int collect_name(void *ctx, const char *name)
{
    name_list *l = ctx;
    if (l->n == l->cap) {
        char **g =
            realloc(l->names, (l->cap = l->cap ? l->cap * 2 : 16) * sizeof *g);
        if (!g)
            return -1;
        l->names = g;
    }
    return (l->names[l->n] = strdup(name)) ? (l->n++, 0) : -1;
}

static int has_name(const name_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return 1;
    return 0;
}

static void free_names(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
}

static mp_status sink_finish(void *store)
{
    series_sink *s = store;
    if (!s->base && !s->changed) {
        s->host->log(s->host, MP_LOG_INFO,
                     "%s: nothing changed since archive %" PRIu64
                     "; no archive written",
                     s->display, s->hdr.seq - 1);
        return MP_OK; /* close() drops the unfinished archive */
    }
    /* The whole subscribed set, not only what this run subscribed. */
    name_list subs = {0};
    mp_status st = MP_OK;
    if (series_catalogue_subscriptions(s->cat, collect_name, &subs) != 0)
        st = oom(s->host);
    for (size_t i = 0; i < subs.n && st == MP_OK; i++)
        st = targz_sink_ops.subscribe(s->inner, subs.names[i]);
    free_names(&subs);
    if (st == MP_OK && s->changes_len)
        st = targz_sink_add_file(s->inner, TARGZ_SERIES_CHANGES_NAME,
                                 s->changes, s->changes_len);
    if (st == MP_OK)
        st = targz_sink_ops.finish(s->inner);
    if (st != MP_OK)
        return st;
    s->finished = 1;
    series_head head = {
        .generation = s->hdr.generation, .seq = s->hdr.seq, .file = s->name};
    snprintf(head.sha256, sizeof head.sha256, "%s",
             targz_sink_file_sha256(s->inner));
    if (series_catalogue_commit(s->cat, &head) != 0)
        s->host->log(s->host, MP_LOG_WARN,
                     "%s: %s is complete, but the series catalogue could not "
                     "be updated (%s): the next run writes a full archive",
                     s->display, s->path, series_catalogue_error(s->cat));
    return MP_OK;
}

static void sink_close(void *store)
{
    series_sink *s = store;
    if (!s)
        return;
    if (s->inner)
        targz_sink_ops.close(s->inner);
    series_catalogue_close(s->cat); /* an uncommitted run is rolled back */
    free(s->changes);
    free(s->display);
    free(s->dir);
    free(s->name);
    free(s->path);
    free(s);
}

/* ---- folders
 * -------------------------------------------------------------------- */

typedef struct list_ctx {
    series_sink *s;
    mp_folder_cb cb;
    void *ctx;
    name_list folders, subs;
} list_ctx;

/* A folder this run opened that the catalogue does not know yet. */
static mp_status list_new(void *ctx, const mp_folder_info *info)
{
    list_ctx *l = ctx;
    if (has_name(&l->folders, info->name))
        return MP_OK;
    mp_folder_info copy = *info;
    copy.validity = l->s->hdr.generation;
    copy.subscribed =
        has_name(&l->subs, info->name) ? MP_SUBSCRIBED : MP_UNSUBSCRIBED;
    return l->cb(l->ctx, &copy);
}

static mp_status sink_list_folders(void *store, mp_folder_cb cb, void *ctx)
{
    series_sink *s = store;
    list_ctx l = {.s = s, .cb = cb, .ctx = ctx};
    mp_status st = MP_OK;
    if (series_catalogue_folders(s->cat, collect_name, &l.folders) != 0 ||
        series_catalogue_subscriptions(s->cat, collect_name, &l.subs) != 0) {
        st = catalogue_failed(s);
    }
    for (size_t i = 0; i < l.folders.n && st == MP_OK; i++) {
        const char *name = l.folders.names[i];
        mp_folder_info info = {.struct_size = sizeof info,
                               .name = name,
                               .validity = s->hdr.generation,
                               .count = -1,
                               .subscribed = has_name(&l.subs, name)
                                                 ? MP_SUBSCRIBED
                                                 : MP_UNSUBSCRIBED};
        st = cb(ctx, &info);
    }
    if (st == MP_OK)
        st = targz_sink_ops.list_folders(s->inner, list_new, &l);
    free_names(&l.folders);
    free_names(&l.subs);
    return st;
}

static mp_status sink_open_folder(void *store, const char *name, void **folder,
                                  mp_folder_info *info)
{
    series_sink *s = store;
    series_folder *f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(name))) {
        free(f);
        return oom(s->host);
    }
    mp_status st = targz_sink_ops.open_folder(s->inner, name, &f->inner, info);
    if (st != MP_OK) {
        free(f->name);
        free(f);
        return st;
    }
    f->s = s;
    info->validity = s->hdr.generation; /* a new generation voids rows */
    info->count = -1;
    if (MP_HAS_SLOT(info, mp_folder_info, change_marker))
        info->change_marker = 0;
    *folder = f;
    return MP_OK;
}

static mp_status sink_close_folder(void *folder)
{
    series_folder *f = folder;
    mp_status st = targz_sink_ops.close_folder(f->inner);
    free(f->name);
    free(f);
    return st;
}

typedef struct scan_ctx {
    mp_msg_cb cb;
    void *ctx;
    int identity;
    mp_status st;
} scan_ctx;

static int scan_one(void *ctx, const series_msg *m)
{
    scan_ctx *w = ctx;
    mp_msg_info info = {.struct_size = sizeof info,
                        .key = m->key,
                        .size = m->size,
                        .vsize = m->vsize,
                        .flags = m->flags,
                        .keywords = m->keywords,
                        .internal_date = m->date,
                        .identity = w->identity ? m->identity : NULL};
    w->st = w->cb(w->ctx, &info);
    return w->st != MP_OK;
}

/* What the series holds in the folder, from the catalogue. */
static mp_status sink_scan(void *folder, unsigned flags, mp_msg_cb cb,
                           void *ctx)
{
    series_folder *f = folder;
    scan_ctx w = {cb, ctx, (flags & MP_SCAN_IDENTITY) != 0, MP_OK};
    int rc = series_catalogue_each(f->s->cat, f->name, scan_one, &w);
    if (w.st != MP_OK)
        return w.st;
    if (rc < 0) {
        return catalogue_failed(f->s);
    }
    return MP_OK;
}

/* ---- messages
 * ----------------------------------------------------------------------- */

static mp_status sink_put_begin(void *folder, const mp_msg_info *info,
                                void **put)
{
    series_folder *f = folder;
    series_put *p = calloc(1, sizeof *p);
    if (!p || !(p->keywords = strdup(info->keywords ? info->keywords : ""))) {
        free(p);
        return oom(f->s->host);
    }
    mp_status st = targz_sink_ops.put_begin(f->inner, info, &p->inner);
    if (st != MP_OK) {
        free(p->keywords);
        free(p);
        return st;
    }
    p->f = f;
    p->flags = info->flags;
    p->date = info->internal_date == MP_DATE_UNKNOWN ? f->s->hdr.created
                                                     : info->internal_date;
    *put = p;
    return MP_OK;
}

static void put_free(series_put *p)
{
    free(p->keywords);
    free(p->hdr);
    free(p);
}

/* Keep the header block (up to its blank line) for the identity. */
static int capture_header(series_put *p, const char *buf, size_t len)
{
    if (p->hdr_done)
        return 0;
    size_t room = HEADER_CAPTURE_MAX - p->hdr_len;
    size_t take = len < room ? len : room;
    if (!p->hdr && !(p->hdr = malloc(HEADER_CAPTURE_MAX)))
        return -1;
    memcpy(p->hdr + p->hdr_len, buf, take);
    size_t from = p->hdr_len > 0 ? p->hdr_len - 1 : 0;
    p->hdr_len += take;
    for (size_t i = from; i + 1 < p->hdr_len; i++)
        if (p->hdr[i] == '\n' && p->hdr[i + 1] == '\n') {
            p->hdr_len = i + 1;
            p->hdr_done = 1;
            break;
        }
    if (p->hdr_len == HEADER_CAPTURE_MAX)
        p->hdr_done = 1;
    return 0;
}

static mp_status sink_put_write(void *put, const void *buf, size_t len)
{
    series_put *p = put;
    p->size += len;
    for (const char *c = buf, *end = c + len;
         (c = memchr(c, '\n', (size_t)(end - c))) != NULL; c++)
        p->lines++;
    if (capture_header(p, buf, len) != 0)
        return oom(p->f->s->host);
    return targz_sink_ops.put_write(p->inner, buf, len);
}

static mp_status sink_put_commit(void *put, char *key_out, size_t key_size)
{
    series_put *p = put;
    series_sink *s = p->f->s;
    char inner_key[1024];
    mp_status st =
        targz_sink_ops.put_commit(p->inner, inner_key, sizeof inner_key);
    if (st != MP_OK) {
        put_free(p);
        return st;
    }
    char key[1100];
    snprintf(key, sizeof key, "%" PRIu64 "/%s", s->hdr.seq, inner_key);
    char identity[256];
    s->host->identity_of_header(s->host, p->hdr ? p->hdr : "", p->hdr_len,
                                identity, sizeof identity);
    series_msg m = {.key = key,
                    .folder = p->f->name,
                    .keywords = p->keywords,
                    .identity = identity,
                    .size = p->size,
                    .vsize = p->size + p->lines,
                    .flags = p->flags,
                    .date = p->date};
    int rc = series_catalogue_add(s->cat, &m);
    put_free(p);
    if (rc != 0) {
        return catalogue_failed(s);
    }
    s->changed = 1;
    if (key_out && key_size)
        snprintf(key_out, key_size, "%s", key);
    return MP_OK;
}

static void sink_put_abort(void *put)
{
    series_put *p = put;
    targz_sink_ops.put_abort(p->inner);
    put_free(p);
}

/* One change line for the archive. */
static mp_status add_change(series_sink *s, const series_change *c)
{
    char *line = series_change_format(c);
    if (!line)
        return oom(s->host);
    size_t n = strlen(line);
    if (s->changes_len + n + 1 > s->changes_cap) {
        size_t cap = (s->changes_len + n + 1) * 2;
        char *g = realloc(s->changes, cap);
        if (!g) {
            free(line);
            return oom(s->host);
        }
        s->changes = g;
        s->changes_cap = cap;
    }
    memcpy(s->changes + s->changes_len, line, n);
    s->changes[s->changes_len + n] = '\n';
    s->changes_len += n + 1;
    free(line);
    s->changed = 1;
    return MP_OK;
}

static mp_status catalogue_result(series_sink *s, int rc, const char *key)
{
    if (rc < 0) {
        return catalogue_failed(s);
    }
    if (rc == 0) {
        s->host->set_error(s->host, MP_ERR_NOTFOUND,
                           "%s: the series holds no message %s", s->display,
                           key);
        return MP_MSG_BAD;
    }
    return MP_OK;
}

static mp_status sink_set_flags(void *folder, const char *key, unsigned flags,
                                const char *keywords)
{
    series_folder *f = folder;
    series_sink *s = f->s;
    mp_status st = catalogue_result(
        s, series_catalogue_set_flags(s->cat, key, flags, keywords), key);
    if (st != MP_OK)
        return st;
    series_change c = {.key = (char *)key,
                       .flags = flags,
                       .keywords = (char *)(keywords ? keywords : "")};
    return add_change(s, &c);
}

static mp_status sink_remove(void *folder, const char *const *keys, size_t n)
{
    series_folder *f = folder;
    series_sink *s = f->s;
    for (size_t i = 0; i < n; i++) {
        mp_status st = catalogue_result(
            s, series_catalogue_remove(s->cat, keys[i]), keys[i]);
        if (st == MP_MSG_BAD)
            continue; /* gone already: what --delete wanted */
        if (st != MP_OK)
            return st;
        series_change c = {.key = (char *)keys[i], .removed = 1};
        if ((st = add_change(s, &c)) != MP_OK)
            return st;
    }
    return MP_OK;
}

/* Kept in the catalogue too: every archive holds the whole set. */
static mp_status sink_subscribe(void *store, const char *name)
{
    series_sink *s = store;
    if (series_catalogue_subscribe(s->cat, name) != 0) {
        return catalogue_failed(s);
    }
    return targz_sink_ops.subscribe(s->inner, name);
}

const mp_sink_ops series_sink_ops = {
    .struct_size = sizeof(mp_sink_ops),
    .eol = MP_EOL_LF,
    .open = sink_open,
    .finish = sink_finish,
    .close = sink_close,
    .list_folders = sink_list_folders,
    .open_folder = sink_open_folder,
    .close_folder = sink_close_folder,
    .scan = sink_scan,
    .put_begin = sink_put_begin,
    .put_write = sink_put_write,
    .put_commit = sink_put_commit,
    .put_abort = sink_put_abort,
    .flush = NULL, /* nothing is durable before finish: rows are then void */
    .set_flags = sink_set_flags,
    .remove = sink_remove,
    .subscribe = sink_subscribe,
};
