/* The Dovecot "subscriptions" file (plugins/common/mdsubs.h): both
 * versions read, lines only ever added, the version kept, the file replaced
 * through its lock. */
#include "mdsubs.h"
#include "testutil.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The names TEXT holds, one a line. */
static char *parsed(md_layout layout, const char *text)
{
    char **names;
    size_t n;
    assert_int_equal(md_subs_parse(layout, text, strlen(text), &names, &n), 0);
    char *out = strdup("");
    for (size_t i = 0; i < n; i++) {
        char *more = mp_strf("%s%s\n", out, names[i]);
        free(out);
        out = more;
    }
    md_subs_free(names, n);
    return out;
}

static void reads_both_versions(void **state)
{
    (void)state;
    /* Version 2 as Dovecot 2.3 writes it: TAB between levels, modified
     * UTF-7 and listescape's \2e as in the directory names. */
    char *v2 = parsed(MD_LAYOUT_MAILDIRPP,
                      "V\t2\n\nINBOX\nWork\tProjects\nEntw&APw-rfe\n"
                      "v1\\2e2\n\nbad\001\n");
    assert_string_equal(v2, "INBOX\nWork/Projects\nEntwürfe\nv1.2\n");
    free(v2);
    /* Tab-escaped: \001t is a TAB inside a level, which names no folder
     * (control character); \0011 is \001. Neither is taken. */
    char *esc = parsed(MD_LAYOUT_MAILDIRPP, "V\t2\n\nA\001tB\nOk\n");
    assert_string_equal(esc, "Ok\n");
    free(esc);
    /* Version 1: no header, the layout's separator. */
    char *v1 = parsed(MD_LAYOUT_MAILDIRPP, "INBOX\nWork.Projects\r\nSent\n");
    assert_string_equal(v1, "INBOX\nWork/Projects\nSent\n");
    free(v1);
    char *fs = parsed(MD_LAYOUT_FS, "V\t2\n\nWork\tProjects\nEntw&APw-rfe\n");
    assert_string_equal(fs, "Work/Projects\nEntwürfe\n");
    free(fs);
}

static char *merged(md_layout layout, const char *old, const char *const *names,
                    size_t n, size_t *added)
{
    size_t len;
    char *out = md_subs_merge(layout, old, old ? strlen(old) : 0, names, n,
                              &len, added);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    return out;
}

static void merging_adds_and_never_drops(void **state)
{
    (void)state;
    const char *const names[] = {"INBOX", "Work/Projects", "Entwürfe",
                                 "inbox", "Work/Projects", "a/../b"};
    size_t added;
    char *fresh = merged(MD_LAYOUT_MAILDIRPP, NULL, names, 6, &added);
    assert_string_equal(fresh, "V\t2\n\nINBOX\nWork\tProjects\nEntw&APw-rfe\n");
    assert_int_equal(added, 3);
    /* Existing lines stay, unknown ones too; what is there is not added
     * again; a missing final newline is supplied. */
    char *kept =
        merged(MD_LAYOUT_MAILDIRPP,
               "V\t2\n\nOther\tNamespace\\x\nWork\tProjects", names, 3, &added);
    assert_string_equal(kept, "V\t2\n\nOther\tNamespace\\x\nWork\tProjects\n"
                              "INBOX\nEntw&APw-rfe\n");
    assert_int_equal(added, 2);
    /* A version 1 file is added to in version 1. */
    char *old = merged(MD_LAYOUT_MAILDIRPP, "Sent\n", names, 2, &added);
    assert_string_equal(old, "Sent\nINBOX\nWork.Projects\n");
    free(fresh);
    free(kept);
    free(old);
}

static void the_file_is_replaced_through_its_lock(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mdsubs");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    char *path = mp_strf("%s/subscriptions", dir);
    char *lock = mp_strf("%s/subscriptions.lock", dir);
    const char *const one[] = {"Work"};
    assert_int_equal(md_subs_add(fd, MD_LAYOUT_MAILDIRPP, one, 1), 0);
    char *text = mp_read_file(path, NULL);
    assert_string_equal(text, "V\t2\n\nWork\n");
    free(text);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_false(mp_file_exists(lock));
    /* Nothing new: the file is not rewritten (same inode). */
    ino_t ino = sb.st_ino;
    assert_int_equal(md_subs_add(fd, MD_LAYOUT_MAILDIRPP, one, 1), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_ino, ino);
    /* A stale lock (a writer that died long ago) is taken over. */
    mp_write_file(lock, "", 0);
    assert_int_equal(mp_sh("touch -d '10 minutes ago' '%s'", lock), 0);
    const char *const two[] = {"Lists"};
    assert_int_equal(md_subs_add(fd, MD_LAYOUT_MAILDIRPP, two, 1), 0);
    text = mp_read_file(path, NULL);
    assert_string_equal(text, "V\t2\n\nWork\nLists\n");
    free(text);
    assert_false(mp_file_exists(lock));
    close(fd);
    mp_rm_rf(dir);
    free(dir);
    free(path);
    free(lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_both_versions),
        cmocka_unit_test(merging_adds_and_never_drops),
        cmocka_unit_test(the_file_is_replaced_through_its_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
