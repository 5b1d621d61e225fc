/*
 * A private Dovecot 2.3 for tests: its own config, certificate, users and
 * mail in a temporary directory, listening on free ports of 127.0.0.1 for
 * IMAP (STARTTLS offered, plain text allowed) and IMAPS.
 *
 * Every function fails the running cmocka test with a clear message when
 * something cannot be done, so tests stay short. Mail lives in Maildir++
 * folders under mp_dovecot_maildir(d, user); a test may write messages
 * there directly (then call mp_dovecot_fix_owner before the server reads
 * them).
 *
 * Rawlogs (every byte each IMAP session sent and received) are kept per
 * user, so a test can count the commands the client really sent.
 */
#ifndef MP_TEST_DOVECOT_H
#define MP_TEST_DOVECOT_H

#include <stddef.h>

typedef struct mp_dovecot mp_dovecot;

typedef struct mp_dovecot_opts {
    char separator;       /* hierarchy delimiter: '/' (default) or '.' */
    size_t max_mail_size; /* refuse bigger messages (quota plugin); 0: none */
    /* Personal namespace prefix, e.g. "INBOX." for a Courier-style host
     * (with separator '.'); NULL or "": none. */
    const char *prefix;
    /* Load the listescape plugin, so folder names may hold '/' and '.'
     * (other than the separator), as hosts with other storage allow. */
    int listescape;
    /* The capability list to advertise after login instead of Dovecot's
     * own (its imap_capability setting), to look like a server without
     * some extension; NULL: Dovecot's own. */
    const char *capability;
    /* Connections one user may hold from one address at once
     * (mail_max_userip_connections), as hosts limit them; 0: 64. */
    int max_connections;
    /* Also log in with OAuth2 access tokens (issue 9.6): Dovecot's oauth2
     * passdb, ahead of the passwd-file one, asks this RFC 7662
     * introspection URL (introspection_mode = post) whether a token is
     * active and whose it is ("username"); NULL: passwords only. */
    const char *oauth2_introspection_url;
    /* With the above: offer OAUTHBEARER only, not XOAUTH2. */
    int oauth2_bearer_only;
} mp_dovecot_opts;

/* Start a server (default options). Skips nothing: fails the test when
 * Dovecot cannot start, showing its log. */
mp_dovecot *mp_dovecot_start(void);
mp_dovecot *mp_dovecot_start_opts(const mp_dovecot_opts *opts);
/* Stop the server and remove its directory. NULL is ignored. */
void mp_dovecot_stop(mp_dovecot *d);

/* Stop the server now (SIGTERM, waited for), keeping config and mail, to
 * simulate a server going away mid-run; mp_dovecot_restart brings it back
 * on the same ports. */
void mp_dovecot_kill(mp_dovecot *d);
void mp_dovecot_restart(mp_dovecot *d);
/* The master's pid (for a test that kills it from another thread). */
int mp_dovecot_pid(const mp_dovecot *d);

int mp_dovecot_port(const mp_dovecot *d);     /* imap:// (STARTTLS/plain) */
int mp_dovecot_tls_port(const mp_dovecot *d); /* imaps:// */
const char *mp_dovecot_cafile(const mp_dovecot *d);
const char *mp_dovecot_dir(const mp_dovecot *d);
const char *mp_dovecot_log_path(const mp_dovecot *d);

/* Add (or change the password of) USER; this works while the server
 * runs. Adding a user returns at once (each user has a passwd file of its
 * own, read at its first login); changing a password while the server
 * runs may take up to a second (Dovecot looks at a file it read at most
 * once a second). */
void mp_dovecot_add_user(mp_dovecot *d, const char *user, const char *pass);
/* Several at once, waiting at most once: USER, PASS pairs, then NULL. */
void mp_dovecot_add_users(mp_dovecot *d, ...);
/* A file holding USER's password, for password_file=. */
const char *mp_dovecot_password_file(mp_dovecot *d, const char *user);
/* USER's Maildir++ root (malloc'd). */
char *mp_dovecot_maildir(const mp_dovecot *d, const char *user);
/* Give every file under the mail root to the user Dovecot runs mail
 * processes as (needed after a test, running as root, wrote mail). */
void mp_dovecot_fix_owner(const mp_dovecot *d);

/* URL for USER (malloc'd): MODE "imap" (plain text, tls=none), "starttls"
 * (imap:// with cafile=) or "imaps" (with cafile=); password_file= added. */
char *mp_dovecot_url(mp_dovecot *d, const char *mode, const char *user);

/* One IMAP session as USER over plain text (LOGIN, COMMAND, LOGOUT), for
 * a test to set up or look at the server independently of mailport.
 * COMMAND may hold "{n+}" CRLF literals. Returns everything the server
 * answered to COMMAND, untagged lines and the tagged one ("t OK ..."),
 * CRLF kept (malloc'd). Fails the test when the server cannot be reached,
 * refuses the login, or answers COMMAND with anything but OK, unless
 * COMMAND starts with '?' (then the '?' is dropped and any answer is
 * returned). */
char *mp_dovecot_command(mp_dovecot *d, const char *user, const char *command);
/* The same for several commands in one session (e.g. SELECT, then FETCH),
 * NULL-terminated; returns every answer, in order, concatenated. */
char *mp_dovecot_session(mp_dovecot *d, const char *user,
                         const char *const *commands);

/* How many commands USER's sessions sent whose text (after the tag)
 * starts with CMD ("UID FETCH", "APPEND"), over every rawlog so far.
 * Sessions still open may not be flushed yet. */
int mp_dovecot_count_commands(const mp_dovecot *d, const char *user,
                              const char *cmd);
/* How many lines USER's sessions sent that contain TEXT anywhere (e.g.
 * "BODY.PEEK[]" for body fetches), over every rawlog so far. */
int mp_dovecot_count_lines(const mp_dovecot *d, const char *user,
                           const char *text);
/* Message bodies fetched over all sessions that have logged out, from the
 * body_count= of Dovecot's logout lines. */
long mp_dovecot_body_fetches(const mp_dovecot *d);

/* A TCP relay on a free port of 127.0.0.1 to TARGET_PORT, for cutting a
 * connection at a known point. When CUT_AFTER > 0 the first connection is
 * closed (both ways) once CUT_AFTER bytes went from server to client, and
 * ON_CUT(CTX) runs then, in the relay's thread (e.g. mp_dovecot_kill). Later
 * connections are relayed untouched. */
typedef struct mp_tcp_proxy mp_tcp_proxy;
mp_tcp_proxy *mp_proxy_start(int target_port, size_t cut_after,
                             void (*on_cut)(void *ctx), void *ctx);

/* The same relay, answering some commands itself as a real server cannot
 * be made to (throttling replies, issue 9.4). It follows the IMAP framing
 * both ways (lines and literals). A rule matches each client command whose
 * text after the tag starts with COMMAND ("APPEND", "UID FETCH"; case
 * insensitive) and, when CONTAINS is set, whose first line holds CONTAINS;
 * matches are counted over every connection, in the order they arrive. The
 * rule fires at the NTH match (from 1), and at each later one too when
 * EVERY is set. A command a rule fired at never reaches the server: the
 * relay sends "TAG NOOP" in its place and swallows the command's literals
 * (an APPEND is not stored), so the server's answers stay in order; the
 * server's tagged answer to that NOOP is then replaced by "TAG REPLY" (e.g.
 * REPLY "NO [THROTTLED] slow down"), or, with BYE set, by the untagged
 * "* REPLY" (e.g. "BYE [UNAVAILABLE] throttled"), after which the
 * connection is closed both ways; nothing the client sent after such a
 * command reaches the server (nor is counted), as from a server that hung
 * up. Every rule counts each command it matches, the first that fires
 * answers it. The strings must outlive the relay.
 * Limit: a synchronising literal ("{N}") of a relayed command is assumed
 * to be sent (the server answered "+"); mailport sends "{N+}" to Dovecot.
 * MP_PROXY_TRACE=FILE in the environment: every line relayed or injected
 * is appended to FILE, for debugging a test. */
typedef struct mp_proxy_rule {
    const char *command;
    const char *contains; /* NULL: any */
    int nth;
    int every;
    int bye;
    const char *reply;
} mp_proxy_rule;
mp_tcp_proxy *mp_proxy_start_rules(int target_port, const mp_proxy_rule *rules,
                                   size_t n_rules);
/* How often rule RULE (an index into the rules given) fired, and how many
 * commands it matched in all (fired or not). */
int mp_proxy_fired(mp_tcp_proxy *p, size_t rule);
int mp_proxy_seen(mp_tcp_proxy *p, size_t rule);

int mp_proxy_port(const mp_tcp_proxy *p);
int mp_proxy_cuts(mp_tcp_proxy *p);
void mp_proxy_stop(mp_tcp_proxy *p);

#endif
