/* Unit tests for the metric types of lib/controller (metric.c and the
 * multi-metric planning of workload.c): query rendering, the utilisation
 * maths on hand-computed cases, and plans of cpu, memory, External and
 * two-metric AHPAs against a canned Prometheus that answers by query:
 *   cpu usage      2 + sin(day phase)   cores (1..3), all pods
 *   cpu requests   0.5 cores per pod
 *   memory usage   3 GiB + 1 GiB x sin  (2..4 GiB)
 *   memory requests 1 GiB per pod
 *   queue_depth{queue="jobs"}  50 + 30 x sin
 *   replicas       4
 * and /api/v1/series with the one queue_depth series (the external rule's
 * registry). Reactive AHPAs with no stabilisation window make the plan the
 * HPA's formula, so the tests compute it by hand from these functions. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/controller.h"
#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "ahpa/prom.h"
#include "ahpa/provider.h"
#include "ahpa/rules.h"
#include <jansson.h>
#include "controller_int.h"
#include "metric.h"
#include "testsrv.h"
#include "unit.h"

#define DAY 86400.0
#define GIB 1073741824.0

static double phase(double t)
{
    return sin(2 * M_PI * fmod(t, DAY) / DAY);
}
static double cpu_at(double t) { return 2 + phase(t); }
static double mem_at(double t) { return 3 * GIB + GIB * phase(t); }
static double queue_at(double t) { return 50 + 30 * phase(t); }

static _Thread_local char body[1 << 20];
static _Thread_local char query[8192];
static char last_external[8192]; /* the last external query seen (one writer at a time) */

static double param(const char *target, const char *name)
{
    char key[32];
    snprintf(key, sizeof(key), "%s=", name);
    const char *p = strstr(target, key);
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

/* The URL-decoded value of query= in a target or form body. */
static void decode_query(const char *t, char *out, size_t n)
{
    const char *p = strstr(t, "query=");
    size_t k = 0;
    for (p = p ? p + 6 : ""; *p && *p != '&' && k + 1 < n; p++) {
        if (*p == '%' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], 0};
            out[k++] = (char)strtol(hex, NULL, 16);
            p += 2;
        } else {
            out[k++] = *p == '+' ? ' ' : *p;
        }
    }
    out[k] = '\0';
}

static void fake(const struct testsrv_request *req, struct testsrv_reply *reply, void *ud)
{
    (void)ud;
    const char *t = req->method[0] == 'P' ? req->body : req->target;
    if (strncmp(req->target, "/api/v1/series", 14) == 0) {
        reply->body = "{\"status\":\"success\",\"data\":[{\"__name__\":\"queue_depth\","
                      "\"namespace\":\"default\",\"queue\":\"jobs\"}]}";
        return;
    }
    double start = param(t, "start"), end = param(t, "end"), step = param(t, "step");
    if (strncmp(req->target, "/api/v1/query_range", 19) != 0 || !(step > 0)) {
        reply->status = 400;
        reply->body = "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"unexpected\"}";
        return;
    }
    decode_query(t, query, sizeof(query));
    int which; /* 0 replicas, 1 cpu, 2 cpu req, 3 mem, 4 mem req, 5 queue, -1 none */
    if (strstr(query, "kube_deployment_status_replicas"))
        which = 0;
    else if (strstr(query, "kube_pod_container_resource_requests") &&
             strstr(query, "resource=\"cpu\""))
        which = strstr(query, "pod=~\"api-") ? -1 : 2; /* Deployment api: none */
    else if (strstr(query, "kube_pod_container_resource_requests") &&
             strstr(query, "resource=\"memory\""))
        which = 4;
    else if (strstr(query, "rate(container_cpu_usage_seconds_total{"))
        which = 1;
    else if (strstr(query, "container_memory_working_set_bytes{"))
        which = 3;
    else if (strstr(query, "queue_depth{") && strstr(query, "queue=\"jobs\"")) {
        snprintf(last_external, sizeof(last_external), "%s", query);
        which = 5;
    } else
        which = -1;
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"status\":\"success\",\"data\":{"
                                "\"resultType\":\"matrix\",\"result\":[");
    if (which >= 0) {
        n += (size_t)snprintf(body + n, sizeof(body) - n, "{\"metric\":{},\"values\":[");
        const char *sep = "";
        for (double x = start; x <= end && n + 64 < sizeof(body); x += step) {
            double v = which == 0 ? 4 : which == 1 ? cpu_at(x) : which == 2 ? 0.5
                     : which == 3 ? mem_at(x) : which == 4 ? GIB : queue_at(x);
            n += (size_t)snprintf(body + n, sizeof(body) - n, "%s[%.0f,\"%.17g\"]", sep, x, v);
            sep = ",";
        }
        n += (size_t)snprintf(body + n, sizeof(body) - n, "]}");
    }
    snprintf(body + n, sizeof(body) - n, "]}}");
    reply->body = body;
}

static const char rules_yaml[] =
    "externalRules:\n"
    "- seriesQuery: 'queue_depth{namespace!=\"\"}'\n"
    "  resources:\n"
    "    overrides:\n"
    "      namespace: {resource: namespace}\n"
    "  name: {matches: \"^queue_depth$\", as: queue_depth}\n"
    "  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'\n";

/* One AHPA document: name, strategy, metrics (YAML list items). */
static void ahpa_doc_for(struct ahpa_buf *b, const char *name, const char *strategy,
                         const char *metrics, const char *target)
{
    ahpa_buf_printf(b,
                    "---\napiVersion: autoscaling.alibabacloud.com/v1beta1\n"
                    "kind: AdvancedHorizontalPodAutoscaler\n"
                    "metadata: {name: %s, namespace: default}\n"
                    "spec:\n"
                    "  metrics:\n%s"
                    "  minReplicas: 1\n"
                    "  maxReplicas: 100\n"
                    "  stabilizationWindowSeconds: 0\n"
                    "  prediction: {quantile: 95, scaleUpForward: 180}\n"
                    "  scaleStrategy: %s\n"
                    "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}\n",
                    name, metrics, strategy, target);
}

static void ahpa_doc(struct ahpa_buf *b, const char *name, const char *strategy,
                     const char *metrics)
{
    ahpa_doc_for(b, name, strategy, metrics, "web");
}

#define CPU(u) "  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, " \
               "averageUtilization: " #u "}}\n"
#define MEM_AVG "  - type: Resource\n    resource: {name: memory, target: {type: AverageValue, " \
                "averageValue: 1Gi}}\n"
#define QUEUE(tt, key, q) "  - type: External\n    external:\n" \
    "      metric: {name: queue_depth, selector: {matchLabels: {queue: jobs}}}\n" \
    "      target: {type: " tt ", " key ": \"" q "\"}\n"
/* The same metric with another selector (a metric may appear once). */
#define QUEUE_OTHER(tt, key, q) "  - type: External\n    external:\n" \
    "      metric: {name: queue_depth, selector: {matchLabels: {queue: other}}}\n" \
    "      target: {type: " tt ", " key ": \"" q "\"}\n"
#define MISSING "  - type: External\n    external:\n" \
    "      metric: {name: not_a_metric}\n      target: {type: AverageValue, averageValue: 1}\n"

struct fixture {
    struct testsrv *srv;
    char *url;
    struct ahpa_prom_client *prom;
    struct ahpa_rules_config *rules;
    struct ahpa_provider *provider;
    char dir[64];
    struct ahpa_controller *c;
};

static void setup(struct fixture *f, const char *yaml)
{
    ahpa_httpc_global_init(NULL);
    f->srv = testsrv_start(fake, NULL);
    f->url = testsrv_url(f->srv, "");
    struct ahpa_prom_options po = {.url = f->url, .timeout_ms = 5000};
    f->prom = ahpa_prom_client_new(&po, NULL);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_rules_parse(rules_yaml, strlen(rules_yaml), &f->rules, &err), 0);
    struct ahpa_provider_options pv = {.prom = f->prom, .rules = f->rules};
    f->provider = ahpa_provider_new(&pv, &err);
    ck_assert_ptr_nonnull(f->provider);
    ck_assert_int_eq(ahpa_provider_relist(f->provider, &err), 0);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ahpa-metrics-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/ahpa.yaml", f->dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(yaml, fp);
    fclose(fp);
    /* One day of history keeps the test short; the plans asked for
     * (reactive) do not need a season. */
    struct ahpa_controller_options opt = {.prom = f->prom, .ahpa_dir = f->dir,
                                          .history_s = 86400, .timezone_name = "UTC",
                                          .provider = f->provider};
    f->c = ahpa_controller_new(&opt, &err);
    ck_assert_ptr_nonnull(f->c);
}

static void teardown(struct fixture *f)
{
    ahpa_controller_free(f->c);
    ahpa_provider_free(f->provider);
    ahpa_rules_free(f->rules);
    ahpa_prom_client_free(f->prom);
    testsrv_stop(f->srv);
    free(f->url);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The HPA's count for usage U and target T at 4 current pods (tolerance
 * 0.1), within 1..100. */
static int hpa_count(double u, double target)
{
    double ratio = u / (target * 4);
    int n = fabs(ratio - 1) <= 0.1 ? 4 : (int)ceil(u / target);
    return n < 1 ? 1 : n > 100 ? 100 : n;
}

/* --- pure parts ------------------------------------------------------------ */

static struct ahpa_obj *parse_one(const char *metrics)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_doc(&b, "x", "reactive", metrics);
    struct ahpa_obj **objs = NULL;
    char **errs = NULL;
    size_t n = 0, ne = 0;
    ck_assert_int_eq(ahpa_obj_parse_yaml(ahpa_buf_cstr(&b), strlen(ahpa_buf_cstr(&b)), NULL,
                                         NULL, &objs, &n, &errs, &ne, NULL), 0);
    ck_assert_msg(n == 1, "%s", ne ? errs[0] : "no object");
    struct ahpa_obj *o = objs[0];
    free(objs);
    ahpa_obj_errs_free(errs, ne);
    ahpa_buf_dispose(&b);
    return o;
}

START_TEST(utilisation_maths)
{
    struct ahpa_obj *o = parse_one(CPU(60) MEM_AVG QUEUE("Value", "value", "40")
                                       QUEUE_OTHER("AverageValue", "averageValue", "10"));
    const struct ahpa_obj_metric *cpu = &o->metrics[0], *mem = &o->metrics[1],
                                 *val = &o->metrics[2], *avg = &o->metrics[3];
    /* 1.5 cores over pods requesting 0.5 each: 300 % of one pod's request,
     * i.e. 3 pods at 100 %; at 60 % the HPA wants ceil(300 / 60) = 5. */
    ck_assert(ahpa_controller__metric_needs_requests(cpu));
    ck_assert_double_eq_tol(ahpa_controller__metric_usage(cpu, 1.5, 0.5, NAN), 300, 1e-9);
    ck_assert_int_eq((int)ceil(ahpa_controller__metric_usage(cpu, 1.5, 0.5, NAN) / 60), 5);
    /* The HPA's way: 4 pods, sum of requests 2, utilisation 75 %:
     * ceil(4 x 75 / 60) = 5, the same. */
    ck_assert_int_eq((int)ceil(4 * (1.5 / 2.0 * 100) / 60), 5);
    /* Unknown requests or value: unknown, never 0. */
    ck_assert(isnan(ahpa_controller__metric_usage(cpu, 1.5, 0, NAN)));
    ck_assert(isnan(ahpa_controller__metric_usage(cpu, 1.5, NAN, 4)));
    ck_assert(isnan(ahpa_controller__metric_usage(cpu, NAN, 0.5, 4)));
    /* memory AverageValue 1Gi: 3.5 GiB over the pods -> U = bytes, 4 pods. */
    ck_assert(!ahpa_controller__metric_needs_requests(mem));
    ck_assert_double_eq(mem->target, GIB);
    ck_assert_int_eq((int)ceil(ahpa_controller__metric_usage(mem, 3.5 * GIB, NAN, NAN) /
                               mem->target), 4);
    /* External Value 40 at 30 with 4 pods: ceil(4 x 30 / 40) = 3. */
    ck_assert(ahpa_controller__metric_needs_replicas(val));
    ck_assert_double_eq_tol(ahpa_controller__metric_usage(val, 30, NAN, 4), 120, 1e-9);
    ck_assert_int_eq((int)ceil(ahpa_controller__metric_usage(val, 30, NAN, 4) / val->target), 3);
    ck_assert(isnan(ahpa_controller__metric_usage(val, 30, NAN, NAN)));
    /* External AverageValue 10 at 45: ceil(45 / 10) = 5 pods. */
    ck_assert(!ahpa_controller__metric_needs_replicas(avg));
    ck_assert_double_eq(ahpa_controller__metric_usage(avg, 45, NAN, NAN), 45);
    /* Identities tell metrics apart by name, target type and selector. */
    struct ahpa_buf a, b;
    ahpa_buf_init(&a);
    ahpa_buf_init(&b);
    ahpa_controller__metric_identity(val, &a);
    ahpa_controller__metric_identity(avg, &b);
    ck_assert_str_eq(ahpa_buf_cstr(&a), "External/queue_depth/Value/queue=jobs");
    ck_assert_str_ne(ahpa_buf_cstr(&a), ahpa_buf_cstr(&b));
    ahpa_buf_dispose(&a);
    ahpa_buf_dispose(&b);
    ahpa_obj_free(o);
}
END_TEST

START_TEST(queries_are_rendered)
{
    struct fixture f;
    setup(&f, "");
    struct ahpa_obj *o = parse_one(CPU(60) MEM_AVG QUEUE("Value", "value", "40") MISSING);
    struct ahpa_buf v, r;
    ahpa_buf_init(&v);
    ahpa_buf_init(&r);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_controller__metric_queries(f.c, o, &o->metrics[0], &v, &r, &err), 0);
    ck_assert_str_eq(ahpa_buf_cstr(&v),
                     "sum(rate(container_cpu_usage_seconds_total{namespace=\"default\","
                     "pod=~\"web-[a-z0-9]+-[a-z0-9]+\",container!=\"\",container!=\"POD\"}[5m]))");
    ck_assert_str_eq(ahpa_buf_cstr(&r),
                     "avg(sum by (pod) (kube_pod_container_resource_requests{namespace="
                     "\"default\",pod=~\"web-[a-z0-9]+-[a-z0-9]+\",resource=\"cpu\","
                     "container!=\"\"}))");
    /* AverageValue needs no requests; a StatefulSet's pods are name-N. */
    ahpa_buf_reset(&v);
    ahpa_buf_reset(&r);
    free(o->target_kind);
    o->target_kind = strdup("StatefulSet");
    ck_assert_int_eq(ahpa_controller__metric_queries(f.c, o, &o->metrics[1], &v, &r, &err), 0);
    ck_assert_str_eq(ahpa_buf_cstr(&v),
                     "sum(container_memory_working_set_bytes{namespace=\"default\","
                     "pod=~\"web-[0-9]+\",container!=\"\",container!=\"POD\"})");
    ck_assert_str_eq(ahpa_buf_cstr(&r), "");
    /* External: the rule's metricsQuery with the selector and the
     * namespace, summed as the HPA sums the items. */
    ahpa_buf_reset(&v);
    ck_assert_int_eq(ahpa_controller__metric_queries(f.c, o, &o->metrics[2], &v, &r, &err), 0);
    ck_assert_str_eq(ahpa_buf_cstr(&v),
                     "sum(sum(queue_depth{queue=\"jobs\",namespace=\"default\"}) by ())");
    ahpa_buf_reset(&v);
    ck_assert_int_eq(ahpa_controller__metric_queries(f.c, o, &o->metrics[3], &v, &r, &err),
                     -AHPA_ENOTFOUND);
    ck_assert(strstr(err.msg, "not_a_metric") != NULL);
    ahpa_buf_dispose(&v);
    ahpa_buf_dispose(&r);
    ahpa_obj_free(o);
    teardown(&f);
}
END_TEST

START_TEST(templates_from_options)
{
    struct fixture f;
    setup(&f, "");
    struct ahpa_controller_options opt = {
        .prom = f.prom, .ahpa_dir = f.dir, .history_s = 86400,
        .cpu_usage_query = "sum(my_cpu{ns=\"<<.Namespace>>\",app=\"<<.Name>>\"})",
        .cpu_requests_query = "my_req{app=\"<<.Name>>\"}"};
    struct ahpa_controller *c = ahpa_controller_new(&opt, NULL);
    struct ahpa_obj *o = parse_one(CPU(60) QUEUE("Value", "value", "40"));
    struct ahpa_buf v, r;
    ahpa_buf_init(&v);
    ahpa_buf_init(&r);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_controller__metric_queries(c, o, &o->metrics[0], &v, &r, &err), 0);
    ck_assert_str_eq(ahpa_buf_cstr(&v), "sum(my_cpu{ns=\"default\",app=\"web\"})");
    ck_assert_str_eq(ahpa_buf_cstr(&r), "my_req{app=\"web\"}");
    /* No provider: External metrics are unknown, with the reason. */
    ck_assert_int_eq(ahpa_controller__metric_queries(c, o, &o->metrics[1], &v, &r, &err),
                     -AHPA_EUNAVAIL);
    ahpa_buf_dispose(&v);
    ahpa_buf_dispose(&r);
    ahpa_obj_free(o);
    ahpa_controller_free(c);
    teardown(&f);
}
END_TEST

/* --- plans against the canned Prometheus ------------------------------------ */

static const struct ahpa_controller_plan *find(struct ahpa_controller_snapshot *s,
                                               const char *name)
{
    const struct ahpa_controller_plan *p = ahpa_controller_snapshot_find(s, "default", name);
    ck_assert_msg(p != NULL, "no plan for %s", name);
    return p;
}

static void assert_planned(const struct ahpa_controller_plan *p, int want)
{
    ck_assert_msg(p->planned, "%s: %s", p->name, p->error);
    ck_assert_msg(p->plan.final == want, "%s: planned %d, want %d (%s; %s)", p->name,
                  (int)p->plan.final, want, p->plan.text, p->metrics_text);
}

START_TEST(each_metric_type_is_planned)
{
    struct ahpa_buf y;
    ahpa_buf_init(&y);
    ahpa_doc(&y, "cpu", "reactive", CPU(50));
    ahpa_doc(&y, "memory", "reactive", MEM_AVG);
    ahpa_doc(&y, "queue-avg", "reactive", QUEUE("AverageValue", "averageValue", "10"));
    ahpa_doc(&y, "queue-value", "reactive", QUEUE("Value", "value", "40"));
    ahpa_doc(&y, "cpu-memory", "reactive", CPU(50) MEM_AVG);
    ahpa_doc(&y, "cpu-auto", "auto", CPU(50));
    struct fixture f;
    setup(&f, ahpa_buf_cstr(&y));
    ahpa_buf_dispose(&y);
    /* 04:00 UTC: phase sin(pi/3) = 0.866. cpu 2.866 cores over 0.5 per
     * pod: U = 573 %, 50 % target -> 12 pods; memory 3.866 GiB at 1Gi
     * per pod -> 4 pods; queue 75.98 at 10 per pod -> 8 pods; as a Value
     * of 40 at 4 pods: ratio 1.9 -> ceil(4 x 75.98 / 40) = 8 pods. */
    const int64_t now = 1795824000 + 4 * 3600;
    const double t = (double)(now - now % 60);
    ck_assert_int_eq(ahpa_controller_cycle(f.c, now, NULL), 6);
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    int want_cpu = hpa_count(100 * cpu_at(t) / 0.5, 50);
    int want_mem = hpa_count(mem_at(t), GIB);
    ck_assert_int_eq(want_cpu, 12);
    ck_assert_int_eq(want_mem, 4);
    assert_planned(find(s, "cpu"), want_cpu);
    ck_assert_str_eq(find(s, "cpu")->metric, "cpu");
    ck_assert_double_eq_tol(find(s, "cpu")->current_utilization, 100 * cpu_at(t) / 0.5 / 4,
                            1e-6);
    assert_planned(find(s, "memory"), want_mem);
    assert_planned(find(s, "queue-avg"), hpa_count(queue_at(t), 10));
    ck_assert_int_eq(hpa_count(queue_at(t), 10), 8);
    assert_planned(find(s, "queue-value"), hpa_count(4 * queue_at(t), 40));
    ck_assert_int_eq(hpa_count(4 * queue_at(t), 40), 8);
    /* The external query carried the selector and the namespace. */
    ck_assert(strstr(last_external, "queue=\"jobs\"") != NULL);
    ck_assert(strstr(last_external, "namespace=\"default\"") != NULL);
    /* Two metrics: the larger (cpu, 12) drives; both are listed. */
    const struct ahpa_controller_plan *two = find(s, "cpu-memory");
    assert_planned(two, want_cpu);
    ck_assert_str_eq(two->metric, "cpu");
    ck_assert_uint_eq(two->nmetrics, 2);
    ck_assert_msg(strstr(two->metrics_text, "cpu: 12 pods (drove the plan)") &&
                      strstr(two->metrics_text, "memory: 4 pods"),
                  "%s", two->metrics_text);
    /* Auto from a forecast of the cpu history: a plan, and its forecast
     * peak within what the history holds (U 200..600 %, with margin). */
    const struct ahpa_controller_plan *a = find(s, "cpu-auto");
    ck_assert_msg(a->planned, "%s", a->error);
    ck_assert_msg(a->predicted_peak > 150 && a->predicted_peak < 800, "peak %g",
                  a->predicted_peak);
    ck_assert_int_ge(a->plan.final, 4);
    ck_assert_int_le(a->plan.final, 16);
    ahpa_controller_snapshot_release(s);
    /* The page names the driving metric and the others. */
    struct ahpa_buf page;
    ahpa_buf_init(&page);
    ck_assert_int_eq(ahpa_controller_render(f.c, "default", "cpu-memory", &page, NULL), 0);
    ck_assert(strstr(ahpa_buf_cstr(&page), "cpu (cpu: 12 pods (drove the plan); memory: 4 pods)"));
    ahpa_buf_dispose(&page);
    teardown(&f);
}
END_TEST

START_TEST(unknown_metric_follows_the_hpa_rule)
{
    struct ahpa_buf y;
    ahpa_buf_init(&y);
    /* cpu asks 12 pods at 50 % (above the 4 running), 6 at 100 %, 2 at
     * 300 %; memory asks 4 (AverageValue 1Gi). */
    ahpa_doc(&y, "up", "reactive", CPU(50) MISSING);
    ahpa_doc(&y, "down", "reactive", CPU(300) MISSING);
    ahpa_doc(&y, "none", "reactive", MISSING);
    ahpa_doc_for(&y, "no-requests", "reactive", CPU(50) MEM_AVG, "api");
    struct fixture f;
    setup(&f, ahpa_buf_cstr(&y));
    ahpa_buf_dispose(&y);
    const int64_t now = 1795824000 + 4 * 3600;
    ck_assert_int_eq(ahpa_controller_cycle(f.c, now, NULL), 4);
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    /* A scale-up on the known metrics goes ahead. */
    assert_planned(find(s, "up"), 12);
    ck_assert(strstr(find(s, "up")->metrics_text, "not_a_metric: unknown (") != NULL);
    /* A scale-down on partial data does not: no plan, and why. */
    const struct ahpa_controller_plan *d = find(s, "down");
    ck_assert(!d->planned);
    ck_assert_msg(strstr(d->error, "not_a_metric: ") && strstr(d->error, "scale down to 2 pods"),
                  "%s", d->error);
    ck_assert_int_eq(d->cause, AHPA_CONTROLLER_TARGET_NOT_FOUND);
    const struct ahpa_controller_plan *n = find(s, "none");
    ck_assert(!n->planned);
    ck_assert(strstr(n->error, "could not find the external metric not_a_metric") != NULL);
    /* cpu without requests is unknown (not 0 %): memory alone asks 4 = the
     * current count, which is no scale-down, so it is published. */
    const struct ahpa_controller_plan *q = find(s, "no-requests");
    assert_planned(q, 4);
    ck_assert_str_eq(q->metric, "memory");
    ck_assert_msg(strstr(q->metrics_text, "cpu: unknown (no cpu requests for Deployment/api"),
                  "%s", q->metrics_text);
    ahpa_controller_snapshot_release(s);
    teardown(&f);
}
END_TEST

START_TEST(redefined_metrics_keep_their_history)
{
    struct ahpa_buf y;
    ahpa_buf_init(&y);
    ahpa_doc(&y, "web", "reactive", CPU(50) MEM_AVG);
    struct fixture f;
    setup(&f, ahpa_buf_cstr(&y));
    const int64_t now = 1795824000 + 4 * 3600;
    ck_assert_int_eq(ahpa_controller_cycle(f.c, now, NULL), 1);
    struct ahpa_controller__workload *w = f.c->workloads[0];
    ck_assert_uint_eq(w->nms, 2);
    ck_assert_uint_gt(w->ms[0].usage.n, 1000);
    const void *cpu_model = w->ms[0].model;
    ck_assert_ptr_nonnull(cpu_model);
    /* memory dropped, cpu's target changed, an External added: cpu keeps
     * its history, the new metric starts its own. */
    ahpa_buf_reset(&y);
    ahpa_doc(&y, "web", "reactive", QUEUE("AverageValue", "averageValue", "10") CPU(100));
    char path[128];
    snprintf(path, sizeof(path), "%s/ahpa.yaml", f.dir);
    FILE *fp = fopen(path, "w");
    fputs(ahpa_buf_cstr(&y), fp);
    fclose(fp);
    ahpa_buf_dispose(&y);
    sleep(1); /* a new mtime */
    ck_assert_int_eq(ahpa_controller_cycle(f.c, now + 60, NULL), 1);
    w = f.c->workloads[0];
    ck_assert_uint_eq(w->nms, 2);
    ck_assert_str_eq(w->ms[1].name, "cpu");
    ck_assert_ptr_eq(w->ms[1].model, cpu_model); /* the same state, moved */
    ck_assert_double_eq(w->ms[1].target, 100);
    ck_assert_str_eq(w->ms[0].name, "queue_depth");
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    const double t = (double)(now + 60 - (now + 60) % 60);
    int want = hpa_count(100 * cpu_at(t) / 0.5, 100);
    int q = hpa_count(queue_at(t), 10);
    assert_planned(find(s, "web"), want > q ? want : q);
    ahpa_controller_snapshot_release(s);
    teardown(&f);
}
END_TEST

/* The several-metrics rule on hand-made outcomes. */
static void outcome(struct ahpa_controller__mres *r, int pods)
{
    memset(r, 0, sizeof(*r));
    r->usage = r->current_utilization = r->predicted_peak = NAN;
    if (pods < 0) {
        r->cause = AHPA_CONTROLLER_NO_CURRENT_DATA;
        snprintf(r->error, sizeof(r->error), "no current data");
    } else {
        r->planned = true;
        r->plan.final = pods;
    }
}

static size_t combine(const int *pods, size_t n, int32_t replicas,
                      struct ahpa_controller_plan *p, char *error)
{
    static struct ahpa_controller__mstate ms[3];
    static char *names[3] = {"a", "b", "c"};
    struct ahpa_controller__mres r[3];
    for (size_t i = 0; i < n; i++) {
        ms[i].name = names[i];
        ms[i].target = 10.0 * (double)(i + 1);
        outcome(&r[i], pods[i]);
    }
    memset(p, 0, sizeof(*p));
    p->replicas = replicas;
    p->replicas_known = true;
    error[0] = '\0';
    return ahpa_controller__metrics_combine(ms, r, n, p, error, 256);
}

START_TEST(several_metrics_rule)
{
    struct ahpa_controller_plan p;
    char error[256];
    /* The largest; on a tie the first. */
    ck_assert_uint_eq(combine((int[]){5, 7}, 2, 6, &p, error), 1);
    ck_assert(p.planned);
    ck_assert_int_eq(p.plan.final, 7);
    ck_assert_str_eq(p.metric, "b");
    ck_assert_double_eq(p.target, 20);
    ck_assert_uint_eq(combine((int[]){5, 5}, 2, 6, &p, error), 0);
    ck_assert_str_eq(p.metric, "a");
    /* One unknown: a scale-up (or holding) goes ahead, a scale-down not. */
    combine((int[]){8, -1}, 2, 4, &p, error);
    ck_assert(p.planned);
    ck_assert_int_eq(p.plan.final, 8);
    combine((int[]){4, -1}, 2, 4, &p, error);
    ck_assert(p.planned);
    combine((int[]){-1, 3, 2}, 3, 4, &p, error);
    ck_assert(!p.planned);
    ck_assert_int_eq(p.cause, AHPA_CONTROLLER_NO_CURRENT_DATA);
    ck_assert_str_eq(error, "a: no current data; the other metrics would scale down to 3 pods, "
                            "which is not done on partial data");
    /* None known: the first reason; one metric: its reason as it is. */
    combine((int[]){-1, -1}, 2, 4, &p, error);
    ck_assert(!p.planned);
    ck_assert_str_eq(error, "a: no current data");
    combine((int[]){-1}, 1, 4, &p, error);
    ck_assert_str_eq(error, "no current data");
    /* The list: every metric, the driving one marked; "" for one metric. */
    static struct ahpa_controller__mstate ms[2] = {{.name = "cpu"}, {.name = "qps"}};
    struct ahpa_controller__mres r[2];
    outcome(&r[0], 5);
    outcome(&r[1], -1);
    char *text = ahpa_controller__metrics_text(ms, r, 2, 0, true);
    ck_assert_str_eq(text, "cpu: 5 pods (drove the plan); qps: unknown (no current data)");
    free(text);
    text = ahpa_controller__metrics_text(ms, r, 1, 0, true);
    ck_assert_str_eq(text, "");
    free(text);
}
END_TEST

START_TEST(status_names_the_driving_metric)
{
    struct ahpa_controller_plan p;
    memset(&p, 0, sizeof(p));
    p.strategy = "reactive";
    p.planned = true;
    p.plan.final = 11;
    p.plan.proactive = -1;
    p.plan.reactive = 11;
    p.min_in_force = 1;
    p.max_in_force = 50;
    p.metric = "memory";
    p.current_utilization = NAN;
    p.nmetrics = 2;
    json_t *st = ahpa_controller__status_for_plan(&p, NULL, 1795824000);
    json_t *ready = json_array_get(json_object_get(st, "conditions"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(ready, "message")),
                     "reactive plan: 11 pods (proactive -1, reactive 11; limits 1..50); "
                     "driven by memory");
    json_decref(st);
    /* One metric: the message as before. */
    p.nmetrics = 1;
    st = ahpa_controller__status_for_plan(&p, NULL, 1795824000);
    ready = json_array_get(json_object_get(st, "conditions"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(ready, "message")),
                     "reactive plan: 11 pods (proactive -1, reactive 11; limits 1..50)");
    json_decref(st);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("controller_metrics");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, utilisation_maths);
    tcase_add_test(tc, queries_are_rendered);
    tcase_add_test(tc, templates_from_options);
    tcase_add_test(tc, each_metric_type_is_planned);
    tcase_add_test(tc, unknown_metric_follows_the_hpa_rule);
    tcase_add_test(tc, redefined_metrics_keep_their_history);
    tcase_add_test(tc, status_names_the_driving_metric);
    tcase_add_test(tc, several_metrics_rule);
    suite_add_tcase(s, tc);
    return s;
}
