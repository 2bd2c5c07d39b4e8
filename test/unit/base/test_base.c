/* Unit tests for lib/base. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/arena.h"
#include "ahpa/base64.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/quantity.h"
#include "ahpa/refcount.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"
#include "test_base.h"
#include "unit.h"

START_TEST(error_first_message_wins)
{
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_error_set(&err, AHPA_ENODATA, "need %d points", 10), -AHPA_ENODATA);
    ck_assert_int_eq(ahpa_error_set(&err, AHPA_EINVAL, "outer"), -AHPA_EINVAL);
    ck_assert_int_eq(err.code, AHPA_ENODATA);
    ck_assert_str_eq(err.msg, "need 10 points");
    ck_assert_str_eq(ahpa_error_name(-AHPA_ETIMEDOUT), "ETIMEDOUT");
    ck_assert_str_eq(ahpa_strerror(AHPA_ENOTFOUND), "not found");
    ck_assert_str_eq(ahpa_error_name(9999), "EINTERNAL");
    ck_assert_int_eq(ahpa_error_set(NULL, AHPA_EIO, "x"), -AHPA_EIO);
    ahpa_error_clear(&err);
    ck_assert_int_eq(err.code, 0);
    ck_assert_str_eq(ahpa_error_message(&err, -AHPA_EIO), "input/output error");
}
END_TEST

START_TEST(buf_grows_and_takes)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ck_assert_str_eq(ahpa_buf_cstr(&b), "");
    for (int i = 0; i < 1000; i++)
        ahpa_buf_printf(&b, "%d,", i);
    ck_assert(ahpa_str_has_prefix(b.data, "0,1,2,"));
    ck_assert(ahpa_str_has_suffix(b.data, "998,999,"));
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ahpa_buf_reset(&b);
    ahpa_buf_printf(&b, "<%s>", big);
    ck_assert_uint_eq(b.len, 601);
    size_t len;
    char *s = ahpa_buf_take(&b, &len);
    ck_assert_uint_eq(len, 601);
    ck_assert_ptr_null(b.data);
    free(s);
    s = ahpa_buf_take(&b, &len);
    ck_assert_str_eq(s, "");
    free(s);
    ahpa_buf_dispose(&b);
}
END_TEST

START_TEST(arena_alloc_reset)
{
    struct ahpa_arena *a = ahpa_arena_new(64);
    char *s = ahpa_arena_printf(a, "%s-%d", "pod", 7);
    ck_assert_str_eq(s, "pod-7");
    unsigned char *big = ahpa_arena_alloc(a, 10000);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(big[i], 0);
    ck_assert_uint_ge(ahpa_arena_used(a), 10000);
    double *d = ahpa_arena_alloc(a, sizeof(double));
    ck_assert_uint_eq((uintptr_t)d % _Alignof(double), 0);
    ahpa_arena_reset(a);
    ck_assert_uint_eq(ahpa_arena_used(a), 0);
    ck_assert_str_eq(ahpa_arena_strndup(a, "abcdef", 3), "abc");
    ahpa_arena_free(a);
    ahpa_arena_free(NULL);
}
END_TEST

START_TEST(str_numbers)
{
    int64_t i;
    double d;
    bool b;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_str_to_int64("6443", &i, NULL), 0);
    ck_assert_int_eq(i, 6443);
    ck_assert_int_eq(ahpa_str_to_int64("64x", &i, &err), -AHPA_EPARSE);
    ck_assert(strstr(err.msg, "64x") != NULL);
    ck_assert_int_eq(ahpa_str_to_int64("", &i, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_str_to_int64(" 1", &i, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_str_to_int64("99999999999999999999", &i, NULL), -AHPA_ERANGE);
    ck_assert_int_eq(ahpa_str_to_double("0.95", &d, NULL), 0);
    AHPA_ASSERT_NEAR(d, 0.95, 1e-15);
    ck_assert_int_eq(ahpa_str_to_double("1e999", &d, NULL), -AHPA_ERANGE);
    ck_assert_int_eq(ahpa_str_to_bool("TRUE", &b, NULL), 0);
    ck_assert(b);
    ck_assert_int_eq(ahpa_str_to_bool("maybe", &b, NULL), -AHPA_EPARSE);
}
END_TEST

START_TEST(str_durations)
{
    static const struct {
        const char *in;
        int64_t ms;
        int rc;
    } cases[] = {
        {"15s", 15000, 0},     {"1m30s", 90000, 0}, {"500ms", 500, 0}, {"2h", 7200000, 0},
        {"90", 90000, 0},      {"1.5s", 1500, 0},   {"", 0, -AHPA_EPARSE},
        {"s", 0, -AHPA_EPARSE}, {"10x", 0, -AHPA_EPARSE}, {"-1s", 0, -AHPA_EPARSE},
        {"1m 2s", 0, -AHPA_EPARSE},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        int64_t ms = -1;
        ck_assert_msg(ahpa_str_to_duration_ms(cases[k].in, &ms, NULL) == cases[k].rc, "%s",
                      cases[k].in);
        if (cases[k].rc == 0)
            ck_assert_int_eq(ms, cases[k].ms);
    }
}
END_TEST

START_TEST(str_url_and_names)
{
    char s[] = "a%2Fb%20c";
    ck_assert_int_eq(ahpa_url_decode_inplace(s, NULL), 0);
    ck_assert_str_eq(s, "a/b c");
    char bad1[] = "x%zz", bad2[] = "x%2", bad3[] = "%00";
    ck_assert_int_eq(ahpa_url_decode_inplace(bad1, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_url_decode_inplace(bad2, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_url_decode_inplace(bad3, NULL), -AHPA_EPARSE);
    ck_assert(ahpa_str_is_dns_label("kube-system"));
    ck_assert(!ahpa_str_is_dns_label("Kube"));
    ck_assert(!ahpa_str_is_dns_label("-a"));
    ck_assert(!ahpa_str_is_dns_label(""));
    ck_assert(ahpa_str_is_dns_subdomain("bert-intent-detection-7b486f6bf-f1234"));
    ck_assert(ahpa_str_is_dns_subdomain("a.b.c"));
    ck_assert(!ahpa_str_is_dns_subdomain("a..b"));
    char dst[4];
    ck_assert_uint_eq(ahpa_strlcpy(dst, "abcdef", sizeof(dst)), 6);
    ck_assert_str_eq(dst, "abc");
}
END_TEST

START_TEST(quantity_format)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {10, "10"}, {45.5, "45500m"}, {0, "0"}, {0.0004, "0"}, {0.0006, "1m"},
        {-1.5, "-1500m"}, {1e12, "1000000000000"}, {0.123456, "123m"},
    };
    char out[AHPA_QUANTITY_MAX];
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        ck_assert_int_eq(ahpa_quantity_format(cases[k].v, out), 0);
        ck_assert_str_eq(out, cases[k].want);
    }
    ck_assert_int_eq(ahpa_quantity_format(NAN, out), -AHPA_ERANGE);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(ahpa_quantity_format(INFINITY, out), -AHPA_ERANGE);
    ck_assert_int_eq(ahpa_quantity_format(-INFINITY, out), -AHPA_ERANGE);
    ck_assert_int_eq(ahpa_quantity_format(DBL_MAX, out), -AHPA_ERANGE);
}
END_TEST

START_TEST(quantity_parse)
{
    double v;
    ck_assert_int_eq(ahpa_quantity_parse("500m", &v, NULL), 0);
    AHPA_ASSERT_NEAR(v, 0.5, 1e-12);
    ck_assert_int_eq(ahpa_quantity_parse("2Gi", &v, NULL), 0);
    AHPA_ASSERT_NEAR(v, 2147483648.0, 0.5);
    ck_assert_int_eq(ahpa_quantity_parse("1e3", &v, NULL), 0);
    AHPA_ASSERT_NEAR(v, 1000, 1e-9);
    ck_assert_int_eq(ahpa_quantity_parse("1", &v, NULL), 0);
    AHPA_ASSERT_NEAR(v, 1, 0);
    ck_assert_int_eq(ahpa_quantity_parse("1Q", &v, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_quantity_parse("m", &v, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_quantity_parse("", &v, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_quantity_parse("nan", &v, NULL), -AHPA_EPARSE);
}
END_TEST

START_TEST(time_roundtrip)
{
    char out[AHPA_RFC3339_MAX];
    ahpa_time_format_rfc3339(0, out);
    ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
    ahpa_time_format_rfc3339(1795854000, out);
    ck_assert_str_eq(out, "2026-11-28T08:20:00Z");
    ahpa_time_format_rfc3339(951782400, out); /* leap day 2000 */
    ck_assert_str_eq(out, "2000-02-29T00:00:00Z");
    /* Every day of four centuries round-trips through civil fields. */
    for (int64_t t = -86400LL * 365 * 200; t < 86400LL * 365 * 200; t += 86400 * 7 + 3601) {
        struct ahpa_civil c;
        ahpa_civil_from_unix(t, &c);
        ck_assert_int_eq(ahpa_unix_from_civil(&c), t);
    }
    struct ahpa_civil c;
    ahpa_civil_from_unix(1795854000, &c); /* a Saturday */
    ck_assert_int_eq(c.wday, 6);
    ck_assert_int_eq(c.yday, 331);
}
END_TEST

START_TEST(time_parse)
{
    static const struct {
        const char *in;
        int64_t want;
        int rc;
    } cases[] = {
        {"1795854000", 1795854000, 0},
        {"1795854000.75", 1795854000, 0},
        {"2026-11-28 08:20:00", 1795854000, 0},
        {"2026-11-28T08:20:00Z", 1795854000, 0},
        {"2026-11-28T08:20:00.123Z", 1795854000, 0},
        {"2026-11-28T10:20:00+02:00", 1795854000, 0},
        {"2026-11-28", 1795824000, 0},
        {"2021-12-16 00:00:00", 1639612800, 0},
        {"2026-02-30 00:00:00", 0, -AHPA_ERANGE},
        {"2026-11-28 25:00:00", 0, -AHPA_ERANGE},
        {"2026/11/28", 0, -AHPA_EPARSE},
        {"yesterday", 0, -AHPA_EPARSE},
        {"2026-11-28T08:20:00+0200", 0, -AHPA_EPARSE},
        {"", 0, -AHPA_EPARSE},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        int64_t t = -1;
        struct ahpa_error err = {0};
        int rc = ahpa_time_parse(cases[k].in, &t, &err);
        ck_assert_msg(rc == cases[k].rc, "%s: rc %d (%s)", cases[k].in, rc, err.msg);
        if (rc == 0)
            ck_assert_msg(t == cases[k].want, "%s: %lld", cases[k].in, (long long)t);
    }
}
END_TEST

START_TEST(base64_roundtrip)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                        "Zm9vYmFy"};
    for (size_t k = 0; k < 7; k++) {
        struct ahpa_buf b, d;
        ahpa_buf_init(&b);
        ahpa_buf_init(&d);
        ahpa_base64_encode(plain[k], strlen(plain[k]), &b);
        ck_assert_str_eq(ahpa_buf_cstr(&b), coded[k]);
        ck_assert_int_eq(ahpa_base64_decode(b.data, b.len, &d, NULL), 0);
        ck_assert_str_eq(ahpa_buf_cstr(&d), plain[k]);
        ahpa_buf_dispose(&b);
        ahpa_buf_dispose(&d);
    }
    struct ahpa_buf d;
    ahpa_buf_init(&d);
    ck_assert_int_eq(ahpa_base64_decode("Zm9", 3, &d, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_base64_decode("Zm=v", 4, &d, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_base64_decode("Z!9v", 4, &d, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_base64_decode("Zg==Zg==", 8, &d, NULL), -AHPA_EPARSE);
    ahpa_buf_dispose(&d);
}
END_TEST

struct counted {
    struct ahpa_ref ref;
    int *destroyed;
};

static void counted_destroy(void *p)
{
    struct counted *c = p;
    (*c->destroyed)++;
    free(c);
}

START_TEST(snapshot_swap_releases)
{
    int destroyed = 0;
    struct ahpa_snapshot slot;
    ahpa_snapshot_init(&slot);
    ck_assert_ptr_null(ahpa_snapshot_get(&slot));
    struct counted *a = malloc(sizeof(*a));
    a->destroyed = &destroyed;
    ahpa_ref_init(&a->ref, counted_destroy);
    ahpa_snapshot_swap(&slot, &a->ref);
    struct ahpa_ref *held = ahpa_snapshot_get(&slot);
    ck_assert_ptr_eq(held, &a->ref);
    struct counted *b = malloc(sizeof(*b));
    b->destroyed = &destroyed;
    ahpa_ref_init(&b->ref, counted_destroy);
    ahpa_snapshot_swap(&slot, &b->ref);
    ck_assert_int_eq(destroyed, 0); /* a reader still holds a */
    ahpa_ref_release(held);
    ck_assert_int_eq(destroyed, 1);
    ahpa_snapshot_dispose(&slot);
    ck_assert_int_eq(destroyed, 2);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("base");
    tcase_add_test(tc, error_first_message_wins);
    tcase_add_test(tc, buf_grows_and_takes);
    tcase_add_test(tc, arena_alloc_reset);
    tcase_add_test(tc, str_numbers);
    tcase_add_test(tc, str_durations);
    tcase_add_test(tc, str_url_and_names);
    tcase_add_test(tc, quantity_format);
    tcase_add_test(tc, quantity_parse);
    tcase_add_test(tc, time_roundtrip);
    tcase_add_test(tc, time_parse);
    tcase_add_test(tc, base64_roundtrip);
    tcase_add_test(tc, snapshot_swap_releases);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, ahpa_test_base_lru_tcase());
    return s;
}
