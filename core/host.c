#include "host.h"

#include "log.h"
#include "secret.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mp_core_host *core_of(mp_host *h)
{
    return (mp_core_host *)h->core;
}

static void host_log(mp_host *h, int level, const char *fmt, ...)
{
    (void)h;
    va_list ap;
    va_start(ap, fmt);
    mp_logv(level, fmt, ap);
    va_end(ap);
}

static void host_set_error(mp_host *h, mp_error_kind kind, const char *fmt,
                           ...)
{
    mp_core_host *c = core_of(h);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->err_kind = kind;
}

static const char *host_param(mp_host *h, const char *name, size_t nth)
{
    mp_url *u = core_of(h)->url;
    if (!u)
        return NULL;
    const char *found = NULL;
    size_t seen = 0;
    for (size_t i = 0; i < u->n_params; i++) {
        if (strcmp(u->params[i].name, name) != 0)
            continue;
        u->params[i].asked = 1;
        if (seen++ == nth && !found)
            found = u->params[i].value;
    }
    return found;
}

static mp_status host_secret(mp_host *h, const char *kind, const char *prompt,
                             char **out)
{
    mp_core_host *c = core_of(h);
    char name[64];
    const char *file, *env, *cmd;
    snprintf(name, sizeof name, "%s_file", kind);
    file = host_param(h, name, 0);
    snprintf(name, sizeof name, "%s_env", kind);
    env = host_param(h, name, 0);
    snprintf(name, sizeof name, "%s_cmd", kind);
    cmd = host_param(h, name, 0);
    const char *inline_pw =
        (c->url && strcmp(kind, "password") == 0) ? c->url->password : NULL;
    return mp_secret_obtain(kind, file, env, cmd, inline_pw, prompt, out,
                            c->err, sizeof c->err, &c->err_kind);
}

static void host_secret_free(mp_host *h, char *s)
{
    (void)h;
    mp_secret_free(s);
}

/* Find the raw value of header NAME in the header block, unfolded into a
 * malloc'd string; NULL when absent. */
static char *header_value(const char *hdr, size_t len, const char *name)
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
                const char *next = memchr(stop + 1, '\n', (size_t)(end - stop - 1));
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

void mp_identity_of_header(const char *hdr, size_t len, char *out,
                           size_t out_size)
{
    char *raw = header_value(hdr, len, "Message-ID");
    char *id = raw ? g_mime_utils_decode_message_id(raw) : NULL;
    free(raw);
    if (id && *id) {
        size_t idlen = strlen(id);
        if (idlen + 3 <= out_size && idlen <= 72) {
            snprintf(out, out_size, "M:%s", id);
        } else {
            char hex[65] = "";
            hex_sha256(id, idlen, hex, 64);
            snprintf(out, out_size, "M#%.*s", (int)(out_size > 4 ? out_size - 4 : 0), hex);
        }
        g_free(id);
        return;
    }
    g_free(id);
    /* No Message-ID: hash the header block with line endings as LF, so the
     * same message held as CRLF (IMAP) and LF (Maildir) agrees. */
    char *norm = malloc(len + 1);
    size_t w = 0;
    for (size_t i = 0; i < len; i++)
        if (!(hdr[i] == '\r' && i + 1 < len && hdr[i + 1] == '\n'))
            norm[w++] = hdr[i];
    while (w > 0 && norm[w - 1] == '\n')
        w--; /* trailing line breaks differ between splitters */
    char hex[65] = "";
    hex_sha256(norm, w, hex, 64);
    free(norm);
    snprintf(out, out_size, "H:%s", hex);
}

static void host_identity(mp_host *h, const char *hdr, size_t len, char *out,
                          size_t out_size)
{
    (void)h;
    mp_identity_of_header(hdr, len, out, out_size);
}

void mp_host_init(mp_core_host *h, mp_url *url)
{
    memset(h, 0, sizeof *h);
    h->url = url;
    h->pub = (mp_host){
        .struct_size = sizeof(mp_host),
        .log = host_log,
        .set_error = host_set_error,
        .param = host_param,
        .secret = host_secret,
        .secret_free = host_secret_free,
        .identity_of_header = host_identity,
        .core = h,
    };
}

void mp_host_clear_error(mp_core_host *h)
{
    h->err[0] = '\0';
    h->err_kind = MP_ERR_NONE;
}
