/* The metrics of an AHPA: their queries and their usage U (metric.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/provider.h"
#include "ahpa/controller.h"
#include "controller_int.h"
#include "metric.h"

/* The pods of a Deployment (<name>-<ReplicaSet hash>-<suffix>) and of a
 * StatefulSet (<name>-<ordinal>), as the GPU default matches them. */
#define PODS_DEPLOYMENT "<<.Name>>-[a-z0-9]+-[a-z0-9]+"
#define PODS_STATEFULSET "<<.Name>>-[0-9]+"
/* Any other kind, in cluster mode: the pods its status.selector selects. */
#define PODS_SELECTED "<<.Pods>>"

/* cAdvisor (kubelet): the containers of the pods, not the pod's sandbox
 * ("POD") nor the pod-level cgroup (container ""). */
#define CONTAINERS(pods) "namespace=\"<<.Namespace>>\",pod=~\"" pods "\",container!=\"\"," \
                         "container!=\"POD\""
#define CPU_USAGE(pods) \
    "sum(rate(container_cpu_usage_seconds_total{" CONTAINERS(pods) "}[5m]))"
#define MEMORY_USAGE(pods) "sum(container_memory_working_set_bytes{" CONTAINERS(pods) "})"
/* kube-state-metrics: the pods' requests, summed per pod, averaged over
 * the pods (= their sum / their number). */
#define REQUESTS(res, pods)                                                           \
    "avg(sum by (pod) (kube_pod_container_resource_requests{namespace=\"<<.Namespace>>\"," \
    "pod=~\"" pods "\",resource=\"" res "\",container!=\"\"}))"

const char *ahpa_controller__mq_default(enum ahpa_controller__mq q, bool sts)
{
    switch (q) {
    case AHPA_CONTROLLER__MQ_CPU_USAGE:
        return sts ? CPU_USAGE(PODS_STATEFULSET) : CPU_USAGE(PODS_DEPLOYMENT);
    case AHPA_CONTROLLER__MQ_CPU_REQUESTS:
        return sts ? REQUESTS("cpu", PODS_STATEFULSET) : REQUESTS("cpu", PODS_DEPLOYMENT);
    case AHPA_CONTROLLER__MQ_MEMORY_USAGE:
        return sts ? MEMORY_USAGE(PODS_STATEFULSET) : MEMORY_USAGE(PODS_DEPLOYMENT);
    case AHPA_CONTROLLER__MQ_MEMORY_REQUESTS:
        return sts ? REQUESTS("memory", PODS_STATEFULSET) : REQUESTS("memory", PODS_DEPLOYMENT);
    default:
        return "";
    }
}

const char *ahpa_controller__mq_default_pods(enum ahpa_controller__mq q)
{
    switch (q) {
    case AHPA_CONTROLLER__MQ_CPU_USAGE:
        return CPU_USAGE(PODS_SELECTED);
    case AHPA_CONTROLLER__MQ_CPU_REQUESTS:
        return REQUESTS("cpu", PODS_SELECTED);
    case AHPA_CONTROLLER__MQ_MEMORY_USAGE:
        return MEMORY_USAGE(PODS_SELECTED);
    case AHPA_CONTROLLER__MQ_MEMORY_REQUESTS:
        return REQUESTS("memory", PODS_SELECTED);
    default:
        return "";
    }
}

enum ahpa_controller__mkind ahpa_controller__metric_kind(const struct ahpa_obj_metric *m)
{
    if (m->type == AHPA_OBJ_METRIC_EXTERNAL)
        return AHPA_CONTROLLER__M_EXTERNAL;
    if (strcmp(m->name, "cpu") == 0)
        return AHPA_CONTROLLER__M_CPU;
    if (strcmp(m->name, "memory") == 0)
        return AHPA_CONTROLLER__M_MEMORY;
    return AHPA_CONTROLLER__M_GPU;
}

void ahpa_controller__metric_noun(const struct ahpa_obj_metric *m, char *out, size_t n)
{
    switch (ahpa_controller__metric_kind(m)) {
    case AHPA_CONTROLLER__M_GPU: snprintf(out, n, "GPU usage"); break;
    case AHPA_CONTROLLER__M_CPU: snprintf(out, n, "cpu usage"); break;
    case AHPA_CONTROLLER__M_MEMORY: snprintf(out, n, "memory usage"); break;
    default: snprintf(out, n, "external metric %s", m->name); break;
    }
}

void ahpa_controller__metric_identity(const struct ahpa_obj_metric *m, struct ahpa_buf *out)
{
    ahpa_buf_printf(out, "%s/%s/%s", ahpa_obj_metric_type_name(m->type), m->name,
                    ahpa_obj_target_type_name(m->target_type));
    if (m->selector != NULL) {
        ahpa_buf_putc(out, '/');
        ahpa_labelsel_canonical(m->selector, out);
    }
}

bool ahpa_controller__metric_needs_requests(const struct ahpa_obj_metric *m)
{
    enum ahpa_controller__mkind k = ahpa_controller__metric_kind(m);
    return (k == AHPA_CONTROLLER__M_CPU || k == AHPA_CONTROLLER__M_MEMORY) &&
           m->target_type == AHPA_OBJ_TARGET_UTILIZATION;
}

bool ahpa_controller__metric_needs_replicas(const struct ahpa_obj_metric *m)
{
    return m->type == AHPA_OBJ_METRIC_EXTERNAL && m->target_type == AHPA_OBJ_TARGET_VALUE;
}

double ahpa_controller__metric_usage(const struct ahpa_obj_metric *m, double value,
                                     double requests_per_pod, double replicas)
{
    if (!isfinite(value))
        return NAN;
    if (ahpa_controller__metric_needs_requests(m)) {
        if (!isfinite(requests_per_pod) || requests_per_pod <= 0)
            return NAN;
        return 100.0 * value / requests_per_pod;
    }
    if (ahpa_controller__metric_needs_replicas(m)) {
        if (!isfinite(replicas) || replicas < 0)
            return NAN;
        return value * replicas;
    }
    return value;
}

/* Which of the controller's template sets fits o's target: 0 a
 * Deployment's (and any kind without the pod cache), 1 a StatefulSet's,
 * 2 the selected pods' (any other kind, cluster mode with the pod cache). */
static int template_set(const struct ahpa_controller *c, const struct ahpa_obj *o)
{
    if (strcmp(o->target_kind, "StatefulSet") == 0)
        return 1;
    if (strcmp(o->target_kind, "Deployment") != 0 && c->usage_query_pods != NULL)
        return 2;
    return 0;
}

/* The value (requests false) or requests template of a non-External
 * metric for o's target. */
static const char *template_of(const struct ahpa_controller *c, const struct ahpa_obj *o,
                               enum ahpa_controller__mkind k, bool requests)
{
    int set = template_set(c, o);
    if (k == AHPA_CONTROLLER__M_GPU)
        return requests ? NULL
               : set == 1 ? c->usage_query_statefulset
               : set == 2 ? c->usage_query_pods
                          : c->usage_query;
    enum ahpa_controller__mq q;
    if (k == AHPA_CONTROLLER__M_CPU)
        q = requests ? AHPA_CONTROLLER__MQ_CPU_REQUESTS : AHPA_CONTROLLER__MQ_CPU_USAGE;
    else
        q = requests ? AHPA_CONTROLLER__MQ_MEMORY_REQUESTS : AHPA_CONTROLLER__MQ_MEMORY_USAGE;
    return set == 1 ? c->mq_sts[q] : set == 2 ? c->mq_pods[q] : c->mq[q];
}

bool ahpa_controller__metric_uses_pods(const struct ahpa_controller *c, const struct ahpa_obj *o,
                                       const struct ahpa_obj_metric *m, bool requests)
{
    enum ahpa_controller__mkind k = ahpa_controller__metric_kind(m);
    if (k == AHPA_CONTROLLER__M_EXTERNAL)
        return false;
    const char *t = template_of(c, o, k, requests);
    return t != NULL && strstr(t, "<<.Pods>>") != NULL;
}

int ahpa_controller__metric_queries(const struct ahpa_controller *c, const struct ahpa_obj *o,
                                    const struct ahpa_obj_metric *m, struct ahpa_buf *value,
                                    struct ahpa_buf *requests, struct ahpa_error *err)
{
    return ahpa_controller__metric_queries_pods(c, o, m, NULL, value, requests, err);
}

int ahpa_controller__metric_queries_pods(const struct ahpa_controller *c,
                                         const struct ahpa_obj *o,
                                         const struct ahpa_obj_metric *m, const char *pods,
                                         struct ahpa_buf *value, struct ahpa_buf *requests,
                                         struct ahpa_error *err)
{
    enum ahpa_controller__mkind k = ahpa_controller__metric_kind(m);
    if (k == AHPA_CONTROLLER__M_EXTERNAL) {
        if (c->opt.provider == NULL)
            return ahpa_error_set(err, AHPA_EUNAVAIL, "external metric %s: no external metrics "
                                  "rules (no Prometheus for the metrics API)", m->name);
        struct ahpa_buf q;
        ahpa_buf_init(&q);
        int rc = ahpa_provider_external_promql(c->opt.provider, o->ns, m->name, m->selector, &q,
                                               err);
        if (rc == 0)
            ahpa_buf_printf(value, "sum(%s)", ahpa_buf_cstr(&q));
        ahpa_buf_dispose(&q);
        return rc;
    }
    ahpa_controller__render_query_pods(template_of(c, o, k, false), o->ns, o->target_name, pods,
                                       value);
    if (ahpa_controller__metric_needs_requests(m))
        ahpa_controller__render_query_pods(template_of(c, o, k, true), o->ns, o->target_name,
                                           pods, requests);
    return 0;
}

/* --- several metrics ------------------------------------------------------- */

/* The plan of an AHPA from its metrics' outcomes, as the HPA combines
 * them (lib/controller/README.md, "Several metrics"): the largest plan
 * of the known metrics; with a metric unknown, only when that plan does
 * not scale down; with none known, none. Returns the
 * driving metric's index (0 when none is planned). */
size_t ahpa_controller__metrics_combine(const struct ahpa_controller__mstate *ms,
                                       const struct ahpa_controller__mres *r, size_t n,
                                       struct ahpa_controller_plan *p, char *error,
                                       size_t error_size)
{
    size_t best = n, unknown = n;
    for (size_t i = 0; i < n; i++) {
        if (r[i].planned && (best == n || r[i].plan.final > r[best].plan.final))
            best = i;
        if (!r[i].planned && unknown == n)
            unknown = i;
    }
    size_t d = best < n ? best : 0;
    p->metric = ms[d].name;
    p->target = ms[d].target;
    p->usage = r[d].usage;
    p->current_utilization = r[d].current_utilization;
    p->predicted_peak = r[d].predicted_peak;
    if (best < n && (unknown == n || r[best].plan.final >= p->replicas)) {
        p->planned = true;
        p->plan = r[best].plan;
        p->cause = AHPA_CONTROLLER_PLANNED;
        return d;
    }
    const struct ahpa_controller__mres *u = &r[unknown];
    p->cause = u->cause;
    if (n == 1)
        snprintf(error, error_size, "%s", u->error);
    else if (best == n)
        snprintf(error, error_size, "%s: %s", ms[unknown].name, u->error);
    else
        snprintf(error, error_size, "%s: %s; the other metrics would scale down to %d pods, "
                 "which is not done on partial data", ms[unknown].name, u->error,
                 (int)r[best].plan.final);
    return d;
}

/* "cpu: 5 pods (drove the plan); memory: 3 pods; qps: unknown (...)",
 * heap; "" with one metric. */
char *ahpa_controller__metrics_text(const struct ahpa_controller__mstate *ms,
                                    const struct ahpa_controller__mres *r, size_t n,
                                    size_t driving, bool planned)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    for (size_t i = 0; n > 1 && i < n; i++) {
        ahpa_buf_printf(&b, "%s%s: ", i ? "; " : "", ms[i].name);
        if (r[i].planned)
            ahpa_buf_printf(&b, "%d pods%s", (int)r[i].plan.final,
                            planned && i == driving ? " (drove the plan)" : "");
        else
            ahpa_buf_printf(&b, "unknown (%s)", r[i].error);
    }
    return ahpa_buf_take(&b, NULL);
}
