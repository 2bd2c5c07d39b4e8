/* The predictionsobserver page: one self-contained HTML document (inline
 * CSS and SVG, no script, no network, no external fonts or images) with the
 * seed's two charts, "Predict GPU Resource Observer" and "Predict POD
 * Observer", the AHPA's settings and its current plan.
 *
 * Pure and reentrant: no clock reads (the time of the page is `now_s`), no
 * I/O, no static state. The same input always gives the same bytes.
 *
 * Series are parallel arrays of unix seconds and values, timestamps
 * non-decreasing; NaN marks a missing sample and breaks the line, and so does
 * a gap in time of more than three typical steps. Series are drawn with a
 * min/max-preserving decimation (two points per pixel column at most), so a
 * week at one-minute steps keeps its spikes and the page stays small: about
 * 115-130 KB for 7 days at 1 minute plus 24 hours of forecast, about 140 KB
 * in the worst case (noise, every other sample missing, in every series). */
#ifndef AHPA_REPORT_H
#define AHPA_REPORT_H

#include <stddef.h>
#include <stdint.h>

struct ahpa_buf;
struct ahpa_error;

/* Everything the page shows. All pointers are borrowed for the duration of
 * ahpa_report_render() only. Strings may be NULL (shown as "-") and may hold
 * any bytes: they are HTML-escaped. Arrays may be NULL when their count is
 * 0. Start from ahpa_report_input_init(), which sets the "unknown" values. */
struct ahpa_report_input {
    const char *name;           /* AHPA object name, e.g. "fib-gpu" */
    const char *namespace_;     /* e.g. "default" */
    const char *strategy;       /* observer | auto | proactive | reactive */
    const char *target_ref;     /* e.g. "Deployment/bert-intent-detection" */
    const char *metric;         /* e.g. "gpu" */
    double target_utilization;  /* percent per pod, e.g. 20 */
    double quantile;            /* 0..1, e.g. 0.95; NaN when unset */
    int64_t scale_up_forward_s; /* prediction lead, e.g. 180 */
    int min_replicas, max_replicas;

    int64_t now_s;              /* the page's "now": splits history/forecast */
    int32_t tz_offset_s;        /* added to times for labels (0 for UTC) */
    const char *timezone_label; /* e.g. "UTC" (NULL: "UTC") */

    /* GPU usage in percent summed over the pods (100 = one GPU busy).
     * actual: measured history. pred: the forecast as it was issued
     * scale_up_forward earlier over the history, then the next 24 h;
     * pred_upper (may be NULL) is the upper quantile, drawn as a band. */
    const int64_t *actual_t;
    const double *actual;
    size_t n_actual;
    const int64_t *pred_t;
    const double *pred_point;
    const double *pred_upper;
    size_t n_pred;

    /* Pod counts: actual replicas and the planned (predicted) replicas. */
    const int64_t *pods_actual_t;
    const double *pods_actual;
    size_t n_pods_actual;
    const int64_t *pods_pred_t;
    const double *pods_pred;
    size_t n_pods_pred;

    /* The current plan; negative counts are shown as "-". */
    int current_replicas, proactive, reactive, desired;
    const char *plan_reason;    /* e.g. "proactive: forecast 240% / 20%" */
    double current_utilization; /* CURRENT(%): average per pod, like
                                 * target_utilization; NaN when unknown */

    /* Time-window bounds, one text line each, e.g.
     * "* 9-15 ? * MON-FRI: 10..50". */
    const char *const *bounds_text;
    size_t n_bounds;

    /* Forecast quality; NaN when unknown. */
    const char *model_summary;  /* e.g. "period 1d, seasonal strength 0.83" */
    double coverage_recent;     /* fraction 0..1 of actuals under the upper quantile */
    double pinball_recent;      /* mean pinball loss at the quantile */
};

/* Zeroes `in` and sets the unknown markers: quantile, current_utilization,
 * coverage_recent and pinball_recent to NaN, plan counts to -1. */
void ahpa_report_input_init(struct ahpa_report_input *in);

/* Appends the HTML page for `in` to `out`. Returns 0, or -AHPA_EINVAL (with
 * a message in `err`) when `in`/`out` is NULL, an array is NULL with a
 * non-zero count, a series' timestamps decrease, or a time (or now_s) lies
 * beyond +-10^11 s; `out` is left unchanged
 * on error. Empty series render a "No data yet" note in their chart. */
int ahpa_report_render(const struct ahpa_report_input *in, struct ahpa_buf *out,
                       struct ahpa_error *err);

#endif
