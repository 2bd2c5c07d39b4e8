/* Forecasting engine: quantile forecasts of one workload's load.
 *
 * Pure C: no I/O, clock, logging or global state of its own (FFTW's planner
 * is made thread-safe once per process, see below); deterministic (the same
 * inputs give bit-identical outputs); the memory of a model is bounded
 * (ahpa_forecast_info.state_bytes: 4.7 KiB plus 4 bytes per seasonal bin, at
 * most 12.9 KiB with the defaults),
 * whatever the history length.
 *
 * Method (see lib/forecast/README.md for the reasons):
 *  1. gaps filled for analysis only, outliers clipped by a Huber-style rule;
 *  2. period detection: calendar candidates (1 day, 1 week) plus the highest
 *     peaks of the autocorrelation (computed with FFTW), each screened by the
 *     autocorrelation of the series detrended over one period, then accepted
 *     only if it beats the non-seasonal model out of sample (the
 *     significance test that keeps noise from being taken for a period);
 *  3. robust decomposition: trend by a moving average over one period,
 *     seasonal profile by the median of each phase over the cycles, one
 *     clipping pass and a re-estimate, and a per-phase residual scale;
 *  4. level by exponential smoothing of the deseasonalised series with a
 *     gain (or a ridge combination of gains, i.e. a local trend) chosen per
 *     lead time;
 *  5. quantiles calibrated per lead time from the model's own out-of-sample
 *     errors on the last part of the history (replayed exactly as the
 *     incremental updates would run), normalised by the per-phase scale and
 *     the square root of a running volatility.
 * With less than one hour of history the model is "recent level plus recent
 * volatility" (random-walk quantiles).
 *
 * Missing data: NaN samples (an exporter outage, a workload at 0 replicas)
 * are skipped by every step above. When the recent window holds no finite
 * sample at all (see AHPA_FORECAST_RECENT_S), the forecast is unknown:
 * ahpa_forecast_predict fails with -AHPA_ENODATA instead of extrapolating a
 * level that is no longer observed, until update brings a finite sample.
 *
 * Thread safety: a model is not shared between threads without a lock; fit,
 * update, predict and describe are reentrant on distinct models, from any
 * thread. fit uses FFTW plans (FFTW_ESTIMATE), made once per process and
 * transform length and kept (executed on each fit's own arrays); the module
 * makes FFTW's planner thread-safe once per process
 * (fftw_make_planner_thread_safe) before its first plan, so fits may run
 * concurrently. Other code in the process that plans with FFTW before the
 * first fit must serialise its own planning until then, and must not call
 * fftw_cleanup() (it would free the kept plans). */
#ifndef AHPA_FORECAST_H
#define AHPA_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ahpa_error;

#define AHPA_FORECAST_MIN_STEP_S 15
#define AHPA_FORECAST_MAX_STEP_S 3600
#define AHPA_FORECAST_MAX_HORIZON_S (24 * 3600)
/* Longest history fit reads: older samples are ignored. */
#define AHPA_FORECAST_MAX_HISTORY 200000u
/* The recent window: the last max(AHPA_FORECAST_RECENT_MIN_STEPS,
 * ceil(AHPA_FORECAST_RECENT_S / step_s)) steps before info.next_t_s (15
 * samples at 60 s steps, 2 at hourly steps). When none of its samples is
 * finite the model no longer sees the load and predict answers
 * -AHPA_ENODATA; one finite sample (from fit or update) makes it known
 * again. */
#define AHPA_FORECAST_RECENT_S 900
#define AHPA_FORECAST_RECENT_MIN_STEPS 2

struct ahpa_forecast_options {
    /* Periods searched besides 1 day and 1 week (from autocorrelation
     * peaks). Default true. */
    bool free_periods;
    /* Allow periods at all; false forces the non-seasonal model. */
    bool seasonal;
    /* Normalise errors by a per-phase scale (heteroscedastic quantiles).
     * Default true. */
    bool phase_scale;
    /* Express errors in units of the square root of the recent volatility
     * (running mean of the deseasonalised one-step change over about an
     * hour), so the band widens in turbulent stretches and narrows in calm
     * ones. Default true. */
    bool vol_scale;
    /* Seasonal profile resolution cap (bins per period), 16..4096; the
     * memory of a model grows with it. Default 2048. */
    size_t max_season_bins;
};

/* Fills `opt` with the defaults. */
void ahpa_forecast_options_default(struct ahpa_forecast_options *opt);

enum ahpa_forecast_method {
    AHPA_FORECAST_METHOD_NONE = 0,  /* not fitted */
    AHPA_FORECAST_METHOD_LEVEL,     /* < 1 h of history: level + volatility */
    AHPA_FORECAST_METHOD_SMOOTH,    /* level + calibrated errors, no period */
    AHPA_FORECAST_METHOD_SEASONAL   /* period + level + calibrated errors */
};

/* "none", "level", "smooth", "seasonal". */
const char *ahpa_forecast_method_name(enum ahpa_forecast_method m);

struct ahpa_forecast_info {
    enum ahpa_forecast_method method;
    bool seasonal;          /* a period is used for some lead times */
    size_t period_steps;    /* 0 when none was accepted */
    int64_t period_s;       /* period_steps * step_s */
    double period_acf;      /* autocorrelation at the period, detrended */
    double seasonal_gain;   /* 1 - MAE(seasonal)/MAE(non-seasonal), out of
                               sample, over all lead times; <= 0 rejected */
    size_t candidates;      /* periods tested */
    size_t history_steps;   /* samples given to fit plus updates since */
    int64_t step_s;
    int64_t next_t_s;       /* time of the next sample update expects */
    double level;           /* current deseasonalised level (short lead) */
    double resid_scale;     /* robust scale of the one-step error */
    size_t calib_samples;   /* out-of-sample errors behind the quantiles */
    size_t missing_steps;   /* trailing missing samples (NaN) before next_t_s */
    bool recent;            /* a finite sample in the recent window: false
                               means predict answers -AHPA_ENODATA */
    size_t state_bytes;     /* memory held by the model */
};

struct ahpa_forecast_model;

/* New unfitted model. `opt` is copied; NULL means the defaults. Caller
 * frees with ahpa_forecast_free. Never NULL (aborts on OOM). */
struct ahpa_forecast_model *ahpa_forecast_model_new(
    const struct ahpa_forecast_options *opt);

/* Frees the model; NULL is a no-op. */
void ahpa_forecast_free(struct ahpa_forecast_model *m);

/* Makes dst an exact copy of src (options, fit and everything fed since):
 * both then give the same bits for the same updates. One allocation of the
 * seasonal profile at most; dst's previous state is replaced. dst != src. */
void ahpa_forecast_copy(struct ahpa_forecast_model *dst,
                        const struct ahpa_forecast_model *src);

/* Fits the model to values[i] at t0_s + i * step_s (NaN and infinities are
 * missing samples), replacing
 * any previous state. `values` is borrowed for the call only; the last
 * AHPA_FORECAST_MAX_HISTORY values are used. step_s must be within
 * [AHPA_FORECAST_MIN_STEP_S, AHPA_FORECAST_MAX_STEP_S]. Errors: -AHPA_EINVAL
 * (bad step, NULL), -AHPA_ENODATA (no finite value). Negative values are
 * accepted; if the history has none, forecasts are clamped at 0. A history
 * whose recent window is all missing is fitted (the model is ready when data
 * comes back) but predict answers -AHPA_ENODATA until then. */
int ahpa_forecast_fit(struct ahpa_forecast_model *m, const double *values,
                      size_t n, int64_t t0_s, int64_t step_s,
                      struct ahpa_error *err);

/* Feeds the sample at info.next_t_s (NaN = missing): O(1) work, no
 * allocation. The seasonal profile and levels adapt; the period and the
 * error calibration stay as fitted (refit periodically, e.g. hourly, to
 * refresh them). -AHPA_EINVAL if the model is not fitted or the value is
 * infinite. */
int ahpa_forecast_update(struct ahpa_forecast_model *m, double value,
                         struct ahpa_error *err);

/* Forecast for the next horizon_steps steps after the last sample: point[i]
 * (median-type point forecast) and quant[i], the q-quantile, for the time
 * next_t_s + i * step_s, i in [0, horizon_steps). q in (0, 1). Either output
 * may be NULL. horizon_steps * step_s must not exceed
 * AHPA_FORECAST_MAX_HORIZON_S. Errors: -AHPA_EINVAL; -AHPA_ENODATA when the
 * recent window holds no finite sample (the forecast is unknown: the outputs
 * are then all NaN, never a stale or zero level). */
int ahpa_forecast_predict(const struct ahpa_forecast_model *m,
                          size_t horizon_steps, double q, double *point,
                          double *quant, struct ahpa_error *err);

/* Describes the fitted model (zeroed info with method NONE before fit).
 * Whether auto follows the forecast is not decided from these figures but
 * by the planner's gate, measured on a replay at the leads the plan uses
 * (ahpa/planner.h, lib/forecast/README.md "The gate"). */
void ahpa_forecast_describe(const struct ahpa_forecast_model *m,
                            struct ahpa_forecast_info *info);

/* Standard normal quantile function (inverse CDF), p in (0, 1); relative
 * error below 1.2e-9. Returns -inf/+inf at 0/1 and NaN outside. */
double ahpa_forecast_norm_quantile(double p);

#endif
