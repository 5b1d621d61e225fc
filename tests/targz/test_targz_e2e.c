/* The targz plugin through the mailport binary, checked with the real tar
 * and age programs: archives are Maildirs, restore is exact, verify works,
 * bad input fails with clear errors. */
#include "testutil.h"

#include "mdlist.h"
#include "pty_run.h"
#include "targz_hash.h"
#include "targz_manifest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

static char *dir; /* per-run scratch */
static char *src; /* hand-made Maildir++ source */
static char *key; /* age identity file */
static char recipient[128];
static size_t src_count;

static void mkdirs(const char *path)
{
    assert_int_equal(mp_sh("mkdir -p '%s'", path), 0);
}

/* Put corpus file EML into SRC/REL with mtime WHEN. */
static void put_msg(const char *eml, const char *rel, long when)
{
    size_t len;
    char *from = mp_strf("%s/eml/%s", mp_corpora(), eml);
    char *data = mp_read_file(from, &len);
    char *to = mp_strf("%s/%s", src, rel);
    mp_write_file(to, data, len);
    struct utimbuf t = {when, when};
    assert_int_equal(utime(to, &t), 0);
    free(from);
    free(data);
    free(to);
    src_count++;
}

static void make_folder(const char *d)
{
    char *p = mp_strf("%s/%s", src, d);
    char *q = mp_strf("%s/cur", p);
    mkdirs(q);
    free(q);
    q = mp_strf("%s/new", p);
    mkdirs(q);
    free(q);
    q = mp_strf("%s/tmp", p);
    mkdirs(q);
    free(q);
    if (*d) {
        q = mp_strf("%s/maildirfolder", p);
        mp_write_file(q, "", 0);
        free(q);
    }
    free(p);
}

/* INBOX with flags and keywords, a CRLF message, a message in new/, and
 * folders with a non-ASCII name, a '.' in a name, and a nested name. */
static void make_source(void)
{
    src = mp_strf("%s/src", dir);
    make_folder("");
    char *kw = mp_strf("%s/dovecot-keywords", src);
    const char *kw_text = "0 $Junk\n1 NonJunk\n2 $label1\n";
    mp_write_file(kw, kw_text, strlen(kw_text));
    free(kw);
    put_msg("mikel-mail/plain_emails/basic_email.eml", "cur/1000.a:2,S",
            1000000000);
    put_msg("mikel-mail/rfc2822/example01.eml", "cur/1001.b:2,FRSab",
            1100000000);
    put_msg("mikel-mail/rfc2822/example02.eml", "new/1002.c", 1200000000);
    put_msg("mikel-mail/rfc2822/example03.eml", "cur/1003.d:2,DPTc",
            1300000000);
    put_msg("sisimai/dos-crlf/arf-01.eml", "cur/1004.e:2,S", 1400000000);
    make_folder(".Sent");
    put_msg("mikel-mail/rfc2822/example04.eml", ".Sent/cur/2000.f:2,S",
            1500000000);
    make_folder(".Entw&APw-rfe");
    put_msg("mikel-mail/rfc2822/example05.eml", ".Entw&APw-rfe/cur/3000.g:2,D",
            1600000000);
    make_folder(".a\\2eb");
    put_msg("mikel-mail/rfc2822/example06.eml", ".a\\2eb/cur/4000.h:2,",
            1700000000);
    make_folder(".Lists.Work");
    put_msg("mikel-mail/rfc2822/example07.eml", ".Lists.Work/cur/5000.i:2,RS",
            1234567890);
}

static int setup(void **state)
{
    (void)state;
    dir = mp_tmpdir("targz-e2e");
    make_source();
    key = mp_strf("%s/key.txt", dir);
    assert_int_equal(mp_sh("age-keygen -o '%s' 2>/dev/null", key), 0);
    char *text = mp_read_file(key, NULL);
    const char *pk = strstr(text, "# public key: ");
    assert_non_null(pk);
    sscanf(pk + strlen("# public key: "), "%127s", recipient);
    free(text);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(dir);
    free(dir);
    free(src);
    free(key);
    return 0;
}

static int count_entries(const char *d)
{
    DIR *h = opendir(d);
    int n = 0;
    struct dirent *e;
    while (h && (e = readdir(h)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    if (h)
        closedir(h);
    return n;
}

/* Every manifest line names an archive file of that size and hash. */
static void check_manifest(const char *tree, size_t expect)
{
    char *path = mp_strf("%s/.mailport-manifest.jsonl", tree);
    char *text = mp_read_file(path, NULL), *save = NULL;
    size_t n = 0;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        targz_manifest_line l;
        assert_int_equal(targz_manifest_parse(line, strlen(line), &l), 0);
        char *file = mp_strf("%s/%s", tree, l.file);
        size_t len;
        char *data = mp_read_file(file, &len);
        assert_int_equal(len, l.size);
        targz_hash h;
        char hex[65];
        targz_hash_init(&h);
        targz_hash_update(&h, data, len);
        targz_hash_final(&h, hex);
        assert_string_equal(hex, l.sha256);
        /* The flag letters are those of the file name. */
        const char *info = strstr(l.file, ":2,") + 3;
        for (const char *f = l.flags; *f; f++)
            assert_non_null(strchr(info, *f));
        struct stat sb;
        assert_int_equal(stat(file, &sb), 0);
        assert_int_equal((long long)sb.st_mtime, (long long)l.internal_date);
        assert_int_equal(sb.st_mode & 0777, 0600);
        free(data);
        free(file);
        targz_manifest_line_free(&l);
        n++;
    }
    assert_int_equal(n, expect);
    free(text);
    free(path);
}

static void test_encrypted_archive_is_a_maildir(void **state)
{
    (void)state;
    char *arch = mp_strf("%s/backup.tar.gz.age", dir);
    char *dest = mp_strf("targz:%s?recipient=%s", arch, recipient);
    char *from = mp_strf("maildir:%s", src);
    mp_run_result r = mp_run("copy", from, dest, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    struct stat sb;
    assert_int_equal(stat(arch, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* Only the archive: no temporary file is left beside it. */
    assert_int_equal(count_entries(dir), 3); /* src, key.txt, archive */

    char *out = mp_strf("%s/untarred", dir);
    mkdirs(out);
    assert_int_equal(
        mp_sh("age -d -i '%s' '%s' | tar -xz -C '%s'", key, arch, out), 0);
    size_t n_src, n_out;
    /* The archive holds every message as LF, the CRLF one too (issue
     * 8.7); nothing else changed. */
    char *want = maildir_listing_lf(src, &n_src);
    char *got = maildir_listing(out, &n_out);
    assert_int_equal(n_src, src_count);
    assert_string_equal(got, want);
    assert_int_equal(mp_sh("grep -rlqP '\\r' '%s'", out), 1);
    check_manifest(out, src_count);
    /* Every folder has cur, new and tmp; entries are owner-neutral. */
    static const char *const folders[] = {"", ".Sent", ".Entw&APw-rfe",
                                          ".a\\2eb", ".Lists.Work"};
    for (size_t i = 0; i < 5; i++) {
        char *p = mp_strf("%s/%s/tmp", out, folders[i]);
        assert_int_equal(stat(p, &sb), 0);
        assert_true(S_ISDIR(sb.st_mode));
        free(p);
        p = mp_strf("%s/%s/new", out, folders[i]);
        assert_int_equal(stat(p, &sb), 0);
        free(p);
    }
    assert_int_equal(mp_sh("age -d -i '%s' '%s' | tar -tvz --numeric-owner "
                           "| grep -v ' 0/0 ' | grep -q .",
                           key, arch),
                     1);
    /* The manifest is the last entry. */
    assert_int_equal(mp_sh("age -d -i '%s' '%s' | tar -tz | tail -n 1 | "
                           "grep -qx .mailport-manifest.jsonl",
                           key, arch),
                     0);
    free(got);
    free(want);

    /* Restore into a fresh Maildir: the same messages, flags, keywords
     * and dates. */
    char *restored = mp_strf("%s/restored", dir);
    char *from_arch = mp_strf("targz:%s?identity=%s", arch, key);
    char *to = mp_strf("maildir:%s", restored);
    r = mp_run("copy", from_arch, to, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    want = maildir_listing_lf(src, NULL);
    got = maildir_listing(restored, NULL);
    assert_string_equal(got, want);
    r = mp_run("verify", from, from_arch, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    r = mp_run("list", from_arch, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "Entwürfe");
    assert_contains(r.out, "a.b");
    assert_contains(r.out, "Lists/Work");
    mp_run_free(&r);

    /* The wrong key: a clear refusal, exit 3, nothing restored. */
    char *other = mp_strf("%s/other.txt", dir);
    assert_int_equal(mp_sh("age-keygen -o '%s' 2>/dev/null", other), 0);
    char *wrong = mp_strf("targz:%s?identity=%s", arch, other);
    char *to2 = mp_strf("maildir:%s/wrongkey", dir);
    r = mp_run("copy", wrong, to2, NULL);
    assert_int_equal(r.exit_code, 3);
    assert_contains(r.err, "no identity matches any recipient of");
    assert_contains(r.err, arch);
    mp_run_free(&r);
    /* No identity at all, no passphrase: a usage error saying what opens
     * it (exit 2), for list, copy and verify alike. */
    char *bare = mp_strf("targz:%s", arch);
    char *no_key = mp_strf("mailport: error: targz:%s: the archive is "
                           "encrypted (age): give identity=FILE (an age "
                           "identity file, AGE-SECRET-KEY-1...) or "
                           "passphrase_file=FILE (or passphrase_env=, "
                           "passphrase_cmd=) to open it\n",
                           arch);
    r = mp_run("list", bare, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, no_key);
    assert_null(strstr(r.err, "no identity matches"));
    mp_run_free(&r);
    r = mp_run("copy", bare, to2, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, no_key);
    mp_run_free(&r);
    r = mp_run("verify", bare, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, no_key);
    mp_run_free(&r);
    free(no_key);

    /* An existing archive is not overwritten, unless asked. */
    r = mp_run("copy", from, dest, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "already exists");
    mp_run_free(&r);
    char *dest_ow = mp_strf("%s&overwrite=1", dest);
    r = mp_run("copy", from, dest_ow, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);

    free(dest_ow);
    free(bare);
    free(to2);
    free(wrong);
    free(other);
    free(got);
    free(want);
    free(to);
    free(from_arch);
    free(restored);
    free(out);
    free(from);
    free(dest);
    free(arch);
}

static void test_zstd_passphrase_archive(void **state)
{
    (void)state;
    char *arch = mp_strf("%s/pw.tar.zst.age", dir);
    char *pwfile = mp_strf("%s/pw", dir);
    mp_write_file(pwfile, "tr0ub4dor\n", 10);
    char *dest =
        mp_strf("targz:%s?passphrase_file=%s&scrypt_log_n=10", arch, pwfile);
    char *from = mp_strf("maildir:%s", src);
    mp_run_result r = mp_run("copy", from, dest, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    /* age itself, typing the passphrase on a terminal, then tar --zstd. */
    char *plain = mp_strf("%s/pw.tar.zst", dir);
    const char *argv[] = {"age", "-d", "-o", plain, arch, NULL};
    int prompts = 0;
    assert_int_equal(pty_run(argv, "tr0ub4dor", &prompts, NULL, 0), 0);
    assert_int_equal(prompts, 1);
    char *out = mp_strf("%s/pw-untarred", dir);
    mkdirs(out);
    assert_int_equal(mp_sh("tar --zstd -xf '%s' -C '%s'", plain, out), 0);
    char *want = maildir_listing_lf(src, NULL);
    char *got = maildir_listing(out, NULL);
    assert_string_equal(got, want);
    free(got);
    /* Restore with the passphrase. */
    char *restored = mp_strf("%s/pw-restored", dir);
    char *from_arch = mp_strf("targz:%s?passphrase_file=%s", arch, pwfile);
    char *to = mp_strf("maildir:%s", restored);
    r = mp_run("copy", from_arch, to, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    got = maildir_listing(restored, NULL);
    assert_string_equal(got, want);
    /* A wrong passphrase: exit 3. */
    mp_write_file(pwfile, "wrong\n", 6);
    r = mp_run("list", from_arch, NULL);
    assert_int_equal(r.exit_code, 3);
    assert_contains(r.err, "wrong passphrase");
    mp_run_free(&r);
    free(to);
    free(from_arch);
    free(restored);
    free(got);
    free(want);
    free(out);
    free(plain);
    free(from);
    free(dest);
    free(pwfile);
    free(arch);
}

/* The shared Maildir corpora, both layouts, through plain archives. */
static void test_corpus_round_trips(void **state)
{
    (void)state;
    static const struct {
        const char *name, *query, *suffix;
    } cases[] = {
        {"spamassassin-easy-ham-2", "", ".tar.gz"},
        {"mu-testdir2", "?layout=fs", ".tar.zst"},
        {"notmuch-default", "?layout=fs", ".tgz"},
        {"mu-cjk", "", ".tar"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *from = mp_strf("maildir:%s/maildir/%s%s", mp_corpora(),
                             cases[i].name, cases[i].query);
        char *arch = mp_strf("%s/corpus-%zu%s", dir, i, cases[i].suffix);
        char *dest = mp_strf("targz:%s", arch);
        mp_run_result r = mp_run("copy", from, dest, NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
        r = mp_run("verify", from, dest, NULL);
        if (r.exit_code != 0)
            fail_msg("verify %s: %s%s", cases[i].name, r.out, r.err);
        mp_run_free(&r);
        /* tar alone opens it, and it holds the same bytes. */
        char *out = mp_strf("%s/corpus-%zu-x", dir, i);
        mkdirs(out);
        assert_int_equal(mp_sh("tar -xf '%s' -C '%s'", arch, out), 0);
        if (!*cases[i].query) {
            /* A Maildir++ source comes back with identical listings. */
            char *cdir = mp_strf("%s/maildir/%s", mp_corpora(), cases[i].name);
            char *want = maildir_listing(cdir, NULL);
            char *got = maildir_listing(out, NULL);
            assert_string_equal(got, want);
            free(want);
            free(got);
            free(cdir);
        }
        /* Restore into a Maildir and compare with the original. */
        char *restored =
            mp_strf("maildir:%s/corpus-%zu-r%s", dir, i, cases[i].query);
        r = mp_run("copy", dest, restored, NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
        r = mp_run("verify", from, restored, NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
        free(restored);
        free(out);
        free(dest);
        free(arch);
        free(from);
    }
}

/* Tarballs made by plain tar: read as Maildirs, with a warning. */
static void test_plain_maildir_tarballs(void **state)
{
    (void)state;
    static const struct {
        const char *tarball, *maildir;
    } cases[] = {
        {"mu-testdir2-nested-maildir.tar.gz", "mu-testdir2"},
        {"notmuch-default-maildir.tar.gz", "notmuch-default"},
    };
    for (size_t i = 0; i < 2; i++) {
        char *arch = mp_strf("targz:%s/tar/%s", mp_corpora(), cases[i].tarball);
        char *md = mp_strf("maildir:%s/maildir/%s?layout=fs", mp_corpora(),
                           cases[i].maildir);
        mp_run_result r = mp_run("list", arch, NULL);
        assert_int_equal(r.exit_code, 0);
        assert_contains(r.err, "no mailport manifest");
        mp_run_result r2 = mp_run("list", md, NULL);
        assert_int_equal(r2.exit_code, 0);
        /* Same total line as the Maildir it was made from. */
        const char *t1 = strstr(r.out, "(total)"),
                   *t2 = strstr(r2.out, "(total)");
        assert_non_null(t1);
        assert_non_null(t2);
        assert_string_equal(t1, t2);
        mp_run_free(&r);
        mp_run_free(&r2);
        /* Restored, the messages have the bytes of the Maildir the tarball
         * was made from (the dates differ: tar --mtime set them all). */
        char *restored = mp_strf("%s/plain-%zu", dir, i);
        char *to = mp_strf("maildir:%s", restored);
        r = mp_run("copy", arch, to, NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
        const char *sums =
            "find . -type f \\( -path '*/cur/*' -o -path '*/new/*' \\) "
            "! -name '.*' -exec sha256sum {} + | cut -d' ' -f1 | sort";
        assert_int_equal(mp_sh("cd '%s/maildir/%s' && %s > '%s.want' && "
                               "cd '%s' && %s > '%s.got' && "
                               "test -s '%s.got' && cmp '%s.want' '%s.got'",
                               mp_corpora(), cases[i].maildir, sums, restored,
                               restored, sums, restored, restored, restored,
                               restored),
                         0);
        free(to);
        free(restored);
        free(arch);
        free(md);
    }
}

static void flip_byte_at(const char *path, long off_from_end)
{
    size_t len;
    char *data = mp_read_file(path, &len);
    data[len - (size_t)off_from_end] ^= 0x20;
    mp_write_file(path, data, len);
    free(data);
}

static void test_damaged_archives(void **state)
{
    (void)state;
    char *from = mp_strf("maildir:%s", src);
    /* Encrypted: one flipped byte makes the archive unreadable, and
     * nothing reaches the destination. */
    char *arch = mp_strf("%s/dmg.tar.gz.age", dir);
    char *dest = mp_strf("targz:%s?recipient=%s", arch, recipient);
    mp_run_result r = mp_run("copy", from, dest, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    flip_byte_at(arch, 3000);
    char *src_arch = mp_strf("targz:%s?identity=%s", arch, key);
    char *to = mp_strf("maildir:%s/dmg-restored", dir);
    r = mp_run("copy", src_arch, to, NULL);
    /* This archive is one age chunk: nothing before the damage
     * authenticates, so nothing is restored (test_truncated_archives has
     * archives of many chunks). */
    assert_int_equal(r.exit_code, 3);
    assert_contains(r.err, arch);
    assert_contains(r.err, "failed authentication");
    mp_run_free(&r);
    char *cur = mp_strf("%s/dmg-restored/cur", dir);
    assert_int_equal(count_entries(cur), 0);

    /* Truncated gzip. */
    char *gz = mp_strf("%s/trunc.tar.gz", dir);
    char *gz_url = mp_strf("targz:%s", gz);
    r = mp_run("copy", from, gz_url, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    assert_int_equal(truncate(gz, 2000), 0);
    r = mp_run("list", gz_url, NULL);
    assert_int_not_equal(r.exit_code, 0);
    assert_contains(r.err, gz);
    mp_run_free(&r);

    /* An uncompressed tar with one altered message byte: the manifest
     * catches it and names the file. */
    char *tar = mp_strf("%s/altered.tar", dir);
    char *tar_url = mp_strf("targz:%s", tar);
    r = mp_run("copy", from, tar_url, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    size_t len;
    char *data = mp_read_file(tar, &len);
    char *hit = memmem(data, len, "Pete(A nice \\) chap)", 20);
    if (!hit)
        hit = memmem(data, len, "Subject:", 8);
    assert_non_null(hit);
    hit[2] ^= 0x20;
    mp_write_file(tar, data, len);
    free(data);
    char *to3 = mp_strf("maildir:%s/altered-restored", dir);
    r = mp_run("copy", tar_url, to3, NULL);
    /* The altered message fails (exit 1) and is named; the rest is
     * restored. */
    assert_int_equal(r.exit_code, 1);
    assert_contains(r.err, "SHA-256 differs from the manifest");
    assert_contains(r.err, ".mailport:2,");
    mp_run_free(&r);
    char *restored_tree = mp_strf("%s/altered-restored", dir);
    size_t n_restored;
    free(maildir_listing(restored_tree, &n_restored));
    assert_int_equal(n_restored, src_count - 1);
    free(restored_tree);
    r = mp_run("verify", from, tar_url, NULL);
    assert_int_not_equal(r.exit_code, 0);
    mp_run_free(&r);
    /* verify of the archive alone checks it against its own manifest. */
    r = mp_run("verify", tar_url, NULL);
    assert_int_equal(r.exit_code, 4);
    mp_run_free(&r);

    /* A message removed from the archive: the manifest still lists it. */
    char *tar2 = mp_strf("%s/pruned.tar", dir);
    char *tar2_url = mp_strf("targz:%s", tar2);
    r = mp_run("copy", from, tar2_url, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    r = mp_run("verify", tar2_url, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    assert_int_equal(mp_sh("cd '%s' && f=$(tar -tf pruned.tar | grep -m1 "
                           "'^\\.Sent/cur/') && tar --delete -f pruned.tar "
                           "\"$f\"",
                           dir),
                     0);
    r = mp_run("verify", tar2_url, NULL);
    assert_int_equal(r.exit_code, 4);
    assert_contains(r.out, "missing from the archive");
    mp_run_free(&r);
    free(tar2_url);
    free(tar2);
    free(to3);
    free(tar_url);
    free(tar);
    free(gz_url);
    free(gz);
    free(cur);
    free(to);
    free(src_arch);
    free(dest);
    free(arch);
    free(from);
}

/* 8.8: an archive cut short, or with a damaged age chunk, restores every
 * message before the damage (age authenticates chunk by chunk), counts the
 * message it cut short as failed and exits 1. The oracle is the real
 * tools: `age -d | tar -x` extracts the same messages (up to the few that
 * sit in the decompressor's last block, which libarchive drops with its
 * "truncated gzip input"), and every restored file equals a source
 * message byte for byte. */
static void check_cut(const char *tag, const char *arch, const char *url,
                      const char *bulk, int encrypted)
{
    char *to = mp_strf("%s/%s-restored", dir, tag);
    char *to_url = mp_strf("maildir:%s", to);
    char *rep = mp_strf("%s/%s.json", dir, tag);
    mp_run_result r = mp_run("copy", url, to_url, "--report", rep, NULL);
    if (r.exit_code != 1)
        fail_msg("%s: exit %d, expected 1\n%s", tag, r.exit_code, r.err);
    assert_contains(r.err, "damaged or truncated");
    assert_contains(r.err, arch);
    mp_run_free(&r);
    char *report = mp_read_file(rep, NULL);
    assert_contains(report, "\"failed\": 1,");
    free(report);
    char *counts = mp_strf("%s/%s.counts", dir, tag);
    char *decrypt = encrypted ? mp_strf("age -d -i '%s' 2>/dev/null <", key)
                              : strdup("cat");
    assert_int_equal(
        mp_sh("cd '%s' && x=$(mktemp -d) && "
              "find '%s/cur' -type f -exec sha256sum {} + | cut -d' ' -f1 | "
              "sort > $x/src && "
              "{ %s '%s' | tar -xz -C $x 2>/dev/null; true; } && "
              "rm -f $x/src.tar && "
              "w=$(find $x -path '*/cur/*' -type f -exec sha256sum {} + | "
              "cut -d' ' -f1 | sort | comm -12 - $x/src | wc -l) && "
              "n=$(find '%s/cur' -type f | wc -l) && "
              "k=$(find '%s/cur' -type f -exec sha256sum {} + | "
              "cut -d' ' -f1 | sort | comm -12 - $x/src | wc -l) && "
              "echo $w $n $k > '%s' && rm -rf $x",
              dir, bulk, decrypt, arch, to, to, counts),
        0);
    free(decrypt);
    char *c = mp_read_file(counts, NULL);
    int whole = -1, restored = -1, exact = -1;
    assert_int_equal(sscanf(c, "%d %d %d", &whole, &restored, &exact), 3);
    print_message("%s: tar extracts %d whole, mailport restored %d (%d "
                  "byte-exact)\n",
                  tag, whole, restored, exact);
    assert_true(restored > 0);
    assert_int_equal(exact, restored);
    assert_true(restored <= whole && restored >= whole - 4);
    free(c);
    free(counts);
    free(rep);
    free(to_url);
    free(to);
}

static void test_truncated_archives(void **state)
{
    (void)state;
    /* 40 messages of 20 KB of text gzip cannot shrink much. */
    char *bulk = mp_strf("%s/bulk", dir);
    mkdirs(bulk);
    assert_int_equal(
        mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", bulk, bulk, bulk), 0);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 40; i++) {
        char *p = mp_strf("%s/cur/%d.bulk:2,S", bulk, 1000 + i);
        size_t cap = 21000;
        char *m = malloc(cap);
        size_t len = (size_t)snprintf(m, cap, "Subject: bulk %d\n\n", i);
        while (len < 20000) {
            for (int k = 0; k < 70; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                m[len++] = (char)('!' + x % 90);
            }
            m[len++] = '\n';
        }
        mp_write_file(p, m, len);
        free(m);
        free(p);
    }
    char *from = mp_strf("maildir:%s", bulk);
    const char *names[] = {"cut.tar.gz", "cut.tar.gz.age"};
    for (int enc = 0; enc < 2; enc++) {
        char *arch = mp_strf("%s/%s", dir, names[enc]);
        char *dest = enc ? mp_strf("targz:%s?recipient=%s", arch, recipient)
                         : mp_strf("targz:%s", arch);
        char *url = enc ? mp_strf("targz:%s?identity=%s", arch, key)
                        : mp_strf("targz:%s", arch);
        mp_run_result r = mp_run("copy", from, dest, "-q", NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
        struct stat sb;
        assert_int_equal(stat(arch, &sb), 0);
        assert_int_equal(truncate(arch, sb.st_size * 6 / 10), 0);
        check_cut(enc ? "cut-age" : "cut-gz", arch, url, bulk, enc);
        if (enc) {
            /* A flipped byte in the middle of the payload, not a cut. */
            unlink(arch);
            r = mp_run("copy", from, dest, "-q", NULL);
            assert_int_equal(r.exit_code, 0);
            mp_run_free(&r);
            assert_int_equal(stat(arch, &sb), 0);
            flip_byte_at(arch, (long)(sb.st_size / 2));
            check_cut("flip-age", arch, url, bulk, enc);
        }
        free(url);
        free(dest);
        free(arch);
    }
    free(from);
    free(bulk);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    char *from = mp_strf("maildir:%s", src);
    static const struct {
        const char *url_fmt, *msg;
    } cases[] = {
        {"targz:%s/x.zip", "must end in"},
        {"targz:%s/x.tar.gz?recipient=age1xyz",
         "need an archive name ending in .age"},
        {"targz:%s/x.tar.gz.age", "needs recipient="},
        {"targz:%s/x.tar.gz.age?recipient=age1notakey", "not an age recipient"},
        {"targz:%s/x.tar.gz.age?passphrase_file=/nonexistent", "passphrase"},
        {"targz:%s/x.tar.gz.age?recipients_file=/nonexistent", "/nonexistent"},
        {"targz:%s/no/such/dir/x.tar.gz", "no directory"},
        {"targz:%s/x.tar.gz?overwrite=yes", "overwrite=yes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *url = mp_strf(cases[i].url_fmt, dir);
        mp_run_result r = mp_run("copy", from, url, NULL);
        if (r.exit_code == 0 || !strstr(r.err, cases[i].msg))
            fail_msg("%s: exit %d: %s", url, r.exit_code, r.err);
        mp_run_free(&r);
        free(url);
    }
    /* Nothing was left behind by the refused runs. */
    char *leftover = mp_strf("%s/x.tar.gz", dir);
    assert_false(mp_file_exists(leftover));
    free(leftover);
    mp_run_result r = mp_run("list", "targz:/nonexistent/a.tar.gz", NULL);
    assert_int_not_equal(r.exit_code, 0);
    assert_contains(r.err, "/nonexistent/a.tar.gz");
    mp_run_free(&r);
    free(from);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encrypted_archive_is_a_maildir),
        cmocka_unit_test(test_zstd_passphrase_archive),
        cmocka_unit_test(test_corpus_round_trips),
        cmocka_unit_test(test_plain_maildir_tarballs),
        cmocka_unit_test(test_damaged_archives),
        cmocka_unit_test(test_truncated_archives),
        cmocka_unit_test(test_bad_parameters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
