/* The destination locks (destlock.h). */
#include "destlock.h"

#include "digest.h"
#include "endpoint.h"
#include "escape.h"
#include "interrupt.h"
#include "log.h"
#include "pair.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

char *mp_dest_lock_dir(void)
{
    const char *chosen = getenv("MAILPORT_LOCK_DIR");
    if (chosen && chosen[0])
        return strdup(chosen);
    char buf[4096];
    struct passwd pw, *found = NULL;
    char *dir = NULL;
    if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &found) == 0 && found &&
        found->pw_dir && found->pw_dir[0] == '/' &&
        access(found->pw_dir, W_OK) == 0) {
        if (asprintf(&dir, "%s/.local/state/mailport/locks", found->pw_dir) < 0)
            dir = NULL;
        return dir;
    }
    char *state = mp_state_dir();
    if (state && asprintf(&dir, "%s/locks", state) < 0)
        dir = NULL;
    free(state);
    return dir;
}

typedef enum lock_got {
    LOCK_TAKEN,
    LOCK_HELD,        /* by another run; not waited for */
    LOCK_CANNOT,      /* errno tells why */
    LOCK_INTERRUPTED, /* a signal came while waiting */
} lock_got;

/* The pid text a lock file holds ("" for none). */
static void read_pid(int fd, char pid[32])
{
    ssize_t n = pread(fd, pid, 31, 0);
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
}

/* Is FD still the file at PATH? A holder removes the file at release, so
 * a run that opened it just before may lock a file nobody else will see;
 * it must open PATH again. */
static int still_at(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* Take the lock at PATH into *FD. When another run holds it: WAIT_WHY
 * NULL returns LOCK_HELD with its pid in HOLDER; else WAIT_WHY (a format
 * taking the holder's pid text) is said once and the lock waited for.
 * KILLED gets the pid a killed run left in the file, or "". */
static lock_got take_lock(const char *path, const char *wait_why,
                          const char *shown, int *fd_out, char holder[32],
                          char killed[32])
{
    holder[0] = killed[0] = '\0';
    if (mp_state_make_parents(path) != 0)
        return LOCK_CANNOT;
    int said = 0;
    for (;;) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return LOCK_CANNOT;
        while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) {
                int e = errno;
                close(fd);
                errno = e;
                return LOCK_CANNOT;
            }
            read_pid(fd, holder);
            if (!wait_why) {
                close(fd);
                return LOCK_HELD;
            }
            if (!said++)
                mp_warn(wait_why, holder[0] ? holder : "?", shown);
            if (mp_interrupted()) {
                close(fd);
                return LOCK_INTERRUPTED;
            }
            usleep(100 * 1000);
        }
        if (still_at(fd, path)) {
            read_pid(fd, killed);
            *fd_out = fd;
            return LOCK_TAKEN;
        }
        close(fd); /* released and removed meanwhile: the next file */
    }
}

/* Write our pid into the lock file FD holds. */
static void mark_ours(int fd, const char *path)
{
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        mp_debug("cannot write the pid into %s", path);
}

/* The store lock's path: the sink's name for the store, else ENDPOINT's
 * canonical form, hashed (the name is not secret, but may be long). */
static char *store_lock_path(const char *identity)
{
    char *dir = mp_dest_lock_dir();
    if (!dir)
        return NULL;
    char hex[65];
    mp_digest_buffer(identity, strlen(identity), hex);
    char *path = NULL;
    if (asprintf(&path, "%s/store-%.24s.lock", dir, hex) < 0)
        path = NULL;
    free(dir);
    return path;
}

static char *store_identity(const char *dest, mp_store *dst)
{
    const mp_sink_ops *ops = dst && dst->role == MP_ROLE_SINK && dst->plugin
                                 ? dst->plugin->sink
                                 : NULL;
    if (ops && MP_HAS_SLOT(ops, mp_sink_ops, store_identity) &&
        ops->store_identity) {
        char name[1024] = "";
        mp_host_clear_error(&dst->host);
        if (ops->store_identity(dst->handle, name, sizeof name) == MP_OK &&
            name[0])
            return strdup(name);
        mp_debug("the destination does not name its store (%s); its lock "
                 "is named after the address",
                 mp_store_error(dst));
    }
    return mp_pair_destination_identity(dest);
}

int mp_dest_lock_claim(mp_dest_lock *l, const char *dest, mp_store *dst,
                       int *settled)
{
    char holder[32], killed[32], killed_store[32] = "";
    /* As the user may read it: a password typed in the URL masked. */
    char err[256];
    mp_url *u = mp_url_parse(dest, err, sizeof err);
    mp_shown shown = mp_show_name(u && u->display ? u->display : dest);
    mp_url_free(u);
    l->endpoint_path = mp_pair_destination_lock_path(dest);
    if (!l->endpoint_path)
        return 0;
    lock_got got = take_lock(l->endpoint_path, NULL, shown.s, &l->endpoint_fd,
                             holder, killed);
    if (got == LOCK_HELD) {
        mp_error("another mailport%s%s%s is copying into %s; wait for it to "
                 "finish (two runs into one destination could store a "
                 "message twice)",
                 holder[0] ? " (pid " : "", holder, holder[0] ? ")" : "",
                 shown.s);
        return -1;
    }
    if (got == LOCK_CANNOT) {
        mp_warn("cannot create the destination lock %s: %s; not guarded "
                "against a second run into the same destination",
                l->endpoint_path, strerror(errno));
        return 0;
    }
    char *identity = store_identity(dest, dst);
    l->store_path = identity ? store_lock_path(identity) : NULL;
    free(identity);
    if (l->store_path) {
        got = take_lock(l->store_path,
                        "another mailport (pid %s) is copying into the same "
                        "destination as %s, reached another way (another "
                        "port, address, host name or path); waiting for it "
                        "to finish, as two runs into one destination could "
                        "store a message twice",
                        shown.s, &l->store_fd, holder, killed_store);
        if (got == LOCK_INTERRUPTED)
            return -2;
        if (got == LOCK_CANNOT)
            mp_warn("cannot create the destination lock %s: %s; not guarded "
                    "against a second run into the same destination "
                    "reached another way",
                    l->store_path, strerror(errno));
    }
    const char *old = killed[0] ? killed : killed_store;
    if (old[0] && !*settled) {
        mp_info("the last run into %s (pid %s) was interrupted; waiting %d s "
                "for the destination to settle",
                shown.s, old, MP_CRASH_SETTLE_SECONDS);
        sleep(MP_CRASH_SETTLE_SECONDS);
        *settled = 1;
    }
    mark_ours(l->endpoint_fd, l->endpoint_path);
    if (l->store_fd >= 0)
        mark_ours(l->store_fd, l->store_path);
    return 0;
}

/* Remove the file, then let go of it: a run waiting on this file finds it
 * gone (still_at) and takes a new one. */
static void drop(int *fd, char **path)
{
    if (*fd >= 0) {
        if (unlink(*path) != 0)
            mp_debug("cannot remove the lock %s: %s", *path, strerror(errno));
        close(*fd);
    }
    *fd = -1;
    free(*path);
    *path = NULL;
}

void mp_dest_lock_release(mp_dest_lock *l)
{
    drop(&l->store_fd, &l->store_path);
    drop(&l->endpoint_fd, &l->endpoint_path);
}
