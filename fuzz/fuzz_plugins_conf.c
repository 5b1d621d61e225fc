/* libFuzzer target for the plugins.conf parser (core/engine/registry.c,
 * mp_registry_parse): the file is read whole up to its first NUL, as
 * mp_registry_load reads it. Nothing is loaded (no dlopen of a path the
 * input names).
 *
 * Properties (abort() when one breaks): a file that parses names each
 * scheme once, every scheme points at a file, every path is absolute (a
 * relative one is taken from the file's folder), and no path is listed
 * twice; one that does not has an error naming its line. */
#include "registry.h"

#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    mp_registry reg = {0};
    char err[512] = "";
    if (mp_registry_parse(&reg, text, "/etc/mailport", err, sizeof err) == 0) {
        for (size_t i = 0; i < reg.n_schemes; i++) {
            FUZZ_CHECK(reg.schemes[i].scheme && reg.schemes[i].scheme[0]);
            FUZZ_CHECK(reg.schemes[i].file < reg.n_files);
            for (size_t j = 0; j < i; j++)
                FUZZ_CHECK(
                    strcmp(reg.schemes[i].scheme, reg.schemes[j].scheme));
        }
        FUZZ_CHECK(reg.n_files <= reg.n_schemes);
        for (size_t i = 0; i < reg.n_files; i++) {
            FUZZ_CHECK(reg.files[i].path && reg.files[i].path[0] == '/');
            FUZZ_CHECK(!reg.files[i].dl && !reg.files[i].desc);
            for (size_t j = 0; j < i; j++)
                FUZZ_CHECK(strcmp(reg.files[i].path, reg.files[j].path));
        }
    } else {
        FUZZ_CHECK(strncmp(err, "line ", 5) == 0);
    }
    mp_registry_free(&reg);
    free(text);
    return 0;
}
