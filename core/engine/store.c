#include "store.h"

#include "log.h"

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

static mp_status open_once(mp_store *s)
{
    mp_host_clear_error(&s->host);
    s->host.oauth2_served = 0;
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
    if (s->dst_reader &&
        MP_HAS_SLOT(s->plugin->source, mp_source_ops, probe_sink)) {
        /* Marks the parameters the sink reads as asked; its verdict was
         * taken before (mp_store_probe_sink). */
        s->plugin->source->probe_sink(&s->host.pub, &s->url->ep, NULL);
        mp_host_clear_error(&s->host);
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

/* Open the plugin's store. A login refused with a cached OAuth2 access
 * token (it expired early, or was revoked) is tried once more with a new
 * one: at a retry after a dropped connection, or an extra --jobs worker. */
static mp_status open_handle(mp_store *s)
{
    mp_status st = open_once(s);
    if (st != MP_OK && mp_host_oauth2_refused(&s->host)) {
        mp_info("%s: the server refused the OAuth2 access token (%s); "
                "logging in again with a new one",
                s->url->display, s->host.err);
        st = open_once(s);
    }
    return st;
}

/* The kind of the last failure of mp_store_open in this thread. */
static _Thread_local mp_error_kind last_open_kind;

mp_error_kind mp_store_open_error_kind(void)
{
    return last_open_kind;
}

static mp_store *open_store(const mp_registry *reg, const char *text,
                            mp_role role, int dst_reader, char *err,
                            size_t err_size, int *exit_code)
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
    s->dst_reader = dst_reader;
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

mp_store *mp_store_open(const mp_registry *reg, const char *text, mp_role role,
                        char *err, size_t err_size, int *exit_code)
{
    return open_store(reg, text, role, 0, err, err_size, exit_code);
}

mp_store *mp_store_open_dst_reader(const mp_registry *reg, const char *text,
                                   char *err, size_t err_size, int *exit_code)
{
    return open_store(reg, text, MP_ROLE_SOURCE, 1, err, err_size, exit_code);
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

/* "DISPLAY: TEXT", the endpoint named once: a plugin that starts its text
 * with the endpoint too is not repeated. */
static void format_error(char *out, size_t size, const char *display,
                         const char *text)
{
    size_t n = strlen(display);
    if (!text[0])
        text = "unknown error";
    else if (strncmp(text, display, n) == 0 && text[n] == ':' &&
             text[n + 1] == ' ')
        text += n + 2;
    snprintf(out, size, "%s: %s", display, text);
}

const char *mp_store_error(mp_store *s)
{
    format_error(s->message, sizeof s->message, s->url->display, s->host.err);
    return s->message;
}

mp_status mp_store_probe_sink(const mp_registry *reg, const char *text,
                              const char *folder, char *err, size_t err_size,
                              mp_error_kind *kind)
{
    char perr[512];
    mp_url *url = mp_url_parse(text, perr, sizeof perr);
    const mp_plugin *p =
        url ? mp_registry_find(reg, url->scheme, perr, sizeof perr) : NULL;
    mp_status st = MP_OK;
    if (p && !p->sink) {
        /* As mp_store_open refuses the real run's sink. */
        snprintf(err, err_size, "%s: the %s plugin cannot write", url->display,
                 p->name);
        *kind = MP_ERR_USAGE;
        st = MP_FATAL;
    } else if (p && p->source &&
               MP_HAS_SLOT(p->source, mp_source_ops, probe_sink)) {
        mp_core_host host;
        mp_host_init(&host, url);
        st = p->source->probe_sink(&host.pub, &url->ep, folder);
        if (st != MP_OK) {
            format_error(err, err_size, url->display, host.err);
            *kind = host.err_kind ? host.err_kind : MP_ERR_INTERNAL;
        }
    }
    mp_url_free(url);
    return st;
}
