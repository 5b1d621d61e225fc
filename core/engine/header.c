#include "header.h"

#include "eol.h"
#include "storefields.h"

#include <gmime/gmime.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Find the raw value of header NAME in the header block, unfolded into a
 * malloc'd string; NULL when absent. */
char *mp_header_value(const char *hdr, size_t len, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = hdr, *end = hdr + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        if ((size_t)(line_end - p) > nlen && p[nlen] == ':' &&
            strncasecmp(p, name, nlen) == 0) {
            /* Value runs on over continuation lines (leading blank). */
            const char *v = p + nlen + 1;
            const char *stop = line_end;
            while (stop < end && stop + 1 < end &&
                   (stop[1] == ' ' || stop[1] == '\t')) {
                const char *next =
                    memchr(stop + 1, '\n', (size_t)(end - stop - 1));
                stop = next ? next : end;
            }
            char *out = malloc((size_t)(stop - v) + 1);
            size_t w = 0;
            for (const char *q = v; q < stop; q++)
                if (*q != '\r' && *q != '\n')
                    out[w++] = *q;
            out[w] = '\0';
            return out;
        }
        p = line_end + 1;
    }
    return NULL;
}

static void hex_sha256(const void *data, size_t len, char *out, size_t chars)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (size_t i = 0; i < chars / 2 && i < mdlen; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

/* HDR normalised to LF line breaks (eol.h) and cut at its first empty
 * line, malloc'd; *OUT_LEN gets its length. A plugin hands over what it
 * took for the header block, which for CR-only mail (no LF anywhere) may
 * be the whole message: only the normalised form shows where it ends. */
static char *normalised_header(const char *hdr, size_t len, size_t *out_len)
{
    char *norm = malloc(MP_EOL_OUT_MAX(len));
    mp_eol_conv c;
    mp_eol_init(&c, MP_EOLCONV_TO_LF);
    size_t w = mp_eol_convert(&c, hdr, len, norm);
    w += mp_eol_finish(&c, norm + w);
    if (w > 0 && norm[0] == '\n')
        w = 0; /* an empty first line: an empty header */
    for (size_t i = 1; i < w; i++)
        if (norm[i] == '\n' && norm[i - 1] == '\n') {
            w = i;
            break;
        }
    *out_len = w;
    return norm;
}

/* Drop the store fields (and their continuation lines) from the LF
 * header block H[0..*LEN), in place. */
static void drop_store_fields(char *h, size_t *len)
{
    size_t w = 0;
    int dropping = 0;
    for (size_t i = 0; i < *len;) {
        const char *nl = memchr(h + i, '\n', *len - i);
        size_t n = nl ? (size_t)(nl - (h + i)) + 1 : *len - i;
        if (h[i] != ' ' && h[i] != '\t')
            dropping = mp_store_field_line(h + i, n);
        if (!dropping) {
            memmove(h + w, h + i, n);
            w += n;
        }
        i += n;
    }
    *len = w;
}

void mp_identity_of_header(const char *hdr, size_t len, char *out,
                           size_t out_size)
{
    size_t nlen;
    char *norm = normalised_header(hdr, len, &nlen);
    char *raw = mp_header_value(norm, nlen, "Message-ID");
    char *id = raw ? g_mime_utils_decode_message_id(raw) : NULL;
    free(raw);
    if (id && *id) {
        size_t idlen = strlen(id);
        if (idlen + 3 <= out_size && idlen <= 72) {
            snprintf(out, out_size, "M:%s", id);
        } else {
            char hex[65] = "";
            hex_sha256(id, idlen, hex, 64);
            snprintf(out, out_size, "M#%.*s",
                     (int)(out_size > 4 ? out_size - 4 : 0), hex);
        }
        g_free(id);
        free(norm);
        return;
    }
    g_free(id);
    /* No Message-ID: hash the header block in the form the loose digest
     * uses (normalised to LF; NUL, 8-bit bytes and 'X' as one byte), so
     * the same message agrees as CRLF (IMAP), LF (Maildir) and CR-only
     * (old Mac mail), and after what servers do on APPEND (Dovecot stores
     * NUL as 0x80 and CR CR LF as CR LF, Cyrus turns 8-bit header bytes
     * into 'X'). Equal identities are told apart by content (plan.c), so
     * folding costs nothing. The fields a mail reader rewrites when a
     * flag changes are left out, so that marking a message read in mutt
     * or Thunderbird does not make it another message. */
    size_t w = nlen;
    drop_store_fields(norm, &w);
    for (size_t i = 0; i < w; i++) {
        unsigned char c = (unsigned char)norm[i];
        if (c == 0 || c >= 0x80)
            norm[i] = 'X';
    }
    while (w > 0 && norm[w - 1] == '\n')
        w--; /* trailing line breaks differ between splitters */
    char hex[65] = "";
    hex_sha256(norm, w, hex, 64);
    free(norm);
    snprintf(out, out_size, "H:%s", hex);
}

int64_t mp_header_date(const char *hdr, size_t len)
{
    char *raw = mp_header_value(hdr, len, "Date");
    if (!raw)
        return INT64_MIN;
    GDateTime *dt = g_mime_utils_header_decode_date(raw);
    free(raw);
    if (!dt)
        return INT64_MIN;
    int64_t t = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return t;
}
