/* Secrets (passwords, tokens, passphrases): from a file, an environment
 * variable, a command's output, or a terminal prompt. Never logged. */
#ifndef MP_SECRET_H
#define MP_SECRET_H

#include <mailport/plugin.h>
#include <stddef.h>

/* Try FILE, ENV, CMD, INLINE_VALUE (a password typed in the URL; warns), then
 * PROMPT on /dev/tty, in that order; the first given is used. On success
 * *out is a malloc'd NUL-terminated secret (trailing newline removed). On
 * failure writes ERR and *kind_out and returns MP_FATAL. KIND names the
 * secret in messages ("password"). */
mp_status mp_secret_obtain(const char *kind, const char *file, const char *env,
                           const char *cmd, const char *inline_value,
                           const char *prompt, char **out, char *err,
                           size_t err_size, mp_error_kind *kind_out);

/* Wipe and free. */
void mp_secret_free(char *secret);

/* ON: passwords in URLs come from a file the user was already warned
 * about once (batch's imapsync lines, which the user never typed as URLs):
 * mp_secret_obtain does not warn about each. */
void mp_secret_inline_warned(int on);

#endif
