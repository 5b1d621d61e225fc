/* mbox source: a file (folder INBOX) or a directory of mbox files. */
#include "marker.h"
#include "mbox_map.h"
#include "mbox_ops.h"
#include "mbox_read.h"
#include "mbox_store.h"
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct source_folder {
    mbox_store *store;
    char *name;
    char *path;
    mbox_content content;
} source_folder;

static mp_status source_open(mp_host *host, const mp_endpoint *ep, void **out)
{
    mbox_format fmt;
    mp_status st = mbox_read_params(host, ep, 0, &fmt);
    if (st != MP_OK)
        return st;
    struct stat sb;
    if (!ep->path || !*ep->path) {
        host->set_error(host, MP_ERR_USAGE, "no mbox path given");
        return MP_FATAL;
    }
    if (stat(ep->path, &sb) != 0) {
        host->set_error(host, errno == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO,
                        "cannot open mbox %s: %s", ep->path, strerror(errno));
        return MP_FATAL;
    }
    if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)) {
        host->set_error(host, MP_ERR_USAGE,
                        "%s is neither an mbox file nor a directory", ep->path);
        return MP_FATAL;
    }
    return mbox_store_open(host, ep, fmt, S_ISDIR(sb.st_mode), out);
}

static void source_close_folder(void *folder)
{
    source_folder *f = folder;
    if (!f)
        return;
    mbox_content_free(&f->content);
    free(f->name);
    free(f->path);
    free(f);
}

static mp_status source_open_folder(void *store, const char *name, void **out,
                                    mp_folder_info *info)
{
    mbox_store *s = store;
    mp_status st;
    char *path = mbox_folder_path(s, name, &st);
    if (!path)
        return st;
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT && s->is_dir) {
        /* Only "NAME.sbd" there: a parent that holds no messages. */
        size_t n = strlen(path);
        char *sbd = realloc(path, n + 5);
        if (sbd) {
            path = sbd;
            memcpy(path + n, ".sbd", 5);
            if (!(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))) {
                path[n] = '\0';
                errno = ENOENT;
            }
        }
    }
    if (stat(path, &sb) != 0) {
        s->host->set_error(
            s->host, errno == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO,
            "no mbox folder \"%s\" (%s: %s)", name, path, strerror(errno));
        free(path);
        return MP_FOLDER_BAD;
    }
    source_folder *f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(name))) {
        free(f);
        free(path);
        s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    f->store = s;
    f->path = path;
    f->content.host = s->host;
    f->content.path = f->path;
    f->content.format = s->format;
    int no_select = S_ISDIR(sb.st_mode);
    if (!no_select) {
        st = mbox_content_load(&f->content, s->host, f->path, s->format);
        if (st != MP_OK) {
            source_close_folder(f);
            return st;
        }
    }
    *info = (mp_folder_info){
        .struct_size = sizeof *info,
        .name = f->name,
        .no_select = no_select,
        .validity = (uint64_t)sb.st_ino,
        .count = (int64_t)f->content.index.n,
        .change_marker = no_select ? 0 : mp_marker_fold(0, 1, &sb),
    };
    *out = f;
    return MP_OK;
}

static mp_status source_scan(void *folder, unsigned flags, mp_msg_cb cb,
                             void *ctx)
{
    source_folder *f = folder;
    return mbox_content_scan(&f->content, flags, cb, ctx);
}

static mp_status source_fetch(void *folder, const char *const *keys, size_t n,
                              const mp_fetch_cb *cb, void *ctx)
{
    source_folder *f = folder;
    return mbox_content_fetch(&f->content, keys, n, cb, ctx);
}

/* The probe_sink slot (plugin.h): the checks of mbox_sink.c's sink_open
 * and sink_open_folder, in their order, with their error texts, making
 * nothing. Not foreseen: a lock another process holds on the file, a
 * commit record that cannot be cut back, a file that is not an mbox (the
 * dry run's own read of it fails the folder then). */
static mp_status probe_folder(mbox_store *s, const char *name)
{
    mp_status st;
    char *path = mbox_folder_path(s, name, &st);
    if (!path)
        return st;
    st = MP_FOLDER_BAD;
    struct stat sb;
    if (s->is_dir && mp_probe_mkdirs(AT_FDCWD, path, 0) < 0) {
        s->host->set_error(s->host, MP_ERR_IO,
                           "cannot create the directories of folder \"%s\" "
                           "(%s): %s",
                           name, path, strerror(errno));
    } else if (mp_probe_open(AT_FDCWD, path, R_OK | W_OK, 0) != 0) {
        s->host->set_error(s->host, MP_ERR_IO,
                           "cannot open mbox folder \"%s\" (%s): %s", name,
                           path, strerror(errno));
    } else if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        s->host->set_error(s->host, MP_ERR_REFUSED,
                           "mbox folder \"%s\" (%s) is not a regular file",
                           name, path);
    } else {
        unsigned char head[16];
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        ssize_t got = fd >= 0 ? pread(fd, head, sizeof head, 0) : 0;
        if (fd >= 0)
            close(fd);
        if (got > 0 && mbox_is_compressed(head, (size_t)got))
            s->host->set_error(s->host, MP_ERR_REFUSED,
                               "refusing to append to %s: it is compressed",
                               path);
        else
            st = MP_OK;
    }
    free(path);
    return st;
}

static mp_status probe_sink(mp_host *host, const mp_endpoint *ep,
                            const char *folder)
{
    mbox_format fmt;
    mp_status st = mbox_read_params(host, ep, 1, &fmt);
    if (st != MP_OK)
        return st;
    int is_dir;
    if ((st = mbox_store_prepare(host, ep, 1, &is_dir)) != MP_OK)
        return st;
    if (!folder)
        return MP_OK;
    void *store = NULL;
    if ((st = mbox_store_open(host, ep, fmt, is_dir, &store)) != MP_OK)
        return st;
    st = probe_folder(store, folder);
    mbox_store_close(store);
    return st;
}

const mp_source_ops mbox_source_ops = {
    .struct_size = sizeof(mp_source_ops),
    .eol = MP_EOL_NATIVE,
    .open = source_open,
    .close = mbox_store_close,
    .list_folders = mbox_list_folders,
    .open_folder = source_open_folder,
    .close_folder = source_close_folder,
    .scan = source_scan,
    .fetch = source_fetch,
    .probe_sink = probe_sink,
};
