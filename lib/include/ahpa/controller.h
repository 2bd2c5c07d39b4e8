/* The AHPA controller: for every AdvancedHorizontalPodAutoscaler, every
 * prediction interval, read the workload's GPU usage and replicas from
 * Prometheus (history kept in memory and extended incrementally),
 * forecast, plan, and publish the plan.
 *
 * Without a cluster the objects come from YAML files in a directory
 * (re-read when they change; a bad file is reported and skipped, the
 * others keep working) and the current replicas from kube-state-metrics
 * series. Published state is an immutable snapshot swapped atomically:
 * readers (the API handlers, /metrics) never wait on a cycle.
 *
 * Plans are a function of the data and the clock, not of uptime, so that
 * a restart goes unnoticed and several replicas publish one plan:
 *   - cycles run on multiples of the interval of the wall clock;
 *   - the model is refitted on fixed boundaries (every refit_s, shifted
 *     per AHPA by a hash of namespace/name), always on the history window
 *     [boundary - history_s, boundary], and fed the samples after the
 *     boundary up to the settled step (one step behind the newest, which
 *     Prometheus may still be completing): a fresh process fetches back to
 *     the boundary's window and reaches the same state;
 *   - the scale-down stabilisation window is rebuilt from the usage and
 *     replica history at every cycle, not carried from one cycle to the
 *     next.
 * Two processes that see the same Prometheus data publish bit-identical
 * plans at the same cycle time (unit test plans_do_not_depend_on_uptime). */
#ifndef AHPA_CONTROLLER_H
#define AHPA_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahpa/planner.h"

struct ahpa_buf;
struct ahpa_cron_zone;
struct ahpa_error;
struct ahpa_kube_client;
struct ahpa_kube_pods;
struct ahpa_leader;
struct ahpa_prom_client;
struct ahpa_provider;
struct ahpa_controller;

struct ahpa_controller_options {
    struct ahpa_prom_client *prom;    /* borrowed; outlives the controller */
    const char *ahpa_dir;             /* YAML files with AHPA objects */
    const struct ahpa_cron_zone *zone; /* borrowed; NULL = UTC */
    const char *timezone_name;        /* for the report, e.g. "UTC" */
    int64_t interval_ms;              /* 0: 60 s */
    int64_t history_s;                /* 0: 7 days */
    int64_t step_s;                   /* 0: 60 s */
    int64_t refit_s;                  /* 0: 1 hour */
    /* PromQL for the workload's total GPU utilisation (sum over its pods
     * of per-pod percent), with <<.Namespace>> and <<.Name>> (the
     * Deployment); NULL: the DCGM default, whose pod pattern is
     * <name>-<hash>-<suffix>, or <name>-<ordinal> for a StatefulSet. */
    const char *usage_query;
    /* In cluster mode with a pod cache (`pods`), the template may also use
     * <<.Pods>>: the names of the target's pods (selected by its scale
     * subresource's status.selector), as the body of a regex string:
     * pod=~"<<.Pods>>" renders pod=~"a-1|a-2". With `pods` and no
     * usage_query the default for a target that is neither a Deployment
     * nor a StatefulSet is the DCGM query on those names (those two keep
     * their name patterns, which also match earlier rollouts' pods). */
    /* PromQL for its replicas, same placeholders; NULL: kube-state-metrics. */
    const char *replicas_query;
    /* Resource cpu and memory metrics (same placeholders; NULL: the
     * defaults, cAdvisor's container_cpu_usage_seconds_total (rate, cores)
     * and container_memory_working_set_bytes summed over the target's
     * pods, and kube-state-metrics' kube_pod_container_resource_requests
     * per pod averaged over them; see lib/controller/metric.c). The usage
     * queries give the workload's total, the requests queries the request
     * per pod, which Utilization targets are relative to. */
    const char *cpu_usage_query, *cpu_requests_query;
    const char *memory_usage_query, *memory_requests_query;
    /* External metrics are read through the rules of the external
     * metrics API (borrowed; outlives the controller). NULL: External
     * metrics are unknown ("no external metrics rules"). */
    struct ahpa_provider *provider;
    /* Cluster mode (when ahpa_dir is NULL): the objects come from an
     * informer on advancedhorizontalpodautoscalers through this client
     * (borrowed; outlives the controller), and the controller writes their
     * status subresource and Events. See "Cluster mode" below. */
    struct ahpa_kube_client *kube;
    const char *watch_namespace;      /* NULL or "": all namespaces */
    /* Cluster mode: the shared pod cache (borrowed, started by the owner;
     * outlives the controller). NULL: the usage query names pods by the
     * name pattern of the standalone default. */
    struct ahpa_kube_pods *pods;
    /* Cluster mode takes the current replicas from the scale subresource
     * of the scaleTargetRef (status.replicas); true keeps them from
     * replicas_query (for API servers without scale subresources, tests). */
    bool replicas_from_prometheus;
    /* For tests: the informer's watch timeout and backoff (0: defaults). */
    int watch_timeout_s;
    int64_t watch_backoff_ms;
    /* Cluster mode with several replicas: the elector (borrowed; outlives
     * the controller). Every replica plans and publishes (plans are
     * deterministic, so all serve the same ahpa_desired_replicas); only
     * while ahpa_leader_is_leader() is true does this one write to the
     * API (status patches, Events, managed HPAs), checked before each
     * write. NULL: no election, this process acts alone and writes. */
    struct ahpa_leader *leader;
    /* Managed HPAs (strategy auto, proactive, reactive): the
     * behavior.*.tolerance to send (a Quantity, e.g. "0"; borrowed),
     * NULL or "": none (clusters with HPAConfigurableTolerance take it;
     * others drop the field and the HPA's default 10 % applies). */
    const char *mhpa_tolerance;
};

/* Cluster mode.
 *
 * Objects: an informer lists and watches the AHPAs (all namespaces or
 * watch_namespace). Each object is validated with ahpa_obj_from_json when
 * its spec changes (a status write does not count); a valid one is planned
 * exactly as an object from a file is; an invalid one is not planned and
 * gets the status condition Ready=False, reason InvalidSpec, with the
 * validation message, plus one Warning Event per distinct message. A new,
 * changed or deleted object wakes the loop at once: a deleted one leaves
 * the published snapshot (external metrics, observer) right away, a new or
 * changed one is planned right away (the others keep their plans until
 * the next cycle).
 *
 * Status: after every cycle, on the loop thread, for every object whose
 * status would change: a JSON merge patch of the status subresource
 * (observedGeneration, currentMetric (integer percent), desiredReplicas,
 * proactiveReplicas, reactiveReplicas, currentReplicas, minPods, maxPods,
 * lastScaleTime, conditions Ready and AbleToPredict), retried on 409 at
 * most 3 times, through the kube client's limiter, and no longer than the
 * next cycle's start (but at least a quarter of an interval, for a cycle
 * that ran past it); what is left is written after that cycle. Each
 * cycle also reads every target's scale subresource through the same
 * limiter: --kube-api-qps should exceed 2 x AHPAs / interval. Unknown
 * is never zero: a value the controller does not know is removed from the
 * status (the column shows <none>) and the conditions say why. */

struct ahpa_controller *ahpa_controller_new(const struct ahpa_controller_options *opt,
                                            struct ahpa_error *err);
/* Starts the loop thread (first cycle at once). */
int ahpa_controller_start(struct ahpa_controller *c, struct ahpa_error *err);
/* Stops the loop and waits for it. A cycle under way ends after the AHPAs
 * its workers are on (cancel the Prometheus client first to cut those
 * short); its unfinished plans are not published (the cycle returns
 * -AHPA_EUNAVAIL). */
void ahpa_controller_stop(struct ahpa_controller *c);
void ahpa_controller_free(struct ahpa_controller *c);

/* One cycle at now_s (re-reads changed files, fetches, forecasts, plans,
 * publishes). Returns the number of AHPAs planned. For tests and
 * benchmarks; the loop thread calls it every interval. Not to be called
 * concurrently with itself or with a started loop; readers (snapshot,
 * render, collect) may run on any thread meanwhile. */
int ahpa_controller_cycle(struct ahpa_controller *c, int64_t now_s, struct ahpa_error *err);
/* What the loop does when an informer callback wakes it (cluster mode):
 * re-reads the objects, plans only the new and redefined ones (the others
 * keep their published plans, deleted ones leave), publishes, writes the
 * statuses. Same contract as ahpa_controller_cycle otherwise. In cluster
 * mode both start the informer if needed and wait up to 10 s for its
 * first list (-AHPA_EUNAVAIL without it). */
int ahpa_controller_refresh(struct ahpa_controller *c, int64_t now_s, struct ahpa_error *err);

/* --- published state ------------------------------------------------------- */

/* When a plan is published. Unknown is never zero: a metric has a plan
 * only when, at the cycle time now, (its "usage" being the U of
 * lib/controller/metric.h: GPU usage, cpu or memory, an external metric)
 *   - the workload's GPU usage has a sample no older than two intervals
 *     plus a step ("no GPU usage for Deployment/x in Prometheus",
 *     "no current GPU usage for Deployment/x since <time>");
 *   - its replicas have such a sample too and it is a whole number in
 *     0..AHPA_CONTROLLER_MAX_REPLICAS, checked before any conversion
 *     ("replicas unknown: ...");
 *   - at least half of the last max(scaleUpForward / step,
 *     AHPA_CONTROLLER_MIN_RECENT_STEPS) steps of usage are present, so a
 *     long gap or NaN stretch at the end is unknown, not ~0
 *     ("recent history missing: ...");
 *   - in cluster mode with the pod cache, the target's pods are known:
 *     its scale subresource has a status.selector, the pod informer has
 *     listed, the selector selects at least one pod, and they fit the
 *     bounded usage queries ("pods unknown: ...", cause PODS_UNKNOWN);
 *   - for every strategy but reactive, the forecast over
 *     [now, now + scaleUpForward] exists and is finite
 *     ("forecast unavailable: ...").
 * Otherwise `planned` is false and `error` says why; the external
 * metrics carry no item for the AHPA, /metrics no planned-replica gauge,
 * and the log says the reason once each time it changes.
 * With several metrics the AHPA's plan is the largest of its metrics';
 * with one of them unknown, only when that largest plan is no scale-down
 * (the HPA's rule); otherwise none (lib/controller/README.md). */
#define AHPA_CONTROLLER_MAX_REPLICAS 100000
#define AHPA_CONTROLLER_MIN_RECENT_STEPS 5

/* Why a plan is missing (AHPA_CONTROLLER_PLANNED when it is not). The
 * status conditions' reasons are their names (ahpa_controller_cause_name). */
enum ahpa_controller_cause {
    AHPA_CONTROLLER_PLANNED,
    AHPA_CONTROLLER_UNSUPPORTED,            /* bad names; External without rules */
    AHPA_CONTROLLER_PROMETHEUS_UNREACHABLE, /* a query failed */
    AHPA_CONTROLLER_TARGET_NOT_FOUND,       /* no usage or replica series at all */
    AHPA_CONTROLLER_NO_CURRENT_DATA,        /* stale usage, recent history missing */
    AHPA_CONTROLLER_REPLICAS_UNKNOWN,       /* stale or broken replica series */
    AHPA_CONTROLLER_NO_HISTORY,             /* no model yet */
    AHPA_CONTROLLER_FORECAST_UNAVAILABLE,   /* a model, but no finite forecast */
    AHPA_CONTROLLER_PLANNING_FAILED,
    AHPA_CONTROLLER_PODS_UNKNOWN,           /* cluster mode: the target's pods not known */
};

/* "Planned", "Unsupported", "PrometheusUnreachable", "TargetNotFound",
 * "NoCurrentData", "ReplicasUnknown", "NoHistory", "ForecastUnavailable",
 * "PlanningFailed", "PodsUnknown". */
const char *ahpa_controller_cause_name(enum ahpa_controller_cause c);

/* One AHPA's latest plan. Strings are owned by the snapshot; a snapshot
 * holds at most one plan per namespace/name (the first file defining it
 * wins, the others are listed in the snapshot's errors). */
struct ahpa_controller_plan {
    const char *ns, *name, *strategy, *target_ref, *metric, *source;
    double target;             /* percent per pod (Utilization) or base units */
    double quantile;
    int64_t scale_up_forward_s;
    int64_t t_s;               /* when the plan was made; 0: never */
    double usage;              /* current total usage; NaN unknown */
    double current_utilization; /* per pod average; NaN unknown */
    double predicted_peak;     /* highest forecast over [t, t+F]; NaN none */
    int32_t replicas;          /* current; 0 unless replicas_known */
    bool replicas_known;
    /* The object's metadata.creationTimestamp when it has one
     * (created_from_object), else the time of the first cycle that saw it. */
    int64_t created_s;
    bool created_from_object;
    struct ahpa_planner_result plan;
    bool planned;              /* false: see error */
    const char *error;         /* why there is no plan; "" otherwise */
    double coverage, pinball;  /* forecast error so far; NaN unknown */
    size_t history_steps;
    enum ahpa_controller_cause cause; /* PLANNED iff planned */
    /* Limits in force at t_s (spec min/maxReplicas and the instanceBounds
     * in force, as the planner combines them), known even without a plan. */
    int32_t min_in_force, max_in_force;
    /* Last change of the observed replica count in the history; 0: none seen. */
    int64_t last_scale_s;
    bool model_fitted;         /* a forecast model has been fitted */
    bool seasonal;             /* it found a season (period_s) */
    double period_s;
    int64_t generation;        /* the object's metadata.generation; 0 unknown */
    /* Several metrics: each is planned on its own history and model; the
     * plan is the largest (the driving metric is `metric`, the fields
     * above are its), as the HPA does. One line per metric, e.g.
     * "cpu: 5 pods (drove the plan); memory: 3 pods; External qps: unknown
     * (no current ...)". "" with one metric. */
    size_t nmetrics;
    const char *metrics_text;
};

struct ahpa_controller_snapshot;

/* A reference to the current snapshot (never NULL); release it. */
struct ahpa_controller_snapshot *ahpa_controller_snapshot(struct ahpa_controller *c);
void ahpa_controller_snapshot_release(struct ahpa_controller_snapshot *s);
size_t ahpa_controller_snapshot_count(const struct ahpa_controller_snapshot *s);
const struct ahpa_controller_plan *
ahpa_controller_snapshot_at(const struct ahpa_controller_snapshot *s, size_t i);
const struct ahpa_controller_plan *
ahpa_controller_snapshot_find(const struct ahpa_controller_snapshot *s, const char *ns,
                              const char *name);
/* Files and objects that could not be used, with the reason
 * ("path: message"), including objects skipped as duplicates. */
size_t ahpa_controller_snapshot_errors(const struct ahpa_controller_snapshot *s,
                                       const char *const **errors);

/* Renders the predictionsobserver HTML page of one AHPA into `out`.
 * -AHPA_ENOTFOUND for an unknown one. Takes the AHPA's lock while it
 * reads the history (a few milliseconds); a cycle holds that lock only
 * to merge what it fetched and to refit, never during a Prometheus
 * query. Safe while files are re-read: the workload is reference-counted. */
int ahpa_controller_render(struct ahpa_controller *c, const char *ns, const char *name,
                           struct ahpa_buf *out, struct ahpa_error *err);

/* Appends the per-AHPA gauges (ahpa_proactive_pods, ahpa_reactive_pods,
 * ahpa_requested_pods, ahpa_min_pods, ahpa_max_pods, ahpa_target_metric,
 * ahpa_current_metric, forecast coverage and pinball loss) and the cycle
 * statistics. The planned-replica gauges (proactive, reactive, requested,
 * min, max) appear only for planned AHPAs; current pods and current metric
 * only when known. Fits ahpa_server_add_collector (ctx is the controller). */
void ahpa_controller_collect(void *controller, struct ahpa_buf *out);

#endif
