/* The forecast model: lifecycle, fit, one-sample update, predict. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/timefmt.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/series.h"
#include "forecast_int.h"

/* Detrended autocorrelation a period needs before it is even tried. */
#define MIN_PERIOD_ACF 0.2
/* Periods tried by full calibration (the best by autocorrelation first). */
#define MAX_TRIED 3

void ahpa_forecast_options_default(struct ahpa_forecast_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->free_periods = true;
    opt->seasonal = true;
    opt->phase_scale = true;
    opt->vol_scale = true;
    opt->max_season_bins = 2048;
}

const char *ahpa_forecast_method_name(enum ahpa_forecast_method m)
{
    switch (m) {
    case AHPA_FORECAST_METHOD_LEVEL: return "level";
    case AHPA_FORECAST_METHOD_SMOOTH: return "smooth";
    case AHPA_FORECAST_METHOD_SEASONAL: return "seasonal";
    default: return "none";
    }
}

struct ahpa_forecast_model *ahpa_forecast_model_new(
    const struct ahpa_forecast_options *opt)
{
    struct ahpa_forecast_model *m = ahpa_calloc(1, sizeof(*m));
    if (opt)
        m->opt = *opt;
    else
        ahpa_forecast_options_default(&m->opt);
    if (m->opt.max_season_bins < 16)
        m->opt.max_season_bins = 16;
    if (m->opt.max_season_bins > 4096)
        m->opt.max_season_bins = 4096;
    return m;
}

void ahpa_forecast_free(struct ahpa_forecast_model *m)
{
    if (!m)
        return;
    free(m->season);
    free(m);
}

void ahpa_forecast_copy(struct ahpa_forecast_model *dst,
                        const struct ahpa_forecast_model *src)
{
    float *season = dst->season;
    *dst = *src;
    dst->season = NULL;
    if (src->season != NULL && src->nbins > 0) {
        dst->season = ahpa_reallocarray(season, src->nbins, sizeof(float));
        memcpy(dst->season, src->season, src->nbins * sizeof(float));
    } else {
        free(season);
    }
}

static void reset(struct ahpa_forecast_model *m)
{
    struct ahpa_forecast_options opt = m->opt;
    free(m->season);
    memset(m, 0, sizeof(*m));
    m->opt = opt;
}

/* ---- little-history model: recent level plus recent volatility ---- */

static void ring_push(struct ahpa_forecast_model *m, double v)
{
    m->ring[m->ring_pos] = v;
    m->ring_pos = (m->ring_pos + 1) % FC_RING;
    if (m->ring_n < FC_RING)
        m->ring_n++;
}

static double ring_at(const struct ahpa_forecast_model *m, size_t i)
{
    /* i = 0 is the oldest kept value */
    return m->ring[(m->ring_pos + FC_RING - m->ring_n + i) % FC_RING];
}

static void level_model(struct ahpa_forecast_model *m)
{
    double tmp[FC_RING];
    size_t n = m->ring_n, k = n < 5 ? n : 5;
    for (size_t i = 0; i < k; i++)
        tmp[i] = ring_at(m, n - k + i);
    double lev = ahpa_series_select_quantile(tmp, k, 0.5);
    for (int a = 0; a < FC_NALPHA; a++)
        m->level[0][a] = m->level[1][a] = lev;
    double sigma = 0.0;
    if (n >= 2) {
        for (size_t i = 0; i + 1 < n; i++)
            tmp[i] = fabs(ring_at(m, i + 1) - ring_at(m, i));
        sigma = 1.4826 * ahpa_series_select_quantile(tmp, n - 1, 0.5);
        if (!(sigma > 0.0)) {
            double s2 = 0.0;
            for (size_t i = 0; i + 1 < n; i++)
                s2 += tmp[i] * tmp[i];
            sigma = sqrt(s2 / (double)(n - 1));
        }
    }
    m->rw_sigma = sigma;
    m->resid_scale = sigma;
}

/* ---- fit ---- */

static int check_fit_args(const double *values, size_t n, int64_t step_s,
                          struct ahpa_error *err)
{
    if (!values && n)
        return ahpa_error_set(err, AHPA_EINVAL, "forecast: values is NULL");
    if (step_s < AHPA_FORECAST_MIN_STEP_S || step_s > AHPA_FORECAST_MAX_STEP_S)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "forecast: step %lld s outside [%d, %d] s",
                              (long long)step_s, AHPA_FORECAST_MIN_STEP_S,
                              AHPA_FORECAST_MAX_STEP_S);
    if (ahpa_series_count_finite(values, n) == 0)
        return ahpa_error_set(err, AHPA_ENODATA,
                              "forecast: no finite value among %zu samples", n);
    return 0;
}

/* Season, phase scale and calibration for one period (0 = none). With at
 * least three cycles the replay is out of sample: season and scale come from
 * the data before the scored part, and the season over all the data is
 * computed later, only for the period that wins (finish_period). */
static size_t replay_start(size_t n, size_t period)
{
    if (n < 3 * period)
        return n / 2;
    return n - 3 * period > 2 * period ? n - 3 * period : 2 * period;
}

static void fit_period(struct ahpa_forecast_model *m, const double *x,
                       const double *filled, size_t n, int64_t pbase,
                       size_t period, size_t s0, double *work)
{
    free(m->season);
    m->season = NULL;
    m->period = period;
    m->nbins = 0;
    m->phase = 0;
    if (!period) {
        m->scale[0] = 1.0f;
        ahpa_forecast__calibrate(m, x, n, 0, NULL, s0, 0, work);
        return;
    }
    size_t phase0 = (size_t)(((pbase % (int64_t)period) + (int64_t)period) % (int64_t)period);
    /* s0 is shared by the candidates so their gains are comparable; with
     * fewer than two cycles before it the season is taken in sample */
    int in_sample = s0 < 2 * period;
    size_t ns = in_sample ? n : s0;
    m->nbins = period < m->opt.max_season_bins ? period : m->opt.max_season_bins;
    m->season = ahpa_malloc(m->nbins * sizeof(float));
    ahpa_forecast__season(filled, ns, period, phase0, m->nbins, m->season, work);
    if (m->opt.phase_scale)
        ahpa_forecast__phase_scale(work, ns, period, phase0, m->scale, work + n);
    else
        for (int b = 0; b < FC_NSCALE; b++)
            m->scale[b] = 1.0f;
    ahpa_forecast__calibrate(m, x, n, phase0, m->season, s0, in_sample, work);
    m->season_full = in_sample;
    m->phase = (phase0 + n) % period;
}

/* The winning period's season over all the data, and the final levels. */
static void finish_period(struct ahpa_forecast_model *m, const double *x,
                          const double *filled, size_t n, int64_t pbase,
                          double *work)
{
    size_t P = m->period;
    size_t phase0 = P ? (size_t)(((pbase % (int64_t)P) + (int64_t)P) % (int64_t)P) : 0;
    if (P && !m->season_full)
        ahpa_forecast__season(filled, n, P, phase0, m->nbins, m->season, work);
    m->season_full = 1;
    ahpa_forecast__final_levels(m, x, n, phase0, work);
}

static int uses_season(const struct ahpa_forecast_model *m)
{
    for (size_t j = 0; j < m->nleads; j++)
        if (m->leads[j].seasonal)
            return 1;
    return 0;
}

/* Drops a candidate that is a multiple of a shorter one unless it is
 * clearly more autocorrelated: two days of a daily load, say. A week that
 * beats the day stays and competes out of sample, and a day always competes
 * with a shorter free cycle (its profile holds that cycle too). */
static size_t drop_multiples(struct fc_period *c, size_t nc)
{
    size_t k = 0;
    for (size_t i = 0; i < nc; i++) {
        int keep = 1;
        for (size_t j = 0; j < nc && keep; j++) {
            if (j == i || c[j].period >= c[i].period || (c[i].calendar && !c[j].calendar))
                continue;
            double r = (double)c[i].period / (double)c[j].period;
            if (fabs(r - floor(r + 0.5)) < 0.03 * r && c[i].acf < c[j].acf + 0.05)
                keep = 0;
        }
        if (keep)
            c[k++] = c[i];
    }
    return k;
}

/* Huber-style clip for analysis: a point more than 6 robust sigmas from
 * the running median of 9 around it is pulled back, so a spike moves neither
 * the period search nor the seasonal profile. Only points far from a short
 * moving average are examined (the median of 9 costs more). */
static void clip_outliers(double *x, size_t n, double *work)
{
    double *ma = work, *r = work + n, *tmp = work + 2 * n;
    ahpa_forecast__moving_avg(x, n, 9, ma);
    for (size_t i = 0; i < n; i++)
        r[i] = x[i] - ma[i];
    /* every 4th residual is plenty for a median and a MAD */
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4)
        tmp[k++] = r[i];
    double med = ahpa_forecast__select_quantile(tmp, k, 0.5);
    for (size_t i = 0; i < k; i++)
        tmp[i] = fabs(r[4 * i] - med);
    double sigma = 1.4826 * ahpa_forecast__select_quantile(tmp, k, 0.5);
    if (!(sigma > 0))
        return;
    for (size_t i = 0; i < n; i++) {
        if (fabs(r[i] - med) <= 4.0 * sigma)
            continue;
        size_t lo = i >= 4 ? i - 4 : 0, hi = i + 5 < n ? i + 5 : n;
        double w[9];
        memcpy(w, x + lo, (hi - lo) * sizeof(double));
        double m9 = ahpa_series_select_quantile(w, hi - lo, 0.5);
        if (x[i] - m9 > 6.0 * sigma)
            x[i] = m9 + 6.0 * sigma;
        else if (x[i] - m9 < -6.0 * sigma)
            x[i] = m9 - 6.0 * sigma;
    }
}

static void fit_full(struct ahpa_forecast_model *m, const double *x, size_t n,
                     int64_t pbase)
{
    double *filled = ahpa_malloc(n * sizeof(double));
    double *work = ahpa_malloc(FC_WORK_PER_SAMPLE * n * sizeof(double));
    memcpy(filled, x, n * sizeof(double));
    ahpa_series_fill_gaps(filled, n);
    clip_outliers(filled, n, work);
    struct fc_period cand[MAX_TRIED];
    size_t nc = 0;
    if (m->opt.seasonal)
        nc = ahpa_forecast__periods(filled, n, m->step_s, m->opt.free_periods,
                                    MIN_PERIOD_ACF, cand, MAX_TRIED);
    nc = drop_multiples(cand, nc);
    m->candidates = nc;
    size_t best = 0;
    double best_gain = 0.0;
    if (nc > 2)
        nc = 2; /* each try is a full calibration */
    size_t s0 = n;
    for (size_t i = 0; i < nc; i++)
        if (replay_start(n, cand[i].period) < s0)
            s0 = replay_start(n, cand[i].period);
    for (size_t i = 0; i < nc; i++) {
        fit_period(m, x, filled, n, pbase, cand[i].period, s0, work);
        /* a season fitted in sample looks better than it is */
        double gain = m->seasonal_gain - (s0 < 2 * cand[i].period ? 0.15 : 0.0);
        if (uses_season(m) && gain > best_gain) {
            best_gain = gain;
            best = i + 1;
        }
    }
    if (best && best == nc) {
        /* the last fit is the best: keep it */
    } else if (best) {
        fit_period(m, x, filled, n, pbase, cand[best - 1].period, s0, work);
    } else {
        fit_period(m, x, filled, n, pbase, 0, n / 4, work);
    }
    finish_period(m, x, filled, n, pbase, work);
    m->period_acf = best ? cand[best - 1].acf : (nc ? cand[0].acf : 0.0);
    m->method = best ? AHPA_FORECAST_METHOD_SEASONAL : AHPA_FORECAST_METHOD_SMOOTH;
    m->resid_scale = (double)m->scale[0] * (m->leads[0].q[16] - m->leads[0].q[3]) /
                     (2.0 * 1.6448536);
    free(work);
    free(filled);
}

int ahpa_forecast_fit(struct ahpa_forecast_model *m, const double *values,
                      size_t n, int64_t t0_s, int64_t step_s,
                      struct ahpa_error *err)
{
    if (!m)
        return ahpa_error_set(err, AHPA_EINVAL, "forecast: model is NULL");
    int rc = check_fit_args(values, n, step_s, err);
    if (rc)
        return rc;
    if (n > AHPA_FORECAST_MAX_HISTORY) {
        values += n - AHPA_FORECAST_MAX_HISTORY;
        t0_s += (int64_t)(n - AHPA_FORECAST_MAX_HISTORY) * step_s;
        n = AHPA_FORECAST_MAX_HISTORY;
    }
    reset(m);
    m->step_s = step_s;
    m->next_t_s = t0_s + (int64_t)n * step_s;
    m->n_seen = n;
    m->nonneg = 1;
    size_t finite = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i])) {
            m->missing_run++;
            continue;
        }
        m->missing_run = 0;
        finite++;
        if (values[i] < 0)
            m->nonneg = 0;
        if (n - i <= FC_RING)
            ring_push(m, values[i]);
    }
    if (m->ring_n == 0) /* all recent values missing: keep the last seen */
        for (size_t i = n; i-- > 0;)
            if (isfinite(values[i])) {
                ring_push(m, values[i]);
                break;
            }
    if ((int64_t)finite * step_s < 3600 || finite < 12) {
        m->method = AHPA_FORECAST_METHOD_LEVEL;
        level_model(m);
        return 0;
    }
    fit_full(m, values, n, ahpa_floor_div(t0_s, step_s));
    return 0;
}
