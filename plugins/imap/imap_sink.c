/* The IMAP sink: SELECT (creating folders), APPEND with flags and internal
 * date, STORE and EXPUNGE. */
#include "imap_sink.h"

#include "imap_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* LITERAL- (RFC 7888) allows non-synchronising literals up to this size. */
#define LITERAL_MINUS_MAX 4096

/* "* STATUS name (APPENDLIMIT n)" (RFC 7889 section 4): the folder's
 * limit; NIL (no limit) leaves it 0. */
static mp_status on_status_limit(void *ctx, imap_conn *c, int64_t num)
{
    uint64_t *limit = ctx;
    imap_parser *p = &c->p;
    (void)num;
    if (!imap_tok_is(p, "STATUS"))
        return MP_OK;
    int t = imap_next_value(p, 65536); /* the mailbox name */
    if ((t != IMAP_T_STRING && t != IMAP_T_ATOM) ||
        imap_next(p) != IMAP_T_LPAREN)
        return MP_OK;
    while (imap_next(p) == IMAP_T_ATOM) {
        int is_limit = imap_tok_is(p, "APPENDLIMIT");
        uint64_t v;
        if (imap_next(p) == IMAP_T_ATOM && is_limit && imap_tok_u64(p, &v) == 0)
            *limit = v;
    }
    return MP_OK;
}

/* The folder's APPENDLIMIT: the server-wide one, else (bare APPENDLIMIT
 * capability) the folder's own. A server that will not say leaves it
 * unknown: the APPEND then decides, as without the extension. */
static mp_status read_appendlimit(imap_folder *f)
{
    imap_conn *c = f->st->conn;
    f->appendlimit = c->appendlimit;
    if (f->appendlimit || !(c->caps & IMAP_CAP_APPENDLIMIT))
        return MP_OK;
    imap_str cmd = {0};
    imap_str_adds(&cmd, "STATUS ");
    if (imap_str_quote(&cmd, f->server_name) < 0 || cmd.oom) {
        imap_str_free(&cmd);
        return MP_OK;
    }
    imap_str_adds(&cmd, " (APPENDLIMIT)");
    int result;
    mp_status s = imap_cmd(c, cmd.s, on_status_limit, &f->appendlimit, &result);
    imap_str_free(&cmd);
    return s;
}

mp_status imap_sink_open_folder(void *store, const char *name, void **folder,
                                mp_folder_info *info)
{
    imap_folder *f = NULL;
    mp_status s = imap_folder_open(store, name, 0, 1, &f, info);
    if (s == MP_OK)
        s = read_appendlimit(f);
    if (s == MP_OK) {
        f->pipeline = 1; /* this plugin has flush_keys: keys come there */
        *folder = f;
    } else if (f) {
        imap_folder_free(f);
    }
    return s;
}

/* APPEND answers in flight at most: each answer is a short line, so the
 * server can never block writing them while we write the next message. */
#define MAX_UNANSWERED 32

/* The APPENDUID response code's UID: "APPENDUID <validity> <uid>". */
static void appenduid_key(const char *code, char *key, size_t size)
{
    unsigned long validity, uid;
    if (sscanf(code, "APPENDUID %lu %lu", &validity, &uid) == 2 ||
        sscanf(code, "appenduid %lu %lu", &validity, &uid) == 2)
        snprintf(key, size, "%lu", uid);
}

/* Read tagged answers to pipelined APPENDs until at most LEFT are
 * unanswered. */
static mp_status read_answers(imap_folder *f, size_t left)
{
    imap_conn *c = f->st->conn;
    while (f->n_unanswered > left) {
        unsigned tag;
        int result;
        mp_status s = imap_wait_tagged(c, NULL, NULL, &tag, &result);
        if (s != MP_OK)
            return s;
        imap_pending *p = NULL;
        for (size_t i = f->n_pending - f->n_unanswered; i < f->n_pending; i++)
            if (f->pending[i].tag == tag && !f->pending[i].answered)
                p = &f->pending[i];
        if (!p) {
            c->p.error = IMAP_ERR_PROTO;
            snprintf(c->p.err, sizeof c->p.err,
                     "answer to an unknown command (tag m%u)", tag);
            return imap_conn_fail(c, "appending");
        }
        p->answered = 1;
        p->result = result;
        p->throttled = c->last_throttled;
        if (result == IMAP_OK)
            appenduid_key(c->last_code, p->key, sizeof p->key);
        else
            p->text = strdup(c->last_text);
        f->n_unanswered--;
    }
    return MP_OK;
}

static void forget_pending(imap_folder *f)
{
    for (size_t i = 0; i < f->n_pending; i++)
        free(f->pending[i].text);
    f->n_pending = f->n_unanswered = 0;
}

mp_status imap_sink_flush_keys(void *folder, mp_commit_cb cb, void *ctx)
{
    imap_folder *f = folder;
    mp_host *host = f->st->host;
    mp_status s = read_answers(f, 0);
    for (size_t i = 0; i < f->n_pending; i++) {
        imap_pending *p = &f->pending[i];
        if (!p->answered)
            break; /* not reported: not stored, as far as anyone knows */
        if (p->result == IMAP_OK) {
            cb(ctx, i, MP_OK, p->key);
        } else if (p->throttled && MP_HAS_SLOT(host, mp_host, throttled)) {
            cb(ctx, i, MP_TEMPORARY, NULL); /* not stored: send it again */
        } else {
            host->set_error(host, MP_ERR_REFUSED,
                            "folder \"%s\" on %s: server refused the message: %s",
                            f->name, f->st->conn->where, p->text ? p->text : "");
            cb(ctx, i, MP_MSG_BAD, NULL);
        }
    }
    forget_pending(f);
    if (s != MP_OK) {
        /* The refusals above replaced the host's error: say again what
         * failed the folder. */
        if (f->st->conn->broken)
            imap_conn_fail(f->st->conn, "appending");
        return s;
    }
    if (f->st->conn->throttle[0])
        return imap_conn_throttled(f->st->conn, "appending");
    if (f->st->conn->broken)
        return imap_conn_fail(f->st->conn, "flushing");
    return MP_OK;
}

/* Without per-message reporting: every pipelined APPEND must have worked. */
mp_status imap_sink_flush(void *folder)
{
    imap_folder *f = folder;
    mp_status s = read_answers(f, 0);
    if (s != MP_OK)
        return s;
    for (size_t i = 0; i < f->n_pending; i++)
        if (f->pending[i].result != IMAP_OK) {
            f->st->host->set_error(f->st->host, MP_ERR_REFUSED,
                                   "folder \"%s\" on %s: server refused a "
                                   "message: %s",
                                   f->name, f->st->conn->where,
                                   f->pending[i].text ? f->pending[i].text : "");
            forget_pending(f);
            return MP_FOLDER_BAD;
        }
    forget_pending(f);
    if (f->st->conn->broken)
        return imap_conn_fail(f->st->conn, "flushing");
    return MP_OK;
}

mp_status imap_sink_close_folder(void *folder)
{
    imap_folder *f = folder;
    mp_status s = imap_sink_flush(f);
    /* No CLOSE: it would expunge messages copied with \Deleted. */
    imap_folder_free(f);
    return s;
}

mp_status imap_sink_scan(void *folder, unsigned flags, mp_msg_cb cb, void *ctx)
{
    imap_folder *f = folder;
    mp_status s = read_answers(f, 0); /* answers first, then the FETCH */
    return s != MP_OK ? s : imap_folder_scan(folder, flags, cb, ctx);
}

mp_status imap_sink_put_begin(void *folder, const mp_msg_info *info,
                              void **put)
{
    imap_folder *f = folder;
    if (f->put_open) {
        f->st->host->set_error(f->st->host, MP_ERR_INTERNAL,
                               "folder \"%s\": a put is already open", f->name);
        return MP_FATAL;
    }
    imap_spool_reset(&f->spool);
    free(f->put_keywords);
    f->put_keywords = strdup(info->keywords ? info->keywords : "");
    if (!f->put_keywords) {
        f->st->host->set_error(f->st->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    f->put_flags = info->flags;
    f->put_date = info->internal_date;
    f->put_open = 1;
    *put = f;
    return MP_OK;
}

mp_status imap_sink_put_write(void *put, const void *buf, size_t len)
{
    imap_folder *f = put;
    if (imap_spool_write(&f->spool, buf, len) < 0) {
        f->st->host->set_error(f->st->host, MP_ERR_IO,
                               "folder \"%s\": cannot buffer the message in a "
                               "temporary file: %m",
                               f->name);
        return MP_FATAL;
    }
    return MP_OK;
}

void imap_sink_put_abort(void *put)
{
    imap_folder *f = put;
    imap_spool_reset(&f->spool);
    f->put_open = 0;
}

/* Is KEYWORD one the selected mailbox keeps? */
static int keyword_allowed(const char *permflags, const char *keyword)
{
    if (!permflags)
        return 1; /* no PERMANENTFLAGS: RFC 3501 says all flags persist */
    const char *p = permflags;
    size_t klen = strlen(keyword);
    while (*p) {
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if ((len == 2 && strncmp(p, "\\*", 2) == 0) ||
            (len == klen && strncasecmp(p, keyword, len) == 0))
            return 1;
        p += len;
        while (*p == ' ')
            p++;
    }
    return 0;
}

static void add_flag(imap_str *b, const char *flag)
{
    if (b->s && b->s[b->len - 1] != '(')
        imap_str_add(b, " ", 1);
    imap_str_adds(b, flag);
}

/* "(\Seen $Forwarded Foo)" for the put's flags and keywords. */
static void build_flag_list(imap_folder *f, unsigned flags,
                            const char *keywords, imap_str *b)
{
    static const struct {
        unsigned bit;
        const char *name;
    } sys[] = {
        {MP_FLAG_SEEN, "\\Seen"},       {MP_FLAG_ANSWERED, "\\Answered"},
        {MP_FLAG_FLAGGED, "\\Flagged"}, {MP_FLAG_DELETED, "\\Deleted"},
        {MP_FLAG_DRAFT, "\\Draft"},
    };
    const char *perm = f->st->conn->permflags;
    imap_str_add(b, "(", 1);
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++)
        if (flags & sys[i].bit)
            add_flag(b, sys[i].name);
    if (flags & MP_FLAG_FORWARDED) {
        if (keyword_allowed(perm, "$Forwarded"))
            add_flag(b, "$Forwarded");
        else
            f->st->host->log(f->st->host, MP_LOG_WARN,
                             "folder \"%s\" on %s does not keep $Forwarded: "
                             "dropped",
                             f->name, f->st->conn->where);
    }
    const char *p = keywords ? keywords : "";
    while (*p) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            break;
        char kw[256];
        if (len < sizeof kw) {
            memcpy(kw, p, len);
            kw[len] = '\0';
            if (strcasecmp(kw, "$Forwarded") == 0 && (flags & MP_FLAG_FORWARDED))
                ; /* already there */
            else if (!imap_is_keyword_atom(kw))
                f->st->host->log(f->st->host, MP_LOG_WARN,
                                 "folder \"%s\": keyword \"%s\" is not a "
                                 "valid IMAP atom: dropped",
                                 f->name, kw);
            else if (!keyword_allowed(perm, kw))
                f->st->host->log(f->st->host, MP_LOG_WARN,
                                 "folder \"%s\" on %s does not keep keyword "
                                 "\"%s\": dropped",
                                 f->name, f->st->conn->where, kw);
            else
                add_flag(b, kw);
        }
        p += len;
    }
    imap_str_add(b, ")", 1);
}

static int send_chunk(void *ctx, const char *buf, size_t len)
{
    imap_conn *c = ctx;
    return imap_conn_send(c, buf, len) == MP_OK ? 0 : 2;
}

mp_status imap_sink_put_commit(void *put, char *key_out, size_t key_size)
{
    imap_folder *f = put;
    imap_conn *c = f->st->conn;
    mp_host *host = f->st->host;
    f->put_open = 0;
    if (key_size)
        key_out[0] = '\0';
    uint64_t size = f->spool.size;
    if (f->appendlimit && size > f->appendlimit) {
        /* Sending it would only have it refused after the last byte. */
        imap_spool_reset(&f->spool);
        host->set_error(host, MP_ERR_REFUSED,
                        "folder \"%s\" on %s: too big for the destination: "
                        "%llu bytes, the server accepts at most %llu",
                        f->name, c->where, (unsigned long long)size,
                        (unsigned long long)f->appendlimit);
        return MP_MSG_BAD;
    }
    int nonsync = (c->caps & IMAP_CAP_LITERALPLUS) ||
                  ((c->caps & IMAP_CAP_LITERALMINUS) && size <= LITERAL_MINUS_MAX);
    /* Pipelining needs the core to collect keys at flush_keys, and a
     * literal the server takes without a "+ go ahead". */
    int pipelined = nonsync && f->pipeline;
    mp_status s = read_answers(f, pipelined ? MAX_UNANSWERED - 1 : 0);
    if (s == MP_OK && c->throttle[0]) {
        /* The server asked to slow down: this message is not sent; the
         * answers still due are read, so flush_keys can tell each one. */
        s = read_answers(f, 0);
        if (s == MP_OK)
            s = imap_conn_throttled(c, "appending");
    }
    if (s != MP_OK) {
        imap_spool_reset(&f->spool);
        return s;
    }
    if (pipelined && f->n_pending == f->cap_pending) {
        size_t cap = f->cap_pending ? f->cap_pending * 2 : 64;
        imap_pending *p = realloc(f->pending, cap * sizeof *p);
        if (!p) {
            imap_spool_reset(&f->spool);
            host->set_error(host, MP_ERR_INTERNAL, "out of memory");
            return MP_FATAL;
        }
        f->pending = p;
        f->cap_pending = cap;
    }

    imap_str cmd = {0};
    imap_str_adds(&cmd, "APPEND ");
    imap_str_quote(&cmd, f->server_name); /* checked at open_folder */
    imap_str_add(&cmd, " ", 1);
    build_flag_list(f, f->put_flags, f->put_keywords, &cmd);
    if (f->put_date != MP_DATE_UNKNOWN) {
        char date[40];
        imap_format_date(f->put_date, date, sizeof date);
        imap_str_addf(&cmd, " \"%s\"", date);
    }
    imap_str_addf(&cmd, " {%llu%s}", (unsigned long long)size,
                  nonsync ? "+" : "");
    if (cmd.oom) {
        imap_str_free(&cmd);
        imap_spool_reset(&f->spool);
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    unsigned tag, got;
    int result;
    s = imap_cmd_send(c, &tag, cmd.s);
    imap_str_free(&cmd);
    if (s == MP_OK && !nonsync) {
        /* Wait for "+ go ahead", or the refusal instead of it. */
        s = imap_wait_tagged(c, NULL, NULL, &got, &result);
        if (s == MP_OK && got != 0) {
            imap_spool_reset(&f->spool);
            if (got != tag) {
                c->p.error = IMAP_ERR_PROTO;
                snprintf(c->p.err, sizeof c->p.err, "response to an unknown tag");
                return imap_conn_fail(c, "appending");
            }
            if (c->last_throttled)
                return imap_conn_throttled(c, "appending");
            host->set_error(host, MP_ERR_REFUSED,
                            "folder \"%s\" on %s: server refused the message: %s",
                            f->name, c->where, c->last_text);
            return MP_MSG_BAD;
        }
    }
    if (s == MP_OK) {
        int r = imap_spool_each(&f->spool, send_chunk, c);
        if (r == 2)
            s = imap_conn_fail(c, "sending a message");
        else if (r < 0) {
            /* The literal's length is promised: the connection cannot be
             * saved. */
            c->broken = 1;
            host->set_error(host, MP_ERR_IO,
                            "folder \"%s\": cannot read back the buffered "
                            "message: %m",
                            f->name);
            s = MP_FATAL;
        }
    }
    if (s == MP_OK)
        s = imap_conn_send(c, "\r\n", 2);
    imap_spool_reset(&f->spool);
    if (s == MP_OK && pipelined) {
        f->pending[f->n_pending++] = (imap_pending){.tag = tag};
        f->n_unanswered++;
        return MP_OK; /* the key comes at flush_keys */
    }
    while (s == MP_OK) {
        s = imap_wait_tagged(c, NULL, NULL, &got, &result);
        if (s != MP_OK || got == tag)
            break;
        c->p.error = IMAP_ERR_PROTO;
        snprintf(c->p.err, sizeof c->p.err, "unexpected response during APPEND");
        s = imap_conn_fail(c, "appending");
    }
    if (s != MP_OK)
        return s;
    if (result != IMAP_OK && c->last_throttled)
        return imap_conn_throttled(c, "appending");
    if (result != IMAP_OK) {
        host->set_error(host, MP_ERR_REFUSED,
                        "folder \"%s\" on %s: server refused the message: %s",
                        f->name, c->where, c->last_text);
        return MP_MSG_BAD;
    }
    if (key_size)
        appenduid_key(c->last_code, key_out, key_size);
    return MP_OK;
}

mp_status imap_sink_set_flags(void *folder, const char *key, unsigned flags,
                              const char *keywords)
{
    imap_folder *f = folder;
    uint32_t uid;
    if (imap_parse_uid(key, &uid) < 0) {
        f->st->host->set_error(f->st->host, MP_ERR_NOTFOUND,
                               "folder \"%s\": \"%s\" is not an IMAP UID",
                               f->name, key);
        return MP_MSG_BAD;
    }
    mp_status s = read_answers(f, 0);
    if (s != MP_OK)
        return s;
    imap_str cmd = {0};
    imap_str_addf(&cmd, "UID STORE %u FLAGS.SILENT ", uid);
    build_flag_list(f, flags, keywords, &cmd);
    int result;
    s = cmd.oom ? MP_FATAL : imap_cmd(f->st->conn, cmd.s, NULL, NULL, &result);
    imap_str_free(&cmd);
    if (s != MP_OK)
        return s;
    if (result != IMAP_OK) {
        f->st->host->set_error(f->st->host, MP_ERR_REFUSED,
                               "folder \"%s\" on %s: cannot set flags of UID "
                               "%u: %s",
                               f->name, f->st->conn->where, uid,
                               f->st->conn->last_text);
        return MP_MSG_BAD;
    }
    return MP_OK;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

mp_status imap_sink_remove(void *folder, const char *const *keys, size_t n)
{
    imap_folder *f = folder;
    mp_host *host = f->st->host;
    if (n == 0)
        return MP_OK;
    mp_status s = read_answers(f, 0);
    if (s != MP_OK)
        return s;
    uint32_t *uids = malloc(n * sizeof *uids);
    if (!uids) {
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (imap_parse_uid(keys[i], &uids[k]) == 0)
            k++;
    qsort(uids, k, sizeof *uids, u32_cmp);
    size_t w = 0;
    for (size_t i = 0; i < k; i++)
        if (w == 0 || uids[w - 1] != uids[i])
            uids[w++] = uids[i];
    imap_str set = {0};
    imap_uid_set(&set, uids, w);
    free(uids);
    if (w == 0 || set.oom) {
        imap_str_free(&set);
        if (w == 0)
            return MP_OK;
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    imap_str cmd = {0};
    imap_str_addf(&cmd, "UID STORE %s +FLAGS.SILENT (\\Deleted)", set.s);
    int result;
    s = imap_cmd(f->st->conn, cmd.s, NULL, NULL, &result);
    imap_str_free(&cmd);
    if (s == MP_OK && result == IMAP_OK) {
        if (f->st->conn->caps & IMAP_CAP_UIDPLUS)
            imap_str_addf(&cmd, "UID EXPUNGE %s", set.s);
        else
            imap_str_adds(&cmd, "EXPUNGE");
        s = imap_cmd(f->st->conn, cmd.s, NULL, NULL, &result);
        imap_str_free(&cmd);
    }
    imap_str_free(&set);
    if (s == MP_OK && result != IMAP_OK) {
        host->set_error(host, MP_ERR_REFUSED,
                        "folder \"%s\" on %s: cannot remove messages: %s",
                        f->name, f->st->conn->where, f->st->conn->last_text);
        return MP_FOLDER_BAD;
    }
    return s;
}
