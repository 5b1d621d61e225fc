/* imap-backup's config.json (docs/files/config.md of imap-backup, and its
 * lib/imap/backup/account.rb for the fields), read as batch jobs:
 *   {"version": "2.2", "accounts": [{"username": ..., "password": ...,
 *    "local_path": ..., "server": ..., "connection_options": {...},
 *    "folders": [{"name": ...}], "folder_blacklist": bool,
 *    "mirror_mode": bool, "status": "active"|"archived"|"offline"}, ...]}
 * The account's server is reached as imap-backup reaches it (Net::IMAP with
 * the provider's defaults merged with connection_options): implicit TLS on
 * port 993 unless "ssl" is false. */
#include "batch_ibconfig.h"
#include "log.h"

#include <mailport/plugin.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { ESCAPE_ALL, ESCAPE_AUTHORITY, ESCAPE_PATH };

/* S with the bytes the URL parser would take as syntax %-escaped: in
 * ESCAPE_ALL mode every byte but RFC 3986's unreserved ones. */
static char *escape(const char *s, int mode)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *special = mode == ESCAPE_AUTHORITY ? "%?&/@:" : "%?&";
    char *out = malloc(strlen(s) * 3 + 1), *w = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = mode == ESCAPE_ALL
                        ? (*p >= 'a' && *p <= 'z') ||
                              (*p >= 'A' && *p <= 'Z') ||
                              (*p >= '0' && *p <= '9') || strchr("-._~", *p)
                        : *p > ' ' && *p != 0x7f && !strchr(special, *p);
        if (plain) {
            *w++ = (char)*p;
        } else {
            *w++ = '%';
            *w++ = hex[*p >> 4];
            *w++ = hex[*p & 15];
        }
    }
    *w = '\0';
    return out;
}

char *mp_ib_expand_template(const char *template, const char *user,
                            const char *server, const char *local_path,
                            char *err, size_t err_size)
{
    static const char *const names[] = {"user", "server", "local_path"};
    const char *values[] = {user, server, local_path};
    size_t cap = strlen(template) + 1, len = 0;
    char *out = malloc(cap);
    const char *authority = strstr(template, "://");
    const char *authority_end = NULL;
    if (authority) {
        authority += 3;
        authority_end = authority + strcspn(authority, "/?");
    }
    for (const char *p = template; out && *p;) {
        const char *value = NULL;
        size_t skip = 1;
        if (*p == '{') {
            size_t n = strcspn(p + 1, "}");
            if (p[1 + n] != '}') {
                snprintf(err, err_size, "unclosed '{' in \"%s\"", template);
                free(out);
                return NULL;
            }
            size_t k = 0;
            while (k < 3 &&
                   !(strlen(names[k]) == n && strncmp(p + 1, names[k], n) == 0))
                k++;
            if (k == 3) {
                snprintf(err, err_size,
                         "unknown {%.*s} in \"%s\" (known: {user}, {server}, "
                         "{local_path})",
                         (int)n, p + 1, template);
                free(out);
                return NULL;
            }
            if (!values[k]) {
                snprintf(err, err_size, "the account has no %s for {%s}",
                         names[k], names[k]);
                free(out);
                return NULL;
            }
            value = values[k];
            skip = n + 2;
        }
        char *piece = NULL;
        if (value) {
            int in_authority = authority && p >= authority && p < authority_end;
            piece =
                escape(value, in_authority ? ESCAPE_AUTHORITY : ESCAPE_PATH);
        }
        size_t add = piece ? strlen(piece) : 1;
        if (len + add + 1 > cap) {
            cap = (len + add + 1) * 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                free(piece);
                break;
            }
            out = grown;
        }
        memcpy(out + len, piece ? piece : p, add);
        len += add;
        free(piece);
        p += skip;
    }
    if (!out) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    out[len] = '\0';
    return out;
}

int mp_ib_config_detect(FILE *f)
{
    int c;
    while ((c = getc(f)) == ' ' || c == '\t' || c == '\r' || c == '\n')
        ;
    rewind(f);
    return c == '{';
}

/* The host imap-backup takes for an account without "server": its
 * Email::Provider defaults, by the address's domain. */
static const char *provider_host(const char *user)
{
    static const struct {
        const char *domain, *host;
    } providers[] = {
        {"@fastmail.com", "imap.fastmail.com"},
        {"@fastmail.fm", "imap.fastmail.com"},
        {"@gmail.com", "imap.gmail.com"},
        {"@icloud.com", "imap.mail.me.com"},
        {"@mac.com", "imap.mail.me.com"},
        {"@me.com", "imap.mail.me.com"},
        {"@purelymail.com", "mailserver.purelymail.com"},
    };
    size_t ul = strlen(user);
    for (size_t i = 0; i < sizeof providers / sizeof *providers; i++) {
        size_t dl = strlen(providers[i].domain);
        if (ul > dl && strcmp(user + ul - dl, providers[i].domain) == 0)
            return providers[i].host;
    }
    return NULL;
}

static const char *string_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The account's IMAP server as a mailport URL, from "server" (else the
 * provider's host), "username", "password" and "connection_options"
 * (port; ssl false: imap:// with STARTTLS, mailport never logs in in
 * plain text unasked; ssl.ca_file: cafile=; ssl.verify_mode 0:
 * insecure=1). connection_options may be an object or a string holding
 * one, as imap-backup accepts both. */
static char *server_url(json_t *acct, const char *user, const char *host)
{
    json_t *opts = json_object_get(acct, "connection_options"), *parsed = NULL;
    if (json_is_string(opts))
        opts = parsed = json_loads(json_string_value(opts), 0, NULL);
    json_t *port = json_object_get(opts, "port"),
           *ssl = json_object_get(opts, "ssl");
    int starttls = json_is_false(ssl);
    const char *ca = json_is_object(ssl) ? string_of(ssl, "ca_file") : NULL;
    json_t *verify =
        json_is_object(ssl) ? json_object_get(ssl, "verify_mode") : NULL;
    int insecure = json_is_integer(verify) && json_integer_value(verify) == 0;
    const char *password = string_of(acct, "password");
    char *u = escape(user, ESCAPE_ALL);
    char *pw = escape(password ? password : "", ESCAPE_ALL);
    char *cafile = ca ? escape(ca, ESCAPE_PATH) : NULL;
    char port_text[24] = "";
    if (json_is_integer(port))
        snprintf(port_text, sizeof port_text, ":%lld",
                 (long long)json_integer_value(port));
    char *url = NULL;
    /* An empty password: none in the URL, asked for at run time. */
    if (asprintf(&url, "%s://%s%s%s@%s%s%s%s%s%s", starttls ? "imap" : "imaps",
                 u, *pw ? ":" : "", pw, host, port_text,
                 cafile || insecure ? "?" : "", cafile ? "cafile=" : "",
                 cafile ? cafile : "",
                 insecure ? (cafile ? "&insecure=1" : "insecure=1") : "") < 0)
        url = NULL;
    if (pw)
        memset(pw, 0, strlen(pw));
    free(u);
    free(pw);
    free(cafile);
    json_decref(parsed);
    return url;
}

/* A folder name as an --include/--exclude glob that matches only itself
 * ("[Gmail]/All Mail" holds glob syntax). */
static char *literal_glob(const char *name)
{
    char *out = malloc(strlen(name) * 2 + 1), *w = out;
    if (!out)
        return NULL;
    for (const char *p = name; *p; p++) {
        if (strchr("*?[]\\", *p))
            *w++ = '\\';
        *w++ = *p;
    }
    *w = '\0';
    return out;
}

static void push_word(mp_ib_job *j, char *word)
{
    char **grown = realloc(j->words, (size_t)(j->n_words + 1) * sizeof *grown);
    if (!grown) {
        free(word);
        return;
    }
    j->words = grown;
    j->words[j->n_words++] = word;
}

/* "folders" (names, or {"name": ...} as imap-backup 9 and later write
 * them) as --include, or --exclude with "folder_blacklist". */
static void push_folders(mp_ib_job *j, json_t *acct)
{
    json_t *folders = json_object_get(acct, "folders");
    int blacklist = json_is_true(json_object_get(acct, "folder_blacklist"));
    size_t i;
    json_t *f;
    json_array_foreach(folders, i, f)
    {
        const char *name =
            json_is_string(f) ? json_string_value(f) : string_of(f, "name");
        if (!name)
            continue;
        push_word(j, strdup(blacklist ? "--exclude" : "--include"));
        push_word(j, literal_glob(name));
    }
}

static char *skip_reason(const char *fmt, const char *a)
{
    char *out = NULL;
    if (asprintf(&out, fmt, a) < 0)
        out = NULL;
    return out;
}

/* One account as a job (see mp_ib_config_jobs). */
static void account_job(mp_ib_job *j, json_t *acct, const char *backup_to,
                        const char *upload_to)
{
    const char *user = string_of(acct, "username");
    const char *local = string_of(acct, "local_path");
    const char *status = string_of(acct, "status");
    const char *host = string_of(acct, "server");
    if (host && !*host)
        host = NULL;
    if (!user || !*user) {
        j->skipped = strdup("no \"username\"");
        return;
    }
    if (!host)
        host = provider_host(user);
    /* imap-backup's statuses: "archived" accounts are not backed up but
     * may be migrated; "offline" ones are neither. */
    if (status && (strcmp(status, "offline") == 0 ||
                   (backup_to && strcmp(status, "archived") == 0))) {
        j->skipped = skip_reason("its status is \"%s\"", status);
        j->deliberate = 1;
        return;
    }
    if (backup_to && !host) {
        j->skipped = strdup("no \"server\" (and not one of the providers "
                            "imap-backup knows by address)");
        return;
    }
    if (upload_to && (!local || !*local)) {
        j->skipped = strdup("no \"local_path\" (the backup's directory)");
        return;
    }
    char err[512];
    char *dest = mp_ib_expand_template(backup_to ? backup_to : upload_to, user,
                                       host, local, err, sizeof err);
    if (!dest) {
        j->skipped = skip_reason("%s", err);
        return;
    }
    char *src = NULL;
    if (backup_to) {
        src = server_url(acct, user, host);
        const char *pw = string_of(acct, "password");
        j->uses_password = pw && *pw;
    } else {
        char *path = escape(local, ESCAPE_PATH);
        if (path && asprintf(&src, "imap-backup:%s", path) < 0)
            src = NULL;
        free(path);
    }
    if (!src) {
        free(dest);
        j->skipped = strdup("out of memory");
        return;
    }
    push_word(j, src);
    push_word(j, dest);
    push_folders(j, acct);
    /* mirror_mode: imap-backup removes from the backup what is gone from
     * the server, which is what --delete does. */
    if (backup_to && json_is_true(json_object_get(acct, "mirror_mode")))
        push_word(j, strdup("--delete"));
}

int mp_ib_config_jobs(FILE *f, const char *path, const char *backup_to,
                      const char *upload_to, mp_ib_job **jobs)
{
    *jobs = NULL;
    json_error_t jerr;
    json_t *root = json_loadf(f, 0, &jerr);
    if (!root) {
        mp_error("%s:%d: not valid JSON: %s", path, jerr.line, jerr.text);
        return -1;
    }
    json_t *accounts = json_object_get(root, "accounts");
    if (!json_is_array(accounts)) {
        mp_error("%s is JSON but not imap-backup's config.json (no "
                 "\"accounts\" list)",
                 path);
        json_decref(root);
        return -1;
    }
    if (!backup_to == !upload_to) {
        mp_error("%s is imap-backup's config.json: give one of --backup-to "
                 "TEMPLATE (back up each account's server, e.g. "
                 "'maildir:backup/{user}') or --upload-to TEMPLATE (upload "
                 "each account's backup, e.g. "
                 "'imaps://{user}@new.example.net?password_file=pw/{user}')",
                 path);
        json_decref(root);
        return -1;
    }
    char err[512];
    char *check = mp_ib_expand_template(backup_to ? backup_to : upload_to, "",
                                        "", "", err, sizeof err);
    if (!check) {
        mp_error("%s %s", backup_to ? "--backup-to" : "--upload-to", err);
        json_decref(root);
        return -1;
    }
    free(check);
    size_t n = json_array_size(accounts);
    *jobs = calloc(n ? n : 1, sizeof **jobs);
    for (size_t i = 0; *jobs && i < n; i++) {
        (*jobs)[i].account = (int)i + 1;
        json_t *acct = json_array_get(accounts, i);
        if (json_is_object(acct))
            account_job(&(*jobs)[i], acct, backup_to, upload_to);
        else
            (*jobs)[i].skipped = strdup("not a JSON object");
    }
    json_decref(root);
    return *jobs ? (int)n : -1;
}

void mp_ib_jobs_free(mp_ib_job *jobs, int n)
{
    for (int i = 0; jobs && i < n; i++) {
        for (int k = 0; k < jobs[i].n_words; k++) {
            if (k == 0 && jobs[i].uses_password)
                memset(jobs[i].words[k], 0, strlen(jobs[i].words[k]));
            free(jobs[i].words[k]);
        }
        free(jobs[i].words);
        free(jobs[i].skipped);
    }
    free(jobs);
}
