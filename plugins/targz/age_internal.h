/* Shared between age_keys.c, age_writer.c and age_reader.c. */
#ifndef MP_AGE_INTERNAL_H
#define MP_AGE_INTERNAL_H

#include "age.h"

#define AGE_VERSION_LINE "age-encryption.org/v1"
#define AGE_FILE_KEY_LEN 16
#define AGE_PAYLOAD_NONCE_LEN 16
#define AGE_CHUNK 65536
#define AGE_ENC_CHUNK (AGE_CHUNK + 16)
#define AGE_X25519_INFO "age-encryption.org/v1/X25519"
#define AGE_SCRYPT_SALT_LABEL "age-encryption.org/v1/scrypt"

void age_set_error(age_error *err, age_err kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The STREAM nonce for chunk COUNTER: 11-byte big-endian counter, then the
 * last-chunk flag. */
void age_stream_nonce(uint64_t counter, int last, uint8_t nonce[12]);

#endif
