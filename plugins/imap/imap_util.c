#include "imap_util.h"

#include <mailport/plugin.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int grow(imap_str *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void imap_str_add(imap_str *b, const char *s, size_t len)
{
    if (grow(b, len) < 0)
        return;
    memcpy(b->s + b->len, s, len);
    b->len += len;
    b->s[b->len] = '\0';
}

void imap_str_adds(imap_str *b, const char *s)
{
    imap_str_add(b, s, strlen(s));
}

void imap_str_addf(imap_str *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(b, (size_t)n) < 0) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void imap_str_free(imap_str *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

int imap_str_quote(imap_str *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            return -1;
    imap_str_add(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            imap_str_add(b, "\\", 1);
        imap_str_add(b, p, 1);
    }
    imap_str_add(b, "\"", 1);
    return 0;
}

static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a proleptic Gregorian date (no time zone
 * functions: they read global state and the environment). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void imap_format_date(int64_t t, char *out, size_t size)
{
    int64_t days = t / 86400, secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999) { /* IMAP has four-digit years */
        y = y < 1 ? 1970 : 9999;
        m = d = 1;
        secs = 0;
    }
    snprintf(out, size, "%02u-%s-%04d %02d:%02d:%02d +0000", d, months[m - 1],
             (int)y, (int)(secs / 3600), (int)(secs / 60 % 60),
             (int)(secs % 60));
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int imap_parse_date(const char *s, int64_t *out)
{
    int day, year, hh, mm, ss, zh, zm;
    if (s[0] == ' ')
        s++;
    if (s[0] >= '0' && s[0] <= '9' && s[1] == '-') {
        day = s[0] - '0';
        s += 1;
    } else {
        if (digits(s, 2, &day) < 0)
            return -1;
        s += 2;
    }
    if (s[0] != '-' || s[4] != '-')
        return -1;
    int mon = -1;
    for (int i = 0; i < 12; i++)
        if (strncasecmp(s + 1, months[i], 3) == 0)
            mon = i + 1;
    if (mon < 0)
        return -1;
    s += 5;
    if (digits(s, 4, &year) < 0 || s[4] != ' ' || digits(s + 5, 2, &hh) < 0 ||
        s[7] != ':' || digits(s + 8, 2, &mm) < 0 || s[10] != ':' ||
        digits(s + 11, 2, &ss) < 0 || s[13] != ' ' ||
        (s[14] != '+' && s[14] != '-') || digits(s + 15, 2, &zh) < 0 ||
        digits(s + 17, 2, &zm) < 0 || s[19] != '\0')
        return -1;
    if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59)
        return -1;
    int64_t t = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 +
                hh * 3600 + mm * 60 + ss;
    int64_t zone = (int64_t)(zh * 3600 + zm * 60);
    *out = s[14] == '+' ? t - zone : t + zone;
    return 0;
}

int imap_is_keyword_atom(const char *s)
{
    if (!*s || *s == '\\')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p))
            return 0;
    return 1;
}

void imap_flag_add(const char *atom, unsigned *flags, imap_str *keywords)
{
    static const struct {
        const char *name;
        unsigned bit;
    } sys[] = {
        {"\\Seen", MP_FLAG_SEEN},       {"\\Answered", MP_FLAG_ANSWERED},
        {"\\Flagged", MP_FLAG_FLAGGED}, {"\\Deleted", MP_FLAG_DELETED},
        {"\\Draft", MP_FLAG_DRAFT},     {"$Forwarded", MP_FLAG_FORWARDED},
    };
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++)
        if (strcasecmp(atom, sys[i].name) == 0) {
            *flags |= sys[i].bit;
            return;
        }
    if (!imap_is_keyword_atom(atom))
        return; /* \Recent, unknown system flags, junk */
    if (keywords->len)
        imap_str_add(keywords, " ", 1);
    imap_str_adds(keywords, atom);
}

void imap_uid_set(imap_str *b, const uint32_t *uids, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j + 1 < n && uids[j + 1] == uids[j] + 1)
            j++;
        if (i > 0)
            imap_str_add(b, ",", 1);
        if (j == i)
            imap_str_addf(b, "%u", uids[i]);
        else
            imap_str_addf(b, "%u:%u", uids[i], uids[j]);
        i = j + 1;
    }
}

/* A decimal number 1..UINT32_MAX at *P; advances *P. -1 when there is none. */
static int uid_at(const char **p, uint32_t *out)
{
    uint64_t v = 0;
    const char *s = *p;
    if (*s < '1' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return -1;
    }
    *out = (uint32_t)v;
    *p = s;
    return 0;
}

int imap_parse_uid_set(const char *s, uint32_t *uids, size_t n)
{
    size_t k = 0;
    for (;;) {
        uint32_t a, b;
        if (uid_at(&s, &a) < 0)
            return -1;
        b = a;
        if (*s == ':' && (s++, uid_at(&s, &b) < 0))
            return -1;
        uint64_t count = (a <= b ? b - a : a - b) + 1ull;
        if (count > n - k)
            return -1;
        for (uint64_t i = 0; i < count; i++)
            uids[k++] = a <= b ? a + (uint32_t)i : a - (uint32_t)i;
        if (*s != ',')
            break;
        s++;
    }
    return (*s == '\0' || *s == ' ') && k == n ? (int)k : -1;
}

int imap_parse_uid(const char *key, uint32_t *out)
{
    uint64_t v = 0;
    if (!key || !*key || *key == '0')
        return -1;
    for (const char *p = key; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return -1;
    }
    *out = (uint32_t)v;
    return 0;
}
