/* --repair: the rules are written at the declaration (repair.h). */
#include "repair.h"

#include "digest.h"
#include "eol.h"
#include "hashes.h"
#include "header.h"

#include <gmime/gmime.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_OCTETS 998 /* RFC 5322 2.1.1 */
#define QP_LINE 76          /* RFC 2045 6.7 (5) */

typedef struct buf {
    char *p;
    size_t n, cap;
    int bad; /* out of memory */
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->bad)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *grown = realloc(b->p, cap);
        if (!grown) {
            b->bad = 1;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* One header field: its text, physical lines joined by LF, no final LF. */
typedef struct field {
    buf text;
} field;

typedef struct fields {
    field *v;
    size_t n;
    int bad;
} fields;

static field *add_field(fields *f)
{
    field *grown = realloc(f->v, (f->n + 1) * sizeof *grown);
    if (!grown) {
        f->bad = 1;
        return NULL;
    }
    f->v = grown;
    f->v[f->n] = (field){{0}};
    return &f->v[f->n++];
}

static void free_fields(fields *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].text.p);
    free(f->v);
}

/* A field line: a name of printable US-ASCII but ':', blanks, a colon. */
static int is_field_line(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] >= 33 && s[i] <= 126 && s[i] != ':')
        i++;
    if (i == 0)
        return 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i < n && s[i] == ':';
}

/* Remove the blanks between field F's name and its colon (RFC 5322
 * 4.5.8, obs-optional: "Subject : x"); returns 1 when there were any.
 * The obsolete form means the same, and strict servers refuse it: Cyrus
 * takes no byte at or below a space before the colon ("Message contains
 * invalid header"). */
static int close_up_colon(field *f)
{
    char *s = f->text.p;
    size_t n = f->text.n, name = 0;
    if (!s)
        return 0;
    while (name < n && s[name] >= 33 && s[name] <= 126 && s[name] != ':')
        name++;
    size_t colon = name;
    while (colon < n && (s[colon] == ' ' || s[colon] == '\t'))
        colon++;
    if (name == 0 || colon == name || colon >= n || s[colon] != ':')
        return 0;
    memmove(s + name, s + colon, n - colon + 1); /* with the NUL */
    f->text.n = n - (colon - name);
    return 1;
}

/* Is field F named NAME? Then *BODY is what follows its colon. */
static int field_is(const field *f, const char *name, const char **body)
{
    size_t len = strlen(name);
    const char *s = f->text.p;
    if (!s || strncasecmp(s, name, len) != 0)
        return 0;
    size_t i = len;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    if (s[i] != ':')
        return 0;
    *body = s + i + 1;
    return 1;
}

static int blank_text(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n')
            return 0;
    return 1;
}

/* The unfolded body of field F (malloc'd, g_free). */
static char *unfolded(const char *body)
{
    size_t n = strlen(body);
    char *out = g_malloc(n + 1);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (body[i] != '\n')
            out[w++] = body[i];
    out[w] = '\0';
    return out;
}

static int wsp(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

static int special(unsigned char c)
{
    return c && strchr("()<>[]:;@\\,\"", c) != NULL;
}

static int word_char(unsigned char c)
{
    return c && !wsp(c) && !special(c);
}

static int has_8bit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 1;
    return 0;
}

/* TEXT (N bytes, 8-bit) as UTF-8, read in the first charset that decodes
 * it (repair.h, rule 3); *CHARSET names it. NULL without memory. */
static char *to_utf8(const char *text, size_t n, const char *declared,
                     const char **charset)
{
    const char *order[] = {declared, "UTF-8", "windows-1252", "ISO-8859-1"};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        if (!order[k])
            continue;
        if (strcasecmp(order[k], "UTF-8") == 0 ||
            strcasecmp(order[k], "utf8") == 0) {
            if (g_utf8_validate(text, (gssize)n, NULL)) {
                *charset = "UTF-8";
                return g_strndup(text, n);
            }
            continue;
        }
        gsize read = 0, written = 0;
        char *out = g_convert(text, (gssize)n, "UTF-8", order[k], &read,
                              &written, NULL);
        if (out && read == n) {
            *charset = order[k];
            return out;
        }
        g_free(out);
    }
    return NULL;
}

/* UTF8 as nothing but B-encoded words in CHARSET (each of at most 75
 * characters, whole characters in each, separated by a space; g_free): a
 * phrase readers decode whatever it held, quotes and commas included.
 * GMime's own phrase encoder would leave such specials in a quoted string
 * around the words. */
static char *phrase_words(const char *utf8, const char *charset)
{
    size_t overhead = strlen(charset) + 7; /* =?CS?b?...?= */
    if (overhead + 8 > 75)
        return g_mime_utils_header_encode_text(NULL, utf8, charset);
    GString *out = g_string_new(NULL);
    const char *p = utf8;
    while (*p) {
        /* The most whole characters whose encoding fits one word. */
        const char *end = g_utf8_next_char(p), *fit = NULL;
        char *bytes = NULL;
        gsize n = 0;
        for (;;) {
            gsize got = 0;
            char *conv =
                g_convert(p, end - p, charset, "UTF-8", NULL, &got, NULL);
            if (!conv || overhead + 4 * ((got + 2) / 3) > 75) {
                g_free(conv);
                break;
            }
            g_free(bytes);
            bytes = conv;
            n = got;
            fit = end;
            if (!*end)
                break;
            end = g_utf8_next_char(end);
        }
        if (!fit) { /* a character this charset cannot hold */
            g_free(bytes);
            g_string_free(out, TRUE);
            return g_mime_utils_header_encode_text(NULL, utf8, "UTF-8");
        }
        char *b64 = g_base64_encode((const guchar *)bytes, n);
        g_string_append_printf(out, "%s=?%s?b?%s?=", out->len ? " " : "",
                               charset, b64);
        g_free(b64);
        g_free(bytes);
        p = fit;
    }
    return g_string_free(out, FALSE);
}

/* Field F's body with its runs of 8-bit words as RFC 2047 words. Returns
 * 1 when it changed, with the charset used in *CHARSET. */
static int encode_field(field *f, const char *declared, const char **charset)
{
    const char *colon = memchr(f->text.p, ':', f->text.n);
    if (!colon || !has_8bit(colon, f->text.n - (size_t)(colon - f->text.p)))
        return 0;
    const char *s = f->text.p;
    size_t n = f->text.n, from = (size_t)(colon - s) + 1;
    buf out = {0};
    put(&out, s, from);
    size_t i = from;
    while (i < n) {
        int quoted = s[i] == '"';
        size_t start = i, end = i;
        if (quoted) {
            /* A quoted string holding 8-bit bytes becomes encoded words
             * whole, its quotes dropped (RFC 2047 5: no encoded word
             * inside quotes). */
            for (end = i + 1; end < n && s[end] != '"'; end++)
                if (s[end] == '\\' && end + 1 < n)
                    end++;
            end = end < n ? end + 1 : n;
            if (!has_8bit(s + i, end - i)) {
                i = end;
                continue;
            }
        } else if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        while (!quoted && start > from &&
               word_char((unsigned char)s[start - 1]))
            start--;
        for (; !quoted;) {
            while (end < n && word_char((unsigned char)s[end]))
                end++;
            /* The next word, past blanks, if it holds 8-bit bytes too. */
            size_t next = end;
            while (next < n && wsp((unsigned char)s[next]))
                next++;
            size_t stop = next;
            while (stop < n && word_char((unsigned char)s[stop]))
                stop++;
            if (next == end || stop == next || !has_8bit(s + next, stop - next))
                break;
            end = stop;
        }
        /* Blanks inside the run (folds among them) become one space; a
         * quoted string loses its quotes and backslashes. */
        buf run = {0};
        size_t k0 = quoted ? start + 1 : start, k1 = end;
        if (quoted && k1 > k0 && s[k1 - 1] == '"')
            k1--;
        for (size_t k = k0; k < k1;) {
            if (quoted && s[k] == '\\' && k + 1 < k1) {
                put(&run, s + k + 1, 1);
                k += 2;
            } else if (wsp((unsigned char)s[k])) {
                while (k < k1 && wsp((unsigned char)s[k]))
                    k++;
                put(&run, " ", 1);
            } else {
                put(&run, s + k++, 1);
            }
        }
        put(&out, s + from, start - from);
        char *utf8 = run.bad ? NULL : to_utf8(run.p, run.n, declared, charset);
        char *words =
            !utf8    ? NULL
            : quoted ? phrase_words(utf8, *charset)
                     : g_mime_utils_header_encode_text(NULL, utf8, *charset);
        if (words) {
            puts_(&out, words);
        } else {
            out.bad = 1;
        }
        g_free(words);
        g_free(utf8);
        free(run.p);
        from = i = end;
    }
    put(&out, s + from, n - from);
    if (out.bad) {
        free(out.p);
        return -1;
    }
    free(f->text.p);
    f->text = out;
    return 1;
}

/* Fold the physical lines of F longer than 998 octets (rule 4). Returns
 * how many folds were made. */
static int fold_long(field *f)
{
    int folds = 0;
    for (size_t line = 0; line < f->text.n;) {
        const char *nl = memchr(f->text.p + line, '\n', f->text.n - line);
        size_t len = nl ? (size_t)(nl - (f->text.p + line)) : f->text.n - line;
        if (len <= LINE_MAX_OCTETS) {
            line += len + 1;
            continue;
        }
        size_t cut = 0; /* a blank within the limit, not at the start */
        for (size_t k = LINE_MAX_OCTETS; k > 1; k--)
            if (f->text.p[line + k] == ' ' || f->text.p[line + k] == '\t') {
                cut = k;
                break;
            }
        buf out = {0};
        put(&out, f->text.p, line + (cut ? cut : LINE_MAX_OCTETS - 1));
        put(&out, cut ? "\n" : "\n ", cut ? 1 : 2);
        size_t rest = line + (cut ? cut : LINE_MAX_OCTETS - 1);
        put(&out, f->text.p + rest, f->text.n - rest);
        if (out.bad) {
            free(out.p);
            return folds;
        }
        free(f->text.p);
        f->text = out;
        folds++;
        line = rest + 1; /* the new line: its blank, then the rest */
    }
    return folds;
}

static void remove_field(fields *fs, size_t i)
{
    free(fs->v[i].text.p);
    memmove(&fs->v[i], &fs->v[i + 1], (fs->n - i - 1) * sizeof *fs->v);
    fs->n--;
}

static void append_field(fields *fs, const char *text)
{
    field *f = add_field(fs);
    if (f)
        puts_(&f->text, text);
}

/* The body's longest line exceeds 998 octets? */
static int long_body_line(const char *s, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') {
            len = 0;
        } else if (++len > LINE_MAX_OCTETS) {
            return 1;
        }
    }
    return 0;
}

/* BODY (N bytes, LF lines) as quoted-printable into OUT. */
static void qp_encode(buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            put(out, "\n", 1);
            col = 0;
            continue;
        }
        int last = i + 1 == n || s[i + 1] == '\n';
        char enc[3];
        size_t w;
        if ((c >= 33 && c <= 126 && c != '=') ||
            ((c == ' ' || c == '\t') && !last)) {
            enc[0] = (char)c;
            w = 1;
        } else {
            enc[0] = '=';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            w = 3;
        }
        /* Room for a soft break ("=") after it unless the line ends. */
        if (col + w + (last ? 0 : 1) > QP_LINE) {
            put(out, "=\n", 2);
            col = 0;
        }
        put(out, enc, w);
        col += w;
    }
}

/* A base64 body S (N bytes) into OUT re-wrapped: its characters but
 * blanks and line breaks (which decoders skip, RFC 2045 6.8), in order, 76
 * to a line; a final line break when S ends with one. */
static void base64_rewrap(buf *out, const char *s, size_t n)
{
    size_t col = 0, end = n;
    while (end &&
           (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\n'))
        end--;
    for (size_t i = 0; i < end; i++) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')
            continue;
        if (col == QP_LINE) {
            put(out, "\n", 1);
            col = 0;
        }
        put(out, s + i, 1);
        col++;
    }
    if (memchr(s + end, '\n', n - end))
        put(out, "\n", 1);
}

/* A quoted-printable body S (N bytes) into OUT, each line over 998
 * octets cut by soft line breaks ("=" at the end, RFC 2045 6.7 (5)) into
 * lines of at most 76 octets; an "=" and the two octets after it (an
 * escape) are never cut apart. The other lines stay. */
static void qp_soft_breaks(buf *out, const char *s, size_t n)
{
    for (size_t at = 0; at < n;) {
        const char *nl = memchr(s + at, '\n', n - at);
        size_t end = nl ? (size_t)(nl - s) : n;
        if (end - at > LINE_MAX_OCTETS) {
            while (end - at > QP_LINE) {
                size_t q = at;
                for (;;) {
                    size_t t = s[q] == '=' ? (end - q < 3 ? end - q : 3) : 1;
                    if (q - at + t > QP_LINE - 1)
                        break;
                    q += t;
                }
                put(out, s + at, q - at);
                put(out, "=\n", 2);
                at = q;
            }
        }
        put(out, s + at, (nl ? end + 1 : end) - at);
        at = nl ? end + 1 : end;
    }
}

static void note(buf *changes, const char *fmt, ...)
{
    char text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (changes->n)
        puts_(changes, ", ");
    puts_(changes, text);
}

/* What rule 5 does with a body over 998 octets a line, by its entity's
 * fields (the first Content-Type and Content-Transfer-Encoding). */
enum body_kind {
    BODY_OTHER,   /* left as it is */
    BODY_TEXT,    /* re-encoded as quoted-printable */
    BODY_BASE64,  /* re-wrapped to 76 characters a line */
    BODY_QP,      /* given soft line breaks */
    BODY_MESSAGE, /* an attached message: repaired in turn */
};

/* The kind of the body of an entity of fields FS (a part of a
 * multipart/digest when IN_DIGEST); *CTE is the index of its
 * Content-Transfer-Encoding field, or (size_t)-1. */
static enum body_kind body_kind(const fields *fs, int in_digest, size_t *cte)
{
    *cte = (size_t)-1;
    GMimeContentType *ct = NULL;
    int typed = 0;
    char *enc = NULL;
    for (size_t i = 0; i < fs->n; i++) {
        const char *body;
        if (!typed && field_is(&fs->v[i], "Content-Type", &body)) {
            char *v = unfolded(body);
            ct = g_mime_content_type_parse(NULL, v);
            g_free(v);
            typed = 1;
        } else if (!enc &&
                   field_is(&fs->v[i], "Content-Transfer-Encoding", &body)) {
            enc = g_strstrip(unfolded(body));
            *cte = i;
        }
    }
    int plain = !enc || !*enc || !strcasecmp(enc, "7bit") ||
                !strcasecmp(enc, "8bit") || !strcasecmp(enc, "binary");
    enum body_kind kind = BODY_OTHER;
    if (enc && !strcasecmp(enc, "base64"))
        kind = BODY_BASE64;
    else if (enc && !strcasecmp(enc, "quoted-printable"))
        kind = BODY_QP;
    else if (!plain)
        kind = BODY_OTHER;
    else if (typed
                 ? ct &&
                       (g_mime_content_type_is_type(ct, "message", "rfc822") ||
                        g_mime_content_type_is_type(ct, "message", "global"))
                 : in_digest) /* a digest's parts: messages by default */
        kind = BODY_MESSAGE;
    else if (!ct || g_mime_content_type_is_type(ct, "text", "*"))
        kind = BODY_TEXT;
    if (ct)
        g_object_unref(ct);
    g_free(enc);
    return kind;
}

/* The charset the message's Content-Type declares, if iconv knows it
 * (g_free), else NULL. */
static char *declared_charset(const fields *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        const char *body;
        if (!field_is(&fs->v[i], "Content-Type", &body))
            continue;
        char *v = unfolded(body);
        GMimeContentType *ct =
            has_8bit(v, strlen(v)) ? NULL : g_mime_content_type_parse(NULL, v);
        g_free(v);
        const char *cs =
            ct ? g_mime_content_type_get_parameter(ct, "charset") : NULL;
        char *out = NULL;
        if (cs && *cs) {
            GIConv cd = g_iconv_open("UTF-8", cs);
            if (cd != (GIConv)-1) {
                g_iconv_close(cd);
                out = g_strdup(cs);
            }
        }
        if (ct)
            g_object_unref(ct);
        return out;
    }
    return NULL;
}

/* The header block S (N bytes) as fields, by rule 2: FOLDED and DROPPED
 * count the lines that are no fields folded into the field before, or
 * dropped. */
static void parse_fields(const char *s, size_t n, fields *fs, size_t *folded,
                         size_t *dropped)
{
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t l = nl ? (size_t)(nl - (s + i)) : n - i;
        const char *line = s + i;
        if (l && (line[0] == ' ' || line[0] == '\t')) {
            if (fs->n) {
                put(&fs->v[fs->n - 1].text, "\n", 1);
                put(&fs->v[fs->n - 1].text, line, l);
            } else {
                (*dropped)++;
            }
        } else if (is_field_line(line, l)) {
            field *f = add_field(fs);
            if (f)
                put(&f->text, line, l);
        } else if (fs->n) {
            put(&fs->v[fs->n - 1].text, "\n ", 2);
            put(&fs->v[fs->n - 1].text, line, l);
            (*folded)++;
        } else {
            (*dropped)++;
        }
        i += l + 1;
    }
}

/* The boundary of FS's Content-Type when it is a multipart (g_free), and
 * whether it is multipart/digest; else NULL. */
static char *multipart_boundary(const fields *fs, int *digest)
{
    *digest = 0;
    for (size_t i = 0; i < fs->n; i++) {
        const char *body;
        if (!field_is(&fs->v[i], "Content-Type", &body))
            continue;
        char *v = unfolded(body);
        GMimeContentType *ct = g_mime_content_type_parse(NULL, v);
        g_free(v);
        char *out = NULL;
        if (ct && g_mime_content_type_is_type(ct, "multipart", "*")) {
            const char *b = g_mime_content_type_get_parameter(ct, "boundary");
            if (b && *b && strlen(b) <= MP_VALIDATE_BOUNDARY_MAX)
                out = g_strdup(b);
            *digest = g_mime_content_type_is_type(ct, "multipart", "digest");
        }
        if (ct)
            g_object_unref(ct);
        return out;
    }
    return NULL;
}

/* FS, its Content-Transfer-Encoding field CTE (or (size_t)-1) replaced by
 * quoted-printable, then the blank line and BODY (N bytes) so encoded,
 * into OUT. */
static void put_recoded(buf *out, fields *fs, size_t cte, const char *body,
                        size_t n)
{
    if (cte != (size_t)-1)
        remove_field(fs, cte);
    append_field(fs, "Content-Transfer-Encoding: quoted-printable");
    for (size_t i = 0; i < fs->n; i++) {
        put(out, fs->v[i].text.p, fs->v[i].text.n);
        put(out, "\n", 1);
    }
    put(out, "\n", 1);
    qp_encode(out, body, n);
}

/* What rule 5 changed below the message's own body. */
typedef struct recoded {
    size_t text;   /* text parts re-encoded as quoted-printable */
    size_t base64; /* base64 parts re-wrapped */
    size_t qp;     /* quoted-printable parts given soft line breaks */
    size_t folds;  /* header lines of attached messages folded */
} recoded;

static size_t recoded_total(const recoded *r)
{
    return r->text + r->base64 + r->qp + r->folds;
}

static void recode_multipart(buf *out, const char *s, size_t n, const char *b,
                             int digest, int depth, recoded *count);
static void recode_message(buf *out, const char *s, size_t n, int depth,
                           recoded *count);

/* The body S (N bytes) of kind KIND (BODY_BASE64, BODY_QP or
 * BODY_MESSAGE) into OUT by rule 5, DEPTH levels down. */
static void recode_leaf(buf *out, enum body_kind kind, const char *s, size_t n,
                        int depth, recoded *count)
{
    if (kind == BODY_BASE64)
        base64_rewrap(out, s, n);
    else if (kind == BODY_QP)
        qp_soft_breaks(out, s, n);
    else if (depth < MP_VALIDATE_DEPTH)
        recode_message(out, s, n, depth + 1, count);
    else
        put(out, s, n);
}

/* One MIME part S (N bytes: its header, the blank line, its body; a part
 * of a multipart/digest when IN_DIGEST) into OUT, its body by rule 5 if it
 * has lines over 998 octets, and its own parts so when it is a multipart.
 * COUNT counts what was changed. */
static void recode_part(buf *out, const char *s, size_t n, int in_digest,
                        int depth, recoded *count)
{
    size_t hend = 0, bstart = 0;
    if (n && s[0] == '\n') {
        bstart = 1;
    } else {
        const char *sep = NULL;
        for (size_t i = 0; i + 1 < n && !sep; i++)
            if (s[i] == '\n' && s[i + 1] == '\n')
                sep = s + i;
        if (!sep) {
            put(out, s, n);
            return;
        }
        hend = (size_t)(sep - s) + 1;
        bstart = hend + 1;
    }
    fields fs = {0};
    size_t folded = 0, dropped = 0, cte;
    parse_fields(s, hend, &fs, &folded, &dropped);
    int digest;
    char *b = multipart_boundary(&fs, &digest);
    enum body_kind kind = b || !long_body_line(s + bstart, n - bstart)
                              ? BODY_OTHER
                              : body_kind(&fs, in_digest, &cte);
    if (b && depth < MP_VALIDATE_DEPTH) {
        put(out, s, bstart);
        recode_multipart(out, s + bstart, n - bstart, b, digest, depth + 1,
                         count);
    } else if (kind == BODY_TEXT) {
        put_recoded(out, &fs, cte, s + bstart, n - bstart);
        count->text++;
    } else if (kind != BODY_OTHER) {
        put(out, s, bstart);
        recode_leaf(out, kind, s + bstart, n - bstart, depth, count);
        count->base64 += kind == BODY_BASE64;
        count->qp += kind == BODY_QP;
    } else {
        put(out, s, n);
    }
    g_free(b);
    free_fields(&fs);
}

/* An attached message S (N bytes) into OUT: its header lines over 998
 * octets folded (rule 4), its body by rule 5 as a part's. */
static void recode_message(buf *out, const char *s, size_t n, int depth,
                           recoded *count)
{
    const char *sep = n && s[0] == '\n' ? s : NULL;
    for (size_t i = 0; i + 1 < n && !sep; i++)
        if (s[i] == '\n' && s[i + 1] == '\n')
            sep = s + i;
    size_t hend = sep ? (size_t)(sep - s) : n;
    field head = {{0}};
    put(&head.text, s, hend);
    int folds = fold_long(&head);
    count->folds += (size_t)folds;
    if (!folds) {
        recode_part(out, s, n, 0, depth, count);
    } else {
        put(&head.text, s + hend, n - hend);
        if (head.text.bad)
            out->bad = 1;
        else
            recode_part(out, head.text.p, head.text.n, 0, depth, count);
    }
    free(head.text.p);
}

/* The body S (N bytes) of a multipart of boundary B into OUT, each part
 * through recode_part; preamble, delimiter lines and epilogue as they are.
 * A multipart never closed ends with the body. */
static void recode_multipart(buf *out, const char *s, size_t n, const char *b,
                             int digest, int depth, recoded *count)
{
    size_t blen = strlen(b), seg = 0;
    int in_part = 0;
    for (size_t p = 0; p < n;) {
        const char *nl = memchr(s + p, '\n', n - p);
        size_t e = nl ? (size_t)(nl - s) : n; /* the line's end */
        int delim = e - p >= 2 + blen && s[p] == '-' && s[p + 1] == '-' &&
                    memcmp(s + p + 2, b, blen) == 0;
        size_t k = p + 2 + blen;
        int close = delim && e - k >= 2 && s[k] == '-' && s[k + 1] == '-';
        for (size_t q = close ? k + 2 : k; delim && q < e; q++)
            delim = s[q] == ' ' || s[q] == '\t';
        if (!delim) {
            p = e + 1;
            continue;
        }
        if (in_part && p > seg) {
            /* The line break before a delimiter is the delimiter's. */
            recode_part(out, s + seg, p - 1 - seg, digest, depth, count);
            put(out, "\n", 1);
        } else {
            put(out, s + seg, p - seg);
        }
        put(out, s + p, (e < n ? e + 1 : n) - p);
        seg = e < n ? e + 1 : n;
        if (close) {
            put(out, s + seg, n - seg);
            return;
        }
        in_part = 1;
        p = seg;
    }
    if (in_part)
        recode_part(out, s + seg, n - seg, digest, depth, count);
    else
        put(out, s + seg, n - seg);
}

/* Rules 6 and 7: Date and Message-ID. */
static void add_identity(fields *fs, const char *msg, size_t len,
                         int64_t internal_date, buf *changes)
{
    int date = 0, mid = 0;
    for (size_t i = 0; i < fs->n;) {
        const char *body;
        if (field_is(&fs->v[i], "Date", &body)) {
            if (blank_text(body)) {
                remove_field(fs, i);
                continue;
            }
            date = 1;
        } else if (field_is(&fs->v[i], "Message-ID", &body) && !mid) {
            char *v = unfolded(body);
            char *id = g_mime_utils_decode_message_id(v);
            g_free(v);
            int readable = id && *id;
            g_free(id);
            if (readable) {
                mid = 1;
            } else if (blank_text(body)) {
                remove_field(fs, i);
                continue;
            } else {
                /* Keep what it said, under a name no reader takes for
                 * the Message-ID. */
                buf renamed = {0};
                puts_(&renamed, "X-Original-Message-ID:");
                puts_(&renamed, body);
                if (!renamed.bad) {
                    free(fs->v[i].text.p);
                    fs->v[i].text = renamed;
                } else {
                    free(renamed.p);
                }
            }
        }
        i++;
    }
    if (!date && internal_date != INT64_MIN) {
        GDateTime *t = g_date_time_new_from_unix_utc(internal_date);
        char *d = t ? g_mime_utils_header_format_date(t) : NULL;
        if (d) {
            char text[200];
            snprintf(text, sizeof text, "Date: %s", d);
            append_field(fs, text);
            note(changes, "Date added");
        }
        g_free(d);
        if (t)
            g_date_time_unref(t);
    }
    if (!mid) {
        char hex[65], text[100];
        mp_digest_buffer(msg, len, hex);
        snprintf(text, sizeof text,
                 "Message-ID: <mailport.%.16s@repaired.invalid>", hex);
        append_field(fs, text);
        note(changes, "Message-ID added");
    }
}

int mp_repair_message(const char *msg, size_t len, int64_t internal_date,
                      mp_repair *out)
{
    *out = (mp_repair){0};
    if (len > MP_REPAIR_MAX)
        return -1;
    /* LF form, NULs removed. */
    char *lf = malloc(MP_EOL_OUT_MAX(len));
    if (!lf)
        return -1;
    mp_eol_conv conv;
    mp_eol_init(&conv, MP_EOLCONV_TO_LF);
    size_t n = mp_eol_convert(&conv, msg, len, lf);
    n += mp_eol_finish(&conv, lf + n);
    size_t nuls = 0, w = 0;
    for (size_t i = 0; i < n; i++) {
        if (lf[i])
            lf[w++] = lf[i];
        else
            nuls++;
    }
    n = w;
    buf changes = {0};
    if (nuls)
        note(&changes, "NUL removed (%zu)", nuls);

    /* The header: up to the first empty line (the whole message when
     * there is none). */
    size_t hend = n, bstart = n;
    int sep = 0;
    if (n && lf[0] == '\n') {
        hend = 0, bstart = 1, sep = 1;
    } else {
        for (size_t i = 0; i + 1 < n; i++)
            if (lf[i] == '\n' && lf[i + 1] == '\n') {
                hend = i + 1, bstart = i + 2, sep = 1;
                break;
            }
    }
    int final_break = hend > 0 && lf[hend - 1] == '\n';
    fields fs = {0};
    size_t folded = 0, dropped = 0;
    parse_fields(lf, hend, &fs, &folded, &dropped);
    if (folded)
        note(&changes,
             "header line without a colon folded into the field "
             "before (%zu)",
             folded);
    if (dropped)
        note(&changes, "header line without a colon dropped (%zu)", dropped);
    size_t closed = 0;
    for (size_t i = 0; i < fs.n; i++)
        closed += (size_t)close_up_colon(&fs.v[i]);
    if (closed)
        note(&changes, "white space before a colon removed (%zu field%s)",
             closed, closed == 1 ? "" : "s");

    char *declared = declared_charset(&fs);
    size_t encoded = 0;
    const char *first_charset = NULL;
    for (size_t i = 0; i < fs.n; i++) {
        const char *cs = NULL;
        int e = encode_field(&fs.v[i], declared, &cs);
        if (e < 0)
            fs.bad = 1;
        if (e > 0 && !encoded++)
            first_charset = cs;
    }
    if (encoded)
        note(&changes,
             "8-bit header text encoded as RFC 2047 words (%zu "
             "field%s, %s)",
             encoded, encoded == 1 ? "" : "s", first_charset);
    g_free(declared);

    /* Rule 5: a body with lines over 998 octets. */
    const char *body = lf + bstart;
    size_t body_n = n - bstart;
    size_t cte = (size_t)-1;
    recoded parts = {0};
    buf rebody = {0};
    enum body_kind kind = BODY_OTHER;
    if (sep && long_body_line(body, body_n)) {
        int digest;
        char *boundary = multipart_boundary(&fs, &digest);
        if (boundary)
            recode_multipart(&rebody, body, body_n, boundary, digest, 1,
                             &parts);
        else
            kind = body_kind(&fs, 0, &cte);
        g_free(boundary);
        if (kind != BODY_OTHER && kind != BODY_TEXT)
            recode_leaf(&rebody, kind, body, body_n, 1, &parts);
        fs.bad |= rebody.bad;
    }
    if (kind == BODY_TEXT) {
        const char *ignored;
        int mime = 0;
        for (size_t i = 0; i < fs.n; i++)
            mime |= field_is(&fs.v[i], "MIME-Version", &ignored);
        if (cte != (size_t)-1)
            remove_field(&fs, cte);
        if (!mime)
            append_field(&fs, "MIME-Version: 1.0");
        append_field(&fs, "Content-Transfer-Encoding: quoted-printable");
        note(&changes, "body re-encoded as quoted-printable (lines over 998 "
                       "octets)");
    } else if (kind == BODY_BASE64) {
        note(&changes, "base64 body re-wrapped to 76-character lines (lines "
                       "over 998 octets)");
    } else if (kind == BODY_QP) {
        note(&changes, "quoted-printable body given soft line breaks (lines "
                       "over 998 octets)");
    }
    static const char *const part_change[3][2] = {
        {"", "re-encoded as quoted-printable"},
        {"base64 ", "re-wrapped to 76-character lines"},
        {"quoted-printable ", "given soft line breaks"}};
    const size_t n_parts[3] = {parts.text, parts.base64, parts.qp};
    for (int k = 0; k < 3; k++)
        if (n_parts[k])
            note(&changes, "%zu %spart%s %s (lines over 998 octets)",
                 n_parts[k], part_change[k][0], n_parts[k] == 1 ? "" : "s",
                 part_change[k][1]);
    if (parts.folds)
        note(&changes,
             "header line over 998 octets folded in an attached message "
             "(%zu)",
             parts.folds);
    /* The body recoded whole (a leaf) or in parts. */
    int new_body =
        kind == BODY_BASE64 || kind == BODY_QP || recoded_total(&parts) > 0;
    add_identity(&fs, msg, len, internal_date, &changes);
    size_t folds = 0;
    for (size_t i = 0; i < fs.n; i++)
        folds += (size_t)fold_long(&fs.v[i]);
    if (folds)
        note(&changes, "header line over 998 octets folded (%zu)", folds);

    int result = 0;
    if (changes.n && !fs.bad && !changes.bad) {
        buf m = {0};
        for (size_t i = 0; i < fs.n; i++) {
            put(&m, fs.v[i].text.p, fs.v[i].text.n);
            if (i + 1 < fs.n || final_break || sep)
                put(&m, "\n", 1);
        }
        if (sep)
            put(&m, "\n", 1);
        if (new_body)
            put(&m, rebody.p, rebody.n);
        else if (kind == BODY_TEXT)
            qp_encode(&m, body, body_n);
        else
            put(&m, body, body_n);
        if (m.bad) {
            free(m.p);
            result = -1;
        } else {
            out->data = m.p ? m.p : strdup("");
            out->len = m.n;
            snprintf(out->changes, sizeof out->changes, "%s", changes.p);
            result = 1;
        }
    } else if (fs.bad || changes.bad) {
        result = -1;
    }
    free(changes.p);
    free(rebody.p);
    free_fields(&fs);
    free(lf);
    return result;
}

void mp_repair_free(mp_repair *r)
{
    free(r->data);
    *r = (mp_repair){0};
}

/* ------------------------------------------------------------------------ */
/* What verify compares a copy with: the source message repaired.          */

typedef struct repair_run {
    mp_msglist *list;
    const size_t *positions;
    mp_content_hashes *out;
    char **changes, **identity;
    size_t current;
    int64_t date;
    buf held;
    int open, too_big;
} repair_run;

static mp_status rh_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    repair_run *h = ctx;
    h->current = h->positions[index];
    /* The date copy --repair used: planning's, else the fetch's. */
    h->date = h->list->v[h->current].date;
    if (h->date == MP_DATE_UNKNOWN && info)
        h->date = info->internal_date;
    h->held.n = 0;
    h->held.bad = 0;
    h->open = 1;
    h->too_big = 0;
    return MP_OK;
}

static mp_status rh_data(void *ctx, const void *data, size_t len)
{
    repair_run *h = ctx;
    if (h->held.n + len > MP_REPAIR_MAX)
        h->too_big = 1;
    if (!h->too_big)
        put(&h->held, data, len);
    return h->held.bad ? MP_FATAL : MP_OK;
}

static mp_status rh_end(void *ctx, mp_status status)
{
    repair_run *h = ctx;
    h->open = 0;
    if (status != MP_OK || h->too_big)
        return status == MP_MSG_BAD ? MP_OK : status;
    mp_repair r;
    if (mp_repair_needed(h->held.p ? h->held.p : "", h->held.n, h->date, &r) ==
        1) {
        mp_content_hashes_buffer(r.data, r.len, &h->out[h->current]);
        h->changes[h->current] = strdup(r.changes);
        const char *end = r.len > 1 ? strstr(r.data, "\n\n") : NULL;
        char id[128];
        mp_identity_of_header(r.data, end ? (size_t)(end - r.data) + 1 : r.len,
                              id, sizeof id);
        h->identity[h->current] = strdup(id);
        mp_repair_free(&r);
    }
    return MP_OK;
}

int mp_repair_needed(const char *msg, size_t len, int64_t internal_date,
                     mp_repair *out)
{
    *out = (mp_repair){0};
    mp_validator v;
    mp_validate_init(&v);
    mp_validate_update(&v, msg, len);
    mp_validate_finish(&v);
    if (!(mp_validate_kinds(&v) & MP_FINDINGS_REPAIRED))
        return 0;
    return mp_repair_message(msg, len, internal_date, out);
}

mp_status mp_repair_hashes(mp_store *store, void *folder, mp_msglist *list,
                           const char *wanted, mp_content_hashes *out,
                           char **changes, char **identity)
{
    const size_t batch = 64;
    const char **keys = malloc(batch * sizeof *keys);
    size_t *positions = malloc(batch * sizeof *positions);
    repair_run h = {.list = list,
                    .positions = positions,
                    .out = out,
                    .changes = changes,
                    .identity = identity};
    const mp_fetch_cb cb = {sizeof cb, rh_begin, rh_data, rh_end};
    mp_status st = keys && positions ? MP_OK : MP_FATAL;
    for (size_t i = 0; i < list->n && st == MP_OK;) {
        size_t n = 0;
        for (; i < list->n && n < batch; i++)
            if (wanted[i]) {
                out[i].strict[0] = '\0';
                keys[n] = list->v[i].key;
                positions[n++] = i;
            }
        if (n) {
            mp_host_clear_error(&store->host);
            st = store->plugin->source->fetch(folder, keys, n, &cb, &h);
        }
    }
    free(h.held.p);
    free(keys);
    free(positions);
    return st;
}

size_t mp_repair_dst_wanted(const mp_msglist *dst, const char *claimed,
                            char *const *identity, size_t n_src, char *want)
{
    mp_msglist ids = {0};
    for (size_t i = 0; i < n_src; i++)
        if (identity[i]) {
            mp_msg_info info = {.struct_size = sizeof info, .key = identity[i]};
            mp_msglist_collect(&ids, &info);
        }
    size_t n = 0;
    for (size_t d = 0; d < dst->n; d++) {
        want[d] = !claimed[d] && dst->v[d].identity &&
                  mp_msglist_find(&ids, dst->v[d].identity) >= 0;
        n += want[d] != 0;
    }
    mp_msglist_free(&ids);
    return n;
}

long mp_repair_match(const mp_content_hashes *repaired, const char *identity,
                     const mp_msglist *dst, const char *claimed,
                     const mp_content_hashes *dh)
{
    for (size_t d = 0; repaired->strict[0] && identity && d < dst->n; d++)
        if (!claimed[d] && dh[d].strict[0] && dst->v[d].identity &&
            strcmp(dst->v[d].identity, identity) == 0 &&
            !mp_content_difference(repaired, &dh[d]))
            return (long)d;
    return -1;
}
