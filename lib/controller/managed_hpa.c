/* The managed HorizontalPodAutoscaler of an AHPA (see managed_hpa.h). */
#include "managed_hpa.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/planner.h"
#include "ahpa/quantity.h"
#include "ahpa/str.h"

#define DNS_SUBDOMAIN_MAX 253
#define POLICY_PERIOD_S 15

static const struct ahpa_kube_resource hpa_res = {"autoscaling", "v2", "horizontalpodautoscalers",
                                                  "HorizontalPodAutoscaler", true};

/* What the reconciler reads of an AHPA; strings borrowed from its JSON. */
struct view {
    const char *name, *ns, *uid;
    const char *t_api, *t_kind, *t_name;
    enum ahpa_planner_strategy strategy;
};

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    const json_t *x = json_object_get(o, a);
    return json_string_value(b ? json_object_get(x, b) : x);
}

static int read_view(const json_t *a, struct view *v, struct ahpa_error *err)
{
    v->name = str_at(a, "metadata", "name");
    v->ns = str_at(a, "metadata", "namespace");
    v->uid = str_at(a, "metadata", "uid");
    const json_t *spec = json_object_get(a, "spec");
    const json_t *ref = json_object_get(spec, "scaleTargetRef");
    v->t_api = str_at(ref, "apiVersion", NULL);
    v->t_kind = str_at(ref, "kind", NULL);
    v->t_name = str_at(ref, "name", NULL);
    if (v->t_api == NULL)
        v->t_api = "apps/v1";
    if (v->name == NULL || v->ns == NULL || v->uid == NULL || v->uid[0] == '\0')
        return ahpa_error_set(err, AHPA_EINVAL, "AHPA without metadata.name, namespace or uid");
    if (v->t_kind == NULL || v->t_name == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "%s/%s: spec.scaleTargetRef needs kind and name",
                              v->ns, v->name);
    const char *s = str_at(spec, "scaleStrategy", NULL);
    v->strategy = AHPA_PLANNER_OBSERVER;
    if (s != NULL && ahpa_planner_strategy_parse(s, &v->strategy, err) < 0)
        return ahpa_error_set(err, AHPA_EINVAL, "%s/%s: spec.scaleStrategy", v->ns, v->name);
    return 0;
}

void ahpa_controller__mhpa_name(const char *ahpa_name, char *out)
{
    size_t plen = strlen(AHPA_MHPA_PREFIX), nlen = strlen(ahpa_name);
    if (plen + nlen <= DNS_SUBDOMAIN_MAX) {
        snprintf(out, AHPA_MHPA_NAME_MAX, "%s%s", AHPA_MHPA_PREFIX, ahpa_name);
        return;
    }
    /* Cut, without a trailing '.' or '-' (a DNS label ends alphanumeric),
     * then a hash of the whole name keeps long names apart. */
    size_t keep = DNS_SUBDOMAIN_MAX - plen - 9;
    while (keep > 0 && (ahpa_name[keep - 1] == '.' || ahpa_name[keep - 1] == '-'))
        keep--;
    snprintf(out, AHPA_MHPA_NAME_MAX, "%s%.*s-%08x", AHPA_MHPA_PREFIX, (int)keep, ahpa_name,
             (unsigned)(ahpa_str_hash(ahpa_name) & 0xffffffffu));
}

/* ---- the wanted object --------------------------------------------- */

static json_t *direction(int32_t max, const char *tolerance)
{
    json_t *d = json_pack("{s:i, s:s, s:[{s:s, s:i, s:i}]}", "stabilizationWindowSeconds", 0,
                          "selectPolicy", "Max", "policies", "type", "Pods", "value", (int)max,
                          "periodSeconds", POLICY_PERIOD_S);
    if (tolerance != NULL)
        json_object_set_new(d, "tolerance", json_string(tolerance));
    return d;
}

static json_t *desired_of(const struct view *v, const char *name, int32_t min, int32_t max,
                          const char *tolerance)
{
    json_t *metric =
        json_pack("{s:s, s:{s:{s:s, s:{s:{s:s}}}, s:{s:s, s:s}}}", "type", "External", "external",
                  "metric", "name", AHPA_MHPA_METRIC, "selector", "matchLabels", "ahpa", v->name,
                  "target", "type", "AverageValue", "averageValue", "1");
    json_t *spec =
        json_pack("{s:{s:s, s:s, s:s}, s:i, s:i, s:[o], s:{s:o, s:o}}", "scaleTargetRef",
                  "apiVersion", v->t_api, "kind", v->t_kind, "name", v->t_name, "minReplicas",
                  (int)(min < 1 ? 1 : min), "maxReplicas", (int)max, "metrics", metric, "behavior",
                  "scaleUp", direction(max, tolerance), "scaleDown", direction(max, tolerance));
    json_t *meta =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}", "name", name,
                  "namespace", v->ns, "labels", AHPA_MHPA_MANAGED_BY_LABEL, AHPA_MHPA_MANAGED_BY,
                  AHPA_MHPA_AHPA_LABEL, v->name, "ownerReferences", "apiVersion",
                  "autoscaling.alibabacloud.com/v1beta1", "kind", "AdvancedHorizontalPodAutoscaler",
                  "name", v->name, "uid", v->uid, "controller", 1, "blockOwnerDeletion", 1);
    return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "autoscaling/v2", "kind",
                     "HorizontalPodAutoscaler", "metadata", meta, "spec", spec);
}

/* The tolerance to send, or NULL. */
static const char *tolerance_of(const struct ahpa_controller__mhpa_options *o)
{
    return o != NULL && o->tolerance != NULL && o->tolerance[0] != '\0' ? o->tolerance : NULL;
}

json_t *ahpa_controller__mhpa_desired(const json_t *ahpa, int32_t min_replicas,
                                      int32_t max_replicas,
                                      const struct ahpa_controller__mhpa_options *o,
                                      struct ahpa_error *err)
{
    struct view v;
    if (read_view(ahpa, &v, err) < 0)
        return NULL;
    char name[AHPA_MHPA_NAME_MAX];
    ahpa_controller__mhpa_name(v.name, name);
    return desired_of(&v, name, min_replicas, max_replicas, tolerance_of(o));
}

/* ---- comparing with the live object -------------------------------- */

/* Two Quantity strings of the same value ("0.05" and the "50m" a server
 * normalises it to). */
static bool same_quantity(const json_t *a, const json_t *b)
{
    double x, y;
    const char *sa = json_string_value(a), *sb = json_string_value(b);
    return sa != NULL && sb != NULL && ahpa_quantity_parse(sa, &x, NULL) == 0 &&
           ahpa_quantity_parse(sb, &y, NULL) == 0 && x == y;
}

/* Every field of `want` is in `have` with the same value (extra fields of
 * `have` are server defaults, not differences). A `tolerance` the server
 * dropped is not a difference either: the cluster does not know it. */
static bool subset(const json_t *want, const json_t *have)
{
    if (json_is_object(want)) {
        const char *k;
        json_t *w;
        json_object_foreach((json_t *)want, k, w)
        {
            const json_t *h = json_object_get(have, k);
            if (strcmp(k, "tolerance") == 0 && (h == NULL || same_quantity(w, h)))
                continue;
            if (h == NULL || !subset(w, h))
                return false;
        }
        return json_is_object(have);
    }
    if (json_is_array(want)) {
        if (!json_is_array(have) || json_array_size(want) != json_array_size(have))
            return false;
        for (size_t i = 0; i < json_array_size(want); i++)
            if (!subset(json_array_get(want, i), json_array_get(have, i)))
                return false;
        return true;
    }
    if (json_is_number(want))
        return json_is_number(have) && json_number_value(want) == json_number_value(have);
    return json_equal((json_t *)want, (json_t *)have);
}

static bool has_owner(const json_t *obj, const char *uid)
{
    const json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r)
    {
        const char *u = json_string_value(json_object_get(r, "uid"));
        if (u != NULL && strcmp(u, uid) == 0 && json_is_true(json_object_get(r, "controller")))
            return true;
    }
    return false;
}

static bool up_to_date(const json_t *want, const json_t *live, const char *uid)
{
    const json_t *wm = json_object_get(want, "metadata"), *lm = json_object_get(live, "metadata");
    return subset(json_object_get(want, "spec"), json_object_get(live, "spec")) &&
           subset(json_object_get(wm, "labels"), json_object_get(lm, "labels")) &&
           has_owner(live, uid);
}

/* Ours: labelled as managed by the adapter for this AHPA. */
static bool is_ours(const json_t *hpa, const struct view *v)
{
    const json_t *labels = json_object_get(json_object_get(hpa, "metadata"), "labels");
    const char *by = json_string_value(json_object_get(labels, AHPA_MHPA_MANAGED_BY_LABEL));
    const char *of = json_string_value(json_object_get(labels, AHPA_MHPA_AHPA_LABEL));
    return by != NULL && of != NULL && strcmp(by, AHPA_MHPA_MANAGED_BY) == 0 &&
           strcmp(of, v->name) == 0;
}

/* "apps/v1" -> "apps"; "v1" -> "". */
static size_t group_len(const char *api_version)
{
    const char *slash = strchr(api_version, '/');
    return slash ? (size_t)(slash - api_version) : 0;
}

static bool same_target(const json_t *hpa, const struct view *v)
{
    const json_t *ref = json_object_get(json_object_get(hpa, "spec"), "scaleTargetRef");
    const char *api = str_at(ref, "apiVersion", NULL), *kind = str_at(ref, "kind", NULL);
    const char *name = str_at(ref, "name", NULL);
    if (kind == NULL || name == NULL || strcmp(kind, v->t_kind) != 0 ||
        strcmp(name, v->t_name) != 0)
        return false;
    size_t g1 = group_len(api ? api : "apps/v1"), g2 = group_len(v->t_api);
    return g1 == g2 && strncmp(api ? api : "apps/v1", v->t_api, g1) == 0;
}

/* ---- the reconcile ------------------------------------------------- */

static void set_result(struct ahpa_controller__mhpa_result *out,
                       enum ahpa_controller__mhpa_action a, const char *status, const char *reason)
{
    out->action = a;
    out->status = status;
    out->reason = reason;
}

/* The namespace's HPAs: ours (by name) and a foreign one on our target. */
struct found {
    json_t *list;
    const json_t *named;   /* the HPA with our name, or NULL */
    const json_t *foreign; /* another HPA on the same target, or NULL */
};

static int find(struct ahpa_kube_client *c, const struct view *v, const char *name, struct found *f,
                struct ahpa_controller__mhpa_result *out, struct ahpa_error *err)
{
    memset(f, 0, sizeof(*f));
    out->reads++;
    int rc = ahpa_kube_list(c, &hpa_res, v->ns, NULL, &f->list, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(f->list, "items"), i, h)
    {
        const char *n = str_at(h, "metadata", "name");
        if (n != NULL && strcmp(n, name) == 0)
            f->named = h;
        else if (f->foreign == NULL && same_target(h, v))
            f->foreign = h;
    }
    return 0;
}

static int delete_ours(struct ahpa_kube_client *c, const struct view *v, const char *name,
                       struct ahpa_controller__mhpa_result *out, struct ahpa_error *err)
{
    out->writes++;
    int rc = ahpa_kube_delete(c, &hpa_res, v->ns, name, err);
    if (rc == -AHPA_ENOTFOUND) {
        ahpa_error_clear(err);
        return 0;
    }
    return rc;
}

/* What the live HPA's tolerance is, for the condition message. */
static void tolerance_note(const json_t *live, const char *asked, char *out, size_t n)
{
    const json_t *b = json_object_get(json_object_get(live, "spec"), "behavior");
    const char *up = json_string_value(json_object_get(json_object_get(b, "scaleUp"), "tolerance"));
    const char *down =
        json_string_value(json_object_get(json_object_get(b, "scaleDown"), "tolerance"));
    if (up != NULL && down != NULL)
        snprintf(out, n, "tolerance %s", up);
    else if (asked != NULL)
        snprintf(out, n, "the HPA's default 10%% tolerance (no per-direction tolerance in this "
                         "cluster)");
    else
        snprintf(out, n, "the HPA's default 10%% tolerance (none sent)");
}

static void describe(struct ahpa_controller__mhpa_result *out, const char *verb,
                     const struct view *v, const json_t *live, int32_t min, int32_t max,
                     const char *tolerance)
{
    char tol[128];
    tolerance_note(live, tolerance, tol, sizeof(tol));
    snprintf(out->message, sizeof(out->message),
             "%s HorizontalPodAutoscaler %s follows External %s{ahpa=%s} (AverageValue 1) on "
             "%s/%s, replicas %d..%d%s",
             verb, out->name, AHPA_MHPA_METRIC, v->name, v->t_kind, v->t_name,
             (int)(min < 1 ? 1 : min), (int)max,
             min < 1 ? " (minReplicas 0 sent as 1: scale to zero needs HPAScaleToZero)" : "");
    size_t used = strlen(out->message); /* a long name may have filled it */
    if (used + 1 < sizeof(out->message))
        snprintf(out->message + used, sizeof(out->message) - used, ", %s", tol);
}

/* Strategy observer: our HPA goes. */
static int reconcile_observer(struct ahpa_kube_client *c, const struct view *v,
                              const struct found *f, struct ahpa_controller__mhpa_result *out,
                              struct ahpa_error *err)
{
    if (f->named == NULL || !is_ours(f->named, v)) {
        set_result(out, AHPA_MHPA_NONE, "False", "ObserverStrategy");
        snprintf(out->message, sizeof(out->message),
                 "scaleStrategy observer: the plan is published, nothing scales");
        return 0;
    }
    int rc = delete_ours(c, v, out->name, out, err);
    if (rc < 0)
        return rc;
    set_result(out, AHPA_MHPA_DELETED, "False", "ManagedHPADeleted");
    snprintf(out->message, sizeof(out->message),
             "scaleStrategy observer: deleted HorizontalPodAutoscaler %s", out->name);
    return 0;
}

/* A user's HPA scales the target, or holds our name: report, do not
 * fight; our own HPA (if any) goes so that only one HPA drives it. */
static int reconcile_conflict(struct ahpa_kube_client *c, const struct view *v,
                              const struct found *f, struct ahpa_controller__mhpa_result *out,
                              struct ahpa_error *err)
{
    if (f->foreign != NULL) {
        const char *other = str_at(f->foreign, "metadata", "name");
        bool had = f->named != NULL && is_ours(f->named, v);
        int rc = had ? delete_ours(c, v, out->name, out, err) : 0;
        if (rc < 0)
            return rc;
        set_result(out, AHPA_MHPA_CONFLICT, "False", "UserHPAConflict");
        snprintf(out->message, sizeof(out->message),
                 "HorizontalPodAutoscaler %s (not managed by this AHPA) already scales %s/%s; %s"
                 "delete it to let the AHPA scale, or set scaleStrategy: observer",
                 other ? other : "?", v->t_kind, v->t_name,
                 had ? "deleted the managed one so they do not fight; " : "");
        return 0;
    }
    set_result(out, AHPA_MHPA_CONFLICT, "False", "HPANameTaken");
    snprintf(out->message, sizeof(out->message),
             "a HorizontalPodAutoscaler named %s exists and is not managed by this AHPA; left "
             "alone",
             out->name);
    return 0;
}

/* Creates or updates ours; -AHPA_ECONFLICT/-AHPA_EEXIST: list again. */
static int converge(struct ahpa_kube_client *c, const struct view *v, const struct found *f,
                    int32_t min, int32_t max, const char *tolerance,
                    struct ahpa_controller__mhpa_result *out, struct ahpa_error *err)
{
    json_t *want = desired_of(v, out->name, min, max, tolerance), *live = NULL;
    int rc = 0;
    if (f->named == NULL) {
        out->writes++;
        rc = ahpa_kube_create(c, &hpa_res, v->ns, want, &live, err);
        if (rc == 0) {
            set_result(out, AHPA_MHPA_CREATED, "True", "ManagedHPACreated");
            describe(out, "created", v, live, min, max, tolerance);
        }
    } else if (up_to_date(want, f->named, v->uid)) {
        set_result(out, AHPA_MHPA_UNCHANGED, "True", "ManagedHPAUpToDate");
        describe(out, "the", v, f->named, min, max, tolerance);
    } else {
        json_t *upd = json_deep_copy(f->named);
        json_t *meta = json_object_get(upd, "metadata"), *wmeta = json_object_get(want, "metadata");
        json_object_set(upd, "spec", json_object_get(want, "spec"));
        if (!json_is_object(json_object_get(meta, "labels")))
            json_object_set_new(meta, "labels", json_object());
        json_object_update(json_object_get(meta, "labels"), json_object_get(wmeta, "labels"));
        json_object_set(meta, "ownerReferences", json_object_get(wmeta, "ownerReferences"));
        out->writes++;
        rc = ahpa_kube_update(c, &hpa_res, v->ns, out->name, NULL, upd, &live, err);
        json_decref(upd);
        if (rc == 0) {
            set_result(out, AHPA_MHPA_UPDATED, "True", "ManagedHPAUpdated");
            describe(out, "updated", v, live, min, max, tolerance);
        }
    }
    json_decref(want);
    json_decref(live);
    return rc;
}

static int reconcile_once(struct ahpa_kube_client *c, const struct view *v, int32_t min,
                          int32_t max, const char *tolerance,
                          struct ahpa_controller__mhpa_result *out,
                          struct ahpa_error *err)
{
    struct found f;
    int rc = find(c, v, out->name, &f, out, err);
    if (rc == 0) {
        if (v->strategy == AHPA_PLANNER_OBSERVER)
            rc = reconcile_observer(c, v, &f, out, err);
        else if (f.foreign != NULL || (f.named != NULL && !is_ours(f.named, v)))
            rc = reconcile_conflict(c, v, &f, out, err);
        else
            rc = converge(c, v, &f, min, max, tolerance, out, err);
    }
    json_decref(f.list);
    return rc;
}

int ahpa_controller__mhpa_reconcile(struct ahpa_kube_client *c, const json_t *ahpa,
                                    int32_t min_replicas, int32_t max_replicas,
                                    const struct ahpa_controller__mhpa_options *o,
                                    struct ahpa_controller__mhpa_result *out,
                                    struct ahpa_error *err)
{
    memset(out, 0, sizeof(*out));
    set_result(out, AHPA_MHPA_FAILED, "False", "ManagedHPAFailed");
    struct view v;
    int rc = read_view(ahpa, &v, err);
    if (rc == 0 && (max_replicas < 1 || min_replicas > max_replicas))
        rc = ahpa_error_set(err, AHPA_EINVAL, "%s/%s: bounds %d..%d", v.ns, v.name,
                            (int)min_replicas, (int)max_replicas);
    if (rc < 0) {
        snprintf(out->message, sizeof(out->message), "%s", err ? err->msg : "invalid AHPA");
        return rc;
    }
    ahpa_controller__mhpa_name(v.name, out->name);
    const char *tolerance = tolerance_of(o);
    for (int i = 0; i < AHPA_MHPA_ATTEMPTS; i++) {
        struct ahpa_error e = {0};
        rc = reconcile_once(c, &v, min_replicas, max_replicas, tolerance, out, &e);
        if (rc != -AHPA_ECONFLICT && rc != -AHPA_EEXIST) {
            if (rc < 0) {
                ahpa_error_set(err, e.code, "%s", e.msg);
                snprintf(out->message, sizeof(out->message), "%s", e.msg);
            }
            return rc;
        }
        snprintf(out->message, sizeof(out->message), "%s", e.msg); /* last conflict */
    }
    set_result(out, AHPA_MHPA_FAILED, "False", "ManagedHPAFailed");
    return ahpa_error_set(err, AHPA_ECONFLICT,
                          "HorizontalPodAutoscaler %s/%s: %d conflicts in a "
                          "row: %s",
                          v.ns, out->name, AHPA_MHPA_ATTEMPTS, out->message);
}
