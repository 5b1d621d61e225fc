#include "cyrus_msgs.h"

#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct paths {
    char **v;
    size_t n, cap;
} paths;

static void add_path(const char *path, void *ctx)
{
    paths *p = ctx;
    if (p->n == p->cap) {
        p->cap = p->cap * 2 + 64;
        p->v = realloc(p->v, p->cap * sizeof *p->v);
        assert_non_null(p->v);
    }
    p->v[p->n++] = strdup(path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Does the header (up to the first empty line) hold field NAME? */
static int has_field(const char *text, size_t len, const char *name)
{
    size_t nl = strlen(name);
    for (size_t at = 0; at < len;) {
        if (text[at] == '\n')
            return 0; /* the end of the header */
        if (len - at > nl && strncasecmp(text + at, name, nl) == 0 &&
            text[at + nl] == ':')
            return 1;
        const char *eol = memchr(text + at, '\n', len - at);
        if (!eol)
            return 0;
        at = (size_t)(eol - text) + 1;
    }
    return 0;
}

static int is_clean(const char *text, size_t len)
{
    size_t line = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == 0 || ch == '\r' || ch >= 0x80)
            return 0;
        line = ch == '\n' ? 0 : line + 1;
        if (line > 998)
            return 0;
    }
    return len > 0 && text[len - 1] == '\n' && has_field(text, len, "Date") &&
           has_field(text, len, "Message-ID");
}

size_t clean_corpus_msgs(size_t n, corpus_msg **out)
{
    char *root = mp_strf("%s/maildir/notmuch-default", mp_corpora());
    paths p = {0};
    mp_walk_files(root, 1 << 20, add_path, &p);
    qsort(p.v, p.n, sizeof *p.v, cmp_str);
    *out = calloc(n, sizeof **out);
    size_t got = 0;
    for (size_t i = 0; i < p.n; i++) {
        size_t len;
        char *text = mp_read_file(p.v[i], &len);
        if (got < n && is_clean(text, len)) {
            (*out)[got].path = strdup(p.v[i]);
            (*out)[got].text = text;
            (*out)[got++].len = len;
        } else {
            free(text);
        }
        free(p.v[i]);
    }
    free(p.v);
    free(root);
    return got;
}

void corpus_msgs_free(corpus_msg *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].path);
        free(m[i].text);
    }
    free(m);
}

void put_maildir_msg(const char *dir, const char *name, const char *info,
                     const char *text, size_t len, time_t mtime)
{
    mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", dir, dir, dir);
    char *path = mp_strf("%s/cur/%s:2,%s", dir, name, info);
    mp_write_file(path, text, len);
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    utimensat(AT_FDCWD, path, ts, 0);
    free(path);
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* "dd-Mon-yyyy hh:mm:ss +zzzz" (RFC 3501 date-time) as seconds since the
 * epoch. */
static time_t parse_internaldate(const char *s)
{
    int d, y, hh, mm, ss, zone;
    char mon[4];
    if (sscanf(s, "%d-%3s-%d %d:%d:%d %d", &d, mon, &y, &hh, &mm, &ss, &zone) !=
        7)
        fail_msg("bad INTERNALDATE: %.40s", s);
    int m = 0;
    while (m < 12 && strcmp(months[m], mon) != 0)
        m++;
    assert_true(m < 12);
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = m,
                    .tm_mday = d,
                    .tm_hour = hh,
                    .tm_min = mm,
                    .tm_sec = ss};
    int sign = zone < 0 ? -1 : 1;
    int off = sign * ((sign * zone) / 100 * 3600 + (sign * zone) % 100 * 60);
    return timegm(&tm) - off;
}

/* Parse the FETCH items after "(" at *P into M; *P ends past ")". */
static void parse_fetch(char **p, server_msg *m)
{
    char *s = *p;
    while (*s && *s != ')') {
        while (*s == ' ')
            s++;
        if (strncmp(s, "UID ", 4) == 0) {
            m->uid = (unsigned)strtoul(s + 4, &s, 10);
        } else if (strncmp(s, "FLAGS (", 7) == 0) {
            char *end = strchr(s + 7, ')');
            assert_non_null(end);
            char *list = strndup(s + 7, (size_t)(end - s - 7));
            char *rec = strstr(list, "\\Recent");
            if (rec) {
                size_t rl = strlen("\\Recent") + (rec[7] == ' ');
                memmove(rec, rec + rl, strlen(rec + rl) + 1);
            }
            size_t l = strlen(list);
            if (l && list[l - 1] == ' ')
                list[l - 1] = '\0';
            m->flags = list;
            s = end + 1;
        } else if (strncmp(s, "INTERNALDATE \"", 14) == 0) {
            m->internaldate = parse_internaldate(s + 14);
            s = strchr(s + 14, '"');
            assert_non_null(s);
            s++;
        } else if (strncmp(s, "BODY[] {", 8) == 0) {
            size_t n = strtoul(s + 8, &s, 10);
            assert_true(s[0] == '}' && s[1] == '\r' && s[2] == '\n');
            s += 3;
            m->body = malloc(n + 1);
            memcpy(m->body, s, n);
            m->body[n] = '\0';
            m->len = n;
            s += n;
        } else {
            /* Anything else (MODSEQ, say): one atom and a value. */
            s += strcspn(s, " )");
            if (*s == ' ')
                s++;
            if (*s == '(')
                s = strchr(s, ')') + 1;
            else
                s += strcspn(s, " )");
        }
    }
    *p = *s ? s + 1 : s;
}

server_folder fetch_folder(mp_cyrus *c, const char *user, const char *folder)
{
    char *sel = mp_strf("SELECT \"%s\"", folder);
    const char *const cmds[] = {
        sel, "UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])", NULL};
    char *all = mp_cyrus_session(c, user, cmds);
    server_folder out = {0};
    for (char *p = all; (p = strstr(p, " FETCH ("));) {
        p += strlen(" FETCH (");
        out.v = realloc(out.v, (out.n + 1) * sizeof *out.v);
        server_msg *m = &out.v[out.n++];
        memset(m, 0, sizeof *m);
        parse_fetch(&p, m);
        if (!m->body || !m->flags)
            fail_msg("a FETCH answer without FLAGS or BODY[]:\n%s", all);
    }
    free(all);
    free(sel);
    return out;
}

void server_folder_free(server_folder *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].flags);
        free(f->v[i].body);
    }
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

size_t count_bytes(const server_folder *f, const char *bytes, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += f->v[i].len == len && memcmp(f->v[i].body, bytes, len) == 0;
    return n;
}
