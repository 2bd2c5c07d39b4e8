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

/* out[i] = max(raw[j], j in (i - w, i]); O(n w), w is small (<= 240). */
void ahpa_planner_stabilize(const int32_t *raw, size_t n, size_t w, int32_t *out)
{
    if (w < 1)
        w = 1;
    for (size_t i = 0; i < n; i++) {
        int32_t best = -1;
        size_t lo = i + 1 >= w ? i + 1 - w : 0;
        for (size_t j = lo; j <= i; j++)
            if (raw[j] > best)
                best = raw[j];
        out[i] = best;
    }
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
 * once, i.e. ready[i] = min(plan[i - startup .. i]). Scores one candidate. */
static void score(const int32_t *plan, const int32_t *needed, size_t n, size_t startup,
                  double *under, double *pod_steps, double *actions)
{
    *under = *pod_steps = *actions = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t ready = plan[i];
        for (size_t j = 1; j <= startup && j <= i; j++)
            if (plan[i - j] < ready)
                ready = plan[i - j];
        if (i > 0 && plan[i] != plan[i - 1])
            *actions += 1;
        if (needed[i] < 0)
            continue;
        *pod_steps += ready;
        if (ready < needed[i])
            *under += 1;
    }
}

void ahpa_planner_gate_decide(const int32_t *needed, const int32_t *proactive,
                              const int32_t *reactive, size_t n, size_t w, size_t startup,
                              double q, struct ahpa_planner_gate *out)
{
    memset(out, 0, sizeof(*out));
    out->choice = AHPA_PLANNER_GATE_COMBINED;
    if (n == 0)
        return;
    int32_t *raw = ahpa_malloc(2 * n * sizeof(*raw));
    int32_t *plan = raw + n;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += needed[i] >= 0;
    for (int g = 0; g < AHPA_PLANNER_GATE_COUNT; g++) {
        for (size_t i = 0; i < n; i++) {
            int32_t p = proactive[i] >= 0 ? proactive[i] : reactive[i];
            raw[i] = g == AHPA_PLANNER_GATE_REACTIVE  ? reactive[i]
                     : g == AHPA_PLANNER_GATE_PROACTIVE ? p
                     : p > reactive[i]                  ? p
                                                        : reactive[i];
        }
        if (g == AHPA_PLANNER_GATE_REACTIVE)
            memcpy(plan, raw, n * sizeof(*plan));
        else
            ahpa_planner_stabilize(raw, n, w, plan);
        score(plan, needed, n, startup, &out->under[g], &out->pod_steps[g], &out->actions[g]);
    }
    free(raw);
    out->steps = m;
    out->measured = m > 0;
    out->slack = sqrt((double)m * q * (1 - q));
    double fewest = out->under[0];
    for (int g = 1; g < AHPA_PLANNER_GATE_COUNT; g++)
        if (out->under[g] < fewest)
            fewest = out->under[g];
    /* ties go to reactive, then proactive, then combined */
    static const enum ahpa_planner_gate_choice order[] = {
        AHPA_PLANNER_GATE_REACTIVE, AHPA_PLANNER_GATE_PROACTIVE, AHPA_PLANNER_GATE_COMBINED};
    bool have = false;
    for (size_t k = 0; k < 3; k++) {
        enum ahpa_planner_gate_choice g = order[k];
        if (out->under[g] > fewest + out->slack)
            continue;
        if (!have || out->pod_steps[g] < out->pod_steps[out->choice]) {
            out->choice = g;
            have = true;
        }
    }
}
