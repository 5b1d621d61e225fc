#include "ib_date.h"

#include "mbox_date.h"

#include <mailport/plugin.h>

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The unfolded value of the first Date: field in HDR, malloc'd; NULL when
 * there is none. */
static char *date_value(const char *hdr, size_t len)
{
    for (size_t p = 0; p < len;) {
        const char *nl = memchr(hdr + p, '\n', len - p);
        size_t eol = nl ? (size_t)(nl - hdr) : len;
        if (eol - p >= 5 && strncasecmp(hdr + p, "Date:", 5) == 0) {
            size_t s = p + 5, e = eol;
            /* Continuation lines start with white space. */
            while (e + 1 < len && (hdr[e + 1] == ' ' || hdr[e + 1] == '\t')) {
                const char *more = memchr(hdr + e + 1, '\n', len - e - 1);
                e = more ? (size_t)(more - hdr) : len;
            }
            char *v = malloc(e - s + 1);
            if (!v)
                return NULL;
            size_t w = 0;
            for (size_t i = s; i < e; i++)
                v[w++] = hdr[i] == '\r' || hdr[i] == '\n' ? ' ' : hdr[i];
            v[w] = '\0';
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

int64_t ib_message_date(const char *hdr, size_t hdr_len, const char *from,
                        size_t from_len)
{
    char *raw = date_value(hdr, hdr_len);
    if (raw) {
        GDateTime *dt = g_mime_utils_header_decode_date(raw);
        free(raw);
        if (dt) {
            int64_t t = g_date_time_to_unix(dt);
            g_date_time_unref(dt);
            return t;
        }
    }
    if (from_len > 5)
        return mbox_from_line_date(from + 5, from_len - 5);
    return MP_DATE_UNKNOWN;
}
