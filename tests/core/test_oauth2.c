/* The OAuth2 token client (core/engine/oauth2.c, issue 9.6) against the
 * test's token server on loopback (tests/support/oauth2_server.h): the
 * parameters' usage errors, one refresh for many threads at once, the
 * cache and its margin, a refused token dropped once per token, the
 * rotated refresh token written back (0600), and the endpoint's errors
 * without the secrets in them. */
#include "testutil.h"

#include "oauth2.h"
#include "oauth2_server.h"
#include "secret.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char *work;

static int setup(void **state)
{
    (void)state;
    work = mp_tmpdir("oauth2");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(work);
    free(work);
    return 0;
}

typedef struct kv {
    const char *const *pairs; /* name, value, ..., NULL */
} kv;

static const char *lookup(void *ctx, const char *name)
{
    const kv *k = ctx;
    for (size_t i = 0; k->pairs[i]; i += 2)
        if (strcmp(k->pairs[i], name) == 0)
            return k->pairs[i + 1];
    return NULL;
}

static int parse(const char *const *pairs, mp_oauth2_req *req, char *err)
{
    kv k = {pairs};
    return mp_oauth2_from_params(req, lookup, &k, err, 512);
}

static void test_params(void **state)
{
    (void)state;
    mp_oauth2_req req;
    char err[512];
    const char *none[] = {"auth", "xoauth2", NULL};
    assert_int_equal(parse(none, &req, err), 0);
    const char *google[] = {"oauth2",
                            "google",
                            "oauth2_client_id",
                            "id",
                            "oauth2_refresh_token_file",
                            "/f",
                            NULL};
    assert_int_equal(parse(google, &req, err), 1);
    assert_string_equal(req.token_url, "https://oauth2.googleapis.com/token");
    assert_null(req.scope);
    const char *ms[] = {"oauth2",
                        "microsoft",
                        "oauth2_client_id",
                        "id",
                        "oauth2_refresh_token_file",
                        "/f",
                        NULL};
    assert_int_equal(parse(ms, &req, err), 1);
    assert_string_equal(
        req.token_url,
        "https://login.microsoftonline.com/common/oauth2/v2.0/token");
    assert_contains(req.scope, "IMAP.AccessAsUser.All");
    const char *unknown[] = {"oauth2", "yahoo", NULL};
    assert_int_equal(parse(unknown, &req, err), -1);
    assert_contains(err, "oauth2=yahoo: the providers known are google and "
                         "microsoft");
    const char *no_url[] = {"oauth2_client_id", "id", NULL};
    assert_int_equal(parse(no_url, &req, err), -1);
    assert_contains(err, "needs the token endpoint");
    const char *both[] = {"oauth2", "google", "oauth2_token_url", "https://x/t",
                          NULL};
    assert_int_equal(parse(both, &req, err), -1);
    assert_contains(err, "not both");
    const char *clear[] = {"oauth2_token_url", "http://192.0.2.1/t", NULL};
    assert_int_equal(parse(clear, &req, err), -1);
    assert_contains(err, "give an https:// URL");
    const char *local[] = {"oauth2_token_url", "http://localhost:8/t",
                           "oauth2_client_id", "id", NULL};
    assert_int_equal(parse(local, &req, err), -1);
    assert_contains(err, "needs oauth2_refresh_token_file=FILE");
}

typedef struct fixture {
    mp_oauth2_server *s;
    char *url, *file;
    mp_oauth2_req req;
} fixture;

static void start(fixture *f, const char *name, double life, int rotate)
{
    mp_oauth2_server_opts o = {.user = "u",
                               .client_id = "cid",
                               .refresh_token = "rt-0-start",
                               .lifetime_s = life,
                               .rotate = rotate};
    f->s = mp_oauth2_server_start(&o);
    f->url = mp_oauth2_server_token_url(f->s);
    f->file = mp_strf("%s/%s", work, name);
    mp_write_file(f->file, "rt-0-start\n", 11);
    chmod(f->file, 0600);
    f->req = (mp_oauth2_req){
        .token_url = f->url, .client_id = "cid", .refresh_file = f->file};
}

static void finish(fixture *f)
{
    mp_oauth2_server_stop(f->s);
    free(f->url);
    free(f->file);
}

static char *token(fixture *f, mp_oauth2_ticket *t)
{
    char *out, err[1024];
    mp_error_kind kind;
    mp_status st =
        mp_oauth2_access_token(&f->req, &out, t, err, sizeof err, &kind);
    if (st != MP_OK)
        fail_msg("no token: %s", err);
    return out;
}

static void *worker(void *arg)
{
    fixture *f = arg;
    mp_oauth2_ticket t;
    mp_secret_free(token(f, &t));
    return NULL;
}

/* Eight workers at once: one refresh. The token is then cached; a refused
 * cached token is dropped once (two logins refusing the same token make
 * one refresh); a refused fresh one is not worth a retry. */
static void test_shared_cache(void **state)
{
    (void)state;
    fixture f;
    start(&f, "shared", 600, 0);
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, &f), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(mp_oauth2_server_refreshes(f.s), 1);
    mp_oauth2_ticket a, b;
    char *ta = token(&f, &a), *tb = token(&f, &b);
    assert_string_equal(ta, tb);
    assert_false(a.fresh);
    assert_int_equal(mp_oauth2_server_refreshes(f.s), 1);
    assert_int_equal(mp_oauth2_refused(&a), 1);
    assert_int_equal(mp_oauth2_refused(&b), 1);
    mp_oauth2_ticket c;
    char *tc = token(&f, &c);
    assert_true(c.fresh);
    assert_string_not_equal(tc, ta);
    assert_int_equal(mp_oauth2_server_refreshes(f.s), 2);
    assert_int_equal(mp_oauth2_refused(&c), 0);
    mp_secret_free(ta);
    mp_secret_free(tb);
    mp_secret_free(tc);
    finish(&f);
}

/* Tokens living 2 s: refreshed when a quarter of their life is left,
 * and the rotated refresh token replaces the file's, mode 0600. */
static void test_margin_and_rotation(void **state)
{
    (void)state;
    fixture f;
    start(&f, "rotating", 2, 1);
    chmod(f.file, 0644); /* a warning, and 0600 after the rewrite */
    mp_oauth2_ticket t;
    char *one = token(&f, &t);
    char *two = token(&f, &t);
    assert_string_equal(one, two);
    usleep(1600 * 1000); /* 0.4 s left: under the 0.5 s margin */
    char *three = token(&f, &t);
    assert_string_not_equal(one, three);
    assert_int_equal(mp_oauth2_server_refreshes(f.s), 2);
    char *now = mp_oauth2_server_refresh_token(f.s);
    char *want = mp_strf("%s\n", now);
    char *file = mp_read_file(f.file, NULL);
    assert_string_equal(file, want);
    struct stat st;
    assert_int_equal(stat(f.file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(now);
    free(want);
    free(file);
    mp_secret_free(one);
    mp_secret_free(two);
    mp_secret_free(three);
    finish(&f);
}

/* invalid_grant and invalid_client name the cause and the fix, exit-3
 * kinds, and hold no secret; an unreadable file is a usage error. */
static void test_errors(void **state)
{
    (void)state;
    fixture f;
    start(&f, "refused", 60, 0);
    mp_oauth2_server_refuse(f.s);
    char *out, err[1024];
    mp_error_kind kind;
    mp_oauth2_ticket t;
    assert_int_equal(
        mp_oauth2_access_token(&f.req, &out, &t, err, sizeof err, &kind),
        MP_FATAL);
    assert_int_equal(kind, MP_ERR_AUTH);
    char *want = mp_strf("the refresh token in %s was refused (invalid_grant: "
                         "Token has been expired or revoked.): get a new one",
                         f.file);
    assert_contains(err, want);
    free(want);
    assert_null(strstr(err, "rt-0-start"));
    mp_oauth2_req other = f.req;
    other.client_id = "wrong";
    assert_int_equal(
        mp_oauth2_access_token(&other, &out, &t, err, sizeof err, &kind),
        MP_FATAL);
    assert_int_equal(kind, MP_ERR_AUTH);
    assert_contains(err, "the OAuth2 client was refused (invalid_client");
    other = f.req;
    other.refresh_file = "/nonexistent/refresh";
    assert_int_equal(
        mp_oauth2_access_token(&other, &out, &t, err, sizeof err, &kind),
        MP_FATAL);
    assert_int_equal(kind, MP_ERR_USAGE);
    assert_contains(err, "check the path in oauth2_refresh_token_file=");
    finish(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_shared_cache),
        cmocka_unit_test(test_margin_and_rotation),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
