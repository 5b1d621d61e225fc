/* The IMAP source: EXAMINE (read-only), scan, and pipelined, streamed
 * UID FETCH of bodies. */
#include "imap_source.h"

#include "imap_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* UIDs per UID FETCH command, and commands in flight at once: enough to
 * keep the pipe full over a slow link without a huge command line. */
#define FETCH_BATCH 100
#define FETCH_IN_FLIGHT 16
#define CHUNK 65536

typedef struct want {
    uint32_t uid;
    size_t index;
    int done;
} want;

typedef struct fetch_ctx {
    imap_folder *f;
    const mp_fetch_cb *cb;
    void *cb_ctx;
    want *w;
    size_t n;
    mp_status stop; /* a callback said stop: drain, then return this */
    imap_spool spool; /* a body that came before its UID */
    int spooled;
    int spooled_nil; /* the spooled body was NIL */
    int open_msg; /* begin() was called, end() not yet */
    char buf[CHUNK];
} fetch_ctx;

static int want_cmp(const void *a, const void *b)
{
    uint32_t x = ((const want *)a)->uid, y = ((const want *)b)->uid;
    return x < y ? -1 : x > y;
}

static want *find_want(fetch_ctx *fc, uint32_t uid)
{
    want key = {.uid = uid};
    return bsearch(&key, fc->w, fc->n, sizeof *fc->w, want_cmp);
}

static void make_info(const imap_fetch_meta *m, char *key, size_t key_size,
                      mp_msg_info *info)
{
    snprintf(key, key_size, "%u", m->uid);
    *info = (mp_msg_info){
        .struct_size = sizeof *info,
        .key = key,
        .size = m->have_size ? m->size : 0,
        .vsize = m->have_size ? m->size : 0,
        .flags = m->flags,
        .keywords = m->keywords.s ? m->keywords.s : "",
        .internal_date = m->have_date ? m->date : MP_DATE_UNKNOWN,
    };
}

static int spool_to_cb(void *vctx, const char *buf, size_t len)
{
    fetch_ctx *fc = vctx;
    mp_status s = fc->cb->data(fc->cb_ctx, buf, len);
    if (s != MP_OK) {
        fc->stop = s;
        return 1;
    }
    return 0;
}

/* Deliver the message M whose body is either the literal under the parser
 * (T == IMAP_T_LITERAL), the string token, or the spool. */
static void deliver(fetch_ctx *fc, imap_conn *c, const imap_fetch_meta *m,
                    int t, int from_spool)
{
    want *w = find_want(fc, m->uid);
    if (!w || w->done)
        return; /* not asked for, or a duplicate: the body is skipped */
    w->done = 1;
    char key[16];
    mp_msg_info info;
    make_info(m, key, sizeof key, &info);
    mp_status s = fc->cb->begin(fc->cb_ctx, w->index, &info);
    if (s != MP_OK) {
        fc->stop = s;
        return;
    }
    fc->open_msg = 1;
    if (t == IMAP_T_NIL) {
        /* NIL instead of the body: the server cannot give this message. */
        c->host->set_error(c->host, MP_ERR_NOTFOUND,
                           "message UID %u on %s: the server returned no "
                           "body (NIL)",
                           m->uid, c->where);
        fc->open_msg = 0;
        s = fc->cb->end(fc->cb_ctx, MP_MSG_BAD);
        if (s != MP_OK)
            fc->stop = s;
        return;
    }
    if (from_spool) {
        if (imap_spool_each(&fc->spool, spool_to_cb, fc) < 0) {
            c->host->set_error(c->host, MP_ERR_IO,
                               "message %u: cannot read back the spool file",
                               m->uid);
            fc->open_msg = 0;
            s = fc->cb->end(fc->cb_ctx, MP_MSG_BAD);
            if (s != MP_OK)
                fc->stop = s;
            return;
        }
    } else if (t == IMAP_T_LITERAL) {
        for (;;) {
            ssize_t n = imap_literal_read(&c->p, fc->buf, sizeof fc->buf);
            if (n < 0)
                return; /* the parser error ends the fetch */
            if (n == 0)
                break;
            s = fc->cb->data(fc->cb_ctx, fc->buf, (size_t)n);
            if (s != MP_OK) {
                fc->stop = s;
                return;
            }
        }
    } else if (t == IMAP_T_STRING && c->p.tok_len) {
        s = fc->cb->data(fc->cb_ctx, c->p.tok, c->p.tok_len);
    }
    if (fc->stop != MP_OK)
        return;
    if (s != MP_OK) {
        fc->stop = s;
        return;
    }
    fc->open_msg = 0;
    s = fc->cb->end(fc->cb_ctx, MP_OK);
    if (s != MP_OK)
        fc->stop = s;
}

static mp_status fetch_body(void *vctx, imap_conn *c, imap_fetch_meta *m, int t)
{
    fetch_ctx *fc = vctx;
    if (fc->stop != MP_OK)
        return MP_OK; /* draining: the parser skips the literal */
    if (m->have_uid && m->have_flags && m->have_date) {
        deliver(fc, c, m, t, 0);
        return MP_OK;
    }
    /* The body came before the data that says whose it is and what it
     * carries: keep it aside until the response ends. */
    imap_spool_reset(&fc->spool);
    fc->spooled = 1;
    fc->spooled_nil = t == IMAP_T_NIL;
    if (t == IMAP_T_STRING)
        return imap_spool_write(&fc->spool, c->p.tok, c->p.tok_len) < 0
                   ? MP_FATAL
                   : MP_OK;
    if (t != IMAP_T_LITERAL)
        return MP_OK;
    for (;;) {
        ssize_t n = imap_literal_read(&c->p, fc->buf, sizeof fc->buf);
        if (n <= 0)
            return MP_OK;
        if (imap_spool_write(&fc->spool, fc->buf, (size_t)n) < 0) {
            c->host->set_error(c->host, MP_ERR_IO,
                               "cannot spool message body to a temporary file");
            fc->stop = MP_FATAL;
            return MP_OK;
        }
    }
}

static mp_status on_fetch(void *vctx, imap_conn *c, int64_t num)
{
    fetch_ctx *fc = vctx;
    if (!imap_tok_is(&c->p, "FETCH"))
        return MP_OK;
    imap_fetch_meta m = {.msgno = num};
    fc->spooled = 0;
    mp_status s = imap_parse_fetch(c, &m, fetch_body, fc);
    if (s == MP_OK && !c->p.error && fc->spooled && fc->stop == MP_OK &&
        m.have_uid)
        deliver(fc, c, &m, fc->spooled_nil ? IMAP_T_NIL : 0, 1);
    imap_str_free(&m.keywords);
    return s;
}

/* Send the UID FETCH for wants [from, to). */
static mp_status send_batch(fetch_ctx *fc, size_t from, size_t to)
{
    uint32_t uids[FETCH_BATCH];
    size_t k = 0;
    for (size_t i = from; i < to; i++)
        uids[k++] = fc->w[i].uid;
    imap_str cmd = {0};
    imap_str_adds(&cmd, "UID FETCH ");
    imap_uid_set(&cmd, uids, k);
    imap_str_adds(&cmd, " (UID FLAGS INTERNALDATE BODY.PEEK[])");
    if (cmd.oom) {
        imap_str_free(&cmd);
        fc->f->st->host->set_error(fc->f->st->host, MP_ERR_INTERNAL,
                                   "out of memory");
        return MP_FATAL;
    }
    unsigned tag;
    mp_status s = imap_cmd_send(fc->f->st->conn, &tag, cmd.s);
    imap_str_free(&cmd);
    return s;
}

mp_status imap_source_fetch(void *folder, const char *const *keys, size_t n,
                            const mp_fetch_cb *cb, void *ctx)
{
    imap_folder *f = folder;
    imap_store *st = f->st;
    mp_host *host = st->host;
    fetch_ctx *fc = calloc(1, sizeof *fc);
    want *w = calloc(n ? n : 1, sizeof *w);
    if (!fc || !w) {
        free(fc);
        free(w);
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    *fc = (fetch_ctx){.f = f, .cb = cb, .cb_ctx = ctx, .w = w, .stop = MP_OK};
    imap_spool_init(&fc->spool, 4u << 20);

    /* Keys that are not UIDs can never be fetched: report each. */
    size_t good = 0;
    mp_status s = MP_OK;
    for (size_t i = 0; i < n && s == MP_OK; i++) {
        uint32_t uid;
        if (imap_parse_uid(keys[i], &uid) == 0) {
            w[good++] = (want){uid, i, 0};
            continue;
        }
        mp_msg_info info = {.struct_size = sizeof info, .key = keys[i],
                            .internal_date = MP_DATE_UNKNOWN};
        s = cb->begin(ctx, i, &info);
        if (s == MP_OK) {
            host->set_error(host, MP_ERR_NOTFOUND,
                            "folder \"%s\": \"%s\" is not an IMAP UID", f->name,
                            keys[i]);
            s = cb->end(ctx, MP_MSG_BAD);
        }
    }
    fc->n = good;
    qsort(w, good, sizeof *w, want_cmp);

    /* Pipeline: keep up to FETCH_IN_FLIGHT commands outstanding. Each
     * tagged response retires one; NO (some messages vanished) is not an
     * error for the others. */
    size_t next = 0, in_flight = 0;
    while (s == MP_OK && (next < good || in_flight > 0)) {
        while (next < good && in_flight < FETCH_IN_FLIGHT && fc->stop == MP_OK) {
            size_t to = next + FETCH_BATCH < good ? next + FETCH_BATCH : good;
            s = send_batch(fc, next, to);
            if (s != MP_OK)
                break;
            next = to;
            in_flight++;
        }
        if (s != MP_OK && st->conn->send_failed) {
            /* The server closed the connection: read what it sent before
             * (the answers in flight, a BYE saying it throttles) instead of
             * taking it for a dropped line; imap_wait_tagged then ends in
             * the right failure. */
            s = MP_OK;
            next = good;
            if (in_flight == 0)
                in_flight = 1; /* read until the end, for the BYE */
        }
        if (s != MP_OK || in_flight == 0)
            break;
        unsigned tag;
        int result;
        s = imap_wait_tagged(st->conn, on_fetch, fc, &tag, &result);
        if (s != MP_OK)
            break;
        if (tag == 0) {
            st->conn->p.error = IMAP_ERR_PROTO;
            snprintf(st->conn->p.err, sizeof st->conn->p.err,
                     "unexpected continuation request during FETCH");
            s = imap_conn_fail(st->conn, "fetching");
            break;
        }
        in_flight--;
        /* A server asking to slow down gets nothing more; what it sent
         * is delivered, the rest is fetched again after the wait. */
        if (fc->stop != MP_OK || st->conn->throttle[0])
            next = good; /* send nothing more; drain what is in flight */
    }
    if (s == MP_OK && fc->stop == MP_OK && st->conn->throttle[0])
        s = imap_conn_throttled(st->conn, "fetching");

    /* Messages the server did not return vanished (expunged meanwhile). */
    for (size_t i = 0; s == MP_OK && fc->stop == MP_OK && i < good; i++) {
        if (w[i].done)
            continue;
        mp_msg_info info = {.struct_size = sizeof info,
                            .key = keys[w[i].index],
                            .internal_date = MP_DATE_UNKNOWN};
        mp_status b = cb->begin(ctx, w[i].index, &info);
        if (b != MP_OK) {
            fc->stop = b;
            break;
        }
        host->set_error(host, MP_ERR_NOTFOUND,
                        "message UID %u in folder \"%s\" on %s is gone "
                        "(expunged?)",
                        w[i].uid, f->name, st->conn->where);
        b = cb->end(ctx, MP_MSG_BAD);
        if (b != MP_OK)
            fc->stop = b;
    }
    /* A message cut off by a protocol error is ended as failed. One cut
     * off by a lost connection is not ended: the core counts an ended
     * message as failed, while a reconnect will copy it. */
    if (s != MP_OK && s != MP_TEMPORARY && fc->open_msg && fc->stop == MP_OK)
        cb->end(ctx, s);
    if (s == MP_OK)
        s = fc->stop;
    imap_spool_free(&fc->spool);
    free(w);
    free(fc);
    return s;
}

mp_status imap_source_open_folder(void *store, const char *name, void **folder,
                                  mp_folder_info *info)
{
    imap_folder *f;
    mp_status s = imap_folder_open(store, name, 1, 0, &f, info);
    if (s == MP_OK)
        *folder = f;
    return s;
}

void imap_source_close_folder(void *folder)
{
    imap_folder_free(folder);
}
