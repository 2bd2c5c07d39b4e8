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
    for (int i = 0; i < AHPA_EVENTS_BURST; i++) {
        snprintf(msg, sizeof(msg), "m%d", i);
        ck_assert_int_eq(
            ahpa_controller__events_emit(ev, &o, AHPA_EVENT_NORMAL, "R", msg, 5000, &err), 0);
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
    suite_add_tcase(s, tc);
    return s;
}
