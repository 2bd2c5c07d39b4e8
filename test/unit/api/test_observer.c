/* The controller's outputs over the wire (lib/api/observer.c): external
 * metrics and predictionsobserver, with a canned Prometheus whose GPU
 * usage is flat (100 % summed over 3 replicas) and can stop. */
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ahpa/api.h"
#include "ahpa/controller.h"
#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "ahpa/prom.h"
#include "api_test.h"
#include "fakeprom.h"
#include "testsrv.h"
#include "unit.h"

static atomic_llong usage_until; /* usage samples after this are missing; 0: none */

/* Flat usage, 100 % summed over 3 replicas, until usage_until. */
static int sample(void *ud, bool replicas, double t, double *v)
{
    (void)ud;
    long long until = atomic_load(&usage_until);
    if (!replicas && until > 0 && t > (double)until)
        return FAKEPROM_END;
    *v = replicas ? 3 : 100;
    return FAKEPROM_SAMPLE;
}

static void prometheus(const struct testsrv_request *req, struct testsrv_reply *reply, void *ud)
{
    fakeprom_answer_range(req, reply, sample, ud);
}

static const char web_yaml[] =
    "apiVersion: autoscaling.alibabacloud.com/v1beta1\n"
    "kind: AdvancedHorizontalPodAutoscaler\n"
    "metadata: {name: web, namespace: default, creationTimestamp: \"2026-11-30T08:00:00Z\"}\n"
    "spec:\n"
    "  metrics:\n"
    "  - type: Resource\n"
    "    resource: {name: gpu, target: {type: Utilization, averageUtilization: 20}}\n"
    "  minReplicas: 1\n"
    "  maxReplicas: 50\n"
    "  prediction: {quantile: 95, scaleUpForward: 180}\n"
    "  scaleStrategy: %s\n"
    "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}\n";

static void write_ahpa(const char *dir, const char *file, const char *strategy, const char *target)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, web_yaml, strategy, target);
    fclose(f);
}

static void use_controller(struct ahpa_server *s, void *ud)
{
    ahpa_server_use_controller(s, ud);
}

/* The JSON of a GET, status checked. */
static json_t *get_json(const struct test_server *t, const char *path, long status)
{
    struct test_reply r = test_request(t, NULL, path, NULL, NULL);
    ck_assert_msg(r.status == status, "%s: %ld %s", path, r.status, r.body);
    json_t *doc = json_loads(r.body, 0, NULL);
    ck_assert_msg(doc != NULL, "%s: %s", path, r.body);
    test_reply_dispose(&r);
    return doc;
}

#define EXTERNAL "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas"
#define OBSERVER "/apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver"

START_TEST(unknown_is_no_item_and_one_item_per_ahpa)
{
    ahpa_httpc_global_init(NULL);
    struct testsrv *srv = testsrv_start(prometheus, NULL);
    char *url = testsrv_url(srv, "");
    struct ahpa_prom_options po = {.url = url, .timeout_ms = 5000};
    struct ahpa_prom_client *prom = ahpa_prom_client_new(&po, NULL);
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/ahpa-api-obs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    write_ahpa(dir, "web.yaml", "auto", "web");
    write_ahpa(dir, "zz-web.yaml", "reactive", "other"); /* the same AHPA again */
    struct ahpa_controller_options opt = {.prom = prom, .ahpa_dir = dir, .history_s = 86400};
    struct ahpa_controller *c = ahpa_controller_new(&opt, NULL);
    ck_assert_ptr_nonnull(c);
    struct test_server t;
    test_server_start_with(&t, NULL, use_controller, c);

    /* The exporter stopped 30 minutes ago: no item, never "0". */
    const int64_t now = 1795824000 + 6 * 3600;
    atomic_store(&usage_until, now - 1800);
    ahpa_controller_cycle(c, now, NULL);
    json_t *doc = get_json(&t, EXTERNAL, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "items")), 0);
    json_decref(doc);
    doc = get_json(&t, OBSERVER "/web", 200);
    const char *reason = json_string_value(json_object_get(doc, "reason"));
    ck_assert_msg(reason && strstr(reason, "no current GPU usage for Deployment/web since"), "%s",
                  reason ? reason : "(none)");
    ck_assert_ptr_null(json_object_get(doc, "desiredReplicas"));
    ck_assert_ptr_null(json_object_get(doc, "proactiveReplicas"));
    ck_assert_ptr_null(json_object_get(doc, "currentReplicas"));
    json_t *meta = json_object_get(doc, "metadata");
    ck_assert_str_eq(json_string_value(json_object_get(meta, "creationTimestamp")),
                     "2026-11-30T08:00:00Z");
    json_t *errors = json_object_get(doc, "errors");
    ck_assert_uint_eq(json_array_size(errors), 1);
    ck_assert(strstr(json_string_value(json_array_get(errors, 0)), "defined twice") != NULL);
    json_decref(doc);

    /* Samples again: exactly one item for the AHPA. */
    atomic_store(&usage_until, 0);
    ahpa_controller_cycle(c, now + 60, NULL);
    doc = get_json(&t, EXTERNAL, 200);
    json_t *items = json_object_get(doc, "items");
    ck_assert_uint_eq(json_array_size(items), 1);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(items, 0), "metricLabels"), "strategy")),
                     "auto");
    json_decref(doc);
    doc = get_json(&t, OBSERVER, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "items")), 1);
    ck_assert_uint_ge(json_array_size(json_object_get(doc, "errors")), 1);
    json_decref(doc);

    test_server_stop(&t);
    ahpa_controller_free(c);
    ahpa_prom_client_free(prom);
    testsrv_stop(srv);
    free(url);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

void test_api_add_observer(Suite *s)
{
    TCase *tc = tcase_create("observer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, unknown_is_no_item_and_one_item_per_ahpa);
    suite_add_tcase(s, tc);
}
