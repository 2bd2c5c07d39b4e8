/* POSIX TZ strings, as found in the footer of TZif files: they give the
 * offsets for times after the file's last transition (RFC 8536 section
 * 3.3, POSIX.1 section 8.3, with the version 3 extensions: hours up to 167
 * and negative rule times). */
#include "cron_int.h"

#include <ctype.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/timefmt.h"

/* A zone abbreviation: alphabetic, or anything alphanumeric/+/- in <>. */
static int skip_name(const char **p)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '<') {
        s++;
        while (isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '-')
            n++;
        if (s[n] != '>' || n < 3)
            return -1;
        *p = s + n + 1;
        return 0;
    }
    while (isalpha((unsigned char)s[n]))
        n++;
    if (n < 3)
        return -1;
    *p = s + n;
    return 0;
}

/* [+-]hh[:mm[:ss]], hours 0..167. Result in seconds, sign as written. */
static int parse_hms(const char **p, int32_t *out)
{
    const char *s = *p;
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    int32_t part[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0 && *s != ':')
            break;
        if (i > 0)
            s++;
        if (!isdigit((unsigned char)*s))
            return -1;
        int v = 0, digits = 0;
        while (isdigit((unsigned char)*s) && digits < 3) {
            v = v * 10 + (*s++ - '0');
            digits++;
        }
        if ((i == 0 && v > 167) || (i > 0 && v > 59))
            return -1;
        part[i] = v;
    }
    *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    *p = s;
    return 0;
}

static int parse_number(const char **p, int lo, int hi, int *out)
{
    const char *s = *p;
    int v = 0, n = 0;
    while (isdigit((unsigned char)*s) && n < 4) {
        v = v * 10 + (*s++ - '0');
        n++;
    }
    if (n == 0 || v < lo || v > hi)
        return -1;
    *out = v;
    *p = s;
    return 0;
}

static int parse_date(const char **p, struct ahpa_cron__tzdate *d)
{
    const char *s = *p;
    memset(d, 0, sizeof(*d));
    d->time_s = 7200; /* 02:00 local unless given */
    if (*s == 'J') {
        s++;
        d->kind = 'J';
        if (parse_number(&s, 1, 365, &d->day) < 0)
            return -1;
    } else if (*s == 'M') {
        s++;
        d->kind = 'M';
        if (parse_number(&s, 1, 12, &d->month) < 0 || *s++ != '.' ||
            parse_number(&s, 1, 5, &d->week) < 0 || *s++ != '.' ||
            parse_number(&s, 0, 6, &d->day) < 0)
            return -1;
    } else {
        d->kind = 'D';
        if (parse_number(&s, 0, 365, &d->day) < 0)
            return -1;
    }
    if (*s == '/') {
        s++;
        if (parse_hms(&s, &d->time_s) < 0)
            return -1;
    }
    *p = s;
    return 0;
}

int ahpa_cron__tzrule_parse(const char *s, struct ahpa_cron__tzrule *out,
                            struct ahpa_error *err)
{
    const char *p = s;
    int32_t off;
    memset(out, 0, sizeof(*out));
    if (skip_name(&p) < 0 || parse_hms(&p, &off) < 0)
        goto bad;
    out->std_off_s = -off;
    if (*p == '\0')
        return 0;
    if (skip_name(&p) < 0)
        goto bad;
    out->has_dst = true;
    out->dst_off_s = out->std_off_s + 3600;
    if (*p != ',' && *p != '\0') {
        if (parse_hms(&p, &off) < 0)
            goto bad;
        out->dst_off_s = -off;
    }
    if (*p == '\0') /* no rule: the customary US one */
        p = ",M3.2.0,M11.1.0";
    if (*p++ != ',' || parse_date(&p, &out->start) < 0 || *p++ != ',' ||
        parse_date(&p, &out->end) < 0 || *p != '\0')
        goto bad;
    return 0;
bad:
    return ahpa_error_set(err, AHPA_EPARSE, "bad TZ rule \"%.40s\"", s);
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since the epoch of the switch day of `d` in year `y`. */
static int64_t switch_day(int y, const struct ahpa_cron__tzdate *d)
{
    int64_t jan1 = ahpa_days_from_civil(y, 1, 1);
    if (d->kind == 'J')
        return jan1 + d->day - 1 + (is_leap(y) && d->day >= 60 ? 1 : 0);
    if (d->kind == 'D')
        return jan1 + d->day;
    int64_t first = ahpa_days_from_civil(y, d->month, 1);
    int64_t next = d->month == 12 ? ahpa_days_from_civil(y + 1, 1, 1)
                                  : ahpa_days_from_civil(y, d->month + 1, 1);
    int64_t wd = ((first + 4) % 7 + 7) % 7; /* 1970-01-01 was a Thursday */
    int64_t day = first + (d->day - wd + 7) % 7 + (int64_t)(d->week - 1) * 7;
    while (day >= next)
        day -= 7;
    return day;
}

int32_t ahpa_cron__tzrule_offset(const struct ahpa_cron__tzrule *r, int64_t unix_s)
{
    if (!r->has_dst)
        return r->std_off_s;
    struct ahpa_civil c;
    ahpa_civil_from_unix(unix_s + r->std_off_s, &c);
    /* Switches happen at local time: into DST by the standard clock, out
     * of it by the daylight clock. */
    int64_t start = switch_day(c.year, &r->start) * 86400 + r->start.time_s - r->std_off_s;
    int64_t end = switch_day(c.year, &r->end) * 86400 + r->end.time_s - r->dst_off_s;
    bool dst;
    if (start < end)
        dst = unix_s >= start && unix_s < end;
    else /* southern hemisphere: DST spans the new year */
        dst = !(unix_s >= end && unix_s < start);
    return dst ? r->dst_off_s : r->std_off_s;
}
