#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mp_digest_init(mp_digest *d)
{
    memset(d, 0, sizeof *d);
    d->sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(d->sha, EVP_sha256(), NULL);
    mp_eol_init(&d->lf, MP_EOLCONV_TO_LF);
    d->last = -1;
}

static void header_append(mp_digest *d, const char *buf, size_t n)
{
    if (d->header_len + n > MP_HEADER_MAX) {
        n = MP_HEADER_MAX - d->header_len;
        d->header_done = 1;
    }
    if (d->header_len + n + 1 > d->header_cap) {
        size_t cap = d->header_cap ? d->header_cap : 4096;
        while (cap < d->header_len + n + 1)
            cap *= 2;
        char *grown = realloc(d->header, cap);
        if (!grown) {
            d->header_done = 1;
            return;
        }
        d->header = grown;
        d->header_cap = cap;
    }
    memcpy(d->header + d->header_len, buf, n);
    d->header_len += n;
    d->header[d->header_len] = '\0';
}

/* Keep the header block of the normalised (LF) text: everything before
 * the first empty line. d->tail is 1 when the text so far ends at a line
 * start (an LF right there ends the header). Whole lines are copied at
 * once. */
static void capture_header(mp_digest *d, const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && !d->header_done) {
        if (d->tail && buf[i] == '\n') {
            d->header_done = 1;
            break;
        }
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - buf) + 1 : len;
        header_append(d, buf + i, end - i);
        d->tail = nl != NULL;
        i = end;
    }
}

/* Normalised bytes: into the header (until it is complete) and the hash. */
static void take_lf(mp_digest *d, const char *buf, size_t len)
{
    if (!d->header_done)
        capture_header(d, buf, len);
    EVP_DigestUpdate(d->sha, buf, len);
    if (len)
        d->last = (unsigned char)buf[len - 1];
}

void mp_digest_update(mp_digest *d, const char *buf, size_t len)
{
    if (d->bytes == 0)
        d->tail = 1; /* an empty first line ends an empty header */
    d->bytes += len;
    if (mp_eol_unchanged(&d->lf, buf, len)) {
        take_lf(d, buf, len); /* LF text: nothing to change */
        return;
    }
    char out[MP_EOL_OUT_MAX(4096)];
    while (len > 0) {
        size_t n = len > 4096 ? 4096 : len;
        take_lf(d, out, mp_eol_convert(&d->lf, buf, n, out));
        buf += n;
        len -= n;
    }
}

void mp_digest_final(mp_digest *d, char hex[65])
{
    char out[MP_EOL_FINISH_MAX];
    size_t w = mp_eol_finish(&d->lf, out);
    if (w)
        take_lf(d, out, w); /* held CRs: line breaks, maybe the header's */
    if (d->last >= 0 && d->last != '\n')
        EVP_DigestUpdate(d->sha, "\n", 1); /* the final line break (above) */
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(d->sha, md, &n);
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    EVP_MD_CTX_free(d->sha);
    d->sha = NULL;
}

void mp_digest_free(mp_digest *d)
{
    if (d->sha)
        EVP_MD_CTX_free(d->sha);
    free(d->header);
    memset(d, 0, sizeof *d);
}

void mp_digest_buffer(const char *buf, size_t len, char hex[65])
{
    mp_digest d;
    mp_digest_init(&d);
    mp_digest_update(&d, buf, len);
    mp_digest_final(&d, hex);
    mp_digest_free(&d);
}
