/* The Maildir sink's background pipe (plugins/maildir/mdpipe.c) driven
 * directly: every message handed over ends up in cur/ under its final name
 * with its bytes, mode and date, through unnamed (O_TMPFILE) and named tmp/
 * files alike; the bytes waiting stay under the cap; a failure while
 * writing or while placing is reported with the file it concerns, fails
 * later hand-overs and leaves nothing behind in tmp/. Groups
 * (md_pipe_group_start/wait, behind flush_start/flush_wait): a wait returns
 * once every message of its group is in cur/, also a group smaller than a
 * sync batch with later messages still arriving, and reports a failure
 * that hit its group. */
#include "mdpipe.h"
#include "mdtest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fixture {
    char *dir, *tmp, *cur;
    int tmp_fd, cur_fd;
    md_pipe pipe;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = mp_tmpdir("mdpipe");
    f->tmp = mp_strf("%s/tmp", f->dir);
    f->cur = mp_strf("%s/cur", f->dir);
    if (mkdir(f->tmp, 0700) != 0 || mkdir(f->cur, 0700) != 0)
        fail_msg("mkdir: %s", strerror(errno));
    f->tmp_fd = open(f->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    f->cur_fd = open(f->cur, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->tmp_fd >= 0 && f->cur_fd >= 0);
    md_pipe_init(&f->pipe, f->tmp_fd, f->cur_fd);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    md_pipe_stop(&f->pipe);
    close(f->tmp_fd);
    close(f->cur_fd);
    mp_rm_rf(f->dir);
    free(f->dir);
    free(f->tmp);
    free(f->cur);
    free(f);
    return 0;
}

static size_t count_names(const char *path)
{
    size_t n;
    md_names_free(md_dir_names(path, &n));
    return n;
}

static char byte_of(int msg, size_t at)
{
    return (char)('A' + (msg * 7 + (int)(at % 251)) % 26);
}

/* Message I: LEN bytes of its own pattern, dated 1000000000 + I. */
static md_job *make_job(int i, size_t len)
{
    char tmp_name[64], final_name[96];
    snprintf(tmp_name, sizeof tmp_name, "%d.Mtest.host", i);
    snprintf(final_name, sizeof final_name, "%s,S=%zu:2,S", tmp_name, len);
    md_job *j = md_job_new(tmp_name, final_name);
    assert_non_null(j);
    j->data = malloc(len ? len : 1);
    assert_non_null(j->data);
    for (size_t k = 0; k < len; k++)
        j->data[k] = (unsigned char)byte_of(i, k);
    j->len = j->cost = len;
    j->date = 1000000000 + i;
    return j;
}

static void assert_arrived(fixture *f, int i, size_t len)
{
    char *path = mp_strf("%s/%d.Mtest.host,S=%zu:2,S", f->cur, i, len);
    size_t got;
    char *bytes = mp_read_file(path, &got);
    assert_int_equal(got, len);
    for (size_t k = 0; k < len; k++)
        if (bytes[k] != byte_of(i, k))
            fail_msg("message %d differs at byte %zu", i, k);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mtime, 1000000000 + i);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_nlink, 1);
    free(bytes);
    free(path);
}

static size_t len_of(int i)
{
    return 1 + (size_t)i * 37 % 9000;
}

static void many_messages(fixture *f, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(md_pipe_submit(&f->pipe, make_job(i, len_of(i))), 0);
    assert_int_equal(md_pipe_wait(&f->pipe), 0);
    assert_int_equal(count_names(f->cur), (size_t)n);
    assert_int_equal(count_names(f->tmp), 0);
    for (int i = 0; i < n; i++)
        assert_arrived(f, i, len_of(i));
}

static void all_arrive_through_unnamed_files(void **state)
{
    fixture *f = *state;
    many_messages(f, 300);
    /* O_TMPFILE works on the usual test file systems (ext4, tmpfs). */
    assert_true(f->pipe.anon_cap > 0);
    /* The probe left nothing. */
    assert_int_equal(count_names(f->tmp), 0);
    /* Waiting again with nothing handed over is fine. */
    assert_int_equal(md_pipe_wait(&f->pipe), 0);
}

static void all_arrive_through_named_files(void **state)
{
    fixture *f = *state;
    f->pipe.named_only = 1;
    many_messages(f, 300);
    assert_int_equal(f->pipe.anon_cap, 0);
}

/* A leftover file under a message's tmp/ name does not stop it: only the
 * final name is promised. */
static void tmp_name_taken_by_a_leftover(void **state)
{
    fixture *f = *state;
    f->pipe.named_only = 1;
    char *left = mp_strf("%s/7.Mtest.host", f->tmp);
    mp_write_file(left, "old\n", 4);
    assert_int_equal(md_pipe_submit(&f->pipe, make_job(7, 100)), 0);
    assert_int_equal(md_pipe_wait(&f->pipe), 0);
    assert_arrived(f, 7, 100);
    size_t len;
    char *old = mp_read_file(left, &len);
    assert_string_equal(old, "old\n");
    free(old);
    free(left);
}

/* A message written before it is handed over (too large for memory). */
static void written_message_is_synced_and_placed(void **state)
{
    fixture *f = *state;
    md_job *j = make_job(3, 5000);
    char *path = mp_strf("%s/%s", f->tmp, j->tmp_name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, j->data, j->len), (ssize_t)j->len);
    struct timespec ts[2] = {{.tv_sec = 1000000003}, {.tv_sec = 1000000003}};
    assert_int_equal(futimens(fd, ts), 0);
    close(fd);
    free(j->data);
    j->data = NULL;
    j->written = 1;
    assert_int_equal(md_pipe_submit(&f->pipe, j), 0);
    assert_int_equal(md_pipe_wait(&f->pipe), 0);
    assert_arrived(f, 3, 5000);
    assert_false(mp_file_exists(path));
    free(path);
}

/* 48 MiB handed over against a 32 MiB cap: submit waits for the writers,
 * and what waits to be written never exceeds the cap. */
static void bytes_waiting_stay_under_the_cap(void **state)
{
    fixture *f = *state;
    enum { N = 48, LEN = 1024 * 1024 };
    size_t most = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(md_pipe_submit(&f->pipe, make_job(i, LEN)), 0);
        pthread_mutex_lock(&f->pipe.mu);
        size_t now = f->pipe.bytes;
        pthread_mutex_unlock(&f->pipe.mu);
        if (now > most)
            most = now;
    }
    assert_true(most <= MD_PIPE_MAX_BYTES);
    assert_int_equal(md_pipe_wait(&f->pipe), 0);
    assert_int_equal(count_names(f->cur), N);
    for (int i = 0; i < N; i += 7)
        assert_arrived(f, i, LEN);
}

/* Three folders written at once (as with --jobs 3): what waits in all
 * pipes together stays near the process-wide cap (it may pass it by one
 * message per pipe). */
typedef struct feeder {
    md_pipe *pipe;
    int first;
    size_t most_all;
} feeder;

static void *feed(void *arg)
{
    feeder *fd = arg;
    for (int i = 0; i < 40; i++) {
        if (md_pipe_submit(fd->pipe, make_job(fd->first + i, 1024 * 1024)) != 0)
            return "submit failed";
        size_t all = md_pipe_all_bytes();
        if (all > fd->most_all)
            fd->most_all = all;
    }
    return md_pipe_wait(fd->pipe) == 0 ? NULL : "wait failed";
}

static void bytes_waiting_in_all_pipes_stay_bounded(void **state)
{
    fixture *f = *state;
    md_pipe more[2];
    for (int k = 0; k < 2; k++)
        md_pipe_init(&more[k], f->tmp_fd, f->cur_fd);
    feeder fd[3] = {{&f->pipe, 0, 0}, {&more[0], 100, 0}, {&more[1], 200, 0}};
    pthread_t t[3];
    for (int k = 0; k < 3; k++)
        assert_int_equal(pthread_create(&t[k], NULL, feed, &fd[k]), 0);
    for (int k = 0; k < 3; k++) {
        void *err;
        pthread_join(t[k], &err);
        if (err)
            fail_msg("feeder %d: %s", k, (char *)err);
        assert_true(fd[k].most_all <= MD_PIPE_ALL_BYTES + 3 * 1024 * 1024);
    }
    for (int k = 0; k < 2; k++)
        md_pipe_stop(&more[k]);
    assert_int_equal(md_pipe_all_bytes(), 0);
    assert_int_equal(count_names(f->cur), 120);
    assert_arrived(f, 0, 1024 * 1024);
    assert_arrived(f, 139, 1024 * 1024);
    assert_arrived(f, 239, 1024 * 1024);
}

/* tmp/ is gone: no file can be made. The failure names a message's tmp/
 * file, is sticky, and nothing reaches cur/. */
static void writer_failure_is_reported(void **state)
{
    fixture *f = *state;
    assert_int_equal(rmdir(f->tmp), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(md_pipe_submit(&f->pipe, make_job(i, 10)), 0);
    assert_int_equal(md_pipe_wait(&f->pipe), -1);
    int err = 0;
    const char *what = NULL;
    char file[320];
    assert_true(md_pipe_error(&f->pipe, &err, &what, file, sizeof file));
    assert_int_equal(err, ENOENT);
    assert_string_equal(what, "cannot create");
    assert_true(strncmp(file, "tmp/", 4) == 0 && strstr(file, ".Mtest.host"));
    assert_true(md_pipe_failed(&f->pipe));
    /* Later hand-overs fail at once. */
    assert_int_equal(md_pipe_submit(&f->pipe, make_job(9, 10)), -1);
    assert_int_equal(md_pipe_wait(&f->pipe), -1);
    assert_int_equal(count_names(f->cur), 0);
}

/* cur/ is gone: files are written and synced but cannot be placed. The
 * failure names the final name; no file stays behind in tmp/. */
static void placing_failure_is_reported(int named_only, void **state)
{
    fixture *f = *state;
    f->pipe.named_only = named_only;
    assert_int_equal(rmdir(f->cur), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(md_pipe_submit(&f->pipe, make_job(i, 100)), 0);
    assert_int_equal(md_pipe_wait(&f->pipe), -1);
    int err = 0;
    const char *what = NULL;
    char file[320];
    assert_true(md_pipe_error(&f->pipe, &err, &what, file, sizeof file));
    assert_int_equal(err, ENOENT);
    assert_string_equal(what, "cannot move a message into");
    assert_true(strncmp(file, "cur/", 4) == 0 &&
                strstr(file, ".Mtest.host,S=100:2,S"));
    assert_int_equal(count_names(f->tmp), 0);
    assert_int_equal(md_pipe_submit(&f->pipe, make_job(30, 10)), -1);
    assert_int_equal(count_names(f->tmp), 0);
}

static void placing_failure_unnamed(void **state)
{
    placing_failure_is_reported(0, state);
}

static void placing_failure_named(void **state)
{
    placing_failure_is_reported(1, state);
}

/* Stopping without waiting still finishes what was handed over. */
static void stop_finishes_the_work(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 50; i++)
        assert_int_equal(md_pipe_submit(&f->pipe, make_job(i, len_of(i))), 0);
    md_pipe_stop(&f->pipe);
    assert_int_equal(count_names(f->cur), 50);
    assert_int_equal(count_names(f->tmp), 0);
    for (int i = 0; i < 50; i++)
        assert_arrived(f, i, len_of(i));
}

static int exists_in_cur(fixture *f, int i, size_t len)
{
    char *path = mp_strf("%s/%d.Mtest.host,S=%zu:2,S", f->cur, i, len);
    int ok = access(path, F_OK) == 0;
    free(path);
    return ok;
}

/* Rounds of: a group, then more messages handed over after its start (the
 * next group), then the wait. When the wait returns, every message of the
 * group is in cur/ with its bytes; the later ones are not waited for.
 * Groups smaller than a sync batch (MIN_BATCH) too: they must not wait for
 * more writes (a wait that never returns fails by the test's timeout). */
static void group_wait_returns_when_its_group_is_in_cur(void **state)
{
    fixture *f = *state;
    const int sizes[] = {1, 5, 63, 64, 65, 200, 3, 130};
    const int rounds = (int)(sizeof sizes / sizeof sizes[0]);
    int next = 0, group_first = 0;
    for (int round = 0; round < rounds; round++) {
        /* Messages handed over before this start: the rest of the previous
         * round's later ones belong to this group too. */
        for (int k = 0; k < sizes[round]; k++, next++)
            assert_int_equal(
                md_pipe_submit(&f->pipe, make_job(next, len_of(next))), 0);
        md_pipe_group_start(&f->pipe);
        int group_end = next;
        /* Later messages, not part of the group. */
        for (int k = 0; k < sizes[(round + 3) % rounds]; k++, next++)
            assert_int_equal(
                md_pipe_submit(&f->pipe, make_job(next, len_of(next))), 0);
        assert_int_equal(md_pipe_group_wait(&f->pipe), 0);
        for (int i = group_first; i < group_end; i++)
            if (!exists_in_cur(f, i, len_of(i)))
                fail_msg("round %d: message %d of the group is not in cur/",
                         round, i);
        for (int i = group_first; i < group_end; i++)
            assert_arrived(f, i, len_of(i));
        group_first = group_end;
    }
    /* flush still waits for everything. */
    assert_int_equal(md_pipe_wait(&f->pipe), 0);
    assert_int_equal(count_names(f->cur), (size_t)next);
    assert_int_equal(count_names(f->tmp), 0);
    for (int i = 0; i < next; i++)
        assert_arrived(f, i, len_of(i));
}

/* An empty group (nothing handed over since the last one) returns at once;
 * so does one on a pipe that never started its threads. */
static void empty_group_returns_at_once(void **state)
{
    fixture *f = *state;
    md_pipe_group_start(&f->pipe);
    assert_int_equal(md_pipe_group_wait(&f->pipe), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(md_pipe_submit(&f->pipe, make_job(i, 10)), 0);
    md_pipe_group_start(&f->pipe);
    assert_int_equal(md_pipe_group_wait(&f->pipe), 0);
    md_pipe_group_start(&f->pipe);
    assert_int_equal(md_pipe_group_wait(&f->pipe), 0);
    assert_int_equal(count_names(f->cur), 3);
}

/* A group that succeeded stays reported as such; the next group, whose
 * messages cannot be placed (cur/ removed), is reported failed with the
 * file it concerns, and nothing of it stays in tmp/. */
static void failure_inside_a_group_is_reported(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 10; i++)
        assert_int_equal(md_pipe_submit(&f->pipe, make_job(i, 100)), 0);
    md_pipe_group_start(&f->pipe);
    assert_int_equal(md_pipe_group_wait(&f->pipe), 0);
    assert_int_equal(count_names(f->cur), 10);
    for (int i = 0; i < 10; i++)
        assert_arrived(f, i, 100);

    mp_rm_rf(f->cur);
    for (int i = 10; i < 20; i++)
        assert_int_equal(md_pipe_submit(&f->pipe, make_job(i, 100)), 0);
    md_pipe_group_start(&f->pipe);
    assert_int_equal(md_pipe_group_wait(&f->pipe), -1);
    int err = 0;
    const char *what = NULL;
    char file[320];
    assert_true(md_pipe_error(&f->pipe, &err, &what, file, sizeof file));
    assert_int_equal(err, ENOENT);
    assert_string_equal(what, "cannot move a message into");
    assert_true(strncmp(file, "cur/", 4) == 0 &&
                strstr(file, ".Mtest.host,S=100:2,S"));
    assert_int_equal(count_names(f->tmp), 0);
    /* The pipe stays failed: a later group fails too. */
    assert_int_equal(md_pipe_submit(&f->pipe, make_job(30, 10)), -1);
    md_pipe_group_start(&f->pipe);
    assert_int_equal(md_pipe_group_wait(&f->pipe), -1);
}

/* A message of the group failed before the group started (its writer
 * could not create the file): the group is reported failed. */
static void failure_before_the_start_fails_the_group(void **state)
{
    fixture *f = *state;
    assert_int_equal(rmdir(f->tmp), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(md_pipe_submit(&f->pipe, make_job(i, 10)), 0);
    /* Let the writers fail it first (flush waits for that). */
    assert_int_equal(md_pipe_wait(&f->pipe), -1);
    md_pipe_group_start(&f->pipe);
    assert_int_equal(md_pipe_group_wait(&f->pipe), -1);
    int err = 0;
    const char *what = NULL;
    char file[320];
    assert_true(md_pipe_error(&f->pipe, &err, &what, file, sizeof file));
    assert_string_equal(what, "cannot create");
    assert_int_equal(count_names(f->cur), 0);
}

/* A message that cannot be written (EFBIG: a file size limit) handed over
 * after a group started: the group still completes and is reported OK;
 * the next group, which holds it, fails naming it; the messages handed
 * over before it in that group still arrive, it never does. */
static void failure_after_the_group_leaves_it_alone(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 70; i++)
        assert_int_equal(md_pipe_submit(&f->pipe, make_job(i, 100)), 0);
    md_pipe_group_start(&f->pipe);
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 64 * 1024;
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    /* Those after the failing one may already be refused. */
    for (int i = 70; i < 80; i++)
        md_pipe_submit(&f->pipe, make_job(i, i == 75 ? 100 * 1024 : 100));
    int first = md_pipe_group_wait(&f->pipe);
    md_pipe_group_start(&f->pipe);
    int second = md_pipe_group_wait(&f->pipe);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_sig);

    assert_int_equal(first, 0);
    for (int i = 0; i < 70; i++)
        assert_arrived(f, i, 100);
    assert_int_equal(second, -1);
    int err = 0;
    const char *what = NULL;
    char file[320];
    assert_true(md_pipe_error(&f->pipe, &err, &what, file, sizeof file));
    assert_int_equal(err, EFBIG);
    assert_string_equal(what, "cannot write");
    assert_true(strstr(file, "tmp/75.Mtest.host") == file);
    for (int i = 70; i < 75; i++)
        assert_arrived(f, i, 100);
    assert_false(exists_in_cur(f, 75, 100 * 1024));
    assert_int_equal(md_pipe_wait(&f->pipe), -1);
    assert_int_equal(count_names(f->tmp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(all_arrive_through_unnamed_files,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(all_arrive_through_named_files, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(tmp_name_taken_by_a_leftover, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(written_message_is_synced_and_placed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bytes_waiting_stay_under_the_cap,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            bytes_waiting_in_all_pipes_stay_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(writer_failure_is_reported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(placing_failure_unnamed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(placing_failure_named, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stop_finishes_the_work, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            group_wait_returns_when_its_group_is_in_cur, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_group_returns_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failure_inside_a_group_is_reported,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            failure_before_the_start_fails_the_group, setup, teardown),
        cmocka_unit_test_setup_teardown(
            failure_after_the_group_leaves_it_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
