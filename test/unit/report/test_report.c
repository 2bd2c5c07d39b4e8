/* Unit tests for lib/report: the whole page, checked for its structure,
 * escaping, size, determinism, time labels, NaN gaps, spikes and the empty
 * state. The drawing internals are tested in test_report_path.c. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/report.h"
#include "test_report.h"
#include "unit.h"

#define NOW_S 1795852800 /* 2026-11-28T08:00:00Z, a Saturday */
#define DAY_S 86400

/* A week of history at 1-minute steps and 24 h more of forecast. */
struct sample {
    size_t nh, np;
    int64_t *t;        /* np timestamps; the first nh are the history */
    double *act, *pods, *pred, *upper, *ppods;
};

static void sample_init(struct sample *s)
{
    s->nh = 7 * 1440;
    s->np = 8 * 1440;
    s->t = malloc(s->np * sizeof(*s->t));
    s->act = malloc(s->np * sizeof(double));
    s->pods = malloc(s->np * sizeof(double));
    s->pred = malloc(s->np * sizeof(double));
    s->upper = malloc(s->np * sizeof(double));
    s->ppods = malloc(s->np * sizeof(double));
    for (size_t i = 0; i < s->np; i++) {
        s->t[i] = NOW_S - 7 * DAY_S + (int64_t)i * 60;
        double hour = (double)(s->t[i] % DAY_S) / 3600;
        s->act[i] = 40 + 150 * exp(-pow((hour - 13) / 3, 2)) + (double)(i % 7);
        s->pods[i] = ceil(s->act[i] / 20);
        s->pred[i] = s->act[i] * 1.03;
        s->upper[i] = s->act[i] * 1.25;
        s->ppods[i] = ceil(s->upper[i] / 20);
    }
}

static void sample_dispose(struct sample *s)
{
    free(s->t), free(s->act), free(s->pods), free(s->pred), free(s->upper), free(s->ppods);
}

static void input_from(struct ahpa_report_input *in, const struct sample *s)
{
    ahpa_report_input_init(in);
    in->name = "fib-gpu";
    in->namespace_ = "default";
    in->strategy = "observer";
    in->target_ref = "Deployment/bert-intent-detection";
    in->metric = "gpu";
    in->target_utilization = 20;
    in->quantile = 0.95;
    in->scale_up_forward_s = 180;
    in->min_replicas = 0;
    in->max_replicas = 100;
    in->now_s = NOW_S;
    in->actual_t = s->t, in->actual = s->act, in->n_actual = s->nh;
    in->pred_t = s->t, in->pred_point = s->pred, in->pred_upper = s->upper;
    in->n_pred = s->np;
    in->pods_actual_t = s->t, in->pods_actual = s->pods, in->n_pods_actual = s->nh;
    in->pods_pred_t = s->t, in->pods_pred = s->ppods, in->n_pods_pred = s->np;
    in->current_replicas = 4, in->proactive = 7, in->reactive = 3, in->desired = 7;
    in->plan_reason = "proactive won";
}

static char *render(const struct ahpa_report_input *in, size_t *len)
{
    struct ahpa_buf b;
    struct ahpa_error err = {0};
    ahpa_buf_init(&b);
    int rc = ahpa_report_render(in, &b, &err);
    ck_assert_msg(rc == 0, "render: %s", ahpa_error_message(&err, rc));
    return ahpa_buf_take(&b, len);
}

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The d attribute of the first <path class="cls">, copied; NULL if none. */
static char *path_d(const char *html, const char *cls)
{
    char key[64];
    snprintf(key, sizeof(key), "<path class=\"%s\" d=\"", cls);
    const char *p = strstr(html, key);
    if (p == NULL)
        return NULL;
    p += strlen(key);
    const char *e = strchr(p, '"');
    ck_assert_ptr_nonnull(e);
    char *d = malloc((size_t)(e - p) + 1);
    memcpy(d, p, (size_t)(e - p));
    d[e - p] = '\0';
    return d;
}

START_TEST(page_has_both_charts)
{
    struct sample s;
    sample_init(&s);
    struct ahpa_report_input in;
    input_from(&in, &s);
    size_t len;
    char *html = render(&in, &len);
    ck_assert(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    ck_assert_ptr_nonnull(strstr(html, "</html>\n"));
    ck_assert_uint_eq(count_str(html, "<h2>Predict GPU Resource Observer</h2>"), 1);
    ck_assert_uint_eq(count_str(html, "<h2>Predict POD Observer</h2>"), 1);
    ck_assert_uint_eq(count_str(html, "<svg "), 2);
    ck_assert_uint_eq(count_str(html, "</svg>"), 2);
    ck_assert_uint_eq(count_str(html, "<path class=\"actual\""), 2);
    ck_assert_uint_eq(count_str(html, "<path class=\"pred\""), 2);
    ck_assert_uint_eq(count_str(html, "<path class=\"band\""), 1);
    ck_assert_uint_eq(count_str(html, "<path class=\"now\""), 2);
    ck_assert_ptr_nonnull(strstr(html, ">GPU usage (%)</text>"));
    ck_assert_ptr_nonnull(strstr(html, ">Pods</text>"));
    ck_assert_ptr_nonnull(strstr(html, "Upper quantile p95"));
    /* At-a-glance peaks: the history peaks at 13:00 (i % 7 adds up to 6),
     * the forecast after now at 1.03 times the day's curve. */
    char want[160];
    double peak = 0, fpeak = 0, ppods = 0;
    for (size_t i = 0; i < s.np; i++) {
        if (s.t[i] <= NOW_S)
            peak = fmax(peak, s.act[i]);
        else
            fpeak = fmax(fpeak, s.pred[i]), ppods = fmax(ppods, s.ppods[i]);
    }
    snprintf(want, sizeof(want), "Peak measured %.0f%%. Forecast peak, next 24 h %.0f%%.",
             peak, fpeak);
    ck_assert_msg(strstr(html, want) != NULL, "missing: %s", want);
    snprintf(want, sizeof(want), "Most pods planned, next 24 h %.0f.", ppods);
    ck_assert_msg(strstr(html, want) != NULL, "missing: %s", want);
    /* Settings and plan. */
    ck_assert_ptr_nonnull(strstr(html, "<th>Scale-up forward</th><td>180 s (3 min)</td>"));
    ck_assert_ptr_nonnull(strstr(html, "<th>Prediction quantile</th><td>0.95</td>"));
    ck_assert_ptr_nonnull(strstr(html, "<th>Min / max replicas</th><td>0 / 100</td>"));
    ck_assert_ptr_nonnull(strstr(html, "Desired pods</div><div class=\"v\">7</div>"));
    ck_assert_ptr_nonnull(strstr(html, "Reactive</div><div class=\"v\">3</div>"));
    /* Self-contained: nothing fetched, nothing run. */
    ck_assert_ptr_null(strstr(html, "http://"));
    ck_assert_ptr_null(strstr(html, "https://"));
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_null(strstr(html, "url("));
    ck_assert_ptr_null(strstr(html, "@import"));
    ck_assert_ptr_null(strstr(html, " src="));
    ck_assert_ptr_null(strstr(html, " href="));
    ck_assert_uint_eq(strlen(html), len);
    free(html);
    sample_dispose(&s);
}
END_TEST

START_TEST(week_at_one_minute_is_small)
{
    struct sample s;
    sample_init(&s);
    struct ahpa_report_input in;
    input_from(&in, &s);
    size_t len;
    char *html = render(&in, &len);
    ck_assert_msg(len < 200 * 1024, "page is %zu bytes", len);
    /* Decimated, not dropped: each GPU line has about two points per
     * column of its time span (1116 columns over 8 days). */
    char *d = path_d(html, "actual");
    size_t points = (count_str(d, " ") + 1) / 2;
    ck_assert_msg(points > 900 && points <= 2 * 1116, "actual has %zu points", points);
    free(d);
    free(html);

    /* The worst case: noise everywhere (a min and a max in every column)
     * and every other sample missing in every series. */
    uint64_t rng = 7;
    for (size_t i = 0; i < s.np; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        double r = (double)(rng >> 11) / (double)(1ULL << 53) * 1000;
        double x = i % 2 ? NAN : r;
        s.act[i] = s.pred[i] = s.pods[i] = s.ppods[i] = x;
        s.upper[i] = x * 1.5;
    }
    html = render(&in, &len);
    ck_assert_msg(len < 200 * 1024, "worst-case page is %zu bytes", len);
    free(html);
    sample_dispose(&s);
}
END_TEST

START_TEST(render_is_deterministic)
{
    struct sample s;
    sample_init(&s);
    struct ahpa_report_input in;
    input_from(&in, &s);
    size_t len1, len2;
    char *a = render(&in, &len1);
    char *b = render(&in, &len2);
    ck_assert_uint_eq(len1, len2);
    ck_assert(memcmp(a, b, len1) == 0);
    free(a);
    free(b);
    sample_dispose(&s);
}
END_TEST

START_TEST(hostile_text_is_escaped)
{
    static const char *const bounds[] = {"<b onclick='x'>&", "* 9-15 ? * MON-FRI: 10..50"};
    struct ahpa_report_input in;
    ahpa_report_input_init(&in);
    in.name = "<script>alert(1)</script>";
    in.namespace_ = "ns\"><img src=x onerror=alert(2)>";
    in.strategy = "a&b";
    in.target_ref = "Deployment/'quoted'";
    in.metric = "<gpu>";
    in.plan_reason = "</p><iframe>";
    in.model_summary = "<svg onload=x>";
    in.timezone_label = "<tz>";
    in.bounds_text = bounds;
    in.n_bounds = 2;
    in.now_s = NOW_S;
    size_t len;
    char *html = render(&in, &len);
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_null(strstr(html, "<img"));
    ck_assert_ptr_null(strstr(html, "<iframe"));
    ck_assert_ptr_null(strstr(html, "<b onclick"));
    ck_assert_ptr_null(strstr(html, "<gpu>"));
    ck_assert_ptr_null(strstr(html, "<tz>"));
    ck_assert_uint_eq(count_str(html, "<svg "), 2);
    ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "ns&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "<code>&lt;b onclick=&#39;x&#39;&gt;&amp;</code>"));
    ck_assert_ptr_nonnull(strstr(html, "<code>* 9-15 ? * MON-FRI: 10..50</code>"));
    ck_assert_ptr_nonnull(strstr(html, "Deployment/&#39;quoted&#39;"));
    ck_assert_ptr_nonnull(strstr(html, "a&amp;b"));
    free(html);
}
END_TEST

START_TEST(empty_input_says_no_data)
{
    struct ahpa_report_input in;
    ahpa_report_input_init(&in);
    in.name = "fresh";
    in.now_s = NOW_S;
    size_t len;
    char *html = render(&in, &len);
    ck_assert_uint_eq(count_str(html, "<svg "), 2);
    ck_assert_uint_eq(count_str(html, ">No data yet</text>"), 2);
    ck_assert_ptr_null(strstr(html, "class=\"actual\" d="));
    ck_assert_ptr_null(strstr(html, "class=\"pred\" d="));
    ck_assert_ptr_nonnull(strstr(html, "Predict GPU Resource Observer"));
    ck_assert_ptr_nonnull(strstr(html, "Predict POD Observer"));
    /* Unknown plan values are dashes, not zeros. */
    ck_assert_ptr_nonnull(strstr(html, "Desired pods</div><div class=\"v\">&ndash;</div>"));
    free(html);
}
END_TEST

START_TEST(history_without_forecast_says_so)
{
    struct sample s;
    sample_init(&s);
    struct ahpa_report_input in;
    input_from(&in, &s);
    in.n_pred = 0;
    in.n_pods_pred = 0;
    size_t len;
    char *html = render(&in, &len);
    ck_assert_uint_eq(count_str(html, "No forecast yet"), 2);
    ck_assert_uint_eq(count_str(html, "<path class=\"actual\""), 2);
    ck_assert_ptr_null(strstr(html, "No data yet"));
    ck_assert_ptr_null(strstr(html, "<path class=\"band\""));
    free(html);
    sample_dispose(&s);
}
END_TEST

/* A NaN hour in the history splits the blue line into two segments. */
START_TEST(nan_gap_breaks_the_line)
{
    struct sample s;
    sample_init(&s);
    for (size_t i = 3000; i < 3060; i++)
        s.act[i] = NAN;
    struct ahpa_report_input in;
    input_from(&in, &s);
    size_t len;
    char *html = render(&in, &len);
    char *d = path_d(html, "actual");
    ck_assert_uint_eq(count_str(d, "M"), 2);
    free(d);
    d = path_d(html, "pred");
    ck_assert_uint_eq(count_str(d, "M"), 1);
    free(d);
    free(html);
    /* Missing samples (an hour absent, no NaN) break it too. */
    int64_t *t = malloc(s.nh * sizeof(*t));
    double *v = malloc(s.nh * sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; i < s.nh; i++) {
        if (i >= 3000 && i < 3060)
            continue;
        t[n] = s.t[i];
        v[n++] = 100;
    }
    in.actual_t = t, in.actual = v, in.n_actual = n;
    html = render(&in, &len);
    d = path_d(html, "actual");
    ck_assert_uint_eq(count_str(d, "M"), 2);
    free(d);
    free(html);
    free(t);
    free(v);
    sample_dispose(&s);
}
END_TEST

/* Parses "M x y x y ..." and returns the smallest and largest y. */
static void path_y_extent(const char *d, double *ymin, double *ymax)
{
    *ymin = INFINITY;
    *ymax = -INFINITY;
    const char *p = d;
    int idx = 0;
    while (*p) {
        if (*p == 'M' || *p == ' ') {
            p++;
            continue;
        }
        char *end;
        double v = strtod(p, &end);
        ck_assert_ptr_ne(end, p);
        if (idx++ % 2 == 1) {
            *ymin = fmin(*ymin, v);
            *ymax = fmax(*ymax, v);
        }
        p = end;
    }
}

/* A one-minute spike to 20 times the flat level among 10,080 samples keeps
 * its height: measured from the value axis (y of 0), the spike's pixel
 * height is 20 times the flat line's. */
START_TEST(spike_survives_downsampling)
{
    struct sample s;
    sample_init(&s);
    for (size_t i = 0; i < s.nh; i++)
        s.act[i] = 50;
    s.act[4321] = 1000;
    struct ahpa_report_input in;
    input_from(&in, &s);
    in.n_pred = 0;
    in.n_pods_pred = 0;
    size_t len;
    char *html = render(&in, &len);
    const char *axis = strstr(html, "<path class=\"axis\" d=\"M");
    ck_assert_ptr_nonnull(axis);
    double x0, ybase;
    ck_assert_int_eq(sscanf(axis + strlen("<path class=\"axis\" d=\"M"), "%lf %lf", &x0,
                            &ybase), 2);
    char *d = path_d(html, "actual");
    double ymin, ymax;
    path_y_extent(d, &ymin, &ymax);
    /* Coordinates are printed to 0.1 units: the ratio is good to ~0.5%. */
    AHPA_ASSERT_NEAR((ybase - ymin) / (ybase - ymax), 20.0, 0.1);
    free(d);
    free(html);
    sample_dispose(&s);
}
END_TEST

START_TEST(time_axis_labels_known_days)
{
    struct sample s;
    sample_init(&s);
    struct ahpa_report_input in;
    input_from(&in, &s);
    size_t len;
    char *html = render(&in, &len);
    /* History from Sat 21 Nov 08:00 to the forecast's end, Sun 29 Nov 08:00:
     * the full days 22..28 and the 16 h left of the 21st are labelled, the
     * 8 h of the 29th are too narrow. */
    const char *days[] = {"Sat 21 Nov", "Sun 22 Nov", "Mon 23 Nov", "Tue 24 Nov",
                          "Wed 25 Nov", "Thu 26 Nov", "Fri 27 Nov", "Sat 28 Nov"};
    for (size_t i = 0; i < 8; i++) {
        char key[48];
        snprintf(key, sizeof(key), "\">%s</text>", days[i]);
        ck_assert_msg(count_str(html, key) == 2, "%s labelled %zu times", days[i],
                      count_str(html, key));
    }
    ck_assert_ptr_null(strstr(html, "Sun 29 Nov</text>"));
    ck_assert_uint_eq(count_str(html, ">12:00</text>"), 2 * 8);
    ck_assert_ptr_nonnull(strstr(html, "as of Sat 28 Nov 2026 08:00 UTC"));
    free(html);

    /* A zone nine hours ahead moves the calendar: now is 17:00 local. */
    in.tz_offset_s = 9 * 3600;
    in.timezone_label = "Asia/Tokyo";
    html = render(&in, &len);
    ck_assert_ptr_nonnull(strstr(html, "as of Sat 28 Nov 2026 17:00 Asia/Tokyo"));
    ck_assert_uint_eq(count_str(html, "\">Sun 29 Nov</text>"), 2);
    free(html);
    sample_dispose(&s);
}
END_TEST

/* A stray sample at the epoch stretches the axis over 57 years: the page
 * stays small, with about ten ticks. */
START_TEST(ancient_timestamp_keeps_axis_sane)
{
    int64_t t[] = {0, NOW_S - 60, NOW_S};
    double v[] = {1, 2, 3};
    struct ahpa_report_input in;
    ahpa_report_input_init(&in);
    in.now_s = NOW_S;
    in.actual_t = t, in.actual = v, in.n_actual = 3;
    size_t len;
    char *html = render(&in, &len);
    ck_assert_msg(len < 40 * 1024, "page is %zu bytes", len);
    size_t ticks = count_str(html, "class=\"gridx\"");
    ck_assert_msg(ticks >= 2 * 8 && ticks <= 2 * 11, "%zu major ticks", ticks);
    free(html);
}
END_TEST

static uint64_t lcg(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

/* Anything a broken upstream could send: NaN, infinities, negatives,
 * absurd magnitudes, repeated timestamps and jumps. */
static double wild_value(uint64_t *rng)
{
    switch (lcg(rng) % 8) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return -(double)(lcg(rng) % 1000);
    case 4: return lcg(rng) % 2 ? 1e300 : DBL_MAX;
    case 5: return lcg(rng) % 2 ? 1e-300 : -DBL_MAX;
    default: return (double)(lcg(rng) % 5000) / 10;
    }
}

static void wild_series(uint64_t *rng, int64_t *t, double *v, size_t n, int64_t start)
{
    int64_t now = start;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = lcg(rng) % 10;
        now += r == 0 ? 0 : r == 1 ? (int64_t)(lcg(rng) % 200000) : 60;
        t[i] = now;
        v[i] = wild_value(rng);
    }
}

/* Every path's data holds only moves, coordinates and closes: no "nan",
 * no "inf", no exponent. */
static void assert_paths_clean(const char *html)
{
    for (const char *p = strstr(html, " d=\""); p != NULL; p = strstr(p + 1, " d=\"")) {
        const char *q = p + 4;
        size_t n = strspn(q, "0123456789.- MhvZ");
        ck_assert_msg(q[n] == '"', "bad path data near: %.40s", q + n);
    }
}

START_TEST(wild_inputs_render_cleanly)
{
    uint64_t rng = 2026;
    enum { N = 400 };
    int64_t t[5][N];
    double v[6][N];
    for (int round = 0; round < 60; round++) {
        size_t n[5];
        int64_t start = NOW_S - (int64_t)(lcg(&rng) % (9 * DAY_S));
        for (int k = 0; k < 5; k++) {
            n[k] = lcg(&rng) % N;
            wild_series(&rng, t[k], v[k], n[k], start);
        }
        for (size_t i = 0; i < N; i++)
            v[5][i] = wild_value(&rng);
        struct ahpa_report_input in;
        ahpa_report_input_init(&in);
        in.now_s = NOW_S + (int64_t)(lcg(&rng) % DAY_S) - DAY_S / 2;
        in.tz_offset_s = (int32_t)(lcg(&rng) % (26 * 3600)) - 12 * 3600;
        in.actual_t = t[0], in.actual = v[0], in.n_actual = n[0];
        in.pred_t = t[1], in.pred_point = v[1], in.pred_upper = v[5], in.n_pred = n[1];
        in.pods_actual_t = t[2], in.pods_actual = v[2], in.n_pods_actual = n[2];
        in.pods_pred_t = t[3], in.pods_pred = v[3], in.n_pods_pred = n[3];
        in.quantile = wild_value(&rng);
        in.target_utilization = wild_value(&rng);
        in.current_utilization = wild_value(&rng);
        in.coverage_recent = wild_value(&rng);
        size_t len;
        char *html = render(&in, &len);
        ck_assert_uint_eq(count_str(html, "<svg "), 2);
        ck_assert_uint_eq(count_str(html, "</svg>"), 2);
        ck_assert_msg(len < 200 * 1024, "round %d: %zu bytes", round, len);
        assert_paths_clean(html);
        free(html);
    }
}
END_TEST

START_TEST(bad_input_is_rejected)
{
    struct sample s;
    sample_init(&s);
    struct ahpa_report_input in;
    input_from(&in, &s);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_report_render(NULL, &b, &err), -AHPA_EINVAL);
    ck_assert_int_eq(ahpa_report_render(&in, NULL, NULL), -AHPA_EINVAL);
    s.t[100] = s.t[99] - 1;
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_report_render(&in, &b, &err), -AHPA_EINVAL);
    ck_assert_str_eq(err.msg, "report: actual time decreases at index 100");
    ck_assert_uint_eq(b.len, 0);
    s.t[100] = s.t[99] + 60;
    in.pods_pred = NULL;
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_report_render(&in, &b, &err), -AHPA_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "pods_pred is NULL"));
    ck_assert_uint_eq(b.len, 0);
    in.pods_pred = s.ppods;
    s.t[s.np - 1] = INT64_MAX;
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_report_render(&in, &b, &err), -AHPA_EINVAL);
    ck_assert_str_eq(err.msg, "report: pred_point time out of range");
    s.t[s.np - 1] = s.t[s.np - 2] + 60;
    in.now_s = INT64_MIN;
    ck_assert_int_eq(ahpa_report_render(&in, &b, NULL), -AHPA_EINVAL);
    ck_assert_uint_eq(b.len, 0);
    ahpa_buf_dispose(&b);
    sample_dispose(&s);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("page");
    tcase_add_test(tc, page_has_both_charts);
    tcase_add_test(tc, week_at_one_minute_is_small);
    tcase_add_test(tc, render_is_deterministic);
    tcase_add_test(tc, hostile_text_is_escaped);
    tcase_add_test(tc, empty_input_says_no_data);
    tcase_add_test(tc, history_without_forecast_says_so);
    tcase_add_test(tc, nan_gap_breaks_the_line);
    tcase_add_test(tc, spike_survives_downsampling);
    tcase_add_test(tc, time_axis_labels_known_days);
    tcase_add_test(tc, ancient_timestamp_keeps_axis_sane);
    tcase_add_test(tc, wild_inputs_render_cleanly);
    tcase_add_test(tc, bad_input_is_rejected);
    suite_add_tcase(s, tc);
    ahpa_report_test_path(s);
    return s;
}
