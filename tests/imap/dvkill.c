/* Helpers for the tests that kill the whole IMAP server (Dovecot) under a
 * running copy: test_imap_server_kill (issue 8.1, one kill at a chosen
 * point) and test_imap_server_faults (seeded random kills and restarts). */
#include "dvkill.h"

#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

static void mkdirs(const char *path)
{
    char *p = strdup(path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0700);
            *s = '/';
        }
    mkdir(p, 0700);
    free(p);
}

/* A Maildir of N distinct messages of about BODY bytes, each with a
 * Message-ID and a number in its Subject, flags S. */
char *dvk_make_source(const char *work, const char *tag, int n, int body)
{
    char *dir = mp_strf("%s/%s", work, tag);
    const char *sub[] = {"cur", "new", "tmp"};
    for (int i = 0; i < 3; i++) {
        char *d = mp_strf("%s/%s", dir, sub[i]);
        mkdirs(d);
        free(d);
    }
    for (int i = 0; i < n; i++) {
        char *text = mp_strf("Message-ID: <%s.%d@example.org>\n"
                             "Subject: kill %d\n"
                             "Date: Mon, 1 Jan 2024 10:00:00 +0000\n\n"
                             "%0*d\n",
                             tag, i, i, body, i);
        char *path = mp_strf("%s/cur/1700000000.M%dP1.test:2,S", dir, i);
        mp_write_file(path, text, strlen(text));
        struct utimbuf t = {1600000000 + i, 1600000000 + i};
        utime(path, &t);
        free(path);
        free(text);
    }
    return dir;
}

/* Files in DIR/cur and DIR/new, and in DIR/tmp too when WITH_TMP. */
int dvk_count_files(const char *dir, int with_tmp)
{
    int n = 0;
    const char *sub[] = {"cur", "new", "tmp"};
    for (int k = 0; k < 2 + with_tmp; k++) {
        char *d = mp_strf("%s/%s", dir, sub[k]);
        DIR *dh = opendir(d);
        struct dirent *e;
        while (dh && (e = readdir(dh)))
            n += e->d_name[0] != '.';
        if (dh)
            closedir(dh);
        free(d);
    }
    return n;
}

/* How often each source message ("Subject: kill N") is in the Maildir
 * folder DIR: every one must be there exactly once, and nothing else. */
void dvk_assert_each_once(const char *dir, int n)
{
    int *seen = calloc((size_t)n, sizeof *seen);
    int total = 0, strays = 0;
    const char *sub[] = {"cur", "new"};
    for (int k = 0; k < 2; k++) {
        char *d = mp_strf("%s/%s", dir, sub[k]);
        DIR *dh = opendir(d);
        struct dirent *e;
        while (dh && (e = readdir(dh))) {
            if (e->d_name[0] == '.')
                continue;
            char *path = mp_strf("%s/%s", d, e->d_name);
            char *text = mp_read_file(path, NULL);
            const char *s = strstr(text, "Subject: kill ");
            int i = s ? atoi(s + 14) : -1;
            if (i >= 0 && i < n)
                seen[i]++;
            else
                strays++;
            total++;
            free(text);
            free(path);
        }
        if (dh)
            closedir(dh);
        free(d);
    }
    int missing = 0, doubled = 0;
    for (int i = 0; i < n; i++) {
        missing += seen[i] == 0;
        doubled += seen[i] > 1;
    }
    free(seen);
    if (total != n || missing || doubled || strays)
        fail_msg("%s holds %d messages for %d: %d missing, %d more than once, "
                 "%d not from the source",
                 dir, total, n, missing, doubled, strays);
}

/* The pids whose parent is PPID, from /proc; returns how many (at most
 * CAP). */
static int children_of(int ppid, int *out, int cap)
{
    int n = 0;
    DIR *dh = opendir("/proc");
    struct dirent *e;
    while (dh && (e = readdir(dh)) && n < cap) {
        int pid = atoi(e->d_name);
        if (pid <= 0)
            continue;
        char *path = mp_strf("/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        free(path);
        if (!f)
            continue;
        char line[1024] = "";
        if (fgets(line, sizeof line, f)) {
            /* "pid (comm) state ppid ...": comm may hold spaces. */
            const char *close = strrchr(line, ')');
            char state;
            int parent;
            if (close && sscanf(close + 1, " %c %d", &state, &parent) == 2 &&
                parent == ppid)
                out[n++] = pid;
        }
        fclose(f);
    }
    if (dh)
        closedir(dh);
    return n;
}

static void kill_descendants(int pid)
{
    int kids[256];
    int n = children_of(pid, kids, 256);
    for (int i = 0; i < n; i++) {
        kill(kids[i], SIGSTOP); /* no more children of its own meanwhile */
        kill_descendants(kids[i]);
        kill(kids[i], SIGKILL);
    }
}

/* The whole server dies at once: the master is stopped (so it spawns
 * nothing more), every process under it (imap-login, imap, auth, ...) gets
 * SIGKILL, then the master; the kernel closes every connection they held.
 * mp_dovecot_kill then reaps the master and waits until the ports are
 * free. */
void dvk_kill_whole_server(mp_dovecot *d)
{
    int master = mp_dovecot_pid(d);
    if (master > 0) {
        kill(master, SIGSTOP);
        kill_descendants(master);
        kill(master, SIGKILL);
    }
    mp_dovecot_kill(d);
    /* A mail process killed while saving leaves dovecot-uidlist.lock;
     * the restarted server would wait until it is two minutes old before
     * taking it over. Nothing runs now: remove such locks, as whoever
     * restarts a crashed server may. */
    assert_int_equal(mp_sh("find '%s/mail' -name 'dovecot*.lock' -delete",
                           mp_dovecot_dir(d)),
                     0);
}

/* Bytes the server's imap processes (descendants of the Dovecot master
 * PID) have written so far, from /proc/PID/io's wchar (Dovecot writes to
 * its sockets with write(2), which wchar counts). Watching what the server
 * sent, not what the sink wrote, keeps the kill inside the transfer
 * however slowly the sink writes (a sanitizer build writes its files long
 * after it has read them). */
long dvk_imap_bytes_written(int pid)
{
    int kids[256];
    int n = children_of(pid, kids, 256);
    long sum = 0;
    for (int i = 0; i < n; i++) {
        sum += dvk_imap_bytes_written(kids[i]);
        char *path = mp_strf("/proc/%d/comm", kids[i]);
        FILE *f = fopen(path, "r");
        free(path);
        char comm[64] = "";
        if (f) {
            if (!fgets(comm, sizeof comm, f))
                comm[0] = '\0';
            fclose(f);
        }
        if (strcmp(comm, "imap\n") != 0)
            continue; /* imap-login, auth, ... or one that just ended */
        path = mp_strf("/proc/%d/io", kids[i]);
        f = fopen(path, "r");
        free(path);
        long wchar = 0;
        char line[128];
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "wchar: %ld", &wchar) == 1)
                break;
        if (f)
            fclose(f);
        sum += wchar;
    }
    return sum;
}

void dvk_expect_exit(mp_run_result *r, int code)
{
    if (r->exit_code != code)
        fail_msg("exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", r->exit_code,
                 code, r->out, r->err);
}
