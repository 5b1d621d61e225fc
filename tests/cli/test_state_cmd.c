/* Issue 12, state housekeeping: `mailport state list` shows every state file
 * of the default state folder with its two endpoints (no parameter, no
 * password), size and last run; `state forget SOURCE DEST` and `--all`
 * remove them, but not one a live run is using. The IMAP pair runs against
 * the test Dovecot with the password inside the URL, which must not reach
 * the state file. */
#include "dovecot.h"
#include "state.h"
#include "testutil.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static mp_dovecot *dv;
static char *dir, *state_dir, *sample;

static int setup(void **state)
{
    (void)state;
    dv = mp_dovecot_start();
    mp_dovecot_add_user(dv, "alice", "pw-of-alice");
    dir = mp_tmpdir("state-cmd");
    char *st = mp_strf("%s/st", dir);
    setenv("XDG_STATE_HOME", st, 1);
    state_dir = mp_strf("%s/mailport", st);
    free(st);
    sample = mp_strf("%s/examples/sample.mbox", MP_TEST_SOURCE_DIR);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_dovecot_stop(dv);
    mp_rm_rf(dir);
    free(dir);
    free(state_dir);
    free(sample);
    return 0;
}

/* The "  file      PATH" line following the entry line HEAD in a state
 * list (malloc'd PATH). */
static char *entry_file(const char *out, const char *head)
{
    char *line = mp_strf("%s\n  file      ", head);
    const char *at = strstr(out, line);
    if (!at)
        fail_msg("no entry \"%s\" in:\n%s", head, out);
    at += strlen(line);
    free(line);
    return strndup(at, strcspn(at, "\n"));
}

/* The state file's bytes (database and write-ahead log) hold NEEDLE? */
static int state_holds(const char *path, const char *needle)
{
    int found = 0;
    for (int i = 0; i < 2; i++) {
        char *p = mp_strf("%s%s", path, i ? "-wal" : "");
        if (mp_file_exists(p)) {
            size_t len;
            char *bytes = mp_read_file(p, &len);
            found |= memmem(bytes, len, needle, strlen(needle)) != NULL;
            free(bytes);
        }
        free(p);
    }
    return found;
}

static long long state_size(const char *path)
{
    struct stat st;
    long long size = 0;
    char *wal = mp_strf("%s-wal", path);
    if (stat(path, &st) == 0)
        size += st.st_size;
    if (stat(wal, &st) == 0)
        size += st.st_size;
    free(wal);
    return size;
}

/* Two local pairs and an IMAP one, listed; then forgotten one by one. */
static void list_and_forget(void **state)
{
    (void)state;
    char *src_a = mp_strf("mbox:%s", sample);
    char *dst_a = mp_strf("maildir:%s/a?layout=fs", dir);
    char *dst_b = mp_strf("maildir:%s/b", dir);
    char *imap = mp_strf("imap://alice:pw-of-alice@127.0.0.1:%d?cafile=%s",
                         mp_dovecot_port(dv), mp_dovecot_cafile(dv));
    char *dst_c = mp_strf("maildir:%s/c", dir);
    mp_run_result r = mp_run("state", "list", NULL);
    assert_int_equal(r.exit_code, 0);
    char *none = mp_strf("no sync state in %s\n", state_dir);
    assert_string_equal(r.out, none);
    mp_run_free(&r);

    time_t t0 = time(NULL);
    r = mp_run("copy", src_a, dst_a, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    r = mp_run("copy", src_a, dst_b, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    /* Mail for the IMAP pair. */
    r = mp_run("copy", src_a, mp_dovecot_url(dv, "starttls", "alice"), NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    r = mp_run("copy", imap, dst_c, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    time_t t1 = time(NULL);

    r = mp_run("state", "list", NULL);
    assert_int_equal(r.exit_code, 0);
    char *head_a = mp_strf("mbox:%s -> maildir:%s/a", sample, dir);
    char *head_b = mp_strf("mbox:%s -> maildir:%s/b", sample, dir);
    char *head_c = mp_strf("imap://alice@127.0.0.1:%d -> maildir:%s/c",
                           mp_dovecot_port(dv), dir);
    char *file_a = entry_file(r.out, head_a);
    char *file_b = entry_file(r.out, head_b);
    char *file_c = entry_file(r.out, head_c);
    /* Four pairs: the upload into IMAP has one too. */
    size_t entries = 0;
    for (const char *p = r.out; (p = strstr(p, "\n  file ")); p++)
        entries++;
    assert_int_equal(entries, 4);
    /* Parameters and the password are neither shown nor kept. */
    assert_null(strstr(r.out, "layout"));
    assert_null(strstr(r.out, "pw-of-alice"));
    assert_null(strstr(r.out, "cafile"));
    assert_false(state_holds(file_a, "layout=fs"));
    assert_false(state_holds(file_c, "pw-of-alice"));
    assert_false(state_holds(file_c, mp_dovecot_cafile(dv)));
    /* Size and last run of one entry, exactly. */
    const char *entry = strstr(r.out, head_a);
    char *size_line =
        mp_strf("  size      %lld bytes\n  last run  ", state_size(file_a));
    const char *at = strstr(entry, size_line);
    assert_non_null(at);
    struct tm tm = {0};
    const char *end =
        strptime(at + strlen(size_line), "%Y-%m-%d %H:%M:%S", &tm);
    assert_non_null(end);
    assert_true(strncmp(end, " UTC\n", 5) == 0);
    time_t when = timegm(&tm);
    assert_true(when >= t0 && when <= t1);
    mp_run_free(&r);

    /* Forget one pair, spelt as copy was given it. */
    r = mp_run("state", "forget", src_a, dst_a, NULL);
    assert_int_equal(r.exit_code, 0);
    char *forgot = mp_strf("forgot %s (%s)\n", head_a, file_a);
    assert_string_equal(r.out, forgot);
    mp_run_free(&r);
    for (int i = 0; i < 3; i++) {
        char *p =
            mp_strf("%s%s", file_a, (const char *[]){"", "-wal", "-shm"}[i]);
        assert_false(mp_file_exists(p));
        free(p);
    }
    assert_true(mp_file_exists(file_b));
    r = mp_run("state", "list", NULL);
    assert_null(strstr(r.out, head_a));
    assert_non_null(strstr(r.out, head_b));
    mp_run_free(&r);
    /* Again: nothing there to forget. */
    r = mp_run("state", "forget", src_a, dst_a, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "no sync state for");
    mp_run_free(&r);
    /* The next copy of the forgotten pair finds what is there by content. */
    r = mp_run("copy", src_a, dst_a, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "copied 0, already present 5");
    mp_run_free(&r);

    /* A state a live run holds stays. A process named mailport stands in
     * for the run (the check reads /proc/PID/comm). */
    char *fake = mp_strf("%s/mailport", dir);
    assert_int_equal(mp_sh("cp /bin/sleep '%s'", fake), 0);
    pid_t pid = fork();
    if (pid == 0) {
        execl(fake, "mailport", "60", (char *)NULL);
        _exit(127);
    }
    usleep(200000);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(file_b, &db), SQLITE_OK);
    char *sql = mp_strf("INSERT INTO runs VALUES(%ld, 0)", (long)pid);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    r = mp_run("state", "forget", src_a, dst_b, NULL);
    assert_int_equal(r.exit_code, 2);
    char *busy =
        mp_strf("another mailport (pid %ld) is using the sync state %s",
                (long)pid, file_b);
    assert_contains(r.err, busy);
    assert_true(mp_file_exists(file_b));
    mp_run_free(&r);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    /* A state file an earlier mailport wrote records no endpoints. */
    char *old = mp_strf("%s/old-000000000000.sqlite", state_dir);
    char err[256];
    mp_state_close(mp_state_open(old, err, sizeof err));
    r = mp_run("state", "list", NULL);
    assert_contains(r.out, "(endpoints not recorded: written by an earlier "
                           "mailport; its next copy records them)\n  file  "
                           "    ");
    mp_run_free(&r);

    /* --all: every file, the one the dead run left included. */
    r = mp_run("state", "forget", "--all", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, head_b);
    assert_contains(r.out, head_c);
    mp_run_free(&r);
    r = mp_run("state", "list", NULL);
    assert_string_equal(r.out, none);
    mp_run_free(&r);
    assert_false(mp_file_exists(file_c));

    /* Usage errors. */
    r = mp_run("state", "forget", NULL);
    assert_int_equal(r.exit_code, 2);
    mp_run_free(&r);
    r = mp_run("state", "forget", "--all", src_a, dst_a, NULL);
    assert_int_equal(r.exit_code, 2);
    mp_run_free(&r);
    r = mp_run("state", "tidy", NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "unknown subcommand \"tidy\"");
    mp_run_free(&r);

    free(old);
    free(busy);
    free(sql);
    free(fake);
    free(forgot);
    free(size_line);
    free(file_a);
    free(file_b);
    free(file_c);
    free(head_a);
    free(head_b);
    free(head_c);
    free(none);
    free(src_a);
    free(dst_a);
    free(dst_b);
    free(dst_c);
    free(imap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_and_forget),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
