/* The managed HPA reconciler against the project's test apiserver (real
 * HTTPS to the double; the AHPA CRD installed, AHPAs and Deployments
 * created as a user would): create with the full spec, no write when
 * nothing changed (resourceVersion unchanged), update on a bounds change,
 * a 409 retried, tolerance kept or left to the cluster, a user's HPA on
 * the same target reported and not fought, observer deletes, garbage
 * collection through the owner reference, bad input. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "kubeapi_proc.h"
#include "managed_hpa.h"
#include "unit.h"

static struct kubeapi_proc api;
static struct ahpa_kube_client *kc;

static const struct ahpa_kube_resource crd_res = {
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false};
static const struct ahpa_kube_resource ahpa_res = {"autoscaling.alibabacloud.com", "v1beta1",
                                                   "advancedhorizontalpodautoscalers",
                                                   "AdvancedHorizontalPodAutoscaler", true};
static const struct ahpa_kube_resource deploy_res = {"apps", "v1", "deployments", "Deployment",
                                                     true};
static const struct ahpa_kube_resource hpa_res = {"autoscaling", "v2", "horizontalpodautoscalers",
                                                  "HorizontalPodAutoscaler", true};

static const char crd[] =
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
    "\"metadata\":{\"name\":\"advancedhorizontalpodautoscalers.autoscaling.alibabacloud.com\"},"
    "\"spec\":{\"group\":\"autoscaling.alibabacloud.com\",\"scope\":\"Namespaced\",\"names\":"
    "{\"plural\":\"advancedhorizontalpodautoscalers\",\"singular\":"
    "\"advancedhorizontalpodautoscaler\",\"kind\":\"AdvancedHorizontalPodAutoscaler\","
    "\"shortNames\":[\"ahpa\"]},\"versions\":[{\"name\":\"v1beta1\",\"served\":true,\"storage\":"
    "true,\"subresources\":{\"status\":{}},\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\","
    "\"x-kubernetes-preserve-unknown-fields\":true}}}]}}";

static void create(const struct ahpa_kube_resource *r, const char *json)
{
    json_error_t je;
    json_t *o = json_loads(json, 0, &je);
    ck_assert_msg(o != NULL, "%s: %s", je.text, json);
    struct ahpa_error err = {0};
    int rc = ahpa_kube_create(kc, r, r->namespaced ? "default" : NULL, o, NULL, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    json_decref(o);
}

static void setup(void)
{
    kubeapi_proc_start(&api, NULL);
    kc = kubeapi_proc_client(&api, NULL, 5000);
    create(&crd_res, crd);
}

static void teardown(void)
{
    ahpa_kube_client_free(kc);
    kc = NULL;
    kubeapi_proc_stop(&api);
}

/* A Deployment `target` and an AHPA `name` on it; returns the AHPA as the
 * API returns it (uid and all). */
static json_t *make_ahpa(const char *name, const char *target, const char *strategy)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\"},"
             "\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},"
             "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}}}}}",
             target, target, target);
    create(&deploy_res, buf);
    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"autoscaling.alibabacloud.com/v1beta1\",\"kind\":"
             "\"AdvancedHorizontalPodAutoscaler\",\"metadata\":{\"name\":\"%s\"},\"spec\":"
             "{\"scaleStrategy\":\"%s\",\"scaleTargetRef\":{\"apiVersion\":\"apps/v1\","
             "\"kind\":\"Deployment\",\"name\":\"%s\"},\"minReplicas\":2,\"maxReplicas\":10,"
             "\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"gpu\",\"target\":"
             "{\"type\":\"Utilization\",\"averageUtilization\":20}}}]}}",
             name, strategy, target);
    create(&ahpa_res, buf);
    json_t *o = NULL;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_kube_get(kc, &ahpa_res, "default", name, NULL, &o, &err), 0);
    return o;
}

/* The HPA, or NULL when absent. */
static json_t *get_hpa(const char *name)
{
    json_t *o = NULL;
    struct ahpa_error err = {0};
    int rc = ahpa_kube_get(kc, &hpa_res, "default", name, NULL, &o, &err);
    ck_assert_msg(rc == 0 || rc == -AHPA_ENOTFOUND, "%s", err.msg);
    return o;
}

static const char *rv_of(json_t *o)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
}

static json_t *at(json_t *o, const char *path) /* "spec.behavior.scaleDown" */
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
        o = json_is_array(o) ? json_array_get(o, (size_t)strtol(k, NULL, 10))
                             : json_object_get(o, k);
    return o;
}

static const char *str(json_t *o, const char *path)
{
    const char *s = json_string_value(at(o, path));
    return s ? s : "";
}

static long long num(json_t *o, const char *path)
{
    return json_integer_value(at(o, path));
}

static int reconcile(json_t *ahpa, int min, int max, const char *tolerance,
                     struct ahpa_controller__mhpa_result *res)
{
    struct ahpa_controller__mhpa_options o = {.tolerance = tolerance};
    struct ahpa_error err = {0};
    int rc = ahpa_controller__mhpa_reconcile(kc, ahpa, min, max, &o, res, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    return rc;
}

START_TEST(creates_the_full_spec)
{
    json_t *ahpa = make_ahpa("fib-gpu", "fib", "auto");
    struct ahpa_controller__mhpa_result res;
    reconcile(ahpa, 2, 10, NULL, &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_CREATED);
    ck_assert_str_eq(res.name, "ahpa-fib-gpu");
    ck_assert_str_eq(res.status, "True");
    ck_assert_str_eq(res.reason, "ManagedHPACreated");
    ck_assert_uint_eq(res.writes, 1);
    ck_assert_uint_eq(res.reads, 1);
    ck_assert_msg(strstr(res.message, "default 10% tolerance") != NULL, "%s", res.message);

    json_t *h = get_hpa("ahpa-fib-gpu");
    ck_assert_ptr_nonnull(h);
    ck_assert_str_eq(str(h, "spec.scaleTargetRef.kind"), "Deployment");
    ck_assert_str_eq(str(h, "spec.scaleTargetRef.name"), "fib");
    ck_assert_str_eq(str(h, "spec.scaleTargetRef.apiVersion"), "apps/v1");
    ck_assert_int_eq(num(h, "spec.minReplicas"), 2);
    ck_assert_int_eq(num(h, "spec.maxReplicas"), 10);
    ck_assert_uint_eq(json_array_size(at(h, "spec.metrics")), 1);
    ck_assert_str_eq(str(h, "spec.metrics.0.type"), "External");
    ck_assert_str_eq(str(h, "spec.metrics.0.external.metric.name"), "ahpa_desired_replicas");
    ck_assert_str_eq(str(h, "spec.metrics.0.external.metric.selector.matchLabels.ahpa"), "fib-gpu");
    ck_assert_str_eq(str(h, "spec.metrics.0.external.target.type"), "AverageValue");
    ck_assert_str_eq(str(h, "spec.metrics.0.external.target.averageValue"), "1");
    ck_assert_int_eq(num(h, "spec.behavior.scaleDown.stabilizationWindowSeconds"), 0);
    ck_assert_int_eq(num(h, "spec.behavior.scaleUp.stabilizationWindowSeconds"), 0);
    ck_assert_str_eq(str(h, "spec.behavior.scaleDown.policies.0.type"), "Pods");
    ck_assert_int_eq(num(h, "spec.behavior.scaleDown.policies.0.value"), 10);
    ck_assert_ptr_null(at(h, "spec.behavior.scaleDown.tolerance")); /* not asked for */
    json_t *labels = at(h, "metadata.labels");
    ck_assert_str_eq(json_string_value(json_object_get(labels, "app.kubernetes.io/managed-by")),
                     "ahpa-metrics-adapter");
    ck_assert_str_eq(
        json_string_value(json_object_get(labels, "autoscaling.alibabacloud.com/ahpa")), "fib-gpu");
    ck_assert_uint_eq(json_array_size(at(h, "metadata.ownerReferences")), 1);
    ck_assert_str_eq(str(h, "metadata.ownerReferences.0.uid"), str(ahpa, "metadata.uid"));
    ck_assert_str_eq(str(h, "metadata.ownerReferences.0.kind"), "AdvancedHorizontalPodAutoscaler");
    ck_assert_str_eq(str(h, "metadata.ownerReferences.0.name"), "fib-gpu");
    ck_assert(json_is_true(at(h, "metadata.ownerReferences.0.controller")));
    json_decref(h);
    json_decref(ahpa);
}
END_TEST

START_TEST(no_write_when_unchanged_and_update_on_bounds)
{
    json_t *ahpa = make_ahpa("steady", "steady-app", "proactive");
    struct ahpa_controller__mhpa_result res;
    reconcile(ahpa, 2, 10, NULL, &res);
    json_t *h = get_hpa("ahpa-steady");
    char rv[32];
    snprintf(rv, sizeof(rv), "%s", rv_of(h));
    json_decref(h);
    for (int i = 0; i < 5; i++) {
        reconcile(ahpa, 2, 10, NULL, &res);
        ck_assert_int_eq(res.action, AHPA_MHPA_UNCHANGED);
        ck_assert_str_eq(res.reason, "ManagedHPAUpToDate");
        ck_assert_uint_eq(res.writes, 0);
        ck_assert_uint_eq(res.reads, 1);
    }
    h = get_hpa("ahpa-steady");
    ck_assert_str_eq(rv_of(h), rv); /* not one write */
    json_decref(h);

    reconcile(ahpa, 4, 20, NULL, &res); /* a cron window changed the bounds */
    ck_assert_int_eq(res.action, AHPA_MHPA_UPDATED);
    ck_assert_str_eq(res.reason, "ManagedHPAUpdated");
    ck_assert_uint_eq(res.writes, 1);
    h = get_hpa("ahpa-steady");
    ck_assert_str_ne(rv_of(h), rv);
    ck_assert_int_eq(num(h, "spec.minReplicas"), 4);
    ck_assert_int_eq(num(h, "spec.maxReplicas"), 20);
    ck_assert_int_eq(num(h, "spec.behavior.scaleUp.policies.0.value"), 20);
    json_decref(h);

    reconcile(ahpa, 0, 20, NULL, &res); /* min 0: sent as 1, and said so */
    ck_assert_int_eq(res.action, AHPA_MHPA_UPDATED);
    ck_assert_msg(strstr(res.message, "HPAScaleToZero") != NULL, "%s", res.message);
    h = get_hpa("ahpa-steady");
    ck_assert_int_eq(num(h, "spec.minReplicas"), 1);
    json_decref(h);
    json_decref(ahpa);
}
END_TEST

START_TEST(conflict_is_retried)
{
    json_t *ahpa = make_ahpa("busy", "busy-app", "auto");
    struct ahpa_controller__mhpa_result res;
    reconcile(ahpa, 1, 5, NULL, &res);
    static const char conflict[] =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
        "\"Operation cannot be fulfilled on horizontalpodautoscalers.autoscaling \\\"ahpa-busy\\\":"
        " the object has been modified\",\"reason\":\"Conflict\",\"code\":409}";
    ck_assert_int_eq(kubeapi_proc_admin(&api, "POST",
                                        "/-/test/inject?path=/apis/autoscaling/v2/namespaces/"
                                        "default/horizontalpodautoscalers/ahpa-busy&code=409"
                                        "&times=1&method=PUT",
                                        conflict, NULL),
                     200);
    reconcile(ahpa, 1, 6, NULL, &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_UPDATED);
    ck_assert_uint_eq(res.writes, 2); /* the refused one and the one that took */
    ck_assert_uint_eq(res.reads, 2);  /* listed again after the 409 */
    json_t *h = get_hpa("ahpa-busy");
    ck_assert_int_eq(num(h, "spec.maxReplicas"), 6);
    json_decref(h);

    /* Conflicts every time: bounded, then an error. */
    ck_assert_int_eq(kubeapi_proc_admin(&api, "POST",
                                        "/-/test/inject?path=/apis/autoscaling/v2/namespaces/"
                                        "default/horizontalpodautoscalers/ahpa-busy&code=409"
                                        "&times=3&method=PUT",
                                        conflict, NULL),
                     200);
    struct ahpa_error err = {0};
    int rc = ahpa_controller__mhpa_reconcile(kc, ahpa, 1, 7, NULL, &res, &err);
    ck_assert_int_eq(rc, -AHPA_ECONFLICT);
    ck_assert_int_eq(res.action, AHPA_MHPA_FAILED);
    ck_assert_str_eq(res.reason, "ManagedHPAFailed");
    ck_assert_uint_eq(res.writes, AHPA_MHPA_ATTEMPTS);
    json_decref(ahpa);
}
END_TEST

START_TEST(tolerance_sent_and_not_fought)
{
    json_t *ahpa = make_ahpa("tol", "tol-app", "reactive");
    struct ahpa_controller__mhpa_result res;
    reconcile(ahpa, 1, 8, "0", &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_CREATED);
    ck_assert_msg(strstr(res.message, "tolerance 0") != NULL, "%s", res.message);
    json_t *h = get_hpa("ahpa-tol");
    ck_assert_str_eq(str(h, "spec.behavior.scaleUp.tolerance"), "0");
    ck_assert_str_eq(str(h, "spec.behavior.scaleDown.tolerance"), "0");
    /* A cluster without the field drops it: here, an edit removes it. */
    json_object_del(at(h, "spec.behavior.scaleUp"), "tolerance");
    json_object_del(at(h, "spec.behavior.scaleDown"), "tolerance");
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_kube_update(kc, &hpa_res, "default", "ahpa-tol", NULL, h, NULL, &err), 0);
    json_decref(h);
    reconcile(ahpa, 1, 8, "0", &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_UNCHANGED); /* no write storm */
    ck_assert_uint_eq(res.writes, 0);
    ck_assert_msg(strstr(res.message, "default 10% tolerance") != NULL, "%s", res.message);
    /* Another value is written; the server's normal form of it ("50m"
     * for "0.05") is the same value, not a difference. */
    h = get_hpa("ahpa-tol"); /* a cluster that keeps it */
    json_object_set_new(at(h, "spec.behavior.scaleUp"), "tolerance", json_string("0"));
    json_object_set_new(at(h, "spec.behavior.scaleDown"), "tolerance", json_string("0"));
    ck_assert_int_eq(ahpa_kube_update(kc, &hpa_res, "default", "ahpa-tol", NULL, h, NULL, &err), 0);
    json_decref(h);
    reconcile(ahpa, 1, 8, "0.05", &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_UPDATED);
    h = get_hpa("ahpa-tol");
    ck_assert_str_eq(str(h, "spec.behavior.scaleDown.tolerance"), "0.05");
    json_object_set_new(at(h, "spec.behavior.scaleUp"), "tolerance", json_string("50m"));
    json_object_set_new(at(h, "spec.behavior.scaleDown"), "tolerance", json_string("50m"));
    ck_assert_int_eq(ahpa_kube_update(kc, &hpa_res, "default", "ahpa-tol", NULL, h, NULL, &err), 0);
    json_decref(h);
    reconcile(ahpa, 1, 8, "0.05", &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_UNCHANGED);
    ck_assert_uint_eq(res.writes, 0);
    ck_assert_msg(strstr(res.message, "tolerance 50m") != NULL, "%s", res.message);
    json_decref(ahpa);
}
END_TEST

START_TEST(user_hpa_is_reported_not_fought)
{
    json_t *ahpa = make_ahpa("shared", "shared-app", "auto");
    struct ahpa_controller__mhpa_result res;
    reconcile(ahpa, 1, 5, NULL, &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_CREATED);
    create(&hpa_res, "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
                     "\"metadata\":{\"name\":\"mine\"},\"spec\":{\"scaleTargetRef\":"
                     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"shared-app\"},"
                     "\"minReplicas\":1,\"maxReplicas\":3}}");
    json_t *user = get_hpa("mine");
    char rv[32];
    snprintf(rv, sizeof(rv), "%s", rv_of(user));
    json_decref(user);
    reconcile(ahpa, 1, 5, NULL, &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_CONFLICT);
    ck_assert_str_eq(res.status, "False");
    ck_assert_str_eq(res.reason, "UserHPAConflict");
    ck_assert_msg(strstr(res.message, "mine") != NULL, "%s", res.message);
    ck_assert_ptr_null(get_hpa("ahpa-shared")); /* ours went, so they do not fight */
    reconcile(ahpa, 1, 9, NULL, &res);         /* again: nothing written */
    ck_assert_int_eq(res.action, AHPA_MHPA_CONFLICT);
    ck_assert_uint_eq(res.writes, 0);
    user = get_hpa("mine");
    ck_assert_str_eq(rv_of(user), rv); /* never touched */
    ck_assert_int_eq(num(user, "spec.maxReplicas"), 3);
    json_decref(user);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_kube_delete(kc, &hpa_res, "default", "mine", &err), 0);
    reconcile(ahpa, 1, 5, NULL, &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_CREATED);
    json_decref(ahpa);

    /* An HPA holding our name without our labels is left alone too. */
    json_t *other = make_ahpa("taken", "taken-app", "auto");
    create(&hpa_res, "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
                     "\"metadata\":{\"name\":\"ahpa-taken\"},\"spec\":{\"scaleTargetRef\":"
                     "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"elsewhere\"},"
                     "\"maxReplicas\":3}}");
    reconcile(other, 1, 5, NULL, &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_CONFLICT);
    ck_assert_str_eq(res.reason, "HPANameTaken");
    ck_assert_uint_eq(res.writes, 0);
    json_t *h = get_hpa("ahpa-taken");
    ck_assert_int_eq(num(h, "spec.maxReplicas"), 3);
    json_decref(h);
    json_decref(other);
}
END_TEST

START_TEST(observer_deletes_and_gc_follows_the_owner)
{
    json_t *ahpa = make_ahpa("switch", "switch-app", "auto");
    struct ahpa_controller__mhpa_result res;
    reconcile(ahpa, 1, 5, NULL, &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_CREATED);
    json_object_set_new(json_object_get(ahpa, "spec"), "scaleStrategy", json_string("observer"));
    reconcile(ahpa, 1, 5, NULL, &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_DELETED);
    ck_assert_str_eq(res.reason, "ManagedHPADeleted");
    ck_assert_ptr_null(get_hpa("ahpa-switch"));
    reconcile(ahpa, 1, 5, NULL, &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_NONE);
    ck_assert_str_eq(res.reason, "ObserverStrategy");
    ck_assert_uint_eq(res.writes, 0);
    json_object_del(json_object_get(ahpa, "spec"), "scaleStrategy"); /* default: observer */
    reconcile(ahpa, 1, 5, NULL, &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_NONE);

    /* Back to auto, then the AHPA deleted: the owner reference takes the
     * HPA with it. */
    json_object_set_new(json_object_get(ahpa, "spec"), "scaleStrategy", json_string("Auto"));
    reconcile(ahpa, 1, 5, NULL, &res);
    ck_assert_int_eq(res.action, AHPA_MHPA_CREATED);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_kube_delete(kc, &ahpa_res, "default", "switch", &err), 0);
    ck_assert_ptr_null(get_hpa("ahpa-switch"));
    json_decref(ahpa);
}
END_TEST

START_TEST(bad_input_and_names)
{
    struct ahpa_controller__mhpa_result res;
    struct ahpa_error err = {0};
    json_t *a = json_loads("{\"metadata\":{\"name\":\"x\",\"namespace\":\"default\"},\"spec\":"
                           "{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"x\"}}}",
                           0, NULL);
    ck_assert_int_eq(ahpa_controller__mhpa_reconcile(kc, a, 1, 2, NULL, &res, &err),
                     -AHPA_EINVAL); /* no uid: no owner reference possible */
    ck_assert_str_eq(res.reason, "ManagedHPAFailed");
    json_object_set_new(json_object_get(a, "metadata"), "uid", json_string("u-1"));
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_controller__mhpa_reconcile(kc, a, 3, 2, NULL, &res, &err),
                     -AHPA_EINVAL); /* min > max */
    ahpa_error_clear(&err);
    json_object_set_new(json_object_get(a, "spec"), "scaleStrategy", json_string("sideways"));
    ck_assert_int_eq(ahpa_controller__mhpa_reconcile(kc, a, 1, 2, NULL, &res, &err), -AHPA_EINVAL);
    json_decref(a);

    char name[AHPA_MHPA_NAME_MAX], again[AHPA_MHPA_NAME_MAX], longer[300];
    memset(longer, 'a', 252);
    longer[252] = '\0';
    ahpa_controller__mhpa_name(longer, name);
    ahpa_controller__mhpa_name(longer, again);
    ck_assert_uint_eq(strlen(name), 253);
    ck_assert_str_eq(name, again); /* deterministic */
    ck_assert(strncmp(name, "ahpa-aaaa", 9) == 0);
    longer[251] = 'b';
    ahpa_controller__mhpa_name(longer, again);
    ck_assert_str_ne(name, again); /* the hash tells them apart */
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("controller_mhpa");
    TCase *tc = tcase_create("managed_hpa");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, creates_the_full_spec);
    tcase_add_test(tc, no_write_when_unchanged_and_update_on_bounds);
    tcase_add_test(tc, conflict_is_retried);
    tcase_add_test(tc, tolerance_sent_and_not_fought);
    tcase_add_test(tc, user_hpa_is_reported_not_fought);
    tcase_add_test(tc, observer_deletes_and_gc_follows_the_owner);
    tcase_add_test(tc, bad_input_and_names);
    suite_add_tcase(s, tc);
    return s;
}
