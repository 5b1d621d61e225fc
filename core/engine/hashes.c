#include "hashes.h"

#include "digest.h"

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
}

/* Feed BUF to SHA with CRs dropped and, when FOLD, the bytes servers
 * replace folded into 'X'. */
static void feed_filtered(void *sha, const unsigned char *buf, size_t len,
                          int fold)
{
    unsigned char out[4096];
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = buf[i];
        if (c == '\r')
            continue;
        if (fold && (c == 0 || c >= 0x80 || c == 'X'))
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

void mp_loose_update(mp_loose_digest *d, const void *buf, size_t len)
{
    feed_filtered(d->sha, buf, len, 1);
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
    final_hex(d->sha, hex);
    d->sha = NULL;
}

const char *mp_content_difference(const mp_content_hashes *a,
                                  const mp_content_hashes *b)
{
    if (strcmp(a->strict, b->strict) == 0)
        return NULL;
    if (a->nocr[0] && strcmp(a->nocr, b->nocr) == 0)
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
    void *nocr; /* EVP_MD_CTX */
    mp_loose_digest loose;
    int open;
} hash_run;

static mp_status hash_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    (void)info;
    hash_run *h = ctx;
    h->current = h->positions[index];
    mp_digest_init(&h->strict);
    h->nocr = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h->nocr, EVP_sha256(), NULL);
    mp_loose_init(&h->loose);
    h->open = 1;
    return MP_OK;
}

static mp_status hash_data(void *ctx, const void *buf, size_t len)
{
    hash_run *h = ctx;
    mp_digest_update(&h->strict, buf, len);
    feed_filtered(h->nocr, buf, len, 0);
    mp_loose_update(&h->loose, buf, len);
    return MP_OK;
}

static void hash_close(hash_run *h, mp_content_hashes *into)
{
    mp_content_hashes got;
    mp_digest_final(&h->strict, got.strict);
    mp_digest_free(&h->strict);
    final_hex(h->nocr, got.nocr);
    mp_loose_final(&h->loose, got.loose);
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
