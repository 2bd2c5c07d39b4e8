/* Backtest metrics, capacity simulation and baselines on hand-computed
 * cases. */
#include <math.h>
#include <string.h>

#include "ahpa/backtest.h"
#include "ahpa/baseline.h"
#include "ahpa/error.h"
#include "test_forecast.h"
#include "unit.h"

#define TOL 1e-9

START_TEST(metrics_hand_computed)
{
    double y[] = {10, 10, 20, NAN};
    double p[] = {8, 12, 20, 1};
    double u[] = {12, 9, 25, 1};
    struct ahpa_backtest_accuracy a;
    /* pinball at 0.9: (12-10 over) 0.1*2=0.2; (under by 1) 0.9*1=0.9;
     * (over by 5) 0.1*5=0.5 -> mean 1.6/3 */
    ahpa_backtest_score(y, p, u, 4, 0.9, 2.0, 4.0, &a);
    ck_assert_uint_eq(a.n, 3);
    AHPA_ASSERT_NEAR(a.pinball, 1.6 / 3.0, TOL);
    AHPA_ASSERT_NEAR(a.pinball_scaled, (1.6 / 3.0) / (40.0 / 3.0), TOL);
    AHPA_ASSERT_NEAR(a.coverage, 2.0 / 3.0, TOL);
    /* MAE of the point: (2 + 2 + 0)/3 */
    AHPA_ASSERT_NEAR(a.mase_seasonal, (4.0 / 3.0) / 2.0, TOL);
    AHPA_ASSERT_NEAR(a.mase_naive, (4.0 / 3.0) / 4.0, TOL);
    AHPA_ASSERT_NEAR(a.smape, (4.0 / 18.0 + 4.0 / 22.0 + 0.0) / 3.0, TOL);
    double s[] = {1, 3, NAN, 2, 6};
    AHPA_ASSERT_NEAR(ahpa_backtest_mae_scale(s, 5, 1), (2.0 + 4.0) / 2.0, TOL);
    AHPA_ASSERT_NEAR(ahpa_backtest_mae_scale(s, 5, 3), (1.0 + 3.0) / 2.0, TOL);
}
END_TEST

START_TEST(simulation_hand_computed)
{
    struct ahpa_backtest_sim sim;
    ahpa_backtest_sim_default(&sim);
    sim.step_s = 60;
    sim.startup_s = 120; /* two steps */
    int64_t desired[] = {1, 3, 3, 3, 1};
    int64_t needed[] = {1, 2, 3, 3, 1};
    int64_t ready[5];
    struct ahpa_backtest_capacity c;
    ahpa_backtest_simulate(&sim, desired, needed, 5, ready, &c);
    int64_t want[] = {1, 1, 1, 3, 1};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(ready[i], want[i]);
    AHPA_ASSERT_NEAR(c.under_minutes, 2.0, TOL);
    AHPA_ASSERT_NEAR(c.under_depth, 3.0, TOL);
    AHPA_ASSERT_NEAR(c.pod_hours, 7.0 / 60.0, TOL);
    AHPA_ASSERT_NEAR(c.actions_per_day, 2.0 / (300.0 / 86400.0), 1e-6);
    /* pods: ceil with bounds */
    sim.target = 2.0;
    sim.min_replicas = 1;
    sim.max_replicas = 4;
    ck_assert_int_eq(ahpa_backtest_pods(&sim, 0.0), 1);
    ck_assert_int_eq(ahpa_backtest_pods(&sim, 4.0), 2);
    ck_assert_int_eq(ahpa_backtest_pods(&sim, 4.1), 3);
    ck_assert_int_eq(ahpa_backtest_pods(&sim, 100.0), 4);
    ck_assert_int_eq(ahpa_backtest_pods(&sim, NAN), 1);
}
END_TEST

START_TEST(reactive_hand_computed)
{
    struct ahpa_backtest_sim sim;
    ahpa_backtest_sim_default(&sim);
    sim.target = 1.0;
    sim.step_s = 60;
    sim.stabilize_s = 300; /* six recommendations */
    double y[] = {1, 5, 5.4, 1, 1, 1, 1, 1, 1, NAN};
    int64_t d[10];
    ahpa_backtest_reactive(&sim, y, 10, 1, d);
    /* 5.4 is within 10% of 5 pods: no change; scale-down waits until the
     * last 5-pod recommendation leaves the 300 s window */
    int64_t want[] = {1, 5, 5, 5, 5, 5, 5, 5, 1, 1};
    for (int i = 0; i < 10; i++)
        ck_assert_msg(d[i] == want[i], "step %d: %lld", i, (long long)d[i]);
}
END_TEST

START_TEST(baselines_hand_computed)
{
    double x[] = {1, 2, 3, 4, 2, 1, 3, 5, 1, 2, 3, 4};
    double p[4], u[4];
    struct ahpa_error err = {0};
    struct ahpa_baseline *b = ahpa_baseline_new(AHPA_BASELINE_SNAIVE, 4);
    ck_assert_int_eq(ahpa_baseline_fit(b, x, 12, &err), 0);
    ck_assert_int_eq(ahpa_baseline_predict(b, 4, 0.5, p, u, &err), 0);
    /* residuals y - y(t-4): 1 -1 0 1 -1 1 0 -1 -> median 0 */
    for (int i = 0; i < 4; i++) {
        AHPA_ASSERT_NEAR(p[i], x[8 + i], TOL);
        AHPA_ASSERT_NEAR(u[i], x[8 + i], TOL);
    }
    ck_assert_int_eq(ahpa_baseline_update(b, 7.0, &err), 0);
    ck_assert_int_eq(ahpa_baseline_predict(b, 4, 0.99, p, u, &err), 0);
    AHPA_ASSERT_NEAR(p[0], 2.0, TOL);
    AHPA_ASSERT_NEAR(p[3], 7.0, TOL);
    /* the band is the empirical quantile of the residuals of fit (update
     * adds none), sorted -1 -1 -1 0 0 1 1 1, interpolated at q * (n - 1):
     * q = 0.99 -> 6.93 -> 1; q = 0.3 -> 2.1 -> -1 + 0.1 * (0 - -1) = -0.9 */
    AHPA_ASSERT_NEAR(u[3] - p[3], 1.0, TOL);
    ck_assert_int_eq(ahpa_baseline_predict(b, 4, 0.3, p, u, &err), 0);
    for (int i = 0; i < 4; i++)
        AHPA_ASSERT_NEAR(u[i] - p[i], -0.9, TOL);
    ahpa_baseline_free(b);

    b = ahpa_baseline_new(AHPA_BASELINE_MAXVALUE, 4);
    ck_assert_int_eq(ahpa_baseline_fit(b, x, 12, &err), 0);
    ck_assert_int_eq(ahpa_baseline_predict(b, 4, 0.95, p, u, &err), 0);
    double mx[] = {2, 2, 3, 5};
    for (int i = 0; i < 4; i++)
        AHPA_ASSERT_NEAR(p[i], mx[i] * 1.15, TOL);
    ahpa_baseline_free(b);

    /* Holt-Winters on an exact repetition predicts it back. */
    double rep[40];
    for (int i = 0; i < 40; i++)
        rep[i] = 10.0 + (double)(i % 4);
    b = ahpa_baseline_new(AHPA_BASELINE_HOLTWINTERS, 4);
    ck_assert_int_eq(ahpa_baseline_fit(b, rep, 40, &err), 0);
    ck_assert_int_eq(ahpa_baseline_predict(b, 4, 0.95, p, u, &err), 0);
    for (int i = 0; i < 4; i++)
        AHPA_ASSERT_NEAR(p[i], 10.0 + (double)i, 1e-6);
    ck_assert_int_eq(ahpa_baseline_predict(b, 4, 1.0, p, u, NULL), -AHPA_EINVAL);
    ahpa_baseline_free(b);
    ahpa_baseline_free(NULL);
}
END_TEST

void ahpa_unit_suite_backtest(Suite *s)
{
    TCase *tc = tcase_create("backtest");
    tcase_add_test(tc, metrics_hand_computed);
    tcase_add_test(tc, simulation_hand_computed);
    tcase_add_test(tc, reactive_hand_computed);
    tcase_add_test(tc, baselines_hand_computed);
    suite_add_tcase(s, tc);
}
