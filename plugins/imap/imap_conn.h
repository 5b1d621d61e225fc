/*
 * One authenticated IMAP connection.
 *
 * libcurl does the connection phase (TCP, implicit TLS or STARTTLS,
 * certificate checks, greeting, SASL login) with CURLOPT_CONNECT_ONLY and
 * then hands the connection over; from there this module sends our own
 * commands with curl_easy_send and parses responses (imap_parser) from
 * curl_easy_recv, waiting on the socket with poll().
 *
 * Untagged data that concerns the connection or the selected mailbox
 * (CAPABILITY, EXISTS, UIDVALIDITY, PERMANENTFLAGS, BYE) is absorbed here;
 * everything else goes to the caller's handler.
 */
#ifndef MP_IMAP_CONN_H
#define MP_IMAP_CONN_H

#include "imap_parser.h"
#include "imap_util.h"

#include <mailport/plugin.h>

enum {
    IMAP_CAP_LITERALPLUS = 1u << 0,
    IMAP_CAP_LITERALMINUS = 1u << 1,
    IMAP_CAP_UIDPLUS = 1u << 2,
    IMAP_CAP_SPECIAL_USE = 1u << 3,
    IMAP_CAP_LIST_EXTENDED = 1u << 4,
    IMAP_CAP_NAMESPACE = 1u << 5,
    IMAP_CAP_MULTIAPPEND = 1u << 6,
    IMAP_CAP_CONDSTORE = 1u << 7,
    /* APPENDLIMIT without a value (RFC 7889): limits differ per mailbox
     * and are asked for with STATUS (APPENDLIMIT). */
    IMAP_CAP_APPENDLIMIT = 1u << 8,
    /* Gmail's extensions (X-GM-MSGID, X-GM-LABELS): the server is Gmail. */
    IMAP_CAP_X_GM_EXT_1 = 1u << 9,
};

/* The outcome of a tagged response. */
enum { IMAP_OK = 0, IMAP_NO = 1, IMAP_BAD = 2 };

typedef struct imap_conn imap_conn;

/* Handler for untagged responses a command is interested in. NUM is the
 * message number for "* 5 FETCH" style responses, -1 otherwise; the
 * response's name (FETCH, LIST, NAMESPACE...) is in the parser's token.
 * Parse what you need with imap_conn_parser(); the rest of the response is
 * skipped after you return. Return MP_OK, or a status that ends the wait
 * (with the error set). */
typedef mp_status (*imap_untagged_fn)(void *ctx, imap_conn *c, int64_t num);

struct imap_conn {
    /* CURL *; NULL when the parser reads a canned transcript (unit tests,
     * the fuzzer): then sends go nowhere. */
    void *curl;
    long sock; /* curl_socket_t */
    mp_host *host;
    char where[300]; /* "host:port", for messages */
    char user[256];
    imap_parser p;
    unsigned caps;
    /* APPENDLIMIT=N (RFC 7889): the largest message the server accepts in
     * any mailbox, in bytes; 0 when it announced none. */
    uint64_t appendlimit;
    unsigned next_tag;
    int timeout_ms;
    int broken;   /* the connection is unusable */
    int selected; /* a mailbox is selected or examined */
    int closing;  /* in imap_conn_close: errors no longer reported */

    /* The selected mailbox, as its untagged data said. */
    uint64_t exists, uidvalidity, uidnext;
    uint64_t highestmodseq; /* 0 unless CONDSTORE reported one */
    char *permflags; /* PERMANENTFLAGS list contents, or NULL when unsent */

    /* The last tagged response. */
    int last_result;
    char last_code[4096]; /* response code without brackets, or "" */
    char last_text[512];
    char bye[256]; /* text of a BYE, or "" */
    /* The server asked to slow down (imap_throttle_reply): its words, or
     * "" when it never did on this connection, and the pause it suggested
     * (0: none). LAST_THROTTLED: the last tagged response was such a
     * reply. Once set, the connection is given up with
     * imap_conn_throttled. */
    char throttle[256];
    uint64_t throttle_ms;
    int last_throttled;
    /* Sending failed because the server closed the connection (BROKEN is
     * set too): imap_wait_tagged still reads what it had sent, up to the
     * end of the connection, so that the answers to pipelined commands
     * and a BYE (a throttling one) are not lost. */
    int send_failed;

    /* Buffers libcurl keeps pointers to beyond the call that set them
     * (CURLOPT_ERRORBUFFER is written by every later curl_easy_recv/send
     * that fails; CURLOPT_DEBUGDATA during login). They live as long as
     * the handle, never on a stack frame. */
    char curl_error[256]; /* CURL_ERROR_SIZE */
    char login_line[512]; /* last untagged-less line the server sent at login */
    char greeting[256];   /* the server's greeting line, CRLF cut */

    /* imap:// on a port that speaks TLS at once waits in silence for a
     * greeting that never comes: watched during login (see
     * greeting_watch in imap_conn.c). */
    int greeted;       /* the server sent a line */
    int challenged;    /* a SASL continuation ("+ ...") came at login */
    int64_t tcp_up_ms; /* when the TCP connection was seen up, or 0 */
    int probed;        /* the port was probed for TLS */
    int speaks_tls;    /* ... and it answered a TLS handshake */
};

/* Connect and log in as EP says; reads the tls, cafile, insecure, auth and
 * timeout parameters and the password or token. MP_FATAL with the error
 * set on failure (MP_ERR_USAGE, MP_ERR_CONNECT, MP_ERR_AUTH). */
mp_status imap_conn_open(mp_host *host, const mp_endpoint *ep, imap_conn **out);
/* LOGOUT (when still usable) and release. */
void imap_conn_close(imap_conn *c);

/* Send bytes as they are. */
mp_status imap_conn_send(imap_conn *c, const void *buf, size_t len);

/* Send "TAG CMD\r\n" where CMD is already safely quoted; *tag gets the tag
 * number. */
mp_status imap_cmd_send(imap_conn *c, unsigned *tag, const char *cmd);

/* Read responses until a tagged one, handing untagged ones to FN (may be
 * NULL). *tag and *result describe it; c->last_code/last_text hold its
 * text. A continuation request ("+") ends the wait with *tag = 0. */
mp_status imap_wait_tagged(imap_conn *c, imap_untagged_fn fn, void *ctx,
                           unsigned *tag, int *result);

/* imap_cmd_send + wait for that tag. *result is IMAP_OK/NO/BAD. */
mp_status imap_cmd(imap_conn *c, const char *cmd, imap_untagged_fn fn,
                   void *ctx, int *result);

/* Turn the connection's failure into an error on the host and the status
 * to return: MP_TEMPORARY/MP_ERR_CONNECT for a lost connection,
 * MP_FATAL/MP_ERR_PROTOCOL for garbage. WHAT says what was going on. */
mp_status imap_conn_fail(imap_conn *c, const char *what);

/* Is a refusal with response code CODE (without brackets) and TEXT the
 * server asking the client to slow down? [THROTTLED], [UNAVAILABLE]
 * (RFC 5530), or words such as Microsoft 365's "Request is throttled.
 * Suggested Backoff Time: 12000 milliseconds". Returns 1 with *WAIT_MS the
 * suggested pause (0: none named), else 0. */
int imap_throttle_reply(const char *code, const char *text, uint64_t *wait_ms);

/* Give up the connection after a throttling reply: the host is told
 * (mp_host.throttled, so the core waits and retries) and the error names
 * the server's words. Returns MP_TEMPORARY. */
mp_status imap_conn_throttled(imap_conn *c, const char *what);

/* Forget the selected mailbox's state (before SELECT/EXAMINE). */
void imap_conn_reset_mailbox(imap_conn *c);

#endif
