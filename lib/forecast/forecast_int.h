/* Internals shared by the files of lib/forecast. */
#ifndef AHPA_FORECAST_INT_H
#define AHPA_FORECAST_INT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "ahpa/forecast.h"

/* Level gains tried per lead time; update keeps one level per gain. */
#define FC_NALPHA 6
/* Probabilities of the stored error quantiles. */
#define FC_NGRID 23
/* Lead-time buckets (steps 1, 2, 3, 4, 6, 8, 12, ... up to 24 h). */
#define FC_MAXLEADS 28
/* Bins of the per-phase residual scale. */
#define FC_NSCALE 48
/* Recent raw values kept for the little-history model. */
#define FC_RING 64

extern const double ahpa_forecast__alpha[FC_NALPHA];
extern const double ahpa_forecast__grid[FC_NGRID];

/* One lead bucket: which model serves it and its error quantiles. */
struct fc_lead {
    uint32_t lead;        /* steps ahead */
    uint8_t alpha_idx;    /* index into ahpa_forecast__alpha */
    uint8_t combo;        /* w[] in use */
    float w[FC_NALPHA];   /* weights on (level[a] - level[alpha_idx]) */
    uint8_t seasonal;     /* 1: level + season, 0: level only */
    uint32_t nerr;        /* calibration errors seen */
    float q[FC_NGRID];    /* normalised error quantiles at the grid */
};

struct ahpa_forecast_model {
    struct ahpa_forecast_options opt;
    enum ahpa_forecast_method method;
    int64_t step_s;
    int64_t next_t_s;
    size_t n_seen;
    size_t missing_run;      /* trailing NaN samples (fit and update) */
    int nonneg;              /* history had no negative value */

    /* season (period 0: none) */
    size_t period;           /* steps */
    size_t nbins;            /* profile bins; bin = phase * nbins / period */
    size_t phase;            /* phase of the next sample, [0, period) */
    int season_full;         /* season estimated over all the history */
    float *season;           /* nbins, mean zero */
    float scale[FC_NSCALE];  /* per-phase scale of errors (>0) */
    double gamma;            /* seasonal update gain per sample */
    double period_acf;
    double seasonal_gain;
    size_t candidates;

    /* volatility: running mean of |deseasonalised one-step change| over the
     * phase scale; quantile offsets are in units of its square root
     * (vol_gain 0: off) */
    double vol, vol_mean, vol_gain, prev_d;
    int have_prev;

    /* levels: [0] deseasonalised, [1] raw, one per gain */
    double level[2][FC_NALPHA];

    /* little-history model */
    double ring[FC_RING];
    size_t ring_n, ring_pos;
    double rw_sigma;         /* robust sigma of one-step differences */

    size_t nleads;
    struct fc_lead leads[FC_MAXLEADS];
    double resid_scale;
    size_t calib_samples;
};

/* Period detection result. */
struct fc_period {
    size_t period;   /* steps, 0 none */
    double acf;      /* detrended autocorrelation at the period */
    int calendar;    /* 1 day or 1 week */
};

/* Candidate periods of x (filled, no NaN), best first; returns how many
 * (<= max) were found with a detrended autocorrelation >= min_acf. Uses
 * FFTW, whose planner it makes thread-safe once per process. */
size_t ahpa_forecast__periods(const double *x, size_t n, int64_t step_s,
                              int free_periods, double min_acf,
                              struct fc_period *out, size_t max);

/* Centered moving average of window w (edges use the nearest full window). */
void ahpa_forecast__moving_avg(const double *x, size_t n, size_t w,
                               double *out);

/* Robust seasonal profile of x (filled, clipped, n >= 2 * period) over
 * phases phase0 + i: writes nbins values (mean zero) to season and the
 * residuals to work[0..n); work holds 3n doubles. */
void ahpa_forecast__season(const double *x, size_t n, size_t period,
                           size_t phase0, size_t nbins, float *season,
                           double *work);

/* Per-phase robust scale of r (n values, NaN skipped) into FC_NSCALE bins;
 * floors at a fraction of the median bin. work holds n doubles. */
void ahpa_forecast__phase_scale(const double *r, size_t n, size_t period,
                                size_t phase0, float *scale, double *work);

/* Point of bucket L from levels lv (one kind, FC_NALPHA values). */
static inline double fc_lead_base(const struct fc_lead *L, const double *lv)
{
    double b = lv[L->alpha_idx];
    if (L->combo)
        for (int a = 0; a < FC_NALPHA; a++)
            b += (double)L->w[a] * (lv[a] - lv[L->alpha_idx]);
    return b;
}

/* Profile s of nb bins over a period of P steps at phase (< P): linear
 * between bin centres, circular, exact when there is one bin per step. */
static inline double fc_season_interp(const float *s, size_t nb, size_t P,
                                      size_t phase)
{
    if (nb == P)
        return (double)s[phase];
    double pos = ((double)phase + 0.5) * (double)nb / (double)P - 0.5;
    double fl = floor(pos), f = pos - fl;
    size_t a = fl < 0 ? nb - 1 : (size_t)fl, b = a + 1 == nb ? 0 : a + 1;
    return (double)s[a] + f * ((double)s[b] - (double)s[a]);
}

/* Season value at `phase` (0 when there is no period). */
static inline double fc_season_at(const struct ahpa_forecast_model *m,
                                  size_t phase)
{
    if (!m->period)
        return 0.0;
    return fc_season_interp(m->season, m->nbins, m->period, phase);
}

static inline double fc_scale_at(const struct ahpa_forecast_model *m,
                                 size_t phase)
{
    if (!m->period)
        return (double)m->scale[0];
    return (double)m->scale[phase * FC_NSCALE / m->period];
}

/* Steps of the recent window at this step (see AHPA_FORECAST_RECENT_S). */
static inline size_t fc_recent_steps(int64_t step_s)
{
    int64_t k = (AHPA_FORECAST_RECENT_S + step_s - 1) / step_s;
    return k < AHPA_FORECAST_RECENT_MIN_STEPS ? AHPA_FORECAST_RECENT_MIN_STEPS : (size_t)k;
}

/* Ascending sort of n doubles without NaN (order.c): the values of
 * ahpa_series_sort, faster on the fit's data. */
void ahpa_forecast__sort(double *a, size_t n);

/* ahpa_series_select_quantile (type 7, no NaN, reorders a), the same value,
 * faster on the fit's data (order.c). */
double ahpa_forecast__select_quantile(double *a, size_t n, double q);

/* Doubles per sample of the fit's scratch (model.c allocates it once per
 * fit): 3 for the decomposition and a lead's errors, 2 * FC_NALPHA levels
 * and the season, inverse scale and volatility of the replay. */
#define FC_WORK_PER_SAMPLE (3 + 2 * FC_NALPHA + 3)

/* Calibration replay and lead-bucket setup (calib.c); work holds
 * FC_WORK_PER_SAMPLE * n doubles. */
int ahpa_forecast__calibrate(struct ahpa_forecast_model *m, const double *x,
                             size_t n, size_t phase0, const float *season_replay,
                             size_t s0, int in_sample, double *work);

/* Band unit from the volatility: the square root of its ratio to the
 * history's mean, the ratio clamped to [1/10, 10] (so within 3.2x either way:
 * a calm stretch between jumps must not blow the band up, nor a turbulent
 * one shrink it). 1 when the tracker is off. */
static inline double fc_vol_unit(double vol, double mean, double gain)
{
    if (!(gain > 0) || !(mean > 0))
        return 1.0;
    double r = vol / mean;
    r = r < 0.1 ? 0.1 : (r > 10.0 ? 10.0 : r);
    return sqrt(r);
}

/* Volatility tracker: sets m->vol_gain and, for each t, vol[t] = the band
 * unit (fc_vol_unit) after x[t] (sea, inv: season and inverse phase scale at
 * t); sets m->vol_mean from this history unless vol is NULL (final pass);
 * leaves the end state (vol, prev_d) in m. */
void ahpa_forecast__vol_track(struct ahpa_forecast_model *m, const double *x,
                              size_t n, const double *sea, const double *inv,
                              double *vol);

/* Levels and volatility after x[0..n) with the model's season (work: 2n
 * doubles). */
void ahpa_forecast__final_levels(struct ahpa_forecast_model *m, const double *x,
                                 size_t n, size_t phase0, double *work);

#endif
