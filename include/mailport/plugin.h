/*
 * mailport plugin ABI.
 *
 * This header is the whole contract between the mailport core and a store
 * plugin. It uses only C11 and <stddef.h>/<stdint.h>/<stdarg.h> types: no
 * GMime, curl, OpenSSL or libarchive type may appear here, so a plugin can
 * be built against any of them (or none) without the core caring.
 *
 * Shape (DESIGN.md section 2): data flows one way, source plugin -> core ->
 * sink plugin. A plugin knows its format or protocol and nothing else. It
 * never prints and never exits: every slot returns an mp_status and, on
 * failure, describes the problem with host->set_error().
 *
 * Versioning: every struct handed across the boundary starts with its own
 * size (struct_size) so tables can grow at the end without a major bump.
 * Fields and slots marked "since 1.1" (or "since 1.2" ... "since 1.7") were
 * appended in that ABI version; the core reads them only from plugins whose
 * struct_size covers them (MP_HAS_SLOT below), and zero-fills structs it hands
 * to plugins, so a plugin built for 1.0 leaves them 0 ("not known"). The loader
 * accepts a plugin whose abi_major equals MP_ABI_MAJOR and whose abi_minor is
 * less than or equal to MP_ABI_MINOR, and refuses any other, naming both
 * versions.
 *
 * Threads: the core may open several stores of one plugin at once, one per
 * worker thread. A store, and every folder and put handle made from it, is
 * used by one thread at a time. Plugins must keep no unsynchronised global
 * mutable state.
 *
 * Ownership: every pointer handed to a plugin is borrowed for the length of
 * the call unless the slot says otherwise. Every pointer a plugin hands back
 * inside a callback is borrowed by the core for the length of that callback.
 */
#ifndef MAILPORT_PLUGIN_H
#define MAILPORT_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MP_ABI_MAJOR 1
#define MP_ABI_MINOR 7

/* The one symbol a plugin exports (see MP_PLUGIN_DEFINE at the bottom). */
#define MP_PLUGIN_ENTRY "mailport_plugin_v1"

/* ------------------------------------------------------------------------ */
/* Status codes, graded by blast radius (as isync's driver.h does).          */

typedef enum mp_status {
    MP_OK = 0,
    /* This one message cannot be read or written. The core reports it,
     * skips it and carries on with the folder. */
    MP_MSG_BAD = 1,
    /* This folder cannot be used (cannot be opened, created, read). The core
     * reports it and carries on with the next folder. */
    MP_FOLDER_BAD = 2,
    /* A transient failure (dropped connection, server busy). The store is
     * no longer usable; the core may close it, reopen it and retry from the
     * last committed message with bounded back-off. */
    MP_TEMPORARY = 3,
    /* The store is unusable (cannot open, cannot log in, disk full, a
     * corrupt archive). The core stops work on this store. */
    MP_FATAL = 4,
} mp_status;

/* What kind of thing went wrong; chooses the exit code and is shown to the
 * user beside the text. Independent from mp_status (how far it reaches). */
typedef enum mp_error_kind {
    MP_ERR_NONE = 0,
    MP_ERR_USAGE,    /* bad URL, unknown or invalid parameter (exit 2) */
    MP_ERR_CONNECT,  /* cannot reach the endpoint, TLS failure (exit 3) */
    MP_ERR_AUTH,     /* login refused, wrong key or passphrase (exit 3) */
    MP_ERR_IO,       /* a local read or write failed */
    MP_ERR_FORMAT,   /* the input is not what it claims to be, or corrupt */
    MP_ERR_REFUSED,  /* the destination refused the message or operation */
    MP_ERR_NOTFOUND, /* the folder or message does not exist */
    MP_ERR_PROTOCOL, /* the peer broke the protocol */
    MP_ERR_INTERNAL, /* out of memory, a bug */
    /* Since 1.2. The endpoint refused one more connection: the account's
     * (or address's) limit of simultaneous connections is reached (IMAP
     * [LIMIT], RFC 5530). A run that holds other connections goes on with
     * those (exit 3 when it has none). */
    MP_ERR_LIMIT,
} mp_error_kind;

/* ------------------------------------------------------------------------ */
/* Message metadata.                                                         */

/* System flags. IMAP \Recent is deliberately absent: it is session state,
 * not something a migration can carry. Maildir 'P' (passed) is FORWARDED;
 * on IMAP it travels as the $Forwarded keyword. */
enum {
    MP_FLAG_SEEN = 1u << 0,
    MP_FLAG_ANSWERED = 1u << 1,
    MP_FLAG_FLAGGED = 1u << 2,
    MP_FLAG_DELETED = 1u << 3,
    MP_FLAG_DRAFT = 1u << 4,
    MP_FLAG_FORWARDED = 1u << 5,
};

/* No internal date known: the core then uses the Date: header, else now. */
#define MP_DATE_UNKNOWN INT64_MIN

typedef struct mp_msg_info {
    size_t struct_size;
    /* The message's key in its store: stable for as long as the folder's
     * validity (mp_folder_info.validity) does not change. IMAP: the UID in
     * decimal; Maildir: the unique part of the file name; mbox: the byte
     * offset of the From_ line. Never NULL. */
    const char *key;
    /* Bytes as the store holds them; 0 when unknown. */
    uint64_t size;
    /* Bytes with every line ending as CRLF (IMAP RFC822.SIZE, Dovecot W=);
     * 0 when unknown. Used for content identity across stores. */
    uint64_t vsize;
    unsigned flags; /* MP_FLAG_* */
    /* Keywords (IMAP atoms such as $Junk or NonJunk), separated by one
     * space, no leading or trailing space; "" or NULL when none. */
    const char *keywords;
    int64_t internal_date; /* seconds since the epoch, or MP_DATE_UNKNOWN */
    /* Content identity (see host->identity_of_header): set by scan() when
     * asked with MP_SCAN_IDENTITY, NULL otherwise. */
    const char *identity;
} mp_msg_info;

/* ------------------------------------------------------------------------ */
/* Folders.                                                                  */

/* RFC 6154 special uses, for --automap. */
enum {
    MP_SPECIAL_ALL = 1u << 0,
    MP_SPECIAL_ARCHIVE = 1u << 1,
    MP_SPECIAL_DRAFTS = 1u << 2,
    MP_SPECIAL_FLAGGED = 1u << 3,
    MP_SPECIAL_JUNK = 1u << 4,
    MP_SPECIAL_SENT = 1u << 5,
    MP_SPECIAL_TRASH = 1u << 6,
};

typedef struct mp_folder_info {
    size_t struct_size;
    /* UTF-8, '/'-separated path, "INBOX" for the inbox. Each plugin maps it
     * to and from its own naming losslessly. */
    const char *name;
    unsigned special_use; /* MP_SPECIAL_* */
    /* Set when the folder exists only as a parent of others and cannot hold
     * messages (IMAP \Noselect, a bare directory). */
    int no_select;
    /* Changes whenever keys of this folder may have been reused (IMAP
     * UIDVALIDITY). Stores whose keys never repeat set a constant. */
    uint64_t validity;
    /* Number of messages, when known cheaply; -1 when not. */
    int64_t count;
    /* Since 1.1. A value that differs whenever anything in the folder may
     * have changed since it was last read: a message added or removed, a
     * flag or keyword changed (IMAP: UIDVALIDITY, UIDNEXT, EXISTS and
     * HIGHESTMODSEQ together; Maildir: the cur/ and new/ modification
     * times). 0 when the store cannot tell, or when the value may not be
     * stable yet (a directory modified in the last seconds, whose next
     * change could fall in the same timestamp tick). The core skips a
     * folder whose markers on both sides equal those of the last sync that
     * changed nothing. */
    uint64_t change_marker;
    /* Since 1.2. Whether the user subscribed to the folder (RFC 3501
     * LSUB, RFC 5258 \Subscribed; the "subscriptions" file of a Dovecot or
     * Courier Maildir): MP_SUBSCRIBED or MP_UNSUBSCRIBED from a store that
     * keeps subscriptions, MP_SUBSCRIPTION_UNKNOWN (0) from one that keeps
     * none (mbox, a Maildir without the file) or from an older plugin. Set
     * by list_folders; open_folder may leave it 0. Read it with
     * MP_HAS_SLOT(info, mp_folder_info, subscribed). */
    int subscribed;
    /* Since 1.5. Set by list_folders for a name the store keeps a
     * subscription of but holds no folder of (RFC 5258 \NonExistent, a
     * line of a "subscriptions" file naming no folder), listed after the
     * folders only so that the subscription is known: with subscribed
     * MP_SUBSCRIBED and no_select set, it is not a folder. A dry run
     * needs it: the real run creates the folder, which then shows the
     * subscription the store already had. Read it with
     * MP_HAS_SLOT(info, mp_folder_info, nonexistent). */
    int nonexistent;
    /* Since 1.5. The store's own name of the folder (IMAP: the mailbox
     * name on the server, as sent), when it may differ from NAME (a name
     * made to avoid a clash, "A~2", which becomes "A" once the folder it
     * clashed with is gone): it stays while the folder exists, so the
     * core can tell a folder whose NAME changed from another one. Set by
     * list_folders and open_folder; NULL when NAME itself is stable.
     * Borrowed: valid for the callback, or while the folder is open. Read
     * it with MP_HAS_SLOT(info, mp_folder_info, store_name). */
    const char *store_name;
} mp_folder_info;

/* Values of mp_folder_info.subscribed. */
enum {
    MP_SUBSCRIPTION_UNKNOWN = 0,
    MP_SUBSCRIBED = 1,
    MP_UNSUBSCRIBED = 2,
};

/* ------------------------------------------------------------------------ */
/* Endpoints.                                                                */

/* A parsed endpoint URL. The core parses "scheme:rest?query" and
 * "scheme://user@host:port/path?query"; percent-escapes are decoded in user,
 * path and parameter values. Parameters are read through host->param(), not
 * here, so that the core can reject any the plugin did not ask for. */
typedef struct mp_endpoint {
    size_t struct_size;
    const char *scheme; /* "imaps", "maildir", ... */
    const char *user;   /* NULL when absent */
    const char *host;   /* NULL for local stores */
    int port;           /* 0 when absent */
    const char *path;   /* the local path, or the URL path after host */
    /* The URL as the user wrote it with any password masked: the only form
     * to put in error texts. */
    const char *display;
} mp_endpoint;

/* ------------------------------------------------------------------------ */
/* Services the core hands to plugins. One mp_host per open store.           */

enum { MP_LOG_ERROR, MP_LOG_WARN, MP_LOG_INFO, MP_LOG_DEBUG };

typedef struct mp_host mp_host;
struct mp_host {
    size_t struct_size;

    /* Log a line. Never pass a secret. The core decides whether it shows. */
    void (*log)(mp_host *host, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Describe the failure the slot is about to return. The text names what
     * failed (file, folder, message key, server reply) and never holds a
     * secret. A later call replaces an earlier one. */
    void (*set_error)(mp_host *host, mp_error_kind kind, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* The nth (from 0) value of URL parameter NAME, or NULL. Asking marks
     * the parameter as known; after open() the core rejects the endpoint if
     * any parameter was never asked for. */
    const char *(*param)(mp_host *host, const char *name, size_t nth);

    /* Obtain a secret of KIND ("password", "token", "passphrase") from the
     * KIND_file, KIND_env or KIND_cmd parameter, else by prompting on the
     * terminal with PROMPT. On MP_OK *out is a NUL-terminated string owned
     * by the caller, to be released with secret_free (which wipes it).
     * Returns MP_FATAL with the error set when none can be had. */
    mp_status (*secret)(mp_host *host, const char *kind, const char *prompt,
                        char **out);
    void (*secret_free)(mp_host *host, char *secret);

    /* Write the content identity of a message whose header block (up to and
     * excluding the blank line) is HDR into OUT (at least 80 bytes): the
     * normalised Message-ID, or a hash of the header block when there is no
     * Message-ID. Every plugin uses this one function so that identities
     * compare across stores. */
    void (*identity_of_header)(mp_host *host, const char *hdr, size_t len,
                               char *out, size_t out_size);

    /* Private to the core. */
    void *core;

    /* Since 1.2. Nonzero once the user asked the run to stop (SIGINT,
     * SIGTERM or SIGHUP): a slot that can take long on its own (an
     * archive's finish, which drains what is queued) checks it now and
     * then, and gives up with MP_FATAL and the error set ("interrupted")
     * before making anything final. Check with MP_HAS_SLOT(host, mp_host,
     * interrupted). */
    int (*interrupted)(mp_host *host);

    /* Since 1.3. The server asked the client to slow down: IMAP
     * [THROTTLED] or [UNAVAILABLE], Microsoft 365's "Request is throttled.
     * Suggested Backoff Time: N milliseconds", a BYE saying so. Call it
     * just before the slot returns MP_TEMPORARY for that reply, with the
     * error set to the server's words; WAIT_MS is the pause the server
     * suggested, 0 when it named none. The core then waits (the
     * suggestion, else a bounded exponential back-off), reopens the store
     * and retries the folder from what is committed, reports the wait, and
     * gives the folder up after a bounded total wait; the failure does not
     * count as a dropped connection. Call only when MP_HAS_SLOT(host,
     * mp_host, throttled). */
    void (*throttled)(mp_host *host, uint64_t wait_ms);
};

/* ------------------------------------------------------------------------ */
/* Callbacks the core passes into source slots.                             */

/* Called once per folder by list_folders. Return MP_OK to go on; any other
 * value stops the listing and list_folders returns it. */
typedef mp_status (*mp_folder_cb)(void *ctx, const mp_folder_info *info);

/* Called once per message by scan(), in the store's natural order. Return
 * MP_OK to go on; any other value stops the scan and scan returns it. */
typedef mp_status (*mp_msg_cb)(void *ctx, const mp_msg_info *info);

/* fetch() delivers each requested message as begin, data..., end. */
typedef struct mp_fetch_cb {
    size_t struct_size;
    /* A message starts. INDEX is its position in fetch's KEYS array; INFO
     * holds its current metadata (size, flags and date as of now). */
    mp_status (*begin)(void *ctx, size_t index, const mp_msg_info *info);
    /* Next bytes of the message, in the store's line endings (see
     * mp_source_ops.eol), mbox quoting already undone. */
    mp_status (*data)(void *ctx, const void *buf, size_t len);
    /* The message is complete (MP_OK) or failed (any other status, with the
     * error set); no more data for it follows. */
    mp_status (*end)(void *ctx, mp_status status);
} mp_fetch_cb;

/* Line ending conventions (see mp_source_ops.eol, mp_sink_ops.eol). A sink
 * that wants CRLF or LF gets every message normalised, whatever the source
 * said: each line break (LF, CR LF, CR CR LF or a lone CR, longest first;
 * README "Line endings") is written that way and no other byte changes. */
typedef enum mp_eol {
    /* Bytes are the message as stored, whatever its line endings. Sink:
     * keep the bytes as the source gave them. */
    MP_EOL_NATIVE = 0,
    /* Source: every line ends in CRLF (IMAP wire form).
     * Sink: wants every line break as CRLF. */
    MP_EOL_CRLF = 1,
    /* Sink: stores every line break as LF. */
    MP_EOL_LF = 2,
} mp_eol;

/* Outcome of one message whose put_commit left its key to the flush (see
 * mp_sink_ops.flush_keys). SEQ counts such messages from 0 since the last
 * flush, in commit order. STATUS is MP_OK with KEY set, or MP_MSG_BAD with
 * the error set through the host (the message was not stored). Since 1.3,
 * and only to a host with the throttled slot: MP_TEMPORARY, the message was
 * refused for now because the server asked to slow down (not stored, not
 * failed: the core sends it again after the wait); flush_keys then returns
 * MP_TEMPORARY after calling host->throttled. */
typedef void (*mp_commit_cb)(void *ctx, size_t seq, mp_status status,
                             const char *key);

/* Flags for scan(). */
enum {
    /* Fill mp_msg_info.identity (may cost reading each header block). */
    MP_SCAN_IDENTITY = 1u << 0,
};

/* ------------------------------------------------------------------------ */
/* Source: reads a store. Every slot is required unless marked optional.     */

typedef struct mp_source_ops {
    size_t struct_size;

    /* How fetched bytes end their lines: MP_EOL_NATIVE or MP_EOL_CRLF. */
    mp_eol eol;

    /* Open the store read-only. HOST stays valid until close(); keep it for
     * set_error and log. On success *store is the plugin's handle. On
     * failure set the error (MP_ERR_USAGE for bad parameters, MP_ERR_CONNECT
     * or MP_ERR_AUTH for endpoints, MP_ERR_NOTFOUND when nothing is there)
     * and return MP_FATAL; *store is then ignored. */
    mp_status (*open)(mp_host *host, const mp_endpoint *ep, void **store);

    /* Release everything the store holds. Never fails. Never called on a
     * store whose open() failed. */
    void (*close)(void *store);

    /* Call CB once per folder in the store, parents before children. */
    mp_status (*list_folders)(void *store, mp_folder_cb cb, void *ctx);

    /* Select folder NAME for scan and fetch; at most one folder is open per
     * store at a time. Fill *info (name may point into plugin memory valid
     * until close_folder). Returns MP_FOLDER_BAD with MP_ERR_NOTFOUND when
     * it does not exist. */
    mp_status (*open_folder)(void *store, const char *name, void **folder,
                             mp_folder_info *info);
    void (*close_folder)(void *folder);

    /* Metadata of every message in the open folder, no bodies: CB once per
     * message. FLAGS is a set of MP_SCAN_*. */
    mp_status (*scan)(void *folder, unsigned flags, mp_msg_cb cb, void *ctx);

    /* Stream the bodies of the N messages KEYS (as scan reported them)
     * through CB, in any order, each exactly once, each as begin, data...,
     * end. A message that vanished or cannot be read ends with MP_MSG_BAD
     * and the error set; fetch goes on with the rest. A callback returning
     * other than MP_OK stops fetch, which returns that status. Memory used
     * must not grow with message size beyond what the store format forces. */
    mp_status (*fetch)(void *folder, const char *const *keys, size_t n,
                       const mp_fetch_cb *cb, void *ctx);

    /* Since 1.4. Optional, for a plugin that also writes (mp_plugin.sink).
     * A dry run's question about its destination, which it reads through
     * these source ops: would the SINK's open() of EP succeed, and then,
     * when FOLDER is not NULL, its open_folder() of FOLDER? Answered
     * without changing anything (no directory, file, lock or temporary
     * made, nothing asked for on a terminal), by the same checks those
     * slots make, in their order, with stat(2) and access(2) (effective
     * ids) standing for what they would create. HOST serves EP's
     * parameters (asking one marks it known, as in open: the core also
     * calls this with FOLDER NULL on the host of the destination it opened
     * read-only, so that parameters only the sink reads are accepted) and
     * is borrowed for the call; no handle is kept. Returns MP_OK when they
     * would succeed, or when that cannot be told without changing
     * something (an IMAP CREATE the server may refuse). Otherwise returns
     * what the sink's slot would return (MP_FATAL from open, MP_FOLDER_BAD
     * from open_folder) with the error set as that slot would set it. The
     * source ops hold it, not mp_sink_ops, because a dry run holds only
     * these for its destination. */
    mp_status (*probe_sink)(mp_host *host, const mp_endpoint *ep,
                            const char *folder);

    /* Since 1.6. Optional. Which well-known mail host the open store is,
     * as far as the server's own words tell: "gmail" (it offers the
     * X-GM-EXT-1 capability), "office365" (it greets as Microsoft
     * Exchange), or NULL when it looks like none of them. A static
     * string; never fails. The core applies that host's preset
     * (core/cli/preset.h) and says so on stderr. */
    const char *(*host_kind)(void *store);

    /* Since 1.7. Nonzero when several open stores (one per thread) may
     * fetch from one folder at the same time, each from a folder just
     * opened (no scan first), by key, each reading only the messages it
     * asks for: an IMAP connection each, a Maildir's files. The core then
     * shares a large folder's copies between connections
     * (core/engine/lanes.h). 0 (an archive read from its start, a file
     * whose keys only a scan finds): one store per folder. */
    int concurrent_fetch;
} mp_source_ops;

/* ------------------------------------------------------------------------ */
/* Sink: writes a store. Every slot is required unless marked optional.      */

typedef struct mp_sink_ops {
    size_t struct_size;

    /* The line endings this store wants: MP_EOL_NATIVE (keep bytes as the
     * source gave them), MP_EOL_LF or MP_EOL_CRLF. */
    mp_eol eol;

    /* As mp_source_ops.open, for writing. Creates the store when missing
     * (a Maildir root, an archive under a temporary name). */
    mp_status (*open)(mp_host *host, const mp_endpoint *ep, void **store);

    /* Make the store complete and durable (an archive writes its manifest
     * and is renamed to its final name). Called once, after the last
     * close_folder, when the run is to be kept. Optional. */
    mp_status (*finish)(void *store);

    /* Release the store. A store closed without finish() leaves committed
     * messages of stores that have no finish in place, and discards an
     * unfinished archive. Never fails. */
    void (*close)(void *store);

    /* As mp_source_ops.list_folders. */
    mp_status (*list_folders)(void *store, mp_folder_cb cb, void *ctx);

    /* Open folder NAME for writing, creating it (and its parents) when
     * missing. Fill *info as the source's open_folder does. A name that
     * cannot be represented safely (would escape the store) is refused with
     * MP_FOLDER_BAD and MP_ERR_USAGE. */
    mp_status (*open_folder)(void *store, const char *name, void **folder,
                             mp_folder_info *info);

    /* Release the folder; everything committed in it is flushed first, as
     * by flush(). Returns the flush status. */
    mp_status (*close_folder)(void *folder);

    /* As mp_source_ops.scan: what the destination already holds, for
     * incremental runs. Optional for stores that are only ever written
     * whole (archives). */
    mp_status (*scan)(void *folder, unsigned flags, mp_msg_cb cb, void *ctx);

    /* Start a message. INFO has the flags, keywords and internal date to
     * store, and size/vsize when the source knew them (a hint: the bytes
     * written decide). *put is the plugin's handle for this message. Only
     * one put is open per folder at a time. */
    mp_status (*put_begin)(void *folder, const mp_msg_info *info, void **put);

    /* Append bytes, already in the sink's line endings (mp_sink_ops.eol).
     * An mbox sink does its own From-quoting. */
    mp_status (*put_write)(void *put, const void *buf, size_t len);

    /* Finish the message. On MP_OK the message will be visible in the store
     * no later than the next flush(), and KEY_OUT (KEY_SIZE bytes) holds its
     * new key (IMAP APPENDUID, Maildir unique name), or "" when the store
     * cannot tell. On failure the message is as if never begun. The put
     * handle is released either way. */
    mp_status (*put_commit)(void *put, char *key_out, size_t key_size);

    /* Abandon the message: nothing of it stays. Releases the handle. */
    void (*put_abort)(void *put);

    /* Make every message committed so far in this folder durable and
     * visible (a crash or power cut afterwards loses none). The core records
     * sync state only after this returns MP_OK. Optional (NULL: put_commit
     * is already durable). */
    mp_status (*flush)(void *folder);

    /* Replace the flags and keywords of message KEY (a key from scan or
     * put_commit). Optional. */
    mp_status (*set_flags)(void *folder, const char *key, unsigned flags,
                           const char *keywords);

    /* Remove the N messages KEYS (for --delete). Optional. */
    mp_status (*remove)(void *folder, const char *const *keys, size_t n);

    /* Since 1.1. Optional; when present the core calls it instead of
     * flush. Lets a store send several messages in one request (IMAP
     * MULTIAPPEND): put_commit may then return MP_OK with KEY_OUT "" and
     * leave the message queued. flush_keys stores every queued message,
     * makes all committed messages durable as flush does, and calls CB once
     * per message whose put_commit gave "", telling its key or why it was
     * refused (a refused message is not stored; the others are). It returns
     * MP_OK when every message has been accounted for through CB, or a
     * folder-wide status (MP_TEMPORARY, MP_FOLDER_BAD, MP_FATAL) when the
     * store failed as a whole; queued messages not reported through CB
     * are then not stored. */
    mp_status (*flush_keys)(void *folder, mp_commit_cb cb, void *ctx);

    /* Since 1.1. Optional, and only as a pair with flush_wait; the core uses
     * them only when flush_keys is absent. Begins making every message
     * committed so far in this folder durable and visible, as flush does,
     * and returns at once: the core may go on with put_begin, put_write and
     * put_commit (on the same thread) meanwhile, so producing the next
     * messages overlaps making these durable. At most one started flush is
     * outstanding: the core calls flush_wait before the next flush_start. */
    mp_status (*flush_start)(void *folder);

    /* Since 1.1. Waits until every message committed before the
     * outstanding flush_start is durable and visible (not the ones
     * committed after it), and returns that group's status as flush would
     * (MP_OK only when all of them are durable and visible). The core
     * records sync state for the group only after this returns MP_OK.
     * flush and close_folder keep their meaning (everything committed). */
    mp_status (*flush_wait)(void *folder);

    /* Since 1.2. Optional. Subscribe folder NAME (RFC 3501 SUBSCRIBE; a
     * line of a Maildir's "subscriptions" file; an archive keeps the set
     * and writes it at finish), so that mail clients that show only
     * subscribed folders show it. NAME exists in the store: INBOX, or a
     * folder open_folder succeeded for, in this run or an earlier one. The
     * core calls it once the run's folders are copied, with no folder
     * open, for INBOX and for each copied folder whose source reports it
     * MP_SUBSCRIBED or MP_SUBSCRIPTION_UNKNOWN, under its destination
     * name; it skips names the sink's list_folders already reports
     * MP_SUBSCRIBED. Idempotent: a name already subscribed is MP_OK and
     * changes nothing; it never removes a subscription. A failure (the
     * error set) is reported as a warning, not as failed mail: the
     * messages are stored either way. */
    mp_status (*subscribe)(void *store, const char *name);

    /* Since 1.5. Optional. Write into OUT (SIZE bytes, NUL-terminated) a
     * text that names the mail store this open store reached, the same
     * whichever way the server was reached (host name or address, port,
     * STARTTLS or TLS, a proxy) and, as far as the store can tell,
     * different for every other store. The core lets one run at a time
     * copy into stores of one name (docs/sync-model.md, "One run per
     * destination"): a second waits. So a name that two stores share only
     * makes their runs wait for each other, and one store with two names
     * may get a message stored twice. It is kept in a lock file's name
     * (hashed), never secret: no password or token. A store that knows no
     * better name than its location leaves the slot out, and the core
     * uses the endpoint's canonical form. On failure (the error set) the
     * core does the same. */
    mp_status (*store_identity)(void *store, char *out, size_t size);

    /* Since 1.6. Optional. As mp_source_ops.host_kind, for a store opened
     * for writing. */
    const char *(*host_kind)(void *store);

    /* Since 1.7. Nonzero when several open stores of this plugin (one per
     * thread, each with its own open_folder of the same NAME) may put and
     * flush into one folder at the same time, each batch made durable and
     * keyed on its own, as IMAP APPENDs on several connections are (the
     * server orders them). Their messages may then interleave in the
     * folder. 0: one writer per folder (a single file, a catalogue). */
    int concurrent_put;
} mp_sink_ops;

/* ------------------------------------------------------------------------ */
/* The descriptor a plugin exports.                                          */

typedef struct mp_plugin {
    size_t struct_size;
    int abi_major;       /* MP_ABI_MAJOR the plugin was built with */
    int abi_minor;       /* MP_ABI_MINOR the plugin was built with */
    const char *name;    /* "imap", "maildir", ... */
    const char *version; /* the plugin's own version string */
    /* NULL-terminated list of the URL schemes it serves. */
    const char *const *schemes;
    const mp_source_ops *source; /* NULL when it cannot read */
    const mp_sink_ops *sink;     /* NULL when it cannot write */
    /* Since 1.2. NULL-terminated list of every URL parameter name the
     * plugin may read, in either role: each NAME it passes to host->param(),
     * and KIND_file, KIND_env, KIND_cmd for each KIND it passes to
     * host->secret(). Optional (NULL, or a 1.1 plugin): then an unknown
     * parameter is found only after open(), by what open() asked for, which
     * may be after a connection or a password prompt. When present, the
     * core rejects an endpoint holding any other name before it opens any
     * endpoint of the run (no connection, no prompt), suggesting the
     * closest listed name; a name listed but not asked for in the role the
     * store is opened in is still refused after open(). */
    const char *const *params;
} mp_plugin;

typedef const mp_plugin *(*mp_plugin_entry_fn)(void);

/* Does the ops table OPS (a pointer to TYPE) reach slot or field MEMBER?
 * Slots added after 1.0 must be tested with this before use. */
#define MP_HAS_SLOT(ops, type, member)                                         \
    ((ops)->struct_size >= offsetof(type, member) + sizeof((ops)->member) &&   \
     (ops)->member)

/* Defines the exported entry point returning DESCRIPTOR. Plugins are built
 * with -fvisibility=hidden; this is their only visible symbol. */
#define MP_PLUGIN_DEFINE(descriptor)                                           \
    __attribute__((visibility("default"))) const mp_plugin *                   \
    mailport_plugin_v1(void);                                                  \
    const mp_plugin *mailport_plugin_v1(void)                                  \
    {                                                                          \
        return &(descriptor);                                                  \
    }

#ifdef __cplusplus
}
#endif
#endif /* MAILPORT_PLUGIN_H */
