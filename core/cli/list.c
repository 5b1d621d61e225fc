/* mailport list SOURCE: folders, message counts and sizes. */
#include "commands.h"
#include "escape.h"
#include "log.h"
#include "msglist.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mp_cmd_list(const mp_registry *reg, const mp_options *opt)
{
    if (opt->n_args != 1) {
        fprintf(stderr, "mailport list: expected one SOURCE\n"
                        "Try 'mailport list --help'.\n");
        return MP_EXIT_USAGE;
    }
    char err[2600];
    int code = 0;
    code = mp_check_endpoints(reg, (const char *const *)opt->args, 1, err,
                              sizeof err);
    mp_store *src = code ? NULL
                         : mp_open_endpoint(reg, opt->args[0], MP_ROLE_SOURCE,
                                            err, sizeof err, &code);
    if (!src) {
        mp_error("%s", err);
        return code;
    }
    char **names = NULL;
    unsigned *special = NULL;
    size_t n = 0;
    if (mp_list_source_folders(src, opt, &names, &special, &n, NULL) != 0) {
        mp_error("%s", mp_store_error(src));
        code = mp_exit_code_for(src->host.err_kind);
        mp_store_close(src);
        return code == MP_EXIT_USAGE ? MP_EXIT_FAILED : code;
    }
    const mp_source_ops *so = src->plugin->source;
    uint64_t total_msgs = 0, total_bytes = 0;
    int failed = 0;
    printf("%-40s %10s %14s\n", "FOLDER", "MESSAGES", "BYTES");
    for (size_t i = 0; i < n; i++) {
        void *f = NULL;
        mp_folder_info info = {.struct_size = sizeof info};
        mp_msglist l = {0};
        mp_host_clear_error(&src->host);
        if (so->open_folder(src->handle, names[i], &f, &info) != MP_OK ||
            so->scan(f, 0, mp_msglist_collect, &l) != MP_OK) {
            mp_error("folder %s: %s", mp_show_name(names[i]).s,
                     mp_store_error(src));
            failed = 1;
        } else {
            uint64_t bytes = 0;
            for (size_t k = 0; k < l.n; k++)
                bytes += l.v[k].size;
            printf("%-40s %10zu %14llu\n", mp_show_name(names[i]).s, l.n,
                   (unsigned long long)bytes);
            total_msgs += l.n;
            total_bytes += bytes;
        }
        if (f)
            so->close_folder(f);
        mp_msglist_free(&l);
    }
    printf("%-40s %10llu %14llu\n", "(total)", (unsigned long long)total_msgs,
           (unsigned long long)total_bytes);
    mp_free_names(names, n);
    free(special);
    mp_store_close(src);
    return failed ? MP_EXIT_FAILED : MP_EXIT_OK;
}

int mp_cmd_plugins(const mp_registry *reg, const mp_options *opt)
{
    (void)opt;
    mp_registry_load_all((mp_registry *)reg);
    printf("plugins from %s:\n", reg->conf_path ? reg->conf_path : "?");
    printf("%-10s %-10s %-6s %-4s %-4s %s\n", "NAME", "VERSION", "ABI", "READ",
           "WRITE", "SCHEMES");
    int refused = 0;
    for (size_t i = 0; i < reg->n_files; i++) {
        const mp_plugin_file *f = &reg->files[i];
        if (!f->desc) {
            printf("refused: %s\n", f->refusal);
            refused = 1;
            continue;
        }
        char schemes[256] = "";
        for (const char *const *s = f->desc->schemes; *s; s++) {
            strncat(schemes, *s, sizeof schemes - strlen(schemes) - 2);
            if (s[1])
                strcat(schemes, ",");
        }
        char abi[16];
        snprintf(abi, sizeof abi, "%d.%d", f->desc->abi_major,
                 f->desc->abi_minor);
        printf("%-10s %-10s %-6s %-4s %-5s %s\n", f->desc->name,
               f->desc->version, abi, f->desc->source ? "yes" : "no",
               f->desc->sink ? "yes" : "no", schemes);
    }
    return refused ? MP_EXIT_FAILED : MP_EXIT_OK;
}
