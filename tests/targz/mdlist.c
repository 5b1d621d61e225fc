#include "mdlist.h"

#include "testutil.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int listing_lf; /* hash files in their LF form */

void file_sha256(const char *path, char hex[65])
{
    size_t len;
    char *data = mp_read_file(path, &len);
    if (listing_lf) { /* as an LF store keeps it (testutil's reference) */
        char *lf = mp_lf_form(data, len, &len);
        free(data);
        data = lf;
    }
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    free(data);
}

typedef struct lines {
    char **v;
    size_t n, cap;
} lines;

static void add_line(lines *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void keywords_of(const char *folder, char *kw[26])
{
    char *path = mp_strf("%s/dovecot-keywords", folder);
    memset(kw, 0, 26 * sizeof *kw);
    if (mp_file_exists(path)) {
        char *text = mp_read_file(path, NULL), *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            int idx;
            char name[256];
            if (sscanf(line, "%d %255s", &idx, name) == 2 && idx >= 0 &&
                idx < 26)
                kw[idx] = strdup(name);
        }
        free(text);
    }
    free(path);
}

static void list_folder(const char *root, const char *dir, lines *out)
{
    char *folder = mp_strf("%s%s%s", root, *dir ? "/" : "", dir);
    char *kw[26];
    keywords_of(folder, kw);
    static const char *const subs[] = {"cur", "new"};
    for (int s = 0; s < 2; s++) {
        char *sub = mp_strf("%s/%s", folder, subs[s]);
        DIR *d = opendir(sub);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char *file = mp_strf("%s/%s", sub, e->d_name);
            char hex[65];
            file_sha256(file, hex);
            struct stat sb;
            assert_int_equal(stat(file, &sb), 0);
            const char *info = strstr(e->d_name, ":2,");
            char flags[32] = "", kwl[1024] = "";
            char *names[26];
            int n_names = 0;
            /* System flags as a set in ASCII order; $Forwarded is the 'P'
             * flag whichever form a writer chose (Dovecot serves only the
             * keyword form). */
            char seen[26] = {0};
            for (const char *p = info ? info + 3 : ""; *p; p++) {
                if (*p >= 'A' && *p <= 'Z')
                    seen[*p - 'A'] = 1;
                else if (*p >= 'a' && *p <= 'z' && kw[*p - 'a'] &&
                         strcmp(kw[*p - 'a'], "$Forwarded") == 0)
                    seen['P' - 'A'] = 1;
                else if (*p >= 'a' && *p <= 'z' && kw[*p - 'a'])
                    names[n_names++] = kw[*p - 'a'];
            }
            for (int c = 0, fl = 0; c < 26; c++)
                if (seen[c])
                    flags[fl++] = (char)('A' + c), flags[fl] = '\0';
            qsort(names, (size_t)n_names, sizeof *names, cmp_str);
            for (int i = 0; i < n_names; i++) {
                strcat(kwl, i ? "," : "");
                strcat(kwl, names[i]);
            }
            add_line(out, mp_strf("%s\t%s\t%s\t%s\t%lld", dir, hex, flags, kwl,
                                  (long long)sb.st_mtime));
            free(file);
        }
        if (d)
            closedir(d);
        free(sub);
    }
    for (int i = 0; i < 26; i++)
        free(kw[i]);
    free(folder);
}

char *maildir_listing(const char *root, size_t *count)
{
    lines l = {0};
    list_folder(root, "", &l);
    DIR *d = opendir(root);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.' || !strcmp(e->d_name, ".") ||
            !strcmp(e->d_name, ".."))
            continue;
        char *p = mp_strf("%s/%s", root, e->d_name);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            list_folder(root, e->d_name, &l);
        free(p);
    }
    closedir(d);
    qsort(l.v, l.n, sizeof *l.v, cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < l.n; i++)
        len += strlen(l.v[i]) + 1;
    char *out = malloc(len), *o = out;
    *o = '\0';
    for (size_t i = 0; i < l.n; i++) {
        o += sprintf(o, "%s\n", l.v[i]);
        free(l.v[i]);
    }
    free(l.v);
    if (count)
        *count = l.n;
    return out;
}

char *maildir_listing_lf(const char *root, size_t *count)
{
    listing_lf = 1;
    char *out = maildir_listing(root, count);
    listing_lf = 0;
    return out;
}
