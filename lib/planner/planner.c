/* Replica planning (the definitions are in ahpa/planner.h). Each term is
 * computed by its own function, then the strategy picks and the limits
 * clamp; the reason text is built as the decision is made. */
#include "ahpa/planner.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/timefmt.h"
#include "planner_int.h"


static const char *const strategy_names[] = {"observer", "auto", "proactive", "reactive"};

int ahpa_planner_strategy_parse(const char *s, enum ahpa_planner_strategy *out,
                                struct ahpa_error *err)
{
    for (int i = 0; s != NULL && i < 4; i++) {
        if (strcasecmp(s, strategy_names[i]) == 0) {
            *out = (enum ahpa_planner_strategy)i;
            return 0;
        }
    }
    return ahpa_error_set(err, AHPA_EPARSE,
                          "scaleStrategy \"%.32s\": want observer, auto, proactive or reactive",
                          s ? s : "");
}

const char *ahpa_planner_strategy_name(enum ahpa_planner_strategy s)
{
    return (unsigned)s < 4 ? strategy_names[s] : "unknown";
}

const char *ahpa_planner_reason_name(enum ahpa_planner_reason r)
{
    static const char *const names[] = {"proactive", "reactive",  "tolerance",
                                        "stabilized", "usage-unknown", "bound-min",
                                        "bound-max", "min-replicas", "max-replicas"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

void ahpa_planner_state_init(struct ahpa_planner_state *s)
{
    memset(s, 0, sizeof(*s));
}

void ahpa_planner_input_init(struct ahpa_planner_input *in)
{
    memset(in, 0, sizeof(*in));
    in->strategy = AHPA_PLANNER_AUTO;
    in->usage = NAN;
    in->unit = "%";
    in->min_replicas = 1;
    in->max_replicas = 1;
    in->tolerance = AHPA_PLANNER_TOLERANCE;
    in->stabilization_s = AHPA_PLANNER_STABILIZATION_S;
}

/* ceil(x) as a pod count, forgiving rounding noise just above an integer
 * and saturating at INT32_MAX. */
int32_t ahpa_planner__pods_for(double x)
{
    if (!(x > 0))
        return 0;
    if (x >= (double)INT32_MAX)
        return INT32_MAX;
    double f = floor(x);
    return (int32_t)(x - f <= 1e-9 ? f : f + 1);
}

/* Appends to the reason text (truncating silently at the end). */
void ahpa_planner__text_add(struct ahpa_planner_result *r, const char *fmt, ...)
{
    size_t len = strlen(r->text);
    if (len + 1 >= sizeof(r->text))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text + len, sizeof(r->text) - len, fmt, ap);
    va_end(ap);
}

int ahpa_planner__check_input(const struct ahpa_planner_input *in, struct ahpa_error *err)
{
    if (!(in->target > 0) || !isfinite(in->target))
        return ahpa_error_set(err, AHPA_EINVAL, "planner: target must be > 0, got %g",
                              in->target);
    if (in->min_replicas < 0 || in->max_replicas < 1 || in->min_replicas > in->max_replicas)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "planner: need 0 <= minReplicas <= maxReplicas, maxReplicas >= 1 "
                              "(got %d, %d)",
                              (int)in->min_replicas, (int)in->max_replicas);
    if (in->current_replicas < 0)
        return ahpa_error_set(err, AHPA_EINVAL, "planner: current replicas %d < 0",
                              (int)in->current_replicas);
    if (in->usage < 0)
        return ahpa_error_set(err, AHPA_EINVAL, "planner: usage %g < 0", in->usage);
    if (!(in->tolerance >= 0) || in->stabilization_s < 0)
        return ahpa_error_set(err, AHPA_EINVAL, "planner: bad tolerance or window");
    return 0;
}

/* Highest non-NaN value of v[0..n), NaN when none. */
double ahpa_planner__peak_of(const double *v, size_t n)
{
    double peak = NAN;
    for (size_t i = 0; v != NULL && i < n; i++)
        if (!isnan(v[i]) && (isnan(peak) || v[i] > peak))
            peak = v[i];
    return peak;
}

/* ---- stabilisation -------------------------------------------------- */

/* Drops recommendations that left the window (t <= now - window), then
 * records this one (the oldest goes when the ring is full). */
static void state_record(struct ahpa_planner_state *s, int64_t now_s, int64_t window_s,
                         int32_t replicas)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n && i < AHPA_PLANNER_HISTORY_MAX; i++)
        if (s->recs[i].t_s > now_s - window_s && s->recs[i].t_s <= now_s)
            s->recs[kept++] = s->recs[i];
    if (kept == AHPA_PLANNER_HISTORY_MAX) {
        memmove(s->recs, s->recs + 1, (kept - 1) * sizeof(s->recs[0]));
        kept--;
    }
    s->recs[kept] = (struct ahpa_planner_rec){now_s, replicas};
    s->n = kept + 1;
}

/* Highest recommendation in the window (after state_record) and when the
 * latest sample carrying it expires. */
static int32_t state_max(const struct ahpa_planner_state *s, int64_t window_s,
                         int64_t *until_s)
{
    int32_t best = -1;
    *until_s = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->recs[i].replicas > best ||
            (s->recs[i].replicas == best && s->recs[i].t_s + window_s > *until_s)) {
            best = s->recs[i].replicas;
            *until_s = s->recs[i].t_s + window_s;
        }
    }
    return best;
}

/* ---- the two terms -------------------------------------------------- */

static void plan_proactive(const struct ahpa_planner_input *in, struct ahpa_planner_result *r)
{
    r->forecast_peak = ahpa_planner__peak_of(in->forecast, in->forecast_n);
    if (isnan(r->forecast_peak)) {
        r->proactive = -1;
        r->flags |= AHPA_PLANNER_F_NO_FORECAST;
        return;
    }
    r->proactive = ahpa_planner__pods_for(r->forecast_peak / in->target);
}

static void plan_reactive(const struct ahpa_planner_input *in, struct ahpa_planner_state *s,
                          struct ahpa_planner_result *r)
{
    int32_t cur = in->current_replicas;
    if (isnan(in->usage)) {
        r->flags |= AHPA_PLANNER_F_USAGE_UNKNOWN;
        r->reactive_raw = -1;
        r->reactive = cur;
        return;
    }
    if (cur == 0) {
        r->flags |= AHPA_PLANNER_F_FROM_ZERO;
        r->reactive_raw = ahpa_planner__pods_for(in->usage / in->target);
    } else {
        double ratio = in->usage / cur / in->target;
        if (fabs(ratio - 1.0) <= in->tolerance) {
            r->flags |= AHPA_PLANNER_F_TOLERANCE;
            r->reactive_raw = cur;
        } else {
            r->reactive_raw = ahpa_planner__pods_for(in->usage / in->target);
        }
    }
    r->reactive = r->reactive_raw;
    if (s == NULL || in->stabilization_s == 0)
        return;
    state_record(s, in->now_s, in->stabilization_s, r->reactive_raw);
    int64_t until;
    int32_t held = state_max(s, in->stabilization_s, &until);
    if (held > r->reactive_raw) {
        r->flags |= AHPA_PLANNER_F_STABILIZED;
        r->reactive = held;
        r->held_until_s = until;
    }
}

/* ---- reasons -------------------------------------------------------- */

void ahpa_planner__say_proactive(const struct ahpa_planner_input *in, struct ahpa_planner_result *r)
{
    r->reason = AHPA_PLANNER_R_PROACTIVE;
    ahpa_planner__text_add(r, "proactive forecast %.4g%s over next %llds / target %.4g%s -> %d pods",
             r->forecast_peak, in->unit, (long long)in->scale_up_forward_s, in->target, in->unit,
             (int)r->proactive);
}

void ahpa_planner__say_reactive(const struct ahpa_planner_input *in, struct ahpa_planner_result *r)
{
    int32_t cur = in->current_replicas;
    if (r->flags & AHPA_PLANNER_F_USAGE_UNKNOWN) {
        r->reason = AHPA_PLANNER_R_USAGE_UNKNOWN;
        ahpa_planner__text_add(r, "usage unknown, holding %d pods", (int)cur);
    } else if (r->flags & AHPA_PLANNER_F_STABILIZED) {
        char when[AHPA_RFC3339_MAX];
        ahpa_time_format_rfc3339(r->held_until_s, when);
        r->reason = AHPA_PLANNER_R_STABILIZED;
        ahpa_planner__text_add(r, "scale-down to %d held by stabilisation window until %s -> %d pods",
                 (int)r->reactive_raw, when, (int)r->reactive);
    } else if (r->flags & AHPA_PLANNER_F_TOLERANCE) {
        r->reason = AHPA_PLANNER_R_TOLERANCE;
        ahpa_planner__text_add(r, "reactive usage %.4g%s per pod within %.0f%% of target %.4g%s, keeping %d pods",
                 in->usage / cur, in->unit, in->tolerance * 100, in->target, in->unit, (int)cur);
    } else if (cur == 0) {
        r->reason = AHPA_PLANNER_R_REACTIVE;
        ahpa_planner__text_add(r, "reactive usage %.4g%s in total from 0 pods / target %.4g%s -> %d pods",
                 in->usage, in->unit, in->target, in->unit, (int)r->reactive);
    } else {
        r->reason = AHPA_PLANNER_R_REACTIVE;
        ahpa_planner__text_add(r, "reactive usage %.4g%s per pod on %d pods / target %.4g%s -> %d pods",
                 in->usage / cur, in->unit, (int)cur, in->target, in->unit, (int)r->reactive);
    }
}

/* The strategy's choice, before limits. */
static void choose(const struct ahpa_planner_input *in, struct ahpa_planner_result *r)
{
    bool have_forecast = r->proactive >= 0;
    if (in->strategy == AHPA_PLANNER_OBSERVER)
        r->flags |= AHPA_PLANNER_F_NOT_APPLIED;
    if (in->strategy != AHPA_PLANNER_REACTIVE && !have_forecast)
        ahpa_planner__text_add(r, "no forecast, falling back to reactive: ");
    bool proactive_wins =
        have_forecast && (in->strategy == AHPA_PLANNER_PROACTIVE ||
                          (in->strategy != AHPA_PLANNER_REACTIVE && r->proactive >= r->reactive));
    if (proactive_wins) {
        r->unclamped = r->proactive;
        ahpa_planner__say_proactive(in, r);
    } else {
        r->unclamped = r->reactive;
        ahpa_planner__say_reactive(in, r);
    }
}

/* Effective limits: spec and bounds in force together; max wins. */
static void limits(const struct ahpa_planner_input *in, int32_t bmin, int32_t bmax,
                   struct ahpa_planner_result *r, bool *min_from_bound, bool *max_from_bound)
{
    r->min_replicas = in->min_replicas;
    r->max_replicas = in->max_replicas;
    *min_from_bound = *max_from_bound = false;
    if (bmin != AHPA_CRON_UNSET && bmin > r->min_replicas) {
        r->min_replicas = bmin;
        *min_from_bound = true;
    }
    if (bmax != AHPA_CRON_UNSET && bmax < r->max_replicas) {
        r->max_replicas = bmax;
        *max_from_bound = true;
    }
    if (r->min_replicas > r->max_replicas) {
        r->flags |= AHPA_PLANNER_F_CONFLICT;
        r->min_replicas = r->max_replicas;
    }
}

void ahpa_planner__clamp(const struct ahpa_planner_input *in, struct ahpa_planner_result *r)
{
    const struct ahpa_cron_in_force *b = in->bounds;
    bool min_b, max_b;
    limits(in, b ? b->min_replicas : AHPA_CRON_UNSET, b ? b->max_replicas : AHPA_CRON_UNSET, r,
           &min_b, &max_b);
    r->final = r->unclamped;
    if (r->final < r->min_replicas) {
        r->final = r->min_replicas;
        r->reason = min_b ? AHPA_PLANNER_R_BOUND_MIN : AHPA_PLANNER_R_MIN;
        if (min_b)
            ahpa_planner__text_add(r, "; clamped by bound '%s' min %d", b->min_cron, (int)r->final);
        else
            ahpa_planner__text_add(r, "; clamped by minReplicas %d", (int)r->final);
    } else if (r->final > r->max_replicas) {
        r->final = r->max_replicas;
        r->reason = max_b ? AHPA_PLANNER_R_BOUND_MAX : AHPA_PLANNER_R_MAX;
        if (max_b)
            ahpa_planner__text_add(r, "; clamped by bound '%s' max %d", b->max_cron, (int)r->final);
        else
            ahpa_planner__text_add(r, "; clamped by maxReplicas %d", (int)r->final);
    }
    if (r->final != r->unclamped)
        r->flags |= AHPA_PLANNER_F_CLAMPED;
    if (r->flags & AHPA_PLANNER_F_CONFLICT)
        ahpa_planner__text_add(r, " (bound min above max: max wins)");
}

int ahpa_planner_plan(const struct ahpa_planner_input *in, struct ahpa_planner_state *state,
                      struct ahpa_planner_result *out, struct ahpa_error *err)
{
    if (in == NULL || out == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "planner: no input");
    int rc = ahpa_planner__check_input(in, err);
    if (rc < 0)
        return rc;
    struct ahpa_planner_result r;
    memset(&r, 0, sizeof(r));
    r.gate = -1;
    plan_proactive(in, &r);
    plan_reactive(in, state, &r);
    choose(in, &r);
    ahpa_planner__clamp(in, &r);
    *out = r;
    return 0;
}

/* ---- a whole forecast ----------------------------------------------- */

size_t ahpa_planner_window(int64_t t0_s, int64_t step_s, size_t n, int64_t now_s,
                           int64_t forward_s, size_t *first)
{
    *first = 0;
    if (step_s <= 0 || n == 0 || forward_s < 0 || n > (size_t)INT64_MAX)
        return 0;
    int64_t lo = ahpa_floor_div(now_s - t0_s, step_s);
    int64_t hi = ahpa_floor_div(now_s + forward_s - t0_s, step_s);
    if (lo < 0)
        lo = 0;
    if (hi > (int64_t)n - 1)
        hi = (int64_t)n - 1;
    if (hi < lo)
        return 0;
    *first = (size_t)lo;
    return (size_t)(hi - lo + 1);
}

int ahpa_planner_series(const double *forecast, size_t n, int64_t step_s,
                        int64_t scale_up_forward_s, double target, int32_t min_replicas,
                        int32_t max_replicas, const int32_t *bound_min, const int32_t *bound_max,
                        int32_t *out, struct ahpa_error *err)
{
    if ((n > 0 && (forecast == NULL || out == NULL)) || step_s <= 0 || scale_up_forward_s < 0)
        return ahpa_error_set(err, AHPA_EINVAL, "planner: bad series arguments");
    struct ahpa_planner_input in;
    ahpa_planner_input_init(&in);
    in.target = target;
    in.min_replicas = min_replicas;
    in.max_replicas = max_replicas;
    in.current_replicas = 0;
    in.usage = 0;
    int rc = ahpa_planner__check_input(&in, err);
    if (rc < 0)
        return rc;
    size_t k = (size_t)((scale_up_forward_s + step_s - 1) / step_s);
    for (size_t i = 0; i < n; i++) {
        size_t len = k < n - i - 1 ? k + 1 : n - i;
        double peak = ahpa_planner__peak_of(forecast + i, len);
        if (isnan(peak)) {
            out[i] = -1;
            continue;
        }
        struct ahpa_planner_result r;
        bool min_b, max_b;
        memset(&r, 0, sizeof(r));
        limits(&in, bound_min ? bound_min[i] : AHPA_CRON_UNSET,
               bound_max ? bound_max[i] : AHPA_CRON_UNSET, &r, &min_b, &max_b);
        int32_t p = ahpa_planner__pods_for(peak / target);
        out[i] = p < r.min_replicas ? r.min_replicas : p > r.max_replicas ? r.max_replicas : p;
    }
    return 0;
}

int ahpa_planner_series_stable(const double *forecast, size_t n, int64_t step_s,
                               int64_t scale_up_forward_s, double target, int64_t window_s,
                               double tolerance, int32_t min_replicas, int32_t max_replicas,
                               const int32_t *bound_min, const int32_t *bound_max, int32_t *out,
                               struct ahpa_error *err)
{
    int rc = ahpa_planner_series(forecast, n, step_s, scale_up_forward_s, target, min_replicas,
                                 max_replicas, bound_min, bound_max, out, err);
    if (rc < 0 || n == 0)
        return rc;
    if (!(tolerance >= 0 && tolerance < 1) || window_s < 0)
        return ahpa_error_set(err, AHPA_EINVAL, "planner: bad window or tolerance");
    int32_t *raw = ahpa_malloc(2 * n * sizeof(int32_t));
    int32_t *held = raw + n;
    double *dem = ahpa_malloc(n * sizeof(double));
    size_t k = (size_t)((scale_up_forward_s + step_s - 1) / step_s);
    for (size_t i = 0; i < n; i++) {
        size_t len = k < n - i - 1 ? k + 1 : n - i;
        double peak = ahpa_planner__peak_of(forecast + i, len);
        raw[i] = isnan(peak) ? -1 : ahpa_planner__pods_for(peak / target);
        dem[i] = isnan(peak) ? -INFINITY : peak / target;
    }
    ahpa_planner_hold(raw, dem, n, ahpa_planner_window_steps(window_s, step_s), tolerance, held);
    struct ahpa_planner_input in;
    ahpa_planner_input_init(&in);
    in.min_replicas = min_replicas;
    in.max_replicas = max_replicas;
    for (size_t i = 0; i < n; i++) {
        if (out[i] < 0 || held[i] < 0)
            continue;
        struct ahpa_planner_result r;
        bool min_b, max_b;
        memset(&r, 0, sizeof(r));
        limits(&in, bound_min ? bound_min[i] : AHPA_CRON_UNSET,
               bound_max ? bound_max[i] : AHPA_CRON_UNSET, &r, &min_b, &max_b);
        int32_t p = held[i];
        out[i] = p < r.min_replicas ? r.min_replicas : p > r.max_replicas ? r.max_replicas : p;
    }
    free(raw);
    free(dem);
    return 0;
}
