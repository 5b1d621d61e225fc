/* What every command checks on its endpoints before it opens any of them,
 * and how a failed open becomes an exit code. Opening an endpoint may
 * connect, prompt for a password or create a directory: a typo in either
 * URL must be found before any of that, whichever URL holds it. */
#include "commands.h"
#include <stdio.h>

int mp_check_endpoints(const mp_registry *reg, const char *const *urls,
                       size_t n, char *err, size_t err_size)
{
    for (size_t i = 0; i < n; i++) {
        char why[2048];
        mp_url *u = mp_url_parse(urls[i], why, sizeof why);
        if (!u) {
            snprintf(err, err_size, "%s", why);
            return MP_EXIT_USAGE;
        }
        const mp_plugin *p = mp_registry_find(reg, u->scheme, why, sizeof why);
        int rc = MP_EXIT_OK;
        if (!p) {
            snprintf(err, err_size, "%s: %s", u->display, why);
            rc = MP_EXIT_USAGE;
        } else if (MP_HAS_SLOT(p, mp_plugin, params) &&
                   mp_url_check_params(u, p->params, err, err_size) != 0) {
            rc = MP_EXIT_USAGE;
        }
        mp_url_free(u);
        if (rc != MP_EXIT_OK)
            return rc;
    }
    return MP_EXIT_OK;
}

mp_store *mp_open_endpoint(const mp_registry *reg, const char *url,
                           mp_role role, char *err, size_t err_size,
                           int *exit_code)
{
    mp_store *s = mp_store_open(reg, url, role, err, err_size, exit_code);
    /* An endpoint that cannot be opened at all (a missing Maildir, an
     * unreadable archive) is not "some messages failed": nothing was
     * tried. Usage errors keep their 2. */
    if (!s && *exit_code == MP_EXIT_FAILED)
        *exit_code = MP_EXIT_UNREACHABLE;
    return s;
}
