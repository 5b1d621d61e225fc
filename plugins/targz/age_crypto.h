/* The cryptographic primitives age v1 is built from, each a thin wrapper
 * over OpenSSL 3 EVP calls. Every function returns 0 on success and -1 on
 * failure (including an authentication failure). */
#ifndef MP_AGE_CRYPTO_H
#define MP_AGE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define AGE_KEY_LEN 32
#define AGE_TAG_LEN 16
#define AGE_AEAD_NONCE_LEN 12

/* PUB = X25519(PRIV, basepoint). */
int age_x25519_public(const uint8_t priv[32], uint8_t pub[32]);
/* OUT = X25519(PRIV, PEER); fails on an all-zero result. */
int age_x25519_shared(const uint8_t priv[32], const uint8_t peer[32],
                      uint8_t out[32]);

/* HKDF-SHA256 (RFC 5869). SALT may be NULL (an empty salt). */
int age_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
                    size_t salt_len, const char *info, uint8_t *out,
                    size_t out_len);

/* HMAC-SHA256 of DATA under KEY into OUT (32 bytes). */
int age_hmac_sha256(const uint8_t *key, size_t key_len, const void *data,
                    size_t len, uint8_t out[32]);

/* scrypt with r=8, p=1, N=2^LOG_N, with memory explicitly allowed for it. */
int age_scrypt(const char *pass, size_t pass_len, const uint8_t *salt,
               size_t salt_len, int log_n, uint8_t out[32]);

/* ChaCha20-Poly1305 seal: OUT gets LEN bytes of ciphertext then the tag. */
int age_aead_seal(const uint8_t key[32], const uint8_t nonce[12],
                  const uint8_t *in, size_t len, uint8_t *out);
/* Open LEN bytes (ciphertext plus tag, LEN >= 16) into OUT (LEN - 16
 * bytes). On failure OUT holds nothing usable and is wiped. */
int age_aead_open(const uint8_t key[32], const uint8_t nonce[12],
                  const uint8_t *in, size_t len, uint8_t *out);

/* Random bytes from the OpenSSL DRBG. */
int age_random(uint8_t *out, size_t len);

/* Wipe secrets. */
void age_wipe(void *p, size_t len);

#endif
