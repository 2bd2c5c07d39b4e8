/* Informers against the canned apiserver: list, watch events, bookmarks,
 * 410 -> relist with a deletion diff, dropped streams -> resume from the
 * last RV, hostile lines, a prompt stop. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "fakeapi.h"
#include "kube_int.h"
#include "test_kube.h"
#include "unit.h"

#define LOG_MAX 256

/* What the callbacks saw, in order. */
struct rec {
    pthread_mutex_t mu;
    char log[LOG_MAX][96];
    size_t n;
};

static void rec_add(struct rec *r, const char *what, const struct ahpa_kube_obj *o)
{
    pthread_mutex_lock(&r->mu);
    ck_assert_uint_lt(r->n, LOG_MAX);
    snprintf(r->log[r->n++], sizeof(r->log[0]), "%s %s@%s", what, o->key, o->resource_version);
    pthread_mutex_unlock(&r->mu);
}

static void on_add(const struct ahpa_kube_obj *o, void *ud)
{
    rec_add(ud, "add", o);
}

static void on_update(const struct ahpa_kube_obj *old, const struct ahpa_kube_obj *o, void *ud)
{
    ck_assert_str_eq(old->key, o->key);
    rec_add(ud, "update", o);
}

static void on_delete(const struct ahpa_kube_obj *o, void *ud)
{
    rec_add(ud, "delete", o);
}

static size_t rec_count(struct rec *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits (bounded: 5 s) until the recorder holds n entries. */
static void wait_events(struct rec *r, size_t n)
{
    for (int i = 0; i < 500 && rec_count(r) < n; i++)
        sleep_ms(10);
    ck_assert_msg(rec_count(r) == n, "have %zu callbacks, want %zu (last: %s)", rec_count(r), n,
                  rec_count(r) ? r->log[rec_count(r) - 1] : "-");
}

/* Waits (bounded: 5 s) until n watch streams have begun: only then does
 * a broadcast (bookmark, raw line) reach the newest one. */
static void wait_watches(struct fakeapi *f, size_t n)
{
    for (int i = 0; i < 500 && fakeapi_streams_started(f) < n; i++)
        sleep_ms(10);
    ck_assert_uint_ge(fakeapi_streams_started(f), n);
}

static void expect(struct rec *r, size_t from, const char *const *want, size_t n)
{
    /* Entries of one batch may come in any order (a relist diff walks a
     * hash map), so each wanted line must appear once in the batch. */
    ck_assert_uint_eq(rec_count(r), from + n);
    for (size_t i = 0; i < n; i++) {
        size_t hits = 0;
        for (size_t j = from; j < from + n; j++)
            hits += strcmp(r->log[j], want[i]) == 0;
        ck_assert_msg(hits == 1, "\"%s\" seen %zu times", want[i], hits);
    }
}

static const struct ahpa_kube_resource pods = {"", "v1", "pods", "Pod", true};

struct fixture {
    struct fakeapi *f;
    struct ahpa_kube_client *c;
    struct ahpa_kube_informer *inf;
    struct rec rec;
};

static void setup(struct fixture *x, const char *ns, const char *selector)
{
    memset(x, 0, sizeof(*x));
    pthread_mutex_init(&x->rec.mu, NULL);
    x->f = fakeapi_start(ns ? "/api/v1/namespaces/team/pods" : "/api/v1/pods", "Pod");
    char *url = fakeapi_url(x->f);
    struct ahpa_kube_config cfg = {.server = url};
    struct ahpa_error err = {0};
    struct ahpa_kube_options o = {.qps = -1};
    x->c = ahpa_kube_client_new(&cfg, &o, &err);
    ck_assert_msg(x->c != NULL, "%s", err.msg);
    free(url);
    struct ahpa_kube_informer_options io = {
        .resource = pods, .ns = ns, .label_selector = selector, .page_limit = 2,
        .watch_timeout_s = 60, .backoff_initial_ms = 20, .backoff_max_ms = 100, .seed = 7,
        .on_add = on_add, .on_update = on_update, .on_delete = on_delete, .ud = &x->rec};
    x->inf = ahpa_kube_informer_new(x->c, &io, &err);
    ck_assert_msg(x->inf != NULL, "%s", err.msg);
}

static void teardown(struct fixture *x)
{
    ahpa_kube_informer_free(x->inf);
    ahpa_kube_client_free(x->c);
    fakeapi_stop(x->f);
    pthread_mutex_destroy(&x->rec.mu);
}

static void check_rv(struct fixture *x, long want)
{
    char rv[64], w[32];
    snprintf(w, sizeof(w), "%ld", want);
    for (int i = 0; i < 300; i++) {
        ahpa_kube_informer_resource_version(x->inf, rv, sizeof(rv));
        if (strcmp(rv, w) == 0)
            break;
        sleep_ms(10);
    }
    ck_assert_str_eq(rv, w);
}

START_TEST(list_then_watch)
{
    struct fixture x;
    setup(&x, NULL, NULL);
    fakeapi_put(x.f, "default", "a", "{}");
    fakeapi_put(x.f, "default", "b", "{}");
    fakeapi_put(x.f, "kube-system", "c", "{}"); /* 103: three pages of 2 */
    ck_assert(!ahpa_kube_informer_has_synced(x.inf));
    ck_assert_int_eq(ahpa_kube_informer_start(x.inf, NULL), 0);
    ck_assert_int_eq(ahpa_kube_informer_start(x.inf, NULL), -AHPA_EINVAL);
    ck_assert(ahpa_kube_informer_wait_synced(x.inf, 5000));
    ck_assert_uint_eq(fakeapi_lists(x.f), 2); /* 3 objects, pages of 2 */
    const char *const first[] = {"add default/a@101", "add default/b@102",
                                 "add kube-system/c@103"};
    wait_events(&x.rec, 3);
    expect(&x.rec, 0, first, 3);
    wait_watches(x.f, 1);
    char target[1024];
    fakeapi_last_target(x.f, target, sizeof(target));
    ck_assert_ptr_nonnull(strstr(target, "watch=true"));
    ck_assert_ptr_nonnull(strstr(target, "resourceVersion=103"));
    ck_assert_ptr_nonnull(strstr(target, "allowWatchBookmarks=true"));
    ck_assert_ptr_nonnull(strstr(target, "timeoutSeconds=60"));

    fakeapi_put(x.f, "default", "d", "{\"n\":1}");
    fakeapi_put(x.f, "default", "a", "{\"n\":2}");
    fakeapi_delete(x.f, "default", "b");
    wait_events(&x.rec, 6);
    ck_assert_str_eq(x.rec.log[3], "add default/d@104"); /* watch events keep their order */
    ck_assert_str_eq(x.rec.log[4], "update default/a@105");
    ck_assert_str_eq(x.rec.log[5], "delete default/b@106");
    long bm = fakeapi_bookmark(x.f);
    check_rv(&x, bm); /* a bookmark moves the RV, no callback */
    ck_assert_uint_eq(rec_count(&x.rec), 6);

    /* The store: readers get references that outlive the entry. */
    ck_assert_uint_eq(ahpa_kube_informer_count(x.inf), 3);
    struct ahpa_kube_obj *a = ahpa_kube_informer_get(x.inf, "default", "a");
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a->resource_version, "105");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(a->json, "spec"), "n")), 2);
    ck_assert_ptr_null(ahpa_kube_informer_get(x.inf, "default", "b"));
    struct ahpa_kube_obj **all;
    size_t n = ahpa_kube_informer_list(x.inf, &all);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(all[0]->key, "default/a");
    ck_assert_str_eq(all[1]->key, "default/d");
    ck_assert_str_eq(all[2]->key, "kube-system/c");
    fakeapi_delete(x.f, "default", "a");
    wait_events(&x.rec, 7);
    ck_assert_str_eq(a->resource_version, "105"); /* our reference still reads */
    ahpa_kube_obj_release(a);
    ahpa_kube_objs_free(all, n);
    struct ahpa_kube_informer_stats st;
    ahpa_kube_informer_stats(x.inf, &st);
    ck_assert_uint_eq(st.lists, 1);
    ck_assert_uint_eq(st.gone, 0);
    teardown(&x);
}
END_TEST

START_TEST(dropped_stream_resumes)
{
    struct fixture x;
    setup(&x, NULL, NULL);
    fakeapi_put(x.f, "default", "a", "{}");
    ck_assert_int_eq(ahpa_kube_informer_start(x.inf, NULL), 0);
    ck_assert(ahpa_kube_informer_wait_synced(x.inf, 5000));
    wait_watches(x.f, 1);
    long rv = fakeapi_put(x.f, "default", "b", "{}");
    wait_events(&x.rec, 2);
    long bm = fakeapi_bookmark(x.f);
    check_rv(&x, bm);
    fakeapi_drop_streams(x.f);
    /* Changes while cut off arrive once the watch resumes from the
     * bookmark's RV: no relist, nothing twice. */
    fakeapi_put(x.f, "default", "c", "{}");
    fakeapi_put(x.f, "default", "a", "{\"x\":1}");
    wait_events(&x.rec, 4);
    ck_assert_str_eq(x.rec.log[2], "add default/c@104");
    ck_assert_str_eq(x.rec.log[3], "update default/a@105");
    ck_assert_uint_ge(fakeapi_watches(x.f), 2);
    ck_assert_int_eq(fakeapi_last_watch_rv(x.f), bm);
    ck_assert_uint_eq(fakeapi_lists(x.f), 1);
    ck_assert_int_gt(bm, rv);
    struct ahpa_kube_informer_stats st;
    ahpa_kube_informer_stats(x.inf, &st);
    ck_assert_uint_eq(st.lists, 1);
    ck_assert_uint_ge(st.errors, 1);
    ck_assert_uint_eq(ahpa_kube_informer_count(x.inf), 3);
    teardown(&x);
}
END_TEST

static void gone_relists(bool as_event)
{
    struct fixture x;
    setup(&x, NULL, NULL);
    fakeapi_put(x.f, "default", "a", "{}");
    fakeapi_put(x.f, "default", "b", "{}");
    fakeapi_put(x.f, "default", "c", "{}");
    ck_assert_int_eq(ahpa_kube_informer_start(x.inf, NULL), 0);
    ck_assert(ahpa_kube_informer_wait_synced(x.inf, 5000));
    wait_events(&x.rec, 3);
    wait_watches(x.f, 1);
    /* Behind the informer's back, and compacted away before it could see
     * them: b is deleted, c changed, d created. The relist must report
     * exactly that. An ERROR event reaches the open stream; without it the
     * stream is cut and the resumed watch gets HTTP 410. */
    fakeapi_hold(x.f, true);
    if (!as_event)
        fakeapi_drop_streams(x.f);
    fakeapi_delete(x.f, "default", "b");
    long rc_c = fakeapi_put(x.f, "default", "c", "{\"v\":2}");
    long rc_d = fakeapi_put(x.f, "default", "d", "{}");
    fakeapi_compact(x.f, as_event);
    fakeapi_hold(x.f, false);
    wait_events(&x.rec, 6);
    char c_line[64], d_line[64];
    snprintf(c_line, sizeof(c_line), "update default/c@%ld", rc_c);
    snprintf(d_line, sizeof(d_line), "add default/d@%ld", rc_d);
    const char *const want[] = {"delete default/b@102", c_line, d_line};
    expect(&x.rec, 3, want, 3);
    struct ahpa_kube_informer_stats st;
    ahpa_kube_informer_stats(x.inf, &st);
    ck_assert_uint_eq(st.lists, 2);
    ck_assert_uint_ge(st.gone, 1);
    ck_assert_uint_eq(ahpa_kube_informer_count(x.inf), 3);
    ck_assert(ahpa_kube_informer_has_synced(x.inf));
    /* And it watches again from the new list's RV. */
    long rv = fakeapi_put(x.f, "default", "e", "{}");
    wait_events(&x.rec, 7);
    check_rv(&x, rv);
    teardown(&x);
}

START_TEST(http_410_relists_with_diff)
{
    gone_relists(false);
}
END_TEST

START_TEST(error_event_410_relists_with_diff)
{
    gone_relists(true);
}
END_TEST

START_TEST(hostile_lines_restart_watch)
{
    struct fixture x;
    setup(&x, NULL, NULL);
    ck_assert_int_eq(ahpa_kube_informer_start(x.inf, NULL), 0);
    ck_assert(ahpa_kube_informer_wait_synced(x.inf, 5000));
    wait_watches(x.f, 1);
    static const char *const bad[] = {
        "{garbage",
        ("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"n\","
         "\"resourceVersion\":\"1\"}}}"),
        "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"n\"}}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t w = fakeapi_streams_started(x.f);
        fakeapi_send_raw(x.f, bad[i]);
        wait_watches(x.f, w + 1); /* the stream is abandoned and resumed */
    }
    /* A line over the bound (4 MiB by default; here it is 4 MiB + 1). */
    size_t big = 4u * 1024u * 1024u + 1;
    char *line = malloc(big + 1);
    memset(line, 'x', big);
    line[0] = '{';
    line[big] = '\0';
    size_t w = fakeapi_streams_started(x.f);
    fakeapi_send_raw(x.f, line);
    free(line);
    wait_watches(x.f, w + 1);
    fakeapi_put(x.f, "default", "ok", "{}");
    wait_events(&x.rec, 1);
    ck_assert_str_eq(x.rec.log[0], "add default/ok@101");
    struct ahpa_kube_informer_stats st;
    ahpa_kube_informer_stats(x.inf, &st);
    ck_assert_uint_ge(st.errors, 4);
    ck_assert_uint_eq(st.lists, 1);
    teardown(&x);
}
END_TEST

START_TEST(scoped_and_prompt_stop)
{
    struct fixture x;
    setup(&x, "team", "app=web");
    fakeapi_put(x.f, "team", "w", "{}");
    ck_assert_int_eq(ahpa_kube_informer_start(x.inf, NULL), 0);
    ck_assert(ahpa_kube_informer_wait_synced(x.inf, 5000));
    wait_watches(x.f, 1);
    char target[1024];
    fakeapi_last_target(x.f, target, sizeof(target));
    ck_assert_ptr_nonnull(strstr(target, "/api/v1/namespaces/team/pods?"));
    ck_assert_ptr_nonnull(strstr(target, "labelSelector=app%3Dweb"));
    /* The watch is blocked waiting for events: stop must not wait for it. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ahpa_kube_informer_stop(x.inf);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    ck_assert_msg(took < 0.5, "stop took %.3f s", took);
    size_t n = rec_count(&x.rec);
    fakeapi_put(x.f, "team", "late", "{}");
    sleep_ms(100);
    ck_assert_uint_eq(rec_count(&x.rec), n); /* no callback after stop */
    ahpa_kube_informer_stop(x.inf); /* idempotent */
    teardown(&x);
}
END_TEST

START_TEST(list_failure_backs_off)
{
    /* A server that is not there: the informer keeps trying, bounded by
     * its backoff, and stops promptly in the middle of it. */
    struct fixture x;
    setup(&x, NULL, NULL);
    fakeapi_stop(x.f);
    x.f = fakeapi_start("/api/v1/pods", "Pod"); /* a fresh one for teardown */
    ahpa_kube_informer_free(x.inf);
    struct ahpa_kube_config cfg = {.server = "http://127.0.0.1:1"};
    struct ahpa_error err = {0};
    struct ahpa_kube_client *dead = ahpa_kube_client_new(&cfg, NULL, &err);
    struct ahpa_kube_informer_options io = {.resource = pods, .backoff_initial_ms = 20,
                                            .backoff_max_ms = 40, .seed = 3};
    x.inf = ahpa_kube_informer_new(dead, &io, &err);
    ck_assert_int_eq(ahpa_kube_informer_start(x.inf, NULL), 0);
    sleep_ms(300);
    ck_assert(!ahpa_kube_informer_has_synced(x.inf));
    struct ahpa_kube_informer_stats st;
    ahpa_kube_informer_stats(x.inf, &st);
    /* 300 ms with waits of 10..40 ms: several tries, not a hot loop. */
    ck_assert_uint_ge(st.lists, 4);
    ck_assert_uint_le(st.lists, 40);
    ahpa_kube_informer_free(x.inf);
    x.inf = NULL;
    ahpa_kube_client_free(dead);
    teardown(&x);
}
END_TEST

START_TEST(watch_refused_backs_off_and_resumes)
{
    struct fixture x;
    setup(&x, NULL, NULL);
    fakeapi_put(x.f, "default", "a", "{}");
    /* RBAC without "watch": a Status without a final newline. */
    fakeapi_fail_watches(x.f, 403, "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":"
                                   "\"Forbidden\",\"code\":403,\"message\":\"pods is forbidden: "
                                   "User \\\"system:serviceaccount:x:y\\\" cannot watch\"}");
    ck_assert_int_eq(ahpa_kube_informer_start(x.inf, NULL), 0);
    ck_assert(ahpa_kube_informer_wait_synced(x.inf, 5000));
    for (int i = 0; i < 300 && fakeapi_watches(x.f) < 3; i++)
        sleep_ms(10);
    ck_assert_uint_ge(fakeapi_watches(x.f), 3); /* retried, with backoff */
    struct ahpa_kube_informer_stats st;
    ahpa_kube_informer_stats(x.inf, &st);
    ck_assert_uint_ge(st.errors, 2);
    ck_assert_uint_eq(st.lists, 1); /* a refusal is not a reason to relist */
    ck_assert_uint_eq(st.gone, 0);
    long rv = fakeapi_put(x.f, "default", "b", "{}");
    fakeapi_fail_watches(x.f, 0, NULL);
    wait_events(&x.rec, 2); /* b arrives once the watch is allowed */
    ck_assert_str_eq(x.rec.log[1], "add default/b@102");
    ck_assert_int_eq(fakeapi_last_watch_rv(x.f), 101);
    check_rv(&x, rv);
    teardown(&x);
}
END_TEST

struct reader {
    struct ahpa_kube_informer *inf;
    atomic_bool *done;
    size_t reads;
};

/* Reads as fast as it can; every object it sees must be whole. */
static void *reader_main(void *arg)
{
    struct reader *r = arg;
    for (int i = 0; i < 1000000 && !atomic_load(r->done); i++) {
        struct ahpa_kube_obj **all;
        size_t n = ahpa_kube_informer_list(r->inf, &all);
        for (size_t k = 0; k < n; k++) {
            json_t *spec = json_object_get(all[k]->json, "spec");
            ck_assert(json_is_object(spec));
            ck_assert_ptr_nonnull(all[k]->resource_version);
        }
        ahpa_kube_objs_free(all, n);
        ahpa_kube_obj_release(ahpa_kube_informer_get(r->inf, "default", "hot"));
        r->reads++;
    }
    return NULL;
}

START_TEST(concurrent_readers)
{
    struct fixture x;
    setup(&x, NULL, NULL);
    ck_assert_int_eq(ahpa_kube_informer_start(x.inf, NULL), 0);
    ck_assert(ahpa_kube_informer_wait_synced(x.inf, 5000));
    wait_watches(x.f, 1);
    atomic_bool done;
    atomic_init(&done, false);
    struct reader rd[2] = {{x.inf, &done, 0}, {x.inf, &done, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reader_main, &rd[i]);
    /* Updates, additions and deletions race the readers. */
    for (int i = 0; i < 40; i++) {
        char spec[32], name[16];
        snprintf(spec, sizeof(spec), "{\"i\":%d}", i);
        snprintf(name, sizeof(name), "o%d", i % 7);
        fakeapi_put(x.f, "default", "hot", spec);
        if (i % 3 == 0)
            fakeapi_delete(x.f, "default", name);
        else
            fakeapi_put(x.f, "default", name, spec);
    }
    long rv = fakeapi_bookmark(x.f);
    check_rv(&x, rv);
    atomic_store(&done, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_gt(rd[0].reads + rd[1].reads, 0);
    struct ahpa_kube_obj *hot = ahpa_kube_informer_get(x.inf, "default", "hot");
    ck_assert_ptr_nonnull(hot);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(hot->json, "spec"), "i")),
                     39);
    ahpa_kube_obj_release(hot);
    teardown(&x);
}
END_TEST

/* The store's map (open addressing, deletions shift entries back)
 * against a plain array: 6,000 random puts and deletes over 300 keys,
 * every key checked after each step, so a wrapped probe run or a lost
 * entry shows at once. */
#define MAP_KEYS 300
#define MAP_STEPS 6000

static struct ahpa_kube_obj *map_obj(size_t k, unsigned v)
{
    char text[128];
    snprintf(text, sizeof(text),
             "{\"metadata\": {\"name\": \"p-%zu\", \"namespace\": \"n%zu\", "
             "\"resourceVersion\": \"%u\"}}",
             k, k % 7, v);
    struct ahpa_kube_obj *o;
    ck_assert_int_eq(ahpa_kube__obj_new(json_loads(text, 0, NULL), &o, NULL), 0);
    return o;
}

START_TEST(store_map_matches_a_reference)
{
    struct ahpa_kube__map m;
    ahpa_kube__map_init(&m);
    static unsigned want[MAP_KEYS]; /* 0 = absent, else the RV */
    memset(want, 0, sizeof(want));
    char keys[MAP_KEYS][32];
    for (size_t k = 0; k < MAP_KEYS; k++)
        snprintf(keys[k], sizeof(keys[k]), "n%zu/p-%zu", k % 7, k);
    uint64_t rng = 88172645463325252ull;
    size_t present = 0;
    for (unsigned step = 1; step <= MAP_STEPS; step++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        size_t k = (size_t)(rng % MAP_KEYS);
        /* Grow to ~all keys, shrink to few, grow again: deletions in full
         * and in sparse tables. */
        bool put = (step / 1500) % 2 == 0 ? rng % 4 != 0 : rng % 4 == 0;
        if (put) {
            struct ahpa_kube_obj *old = ahpa_kube__map_put(&m, map_obj(k, step));
            ck_assert_int_eq(old != NULL, want[k] != 0);
            ahpa_kube_obj_release(old);
            present += want[k] == 0;
            want[k] = step;
        } else {
            struct ahpa_kube_obj *old = ahpa_kube__map_del(&m, keys[k]);
            ck_assert_int_eq(old != NULL, want[k] != 0);
            ahpa_kube_obj_release(old);
            present -= want[k] != 0;
            want[k] = 0;
        }
        ck_assert_uint_eq(m.count, present);
        for (size_t j = 0; j < MAP_KEYS; j++) {
            struct ahpa_kube_obj *o = ahpa_kube__map_get(&m, keys[j]);
            ck_assert_int_eq(o != NULL, want[j] != 0);
            if (o != NULL)
                ck_assert_uint_eq(strtoul(o->resource_version, NULL, 10), want[j]);
        }
    }
    size_t seen = 0;
    for (size_t s = 0; s < m.nslots; s++)
        seen += m.slots[s] != NULL;
    ck_assert_uint_eq(seen, present);
    ck_assert_uint_le(m.count * 4, m.nslots * 3);
    ahpa_kube__map_dispose(&m);
}
END_TEST

TCase *kube_informer_tcase(void)
{
    TCase *tc = tcase_create("informer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, store_map_matches_a_reference);
    tcase_add_test(tc, list_then_watch);
    tcase_add_test(tc, dropped_stream_resumes);
    tcase_add_test(tc, http_410_relists_with_diff);
    tcase_add_test(tc, error_event_410_relists_with_diff);
    tcase_add_test(tc, hostile_lines_restart_watch);
    tcase_add_test(tc, scoped_and_prompt_stop);
    tcase_add_test(tc, list_failure_backs_off);
    tcase_add_test(tc, concurrent_readers);
    tcase_add_test(tc, watch_refused_backs_off_and_resumes);
    return tc;
}
