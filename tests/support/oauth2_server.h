/*
 * A small OAuth2 token and introspection server for tests (issue 9.6), a
 * thread on a free port of 127.0.0.1 speaking HTTP/1.1, plain or (with
 * opts.tls) over TLS as well on the same port, with a self-signed
 * certificate of its own for 127.0.0.1; a TLS server then refuses token
 * requests over plain HTTP (introspection takes both):
 *
 *   POST /token       grant_type=refresh_token (RFC 6749 section 6): a new
 *                     access token, {"access_token", "token_type",
 *                     "expires_in"} and, when rotating, a new
 *                     "refresh_token" (the old one is then refused);
 *                     an unknown or refused refresh token gets HTTP 400
 *                     {"error":"invalid_grant","error_description":...}.
 *   POST /introspect  token=TOKEN (RFC 7662, as Dovecot's oauth2 passdb
 *                     asks with introspection_mode = post):
 *                     {"active":true,"username":USER} while the token
 *                     lives, {"active":false} once it expired.
 *
 * Every function fails the running cmocka test when something cannot be
 * done.
 */
#ifndef MP_TEST_OAUTH2_SERVER_H
#define MP_TEST_OAUTH2_SERVER_H

typedef struct mp_oauth2_server mp_oauth2_server;

typedef struct mp_oauth2_server_opts {
    const char *user;          /* the username introspection names */
    const char *client_id;     /* the client id a refresh must give */
    const char *client_secret; /* and its secret; NULL: none asked */
    const char *refresh_token; /* the first valid refresh token */
    double lifetime_s;         /* how long an access token really lives */
    /* The expires_in the answers claim; 0: the lifetime (rounded up). A
     * larger one makes tokens die before the client expects it, as a
     * revoked token does. */
    int expires_in;
    int rotate; /* a new refresh token with every answer */
    int tls;    /* the token endpoint over https only */
} mp_oauth2_server_opts;

mp_oauth2_server *mp_oauth2_server_start(const mp_oauth2_server_opts *o);
void mp_oauth2_server_stop(mp_oauth2_server *s);
int mp_oauth2_server_port(const mp_oauth2_server *s);
/* http://127.0.0.1:PORT/token (https:// with opts.tls) and
 * http://127.0.0.1:PORT/introspect (malloc'd). */
char *mp_oauth2_server_token_url(const mp_oauth2_server *s);
char *mp_oauth2_server_introspect_url(const mp_oauth2_server *s);
/* With opts.tls: the PEM file of its certificate, which is its own CA
 * (malloc'd); the TLS handshakes begun, and in *FAILED those that failed
 * (the client refused the certificate). */
char *mp_oauth2_server_ca_file(const mp_oauth2_server *s);
int mp_oauth2_server_handshakes(mp_oauth2_server *s, int *failed);
/* Access tokens handed out so far, and introspections answered with
 * active=false. */
int mp_oauth2_server_refreshes(mp_oauth2_server *s);
int mp_oauth2_server_inactive(mp_oauth2_server *s);
/* The refresh token it accepts now (malloc'd). */
char *mp_oauth2_server_refresh_token(mp_oauth2_server *s);
/* Every token it issued, access and refresh, NUL-separated and ended by
 * an empty string (malloc'd): for a test to make sure none was leaked. */
char *mp_oauth2_server_issued(mp_oauth2_server *s);
/* From now on refuse every refresh (invalid_grant). */
void mp_oauth2_server_refuse(mp_oauth2_server *s);

/* URL parameters for mp_oauth2_from_params without a URL: PAIRS is name,
 * value, ..., NULL; mp_oauth2_pairs_lookup(&pairs, NAME) the value or
 * NULL. */
typedef struct mp_oauth2_pairs {
    const char *const *pairs;
} mp_oauth2_pairs;
const char *mp_oauth2_pairs_lookup(void *ctx, const char *name);

#endif
