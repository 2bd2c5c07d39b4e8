/* Cron expressions, time zones and the instanceBounds windows of an AHPA.
 *
 * Pure: no clock, no files. The shell reads zoneinfo files and hands their
 * bytes to ahpa_cron_zone_new_tzif().
 *
 * Dialect (the one AHPA uses, after robfig/cron's standard parser): five
 * fields separated by blanks,
 *
 *     minute(0-59) hour(0-23) day-of-month(1-31) month(1-12) day-of-week(0-7)
 *
 * each a comma list of items; an item is `*`, `?` (day-of-month and
 * day-of-week only, same as `*`), a value, a range `a-b` (a <= b, no
 * wrapping), optionally followed by a step `/n` (n >= 1); `a/n` means
 * `a-max/n`. Months take JAN..DEC and weekdays SUN..SAT, case-insensitive,
 * also inside ranges; weekday 7 is Sunday. Descriptors @yearly @annually
 * @monthly @weekly @daily @midnight @hourly are accepted.
 *
 * Day matching: when day-of-month or day-of-week is unrestricted (`*` or
 * `?`, without a step above 1) both must match (so "* 0-8 ? * MON-FRI" is
 * "weekdays, 00:00-08:59"); when both are restricted either may match (the
 * classic cron OR). This is robfig/cron's rule, which AHPA inherits.
 *
 * A cron expression is matched per minute against local civil time; the
 * seconds field of the time is ignored. */
#ifndef AHPA_CRON_H
#define AHPA_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahpa/timefmt.h"

struct ahpa_error;

/* ---- expressions ---------------------------------------------------- */

/* A parsed expression: bit v of a field is set when value v matches.
 * Plain value type, caller storage, nothing to release. */
struct ahpa_cron_expr {
    uint64_t minute; /* bits 0..59 */
    uint64_t hour;   /* bits 0..23 */
    uint64_t dom;    /* bits 1..31 */
    uint64_t month;  /* bits 1..12 */
    uint64_t dow;    /* bits 0..6, 0 = Sunday */
    bool dom_any;    /* day-of-month was `*` or `?` */
    bool dow_any;    /* day-of-week was `*` or `?` */
};

/* Parses `text` (NUL-terminated, at most AHPA_CRON_TEXT_MAX bytes).
 * Returns 0, or -AHPA_EPARSE / -AHPA_ERANGE with a message that names the
 * field, e.g. "hour: value 25 out of range 0-23",
 * "day-of-week: unknown name FRY". `*out` is written only on success. */
int ahpa_cron_parse(const char *text, struct ahpa_cron_expr *out,
                    struct ahpa_error *err);

#define AHPA_CRON_TEXT_MAX 256

/* True when the minute of `local` (civil time in the expression's zone,
 * wday must be set) matches. */
bool ahpa_cron_match(const struct ahpa_cron_expr *e,
                     const struct ahpa_civil *local);

/* ---- time zones ----------------------------------------------------- */

/* A time zone: UTC, a fixed offset, or IANA rules from a TZif file
 * (RFC 8536, versions 1-4, with the POSIX TZ footer for times after the
 * last transition). Heap object; release with ahpa_cron_zone_free().
 * Everywhere a zone is taken, NULL means UTC. Immutable once built, so it
 * may be shared between threads. */
struct ahpa_cron_zone;

/* Builds a fixed zone from "UTC", "GMT", "Z", "+08:00", "-0530", "+8",
 * "UTC+8", "UTC+08:00", "GMT-3". The sign is the human one: "UTC+8" is
 * eight hours east of Greenwich (China), unlike POSIX TZ strings. Offsets
 * up to 18 h. Returns 0; -AHPA_ENOTFOUND when `spec` is not of this form
 * (e.g. "Asia/Shanghai": the caller then loads the zoneinfo file);
 * -AHPA_ERANGE for an offset out of range; -AHPA_EINVAL for "". Caller frees `*out`. */
int ahpa_cron_zone_new_fixed(const char *spec, struct ahpa_cron_zone **out,
                             struct ahpa_error *err);

/* Builds a zone from the bytes of a TZif file (`data` borrowed for the
 * call). `name` (e.g. "Europe/Berlin") is copied for messages and
 * ahpa_cron_zone_name(). Leap-second ("right/") files are refused with
 * -AHPA_ENOTSUP; malformed files with -AHPA_EPARSE. Caller frees `*out`. */
int ahpa_cron_zone_new_tzif(const char *name, const void *data, size_t n,
                            struct ahpa_cron_zone **out,
                            struct ahpa_error *err);

void ahpa_cron_zone_free(struct ahpa_cron_zone *z);

/* "UTC" for NULL. Borrowed; valid while `z` lives. */
const char *ahpa_cron_zone_name(const struct ahpa_cron_zone *z);

/* Offset from UTC in seconds (east positive) in force at `unix_s`. */
int32_t ahpa_cron_zone_offset_s(const struct ahpa_cron_zone *z,
                                int64_t unix_s);

/* Local civil time (wday and yday set) of `unix_s` in `z`. */
void ahpa_cron_zone_to_civil(const struct ahpa_cron_zone *z, int64_t unix_s,
                             struct ahpa_civil *out);

/* Unix seconds of the local wall time `local` (wday/yday ignored). A wall
 * time repeated by a backward shift gives the earlier instant; one skipped
 * by a forward shift is read with the offset before the shift (02:30 in a
 * one-hour spring-forward gap becomes 03:30 new time). */
int64_t ahpa_cron_zone_from_civil(const struct ahpa_cron_zone *z,
                                  const struct ahpa_civil *local);

/* Parses "YYYY-MM-DD HH:MM:SS" (or "YYYY-MM-DD", or with 'T') as wall time
 * in `z`. Text with an explicit "Z"/"+hh:mm" offset, or unix seconds, is
 * taken as that absolute time. Returns 0 or -AHPA_EPARSE/-AHPA_ERANGE. */
int ahpa_cron_zone_parse_local(const struct ahpa_cron_zone *z,
                               const char *text, int64_t *out,
                               struct ahpa_error *err);

/* ---- instanceBounds ------------------------------------------------- */

/* minReplicas/maxReplicas not given for a bound. */
#define AHPA_CRON_UNSET (-1)

/* The instanceBounds of one AHPA: windows [start_s, end_s), each with a
 * list of bounds {cron, minReplicas, maxReplicas}. Heap object, release
 * with ahpa_cron_bounds_free(); immutable after building. */
struct ahpa_cron_bounds;

struct ahpa_cron_bounds *ahpa_cron_bounds_new(void);
void ahpa_cron_bounds_free(struct ahpa_cron_bounds *b);

/* Appends a window [start_s, end_s) and returns its index (>= 0), or
 * -AHPA_EINVAL when end_s <= start_s. */
int ahpa_cron_bounds_add_window(struct ahpa_cron_bounds *b, int64_t start_s,
                                int64_t end_s, struct ahpa_error *err);

/* Same, from the AHPA's text "YYYY-MM-DD HH:MM:SS" read in `z` (see
 * ahpa_cron_zone_parse_local); messages start "startTime: " or
 * "endTime: ". */
int ahpa_cron_bounds_add_window_text(struct ahpa_cron_bounds *b,
                                     const struct ahpa_cron_zone *z,
                                     const char *start_text,
                                     const char *end_text,
                                     struct ahpa_error *err);

/* Appends a bound to window `window`. `cron` is parsed and copied.
 * min/max are >= 0 or AHPA_CRON_UNSET; min <= max when both are set.
 * Returns the bound's index in its window, or a negative error (the
 * message names the cron field on a parse error). */
int ahpa_cron_bounds_add(struct ahpa_cron_bounds *b, size_t window,
                         const char *cron, int32_t min_replicas,
                         int32_t max_replicas, struct ahpa_error *err);

size_t ahpa_cron_bounds_window_count(const struct ahpa_cron_bounds *b);
size_t ahpa_cron_bounds_count(const struct ahpa_cron_bounds *b, size_t window);
/* Cron text of a bound; borrowed, valid while `b` lives. */
const char *ahpa_cron_bounds_text(const struct ahpa_cron_bounds *b,
                                  size_t window, size_t bound);

/* The bounds in force at one instant.
 *
 * A bound is in force at t when t lies in its window [start, end) and its
 * cron matches t's minute in the zone. When several are in force, every one
 * of them must hold: min is the highest min, max the lowest max (a bound's
 * UNSET side does not constrain). If that leaves min > max, `conflict` is
 * set and the planner lets max win. `min_*`/`max_*` name the bound that
 * gave each side, for the plan's reason. */
struct ahpa_cron_in_force {
    size_t matched;        /* bounds in force; 0 = none */
    int32_t min_replicas;  /* AHPA_CRON_UNSET when no bound sets a min */
    int32_t max_replicas;  /* AHPA_CRON_UNSET when no bound sets a max */
    size_t min_window, min_bound; /* valid when min_replicas != UNSET */
    size_t max_window, max_bound; /* valid when max_replicas != UNSET */
    const char *min_cron;  /* borrowed from the set; NULL when UNSET */
    const char *max_cron;  /* borrowed from the set; NULL when UNSET */
    bool conflict;         /* min_replicas > max_replicas */
};

void ahpa_cron_bounds_at(const struct ahpa_cron_bounds *b,
                         const struct ahpa_cron_zone *z, int64_t unix_s,
                         struct ahpa_cron_in_force *out);

/* The first minute start m with unix_s < m <= unix_s + horizon_s at which
 * the bounds in force (min and max) differ from those at unix_s, or -1
 * when they do not change within the horizon. Walks minute by minute:
 * cost is horizon_s / 60 evaluations. */
int64_t ahpa_cron_bounds_next_change(const struct ahpa_cron_bounds *b,
                                     const struct ahpa_cron_zone *z,
                                     int64_t unix_s, int64_t horizon_s);

/* Fills min_out[i] / max_out[i] with the bounds in force at
 * t0_s + i * step_s for i < n (AHPA_CRON_UNSET where no bound sets a
 * side), for a per-step plan. Arrays are caller storage of n elements. */
void ahpa_cron_bounds_fill(const struct ahpa_cron_bounds *b,
                           const struct ahpa_cron_zone *z, int64_t t0_s,
                           int64_t step_s, size_t n, int32_t *min_out,
                           int32_t *max_out);

#endif
