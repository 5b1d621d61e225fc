/* Validation of a message as it streams past (validate.h): a byte scanner
 * that follows lines (eol.h's line breaks), the header block and the MIME
 * structure; GMime reads the Content-Type and Message-ID values. */
#include "validate.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The header fields whose values are kept, by index into value[]. */
enum { F_TYPE, F_DATE, F_MID, F__N };
static const char *const field_name[F__N] = {"Content-Type", "Date",
                                             "Message-ID"};

/* Bytes that end a run of ordinary line content: in a body, NUL and the
 * line-break bytes; in the message's header, 8-bit bytes too. */
#define ROW0 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0
#define X16(b) b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b
#define X128(b) X16(b), X16(b), X16(b), X16(b), X16(b), X16(b), X16(b), X16(b)
static const unsigned char stop_body[256] = {
    ROW0, X16(0), X16(0), X16(0), X16(0), X16(0), X16(0), X16(0), X128(0)};
static const unsigned char stop_header[256] = {
    ROW0, X16(0), X16(0), X16(0), X16(0), X16(0), X16(0), X16(0), X128(1)};

void mp_validate_init(mp_validator *v)
{
    memset(v->found, 0, sizeof v->found);
    v->offset = v->line_start = v->line_len = 0;
    v->line = 1;
    v->pending_cr = 0;
    v->in_header = v->top = v->keep = 1;
    v->n_kept = 0;
    v->field = -1;
    for (int f = 0; f < F__N; f++)
        v->has[f] = 0, v->value_len[f] = 0;
    v->type_line = 0;
    v->part_digest = 0;
    v->depth = 0;
}

static void note(mp_validator *v, mp_finding_kind kind, uint64_t offset,
                 uint64_t line, uint64_t length)
{
    mp_finding *f = &v->found[kind];
    if (f->count++ == 0) {
        f->offset = offset;
        f->line = line;
        f->length = length;
    }
}

static void keep_value(mp_validator *v, int f, const char *s, size_t n)
{
    size_t room = MP_VALIDATE_FIELD_KEEP - v->value_len[f];
    if (n > room)
        n = room;
    memcpy(v->value[f] + v->value_len[f], s, n);
    v->value_len[f] += n;
    v->value[f][v->value_len[f]] = '\0';
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

static void forget_fields(mp_validator *v)
{
    v->field = -1;
    for (int f = 0; f < F__N; f++)
        v->has[f] = 0, v->value_len[f] = 0;
}

/* The empty line (or the end of the message) ended a header block. */
static void end_header(mp_validator *v)
{
    if (v->top) {
        if (!v->has[F_DATE] || blank(v->value[F_DATE], v->value_len[F_DATE]))
            note(v, MP_FINDING_NO_DATE, 0, 0, 0);
        char *id = v->has[F_MID]
                       ? g_mime_utils_decode_message_id(v->value[F_MID])
                       : NULL;
        if (!id || !*id)
            note(v, MP_FINDING_NO_MESSAGE_ID, 0, 0, 0);
        g_free(id);
    }
    int embedded = v->part_digest && !v->has[F_TYPE];
    if (v->has[F_TYPE]) {
        GMimeContentType *ct =
            g_mime_content_type_parse(NULL, v->value[F_TYPE]);
        if (ct && g_mime_content_type_is_type(ct, "multipart", "*")) {
            const char *b = g_mime_content_type_get_parameter(ct, "boundary");
            size_t len = b ? strlen(b) : 0;
            if (len && len <= MP_VALIDATE_BOUNDARY_MAX &&
                v->depth < MP_VALIDATE_DEPTH) {
                mp_mime_level *l = &v->level[v->depth++];
                memcpy(l->boundary, b, len + 1);
                l->len = len;
                l->line = v->type_line;
                l->digest =
                    g_mime_content_type_is_type(ct, "multipart", "digest");
            }
        } else if (ct &&
                   (g_mime_content_type_is_type(ct, "message", "rfc822") ||
                    g_mime_content_type_is_type(ct, "message", "global"))) {
            embedded = 1;
        }
        if (ct)
            g_object_unref(ct);
    }
    forget_fields(v);
    v->top = 0;
    v->part_digest = 0;
    /* A message inside this part: its header block comes next. */
    v->in_header = embedded;
}

/* A header line (kept in v->kept, cut at MP_VALIDATE_LINE_KEEP). */
static void header_line(mp_validator *v)
{
    const char *s = v->kept;
    size_t n = v->n_kept;
    if (v->line_len == 0) {
        end_header(v);
        return;
    }
    if (s[0] == ' ' || s[0] == '\t') { /* a continuation line */
        if (v->field >= 0)
            keep_value(v, v->field, s, n);
        return;
    }
    v->field = -1;
    size_t i = 0;
    while (i < n && (unsigned char)s[i] > ' ' && (unsigned char)s[i] < 127 &&
           s[i] != ':')
        i++;
    size_t name_len = i;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (name_len == 0 || i >= n || s[i] != ':') {
        if (v->top)
            note(v, MP_FINDING_NO_COLON, v->line_start, v->line, 0);
        return;
    }
    if (i > name_len && v->top)
        note(v, MP_FINDING_COLON_BLANK, v->line_start, v->line, 0);
    for (int f = 0; f < (v->top ? F__N : 1); f++)
        if (!v->has[f] && strlen(field_name[f]) == name_len &&
            strncasecmp(s, field_name[f], name_len) == 0) {
            v->has[f] = 1;
            v->field = f;
            if (f == F_TYPE)
                v->type_line = v->line;
            keep_value(v, f, s + i + 1, n - i - 1);
        }
}

/* A line starting "--" inside a multipart: a delimiter or a closing
 * delimiter of an open multipart (the innermost that matches)? */
static int boundary_line(mp_validator *v)
{
    const char *s = v->kept + 2;
    size_t n = v->n_kept - 2;
    for (int i = v->depth - 1; i >= 0; i--) {
        const mp_mime_level *l = &v->level[i];
        if (n < l->len || memcmp(s, l->boundary, l->len) != 0)
            continue;
        const char *rest = s + l->len;
        size_t rn = n - l->len;
        if (rn >= 2 && rest[0] == '-' && rest[1] == '-') {
            v->depth = i; /* closed, with whatever it enclosed */
            v->in_header = 0;
        } else if (blank(rest, rn)) {
            v->depth = i + 1; /* the next part of level I begins */
            v->in_header = 1;
            v->part_digest = l->digest;
        } else {
            continue;
        }
        v->top = 0;
        forget_fields(v);
        return 1;
    }
    return 0;
}

/* The current line ended; the next one starts at offset NEXT. */
static void end_line(mp_validator *v, uint64_t next)
{
    if (v->line_len > MP_VALIDATE_LINE_MAX)
        note(v, MP_FINDING_LONG_LINE, v->line_start, v->line, v->line_len);
    if (v->keep &&
        !(v->depth && v->n_kept >= 2 && v->kept[0] == '-' &&
          v->kept[1] == '-' && boundary_line(v)) &&
        v->in_header)
        header_line(v);
    v->line++;
    v->line_len = 0;
    v->n_kept = 0;
    v->line_start = next;
    v->keep = v->in_header; /* body lines: decided by their first byte */
}

/* Does P (N bytes) hold a byte 0x80-0xFF? Eight at a time. */
static int has_8bit(const unsigned char *p, size_t n)
{
    uint64_t any = 0, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        any |= w;
    }
    for (; i < n; i++)
        any |= p[i];
    return (any & 0x8080808080808080u) != 0;
}

/* The end of the line content from P (before END), noting the NUL and
 * 8-bit bytes STOP stops at; P is at offset AT. */
static const unsigned char *content_run(mp_validator *v, const unsigned char *p,
                                        const unsigned char *end,
                                        const unsigned char *stop, uint64_t at)
{
    const unsigned char *q = p;
    for (;;) {
        while (q < end && !stop[*q])
            q++;
        if (q == end || *q == '\r' || *q == '\n')
            return q;
        note(v, *q == 0 ? MP_FINDING_NUL : MP_FINDING_HEADER_8BIT,
             at + (uint64_t)(q - p), v->line, 0);
        q++;
    }
}

void mp_validate_update(mp_validator *v, const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf, *end = p + len;
    const uint64_t base = v->offset;
    /* Most chunks hold neither CR nor NUL (LF mail): then a line's content
     * ends at the next LF, which memchr finds fast. */
    const int lf_only = !memchr(buf, '\r', len) && !memchr(buf, '\0', len);
#define AT(ptr) (base + (uint64_t)((ptr) - (const unsigned char *)buf))
    while (p < end) {
        unsigned char c = *p;
        if (c == '\n') { /* with the CRs before it: one line break */
            v->pending_cr = 0;
            end_line(v, AT(p) + 1);
            p++;
            continue;
        }
        if (v->pending_cr) {
            if (c == '\r') {
                if (v->pending_cr == 2) /* the first of three: a lone CR */
                    end_line(v, AT(p) - 1);
                v->pending_cr = 2;
                p++;
                continue;
            }
            if (v->pending_cr == 2)
                end_line(v, AT(p) - 1);
            end_line(v, AT(p));
            v->pending_cr = 0;
        }
        if (c == '\r') {
            v->pending_cr = 1;
            p++;
            continue;
        }
        /* Line content up to the next line-break byte. */
        const unsigned char *stop =
            v->in_header && v->top ? stop_header : stop_body;
        if (v->line_len == 0 && !v->in_header)
            v->keep = v->depth > 0 && c == '-';
        const unsigned char *q;
        if (lf_only) {
            q = memchr(p, '\n', (size_t)(end - p));
            if (!q)
                q = end;
            if (stop == stop_header && has_8bit(p, (size_t)(q - p)))
                content_run(v, p, q, stop, AT(p));
        } else {
            q = content_run(v, p, end, stop, AT(p));
        }
        size_t run = (size_t)(q - p);
        if (v->keep && v->n_kept < MP_VALIDATE_LINE_KEEP) {
            size_t take = MP_VALIDATE_LINE_KEEP - v->n_kept;
            if (take > run)
                take = run;
            memcpy(v->kept + v->n_kept, p, take);
            v->n_kept += take;
        }
        v->line_len += run;
        p = q;
    }
#undef AT
    v->offset = base + len;
}

void mp_validate_finish(mp_validator *v)
{
    if (v->pending_cr == 2)
        end_line(v, v->offset - 1);
    if (v->pending_cr)
        end_line(v, v->offset);
    v->pending_cr = 0;
    if (v->line_len)
        end_line(v, v->offset); /* a last line without a line break */
    if (v->in_header && v->top)
        end_header(v); /* the header section runs to the end */
    if (v->depth) {
        mp_finding *f = &v->found[MP_FINDING_MIME_TRUNCATED];
        f->count = (uint64_t)v->depth;
        f->offset = 0;
        f->line = v->level[0].line;
        f->length = 0;
    }
}

unsigned mp_validate_kinds(const mp_validator *v)
{
    unsigned kinds = 0;
    for (int k = 0; k < MP_FINDING__N; k++)
        if (v->found[k].count)
            kinds |= 1u << k;
    return kinds;
}

static void phrase(mp_finding_kind k, const mp_finding *f, char *out,
                   size_t size)
{
    unsigned long long n = f->count, off = f->offset, line = f->line,
                       len = f->length;
    switch (k) {
    case MP_FINDING_NUL:
        if (n == 1)
            snprintf(out, size, "a NUL byte at offset %llu (line %llu)", off,
                     line);
        else
            snprintf(out, size,
                     "%llu NUL bytes (the first at offset %llu, line %llu)", n,
                     off, line);
        break;
    case MP_FINDING_HEADER_8BIT:
        if (n == 1)
            snprintf(out, size,
                     "an 8-bit byte in its header at offset %llu (line %llu)",
                     off, line);
        else
            snprintf(out, size,
                     "%llu 8-bit bytes in its header (the first at offset "
                     "%llu, line %llu)",
                     n, off, line);
        break;
    case MP_FINDING_NO_COLON:
        if (n == 1)
            snprintf(out, size,
                     "a header line without a field name and colon (line "
                     "%llu)",
                     line);
        else
            snprintf(out, size,
                     "%llu header lines without a field name and colon (the "
                     "first on line %llu)",
                     n, line);
        break;
    case MP_FINDING_COLON_BLANK:
        if (n == 1)
            snprintf(out, size,
                     "a field name followed by white space before its colon "
                     "(line %llu)",
                     line);
        else
            snprintf(out, size,
                     "%llu field names followed by white space before their "
                     "colons (the first on line %llu)",
                     n, line);
        break;
    case MP_FINDING_LONG_LINE:
        if (n == 1)
            snprintf(out, size,
                     "a line longer than 998 octets (line %llu: %llu octets)",
                     line, len);
        else
            snprintf(out, size,
                     "%llu lines longer than 998 octets (the first on line "
                     "%llu: %llu octets)",
                     n, line, len);
        break;
    case MP_FINDING_NO_DATE:
        snprintf(out, size, "no Date field");
        break;
    case MP_FINDING_NO_MESSAGE_ID:
        snprintf(out, size, "no Message-ID");
        break;
    case MP_FINDING_MIME_TRUNCATED:
        if (n == 1)
            snprintf(out, size,
                     "a multipart whose closing boundary never comes (its "
                     "Content-Type on line %llu)",
                     line);
        else
            snprintf(out, size,
                     "%llu multiparts whose closing boundaries never come "
                     "(the outermost's Content-Type on line %llu)",
                     n, line);
        break;
    default:
        out[0] = '\0';
    }
}

size_t mp_validate_describe(const mp_validator *v, unsigned mask, char *out,
                            size_t size)
{
    char part[MP_FINDING__N][160];
    int n = 0;
    for (int k = 0; k < MP_FINDING__N; k++)
        if ((mask & (1u << k)) && v->found[k].count)
            phrase((mp_finding_kind)k, &v->found[k], part[n++], sizeof part[0]);
    size_t w = 0;
    if (size)
        out[0] = '\0';
    for (int i = 0; i < n && w + 1 < size; i++) {
        const char *sep = i == 0 ? "" : i == n - 1 ? " and " : ", ";
        int k = snprintf(out + w, size - w, "%s%s", sep, part[i]);
        w = k < 0 ? w : w + (size_t)k >= size ? size - 1 : w + (size_t)k;
    }
    return w;
}
