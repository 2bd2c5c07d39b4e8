/* Unit tests for lib/planner. Every expected pod count is worked out by
 * hand in the comment beside it from the definitions in ahpa/planner.h
 * (target 20% per pod unless said otherwise). */
#include <math.h>
#include <string.h>

#include "ahpa/cron.h"
#include "ahpa/error.h"
#include "ahpa/planner.h"
#include "unit.h"

void planner_policy_tests(TCase *tc); /* test_policy.c */

#define T0 INT64_C(1647248400) /* Monday 2022-03-14 09:00 UTC */

static struct ahpa_planner_input base_input(enum ahpa_planner_strategy s)
{
    struct ahpa_planner_input in;
    ahpa_planner_input_init(&in);
    in.now_s = T0;
    in.strategy = s;
    in.target = 20;
    in.min_replicas = 0;
    in.max_replicas = 100;
    in.scale_up_forward_s = 180;
    in.current_replicas = 4;
    return in;
}

static struct ahpa_planner_result plan(const struct ahpa_planner_input *in,
                                       struct ahpa_planner_state *st)
{
    struct ahpa_planner_result r;
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_planner_plan(in, st, &r, &err) == 0, "%s", err.msg);
    return r;
}

static const double fc_183[] = {100, 183, 150, 120}; /* peak 183 -> ceil(9.15) = 10 */
static const double fc_100[] = {60, 100, 80};        /* peak 100 -> 5 */

START_TEST(auto_proactive_wins)
{
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_AUTO);
    in.usage = 80; /* 20% per pod on 4 pods: ratio 1, keep 4 */
    in.forecast = fc_183;
    in.forecast_n = 4;
    struct ahpa_planner_result r = plan(&in, NULL);
    ck_assert_int_eq(r.proactive, 10);
    ck_assert_int_eq(r.reactive, 4);
    ck_assert_int_eq(r.final, 10);
    AHPA_ASSERT_NEAR(r.forecast_peak, 183, 0);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_PROACTIVE);
    ck_assert_str_eq(r.text, "proactive forecast 183% over next 180s / target 20% -> 10 pods");
    ck_assert_uint_eq(r.flags, AHPA_PLANNER_F_TOLERANCE);
}
END_TEST

START_TEST(auto_reactive_wins)
{
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_AUTO);
    in.usage = 300; /* 75% per pod: ratio 3.75, ceil(300/20) = 15 */
    in.forecast = fc_100;
    in.forecast_n = 3;
    struct ahpa_planner_result r = plan(&in, NULL);
    ck_assert_int_eq(r.proactive, 5);
    ck_assert_int_eq(r.reactive_raw, 15);
    ck_assert_int_eq(r.final, 15);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_REACTIVE);
    ck_assert_str_eq(r.text, "reactive usage 75% per pod on 4 pods / target 20% -> 15 pods");
}
END_TEST

START_TEST(each_strategy_picks_its_term)
{
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_REACTIVE);
    in.usage = 300; /* reactive 15 */
    in.forecast = fc_183; /* proactive 10 */
    in.forecast_n = 4;
    static const struct {
        enum ahpa_planner_strategy s;
        int32_t final;
        unsigned flags;
    } want[] = {
        {AHPA_PLANNER_REACTIVE, 15, 0},
        {AHPA_PLANNER_PROACTIVE, 10, 0},
        {AHPA_PLANNER_AUTO, 15, 0},
        {AHPA_PLANNER_OBSERVER, 15, AHPA_PLANNER_F_NOT_APPLIED},
    };
    for (size_t i = 0; i < 4; i++) {
        in.strategy = want[i].s;
        struct ahpa_planner_result r = plan(&in, NULL);
        ck_assert_int_eq(r.final, want[i].final);
        ck_assert_int_eq(r.proactive, 10);
        ck_assert_int_eq(r.reactive, 15);
        ck_assert_uint_eq(r.flags, want[i].flags);
    }
    /* Lower usage: 60% on 4 pods -> reactive ceil(60/20) = 3; auto takes
     * the forecast's 10, reactive mode the 3. */
    in.usage = 60;
    in.strategy = AHPA_PLANNER_AUTO;
    ck_assert_int_eq(plan(&in, NULL).final, 10);
    in.strategy = AHPA_PLANNER_REACTIVE;
    ck_assert_int_eq(plan(&in, NULL).final, 3);
}
END_TEST

START_TEST(tolerance_band)
{
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_REACTIVE);
    in.current_replicas = 10;
    static const struct {
        double usage;
        int32_t want;
        bool in_band;
    } c[] = {
        {219, 10, true},   /* ratio 1.095 */
        {222, 12, false},  /* ratio 1.11 -> ceil(11.1) */
        {181, 10, true},   /* ratio 0.905 */
        {179, 9, false},   /* ratio 0.895 -> ceil(8.95) */
        {200, 10, true},   /* exactly on target */
        {400, 20, false},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        in.usage = c[i].usage;
        struct ahpa_planner_result r = plan(&in, NULL);
        ck_assert_msg(r.final == c[i].want, "usage %g: %d", c[i].usage, r.final);
        ck_assert_int_eq((r.flags & AHPA_PLANNER_F_TOLERANCE) != 0, c[i].in_band);
    }
    in.usage = 219;
    ck_assert_str_eq(plan(&in, NULL).text,
                     "reactive usage 21.9% per pod within 10% of target 20%, keeping 10 pods");
    in.tolerance = 0;
    ck_assert_int_eq(plan(&in, NULL).final, 11); /* ceil(10.95) */
}
END_TEST

START_TEST(min_zero_and_zero_replicas)
{
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_REACTIVE);
    in.current_replicas = 3;
    in.usage = 0; /* zero load with minReplicas 0: 0 pods */
    struct ahpa_planner_result r = plan(&in, NULL);
    ck_assert_int_eq(r.final, 0);
    ck_assert_uint_eq(r.flags & AHPA_PLANNER_F_CLAMPED, 0);
    in.min_replicas = 1;
    r = plan(&in, NULL);
    ck_assert_int_eq(r.final, 1);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_MIN);
    ck_assert_str_eq(r.text, "reactive usage 0% per pod on 3 pods / target 20% -> 0 pods; "
                             "clamped by minReplicas 1");
    /* From 0 replicas the per-pod average is undefined: total / target. */
    in.min_replicas = 0;
    in.current_replicas = 0;
    in.usage = 45; /* ceil(2.25) = 3 */
    r = plan(&in, NULL);
    ck_assert_int_eq(r.final, 3);
    ck_assert(r.flags & AHPA_PLANNER_F_FROM_ZERO);
    ck_assert_str_eq(r.text, "reactive usage 45% in total from 0 pods / target 20% -> 3 pods");
    in.usage = 0;
    ck_assert_int_eq(plan(&in, NULL).final, 0);
    /* A forecast wakes a workload at zero: peak 30 -> 2 pods. */
    static const double fc[] = {0, 30, 10};
    in.forecast = fc;
    in.forecast_n = 3;
    in.strategy = AHPA_PLANNER_AUTO;
    ck_assert_int_eq(plan(&in, NULL).final, 2);
}
END_TEST

static struct ahpa_cron_bounds *seed_bounds(void)
{
    struct ahpa_cron_bounds *b = ahpa_cron_bounds_new();
    ck_assert_int_eq(ahpa_cron_bounds_add_window(b, INT64_C(1639612800), INT64_C(1671148800), NULL), 0);
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 0, "* 0-8 ? * MON-FRI", 4, 50, NULL), 0);
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 0, "* 9-15 ? * MON-FRI", 10, 50, NULL), 1);
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 0, "* 16-23 ? * MON-FRI", 12, 50, NULL), 2);
    return b;
}

START_TEST(bounds_in_force_clamp)
{
    struct ahpa_cron_bounds *b = seed_bounds();
    struct ahpa_cron_in_force f;
    ahpa_cron_bounds_at(b, NULL, T0, &f); /* Monday 09:00: min 10, max 50 */
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_AUTO);
    in.bounds = &f;
    in.usage = 60; /* reactive 3 */
    struct ahpa_planner_result r = plan(&in, NULL);
    ck_assert_int_eq(r.unclamped, 3);
    ck_assert_int_eq(r.final, 10);
    ck_assert_int_eq(r.min_replicas, 10);
    ck_assert_int_eq(r.max_replicas, 50);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_BOUND_MIN);
    ck_assert(r.flags & AHPA_PLANNER_F_CLAMPED);
    ck_assert_str_eq(r.text, "no forecast, falling back to reactive: reactive usage 15% per pod "
                             "on 4 pods / target 20% -> 3 pods; clamped by bound "
                             "'* 9-15 ? * MON-FRI' min 10");
    in.usage = 1500; /* reactive 75 -> bound max 50 */
    r = plan(&in, NULL);
    ck_assert_int_eq(r.final, 50);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_BOUND_MAX);
    /* Monday 08:59 the early bound: min 4; 16:00 the late one: min 12. */
    ahpa_cron_bounds_at(b, NULL, T0 - 60, &f);
    in.usage = 60;
    ck_assert_int_eq(plan(&in, NULL).final, 4);
    ahpa_cron_bounds_at(b, NULL, T0 + 7 * 3600, &f);
    ck_assert_int_eq(plan(&in, NULL).final, 12);
    /* Saturday: no bound, spec limits 0..100. */
    ahpa_cron_bounds_at(b, NULL, T0 + 5 * 86400, &f);
    ck_assert_int_eq(plan(&in, NULL).final, 3);
    in.usage = 2400; /* 120 pods -> maxReplicas 100 */
    r = plan(&in, NULL);
    ck_assert_int_eq(r.final, 100);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_MAX);
    ck_assert(strstr(r.text, "; clamped by maxReplicas 100") != NULL);
    /* Spec max below the bound's: the spec wins (intersection). */
    ahpa_cron_bounds_at(b, NULL, T0, &f);
    in.max_replicas = 30;
    r = plan(&in, NULL);
    ck_assert_int_eq(r.final, 30);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_MAX);
    ahpa_cron_bounds_free(b);
}
END_TEST

START_TEST(bound_conflict_max_wins)
{
    struct ahpa_cron_in_force f = {.matched = 2, .min_replicas = 60, .max_replicas = 50,
                                   .min_cron = "* * * * *", .max_cron = "* 9 * * *",
                                   .conflict = true};
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_AUTO);
    in.bounds = &f;
    in.usage = 60;
    struct ahpa_planner_result r = plan(&in, NULL);
    ck_assert_int_eq(r.final, 50);
    ck_assert(r.flags & AHPA_PLANNER_F_CONFLICT);
    ck_assert(strstr(r.text, "(bound min above max: max wins)") != NULL);
}
END_TEST

/* One reactive-mode cycle at T0 + dt with `usage`; replicas stay at 10
 * (observer-like: nothing applies the plan). */
static struct ahpa_planner_result cycle(struct ahpa_planner_state *st, int64_t dt, double usage)
{
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_REACTIVE);
    in.now_s = T0 + dt;
    in.current_replicas = 10;
    in.usage = usage;
    return plan(&in, st);
}

START_TEST(stabilisation_holds_then_releases)
{
    struct ahpa_planner_state st;
    ahpa_planner_state_init(&st);
    struct ahpa_planner_result r = cycle(&st, 0, 200); /* ratio 1: 10 */
    ck_assert_int_eq(r.final, 10);
    r = cycle(&st, 60, 100); /* raw 5, held at 10 until T0 + 300 */
    ck_assert_int_eq(r.reactive_raw, 5);
    ck_assert_int_eq(r.final, 10);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_STABILIZED);
    ck_assert_int_eq(r.held_until_s, T0 + 300);
    ck_assert_str_eq(r.text, "scale-down to 5 held by stabilisation window until "
                             "2022-03-14T09:05:00Z -> 10 pods");
    ck_assert_int_eq(cycle(&st, 120, 60).final, 10); /* raw 3 */
    ck_assert_int_eq(cycle(&st, 240, 60).final, 10);
    ck_assert_int_eq(cycle(&st, 299, 60).final, 10);
    /* At +300 the first sample (10) leaves the window; 5 from +60 remains. */
    r = cycle(&st, 300, 60);
    ck_assert_int_eq(r.final, 5);
    ck_assert_int_eq(r.held_until_s, T0 + 360);
    r = cycle(&st, 360, 60);
    ck_assert_int_eq(r.final, 3);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_REACTIVE);
    ck_assert_uint_eq(r.flags & AHPA_PLANNER_F_STABILIZED, 0);
    /* Scale-up is never held. */
    r = cycle(&st, 420, 400);
    ck_assert_int_eq(r.final, 20);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_REACTIVE);
    /* Without a state there is no hold. */
    ck_assert_int_eq(cycle(NULL, 480, 60).final, 3);
}
END_TEST

START_TEST(stabilisation_ring_stays_bounded)
{
    struct ahpa_planner_state st;
    ahpa_planner_state_init(&st);
    /* One cycle a second for 400 s: the ring holds at most 64 samples, so
     * only the last 64 s of recommendations are remembered. */
    for (int64_t t = 0; t < 400; t++)
        cycle(&st, t, t < 10 ? 400 : 60);
    ck_assert_uint_eq(st.n, AHPA_PLANNER_HISTORY_MAX);
    ck_assert_int_eq(cycle(&st, 400, 60).final, 3);
}
END_TEST

START_TEST(no_history_falls_back_to_reactive)
{
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_PROACTIVE);
    in.usage = 300; /* reactive 15 */
    struct ahpa_planner_result r = plan(&in, NULL);
    ck_assert_int_eq(r.proactive, -1);
    ck_assert_int_eq(r.final, 15);
    ck_assert(r.flags & AHPA_PLANNER_F_NO_FORECAST);
    ck_assert(isnan(r.forecast_peak));
    ck_assert_str_eq(r.text, "no forecast, falling back to reactive: reactive usage 75% per "
                             "pod on 4 pods / target 20% -> 15 pods");
    static const double all_nan[] = {NAN, NAN};
    in.forecast = all_nan;
    in.forecast_n = 2;
    in.strategy = AHPA_PLANNER_AUTO;
    r = plan(&in, NULL);
    ck_assert_int_eq(r.proactive, -1);
    ck_assert_int_eq(r.final, 15);
    /* NaN gaps in a forecast are skipped: peak 250 -> ceil(12.5) = 13. */
    static const double gappy[] = {NAN, 250, NAN, 90};
    in.forecast = gappy;
    in.forecast_n = 4;
    in.strategy = AHPA_PLANNER_PROACTIVE;
    r = plan(&in, NULL);
    ck_assert_int_eq(r.proactive, 13);
    ck_assert_int_eq(r.final, 13);
    ck_assert_uint_eq(r.flags & AHPA_PLANNER_F_NO_FORECAST, 0);
}
END_TEST

START_TEST(nan_usage_holds)
{
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_AUTO);
    in.current_replicas = 7;
    struct ahpa_planner_result r = plan(&in, NULL); /* usage NaN by default */
    ck_assert_int_eq(r.final, 7);
    ck_assert_int_eq(r.reactive_raw, -1);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_USAGE_UNKNOWN);
    ck_assert(r.flags & AHPA_PLANNER_F_USAGE_UNKNOWN);
    ck_assert_str_eq(r.text, "no forecast, falling back to reactive: usage unknown, holding 7 pods");
    /* A forecast may still scale up (peak 183 -> 10) but not down. */
    in.forecast = fc_183;
    in.forecast_n = 4;
    ck_assert_int_eq(plan(&in, NULL).final, 10);
    in.forecast = fc_100; /* 5 < 7: hold 7 */
    in.forecast_n = 3;
    r = plan(&in, NULL);
    ck_assert_int_eq(r.final, 7);
    ck_assert_int_eq(r.reason, AHPA_PLANNER_R_USAGE_UNKNOWN);
    /* The stabilisation state is not fed by unknown cycles. */
    struct ahpa_planner_state st;
    ahpa_planner_state_init(&st);
    plan(&in, &st);
    ck_assert_uint_eq(st.n, 0);
}
END_TEST

START_TEST(average_value_and_rounding)
{
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_REACTIVE);
    in.unit = "";
    in.target = 500; /* e.g. requests per second per pod */
    in.current_replicas = 2;
    in.usage = 1234; /* ratio 1.234 -> ceil(2.468) = 3 */
    struct ahpa_planner_result r = plan(&in, NULL);
    ck_assert_int_eq(r.final, 3);
    ck_assert_str_eq(r.text, "reactive usage 617 per pod on 2 pods / target 500 -> 3 pods");
    /* Quotients a hair above an integer are that integer. */
    in.target = 0.1;
    in.usage = 0.3; /* 0.3 / 0.1 = 2.9999999999999996 -> 3 */
    in.current_replicas = 1;
    ck_assert_int_eq(plan(&in, NULL).final, 3);
    in.target = 20;
    in.usage = 60.0000000000001; /* 3.000000000000005 -> 3 */
    ck_assert_int_eq(plan(&in, NULL).final, 3);
    in.usage = 60.001; /* 3.00005 -> 4 */
    ck_assert_int_eq(plan(&in, NULL).final, 4);
    in.usage = INFINITY; /* saturates, then maxReplicas */
    ck_assert_int_eq(plan(&in, NULL).final, 100);
}
END_TEST

START_TEST(bad_input)
{
    struct ahpa_planner_input in = base_input(AHPA_PLANNER_AUTO);
    struct ahpa_planner_result r;
    struct ahpa_error err = {0};
    double bad_targets[] = {0, -5, NAN, INFINITY};
    for (size_t i = 0; i < 4; i++) {
        in.target = bad_targets[i];
        ck_assert_int_eq(ahpa_planner_plan(&in, NULL, &r, NULL), -AHPA_EINVAL);
    }
    in.target = 0;
    ck_assert_int_eq(ahpa_planner_plan(&in, NULL, &r, &err), -AHPA_EINVAL);
    ck_assert_str_eq(err.msg, "planner: target must be > 0, got 0");
    in = base_input(AHPA_PLANNER_AUTO);
    in.min_replicas = 5;
    in.max_replicas = 4;
    ck_assert_int_eq(ahpa_planner_plan(&in, NULL, &r, NULL), -AHPA_EINVAL);
    in = base_input(AHPA_PLANNER_AUTO);
    in.current_replicas = -1;
    ck_assert_int_eq(ahpa_planner_plan(&in, NULL, &r, NULL), -AHPA_EINVAL);
    in = base_input(AHPA_PLANNER_AUTO);
    in.usage = -1;
    ck_assert_int_eq(ahpa_planner_plan(&in, NULL, &r, NULL), -AHPA_EINVAL);
    ck_assert_int_eq(ahpa_planner_plan(NULL, NULL, &r, NULL), -AHPA_EINVAL);
}
END_TEST

START_TEST(strategy_and_reason_names)
{
    enum ahpa_planner_strategy s;
    ck_assert_int_eq(ahpa_planner_strategy_parse("Observer", &s, NULL), 0);
    ck_assert_int_eq(s, AHPA_PLANNER_OBSERVER);
    ck_assert_int_eq(ahpa_planner_strategy_parse("auto", &s, NULL), 0);
    ck_assert_int_eq(s, AHPA_PLANNER_AUTO);
    ck_assert_int_eq(ahpa_planner_strategy_parse("proactive", &s, NULL), 0);
    ck_assert_int_eq(s, AHPA_PLANNER_PROACTIVE);
    ck_assert_int_eq(ahpa_planner_strategy_parse("REACTIVE", &s, NULL), 0);
    ck_assert_int_eq(s, AHPA_PLANNER_REACTIVE);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_planner_strategy_parse("predictive", &s, &err), -AHPA_EPARSE);
    ck_assert_str_eq(err.msg,
                     "scaleStrategy \"predictive\": want observer, auto, proactive or reactive");
    ck_assert_int_eq(ahpa_planner_strategy_parse(NULL, &s, NULL), -AHPA_EPARSE);
    ck_assert_str_eq(ahpa_planner_strategy_name(AHPA_PLANNER_OBSERVER), "observer");
    ck_assert_str_eq(ahpa_planner_strategy_name((enum ahpa_planner_strategy)9), "unknown");
    ck_assert_str_eq(ahpa_planner_reason_name(AHPA_PLANNER_R_BOUND_MIN), "bound-min");
    ck_assert_str_eq(ahpa_planner_reason_name(AHPA_PLANNER_R_MAX), "max-replicas");
}
END_TEST

START_TEST(series_of_predicted_pods)
{
    static const double fc[] = {10, 50, 30, 0, 0, 100, NAN, NAN, NAN};
    int32_t out[9];
    /* step 60 s, forward 120 s: each step sees itself and the next two. */
    ck_assert_int_eq(ahpa_planner_series(fc, 9, 60, 120, 20, 0, 4, NULL, NULL, out, NULL), 0);
    static const int32_t want[] = {3, 3, 2, 4, 4, 4, -1, -1, -1};
    /* 50->3, 50->3, 30->2, 100->5 capped 4, 100->4, 100->4, gaps */
    for (int i = 0; i < 9; i++)
        ck_assert_msg(out[i] == want[i], "step %d: %d want %d", i, out[i], want[i]);
    /* Forward 0: each step alone: 10->1, 50->3, 30->2, 0->0. */
    ck_assert_int_eq(ahpa_planner_series(fc, 4, 60, 0, 20, 0, 100, NULL, NULL, out, NULL), 0);
    ck_assert(out[0] == 1 && out[1] == 3 && out[2] == 2 && out[3] == 0);
    /* Forward 90 s rounds up to two steps ahead. */
    ck_assert_int_eq(ahpa_planner_series(fc, 4, 60, 90, 20, 0, 100, NULL, NULL, out, NULL), 0);
    ck_assert(out[0] == 3 && out[1] == 3 && out[2] == 2 && out[3] == 0);
    /* Per-step bounds: min 3 at step 2, max 1 at step 0. */
    const int32_t bmin[] = {AHPA_CRON_UNSET, AHPA_CRON_UNSET, 3, AHPA_CRON_UNSET};
    const int32_t bmax[] = {1, AHPA_CRON_UNSET, AHPA_CRON_UNSET, AHPA_CRON_UNSET};
    ck_assert_int_eq(ahpa_planner_series(fc, 4, 60, 0, 20, 0, 100, bmin, bmax, out, NULL), 0);
    ck_assert(out[0] == 1 && out[1] == 3 && out[2] == 3 && out[3] == 0);
    ck_assert_int_eq(ahpa_planner_series(fc, 4, 0, 0, 20, 0, 100, NULL, NULL, out, NULL),
                     -AHPA_EINVAL);
    ck_assert_int_eq(ahpa_planner_series(fc, 4, 60, 0, 0, 0, 100, NULL, NULL, out, NULL),
                     -AHPA_EINVAL);
    ck_assert_int_eq(ahpa_planner_series(NULL, 0, 60, 0, 20, 0, 100, NULL, NULL, NULL, NULL), 0);
}
END_TEST

START_TEST(series_with_seed_bounds_over_a_day)
{
    /* A flat forecast of 40% (2 pods) over Monday from 00:00, one step a
     * minute: the seed bounds lift it to 4, 10 and 12 through the day. */
    struct ahpa_cron_bounds *b = seed_bounds();
    enum { N = 1440 };
    static double fc[N];
    static int32_t bmin[N], bmax[N], out[N];
    for (int i = 0; i < N; i++)
        fc[i] = 40;
    int64_t t0 = T0 - 9 * 3600;
    ahpa_cron_bounds_fill(b, NULL, t0, 60, N, bmin, bmax);
    ck_assert_int_eq(ahpa_planner_series(fc, N, 60, 180, 20, 0, 100, bmin, bmax, out, NULL), 0);
    ck_assert_int_eq(out[0], 4);
    ck_assert_int_eq(out[9 * 60 - 1], 4);
    ck_assert_int_eq(out[9 * 60], 10);
    ck_assert_int_eq(out[16 * 60 - 1], 10);
    ck_assert_int_eq(out[16 * 60], 12);
    ck_assert_int_eq(out[N - 1], 12);
    ahpa_cron_bounds_free(b);
}
END_TEST

START_TEST(forecast_window_slicing)
{
    size_t first;
    /* Samples every 60 s from t0 = 1000; now = 1000 + 130 is in step 2;
     * forward 180 s reaches 1310, the last sample at or before it is 5. */
    ck_assert_uint_eq(ahpa_planner_window(1000, 60, 1440, 1130, 180, &first), 4);
    ck_assert_uint_eq(first, 2);
    /* Exactly on a sample: steps 2..5 (1120 .. 1300). */
    ck_assert_uint_eq(ahpa_planner_window(1000, 60, 1440, 1120, 180, &first), 4);
    ck_assert_uint_eq(first, 2);
    /* Forecast starting after now: from sample 0 (1000) to 1190 -> 0..3. */
    ck_assert_uint_eq(ahpa_planner_window(1000, 60, 1440, 1010 - 200, 380, &first), 4);
    ck_assert_uint_eq(first, 0);
    /* Cut at the end, and past it. */
    ck_assert_uint_eq(ahpa_planner_window(1000, 60, 10, 1000 + 8 * 60, 600, &first), 2);
    ck_assert_uint_eq(first, 8);
    ck_assert_uint_eq(ahpa_planner_window(1000, 60, 10, 1000 + 20 * 60, 600, &first), 0);
    ck_assert_uint_eq(ahpa_planner_window(1000, 60, 10, 0, 100, &first), 0);
    ck_assert_uint_eq(ahpa_planner_window(1000, 0, 10, 1000, 100, &first), 0);
    /* Forward 0: just the step in progress. */
    ck_assert_uint_eq(ahpa_planner_window(1000, 60, 10, 1059, 0, &first), 1);
    ck_assert_uint_eq(first, 0);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("planner");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, auto_proactive_wins);
    tcase_add_test(tc, auto_reactive_wins);
    tcase_add_test(tc, each_strategy_picks_its_term);
    tcase_add_test(tc, tolerance_band);
    tcase_add_test(tc, min_zero_and_zero_replicas);
    tcase_add_test(tc, bounds_in_force_clamp);
    tcase_add_test(tc, bound_conflict_max_wins);
    tcase_add_test(tc, stabilisation_holds_then_releases);
    tcase_add_test(tc, stabilisation_ring_stays_bounded);
    tcase_add_test(tc, no_history_falls_back_to_reactive);
    tcase_add_test(tc, nan_usage_holds);
    tcase_add_test(tc, average_value_and_rounding);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, strategy_and_reason_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("series");
    tcase_add_test(tc, forecast_window_slicing);
    tcase_add_test(tc, series_of_predicted_pods);
    tcase_add_test(tc, series_with_seed_bounds_over_a_day);
    planner_policy_tests(tc);
    suite_add_tcase(s, tc);
    return s;
}
