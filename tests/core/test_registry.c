/* plugins.conf parsing and refusal of plugins that do not fit. */
#include "registry.h"
#include "testutil.h"

#include <string.h>

static void parses_conf_and_rejects_bad_lines(void **state)
{
    (void)state;
    mp_registry reg = {0};
    char err[512];
    const char *conf = "# comment\n\nmbox  plugins/mbox.so   # trailing\n"
                       "imaps /abs/imap.so\nimap /abs/imap.so\n";
    assert_int_equal(mp_registry_parse(&reg, conf, "/base", err, sizeof err),
                     0);
    assert_int_equal(reg.n_schemes, 3);
    assert_int_equal(reg.n_files, 2); /* imap and imaps share one file */
    assert_string_equal(reg.files[0].path, "/base/plugins/mbox.so");
    assert_string_equal(reg.files[1].path, "/abs/imap.so");
    mp_registry_free(&reg);

    assert_int_equal(mp_registry_parse(&reg, "x a b\n", "/", err, sizeof err),
                     -1);
    assert_contains(err, "line 1");
    mp_registry_free(&reg);
    assert_int_equal(
        mp_registry_parse(&reg, "a p\n\na q\n", "/", err, sizeof err), -1);
    assert_contains(err, "line 3: scheme \"a\" named twice");
    mp_registry_free(&reg);
}

static void refuses_incompatible_missing_and_symbol_less_plugins(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("registry");
    char *conf = mp_strf("%s/plugins.conf", dir);
    char *text = mp_strf("major %s/bad_major.so\nminor %s/bad_minor.so\n"
                         "nosym %s/bad_nosym.so\nmissing %s/nowhere.so\n",
                         BAD_PLUGIN_DIR, BAD_PLUGIN_DIR, BAD_PLUGIN_DIR, dir);
    mp_write_file(conf, text, strlen(text));
    mp_registry reg = {0};
    char err[1024];
    assert_int_equal(mp_registry_load(&reg, conf, err, sizeof err), 0);
    assert_null(mp_registry_find(&reg, "major", err, sizeof err));
    char *want =
        mp_strf("bad_major.so (bad) was built for plugin ABI %d.0, but "
                "this mailport provides ABI %d.%d",
                MP_ABI_MAJOR + 1, MP_ABI_MAJOR, MP_ABI_MINOR);
    assert_contains(err, want);
    free(want);
    assert_null(mp_registry_find(&reg, "minor", err, sizeof err));
    want = mp_strf("ABI %d.%d, but this mailport provides ABI %d.%d",
                   MP_ABI_MAJOR, MP_ABI_MINOR + 1, MP_ABI_MAJOR, MP_ABI_MINOR);
    assert_contains(err, want);
    free(want);
    assert_null(mp_registry_find(&reg, "nosym", err, sizeof err));
    assert_contains(err, "has no mailport_plugin_v1 symbol");
    assert_null(mp_registry_find(&reg, "missing", err, sizeof err));
    assert_contains(err, "cannot load plugin");
    assert_contains(err, "nowhere.so");
    assert_null(mp_registry_find(&reg, "nosuch", err, sizeof err));
    assert_contains(err, "no plugin serves \"nosuch:\" URLs");
    mp_registry_free(&reg);

    /* Through the CLI: a refused plugin is named, and using it is exit 2. */
    setenv("MAILPORT_PLUGINS_CONF", conf, 1);
    mp_run_result r = mp_run("plugins", NULL);
    assert_int_equal(r.exit_code, 1);
    assert_contains(r.out, "refused: plugin");
    assert_contains(r.out, "bad_major.so");
    mp_run_free(&r);
    r = mp_run("list", "major:/x", NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "was built for plugin ABI");
    mp_run_free(&r);
    mp_rm_rf(dir);
    free(conf);
    free(text);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_conf_and_rejects_bad_lines),
        cmocka_unit_test(refuses_incompatible_missing_and_symbol_less_plugins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
