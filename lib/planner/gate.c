/* The pieces of the policy that are plain arithmetic on plan series:
 * stabilisation, the stock HPA on a usage series, the gate rule and the
 * refit boundaries (definitions in ahpa/planner.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/mem.h"
#include "ahpa/planner.h"
#include "ahpa/timefmt.h"
#include "planner_int.h"

const char *ahpa_planner_gate_name(enum ahpa_planner_gate_choice g)
{
    static const char *const names[] = {"combined", "proactive", "reactive"};
    return (unsigned)g < AHPA_PLANNER_GATE_COUNT ? names[g] : "unknown";
}

size_t ahpa_planner_window_steps(int64_t window_s, int64_t step_s)
{
    if (step_s <= 0 || window_s <= 0)
        return 1;
    int64_t w = (window_s + step_s - 1) / step_s;
    return w < 1 ? 1 : (size_t)w;
}

int64_t ahpa_planner_refit_boundary(int64_t t, int64_t refit_s, int64_t offset_s,
                                    int64_t step_s)
{
    if (refit_s <= 0 || step_s <= 0)
        return t;
    int64_t b = ahpa_floor_div(t - offset_s, refit_s) * refit_s + offset_s;
    return ahpa_floor_div(b, step_s) * step_s;
}

int32_t ahpa_planner_hold_step(int32_t prev, const int32_t *raw, const double *demand,
                               size_t i, size_t w, double tolerance)
{
    if (w < 1)
        w = 1;
    int32_t high = -1;
    double dem = -INFINITY;
    for (size_t j = i + 1 >= w ? i + 1 - w : 0; j <= i; j++) {
        if (raw[j] < 0)
            continue;
        if (raw[j] > high)
            high = raw[j];
        if (demand != NULL && demand[j] > dem)
            dem = demand[j];
    }
    if (prev < 0 || high >= prev)
        return high >= 0 ? high : prev; /* scale up at once, or hold */
    if (raw[i] < 0)
        return prev;
    if (demand == NULL)
        return high; /* the window alone: the stock HPA */
    /* down only once one pod fewer keeps the tolerance's headroom, then
     * to the pods the window's demand needs */
    if (dem > (double)(prev - 1) * (1 - tolerance))
        return prev;
    int32_t to = ahpa_planner__pods_for(dem);
    if (to < high)
        to = high;
    return to < prev ? to : prev;
}

void ahpa_planner_hold(const int32_t *raw, const double *demand, size_t n, size_t w,
                       double tolerance, int32_t *out)
{
    int32_t prev = -1;
    for (size_t i = 0; i < n; i++)
        prev = out[i] = ahpa_planner_hold_step(prev, raw, demand, i, w, tolerance);
}

static int32_t clamp_pods(int32_t p, int32_t lo, int32_t hi)
{
    return p < lo ? lo : p > hi ? hi : p;
}

void ahpa_planner_hpa_series(const double *usage, size_t n, double target, double tolerance,
                             size_t w, int32_t initial, int32_t min_replicas,
                             int32_t max_replicas, int32_t *out)
{
    /* the raw recommendations of the last w steps, newest last */
    int32_t ring[AHPA_PLANNER_HISTORY_MAX * 4];
    size_t cap = sizeof(ring) / sizeof(ring[0]), have = 0, head = 0;
    if (w > cap)
        w = cap;
    if (w < 1)
        w = 1;
    int32_t cur = clamp_pods(initial, min_replicas, max_replicas);
    for (size_t i = 0; i < n; i++) {
        int32_t rec = cur;
        if (isfinite(usage[i]) && usage[i] >= 0) {
            double ratio = cur > 0 ? usage[i] / cur / target : INFINITY;
            if (!(fabs(ratio - 1.0) <= tolerance))
                rec = clamp_pods(ahpa_planner__pods_for(usage[i] / target), min_replicas,
                                 max_replicas);
        }
        ring[head] = rec;
        head = (head + 1) % w;
        if (have < w)
            have++;
        int32_t d = rec;
        for (size_t k = 0; k < have; k++)
            if (ring[k] > d)
                d = ring[k];
        out[i] = d;
        cur = d;
    }
}

/* Ready pods: a scale-up is ready `startup` steps later, a scale-down at
 * once, i.e. ready[i] = min(plan[i - startup .. i]). Scores candidate g. */
static void score(const int32_t *plan, const int32_t *needed, size_t n, size_t startup,
                  struct ahpa_planner_gate *o, int g)
{
    for (size_t i = 0; i < n; i++) {
        int32_t ready = plan[i];
        for (size_t j = 1; j <= startup && j <= i; j++)
            if (plan[i - j] < ready)
                ready = plan[i - j];
        if (i > 0 && plan[i] != plan[i - 1])
            o->actions[g] += 1;
        if (needed[i] < 0)
            continue;
        o->pod_steps[g] += ready;
        if (ready < needed[i]) {
            o->under[g] += 1;
            o->under_depth[g] += needed[i] - ready;
        } else {
            o->over_depth[g] += ready - needed[i];
        }
    }
}

void ahpa_planner_gate_decide(const int32_t *needed, const int32_t *proactive,
                              const double *pro_demand, const int32_t *reactive, size_t n,
                              size_t w, size_t startup, double q, double tolerance,
                              struct ahpa_planner_gate *out)
{
    memset(out, 0, sizeof(*out));
    out->choice = AHPA_PLANNER_GATE_COMBINED;
    if (n == 0)
        return;
    int32_t *raw = ahpa_malloc(2 * n * sizeof(*raw));
    int32_t *plan = raw + n;
    double *dem = ahpa_malloc(n * sizeof(*dem));
    for (int g = 0; g < AHPA_PLANNER_GATE_COUNT; g++) {
        for (size_t i = 0; i < n; i++) {
            bool pro = proactive[i] >= 0 && g != AHPA_PLANNER_GATE_REACTIVE;
            bool react = !pro || g == AHPA_PLANNER_GATE_COMBINED;
            raw[i] = -1;
            dem[i] = -INFINITY;
            if (pro) {
                raw[i] = proactive[i];
                dem[i] = pro_demand[i];
            }
            if (react && reactive[i] > raw[i])
                raw[i] = reactive[i];
            if (react && (double)reactive[i] > dem[i])
                dem[i] = (double)reactive[i];
        }
        if (g == AHPA_PLANNER_GATE_REACTIVE)
            memcpy(plan, raw, n * sizeof(*plan)); /* already the HPA's */
        else
            ahpa_planner_hold(raw, dem, n, w, tolerance, plan);
        score(plan, needed, n, startup, out, g);
        out->loss[g] = q * out->under_depth[g] + (1 - q) * out->over_depth[g];
    }
    free(raw);
    free(dem);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += needed[i] >= 0;
    out->steps = m;
    out->measured = m > 0;
    /* ties go to reactive, then proactive, then combined */
    static const enum ahpa_planner_gate_choice order[] = {
        AHPA_PLANNER_GATE_REACTIVE, AHPA_PLANNER_GATE_PROACTIVE, AHPA_PLANNER_GATE_COMBINED};
    out->choice = order[0];
    for (size_t k = 1; k < 3; k++)
        if (out->loss[order[k]] < out->loss[out->choice])
            out->choice = order[k];
}
