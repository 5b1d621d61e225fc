#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mp_exit_code_for(mp_error_kind kind)
{
    switch (kind) {
    case MP_ERR_USAGE:
        return 2;
    case MP_ERR_CONNECT:
    case MP_ERR_AUTH:
    case MP_ERR_LIMIT:
        return 3;
    default:
        return 1;
    }
}

int mp_store_can(const mp_registry *reg, const char *scheme, mp_role role)
{
    char err[512];
    const mp_plugin *p = mp_registry_find(reg, scheme, err, sizeof err);
    if (!p)
        return 0;
    return role == MP_ROLE_SOURCE ? p->source != NULL : p->sink != NULL;
}

static mp_status open_handle(mp_store *s)
{
    mp_host_clear_error(&s->host);
    for (size_t i = 0; i < s->url->n_params; i++)
        s->url->params[i].asked = 0;
    mp_status st =
        s->role == MP_ROLE_SOURCE
            ? s->plugin->source->open(&s->host.pub, &s->url->ep, &s->handle)
            : s->plugin->sink->open(&s->host.pub, &s->url->ep, &s->handle);
    if (st != MP_OK) {
        s->handle = NULL;
        if (s->host.err_kind == MP_ERR_NONE)
            s->host.err_kind = MP_ERR_INTERNAL;
        if (!s->host.err[0])
            snprintf(s->host.err, sizeof s->host.err, "cannot open");
        return st;
    }
    const mp_param *unknown = mp_url_unasked(s->url);
    if (unknown) {
        /* Close first so the plugin frees what open() made. */
        if (s->role == MP_ROLE_SOURCE)
            s->plugin->source->close(s->handle);
        else
            s->plugin->sink->close(s->handle);
        s->handle = NULL;
        snprintf(s->host.err, sizeof s->host.err,
                 "unknown parameter \"%s\" for %s: URLs (%s plugin)",
                 unknown->name, s->url->scheme, s->plugin->name);
        s->host.err_kind = MP_ERR_USAGE;
        return MP_FATAL;
    }
    return MP_OK;
}

/* The kind of the last failure of mp_store_open in this thread. */
static _Thread_local mp_error_kind last_open_kind;

mp_error_kind mp_store_open_error_kind(void)
{
    return last_open_kind;
}

mp_store *mp_store_open(const mp_registry *reg, const char *text, mp_role role,
                        char *err, size_t err_size, int *exit_code)
{
    last_open_kind = MP_ERR_NONE;
    char perr[512];
    mp_url *url = mp_url_parse(text, perr, sizeof perr);
    if (!url) {
        snprintf(err, err_size, "%s", perr);
        *exit_code = 2;
        return NULL;
    }
    const mp_plugin *p = mp_registry_find(reg, url->scheme, perr, sizeof perr);
    if (!p) {
        snprintf(err, err_size, "%s: %s", url->display, perr);
        *exit_code = 2;
        mp_url_free(url);
        return NULL;
    }
    if ((role == MP_ROLE_SOURCE && !p->source) ||
        (role == MP_ROLE_SINK && !p->sink)) {
        snprintf(err, err_size, "%s: the %s plugin cannot %s", url->display,
                 p->name, role == MP_ROLE_SOURCE ? "read" : "write");
        *exit_code = 2;
        mp_url_free(url);
        return NULL;
    }
    mp_store *s = calloc(1, sizeof *s);
    s->url = url;
    s->plugin = p;
    s->role = role;
    mp_host_init(&s->host, url);
    if (open_handle(s) != MP_OK) {
        snprintf(err, err_size, "%s", mp_store_error(s));
        *exit_code = mp_exit_code_for(s->host.err_kind);
        last_open_kind = s->host.err_kind;
        mp_url_free(url);
        free(s);
        return NULL;
    }
    return s;
}

int mp_store_reopen(mp_store *s)
{
    if (s->handle) {
        if (s->role == MP_ROLE_SOURCE)
            s->plugin->source->close(s->handle);
        else
            s->plugin->sink->close(s->handle);
        s->handle = NULL;
    }
    return open_handle(s) == MP_OK ? 0 : -1;
}

void mp_store_close(mp_store *s)
{
    if (!s)
        return;
    if (s->handle) {
        if (s->role == MP_ROLE_SOURCE)
            s->plugin->source->close(s->handle);
        else
            s->plugin->sink->close(s->handle);
    }
    mp_url_free(s->url);
    free(s);
}

const char *mp_store_error(mp_store *s)
{
    snprintf(s->message, sizeof s->message, "%s: %s", s->url->display,
             s->host.err[0] ? s->host.err : "unknown error");
    return s->message;
}
