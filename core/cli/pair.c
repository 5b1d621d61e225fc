#include "pair.h"

#include "commands.h"
#include "log.h"
#include "preset.h"
#include "special_use.h"

#include <ctype.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* PATH made absolute and canonical although its tail may not exist yet (a
 * destination is created by the run): the longest existing prefix through
 * realpath(3), so symbolic links and "." and ".." resolve as the kernel
 * resolves them, then the rest with "." dropped and ".." taken lexically;
 * no trailing slash. NULL on allocation failure. */
static char *canonical_local_path(const char *path)
{
    char *full = NULL;
    if (path[0] == '/')
        full = strdup(path);
    else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd) || asprintf(&full, "%s/%s", cwd, path) < 0)
            full = NULL;
    }
    if (!full)
        return NULL;
    /* Split off components from the end until what is left exists. */
    size_t len = strlen(full);
    while (len > 1 && full[len - 1] == '/')
        full[--len] = '\0';
    char *tail = full + len; /* the part not yet resolved, "/a/b" */
    char *head = NULL;
    for (;;) {
        char saved = *tail;
        *tail = '\0';
        head = realpath(full[0] ? full : "/", NULL);
        *tail = saved;
        if (head || tail == full)
            break;
        do
            tail--;
        while (tail > full && *tail != '/');
    }
    if (!head)
        head = strdup("/");
    size_t cap = strlen(head) + strlen(tail) + 2, n = strlen(head);
    char *out = head ? realloc(head, cap) : NULL;
    if (!out) {
        free(head);
        free(full);
        return NULL;
    }
    char *save = NULL; /* strtok_r: batch jobs may name pairs at once */
    for (char *seg = strtok_r(tail, "/", &save); seg;
         seg = strtok_r(NULL, "/", &save)) {
        if (strcmp(seg, ".") == 0)
            continue;
        if (strcmp(seg, "..") == 0) {
            while (n > 0 && out[n - 1] != '/')
                n--;
            n = n > 1 ? n - 1 : 1; /* keep the root's slash */
            out[n] = '\0';
            continue;
        }
        if (n > 1)
            out[n++] = '/';
        else if (n == 0)
            out[n++] = '/';
        n += (size_t)sprintf(out + n, "%s", seg);
    }
    out[n] = '\0';
    free(full);
    return out;
}

/* The default port of a network scheme, or 0. */
static int default_port(const char *scheme)
{
    if (strcasecmp(scheme, "imap") == 0)
        return 143;
    if (strcasecmp(scheme, "imaps") == 0)
        return 993;
    return 0;
}

/* HOST as the lock names it: two names of one server must meet there
 * ("localhost" and "127.0.0.1"). The smallest of its addresses in numeric
 * form, every loopback address as "loopback"; the name itself, lower-case,
 * when it does not resolve. Malloc'd. */
static char *lock_host(const char *host)
{
    char name[256];
    snprintf(name, sizeof name, "%s", host);
    size_t len = strlen(name);
    if (len > 1 && name[0] == '[' && name[len - 1] == ']') {
        memmove(name, name + 1, len - 2); /* an IPv6 literal */
        name[len - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char best[NI_MAXHOST] = "";
    if (getaddrinfo(name, NULL, &hints, &res) == 0) {
        for (struct addrinfo *a = res; a; a = a->ai_next) {
            char num[NI_MAXHOST];
            if (getnameinfo(a->ai_addr, a->ai_addrlen, num, sizeof num, NULL,
                            0, NI_NUMERICHOST) != 0)
                continue;
            if (strncmp(num, "127.", 4) == 0 || strcmp(num, "::1") == 0)
                snprintf(num, sizeof num, "loopback");
            if (!best[0] || strcmp(num, best) < 0)
                snprintf(best, sizeof best, "%s", num);
        }
        freeaddrinfo(res);
    }
    char *out = strdup(best[0] ? best : name);
    for (char *p = out; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return out;
}

/* The identity of TEXT; FOR_LOCK: as the destination lock names it, where
 * a spelling too many (the user name's case, the host's names) only makes
 * two runs wait for each other, and one too few lets them store a message
 * twice. */
static char *identity_of(const char *text, int for_lock);

char *mp_pair_endpoint_identity(const char *text)
{
    return identity_of(text, 0);
}

static char *identity_of(const char *text, int for_lock)
{
    char err[256];
    mp_url *u = mp_url_parse(text, err, sizeof err);
    if (!u)
        return strdup(text);
    char *out = NULL;
    if (!u->host) {
        /* A local store: one file or directory, whatever the spelling. */
        char *path = canonical_local_path(u->path ? u->path : ".");
        if (path && asprintf(&out, "%s://@:0%s", u->scheme, path) < 0)
            out = NULL;
        free(path);
    } else {
        /* A server account: imap:// with STARTTLS and imaps:// reach the same
         * mailboxes; the default port of either is left out, host names
         * compare without case. */
        char *host = for_lock ? lock_host(u->host) : strdup(u->host);
        for (char *p = host; p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
        char *user = strdup(u->user ? u->user : "");
        for (char *p = user; for_lock && p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
        int imap = default_port(u->scheme) != 0;
        int port =
            imap && (u->ep.port == 143 || u->ep.port == 993) ? 0 : u->ep.port;
        const char *scheme = imap ? "imaps" : u->scheme; /* one family */
        const char *path = u->path ? u->path : "";
        int path_len = (int)strlen(path);
        while (path_len > 0 && path[path_len - 1] == '/')
            path_len--; /* "imaps://host/" is "imaps://host" */
        if (host && user &&
            asprintf(&out, "%s://%s@%s:%d%.*s", scheme, user, host, port,
                     path_len, path) < 0)
            out = NULL;
        free(host);
        free(user);
    }
    mp_url_free(u);
    return out;
}

/* The identity state files were named after before identities were made
 * canonical (mailport 0.1.0 and earlier): the endpoint as typed, less its
 * parameters. */
static char *typed_identity(const char *text)
{
    char err[256];
    mp_url *u = mp_url_parse(text, err, sizeof err);
    if (!u)
        return strdup(text);
    char *out = NULL;
    if (asprintf(&out, "%s://%s@%s:%d%s", u->scheme, u->user ? u->user : "",
                 u->host ? u->host : "", u->ep.port,
                 u->path ? u->path : "") < 0)
        out = NULL;
    int relative = !u->host && (!u->path || u->path[0] != '/');
    mp_url_free(u);
    if (relative) { /* named the same from every directory: not this pair's */
        free(out);
        out = NULL;
    }
    return out;
}

/* The state file an earlier version kept for this pair, when only that one
 * exists: a state file named by the typed spelling of absolute or network
 * endpoints belongs to this pair; one named by a relative path may belong to
 * a pair in another directory and is left alone. */
static char *earlier_state_path(const char *source, const char *dest)
{
    char *a = typed_identity(source), *b = typed_identity(dest);
    char *path = a && b ? mp_state_default_path(a, b) : NULL;
    free(a);
    free(b);
    if (path && access(path, F_OK) != 0) {
        free(path);
        path = NULL;
    }
    return path;
}

char *mp_pair_state_path(const mp_options *opt, const char *source,
                         const char *dest)
{
    if (opt->state_path)
        return strdup(opt->state_path);
    char *a = mp_pair_endpoint_identity(source),
         *b = mp_pair_endpoint_identity(dest);
    char *path = a && b ? mp_state_default_path(a, b) : NULL;
    free(a);
    free(b);
    if (path && access(path, F_OK) != 0) {
        char *earlier = earlier_state_path(source, dest);
        if (earlier) {
            free(path);
            path = earlier;
        }
    }
    return path;
}

char *mp_pair_destination_identity(const char *dest)
{
    return identity_of(dest, 1);
}

char *mp_pair_destination_lock_path(const char *dest)
{
    char *b = identity_of(dest, 1);
    char *path = b ? mp_state_default_path("destination", b) : NULL;
    free(b);
    size_t len = path ? strlen(path) : 0;
    if (len > 7 && strcmp(path + len - 7, ".sqlite") == 0)
        strcpy(path + len - 7, ".lock");
    return path;
}

/* The destination name the state recorded for source folder SRC_NAME
 * whose store name is STORE (NULL: not known), of the pair synced last:
 * the pair recorded with that store name, else one recorded under that
 * name without a store name or with the same one; NULL for none. */
static const char *recorded_name(const mp_state_pair *pairs, size_t n,
                                 const char *src_name, const char *store)
{
    const char *by_store = NULL, *by_name = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *was = pairs[i].src_store;
        if (store && was[0] && strcmp(was, store) == 0)
            by_store = pairs[i].dst_name;
        else if (strcmp(pairs[i].src_name, src_name) == 0 &&
                 (!store || !was[0]))
            by_name = pairs[i].dst_name;
    }
    return by_store ? by_store : by_name;
}

/* The destination folder (of the DN listed DNAMES with their DSPECIAL
 * uses) that --automap sends source folder NAME of special use SPECIAL to,
 * or NULL. A store without SPECIAL-USE (Microsoft 365, Maildir) reports no
 * use; the usual names of each use stand in for it on either side
 * ("Junk E-mail", "Sent Items"), a folder the server marks taking
 * precedence over one that only has the name. */
/* The special use of a folder by its name alone; Gmail's special folders
 * under "[Gmail]/" by the name after it ("[Gmail]/Sent Mail" is Sent,
 * "[Gmail]/All Mail" the \All of RFC 6154). */
static unsigned use_by_name(const char *name)
{
    const char *tail = mp_preset_gmail_tail(name);
    if (tail && strcmp(tail, "All Mail") == 0)
        return MP_SPECIAL_ALL;
    return mp_special_use_by_name(tail ? tail : name);
}

static const char *automap_target(unsigned special, const char *name,
                                  char **dnames, const unsigned *dspecial,
                                  size_t dn)
{
    unsigned use = special ? special : use_by_name(name);
    if (use & MP_SPECIAL_ALL) /* where no \All folder, an archive */
        use |= MP_SPECIAL_ARCHIVE;
    if (!use)
        return NULL;
    for (size_t k = 0; k < dn; k++)
        if (dspecial[k] & use)
            return dnames[k];
    for (size_t k = 0; k < dn; k++)
        if (!dspecial[k] && (use_by_name(dnames[k]) & use))
            return dnames[k];
    return NULL;
}

/* A Gmail source's folder that --automap sent nowhere: without the
 * "[Gmail]/" prefix, All Mail (what no other folder holds of it,
 * preset.h) as "Archive". Malloc'd, or NULL to keep NAME. */
static char *gmail_name(const mp_options *opt, const char *name,
                        unsigned special)
{
    const char *tail = mp_preset_gmail_tail(name);
    if (!opt->src_host || strcmp(opt->src_host, "gmail") != 0)
        return NULL;
    if ((special & MP_SPECIAL_ALL) || (tail && strcmp(tail, "All Mail") == 0))
        return strdup("Archive");
    return tail && *tail ? strdup(tail) : NULL;
}

char **mp_pair_folder_names(const mp_options *opt, mp_store *dst, char **names,
                            char **store_names, const unsigned *special,
                            size_t n, mp_state *recorded)
{
    char **out = calloc(n ? n : 1, sizeof *out);
    char **dnames = NULL;
    unsigned *dspecial = NULL;
    size_t dn = 0;
    mp_state_pair *pairs = NULL;
    size_t n_pairs = 0;
    if (recorded && mp_state_pairs(recorded, &pairs, &n_pairs) != 0)
        n_pairs = 0;
    if (opt->automap && dst) {
        mp_options all = *opt;
        all.n_include = all.n_exclude = 0;
        if (mp_list_source_folders(dst, &all, &dnames, &dspecial, &dn, NULL) !=
            0)
            mp_warn("--automap: cannot list destination folders: %s",
                    mp_store_error(dst));
    }
    for (size_t i = 0; i < n; i++) {
        /* What this run's --automap and --map make of the name; a folder
         * they leave as it is keeps the name the state recorded. */
        const char *name =
            automap_target(special[i], names[i], dnames, dspecial, dn);
        char *own = opt->src_host ? mp_options_map_folder(opt, names[i]) : NULL;
        if (own && strcmp(own, names[i]) != 0) {
            out[i] = own; /* a --map of the folder wins over a preset */
        } else {
            free(own);
            char *preset = name ? NULL : gmail_name(opt, names[i], special[i]);
            out[i] = mp_options_map_folder(opt, name     ? name
                                                : preset ? preset
                                                         : names[i]);
            free(preset);
        }
        const char *was = recorded_name(pairs, n_pairs, names[i],
                                        store_names ? store_names[i] : NULL);
        if (was && out[i] && strcmp(out[i], names[i]) == 0) {
            free(out[i]);
            out[i] = strdup(was);
        }
    }
    mp_state_pairs_free(pairs, n_pairs);
    mp_free_names(dnames, dn);
    free(dspecial);
    return out;
}

typedef struct sub_list {
    char **names;
    int *state;
    size_t n;
    int oom;
} sub_list;

/* An older plugin's mp_folder_info ends before the field: "unknown". */
static int subscription_field(const mp_folder_info *info)
{
    return MP_HAS_SLOT(info, mp_folder_info, subscribed)
               ? info->subscribed
               : MP_SUBSCRIPTION_UNKNOWN;
}

static mp_status collect_subscription(void *ctx, const mp_folder_info *info)
{
    sub_list *l = ctx;
    char **names = realloc(l->names, (l->n + 1) * sizeof *names);
    if (names)
        l->names = names;
    int *state = realloc(l->state, (l->n + 1) * sizeof *state);
    if (state)
        l->state = state;
    char *name = strdup(info->name);
    if (!names || !state || !name) {
        free(name);
        l->oom = 1;
        return MP_OK;
    }
    l->names[l->n] = name;
    l->state[l->n++] = subscription_field(info);
    return MP_OK;
}

int mp_pair_subscriptions(mp_store *s, char ***names, int **state, size_t *n)
{
    sub_list l = {0};
    mp_host_clear_error(&s->host);
    mp_status st = s->role == MP_ROLE_SOURCE
                       ? s->plugin->source->list_folders(
                             s->handle, collect_subscription, &l)
                       : s->plugin->sink->list_folders(
                             s->handle, collect_subscription, &l);
    if (st != MP_OK || l.oom) {
        mp_free_names(l.names, l.n);
        free(l.state);
        return -1;
    }
    *names = l.names;
    *state = l.state;
    *n = l.n;
    return 0;
}

int mp_pair_subscription_of(char **names, const int *state, size_t n,
                            const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0 || (strcasecmp(name, "INBOX") == 0 &&
                                            strcasecmp(names[i], "INBOX") == 0))
            return state[i];
    return MP_SUBSCRIPTION_UNKNOWN;
}
