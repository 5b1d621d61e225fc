#include "cyrus.h"

#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_USERS 16

struct mp_cyrus {
    char *dir, *conf, *master_log, *cafile, *sasldb;
    int port;
    pid_t pid;
    uid_t uid; /* what Cyrus runs as: the test's user, or nobody for root */
    gid_t gid;
    char *users[MAX_USERS], *pwfiles[MAX_USERS];
    int n_users;
};

/* Where fetch_cyrus.sh unpacked the packages (the build tree's cyrus/,
 * or $MP_CYRUS_DIR). */
static const char *fixture_dir(void)
{
    const char *env = getenv("MP_CYRUS_DIR");
    return env && *env ? env : MP_TEST_BINARY_DIR "/cyrus";
}

const char *mp_cyrus_unavailable(void)
{
    static char why[1024];
    char *flag = mp_strf("%s/unavailable", fixture_dir());
    char *master = mp_strf("%s/root/usr/lib/cyrus/bin/master", fixture_dir());
    const char *out = NULL;
    FILE *fp = fopen(flag, "r");
    if (fp) {
        size_t n = fread(why, 1, sizeof why - 1, fp);
        fclose(fp);
        why[n] = '\0';
        why[strcspn(why, "\n")] = '\0';
        out = why;
    } else if (access(master, X_OK) != 0) {
        snprintf(why, sizeof why,
                 "no Cyrus fixture in %s (the ctest fixture cyrus_fetch, "
                 "tests/cyrus/fetch_cyrus.sh, unpacks it)",
                 fixture_dir());
        out = why;
    }
    free(flag);
    free(master);
    return out;
}

/* A port of 127.0.0.1 nobody listens on now, from the kernel. Another
 * process may take it before the master binds it: start-up then retries
 * on a new one (mp_cyrus_start). */
static int unused_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        fail_msg("no free port on 127.0.0.1: %s", strerror(errno));
    close(s);
    return ntohs(a.sin_port);
}

static int connect_to(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0)
        return s;
    if (s >= 0)
        close(s);
    return -1;
}

static uid_t walk_uid;
static gid_t walk_gid;
static int give_one(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (lchown(path, walk_uid, walk_gid) != 0)
        fail_msg("chown %s: %s", path, strerror(errno));
    return 0;
}

/* Everything under the instance's directory belongs to the user Cyrus
 * runs as (it writes its databases and mail there). */
static void give_tree(const mp_cyrus *c)
{
    walk_uid = c->uid;
    walk_gid = c->gid;
    if (nftw(c->dir, give_one, 32, FTW_PHYS) != 0)
        fail_msg("walking %s failed", c->dir);
}

static void write_conf(mp_cyrus *c)
{
    char *bin = mp_strf("%s/root/usr/lib/cyrus/bin", fixture_dir());
    struct passwd *pw = getpwuid(c->uid);
    if (!pw)
        fail_msg("no passwd entry for uid %u", (unsigned)c->uid);
    /* Debian's imapd.conf where it matters for mail (altnamespace and
     * unixhierarchysep off, plain text allowed, sasldb through auxprop);
     * reject8bit, munge8bit and virtdomains are left at Cyrus's defaults
     * (off, on, off). Paths are the instance's; autocreate_quota 0 makes a
     * user's INBOX at first login, as Debian's does. */
    char *text = mp_strf("configdirectory: %1$s/config\n"
                         "defaultpartition: default\n"
                         "partition-default: %1$s/spool\n"
                         "proc_path: %1$s/run/proc\n"
                         "mboxname_lockpath: %1$s/run/lock\n"
                         "lmtpsocket: %1$s/run/socket/lmtp\n"
                         "idlesocket: %1$s/run/socket/idle\n"
                         "notifysocket: %1$s/run/socket/notify\n"
                         "cyrus_user: %2$s\n"
                         "servername: localhost\n"
                         "altnamespace: no\n"
                         "unixhierarchysep: no\n"
                         "allowplaintext: yes\n"
                         "sasl_pwcheck_method: auxprop\n"
                         "sasl_auxprop_plugin: sasldb\n"
                         "sasl_sasldb_path: %1$s/sasldb2\n"
                         "sasl_mech_list: PLAIN LOGIN\n"
                         "autocreate_quota: 0\n"
                         "umask: 077\n"
                         "tls_server_cert: %1$s/cert.pem\n"
                         "tls_server_key: %1$s/key.pem\n",
                         c->dir, pw->pw_name);
    mp_write_file(c->conf, text, strlen(text));
    free(text);
    /* The master starts its children by absolute path and passes them no
     * -C: each command names the instance's imapd.conf itself. */
    char *services = mp_strf("START {\n"
                             "  recover cmd=\"%1$s/ctl_cyrusdb -C %2$s -r\"\n"
                             "}\n"
                             "SERVICES {\n"
                             "  imap cmd=\"%1$s/imapd -C %2$s\" "
                             "listen=\"127.0.0.1:%3$d\" prefork=0 "
                             "maxchild=64\n"
                             "}\n"
                             "EVENTS {\n"
                             "  checkpoint cmd=\"%1$s/ctl_cyrusdb -C %2$s "
                             "-c\" period=30\n"
                             "}\n",
                             bin, c->conf, c->port);
    char *path = mp_strf("%s/cyrus.conf", c->dir);
    mp_write_file(path, services, strlen(services));
    free(path);
    free(services);
    free(bin);
}

/* Has the server on C->port greeted us as Cyrus (not some other program
 * that took the port)? */
static int greets(const mp_cyrus *c)
{
    int s = connect_to(c->port);
    if (s < 0)
        return 0;
    char buf[512];
    ssize_t n = recv(s, buf, sizeof buf - 1, 0);
    close(s);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strstr(buf, "Cyrus IMAP") != NULL;
}

/* Start the master; 0 once it answers on C->port, -1 when it did not
 * within 10 s (the port taken, say), stopped again. */
static int try_spawn(mp_cyrus *c)
{
    char *lib = mp_strf("%s/root/usr/lib/x86_64-linux-gnu", fixture_dir());
    char *master = mp_strf("%s/root/usr/lib/cyrus/bin/master", fixture_dir());
    char *services = mp_strf("%s/cyrus.conf", c->dir);
    char *pidfile = mp_strf("%s/run/master.pid", c->dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A process group of its own: the master's shutdown signals its
         * whole group (kill(0, SIGTERM)), which would otherwise be the
         * test's and, under ctest -j, every other Cyrus instance's too. */
        setpgid(0, 0);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        setenv("LD_LIBRARY_PATH", lib, 1);
        /* -L: the master's own messages (its children log to syslog). */
        execl(master, "master", "-D", "-C", c->conf, "-M", services, "-p",
              pidfile, "-L", c->master_log, (char *)NULL);
        _exit(127);
    }
    c->pid = pid;
    free(lib);
    free(master);
    free(services);
    free(pidfile);
    for (int i = 0; i < 200; i++) {
        if (greets(c))
            return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            c->pid = 0;
            char *log = mp_file_exists(c->master_log)
                            ? mp_read_file(c->master_log, NULL)
                            : strdup("");
            fail_msg("Cyrus master exited at start-up (status %d); its "
                     "output:\n%s",
                     status, log);
        }
        usleep(50000);
    }
    return -1;
}

static void stop_master(mp_cyrus *c)
{
    if (c->pid <= 0)
        return;
    kill(c->pid, SIGTERM);
    int status;
    for (int i = 0; i < 200 && c->pid > 0; i++) {
        if (waitpid(c->pid, &status, WNOHANG) == c->pid)
            c->pid = 0;
        else
            usleep(50000);
    }
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &status, 0);
        c->pid = 0;
    }
    for (int i = 0; i < 100; i++) {
        int s = connect_to(c->port);
        if (s < 0)
            break;
        close(s);
        usleep(50000);
    }
}

mp_cyrus *mp_cyrus_start(void)
{
    const char *why = mp_cyrus_unavailable();
    if (why)
        fail_msg("Cyrus IMAP is not available: %s", why);
    mp_cyrus *c = calloc(1, sizeof *c);
    c->dir = mp_tmpdir("cyrus");
    c->conf = mp_strf("%s/imapd.conf", c->dir);
    c->master_log = mp_strf("%s/master.log", c->dir);
    c->cafile = mp_strf("%s/cert.pem", c->dir);
    c->sasldb = mp_strf("%s/sasldb2", c->dir);
    c->uid = geteuid();
    c->gid = getegid();
    if (c->uid == 0) {
        /* Cyrus's services stop at once when run as root. */
        struct passwd *pw = getpwnam("nobody");
        if (!pw)
            fail_msg("no 'nobody' user for Cyrus to run as");
        c->uid = pw->pw_uid;
        c->gid = pw->pw_gid;
    }
    chmod(c->dir, 0755);
    if (mp_sh("cd '%s' && mkdir -p config/socket config/db spool run/proc "
              "run/lock run/socket "
              "&& openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem "
              "-out cert.pem -days 2 -subj /CN=localhost "
              "-addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' "
              ">/dev/null 2>&1 && chmod 600 key.pem",
              c->dir) != 0)
        fail_msg("could not lay out %s (openssl?)", c->dir);
    for (int attempt = 1;; attempt++) {
        c->port = unused_port();
        write_conf(c);
        give_tree(c);
        if (try_spawn(c) == 0)
            break;
        stop_master(c);
        if (attempt == 5) {
            char *log = mp_read_file(c->master_log, NULL);
            fail_msg("Cyrus did not answer on a port of its own five times; "
                     "the master's output:\n%s",
                     log);
        }
    }
    return c;
}

void mp_cyrus_stop(mp_cyrus *c)
{
    if (!c)
        return;
    stop_master(c);
    mp_rm_rf(c->dir);
    for (int i = 0; i < c->n_users; i++) {
        free(c->users[i]);
        free(c->pwfiles[i]);
    }
    free(c->dir);
    free(c->conf);
    free(c->master_log);
    free(c->cafile);
    free(c->sasldb);
    free(c);
}

int mp_cyrus_port(const mp_cyrus *c)
{
    return c->port;
}
const char *mp_cyrus_cafile(const mp_cyrus *c)
{
    return c->cafile;
}
const char *mp_cyrus_dir(const mp_cyrus *c)
{
    return c->dir;
}

void mp_cyrus_add_user(mp_cyrus *c, const char *user, const char *pass)
{
    int i = 0;
    while (i < c->n_users && strcmp(c->users[i], user) != 0)
        i++;
    if (i == c->n_users) {
        assert_true(c->n_users < MAX_USERS);
        c->users[i] = strdup(user);
        c->pwfiles[i] = mp_strf("%s/%s.password", c->dir, user);
        c->n_users++;
    }
    mp_write_file(c->pwfiles[i], pass, strlen(pass));
    chmod(c->pwfiles[i], 0600);
    /* The realm is the servername, which a plain login without one gets;
     * the password comes from the file, never the command line. */
    if (mp_sh("saslpasswd2 -p -c -f '%s' -u localhost '%s' < '%s' && "
              "chown %u:%u '%s'",
              c->sasldb, user, c->pwfiles[i], (unsigned)c->uid,
              (unsigned)c->gid, c->sasldb) != 0)
        fail_msg("saslpasswd2 could not add %s to %s", user, c->sasldb);
}

const char *mp_cyrus_password_file(mp_cyrus *c, const char *user)
{
    for (int i = 0; i < c->n_users; i++)
        if (strcmp(c->users[i], user) == 0)
            return c->pwfiles[i];
    fail_msg("mp_cyrus: no user %s", user);
    return NULL;
}

char *mp_cyrus_url(mp_cyrus *c, const char *mode, const char *user)
{
    const char *pwfile = mp_cyrus_password_file(c, user);
    if (strcmp(mode, "imap") == 0)
        return mp_strf("imap://%s@127.0.0.1:%d?tls=none&password_file=%s", user,
                       c->port, pwfile);
    if (strcmp(mode, "starttls") == 0)
        return mp_strf("imap://%s@127.0.0.1:%d?cafile=%s&password_file=%s",
                       user, c->port, c->cafile, pwfile);
    fail_msg("mp_cyrus_url: unknown mode %s", mode);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The test's own IMAP client, to look at the server apart from mailport.    */

typedef struct conn {
    int fd;
    char buf[65536];
    size_t have, at;
} conn;

static int next_byte(conn *k)
{
    if (k->at == k->have) {
        ssize_t n;
        do
            n = recv(k->fd, k->buf, sizeof k->buf, 0);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
            return -1;
        k->have = (size_t)n;
        k->at = 0;
    }
    return (unsigned char)k->buf[k->at++];
}

/* Append one response line to OUT (*LEN bytes so far), with every literal
 * it announces ("{N}" CRLF, N bytes, the line goes on); returns the
 * offset where the line starts. */
static size_t read_line(conn *k, char **out, size_t *len, size_t *cap)
{
    size_t start = *len;
    for (;;) {
        int ch = next_byte(k);
        if (ch < 0)
            fail_msg("mp_cyrus: connection closed; so far:\n%s", *out);
        if (*len + 2 > *cap) {
            *cap = *cap * 2 + 4096;
            *out = realloc(*out, *cap);
            assert_non_null(*out);
        }
        (*out)[(*len)++] = (char)ch;
        (*out)[*len] = '\0';
        if (ch != '\n')
            continue;
        char *end = *out + *len;
        if (*len - start < 4 || end[-3] != '}')
            return start;
        char *open = end - 3;
        while (open > *out + start && open[-1] != '{')
            open--;
        if (open == *out + start)
            return start;
        size_t lit = strtoul(open, NULL, 10);
        for (size_t i = 0; i < lit; i++) {
            ch = next_byte(k);
            if (ch < 0)
                fail_msg("mp_cyrus: short literal");
            if (*len + 2 > *cap) {
                *cap = *cap * 2 + lit;
                *out = realloc(*out, *cap);
                assert_non_null(*out);
            }
            (*out)[(*len)++] = (char)ch;
        }
        (*out)[*len] = '\0';
    }
}

/* Send "TAG TEXT" CRLF and read to TAG's answer, appended to OUT; returns
 * whether it was OK. */
static int step(conn *k, const char *tag, const char *text, char **out,
                size_t *len, size_t *cap)
{
    char *line = mp_strf("%s %s\r\n", tag, text);
    size_t n = strlen(line);
    for (size_t off = 0; off < n;) {
        ssize_t w = send(k->fd, line + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail_msg("mp_cyrus: send: %s", strerror(errno));
        off += (size_t)w;
    }
    free(line);
    size_t tl = strlen(tag);
    for (;;) {
        size_t at = read_line(k, out, len, cap);
        if (strncmp(*out + at, tag, tl) == 0 && (*out)[at + tl] == ' ')
            return strncmp(*out + at + tl + 1, "OK", 2) == 0;
    }
}

char *mp_cyrus_session(mp_cyrus *c, const char *user,
                       const char *const *commands)
{
    conn *k = calloc(1, sizeof *k);
    k->fd = connect_to(c->port);
    if (k->fd < 0)
        fail_msg("mp_cyrus: cannot connect to port %d", c->port);
    size_t len = 0, cap = 4096;
    char *out = malloc(cap);
    out[0] = '\0';
    read_line(k, &out, &len, &cap); /* the greeting */
    char *pw = mp_read_file(mp_cyrus_password_file(c, user), NULL);
    char *login = mp_strf("LOGIN \"%s\" \"%s\"", user, pw);
    free(pw);
    if (!step(k, "l", login, &out, &len, &cap))
        fail_msg("mp_cyrus: login as %s refused:\n%s", user, out);
    free(login);
    len = 0;
    out[0] = '\0';
    for (size_t i = 0; commands[i]; i++) {
        const char *command = commands[i];
        int any = command[0] == '?';
        size_t before = len;
        if (!step(k, "t", command + any, &out, &len, &cap) && !any)
            fail_msg("mp_cyrus: \"%.200s\" failed:\n%s", command + any,
                     out + before);
    }
    size_t keep = len;
    step(k, "z", "LOGOUT", &out, &len, &cap);
    out[keep] = '\0';
    close(k->fd);
    free(k);
    return out;
}

char *mp_cyrus_command(mp_cyrus *c, const char *user, const char *command)
{
    const char *one[] = {command, NULL};
    return mp_cyrus_session(c, user, one);
}
