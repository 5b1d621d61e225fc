#include "imap_names.h"

#include "mutf7.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *imap_name_to_server(const char *name, char delim, const char *prefix,
                          char *err, size_t err_size)
{
    if (strcasecmp(name, "INBOX") == 0)
        return strdup("INBOX");
    if (!*name || name[0] == '/' || name[strlen(name) - 1] == '/' ||
        strstr(name, "//")) {
        snprintf(err, err_size, "folder name \"%s\" has an empty part", name);
        return NULL;
    }
    if (delim == 0 && strchr(name, '/')) {
        snprintf(err, err_size,
                 "folder \"%s\" is nested, but the server has no hierarchy",
                 name);
        return NULL;
    }
    if (delim != '/' && delim != 0 && strchr(name, delim)) {
        snprintf(err, err_size,
                 "folder name \"%s\" holds '%c', the server's hierarchy "
                 "delimiter",
                 name, delim);
        return NULL;
    }
    char *enc = mp_mutf7_encode(name);
    if (!enc) {
        snprintf(err, err_size, "folder name \"%s\" is not valid UTF-8", name);
        return NULL;
    }
    for (char *p = enc; *p; p++)
        if (*p == '/')
            *p = delim;
    size_t plen = strlen(prefix);
    char *out = malloc(plen + strlen(enc) + 1);
    if (out) {
        memcpy(out, prefix, plen);
        strcpy(out + plen, enc);
    } else {
        snprintf(err, err_size, "out of memory");
    }
    free(enc);
    return out;
}

char *imap_name_from_server(const char *server, char delim,
                            const char *prefix)
{
    if (strcasecmp(server, "INBOX") == 0)
        return strdup("INBOX");
    size_t plen = strlen(prefix);
    if (plen && strncmp(server, prefix, plen) == 0 && server[plen])
        server += plen;
    char *dec = mp_mutf7_decode(server);
    if (!dec)
        return NULL;
    if (delim != '/') {
        if (strchr(dec, '/')) {
            free(dec);
            return NULL;
        }
        if (delim)
            for (char *p = dec; *p; p++)
                if (*p == delim)
                    *p = '/';
    }
    if (!*dec || dec[0] == '/' || dec[strlen(dec) - 1] == '/' ||
        strstr(dec, "//")) {
        free(dec);
        return NULL;
    }
    return dec;
}
