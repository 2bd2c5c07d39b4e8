/* Time series: regular series with NaN gaps, irregular samples and their
 * resampling onto a step, CSV text of (timestamp, value) pairs, and the
 * robust statistics a forecaster needs. All pure and reentrant.
 *
 * Conventions: times are int64 unix seconds; a missing value is NaN, never 0;
 * statistics skip NaN samples. */
#ifndef AHPA_SERIES_H
#define AHPA_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ahpa_error;

/* ---- irregular samples ------------------------------------------------ */

/* Growable list of (t_s, value) samples. Caller storage: zero it or call
 * _init, release with _dispose. `t` and `v` are owned by the struct. */
struct ahpa_series_samples {
    int64_t *t;  /* unix seconds */
    double *v;   /* values; NaN allowed */
    size_t n;
    size_t cap;
};

void ahpa_series_samples_init(struct ahpa_series_samples *s);
void ahpa_series_samples_dispose(struct ahpa_series_samples *s);
void ahpa_series_samples_push(struct ahpa_series_samples *s, int64_t t_s,
                              double v);

/* Median spacing of consecutive timestamps in seconds (samples must be
 * sorted); 0 when there are fewer than two samples. */
int64_t ahpa_series_samples_median_step(const struct ahpa_series_samples *s);

/* ---- CSV ----------------------------------------------------------------- */

/* Limits for ahpa_series_csv_parse. */
#define AHPA_SERIES_CSV_MAX_ROWS 5000000u
#define AHPA_SERIES_CSV_MAX_LINE 4096u

struct ahpa_series_csv_options {
    size_t time_col;     /* 0-based column of the timestamp */
    size_t value_col;    /* 0-based column of the value */
    size_t max_rows;     /* 0 means AHPA_SERIES_CSV_MAX_ROWS */
    bool require_sorted; /* reject unsorted or duplicate timestamps */
};

/* Parses CSV text (`len` bytes, need not be NUL-terminated) of rows
 * `timestamp,value[,...]` into `out` (appended). A first line whose time
 * field does not parse as a time is taken as a header. Timestamps: unix
 * seconds or the forms of ahpa_time_parse (UTC). Empty lines and lines
 * starting with '#' are skipped; an empty value or "NaN" is a missing sample.
 * With require_sorted, timestamps must strictly increase. Errors name the
 * 1-based line: -AHPA_EPARSE (bad field, unsorted, duplicate) or
 * -AHPA_ETOOBIG (too many rows or a line over AHPA_SERIES_CSV_MAX_LINE).
 * `opt` may be NULL: columns 0 and 1, sorted required. */
int ahpa_series_csv_parse(const char *text, size_t len,
                          const struct ahpa_series_csv_options *opt,
                          struct ahpa_series_samples *out,
                          struct ahpa_error *err);

/* ---- regular series ------------------------------------------------------ */

/* Values at t0_s + i * step_s, i in [0, n). Caller storage; `v` owned. */
struct ahpa_series {
    int64_t t0_s;
    int64_t step_s; /* > 0 */
    double *v;      /* n values, NaN = missing */
    size_t n;
};

void ahpa_series_init(struct ahpa_series *s);
void ahpa_series_dispose(struct ahpa_series *s);

enum ahpa_series_agg {
    AHPA_SERIES_AGG_MEAN, /* mean of the samples in a bin */
    AHPA_SERIES_AGG_SUM,  /* sum (e.g. busy seconds per minute) */
    AHPA_SERIES_AGG_LAST, /* last sample of the bin */
    AHPA_SERIES_AGG_MAX
};

/* Resamples sorted samples onto bins [t0 + i*step, t0 + (i+1)*step) where
 * t0 = first timestamp rounded down to a multiple of step_s. Empty bins are
 * NaN, except with AGG_SUM where an empty bin is 0 inside the span (a sum of
 * no events). NaN samples are ignored. Fails with -AHPA_EINVAL on step_s <= 0
 * or unsorted samples, -AHPA_ENODATA on no samples, -AHPA_ETOOBIG when the
 * span exceeds `max_bins` (0 = no limit). Replaces the contents of `out`. */
int ahpa_series_resample(const struct ahpa_series_samples *in, int64_t step_s,
                         enum ahpa_series_agg agg, size_t max_bins,
                         struct ahpa_series *out, struct ahpa_error *err);

/* ---- statistics (NaN skipped; `scratch` holds n doubles) --------------- */

/* Number of finite values. */
size_t ahpa_series_count_finite(const double *x, size_t n);
/* Mean of finite values; NaN if none. */
double ahpa_series_mean(const double *x, size_t n);
/* q-quantile, q in [0, 1], linear interpolation between order statistics
 * (type 7). NaN if no finite value. `scratch` must hold n doubles; `x` is
 * not modified. */
double ahpa_series_quantile(const double *x, size_t n, double q,
                            double *scratch);
double ahpa_series_median(const double *x, size_t n, double *scratch);
/* Median absolute deviation from the median, unscaled (multiply by 1.4826
 * for a normal sigma). NaN if no finite value. */
double ahpa_series_mad(const double *x, size_t n, double *scratch);
/* Sample autocorrelation at `lag` over pairs where both are finite, with the
 * mean and variance of all finite values; 0 when undefined (lag >= n,
 * constant series). */
double ahpa_series_acf(const double *x, size_t n, size_t lag);

/* Partial sort in place (no NaN): afterwards a[k] is the k-th smallest,
 * a[0..k) <= a[k] <= a[k+1..n). k < n. Deterministic. */
void ahpa_series_select_kth(double *a, size_t n, size_t k);

/* Sorts a[0..n) ascending in place (no NaN). Deterministic, no recursion,
 * O(n log n) expected. */
void ahpa_series_sort(double *a, size_t n);

/* In-place quantile of the first n entries of `a` (no NaN), reorders `a`. */
double ahpa_series_select_quantile(double *a, size_t n, double q);

/* Fills NaN gaps by linear interpolation between finite neighbours; leading
 * and trailing gaps take the nearest finite value. Returns the number of
 * values filled; if no value is finite nothing changes and 0 is returned. */
size_t ahpa_series_fill_gaps(double *x, size_t n);

#endif
