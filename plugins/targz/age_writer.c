#include "age_crypto.h"
#include "age_encoding.h"
#include "age_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct age_writer {
    age_write_fn out;
    void *out_ctx;
    uint8_t payload_key[32];
    uint64_t counter;
    size_t fill;            /* plaintext bytes waiting in chunk */
    int finished, failed;
    uint8_t chunk[AGE_CHUNK];
    uint8_t sealed[AGE_ENC_CHUNK];
};

/* A growable header text. */
typedef struct text {
    char *buf;
    size_t len, cap;
    int oom;
} text;

static void text_add(text *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->cap + n) * 2 + 256;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->oom = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void text_str(text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

/* A stanza body: base64 wrapped at 64 columns; the last line is always
 * shorter than 64, so a body whose encoding fills whole lines ends with an
 * empty line. */
static void add_body(text *t, const uint8_t *body, size_t len)
{
    char enc[128];
    size_t n = age_b64_len(len);
    if (n + 1 > sizeof enc) {
        t->oom = 1;
        return;
    }
    age_b64_encode(body, len, enc);
    size_t off = 0;
    while (n - off >= 64) {
        text_add(t, enc + off, 64);
        text_str(t, "\n");
        off += 64;
    }
    text_add(t, enc + off, n - off);
    text_str(t, "\n");
}

static int add_x25519_stanza(text *t, const uint8_t recipient[32],
                             const uint8_t file_key[16])
{
    uint8_t eph[32], share[32], shared[32], salt[64], wrap[32], body[32];
    char share_b64[48];
    int rc = -1;
    if (age_keygen(eph, share) != 0 ||
        age_x25519_shared(eph, recipient, shared) != 0)
        goto out;
    memcpy(salt, share, 32);
    memcpy(salt + 32, recipient, 32);
    static const uint8_t zero_nonce[12];
    if (age_hkdf_sha256(shared, 32, salt, 64, AGE_X25519_INFO, wrap, 32) != 0 ||
        age_aead_seal(wrap, zero_nonce, file_key, AGE_FILE_KEY_LEN, body) != 0)
        goto out;
    age_b64_encode(share, 32, share_b64);
    text_str(t, "-> X25519 ");
    text_str(t, share_b64);
    text_str(t, "\n");
    add_body(t, body, sizeof body);
    rc = 0;
out:
    age_wipe(eph, sizeof eph);
    age_wipe(shared, sizeof shared);
    age_wipe(wrap, sizeof wrap);
    return rc;
}

static int add_scrypt_stanza(text *t, const char *pass, int log_n,
                             const uint8_t file_key[16])
{
    uint8_t salt[16], full_salt[sizeof AGE_SCRYPT_SALT_LABEL - 1 + 16];
    uint8_t key[32], body[32];
    char salt_b64[32], line[96];
    int rc = -1;
    if (age_random(salt, sizeof salt) != 0)
        return -1;
    memcpy(full_salt, AGE_SCRYPT_SALT_LABEL, sizeof AGE_SCRYPT_SALT_LABEL - 1);
    memcpy(full_salt + sizeof AGE_SCRYPT_SALT_LABEL - 1, salt, 16);
    static const uint8_t zero_nonce[12];
    if (age_scrypt(pass, strlen(pass), full_salt, sizeof full_salt, log_n,
                   key) != 0 ||
        age_aead_seal(key, zero_nonce, file_key, AGE_FILE_KEY_LEN, body) != 0)
        goto out;
    age_b64_encode(salt, sizeof salt, salt_b64);
    snprintf(line, sizeof line, "-> scrypt %s %d\n", salt_b64, log_n);
    text_str(t, line);
    add_body(t, body, sizeof body);
    rc = 0;
out:
    age_wipe(key, sizeof key);
    return rc;
}

age_writer *age_writer_new(const age_keyring *recipients,
                           const char *passphrase, int log_n,
                           age_write_fn out, void *out_ctx, age_error *err)
{
    int have_recipients = recipients && recipients->n > 0;
    if (have_recipients == (passphrase != NULL)) {
        age_set_error(err, AGE_ERR_USAGE,
                      have_recipients ? "age: a passphrase cannot be combined "
                                        "with recipients"
                                      : "age: no recipient and no passphrase");
        return NULL;
    }
    if (passphrase && (log_n < 1 || log_n > AGE_SCRYPT_LOG_N_MAX)) {
        age_set_error(err, AGE_ERR_USAGE,
                      "age: scrypt work factor %d outside 1..%d", log_n,
                      AGE_SCRYPT_LOG_N_MAX);
        return NULL;
    }
    age_writer *w = calloc(1, sizeof *w);
    if (!w) {
        age_set_error(err, AGE_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    w->out = out;
    w->out_ctx = out_ctx;

    uint8_t file_key[AGE_FILE_KEY_LEN], mac_key[32], mac[32], nonce[16];
    char mac_b64[48];
    text t = {0};
    int ok = age_random(file_key, sizeof file_key) == 0;
    text_str(&t, AGE_VERSION_LINE "\n");
    if (ok && have_recipients) {
        for (size_t i = 0; ok && i < recipients->n; i++)
            ok = add_x25519_stanza(&t, recipients->keys[i], file_key) == 0;
    } else if (ok) {
        ok = add_scrypt_stanza(&t, passphrase, log_n, file_key) == 0;
    }
    text_str(&t, "---");
    ok = ok && !t.oom &&
         age_hkdf_sha256(file_key, sizeof file_key, NULL, 0, "header",
                         mac_key, 32) == 0 &&
         age_hmac_sha256(mac_key, 32, t.buf, t.len, mac) == 0;
    if (ok) {
        age_b64_encode(mac, 32, mac_b64);
        text_str(&t, " ");
        text_str(&t, mac_b64);
        text_str(&t, "\n");
    }
    ok = ok && !t.oom && age_random(nonce, sizeof nonce) == 0 &&
         age_hkdf_sha256(file_key, sizeof file_key, nonce, sizeof nonce,
                         "payload", w->payload_key, 32) == 0;
    age_wipe(file_key, sizeof file_key);
    age_wipe(mac_key, sizeof mac_key);
    if (!ok) {
        free(t.buf);
        age_set_error(err, AGE_ERR_INTERNAL, "age: cannot build the header");
        age_writer_free(w);
        return NULL;
    }
    int wrote = out(out_ctx, t.buf, t.len) == 0 &&
                out(out_ctx, nonce, sizeof nonce) == 0;
    free(t.buf);
    if (!wrote) {
        age_set_error(err, AGE_ERR_IO, "age: cannot write the header");
        age_writer_free(w);
        return NULL;
    }
    return w;
}

static int seal_chunk(age_writer *w, int last, age_error *err)
{
    uint8_t nonce[12];
    age_stream_nonce(w->counter, last, nonce);
    if (age_aead_seal(w->payload_key, nonce, w->chunk, w->fill, w->sealed) != 0) {
        age_set_error(err, AGE_ERR_INTERNAL, "age: encryption failed");
        return -1;
    }
    if (w->out(w->out_ctx, w->sealed, w->fill + AGE_TAG_LEN) != 0) {
        age_set_error(err, AGE_ERR_IO, "age: write failed");
        return -1;
    }
    w->counter++;
    w->fill = 0;
    return 0;
}

int age_writer_write(age_writer *w, const void *buf, size_t len,
                     age_error *err)
{
    const uint8_t *p = buf;
    if (w->finished || w->failed) {
        age_set_error(err, AGE_ERR_INTERNAL, "age: write after finish");
        return -1;
    }
    while (len > 0) {
        /* A full chunk is sealed only once more data follows, because the
         * last chunk (the one finish seals) must carry the last flag and
         * may be empty only when the whole payload is. */
        if (w->fill == AGE_CHUNK && seal_chunk(w, 0, err) != 0) {
            w->failed = 1;
            return -1;
        }
        size_t n = AGE_CHUNK - w->fill;
        if (n > len)
            n = len;
        memcpy(w->chunk + w->fill, p, n);
        w->fill += n;
        p += n;
        len -= n;
    }
    return 0;
}

int age_writer_finish(age_writer *w, age_error *err)
{
    if (w->finished || w->failed) {
        age_set_error(err, AGE_ERR_INTERNAL, "age: finish after failure");
        return -1;
    }
    w->finished = 1;
    return seal_chunk(w, 1, err);
}

void age_writer_free(age_writer *w)
{
    if (!w)
        return;
    age_wipe(w, sizeof *w);
    free(w);
}
