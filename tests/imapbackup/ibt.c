#include "ibt.h"

#include "testutil.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "S", "FS", ... plus keyword letters into sorted IMAP names. */
static void flag_names(const char *info, char *const kw[26], char *out,
                       size_t size)
{
    const char *names[40];
    size_t n = 0;
    for (const char *c = info; *c && n < 40; c++) {
        switch (*c) {
        case 'S':
            names[n++] = "\\Seen";
            break;
        case 'R':
            names[n++] = "\\Answered";
            break;
        case 'F':
            names[n++] = "\\Flagged";
            break;
        case 'T':
            names[n++] = "\\Deleted";
            break;
        case 'D':
            names[n++] = "\\Draft";
            break;
        case 'P':
            names[n++] = "$Forwarded";
            break;
        default:
            if (*c >= 'a' && *c <= 'z' && kw[*c - 'a'])
                names[n++] = kw[*c - 'a'];
            else
                fail_msg("unknown Maildir info letter '%c'", *c);
        }
    }
    qsort(names, n, sizeof *names, by_string);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(out, " ", size - strlen(out) - 1);
        strncat(out, names[i], size - strlen(out) - 1);
    }
}

ibt_folder ibt_read_folder(const char *dir)
{
    ibt_folder f = {0};
    char *kw[26] = {0};
    char *kwpath = mp_strf("%s/dovecot-keywords", dir);
    FILE *k = fopen(kwpath, "r");
    char line[256];
    while (k && fgets(line, sizeof line, k)) {
        int idx;
        char name[200];
        if (sscanf(line, "%d %199s", &idx, name) == 2 && idx >= 0 && idx < 26)
            kw[idx] = strdup(name);
    }
    if (k)
        fclose(k);
    free(kwpath);
    const char *subs[] = {"cur", "new"};
    for (int s = 0; s < 2; s++) {
        char *sub = mp_strf("%s/%s", dir, subs[s]);
        DIR *d = opendir(sub);
        if (d && s == 0)
            f.exists = 1;
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char *path = mp_strf("%s/%s", sub, e->d_name);
            f.v = realloc(f.v, (f.n + 1) * sizeof *f.v);
            ibt_mail *m = &f.v[f.n++];
            memset(m, 0, sizeof *m);
            m->data = mp_read_file(path, &m->len);
            struct stat sb;
            assert_int_equal(stat(path, &sb), 0);
            m->mtime = sb.st_mtime;
            const char *info = strstr(e->d_name, ":2,");
            flag_names(info ? info + 3 : "", kw, m->flags, sizeof m->flags);
            free(path);
        }
        if (d)
            closedir(d);
        free(sub);
    }
    for (int i = 0; i < 26; i++)
        free(kw[i]);
    return f;
}

void ibt_folder_free(ibt_folder *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].data);
    free(f->v);
    memset(f, 0, sizeof *f);
}

ibt_mail *ibt_take(ibt_folder *f, const char *data, size_t len)
{
    for (size_t i = 0; i < f->n; i++) {
        ibt_mail *m = &f->v[i];
        if (!m->used && m->len == len && memcmp(m->data, data, len) == 0) {
            m->used = 1;
            return m;
        }
    }
    return NULL;
}

void ibt_sha256(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}
