/* Issue 12, man pages and completion: the long options each command's
 * --help names are documented in that command's section of man/mailport.1.scd
 * (and the man page documents no option no --help knows), the README and
 * the man page name every command of `mailport --help`, and
 * completion/mailport.bash offers each command's options. A missing option
 * fails with its name. */
#include "testutil.h"

#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

#define MAXO 64
typedef struct { char *v[MAXO]; int n; } set;

static int has(const set *s, const char *o)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], o))
            return 1;
    return 0;
}
static void add(set *s, const char *o, size_t len)
{
    char *x = strndup(o, len);
    if (has(s, x) || s->n == MAXO) {
        free(x);
        return;
    }
    s->v[s->n++] = x;
}
static void clear(set *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
}
/* Every "--name" in TEXT (up to END, or its end). */
static void scan(set *s, const char *text, const char *end)
{
    if (!end)
        end = text + strlen(text);
    for (const char *p = text; p + 2 < end; p++) {
        if (p[0] != '-' || p[1] != '-' || !islower((unsigned char)p[2]))
            continue;
        if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '-'))
            continue;
        const char *q = p + 2;
        while (q < end && (islower((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '-'))
            q++;
        add(s, p, (size_t)(q - p));
        p = q - 1;
    }
}

static const char *const commands[] = {"copy", "verify", "list", "batch", "state"};
#define NCMD (sizeof commands / sizeof *commands)

static char *man;

static void help_opts(const char *cmd, set *s)
{
    mp_run_result r = mp_run(cmd, "--help", NULL);
    assert_int_equal(r.exit_code, 0);
    scan(s, r.out, NULL);
    scan(s, r.err, NULL);
    mp_run_free(&r);
}

/* The section "## CMD" of the man source: every option it mentions, and
 * those its definition lines ("*--opt* ...", "*-q*, *--quiet*") define. */
static void man_opts(const char *cmd, set *mentioned, set *defined)
{
    char *head = mp_strf("\n## %s\n", cmd);
    const char *sec = strstr(man, head);
    if (!sec)
        fail_msg("man/mailport.1.scd has no section \"## %s\"", cmd);
    sec += strlen(head);
    const char *end = strstr(sec, "\n#");
    if (!end)
        end = sec + strlen(sec);
    scan(mentioned, sec, end);
    for (const char *l = sec; l && l < end; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        const char *e = strchr(l, '\n');
        if (!e || e > end)
            e = end;
        if (l[0] == '*' && l[1] == '-')
            scan(defined, l, e);
    }
    free(head);
}

static void test_man_matches_help(void **state)
{
    (void)state;
    set all = {0};
    for (size_t c = 0; c < NCMD; c++)
        help_opts(commands[c], &all);
    int bad = 0;
    for (size_t c = 0; c < NCMD; c++) {
        set help = {0}, mentioned = {0}, defined = {0};
        help_opts(commands[c], &help);
        man_opts(commands[c], &mentioned, &defined);
        for (int i = 0; i < help.n; i++)
            if (!has(&mentioned, help.v[i])) {
                print_error("mailport %s --help names %s; its man section does not\n",
                            commands[c], help.v[i]);
                bad++;
            }
        for (int i = 0; i < defined.n; i++)
            if (!has(&all, defined.v[i])) {
                print_error("the man page documents %s %s; no --help names it\n",
                            commands[c], defined.v[i]);
                bad++;
            }
        clear(&help);
        clear(&mentioned);
        clear(&defined);
    }
    clear(&all);
    assert_int_equal(bad, 0);
}

static void test_every_command_is_documented(void **state)
{
    (void)state;
    mp_run_result r = mp_run("--help", NULL);
    assert_int_equal(r.exit_code, 0);
    char *readme = mp_read_file(MP_TEST_SOURCE_DIR "/README.md", NULL);
    const char *p = strstr(r.out, "Commands:\n");
    assert_non_null(p);
    p += strlen("Commands:\n");
    int n = 0, bad = 0;
    while (p[0] == ' ' && p[1] == ' ' && islower((unsigned char)p[2])) {
        size_t len = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz");
        char *cmd = strndup(p + 2, len);
        char *in_readme = mp_strf("mailport %s", cmd);
        char *in_man = mp_strf("\n## %s\n", cmd);
        if (!strstr(readme, in_readme)) {
            print_error("README.md does not mention \"%s\"\n", in_readme);
            bad++;
        }
        if (!strstr(man, in_man)) {
            print_error("man/mailport.1.scd has no section for %s\n", cmd);
            bad++;
        }
        free(cmd);
        free(in_readme);
        free(in_man);
        n++;
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
        while (!strncmp(p, "   ", 3)) /* a continued description */
            p = strchr(p, '\n') + 1;
    }
    assert_true(n >= 6);
    assert_int_equal(bad, 0);
    free(readme);
    mp_run_free(&r);
}

/* What the completion offers for "mailport CMD --". */
static void completion_opts(const char *cmd, set *s)
{
    char *out = mp_strf("%s/mp-compl-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                        (int)getpid());
    char *sh = mp_strf("bash -c 'source %s/completion/mailport.bash; "
                       "COMP_WORDS=(mailport %s --); COMP_CWORD=2; _mailport; "
                       "printf \"%%s\\n\" \"${COMPREPLY[@]}\"' > %s",
                       MP_TEST_SOURCE_DIR, cmd, out);
    assert_int_equal(mp_sh("%s", sh), 0);
    char *text = mp_read_file(out, NULL);
    scan(s, text, NULL);
    free(text);
    unlink(out);
    free(sh);
    free(out);
}

static void test_completion_matches_help(void **state)
{
    (void)state;
    set copy_defined = {0}, ignored = {0};
    man_opts("copy", &ignored, &copy_defined);
    int bad = 0;
    for (size_t c = 0; c < NCMD; c++) {
        set help = {0}, compl = {0}, mentioned = {0}, defined = {0};
        help_opts(commands[c], &help);
        completion_opts(commands[c], &compl);
        man_opts(commands[c], &mentioned, &defined);
        for (int i = 0; i < help.n; i++)
            if (!has(&compl, help.v[i])) {
                print_error("completion for %s lacks %s (in its --help)\n",
                            commands[c], help.v[i]);
                bad++;
            }
        for (int i = 0; i < defined.n; i++)
            if (!has(&compl, defined.v[i])) {
                print_error("completion for %s lacks %s (in its man section)\n",
                            commands[c], defined.v[i]);
                bad++;
            }
        for (int i = 0; i < compl.n; i++)
            if (strcmp(compl.v[i], "--help") && !has(&defined, compl.v[i]) &&
                !(strcmp(commands[c], "batch") == 0 && has(&copy_defined, compl.v[i]))) {
                print_error("completion for %s offers %s, which its man section "
                            "does not document\n", commands[c], compl.v[i]);
                bad++;
            }
        clear(&help);
        clear(&compl);
        clear(&mentioned);
        clear(&defined);
    }
    clear(&copy_defined);
    clear(&ignored);
    assert_int_equal(bad, 0);
}

/* URL schemes, and a local scheme's path completed with the part before the
 * last ':' left off (readline replaces only what follows it). */
static void test_completion_schemes_and_paths(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("compl");
    char *out = mp_strf("%s/out", dir);
    assert_int_equal(mp_sh("mkdir -p %s/Mail && bash -c 'source %s/completion/mailport.bash; "
                           "COMP_WORDBREAKS=\":\"; "
                           "COMP_LINE=\"mailport copy \"; COMP_POINT=${#COMP_LINE}; _mailport; "
                           "printf \"%%s\\n\" \"${COMPREPLY[@]}\"; "
                           "COMP_LINE=\"mailport copy maildir:%s/Ma\"; COMP_POINT=${#COMP_LINE}; "
                           "_mailport; printf \"%%s\\n\" \"${COMPREPLY[@]}\"' > %s",
                           dir, MP_TEST_SOURCE_DIR, dir, out),
                     0);
    char *text = mp_read_file(out, NULL);
    const char *want[] = {"maildir:\n", "mbox:\n", "imap://\n", "imaps://\n", "targz:\n",
                          "imap-backup:\n"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(text, want[i]))
            fail_msg("completion offers no scheme %s:\n%s", want[i], text);
    char *path = mp_strf("\n%s/Mail/\n", dir);
    if (!strstr(text, path))
        fail_msg("maildir:DIR/Ma did not complete to DIR/Mail/:\n%s", text);
    free(path);
    free(text);
    free(out);
    mp_rm_rf(dir);
    free(dir);
}

static int setup(void **state)
{
    (void)state;
    man = mp_read_file(MP_TEST_SOURCE_DIR "/man/mailport.1.scd", NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(man);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_man_matches_help),
        cmocka_unit_test(test_every_command_is_documented),
        cmocka_unit_test(test_completion_matches_help),
        cmocka_unit_test(test_completion_schemes_and_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
