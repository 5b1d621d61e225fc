#include "age_encoding.h"

#include <ctype.h>
#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t age_b64_len(size_t len)
{
    return len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
}

void age_b64_encode(const uint8_t *in, size_t len, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long age_b64_decode(const char *text, size_t text_len, uint8_t *out,
                    size_t out_size)
{
    if (text_len % 4 == 1)
        return -1;
    size_t need = text_len / 4 * 3 + (text_len % 4 ? text_len % 4 - 1 : 0);
    if (need > out_size)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < text_len; i++) {
        int v = b64_value(text[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-canonical: unused low bits set */
        return -1;
    return (long)o;
}

/* ---- Bech32 (BIP 173) ------------------------------------------------ */

static const char bech32_charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t bech32_polymod_step(uint32_t pre)
{
    uint8_t b = (uint8_t)(pre >> 25);
    return ((pre & 0x1FFFFFF) << 5) ^ (-((b >> 0) & 1) & 0x3b6a57b2UL) ^
           (-((b >> 1) & 1) & 0x26508e6dUL) ^
           (-((b >> 2) & 1) & 0x1ea119faUL) ^
           (-((b >> 3) & 1) & 0x3d4233ddUL) ^ (-((b >> 4) & 1) & 0x2a1462b3UL);
}

static uint32_t bech32_hrp_checksum(const char *hrp, size_t hrp_len)
{
    uint32_t chk = 1;
    for (size_t i = 0; i < hrp_len; i++)
        chk = bech32_polymod_step(chk) ^ ((uint8_t)hrp[i] >> 5);
    chk = bech32_polymod_step(chk);
    for (size_t i = 0; i < hrp_len; i++)
        chk = bech32_polymod_step(chk) ^ ((uint8_t)hrp[i] & 0x1f);
    return chk;
}

int age_bech32_encode(const char *hrp, const uint8_t *data, size_t len,
                      char *out, size_t out_size)
{
    size_t hrp_len = strlen(hrp);
    size_t groups = (len * 8 + 4) / 5;
    if (hrp_len + 1 + groups + 6 + 1 > out_size)
        return -1;
    uint32_t chk = bech32_hrp_checksum(hrp, hrp_len);
    size_t o = 0;
    memcpy(out, hrp, hrp_len);
    o = hrp_len;
    out[o++] = '1';
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = acc << 8 | data[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            uint8_t v = (uint8_t)(acc >> bits & 31);
            chk = bech32_polymod_step(chk) ^ v;
            out[o++] = bech32_charset[v];
        }
    }
    if (bits > 0) {
        uint8_t v = (uint8_t)(acc << (5 - bits) & 31);
        chk = bech32_polymod_step(chk) ^ v;
        out[o++] = bech32_charset[v];
    }
    for (int i = 0; i < 6; i++)
        chk = bech32_polymod_step(chk);
    chk ^= 1;
    for (int i = 0; i < 6; i++)
        out[o++] = bech32_charset[(chk >> ((5 - i) * 5)) & 31];
    out[o] = '\0';
    return 0;
}

long age_bech32_decode(const char *text, char *hrp, size_t hrp_size,
                       uint8_t *data, size_t data_size)
{
    size_t len = strlen(text);
    int has_lower = 0, has_upper = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 33 || c > 126)
            return -1;
        has_lower |= islower(c) != 0;
        has_upper |= isupper(c) != 0;
    }
    if (has_lower && has_upper)
        return -1;
    const char *sep = strrchr(text, '1');
    if (!sep || sep == text || (size_t)(text + len - sep) < 7)
        return -1;
    size_t hrp_len = (size_t)(sep - text);
    if (hrp_len + 1 > hrp_size)
        return -1;
    for (size_t i = 0; i < hrp_len; i++)
        hrp[i] = (char)tolower((unsigned char)text[i]);
    hrp[hrp_len] = '\0';
    uint32_t chk = bech32_hrp_checksum(hrp, hrp_len);
    size_t n_values = len - hrp_len - 1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n_values; i++) {
        char c = (char)tolower((unsigned char)sep[1 + i]);
        const char *p = strchr(bech32_charset, c);
        if (!p || !c)
            return -1;
        uint8_t v = (uint8_t)(p - bech32_charset);
        chk = bech32_polymod_step(chk) ^ v;
        if (i + 6 >= n_values)
            continue; /* checksum characters carry no data */
        acc = acc << 5 | v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o >= data_size)
                return -1;
            data[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (chk != 1 || bits >= 5 || acc != 0)
        return -1;
    return (long)o;
}
