/* The progress line (issue 11): on a terminal it is redrawn in place,
 * never wider than the terminal (a line that wraps cannot be redrawn: in a
 * 40-column terminal it scrolled, 67 lines in 20 s), it counts messages as
 * they are handed to the destination rather than in batch steps, and the
 * summary follows it on a clean line. Run on a real pseudo-terminal whose
 * width is set with stty. */
#include "../targz/pty_run.h"
#include "testutil.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSGS 400

/* A Maildir of MSGS 60 kB messages, half in INBOX, half in Work. */
static char *make_source(const char *dir)
{
    char *src = mp_strf("%s/src", dir);
    assert_int_equal(mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp' '%s/.Work/cur' "
                           "'%s/.Work/new' '%s/.Work/tmp'",
                           src, src, src, src, src, src),
                     0);
    char *body = malloc(60001);
    for (int k = 0; k < 60000; k++)
        body[k] = k % 61 == 60 ? '\n' : (char)('a' + k % 26);
    body[60000] = '\0';
    for (int i = 0; i < MSGS; i++) {
        char *p =
            mp_strf("%s/%scur/%d.p:2,S", src, i % 2 ? ".Work/" : "", 1000 + i);
        char *m = mp_strf("Subject: progress %d\n\n%s\n", i, body);
        mp_write_file(p, m, strlen(m));
        free(m);
        free(p);
    }
    free(body);
    return src;
}

/* Is PIECE one whole part of the progress line? */
static int is_part(const char *piece)
{
    static const char *const forms[] = {
        "^[0-9]+/[0-9]+ sent$",
        "^[0-9]+\\.[0-9] MB$",
        "^[0-9]+ msg/s$",
        "^[0-9]+\\.[0-9] MB/s$",
        "^[0-9]+:[0-9][0-9] left$",
        "^(INBOX|Work)( and [0-9]+ more)?$",
        "^[0-9]+ (copied|present|failed)$",
        "^job 0: maildir:.*/dst-batch$",
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        regex_t re;
        assert_int_equal(regcomp(&re, forms[i], REG_EXTENDED | REG_NOSUB), 0);
        int ok = regexec(&re, piece, 0, NULL, 0) == 0;
        regfree(&re);
        if (ok)
            return 1;
    }
    return 0;
}

/* Run SHELL_LINE on a pseudo-terminal COLS wide; check every progress
 * line: within the width, "mailport: " and whole parts only. Returns the
 * transcript; *SEEN gets every part shown, each once, "|"-separated. */
static char *run_at(int cols, const char *shell_line, char **seen)
{
    char *line = mp_strf("stty cols %d && exec %s", cols, shell_line);
    const char *argv[] = {"sh", "-c", line, NULL};
    size_t size = 1 << 20;
    char *out = calloc(size, 1);
    int prompts = 0;
    assert_int_equal(pty_run(argv, NULL, &prompts, out, size), 0);
    free(line);
    *seen = strdup("|");
    int drawn = 0;
    /* Each redraw is "\r\033[K" then the line. */
    for (char *at = strstr(out, "\r\033[K"); at;
         at = strstr(at + 1, "\r\033[K")) {
        char *text = at + 4;
        size_t len = strcspn(text, "\r\n");
        if (len == 0 || strncmp(text, "mailport: copied ", 17) == 0)
            continue; /* the erase before the summary, and the summary */
        if (len > (size_t)cols - 1)
            fail_msg("a progress line of %zu columns in a %d-column "
                     "terminal: %.*s",
                     len, cols, (int)len, text);
        assert_true(strncmp(text, "mailport: ", 10) == 0);
        char *body = strndup(text + 10, len - 10);
        for (char *piece = body, *next; piece; piece = next) {
            next = strstr(piece, ", ");
            if (next) {
                *next = '\0';
                next += 2;
            }
            if (!is_part(piece))
                fail_msg("not a whole part: \"%s\" in \"%.*s\" (%d columns)",
                         piece, (int)len, text, cols);
            /* Remember the form, numbers left out. */
            char form[64];
            size_t w = 0;
            for (const char *c = piece; *c && w + 1 < sizeof form; c++)
                if (!(*c >= '0' && *c <= '9') && *c != '.' && *c != ':')
                    form[w++] = *c;
            form[w] = '\0';
            char *key = mp_strf("|%s|", form);
            if (!strstr(*seen, key)) {
                char *more = mp_strf("%s%s|", *seen, form);
                free(*seen);
                *seen = more;
            }
            free(key);
        }
        free(body);
        drawn++;
    }
    print_message("%d columns: %d redraws, parts %s\n", cols, drawn, *seen);
    assert_true(drawn >= 2);
    return out;
}

/* The summary starts a line of its own: erased first, not appended to a
 * progress line; and it is broken between its counts, not inside a word,
 * where the terminal is narrower than it. */
static void assert_summary(const char *out, int cols)
{
    const char *summary = strstr(out, "mailport: copied 400,");
    if (!summary)
        fail_msg("no summary in:\n%s", out);
    assert_true(summary - out >= 3 && strncmp(summary - 3, "\033[K", 3) == 0);
    for (const char *l = summary; *l;) {
        size_t len = strcspn(l, "\r\n");
        if (len > (size_t)cols)
            fail_msg("a summary line of %zu columns: %.*s", len, (int)len, l);
        l += len;
        l += strspn(l, "\r\n");
    }
    assert_non_null(strstr(summary, "failed 0,"));
}

/* At 40, 80 and 200 columns (a real pseudo-terminal, its width set with
 * stty): never wider than the terminal, parts left out whole where it is
 * narrow (never cut), and the wider the more it says: the folder at work
 * from 80 columns, rate, time left, bytes and counts at 200. */
static void test_line_fits_every_width(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("progress");
    char *src = make_source(dir);
    const char *bin = getenv("MAILPORT_BIN");
    assert_non_null(bin);
    static const int widths[] = {40, 80, 200};
    for (size_t i = 0; i < 3; i++) {
        /* A local copy of 24 MB can end before the first redraw (250 ms
         * in): the rate limit makes it last about 2 s wherever it runs. */
        char *cmd = mp_strf("'%s' copy maildir:'%s' maildir:'%s/dst%d' "
                            "--no-state --max-messages-per-second 200",
                            bin, src, dir, widths[i]);
        char *seen;
        char *out = run_at(widths[i], cmd, &seen);
        assert_summary(out, widths[i]);
        assert_non_null(strstr(seen, "|/ sent|"));
        if (widths[i] >= 80) {
            assert_true(strstr(seen, "|INBOX|") || strstr(seen, "|Work|"));
            assert_non_null(strstr(seen, "| msg/s|"));
            assert_non_null(strstr(seen, "| left|"));
        }
        if (widths[i] >= 200) {
            assert_non_null(strstr(seen, "| MB|"));
            assert_non_null(strstr(seen, "| MB/s|"));
            assert_non_null(strstr(seen, "| copied|"));
            assert_non_null(strstr(seen, "| failed|"));
        }
        free(seen);
        free(out);
        free(cmd);
    }
    /* In batch, the job is named. */
    char *jobs = mp_strf("%s/jobs.txt", dir);
    char *job = mp_strf("maildir:%s maildir:%s/dst-batch "
                        "--no-state --max-messages-per-second 200\n",
                        src, dir);
    mp_write_file(jobs, job, strlen(job));
    char *cmd = mp_strf("'%s' batch '%s'", bin, jobs);
    char *seen;
    char *out = run_at(200, cmd, &seen);
    assert_non_null(strstr(seen, "|job  maildir"));
    assert_non_null(strstr(seen, "/dst-batch|"));
    free(seen);
    free(out);
    free(cmd);
    free(job);
    free(jobs);
    mp_rm_rf(dir);
    free(src);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_fits_every_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
