/* Unit tests for the drawing internals of lib/report: number formatting,
 * escaping, scales, gap detection, decimation and the band. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "report_int.h"
#include "test_report.h"
#include "unit.h"

/* A 100-column plot over [0, 100 s] x [0, 100] with y = 100 - v, so that a
 * sample at t = k lands in column k (x = k + 0.5). */
static const struct ahpa_report__frame unit_frame = {
    .left = 0, .top = 0, .height = 100, .cols = 100, .t0 = 0, .t1 = 100,
    .y0 = 0, .y1 = 100,
};

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

START_TEST(num_is_compact)
{
    static const struct { double v; const char *want; } cases[] = {
        {12, "12"}, {12.5, "12.5"}, {12.04, "12"}, {12.06, "12.1"}, {-3, "-3"},
        {-0.01, "0"}, {0, "0"}, {1200.25, "1200.2"}, {0.05, "0.1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ahpa_report__num(&b, cases[i].v);
        ck_assert_msg(strcmp(ahpa_buf_cstr(&b), cases[i].want) == 0, "%g -> %s, want %s",
                      cases[i].v, ahpa_buf_cstr(&b), cases[i].want);
        ahpa_buf_dispose(&b);
    }
}
END_TEST

START_TEST(escape_replaces_markup)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_report__escape(&b, "a<b>&\"c'd");
    ck_assert_str_eq(ahpa_buf_cstr(&b), "a&lt;b&gt;&amp;&quot;c&#39;d");
    ahpa_buf_reset(&b);
    ahpa_report__escape(&b, NULL);
    ck_assert_str_eq(ahpa_buf_cstr(&b), "-");
    ahpa_buf_dispose(&b);
}
END_TEST

START_TEST(scales_map_ends)
{
    const struct ahpa_report__frame *f = &unit_frame;
    ck_assert_int_eq(ahpa_report__col(f, 0), 0);
    ck_assert_int_eq(ahpa_report__col(f, 37), 37);
    ck_assert_int_eq(ahpa_report__col(f, 100), 99); /* the end falls in the last column */
    ck_assert_int_eq(ahpa_report__col(f, -5), 0);
    AHPA_ASSERT_NEAR(ahpa_report__x(f, 25), 25, 1e-9);
    AHPA_ASSERT_NEAR(ahpa_report__y(f, 0), 100, 1e-9);
    AHPA_ASSERT_NEAR(ahpa_report__y(f, 75), 25, 1e-9);
    AHPA_ASSERT_NEAR(ahpa_report__nice_step(100, 5), 20, 1e-9);
    AHPA_ASSERT_NEAR(ahpa_report__nice_step(11, 5), 2.5, 1e-9);
    AHPA_ASSERT_NEAR(ahpa_report__nice_step(0.9, 5), 0.2, 1e-12);
    AHPA_ASSERT_NEAR(ahpa_report__nice_step(420, 5), 100, 1e-9);
}
END_TEST

START_TEST(gap_is_three_median_steps)
{
    int64_t t[] = {0, 60, 120, 180, 900, 960};
    double v[6] = {0};
    struct ahpa_report__series s = {t, v, 6};
    ck_assert_int_eq(ahpa_report__gap_s(&s), 180);
    s.n = 1;
    ck_assert(ahpa_report__gap_s(&s) == INT64_MAX);
}
END_TEST

/* Ten samples per column in columns 0..9, values rising within each
 * column: each column keeps exactly its first (min) and last (max). */
START_TEST(decimation_keeps_min_and_max_in_order)
{
    struct ahpa_report__frame f = unit_frame;
    f.t1 = 1000; /* 10 s per column */
    int64_t t[100];
    double v[100];
    for (int i = 0; i < 100; i++) {
        t[i] = i;
        v[i] = (i % 10) * 10;
    }
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    struct ahpa_report__series s = {t, v, 100};
    ck_assert_uint_eq(ahpa_report__path(&b, &f, &s), 1);
    ck_assert(strncmp(ahpa_buf_cstr(&b), "M0.5 100 0.5 10 1.5 100 1.5 10 ", 31) == 0);
    ck_assert_uint_eq(count_char(b.data, ' '), 39); /* 20 points, 2 numbers each */
    ahpa_buf_dispose(&b);
}
END_TEST

START_TEST(single_sample_spike_survives)
{
    struct ahpa_report__frame f = unit_frame;
    f.t1 = 10000; /* 100 samples per column */
    enum { N = 10000 };
    int64_t *t = malloc(N * sizeof(*t));
    double *v = malloc(N * sizeof(*v));
    for (int i = 0; i < N; i++) {
        t[i] = i;
        v[i] = 40;
    }
    v[5555] = 97; /* column 55, y = 3 */
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    struct ahpa_report__series s = {t, v, N};
    ahpa_report__path(&b, &f, &s);
    ck_assert_ptr_nonnull(strstr(b.data, " 55.5 60 55.5 3 56.5 60"));
    ck_assert_uint_eq(count_char(b.data, ' '), 2 * 101 - 1);
    ahpa_buf_dispose(&b);
    free(t);
    free(v);
}
END_TEST

START_TEST(nan_and_time_gaps_split_segments)
{
    /* 1 s steps (gap threshold 3 s): a NaN at t = 4, a jump from 9 to 30 and
     * a trailing NaN give the runs 0..3, 5..9 and 30..34. */
    int64_t t[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 30, 31, 32, 33, 34, 36};
    double v[16];
    for (int i = 0; i < 16; i++)
        v[i] = 50;
    v[4] = NAN;
    v[15] = NAN;
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    struct ahpa_report__series s = {t, v, 16};
    ck_assert_uint_eq(ahpa_report__path(&b, &unit_frame, &s), 3);
    ck_assert_uint_eq(count_char(b.data, 'M'), 3);
    ck_assert_str_eq(ahpa_buf_cstr(&b), "M0.5 50 1.5 50 2.5 50 3.5 50"
                                        "M5.5 50 6.5 50 7.5 50 8.5 50 9.5 50"
                                        "M30.5 50 31.5 50 32.5 50 33.5 50 34.5 50");
    /* A lone point is kept visible with a zero-length "h0". */
    double w[3] = {20, NAN, 20};
    int64_t tw[3] = {0, 1, 2};
    struct ahpa_report__series lone = {tw, w, 3};
    ahpa_buf_reset(&b);
    ck_assert_uint_eq(ahpa_report__path(&b, &unit_frame, &lone), 2);
    ck_assert_str_eq(ahpa_buf_cstr(&b), "M0.5 80h0M2.5 80h0");
    ahpa_buf_dispose(&b);
}
END_TEST

/* Every other sample missing: breaks only between columns, so never more
 * than two points per column (here: one dot per column, all values 50). */
START_TEST(alternating_nans_stay_bounded)
{
    struct ahpa_report__frame f = unit_frame;
    f.t1 = 10000;
    enum { N = 10000 };
    int64_t *t = malloc(N * sizeof(*t));
    double *v = malloc(N * sizeof(*v));
    for (int i = 0; i < N; i++) {
        t[i] = i;
        v[i] = i % 2 ? NAN : 50;
    }
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    struct ahpa_report__series s = {t, v, N};
    ck_assert_uint_eq(ahpa_report__path(&b, &f, &s), 100);
    ck_assert_uint_eq(count_char(b.data, 'h'), 100);
    ck_assert(strncmp(b.data, "M0.5 50h0M1.5 50h0", 18) == 0);
    ahpa_buf_reset(&b);
    ck_assert_uint_eq(ahpa_report__band(&b, &f, &s, &s), 100);
    ck_assert_uint_eq(count_char(b.data, 'M'), 100);
    ahpa_buf_dispose(&b);
    free(t);
    free(v);
}
END_TEST

/* 1-minute history then a 5-minute forecast: the coarser part is not a
 * string of gaps; only the change of step itself breaks (invisibly). */
START_TEST(step_change_is_not_a_gap)
{
    struct ahpa_report__frame f = unit_frame;
    f.t1 = 4000; /* 40 s per column */
    int64_t t[27];
    double v[27];
    for (int i = 0; i < 27; i++) {
        t[i] = i <= 20 ? i * 60 : 1200 + (i - 20) * 300;
        v[i] = 10;
    }
    struct ahpa_report__series s = {t, v, 27};
    ck_assert_int_eq(ahpa_report__gap_s(&s), 180);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ck_assert_uint_eq(ahpa_report__path(&b, &f, &s), 2);
    ck_assert_ptr_nonnull(strstr(b.data, "30.5 90M37.5 90 45.5 90"));
    ahpa_buf_dispose(&b);
}
END_TEST

START_TEST(band_closes_over_extremes)
{
    struct ahpa_report__frame f = unit_frame;
    f.t1 = 200; /* 2 s per column */
    int64_t t[] = {0, 1, 2, 3, 6, 7};
    double lo[] = {10, 20, 30, 30, NAN, 40};
    double hi[] = {50, 60, 70, 80, 90, 90};
    struct ahpa_report__series sl = {t, lo, 6}, sh = {t, hi, 6};
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ck_assert_uint_eq(ahpa_report__band(&b, &f, &sl, &sh), 2);
    ck_assert_str_eq(ahpa_buf_cstr(&b), "M0.5 40 1.5 20 1.5 70 0.5 90ZM3.5 10 3.5 60Z");
    ahpa_buf_dispose(&b);
}
END_TEST

START_TEST(time_labels)
{
    char d[32], h[16];
    ahpa_report__date_label(d, 1795852800, 0); /* 2026-11-28T08:00:00Z */
    ck_assert_str_eq(d, "Sat 28 Nov");
    ahpa_report__hour_label(h, 1795852800, 0);
    ck_assert_str_eq(h, "08:00");
    ahpa_report__date_label(d, 1795852800, -9 * 3600); /* 23:00 the day before */
    ck_assert_str_eq(d, "Fri 27 Nov");
    ahpa_report__hour_label(h, 1795852800, 5 * 3600 + 1800);
    ck_assert_str_eq(h, "13:30");
}
END_TEST

void ahpa_report_test_path(Suite *s)
{
    TCase *tc = tcase_create("path");
    tcase_add_test(tc, num_is_compact);
    tcase_add_test(tc, escape_replaces_markup);
    tcase_add_test(tc, scales_map_ends);
    tcase_add_test(tc, gap_is_three_median_steps);
    tcase_add_test(tc, decimation_keeps_min_and_max_in_order);
    tcase_add_test(tc, single_sample_spike_survives);
    tcase_add_test(tc, nan_and_time_gaps_split_segments);
    tcase_add_test(tc, alternating_nans_stay_bounded);
    tcase_add_test(tc, step_change_is_not_a_gap);
    tcase_add_test(tc, band_closes_over_extremes);
    tcase_add_test(tc, time_labels);
    suite_add_tcase(s, tc);
}
