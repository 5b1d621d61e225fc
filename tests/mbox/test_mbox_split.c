/* The splitter, mboxrd quoting both ways, From_ dates, Status flags and
 * Content-Length, driven through the source ops on small files. */
#include "mbox_date.h"
#include "mbox_headers.h"
#include "mbox_quote.h"
#include "mbox_split.h"
#include "mbox_testkit.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = mp_tmpdir("mbox-split");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(dir);
    free(dir);
    return 0;
}

/* Write TEXT (LEN bytes) to a file and read it back as folder INBOX. */
static mbt_folder read_bytes(const char *text, size_t len, const char *query)
{
    char *path = mp_strf("%s/in.mbox", dir);
    mp_write_file(path, text, len);
    char *url = mp_strf("mbox:%s%s", path, query ? query : "");
    mbt_folder f = mbt_read(url, "INBOX");
    free(url);
    free(path);
    return f;
}

#define READ(lit) read_bytes(lit, sizeof(lit) - 1, NULL)

static void assert_msg(const mbt_folder *f, size_t i, const char *key,
                       const char *bytes)
{
    assert_true(i < f->n);
    assert_string_equal(f->msgs[i].key, key);
    if (f->msgs[i].len != strlen(bytes) ||
        memcmp(f->msgs[i].data, bytes, f->msgs[i].len) != 0)
        fail_msg("message %zu: got [%s], want [%s]", i, f->msgs[i].data, bytes);
    assert_int_equal(f->msgs[i].size, strlen(bytes));
}

static void from_line_splits_only_at_start_or_after_blank(void **state)
{
    (void)state;
    mbt_folder f = READ("From a Mon Jan  1 00:00:00 2001\n"
                        "Subject: 1\n\nbody\nFrom inside, not split\n\n"
                        "From b Tue Jan  2 00:00:00 2001\n"
                        "Subject: 2\n\nx\n");
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.info.count, 2);
    assert_msg(&f, 0, "0", "Subject: 1\n\nbody\nFrom inside, not split\n");
    assert_msg(&f, 1, "73", "Subject: 2\n\nx\n");
    mbt_folder_free(&f);
}

static void only_one_separator_line_is_dropped(void **state)
{
    (void)state;
    mbt_folder f = READ("From a\nS: 1\n\nbody\n\n\nFrom b\nS: 2\n\nx\n\n");
    assert_int_equal(f.n, 2);
    assert_msg(&f, 0, "0", "S: 1\n\nbody\n\n");
    assert_msg(&f, 1, "20", "S: 2\n\nx\n");
    mbt_folder_free(&f);
}

static void empty_messages_and_adjacent_from_lines(void **state)
{
    (void)state;
    /* An empty line right after a From_ line is the separator of an empty
     * message; a From_ line right after a From_ line is body text. */
    mbt_folder f = READ("From a\n\nFrom b\nFrom c\n");
    assert_int_equal(f.n, 2);
    assert_msg(&f, 0, "0", "");
    assert_msg(&f, 1, "8", "From c\n");
    mbt_folder_free(&f);
}

static void crlf_files_split_and_keep_their_bytes(void **state)
{
    (void)state;
    mbt_folder f = READ("From a Mon Jan  1 00:00:00 2001\r\nS: 1\r\n\r\n"
                        "body\r\nFrom no\r\n\r\n"
                        "From b Tue Jan  2 00:00:00 2001\r\nS: 2\r\n\r\n"
                        "x\r\n\r\n");
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 2);
    assert_msg(&f, 0, "0", "S: 1\r\n\r\nbody\r\nFrom no\r\n");
    assert_msg(&f, 1, "58", "S: 2\r\n\r\nx\r\n");
    assert_int_equal(f.msgs[1].date, 978393600);
    mbt_folder_free(&f);
}

static void bom_and_leading_blank_lines_are_skipped(void **state)
{
    (void)state;
    mbt_folder f = READ("\xEF\xBB\xBF"
                        "From a\nS: 1\n\nx\n");
    assert_int_equal(f.n, 1);
    assert_msg(&f, 0, "3", "S: 1\n\nx\n");
    mbt_folder_free(&f);
    f = READ("\n \t\n\r\nFrom a\nS: 1\n\nx\n");
    assert_int_equal(f.n, 1);
    assert_msg(&f, 0, "6", "S: 1\n\nx\n");
    mbt_folder_free(&f);
}

static void empty_and_blank_files_hold_no_messages(void **state)
{
    (void)state;
    mbt_folder f = read_bytes("", 0, NULL);
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 0);
    assert_int_equal(f.info.count, 0);
    mbt_folder_free(&f);
    f = READ("\xEF\xBB\xBF\n\n  \n");
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 0);
    mbt_folder_free(&f);
}

static void trailing_message_without_final_newline(void **state)
{
    (void)state;
    mbt_folder f = READ("From a\nS: 1\n\nx\n\nFrom b\nS: 2\n\nlast line");
    assert_int_equal(f.n, 2);
    assert_msg(&f, 0, "0", "S: 1\n\nx\n");
    assert_msg(&f, 1, "16", "S: 2\n\nlast line");
    mbt_folder_free(&f);
    f = READ("From only-a-from-line");
    assert_int_equal(f.n, 1);
    assert_msg(&f, 0, "0", "");
    mbt_folder_free(&f);
}

#define QUOTED                                                                 \
    "From a\nS: 1\n>From hdr\n\n>From x\n>>From y\nFrom z not split\n"         \
    ">From\n a>From \n>>>From w"

static void mboxrd_unquotes_one_level(void **state)
{
    (void)state;
    mbt_folder f = READ(QUOTED);
    assert_int_equal(f.n, 1);
    assert_msg(&f, 0, "0",
               "S: 1\nFrom hdr\n\nFrom x\n>From y\nFrom z not split\n"
               ">From\n a>From \n>>From w");
    mbt_folder_free(&f);
}

static void mboxo_and_mboxcl_leave_quotes(void **state)
{
    (void)state;
    static const char text[] = QUOTED;
    const char *formats[] = {"?format=mboxo", "?format=mboxcl",
                             "?format=mboxcl2"};
    for (size_t i = 0; i < 3; i++) {
        mbt_folder f = read_bytes(text, sizeof text - 1, formats[i]);
        assert_int_equal(f.status, MP_OK);
        assert_int_equal(f.n, 1);
        assert_msg(&f, 0, "0", text + 7);
        mbt_folder_free(&f);
    }
}

static void git_mboxrd_sample_matches_expected_bodies(void **state)
{
    (void)state;
    char *url = mp_strf("mbox:%s/mbox/git-t5100/sample.mboxrd", mp_corpora());
    mbt_folder f = mbt_read(url, "INBOX");
    free(url);
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 2);
    const char *expect[] = {"0001mboxrd", "0002mboxrd"};
    for (size_t i = 0; i < 2; i++) {
        char *path = mp_strf("%s/mbox/git-t5100/%s", mp_corpora(), expect[i]);
        size_t len;
        char *want = mp_read_file(path, &len);
        /* The expected files hold the body only: compare from the blank
         * line after the header. git keeps the separator line before the
         * next From_ line in its expected output; our contract drops it. */
        assert_true(len >= 2 && want[len - 1] == '\n' && want[len - 2] == '\n');
        len--;
        const char *body = strstr(f.msgs[i].data, "\n\n");
        assert_non_null(body);
        body += 2;
        assert_int_equal(strlen(body), len);
        assert_memory_equal(body, want, len);
        free(want);
        free(path);
    }
    mbt_folder_free(&f);
}

typedef struct sink_buf {
    char data[256];
    size_t len;
} sink_buf;

static int to_buf(void *ctx, const char *p, size_t n)
{
    sink_buf *b = ctx;
    assert_true(b->len + n <= sizeof b->data);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static void quoter_adds_one_level_in_any_chunking(void **state)
{
    (void)state;
    static const char in[] = "From x\n>From y\n>>From z\nFro\nFrom\n"
                             "no From here\n>Fro\n>\n\nFrom ";
    static const char rd[] = ">From x\n>>From y\n>>>From z\nFro\nFrom\n"
                             "no From here\n>Fro\n>\n\n>From ";
    static const char o[] = ">From x\n>From y\n>>From z\nFro\nFrom\n"
                            "no From here\n>Fro\n>\n\n>From ";
    static const char tail_in[] = "x\n>>Fro";
    for (int mode = 0; mode < 2; mode++) {
        const char *want = mode == 0 ? rd : o;
        for (size_t chunk = 1; chunk <= sizeof in; chunk++) {
            mbox_quoter q;
            mbox_quoter_init(&q, mode == 0);
            sink_buf b = {.len = 0};
            for (size_t i = 0; i < sizeof in - 1; i += chunk) {
                size_t n = sizeof in - 1 - i;
                assert_int_equal(mbox_quoter_feed(&q, in + i,
                                                  n < chunk ? n : chunk, to_buf,
                                                  &b),
                                 0);
            }
            assert_int_equal(mbox_quoter_finish(&q, to_buf, &b), 0);
            assert_int_equal(b.len, strlen(want));
            assert_memory_equal(b.data, want, b.len);
        }
        /* A line start held back at the end of the message comes out. */
        mbox_quoter q;
        mbox_quoter_init(&q, mode == 0);
        sink_buf b = {.len = 0};
        mbox_quoter_feed(&q, tail_in, sizeof tail_in - 1, to_buf, &b);
        mbox_quoter_finish(&q, to_buf, &b);
        assert_int_equal(b.len, sizeof tail_in - 1);
        assert_memory_equal(b.data, tail_in, b.len);
    }
}

static void unquote_finds_only_line_start_runs(void **state)
{
    (void)state;
    static const char t[] = ">From a\nx>From b\n>>From c\n>>Fromd\n";
    size_t len = sizeof t - 1;
    size_t q = mbox_next_quote(t, 0, 0, len);
    assert_int_equal(q, 0);
    q = mbox_next_quote(t, 0, q + 1, len);
    assert_int_equal(q, 17);
    q = mbox_next_quote(t, 0, q + 1, len);
    assert_int_equal(q, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(from_line_splits_only_at_start_or_after_blank),
        cmocka_unit_test(only_one_separator_line_is_dropped),
        cmocka_unit_test(empty_messages_and_adjacent_from_lines),
        cmocka_unit_test(crlf_files_split_and_keep_their_bytes),
        cmocka_unit_test(bom_and_leading_blank_lines_are_skipped),
        cmocka_unit_test(empty_and_blank_files_hold_no_messages),
        cmocka_unit_test(trailing_message_without_final_newline),
        cmocka_unit_test(mboxrd_unquotes_one_level),
        cmocka_unit_test(mboxo_and_mboxcl_leave_quotes),
        cmocka_unit_test(git_mboxrd_sample_matches_expected_bodies),
        cmocka_unit_test(quoter_adds_one_level_in_any_chunking),
        cmocka_unit_test(unquote_finds_only_line_start_runs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
