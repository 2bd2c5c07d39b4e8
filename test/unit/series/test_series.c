/* lib/series: statistics, gap filling, resampling and CSV parsing. */
#include <math.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/series.h"
#include "unit.h"

/* Exact small-integer results: any tolerance above rounding noise works. */
#define TOL 1e-12

START_TEST(quantile_type7)
{
    double x[] = {5, 1, NAN, 4, 2, 3}, s[6];
    AHPA_ASSERT_NEAR(ahpa_series_quantile(x, 6, 0.5, s), 3.0, TOL);
    AHPA_ASSERT_NEAR(ahpa_series_quantile(x, 6, 0.25, s), 2.0, TOL);
    AHPA_ASSERT_NEAR(ahpa_series_quantile(x, 6, 0.9, s), 4.6, TOL);
    AHPA_ASSERT_NEAR(ahpa_series_quantile(x, 6, 0.0, s), 1.0, TOL);
    AHPA_ASSERT_NEAR(ahpa_series_quantile(x, 6, 1.0, s), 5.0, TOL);
    double y[] = {4, 3, 2, 1};
    AHPA_ASSERT_NEAR(ahpa_series_median(y, 4, s), 2.5, TOL);
    double z[] = {NAN, NAN};
    ck_assert(isnan(ahpa_series_median(z, 2, s)));
    /* many duplicates: the selection must still terminate and be right */
    double d[101];
    for (int i = 0; i < 101; i++)
        d[i] = i % 3;
    double sd[101];
    AHPA_ASSERT_NEAR(ahpa_series_quantile(d, 101, 0.5, sd), 1.0, TOL);
}
END_TEST

START_TEST(sort_and_select)
{
    /* ascending result against a reference built by counting: values are
     * small integers with many ties, the hard case for partitioning */
    double a[1000], b[1000];
    unsigned seed = 12345;
    int count[17] = {0};
    for (int i = 0; i < 1000; i++) {
        seed = seed * 1103515245u + 12345u;
        a[i] = b[i] = (double)((seed >> 16) % 17);
        count[(int)a[i]]++;
    }
    ahpa_series_sort(a, 1000);
    int k = 0;
    for (int v = 0; v < 17; v++)
        for (int c = 0; c < count[v]; c++, k++)
            AHPA_ASSERT_NEAR(a[k], (double)v, 0.0);
    ahpa_series_select_kth(b, 1000, 500);
    AHPA_ASSERT_NEAR(b[500], a[500], 0.0);
    for (int i = 0; i < 500; i++)
        ck_assert(b[i] <= b[500]);
    for (int i = 501; i < 1000; i++)
        ck_assert(b[i] >= b[500]);
    ahpa_series_sort(a, 0);
}
END_TEST

START_TEST(mad_mean_acf)
{
    double x[] = {1, 2, 3, 4, 100}, s[5];
    AHPA_ASSERT_NEAR(ahpa_series_mad(x, 5, s), 1.0, TOL);
    AHPA_ASSERT_NEAR(ahpa_series_mean(x, 5), 22.0, TOL);
    ck_assert_uint_eq(ahpa_series_count_finite(x, 5), 5);
    double alt[100];
    for (int i = 0; i < 100; i++)
        alt[i] = (i % 2) ? 1.0 : -1.0;
    /* biased estimator: sum of n-lag products over n */
    AHPA_ASSERT_NEAR(ahpa_series_acf(alt, 100, 1), -0.99, TOL);
    AHPA_ASSERT_NEAR(ahpa_series_acf(alt, 100, 2), 0.98, TOL);
    AHPA_ASSERT_NEAR(ahpa_series_acf(alt, 100, 200), 0.0, TOL);
    double flat[10] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
    AHPA_ASSERT_NEAR(ahpa_series_acf(flat, 10, 1), 0.0, TOL);
}
END_TEST

START_TEST(fill_gaps)
{
    double x[] = {NAN, 1, NAN, 3, NAN, NAN, 0, NAN};
    ck_assert_uint_eq(ahpa_series_fill_gaps(x, 8), 5);
    double want[] = {1, 1, 2, 3, 2, 1, 0, 0};
    for (int i = 0; i < 8; i++)
        AHPA_ASSERT_NEAR(x[i], want[i], TOL);
    double none[] = {NAN, NAN};
    ck_assert_uint_eq(ahpa_series_fill_gaps(none, 2), 0);
    ck_assert(isnan(none[0]));
}
END_TEST

START_TEST(resample_mean_sum)
{
    struct ahpa_series_samples s;
    struct ahpa_series out;
    struct ahpa_error err = {0};
    ahpa_series_samples_init(&s);
    ahpa_series_init(&out);
    ahpa_series_samples_push(&s, 10, 1.0);
    ahpa_series_samples_push(&s, 30, 3.0);
    ahpa_series_samples_push(&s, 60, 5.0);
    ahpa_series_samples_push(&s, 61, NAN);
    ahpa_series_samples_push(&s, 200, 7.0);
    ck_assert_int_eq(ahpa_series_samples_median_step(&s), 30);
    ck_assert_int_eq(ahpa_series_resample(&s, 60, AHPA_SERIES_AGG_MEAN, 0, &out, &err), 0);
    ck_assert_uint_eq(out.n, 4);
    ck_assert_int_eq(out.t0_s, 0);
    AHPA_ASSERT_NEAR(out.v[0], 2.0, TOL);
    AHPA_ASSERT_NEAR(out.v[1], 5.0, TOL);
    ck_assert(isnan(out.v[2]));
    AHPA_ASSERT_NEAR(out.v[3], 7.0, TOL);
    ck_assert_int_eq(ahpa_series_resample(&s, 60, AHPA_SERIES_AGG_SUM, 0, &out, &err), 0);
    AHPA_ASSERT_NEAR(out.v[0], 4.0, TOL);
    AHPA_ASSERT_NEAR(out.v[2], 0.0, TOL);
    ck_assert_int_eq(ahpa_series_resample(&s, 60, AHPA_SERIES_AGG_MAX, 0, &out, &err), 0);
    AHPA_ASSERT_NEAR(out.v[0], 3.0, TOL);
    ck_assert_int_eq(ahpa_series_resample(&s, 60, AHPA_SERIES_AGG_MEAN, 2, &out, &err),
                     -AHPA_ETOOBIG);
    ck_assert_int_eq(ahpa_series_resample(&s, 0, AHPA_SERIES_AGG_MEAN, 0, &out, NULL),
                     -AHPA_EINVAL);
    ahpa_series_samples_dispose(&s);
    ck_assert_int_eq(ahpa_series_resample(&s, 60, AHPA_SERIES_AGG_MEAN, 0, &out, NULL),
                     -AHPA_ENODATA);
    ahpa_series_dispose(&out);
}
END_TEST

static int parse(const char *text, struct ahpa_series_samples *s, struct ahpa_error *err)
{
    ahpa_series_samples_init(s);
    memset(err, 0, sizeof(*err));
    return ahpa_series_csv_parse(text, strlen(text), NULL, s, err);
}

START_TEST(csv_good)
{
    struct ahpa_series_samples s;
    struct ahpa_error err;
    const char *text = "timestamp,value\r\n"
                       "2014-05-14 01:14:00,85.5\r\n"
                       "\n# comment\n"
                       "2014-05-14T01:19:00Z,\n"
                       "1400030640,NaN\n"
                       "\"1400030700\", 2e1 ,extra\n";
    ck_assert_int_eq(parse(text, &s, &err), 0);
    ck_assert_uint_eq(s.n, 4);
    ck_assert_int_eq(s.t[0], 1400030040);
    AHPA_ASSERT_NEAR(s.v[0], 85.5, TOL);
    ck_assert_int_eq(s.t[1], 1400030340);
    ck_assert(isnan(s.v[1]) && isnan(s.v[2]));
    AHPA_ASSERT_NEAR(s.v[3], 20.0, TOL);
    ahpa_series_samples_dispose(&s);
    /* no header, no final newline */
    ck_assert_int_eq(parse("100,1\n160,2", &s, &err), 0);
    ck_assert_uint_eq(s.n, 2);
    ahpa_series_samples_dispose(&s);
}
END_TEST

START_TEST(csv_errors)
{
    static const struct {
        const char *text;
        int rc;
        const char *msg;
    } cases[] = {
        {"ts,value\n100,1\n90,2\n", -AHPA_EPARSE, "line 3: timestamp 90 is before"},
        {"100,1\n100,2\n", -AHPA_EPARSE, "line 2: timestamp 100 duplicates"},
        {"ts,value\n100,1\n160,abc\n", -AHPA_EPARSE, "line 3: bad value"},
        {"ts,value\n100,1\nyesterday,2\n", -AHPA_EPARSE, "line 3: bad timestamp"},
        {"ts,value\n100\n", -AHPA_EPARSE, "line 2: expected at least 2 columns"},
        {"100,1\n160,inf\n", -AHPA_EPARSE, "line 2: bad value"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ahpa_series_samples s;
        struct ahpa_error err;
        ck_assert_int_eq(parse(cases[i].text, &s, &err), cases[i].rc);
        ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: %s", i, err.msg);
        ahpa_series_samples_dispose(&s);
    }
    struct ahpa_series_samples s;
    struct ahpa_error err = {0};
    struct ahpa_series_csv_options opt = {0, 1, 2, true};
    ahpa_series_samples_init(&s);
    ck_assert_int_eq(ahpa_series_csv_parse("1,1\n2,2\n3,3\n", 12, &opt, &s, &err),
                     -AHPA_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "line 3"));
    ahpa_series_samples_dispose(&s);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("series");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, quantile_type7);
    tcase_add_test(tc, sort_and_select);
    tcase_add_test(tc, mad_mean_acf);
    tcase_add_test(tc, fill_gaps);
    tcase_add_test(tc, resample_mean_sum);
    tcase_add_test(tc, csv_good);
    tcase_add_test(tc, csv_errors);
    suite_add_tcase(s, tc);
    return s;
}
