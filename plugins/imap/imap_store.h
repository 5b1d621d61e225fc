/*
 * The parts of an IMAP store that source and sink share: opening (login,
 * namespace), listing folders, selecting one, scanning its metadata and
 * parsing FETCH responses.
 */
#ifndef MP_IMAP_STORE_H
#define MP_IMAP_STORE_H

#include "imap_conn.h"
#include "imap_spool.h"
#include "imap_util.h"

#include <mailport/plugin.h>

/* One folder as the last LIST showed it. */
typedef struct imap_listed {
    char *name;   /* mailport name */
    char *server; /* server name */
    unsigned special;
    int no_select;
    int substituted; /* a delimiter inside a part was replaced */
    int subscribed;  /* MP_SUBSCRIBED, MP_UNSUBSCRIBED; 0 when not asked */
} imap_listed;

typedef struct imap_store {
    mp_host *host;
    imap_conn *conn;
    char delim;       /* hierarchy delimiter; 0 on a flat server */
    char *prefix;     /* personal namespace prefix, server form ("" usually) */
    char *substitute; /* stands for a delimiter inside a part (imap_names.h) */
    char *display;
    int open_folders; /* at most one */
    /* Sink: send MULTIAPPEND batches where the server offers them
     * (multiappend=1; imap_sink.c). */
    int multiappend;
    /* The last listing, sorted by mailport name: how a mailport name made
     * by substitution (or disambiguated) finds its server name again. */
    imap_listed *listed;
    size_t n_listed;
    int have_listing;
    /* Subscribed names the listing holds no folder of (mp_folder_info's
     * nonexistent), from the same listing. */
    imap_listed *stale_subs;
    size_t n_stale_subs;
} imap_store;

typedef struct imap_folder {
    imap_store *st;
    char *name;        /* mailport name */
    char *server_name; /* quoted-safe server name */
    uint64_t validity;

    /* Sink only: the message being put. */
    imap_spool spool;
    int put_open;
    unsigned put_flags;
    char *put_keywords;
    int64_t put_date;

    /* Sink only: APPENDs sent without waiting for their answer (LITERAL+),
     * in commit order, reported by flush_keys. */
    struct imap_pending *pending;
    size_t n_pending, cap_pending;
    size_t n_unanswered;
    int pipeline; /* the core collects keys at flush_keys */
    /* Sink only: the largest message this folder takes (RFC 7889: the
     * server's APPENDLIMIT=N, else the folder's STATUS APPENDLIMIT); 0
     * when unlimited or not known. */
    uint64_t appendlimit;
    /* A scan was made: a later one first asks for what arrived since
     * (NOOP), since FETCH 1:* covers only the messages the session knows. */
    int scanned;
} imap_folder;

typedef struct imap_pending {
    unsigned tag;
    int answered;
    int result;   /* IMAP_OK / IMAP_NO / IMAP_BAD */
    char key[16]; /* APPENDUID, or "" */
    char *text;   /* the server's words on a refusal */
    int throttled; /* refused only for now: the server asked to slow down */
} imap_pending;

mp_status imap_store_open(mp_host *host, const mp_endpoint *ep,
                          imap_store **out);
void imap_store_close(void *store);
mp_status imap_store_list(void *store, mp_folder_cb cb, void *ctx);
/* The sink's subscribe slot (plugin.h): SUBSCRIBE the folder's server name. */
mp_status imap_store_subscribe(void *store, const char *name);
/* STATUS MAILBOX (ITEM) (RFC 3501 6.3.10; MAILBOX in server form): the
 * number the server gives for ITEM ("UIDVALIDITY", RFC 7889's
 * "APPENDLIMIT") into *VALUE, 0 when it gives none; *RESULT is the tagged
 * answer (IMAP_OK/NO/BAD). The status is the connection's. */
mp_status imap_status_number(imap_conn *c, const char *mailbox,
                             const char *item, uint64_t *value, int *result);
/* The sink's store_identity slot (plugin.h): the user name, lower-case,
 * and the INBOX's UIDVALIDITY. */
mp_status imap_store_identity(void *store, char *out, size_t size);
/* The host_kind slot of both roles (plugin.h): "gmail" when the server
 * offers X-GM-EXT-1, "office365" when it greets as Microsoft Exchange
 * does, else NULL. */
const char *imap_store_host_kind(void *store);

/* SELECT (or EXAMINE when READ_ONLY) mailport folder NAME. On MP_OK
 * *out is the folder and *info filled. A missing folder is MP_FOLDER_BAD
 * with MP_ERR_NOTFOUND unless CREATE, when it (and its parents when
 * needed) are created first. */
mp_status imap_folder_open(imap_store *st, const char *name, int read_only,
                           int create, imap_folder **out, mp_folder_info *info);
void imap_folder_free(imap_folder *f);

mp_status imap_folder_scan(void *folder, unsigned flags, mp_msg_cb cb,
                           void *ctx);

/* What a FETCH response said about one message, in the order items came. */
typedef struct imap_fetch_meta {
    int64_t msgno;
    uint32_t uid;
    int have_uid, have_flags, have_date, have_size;
    unsigned flags;
    imap_str keywords;
    int64_t date;
    uint64_t size;
} imap_fetch_meta;

/* Called at a BODY[...] / BINARY[...] item; the parser's token holds the
 * item name and T is the value's token (IMAP_T_LITERAL with its bytes
 * unread, IMAP_T_STRING, or IMAP_T_NIL). */
typedef mp_status (*imap_body_fn)(void *ctx, imap_conn *c, imap_fetch_meta *m,
                                  int t);

/* Parse the "(...)" of a FETCH response into M, calling BODY_FN for body
 * items (skipped when NULL). Protocol trouble sets the parser's error. */
mp_status imap_parse_fetch(imap_conn *c, imap_fetch_meta *m,
                           imap_body_fn body_fn, void *ctx);

/* Turn a refused command into an error: MP_ERR_NOTFOUND / MP_ERR_REFUSED
 * with the server's text. */
void imap_set_refused(imap_store *st, mp_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
