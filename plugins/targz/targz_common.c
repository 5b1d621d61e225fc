#include "targz_common.h"

#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len > n && strncmp(s + len - n, suffix, n) == 0;
}

int targz_name_kind(const char *path, targz_compression *comp, int *age)
{
    size_t len = strlen(path);
    *age = ends_with(path, len, ".age");
    if (*age)
        len -= 4;
    if (ends_with(path, len, ".tar.gz") || ends_with(path, len, ".tgz"))
        *comp = TARGZ_GZIP;
    else if (ends_with(path, len, ".tar.zst") || ends_with(path, len, ".tzst"))
        *comp = TARGZ_ZSTD;
    else if (ends_with(path, len, ".tar"))
        *comp = TARGZ_PLAIN;
    else
        return -1;
    return 0;
}

mp_error_kind targz_age_kind(age_err kind)
{
    switch (kind) {
    case AGE_ERR_USAGE:
        return MP_ERR_USAGE;
    case AGE_ERR_AUTH:
        return MP_ERR_AUTH;
    case AGE_ERR_FORMAT:
        return MP_ERR_FORMAT;
    case AGE_ERR_IO:
        return MP_ERR_IO;
    default:
        return MP_ERR_INTERNAL;
    }
}

mp_status targz_load_recipients(mp_host *host, const char *display,
                                age_keyring *kr)
{
    const char *v;
    for (size_t i = 0; (v = host->param(host, "recipient", i)) != NULL; i++) {
        uint8_t pub[32];
        if (age_recipient_parse(v, pub) != 0) {
            host->set_error(host, MP_ERR_USAGE,
                            "%s: recipient=%s is not an age recipient "
                            "(age1...)",
                            display, v);
            return MP_FATAL;
        }
        if (age_keyring_add(kr, pub) != 0) {
            host->set_error(host, MP_ERR_INTERNAL, "out of memory");
            return MP_FATAL;
        }
    }
    for (size_t i = 0; (v = host->param(host, "recipients_file", i)); i++) {
        age_error err = {0};
        if (age_keyring_load_file(kr, v, 0, &err) != 0) {
            host->set_error(host, targz_age_kind(err.kind), "%s: %s", display,
                            err.text);
            return MP_FATAL;
        }
    }
    return MP_OK;
}

mp_status targz_load_identities(mp_host *host, const char *display,
                                age_keyring *kr)
{
    const char *v;
    for (size_t i = 0; (v = host->param(host, "identity", i)) != NULL; i++) {
        age_error err = {0};
        if (age_keyring_load_file(kr, v, 1, &err) != 0) {
            host->set_error(host, targz_age_kind(err.kind), "%s: %s", display,
                            err.text);
            return MP_FATAL;
        }
    }
    return MP_OK;
}

int targz_passphrase_given(mp_host *host)
{
    int given = 0;
    given |= host->param(host, "passphrase_file", 0) != NULL;
    given |= host->param(host, "passphrase_env", 0) != NULL;
    given |= host->param(host, "passphrase_cmd", 0) != NULL;
    return given;
}

mp_status targz_require_key(mp_host *host, const age_keyring *ids)
{
    if (ids->n > 0 || targz_passphrase_given(host))
        return MP_OK;
    host->set_error(host, MP_ERR_USAGE,
                    "the archive is encrypted (age): give identity=FILE (an "
                    "age identity file, AGE-SECRET-KEY-1...) or "
                    "passphrase_file=FILE (or passphrase_env=, "
                    "passphrase_cmd=) to open it");
    return MP_FATAL;
}

char *targz_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}
