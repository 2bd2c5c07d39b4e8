/* Calibration by replay: the incremental model is run over the history
 * exactly as update() would run it, and its own out-of-sample errors at each
 * lead time choose the level gain and the season on/off per lead, and give
 * the error quantiles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/mem.h"
#include "ahpa/series.h"
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
        /* 1 2 3 4 6 8 12 16, then powers of two: fine where the planner
         * looks (minutes ahead), coarse where errors change slowly */
        size_t p = 1;
        while (p * 2 <= h)
            p *= 2;
        if (h >= 16)
            h = 2 * p;
        else
            h = (h == p && h >= 2) ? p + p / 2 : (h < 2 ? h + 1 : 2 * p);
    }
    m->leads[k++].lead = (uint32_t)hmax;
    m->nleads = k;
    return k;
}

/* Replay arrays: levels after each sample, interleaved per sample as
 * [kind][gain] so one target reads one short run of memory; the season and
 * the inverse phase scale at each index. */
#define NOPT (2 * FC_NALPHA)
/* Targets scored per lead bucket at most (more add little to a 0.95
 * quantile and cost time). */
#define MAX_TARGETS 800
/* Steps the final levels are recomputed over (20 / the slowest gain). */
#define FINAL_RUN 1000

struct replay {
    double *lev;  /* rows from index lev0 on: the earlier ones are never read */
    size_t lev0;
    double *sea;
    double *inv;
    double *vol;
};

/* The levels after sample i (i >= rp->lev0). */
static inline const double *lev_at(const struct replay *rp, size_t i)
{
    return rp->lev + (i - rp->lev0) * NOPT;
}

/* Memory of the volatility tracker: an hour, at least 20 steps. */
static double vol_gain(int64_t step_s)
{
    double steps = 3600.0 / (double)step_s;
    return 1.0 / (steps < 20 ? 20 : steps);
}

void ahpa_forecast__vol_track(struct ahpa_forecast_model *m, const double *x,
                              size_t n, const double *sea, const double *inv,
                              double *vol)
{
    double sum = 0, prev = NAN;
    size_t c = 0;
    for (size_t t = 0; t < n; t++)
        if (isfinite(x[t])) {
            double d = x[t] - sea[t];
            if (isfinite(prev)) {
                sum += fabs(d - prev) * inv[t];
                c++;
            }
            prev = d;
        }
    double mean = c ? sum / (double)c : 1.0;
    if (!(mean > 0))
        mean = 1.0;
    m->vol_gain = m->opt.vol_scale ? vol_gain(m->step_s) : 0.0;
    /* The final pass (vol == NULL) keeps the calibration's mean: the band
     * unit must mean the same thing as when the quantiles were taken. */
    if (vol)
        m->vol_mean = mean;
    else
        mean = m->vol_mean;
    double v = mean;
    prev = NAN;
    for (size_t t = 0; t < n; t++) {
        if (isfinite(x[t])) {
            double d = x[t] - sea[t];
            if (isfinite(prev))
                v += m->vol_gain * (fabs(d - prev) * inv[t] - v);
            prev = d;
        }
        if (vol)
            vol[t] = fc_vol_unit(v, mean, m->vol_gain);
    }
    m->vol = m->vol_gain > 0 ? v : 1.0;
    m->prev_d = prev;
    m->have_prev = isfinite(prev);
}

/* The levels as update() runs them: after `restart` missing samples or more,
 * the raw levels restart at the first value (the deseasonalised ones carry
 * on: the season bridges the gap). x[0] must be finite when last != NULL. */
static void run_levels(const double *x, size_t n, const double *sea, size_t restart,
                       double *lev_out, size_t first, double *last)
{
    double lev[NOPT];
    int init = 0;
    size_t missing = 0;
    for (size_t t = 0; t < n; t++) {
        if (isfinite(x[t])) {
            double d = x[t] - sea[t], v = x[t];
            if (!init) {
                for (int a = 0; a < FC_NALPHA; a++) {
                    lev[a] = d;
                    lev[FC_NALPHA + a] = v;
                }
            } else {
                for (int a = 0; a < FC_NALPHA; a++)
                    lev[a] = lev[a] + ahpa_forecast__alpha[a] * (d - lev[a]);
                if (missing < restart)
                    for (int a = 0; a < FC_NALPHA; a++)
                        lev[FC_NALPHA + a] = lev[FC_NALPHA + a] +
                                             ahpa_forecast__alpha[a] * (v - lev[FC_NALPHA + a]);
                else
                    for (int a = 0; a < FC_NALPHA; a++)
                        lev[FC_NALPHA + a] = v;
            }
            init = 1;
            missing = 0;
        } else {
            missing++;
        }
        if (lev_out && t >= first) {
            double *row = lev_out + (t - first) * NOPT;
            if (init)
                memcpy(row, lev, sizeof(lev));
            else
                for (int o = 0; o < NOPT; o++)
                    row[o] = NAN;
        }
    }
    if (last)
        memcpy(last, lev, sizeof(lev));
}

static void season_array(const struct ahpa_forecast_model *m, const float *s,
                         size_t phase0, size_t n, double *out)
{
    size_t P = m->period, ph = P ? phase0 % P : 0;
    for (size_t t = 0; t < n; t++) {
        out[t] = (P && s) ? fc_season_interp(s, m->nbins, P, ph) : 0.0;
        if (P && ++ph == P)
            ph = 0;
    }
}

/* 1 / fc_scale_at(m, phase) at each index, the division done once per
 * scale bin. */
static void inv_scale_array(const struct ahpa_forecast_model *m, size_t phase0,
                            size_t n, double *out)
{
    size_t P = m->period;
    if (!P) {
        double inv = 1.0 / (double)m->scale[0];
        for (size_t t = 0; t < n; t++)
            out[t] = inv;
        return;
    }
    double inv[FC_NSCALE];
    for (int b = 0; b < FC_NSCALE; b++)
        inv[b] = 1.0 / (double)m->scale[b];
    /* bin(ph) = ph * FC_NSCALE / P, stepped without a division: the bin
     * moves on when ph reaches the first phase of the next bin */
    size_t ph = phase0 % P, b = ph * FC_NSCALE / P;
    size_t next = ((b + 1) * P + FC_NSCALE - 1) / FC_NSCALE;
    for (size_t t = 0; t < n; t++) {
        out[t] = inv[b];
        if (++ph == P) {
            ph = 0;
            b = 0;
            next = (P + FC_NSCALE - 1) / FC_NSCALE;
        }
        while (ph >= next) {
            b++;
            next = ((b + 1) * P + FC_NSCALE - 1) / FC_NSCALE;
        }
    }
}

/* Type-7 quantiles at the grid probabilities. (A selection of just the
 * grid's order statistics was tried: slower than a sort at these sizes.) */
static void fill_quantiles(struct fc_lead *L, double *e, size_t ne)
{
    ahpa_forecast__sort(e, ne);
    for (int g = 0; g < FC_NGRID; g++) {
        double pos = ahpa_forecast__grid[g] * (double)(ne - 1);
        size_t k = (size_t)pos;
        double v = e[k];
        if (k + 1 < ne)
            v += (pos - (double)k) * (e[k + 1] - v);
        L->q[g] = (float)v;
    }
    L->nerr = (uint32_t)ne;
}

static size_t lead_stride(size_t h, size_t targets)
{
    size_t st = h / 48 + 1, cap = targets / MAX_TARGETS + 1;
    return st > cap ? st : cap;
}

static void vol_quantiles(struct fc_lead *L, const double *er, const double *vv,
                          double *z, size_t ne, int vol_on);

/* Solves the k x k system a x = b in place (Gaussian elimination with
 * partial pivoting); returns -1 when it is singular. */
static int solve(double a[FC_NALPHA][FC_NALPHA], double *b, int k)
{
    for (int c = 0; c < k; c++) {
        int p = c;
        for (int r = c + 1; r < k; r++)
            if (fabs(a[r][c]) > fabs(a[p][c]))
                p = r;
        if (!(fabs(a[p][c]) > 1e-300))
            return -1;
        for (int j = 0; j < k; j++) {
            double t = a[c][j];
            a[c][j] = a[p][j];
            a[p][j] = t;
        }
        double t = b[c];
        b[c] = b[p];
        b[p] = t;
        for (int r = c + 1; r < k; r++) {
            double f = a[r][c] / a[c][c];
            for (int j = c; j < k; j++)
                a[r][j] -= f * a[c][j];
            b[r] -= f * b[c];
        }
    }
    for (int c = k - 1; c >= 0; c--) {
        for (int j = c + 1; j < k; j++)
            b[c] -= a[c][j] * b[j];
        b[c] /= a[c][c];
    }
    return 0;
}

/* Ridge least squares of the best level's error on the differences of the
 * other levels from it, over targets [t_lo, t_hi); the differences of fast
 * and slow levels carry the local trend. */
static int fit_combo(const struct fc_lead *L, const struct replay *rp, const double *x,
                     size_t t_lo, size_t t_hi, size_t st, int kind, float *w)
{
    double a[FC_NALPHA][FC_NALPHA] = {{0}}, b[FC_NALPHA] = {0};
    size_t h = L->lead, c = 0;
    int o = L->alpha_idx;
    for (size_t t = t_lo; t < t_hi; t += st) {
        const double *lv = lev_at(rp, t - h) + kind * FC_NALPHA;
        if (!isfinite(x[t]) || !isfinite(lv[0]))
            continue;
        double iv = rp->inv[t], y = (x[t] - (kind == 0 ? rp->sea[t] : 0.0) - lv[o]) * iv, g[FC_NALPHA];
        for (int i = 0; i < FC_NALPHA; i++)
            g[i] = (lv[i] - lv[o]) * iv;
        for (int i = 0; i < FC_NALPHA; i++) {
            b[i] += g[i] * y;
            for (int j = 0; j < FC_NALPHA; j++)
                a[i][j] += g[i] * g[j];
        }
        c++;
    }
    if (c < 100)
        return -1;
    double tr = 0;
    for (int i = 0; i < FC_NALPHA; i++)
        tr += a[i][i];
    for (int i = 0; i < FC_NALPHA; i++)
        a[i][i] += 1e-3 * tr / FC_NALPHA + (i == o ? 1.0 : 0.0);
    if (solve(a, b, FC_NALPHA))
        return -1;
    for (int i = 0; i < FC_NALPHA; i++)
        w[i] = i == o ? 0.0f : (float)b[i];
    return 0;
}

static double combo_mae(const struct fc_lead *L, const struct replay *rp, const double *x,
                        size_t t_lo, size_t t_hi, size_t st, int kind)
{
    double s = 0;
    size_t c = 0;
    for (size_t t = t_lo; t < t_hi; t += st) {
        const double *lv = lev_at(rp, t - L->lead) + kind * FC_NALPHA;
        if (!isfinite(x[t]) || !isfinite(lv[0]))
            continue;
        s += fabs(x[t] - (kind == 0 ? rp->sea[t] : 0.0) - fc_lead_base(L, lv)) * rp->inv[t];
        c++;
    }
    return c ? s / (double)c : INFINITY;
}

/* Weights fitted on the first half of the scored targets are kept only if
 * they beat the single best level on the second half; they are then refitted
 * on all the targets. */
static void combine_levels(struct fc_lead *L, const struct replay *rp, const double *x,
                           size_t n, size_t t0, size_t st, int kind)
{
    if (n <= t0)
        return;
    size_t mid = t0 + (n - t0) / 2 / st * st;
    struct fc_lead T = *L;
    if (fit_combo(&T, rp, x, t0, mid, st, kind, T.w))
        return;
    T.combo = 1;
    double with = combo_mae(&T, rp, x, mid, n, st, kind);
    double without = combo_mae(L, rp, x, mid, n, st, kind);
    if (!(with < 0.98 * without))
        return;
    if (fit_combo(&T, rp, x, t0, n, st, kind, T.w))
        return;
    *L = T;
}

/* Chooses the option of one bucket and fills its quantiles; returns the
 * best seasonal and non-seasonal mean absolute errors through mae. */
static void calibrate_lead(struct ahpa_forecast_model *m, struct fc_lead *L,
                           const struct replay *rp, const double *x, size_t n,
                           size_t s0, double margin, double *mae, double *e)
{
    size_t h = L->lead, t0 = s0 > h ? s0 : h;
    size_t st = lead_stride(h, n > t0 ? n - t0 : 0);
    double sum[NOPT] = {0};
    size_t c = 0;
    for (size_t t = t0; t < n; t += st) {
        const double *lv = lev_at(rp, t - h);
        if (!isfinite(x[t]) || !isfinite(lv[0]))
            continue;
        double xs = x[t] - rp->sea[t], iv = rp->inv[t];
        for (int a = 0; a < FC_NALPHA; a++) {
            sum[a] += fabs(xs - lv[a]) * iv;
            sum[FC_NALPHA + a] += fabs(x[t] - lv[FC_NALPHA + a]) * iv;
        }
        c++;
    }
    int best[2] = {0, FC_NALPHA};
    for (int a = 1; a < FC_NALPHA; a++) {
        if (sum[a] < sum[best[0]])
            best[0] = a;
        if (sum[FC_NALPHA + a] < sum[best[1]])
            best[1] = FC_NALPHA + a;
    }
    mae[0] = c && m->period ? sum[best[0]] / (double)c : INFINITY;
    mae[1] = c ? sum[best[1]] / (double)c : INFINITY;
    int kind = (m->period && mae[0] < (1.0 - margin) * mae[1]) ? 0 : 1;
    int opt = best[kind];
    L->seasonal = kind == 0;
    L->alpha_idx = (uint8_t)(opt % FC_NALPHA);
    L->combo = 0;
    memset(L->w, 0, sizeof(L->w));
    combine_levels(L, rp, x, n, t0, st, kind);
    /* room for every target (at most n of them) in each third of e */
    size_t cap = n > t0 ? (n - t0 + st - 1) / st : 0, ne = 0;
    double *er = e, *vv = e + cap, *z = e + 2 * cap;
    for (size_t t = t0; t < n; t += st) {
        const double *lv = lev_at(rp, t - h);
        if (!isfinite(x[t]) || !isfinite(lv[0]))
            continue;
        double f = fc_lead_base(L, lv + kind * FC_NALPHA) + (kind == 0 ? rp->sea[t] : 0.0);
        er[ne] = (x[t] - f) * rp->inv[t];
        vv[ne++] = rp->vol[t - h];
    }
    if (ne < MIN_ERRORS) {
        L->nerr = 0;
        return;
    }
    vol_quantiles(L, er, vv, z, ne, m->vol_gain > 0);
}

/* Errors in units of the square root of the volatility at the origin: full
 * units overreact to calm stretches before a burst, plain units ignore
 * regime changes; the square root hedges between the two and did better
 * than either, or a per-series choice, on the development traces. */
static void vol_quantiles(struct fc_lead *L, const double *er, const double *vv,
                          double *z, size_t ne, int vol_on)
{
    for (size_t i = 0; i < ne; i++)
        z[i] = vol_on ? er[i] / vv[i] : er[i];
    fill_quantiles(L, z, ne);
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

/* A season estimated on the scored cycles too fits them better than it
 * will fit the next one: with c cycles behind each phase's estimate (a
 * mean, in effect, for small c), the in-sample error variance is
 * sigma^2 (1 - 1/c) and the next cycle's sigma^2 (1 + 1/c). The seasonal
 * leads' error quantiles are widened by the square root of the ratio
 * (1.73 for two cycles, 1.41 for three); derived, not fitted. */
static void widen_in_sample(struct ahpa_forecast_model *m, size_t n)
{
    size_t c = m->period ? n / m->period : 0;
    double f = c >= 2 ? sqrt((double)(c + 1) / (double)(c - 1)) : sqrt(3.0);
    for (size_t j = 0; j < m->nleads; j++) {
        struct fc_lead *L = &m->leads[j];
        if (!L->seasonal || !L->nerr)
            continue;
        for (int g = 0; g < FC_NGRID; g++)
            L->q[g] = (float)(L->q[g] * f);
    }
}

int ahpa_forecast__calibrate(struct ahpa_forecast_model *m, const double *x,
                             size_t n, size_t phase0, const float *season_replay,
                             size_t s0, int in_sample, double *work)
{
    /* work: 3n for the errors of a lead, then the replay arrays */
    struct replay rp;
    rp.lev = work + 3 * n;
    rp.sea = rp.lev + (size_t)NOPT * n;
    rp.inv = rp.sea + n;
    rp.vol = rp.inv + n;
    season_array(m, season_replay, phase0, n, rp.sea);
    inv_scale_array(m, phase0, n, rp.inv);
    ahpa_forecast__vol_track(m, x, n, rp.sea, rp.inv, rp.vol);
    setup_leads(m);
    /* the earliest origin a lead scores from: t0 - h, t0 = max(s0, h) */
    rp.lev0 = n;
    for (size_t j = 0; j < m->nleads; j++) {
        size_t h = m->leads[j].lead, o = (s0 > h ? s0 : h) - h;
        if (o < rp.lev0)
            rp.lev0 = o;
    }
    run_levels(x, n, rp.sea, fc_recent_steps(m->step_s), rp.lev, rp.lev0, NULL);
    /* An in-sample season (the scored part inside the fitted cycles) must
     * win by more before it is trusted. */
    double margin = in_sample ? 0.15 : 0.03;
    double sum[2] = {0, 0};
    size_t calib = 0;
    for (size_t j = 0; j < m->nleads; j++) {
        double mae[2];
        calibrate_lead(m, &m->leads[j], &rp, x, n, s0, margin, mae, work);
        if (isfinite(mae[0]) && isfinite(mae[1])) {
            sum[0] += mae[0];
            sum[1] += mae[1];
        }
        calib += m->leads[j].nerr;
    }
    if (in_sample)
        widen_in_sample(m, n);
    fill_missing(m);
    m->seasonal_gain = sum[1] > 0 ? 1.0 - sum[0] / sum[1] : 0.0;
    m->calib_samples = calib;
    return 0;
}

void ahpa_forecast__final_levels(struct ahpa_forecast_model *m, const double *x,
                                 size_t n, size_t phase0, double *work)
{
    /* The slowest level forgets in about 1/0.02 steps: rerunning the last
     * FINAL_RUN steps with the final season is as good as the whole. */
    /* ...ending at the last finite sample (fit saw one): a trailing outage
     * longer than FINAL_RUN would otherwise leave the levels unset */
    double last[NOPT];
    size_t end = n;
    while (end > 0 && !isfinite(x[end - 1]))
        end--;
    size_t from = end > FINAL_RUN ? end - FINAL_RUN : 0;
    while (!isfinite(x[from]))
        from++;
    season_array(m, m->period ? m->season : NULL, phase0, n, work);
    run_levels(x + from, end - from, work + from, fc_recent_steps(m->step_s), NULL, 0, last);
    inv_scale_array(m, phase0, n, work + n);
    ahpa_forecast__vol_track(m, x, n, work, work + n, NULL);
    for (int a = 0; a < FC_NALPHA; a++) {
        m->level[0][a] = last[a];
        m->level[1][a] = last[FC_NALPHA + a];
    }
}
