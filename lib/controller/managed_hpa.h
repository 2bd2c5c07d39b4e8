/* The managed HorizontalPodAutoscaler of an AHPA (issue 12, item 1).
 *
 * For an AHPA whose scaleStrategy is auto, proactive or reactive, one
 * autoscaling/v2 HorizontalPodAutoscaler follows the plan through the
 * external metric the adapter serves:
 *
 *   metadata.name       AHPA_MHPA_PREFIX + the AHPA's name (cut and
 *                       suffixed with a hash when that passes 253 bytes)
 *   metadata.labels     app.kubernetes.io/managed-by: ahpa-metrics-adapter,
 *                       autoscaling.alibabacloud.com/ahpa: <AHPA name>
 *   ownerReferences     the AHPA, controller: true, blockOwnerDeletion:
 *                       true (garbage collection removes the HPA with it)
 *   spec.scaleTargetRef the AHPA's
 *   spec.metrics        External ahpa_desired_replicas, selector
 *                       {matchLabels: {ahpa: <name>}}, target AverageValue 1
 *                       (so the HPA's desired count is the metric's value)
 *   spec.min/maxReplicas the AHPA's bounds active now (minReplicas 0 is
 *                       sent as 1: 0 needs the HPAScaleToZero gate)
 *   spec.behavior       both directions: stabilizationWindowSeconds 0 (the
 *                       planner already stabilises), one policy "Pods:
 *                       maxReplicas per 15 s" (no rate limit: the planner
 *                       paces), selectPolicy Max; with `tolerance`, also
 *                       that tolerance (e.g. "0") per direction (autoscaling/v2 field
 *                       of Kubernetes 1.33+, HPAConfigurableTolerance).
 *                       A cluster without it drops the field: then the
 *                       HPA's default 10 % tolerance applies (a plan
 *                       within 10 % of the current count does not move
 *                       it), and the reconciler does not fight the drop.
 *
 * One reconcile reads the namespace's HPAs with one LIST and writes only
 * when something differs (every field above compared as a subset of the
 * live object, so server-side defaults are not differences). An update
 * carries the resourceVersion read; a 409 lists again and retries, at
 * most AHPA_MHPA_ATTEMPTS times. Another HPA on the same scaleTargetRef
 * (not ours: without our label or owner reference) is reported, never
 * touched; our own HPA is then deleted so that two HPAs do not fight over
 * the workload. Strategy observer deletes our HPA.
 *
 * Only the elected leader may call this (ahpa_leader_is_leader()), once
 * per AHPA per cycle after planning. Threads: reentrant; the client is
 * thread-safe. */
#ifndef AHPA_CONTROLLER_MANAGED_HPA_H
#define AHPA_CONTROLLER_MANAGED_HPA_H

#include <stdbool.h>
#include <stdint.h>

struct ahpa_error;
struct ahpa_kube_client;
struct json_t;

#define AHPA_MHPA_PREFIX "ahpa-"
#define AHPA_MHPA_MANAGED_BY_LABEL "app.kubernetes.io/managed-by"
#define AHPA_MHPA_MANAGED_BY "ahpa-metrics-adapter"
#define AHPA_MHPA_AHPA_LABEL "autoscaling.alibabacloud.com/ahpa"
#define AHPA_MHPA_METRIC "ahpa_desired_replicas"
#define AHPA_MHPA_CONDITION "ManagedHPA" /* the condition type to set */
#define AHPA_MHPA_ATTEMPTS 3
#define AHPA_MHPA_NAME_MAX 254

enum ahpa_controller__mhpa_action {
    AHPA_MHPA_NONE,      /* nothing to do (observer without an HPA) */
    AHPA_MHPA_UNCHANGED, /* ours exists as wanted */
    AHPA_MHPA_CREATED,
    AHPA_MHPA_UPDATED,
    AHPA_MHPA_DELETED,  /* strategy observer, or a user HPA appeared */
    AHPA_MHPA_CONFLICT, /* a user HPA scales the target, or holds our name */
    AHPA_MHPA_FAILED,   /* the API failed; see the return code */
};

struct ahpa_controller__mhpa_options {
    /* behavior.*.tolerance to send (a Quantity string, e.g. "0";
     * borrowed); NULL or "": not sent */
    const char *tolerance;
};

/* What happened, for the AHPA's status: a condition of type
 * AHPA_MHPA_CONDITION with `status` ("True": an HPA follows the plan),
 * `reason` (CamelCase, static) and `message` (one line). */
struct ahpa_controller__mhpa_result {
    enum ahpa_controller__mhpa_action action;
    char name[AHPA_MHPA_NAME_MAX]; /* our HPA's name */
    const char *status;            /* "True" / "False" */
    const char *reason;
    char message[512];
    unsigned writes; /* creates, updates and deletes sent (409s included) */
    unsigned reads;  /* lists sent */
};

/* The managed HPA's name for an AHPA name, into out (AHPA_MHPA_NAME_MAX). */
void ahpa_controller__mhpa_name(const char *ahpa_name, char *out);

/* Reconciles the managed HPA of `ahpa` (its JSON as the API returns it:
 * metadata.name, .namespace, .uid and spec.scaleStrategy, .scaleTargetRef
 * are read; borrowed) with the bounds active now (1 <= max, min <= max;
 * min 0 is sent as 1). `o` may be NULL (defaults). Fills *out (always,
 * also on failure). Returns 0, or a negative code with `err` set when the
 * object is unusable (-AHPA_EINVAL) or the API failed (out->action
 * AHPA_MHPA_FAILED, reason ManagedHPAFailed). */
int ahpa_controller__mhpa_reconcile(struct ahpa_kube_client *c, const struct json_t *ahpa,
                                    int32_t min_replicas, int32_t max_replicas,
                                    const struct ahpa_controller__mhpa_options *o,
                                    struct ahpa_controller__mhpa_result *out,
                                    struct ahpa_error *err);

/* The HPA object the reconciler wants (for tests and `kubectl diff`-like
 * reports): a new reference, or NULL when `ahpa` lacks name, namespace,
 * uid or scaleTargetRef (err set). */
struct json_t *ahpa_controller__mhpa_desired(const struct json_t *ahpa, int32_t min_replicas,
                                             int32_t max_replicas,
                                             const struct ahpa_controller__mhpa_options *o,
                                             struct ahpa_error *err);

#endif
