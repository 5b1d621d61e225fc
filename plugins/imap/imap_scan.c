/* Scanning a folder's metadata: one UID FETCH 1:* for everything, streamed
 * into the callback.
 *
 * With identities asked for, the Message-ID field alone is fetched for every
 * message (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)], about 70 bytes each), and
 * the whole header only for the few messages without a usable Message-ID,
 * whose identity is a hash of the header block. Fetching every whole header
 * would move some 2 KiB a message: 40 MB for a 20,000-message folder. The
 * two passes mean the metadata is held until the second ends (about 150
 * bytes a message), since the callback must see messages in their order. */
#include "imap_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A header block bigger than this is not mail; refuse rather than eat
 * memory. */
#define MAX_HEADER_BLOCK (64u << 20)
/* UIDs per command in the second pass, to keep command lines short. */
#define FULL_HEADER_BATCH 500

typedef struct scan_entry {
    uint32_t uid;
    unsigned flags;
    uint64_t size;
    int64_t date;
    char *keywords;
    char *identity;
    int need_full; /* no usable Message-ID: hash the whole header */
} scan_entry;

typedef struct scan_ctx {
    imap_store *st;
    int want_identity;
    int full_pass; /* the second pass: whole headers for some UIDs */
    mp_msg_cb cb;
    void *cb_ctx;
    mp_status stop; /* the callback's refusal: keep draining, then return */
    imap_fetch_meta m;
    char identity[128];
    int have_identity;
    /* Identity mode: what the first pass found, in folder order. */
    scan_entry *v;
    size_t n, cap;
    int oom;
} scan_ctx;

static mp_status header_body(void *vctx, imap_conn *c, imap_fetch_meta *m,
                             int t)
{
    scan_ctx *s = vctx;
    imap_parser *p = &c->p;
    (void)m;
    if (t == IMAP_T_LITERAL && imap_literal_slurp(p, MAX_HEADER_BLOCK) < 0)
        return MP_OK; /* the parser error ends the wait */
    if (t == IMAP_T_NIL)
        p->tok_len = 0;
    /* The block ends with the blank line; the identity wants it without. */
    size_t len = p->tok_len;
    if (len >= 2 && p->tok[len - 1] == '\n' && p->tok[len - 2] == '\r')
        len -= 2;
    else if (len >= 1 && p->tok[len - 1] == '\n')
        len -= 1;
    s->st->host->identity_of_header(s->st->host, p->tok, len, s->identity,
                                    sizeof s->identity);
    s->have_identity = 1;
    return MP_OK;
}

static mp_status emit(scan_ctx *s, uint32_t uid, uint64_t size, unsigned flags,
                      const char *keywords, int64_t date, const char *identity)
{
    char key[16];
    snprintf(key, sizeof key, "%u", uid);
    mp_msg_info info = {
        .struct_size = sizeof info,
        .key = key,
        .size = size,
        .vsize = size,
        .flags = flags,
        .keywords = keywords ? keywords : "",
        .internal_date = date,
        .identity = identity,
    };
    return s->cb(s->cb_ctx, &info);
}

static int entry_cmp(const void *a, const void *b)
{
    uint32_t x = ((const scan_entry *)a)->uid, y = ((const scan_entry *)b)->uid;
    return x < y ? -1 : x > y;
}

/* The first pass's entry for UID (entries are in UID order: IMAP numbers
 * messages by ascending UID). */
static scan_entry *find_entry(scan_ctx *s, uint32_t uid)
{
    scan_entry key = {.uid = uid};
    return bsearch(&key, s->v, s->n, sizeof *s->v, entry_cmp);
}

static void keep(scan_ctx *s, const imap_fetch_meta *m)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        scan_entry *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->oom = 1;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    scan_entry *e = &s->v[s->n];
    *e = (scan_entry){
        .uid = m->uid,
        .flags = m->flags,
        .size = m->size,
        .date = m->have_date ? m->date : MP_DATE_UNKNOWN,
        .keywords = strdup(m->keywords.s ? m->keywords.s : ""),
        .identity = strdup(s->have_identity ? s->identity : ""),
        /* "M:"/"M#" is a Message-ID; anything else was hashed from the one
         * field we fetched and must be redone from the whole header. */
        .need_full = !s->have_identity || s->identity[0] != 'M',
    };
    if (!e->keywords || !e->identity) {
        free(e->keywords);
        free(e->identity);
        s->oom = 1;
        return;
    }
    if (s->n > 0 && s->v[s->n - 1].uid >= e->uid) {
        free(e->keywords); /* out of order: a broken server */
        free(e->identity);
        return;
    }
    s->n++;
}

static mp_status on_fetch(void *vctx, imap_conn *c, int64_t num)
{
    scan_ctx *s = vctx;
    if (!imap_tok_is(&c->p, "FETCH"))
        return MP_OK;
    imap_fetch_meta *m = &s->m;
    imap_str kw = m->keywords;
    *m = (imap_fetch_meta){.msgno = num, .keywords = kw};
    m->keywords.len = 0;
    if (kw.s)
        kw.s[0] = '\0';
    s->have_identity = 0;
    mp_status st =
        imap_parse_fetch(c, m, s->want_identity ? header_body : NULL, s);
    if (st != MP_OK || c->p.error || !m->have_uid)
        return st;
    if (s->full_pass) {
        scan_entry *e = find_entry(s, m->uid);
        if (e && e->need_full && s->have_identity) {
            char *id = strdup(s->identity);
            if (id) {
                free(e->identity);
                e->identity = id;
                e->need_full = 0;
            }
        }
        return MP_OK;
    }
    /* Unsolicited FETCHes (flag changes) lack the size. */
    if (!m->have_size || s->stop != MP_OK)
        return MP_OK;
    if (s->want_identity)
        keep(s, m);
    else
        s->stop = emit(s, m->uid, m->size, m->flags, m->keywords.s,
                       m->have_date ? m->date : MP_DATE_UNKNOWN, NULL);
    return MP_OK;
}

static mp_status refused(imap_folder *f)
{
    imap_set_refused(f->st, MP_ERR_REFUSED,
                     "cannot scan folder \"%s\" on %s: %s", f->name,
                     f->st->conn->where, f->st->conn->last_text);
    return MP_FOLDER_BAD;
}

/* Second pass: whole headers for the entries that need them. */
static mp_status fetch_full_headers(imap_folder *f, scan_ctx *s)
{
    s->full_pass = 1;
    uint32_t uids[FULL_HEADER_BATCH];
    size_t i = 0;
    while (i < s->n) {
        size_t k = 0;
        for (; i < s->n && k < FULL_HEADER_BATCH; i++)
            if (s->v[i].need_full)
                uids[k++] = s->v[i].uid;
        if (k == 0)
            break;
        imap_str cmd = {0};
        imap_str_adds(&cmd, "UID FETCH ");
        imap_uid_set(&cmd, uids, k);
        imap_str_adds(&cmd, " (UID BODY.PEEK[HEADER])");
        if (cmd.oom) {
            imap_str_free(&cmd);
            f->st->host->set_error(f->st->host, MP_ERR_INTERNAL,
                                   "out of memory");
            return MP_FATAL;
        }
        int result;
        mp_status r = imap_cmd(f->st->conn, cmd.s, on_fetch, s, &result);
        imap_str_free(&cmd);
        if (r != MP_OK)
            return r;
        if (result != IMAP_OK && result != IMAP_NO) /* NO: some vanished */
            return refused(f);
    }
    return MP_OK;
}

mp_status imap_folder_scan(void *folder, unsigned flags, mp_msg_cb cb,
                           void *ctx)
{
    imap_folder *f = folder;
    imap_store *st = f->st;
    if (f->scanned) {
        int noop;
        mp_status r = imap_cmd(st->conn, "NOOP", NULL, NULL, &noop);
        if (r != MP_OK)
            return r;
    }
    f->scanned = 1;
    if (st->conn->exists == 0)
        return MP_OK;
    scan_ctx *s = calloc(1, sizeof *s);
    if (!s) {
        st->host->set_error(st->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    s->st = st;
    s->want_identity = (flags & MP_SCAN_IDENTITY) != 0;
    s->cb = cb;
    s->cb_ctx = ctx;
    s->stop = MP_OK;
    const char *cmd =
        s->want_identity ? "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE "
                           "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
                         : "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)";
    int result;
    mp_status r = imap_cmd(st->conn, cmd, on_fetch, s, &result);
    if (r == MP_OK && result != IMAP_OK)
        r = refused(f);
    if (r == MP_OK && s->oom) {
        st->host->set_error(st->host, MP_ERR_INTERNAL, "out of memory");
        r = MP_FATAL;
    }
    if (r == MP_OK && s->want_identity)
        r = fetch_full_headers(f, s);
    for (size_t i = 0; i < s->n; i++) {
        scan_entry *e = &s->v[i];
        if (r == MP_OK && s->stop == MP_OK)
            s->stop = emit(s, e->uid, e->size, e->flags, e->keywords, e->date,
                           e->identity);
        free(e->keywords);
        free(e->identity);
    }
    if (r == MP_OK)
        r = s->stop;
    free(s->v);
    imap_str_free(&s->m.keywords);
    free(s);
    return r;
}
