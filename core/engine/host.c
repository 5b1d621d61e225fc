#include "host.h"

#include "interrupt.h"

#include "header.h"
#include "log.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mp_core_host *core_of(mp_host *h)
{
    return (mp_core_host *)h->core;
}

static void host_log(mp_host *h, int level, const char *fmt, ...)
{
    (void)h;
    va_list ap;
    va_start(ap, fmt);
    mp_logv(level, fmt, ap);
    va_end(ap);
}

static void host_set_error(mp_host *h, mp_error_kind kind, const char *fmt, ...)
{
    mp_core_host *c = core_of(h);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    c->err_kind = kind;
}

static const char *host_param(mp_host *h, const char *name, size_t nth)
{
    mp_url *u = core_of(h)->url;
    if (!u)
        return NULL;
    const char *found = NULL;
    size_t seen = 0;
    for (size_t i = 0; i < u->n_params; i++) {
        if (strcmp(u->params[i].name, name) != 0)
            continue;
        u->params[i].asked = 1;
        if (seen++ == nth && !found)
            found = u->params[i].value;
    }
    return found;
}

static const char *param_of(void *ctx, const char *name)
{
    return host_param(ctx, name, 0);
}

/* secret("token") with oauth2_* parameters: from the refresh flow. */
static mp_status oauth2_token(mp_core_host *c, const mp_oauth2_req *req,
                              char **out)
{
    const char *own[] = {"token_file", "token_env", "token_cmd"};
    for (size_t i = 0; i < 3; i++)
        if (host_param(&c->pub, own[i], 0)) {
            snprintf(c->err, sizeof c->err,
                     "give %s= or the oauth2_ parameters (the OAuth2 refresh "
                     "flow), not both",
                     own[i]);
            c->err_kind = MP_ERR_USAGE;
            return MP_FATAL;
        }
    mp_status st = mp_oauth2_access_token(req, out, &c->oauth2, c->err,
                                          sizeof c->err, &c->err_kind);
    c->oauth2_served = st == MP_OK;
    return st;
}

static mp_status host_secret(mp_host *h, const char *kind, const char *prompt,
                             char **out)
{
    mp_core_host *c = core_of(h);
    mp_oauth2_req req;
    int flow = mp_oauth2_from_params(&req, param_of, h, c->err, sizeof c->err);
    if (flow != 0 && strcmp(kind, "token") != 0) {
        if (flow > 0)
            snprintf(c->err, sizeof c->err,
                     "the oauth2_ parameters go with auth=xoauth2 (or "
                     "auth=oauthbearer), not with a %s",
                     kind);
        c->err_kind = MP_ERR_USAGE;
        return MP_FATAL;
    }
    if (flow < 0) {
        c->err_kind = MP_ERR_USAGE;
        return MP_FATAL;
    }
    if (flow > 0)
        return oauth2_token(c, &req, out);
    char name[64];
    const char *file, *env, *cmd;
    snprintf(name, sizeof name, "%s_file", kind);
    file = host_param(h, name, 0);
    snprintf(name, sizeof name, "%s_env", kind);
    env = host_param(h, name, 0);
    snprintf(name, sizeof name, "%s_cmd", kind);
    cmd = host_param(h, name, 0);
    const char *inline_pw =
        (c->url && strcmp(kind, "password") == 0) ? c->url->password : NULL;
    return mp_secret_obtain(kind, file, env, cmd, inline_pw, prompt, out,
                            c->err, sizeof c->err, &c->err_kind);
}

static void host_secret_free(mp_host *h, char *s)
{
    (void)h;
    mp_secret_free(s);
}

static void host_identity(mp_host *h, const char *hdr, size_t len, char *out,
                          size_t out_size)
{
    (void)h;
    mp_identity_of_header(hdr, len, out, out_size);
}

static int host_interrupted(mp_host *h)
{
    (void)h;
    return mp_interrupted() != 0;
}

static void host_throttled(mp_host *h, uint64_t wait_ms)
{
    mp_core_host *c = core_of(h);
    c->throttled = 1;
    c->throttle_ms = wait_ms;
}

int mp_host_take_throttle(mp_core_host *h, uint64_t *suggested_ms)
{
    if (!h->throttled)
        return 0;
    *suggested_ms = h->throttle_ms;
    h->throttled = 0;
    h->throttle_ms = 0;
    return 1;
}

void mp_host_init(mp_core_host *h, mp_url *url)
{
    memset(h, 0, sizeof *h);
    h->url = url;
    h->pub = (mp_host){
        .struct_size = sizeof(mp_host),
        .log = host_log,
        .set_error = host_set_error,
        .param = host_param,
        .secret = host_secret,
        .secret_free = host_secret_free,
        .identity_of_header = host_identity,
        .core = h,
        .interrupted = host_interrupted,
        .throttled = host_throttled,
    };
}

int mp_host_oauth2_refused(mp_core_host *h)
{
    if (!h->oauth2_served || h->err_kind != MP_ERR_AUTH)
        return 0;
    h->oauth2_served = 0;
    return mp_oauth2_refused(&h->oauth2);
}

void mp_host_clear_error(mp_core_host *h)
{
    h->err[0] = '\0';
    h->err_kind = MP_ERR_NONE;
}
