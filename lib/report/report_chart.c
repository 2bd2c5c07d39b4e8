/* One chart as inline SVG: value grid, time axis in days and hours, the
 * forecast region after "now", the series and the empty-state note. The
 * SVG scales with the page (viewBox, width 100%); styles live in the page's
 * CSS so that the markup stays small. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/timefmt.h"
#include "report_int.h"

/* The viewBox and the plot area inside it, in SVG user units. */
enum {
    VB_W = 1200,
    VB_H = 360,
    PLOT_L = 64,
    PLOT_R = 20,
    PLOT_T = 30,
    PLOT_B = 50,
    PLOT_W = VB_W - PLOT_L - PLOT_R,
    PLOT_H = VB_H - PLOT_T - PLOT_B,
};

#define DAY_S 86400

static const char *const wday_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void ahpa_report__date_label(char out[32], int64_t t, int32_t tz_offset_s)
{
    struct ahpa_civil c;
    ahpa_civil_from_unix(t + tz_offset_s, &c);
    snprintf(out, 32, "%s %d %s", wday_names[c.wday % 7], c.day,
             month_names[(c.month + 11) % 12]);
}

void ahpa_report__hour_label(char out[16], int64_t t, int32_t tz_offset_s)
{
    struct ahpa_civil c;
    ahpa_civil_from_unix(t + tz_offset_s, &c);
    snprintf(out, 16, "%02d:%02d", c.hour, c.minute);
}

double ahpa_report__nice_step(double span, int n)
{
    if (!(span > 0) || n < 1)
        return 1;
    double raw = span / n;
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    double m = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
    return m * mag;
}

static void series_extent(const struct ahpa_report__series *s, double *lo, double *hi,
                          size_t *finite)
{
    for (size_t i = 0; i < s->n; i++) {
        double v = s->v[i];
        if (!isfinite(v))
            continue;
        if (v < *lo)
            *lo = v;
        if (v > *hi)
            *hi = v;
        (*finite)++;
    }
}

/* Value range from 0 (or a nice floor below it) to a nice ceiling with a
 * little headroom; returns the number of finite samples in the chart. */
static size_t value_range(const struct ahpa_report__chart *c, double *y0, double *y1,
                          double *step)
{
    double lo = 0, hi = 0;
    size_t finite = 0;
    series_extent(&c->actual, &lo, &hi, &finite);
    series_extent(&c->pred, &lo, &hi, &finite);
    series_extent(&c->upper, &lo, &hi, &finite);
    /* Absurd magnitudes are drawn at the edge rather than overflowing the
     * scale arithmetic. */
    hi = fmin(hi, 1e300) * 1.05;
    lo = fmax(lo, -1e300);
    if (hi - lo < (c->integer_values ? 4 : 10))
        hi = lo + (c->integer_values ? 4 : 10);
    *step = ahpa_report__nice_step(hi - lo, 5);
    if (c->integer_values && *step < 1)
        *step = 1;
    *y0 = floor(lo / *step) * *step;
    *y1 = ceil(hi / *step) * *step;
    return finite;
}

static void value_label(char out[32], double v, double step)
{
    int digits = step >= 1 ? 0 : step >= 0.1 ? 1 : 2;
    snprintf(out, 32, "%.*f", digits, v);
    if (strcmp(out, "-0") == 0)
        snprintf(out, 32, "0");
}

static void value_grid(struct ahpa_buf *b, const struct ahpa_report__frame *f, double step)
{
    int n = (int)llround((f->y1 - f->y0) / step);
    for (int i = 0; i <= n; i++) {
        double v = f->y0 + i * step;
        double y = ahpa_report__y(f, v);
        char label[32];
        value_label(label, v, step);
        ahpa_buf_printf(b, "<path class=\"%s\" d=\"M%d ", i == 0 ? "axis" : "grid", PLOT_L);
        ahpa_report__num(b, y);
        ahpa_buf_printf(b, "h%d\"/><text class=\"yt\" x=\"%d\" y=\"", PLOT_W, PLOT_L - 8);
        ahpa_report__num(b, y + 4);
        ahpa_buf_printf(b, "\">%s</text>", label);
    }
}

/* Major (labelled) and minor time steps, from fine to coarse. */
struct time_steps {
    int64_t major_s, minor_s;
};

static const struct time_steps time_step_table[] = {
    {900, 300},           {3600, 900},         {3 * 3600, 3600},
    {6 * 3600, 3600},     {12 * 3600, 3 * 3600}, {DAY_S, 6 * 3600},
    {2 * DAY_S, 12 * 3600}, {7 * DAY_S, DAY_S},  {28 * DAY_S, 7 * DAY_S},
};

static struct time_steps pick_time_steps(const struct ahpa_report__frame *f)
{
    double px_per_s = (double)f->cols / (double)(f->t1 - f->t0);
    size_t n = sizeof(time_step_table) / sizeof(time_step_table[0]);
    for (size_t i = 0; i < n; i++)
        if (time_step_table[i].major_s * px_per_s >= 110)
            return time_step_table[i];
    /* Longer than the table foresees (a stray ancient timestamp): about
     * ten whole-day ticks, no minor ones. */
    int64_t days = (int64_t)ceil((double)(f->t1 - f->t0) / 10.0 / DAY_S);
    return (struct time_steps){days * DAY_S, days * DAY_S};
}

/* First multiple of `step` in local time at or after t. */
static int64_t first_tick(int64_t t, int64_t step, int32_t tz)
{
    int64_t lt = t + tz;
    int64_t q = lt / step;
    if (q * step < lt) /* division truncates toward zero: round up */
        q++;
    return q * step - tz;
}

static void vline(struct ahpa_buf *b, const char *cls, double x)
{
    ahpa_buf_printf(b, "<path class=\"%s\" d=\"M", cls);
    ahpa_report__num(b, x);
    ahpa_buf_printf(b, " %dv%d\"/>", PLOT_T, PLOT_H);
}

static void text_at(struct ahpa_buf *b, const char *cls, double x, double y, const char *s)
{
    ahpa_buf_printf(b, "<text class=\"%s\" x=\"", cls);
    ahpa_report__num(b, x);
    ahpa_buf_puts(b, "\" y=\"");
    ahpa_report__num(b, y);
    ahpa_buf_puts(b, "\">");
    ahpa_report__escape(b, s);
    ahpa_buf_puts(b, "</text>");
}

/* Hour ticks: gridlines, stronger at major steps, and their labels. */
static void time_minor(struct ahpa_buf *b, const struct ahpa_report__frame *f,
                       struct time_steps st)
{
    double px = st.minor_s * (double)f->cols / (double)(f->t1 - f->t0);
    /* Label every tick when they are far enough apart, else the major ones
     * (pick_time_steps keeps those over 100 units apart); whole-day ticks
     * need no hour label, the dates below say it. */
    for (int64_t t = first_tick(f->t0, st.minor_s, f->tz_offset_s); t <= f->t1;
         t += st.minor_s) {
        double x = ahpa_report__x(f, t);
        int major = (t + f->tz_offset_s) % st.major_s == 0;
        vline(b, major ? "gridx" : "grid", x);
        if (st.minor_s < DAY_S && (px >= 34 || major)) {
            char label[16];
            ahpa_report__hour_label(label, t, f->tz_offset_s);
            text_at(b, "xt", x, PLOT_T + PLOT_H + 16, label);
        }
    }
}

/* Date labels, centred in each day (or in each major step when that is
 * longer), for the part of it inside the plot when that is wide enough. */
static void time_dates(struct ahpa_buf *b, const struct ahpa_report__frame *f,
                       struct time_steps st)
{
    int64_t step = st.major_s >= DAY_S ? st.major_s : DAY_S;
    char label[32];
    for (int64_t t = first_tick(f->t0 - step, step, f->tz_offset_s); t <= f->t1; t += step) {
        int64_t a = t < f->t0 ? f->t0 : t;
        int64_t e = t + step > f->t1 ? f->t1 : t + step;
        if (e <= a)
            continue;
        double xa = ahpa_report__x(f, a), xe = ahpa_report__x(f, e);
        if (xe - xa < 64)
            continue;
        ahpa_report__date_label(label, a, f->tz_offset_s);
        text_at(b, "xd", (xa + xe) / 2, PLOT_T + PLOT_H + 36, label);
    }
}

static void now_marker(struct ahpa_buf *b, const struct ahpa_report__frame *f, int64_t now)
{
    if (now < f->t0 || now > f->t1)
        return;
    double x = ahpa_report__x(f, now);
    ahpa_buf_puts(b, "<rect class=\"fc\" x=\"");
    ahpa_report__num(b, x);
    ahpa_buf_printf(b, "\" y=\"%d\" width=\"", PLOT_T);
    ahpa_report__num(b, PLOT_L + PLOT_W - x);
    ahpa_buf_printf(b, "\" height=\"%d\"/>", PLOT_H);
    vline(b, "now", x);
    text_at(b, "nowt", x, PLOT_T - 10, "now");
    /* The side labels only where they fit inside the plot's width. */
    if (x - 22 - 60 >= PLOT_L)
        text_at(b, "hist", x - 22, PLOT_T - 10, "\xe2\x86\x90 history");
    if (x + 22 + 70 <= PLOT_L + PLOT_W)
        text_at(b, "fct", x + 22, PLOT_T - 10, "forecast \xe2\x86\x92");
}

/* A series' path; its <title> is the hover text. */
static void series_path(struct ahpa_buf *b, const struct ahpa_report__frame *f,
                        const char *cls, const struct ahpa_report__series *s,
                        const char *label)
{
    if (s->n == 0)
        return;
    ahpa_buf_printf(b, "<path class=\"%s\" d=\"", cls);
    ahpa_report__path(b, f, s);
    ahpa_buf_puts(b, "\"><title>");
    ahpa_report__escape(b, label);
    ahpa_buf_puts(b, "</title></path>");
}

static void series_all(struct ahpa_buf *b, const struct ahpa_report__frame *f,
                       const struct ahpa_report__chart *c)
{
    if (c->upper.n > 0 && c->pred.n > 0) {
        ahpa_buf_puts(b, "<path class=\"band\" d=\"");
        ahpa_report__band(b, f, &c->pred, &c->upper);
        ahpa_buf_puts(b, "\"><title>");
        ahpa_report__escape(b, c->band_label);
        ahpa_buf_puts(b, "</title></path>");
    }
    /* Measured first, the (smoother) forecast on top so that it stays
     * visible over a noisy measurement. */
    series_path(b, f, "actual", &c->actual, c->actual_label);
    series_path(b, f, "pred", &c->pred, c->pred_label);
}

static void empty_note(struct ahpa_buf *b, const char *line1, const char *line2)
{
    if (line1 != NULL)
        text_at(b, "empty", PLOT_L + PLOT_W / 2.0, PLOT_T + PLOT_H / 2.0 - 6, line1);
    if (line2 != NULL)
        text_at(b, "empty2", PLOT_L + PLOT_W / 2.0, PLOT_T + PLOT_H / 2.0 + 16, line2);
}

static void y_axis_label(struct ahpa_buf *b, const char *label)
{
    ahpa_buf_printf(b, "<text class=\"yl\" transform=\"translate(16 %d) rotate(-90)\">",
                    PLOT_T + PLOT_H / 2);
    ahpa_report__escape(b, label);
    ahpa_buf_puts(b, "</text>");
}

void ahpa_report__chart_svg(struct ahpa_buf *b, const struct ahpa_report__chart *c)
{
    struct ahpa_report__frame f = {.left = PLOT_L, .top = PLOT_T, .height = PLOT_H,
                                   .cols = PLOT_W, .t0 = c->t0, .t1 = c->t1,
                                   .tz_offset_s = c->tz_offset_s};
    double step;
    size_t finite = value_range(c, &f.y0, &f.y1, &step);
    struct time_steps st = pick_time_steps(&f);

    ahpa_buf_printf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", VB_W, VB_H);
    ahpa_report__escape(b, c->title);
    ahpa_buf_puts(b, "\">");
    now_marker(b, &f, c->now_s);
    value_grid(b, &f, step);
    time_minor(b, &f, st);
    time_dates(b, &f, st);
    y_axis_label(b, c->y_label);
    if (finite == 0) {
        empty_note(b, "No data yet", "The chart fills in as samples arrive.");
    } else {
        series_all(b, &f, c);
        if (c->pred.n == 0)
            empty_note(b, NULL, "No forecast yet: not enough history.");
    }
    ahpa_buf_printf(b, "<path class=\"axis\" d=\"M%d %dv%d\"/>", PLOT_L, PLOT_T, PLOT_H);
    ahpa_buf_puts(b, "</svg>\n");
}
