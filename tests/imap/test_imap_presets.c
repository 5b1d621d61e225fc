/* Host presets (issue 9): Dovecot made to look like Gmail (its folder
 * names, X-GM-EXT-1 in its capabilities, no SPECIAL-USE, no CONDSTORE)
 * and like Microsoft 365 (its greeting and folder names, no SPECIAL-USE,
 * no CONDSTORE), through the binary; what landed is read from the
 * destination itself (Maildir files, STATUS on the server). --preset none
 * turns what was found off.
 *
 * Dovecot advertises what imap_capability says and greets with
 * login_greeting, so the hosts' capability and greeting come from the
 * real server, not from a relay. */
#include "testutil.h"

#include "dovecot.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* STR does not contain NEEDLE; prints STR when it does. */
#define assert_lacks(str, needle)                                              \
    do {                                                                       \
        if (strstr((str), (needle)))                                           \
            fail_msg("\"%s\" not expected in:\n%s", (needle), (str));          \
    } while (0)

static mp_dovecot *gm; /* looks like Gmail */
static mp_dovecot *ms; /* looks like Microsoft 365 */
static mp_dovecot *gs; /* Gmail with SPECIAL-USE, in another language */

static const char *const gmail_caps =
    "IMAP4rev1 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS CHILDREN "
    "LIST-EXTENDED X-GM-EXT-1";
static const char *const ms_caps =
    "IMAP4rev1 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS CHILDREN";

static int setup(void **state)
{
    (void)state;
    mp_dovecot_opts g = {.capability = gmail_caps};
    mp_dovecot_opts m = {.capability = ms_caps};
    gm = mp_dovecot_start_opts(&g);
    ms = mp_dovecot_start_opts(&m);
    /* Microsoft's greeting: the server reads its config again on start. */
    char *conf = mp_strf("%s/dovecot.conf", mp_dovecot_dir(ms));
    assert_int_equal(mp_sh("printf '%%s\\n' 'login_greeting = The Microsoft "
                           "Exchange IMAP4 service is ready.' >> '%s'",
                           conf),
                     0);
    free(conf);
    mp_dovecot_restart(ms);
    /* Gmail in German marks its Starred folder \Flagged (RFC 6154). */
    mp_dovecot_opts s = {.capability = "IMAP4rev1 LITERAL+ ID ENABLE IDLE "
                                       "NAMESPACE UIDPLUS CHILDREN "
                                       "LIST-EXTENDED SPECIAL-USE X-GM-EXT-1"};
    gs = mp_dovecot_start_opts(&s);
    conf = mp_strf("%s/dovecot.conf", mp_dovecot_dir(gs));
    assert_int_equal(mp_sh("printf '%%s\\n' 'namespace inbox {' "
                           "'  mailbox \"[Gmail]/Markiert\" {' "
                           "'    special_use = \\Flagged' '  }' '}' >> '%s'",
                           conf),
                     0);
    free(conf);
    mp_dovecot_restart(gs);
    mp_dovecot_add_users(gs, "g3", "pw-g3", (char *)NULL);
    mp_dovecot_add_users(gm, "g", "pw-g", "g2", "pw-g2", "g4", "pw-g4",
                         (char *)NULL);
    mp_dovecot_add_users(ms, "m", "pw-m", "m2", "pw-m2", (char *)NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_dovecot_stop(gm);
    mp_dovecot_stop(ms);
    mp_dovecot_stop(gs);
    return 0;
}

/* ------------------------------------------------------------------------ */

/* Message ID as stored in an LF store, with PAD bytes of body text more
 * (in lines of 64). Malloc'd. */
static char *msg_text(const char *id, size_t pad)
{
    char *body = calloc(pad + pad / 64 + 2, 1);
    for (size_t i = 0, k = 0; i < pad; i++) {
        body[k++] = 'a' + (char)(i % 26);
        if (i % 64 == 63 || i + 1 == pad)
            body[k++] = '\n';
    }
    char *m =
        mp_strf("From: someone@example.org\nMessage-ID: <%s@example.org>\n"
                "Subject: message %s\n"
                "Date: Wed, 01 Jan 2020 10:00:00 +0000\n\nbody of %s\n%s",
                id, id, id, body);
    free(body);
    return m;
}

static char *crlf(const char *lf)
{
    char *out = calloc(2 * strlen(lf) + 1, 1);
    for (size_t k = 0; *lf; lf++) {
        if (*lf == '\n')
            out[k++] = '\r';
        out[k++] = *lf;
    }
    return out;
}

static void create(mp_dovecot *d, const char *user, const char *folder)
{
    char *cmd = mp_strf("CREATE \"%s\"", folder);
    free(mp_dovecot_command(d, user, cmd));
    free(cmd);
}

/* Message ID (IDs are "m<digit>") into FOLDER with FLAGS and one internal
 * date per message, the same in every folder, as Gmail shows one message
 * under each of its labels. */
static void append(mp_dovecot *d, const char *user, const char *folder,
                   const char *id, const char *flags, size_t pad)
{
    char *lf = msg_text(id, pad), *msg = crlf(lf);
    char *cmd = mp_strf("APPEND \"%s\" (%s) \"01-Jan-2020 10:00:%02d +0000\" "
                        "{%zu+}\r\n%s",
                        folder, flags, atoi(id + 1), strlen(msg), msg);
    free(mp_dovecot_command(d, user, cmd));
    free(cmd);
    free(msg);
    free(lf);
}

/* The messages of Maildir folder DIR (the root for INBOX, else ROOT/.NAME)
 * as "m1:S m4:FS" in the order of their IDs, each file's bytes checked
 * against the message as appended (PADS[k] for message mk). Malloc'd. */
static char *maildir_folder(const char *root, const char *name,
                            const size_t *pads)
{
    char *dir = strcasecmp(name, "INBOX") == 0 ? strdup(root)
                                               : mp_strf("%s/.%s", root, name);
    char *found[10] = {0};
    for (int sub = 0; sub < 2; sub++) {
        char *path = mp_strf("%s/%s", dir, sub ? "new" : "cur");
        DIR *dh = opendir(path);
        for (struct dirent *e; dh && (e = readdir(dh));) {
            if (e->d_name[0] == '.')
                continue;
            char *file = mp_strf("%s/%s", path, e->d_name);
            size_t len;
            char *bytes = mp_read_file(file, &len);
            const char *at = strstr(bytes, "Message-ID: <m");
            assert_non_null(at);
            int k = at[14] - '0';
            char id[3] = {'m', (char)at[14], 0};
            char *want = msg_text(id, pads[k]);
            if (strcmp(bytes, want) != 0)
                fail_msg("%s is not byte for byte message %s", file, id);
            const char *flags = strstr(e->d_name, ":2,");
            char *item = mp_strf("%s:%s", id, flags ? flags + 3 : "");
            if (found[k]) /* twice in one folder */
                fail_msg("message %s twice in %s", id, dir);
            found[k] = item;
            free(want);
            free(bytes);
            free(file);
        }
        if (dh)
            closedir(dh);
        free(path);
    }
    char *out = strdup("");
    for (int k = 0; k < 10; k++) {
        if (!found[k])
            continue;
        char *more = mp_strf("%s%s%s", out, *out ? " " : "", found[k]);
        free(out);
        free(found[k]);
        out = more;
    }
    free(dir);
    return out;
}

static void expect_folder(const char *root, const char *name,
                          const size_t *pads, const char *want)
{
    char *got = maildir_folder(root, name, pads);
    if (strcmp(got, want) != 0)
        fail_msg("folder %s holds \"%s\", expected \"%s\"", name, got, want);
    free(got);
}

/* Folders of the Maildir at ROOT, sorted and joined with ','. */
static char *maildir_folders(const char *root)
{
    char *cmd = mp_strf(
        "cd '%s' && ls -a | grep '^\\.[^.]' | sort | tr '\\n' ','", root);
    char *out_path = mp_strf("%s.folders", root);
    char *sh = mp_strf("%s > '%s'", cmd, out_path);
    mp_sh("%s", sh);
    size_t len;
    char *out = mp_read_file(out_path, &len);
    remove(out_path);
    free(sh);
    free(out_path);
    free(cmd);
    return out;
}

static int status_count(mp_dovecot *d, const char *user, const char *folder)
{
    char *cmd = mp_strf("?STATUS \"%s\" (MESSAGES)", folder);
    char *answer = mp_dovecot_command(d, user, cmd);
    free(cmd);
    const char *m = strstr(answer, "MESSAGES ");
    int n = m && strstr(answer, "t OK") ? atoi(m + 9) : -1;
    free(answer);
    return n;
}

static double report_number(const char *path, const char *name)
{
    size_t len;
    char *json = mp_read_file(path, &len);
    double v = mp_json_number(json, name);
    free(json);
    return v;
}

static void make_maildir(const char *root, const char *const *folders)
{
    assert_int_equal(
        mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", root, root, root), 0);
    for (size_t i = 0; folders && folders[i]; i++)
        assert_int_equal(mp_sh("mkdir -p '%s/.%s/cur' '%s/.%s/new' "
                               "'%s/.%s/tmp'",
                               root, folders[i], root, folders[i], root,
                               folders[i]),
                         0);
}

/* ------------------------------------------------------------------------ */
/* Gmail as the source. */

/* Message k's body padding: m7 and m8 are large enough for the rate limit
 * of the preset to show. */
static const size_t gpads[10] = {0, 10, 20, 30, 40, 50, 60, 30000, 30000, 0};

/* An account as Gmail shows it: each message once per label and again in
 * [Gmail]/All Mail; Starred holds the flagged ones, Important some. */
static void fill_gmail(const char *user)
{
    static int done;
    if (done++)
        return;
    create(gm, user, "Work");
    create(gm, user, "[Gmail]/All Mail");
    create(gm, user, "[Gmail]/Sent Mail");
    create(gm, user, "[Gmail]/Starred");
    create(gm, user, "[Gmail]/Important");
    const char *all = "[Gmail]/All Mail";
    /* m1: INBOX and Work */
    append(gm, user, "INBOX", "m1", "\\Seen", gpads[1]);
    append(gm, user, "Work", "m1", "\\Seen", gpads[1]);
    append(gm, user, all, "m1", "\\Seen", gpads[1]);
    /* m2: sent */
    append(gm, user, "[Gmail]/Sent Mail", "m2", "\\Seen", gpads[2]);
    append(gm, user, all, "m2", "\\Seen", gpads[2]);
    /* m3: archived, no label */
    append(gm, user, all, "m3", "", gpads[3]);
    /* m4: INBOX, starred */
    append(gm, user, "INBOX", "m4", "\\Seen \\Flagged", gpads[4]);
    append(gm, user, "[Gmail]/Starred", "m4", "\\Seen \\Flagged", gpads[4]);
    append(gm, user, all, "m4", "\\Seen \\Flagged", gpads[4]);
    /* m5: only Important: no label of its own */
    append(gm, user, "[Gmail]/Important", "m5", "\\Seen", gpads[5]);
    append(gm, user, all, "m5", "\\Seen", gpads[5]);
    /* m6: Work and Important */
    append(gm, user, "Work", "m6", "", gpads[6]);
    append(gm, user, "[Gmail]/Important", "m6", "", gpads[6]);
    append(gm, user, all, "m6", "", gpads[6]);
    /* m7, m8: large, INBOX */
    append(gm, user, "INBOX", "m7", "\\Seen", gpads[7]);
    append(gm, user, all, "m7", "\\Seen", gpads[7]);
    append(gm, user, "INBOX", "m8", "\\Seen", gpads[8]);
    append(gm, user, all, "m8", "\\Seen", gpads[8]);
}

static void gmail_source_copies_each_message_once(void **state)
{
    (void)state;
    fill_gmail("g");
    char *src = mp_dovecot_url(gm, "imap", "g");
    char *tmp = mp_tmpdir("gmail-src");
    char *root = mp_strf("%s/dst", tmp);
    const char *made[] = {"Sent", NULL};
    make_maildir(root, made);
    char *dst = mp_strf("maildir:%s", root);
    char *report = mp_strf("%s/report.json", tmp);
    char *st = mp_strf("%s/state.sqlite", tmp);

    mp_run_result r = mp_run("copy", src, dst, "--jobs", "2", "--state", st,
                             "--report", report, (char *)NULL);
    mp_expect_exit(&r, 0);
    /* Found by its capability, said on stderr with what it sets. */
    assert_contains(r.err, "looks like Gmail (it offers X-GM-EXT-1): --preset "
                           "gmail:source applies");
    assert_contains(r.err, "--max-bytes-per-second 29000");
    assert_contains(r.err, "Gmail: 7 copies of messages that an earlier folder "
                           "of the run holds are left out");
    mp_run_free(&r);
    /* Each message once, byte for byte, in the folder of its first label;
     * All Mail's own in Archive; Starred is the flag, not a folder. */
    expect_folder(root, "INBOX", gpads, "m1:S m4:FS m7:S m8:S");
    expect_folder(root, "Work", gpads, "m6:");
    expect_folder(root, "Sent", gpads, "m2:S");
    expect_folder(root, "Archive", gpads, "m3: m5:S");
    char *folders = maildir_folders(root);
    assert_string_equal(folders, ".Archive,.Sent,.Work,");
    free(folders);
    /* The preset's rate: 60 kB at 29,000 bytes a second. */
    assert_true(report_number(report, "rate_limit_seconds") >= 1.0);

    /* Again: nothing to copy (no CONDSTORE: every folder is scanned). */
    r = mp_run("copy", src, dst, "--state", st, (char *)NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "mailport: copied 0,");
    mp_run_free(&r);
    /* verify applies the same preset: no difference. */
    r = mp_run("verify", src, dst, "--state", st, (char *)NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "0 missing, 0 different, 0 with other flags");
    mp_run_free(&r);
    /* And without the state, by content alone. */
    r = mp_run("copy", src, dst, "--no-state", (char *)NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "mailport: copied 0,");
    mp_run_free(&r);

    mp_rm_rf(tmp);
    free(st);
    free(report);
    free(dst);
    free(root);
    free(tmp);
    free(src);
}

/* The user's options win over the preset's: the rate, the name of All
 * Mail's folder. */
static void options_given_win_over_the_gmail_preset(void **state)
{
    (void)state;
    fill_gmail("g");
    char *src = mp_dovecot_url(gm, "imap", "g");
    char *tmp = mp_tmpdir("gmail-own");
    char *root = mp_strf("%s/dst", tmp);
    char *dst = mp_strf("maildir:%s", root);
    char *report = mp_strf("%s/report.json", tmp);
    mp_run_result r = mp_run(
        "copy", src, dst, "--no-state", "--max-bytes-per-second", "10000000",
        "--map", "[Gmail]/All Mail=Old Mail", "--report", report, (char *)NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "--max-bytes-per-second 10000000 (yours)");
    mp_run_free(&r);
    assert_true(report_number(report, "rate_limit_seconds") < 0.5);
    expect_folder(root, "Old Mail", gpads, "m3: m5:S");
    /* No Sent in this destination: the name without [Gmail]/. */
    expect_folder(root, "Sent Mail", gpads, "m2:S");
    char *folders = maildir_folders(root);
    assert_string_equal(folders, ".Old Mail,.Sent Mail,.Work,");
    free(folders);
    mp_rm_rf(tmp);
    free(report);
    free(dst);
    free(root);
    free(tmp);
    free(src);
}

/* --preset gmail:source on a server that does not say it is Gmail (the
 * Microsoft-looking one): the preset named wins over what it looks like. */
static void a_named_preset_applies_without_detection(void **state)
{
    (void)state;
    create(ms, "m2", "[Gmail]/All Mail");
    append(ms, "m2", "INBOX", "m1", "\\Seen", gpads[1]);
    append(ms, "m2", "[Gmail]/All Mail", "m1", "\\Seen", gpads[1]);
    append(ms, "m2", "[Gmail]/All Mail", "m3", "", gpads[3]);
    char *src = mp_dovecot_url(ms, "imap", "m2");
    char *tmp = mp_tmpdir("gmail-named");
    char *root = mp_strf("%s/dst", tmp);
    char *dst = mp_strf("maildir:%s", root);
    mp_run_result r = mp_run("copy", src, dst, "--no-state", "--preset",
                             "gmail:source", (char *)NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "--preset gmail:source for imap://m2@");
    mp_run_free(&r);
    expect_folder(root, "INBOX", gpads, "m1:S");
    expect_folder(root, "Archive", gpads, "m3:");
    /* Without it, All Mail is a folder like any other. */
    char *root2 = mp_strf("%s/plain", tmp);
    char *dst2 = mp_strf("maildir:%s", root2);
    r = mp_run("copy", src, dst2, "--no-state", (char *)NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "mailport: copied 3,");
    mp_run_free(&r);
    mp_rm_rf(tmp);
    free(dst2);
    free(root2);
    free(dst);
    free(root);
    free(tmp);
    free(src);
}

/* --preset none: the Gmail-looking server is not taken for Gmail. No note
 * on stderr, and the account is copied as it is listed: each message once
 * per folder, All Mail and Starred folders of their own, no rate. */
static void a_found_preset_is_turned_off_with_none(void **state)
{
    (void)state;
    fill_gmail("g");
    char *src = mp_dovecot_url(gm, "imap", "g");
    char *tmp = mp_tmpdir("gmail-none");
    const char *as_given[] = {"none:source", "none"};
    for (size_t i = 0; i < 2; i++) {
        char *root = mp_strf("%s/dst%zu", tmp, i);
        char *dst = mp_strf("maildir:%s", root);
        char *report = mp_strf("%s/report%zu.json", tmp, i);
        mp_run_result r = mp_run("copy", src, dst, "--no-state", "--preset",
                                 as_given[i], "--report", report, (char *)NULL);
        mp_expect_exit(&r, 0);
        assert_lacks(r.err, "looks like");
        assert_lacks(r.err, "--preset");
        assert_lacks(r.err, "Gmail:");
        /* 4 INBOX, 2 Work, 1 Sent Mail, 1 Starred, 2 Important, 8 All Mail */
        assert_contains(r.err, "mailport: copied 18,");
        mp_run_free(&r);
        expect_folder(root, "INBOX", gpads, "m1:S m4:FS m7:S m8:S");
        expect_folder(root, "Work", gpads, "m1:S m6:");
        expect_folder(root, "[Gmail].All Mail", gpads,
                      "m1:S m2:S m3: m4:FS m5:S m6: m7:S m8:S");
        expect_folder(root, "[Gmail].Starred", gpads, "m4:FS");
        char *folders = maildir_folders(root);
        assert_string_equal(folders, ".Work,.[Gmail].All Mail,"
                                     ".[Gmail].Important,.[Gmail].Sent Mail,"
                                     ".[Gmail].Starred,");
        free(folders);
        assert_true(report_number(report, "rate_limit_seconds") < 0.5);
        /* verify takes it too: it compares every folder, All Mail too. */
        r = mp_run("verify", src, dst, "--no-state", "--preset", as_given[i],
                   (char *)NULL);
        mp_expect_exit(&r, 0);
        assert_lacks(r.err, "looks like");
        assert_contains(r.err, "0 missing, 0 different, 0 with other flags");
        mp_run_free(&r);
        free(report);
        free(dst);
        free(root);
    }
    mp_rm_rf(tmp);
    free(tmp);
    free(src);
}

/* Starred by its special use, whatever its name: the flag stays, the
 * folder is not copied, and what only it holds comes from All Mail. */
static void gmail_starred_by_its_special_use(void **state)
{
    (void)state;
    create(gs, "g3", "[Gmail]/Markiert");
    create(gs, "g3", "[Gmail]/All Mail");
    append(gs, "g3", "INBOX", "m4", "\\Seen \\Flagged", gpads[4]);
    append(gs, "g3", "[Gmail]/Markiert", "m4", "\\Seen \\Flagged", gpads[4]);
    append(gs, "g3", "[Gmail]/All Mail", "m4", "\\Seen \\Flagged", gpads[4]);
    append(gs, "g3", "[Gmail]/Markiert", "m9", "\\Flagged", gpads[9]);
    append(gs, "g3", "[Gmail]/All Mail", "m9", "\\Flagged", gpads[9]);
    char *list =
        mp_dovecot_command(gs, "g3", "LIST \"\" \"*\" RETURN (SPECIAL-USE)");
    assert_contains(list, "\\Flagged");
    free(list);
    char *src = mp_dovecot_url(gs, "imap", "g3");
    char *tmp = mp_tmpdir("gmail-starred");
    char *root = mp_strf("%s/dst", tmp);
    char *dst = mp_strf("maildir:%s", root);
    mp_run_result r = mp_run("copy", src, dst, "--no-state", (char *)NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    expect_folder(root, "INBOX", gpads, "m4:FS");
    expect_folder(root, "Archive", gpads, "m9:F");
    char *folders = maildir_folders(root);
    assert_string_equal(folders, ".Archive,");
    free(folders);
    mp_rm_rf(tmp);
    free(dst);
    free(root);
    free(tmp);
    free(src);
}

/* ------------------------------------------------------------------------ */
/* Gmail and Microsoft 365 as destinations. */

static void fill_local(const char *root, const char *const *folders)
{
    make_maildir(root, folders);
    for (size_t i = 0; folders[i]; i++) {
        char id[3] = {'m', (char)('1' + i), 0};
        char *text = msg_text(id, gpads[i + 1]);
        char *file =
            mp_strf("%s/.%s/cur/100%zu.local:2,S", root, folders[i], i);
        mp_write_file(file, text, strlen(text));
        free(file);
        free(text);
    }
}

static void gmail_destination_gets_its_special_folders(void **state)
{
    (void)state;
    create(gm, "g2", "[Gmail]/Sent Mail");
    create(gm, "g2", "[Gmail]/Trash");
    create(gm, "g2", "[Gmail]/Spam");
    create(gm, "g2", "[Gmail]/Drafts");
    char *tmp = mp_tmpdir("gmail-dst");
    char *root = mp_strf("%s/src", tmp);
    const char *folders[] = {"Sent", "Trash", "Junk", "Drafts", NULL};
    fill_local(root, folders);
    char *src = mp_strf("maildir:%s", root);
    char *dst = mp_dovecot_url(gm, "imap", "g2");
    mp_run_result r = mp_run("copy", src, dst, "--no-state", (char *)NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "looks like Gmail (it offers X-GM-EXT-1): --preset "
                           "gmail:dest applies: --automap; "
                           "--max-bytes-per-second 5800");
    assert_contains(r.err, "mailport: copied 4,");
    mp_run_free(&r);
    assert_int_equal(status_count(gm, "g2", "[Gmail]/Sent Mail"), 1);
    assert_int_equal(status_count(gm, "g2", "[Gmail]/Trash"), 1);
    assert_int_equal(status_count(gm, "g2", "[Gmail]/Spam"), 1);
    assert_int_equal(status_count(gm, "g2", "[Gmail]/Drafts"), 1);
    assert_int_equal(status_count(gm, "g2", "Sent"), -1);
    mp_rm_rf(tmp);
    free(dst);
    free(src);
    free(root);
    free(tmp);
}

/* --preset none:dest: Gmail as the destination gets the folders' own
 * names, not its [Gmail]/ special folders, and no note. */
static void none_for_the_destination(void **state)
{
    (void)state;
    create(gm, "g4", "[Gmail]/Sent Mail");
    create(gm, "g4", "[Gmail]/Trash");
    char *tmp = mp_tmpdir("gmail-dst-none");
    char *root = mp_strf("%s/src", tmp);
    const char *folders[] = {"Sent", "Trash", NULL};
    fill_local(root, folders);
    char *src = mp_strf("maildir:%s", root);
    char *dst = mp_dovecot_url(gm, "imap", "g4");
    mp_run_result r = mp_run("copy", src, dst, "--no-state", "--preset",
                             "none:dest", (char *)NULL);
    mp_expect_exit(&r, 0);
    assert_lacks(r.err, "looks like");
    assert_lacks(r.err, "--preset");
    assert_contains(r.err, "mailport: copied 2,");
    mp_run_free(&r);
    assert_int_equal(status_count(gm, "g4", "Sent"), 1);
    assert_int_equal(status_count(gm, "g4", "Trash"), 1);
    assert_int_equal(status_count(gm, "g4", "[Gmail]/Sent Mail"), 0);
    assert_int_equal(status_count(gm, "g4", "[Gmail]/Trash"), 0);
    mp_rm_rf(tmp);
    free(dst);
    free(src);
    free(root);
    free(tmp);
}

static void office365_destination_by_its_greeting(void **state)
{
    (void)state;
    const char *theirs[] = {"Sent Items", "Deleted Items", "Junk Email",
                            "Drafts", "Archive"};
    for (size_t i = 0; i < 5; i++)
        create(ms, "m", theirs[i]);
    char *tmp = mp_tmpdir("o365-dst");
    char *root = mp_strf("%s/src", tmp);
    const char *folders[] = {"Sent",   "Trash",    "Junk",
                             "Drafts", "Archives", NULL};
    fill_local(root, folders);
    /* One message in INBOX over the --max-size given. */
    char *big = msg_text("m7", gpads[7]);
    char *file = mp_strf("%s/new/2000.local", root);
    mp_write_file(file, big, strlen(big));
    free(file);
    free(big);
    char *src = mp_strf("maildir:%s", root);
    char *dst = mp_dovecot_url(ms, "imap", "m");
    char *st = mp_strf("%s/state.sqlite", tmp);

    /* The preset's own size limit, foreseen by a dry run. */
    mp_run_result r =
        mp_run("copy", src, dst, "--dry-run", "--state", st, (char *)NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "looks like Microsoft 365 (it greets as Microsoft "
                           "Exchange): --preset office365:dest applies: "
                           "--automap; --max-size 37748736");
    mp_run_free(&r);
    r = mp_run("copy", src, dst, "--max-size", "20000", "--state", st,
               (char *)NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "--max-size 20000 (yours)");
    assert_contains(r.err, "mailport: copied 5,");
    assert_contains(r.err, "left out by filters 1");
    mp_run_free(&r);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(status_count(ms, "m", theirs[i]), 1);
    assert_int_equal(status_count(ms, "m", "INBOX"), 0);
    assert_int_equal(status_count(ms, "m", "Sent"), -1);
    assert_int_equal(status_count(ms, "m", "Trash"), -1);
    /* No CONDSTORE: the next pass finds everything by scanning. */
    r = mp_run("copy", src, dst, "--max-size", "20000", "--state", st,
               (char *)NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "mailport: copied 0, already present 5");
    mp_run_free(&r);
    r = mp_run("verify", src, dst, "--max-size", "20000", "--state", st,
               (char *)NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    mp_rm_rf(tmp);
    free(st);
    free(dst);
    free(src);
    free(root);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gmail_source_copies_each_message_once),
        cmocka_unit_test(options_given_win_over_the_gmail_preset),
        cmocka_unit_test(a_named_preset_applies_without_detection),
        cmocka_unit_test(a_found_preset_is_turned_off_with_none),
        cmocka_unit_test(gmail_starred_by_its_special_use),
        cmocka_unit_test(gmail_destination_gets_its_special_folders),
        cmocka_unit_test(none_for_the_destination),
        cmocka_unit_test(office365_destination_by_its_greeting),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
