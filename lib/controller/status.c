/* The status subresource of every AHPA (cluster mode), the managed HPA
 * reconcile, and the Events of both (events.h).
 *
 * The wanted status is built from the published plan and compared with the
 * status the informer's store holds: only a difference is written, as a
 * JSON merge patch of the status subresource (null removes a field: a
 * value the controller no longer knows is removed, never written as 0).
 * Writes run on the loop thread, one at a time, through the kube client's
 * limiter, bounded by a deadline; a 409 is retried (at most
 * STATUS_ATTEMPTS in all) against the object read again. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/leader.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/timefmt.h"
#include "controller_int.h"
#include "events.h"
#include "managed_hpa.h"

#define STATUS_ATTEMPTS 3
#define MESSAGE_MAX 1024
#define COMPONENT "ahpa-metrics-adapter"

static const struct ahpa_kube_resource ahpa_resource = {
    "autoscaling.alibabacloud.com", "v1beta1", "advancedhorizontalpodautoscalers",
    NULL, true};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *ahpa_controller_cause_name(enum ahpa_controller_cause c)
{
    static const char *const names[] = {
        "Planned",        "Unsupported",     "PrometheusUnreachable",
        "TargetNotFound", "NoCurrentData",   "ReplicasUnknown",
        "NoHistory",      "ForecastUnavailable", "PlanningFailed",
        "PodsUnknown",
    };
    return (size_t)c < sizeof(names) / sizeof(names[0]) ? names[c] : "Unknown";
}

/* --- building ------------------------------------------------------------------- */

static json_t *time_string(int64_t t)
{
    char buf[AHPA_RFC3339_MAX];
    ahpa_time_format_rfc3339(t, buf);
    return json_string(buf);
}

/* The old condition of `type`, or NULL. */
static const json_t *old_condition(const json_t *old, const char *type)
{
    const json_t *conds = json_object_get(old, "conditions");
    size_t i;
    const json_t *c;
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t != NULL && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

static void add_condition(json_t *conds, const json_t *old, const char *type, bool status,
                          const char *reason, const char *message, int64_t now_s)
{
    const char *st = status ? "True" : "False";
    char msg[MESSAGE_MAX];
    snprintf(msg, sizeof(msg), "%s", message ? message : "");
    const json_t *prev = old_condition(old, type);
    const char *prev_st = json_string_value(json_object_get(prev, "status"));
    json_t *ltt = json_object_get(prev, "lastTransitionTime");
    json_t *c = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "status", st, "reason", reason,
                          "message", msg);
    if (prev_st != NULL && strcmp(prev_st, st) == 0 && json_is_string(ltt))
        json_object_set(c, "lastTransitionTime", ltt);
    else
        json_object_set_new(c, "lastTransitionTime", time_string(now_s));
    json_array_append_new(conds, c);
}

static void able_to_predict(json_t *conds, const json_t *old, const struct ahpa_controller_plan *p,
                            int64_t now_s)
{
    char msg[160];
    switch (p->cause) {
    case AHPA_CONTROLLER_PROMETHEUS_UNREACHABLE:
    case AHPA_CONTROLLER_UNSUPPORTED:
        add_condition(conds, old, "AbleToPredict", false, ahpa_controller_cause_name(p->cause),
                      p->error, now_s);
        return;
    default:
        break;
    }
    if (p->model_fitted && p->seasonal) {
        snprintf(msg, sizeof(msg), "season of %.1f h found in %zu steps of history",
                 p->period_s / 3600.0, p->history_steps);
        add_condition(conds, old, "AbleToPredict", true, "SeasonFound", msg, now_s);
    } else if (p->model_fitted) {
        snprintf(msg, sizeof(msg), "no season found in %zu steps of history; forecasting "
                 "from the recent level", p->history_steps);
        add_condition(conds, old, "AbleToPredict", true, "NoSeasonFound", msg, now_s);
    } else if (p->cause == AHPA_CONTROLLER_TARGET_NOT_FOUND) {
        add_condition(conds, old, "AbleToPredict", false, "TargetNotFound", p->error, now_s);
    } else {
        add_condition(conds, old, "AbleToPredict", false, "NoHistory",
                      p->metric && strcmp(p->metric, "gpu") != 0 ? "no usage history yet"
                                                                 : "no GPU usage history yet",
                      now_s);
    }
}

static void set_int(json_t *o, const char *key, bool known, int64_t v)
{
    if (known)
        json_object_set_new(o, key, json_integer(v));
}

json_t *ahpa_controller__status_for_plan(const struct ahpa_controller_plan *p, const json_t *old,
                                         int64_t now_s)
{
    json_t *s = json_object();
    set_int(s, "observedGeneration", p->generation > 0, p->generation);
    double cu = p->current_utilization;
    set_int(s, "currentMetric", isfinite(cu) && cu >= 0 && cu < 2e9, (int64_t)llround(cu));
    set_int(s, "desiredReplicas", p->planned, p->plan.final);
    set_int(s, "proactiveReplicas", p->planned && p->plan.proactive >= 0, p->plan.proactive);
    set_int(s, "reactiveReplicas", p->planned, p->plan.reactive);
    set_int(s, "currentReplicas", p->replicas_known, p->replicas);
    set_int(s, "minPods", p->t_s > 0, p->min_in_force);
    set_int(s, "maxPods", p->t_s > 0, p->max_in_force);
    if (p->last_scale_s > 0)
        json_object_set_new(s, "lastScaleTime", time_string(p->last_scale_s));
    json_t *conds = json_array();
    /* The message changes with the plan, not with every forecast value
     * (those are in the predictionsobserver), so that a steady plan is
     * not a status write per cycle. */
    char msg[320];
    if (p->planned) {
        /* Several metrics: the one that drove the plan (the largest). */
        snprintf(msg, sizeof(msg), "%s plan: %d pods (proactive %d, reactive %d; limits %d..%d)"
                 "%s%s", p->strategy ? p->strategy : "", (int)p->plan.final,
                 (int)p->plan.proactive, (int)p->plan.reactive, (int)p->min_in_force,
                 (int)p->max_in_force, p->nmetrics > 1 ? "; driven by " : "",
                 p->nmetrics > 1 && p->metric ? p->metric : "");
        add_condition(conds, old, "Ready", true, "Planned", msg, now_s);
    } else {
        add_condition(conds, old, "Ready", false, ahpa_controller_cause_name(p->cause), p->error,
                      now_s);
    }
    able_to_predict(conds, old, p, now_s);
    json_object_set_new(s, "conditions", conds);
    return s;
}

json_t *ahpa_controller__status_for_invalid(int64_t generation, const char *message,
                                            const json_t *old, int64_t now_s)
{
    json_t *s = json_object();
    set_int(s, "observedGeneration", generation > 0, generation);
    json_t *conds = json_array();
    add_condition(conds, old, "Ready", false, "InvalidSpec", message, now_s);
    add_condition(conds, old, "AbleToPredict", false, "InvalidSpec", message, now_s);
    json_object_set_new(s, "conditions", conds);
    return s;
}

json_t *ahpa_controller__status_patch(const json_t *old, const json_t *want)
{
    if (json_is_object(old) && json_equal(old, want))
        return NULL;
    json_t *st = json_deep_copy(want);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)old, key, v) {
        if (json_object_get(want, key) == NULL)
            json_object_set_new(st, key, json_null());
    }
    return json_pack("{s:o}", "status", st);
}

/* --- writing ---------------------------------------------------------------------- */

/* Only the elected leader writes (or a process without election). The
 * check is lock-free and false once the renew deadline passed, so a
 * leader that lost its Lease stops writing within that deadline. */
static bool may_write(const struct ahpa_controller *c)
{
    return c->opt.leader == NULL || ahpa_leader_is_leader(c->opt.leader);
}

typedef json_t *(*want_fn)(const void *arg, const json_t *old, int64_t now_s);

/* A plan and what the managed-HPA reconcile did for it (NULL: not run;
 * the ManagedHPA condition the object has is kept). */
struct plan_status {
    const struct ahpa_controller_plan *p;
    const struct ahpa_controller__mhpa_result *mhpa;
};

void ahpa_controller__status_add_mhpa(json_t *status, const json_t *old,
                                      const struct ahpa_controller__mhpa_result *r, int64_t now_s)
{
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds))
        return;
    if (r == NULL) {
        const json_t *prev = old_condition(old, AHPA_MHPA_CONDITION);
        if (prev != NULL)
            json_array_append_new(conds, json_deep_copy(prev));
        return;
    }
    add_condition(conds, old, AHPA_MHPA_CONDITION, strcmp(r->status, "True") == 0, r->reason,
                  r->message, now_s);
}

static json_t *want_plan(const void *arg, const json_t *old, int64_t now_s)
{
    const struct plan_status *ps = arg;
    json_t *s = ahpa_controller__status_for_plan(ps->p, old, now_s);
    ahpa_controller__status_add_mhpa(s, old, ps->mhpa, now_s);
    return s;
}

static json_t *want_invalid(const void *arg, const json_t *old, int64_t now_s)
{
    const struct ahpa_controller__entry *e = arg;
    return ahpa_controller__status_for_invalid(e->generation, e->error, old, now_s);
}

/* What write_one did: the status it compared with and the one it wrote
 * (new references, NULL when nothing was written), and the object's uid. */
struct written {
    json_t *before, *after;
    char uid[128];
};

static void written_dispose(struct written *w)
{
    json_decref(w->before);
    json_decref(w->after);
}

/* Writes one object's status if it differs. The first comparison is with
 * the informer's copy; after a 409, with the object read again. */
static void write_one(struct ahpa_controller *c, const char *ns, const char *name, want_fn fn,
                      const void *arg, int64_t now_s, struct written *out)
{
    struct ahpa_controller__cluster *k = c->cluster;
    memset(out, 0, sizeof(*out));
    struct ahpa_kube_obj *obj = ahpa_kube_informer_get(k->inf, ns, name);
    if (obj == NULL)
        return; /* deleted meanwhile */
    /* The store's JSON is read-only and never shared by reference: copy. */
    json_t *st = json_object_get(obj->json, "status");
    json_t *cur = st != NULL ? json_deep_copy(st) : NULL;
    const char *uid = json_string_value(json_object_get(json_object_get(obj->json, "metadata"),
                                                        "uid"));
    snprintf(out->uid, sizeof(out->uid), "%s", uid ? uid : "");
    ahpa_kube_obj_release(obj);
    for (int attempt = 0; attempt < STATUS_ATTEMPTS && !atomic_load(&c->stopping); attempt++) {
        json_t *want = fn(arg, cur, now_s);
        json_t *patch = ahpa_controller__status_patch(cur, want);
        if (patch == NULL) {
            json_decref(want);
            break;
        }
        if (!may_write(c)) {
            atomic_fetch_add(&k->status_not_leader, 1);
            json_decref(want);
            json_decref(patch);
            break;
        }
        struct ahpa_error err = {0};
        int rc = ahpa_kube_patch(c->opt.kube, &ahpa_resource, ns, name, "status", patch, NULL,
                                 &err);
        json_decref(patch);
        if (rc == 0) {
            atomic_fetch_add(&k->status_writes, 1);
            out->before = cur;
            out->after = want;
            return;
        }
        json_decref(want);
        if (rc != -AHPA_ECONFLICT || attempt + 1 == STATUS_ATTEMPTS) {
            atomic_fetch_add(&k->status_failures, 1);
            if (rc != -AHPA_ENOTFOUND)
                AHPA_LOG_WARN("status of %s/%s: %s", ns, name, ahpa_error_message(&err, rc));
            break;
        }
        atomic_fetch_add(&k->status_conflicts, 1);
        json_t *fresh = NULL;
        struct ahpa_error gerr = {0};
        if (ahpa_kube_get(c->opt.kube, &ahpa_resource, ns, name, "status", &fresh, &gerr) < 0)
            break;
        json_decref(cur);
        cur = json_incref(json_object_get(fresh, "status"));
        json_decref(fresh);
    }
    json_decref(cur);
}

/* --- Events (events.h) ------------------------------------------------------------ */

void ahpa_controller__status_dispose(struct ahpa_controller__cluster *k)
{
    ahpa_controller__events_free(k->recorder);
    k->recorder = NULL;
}

static struct ahpa_controller__events *recorder(struct ahpa_controller *c)
{
    if (c->cluster->recorder == NULL)
        c->cluster->recorder = ahpa_controller__events_new(c->opt.kube, COMPONENT);
    return c->cluster->recorder;
}

/* One Event on an AHPA, from the leader only (a follower's decisions are
 * the leader's, which records them). */
static void emit(struct ahpa_controller *c, const char *ns, const char *name, const char *uid,
                 enum ahpa_controller__event_type type, const char *reason, const char *message,
                 int64_t now_s)
{
    if (uid == NULL || uid[0] == '\0' || !may_write(c))
        return;
    struct ahpa_controller__event_object o = {ns, name, uid};
    struct ahpa_error err = {0};
    int rc = ahpa_controller__events_emit(recorder(c), &o, type, reason, message, now_s, &err);
    if (rc == 0)
        atomic_fetch_add(&c->cluster->events, 1);
    else if (rc == 1)
        AHPA_LOG_V(1, "event %s on %s/%s: over the object's rate limit, dropped", reason, ns,
                   name);
    else
        AHPA_LOG_WARN("event %s on %s/%s: %s", reason, ns, name, ahpa_error_message(&err, rc));
}

static const char *cond_field(const json_t *status, const char *type, const char *field)
{
    return json_string_value(json_object_get(old_condition(status, type), field));
}

static bool same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Events derived from a status the leader wrote, against the one it
 * replaced. The status is shared by every leader in turn (it is in the
 * API), so a new leader does not repeat what its predecessor recorded:
 * only transitions are events. */
static void status_events(struct ahpa_controller *c, const char *ns, const char *name,
                          const struct written *w, int64_t now_s)
{
    const json_t *b = w->before, *a = w->after;
    char msg[MESSAGE_MAX];
    const char *reason = cond_field(a, "Ready", "reason");
    const char *message = cond_field(a, "Ready", "message");
    if (same(reason, "InvalidSpec")) {
        if (!same(cond_field(b, "Ready", "reason"), reason) ||
            !same(cond_field(b, "Ready", "message"), message))
            emit(c, ns, name, w->uid, AHPA_EVENT_WARNING, "InvalidSpec", message, now_s);
        return;
    }
    /* Ready says whether a plan is published (ahpa_desired_replicas
     * served): its reason says why not. A new reason is a new event. */
    const char *st = cond_field(a, "Ready", "status");
    const char *bst = cond_field(b, "Ready", "status");
    if (same(st, "False") && !(same(bst, "False") &&
                               same(cond_field(b, "Ready", "reason"), reason))) {
        snprintf(msg, sizeof(msg), "no plan published (%s): %s", reason ? reason : "?",
                 message ? message : "");
        emit(c, ns, name, w->uid, AHPA_EVENT_WARNING, "PredictionUnavailable", msg, now_s);
    } else if (same(st, "True") && same(bst, "False")) {
        snprintf(msg, sizeof(msg), "plan published again (it was not: %s)",
                 cond_field(b, "Ready", "reason") ? cond_field(b, "Ready", "reason") : "?");
        emit(c, ns, name, w->uid, AHPA_EVENT_NORMAL, "PredictionAvailable", msg, now_s);
    }
    /* A user's HPA, a taken name or a failing reconcile: once per change. */
    reason = cond_field(a, AHPA_MHPA_CONDITION, "reason");
    if ((same(reason, "UserHPAConflict") || same(reason, "HPANameTaken") ||
         same(reason, "ManagedHPAFailed")) &&
        !same(cond_field(b, AHPA_MHPA_CONDITION, "reason"), reason))
        emit(c, ns, name, w->uid, AHPA_EVENT_WARNING, reason,
             cond_field(a, AHPA_MHPA_CONDITION, "message"), now_s);
}

/* The managed HPA's writes are events themselves (they happen once). */
static void mhpa_events(struct ahpa_controller *c, const struct ahpa_controller_plan *p,
                        const char *uid, const struct ahpa_controller__mhpa_result *r,
                        int64_t now_s)
{
    switch (r->action) {
    case AHPA_MHPA_CREATED:
    case AHPA_MHPA_UPDATED:
    case AHPA_MHPA_DELETED:
        emit(c, p->ns, p->name, uid, AHPA_EVENT_NORMAL, r->reason, r->message, now_s);
        break;
    default:
        break;
    }
}

/* Every replica notes the strategy (so that a new leader knows the last
 * one); the leader records a change. */
static void strategy_event(struct ahpa_controller *c, const struct ahpa_controller_plan *p,
                           const char *uid, int64_t now_s)
{
    char prev[AHPA_EVENTS_STRATEGY_MAX], msg[160];
    const char *now = p->strategy && p->strategy[0] ? p->strategy : "observer";
    if (!ahpa_controller__events_strategy(recorder(c), uid, now, now_s, prev, sizeof(prev)))
        return;
    snprintf(msg, sizeof(msg), "scaleStrategy changed from %s to %s", prev, now);
    emit(c, p->ns, p->name, uid, AHPA_EVENT_NORMAL, "StrategyChanged", msg, now_s);
}

/* The managed HPA of a planned AHPA, with the limits the planner used
 * (leader only). True when *r holds a result for the status. */
static bool reconcile_mhpa(struct ahpa_controller *c, const struct ahpa_controller_plan *p,
                           const json_t *ahpa, struct ahpa_controller__mhpa_result *r)
{
    if (!may_write(c))
        return false;
    int32_t max = p->max_in_force >= 1 ? p->max_in_force : 1;
    int32_t min = p->min_in_force < max ? p->min_in_force : max;
    struct ahpa_controller__mhpa_options o = {.tolerance = c->opt.mhpa_tolerance};
    struct ahpa_error err = {0};
    int rc = ahpa_controller__mhpa_reconcile(c->opt.kube, ahpa, min, max, &o, r, &err);
    atomic_fetch_add(&c->cluster->mhpa_writes, r->writes);
    if (rc < 0) {
        atomic_fetch_add(&c->cluster->mhpa_failures, 1);
        char what[300];
        snprintf(what, sizeof(what), "managed HPA of %s/%s", p->ns, p->name);
        AHPA_LOG_WARN_REPEAT(what, ahpa_error_message(&err, rc), "%s: %s", what,
                             ahpa_error_message(&err, rc));
    }
    return r->status != NULL && r->reason != NULL;
}

/* A planned AHPA: strategy note, managed HPA, status, and their Events. */
static void write_plan(struct ahpa_controller *c, const struct ahpa_controller_plan *p,
                       int64_t now_s)
{
    struct ahpa_kube_obj *obj = ahpa_kube_informer_get(c->cluster->inf, p->ns, p->name);
    if (obj == NULL)
        return; /* deleted meanwhile: garbage collection takes its HPA */
    const char *uid = json_string_value(json_object_get(json_object_get(obj->json, "metadata"),
                                                        "uid"));
    char uidc[128];
    snprintf(uidc, sizeof(uidc), "%s", uid ? uid : "");
    strategy_event(c, p, uidc, now_s);
    struct ahpa_controller__mhpa_result r;
    struct plan_status ps = {p, NULL};
    if (reconcile_mhpa(c, p, obj->json, &r)) {
        ps.mhpa = &r;
        mhpa_events(c, p, uidc, &r, now_s);
    }
    ahpa_kube_obj_release(obj);
    struct written w;
    write_one(c, p->ns, p->name, want_plan, &ps, now_s, &w);
    if (w.after != NULL)
        status_events(c, p->ns, p->name, &w, now_s);
    written_dispose(&w);
}

void ahpa_controller__write_statuses(struct ahpa_controller *c,
                                     const struct ahpa_controller__snapshot_data *s,
                                     int64_t now_s, int64_t deadline_ms)
{
    struct ahpa_controller__cluster *k = c->cluster;
    /* A cycle that ran past the next one's start still gets a quarter of
     * an interval of writes, or its statuses would never be written. */
    if (deadline_ms < wall_ms() + c->opt.interval_ms / 4)
        deadline_ms = wall_ms() + c->opt.interval_ms / 4;
    /* Round robin: the plans, then the invalid objects, from where the
     * last call ran out of time, so that the objects at the front (whose
     * status changes every cycle) cannot starve those behind them. */
    size_t total = s->n + k->nentries;
    size_t start = total ? k->write_cursor % total : 0;
    for (size_t j = 0; j < total; j++) {
        size_t i = (start + j) % total;
        struct ahpa_controller__entry *e = i >= s->n ? &k->entries[i - s->n] : NULL;
        if (e != NULL && e->error == NULL)
            continue;
        if (atomic_load(&c->stopping) || wall_ms() >= deadline_ms) {
            k->write_cursor = i;
            atomic_fetch_add(&k->status_deferred, total - j);
            AHPA_LOG_V(1, "status writes: out of time, %zu objects left for after the next cycle",
                       total - j);
            return;
        }
        if (e == NULL) {
            write_plan(c, &s->plans[i], now_s);
        } else {
            struct written w;
            write_one(c, e->ns, e->name, want_invalid, e, now_s, &w);
            if (w.after != NULL)
                status_events(c, e->ns, e->name, &w, now_s);
            written_dispose(&w);
        }
    }
}
