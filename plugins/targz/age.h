/*
 * age v1 (https://age-encryption.org/v1, C2SP) encryption and decryption as
 * streams, built on OpenSSL 3 primitives (age_crypto.h).
 *
 * Supported: X25519 recipients ("age1...") and identities
 * ("AGE-SECRET-KEY-1..."), and scrypt passphrases. Not supported: the ASCII
 * armor, SSH keys and plugin recipients (refused with a clear error).
 *
 * Writer: age_writer_new, any number of age_writer_write, age_writer_finish
 * (writes the last chunk; without it the output is an invalid, truncated
 * file), age_writer_free. Reader: age_reader_new (reads and checks the
 * header, finds the file key), age_reader_read until it returns 0 (the
 * authenticated end of the payload). A reader never returns bytes of a
 * chunk whose Poly1305 tag did not verify.
 *
 * Memory: one 64 KiB chunk plus its ciphertext, whatever the payload size.
 */
#ifndef MP_AGE_H
#define MP_AGE_H

#include <stddef.h>
#include <stdint.h>

typedef enum age_err {
    AGE_OK = 0,
    AGE_ERR_USAGE,    /* a bad key string, a bad combination of options */
    AGE_ERR_AUTH,     /* no identity / wrong passphrase */
    AGE_ERR_FORMAT,   /* not age, corrupt, truncated, tampered */
    AGE_ERR_IO,       /* the read or write callback failed */
    AGE_ERR_INTERNAL, /* OpenSSL failure, out of memory */
} age_err;

typedef struct age_error {
    age_err kind;
    char text[256];
} age_error;

/* age's own default scrypt work factor, and the ceiling age accepts. */
#define AGE_SCRYPT_LOG_N_DEFAULT 18
#define AGE_SCRYPT_LOG_N_MAX 22

#define AGE_RECIPIENT_MAX 80 /* "age1" + 59 characters, with room */
#define AGE_IDENTITY_MAX 80  /* "AGE-SECRET-KEY-1" + 58 characters */

/* ---- keys ------------------------------------------------------------ */

/* Parse "age1..." into a X25519 public key. Returns 0 or -1. */
int age_recipient_parse(const char *text, uint8_t pub[32]);
/* Parse "AGE-SECRET-KEY-1..." into a X25519 private key. Returns 0 or -1. */
int age_identity_parse(const char *text, uint8_t priv[32]);
void age_recipient_format(const uint8_t pub[32], char out[AGE_RECIPIENT_MAX]);
void age_identity_format(const uint8_t priv[32], char out[AGE_IDENTITY_MAX]);
/* A fresh key pair. Returns 0 or -1. */
int age_keygen(uint8_t priv[32], uint8_t pub[32]);

/* A list of 32-byte X25519 keys: public keys (recipients) for a writer,
 * private keys (identities) for a reader. Wiped on free. */
typedef struct age_keyring {
    uint8_t (*keys)[32];
    size_t n, cap;
} age_keyring;

int age_keyring_add(age_keyring *kr, const uint8_t key[32]);
/* Add every key of the file PATH: one per line, blank lines and lines
 * starting with '#' ignored. IDENTITIES selects "AGE-SECRET-KEY-1" lines,
 * else "age1" lines. Any other line is an error naming its number. */
int age_keyring_load_file(age_keyring *kr, const char *path, int identities,
                          age_error *err);
void age_keyring_free(age_keyring *kr);

/* ---- streams --------------------------------------------------------- */

/* Write all LEN bytes; return 0, or -1 on failure. */
typedef int (*age_write_fn)(void *ctx, const void *buf, size_t len);
/* Read up to LEN bytes; return the count, 0 at end of input, -1 on error. */
typedef long (*age_read_fn)(void *ctx, void *buf, size_t len);

typedef struct age_writer age_writer;

/* Encrypt to every key of RECIPIENTS, or (when RECIPIENTS is NULL or
 * empty) to PASSPHRASE with scrypt work factor 2^LOG_N. age allows a
 * passphrase only on its own, so giving both is AGE_ERR_USAGE. The header
 * is written at once through OUT. */
age_writer *age_writer_new(const age_keyring *recipients,
                           const char *passphrase, int log_n,
                           age_write_fn out, void *out_ctx, age_error *err);
int age_writer_write(age_writer *w, const void *buf, size_t len,
                     age_error *err);
int age_writer_finish(age_writer *w, age_error *err);
void age_writer_free(age_writer *w);

/* Asked for the passphrase only when the header holds an scrypt stanza.
 * GET returns 0 and a string in *out, which RELEASE then wipes and frees. */
typedef struct age_passphrase_source {
    int (*get)(void *ctx, char **out, age_error *err);
    void (*release)(void *ctx, char *pass);
    void *ctx;
} age_passphrase_source;

typedef struct age_reader age_reader;

/* Read and verify the header from IN, unwrap the file key with one of
 * IDENTITIES (may be NULL) or the passphrase. Errors: AGE_ERR_AUTH when no
 * identity or passphrase fits, AGE_ERR_FORMAT for a malformed header or a
 * bad header MAC, AGE_ERR_IO when IN fails. */
age_reader *age_reader_new(const age_keyring *identities,
                           const age_passphrase_source *pass, age_read_fn in,
                           void *in_ctx, age_error *err);
/* Up to LEN bytes of authenticated plaintext; 0 at the authenticated end;
 * -1 with ERR set on a tampered or truncated payload or trailing data. */
long age_reader_read(age_reader *r, void *buf, size_t len, age_error *err);
void age_reader_free(age_reader *r);

#endif
