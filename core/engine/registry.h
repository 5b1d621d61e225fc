/* The plugin registry: plugins.conf parsed, each named plugin file loaded
 * with dlopen and checked, and URL schemes mapped to plugins. */
#ifndef MP_REGISTRY_H
#define MP_REGISTRY_H

#include <mailport/plugin.h>
#include <stddef.h>

typedef struct mp_plugin_file {
    char *path;            /* as resolved from plugins.conf */
    void *dl;              /* dlopen handle, NULL when refused */
    const mp_plugin *desc; /* NULL when refused */
    char *refusal;         /* why it was refused, or NULL */
} mp_plugin_file;

typedef struct mp_scheme_entry {
    char *scheme;
    size_t file; /* index into files */
} mp_scheme_entry;

typedef struct mp_registry {
    char *conf_path;
    mp_plugin_file *files;
    size_t n_files;
    mp_scheme_entry *schemes;
    size_t n_schemes;
} mp_registry;

/* Parse one plugins.conf text (the file's bytes) into SCHEME -> PATH
 * entries without loading anything. BASE_DIR resolves relative paths.
 * Returns 0, or -1 with ERR naming the line. */
int mp_registry_parse(mp_registry *reg, const char *text, const char *base_dir,
                      char *err, size_t err_size);

/* Read CONF_PATH. Plugins are loaded when first asked for (find), or all
 * at once by mp_registry_load_all; one that cannot be loaded is kept with
 * its refusal text. Only an unreadable or malformed file fails (-1, ERR
 * set). */
int mp_registry_load(mp_registry *reg, const char *conf_path, char *err,
                     size_t err_size);

/* Load every plugin the file names (for `mailport plugins`). */
void mp_registry_load_all(mp_registry *reg);

/* Check a loaded descriptor against this core's ABI; returns NULL when it
 * is acceptable, else a malloc'd refusal text naming both versions. */
char *mp_registry_check_abi(const mp_plugin *desc, const char *path);

/* The plugin serving SCHEME. On failure returns NULL and writes ERR (no
 * such scheme, or the plugin was refused and why). */
const mp_plugin *mp_registry_find(const mp_registry *reg, const char *scheme,
                                  char *err, size_t err_size);

/* Where plugins.conf is: $MAILPORT_PLUGINS_CONF, else beside the binary,
 * else ../lib/mailport/ from the binary. Malloc'd. */
char *mp_registry_default_conf(void);

void mp_registry_free(mp_registry *reg);

#endif
