/*
 * Writing a Maildir folder.
 *
 * A message is gathered in memory; put_commit chooses its unique name and
 * final name "UNIQUE,S=size,W=vsize:2,FLAGS" (so the key is known at once)
 * and hands it to the folder's pipe (mdpipe.h), whose threads write it (an
 * unnamed file in tmp/ where the filesystem allows, else a named one) with
 * its mtime set to the internal date, make written files durable in
 * batches with one syncfs(), and only then link or rename them into cur/
 * and sync cur/. flush() waits for all of it; flush_wait() for the
 * messages committed before flush_start() (see mdpipe.h). A message is
 * thus visible only once its bytes are on disk, and after flush returns a
 * power cut loses none of them. A message larger than MD_MEM_MESSAGE is
 * written to tmp/ as it arrives, on the caller's thread, and goes through
 * the same sync and rename.
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

#define KNOWN_FLAGS                                                            \
    (MP_FLAG_SEEN | MP_FLAG_ANSWERED | MP_FLAG_FLAGGED | MP_FLAG_DELETED |     \
     MP_FLAG_DRAFT | MP_FLAG_FORWARDED)

/* First allocation for a message whose size the source did not tell. */
#define MD_FIRST_ALLOC (16 * 1024)

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

/* The pipe's first failure as the error of the slot now returning. */
static mp_status pipe_fail(md_folder *f)
{
    int err = 0;
    const char *what = "cannot write";
    char file[320] = "tmp";
    md_pipe_error(&f->pipe, &err, &what, file, sizeof file);
    return io_fail(f, what, file, err);
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

/* $Forwarded goes into the name as the folder's dovecot-keywords letter
 * for "$Forwarded", the form Dovecot serves (it ignores the info letter
 * 'P'); only when all 26 letters are taken does it fall back to 'P',
 * which mailport and mutt still read. Takes MP_FLAG_FORWARDED out of
 * *FLAGS when it went into *LETTERS. */
static void forwarded_letter(md_folder *f, unsigned *flags, uint32_t *letters,
                             const char *key)
{
    if (!(*flags & MP_FLAG_FORWARDED))
        return;
    int i = md_keywords_find(&f->kw, MD_FORWARDED_KEYWORD);
    if (i < 0)
        i = md_keywords_index(&f->kw, MD_FORWARDED_KEYWORD, 1);
    if (i < 0) {
        md_store *s = f->store;
        s->host->log(s->host, MP_LOG_WARN,
                     "%s: folder \"%s\": message %s: $Forwarded stored as "
                     "'P' (no keyword letter left), which Dovecot does not "
                     "show",
                     s->display, f->name, key ? key : "(new)");
        return;
    }
    *letters |= 1u << i;
    *flags &= ~(unsigned)MP_FLAG_FORWARDED;
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
    p->open = 1;
    p->buf = NULL;
    p->len = p->cap = 0;
    p->spilled = 0;
    p->fd = -1;
    p->flags = info->flags & KNOWN_FLAGS;
    p->kw_letters = keyword_letters(f, info->keywords, info->key);
    forwarded_letter(f, &p->flags, &p->kw_letters, info->key);
    p->date = info->internal_date;
    p->size = p->vsize = 0;
    p->size_hint = info->size;
    p->last = 0;
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

static mp_status no_name(md_folder *f)
{
    md_store *s = f->store;
    s->host->set_error(s->host, MP_ERR_INTERNAL,
                       "host name too long for a file name");
    return MP_FATAL;
}

/* The message outgrew memory: from now on it goes to a file in tmp/, and
 * the buffer (MD_MEM_MESSAGE bytes) stands in front of it. */
static mp_status spill(md_put *p)
{
    md_folder *f = p->folder;
    md_store *s = f->store;
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 10; tries++) {
        if (md_unique_name(s->hostname, s->pid, p->tmp_name,
                           sizeof p->tmp_name) != 0)
            return no_name(f);
        fd = openat(f->tmp_fd, p->tmp_name,
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                    0600);
        if (fd < 0 && errno != EEXIST)
            return io_fail(f, "cannot create", "tmp", errno);
    }
    if (fd < 0)
        return io_fail(f, "cannot create", "tmp", EEXIST);
    p->fd = fd;
    p->spilled = 1;
    if (p->len && write_all(fd, p->buf, p->len) != 0)
        return io_fail(f, "cannot write", "tmp", errno);
    p->len = 0;
    return MP_OK;
}

/* Room for N more bytes in memory; MP_OK with p->spilled set when the
 * message has to go to a file instead. */
static mp_status reserve(md_put *p, size_t n)
{
    if (p->spilled)
        return MP_OK;
    if (p->len + n <= p->cap)
        return MP_OK;
    if (p->len + n > MD_MEM_MESSAGE) {
        unsigned char *b = realloc(p->buf, MD_MEM_MESSAGE);
        if (!b)
            goto oom;
        p->buf = b;
        p->cap = MD_MEM_MESSAGE;
        return spill(p);
    }
    size_t cap = p->cap;
    if (!cap)
        cap = p->size_hint && p->size_hint < MD_MEM_MESSAGE
                  ? (size_t)p->size_hint
                  : MD_FIRST_ALLOC;
    while (cap < p->len + n)
        cap *= 2;
    if (cap > MD_MEM_MESSAGE)
        cap = MD_MEM_MESSAGE;
    unsigned char *b = realloc(p->buf, cap);
    if (!b)
        goto oom;
    p->buf = b;
    p->cap = cap;
    return MP_OK;
oom:
    p->folder->store->host->set_error(p->folder->store->host,
                                      MP_ERR_INTERNAL, "out of memory");
    return MP_FATAL;
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
    mp_status st = reserve(p, len);
    if (st != MP_OK)
        return st;
    if (!p->spilled || p->len + len <= p->cap) {
        memcpy(p->buf + p->len, b, len);
        p->len += len;
        return MP_OK;
    }
    /* Spilled and the buffer is full: write it, and a large piece too. */
    if (p->len && write_all(p->fd, p->buf, p->len) != 0)
        return io_fail(f, "cannot write", "tmp", errno);
    p->len = 0;
    if (len >= p->cap) {
        if (write_all(p->fd, b, len) != 0)
            return io_fail(f, "cannot write", "tmp", errno);
        return MP_OK;
    }
    memcpy(p->buf, b, len);
    p->len = len;
    return MP_OK;
}

static void put_release(md_put *p)
{
    if (p->fd >= 0)
        close(p->fd);
    if (p->spilled)
        unlinkat(p->folder->tmp_fd, p->tmp_name, 0);
    free(p->buf);
    p->buf = NULL;
    p->len = p->cap = 0;
    p->fd = -1;
    p->spilled = 0;
    p->open = 0;
}

void md_put_abort(void *put)
{
    put_release(put);
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

/* Finish a spilled message's file on this thread: the pipe then only syncs
 * and renames it. */
static mp_status finish_spilled(md_put *p)
{
    md_folder *f = p->folder;
    if (p->len && write_all(p->fd, p->buf, p->len) != 0)
        return io_fail(f, "cannot write", "tmp", errno);
    p->len = 0;
    if (p->date != MP_DATE_UNKNOWN) {
        struct timespec ts[2] = {{.tv_sec = (time_t)p->date},
                                 {.tv_sec = (time_t)p->date}};
        if (futimens(p->fd, ts) != 0)
            return io_fail(f, "cannot set the date of", "tmp", errno);
    }
    int rc = close(p->fd);
    p->fd = -1;
    if (rc != 0) {
        int err = errno;
        unlinkat(f->tmp_fd, p->tmp_name, 0);
        return io_fail(f, "cannot write", "tmp", err);
    }
    return MP_OK;
}

mp_status md_put_commit(void *put, char *key_out, size_t key_size)
{
    md_put *p = put;
    md_folder *f = p->folder;
    md_store *s = f->store;
    mp_status st = MP_OK;
    /* A background failure ends the folder's writing here already. */
    if (md_pipe_failed(&f->pipe))
        st = pipe_fail(f);
    if (st == MP_OK && p->spilled)
        st = finish_spilled(p);
    else if (st == MP_OK && md_unique_name(s->hostname, s->pid, p->tmp_name,
                                           sizeof p->tmp_name) != 0)
        st = no_name(f);
    /* New keywords are saved before any name refers to their letters; the
     * pipe's next syncfs covers the file. */
    if (st == MP_OK)
        st = save_keywords(f);
    char key[300], final[340];
    int kl = 0;
    if (st == MP_OK) {
        kl = snprintf(key, sizeof key, "%s,S=%llu,W=%llu", p->tmp_name,
                      (unsigned long long)p->size,
                      (unsigned long long)p->vsize);
        if (kl < 0 || (size_t)kl >= sizeof key || (size_t)kl >= key_size ||
            md_name_build(key, (size_t)kl, ':', p->flags, p->kw_letters,
                          final, sizeof final) != 0) {
            s->host->set_error(s->host, MP_ERR_INTERNAL,
                               "folder \"%s\": message name too long",
                               f->name);
            st = MP_FATAL;
        }
    }
    md_job *j = st == MP_OK ? md_job_new(p->tmp_name, final) : NULL;
    if (st == MP_OK && !j) {
        s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        st = MP_FATAL;
    }
    if (st != MP_OK) {
        put_release(p);
        return st;
    }
    j->date = p->date;
    if (p->spilled) {
        j->written = 1;
        free(p->buf);
    } else {
        /* A size hint far above the real size would hold memory (and the
         * pipe's budget) for nothing. */
        if (p->len && p->cap > p->len + p->len / 4 + 4096) {
            unsigned char *b = realloc(p->buf, p->len);
            if (b) {
                p->buf = b;
                p->cap = p->len;
            }
        }
        j->data = p->buf;
        j->len = p->len;
        j->cost = p->cap;
    }
    p->buf = NULL;
    p->len = p->cap = 0;
    p->spilled = 0;
    p->open = 0;
    if (md_pipe_submit(&f->pipe, j) != 0)
        return pipe_fail(f);
    f->submitted = 1;
    f->created = f->kw_unsynced = 0; /* the pipe's syncfs covers them */
    memcpy(key_out, key, (size_t)kl + 1);
    return MP_OK;
}

mp_status md_flush(void *folder)
{
    md_folder *f = folder;
    mp_status st = save_keywords(f);
    if (st != MP_OK)
        return st;
    if (md_pipe_wait(&f->pipe) != 0)
        return pipe_fail(f);
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

/* flush_start: the messages committed so far become the pipe's group. New
 * keywords are saved first (put_commit has saved them already; this is
 * for symmetry with flush). */
mp_status md_flush_start(void *folder)
{
    md_folder *f = folder;
    mp_status st = save_keywords(f);
    if (st != MP_OK)
        return st;
    md_pipe_group_start(&f->pipe);
    return MP_OK;
}

/* flush_wait: the group's messages are durable and in cur/. The rest is
 * what flush does after its wait, minus forgetting that messages were
 * submitted: later ones may still be on their way. */
mp_status md_flush_wait(void *folder)
{
    md_folder *f = folder;
    if (md_pipe_group_wait(&f->pipe) != 0)
        return pipe_fail(f);
    f->idx.loaded = 0; /* new files in cur/: reload before lookups */
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
    mp_status st = f->submitted ? md_flush(f) : MP_OK;
    if (st != MP_OK)
        return st;
    uint32_t letters = keyword_letters(f, keywords, key);
    flags &= KNOWN_FLAGS;
    forwarded_letter(f, &flags, &letters, key);
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
    mp_status st = f->submitted ? md_flush(f) : MP_OK;
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
