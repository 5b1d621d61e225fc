#include "targz_names.h"

#include "mdfolder.h"
#include "namesub.h"

#include <mailport/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Archives are Maildir++ trees: the maildir plugin's own mapping
 * (plugins/common/mdfolder.h), so an extracted archive and a mailport-written
 * Maildir agree. */

char *targz_folder_to_dir(const char *name)
{
    char err[256];
    return md_folder_rel(MD_LAYOUT_MAILDIRPP, name, err, sizeof err);
}

char *targz_dir_to_folder(const char *dir)
{
    if (*dir == '\0')
        return strdup("INBOX");
    if (strchr(dir, '/'))
        return NULL;
    return md_pp_name_of_entry(dir, MP_DEFAULT_SUBSTITUTE, NULL);
}

static const struct {
    char letter;
    unsigned flag;
} letters[] = {
    {'D', MP_FLAG_DRAFT},     {'F', MP_FLAG_FLAGGED}, {'P', MP_FLAG_FORWARDED},
    {'R', MP_FLAG_ANSWERED},  {'S', MP_FLAG_SEEN},    {'T', MP_FLAG_DELETED},
};

void targz_flags_to_letters(unsigned flags, char *out)
{
    for (size_t i = 0; i < sizeof letters / sizeof *letters; i++)
        if (flags & letters[i].flag)
            *out++ = letters[i].letter;
    *out = '\0';
}

unsigned targz_letters_to_flags(const char *s)
{
    unsigned flags = 0;
    for (; *s; s++)
        for (size_t i = 0; i < sizeof letters / sizeof *letters; i++)
            if (*s == letters[i].letter)
                flags |= letters[i].flag;
    return flags;
}

const char *targz_name_info(const char *name)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *info = NULL;
    for (const char *p = base; (p = strpbrk(p, ":!")) != NULL; p++)
        if (p[1] == '2' && p[2] == ',')
            info = p + 3;
    return info;
}
