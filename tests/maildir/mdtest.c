#include "mdtest.h"

#include "endpoint.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

mp_status md_env_open(md_env *env, const char *url, int sink)
{
    char err[256];
    memset(env, 0, sizeof *env);
    env->url = mp_url_parse(url, err, sizeof err);
    if (!env->url)
        fail_msg("bad test URL %s: %s", url, err);
    mp_host_init(&env->host, env->url);
    env->plugin = mailport_plugin_v1();
    mp_status st = sink ? env->plugin->sink->open(&env->host.pub,
                                                  &env->url->ep, &env->store)
                        : env->plugin->source->open(&env->host.pub,
                                                    &env->url->ep, &env->store);
    if (st != MP_OK)
        env->store = NULL;
    return st;
}

void md_env_close(md_env *env)
{
    if (env->store)
        env->plugin->source->close(env->store);
    mp_url_free(env->url);
    memset(env, 0, sizeof *env);
}

static mp_status collect(void *ctx, const mp_msg_info *info)
{
    md_msgs *m = ctx;
    m->v = realloc(m->v, (m->n + 1) * sizeof *m->v);
    md_msg *x = &m->v[m->n++];
    x->key = strdup(info->key);
    x->size = info->size;
    x->vsize = info->vsize;
    x->flags = info->flags;
    x->keywords = strdup(info->keywords ? info->keywords : "");
    x->date = info->internal_date;
    x->identity = info->identity ? strdup(info->identity) : NULL;
    return MP_OK;
}

mp_status md_scan_all(md_env *env, void *folder, unsigned flags,
                      md_msgs *out)
{
    memset(out, 0, sizeof *out);
    return env->plugin->source->scan(folder, flags, collect, out);
}

void md_msgs_free(md_msgs *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].keywords);
        free(m->v[i].identity);
    }
    free(m->v);
    memset(m, 0, sizeof *m);
}

const md_msg *md_msgs_find(const md_msgs *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].key, key) == 0)
            return &m->v[i];
    return NULL;
}

typedef struct fetch_ctx {
    char *buf;
    size_t len;
    int begun, ended;
    mp_status status;
} fetch_ctx;

static mp_status f_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    fetch_ctx *c = ctx;
    (void)info;
    assert_int_equal(index, 0);
    c->begun++;
    return MP_OK;
}

static mp_status f_data(void *ctx, const void *buf, size_t len)
{
    fetch_ctx *c = ctx;
    assert_true(len > 0 && len <= 64 * 1024);
    c->buf = realloc(c->buf, c->len + len + 1);
    memcpy(c->buf + c->len, buf, len);
    c->len += len;
    c->buf[c->len] = '\0';
    return MP_OK;
}

static mp_status f_end(void *ctx, mp_status st)
{
    fetch_ctx *c = ctx;
    c->ended++;
    c->status = st;
    return MP_OK;
}

char *md_fetch_one(md_env *env, void *folder, const char *key, size_t *len,
                   mp_status *status)
{
    fetch_ctx c = {0};
    mp_fetch_cb cb = {sizeof cb, f_begin, f_data, f_end};
    const char *keys[1] = {key};
    assert_int_equal(env->plugin->source->fetch(folder, keys, 1, &cb, &c),
                     MP_OK);
    assert_int_equal(c.begun, 1);
    assert_int_equal(c.ended, 1);
    *status = c.status;
    *len = c.len;
    if (!c.buf)
        c.buf = calloc(1, 1);
    return c.buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **md_dir_names(const char *path, size_t *n)
{
    char **v = calloc(1, sizeof *v);
    *n = 0;
    DIR *d = opendir(path);
    if (!d)
        return v;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        v = realloc(v, (*n + 2) * sizeof *v);
        v[(*n)++] = strdup(e->d_name);
        v[*n] = NULL;
    }
    closedir(d);
    qsort(v, *n, sizeof *v, by_name);
    return v;
}

void md_names_free(char **names)
{
    for (char **p = names; p && *p; p++)
        free(*p);
    free(names);
}
