#include "imap_conn.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_TIMEOUT_S 300

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* What the server said last during curl's login phase, so a refused login
 * can be reported with the server's own words. Only incoming lines are
 * kept: outgoing ones carry the credentials. */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size,
                    void *ctx)
{
    (void)h;
    imap_conn *c = ctx;
    char *line = c->login_line;
    if (type != CURLINFO_HEADER_IN)
        return 0;
    if (!c->greeted) { /* which host it is (imap_store_host_kind) */
        size_t g = 0;  /* DATA is not NUL-terminated */
        while (g < size && g < sizeof c->greeting - 1 && data[g] != '\r' &&
               data[g] != '\n')
            g++;
        memcpy(c->greeting, data, g);
        c->greeting[g] = '\0';
    }
    c->greeted = 1;
    if (size >= 2 && data[0] == '*' && data[1] == ' ')
        return 0;
    if (size >= 1 && data[0] == '+')
        c->challenged = 1;
    size_t n =
        size < sizeof c->login_line - 1 ? size : sizeof c->login_line - 1;
    memcpy(line, data, n);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    line[n] = '\0';
    return 0;
}

/* How long imap:// waits for the server's greeting before it asks whether
 * the port speaks TLS instead. An IMAP server greets at once; a TLS server
 * waits in silence for the client's hello. */
#define GREETING_WAIT_MS 1500
#define PROBE_TIMEOUT_S 5

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connect-only handle for a probe of WHERE ("host:port") by SCHEME,
 * bounded by PROBE_TIMEOUT_S; NULL when curl cannot make one. */
static CURL *probe_handle(const char *scheme, const char *where)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    char url[400];
    snprintf(url, sizeof url, "%s://%s/", scheme, where);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)PROBE_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)PROBE_TIMEOUT_S);
    return h;
}

static int probe_succeeds(CURL *h)
{
    if (!h)
        return 0;
    int ok = curl_easy_perform(h) == CURLE_OK;
    curl_easy_cleanup(h);
    return ok;
}

/* Does WHERE complete a TLS handshake? Certificates are not checked and
 * nothing is sent after the handshake: this only tells what the port
 * speaks. */
static int port_speaks_tls(const char *where)
{
    CURL *h = probe_handle("https", where);
    if (h) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return probe_succeeds(h);
}

/* Does WHERE greet as a plain-text IMAP server? No user is given, so curl
 * stops after the greeting and capabilities: nothing is logged in. */
static int port_speaks_plain_imap(const char *where)
{
    CURL *h = probe_handle("imap", where);
    if (h)
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_NONE);
    return probe_succeeds(h);
}

/* The endpoint as written from "://" on (password masked), to suggest the
 * same endpoint with the other scheme. */
static const char *after_scheme(const char *display)
{
    const char *p = strstr(display, "://");
    return p ? p : "://";
}

/* Progress callback during an imap:// login: once the TCP connection has
 * been up for GREETING_WAIT_MS without a word from the server, ask once
 * whether the port speaks TLS (imaps:// meant), and stop the login at once
 * if so instead of waiting for the connect timeout. A server that is only
 * slow to greet is waited for as before. */
static int greeting_watch(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
                          curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    imap_conn *c = ctx;
    if (c->greeted || c->probed)
        return 0;
    curl_off_t up = 0;
    if (curl_easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &up) != CURLE_OK ||
        up <= 0)
        return 0;
    if (!c->tcp_up_ms)
        c->tcp_up_ms = now_ms();
    if (now_ms() - c->tcp_up_ms < GREETING_WAIT_MS)
        return 0;
    c->probed = 1;
    c->speaks_tls = port_speaks_tls(c->where);
    return c->speaks_tls; /* non-zero aborts the transfer */
}

/* Does a login refusal say the account has too many connections already?
 * RFC 5530's [LIMIT] (Dovecot: "[LIMIT] Maximum number of connections from
 * user+IP exceeded"), or the words hosts without response codes use. */
static int refused_for_limit(const char *words)
{
    return strncasecmp(words, "[LIMIT]", 7) == 0 ||
           strcasestr(words, "too many connections") != NULL ||
           strcasestr(words, "maximum number of connections") != NULL ||
           strcasestr(words, "too many simultaneous connections") != NULL;
}

/* "A002 NO [AUTHENTICATIONFAILED] Authentication failed." -> the part after
 * the status word; NULL when LINE is no refusal. */
static const char *refusal_words(const char *line)
{
    const char *p = strchr(line, ' ');
    if (!p)
        return NULL;
    p++;
    if (strncasecmp(p, "NO ", 3) == 0)
        return p + 3;
    if (strncasecmp(p, "BAD ", 4) == 0)
        return p + 4;
    return NULL;
}

static ssize_t net_fill(void *ctx, char *buf, size_t cap)
{
    imap_conn *c = ctx;
    for (;;) {
        size_t n = 0;
        CURLcode rc = curl_easy_recv(c->curl, buf, cap, &n);
        if (rc == CURLE_OK)
            return (ssize_t)n;
        if (rc != CURLE_AGAIN)
            return -1;
        struct pollfd pfd = {.fd = (int)c->sock, .events = POLLIN};
        int r = poll(&pfd, 1, c->timeout_ms);
        if (r == 0)
            return -1; /* timed out */
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

mp_status imap_conn_send(imap_conn *c, const void *buf, size_t len)
{
    const char *p = buf;
    if (c->broken)
        return imap_conn_fail(c, "sending");
    if (!c->curl)
        return MP_OK; /* a canned transcript (tests): nothing to send to */
    while (len > 0) {
        size_t n = 0;
        CURLcode rc = curl_easy_send(c->curl, p, len, &n);
        if (rc == CURLE_OK) {
            p += n;
            len -= n;
            continue;
        }
        if (rc != CURLE_AGAIN) {
            /* The server closed the connection: what it sent before it
             * (answers to pipelined commands, a BYE saying why) can still
             * be read; imap_wait_tagged reads it until the end. */
            c->broken = 1;
            c->send_failed = 1;
            return imap_conn_fail(c, "sending");
        }
        struct pollfd pfd = {.fd = (int)c->sock, .events = POLLOUT};
        int r = poll(&pfd, 1, c->timeout_ms);
        if (r == 0 || (r < 0 && errno != EINTR)) {
            c->broken = 1;
            return imap_conn_fail(c, "sending");
        }
    }
    return MP_OK;
}

int imap_throttle_reply(const char *code, const char *text, uint64_t *wait_ms)
{
    *wait_ms = 0;
    int yes = strncasecmp(code, "THROTTLED", 9) == 0 ||
              strncasecmp(code, "UNAVAILABLE", 11) == 0 ||
              strcasestr(text, "throttl") != NULL;
    if (!yes)
        return 0;
    /* "Suggested Backoff Time: N milliseconds" (Microsoft 365). */
    const char *s = strcasestr(text, "backoff time:");
    if (s) {
        char *end;
        unsigned long long v = strtoull(s + 13, &end, 10);
        while (*end == ' ')
            end++;
        if (end != s + 13)
            *wait_ms = strncasecmp(end, "ms", 2) == 0 ||
                               strncasecmp(end, "milli", 5) == 0
                           ? v
                           : v * 1000; /* seconds */
    }
    return 1;
}

/* A throttling reply saying TEXT, suggesting a pause of MS (0: none). Of
 * several on one connection (pipelined answers, then a BYE), the longest
 * pause suggested is the one kept, with its words: a later reply naming
 * none must not shorten the wait a server asked for. */
static void note_throttle(imap_conn *c, const char *text, uint64_t ms)
{
    if (c->throttle[0] && ms <= c->throttle_ms)
        return;
    snprintf(c->throttle, sizeof c->throttle, "%.200s", text);
    c->throttle_ms = ms;
}

mp_status imap_conn_throttled(imap_conn *c, const char *what)
{
    c->broken = 1;
    if (MP_HAS_SLOT(c->host, mp_host, throttled))
        c->host->throttled(c->host, c->throttle_ms);
    c->host->set_error(c->host, MP_ERR_CONNECT,
                       "%s asked to slow down while %s (server said: %s)",
                       c->where, what, c->throttle);
    return MP_TEMPORARY;
}

mp_status imap_conn_fail(imap_conn *c, const char *what)
{
    c->broken = 1;
    if (c->p.error == IMAP_ERR_PROTO)
        c->send_failed = 0; /* nothing more is read from it */
    if (c->closing)
        return MP_TEMPORARY; /* keep the error the caller already has */
    if (c->throttle[0] && c->p.error != IMAP_ERR_PROTO)
        return imap_conn_throttled(c, what); /* e.g. a BYE saying so */
    if (c->p.error == IMAP_ERR_PROTO) {
        c->host->set_error(c->host, MP_ERR_PROTOCOL,
                           "IMAP protocol error from %s while %s: %s", c->where,
                           what, c->p.err);
        return MP_FATAL;
    }
    if (c->bye[0])
        c->host->set_error(c->host, MP_ERR_CONNECT,
                           "connection to %s lost while %s (server said: %s)",
                           c->where, what, c->bye);
    else
        c->host->set_error(c->host, MP_ERR_CONNECT,
                           "connection to %s lost while %s", c->where, what);
    return MP_TEMPORARY;
}

void imap_conn_reset_mailbox(imap_conn *c)
{
    c->exists = c->uidvalidity = c->uidnext = c->highestmodseq = 0;
    free(c->permflags);
    c->permflags = NULL;
    c->selected = 0;
}

static void parse_capabilities(imap_conn *c, imap_parser *p)
{
    static const struct {
        const char *name;
        unsigned bit;
    } known[] = {
        {"LITERAL+", IMAP_CAP_LITERALPLUS},
        {"LITERAL-", IMAP_CAP_LITERALMINUS},
        {"UIDPLUS", IMAP_CAP_UIDPLUS},
        {"SPECIAL-USE", IMAP_CAP_SPECIAL_USE},
        {"LIST-EXTENDED", IMAP_CAP_LIST_EXTENDED},
        {"NAMESPACE", IMAP_CAP_NAMESPACE},
        {"MULTIAPPEND", IMAP_CAP_MULTIAPPEND},
        {"CONDSTORE", IMAP_CAP_CONDSTORE},
        {"QRESYNC", IMAP_CAP_CONDSTORE}, /* QRESYNC implies CONDSTORE */
        {"X-GM-EXT-1", IMAP_CAP_X_GM_EXT_1},
    };
    c->caps = 0;
    c->appendlimit = 0;
    int t;
    while ((t = imap_next(p)) == IMAP_T_ATOM) {
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (imap_tok_is(p, known[i].name))
                c->caps |= known[i].bit;
        if (imap_tok_is(p, "APPENDLIMIT"))
            c->caps |= IMAP_CAP_APPENDLIMIT;
        else if (strncasecmp(p->tok, "APPENDLIMIT=", 12) == 0)
            c->appendlimit = strtoull(p->tok + 12, NULL, 10);
    }
}

/* A response code ("UIDVALIDITY 7", "PERMANENTFLAGS (\Seen \*)",
 * "CAPABILITY ..."): parsed with its own parser over the code's text. */
static void absorb_code(imap_conn *c, const char *code)
{
    /* The code as a complete line, so its last atom is terminated. */
    size_t len = strlen(code) + 2;
    char *line = malloc(len + 1);
    if (!line)
        return;
    snprintf(line, len + 1, "%s\r\n", code);
    imap_parser q;
    imap_parser_init_mem(&q, line, len);
    if (imap_next(&q) != IMAP_T_ATOM)
        goto out;
    uint64_t v;
    if (imap_tok_is(&q, "UIDVALIDITY")) {
        if (imap_next(&q) == IMAP_T_ATOM && imap_tok_u64(&q, &v) == 0)
            c->uidvalidity = v;
    } else if (imap_tok_is(&q, "UIDNEXT")) {
        if (imap_next(&q) == IMAP_T_ATOM && imap_tok_u64(&q, &v) == 0)
            c->uidnext = v;
    } else if (imap_tok_is(&q, "HIGHESTMODSEQ")) {
        if (imap_next(&q) == IMAP_T_ATOM && imap_tok_u64(&q, &v) == 0)
            c->highestmodseq = v;
    } else if (imap_tok_is(&q, "NOMODSEQ")) {
        c->highestmodseq = 0;
    } else if (imap_tok_is(&q, "PERMANENTFLAGS")) {
        if (imap_next(&q) != IMAP_T_LPAREN)
            goto out;
        imap_str list = {0};
        int t;
        imap_str_adds(&list, "");
        while ((t = imap_next(&q)) == IMAP_T_ATOM) {
            if (list.len)
                imap_str_add(&list, " ", 1);
            imap_str_adds(&list, q.tok);
        }
        if (t == IMAP_T_RPAREN && !list.oom) {
            free(c->permflags);
            c->permflags = list.s;
        } else {
            imap_str_free(&list);
        }
    } else if (imap_tok_is(&q, "CAPABILITY")) {
        parse_capabilities(c, &q);
    }
out:
    imap_parser_free(&q);
    free(line);
}

/* Split resp-text in p->tok into code and text. */
static void split_resp_text(const char *s, char *code, size_t code_size,
                            char *text, size_t text_size)
{
    code[0] = '\0';
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end) {
            size_t n = (size_t)(end - s - 1);
            if (n < code_size) { /* a cut code would mislead: drop it */
                memcpy(code, s + 1, n);
                code[n] = '\0';
            }
            s = end + 1;
            if (*s == ' ')
                s++;
        }
    }
    snprintf(text, text_size, "%s", s);
}

mp_status imap_wait_tagged(imap_conn *c, imap_untagged_fn fn, void *ctx,
                           unsigned *tag, int *result)
{
    imap_parser *p = &c->p;
    char code[4096], text[512];
    for (;;) {
        if (c->broken && !c->send_failed)
            return imap_conn_fail(c, "reading a response");
        int t = imap_next(p);
        if (t < 0) {
            c->send_failed = 0; /* all read */
            return imap_conn_fail(c, "reading a response");
        }
        if (t != IMAP_T_ATOM) {
            p->error = IMAP_ERR_PROTO;
            snprintf(p->err, sizeof p->err, "response starts with a %s",
                     t == IMAP_T_EOL ? "blank line" : "non-atom");
            return imap_conn_fail(c, "reading a response");
        }
        if (strcmp(p->tok, "+") == 0) {
            if (imap_rest_text(p, 512) < 0)
                return imap_conn_fail(c, "reading a continuation");
            *tag = 0;
            *result = IMAP_OK;
            return MP_OK;
        }
        if (strcmp(p->tok, "*") != 0) {
            /* Tagged: "m<N> OK|NO|BAD text". */
            unsigned n = 0;
            if (p->tok[0] != 'm' || sscanf(p->tok + 1, "%u", &n) != 1) {
                p->error = IMAP_ERR_PROTO;
                snprintf(p->err, sizeof p->err, "unknown tag \"%.40s\"",
                         p->tok);
                return imap_conn_fail(c, "reading a response");
            }
            if (imap_next(p) != IMAP_T_ATOM)
                return imap_conn_fail(c, "reading a tagged response");
            int r = imap_tok_is(p, "OK")   ? IMAP_OK
                    : imap_tok_is(p, "NO") ? IMAP_NO
                                           : IMAP_BAD;
            if (imap_rest_text(p, 8192) < 0)
                return imap_conn_fail(c, "reading a tagged response");
            split_resp_text(p->tok, c->last_code, sizeof c->last_code,
                            c->last_text, sizeof c->last_text);
            if (c->last_code[0])
                absorb_code(c, c->last_code);
            c->last_result = r;
            uint64_t ms;
            c->last_throttled =
                r != IMAP_OK &&
                imap_throttle_reply(c->last_code, c->last_text, &ms);
            if (c->last_throttled)
                note_throttle(c, c->last_text, ms);
            *tag = n;
            *result = r;
            return MP_OK;
        }
        /* Untagged. */
        t = imap_next(p);
        if (t != IMAP_T_ATOM) {
            if (t >= 0) {
                p->error = IMAP_ERR_PROTO;
                snprintf(p->err, sizeof p->err, "malformed untagged response");
            }
            return imap_conn_fail(c, "reading a response");
        }
        uint64_t num;
        int64_t msgno = -1;
        if (imap_tok_u64(p, &num) == 0) {
            msgno = (int64_t)(num & INT64_MAX);
            if (imap_next(p) != IMAP_T_ATOM)
                return imap_conn_fail(c, "reading a response");
            if (imap_tok_is(p, "EXISTS")) {
                c->exists = num;
                goto done;
            }
            if (imap_tok_is(p, "EXPUNGE") && c->exists > 0) {
                c->exists--;
                /* let the handler see it too */
            }
        } else if (imap_tok_is(p, "OK") || imap_tok_is(p, "NO") ||
                   imap_tok_is(p, "BAD") || imap_tok_is(p, "PREAUTH") ||
                   imap_tok_is(p, "BYE")) {
            int bye = imap_tok_is(p, "BYE");
            if (imap_rest_text(p, 8192) < 0)
                return imap_conn_fail(c, "reading a response");
            split_resp_text(p->tok, code, sizeof code, text, sizeof text);
            if (code[0])
                absorb_code(c, code);
            uint64_t ms;
            if (bye)
                snprintf(c->bye, sizeof c->bye, "%.200s", text);
            if (bye && imap_throttle_reply(code, text, &ms))
                note_throttle(c, text, ms);
            continue;
        } else if (imap_tok_is(p, "CAPABILITY")) {
            parse_capabilities(c, p);
            if (p->error)
                return imap_conn_fail(c, "reading capabilities");
            goto done;
        }
        if (fn) {
            mp_status st = fn(ctx, c, msgno);
            if (p->error)
                return imap_conn_fail(c, "reading a response");
            if (st != MP_OK) {
                /* The handler gave up; stay in sync with the stream. */
                if (imap_skip_response(p) < 0)
                    c->broken = 1;
                return st;
            }
        }
    done:
        if (imap_skip_response(p) < 0)
            return imap_conn_fail(c, "reading a response");
    }
}

mp_status imap_cmd_send(imap_conn *c, unsigned *tag, const char *cmd)
{
    imap_str line = {0};
    *tag = ++c->next_tag;
    imap_str_addf(&line, "m%u %s\r\n", *tag, cmd);
    if (line.oom) {
        imap_str_free(&line);
        c->host->set_error(c->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    mp_status st = imap_conn_send(c, line.s, line.len);
    imap_str_free(&line);
    return st;
}

mp_status imap_cmd(imap_conn *c, const char *cmd, imap_untagged_fn fn,
                   void *ctx, int *result)
{
    unsigned tag, got;
    mp_status st = imap_cmd_send(c, &tag, cmd);
    if (st != MP_OK)
        return st;
    for (;;) {
        st = imap_wait_tagged(c, fn, ctx, &got, result);
        if (st != MP_OK)
            return st;
        if (got == tag)
            return *result != IMAP_OK && c->last_throttled
                       ? imap_conn_throttled(c, "waiting for a response")
                       : MP_OK;
        if (got == 0) { /* a continuation nobody asked for */
            c->p.error = IMAP_ERR_PROTO;
            snprintf(c->p.err, sizeof c->p.err,
                     "unexpected continuation request");
            return imap_conn_fail(c, "waiting for a response");
        }
    }
}

/* ------------------------------------------------------------------------ */

static mp_status usage(mp_host *host, const char *fmt, const char *a,
                       const char *b)
{
    host->set_error(host, MP_ERR_USAGE, fmt, a, b);
    return MP_FATAL;
}

static int is_flag_value(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 ||
                 strcmp(v, "true") == 0);
}

/* What conn_open found when no login method was in common. */
enum { MECH_FOUND, MECH_NO_XOAUTH2 };

/* The OAuth2 refresh flow's parameters (the core reads them through
 * host->secret("token")): any of them asks for auth=xoauth2. */
static int wants_oauth2(mp_host *host)
{
    static const char *const names[] = {"oauth2", "oauth2_token_url",
                                        "oauth2_client_id",
                                        "oauth2_refresh_token_file"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (host->param(host, names[i], 0))
            return 1;
    return 0;
}

/* Connect and log in; MECH, when set, replaces auth='s curl login
 * options. *NO_MECH tells the caller that auth=xoauth2 found no XOAUTH2. */
static mp_status conn_open(mp_host *host, const mp_endpoint *ep,
                           const char *mech, int *no_mech, imap_conn **out)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        host->set_error(host, MP_ERR_INTERNAL, "libcurl did not initialise");
        return MP_FATAL;
    }
    int implicit_tls = strcmp(ep->scheme, "imaps") == 0;
    const char *tls = host->param(host, "tls", 0);
    const char *cafile = host->param(host, "cafile", 0);
    const char *insecure = host->param(host, "insecure", 0);
    const char *auth = host->param(host, "auth", 0);
    const char *timeout = host->param(host, "timeout", 0);

    if (!ep->host || !*ep->host)
        return usage(host, "%s: no server host in the URL%s", ep->display, "");
    if (!ep->user || !*ep->user)
        return usage(host, "%s: no user in the URL (imap://USER@HOST)%s",
                     ep->display, "");
    int plain = 0;
    if (tls) {
        if (strcmp(tls, "none") == 0 && !implicit_tls)
            plain = 1;
        else if (strcmp(tls, "starttls") != 0 || implicit_tls)
            return usage(host,
                         "%s: tls=%s is not valid here (imap:// takes "
                         "tls=none or tls=starttls; imaps:// is always TLS)",
                         ep->display, tls);
    }
    if (insecure && !is_flag_value(insecure) && strcmp(insecure, "0") != 0)
        return usage(host, "%s: insecure=%s: use insecure=1", ep->display,
                     insecure);
    int skip_verify = is_flag_value(insecure);
    int xoauth2 = 0;
    const char *login_options = NULL;
    if (!auth && wants_oauth2(host))
        auth = "xoauth2";
    if (auth) {
        if (strcasecmp(auth, "xoauth2") == 0) {
            xoauth2 = 1;
            login_options = "AUTH=XOAUTH2";
        } else if (strcasecmp(auth, "oauthbearer") == 0) {
            xoauth2 = 1;
            login_options = "AUTH=OAUTHBEARER";
        } else if (strcasecmp(auth, "plain") == 0) {
            login_options = "AUTH=PLAIN";
        } else if (strcasecmp(auth, "login") == 0) {
            login_options = "AUTH=LOGIN";
        } else {
            return usage(host,
                         "%s: auth=%s is not supported (plain, login, "
                         "xoauth2, oauthbearer)",
                         ep->display, auth);
        }
    }
    if (mech)
        login_options = mech;
    long timeout_s = DEFAULT_TIMEOUT_S;
    if (timeout) {
        char *end;
        timeout_s = strtol(timeout, &end, 10);
        if (*end || timeout_s <= 0 || timeout_s > 86400)
            return usage(host, "%s: timeout=%s: give seconds (1..86400)",
                         ep->display, timeout);
    }

    imap_conn *c = calloc(1, sizeof *c);
    if (!c) {
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    c->host = host;
    c->timeout_ms = (int)(timeout_s * 1000);
    int port = ep->port ? ep->port : implicit_tls ? 993 : 143;
    int v6 = strchr(ep->host, ':') != NULL;
    snprintf(c->where, sizeof c->where, "%s%s%s:%d", v6 ? "[" : "", ep->host,
             v6 ? "]" : "", port);
    snprintf(c->user, sizeof c->user, "%s", ep->user);
    imap_parser_init(&c->p, net_fill, c);

    char *secret = NULL;
    char prompt[600];
    snprintf(prompt, sizeof prompt,
             "%s for %s@%s: ", xoauth2 ? "OAuth2 token" : "Password", ep->user,
             ep->host);
    mp_status st =
        host->secret(host, xoauth2 ? "token" : "password", prompt, &secret);
    if (st != MP_OK) {
        imap_conn_close(c);
        return st;
    }
    if (skip_verify)
        host->log(host, MP_LOG_WARN,
                  "%s: insecure=1: the server's TLS certificate is NOT "
                  "verified",
                  ep->display);

    CURL *h = curl_easy_init();
    c->curl = h;
    char url[400];
    _Static_assert(sizeof c->curl_error >= CURL_ERROR_SIZE,
                   "curl's error buffer size");
    char *errbuf = c->curl_error;
    snprintf(url, sizeof url, "%s://%s/", implicit_tls ? "imaps" : "imap",
             c->where);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_USERNAME, ep->user);
    curl_easy_setopt(h, CURLOPT_SASL_IR, 1L);
    if (xoauth2)
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, secret);
    else
        curl_easy_setopt(h, CURLOPT_PASSWORD, secret);
    if (login_options)
        curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, login_options);
    if (!implicit_tls)
        curl_easy_setopt(h, CURLOPT_USE_SSL,
                         plain ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
    if (cafile)
        curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
    if (skip_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, c);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    if (!implicit_tls) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, greeting_watch);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }

    CURLcode rc = curl_easy_perform(h);

    /* The secret is no longer needed: wipe curl's copy and ours. */
    curl_easy_setopt(h, CURLOPT_VERBOSE, 0L);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, NULL);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, NULL);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, NULL);
    curl_easy_setopt(h, CURLOPT_PASSWORD, "");
    curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, NULL);
    host->secret_free(host, secret);

    if (rc != CURLE_OK) {
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        const char *words = refusal_words(c->login_line);
        if (c->speaks_tls) {
            host->set_error(host, MP_ERR_CONNECT,
                            "%s speaks TLS from the start (implicit TLS) and "
                            "sent no IMAP greeting: use imaps%s",
                            c->where, after_scheme(ep->display));
        } else if (implicit_tls && rc == CURLE_SSL_CONNECT_ERROR &&
                   port_speaks_plain_imap(c->where)) {
            host->set_error(host, MP_ERR_CONNECT,
                            "%s speaks plain IMAP (STARTTLS), not implicit "
                            "TLS: use imap%s (TLS is still required, through "
                            "STARTTLS)",
                            c->where, after_scheme(ep->display));
        } else if (rc == CURLE_LOGIN_DENIED && words &&
                   refused_for_limit(words)) {
            host->set_error(host, MP_ERR_LIMIT,
                            "%s refused one more connection for %s (too many "
                            "at once): %s",
                            c->where, ep->user, words);
        } else if (rc == CURLE_LOGIN_DENIED && words) {
            host->set_error(host, MP_ERR_AUTH, "login refused for %s at %s: %s",
                            ep->user, c->where, words);
        } else if (rc == CURLE_LOGIN_DENIED && c->challenged && xoauth2) {
            /* XOAUTH2's refusal is a challenge (RFC 7628's error JSON)
             * curl does not answer. */
            host->set_error(host, MP_ERR_AUTH,
                            "login refused for %s at %s: the server refused "
                            "the OAuth2 access token",
                            ep->user, c->where);
        } else if (rc == CURLE_LOGIN_DENIED) {
            /* No refusal seen: curl found no mechanism in common. */
            if (!mech && strcasecmp(auth ? auth : "", "xoauth2") == 0)
                *no_mech = MECH_NO_XOAUTH2;
            host->set_error(host, MP_ERR_AUTH,
                            "cannot log in as %s at %s: the server offers no "
                            "login method%s%s%s that can be used",
                            ep->user, c->where, auth ? " (auth=" : "",
                            auth ? auth : "", auth ? ")" : "");
        } else if (rc == CURLE_PEER_FAILED_VERIFICATION) {
            host->set_error(host, MP_ERR_CONNECT,
                            "TLS certificate of %s not trusted: %s (use "
                            "cafile=FILE to trust its CA)",
                            c->where, why);
        } else if (rc == CURLE_USE_SSL_FAILED) {
            host->set_error(host, MP_ERR_CONNECT,
                            "%s does not offer STARTTLS (use imaps://, or "
                            "tls=none to send the password in clear text)",
                            c->where);
        } else {
            host->set_error(host, MP_ERR_CONNECT, "cannot connect to %s: %s",
                            c->where, why);
        }
        c->broken = 1;
        imap_conn_close(c);
        return MP_FATAL;
    }
    curl_socket_t sock = CURL_SOCKET_BAD;
    curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock);
    if (sock == CURL_SOCKET_BAD) {
        host->set_error(host, MP_ERR_CONNECT, "cannot connect to %s: no socket",
                        c->where);
        c->broken = 1;
        imap_conn_close(c);
        return MP_FATAL;
    }
    c->sock = (long)sock;

    /* curl consumed the post-login capabilities: ask again. */
    int result;
    st = imap_cmd(c, "CAPABILITY", NULL, NULL, &result);
    if (st == MP_OK && result != IMAP_OK) {
        host->set_error(host, MP_ERR_PROTOCOL, "%s refused CAPABILITY: %s",
                        c->where, c->last_text);
        st = MP_FATAL;
    }
    if (st != MP_OK) {
        imap_conn_close(c);
        return MP_FATAL;
    }
    *out = c;
    return MP_OK;
}

mp_status imap_conn_open(mp_host *host, const mp_endpoint *ep, imap_conn **out)
{
    int no_mech = MECH_FOUND;
    mp_status st = conn_open(host, ep, NULL, &no_mech, out);
    /* A server that offers OAUTHBEARER (RFC 7628) and not XOAUTH2 takes the
     * same token through it. */
    if (st != MP_OK && no_mech == MECH_NO_XOAUTH2)
        st = conn_open(host, ep, "AUTH=OAUTHBEARER", &no_mech, out);
    return st;
}

void imap_conn_close(imap_conn *c)
{
    if (!c)
        return;
    if (c->curl && !c->broken && c->sock) {
        int result;
        c->timeout_ms = 5000;
        c->closing = 1;
        /* A failure here changes nothing: the store is going away. Keep
         * the host's error as the caller left it. */
        unsigned tag;
        if (imap_cmd_send(c, &tag, "LOGOUT") == MP_OK) {
            unsigned got;
            while (!c->broken &&
                   imap_wait_tagged(c, NULL, NULL, &got, &result) == MP_OK &&
                   got != tag)
                ;
        }
    }
    if (c->curl)
        curl_easy_cleanup(c->curl);
    imap_parser_free(&c->p);
    free(c->permflags);
    free(c);
}
