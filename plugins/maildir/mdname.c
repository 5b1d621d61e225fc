/* Maildir file names: parse and build the unique part and the info. */
#include "mdname.h"

#include <mailport/plugin.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct {
    char letter;
    unsigned flag;
} info_flags[] = {
    /* ASCII order, which is the order the Maildir spec asks for. */
    {'D', MP_FLAG_DRAFT},    {'F', MP_FLAG_FLAGGED}, {'P', MP_FLAG_FORWARDED},
    {'R', MP_FLAG_ANSWERED}, {'S', MP_FLAG_SEEN},    {'T', MP_FLAG_DELETED},
};

/* The number after ",X=" inside the key, or 0. Only a field that runs to the
 * next ',' or the end of the key counts, so "a,S=12x" is no size. */
static uint64_t key_field(const char *key, size_t key_len, char field)
{
    for (size_t i = 0; i + 3 <= key_len; i++) {
        if (key[i] != ',' || key[i + 1] != field || key[i + 2] != '=')
            continue;
        uint64_t v = 0;
        size_t j = i + 3;
        int digits = 0;
        while (j < key_len && key[j] >= '0' && key[j] <= '9' && digits < 19) {
            v = v * 10 + (uint64_t)(key[j] - '0');
            j++;
            digits++;
        }
        if (digits > 0 && (j == key_len || key[j] == ','))
            return v;
    }
    return 0;
}

void md_name_parse(const char *name, md_name_info *out)
{
    memset(out, 0, sizeof *out);
    const char *info = NULL;
    /* The first ':' ends the unique part, as every Maildir reader takes it.
     * Without one, the last "!2," does (mu's form for filesystems that
     * forbid ':'). */
    const char *colon = strchr(name, ':');
    if (colon) {
        out->key_len = (size_t)(colon - name);
        if (colon[1] == '2' && colon[2] == ',') {
            out->sep = ':';
            info = colon + 3;
        }
    } else {
        const char *bang = NULL;
        for (const char *p = strstr(name, "!2,"); p; p = strstr(p + 1, "!2,"))
            bang = p;
        out->key_len = bang ? (size_t)(bang - name) : strlen(name);
        if (bang) {
            out->sep = '!';
            info = bang + 3;
        }
    }
    for (const char *p = info; p && *p; p++) {
        if (*p >= 'a' && *p <= 'z') {
            out->kw_letters |= 1u << (*p - 'a');
            continue;
        }
        /* Unknown letters (other tools' private flags) are ignored. */
        for (size_t i = 0; i < sizeof info_flags / sizeof *info_flags; i++)
            if (info_flags[i].letter == *p)
                out->flags |= info_flags[i].flag;
    }
    out->size = key_field(name, out->key_len, 'S');
    out->vsize = key_field(name, out->key_len, 'W');
}

void md_info_letters(unsigned flags, uint32_t kw_letters, char *out)
{
    char *o = out;
    for (size_t i = 0; i < sizeof info_flags / sizeof *info_flags; i++)
        if (flags & info_flags[i].flag)
            *o++ = info_flags[i].letter;
    for (int i = 0; i < 26; i++)
        if (kw_letters & (1u << i))
            *o++ = (char)('a' + i);
    *o = '\0';
}

int md_name_build(const char *key, size_t key_len, char sep, unsigned flags,
                  uint32_t kw_letters, char *out, size_t out_size)
{
    char letters[33];
    md_info_letters(flags, kw_letters, letters);
    int n = snprintf(out, out_size, "%.*s%c2,%s", (int)key_len, key,
                     sep ? sep : ':', letters);
    return n < 0 || (size_t)n >= out_size ? -1 : 0;
}

int md_escape_hostname(const char *host, char *out, size_t out_size)
{
    size_t o = 0;
    for (const char *p = host; *p; p++) {
        const char *rep = *p == '/' ? "\\057" : *p == ':' ? "\\072" : NULL;
        size_t n = rep ? 4 : 1;
        if (o + n >= out_size)
            return -1;
        if (rep)
            memcpy(out + o, rep, n);
        else
            out[o] = *p;
        o += n;
    }
    if (o >= out_size)
        return -1;
    out[o] = '\0';
    return 0;
}

int md_unique_name(const char *host, long pid, char *out, size_t out_size)
{
    /* One counter for the process, shared by every store in every thread:
     * atomic, so names stay unique without a lock. */
    static atomic_ulong counter;
    unsigned long q = atomic_fetch_add(&counter, 1) + 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(out, out_size, "%lld.M%ldP%ldQ%lu.%s",
                     (long long)ts.tv_sec, ts.tv_nsec / 1000, pid,
                     q, host);
    return n < 0 || (size_t)n >= out_size ? -1 : 0;
}
