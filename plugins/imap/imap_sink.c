/* The IMAP sink: SELECT (creating folders), APPEND with flags and internal
 * date (pipelined single APPENDs, or MULTIAPPEND batches), STORE and
 * EXPUNGE. */
#include "imap_sink.h"

#include "imap_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* LITERAL- (RFC 7888) allows non-synchronising literals up to this size. */
#define LITERAL_MINUS_MAX 4096

/* MULTIAPPEND (RFC 3502): several messages in one APPEND command, which
 * the server stores as one transaction (Dovecot: one fsync and one index
 * update for the lot instead of one per message). A batch is ended once it
 * holds MULTI_MAX_MESSAGES messages or MULTI_MAX_BYTES bytes. Both bound
 * what a refusal costs: a failed MULTIAPPEND stores none of its messages,
 * so each is then sent again alone (and a server that fails a whole batch
 * for one message, as Dovecot does, makes the others travel twice); and
 * 64 messages already make the server's per-transaction cost small next to
 * its per-message cost, so larger batches would gain little. The bytes of
 * a batch are kept (in memory up to MULTI_SPOOL_MEM, then in a temporary
 * file) until its answer came, for that resending; MULTI_SLOTS batches may
 * be under way, one being sent while the server stores the one before. */
#define MULTI_MAX_MESSAGES 64
#define MULTI_MAX_BYTES (8u << 20)
#define MULTI_SLOTS 2
/* Two slots of 2 MiB: no more memory than the single-APPEND spool's 4 MiB. */
#define MULTI_SPOOL_MEM (2u << 20)

typedef struct multi_msg {
    size_t seq;         /* its entry in the folder's pending list */
    uint64_t off, size; /* its bytes in the batch's spool */
    char *args;         /* " (flags) "date" {size+}", as sent */
} multi_msg;

enum { BATCH_FREE, BATCH_OPEN, BATCH_SENT };

typedef struct multi_batch {
    int state;    /* BATCH_OPEN: the command is begun (when n > 0), messages
                   * may follow; BATCH_SENT: ended, its answer is due */
    unsigned tag; /* of its APPEND command, once begun */
    size_t n;
    imap_spool spool;
    multi_msg msg[MULTI_MAX_MESSAGES];
} multi_batch;

/* The sink's folder handle: the folder, and the MULTIAPPEND batches. */
typedef struct sink_folder {
    imap_folder *f;
    int multi;        /* MULTIAPPEND in use for this folder */
    int open;         /* the BATCH_OPEN slot, or -1 */
    uint64_t put_off; /* where the message being put starts in its spool */
    multi_batch b[MULTI_SLOTS];
} sink_folder;

/* The folder's APPENDLIMIT: the server-wide one, else (bare APPENDLIMIT
 * capability) the folder's own. A server that will not say leaves it
 * unknown: the APPEND then decides, as without the extension. */
static mp_status read_appendlimit(imap_folder *f)
{
    imap_conn *c = f->st->conn;
    f->appendlimit = c->appendlimit;
    if (f->appendlimit || !(c->caps & IMAP_CAP_APPENDLIMIT))
        return MP_OK;
    /* "* STATUS name (APPENDLIMIT n)" (RFC 7889 section 4); NIL (no
     * limit) leaves it 0. */
    int result;
    return imap_status_number(c, f->server_name, "APPENDLIMIT", &f->appendlimit,
                              &result);
}

mp_status imap_sink_open_folder(void *store, const char *name, void **folder,
                                mp_folder_info *info)
{
    imap_folder *f = NULL;
    mp_status s = imap_folder_open(store, name, 0, 1, &f, info);
    if (s == MP_OK)
        s = read_appendlimit(f);
    sink_folder *sf = s == MP_OK ? calloc(1, sizeof *sf) : NULL;
    if (s == MP_OK && !sf) {
        f->st->host->set_error(f->st->host, MP_ERR_INTERNAL, "out of memory");
        s = MP_FATAL;
    }
    if (s != MP_OK) {
        imap_folder_free(f);
        return s;
    }
    f->pipeline = 1; /* this plugin has flush_keys: keys come there */
    sf->f = f;
    sf->open = -1;
    /* Batches need literals the server takes without "+ go ahead". */
    unsigned caps = f->st->conn->caps;
    sf->multi = f->st->multiappend && (caps & IMAP_CAP_MULTIAPPEND) &&
                (caps & IMAP_CAP_LITERALPLUS);
    for (size_t i = 0; i < MULTI_SLOTS; i++)
        imap_spool_init(&sf->b[i].spool, MULTI_SPOOL_MEM);
    *folder = sf;
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

static int send_chunk(void *ctx, const char *buf, size_t len)
{
    imap_conn *c = ctx;
    return imap_conn_send(c, buf, len) == MP_OK ? 0 : 2;
}

/* Send bytes [OFF, OFF+SIZE) of SPOOL as a literal's content. */
static mp_status send_spooled(imap_folder *f, imap_spool *spool, uint64_t off,
                              uint64_t size)
{
    imap_conn *c = f->st->conn;
    int r = imap_spool_range(spool, off, size, send_chunk, c);
    if (r == 2)
        return imap_conn_fail(c, "sending a message");
    if (r < 0) {
        /* The literal's length is promised: the connection cannot be
         * saved. */
        c->broken = 1;
        f->st->host->set_error(f->st->host, MP_ERR_IO,
                               "folder \"%s\": cannot read back the buffered "
                               "message: %m",
                               f->name);
        return MP_FATAL;
    }
    return MP_OK;
}

static void batch_free(multi_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->msg[i].args);
    b->n = 0;
    b->tag = 0;
    b->state = BATCH_FREE;
    imap_spool_reset(&b->spool);
}

/* End the open batch's command (its final CRLF): its answer is then due. */
static mp_status end_batch(sink_folder *sf)
{
    if (sf->open < 0)
        return MP_OK;
    multi_batch *b = &sf->b[sf->open];
    sf->open = -1;
    if (b->n == 0) {
        batch_free(b);
        return MP_OK;
    }
    b->state = BATCH_SENT;
    /* On a lost connection its answer never comes: what the server sent
     * before is still read (imap_wait_tagged). */
    if (sf->f->st->conn->broken)
        return MP_OK;
    return imap_conn_send(sf->f->st->conn, "\r\n", 2);
}

/* Send "APPEND box ARGS" CRLF and the message's bytes as a command of its
 * own; *TAG gets its tag. */
static mp_status send_single(imap_folder *f, const char *args,
                             imap_spool *spool, uint64_t off, uint64_t size,
                             unsigned *tag)
{
    imap_str cmd = {0};
    imap_str_adds(&cmd, "APPEND ");
    imap_str_quote(&cmd, f->server_name); /* checked at open_folder */
    imap_str_adds(&cmd, args);
    if (cmd.oom) {
        imap_str_free(&cmd);
        f->st->host->set_error(f->st->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    mp_status s = imap_cmd_send(f->st->conn, tag, cmd.s);
    imap_str_free(&cmd);
    if (s == MP_OK)
        s = send_spooled(f, spool, off, size);
    if (s == MP_OK)
        s = imap_conn_send(f->st->conn, "\r\n", 2);
    return s;
}

/* The answer to batch B's MULTIAPPEND (c->last_*). OK: each message gets
 * its UID from APPENDUID's uid-set, in order (none when the set does not
 * name exactly one UID per message). A refusal for now (throttling) or of
 * a batch of one is that of each of its messages. Any other refusal: RFC
 * 3502 says a failed MULTIAPPEND stores none of its messages (Dovecot
 * fails the whole command when one message is refused, README), so each
 * is sent again as a single APPEND, whose own answer then tells. */
static mp_status batch_answered(sink_folder *sf, multi_batch *b, int result)
{
    imap_folder *f = sf->f;
    imap_conn *c = f->st->conn;
    f->n_unanswered--;
    if (result == IMAP_OK) {
        uint32_t uids[MULTI_MAX_MESSAGES];
        /* "APPENDUID <validity> <uid-set>" (RFC 4315). */
        const char *set = NULL;
        unsigned long validity;
        int at = 0;
        if (strncasecmp(c->last_code, "APPENDUID ", 10) == 0 &&
            sscanf(c->last_code + 10, "%lu %n", &validity, &at) == 1 && at > 0)
            set = c->last_code + 10 + at;
        int have = set && imap_parse_uid_set(set, uids, b->n) > 0;
        for (size_t i = 0; i < b->n; i++) {
            imap_pending *p = &f->pending[b->msg[i].seq];
            p->answered = 1;
            p->result = IMAP_OK;
            if (have)
                snprintf(p->key, sizeof p->key, "%u", uids[i]);
        }
        batch_free(b);
        return MP_OK;
    }
    if (b->n == 1 || c->last_throttled) {
        for (size_t i = 0; i < b->n; i++) {
            imap_pending *p = &f->pending[b->msg[i].seq];
            p->answered = 1;
            p->result = result;
            p->throttled = c->last_throttled;
            p->text = strdup(c->last_text);
        }
        batch_free(b);
        return MP_OK;
    }
    f->st->host->log(f->st->host, MP_LOG_INFO,
                     "folder \"%s\" on %s: the server refused a MULTIAPPEND "
                     "of %zu messages (%s); sending them one by one",
                     f->name, c->where, b->n, c->last_text);
    mp_status s = MP_OK;
    for (size_t i = 0; i < b->n && s == MP_OK; i++) {
        multi_msg *m = &b->msg[i];
        unsigned tag;
        s = send_single(f, m->args, &b->spool, m->off, m->size, &tag);
        if (s == MP_OK) {
            f->pending[m->seq].tag = tag;
            f->n_unanswered++;
        }
    }
    /* Those not sent stay unanswered: not reported, as if in flight when
     * the connection dropped. */
    batch_free(b);
    return s;
}

/* Read tagged answers to pipelined APPENDs (single ones, MULTIAPPEND
 * batches) until at most LEFT commands are unanswered. The open batch is
 * ended first: nothing else may be sent inside its command. */
static mp_status read_answers(sink_folder *sf, size_t left)
{
    imap_folder *f = sf->f;
    imap_conn *c = f->st->conn;
    mp_status s = end_batch(sf);
    if (s != MP_OK && !c->send_failed)
        return s;
    while (f->n_unanswered > left) {
        unsigned tag;
        int result;
        s = imap_wait_tagged(c, NULL, NULL, &tag, &result);
        if (s != MP_OK)
            return s;
        multi_batch *b = NULL;
        for (size_t i = 0; i < MULTI_SLOTS; i++)
            if (sf->b[i].state == BATCH_SENT && sf->b[i].tag == tag)
                b = &sf->b[i];
        if (b) {
            s = batch_answered(sf, b, result);
            if (s != MP_OK)
                return s;
            continue;
        }
        imap_pending *p = NULL;
        for (size_t i = f->n_pending; i-- > 0 && !p;)
            if (f->pending[i].tag == tag && !f->pending[i].answered)
                p = &f->pending[i];
        if (!p || tag == 0) {
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
    sink_folder *sf = folder;
    imap_folder *f = sf->f;
    mp_host *host = f->st->host;
    mp_status s = read_answers(sf, 0);
    for (size_t i = 0; i < f->n_pending; i++) {
        imap_pending *p = &f->pending[i];
        if (!p->answered)
            continue; /* not reported: the core looks for it before it
                       * sends it again (a batch sent again one by one
                       * may leave it behind later messages) */
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
    sink_folder *sf = folder;
    imap_folder *f = sf->f;
    mp_status s = read_answers(sf, 0);
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
    sink_folder *sf = folder;
    mp_status s = imap_sink_flush(sf);
    /* No CLOSE: it would expunge messages copied with \Deleted. */
    for (size_t i = 0; i < MULTI_SLOTS; i++) {
        batch_free(&sf->b[i]);
        imap_spool_free(&sf->b[i].spool);
    }
    imap_folder_free(sf->f);
    free(sf);
    return s;
}

mp_status imap_sink_scan(void *folder, unsigned flags, mp_msg_cb cb, void *ctx)
{
    sink_folder *sf = folder;
    mp_status s = read_answers(sf, 0); /* answers first, then the FETCH */
    return s != MP_OK ? s : imap_folder_scan(sf->f, flags, cb, ctx);
}

/* A batch for the next message: the open one while it has room, else a
 * free slot, once the answer of the batch in it has been read. */
static mp_status open_batch(sink_folder *sf)
{
    imap_conn *c = sf->f->st->conn;
    if (sf->open >= 0) {
        multi_batch *b = &sf->b[sf->open];
        if (b->n < MULTI_MAX_MESSAGES && b->spool.size < MULTI_MAX_BYTES)
            return MP_OK;
        mp_status s = end_batch(sf);
        if (s != MP_OK)
            return s;
    }
    for (;;) {
        if (c->throttle[0]) {
            /* The server asked to slow down: nothing more is sent; the
             * answers still due are read, so flush_keys can tell each. */
            mp_status s = read_answers(sf, 0);
            return s != MP_OK ? s : imap_conn_throttled(c, "appending");
        }
        for (int i = 0; i < MULTI_SLOTS; i++)
            if (sf->b[i].state == BATCH_FREE) {
                sf->b[i].state = BATCH_OPEN;
                sf->open = i;
                return MP_OK;
            }
        mp_status s = read_answers(sf, sf->f->n_unanswered - 1);
        if (s != MP_OK)
            return s;
    }
}

mp_status imap_sink_put_begin(void *folder, const mp_msg_info *info,
                              void **put)
{
    sink_folder *sf = folder;
    imap_folder *f = sf->f;
    if (f->put_open) {
        f->st->host->set_error(f->st->host, MP_ERR_INTERNAL,
                               "folder \"%s\": a put is already open", f->name);
        return MP_FATAL;
    }
    if (sf->multi) {
        mp_status s = open_batch(sf);
        if (s != MP_OK)
            return s;
        sf->put_off = sf->b[sf->open].spool.size;
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
    *put = sf;
    return MP_OK;
}

/* Where the message being put is spooled. */
static imap_spool *put_spool(sink_folder *sf)
{
    return sf->multi ? &sf->b[sf->open].spool : &sf->f->spool;
}

/* Forget the message being put. */
static void drop_put(sink_folder *sf)
{
    if (sf->multi)
        imap_spool_truncate(put_spool(sf), sf->put_off);
    else
        imap_spool_reset(&sf->f->spool);
}

mp_status imap_sink_put_write(void *put, const void *buf, size_t len)
{
    sink_folder *sf = put;
    imap_folder *f = sf->f;
    if (imap_spool_write(put_spool(sf), buf, len) < 0) {
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
    sink_folder *sf = put;
    drop_put(sf);
    sf->f->put_open = 0;
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

/* " (flags) "date" {SIZE+}": what follows the mailbox name for the
 * message being put. */
static void append_args(imap_folder *f, uint64_t size, int nonsync,
                        imap_str *cmd)
{
    imap_str_add(cmd, " ", 1);
    build_flag_list(f, f->put_flags, f->put_keywords, cmd);
    if (f->put_date != MP_DATE_UNKNOWN) {
        char date[40];
        imap_format_date(f->put_date, date, sizeof date);
        imap_str_addf(cmd, " \"%s\"", date);
    }
    imap_str_addf(cmd, " {%llu%s}", (unsigned long long)size,
                  nonsync ? "+" : "");
}

static mp_status grow_pending(imap_folder *f)
{
    if (f->n_pending < f->cap_pending)
        return MP_OK;
    size_t cap = f->cap_pending ? f->cap_pending * 2 : 64;
    imap_pending *p = realloc(f->pending, cap * sizeof *p);
    if (!p) {
        f->st->host->set_error(f->st->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    f->pending = p;
    f->cap_pending = cap;
    return MP_OK;
}

/* put_commit with MULTIAPPEND: the message goes out at once as the next
 * message of the open batch's APPEND command (its first begins the
 * command); its key comes at flush_keys. */
static mp_status multi_commit(sink_folder *sf, uint64_t size)
{
    imap_folder *f = sf->f;
    imap_conn *c = f->st->conn;
    multi_batch *b = &sf->b[sf->open];
    mp_status s = grow_pending(f);
    imap_str args = {0};
    append_args(f, size, 1, &args);
    if (s == MP_OK && args.oom) {
        f->st->host->set_error(f->st->host, MP_ERR_INTERNAL, "out of memory");
        s = MP_FATAL;
    }
    if (s != MP_OK) {
        imap_str_free(&args);
        drop_put(sf);
        return s;
    }
    /* The first message begins the command, the next ones continue it. */
    imap_str line = {0};
    unsigned tag = b->n ? b->tag : c->next_tag + 1;
    if (b->n == 0) {
        imap_str_addf(&line, "m%u APPEND ", tag);
        imap_str_quote(&line, f->server_name); /* checked at open_folder */
    }
    imap_str_adds(&line, args.s);
    imap_str_add(&line, "\r\n", 2);
    if (line.oom) {
        f->st->host->set_error(f->st->host, MP_ERR_INTERNAL, "out of memory");
        s = MP_FATAL;
    } else {
        if (b->n == 0)
            b->tag = ++c->next_tag;
        s = imap_conn_send(c, line.s, line.len);
    }
    imap_str_free(&line);
    if (s == MP_OK)
        s = send_spooled(f, &b->spool, sf->put_off, size);
    if (s != MP_OK) {
        /* Not reported at flush_keys: the core looks for it before it
         * sends it again, as for any message in flight when the
         * connection dropped. */
        imap_str_free(&args);
        drop_put(sf);
        return s;
    }
    if (b->n == 0)
        f->n_unanswered++; /* one answer for the whole batch */
    f->pending[f->n_pending] = (imap_pending){.tag = b->tag};
    b->msg[b->n++] = (multi_msg){f->n_pending++, sf->put_off, size, args.s};
    return MP_OK;
}

mp_status imap_sink_put_commit(void *put, char *key_out, size_t key_size)
{
    sink_folder *sf = put;
    imap_folder *f = sf->f;
    imap_conn *c = f->st->conn;
    mp_host *host = f->st->host;
    f->put_open = 0;
    if (key_size)
        key_out[0] = '\0';
    uint64_t size = put_spool(sf)->size - (sf->multi ? sf->put_off : 0);
    if (f->appendlimit && size > f->appendlimit) {
        /* Sending it would only have it refused after the last byte. */
        drop_put(sf);
        host->set_error(host, MP_ERR_REFUSED,
                        "folder \"%s\" on %s: too big for the destination: "
                        "%llu bytes, the server accepts at most %llu",
                        f->name, c->where, (unsigned long long)size,
                        (unsigned long long)f->appendlimit);
        return MP_MSG_BAD;
    }
    if (sf->multi && c->throttle[0]) {
        /* Noticed while reading answers: nothing more is sent. */
        drop_put(sf);
        mp_status s = read_answers(sf, 0);
        return s != MP_OK ? s : imap_conn_throttled(c, "appending");
    }
    if (sf->multi)
        return multi_commit(sf, size);
    int nonsync = (c->caps & IMAP_CAP_LITERALPLUS) ||
                  ((c->caps & IMAP_CAP_LITERALMINUS) && size <= LITERAL_MINUS_MAX);
    /* Pipelining needs the core to collect keys at flush_keys, and a
     * literal the server takes without a "+ go ahead". */
    int pipelined = nonsync && f->pipeline;
    mp_status s = read_answers(sf, pipelined ? MAX_UNANSWERED - 1 : 0);
    if (s == MP_OK && c->throttle[0]) {
        /* The server asked to slow down: this message is not sent; the
         * answers still due are read, so flush_keys can tell each one. */
        s = read_answers(sf, 0);
        if (s == MP_OK)
            s = imap_conn_throttled(c, "appending");
    }
    if (s != MP_OK) {
        imap_spool_reset(&f->spool);
        return s;
    }
    if (pipelined && grow_pending(f) != MP_OK) {
        imap_spool_reset(&f->spool);
        return MP_FATAL;
    }

    imap_str cmd = {0};
    imap_str_adds(&cmd, "APPEND ");
    imap_str_quote(&cmd, f->server_name); /* checked at open_folder */
    append_args(f, size, nonsync, &cmd);
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
    if (s == MP_OK)
        s = send_spooled(f, &f->spool, 0, size);
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
    sink_folder *sf = folder;
    imap_folder *f = sf->f;
    uint32_t uid;
    if (imap_parse_uid(key, &uid) < 0) {
        f->st->host->set_error(f->st->host, MP_ERR_NOTFOUND,
                               "folder \"%s\": \"%s\" is not an IMAP UID",
                               f->name, key);
        return MP_MSG_BAD;
    }
    mp_status s = read_answers(sf, 0);
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
    sink_folder *sf = folder;
    imap_folder *f = sf->f;
    mp_host *host = f->st->host;
    if (n == 0)
        return MP_OK;
    mp_status s = read_answers(sf, 0);
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
