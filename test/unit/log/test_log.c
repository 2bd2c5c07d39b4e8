/* Unit tests for lib/log: repeated causes folded into one summary per
 * interval, driven by a fake clock and read back from a memory stream. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/log.h"
#include "unit.h"

static atomic_llong fake_now_ms;

static int64_t fake_clock(void)
{
    return atomic_load(&fake_now_ms);
}

struct capture {
    char *text;
    size_t len;
    FILE *f;
};

static void capture_start(struct capture *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    ck_assert_ptr_nonnull(c->f);
    ahpa_log_set_output(c->f);
    ahpa_log_set_clock(fake_clock);
    ahpa_log_set_repeat_interval_ms(10000);
    atomic_store(&fake_now_ms, 1000000);
}

/* Writes the pending counts and empties the table (so tests do not see
 * each other's causes); c->text then holds everything written. */
static void capture_stop(struct capture *c)
{
    ahpa_log_flush();
    fflush(c->f);
}

static void capture_free(struct capture *c)
{
    ahpa_log_set_output(NULL);
    fclose(c->f);
    free(c->text);
    ahpa_log_set_clock(NULL);
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; p != NULL && *p; p++)
        n += *p == '\n';
    return n;
}

static size_t count_substr(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void fail_query(int i)
{
    AHPA_LOG_WARN_REPEAT("prometheus query failed", "connection refused",
                         "GET /api/v1/query attempt %d: Connection refused", i);
}

START_TEST(identical_failures_in_one_interval_are_two_lines)
{
    struct capture c;
    capture_start(&c);
    for (int i = 0; i < 12345; i++) {
        fail_query(i);
        if (i % 1000 == 999)
            atomic_fetch_add(&fake_now_ms, 500); /* 6 s in all, < the interval */
    }
    fflush(c.f);
    /* Only the first one so far, in full. */
    ck_assert_uint_eq(count_lines(c.text), 1);
    ck_assert_ptr_nonnull(strstr(c.text, "prometheus query failed: GET /api/v1/query attempt 0: "));
    atomic_fetch_add(&fake_now_ms, 4000);
    ahpa_log_flush_due();
    fflush(c.f);
    ck_assert_uint_eq(count_lines(c.text), 2);
    ck_assert_msg(strstr(c.text, "prometheus query failed \xc3\x97" "12,345 in the last 10s: "
                                 "connection refused (last: GET /api/v1/query attempt 12344:") !=
                      NULL,
                  "%s", c.text);
    capture_stop(&c);
    ck_assert_uint_eq(count_lines(c.text), 2); /* nothing left to flush */
    capture_free(&c);
}
END_TEST

START_TEST(ongoing_failure_is_one_line_per_interval)
{
    struct capture c;
    capture_start(&c);
    /* 60 s of one failure every millisecond. */
    for (int i = 0; i < 60000; i++) {
        fail_query(i);
        atomic_fetch_add(&fake_now_ms, 1);
    }
    capture_stop(&c);
    /* The first in full, then one summary per 10 s window (the last one
     * flushed at exit). */
    ck_assert_uint_eq(count_lines(c.text), 7);
    ck_assert_uint_eq(count_substr(c.text, "\xc3\x97" "10,000 in the last 10s"), 6);
    capture_free(&c);
}
END_TEST

START_TEST(quiet_cause_starts_over_in_full)
{
    struct capture c;
    capture_start(&c);
    fail_query(1);
    fail_query(2);
    atomic_fetch_add(&fake_now_ms, 10000);
    ahpa_log_flush_due(); /* summary of 2 */
    atomic_fetch_add(&fake_now_ms, 10000);
    fail_query(3); /* a whole quiet interval later: a new episode */
    capture_stop(&c);
    ck_assert_uint_eq(count_lines(c.text), 3);
    ck_assert_ptr_nonnull(strstr(c.text, "\xc3\x97" "2 in the last 10s"));
    ck_assert_ptr_nonnull(strstr(c.text, "prometheus query failed: GET /api/v1/query attempt 3"));
    capture_free(&c);
}
END_TEST

static void fail_request(const char *cause, int i)
{
    AHPA_LOG_WARN_REPEAT("request failed", cause, "GET /apis/x/%d: %s", i, cause);
}

START_TEST(distinct_causes_are_kept_apart)
{
    struct capture c;
    capture_start(&c);
    for (int i = 0; i < 30; i++) {
        fail_request("timed out", i);
        if (i % 3 == 0)
            fail_request("upstream service failed", i);
        fail_query(i); /* another call site, same interval */
    }
    atomic_fetch_add(&fake_now_ms, 10000);
    ahpa_log_flush_due();
    capture_stop(&c);
    ck_assert_uint_eq(count_lines(c.text), 6);
    ck_assert_ptr_nonnull(strstr(c.text, "request failed \xc3\x97" "30 in the last 10s: timed out"));
    ck_assert_ptr_nonnull(
        strstr(c.text, "request failed \xc3\x97" "10 in the last 10s: upstream service failed"));
    ck_assert_ptr_nonnull(
        strstr(c.text, "prometheus query failed \xc3\x97" "30 in the last 10s: connection refused"));
    capture_free(&c);
}
END_TEST

START_TEST(summary_written_by_next_log_call)
{
    struct capture c;
    capture_start(&c);
    fail_query(1);
    fail_query(2);
    atomic_fetch_add(&fake_now_ms, 11000);
    AHPA_LOG_INFO("something else");
    fflush(c.f);
    ck_assert_uint_eq(count_lines(c.text), 3);
    const char *summary = strstr(c.text, "\xc3\x97" "2 in the last 11s");
    const char *info = strstr(c.text, "something else");
    ck_assert(summary != NULL && info != NULL && summary < info);
    capture_stop(&c);
    capture_free(&c);
}
END_TEST

START_TEST(table_overflow_is_bounded)
{
    struct capture c;
    capture_start(&c);
    /* Ten times more causes than slots, each failing twice in a row: each
     * gets its full line, and its count is written when it is evicted. */
    char cause[32];
    const int causes = AHPA_LOG_REPEAT_SLOTS * 10;
    for (int i = 0; i < causes; i++) {
        snprintf(cause, sizeof(cause), "cause %d", i);
        fail_request(cause, i);
        fail_request(cause, i);
        atomic_fetch_add(&fake_now_ms, 1);
    }
    capture_stop(&c);
    ck_assert_uint_eq(count_lines(c.text), (size_t)causes * 2);
    ck_assert_uint_eq(count_substr(c.text, "\xc3\x97" "2 in the last"), (size_t)causes);
    capture_free(&c);
}
END_TEST

START_TEST(evicted_cause_is_counted_again)
{
    struct capture c;
    capture_start(&c);
    fail_request("first", 0);
    fail_request("first", 1);
    char cause[32];
    for (int i = 0; i < AHPA_LOG_REPEAT_SLOTS; i++) {
        atomic_fetch_add(&fake_now_ms, 1);
        snprintf(cause, sizeof(cause), "other %d", i);
        fail_request(cause, i); /* the last one evicts "first" */
    }
    fflush(c.f);
    ck_assert_ptr_nonnull(strstr(c.text, "\xc3\x97" "2 in the last 64ms: first"));
    ck_assert_uint_eq(count_lines(c.text), 2 + AHPA_LOG_REPEAT_SLOTS);
    capture_stop(&c);
    capture_free(&c);
}
END_TEST

START_TEST(interval_zero_writes_every_occurrence)
{
    struct capture c;
    capture_start(&c);
    ahpa_log_set_repeat_interval_ms(0);
    for (int i = 0; i < 5; i++)
        fail_query(i);
    capture_stop(&c);
    ck_assert_uint_eq(count_lines(c.text), 5);
    ahpa_log_set_repeat_interval_ms(10000);
    capture_free(&c);
}
END_TEST

#define THREADS 4
#define PER_THREAD 5000

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++)
        fail_query(i);
    return NULL;
}

START_TEST(threads_count_every_occurrence)
{
    struct capture c;
    capture_start(&c);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    capture_stop(&c);
    ck_assert_uint_eq(count_lines(c.text), 2);
    ck_assert_ptr_nonnull(strstr(c.text, "\xc3\x97" "20,000 in the last"));
    capture_free(&c);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("repeat");
    tcase_add_test(tc, identical_failures_in_one_interval_are_two_lines);
    tcase_add_test(tc, ongoing_failure_is_one_line_per_interval);
    tcase_add_test(tc, quiet_cause_starts_over_in_full);
    tcase_add_test(tc, distinct_causes_are_kept_apart);
    tcase_add_test(tc, summary_written_by_next_log_call);
    tcase_add_test(tc, table_overflow_is_bounded);
    tcase_add_test(tc, evicted_cause_is_counted_again);
    tcase_add_test(tc, interval_zero_writes_every_occurrence);
    tcase_add_test(tc, threads_count_every_occurrence);
    suite_add_tcase(s, tc);
    return s;
}
