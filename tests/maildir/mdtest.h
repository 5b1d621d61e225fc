/* Helpers for the Maildir plugin tests: drive the plugin through its real
 * descriptor (mailport_plugin_v1) with a real core host, collect scan and
 * fetch results, and look at directories independently of the plugin. */
#ifndef MD_TEST_H
#define MD_TEST_H

#include "host.h"
#include "testutil.h"

#include <mailport/plugin.h>

#include <stdint.h>

const mp_plugin *mailport_plugin_v1(void);

/* An endpoint plus its host. */
typedef struct md_env {
    mp_url *url;
    mp_core_host host;
    void *store;
    const mp_plugin *plugin;
} md_env;

/* Open URL as a sink (SINK) or source; returns the status, *env filled. */
mp_status md_env_open(md_env *env, const char *url, int sink);
void md_env_close(md_env *env);

/* One scanned message, with everything copied out of the callback. */
typedef struct md_msg {
    char *key;
    uint64_t size, vsize;
    unsigned flags;
    char *keywords;
    int64_t date;
    char *identity;
} md_msg;

typedef struct md_msgs {
    md_msg *v;
    size_t n;
} md_msgs;

mp_status md_scan_all(md_env *env, void *folder, unsigned flags,
                      md_msgs *out);
void md_msgs_free(md_msgs *m);
const md_msg *md_msgs_find(const md_msgs *m, const char *key);

/* Fetch one message into memory; *status gets the status end() saw. */
char *md_fetch_one(md_env *env, void *folder, const char *key, size_t *len,
                   mp_status *status);

/* The names in directory PATH (no "." or ".."), sorted, NULL-terminated;
 * *n gets the count. Empty when PATH is missing. */
char **md_dir_names(const char *path, size_t *n);
void md_names_free(char **names);

#endif
