/* Baseline forecasters, kept beside the engine for evaluation only (never
 * served): seasonal naive with an empirical residual quantile, additive
 * Holt-Winters, and Crane-style maxValue. Pure and deterministic. They keep
 * their whole history in memory (evaluation use: at most a few weeks). */
#ifndef AHPA_BASELINE_H
#define AHPA_BASELINE_H

#include <stddef.h>

struct ahpa_error;

enum ahpa_baseline_kind {
    AHPA_BASELINE_SNAIVE,      /* y(t - P), + residual quantile */
    AHPA_BASELINE_HOLTWINTERS, /* additive, parameters by least squares */
    AHPA_BASELINE_MAXVALUE     /* max over past cycles at the same phase,
                                  times (1 + 0.15); no quantile */
};

/* "snaive", "holtwinters", "maxvalue". */
const char *ahpa_baseline_name(enum ahpa_baseline_kind k);

struct ahpa_baseline;

/* New baseline with season length period_steps (>= 1; 1 = no season).
 * Caller frees with ahpa_baseline_free. */
struct ahpa_baseline *ahpa_baseline_new(enum ahpa_baseline_kind kind,
                                        size_t period_steps);
void ahpa_baseline_free(struct ahpa_baseline *b);

/* Fits on values[0..n) (NaN = missing; borrowed for the call), replacing the
 * history. Holt-Winters needs two full periods (else it runs with period 1).
 * Errors: -AHPA_ENODATA when no value is finite. */
int ahpa_baseline_fit(struct ahpa_baseline *b, const double *values, size_t n,
                      struct ahpa_error *err);

/* Appends one sample (NaN = missing) and advances the state; the residual
 * quantiles and Holt-Winters parameters stay as fitted. */
int ahpa_baseline_update(struct ahpa_baseline *b, double value,
                         struct ahpa_error *err);

/* point[i], quant[i] for i+1 steps after the last sample, q in (0, 1);
 * outputs may be NULL. -AHPA_EINVAL before fit or on a bad q. */
int ahpa_baseline_predict(const struct ahpa_baseline *b, size_t horizon_steps,
                          double q, double *point, double *quant,
                          struct ahpa_error *err);

#endif
