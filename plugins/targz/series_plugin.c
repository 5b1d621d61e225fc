/* The targz-series plugin: a directory of mailport archives, each holding
 * what changed since the one before (series.h). Built from the targz
 * plugin's objects with its own ops tables: a series can be scanned as a
 * destination (from its catalogue), a single archive cannot. */
#include "series.h"

#include <mailport/plugin.h>

static const char *const schemes[] = {"targz-series", NULL};

/* The targz parameters (targz_plugin.c) and the series' own. */
static const char *const params[] = {
    "recipient",      "recipients_file", "identity",     "passphrase_file",
    "passphrase_env", "passphrase_cmd",  "scrypt_log_n", "format",
    "full",           "catalogue",       NULL,
};

static const mp_plugin series_plugin = {
    .struct_size = sizeof(mp_plugin),
    .abi_major = MP_ABI_MAJOR,
    .abi_minor = MP_ABI_MINOR,
    .name = "targz-series",
    .version = "0.1.0",
    .schemes = schemes,
    .source = &series_source_ops,
    .sink = &series_sink_ops,
    .params = params,
};

MP_PLUGIN_DEFINE(series_plugin)
