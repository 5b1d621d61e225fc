/* The OAuth2 refresh-token flow (issue 9.6), through the binary, against a
 * real Dovecot whose oauth2 passdb checks every access token with a token
 * and introspection server of the test's own on loopback
 * (tests/support/oauth2_server.h):
 * - copies into and out of IMAP with auth=xoauth2 and the oauth2_*
 *   parameters, the rotated refresh token written back (mode 0600);
 * - access tokens that expire during a run whose connection is cut (the
 *   retry logs in again): refreshed before they expire, and again when the
 *   server refuses one that was thought valid; every message once;
 * - OAUTHBEARER on a server that offers it and not XOAUTH2;
 * - a refused refresh token (invalid_grant, exit 3) and a missing
 *   parameter (exit 2, nothing asked of anyone);
 * - no token or secret in stdout, stderr, the report or the state;
 * - the token endpoint over https: a certificate not trusted (exit 3, the
 *   endpoint and the TLS failure named), and trusted through
 *   oauth2_token_cafile= (the copy completes). */
#include "testutil.h"

#include "dovecot.h"
#include "oauth2.h"
#include "oauth2_server.h"
#include "secret.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USER "olga"
#define CLIENT_ID "mailport-test.apps"
#define CLIENT_SECRET "cs-Zq81hidden"
#define FIRST_REFRESH "rt-0-firstrefreshtoken"

static char *work;

static int setup(void **state)
{
    (void)state;
    work = mp_tmpdir("imap-oauth2");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(work);
    free(work);
    return 0;
}

typedef struct env {
    mp_oauth2_server *auth;
    mp_dovecot *dv;
    char *refresh_file, *secret_file;
} env;

/* The running test's server, whose log a failure shows. */
static mp_dovecot *current;

/* The token server (its token endpoint over https when TLS), and Dovecot
 * asking it (introspection over plain http). */
static env start_with(double lifetime, int expires_in, int rotate,
                      int bearer_only, int tls)
{
    env e;
    mp_oauth2_server_opts so = {.tls = tls,
                                .user = USER,
                                .client_id = CLIENT_ID,
                                .client_secret = CLIENT_SECRET,
                                .refresh_token = FIRST_REFRESH,
                                .lifetime_s = lifetime,
                                .expires_in = expires_in,
                                .rotate = rotate};
    e.auth = mp_oauth2_server_start(&so);
    char *introspect = mp_oauth2_server_introspect_url(e.auth);
    mp_dovecot_opts o = {.oauth2_introspection_url = introspect,
                         .oauth2_bearer_only = bearer_only};
    e.dv = mp_dovecot_start_opts(&o);
    current = e.dv;
    free(introspect);
    /* A password too, for the test's own look at the server. */
    mp_dovecot_add_user(e.dv, USER, "pw-for-the-test");
    e.refresh_file = mp_strf("%s/refresh.token", work);
    mp_write_file(e.refresh_file, FIRST_REFRESH "\n",
                  strlen(FIRST_REFRESH) + 1);
    chmod(e.refresh_file, 0600);
    e.secret_file = mp_strf("%s/client.secret", work);
    mp_write_file(e.secret_file, CLIENT_SECRET, strlen(CLIENT_SECRET));
    chmod(e.secret_file, 0600);
    return e;
}

static env start(double lifetime, int expires_in, int rotate, int bearer_only)
{
    return start_with(lifetime, expires_in, rotate, bearer_only, 0);
}

static void stop(env *e)
{
    current = NULL;
    mp_dovecot_stop(e->dv);
    mp_oauth2_server_stop(e->auth);
    free(e->refresh_file);
    free(e->secret_file);
}

/* The IMAP URL with the refresh flow's parameters, to PORT (0: Dovecot's
 * own), with EXTRA appended. */
static char *oauth_url(env *e, int port, const char *extra)
{
    char *token_url = mp_oauth2_server_token_url(e->auth);
    char *u = mp_strf(
        "imap://%s@127.0.0.1:%d?tls=none&auth=xoauth2&oauth2_token_url=%s"
        "&oauth2_client_id=%s&oauth2_client_secret_file=%s"
        "&oauth2_refresh_token_file=%s%s",
        USER, port ? port : mp_dovecot_port(e->dv), token_url, CLIENT_ID,
        e->secret_file, e->refresh_file, extra ? extra : "");
    free(token_url);
    return u;
}

static void put_msg(const char *dir, int n)
{
    const char *sub[] = {"", "/cur", "/new", "/tmp"};
    for (int i = 0; i < 4; i++) {
        char *d = mp_strf("%s%s", dir, sub[i]);
        mkdir(d, 0700);
        free(d);
    }
    char *path = mp_strf("%s/cur/1700000000.M%dP1.test:2,S", dir, n);
    char *text = mp_strf("Message-ID: <oauth-%d@test>\nSubject: message %d\n"
                         "\nbody %d\n",
                         n, n, n);
    mp_write_file(path, text, strlen(text));
    free(text);
    free(path);
}

static char *make_maildir(const char *name, int count)
{
    char *dir = mp_strf("%s/%s", work, name);
    for (int i = 1; i <= count; i++)
        put_msg(dir, i);
    return dir;
}

/* Message-IDs "<oauth-N@test>" in the files of DIR/cur and DIR/new: each
 * of FIRST..COUNT exactly once, no other. */
static void assert_range_once(const char *dir, int first, int count)
{
    int *seen = calloc((size_t)count + 1, sizeof *seen);
    int files = 0;
    const char *sub[] = {"cur", "new"};
    for (int k = 0; k < 2; k++) {
        char *d = mp_strf("%s/%s", dir, sub[k]);
        DIR *dh = opendir(d);
        for (struct dirent *de; dh && (de = readdir(dh));) {
            if (de->d_name[0] == '.')
                continue;
            char *path = mp_strf("%s/%s", d, de->d_name);
            char *text = mp_read_file(path, NULL);
            const char *m = strstr(text, "<oauth-");
            int n = m ? atoi(m + 7) : 0;
            if (n < first || n > count)
                fail_msg("%s: not one of the messages", path);
            seen[n]++;
            files++;
            free(text);
            free(path);
        }
        if (dh)
            closedir(dh);
        free(d);
    }
    for (int n = first; n <= count; n++)
        if (seen[n] != 1)
            fail_msg("%s: message %d found %d times (%d files)", dir, n,
                     seen[n], files);
    free(seen);
}

static void assert_each_once(const char *dir, int count)
{
    assert_range_once(dir, 1, count);
}

/* None of the tokens the server issued, nor the client secret, in the
 * LEN bytes at DATA (WHAT names them in the failure). */
static void assert_no_secret(env *e, const char *what, const char *data,
                             size_t len)
{
    char *all = mp_oauth2_server_issued(e->auth);
    for (const char *t = all; *t; t += strlen(t) + 1)
        if (memmem(data, len, t, strlen(t)))
            fail_msg("a token (%s) appears in %s:\n%.*s", t, what, (int)len,
                     data);
    if (memmem(data, len, CLIENT_SECRET, strlen(CLIENT_SECRET)))
        fail_msg("the client secret appears in %s", what);
    free(all);
}

static void assert_no_secret_in_run(env *e, const mp_run_result *r)
{
    assert_no_secret(e, "stdout", r->out, strlen(r->out));
    assert_no_secret(e, "stderr", r->err, strlen(r->err));
}

static void assert_no_secret_in_file(env *e, const char *path)
{
    size_t len;
    char *data = mp_read_file(path, &len);
    assert_no_secret(e, path, data, len);
    free(data);
}

/* The refresh-token file holds the token the server accepts now, 0600. */
static void assert_refresh_file_current(env *e)
{
    char *now = mp_oauth2_server_refresh_token(e->auth);
    char *file = mp_read_file(e->refresh_file, NULL);
    char *want = mp_strf("%s\n", now);
    assert_string_equal(file, want);
    struct stat st;
    assert_int_equal(stat(e->refresh_file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(now);
    free(file);
    free(want);
}

static void expect_exit(const mp_run_result *r, int code)
{
    if (r->exit_code != code) {
        /* cmocka cuts long messages: the whole output first */
        fprintf(stderr, "stdout:\n%s\nstderr:\n%s\n", r->out, r->err);
        if (current) {
            char *log = mp_read_file(mp_dovecot_log_path(current), NULL);
            fprintf(stderr, "dovecot's log:\n%s\n", log);
            free(log);
        }
        fail_msg("exit %d (expected %d); stdout:\n%s\nstderr:\n%s",
                 r->exit_code, code, r->out, r->err);
    }
}

/* Into IMAP and back out, the refresh token rotated at each refresh. */
static void test_copy_in_and_out(void **state)
{
    (void)state;
    env e = start(30, 0, 1, 0);
    char *src = make_maildir("in", 12);
    char *work_dir = mp_strf("%s/.Work", src);
    for (int i = 13; i <= 20; i++)
        put_msg(work_dir, i);
    char *src_url = mp_strf("maildir:%s", src);
    char *dst = oauth_url(&e, 0, NULL);
    char *report = mp_strf("%s/in.json", work);
    char *st = mp_strf("%s/in.db", work);
    mp_run_result r = mp_run("copy", "-vv", src_url, dst, "--state", st,
                             "--report", report, (char *)NULL);
    expect_exit(&r, 0);
    assert_contains(r.err, "OAuth2: new access token");
    assert_no_secret_in_run(&e, &r);
    mp_run_free(&r);
    assert_no_secret_in_file(&e, report);
    assert_no_secret_in_file(&e, st);
    char *md = mp_dovecot_maildir(e.dv, USER);
    assert_each_once(md, 12);
    char *md_work = mp_strf("%s/.Work", md);
    assert_range_once(md_work, 13, 20);
    free(md_work);
    assert_int_equal(mp_oauth2_server_refreshes(e.auth), 1);
    assert_refresh_file_current(&e);

    /* Out again, with the rotated refresh token from the file. */
    char *out = mp_strf("%s/out", work);
    char *out_url = mp_strf("maildir:%s", out);
    char *report2 = mp_strf("%s/out.json", work);
    char *st2 = mp_strf("%s/out.db", work);
    /* Two workers, one for each folder: they share one token. */
    r = mp_run("copy", "-v", dst, out_url, "--state", st2, "--report", report2,
               "--jobs", "2", (char *)NULL);
    expect_exit(&r, 0);
    assert_no_secret_in_run(&e, &r);
    mp_run_free(&r);
    assert_no_secret_in_file(&e, report2);
    assert_no_secret_in_file(&e, st2);
    assert_each_once(out, 12);
    char *out_work = mp_strf("%s/.Work", out);
    assert_range_once(out_work, 13, 20);
    free(out_work);
    assert_int_equal(mp_oauth2_server_refreshes(e.auth), 2);
    assert_refresh_file_current(&e);

    r = mp_run("verify", src_url, dst, (char *)NULL);
    expect_exit(&r, 0);
    assert_no_secret_in_run(&e, &r);
    mp_run_free(&r);
    stop(&e);
    free(src);
    free(work_dir);
    free(src_url);
    free(dst);
    free(report);
    free(st);
    free(md);
    free(out);
    free(out_url);
    free(report2);
    free(st2);
}

/* A run of about six seconds with tokens that live 3 s and a connection
 * cut after the first ~2 s: the retry logs in again with a new token.
 * EXPIRES_IN 0: the endpoint says how long tokens live, so the client
 * refreshes before the expiry; 3600: it claims an hour, the server refuses
 * the cached token at the new login, and the core asks for a new one and
 * logs in again. */
static void run_expiring(int expires_in)
{
    env e = start(3, expires_in, 1, 0);
    const int count = 60;
    char *src = make_maildir(expires_in ? "revoked" : "expiring", count);
    char *src_url = mp_strf("maildir:%s", src);
    /* Single APPENDs at 10/s: the cut comes after some 20-30 answers. */
    mp_tcp_proxy *px = mp_proxy_start(mp_dovecot_port(e.dv), 2500, NULL, NULL);
    char *dst = oauth_url(&e, mp_proxy_port(px), "&multiappend=0");
    char *report = mp_strf("%s/expiring.json", work);
    char *st = mp_strf("%s/expiring.db", work);
    mp_run_result r =
        mp_run("copy", "-v", src_url, dst, "--state", st, "--report", report,
               "--max-messages-per-second", "10", (char *)NULL);
    expect_exit(&r, 0);
    assert_int_equal(mp_proxy_cuts(px), 1);
    assert_contains(r.err, "lost");
    if (expires_in)
        assert_contains(r.err, "refused the OAuth2 access token");
    assert_no_secret_in_run(&e, &r);
    mp_run_free(&r);
    assert_no_secret_in_file(&e, report);
    assert_no_secret_in_file(&e, st);
    char *json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), count);
    free(json);
    char *md = mp_dovecot_maildir(e.dv, USER);
    assert_each_once(md, count);
    if (mp_oauth2_server_refreshes(e.auth) < 2)
        fail_msg("%d refreshes, expected at least 2",
                 mp_oauth2_server_refreshes(e.auth));
    if (expires_in && mp_oauth2_server_inactive(e.auth) < 1)
        fail_msg("no expired token was shown to the server");
    /* Told how long tokens live, the client never shows an expired one. */
    if (!expires_in)
        assert_int_equal(mp_oauth2_server_inactive(e.auth), 0);
    assert_refresh_file_current(&e);
    mp_proxy_stop(px);
    stop(&e);
    free(src);
    free(src_url);
    free(dst);
    free(report);
    free(st);
    free(md);
}

static void test_refreshed_before_expiry(void **state)
{
    (void)state;
    run_expiring(0);
}

static void test_refused_token_refreshed(void **state)
{
    (void)state;
    run_expiring(3600);
}

/* A server offering OAUTHBEARER and not XOAUTH2: auth=xoauth2 logs in
 * through OAUTHBEARER with the same token. */
static void test_oauthbearer(void **state)
{
    (void)state;
    env e = start(30, 0, 0, 1);
    char *src = make_maildir("bearer", 3);
    char *src_url = mp_strf("maildir:%s", src);
    char *dst = oauth_url(&e, 0, NULL);
    mp_run_result r = mp_run("copy", src_url, dst, "--no-state", (char *)NULL);
    expect_exit(&r, 0);
    assert_no_secret_in_run(&e, &r);
    mp_run_free(&r);
    char *md = mp_dovecot_maildir(e.dv, USER);
    assert_each_once(md, 3);
    char *log = mp_read_file(mp_dovecot_log_path(e.dv), NULL);
    assert_contains(log, "method=OAUTHBEARER");
    free(log);
    stop(&e);
    free(src);
    free(src_url);
    free(dst);
    free(md);
}

/* The endpoint refuses the refresh token: the error says so with the
 * endpoint's words and the fix, exit 3, and nothing secret is shown. */
static void test_invalid_grant(void **state)
{
    (void)state;
    env e = start(30, 0, 0, 0);
    mp_oauth2_server_refuse(e.auth);
    char *src = make_maildir("refused", 2);
    char *src_url = mp_strf("maildir:%s", src);
    char *dst = oauth_url(&e, 0, NULL);
    mp_run_result r = mp_run("copy", src_url, dst, "--no-state", (char *)NULL);
    expect_exit(&r, 3);
    char *want = mp_strf("the refresh token in %s was refused (invalid_grant: "
                         "Token has been expired or revoked.): get a new one",
                         e.refresh_file);
    assert_contains(r.err, want);
    assert_no_secret_in_run(&e, &r);
    mp_run_free(&r);
    free(want);
    /* The client secret is wrong: the client is named, not the token. */
    mp_write_file(e.secret_file, "wrong", 5);
    r = mp_run("copy", src_url, dst, "--no-state", (char *)NULL);
    expect_exit(&r, 3);
    assert_contains(r.err, "the OAuth2 client was refused (invalid_client: "
                           "Client authentication failed): check "
                           "oauth2_client_id=");
    mp_run_free(&r);
    stop(&e);
    free(src);
    free(src_url);
    free(dst);
}

/* Copy SRC_URL to imap://USER@Dovecot?tls=none&QUERY (a "%s" in QUERY
 * stands for the refresh-token file): exit CODE, WANT on stderr. */
static void expect_refused(env *e, const char *src_url, const char *query,
                           int code, const char *want)
{
    char *q = mp_strf(query, e->refresh_file);
    char *url = mp_strf("imap://%s@127.0.0.1:%d?tls=none&%s", USER,
                        mp_dovecot_port(e->dv), q);
    mp_run_result r = mp_run("copy", src_url, url, "--no-state", (char *)NULL);
    expect_exit(&r, code);
    if (want)
        assert_contains(r.err, want);
    assert_no_secret_in_run(e, &r);
    mp_run_free(&r);
    free(url);
    free(q);
}

/* Usage errors: exit 2 before anything is asked of the token endpoint or
 * the IMAP server; an unreachable endpoint: exit 3. */
static void test_usage_errors(void **state)
{
    (void)state;
    env e = start(30, 0, 0, 0);
    char *src = make_maildir("usage", 1);
    char *src_url = mp_strf("maildir:%s", src);
    expect_refused(&e, src_url,
                   "auth=xoauth2&oauth2=google&oauth2_refresh_token_file=%s", 2,
                   "the OAuth2 refresh needs oauth2_client_id=ID");
    expect_refused(&e, src_url, "oauth2=microsoft&oauth2_client_id=x", 2,
                   "the OAuth2 refresh needs oauth2_refresh_token_file=FILE");
    expect_refused(&e, src_url,
                   "oauth2_client_id=x&oauth2_token_url=http://example.com/t"
                   "&oauth2_refresh_token_file=%s",
                   2, "give an https:// URL");
    expect_refused(&e, src_url,
                   "oauth2=google&oauth2_client_id=x&token_file=/dev/null"
                   "&oauth2_refresh_token_file=%s",
                   2, "give token_file= or the oauth2_ parameters");
    expect_refused(&e, src_url,
                   "auth=plain&oauth2=google&oauth2_client_id=x"
                   "&oauth2_refresh_token_file=%s",
                   2, "the oauth2_ parameters go with auth=xoauth2");
    assert_int_equal(mp_oauth2_server_refreshes(e.auth), 0);
    assert_int_equal(mp_dovecot_count_commands(e.dv, USER, "APPEND"), 0);
    /* Nobody listens at the token endpoint. */
    expect_refused(&e, src_url,
                   "oauth2_client_id=x&oauth2_token_url=http://127.0.0.1:1/t"
                   "&oauth2_refresh_token_file=%s",
                   3,
                   "cannot reach the OAuth2 token endpoint "
                   "http://127.0.0.1:1/t");
    stop(&e);
    free(src);
    free(src_url);
}

/* The token endpoint over https with a certificate no CA of the system
 * vouches for, and no oauth2_token_cafile=: the client refuses it in the
 * TLS handshake, before any secret is sent. The error names the endpoint
 * and the verification failure and says what to give; exit 3, as for
 * every token endpoint failure; nothing copied; no secret shown. */
static void test_https_endpoint_untrusted(void **state)
{
    (void)state;
    env e = start_with(30, 0, 0, 0, 1);
    char *src = make_maildir("untrusted", 2);
    char *src_url = mp_strf("maildir:%s", src);
    char *dst = oauth_url(&e, 0, NULL);
    char *token_url = mp_oauth2_server_token_url(e.auth);
    assert_true(strncmp(token_url, "https://127.0.0.1:", 18) == 0);
    char *report = mp_strf("%s/untrusted.json", work);
    mp_run_result r = mp_run("copy", src_url, dst, "--no-state", "--report",
                             report, "-v", (char *)NULL);
    expect_exit(&r, 3);
    char *want = mp_strf("the TLS certificate of the OAuth2 token endpoint %s "
                         "could not be verified: ",
                         token_url);
    assert_contains(r.err, want);
    assert_contains(r.err, "certificate");
    assert_contains(r.err, "(for a private CA, name its certificate with "
                           "oauth2_token_cafile=FILE)");
    assert_no_secret_in_run(&e, &r);
    mp_run_free(&r);
    assert_no_secret_in_file(&e, report);
    /* The handshake began and failed: no request, no token, no APPEND. */
    int failed = 0;
    assert_true(mp_oauth2_server_handshakes(e.auth, &failed) >= 1);
    assert_true(failed >= 1);
    assert_int_equal(mp_oauth2_server_refreshes(e.auth), 0);
    assert_int_equal(mp_dovecot_count_commands(e.dv, USER, "APPEND"), 0);
    stop(&e);
    free(report);
    free(want);
    free(token_url);
    free(dst);
    free(src_url);
    free(src);
}

/* The same endpoint trusted through oauth2_token_cafile=: the copy into
 * Dovecot completes, each message once, with every refresh over TLS (the
 * server refuses token requests over plain http) and the rotated refresh
 * token written back; no secret shown. */
static void test_https_copy_with_cafile(void **state)
{
    (void)state;
    env e = start_with(30, 0, 1, 0, 1);
    char *src = make_maildir("https", 3);
    char *src_url = mp_strf("maildir:%s", src);
    char *ca = mp_oauth2_server_ca_file(e.auth);
    char *extra = mp_strf("&oauth2_token_cafile=%s", ca);
    char *dst = oauth_url(&e, 0, extra);
    char *report = mp_strf("%s/https.json", work);
    mp_run_result r = mp_run("copy", src_url, dst, "--no-state", "--report",
                             report, "-v", (char *)NULL);
    expect_exit(&r, 0);
    assert_contains(r.err, "mailport: copied 3,");
    assert_no_secret_in_run(&e, &r);
    mp_run_free(&r);
    assert_no_secret_in_file(&e, report);
    char *md = mp_dovecot_maildir(e.dv, USER);
    assert_each_once(md, 3);
    assert_true(mp_oauth2_server_refreshes(e.auth) >= 1);
    int failed = -1;
    assert_true(mp_oauth2_server_handshakes(e.auth, &failed) >= 1);
    assert_int_equal(failed, 0);
    assert_refresh_file_current(&e);
    stop(&e);
    free(md);
    free(report);
    free(dst);
    free(extra);
    free(ca);
    free(src_url);
    free(src);
}

/* The token client itself (core/engine/oauth2.c, in this process) over
 * https: with oauth2_token_cafile= naming the server's CA the refresh
 * succeeds through TLS (the server refuses token requests over plain
 * http); a CA that did not issue the certificate is refused with the
 * parameter named; an unreadable CA file is a usage error. */
static void test_https_endpoint_with_its_ca(void **state)
{
    (void)state;
    env e = start_with(30, 0, 0, 0, 1);
    char *token_url = mp_oauth2_server_token_url(e.auth);
    char *ca = mp_oauth2_server_ca_file(e.auth);
    const char *pairs[] = {"oauth2_token_url",
                           token_url,
                           "oauth2_client_id",
                           CLIENT_ID,
                           "oauth2_client_secret_file",
                           e.secret_file,
                           "oauth2_refresh_token_file",
                           e.refresh_file,
                           "oauth2_token_cafile",
                           ca,
                           NULL};
    mp_oauth2_pairs k = {pairs};
    mp_oauth2_req req;
    char err[512] = "";
    assert_int_equal(mp_oauth2_from_params(&req, mp_oauth2_pairs_lookup, &k,
                                           err, sizeof err),
                     1);
    assert_string_equal(req.cafile, ca);
    char *token = NULL;
    mp_oauth2_ticket ticket;
    mp_error_kind kind = MP_ERR_NONE;
    mp_status st =
        mp_oauth2_access_token(&req, &token, &ticket, err, sizeof err, &kind);
    if (st != MP_OK)
        fail_msg("refresh over https failed: %s", err);
    assert_true(strncmp(token, "at-", 3) == 0);
    assert_int_equal(mp_oauth2_server_refreshes(e.auth), 1);
    int failed = -1;
    assert_int_equal(mp_oauth2_server_handshakes(e.auth, &failed), 1);
    assert_int_equal(failed, 0);
    mp_secret_free(token);

    /* Another CA (Dovecot's own certificate): refused, and said so. */
    char *other = mp_strf("%s/cert.pem", mp_dovecot_dir(e.dv));
    pairs[9] = other;
    assert_int_equal(mp_oauth2_from_params(&req, mp_oauth2_pairs_lookup, &k,
                                           err, sizeof err),
                     1);
    st = mp_oauth2_access_token(&req, &token, &ticket, err, sizeof err, &kind);
    assert_int_equal(st, MP_FATAL);
    assert_int_equal(kind, MP_ERR_CONNECT);
    char *want = mp_strf("the TLS certificate of the OAuth2 token endpoint %s "
                         "could not be verified: ",
                         token_url);
    assert_contains(err, want);
    assert_contains(err, "(check that oauth2_token_cafile= names the CA that "
                         "issued it)");
    assert_null(strstr(err, FIRST_REFRESH));
    assert_null(strstr(err, CLIENT_SECRET));
    assert_int_equal(mp_oauth2_server_refreshes(e.auth), 1);

    /* A CA file that cannot be read: a usage error before any request. */
    char *missing = mp_strf("%s/no-such-ca.pem", work);
    pairs[9] = missing;
    assert_int_equal(mp_oauth2_from_params(&req, mp_oauth2_pairs_lookup, &k,
                                           err, sizeof err),
                     -1);
    char *usage = mp_strf("oauth2_token_cafile=%s: cannot read it", missing);
    assert_contains(err, usage);
    stop(&e);
    free(usage);
    free(missing);
    free(want);
    free(other);
    free(ca);
    free(token_url);
}

int main(void)
{
    /* The connections dropped here are a relay's cuts: Dovecot has stored
     * whatever APPEND reached it whole by the time the retry logs in. */
    mp_short_inflight_wait();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_in_and_out),
        cmocka_unit_test(test_refreshed_before_expiry),
        cmocka_unit_test(test_refused_token_refreshed),
        cmocka_unit_test(test_oauthbearer),
        cmocka_unit_test(test_invalid_grant),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_https_endpoint_untrusted),
        cmocka_unit_test(test_https_endpoint_with_its_ca),
        cmocka_unit_test(test_https_copy_with_cafile),
    };
    if (getenv("MP_TEST_FILTER")) /* one test while debugging */
        cmocka_set_test_filter(getenv("MP_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
