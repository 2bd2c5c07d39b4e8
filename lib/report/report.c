/* The predictionsobserver page: header, plan, the two charts, settings and
 * forecast quality, in one HTML document with inline CSS and SVG. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/report.h"
#include "ahpa/timefmt.h"
#include "report_int.h"

#define DAY_S 86400
#define FORECAST_SPAN_S DAY_S
/* Times beyond +-10^11 s (3000 years) are garbage; refusing them keeps the
 * time arithmetic far from overflow. */
#define TIME_LIMIT_S INT64_C(100000000000)

void ahpa_report_input_init(struct ahpa_report_input *in)
{
    memset(in, 0, sizeof(*in));
    in->quantile = NAN;
    in->current_utilization = NAN;
    in->coverage_recent = NAN;
    in->pinball_recent = NAN;
    in->current_replicas = in->proactive = in->reactive = in->desired = -1;
}

static int check_series(const char *what, const int64_t *t, const double *v, size_t n,
                        struct ahpa_error *err)
{
    if (n == 0)
        return 0;
    if (t == NULL || v == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "report: %s is NULL with %zu samples", what, n);
    for (size_t i = 1; i < n; i++)
        if (t[i] < t[i - 1])
            return ahpa_error_set(err, AHPA_EINVAL, "report: %s time decreases at index %zu",
                                  what, i);
    if (t[0] < -TIME_LIMIT_S || t[n - 1] > TIME_LIMIT_S)
        return ahpa_error_set(err, AHPA_EINVAL, "report: %s time out of range", what);
    return 0;
}

static int check_input(const struct ahpa_report_input *in, struct ahpa_error *err)
{
    int rc = check_series("actual", in->actual_t, in->actual, in->n_actual, err);
    if (rc == 0)
        rc = check_series("pred_point", in->pred_t, in->pred_point, in->n_pred, err);
    if (rc == 0 && in->pred_upper != NULL)
        rc = check_series("pred_upper", in->pred_t, in->pred_upper, in->n_pred, err);
    if (rc == 0)
        rc = check_series("pods_actual", in->pods_actual_t, in->pods_actual,
                          in->n_pods_actual, err);
    if (rc == 0)
        rc = check_series("pods_pred", in->pods_pred_t, in->pods_pred, in->n_pods_pred, err);
    if (rc == 0 && in->n_bounds > 0 && in->bounds_text == NULL)
        rc = ahpa_error_set(err, AHPA_EINVAL, "report: bounds_text is NULL with %zu lines",
                            in->n_bounds);
    return rc;
}

static void widen(int64_t *t0, int64_t *t1, const int64_t *t, size_t n)
{
    if (n == 0)
        return;
    if (t[0] < *t0)
        *t0 = t[0];
    if (t[n - 1] > *t1)
        *t1 = t[n - 1];
}

/* The shared time axis: all samples, at least an hour of history and the
 * next 24 h; a day of history when there is no data at all. */
static void time_range(const struct ahpa_report_input *in, int64_t *t0, int64_t *t1)
{
    *t0 = in->now_s - 3600;
    *t1 = in->now_s + FORECAST_SPAN_S;
    widen(t0, t1, in->actual_t, in->n_actual);
    widen(t0, t1, in->pred_t, in->n_pred);
    widen(t0, t1, in->pods_actual_t, in->n_pods_actual);
    widen(t0, t1, in->pods_pred_t, in->n_pods_pred);
    if (in->n_actual + in->n_pred + in->n_pods_actual + in->n_pods_pred == 0)
        *t0 = in->now_s - DAY_S;
}

/* "7 d", "1.5 d", "3 h", "180 s (3 min)". */
static void fmt_duration(char out[48], int64_t s)
{
    if (s >= DAY_S && s % DAY_S == 0)
        snprintf(out, 48, "%lld d", (long long)(s / DAY_S));
    else if (s >= DAY_S)
        snprintf(out, 48, "%.1f d", (double)s / DAY_S);
    else if (s >= 3600 && s % 3600 == 0)
        snprintf(out, 48, "%lld h", (long long)(s / 3600));
    else if (s >= 60 && s % 60 == 0)
        snprintf(out, 48, "%lld s (%lld min)", (long long)s, (long long)(s / 60));
    else
        snprintf(out, 48, "%lld s", (long long)s);
}

static const char *tz_label(const struct ahpa_report_input *in)
{
    return in->timezone_label != NULL ? in->timezone_label : "UTC";
}

static const char page_css[] =
    ":root{--blue:#1f6fd1;--green:#13a150}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:#f4f6f9;color:#1d2733;"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}"
    "main{max-width:1320px;margin:0 auto;padding:18px 24px 28px}"
    "h1{font-size:22px;margin:0 0 2px;font-weight:650}"
    "h1 .ns{color:#5b6876;font-weight:400}"
    "h2{font-size:16px;margin:0;font-weight:650}"
    "h3{font-size:13px;margin:12px 0 4px;color:#5b6876;font-weight:600}"
    ".sub{color:#5b6876;margin:0}"
    ".badge{display:inline-block;padding:0 8px;border-radius:10px;background:#e6ebf2;"
    "color:#2b3a4a;font-weight:600;font-size:12px}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0 6px}"
    ".card{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:8px 16px;"
    "min-width:128px}"
    ".card .k{font-size:11px;color:#5b6876;text-transform:uppercase;letter-spacing:.05em}"
    ".card .v{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums}"
    ".card .t{font-size:13px;font-weight:400;color:#5b6876}"
    ".card.hl{border-color:#7fb3ea;background:#f3f8fe}"
    ".reason{margin:0 0 14px;color:#2b3a4a}"
    ".panel{background:#fff;border:1px solid #dde3ea;border-radius:8px;"
    "padding:12px 18px 6px;margin:0 0 14px}"
    ".panel .sub{font-size:12.5px}"
    ".legend{display:flex;flex-wrap:wrap;gap:6px 20px;font-size:13px;margin:6px 0 0}"
    ".sw{display:inline-block;width:22px;height:0;border-top:3px solid;"
    "vertical-align:middle;margin-right:6px;border-radius:2px}"
    ".sw.a{border-color:var(--blue)}.sw.p{border-color:var(--green)}"
    ".sw.b{height:10px;border:0;background:rgba(19,161,80,.16)}"
    ".sw.n{border-top:2px dashed #d9603b;width:16px}"
    ".plot{overflow-x:auto}"
    "svg{display:block;width:100%;min-width:760px;height:auto;margin:4px 0}"
    "svg text{font-family:inherit}"
    "svg path{fill:none}"
    ".grid{stroke:#e8ecf1}.gridx{stroke:#cfd6de}.axis{stroke:#8a96a3}"
    ".yt{font-size:11px;fill:#5b6876;text-anchor:end}"
    ".xt{font-size:10px;fill:#8a96a3;text-anchor:middle}"
    ".xd{font-size:12px;fill:#2b3a4a;text-anchor:middle;font-weight:600}"
    ".yl{font-size:12px;fill:#5b6876;text-anchor:middle}"
    ".fc{fill:#f2f6fb}"
    ".now{stroke:#d9603b;stroke-width:1.5;stroke-dasharray:5 3}"
    ".nowt{font-size:12px;fill:#d9603b;text-anchor:middle;font-weight:700}"
    ".hist{font-size:11px;fill:#8a96a3;text-anchor:end}"
    ".fct{font-size:11px;fill:#8a96a3}"
    ".actual,.pred{stroke-width:1.7;stroke-linejoin:round;stroke-linecap:round}"
    ".actual{stroke:var(--blue)}.pred{stroke:var(--green)}"
    ".band{fill:var(--green);fill-opacity:.16}"
    ".empty{font-size:20px;fill:#8a96a3;text-anchor:middle;font-weight:600}"
    ".empty2{font-size:13px;fill:#8a96a3;text-anchor:middle}"
    ".cols{display:flex;flex-wrap:wrap;gap:14px}.cols>.panel{flex:1 1 420px}"
    "table{border-collapse:collapse;width:100%;margin:6px 0 8px;font-size:13.5px}"
    "th{text-align:left;font-weight:500;color:#5b6876;width:44%;padding:4px 8px 4px 0}"
    "td{padding:4px 0;font-variant-numeric:tabular-nums}"
    "tr+tr>*{border-top:1px solid #eef1f4}"
    "ul{margin:4px 0 10px;padding-left:18px}"
    "code{font:12.5px ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;"
    "background:#f1f3f6;padding:1px 5px;border-radius:4px}"
    "footer{color:#8a96a3;font-size:12px;margin-top:4px}";

static void page_head(struct ahpa_buf *b, const struct ahpa_report_input *in)
{
    ahpa_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                     "<title>AHPA prediction observer: ");
    ahpa_report__escape(b, in->namespace_);
    ahpa_buf_putc(b, '/');
    ahpa_report__escape(b, in->name);
    ahpa_buf_printf(b, "</title>\n<style>%s</style></head>\n<body><main>\n", page_css);
}

static void when_label(char out[96], const struct ahpa_report_input *in, int64_t t)
{
    char d[32], h[16];
    struct ahpa_civil c;
    ahpa_civil_from_unix(t + in->tz_offset_s, &c);
    ahpa_report__date_label(d, t, in->tz_offset_s);
    ahpa_report__hour_label(h, t, in->tz_offset_s);
    snprintf(out, 96, "%s %d %s", d, c.year, h);
}

static void page_header(struct ahpa_buf *b, const struct ahpa_report_input *in)
{
    char when[96];
    when_label(when, in, in->now_s);
    ahpa_buf_puts(b, "<header><h1>");
    ahpa_report__escape(b, in->name);
    ahpa_buf_puts(b, " <span class=\"ns\">in ");
    ahpa_report__escape(b, in->namespace_);
    ahpa_buf_puts(b, "</span></h1><p class=\"sub\">Advanced Horizontal Pod Autoscaler for <b>");
    ahpa_report__escape(b, in->target_ref);
    ahpa_buf_puts(b, "</b> &middot; strategy <span class=\"badge\">");
    ahpa_report__escape(b, in->strategy);
    ahpa_buf_puts(b, "</span> &middot; as of ");
    ahpa_report__escape(b, when);
    ahpa_buf_putc(b, ' ');
    ahpa_report__escape(b, tz_label(in));
    ahpa_buf_puts(b, "</p></header>\n");
}

static void card(struct ahpa_buf *b, const char *key, int value, int highlight)
{
    ahpa_buf_printf(b, "<div class=\"card%s\"><div class=\"k\">%s</div><div class=\"v\">",
                    highlight ? " hl" : "", key);
    if (value >= 0)
        ahpa_buf_printf(b, "%d", value);
    else
        ahpa_buf_puts(b, "&ndash;");
    ahpa_buf_puts(b, "</div></div>");
}

static void page_plan(struct ahpa_buf *b, const struct ahpa_report_input *in)
{
    ahpa_buf_puts(b, "<div class=\"cards\">");
    card(b, "Current pods", in->current_replicas, 0);
    ahpa_buf_puts(b, "<div class=\"card\"><div class=\"k\">Current GPU</div><div class=\"v\">");
    if (isfinite(in->current_utilization))
        ahpa_buf_printf(b, "%.0f%%", in->current_utilization);
    else
        ahpa_buf_puts(b, "&ndash;");
    if (isfinite(in->target_utilization))
        ahpa_buf_printf(b, "<span class=\"t\"> / target %.4g%%</span>", in->target_utilization);
    ahpa_buf_puts(b, "</div></div>");
    card(b, "Proactive", in->proactive, 0);
    card(b, "Reactive", in->reactive, 0);
    card(b, "Desired pods", in->desired, 1);
    ahpa_buf_puts(b, "</div>\n<p class=\"reason\"><b>Plan:</b> ");
    ahpa_report__escape(b, in->plan_reason != NULL ? in->plan_reason : "none yet");
    ahpa_buf_puts(b, "</p>\n");
}

static void legend_item(struct ahpa_buf *b, const char *cls, const char *label)
{
    ahpa_buf_printf(b, "<span><span class=\"sw %s\"></span>", cls);
    ahpa_report__escape(b, label);
    ahpa_buf_puts(b, "</span>");
}

static void chart_panel(struct ahpa_buf *b, const struct ahpa_report__chart *c)
{
    ahpa_buf_puts(b, "<section class=\"panel\"><h2>");
    ahpa_report__escape(b, c->title);
    ahpa_buf_puts(b, "</h2><p class=\"sub\">");
    ahpa_report__escape(b, c->subtitle);
    ahpa_buf_puts(b, "</p><div class=\"legend\">");
    legend_item(b, "a", c->actual_label);
    legend_item(b, "p", c->pred_label);
    if (c->band_label != NULL)
        legend_item(b, "b", c->band_label);
    legend_item(b, "n", "now");
    ahpa_buf_puts(b, "</div>\n<div class=\"plot\">");
    ahpa_report__chart_svg(b, c);
    ahpa_buf_puts(b, "</div></section>\n");
}

static void chart_common(struct ahpa_report__chart *c, const struct ahpa_report_input *in,
                         int64_t t0, int64_t t1)
{
    c->t0 = t0;
    c->t1 = t1;
    c->now_s = in->now_s;
    c->tz_offset_s = in->tz_offset_s;
    c->tz_label = tz_label(in);
}

/* The largest finite value with from < t <= to; NaN when there is none. */
static double series_max(const int64_t *t, const double *v, size_t n, int64_t from,
                         int64_t to)
{
    double m = NAN;
    for (size_t i = 0; i < n; i++)
        if (t[i] > from && t[i] <= to && isfinite(v[i]) && !(v[i] <= m))
            m = v[i];
    return m;
}

/* Appends " <label> <value><unit>." when the value is known. */
static void stat_part(char *out, size_t cap, const char *label, double v, const char *unit)
{
    size_t len = strlen(out);
    if (isfinite(v) && len < cap)
        snprintf(out + len, cap - len, " %s %.0f%s.", label, v, unit);
}

static void gpu_panel(struct ahpa_buf *b, const struct ahpa_report_input *in, int64_t t0,
                      int64_t t1, const char *hist)
{
    char sub[640], band[64];
    snprintf(sub, sizeof(sub),
             "GPU utilisation summed over the pods (100%% = one GPU fully busy): the last %s "
             "and the next 24 h. Times in %s.", hist, tz_label(in));
    stat_part(sub, sizeof(sub), "Peak measured",
              series_max(in->actual_t, in->actual, in->n_actual, t0 - 1, in->now_s), "%");
    stat_part(sub, sizeof(sub), "Forecast peak, next 24 h",
              series_max(in->pred_t, in->pred_point, in->n_pred, in->now_s, t1), "%");
    if (isfinite(in->quantile))
        snprintf(band, sizeof(band), "Upper quantile p%.3g", in->quantile * 100);
    else
        snprintf(band, sizeof(band), "Upper quantile");
    struct ahpa_report__chart gpu = {
        .title = "Predict GPU Resource Observer", .subtitle = sub,
        .y_label = "GPU usage (%)", .actual_label = "Actual GPU usage",
        .pred_label = "Predicted GPU usage",
        .band_label = in->pred_upper != NULL && in->n_pred > 0 ? band : NULL,
        .actual = {in->actual_t, in->actual, in->n_actual},
        .pred = {in->pred_t, in->pred_point, in->n_pred},
        .upper = {in->pred_t, in->pred_upper, in->pred_upper != NULL ? in->n_pred : 0},
    };
    chart_common(&gpu, in, t0, t1);
    chart_panel(b, &gpu);
}

static void pods_panel(struct ahpa_buf *b, const struct ahpa_report_input *in, int64_t t0,
                       int64_t t1, const char *hist)
{
    char sub[640];
    snprintf(sub, sizeof(sub), "Replicas of the scale target: actual, and as planned from the "
             "forecast, stabilised (scale-up at once, scale-down after the stabilisation "
             "window; the last %s and the next 24 h). Times in %s.", hist, tz_label(in));
    stat_part(sub, sizeof(sub), "Most pods measured",
              series_max(in->pods_actual_t, in->pods_actual, in->n_pods_actual, t0 - 1,
                         in->now_s), "");
    stat_part(sub, sizeof(sub), "Most pods planned, next 24 h",
              series_max(in->pods_pred_t, in->pods_pred, in->n_pods_pred, in->now_s, t1), "");
    struct ahpa_report__chart pods = {
        .title = "Predict POD Observer", .subtitle = sub, .y_label = "Pods",
        .actual_label = "Actual pods", .pred_label = "Predicted pods",
        .actual = {in->pods_actual_t, in->pods_actual, in->n_pods_actual},
        .pred = {in->pods_pred_t, in->pods_pred, in->n_pods_pred},
        .integer_values = 1,
    };
    chart_common(&pods, in, t0, t1);
    chart_panel(b, &pods);
}

static void page_charts(struct ahpa_buf *b, const struct ahpa_report_input *in)
{
    int64_t t0, t1;
    char hist[48];
    time_range(in, &t0, &t1);
    fmt_duration(hist, in->now_s - t0);
    gpu_panel(b, in, t0, t1, hist);
    pods_panel(b, in, t0, t1, hist);
}

static void row_text(struct ahpa_buf *b, const char *key, const char *value)
{
    ahpa_buf_printf(b, "<tr><th>%s</th><td>", key);
    ahpa_report__escape(b, value);
    ahpa_buf_puts(b, "</td></tr>");
}

static void row_num(struct ahpa_buf *b, const char *key, double v, const char *unit)
{
    char tmp[64];
    if (isfinite(v))
        snprintf(tmp, sizeof(tmp), "%.4g%s", v, unit);
    else
        snprintf(tmp, sizeof(tmp), "-");
    row_text(b, key, tmp);
}

static void page_settings(struct ahpa_buf *b, const struct ahpa_report_input *in)
{
    char tmp[64];
    ahpa_buf_puts(b, "<div class=\"cols\"><section class=\"panel\"><h2>Settings</h2><table>");
    row_text(b, "Name", in->name);
    row_text(b, "Namespace", in->namespace_);
    row_text(b, "Scale target", in->target_ref);
    row_text(b, "Strategy", in->strategy);
    row_text(b, "Metric", in->metric);
    row_num(b, "Target utilisation", in->target_utilization, " % per pod");
    row_num(b, "Prediction quantile", in->quantile, "");
    fmt_duration(tmp, in->scale_up_forward_s);
    row_text(b, "Scale-up forward", tmp);
    snprintf(tmp, sizeof(tmp), "%d / %d", in->min_replicas, in->max_replicas);
    row_text(b, "Min / max replicas", tmp);
    ahpa_buf_puts(b, "</table><h3>Instance bounds</h3>");
    if (in->n_bounds == 0)
        ahpa_buf_puts(b, "<p class=\"sub\">None: min / max replicas apply at all times.</p>");
    else
        ahpa_buf_puts(b, "<ul>");
    for (size_t i = 0; i < in->n_bounds; i++) {
        ahpa_buf_puts(b, "<li><code>");
        ahpa_report__escape(b, in->bounds_text[i]);
        ahpa_buf_puts(b, "</code></li>");
    }
    if (in->n_bounds > 0)
        ahpa_buf_puts(b, "</ul>");
    ahpa_buf_puts(b, "</section>\n");
}

static void page_forecast(struct ahpa_buf *b, const struct ahpa_report_input *in)
{
    ahpa_buf_puts(b, "<section class=\"panel\"><h2>Forecast</h2><table>");
    row_text(b, "Model", in->model_summary);
    row_num(b, "Coverage, recent", in->coverage_recent * 100, " % of samples under the band");
    row_num(b, "Pinball loss, recent", in->pinball_recent, "");
    row_text(b, "Horizon", "24 h, drawn after the now line");
    row_text(b, "Time zone", tz_label(in));
    ahpa_buf_puts(b, "</table><p class=\"sub\">Blue is measured, green is predicted. "
                     "Before the now line the green curve is the forecast as it was made one "
                     "scale-up lead earlier; green above blue means the forecast "
                     "capacity was sufficient.</p></section></div>\n");
}

int ahpa_report_render(const struct ahpa_report_input *in, struct ahpa_buf *out,
                       struct ahpa_error *err)
{
    if (in == NULL || out == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "report: NULL %s", in == NULL ? "input" : "output");
    if (in->now_s < -TIME_LIMIT_S || in->now_s > TIME_LIMIT_S)
        return ahpa_error_set(err, AHPA_EINVAL, "report: now out of range");
    int rc = check_input(in, err);
    if (rc != 0)
        return rc;
    char when[96];
    when_label(when, in, in->now_s);
    page_head(out, in);
    page_header(out, in);
    page_plan(out, in);
    page_charts(out, in);
    page_settings(out, in);
    page_forecast(out, in);
    ahpa_buf_puts(out, "<footer>predictionsobserver page of ahpa-metrics-adapter, rendered for ");
    ahpa_report__escape(out, when);
    ahpa_buf_putc(out, ' ');
    ahpa_report__escape(out, tz_label(in));
    ahpa_buf_puts(out, ". Self-contained: no scripts, no network.</footer>\n</main></body></html>\n");
    return 0;
}
