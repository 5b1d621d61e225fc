#include "age_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <string.h>

void age_wipe(void *p, size_t len)
{
    OPENSSL_cleanse(p, len);
}

int age_random(uint8_t *out, size_t len)
{
    return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

int age_x25519_public(const uint8_t priv[32], uint8_t pub[32])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    size_t len = 32;
    int ok = k && EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 && len == 32;
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

int age_x25519_shared(const uint8_t priv[32], const uint8_t peer[32],
                      uint8_t out[32])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *ctx = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
    size_t len = 32;
    int ok = ctx && p && EVP_PKEY_derive_init(ctx) == 1 &&
             EVP_PKEY_derive_set_peer(ctx, p) == 1 &&
             EVP_PKEY_derive(ctx, out, &len) == 1 && len == 32;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(p);
    EVP_PKEY_free(k);
    if (ok) {
        /* The spec requires rejecting a low-order peer point; OpenSSL
         * already fails the derivation then, this is a second guard. */
        uint8_t acc = 0;
        for (int i = 0; i < 32; i++)
            acc |= out[i];
        ok = acc != 0;
    }
    return ok ? 0 : -1;
}

int age_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
                    size_t salt_len, const char *info, uint8_t *out,
                    size_t out_len)
{
    /* RFC 5869: an absent salt is HashLen zero bytes; spelling it out keeps
     * OpenSSL from having to accept an empty octet string. */
    static const uint8_t zero_salt[32];
    if (!salt || salt_len == 0) {
        salt = zero_salt;
        salt_len = sizeof zero_salt;
    }
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx)
        return -1;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm,
                                          ikm_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
                                          salt_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                          strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok ? 0 : -1;
}

int age_hmac_sha256(const uint8_t *key, size_t key_len, const void *data,
                    size_t len, uint8_t out[32])
{
    size_t out_len = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data,
                   len, out, 32, &out_len))
        return -1;
    return out_len == 32 ? 0 : -1;
}

int age_scrypt(const char *pass, size_t pass_len, const uint8_t *salt,
               size_t salt_len, int log_n, uint8_t out[32])
{
    if (log_n < 1 || log_n > 30)
        return -1;
    uint64_t n = (uint64_t)1 << log_n;
    uint32_t r = 8, p = 1;
    /* OpenSSL's default ceiling (32 MiB) is below what logN 18 needs
     * (128 * r * N = 256 MiB), so allow exactly the working set plus slack. */
    uint64_t maxmem = 128 * (uint64_t)r * n * p + (1u << 20);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx)
        return -1;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                          (void *)pass, pass_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
                                          salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(ctx, out, 32, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int aead(int enc, const uint8_t key[32], const uint8_t nonce[12],
                const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0, ok = ctx != NULL;
    ok = ok && EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL,
                                 NULL, enc) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AGE_TAG_LEN,
                                 tag) == 1;
    /* EVP_CipherUpdate takes an int length; chunks are at most 64 KiB. */
    ok = ok && len <= 1u << 30;
    if (ok && len > 0)
        ok = EVP_CipherUpdate(ctx, out, &outl, in, (int)len) == 1 &&
             (size_t)outl == len;
    ok = ok && EVP_CipherFinal_ex(ctx, out + outl, &outl) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AGE_TAG_LEN,
                                 tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int age_aead_seal(const uint8_t key[32], const uint8_t nonce[12],
                  const uint8_t *in, size_t len, uint8_t *out)
{
    return aead(1, key, nonce, in, len, out, out + len);
}

int age_aead_open(const uint8_t key[32], const uint8_t nonce[12],
                  const uint8_t *in, size_t len, uint8_t *out)
{
    if (len < AGE_TAG_LEN)
        return -1;
    uint8_t tag[AGE_TAG_LEN];
    memcpy(tag, in + len - AGE_TAG_LEN, AGE_TAG_LEN);
    if (aead(0, key, nonce, in, len - AGE_TAG_LEN, out, tag) != 0) {
        age_wipe(out, len - AGE_TAG_LEN);
        return -1;
    }
    return 0;
}
