/*
 * Writing a Maildir folder.
 *
 * A message is written to tmp/ under a fresh unique name (mode 0600) and,
 * at put_commit, closed with its mtime set to the internal date; it stays
 * in tmp/ (invisible: readers ignore tmp/) on a pending list. Every
 * MD_HANDOFF messages, and at flush(), the list goes to the folder's syncer
 * thread (mdsyncer.c), which makes a whole batch durable with one syncfs()
 * (one journal commit instead of one fsync per message), renames each file
 * into cur/ under its final name "UNIQUE,S=size,W=vsize:2,FLAGS" and
 * fsyncs cur/. flush() waits for all of it. A message is thus visible only
 * once its bytes are on disk, and after flush returns a power cut loses
 * none of them.
 *
 * Every message goes to cur/, also unseen ones: new/ means "delivered and
 * not yet seen by any client", which a migrated message is not; Dovecot
 * would otherwise mark them \Recent. Unseen shows as the missing 'S'.
 */
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Messages per batch handed to the syncer: small enough that the disk
 * starts early, large enough that one syncfs() serves many messages (the
 * syncer merges batches that queue up while it is busy). */
#define MD_HANDOFF 64

#define KNOWN_FLAGS                                                            \
    (MP_FLAG_SEEN | MP_FLAG_ANSWERED | MP_FLAG_FLAGGED | MP_FLAG_DELETED |     \
     MP_FLAG_DRAFT | MP_FLAG_FORWARDED)

static mp_status handoff(md_folder *f);

static mp_status io_fail(md_folder *f, const char *what, const char *file,
                         int err)
{
    md_store *s = f->store;
    s->host->set_error(s->host, MP_ERR_IO,
                       "folder \"%s\": %s %s/%s%s%s: %s", f->name, what, s->root, f->rel, *f->rel ? "/" : "",
                       file, strerror(err));
    /* A local write that fails (disk full, I/O error, read-only) will fail
     * for every message after it too. */
    return MP_FATAL;
}

/* Map KEYWORDS to letters, adding new ones; warn about any that found no
 * free letter (dovecot-keywords holds at most 26). */
static uint32_t keyword_letters(md_folder *f, const char *keywords,
                                const char *key)
{
    char dropped[512];
    uint32_t bits =
        md_keywords_bits(&f->kw, keywords, 1, dropped, sizeof dropped);
    if (dropped[0]) {
        md_store *s = f->store;
        s->host->log(s->host, MP_LOG_WARN,
                     "%s: folder \"%s\": message %s: keywords not stored "
                     "(a Maildir folder holds at most 26): %s",
                     s->display, f->name, key ? key : "(new)", dropped);
    }
    return bits;
}

mp_status md_put_begin(void *folder, const mp_msg_info *info, void **put)
{
    md_folder *f = folder;
    md_store *s = f->store;
    md_put *p = &f->put;
    if (p->open) {
        s->host->set_error(s->host, MP_ERR_INTERNAL,
                           "folder \"%s\": a message is already open",
                           f->name);
        return MP_FATAL;
    }
    if (f->n_pending >= MD_HANDOFF) {
        mp_status st = handoff(f);
        if (st != MP_OK)
            return st;
    }
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 10; tries++) {
        if (md_unique_name(s->hostname, s->pid, p->tmp_name,
                           sizeof p->tmp_name) !=
            0) {
            s->host->set_error(s->host, MP_ERR_INTERNAL,
                               "host name too long for a file name");
            return MP_FATAL;
        }
        fd = openat(f->tmp_fd, p->tmp_name,
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                    0600);
        if (fd < 0 && errno != EEXIST)
            return io_fail(f, "cannot create", "tmp", errno);
    }
    if (fd < 0)
        return io_fail(f, "cannot create", "tmp", EEXIST);
    p->open = 1;
    p->fd = fd;
    p->flags = info->flags & KNOWN_FLAGS;
    p->kw_letters = keyword_letters(f, info->keywords, info->key);
    p->date = info->internal_date;
    p->size = p->vsize = 0;
    p->last = 0;
    p->buffered = 0;
    *put = p;
    return MP_OK;
}

static int write_all(int fd, const unsigned char *b, size_t len)
{
    while (len) {
        ssize_t w = write(fd, b, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        b += w;
        len -= (size_t)w;
    }
    return 0;
}

static mp_status drain(md_put *p)
{
    md_folder *f = p->folder;
    if (p->buffered && write_all(p->fd, f->buf, p->buffered) != 0)
        return io_fail(f, "cannot write", "tmp", errno);
    p->buffered = 0;
    return MP_OK;
}

mp_status md_put_write(void *put, const void *buf, size_t len)
{
    md_put *p = put;
    md_folder *f = p->folder;
    const unsigned char *b = buf;
    /* vsize = size with every line ending as CRLF: one more per bare LF. */
    for (const unsigned char *q = b, *end = b + len;
         (q = memchr(q, '\n', (size_t)(end - q))); q++) {
        char before = q > b ? (char)q[-1] : p->last;
        if (before != '\r')
            p->vsize++;
    }
    if (len)
        p->last = (char)b[len - 1];
    p->size += len;
    p->vsize += len;
    while (len) {
        size_t room = MD_IO_BUF - p->buffered;
        if (room == 0) {
            mp_status st = drain(p);
            if (st != MP_OK)
                return st;
            continue;
        }
        /* Large chunks skip the copy once the buffer is empty. */
        if (p->buffered == 0 && len >= MD_IO_BUF) {
            if (write_all(p->fd, b, len) != 0)
                return io_fail(f, "cannot write", "tmp", errno);
            return MP_OK;
        }
        size_t n = len < room ? len : room;
        memcpy(f->buf + p->buffered, b, n);
        p->buffered += n;
        b += n;
        len -= n;
    }
    return MP_OK;
}

static void put_release(md_put *p, int unlink_it)
{
    if (p->fd >= 0)
        close(p->fd);
    if (unlink_it)
        unlinkat(p->folder->tmp_fd, p->tmp_name, 0);
    p->fd = -1;
    p->open = 0;
}

void md_put_abort(void *put)
{
    put_release(put, 1);
}

static int add_pending(md_folder *f, const char *tmp, const char *final,
                       size_t key_len)
{
    if (f->n_pending == f->cap_pending) {
        size_t cap = f->cap_pending ? f->cap_pending * 2 : 256;
        md_pending *v = realloc(f->pending, cap * sizeof *v);
        if (!v)
            return -1;
        f->pending = v;
        f->cap_pending = cap;
    }
    md_pending *pe = &f->pending[f->n_pending];
    pe->tmp_name = strdup(tmp);
    pe->final_name = strdup(final);
    pe->key_len = key_len;
    if (!pe->tmp_name || !pe->final_name) {
        free(pe->tmp_name);
        free(pe->final_name);
        return -1;
    }
    f->n_pending++;
    return 0;
}

mp_status md_put_commit(void *put, char *key_out, size_t key_size)
{
    md_put *p = put;
    md_folder *f = p->folder;
    md_store *s = f->store;
    mp_status st = drain(p);
    if (st != MP_OK) {
        put_release(p, 1);
        return st;
    }
    if (p->date != MP_DATE_UNKNOWN) {
        struct timespec ts[2] = {{.tv_sec = (time_t)p->date},
                                 {.tv_sec = (time_t)p->date}};
        if (futimens(p->fd, ts) != 0) {
            st = io_fail(f, "cannot set the date of", "tmp", errno);
            put_release(p, 1);
            return st;
        }
    }
    int rc = close(p->fd);
    p->fd = -1;
    if (rc != 0) {
        st = io_fail(f, "cannot write", "tmp", errno);
        put_release(p, 1);
        return st;
    }
    char key[300], final[340];
    int kl = snprintf(key, sizeof key, "%s,S=%llu,W=%llu", p->tmp_name,
                      (unsigned long long)p->size,
                      (unsigned long long)p->vsize);
    if (kl < 0 || (size_t)kl >= sizeof key || (size_t)kl >= key_size ||
        md_name_build(key, (size_t)kl, ':', p->flags, p->kw_letters, final,
                      sizeof final) != 0) {
        s->host->set_error(s->host, MP_ERR_INTERNAL,
                           "folder \"%s\": message name too long",
                           f->name);
        put_release(p, 1);
        return MP_FATAL;
    }
    if (add_pending(f, p->tmp_name, final, (size_t)kl) != 0) {
        s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        put_release(p, 1);
        return MP_FATAL;
    }
    memcpy(key_out, key, (size_t)kl + 1);
    p->open = 0;
    return MP_OK;
}

void md_drop_pending(md_folder *f)
{
    for (size_t i = 0; i < f->n_pending; i++) {
        if (f->tmp_fd >= 0)
            unlinkat(f->tmp_fd, f->pending[i].tmp_name, 0);
        free(f->pending[i].tmp_name);
        free(f->pending[i].final_name);
    }
    f->n_pending = 0;
}

static mp_status save_keywords(md_folder *f)
{
    if (!f->kw.dirty)
        return MP_OK;
    if (md_keywords_save(f->dir_fd, &f->kw) != 0)
        return io_fail(f, "cannot write", "dovecot-keywords", errno);
    f->kw_unsynced = 1;
    return MP_OK;
}

/* Hand the pending list to the syncer; new keywords are written first so
 * that the batch's sync covers them before any name uses their letters. */
static mp_status handoff(md_folder *f)
{
    if (!f->n_pending)
        return MP_OK;
    mp_status st = save_keywords(f);
    if (st != MP_OK)
        return st;
    if (md_syncer_submit(&f->syncer, f->pending, f->n_pending) != 0) {
        f->store->host->set_error(f->store->host, MP_ERR_INTERNAL,
                                  "out of memory");
        return MP_FATAL;
    }
    f->n_pending = 0;
    f->submitted = 1;
    f->created = f->kw_unsynced = 0; /* the batch's syncfs covers them */
    return MP_OK;
}

mp_status md_flush(void *folder)
{
    md_folder *f = folder;
    mp_status st = save_keywords(f);
    if (st == MP_OK)
        st = handoff(f);
    if (st != MP_OK)
        return st;
    if (md_syncer_wait(&f->syncer) != 0)
        return io_fail(f, f->syncer.what, f->syncer.where, f->syncer.err);
    if (f->submitted) {
        f->idx.loaded = 0; /* new files in cur/: reload before lookups */
        f->submitted = 0;
    }
    if (f->created || f->kw_unsynced) {
        if (syncfs(f->dir_fd) != 0)
            return io_fail(f, "cannot sync", ".", errno);
        f->created = f->kw_unsynced = 0;
    }
    if (f->dirs_dirty) {
        if (fsync(f->cur_fd) != 0)
            return io_fail(f, "cannot sync", "cur", errno);
        if (f->new_fd >= 0 && fsync(f->new_fd) != 0)
            return io_fail(f, "cannot sync", "new", errno);
        f->dirs_dirty = 0;
    }
    return MP_OK;
}

static mp_status no_such(md_folder *f, const char *key)
{
    md_store *s = f->store;
    s->host->set_error(s->host, MP_ERR_NOTFOUND,
                       "folder \"%s\": no message with key %s",
                       f->name, key);
    return MP_MSG_BAD;
}

/* The live entry for KEY, reloading the index once when it is not there. */
static md_entry *find_entry(md_folder *f, const char *key, mp_status *st)
{
    *st = md_folder_index(f, 0);
    if (*st != MP_OK)
        return NULL;
    md_entry *e = md_index_find(&f->idx, key);
    if (!e || !e->name) {
        *st = md_folder_index(f, 1);
        if (*st != MP_OK)
            return NULL;
        e = md_index_find(&f->idx, key);
    }
    if (!e || !e->name) {
        *st = no_such(f, key);
        return NULL;
    }
    return e;
}

mp_status md_set_flags(void *folder, const char *key, unsigned flags,
                       const char *keywords)
{
    md_folder *f = folder;
    /* A message not yet in cur/ is made visible first: simpler than
     * renaming in flight, and rare (flags change on later runs). */
    mp_status st = f->n_pending || f->submitted ? md_flush(f) : MP_OK;
    if (st != MP_OK)
        return st;
    uint32_t letters = keyword_letters(f, keywords, key);
    flags &= KNOWN_FLAGS;
    /* Save new keywords before any name refers to their letters. */
    st = save_keywords(f);
    if (st != MP_OK)
        return st;
    char name[512];
    md_entry *e = find_entry(f, key, &st);
    if (!e)
        return st;
    md_name_info ni;
    md_name_parse(e->name, &ni);
    if (md_name_build(e->name, ni.key_len, ni.sep, flags, letters, name,
                      sizeof name) != 0)
        return no_such(f, key);
    if (e->sub == MD_SUB_CUR && strcmp(name, e->name) == 0)
        return MP_OK;
    int from = e->sub == MD_SUB_NEW ? f->new_fd : f->cur_fd;
    if (md_rename_noreplace(from, e->name, f->cur_fd, name) != 0) {
        int err = errno;
        if (err == ENOENT)
            return no_such(f, key);
        md_store *s = f->store;
        s->host->set_error(s->host, MP_ERR_IO,
                           "folder \"%s\": message %s: cannot rename "
                           "to %s: %s",
                           f->name, key, name, strerror(err));
        return MP_MSG_BAD;
    }
    f->dirs_dirty = 1;
    if (md_index_rename(e, name, MD_SUB_CUR) != 0)
        f->idx.loaded = 0;
    return MP_OK;
}

mp_status md_remove(void *folder, const char *const *keys, size_t n)
{
    md_folder *f = folder;
    md_store *s = f->store;
    mp_status st = f->n_pending || f->submitted ? md_flush(f) : MP_OK;
    if (st != MP_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        md_entry *e = find_entry(f, keys[i], &st);
        if (!e) {
            if (st == MP_MSG_BAD)
                continue; /* already gone: removing it is done */
            return st;
        }
        int fd = e->sub == MD_SUB_NEW ? f->new_fd : f->cur_fd;
        if (unlinkat(fd, e->name, 0) != 0 && errno != ENOENT) {
            s->host->set_error(s->host, MP_ERR_IO,
                               "folder \"%s\": message %s: cannot "
                               "remove: %s",
                               f->name, keys[i], strerror(errno));
            return MP_MSG_BAD;
        }
        free(e->name);
        e->name = NULL;
        f->dirs_dirty = 1;
    }
    return MP_OK;
}
