#include "imap_store.h"

#include "imap_names.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_NAME_LITERAL 65536

void imap_set_refused(imap_store *st, mp_error_kind kind, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    st->host->set_error(st->host, kind, "%s", text);
}

static void proto_error(imap_parser *p, const char *what)
{
    if (!p->error) {
        p->error = IMAP_ERR_PROTO;
        snprintf(p->err, sizeof p->err, "%s", what);
    }
}

/* ------------------------------------------------------------------------ */
/* Opening: login, then where the personal folders live.                     */

typedef struct ns_ctx {
    int found;
    char *prefix;
    char delim;
} ns_ctx;

static mp_status on_namespace(void *vctx, imap_conn *c, int64_t num)
{
    ns_ctx *ns = vctx;
    imap_parser *p = &c->p;
    (void)num;
    if (!imap_tok_is(p, "NAMESPACE"))
        return MP_OK;
    int t = imap_next(p);
    if (t != IMAP_T_LPAREN)
        return MP_OK; /* NIL: no personal namespace */
    if (imap_next(p) != IMAP_T_LPAREN)
        return MP_OK;
    t = imap_next_value(p, MAX_NAME_LITERAL);
    if (t != IMAP_T_STRING && t != IMAP_T_ATOM)
        return MP_OK;
    char *prefix = strdup(p->tok);
    t = imap_next(p);
    if (!prefix)
        return MP_OK;
    free(ns->prefix);
    ns->prefix = prefix;
    ns->delim = (t == IMAP_T_STRING && p->tok_len == 1) ? p->tok[0] : 0;
    ns->found = 1;
    return MP_OK;
}

static mp_status on_list_delim(void *vctx, imap_conn *c, int64_t num)
{
    ns_ctx *ns = vctx;
    imap_parser *p = &c->p;
    (void)num;
    if (!imap_tok_is(p, "LIST") || imap_next(p) != IMAP_T_LPAREN)
        return MP_OK;
    int t;
    while ((t = imap_next(p)) == IMAP_T_ATOM)
        ;
    if (t != IMAP_T_RPAREN)
        return MP_OK;
    t = imap_next(p);
    ns->delim = (t == IMAP_T_STRING && p->tok_len == 1) ? p->tok[0] : 0;
    ns->found = 1;
    return MP_OK;
}

static void names_of(const imap_store *st, imap_names *nm)
{
    *nm = (imap_names){st->delim, st->prefix, st->substitute};
}

static void free_listing(imap_listed *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].server);
    }
    free(v);
}

mp_status imap_store_open(mp_host *host, const mp_endpoint *ep,
                          imap_store **out)
{
    char err[512];
    const char *sub = host->param(host, "delimiter_substitute", 0);
    if (sub && imap_substitute_check(sub, 0, err, sizeof err) != 0) {
        host->set_error(host, MP_ERR_USAGE, "%s: %s", ep->display, err);
        return MP_FATAL;
    }
    /* On unless multiappend=0: see plugins/imap/README.md, "MULTIAPPEND". */
    const char *multi = host->param(host, "multiappend", 0);
    if (multi && strcmp(multi, "0") != 0 && strcmp(multi, "1") != 0) {
        host->set_error(host, MP_ERR_USAGE,
                        "%s: multiappend=%s: use multiappend=1 or "
                        "multiappend=0",
                        ep->display, multi);
        return MP_FATAL;
    }
    imap_store *st = calloc(1, sizeof *st);
    if (!st ||
        !(st->substitute = strdup(sub ? sub : IMAP_DEFAULT_SUBSTITUTE))) {
        free(st);
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    st->host = host;
    st->multiappend = !multi || strcmp(multi, "1") == 0;
    st->display = strdup(ep->display ? ep->display : "");
    mp_status s = imap_conn_open(host, ep, &st->conn);
    if (s != MP_OK) {
        st->conn = NULL;
        imap_store_close(st);
        return MP_FATAL;
    }
    ns_ctx ns = {0};
    int result = IMAP_NO;
    if (st->conn->caps & IMAP_CAP_NAMESPACE)
        s = imap_cmd(st->conn, "NAMESPACE", on_namespace, &ns, &result);
    if (s == MP_OK && !ns.found)
        s = imap_cmd(st->conn, "LIST \"\" \"\"", on_list_delim, &ns, &result);
    if (s != MP_OK) {
        free(ns.prefix);
        imap_store_close(st);
        return MP_FATAL;
    }
    st->prefix = ns.prefix ? ns.prefix : strdup("");
    st->delim = ns.delim;
    if (imap_substitute_check(st->substitute, st->delim, err, sizeof err) !=
        0) {
        host->set_error(host, MP_ERR_USAGE,
                        "%s: %s (the server's hierarchy "
                        "delimiter is '%c')",
                        st->display, err, st->delim);
        imap_store_close(st);
        return MP_FATAL;
    }
    *out = st;
    return MP_OK;
}

void imap_store_close(void *store)
{
    imap_store *st = store;
    if (!st)
        return;
    imap_conn_close(st->conn);
    free_listing(st->listed, st->n_listed);
    free_listing(st->stale_subs, st->n_stale_subs);
    free(st->prefix);
    free(st->substitute);
    free(st->display);
    free(st);
}

/* ------------------------------------------------------------------------ */
/* Listing.                                                                  */

typedef struct list_ctx {
    imap_store *st;
    imap_listed *v;
    size_t n, cap;
    int oom;
    int subs_asked; /* the listing tells subscriptions */
} list_ctx;

static unsigned special_of(const char *attr)
{
    static const struct {
        const char *name;
        unsigned bit;
    } uses[] = {
        {"\\All", MP_SPECIAL_ALL},       {"\\Archive", MP_SPECIAL_ARCHIVE},
        {"\\Drafts", MP_SPECIAL_DRAFTS}, {"\\Flagged", MP_SPECIAL_FLAGGED},
        {"\\Junk", MP_SPECIAL_JUNK},     {"\\Sent", MP_SPECIAL_SENT},
        {"\\Trash", MP_SPECIAL_TRASH},
    };
    for (size_t i = 0; i < sizeof uses / sizeof uses[0]; i++)
        if (strcasecmp(attr, uses[i].name) == 0)
            return uses[i].bit;
    return 0;
}

/* Add folder SERVER (its server name) to the listing L, unless it lies
 * in another namespace. */
static mp_status add_listed(list_ctx *l, const char *server_tok,
                            unsigned special, int no_select, int subscribed)
{
    imap_store *st = l->st;
    size_t plen = strlen(st->prefix);
    if (strcasecmp(server_tok, "INBOX") != 0 && plen &&
        strncmp(server_tok, st->prefix, plen) != 0)
        return MP_OK; /* another namespace (shared, public) */
    if (plen && strcmp(server_tok, st->prefix) == 0)
        return MP_OK; /* the namespace root itself */
    imap_names nm;
    names_of(st, &nm);
    int substituted = 0;
    char *name = imap_name_from_server(server_tok, &nm, &substituted);
    if (!name) {
        st->host->log(st->host, MP_LOG_WARN,
                      "%s: skipping folder \"%s\": its name is not valid "
                      "modified UTF-7 or has an empty part",
                      st->display, server_tok);
        return MP_OK;
    }
    char *server = strdup(server_tok);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        imap_listed *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            free(name);
            free(server);
            l->oom = 1;
            return MP_OK;
        }
        l->v = v;
        l->cap = cap;
    }
    if (!server) {
        free(name);
        l->oom = 1;
        return MP_OK;
    }
    l->v[l->n++] = (imap_listed){name,      server,      special,
                                 no_select, substituted, subscribed};
    return MP_OK;
}

static mp_status on_list(void *vctx, imap_conn *c, int64_t num)
{
    list_ctx *l = vctx;
    imap_parser *p = &c->p;
    (void)num;
    if (!imap_tok_is(p, "LIST"))
        return MP_OK;
    if (imap_next(p) != IMAP_T_LPAREN) {
        proto_error(p, "LIST without attributes");
        return MP_OK;
    }
    unsigned special = 0;
    int no_select = 0, subscribed = 0, t;
    while ((t = imap_next(p)) == IMAP_T_ATOM) {
        if (imap_tok_is(p, "\\Noselect") || imap_tok_is(p, "\\NonExistent"))
            no_select = 1;
        if (imap_tok_is(p, "\\Subscribed")) /* RFC 5258 RETURN (SUBSCRIBED) */
            subscribed = 1;
        special |= special_of(p->tok);
    }
    if (t != IMAP_T_RPAREN) {
        proto_error(p, "malformed LIST attributes");
        return MP_OK;
    }
    t = imap_next(p); /* delimiter */
    if (t != IMAP_T_STRING && t != IMAP_T_NIL) {
        proto_error(p, "malformed LIST delimiter");
        return MP_OK;
    }
    t = imap_next_value(p, MAX_NAME_LITERAL);
    if (t != IMAP_T_STRING && t != IMAP_T_ATOM) {
        proto_error(p, "malformed LIST mailbox name");
        return MP_OK;
    }
    return add_listed(
        l, p->tok, special, no_select,
        l->subs_asked ? (subscribed ? MP_SUBSCRIBED : MP_UNSUBSCRIBED) : 0);
}

/* "* LSUB (attributes) delimiter name" (RFC 3501 6.3.9): mark the listed
 * folder of that server name subscribed. */
static mp_status on_lsub(void *vctx, imap_conn *c, int64_t num)
{
    list_ctx *l = vctx;
    imap_parser *p = &c->p;
    (void)num;
    if (!imap_tok_is(p, "LSUB") || imap_next(p) != IMAP_T_LPAREN)
        return MP_OK;
    int t;
    while ((t = imap_next(p)) == IMAP_T_ATOM)
        ;
    if (t != IMAP_T_RPAREN) {
        proto_error(p, "malformed LSUB attributes");
        return MP_OK;
    }
    t = imap_next(p); /* delimiter */
    if (t != IMAP_T_STRING && t != IMAP_T_NIL) {
        proto_error(p, "malformed LSUB delimiter");
        return MP_OK;
    }
    t = imap_next_value(p, MAX_NAME_LITERAL);
    if (t != IMAP_T_STRING && t != IMAP_T_ATOM) {
        proto_error(p, "malformed LSUB mailbox name");
        return MP_OK;
    }
    return add_listed(l, p->tok, 0, 1, MP_SUBSCRIBED);
}

/* The entry of L for server name SERVER (INBOX in any case), or NULL. */
static imap_listed *listed_server(list_ctx *l, const char *server)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].server, server) == 0 ||
            (strcasecmp(server, "INBOX") == 0 &&
             strcasecmp(l->v[i].server, "INBOX") == 0))
            return &l->v[i];
    return NULL;
}

/* SUBL lists every subscribed name: mark those of L's folders subscribed,
 * and keep the others, of no folder, as ST's stale_subs (moved out of
 * SUBL). Returns 0, or -1 out of memory. */
static int keep_stale_subscriptions(imap_store *st, list_ctx *l, list_ctx *subl)
{
    free_listing(st->stale_subs, st->n_stale_subs);
    st->stale_subs = NULL;
    st->n_stale_subs = 0;
    size_t n_stale = 0;
    for (size_t i = 0; i < subl->n; i++) {
        imap_listed *folder = listed_server(l, subl->v[i].server);
        if (folder) {
            folder->subscribed = MP_SUBSCRIBED;
            continue;
        }
        imap_listed e = subl->v[i];
        e.no_select = 1;
        e.subscribed = MP_SUBSCRIBED;
        subl->v[i] = subl->v[n_stale]; /* the kept ones go to the front */
        subl->v[n_stale++] = e;
    }
    if (!n_stale)
        return 0;
    imap_listed *kept = malloc(n_stale * sizeof *kept);
    if (!kept)
        return -1;
    memcpy(kept, subl->v, n_stale * sizeof *kept);
    memmove(subl->v, subl->v + n_stale, (subl->n - n_stale) * sizeof *kept);
    subl->n -= n_stale;
    st->stale_subs = kept;
    st->n_stale_subs = n_stale;
    return 0;
}

/* Parents before children: '/' sorts before every other byte. */
static int path_order(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    for (;; x++, y++) {
        unsigned cx = *x == '/' ? 1 : *x, cy = *y == '/' ? 1 : *y;
        if (cx != cy || !cx)
            return (int)cx - (int)cy;
    }
}

/* By mailport name; among equal names the one that maps back by itself
 * (no substitution) first, then by server name, so every listing of the
 * same folders orders them alike. */
static int listed_cmp(const void *a, const void *b)
{
    const imap_listed *x = a, *y = b;
    int c = path_order(x->name, y->name);
    if (c)
        return c;
    if (x->substituted != y->substituted)
        return x->substituted - y->substituted;
    return strcmp(x->server, y->server);
}

static int name_taken(const imap_listed *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].name && strcmp(v[i].name, name) == 0)
            return 1;
    return 0;
}

/* Two server folders whose mailport names came out equal ("GPR/GPA" and
 * "GPR_GPA" on a '.' server): the first keeps the name, each other one
 * becomes "NAME~2", "NAME~3"... (the first free), so no folder is lost and
 * every listing of the same folders names them alike. The same server name
 * listed twice is kept once. LOUD: warn about each. Returns -1 when out of
 * memory. */
static int disambiguate(imap_store *st, imap_listed *v, size_t *n, int loud)
{
    int renamed = 0;
    size_t kept = 0, run = 0; /* run: the first kept entry of this name */
    for (size_t i = 0; i < *n; i++) {
        imap_listed e = v[i];
        v[i] = (imap_listed){0}; /* the slot is empty until kept again */
        if (kept == 0 || strcmp(e.name, v[run].name) != 0) {
            run = kept;
        } else {
            if (strcmp(e.server, v[kept - 1].server) == 0) {
                free(e.name);
                free(e.server);
                continue;
            }
            char *alt = NULL;
            for (int k = 2; !alt; k++) {
                if (asprintf(&alt, "%s~%d", e.name, k) < 0) {
                    v[i] = e;
                    for (size_t j = i; j < *n; j++) {
                        free(v[j].name);
                        free(v[j].server);
                    }
                    *n = kept;
                    return -1;
                }
                if (name_taken(v, *n, alt)) {
                    free(alt);
                    alt = NULL;
                }
            }
            st->host->log(st->host, loud ? MP_LOG_WARN : MP_LOG_DEBUG,
                          "%s: folder \"%s\" is named \"%s\": \"%s\" is "
                          "already folder \"%s\" (choose another "
                          "delimiter_substitute= to avoid this)",
                          st->display, e.server, alt, e.name, v[run].server);
            free(e.name);
            e.name = alt;
            e.substituted = 1;
            renamed = 1;
        }
        v[kept++] = e;
    }
    *n = kept;
    if (renamed)
        qsort(v, *n, sizeof *v, listed_cmp);
    return 0;
}

/* LIST the personal namespace into st->listed. LOUD: say which names were
 * substituted (the listing the user sees). SUBS: tell each folder's
 * subscription, through RFC 5258's RETURN (SUBSCRIBED) where the server
 * has LIST-EXTENDED (no extra command), else through RFC 3501 LSUB. */
static mp_status load_listing(imap_store *st, int loud, int subs)
{
    list_ctx l = {.st = st};
    int result;
    int ext = (st->conn->caps & IMAP_CAP_LIST_EXTENDED) != 0;
    int use = ext && (st->conn->caps & IMAP_CAP_SPECIAL_USE);
    const char *cmd = ext && subs && use
                          ? "LIST \"\" \"*\" RETURN (SUBSCRIBED SPECIAL-USE)"
                      : ext && subs ? "LIST \"\" \"*\" RETURN (SUBSCRIBED)"
                      : use         ? "LIST \"\" \"*\" RETURN (SPECIAL-USE)"
                                    : "LIST \"\" \"*\"";
    l.subs_asked = subs;
    mp_status s = imap_cmd(st->conn, cmd, on_list, &l, &result);
    if (s == MP_OK && result != IMAP_OK) {
        imap_set_refused(st, MP_ERR_REFUSED, "%s: LIST refused: %s",
                         st->display, st->conn->last_text);
        s = MP_FATAL;
    }
    /* Every subscribed name, also of no folder (RFC 5258 \NonExistent;
     * LSUB lists them too): the listed folders' subscriptions where LIST
     * could not say, and the rest as subscriptions of no folder. */
    list_ctx subl = {.st = st, .subs_asked = 1};
    if (s == MP_OK && subs && !l.oom) {
        s = imap_cmd(st->conn,
                     ext ? "LIST (SUBSCRIBED) \"\" \"*\"" : "LSUB \"\" \"*\"",
                     ext ? on_list : on_lsub, &subl, &result);
        if (s == MP_OK && result != IMAP_OK && !ext) {
            /* Not worth failing the listing for: subscriptions are then
             * not known, and the destination subscribes every folder. */
            st->host->log(st->host, MP_LOG_WARN,
                          "%s: LSUB refused (%s); subscriptions are not known",
                          st->display, st->conn->last_text);
            for (size_t i = 0; i < l.n; i++)
                l.v[i].subscribed = 0;
        } else if (s == MP_OK && result == IMAP_OK && !subl.oom) {
            l.oom |= keep_stale_subscriptions(st, &l, &subl) != 0;
        }
        l.oom |= subl.oom;
    }
    free_listing(subl.v, subl.n);
    if (s == MP_OK && !l.oom) {
        qsort(l.v, l.n, sizeof *l.v, listed_cmp);
        if (disambiguate(st, l.v, &l.n, loud) != 0)
            l.oom = 1;
    }
    if (s == MP_OK && l.oom) {
        st->host->set_error(st->host, MP_ERR_INTERNAL, "out of memory");
        s = MP_FATAL;
    }
    if (s != MP_OK) {
        free_listing(l.v, l.n);
        return s;
    }
    for (size_t i = 0; loud && i < l.n; i++)
        if (l.v[i].substituted)
            st->host->log(st->host, MP_LOG_INFO,
                          "%s: folder \"%s\" is \"%s\" for mailport (a "
                          "delimiter inside its name became '%s')",
                          st->display, l.v[i].server, l.v[i].name,
                          st->substitute);
    free_listing(st->listed, st->n_listed);
    st->listed = l.v;
    st->n_listed = l.n;
    st->have_listing = 1;
    return MP_OK;
}

mp_status imap_store_list(void *store, mp_folder_cb cb, void *ctx)
{
    imap_store *st = store;
    /* The warnings about folder names once per store, not at every
     * listing of the same folders (a run lists its source more than once). */
    mp_status s = load_listing(st, !st->have_listing, 1);
    for (size_t i = 0; s == MP_OK && i < st->n_listed; i++) {
        mp_folder_info info = {
            .struct_size = sizeof info,
            .name = st->listed[i].name,
            .special_use = st->listed[i].special,
            .no_select = st->listed[i].no_select,
            .validity = 0,
            .count = -1,
            .subscribed = st->listed[i].subscribed,
            .store_name = st->listed[i].server,
        };
        s = cb(ctx, &info);
    }
    for (size_t i = 0; s == MP_OK && i < st->n_stale_subs; i++) {
        mp_folder_info info = {
            .struct_size = sizeof info,
            .name = st->stale_subs[i].name,
            .no_select = 1,
            .count = -1,
            .subscribed = MP_SUBSCRIBED,
            .nonexistent = 1,
        };
        s = cb(ctx, &info);
    }
    return s;
}

/* The server name of mailport folder NAME, malloc'd: the folder the
 * listing gave that name, else the mapping of imap_names.h. A name that
 * substitution (or disambiguation) may have made is looked up in a
 * listing, made now when this connection has none yet. NULL with the
 * error set (MP_FOLDER_BAD in *S for a name that cannot be mapped). */
static char *server_name(imap_store *st, const char *name, int *substituted,
                         mp_status *s)
{
    *s = MP_OK;
    *substituted = 0;
    if (!st->have_listing && st->delim != '/' &&
        (strstr(name, st->substitute) || strchr(name, '~'))) {
        *s = load_listing(st, 0, 0);
        if (*s != MP_OK)
            return NULL;
    }
    for (size_t i = 0; i < st->n_listed; i++)
        if (strcmp(st->listed[i].name, name) == 0) {
            char *server = strdup(st->listed[i].server);
            if (!server) {
                st->host->set_error(st->host, MP_ERR_INTERNAL, "out of memory");
                *s = MP_FATAL;
            }
            return server;
        }
    char err[512];
    imap_names nm;
    names_of(st, &nm);
    char *server = imap_name_to_server(name, &nm, substituted, err, sizeof err);
    if (!server) {
        st->host->set_error(st->host, MP_ERR_USAGE, "%s: %s", st->display, err);
        *s = MP_FOLDER_BAD;
    }
    return server;
}

/* ------------------------------------------------------------------------ */
/* Selecting.                                                                */

/* "VERB "server"[ SUFFIX]", run; *result as imap_cmd's. */
static mp_status simple_with(imap_store *st, const char *verb,
                             const char *server, const char *suffix,
                             int *result)
{
    imap_str cmd = {0};
    imap_str_adds(&cmd, verb);
    imap_str_add(&cmd, " ", 1);
    int unquotable = imap_str_quote(&cmd, server) < 0;
    if (!unquotable && suffix)
        imap_str_adds(&cmd, suffix);
    if (unquotable || cmd.oom) {
        imap_str_free(&cmd);
        st->host->set_error(st->host, MP_ERR_USAGE,
                            "folder name \"%s\" cannot be sent", server);
        return MP_FOLDER_BAD;
    }
    mp_status s = imap_cmd(st->conn, cmd.s, NULL, NULL, result);
    imap_str_free(&cmd);
    return s;
}

static mp_status simple(imap_store *st, const char *verb, const char *server,
                        int *result)
{
    return simple_with(st, verb, server, NULL, result);
}

/* SELECT or EXAMINE, asking for HIGHESTMODSEQ where the server has it. */
static mp_status open_mailbox(imap_store *st, const char *verb,
                              const char *server, int *result)
{
    imap_conn_reset_mailbox(st->conn);
    return simple_with(
        st, verb, server,
        (st->conn->caps & IMAP_CAP_CONDSTORE) ? " (CONDSTORE)" : NULL, result);
}

/* The folder's change marker: UIDVALIDITY, UIDNEXT, EXISTS and
 * HIGHESTMODSEQ folded together (FNV-1a). Without HIGHESTMODSEQ a flag
 * change would go unseen, so there is no marker then. */
static uint64_t change_marker(const imap_conn *c)
{
    if (!c->highestmodseq || !c->uidnext || !c->uidvalidity)
        return 0;
    uint64_t v[4] = {c->uidvalidity, c->uidnext, c->exists, c->highestmodseq};
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < 4; i++)
        for (int b = 0; b < 8; b++) {
            h ^= (v[i] >> (8 * b)) & 0xff;
            h *= 1099511628211ull;
        }
    return h ? h : 1;
}

/* CREATE SERVER (and, when the server wants them first, its parents).
 * Refusals are not errors here: another connection may have created the
 * folder meanwhile, so the caller's next SELECT decides. The server's last
 * refusal is kept in WHY. */
static mp_status create_folder(imap_store *st, const char *server, char *why,
                               size_t why_size)
{
    int result;
    why[0] = '\0';
    mp_status s = simple(st, "CREATE", server, &result);
    if (s != MP_OK || result == IMAP_OK)
        return s;
    snprintf(why, why_size, "%s", st->conn->last_text);
    st->host->log(st->host, MP_LOG_DEBUG, "%s: CREATE \"%s\" refused: %s",
                  st->display, server, why);
    /* Another connection may have made it meanwhile (--jobs), or the
     * refusal was passing (a lock): look, then try once more. */
    s = simple(st, "SELECT", server, &result);
    if (s != MP_OK || result == IMAP_OK) {
        why[0] = '\0';
        return s;
    }
    s = simple(st, "CREATE", server, &result);
    if (s != MP_OK || result == IMAP_OK) {
        why[0] = '\0';
        return s;
    }
    /* Some servers want the parents first. */
    char *copy = strdup(server);
    if (!copy) {
        st->host->set_error(st->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    size_t skip = strlen(st->prefix);
    for (char *q = copy + skip; st->delim && (q = strchr(q, st->delim)); q++) {
        *q = '\0';
        s = simple(st, "CREATE", copy, &result);
        *q = st->delim;
        if (s != MP_OK) {
            free(copy);
            return s;
        }
    }
    free(copy);
    s = simple(st, "CREATE", server, &result);
    if (s == MP_OK && result != IMAP_OK)
        snprintf(why, why_size, "%s", st->conn->last_text);
    else if (s == MP_OK)
        why[0] = '\0';
    return s;
}

mp_status imap_folder_open(imap_store *st, const char *name, int read_only,
                           int create, imap_folder **out, mp_folder_info *info)
{
    int substituted;
    mp_status s;
    char *server = server_name(st, name, &substituted, &s);
    if (!server)
        return s;
    const char *verb = read_only ? "EXAMINE" : "SELECT";
    int result;
    s = open_mailbox(st, verb, server, &result);
    char why[512] = "";
    if (s == MP_OK && result != IMAP_OK && create) {
        s = create_folder(st, server, why, sizeof why);
        if (s == MP_OK)
            s = open_mailbox(st, verb, server, &result);
        if (s == MP_OK && result == IMAP_OK && substituted)
            st->host->log(st->host, MP_LOG_INFO,
                          "%s: folder \"%s\" created as \"%s\" (the "
                          "server's delimiter '%c' inside a name became "
                          "'%s')",
                          st->display, name, server, st->delim, st->substitute);
    }
    if (s == MP_OK && result != IMAP_OK && why[0]) {
        imap_set_refused(st, MP_ERR_REFUSED,
                         "cannot create folder \"%s\" on %s: %s", name,
                         st->conn->where, why);
        s = MP_FOLDER_BAD;
    } else if (s == MP_OK && result != IMAP_OK) {
        int missing =
            strcasecmp(st->conn->last_code, "NONEXISTENT") == 0 || !create;
        imap_set_refused(st, missing ? MP_ERR_NOTFOUND : MP_ERR_REFUSED,
                         "cannot open folder \"%s\" on %s: %s", name,
                         st->conn->where, st->conn->last_text);
        s = MP_FOLDER_BAD;
    }
    if (s != MP_OK) {
        free(server);
        return s;
    }
    st->conn->selected = 1;
    imap_folder *f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(name))) {
        free(f);
        free(server);
        st->host->set_error(st->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    f->st = st;
    f->server_name = server;
    f->validity = st->conn->uidvalidity;
    imap_spool_init(&f->spool, 4u << 20);
    *info = (mp_folder_info){
        .struct_size = sizeof *info,
        .name = f->name,
        .validity = f->validity,
        .count = (int64_t)st->conn->exists,
        .change_marker = change_marker(st->conn),
        .store_name = f->server_name,
    };
    *out = f;
    return MP_OK;
}

void imap_folder_free(imap_folder *f)
{
    if (!f)
        return;
    imap_spool_free(&f->spool);
    for (size_t i = 0; i < f->n_pending; i++)
        free(f->pending[i].text);
    free(f->pending);
    free(f->put_keywords);
    free(f->name);
    free(f->server_name);
    free(f);
}

mp_status imap_store_subscribe(void *store, const char *name)
{
    imap_store *st = store;
    int substituted;
    mp_status s;
    char *server = server_name(st, name, &substituted, &s);
    if (!server)
        return s;
    /* RFC 3501 6.3.6: subscribing a subscribed name is no error (Dovecot
     * and Cyrus answer OK), so a re-run may send it again. */
    int result;
    s = simple(st, "SUBSCRIBE", server, &result);
    if (s == MP_OK && result != IMAP_OK) {
        imap_set_refused(st, MP_ERR_REFUSED,
                         "cannot subscribe folder \"%s\" on %s: %s", name,
                         st->conn->where, st->conn->last_text);
        s = MP_FOLDER_BAD;
    }
    free(server);
    return s;
}

/* What imap_status_number asks for and gets. */
typedef struct status_item {
    const char *item;
    uint64_t value;
} status_item;

/* "* STATUS name (ITEM n ...)" (RFC 3501 7.2.4): n of the item asked for. */
static mp_status on_status(void *ctx, imap_conn *c, int64_t num)
{
    status_item *want = ctx;
    imap_parser *p = &c->p;
    (void)num;
    if (!imap_tok_is(p, "STATUS"))
        return MP_OK;
    int t = imap_next_value(p, 65536); /* the mailbox name */
    if ((t != IMAP_T_STRING && t != IMAP_T_ATOM) ||
        imap_next(p) != IMAP_T_LPAREN)
        return MP_OK;
    while (imap_next(p) == IMAP_T_ATOM) {
        int is_it = imap_tok_is(p, want->item);
        uint64_t v;
        if (imap_next(p) == IMAP_T_ATOM && is_it && imap_tok_u64(p, &v) == 0)
            want->value = v;
    }
    return MP_OK;
}

mp_status imap_status_number(imap_conn *c, const char *mailbox,
                             const char *item, uint64_t *value, int *result)
{
    imap_str cmd = {0};
    imap_str_adds(&cmd, "STATUS ");
    if (imap_str_quote(&cmd, mailbox) < 0 || cmd.oom) {
        imap_str_free(&cmd);
        *result = IMAP_BAD;
        return MP_OK;
    }
    imap_str_adds(&cmd, " (");
    imap_str_adds(&cmd, item);
    imap_str_adds(&cmd, ")");
    status_item want = {item, 0};
    mp_status s =
        cmd.oom ? MP_OK : imap_cmd(c, cmd.s, on_status, &want, result);
    if (cmd.oom)
        *result = IMAP_BAD;
    imap_str_free(&cmd);
    *value = want.value;
    return s;
}

/* The account's user name (without case: servers that tell names apart by
 * case are rare, and the cost of treating two as one is only a wait) and
 * its INBOX's UIDVALIDITY. The server picks UIDVALIDITY when it creates
 * the mailbox, from the clock or a counter, so another account, or the
 * same user name on another server, almost never has the same one; every
 * port, address and TLS mode of one server reports the same. */
mp_status imap_store_identity(void *store, char *out, size_t size)
{
    imap_store *st = store;
    uint64_t uidvalidity = 0;
    int result = IMAP_NO;
    mp_status s = imap_status_number(st->conn, "INBOX", "UIDVALIDITY",
                                     &uidvalidity, &result);
    if (s != MP_OK)
        return s;
    if (result != IMAP_OK || uidvalidity == 0) {
        imap_set_refused(st, MP_ERR_PROTOCOL,
                         "%s does not tell its INBOX's UIDVALIDITY: %s",
                         st->conn->where, st->conn->last_text);
        return MP_FOLDER_BAD;
    }
    char user[sizeof st->conn->user];
    size_t i = 0;
    for (; st->conn->user[i] && i + 1 < sizeof user; i++)
        user[i] = (char)tolower((unsigned char)st->conn->user[i]);
    user[i] = '\0';
    snprintf(out, size, "imap user %s inbox-uidvalidity %llu", user,
             (unsigned long long)uidvalidity);
    return MP_OK;
}

/* ------------------------------------------------------------------------ */
/* FETCH responses.                                                          */

/* Skip one value: an atom, string, literal, NIL, or a (nested) list. */
static void skip_value(imap_parser *p)
{
    int t = imap_next(p);
    if (t != IMAP_T_LPAREN)
        return;
    int depth = 1;
    while (depth > 0) {
        t = imap_next(p);
        if (t < 0 || t == IMAP_T_EOL) {
            proto_error(p, "unbalanced list in FETCH");
            return;
        }
        if (t == IMAP_T_LPAREN)
            depth++;
        else if (t == IMAP_T_RPAREN)
            depth--;
    }
}

static int is_body_item(const char *name)
{
    return strncasecmp(name, "BODY[", 5) == 0 ||
           strncasecmp(name, "BINARY[", 7) == 0 ||
           strcasecmp(name, "RFC822") == 0 ||
           strcasecmp(name, "RFC822.HEADER") == 0 ||
           strcasecmp(name, "RFC822.TEXT") == 0;
}

mp_status imap_parse_fetch(imap_conn *c, imap_fetch_meta *m,
                           imap_body_fn body_fn, void *ctx)
{
    imap_parser *p = &c->p;
    if (imap_next(p) != IMAP_T_LPAREN) {
        proto_error(p, "FETCH without '('");
        return MP_OK;
    }
    for (;;) {
        int t = imap_next(p);
        if (t == IMAP_T_RPAREN)
            return MP_OK;
        if (t != IMAP_T_ATOM) {
            proto_error(p, "malformed FETCH item");
            return MP_OK;
        }
        uint64_t v;
        if (imap_tok_is(p, "UID")) {
            if (imap_next(p) != IMAP_T_ATOM || imap_tok_u64(p, &v) < 0 ||
                v == 0 || v > UINT32_MAX) {
                proto_error(p, "malformed UID in FETCH");
                return MP_OK;
            }
            m->uid = (uint32_t)v;
            m->have_uid = 1;
        } else if (imap_tok_is(p, "RFC822.SIZE")) {
            if (imap_next(p) != IMAP_T_ATOM || imap_tok_u64(p, &v) < 0) {
                proto_error(p, "malformed RFC822.SIZE in FETCH");
                return MP_OK;
            }
            m->size = v;
            m->have_size = 1;
        } else if (imap_tok_is(p, "INTERNALDATE")) {
            t = imap_next(p);
            if (t == IMAP_T_STRING && imap_parse_date(p->tok, &m->date) == 0)
                m->have_date = 1;
            else if (t != IMAP_T_STRING && t != IMAP_T_NIL) {
                proto_error(p, "malformed INTERNALDATE in FETCH");
                return MP_OK;
            }
        } else if (imap_tok_is(p, "FLAGS")) {
            if (imap_next(p) != IMAP_T_LPAREN) {
                proto_error(p, "malformed FLAGS in FETCH");
                return MP_OK;
            }
            m->flags = 0;
            m->keywords.len = 0;
            if (m->keywords.s)
                m->keywords.s[0] = '\0';
            while ((t = imap_next(p)) == IMAP_T_ATOM)
                imap_flag_add(p->tok, &m->flags, &m->keywords);
            if (t != IMAP_T_RPAREN) {
                proto_error(p, "malformed FLAGS list in FETCH");
                return MP_OK;
            }
            m->have_flags = 1;
        } else if (is_body_item(p->tok)) {
            t = imap_next(p);
            if (t != IMAP_T_LITERAL && t != IMAP_T_STRING && t != IMAP_T_NIL) {
                proto_error(p, "malformed body in FETCH");
                return MP_OK;
            }
            if (body_fn) {
                mp_status s = body_fn(ctx, c, m, t);
                if (s != MP_OK || p->error)
                    return s;
            }
        } else {
            skip_value(p);
        }
        if (p->error)
            return MP_OK;
    }
}

/* Gmail names its extensions in its capabilities; Microsoft 365 (and
 * Exchange) greet with "* OK The Microsoft Exchange IMAP4 service is
 * ready." and offer nothing of their own, so the greeting is what tells. */
const char *imap_store_host_kind(void *store)
{
    const imap_store *st = store;
    if (st->conn->caps & IMAP_CAP_X_GM_EXT_1)
        return "gmail";
    if (strstr(st->conn->greeting, "Microsoft Exchange"))
        return "office365";
    return NULL;
}
