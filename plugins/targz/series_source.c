/*
 * The series source: reads an archive series (series.h) as one store
 * holding its latest state, for restore and verify.
 *
 * open() finds the newest archive in DIR, and walks back from it to the
 * base of its generation, opening each archive with the targz source and
 * checking that each follows the one before (its sequence number, and
 * its record of the previous archive's SHA-256). Archives of older
 * generations are left alone. A message's key is "N/PATH" (archive N,
 * entry PATH); the change lines of all archives of the generation, the
 * later over the earlier, give each message's flags or remove it.
 */
#include "series.h"
#include "targz_source.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct archive_part {
    uint64_t seq;
    char *name;
    void *src; /* targz source store */
} archive_part;

typedef struct folder_entry {
    char *name;
    unsigned special_use;
    int subscribed;
} folder_entry;

typedef struct series_source {
    mp_host *host;
    char *display, *dir;
    archive_part *parts; /* oldest (the base) first */
    size_t n_parts;
    series_change *changes; /* sorted by key, one per key: the latest */
    size_t n_changes;
    uint64_t generation;
    folder_entry *folders;
    size_t n_folders;
} series_source;

typedef struct series_src_folder {
    series_source *s;
    void **inner; /* per part; NULL where the archive lacks the folder */
} series_src_folder;

static mp_status fail(series_source *s, mp_error_kind kind, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

static mp_status fail(series_source *s, mp_error_kind kind, const char *fmt,
                      ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    s->host->set_error(s->host, kind, "%s: %s", s->display, text);
    return MP_FATAL;
}

static void src_close(void *store);

/* Open archive FILE of the series; its header into *H. */
static mp_status open_part(series_source *s, const mp_endpoint *ep,
                           const series_file *file, archive_part *part,
                           series_header *h)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", s->dir, file->name) < 0)
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    mp_endpoint inner = *ep;
    inner.path = path;
    part->seq = file->seq;
    part->name = strdup(file->name);
    mp_status st = targz_source_ops.open(s->host, &inner, &part->src);
    free(path);
    if (st != MP_OK) {
        part->src = NULL;
        return st;
    }
    size_t len;
    const char *text = targz_source_series_file(part->src, 0, &len);
    if (!text || series_header_parse(text, len, h) != 0)
        return fail(s, MP_ERR_FORMAT,
                    "%s/%s is not an archive of a series (its %s is %s)",
                    s->dir, file->name, TARGZ_SERIES_HEADER_NAME,
                    text ? "malformed" : "missing");
    if (h->seq != file->seq)
        return fail(s, MP_ERR_FORMAT,
                    "%s/%s holds archive %" PRIu64
                    " of its series: the file was renamed",
                    s->dir, file->name, h->seq);
    return MP_OK;
}

/* The archives of the newest archive's generation, base first. */
static mp_status open_generation(series_source *s, const mp_endpoint *ep,
                                 const series_file *files, size_t n)
{
    s->parts = calloc(n, sizeof *s->parts);
    if (!s->parts)
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    size_t at = n; /* files[at] is the archive opened last */
    series_header h;
    mp_status st = MP_OK;
    for (;;) {
        at--;
        archive_part *part = &s->parts[s->n_parts++];
        if ((st = open_part(s, ep, &files[at], part, &h)) != MP_OK)
            return st;
        if (s->n_parts == 1)
            s->generation = h.generation;
        else if (h.generation != s->generation)
            return fail(s, MP_ERR_FORMAT,
                        "%s/%s belongs to another generation of the series "
                        "than the archives after it",
                        s->dir, files[at].name);
        if (h.seq == h.generation)
            break; /* the base */
        if (at == 0 || files[at - 1].seq != h.seq - 1)
            return fail(s, MP_ERR_FORMAT,
                        "archive %" PRIu64 " of the series is missing: %s/%s "
                        "follows it, and the restore needs every archive "
                        "from %" PRIu64 " (the generation's full archive) on",
                        h.seq - 1, s->dir, files[at].name, h.generation);
        char *prev_path = NULL, hex[65];
        if (asprintf(&prev_path, "%s/%s", s->dir, files[at - 1].name) < 0)
            return fail(s, MP_ERR_INTERNAL, "out of memory");
        int rc = series_file_sha256(prev_path, hex);
        int e = errno;
        free(prev_path);
        if (rc != 0)
            return fail(s, MP_ERR_IO, "cannot read %s/%s: %s", s->dir,
                        files[at - 1].name, strerror(e));
        if (strcmp(hex, h.prev_sha256) != 0)
            return fail(s, MP_ERR_FORMAT,
                        "%s/%s does not follow %s: the archive it was written "
                        "after had other bytes (replaced or damaged since)",
                        s->dir, files[at].name, files[at - 1].name);
    }
    if (at > 0)
        s->host->log(s->host, MP_LOG_INFO,
                     "%s: %zu archive%s of older generations before %s left "
                     "alone",
                     s->display, at, at == 1 ? "" : "s", files[at].name);
    /* Base first. */
    for (size_t i = 0, j = s->n_parts - 1; i < j; i++, j--) {
        archive_part t = s->parts[i];
        s->parts[i] = s->parts[j];
        s->parts[j] = t;
    }
    return MP_OK;
}

typedef struct keyed_change {
    series_change c;
    size_t order;
} keyed_change;

static int by_key_then_order(const void *a, const void *b)
{
    const keyed_change *x = a, *y = b;
    int c = strcmp(x->c.key, y->c.key);
    return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

/* Every archive's change lines, the latest per key kept. */
static mp_status load_changes(series_source *s)
{
    series_change *all = NULL;
    size_t n = 0;
    for (size_t i = 0; i < s->n_parts; i++) {
        size_t len;
        const char *text = targz_source_series_file(s->parts[i].src, 1, &len);
        if (!text)
            continue;
        size_t bad = series_changes_parse(text, len, &all, &n);
        if (bad) {
            series_changes_free(all, n);
            return fail(s, MP_ERR_FORMAT, "%s/%s: line %zu of %s is malformed",
                        s->dir, s->parts[i].name, bad,
                        TARGZ_SERIES_CHANGES_NAME);
        }
    }
    keyed_change *k = calloc(n + 1, sizeof *k);
    if (!k) {
        series_changes_free(all, n);
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        k[i] = (keyed_change){all[i], i};
    free(all);
    qsort(k, n, sizeof *k, by_key_then_order);
    s->changes = calloc(n + 1, sizeof *s->changes);
    if (!s->changes) {
        for (size_t i = 0; i < n; i++)
            free(k[i].c.key), free(k[i].c.keywords);
        free(k);
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && strcmp(k[i].c.key, k[i + 1].c.key) == 0) {
            free(k[i].c.key); /* a later line says more */
            free(k[i].c.keywords);
            continue;
        }
        s->changes[s->n_changes++] = k[i].c;
    }
    free(k);
    return MP_OK;
}

static const series_change *change_of(const series_source *s, const char *key)
{
    size_t lo = 0, hi = s->n_changes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(key, s->changes[mid].key);
        if (c == 0)
            return &s->changes[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* ---- folders: the union of the archives' ------------------------------ */

typedef struct union_ctx {
    series_source *s;
    int oom;
} union_ctx;

static mp_status add_listed(void *ctx, const mp_folder_info *info)
{
    union_ctx *u = ctx;
    series_source *s = u->s;
    if (MP_HAS_SLOT(info, mp_folder_info, nonexistent) && info->nonexistent)
        return MP_OK;
    for (size_t i = 0; i < s->n_folders; i++) {
        folder_entry *f = &s->folders[i];
        if (strcmp(f->name, info->name) != 0)
            continue;
        f->special_use |= info->special_use;
        /* The newest archive that keeps subscriptions says. */
        if (info->subscribed != MP_SUBSCRIPTION_UNKNOWN)
            f->subscribed = info->subscribed;
        return MP_OK;
    }
    folder_entry *g =
        realloc(s->folders, (s->n_folders + 1) * sizeof *s->folders);
    if (!g || !(g[s->n_folders].name = strdup(info->name))) {
        if (g)
            s->folders = g;
        u->oom = 1;
        return MP_FATAL;
    }
    s->folders = g;
    g[s->n_folders].special_use = info->special_use;
    g[s->n_folders].subscribed = info->subscribed;
    s->n_folders++;
    return MP_OK;
}

static mp_status src_open(mp_host *host, const mp_endpoint *ep, void **store)
{
    series_source *s = calloc(1, sizeof *s);
    if (!s) {
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    s->host = host;
    s->display = strdup(ep->display ? ep->display : "targz-series:");
    s->dir = ep->path ? strdup(ep->path) : NULL;
    /* Parameters only the writer reads: asked here so that one URL serves
     * both directions. */
    host->param(host, "format", 0);
    host->param(host, "full", 0);
    host->param(host, "catalogue", 0);
    mp_status st = MP_FATAL;
    series_file *files = NULL;
    size_t n = 0;
    char *clash = NULL;
    if (!s->display || !s->dir || !*s->dir) {
        if (s->display)
            fail(s, MP_ERR_USAGE, "no directory (targz-series:DIR)");
        else
            host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        goto out;
    }
    if (series_list(s->dir, &files, &n, &clash) != 0) {
        if (errno == EEXIST)
            fail(s, MP_ERR_FORMAT,
                 "two archives of the series have the sequence number of "
                 "%s/%s; move one away",
                 s->dir, clash);
        else
            fail(s, errno == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO,
                 "cannot read %s: %s", s->dir, strerror(errno));
        goto out;
    }
    if (n == 0) {
        fail(s, MP_ERR_NOTFOUND,
             "%s holds no archive of a series (files named "
             "NNNNNN-YYYYMMDDTHHMMSSZ.tar.gz and the like)",
             s->dir);
        goto out;
    }
    if ((st = open_generation(s, ep, files, n)) != MP_OK ||
        (st = load_changes(s)) != MP_OK)
        goto out;
    union_ctx u = {s, 0};
    for (size_t i = 0; i < s->n_parts && st == MP_OK; i++)
        st = targz_source_ops.list_folders(s->parts[i].src, add_listed, &u);
    if (u.oom)
        st = fail(s, MP_ERR_INTERNAL, "out of memory");
out:
    series_files_free(files, n);
    free(clash);
    if (st != MP_OK) {
        src_close(s);
        return MP_FATAL;
    }
    *store = s;
    return MP_OK;
}

static void src_close(void *store)
{
    series_source *s = store;
    if (!s)
        return;
    for (size_t i = 0; i < s->n_parts; i++) {
        if (s->parts[i].src)
            targz_source_ops.close(s->parts[i].src);
        free(s->parts[i].name);
    }
    free(s->parts);
    series_changes_free(s->changes, s->n_changes);
    for (size_t i = 0; i < s->n_folders; i++)
        free(s->folders[i].name);
    free(s->folders);
    free(s->display);
    free(s->dir);
    free(s);
}

static void folder_info(const series_source *s, const folder_entry *f,
                        mp_folder_info *info)
{
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->name = f->name;
    info->special_use = f->special_use;
    info->validity = s->generation;
    info->count = -1;
    info->subscribed = f->subscribed;
}

static mp_status src_list_folders(void *store, mp_folder_cb cb, void *ctx)
{
    series_source *s = store;
    for (size_t i = 0; i < s->n_folders; i++) {
        mp_folder_info info;
        folder_info(s, &s->folders[i], &info);
        mp_status st = cb(ctx, &info);
        if (st != MP_OK)
            return st;
    }
    return MP_OK;
}

static void src_close_folder(void *folder)
{
    series_src_folder *f = folder;
    if (!f)
        return;
    for (size_t i = 0; i < f->s->n_parts; i++)
        if (f->inner[i])
            targz_source_ops.close_folder(f->inner[i]);
    free(f->inner);
    free(f);
}

static mp_status src_open_folder(void *store, const char *name, void **folder,
                                 mp_folder_info *info)
{
    series_source *s = store;
    const folder_entry *entry = NULL;
    for (size_t i = 0; i < s->n_folders && !entry; i++)
        if (strcmp(s->folders[i].name, name) == 0)
            entry = &s->folders[i];
    if (!entry) {
        s->host->set_error(s->host, MP_ERR_NOTFOUND, "%s: no folder \"%s\"",
                           s->display, name);
        return MP_FOLDER_BAD;
    }
    series_src_folder *f = calloc(1, sizeof *f);
    if (!f || !(f->inner = calloc(s->n_parts, sizeof *f->inner))) {
        free(f);
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    }
    f->s = s;
    for (size_t i = 0; i < s->n_parts; i++) {
        mp_folder_info part_info = {.struct_size = sizeof part_info};
        if (targz_source_ops.open_folder(s->parts[i].src, name, &f->inner[i],
                                         &part_info) != MP_OK)
            f->inner[i] = NULL; /* not in this archive */
    }
    folder_info(s, entry, info);
    *folder = f;
    return MP_OK;
}

/* ---- scan and fetch ----------------------------------------------------- */

/* "N/PATH" for archive part P's key KEY into OUT. */
static void series_key(const archive_part *p, const char *key, char *out,
                       size_t size)
{
    snprintf(out, size, "%" PRIu64 "/%s", p->seq, key);
}

/* INFO as the series holds it: its series key and latest flags. Returns 0
 * when the series removed it. */
static int as_held(const series_source *s, const archive_part *p,
                   const mp_msg_info *in, mp_msg_info *out, char *key,
                   size_t key_size)
{
    *out = *in;
    series_key(p, in->key, key, key_size);
    out->key = key;
    const series_change *c = change_of(s, key);
    if (c && c->removed)
        return 0;
    if (c) {
        out->flags = c->flags;
        out->keywords = c->keywords;
    }
    return 1;
}

typedef struct scan_ctx {
    series_source *s;
    const archive_part *part;
    mp_msg_cb cb;
    void *ctx;
} scan_ctx;

static mp_status scan_one(void *ctx, const mp_msg_info *info)
{
    scan_ctx *w = ctx;
    char key[1200];
    mp_msg_info held;
    if (!as_held(w->s, w->part, info, &held, key, sizeof key))
        return MP_OK;
    return w->cb(w->ctx, &held);
}

static mp_status src_scan(void *folder, unsigned flags, mp_msg_cb cb, void *ctx)
{
    series_src_folder *f = folder;
    for (size_t i = 0; i < f->s->n_parts; i++) {
        if (!f->inner[i])
            continue;
        scan_ctx w = {f->s, &f->s->parts[i], cb, ctx};
        mp_status st = targz_source_ops.scan(f->inner[i], flags, scan_one, &w);
        if (st != MP_OK)
            return st;
    }
    return MP_OK;
}

typedef struct fetch_ctx {
    series_source *s;
    const archive_part *part;
    const size_t *index; /* the caller's index of each inner key */
    const mp_fetch_cb *cb;
    void *ctx;
} fetch_ctx;

static mp_status fetch_begin(void *ctx, size_t i, const mp_msg_info *info)
{
    fetch_ctx *w = ctx;
    char key[1200];
    mp_msg_info held;
    as_held(w->s, w->part, info, &held, key, sizeof key);
    return w->cb->begin(w->ctx, w->index[i], &held);
}

static mp_status fetch_data(void *ctx, const void *buf, size_t len)
{
    fetch_ctx *w = ctx;
    return w->cb->data(w->ctx, buf, len);
}

static mp_status fetch_end(void *ctx, mp_status status)
{
    fetch_ctx *w = ctx;
    return w->cb->end(w->ctx, status);
}

/* The part of the series key KEY, and the inner key after its "N/". */
static size_t part_of(const series_source *s, const char *key,
                      const char **inner)
{
    char *end;
    errno = 0;
    unsigned long long seq = strtoull(key, &end, 10);
    if (errno || end == key || *end != '/')
        return SIZE_MAX;
    *inner = end + 1;
    for (size_t i = 0; i < s->n_parts; i++)
        if (s->parts[i].seq == seq)
            return i;
    return SIZE_MAX;
}

static mp_status not_found(series_src_folder *f, const mp_fetch_cb *cb,
                           void *ctx, size_t index, const char *key)
{
    mp_msg_info info = {.struct_size = sizeof info,
                        .key = key,
                        .keywords = "",
                        .internal_date = MP_DATE_UNKNOWN};
    mp_status st = cb->begin(ctx, index, &info);
    if (st != MP_OK)
        return st;
    f->s->host->set_error(f->s->host, MP_ERR_NOTFOUND,
                          "%s: no message %s in this generation of the series",
                          f->s->display, key);
    return cb->end(ctx, MP_MSG_BAD);
}

static mp_status src_fetch(void *folder, const char *const *keys, size_t n,
                           const mp_fetch_cb *cb, void *ctx)
{
    series_src_folder *f = folder;
    series_source *s = f->s;
    const char **inner = calloc(n + 1, sizeof *inner);
    size_t *where = calloc(n + 1, sizeof *where);
    size_t *index = calloc(n + 1, sizeof *index);
    mp_status st = MP_OK;
    if (!inner || !where || !index)
        st = fail(s, MP_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < n && st == MP_OK; i++) {
        where[i] = part_of(s, keys[i], &inner[i]);
        if (where[i] == SIZE_MAX || !f->inner[where[i]])
            st = not_found(f, cb, ctx, i, keys[i]);
    }
    const mp_fetch_cb wrap = {sizeof wrap, fetch_begin, fetch_data, fetch_end};
    const char **batch = calloc(n + 1, sizeof *batch);
    if (!batch && st == MP_OK)
        st = fail(s, MP_ERR_INTERNAL, "out of memory");
    /* One fetch per archive, in archive order. */
    for (size_t p = 0; p < s->n_parts && st == MP_OK; p++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (where[i] == p && f->inner[p]) {
                batch[m] = inner[i];
                index[m++] = i;
            }
        if (m == 0)
            continue;
        fetch_ctx w = {s, &s->parts[p], index, cb, ctx};
        st = targz_source_ops.fetch(f->inner[p], batch, m, &wrap, &w);
    }
    free(batch);
    free(inner);
    free(where);
    free(index);
    return st;
}

const mp_source_ops series_source_ops = {
    .struct_size = sizeof(mp_source_ops),
    .eol = MP_EOL_NATIVE,
    .open = src_open,
    .close = src_close,
    .list_folders = src_list_folders,
    .open_folder = src_open_folder,
    .close_folder = src_close_folder,
    .scan = src_scan,
    .fetch = src_fetch,
    .probe_sink = series_probe_sink,
};
