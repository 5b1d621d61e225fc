#include "endpoint.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

int mp_percent_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        int hi = hexval((unsigned char)r[1]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)r[2]);
        if (lo < 0)
            return -1;
        int byte = hi * 16 + lo;
        if (byte == 0)
            return -1; /* NUL would silently truncate a path or name */
        *w++ = (char)byte;
        r += 2;
    }
    *w = '\0';
    return 0;
}

/* The moment date conversions in paths stand for: taken once, so that
 * every endpoint of a run (and of a batch) names the same day. */
static time_t path_time(void)
{
    static time_t when;
    if (!when)
        when = time(NULL);
    return when;
}

/* The strftime conversions a path may hold: none that writes a '/' (%D,
 * %x, %c, %r) or a blank (%c, %e, %k, %l, %n, %t), which would make
 * directories or awkward names. */
static const char path_conversions[] = "aAbBCdFgGHIjmMpsSTuUVwWyYzZ";

int mp_path_decode(const char *raw, time_t when, char **out)
{
    size_t cap = strlen(raw) + 64, w = 0;
    char *o = malloc(cap);
    *out = NULL;
    if (!o)
        return -2;
    struct tm tm;
    localtime_r(&when, &tm);
    for (const char *r = raw; *r; r++) {
        if (w + 64 >= cap) {
            char *grown = realloc(o, cap *= 2);
            if (!grown) {
                free(o);
                return -2;
            }
            o = grown;
        }
        if (*r != '%') {
            o[w++] = *r;
            continue;
        }
        int hi = hexval((unsigned char)r[1]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)r[2]);
        if (lo >= 0) { /* a %-escape wins over a conversion: %d2 is 0xD2 */
            if (hi * 16 + lo == 0)
                goto malformed; /* NUL would silently truncate the path */
            o[w++] = (char)(hi * 16 + lo);
            r += 2;
        } else if (r[1] == '%') {
            o[w++] = '%';
            r++;
        } else if (r[1] && strchr(path_conversions, r[1])) {
            char conv[3] = {'%', r[1], '\0'};
            w += strftime(o + w, cap - w, conv, &tm);
            r++;
        } else {
            goto malformed;
        }
    }
    o[w] = '\0';
    *out = o;
    return 0;
malformed:
    free(o);
    return -1;
}

static int add_param(mp_url *u, const char *pair, char *err, size_t err_size)
{
    const char *eq = strchr(pair, '=');
    char *name = eq ? strndup(pair, (size_t)(eq - pair)) : strdup(pair);
    char *value = strdup(eq ? eq + 1 : "");
    if (!name || !value || !*name || mp_percent_decode(name) ||
        mp_percent_decode(value)) {
        snprintf(err, err_size, "malformed URL parameter \"%s\"", pair);
        free(name);
        free(value);
        return -1;
    }
    mp_param *p = realloc(u->params, (u->n_params + 1) * sizeof *p);
    if (!p) {
        free(name);
        free(value);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    u->params = p;
    u->params[u->n_params++] = (mp_param){name, value, 0};
    return 0;
}

/* "user[:password]@host[:port]" into U. */
static int parse_authority(mp_url *u, char *auth, char *err, size_t err_size)
{
    char *at = strrchr(auth, '@');
    char *hostport = auth;
    if (at) {
        *at = '\0';
        hostport = at + 1;
        char *colon = strchr(auth, ':');
        if (colon) {
            *colon = '\0';
            u->password = strdup(colon + 1);
            if (!u->password || mp_percent_decode(u->password))
                goto bad;
        }
        u->user = strdup(auth);
        if (!u->user || mp_percent_decode(u->user))
            goto bad;
    }
    char *portsep = NULL;
    if (hostport[0] == '[') { /* [::1]:143 */
        char *close = strchr(hostport, ']');
        if (!close)
            goto bad;
        portsep = close[1] == ':' ? close + 1 : NULL;
        if (portsep)
            *portsep = '\0';
    } else {
        portsep = strrchr(hostport, ':');
        if (portsep)
            *portsep = '\0';
    }
    if (portsep) {
        char *end;
        long port = strtol(portsep + 1, &end, 10);
        if (*end || port <= 0 || port > 65535) {
            snprintf(err, err_size, "bad port \"%s\"", portsep + 1);
            return -1;
        }
        u->ep.port = (int)port;
    }
    if (!*hostport) {
        snprintf(err, err_size, "no host name");
        return -1;
    }
    u->host = strdup(hostport);
    return u->host ? 0 : -1;
bad:
    snprintf(err, err_size, "malformed user or password part");
    return -1;
}

/* The URL with the password replaced by "***", for every message shown.
 * The password is found where mp_url_parse takes it from: in the authority
 * (up to the first '/' or '?'), from the first ':' to the last '@', since
 * a user ("john@example.com") or a password may hold a raw '@'. */
static char *make_display(const char *text, const mp_url *u)
{
    if (!u->password)
        return strdup(text);
    const char *auth = strstr(text, "://");
    if (!auth)
        return strdup(text);
    auth += 3;
    const char *at = NULL, *colon = NULL;
    for (const char *p = auth; *p && *p != '/' && *p != '?'; p++)
        if (*p == '@')
            at = p;
    for (const char *p = auth; at && p < at && !colon; p++)
        if (*p == ':')
            colon = p;
    if (!at || !colon)
        return strdup(text);
    char *out = NULL;
    if (asprintf(&out, "%.*s:***%s", (int)(colon - text), text, at) < 0)
        return NULL;
    return out;
}

mp_url *mp_url_parse(const char *text, char *err, size_t err_size)
{
    mp_url *u = calloc(1, sizeof *u);
    char *copy = strdup(text);
    if (!u || !copy) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    char *colon = strchr(copy, ':');
    if (!colon || colon == copy) {
        snprintf(err, err_size,
                 "\"%s\" is not an endpoint URL (expected SCHEME:PATH or "
                 "SCHEME://USER@HOST, e.g. maildir:~/Mail)",
                 text);
        goto fail;
    }
    *colon = '\0';
    for (char *c = copy; *c; c++) {
        if (!isalnum((unsigned char)*c) && *c != '+' && *c != '-' &&
            *c != '.') {
            snprintf(err, err_size, "\"%s\" is not an endpoint URL", text);
            goto fail;
        }
        *c = (char)tolower((unsigned char)*c);
    }
    u->scheme = strdup(copy);
    char *rest = colon + 1;
    char *query = strchr(rest, '?');
    if (query) {
        *query++ = '\0';
        char *save = NULL;
        for (char *pair = strtok_r(query, "&", &save); pair;
             pair = strtok_r(NULL, "&", &save))
            if (add_param(u, pair, err, err_size))
                goto fail;
    }
    if (strncmp(rest, "//", 2) == 0) {
        rest += 2;
        char *slash = strchr(rest, '/');
        if (slash) {
            u->path = strdup(slash);
            *slash = '\0';
        }
        if (parse_authority(u, rest, err, err_size))
            goto fail;
    } else {
        u->path = strdup(rest);
    }
    if (u->path) {
        char *decoded;
        int rc = mp_path_decode(u->path, path_time(), &decoded);
        if (rc != 0) {
            snprintf(err, err_size,
                     rc == -2 ? "out of memory"
                              : "malformed %%-escape in \"%s\" (a '%%' in a "
                                "path starts a %%-escape such as %%20, a date "
                                "such as %%Y, %%m, %%d or %%F, or is written "
                                "%%%%)",
                     text);
            goto fail;
        }
        free(u->path);
        u->path = decoded;
    }
    if (u->path && u->path[0] == '~' && (u->path[1] == '/' || !u->path[1])) {
        const char *home = getenv("HOME");
        char *expanded = NULL;
        if (home && asprintf(&expanded, "%s%s", home, u->path + 1) >= 0) {
            free(u->path);
            u->path = expanded;
        }
    }
    u->display = make_display(text, u);
    u->ep = (mp_endpoint){
        .struct_size = sizeof(mp_endpoint),
        .scheme = u->scheme,
        .user = u->user,
        .host = u->host,
        .port = u->ep.port,
        .path = u->path,
        .display = u->display,
    };
    free(copy);
    return u;
fail:
    free(copy);
    mp_url_free(u);
    return NULL;
}

void mp_url_free(mp_url *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n_params; i++) {
        free(u->params[i].name);
        free(u->params[i].value);
    }
    free(u->params);
    if (u->password) {
        memset(u->password, 0, strlen(u->password));
        free(u->password);
    }
    free(u->scheme);
    free(u->user);
    free(u->host);
    free(u->path);
    free(u->display);
    free(u);
}

const mp_param *mp_url_unasked(const mp_url *u)
{
    for (size_t i = 0; i < u->n_params; i++)
        if (!u->params[i].asked)
            return &u->params[i];
    return NULL;
}

size_t mp_edit_distance(const char *a, const char *b)
{
    /* Optimal string alignment: insertions, deletions, substitutions and
     * swaps of two neighbours ("pasword", "ca_file", "recipeint") each
     * cost 1. Parameter names are short: three rows on the stack do. */
    enum { MAX = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= MAX || lb >= MAX)
        return la > lb ? la : lb;
    size_t rows[3][MAX + 1], *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

const char *mp_closest_name(const char *name, const char *const *known)
{
    /* Close enough to be a typo: at most a third of the name's letters
     * wrong (one for a short name), else no suggestion at all. */
    size_t limit = strlen(name) / 3;
    if (limit < 1)
        limit = 1;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (const char *const *k = known; *k; k++) {
        size_t d = mp_edit_distance(name, *k);
        if (d < best_d) {
            best_d = d;
            best = *k;
        }
    }
    return best;
}

int mp_url_check_params(const mp_url *u, const char *const *known, char *err,
                        size_t err_size)
{
    for (size_t i = 0; i < u->n_params; i++) {
        const char *name = u->params[i].name;
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, name) == 0;
        if (ok)
            continue;
        const char *close = mp_closest_name(name, known);
        if (close) {
            snprintf(err, err_size,
                     "unknown parameter \"%s\" in %s; did you mean \"%s\"?",
                     name, u->display, close);
            return -1;
        }
        size_t w = (size_t)snprintf(
            err, err_size, "unknown parameter \"%s\" in %s; %s: URLs take ",
            name, u->display, u->scheme);
        for (const char *const *k = known; *k && w < err_size; k++)
            w += (size_t)snprintf(err + w, err_size - w, "%s%s",
                                  k == known ? "" : ", ", *k);
        if (!*known && w < err_size)
            snprintf(err + w, err_size - w, "no parameters");
        return -1;
    }
    return 0;
}
