#include "hashes.h"

#include "digest.h"
#include "storefields.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static void hex_of(const unsigned char *md, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

void mp_loose_init(mp_loose_digest *d)
{
    d->sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(d->sha, EVP_sha256(), NULL);
    mp_eol_init(&d->lf, MP_EOLCONV_TO_LF);
    d->last = -1;
}

typedef enum { KEEP_BREAKS_FOLD, DROP_BREAKS, DROP_STORE_FIELDS } filter_kind;

/* Feed normalised (LF) text to SHA: with the bytes servers replace folded
 * into 'X' (the loose digest), without its line breaks, or (SHA then being
 * an mp_field_filter that hashes) without the store fields. */
static void feed_filtered(void *sha, const char *buf, size_t len,
                          filter_kind kind)
{
    if (kind == DROP_STORE_FIELDS) {
        mp_field_filter_feed(sha, buf, len);
        return;
    }
    unsigned char out[4096];
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (kind == DROP_BREAKS && c == '\n')
            continue;
        if (kind == KEEP_BREAKS_FOLD && (c == 0 || c >= 0x80 || c == 'X'))
            c = 'X';
        out[w++] = c;
        if (w == sizeof out) {
            EVP_DigestUpdate(sha, out, w);
            w = 0;
        }
    }
    if (w)
        EVP_DigestUpdate(sha, out, w);
}

/* Normalise BUF through C, then feed it to SHA filtered by KIND; *LAST
 * keeps the last normalised byte. With BUF NULL, the end of the message:
 * the bytes C still holds, and the final line break when the message has
 * none, as the strict digest does (digest.h). */
static void feed_normalised(mp_eol_conv *c, void *sha, int *last,
                            const void *buf, size_t len, filter_kind kind)
{
    char out[MP_EOL_OUT_MAX(4096)];
    size_t w;
    if (!buf) {
        w = mp_eol_finish(c, out);
        if (w)
            *last = '\n';
        if (*last >= 0 && *last != '\n')
            out[w++] = '\n';
        feed_filtered(sha, out, w, kind);
        return;
    }
    const char *p = buf;
    while (len > 0) {
        size_t n = len > 4096 ? 4096 : len;
        w = mp_eol_convert(c, p, n, out);
        if (w)
            *last = (unsigned char)out[w - 1];
        feed_filtered(sha, out, w, kind);
        p += n;
        len -= n;
    }
}

void mp_loose_update(mp_loose_digest *d, const void *buf, size_t len)
{
    feed_normalised(&d->lf, d->sha, &d->last, buf, len, KEEP_BREAKS_FOLD);
}

static void final_hex(void *sha, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(sha, md, &n);
    EVP_MD_CTX_free(sha);
    hex_of(md, hex);
}

void mp_loose_final(mp_loose_digest *d, char hex[65])
{
    feed_normalised(&d->lf, d->sha, &d->last, NULL, 0, KEEP_BREAKS_FOLD);
    final_hex(d->sha, hex);
    d->sha = NULL;
}

const char *mp_content_difference(const mp_content_hashes *a,
                                  const mp_content_hashes *b)
{
    if (strcmp(a->strict, b->strict) == 0)
        return NULL;
    if (a->nostore[0] && strcmp(a->nostore, b->nostore) == 0)
        return NULL; /* only the fields that hold flags: compared as flags */
    if (a->nobreak[0] && strcmp(a->nobreak, b->nobreak) == 0)
        return "line endings only";
    if (a->loose[0] && strcmp(a->loose, b->loose) == 0)
        return "bytes a server replaces (NUL, 8-bit, X)";
    return "content";
}

/* ------------------------------------------------------------------------ */

typedef struct hash_run {
    mp_content_hashes *out;
    const size_t *positions;
    size_t current;
    mp_digest strict;
    void *nobreak; /* EVP_MD_CTX */
    mp_eol_conv nobreak_lf;
    int nobreak_last;
    mp_loose_digest loose;
    void *nostore; /* EVP_MD_CTX, fed by nostore_filter */
    mp_field_filter nostore_filter;
    mp_eol_conv nostore_lf;
    int nostore_last;
    int open;
} hash_run;

static void hash_kept(void *sha, const char *p, size_t n)
{
    EVP_DigestUpdate(sha, p, n);
}

static mp_status hash_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    (void)info;
    hash_run *h = ctx;
    h->current = h->positions[index];
    mp_digest_init(&h->strict);
    h->nobreak = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h->nobreak, EVP_sha256(), NULL);
    mp_eol_init(&h->nobreak_lf, MP_EOLCONV_TO_LF);
    h->nobreak_last = -1;
    mp_loose_init(&h->loose);
    h->nostore = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h->nostore, EVP_sha256(), NULL);
    mp_field_filter_init(&h->nostore_filter, hash_kept, h->nostore);
    mp_eol_init(&h->nostore_lf, MP_EOLCONV_TO_LF);
    h->nostore_last = -1;
    h->open = 1;
    return MP_OK;
}

static mp_status hash_data(void *ctx, const void *buf, size_t len)
{
    hash_run *h = ctx;
    mp_digest_update(&h->strict, buf, len);
    feed_normalised(&h->nobreak_lf, h->nobreak, &h->nobreak_last, buf, len,
                    DROP_BREAKS);
    mp_loose_update(&h->loose, buf, len);
    feed_normalised(&h->nostore_lf, &h->nostore_filter, &h->nostore_last, buf,
                    len, DROP_STORE_FIELDS);
    return MP_OK;
}

static void hash_close(hash_run *h, mp_content_hashes *into)
{
    mp_content_hashes got;
    mp_digest_final(&h->strict, got.strict);
    mp_digest_free(&h->strict);
    feed_normalised(&h->nobreak_lf, h->nobreak, &h->nobreak_last, NULL, 0,
                    DROP_BREAKS);
    final_hex(h->nobreak, got.nobreak);
    mp_loose_final(&h->loose, got.loose);
    feed_normalised(&h->nostore_lf, &h->nostore_filter, &h->nostore_last, NULL,
                    0, DROP_STORE_FIELDS);
    mp_field_filter_finish(&h->nostore_filter);
    final_hex(h->nostore, got.nostore);
    h->open = 0;
    if (into)
        *into = got;
}

static mp_status hash_end(void *ctx, mp_status status)
{
    hash_run *h = ctx;
    hash_close(h, status == MP_OK ? &h->out[h->current] : NULL);
    if (status != MP_OK)
        h->out[h->current].strict[0] = '\0';
    return status == MP_MSG_BAD ? MP_OK : status;
}

void mp_content_hashes_buffer(const void *buf, size_t len,
                              mp_content_hashes *out)
{
    size_t zero = 0;
    hash_run h = {.out = out, .positions = &zero};
    hash_begin(&h, 0, NULL);
    hash_data(&h, buf, len);
    hash_end(&h, MP_OK);
}

mp_status mp_hash_messages(mp_store *store, void *folder, mp_msglist *list,
                           const char *wanted, mp_content_hashes *out)
{
    const size_t batch = 256;
    const char **keys = malloc(batch * sizeof *keys);
    size_t *positions = malloc(batch * sizeof *positions);
    hash_run h = {.out = out, .positions = positions};
    const mp_fetch_cb cb = {sizeof cb, hash_begin, hash_data, hash_end};
    mp_status st = MP_OK;
    for (size_t i = 0; i < list->n && st == MP_OK;) {
        size_t n = 0;
        for (; i < list->n && n < batch; i++)
            if (!wanted || wanted[i]) {
                out[i].strict[0] = '\0';
                keys[n] = list->v[i].key;
                positions[n++] = i;
            }
        if (n) {
            mp_host_clear_error(&store->host);
            st = store->plugin->source->fetch(folder, keys, n, &cb, &h);
            if (h.open) /* the fetch stopped inside a message */
                hash_close(&h, NULL);
        }
    }
    free(keys);
    free(positions);
    return st;
}

void mp_plan_hashes_take(mp_plan_hashes *out, const mp_content_hashes *h,
                         const char *want, size_t n)
{
    out->strict = calloc(n + 1, sizeof *out->strict);
    out->loose = calloc(n + 1, sizeof *out->loose);
    out->nostore = calloc(n + 1, sizeof *out->nostore);
    for (size_t i = 0; i < n; i++)
        if (want[i] && h[i].strict[0]) {
            memcpy(out->strict[i], h[i].strict, 65);
            memcpy(out->loose[i], h[i].loose, 65);
            memcpy(out->nostore[i], h[i].nostore, 65);
        }
}

void mp_plan_hashes_free(mp_plan_hashes *h)
{
    free(h->strict);
    free(h->loose);
    free(h->nostore);
    h->strict = NULL;
    h->loose = NULL;
    h->nostore = NULL;
}
