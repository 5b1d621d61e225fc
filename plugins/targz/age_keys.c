#include "age_crypto.h"
#include "age_encoding.h"
#include "age_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void age_set_error(age_error *err, age_err kind, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    err->kind = kind;
}

void age_stream_nonce(uint64_t counter, int last, uint8_t nonce[12])
{
    memset(nonce, 0, 12);
    for (int i = 0; i < 8; i++)
        nonce[10 - i] = (uint8_t)(counter >> (8 * i));
    nonce[11] = last ? 1 : 0;
}

int age_recipient_parse(const char *text, uint8_t pub[32])
{
    char hrp[16];
    /* Recipients are written in lower case; Bech32 would accept upper. */
    for (const char *p = text; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            return -1;
    long n = age_bech32_decode(text, hrp, sizeof hrp, pub, 32);
    return n == 32 && strcmp(hrp, "age") == 0 ? 0 : -1;
}

int age_identity_parse(const char *text, uint8_t priv[32])
{
    char hrp[32];
    for (const char *p = text; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            return -1;
    long n = age_bech32_decode(text, hrp, sizeof hrp, priv, 32);
    if (n == 32 && strcmp(hrp, "age-secret-key-") == 0)
        return 0;
    age_wipe(priv, 32);
    return -1;
}

void age_recipient_format(const uint8_t pub[32], char out[AGE_RECIPIENT_MAX])
{
    age_bech32_encode("age", pub, 32, out, AGE_RECIPIENT_MAX);
}

void age_identity_format(const uint8_t priv[32], char out[AGE_IDENTITY_MAX])
{
    age_bech32_encode("age-secret-key-", priv, 32, out, AGE_IDENTITY_MAX);
    for (char *p = out; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
}

int age_keygen(uint8_t priv[32], uint8_t pub[32])
{
    if (age_random(priv, 32) != 0)
        return -1;
    return age_x25519_public(priv, pub);
}

int age_keyring_add(age_keyring *kr, const uint8_t key[32])
{
    if (kr->n == kr->cap) {
        size_t cap = kr->cap ? kr->cap * 2 : 4;
        uint8_t(*keys)[32] = calloc(cap, 32);
        if (!keys)
            return -1;
        if (kr->keys) {
            memcpy(keys, kr->keys, kr->n * 32);
            age_wipe(kr->keys, kr->n * 32);
            free(kr->keys);
        }
        kr->keys = keys;
        kr->cap = cap;
    }
    memcpy(kr->keys[kr->n++], key, 32);
    return 0;
}

void age_keyring_free(age_keyring *kr)
{
    if (kr->keys) {
        age_wipe(kr->keys, kr->cap * 32);
        free(kr->keys);
    }
    kr->keys = NULL;
    kr->n = kr->cap = 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
                     s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

int age_keyring_load_file(age_keyring *kr, const char *path, int identities,
                          age_error *err)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        age_set_error(err, AGE_ERR_USAGE, "cannot open %s: %s", path,
                      strerror(errno));
        return -1;
    }
    char line[1024];
    unsigned lineno = 0;
    size_t before = kr->n;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        uint8_t key[32];
        int bad = identities ? age_identity_parse(s, key)
                             : age_recipient_parse(s, key);
        if (bad) {
            age_set_error(err, AGE_ERR_USAGE,
                          "%s line %u: not an age %s (only native X25519 "
                          "keys are supported)",
                          path, lineno,
                          identities ? "identity (AGE-SECRET-KEY-1...)"
                                     : "recipient (age1...)");
            rc = -1;
        } else if (age_keyring_add(kr, key) != 0) {
            age_set_error(err, AGE_ERR_INTERNAL, "out of memory");
            rc = -1;
        }
        age_wipe(key, sizeof key);
        if (rc)
            break;
    }
    age_wipe(line, sizeof line);
    if (rc == 0 && ferror(f)) {
        age_set_error(err, AGE_ERR_IO, "cannot read %s", path);
        rc = -1;
    }
    fclose(f);
    if (rc == 0 && kr->n == before) {
        age_set_error(err, AGE_ERR_USAGE, "%s holds no %s", path,
                      identities ? "identity" : "recipient");
        rc = -1;
    }
    return rc;
}
