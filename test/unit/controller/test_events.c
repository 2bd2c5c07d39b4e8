/* The Event recorder (lib/controller/events.c) against the project's test
 * apiserver (a child process, real HTTPS): deterministic names, one Event
 * per object+type+reason+message whose count rises, the same from a
 * second recorder (a new leader), a deleted Event made again, the
 * per-object token bucket, the strategy memory. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "events.h"
#include "kubeapi_proc.h"
#include "unit.h"

static struct kubeapi_proc api;
static struct ahpa_kube_client *kc;
static const struct ahpa_kube_resource event_res = {"", "v1", "events", "Event", true};

static void setup(void)
{
    kubeapi_proc_start(&api, NULL);
    kc = kubeapi_proc_client(&api, NULL, 5000);
}

static void teardown(void)
{
    ahpa_kube_client_free(kc);
    kc = NULL;
    kubeapi_proc_stop(&api);
}

/* The Events of object `name`: how many, and the count of the one
 * with `reason` (0 when absent). */
static size_t events_of(const char *name, const char *reason, int64_t *count)
{
    json_t *list = NULL;
    struct ahpa_error err = {0};
    char sel[300];
    snprintf(sel, sizeof(sel), "involvedObject.name=%s", name);
    struct ahpa_kube_list_options lo = {.field_selector = sel};
    ck_assert_msg(ahpa_kube_list(kc, &event_res, "default", &lo, &list, &err) == 0, "%s",
                  err.msg);
    json_t *items = json_object_get(list, "items"), *e;
    size_t i, n = json_array_size(items);
    *count = 0;
    json_array_foreach(items, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "reason")), reason) == 0)
            *count = json_integer_value(json_object_get(e, "count"));
    }
    json_decref(list);
    return n;
}

START_TEST(names_are_deterministic_and_bounded)
{
    char a[AHPA_EVENTS_NAME_MAX], b[AHPA_EVENTS_NAME_MAX], longer[300];
    ahpa_controller__event_name("fib-gpu", "u1", AHPA_EVENT_NORMAL, "R", "m", a);
    ahpa_controller__event_name("fib-gpu", "u1", AHPA_EVENT_NORMAL, "R", "m", b);
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(strlen(a), strlen("fib-gpu.") + 16);
    ck_assert(strncmp(a, "fib-gpu.", 8) == 0);
    ahpa_controller__event_name("fib-gpu", "u1", AHPA_EVENT_WARNING, "R", "m", b);
    ck_assert_str_ne(a, b); /* each field is part of the key */
    ahpa_controller__event_name("fib-gpu", "u2", AHPA_EVENT_NORMAL, "R", "m", b);
    ck_assert_str_ne(a, b);
    ahpa_controller__event_name("fib-gpu", "u1", AHPA_EVENT_NORMAL, "Rm", "", b);
    ck_assert_str_ne(a, b); /* fields are kept apart */
    memset(longer, 'a', 253);
    longer[253] = '\0';
    longer[236] = '-';
    ahpa_controller__event_name(longer, "u1", AHPA_EVENT_NORMAL, "R", "m", a);
    ck_assert_uint_le(strlen(a), 253);
    ck_assert(strstr(a, "-.") == NULL); /* a cut name ends alphanumeric */
}
END_TEST

START_TEST(repeats_raise_the_count_across_recorders)
{
    struct ahpa_controller__events *ev = ahpa_controller__events_new(kc, "test");
    struct ahpa_controller__event_object o = {"default", "fib-gpu", "uid-1"};
    struct ahpa_error err = {0};
    int64_t count;
    ck_assert_int_eq(ahpa_controller__events_emit(ev, &o, AHPA_EVENT_NORMAL, "ManagedHPACreated",
                                                  "created ahpa-fib-gpu", 1000, &err), 0);
    ck_assert_uint_eq(events_of("fib-gpu", "ManagedHPACreated", &count), 1);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(ahpa_controller__events_emit(ev, &o, AHPA_EVENT_NORMAL, "ManagedHPACreated",
                                                  "created ahpa-fib-gpu", 1010, &err), 0);
    ck_assert_uint_eq(events_of("fib-gpu", "ManagedHPACreated", &count), 1);
    ck_assert_int_eq(count, 2);
    /* A new leader (a recorder that never saw it) finds the Event. */
    struct ahpa_controller__events *ev2 = ahpa_controller__events_new(kc, "test");
    ck_assert_int_eq(ahpa_controller__events_emit(ev2, &o, AHPA_EVENT_NORMAL, "ManagedHPACreated",
                                                  "created ahpa-fib-gpu", 1020, &err), 0);
    ck_assert_uint_eq(events_of("fib-gpu", "ManagedHPACreated", &count), 1);
    ck_assert_int_eq(count, 3);
    /* Another message is another Event. */
    ck_assert_int_eq(ahpa_controller__events_emit(ev, &o, AHPA_EVENT_WARNING,
                                                  "PredictionUnavailable", "no history", 1030,
                                                  &err), 0);
    ck_assert_uint_eq(events_of("fib-gpu", "PredictionUnavailable", &count), 2);
    ck_assert_int_eq(count, 1);
    /* An Event deleted (they expire) is made again, count 1. */
    char name[AHPA_EVENTS_NAME_MAX];
    ahpa_controller__event_name("fib-gpu", "uid-1", AHPA_EVENT_WARNING, "PredictionUnavailable",
                                "no history", name);
    ck_assert_int_eq(ahpa_kube_delete(kc, &event_res, "default", name, &err), 0);
    ck_assert_int_eq(ahpa_controller__events_emit(ev, &o, AHPA_EVENT_WARNING,
                                                  "PredictionUnavailable", "no history", 1040,
                                                  &err), 0);
    ck_assert_uint_eq(events_of("fib-gpu", "PredictionUnavailable", &count), 2);
    ck_assert_int_eq(count, 1);
    struct ahpa_controller__events_stats st;
    ahpa_controller__events_stats(ev, &st);
    ck_assert_uint_eq(st.created, 3);
    ck_assert_uint_eq(st.patched, 1);
    ck_assert_uint_eq(st.failed, 0);
    ahpa_controller__events_free(ev2);
    ahpa_controller__events_free(ev);
}
END_TEST

START_TEST(token_bucket_per_object)
{
    struct ahpa_controller__events *ev = ahpa_controller__events_new(kc, "test");
    struct ahpa_controller__event_object o = {"default", "noisy", "uid-n"};
    struct ahpa_controller__event_object other = {"default", "quiet", "uid-q"};
    struct ahpa_error err = {0};
    char msg[32];
    for (int i = 0; i < AHPA_EVENTS_BURST; i++) { /* reasons apart: no aggregation */
        snprintf(msg, sizeof(msg), "R%d", i);
        ck_assert_int_eq(
            ahpa_controller__events_emit(ev, &o, AHPA_EVENT_NORMAL, msg, "m", 5000, &err), 0);
    }
    ck_assert_int_eq(ahpa_controller__events_emit(ev, &o, AHPA_EVENT_NORMAL, "R", "over", 5000,
                                                  &err), 1);
    /* Another object has its own bucket. */
    ck_assert_int_eq(ahpa_controller__events_emit(ev, &other, AHPA_EVENT_NORMAL, "R", "m", 5000,
                                                  &err), 0);
    /* One token back per AHPA_EVENTS_REFILL_S. */
    ck_assert_int_eq(ahpa_controller__events_emit(ev, &o, AHPA_EVENT_NORMAL, "R", "over",
                                                  5000 + AHPA_EVENTS_REFILL_S - 1, &err), 1);
    ck_assert_int_eq(ahpa_controller__events_emit(ev, &o, AHPA_EVENT_NORMAL, "R", "over",
                                                  5000 + AHPA_EVENTS_REFILL_S, &err), 0);
    ck_assert_int_eq(ahpa_controller__events_emit(ev, &o, AHPA_EVENT_NORMAL, "R", "over",
                                                  5000 + AHPA_EVENTS_REFILL_S, &err), 1);
    struct ahpa_controller__events_stats st;
    ahpa_controller__events_stats(ev, &st);
    ck_assert_uint_eq(st.dropped, 3);
    int64_t count;
    ck_assert_uint_eq(events_of("noisy", "R", &count), AHPA_EVENTS_BURST + 1);
    ck_assert_int_eq(count, 1);
    ahpa_controller__events_free(ev);
}
END_TEST

START_TEST(strategy_memory)
{
    struct ahpa_controller__events *ev = ahpa_controller__events_new(kc, "test");
    char prev[AHPA_EVENTS_STRATEGY_MAX] = "";
    ck_assert(!ahpa_controller__events_strategy(ev, "u", "observer", 1, prev, sizeof(prev)));
    ck_assert(!ahpa_controller__events_strategy(ev, "u", "observer", 2, prev, sizeof(prev)));
    ck_assert(ahpa_controller__events_strategy(ev, "u", "auto", 3, prev, sizeof(prev)));
    ck_assert_str_eq(prev, "observer");
    ck_assert(!ahpa_controller__events_strategy(ev, "u", "auto", 4, prev, sizeof(prev)));
    ck_assert(!ahpa_controller__events_strategy(ev, "v", "auto", 5, prev, sizeof(prev)));
    /* Bounded: past AHPA_EVENTS_OBJECTS_MAX objects the oldest is forgotten. */
    char uid[32];
    for (int i = 0; i < AHPA_EVENTS_OBJECTS_MAX; i++) {
        snprintf(uid, sizeof(uid), "x%d", i);
        ahpa_controller__events_strategy(ev, uid, "auto", 10 + i, prev, sizeof(prev));
    }
    struct ahpa_controller__events_stats st;
    ahpa_controller__events_stats(ev, &st);
    ck_assert_uint_eq(st.objects, AHPA_EVENTS_OBJECTS_MAX);
    ck_assert(!ahpa_controller__events_strategy(ev, "u", "observer", 99999, prev, sizeof(prev)));
    ahpa_controller__events_free(ev);
}
END_TEST

/* Both tables keep their bound and forget the entry used longest ago. */
START_TEST(tables_evict_the_least_recently_used)
{
    struct ahpa_controller__events *ev = ahpa_controller__events_new_bounded(kc, "test", 3, 2);
    struct ahpa_controller__events_stats st;
    char prev[AHPA_EVENTS_STRATEGY_MAX];
    /* Objects: a, b, c, then a used again, then d: b is the one forgotten. */
    ahpa_controller__events_strategy(ev, "a", "auto", 1, prev, sizeof(prev));
    ahpa_controller__events_strategy(ev, "b", "auto", 2, prev, sizeof(prev));
    ahpa_controller__events_strategy(ev, "c", "auto", 3, prev, sizeof(prev));
    ahpa_controller__events_strategy(ev, "a", "auto", 4, prev, sizeof(prev));
    ahpa_controller__events_strategy(ev, "d", "auto", 5, prev, sizeof(prev));
    ahpa_controller__events_stats(ev, &st);
    ck_assert_uint_eq(st.objects, 3);
    ck_assert(ahpa_controller__events_strategy(ev, "a", "observer", 6, prev, sizeof(prev)));
    ck_assert(!ahpa_controller__events_strategy(ev, "b", "observer", 7, prev, sizeof(prev)));
    /* b came back in place of c (the oldest now: a 6, d 5, c 3). */
    ck_assert(ahpa_controller__events_strategy(ev, "d", "observer", 8, prev, sizeof(prev)));
    ck_assert(!ahpa_controller__events_strategy(ev, "c", "observer", 9, prev, sizeof(prev)));

    /* Known Events (bound 2): e1, e2, e1 again, e3: e2 is forgotten, so
     * its repeat is found through the 409, e1's is not. */
    struct ahpa_controller__event_object o = {"default", "lru", "uid-lru"};
    struct ahpa_error err = {0};
    int64_t count;
    const char *reasons[] = {"E1", "E2", "E1", "E3"};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(ahpa_controller__events_emit(ev, &o, AHPA_EVENT_NORMAL, reasons[i], "m",
                                                      100 + (int64_t)i, &err), 0);
    ahpa_controller__events_stats(ev, &st);
    ck_assert_uint_eq(st.seen, 2);
    ck_assert_uint_eq(st.found, 0);
    ck_assert_int_eq(
        ahpa_controller__events_emit(ev, &o, AHPA_EVENT_NORMAL, "E1", "m", 110, &err), 0);
    ahpa_controller__events_stats(ev, &st);
    ck_assert_uint_eq(st.found, 0);
    ck_assert_int_eq(
        ahpa_controller__events_emit(ev, &o, AHPA_EVENT_NORMAL, "E2", "m", 111, &err), 0);
    ahpa_controller__events_stats(ev, &st);
    ck_assert_uint_eq(st.found, 1);
    ck_assert_uint_eq(st.seen, 2);
    ck_assert_uint_eq(events_of("lru", "E2", &count), 3);
    ck_assert_int_eq(count, 2);
    events_of("lru", "E1", &count);
    ck_assert_int_eq(count, 3);
    ck_assert_uint_eq(st.created, 3);
    ck_assert_uint_eq(st.patched, 3);
    ahpa_controller__events_free(ev);
}
END_TEST

/* The Event `name`: its count, and its message into msg (size n). */
static int64_t event_get(const char *name, char *msg, size_t n)
{
    json_t *e = NULL;
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_kube_get(kc, &event_res, "default", name, NULL, &e, &err) == 0, "%s: %s",
                  name, err.msg);
    snprintf(msg, n, "%s", json_string_value(json_object_get(e, "message")));
    int64_t c = json_integer_value(json_object_get(e, "count"));
    json_decref(e);
    return c;
}

static int emit_msg(struct ahpa_controller__events *ev, const char *reason, const char *msg,
                    int64_t now_s)
{
    struct ahpa_controller__event_object o = {"default", "agg", "uid-agg"};
    struct ahpa_error err = {0};
    int rc = ahpa_controller__events_emit(ev, &o, AHPA_EVENT_WARNING, reason, msg, now_s, &err);
    ck_assert_msg(rc == 0, "%s: rc %d %s", msg, rc, err.msg);
    return rc;
}

/* client-go's EventAggregator (maxEvents 10, 600 s), by hand: 9 distinct
 * messages of one object, type and reason are 9 Events; the 10th distinct
 * one and later go to the combined Event (its message the latest), a
 * repeat of one of the 9 counts its own Event, the window rolls with each
 * event and resets after 600 s without one; a new leader finds the
 * combined Event by its name. */
START_TEST(similar_events_are_combined)
{
    struct ahpa_controller__events *ev = ahpa_controller__events_new(kc, "test");
    char msg[64], got[1100], combined[AHPA_EVENTS_NAME_MAX], name[AHPA_EVENTS_NAME_MAX];
    int64_t count;
    ahpa_controller__event_combined_name("agg", "uid-agg", AHPA_EVENT_WARNING, "Failed", combined);
    for (int i = 1; i <= 9; i++) {
        snprintf(msg, sizeof(msg), "m%d", i);
        emit_msg(ev, "Failed", msg, 1000 + i);
    }
    ck_assert_uint_eq(events_of("agg", "Failed", &count), 9);
    emit_msg(ev, "Failed", "m10", 1010);
    ck_assert_uint_eq(events_of("agg", "Failed", &count), 10);
    ck_assert_int_eq(event_get(combined, got, sizeof(got)), 1);
    ck_assert_str_eq(got, "(combined from similar events): m10");
    emit_msg(ev, "Failed", "m11", 1011);
    ck_assert_int_eq(event_get(combined, got, sizeof(got)), 2);
    ck_assert_str_eq(got, "(combined from similar events): m11");
    /* A repeat of one of the first nine: its own Event, count 2. */
    emit_msg(ev, "Failed", "m3", 1012);
    ahpa_controller__event_name("agg", "uid-agg", AHPA_EVENT_WARNING, "Failed", "m3", name);
    ck_assert_int_eq(event_get(name, got, sizeof(got)), 2);
    ck_assert_str_eq(got, "m3");
    ck_assert_int_eq(event_get(combined, got, sizeof(got)), 2);
    /* A repeat of a combined message: the combined Event again. */
    emit_msg(ev, "Failed", "m11", 1013);
    ck_assert_int_eq(event_get(combined, got, sizeof(got)), 3);
    /* Another reason is another group. */
    emit_msg(ev, "Other", "m12", 1014);
    ck_assert_uint_eq(events_of("agg", "Failed", &count), 11);
    /* 600 s after the group's last event: still the window. */
    emit_msg(ev, "Failed", "m12", 1013 + AHPA_EVENTS_AGGREGATE_INTERVAL_S);
    ck_assert_int_eq(event_get(combined, got, sizeof(got)), 4);
    ck_assert_str_eq(got, "(combined from similar events): m12");
    /* 601 s after: a new window, messages separate again. */
    int64_t t = 1013 + 2 * AHPA_EVENTS_AGGREGATE_INTERVAL_S + 1;
    emit_msg(ev, "Failed", "m13", t);
    ck_assert_uint_eq(events_of("agg", "Failed", &count), 12);
    ahpa_controller__event_name("agg", "uid-agg", AHPA_EVENT_WARNING, "Failed", "m13", name);
    ck_assert_int_eq(event_get(name, got, sizeof(got)), 1);
    ck_assert_int_eq(event_get(combined, got, sizeof(got)), 4);
    struct ahpa_controller__events_stats st;
    ahpa_controller__events_stats(ev, &st);
    ck_assert_uint_eq(st.combined, 4);
    ck_assert_uint_eq(st.aggregates, 2);

    /* A new leader: n1..n9 are new Events, n10 counts the combined one
     * it did not know (the 409), with its message. */
    struct ahpa_controller__events *ev2 = ahpa_controller__events_new(kc, "test");
    for (int i = 1; i <= 10; i++) {
        snprintf(msg, sizeof(msg), "n%d", i);
        emit_msg(ev2, "Failed", msg, 5000 + i);
    }
    ck_assert_uint_eq(events_of("agg", "Failed", &count), 21);
    ck_assert_int_eq(event_get(combined, got, sizeof(got)), 5);
    ck_assert_str_eq(got, "(combined from similar events): n10");
    ahpa_controller__events_stats(ev2, &st);
    ck_assert_uint_eq(st.found, 1);
    ck_assert_uint_eq(st.combined, 1);
    ahpa_controller__events_free(ev2);
    ahpa_controller__events_free(ev);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("controller_events");
    TCase *tc = tcase_create("events");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, names_are_deterministic_and_bounded);
    tcase_add_test(tc, repeats_raise_the_count_across_recorders);
    tcase_add_test(tc, token_bucket_per_object);
    tcase_add_test(tc, strategy_memory);
    tcase_add_test(tc, tables_evict_the_least_recently_used);
    tcase_add_test(tc, similar_events_are_combined);
    suite_add_tcase(s, tc);
    return s;
}
