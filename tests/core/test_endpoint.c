#include "endpoint.h"
#include "pair.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void parses_local_path_and_params(void **state)
{
    (void)state;
    char err[256];
    mp_url *u =
        mp_url_parse("mbox:/tmp/a%20b.mbox?format=mboxo", err, sizeof err);
    assert_non_null(u);
    assert_string_equal(u->ep.scheme, "mbox");
    assert_string_equal(u->ep.path, "/tmp/a b.mbox");
    assert_null(u->ep.host);
    assert_int_equal(u->n_params, 1);
    assert_string_equal(u->params[0].name, "format");
    assert_string_equal(u->params[0].value, "mboxo");
    assert_non_null(mp_url_unasked(u));
    mp_url_free(u);
}

static void parses_authority_and_masks_password(void **state)
{
    (void)state;
    char err[256];
    mp_url *u =
        mp_url_parse("imaps://alice%40example.org:s3cret@[::1]:993?tls=none",
                     err, sizeof err);
    assert_non_null(u);
    assert_string_equal(u->ep.user, "alice@example.org");
    assert_string_equal(u->password, "s3cret");
    assert_string_equal(u->ep.host, "[::1]");
    assert_int_equal(u->ep.port, 993);
    assert_null(strstr(u->ep.display, "s3cret"));
    assert_contains(u->ep.display, "alice%40example.org:***@[::1]:993");
    mp_url_free(u);
}

static void rejects_garbage(void **state)
{
    (void)state;
    char err[256];
    assert_null(mp_url_parse("/no/scheme/here", err, sizeof err));
    assert_contains(err, "is not an endpoint URL");
    assert_null(mp_url_parse("imap://u@host:99999", err, sizeof err));
    assert_contains(err, "bad port");
    assert_null(mp_url_parse("maildir:/x%00y", err, sizeof err));
    assert_contains(err, "malformed");
}

/* Issue 14: dates in paths (strftime conversions), beside %-escapes. */
static void paths_take_dates(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    const time_t when = 1796608800; /* 2026-12-07 02:00:00 UTC, a Monday */
    const struct {
        const char *raw, *want;
    } ok[] = {
        {"backup/alice-%Y%m%d.tar.zst.age",
         "backup/alice-20261207.tar.zst.age"},
        {"a-%F_%H%M%S", "a-2026-12-07_020000"},
        {"%a-%b-%j-%s", "Mon-Dec-341-1796608800"},
        {"100%%-%Y", "100%-2026"},
        {"a%20b-%m", "a b-12"},
        {"x%d2y", "x\xd2y"}, /* an escape wins: put a separator after %d */
        {"x%d-2y", "x07-2y"},
        {"plain", "plain"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char *out = NULL;
        assert_int_equal(mp_path_decode(ok[i].raw, when, &out), 0);
        assert_string_equal(out, ok[i].want);
        free(out);
    }
    /* Conversions that write '/' or blanks are not taken, nor unknown
     * letters, a lone '%' or an escaped NUL. */
    const char *bad[] = {"a%D", "a%x", "a%c", "a%e",
                         "a%n", "a%q", "a%",  "a%00"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *out = (char *)"unset";
        assert_int_equal(mp_path_decode(bad[i], when, &out), -1);
        assert_null(out);
    }
    char err[512];
    assert_null(mp_url_parse("targz:a%q.tar", err, sizeof err));
    assert_contains(err, "a date such as %Y, %m, %d or %F, or is written %%");
    /* Through the parser: today's date, once for the whole run. */
    time_t before = time(NULL);
    mp_url *u =
        mp_url_parse("targz:/b/alice-%Y%m%d.tar?x=%25", err, sizeof err);
    time_t after = time(NULL);
    assert_non_null(u);
    char day0[64], day1[64];
    struct tm tm;
    strftime(day0, sizeof day0, "/b/alice-%Y%m%d.tar", gmtime_r(&before, &tm));
    strftime(day1, sizeof day1, "/b/alice-%Y%m%d.tar", gmtime_r(&after, &tm));
    if (strcmp(u->ep.path, day0) != 0)
        assert_string_equal(u->ep.path, day1);
    assert_string_equal(u->params[0].value, "%"); /* parameters: escapes only */
    mp_url_free(u);
}

/* The tester's case 6 (issue 13): one IMAP account spelled with another
 * case of its user name, or another name of its host, is one destination
 * lock (the state files may stay apart: the lock is what keeps two runs
 * from storing a message twice). */
static void one_account_has_one_lock(void **state)
{
    (void)state;
    char *a = mp_pair_destination_lock_path("imap://ivan@127.0.0.1:24143");
    const char *same[] = {
        "imap://IVAN@127.0.0.1:24143?tls=none",
        "imap://ivan@localhost:24143",
        "imap://Ivan@[::1]:24143/",
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        char *b = mp_pair_destination_lock_path(same[i]);
        assert_non_null(b);
        if (strcmp(a, b) != 0)
            fail_msg("%s: lock %s, not %s", same[i], b, a);
        free(b);
    }
    const char *other[] = {
        "imap://bob@127.0.0.1:24143",
        "imap://ivan@127.0.0.1:24144",
        "imap://ivan@192.0.2.1:24143",
    };
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        char *b = mp_pair_destination_lock_path(other[i]);
        assert_non_null(b);
        assert_string_not_equal(a, b);
        free(b);
    }
    /* Standard ports: imap:// and imaps:// of one server are one lock. */
    char *c = mp_pair_destination_lock_path("imap://ivan@localhost");
    char *d = mp_pair_destination_lock_path("imaps://ivan@127.0.0.1:993");
    assert_string_equal(c, d);
    free(c);
    free(d);
    free(a);
}

/* 13.4: one destination has one identity however it is spelled, so its
 * lock and the pair's state are found from every spelling. */
static void identity_ignores_spelling(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("identity");
    char *real = mp_strf("%s/real", dir), *link = mp_strf("%s/link", dir);
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, link), 0);
    char *want = mp_strf("maildir://@:0%s/dst", real);
    const char *spellings[] = {"maildir:%s/real/dst", "maildir:%s/real/dst/",
                               "maildir:%s/real/./dst//",
                               "maildir:%s/link/dst", /* not created yet */
                               "maildir:%s/real/new/../dst"};
    for (size_t i = 0; i < sizeof spellings / sizeof *spellings; i++) {
        char *url = mp_strf(spellings[i], dir);
        char *id = mp_pair_endpoint_identity(url);
        assert_string_equal(id, want);
        free(id);
        free(url);
    }
    /* A relative path is named from the working directory. */
    char *cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(link), 0);
    char *id = mp_pair_endpoint_identity("maildir:dst");
    assert_string_equal(id, want);
    free(id);
    assert_int_equal(chdir(dir), 0);
    id = mp_pair_endpoint_identity("maildir:dst");
    assert_string_not_equal(id, want); /* another directory, another store */
    free(id);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);

    const char *same[] = {"imaps://bob@Mail.Example.ORG",
                          "imap://bob@mail.example.org",
                          "imaps://bob@mail.example.org:993/",
                          "imap://bob@mail.example.org:143?tls=starttls"};
    char *first = mp_pair_endpoint_identity(same[0]);
    for (size_t i = 1; i < sizeof same / sizeof *same; i++) {
        char *other = mp_pair_endpoint_identity(same[i]);
        assert_string_equal(other, first);
        free(other);
    }
    char *port =
        mp_pair_endpoint_identity("imaps://bob@mail.example.org:10993");
    char *user = mp_pair_endpoint_identity("imaps://alice@mail.example.org");
    assert_string_not_equal(port, first);
    assert_string_not_equal(user, first);
    free(port);
    free(user);
    free(first);
    free(want);
    free(real);
    free(link);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_local_path_and_params),
        cmocka_unit_test(parses_authority_and_masks_password),
        cmocka_unit_test(rejects_garbage),
        cmocka_unit_test(paths_take_dates),
        cmocka_unit_test(identity_ignores_spelling),
        cmocka_unit_test(one_account_has_one_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
