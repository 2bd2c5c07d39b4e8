/* Calendar arithmetic and timestamp text, all in UTC and pure (no clock
 * reads, no TZ environment). Times are int64 unix seconds. */
#ifndef AHPA_TIMEFMT_H
#define AHPA_TIMEFMT_H

#include <stdint.h>

struct ahpa_error;

struct ahpa_civil {
    int year;   /* e.g. 2026 */
    int month;  /* 1..12 */
    int day;    /* 1..31 */
    int hour;   /* 0..23 */
    int minute; /* 0..59 */
    int second; /* 0..59 */
    int wday;   /* 0 = Sunday .. 6 = Saturday */
    int yday;   /* 0..365 */
};

/* "2026-11-28T08:00:00Z" needs 21 bytes with the NUL. */
#define AHPA_RFC3339_MAX 32

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t ahpa_days_from_civil(int year, int month, int day);
/* Splits unix seconds into calendar fields (UTC). */
void ahpa_civil_from_unix(int64_t t, struct ahpa_civil *out);
/* a / b rounded towards minus infinity (b != 0): the index of the period
 * of length b that holds time a, also for times before the epoch. */
int64_t ahpa_floor_div(int64_t a, int64_t b);
/* Inverse of ahpa_civil_from_unix (wday/yday ignored); fields must be in
 * range. */
int64_t ahpa_unix_from_civil(const struct ahpa_civil *c);

/* RFC 3339, seconds precision, always "Z". */
void ahpa_time_format_rfc3339(int64_t t, char out[AHPA_RFC3339_MAX]);

/* Accepts unix seconds (integer or with a fraction, truncated),
 * "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DDTHH:MM:SS" with an optional fraction and
 * an optional "Z" or "+hh:mm"/"-hh:mm" offset, and "YYYY-MM-DD". Returns 0 or
 * -AHPA_EPARSE with a message saying what was expected. */
int ahpa_time_parse(const char *s, int64_t *out, struct ahpa_error *err);

#endif
