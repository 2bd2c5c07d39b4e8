/* AdvancedHorizontalPodAutoscaler objects (autoscaling.alibabacloud.com/
 * v1beta1, short name `ahpa`): parsing and validation from YAML (the
 * --ahpa-dir files) and from JSON (objects read from the API server).
 *
 * Pure: no files, no clock. The caller reads the file and passes its
 * bytes; the zone for startTime/endTime and cron is the caller's too.
 *
 * Accepted shape (seed example fib-gpu; API.md section 10):
 *
 *   apiVersion: autoscaling.alibabacloud.com/v1beta1
 *   kind: AdvancedHorizontalPodAutoscaler
 *   metadata: {name (required), namespace (default "default"), uid,
 *              creationTimestamp (RFC 3339)}
 *   spec:
 *     scaleTargetRef: {apiVersion (default "apps/v1"), kind (required),
 *                      name (required)}                       required
 *     metrics: list, at least one:
 *       - type: Resource
 *         resource: {name: gpu|cpu|memory,
 *                    target: {type: Utilization, averageUtilization: N}
 *                         or {type: AverageValue, averageValue: Q}}
 *       - type: External
 *         external: {metric: {name, selector (LabelSelector, optional)},
 *                    target: {type: Value, value: Q}
 *                         or {type: AverageValue, averageValue: Q}}
 *       Q is a Kubernetes Quantity string ("500m", "2Gi") or a number,
 *       > 0; N an integer percent, 1..100000. At most AHPA_OBJ_MAX_METRICS.
 *       An external metric name may not be "." or ".." nor contain '/'
 *       or '%' (a path segment of external.metrics.k8s.io). One metric
 *       (type, name, selector) may appear once ("spec.metrics[1]: the
 *       same Resource metric cpu as spec.metrics[0]").
 *     minReplicas: integer >= 0, default 1 (0 allowed, as in the seed)
 *     maxReplicas: integer >= 1 and >= minReplicas             required
 *     scaleStrategy: observer | auto | proactive | reactive (any case),
 *                    default observer: the safe choice (publish the plan,
 *                    act on nothing), as the product recommends starting
 *     prediction:
 *       quantile: in (0, 1) a fraction; in (1, 100) a percent (95 ->
 *                 0.95); anything else an error. Default 0.99, the
 *                 default of the prediction service's input as seen in
 *                 public client code (the seed sets 95).
 *       scaleUpForward: seconds (a pod's cold start), integer 0..86400,
 *                 default 180 (same source; also the seed's value)
 *     stabilizationWindowSeconds: integer 0..3600, the top-level
 *                 scale-down cooling time of AHPA examples: the window
 *                 of the planner's stabilised plan (ahpa/planner.h,
 *                 ahpa_planner_policy_plan), proactive and reactive alike
 *     behavior.scaleDown.stabilizationWindowSeconds: the same in the HPA
 *                 v2 shape; when both are given, behavior wins.
 *                 Default 300 (AHPA_PLANNER_STABILIZATION_S).
 *     instanceBounds: list of
 *       {startTime, endTime: "YYYY-MM-DD HH:MM:SS" in `zone`,
 *        bounds: list of {cron (see cron.h), minReplicas, maxReplicas}}
 *       compiled into one ahpa_cron_bounds (window i = instanceBounds[i]).
 *       A bound's minReplicas/maxReplicas may be omitted (AHPA_CRON_UNSET).
 *   status: ignored.
 *
 * Unknown fields are ignored (as a structural CRD schema would prune
 * them), except that a duplicate key in one mapping is an error.
 *
 * YAML: plain scalars follow the YAML 1.2 core schema (null, true/false,
 * integers incl. 0x/0o, floats; "yes"/"on" stay strings); quoted and block
 * scalars are strings unless tagged !!int/!!float/!!bool/!!null. Aliases
 * (and so merge keys), non-string keys, NUL bytes in strings and nesting
 * deeper than AHPA_OBJ_MAX_DEPTH make the document an error. A v1 `List`
 * (as `kubectl get ahpa -o yaml` writes) is read item by item.
 *
 * Every error message starts with "<namespace>/<name>: " when the name is
 * known, then the field path and the reason, e.g.
 *   "default/fib-gpu: spec.instanceBounds[0].bounds[1].cron: hour: value 25 out of range 0-23"
 *   "default/fib-gpu: spec.maxReplicas: required"
 *   "default/fib-gpu: spec.prediction.quantile: 150 is not in (0, 1) or (1, 100)"
 * Errors before the name is known start with "document N: " (1-based,
 * YAML; "document N: items[i]: " inside a List) and name only the field.
 * Messages are one line: control bytes of quoted values become '?', and
 * a message is cut to 480 bytes (ending "..."). */
#ifndef AHPA_AHPAOBJ_H
#define AHPA_AHPAOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahpa/cron.h"
#include "ahpa/planner.h"

struct ahpa_error;
struct ahpa_labelsel;
struct json_t;

#define AHPA_OBJ_API_VERSION "autoscaling.alibabacloud.com/v1beta1"
#define AHPA_OBJ_KIND "AdvancedHorizontalPodAutoscaler"

/* Defaults applied when a field is absent. */
#define AHPA_OBJ_DEFAULT_MIN_REPLICAS 1
#define AHPA_OBJ_DEFAULT_QUANTILE 0.99
#define AHPA_OBJ_DEFAULT_SCALE_UP_FORWARD_S 180
#define AHPA_OBJ_DEFAULT_STRATEGY AHPA_PLANNER_OBSERVER
#define AHPA_OBJ_DEFAULT_STABILIZATION_S AHPA_PLANNER_STABILIZATION_S
#define AHPA_OBJ_DEFAULT_TARGET_API_VERSION "apps/v1"
#define AHPA_OBJ_DEFAULT_NAMESPACE "default"

/* Caps for hostile input. Larger texts fail with -AHPA_ETOOBIG before
 * parsing; the others fail the document (or the object) that crosses
 * them. YAML aliases are refused outright. */
#define AHPA_OBJ_MAX_INPUT (1024 * 1024)  /* bytes of one YAML/JSON text */
#define AHPA_OBJ_MAX_DEPTH 32             /* nested mappings/sequences */
#define AHPA_OBJ_MAX_NODES 100000         /* nodes of one text */
#define AHPA_OBJ_MAX_DOCS 10000           /* documents of one text */
#define AHPA_OBJ_MAX_METRICS 16
#define AHPA_OBJ_MAX_WINDOWS 64           /* instanceBounds entries */
#define AHPA_OBJ_MAX_BOUNDS 256           /* bounds per window */
#define AHPA_OBJ_MAX_REPLICAS 1000000     /* any replica count */
#define AHPA_OBJ_MAX_STABILIZATION_S 3600
#define AHPA_OBJ_MAX_SCALE_UP_FORWARD_S 86400

enum ahpa_obj_metric_type { AHPA_OBJ_METRIC_RESOURCE, AHPA_OBJ_METRIC_EXTERNAL };

enum ahpa_obj_target_type {
    AHPA_OBJ_TARGET_UTILIZATION,   /* Resource only; target in percent */
    AHPA_OBJ_TARGET_AVERAGE_VALUE, /* per pod, base units */
    AHPA_OBJ_TARGET_VALUE,         /* External only; whole workload */
};

/* One entry of spec.metrics. Owned by its ahpa_obj. */
struct ahpa_obj_metric {
    enum ahpa_obj_metric_type type;
    char *name;  /* "gpu", "cpu", "memory", or the external metric name */
    enum ahpa_obj_target_type target_type;
    double target; /* > 0: percent for Utilization, base units otherwise
                      (Quantity parsed: "500m" -> 0.5, "2Gi" -> 2147483648) */
    struct ahpa_labelsel *selector; /* external metric selector or NULL */
};

/* One validated object. Heap; release with ahpa_obj_free(). Every
 * pointer is owned by the object; read-only for callers. */
struct ahpa_obj {
    char *name;
    char *ns;            /* metadata.namespace or "default" */
    char *uid;           /* metadata.uid or "" */
    int64_t creation_s;  /* metadata.creationTimestamp; 0 unknown */
    int64_t generation;  /* metadata.generation; 0 unknown */
    struct ahpa_obj_metric *metrics; /* nmetrics >= 1 entries */
    size_t nmetrics;
    int32_t min_replicas; /* >= 0 */
    int32_t max_replicas; /* >= 1, >= min_replicas */
    double quantile;      /* (0,1): 95 and 0.95 both -> 0.95 */
    int64_t scale_up_forward_s;
    enum ahpa_planner_strategy strategy;
    char *target_api_version, *target_kind, *target_name;
    int64_t scale_down_stabilization_s; /* 0..3600 */
    /* Compiled instanceBounds (window i = spec.instanceBounds[i], bound j
     * of it = bounds[j]), NULL when none. Evaluate with the same zone that
     * was passed to the parser. */
    struct ahpa_cron_bounds *bounds;
    /* One human line per bound, in order, e.g.
     * "2021-12-16 00:00:00..2022-12-16 00:00:00  * 9-15 ? * MON-FRI: min 10 max 50"
     * (a side not given reads "min -" / "max -"). */
    char **bounds_text;
    size_t nbounds_text;
    char *source;  /* file path or "" */
};

/* Parses every AHPA document in a YAML text of `len` bytes (need not be
 * NUL-terminated; multi-document files are fine). Documents of another
 * apiVersion/kind, and empty documents, are skipped (not errors). `zone`
 * reads startTime/endTime and is the zone the bounds' crons are meant for
 * (NULL = UTC; borrowed for the call). `source` (may be NULL: "") is
 * copied into each object.
 *
 * Per-object errors do not stop the others: each bad AHPA document adds
 * one message to `*errs` and no object. A second object with the same
 * namespace/name in the text is an error too (the first is kept). A YAML syntax error ends the scan
 * at that point (objects parsed before it are kept) and adds one message
 * ("line L column C: ..."). On return 0, `*objs` (nobjs entries, may be 0)
 * and `*errs` (nerrs entries) are caller-owned: release with
 * ahpa_obj_list_free() and ahpa_obj_errs_free(); both may be NULL when
 * their count is 0. A negative return (-AHPA_ETOOBIG for a text over
 * AHPA_OBJ_MAX_INPUT, -AHPA_EINVAL for NULL arguments) writes none of
 * the outputs. */
int ahpa_obj_parse_yaml(const char *text, size_t len,
                        const struct ahpa_cron_zone *zone, const char *source,
                        struct ahpa_obj ***objs, size_t *nobjs, char ***errs,
                        size_t *nerrs, struct ahpa_error *err);

/* Counts of one ahpa_obj_parse_yaml_ex() call. */
struct ahpa_obj_parse_stats {
    size_t documents; /* documents seen (empty ones included) */
    size_t skipped;   /* other apiVersion/kind, or empty */
};

/* Same as ahpa_obj_parse_yaml, also filling `stats` (may be NULL). */
int ahpa_obj_parse_yaml_ex(const char *text, size_t len,
                           const struct ahpa_cron_zone *zone,
                           const char *source, struct ahpa_obj ***objs,
                           size_t *nobjs, char ***errs, size_t *nerrs,
                           struct ahpa_obj_parse_stats *stats,
                           struct ahpa_error *err);

/* Validates one object given as JSON (borrowed; e.g. an item of a list
 * from the API server). apiVersion/kind, when present, must be the AHPA
 * ones. Returns 0 and a caller-owned `*out`, or -AHPA_EPARSE/-AHPA_ERANGE
 * with the message described above; `*out` is written only on success. */
int ahpa_obj_from_json(const struct json_t *j,
                       const struct ahpa_cron_zone *zone,
                       struct ahpa_obj **out, struct ahpa_error *err);

void ahpa_obj_free(struct ahpa_obj *o);
/* Frees n objects and the array; NULL is fine. */
void ahpa_obj_list_free(struct ahpa_obj **objs, size_t n);
/* Frees n messages and the array; NULL is fine. */
void ahpa_obj_errs_free(char **errs, size_t n);

/* The primary GPU metric (Resource gpu) or the first metric; NULL if
 * none. Borrowed from `o`. */
const struct ahpa_obj_metric *ahpa_obj_primary_metric(const struct ahpa_obj *o);

/* "Resource", "External". */
const char *ahpa_obj_metric_type_name(enum ahpa_obj_metric_type t);
/* "Utilization", "AverageValue", "Value". */
const char *ahpa_obj_target_type_name(enum ahpa_obj_target_type t);

#endif
