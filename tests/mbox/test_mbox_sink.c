/* The mbox sink: framing, From-quoting on write, commit/abort, appending
 * to existing files, directory stores, refusals; read back by the source. */
#include "host.h"
#include "mbox_reference.h"
#include "mbox_testkit.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = mp_tmpdir("mbox-sink");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(dir);
    free(dir);
    return 0;
}

static const char *const messages[] = {
    "Subject: one\n\nFrom the start\n>From quoted\n>>From twice\n",
    "Subject: two\n\nno final newline",
    "",
    "Subject: four\n\nends with a blank line\n\n",
};

static void writes_mboxrd_and_reads_back(void **state)
{
    (void)state;
    for (size_t chunk = 1; chunk <= 64; chunk *= 4) {
        char *path = mp_strf("%s/rd-%zu.mbox", dir, chunk);
        char *url = mp_strf("mbox:%s", path);
        mbt_endpoint e;
        assert_int_equal(mbt_open(&e, url, 1), MP_OK);
        void *folder;
        mp_folder_info info;
        assert_int_equal(
            mbox_sink_ops.open_folder(e.store, "INBOX", &folder, &info), MP_OK);
        char keys[4][32];
        for (size_t i = 0; i < 4; i++)
            assert_int_equal(mbt_put(folder, messages[i], chunk,
                                     1032262115 + (int64_t)i, 0, keys[i], 32),
                             MP_OK);
        assert_int_equal(mbox_sink_ops.close_folder(folder), MP_OK);
        mbt_close(&e, 1);

        size_t len;
        char *file = mp_read_file(path, &len);
        static const char want[] =
            "From MAILER-DAEMON Tue Sep 17 11:28:35 2002\n"
            "Subject: one\n\n>From the start\n>>From quoted\n>>>From twice\n\n"
            "From MAILER-DAEMON Tue Sep 17 11:28:36 2002\n"
            "Subject: two\n\nno final newline\n\n"
            "From MAILER-DAEMON Tue Sep 17 11:28:37 2002\n\n"
            "From MAILER-DAEMON Tue Sep 17 11:28:38 2002\n"
            "Subject: four\n\nends with a blank line\n\n\n";
        assert_int_equal(len, sizeof want - 1);
        assert_memory_equal(file, want, len);
        free(file);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);

        mbt_folder f = mbt_read(url, "INBOX");
        assert_int_equal(f.status, MP_OK);
        assert_int_equal(f.n, 4);
        for (size_t i = 0; i < 4; i++) {
            assert_string_equal(f.msgs[i].key, keys[i]);
            assert_int_equal(f.msgs[i].date, 1032262115 + (int64_t)i);
        }
        assert_string_equal(f.msgs[0].data, messages[0]);
        assert_string_equal(f.msgs[1].data,
                            "Subject: two\n\nno final newline\n");
        assert_string_equal(f.msgs[2].data, messages[2]);
        assert_string_equal(f.msgs[3].data, messages[3]);
        mbt_folder_free(&f);
        free(url);
        free(path);
    }
}

static void writes_mboxo(void **state)
{
    (void)state;
    char *path = mp_strf("%s/o.mbox", dir);
    char *url = mp_strf("mbox:%s?format=mboxo", path);
    mbt_endpoint e;
    assert_int_equal(mbt_open(&e, url, 1), MP_OK);
    void *folder;
    mp_folder_info info;
    assert_int_equal(
        mbox_sink_ops.open_folder(e.store, "INBOX", &folder, &info), MP_OK);
    char key[32];
    assert_int_equal(mbt_put(folder, messages[0], 7, 0, 0, key, sizeof key),
                     MP_OK);
    assert_int_equal(mbox_sink_ops.close_folder(folder), MP_OK);
    mbt_close(&e, 1);
    size_t len;
    char *file = mp_read_file(path, &len);
    assert_string_equal(file, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n"
                              "Subject: one\n\n>From the start\n>From quoted\n"
                              ">>From twice\n\n");
    /* The key put_commit gave is the one a reader of the file finds. */
    ref_split ref = mbox_ref_split(file, len, 0);
    assert_int_equal(ref.n, 1);
    assert_string_equal(key, ref.msgs[0].key);
    mbox_ref_free(&ref);
    free(file);
    free(url);
    free(path);
}

typedef struct scan_log {
    char text[512];
} scan_log;

static mp_status log_msg(void *ctx, const mp_msg_info *info)
{
    scan_log *l = ctx;
    size_t n = strlen(l->text);
    assert_non_null(info->identity);
    snprintf(l->text + n, sizeof l->text - n, "%s %llu %u %lld;", info->key,
             (unsigned long long)info->size, info->flags,
             (long long)info->internal_date);
    return MP_OK;
}

static void abort_leaves_nothing_and_scan_sees_commits(void **state)
{
    (void)state;
    char *path = mp_strf("%s/abort.mbox", dir);
    /* An existing mbox whose last message has no separator line yet. */
    static const char before[] = "From x Mon Jan  1 00:00:00 2001\nS: 0\n\nold";
    mp_write_file(path, before, sizeof before - 1);
    char *url = mp_strf("mbox:%s", path);
    mbt_endpoint e;
    assert_int_equal(mbt_open(&e, url, 1), MP_OK);
    void *folder;
    mp_folder_info info;
    assert_int_equal(
        mbox_sink_ops.open_folder(e.store, "INBOX", &folder, &info), MP_OK);

    mp_msg_info mi = {
        .struct_size = sizeof mi, .key = "k", .internal_date = MP_DATE_UNKNOWN};
    void *p;
    assert_int_equal(mbox_sink_ops.put_begin(folder, &mi, &p), MP_OK);
    char big[100000];
    memset(big, 'a', sizeof big);
    assert_int_equal(mbox_sink_ops.put_write(p, big, sizeof big), MP_OK);
    mbox_sink_ops.put_abort(p);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, sizeof before - 1);

    char key[32];
    assert_int_equal(mbt_put(folder, "S: 1\n\nnew\n", 100, 978307200,
                             MP_FLAG_SEEN, key, sizeof key),
                     MP_OK);
    assert_int_equal(mbox_sink_ops.flush(folder), MP_OK);
    /* The old last message got its line ended and a separator, and the
     * reference split of the file finds the key put_commit gave. */
    size_t flen;
    char *file = mp_read_file(path, &flen);
    ref_split ref = mbox_ref_split(file, flen, 0);
    assert_int_equal(ref.n, 2);
    assert_int_equal(ref.msgs[1].from_off, sizeof before - 1 + 2);
    assert_string_equal(key, ref.msgs[1].key);

    scan_log log = {.text = ""};
    assert_int_equal(
        mbox_sink_ops.scan(folder, MP_SCAN_IDENTITY, log_msg, &log), MP_OK);
    /* The message's bytes are kept: flags passed to put_begin are not
     * written as Status headers, so the new message reads back unflagged. */
    char *want =
        mp_strf("%s 10 0 978307200;%s 10 0 978307200;", ref.msgs[0].key, key);
    assert_string_equal(log.text, want);
    free(want);
    mbox_ref_free(&ref);
    free(file);
    mbt_folder f;
    assert_int_equal(mbox_sink_ops.close_folder(folder), MP_OK);
    mbt_close(&e, 1);

    f = mbt_read(url, "INBOX");
    assert_int_equal(f.n, 2);
    assert_string_equal(f.msgs[0].data, "S: 0\n\nold\n");
    assert_string_equal(f.msgs[1].key, key);
    assert_string_equal(f.msgs[1].data, "S: 1\n\nnew\n");
    assert_int_equal(f.msgs[1].date, 978307200);
    mbt_folder_free(&f);
    free(url);
    free(path);
}

static mp_status open_sink_folder(const char *url, const char *name,
                                  mbt_endpoint *e, void **folder,
                                  mp_status *open_st)
{
    mp_folder_info info;
    *open_st = mbt_open(e, url, 1);
    if (*open_st != MP_OK)
        return *open_st;
    return mbox_sink_ops.open_folder(e->store, name, folder, &info);
}

static void directory_store_creates_private_tree(void **state)
{
    (void)state;
    char *url = mp_strf("mbox:%s/tree/", dir);
    mbt_endpoint e;
    void *folder;
    mp_status open_st;
    assert_int_equal(
        open_sink_folder(url, "lists/2024/dev", &e, &folder, &open_st), MP_OK);
    char key[32];
    assert_int_equal(mbt_put(folder, "S: x\n\ny\n", 3, 0, 0, key, sizeof key),
                     MP_OK);
    assert_int_equal(mbox_sink_ops.close_folder(folder), MP_OK);
    void *inbox;
    mp_folder_info info;
    assert_int_equal(mbox_sink_ops.open_folder(e.store, "INBOX", &inbox, &info),
                     MP_OK);
    assert_int_equal(mbox_sink_ops.close_folder(inbox), MP_OK);
    const char *unsafe[] = {"../escape", "a/../../b", "/abs",
                            ".hidden",   "a//b",      ""};
    for (size_t i = 0; i < sizeof unsafe / sizeof *unsafe; i++) {
        mp_host_clear_error(&e.host);
        assert_int_equal(
            mbox_sink_ops.open_folder(e.store, unsafe[i], &inbox, &info),
            MP_FOLDER_BAD);
        assert_int_equal(e.host.err_kind, MP_ERR_USAGE);
    }
    /* Sub-folders live in "NAME.sbd", so "lists" can hold messages too,
     * whatever order the folders come in. */
    assert_int_equal(mbox_sink_ops.open_folder(e.store, "lists", &inbox, &info),
                     MP_OK);
    assert_int_equal(mbt_put(inbox, "S: l\n\nl\n", 5, 0, 0, key, sizeof key),
                     MP_OK);
    assert_int_equal(mbox_sink_ops.close_folder(inbox), MP_OK);
    /* A plain directory already there (mutt style) is used as the parent,
     * and cannot itself hold messages. */
    char *p = mp_strf("%s/tree/plain", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    free(p);
    assert_int_equal(
        mbox_sink_ops.open_folder(e.store, "plain/x", &inbox, &info), MP_OK);
    assert_int_equal(mbox_sink_ops.close_folder(inbox), MP_OK);
    assert_int_equal(mbox_sink_ops.open_folder(e.store, "plain", &inbox, &info),
                     MP_FOLDER_BAD);
    assert_contains(e.host.err, "Is a directory");
    /* Names that would read back as something else are refused. */
    assert_int_equal(
        mbox_sink_ops.open_folder(e.store, "a.sbd/b", &inbox, &info),
        MP_FOLDER_BAD);
    assert_int_equal(e.host.err_kind, MP_ERR_USAGE);
    mbt_close(&e, 1);
    struct stat sb;
    p = mp_strf("%s/escape", dir);
    assert_false(mp_file_exists(p));
    free(p);
    p = mp_strf("%s/tree", dir);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    free(p);
    p = mp_strf("%s/tree/lists.sbd/2024.sbd", dir);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    free(p);
    p = mp_strf("%s/tree/lists.sbd/2024.sbd/dev", dir);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    free(p);
    p = mp_strf("%s/tree/plain/x", dir);
    assert_int_equal(stat(p, &sb), 0);
    free(p);

    char *names = mbt_list(url, 1);
    assert_string_equal(
        names, "INBOX|lists|lists/2024*|lists/2024/dev|plain*|plain/x");
    free(names);
    mbt_folder f = mbt_read(url, "lists/2024/dev");
    assert_int_equal(f.n, 1);
    assert_string_equal(f.msgs[0].data, "S: x\n\ny\n");
    mbt_folder_free(&f);
    f = mbt_read(url, "lists");
    assert_int_equal(f.n, 1);
    assert_string_equal(f.msgs[0].data, "S: l\n\nl\n");
    assert_int_equal(f.info.no_select, 0);
    mbt_folder_free(&f);
    f = mbt_read(url, "lists/2024");
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.info.no_select, 1);
    assert_int_equal(f.n, 0);
    mbt_folder_free(&f);
    free(url);
}

static void refuses_files_it_must_not_append_to(void **state)
{
    (void)state;
    mbt_endpoint e;
    void *folder;
    mp_status open_st;
    char *path = mp_strf("%s/notes.txt", dir);
    mp_write_file(path, "shopping list\n", 14);
    char *url = mp_strf("mbox:%s", path);
    assert_int_equal(open_sink_folder(url, "INBOX", &e, &folder, &open_st),
                     MP_FOLDER_BAD);
    assert_int_equal(e.host.err_kind, MP_ERR_FORMAT);
    assert_contains(e.host.err, "refusing to append to");
    assert_contains(e.host.err, path);
    mbt_close(&e, 1);
    size_t len;
    char *after = mp_read_file(path, &len);
    assert_string_equal(after, "shopping list\n");
    free(after);
    free(url);
    free(path);

    url = mp_strf("mbox:%s/mbox/mairix/animals.gz", mp_corpora());
    assert_int_equal(open_sink_folder(url, "INBOX", &e, &folder, &open_st),
                     MP_FOLDER_BAD);
    assert_contains(e.host.err, "compressed");
    mbt_close(&e, 1);
    free(url);

    url = mp_strf("mbox:%s/one.mbox", dir);
    assert_int_equal(open_sink_folder(url, "Sent", &e, &folder, &open_st),
                     MP_FOLDER_BAD);
    assert_int_equal(open_st, MP_OK);
    assert_contains(e.host.err, "only the folder INBOX");
    mbt_close(&e, 1);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_mboxrd_and_reads_back),
        cmocka_unit_test(writes_mboxo),
        cmocka_unit_test(abort_leaves_nothing_and_scan_sees_commits),
        cmocka_unit_test(directory_store_creates_private_tree),
        cmocka_unit_test(refuses_files_it_must_not_append_to),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
