/* Unit tests of the policy (lib/planner/gate.c, policy.c): the
 * stabilisation with hysteresis, the stock HPA series, the gate rule on
 * hand-computed replays, and the policy's independence of its uptime.
 * Expected values are worked out by hand beside them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/forecast.h"
#include "ahpa/planner.h"
#include "unit.h"

void planner_policy_tests(TCase *tc);

static void assert_series(const int32_t *got, const int32_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "step %zu: got %d, want %d", i, (int)got[i],
                      (int)want[i]);
}

START_TEST(hold_scales_up_at_once_and_down_after_the_window)
{
    /* w = 3: the 5 of step 0 is in the windows of steps 0..2; at step 3
     * the window [1, 3] has H = 3 < 5 and D = 2.5 <= (5 - 1) * 0.9 = 3.6,
     * so the plan goes to max(H, needed(2.5)) = 3. */
    int32_t raw[] = {5, 3, 3, 3, 3, 3, 3}, out[7];
    double dem[] = {5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5};
    ahpa_planner_hold(raw, dem, 7, 3, 0.1, out);
    assert_series(out, (int32_t[]){5, 5, 5, 3, 3, 3, 3}, 7);
    /* a rise is followed at once, whatever the window */
    int32_t up[] = {2, 6, 7};
    double upd[] = {2, 6, 7};
    ahpa_planner_hold(up, upd, 3, 5, 0.1, out);
    assert_series(out, (int32_t[]){2, 6, 7}, 3);
}
END_TEST

START_TEST(hold_keeps_the_tolerance_headroom)
{
    /* w = 1 (no window): from 3 pods, a demand of 1.95 pods is above
     * (3 - 1) * 0.9 = 1.8: one pod fewer would leave less than 10 %
     * headroom, so 3 stays; at 1.7 it goes to needed(1.7) = 2. */
    int32_t raw[] = {3, 2, 2, 2, 2, 2}, out[6];
    double dem[] = {3, 1.95, 1.95, 1.95, 1.7, 1.7};
    ahpa_planner_hold(raw, dem, 6, 1, 0.1, out);
    assert_series(out, (int32_t[]){3, 3, 3, 3, 2, 2}, 6);
    /* without demand the window alone decides (the stock HPA) */
    int32_t hpa[] = {4, 2, 2};
    ahpa_planner_hold(hpa, NULL, 3, 2, 0.1, out);
    assert_series(out, (int32_t[]){4, 4, 2}, 3);
    /* an unknown raw plan holds the last one */
    int32_t unk[] = {4, -1, -1};
    ahpa_planner_hold(unk, NULL, 3, 1, 0.1, out);
    assert_series(out, (int32_t[]){4, 4, 4}, 3);
    /* one step: ahpa_planner_hold_step from a previous plan of 9 with a
     * demand of 7.9 <= 8 * 0.9 = 7.2? no: 9 is held; at 7.1 it drops to 8 */
    int32_t r1[] = {8};
    ck_assert_int_eq(ahpa_planner_hold_step(9, r1, (double[]){7.9}, 0, 1, 0.1), 9);
    ck_assert_int_eq(ahpa_planner_hold_step(9, r1, (double[]){7.1}, 0, 1, 0.1), 8);
}
END_TEST

START_TEST(hpa_series_by_hand)
{
    /* target 20, tolerance 0.1, window 2 steps, from 3 replicas:
     * 50/3/20 = 0.83 -> needed(2.5) = 3; 3; 100/3/20 = 1.67 -> 5;
     * 30/5/20 = 0.3 -> 2 but 5 is in the window -> 5; 2; 30/2/20 = 0.75 -> 2 */
    double u[] = {50, 50, 100, 30, 30, 30};
    int32_t out[6];
    ahpa_planner_hpa_series(u, 6, 20, 0.1, 2, 3, 1, 10, out);
    assert_series(out, (int32_t[]){3, 3, 5, 5, 2, 2}, 6);
}
END_TEST

START_TEST(gate_picks_the_least_loss)
{
    /* startup 1 step (ready = min(plan[i-1], plan[i])), w = 1, q = 0.95.
     * needed    2 2 4 4 2 2
     * reactive  2 2 2 4 4 2 -> ready 2 2 2 2 4 2: short 2+2 pod-steps at
     *           steps 2, 3; idle 2 at step 4: loss .95*4 + .05*2 = 3.9
     * proactive 2 4 4 4 2 2 (demand 1.5 3.5 3.5 3.5 1.5 1.5; at step 4
     *           1.5 <= 3 * 0.9, down to 2) -> ready 2 2 4 4 2 2: loss 0
     * combined  2 4 4 4 4 2 -> ready 2 2 4 4 4 2: idle 2: loss 0.1 */
    int32_t needed[] = {2, 2, 4, 4, 2, 2};
    int32_t pro[] = {2, 4, 4, 4, 2, 2};
    double dem[] = {1.5, 3.5, 3.5, 3.5, 1.5, 1.5};
    int32_t react[] = {2, 2, 2, 4, 4, 2};
    struct ahpa_planner_gate g;
    ahpa_planner_gate_decide(needed, pro, dem, react, 6, 1, 1, 0.95, 0.1, &g);
    ck_assert(g.measured);
    ck_assert_uint_eq(g.steps, 6);
    ck_assert_int_eq(g.choice, AHPA_PLANNER_GATE_PROACTIVE);
    ck_assert_double_eq_tol(g.loss[AHPA_PLANNER_GATE_REACTIVE], 3.9, 1e-9);
    ck_assert_double_eq_tol(g.loss[AHPA_PLANNER_GATE_PROACTIVE], 0, 1e-9);
    ck_assert_double_eq_tol(g.loss[AHPA_PLANNER_GATE_COMBINED], 0.1, 1e-9);
    ck_assert_double_eq(g.under[AHPA_PLANNER_GATE_REACTIVE], 2);
    ck_assert_double_eq(g.pod_steps[AHPA_PLANNER_GATE_REACTIVE], 14);
    ck_assert_double_eq(g.pod_steps[AHPA_PLANNER_GATE_PROACTIVE], 16);
    ck_assert_double_eq(g.actions[AHPA_PLANNER_GATE_REACTIVE], 2);
    /* a forecast that is always late loses to the HPA: proactive one step
     * behind the HPA's plan is short where the HPA is, and more */
    int32_t late[] = {2, 2, 2, 2, 4, 4};
    double late_dem[] = {2, 2, 2, 2, 4, 4};
    ahpa_planner_gate_decide(needed, late, late_dem, react, 6, 1, 1, 0.95, 0.1, &g);
    ck_assert_int_eq(g.choice, AHPA_PLANNER_GATE_REACTIVE);
    /* equal losses (proactive = the HPA's plan, its demand its pods):
     * reactive wins the tie */
    double react_dem[] = {2, 2, 2, 4, 4, 2};
    ahpa_planner_gate_decide(needed, react, react_dem, react, 6, 1, 1, 0.95, 0.1, &g);
    ck_assert_double_eq(g.loss[AHPA_PLANNER_GATE_PROACTIVE],
                        g.loss[AHPA_PLANNER_GATE_REACTIVE]);
    ck_assert_int_eq(g.choice, AHPA_PLANNER_GATE_REACTIVE);
    ck_assert_str_eq(ahpa_planner_gate_name(AHPA_PLANNER_GATE_COMBINED), "combined");
}
END_TEST

START_TEST(series_stable_holds_the_descent)
{
    /* forward 60 s = 1 step: raw = needed(max(f[i], f[i+1])) / 20 =
     * 5 5 2 2 2 2 2 2 (demand 5 5 2 ...); window 180 s = 3 steps: the 5 of
     * step 1 stays in the windows of steps 1..3; at step 4 the window
     * [2, 4] says 2 and 2 <= (5 - 1) * 0.9: down to 2. */
    double f[] = {100, 100, 40, 40, 40, 40, 40, 40};
    int32_t out[8];
    ck_assert_int_eq(ahpa_planner_series(f, 8, 60, 60, 20, 1, 10, NULL, NULL, out, NULL), 0);
    assert_series(out, (int32_t[]){5, 5, 2, 2, 2, 2, 2, 2}, 8);
    ck_assert_int_eq(ahpa_planner_series_stable(f, 8, 60, 60, 20, 180, 0.1, 1, 10, NULL, NULL,
                                                out, NULL), 0);
    assert_series(out, (int32_t[]){5, 5, 5, 5, 2, 2, 2, 2}, 8);
    /* the limits still clamp: max 4 */
    ck_assert_int_eq(ahpa_planner_series_stable(f, 8, 60, 60, 20, 180, 0.1, 1, 4, NULL, NULL,
                                                out, NULL), 0);
    assert_series(out, (int32_t[]){4, 4, 4, 4, 2, 2, 2, 2}, 8);
    ck_assert_int_eq(ahpa_planner_series_stable(f, 8, 60, 60, 20, 180, 1.5, 1, 4, NULL, NULL,
                                                out, NULL), -AHPA_EINVAL);
}
END_TEST

START_TEST(refit_boundaries)
{
    /* floor((10000 - 100) / 3600) = 2 -> 7300, floored to the step: 7260 */
    ck_assert_int_eq(ahpa_planner_refit_boundary(10000, 3600, 100, 60), 7260);
    ck_assert_int_eq(ahpa_planner_refit_boundary(7300, 3600, 100, 60), 7260);
    ck_assert_int_eq(ahpa_planner_refit_boundary(7299, 3600, 100, 60), 3660);
    ck_assert_uint_eq(ahpa_planner_window_steps(300, 60), 5);
    ck_assert_uint_eq(ahpa_planner_window_steps(180, 300), 1);
    ck_assert_uint_eq(ahpa_planner_window_steps(0, 60), 1);
}
END_TEST

/* ---- the policy over a history ---- */

#define STEP 60
#define DAYS 4
#define N (DAYS * 1440)
#define T_START INT64_C(1700006400)

static double *daily_series(void)
{
    double *y = malloc(N * sizeof(double));
    for (size_t i = 0; i < N; i++) {
        unsigned h = (unsigned)(i * 2654435761u);
        y[i] = 100 + 80 * sin(2 * M_PI * (double)(i % 1440) / 1440) +
               (double)(h % 2001) / 100.0 - 10.0;
    }
    return y;
}

static struct ahpa_planner_input policy_input(const double *y, size_t t,
                                              enum ahpa_planner_strategy s, int32_t replicas)
{
    struct ahpa_planner_input in;
    ahpa_planner_input_init(&in);
    in.now_s = T_START + (int64_t)t * STEP + 7;
    in.strategy = s;
    in.usage = y[t];
    in.current_replicas = replicas;
    in.scale_up_forward_s = 180;
    in.target = 20;
    in.min_replicas = 1;
    in.max_replicas = 50;
    return in;
}

static int plan_at(struct ahpa_planner_policy *p, const double *y, const double *rep, size_t t,
                   enum ahpa_planner_strategy s, struct ahpa_planner_result *r)
{
    struct ahpa_planner_policy_cfg cfg = {.step_s = STEP, .history_s = 2 * 86400,
                                          .quantile = 0.95};
    struct ahpa_planner_view u = {y, t + 1, T_START}, rv = {rep, t + 1, T_START};
    int64_t now = T_START + (int64_t)t * STEP;
    struct ahpa_planner_input in = policy_input(y, t, s, (int32_t)rep[t]);
    struct ahpa_error err = {0};
    int rc = ahpa_planner_policy_plan(p, &cfg, &u, &rv,
                                      ahpa_planner_refit_boundary(now - STEP, 3600, 0, STEP),
                                      &in, r, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    return rc;
}

START_TEST(policy_does_not_depend_on_uptime)
{
    double *y = daily_series();
    double *rep = malloc(N * sizeof(double));
    for (size_t i = 0; i < N; i++)
        rep[i] = 6;
    struct ahpa_planner_policy *old = ahpa_planner_policy_new();
    struct ahpa_planner_policy *sparse = ahpa_planner_policy_new();
    struct ahpa_planner_policy *flip = ahpa_planner_policy_new(); /* strategy edited */
    size_t from = 3 * 1440, to = 3 * 1440 + 300;
    int changes = 0, prev = -1, stabilised = 0;
    for (size_t t = from; t < to; t++) {
        struct ahpa_planner_result a, b;
        plan_at(old, y, rep, t, AHPA_PLANNER_AUTO, &a);
        /* a policy created now, and one that saw only every 7th step */
        struct ahpa_planner_policy *fresh = ahpa_planner_policy_new();
        plan_at(fresh, y, rep, t, AHPA_PLANNER_AUTO, &b);
        ck_assert_int_eq(a.final, b.final);
        ck_assert_int_eq(a.proactive, b.proactive);
        ck_assert_int_eq(a.reactive, b.reactive);
        ck_assert_int_eq(a.gate, b.gate);
        ck_assert_str_eq(a.text, b.text);
        ck_assert(memcmp(&a.forecast_peak, &b.forecast_peak, sizeof(double)) == 0);
        ahpa_planner_policy_free(fresh);
        plan_at(flip, y, rep, t, t % 2 ? AHPA_PLANNER_REACTIVE : AHPA_PLANNER_AUTO, &b);
        if (t % 2 == 0) {
            ck_assert_int_eq(a.final, b.final);
            ck_assert_str_eq(a.text, b.text);
        }
        if (t % 7 == 0) {
            plan_at(sparse, y, rep, t, AHPA_PLANNER_AUTO, &b);
            ck_assert_int_eq(a.final, b.final);
            ck_assert_str_eq(a.text, b.text);
        }
        changes += prev >= 0 && a.final != prev;
        stabilised += (a.flags & AHPA_PLANNER_F_STABILIZED) != 0;
        /* the reason names the gate and its measurement, and any hold */
        ck_assert_msg(strncmp(a.text, "gate ", 5) == 0 && strstr(a.text, " replayed: ") != NULL,
                      "%s", a.text);
        ck_assert(!(a.flags & AHPA_PLANNER_F_STABILIZED) || strstr(a.text, " held (window 300s"));
        ck_assert_uint_lt(strlen(a.text), AHPA_PLANNER_TEXT_MAX - 1);
        prev = a.final;
    }
    /* 5 hours of a rising then falling day: the plan moved, and was held */
    ck_assert_int_gt(changes, 2);
    ck_assert_int_gt(stabilised, 0);
    ahpa_planner_policy_free(old);
    ahpa_planner_policy_free(sparse);
    ahpa_planner_policy_free(flip);
    free(rep);
    free(y);
}
END_TEST

/* The model a caller fitted on the policy's window at boundary b, as the
 * controller fits it (values of y, or of `alt` when given). */
static struct ahpa_forecast_model *fit_window_at(const double *y, size_t t, int64_t b,
                                                 int64_t shift_steps)
{
    int64_t from = b - 2 * 86400;
    size_t i0 = (size_t)((from - T_START) / STEP + shift_steps);
    size_t n = (size_t)((b - T_START) / STEP) - i0 + 1;
    ck_assert_uint_le(i0 + n, t + 1);
    struct ahpa_forecast_model *m = ahpa_forecast_model_new(NULL);
    ck_assert_int_eq(ahpa_forecast_fit(m, y + i0, n, T_START + (int64_t)i0 * STEP, STEP, NULL), 0);
    return m;
}

static void adopt_at(struct ahpa_planner_policy *p, const double *y, size_t t,
                     const struct ahpa_forecast_model *m)
{
    struct ahpa_planner_policy_cfg cfg = {.step_s = STEP, .history_s = 2 * 86400,
                                          .quantile = 0.95};
    struct ahpa_planner_view u = {y, t + 1, T_START};
    int64_t now = T_START + (int64_t)t * STEP;
    ahpa_planner_policy_adopt_fit(p, &cfg, &u, ahpa_planner_refit_boundary(now - STEP, 3600, 0,
                                                                           STEP), m);
}

static void assert_same_plan(const struct ahpa_planner_result *a,
                             const struct ahpa_planner_result *b)
{
    ck_assert_int_eq(a->final, b->final);
    ck_assert_int_eq(a->proactive, b->proactive);
    ck_assert_int_eq(a->gate, b->gate);
    ck_assert_str_eq(a->text, b->text);
    ck_assert(memcmp(&a->forecast_peak, &b->forecast_peak, sizeof(double)) == 0);
}

START_TEST(policy_adopts_the_callers_fit)
{
    double *y = daily_series();
    double *rep = malloc(N * sizeof(double));
    double *other = malloc(N * sizeof(double)); /* the same span, other values */
    for (size_t i = 0; i < N; i++) {
        rep[i] = 6;
        other[i] = y[i] * 1.5;
    }
    struct ahpa_planner_policy *own = ahpa_planner_policy_new();
    struct ahpa_planner_policy *shared = ahpa_planner_policy_new();
    struct ahpa_planner_policy *wrong = ahpa_planner_policy_new();
    /* three boundaries (3 h), a step before the first */
    size_t from = 3 * 1440 - 1, to = 3 * 1440 + 3 * 60 - 1;
    int64_t last_b = 0;
    size_t boundaries = 0, finite = 0;
    for (size_t t = from; t < to; t++) {
        int64_t now = T_START + (int64_t)t * STEP;
        int64_t b = ahpa_planner_refit_boundary(now - STEP, 3600, 0, STEP);
        if (b != last_b) {
            last_b = b;
            boundaries++;
            /* the caller's fit, handed over before the plan (as the
             * controller does at its refit) */
            struct ahpa_forecast_model *m = fit_window_at(y, t, b, 0);
            adopt_at(shared, y, t, m);
            ahpa_forecast_free(m);
            /* the same span fitted on other values (caught by the hash at
             * the rebuild: the view given to adopt is the other series), a
             * window shifted by a step (caught at adoption), in turn */
            if (boundaries % 2) {
                m = fit_window_at(other, t, b, 0);
                adopt_at(wrong, other, t, m);
            } else {
                m = fit_window_at(y, t, b, 1);
                adopt_at(wrong, y, t, m);
            }
            ahpa_forecast_free(m);
        }
        struct ahpa_planner_result a, s, w;
        plan_at(own, y, rep, t, AHPA_PLANNER_AUTO, &a);
        plan_at(shared, y, rep, t, AHPA_PLANNER_AUTO, &s);
        plan_at(wrong, y, rep, t, AHPA_PLANNER_AUTO, &w);
        assert_same_plan(&a, &s);
        assert_same_plan(&a, &w);
        finite += isfinite(a.forecast_peak);
    }
    ck_assert_uint_eq(boundaries, 4);
    ck_assert_uint_eq(finite, to - from); /* the forecast was in use */
    /* per boundary: the gate's replay and the window's fit; with the
     * caller's fit, the replay only; a wrong hand-over is fitted again */
    ck_assert_uint_eq(ahpa_planner_policy_fits(own), 2 * boundaries);
    ck_assert_uint_eq(ahpa_planner_policy_fits(shared), boundaries);
    ck_assert_uint_eq(ahpa_planner_policy_fits(wrong), 2 * boundaries);
    ahpa_planner_policy_free(own);
    ahpa_planner_policy_free(shared);
    ahpa_planner_policy_free(wrong);
    free(other);
    free(rep);
    free(y);
}
END_TEST

START_TEST(policy_reactive_is_the_stock_hpa)
{
    /* strategy reactive with its own plans as the replicas: the same
     * series as ahpa_planner_hpa_series (window 300 s = 5 steps) */
    double *y = daily_series();
    double *rep = malloc(N * sizeof(double));
    size_t from = 3 * 1440 + 600, n = 240;
    for (size_t i = 0; i < N; i++)
        rep[i] = 5; /* before `from`: a steady 5 */
    int32_t *want = malloc(n * sizeof(int32_t));
    struct ahpa_planner_policy *p = ahpa_planner_policy_new();
    for (size_t t = from; t < from + n; t++) {
        struct ahpa_planner_result r;
        plan_at(p, y, rep, t, AHPA_PLANNER_REACTIVE, &r);
        ck_assert_int_eq(r.gate, AHPA_PLANNER_GATE_REACTIVE);
        want[t - from] = r.final;
        rep[t + 1] = r.final;
    }
    /* by hand: each step's raw recommendation against the replicas of
     * that step (5 before `from`, then the previous plan), then the
     * highest of the last 5 */
    int32_t raws[5] = {0};
    size_t k = 0;
    for (size_t t = from - 4; t < from + n; t++) {
        double ratio = y[t] / rep[t] / 20;
        int32_t raw = fabs(ratio - 1) <= 0.1 ? (int32_t)rep[t] : (int32_t)ceil(y[t] / 20 - 1e-9);
        raws[k++ % 5] = raw;
        if (t >= from) {
            int32_t m = 0;
            for (int j = 0; j < 5; j++)
                m = raws[j] > m ? raws[j] : m;
            ck_assert_msg(want[t - from] == (m < 1 ? 1 : m), "step %zu: %d vs %d", t - from,
                          want[t - from], m);
        }
    }
    ahpa_planner_policy_free(p);
    free(want);
    free(rep);
    free(y);
}
END_TEST

/* A long scaleUpForward (2 h = 121 forecast steps) is planned over its
 * whole window: the peak is at least that of the 3-minute window. */
START_TEST(policy_long_forward)
{
    double *y = daily_series();
    double *rep = malloc(N * sizeof(double));
    for (size_t i = 0; i < N; i++)
        rep[i] = 6;
    struct ahpa_planner_policy_cfg cfg = {.step_s = STEP, .history_s = 2 * 86400,
                                          .quantile = 0.95};
    size_t t = 3 * 1440 + 100; /* a rising morning: 134 now, 166 in 2 h */
    struct ahpa_planner_view u = {y, t + 1, T_START}, rv = {rep, t + 1, T_START};
    int64_t b = ahpa_planner_refit_boundary(T_START + (int64_t)(t - 1) * STEP, 3600, 0, STEP);
    struct ahpa_planner_result shortr, longr;
    struct ahpa_planner_input in = policy_input(y, t, AHPA_PLANNER_PROACTIVE, 6);
    struct ahpa_planner_policy *p = ahpa_planner_policy_new();
    ck_assert_int_eq(ahpa_planner_policy_plan(p, &cfg, &u, &rv, b, &in, &shortr, NULL), 0);
    in.scale_up_forward_s = 7200;
    ck_assert_int_eq(ahpa_planner_policy_plan(p, &cfg, &u, &rv, b, &in, &longr, NULL), 0);
    ck_assert(isfinite(shortr.forecast_peak) && isfinite(longr.forecast_peak));
    ck_assert_msg(longr.forecast_peak > shortr.forecast_peak + 5, "%g vs %g",
                  longr.forecast_peak, shortr.forecast_peak);
    ck_assert_int_gt(longr.proactive, shortr.proactive);
    ahpa_planner_policy_free(p);
    free(rep);
    free(y);
}
END_TEST

START_TEST(policy_bad_input)
{
    struct ahpa_planner_policy *p = ahpa_planner_policy_new();
    double y[3] = {1, 2, 3};
    struct ahpa_planner_view u = {y, 3, T_START};
    struct ahpa_planner_policy_cfg cfg = {.step_s = 5, .history_s = 86400, .quantile = 0.95};
    struct ahpa_planner_input in = policy_input(y, 2, AHPA_PLANNER_AUTO, 1);
    struct ahpa_planner_result r;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_planner_policy_plan(p, &cfg, &u, NULL, T_START, &in, &r, &err),
                     -AHPA_EINVAL);
    cfg.step_s = STEP;
    struct ahpa_planner_view off = {y, 3, T_START + 1}; /* off the 60 s grid */
    ck_assert_int_eq(ahpa_planner_policy_plan(p, &cfg, &off, NULL, T_START, &in, &r, &err),
                     -AHPA_EINVAL);
    cfg.quantile = 1.5;
    ck_assert_int_eq(ahpa_planner_policy_plan(p, &cfg, &u, NULL, T_START, &in, &r, &err),
                     -AHPA_EINVAL);
    /* too little history: no forecast, the gate unmeasured, reactive plan */
    cfg.quantile = 0.95;
    ck_assert_int_eq(ahpa_planner_policy_plan(p, &cfg, &u, NULL, T_START, &in, &r, &err), 0);
    ck_assert_int_eq(r.proactive, -1);
    ck_assert(r.flags & AHPA_PLANNER_F_NO_FORECAST);
    ck_assert_int_eq(r.final, 1); /* needed(3 / 20) = 1 */
    ahpa_planner_policy_free(p);
}
END_TEST

void planner_policy_tests(TCase *tc)
{
    tcase_add_test(tc, hold_scales_up_at_once_and_down_after_the_window);
    tcase_add_test(tc, hold_keeps_the_tolerance_headroom);
    tcase_add_test(tc, hpa_series_by_hand);
    tcase_add_test(tc, gate_picks_the_least_loss);
    tcase_add_test(tc, series_stable_holds_the_descent);
    tcase_add_test(tc, refit_boundaries);
    tcase_add_test(tc, policy_does_not_depend_on_uptime);
    tcase_add_test(tc, policy_adopts_the_callers_fit);
    tcase_add_test(tc, policy_reactive_is_the_stock_hpa);
    tcase_add_test(tc, policy_long_forward);
    tcase_add_test(tc, policy_bad_input);
}
