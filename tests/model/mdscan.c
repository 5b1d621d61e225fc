#include "mdscan.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

uint64_t md_hash_lf(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
            continue;
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Modified UTF-7 (RFC 3501 5.1.3), written here from the RFC so that the
 * oracle does not share mailport's code: printable ASCII stands for
 * itself ('&' as "&-"), anything else is UTF-16BE in base64 with ','
 * for '/', between '&' and '-'. */
static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

char *md_mutf7_encode(const char *utf8)
{
    size_t cap = strlen(utf8) * 6 + 8, w = 0;
    char *out = malloc(cap);
    const unsigned char *p = (const unsigned char *)utf8;
    while (out && *p) {
        if (*p >= 0x20 && *p <= 0x7e) {
            out[w++] = (char)*p;
            if (*p++ == '&')
                out[w++] = '-';
            continue;
        }
        /* A run of other characters, as UTF-16 units in base64. */
        uint32_t bits = 0;
        int nbits = 0;
        out[w++] = '&';
        while (*p && !(*p >= 0x20 && *p <= 0x7e)) {
            uint32_t cp;
            int extra = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : 0;
            cp = extra == 3   ? *p & 0x07u
                 : extra == 2 ? *p & 0x0fu
                 : extra == 1 ? *p & 0x1fu
                              : *p;
            p++;
            for (int i = 0; i < extra && (*p & 0xc0) == 0x80; i++)
                cp = (cp << 6) | (*p++ & 0x3fu);
            uint16_t units[2];
            int nu = 1;
            if (cp >= 0x10000) {
                cp -= 0x10000;
                units[0] = (uint16_t)(0xd800 | (cp >> 10));
                units[1] = (uint16_t)(0xdc00 | (cp & 0x3ff));
                nu = 2;
            } else {
                units[0] = (uint16_t)cp;
            }
            for (int u = 0; u < nu; u++) {
                bits = (bits << 16) | units[u];
                nbits += 16;
                while (nbits >= 6) {
                    nbits -= 6;
                    out[w++] = B64[(bits >> nbits) & 0x3f];
                }
            }
        }
        if (nbits)
            out[w++] = B64[(bits << (6 - nbits)) & 0x3f];
        out[w++] = '-';
    }
    if (out)
        out[w] = '\0';
    return out;
}

char *md_mutf7_decode(const char *m)
{
    size_t w = 0;
    char *out = malloc(strlen(m) * 3 + 1);
    while (out && *m) {
        if (*m != '&') {
            out[w++] = *m++;
            continue;
        }
        m++;
        if (*m == '-') {
            out[w++] = '&';
            m++;
            continue;
        }
        uint32_t bits = 0, hi = 0;
        int nbits = 0;
        for (; *m && *m != '-'; m++) {
            const char *k = strchr(B64, *m);
            if (!k) {
                free(out);
                return NULL;
            }
            bits = (bits << 6) | (uint32_t)(k - B64);
            nbits += 6;
            if (nbits < 16)
                continue;
            nbits -= 16;
            uint32_t u = (bits >> nbits) & 0xffff;
            if (u >= 0xd800 && u < 0xdc00) {
                hi = u;
                continue;
            }
            uint32_t cp =
                hi ? 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00) : u;
            hi = 0;
            if (cp < 0x80) {
                out[w++] = (char)cp;
            } else if (cp < 0x800) {
                out[w++] = (char)(0xc0 | (cp >> 6));
                out[w++] = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                out[w++] = (char)(0xe0 | (cp >> 12));
                out[w++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[w++] = (char)(0x80 | (cp & 0x3f));
            } else {
                out[w++] = (char)(0xf0 | (cp >> 18));
                out[w++] = (char)(0x80 | ((cp >> 12) & 0x3f));
                out[w++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[w++] = (char)(0x80 | (cp & 0x3f));
            }
        }
        if (*m == '-')
            m++;
    }
    if (out)
        out[w] = '\0';
    return out;
}

char *md_folder_dir(const char *root, const char *name)
{
    char *out = NULL;
    if (strcmp(name, "INBOX") == 0)
        return strdup(root);
    char *enc = md_mutf7_encode(name);
    if (!enc || asprintf(&out, "%s/.%s", root, enc) < 0)
        out = NULL;
    free(enc);
    for (char *p = out ? out + strlen(root) + 2 : NULL; p && *p; p++)
        if (*p == '/')
            *p = '.';
    return out;
}

void md_flag_letters(unsigned flags, char *out)
{
    if (flags & OF_DRAFT)
        *out++ = 'D';
    if (flags & OF_FLAGGED)
        *out++ = 'F';
    if (flags & OF_ANSWERED)
        *out++ = 'R';
    if (flags & OF_SEEN)
        *out++ = 'S';
    *out = '\0';
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            char *g = realloc(buf, cap + 1);
            if (!g)
                free(buf);
            buf = g;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* dovecot-keywords: "N name" lines. */
static void load_keywords(const char *dir, char *names[26])
{
    char *path = NULL;
    if (asprintf(&path, "%s/dovecot-keywords", dir) < 0)
        return;
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *end;
        long n = strtol(line, &end, 10);
        if (end == line || *end != ' ' || n < 0 || n >= 26)
            continue;
        end++;
        end[strcspn(end, "\r\n")] = '\0';
        free(names[n]);
        /* Kept as written: a keyword whose case changed on the way is a
         * difference the oracle must see. */
        names[n] = strdup(end);
    }
    fclose(f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void crlf_to_lf(char *data, size_t *len)
{
    size_t w = 0;
    for (size_t r = 0; r < *len; r++) {
        if (data[r] == '\r' && r + 1 < *len && data[r + 1] == '\n')
            continue;
        data[w++] = data[r];
    }
    data[w] = '\0';
    *len = w;
}

static void read_sub(md_folder *f, const char *dir, const char *sub,
                     char *kw[26])
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, sub) < 0)
        return;
    DIR *d = opendir(path);
    if (!d) {
        free(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        md_msg m = {0};
        if (asprintf(&m.path, "%s/%s", path, e->d_name) < 0)
            continue;
        struct stat st;
        if (stat(m.path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(m.path);
            continue;
        }
        m.data = read_all(m.path, &m.len);
        if (!m.data) { /* gone meanwhile */
            free(m.path);
            continue;
        }
        crlf_to_lf(m.data, &m.len);
        m.hash = md_hash_lf(m.data, m.len);
        m.mtime = st.st_mtime;
        m.in_new = strcmp(sub, "new") == 0;
        const char *info = strstr(e->d_name, ":2,");
        if (!info)
            info = strstr(e->d_name, "!2,");
        char *names[26];
        size_t nn = 0;
        if (info) {
            for (const char *p = info + 3; *p; p++) {
                switch (*p) {
                case 'D':
                    m.flags |= OF_DRAFT;
                    break;
                case 'F':
                    m.flags |= OF_FLAGGED;
                    break;
                case 'R':
                    m.flags |= OF_ANSWERED;
                    break;
                case 'S':
                    m.flags |= OF_SEEN;
                    break;
                default:
                    if (*p >= 'a' && *p <= 'z') {
                        const char *name = kw[*p - 'a'];
                        if (name && nn < 26)
                            names[nn++] = (char *)name;
                        else if (!name)
                            m.flags |= OF_OTHER; /* a letter nobody named */
                    } else {
                        m.flags |= OF_OTHER;
                    }
                }
            }
        }
        qsort(names, nn, sizeof names[0], cmp_str);
        size_t total = 1;
        for (size_t i = 0; i < nn; i++)
            total += strlen(names[i]) + 1;
        m.keywords = calloc(1, total);
        for (size_t i = 0; i < nn; i++) {
            if (i)
                strcat(m.keywords, " ");
            strcat(m.keywords, names[i]);
        }
        f->v = realloc(f->v, (f->n + 1) * sizeof *f->v);
        f->v[f->n++] = m;
    }
    closedir(d);
    free(path);
}

static void read_folder(md_tree *t, const char *dir, const char *name)
{
    char *cur = NULL;
    if (asprintf(&cur, "%s/cur", dir) < 0)
        return;
    struct stat st;
    int ok = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);
    free(cur);
    if (!ok)
        return;
    md_folder f = {.name = strdup(name)};
    char *kw[26] = {0};
    load_keywords(dir, kw);
    read_sub(&f, dir, "cur", kw);
    read_sub(&f, dir, "new", kw);
    for (int i = 0; i < 26; i++)
        free(kw[i]);
    t->f = realloc(t->f, (t->n + 1) * sizeof *t->f);
    t->f[t->n++] = f;
}

md_tree md_tree_read(const char *root)
{
    md_tree t = {0};
    read_folder(&t, root, "INBOX");
    DIR *d = opendir(root);
    if (!d)
        return t;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] != '.' || !strcmp(e->d_name, ".") ||
            !strcmp(e->d_name, ".."))
            continue;
        char *raw = strdup(e->d_name + 1);
        for (char *p = raw; *p; p++)
            if (*p == '.')
                *p = '/';
        char *name = md_mutf7_decode(raw);
        if (!name) /* not modified UTF-7: keep the name as it is */
            name = strdup(raw);
        free(raw);
        char *dir = NULL;
        if (asprintf(&dir, "%s/%s", root, e->d_name) >= 0) {
            read_folder(&t, dir, name);
            free(dir);
        }
        free(name);
    }
    closedir(d);
    return t;
}

void md_tree_free(md_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        for (size_t k = 0; k < t->f[i].n; k++) {
            free(t->f[i].v[k].path);
            free(t->f[i].v[k].data);
            free(t->f[i].v[k].keywords);
        }
        free(t->f[i].v);
        free(t->f[i].name);
    }
    free(t->f);
    t->f = NULL;
    t->n = 0;
}

const md_folder *md_tree_folder(const md_tree *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->f[i].name, name) == 0)
            return &t->f[i];
    return NULL;
}
