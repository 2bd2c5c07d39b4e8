/* Internal to lib/controller: the metrics of an AHPA, which Prometheus
 * series each one reads and how a sample becomes the planner's usage U
 * (planned replicas = ceil(U / target), as the HPA computes them).
 *
 * | metric                         | U at a step                                  | target   |
 * |--------------------------------|----------------------------------------------|----------|
 * | Resource gpu (any target)      | the usage query: sum over pods of percent    | as given |
 * | Resource cpu/memory Utilization| 100 x usage / (requests per pod)             | percent  |
 * | Resource cpu/memory AverageValue| usage (cores, bytes) summed over the pods   | per pod  |
 * | External AverageValue          | the value (sum of the series)                | per pod  |
 * | External Value                 | the value x the replicas at that step        | total    |
 *
 * With U so defined, U / replicas is the per-pod figure the HPA compares
 * with its target (utilisation in percent, average value), and
 * ceil(U / target) is the HPA's desired count:
 *   Utilization: ceil(pods x (sum usage / sum requests x 100) / target)
 *                = ceil(100 x sum usage / (requests per pod) / target);
 *   External Value: ceil(replicas x value / target).
 * A sample whose inputs are unknown (NaN, missing, requests <= 0) is NaN:
 * unknown, never zero. Pure functions, no locks. */
#ifndef AHPA_CONTROLLER_METRIC_H
#define AHPA_CONTROLLER_METRIC_H

#include <stdbool.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/controller.h"
#include "ahpa/planner.h"

struct ahpa_buf;
struct ahpa_controller;
struct ahpa_controller__mstate;
struct ahpa_error;

enum ahpa_controller__mkind {
    AHPA_CONTROLLER__M_GPU,
    AHPA_CONTROLLER__M_CPU,
    AHPA_CONTROLLER__M_MEMORY,
    AHPA_CONTROLLER__M_EXTERNAL,
};

/* Query templates of cpu and memory, index into struct ahpa_controller.mq. */
enum ahpa_controller__mq {
    AHPA_CONTROLLER__MQ_CPU_USAGE,
    AHPA_CONTROLLER__MQ_CPU_REQUESTS,
    AHPA_CONTROLLER__MQ_MEMORY_USAGE,
    AHPA_CONTROLLER__MQ_MEMORY_REQUESTS,
    AHPA_CONTROLLER__MQ_COUNT,
};

/* The default template of `q` for a Deployment-like target (pods
 * <name>-<hash>-<suffix>) or, sts true, a StatefulSet (<name>-<ordinal>). */
const char *ahpa_controller__mq_default(enum ahpa_controller__mq q, bool sts);
/* The default template of `q` for any other kind in cluster mode with the
 * pod cache: the pods the target's status.selector selects (<<.Pods>>). */
const char *ahpa_controller__mq_default_pods(enum ahpa_controller__mq q);

enum ahpa_controller__mkind ahpa_controller__metric_kind(const struct ahpa_obj_metric *m);

/* What the messages call the metric's series: "GPU usage", "cpu usage",
 * "memory usage", "external metric <name>" (into out, n bytes). */
void ahpa_controller__metric_noun(const struct ahpa_obj_metric *m, char *out, size_t n);

/* The identity of a metric's history: type, name, target type and
 * selector (not the target value, which does not change U). Appended. */
void ahpa_controller__metric_identity(const struct ahpa_obj_metric *m, struct ahpa_buf *out);

/* Whether U needs the pods' requests (cpu or memory Utilization). */
bool ahpa_controller__metric_needs_requests(const struct ahpa_obj_metric *m);
/* Whether U needs the replicas at the step (External Value). */
bool ahpa_controller__metric_needs_replicas(const struct ahpa_obj_metric *m);

/* U from one step's value, requests per pod (used only when
 * needs_requests) and replicas (used only when needs_replicas); NaN when
 * an input it needs is not finite, requests are <= 0 or replicas < 0. */
double ahpa_controller__metric_usage(const struct ahpa_obj_metric *m, double value,
                                     double requests_per_pod, double replicas);

/* The PromQL of a metric for the object `o` (namespace, target): its
 * value into `value` and, when needs_requests, its requests per pod into
 * `requests` (both appended). External metrics are rendered by the
 * external metrics API's rules (ahpa_provider_external_promql) and summed,
 * as the HPA sums the items of an external metric: -AHPA_EUNAVAIL without
 * a provider, -AHPA_ENOTFOUND when no rule gives the metric. */
int ahpa_controller__metric_queries(const struct ahpa_controller *c, const struct ahpa_obj *o,
                                    const struct ahpa_obj_metric *m, struct ahpa_buf *value,
                                    struct ahpa_buf *requests, struct ahpa_error *err);
/* The same with "<<.Pods>>" rendered as `pods` (one chunk of the
 * target's pod names, ahpa_controller__pods; NULL: left as written). The
 * template is the target's: a Deployment's or a StatefulSet's (their pods
 * by name pattern, which also matches the pods of earlier rollouts, so the
 * history does not depend on when the adapter started) or, for any other
 * kind with the pod cache, the selected pods'. */
int ahpa_controller__metric_queries_pods(const struct ahpa_controller *c,
                                         const struct ahpa_obj *o,
                                         const struct ahpa_obj_metric *m, const char *pods,
                                         struct ahpa_buf *value, struct ahpa_buf *requests,
                                         struct ahpa_error *err);
/* Whether metric m's value (requests false) or requests template for o's
 * target names <<.Pods>>. */
bool ahpa_controller__metric_uses_pods(const struct ahpa_controller *c, const struct ahpa_obj *o,
                                       const struct ahpa_obj_metric *m, bool requests);

/* --- several metrics ---------------------------------------------------- */

/* One metric's outcome at a cycle (workload.c fills it). */
struct ahpa_controller__mres {
    bool planned;
    enum ahpa_controller_cause cause;
    char error[384];                 /* why there is no plan; "" otherwise */
    double usage, current_utilization, predicted_peak;
    struct ahpa_planner_result plan;
};

/* The plan of an AHPA from its n metrics' outcomes r (ms: their states,
 * for names and targets), as the HPA combines them (README.md "Several
 * metrics"): the largest plan; with a metric unknown only when it is no
 * scale-down from p->replicas; none when no metric is planned. Fills p's
 * metric (borrowed from ms), target, usage, utilisation, peak, planned,
 * plan and cause, and error when there is no plan. Returns the index of
 * the driving metric (0 when none is planned). */
size_t ahpa_controller__metrics_combine(const struct ahpa_controller__mstate *ms,
                                       const struct ahpa_controller__mres *r, size_t n,
                                       struct ahpa_controller_plan *p, char *error,
                                       size_t error_size);

/* "cpu: 5 pods (drove the plan); memory: 3 pods; qps: unknown (...)",
 * heap (caller frees); "" with one metric. */
char *ahpa_controller__metrics_text(const struct ahpa_controller__mstate *ms,
                                    const struct ahpa_controller__mres *r, size_t n,
                                    size_t driving, bool planned);

#endif
