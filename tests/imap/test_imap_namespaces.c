/* Folder names between servers that disagree, through the binary and
 * checked on the servers themselves (raw IMAP, not mailport):
 * - issue 13.3: a name holding the other side's delimiter ("GPR/GPA" on a
 *   '.' server, "v1.2" going to one) is copied under the substitute, and
 *   verify and --map agree with copy;
 * - issue 9.1: a Courier-style personal namespace ("INBOX." with '.'):
 *   inbox children stay inbox children in both directions. */
#include "testutil.h"

#include "dovecot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static mp_dovecot *dot;   /* separator '.', names may hold '/' */
static mp_dovecot *slash; /* separator '/', names may hold '.' */
static mp_dovecot *pfx;   /* personal namespace "INBOX.", separator '.' */

static int setup(void **state)
{
    (void)state;
    mp_dovecot_opts d = {.separator = '.', .listescape = 1};
    mp_dovecot_opts s = {.separator = '/', .listescape = 1};
    mp_dovecot_opts p = {.separator = '.', .prefix = "INBOX."};
    dot = mp_dovecot_start_opts(&d);
    slash = mp_dovecot_start_opts(&s);
    pfx = mp_dovecot_start_opts(&p);
    mp_dovecot_add_users(dot, "a", "pw-a", "a2", "pw-a2", "s", "pw-s",
                         (char *)NULL);
    mp_dovecot_add_users(slash, "b", "pw-b", "c", "pw-c", "d", "pw-d", "r",
                         "pw-r", "s1", "pw-s1", "s2", "pw-s2", "s3", "pw-s3",
                         (char *)NULL);
    mp_dovecot_add_users(pfx, "p1", "pw-p1", "p2", "pw-p2", (char *)NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_dovecot_stop(dot);
    mp_dovecot_stop(slash);
    mp_dovecot_stop(pfx);
    return 0;
}

/* ------------------------------------------------------------------------ */

static void create(mp_dovecot *d, const char *user, const char *server)
{
    char *cmd = mp_strf("CREATE \"%s\"", server);
    free(mp_dovecot_command(d, user, cmd));
    free(cmd);
}

/* N messages into server folder SERVER, created first unless INBOX. */
static void fill(mp_dovecot *d, const char *user, const char *server, int n)
{
    if (strcasecmp(server, "INBOX") != 0)
        create(d, user, server);
    for (int i = 0; i < n; i++) {
        char *msg = mp_strf("Message-ID: <%d.%s.%s@example.org>\r\n"
                            "Subject: %s %d\r\n\r\nbody %d\r\n",
                            i, user, server, server, i, i);
        char *cmd = mp_strf("APPEND \"%s\" (\\Seen) {%zu+}\r\n%s", server,
                            strlen(msg), msg);
        free(mp_dovecot_command(d, user, cmd));
        free(cmd);
        free(msg);
    }
}

/* Messages in server folder SERVER, from the server's STATUS; -1 when the
 * folder does not exist. */
static int status_count(mp_dovecot *d, const char *user, const char *server)
{
    char *cmd = mp_strf("?STATUS \"%s\" (MESSAGES)", server);
    char *answer = mp_dovecot_command(d, user, cmd);
    free(cmd);
    const char *m = strstr(answer, "(MESSAGES ");
    int n = m ? atoi(m + 10) : -1;
    if (!m && !strstr(answer, "t NO"))
        fail_msg("STATUS %s: unexpected answer\n%s", server, answer);
    free(answer);
    return n;
}

static void expect_count(mp_dovecot *d, const char *user, const char *server,
                         int want)
{
    int n = status_count(d, user, server);
    if (n != want)
        fail_msg("%s: folder \"%s\" holds %d messages, expected %d", user,
                 server, n, want);
}

/* The server's LIST of every folder (raw response). */
static char *list_all(mp_dovecot *d, const char *user)
{
    return mp_dovecot_command(d, user, "LIST \"\" \"*\"");
}

static char *url(mp_dovecot *d, const char *user)
{
    return mp_dovecot_url(d, "imap", user);
}

/* mailport CMD A [B --no-state [O1 [O2]]] must exit CODE, with OUT_HAS in
 * its stdout and ERR_HAS in its stderr (each unless NULL). */
static void run(int code, const char *out_has, const char *err_has,
                const char *cmd, const char *a, const char *b, const char *o1,
                const char *o2)
{
    mp_run_result r = b ? mp_run(cmd, a, b, "--no-state", o1, o2, (char *)NULL)
                        : mp_run(cmd, a, (char *)NULL);
    if (r.exit_code != code)
        fail_msg("mailport %s %s %s: exit %d, expected %d\nstdout:\n%s\n"
                 "stderr:\n%s",
                 cmd, a, b ? b : "", r.exit_code, code, r.out, r.err);
    if (out_has)
        assert_contains(r.out, out_has);
    if (err_has)
        assert_contains(r.err, err_has);
    mp_run_free(&r);
}

typedef struct want {
    const char *server; /* server name */
    int count;          /* messages; -1: the folder must not exist */
} want;

/* Every folder of WANT (up to one with a NULL name) as the server sees it. */
static void expect_counts(mp_dovecot *d, const char *user, const want *w)
{
    for (; w->server; w++) {
        int n = status_count(d, user, w->server);
        if (n != w->count)
            fail_msg("%s: folder \"%s\" holds %d messages, expected %d", user,
                     w->server, n, w->count);
    }
}

/* ------------------------------------------------------------------------ */
/* Issue 13.3: a delimiter inside a name.                                    */

static void test_slash_inside_names_to_slash_server(void **state)
{
    (void)state;
    fill(dot, "a", "GPR/GPA", 3);
    fill(dot, "a", "Jim / John", 2);
    fill(dot, "a", "Projects.Q1/Q2", 4); /* nested, '/' in the child */
    fill(dot, "a", "Plain", 1);
    fill(dot, "a", "INBOX", 1);
    char *src = url(dot, "a"), *dst = url(slash, "b");

    /* list shows the names copy will use. */
    run(0, "GPR_GPA", NULL, "list", src, NULL, NULL, NULL);
    run(0, "Jim _ John", NULL, "list", src, NULL, NULL, NULL);
    run(0, "Projects/Q1_Q2", NULL, "list", src, NULL, NULL, NULL);

    run(0, NULL, "copied 11, already present 0", "copy", src, dst, NULL, NULL);
    const want copied[] = {{"GPR_GPA", 3},
                           {"Jim _ John", 2},
                           {"Projects/Q1_Q2", 4},
                           {"Plain", 1},
                           {"INBOX", 1},
                           /* not nested by the '/' inside the names */
                           {"GPR", -1},
                           {"GPR/GPA", -1},
                           {"Jim ", -1},
                           {NULL, 0}};
    expect_counts(slash, "b", copied);

    /* verify maps the names as copy did, and sees into those folders: it
     * passes now, and fails once one of their messages is gone. */
    run(0, NULL, "verified 11 messages in 5 folders: 0 missing", "verify", src,
        dst, NULL, NULL);
    const char *expunge[] = {"SELECT \"Jim _ John\"",
                             "STORE 1 +FLAGS (\\Deleted)", "EXPUNGE", NULL};
    free(mp_dovecot_session(slash, "b", expunge));
    expect_count(slash, "b", "Jim _ John", 1);
    run(4, "missing      Jim _ John", NULL, "verify", src, dst, NULL, NULL);

    /* Back into the '.' server: the substituted names find the folders
     * they came from (nothing new is made, nothing is copied twice). */
    run(0, NULL, "copied 0, already present 10", "copy", dst, src, NULL, NULL);
    const want back[] = {
        {"GPR_GPA", -1}, {"Jim _ John", -1}, {"GPR/GPA", 3}, {NULL, 0}};
    expect_counts(dot, "a", back);
    free(src);
    free(dst);
}

/* --map renames a substituted folder; verify with the same --map agrees;
 * another substitute is taken from the URL. */
static void test_map_and_other_substitute(void **state)
{
    (void)state;
    char *src = url(dot, "a"); /* filled by the test before */
    char *dst = url(slash, "c");
    const char *map = "GPR_GPA=Archive/GPR-GPA";
    run(0, NULL, NULL, "copy", src, dst, "--map", map);
    const want mapped[] = {
        {"Archive/GPR-GPA", 3}, {"GPR_GPA", -1}, {"Jim _ John", 2}, {NULL, 0}};
    expect_counts(slash, "c", mapped);
    run(0, NULL, NULL, "verify", src, dst, "--map", map);
    /* Without the --map the renamed folder is not where verify looks. */
    run(4, "no_folder    GPR_GPA", NULL, "verify", src, dst, NULL, NULL);

    char *src2 = mp_strf("%s&delimiter_substitute=%%E2%%88%%95", src); /* ∕ */
    char *dst2 = url(slash, "d");
    run(0, NULL, NULL, "copy", src2, dst2, NULL, NULL);
    const want other[] = {{"GPR&IhU-GPA", 3}, /* "GPR∕GPA" */
                          {"Jim &IhU- John", 2},
                          {"GPR_GPA", -1},
                          {NULL, 0}};
    expect_counts(slash, "d", other);
    run(0, NULL, NULL, "verify", src2, dst2, NULL, NULL);
    free(src2);
    free(dst2);

    char *bad = mp_strf("%s&delimiter_substitute=.", src);
    run(2, NULL, "delimiter_substitute=.", "copy", bad, dst, NULL, NULL);
    free(bad);
    bad = mp_strf("%s&delimiter_sub=x", src);
    run(2, NULL, "unknown parameter \"delimiter_sub\"", "copy", bad, dst, NULL,
        NULL);
    free(bad);
    free(src);
    free(dst);
}

/* A mailport name part holding '.' going to a '.' server. */
static void test_dot_inside_names_to_dot_server(void **state)
{
    (void)state;
    fill(slash, "r", "v1.2", 2);
    fill(slash, "r", "v1.2/notes", 1);
    fill(slash, "r", "Mr. X", 3);
    char *src = url(slash, "r"), *dst = url(dot, "s");
    run(0, NULL, "copied 6, already present 0", "copy", src, dst, NULL, NULL);
    const want copied[] = {
        {"v1_2", 2}, {"v1_2.notes", 1}, {"Mr_ X", 3}, {"v1", -1}, {NULL, 0}};
    expect_counts(dot, "s", copied);
    run(0, NULL, "verified 6 messages in 4 folders: 0 missing", "verify", src,
        dst, NULL, NULL);
    free(src);
    free(dst);
}

/* ------------------------------------------------------------------------ */
/* Issue 9.1: the "INBOX." namespace.                                        */

static void test_into_inbox_namespace(void **state)
{
    (void)state;
    fill(slash, "s1", "INBOX", 2);
    fill(slash, "s1", "INBOX/COMPTA", 3);
    fill(slash, "s1", "INBOX/COMPTA/2024", 1);
    fill(slash, "s1", "Top", 1);
    fill(slash, "s1", "INBOX/v1.2", 2); /* and the other's delimiter */
    char *src = url(slash, "s1"), *dst = url(pfx, "p1");
    run(0, NULL, "copied 9, already present 0", "copy", src, dst, NULL, NULL);
    const want copied[] = {
        {"INBOX", 2},     {"INBOX.COMPTA", 3}, {"INBOX.COMPTA.2024", 1},
        {"INBOX.Top", 1}, {"INBOX.v1_2", 2},   {NULL, 0}};
    expect_counts(pfx, "p1", copied);
    char *list = list_all(pfx, "p1");
    if (strstr(list, "INBOX.INBOX"))
        fail_msg("an INBOX.INBOX folder was made:\n%s", list);
    free(list);
    run(0, NULL, "verified 9 messages in 5 folders: 0 missing", "verify", src,
        dst, NULL, NULL);
    free(src);
    free(dst);
}

static void test_out_of_inbox_namespace(void **state)
{
    (void)state;
    fill(pfx, "p2", "INBOX", 1);
    fill(pfx, "p2", "INBOX.COMPTA", 3);
    fill(pfx, "p2", "INBOX.Archive", 0);
    fill(pfx, "p2", "INBOX.Archive.2023", 2);
    char *src = url(pfx, "p2"), *dst = url(slash, "s2");
    run(0, "INBOX/COMPTA", NULL, "list", src, NULL, NULL, NULL);
    run(0, NULL, "copied 6, already present 0", "copy", src, dst, NULL, NULL);
    const want copied[] = {
        {"INBOX", 1},   {"INBOX/COMPTA", 3}, {"INBOX/Archive/2023", 2},
        {"COMPTA", -1}, {"Archive", -1},     {NULL, 0}};
    expect_counts(slash, "s2", copied);
    run(0, NULL, "verified 6 messages in 4 folders: 0 missing", "verify", src,
        dst, NULL, NULL);

    /* And what came into the namespace goes out as it went in. */
    free(src);
    free(dst);
    src = url(pfx, "p1");
    dst = url(slash, "s3");
    run(0, NULL, NULL, "copy", src, dst, NULL, NULL);
    const want out[] = {{"INBOX/COMPTA", 3},
                        {"INBOX/COMPTA/2024", 1},
                        {"INBOX/v1_2", 2},
                        {"INBOX/Top", 1},
                        {NULL, 0}};
    expect_counts(slash, "s3", out);
    free(src);
    free(dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slash_inside_names_to_slash_server),
        cmocka_unit_test(test_map_and_other_substitute),
        cmocka_unit_test(test_dot_inside_names_to_dot_server),
        cmocka_unit_test(test_into_inbox_namespace),
        cmocka_unit_test(test_out_of_inbox_namespace),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
