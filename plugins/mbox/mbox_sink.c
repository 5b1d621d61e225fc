/* mbox sink: appends messages to an mbox file (mboxrd by default, mboxo on
 * request). Each message is "From MAILER-DAEMON <asctime>\n", the message
 * with its From_-quoting added, a newline when it did not end in one, and
 * one empty separator line. A message becomes visible at put_commit and
 * durable at flush (fsync). put_abort truncates the file back.
 *
 * Crash safety: before the first byte of an append, and at every flush
 * after the fsync, the length the file is known to be durable at is kept
 * in a commit record beside it (mbox_commit.h); a run killed mid-append
 * leaves the record, and the next open_folder truncates the file back to
 * that length. Messages after it were never made durable, so the sync
 * state holds none of them and they are copied again. A clean close
 * removes the record.
 *
 * Locking: the folder holds an exclusive flock(2) on the file while it is
 * open, so two mailport runs never append to (or cut back) one mbox at
 * once; other programs must not write the file meanwhile. */
#include "marker.h"
#include "mbox_commit.h"
#include "mbox_date.h"
#include "mbox_ops.h"
#include "mbox_quote.h"
#include "mbox_read.h"
#include "mbox_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct sink_folder {
    mbox_store *store;
    char *name;
    char *path;
    int fd;
    uint64_t end;       /* size of the committed file */
    int gap;            /* newlines owed before the next From_ line */
    mbox_commit commit; /* the durable length, for undoing a killed append */
    int put_open;
    /* The open put. */
    uint64_t put_start; /* where to truncate back to */
    uint64_t wpos;      /* file offset of buf[0] */
    uint64_t body_bytes;
    char last; /* last message byte written */
    mbox_quoter quoter;
    mbox_tagger tagger; /* the open put's tag, over what is written */
    /* The tags of the file's messages, for the ordinals in new keys
     * (mbox_key.h); read from the file by the first scan or put. */
    mbox_tag_counts tags;
    int tags_known;
    size_t buf_len;
    char buf[64 * 1024];
} sink_folder;

static mp_status sink_open(mp_host *host, const mp_endpoint *ep, void **out)
{
    mbox_format fmt;
    mp_status st = mbox_read_params(host, ep, 1, &fmt);
    int is_dir;
    if (st == MP_OK)
        st = mbox_store_prepare(host, ep, 0, &is_dir);
    if (st != MP_OK)
        return st;
    return mbox_store_open(host, ep, fmt, is_dir, out);
}

static void free_folder(sink_folder *f)
{
    if (f->fd >= 0)
        close(f->fd);
    mbox_commit_free(&f->commit);
    mbox_tag_counts_free(&f->tags);
    if (f->put_open)
        mbox_tagger_discard(&f->tagger);
    free(f->name);
    free(f->path);
    free(f);
}

/* Check that the existing file F is an mbox we may append to, and work out
 * how many newlines the next From_ line needs before it. */
static mp_status inspect_existing(sink_folder *f, mp_host *host)
{
    if (f->end == 0) {
        f->gap = 0;
        return MP_OK;
    }
    unsigned char head[16];
    ssize_t got = pread(f->fd, head, sizeof head, 0);
    if (got > 0 && mbox_is_compressed(head, (size_t)got)) {
        host->set_error(host, MP_ERR_REFUSED,
                        "refusing to append to %s: it is compressed", f->path);
        return MP_FOLDER_BAD;
    }
    mbox_content c = {.host = host, .path = f->path};
    char err[1024];
    if (mbox_map_fd(&c.map, f->fd, (size_t)f->end, f->path, err, sizeof err) !=
        0) {
        host->set_error(host, MP_ERR_IO, "%s", err);
        return MP_FOLDER_BAD;
    }
    size_t start;
    mbox_start kind = mbox_find_start(c.map.data, c.map.len, &start);
    const char *d = c.map.data;
    size_t n = c.map.len;
    if (n >= 2 && d[n - 1] == '\n' && d[n - 2] == '\n')
        f->gap = 0;
    else if (n >= 4 && memcmp(d + n - 4, "\r\n\r\n", 4) == 0)
        f->gap = 0;
    else if (d[n - 1] == '\n')
        f->gap = 1;
    else
        f->gap = 2;
    if (kind == MBOX_START_EMPTY)
        f->gap = 0; /* blank lines only: a From_ line may follow directly */
    mbox_map_close(&c.map);
    if (kind != MBOX_START_OK && kind != MBOX_START_EMPTY) {
        host->set_error(host, MP_ERR_FORMAT,
                        "refusing to append to %s: it is not an mbox file",
                        f->path);
        return MP_FOLDER_BAD;
    }
    return MP_OK;
}

static mp_status sink_open_folder(void *store, const char *name, void **out,
                                  mp_folder_info *info)
{
    mbox_store *s = store;
    mp_status st;
    char *path = mbox_folder_path(s, name, &st);
    if (!path)
        return st;
    if (s->is_dir && mbox_make_dirs(path, 0) != 0) {
        s->host->set_error(s->host, MP_ERR_IO,
                           "cannot create the directories of folder \"%s\" "
                           "(%s): %s",
                           name, path, strerror(errno));
        free(path);
        return MP_FOLDER_BAD;
    }
    sink_folder *f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(name))) {
        free(f);
        free(path);
        s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    f->store = s;
    f->path = path;
    f->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    struct stat sb;
    if (f->fd < 0 || fstat(f->fd, &sb) != 0) {
        s->host->set_error(s->host, MP_ERR_IO,
                           "cannot open mbox folder \"%s\" (%s): %s", name,
                           path, strerror(errno));
        free_folder(f);
        return MP_FOLDER_BAD;
    }
    if (!S_ISREG(sb.st_mode)) {
        s->host->set_error(s->host, MP_ERR_REFUSED,
                           "mbox folder \"%s\" (%s) is not a regular file",
                           name, path);
        free_folder(f);
        return MP_FOLDER_BAD;
    }
    if (flock(f->fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        s->host->set_error(s->host, MP_ERR_REFUSED,
                           "mbox folder \"%s\" (%s) is locked by another "
                           "process; not appending to it",
                           name, path);
        free_folder(f);
        return MP_FOLDER_BAD;
    }
    /* Undo what a killed run left half-appended, before looking at it. */
    uint64_t size = (uint64_t)sb.st_size;
    if (mbox_commit_open(&f->commit, s->host, path, f->fd, &size) != 0 ||
        fstat(f->fd, &sb) != 0) {
        s->host->set_error(s->host, MP_ERR_IO,
                           "cannot cut mbox folder \"%s\" (%s) back to its "
                           "last committed length: %s",
                           name, path, strerror(errno));
        free_folder(f);
        return MP_FOLDER_BAD;
    }
    f->end = (uint64_t)sb.st_size;
    st = inspect_existing(f, s->host);
    if (st != MP_OK) {
        free_folder(f);
        return st;
    }
    *info = (mp_folder_info){
        .struct_size = sizeof *info,
        .name = f->name,
        .validity = (uint64_t)sb.st_ino,
        .count = -1,
        .change_marker = mp_marker_fold(0, 1, &sb),
    };
    *out = f;
    return MP_OK;
}

static int write_at(int fd, const char *buf, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t w = pwrite(fd, buf, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

static int drain(sink_folder *f)
{
    if (f->buf_len == 0)
        return 0;
    if (write_at(f->fd, f->buf, f->buf_len, f->wpos) != 0)
        return errno ? errno : EIO;
    f->wpos += f->buf_len;
    f->buf_len = 0;
    return 0;
}

/* Output of the quoter and of the framing: buffered, then pwrite. */
static int emit(void *ctx, const char *p, size_t n)
{
    sink_folder *f = ctx;
    while (n > 0) {
        if (f->buf_len == sizeof f->buf) {
            int rc = drain(f);
            if (rc)
                return rc;
        }
        size_t k = sizeof f->buf - f->buf_len;
        if (k > n)
            k = n;
        memcpy(f->buf + f->buf_len, p, k);
        f->buf_len += k;
        p += k;
        n -= k;
    }
    return 0;
}

/* Output that is part of the message's bytes as a reader splits them
 * (its From_ line, its quoted text, a final newline): tagged too. */
static int emit_tagged(void *ctx, const char *p, size_t n)
{
    sink_folder *f = ctx;
    mbox_tagger_feed(&f->tagger, p, n);
    return emit(f, p, n);
}

/* Split the file as it is, to learn its messages' tags: a key names the
 * N-th message with a tag. */
static mp_status read_tags(sink_folder *f)
{
    mp_host *h = f->store->host;
    f->tags_known = 1;
    if (f->end == 0)
        return MP_OK;
    mbox_content c = {.host = h, .path = f->path, .format = f->store->format};
    char err[1024];
    if (mbox_map_fd(&c.map, f->fd, (size_t)f->end, f->path, err, sizeof err) !=
        0) {
        h->set_error(h, MP_ERR_IO, "%s", err);
        return MP_FATAL;
    }
    mp_status st = mbox_content_split(&c);
    if (st == MP_OK) {
        mbox_tag_counts_free(&f->tags);
        f->tags = c.index.tags;
        memset(&c.index.tags, 0, sizeof c.index.tags);
    }
    mbox_content_free(&c);
    return st;
}

static mp_status io_failed(sink_folder *f, int err)
{
    mp_host *h = f->store->host;
    h->set_error(h, MP_ERR_IO, "cannot write mbox %s: %s", f->path,
                 strerror(err));
    /* Leave the file as it was before this message. */
    f->buf_len = 0;
    if (ftruncate(f->fd, (off_t)f->put_start) == 0)
        f->end = f->put_start;
    f->put_open = 0;
    mbox_tagger_discard(&f->tagger);
    return MP_FATAL;
}

static mp_status sink_put_begin(void *folder, const mp_msg_info *info,
                                void **put)
{
    sink_folder *f = folder;
    mp_host *h = f->store->host;
    if (f->put_open) {
        h->set_error(h, MP_ERR_INTERNAL,
                     "%s: a message is already being written", f->path);
        return MP_FATAL;
    }
    /* The length to come back to must be on record before the file grows:
     * a kill mid-append is undone from it. */
    if (f->commit.length == MBOX_COMMIT_NONE && !f->commit.disabled &&
        (fsync(f->fd) != 0 ||
         mbox_commit_record(&f->commit, h, f->fd, f->end) != 0)) {
        h->set_error(h, MP_ERR_IO, "cannot record the length of mbox %s: %s",
                     f->path, strerror(errno));
        return MP_FATAL;
    }
    if (!f->tags_known && read_tags(f) != MP_OK)
        return MP_FATAL;
    if (mbox_tagger_begin(&f->tagger) != 0) {
        h->set_error(h, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    f->put_open = 1;
    f->put_start = f->wpos = f->end;
    f->buf_len = 0;
    f->body_bytes = 0;
    f->last = '\n';
    int rc = emit(f, "\n\n", (size_t)f->gap);
    char line[MBOX_FROM_LINE_MAX];
    size_t n = mbox_from_line(info->internal_date, (int64_t)time(NULL), line,
                              sizeof line);
    if (!rc)
        rc = emit_tagged(f, line, n);
    if (rc)
        return io_failed(f, rc);
    mbox_quoter_init(&f->quoter, f->store->format == MBOX_FORMAT_MBOXRD);
    *put = f;
    return MP_OK;
}

static mp_status sink_put_write(void *put, const void *buf, size_t len)
{
    sink_folder *f = put;
    if (len == 0)
        return MP_OK;
    int rc = mbox_quoter_feed(&f->quoter, buf, len, emit_tagged, f);
    if (rc)
        return io_failed(f, rc);
    f->body_bytes += len;
    f->last = ((const char *)buf)[len - 1];
    return MP_OK;
}

static mp_status sink_put_commit(void *put, char *key_out, size_t key_size)
{
    sink_folder *f = put;
    int rc = mbox_quoter_finish(&f->quoter, emit_tagged, f);
    /* A message that does not end its last line gets a newline: the
     * separator must be a line of its own. */
    if (!rc && f->body_bytes > 0 && f->last != '\n')
        rc = emit_tagged(f, "\n", 1);
    if (!rc)
        rc = emit(f, "\n", 1);
    if (!rc)
        rc = drain(f);
    if (rc)
        return io_failed(f, rc);
    uint64_t tag = mbox_tagger_end(&f->tagger);
    uint32_t ordinal = mbox_tag_counts_add(&f->tags, tag);
    f->end = f->wpos;
    f->gap = 0;
    f->put_open = 0;
    char key[MBOX_KEY_SIZE];
    mbox_key_format(key, tag, ordinal ? ordinal : 1);
    if (key_out && key_size)
        snprintf(key_out, key_size, "%s", ordinal ? key : "");
    return MP_OK;
}

static void sink_put_abort(void *put)
{
    sink_folder *f = put;
    f->buf_len = 0;
    mbox_tagger_discard(&f->tagger);
    /* Nothing of the message may stay; if even truncating fails the next
     * put starts after the debris (still a well-formed separator). */
    if (ftruncate(f->fd, (off_t)f->put_start) != 0) {
        struct stat sb;
        if (fstat(f->fd, &sb) == 0) {
            f->end = (uint64_t)sb.st_size;
            f->gap = 2;
        }
    } else {
        f->end = f->put_start;
    }
    f->put_open = 0;
}

static mp_status sink_flush(void *folder)
{
    sink_folder *f = folder;
    mp_host *h = f->store->host;
    if (fsync(f->fd) != 0) {
        h->set_error(h, MP_ERR_IO, "cannot sync mbox %s: %s", f->path,
                     strerror(errno));
        return MP_FATAL;
    }
    /* Durable now: a later kill comes back to here, not before. */
    if (mbox_commit_record(&f->commit, h, f->fd, f->end) != 0) {
        h->set_error(h, MP_ERR_IO,
                     "cannot replace or remove the commit record %s of mbox "
                     "%s: %s",
                     f->commit.path, f->path, strerror(errno));
        return MP_FATAL;
    }
    return MP_OK;
}

static mp_status sink_close_folder(void *folder)
{
    sink_folder *f = folder;
    if (f->put_open)
        sink_put_abort(f);
    mp_status st = sink_flush(f);
    /* Everything is durable and on record: nothing to undo any more. */
    if (st == MP_OK && mbox_commit_remove(&f->commit) != 0)
        f->store->host->log(f->store->host, MP_LOG_WARN,
                            "cannot remove the commit record %s: %s",
                            f->commit.path, strerror(errno));
    free_folder(f);
    return st;
}

static mp_status sink_scan(void *folder, unsigned flags, mp_msg_cb cb,
                           void *ctx)
{
    sink_folder *f = folder;
    mp_host *h = f->store->host;
    mbox_content c = {.host = h, .path = f->path, .format = f->store->format};
    char err[1024];
    if (mbox_map_fd(&c.map, f->fd, (size_t)f->end, f->path, err, sizeof err) !=
        0) {
        h->set_error(h, MP_ERR_IO, "%s", err);
        return MP_FOLDER_BAD;
    }
    mp_status st = mbox_content_split(&c);
    if (st == MP_OK && !f->tags_known) {
        /* The whole file was split: its tags serve the next put. */
        mbox_tag_counts_free(&f->tags);
        f->tags = c.index.tags;
        memset(&c.index.tags, 0, sizeof c.index.tags);
        f->tags_known = 1;
    }
    if (st == MP_OK)
        st = mbox_content_scan(&c, flags, cb, ctx);
    mbox_content_free(&c);
    return st;
}

const mp_sink_ops mbox_sink_ops = {
    .struct_size = sizeof(mp_sink_ops),
    .eol = MP_EOL_LF,
    .open = sink_open,
    .finish = NULL,
    .close = mbox_store_close,
    .list_folders = mbox_list_folders,
    .open_folder = sink_open_folder,
    .close_folder = sink_close_folder,
    .scan = sink_scan,
    .put_begin = sink_put_begin,
    .put_write = sink_put_write,
    .put_commit = sink_put_commit,
    .put_abort = sink_put_abort,
    .flush = sink_flush,
    .set_flags = NULL,
    .remove = NULL,
};
