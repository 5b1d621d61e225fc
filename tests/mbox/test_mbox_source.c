/* The mbox source ops: parameters, stores that are files or directories,
 * files that are not mboxes, compressed files, identities, fetch. */
#include "header.h"
#include "mbox_reference.h"
#include "mbox_testkit.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void format_parameter_is_checked(void **state)
{
    (void)state;
    mbt_endpoint e;
    assert_int_equal(mbt_open(&e, "mbox:/tmp?format=mboxzz", 0), MP_FATAL);
    assert_int_equal(e.host.err_kind, MP_ERR_USAGE);
    assert_contains(e.host.err, "unknown mbox format \"mboxzz\"");
    mbt_close(&e, 0);

    assert_int_equal(mbt_open(&e, "mbox:/tmp?format=mboxo&format=mboxrd", 0),
                     MP_FATAL);
    assert_int_equal(e.host.err_kind, MP_ERR_USAGE);
    assert_contains(e.host.err, "format= given more than once");
    mbt_close(&e, 0);

    assert_int_equal(mbt_open(&e, "mbox:/tmp?format=", 0), MP_FATAL);
    assert_int_equal(e.host.err_kind, MP_ERR_USAGE);
    mbt_close(&e, 0);

    /* Every supported value opens; the parameter counts as known, anything
     * else is left for the core to reject. */
    const char *ok[] = {"mboxrd", "mboxo", "mboxcl", "mboxcl2"};
    for (size_t i = 0; i < 4; i++) {
        char *url = mp_strf("mbox:/tmp?format=%s&bogus=1", ok[i]);
        assert_int_equal(mbt_open(&e, url, 0), MP_OK);
        const mp_param *left = mp_url_unasked(e.url);
        assert_non_null(left);
        assert_string_equal(left->name, "bogus");
        mbt_close(&e, 0);
        free(url);
    }
    /* The sink writes only mboxrd and mboxo. */
    assert_int_equal(mbt_open(&e, "mbox:/tmp/x.mbox?format=mboxcl2", 1),
                     MP_FATAL);
    assert_int_equal(e.host.err_kind, MP_ERR_USAGE);
    assert_contains(e.host.err, "cannot write format mboxcl2");
    mbt_close(&e, 1);
}

static void missing_path_is_not_found(void **state)
{
    (void)state;
    mbt_endpoint e;
    assert_int_equal(mbt_open(&e, "mbox:/nonexistent/inbox.mbox", 0), MP_FATAL);
    assert_int_equal(e.host.err_kind, MP_ERR_NOTFOUND);
    assert_contains(e.host.err, "/nonexistent/inbox.mbox");
    mbt_close(&e, 0);
    assert_int_equal(mbt_open(&e, "mbox:/dev/null", 0), MP_FATAL);
    assert_int_equal(e.host.err_kind, MP_ERR_USAGE);
    mbt_close(&e, 0);
}

static void file_store_is_one_inbox(void **state)
{
    (void)state;
    char *url = mp_strf("mbox:%s/mbox/neomutt/banana.mbox", mp_corpora());
    char *names = mbt_list(url, 0);
    assert_string_equal(names, "INBOX");
    free(names);
    mbt_folder f = mbt_read(url, "Other");
    assert_int_equal(f.status, MP_FOLDER_BAD);
    assert_int_equal(f.kind, MP_ERR_NOTFOUND);
    assert_contains(f.err, "only the folder INBOX");
    mbt_folder_free(&f);
    f = mbt_read(url, "inbox");
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 1);
    mbt_folder_free(&f);
    free(url);
}

static void expect_format_error(const char *rel, const char *what)
{
    char *path = mp_strf("%s/mbox/%s", mp_corpora(), rel);
    char *url = mp_strf("mbox:%s", path);
    mbt_folder f = mbt_read(url, "INBOX");
    assert_int_equal(f.status, MP_FOLDER_BAD);
    assert_int_equal(f.kind, MP_ERR_FORMAT);
    assert_contains(f.err, path);
    assert_contains(f.err, what);
    assert_int_equal(f.n, 0);
    mbt_folder_free(&f);
    free(url);
    free(path);
}

static void files_that_are_not_mboxes(void **state)
{
    (void)state;
    expect_format_error("neomutt/cherry.mbox",
                        "does not start with a \"From \" line");
    expect_format_error("patchwork/mail/0007-cvs-format-diff.mbox",
                        "is not an mbox file");
    expect_format_error("neomutt/fig.mbox", "MMDF");
    expect_format_error("mairix/mmdf/animals", "MMDF");
    /* CR-only line endings (old Mac) are refused, not converted. */
    expect_format_error("email-folder/testmbox.mac",
                        "not an mbox (CR-only line endings)");
}

static void compressed_files_read_like_plain_ones(void **state)
{
    (void)state;
    char *plain_url = mp_strf("mbox:%s/mbox/mairix/animals", mp_corpora());
    mbt_folder plain = mbt_read(plain_url, "INBOX");
    assert_int_equal(plain.status, MP_OK);
    assert_int_equal(plain.n, 2);
    /* "Tue, 04 Jan 11 08:44:27 PST remote from ahost" (old UUCP style). */
    assert_int_equal(plain.msgs[1].date, 1294159467);
    const char *ext[] = {"gz", "xz"};
    for (size_t k = 0; k < 2; k++) {
        char *url =
            mp_strf("mbox:%s/mbox/mairix/animals.%s", mp_corpora(), ext[k]);
        mbt_folder z = mbt_read(url, "INBOX");
        assert_int_equal(z.status, MP_OK);
        assert_int_equal(z.n, plain.n);
        for (size_t i = 0; i < z.n; i++) {
            /* Keys name the bytes, From_ line included (mbox_key.h). */
            if (i == 1)
                assert_string_not_equal(z.msgs[i].key, plain.msgs[i].key);
            else
                assert_string_equal(z.msgs[i].key, plain.msgs[i].key);
            assert_int_equal(z.msgs[i].len, plain.msgs[i].len);
            assert_memory_equal(z.msgs[i].data, plain.msgs[i].data,
                                z.msgs[i].len);
        }
        /* The compressed copies carry a different second From_ line. */
        assert_int_equal(z.msgs[0].date, 1294159467);
        assert_int_equal(z.msgs[1].date, 1294159537);
        mbt_folder_free(&z);
        free(url);
    }
    mbt_folder_free(&plain);
    free(plain_url);
}

static void corrupt_compressed_file_is_a_folder_error(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mbox-gz");
    char *path = mp_strf("%s/broken.gz", dir);
    size_t len;
    char *src = mp_strf("%s/mbox/mairix/animals.gz", mp_corpora());
    char *gz = mp_read_file(src, &len);
    mp_write_file(path, gz, len / 2); /* truncated stream */
    char *url = mp_strf("mbox:%s", path);
    mbt_folder f = mbt_read(url, "INBOX");
    assert_int_equal(f.status, MP_FOLDER_BAD);
    assert_contains(f.err, path);
    mbt_folder_free(&f);
    free(url);
    free(gz);
    free(src);
    free(path);
    mp_rm_rf(dir);
    free(dir);
}

static void directory_store_nests_and_isolates_bad_files(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mbox-dir");
    static const char good[] = "From a Mon Jan  1 00:00:00 2001\nS: 1\n\nx\n";
    char *p;
    mp_write_file(p = mp_strf("%s/Inbox", dir), good, sizeof good - 1);
    free(p);
    mp_write_file(p = mp_strf("%s/.hidden", dir), good, sizeof good - 1);
    free(p);
    mp_write_file(p = mp_strf("%s/bad", dir), "not mail\n", 9);
    free(p);
    assert_int_equal(mkdir(p = mp_strf("%s/lists", dir), 0700), 0);
    free(p);
    assert_int_equal(mkdir(p = mp_strf("%s/lists/old", dir), 0700), 0);
    free(p);
    assert_int_equal(mkdir(p = mp_strf("%s/.git", dir), 0700), 0);
    free(p);
    mp_write_file(p = mp_strf("%s/lists/b.mbox", dir), good, sizeof good - 1);
    free(p);
    mp_write_file(p = mp_strf("%s/lists/old/c", dir), "", 0);
    free(p);
    mp_write_file(p = mp_strf("%s/.git/x", dir), good, sizeof good - 1);
    free(p);
    assert_int_equal(symlink("/nonexistent", p = mp_strf("%s/dangling", dir)),
                     0);
    free(p);

    char *url = mp_strf("mbox:%s/", dir);
    char *names = mbt_list(url, 0);
    assert_string_equal(names,
                        "Inbox|bad|lists*|lists/b.mbox|lists/old*|lists/old/c");
    free(names);

    mbt_folder f = mbt_read(url, "bad");
    assert_int_equal(f.status, MP_FOLDER_BAD);
    assert_int_equal(f.kind, MP_ERR_FORMAT);
    assert_contains(f.err, "/bad is not an mbox file");
    mbt_folder_free(&f);
    f = mbt_read(url, "lists/b.mbox");
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.msgs[0].data, "S: 1\n\nx\n");
    mbt_folder_free(&f);
    f = mbt_read(url, "lists/old/c");
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 0);
    mbt_folder_free(&f);
    f = mbt_read(url, "lists");
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.info.no_select, 1);
    assert_int_equal(f.n, 0);
    mbt_folder_free(&f);
    f = mbt_read(url, "missing");
    assert_int_equal(f.status, MP_FOLDER_BAD);
    assert_int_equal(f.kind, MP_ERR_NOTFOUND);
    mbt_folder_free(&f);
    const char *unsafe[] = {"../etc/passwd",
                            "lists/../bad",
                            "/etc/passwd",
                            "lists//b.mbox",
                            ".hidden",
                            "lists/",
                            ""};
    for (size_t i = 0; i < sizeof unsafe / sizeof *unsafe; i++) {
        f = mbt_read(url, unsafe[i]);
        assert_int_equal(f.status, MP_FOLDER_BAD);
        assert_int_equal(f.kind, MP_ERR_USAGE);
        assert_contains(f.err, "refusing folder name");
        mbt_folder_free(&f);
    }
    free(url);
    mp_rm_rf(dir);
    free(dir);
}

static void identity_comes_from_unquoted_header_block(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mbox-id");
    char *path = mp_strf("%s/id.mbox", dir);
    static const char text[] =
        "From a Mon Jan  1 00:00:00 2001\r\nMessage-ID: <one@example.org>\r\n"
        "\r\nbody\r\n\r\n"
        "From b Mon Jan  1 00:00:00 2001\n>From: quoted header\nSubject: s\n"
        "\nbody\n";
    mp_write_file(path, text, sizeof text - 1);
    char *url = mp_strf("mbox:%s", path);
    mbt_folder f = mbt_read(url, "INBOX");
    assert_int_equal(f.n, 2);
    char want[128];
    static const char hdr0[] = "Message-ID: <one@example.org>\r\n";
    mp_identity_of_header(hdr0, sizeof hdr0 - 1, want, sizeof want);
    assert_string_equal(f.msgs[0].identity, want);
    assert_string_equal(want, "M:one@example.org");
    /* ">From:" is not a From line: only "^>+From " is unquoted. */
    static const char hdr1[] = ">From: quoted header\nSubject: s\n";
    mp_identity_of_header(hdr1, sizeof hdr1 - 1, want, sizeof want);
    assert_string_equal(f.msgs[1].identity, want);
    mbt_folder_free(&f);

    static const char quoted[] =
        "From b Mon Jan  1 00:00:00 2001\n>From x\nSubject: s\n\nbody\n";
    mp_write_file(path, quoted, sizeof quoted - 1);
    f = mbt_read(url, "INBOX");
    static const char hdr2[] = "From x\nSubject: s\n";
    mp_identity_of_header(hdr2, sizeof hdr2 - 1, want, sizeof want);
    assert_string_equal(f.msgs[0].identity, want);
    assert_string_equal(f.msgs[0].data, "From x\nSubject: s\n\nbody\n");
    mbt_folder_free(&f);
    free(url);
    free(path);
    mp_rm_rf(dir);
    free(dir);
}

typedef struct fetch_log {
    char log[512];
} fetch_log;

static mp_status log_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    fetch_log *l = ctx;
    size_t n = strlen(l->log);
    snprintf(l->log + n, sizeof l->log - n, "begin %zu %s %llu;", index,
             info->key, (unsigned long long)info->size);
    return MP_OK;
}

static mp_status log_data(void *ctx, const void *buf, size_t len)
{
    fetch_log *l = ctx;
    size_t n = strlen(l->log);
    snprintf(l->log + n, sizeof l->log - n, "%.*s", (int)len,
             (const char *)buf);
    return MP_OK;
}

static mp_status log_end(void *ctx, mp_status st)
{
    fetch_log *l = ctx;
    size_t n = strlen(l->log);
    snprintf(l->log + n, sizeof l->log - n, ";end %d|", st);
    return MP_OK;
}

static void fetch_reports_unknown_keys_per_message(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mbox-fetch");
    char *path = mp_strf("%s/f.mbox", dir);
    static const char text[] = "From a\nA\n\nFrom b\nB:\n>From B\n";
    mp_write_file(path, text, sizeof text - 1);
    char *url = mp_strf("mbox:%s", path);
    mbt_endpoint e;
    assert_int_equal(mbt_open(&e, url, 0), MP_OK);
    void *folder;
    mp_folder_info info;
    assert_int_equal(
        mbox_source_ops.open_folder(e.store, "INBOX", &folder, &info), MP_OK);
    assert_int_equal(info.count, 2);
    assert_string_equal(info.name, "INBOX");
    /* Keys name content (mbox_key.h): the reference's key of message 1,
     * one no message has, a malformed one, and an earlier version's byte
     * offsets (10: message 1; 3: no From_ line there; 0: message 0), which
     * fetch still takes. */
    ref_split ref = mbox_ref_split(text, sizeof text - 1, 0);
    assert_int_equal(ref.n, 2);
    char *want_b =
        mp_strf("begin 0 %s 10;B:\nFrom B\n;end 0|", ref.msgs[1].key);
    const char *keys[] = {
        ref.msgs[1].key, "m0123456789abcdef", "x1", "10", "3", "0"};
    fetch_log l = {.log = ""};
    mp_fetch_cb cb = {.struct_size = sizeof cb,
                      .begin = log_begin,
                      .data = log_data,
                      .end = log_end};
    assert_int_equal(mbox_source_ops.fetch(folder, keys, 6, &cb, &l), MP_OK);
    /* A message found tells its key as it is now. */
    char *want = mp_strf("%s"
                         "begin 1 m0123456789abcdef 0;;end 1|"
                         "begin 2 x1 0;;end 1|"
                         "begin 3 %s 10;B:\nFrom B\n;end 0|"
                         "begin 4 3 0;;end 1|"
                         "begin 5 %s 2;A\n;end 0|",
                         want_b, ref.msgs[1].key, ref.msgs[0].key);
    assert_string_equal(l.log, want);
    free(want);
    free(want_b);
    mbox_ref_free(&ref);
    assert_contains(e.host.err, "no message at key 3");
    mbox_source_ops.close_folder(folder);
    mbt_close(&e, 0);
    free(url);
    free(path);
    mp_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_parameter_is_checked),
        cmocka_unit_test(missing_path_is_not_found),
        cmocka_unit_test(file_store_is_one_inbox),
        cmocka_unit_test(files_that_are_not_mboxes),
        cmocka_unit_test(compressed_files_read_like_plain_ones),
        cmocka_unit_test(corrupt_compressed_file_is_a_folder_error),
        cmocka_unit_test(directory_store_nests_and_isolates_bad_files),
        cmocka_unit_test(identity_comes_from_unquoted_header_block),
        cmocka_unit_test(fetch_reports_unknown_keys_per_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
