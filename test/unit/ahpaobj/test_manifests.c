/* The shipped manifests: the seed's fib-gpu example parses to exactly the
 * seed's settings; the CRD is valid YAML with the seed's printer columns;
 * the other examples have the shape the README promises. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/error.h"
#include "ahpa/timefmt.h"
#include "ahpaobj_int.h"
#include "test_ahpaobj.h"
#include "unit.h"

char *ahpaobj_test_read_source(const char *rel, size_t *len)
{
    const char *root = getenv("AHPA_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root && *root ? root : ".", rel);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (set AHPA_SOURCE_DIR)", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

struct docs {
    json_t *roots[8];
    size_t n;
    int problems;
};

static void keep_doc(void *ctx, size_t index, json_t *root, const char *problem)
{
    struct docs *d = ctx;
    (void)index;
    if (problem != NULL)
        d->problems++;
    if (d->n < 8)
        d->roots[d->n++] = json_incref(root);
}

static void load_docs(const char *rel, struct docs *d)
{
    size_t len;
    char *text = ahpaobj_test_read_source(rel, &len);
    struct ahpa_error err = {0};
    memset(d, 0, sizeof(*d));
    ck_assert_msg(ahpaobj_yaml_load(text, len, keep_doc, d, &err) == 0, "%s: %s", rel, err.msg);
    ck_assert_int_eq(d->problems, 0);
    free(text);
}

static void free_docs(struct docs *d)
{
    for (size_t i = 0; i < d->n; i++)
        json_decref(d->roots[i]);
}

/* The string at a dotted path ("spec.names.kind"; "[i]" indexes lists). */
static json_t *at(json_t *v, const char *path)
{
    char key[128];
    const char *p = path;
    while (*p && v != NULL) {
        if (*p == '.')
            p++;
        if (*p == '[') {
            size_t i = strtoul(p + 1, NULL, 10);
            v = json_array_get(v, i);
            p = strchr(p, ']') + 1;
            continue;
        }
        size_t k = strcspn(p, ".[");
        snprintf(key, sizeof key, "%.*s", (int)k, p);
        v = json_object_get(v, key);
        p += k;
    }
    return v;
}

static const char *str_at(json_t *v, const char *path)
{
    const char *s = json_string_value(at(v, path));
    ck_assert_msg(s != NULL, "no string at %s", path);
    return s;
}

START_TEST(seed_fib_gpu_every_field)
{
    size_t len;
    char *text = ahpaobj_test_read_source("manifests/examples/fib-gpu.yaml", &len);
    struct ahpa_obj **objs;
    char **errs;
    size_t n, nerrs;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_obj_parse_yaml(text, len, NULL, "fib-gpu.yaml", &objs, &n, &errs, &nerrs,
                                         &err), 0);
    ck_assert_msg(nerrs == 0, "%s", nerrs ? errs[0] : "");
    ck_assert_uint_eq(n, 1);
    const struct ahpa_obj *o = objs[0];
    ck_assert_str_eq(o->name, "fib-gpu");
    ck_assert_str_eq(o->ns, "default");
    ck_assert_str_eq(o->source, "fib-gpu.yaml");
    ck_assert_uint_eq(o->nmetrics, 1);
    ck_assert_int_eq(o->metrics[0].type, AHPA_OBJ_METRIC_RESOURCE);
    ck_assert_str_eq(o->metrics[0].name, "gpu");
    ck_assert_int_eq(o->metrics[0].target_type, AHPA_OBJ_TARGET_UTILIZATION);
    AHPA_ASSERT_NEAR(o->metrics[0].target, 20, 0);
    ck_assert_ptr_eq(ahpa_obj_primary_metric(o), &o->metrics[0]);
    ck_assert_int_eq(o->min_replicas, 0);
    ck_assert_int_eq(o->max_replicas, 100);
    AHPA_ASSERT_NEAR(o->quantile, 0.95, 1e-12);
    ck_assert_int_eq(o->scale_up_forward_s, 180);
    ck_assert_int_eq(o->strategy, AHPA_PLANNER_OBSERVER);
    ck_assert_str_eq(o->target_api_version, "apps/v1");
    ck_assert_str_eq(o->target_kind, "Deployment");
    ck_assert_str_eq(o->target_name, "bert-intent-detection");
    ck_assert_int_eq(o->scale_down_stabilization_s, 300);
    ck_assert_uint_eq(o->nbounds_text, 3);
    ck_assert_str_eq(o->bounds_text[0],
                     "2021-12-16 00:00:00..2022-12-16 00:00:00  * 0-8 ? * MON-FRI: min 4 max 50");
    ck_assert_str_eq(o->bounds_text[1],
                     "2021-12-16 00:00:00..2022-12-16 00:00:00  * 9-15 ? * MON-FRI: min 10 max 50");
    ck_assert_str_eq(o->bounds_text[2], "2021-12-16 00:00:00..2022-12-16 00:00:00  "
                                        "* 16-23 ? * MON-FRI: min 12 max 50");
    /* The seed's `kubectl get ahpa` shows MINPODS 10 MAXPODS 50: a weekday
     * daytime inside the window. */
    int64_t t;
    struct ahpa_cron_in_force f;
    ck_assert_int_eq(ahpa_time_parse("2022-02-16T11:52:11Z", &t, NULL), 0); /* Wednesday */
    ahpa_cron_bounds_at(o->bounds, NULL, t, &f);
    ck_assert_int_eq(f.min_replicas, 10);
    ck_assert_int_eq(f.max_replicas, 50);
    ck_assert_str_eq(f.min_cron, "* 9-15 ? * MON-FRI");
    ck_assert_int_eq(ahpa_time_parse("2022-02-19T11:00:00Z", &t, NULL), 0); /* Saturday */
    ahpa_cron_bounds_at(o->bounds, NULL, t, &f);
    ck_assert_uint_eq(f.matched, 0);
    ahpa_obj_list_free(objs, n);
    ahpa_obj_errs_free(errs, nerrs);
    free(text);
}
END_TEST

static const struct {
    const char *name, *type, *path;
} columns[] = {
    {"STRATEGY", "string", ".spec.scaleStrategy"},
    {"REFERENCE", "string", ".spec.scaleTargetRef.name"},
    {"METRIC", "string", ".spec.metrics[0].resource.name"},
    {"TARGET(%)", "integer", ".spec.metrics[0].resource.target.averageUtilization"},
    {"CURRENT(%)", "integer", ".status.currentMetric"},
    {"DESIREDPODS", "integer", ".status.desiredReplicas"},
    {"REPLICAS", "integer", ".status.currentReplicas"},
    {"MINPODS", "integer", ".status.minPods"},
    {"MAXPODS", "integer", ".status.maxPods"},
    {"AGE", "date", ".metadata.creationTimestamp"},
};

START_TEST(crd_names_and_printer_columns)
{
    struct docs d;
    load_docs("manifests/crd/advancedhorizontalpodautoscalers.yaml", &d);
    ck_assert_uint_eq(d.n, 1);
    json_t *crd = d.roots[0];
    ck_assert_str_eq(str_at(crd, "apiVersion"), "apiextensions.k8s.io/v1");
    ck_assert_str_eq(str_at(crd, "kind"), "CustomResourceDefinition");
    ck_assert_str_eq(str_at(crd, "metadata.name"),
                     "advancedhorizontalpodautoscalers.autoscaling.alibabacloud.com");
    ck_assert_str_eq(str_at(crd, "spec.group"), "autoscaling.alibabacloud.com");
    ck_assert_str_eq(str_at(crd, "spec.scope"), "Namespaced");
    ck_assert_str_eq(str_at(crd, "spec.names.kind"), "AdvancedHorizontalPodAutoscaler");
    ck_assert_str_eq(str_at(crd, "spec.names.plural"), "advancedhorizontalpodautoscalers");
    ck_assert_str_eq(str_at(crd, "spec.names.shortNames[0]"), "ahpa");
    ck_assert_uint_eq(json_array_size(at(crd, "spec.versions")), 1);
    json_t *v = at(crd, "spec.versions[0]");
    ck_assert_str_eq(str_at(v, "name"), "v1beta1");
    ck_assert(json_is_true(at(v, "served")));
    ck_assert(json_is_true(at(v, "storage")));
    ck_assert(json_is_object(at(v, "subresources.status")));
    json_t *cols = at(v, "additionalPrinterColumns");
    size_t ncols = sizeof(columns) / sizeof(columns[0]);
    ck_assert_uint_eq(json_array_size(cols), ncols);
    for (size_t i = 0; i < ncols; i++) {
        json_t *c = json_array_get(cols, i);
        ck_assert_str_eq(str_at(c, "name"), columns[i].name);
        ck_assert_str_eq(str_at(c, "type"), columns[i].type);
        ck_assert_str_eq(str_at(c, "jsonPath"), columns[i].path);
    }
    free_docs(&d);
}
END_TEST

/* Every field the parser reads has a schema, and every printer column's
 * path exists in the schema. */
START_TEST(crd_schema_covers_every_field)
{
    static const char *const props[] = {
        "spec.properties.scaleTargetRef.properties.apiVersion",
        "spec.properties.scaleTargetRef.properties.kind",
        "spec.properties.scaleTargetRef.properties.name",
        "spec.properties.metrics.items.properties.type",
        "spec.properties.metrics.items.properties.resource.properties.name",
        "spec.properties.metrics.items.properties.resource.properties.target.properties.type",
        "spec.properties.metrics.items.properties.resource.properties.target.properties."
        "averageUtilization",
        "spec.properties.metrics.items.properties.resource.properties.target.properties."
        "averageValue",
        "spec.properties.metrics.items.properties.external.properties.metric.properties.name",
        "spec.properties.metrics.items.properties.external.properties.metric.properties."
        "selector.properties.matchLabels",
        "spec.properties.metrics.items.properties.external.properties.metric.properties."
        "selector.properties.matchExpressions",
        "spec.properties.metrics.items.properties.external.properties.target.properties.value",
        "spec.properties.metrics.items.properties.external.properties.target.properties."
        "averageValue",
        "spec.properties.minReplicas",
        "spec.properties.maxReplicas",
        "spec.properties.scaleStrategy",
        "spec.properties.prediction.properties.quantile",
        "spec.properties.prediction.properties.scaleUpForward",
        "spec.properties.stabilizationWindowSeconds",
        "spec.properties.behavior.properties.scaleDown.properties.stabilizationWindowSeconds",
        "spec.properties.instanceBounds.items.properties.startTime",
        "spec.properties.instanceBounds.items.properties.endTime",
        "spec.properties.instanceBounds.items.properties.bounds.items.properties.cron",
        "spec.properties.instanceBounds.items.properties.bounds.items.properties.minReplicas",
        "spec.properties.instanceBounds.items.properties.bounds.items.properties.maxReplicas",
        "status.properties.currentReplicas",
        "status.properties.desiredReplicas",
        "status.properties.proactiveReplicas",
        "status.properties.reactiveReplicas",
        "status.properties.currentMetric",
        "status.properties.minPods",
        "status.properties.maxPods",
        "status.properties.lastScaleTime",
        "status.properties.conditions",
        "status.properties.observedGeneration",
    };
    struct docs d;
    load_docs("manifests/crd/advancedhorizontalpodautoscalers.yaml", &d);
    json_t *schema = at(d.roots[0], "spec.versions[0].schema.openAPIV3Schema.properties");
    ck_assert_ptr_nonnull(schema);
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
        ck_assert_msg(json_is_object(at(schema, props[i])), "schema lacks %s", props[i]);
    json_t *strategies = at(schema, "spec.properties.scaleStrategy.enum");
    ck_assert_uint_eq(json_array_size(strategies), 4);
    ck_assert_str_eq(json_string_value(json_array_get(strategies, 0)), "observer");
    /* defaults in the schema agree with the parser's */
    ck_assert_str_eq(str_at(schema, "spec.properties.scaleStrategy.default"),
                     ahpa_planner_strategy_name(AHPA_OBJ_DEFAULT_STRATEGY));
    AHPA_ASSERT_NEAR(json_number_value(at(schema, "spec.properties.prediction.properties."
                                                  "quantile.default")),
                     AHPA_OBJ_DEFAULT_QUANTILE, 1e-12);
    ck_assert_int_eq(json_integer_value(at(schema, "spec.properties.prediction.properties."
                                                   "scaleUpForward.default")),
                     AHPA_OBJ_DEFAULT_SCALE_UP_FORWARD_S);
    ck_assert_int_eq(json_integer_value(at(schema, "spec.properties.minReplicas.default")),
                     AHPA_OBJ_DEFAULT_MIN_REPLICAS);
    ck_assert_int_eq(json_integer_value(at(schema, "spec.properties."
                                                   "stabilizationWindowSeconds.default")),
                     AHPA_OBJ_DEFAULT_STABILIZATION_S);
    free_docs(&d);
}
END_TEST

START_TEST(other_examples)
{
    struct docs d;
    load_docs("manifests/examples/hpa-follow-ahpa.yaml", &d);
    ck_assert_uint_eq(d.n, 1);
    json_t *h = d.roots[0];
    ck_assert_str_eq(str_at(h, "apiVersion"), "autoscaling/v2");
    ck_assert_str_eq(str_at(h, "kind"), "HorizontalPodAutoscaler");
    ck_assert_str_eq(str_at(h, "spec.scaleTargetRef.name"), "bert-intent-detection");
    ck_assert_int_eq(json_integer_value(at(h, "spec.minReplicas")), 1);
    ck_assert_int_eq(json_integer_value(at(h, "spec.maxReplicas")), 100);
    ck_assert_str_eq(str_at(h, "spec.metrics[0].type"), "External");
    ck_assert_str_eq(str_at(h, "spec.metrics[0].external.metric.name"), "ahpa_desired_replicas");
    ck_assert_str_eq(str_at(h, "spec.metrics[0].external.metric.selector.matchLabels.ahpa"),
                     "fib-gpu");
    ck_assert_str_eq(str_at(h, "spec.metrics[0].external.target.type"), "AverageValue");
    ck_assert_str_eq(str_at(h, "spec.metrics[0].external.target.averageValue"), "1");
    ck_assert_int_eq(json_integer_value(at(h, "spec.behavior.scaleUp.stabilizationWindowSeconds")),
                     0);
    free_docs(&d);

    load_docs("manifests/examples/bert-intent-detection.yaml", &d);
    ck_assert_uint_eq(d.n, 2);
    ck_assert_str_eq(str_at(d.roots[0], "kind"), "Deployment");
    ck_assert_str_eq(str_at(d.roots[0], "metadata.name"), "bert-intent-detection");
    json_t *limits = at(d.roots[0], "spec.template.spec.containers[0].resources.limits");
    ck_assert_str_eq(json_string_value(json_object_get(limits, "nvidia.com/gpu")), "1");
    ck_assert_str_eq(str_at(d.roots[1], "kind"), "Service");
    ck_assert_str_eq(str_at(d.roots[1], "metadata.name"), "bert-intent-detection-svc");
    free_docs(&d);

    load_docs("manifests/examples/application-intelligence.yaml", &d);
    ck_assert_uint_eq(d.n, 1);
    ck_assert_str_eq(str_at(d.roots[0], "metadata.namespace"), "kube-system");
    ck_assert_ptr_nonnull(strstr(str_at(d.roots[0], "data.prometheusUrl"), "PROMETHEUS-HOST"));
    free_docs(&d);
}
END_TEST

void ahpaobj_test_add_manifest_cases(Suite *s)
{
    TCase *tc = tcase_create("manifests");
    tcase_add_test(tc, seed_fib_gpu_every_field);
    tcase_add_test(tc, crd_names_and_printer_columns);
    tcase_add_test(tc, crd_schema_covers_every_field);
    tcase_add_test(tc, other_examples);
    suite_add_tcase(s, tc);
}
