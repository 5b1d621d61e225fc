#include "dovecot.h"

#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_USERS 16

struct mp_dovecot {
    char *dir;
    char *conf, *log, *cafile, *passwd;
    int port, tls_port;
    pid_t pid;
    uid_t mail_uid;
    gid_t mail_gid;
    char *users[MAX_USERS];
    char *pwfiles[MAX_USERS];
    int n_users;
    time_t pw_stamp; /* mtime given to each new passwd file version */
};

/* A port nobody listens on, picked below the kernel's ephemeral range
 * (32768 and up by default): the tests' own outgoing connections take
 * ephemeral ports, and one of them could grab a port picked there before
 * Dovecot binds it. Parallel test programs can still pick the same port:
 * start-up retries on new ports (see mp_dovecot_start_opts). */
static int free_port(void)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int tries = 0; tries < 1000; tries++) {
        int port = 20000 + (int)(rand_r(&seed) % 12000);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(s >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
        close(s);
        if (ok)
            return port;
    }
    fail_msg("no free port between 20000 and 32000");
    return -1;
}

static int can_connect(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    mp_write_file(path, text, strlen(text));
    chmod(path, mode);
}

static void write_config(mp_dovecot *d, const mp_dovecot_opts *o)
{
    struct passwd *pw = getpwuid(geteuid());
    const char *run_user = geteuid() == 0 ? "dovecot" : pw->pw_name;
    const char *login_user = geteuid() == 0 ? "dovenull" : pw->pw_name;
    char sep = o && o->separator ? o->separator : '/';
    char *quota = o && o->max_mail_size
                      ? mp_strf("mail_plugins = quota\n"
                                "plugin {\n"
                                "  quota = count:User quota\n"
                                "  quota_vsizes = yes\n"
                                "  quota_max_mail_size = %zu\n"
                                "}\n",
                                o->max_mail_size)
                      : strdup("");
    if (o && o->listescape) {
        char *both =
            mp_strf("%smail_plugins = $mail_plugins listescape\n", quota);
        free(quota);
        quota = both;
    }
    if (o && o->max_connections) {
        char *more = mp_strf("%sprotocol imap {\n"
                             "  mail_max_userip_connections = %d\n}\n",
                             quota, o->max_connections);
        free(quota);
        quota = more;
    }
    if (o && o->capability) {
        char *more = mp_strf("%simap_capability = %s\n", quota, o->capability);
        free(quota);
        quota = more;
    }
    char *mechs = strdup("plain login");
    char *oauth2 = strdup("");
    if (o && o->oauth2_introspection_url) {
        const char *om =
            o->oauth2_bearer_only ? "oauthbearer" : "xoauth2 oauthbearer";
        char *args = mp_strf("%s/oauth2.conf.ext", d->dir);
        char *text = mp_strf("introspection_mode = post\n"
                             "introspection_url = %s\n"
                             "username_attribute = username\n"
                             "active_attribute = active\n"
                             "active_value = true\n",
                             o->oauth2_introspection_url);
        write_text(args, text, 0644);
        free(text);
        free(mechs);
        mechs = mp_strf("plain login %s", om);
        free(oauth2);
        /* Dovecot delays logins from an address that just failed one
         * (its auth penalty: 2 s and more), longer than the tests' tokens
         * live; trusted networks are spared it. */
        oauth2 = mp_strf("login_trusted_networks = 127.0.0.0/8\n"
                         "passdb {\n  driver = oauth2\n  mechanisms = %s\n"
                         "  args = %s\n}\n",
                         om, args);
        free(args);
    }
    char *prefix = o && o->prefix && *o->prefix
                       ? mp_strf("  prefix = %s\n", o->prefix)
                       : strdup("");
    char *conf = mp_strf(
        "base_dir = %1$s/run\n"
        "state_dir = %1$s/state\n"
        "log_path = %1$s/dovecot.log\n"
        "listen = 127.0.0.1\n"
        "protocols = imap\n"
        "ssl = yes\n"
        "ssl_cert = <%1$s/cert.pem\n"
        "ssl_key = <%1$s/key.pem\n"
        "disable_plaintext_auth = no\n"
        "auth_mechanisms = %11$s\n"
        "default_internal_user = %2$s\n"
        "default_login_user = %3$s\n"
        "first_valid_uid = 1\n"
        "mail_max_userip_connections = 64\n"
        "%12$s"
        /* A passwd file per user: one a test adds is a path Dovecot has
         * not read yet, so it is read at the first login, where one
         * shared file is looked at again at most once a second. */
        "passdb {\n  driver = passwd-file\n  args = %1$s/passwd.d/%%u\n}\n"
        "userdb {\n  driver = static\n"
        "  args = uid=%4$u gid=%5$u home=%1$s/home/%%u\n}\n"
        "mail_location = maildir:%1$s/mail/%%u\n"
        "namespace inbox {\n  inbox = yes\n  separator = %6$c\n%10$s"
        "  mailbox Sent {\n    special_use = \\Sent\n  }\n"
        "  mailbox Trash {\n    special_use = \\Trash\n  }\n}\n"
        "service imap-login {\n  chroot =\n"
        "  inet_listener imap {\n    port = %7$d\n  }\n"
        "  inet_listener imaps {\n    port = %8$d\n    ssl = yes\n  }\n}\n"
        "service anvil {\n  chroot =\n}\n"
        "protocol imap {\n  rawlog_dir = %1$s/rawlog/%%u\n}\n"
        "%9$s",
        d->dir, run_user, login_user, (unsigned)d->mail_uid,
        (unsigned)d->mail_gid, sep, d->port, d->tls_port, quota, prefix, mechs,
        oauth2);
    write_text(d->conf, conf, 0644);
    free(conf);
    free(mechs);
    free(oauth2);
    free(quota);
    free(prefix);
}

/* Start Dovecot on the configured ports and wait until it listens.
 * Returns 0; or -1 when it could not bind a port another process took
 * first (the caller may try new ports); fails the test otherwise. */
static int try_spawn(mp_dovecot *d)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execlp("dovecot", "dovecot", "-F", "-c", d->conf, (char *)NULL);
        _exit(127);
    }
    d->pid = pid;
    for (int i = 0; i < 200; i++) {
        if (can_connect(d->port) && can_connect(d->tls_port))
            return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            d->pid = 0;
            char *log = mp_file_exists(d->log) ? mp_read_file(d->log, NULL)
                                               : strdup("(no log)");
            if (strstr(log, "Address already in use")) {
                free(log);
                unlink(d->log); /* the next attempt starts a clean log */
                return -1;
            }
            fail_msg("dovecot exited at start-up; its log:\n%s", log);
        }
        usleep(50000);
    }
    char *log = mp_read_file(d->log, NULL);
    fail_msg("dovecot did not listen on port %d within 10s; its log:\n%s",
             d->port, log);
    return -1;
}

static void spawn(mp_dovecot *d)
{
    if (try_spawn(d) != 0)
        fail_msg("dovecot could not listen again on ports %d and %d: taken",
                 d->port, d->tls_port);
}

static void pick_ports(mp_dovecot *d)
{
    d->port = free_port();
    do
        d->tls_port = free_port();
    while (d->tls_port == d->port);
}

static void mkdir_owned(const mp_dovecot *d, const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", path, strerror(errno));
    if (chown(path, d->mail_uid, d->mail_gid) != 0)
        fail_msg("chown %s: %s", path, strerror(errno));
}

mp_dovecot *mp_dovecot_start_opts(const mp_dovecot_opts *opts)
{
    mp_dovecot *d = calloc(1, sizeof *d);
    d->dir = mp_tmpdir("dovecot");
    /* Dovecot's unprivileged processes must reach their sockets and the
     * mail below this directory. */
    chmod(d->dir, 0755);
    d->conf = mp_strf("%s/dovecot.conf", d->dir);
    d->log = mp_strf("%s/dovecot.log", d->dir);
    d->cafile = mp_strf("%s/cert.pem", d->dir);
    d->passwd = mp_strf("%s/passwd.d", d->dir);
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("dovecot");
        if (!pw)
            fail_msg("no 'dovecot' system user: is dovecot-imapd installed?");
        d->mail_uid = pw->pw_uid;
        d->mail_gid = pw->pw_gid;
    } else {
        d->mail_uid = geteuid();
        d->mail_gid = getegid();
    }
    pick_ports(d);

    /* Each server has a key of its own, so one server's cafile= does not
     * vouch for another's certificate. */
    mp_test_certificate(d->dir, "localhost");
    if (mkdir(d->passwd, 0755) != 0)
        fail_msg("mkdir %s: %s", d->passwd, strerror(errno));
    char *sub;
    sub = mp_strf("%s/mail", d->dir);
    mkdir_owned(d, sub);
    free(sub);
    sub = mp_strf("%s/home", d->dir);
    mkdir_owned(d, sub);
    free(sub);
    sub = mp_strf("%s/rawlog", d->dir);
    mkdir_owned(d, sub);
    free(sub);
    /* Another test program may bind a port we picked before Dovecot does:
     * then start again on new ports. */
    for (int attempt = 1;; attempt++) {
        write_config(d, opts);
        if (try_spawn(d) == 0)
            break;
        if (attempt == 5)
            fail_msg("dovecot found its ports taken five times in a row");
        pick_ports(d);
    }
    return d;
}

mp_dovecot *mp_dovecot_start(void)
{
    return mp_dovecot_start_opts(NULL);
}

void mp_dovecot_kill(mp_dovecot *d)
{
    if (!d || d->pid <= 0)
        return;
    kill(d->pid, SIGTERM);
    int status;
    for (int i = 0; i < 200; i++) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            break;
        }
        usleep(50000);
    }
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &status, 0);
        d->pid = 0;
    }
    /* Children (imap, auth) notice the master is gone; give them a moment
     * so the ports are free again. */
    for (int i = 0;
         i < 100 && (can_connect(d->port) || can_connect(d->tls_port)); i++)
        usleep(50000);
}

void mp_dovecot_restart(mp_dovecot *d)
{
    mp_dovecot_kill(d);
    spawn(d);
}

int mp_dovecot_pid(const mp_dovecot *d)
{
    return (int)d->pid;
}

void mp_dovecot_stop(mp_dovecot *d)
{
    if (!d)
        return;
    mp_dovecot_kill(d);
    mp_rm_rf(d->dir);
    for (int i = 0; i < d->n_users; i++) {
        free(d->users[i]);
        free(d->pwfiles[i]);
    }
    free(d->dir);
    free(d->conf);
    free(d->log);
    free(d->cafile);
    free(d->passwd);
    free(d);
}

int mp_dovecot_port(const mp_dovecot *d)
{
    return d->port;
}
int mp_dovecot_tls_port(const mp_dovecot *d)
{
    return d->tls_port;
}
const char *mp_dovecot_cafile(const mp_dovecot *d)
{
    return d->cafile;
}
const char *mp_dovecot_dir(const mp_dovecot *d)
{
    return d->dir;
}
const char *mp_dovecot_log_path(const mp_dovecot *d)
{
    return d->log;
}

static int user_index(const mp_dovecot *d, const char *user)
{
    for (int i = 0; i < d->n_users; i++)
        if (strcmp(d->users[i], user) == 0)
            return i;
    return -1;
}

/* Record USER's password in its password file; returns whether USER was
 * known before (its passwd file may have been read already). */
static int set_password(mp_dovecot *d, const char *user, const char *pass)
{
    int i = user_index(d, user);
    int known = i >= 0;
    if (i < 0) {
        assert_true(d->n_users < MAX_USERS);
        i = d->n_users++;
        d->users[i] = strdup(user);
        d->pwfiles[i] = mp_strf("%s/%s.password", d->dir, user);
        char *raw = mp_strf("%s/rawlog/%s", d->dir, user);
        mkdir_owned(d, raw);
        free(raw);
    }
    write_text(d->pwfiles[i], pass, 0600);
    return known;
}

/* Write each user's passwd file (passwd.d/USER) from its password file.
 * Dovecot reads a user's file at the first login and then again when its
 * mtime or size changed, looking at most once a second: every version
 * gets its own mtime, and when CHANGED (a known user's password was set
 * again) and the server runs, the second in which it may have looked is
 * let pass. A new user's file needs no wait. */
static void write_passwd(mp_dovecot *d, int changed)
{
    for (int k = 0; k < d->n_users; k++) {
        char *pw = mp_read_file(d->pwfiles[k], NULL);
        char *text = mp_strf("%s:{PLAIN}%s\n", d->users[k], pw);
        char *path = mp_strf("%s/%s", d->passwd, d->users[k]);
        char *tmp = mp_strf("%s/.%s.new", d->passwd, d->users[k]);
        write_text(tmp, text, 0644);
        if (!d->pw_stamp)
            d->pw_stamp = time(NULL) - 100000;
        d->pw_stamp++;
        struct timespec ts[2] = {{d->pw_stamp, 0}, {d->pw_stamp, 0}};
        utimensat(AT_FDCWD, tmp, ts, 0);
        if (rename(tmp, path) != 0)
            fail_msg("rename %s: %s", tmp, strerror(errno));
        free(tmp);
        free(path);
        free(text);
        free(pw);
    }
    if (changed && d->pid > 0) {
        time_t now = time(NULL);
        while (time(NULL) == now)
            usleep(20000);
    }
}

void mp_dovecot_add_user(mp_dovecot *d, const char *user, const char *pass)
{
    write_passwd(d, set_password(d, user, pass));
}

void mp_dovecot_add_users(mp_dovecot *d, ...)
{
    va_list ap;
    va_start(ap, d);
    const char *user;
    int changed = 0;
    while ((user = va_arg(ap, const char *))) {
        const char *pass = va_arg(ap, const char *);
        changed |= set_password(d, user, pass);
    }
    va_end(ap);
    write_passwd(d, changed);
}

const char *mp_dovecot_password_file(mp_dovecot *d, const char *user)
{
    int i = user_index(d, user);
    if (i < 0)
        fail_msg("mp_dovecot: no user %s", user);
    return d->pwfiles[i];
}

char *mp_dovecot_maildir(const mp_dovecot *d, const char *user)
{
    return mp_strf("%s/mail/%s", d->dir, user);
}

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (lchown(path, chown_uid, chown_gid) != 0)
        fail_msg("chown %s: %s", path, strerror(errno));
    return 0;
}

void mp_dovecot_fix_owner(const mp_dovecot *d)
{
    char *root = mp_strf("%s/mail", d->dir);
    chown_uid = d->mail_uid;
    chown_gid = d->mail_gid;
    if (nftw(root, chown_one, 32, FTW_PHYS) != 0)
        fail_msg("walking %s failed", root);
    free(root);
}

char *mp_dovecot_url(mp_dovecot *d, const char *mode, const char *user)
{
    const char *pwfile = mp_dovecot_password_file(d, user);
    if (strcmp(mode, "imap") == 0)
        return mp_strf("imap://%s@127.0.0.1:%d?tls=none&password_file=%s", user,
                       d->port, pwfile);
    if (strcmp(mode, "starttls") == 0)
        return mp_strf("imap://%s@127.0.0.1:%d?cafile=%s&password_file=%s",
                       user, d->port, d->cafile, pwfile);
    if (strcmp(mode, "imaps") == 0)
        return mp_strf("imaps://%s@127.0.0.1:%d?cafile=%s&password_file=%s",
                       user, d->tls_port, d->cafile, pwfile);
    fail_msg("mp_dovecot_url: unknown mode %s", mode);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* A minimal IMAP client of its own, so tests can check the server's view.   */

/* Read one response line (with the literals it announces) into *OUT,
 * appending. Returns the start of the line within *OUT, as an offset. */
static size_t read_response_line(FILE *in, char **out, size_t *len)
{
    size_t start = *len;
    for (;;) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, in);
        if (n <= 0)
            fail_msg("mp_dovecot_command: connection closed; so far:\n%s",
                     *out);
        char *grown = realloc(*out, *len + (size_t)n + 1);
        assert_non_null(grown);
        *out = grown;
        memcpy(*out + *len, line, (size_t)n);
        *len += (size_t)n;
        (*out)[*len] = '\0';
        free(line);
        /* "{123}\r\n" at the end: 123 bytes of literal follow, then the
         * rest of the line. */
        size_t e = *len;
        if (e >= 3 && (*out)[e - 1] == '\n' && (*out)[e - 2] == '\r' &&
            (*out)[e - 3] == '}') {
            char *open = NULL;
            for (size_t k = e - 3; k > start; k--)
                if ((*out)[k - 1] == '{') {
                    open = *out + k;
                    break;
                }
            if (open) {
                size_t lit = strtoul(open, NULL, 10);
                grown = realloc(*out, *len + lit + 1);
                assert_non_null(grown);
                *out = grown;
                if (lit && fread(*out + *len, 1, lit, in) != lit)
                    fail_msg("mp_dovecot_command: short literal");
                *len += lit;
                (*out)[*len] = '\0';
                continue;
            }
        }
        return start;
    }
}

/* Send TEXT CRLF; read up to the line tagged TAG. Returns the answer
 * (malloc'd); *OK says whether it was OK. */
static char *session_step(FILE *io, const char *tag, const char *text, int *ok)
{
    char *line = mp_strf("%s %s\r\n", tag, text);
    for (size_t off = 0, n = strlen(line); off < n;) {
        ssize_t w = send(fileno(io), line + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail_msg("mp_dovecot_command: send: %s", strerror(errno));
        off += (size_t)w;
    }
    free(line);
    char *out = strdup("");
    size_t len = 0, tl = strlen(tag);
    for (;;) {
        size_t at = read_response_line(io, &out, &len);
        if (strncmp(out + at, tag, tl) == 0 && out[at + tl] == ' ') {
            *ok = strncmp(out + at + tl + 1, "OK", 2) == 0;
            return out;
        }
    }
}

char *mp_dovecot_session(mp_dovecot *d, const char *user,
                         const char *const *commands)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)d->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0)
        fail_msg("mp_dovecot_command: cannot connect to port %d: %s", d->port,
                 strerror(errno));
    FILE *io = fdopen(s, "r"); /* read through stdio, written with send */
    assert_non_null(io);
    char *greeting = strdup("");
    size_t glen = 0;
    read_response_line(io, &greeting, &glen);
    free(greeting);
    char *pw = mp_read_file(mp_dovecot_password_file(d, user), NULL);
    char *login = mp_strf("LOGIN \"%s\" \"%s\"", user, pw);
    free(pw);
    int ok;
    char *answer = session_step(io, "l", login, &ok);
    free(login);
    if (!ok)
        fail_msg("mp_dovecot_command: login as %s refused:\n%s", user, answer);
    free(answer);
    char *all = strdup("");
    for (size_t i = 0; commands[i]; i++) {
        const char *command = commands[i];
        int any = command[0] == '?';
        if (any)
            command++;
        answer = session_step(io, "t", command, &ok);
        if (!ok && !any)
            fail_msg("mp_dovecot_command: \"%.200s\" failed:\n%s", command,
                     answer);
        char *joined = mp_strf("%s%s", all, answer);
        free(all);
        free(answer);
        all = joined;
    }
    char *bye = session_step(io, "z", "LOGOUT", &ok);
    free(bye);
    fclose(io);
    return all;
}

char *mp_dovecot_command(mp_dovecot *d, const char *user, const char *command)
{
    const char *one[] = {command, NULL};
    return mp_dovecot_session(d, user, one);
}

/* Rawlog ".in" files hold "<timestamp> <tag> <command...>" per line (and
 * the raw bytes of literals, which cannot match a tag plus CMD by
 * accident in our tests). */
static int count_in_rawlogs(const mp_dovecot *d, const char *user,
                            const char *text, int anywhere)
{
    char *dir = mp_strf("%s/rawlog/%s", d->dir, user);
    DIR *dh = opendir(dir);
    if (!dh)
        fail_msg("opendir %s: %s", dir, strerror(errno));
    int count = 0;
    size_t tlen = strlen(text);
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t n = strlen(e->d_name);
        if (n < 3 || strcmp(e->d_name + n - 3, ".in") != 0)
            continue;
        char *path = mp_strf("%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "r");
        if (!fp)
            fail_msg("open %s: %s", path, strerror(errno));
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, fp) > 0) {
            char *sp1 = strchr(line, ' ');
            char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
            if (anywhere ? strstr(line, text) != NULL
                         : sp2 && strncasecmp(sp2 + 1, text, tlen) == 0)
                count++;
        }
        free(line);
        fclose(fp);
        free(path);
    }
    closedir(dh);
    free(dir);
    return count;
}

int mp_dovecot_count_commands(const mp_dovecot *d, const char *user,
                              const char *cmd)
{
    return count_in_rawlogs(d, user, cmd, 0);
}

int mp_dovecot_count_lines(const mp_dovecot *d, const char *user,
                           const char *text)
{
    return count_in_rawlogs(d, user, text, 1);
}

long mp_dovecot_body_fetches(const mp_dovecot *d)
{
    char *log = mp_read_file(d->log, NULL);
    long total = 0;
    for (char *p = log; (p = strstr(p, " body_count=")); p++)
        total += strtol(p + 12, NULL, 10);
    free(log);
    return total;
}

/* ------------------------------------------------------------------------ */
/* The cutting relay, and the relay that injects replies (rules).            */

#define PROXY_MAX_PAIRS 32
#define PROXY_MAX_RULES 8
#define PROXY_MAX_MARKS 64

/* One direction of a relayed IMAP session, framed (only when rules are
 * set): the line being read up to its LF, and the literal still passing. */
typedef struct px_dir {
    char *line;
    size_t len, cap;
    uint64_t literal; /* bytes of a literal still to relay (or swallow) */
    int swallow_lit;  /* that literal is not relayed */
    int cont;         /* the next line continues a command after a literal */
    int swallow;      /* the client command under way is not relayed */
} px_dir;

struct mp_tcp_proxy {
    int listen_fd, port, target_port;
    int stop_pipe[2];
    size_t cut_after;
    void (*on_cut)(void *);
    void *ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    int cuts, cut_assigned;
    mp_proxy_rule rules[PROXY_MAX_RULES];
    int n_rules;
    int seen[PROXY_MAX_RULES], fired[PROXY_MAX_RULES];
    struct {
        int c, s;
        size_t down;
        int cut_me;
        px_dir up, dn;
        int discard_up; /* after a BYE rule fired: the client is not heard */
        struct {
            char tag[32];
            int rule;
        } marks[PROXY_MAX_MARKS]; /* commands whose answer is replaced */
        int n_marks;
    } pairs[PROXY_MAX_PAIRS];
    int n_pairs;
};

static int connect_local(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void drop_pair(mp_tcp_proxy *p, int i)
{
    close(p->pairs[i].c);
    close(p->pairs[i].s);
    free(p->pairs[i].up.line);
    free(p->pairs[i].dn.line);
    p->pairs[i] = p->pairs[--p->n_pairs];
}

/* The literal a line (CRLF included) announces at its end, "{N}" or
 * "{N+}": 1 with *N and *NONSYNC set, else 0. */
static int line_literal(const char *l, size_t len, uint64_t *n, int *nonsync)
{
    while (len > 0 && (l[len - 1] == '\n' || l[len - 1] == '\r'))
        len--;
    if (len < 3 || l[len - 1] != '}')
        return 0;
    size_t e = len - 1;
    *nonsync = l[e - 1] == '+';
    if (*nonsync)
        e--;
    size_t b = e;
    while (b > 0 && l[b - 1] >= '0' && l[b - 1] <= '9')
        b--;
    if (b == e || b == 0 || l[b - 1] != '{')
        return 0;
    *n = strtoull(l + b, NULL, 10);
    return 1;
}

/* With $MP_PROXY_TRACE set to a file name, the framed relay appends each
 * line it sees there (its first 150 bytes; "C" from the client, "S" from
 * the server, "!" what it injected), for debugging a test. */
static void px_trace(int pair, const char *dir, const char *line, size_t len)
{
    const char *path = getenv("MP_PROXY_TRACE");
    if (!path)
        return;
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    fprintf(f, "%d %s %.*s\n", pair, dir, (int)(len > 150 ? 150 : len), line);
    fclose(f);
}

/* A whole line the client sent on pair I: relayed, or swallowed with a
 * NOOP sent in its place when a rule fires. -1: the pair is dead. */
static int px_client_line(mp_tcp_proxy *p, int i)
{
    px_dir *d = &p->pairs[i].up;
    int s = p->pairs[i].s;
    px_trace(p->pairs[i].s, p->pairs[i].discard_up ? "C(dropped)" : "C",
             d->line, d->len);
    if (p->pairs[i].discard_up)
        return 0;
    if (!d->cont) {
        d->swallow = 0;
        const char *sp = memchr(d->line, ' ', d->len);
        size_t tag_len = sp ? (size_t)(sp - d->line) : 0;
        /* Every rule counts each command it matches; the first that fires
         * answers it. */
        int fire = -1;
        for (int r = 0; sp && tag_len < 32 && r < p->n_rules; r++) {
            const mp_proxy_rule *u = &p->rules[r];
            char *line = strndup(d->line, d->len);
            int match =
                strncasecmp(sp + 1, u->command, strlen(u->command)) == 0 &&
                (!u->contains || strcasestr(line, u->contains));
            free(line);
            if (!match)
                continue;
            pthread_mutex_lock(&p->lock);
            int n = ++p->seen[r];
            if (fire < 0 && (n == u->nth || (u->every && n > u->nth)) &&
                p->pairs[i].n_marks < PROXY_MAX_MARKS) {
                p->fired[r]++;
                fire = r;
            }
            pthread_mutex_unlock(&p->lock);
        }
        if (fire >= 0) {
            int m = p->pairs[i].n_marks++;
            memcpy(p->pairs[i].marks[m].tag, d->line, tag_len);
            p->pairs[i].marks[m].tag[tag_len] = '\0';
            p->pairs[i].marks[m].rule = fire;
            char noop[64];
            int k = snprintf(noop, sizeof noop, "%.*s NOOP\r\n", (int)tag_len,
                             d->line);
            if (send_all(s, noop, (size_t)k) < 0)
                return -1;
            d->swallow = 1;
            if (p->rules[fire].bye)
                p->pairs[i].discard_up = 1;
        }
    }
    if (!d->swallow && send_all(s, d->line, d->len) < 0)
        return -1;
    uint64_t n;
    int nonsync;
    if (line_literal(d->line, d->len, &n, &nonsync) &&
        (nonsync || !d->swallow)) {
        /* A synchronising literal of a swallowed command never comes: the
         * client gets the tagged answer instead of "+". */
        d->literal = n;
        d->swallow_lit = d->swallow;
        d->cont = 1;
    } else {
        d->cont = 0;
    }
    return 0;
}

/* A whole line the server sent on pair I: relayed, or, when it answers a
 * swallowed command, replaced by the rule's reply. -1: the pair is dead
 * (also after a BYE was sent). */
static int px_server_line(mp_tcp_proxy *p, int i)
{
    px_dir *d = &p->pairs[i].dn;
    int c = p->pairs[i].c;
    px_trace(p->pairs[i].s, "S", d->line, d->len);
    if (!d->cont) {
        for (int m = 0; m < p->pairs[i].n_marks; m++) {
            char tag[32];
            memcpy(tag, p->pairs[i].marks[m].tag, sizeof tag);
            size_t tl = strlen(tag);
            if (d->len <= tl || memcmp(d->line, tag, tl) != 0 ||
                d->line[tl] != ' ')
                continue;
            const mp_proxy_rule *u = &p->rules[p->pairs[i].marks[m].rule];
            p->pairs[i].marks[m] = p->pairs[i].marks[--p->pairs[i].n_marks];
            char *out = u->bye ? mp_strf("* %s\r\n", u->reply)
                               : mp_strf("%s %s\r\n", tag, u->reply);
            px_trace(p->pairs[i].s, "!", out, strlen(out));
            int bad = send_all(c, out, strlen(out)) < 0;
            free(out);
            return bad || u->bye ? -1 : 0;
        }
    }
    if (send_all(c, d->line, d->len) < 0)
        return -1;
    uint64_t n;
    int nonsync;
    d->cont = line_literal(d->line, d->len, &n, &nonsync);
    if (d->cont) {
        d->literal = n;
        d->swallow_lit = 0;
    }
    return 0;
}

/* LEN bytes from one side of pair I (UP: from the client), framed into
 * lines and literals. -1: the pair is dead. */
static int px_feed(mp_tcp_proxy *p, int i, int up, const char *buf, size_t len)
{
    px_dir *d = up ? &p->pairs[i].up : &p->pairs[i].dn;
    int to = up ? p->pairs[i].s : p->pairs[i].c;
    while (len > 0) {
        if (d->literal > 0) {
            size_t k = len < d->literal ? len : (size_t)d->literal;
            if (!d->swallow_lit && !(up && p->pairs[i].discard_up) &&
                send_all(to, buf, k) < 0)
                return -1;
            d->literal -= k;
            buf += k;
            len -= k;
            continue;
        }
        const char *lf = memchr(buf, '\n', len);
        size_t k = lf ? (size_t)(lf - buf) + 1 : len;
        if (d->len + k > d->cap) {
            d->cap = (d->len + k) * 2;
            d->line = realloc(d->line, d->cap);
            assert_non_null(d->line);
        }
        memcpy(d->line + d->len, buf, k);
        d->len += k;
        buf += k;
        len -= k;
        if (!lf)
            break;
        int r = up ? px_client_line(p, i) : px_server_line(p, i);
        /* px_*_line may not have dropped the pair: its buffers are ours */
        d->len = 0;
        if (r < 0)
            return -1;
    }
    return 0;
}

static void *proxy_main(void *arg)
{
    mp_tcp_proxy *p = arg;
    char buf[16384];
    for (;;) {
        struct pollfd fds[2 + 2 * PROXY_MAX_PAIRS];
        int n = 0;
        fds[n++] = (struct pollfd){.fd = p->stop_pipe[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
        for (int i = 0; i < p->n_pairs; i++) {
            fds[n++] = (struct pollfd){.fd = p->pairs[i].c, .events = POLLIN};
            fds[n++] = (struct pollfd){.fd = p->pairs[i].s, .events = POLLIN};
        }
        if (poll(fds, (nfds_t)n, 1000) < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break;
        if ((fds[1].revents & POLLIN) && p->n_pairs < PROXY_MAX_PAIRS) {
            int c = accept(p->listen_fd, NULL, NULL);
            if (c >= 0) {
                int s = connect_local(p->target_port);
                if (s < 0) {
                    close(c);
                } else {
                    int i = p->n_pairs++;
                    memset(&p->pairs[i], 0, sizeof p->pairs[i]);
                    p->pairs[i].c = c;
                    p->pairs[i].s = s;
                    p->pairs[i].down = 0;
                    p->pairs[i].cut_me = p->cut_after > 0 && !p->cut_assigned;
                    p->cut_assigned = 1;
                }
            }
            continue; /* the pair list changed: rebuild the poll set */
        }
        int pairs = (n - 2) / 2;
        for (int i = pairs - 1; i >= 0; i--) {
            struct pollfd *cf = &fds[2 + 2 * i], *sf = &fds[3 + 2 * i];
            int dead = 0;
            if (p->n_rules) {
                if (cf->revents & (POLLIN | POLLHUP | POLLERR)) {
                    ssize_t got = recv(p->pairs[i].c, buf, sizeof buf, 0);
                    dead = got <= 0 || px_feed(p, i, 1, buf, (size_t)got) < 0;
                }
                if (!dead && (sf->revents & (POLLIN | POLLHUP | POLLERR))) {
                    ssize_t got = recv(p->pairs[i].s, buf, sizeof buf, 0);
                    dead = got <= 0 || px_feed(p, i, 0, buf, (size_t)got) < 0;
                }
                if (dead)
                    drop_pair(p, i);
                continue;
            }
            if (cf->revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t got = recv(p->pairs[i].c, buf, sizeof buf, 0);
                dead =
                    got <= 0 || send_all(p->pairs[i].s, buf, (size_t)got) < 0;
            }
            if (!dead && (sf->revents & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t got = recv(p->pairs[i].s, buf, sizeof buf, 0);
                if (got <= 0) {
                    dead = 1;
                } else {
                    size_t len = (size_t)got;
                    int cut = 0;
                    if (p->pairs[i].cut_me &&
                        p->pairs[i].down + len >= p->cut_after) {
                        len = p->cut_after - p->pairs[i].down;
                        cut = 1;
                    }
                    p->pairs[i].down += len;
                    dead = send_all(p->pairs[i].c, buf, len) < 0 || cut;
                    if (cut) {
                        drop_pair(p, i);
                        pthread_mutex_lock(&p->lock);
                        p->cuts++;
                        pthread_mutex_unlock(&p->lock);
                        if (p->on_cut)
                            p->on_cut(p->ctx);
                        continue;
                    }
                }
            }
            if (dead)
                drop_pair(p, i);
        }
    }
    while (p->n_pairs > 0)
        drop_pair(p, 0);
    return NULL;
}

static mp_tcp_proxy *proxy_new(int target_port, size_t cut_after,
                               void (*on_cut)(void *ctx), void *ctx,
                               const mp_proxy_rule *rules, size_t n_rules)
{
    if (n_rules > PROXY_MAX_RULES)
        fail_msg("proxy: at most %d rules", PROXY_MAX_RULES);
    mp_tcp_proxy *p = calloc(1, sizeof *p);
    p->target_port = target_port;
    p->cut_after = cut_after;
    p->on_cut = on_cut;
    p->ctx = ctx;
    for (size_t r = 0; r < n_rules; r++) {
        if (!rules[r].command || !rules[r].reply || rules[r].nth < 1)
            fail_msg("proxy: rule %zu needs a command, a reply and nth >= 1", r);
        p->rules[r] = rules[r];
    }
    p->n_rules = (int)n_rules;
    pthread_mutex_init(&p->lock, NULL);
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(p->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(p->listen_fd, 16) != 0)
        fail_msg("proxy: cannot listen: %s", strerror(errno));
    socklen_t len = sizeof a;
    getsockname(p->listen_fd, (struct sockaddr *)&a, &len);
    p->port = ntohs(a.sin_port);
    if (pipe(p->stop_pipe) != 0)
        fail_msg("pipe: %s", strerror(errno));
    if (pthread_create(&p->thread, NULL, proxy_main, p) != 0)
        fail_msg("proxy: cannot start its thread");
    return p;
}

mp_tcp_proxy *mp_proxy_start(int target_port, size_t cut_after,
                             void (*on_cut)(void *ctx), void *ctx)
{
    return proxy_new(target_port, cut_after, on_cut, ctx, NULL, 0);
}

mp_tcp_proxy *mp_proxy_start_rules(int target_port, const mp_proxy_rule *rules,
                                   size_t n_rules)
{
    return proxy_new(target_port, 0, NULL, NULL, rules, n_rules);
}

int mp_proxy_fired(mp_tcp_proxy *p, size_t rule)
{
    pthread_mutex_lock(&p->lock);
    int n = rule < PROXY_MAX_RULES ? p->fired[rule] : 0;
    pthread_mutex_unlock(&p->lock);
    return n;
}

int mp_proxy_seen(mp_tcp_proxy *p, size_t rule)
{
    pthread_mutex_lock(&p->lock);
    int n = rule < PROXY_MAX_RULES ? p->seen[rule] : 0;
    pthread_mutex_unlock(&p->lock);
    return n;
}

int mp_proxy_port(const mp_tcp_proxy *p)
{
    return p->port;
}

int mp_proxy_cuts(mp_tcp_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    int n = p->cuts;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void mp_proxy_stop(mp_tcp_proxy *p)
{
    if (!p)
        return;
    if (write(p->stop_pipe[1], "x", 1) != 1)
        fail_msg("proxy: cannot stop");
    pthread_join(p->thread, NULL);
    close(p->stop_pipe[0]);
    close(p->stop_pipe[1]);
    close(p->listen_fd);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
