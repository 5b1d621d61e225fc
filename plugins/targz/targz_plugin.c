#include <mailport/plugin.h>

static const char *const schemes[] = {"targz", NULL};

static const mp_plugin targz_plugin = {
    .struct_size = sizeof(mp_plugin),
    .abi_major = MP_ABI_MAJOR,
    .abi_minor = MP_ABI_MINOR,
    .name = "targz",
    .version = "0.1.0",
    .schemes = schemes,
    .source = NULL,
    .sink = NULL,
};

MP_PLUGIN_DEFINE(targz_plugin)
