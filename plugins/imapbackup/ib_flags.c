#include "ib_flags.h"

#include <mailport/plugin.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    unsigned bit;
} system_flags[] = {
    {"Seen", MP_FLAG_SEEN},       {"Answered", MP_FLAG_ANSWERED},
    {"Flagged", MP_FLAG_FLAGGED}, {"Deleted", MP_FLAG_DELETED},
    {"Draft", MP_FLAG_DRAFT},     {"Recent", 0},
};

/* RFC 3501 atom characters, less the ones a flag cannot hold. */
static int is_keyword_atom(const char *s)
{
    if (!*s)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p))
            return 0;
    return 1;
}

static int has_keyword(const char *list, const char *kw)
{
    size_t n = strlen(kw);
    for (const char *p = list; p && *p;) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        if (len == n && strncasecmp(p, kw, n) == 0)
            return 1;
        p = sp ? sp + 1 : p + len;
    }
    return 0;
}

int ib_flag_add(ib_flag_set *set, const char *name, size_t *dropped)
{
    const char *bare = name;
    if (*bare == '\\' || *bare == ':')
        bare++;
    for (size_t i = 0; i < sizeof system_flags / sizeof *system_flags; i++)
        if (strcasecmp(bare, system_flags[i].name) == 0) {
            set->flags |= system_flags[i].bit;
            return 0;
        }
    if (strcasecmp(name, "$Forwarded") == 0) {
        set->flags |= MP_FLAG_FORWARDED;
        return 0;
    }
    if (!is_keyword_atom(name)) {
        (*dropped)++;
        return 0;
    }
    if (has_keyword(set->keywords, name))
        return 0;
    size_t old = set->keywords ? strlen(set->keywords) : 0;
    char *grown = realloc(set->keywords, old + strlen(name) + 2);
    if (!grown)
        return -1;
    if (old)
        grown[old++] = ' ';
    strcpy(grown + old, name);
    set->keywords = grown;
    return 0;
}

void ib_flag_set_free(ib_flag_set *set)
{
    free(set->keywords);
    set->keywords = NULL;
    set->flags = 0;
}
