/* One-sample update, prediction and description of a fitted model. */
#include <math.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/series.h"
#include "forecast_int.h"

/* Seasonal profile gain per cycle in update(): the profile forgets with a
 * memory of about ten cycles, like the median over the fitted cycles. */
#define SEASON_GAIN_PER_CYCLE 0.1
/* Level whose gain drives the seasonal update (0.15). */
#define SEASON_LEVEL_IDX 2

static void update_ring_model(struct ahpa_forecast_model *m, double v);

int ahpa_forecast_update(struct ahpa_forecast_model *m, double value,
                         struct ahpa_error *err)
{
    if (!m || m->method == AHPA_FORECAST_METHOD_NONE)
        return ahpa_error_set(err, AHPA_EINVAL, "forecast: update before fit");
    if (isinf(value))
        return ahpa_error_set(err, AHPA_EINVAL, "forecast: infinite sample");
    m->n_seen++;
    m->next_t_s += m->step_s;
    /* after a gap as long as the recent window the raw levels restart at
     * the first value, as the fit's replay does (calib.c run_levels) */
    int raw_restart = m->missing_run >= fc_recent_steps(m->step_s);
    m->missing_run = isnan(value) ? m->missing_run + 1 : 0;
    if (!isnan(value)) {
        if (value < 0)
            m->nonneg = 0;
        if (m->method == AHPA_FORECAST_METHOD_LEVEL) {
            update_ring_model(m, value);
        } else {
            double s = fc_season_at(m, m->phase);
            if (m->vol_gain > 0) {
                double d = value - s;
                if (m->have_prev)
                    m->vol += m->vol_gain * (fabs(d - m->prev_d) / fc_scale_at(m, m->phase) - m->vol);
                m->prev_d = d;
                m->have_prev = 1;
            }
            for (int a = 0; a < FC_NALPHA; a++) {
                double al = ahpa_forecast__alpha[a];
                m->level[0][a] += al * (value - s - m->level[0][a]);
                m->level[1][a] = raw_restart ? value
                                             : m->level[1][a] + al * (value - m->level[1][a]);
            }
            if (m->period && m->season) {
                size_t b = m->phase * m->nbins / m->period;
                double g = SEASON_GAIN_PER_CYCLE * (double)m->nbins / (double)m->period;
                double target = value - m->level[0][SEASON_LEVEL_IDX];
                m->season[b] = (float)(m->season[b] + g * (target - m->season[b]));
            }
        }
    }
    if (m->period)
        m->phase = (m->phase + 1) % m->period;
    return 0;
}

/* ---- little-history model (mirrors model.c's level_model) ---- */

static void update_ring_model(struct ahpa_forecast_model *m, double v)
{
    m->ring[m->ring_pos] = v;
    m->ring_pos = (m->ring_pos + 1) % FC_RING;
    if (m->ring_n < FC_RING)
        m->ring_n++;
    double tmp[FC_RING];
    size_t n = m->ring_n, k = n < 5 ? n : 5;
    for (size_t i = 0; i < k; i++)
        tmp[i] = m->ring[(m->ring_pos + FC_RING - k + i) % FC_RING];
    double lev = ahpa_series_select_quantile(tmp, k, 0.5);
    for (int a = 0; a < FC_NALPHA; a++)
        m->level[0][a] = m->level[1][a] = lev;
    if (n < 2)
        return;
    for (size_t i = 0; i + 1 < n; i++) {
        size_t i0 = (m->ring_pos + FC_RING - n + i) % FC_RING;
        tmp[i] = fabs(m->ring[(i0 + 1) % FC_RING] - m->ring[i0]);
    }
    double sigma = 1.4826 * ahpa_series_select_quantile(tmp, n - 1, 0.5);
    if (!(sigma > 0.0)) {
        double s2 = 0.0;
        for (size_t i = 0; i + 1 < n; i++)
            s2 += tmp[i] * tmp[i];
        sigma = sqrt(s2 / (double)(n - 1));
    }
    m->rw_sigma = sigma;
    m->resid_scale = sigma;
}

/* Normalised error quantile of one bucket at probability q. */
static double grid_q(const struct fc_lead *L, double q)
{
    const double *g = ahpa_forecast__grid;
    if (q <= g[0])
        return L->q[0];
    if (q >= g[FC_NGRID - 1])
        return L->q[FC_NGRID - 1];
    int i = 0;
    while (g[i + 1] < q)
        i++;
    double f = (q - g[i]) / (g[i + 1] - g[i]);
    return L->q[i] + f * (L->q[i + 1] - L->q[i]);
}

/* Point of bucket L's model for a target at phase ph. */
static double lead_point(const struct ahpa_forecast_model *m, const struct fc_lead *L,
                         size_t ph)
{
    return L->seasonal ? fc_lead_base(L, m->level[0]) + fc_season_at(m, ph)
                       : fc_lead_base(L, m->level[1]);
}

/* Bucket at or below `lead` and the log-lead weight towards the next,
 * searched from bucket j (the leads are asked in increasing order). */
static size_t lead_bucket_from(const struct ahpa_forecast_model *m, size_t j, size_t lead,
                               double *w)
{
    while (j + 1 < m->nleads && m->leads[j + 1].lead <= lead)
        j++;
    *w = 0.0;
    if (j + 1 < m->nleads && m->leads[j].lead < lead)
        *w = log((double)lead / m->leads[j].lead) /
             log((double)m->leads[j + 1].lead / m->leads[j].lead);
    return j;
}

static void predict_calibrated(const struct ahpa_forecast_model *m, size_t h,
                               double q, double *point, double *quant)
{
    /* each bucket's median and q-quantile, read once, as the leads reach
     * the bucket (a short horizon reads a few) */
    double gmed[FC_MAXLEADS], gq[FC_MAXLEADS];
    size_t nread = 0;
    const double unit = fc_vol_unit(m->vol, m->vol_mean, m->vol_gain);
    size_t j = 0;
    for (size_t i = 0; i < h; i++) {
        double w;
        j = lead_bucket_from(m, j, i + 1, &w);
        size_t jn = w > 0 ? j + 1 : j;
        for (; nread <= jn; nread++) {
            gmed[nread] = grid_q(&m->leads[nread], 0.5);
            gq[nread] = grid_q(&m->leads[nread], q);
        }
        const struct fc_lead *L = &m->leads[j];
        const struct fc_lead *N = &m->leads[jn];
        size_t ph = m->period ? (m->phase + i) % m->period : 0;
        /* between buckets of the same kind the point moves smoothly from
         * one model to the next (a local trend keeps extrapolating); a
         * level-only bucket next to a seasonal one is not blended in */
        double base = lead_point(m, L, ph);
        if (w > 0 && N->seasonal == L->seasonal)
            base = (1 - w) * base + w * lead_point(m, N, ph);
        double sc = fc_scale_at(m, ph) * unit;
        double med = (1 - w) * gmed[j] + w * gmed[jn];
        double qq = (1 - w) * gq[j] + w * gq[jn];
        double p = base + sc * med, u = base + sc * qq;
        if (m->nonneg) {
            p = p < 0 ? 0 : p;
            u = u < 0 ? 0 : u;
        }
        if (point)
            point[i] = p;
        if (quant)
            quant[i] = u;
    }
}

static void predict_level(const struct ahpa_forecast_model *m, size_t h,
                          double q, double *point, double *quant)
{
    double z = ahpa_forecast_norm_quantile(q);
    size_t cap = (size_t)(3600 / m->step_s);
    for (size_t i = 0; i < h; i++) {
        double lev = m->level[1][0];
        size_t k = i + 1 < cap ? i + 1 : cap;
        double u = lev + z * m->rw_sigma * sqrt((double)k);
        if (m->nonneg) {
            lev = lev < 0 ? 0 : lev;
            u = u < 0 ? 0 : u;
        }
        if (point)
            point[i] = lev;
        if (quant)
            quant[i] = u;
    }
}

int ahpa_forecast_predict(const struct ahpa_forecast_model *m,
                          size_t horizon_steps, double q, double *point,
                          double *quant, struct ahpa_error *err)
{
    if (!m || m->method == AHPA_FORECAST_METHOD_NONE)
        return ahpa_error_set(err, AHPA_EINVAL, "forecast: predict before fit");
    if (!(q > 0.0 && q < 1.0))
        return ahpa_error_set(err, AHPA_EINVAL, "forecast: quantile %g not in (0, 1)", q);
    if (horizon_steps > (size_t)(AHPA_FORECAST_MAX_HORIZON_S / m->step_s))
        return ahpa_error_set(err, AHPA_EINVAL, "forecast: horizon of %zu steps exceeds 24 h",
                              horizon_steps);
    if (m->missing_run >= fc_recent_steps(m->step_s)) {
        for (size_t i = 0; i < horizon_steps; i++) {
            if (point)
                point[i] = NAN;
            if (quant)
                quant[i] = NAN;
        }
        return ahpa_error_set(err, AHPA_ENODATA,
                              "forecast: unknown, no sample in the last %zu steps (%lld s)",
                              m->missing_run, (long long)m->missing_run * (long long)m->step_s);
    }
    if (m->method == AHPA_FORECAST_METHOD_LEVEL)
        predict_level(m, horizon_steps, q, point, quant);
    else
        predict_calibrated(m, horizon_steps, q, point, quant);
    return 0;
}

void ahpa_forecast_describe(const struct ahpa_forecast_model *m,
                            struct ahpa_forecast_info *info)
{
    memset(info, 0, sizeof(*info));
    if (!m)
        return;
    info->method = m->method;
    info->seasonal = m->method == AHPA_FORECAST_METHOD_SEASONAL;
    info->period_steps = info->seasonal ? m->period : 0;
    info->period_s = (int64_t)info->period_steps * m->step_s;
    info->period_acf = m->period_acf;
    info->seasonal_gain = m->seasonal_gain;
    info->candidates = m->candidates;
    info->history_steps = m->n_seen;
    info->step_s = m->step_s;
    info->next_t_s = m->next_t_s;
    info->level = m->level[0][2];
    info->resid_scale = m->resid_scale;
    info->calib_samples = m->calib_samples;
    info->missing_steps = m->missing_run;
    info->recent = m->method != AHPA_FORECAST_METHOD_NONE &&
                   m->missing_run < fc_recent_steps(m->step_s);
    info->state_bytes = sizeof(*m) + m->nbins * sizeof(float);
}
