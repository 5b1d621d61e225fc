/* libFuzzer target for endpoint URLs (core/engine/endpoint.c): every
 * SOURCE and DEST a user, a job file or a script hands mailport.
 *
 * Properties (abort() when one breaks):
 * - a URL that parses has a lowercase scheme of letters, digits, '+', '-'
 *   and '.', and parameters with non-empty names;
 * - its display form (what every message and log shows) parses to the same
 *   endpoint with the password, if any, replaced by "***": so the display
 *   never shows the password, nor any part of it;
 * - one that does not parse has an error text;
 * - mp_percent_decode never writes more than it read. */
#include "endpoint.h"

#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_display(const mp_url *u, const char *text)
{
    char err[512];
    FUZZ_CHECK(u->display != NULL, " \"%s\"", text);
    mp_url *v = mp_url_parse(u->display, err, sizeof err);
    FUZZ_CHECK(v != NULL, " \"%s\"", u->display);
    FUZZ_CHECK(same_str(u->scheme, v->scheme), " \"%s\"", u->display);
    FUZZ_CHECK(same_str(u->user, v->user), " \"%s\"", u->display);
    FUZZ_CHECK(same_str(u->host, v->host), " \"%s\"", u->display);
    FUZZ_CHECK(u->ep.port == v->ep.port, " \"%s\"", u->display);
    FUZZ_CHECK(same_str(u->path, v->path), " \"%s\"", u->display);
    FUZZ_CHECK(same_str(u->password ? "***" : NULL, v->password), " \"%s\"",
               u->display);
    FUZZ_CHECK(u->n_params == v->n_params, " \"%s\"", u->display);
    for (size_t i = 0; i < u->n_params; i++) {
        FUZZ_CHECK(same_str(u->params[i].name, v->params[i].name), " \"%s\"",
                   u->display);
        FUZZ_CHECK(same_str(u->params[i].value, v->params[i].value), " \"%s\"",
                   u->display);
    }
    mp_url_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    char err[512] = "";
    mp_url *u = mp_url_parse(text, err, sizeof err);
    if (!u) {
        FUZZ_CHECK(err[0], " \"%s\"", text);
    } else {
        FUZZ_CHECK(u->scheme && u->scheme[0], " \"%s\"", text);
        for (const char *c = u->scheme; *c; c++)
            FUZZ_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                           *c == '+' || *c == '-' || *c == '.',
                       " \"%s\"", text);
        for (size_t i = 0; i < u->n_params; i++)
            FUZZ_CHECK(u->params[i].name[0] && u->params[i].value, " \"%s\"",
                       text);
        FUZZ_CHECK(u->ep.scheme == u->scheme && u->ep.path == u->path,
                   " \"%s\"", text);
        FUZZ_CHECK(mp_url_unasked(u) == (u->n_params ? &u->params[0] : NULL),
                   " \"%s\"", text);
        check_display(u, text);
        mp_url_free(u);
    }
    size_t len = strlen(text);
    if (mp_percent_decode(text) == 0)
        FUZZ_CHECK(strlen(text) <= len, " \"%s\"", text);
    free(text);
    return 0;
}
