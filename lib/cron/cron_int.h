/* Internals shared by the files of lib/cron. */
#ifndef AHPA_CRON_INT_H
#define AHPA_CRON_INT_H

#include <stdbool.h>
#include <stdint.h>

struct ahpa_error;

/* When a POSIX TZ rule switches: a day of the year and a local time. */
struct ahpa_cron__tzdate {
    char kind;      /* 'J' Julian 1..365 no Feb 29, 'D' zero-based day, 'M' month rule */
    int day;        /* J: 1..365, D: 0..365, M: weekday 0..6 */
    int week;       /* M: 1..5 (5 = last) */
    int month;      /* M: 1..12 */
    int32_t time_s; /* local time of the switch, may be negative or past 24 h */
};

/* A POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3". */
struct ahpa_cron__tzrule {
    int32_t std_off_s; /* east positive (the string's sign inverted) */
    int32_t dst_off_s;
    bool has_dst;
    struct ahpa_cron__tzdate start, end;
};

/* Parses a TZ string (the TZif footer). Returns 0 or -AHPA_EPARSE. */
int ahpa_cron__tzrule_parse(const char *s, struct ahpa_cron__tzrule *out,
                            struct ahpa_error *err);

/* Offset east of UTC in force at unix_s under the rule. */
int32_t ahpa_cron__tzrule_offset(const struct ahpa_cron__tzrule *r, int64_t unix_s);

#endif
