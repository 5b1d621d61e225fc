#include "imap_names.h"

#include "mutf7.h"
#include "namesub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int imap_substitute_check(const char *sub, char delim, char *err,
                          size_t err_size)
{
    return mp_substitute_check(sub, delim, err, err_size);
}

static const char *substitute_of(const imap_names *nm)
{
    return nm->substitute && *nm->substitute ? nm->substitute
                                             : MP_DEFAULT_SUBSTITUTE;
}

/* "INBOX." or "INBOX/" (the delimiter after INBOX, any case): every folder
 * of the namespace is a child of the inbox. */
static int inbox_prefix(const imap_names *nm)
{
    return nm->delim && strncasecmp(nm->prefix, "INBOX", 5) == 0 &&
           nm->prefix[5] == nm->delim && nm->prefix[6] == '\0';
}

static int has_empty_part(const char *name)
{
    return !*name || name[0] == '/' || name[strlen(name) - 1] == '/' ||
           strstr(name, "//") != NULL;
}

/* S with every byte FROM replaced by the string TO (malloc'd); *HITS
 * counts replacements. */
static char *replace_char(const char *s, char from, const char *to, int *hits)
{
    size_t tl = strlen(to), n = 0;
    for (const char *p = s; *p; p++)
        n += *p == from ? tl : 1;
    char *out = malloc(n + 1), *w = out;
    if (!out)
        return NULL;
    for (const char *p = s; *p; p++) {
        if (*p == from) {
            memcpy(w, to, tl);
            w += tl;
            (*hits)++;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return out;
}

char *imap_name_to_server(const char *name, const imap_names *nm,
                          int *substituted, char *err, size_t err_size)
{
    int hits = 0;
    if (substituted)
        *substituted = 0;
    if (strcasecmp(name, "INBOX") == 0)
        return strdup("INBOX");
    if (has_empty_part(name)) {
        snprintf(err, err_size, "folder name \"%s\" has an empty part", name);
        return NULL;
    }
    char delim = nm->delim;
    if (delim == 0 && strchr(name, '/')) {
        snprintf(err, err_size,
                 "folder \"%s\" is nested, but the server has no hierarchy",
                 name);
        return NULL;
    }
    const char *body = name;
    if (inbox_prefix(nm) && strncasecmp(name, "INBOX/", 6) == 0)
        body = name + 6; /* the prefix is the inbox: "INBOX/X" -> "INBOX.X" */
    char *parts = delim && delim != '/'
                      ? replace_char(body, delim, substitute_of(nm), &hits)
                      : strdup(body);
    if (!parts) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    char *enc = mp_mutf7_encode(parts);
    free(parts);
    if (!enc) {
        snprintf(err, err_size, "folder name \"%s\" is not valid UTF-8", name);
        return NULL;
    }
    for (char *p = enc; *p; p++)
        if (*p == '/')
            *p = delim;
    size_t plen = strlen(nm->prefix);
    char *out = malloc(plen + strlen(enc) + 1);
    if (out) {
        memcpy(out, nm->prefix, plen);
        strcpy(out + plen, enc);
        if (substituted)
            *substituted = hits > 0;
    } else {
        snprintf(err, err_size, "out of memory");
    }
    free(enc);
    return out;
}

char *imap_name_from_server(const char *server, const imap_names *nm,
                            int *substituted)
{
    int hits = 0;
    if (substituted)
        *substituted = 0;
    if (strcasecmp(server, "INBOX") == 0)
        return strdup("INBOX");
    const char *lead = "";
    size_t plen = strlen(nm->prefix);
    if (plen && server[plen]) {
        if (inbox_prefix(nm) && strncasecmp(server, nm->prefix, plen) == 0) {
            server += plen;
            lead = "INBOX/";
        } else if (strncmp(server, nm->prefix, plen) == 0) {
            server += plen;
        }
    }
    char *dec = mp_mutf7_decode(server);
    if (!dec)
        return NULL;
    char delim = nm->delim;
    if (delim != '/') {
        /* A '/' inside a part would read as nesting: substitute it; then
         * the server's delimiter becomes mailport's. */
        char *s = replace_char(dec, '/', substitute_of(nm), &hits);
        free(dec);
        if (!(dec = s))
            return NULL;
        if (delim)
            for (char *p = dec; *p; p++)
                if (*p == delim)
                    *p = '/';
    }
    if (has_empty_part(dec)) {
        free(dec);
        return NULL;
    }
    size_t ll = strlen(lead);
    char *out = malloc(ll + strlen(dec) + 1);
    if (out) {
        memcpy(out, lead, ll);
        strcpy(out + ll, dec);
        if (substituted)
            *substituted = hits > 0;
    }
    free(dec);
    return out;
}
