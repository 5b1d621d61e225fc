/* mailport: entry point. Dispatches to the command implementations. */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("mailport %s\n", MP_VERSION);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "plugins") == 0) {
        mp_registry reg = {0};
        char err[1024];
        char *conf = mp_registry_default_conf();
        if (mp_registry_load(&reg, conf, err, sizeof err)) {
            fprintf(stderr, "mailport: error: %s\n", err);
            return 2;
        }
        for (size_t i = 0; i < reg.n_files; i++) {
            const mp_plugin_file *f = &reg.files[i];
            if (f->desc)
                printf("%s %s\n", f->desc->name, f->desc->version);
            else
                printf("refused: %s\n", f->refusal);
        }
        return 0;
    }
    fprintf(stderr, "mailport: not yet\n");
    return 2;
}
