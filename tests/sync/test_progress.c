/* The progress line (issue 11): on a terminal it is redrawn in place,
 * never wider than the terminal (a line that wraps cannot be redrawn: in a
 * 40-column terminal it scrolled, 67 lines in 20 s), it counts messages as
 * they are handed to the destination rather than in batch steps, and the
 * summary follows it on a clean line. Run on a real pseudo-terminal whose
 * width is set with stty. */
#include "../targz/pty_run.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSGS 400

static void test_line_fits_a_narrow_terminal(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("progress");
    char *src = mp_strf("%s/src", dir);
    assert_int_equal(
        mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", src, src, src), 0);
    char *body = malloc(60001);
    for (int k = 0; k < 60000; k++)
        body[k] = k % 61 == 60 ? '\n' : (char)('a' + k % 26);
    body[60000] = '\0';
    for (int i = 0; i < MSGS; i++) {
        char *p = mp_strf("%s/cur/%d.p:2,S", src, 1000 + i);
        char *m = mp_strf("Subject: progress %d\n\n%s\n", i, body);
        mp_write_file(p, m, strlen(m));
        free(m);
        free(p);
    }
    free(body);
    const char *bin = getenv("MAILPORT_BIN");
    assert_non_null(bin);
    /* A local copy of 24 MB can end before the first redraw (250 ms in):
     * the rate limit makes it last about 2 s wherever the test runs. */
    char *line = mp_strf("stty cols 40 && exec '%s' copy maildir:'%s' "
                         "maildir:'%s/dst' --no-state "
                         "--max-messages-per-second 200",
                         bin, src, dir);
    const char *argv[] = {"sh", "-c", line, NULL};
    size_t size = 1 << 20;
    char *out = calloc(size, 1);
    int prompts = 0;
    assert_int_equal(pty_run(argv, NULL, &prompts, out, size), 0);
    /* Each redraw is "\r\033[K" then the line. */
    int drawn = 0;
    for (char *at = strstr(out, "\r\033[K"); at;
         at = strstr(at + 1, "\r\033[K")) {
        char *text = at + 4;
        size_t len = strcspn(text, "\r\n");
        if (len == 0 || strncmp(text, "mailport: copied ", 17) == 0)
            continue; /* the erase before the summary, and the summary */
        if (len > 39)
            fail_msg("a progress line of %zu columns in a 40-column "
                     "terminal: %.*s",
                     len, (int)len, text);
        assert_true(strncmp(text, "mailport: ", 10) == 0);
        drawn++;
    }
    print_message("%d redraws\n", drawn);
    assert_true(drawn >= 1);
    char *summary = strstr(out, "mailport: copied 400,");
    if (!summary)
        fail_msg("no summary in:\n%s", out);
    /* The summary starts a line of its own: erased first, not appended to
     * a progress line; and it is broken between its counts, not inside a
     * word, where the terminal is narrower than it. */
    assert_true(summary - out >= 3 && strncmp(summary - 3, "\033[K", 3) == 0);
    for (char *l = summary; *l;) {
        size_t len = strcspn(l, "\r\n");
        if (len > 40)
            fail_msg("a summary line of %zu columns: %.*s", len, (int)len, l);
        l += len;
        l += strspn(l, "\r\n");
    }
    assert_non_null(strstr(summary, "failed 0,"));
    free(out);
    free(line);
    mp_rm_rf(dir);
    free(src);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_fits_a_narrow_terminal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
