/* OAuth2 access tokens from a refresh token (RFC 6749 section 6), for
 * auth=xoauth2 and OAUTHBEARER (RFC 7628) logins: the token endpoint is
 * asked with grant_type=refresh_token, the access token is cached for the
 * process (every store and --jobs worker of the same account shares it)
 * and asked again when little of its life is left, or when a server
 * refused it. A refresh token the endpoint rotates is written back to its
 * file (atomically, mode 0600). No secret ever reaches a log or an error
 * text. */
#ifndef MP_OAUTH2_H
#define MP_OAUTH2_H

#include <mailport/plugin.h>
#include <stddef.h>

/* What the URL parameters say (see mp_oauth2_from_params). */
typedef struct mp_oauth2_req {
    const char *token_url;    /* oauth2_token_url=, or the preset's */
    const char *client_id;    /* oauth2_client_id= */
    const char *secret_file;  /* oauth2_client_secret_file= (optional) */
    const char *secret_env;   /* oauth2_client_secret_env= */
    const char *secret_cmd;   /* oauth2_client_secret_cmd= */
    const char *refresh_file; /* oauth2_refresh_token_file= */
    const char *scope;        /* oauth2_scope=, or the preset's; optional */
    const char *cafile;       /* oauth2_token_cafile=: the CA (PEM) that
                                 vouches for the endpoint; else the
                                 system's */
} mp_oauth2_req;

/* Which token a login used: handed back to mp_oauth2_refused. */
typedef struct mp_oauth2_ticket {
    void *entry;
    unsigned gen;
    int fresh; /* asked from the endpoint for this very call */
} mp_oauth2_ticket;

/* Fill REQ from a parameter lookup PARAM(CTX, NAME) (NULL when absent):
 * oauth2=google|microsoft, oauth2_token_url, oauth2_client_id,
 * oauth2_client_secret_file/_env/_cmd, oauth2_refresh_token_file,
 * oauth2_scope, oauth2_token_cafile. Returns 0 when no oauth2 parameter is
 * given, 1 when the flow is asked for and complete, -1 with ERR (a usage error)
 * when a parameter is missing or wrong. */
int mp_oauth2_from_params(mp_oauth2_req *req,
                          const char *(*param)(void *ctx, const char *name),
                          void *ctx, char *err, size_t err_size);

/* A current access token for REQ: the cached one while more than the
 * margin of its life is left (60 s; a quarter of its life for tokens that
 * live less than 4 minutes), else a new one from the endpoint. Thread-safe:
 * one refresh at a time per account, others wait for it. On MP_OK *OUT is
 * malloc'd (free with mp_secret_free) and *TICKET says which token it is;
 * else MP_FATAL with ERR and *KIND (MP_ERR_AUTH: the endpoint refused the
 * refresh token or client; MP_ERR_CONNECT: unreachable or broken endpoint;
 * MP_ERR_USAGE: unreadable files). */
mp_status mp_oauth2_access_token(const mp_oauth2_req *req, char **out,
                                 mp_oauth2_ticket *ticket, char *err,
                                 size_t err_size, mp_error_kind *kind);

/* A server refused the token of TICKET at login. Returns 1 when logging in
 * again is worth it (the token came from the cache: it is dropped, so the
 * next mp_oauth2_access_token asks the endpoint, unless another login did
 * already), 0 when it was new from the endpoint (asking again would not
 * help). */
int mp_oauth2_refused(const mp_oauth2_ticket *ticket);

#endif
