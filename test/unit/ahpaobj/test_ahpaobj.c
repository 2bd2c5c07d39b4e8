/* Unit tests for lib/ahpaobj: fields, defaults, errors, hostile YAML,
 * multi-document files, bounds in force, the JSON form. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/timefmt.h"
#include "test_ahpaobj.h"
#include "unit.h"

#define HEAD                                                        \
    "apiVersion: autoscaling.alibabacloud.com/v1beta1\n"            \
    "kind: AdvancedHorizontalPodAutoscaler\n"                       \
    "metadata: {name: x, namespace: ns1}\n"
#define TREF "  scaleTargetRef: {kind: Deployment, name: web}\n"
#define MET                                                                          \
    "  metrics: [{type: Resource, resource: {name: gpu, target: {type: Utilization, " \
    "averageUtilization: 20}}}]\n"
#define MAX "  maxReplicas: 10\n"
#define MIN_DOC HEAD "spec:\n" TREF MET MAX

struct parsed {
    struct ahpa_obj **objs;
    size_t n;
    char **errs;
    size_t nerrs;
    struct ahpa_obj_parse_stats stats;
};

static void parse(const char *text, const struct ahpa_cron_zone *z, struct parsed *p)
{
    struct ahpa_error err = {0};
    memset(p, 0, sizeof(*p));
    int rc = ahpa_obj_parse_yaml_ex(text, strlen(text), z, "t.yaml", &p->objs, &p->n, &p->errs,
                                    &p->nerrs, &p->stats, &err);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err.msg);
}

static void release(struct parsed *p)
{
    ahpa_obj_list_free(p->objs, p->n);
    ahpa_obj_errs_free(p->errs, p->nerrs);
}

/* The single object of `text`; fails the test on any error. */
static struct ahpa_obj *one(const char *text)
{
    struct parsed p;
    parse(text, NULL, &p);
    ck_assert_msg(p.nerrs == 0, "unexpected error: %s", p.nerrs ? p.errs[0] : "");
    ck_assert_uint_eq(p.n, 1);
    struct ahpa_obj *o = p.objs[0];
    p.objs[0] = NULL;
    release(&p);
    return o;
}

static int64_t utc(const char *s)
{
    int64_t t;
    ck_assert_int_eq(ahpa_time_parse(s, &t, NULL), 0);
    return t;
}

START_TEST(minimal_gets_defaults)
{
    struct ahpa_obj *o = one(MIN_DOC);
    ck_assert_str_eq(o->name, "x");
    ck_assert_str_eq(o->ns, "ns1");
    ck_assert_str_eq(o->uid, "");
    ck_assert_int_eq(o->creation_s, 0);
    ck_assert_int_eq(o->min_replicas, 1);
    ck_assert_int_eq(o->max_replicas, 10);
    AHPA_ASSERT_NEAR(o->quantile, 0.99, 1e-12);
    ck_assert_int_eq(o->scale_up_forward_s, 180);
    ck_assert_int_eq(o->strategy, AHPA_PLANNER_OBSERVER);
    ck_assert_int_eq(o->scale_down_stabilization_s, 300);
    ck_assert_str_eq(o->target_api_version, "apps/v1");
    ck_assert_str_eq(o->target_kind, "Deployment");
    ck_assert_str_eq(o->target_name, "web");
    ck_assert_ptr_null(o->bounds);
    ck_assert_uint_eq(o->nbounds_text, 0);
    ck_assert_str_eq(o->source, "t.yaml");
    ck_assert_uint_eq(o->nmetrics, 1);
    ck_assert_int_eq(o->metrics[0].type, AHPA_OBJ_METRIC_RESOURCE);
    ck_assert_str_eq(o->metrics[0].name, "gpu");
    ck_assert_int_eq(o->metrics[0].target_type, AHPA_OBJ_TARGET_UTILIZATION);
    AHPA_ASSERT_NEAR(o->metrics[0].target, 20, 0);
    ck_assert_ptr_null(o->metrics[0].selector);
    ahpa_obj_free(o);
}
END_TEST

START_TEST(namespace_defaults_and_metadata)
{
    struct ahpa_obj *o = one(
        "apiVersion: autoscaling.alibabacloud.com/v1beta1\n"
        "kind: AdvancedHorizontalPodAutoscaler\n"
        "metadata: {name: a.b-c, uid: 1234-ab, creationTimestamp: '2026-11-20T08:00:00Z',"
        " generation: 7}\n"
        "spec:\n" TREF MET MAX);
    ck_assert_str_eq(o->ns, "default");
    ck_assert_str_eq(o->name, "a.b-c");
    ck_assert_str_eq(o->uid, "1234-ab");
    ck_assert_int_eq(o->creation_s, utc("2026-11-20T08:00:00Z"));
    ck_assert_int_eq(o->generation, 7);
    ahpa_obj_free(o);
}
END_TEST

/* ---- field tables ------------------------------------------------------ */

static const struct {
    const char *spec_extra; /* lines added to MIN_DOC */
    double quantile;
    int64_t forward_s, stab_s;
    int strategy;
    int min;
} field_cases[] = {
    {"  prediction: {quantile: 95}\n", 0.95, 180, 300, AHPA_PLANNER_OBSERVER, 1},
    {"  prediction: {quantile: 0.95}\n", 0.95, 180, 300, AHPA_PLANNER_OBSERVER, 1},
    {"  prediction: {quantile: 99.5}\n", 0.995, 180, 300, AHPA_PLANNER_OBSERVER, 1},
    {"  prediction: {quantile: 0.5, scaleUpForward: 600}\n", 0.5, 600, 300,
     AHPA_PLANNER_OBSERVER, 1},
    {"  prediction: {scaleUpForward: 0}\n", 0.99, 0, 300, AHPA_PLANNER_OBSERVER, 1},
    {"  prediction: {}\n", 0.99, 180, 300, AHPA_PLANNER_OBSERVER, 1},
    {"  prediction:\n", 0.99, 180, 300, AHPA_PLANNER_OBSERVER, 1},
    {"  scaleStrategy: auto\n", 0.99, 180, 300, AHPA_PLANNER_AUTO, 1},
    {"  scaleStrategy: proactive\n", 0.99, 180, 300, AHPA_PLANNER_PROACTIVE, 1},
    {"  scaleStrategy: reactive\n", 0.99, 180, 300, AHPA_PLANNER_REACTIVE, 1},
    {"  scaleStrategy: Observer\n", 0.99, 180, 300, AHPA_PLANNER_OBSERVER, 1},
    {"  minReplicas: 0\n", 0.99, 180, 300, AHPA_PLANNER_OBSERVER, 0},
    {"  minReplicas: 10\n", 0.99, 180, 300, AHPA_PLANNER_OBSERVER, 10},
    {"  stabilizationWindowSeconds: 60\n", 0.99, 180, 60, AHPA_PLANNER_OBSERVER, 1},
    {"  behavior: {scaleDown: {stabilizationWindowSeconds: 0}}\n", 0.99, 180, 0,
     AHPA_PLANNER_OBSERVER, 1},
    {"  stabilizationWindowSeconds: 60\n  behavior: {scaleDown: {stabilizationWindowSeconds:"
     " 3600}}\n", 0.99, 180, 3600, AHPA_PLANNER_OBSERVER, 1},
    {"  behavior: {scaleUp: {stabilizationWindowSeconds: 10}}\n", 0.99, 180, 300,
     AHPA_PLANNER_OBSERVER, 1},
    {"  unknownField: {a: [1, 2]}\n", 0.99, 180, 300, AHPA_PLANNER_OBSERVER, 1},
};

START_TEST(field_table)
{
    char text[2048];
    snprintf(text, sizeof text, "%s%s", MIN_DOC, field_cases[_i].spec_extra);
    struct ahpa_obj *o = one(text);
    AHPA_ASSERT_NEAR(o->quantile, field_cases[_i].quantile, 1e-12);
    ck_assert_int_eq(o->scale_up_forward_s, field_cases[_i].forward_s);
    ck_assert_int_eq(o->scale_down_stabilization_s, field_cases[_i].stab_s);
    ck_assert_int_eq(o->strategy, field_cases[_i].strategy);
    ck_assert_int_eq(o->min_replicas, field_cases[_i].min);
    ahpa_obj_free(o);
}
END_TEST

static const struct {
    const char *metrics_line;
    int type, target_type;
    const char *name;
    double target;
    const char *selector; /* canonical, NULL for none */
} metric_cases[] = {
    {"{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: "
     "60}}}", AHPA_OBJ_METRIC_RESOURCE, AHPA_OBJ_TARGET_UTILIZATION, "cpu", 60, NULL},
    {"{type: Resource, resource: {name: memory, target: {type: AverageValue, averageValue: "
     "2Gi}}}", AHPA_OBJ_METRIC_RESOURCE, AHPA_OBJ_TARGET_AVERAGE_VALUE, "memory",
     2147483648.0, NULL},
    {"{type: Resource, resource: {name: cpu, target: {type: AverageValue, averageValue: "
     "500m}}}", AHPA_OBJ_METRIC_RESOURCE, AHPA_OBJ_TARGET_AVERAGE_VALUE, "cpu", 0.5, NULL},
    {"{type: Resource, resource: {name: gpu, target: {type: AverageValue, averageValue: "
     "1.5}}}", AHPA_OBJ_METRIC_RESOURCE, AHPA_OBJ_TARGET_AVERAGE_VALUE, "gpu", 1.5, NULL},
    {"{type: External, external: {metric: {name: qps, selector: {matchLabels: {app: web}}}, "
     "target: {type: Value, value: \"3k\"}}}", AHPA_OBJ_METRIC_EXTERNAL, AHPA_OBJ_TARGET_VALUE,
     "qps", 3000, "app=web"},
    {"{type: External, external: {metric: {name: rt}, target: {type: AverageValue, "
     "averageValue: 200}}}", AHPA_OBJ_METRIC_EXTERNAL, AHPA_OBJ_TARGET_AVERAGE_VALUE, "rt",
     200, NULL},
    {"{type: External, external: {metric: {name: q, selector: {matchExpressions: [{key: a, "
     "operator: In, values: [y, x]}]}}, target: {type: AverageValue, averageValue: '10'}}}",
     AHPA_OBJ_METRIC_EXTERNAL, AHPA_OBJ_TARGET_AVERAGE_VALUE, "q", 10, "a in (x,y)"},
};

START_TEST(metric_table)
{
    char text[2048];
    snprintf(text, sizeof text, HEAD "spec:\n" TREF MAX "  metrics: [%s]\n",
             metric_cases[_i].metrics_line);
    struct ahpa_obj *o = one(text);
    ck_assert_uint_eq(o->nmetrics, 1);
    const struct ahpa_obj_metric *m = &o->metrics[0];
    ck_assert_int_eq(m->type, metric_cases[_i].type);
    ck_assert_int_eq(m->target_type, metric_cases[_i].target_type);
    ck_assert_str_eq(m->name, metric_cases[_i].name);
    AHPA_ASSERT_NEAR(m->target, metric_cases[_i].target, 1e-9);
    if (metric_cases[_i].selector == NULL) {
        ck_assert_ptr_null(m->selector);
    } else {
        ck_assert_ptr_nonnull(m->selector);
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ahpa_labelsel_canonical(m->selector, &b);
        ck_assert_str_eq(ahpa_buf_cstr(&b), metric_cases[_i].selector);
        ahpa_buf_dispose(&b);
    }
    ahpa_obj_free(o);
}
END_TEST

START_TEST(primary_metric_prefers_gpu)
{
    struct ahpa_obj *o = one(
        HEAD "spec:\n" TREF MAX
        "  metrics:\n"
        "  - {type: Resource, resource: {name: cpu, target: {type: Utilization, "
        "averageUtilization: 50}}}\n"
        "  - {type: Resource, resource: {name: gpu, target: {type: Utilization, "
        "averageUtilization: 30}}}\n");
    ck_assert_uint_eq(o->nmetrics, 2);
    ck_assert_ptr_eq(ahpa_obj_primary_metric(o), &o->metrics[1]);
    ahpa_obj_free(o);
    o = one(HEAD "spec:\n" TREF MAX
            "  metrics: [{type: External, external: {metric: {name: qps}, target: "
            "{type: Value, value: 1}}}]\n");
    ck_assert_ptr_eq(ahpa_obj_primary_metric(o), &o->metrics[0]);
    ck_assert_str_eq(ahpa_obj_metric_type_name(o->metrics[0].type), "External");
    ck_assert_str_eq(ahpa_obj_target_type_name(o->metrics[0].target_type), "Value");
    ahpa_obj_free(o);
    ck_assert_ptr_null(ahpa_obj_primary_metric(NULL));
}
END_TEST

/* ---- errors ------------------------------------------------------------ */

#define ONE_BOUND(cron, min, max)                                                     \
    "  instanceBounds:\n  - startTime: '2021-12-16 00:00:00'\n    endTime: '2022-12-16 " \
    "00:00:00'\n    bounds:\n    - {cron: '* 0-8 ? * MON-FRI', minReplicas: 4}\n"         \
    "    - {cron: '" cron "', minReplicas: " min ", maxReplicas: " max "}\n"

static const struct {
    const char *text;
    const char *msg;
} error_cases[] = {
    {HEAD "spec:\n" TREF MET, "ns1/x: spec.maxReplicas: required"},
    {HEAD "spec:\n" TREF MET "  maxReplicas: 0\n",
     "ns1/x: spec.maxReplicas: 0 is out of range 1-1000000"},
    {HEAD "spec:\n" TREF MET "  maxReplicas: '100'\n",
     "ns1/x: spec.maxReplicas: expected an integer, got a string"},
    {HEAD "spec:\n" TREF MET "  maxReplicas: 2.5\n",
     "ns1/x: spec.maxReplicas: expected an integer, got a number"},
    {HEAD "spec:\n" TREF MET "  maxReplicas: 3\n  minReplicas: 5\n",
     "ns1/x: spec.maxReplicas: 3 is less than spec.minReplicas 5"},
    {MIN_DOC "  minReplicas: -1\n", "ns1/x: spec.minReplicas: -1 is out of range 0-1000000"},
    {MIN_DOC "  prediction: {quantile: 150}\n",
     "ns1/x: spec.prediction.quantile: 150 is not in (0, 1) or (1, 100)"},
    {MIN_DOC "  prediction: {quantile: 1}\n",
     "ns1/x: spec.prediction.quantile: 1 is not in (0, 1) or (1, 100)"},
    {MIN_DOC "  prediction: {quantile: 0}\n",
     "ns1/x: spec.prediction.quantile: 0 is not in (0, 1) or (1, 100)"},
    {MIN_DOC "  prediction: {quantile: 100}\n",
     "ns1/x: spec.prediction.quantile: 100 is not in (0, 1) or (1, 100)"},
    {MIN_DOC "  prediction: {quantile: -0.5}\n",
     "ns1/x: spec.prediction.quantile: -0.5 is not in (0, 1) or (1, 100)"},
    {MIN_DOC "  prediction: {quantile: '95'}\n",
     "ns1/x: spec.prediction.quantile: expected a number, got a string"},
    {MIN_DOC "  prediction: {scaleUpForward: -1}\n",
     "ns1/x: spec.prediction.scaleUpForward: -1 is out of range 0-86400"},
    {MIN_DOC "  prediction: 5\n", "ns1/x: spec.prediction: expected an object, got an integer"},
    {MIN_DOC "  scaleStrategy: fast\n",
     "ns1/x: spec.scaleStrategy: unknown \"fast\" (want observer, auto, proactive or reactive)"},
    {MIN_DOC "  stabilizationWindowSeconds: 4000\n",
     "ns1/x: spec.stabilizationWindowSeconds: 4000 is out of range 0-3600"},
    {MIN_DOC "  behavior: {scaleDown: {stabilizationWindowSeconds: -3}}\n",
     "ns1/x: spec.behavior.scaleDown.stabilizationWindowSeconds: -3 is out of range 0-3600"},
    {HEAD "spec:\n" MET MAX, "ns1/x: spec.scaleTargetRef: required"},
    {HEAD "spec:\n" MET MAX "  scaleTargetRef: {name: web}\n",
     "ns1/x: spec.scaleTargetRef.kind: required"},
    {HEAD "spec:\n" MET MAX "  scaleTargetRef: {kind: Deployment, name: ''}\n",
     "ns1/x: spec.scaleTargetRef.name: required (empty)"},
    {HEAD "spec:\n" TREF MAX, "ns1/x: spec.metrics: required"},
    {HEAD "spec:\n" TREF MAX "  metrics: []\n",
     "ns1/x: spec.metrics: at least one metric is required"},
    {HEAD "spec:\n" TREF MAX "  metrics: {}\n",
     "ns1/x: spec.metrics: expected a list, got an object"},
    {HEAD "spec:\n" TREF MAX "  metrics: [{type: Pods}]\n",
     "ns1/x: spec.metrics[0].type: unsupported \"Pods\" (want Resource or External)"},
    {HEAD "spec:\n" TREF MAX "  metrics: [7]\n",
     "ns1/x: spec.metrics[0]: expected an object, got an integer"},
    {HEAD "spec:\n" TREF MAX "  metrics: [{type: Resource}]\n",
     "ns1/x: spec.metrics[0].resource: required"},
    {HEAD "spec:\n" TREF MAX
     "  metrics: [{type: Resource, resource: {name: disk, target: {type: Utilization}}}]\n",
     "ns1/x: spec.metrics[0].resource.name: unsupported resource \"disk\" (want gpu, cpu or "
     "memory)"},
    {HEAD "spec:\n" TREF MAX
     "  metrics: [{type: Resource, resource: {name: gpu, target: {type: Utilization}}}]\n",
     "ns1/x: spec.metrics[0].resource.target.averageUtilization: required"},
    {HEAD "spec:\n" TREF MAX
     "  metrics: [{type: Resource, resource: {name: gpu, target: {type: Utilization, "
     "averageUtilization: 0}}}]\n",
     "ns1/x: spec.metrics[0].resource.target.averageUtilization: 0 is out of range 1-100000"},
    {HEAD "spec:\n" TREF MAX
     "  metrics: [{type: Resource, resource: {name: gpu, target: {type: Value, value: 1}}}]\n",
     "ns1/x: spec.metrics[0].resource.target.type: unsupported \"Value\" for a Resource metric "
     "(want Utilization or AverageValue)"},
    {HEAD "spec:\n" TREF MAX
     "  metrics: [{type: Resource, resource: {name: cpu, target: {type: AverageValue, "
     "averageValue: abc}}}]\n",
     "ns1/x: spec.metrics[0].resource.target.averageValue: quantity \"abc\" must start with a "
     "number"},
    {HEAD "spec:\n" TREF MAX
     "  metrics: [{type: Resource, resource: {name: cpu, target: {type: AverageValue, "
     "averageValue: '0'}}}]\n",
     "ns1/x: spec.metrics[0].resource.target.averageValue: must be > 0"},
    {HEAD "spec:\n" TREF MAX
     "  metrics: [{type: External, external: {metric: {name: q, selector: {matchLabels: "
     "{'a b': c}}}, target: {type: Value, value: 1}}}]\n",
     NULL /* labelsel's own reason; checked by prefix below */},
    {HEAD "spec:\n" TREF MAX
     "  metrics: [{type: External, external: {metric: {name: q}, target: {type: Utilization,"
     " averageUtilization: 5}}}]\n",
     "ns1/x: spec.metrics[0].external.target.type: unsupported \"Utilization\" for an External "
     "metric (want Value or AverageValue)"},
    {HEAD "spec:\n" TREF MAX
     "  metrics: [{type: External, external: {target: {type: Value, value: 1}}}]\n",
     "ns1/x: spec.metrics[0].external.metric: required"},
    {MIN_DOC ONE_BOUND("* 25 ? * MON-FRI", "10", "50"),
     "ns1/x: spec.instanceBounds[0].bounds[1].cron: hour: value 25 out of range 0-23"},
    {MIN_DOC ONE_BOUND("* 9-15 ? * MON-FRY", "10", "50"),
     "ns1/x: spec.instanceBounds[0].bounds[1].cron: day-of-week: unknown name FRY"},
    {MIN_DOC ONE_BOUND("* 9-15 ? * MON-FRI", "10", "5"),
     "ns1/x: spec.instanceBounds[0].bounds[1].maxReplicas: 5 is less than minReplicas 10"},
    {MIN_DOC ONE_BOUND("* 9-15 ? * MON-FRI", "-2", "5"),
     "ns1/x: spec.instanceBounds[0].bounds[1].minReplicas: -2 is out of range 0-1000000"},
    {MIN_DOC "  instanceBounds:\n  - {startTime: '2022-12-16 00:00:00', endTime: '2021-12-16 "
     "00:00:00', bounds: [{cron: '* * * * *'}]}\n",
     "ns1/x: spec.instanceBounds[0]: endTime 2021-12-16 00:00:00 is not after startTime "
     "2022-12-16 00:00:00"},
    {MIN_DOC "  instanceBounds:\n  - {startTime: 'yesterday', endTime: '2021-12-16 "
     "00:00:00', bounds: [{cron: '* * * * *'}]}\n", NULL},
    {MIN_DOC "  instanceBounds:\n  - {startTime: '2021-12-16', endTime: '2022-12-16', "
     "bounds: []}\n", "ns1/x: spec.instanceBounds[0].bounds: at least one bound is required"},
    {MIN_DOC "  instanceBounds:\n  - {startTime: '2021-12-16', bounds: []}\n",
     "ns1/x: spec.instanceBounds[0].endTime: required"},
    {MIN_DOC "  instanceBounds:\n  - {startTime: '2021-12-16', endTime: '2022-01-01', "
     "bounds: [{minReplicas: 3}]}\n",
     "ns1/x: spec.instanceBounds[0].bounds[0].cron: required"},
    {"apiVersion: autoscaling.alibabacloud.com/v1beta1\nkind: AdvancedHorizontalPodAutoscaler\n"
     "metadata: {namespace: ns1}\nspec:\n" TREF MET MAX,
     "document 1: metadata.name: required"},
    {"apiVersion: autoscaling.alibabacloud.com/v1beta1\nkind: AdvancedHorizontalPodAutoscaler\n"
     "spec:\n" TREF MET MAX,
     "document 1: metadata: required"},
    {"apiVersion: autoscaling.alibabacloud.com/v1beta1\nkind: AdvancedHorizontalPodAutoscaler\n"
     "metadata: {name: Fib_GPU}\nspec:\n" TREF MET MAX,
     "document 1: metadata.name: \"Fib_GPU\" is not a DNS subdomain name"},
    {"apiVersion: autoscaling.alibabacloud.com/v1alpha1\nkind: AdvancedHorizontalPodAutoscaler\n"
     "metadata: {name: x}\nspec:\n" TREF MET MAX,
     "default/x: apiVersion: unsupported \"autoscaling.alibabacloud.com/v1alpha1\" (want "
     "autoscaling.alibabacloud.com/v1beta1)"},
    {HEAD "spec: [1]\n", "ns1/x: spec: expected an object, got a list"},
    {HEAD, "ns1/x: spec: required"},
    {"- 1\n- 2\n", "document 1: (document): expected an object"},
    /* structural problems found while reading the YAML */
    {HEAD "spec:\n" TREF MET MAX "  maxReplicas: 11\n",
     "ns1/x: spec: duplicate key \"maxReplicas\" (line 8)"},
    {HEAD "spec:\n" TREF MET MAX "  prediction: &p {quantile: 95}\n  other: *p\n",
     "ns1/x: spec.other: aliases are not allowed (line 9)"},
    {HEAD "spec:\n" TREF MET MAX "  ? [a, b]\n  : 1\n",
     "ns1/x: spec: mapping keys must be strings (line 8)"},
    {HEAD "spec:\n" TREF MET MAX "  3: x\n",
     "ns1/x: spec: mapping keys must be strings (line 8)"},
    {HEAD "spec:\n" TREF MET MAX "  s: \"a\\0b\"\n",
     "ns1/x: spec.s: NUL byte in a string (line 8)"},
    /* metric names and duplicates (lib/ahpaobj validate.c) */
    {HEAD "spec:\n" TREF MAX
     "  metrics: [{type: External, external: {metric: {name: a/b}, target: {type: Value, "
     "value: 1}}}]\n",
     "ns1/x: spec.metrics[0].external.metric.name: \"a/b\" is not a metric name (it may not be "
     "\".\", \"..\" or contain '/' or '%')"},
    {HEAD "spec:\n" TREF MAX
     "  metrics:\n"
     "  - {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}\n"
     "  - {type: Resource, resource: {name: cpu, target: {type: AverageValue, averageValue: 1}}}\n",
     "ns1/x: spec.metrics[1]: the same Resource metric cpu as spec.metrics[0]"},
    {HEAD "spec:\n" TREF MAX
     "  metrics:\n"
     "  - {type: External, external: {metric: {name: q, selector: {matchLabels: {a: b}}}, "
     "target: {type: Value, value: 1}}}\n"
     "  - {type: External, external: {metric: {name: q, selector: {matchLabels: {a: b}}}, target: {type: AverageValue, averageValue: 1}}}\n",
     "ns1/x: spec.metrics[1]: the same External metric q as spec.metrics[0]"},
};

START_TEST(error_table)
{
    struct parsed p;
    parse(error_cases[_i].text, NULL, &p);
    ck_assert_uint_eq(p.n, 0);
    ck_assert_uint_eq(p.nerrs, 1);
    if (error_cases[_i].msg != NULL)
        ck_assert_str_eq(p.errs[0], error_cases[_i].msg);
    else
        ck_assert_msg(strncmp(p.errs[0], "ns1/x: spec.", 12) == 0, "%s", p.errs[0]);
    release(&p);
}
END_TEST

START_TEST(error_messages_with_reason_from_below)
{
    struct parsed p;
    parse(error_cases[32].text, NULL, &p);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_str_eq(p.errs[0], "ns1/x: spec.metrics[0].external.metric.selector: matchLabels: "
                                "invalid label key \"a b\": name part must consist of "
                                "alphanumeric characters, '-', '_' or '.', and must start and "
                                "end with an alphanumeric character");
    release(&p);
    parse(error_cases[40].text, NULL, &p);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_str_eq(p.errs[0], "ns1/x: spec.instanceBounds[0].startTime: timestamp "
                                "\"yesterday\" is not unix seconds, \"YYYY-MM-DD HH:MM:SS\" "
                                "or RFC 3339");
    release(&p);
}
END_TEST

/* ---- hostile input --------------------------------------------------- */

START_TEST(deep_nesting_is_refused)
{
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text, "%s  deep: ", MIN_DOC);
    for (int i = 0; i < 40; i++)
        text[n++] = '[';
    for (int i = 0; i < 40; i++)
        text[n++] = ']';
    text[n++] = '\n';
    text[n] = '\0';
    struct parsed p;
    parse(text, NULL, &p);
    ck_assert_uint_eq(p.n, 0);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_msg(strstr(p.errs[0], "nesting deeper than 32 levels") != NULL, "%s", p.errs[0]);
    ck_assert_msg(strncmp(p.errs[0], "ns1/x: spec.deep", 16) == 0, "%s", p.errs[0]);
    release(&p);
}
END_TEST

START_TEST(huge_input_is_refused)
{
    size_t len = AHPA_OBJ_MAX_INPUT + 1;
    char *text = malloc(len);
    memset(text, '#', len);
    struct ahpa_obj **objs = NULL;
    char **errs = NULL;
    size_t n = 7, nerrs = 7;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_obj_parse_yaml(text, len, NULL, "big.yaml", &objs, &n, &errs, &nerrs,
                                         &err), -AHPA_ETOOBIG);
    ck_assert_str_eq(err.msg, "big.yaml: 1048577 bytes is more than the 1048576 allowed");
    ck_assert_uint_eq(n, 7); /* untouched */
    free(text);
}
END_TEST

START_TEST(billion_laughs_is_cheap_and_refused)
{
    const char *text =
        HEAD "spec:\n" TREF MET MAX
        "  a: &a [x, x, x, x, x, x, x, x, x]\n"
        "  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
    struct parsed p;
    parse(text, NULL, &p);
    ck_assert_uint_eq(p.n, 0);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_str_eq(p.errs[0], "ns1/x: spec.b[0]: aliases are not allowed (line 9)");
    release(&p);
}
END_TEST

START_TEST(syntax_errors_keep_earlier_objects)
{
    const char *text = MIN_DOC "---\n" HEAD "spec: {a: [1, 2}\n";
    struct parsed p;
    parse(text, NULL, &p);
    ck_assert_uint_eq(p.n, 1);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_msg(strncmp(p.errs[0], "t.yaml: line 12 column 16: ", 27) == 0, "%s", p.errs[0]);
    release(&p);

    const char bad_utf8[] = "kind: AdvancedHorizontalPodAutoscaler\nmetadata: {name: \xff\xfe}\n";
    parse(bad_utf8, NULL, &p);
    ck_assert_uint_eq(p.n, 0);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_msg(strstr(p.errs[0], "UTF-8") != NULL, "%s", p.errs[0]);
    release(&p);
}
END_TEST

START_TEST(messages_are_one_bounded_line)
{
    /* a value with newlines and a very long key end up printable and cut */
    char *text = malloc(20000);
    int n = snprintf(text, 20000, "%s  instanceBounds: [{startTime: \"2021\\n\\tx\", "
                     "endTime: '2022-01-01', bounds: [{cron: '* * * * *'}]}]\n  ? ", MIN_DOC);
    memset(text + n, 'k', 5000);
    snprintf(text + n + 5000, 20000 - (size_t)n - 5000, "\n  : 1\n");
    n -= 4; /* the duplicate below starts at "  ? " */
    struct parsed p;
    parse(text, NULL, &p);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_str_eq(p.errs[0], "ns1/x: spec.instanceBounds[0].startTime: timestamp \"2021??x\" "
                                "is not unix seconds, \"YYYY-MM-DD HH:MM:SS\" or RFC 3339");
    release(&p);
    /* duplicate of a 5000-byte key: the message is cut at 480 bytes */
    size_t len = strlen(text);
    char *twice = malloc(2 * len + 1);
    memcpy(twice, text, len);
    memcpy(twice + len, text + n, len - (size_t)n + 1);
    char *ib = strstr(twice, "instanceBounds");
    memcpy(ib, "instanceBoundz", 14); /* no other error first */
    parse(twice, NULL, &p);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_uint_eq(strlen(p.errs[0]), 480);
    ck_assert_msg(strncmp(p.errs[0], "ns1/x: spec: duplicate key \"kkkk", 32) == 0, "%s", p.errs[0]);
    ck_assert_str_eq(p.errs[0] + 477, "...");
    release(&p);
    free(twice);
    free(text);
}
END_TEST

START_TEST(too_many_nodes_is_refused)
{
    size_t cap = (size_t)AHPA_OBJ_MAX_NODES * 2 + 64;
    char *text = malloc(cap);
    size_t n = 0;
    n += (size_t)snprintf(text, cap, "a: [");
    for (int i = 0; i < AHPA_OBJ_MAX_NODES; i++) {
        text[n++] = '1';
        text[n++] = ',';
    }
    n += (size_t)snprintf(text + n, cap - n, "1]\n");
    struct parsed p;
    parse(text, NULL, &p);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_str_eq(p.errs[0], "t.yaml: line 1: more than 100000 nodes");
    release(&p);
    free(text);
}
END_TEST

START_TEST(every_truncation_of_the_seed_is_handled)
{
    /* Each prefix either parses or gives messages; never crashes or leaks
     * (the ASan build checks the rest). */
    char *text = ahpaobj_test_read_source("manifests/examples/fib-gpu.yaml", NULL);
    size_t len = strlen(text);
    size_t parsed_whole = 0;
    for (size_t k = 0; k <= len; k++) {
        struct ahpa_obj **objs;
        char **errs;
        size_t n, nerrs;
        ck_assert_int_eq(ahpa_obj_parse_yaml(text, k, NULL, NULL, &objs, &n, &errs, &nerrs, NULL),
                         0);
        ck_assert_uint_le(n, 1);
        parsed_whole += n;
        ahpa_obj_list_free(objs, n);
        ahpa_obj_errs_free(errs, nerrs);
    }
    ck_assert_uint_ge(parsed_whole, 1);
    free(text);
}
END_TEST

/* ---- multi-document files ------------------------------------------- */

START_TEST(multi_document_one_bad)
{
    const char *text =
        MIN_DOC
        "---\n"
        "apiVersion: autoscaling.alibabacloud.com/v1beta1\n"
        "kind: AdvancedHorizontalPodAutoscaler\n"
        "metadata: {name: bad}\n"
        "spec:\n" TREF MET "  maxReplicas: 10\n  prediction: {quantile: 150}\n"
        "---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n"
        "---\n"
        "---\n"
        "apiVersion: autoscaling.alibabacloud.com/v1beta1\n"
        "kind: AdvancedHorizontalPodAutoscaler\n"
        "metadata: {name: y, namespace: ns2}\n"
        "spec:\n" TREF MET "  maxReplicas: 20\n";
    struct parsed p;
    parse(text, NULL, &p);
    ck_assert_uint_eq(p.n, 2);
    ck_assert_str_eq(p.objs[0]->name, "x");
    ck_assert_str_eq(p.objs[1]->name, "y");
    ck_assert_str_eq(p.objs[1]->ns, "ns2");
    ck_assert_int_eq(p.objs[1]->max_replicas, 20);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_str_eq(p.errs[0],
                     "default/bad: spec.prediction.quantile: 150 is not in (0, 1) or (1, 100)");
    ck_assert_uint_eq(p.stats.documents, 5);
    ck_assert_uint_eq(p.stats.skipped, 2);
    release(&p);
}
END_TEST

START_TEST(same_name_twice)
{
    struct parsed p;
    parse(MIN_DOC "  minReplicas: 2\n---\n" MIN_DOC "  minReplicas: 3\n", NULL, &p);
    ck_assert_uint_eq(p.n, 1);
    ck_assert_int_eq(p.objs[0]->min_replicas, 2);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_str_eq(p.errs[0], "ns1/x: defined again in document 2 (the first is kept)");
    release(&p);
}
END_TEST

START_TEST(core_tags_and_scalar_styles)
{
    struct ahpa_obj *o = one(HEAD "spec:\n" TREF MET
                             "  maxReplicas: !!int \"12\"\n"
                             "  minReplicas: 0x3\n"
                             "  prediction: {quantile: !!float '0.9', scaleUpForward: 0o10}\n"
                             "  scaleStrategy: |-\n    auto\n");
    ck_assert_int_eq(o->max_replicas, 12);
    ck_assert_int_eq(o->min_replicas, 3);
    AHPA_ASSERT_NEAR(o->quantile, 0.9, 1e-12);
    ck_assert_int_eq(o->scale_up_forward_s, 8);
    ck_assert_int_eq(o->strategy, AHPA_PLANNER_AUTO);
    ahpa_obj_free(o);
    struct parsed p;
    parse(HEAD "spec:\n" TREF MET "  maxReplicas: !!str 12\n", NULL, &p);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_str_eq(p.errs[0], "ns1/x: spec.maxReplicas: expected an integer, got a string");
    release(&p);
    parse(HEAD "spec:\n" TREF MET "  maxReplicas: 1e400\n", NULL, &p);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_str_eq(p.errs[0], "ns1/x: spec.maxReplicas: expected an integer, got a string");
    release(&p);
    parse(HEAD "spec:\n" TREF MET "  maxReplicas: 99999999999999999999\n", NULL, &p);
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_str_eq(p.errs[0], "ns1/x: spec.maxReplicas: expected an integer, got a number");
    release(&p);
}
END_TEST

START_TEST(kubectl_list_form)
{
    const char *text =
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: autoscaling.alibabacloud.com/v1beta1\n"
        "  kind: AdvancedHorizontalPodAutoscaler\n"
        "  metadata: {name: a}\n"
        "  spec: {scaleTargetRef: {kind: Deployment, name: w}, maxReplicas: 3, metrics: "
        "[{type: Resource, resource: {name: gpu, target: {type: Utilization, "
        "averageUtilization: 20}}}]}\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n"
        "- apiVersion: autoscaling.alibabacloud.com/v1beta1\n"
        "  kind: AdvancedHorizontalPodAutoscaler\n"
        "  metadata: {name: b}\n"
        "  spec: {scaleTargetRef: {kind: Deployment, name: w}, metrics: []}\n";
    struct parsed p;
    parse(text, NULL, &p);
    ck_assert_uint_eq(p.n, 1);
    ck_assert_str_eq(p.objs[0]->name, "a");
    ck_assert_uint_eq(p.nerrs, 1);
    ck_assert_str_eq(p.errs[0], "default/b: spec.metrics: at least one metric is required");
    ck_assert_uint_eq(p.stats.skipped, 1);
    release(&p);
}
END_TEST

START_TEST(empty_and_foreign_texts)
{
    struct parsed p;
    parse("", NULL, &p);
    ck_assert_uint_eq(p.n + p.nerrs, 0);
    release(&p);
    parse("# only a comment\n", NULL, &p);
    ck_assert_uint_eq(p.n + p.nerrs, 0);
    release(&p);
    parse("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", NULL, &p);
    ck_assert_uint_eq(p.n + p.nerrs, 0);
    ck_assert_uint_eq(p.stats.skipped, 1);
    release(&p);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_obj_parse_yaml("", 0, NULL, NULL, NULL, NULL, NULL, NULL, &err),
                     -AHPA_EINVAL);
}
END_TEST

/* ---- bounds ------------------------------------------------------------ */

#define SEED_BOUNDS                                                              \
    "  instanceBounds:\n"                                                        \
    "  - startTime: \"2021-12-16 00:00:00\"\n"                                   \
    "    endTime: \"2022-12-16 00:00:00\"\n"                                     \
    "    bounds:\n"                                                              \
    "    - {cron: \"* 0-8 ? * MON-FRI\", maxReplicas: 50, minReplicas: 4}\n"     \
    "    - {cron: \"* 9-15 ? * MON-FRI\", maxReplicas: 50, minReplicas: 10}\n"   \
    "    - {cron: \"* 16-23 ? * MON-FRI\", maxReplicas: 50, minReplicas: 12}\n"  \
    "    - {cron: \"0 12 1 1 *\", minReplicas: 1}\n"

static const struct {
    const char *when;
    int min, max; /* -1 unset */
    size_t matched;
} bound_cases[] = {
    {"2022-03-02T10:00:00Z", 10, 50, 1},   /* Wednesday */
    {"2022-03-02T09:00:00Z", 10, 50, 1},
    {"2022-03-02T08:59:59Z", 4, 50, 1},
    {"2022-03-02T23:59:00Z", 12, 50, 1},
    {"2022-03-05T10:00:00Z", -1, -1, 0},   /* Saturday */
    {"2022-03-06T03:00:00Z", -1, -1, 0},   /* Sunday */
    {"2021-12-15T23:59:59Z", -1, -1, 0},   /* before the window */
    {"2021-12-16T00:00:00Z", 4, 50, 1},    /* Thursday, first second */
    {"2022-12-16T00:00:00Z", -1, -1, 0},   /* end is exclusive */
    {"2022-01-01T12:00:00Z", 1, -1, 1},    /* Saturday: only the date bound */
};

START_TEST(bounds_in_force)
{
    struct ahpa_obj *o = one(MIN_DOC SEED_BOUNDS);
    ck_assert_ptr_nonnull(o->bounds);
    struct ahpa_cron_in_force f;
    ahpa_cron_bounds_at(o->bounds, NULL, utc(bound_cases[_i].when), &f);
    ck_assert_uint_eq(f.matched, bound_cases[_i].matched);
    ck_assert_int_eq(f.min_replicas, bound_cases[_i].min);
    ck_assert_int_eq(f.max_replicas, bound_cases[_i].max);
    ahpa_obj_free(o);
}
END_TEST

START_TEST(bounds_text_lines)
{
    struct ahpa_obj *o = one(MIN_DOC SEED_BOUNDS);
    ck_assert_uint_eq(o->nbounds_text, 4);
    ck_assert_str_eq(o->bounds_text[0],
                     "2021-12-16 00:00:00..2022-12-16 00:00:00  * 0-8 ? * MON-FRI: min 4 max 50");
    ck_assert_str_eq(o->bounds_text[1],
                     "2021-12-16 00:00:00..2022-12-16 00:00:00  * 9-15 ? * MON-FRI: min 10 max 50");
    ck_assert_str_eq(o->bounds_text[3],
                     "2021-12-16 00:00:00..2022-12-16 00:00:00  0 12 1 1 *: min 1 max -");
    ck_assert_uint_eq(ahpa_cron_bounds_window_count(o->bounds), 1);
    ck_assert_uint_eq(ahpa_cron_bounds_count(o->bounds, 0), 4);
    ck_assert_str_eq(ahpa_cron_bounds_text(o->bounds, 0, 2), "* 16-23 ? * MON-FRI");
    ahpa_obj_free(o);
}
END_TEST

START_TEST(bounds_in_a_zone)
{
    struct ahpa_cron_zone *z;
    ck_assert_int_eq(ahpa_cron_zone_new_fixed("+08:00", &z, NULL), 0);
    struct parsed p;
    parse(MIN_DOC SEED_BOUNDS, z, &p);
    ck_assert_uint_eq(p.n, 1);
    struct ahpa_cron_in_force f;
    /* 2021-12-15T16:00Z is 2021-12-16 00:00 in +08:00: the window opens */
    ahpa_cron_bounds_at(p.objs[0]->bounds, z, utc("2021-12-15T16:00:00Z"), &f);
    ck_assert_int_eq(f.min_replicas, 4);
    ahpa_cron_bounds_at(p.objs[0]->bounds, z, utc("2021-12-15T15:59:00Z"), &f);
    ck_assert_uint_eq(f.matched, 0);
    /* Wednesday 02:00Z is 10:00 local */
    ahpa_cron_bounds_at(p.objs[0]->bounds, z, utc("2022-03-02T02:00:00Z"), &f);
    ck_assert_int_eq(f.min_replicas, 10);
    release(&p);
    ahpa_cron_zone_free(z);
}
END_TEST

/* ---- JSON form ---------------------------------------------------------- */

START_TEST(json_form)
{
    const char *text =
        "{\"apiVersion\":\"autoscaling.alibabacloud.com/v1beta1\","
        "\"kind\":\"AdvancedHorizontalPodAutoscaler\","
        "\"metadata\":{\"name\":\"fib-gpu\",\"namespace\":\"default\",\"uid\":\"u-1\","
        "\"creationTimestamp\":\"2026-11-21T10:00:00Z\"},"
        "\"spec\":{\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"gpu\","
        "\"target\":{\"type\":\"Utilization\",\"averageUtilization\":20}}}],"
        "\"minReplicas\":0,\"maxReplicas\":100,"
        "\"prediction\":{\"quantile\":95,\"scaleUpForward\":180},"
        "\"scaleStrategy\":\"auto\","
        "\"scaleTargetRef\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
        "\"name\":\"bert-intent-detection\"},"
        "\"instanceBounds\":[{\"startTime\":\"2021-12-16 00:00:00\","
        "\"endTime\":\"2022-12-16 00:00:00\",\"bounds\":[{\"cron\":\"* 9-15 ? * MON-FRI\","
        "\"minReplicas\":10,\"maxReplicas\":50}]}]},"
        "\"status\":{\"desiredReplicas\":3}}";
    json_t *j = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(j);
    struct ahpa_obj *o = NULL;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_obj_from_json(j, NULL, &o, &err), 0);
    ck_assert_str_eq(o->name, "fib-gpu");
    ck_assert_str_eq(o->uid, "u-1");
    ck_assert_int_eq(o->creation_s, utc("2026-11-21T10:00:00Z"));
    ck_assert_int_eq(o->strategy, AHPA_PLANNER_AUTO);
    AHPA_ASSERT_NEAR(o->quantile, 0.95, 1e-12);
    ck_assert_int_eq(o->min_replicas, 0);
    ck_assert_str_eq(o->source, "");
    struct ahpa_cron_in_force f;
    ahpa_cron_bounds_at(o->bounds, NULL, utc("2022-03-02T10:00:00Z"), &f);
    ck_assert_int_eq(f.min_replicas, 10);
    ahpa_obj_free(o);

    json_object_set_new(json_object_get(j, "spec"), "maxReplicas", json_string("x"));
    o = NULL;
    ck_assert_int_eq(ahpa_obj_from_json(j, NULL, &o, &err), -AHPA_EPARSE);
    ck_assert_ptr_null(o);
    ck_assert_str_eq(err.msg, "default/fib-gpu: spec.maxReplicas: expected an integer, got a string");
    json_decref(j);

    j = json_loads("{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"a\"}}", 0, NULL);
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_obj_from_json(j, NULL, &o, &err), -AHPA_EPARSE);
    ck_assert_str_eq(err.msg, "default/a: kind: \"Deployment\" is not AdvancedHorizontalPodAutoscaler");
    json_decref(j);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("ahpaobj");
    TCase *tc = tcase_create("fields");
    tcase_add_test(tc, minimal_gets_defaults);
    tcase_add_test(tc, namespace_defaults_and_metadata);
    tcase_add_loop_test(tc, field_table, 0, sizeof(field_cases) / sizeof(field_cases[0]));
    tcase_add_loop_test(tc, metric_table, 0, sizeof(metric_cases) / sizeof(metric_cases[0]));
    tcase_add_test(tc, primary_metric_prefers_gpu);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_loop_test(tc, error_table, 0, sizeof(error_cases) / sizeof(error_cases[0]));
    tcase_add_test(tc, error_messages_with_reason_from_below);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, deep_nesting_is_refused);
    tcase_add_test(tc, huge_input_is_refused);
    tcase_add_test(tc, billion_laughs_is_cheap_and_refused);
    tcase_add_test(tc, syntax_errors_keep_earlier_objects);
    tcase_add_test(tc, too_many_nodes_is_refused);
    tcase_add_test(tc, messages_are_one_bounded_line);
    tcase_add_test(tc, every_truncation_of_the_seed_is_handled);
    suite_add_tcase(s, tc);
    tc = tcase_create("documents");
    tcase_add_test(tc, multi_document_one_bad);
    tcase_add_test(tc, kubectl_list_form);
    tcase_add_test(tc, same_name_twice);
    tcase_add_test(tc, core_tags_and_scalar_styles);
    tcase_add_test(tc, empty_and_foreign_texts);
    suite_add_tcase(s, tc);
    tc = tcase_create("bounds");
    tcase_add_loop_test(tc, bounds_in_force, 0, sizeof(bound_cases) / sizeof(bound_cases[0]));
    tcase_add_test(tc, bounds_text_lines);
    tcase_add_test(tc, bounds_in_a_zone);
    suite_add_tcase(s, tc);
    tc = tcase_create("json");
    tcase_add_test(tc, json_form);
    suite_add_tcase(s, tc);
    ahpaobj_test_add_manifest_cases(s);
    return s;
}
