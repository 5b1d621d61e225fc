/* The maildir: plugin descriptor: source and sink ops tables. */
#include "maildir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static mp_status src_open(mp_host *host, const mp_endpoint *ep, void **store)
{
    return md_store_open(host, ep, 0, (md_store **)store);
}

static mp_status sink_open(mp_host *host, const mp_endpoint *ep, void **store)
{
    return md_store_open(host, ep, 1, (md_store **)store);
}

static void store_close(void *store)
{
    md_store_close(store);
}

static mp_status list_folders(void *store, mp_folder_cb cb, void *ctx)
{
    return md_list_folders(store, cb, ctx);
}

static mp_status subscribe(void *store, const char *name)
{
    return md_subscribe(store, name);
}

static mp_status src_open_folder(void *store, const char *name, void **folder,
                                 mp_folder_info *info)
{
    return md_folder_open(store, name, 0, (md_folder **)folder, info);
}

static void src_close_folder(void *folder)
{
    md_folder_free(folder);
}

static mp_status sink_open_folder(void *store, const char *name, void **folder,
                                  mp_folder_info *info)
{
    return md_folder_open(store, name, 1, (md_folder **)folder, info);
}

static mp_status sink_close_folder(void *folder)
{
    mp_status st = md_flush(folder);
    /* On failure, messages never made durable are dropped from tmp/: the
     * core did not count them as copied. */
    md_folder_free(folder);
    return st;
}

static const mp_source_ops source_ops = {
    .struct_size = sizeof(mp_source_ops),
    .eol = MP_EOL_NATIVE,
    .open = src_open,
    .close = store_close,
    .list_folders = list_folders,
    .open_folder = src_open_folder,
    .close_folder = src_close_folder,
    .scan = md_scan,
    .fetch = md_fetch,
    .probe_sink = md_probe_sink,
    .concurrent_fetch = 1, /* md_fetch indexes the folder itself */
};

/* The sink's store_identity (plugin.h): the root directory's device and
 * inode, the same through every path that reaches it (a symbolic link, a
 * bind mount, one file system mounted twice). */
static mp_status store_identity(void *store, char *out, size_t size)
{
    md_store *st = store;
    struct stat sb;
    if (fstat(st->root_fd, &sb) != 0) {
        st->host->set_error(st->host, MP_ERR_IO, "%s: %s", st->display,
                            strerror(errno));
        return MP_FATAL;
    }
    snprintf(out, size, "maildir device %llu inode %llu",
             (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino);
    return MP_OK;
}

static const mp_sink_ops sink_ops = {
    .struct_size = sizeof(mp_sink_ops),
    .eol = MP_EOL_LF,
    .open = sink_open,
    .finish = NULL,
    .close = store_close,
    .list_folders = list_folders,
    .open_folder = sink_open_folder,
    .close_folder = sink_close_folder,
    .scan = md_scan,
    .put_begin = md_put_begin,
    .put_write = md_put_write,
    .put_commit = md_put_commit,
    .put_abort = md_put_abort,
    .flush = md_flush,
    .set_flags = md_set_flags,
    .remove = md_remove,
    .flush_start = md_flush_start,
    .flush_wait = md_flush_wait,
    .subscribe = subscribe,
    .store_identity = store_identity,
};

static const char *const schemes[] = {"maildir", NULL};

/* The parameters md_store_open reads. */
static const char *const params[] = {"layout", "delimiter_substitute", NULL};

static const mp_plugin maildir_plugin = {
    .struct_size = sizeof(mp_plugin),
    .abi_major = MP_ABI_MAJOR,
    .abi_minor = MP_ABI_MINOR,
    .name = "maildir",
    .version = "0.1.0",
    .schemes = schemes,
    .source = &source_ops,
    .sink = &sink_ops,
    .params = params,
};

MP_PLUGIN_DEFINE(maildir_plugin)
