#include "mbox_read.h"

#include "mbox_headers.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void warn_content_length(void *ctx, uint64_t from_off, uint64_t claimed)
{
    mbox_content *c = ctx;
    c->host->log(c->host, MP_LOG_WARN,
                 "%s: message at offset %" PRIu64 ": Content-Length %" PRIu64
                 " does not end at a From_ line; split at the next From_ "
                 "line instead",
                 c->path, from_off, claimed);
}

static void pages_passed(void *ctx, size_t offset)
{
    mbox_content *c = ctx;
    mbox_map_done_before(&c->map, offset);
}

mp_status mbox_content_split(mbox_content *c)
{
    size_t start;
    switch (mbox_find_start(c->map.data, c->map.len, &start)) {
    case MBOX_START_EMPTY:
        return MP_OK;
    case MBOX_START_NOT_MBOX:
        c->host->set_error(c->host, MP_ERR_FORMAT,
                           "%s is not an mbox file (it does not start with "
                           "a \"From \" line)",
                           c->path);
        return MP_FOLDER_BAD;
    case MBOX_START_MMDF:
        c->host->set_error(c->host, MP_ERR_FORMAT,
                           "%s is not an mbox file (it is an MMDF file: "
                           "^A^A^A^A separators)",
                           c->path);
        return MP_FOLDER_BAD;
    case MBOX_START_CR_ONLY:
        c->host->set_error(c->host, MP_ERR_FORMAT,
                           "%s is not an mbox (CR-only line endings)", c->path);
        return MP_FOLDER_BAD;
    case MBOX_START_OK:
        break;
    }
    mbox_split_hooks hooks = {
        .ctx = c, .bad_length = warn_content_length, .passed = pages_passed};
    int rc = mbox_split(c->map.data, c->map.len, start, c->format, &c->index,
                        &hooks);
    /* Start over for scan and fetch, which walk the file again. */
    mbox_map_forget(&c->map);
    if (rc != 0) {
        c->host->set_error(c->host, MP_ERR_INTERNAL,
                           "%s: out of memory while splitting", c->path);
        return MP_FATAL;
    }
    return MP_OK;
}

mp_status mbox_content_load(mbox_content *c, mp_host *host, const char *path,
                            mbox_format fmt)
{
    c->host = host;
    c->path = path;
    c->format = fmt;
    char err[1024];
    if (mbox_map_open(&c->map, path, err, sizeof err) != 0) {
        host->set_error(host, MP_ERR_IO, "%s", err);
        return MP_FOLDER_BAD;
    }
    mp_status st = mbox_content_split(c);
    if (st != MP_OK) {
        mbox_index_free(&c->index);
        mbox_map_close(&c->map);
    }
    return st;
}

void mbox_content_free(mbox_content *c)
{
    mbox_index_free(&c->index);
    mbox_map_close(&c->map);
    free(c->scratch);
    c->scratch = NULL;
    c->scratch_cap = 0;
    free(c->keywords);
    c->keywords = NULL;
    c->keywords_cap = 0;
    free(c->by_key);
    c->by_key = NULL;
}

/* The header block of M with quoting undone, as the core would see it
 * after fetch. Returns NULL when out of memory. */
static const char *header_block(mbox_content *c, const mbox_msg *m, size_t *len)
{
    const char *buf = c->map.data;
    size_t body;
    size_t s = (size_t)m->start;
    size_t e = mbox_header_end(buf, s, (size_t)m->end, &body);
    size_t q =
        mbox_format_unquotes(c->format) ? mbox_next_quote(buf, s, s, e) : e;
    if (q >= e) {
        *len = e - s;
        return buf + s;
    }
    if (c->scratch_cap < e - s) {
        char *grown = realloc(c->scratch, e - s);
        if (!grown)
            return NULL;
        c->scratch = grown;
        c->scratch_cap = e - s;
    }
    size_t w = 0, from = s;
    for (; q < e; q = mbox_next_quote(buf, s, q + 1, e)) {
        memcpy(c->scratch + w, buf + from, q - from);
        w += q - from;
        from = q + 1;
    }
    memcpy(c->scratch + w, buf + from, e - from);
    w += e - from;
    *len = w;
    return c->scratch;
}

/* The keywords of M (from its X-Mozilla-Keys), or "" when it has none;
 * NULL when out of memory. Valid until the next call. */
static const char *keywords_of(mbox_content *c, const mbox_msg *m)
{
    if (m->keys_len == 0)
        return "";
    if (c->keywords_cap < (size_t)m->keys_len + 1) {
        char *grown = realloc(c->keywords, (size_t)m->keys_len + 1);
        if (!grown)
            return NULL;
        c->keywords = grown;
        c->keywords_cap = (size_t)m->keys_len + 1;
    }
    mbox_keywords_from(c->map.data + m->start + m->keys_off, m->keys_len,
                       c->keywords, c->keywords_cap);
    return c->keywords;
}

static mp_status fill_info(mbox_content *c, const mbox_msg *m,
                           mp_msg_info *info, char key[MBOX_KEY_SIZE])
{
    mbox_msg_key(m, key);
    *info = (mp_msg_info){
        .struct_size = sizeof *info,
        .key = key,
        .size = m->size,
        .flags = m->flags,
        .keywords = keywords_of(c, m),
        .internal_date = m->date,
    };
    if (!info->keywords) {
        c->host->set_error(c->host, MP_ERR_INTERNAL, "%s: out of memory",
                           c->path);
        return MP_FATAL;
    }
    return MP_OK;
}

mp_status mbox_content_scan(mbox_content *c, unsigned flags, mp_msg_cb cb,
                            void *ctx)
{
    char key[MBOX_KEY_SIZE];
    char identity[128];
    for (size_t i = 0; i < c->index.n; i++) {
        const mbox_msg *m = &c->index.msgs[i];
        mp_msg_info info;
        if (fill_info(c, m, &info, key) != MP_OK)
            return MP_FATAL;
        if (flags & MP_SCAN_IDENTITY) {
            size_t len;
            const char *hdr = header_block(c, m, &len);
            if (!hdr) {
                c->host->set_error(c->host, MP_ERR_INTERNAL,
                                   "%s: out of memory", c->path);
                return MP_FATAL;
            }
            c->host->identity_of_header(c->host, hdr, len, identity,
                                        sizeof identity);
            info.identity = identity;
            mbox_map_done_before(&c->map, (size_t)m->start);
        }
        mp_status st = cb(ctx, &info);
        if (st != MP_OK)
            return st;
    }
    mbox_map_forget(&c->map);
    return MP_OK;
}

static int cmp_key_order(const void *a, const void *b, void *ctx)
{
    const mbox_msg *msgs = ctx;
    const mbox_msg *x = &msgs[*(const size_t *)a],
                   *y = &msgs[*(const size_t *)b];
    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    return (x->ordinal > y->ordinal) - (x->ordinal < y->ordinal);
}

/* The message KEY names, or NULL (*OOM set when out of memory). */
static const mbox_msg *find_by_key(mbox_content *c, const char *key, int *oom)
{
    mbox_key k;
    if (mbox_key_parse(key, &k) != 0)
        return NULL;
    if (k.legacy)
        return mbox_index_find(&c->index, k.offset);
    size_t n = c->index.n;
    if (!c->by_key && n) {
        c->by_key = malloc(n * sizeof *c->by_key);
        if (!c->by_key) {
            *oom = 1;
            return NULL;
        }
        for (size_t i = 0; i < n; i++)
            c->by_key[i] = i;
        qsort_r(c->by_key, n, sizeof *c->by_key, cmp_key_order, c->index.msgs);
    }
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const mbox_msg *m = &c->index.msgs[c->by_key[mid]];
        if (m->tag < k.tag || (m->tag == k.tag && m->ordinal < k.ordinal))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n) {
        const mbox_msg *m = &c->index.msgs[c->by_key[lo]];
        if (m->tag == k.tag && m->ordinal == k.ordinal)
            return m;
    }
    return NULL;
}

/* Hand BUF[FROM..TO) to the data callback in pieces of bounded size. */
static mp_status deliver(const mp_fetch_cb *cb, void *ctx, const char *buf,
                         size_t from, size_t to)
{
    const size_t piece = 1u << 20;
    while (from < to) {
        size_t n = to - from < piece ? to - from : piece;
        mp_status st = cb->data(ctx, buf + from, n);
        if (st != MP_OK)
            return st;
        from += n;
    }
    return MP_OK;
}

static mp_status stream_message(mbox_content *c, const mbox_msg *m,
                                const mp_fetch_cb *cb, void *ctx)
{
    const char *buf = c->map.data;
    size_t s = (size_t)m->start, e = (size_t)m->end, from = s;
    if (mbox_format_unquotes(c->format)) {
        for (size_t q = mbox_next_quote(buf, s, s, e); q < e;
             q = mbox_next_quote(buf, s, q + 1, e)) {
            mp_status st = deliver(cb, ctx, buf, from, q);
            if (st != MP_OK)
                return st;
            from = q + 1;
        }
    }
    return deliver(cb, ctx, buf, from, e);
}

mp_status mbox_content_fetch(mbox_content *c, const char *const *keys, size_t n,
                             const mp_fetch_cb *cb, void *ctx)
{
    char key[MBOX_KEY_SIZE];
    for (size_t i = 0; i < n; i++) {
        int oom = 0;
        const mbox_msg *m = find_by_key(c, keys[i], &oom);
        if (oom) {
            c->host->set_error(c->host, MP_ERR_INTERNAL, "%s: out of memory",
                               c->path);
            return MP_FATAL;
        }
        mp_msg_info info;
        mp_status st;
        if (!m) {
            info = (mp_msg_info){.struct_size = sizeof info,
                                 .key = keys[i] ? keys[i] : "",
                                 .keywords = "",
                                 .internal_date = MP_DATE_UNKNOWN};
            st = cb->begin(ctx, i, &info);
            if (st != MP_OK)
                return st;
            c->host->set_error(c->host, MP_ERR_NOTFOUND,
                               "%s: no message at key %s", c->path,
                               keys[i] ? keys[i] : "(null)");
            st = cb->end(ctx, MP_MSG_BAD);
            if (st != MP_OK)
                return st;
            continue;
        }
        if (fill_info(c, m, &info, key) != MP_OK)
            return MP_FATAL;
        st = cb->begin(ctx, i, &info);
        if (st != MP_OK)
            return st;
        st = stream_message(c, m, cb, ctx);
        if (st != MP_OK)
            return st;
        st = cb->end(ctx, MP_OK);
        if (st != MP_OK)
            return st;
        /* Fetches come in the scan's order in practice: let the pages
         * already streamed go. */
        mbox_map_done_before(&c->map, (size_t)m->from_off);
    }
    return MP_OK;
}
