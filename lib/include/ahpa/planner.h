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

#endif
