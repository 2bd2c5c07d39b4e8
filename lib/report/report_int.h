/* Internals of lib/report shared between its files and its unit tests. */
#ifndef AHPA_REPORT_INT_H
#define AHPA_REPORT_INT_H

#include <stddef.h>
#include <stdint.h>

struct ahpa_buf;
struct ahpa_report_input;

/* One series: borrowed parallel arrays, timestamps non-decreasing. */
struct ahpa_report__series {
    const int64_t *t;
    const double *v;
    size_t n;
};

/* A plot area in SVG user units and the scales that map into it. The plot
 * is `cols` pixel columns wide (one decimation bucket each). */
struct ahpa_report__frame {
    double left, top, height;
    int cols;
    int64_t t0, t1;   /* time range, t1 > t0 */
    double y0, y1;    /* value range, y1 > y0 */
    int32_t tz_offset_s;
};

/* What one chart shows. Series may be empty (n == 0). */
struct ahpa_report__chart {
    const char *title;       /* plain text, escaped on output */
    const char *subtitle;
    const char *y_label;
    const char *actual_label, *pred_label, *band_label;
    struct ahpa_report__series actual, pred, upper;
    int integer_values;      /* pod counts: integer value ticks */
    int64_t t0, t1;          /* shared time range of both charts */
    int64_t now_s;
    int32_t tz_offset_s;
    const char *tz_label;
};

/* Appends `s` with & < > " ' replaced by entities; NULL appends "-". */
void ahpa_report__escape(struct ahpa_buf *b, const char *s);
/* Appends `v` as %.1f without a trailing ".0" ("12", "12.5", "-3"). */
void ahpa_report__num(struct ahpa_buf *b, double v);

/* Screen coordinates of a time (column centre) and of a value. */
int ahpa_report__col(const struct ahpa_report__frame *f, int64_t t);
double ahpa_report__x_of_col(const struct ahpa_report__frame *f, int col);
double ahpa_report__x(const struct ahpa_report__frame *f, int64_t t);
double ahpa_report__y(const struct ahpa_report__frame *f, double v);

/* The gap, in seconds, beyond which consecutive samples are not joined
 * (unless the steps next to them are that long too): three times the
 * median positive step; INT64_MAX for fewer than 2 samples. */
int64_t ahpa_report__gap_s(const struct ahpa_report__series *s);

/* Appends SVG path data ("M x y x y ... M ...") for `s`, decimated to at
 * most two points (the min and max, in time order) per pixel column. NaN
 * samples and time gaps start a new "M" segment; a lone point gets "h0"
 * so that a round cap shows it. Returns the number of segments. */
size_t ahpa_report__path(struct ahpa_buf *b, const struct ahpa_report__frame *f,
                         const struct ahpa_report__series *s);

/* Appends closed path data for the band between `lo` and `hi` (same
 * timestamps expected, sampled together): per column the top is the max
 * of `hi` and the bottom the min of `lo`. Returns the number of pieces. */
size_t ahpa_report__band(struct ahpa_buf *b, const struct ahpa_report__frame *f,
                         const struct ahpa_report__series *lo,
                         const struct ahpa_report__series *hi);

/* Appends one <svg> with axes, grid, the now marker, the series and a
 * "No data yet" note when all of the chart's series are empty. */
void ahpa_report__chart_svg(struct ahpa_buf *b, const struct ahpa_report__chart *c);

/* A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) near span/n. */
double ahpa_report__nice_step(double span, int n);

/* Time labels: "Mon 23 Nov" and "06:00" of t + tz_offset_s. */
void ahpa_report__date_label(char out[32], int64_t t, int32_t tz_offset_s);
void ahpa_report__hour_label(char out[16], int64_t t, int32_t tz_offset_s);

#endif
