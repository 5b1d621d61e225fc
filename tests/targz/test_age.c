/* age v1 implementation against the real age and age-keygen programs. */
#include "testutil.h"

#include "age.h"
#include "age_crypto.h"
#include "age_encoding.h"
#include "pty_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir;

typedef struct membuf {
    uint8_t *data;
    size_t len, cap, pos;
    int fail_reads; /* make the read callback fail */
} membuf;

static int mem_write(void *ctx, const void *buf, size_t len)
{
    membuf *m = ctx;
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2 + 1024;
        m->data = realloc(m->data, m->cap);
        assert_non_null(m->data);
    }
    memcpy(m->data + m->len, buf, len);
    m->len += len;
    return 0;
}

static long mem_read(void *ctx, void *buf, size_t len)
{
    membuf *m = ctx;
    if (m->fail_reads)
        return -1;
    size_t n = m->len - m->pos;
    if (n > len)
        n = len;
    /* Hand out odd-sized pieces to exercise the reader's buffering. */
    if (n > 7777)
        n = 7777;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (long)n;
}

static uint8_t *random_bytes(size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_int_equal(age_random(p, len), 0);
    return p;
}

/* A key pair made by age-keygen: the identity file path, the private key,
 * and the recipient string age-keygen printed. */
typedef struct keyfile {
    char *path;
    uint8_t priv[32];
    char recipient[AGE_RECIPIENT_MAX];
} keyfile;

static void make_key(keyfile *k, const char *name)
{
    k->path = mp_strf("%s/%s", dir, name);
    assert_int_equal(mp_sh("age-keygen -o '%s' 2>/dev/null", k->path), 0);
    char *text = mp_read_file(k->path, NULL);
    const char *pk = strstr(text, "# public key: ");
    assert_non_null(pk);
    pk += strlen("# public key: ");
    size_t n = strcspn(pk, "\n");
    assert_true(n < sizeof k->recipient);
    memcpy(k->recipient, pk, n);
    k->recipient[n] = '\0';
    const char *sk = strstr(text, "AGE-SECRET-KEY-1");
    assert_non_null(sk);
    char line[AGE_IDENTITY_MAX];
    n = strcspn(sk, "\n");
    assert_true(n < sizeof line);
    memcpy(line, sk, n);
    line[n] = '\0';
    assert_int_equal(age_identity_parse(line, k->priv), 0);
    free(text);
}

static void free_key(keyfile *k)
{
    free(k->path);
}

static membuf encrypt_to(const age_keyring *kr, const char *pass, int log_n,
                         const uint8_t *data, size_t len)
{
    membuf out = {0};
    age_error err = {0};
    age_writer *w = age_writer_new(kr, pass, log_n, mem_write, &out, &err);
    if (!w)
        fail_msg("age_writer_new: %s", err.text);
    /* Feed in uneven pieces. */
    size_t off = 0, step = 1000;
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        assert_int_equal(age_writer_write(w, data + off, n, &err), 0);
        off += n;
        step = step * 3 + 1;
    }
    assert_int_equal(age_writer_finish(w, &err), 0);
    age_writer_free(w);
    return out;
}

typedef struct pass_ctx {
    const char *pass;
    int asked;
} pass_ctx;

static int pass_get(void *ctx, char **out, age_error *err)
{
    (void)err;
    pass_ctx *p = ctx;
    p->asked++;
    *out = strdup(p->pass);
    return 0;
}

static void pass_release(void *ctx, char *s)
{
    (void)ctx;
    free(s);
}

/* Decrypt IN with IDS or PASS. Returns the plaintext (NULL on failure,
 * with ERR filled); *got_len is the number of bytes the reader handed out
 * before any failure. */
static uint8_t *decrypt(membuf *in, const age_keyring *ids, const char *pass,
                        size_t *got_len, age_error *err)
{
    pass_ctx pc = {pass, 0};
    age_passphrase_source ps = {pass_get, pass_release, &pc};
    in->pos = 0;
    *got_len = 0;
    age_reader *r = age_reader_new(ids, pass ? &ps : NULL, mem_read, in, err);
    if (!r)
        return NULL;
    size_t cap = 1 << 20, len = 0;
    uint8_t *out = malloc(cap);
    for (;;) {
        if (cap - len < 65536) {
            cap *= 2;
            out = realloc(out, cap);
        }
        long n = age_reader_read(r, out + len, 65536, err);
        if (n < 0) {
            *got_len = len;
            free(out);
            age_reader_free(r);
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    age_reader_free(r);
    *got_len = len;
    return out;
}

static void write_membuf(const char *path, const membuf *m)
{
    mp_write_file(path, m->data, m->len);
}

static membuf read_membuf(const char *path)
{
    membuf m = {0};
    m.data = (uint8_t *)mp_read_file(path, &m.len);
    m.cap = m.len;
    return m;
}

static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 200000};

/* ---- encodings ------------------------------------------------------- */

static void test_base64_canonical(void **state)
{
    (void)state;
    uint8_t out[16];
    char enc[32];
    age_b64_encode((const uint8_t *)"foob", 4, enc);
    assert_string_equal(enc, "Zm9vYg");
    assert_int_equal(age_b64_decode("Zm9vYg", 6, out, sizeof out), 4);
    assert_memory_equal(out, "foob", 4);
    assert_int_equal(age_b64_decode("Zm9vYh", 6, out, sizeof out), -1);
    assert_int_equal(age_b64_decode("Zm9vYg==", 8, out, sizeof out), -1);
    assert_int_equal(age_b64_decode("Zm9vY", 5, out, sizeof out), -1);
    assert_int_equal(age_b64_decode("Zm9v-g", 6, out, sizeof out), -1);
    assert_int_equal(age_b64_decode("", 0, out, sizeof out), 0);
}

static void test_bech32_matches_age_keygen(void **state)
{
    (void)state;
    keyfile k;
    make_key(&k, "bech.key");
    uint8_t pub[32], parsed[32];
    char text[AGE_RECIPIENT_MAX], id[AGE_IDENTITY_MAX];
    assert_int_equal(age_x25519_public(k.priv, pub), 0);
    age_recipient_format(pub, text);
    assert_string_equal(text, k.recipient);
    assert_int_equal(age_recipient_parse(k.recipient, parsed), 0);
    assert_memory_equal(parsed, pub, 32);
    age_identity_format(k.priv, id);
    char *file = mp_read_file(k.path, NULL);
    assert_contains(file, id);
    free(file);

    /* A changed character breaks the checksum; case must be uniform. */
    char bad[AGE_RECIPIENT_MAX];
    strcpy(bad, k.recipient);
    bad[10] = bad[10] == 'q' ? 'p' : 'q';
    assert_int_equal(age_recipient_parse(bad, parsed), -1);
    strcpy(bad, k.recipient);
    size_t letter = 4;
    while (!(bad[letter] >= 'a' && bad[letter] <= 'z'))
        letter++;
    bad[letter] = (char)(bad[letter] - 32);
    assert_int_equal(age_recipient_parse(bad, parsed), -1);
    assert_int_equal(age_recipient_parse("age1", parsed), -1);
    assert_int_equal(age_identity_parse(k.recipient, parsed), -1);
    free_key(&k);
}

static void test_keyring_file(void **state)
{
    (void)state;
    keyfile k1, k2;
    make_key(&k1, "kr1.key");
    make_key(&k2, "kr2.key");
    char *path = mp_strf("%s/recipients", dir);
    char *text = mp_strf("# team\n\n%s\n  %s  \n", k1.recipient, k2.recipient);
    mp_write_file(path, text, strlen(text));
    age_keyring kr = {0};
    age_error err = {0};
    assert_int_equal(age_keyring_load_file(&kr, path, 0, &err), 0);
    assert_int_equal(kr.n, 2);
    age_keyring_free(&kr);

    free(text);
    text = mp_strf("%s\nssh-ed25519 AAAA nope\n", k1.recipient);
    mp_write_file(path, text, strlen(text));
    assert_int_equal(age_keyring_load_file(&kr, path, 0, &err), -1);
    assert_int_equal(err.kind, AGE_ERR_USAGE);
    assert_contains(err.text, "line 2");
    age_keyring_free(&kr);

    mp_write_file(path, "# nothing\n", 10);
    assert_int_equal(age_keyring_load_file(&kr, path, 0, &err), -1);
    assert_contains(err.text, "holds no recipient");
    age_keyring_free(&kr);

    assert_int_equal(age_keyring_load_file(&kr, k1.path, 1, &err), 0);
    assert_int_equal(kr.n, 1);
    assert_memory_equal(kr.keys[0], k1.priv, 32);
    age_keyring_free(&kr);
    free(text);
    free(path);
    free_key(&k1);
    free_key(&k2);
}

/* ---- interoperability -------------------------------------------------- */

static void test_ours_decrypted_by_age(void **state)
{
    (void)state;
    keyfile k;
    make_key(&k, "o2a.key");
    age_keyring kr = {0};
    uint8_t pub[32];
    assert_int_equal(age_recipient_parse(k.recipient, pub), 0);
    age_keyring_add(&kr, pub);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *data = random_bytes(sizes[i]);
        membuf enc = encrypt_to(&kr, NULL, 0, data, sizes[i]);
        /* Payload = nonce + full chunks + a non-empty last chunk (empty
         * only when the whole payload is). */
        size_t chunks = sizes[i] == 0 ? 1 : (sizes[i] + 65535) / 65536;
        size_t payload = 16 + sizes[i] + 16 * chunks;
        assert_true(enc.len > payload);
        char *in = mp_strf("%s/o2a.age", dir), *out = mp_strf("%s/o2a.out", dir);
        write_membuf(in, &enc);
        unlink(out);
        assert_int_equal(mp_sh("age -d -i '%s' -o '%s' '%s'", k.path, out, in), 0);
        /* age creates no output file for an empty plaintext. */
        if (sizes[i] == 0 && !mp_file_exists(out))
            mp_write_file(out, "", 0);
        size_t got_len;
        char *got = mp_read_file(out, &got_len);
        assert_int_equal(got_len, sizes[i]);
        if (sizes[i])
            assert_memory_equal(got, data, sizes[i]);
        /* The header ends where the payload begins: check the exact
         * payload size by stripping the header text. */
        const char *mac = memmem(enc.data, enc.len, "\n--- ", 5);
        assert_non_null(mac);
        const char *hdr_end = memchr(mac + 1, '\n', 64);
        assert_non_null(hdr_end);
        assert_int_equal(enc.len - (size_t)(hdr_end + 1 - (char *)enc.data),
                         payload);
        free(got);
        free(in);
        free(out);
        free(enc.data);
        free(data);
    }
    age_keyring_free(&kr);
    free_key(&k);
}

static void test_age_decrypted_by_ours(void **state)
{
    (void)state;
    keyfile k;
    make_key(&k, "a2o.key");
    age_keyring ids = {0};
    age_keyring_add(&ids, k.priv);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *data = random_bytes(sizes[i]);
        char *in = mp_strf("%s/a2o.in", dir), *enc = mp_strf("%s/a2o.age", dir);
        mp_write_file(in, data, sizes[i]);
        assert_int_equal(
            mp_sh("age -r '%s' -o '%s' '%s'", k.recipient, enc, in), 0);
        membuf m = read_membuf(enc);
        age_error err = {0};
        size_t got_len;
        uint8_t *got = decrypt(&m, &ids, NULL, &got_len, &err);
        if (!got)
            fail_msg("size %zu: %s", sizes[i], err.text);
        assert_int_equal(got_len, sizes[i]);
        if (sizes[i])
            assert_memory_equal(got, data, sizes[i]);
        free(got);
        free(m.data);
        free(in);
        free(enc);
        free(data);
    }
    age_keyring_free(&ids);
    free_key(&k);
}

static void test_several_recipients(void **state)
{
    (void)state;
    keyfile k[3];
    age_keyring kr = {0};
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "multi%d.key", i);
        make_key(&k[i], name);
        uint8_t pub[32];
        assert_int_equal(age_recipient_parse(k[i].recipient, pub), 0);
        age_keyring_add(&kr, pub);
    }
    uint8_t *data = random_bytes(70000);
    membuf enc = encrypt_to(&kr, NULL, 0, data, 70000);
    char *in = mp_strf("%s/multi.age", dir), *out = mp_strf("%s/multi.out", dir);
    write_membuf(in, &enc);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            mp_sh("age -d -i '%s' -o '%s' '%s'", k[i].path, out, in), 0);
        size_t n;
        char *got = mp_read_file(out, &n);
        assert_int_equal(n, 70000);
        assert_memory_equal(got, data, 70000);
        free(got);
        unlink(out);
    }
    /* Our reader, holding only the last identity, finds its stanza. */
    age_keyring ids = {0};
    age_keyring_add(&ids, k[2].priv);
    age_error err = {0};
    size_t n;
    uint8_t *got = decrypt(&enc, &ids, NULL, &n, &err);
    assert_non_null(got);
    assert_int_equal(n, 70000);
    assert_memory_equal(got, data, 70000);
    free(got);
    age_keyring_free(&ids);
    /* age with several recipients, read back by us. */
    char *plain = mp_strf("%s/multi.plain", dir);
    mp_write_file(plain, data, 70000);
    assert_int_equal(mp_sh("age -r '%s' -r '%s' -o '%s' '%s'", k[0].recipient,
                           k[1].recipient, in, plain),
                     0);
    membuf m = read_membuf(in);
    age_keyring_add(&ids, k[1].priv);
    got = decrypt(&m, &ids, NULL, &n, &err);
    assert_non_null(got);
    assert_int_equal(n, 70000);
    free(got);
    free(m.data);
    age_keyring_free(&ids);
    age_keyring_free(&kr);
    free(plain);
    free(in);
    free(out);
    free(enc.data);
    free(data);
    for (int i = 0; i < 3; i++)
        free_key(&k[i]);
}

static void test_passphrase_ours_to_age(void **state)
{
    (void)state;
    uint8_t *data = random_bytes(65537);
    /* A small work factor keeps the test fast; age accepts it. */
    membuf enc = encrypt_to(NULL, "correct horse", 10, data, 65537);
    assert_non_null(memmem(enc.data, enc.len, "-> scrypt ", 10));
    assert_non_null(memmem(enc.data, enc.len, " 10\n", 4));
    char *in = mp_strf("%s/pw.age", dir), *out = mp_strf("%s/pw.out", dir);
    write_membuf(in, &enc);
    const char *argv[] = {"age", "-d", "-o", out, in, NULL};
    int prompts = 0;
    char transcript[4096];
    int rc = pty_run(argv, "correct horse", &prompts, transcript,
                     sizeof transcript);
    if (rc != 0)
        fail_msg("age -d exit %d: %s", rc, transcript);
    assert_int_equal(prompts, 1);
    size_t n;
    char *got = mp_read_file(out, &n);
    assert_int_equal(n, 65537);
    assert_memory_equal(got, data, 65537);
    free(got);
    unlink(out);
    /* The wrong passphrase makes age fail. */
    rc = pty_run(argv, "wrong horse", &prompts, transcript, sizeof transcript);
    assert_int_not_equal(rc, 0);
    /* And our own reader says so too. */
    age_error err = {0};
    assert_null(decrypt(&enc, NULL, "wrong horse", &n, &err));
    assert_int_equal(err.kind, AGE_ERR_AUTH);
    assert_contains(err.text, "wrong passphrase");
    got = (char *)decrypt(&enc, NULL, "correct horse", &n, &err);
    assert_non_null(got);
    assert_int_equal(n, 65537);
    free(got);
    free(in);
    free(out);
    free(enc.data);
    free(data);
}

static void test_passphrase_age_to_ours(void **state)
{
    (void)state;
    uint8_t *data = random_bytes(1000);
    char *in = mp_strf("%s/apw.in", dir), *enc = mp_strf("%s/apw.age", dir);
    mp_write_file(in, data, 1000);
    const char *argv[] = {"age", "-p", "-o", enc, in, NULL};
    int prompts = 0;
    char transcript[4096];
    int rc = pty_run(argv, "battery staple", &prompts, transcript,
                     sizeof transcript);
    if (rc != 0)
        fail_msg("age -p exit %d: %s", rc, transcript);
    assert_int_equal(prompts, 2); /* passphrase and its confirmation */
    membuf m = read_membuf(enc);
    assert_non_null(memmem(m.data, m.len, "-> scrypt ", 10));
    age_error err = {0};
    size_t n;
    uint8_t *got = decrypt(&m, NULL, "battery staple", &n, &err);
    if (!got)
        fail_msg("%s", err.text);
    assert_int_equal(n, 1000);
    assert_memory_equal(got, data, 1000);
    free(got);
    /* Identities alone cannot open a passphrase file. */
    age_keyring ids = {0};
    uint8_t priv[32], pub[32];
    age_keygen(priv, pub);
    age_keyring_add(&ids, priv);
    assert_null(decrypt(&m, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_AUTH);
    age_keyring_free(&ids);
    free(m.data);
    free(in);
    free(enc);
    free(data);
}

/* ---- failures ---------------------------------------------------------- */

static void test_wrong_key(void **state)
{
    (void)state;
    keyfile right, wrong;
    make_key(&right, "right.key");
    make_key(&wrong, "wrong.key");
    age_keyring kr = {0}, ids = {0};
    uint8_t pub[32];
    age_recipient_parse(right.recipient, pub);
    age_keyring_add(&kr, pub);
    age_keyring_add(&ids, wrong.priv);
    membuf enc = encrypt_to(&kr, NULL, 0, (const uint8_t *)"secret", 6);
    age_error err = {0};
    size_t n;
    assert_null(decrypt(&enc, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_AUTH);
    assert_contains(err.text, "no identity matches any recipient");
    assert_int_equal(n, 0);
    char *in = mp_strf("%s/wrong.age", dir);
    write_membuf(in, &enc);
    assert_int_not_equal(
        mp_sh("age -d -i '%s' -o /dev/null '%s' 2>/dev/null", wrong.path, in),
        0);
    /* Both programs agree with the right key. */
    assert_int_equal(
        mp_sh("age -d -i '%s' -o /dev/null '%s'", right.path, in), 0);
    /* Usage errors. */
    assert_null(age_writer_new(&kr, "pw", 10, mem_write, &enc, &err));
    assert_int_equal(err.kind, AGE_ERR_USAGE);
    assert_null(age_writer_new(NULL, NULL, 10, mem_write, &enc, &err));
    assert_int_equal(err.kind, AGE_ERR_USAGE);
    assert_null(age_writer_new(NULL, "pw", 23, mem_write, &enc, &err));
    assert_int_equal(err.kind, AGE_ERR_USAGE);
    free(in);
    free(enc.data);
    age_keyring_free(&kr);
    age_keyring_free(&ids);
    free_key(&right);
    free_key(&wrong);
}

static void test_tampered_and_truncated(void **state)
{
    (void)state;
    uint8_t priv[32], pub[32];
    age_keygen(priv, pub);
    age_keyring kr = {0}, ids = {0};
    age_keyring_add(&kr, pub);
    age_keyring_add(&ids, priv);
    const size_t len = 200000; /* chunks of 65536, 65536, 65536, 3392 */
    uint8_t *data = random_bytes(len);
    membuf enc = encrypt_to(&kr, NULL, 0, data, len);
    const uint8_t *mac = memmem(enc.data, enc.len, "\n--- ", 5);
    const uint8_t *hdr_end = memchr(mac + 1, '\n', 64);
    size_t payload_at = (size_t)(hdr_end + 1 - enc.data) + 16;
    age_error err = {0};
    size_t n;

    /* A flipped byte in the second chunk: the first chunk's plaintext is
     * handed out, nothing of the second. */
    membuf t = enc;
    t.data = malloc(enc.len);
    t.cap = enc.len;
    memcpy(t.data, enc.data, enc.len);
    t.data[payload_at + 65552 + 100] ^= 1;
    assert_null(decrypt(&t, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_FORMAT);
    assert_contains(err.text, "chunk 1 failed authentication");
    assert_int_equal(n, 65536);
    char *path = mp_strf("%s/tampered.age", dir);
    char *key = mp_strf("%s/tampered.key", dir);
    char id[AGE_IDENTITY_MAX];
    age_identity_format(priv, id);
    mp_write_file(key, id, strlen(id));
    write_membuf(path, &t);
    assert_int_not_equal(
        mp_sh("age -d -i '%s' -o /dev/null '%s' 2>/dev/null", key, path), 0);

    /* A flipped byte in the header MAC or the payload nonce. */
    memcpy(t.data, enc.data, enc.len);
    t.data[(size_t)(mac - enc.data) + 8] ^= 1;
    assert_null(decrypt(&t, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_FORMAT);
    memcpy(t.data, enc.data, enc.len);
    t.data[payload_at - 3] ^= 0x80;
    assert_null(decrypt(&t, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_FORMAT);
    assert_int_equal(n, 0);
    /* A changed stanza argument breaks the header MAC or the unwrap. */
    memcpy(t.data, enc.data, enc.len);
    t.data[strlen("age-encryption.org/v1\n-> X25519 ") + 5] ^= 1;
    assert_null(decrypt(&t, &ids, NULL, &n, &err));
    assert_true(err.kind == AGE_ERR_FORMAT || err.kind == AGE_ERR_AUTH);

    /* Truncations: inside the last chunk, at a chunk boundary (the last
     * chunk missing entirely), inside the header, and an empty file. */
    memcpy(t.data, enc.data, enc.len);
    t.len = enc.len - 10;
    assert_null(decrypt(&t, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_FORMAT);
    assert_int_equal(n, 3 * 65536);
    t.len = payload_at + 3 * 65552;
    assert_null(decrypt(&t, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_FORMAT);
    assert_int_equal(n, 2 * 65536);
    t.len = payload_at - 20;
    assert_null(decrypt(&t, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_FORMAT);
    t.len = 30;
    assert_null(decrypt(&t, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_FORMAT);
    assert_contains(err.text, "header truncated");
    t.len = 0;
    assert_null(decrypt(&t, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_FORMAT);
    /* Trailing garbage after the last chunk. */
    t.len = enc.len;
    mem_write(&t, "x", 1);
    assert_null(decrypt(&t, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_FORMAT);
    /* Not age at all. */
    membuf gz = {0};
    mem_write(&gz, "\x1f\x8b\x08\x00junk", 8);
    assert_null(decrypt(&gz, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_FORMAT);
    assert_contains(err.text, "not an age-encrypted file");
    /* A failing input callback is an I/O error. */
    enc.fail_reads = 1;
    assert_null(decrypt(&enc, &ids, NULL, &n, &err));
    assert_int_equal(err.kind, AGE_ERR_IO);
    enc.fail_reads = 0;
    /* The untouched file still decrypts. */
    uint8_t *ok = decrypt(&enc, &ids, NULL, &n, &err);
    assert_non_null(ok);
    assert_int_equal(n, len);
    assert_memory_equal(ok, data, len);
    free(ok);
    free(gz.data);
    free(path);
    free(key);
    free(t.data);
    free(enc.data);
    free(data);
    age_keyring_free(&kr);
    age_keyring_free(&ids);
}

static int setup(void **state)
{
    (void)state;
    dir = mp_tmpdir("age");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(dir);
    free(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_canonical),
        cmocka_unit_test(test_bech32_matches_age_keygen),
        cmocka_unit_test(test_keyring_file),
        cmocka_unit_test(test_ours_decrypted_by_age),
        cmocka_unit_test(test_age_decrypted_by_ours),
        cmocka_unit_test(test_several_recipients),
        cmocka_unit_test(test_passphrase_ours_to_age),
        cmocka_unit_test(test_passphrase_age_to_ours),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_tampered_and_truncated),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
