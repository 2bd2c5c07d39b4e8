/* Baselines for evaluation: seasonal naive, additive Holt-Winters, Crane's
 * maxValue. Written for clarity over speed; they keep all their history. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/baseline.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/series.h"

/* Crane's default margin on the maxValue estimate. */
#define MAXVALUE_MARGIN 0.15
/* Cycles maxValue looks back over (Crane keeps up to a week). */
#define MAXVALUE_CYCLES 7

struct hw_state {
    double alpha, beta, gamma;
    double level, trend;
    double *season;     /* period values */
    double sigma;       /* RMSE of one-step errors */
};

struct ahpa_baseline {
    enum ahpa_baseline_kind kind;
    size_t period;
    double *hist;
    size_t n, cap;
    int fitted;
    double *resid;      /* sorted residuals (snaive) or standardised (hw) */
    size_t nresid;
    size_t hw_period;   /* period Holt-Winters runs with */
    struct hw_state hw;
};

const char *ahpa_baseline_name(enum ahpa_baseline_kind k)
{
    switch (k) {
    case AHPA_BASELINE_SNAIVE: return "snaive";
    case AHPA_BASELINE_HOLTWINTERS: return "holtwinters";
    case AHPA_BASELINE_MAXVALUE: return "maxvalue";
    }
    return "?";
}

struct ahpa_baseline *ahpa_baseline_new(enum ahpa_baseline_kind kind,
                                        size_t period_steps)
{
    struct ahpa_baseline *b = ahpa_calloc(1, sizeof(*b));
    b->kind = kind;
    b->period = period_steps ? period_steps : 1;
    return b;
}

void ahpa_baseline_free(struct ahpa_baseline *b)
{
    if (!b)
        return;
    free(b->hist);
    free(b->resid);
    free(b->hw.season);
    free(b);
}

static void push(struct ahpa_baseline *b, double v)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 1024;
        b->hist = ahpa_reallocarray(b->hist, b->cap, sizeof(double));
    }
    b->hist[b->n++] = v;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double sorted_q(const double *s, size_t n, double q)
{
    if (!n)
        return 0.0;
    double pos = q * (double)(n - 1);
    size_t k = (size_t)pos;
    return k + 1 < n ? s[k] + (pos - (double)k) * (s[k + 1] - s[k]) : s[n - 1];
}

/* ---- seasonal naive ---- */

static void snaive_fit(struct ahpa_baseline *b)
{
    free(b->resid);
    b->resid = ahpa_malloc((b->n ? b->n : 1) * sizeof(double));
    b->nresid = 0;
    for (size_t t = b->period; t < b->n; t++)
        if (isfinite(b->hist[t]) && isfinite(b->hist[t - b->period]))
            b->resid[b->nresid++] = b->hist[t] - b->hist[t - b->period];
    qsort(b->resid, b->nresid, sizeof(double), cmp_d);
}

/* Last finite value at the phase of future step h (1-based). */
static double same_phase(const struct ahpa_baseline *b, size_t h, size_t skip)
{
    size_t back = b->period * ((h + b->period - 1) / b->period + skip);
    for (; back <= b->n - 1 + h; back += b->period) {
        double v = b->hist[b->n - 1 + h - back];
        if (isfinite(v))
            return v;
    }
    return NAN;
}

static double last_finite(const struct ahpa_baseline *b)
{
    for (size_t i = b->n; i-- > 0;)
        if (isfinite(b->hist[i]))
            return b->hist[i];
    return 0.0;
}

/* ---- Holt-Winters (additive, one-step least squares on a grid) ---- */

static void hw_init(struct hw_state *s, const double *y, size_t n, size_t p)
{
    double m1 = 0, m2 = 0;
    size_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < p && i < n; i++)
        if (isfinite(y[i])) {
            m1 += y[i];
            c1++;
        }
    for (size_t i = p; i < 2 * p && i < n; i++)
        if (isfinite(y[i])) {
            m2 += y[i];
            c2++;
        }
    m1 = c1 ? m1 / (double)c1 : 0.0;
    m2 = c2 ? m2 / (double)c2 : m1;
    s->level = m1;
    s->trend = p > 1 ? (m2 - m1) / (double)p : 0.0;
    for (size_t i = 0; i < p; i++)
        s->season[i] = (p > 1 && i < n && isfinite(y[i])) ? y[i] - m1 : 0.0;
}

/* One step; returns the one-step error (NaN when y is missing). */
static double hw_step(struct hw_state *s, size_t p, size_t t, double y)
{
    size_t i = t % p;
    double f = s->level + s->trend + s->season[i];
    if (!isfinite(y)) {
        s->level += s->trend;
        return NAN;
    }
    double l = s->alpha * (y - s->season[i]) + (1 - s->alpha) * (s->level + s->trend);
    s->trend = s->beta * (l - s->level) + (1 - s->beta) * s->trend;
    s->level = l;
    if (p > 1)
        s->season[i] = s->gamma * (y - l) + (1 - s->gamma) * s->season[i];
    return y - f;
}

static double hw_run(struct hw_state *s, const double *y, size_t n, size_t p,
                     double *err)
{
    hw_init(s, y, n, p);
    double sse = 0.0;
    for (size_t t = 0; t < n; t++) {
        double e = hw_step(s, p, t, y[t]);
        if (err)
            err[t] = e;
        if (t >= p && isfinite(e))
            sse += e * e;
    }
    return sse;
}

static void hw_fit(struct ahpa_baseline *b)
{
    static const double A[] = {0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9};
    static const double B[] = {0.0, 0.01, 0.05};
    static const double G[] = {0.05, 0.1, 0.2, 0.4};
    size_t p = b->n >= 2 * b->period ? b->period : 1;
    b->hw_period = p;
    free(b->hw.season);
    b->hw.season = ahpa_malloc(p * sizeof(double));
    double best = INFINITY, ba = 0.3, bb = 0.0, bg = 0.1;
    for (size_t i = 0; i < sizeof(A) / sizeof(A[0]); i++)
        for (size_t j = 0; j < sizeof(B) / sizeof(B[0]); j++)
            for (size_t k = 0; k < (p > 1 ? sizeof(G) / sizeof(G[0]) : 1); k++) {
                b->hw.alpha = A[i];
                b->hw.beta = B[j];
                b->hw.gamma = G[k];
                double sse = hw_run(&b->hw, b->hist, b->n, p, NULL);
                if (sse < best) {
                    best = sse;
                    ba = A[i];
                    bb = B[j];
                    bg = G[k];
                }
            }
    b->hw.alpha = ba;
    b->hw.beta = bb;
    b->hw.gamma = bg;
    free(b->resid);
    b->resid = ahpa_malloc((b->n ? b->n : 1) * sizeof(double));
    hw_run(&b->hw, b->hist, b->n, p, b->resid);
    size_t m = 0;
    double ss = 0.0;
    for (size_t t = p; t < b->n; t++)
        if (isfinite(b->resid[t])) {
            b->resid[m++] = b->resid[t];
            ss += b->resid[t] * b->resid[t];
        }
    b->hw.sigma = m ? sqrt(ss / (double)m) : 0.0;
    for (size_t i = 0; i < m; i++)
        b->resid[i] = b->hw.sigma > 0 ? b->resid[i] / b->hw.sigma : 0.0;
    b->nresid = m;
    qsort(b->resid, m, sizeof(double), cmp_d);
}

int ahpa_baseline_fit(struct ahpa_baseline *b, const double *values, size_t n,
                      struct ahpa_error *err)
{
    if (ahpa_series_count_finite(values, n) == 0)
        return ahpa_error_set(err, AHPA_ENODATA, "baseline: no finite value");
    b->n = 0;
    for (size_t i = 0; i < n; i++)
        push(b, values[i]);
    if (b->kind == AHPA_BASELINE_SNAIVE)
        snaive_fit(b);
    else if (b->kind == AHPA_BASELINE_HOLTWINTERS)
        hw_fit(b);
    b->fitted = 1;
    return 0;
}

int ahpa_baseline_update(struct ahpa_baseline *b, double value,
                         struct ahpa_error *err)
{
    if (!b->fitted)
        return ahpa_error_set(err, AHPA_EINVAL, "baseline: update before fit");
    push(b, value);
    if (b->kind == AHPA_BASELINE_HOLTWINTERS)
        hw_step(&b->hw, b->hw_period, b->n - 1, value);
    return 0;
}

static void predict_hw(const struct ahpa_baseline *b, size_t h, double q,
                       double *point, double *quant)
{
    const struct hw_state *s = &b->hw;
    size_t p = b->hw_period;
    double qe = sorted_q(b->resid, b->nresid, q), var = 1.0;
    for (size_t i = 0; i < h; i++) {
        size_t k = i + 1;
        double f = s->level + (double)k * s->trend + s->season[(b->n - 1 + k) % p];
        if (i > 0) {
            double c = s->alpha * (1 + (double)i * s->beta) +
                       ((p > 1 && i % p == 0) ? s->gamma : 0.0);
            var += c * c;
        }
        if (point)
            point[i] = f;
        if (quant)
            quant[i] = f + s->sigma * sqrt(var) * qe;
    }
}

static double maxvalue_at(const struct ahpa_baseline *b, size_t h)
{
    double mx = NAN;
    for (size_t c = 0; c < MAXVALUE_CYCLES; c++) {
        size_t back = b->period * ((h + b->period - 1) / b->period + c);
        if (back > b->n - 1 + h)
            break;
        double v = b->hist[b->n - 1 + h - back];
        if (isfinite(v) && !(v <= mx))
            mx = v;
    }
    return isfinite(mx) ? mx : last_finite(b);
}

int ahpa_baseline_predict(const struct ahpa_baseline *b, size_t horizon_steps,
                          double q, double *point, double *quant,
                          struct ahpa_error *err)
{
    if (!b || !b->fitted)
        return ahpa_error_set(err, AHPA_EINVAL, "baseline: predict before fit");
    if (!(q > 0 && q < 1))
        return ahpa_error_set(err, AHPA_EINVAL, "baseline: quantile %g not in (0, 1)", q);
    if (b->kind == AHPA_BASELINE_HOLTWINTERS) {
        predict_hw(b, horizon_steps, q, point, quant);
        return 0;
    }
    double qe = sorted_q(b->resid, b->nresid, q);
    for (size_t i = 0; i < horizon_steps; i++) {
        double f;
        if (b->kind == AHPA_BASELINE_SNAIVE) {
            f = same_phase(b, i + 1, 0);
            if (!isfinite(f))
                f = last_finite(b);
        } else {
            f = maxvalue_at(b, i + 1) * (1.0 + MAXVALUE_MARGIN);
        }
        if (point)
            point[i] = f;
        if (quant)
            quant[i] = b->kind == AHPA_BASELINE_SNAIVE ? f + qe : f;
    }
    return 0;
}
