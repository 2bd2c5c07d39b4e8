/* lib/forecast on broken history: long NaN stretches (exporter outage, a
 * workload at 0 replicas), an all-missing recent window ("unknown", never a
 * stale or zero level), and fits running on several threads at once. The
 * ./test.sh valgrind stage runs these to catch reads of uninitialised
 * memory that the missing stretches could reach. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/forecast.h"
#include "test_forecast.h"
#include "unit.h"

#define TAU 6.283185307179586
#define DAY 1440 /* steps of 60 s */

static double truth(size_t i)
{
    return 50.0 + 10.0 * sin(TAU * (double)(i % DAY) / DAY);
}

/* n samples of the daily sine plus noise, NaN in [gap_lo, gap_hi). */
static double *series_with_gap(size_t n, size_t gap_lo, size_t gap_hi, uint64_t seed)
{
    double *x = malloc(n * sizeof(double));
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) {
        double noise = tf_normal(&rng);
        x[i] = i >= gap_lo && i < gap_hi ? NAN : truth(i) + noise;
    }
    return x;
}

static void assert_known_near_truth(const struct ahpa_forecast_model *m, size_t from,
                                    size_t h, double tol)
{
    double *p = malloc(h * sizeof(double)), *u = malloc(h * sizeof(double));
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_forecast_predict(m, h, 0.9, p, u, &err), 0);
    for (size_t i = 0; i < h; i++) {
        ck_assert_msg(isfinite(p[i]) && isfinite(u[i]), "step %zu: %g %g", i, p[i], u[i]);
        ck_assert_msg(fabs(p[i] - truth(from + i)) < tol, "step %zu: point %g, truth %g", i,
                      p[i], truth(from + i));
        ck_assert(u[i] >= p[i] - 1e-9);
    }
    free(p);
    free(u);
}

static void assert_unknown(const struct ahpa_forecast_model *m, size_t h)
{
    double *p = malloc(h * sizeof(double)), *u = malloc(h * sizeof(double));
    for (size_t i = 0; i < h; i++)
        p[i] = u[i] = 1.0;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_forecast_predict(m, h, 0.9, p, u, &err), -AHPA_ENODATA);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown"));
    for (size_t i = 0; i < h; i++)
        ck_assert_msg(isnan(p[i]) && isnan(u[i]), "step %zu: %g %g is not NaN", i, p[i], u[i]);
    struct ahpa_forecast_info info;
    ahpa_forecast_describe(m, &info);
    ck_assert(!info.recent);
    free(p);
    free(u);
}

/* A whole day missing in the middle of a week: the daily cycle is still
 * found and the forecast follows it. */
START_TEST(day_missing_in_the_middle)
{
    size_t n = 7 * DAY;
    double *x = series_with_gap(n, 3 * DAY, 4 * DAY, 11);
    struct ahpa_forecast_model *m = ahpa_forecast_model_new(NULL);
    ck_assert_int_eq(ahpa_forecast_fit(m, x, n, 0, 60, NULL), 0);
    struct ahpa_forecast_info info;
    ahpa_forecast_describe(m, &info);
    ck_assert_int_eq(info.method, AHPA_FORECAST_METHOD_SEASONAL);
    ck_assert_uint_eq(info.period_steps, DAY);
    ck_assert(info.recent);
    ck_assert_uint_eq(info.missing_steps, 0);
    assert_known_near_truth(m, n, DAY, 2.0);
    free(x);
    ahpa_forecast_free(m);
}
END_TEST

/* The last three hours missing (exporter down, or scaled to 0): the
 * forecast is unknown, not the level of three hours ago and not 0; the
 * first samples after the outage make it known again. */
static const size_t tail_gaps[] = {180, 1200};

START_TEST(last_hours_missing_is_unknown)
{
    /* 3 h, and 20 h (longer than the final level run of the fit) */
    size_t n = 7 * DAY, gap = tail_gaps[_i];
    double *x = series_with_gap(n, n - gap, n, 12);
    struct ahpa_forecast_model *m = ahpa_forecast_model_new(NULL);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_forecast_fit(m, x, n, 0, 60, &err), 0);
    struct ahpa_forecast_info info;
    ahpa_forecast_describe(m, &info);
    ck_assert_uint_eq(info.missing_steps, gap);
    assert_unknown(m, 60);
    /* more missing samples keep it unknown */
    for (int i = 0; i < 30; i++)
        ck_assert_int_eq(ahpa_forecast_update(m, NAN, NULL), 0);
    assert_unknown(m, 1);
    /* data comes back */
    uint64_t rng = 99;
    for (size_t i = n + 30; i < n + 40; i++)
        ck_assert_int_eq(ahpa_forecast_update(m, truth(i) + tf_normal(&rng), NULL), 0);
    ahpa_forecast_describe(m, &info);
    ck_assert(info.recent);
    ck_assert_uint_eq(info.missing_steps, 0);
    assert_known_near_truth(m, n + 40, 120, 3.0);
    free(x);
    ahpa_forecast_free(m);
}
END_TEST

/* Where "recent" ends: at 60 s steps the window is 15 samples (900 s). */
START_TEST(recent_window_boundary)
{
    size_t n = 2 * DAY;
    double *x = series_with_gap(n, n, n, 13);
    struct ahpa_forecast_model *m = ahpa_forecast_model_new(NULL);
    ck_assert_int_eq(ahpa_forecast_fit(m, x, n, 0, 60, NULL), 0);
    double p[4];
    for (int i = 0; i < 14; i++)
        ck_assert_int_eq(ahpa_forecast_update(m, NAN, NULL), 0);
    ck_assert_int_eq(ahpa_forecast_predict(m, 4, 0.9, p, NULL, NULL), 0);
    ck_assert_int_eq(ahpa_forecast_update(m, NAN, NULL), 0);
    assert_unknown(m, 4);
    /* the same history given to fit at once: 14 trailing NaN known, 15 not */
    for (size_t i = n - 14; i < n; i++)
        x[i] = NAN;
    ck_assert_int_eq(ahpa_forecast_fit(m, x, n, 0, 60, NULL), 0);
    ck_assert_int_eq(ahpa_forecast_predict(m, 4, 0.9, p, NULL, NULL), 0);
    x[n - 15] = NAN;
    ck_assert_int_eq(ahpa_forecast_fit(m, x, n, 0, 60, NULL), 0);
    assert_unknown(m, 4);
    /* hourly steps: the window is 2 samples (minimum), 15 s steps: 60 */
    ck_assert_int_eq(ahpa_forecast_fit(m, x, n - 15, 0, 3600, NULL), 0);
    ck_assert_int_eq(ahpa_forecast_update(m, NAN, NULL), 0);
    ck_assert_int_eq(ahpa_forecast_predict(m, 4, 0.9, p, NULL, NULL), 0);
    ck_assert_int_eq(ahpa_forecast_update(m, NAN, NULL), 0);
    assert_unknown(m, 4);
    ck_assert_int_eq(ahpa_forecast_fit(m, x, n - 15, 0, 15, NULL), 0);
    for (int i = 0; i < 59; i++)
        ck_assert_int_eq(ahpa_forecast_update(m, NAN, NULL), 0);
    ck_assert_int_eq(ahpa_forecast_predict(m, 4, 0.9, p, NULL, NULL), 0);
    ck_assert_int_eq(ahpa_forecast_update(m, NAN, NULL), 0);
    assert_unknown(m, 4);
    free(x);
    ahpa_forecast_free(m);
}
END_TEST

/* Everything but a few points missing: the few points are the model, and
 * without a recent one the forecast is unknown. */
START_TEST(only_a_few_points)
{
    size_t n = 20000;
    double *x = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
    x[10] = 4.0;
    x[7000] = 6.0;
    x[n - 3] = 5.0;
    struct ahpa_forecast_model *m = ahpa_forecast_model_new(NULL);
    ck_assert_int_eq(ahpa_forecast_fit(m, x, n, 0, 60, NULL), 0);
    struct ahpa_forecast_info info;
    ahpa_forecast_describe(m, &info);
    ck_assert_int_eq(info.method, AHPA_FORECAST_METHOD_LEVEL);
    double p[30], u[30];
    ck_assert_int_eq(ahpa_forecast_predict(m, 30, 0.9, p, u, NULL), 0);
    for (int i = 0; i < 30; i++) {
        ck_assert(isfinite(p[i]) && isfinite(u[i]) && u[i] >= p[i]);
        ck_assert_msg(p[i] >= 4.0 && p[i] <= 6.0, "point %g", p[i]);
    }
    x[n - 3] = NAN; /* the last point is now 3 hours old */
    ck_assert_int_eq(ahpa_forecast_fit(m, x, n, 0, 60, NULL), 0);
    assert_unknown(m, 30);
    /* enough points for the full model, then two long outages */
    for (size_t i = 0; i < n; i++)
        x[i] = i % 97 == 0 ? 20.0 + (double)(i % 5) : NAN;
    ck_assert_int_eq(ahpa_forecast_fit(m, x, n, 0, 60, NULL), 0);
    ahpa_forecast_describe(m, &info);
    ck_assert_int_ne(info.method, AHPA_FORECAST_METHOD_NONE);
    /* all missing: no model at all */
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_forecast_fit(m, x, n, 0, 60, &err), -AHPA_ENODATA);
    free(x);
    ahpa_forecast_free(m);
}
END_TEST

/* Outages everywhere (six hours a day at 0 replicas), fed through fit and
 * through update: every forecast is finite or unknown, never garbage. */
START_TEST(recurring_outages_through_update)
{
    size_t n = 5 * DAY;
    double *x = series_with_gap(n, n, n, 14);
    for (size_t i = 0; i < n; i++)
        if (i % DAY >= 600 && i % DAY < 960)
            x[i] = NAN;
    struct ahpa_forecast_model *m = ahpa_forecast_model_new(NULL);
    ck_assert_int_eq(ahpa_forecast_fit(m, x, 3 * DAY, 0, 60, NULL), 0);
    double p[120], u[120];
    size_t unknown = 0, known = 0;
    for (size_t i = 3 * DAY; i < n; i++) {
        ck_assert_int_eq(ahpa_forecast_update(m, x[i], NULL), 0);
        int rc = ahpa_forecast_predict(m, 120, 0.95, p, u, NULL);
        ck_assert(rc == 0 || rc == -AHPA_ENODATA);
        if (rc == 0) {
            known++;
            for (int k = 0; k < 120; k++)
                ck_assert(isfinite(p[k]) && isfinite(u[k]) && u[k] >= p[k] - 1e-9);
        } else {
            unknown++;
            ck_assert(isnan(p[0]) && isnan(u[119]));
        }
    }
    /* per outage of 360 samples, 360 - 14 predictions are unknown */
    ck_assert_uint_eq(unknown, 2 * (360 - 14));
    ck_assert_uint_eq(known, 2 * DAY - unknown);
    free(x);
    ahpa_forecast_free(m);
}
END_TEST

/* Fits of distinct models on several threads at once (FFTW planning from
 * many threads) give the same bits as one fit alone. */
#define NTHREADS 6

struct fit_job {
    const double *x;
    size_t n;
    double p[64];
    int rc;
};

static void *fit_thread(void *arg)
{
    struct fit_job *j = arg;
    for (int round = 0; round < 4 && j->rc == 0; round++) {
        struct ahpa_forecast_model *m = ahpa_forecast_model_new(NULL);
        j->rc = ahpa_forecast_fit(m, j->x, j->n - (size_t)round * 97, 0, 60, NULL);
        if (j->rc == 0 && round == 0)
            j->rc = ahpa_forecast_predict(m, 64, 0.9, NULL, j->p, NULL);
        ahpa_forecast_free(m);
    }
    return NULL;
}

START_TEST(fits_on_many_threads)
{
    size_t n = 3 * DAY;
    double *x = series_with_gap(n, DAY, DAY + 300, 15);
    struct fit_job solo = {.x = x, .n = n};
    fit_thread(&solo);
    ck_assert_int_eq(solo.rc, 0);
    struct fit_job jobs[NTHREADS];
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        jobs[i] = (struct fit_job){.x = x, .n = n};
        ck_assert_int_eq(pthread_create(&th[i], NULL, fit_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(jobs[i].rc, 0);
        ck_assert_mem_eq(jobs[i].p, solo.p, sizeof(solo.p));
    }
    free(x);
}
END_TEST

void ahpa_unit_suite_gaps(Suite *s)
{
    TCase *tc = tcase_create("gaps");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, day_missing_in_the_middle);
    tcase_add_loop_test(tc, last_hours_missing_is_unknown, 0, 2);
    tcase_add_test(tc, recent_window_boundary);
    tcase_add_test(tc, only_a_few_points);
    tcase_add_test(tc, recurring_outages_through_update);
    tcase_add_test(tc, fits_on_many_threads);
    suite_add_tcase(s, tc);
}
