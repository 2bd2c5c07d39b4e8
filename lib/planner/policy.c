/* The policy: one decision per step from the history (definitions in
 * ahpa/planner.h, the gate's reasons in lib/forecast/README.md).
 *
 * The cache of a workload is rebuilt whenever the refit boundary or a
 * parameter changes: a replay of the last day before the boundary (the
 * gate, and the proactive plans issued in that day), then the model fitted
 * on the whole window. Between boundaries the model is fed the settled
 * samples one by one and each step's proactive peak is recorded before the
 * step is fed, exactly as the replay does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/forecast.h"
#include "ahpa/mem.h"
#include "ahpa/planner.h"
#include "ahpa/timefmt.h"
#include "planner_int.h"

/* The gate replays at most one day (the longest cycle most loads have)
 * and needs this many steps of it, and as many to fit on before it. */
#define REPLAY_S 86400
#define REPLAY_MIN_STEPS 60
/* Proactive peaks kept: a replay day plus the steps up to the next
 * boundary; when a boundary never comes the oldest are dropped. */
#define PEAKS_MAX (1u << 20)

struct ahpa_planner_policy {
    bool built;
    /* the key the cache was built for */
    int64_t boundary_s, step_s, history_s, startup_s, forward_s, window_s;
    double quantile, target, tolerance;
    int32_t min_replicas, max_replicas;
    enum ahpa_planner_strategy strategy; /* of the chain of stabilised plans */
    struct ahpa_forecast_model *model;
    bool model_ok;
    size_t fits;           /* fits run here (ahpa_planner_policy_fits) */
    /* a caller's fit for adopted_b (ahpa_planner_policy_adopt_fit): its
     * window (first sample, count) and a hash of the window's values */
    struct ahpa_forecast_model *adopted;
    int64_t adopted_b, adopted_t0_s;
    size_t adopted_n;
    uint64_t adopted_hash;
    int64_t fed_until_s;   /* last sample the model has seen */
    /* Per step from peak_t0_s: the q-forecast peak over [t, t + K steps]
     * issued at t (NaN: unknown), the raw plan and its demand in pods
     * (ahpa_planner_hold_step), and the stabilised plan (-1: none). The
     * chain of stabilised plans runs from the first step to chain_next_s
     * (excluded); the step in progress is never recorded. */
    double *peak, *dem;
    int32_t *raw, *held;
    size_t npeak, cap;
    int64_t peak_t0_s, chain_next_s;
    struct ahpa_planner_gate gate;
    double *q;             /* forecast scratch of issue() */
    size_t qcap;
};

struct ahpa_planner_policy *ahpa_planner_policy_new(void)
{
    struct ahpa_planner_policy *p = ahpa_calloc(1, sizeof(*p));
    return p;
}

void ahpa_planner_policy_free(struct ahpa_planner_policy *p)
{
    if (p == NULL)
        return;
    ahpa_forecast_free(p->model);
    ahpa_forecast_free(p->adopted);
    free(p->peak);
    free(p->dem);
    free(p->raw);
    free(p->held);
    free(p->q);
    free(p);
}

/* ---- views and peaks ------------------------------------------------- */

static double view_at(const struct ahpa_planner_view *v, int64_t step, int64_t t)
{
    if (v == NULL || v->n == 0 || t < v->t0_s || (t - v->t0_s) % step != 0)
        return NAN;
    uint64_t i = (uint64_t)((t - v->t0_s) / step);
    return i < v->n ? v->v[i] : NAN;
}

/* Index of step t in the per-step arrays, growing them (new steps
 * unknown); -1 for a step before them. */
static int64_t slot(struct ahpa_planner_policy *p, int64_t t)
{
    if (p->npeak == 0) {
        p->peak_t0_s = t;
        p->chain_next_s = t;
    }
    int64_t idx = (t - p->peak_t0_s) / p->step_s;
    if (idx < 0)
        return -1;
    if ((size_t)idx >= PEAKS_MAX) { /* drop the older half */
        size_t drop = p->npeak / 2, keep = p->npeak - drop;
        memmove(p->peak, p->peak + drop, keep * sizeof(double));
        memmove(p->dem, p->dem + drop, keep * sizeof(double));
        memmove(p->raw, p->raw + drop, keep * sizeof(int32_t));
        memmove(p->held, p->held + drop, keep * sizeof(int32_t));
        p->npeak = keep;
        p->peak_t0_s += (int64_t)drop * p->step_s;
        idx -= (int64_t)drop;
    }
    while (p->npeak <= (size_t)idx) {
        if (p->npeak == p->cap) {
            p->cap = p->cap ? 2 * p->cap : 2048;
            p->peak = ahpa_reallocarray(p->peak, p->cap, sizeof(double));
            p->dem = ahpa_reallocarray(p->dem, p->cap, sizeof(double));
            p->raw = ahpa_reallocarray(p->raw, p->cap, sizeof(int32_t));
            p->held = ahpa_reallocarray(p->held, p->cap, sizeof(int32_t));
        }
        p->peak[p->npeak] = NAN;
        p->dem[p->npeak] = -INFINITY;
        p->raw[p->npeak] = p->held[p->npeak] = -1;
        p->npeak++;
    }
    return idx;
}

static void peak_put(struct ahpa_planner_policy *p, int64_t t, double v)
{
    int64_t i = slot(p, t);
    if (i >= 0)
        p->peak[i] = v;
}

static double peak_get(const struct ahpa_planner_policy *p, int64_t t)
{
    if (p->npeak == 0 || t < p->peak_t0_s)
        return NAN;
    size_t idx = (size_t)((t - p->peak_t0_s) / p->step_s);
    return idx < p->npeak ? p->peak[idx] : NAN;
}

static size_t lead_steps(const struct ahpa_planner_policy *p)
{
    int64_t k = (p->forward_s + p->step_s - 1) / p->step_s;
    return (size_t)(k < 1 ? 1 : k);
}

/* The peak of the q-forecast over the next K + 1 steps of a model fed up
 * to the step before (at most the engine's 24 h); NaN when the model has
 * no forecast. */
static double issue(struct ahpa_planner_policy *p, const struct ahpa_forecast_model *m)
{
    size_t k = lead_steps(p) + 1, kmax = (size_t)(AHPA_FORECAST_MAX_HORIZON_S / p->step_s);
    if (k > kmax)
        k = kmax;
    if (k > p->qcap) {
        p->q = ahpa_reallocarray(p->q, k, sizeof(double));
        p->qcap = k;
    }
    if (ahpa_forecast_predict(m, k, p->quantile, NULL, p->q, NULL) != 0)
        return NAN;
    return ahpa_planner__peak_of(p->q, k);
}

/* ---- rebuild at a boundary ----------------------------------------- */

static int32_t pods_clamped(const struct ahpa_planner_policy *p, double load)
{
    int32_t n = ahpa_planner__pods_for(load / p->target);
    return n < p->min_replicas ? p->min_replicas : n > p->max_replicas ? p->max_replicas : n;
}

/* The gate's replay over v[from..n): a model fitted on v[0..from), fed
 * step by step, each step's proactive plan issued before its sample. */
static void replay(struct ahpa_planner_policy *p, const double *v, size_t n, size_t from,
                   int64_t t0)
{
    size_t d = n - from;
    struct ahpa_forecast_model *m = ahpa_forecast_model_new(NULL);
    int32_t *needed = ahpa_malloc(3 * d * sizeof(int32_t));
    int32_t *pro = needed + d, *react = pro + d;
    double *pro_dem = ahpa_malloc(d * sizeof(double));
    p->gate = (struct ahpa_planner_gate){.choice = AHPA_PLANNER_GATE_COMBINED};
    p->fits++;
    if (ahpa_forecast_fit(m, v, from, t0, p->step_s, NULL) == 0) {
        for (size_t i = 0; i < d; i++) {
            double pk = issue(p, m);
            peak_put(p, t0 + (int64_t)(from + i) * p->step_s, pk);
            ahpa_forecast_update(m, isfinite(v[from + i]) ? v[from + i] : NAN, NULL);
            needed[i] = isfinite(v[from + i]) ? pods_clamped(p, v[from + i]) : -1;
            pro[i] = isfinite(pk) ? pods_clamped(p, pk) : -1;
            pro_dem[i] = pk / p->target;
        }
        double first = v[from > 0 ? from - 1 : 0];
        ahpa_planner_hpa_series(v + from, d, p->target, p->tolerance,
                                ahpa_planner_window_steps(p->window_s, p->step_s),
                                isfinite(first) ? pods_clamped(p, first) : p->min_replicas,
                                p->min_replicas, p->max_replicas, react);
        size_t startup = (size_t)((p->startup_s + p->step_s - 1) / p->step_s);
        ahpa_planner_gate_decide(needed, pro, pro_dem, react, d,
                                 ahpa_planner_window_steps(p->window_s, p->step_s), startup,
                                 p->quantile, p->tolerance, &p->gate);
    }
    free(needed);
    free(pro_dem);
    ahpa_forecast_free(m);
}

/* The history window of boundary b, as the controller fits it: the
 * samples in [b - history_s, b] the view holds, from index *i0, *n of
 * them (at least 2); false when there are not two. */
static bool fit_window(const struct ahpa_planner_view *u, int64_t b, int64_t history_s,
                       int64_t step, size_t *i0, size_t *n)
{
    if (u->n == 0 || b < u->t0_s)
        return false;
    int64_t from = b - history_s;
    size_t a = from > u->t0_s ? (size_t)((from - u->t0_s) / step) : 0;
    size_t i1 = (size_t)((b - u->t0_s) / step);
    if (i1 >= u->n)
        i1 = u->n - 1;
    if (a >= u->n || i1 < a + 1)
        return false;
    *i0 = a;
    *n = i1 - a + 1;
    return true;
}

/* FNV-1a over the bits of the values, 8 bytes at a time (a check that two
 * windows hold the same samples, not a defence against an adversary). */
static uint64_t window_hash(const double *v, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < n; i++) {
        uint64_t b;
        memcpy(&b, &v[i], sizeof(b));
        h = (h ^ b) * UINT64_C(1099511628211);
        h ^= h >> 29;
    }
    return h;
}

void ahpa_planner_policy_adopt_fit(struct ahpa_planner_policy *p,
                                   const struct ahpa_planner_policy_cfg *cfg,
                                   const struct ahpa_planner_view *usage, int64_t boundary_s,
                                   const struct ahpa_forecast_model *m)
{
    if (p == NULL)
        return;
    ahpa_forecast_free(p->adopted);
    p->adopted = NULL;
    if (cfg == NULL || usage == NULL || m == NULL || cfg->step_s <= 0 ||
        (usage->n > 0 && usage->v == NULL))
        return;
    size_t i0, n;
    if (!fit_window(usage, boundary_s, cfg->history_s, cfg->step_s, &i0, &n))
        return;
    int64_t t0 = usage->t0_s + (int64_t)i0 * cfg->step_s;
    struct ahpa_forecast_info info;
    ahpa_forecast_describe(m, &info);
    size_t kept = n < AHPA_FORECAST_MAX_HISTORY ? n : AHPA_FORECAST_MAX_HISTORY;
    if (info.method == AHPA_FORECAST_METHOD_NONE || info.step_s != cfg->step_s ||
        info.history_steps != kept || info.next_t_s != t0 + (int64_t)n * cfg->step_s)
        return;
    p->adopted = ahpa_forecast_model_new(NULL);
    ahpa_forecast_copy(p->adopted, m);
    p->adopted_b = boundary_s;
    p->adopted_t0_s = t0;
    p->adopted_n = n;
    p->adopted_hash = window_hash(usage->v + i0, n);
}

size_t ahpa_planner_policy_fits(const struct ahpa_planner_policy *p)
{
    return p ? p->fits : 0;
}

/* The window's model: a copy of the adopted fit when it is the fit of
 * this very window, else a fit of our own. The adopted copy is used once. */
static int window_model(struct ahpa_planner_policy *p, const double *v, size_t n, int64_t t0)
{
    struct ahpa_forecast_model *a = p->adopted;
    p->adopted = NULL;
    int rc;
    if (a != NULL && p->adopted_b == p->boundary_s && p->adopted_t0_s == t0 &&
        p->adopted_n == n && p->adopted_hash == window_hash(v, n)) {
        ahpa_forecast_copy(p->model, a);
        rc = 0;
    } else {
        p->fits++;
        rc = ahpa_forecast_fit(p->model, v, n, t0, p->step_s, NULL);
    }
    ahpa_forecast_free(a);
    return rc;
}

static void rebuild(struct ahpa_planner_policy *p, const struct ahpa_planner_view *u)
{
    const int64_t step = p->step_s, b = p->boundary_s;
    p->built = true;
    p->model_ok = false;
    p->npeak = 0;
    p->gate = (struct ahpa_planner_gate){.choice = AHPA_PLANNER_GATE_COMBINED};
    size_t i0, n;
    if (!fit_window(u, b, p->history_s, step, &i0, &n))
        return;
    const double *v = u->v + i0;
    int64_t t0 = u->t0_s + (int64_t)i0 * step;
    size_t d = (size_t)(REPLAY_S / step);
    if (d > n / 2)
        d = n / 2;
    if (d >= REPLAY_MIN_STEPS)
        replay(p, v, n, n - d, t0);
    if (p->model == NULL)
        p->model = ahpa_forecast_model_new(NULL);
    if (window_model(p, v, n, t0) == 0) {
        p->model_ok = true;
        p->fed_until_s = t0 + (int64_t)(n - 1) * step;
    }
}

/* Feeds the settled samples (before `end`) and issues the peak of `end`. */
static void advance(struct ahpa_planner_policy *p, const struct ahpa_planner_view *u,
                    int64_t end)
{
    if (!p->model_ok)
        return;
    for (int64_t t = p->fed_until_s + p->step_s; t < end; t += p->step_s) {
        peak_put(p, t, issue(p, p->model));
        double v = view_at(u, p->step_s, t);
        ahpa_forecast_update(p->model, isfinite(v) ? v : NAN, NULL);
        p->fed_until_s = t;
    }
    if (p->fed_until_s + p->step_s == end)
        peak_put(p, end, issue(p, p->model));
}

static bool same_key(const struct ahpa_planner_policy *p, const struct ahpa_planner_policy_cfg *c,
                     int64_t startup, int64_t boundary, const struct ahpa_planner_input *in)
{
    return p->built && p->boundary_s == boundary && p->step_s == c->step_s &&
           p->history_s == c->history_s && p->startup_s == startup &&
           p->forward_s == in->scale_up_forward_s && p->window_s == in->stabilization_s &&
           p->quantile == c->quantile && p->target == in->target &&
           p->tolerance == in->tolerance && p->min_replicas == in->min_replicas &&
           p->max_replicas == in->max_replicas;
}

static void set_key(struct ahpa_planner_policy *p, const struct ahpa_planner_policy_cfg *c,
                    int64_t startup, int64_t boundary, const struct ahpa_planner_input *in)
{
    p->boundary_s = boundary;
    p->step_s = c->step_s;
    p->history_s = c->history_s;
    p->startup_s = startup;
    p->forward_s = in->scale_up_forward_s;
    p->window_s = in->stabilization_s;
    p->quantile = c->quantile;
    p->target = in->target;
    p->tolerance = in->tolerance;
    p->min_replicas = in->min_replicas;
    p->max_replicas = in->max_replicas;
}

/* ---- one decision ---------------------------------------------------- */

/* The stock HPA's raw recommendation for usage u on cur replicas; -1 when
 * u is unknown. Sets the tolerance / from-zero flags when asked. */
static int32_t hpa_raw(double u, int32_t cur, double target, double tol, unsigned *flags)
{
    if (!isfinite(u) || u < 0)
        return -1;
    if (cur <= 0) {
        if (flags)
            *flags |= AHPA_PLANNER_F_FROM_ZERO;
        return ahpa_planner__pods_for(u / target);
    }
    double ratio = u / cur / target;
    if (fabs(ratio - 1.0) <= tol) {
        if (flags)
            *flags |= AHPA_PLANNER_F_TOLERANCE;
        return cur;
    }
    return ahpa_planner__pods_for(u / target);
}

static enum ahpa_planner_gate_choice choice_of(const struct ahpa_planner_policy *p,
                                               enum ahpa_planner_strategy s)
{
    if (s == AHPA_PLANNER_REACTIVE)
        return AHPA_PLANNER_GATE_REACTIVE;
    if (s == AHPA_PLANNER_PROACTIVE)
        return AHPA_PLANNER_GATE_PROACTIVE;
    return p->gate.choice;
}

/* The raw plan of one step: the choice of the two terms (either may be
 * unknown, -1). */
static int32_t combine(enum ahpa_planner_gate_choice g, int32_t pro, int32_t react)
{
    if (pro < 0 || g == AHPA_PLANNER_GATE_REACTIVE)
        return react;
    if (react < 0 || g == AHPA_PLANNER_GATE_PROACTIVE)
        return pro;
    return pro > react ? pro : react;
}

/* The raw plan of step t and its demand in pods from the two terms
 * (either may be unknown: pro < 0, react < 0). */
static void raw_plan(enum ahpa_planner_gate_choice g, int32_t pro, double pro_dem, int32_t react,
                     int32_t *raw, double *dem)
{
    *raw = combine(g, pro, react);
    *dem = -INFINITY;
    if (pro >= 0 && g != AHPA_PLANNER_GATE_REACTIVE)
        *dem = pro_dem;
    if (react >= 0 && (*dem < (double)react) &&
        (pro < 0 || g != AHPA_PLANNER_GATE_PROACTIVE))
        *dem = (double)react;
}

/* The reactive term of a past step from the history (-1: unknown). */
static int32_t react_at(const struct ahpa_planner_policy *p, const struct ahpa_planner_view *u,
                        const struct ahpa_planner_view *r, int64_t s)
{
    double rep = view_at(r, p->step_s, s);
    if (!(rep >= 0 && rep <= INT32_MAX))
        return -1;
    return hpa_raw(view_at(u, p->step_s, s), (int32_t)nearbyint(rep), p->target, p->tolerance,
                   NULL);
}

/* Stabilised plan of slot i from the one before (demand NULL for the
 * reactive choice: the stock HPA's window alone). */
static int32_t hold_at(const struct ahpa_planner_policy *p, enum ahpa_planner_gate_choice g,
                       size_t i)
{
    int32_t prev = i > 0 ? p->held[i - 1] : -1;
    size_t w = ahpa_planner_window_steps(p->window_s, p->step_s);
    return ahpa_planner_hold_step(prev, p->raw, g == AHPA_PLANNER_GATE_REACTIVE ? NULL : p->dem,
                                  i, w, p->tolerance);
}

/* Extends the chain of stabilised plans over the settled steps before
 * `end`, from the history only. */
static void chain(struct ahpa_planner_policy *p, const struct ahpa_planner_view *u,
                  const struct ahpa_planner_view *r, enum ahpa_planner_gate_choice g, int64_t end)
{
    for (int64_t s = p->chain_next_s; s < end && p->npeak > 0; s += p->step_s) {
        int64_t i = slot(p, s);
        if (i < 0)
            continue;
        double pk = g == AHPA_PLANNER_GATE_REACTIVE ? NAN : p->peak[i];
        int32_t pro = isfinite(pk) ? ahpa_planner__pods_for(pk / p->target) : -1;
        raw_plan(g, pro, pk / p->target, react_at(p, u, r, s), &p->raw[i], &p->dem[i]);
        p->held[i] = hold_at(p, g, (size_t)i);
        p->chain_next_s = s + p->step_s;
    }
}

/* The reactive terms of the window before `end`, highest (the stock
 * HPA's stabilisation). */
static int32_t react_window(const struct ahpa_planner_policy *p, const struct ahpa_planner_view *u,
                            const struct ahpa_planner_view *r, int64_t end)
{
    size_t w = ahpa_planner_window_steps(p->window_s, p->step_s);
    int32_t best = -1;
    for (size_t j = 1; j < w; j++) {
        int32_t x = react_at(p, u, r, end - (int64_t)j * p->step_s);
        if (x > best)
            best = x;
    }
    return best;
}

static void say_gate(const struct ahpa_planner_policy *p, const struct ahpa_planner_input *in,
                     struct ahpa_planner_result *r)
{
    if (in->strategy != AHPA_PLANNER_AUTO && in->strategy != AHPA_PLANNER_OBSERVER)
        return;
    if (!p->gate.measured)
        ahpa_planner__text_add(r, "gate combined (too little history to measure): ");
    else
        ahpa_planner__text_add(r, "gate %s (steps short of %zu replayed: proactive %.0f, "
                               "reactive %.0f, max %.0f): ",
                               ahpa_planner_gate_name(p->gate.choice), p->gate.steps,
                               p->gate.under[AHPA_PLANNER_GATE_PROACTIVE],
                               p->gate.under[AHPA_PLANNER_GATE_REACTIVE],
                               p->gate.under[AHPA_PLANNER_GATE_COMBINED]);
}

/* Terms, choice and stabilisation of the step `end` (its slot holds this
 * step's raw plan until the step settles and the chain recomputes it from
 * the history). */
static void decide(struct ahpa_planner_policy *p, const struct ahpa_planner_view *u,
                   const struct ahpa_planner_view *rep, const struct ahpa_planner_input *in,
                   int64_t end, struct ahpa_planner_result *r)
{
    enum ahpa_planner_gate_choice g = choice_of(p, in->strategy);
    r->gate = (int)g;
    r->forecast_peak = p->model_ok ? peak_get(p, end) : NAN;
    r->proactive = isfinite(r->forecast_peak)
                       ? ahpa_planner__pods_for(r->forecast_peak / in->target) : -1;
    if (r->proactive < 0)
        r->flags |= AHPA_PLANNER_F_NO_FORECAST;
    if (in->strategy == AHPA_PLANNER_OBSERVER)
        r->flags |= AHPA_PLANNER_F_NOT_APPLIED;
    r->reactive_raw = hpa_raw(in->usage, in->current_replicas, in->target, in->tolerance,
                              &r->flags);
    if (r->reactive_raw < 0)
        r->flags |= AHPA_PLANNER_F_USAGE_UNKNOWN;
    int32_t react_now = r->reactive_raw >= 0 ? r->reactive_raw : in->current_replicas;
    int32_t held_react = react_window(p, u, rep, end);
    int32_t raw;
    double dem;
    raw_plan(g, g == AHPA_PLANNER_GATE_REACTIVE ? -1 : r->proactive,
             r->forecast_peak / in->target, react_now, &raw, &dem);
    int32_t held = raw;
    int64_t i = slot(p, end);
    if (i >= 0) {
        p->raw[i] = raw;
        p->dem[i] = dem;
        held = hold_at(p, g, (size_t)i);
    }
    bool pro_wins = g != AHPA_PLANNER_GATE_REACTIVE && r->proactive >= 0 &&
                    (g == AHPA_PLANNER_GATE_PROACTIVE || r->proactive >= react_now);
    say_gate(p, in, r);
    if (g != AHPA_PLANNER_GATE_REACTIVE && r->proactive < 0)
        ahpa_planner__text_add(r, "no forecast, falling back to reactive: ");
    r->reactive = react_now;
    if (pro_wins)
        ahpa_planner__say_proactive(in, r);
    else
        ahpa_planner__say_reactive(in, r);
    r->reactive = held_react > react_now ? held_react : react_now;
    r->unclamped = raw;
    if (held > raw) {
        r->flags |= AHPA_PLANNER_F_STABILIZED;
        r->reason = AHPA_PLANNER_R_STABILIZED;
        r->unclamped = held;
        ahpa_planner__text_add(r, "; down to %d held (window %llds, tolerance %.0f%%) -> %d pods",
                               (int)raw,
                               (long long)in->stabilization_s, in->tolerance * 100, (int)held);
    }
}

int ahpa_planner_policy_plan(struct ahpa_planner_policy *p,
                             const struct ahpa_planner_policy_cfg *cfg,
                             const struct ahpa_planner_view *usage,
                             const struct ahpa_planner_view *replicas, int64_t boundary_s,
                             const struct ahpa_planner_input *in,
                             struct ahpa_planner_result *out, struct ahpa_error *err)
{
    if (p == NULL || cfg == NULL || usage == NULL || in == NULL || out == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "planner: no input");
    if (cfg->step_s < AHPA_FORECAST_MIN_STEP_S || cfg->step_s > AHPA_FORECAST_MAX_STEP_S ||
        cfg->history_s < cfg->step_s || !(cfg->quantile > 0 && cfg->quantile < 1) ||
        (usage->n > 0 && usage->v == NULL) || in->scale_up_forward_s < 0 ||
        (replicas != NULL && replicas->n > 0 && replicas->v == NULL) ||
        (usage->n > 0 && ahpa_floor_div(usage->t0_s, cfg->step_s) * cfg->step_s != usage->t0_s) ||
        (replicas != NULL && replicas->n > 0 &&
         ahpa_floor_div(replicas->t0_s, cfg->step_s) * cfg->step_s != replicas->t0_s))
        return ahpa_error_set(err, AHPA_EINVAL, "planner: bad policy configuration");
    int rc = ahpa_planner__check_input(in, err);
    if (rc < 0)
        return rc;
    int64_t startup = cfg->startup_s > 0 ? cfg->startup_s : in->scale_up_forward_s;
    if (!same_key(p, cfg, startup, boundary_s, in)) {
        set_key(p, cfg, startup, boundary_s, in);
        rebuild(p, usage);
        p->strategy = in->strategy;
    }
    if (p->strategy != in->strategy) { /* the chain only: from its first step */
        p->strategy = in->strategy;
        p->chain_next_s = p->peak_t0_s;
    }
    int64_t end = ahpa_floor_div(in->now_s, cfg->step_s) * cfg->step_s;
    advance(p, usage, end);
    chain(p, usage, replicas, choice_of(p, in->strategy), end);
    struct ahpa_planner_result r;
    memset(&r, 0, sizeof(r));
    decide(p, usage, replicas, in, end, &r);
    ahpa_planner__clamp(in, &r);
    *out = r;
    return 0;
}
