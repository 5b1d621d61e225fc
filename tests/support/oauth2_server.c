#include "oauth2_server.h"

#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_TOKENS 512

struct mp_oauth2_server {
    mp_oauth2_server_opts o;
    int listen_fd, port;
    int stop_pipe[2];
    pthread_t thread;
    pthread_mutex_t lock;
    char *refresh; /* the refresh token accepted now */
    int refuse;
    int refreshes, inactive, serial;
    struct {
        char *token;
        double expires;
    } access[MAX_TOKENS];
    int n_access;
    char *issued[2 * MAX_TOKENS];
    int n_issued;
    /* With opts.tls: the certificate's directory, its context, and the
     * TLS handshakes begun and failed. */
    char *tls_dir;
    SSL_CTX *ctx;
    int handshakes, handshakes_failed;
};

/* One client connection, over TLS when SSL is set. */
typedef struct conn {
    int fd;
    SSL *ssl;
} conn;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The value of form field NAME in BODY (malloc'd, %xx and + decoded). */
static char *form_field(const char *body, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '&'), p = p ? p + 1 : p) {
        if (strncmp(p, name, n) != 0 || p[n] != '=')
            continue;
        const char *v = p + n + 1;
        size_t len = strcspn(v, "&");
        char *out = malloc(len + 1), *q = out;
        for (size_t i = 0; i < len; i++) {
            if (v[i] == '+') {
                *q++ = ' ';
            } else if (v[i] == '%' && i + 2 < len) {
                char hex[3] = {v[i + 1], v[i + 2], 0};
                *q++ = (char)strtol(hex, NULL, 16);
                i += 2;
            } else {
                *q++ = v[i];
            }
        }
        *q = '\0';
        return out;
    }
    return NULL;
}

static void send_all(conn *c, const char *text)
{
    for (size_t off = 0, n = strlen(text); off < n;) {
        if (c->ssl) {
            int w = SSL_write(c->ssl, text + off, (int)(n - off));
            if (w <= 0)
                return;
            off += (size_t)w;
            continue;
        }
        ssize_t w = send(c->fd, text + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

static void reply(conn *fd, int code, const char *json)
{
    char *r =
        mp_strf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                code, code == 200 ? "OK" : "Bad Request", strlen(json), json);
    send_all(fd, r);
    free(r);
}

static char *new_token(mp_oauth2_server *s, const char *kind)
{
    char *t = mp_strf("%s-%d-%08x%08x", kind, ++s->serial, (unsigned)rand(),
                      (unsigned)rand());
    if (s->n_issued < 2 * MAX_TOKENS)
        s->issued[s->n_issued++] = strdup(t);
    return t;
}

static void token_request(mp_oauth2_server *s, conn *fd, const char *body)
{
    char *grant = form_field(body, "grant_type");
    char *rt = form_field(body, "refresh_token");
    char *id = form_field(body, "client_id");
    char *secret = form_field(body, "client_secret");
    pthread_mutex_lock(&s->lock);
    if (s->ctx && !fd->ssl) {
        reply(fd, 400,
              "{\"error\":\"invalid_request\",\"error_description\":"
              "\"this token endpoint speaks https only\"}");
    } else if (!grant || strcmp(grant, "refresh_token") != 0) {
        reply(fd, 400, "{\"error\":\"unsupported_grant_type\"}");
    } else if (!id || strcmp(id, s->o.client_id) != 0 ||
               (s->o.client_secret &&
                (!secret || strcmp(secret, s->o.client_secret) != 0))) {
        reply(fd, 401,
              "{\"error\":\"invalid_client\",\"error_description\":"
              "\"Client authentication failed\"}");
    } else if (s->refuse || !rt || strcmp(rt, s->refresh) != 0) {
        reply(fd, 400,
              "{\"error\":\"invalid_grant\",\"error_description\":"
              "\"Token has been expired or revoked.\"}");
    } else {
        char *at = new_token(s, "at");
        if (s->n_access < MAX_TOKENS) {
            s->access[s->n_access].token = strdup(at);
            s->access[s->n_access].expires = now_s() + s->o.lifetime_s;
            s->n_access++;
        }
        int claim =
            s->o.expires_in ? s->o.expires_in : (int)(s->o.lifetime_s + 0.999);
        char *rotated = strdup("");
        if (s->o.rotate) {
            free(s->refresh);
            s->refresh = new_token(s, "rt");
            free(rotated);
            rotated = mp_strf(",\"refresh_token\":\"%s\"", s->refresh);
        }
        char *json = mp_strf("{\"access_token\":\"%s\",\"token_type\":"
                             "\"Bearer\",\"expires_in\":%d%s}",
                             at, claim, rotated);
        s->refreshes++;
        reply(fd, 200, json);
        free(json);
        free(rotated);
        free(at);
    }
    pthread_mutex_unlock(&s->lock);
    free(grant);
    free(rt);
    free(id);
    free(secret);
}

static void introspect(mp_oauth2_server *s, conn *fd, const char *body)
{
    char *t = form_field(body, "token");
    pthread_mutex_lock(&s->lock);
    int active = 0;
    double now = now_s();
    for (int i = 0; t && i < s->n_access; i++)
        if (strcmp(s->access[i].token, t) == 0)
            active = now < s->access[i].expires;
    if (!active)
        s->inactive++;
    pthread_mutex_unlock(&s->lock);
    char *json =
        active ? mp_strf("{\"active\":true,\"username\":\"%s\"}", s->o.user)
               : strdup("{\"active\":false}");
    reply(fd, 200, json);
    free(json);
    free(t);
}

/* One request per connection: headers, then Content-Length bytes. Reads
 * time out after 5 s (SO_RCVTIMEO). */
static void serve(mp_oauth2_server *s, conn *fd)
{
    char buf[16384];
    size_t len = 0;
    char *body = NULL;
    size_t want = 0;
    for (;;) {
        ssize_t n =
            fd->ssl ? SSL_read(fd->ssl, buf + len, (int)(sizeof buf - 1 - len))
                    : recv(fd->fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        body = end + 4;
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        want = cl ? strtoul(cl + 17, NULL, 10) : 0;
        if ((size_t)(buf + len - body) >= want || len == sizeof buf - 1)
            break;
    }
    body[want < (size_t)(buf + len - body) ? want
                                           : (size_t)(buf + len - body)] = '\0';
    if (strncmp(buf, "POST /token ", 12) == 0)
        token_request(s, fd, body);
    else if (strncmp(buf, "POST /introspect", 16) == 0)
        introspect(s, fd, body);
    else
        reply(fd, 404, "{\"error\":\"not_found\"}");
}

static void *run(void *arg)
{
    mp_oauth2_server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{s->listen_fd, POLLIN, 0},
                              {s->stop_pipe[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        conn c = {fd, NULL};
        /* A TLS client begins with a handshake record (0x16); plain HTTP
         * (Dovecot's introspection) with a method name. */
        unsigned char first = 0;
        if (s->ctx && recv(fd, &first, 1, MSG_PEEK) == 1 && first == 0x16) {
            pthread_mutex_lock(&s->lock);
            s->handshakes++;
            pthread_mutex_unlock(&s->lock);
            c.ssl = SSL_new(s->ctx);
            SSL_set_fd(c.ssl, fd);
            if (SSL_accept(c.ssl) != 1) {
                pthread_mutex_lock(&s->lock);
                s->handshakes_failed++;
                pthread_mutex_unlock(&s->lock);
                ERR_clear_error();
                SSL_free(c.ssl);
                close(fd);
                continue;
            }
        }
        serve(s, &c);
        if (c.ssl) {
            SSL_shutdown(c.ssl);
            SSL_free(c.ssl);
        }
        close(fd);
    }
    return NULL;
}

mp_oauth2_server *mp_oauth2_server_start(const mp_oauth2_server_opts *o)
{
    mp_oauth2_server *s = calloc(1, sizeof *s);
    s->o = *o;
    s->refresh = strdup(o->refresh_token);
    if (s->n_issued < 2 * MAX_TOKENS)
        s->issued[s->n_issued++] = strdup(o->refresh_token);
    pthread_mutex_init(&s->lock, NULL);
    if (o->tls) {
        /* A certificate of its own for 127.0.0.1, self-signed: it is its
         * own CA (mp_oauth2_server_ca_file). */
        s->tls_dir = mp_tmpdir("oauth2-tls");
        mp_test_certificate(s->tls_dir, "127.0.0.1");
        char *cert = mp_strf("%s/cert.pem", s->tls_dir);
        char *key = mp_strf("%s/key.pem", s->tls_dir);
        s->ctx = SSL_CTX_new(TLS_server_method());
        if (!s->ctx ||
            SSL_CTX_use_certificate_file(s->ctx, cert, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1)
            fail_msg("oauth2 server: cannot load %s", cert);
        free(cert);
        free(key);
    }
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listen_fd >= 0);
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->listen_fd, 16) != 0)
        fail_msg("oauth2 server: bind/listen: %s", strerror(errno));
    socklen_t al = sizeof a;
    getsockname(s->listen_fd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pipe(s->stop_pipe), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, run, s), 0);
    return s;
}

void mp_oauth2_server_stop(mp_oauth2_server *s)
{
    if (!s)
        return;
    if (write(s->stop_pipe[1], "x", 1) != 1)
        fail_msg("oauth2 server: cannot stop");
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    for (int i = 0; i < s->n_access; i++)
        free(s->access[i].token);
    for (int i = 0; i < s->n_issued; i++)
        free(s->issued[i]);
    free(s->refresh);
    if (s->ctx)
        SSL_CTX_free(s->ctx);
    if (s->tls_dir) {
        mp_rm_rf(s->tls_dir);
        free(s->tls_dir);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int mp_oauth2_server_port(const mp_oauth2_server *s)
{
    return s->port;
}

char *mp_oauth2_server_token_url(const mp_oauth2_server *s)
{
    return mp_strf("%s://127.0.0.1:%d/token", s->ctx ? "https" : "http",
                   s->port);
}

char *mp_oauth2_server_ca_file(const mp_oauth2_server *s)
{
    assert_non_null(s->tls_dir);
    return mp_strf("%s/cert.pem", s->tls_dir);
}

int mp_oauth2_server_handshakes(mp_oauth2_server *s, int *failed)
{
    pthread_mutex_lock(&s->lock);
    int n = s->handshakes;
    *failed = s->handshakes_failed;
    pthread_mutex_unlock(&s->lock);
    return n;
}

char *mp_oauth2_server_introspect_url(const mp_oauth2_server *s)
{
    return mp_strf("http://127.0.0.1:%d/introspect", s->port);
}

int mp_oauth2_server_refreshes(mp_oauth2_server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->refreshes;
    pthread_mutex_unlock(&s->lock);
    return n;
}

int mp_oauth2_server_inactive(mp_oauth2_server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->inactive;
    pthread_mutex_unlock(&s->lock);
    return n;
}

char *mp_oauth2_server_refresh_token(mp_oauth2_server *s)
{
    pthread_mutex_lock(&s->lock);
    char *t = strdup(s->refresh);
    pthread_mutex_unlock(&s->lock);
    return t;
}

char *mp_oauth2_server_issued(mp_oauth2_server *s)
{
    pthread_mutex_lock(&s->lock);
    size_t total = 1;
    for (int i = 0; i < s->n_issued; i++)
        total += strlen(s->issued[i]) + 1;
    char *all = malloc(total), *q = all;
    for (int i = 0; i < s->n_issued; i++) {
        size_t n = strlen(s->issued[i]) + 1;
        memcpy(q, s->issued[i], n);
        q += n;
    }
    *q = '\0';
    pthread_mutex_unlock(&s->lock);
    return all;
}

void mp_oauth2_server_refuse(mp_oauth2_server *s)
{
    pthread_mutex_lock(&s->lock);
    s->refuse = 1;
    pthread_mutex_unlock(&s->lock);
}

const char *mp_oauth2_pairs_lookup(void *ctx, const char *name)
{
    const mp_oauth2_pairs *k = ctx;
    for (size_t i = 0; k->pairs[i]; i += 2)
        if (strcmp(k->pairs[i], name) == 0)
            return k->pairs[i + 1];
    return NULL;
}
