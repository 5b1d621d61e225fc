/* Every file under corpora/mbox/ (compressed ones too) read through the
 * plugin must give exactly what an independent, deliberately naive
 * line-by-line reference split gives: same count, same keys, same bytes.
 * Files that are not mboxes must fail with the documented error. */
#include "mbox_reference.h"
#include "mbox_testkit.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_format(const char *format, int unquote_rd, size_t *total)
{
    char *root = mp_strf("%s/mbox", mp_corpora());
    size_t mboxes = 0, refused = 0;
    for (size_t i = 0; i < mbox_ref_n_files; i++) {
        const char *path = mbox_ref_files[i];
        const char *rel = path + strlen(root) + 1;
        size_t len;
        char *bytes = mbox_ref_file_bytes(path, &len);
        ref_split ref = mbox_ref_split(bytes, len, unquote_rd);
        free(bytes);
        char *url = mp_strf("mbox:%s%s", path, format);
        mbt_folder f = mbt_read(url, "INBOX");
        free(url);
        const char *err = mbox_ref_expected_error(rel);
        if (err) {
            if (ref.is_mbox)
                fail_msg("%s: the reference split reads it as an mbox", rel);
            if (f.status != MP_FOLDER_BAD || f.kind != MP_ERR_FORMAT)
                fail_msg("%s: status %d kind %d, want a format error", rel,
                         f.status, f.kind);
            assert_contains(f.err, path);
            assert_contains(f.err, err);
            refused++;
        } else {
            if (!ref.is_mbox)
                fail_msg("%s: not an mbox by the reference split", rel);
            if (f.status != MP_OK)
                fail_msg("%s: status %d: %s", rel, f.status, f.err);
            if (f.n != ref.n)
                fail_msg("%s: %zu messages, reference %zu", rel, f.n, ref.n);
            for (size_t k = 0; k < ref.n; k++) {
                const char *key = ref.msgs[k].key;
                if (strcmp(f.msgs[k].key, key) != 0)
                    fail_msg("%s: message %zu key %s, reference %s", rel, k,
                             f.msgs[k].key, key);
                if (f.msgs[k].len != ref.msgs[k].len ||
                    memcmp(f.msgs[k].data, ref.msgs[k].data, ref.msgs[k].len) !=
                        0)
                    fail_msg("%s: message %zu (key %s) differs: %zu bytes, "
                             "reference %zu",
                             rel, k, key, f.msgs[k].len, ref.msgs[k].len);
                if (f.msgs[k].size != ref.msgs[k].len)
                    fail_msg("%s: message %zu: scan size %llu, bytes %zu", rel,
                             k, (unsigned long long)f.msgs[k].size,
                             ref.msgs[k].len);
            }
            *total += ref.n;
            mboxes++;
        }
        mbt_folder_free(&f);
        mbox_ref_free(&ref);
    }
    assert_int_equal(refused, MBOX_REF_NOT_MBOX_COUNT);
    assert_int_equal(mboxes + refused, mbox_ref_n_files);
    free(root);
}

static void every_corpus_mbox_matches_the_reference(void **state)
{
    (void)state;
    size_t total = 0;
    check_format("", 1, &total);
    /* Sanity of the corpus walk itself: the big SpamAssassin file alone
     * holds 3,900 messages, and the .gz/.xz files were seen. */
    assert_true(total > 3900 + 500);
    size_t compressed = 0;
    for (size_t i = 0; i < mbox_ref_n_files; i++)
        compressed += strstr(mbox_ref_files[i], "animals.gz") ||
                      strstr(mbox_ref_files[i], "animals.xz");
    assert_int_equal(compressed, 2);
}

static void mboxo_leaves_quotes_in_place(void **state)
{
    (void)state;
    size_t total = 0;
    check_format("?format=mboxo", 0, &total);
}

static void spamassassin_count_and_dates(void **state)
{
    (void)state;
    char *url = mp_strf("mbox:%s/mbox/spamassassin-ham.mbox", mp_corpora());
    mbt_folder f = mbt_read(url, "INBOX");
    free(url);
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 3900);
    size_t dated = 0;
    for (size_t i = 0; i < f.n; i++)
        dated += f.msgs[i].date != MP_DATE_UNKNOWN;
    assert_int_equal(dated, 3900);
    mbt_folder_free(&f);
}

static int setup(void **state)
{
    (void)state;
    mbox_ref_collect_corpus();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mbox_ref_free_corpus();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_corpus_mbox_matches_the_reference),
        cmocka_unit_test(mboxo_leaves_quotes_in_place),
        cmocka_unit_test(spamassassin_count_and_dates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
