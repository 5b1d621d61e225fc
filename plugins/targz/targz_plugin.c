/* The targz plugin: mailport archives (a Maildir++ tree in a pax tar,
 * gzip or zstd, optionally age-encrypted, closed by a manifest). */
#include "targz_sink.h"
#include "targz_source.h"

#include <mailport/plugin.h>

static const char *const schemes[] = {"targz", NULL};

/* Every URL parameter the source and the sink read (targz_common.c,
 * targz_sink.c), and the sources of host->secret("passphrase"). */
static const char *const params[] = {
    "recipient",       "recipients_file", "identity",
    "passphrase_file", "passphrase_env",  "passphrase_cmd",
    "scrypt_log_n",    "overwrite",       NULL,
};

static const mp_plugin targz_plugin = {
    .struct_size = sizeof(mp_plugin),
    .abi_major = MP_ABI_MAJOR,
    .abi_minor = MP_ABI_MINOR,
    .name = "targz",
    .version = "0.1.0",
    .schemes = schemes,
    .source = &targz_source_ops,
    .sink = &targz_sink_ops,
    .params = params,
};

MP_PLUGIN_DEFINE(targz_plugin)
