#include "mbox_testkit.h"

#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *captured;

static void capture_log(mp_host *h, int level, const char *fmt, ...)
{
    (void)h;
    (void)level;
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    if (vasprintf(&line, fmt, ap) < 0)
        fail_msg("vasprintf");
    va_end(ap);
    char *next = mp_strf("%s%s\n", captured ? captured : "", line);
    free(line);
    free(captured);
    captured = next;
}

char *mbt_take_log(void)
{
    char *s = captured ? captured : strdup("");
    captured = NULL;
    return s;
}

mp_status mbt_open(mbt_endpoint *e, const char *url, int sink)
{
    char err[256];
    memset(e, 0, sizeof *e);
    e->url = mp_url_parse(url, err, sizeof err);
    if (!e->url)
        fail_msg("bad test URL %s: %s", url, err);
    mp_host_init(&e->host, e->url);
    e->host.pub.log = capture_log;
    if (sink)
        return mbox_sink_ops.open(&e->host.pub, &e->url->ep, &e->store);
    return mbox_source_ops.open(&e->host.pub, &e->url->ep, &e->store);
}

void mbt_close(mbt_endpoint *e, int sink)
{
    if (e->store) {
        if (sink)
            mbox_sink_ops.close(e->store);
        else
            mbox_source_ops.close(e->store);
    }
    mp_url_free(e->url);
    memset(e, 0, sizeof *e);
}

mp_status mbt_put(void *folder, const char *text, size_t chunk, int64_t date,
                  unsigned flags, char *key, size_t key_size)
{
    mp_msg_info info = {.struct_size = sizeof info,
                        .key = "src",
                        .flags = flags,
                        .internal_date = date};
    void *p;
    mp_status st = mbox_sink_ops.put_begin(folder, &info, &p);
    if (st != MP_OK)
        return st;
    size_t len = strlen(text);
    for (size_t i = 0; i < len; i += chunk) {
        size_t n = len - i < chunk ? len - i : chunk;
        st = mbox_sink_ops.put_write(p, text + i, n);
        if (st != MP_OK) {
            mbox_sink_ops.put_abort(p);
            return st;
        }
    }
    return mbox_sink_ops.put_commit(p, key, key_size);
}

void *mbt_open_inbox(mbt_endpoint *e, const char *url)
{
    assert_int_equal(mbt_open(e, url, 1), MP_OK);
    void *folder;
    mp_folder_info info;
    assert_int_equal(
        mbox_sink_ops.open_folder(e->store, "INBOX", &folder, &info), MP_OK);
    return folder;
}

static mp_status collect_info(void *ctx, const mp_msg_info *info)
{
    mbt_folder *f = ctx;
    f->msgs = realloc(f->msgs, (f->n + 1) * sizeof *f->msgs);
    mbt_msg *m = &f->msgs[f->n++];
    memset(m, 0, sizeof *m);
    m->key = strdup(info->key);
    m->size = info->size;
    m->flags = info->flags;
    m->keywords = strdup(info->keywords ? info->keywords : "");
    m->date = info->internal_date;
    m->identity = info->identity ? strdup(info->identity) : NULL;
    return MP_OK;
}

typedef struct fetch_ctx {
    mbt_folder *f;
    size_t index;
    int open;
} fetch_ctx;

static mp_status on_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    fetch_ctx *c = ctx;
    if (c->open || index >= c->f->n)
        fail_msg("fetch: begin out of order (index %zu)", index);
    if (strcmp(info->key, c->f->msgs[index].key) != 0)
        fail_msg("fetch: begin key %s, asked %s", info->key,
                 c->f->msgs[index].key);
    c->index = index;
    c->open = 1;
    return MP_OK;
}

static mp_status on_data(void *ctx, const void *buf, size_t len)
{
    fetch_ctx *c = ctx;
    mbt_msg *m = &c->f->msgs[c->index];
    if (!c->open)
        fail_msg("fetch: data outside a message");
    m->data = realloc(m->data, m->len + len + 1);
    memcpy(m->data + m->len, buf, len);
    m->len += len;
    m->data[m->len] = '\0';
    return MP_OK;
}

static mp_status on_end(void *ctx, mp_status st)
{
    fetch_ctx *c = ctx;
    if (!c->open)
        fail_msg("fetch: end without begin");
    if (st != MP_OK)
        fail_msg("fetch: message %s ended with %d", c->f->msgs[c->index].key,
                 st);
    if (!c->f->msgs[c->index].data)
        c->f->msgs[c->index].data = calloc(1, 1);
    c->open = 0;
    return MP_OK;
}

mbt_folder mbt_read(const char *url, const char *name)
{
    mbt_folder f;
    memset(&f, 0, sizeof f);
    mbt_endpoint e;
    f.status = mbt_open(&e, url, 0);
    void *folder = NULL;
    if (f.status == MP_OK)
        f.status = mbox_source_ops.open_folder(e.store, name, &folder, &f.info);
    if (f.status == MP_OK) {
        f.info.name = NULL;
        f.status =
            mbox_source_ops.scan(folder, MP_SCAN_IDENTITY, collect_info, &f);
    }
    if (f.status == MP_OK && f.n > 0) {
        const char **keys = calloc(f.n, sizeof *keys);
        for (size_t i = 0; i < f.n; i++)
            keys[i] = f.msgs[i].key;
        fetch_ctx c = {.f = &f};
        mp_fetch_cb cb = {.struct_size = sizeof cb,
                          .begin = on_begin,
                          .data = on_data,
                          .end = on_end};
        f.status = mbox_source_ops.fetch(folder, keys, f.n, &cb, &c);
        free(keys);
    }
    if (folder)
        mbox_source_ops.close_folder(folder);
    f.kind = e.host.err_kind;
    snprintf(f.err, sizeof f.err, "%s", e.host.err);
    mbt_close(&e, 0);
    f.log = mbt_take_log();
    return f;
}

void mbt_folder_free(mbt_folder *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->msgs[i].key);
        free(f->msgs[i].data);
        free(f->msgs[i].identity);
        free(f->msgs[i].keywords);
    }
    free(f->msgs);
    free(f->log);
    memset(f, 0, sizeof *f);
}

typedef struct list_ctx {
    char *s;
} list_ctx;

static mp_status collect_folder(void *ctx, const mp_folder_info *info)
{
    list_ctx *c = ctx;
    char *next = mp_strf("%s%s%s%s", c->s ? c->s : "", c->s ? "|" : "",
                         info->name, info->no_select ? "*" : "");
    free(c->s);
    c->s = next;
    return MP_OK;
}

char *mbt_list(const char *url, int sink)
{
    mbt_endpoint e;
    if (mbt_open(&e, url, sink) != MP_OK) {
        mbt_close(&e, sink);
        return NULL;
    }
    list_ctx c = {0};
    mp_status st =
        sink ? mbox_sink_ops.list_folders(e.store, collect_folder, &c)
             : mbox_source_ops.list_folders(e.store, collect_folder, &c);
    mbt_close(&e, sink);
    if (st != MP_OK)
        fail_msg("list_folders failed: %d", st);
    return c.s ? c.s : strdup("");
}
