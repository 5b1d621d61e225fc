/* Text encodings of the age v1 format: the standard base64 alphabet without
 * padding (header stanzas and MAC) and Bech32 (BIP 173, not Bech32m) for
 * "age1..." recipients and "AGE-SECRET-KEY-1..." identities. */
#ifndef MP_AGE_ENCODING_H
#define MP_AGE_ENCODING_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64 needs for LEN bytes, without padding. */
size_t age_b64_len(size_t len);

/* Encode LEN bytes into OUT (age_b64_len(len) + 1 bytes, NUL-terminated). */
void age_b64_encode(const uint8_t *in, size_t len, char *out);

/* Decode exactly TEXT_LEN characters of canonical unpadded base64 into OUT
 * (room for OUT_SIZE bytes). Returns the decoded length, or -1 for a bad
 * character, padding, a length of 1 mod 4, leftover non-zero bits (so each
 * byte string has one encoding) or too little room. */
long age_b64_decode(const char *text, size_t text_len, uint8_t *out,
                    size_t out_size);

/* Encode DATA as Bech32 with human-readable part HRP (lower case) into OUT.
 * Returns 0, or -1 when OUT_SIZE is too small. */
int age_bech32_encode(const char *hrp, const uint8_t *data, size_t len,
                      char *out, size_t out_size);

/* Decode TEXT (all upper or all lower case). Writes the lower-case HRP into
 * HRP (HRP_SIZE bytes) and the data into DATA (DATA_SIZE bytes). Returns the
 * data length, or -1 for a bad checksum, mixed case, bad characters, a
 * missing separator, non-zero padding bits or too little room. */
long age_bech32_decode(const char *text, char *hrp, size_t hrp_size,
                       uint8_t *data, size_t data_size);

#endif
