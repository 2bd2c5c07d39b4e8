/* The replica planner: proactive, reactive and final replica counts of an
 * AHPA, with the reason for the result. Pure: the caller passes the usage,
 * the forecast, the limits and the bounds in force, and owns the small
 * stabilisation state that carries from one cycle to the next.
 *
 * Definitions (docs FORECASTING.md):
 *   usage U      total over the workload's pods of the per-pod metric
 *                (sum of per-pod GPU utilisation percent, or of the
 *                per-pod value for an AverageValue target)
 *   target T     per pod (averageUtilization percent, or averageValue)
 *   needed(U)    ceil(U / T)
 *   proactive    needed(highest forecast in [now, now + scaleUpForward])
 *   reactive     the stock HPA: ratio = (U / current) / T; within the
 *                tolerance band |ratio - 1| <= 0.1 keep current, else
 *                needed(U); with 0 current replicas needed(U) directly.
 *                Scale-up at once; scale-down only to the highest raw
 *                recommendation of the stabilisation window (300 s).
 *   final        reactive -> reactive; proactive -> proactive;
 *                auto -> max(proactive, reactive); observer -> as auto,
 *                flagged AHPA_PLANNER_F_NOT_APPLIED; then clamped.
 *   clamp        min = max(minReplicas, highest bound min in force),
 *                max = min(maxReplicas, lowest bound max in force); if
 *                min > max, max wins (flag AHPA_PLANNER_F_CONFLICT).
 *                minReplicas 0 allows 0 pods at zero load.
 *
 * needed() treats a quotient within 1e-9 of an integer as that integer,
 * so 200 / 20 is 10 pods and not 11 after rounding noise. */
#ifndef AHPA_PLANNER_H
#define AHPA_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahpa/cron.h"

struct ahpa_forecast_model; /* ahpa/forecast.h */

struct ahpa_error;

enum ahpa_planner_strategy {
    AHPA_PLANNER_OBSERVER,
    AHPA_PLANNER_AUTO,
    AHPA_PLANNER_PROACTIVE,
    AHPA_PLANNER_REACTIVE,
};

/* "observer", "auto", "proactive", "reactive" (case-insensitive).
 * Returns 0 or -AHPA_EPARSE. */
int ahpa_planner_strategy_parse(const char *s, enum ahpa_planner_strategy *out,
                                struct ahpa_error *err);
/* Lower-case name; never NULL. */
const char *ahpa_planner_strategy_name(enum ahpa_planner_strategy s);

#define AHPA_PLANNER_TOLERANCE 0.1
#define AHPA_PLANNER_STABILIZATION_S 300
/* Recommendations kept: a 300 s window needs 6 at a 60 s cycle, 21 at
 * 15 s; when full the oldest is dropped. */
#define AHPA_PLANNER_HISTORY_MAX 64

/* Stabilisation state of one AHPA: the raw reactive recommendations of
 * the recent cycles. Caller storage; ahpa_planner_state_init() before the
 * first plan; nothing to release. */
struct ahpa_planner_state {
    size_t n;
    struct ahpa_planner_rec {
        int64_t t_s;
        int32_t replicas;
    } recs[AHPA_PLANNER_HISTORY_MAX];
};

void ahpa_planner_state_init(struct ahpa_planner_state *s);

struct ahpa_planner_input {
    int64_t now_s;
    enum ahpa_planner_strategy strategy;
    double usage;              /* U; NaN when unknown */
    int32_t current_replicas;  /* >= 0 */
    /* Forecast of U at the quantile, one value per step over
     * [now, now + scale_up_forward_s]; borrowed for the call. NULL or
     * forecast_n == 0 (or all NaN) means no forecast. */
    const double *forecast;
    size_t forecast_n;
    int64_t scale_up_forward_s; /* for the reason text */
    double target;              /* T > 0 */
    const char *unit;           /* "%" for utilisation, "" otherwise; borrowed */
    int32_t min_replicas;       /* >= 0 */
    int32_t max_replicas;       /* >= min_replicas, >= 1 */
    /* Bounds in force now (ahpa_cron_bounds_at), or NULL; borrowed. */
    const struct ahpa_cron_in_force *bounds;
    double tolerance;           /* default AHPA_PLANNER_TOLERANCE */
    int64_t stabilization_s;    /* default AHPA_PLANNER_STABILIZATION_S */
};

/* Defaults: strategy auto, usage NaN, no forecast, unit "%", min 1,
 * max 1, tolerance 0.1, stabilisation 300 s. The caller fills the rest. */
void ahpa_planner_input_init(struct ahpa_planner_input *in);

/* What decided the final count. */
enum ahpa_planner_reason {
    AHPA_PLANNER_R_PROACTIVE,     /* the forecast term */
    AHPA_PLANNER_R_REACTIVE,      /* the current-usage term */
    AHPA_PLANNER_R_TOLERANCE,     /* reactive within the tolerance band */
    AHPA_PLANNER_R_STABILIZED,    /* scale-down held by the window */
    AHPA_PLANNER_R_USAGE_UNKNOWN, /* usage NaN, no forecast: held */
    AHPA_PLANNER_R_BOUND_MIN,     /* raised to a bound's minReplicas */
    AHPA_PLANNER_R_BOUND_MAX,     /* lowered to a bound's maxReplicas */
    AHPA_PLANNER_R_MIN,           /* raised to spec minReplicas */
    AHPA_PLANNER_R_MAX,           /* lowered to spec maxReplicas */
};

/* Short name ("proactive", "bound-min", ...); never NULL. */
const char *ahpa_planner_reason_name(enum ahpa_planner_reason r);

#define AHPA_PLANNER_F_NOT_APPLIED (1u << 0)   /* observer: publish only */
#define AHPA_PLANNER_F_NO_FORECAST (1u << 1)   /* proactive unavailable */
#define AHPA_PLANNER_F_USAGE_UNKNOWN (1u << 2) /* usage NaN: reactive held */
#define AHPA_PLANNER_F_TOLERANCE (1u << 3)     /* reactive within the band */
#define AHPA_PLANNER_F_STABILIZED (1u << 4)    /* reactive scale-down held */
#define AHPA_PLANNER_F_CLAMPED (1u << 5)       /* final differs from unclamped */
#define AHPA_PLANNER_F_CONFLICT (1u << 6)      /* min > max: max won */
#define AHPA_PLANNER_F_FROM_ZERO (1u << 7)     /* current replicas 0 */

#define AHPA_PLANNER_TEXT_MAX 320

struct ahpa_planner_result {
    int32_t proactive;      /* -1 when there is no forecast */
    int32_t reactive;       /* after tolerance and stabilisation (held
                               current when usage is unknown) */
    int32_t reactive_raw;   /* before stabilisation; -1 when usage unknown */
    int32_t unclamped;      /* by strategy, before min/max and bounds */
    int32_t final;          /* the plan */
    int32_t min_replicas;   /* effective limits used for the clamp */
    int32_t max_replicas;
    double forecast_peak;   /* highest forecast in the window; NaN if none */
    int64_t held_until_s;   /* with F_STABILIZED: when the hold ends */
    enum ahpa_planner_reason reason;
    unsigned flags;         /* AHPA_PLANNER_F_* */
    char text[AHPA_PLANNER_TEXT_MAX]; /* one line, e.g. "proactive forecast
        183% over next 180s / target 20% -> 10 pods" */
    int gate;               /* ahpa_planner_policy_plan(): the gate's
                               choice (enum ahpa_planner_gate_choice), -1
                               from ahpa_planner_plan() */
};

/* One planning cycle. `state` (may be NULL: no stabilisation, scale-down
 * at once) gets this cycle's raw reactive recommendation. Returns 0, or
 * -AHPA_EINVAL for a target <= 0 or not finite, negative or inconsistent
 * limits, negative replicas or usage; `*out` is then untouched. */
int ahpa_planner_plan(const struct ahpa_planner_input *in,
                      struct ahpa_planner_state *state,
                      struct ahpa_planner_result *out, struct ahpa_error *err);

/* The steps of a forecast (sample i at t0_s + i * step_s, n samples)
 * that cover [now_s, now_s + forward_s]: from the step in progress at
 * now_s to the last sample at or before now_s + forward_s, cut to the
 * series. Sets *first and returns the count (0 when the forecast does not
 * reach the window or step_s <= 0). Pass forecast + *first and the count
 * as ahpa_planner_input.forecast / forecast_n. */
size_t ahpa_planner_window(int64_t t0_s, int64_t step_s, size_t n, int64_t now_s,
                           int64_t forward_s, size_t *first);

/* Predicted pods per step for a whole forecast (the "Predict POD
 * Observer" chart): out[i] = clamp(needed(max forecast[i .. i + k])) with
 * k = ceil(scale_up_forward_s / step_s), the window cut at the end of the
 * series; -1 where every value in the window is NaN. bound_min/bound_max
 * are per-step bounds in force (ahpa_cron_bounds_fill, AHPA_CRON_UNSET
 * where none) or NULL. All arrays have n elements, caller storage.
 * Cost O(n * k). Returns 0 or -AHPA_EINVAL. */
int ahpa_planner_series(const double *forecast, size_t n, int64_t step_s,
                        int64_t scale_up_forward_s, double target,
                        int32_t min_replicas, int32_t max_replicas,
                        const int32_t *bound_min, const int32_t *bound_max,
                        int32_t *out, struct ahpa_error *err);

/* The stabilised plan over a whole forecast (the "Predicted pods" line of
 * the observer page): the raw plans of ahpa_planner_series (before the
 * limits) with their demands (peak / target), stabilised by
 * ahpa_planner_hold() over window_s (hysteresis with `tolerance`), then
 * clamped per step as ahpa_planner_series does. Same arguments and
 * errors otherwise; -1 where the forecast is unknown (the hold carries
 * over it). Cost O(n * (k + w)). */
int ahpa_planner_series_stable(const double *forecast, size_t n, int64_t step_s,
                               int64_t scale_up_forward_s, double target, int64_t window_s,
                               double tolerance, int32_t min_replicas, int32_t max_replicas,
                               const int32_t *bound_min, const int32_t *bound_max, int32_t *out,
                               struct ahpa_error *err);

/* ---- the policy: one decision per step, from the history ------------
 *
 * ahpa_planner_policy_plan() is the whole decision the controller and
 * ahpa-backtest both run, one step at a time:
 *
 *   forecast   the policy's own engine model, fitted on the usage of
 *              [b - history_s, b] at each refit boundary b (or a copy of
 *              the caller's fit of that window: ahpa_planner_policy_
 *              adopt_fit), then fed the
 *              settled samples one by one (the sample of the step in
 *              progress is seen by the reactive term only);
 *   proactive  needed(highest q-forecast over the steps [s, s + K]),
 *              K = ceil(scaleUpForward / step) >= 1, issued at step s;
 *   reactive   the stock HPA's raw recommendation at s (tolerance band);
 *   gate       which of proactive, reactive or max(both) ("combined") auto
 *              follows, decided at each boundary b by a replay of the last
 *              day before b (lib/forecast/README.md, "The gate");
 *   raw(s)     the gate's choice of the two terms at step s (strategy
 *              reactive: reactive; proactive: proactive; auto, observer:
 *              the gate's);
 *   final      max of raw(s) over the steps s in (now - window, now]
 *              (window = stabilizationWindowSeconds): scale-up at once,
 *              scale-down only once the raw plans have stayed lower for
 *              the window; then clamped as ahpa_planner_plan() does.
 *
 * Everything the policy keeps (the model, the gate, the proactive plans of
 * past steps) is rebuilt at each boundary from the history alone, so a
 * process that has run for days and one started a minute ago publish the
 * same plan from the same data. */

enum ahpa_planner_gate_choice {
    AHPA_PLANNER_GATE_COMBINED,  /* max(proactive, reactive) */
    AHPA_PLANNER_GATE_PROACTIVE,
    AHPA_PLANNER_GATE_REACTIVE,
    AHPA_PLANNER_GATE_COUNT
};

/* "combined", "proactive", "reactive". */
const char *ahpa_planner_gate_name(enum ahpa_planner_gate_choice g);

/* The gate's measurement on the replay, per candidate (indexed by the
 * choice): steps under-provisioned, their depth and the idle pods
 * (pod-steps), ready pods summed, changes of the plan, and the loss. */
struct ahpa_planner_gate {
    enum ahpa_planner_gate_choice choice;
    bool measured;          /* false: too little history, choice = combined */
    size_t steps;           /* replayed steps scored */
    double under[AHPA_PLANNER_GATE_COUNT];
    double under_depth[AHPA_PLANNER_GATE_COUNT];
    double over_depth[AHPA_PLANNER_GATE_COUNT];
    double pod_steps[AHPA_PLANNER_GATE_COUNT];
    double actions[AHPA_PLANNER_GATE_COUNT];
    double loss[AHPA_PLANNER_GATE_COUNT];
};

/* One step of the stabilised plan (hysteresis and the scale-down window):
 * raw[j] are the raw plans (pods, < 0 unknown) and demand[j] the pods'
 * worth of load behind them (e.g. forecast / target) of steps j <= i; the
 * window is (i - w, i] (w >= 1 steps); prev is the stabilised plan of
 * step i - 1 (< 0: none). With H the highest raw plan and D the highest
 * demand in the window:
 *   H >= prev                    -> H   (scale up at once, or hold)
 *   D > (prev - 1)(1 - tol)      -> prev (one pod fewer would not keep
 *                                        the tolerance's headroom)
 *   otherwise                    -> max(H, needed(D)), at most prev
 *                                   (down to what the window needs).
 * demand NULL: the window alone (-> H), the stock HPA's rule. An unknown
 * raw[i] holds prev. */
int32_t ahpa_planner_hold_step(int32_t prev, const int32_t *raw, const double *demand,
                               size_t i, size_t w, double tolerance);

/* ahpa_planner_hold_step over a series from no previous plan: out[i] for
 * i in [0, n); out may not alias raw. */
void ahpa_planner_hold(const int32_t *raw, const double *demand, size_t n, size_t w,
                       double tolerance, int32_t *out);

/* Steps of a stabilisation window: ceil(window_s / step_s), at least 1. */
size_t ahpa_planner_window_steps(int64_t window_s, int64_t step_s);

/* The stock HPA on a usage series with its own replicas as the current
 * ones (tolerance band, then the stabilisation of w steps), starting from
 * `initial` replicas; NaN usage keeps the last recommendation. Pods per
 * ahpa_planner_plan()'s needed(), clamped to [min, max]. */
void ahpa_planner_hpa_series(const double *usage, size_t n, double target, double tolerance,
                             size_t w, int32_t initial, int32_t min_replicas,
                             int32_t max_replicas, int32_t *out);

/* The gate rule on a replay (n steps; arrays caller-owned; pods per step,
 * < 0 unknown / not scored): needed (the load's pods), proactive and its
 * demand (forecast / target), reactive (the stock HPA's plan). Candidates:
 * reactive as given; proactive (reactive where it is unknown) and
 * combined (max of both) stabilised by ahpa_planner_hold() over w steps.
 * Each plan's pods become ready `startup` steps later (scale-downs at
 * once) and are scored against needed. Choice: the least loss
 *   q * under-provisioned pod-steps + (1 - q) * idle pod-steps,
 * the pinball loss of the capacity at the AHPA's own quantile (q = 0.95
 * prices a missing pod-step at 19 idle ones); ties go to reactive, then
 * proactive. Pure; fills *out. */
void ahpa_planner_gate_decide(const int32_t *needed, const int32_t *proactive,
                              const double *pro_demand, const int32_t *reactive, size_t n,
                              size_t w, size_t startup, double q, double tolerance,
                              struct ahpa_planner_gate *out);

/* Refit boundary in force at t: multiples of refit_s shifted by offset_s,
 * floored to the step. */
int64_t ahpa_planner_refit_boundary(int64_t t, int64_t refit_s, int64_t offset_s,
                                    int64_t step_s);

/* A per-step series: v[i] at t0_s + i * step (NaN = missing), t0_s a
 * multiple of the step (the grid refit boundaries and plans use).
 * Borrowed. */
struct ahpa_planner_view {
    const double *v;
    size_t n;
    int64_t t0_s;
};

struct ahpa_planner_policy_cfg {
    int64_t step_s;        /* of the views, [15, 3600] */
    int64_t history_s;     /* each fit sees [b - history_s, b] */
    int64_t startup_s;     /* pod start-up for the gate; <= 0: scaleUpForward */
    double quantile;       /* q in (0, 1) */
};

/* The policy's cache of one workload (the model, the gate, past proactive
 * plans); a function of the history and the boundary only. Never NULL. */
struct ahpa_planner_policy;
struct ahpa_planner_policy *ahpa_planner_policy_new(void);
void ahpa_planner_policy_free(struct ahpa_planner_policy *p);

/* One fit per workload and boundary: a caller that has fitted its own
 * model on the policy's window hands the fit over, and the policy's next
 * rebuild for that boundary starts from a copy of it instead of fitting
 * again (the gate's replay still fits its own model on the history before
 * the replayed day). `m` must have been fitted by ahpa_forecast_fit() with
 * the default options on exactly the samples of `usage` in
 * [boundary_s - cfg->history_s, boundary_s] (the window the policy fits on:
 * ahpa_planner_policy_plan()), and fed nothing since. The policy checks what
 * it can: the model's step, first sample and count against the window, and
 * a hash of the window's values, at adoption and again at the rebuild (the
 * view may have changed in between); on any mismatch it fits itself, so a
 * wrong hand-over costs a fit, never a different plan. The copy (about
 * 10 KiB) is kept until the rebuild uses it or another is adopted. Not
 * thread-safe on one policy. */
void ahpa_planner_policy_adopt_fit(struct ahpa_planner_policy *p,
                                   const struct ahpa_planner_policy_cfg *cfg,
                                   const struct ahpa_planner_view *usage, int64_t boundary_s,
                                   const struct ahpa_forecast_model *m);

/* Fits the policy has run itself since it was made, the gate's replays
 * included (tests and benchmarks count the fits an hour costs). */
size_t ahpa_planner_policy_fits(const struct ahpa_planner_policy *p);

/* One decision at in->now_s (the step in progress: floor(now / step)).
 * `usage` and `replicas` are the observed history up to now (replicas may
 * have n == 0: then only in->current_replicas is known); `boundary_s` the
 * refit boundary in force. in->forecast is ignored (the policy forecasts
 * with its own model); the other fields as for ahpa_planner_plan(), with
 * in->stabilization_s the window of the final plan. out->gate holds the
 * gate in force. in->stabilization_s 0 leaves the tolerance hysteresis
 * alone (as the HPA keeps its tolerance band without a window). Errors:
 * those of ahpa_planner_plan(), -AHPA_EINVAL for a bad cfg or a view off
 * the step grid. Not thread-safe on one policy. */
int ahpa_planner_policy_plan(struct ahpa_planner_policy *p,
                             const struct ahpa_planner_policy_cfg *cfg,
                             const struct ahpa_planner_view *usage,
                             const struct ahpa_planner_view *replicas, int64_t boundary_s,
                             const struct ahpa_planner_input *in,
                             struct ahpa_planner_result *out, struct ahpa_error *err);

#endif
