#include "endpoint.h"
#include "testutil.h"

#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_local_path_and_params),
        cmocka_unit_test(parses_authority_and_masks_password),
        cmocka_unit_test(rejects_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
