/* Unit tests for lib/provider, against a canned Prometheus on loopback. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "ahpa/labelsel.h"
#include "ahpa/prom.h"
#include "ahpa/provider.h"
#include "ahpa/rules.h"
#include "testsrv.h"
#include "unit.h"

/* What the fake Prometheus answers. */
static atomic_int queries;
static atomic_int fail_all;      /* 1: every call answers 500 */
static atomic_int query_delay_ms;
static atomic_int duplicates;    /* 1: the query answer repeats objects and has others */

static const char series_body[] =
    "{\"status\":\"success\",\"data\":["
    "{\"__name__\":\"DCGM_FI_DEV_GPU_UTIL\",\"namespace\":\"default\",\"pod\":\"p1\",\"gpu\":\"0\"},"
    "{\"__name__\":\"DCGM_FI_DEV_GPU_UTIL\",\"namespace\":\"default\",\"pod\":\"p2\",\"gpu\":\"0\"},"
    "{\"__name__\":\"DCGM_FI_DEV_GPU_UTIL\",\"namespace\":\"default\",\"pod\":\"p3\",\"gpu\":\"0\"}]}";

static const char vector_body[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
    "{\"metric\":{\"pod\":\"p1\"},\"value\":[1795850000.5,\"42.5\"]},"
    "{\"metric\":{\"pod\":\"p2\"},\"value\":[1795850000.5,\"NaN\"]},"
    "{\"metric\":{\"pod\":\"p3\"},\"value\":[1795850000.5,\"-3\"]}]}}";

/* What a careless metricsQuery yields: two series for p1 (the newer one
 * must win), series of other objects and other namespaces. */
static const char duplicates_body[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
    "{\"metric\":{\"pod\":\"p1\",\"namespace\":\"default\",\"c\":\"a\"},"
    "\"value\":[1795850000,\"1\"]},"
    "{\"metric\":{\"pod\":\"p1\",\"namespace\":\"default\",\"c\":\"b\"},"
    "\"value\":[1795850009,\"2\"]},"
    "{\"metric\":{\"pod\":\"other\",\"namespace\":\"kube-system\"},"
    "\"value\":[1795850020,\"7\"]},"
    "{\"metric\":{\"pod\":\"p2\",\"namespace\":\"default\"},"
    "\"value\":[1795850000,\"3\"]}]}}";

static void fake_prometheus(const struct testsrv_request *req, struct testsrv_reply *reply,
                            void *ud)
{
    (void)ud;
    if (atomic_load(&fail_all)) {
        reply->status = 500;
        reply->body = "{\"status\":\"error\",\"errorType\":\"internal\",\"error\":\"boom\"}";
        return;
    }
    if (strncmp(req->target, "/api/v1/series", 14) == 0) {
        reply->body = series_body;
    } else if (strncmp(req->target, "/api/v1/query", 13) == 0) {
        atomic_fetch_add(&queries, 1);
        reply->delay_ms = atomic_load(&query_delay_ms);
        reply->body = atomic_load(&duplicates) ? duplicates_body : vector_body;
    } else {
        reply->status = 404;
        reply->body = "{}";
    }
}

struct fixture {
    struct testsrv *srv;
    char *url;
    struct ahpa_prom_client *prom;
    struct ahpa_rules_config *rules;
    struct ahpa_provider *p;
};

static void setup_with(struct fixture *f, const char *rules_yaml, int64_t ttl_ms,
                       size_t max_bytes)
{
    atomic_store(&queries, 0);
    atomic_store(&fail_all, 0);
    atomic_store(&query_delay_ms, 0);
    atomic_store(&duplicates, 0);
    ahpa_httpc_global_init(NULL);
    f->srv = testsrv_start(fake_prometheus, NULL);
    f->url = testsrv_url(f->srv, "");
    struct ahpa_prom_options po = {.url = f->url, .timeout_ms = 2000};
    struct ahpa_error err = {0};
    f->prom = ahpa_prom_client_new(&po, &err);
    ck_assert_msg(f->prom != NULL, "%s", err.msg);
    if (rules_yaml)
        ck_assert_int_eq(ahpa_rules_parse(rules_yaml, strlen(rules_yaml), &f->rules, &err), 0);
    else
        ck_assert_int_eq(ahpa_rules_builtin(&f->rules, &err), 0);
    struct ahpa_provider_options opt = {
        .prom = f->prom, .rules = f->rules, .cache_ttl_ms = ttl_ms, .cache_max_bytes = max_bytes};
    f->p = ahpa_provider_new(&opt, &err);
    ck_assert_ptr_nonnull(f->p);
    ck_assert_msg(ahpa_provider_relist(f->p, &err) == 0, "%s", err.msg);
}

static void setup(struct fixture *f, const char *rules_yaml, int64_t ttl_ms)
{
    setup_with(f, rules_yaml, ttl_ms, 0);
}

static void teardown(struct fixture *f)
{
    ahpa_provider_free(f->p);
    ahpa_rules_free(f->rules);
    ahpa_prom_client_free(f->prom);
    testsrv_stop(f->srv);
    free(f->url);
}

struct listing {
    char names[16][128];
    int n;
};

static void collect(void *ctx, const struct ahpa_provider_metric *m)
{
    struct listing *l = ctx;
    if (l->n < 16)
        snprintf(l->names[l->n++], 128, "%s%s%s/%s%s", m->resource ? m->resource : "",
                 m->group[0] ? "." : "", m->group, m->metric, m->namespaced ? "" : " (cluster)");
}

START_TEST(registry_from_series)
{
    struct fixture f;
    setup(&f, NULL, 15000);
    struct listing custom = {0}, external = {0};
    ahpa_provider_foreach(f.p, false, collect, &custom);
    ahpa_provider_foreach(f.p, true, collect, &external);
    ck_assert_int_eq(custom.n, 2);
    ck_assert_str_eq(custom.names[0], "namespaces/gpu_utilization (cluster)");
    ck_assert_str_eq(custom.names[1], "pods/gpu_utilization");
    ck_assert_int_eq(external.n, 1);
    ck_assert_str_eq(external.names[0], "/gpu_utilization");
    char reason[128];
    ck_assert_int_eq(ahpa_provider_health(f.p, reason, sizeof(reason)), 0);
    teardown(&f);
}
END_TEST

START_TEST(values_nan_and_negative)
{
    struct fixture f;
    setup(&f, NULL, 15000);
    struct ahpa_provider_custom_query q = {"", "pods", "default", "*", NULL, "gpu_utilization",
                                           NULL, false};
    struct ahpa_provider_values v;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, &err), 0);
    /* The canned vector answers for all three pods; only usable values remain. */
    ck_assert_uint_eq(v.n, 2);
    ck_assert_str_eq(v.items[0].name, "p1");
    AHPA_ASSERT_NEAR(v.items[0].value, 42.5, 1e-12);
    ck_assert_str_eq(v.items[0].ns, "default");
    ck_assert_int_eq(v.items[0].t_s, 1795850000);
    ck_assert_str_eq(v.items[1].name, "p3");
    AHPA_ASSERT_NEAR(v.items[1].value, 0.0, 0.0); /* -3 clamped */
    ck_assert_int_eq(v.window_s, 0);
    ahpa_provider_values_dispose(&v);

    q.metric = "no_such_metric";
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, &err), -AHPA_ENOTFOUND);
    ck_assert(strstr(err.msg, "no_such_metric") != NULL);
    teardown(&f);
}
END_TEST

struct racer {
    struct ahpa_provider *p;
    int rc;
    size_t n;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct ahpa_provider_custom_query q = {"", "pods", "default", "p1", NULL, "gpu_utilization",
                                           NULL, false};
    struct ahpa_provider_values v;
    r->rc = ahpa_provider_custom(r->p, &q, &v, NULL);
    r->n = v.n;
    if (r->rc == 0)
        ahpa_provider_values_dispose(&v);
    return NULL;
}

START_TEST(single_flight_and_ttl)
{
    struct fixture f;
    setup(&f, NULL, 400);
    atomic_store(&query_delay_ms, 150); /* long enough for every racer to arrive */
    pthread_t th[8];
    struct racer r[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (struct racer){f.p, -1, 0};
        pthread_create(&th[i], NULL, race, &r[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(r[i].rc, 0);
        ck_assert_uint_eq(r[i].n, 1); /* one named pod, one item */
    }
    ck_assert_int_eq(atomic_load(&queries), 1);
    race(&r[0]); /* within the TTL: from memory */
    ck_assert_int_eq(atomic_load(&queries), 1);
    struct timespec ts = {0, 500 * 1000000L};
    nanosleep(&ts, NULL);
    race(&r[0]); /* expired: asks again */
    ck_assert_int_eq(atomic_load(&queries), 2);
    teardown(&f);
}
END_TEST

START_TEST(failures_keep_the_registry)
{
    struct fixture f;
    setup(&f, NULL, 100);
    atomic_store(&fail_all, 1);
    struct ahpa_error err = {0};
    ck_assert_int_lt(ahpa_provider_relist(f.p, &err), 0);
    struct listing custom = {0};
    ck_assert_uint_eq(ahpa_provider_foreach(f.p, false, collect, &custom), 2);
    struct ahpa_provider_custom_query q = {"", "pods", "default", "p1", NULL, "gpu_utilization",
                                           NULL, false};
    struct ahpa_provider_values v;
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, &err), -AHPA_EUPSTREAM);
    char reason[256];
    ck_assert_int_lt(ahpa_provider_health(f.p, reason, sizeof(reason)), 0);
    atomic_store(&fail_all, 0);
    /* The failure answers asks for its hold (the TTL, at most 1 s) without
     * a query; then Prometheus is asked again. */
    int before = atomic_load(&queries);
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, &err), -AHPA_EUPSTREAM);
    q.cached_only = true; /* a request thread gets it at once too */
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, &err), -AHPA_EUPSTREAM);
    q.cached_only = false;
    ck_assert_int_eq(atomic_load(&queries), before);
    struct timespec ts = {0, 150 * 1000000L};
    nanosleep(&ts, NULL);
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, &err), 0);
    ck_assert_int_eq(atomic_load(&queries), before + 1);
    ahpa_provider_values_dispose(&v);
    teardown(&f);
}
END_TEST

START_TEST(window_and_metric_selector)
{
    static const char yaml[] =
        "rules:\n"
        "- seriesQuery: 'DCGM_FI_DEV_GPU_UTIL{namespace!=\"\",pod!=\"\"}'\n"
        "  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}\n"
        "  name: {matches: \"^DCGM_FI_DEV_GPU_UTIL$\", as: peak}\n"
        "  metricsQuery: 'max(max_over_time(<<.Series>>{<<.LabelMatchers>>}[2h30m])) by "
        "(<<.GroupBy>>)'\n";
    struct fixture f;
    setup(&f, yaml, 15000);
    struct ahpa_labelsel *msel = NULL;
    ck_assert_int_eq(ahpa_labelsel_parse("gpu=0", &msel, NULL), 0);
    struct ahpa_provider_custom_query q = {"", "pods", "default", "p1", NULL, "peak", msel,
                                           false};
    struct ahpa_provider_values v;
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, NULL), 0);
    ck_assert_int_eq(v.window_s, 9000);
    struct testsrv_request last;
    testsrv_last(f.srv, &last);
    /* The metric selector reached Prometheus as a matcher. */
    ck_assert_msg(strstr(last.target, "gpu%3D%220%22") != NULL, "%s", last.target);
    ahpa_provider_values_dispose(&v);
    ahpa_labelsel_free(msel);
    teardown(&f);
}
END_TEST

/* One named object answers one item (the newest of its duplicates) or
 * ENOTFOUND, whatever else Prometheus returns. */
START_TEST(one_object_one_item)
{
    struct fixture f;
    setup(&f, NULL, 15000);
    atomic_store(&duplicates, 1);
    struct ahpa_provider_values v;
    struct ahpa_error err = {0};
    struct ahpa_provider_custom_query pod = {"", "pods", "default", "p1", NULL, "gpu_utilization",
                                             NULL, false};
    ck_assert_msg(ahpa_provider_custom(f.p, &pod, &v, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(v.n, 1);
    ck_assert_str_eq(v.items[0].name, "p1");
    ck_assert_str_eq(v.items[0].ns, "default");
    ck_assert(v.items[0].value == 2.0);
    ahpa_provider_values_dispose(&v);

    struct ahpa_provider_custom_query ns = {"", "namespaces", NULL, "default", NULL,
                                            "gpu_utilization", NULL, false};
    ck_assert_msg(ahpa_provider_custom(f.p, &ns, &v, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(v.n, 1);
    ck_assert_str_eq(v.items[0].name, "default");
    ahpa_provider_values_dispose(&v);

    struct ahpa_provider_custom_query missing = {"", "pods", "default", "p9", NULL,
                                                 "gpu_utilization", NULL, false};
    ck_assert_int_eq(ahpa_provider_custom(f.p, &missing, &v, &err), -AHPA_ENOTFOUND);

    /* A list still carries every object the answer has. */
    struct ahpa_provider_custom_query all = {"", "pods", "default", "*", NULL, "gpu_utilization",
                                             NULL, false};
    ck_assert_int_eq(ahpa_provider_custom(f.p, &all, &v, &err), 0);
    ck_assert_uint_ge(v.n, 3);
    ahpa_provider_values_dispose(&v);
    teardown(&f);
}
END_TEST

/* cached_only never queries: a miss says so, a fresh entry answers. */
START_TEST(cached_only_never_queries)
{
    struct fixture f;
    setup(&f, NULL, 15000);
    struct ahpa_provider_values v;
    struct ahpa_error err = {0};
    struct ahpa_provider_custom_query q = {"", "pods", "default", "p1", NULL, "gpu_utilization",
                                           NULL, true};
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, &err), -AHPA_EUNAVAIL);
    ck_assert_int_eq(atomic_load(&queries), 0);
    ck_assert_int_eq(ahpa_provider_external(f.p, "default", "gpu_utilization", NULL, true, &v,
                                            &err),
                     -AHPA_EUNAVAIL);
    ck_assert_int_eq(atomic_load(&queries), 0);
    q.cached_only = false;
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, &err), 0);
    ahpa_provider_values_dispose(&v);
    int after = atomic_load(&queries);
    q.cached_only = true;
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, &err), 0);
    ck_assert_uint_eq(v.n, 1);
    ahpa_provider_values_dispose(&v);
    ck_assert_int_eq(atomic_load(&queries), after);
    teardown(&f);
}
END_TEST


/* A resolver as main.c gives one in cluster mode (the pod informer):
 * pods from memory, ENOTSUP for other resources (kube-state-metrics then),
 * named pods checked. Calls counted. */
static atomic_int resolves, exist_checks;
static atomic_int resolver_unsynced;

static int mem_resolve(void *ctx, const char *group, const char *resource, const char *ns,
                       const struct ahpa_labelsel *sel, char ***names, size_t *n,
                       struct ahpa_error *err)
{
    (void)ctx;
    (void)sel;
    if (group[0] != '\0' || strcmp(resource, "pods") != 0 || ns == NULL)
        return ahpa_error_set(err, AHPA_ENOTSUP, "not pods");
    atomic_fetch_add(&resolves, 1);
    if (atomic_load(&resolver_unsynced))
        return ahpa_error_set(err, AHPA_EUNAVAIL, "pods not listed yet");
    *names = calloc(3, sizeof(char *));
    (*names)[0] = strdup("p1");
    (*names)[1] = strdup("p3");
    *n = 2;
    return 0;
}

static int mem_exists(void *ctx, const char *group, const char *resource, const char *ns,
                      const char *name, struct ahpa_error *err)
{
    (void)ctx;
    (void)ns;
    if (group[0] != '\0' || strcmp(resource, "pods") != 0)
        return ahpa_error_set(err, AHPA_ENOTSUP, "not pods");
    atomic_fetch_add(&exist_checks, 1);
    return strcmp(name, "p2") != 0;
}

START_TEST(resolver_from_memory)
{
    struct fixture f;
    setup(&f, NULL, 15000);
    ahpa_provider_free(f.p);
    atomic_store(&resolves, 0);
    atomic_store(&exist_checks, 0);
    atomic_store(&resolver_unsynced, 0);
    struct ahpa_provider_options opt = {
        .prom = f.prom, .rules = f.rules, .cache_ttl_ms = 15000, .resolve = mem_resolve,
        .exists = mem_exists, .resolve_never_waits = true};
    struct ahpa_error err = {0};
    f.p = ahpa_provider_new(&opt, &err);
    ck_assert_int_eq(ahpa_provider_relist(f.p, &err), 0);
    struct ahpa_labelsel *sel = NULL;
    ck_assert_int_eq(ahpa_labelsel_parse("tier=gpu", &sel, NULL), 0);
    struct ahpa_provider_custom_query q = {"", "pods", "default", "*", sel, "gpu_utilization",
                                           NULL, true};
    struct ahpa_provider_values v;
    /* A request that may not wait still asks a resolver that never waits:
     * only the value query is missing from the cache. */
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, &err), -AHPA_EUNAVAIL);
    ck_assert_int_eq(atomic_load(&resolves), 1);
    ck_assert_int_eq(atomic_load(&queries), 0);
    q.cached_only = false;
    ck_assert_msg(ahpa_provider_custom(f.p, &q, &v, &err) == 0, "%s", err.msg);
    ahpa_provider_values_dispose(&v);
    struct testsrv_request last;
    testsrv_last(f.srv, &last);
    /* The resolver's pods, and only them, reached Prometheus. */
    ck_assert_msg(strstr(last.target, "p1%7Cp3") != NULL, "%s", last.target);
    ck_assert_msg(strstr(last.target, "p2") == NULL, "%s", last.target);
    ck_assert_msg(strstr(last.target, "kube_pod_labels") == NULL, "%s", last.target);

    /* A named pod the resolver does not know: 404 without a query. */
    int before = atomic_load(&queries);
    struct ahpa_provider_custom_query named = {"", "pods", "default", "p2", NULL,
                                               "gpu_utilization", NULL, true};
    ck_assert_int_eq(ahpa_provider_custom(f.p, &named, &v, &err), -AHPA_ENOTFOUND);
    ck_assert_int_eq(atomic_load(&exist_checks), 1);
    ck_assert_int_eq(atomic_load(&queries), before);
    named.name = "p1";
    named.cached_only = false;
    ck_assert_int_eq(ahpa_provider_custom(f.p, &named, &v, &err), 0);
    ck_assert_uint_eq(v.n, 1);
    ahpa_provider_values_dispose(&v);

    /* Other resources: kube-state-metrics, as without a resolver. */
    struct ahpa_provider_custom_query nss = {"", "namespaces", NULL, "*", sel, "gpu_utilization",
                                             NULL, false};
    ahpa_error_clear(&err);
    ahpa_provider_custom(f.p, &nss, &v, &err);
    ahpa_provider_values_dispose(&v);
    testsrv_last(f.srv, &last);
    ck_assert_msg(strstr(last.target, "kube_namespace_labels") != NULL, "%s", last.target);

    /* Not listed yet: unknown, said so, never an empty list. */
    atomic_store(&resolver_unsynced, 1);
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_provider_custom(f.p, &q, &v, &err), -AHPA_EUNAVAIL);
    ck_assert_msg(strstr(err.msg, "not listed yet") != NULL, "%s", err.msg);
    ahpa_labelsel_free(sel);
    teardown(&f);
}
END_TEST

/* --- the cache's bounds and refresh policy ---------------------------------- */

/* The value of `name` in the provider's /metrics text (-1 when absent). */
static double exported(struct ahpa_provider *p, const char *name)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_provider_collect(p, &b);
    double v = ahpa_unit_prom_value(ahpa_buf_cstr(&b), name);
    ahpa_buf_dispose(&b);
    return v;
}

/* Asks for pod p1's value with metric selector gpu=<i>: one cache key
 * per i. */
static int ask_key(struct ahpa_provider *p, int i, bool cached_only)
{
    char sel[32];
    snprintf(sel, sizeof(sel), "gpu=%d", i);
    struct ahpa_labelsel *msel = NULL;
    ck_assert_int_eq(ahpa_labelsel_parse(sel, &msel, NULL), 0);
    struct ahpa_provider_custom_query q = {"", "pods", "default", "p1", NULL, "gpu_utilization",
                                           msel, cached_only};
    struct ahpa_provider_values v;
    int rc = ahpa_provider_custom(p, &q, &v, NULL);
    if (rc == 0)
        ahpa_provider_values_dispose(&v);
    ahpa_labelsel_free(msel);
    return rc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Keys asked for once are fetched once and never refreshed; a key asked
 * for again is refreshed once per ask; the refresher keeps a key polled
 * within its TTL warm (hits only). Counts queries at the fake Prometheus. */
START_TEST(one_off_keys_are_not_refreshed)
{
    struct fixture f;
    setup(&f, NULL, 400);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_provider_start(f.p, &err), 0);
    for (int i = 0; i < 30; i++)
        ck_assert_int_eq(ask_key(f.p, i, false), 0);
    ck_assert_int_eq(atomic_load(&queries), 30);
    /* Several TTLs with the refresher running (ticks every 100 ms). */
    sleep_ms(1500);
    ck_assert_int_eq(atomic_load(&queries), 30);
    ck_assert(exported(f.p, "ahpa_metrics_cache_refreshes_total") == 0);

    /* Asked twice: one refresh after the second ask, then no more. */
    ck_assert_int_eq(ask_key(f.p, 1000, false), 0);
    ck_assert_int_eq(ask_key(f.p, 1000, false), 0); /* hit */
    ck_assert_int_eq(atomic_load(&queries), 31);
    sleep_ms(1500);
    ck_assert_int_eq(atomic_load(&queries), 32);
    ck_assert(exported(f.p, "ahpa_metrics_cache_refreshes_total") == 1);

    /* Polled every 150 ms: refreshed ahead of expiry, every ask a hit. */
    double misses0 = exported(f.p, "ahpa_metrics_cache_misses_total");
    ck_assert_int_eq(ask_key(f.p, 2000, false), 0);
    for (int i = 0; i < 12; i++) {
        sleep_ms(150);
        ck_assert_int_eq(ask_key(f.p, 2000, true), 0); /* never needs a fetch */
    }
    ck_assert(exported(f.p, "ahpa_metrics_cache_misses_total") == misses0 + 1);
    int polled = atomic_load(&queries) - 32;
    /* 1.8 s at one refresh per ~0.24-0.34 s: the first fetch and 4 to 8
     * refreshes, never one per ask (13). */
    ck_assert_msg(polled >= 5 && polled <= 9, "polled key: %d queries", polled);
    ahpa_provider_stop(f.p);
    teardown(&f);
}
END_TEST

/* One-off keys leave the cache: their values when they can no longer be
 * served, the slots after four TTLs; the bytes fall back. */
START_TEST(one_off_keys_expire)
{
    struct fixture f;
    setup(&f, NULL, 100);
    struct ahpa_error err = {0};
    double empty = exported(f.p, "ahpa_metrics_cache_bytes");
    ck_assert(empty > 0); /* the index's own table */
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(ask_key(f.p, i, false), 0);
    ck_assert(exported(f.p, "ahpa_metrics_cache_entries") == 50);
    double full = exported(f.p, "ahpa_metrics_cache_bytes");
    ck_assert_msg(full > empty + 50 * 300, "%g -> %g bytes", empty, full);
    ck_assert_int_eq(ahpa_provider_start(f.p, &err), 0);
    sleep_ms(700); /* > 4 TTLs and a few ticks (50 ms) */
    ck_assert(exported(f.p, "ahpa_metrics_cache_entries") == 0);
    ck_assert(exported(f.p, "ahpa_metrics_cache_expirations_total") == 50);
    ck_assert(exported(f.p, "ahpa_metrics_cache_bytes") == empty);
    ck_assert_int_eq(atomic_load(&queries), 50);
    ahpa_provider_stop(f.p);
    teardown(&f);
}
END_TEST

/* Bounded in bytes: the least recently asked keys go first, a key asked
 * for again stays, and the bytes never exceed the bound. */
START_TEST(byte_bound_evicts_least_recently_asked)
{
    struct fixture f;
    setup_with(&f, NULL, 60000, 64 << 10);
    ck_assert(exported(f.p, "ahpa_metrics_cache_max_bytes") == 64 << 10);
    for (int i = 0; i < 400; i++) {
        ck_assert_int_eq(ask_key(f.p, i, false), 0);
        ck_assert_int_eq(ask_key(f.p, 0, false), 0); /* key 0: asked all along */
        ck_assert(exported(f.p, "ahpa_metrics_cache_bytes") <= 64 << 10);
    }
    double entries = exported(f.p, "ahpa_metrics_cache_entries");
    double evicted = exported(f.p, "ahpa_metrics_cache_evictions_total");
    ck_assert_msg(entries > 20 && entries < 400, "%g entries", entries);
    ck_assert(evicted == 400 - entries);
    ck_assert_int_eq(ask_key(f.p, 0, true), 0);         /* kept */
    ck_assert_int_eq(ask_key(f.p, 399, true), 0);       /* the newest */
    ck_assert_int_eq(ask_key(f.p, 1, true), -AHPA_EUNAVAIL); /* the oldest went first */
    ck_assert_int_eq(ask_key(f.p, 400 - (int)entries, true), -AHPA_EUNAVAIL);
    ck_assert_int_eq(ask_key(f.p, 400 - (int)entries + 2, true), 0);
    teardown(&f);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("provider");
    TCase *tc = tcase_create("provider");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, registry_from_series);
    tcase_add_test(tc, values_nan_and_negative);
    tcase_add_test(tc, single_flight_and_ttl);
    tcase_add_test(tc, failures_keep_the_registry);
    tcase_add_test(tc, window_and_metric_selector);
    tcase_add_test(tc, one_object_one_item);
    tcase_add_test(tc, cached_only_never_queries);
    tcase_add_test(tc, resolver_from_memory);
    tcase_add_test(tc, one_off_keys_are_not_refreshed);
    tcase_add_test(tc, one_off_keys_expire);
    tcase_add_test(tc, byte_bound_evicts_least_recently_asked);
    suite_add_tcase(s, tc);
    return s;
}
