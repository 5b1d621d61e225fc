/* Folder name <-> on-disk path mapping for the maildir++ and fs layouts. */
#include "mdfolder.h"

#include "hex.h"
#include "mutf7.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int md_is_inbox(const char *name)
{
    return strcasecmp(name, "INBOX") == 0;
}

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int is_reserved_fs(const char *c, size_t len)
{
    return len == 3 && (memcmp(c, "cur", 3) == 0 || memcmp(c, "new", 3) == 0 ||
                        memcmp(c, "tmp", 3) == 0);
}

/* Checks shared by both layouts; writes the reason to ERR on refusal. */
static int check_name(md_layout layout, const char *name, char *err,
                      size_t err_size)
{
    if (!*name) {
        snprintf(err, err_size, "empty folder name");
        return -1;
    }
    if (name[0] == '/') {
        snprintf(err, err_size, "folder name \"%s\" is absolute", name);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (is_control(*p)) {
            snprintf(err, err_size,
                     "folder name contains control character 0x%02x", *p);
            return -1;
        }
    }
    char *probe = mp_mutf7_encode(name);
    if (!probe) {
        snprintf(err, err_size, "folder name is not valid UTF-8");
        return -1;
    }
    free(probe);
    for (const char *c = name;;) {
        size_t len = strcspn(c, "/");
        if (len == 0) {
            snprintf(err, err_size,
                     "folder name \"%s\" has an empty component", name);
            return -1;
        }
        if ((len == 1 && c[0] == '.') || (len == 2 && !memcmp(c, "..", 2))) {
            snprintf(err, err_size,
                     "folder name \"%s\" has a \".\" or \"..\" component",
                     name);
            return -1;
        }
        if (layout == MD_LAYOUT_FS && is_reserved_fs(c, len)) {
            snprintf(err, err_size,
                     "folder name \"%s\": a component named \"%.*s\" would "
                     "clash with a Maildir's own %.*s/ directory in the fs "
                     "layout",
                     name, (int)len, c, (int)len, c);
            return -1;
        }
        if (layout == MD_LAYOUT_FS && len > NAME_MAX) {
            snprintf(err, err_size, "a component is longer than %d bytes "
                     "in folder name \"%s\"", NAME_MAX, name);
            return -1;
        }
        if (!c[len])
            break;
        c += len + 1;
    }
    return 0;
}

/* Append component C (LEN bytes) with '.' and '\' escaped, then modified
 * UTF-7 encoded, to the malloc'd string at *OUT. */
static int append_pp_component(char **out, size_t *used, const char *c,
                               size_t len)
{
    char *esc = malloc(len * 3 + 1);
    if (!esc)
        return -1;
    size_t e = 0;
    for (size_t i = 0; i < len; i++) {
        if (c[i] == '.' || c[i] == '\\') {
            e += (size_t)sprintf(esc + e, "\\%02x", (unsigned char)c[i]);
        } else {
            esc[e++] = c[i];
        }
    }
    esc[e] = '\0';
    char *enc = mp_mutf7_encode(esc);
    free(esc);
    if (!enc)
        return -1;
    size_t n = strlen(enc);
    char *grown = realloc(*out, *used + 1 + n + 1);
    if (!grown) {
        free(enc);
        return -1;
    }
    *out = grown;
    grown[(*used)++] = '.';
    memcpy(grown + *used, enc, n + 1);
    *used += n;
    free(enc);
    return 0;
}

char *md_folder_rel(md_layout layout, const char *name, char *err,
                    size_t err_size)
{
    if (md_is_inbox(name))
        return strdup("");
    if (check_name(layout, name, err, err_size) != 0)
        return NULL;
    if (layout == MD_LAYOUT_FS)
        return strdup(name);

    char *out = NULL;
    size_t used = 0;
    for (const char *c = name;;) {
        size_t len = strcspn(c, "/");
        if (append_pp_component(&out, &used, c, len) != 0) {
            free(out);
            snprintf(err, err_size, "out of memory mapping \"%s\"", name);
            return NULL;
        }
        if (!c[len])
            break;
        c += len + 1;
    }
    if (used > NAME_MAX) {
        snprintf(err, err_size,
                 "too long for a Maildir++ directory (%zu bytes on disk, at "
                 "most %d): folder name \"%s\"",
                 used, NAME_MAX, name);
        free(out);
        return NULL;
    }
    return out;
}

/* Undo "\XX" escapes in place. */
static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p;) {
        int hi, lo;
        if (p[0] == '\\' && (hi = mp_hex_value(p[1])) >= 0 &&
            (lo = mp_hex_value(p[2])) >= 0 && (hi || lo)) {
            *o++ = (char)(hi << 4 | lo);
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
}

/* S with every '/' replaced by SUB (malloc'd; S is freed). */
static char *substitute_slashes(char *s, const char *sub)
{
    size_t n = 0, sub_len = strlen(sub);
    for (const char *p = s; *p; p++)
        n += *p == '/';
    char *out = malloc(strlen(s) + n * sub_len + 1);
    if (out) {
        char *o = out;
        for (const char *p = s; *p; p++) {
            if (*p == '/') {
                memcpy(o, sub, sub_len);
                o += sub_len;
            } else {
                *o++ = *p;
            }
        }
        *o = '\0';
    }
    free(s);
    return out;
}

char *md_pp_name_of_entry(const char *entry, const char *substitute,
                          int *substituted)
{
    if (substituted)
        *substituted = 0;
    if (entry[0] != '.' || !entry[1])
        return NULL;
    size_t cap = strlen(entry) * 2 + 1;
    char *name = malloc(cap);
    if (!name)
        return NULL;
    size_t used = 0;
    for (const char *c = entry + 1;;) {
        size_t len = strcspn(c, ".");
        char *comp = strndup(c, len);
        if (!comp || len == 0) {
            free(comp);
            free(name);
            return NULL;
        }
        char *dec = mp_mutf7_decode(comp);
        if (!dec) {
            /* Raw UTF-8 from some other tool: accept it when it is valid. */
            char *probe = mp_mutf7_encode(comp);
            if (probe) {
                free(probe);
                dec = comp;
                comp = NULL;
            }
        }
        free(comp);
        if (!dec) {
            free(name);
            return NULL;
        }
        unescape(dec);
        if (substitute && strchr(dec, '/')) {
            dec = substitute_slashes(dec, substitute);
            if (!dec) {
                free(name);
                return NULL;
            }
            if (substituted)
                *substituted = 1;
        }
        size_t n = strlen(dec);
        if (used + n + 2 > cap) {
            cap = used + n + 2;
            char *grown = realloc(name, cap);
            if (!grown) {
                free(dec);
                free(name);
                return NULL;
            }
            name = grown;
        }
        if (used)
            name[used++] = '/';
        memcpy(name + used, dec, n + 1);
        used += n;
        /* A decoded component holding '/' would read back as a hierarchy. */
        int bad = n == 0 || strchr(dec, '/') != NULL;
        free(dec);
        if (bad) {
            free(name);
            return NULL;
        }
        if (!c[len])
            break;
        c += len + 1;
    }
    char err[16];
    if (check_name(MD_LAYOUT_MAILDIRPP, name, err, sizeof err) != 0 ||
        md_is_inbox(name)) {
        free(name);
        return NULL;
    }
    return name;
}

int md_fs_component_ok(const char *component)
{
    size_t len = strlen(component);
    if (len == 0 || (len == 1 && component[0] == '.') ||
        strcmp(component, "..") == 0 || is_reserved_fs(component, len))
        return 0;
    for (const unsigned char *p = (const unsigned char *)component; *p; p++)
        if (is_control(*p))
            return 0;
    char *probe = mp_mutf7_encode(component);
    if (!probe)
        return 0;
    free(probe);
    return 1;
}
