#include "ib_folder.h"

#include "ib_date.h"
#include "ib_meta.h"
#include "ib_record.h"
#include "marker.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* As the Maildir reader bounds a header block, so identities agree. */
#define IB_MAX_HEADER (256 * 1024)

struct ib_folder {
    mp_host *host;
    char *name;
    char *imap_path, *mbox_path;
    ib_meta meta;
    const char *data; /* the .mbox, mapped; NULL when empty */
    size_t len;
    ib_msg *v;
    size_t n;
    struct uid_ref {
        uint32_t uid;
        size_t index;
    } * by_uid;       /* the messages sorted by UID, for fetch */
    char *scratch;    /* one unquoted header block */
    size_t stand_ins; /* ignore-history stand-ins left out */
};

static mp_status oom(ib_folder *f)
{
    f->host->set_error(f->host, MP_ERR_INTERNAL, "out of memory");
    return MP_FATAL;
}

/* The header block of M with its quoting undone, in f->scratch. */
static const char *header_of(ib_folder *f, const ib_msg *m, size_t *len)
{
    size_t end = ib_record_header_end(f->data, m->body, m->body_end);
    if (end - m->body > IB_MAX_HEADER)
        end = m->body + IB_MAX_HEADER;
    *len = ib_record_unquote(f->data, m->body, end, f->scratch);
    return f->scratch;
}

/* Check M's slice and work out what fetch will deliver. */
static void read_record(ib_folder *f, ib_msg *m)
{
    if (m->start > f->len || m->end > f->len || m->end < m->start) {
        m->problem = "lies beyond the end of the file";
        return;
    }
    m->problem = ib_record_parse(f->data, m->start, m->end, &m->body,
                                 &m->body_end, &m->from_len);
    if (!m->problem)
        m->problem = ib_record_check_bounds(f->data, f->len, m->start, m->end);
    if (m->problem)
        return;
    m->size = ib_record_size(f->data, m->body, m->body_end);
    size_t hlen;
    const char *hdr = header_of(f, m, &hlen);
    m->date = ib_message_date(hdr, hlen, f->data + m->start, m->from_len);
}

/* imap-backup's "utils ignore-history" fills a backup with stand-ins for
 * the messages it is told to skip (lib/imap/backup/cli/utils.rb). They
 * were never the server's, so they are left out. */
static int is_stand_in(const ib_folder *f, const ib_msg *m)
{
    char want[128];
    int n = snprintf(want, sizeof want,
                     "From: fake@email.com\nSubject: Message %" PRIu32
                     " not backed up\nSkipped %" PRIu32 "\n",
                     m->uid, m->uid);
    return !m->problem && n > 0 && m->body_end - m->body == (size_t)n &&
           memcmp(f->data + m->body, want, (size_t)n) == 0;
}

/* Keep the message just placed at the end of f->v, or drop it. */
static void keep_or_drop(ib_folder *f)
{
    if (is_stand_in(f, &f->v[f->n - 1])) {
        f->n--;
        f->stand_ins++;
    }
}

static void init_msg(ib_msg *m, const ib_entry *e)
{
    *m = (ib_msg){.uid = e->uid,
                  .flags = e->flags.flags,
                  .keywords = e->flags.keywords ? e->flags.keywords : "",
                  .date = MP_DATE_UNKNOWN};
    snprintf(m->key, sizeof m->key, "%" PRIu32, e->uid);
}

typedef struct records {
    size_t *start, *end;
    size_t n, cap;
} records;

static int add_record(void *ctx, size_t start, size_t end)
{
    records *r = ctx;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        size_t *s = realloc(r->start, cap * sizeof *s);
        if (s)
            r->start = s;
        size_t *e = s ? realloc(r->end, cap * sizeof *e) : NULL;
        if (!e)
            return -1;
        r->end = e;
        r->cap = cap;
    }
    r->start[r->n] = start;
    r->end[r->n++] = end;
    return 0;
}

/* Pair the index's entries with the records R in order (versions 1 and 2,
 * and version 3 files whose offsets are off); R holds at least as many
 * records as there are entries. */
static void place_in_order(ib_folder *f, const records *r)
{
    f->n = 0;
    f->stand_ins = 0;
    for (size_t i = 0; i < f->meta.n; i++) {
        if (f->meta.v[i].uid == 0) /* a duplicate's place */
            continue;
        ib_msg *m = &f->v[f->n++];
        init_msg(m, &f->meta.v[i]);
        m->start = r->start[i];
        m->end = r->end[i];
        read_record(f, m);
        keep_or_drop(f);
    }
    /* imap-backup appends to the .mbox before it rewrites the .imap (and
     * with download_strategy delay_metadata only every few messages): a
     * run that was stopped leaves messages the index does not list yet.
     * The next imap-backup run fetches them again, so they are not ours
     * to take. */
    if (r->n > f->meta.n)
        f->host->log(f->host, MP_LOG_WARN,
                     "folder \"%s\": %zu messages after the last one %s "
                     "lists are ignored (left by an interrupted imap-backup "
                     "run; its next run backs them up again)",
                     f->name, r->n - f->meta.n, f->imap_path);
}

/* Split the .mbox into records. MP_OK, or the error set. */
static mp_status split_records(ib_folder *f, records *r)
{
    int rc = ib_record_split(f->data, f->len, add_record, r);
    if (rc == -2)
        return oom(f);
    if (rc == -1) {
        f->host->set_error(f->host, MP_ERR_FORMAT,
                           "folder \"%s\": %s does not start with a \"From \" "
                           "line",
                           f->name, f->mbox_path);
        return MP_FOLDER_BAD;
    }
    return MP_OK;
}

/* Did imap-backup 11.1 write this index? It measured each record in
 * characters and summed those into the offsets: then every entry's
 * length is its record's length in characters, in order. */
static int counted_in_characters(const ib_folder *f, const records *r)
{
    if (r->n < f->meta.n)
        return 0;
    uint64_t offset = 0;
    for (size_t i = 0; i < f->meta.n; i++) {
        const ib_entry *e = &f->meta.v[i];
        if (e->offset != offset ||
            e->length != ib_record_ruby_length(f->data, r->start[i], r->end[i]))
            return 0;
        offset += e->length;
    }
    return 1;
}

/* Version 3: the slices are in the index. */
static mp_status place_by_offsets(ib_folder *f)
{
    size_t last = 0, bad = 0;
    for (size_t i = 0; i < f->meta.n; i++) {
        const ib_entry *e = &f->meta.v[i];
        ib_msg *m = &f->v[f->n++];
        init_msg(m, e);
        m->start = e->offset > SIZE_MAX ? SIZE_MAX : (size_t)e->offset;
        m->end =
            e->length > SIZE_MAX - m->start ? SIZE_MAX : m->start + e->length;
        read_record(f, m);
        if (m->problem)
            bad++;
        else if (m->end > last)
            last = m->end;
        keep_or_drop(f);
    }
    if (bad) {
        /* A .mbox that is no series of records leaves the slices' own
         * errors to tell. */
        records r = {0};
        int rc = ib_record_split(f->data, f->len, add_record, &r);
        if (rc == 0 && counted_in_characters(f, &r)) {
            f->host->log(f->host, MP_LOG_WARN,
                         "folder \"%s\": the lengths and offsets in %s count "
                         "characters, not bytes (imap-backup 11.1 wrote them "
                         "so); the messages are taken from %s in order "
                         "instead",
                         f->name, f->imap_path, f->mbox_path);
            place_in_order(f, &r);
        }
        free(r.start);
        free(r.end);
        return rc == -2 ? oom(f) : MP_OK;
    }
    /* See place_in_order on what is after the last message. */
    if (last < f->len)
        f->host->log(f->host, MP_LOG_WARN,
                     "folder \"%s\": %zu bytes after the last message %s "
                     "lists are ignored (left by an interrupted imap-backup "
                     "run; its next run backs them up again)",
                     f->name, f->len - last, f->imap_path);
    return MP_OK;
}

/* Versions 1 and 2: the UIDs pair with the records in order. */
static mp_status place_by_order(ib_folder *f)
{
    records r = {0};
    mp_status st = split_records(f, &r);
    if (st == MP_OK && r.n < f->meta.n) {
        /* Which message is missing cannot be told: pairing the rest by
         * position would give them the wrong UIDs. */
        f->host->set_error(f->host, MP_ERR_FORMAT,
                           "folder \"%s\": %s lists %zu messages but %s holds "
                           "%zu",
                           f->name, f->imap_path, f->meta.n, f->mbox_path, r.n);
        st = MP_FOLDER_BAD;
    }
    if (st == MP_OK)
        place_in_order(f, &r);
    free(r.start);
    free(r.end);
    return st;
}

static int by_uid(const void *a, const void *b)
{
    uint32_t x = ((const struct uid_ref *)a)->uid;
    uint32_t y = ((const struct uid_ref *)b)->uid;
    return (x > y) - (x < y);
}

static const ib_msg *find_uid(const ib_folder *f, const char *key)
{
    char *end;
    if (!key || *key < '1' || *key > '9')
        return NULL;
    errno = 0;
    unsigned long long u = strtoull(key, &end, 10);
    if (*end || errno || u > UINT32_MAX)
        return NULL;
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (f->by_uid[mid].uid < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->n && f->by_uid[lo].uid == u ? &f->v[f->by_uid[lo].index]
                                               : NULL;
}

static int map_file(ib_folder *f, struct stat *sb)
{
    int fd = open(f->mbox_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fstat(fd, sb);
    if (rc == 0 && sb->st_size > 0) {
        void *p =
            mmap(NULL, (size_t)sb->st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            rc = -1;
        } else {
            f->data = p;
            f->len = (size_t)sb->st_size;
            madvise(p, f->len, MADV_SEQUENTIAL);
        }
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static void warn_index(ib_folder *f)
{
    if (f->meta.duplicate_uids)
        f->host->log(f->host, MP_LOG_WARN,
                     "folder \"%s\": %s lists %zu UIDs more than once (first "
                     "%" PRIu32 "); only the first entry of each is read",
                     f->name, f->imap_path, f->meta.duplicate_uids,
                     f->meta.first_duplicate);
    if (f->meta.dropped_flags)
        f->host->log(f->host, MP_LOG_WARN,
                     "folder \"%s\": %s holds %zu flags that are no IMAP flag "
                     "name; they are left out",
                     f->name, f->imap_path, f->meta.dropped_flags);
}

mp_status ib_folder_open(mp_host *host, const char *name, const char *base,
                         ib_folder **out, mp_folder_info *info)
{
    ib_folder *f = calloc(1, sizeof *f);
    if (!f) {
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    f->host = host;
    if (!base) {
        if (!(f->name = strdup(name))) {
            free(f);
            host->set_error(host, MP_ERR_INTERNAL, "out of memory");
            return MP_FATAL;
        }
        *info = (mp_folder_info){
            .struct_size = sizeof *info, .name = f->name, .no_select = 1};
        *out = f;
        return MP_OK;
    }
    if (!(f->name = strdup(name)) ||
        asprintf(&f->imap_path, "%s.imap", base) < 0 ||
        asprintf(&f->mbox_path, "%s.mbox", base) < 0 ||
        !(f->scratch = malloc(IB_MAX_HEADER))) {
        ib_folder_close(f);
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    char err[1024];
    struct stat ist, mst;
    mp_status st = MP_OK;
    if (stat(f->imap_path, &ist) != 0) {
        host->set_error(host, errno == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO,
                        "folder \"%s\": cannot read %s: %s", name, f->imap_path,
                        strerror(errno));
        st = MP_FOLDER_BAD;
    } else if (ib_meta_load(f->imap_path, &f->meta, err, sizeof err) != 0) {
        host->set_error(host, MP_ERR_FORMAT, "folder \"%s\": %s", name, err);
        st = MP_FOLDER_BAD;
    } else if (map_file(f, &mst) != 0) {
        if (errno == ENOENT && f->meta.n == 0) {
            memset(&mst, 0, sizeof mst); /* an empty folder may have none */
        } else {
            host->set_error(host, errno == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO,
                            "folder \"%s\": cannot read %s: %s", name,
                            f->mbox_path, strerror(errno));
            st = MP_FOLDER_BAD;
        }
    }
    if (st == MP_OK && !(f->v = calloc(f->meta.n + 1, sizeof *f->v)))
        st = oom(f);
    if (st == MP_OK) {
        warn_index(f);
        st = f->meta.version == 3 ? place_by_offsets(f) : place_by_order(f);
        if (f->stand_ins)
            host->log(host, MP_LOG_INFO,
                      "folder \"%s\": %zu stand-ins \"imap-backup utils "
                      "ignore-history\" wrote for messages it did not back "
                      "up are left out",
                      name, f->stand_ins);
    }
    if (st == MP_OK && !(f->by_uid = malloc((f->n + 1) * sizeof *f->by_uid)))
        st = oom(f);
    if (st != MP_OK) {
        ib_folder_close(f);
        return st;
    }
    for (size_t i = 0; i < f->n; i++)
        f->by_uid[i] = (struct uid_ref){f->v[i].uid, i};
    qsort(f->by_uid, f->n, sizeof *f->by_uid, by_uid);
    /* Changes to flags rewrite the .imap, new messages both files. */
    uint64_t marker = mp_marker_fold(0, 1, &ist);
    marker = mst.st_ino ? mp_marker_fold(marker, 0, &mst) : marker;
    *info = (mp_folder_info){
        .struct_size = sizeof *info,
        .name = f->name,
        .validity = f->meta.has_validity ? f->meta.uid_validity : 0,
        .count = (int64_t)f->n,
        .change_marker = marker,
    };
    *out = f;
    return MP_OK;
}

void ib_folder_close(ib_folder *f)
{
    if (!f)
        return;
    if (f->data)
        munmap((void *)f->data, f->len);
    ib_meta_free(&f->meta);
    free(f->v);
    free(f->by_uid);
    free(f->scratch);
    free(f->name);
    free(f->imap_path);
    free(f->mbox_path);
    free(f);
}

static void fill_info(const ib_msg *m, mp_msg_info *info)
{
    *info = (mp_msg_info){
        .struct_size = sizeof *info,
        .key = m->key,
        .size = m->size,
        .flags = m->flags,
        .keywords = m->keywords,
        .internal_date = m->date,
    };
}

mp_status ib_folder_scan(ib_folder *f, unsigned flags, mp_msg_cb cb, void *ctx)
{
    char identity[128];
    for (size_t i = 0; i < f->n; i++) {
        const ib_msg *m = &f->v[i];
        mp_msg_info info;
        fill_info(m, &info);
        if ((flags & MP_SCAN_IDENTITY) && !m->problem) {
            size_t len;
            const char *hdr = header_of(f, m, &len);
            f->host->identity_of_header(f->host, hdr, len, identity,
                                        sizeof identity);
            info.identity = identity;
        }
        mp_status st = cb(ctx, &info);
        if (st != MP_OK)
            return st;
    }
    return MP_OK;
}

/* Deliver M's bytes with the quoting undone, in pieces of bounded size. */
static mp_status stream(ib_folder *f, const ib_msg *m, const mp_fetch_cb *cb,
                        void *ctx)
{
    const size_t piece = 1u << 20;
    size_t from = m->body;
    for (;;) {
        size_t q = ib_record_next_quote(f->data, m->body, from, m->body_end);
        while (from < q) {
            size_t n = q - from < piece ? q - from : piece;
            mp_status st = cb->data(ctx, f->data + from, n);
            if (st != MP_OK)
                return st;
            from += n;
        }
        if (q >= m->body_end)
            return MP_OK;
        from = q + 1; /* the '>' imap-backup added */
    }
}

mp_status ib_folder_fetch(ib_folder *f, const char *const *keys, size_t n,
                          const mp_fetch_cb *cb, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        const ib_msg *m = find_uid(f, keys[i]);
        mp_msg_info info;
        if (m)
            fill_info(m, &info);
        else
            info = (mp_msg_info){.struct_size = sizeof info,
                                 .key = keys[i] ? keys[i] : "",
                                 .keywords = "",
                                 .internal_date = MP_DATE_UNKNOWN};
        mp_status st = cb->begin(ctx, i, &info);
        if (st != MP_OK)
            return st;
        if (!m) {
            f->host->set_error(f->host, MP_ERR_NOTFOUND,
                               "folder \"%s\": no message with UID %s", f->name,
                               keys[i] ? keys[i] : "(null)");
            st = MP_MSG_BAD;
        } else if (m->problem) {
            f->host->set_error(f->host, MP_ERR_FORMAT,
                               "folder \"%s\", UID %" PRIu32
                               ": the message %s places at offset %zu (%zu "
                               "bytes) in %s %s",
                               f->name, m->uid, f->imap_path, m->start,
                               m->end - m->start, f->mbox_path, m->problem);
            st = MP_MSG_BAD;
        } else {
            st = stream(f, m, cb, ctx);
            if (st != MP_OK)
                return st;
        }
        st = cb->end(ctx, st);
        if (st != MP_OK)
            return st;
    }
    return MP_OK;
}
