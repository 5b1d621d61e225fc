/* The commands of CLI.md. Each takes the parsed options (args holds the
 * positional arguments) and returns the process exit code:
 * 0 all done; 1 some messages failed; 2 usage or configuration error;
 * 3 cannot reach, open or log in to an endpoint; 4 verify found differences. */
#ifndef MP_COMMANDS_H
#define MP_COMMANDS_H

#include "options.h"
#include "registry.h"
#include "store.h"

enum {
    MP_EXIT_OK = 0,
    MP_EXIT_FAILED = 1,
    MP_EXIT_USAGE = 2,
    MP_EXIT_UNREACHABLE = 3,
    MP_EXIT_DIFFERENT = 4,
};

int mp_cmd_copy(const mp_registry *reg, const mp_options *opt);
int mp_cmd_verify(const mp_registry *reg, const mp_options *opt);
int mp_cmd_list(const mp_registry *reg, const mp_options *opt);
/* Batch re-parses its options per job line, so it takes the raw words. */
int mp_cmd_batch(const mp_registry *reg, int argc, char **argv);
int mp_cmd_plugins(const mp_registry *reg, const mp_options *opt);

/* One copy job: SOURCE to DEST with OPT's other settings. Used by copy and
 * by batch. */
int mp_copy_job(const mp_registry *reg, const mp_options *opt,
                const char *source, const char *dest);
/* The same, handing the job's report to *KEEP (the caller frees it with
 * mp_report_free) instead of freeing it. */
struct mp_report;
int mp_copy_job_keep(const mp_registry *reg, const mp_options *opt,
                     const char *source, const char *dest,
                     struct mp_report **keep);

/* Check the N endpoint URLs before any is opened: each parses, has a
 * plugin, and holds only parameters its plugin declares
 * (mp_plugin.params). Returns 0, or an exit code with ERR set (nothing
 * printed). */
int mp_check_endpoints(const mp_registry *reg, const char *const *urls,
                       size_t n, char *err, size_t err_size);

/* mp_store_open, with the exit code of an endpoint that cannot be opened
 * (3) instead of 1; usage errors stay 2. */
mp_store *mp_open_endpoint(const mp_registry *reg, const char *url,
                           mp_role role, char *err, size_t err_size,
                           int *exit_code);

/* Folder names of an open source store, selected by --include/--exclude,
 * without \Noselect parents. Returns 0, or -1 with the store error set.
 * UNMATCHED (may be NULL) gets the warning for --include patterns that
 * matched no folder (see mp_options_unmatched_includes), or NULL. */
int mp_list_source_folders(mp_store *src, const mp_options *opt, char ***names,
                           unsigned **special, size_t *n, char **unmatched);
/* The same, with each kept folder's subscription (mp_folder_info's
 * subscribed) in *SUBSCRIBED and its store name (store_name, strdup'd or
 * NULL; free with mp_free_names) in *STORE_NAMES, each when not NULL. */
int mp_list_source_folders_full(mp_store *src, const mp_options *opt,
                                char ***names, unsigned **special,
                                int **subscribed, char ***store_names,
                                size_t *n, char **unmatched);
void mp_free_names(char **names, size_t n);

#endif
