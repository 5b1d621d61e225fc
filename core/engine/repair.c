/* --repair: the rules are written at the declaration (repair.h). */
#include "repair.h"

#include "digest.h"
#include "eol.h"
#include "hashes.h"

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
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t start = i, end = i;
        while (start > from && word_char((unsigned char)s[start - 1]))
            start--;
        for (;;) {
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
        /* Blanks inside the run (folds among them) become one space. */
        buf run = {0};
        for (size_t k = start; k < end;) {
            if (wsp((unsigned char)s[k])) {
                while (k < end && wsp((unsigned char)s[k]))
                    k++;
                put(&run, " ", 1);
            } else {
                put(&run, s + k++, 1);
            }
        }
        put(&out, s + from, start - from);
        char *utf8 = run.bad ? NULL : to_utf8(run.p, run.n, declared, charset);
        char *words =
            utf8 ? g_mime_utils_header_encode_text(NULL, utf8, *charset) : NULL;
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

/* Is the message (top-level fields FS) one whose body rule 5 re-encodes? */
static int body_recodable(const fields *fs, size_t *cte)
{
    *cte = (size_t)-1;
    for (size_t i = 0; i < fs->n; i++) {
        const char *body;
        if (field_is(&fs->v[i], "Content-Type", &body)) {
            char *v = unfolded(body);
            GMimeContentType *ct = g_mime_content_type_parse(NULL, v);
            g_free(v);
            int text = !ct || g_mime_content_type_is_type(ct, "text", "*");
            if (ct)
                g_object_unref(ct);
            if (!text)
                return 0;
        } else if (field_is(&fs->v[i], "Content-Transfer-Encoding", &body)) {
            char *v = unfolded(body);
            g_strstrip(v);
            int plain = !*v || !strcasecmp(v, "7bit") ||
                        !strcasecmp(v, "8bit") || !strcasecmp(v, "binary");
            g_free(v);
            if (!plain)
                return 0;
            *cte = i;
        }
    }
    return 1;
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
    for (size_t i = 0; i < hend;) {
        const char *nl = memchr(lf + i, '\n', hend - i);
        size_t l = nl ? (size_t)(nl - (lf + i)) : hend - i;
        const char *s = lf + i;
        if (l && (s[0] == ' ' || s[0] == '\t')) {
            if (fs.n) {
                put(&fs.v[fs.n - 1].text, "\n", 1);
                put(&fs.v[fs.n - 1].text, s, l);
            } else {
                dropped++;
            }
        } else if (is_field_line(s, l)) {
            field *f = add_field(&fs);
            if (f)
                put(&f->text, s, l);
        } else if (fs.n) {
            put(&fs.v[fs.n - 1].text, "\n ", 2);
            put(&fs.v[fs.n - 1].text, s, l);
            folded++;
        } else {
            dropped++;
        }
        i += l + 1;
    }
    if (folded)
        note(&changes,
             "header line without a colon folded into the field "
             "before (%zu)",
             folded);
    if (dropped)
        note(&changes, "header line without a colon dropped (%zu)", dropped);

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

    /* Rule 5: the body as quoted-printable. */
    const char *body = lf + bstart;
    size_t body_n = n - bstart;
    size_t cte;
    int recode =
        sep && long_body_line(body, body_n) && body_recodable(&fs, &cte);
    if (recode) {
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
    }
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
        if (recode)
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
    char **changes;
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
                           char **changes)
{
    const size_t batch = 64;
    const char **keys = malloc(batch * sizeof *keys);
    size_t *positions = malloc(batch * sizeof *positions);
    repair_run h = {
        .list = list, .positions = positions, .out = out, .changes = changes};
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
