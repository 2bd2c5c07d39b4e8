/* Backtest arithmetic (module forecast, pure): forecast accuracy metrics and
 * the capacity simulation of docs FORECASTING.md. The I/O and the rolling
 * origin live in cmd/ahpa-backtest. */
#ifndef AHPA_BACKTEST_H
#define AHPA_BACKTEST_H

#include <stddef.h>
#include <stdint.h>

/* ---- accuracy ---- */

struct ahpa_backtest_accuracy {
    size_t n;              /* scored steps (actual and forecasts finite) */
    double pinball;        /* mean pinball loss at q of quant */
    double pinball_scaled; /* pinball / mean(actual) */
    double coverage;       /* share of actual <= quant */
    double mase_seasonal;  /* MAE(point) / seasonal-naive in-sample MAE */
    double mase_naive;     /* MAE(point) / one-step naive in-sample MAE */
    double smape;          /* mean 2|y - f| / (|y| + |f|), 0 when both 0 */
};

/* Mean |y[t] - y[t - lag]| over finite pairs (the MASE denominator from the
 * training part); NaN if there is no pair. */
double ahpa_backtest_mae_scale(const double *y, size_t n, size_t lag);

/* Scores point and quant against y (n each; NaN entries are skipped) at
 * quantile q. scale_seasonal and scale_naive are MASE denominators
 * (ahpa_backtest_mae_scale on the training data); NaN or 0 gives NaN MASE. */
void ahpa_backtest_score(const double *y, const double *point,
                         const double *quant, size_t n, double q,
                         double scale_seasonal, double scale_naive,
                         struct ahpa_backtest_accuracy *out);

/* Pinball loss of forecast f for actual y at quantile q. */
double ahpa_backtest_pinball(double y, double f, double q);

/* ---- capacity ---- */

struct ahpa_backtest_sim {
    double target;          /* load one pod serves (> 0) */
    int64_t step_s;         /* > 0 */
    int64_t startup_s;      /* scale-ups ready this much later */
    double tolerance;       /* reactive HPA band, 0.1 */
    int64_t stabilize_s;    /* reactive scale-down window, 300 */
    int64_t min_replicas;   /* lower bound of every policy (>= 0) */
    int64_t max_replicas;   /* upper bound, 0 = none */
};

/* Fills the defaults above (target 1, step 60, startup 180, min 1). */
void ahpa_backtest_sim_default(struct ahpa_backtest_sim *s);

/* Pods for a load: ceil(load / target), clamped to the bounds; NaN load
 * gives min_replicas. */
int64_t ahpa_backtest_pods(const struct ahpa_backtest_sim *s, double load);

/* needed[t] = ceil(y[t] / target) with the bounds (the oracle's desire);
 * NaN y gives -1 (not scored). */
void ahpa_backtest_needed(const struct ahpa_backtest_sim *s, const double *y,
                          size_t n, int64_t *needed);

/* The stock HPA on y: at step t it sees y[t] only, recommends ceil(y/target)
 * unless within the tolerance band of its current replicas, and takes the
 * highest recommendation of the last stabilize_s (scale-up at once). Starts
 * at initial replicas. NaN y keeps the current recommendation. */
void ahpa_backtest_reactive(const struct ahpa_backtest_sim *s, const double *y,
                            size_t n, int64_t initial, int64_t *desired);

struct ahpa_backtest_capacity {
    double pod_hours;        /* sum(ready) * step / 3600 */
    double under_minutes;    /* minutes with ready < needed */
    double under_depth;      /* sum(needed - ready) * step / 60, pod-minutes */
    double actions_per_day;  /* changes of desired per day */
    size_t steps;            /* scored steps */
};

/* Runs a policy's desired[] against needed[] (n each): scale-ups become
 * ready startup_s later, scale-downs at once, i.e. ready[t] = min of
 * desired over [t - startup, t]. Steps with needed < 0 are not scored.
 * `ready` may be NULL or receives n values. */
void ahpa_backtest_simulate(const struct ahpa_backtest_sim *s,
                            const int64_t *desired, const int64_t *needed,
                            size_t n, int64_t *ready,
                            struct ahpa_backtest_capacity *out);

#endif
