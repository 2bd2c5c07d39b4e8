/* Calibration by replay: the incremental model is run over the history
 * exactly as update() would run it, and its own out-of-sample errors at each
 * lead time choose the level gain and the season on/off per lead, and give
 * the error quantiles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/mem.h"
#include "forecast_int.h"

const double ahpa_forecast__alpha[FC_NALPHA] = {0.02, 0.06, 0.15, 0.3, 0.6, 1.0};
const double ahpa_forecast__grid[FC_NGRID] = {
    0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75,
    0.8, 0.85, 0.9, 0.925, 0.95, 0.96, 0.97, 0.975, 0.98, 0.99, 0.995};

/* Minimum errors behind a lead bucket's quantiles. */
#define MIN_ERRORS 30

static size_t setup_leads(struct ahpa_forecast_model *m)
{
    size_t hmax = (size_t)(AHPA_FORECAST_MAX_HORIZON_S / m->step_s);
    size_t k = 0;
    for (size_t h = 1; h < hmax && k + 1 < FC_MAXLEADS;) {
        m->leads[k++].lead = (uint32_t)h;
        /* 1 2 3 4 6 8 12 16 24 ...: powers of two and 1.5 times them */
        size_t p = 1;
        while (p * 2 <= h)
            p *= 2;
        h = (h == p && h >= 2) ? p + p / 2 : (h < 2 ? h + 1 : 2 * p);
    }
    m->leads[k++].lead = (uint32_t)hmax;
    m->nleads = k;
    return k;
}

struct replay {
    double *lev[2][FC_NALPHA]; /* level after sample t, per kind and gain */
    size_t n;
};

static double season_r(const struct ahpa_forecast_model *m, const float *s,
                       size_t phase)
{
    if (!m->period || !s)
        return 0.0;
    return (double)s[(phase % m->period) * m->nbins / m->period];
}

static void run_levels(const struct ahpa_forecast_model *m, const double *x,
                       size_t n, size_t phase0, const float *season,
                       struct replay *rp)
{
    double lev[2][FC_NALPHA];
    int init = 0;
    for (size_t t = 0; t < n; t++) {
        if (isfinite(x[t])) {
            double d[2] = {x[t] - season_r(m, season, phase0 + t), x[t]};
            for (int k = 0; k < 2; k++)
                for (int a = 0; a < FC_NALPHA; a++)
                    lev[k][a] = init ? lev[k][a] + ahpa_forecast__alpha[a] * (d[k] - lev[k][a])
                                     : d[k];
            init = 1;
        }
        for (int k = 0; k < 2; k++)
            for (int a = 0; a < FC_NALPHA; a++)
                rp->lev[k][a][t] = init ? lev[k][a] : NAN;
    }
}

/* Error of option (kind, a) for target t from origin t - h, normalised. */
static double norm_err(const struct ahpa_forecast_model *m, const struct replay *rp,
                       const double *x, const float *season, size_t phase0,
                       size_t t, size_t h, int kind, int a)
{
    double lev = rp->lev[kind][a][t - h];
    double f = lev + (kind == 0 ? season_r(m, season, phase0 + t) : 0.0);
    return (x[t] - f) / fc_scale_at(m, (phase0 + t) % (m->period ? m->period : 1));
}

static size_t lead_stride(size_t h)
{
    return h / 48 + 1;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fill_quantiles(struct fc_lead *L, double *e, size_t ne)
{
    qsort(e, ne, sizeof(double), cmp_d);
    for (int g = 0; g < FC_NGRID; g++) {
        double pos = ahpa_forecast__grid[g] * (double)(ne - 1);
        size_t k = (size_t)pos;
        double fr = pos - (double)k;
        double v = k + 1 < ne ? e[k] + fr * (e[k + 1] - e[k]) : e[ne - 1];
        L->q[g] = (float)v;
    }
    L->nerr = (uint32_t)ne;
}

/* Chooses the option of one bucket and fills its quantiles; returns the
 * best seasonal and non-seasonal mean absolute errors through mae. */
static void calibrate_lead(struct ahpa_forecast_model *m, struct fc_lead *L,
                           const struct replay *rp, const double *x, size_t n,
                           const float *season, size_t phase0, size_t s0,
                           double margin, double *mae, double *e)
{
    size_t h = L->lead, st = lead_stride(h), t0 = s0 > h ? s0 : h;
    double best[2] = {INFINITY, INFINITY};
    int best_a[2] = {0, 0};
    for (int kind = 0; kind < 2; kind++) {
        if (kind == 0 && !m->period)
            continue;
        for (int a = 0; a < FC_NALPHA; a++) {
            double s = 0.0;
            size_t c = 0;
            for (size_t t = t0; t < n; t += st) {
                if (!isfinite(x[t]) || !isfinite(rp->lev[kind][a][t - h]))
                    continue;
                s += fabs(norm_err(m, rp, x, season, phase0, t, h, kind, a));
                c++;
            }
            double v = c ? s / (double)c : INFINITY;
            if (v < best[kind]) {
                best[kind] = v;
                best_a[kind] = a;
            }
        }
    }
    mae[0] = best[0];
    mae[1] = best[1];
    int kind = (m->period && best[0] < (1.0 - margin) * best[1]) ? 0 : 1;
    L->seasonal = kind == 0;
    L->alpha_idx = (uint8_t)best_a[kind];
    size_t ne = 0;
    for (size_t t = t0; t < n; t += st)
        if (isfinite(x[t]) && isfinite(rp->lev[kind][best_a[kind]][t - h]))
            e[ne++] = norm_err(m, rp, x, season, phase0, t, h, kind, best_a[kind]);
    if (ne >= MIN_ERRORS)
        fill_quantiles(L, e, ne);
    else
        L->nerr = 0;
}

/* Buckets without enough errors borrow the previous bucket's quantiles,
 * widened like a random walk; the first one falls back to a normal. */
static void fill_missing(struct ahpa_forecast_model *m)
{
    for (size_t j = 0; j < m->nleads; j++) {
        struct fc_lead *L = &m->leads[j];
        if (L->nerr)
            continue;
        if (j == 0) {
            for (int g = 0; g < FC_NGRID; g++)
                L->q[g] = (float)ahpa_forecast_norm_quantile(ahpa_forecast__grid[g]);
            continue;
        }
        const struct fc_lead *P = &m->leads[j - 1];
        double f = sqrt((double)L->lead / (double)P->lead);
        for (int g = 0; g < FC_NGRID; g++)
            L->q[g] = (float)(P->q[g] * f);
        L->alpha_idx = P->alpha_idx;
        L->seasonal = P->seasonal;
    }
}

int ahpa_forecast__calibrate(struct ahpa_forecast_model *m, const double *x,
                             const double *filled, size_t n, size_t phase0,
                             const float *season_replay, size_t s0,
                             double *work)
{
    (void)filled;
    struct replay rp = {.n = n};
    double *store = ahpa_malloc((size_t)2 * FC_NALPHA * n * sizeof(double));
    for (int k = 0; k < 2; k++)
        for (int a = 0; a < FC_NALPHA; a++)
            rp.lev[k][a] = store + ((size_t)k * FC_NALPHA + (size_t)a) * n;
    run_levels(m, x, n, phase0, season_replay, &rp);
    setup_leads(m);
    /* In-sample seasons (s0 inside the fitted cycles) need a larger gain
     * before the season is trusted. */
    double margin = season_replay == m->season ? 0.15 : 0.03;
    double sum[2] = {0, 0};
    size_t calib = 0;
    for (size_t j = 0; j < m->nleads; j++) {
        double mae[2];
        calibrate_lead(m, &m->leads[j], &rp, x, n, season_replay, phase0, s0,
                       margin, mae, work);
        if (isfinite(mae[0]) && isfinite(mae[1])) {
            sum[0] += mae[0];
            sum[1] += mae[1];
        }
        calib += m->leads[j].nerr;
    }
    fill_missing(m);
    m->seasonal_gain = sum[1] > 0 ? 1.0 - sum[0] / sum[1] : 0.0;
    m->calib_samples = calib;
    /* Final levels with the final season. */
    run_levels(m, x, n, phase0, m->period ? m->season : NULL, &rp);
    for (int k = 0; k < 2; k++)
        for (int a = 0; a < FC_NALPHA; a++)
            m->level[k][a] = rp.lev[k][a][n - 1];
    free(store);
    return 0;
}
