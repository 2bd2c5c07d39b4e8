/* Unit tests for the controller's cluster mode: the status documents
 * (pure), and AHPA objects from a canned apiserver (test/unit/kube's
 * fakeapi: one collection, list and watch) planned against a canned
 * Prometheus (flat usage, 3 replicas): new, redefined, invalid and
 * deleted objects, and the loop woken by the informer. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/controller.h"
#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "ahpa/kube.h"
#include "ahpa/prom.h"
#include "controller_int.h"
#include "fakeapi.h"
#include "fakeprom.h"
#include "testsrv.h"
#include "unit.h"

TCase *ahpa_controller_cluster_tcase(void);

/* --- status documents ------------------------------------------------------------ */

static struct ahpa_controller_plan planned_plan(void)
{
    struct ahpa_controller_plan p = {0};
    p.ns = "default";
    p.name = "web";
    p.strategy = "auto";
    p.error = "";
    p.t_s = 1700000000;
    p.generation = 3;
    p.current_utilization = 41.6;
    p.replicas = 4;
    p.replicas_known = true;
    p.planned = true;
    p.cause = AHPA_CONTROLLER_PLANNED;
    p.plan.final = 9;
    p.plan.proactive = 9;
    p.plan.reactive = 8;
    snprintf(p.plan.text, sizeof(p.plan.text), "proactive -> 9 pods");
    p.min_in_force = 2;
    p.max_in_force = 50;
    p.last_scale_s = 1699999940;
    p.model_fitted = true;
    p.seasonal = true;
    p.period_s = 86400;
    p.history_steps = 2880;
    return p;
}

static const char *cond(const json_t *st, const char *type, const char *field)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(st, "conditions"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "type")), type) == 0)
            return json_string_value(json_object_get(c, field));
    return NULL;
}

START_TEST(status_of_a_plan)
{
    struct ahpa_controller_plan p = planned_plan();
    json_t *st = ahpa_controller__status_for_plan(&p, NULL, p.t_s);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "observedGeneration")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "currentMetric")), 42);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "desiredReplicas")), 9);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "proactiveReplicas")), 9);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "reactiveReplicas")), 8);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "currentReplicas")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "minPods")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "maxPods")), 50);
    ck_assert_str_eq(json_string_value(json_object_get(st, "lastScaleTime")),
                     "2023-11-14T22:12:20Z");
    ck_assert_str_eq(cond(st, "Ready", "status"), "True");
    ck_assert_str_eq(cond(st, "Ready", "reason"), "Planned");
    ck_assert_str_eq(cond(st, "Ready", "message"),
                     "auto plan: 9 pods (proactive 9, reactive 8; limits 2..50)");
    ck_assert_str_eq(cond(st, "AbleToPredict", "status"), "True");
    ck_assert_str_eq(cond(st, "AbleToPredict", "reason"), "SeasonFound");
    ck_assert_str_eq(cond(st, "Ready", "lastTransitionTime"), "2023-11-14T22:13:20Z");

    /* Same status later: nothing to write, the transition time stays. */
    json_t *again = ahpa_controller__status_for_plan(&p, st, p.t_s + 60);
    ck_assert_str_eq(cond(again, "Ready", "lastTransitionTime"), "2023-11-14T22:13:20Z");
    ck_assert_ptr_null(ahpa_controller__status_patch(st, again));

    /* No season: still able to predict, and says so. */
    p.seasonal = false;
    json_t *flat = ahpa_controller__status_for_plan(&p, st, p.t_s + 60);
    ck_assert_str_eq(cond(flat, "AbleToPredict", "reason"), "NoSeasonFound");
    ck_assert_str_eq(cond(flat, "AbleToPredict", "lastTransitionTime"), "2023-11-14T22:13:20Z");
    json_decref(flat);
    json_decref(again);
    json_decref(st);
}
END_TEST

START_TEST(unknown_is_removed_not_zero)
{
    struct ahpa_controller_plan p = planned_plan();
    json_t *old = ahpa_controller__status_for_plan(&p, NULL, p.t_s);
    /* The target's series vanish: no plan, no current values. */
    p.planned = false;
    p.cause = AHPA_CONTROLLER_TARGET_NOT_FOUND;
    p.error = "no GPU usage for Deployment/web in Prometheus";
    p.replicas_known = false;
    p.current_utilization = NAN;
    p.model_fitted = false;
    p.last_scale_s = 0;
    json_t *st = ahpa_controller__status_for_plan(&p, old, p.t_s + 120);
    ck_assert_ptr_null(json_object_get(st, "desiredReplicas"));
    ck_assert_ptr_null(json_object_get(st, "currentMetric"));
    ck_assert_ptr_null(json_object_get(st, "currentReplicas"));
    ck_assert_int_eq(json_integer_value(json_object_get(st, "minPods")), 2); /* from the spec */
    ck_assert_str_eq(cond(st, "Ready", "status"), "False");
    ck_assert_str_eq(cond(st, "Ready", "reason"), "TargetNotFound");
    ck_assert_str_eq(cond(st, "Ready", "message"), p.error);
    ck_assert_str_eq(cond(st, "Ready", "lastTransitionTime"), "2023-11-14T22:15:20Z");
    ck_assert_str_eq(cond(st, "AbleToPredict", "reason"), "TargetNotFound");

    /* The merge patch sets the lost fields to null. */
    json_t *patch = ahpa_controller__status_patch(old, st);
    ck_assert_ptr_nonnull(patch);
    json_t *ps = json_object_get(patch, "status");
    ck_assert(json_is_null(json_object_get(ps, "desiredReplicas")));
    ck_assert(json_is_null(json_object_get(ps, "currentMetric")));
    ck_assert(json_is_null(json_object_get(ps, "lastScaleTime")));
    ck_assert_int_eq(json_integer_value(json_object_get(ps, "maxPods")), 50);
    json_decref(patch);

    /* Other causes name themselves. */
    p.cause = AHPA_CONTROLLER_PROMETHEUS_UNREACHABLE;
    p.error = "prometheus: connection refused";
    json_t *down = ahpa_controller__status_for_plan(&p, st, p.t_s + 180);
    ck_assert_str_eq(cond(down, "Ready", "reason"), "PrometheusUnreachable");
    ck_assert_str_eq(cond(down, "AbleToPredict", "reason"), "PrometheusUnreachable");
    p.cause = AHPA_CONTROLLER_NO_HISTORY;
    json_t *young = ahpa_controller__status_for_plan(&p, st, p.t_s + 180);
    ck_assert_str_eq(cond(young, "AbleToPredict", "reason"), "NoHistory");
    ck_assert_str_eq(ahpa_controller_cause_name(AHPA_CONTROLLER_NO_CURRENT_DATA), "NoCurrentData");
    json_decref(young);
    json_decref(down);
    json_decref(st);
    json_decref(old);
}
END_TEST

START_TEST(status_of_an_invalid_object)
{
    json_t *st = ahpa_controller__status_for_invalid(
        2, "default/bad: spec.maxReplicas: must be >= 1", NULL, 1700000000);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "observedGeneration")), 2);
    ck_assert_uint_eq(json_object_size(st), 2);
    ck_assert_str_eq(cond(st, "Ready", "status"), "False");
    ck_assert_str_eq(cond(st, "Ready", "reason"), "InvalidSpec");
    ck_assert_str_eq(cond(st, "AbleToPredict", "reason"), "InvalidSpec");
    ck_assert_str_eq(cond(st, "Ready", "message"), "default/bad: spec.maxReplicas: must be >= 1");
    /* A status written by hand (or by a version of the plan) is replaced. */
    json_t *old = json_pack("{s:i, s:i}", "desiredReplicas", 0, "observedGeneration", 2);
    json_t *patch = ahpa_controller__status_patch(old, st);
    ck_assert(json_is_null(json_object_get(json_object_get(patch, "status"), "desiredReplicas")));
    json_decref(patch);
    json_decref(old);
    json_decref(st);
}
END_TEST

START_TEST(kinds_to_resources)
{
    static const char *const cases[][2] = {
        {"Deployment", "deployments"}, {"StatefulSet", "statefulsets"},
        {"ReplicaSet", "replicasets"}, {"Policy", "policies"},
        {"Gateway", "gateways"},       {"Ingress", "ingresses"},
        {"Mesh", "meshes"},            {"Box", "boxes"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ahpa_controller__guess_resource(cases[i][0], out, sizeof(out));
        ck_assert_str_eq(out, cases[i][1]);
    }
    ahpa_controller__guess_resource("AVeryLongKindName", out, 8);
    ck_assert_str_eq(out, ""); /* does not fit: nothing, never a cut name */
}
END_TEST

/* --- objects from a canned apiserver ------------------------------------------------ */

/* Flat usage (120% summed over 3 pods), replicas 3, for any range. */
static int flat_sample(void *ud, bool replicas, double t, double *v)
{
    (void)ud, (void)t;
    *v = replicas ? 3 : 120;
    return FAKEPROM_SAMPLE;
}

static void flat_prometheus(const struct testsrv_request *req, struct testsrv_reply *reply,
                            void *ud)
{
    fakeprom_answer_range(req, reply, flat_sample, ud);
}

#define AHPA_PATH "/apis/autoscaling.alibabacloud.com/v1beta1/advancedhorizontalpodautoscalers"

static const char web_spec[] =
    "{\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"gpu\",\"target\":"
    "{\"type\":\"Utilization\",\"averageUtilization\":%d}}}],\"minReplicas\":1,"
    "\"maxReplicas\":50,\"scaleStrategy\":\"reactive\",\"scaleTargetRef\":"
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\"}}";

struct kfixture {
    struct testsrv *prom_srv;
    char *prom_url;
    struct ahpa_prom_client *prom;
    struct fakeapi *api;
    struct ahpa_kube_client *kube;
    struct ahpa_controller *c;
};

static void ksetup_ns(struct kfixture *f, int64_t interval_ms, const char *ns);

static void ksetup(struct kfixture *f, int64_t interval_ms)
{
    ksetup_ns(f, interval_ms, NULL);
}

static void ksetup_ns(struct kfixture *f, int64_t interval_ms, const char *ns)
{
    memset(f, 0, sizeof(*f));
    ahpa_httpc_global_init(NULL);
    f->prom_srv = testsrv_start(flat_prometheus, NULL);
    f->prom_url = testsrv_url(f->prom_srv, "");
    struct ahpa_prom_options po = {.url = f->prom_url, .timeout_ms = 5000};
    f->prom = ahpa_prom_client_new(&po, NULL);
    char path[256];
    if (ns != NULL)
        snprintf(path, sizeof(path),
                 "/apis/autoscaling.alibabacloud.com/v1beta1/namespaces/%s/"
                 "advancedhorizontalpodautoscalers", ns);
    f->api = fakeapi_start(ns != NULL ? path : AHPA_PATH, "AdvancedHorizontalPodAutoscaler");
    char *url = fakeapi_url(f->api);
    struct ahpa_kube_config cfg = {.server = url};
    struct ahpa_kube_options ko = {.qps = -1};
    struct ahpa_error err = {0};
    f->kube = ahpa_kube_client_new(&cfg, &ko, &err);
    ck_assert_msg(f->kube != NULL, "%s", err.msg);
    free(url);
    struct ahpa_controller_options opt = {
        .prom = f->prom, .kube = f->kube, .history_s = 86400, .interval_ms = interval_ms,
        .timezone_name = "UTC", .watch_timeout_s = 60, .watch_backoff_ms = 20,
        .replicas_from_prometheus = true, .watch_namespace = ns};
    f->c = ahpa_controller_new(&opt, &err);
    ck_assert_msg(f->c != NULL, "%s", err.msg);
}

static void kteardown(struct kfixture *f)
{
    ahpa_controller_free(f->c);
    ahpa_kube_client_free(f->kube);
    fakeapi_stop(f->api);
    ahpa_prom_client_free(f->prom);
    testsrv_stop(f->prom_srv);
    free(f->prom_url);
}

static void put_web(struct kfixture *f, const char *name, int target)
{
    char spec[1024];
    snprintf(spec, sizeof(spec), web_spec, target);
    fakeapi_put(f->api, "default", name, spec);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The plan of default/name in the current snapshot: target (NaN: no
 * plan) and the time it was made. */
static double plan_target(struct ahpa_controller *c, const char *name, int64_t *t_s)
{
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(c);
    const struct ahpa_controller_plan *p = ahpa_controller_snapshot_find(s, "default", name);
    double v = p != NULL ? p->target : NAN;
    if (t_s != NULL)
        *t_s = p != NULL ? p->t_s : 0;
    ahpa_controller_snapshot_release(s);
    return v;
}

static bool has_error(struct ahpa_controller *c, const char *what)
{
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(c);
    const char *const *errors;
    size_t n = ahpa_controller_snapshot_errors(s, &errors);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= strstr(errors[i], what) != NULL;
    ahpa_controller_snapshot_release(s);
    return found;
}

/* Refreshes (partial) until the informer has delivered what `done` waits
 * for, at most 3 s. */
static bool refresh_until(struct kfixture *f, int64_t now, bool (*done)(struct kfixture *))
{
    for (int i = 0; i < 150; i++) {
        struct ahpa_error err = {0};
        ck_assert_int_ge(ahpa_controller_refresh(f->c, now, &err), 0);
        if (done(f))
            return true;
        sleep_ms(20);
    }
    return false;
}

static bool web_target_40(struct kfixture *f)
{
    return plan_target(f->c, "web", NULL) == 40;
}

static bool web_gone(struct kfixture *f)
{
    return isnan(plan_target(f->c, "web", NULL));
}

static bool bad_fixed(struct kfixture *f)
{
    return plan_target(f->c, "bad", NULL) == 20;
}

START_TEST(objects_from_the_cluster)
{
    struct kfixture f;
    ksetup(&f, 60000);
    put_web(&f, "web", 20);
    fakeapi_put(f.api, "default", "bad", "{\"maxReplicas\":0}");
    int64_t now = (int64_t)time(NULL) / 60 * 60;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_controller_cycle(f.c, now, &err), 1);
    int64_t t_s;
    ck_assert(plan_target(f.c, "web", &t_s) == 20);
    ck_assert_int_eq(t_s, now);
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    const struct ahpa_controller_plan *p = ahpa_controller_snapshot_find(s, "default", "web");
    ck_assert_msg(p->planned, "%s", p->error);
    ck_assert_int_eq(p->cause, AHPA_CONTROLLER_PLANNED);
    ck_assert_int_eq(p->replicas, 3);
    ck_assert_int_eq(p->min_in_force, 1);
    ck_assert_int_eq(p->max_in_force, 50);
    ahpa_controller_snapshot_release(s);
    /* The invalid one is reported, with the field, and not planned. */
    ck_assert(has_error(f.c, "default/bad: spec.scaleTargetRef: required"));
    ck_assert(isnan(plan_target(f.c, "bad", NULL)));

    /* Same spec, new resourceVersion (a status or label write): kept,
     * not planned again by a refresh. */
    put_web(&f, "web", 20);
    sleep_ms(200);
    ck_assert_int_eq(ahpa_controller_refresh(f.c, now + 60, &err), 1);
    plan_target(f.c, "web", &t_s);
    ck_assert_int_eq(t_s, now);

    /* A new spec is planned by the next refresh, history kept. */
    put_web(&f, "web", 40);
    ck_assert(refresh_until(&f, now + 60, web_target_40));
    plan_target(f.c, "web", &t_s);
    ck_assert_int_eq(t_s, now + 60);

    /* Fixing the invalid one plans it. */
    put_web(&f, "bad", 20);
    ck_assert(refresh_until(&f, now + 60, bad_fixed));
    ck_assert(!has_error(f.c, "default/bad"));

    /* Deleted: gone from the snapshot and the observer. */
    fakeapi_delete(f.api, "default", "web");
    ck_assert(refresh_until(&f, now + 60, web_gone));
    struct ahpa_buf out;
    ahpa_buf_init(&out);
    ck_assert_int_eq(ahpa_controller_render(f.c, "default", "web", &out, &err), -AHPA_ENOTFOUND);
    ahpa_buf_dispose(&out);
    /* The status writes reached a server without the status subresource:
     * counted as failures, nothing crashed. */
    kteardown(&f);
}
END_TEST

/* --watch-namespace: the informer lists and watches that namespace's
 * collection only (the canned apiserver serves no other path). */
START_TEST(watch_namespace_scopes_the_informer)
{
    struct kfixture f;
    ksetup_ns(&f, 60000, "team");
    fakeapi_put(f.api, "team", "web", "{\"metrics\":[{\"type\":\"Resource\",\"resource\":"
                "{\"name\":\"gpu\",\"target\":{\"type\":\"Utilization\","
                "\"averageUtilization\":20}}}],\"maxReplicas\":5,\"scaleTargetRef\":"
                "{\"kind\":\"Deployment\",\"name\":\"web\"}}");
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_controller_cycle(f.c, (int64_t)time(NULL) / 60 * 60, &err), 1);
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    ck_assert_ptr_nonnull(ahpa_controller_snapshot_find(s, "team", "web"));
    ahpa_controller_snapshot_release(s);
    kteardown(&f);
}
END_TEST

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* With a long interval, only the informer's callbacks can make the loop
 * plan a new object or forget a deleted one before the next cycle. */
START_TEST(callbacks_wake_the_loop)
{
    struct kfixture f;
    ksetup(&f, 3600000);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_controller_start(f.c, &err), 0);
    sleep_ms(300); /* the first cycle (empty) is done */
    double t0 = mono_s();
    put_web(&f, "web", 20);
    while (isnan(plan_target(f.c, "web", NULL)) && mono_s() - t0 < 5)
        sleep_ms(10);
    ck_assert_msg(plan_target(f.c, "web", NULL) == 20, "a new object is planned at once");
    double t1 = mono_s();
    fakeapi_delete(f.api, "default", "web");
    while (!isnan(plan_target(f.c, "web", NULL)) && mono_s() - t1 < 5)
        sleep_ms(10);
    ck_assert_msg(isnan(plan_target(f.c, "web", NULL)), "a deleted object leaves at once");
    ck_assert_double_lt(mono_s() - t1, 2.0);
    ahpa_controller_stop(f.c);
    kteardown(&f);
}
END_TEST

TCase *ahpa_controller_cluster_tcase(void)
{
    TCase *tc = tcase_create("cluster");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, status_of_a_plan);
    tcase_add_test(tc, unknown_is_removed_not_zero);
    tcase_add_test(tc, status_of_an_invalid_object);
    tcase_add_test(tc, kinds_to_resources);
    tcase_add_test(tc, objects_from_the_cluster);
    tcase_add_test(tc, callbacks_wake_the_loop);
    tcase_add_test(tc, watch_namespace_scopes_the_informer);
    return tc;
}
