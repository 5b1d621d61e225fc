/* Reading a Maildir folder: scan (metadata from names and stat) and fetch
 * (bytes as stored, streamed in fixed-size chunks). */
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int sub_fd(const md_folder *f, const md_entry *e)
{
    return e->sub == MD_SUB_NEW ? f->new_fd : f->cur_fd;
}

/* The path of message E from the store's root, for error texts. */
static const char *entry_path(const md_folder *f, const md_entry *e, char *buf,
                              size_t size)
{
    snprintf(buf, size, "%s/%s%s%s/%s", f->store->root, f->rel,
             *f->rel ? "/" : "", e->sub == MD_SUB_NEW ? "new" : "cur", e->name);
    return buf;
}

/* Fill INFO for entry E whose file has status ST. KW_BUF receives the
 * keyword names. */
static void entry_info(md_folder *f, const md_entry *e, const struct stat *st,
                       mp_msg_info *info, char *kw_buf, size_t kw_size)
{
    md_name_info ni;
    md_name_parse(e->name, &ni);
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->key = e->key;
    info->size = ni.size ? ni.size : (uint64_t)st->st_size;
    info->vsize = ni.vsize;
    /* A file in new/ normally has no info and so no flags (unseen). When a
     * tool did put an info on it (mairix's test data has "new/6:2,R"), it
     * is honoured, as Dovecot and mutt do. */
    info->flags = ni.flags;
    /* $Forwarded is read in both forms: 'P' (mutt, earlier mailport) and
     * the dovecot-keywords letter (Dovecot, mailport now). */
    int fw =
        ni.kw_letters ? md_keywords_find(&f->kw, MD_FORWARDED_KEYWORD) : -1;
    if (fw >= 0 && (ni.kw_letters & (1u << fw))) {
        info->flags |= MP_FLAG_FORWARDED;
        ni.kw_letters &= ~(1u << fw);
    }
    info->keywords = md_keywords_string(&f->kw, ni.kw_letters, kw_buf, kw_size);
    info->internal_date = (int64_t)st->st_mtim.tv_sec;
}

/* Read the header block of FD (up to, not including, the blank line) into
 * BUF, at most MD_MAX_HEADER bytes. Returns its length, or -1. */
static ssize_t read_header(int fd, char **buf)
{
    size_t cap = 8192, len = 0;
    char *b = malloc(cap);
    if (!b)
        return -1;
    for (;;) {
        ssize_t r = read(fd, b + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(b);
            return -1;
        }
        size_t prev = len;
        size_t from = len > 3 ? len - 3 : 0;
        len += (size_t)r;
        /* Look for "\n\n" or "\n\r\n" in what arrived (plus a little
         * overlap with what came before); a file starting with a blank
         * line has an empty header. */
        if (prev == 0 && len > 0 &&
            (b[0] == '\n' || (len > 1 && b[0] == '\r' && b[1] == '\n'))) {
            *buf = b;
            return 0;
        }
        for (size_t i = from; i + 1 < len; i++) {
            if (b[i] != '\n')
                continue;
            if (b[i + 1] == '\n' ||
                (b[i + 1] == '\r' && i + 2 < len && b[i + 2] == '\n')) {
                *buf = b;
                return (ssize_t)(i + 1);
            }
        }
        if (r == 0 || len >= MD_MAX_HEADER) {
            *buf = b;
            return (ssize_t)len;
        }
        if (len == cap) {
            cap = cap * 2 > MD_MAX_HEADER ? MD_MAX_HEADER : cap * 2;
            char *g = realloc(b, cap);
            if (!g) {
                free(b);
                return -1;
            }
            b = g;
        }
    }
}

mp_status md_scan(void *folder, unsigned flags, mp_msg_cb cb, void *ctx)
{
    md_folder *f = folder;
    md_store *s = f->store;
    mp_status st = md_folder_index(f, 1);
    char kw[1024];
    char identity[128];
    for (size_t i = 0; st == MP_OK && i < f->idx.n; i++) {
        const md_entry *e = &f->idx.v[i];
        if (!e->name)
            continue;
        char path[PATH_MAX + 256];
        int err;
        struct stat sb;
        int fd = -1;
        if (flags & MP_SCAN_IDENTITY) {
            fd = openat(sub_fd(f, e), e->name, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || fstat(fd, &sb) != 0) {
                if (fd >= 0)
                    close(fd);
                if (errno == ENOENT)
                    continue; /* renamed or removed since readdir */
                goto unreadable;
            }
        } else if (fstatat(sub_fd(f, e), e->name, &sb, 0) != 0) {
            if (errno == ENOENT)
                continue;
            goto unreadable;
        }
        mp_msg_info info;
        entry_info(f, e, &sb, &info, kw, sizeof kw);
        if (fd >= 0) {
            char *hdr = NULL;
            ssize_t hl = read_header(fd, &hdr);
            int rerr = errno;
            close(fd);
            if (hl < 0) {
                errno = rerr;
                goto unreadable;
            }
            s->host->identity_of_header(s->host, hdr, (size_t)hl, identity,
                                        sizeof identity);
            free(hdr);
            info.identity = identity;
        }
        st = cb(ctx, &info);
        continue;
    unreadable:
        err = errno;
        s->host->set_error(s->host, MP_ERR_IO,
                           "folder \"%s\": cannot read %s: %s", f->name,
                           entry_path(f, e, path, sizeof path), strerror(err));
        st = MP_FOLDER_BAD;
    }
    return st;
}

/* Find and open message KEY, reloading the index once per fetch when the
 * file moved (another program changed its flags meanwhile). */
static int open_message(md_folder *f, const char *key, int *reloaded,
                        const md_entry **out)
{
    for (;;) {
        const md_entry *e = md_index_find(&f->idx, key);
        int fd = -1;
        if (e && e->name)
            fd = openat(sub_fd(f, e), e->name, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            *out = e;
            return fd;
        }
        if (e && e->name && errno != ENOENT) {
            /* There but unreadable: the caller reports why, with the
             * file's path. */
            *out = e;
            return -1;
        }
        if (*reloaded)
            return -1;
        *reloaded = 1;
        if (md_folder_index(f, 1) != MP_OK)
            return -1;
    }
}

/* Stream one open message. Returns the status to end it with, or sets
 * *STOP when a callback asked to stop. */
static mp_status stream(md_folder *f, int fd, const char *key,
                        const mp_fetch_cb *cb, void *ctx, mp_status *stop)
{
    md_store *s = f->store;
    for (;;) {
        ssize_t r = read(fd, f->buf, MD_IO_BUF);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            s->host->set_error(s->host, MP_ERR_IO,
                               "folder \"%s\": message %s: read "
                               "failed: %s",
                               f->name, key, strerror(errno));
            return MP_MSG_BAD;
        }
        if (r == 0)
            return MP_OK;
        mp_status st = cb->data(ctx, f->buf, (size_t)r);
        if (st != MP_OK) {
            *stop = st;
            return st;
        }
    }
}

mp_status md_fetch(void *folder, const char *const *keys, size_t n,
                   const mp_fetch_cb *cb, void *ctx)
{
    md_folder *f = folder;
    md_store *s = f->store;
    mp_status st = md_folder_index(f, 0);
    if (st != MP_OK)
        return st;
    int reloaded = 0;
    char kw[1024];
    for (size_t i = 0; i < n; i++) {
        const md_entry *e = NULL;
        int fd = open_message(f, keys[i], &reloaded, &e);
        struct stat sb;
        if (fd >= 0 && fstat(fd, &sb) != 0) {
            close(fd);
            fd = -1;
        }
        mp_msg_info info;
        if (fd < 0) {
            int err = errno;
            memset(&info, 0, sizeof info);
            info.struct_size = sizeof info;
            info.key = keys[i];
            info.keywords = "";
            info.internal_date = MP_DATE_UNKNOWN;
            if ((st = cb->begin(ctx, i, &info)) != MP_OK)
                return st;
            char path[PATH_MAX + 256];
            if (e)
                s->host->set_error(s->host, MP_ERR_IO,
                                   "folder \"%s\": message %s: cannot read "
                                   "%s: %s",
                                   f->name, keys[i],
                                   entry_path(f, e, path, sizeof path),
                                   strerror(err));
            else
                s->host->set_error(s->host, MP_ERR_NOTFOUND,
                                   "folder \"%s\": message %s: no such message",
                                   f->name, keys[i]);
            if ((st = cb->end(ctx, MP_MSG_BAD)) != MP_OK)
                return st;
            continue;
        }
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        entry_info(f, e, &sb, &info, kw, sizeof kw);
        /* The caller asked for KEYS[i]; hand it back in that spelling. */
        info.key = keys[i];
        st = cb->begin(ctx, i, &info);
        if (st != MP_OK) {
            close(fd);
            return st;
        }
        mp_status stop = MP_OK;
        mp_status res = stream(f, fd, keys[i], cb, ctx, &stop);
        close(fd);
        if (stop != MP_OK)
            return stop;
        if ((st = cb->end(ctx, res)) != MP_OK)
            return st;
    }
    return MP_OK;
}
