/* A dry run ends as the real run would (issue 13, "--dry-run plans
 * exactly as the real run"): a destination store or folder that the sink
 * would refuse is refused, or planned failed, with the real run's error,
 * exit code and report counts, though the dry run opens the destination
 * read-only (mp_source_ops.probe_sink). And folder names holding control
 * characters are printed escaped (core/engine/escape.h), kept real in the
 * JSON report. Each case runs the dry run first, then the real run, and
 * compares them. */
#include "sync_check.h"

#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef sync_fixture fixture;

static int setup(void **state)
{
    return sync_fixture_setup(state, "dryprobe");
}

#define teardown sync_fixture_teardown
#define path_of sync_path_of

#define SAMPLE MP_TEST_SOURCE_DIR "/examples/sample.mbox"

/* The report's first line up to and including "removed" (the keys a dry
 * run's report shares with the real run's). */
static char *totals_of(const char *report)
{
    const char *end = strstr(report, "\"removed\": ");
    assert_non_null(end);
    end += strcspn(end, ",\n");
    return mp_strf("%.*s", (int)(end - report), report);
}

/* The lines of TEXT starting "mailport: error: ", in order. */
static char *error_lines(const char *text)
{
    char *out = mp_strf("%s", "");
    for (const char *p = text; (p = strstr(p, "mailport: error: "));) {
        size_t n = strcspn(p, "\n");
        char *more = mp_strf("%s%.*s\n", out, (int)n, p);
        free(out);
        out = more;
        p += n;
    }
    return out;
}

/* Give F's source a second folder, Sub, with the sample's 5 messages. */
static void add_sub_folder(fixture *f)
{
    mp_run_result r = mp_run("copy", "mbox:" SAMPLE, f->src, "--map",
                             "INBOX=Sub", "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
}

/* Run `copy SRC DST --dry-run --report` and then the real `copy SRC DST
 * --report`; each must exit WANT_EXIT, both must say the same errors (some
 * unless WANT_EXIT is 0), and
 * the reports' totals must be equal. The dry run's stdout is handed back
 * (malloc'd) for its plan lines. RUN runs the binary. */
static char *dry_then_real(fixture *f, const char *dst, int want_exit,
                           mp_run_result (*run)(fixture *, const char *const *))
{
    char *planned = mp_strf("%s/planned.json", f->dir);
    const char *dry[] = {"copy",      f->src,     dst,     "--state", f->state,
                         "--dry-run", "--report", planned, NULL};
    mp_run_result d = run(f, dry);
    const char *real[] = {"copy",   f->src,     dst,       "--state",
                          f->state, "--report", f->report, NULL};
    mp_run_result r = run(f, real);
    assert_int_equal(d.exit_code, want_exit);
    assert_int_equal(r.exit_code, want_exit);
    char *de = error_lines(d.err), *re = error_lines(r.err);
    assert_string_equal(de, re);
    assert_int_equal(de[0] != '\0', want_exit != 0);
    char *pt = mp_read_file(planned, NULL), *rt = mp_read_file(f->report, NULL);
    char *want = totals_of(pt), *got = totals_of(rt);
    assert_string_equal(want, got);
    char *out = d.out;
    d.out = NULL;
    free(want);
    free(got);
    free(pt);
    free(rt);
    free(de);
    free(re);
    free(planned);
    mp_run_free(&d);
    mp_run_free(&r);
    return out;
}

static mp_run_result run_as_is(fixture *f, const char *const *args)
{
    (void)f;
    return mp_runv(args);
}

/* As mp_runv, but as an unprivileged user: root may write into any
 * directory whatever its mode, so when the test runs as root the binary
 * runs as nobody (setpriv), over a tree handed to nobody. */
static mp_run_result run_unprivileged(fixture *f, const char *const *args)
{
    if (geteuid() != 0)
        return mp_runv(args);
    assert_int_equal(
        mp_sh("chown -R 65534:65534 '%s' && chmod 0755 '%s'", f->dir, f->dir),
        0);
    const char *bin = getenv("MAILPORT_BIN");
    char *cmd =
        mp_strf("setpriv --reuid=65534 --regid=65534 --clear-groups '%s'",
                bin ? bin : MP_TEST_BINARY_DIR "/mailport");
    for (size_t i = 0; args[i]; i++) {
        char *more = mp_strf("%s '%s'", cmd, args[i]);
        free(cmd);
        cmd = more;
    }
    char *out = mp_strf("%s/run.out", f->dir),
         *err = mp_strf("%s/run.err", f->dir);
    mp_run_result r = {0};
    r.exit_code = mp_sh("%s </dev/null >'%s' 2>'%s'", cmd, out, err);
    r.out = mp_read_file(out, NULL);
    r.err = mp_read_file(err, NULL);
    unlink(out);
    unlink(err);
    free(out);
    free(err);
    free(cmd);
    return r;
}

/* The dry run into DST, then the real run (RUN): both exit 1; the plan
 * copies INBOX's 5 messages and says WANT (the whole line, taking WANT's
 * ownership) for Sub; both reports count 5 copied and 5 failed. */
static void sub_folder_fails_alike(fixture *f, const char *dst, char *want,
                                   mp_run_result (*run)(fixture *,
                                                        const char *const *))
{
    char *out = dry_then_real(f, dst, 1, run);
    assert_contains(out, want);
    assert_contains(out, "INBOX -> INBOX: 5 to copy");
    char *rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 5, 0, 0, 5);
    free(rep);
    free(want);
    free(out);
}

/* 13.A1: a Maildir destination that cannot be created (its parent is a
 * file) ends the dry run as it ends the real run: the same error, exit 3,
 * and nothing made. */
static void an_uncreatable_destination_fails_the_dry_run(void **state)
{
    fixture *f = *state;
    char *file = mp_strf("%s/a-file", f->dir);
    mp_write_file(file, "x", 1);
    char *dst = mp_strf("maildir:%s/dst", file);
    char *out = dry_then_real(f, dst, 3, run_as_is);
    assert_null(strstr(out, "to copy"));
    free(out);
    free(dst);
    free(file);
}

/* 13.A1: a read-only destination directory (mode 0555), run by a user
 * who cannot write it: empty, the store cannot be made (the run fails,
 * exit 3, in both); already a Maildir, INBOX is usable and the sub-folder
 * cannot be created: "would fail" for it, its 5 messages counted failed,
 * exit 1, the same counts as the real run's. */
static void a_read_only_destination_fails_alike(void **state)
{
    fixture *f = *state;
    add_sub_folder(f);
    char *root = path_of(f->dst);
    assert_int_equal(mkdir(root, 0555), 0);
    char *out = dry_then_real(f, f->dst, 3, run_unprivileged);
    assert_null(strstr(out, "to copy"));
    free(out);

    const char *sub[] = {"cur", "new", "tmp"};
    assert_int_equal(chmod(root, 0755), 0);
    for (size_t i = 0; i < 3; i++) {
        char *p = mp_strf("%s/%s", root, sub[i]);
        assert_int_equal(mkdir(p, 0700), 0);
        free(p);
    }
    assert_int_equal(chmod(root, 0555), 0);
    if (geteuid() == 0)
        assert_int_equal(mp_sh("chown -R 65534:65534 '%s'", root), 0);
    sub_folder_fails_alike(
        f, f->dst,
        mp_strf("Sub -> Sub: would fail: %s: folder \"Sub\": cannot create "
                "%s/.Sub: Permission denied\n",
                f->dst, root),
        run_unprivileged);
    chmod(root, 0755);
}

/* 13.A2: an mbox FILE holds only INBOX: the dry run fails the sub-folder
 * as the real run does (exit 1, 5 failed, the same report totals). */
static void an_mbox_file_takes_only_the_inbox(void **state)
{
    fixture *f = *state;
    add_sub_folder(f);
    char *path = mp_strf("%s/out.mbox", f->dir);
    char *dst = mp_strf("mbox:%s", path);
    sub_folder_fails_alike(
        f, dst,
        mp_strf("Sub -> Sub: would fail: %s: %s: an mbox file holds only the "
                "folder INBOX, not \"Sub\" (use a directory for several)\n",
                dst, path),
        run_as_is);
    free(dst);
    free(path);
}

/* 13.A3: a directory where an mbox directory store's folder file would
 * be: "would fail", as the real run fails it. */
static void a_directory_in_the_way_of_an_mbox_folder(void **state)
{
    fixture *f = *state;
    add_sub_folder(f);
    char *dir = mp_strf("%s/outdir", f->dir);
    char *sub = mp_strf("%s/Sub", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    char *dst = mp_strf("mbox:%s/", dir);
    sub_folder_fails_alike(
        f, dst,
        mp_strf("Sub -> Sub: would fail: %s: cannot open mbox folder \"Sub\" "
                "(%s/Sub): Is a directory\n",
                dst, dir),
        run_as_is);
    free(dst);
    free(sub);
    free(dir);
}

/* 13.A4: an archive that exists is refused by the dry run as by the real
 * run (exit 2, the same error), and the error names the endpoint once. */
static void an_existing_archive_is_refused_alike(void **state)
{
    fixture *f = *state;
    char *path = mp_strf("%s/o.tar.gz", f->dir);
    char *dst = mp_strf("targz:%s", path);
    mp_run_result r = mp_run("copy", f->src, dst, "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    char *out = dry_then_real(f, dst, 2, run_as_is);
    assert_null(strstr(out, "to copy"));
    r = mp_run("copy", f->src, dst, "--no-state", "--dry-run", NULL);
    char *want = mp_strf("mailport: error: %s: %s already exists; mailport "
                         "writes each archive once (choose a new name, or add "
                         "overwrite=1)\n",
                         dst, path);
    assert_contains(r.err, want);
    char *twice = mp_strf("%s: %s:", dst, dst);
    assert_null(strstr(r.err, twice));
    mp_run_free(&r);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(before.st_size, after.st_size);

    /* With overwrite=1 both runs accept the parameter and write every
     * message: nothing of the old archive counts as present. */
    char *ow = mp_strf("%s?overwrite=1", dst);
    free(dry_then_real(f, ow, 0, run_as_is));
    char *rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 5, 0, 0, 0);
    free(rep);
    free(ow);

    /* A plugin that cannot write is refused alike (exit 2). */
    char *ib = mp_strf("imap-backup:%s/ib", f->dir);
    free(dry_then_real(f, ib, 2, run_as_is));
    free(ib);
    free(twice);
    free(want);
    free(out);
    free(dst);
    free(path);
}

/* 13.B: folder names with control characters (an mbox directory keeps
 * them as file names) are printed escaped by list, in the dry run's plan
 * lines and in warnings and errors: C0 controls and invalid UTF-8 as \xHH,
 * a backslash doubled, valid UTF-8 kept. The report keeps the real name,
 * JSON-escaped. */
static void control_characters_in_names_are_escaped(void **state)
{
    fixture *f = *state;
    char *dir = mp_strf("%s/names", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    const char *names[] = {"Ev\x1b]0;pwned\x07il", "a\\x1b", "Bad\xff",
                           "Gr\xc3\xbc\xc3\x9f"
                           "e"};
    char *sample = mp_read_file(SAMPLE, NULL);
    for (size_t i = 0; i < 4; i++) {
        char *p = mp_strf("%s/%s", dir, names[i]);
        mp_write_file(p, sample, strlen(sample));
        free(p);
    }
    free(sample);
    char *src = mp_strf("mbox:%s/", dir);
    mp_run_result r = mp_run("list", src, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "Ev\\x1b]0;pwned\\x07il ");
    assert_contains(r.out, "a\\\\x1b ");
    assert_contains(r.out, "Bad\\xff ");
    assert_contains(r.out, "Gr\xc3\xbc\xc3\x9f"
                           "e ");
    assert_null(strchr(r.out, '\x1b'));
    assert_null(strchr(r.out, '\x07'));
    mp_run_free(&r);

    /* A Maildir destination refuses the name with the ESC: the plan line,
     * the error (with the plugin's text) are escaped; the report is not. */
    char *planned = mp_strf("%s/planned.json", f->dir);
    r = mp_run("copy", src, f->dst, "--no-state", "--dry-run", "--report",
               planned, NULL);
    assert_int_equal(r.exit_code, 1);
    assert_contains(r.out, "Ev\\x1b]0;pwned\\x07il -> Ev\\x1b]0;pwned\\x07il: "
                           "would fail: ");
    assert_contains(r.out, "a\\\\x1b -> a\\\\x1b: 5 to copy");
    assert_contains(r.err, "error: folder Ev\\x1b]0;pwned\\x07il: ");
    assert_null(strchr(r.out, '\x1b'));
    assert_null(strchr(r.err, '\x1b'));
    assert_null(strchr(r.err, '\x07'));
    mp_run_free(&r);
    char *rep = mp_read_file(planned, NULL);
    assert_contains(rep, "{\"name\": \"Ev\\u001B]0;pwned\\u0007il\", ");
    assert_contains(rep, "{\"name\": \"a\\\\x1b\", ");
    free(rep);
    /* verify's difference lines name the folders escaped too. */
    char *vdst = mp_strf("%s/vdst", f->dir);
    mp_sh("mkdir -p '%1$s/cur' '%1$s/new' '%1$s/tmp'", vdst);
    char *vurl = mp_strf("maildir:%s", vdst);
    r = mp_run("verify", src, vurl, "--no-state", NULL);
    assert_int_equal(r.exit_code, 4);
    assert_contains(r.out, "no_folder    Ev\\x1b]0;pwned\\x07il  ");
    assert_contains(r.out, "no_folder    Bad\\xff  ");
    assert_null(strchr(r.out, '\x1b'));
    assert_null(strchr(r.out, '\x07'));
    mp_run_free(&r);
    free(vurl);
    free(vdst);
    free(planned);
    free(src);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            an_uncreatable_destination_fails_the_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(a_read_only_destination_fails_alike,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(an_mbox_file_takes_only_the_inbox,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_directory_in_the_way_of_an_mbox_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(an_existing_archive_is_refused_alike,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(control_characters_in_names_are_escaped,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
