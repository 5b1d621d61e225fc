/* Random mbox-like files, built from the pieces that matter to a splitter
 * (From_ lines, quoted lines, empty LF and CRLF lines, bare CRs, missing
 * final newlines), must split exactly as the reference split does. A fixed
 * seed keeps runs reproducible. */
#include "mbox_headers.h"
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
    /* What the From_ rules judge: a message after a dated or a bare-sender
     * From_ line, and body lines that only look like From_ lines. */
    "Subject: s\n",
    "\nFrom e Wed Jan  3 00:00:00 2001\nSubject: e\n",
    "\nFrom -\r\nX-Mozilla-Status: 0001\r\n",
    "\nFrom the desk of the treasurer: ...\n",
    "From f@x Thu Jan  4 00:00:00 2001\n",
    "From Russia with love\nYear: 1963\n",
};

static unsigned next_random(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7fff;
}

/* Up to 40 random pieces into BUF (CAP bytes), after pieces[0] (a From_
 * line) when AS_MBOX; returns the length. */
static size_t random_file(char *buf, size_t cap, unsigned *seed, int as_mbox)
{
    size_t npieces = sizeof pieces / sizeof *pieces, len = 0;
    if (as_mbox) {
        len = strlen(pieces[0]);
        memcpy(buf, pieces[0], len);
    }
    size_t count = next_random(seed) % 40;
    for (size_t i = 0; i < count; i++) {
        const char *p = pieces[next_random(seed) % npieces];
        size_t n = strlen(p);
        if (len + n >= cap)
            break;
        memcpy(buf + len, p, n);
        len += n;
    }
    return len;
}

static void random_files_split_like_the_reference(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mbox-random");
    char *path = mp_strf("%s/r.mbox", dir);
    char *url = mp_strf("mbox:%s", path);
    unsigned seed = 20240601u;
    size_t ok_files = 0, messages = 0;
    for (int round = 0; round < 3000; round++) {
        char buf[4096];
        /* Most files start like an mbox, so the split itself is exercised. */
        size_t len =
            random_file(buf, sizeof buf, &seed, next_random(&seed) % 4 != 0);
        mp_write_file(path, buf, len);
        ref_split ref = mbox_ref_split(buf, len, 1);
        mbt_folder f = mbt_read(url, "INBOX");
        if (!ref.is_mbox) {
            if (f.status != MP_FOLDER_BAD || f.kind != MP_ERR_FORMAT)
                fail_msg("round %d: reference refuses, plugin status %d", round,
                         f.status);
        } else {
            if (f.status != MP_OK)
                fail_msg("round %d: plugin status %d: %s", round, f.status,
                         f.err);
            if (f.n != ref.n)
                fail_msg("round %d: %zu messages, reference %zu", round, f.n,
                         ref.n);
            for (size_t k = 0; k < ref.n; k++) {
                const char *key = ref.msgs[k].key;
                assert_string_equal(f.msgs[k].key, key);
                if (f.msgs[k].len != ref.msgs[k].len ||
                    memcmp(f.msgs[k].data, ref.msgs[k].data, ref.msgs[k].len) !=
                        0)
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

/* Splitting loses no byte: read without unquoting, the file is the bytes
 * before the first From_ line, then for each message its From_ line, its
 * bytes and one empty separator line (optional after the last). */
static void random_files_split_without_losing_a_byte(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mbox-lossless");
    char *path = mp_strf("%s/r.mbox", dir);
    char *url = mp_strf("mbox:%s?format=mboxo", path);
    unsigned seed = 14u;
    size_t checked = 0;
    for (int round = 0; round < 1000; round++) {
        char buf[4096];
        size_t len = random_file(buf, sizeof buf, &seed, 1);
        mp_write_file(path, buf, len);
        mbt_folder f = mbt_read(url, "INBOX");
        if (f.status != MP_OK)
            fail_msg("round %d: status %d: %s", round, f.status, f.err);
        /* Keys name content, not places: the From_ line offsets come from
         * the reference, whose keys must be the plugin's. */
        ref_split ref = mbox_ref_split(buf, len, 0);
        if (ref.n != f.n)
            fail_msg("round %d: %zu messages, reference %zu", round, f.n,
                     ref.n);
        size_t at = 0;
        for (size_t k = 0; k < f.n; k++) {
            assert_string_equal(f.msgs[k].key, ref.msgs[k].key);
            size_t key = ref.msgs[k].from_off;
            if (k == 0)
                at = key;
            if (key != at)
                fail_msg("round %d: message %zu at %zu, bytes end at %zu",
                         round, k, key, at);
            const char *nl = memchr(buf + at, '\n', len - at);
            at = nl ? (size_t)(nl - buf) + 1 : len;
            if (f.msgs[k].len > len - at ||
                memcmp(buf + at, f.msgs[k].data, f.msgs[k].len) != 0)
                fail_msg("round %d: message %zu is not the file's bytes", round,
                         k);
            at += f.msgs[k].len;
            size_t sep =
                len - at >= 1 && buf[at] == '\n'                          ? 1
                : len - at >= 2 && buf[at] == '\r' && buf[at + 1] == '\n' ? 2
                                                                          : 0;
            if (sep == 0 && !(k + 1 == f.n && at == len))
                fail_msg("round %d: no separator after message %zu", round, k);
            at += sep;
        }
        if (at != len)
            fail_msg("round %d: %zu bytes after the last message", round,
                     len - at);
        checked += f.n;
        mbox_ref_free(&ref);
        mbt_folder_free(&f);
    }
    assert_true(checked > 1000);
    free(url);
    free(path);
    mp_rm_rf(dir);
    free(dir);
}

static mp_status put_bytes(void *folder, const char *buf, size_t len, char *key,
                           size_t key_size, unsigned *seed)
{
    mp_msg_info info = {
        .struct_size = sizeof info, .key = "k", .internal_date = 1000000000};
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
            mbox_sink_ops.open_folder(e.store, "INBOX", &folder, &info), MP_OK);
        size_t n = 1 + next_random(&seed) % 5;
        char msgs[5][1024];
        size_t lens[5];
        char keys[5][32];
        for (size_t m = 0; m < n; m++) {
            static const char field[] = "Subject: m\n";
            size_t len = sizeof field - 1, count = next_random(&seed) % 20;
            for (size_t i = 0; i < count; i++) {
                const char *p = pieces[next_random(&seed) % npieces];
                size_t k = strlen(p);
                if (len + k >= sizeof msgs[m] - 1)
                    break;
                memcpy(msgs[m] + len, p, k);
                len += k;
            }
            /* A reader can tell where a message starts only by a header
             * field line, an empty line or the end after its From_ line,
             * so a message starting otherwise gets a field first. */
            const char *body = msgs[m] + sizeof field - 1;
            size_t body_len = len - (sizeof field - 1);
            size_t skip = 0;
            if (body_len == 0 || body[0] == '\n' ||
                (body_len > 1 && body[0] == '\r' && body[1] == '\n') ||
                mbox_is_field_line(body, body_len))
                skip = sizeof field - 1;
            else
                memcpy(msgs[m], field, sizeof field - 1);
            memmove(msgs[m], msgs[m] + skip, len - skip);
            len -= skip;
            lens[m] = len;
            assert_int_equal(
                put_bytes(folder, msgs[m], len, keys[m], 32, &seed), MP_OK);
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
        cmocka_unit_test(random_files_split_without_losing_a_byte),
        cmocka_unit_test(random_messages_survive_write_and_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
