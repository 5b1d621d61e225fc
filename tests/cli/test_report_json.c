/* The JSON reports, read back with jansson: what real copy and verify runs
 * write parses, holds every documented key with the right type and the
 * run's values, and stays valid JSON when a folder name is not UTF-8. Also
 * core/engine/json.c's text rule and layout on their own. */
#include "testutil.h"

#include "json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char mbox[] =
    "From a@example.org Mon Jan  1 00:00:00 2024\n"
    "From: a@example.org\nMessage-ID: <1@example.org>\nSubject: one\n\nbody 1\n"
    "\n"
    "From b@example.org Mon Jan  1 00:00:01 2024\n"
    "From: b@example.org\nMessage-ID: <2@example.org>\nSubject: two\n\nbody 2\n"
    "\n"
    "From c@example.org Mon Jan  1 00:00:02 2024\n"
    "From: c@example.org\nMessage-ID: <3@example.org>\nSubject: three\n\nbody 3\n";

static json_t *load(const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        fail_msg("%s: not JSON: %s (line %d)", path, err.text, err.line);
    assert_true(json_is_object(root));
    return root;
}

static json_int_t count(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

static json_t *array(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_array(v))
        fail_msg("\"%s\" is not an array", key);
    return v;
}

/* Every key CLI.md and the README name, with its type; the folders' keys
 * too. */
static void check_shape(json_t *r)
{
    static const char *const counts[] = {
        "copied",  "skipped", "flags_updated", "failed",     "bytes",
        "filtered", "removed", "altered",      "repaired",   "subscribed",
        "connections"};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
        assert_true(count(r, counts[i]) >= 0);
    assert_true(json_is_number(json_object_get(r, "rate_limit_seconds")));
    assert_true(json_is_number(json_object_get(r, "throttled_seconds")));
    array(r, "errors");
    array(r, "altered_messages");
    array(r, "repaired_messages");
    array(r, "warnings");
    size_t i;
    json_t *f;
    json_array_foreach(array(r, "folders"), i, f)
    {
        assert_true(json_is_string(json_object_get(f, "name")));
        static const char *const per[] = {"copied",   "skipped", "failed",
                                          "flags_updated", "filtered",
                                          "removed",  "bytes",
                                          "repaired"};
        for (size_t k = 0; k < sizeof per / sizeof *per; k++)
            assert_true(count(f, per[k]) >= 0);
    }
}

static void test_copy_reports_parse(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("report-json");
    char *src = mp_strf("%s/src", dir), *box = mp_strf("%s/src/INBOX", dir);
    char *bad = mp_strf("%s/src/Bad\xff" "name", dir);
    char *from = mp_strf("mbox:%s", src), *to = mp_strf("maildir:%s/dst", dir);
    char *rep = mp_strf("%s/r.json", dir), *state_db = mp_strf("%s/s.db", dir);
    assert_int_equal(mp_sh("mkdir -p '%s'", src), 0);
    mp_write_file(box, mbox, strlen(mbox));

    mp_run_result r = mp_run("copy", from, to, "--state", state_db, "--report",
                             rep, "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    json_t *j = load(rep);
    check_shape(j);
    assert_int_equal(count(j, "copied"), 3);
    assert_int_equal(count(j, "skipped"), 0);
    assert_int_equal(count(j, "failed"), 0);
    assert_int_equal(count(j, "removed"), 0);
    assert_true(count(j, "bytes") > 0);
    assert_true(json_real_value(json_object_get(j, "rate_limit_seconds")) == 0);
    json_t *folders = array(j, "folders");
    assert_int_equal(json_array_size(folders), 1);
    json_t *inbox = json_array_get(folders, 0);
    assert_string_equal(json_string_value(json_object_get(inbox, "name")), "INBOX");
    assert_int_equal(count(inbox, "copied"), 3);
    assert_int_equal(count(inbox, "bytes"), count(j, "bytes"));
    assert_int_equal(json_array_size(array(j, "errors")), 0);
    json_decref(j);

    /* again: all present, nothing copied; a folder whose name is not UTF-8
     * (the Maildir refuses it) is in the report as valid JSON, its bad
     * byte as U+FFFD, with its error */
    mp_write_file(bad, mbox, strlen(mbox));
    r = mp_run("copy", from, to, "--state", state_db, "--report", rep, "-q",
               NULL);
    assert_int_equal(r.exit_code, 1);
    mp_run_free(&r);
    j = load(rep);
    check_shape(j);
    assert_int_equal(count(j, "copied"), 0);
    assert_int_equal(count(j, "skipped"), 3);
    assert_int_equal(count(j, "failed"), 3);
    folders = array(j, "folders");
    assert_int_equal(json_array_size(folders), 2);
    int seen = 0;
    size_t i;
    json_t *f;
    json_array_foreach(folders, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        if (strcmp(name, "Bad\xef\xbf\xbdname") == 0) {
            assert_int_equal(count(f, "failed"), 3);
            seen++;
        } else {
            assert_string_equal(name, "INBOX");
            assert_int_equal(count(f, "skipped"), 3);
            seen += 2;
        }
    }
    assert_int_equal(seen, 3);
    json_t *errors = array(j, "errors");
    assert_int_equal(json_array_size(errors), 1);
    json_t *e = json_array_get(errors, 0);
    assert_string_equal(json_string_value(json_object_get(e, "folder")),
                        "Bad\xef\xbf\xbdname");
    assert_true(json_is_null(json_object_get(e, "message")));
    assert_non_null(strstr(json_string_value(json_object_get(e, "error")),
                           "not valid UTF-8"));
    json_decref(j);

    /* verify's report: one message gone from the destination */
    assert_int_equal(mp_sh("rm '%s'", bad), 0);
    assert_int_equal(mp_sh("cd '%s/dst/cur' && rm \"$(ls | head -n 1)\"", dir), 0);
    char *vrep = mp_strf("%s/v.json", dir);
    r = mp_run("verify", from, to, "--no-state", "--report", vrep, "-q", NULL);
    assert_int_equal(r.exit_code, 4);
    mp_run_free(&r);
    j = load(vrep);
    assert_int_equal(count(j, "checked"), 3);
    json_t *missing = array(j, "missing");
    assert_int_equal(json_array_size(missing), 1);
    json_t *m = json_array_get(missing, 0);
    assert_string_equal(json_string_value(json_object_get(m, "folder")), "INBOX");
    assert_non_null(strstr(json_string_value(json_object_get(m, "message")),
                           "@example.org>"));
    assert_int_equal(json_array_size(array(j, "extra")), 0);
    assert_int_equal(json_array_size(array(j, "warnings")), 0);
    json_decref(j);

    mp_rm_rf(dir);
    free(vrep);
    free(dir);
    free(src);
    free(box);
    free(bad);
    free(from);
    free(to);
    free(rep);
    free(state_db);
}

/* Bytes jansson would refuse become U+FFFD; everything valid is kept. */
static void test_text_rule(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"é😀\x7f", "é😀\x7f"},
        {"a\xff" "b", "a\xef\xbf\xbd" "b"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},         /* overlong */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xf5\x80\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"cut\xe2\x82", "cut\xef\xbf\xbd\xef\xbf\xbd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *v = mp_json_text(cases[i].in);
        assert_non_null(v);
        assert_string_equal(json_string_value(v), cases[i].out);
        json_decref(v);
    }
    json_t *v = mp_json_text(NULL);
    assert_string_equal(json_string_value(v), "");
    json_decref(v);
}

static void test_layout(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    json_t *o = json_pack("{s:i, s:f, s:[{s:s}, {s:n}], s:[s, s], s:[]}", "n", 1,
                          "secs", 1.5, "list", "k", "a\n\"\x01", "k", "strings",
                          "x", "y", "empty");
    assert_non_null(o);
    for (int lines = 0; lines <= 1; lines++) {
        FILE *f = open_memstream(&text, &len);
        mp_json_write_report(f, o, lines);
        fclose(f);
        assert_string_equal(
            text, lines ? "{\"n\": 1, \"secs\": 1.5,\n \"list\": [\n  {\"k\": "
                          "\"a\\n\\\"\\u0001\"},\n  {\"k\": null}],\n "
                          "\"strings\": [\"x\", \"y\"],\n \"empty\": []}"
                        : "{\"n\": 1, \"secs\": 1.5,\n \"list\": [{\"k\": "
                          "\"a\\n\\\"\\u0001\"}, {\"k\": null}],\n "
                          "\"strings\": [\"x\", \"y\"],\n \"empty\": []}");
        json_t *back = json_loads(text, 0, NULL);
        assert_true(json_equal(back, o));
        json_decref(back);
        free(text);
    }
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_rule),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_copy_reports_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
