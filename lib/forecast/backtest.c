/* Accuracy metrics and the capacity simulation used by ahpa-backtest. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/backtest.h"
#include "ahpa/mem.h"

double ahpa_backtest_pinball(double y, double f, double q)
{
    double d = y - f;
    return d >= 0 ? q * d : (q - 1.0) * d;
}

double ahpa_backtest_mae_scale(const double *y, size_t n, size_t lag)
{
    double s = 0.0;
    size_t c = 0;
    for (size_t t = lag; t < n && lag > 0; t++)
        if (isfinite(y[t]) && isfinite(y[t - lag])) {
            s += fabs(y[t] - y[t - lag]);
            c++;
        }
    return c ? s / (double)c : NAN;
}

void ahpa_backtest_score(const double *y, const double *point,
                         const double *quant, size_t n, double q,
                         double scale_seasonal, double scale_naive,
                         struct ahpa_backtest_accuracy *out)
{
    double pin = 0, cov = 0, mae = 0, smape = 0, sum_y = 0;
    size_t c = 0;
    for (size_t t = 0; t < n; t++) {
        if (!isfinite(y[t]) || !isfinite(point[t]) || !isfinite(quant[t]))
            continue;
        pin += ahpa_backtest_pinball(y[t], quant[t], q);
        cov += y[t] <= quant[t] ? 1.0 : 0.0;
        double e = fabs(y[t] - point[t]), den = fabs(y[t]) + fabs(point[t]);
        mae += e;
        smape += den > 0 ? 2.0 * e / den : 0.0;
        sum_y += y[t];
        c++;
    }
    memset(out, 0, sizeof(*out));
    out->n = c;
    if (!c) {
        out->pinball = out->pinball_scaled = out->coverage = NAN;
        out->mase_seasonal = out->mase_naive = out->smape = NAN;
        return;
    }
    double cn = (double)c;
    out->pinball = pin / cn;
    out->pinball_scaled = sum_y != 0 ? out->pinball / (sum_y / cn) : NAN;
    out->coverage = cov / cn;
    out->smape = smape / cn;
    out->mase_seasonal = scale_seasonal > 0 ? mae / cn / scale_seasonal : NAN;
    out->mase_naive = scale_naive > 0 ? mae / cn / scale_naive : NAN;
}

void ahpa_backtest_sim_default(struct ahpa_backtest_sim *s)
{
    memset(s, 0, sizeof(*s));
    s->target = 1.0;
    s->step_s = 60;
    s->startup_s = 180;
    s->tolerance = 0.1;
    s->stabilize_s = 300;
    s->min_replicas = 1;
}

static int64_t clamp_pods(const struct ahpa_backtest_sim *s, int64_t p)
{
    if (p < s->min_replicas)
        p = s->min_replicas;
    if (s->max_replicas > 0 && p > s->max_replicas)
        p = s->max_replicas;
    return p;
}

int64_t ahpa_backtest_pods(const struct ahpa_backtest_sim *s, double load)
{
    if (!isfinite(load) || load <= 0)
        return clamp_pods(s, 0);
    double p = ceil(load / s->target - 1e-9);
    if (p > 1e15)
        p = 1e15;
    return clamp_pods(s, (int64_t)p);
}

void ahpa_backtest_needed(const struct ahpa_backtest_sim *s, const double *y,
                          size_t n, int64_t *needed)
{
    for (size_t t = 0; t < n; t++)
        needed[t] = isfinite(y[t]) ? ahpa_backtest_pods(s, y[t]) : -1;
}

void ahpa_backtest_reactive(const struct ahpa_backtest_sim *s, const double *y,
                            size_t n, int64_t initial, int64_t *desired)
{
    size_t win = (size_t)(s->stabilize_s / s->step_s) + 1;
    int64_t *rec = ahpa_malloc((n ? n : 1) * sizeof(*rec));
    int64_t cur = clamp_pods(s, initial);
    for (size_t t = 0; t < n; t++) {
        int64_t r = cur;
        if (isfinite(y[t])) {
            double ratio = cur > 0 ? y[t] / ((double)cur * s->target) : INFINITY;
            if (!(fabs(ratio - 1.0) <= s->tolerance))
                r = ahpa_backtest_pods(s, y[t]);
        }
        rec[t] = r;
        /* highest recommendation of the stabilisation window */
        int64_t d = r;
        for (size_t k = 1; k < win && k <= t; k++)
            if (rec[t - k] > d)
                d = rec[t - k];
        desired[t] = d;
        cur = d;
    }
    free(rec);
}

void ahpa_backtest_simulate(const struct ahpa_backtest_sim *s,
                            const int64_t *desired, const int64_t *needed,
                            size_t n, int64_t *ready,
                            struct ahpa_backtest_capacity *out)
{
    size_t k = (size_t)((s->startup_s + s->step_s - 1) / s->step_s);
    double step_min = (double)s->step_s / 60.0;
    memset(out, 0, sizeof(*out));
    size_t actions = 0;
    for (size_t t = 0; t < n; t++) {
        int64_t r = desired[t];
        for (size_t j = 1; j <= k && j <= t; j++)
            if (desired[t - j] < r)
                r = desired[t - j];
        if (ready)
            ready[t] = r;
        if (t > 0 && desired[t] != desired[t - 1])
            actions++;
        if (needed[t] < 0)
            continue;
        out->steps++;
        out->pod_hours += (double)r * (double)s->step_s / 3600.0;
        if (r < needed[t]) {
            out->under_minutes += step_min;
            out->under_depth += (double)(needed[t] - r) * step_min;
        }
    }
    double days = (double)n * (double)s->step_s / 86400.0;
    out->actions_per_day = days > 0 ? (double)actions / days : 0.0;
}
