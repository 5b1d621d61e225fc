#include "oauth2.h"

#include "log.h"
#include "secret.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GOOGLE_TOKEN_URL "https://oauth2.googleapis.com/token"
#define MICROSOFT_TOKEN_URL                                                    \
    "https://login.microsoftonline.com/common/oauth2/v2.0/token"
/* What Microsoft's endpoint needs to hand out an IMAP token again. */
#define MICROSOFT_SCOPE                                                        \
    "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
#define ANSWER_MAX (1024 * 1024)
/* Tokens without expires_in: Google's and Microsoft's last an hour. */
#define DEFAULT_LIFETIME_S 3600

typedef struct entry {
    struct entry *next;
    char *key; /* token URL, client id, refresh-token file, scope */
    pthread_mutex_t lock;
    char *access;  /* the cached access token, or NULL */
    char *refresh; /* the refresh token as last read or rotated */
    double expires_at, margin;
    unsigned gen;
} entry;

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc;

static void curl_init(void)
{
    curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Seconds on a clock that goes on while the machine sleeps (a laptop
 * suspended mid-run comes back to an expired token, not a fresh one). */
static double now_s(void)
{
    struct timespec ts;
#ifdef CLOCK_BOOTTIME
    clock_gettime(CLOCK_BOOTTIME, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return -1;
}

/* Loopback hosts may be asked over plain http (tests, local proxies);
 * anything else must be https, as the refresh token travels in it. */
static int url_allowed(const char *url)
{
    if (strncasecmp(url, "https://", 8) == 0)
        return 1;
    if (strncasecmp(url, "http://", 7) != 0)
        return 0;
    const char *h = url + 7;
    const char *local[] = {"127.0.0.1", "localhost", "[::1]"};
    for (size_t i = 0; i < sizeof local / sizeof *local; i++) {
        size_t n = strlen(local[i]);
        if (strncasecmp(h, local[i], n) == 0 &&
            (h[n] == ':' || h[n] == '/' || h[n] == '\0'))
            return 1;
    }
    return 0;
}

int mp_oauth2_from_params(mp_oauth2_req *req,
                          const char *(*param)(void *ctx, const char *name),
                          void *ctx, char *err, size_t err_size)
{
    memset(req, 0, sizeof *req);
    const char *preset = param(ctx, "oauth2");
    req->token_url = param(ctx, "oauth2_token_url");
    req->client_id = param(ctx, "oauth2_client_id");
    req->secret_file = param(ctx, "oauth2_client_secret_file");
    req->secret_env = param(ctx, "oauth2_client_secret_env");
    req->secret_cmd = param(ctx, "oauth2_client_secret_cmd");
    req->refresh_file = param(ctx, "oauth2_refresh_token_file");
    req->scope = param(ctx, "oauth2_scope");
    req->cafile = param(ctx, "oauth2_token_cafile");
    if (!preset && !req->token_url && !req->client_id && !req->secret_file &&
        !req->secret_env && !req->secret_cmd && !req->refresh_file &&
        !req->scope && !req->cafile)
        return 0;
    if (preset && req->token_url)
        return fail(err, err_size,
                    "give oauth2=%s or oauth2_token_url=, not both", preset);
    if (preset && strcasecmp(preset, "google") == 0) {
        req->token_url = GOOGLE_TOKEN_URL;
    } else if (preset && strcasecmp(preset, "microsoft") == 0) {
        req->token_url = MICROSOFT_TOKEN_URL;
        if (!req->scope)
            req->scope = MICROSOFT_SCOPE;
    } else if (preset) {
        return fail(err, err_size,
                    "oauth2=%s: the providers known are google and microsoft "
                    "(for another, give its token endpoint as "
                    "oauth2_token_url=URL)",
                    preset);
    }
    if (!req->token_url)
        return fail(err, err_size,
                    "the OAuth2 refresh needs the token endpoint: add "
                    "oauth2=google, oauth2=microsoft or oauth2_token_url=URL");
    if (!url_allowed(req->token_url))
        return fail(err, err_size,
                    "oauth2_token_url=%s: give an https:// URL (plain http "
                    "only to this machine: 127.0.0.1, localhost)",
                    req->token_url);
    if (!req->client_id)
        return fail(err, err_size,
                    "the OAuth2 refresh needs oauth2_client_id=ID (the id of "
                    "the application the refresh token was issued to)");
    if (!req->refresh_file)
        return fail(err, err_size,
                    "the OAuth2 refresh needs oauth2_refresh_token_file=FILE "
                    "(the file holding the refresh token; mailport writes a "
                    "rotated one back to it)");
    if (req->cafile && access(req->cafile, R_OK) != 0)
        return fail(err, err_size,
                    "oauth2_token_cafile=%s: cannot read it (%s): name the "
                    "PEM file of the CA that vouches for the token endpoint",
                    req->cafile, strerror(errno));
    return 1;
}

static char *key_of(const mp_oauth2_req *r)
{
    char *k = NULL;
    if (asprintf(&k, "%s\n%s\n%s\n%s\n%s", r->token_url, r->client_id,
                 r->refresh_file, r->scope ? r->scope : "",
                 r->cafile ? r->cafile : "") < 0)
        return NULL;
    return k;
}

static entry *entry_for(const mp_oauth2_req *r)
{
    char *key = key_of(r);
    if (!key)
        return NULL;
    pthread_mutex_lock(&list_lock);
    entry *e = entries;
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    if (!e && (e = calloc(1, sizeof *e))) {
        e->key = key;
        key = NULL;
        pthread_mutex_init(&e->lock, NULL);
        e->next = entries;
        entries = e;
    }
    pthread_mutex_unlock(&list_lock);
    free(key);
    return e;
}

typedef struct buf {
    char *data;
    size_t len;
    int too_big;
} buf;

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    buf *b = ctx;
    size_t len = size * n;
    if (b->len + len > ANSWER_MAX) {
        b->too_big = 1;
        return 0;
    }
    char *grown = realloc(b->data, b->len + len + 1);
    if (!grown)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* Append "&NAME=VALUE" (VALUE form-encoded) to *FORM. */
static int add_field(CURL *h, char **form, const char *name, const char *value)
{
    char *v = curl_easy_escape(h, value, 0);
    if (!v)
        return -1;
    size_t old = *form ? strlen(*form) : 0;
    size_t need = old + strlen(name) + strlen(v) + 3;
    char *grown = realloc(*form, need);
    if (!grown) {
        curl_free(v);
        return -1;
    }
    snprintf(grown + old, need - old, "%s%s=%s", old ? "&" : "", name, v);
    /* curl_easy_escape's copy held a secret too */
    memset(v, 0, strlen(v));
    curl_free(v);
    *form = grown;
    return 0;
}

static void wipe_free(char *s)
{
    mp_secret_free(s);
}

/* TEXT from the endpoint, fit for an error message: printable ASCII only,
 * at most 300 bytes, and never holding one of the secrets. */
static void clean_text(char *out, size_t size, const char *text,
                       const char *const *secrets)
{
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < size && n < 300; p++)
        out[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : ' ';
    out[n] = '\0';
    for (size_t i = 0; secrets[i]; i++)
        if (*secrets[i] && strstr(out, secrets[i])) {
            snprintf(out, size, "(its text held a secret: not shown)");
            return;
        }
}

/* Replace FILE's content by TOKEN, atomically, mode 0600. */
static int write_refresh_token(const char *file, const char *token, char *why,
                               size_t why_size)
{
    char *dup = strdup(file);
    char *tmp = NULL;
    if (!dup || asprintf(&tmp, "%s.new-XXXXXX", file) < 0) {
        free(dup);
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    int fd = mkstemp(tmp);
    int ok = fd >= 0;
    if (ok) {
        fchmod(fd, 0600);
        size_t len = strlen(token);
        ok = write(fd, token, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
             fsync(fd) == 0;
        if (close(fd) != 0)
            ok = 0;
        if (ok)
            ok = rename(tmp, file) == 0;
        if (!ok) {
            snprintf(why, why_size, "%s", strerror(errno));
            unlink(tmp);
        }
    } else {
        snprintf(why, why_size, "%s", strerror(errno));
    }
    if (ok) {
        int dfd = open(dirname(dup), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(tmp);
    free(dup);
    return ok ? 0 : -1;
}

static int json_seconds(json_t *v, double *out)
{
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = (double)json_integer_value(v);
        return 1;
    }
    if (json_is_real(v) && json_real_value(v) > 0) {
        *out = json_real_value(v);
        return 1;
    }
    if (json_is_string(v)) {
        char *end;
        double d = strtod(json_string_value(v), &end);
        if (*end == '\0' && d > 0) {
            *out = d;
            return 1;
        }
    }
    return 0;
}

/* Ask the endpoint for a new access token; E is locked. */
static mp_status refresh(entry *e, const mp_oauth2_req *r, char *err,
                         size_t err_size, mp_error_kind *kind)
{
    pthread_once(&curl_once, curl_init);
    if (curl_rc != CURLE_OK) {
        snprintf(err, err_size, "libcurl did not initialise");
        *kind = MP_ERR_INTERNAL;
        return MP_FATAL;
    }
    if (!e->refresh) {
        mp_status st = mp_secret_obtain("oauth2_refresh_token", r->refresh_file,
                                        NULL, NULL, NULL, NULL, &e->refresh,
                                        err, err_size, kind);
        if (st != MP_OK)
            return st;
        if (!e->refresh[0]) {
            mp_secret_free(e->refresh);
            e->refresh = NULL;
            snprintf(err, err_size,
                     "the refresh-token file %s is empty: put the refresh "
                     "token in it",
                     r->refresh_file);
            *kind = MP_ERR_USAGE;
            return MP_FATAL;
        }
    }
    char *client_secret = NULL;
    if (r->secret_file || r->secret_env || r->secret_cmd) {
        mp_status st = mp_secret_obtain(
            "oauth2_client_secret", r->secret_file, r->secret_env,
            r->secret_cmd, NULL, NULL, &client_secret, err, err_size, kind);
        if (st != MP_OK)
            return st;
    }
    const char *secrets[] = {e->refresh, client_secret ? client_secret : "",
                             e->access ? e->access : "", NULL};

    CURL *h = curl_easy_init();
    char *form = NULL;
    buf answer = {0};
    char curl_err[CURL_ERROR_SIZE] = "";
    mp_status st = MP_FATAL;
    *kind = MP_ERR_INTERNAL;
    snprintf(err, err_size, "out of memory asking for an OAuth2 token");
    if (!h || add_field(h, &form, "grant_type", "refresh_token") != 0 ||
        add_field(h, &form, "refresh_token", e->refresh) != 0 ||
        add_field(h, &form, "client_id", r->client_id) != 0 ||
        (client_secret &&
         add_field(h, &form, "client_secret", client_secret) != 0) ||
        (r->scope && add_field(h, &form, "scope", r->scope) != 0))
        goto out;
    struct curl_slist *hdrs =
        curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(h, CURLOPT_URL, r->token_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* The refresh token and client secret travel in the request: the
     * endpoint's certificate is always verified (libcurl's default, said
     * here so that no one turns it off), against oauth2_token_cafile=
     * when given, else the system's CAs. insecure=1 is the IMAP
     * server's, never the token endpoint's. */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (r->cafile)
        curl_easy_setopt(h, CURLOPT_CAINFO, r->cafile);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 90L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mailport");
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_PEER_FAILED_VERIFICATION ||
        rc == CURLE_SSL_CACERT_BADFILE) {
        *kind = MP_ERR_CONNECT;
        snprintf(err, err_size,
                 "the TLS certificate of the OAuth2 token endpoint %s could "
                 "not be verified: %s (%s)",
                 r->token_url, curl_err[0] ? curl_err : curl_easy_strerror(rc),
                 r->cafile ? "check that oauth2_token_cafile= names the CA "
                             "that issued it"
                           : "for a private CA, name its certificate with "
                             "oauth2_token_cafile=FILE");
        goto out;
    }
    if (rc != CURLE_OK) {
        *kind = MP_ERR_CONNECT;
        snprintf(err, err_size,
                 "cannot reach the OAuth2 token endpoint %s: %s (check "
                 "oauth2_token_url= and the network)",
                 r->token_url,
                 answer.too_big ? "its answer is over 1 MB"
                 : curl_err[0]  ? curl_err
                                : curl_easy_strerror(rc));
        goto out;
    }
    json_error_t jerr;
    json_t *doc = answer.data ? json_loads(answer.data, 0, &jerr) : NULL;
    json_t *error = doc ? json_object_get(doc, "error") : NULL;
    if (code != 200 || !doc || json_is_string(error)) {
        *kind = MP_ERR_CONNECT;
        if (!json_is_string(error)) {
            snprintf(err, err_size,
                     "the OAuth2 token endpoint %s answered HTTP %ld without "
                     "an OAuth2 answer (check oauth2_token_url=)",
                     r->token_url, code);
        } else {
            char what[64], desc[320] = "";
            clean_text(what, sizeof what, json_string_value(error), secrets);
            json_t *d = json_object_get(doc, "error_description");
            if (json_is_string(d)) {
                desc[0] = ':';
                desc[1] = ' ';
                clean_text(desc + 2, sizeof desc - 2, json_string_value(d),
                           secrets);
            }
            const char *e_name = json_string_value(error);
            *kind = MP_ERR_AUTH;
            if (strcmp(e_name, "invalid_grant") == 0) {
                /* read the file again next time: it may have been fixed */
                mp_secret_free(e->refresh);
                e->refresh = NULL;
                secrets[0] = "";
                snprintf(err, err_size,
                         "the refresh token in %s was refused (%s%s): get a "
                         "new one (sign in again through the provider's "
                         "consent page) and put it in that file",
                         r->refresh_file, what, desc);
            } else if (strcmp(e_name, "invalid_client") == 0 ||
                       strcmp(e_name, "unauthorized_client") == 0)
                snprintf(err, err_size,
                         "the OAuth2 client was refused (%s%s): check "
                         "oauth2_client_id= and the client secret "
                         "(oauth2_client_secret_file=)",
                         what, desc);
            else if (strcmp(e_name, "invalid_scope") == 0)
                snprintf(err, err_size,
                         "the OAuth2 scope was refused (%s%s): check "
                         "oauth2_scope= (it must be one the refresh token was "
                         "granted)",
                         what, desc);
            else
                snprintf(err, err_size,
                         "the OAuth2 token endpoint %s refused to refresh the "
                         "token (%s%s)",
                         r->token_url, what, desc);
        }
        json_decref(doc);
        goto out;
    }
    json_t *access = json_object_get(doc, "access_token");
    if (!json_is_string(access) || !json_string_length(access)) {
        *kind = MP_ERR_CONNECT;
        snprintf(err, err_size,
                 "the OAuth2 token endpoint %s answered without an "
                 "access_token",
                 r->token_url);
        json_decref(doc);
        goto out;
    }
    double life = DEFAULT_LIFETIME_S;
    json_seconds(json_object_get(doc, "expires_in"), &life);
    char *token = strdup(json_string_value(access));
    json_t *rotated = json_object_get(doc, "refresh_token");
    char *new_refresh = NULL;
    if (json_is_string(rotated) && json_string_length(rotated) &&
        strcmp(json_string_value(rotated), e->refresh) != 0)
        new_refresh = strdup(json_string_value(rotated));
    json_decref(doc);
    if (!token) {
        free(new_refresh);
        goto out;
    }
    if (new_refresh) {
        char why[256];
        if (write_refresh_token(r->refresh_file, new_refresh, why,
                                sizeof why) != 0)
            mp_warn("the OAuth2 token endpoint gave a new refresh token, but "
                    "it could not be written to %s: %s (this run goes on "
                    "with it; the one in the file may no longer work)",
                    r->refresh_file, why);
        else
            mp_info("OAuth2: the refresh token was renewed; %s holds the new "
                    "one",
                    r->refresh_file);
        mp_secret_free(e->refresh);
        e->refresh = new_refresh;
    }
    mp_secret_free(e->access);
    e->access = token;
    e->margin = life >= 240 ? 60 : life / 4;
    e->expires_at = now_s() + life;
    e->gen++;
    mp_info("OAuth2: new access token from %s (valid %.0f s)", r->token_url,
            life);
    st = MP_OK;
    *kind = MP_ERR_NONE;
    err[0] = '\0';
out:
    if (h)
        curl_easy_cleanup(h);
    wipe_free(form);
    if (answer.data)
        memset(answer.data, 0, answer.len);
    free(answer.data);
    mp_secret_free(client_secret);
    return st;
}

mp_status mp_oauth2_access_token(const mp_oauth2_req *req, char **out,
                                 mp_oauth2_ticket *ticket, char *err,
                                 size_t err_size, mp_error_kind *kind)
{
    *out = NULL;
    entry *e = entry_for(req);
    if (!e) {
        snprintf(err, err_size, "out of memory");
        *kind = MP_ERR_INTERNAL;
        return MP_FATAL;
    }
    pthread_mutex_lock(&e->lock);
    int fresh = 0;
    mp_status st = MP_OK;
    if (!e->access || now_s() >= e->expires_at - e->margin) {
        st = refresh(e, req, err, err_size, kind);
        fresh = 1;
    }
    if (st == MP_OK) {
        *out = strdup(e->access);
        ticket->entry = e;
        ticket->gen = e->gen;
        ticket->fresh = fresh;
        if (!*out) {
            snprintf(err, err_size, "out of memory");
            *kind = MP_ERR_INTERNAL;
            st = MP_FATAL;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return st;
}

int mp_oauth2_refused(const mp_oauth2_ticket *ticket)
{
    entry *e = ticket->entry;
    if (!e || ticket->fresh)
        return 0;
    pthread_mutex_lock(&e->lock);
    if (e->gen == ticket->gen)
        e->expires_at = 0;
    pthread_mutex_unlock(&e->lock);
    return 1;
}
