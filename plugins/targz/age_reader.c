#include "age_crypto.h"
#include "age_encoding.h"
#include "age_internal.h"

#include <openssl/crypto.h>

#include <stdlib.h>
#include <string.h>

/* A header larger than this is refused rather than buffered without end. */
#define AGE_HEADER_MAX (1u << 20)
#define AGE_BODY_MAX 4096
#define AGE_ARGS_MAX 16
#define AGE_LINE_MAX 8192

struct age_reader {
    age_read_fn in;
    void *in_ctx;
    int eof;
    /* Input buffer: one sealed chunk plus one byte of lookahead, which
     * tells whether the chunk is the last one. */
    uint8_t inbuf[AGE_ENC_CHUNK + 1];
    size_t in_start, in_end;
    uint8_t payload_key[32];
    uint64_t counter;
    int done; /* the last chunk has been opened */
    uint8_t plain[AGE_CHUNK];
    size_t plain_pos, plain_len;
    char line[AGE_LINE_MAX]; /* the header line last read, NUL-terminated */
};

typedef struct stanza {
    char *args[AGE_ARGS_MAX];
    int n_args;
    uint8_t body[AGE_BODY_MAX];
    size_t body_len;
} stanza;

/* Make at least WANT bytes available in inbuf unless the input ends first.
 * Returns 0, or -1 on a read error. */
static int fill(age_reader *r, size_t want)
{
    if (r->in_end - r->in_start >= want || r->eof)
        return 0;
    if (r->in_start > 0) {
        memmove(r->inbuf, r->inbuf + r->in_start, r->in_end - r->in_start);
        r->in_end -= r->in_start;
        r->in_start = 0;
    }
    while (r->in_end < want && !r->eof) {
        long got = r->in(r->in_ctx, r->inbuf + r->in_end,
                         sizeof r->inbuf - r->in_end);
        if (got < 0)
            return -1;
        if (got == 0)
            r->eof = 1;
        r->in_end += (size_t)got;
    }
    return 0;
}

/* Read the next header line into r->line (without its '\n') and append it,
 * with the '\n', to HDR (which the MAC covers). Returns the line's offset in
 * HDR, or -1 (ERR set). */
static long read_line(age_reader *r, char **hdr, size_t *hdr_len,
                      size_t *hdr_cap, age_error *err)
{
    size_t start = *hdr_len, n = 0;
    for (;;) {
        if (r->in_start == r->in_end) {
            if (fill(r, 1) != 0) {
                age_set_error(err, AGE_ERR_IO, "read error");
                return -1;
            }
            if (r->in_start == r->in_end) {
                age_set_error(err, AGE_ERR_FORMAT,
                              start == 0 && n == 0
                                  ? "empty file, not age-encrypted"
                                  : "header truncated");
                return -1;
            }
        }
        uint8_t c = r->inbuf[r->in_start++];
        if (*hdr_len + 1 > *hdr_cap) {
            if (*hdr_cap >= AGE_HEADER_MAX) {
                age_set_error(err, AGE_ERR_FORMAT, "header too large");
                return -1;
            }
            size_t cap = *hdr_cap ? *hdr_cap * 2 : 1024;
            char *b = realloc(*hdr, cap);
            if (!b) {
                age_set_error(err, AGE_ERR_INTERNAL, "out of memory");
                return -1;
            }
            *hdr = b;
            *hdr_cap = cap;
        }
        (*hdr)[(*hdr_len)++] = (char)c;
        if (c == '\n') {
            r->line[n] = '\0';
            return (long)start;
        }
        /* Header lines are printable ASCII only. */
        if (c < 0x20 || c > 0x7e) {
            age_set_error(err, AGE_ERR_FORMAT,
                          start == 0 ? "not an age-encrypted file"
                                     : "header holds a non-ASCII byte");
            return -1;
        }
        if (n + 1 >= sizeof r->line) {
            age_set_error(err, AGE_ERR_FORMAT, "header line too long");
            return -1;
        }
        r->line[n++] = (char)c;
    }
}

/* Split the "-> a b c" line at LINE (NUL-terminated copy) into S->args. */
static int split_args(char *line, stanza *s)
{
    s->n_args = 0;
    char *p = line;
    for (;;) {
        char *sp = strchr(p, ' ');
        if (sp)
            *sp = '\0';
        if (*p == '\0' || s->n_args == AGE_ARGS_MAX)
            return -1; /* empty argument (double space) or too many */
        s->args[s->n_args++] = p;
        if (!sp)
            return 0;
        p = sp + 1;
    }
}

static int canonical_decimal(const char *s, int *out)
{
    if (!*s || strlen(s) > 2 || (s[0] == '0'))
        return -1;
    int v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

static int unwrap_x25519(const stanza *s, const age_keyring *ids,
                         uint8_t file_key[16], age_error *err)
{
    uint8_t share[32];
    if (s->n_args != 2 || strlen(s->args[1]) != 43 ||
        age_b64_decode(s->args[1], 43, share, 32) != 32 || s->body_len != 32) {
        age_set_error(err, AGE_ERR_FORMAT, "malformed X25519 stanza");
        return -1;
    }
    if (!ids)
        return 1;
    static const uint8_t zero_nonce[12];
    for (size_t i = 0; i < ids->n; i++) {
        uint8_t pub[32], shared[32], salt[64], wrap[32];
        int ok = age_x25519_public(ids->keys[i], pub) == 0 &&
                 age_x25519_shared(ids->keys[i], share, shared) == 0;
        memcpy(salt, share, 32);
        memcpy(salt + 32, pub, 32);
        ok = ok && age_hkdf_sha256(shared, 32, salt, 64, AGE_X25519_INFO,
                                   wrap, 32) == 0;
        ok = ok && age_aead_open(wrap, zero_nonce, s->body, 32, file_key) == 0;
        age_wipe(shared, sizeof shared);
        age_wipe(wrap, sizeof wrap);
        if (ok)
            return 0;
    }
    return 1; /* not for us */
}

static int unwrap_scrypt(const stanza *s, const age_passphrase_source *pass,
                         uint8_t file_key[16], age_error *err)
{
    uint8_t salt[sizeof AGE_SCRYPT_SALT_LABEL - 1 + 16];
    const size_t label = sizeof AGE_SCRYPT_SALT_LABEL - 1;
    int log_n;
    if (s->n_args != 3 || strlen(s->args[1]) != 22 ||
        age_b64_decode(s->args[1], 22, salt + label, 16) != 16 ||
        canonical_decimal(s->args[2], &log_n) != 0 || s->body_len != 32) {
        age_set_error(err, AGE_ERR_FORMAT, "malformed scrypt stanza");
        return -1;
    }
    if (log_n > AGE_SCRYPT_LOG_N_MAX) {
        age_set_error(err, AGE_ERR_FORMAT,
                      "scrypt work factor 2^%d is above the limit 2^%d",
                      log_n, AGE_SCRYPT_LOG_N_MAX);
        return -1;
    }
    if (!pass || !pass->get) {
        age_set_error(err, AGE_ERR_AUTH,
                      "encrypted with a passphrase, and none was given");
        return -1;
    }
    memcpy(salt, AGE_SCRYPT_SALT_LABEL, label);
    char *pw = NULL;
    if (pass->get(pass->ctx, &pw, err) != 0)
        return -1;
    uint8_t key[32];
    static const uint8_t zero_nonce[12];
    int ok = age_scrypt(pw, strlen(pw), salt, sizeof salt, log_n, key) == 0;
    pass->release(pass->ctx, pw);
    ok = ok && age_aead_open(key, zero_nonce, s->body, 32, file_key) == 0;
    age_wipe(key, sizeof key);
    if (!ok) {
        age_set_error(err, AGE_ERR_AUTH, "wrong passphrase");
        return -1;
    }
    return 0;
}

/* Read one stanza's body lines into S. */
static int read_body(age_reader *r, stanza *s, char **hdr, size_t *hdr_len,
                     size_t *hdr_cap, age_error *err)
{
    s->body_len = 0;
    for (;;) {
        long off = read_line(r, hdr, hdr_len, hdr_cap, err);
        if (off < 0)
            return -1;
        const char *line = r->line;
        size_t n = strlen(line);
        if (n > 64 || s->body_len + 48 > sizeof s->body) {
            age_set_error(err, AGE_ERR_FORMAT, "stanza body too long");
            return -1;
        }
        long got = age_b64_decode(line, n, s->body + s->body_len,
                                  sizeof s->body - s->body_len);
        if (got < 0) {
            age_set_error(err, AGE_ERR_FORMAT, "bad base64 in stanza body");
            return -1;
        }
        s->body_len += (size_t)got;
        if (n < 64)
            return 0;
    }
}

age_reader *age_reader_new(const age_keyring *identities,
                           const age_passphrase_source *pass, age_read_fn in,
                           void *in_ctx, age_error *err)
{
    age_reader *r = calloc(1, sizeof *r);
    stanza *s = calloc(1, sizeof *s);
    char *hdr = NULL, *line_copy = NULL;
    size_t hdr_len = 0, hdr_cap = 0;
    uint8_t file_key[AGE_FILE_KEY_LEN];
    int have_key = 0, n_stanzas = 0, saw_scrypt = 0, failed = 1;
    if (!r || !s) {
        age_set_error(err, AGE_ERR_INTERNAL, "out of memory");
        goto out;
    }
    r->in = in;
    r->in_ctx = in_ctx;

    long off = read_line(r, &hdr, &hdr_len, &hdr_cap, err);
    if (off < 0)
        goto out;
    if (strcmp(r->line, AGE_VERSION_LINE) != 0) {
        age_set_error(err, AGE_ERR_FORMAT,
                      strncmp(r->line, "-----BEGIN AGE", 14) == 0
                          ? "ASCII-armored age files are not supported"
                          : "not an age-encrypted file (no age v1 header)");
        goto out;
    }
    size_t mac_at;
    for (;;) {
        off = read_line(r, &hdr, &hdr_len, &hdr_cap, err);
        if (off < 0)
            goto out;
        char *line = r->line;
        if (strncmp(line, "--- ", 4) == 0) {
            mac_at = (size_t)off;
            break;
        }
        if (strncmp(line, "-> ", 3) != 0) {
            age_set_error(err, AGE_ERR_FORMAT, "malformed header line");
            goto out;
        }
        free(line_copy);
        line_copy = strdup(line + 3);
        if (!line_copy || split_args(line_copy, s) != 0) {
            age_set_error(err, AGE_ERR_FORMAT, "malformed stanza arguments");
            goto out;
        }
        if (read_body(r, s, &hdr, &hdr_len, &hdr_cap, err) != 0)
            goto out;
        n_stanzas++;
        int rc = 1;
        if (strcmp(s->args[0], "X25519") == 0) {
            rc = unwrap_x25519(s, have_key ? NULL : identities, file_key, err);
        } else if (strcmp(s->args[0], "scrypt") == 0) {
            saw_scrypt = 1;
            if (n_stanzas > 1) {
                age_set_error(err, AGE_ERR_FORMAT,
                              "scrypt stanza beside other stanzas");
                goto out;
            }
            rc = unwrap_scrypt(s, pass, file_key, err);
        }
        /* Unknown stanza types (other recipient kinds, grease) are
         * skipped, as the spec requires. */
        if (rc < 0)
            goto out;
        if (rc == 0)
            have_key = 1;
    }
    if (n_stanzas == 0) {
        age_set_error(err, AGE_ERR_FORMAT, "header without recipients");
        goto out;
    }
    if (saw_scrypt && n_stanzas > 1) {
        age_set_error(err, AGE_ERR_FORMAT, "scrypt stanza beside other stanzas");
        goto out;
    }
    if (!have_key) {
        age_set_error(err, AGE_ERR_AUTH,
                      "no identity matches any recipient");
        goto out;
    }
    const char *mac_text = r->line + 4;
    uint8_t mac[32], want[32], mac_key[32];
    if (strlen(mac_text) != 43 || age_b64_decode(mac_text, 43, mac, 32) != 32) {
        age_set_error(err, AGE_ERR_FORMAT, "malformed header MAC");
        goto out;
    }
    if (age_hkdf_sha256(file_key, sizeof file_key, NULL, 0, "header", mac_key,
                        32) != 0 ||
        age_hmac_sha256(mac_key, 32, hdr, mac_at + 3, want) != 0) {
        age_set_error(err, AGE_ERR_INTERNAL, "header MAC computation failed");
        goto out;
    }
    if (CRYPTO_memcmp(mac, want, 32) != 0) {
        age_set_error(err, AGE_ERR_FORMAT,
                      "header MAC mismatch (the header was modified)");
        goto out;
    }
    if (fill(r, AGE_PAYLOAD_NONCE_LEN) != 0) {
        age_set_error(err, AGE_ERR_IO, "read error");
        goto out;
    }
    if (r->in_end - r->in_start < AGE_PAYLOAD_NONCE_LEN) {
        age_set_error(err, AGE_ERR_FORMAT, "truncated before the payload");
        goto out;
    }
    if (age_hkdf_sha256(file_key, sizeof file_key, r->inbuf + r->in_start,
                        AGE_PAYLOAD_NONCE_LEN, "payload", r->payload_key,
                        32) != 0) {
        age_set_error(err, AGE_ERR_INTERNAL, "key derivation failed");
        goto out;
    }
    r->in_start += AGE_PAYLOAD_NONCE_LEN;
    failed = 0;
out:
    age_wipe(file_key, sizeof file_key);
    free(line_copy);
    free(hdr);
    free(s);
    if (failed) {
        age_reader_free(r);
        return NULL;
    }
    return r;
}

/* Open the next chunk into r->plain. */
static int next_chunk(age_reader *r, age_error *err)
{
    if (fill(r, AGE_ENC_CHUNK + 1) != 0) {
        age_set_error(err, AGE_ERR_IO, "read error");
        return -1;
    }
    size_t avail = r->in_end - r->in_start;
    int last = avail <= AGE_ENC_CHUNK;
    size_t n = last ? avail : AGE_ENC_CHUNK;
    if (n < AGE_TAG_LEN) {
        age_set_error(err, AGE_ERR_FORMAT, "truncated payload");
        return -1;
    }
    uint8_t nonce[12];
    age_stream_nonce(r->counter, last, nonce);
    if (age_aead_open(r->payload_key, nonce, r->inbuf + r->in_start, n,
                      r->plain) != 0) {
        age_set_error(err, AGE_ERR_FORMAT,
                      "payload chunk %llu failed authentication (corrupt or "
                      "truncated)",
                      (unsigned long long)r->counter);
        return -1;
    }
    if (last && n == AGE_TAG_LEN && r->counter > 0) {
        age_set_error(err, AGE_ERR_FORMAT, "empty last chunk");
        return -1;
    }
    r->in_start += n;
    r->plain_pos = 0;
    r->plain_len = n - AGE_TAG_LEN;
    r->counter++;
    r->done = last;
    return 0;
}

long age_reader_read(age_reader *r, void *buf, size_t len, age_error *err)
{
    while (r->plain_pos == r->plain_len) {
        if (r->done)
            return 0;
        if (next_chunk(r, err) != 0)
            return -1;
    }
    size_t n = r->plain_len - r->plain_pos;
    if (n > len)
        n = len;
    memcpy(buf, r->plain + r->plain_pos, n);
    r->plain_pos += n;
    return (long)n;
}

void age_reader_free(age_reader *r)
{
    if (!r)
        return;
    age_wipe(r->payload_key, sizeof r->payload_key);
    age_wipe(r->plain, sizeof r->plain);
    free(r);
}
