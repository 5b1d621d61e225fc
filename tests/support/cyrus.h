/*
 * A private Cyrus IMAP 3.6 for tests (issue 10: a strict second server):
 * Debian's packages unpacked into the build tree by tests/cyrus/
 * fetch_cyrus.sh (never installed: cyrus-imapd conflicts with
 * dovecot-imapd), started by the test with its own imapd.conf, cyrus.conf,
 * config directory, partition and socket directory in a temporary
 * directory, listening on a free port of 127.0.0.1 for IMAP (STARTTLS
 * offered with a generated certificate, plain-text login allowed).
 *
 * Cyrus refuses to run as root: when the test runs as root its processes
 * run as "nobody" (imapd.conf's cyrus_user), otherwise as the test's user.
 * Users log in with passwords kept in the instance's own sasldb
 * (saslpasswd2, Debian's sasl2-bin); their INBOX is created at first login.
 *
 * Cyrus's strictness is its default, as on a typical host (Debian's
 * imapd.conf): reject8bit off and munge8bit on (8-bit header bytes stored
 * as 'X'), NUL bytes, bare CR and bare LF refused, a header line without
 * a colon refused; altnamespace and unixhierarchysep off, so folders are
 * INBOX.Work with the '.' separator; no virtdomains. See docs/validation.md
 * "The corpora on Cyrus".
 *
 * Every function fails the running cmocka test with a clear message when
 * something cannot be done, except mp_cyrus_unavailable, which tells a
 * test's main() to skip.
 */
#ifndef MP_TEST_CYRUS_H
#define MP_TEST_CYRUS_H

#include <stddef.h>

typedef struct mp_cyrus mp_cyrus;

/* ctest's SKIP_RETURN_CODE for the Cyrus tests. */
#define MP_CYRUS_SKIP 77

/* For a test's main(): return MP_CYRUS_SKIP, saying why, when Cyrus
 * cannot run here (needs <stdio.h>). */
#define MP_CYRUS_SKIP_UNLESS_AVAILABLE()                                       \
    do {                                                                       \
        const char *why_ = mp_cyrus_unavailable();                             \
        if (why_) {                                                            \
            printf("SKIP: Cyrus IMAP tests: %s\n", why_);                      \
            return MP_CYRUS_SKIP;                                              \
        }                                                                      \
    } while (0)

/* NULL when the fixture is ready; otherwise why Cyrus cannot run here
 * (static text: the package could not be downloaded, a library is
 * missing), for main() to print before returning MP_CYRUS_SKIP. */
const char *mp_cyrus_unavailable(void);

/* Start a server and wait until it answers; fails the test, showing the
 * master's output, when it cannot. */
mp_cyrus *mp_cyrus_start(void);
/* Stop the server (SIGTERM to the master, which stops its children),
 * wait until its port is closed, and remove its directory. NULL is
 * ignored. */
void mp_cyrus_stop(mp_cyrus *c);

int mp_cyrus_port(const mp_cyrus *c);
const char *mp_cyrus_cafile(const mp_cyrus *c);
const char *mp_cyrus_dir(const mp_cyrus *c);

/* Add (or change the password of) USER; takes effect at once. */
void mp_cyrus_add_user(mp_cyrus *c, const char *user, const char *pass);
/* A file holding USER's password, for password_file=. */
const char *mp_cyrus_password_file(mp_cyrus *c, const char *user);

/* URL for USER (malloc'd): MODE "imap" (plain text, tls=none) or
 * "starttls" (imap:// with cafile=); password_file= added. */
char *mp_cyrus_url(mp_cyrus *c, const char *mode, const char *user);

/* One IMAP session as USER over plain text: LOGIN, each of COMMANDS
 * (NULL-terminated; "{n+}" CRLF literals allowed), LOGOUT. Returns every
 * answer (untagged lines, literals and the tagged line, CRLF kept),
 * concatenated in order (malloc'd). Fails the test when the server cannot
 * be reached, refuses the login or answers a command with anything but
 * OK, unless that command starts with '?' (dropped; any answer kept). */
char *mp_cyrus_session(mp_cyrus *c, const char *user,
                       const char *const *commands);
char *mp_cyrus_command(mp_cyrus *c, const char *user, const char *command);

#endif
