/* Random mbox-like files, built from the pieces that matter to a splitter
 * (From_ lines, quoted lines, empty LF and CRLF lines, bare CRs, missing
 * final newlines), must split exactly as the reference split does. A fixed
 * seed keeps runs reproducible. */
#include "mbox_reference.h"
#include "mbox_testkit.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const pieces[] = {
    "From a Mon Jan  1 00:00:00 2001\n",
    "From b\r\n",
    "\nFrom c Tue Jan  2 00:00:00 2001\n",
    "\r\nFrom d\r\n",
    "From ",
    "\n",
    "\r\n",
    "\r",
    ">From x\n",
    ">>From y\r\n",
    ">From",
    "text line\n",
    "Status: RO\n",
    "Content-Length: 3\n",
    " From z\n",
    ">",
    "\xEF\xBB\xBF",
    " \t",
};

static unsigned next_random(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7fff;
}

static void random_files_split_like_the_reference(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mbox-random");
    char *path = mp_strf("%s/r.mbox", dir);
    char *url = mp_strf("mbox:%s", path);
    unsigned seed = 20240601u;
    size_t npieces = sizeof pieces / sizeof *pieces;
    size_t ok_files = 0, messages = 0;
    for (int round = 0; round < 3000; round++) {
        char buf[4096];
        size_t len = 0;
        /* Most files start like an mbox, so the split itself is exercised. */
        if (next_random(&seed) % 4 != 0) {
            memcpy(buf, pieces[0], strlen(pieces[0]));
            len = strlen(pieces[0]);
        }
        size_t count = next_random(&seed) % 40;
        for (size_t i = 0; i < count; i++) {
            const char *p = pieces[next_random(&seed) % npieces];
            size_t n = strlen(p);
            if (len + n >= sizeof buf)
                break;
            memcpy(buf + len, p, n);
            len += n;
        }
        mp_write_file(path, buf, len);
        ref_split ref = mbox_ref_split(buf, len, 1);
        mbt_folder f = mbt_read(url, "INBOX");
        if (!ref.is_mbox) {
            if (f.status != MP_FOLDER_BAD || f.kind != MP_ERR_FORMAT)
                fail_msg("round %d: reference refuses, plugin status %d",
                         round, f.status);
        } else {
            if (f.status != MP_OK)
                fail_msg("round %d: plugin status %d: %s", round, f.status,
                         f.err);
            if (f.n != ref.n)
                fail_msg("round %d: %zu messages, reference %zu", round, f.n,
                         ref.n);
            for (size_t k = 0; k < ref.n; k++) {
                char key[32];
                snprintf(key, sizeof key, "%zu", ref.msgs[k].from_off);
                assert_string_equal(f.msgs[k].key, key);
                if (f.msgs[k].len != ref.msgs[k].len ||
                    memcmp(f.msgs[k].data, ref.msgs[k].data,
                           ref.msgs[k].len) != 0)
                    fail_msg("round %d: message %zu differs", round, k);
                assert_int_equal(f.msgs[k].size, ref.msgs[k].len);
            }
            ok_files++;
            messages += ref.n;
        }
        mbt_folder_free(&f);
        mbox_ref_free(&ref);
    }
    print_message("%zu mbox files, %zu messages\n", ok_files, messages);
    /* The generator must reach both outcomes and real splits. */
    assert_true(ok_files > 1000);
    assert_true(messages > 3 * ok_files / 2);
    free(url);
    free(path);
    mp_rm_rf(dir);
    free(dir);
}

static mp_status put_bytes(void *folder, const char *buf, size_t len,
                           char *key, size_t key_size, unsigned *seed)
{
    mp_msg_info info = {.struct_size = sizeof info,
                        .key = "k",
                        .internal_date = 1000000000};
    void *p;
    mp_status st = mbox_sink_ops.put_begin(folder, &info, &p);
    for (size_t i = 0; st == MP_OK && i < len;) {
        size_t n = 1 + next_random(seed) % 16;
        if (n > len - i)
            n = len - i;
        st = mbox_sink_ops.put_write(p, buf + i, n);
        i += n;
    }
    if (st != MP_OK) {
        mbox_sink_ops.put_abort(p);
        return st;
    }
    return mbox_sink_ops.put_commit(p, key, key_size);
}

static void random_messages_survive_write_and_read(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mbox-random-rt");
    unsigned seed = 7u;
    size_t npieces = sizeof pieces / sizeof *pieces;
    for (int round = 0; round < 300; round++) {
        char *url = mp_strf("mbox:%s/rt%d.mbox", dir, round);
        mbt_endpoint e;
        assert_int_equal(mbt_open(&e, url, 1), MP_OK);
        void *folder;
        mp_folder_info info;
        assert_int_equal(
            mbox_sink_ops.open_folder(e.store, "INBOX", &folder, &info),
            MP_OK);
        size_t n = 1 + next_random(&seed) % 5;
        char msgs[5][1024];
        size_t lens[5];
        char keys[5][32];
        for (size_t m = 0; m < n; m++) {
            size_t len = 0, count = next_random(&seed) % 20;
            for (size_t i = 0; i < count; i++) {
                const char *p = pieces[next_random(&seed) % npieces];
                size_t k = strlen(p);
                if (len + k >= sizeof msgs[m] - 1)
                    break;
                memcpy(msgs[m] + len, p, k);
                len += k;
            }
            lens[m] = len;
            assert_int_equal(put_bytes(folder, msgs[m], len, keys[m], 32,
                                       &seed),
                             MP_OK);
            /* What a reader gets back: the bytes, with a newline added
             * when the last line was not ended. */
            if (len > 0 && msgs[m][len - 1] != '\n')
                msgs[m][lens[m]++] = '\n';
        }
        assert_int_equal(mbox_sink_ops.close_folder(folder), MP_OK);
        mbt_close(&e, 1);
        mbt_folder f = mbt_read(url, "INBOX");
        if (f.status != MP_OK || f.n != n)
            fail_msg("round %d: status %d, %zu of %zu messages", round,
                     f.status, f.n, n);
        for (size_t m = 0; m < n; m++) {
            assert_string_equal(f.msgs[m].key, keys[m]);
            if (f.msgs[m].len != lens[m] ||
                memcmp(f.msgs[m].data, msgs[m], lens[m]) != 0)
                fail_msg("round %d: message %zu changed", round, m);
        }
        mbt_folder_free(&f);
        free(url);
    }
    mp_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_files_split_like_the_reference),
        cmocka_unit_test(random_messages_survive_write_and_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
