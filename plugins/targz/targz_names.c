#include "targz_names.h"

#include "mutf7.h"

#include <mailport/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The same mapping the maildir plugin uses (plugins/maildir/mdfolder.h), so
 * an extracted archive and a mailport-written Maildir agree: '.' inside a
 * component is escaped as "\2e" and '\' as "\5c" (Dovecot's listescape
 * form) before modified UTF-7 encoding. */

static int component_ok(const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '.') ||
        (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

char *targz_folder_to_dir(const char *name)
{
    if (strcasecmp(name, "INBOX") == 0)
        return strdup("");
    size_t len = strlen(name);
    size_t cap = len * 8 + 2;
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    const char *p = name;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        char *esc = component_ok(p, n) ? malloc(n * 3 + 1) : NULL;
        if (!esc) {
            free(out);
            return NULL;
        }
        size_t e = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '.' || p[i] == '\\')
                e += (size_t)sprintf(esc + e, "\\%02x", (unsigned char)p[i]);
            else
                esc[e++] = p[i];
        }
        esc[e] = '\0';
        char *enc = mp_mutf7_encode(esc);
        free(esc);
        if (!enc || (size_t)(o - out) + strlen(enc) + 2 > cap) {
            free(enc);
            free(out);
            return NULL;
        }
        *o++ = '.';
        strcpy(o, enc);
        o += strlen(enc);
        free(enc);
        if (!slash)
            break;
        p = slash + 1;
    }
    *o = '\0';
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p;) {
        int hi, lo;
        if (p[0] == '\\' && (hi = hexval(p[1])) >= 0 &&
            (lo = hexval(p[2])) >= 0 && (hi || lo)) {
            *o++ = (char)(hi << 4 | lo);
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
}

char *targz_dir_to_folder(const char *dir)
{
    if (*dir == '\0')
        return strdup("INBOX");
    if (dir[0] != '.' || !dir[1] || strchr(dir, '/'))
        return NULL;
    size_t len = strlen(dir);
    char *out = malloc(len * 4 + 1), *o = out;
    if (!out)
        return NULL;
    const char *p = dir + 1;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char *comp = n ? strndup(p, n) : NULL;
        char *dec = comp ? mp_mutf7_decode(comp) : NULL;
        if (comp && !dec) {
            /* Raw UTF-8 written by some other tool: take it as it is. */
            char *probe = mp_mutf7_encode(comp);
            if (probe) {
                free(probe);
                dec = comp;
                comp = NULL;
            }
        }
        free(comp);
        if (dec)
            unescape(dec);
        if (!dec || !component_ok(dec, strlen(dec)) || strchr(dec, '/')) {
            free(dec);
            free(out);
            return NULL;
        }
        if (o != out)
            *o++ = '/';
        strcpy(o, dec);
        o += strlen(dec);
        free(dec);
        if (!dot)
            break;
        p = dot + 1;
    }
    *o = '\0';
    return out;
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
