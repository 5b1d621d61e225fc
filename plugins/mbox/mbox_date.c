#include "mbox_date.h"

#include <mailport/plugin.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const weekdays[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Howard Hinnant's civil-date algorithms: exact over the whole range and
 * free of the C library's time zone state (plugins run in threads). */
int64_t mbox_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void mbox_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
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

typedef struct token {
    const char *p;
    size_t n;
} token;

static int is_digits(token t)
{
    if (t.n == 0)
        return 0;
    for (size_t i = 0; i < t.n; i++)
        if (t.p[i] < '0' || t.p[i] > '9')
            return 0;
    return 1;
}

static long number(token t)
{
    long v = 0;
    for (size_t i = 0; i < t.n && v < 100000; i++)
        v = v * 10 + (t.p[i] - '0');
    return v;
}

/* Index in LIST of a 3-letter name, tolerating a trailing comma. */
static int name_index(token t, const char *const *list, int count)
{
    size_t n = t.n;
    if (n == 4 && t.p[3] == ',')
        n = 3;
    if (n != 3)
        return -1;
    for (int i = 0; i < count; i++)
        if (strncasecmp(t.p, list[i], 3) == 0)
            return i;
    return -1;
}

/* "HH:MM" or "HH:MM:SS" into seconds of the day; -1 when malformed. */
static long time_of_day(token t)
{
    long part[3] = {0, 0, 0};
    int parts = 0;
    size_t i = 0;
    while (parts < 3) {
        size_t digits = 0;
        long v = 0;
        while (i < t.n && t.p[i] >= '0' && t.p[i] <= '9' && digits < 3) {
            v = v * 10 + (t.p[i++] - '0');
            digits++;
        }
        if (digits == 0 || digits > 2)
            return -1;
        part[parts++] = v;
        if (i == t.n)
            break;
        if (t.p[i++] != ':')
            return -1;
    }
    if (i != t.n || parts < 2 || part[0] > 23 || part[1] > 59 || part[2] > 60)
        return -1;
    return part[0] * 3600 + part[1] * 60 + part[2];
}

static const struct {
    const char *name;
    int minutes;
} zone_names[] = {
    {"UT", 0},     {"UTC", 0},     {"GMT", 0},     {"Z", 0},
    {"WET", 0},    {"BST", 60},    {"WEST", 60},   {"MET", 60},
    {"CET", 60},   {"MEST", 120},  {"CEST", 120},  {"METDST", 120},
    {"EET", 120},  {"EEST", 180},  {"MSK", 180},   {"IST", 330},
    {"JST", 540},  {"EST", -300},  {"EDT", -240},  {"CST", -360},
    {"CDT", -300}, {"MST", -420},  {"MDT", -360},  {"PST", -480},
    {"PDT", -420}, {"AKST", -540}, {"AKDT", -480}, {"HST", -600},
};

/* A zone token: +hhmm / -hhmm, or a name. Returns 1 and sets *MINUTES
 * (east of UTC); unknown alphabetic names count as UTC (what the date
 * meant cannot be known). 0 when T is not a zone. */
static int zone_offset(token t, int *minutes)
{
    if (t.n == 5 && (t.p[0] == '+' || t.p[0] == '-')) {
        token digits = {t.p + 1, 4};
        if (!is_digits(digits))
            return 0;
        long v = number(digits);
        if (v % 100 > 59)
            return 0;
        int m = (int)(v / 100 * 60 + v % 100);
        *minutes = t.p[0] == '-' ? -m : m;
        return 1;
    }
    for (size_t i = 0; i < sizeof zone_names / sizeof *zone_names; i++) {
        if (strlen(zone_names[i].name) == t.n &&
            strncasecmp(t.p, zone_names[i].name, t.n) == 0) {
            *minutes = zone_names[i].minutes;
            return 1;
        }
    }
    for (size_t i = 0; i < t.n; i++)
        if (!((t.p[i] >= 'A' && t.p[i] <= 'Z') ||
              (t.p[i] >= 'a' && t.p[i] <= 'z')))
            return 0;
    if (t.n < 1 || t.n > 6)
        return 0;
    *minutes = 0;
    return 1;
}

static long full_year(token t)
{
    if (!is_digits(t) || (t.n != 2 && t.n != 4))
        return -1;
    long y = number(t);
    if (t.n == 2)
        y += y < 50 ? 2000 : 1900;
    return y;
}

static int64_t assemble(long year, int month, long day, long secs, int zone)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1000 || month < 0 || month > 11 || day < 1 ||
        day > mdays[month] || secs < 0)
        return MP_DATE_UNKNOWN;
    int64_t days =
        mbox_days_from_civil(year, (unsigned)month + 1, (unsigned)day);
    return days * 86400 + secs - (int64_t)zone * 60;
}

/* asctime at T[0]: "Wdy Mon DD HH:MM[:SS] [ZONE] YYYY [ZONE]". */
static int64_t parse_asctime(const token *t, size_t n)
{
    if (n < 5)
        return MP_DATE_UNKNOWN;
    int month = name_index(t[1], months, 12);
    if (month < 0 || !is_digits(t[2]) || t[2].n > 2)
        return MP_DATE_UNKNOWN;
    long secs = time_of_day(t[3]);
    long year = -1;
    int zone = 0, z;
    size_t i = 4;
    if (i < n && full_year(t[i]) < 0 && zone_offset(t[i], &z)) {
        zone = z;
        i++;
    }
    if (i < n)
        year = full_year(t[i++]);
    if (year >= 0 && i < n && zone_offset(t[i], &z))
        zone = z;
    return assemble(year, month, number(t[2]), secs, zone);
}

/* RFC 2822 at T[0]: "Wdy, DD Mon YYYY HH:MM[:SS] [ZONE]". */
static int64_t parse_rfc2822(const token *t, size_t n)
{
    if (n < 5 || !is_digits(t[1]) || t[1].n > 2)
        return MP_DATE_UNKNOWN;
    int month = name_index(t[2], months, 12);
    long year = full_year(t[3]);
    long secs = time_of_day(t[4]);
    int zone = 0, z;
    if (n > 5 && zone_offset(t[5], &z))
        zone = z;
    if (month < 0)
        return MP_DATE_UNKNOWN;
    return assemble(year, month, number(t[1]), secs, zone);
}

/* Split a From_ line's rest into blank-separated tokens, up to the line
 * ending; returns how many (at most MAX). */
static size_t tokenize(const char *line, size_t len, token *t, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i >= len || line[i] == '\r' || line[i] == '\n')
            break;
        size_t s = i;
        while (i < len && line[i] != ' ' && line[i] != '\t' &&
               line[i] != '\r' && line[i] != '\n')
            i++;
        t[n++] = (token){line + s, i - s};
    }
    return n;
}

/* The date in T[FIRST..N): it starts at the first weekday name from which a
 * date parses, since the sender may hold spaces ("joe at example.org"). */
static int64_t date_in(const token *t, size_t n, size_t first)
{
    for (size_t k = first; k < n; k++) {
        if (name_index(t[k], weekdays, 7) < 0)
            continue;
        int64_t d = parse_asctime(t + k, n - k);
        if (d == MP_DATE_UNKNOWN)
            d = parse_rfc2822(t + k, n - k);
        if (d != MP_DATE_UNKNOWN)
            return d;
    }
    return MP_DATE_UNKNOWN;
}

int64_t mbox_from_line_date(const char *line, size_t len)
{
    token t[24];
    size_t n = tokenize(line, len, t, sizeof t / sizeof *t);
    return date_in(t, n, 0);
}

mbox_from_kind mbox_from_line_kind(const char *line, size_t len)
{
    /* A CR is the line ending's at most: one inside the line is binary or
     * old-Mac text, never a From_ line. */
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (memchr(line, '\r', len))
        return MBOX_FROM_NONE;
    token t[24];
    size_t n = tokenize(line, len, t, sizeof t / sizeof *t);
    /* A sender first: a date alone ("From Mon Jan  1 ...") is not a From_
     * line any writer produces. */
    if (n >= 2 && date_in(t, n, 1) != MP_DATE_UNKNOWN)
        return MBOX_FROM_DATED;
    if (n == 1)
        return MBOX_FROM_SENDER_ONLY;
    return MBOX_FROM_NONE;
}

void mbox_format_asctime(int64_t t, char *out, size_t out_size)
{
    int64_t days = t / 86400, secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    mbox_civil_from_days(days, &y, &m, &d);
    int64_t wday = (days % 7 + 11) % 7; /* 1970-01-01 was a Thursday */
    snprintf(out, out_size, "%s %s %2u %02d:%02d:%02d %lld", weekdays[wday],
             months[m - 1], d, (int)(secs / 3600), (int)(secs / 60 % 60),
             (int)(secs % 60), (long long)y);
}
