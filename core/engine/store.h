/* An open endpoint: its URL, plugin, host services and the plugin's handle.
 * The one place where plugin open/close and parameter checking happen. */
#ifndef MP_STORE_H
#define MP_STORE_H

#include "endpoint.h"
#include "host.h"
#include "registry.h"

typedef enum { MP_ROLE_SOURCE, MP_ROLE_SINK } mp_role;

typedef struct mp_store {
    mp_url *url;
    const mp_plugin *plugin;
    mp_role role;
    mp_core_host host;
    void *handle;
    /* A destination read as a source (mp_store_open_dst_reader). */
    int dst_reader;
    char message[2600]; /* last error, formatted for the user */
} mp_store;

/* Parse TEXT, find its plugin, open it in ROLE. On failure returns NULL,
 * prints nothing, and sets *exit_code (2 usage, 3 connect/login, 1 other)
 * and ERR. */
mp_store *mp_store_open(const mp_registry *reg, const char *text, mp_role role,
                        char *err, size_t err_size, int *exit_code);

/* mp_store_open as a source, for reading a destination (a dry run's, or
 * the real run's second handle): parameters only its sink reads (an
 * archive's overwrite=) are accepted too, as the plugin's probe_sink reads
 * them (mp_source_ops.probe_sink). */
mp_store *mp_store_open_dst_reader(const mp_registry *reg, const char *text,
                                   char *err, size_t err_size, int *exit_code);

/* The error kind of this thread's last mp_store_open that failed in the
 * plugin's open (MP_ERR_NONE when it failed before, on the URL or plugin):
 * as errno is read after a call, so that a caller can tell a refused extra
 * connection (MP_ERR_LIMIT) from an endpoint that cannot be reached. */
mp_error_kind mp_store_open_error_kind(void);

/* Reopen the same endpoint after an MP_TEMPORARY failure. Returns 0 or -1
 * with the store's host error set. */
int mp_store_reopen(mp_store *s);

void mp_store_close(mp_store *s);

/* The store's last error as "display: text". */
const char *mp_store_error(mp_store *s);

/* For a dry run: would the sink of URL's plugin open the store (FOLDER
 * NULL), and then open or create FOLDER in it (mp_source_ops.probe_sink)?
 * MP_OK when it would, or when the plugin cannot tell (no probe_sink, a
 * URL that does not parse); else the sink's status, with ERR ("display:
 * text", as mp_store_error) and *KIND set; MP_FATAL with MP_ERR_USAGE for
 * a plugin that cannot write at all. Changes nothing. */
mp_status mp_store_probe_sink(const mp_registry *reg, const char *url,
                              const char *folder, char *err, size_t err_size,
                              mp_error_kind *kind);

/* Exit code for an error kind (CLI.md): 2 usage, 3 connect/auth, else 1. */
int mp_exit_code_for(mp_error_kind kind);

/* Does the endpoint URL's plugin serve ROLE? */
int mp_store_can(const mp_registry *reg, const char *scheme, mp_role role);

#endif
