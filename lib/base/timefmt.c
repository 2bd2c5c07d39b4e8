/* Calendar arithmetic after Howard Hinnant's days-from-civil algorithms:
 * exact for the proleptic Gregorian calendar, no tables, no TZ. */
#include "ahpa/timefmt.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"

int64_t ahpa_days_from_civil(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t ahpa_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

void ahpa_civil_from_unix(int64_t t, struct ahpa_civil *out)
{
    int64_t days = ahpa_floor_div(t, 86400);
    int64_t secs = t - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);

    out->year = (int)y;
    out->month = (int)m;
    out->day = (int)d;
    out->hour = (int)(secs / 3600);
    out->minute = (int)(secs % 3600 / 60);
    out->second = (int)(secs % 60);
    int64_t wd = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    out->wday = (int)(wd < 0 ? wd + 7 : wd);
    out->yday = (int)(days - ahpa_days_from_civil((int)y, 1, 1));
}

int64_t ahpa_unix_from_civil(const struct ahpa_civil *c)
{
    return ahpa_days_from_civil(c->year, c->month, c->day) * 86400 +
           c->hour * 3600 + c->minute * 60 + c->second;
}

void ahpa_time_format_rfc3339(int64_t t, char out[AHPA_RFC3339_MAX])
{
    struct ahpa_civil c;
    ahpa_civil_from_unix(t, &c);
    snprintf(out, AHPA_RFC3339_MAX, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month,
             c.day, c.hour, c.minute, c.second);
}

/* Reads exactly `n` digits into *out. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : dim[month - 1];
}

static int parse_unix(const char *s, int64_t *out)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || v > 1e13 || v < -1e13)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int parse_offset(const char *p, int *offset_s)
{
    *offset_s = 0;
    if (*p == '\0' || ((*p == 'Z' || *p == 'z') && p[1] == '\0'))
        return 0;
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p == '-' ? -1 : 1, hh, mm;
    p++;
    if (digits(&p, 2, &hh) < 0 || *p++ != ':' || digits(&p, 2, &mm) < 0 || *p != '\0' ||
        hh > 23 || mm > 59)
        return -1;
    *offset_s = sign * (hh * 3600 + mm * 60);
    return 0;
}

int ahpa_time_parse(const char *s, int64_t *out, struct ahpa_error *err)
{
    if (s == NULL || *s == '\0')
        return ahpa_error_set(err, AHPA_EPARSE, "empty timestamp");
    if (parse_unix(s, out) == 0)
        return 0;
    struct ahpa_civil c = {0};
    const char *p = s;
    int offset = 0;
    if (digits(&p, 4, &c.year) < 0 || *p++ != '-' || digits(&p, 2, &c.month) < 0 ||
        *p++ != '-' || digits(&p, 2, &c.day) < 0)
        goto bad;
    if (*p == ' ' || *p == 'T' || *p == 't') {
        p++;
        if (digits(&p, 2, &c.hour) < 0 || *p++ != ':' || digits(&p, 2, &c.minute) < 0 ||
            *p++ != ':' || digits(&p, 2, &c.second) < 0)
            goto bad;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p))
                goto bad;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    if (parse_offset(p, &offset) < 0)
        goto bad;
    if (c.month < 1 || c.month > 12 || c.day < 1 ||
        c.day > days_in_month(c.year, c.month) || c.hour > 23 || c.minute > 59 ||
        c.second > 60)
        return ahpa_error_set(err, AHPA_ERANGE, "timestamp \"%.64s\" has a field out of range",
                              s);
    *out = ahpa_unix_from_civil(&c) - offset;
    return 0;
bad:
    return ahpa_error_set(err, AHPA_EPARSE,
                          "timestamp \"%.64s\" is not unix seconds, "
                          "\"YYYY-MM-DD HH:MM:SS\" or RFC 3339",
                          s);
}
