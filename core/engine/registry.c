#include "registry.h"

#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static size_t file_index(mp_registry *reg, const char *path)
{
    for (size_t i = 0; i < reg->n_files; i++)
        if (strcmp(reg->files[i].path, path) == 0)
            return i;
    reg->files = realloc(reg->files, (reg->n_files + 1) * sizeof *reg->files);
    reg->files[reg->n_files] = (mp_plugin_file){strdup(path), NULL, NULL, NULL};
    return reg->n_files++;
}

int mp_registry_parse(mp_registry *reg, const char *text, const char *base_dir,
                      char *err, size_t err_size)
{
    char *copy = strdup(text);
    char *save = NULL;
    int lineno = 0;
    /* strtok_r would merge empty lines and lose numbering: walk by hand. */
    for (char *line = copy; line; line = save) {
        lineno++;
        save = strchr(line, '\n');
        if (save)
            *save++ = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char scheme[64], path[PATH_MAX], extra[2];
        int n = sscanf(line, " %63s %4095s %1s", scheme, path, extra);
        if (n <= 0)
            continue;
        if (n != 2) {
            snprintf(err, err_size,
                     "line %d: expected \"SCHEME PATH\", got \"%s\"", lineno,
                     line);
            free(copy);
            return -1;
        }
        for (size_t i = 0; i < reg->n_schemes; i++)
            if (strcmp(reg->schemes[i].scheme, scheme) == 0) {
                snprintf(err, err_size, "line %d: scheme \"%s\" named twice",
                         lineno, scheme);
                free(copy);
                return -1;
            }
        char *full =
            path[0] == '/' ? strdup(path) : strf("%s/%s", base_dir, path);
        size_t idx = file_index(reg, full);
        free(full);
        reg->schemes =
            realloc(reg->schemes, (reg->n_schemes + 1) * sizeof *reg->schemes);
        reg->schemes[reg->n_schemes++] = (mp_scheme_entry){strdup(scheme), idx};
    }
    free(copy);
    return 0;
}

char *mp_registry_check_abi(const mp_plugin *d, const char *path)
{
    if (!d)
        return strf("plugin %s returned no descriptor", path);
    if (d->struct_size < offsetof(mp_plugin, sink) + sizeof(void *))
        return strf("plugin %s has a descriptor too small (%zu bytes)", path,
                    d->struct_size);
    if (d->abi_major != MP_ABI_MAJOR || d->abi_minor > MP_ABI_MINOR)
        return strf("plugin %s (%s) was built for plugin ABI %d.%d, but this "
                    "mailport provides ABI %d.%d",
                    path, d->name ? d->name : "?", d->abi_major, d->abi_minor,
                    MP_ABI_MAJOR, MP_ABI_MINOR);
    if (!d->name || !d->schemes || (!d->source && !d->sink))
        return strf("plugin %s has an incomplete descriptor", path);
    return NULL;
}

static void load_file(mp_plugin_file *f)
{
    f->dl = dlopen(f->path, RTLD_NOW | RTLD_LOCAL);
    if (!f->dl) {
        f->refusal = strf("cannot load plugin %s: %s", f->path, dlerror());
        return;
    }
    mp_plugin_entry_fn entry;
    *(void **)&entry = dlsym(f->dl, MP_PLUGIN_ENTRY);
    if (!entry) {
        f->refusal = strf("plugin %s has no %s symbol: not a mailport plugin",
                          f->path, MP_PLUGIN_ENTRY);
        dlclose(f->dl);
        f->dl = NULL;
        return;
    }
    const mp_plugin *d = entry();
    f->refusal = mp_registry_check_abi(d, f->path);
    if (f->refusal) {
        dlclose(f->dl);
        f->dl = NULL;
        return;
    }
    f->desc = d;
}

int mp_registry_load(mp_registry *reg, const char *conf_path, char *err,
                     size_t err_size)
{
    FILE *fp = fopen(conf_path, "r");
    if (!fp) {
        snprintf(err, err_size, "cannot read plugin list %s: %s", conf_path,
                 strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t cap = 0;
    ssize_t len = getdelim(&text, &cap, '\0', fp);
    fclose(fp);
    if (len < 0) {
        free(text);
        text = strdup("");
    }
    char *dir_copy = strdup(conf_path);
    char line_err[512];
    int rc = mp_registry_parse(reg, text, dirname(dir_copy), line_err,
                               sizeof line_err);
    free(dir_copy);
    free(text);
    if (rc) {
        snprintf(err, err_size, "%s: %s", conf_path, line_err);
        return -1;
    }
    reg->conf_path = strdup(conf_path);
    return 0;
}

/* Plugins are loaded on first use: a run that reads a Maildir never maps
 * curl's or libarchive's dozens of libraries. The lock makes a first use
 * from two worker threads at once safe. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static void ensure_loaded(mp_plugin_file *f)
{
    pthread_mutex_lock(&load_lock);
    if (!f->desc && !f->refusal)
        load_file(f);
    pthread_mutex_unlock(&load_lock);
}

void mp_registry_load_all(mp_registry *reg)
{
    for (size_t i = 0; i < reg->n_files; i++)
        ensure_loaded(&reg->files[i]);
}

const mp_plugin *mp_registry_find(const mp_registry *reg, const char *scheme,
                                  char *err, size_t err_size)
{
    for (size_t i = 0; i < reg->n_schemes; i++) {
        if (strcmp(reg->schemes[i].scheme, scheme) != 0)
            continue;
        mp_plugin_file *f = &reg->files[reg->schemes[i].file];
        ensure_loaded(f);
        if (!f->desc) {
            snprintf(err, err_size, "%s", f->refusal);
            return NULL;
        }
        for (const char *const *s = f->desc->schemes; *s; s++)
            if (strcmp(*s, scheme) == 0)
                return f->desc;
        snprintf(err, err_size,
                 "plugin %s (%s) does not serve scheme \"%s\" that %s assigns "
                 "to it",
                 f->path, f->desc->name, scheme,
                 reg->conf_path ? reg->conf_path : "plugins.conf");
        return NULL;
    }
    snprintf(err, err_size, "no plugin serves \"%s:\" URLs (see %s)", scheme,
             reg->conf_path ? reg->conf_path : "plugins.conf");
    return NULL;
}

char *mp_registry_default_conf(void)
{
    const char *env = getenv("MAILPORT_PLUGINS_CONF");
    if (env && *env)
        return strdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return strdup("plugins.conf");
    exe[n] = '\0';
    char *dir = dirname(exe);
    char *beside = strf("%s/plugins.conf", dir);
    if (access(beside, R_OK) == 0)
        return beside;
    free(beside);
    return strf("%s/../lib/mailport/plugins.conf", dir);
}

void mp_registry_free(mp_registry *reg)
{
    for (size_t i = 0; i < reg->n_files; i++) {
        /* Plugins are not dlclose'd: a plugin's library (GnuTLS, curl) may
         * have registered atexit handlers that must stay mapped. */
        free(reg->files[i].path);
        free(reg->files[i].refusal);
    }
    for (size_t i = 0; i < reg->n_schemes; i++)
        free(reg->schemes[i].scheme);
    free(reg->files);
    free(reg->schemes);
    free(reg->conf_path);
    memset(reg, 0, sizeof *reg);
}
