/* libFuzzer target for the age reader (plugins/targz/age_reader.c): the
 * header (version line, stanzas, base64 bodies, MAC) and the chunked
 * payload, read from memory through the reader's callback in pieces of
 * varying size; and the key parsers (age_keys.c) that read identity and
 * recipient files.
 *
 * Two kinds of input:
 * - an age file, decrypted with a fixed identity (the seeds are files the
 *   real `age` encrypted to its recipient, fuzz/seeds/age/README). It must
 *   end in a clean error or in the payload; a passphrase file is refused at
 *   the passphrase prompt (scrypt would cost seconds an input).
 * - starting with byte 0xA6: the rest says how to damage an archive. The
 *   plaintext (the input's tail, repeated to up to 3 chunks more) is
 *   encrypted with the writer, then left alone, truncated, a bit flipped or
 *   a byte inserted, and read back. Properties (abort() when one breaks):
 *   undamaged, every byte comes back and the read ends cleanly; damaged,
 *   the reader fails, yet never hands out a byte that is not the
 *   plaintext's, and every chunk before the damage comes back (what a
 *   restore of a truncated archive relies on).
 *
 * Every line that parses as an identity or recipient must format back to a
 * string that parses to the same key. */
#include "age.h"
#include "age_crypto.h"
#include "age_internal.h"

#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAMAGE_MAGIC 0xA6

/* The identity the seeds were encrypted to: 32 bytes of 0x4d (its text
 * forms are in fuzz/seeds/age/README). */
static age_keyring identities, recipients;

static void init_keys(void)
{
    if (identities.n)
        return;
    uint8_t priv[32], pub[32];
    memset(priv, 0x4d, sizeof priv);
    if (age_x25519_public(priv, pub) != 0 ||
        age_keyring_add(&identities, priv) != 0 ||
        age_keyring_add(&recipients, pub) != 0)
        abort();
}

typedef struct mem_in {
    const uint8_t *p;
    size_t len, pos, step;
} mem_in;

static long mem_read(void *ctx, void *buf, size_t len)
{
    mem_in *m = ctx;
    size_t n = m->len - m->pos;
    if (n > len)
        n = len;
    if (m->step && n > m->step)
        n = m->step;
    memcpy(buf, m->p + m->pos, n);
    m->pos += n;
    return (long)n;
}

static int no_passphrase(void *ctx, char **out, age_error *err)
{
    (void)ctx;
    *out = NULL;
    snprintf(err->text, sizeof err->text, "no passphrase while fuzzing");
    err->kind = AGE_ERR_AUTH;
    return -1;
}

static void release(void *ctx, char *pass)
{
    (void)ctx;
    free(pass);
}

static const age_passphrase_source passphrase = {no_passphrase, release, NULL};

/* Read IN to the end with read sizes cycling through a few values; the
 * plaintext goes to OUT. Returns what the last read returned: 0 (clean
 * end), -1 (error), or 1 when the reader could not even be made. */
static int read_all(const uint8_t *in, size_t len, size_t step, fuzz_buf *out)
{
    mem_in src = {in, len, 0, step};
    age_error err = {0};
    age_reader *r =
        age_reader_new(&identities, &passphrase, mem_read, &src, &err);
    if (!r) {
        FUZZ_CHECK(err.kind != AGE_OK && err.text[0]);
        return 1;
    }
    static const size_t sizes[] = {65536, 1, 4096, 7, 70000};
    uint8_t *buf = malloc(70000);
    if (!buf)
        abort();
    long got;
    for (size_t i = 0;; i++) {
        got = age_reader_read(r, buf, sizes[(i + step) % 5], &err);
        if (got <= 0)
            break;
        FUZZ_CHECK((size_t)got <= sizes[(i + step) % 5]);
        fuzz_buf_put(out, buf, (size_t)got);
    }
    if (got < 0)
        FUZZ_CHECK(err.kind != AGE_OK && err.text[0]);
    free(buf);
    age_reader_free(r);
    return got < 0 ? -1 : 0;
}

static void check_keys(const char *data, size_t size)
{
    for (size_t p = 0; p < size;) {
        const char *nl = memchr(data + p, '\n', size - p);
        size_t e = nl ? (size_t)(nl - data) : size;
        if (e - p < 200) {
            char line[200], text[AGE_IDENTITY_MAX + AGE_RECIPIENT_MAX];
            memcpy(line, data + p, e - p);
            line[e - p] = '\0';
            uint8_t k[32], k2[32];
            if (age_recipient_parse(line, k) == 0) {
                age_recipient_format(k, text);
                FUZZ_CHECK(age_recipient_parse(text, k2) == 0 &&
                           memcmp(k, k2, 32) == 0);
            }
            if (age_identity_parse(line, k) == 0) {
                age_identity_format(k, text);
                FUZZ_CHECK(age_identity_parse(text, k2) == 0 &&
                           memcmp(k, k2, 32) == 0);
            }
        }
        p = e + 1;
    }
}

/* Offset of the payload's first chunk in an age file the writer made. */
static size_t payload_start(const uint8_t *ct, size_t len)
{
    for (size_t i = 0; i + 5 <= len; i++) {
        if (memcmp(ct + i, "\n--- ", 5) != 0)
            continue;
        const uint8_t *nl = memchr(ct + i + 1, '\n', len - i - 1);
        FUZZ_CHECK(nl != NULL);
        return (size_t)(nl - ct) + 1 + AGE_PAYLOAD_NONCE_LEN;
    }
    abort(); /* the writer wrote no header MAC */
}

static void damage_round_trip(const uint8_t *data, size_t size)
{
    if (size < 6)
        return;
    unsigned kind = data[1] % 4, bit = data[1] >> 2 & 7;
    unsigned where = (unsigned)data[2] << 8 | data[3];
    size_t step = data[5];
    const uint8_t *tail = data + 6;
    size_t tail_len = size - 6;
    size_t plain_len = (size_t)(data[4] & 3) * AGE_CHUNK + tail_len;
    uint8_t *plain = malloc(plain_len ? plain_len : 1);
    if (!plain)
        abort();
    for (size_t i = 0; i < plain_len; i++)
        plain[i] = tail_len ? tail[i % tail_len] : (uint8_t)i;

    fuzz_buf ct = {0};
    age_error err = {0};
    age_writer *w =
        age_writer_new(&recipients, NULL, 0, fuzz_buf_put, &ct, &err);
    FUZZ_CHECK(w != NULL);
    for (size_t i = 0; i < plain_len;) {
        size_t n = plain_len - i < 1000 + step * 300 ? plain_len - i
                                                     : 1000 + step * 300;
        FUZZ_CHECK(age_writer_write(w, plain + i, n, &err) == 0);
        i += n;
    }
    FUZZ_CHECK(age_writer_finish(w, &err) == 0);
    age_writer_free(w);

    size_t ps = payload_start((const uint8_t *)ct.p, ct.len);
    size_t len = ct.len;
    /* Where the damage goes: inside the file, or (an insertion) at its
     * end too. */
    size_t pos =
        (size_t)((unsigned long long)where * (ct.len + (kind == 3)) / 65536);
    size_t chunks_before = 0; /* whole chunks the damage leaves intact */
    if (pos >= ps)
        chunks_before = (pos - ps) / AGE_ENC_CHUNK;
    switch (kind) {
    case 1: /* truncated: the chunk before the cut may now look last */
        len = pos;
        chunks_before = chunks_before ? chunks_before - 1 : 0;
        break;
    case 2:
        ct.p[pos] ^= (char)(1u << bit);
        break;
    case 3:
        fuzz_buf_put(&ct, "", 1);
        memmove(ct.p + pos + 1, ct.p + pos, ct.len - 1 - pos);
        ct.p[pos] = (char)(data[1] ^ 0x5a);
        len = ct.len;
        break;
    }
    fuzz_buf out = {0};
    int rc = read_all((const uint8_t *)ct.p, len, step, &out);
    FUZZ_CHECK(out.len <= plain_len &&
               memcmp(out.p ? out.p : (char *)plain, plain, out.len) == 0);
    if (kind == 0) {
        FUZZ_CHECK(rc == 0 && out.len == plain_len);
    } else {
        FUZZ_CHECK(rc != 0);
        size_t kept = chunks_before * AGE_CHUNK;
        FUZZ_CHECK(out.len >= (kept < plain_len ? kept : plain_len));
    }
    free(out.p);
    free(ct.p);
    free(plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_keys();
    check_keys((const char *)data, size);
    if (size > 0 && data[0] == DAMAGE_MAGIC) {
        damage_round_trip(data, size);
        return 0;
    }
    fuzz_buf out = {0};
    read_all(data, size, size ? data[size - 1] % 9 : 0, &out);
    FUZZ_CHECK(out.len <= size);
    free(out.p);
    return 0;
}
