/* The mbox plugin's descriptor: the one exported symbol. */
#include "mbox_ops.h"

static const char *const mbox_schemes[] = {"mbox", NULL};

static const mp_plugin mbox_plugin = {
    .struct_size = sizeof(mp_plugin),
    .abi_major = MP_ABI_MAJOR,
    .abi_minor = MP_ABI_MINOR,
    .name = "mbox",
    .version = "0.1.0",
    .schemes = mbox_schemes,
    .source = &mbox_source_ops,
    .sink = &mbox_sink_ops,
};

MP_PLUGIN_DEFINE(mbox_plugin)
