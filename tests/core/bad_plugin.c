/* Plugins that must be refused, built from one file with -D switches:
 * BAD_MAJOR (ABI major + 1), NEWER_MINOR (minor + 1), NO_SYMBOL (no entry
 * point at all). */
#include <mailport/plugin.h>

#ifndef NO_SYMBOL
static const char *const schemes[] = {"bad", NULL};
static const mp_source_ops no_source = {.struct_size = sizeof no_source};
static const mp_plugin descriptor = {
    .struct_size = sizeof descriptor,
#ifdef BAD_MAJOR
    .abi_major = MP_ABI_MAJOR + 1,
    .abi_minor = 0,
#else
    .abi_major = MP_ABI_MAJOR,
    .abi_minor = MP_ABI_MINOR + 1,
#endif
    .name = "bad",
    .version = "0",
    .schemes = schemes,
    .source = &no_source,
};
MP_PLUGIN_DEFINE(descriptor)
#else
__attribute__((visibility("default"))) int not_a_plugin = 1;
#endif
