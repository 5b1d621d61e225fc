/* The source ops table: an imap-backup account directory, read-only. */
#include "ib_folder.h"
#include "ib_ops.h"
#include "ib_store.h"

static mp_status source_open(mp_host *host, const mp_endpoint *ep, void **out)
{
    ib_store *s;
    mp_status st = ib_store_open(host, ep, &s);
    if (st == MP_OK)
        *out = s;
    return st;
}

static void source_close(void *store)
{
    ib_store_close(store);
}

static mp_status source_list(void *store, mp_folder_cb cb, void *ctx)
{
    ib_store *s = store;
    for (size_t i = 0; i < s->n; i++) {
        mp_folder_info info = {.struct_size = sizeof info,
                               .name = s->v[i].name,
                               .no_select = s->v[i].base == NULL,
                               .count = -1};
        mp_status st = cb(ctx, &info);
        if (st != MP_OK)
            return st;
    }
    return MP_OK;
}

static mp_status source_open_folder(void *store, const char *name,
                                    void **folder, mp_folder_info *info)
{
    ib_store *s = store;
    const ib_folder_ref *ref = ib_store_find(s, name);
    if (!ref) {
        s->host->set_error(s->host, MP_ERR_NOTFOUND,
                           "no folder \"%s\" in the imap-backup directory %s",
                           name, s->root);
        return MP_FOLDER_BAD;
    }
    ib_folder *f;
    mp_status st = ib_folder_open(s->host, ref->name, ref->base, &f, info);
    if (st == MP_OK)
        *folder = f;
    return st;
}

static void source_close_folder(void *folder)
{
    ib_folder_close(folder);
}

static mp_status source_scan(void *folder, unsigned flags, mp_msg_cb cb,
                             void *ctx)
{
    return ib_folder_scan(folder, flags, cb, ctx);
}

static mp_status source_fetch(void *folder, const char *const *keys, size_t n,
                              const mp_fetch_cb *cb, void *ctx)
{
    return ib_folder_fetch(folder, keys, n, cb, ctx);
}

const mp_source_ops ib_source_ops = {
    .struct_size = sizeof(mp_source_ops),
    /* imap-backup stored every line ending as LF. */
    .eol = MP_EOL_NATIVE,
    .open = source_open,
    .close = source_close,
    .list_folders = source_list,
    .open_folder = source_open_folder,
    .close_folder = source_close_folder,
    .scan = source_scan,
    .fetch = source_fetch,
};
