/* Endpoint URLs: "scheme:path?query" and "scheme://user@host:port/path?query"
 * parsed into an mp_endpoint plus its query parameters. */
#ifndef MP_ENDPOINT_H
#define MP_ENDPOINT_H

#include <mailport/plugin.h>

#include <time.h>

typedef struct mp_param {
    char *name;
    char *value;
    int asked; /* set when the plugin read it through host->param */
} mp_param;

typedef struct mp_url {
    mp_endpoint ep; /* borrowed by plugins; strings owned below */
    char *scheme, *user, *password, *host, *path, *display;
    mp_param *params;
    size_t n_params;
} mp_url;

/* Parse TEXT. On failure returns NULL and writes a message to ERR. A
 * password in the URL ("user:pw@host") is kept (with a warning printed by the
 * caller) and masked in ep.display. */
mp_url *mp_url_parse(const char *text, char *err, size_t err_size);
void mp_url_free(mp_url *url);

/* The first parameter never asked for, or NULL. */
const mp_param *mp_url_unasked(const mp_url *url);

/* Edit distance between A and B (insertions, deletions, substitutions and
 * swaps of neighbours count 1 each). */
size_t mp_edit_distance(const char *a, const char *b);

/* The name in KNOWN (NULL-terminated) nearest to NAME, when it is near
 * enough to be a typo of it; else NULL. */
const char *mp_closest_name(const char *name, const char *const *known);

/* Is every parameter of URL one of KNOWN (NULL-terminated)? Returns 0, or
 * -1 with ERR naming the first unknown one, the URL (password masked) and
 * the closest known name ("did you mean"), or all known names when none is
 * close. */
int mp_url_check_params(const mp_url *url, const char *const *known, char *err,
                        size_t err_size);

/* Percent-decode S in place; returns 0, or -1 on a malformed escape. */
int mp_percent_decode(char *s);

/* An endpoint path as typed, RAW, decoded into *OUT (malloc'd): "%XX" (two
 * hex digits) is the byte XX as in any URL; "%%" is '%'; '%' before one of
 * the strftime conversions a file name can hold (a A b B C d F g G H I j
 * m M p s S T u U V w W y Y z Z) is that conversion of WHEN in local
 * time, so that 'targz:backup/alice-%Y%m%d.tar.zst.age' names one archive
 * a day. A conversion letter that is a hex digit, followed by a hex digit,
 * reads as an escape ("%d2" is byte 0xD2): put a separator after it.
 * Conversions writing '/' or blanks (%D, %x, %c, %r, %e, %k, %l, %n, %t)
 * are not taken. Returns 0; -1 on a malformed '%' (or an escaped NUL); -2 when out
 * of memory. mp_url_parse uses one WHEN for a whole run. */
int mp_path_decode(const char *raw, time_t when, char **out);

#endif
