/* The IMAP plugin's descriptor: the imap:// and imaps:// schemes, as source
 * and as sink. */
#include "imap_sink.h"
#include "imap_source.h"
#include "imap_store.h"

#include <mailport/plugin.h>

static mp_status store_open(mp_host *host, const mp_endpoint *ep, void **store)
{
    imap_store *st;
    mp_status s = imap_store_open(host, ep, &st);
    if (s == MP_OK)
        *store = st;
    return s;
}

static const mp_source_ops source_ops = {
    .struct_size = sizeof(mp_source_ops),
    .eol = MP_EOL_CRLF,
    .open = store_open,
    .close = imap_store_close,
    .list_folders = imap_store_list,
    .open_folder = imap_source_open_folder,
    .close_folder = imap_source_close_folder,
    .scan = imap_folder_scan,
    .fetch = imap_source_fetch,
    .host_kind = imap_store_host_kind,
    .concurrent_fetch = 1, /* a connection each, UID FETCH by key */
};

static const mp_sink_ops sink_ops = {
    .struct_size = sizeof(mp_sink_ops),
    .eol = MP_EOL_CRLF,
    .open = store_open,
    .finish = NULL,
    .close = imap_store_close,
    .list_folders = imap_store_list,
    .open_folder = imap_sink_open_folder,
    .close_folder = imap_sink_close_folder,
    .scan = imap_sink_scan,
    .put_begin = imap_sink_put_begin,
    .put_write = imap_sink_put_write,
    .put_commit = imap_sink_put_commit,
    .put_abort = imap_sink_put_abort,
    .flush = imap_sink_flush,
    .set_flags = imap_sink_set_flags,
    .remove = imap_sink_remove,
    .flush_keys = imap_sink_flush_keys,
    .subscribe = imap_store_subscribe,
    .store_identity = imap_store_identity,
    .host_kind = imap_store_host_kind,
    .concurrent_put = 1, /* the server orders APPENDs from connections */
};

static const char *const schemes[] = {"imap", "imaps", NULL};

/* Every parameter imap_conn_open and imap_store_open read, and the secret
 * sources of host->secret("password"/"token"): the core refuses any other
 * before it connects or prompts. */
static const char *const params[] = {
    "tls",
    "cafile",
    "insecure",
    "auth",
    "timeout",
    "delimiter_substitute",
    "multiappend",
    "password_file",
    "password_env",
    "password_cmd",
    "token_file",
    "token_env",
    "token_cmd",
    /* the OAuth2 refresh flow, served by the core's secret("token") */
    "oauth2",
    "oauth2_token_url",
    "oauth2_client_id",
    "oauth2_client_secret_file",
    "oauth2_client_secret_env",
    "oauth2_client_secret_cmd",
    "oauth2_refresh_token_file",
    "oauth2_scope",
    "oauth2_token_cafile",
    NULL,
};

static const mp_plugin imap_plugin = {
    .struct_size = sizeof(mp_plugin),
    .abi_major = MP_ABI_MAJOR,
    .abi_minor = MP_ABI_MINOR,
    .name = "imap",
    .version = "0.1.0",
    .schemes = schemes,
    .source = &source_ops,
    .sink = &sink_ops,
    .params = params,
};

MP_PLUGIN_DEFINE(imap_plugin)
