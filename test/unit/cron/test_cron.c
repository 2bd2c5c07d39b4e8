/* Unit tests for lib/cron: the expression dialect, matching at day, month,
 * year and leap-day boundaries, zones (fixed, TZif with and past its
 * transitions, POSIX rules), and the instanceBounds windows of the seed's
 * fib-gpu AHPA. Reference instants were computed independently (Python's
 * datetime and zoneinfo) and are written here as literals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/cron.h"
#include "ahpa/error.h"
#include "ahpa/timefmt.h"
#include "cron_int.h"
#include "unit.h"

/* Bits lo..hi (a constant expression, for the tables). */
#define RANGE(lo, hi) ((~UINT64_C(0) >> (63 - (hi))) & (~UINT64_C(0) << (lo)))
#define B1(v) (UINT64_C(1) << (v))
#define ALL_MIN RANGE(0, 59)
#define ALL_HOUR RANGE(0, 23)
#define ALL_DOM RANGE(1, 31)
#define ALL_MON RANGE(1, 12)
#define ALL_DOW RANGE(0, 6)

static const struct parse_case {
    const char *text;
    struct ahpa_cron_expr want;
} parse_cases[] = {
    {"* * * * *", {ALL_MIN, ALL_HOUR, ALL_DOM, ALL_MON, ALL_DOW, true, true}},
    {"* 0-8 ? * MON-FRI", {ALL_MIN, RANGE(0, 8), ALL_DOM, ALL_MON, RANGE(1, 5), true, false}},
    {"  0  12 ? * *  ", {B1(0), B1(12), ALL_DOM, ALL_MON, ALL_DOW, true, true}},
    {"5,10,59 23 1,31 2,12 0", {B1(5) | B1(10) | B1(59), B1(23), B1(1) | B1(31), B1(2) | B1(12), B1(0), false, false}},
    {"*/15 */6 */10 */3 */2", {(B1(0)|B1(15)|B1(30)|B1(45)), (B1(0)|B1(6)|B1(12)|B1(18)), (B1(1)|B1(11)|B1(21)|B1(31)), (B1(1)|B1(4)|B1(7)|B1(10)), (B1(0)|B1(2)|B1(4)|B1(6)), false, false}},
    {"*/1 * * * */1", {ALL_MIN, ALL_HOUR, ALL_DOM, ALL_MON, ALL_DOW, true, true}},
    {"10-30/7 9-17/4 1-15/7 1-12/5 1-5/2", {(B1(10)|B1(17)|B1(24)), (B1(9)|B1(13)|B1(17)), (B1(1)|B1(8)|B1(15)), (B1(1)|B1(6)|B1(11)), (B1(1)|B1(3)|B1(5)), false, false}},
    {"5/20 20/1 25/3 11/1 3/2", {(B1(5)|B1(25)|B1(45)), RANGE(20, 23), (B1(25)|B1(28)|B1(31)), RANGE(11, 12), (B1(3)|B1(5)), false, false}},
    {"0 0 ? jan-Mar,DEC sun,sat", {B1(0), B1(0), ALL_DOM, RANGE(1, 3) | B1(12), B1(0) | B1(6), true, false}},
    {"0 0 ? * 7", {B1(0), B1(0), ALL_DOM, ALL_MON, B1(0), true, false}},
    {"0 0 ? * 5-7", {B1(0), B1(0), ALL_DOM, ALL_MON, B1(5) | B1(6) | B1(0), true, false}},
    {"0 0 ? * FRI-7", {B1(0), B1(0), ALL_DOM, ALL_MON, B1(5) | B1(6) | B1(0), true, false}},
    {"0 0 ? * 0-7", {B1(0), B1(0), ALL_DOM, ALL_MON, ALL_DOW, true, false}},
    {"0 0 ? * 7/2", {B1(0), B1(0), ALL_DOM, ALL_MON, B1(0), true, false}},
    {"0-59 0-23 1-31 1-12 0-6", {ALL_MIN, ALL_HOUR, ALL_DOM, ALL_MON, ALL_DOW, false, false}},
    {"4\t4 4 4 4", {B1(4), B1(4), B1(4), B1(4), B1(4), false, false}},
    {"@hourly", {B1(0), ALL_HOUR, ALL_DOM, ALL_MON, ALL_DOW, true, true}},
    {"@DAILY", {B1(0), B1(0), ALL_DOM, ALL_MON, ALL_DOW, true, true}},
    {"@weekly", {B1(0), B1(0), ALL_DOM, ALL_MON, B1(0), true, false}},
    {"@monthly", {B1(0), B1(0), B1(1), ALL_MON, ALL_DOW, false, true}},
    {"@yearly", {B1(0), B1(0), B1(1), B1(1), ALL_DOW, false, true}},
};

START_TEST(parse_table)
{
    const struct parse_case *c = &parse_cases[_i];
    struct ahpa_cron_expr e;
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_cron_parse(c->text, &e, &err) == 0, "%s: %s", c->text, err.msg);
    ck_assert_msg(e.minute == c->want.minute, "%s minute %llx", c->text, (unsigned long long)e.minute);
    ck_assert_msg(e.hour == c->want.hour, "%s hour %llx", c->text, (unsigned long long)e.hour);
    ck_assert_msg(e.dom == c->want.dom, "%s dom %llx", c->text, (unsigned long long)e.dom);
    ck_assert_msg(e.month == c->want.month, "%s month %llx", c->text, (unsigned long long)e.month);
    ck_assert_msg(e.dow == c->want.dow, "%s dow %llx", c->text, (unsigned long long)e.dow);
    ck_assert_msg(e.dom_any == c->want.dom_any && e.dow_any == c->want.dow_any, "%s any", c->text);
}
END_TEST

static const struct error_case {
    const char *text;
    int code;
    const char *msg;
} error_cases[] = {
    {"", AHPA_EPARSE, "expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
    {"* * * *", AHPA_EPARSE, "expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
    {"0 * * * * *", AHPA_EPARSE, "expected 5 fields (minute hour day-of-month month day-of-week), got 6"},
    {"* 25 * * *", AHPA_ERANGE, "hour: value 25 out of range 0-23"},
    {"60 * * * *", AHPA_ERANGE, "minute: value 60 out of range 0-59"},
    {"* * 0 * *", AHPA_ERANGE, "day-of-month: value 0 out of range 1-31"},
    {"* * 32 * *", AHPA_ERANGE, "day-of-month: value 32 out of range 1-31"},
    {"* * * 13 *", AHPA_ERANGE, "month: value 13 out of range 1-12"},
    {"* * * 0 *", AHPA_ERANGE, "month: value 0 out of range 1-12"},
    {"* * * * 8", AHPA_ERANGE, "day-of-week: value 8 out of range 0-7"},
    {"* * ? * FRY", AHPA_EPARSE, "day-of-week: unknown name FRY"},
    {"* * ? * MONDAY", AHPA_EPARSE, "day-of-week: unknown name MONDAY"},
    {"* * * JANUARY *", AHPA_EPARSE, "month: unknown name JANUARY"},
    {"* MON * * *", AHPA_EPARSE, "hour: expected a number, got 'MON'"},
    {"? * * * *", AHPA_EPARSE, "minute: '?' is only allowed in day-of-month and day-of-week"},
    {"* * * ? *", AHPA_EPARSE, "month: '?' is only allowed in day-of-month and day-of-week"},
    {"* 22-2 * * *", AHPA_ERANGE, "hour: range 22-2 runs backwards (ranges do not wrap)"},
    {"* * ? * FRI-MON", AHPA_ERANGE, "day-of-week: range 5-1 runs backwards (ranges do not wrap)"},
    {"*/0 * * * *", AHPA_ERANGE, "minute: step 0 out of range 1-60"},
    {"*/61 * * * *", AHPA_ERANGE, "minute: step 61 out of range 1-60"},
    {"*/ * * * *", AHPA_EPARSE, "minute: step after '/' must be a number"},
    {"*/5x * * * *", AHPA_EPARSE, "minute: unexpected 'x'"},
    {"1,,2 * * * *", AHPA_EPARSE, "minute: empty list item"},
    {"1, * * * *", AHPA_EPARSE, "minute: empty list item"},
    {"1- * * * *", AHPA_EPARSE, "minute: missing value"},
    {"-1 * * * *", AHPA_EPARSE, "minute: missing value"},
    {"*-5 * * * *", AHPA_EPARSE, "minute: unexpected '-5'"},
    {"1x * * * *", AHPA_EPARSE, "minute: bad number '1x'"},
    {"* * * * L", AHPA_EPARSE, "day-of-week: unknown name L"},
    {"@every 5m", AHPA_EPARSE, "cron: unknown descriptor '@every 5m'"},
};

START_TEST(parse_errors_name_the_field)
{
    const struct error_case *c = &error_cases[_i];
    struct ahpa_cron_expr e;
    struct ahpa_error err = {0};
    int rc = ahpa_cron_parse(c->text, &e, &err);
    ck_assert_msg(rc == -c->code, "'%s': rc %d (%s)", c->text, rc, err.msg);
    ck_assert_str_eq(err.msg, c->msg);
}
END_TEST

START_TEST(parse_rejects_overlong)
{
    char big[400];
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct ahpa_cron_expr e;
    ck_assert_int_eq(ahpa_cron_parse(big, &e, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_cron_parse(NULL, &e, NULL), -AHPA_EINVAL);
}
END_TEST

static bool match_at(const char *expr, int64_t t)
{
    struct ahpa_cron_expr e;
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_cron_parse(expr, &e, &err) == 0, "%s: %s", expr, err.msg);
    struct ahpa_civil c;
    ahpa_civil_from_unix(t, &c);
    return ahpa_cron_match(&e, &c);
}

/* Instants (UTC): 2022-03-14 is a Monday. */
#define MON_0000 INT64_C(1647216000)
#define SUN_2359 INT64_C(1647215940)
#define MON_0859 INT64_C(1647248340)
#define MON_0900 INT64_C(1647248400)
#define MON_1559 INT64_C(1647273540)
#define MON_1600 INT64_C(1647273600)
#define FRI_2359 INT64_C(1647647940)
#define SAT_0000 INT64_C(1647648000)
#define SAT_1200 INT64_C(1647691200)
#define SUN_1200 INT64_C(1647777600)
#define MON2_0000 INT64_C(1647820800)

START_TEST(match_seed_bounds_through_the_week)
{
    const char *early = "* 0-8 ? * MON-FRI", *day = "* 9-15 ? * MON-FRI",
               *late = "* 16-23 ? * MON-FRI";
    ck_assert(!match_at(early, SUN_2359) && !match_at(late, SUN_2359));
    ck_assert(match_at(early, MON_0000) && !match_at(day, MON_0000));
    ck_assert(match_at(early, MON_0859) && !match_at(day, MON_0859));
    ck_assert(!match_at(early, MON_0900) && match_at(day, MON_0900));
    ck_assert(match_at(day, MON_1559) && !match_at(late, MON_1559));
    ck_assert(!match_at(day, MON_1600) && match_at(late, MON_1600));
    ck_assert(match_at(late, FRI_2359));
    ck_assert(!match_at(early, SAT_0000) && !match_at(late, SAT_0000));
    ck_assert(!match_at(day, SAT_1200) && !match_at(day, SUN_1200));
    ck_assert(match_at(early, MON2_0000));
    /* Every minute of the week is in exactly one bound on weekdays and
     * in none at the weekend. */
    for (int64_t t = MON_0000; t < MON_0000 + 7 * 86400; t += 60) {
        int n = match_at(early, t) + match_at(day, t) + match_at(late, t);
        int want = t < SAT_0000 ? 1 : 0;
        ck_assert_msg(n == want, "t=%lld matched %d", (long long)t, n);
    }
}
END_TEST

START_TEST(match_minute_hour_steps_and_lists)
{
    ck_assert(match_at("*/15 * * * *", MON_0900 + 45 * 60));
    ck_assert(!match_at("*/15 * * * *", MON_0900 + 46 * 60));
    ck_assert(match_at("0,30 9 * * *", MON_0900 + 30 * 60 + 59)); /* seconds ignored */
    ck_assert(!match_at("0,30 9 * * *", MON_0900 + 31 * 60));
    ck_assert(match_at("5/20 * * * *", MON_0900 + 45 * 60));
    ck_assert(!match_at("5/20 * * * *", MON_0900 + 5 * 60 + 60));
}
END_TEST

START_TEST(match_day_of_month_day_of_week_rule)
{
    /* 2022-03-13 is a Sunday, 03-18 a Friday, 05-13 a Friday. */
    const int64_t sun13 = INT64_C(1647129600), fri18 = INT64_C(1647561600),
                  fri_may13 = INT64_C(1652400000), sat19 = SAT_0000;
    /* Both restricted: either matches (OR). */
    ck_assert(match_at("0 0 13 * FRI", sun13));
    ck_assert(match_at("0 0 13 * FRI", fri18));
    ck_assert(match_at("0 0 13 * FRI", fri_may13));
    ck_assert(!match_at("0 0 13 * FRI", sat19));
    /* A star or ? on one side: both must match (AND). */
    ck_assert(match_at("0 0 13 * *", sun13) && !match_at("0 0 13 * *", fri18));
    ck_assert(match_at("0 0 ? * FRI", fri18) && !match_at("0 0 ? * FRI", sun13));
    ck_assert(match_at("0 0 13 * ?", sun13));
    /* A stepped star is a restriction (robfig); every 2nd weekday is SUN,TUE,THU,SAT. */
    ck_assert(match_at("0 0 13 * */2", sun13));
    ck_assert(!match_at("0 0 14 * */2", fri18));
    ck_assert(match_at("0 0 14 * */2", sat19));
}
END_TEST

START_TEST(match_year_and_leap_day)
{
    const int64_t new_year = INT64_C(1640995200); /* 2022-01-01 00:00 */
    ck_assert(match_at("0 0 1 1 *", new_year));
    ck_assert(!match_at("0 0 1 1 *", new_year - 60));
    ck_assert(match_at("59 23 31 DEC *", new_year - 60));
    ck_assert(match_at("@yearly", new_year));
    /* Feb 29 matches in 2024 and on no day of 2023. */
    ck_assert(match_at("0 12 29 2 *", INT64_C(1709208000)));
    const int64_t jan1_2023 = INT64_C(1672531200);
    for (int d = 0; d < 365; d++)
        ck_assert(!match_at("0 12 29 2 *", jan1_2023 + d * 86400 + 12 * 3600));
    ck_assert(match_at("0 12 29 2 *", jan1_2023 + 365 * 86400 + 59 * 86400 + 12 * 3600));
    /* "31" only in long months: 2022-04-30 23:59 then May 1. */
    ck_assert(!match_at("* * 31 * *", INT64_C(1651363140)));
    ck_assert(match_at("* * 1 MAY *", INT64_C(1651363200)));
}
END_TEST

/* ---- random expressions against a reference ------------------------ */

/* An item kept as structure, so the reference below never parses text. */
struct ref_item {
    int kind; /* 0 star, 1 question, 2 value, 3 range */
    int lo, hi, step;
    bool has_step;
};

struct ref_field {
    int n;
    struct ref_item items[3];
};

static const int ref_min[5] = {0, 0, 1, 1, 0}, ref_max[5] = {59, 23, 31, 12, 7};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int rng_in(uint64_t *s, int lo, int hi)
{
    return lo + (int)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

/* Writes value v of field f as a number or (months, weekdays) a name in
 * random case. */
static size_t put_value(char *out, int f, int v, uint64_t *rs)
{
    static const char *const mon[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                      "jul", "aug", "sep", "oct", "nov", "dec"};
    static const char *const dow[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    const char *name = NULL;
    if (f == 3 && rng_in(rs, 0, 1))
        name = mon[v - 1];
    if (f == 4 && v < 7 && rng_in(rs, 0, 1))
        name = dow[v];
    if (name == NULL)
        return (size_t)snprintf(out, 8, "%d", v);
    for (int i = 0; i < 3; i++)
        out[i] = rng_in(rs, 0, 1) ? (char)(name[i] - 'a' + 'A') : name[i];
    return 3;
}

static void random_field(int f, struct ref_field *rf, char *out, uint64_t *rs)
{
    rf->n = rng_in(rs, 1, 3);
    size_t len = 0;
    for (int i = 0; i < rf->n; i++) {
        struct ref_item *it = &rf->items[i];
        it->kind = rng_in(rs, 0, 3);
        if (it->kind == 1 && f != 2 && f != 4)
            it->kind = 0;
        it->lo = rng_in(rs, ref_min[f], ref_max[f]);
        it->hi = rng_in(rs, it->lo, ref_max[f]);
        it->has_step = rng_in(rs, 0, 2) == 0;
        it->step = it->has_step ? rng_in(rs, 1, 7) : 1;
        if (i > 0)
            out[len++] = ',';
        if (it->kind <= 1) {
            out[len++] = it->kind == 0 ? '*' : '?';
        } else {
            len += put_value(out + len, f, it->lo, rs);
            if (it->kind == 3) {
                out[len++] = '-';
                len += put_value(out + len, f, it->hi, rs);
            }
        }
        if (it->has_step)
            len += (size_t)snprintf(out + len, 8, "/%d", it->step);
    }
    out[len] = '\0';
}

static bool ref_item_has(const struct ref_item *it, int f, int v)
{
    int top = f == 4 ? 6 : ref_max[f];
    int lo = it->lo, hi = it->hi;
    if (it->kind <= 1) {
        lo = ref_min[f];
        hi = top;
    } else if (it->kind == 2) {
        hi = it->has_step ? (lo > top ? lo : top) : lo;
    }
    return v >= lo && v <= hi && (v - lo) % it->step == 0;
}

static bool ref_field_has(const struct ref_field *rf, int f, int v)
{
    for (int i = 0; i < rf->n; i++)
        if (ref_item_has(&rf->items[i], f, v) || (f == 4 && v == 0 && ref_item_has(&rf->items[i], f, 7)))
            return true;
    return false;
}

static bool ref_unrestricted(const struct ref_field *rf)
{
    for (int i = 0; i < rf->n; i++)
        if (rf->items[i].kind <= 1 && rf->items[i].step == 1)
            return true;
    return false;
}

static bool ref_match(const struct ref_field rf[5], const struct ahpa_civil *c)
{
    if (!ref_field_has(&rf[0], 0, c->minute) || !ref_field_has(&rf[1], 1, c->hour) ||
        !ref_field_has(&rf[3], 3, c->month))
        return false;
    bool dom = ref_field_has(&rf[2], 2, c->day), dow = ref_field_has(&rf[4], 4, c->wday);
    if (ref_unrestricted(&rf[2]) || ref_unrestricted(&rf[4]))
        return dom && dow;
    return dom || dow;
}

START_TEST(random_expressions_match_reference)
{
    uint64_t rs = 0x2545f4914f6cdd1dULL;
    int matched = 0;
    for (int e = 0; e < 300; e++) {
        struct ref_field rf[5];
        char text[5][48], expr[5 * 48 + 8];
        for (int f = 0; f < 5; f++)
            random_field(f, &rf[f], text[f], &rs);
        snprintf(expr, sizeof(expr), "%s %s %s %s %s", text[0], text[1], text[2], text[3], text[4]);
        struct ahpa_cron_expr x;
        struct ahpa_error err = {0};
        ck_assert_msg(ahpa_cron_parse(expr, &x, &err) == 0, "%s: %s", expr, err.msg);
        for (int k = 0; k < 1000; k++) {
            /* Minutes between 2020 and 2032. */
            int64_t t = INT64_C(1577836800) + (int64_t)(rng_next(&rs) % (12 * 366 * 1440)) * 60;
            struct ahpa_civil c;
            ahpa_civil_from_unix(t, &c);
            bool want = ref_match(rf, &c);
            matched += want;
            ck_assert_msg(ahpa_cron_match(&x, &c) == want, "%s at %lld: got %d", expr,
                          (long long)t, !want);
        }
    }
    ck_assert_int_gt(matched, 1000); /* the sweep did exercise matches */
}
END_TEST

/* ---- zones ---------------------------------------------------------- */

static const struct fixed_case {
    const char *spec;
    int rc;
    int32_t off;
} fixed_cases[] = {
    {"UTC", 0, 0},           {"utc", 0, 0},          {"GMT", 0, 0},
    {"Z", 0, 0},             {"+08:00", 0, 28800},   {"-05:30", 0, -19800},
    {"+0800", 0, 28800},     {"+8", 0, 28800},       {"UTC+8", 0, 28800},
    {"UTC+08:00", 0, 28800}, {"GMT-3", 0, -10800},   {"UTC-0930", 0, -34200},
    {"+18:00", 0, 64800},    {"+19:00", -AHPA_ERANGE, 0},
    {"+8:7", -AHPA_EPARSE, 0}, {"+123", -AHPA_EPARSE, 0}, {"UTC+", -AHPA_EPARSE, 0},
    {"+08:60", -AHPA_EPARSE, 0}, {"Asia/Shanghai", -AHPA_ENOTFOUND, 0},
    {"UTCX", -AHPA_ENOTFOUND, 0}, {"", -AHPA_EINVAL, 0},
};

START_TEST(zone_fixed_table)
{
    const struct fixed_case *c = &fixed_cases[_i];
    struct ahpa_cron_zone *z = NULL;
    struct ahpa_error err = {0};
    int rc = ahpa_cron_zone_new_fixed(c->spec, &z, &err);
    ck_assert_msg(rc == c->rc, "%s: rc %d (%s)", c->spec, rc, err.msg);
    if (rc == 0) {
        ck_assert_int_eq(ahpa_cron_zone_offset_s(z, 0), c->off);
        ck_assert_int_eq(ahpa_cron_zone_offset_s(z, INT64_C(4000000000)), c->off);
        ck_assert_str_eq(ahpa_cron_zone_name(z), c->spec);
    } else {
        ck_assert_ptr_null(z);
        ck_assert(err.msg[0] != '\0');
    }
    ahpa_cron_zone_free(z);
}
END_TEST

/* Reads a TZif file kept beside the fuzz corpus (copied from tzdata). */
static struct ahpa_cron_zone *load_zone(const char *file, const char *name)
{
    const char *root = getenv("AHPA_SOURCE_DIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/test/fuzz/corpus/cron/%s", root ? root : ".", file);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct ahpa_cron_zone *z = NULL;
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_cron_zone_new_tzif(name, buf, n, &z, &err) == 0, "%s: %s", name, err.msg);
    /* Every proper prefix is refused cleanly. */
    for (size_t cut = 0; cut < n; cut += 97) {
        struct ahpa_cron_zone *bad = NULL;
        ck_assert_int_lt(ahpa_cron_zone_new_tzif(name, buf, cut, &bad, NULL), 0);
        ck_assert_ptr_null(bad);
    }
    return z;
}

static const struct offset_case {
    int64_t t;
    int32_t off;
} berlin_cases[] = {
    {INT64_C(-2208988800), 3600},  {INT64_C(-631152000), 3600},
    {INT64_C(1705320000), 3600},   {INT64_C(1721044800), 7200},
    {INT64_C(1711846799), 3600},   {INT64_C(1711846800), 7200},
    {INT64_C(1729990799), 7200},   {INT64_C(1729990800), 3600},
    {INT64_C(4118083200), 7200},   {INT64_C(4109878799), 3600},
    {INT64_C(4109878800), 7200},   {INT64_C(4128627599), 7200},
    {INT64_C(4128627600), 3600},
}, shanghai_cases[] = {
    {INT64_C(1719792000), 28800}, {INT64_C(583718400), 32400},
    {INT64_C(567993600), 28800},  {INT64_C(10413792000), 28800},
}, sydney_cases[] = {
    {INT64_C(1894665600), 39600}, {INT64_C(1910304000), 36000},
    {INT64_C(1901721599), 39600}, {INT64_C(1901721600), 36000},
    {INT64_C(2390918400), 39600},
};

static void check_offsets(const char *file, const char *name, const struct offset_case *c,
                          size_t n)
{
    struct ahpa_cron_zone *z = load_zone(file, name);
    ck_assert_str_eq(ahpa_cron_zone_name(z), name);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(ahpa_cron_zone_offset_s(z, c[i].t) == c[i].off, "%s t=%lld got %d want %d",
                      name, (long long)c[i].t, ahpa_cron_zone_offset_s(z, c[i].t), c[i].off);
    ahpa_cron_zone_free(z);
}

START_TEST(zone_tzif_offsets)
{
    check_offsets("tzif_berlin", "Europe/Berlin", berlin_cases,
                  sizeof(berlin_cases) / sizeof(berlin_cases[0]));
    check_offsets("tzif_shanghai", "Asia/Shanghai", shanghai_cases,
                  sizeof(shanghai_cases) / sizeof(shanghai_cases[0]));
    check_offsets("tzif_sydney", "Australia/Sydney", sydney_cases,
                  sizeof(sydney_cases) / sizeof(sydney_cases[0]));
}
END_TEST

START_TEST(zone_tzif_rejects_garbage)
{
    struct ahpa_cron_zone *z = NULL;
    struct ahpa_error err = {0};
    unsigned char junk[64] = "TZif2";
    ck_assert_int_eq(ahpa_cron_zone_new_tzif("x", junk, sizeof(junk), &z, &err), -AHPA_EPARSE);
    ck_assert_ptr_null(z);
    ck_assert_int_eq(ahpa_cron_zone_new_tzif("x", "hello", 5, &z, NULL), -AHPA_EPARSE);
}
END_TEST

START_TEST(zone_dst_wall_times_and_cron)
{
    struct ahpa_cron_zone *z = load_zone("tzif_berlin", "Europe/Berlin");
    int64_t t;
    struct ahpa_error err = {0};
    /* 02:30 does not exist on 2024-03-31: read as 03:30 CEST = 01:30 UTC. */
    ck_assert_int_eq(ahpa_cron_zone_parse_local(z, "2024-03-31 02:30:00", &t, &err), 0);
    ck_assert_int_eq(t, INT64_C(1711848600));
    /* 02:30 happens twice on 2024-10-27: the earlier is 00:30 UTC. */
    ck_assert_int_eq(ahpa_cron_zone_parse_local(z, "2024-10-27 02:30:00", &t, &err), 0);
    ck_assert_int_eq(t, INT64_C(1729989000));
    ck_assert_int_eq(ahpa_cron_zone_parse_local(z, "2024-07-15 14:00:00", &t, &err), 0);
    ck_assert_int_eq(t, INT64_C(1721044800));
    ck_assert_int_eq(ahpa_cron_zone_parse_local(z, "2024-07-15T12:00:00Z", &t, &err), 0);
    ck_assert_int_eq(t, INT64_C(1721044800));
    /* Cron runs on local time: 09:00 Berlin is 07:00 UTC in summer. */
    struct ahpa_civil c;
    ahpa_cron_zone_to_civil(z, INT64_C(1721026800), &c); /* 2024-07-15 07:00 UTC */
    ck_assert_int_eq(c.hour, 9);
    ck_assert_int_eq(c.wday, 1);
    struct ahpa_cron_expr e;
    ck_assert_int_eq(ahpa_cron_parse("0 9 ? * MON", &e, NULL), 0);
    ck_assert(ahpa_cron_match(&e, &c));
    /* On the spring-forward day the hour 02 never occurs locally. */
    ck_assert_int_eq(ahpa_cron_parse("* 2 * * *", &e, NULL), 0);
    for (int64_t u = INT64_C(1711843200); u < INT64_C(1711843200) + 86400; u += 60) {
        ahpa_cron_zone_to_civil(z, u, &c);
        ck_assert(!ahpa_cron_match(&e, &c));
    }
    /* On the fall-back day (2024-10-27, from 22:00 UTC the day before)
     * local 02:xx happens twice: 120 matching minutes in 25 hours. */
    int minutes = 0;
    for (int64_t u = INT64_C(1729980000); u < INT64_C(1729980000) + 25 * 3600; u += 60) {
        ahpa_cron_zone_to_civil(z, u, &c);
        minutes += ahpa_cron_match(&e, &c);
    }
    ck_assert_int_eq(minutes, 120);
    ck_assert_int_eq(ahpa_cron_zone_parse_local(z, "2024-13-01 00:00:00", &t, &err), -AHPA_ERANGE);
    ahpa_cron_zone_free(z);
}
END_TEST

START_TEST(zone_posix_rules)
{
    struct ahpa_cron__tzrule r;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_cron__tzrule_parse("AEST-10AEDT,M10.1.0,M4.1.0/3", &r, &err), 0);
    ck_assert_int_eq(ahpa_cron__tzrule_offset(&r, INT64_C(1894665600)), 39600);
    ck_assert_int_eq(ahpa_cron__tzrule_offset(&r, INT64_C(1910304000)), 36000);
    ck_assert_int_eq(ahpa_cron__tzrule_offset(&r, INT64_C(1901721599)), 39600);
    ck_assert_int_eq(ahpa_cron__tzrule_offset(&r, INT64_C(1901721600)), 36000);
    ck_assert_int_eq(ahpa_cron__tzrule_parse("<+0330>-3:30", &r, &err), 0);
    ck_assert_int_eq(ahpa_cron__tzrule_offset(&r, 0), 12600);
    /* US default rule: 2024-03-10 07:00 UTC is 03:00 EDT. */
    ck_assert_int_eq(ahpa_cron__tzrule_parse("EST5EDT", &r, &err), 0);
    ck_assert_int_eq(ahpa_cron__tzrule_offset(&r, INT64_C(1710053999)), -18000);
    ck_assert_int_eq(ahpa_cron__tzrule_offset(&r, INT64_C(1710054000)), -14400);
    /* Julian days: J60 is always March 1; 00:00 local at +1 h is
     * 2024-02-29 23:00 UTC. Zero-based day 59 is Feb 29 in a leap year. */
    ck_assert_int_eq(ahpa_cron__tzrule_parse("XST-1XDT,J60/0,J305/0", &r, &err), 0);
    ck_assert_int_eq(ahpa_cron__tzrule_offset(&r, INT64_C(1709247599)), 3600);
    ck_assert_int_eq(ahpa_cron__tzrule_offset(&r, INT64_C(1709247600)), 7200);
    ck_assert_int_eq(ahpa_cron__tzrule_parse("XST-1XDT,59/0,305/0", &r, &err), 0);
    ck_assert_int_eq(ahpa_cron__tzrule_offset(&r, INT64_C(1709161199)), 3600);
    ck_assert_int_eq(ahpa_cron__tzrule_offset(&r, INT64_C(1709161200)), 7200);
    const char *bad[] = {"", "E5", "EST", "EST5EDT,M3", "EST5EDT,M13.1.0,M11.1.0",
                         "EST5EDT,M3.2.0", "<+03", "EST200", "EST5EDT,M3.2.0,M11.1.0x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(ahpa_cron__tzrule_parse(bad[i], &r, NULL) == -AHPA_EPARSE, "%s", bad[i]);
}
END_TEST

/* ---- instanceBounds ------------------------------------------------- */

/* The seed's fib-gpu instanceBounds. */
static struct ahpa_cron_bounds *seed_bounds(const struct ahpa_cron_zone *z)
{
    struct ahpa_cron_bounds *b = ahpa_cron_bounds_new();
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_cron_bounds_add_window_text(b, z, "2021-12-16 00:00:00",
                                                      "2022-12-16 00:00:00", &err), 0);
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 0, "* 0-8 ? * MON-FRI", 4, 50, &err), 0);
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 0, "* 9-15 ? * MON-FRI", 10, 50, &err), 1);
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 0, "* 16-23 ? * MON-FRI", 12, 50, &err), 2);
    return b;
}

static void expect_at(const struct ahpa_cron_bounds *b, const struct ahpa_cron_zone *z,
                      int64_t t, int32_t min, int32_t max, long bound)
{
    struct ahpa_cron_in_force f;
    ahpa_cron_bounds_at(b, z, t, &f);
    ck_assert_msg(f.min_replicas == min && f.max_replicas == max,
                  "t=%lld: min %d max %d, want %d %d", (long long)t, f.min_replicas,
                  f.max_replicas, min, max);
    if (bound < 0) {
        ck_assert_uint_eq(f.matched, 0);
        ck_assert_ptr_null(f.min_cron);
    } else {
        ck_assert_uint_eq(f.min_bound, (size_t)bound);
        ck_assert_str_eq(f.min_cron, ahpa_cron_bounds_text(b, 0, (size_t)bound));
    }
}

START_TEST(bounds_seed_through_the_week)
{
    struct ahpa_cron_bounds *b = seed_bounds(NULL);
    ck_assert_uint_eq(ahpa_cron_bounds_window_count(b), 1);
    ck_assert_uint_eq(ahpa_cron_bounds_count(b, 0), 3);
    ck_assert_str_eq(ahpa_cron_bounds_text(b, 0, 1), "* 9-15 ? * MON-FRI");
    expect_at(b, NULL, SUN_2359, AHPA_CRON_UNSET, AHPA_CRON_UNSET, -1);
    expect_at(b, NULL, MON_0000, 4, 50, 0);
    expect_at(b, NULL, MON_0859, 4, 50, 0);
    expect_at(b, NULL, MON_0900, 10, 50, 1);
    expect_at(b, NULL, MON_1559, 10, 50, 1);
    expect_at(b, NULL, MON_1600, 12, 50, 2);
    expect_at(b, NULL, FRI_2359, 12, 50, 2);
    expect_at(b, NULL, SAT_0000, AHPA_CRON_UNSET, AHPA_CRON_UNSET, -1);
    expect_at(b, NULL, SAT_1200, AHPA_CRON_UNSET, AHPA_CRON_UNSET, -1);
    expect_at(b, NULL, SUN_1200, AHPA_CRON_UNSET, AHPA_CRON_UNSET, -1);
    /* Window [start, end): 2021-12-16 00:00 is a Thursday, 2022-12-16 a Friday. */
    expect_at(b, NULL, INT64_C(1639612800), 4, 50, 0);
    expect_at(b, NULL, INT64_C(1639612799), AHPA_CRON_UNSET, AHPA_CRON_UNSET, -1);
    expect_at(b, NULL, INT64_C(1671148740), 12, 50, 2);
    expect_at(b, NULL, INT64_C(1671148800), AHPA_CRON_UNSET, AHPA_CRON_UNSET, -1);
    ahpa_cron_bounds_free(b);
}
END_TEST

START_TEST(bounds_in_a_zone)
{
    struct ahpa_cron_zone *z = NULL;
    ck_assert_int_eq(ahpa_cron_zone_new_fixed("+08:00", &z, NULL), 0);
    struct ahpa_cron_bounds *b = seed_bounds(z);
    /* Monday 09:00 in +08:00 is 01:00 UTC; Friday 16:00 UTC is Saturday
     * 00:00 local. */
    expect_at(b, z, MON_0000 + 3600, 10, 50, 1);
    expect_at(b, z, MON_0000 + 3600 - 60, 4, 50, 0);
    expect_at(b, z, SAT_0000 - 8 * 3600, AHPA_CRON_UNSET, AHPA_CRON_UNSET, -1);
    expect_at(b, z, SAT_0000 - 8 * 3600 - 60, 12, 50, 2);
    /* The window edges are local: it opens at 2021-12-15 16:00 UTC. */
    expect_at(b, z, INT64_C(1639612800) - 8 * 3600, 4, 50, 0);
    expect_at(b, z, INT64_C(1639612800) - 8 * 3600 - 1, AHPA_CRON_UNSET, AHPA_CRON_UNSET, -1);
    ahpa_cron_bounds_free(b);
    ahpa_cron_zone_free(z);
}
END_TEST

START_TEST(bounds_overlap_and_conflict)
{
    struct ahpa_cron_bounds *b = seed_bounds(NULL);
    struct ahpa_error err = {0};
    /* A second window with an every-day bound: min 2, max 40. */
    ck_assert_int_eq(ahpa_cron_bounds_add_window(b, INT64_C(1600000000), INT64_C(1700000000), &err), 1);
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 1, "* * * * *", 2, 40, &err), 0);
    struct ahpa_cron_in_force f;
    ahpa_cron_bounds_at(b, NULL, MON_0900, &f);
    ck_assert_uint_eq(f.matched, 2);
    ck_assert_int_eq(f.min_replicas, 10);
    ck_assert_int_eq(f.max_replicas, 40);
    ck_assert_uint_eq(f.min_window, 0);
    ck_assert_uint_eq(f.min_bound, 1);
    ck_assert_uint_eq(f.max_window, 1);
    ck_assert_str_eq(f.max_cron, "* * * * *");
    ck_assert(!f.conflict);
    ahpa_cron_bounds_at(b, NULL, SAT_1200, &f);
    ck_assert_uint_eq(f.matched, 1);
    ck_assert_int_eq(f.min_replicas, 2);
    /* A bound with only a min above the lowest max: conflict flagged. */
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 1, "* 9 * * *", 45, AHPA_CRON_UNSET, &err), 1);
    ahpa_cron_bounds_at(b, NULL, MON_0900, &f);
    ck_assert_int_eq(f.min_replicas, 45);
    ck_assert_int_eq(f.max_replicas, 40);
    ck_assert(f.conflict);
    ahpa_cron_bounds_free(b);
}
END_TEST

START_TEST(bounds_bad_input)
{
    struct ahpa_cron_bounds *b = ahpa_cron_bounds_new();
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_cron_bounds_add_window(b, 100, 100, &err), -AHPA_EINVAL);
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 0, "* * * * *", 1, 2, NULL), -AHPA_EINVAL);
    ck_assert_int_eq(ahpa_cron_bounds_add_window(b, 0, 100, NULL), 0);
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 0, "* 24 ? * MON-FRI", 1, 2, &err), -AHPA_ERANGE);
    ck_assert_str_eq(err.msg, "hour: value 24 out of range 0-23");
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 0, "* * * * *", 5, 2, &err), -AHPA_ERANGE);
    ck_assert_str_eq(err.msg, "bounds: minReplicas 5 > maxReplicas 2");
    ck_assert_int_eq(ahpa_cron_bounds_add(b, 0, "* * * * *", -2, 2, NULL), -AHPA_ERANGE);
    ck_assert_uint_eq(ahpa_cron_bounds_count(b, 0), 0);
    ck_assert_ptr_null(ahpa_cron_bounds_text(b, 0, 0));
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_cron_bounds_add_window_text(b, NULL, "2021-12-16", "2022-13-01 00:00:00", &err),
                     -AHPA_ERANGE);
    ck_assert(strncmp(err.msg, "endTime: timestamp", 18) == 0);
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_cron_bounds_add_window_text(b, NULL, "yesterday", "2022-12-16", &err),
                     -AHPA_EPARSE);
    ck_assert(strncmp(err.msg, "startTime: timestamp", 20) == 0);
    ck_assert_int_eq(ahpa_cron_bounds_add_window_text(b, NULL, "2022-12-16", "2021-12-16", NULL),
                     -AHPA_EINVAL);
    ck_assert_uint_eq(ahpa_cron_bounds_window_count(b), 1);
    ahpa_cron_bounds_free(b);
    ahpa_cron_bounds_free(NULL);
}
END_TEST

START_TEST(bounds_next_change_and_fill)
{
    struct ahpa_cron_bounds *b = seed_bounds(NULL);
    ck_assert_int_eq(ahpa_cron_bounds_next_change(b, NULL, MON_0900 - 1800, 86400), MON_0900);
    ck_assert_int_eq(ahpa_cron_bounds_next_change(b, NULL, MON_0900 - 1799, 86400), MON_0900);
    ck_assert_int_eq(ahpa_cron_bounds_next_change(b, NULL, FRI_2359 - 4 * 3600, 86400), SAT_0000);
    ck_assert_int_eq(ahpa_cron_bounds_next_change(b, NULL, SAT_1200, 86400), -1);
    ck_assert_int_eq(ahpa_cron_bounds_next_change(b, NULL, SAT_1200, 2 * 86400), MON2_0000);
    ck_assert_int_eq(ahpa_cron_bounds_next_change(b, NULL, MON_0900 - 1800, 1799), -1);
    int32_t mins[5], maxs[5];
    ahpa_cron_bounds_fill(b, NULL, MON_0859 - 60, 60, 4, mins, maxs);
    ck_assert_int_eq(mins[0], 4);
    ck_assert_int_eq(mins[1], 4);
    ck_assert_int_eq(mins[2], 10);
    ck_assert_int_eq(mins[3], 10);
    ck_assert_int_eq(maxs[3], 50);
    ahpa_cron_bounds_fill(b, NULL, SAT_1200, 3600, 5, mins, maxs);
    for (int i = 0; i < 5; i++)
        ck_assert(mins[i] == AHPA_CRON_UNSET && maxs[i] == AHPA_CRON_UNSET);
    ahpa_cron_bounds_free(b);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("cron");
    TCase *tc = tcase_create("expr");
    tcase_add_loop_test(tc, parse_table, 0, sizeof(parse_cases) / sizeof(parse_cases[0]));
    tcase_add_loop_test(tc, parse_errors_name_the_field, 0,
                        sizeof(error_cases) / sizeof(error_cases[0]));
    tcase_add_test(tc, parse_rejects_overlong);
    tcase_add_test(tc, match_seed_bounds_through_the_week);
    tcase_add_test(tc, match_minute_hour_steps_and_lists);
    tcase_add_test(tc, match_day_of_month_day_of_week_rule);
    tcase_add_test(tc, match_year_and_leap_day);
    tcase_add_test(tc, random_expressions_match_reference);
    suite_add_tcase(s, tc);
    tc = tcase_create("zone");
    tcase_add_loop_test(tc, zone_fixed_table, 0, sizeof(fixed_cases) / sizeof(fixed_cases[0]));
    tcase_add_test(tc, zone_tzif_offsets);
    tcase_add_test(tc, zone_tzif_rejects_garbage);
    tcase_add_test(tc, zone_dst_wall_times_and_cron);
    tcase_add_test(tc, zone_posix_rules);
    suite_add_tcase(s, tc);
    tc = tcase_create("bounds");
    tcase_add_test(tc, bounds_seed_through_the_week);
    tcase_add_test(tc, bounds_in_a_zone);
    tcase_add_test(tc, bounds_overlap_and_conflict);
    tcase_add_test(tc, bounds_bad_input);
    tcase_add_test(tc, bounds_next_change_and_fill);
    suite_add_tcase(s, tc);
    return s;
}
