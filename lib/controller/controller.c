/* The controller's loop, its published snapshot and its metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/cron.h"
#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/planner.h"
#include "controller_int.h"

#define DEFAULT_USAGE_QUERY                                                                 \
    "sum(avg by (pod) (DCGM_FI_DEV_GPU_UTIL{namespace=\"<<.Namespace>>\","                \
    "pod=~\"<<.Name>>-[a-z0-9]+-[a-z0-9]+\"}))"
/* A StatefulSet's pods are <name>-<ordinal>. */
#define DEFAULT_USAGE_QUERY_STATEFULSET                                                     \
    "sum(avg by (pod) (DCGM_FI_DEV_GPU_UTIL{namespace=\"<<.Namespace>>\","                \
    "pod=~\"<<.Name>>-[0-9]+\"}))"
/* Cluster mode with the pod cache, a target that is neither a Deployment
 * nor a StatefulSet (any kind with a scale subresource): its pods by name,
 * whatever their naming. */
#define DEFAULT_USAGE_QUERY_PODS                                                            \
    "sum(avg by (pod) (DCGM_FI_DEV_GPU_UTIL{namespace=\"<<.Namespace>>\","                \
    "pod=~\"<<.Pods>>\"}))"
#define DEFAULT_REPLICAS_QUERY                                                              \
    "max(kube_deployment_status_replicas{namespace=\"<<.Namespace>>\",deployment=\"<<.Name>>\"})"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- snapshots --------------------------------------------------------------- */

static void plan_strings_free(struct ahpa_controller_plan *p)
{
    free((char *)p->ns);
    free((char *)p->name);
    free((char *)p->strategy);
    free((char *)p->target_ref);
    free((char *)p->metric);
    free((char *)p->source);
    free((char *)p->error);
    free((char *)p->metrics_text);
}

static void snapshot_destroy(void *obj)
{
    struct ahpa_controller__snapshot_data *s = obj;
    for (size_t i = 0; i < s->n; i++)
        plan_strings_free(&s->plans[i]);
    free(s->plans);
    for (size_t i = 0; i < s->nerrors; i++)
        free(s->errors[i]);
    free(s->errors);
    free(s);
}

static struct ahpa_controller__snapshot_data *snapshot_new(void)
{
    struct ahpa_controller__snapshot_data *s = ahpa_calloc(1, sizeof(*s));
    ahpa_ref_init(&s->ref, snapshot_destroy);
    return s;
}

struct ahpa_controller_snapshot *ahpa_controller_snapshot(struct ahpa_controller *c)
{
    return (struct ahpa_controller_snapshot *)ahpa_snapshot_get(&c->snapshot);
}

void ahpa_controller_snapshot_release(struct ahpa_controller_snapshot *s)
{
    if (s != NULL)
        ahpa_ref_release(&((struct ahpa_controller__snapshot_data *)s)->ref);
}

size_t ahpa_controller_snapshot_count(const struct ahpa_controller_snapshot *s)
{
    return ((const struct ahpa_controller__snapshot_data *)s)->n;
}

const struct ahpa_controller_plan *
ahpa_controller_snapshot_at(const struct ahpa_controller_snapshot *s, size_t i)
{
    const struct ahpa_controller__snapshot_data *d = (const void *)s;
    return i < d->n ? &d->plans[i] : NULL;
}

const struct ahpa_controller_plan *
ahpa_controller_snapshot_find(const struct ahpa_controller_snapshot *s, const char *ns,
                              const char *name)
{
    const struct ahpa_controller__snapshot_data *d = (const void *)s;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->plans[i].ns, ns) == 0 && strcmp(d->plans[i].name, name) == 0)
            return &d->plans[i];
    return NULL;
}

size_t ahpa_controller_snapshot_errors(const struct ahpa_controller_snapshot *s,
                                       const char *const **errors)
{
    const struct ahpa_controller__snapshot_data *d = (const void *)s;
    *errors = (const char *const *)d->errors;
    return d->nerrors;
}

static void add_error(struct ahpa_controller__snapshot_data *s, const char *path, const char *msg)
{
    size_t len = strlen(path) + strlen(msg) + 3;
    s->errors = ahpa_reallocarray(s->errors, s->nerrors + 1, sizeof(char *));
    s->errors[s->nerrors] = ahpa_malloc(len);
    snprintf(s->errors[s->nerrors++], len, "%s: %s", path, msg);
}

/* --- lifecycle ------------------------------------------------------------------ */

struct ahpa_controller *ahpa_controller_new(const struct ahpa_controller_options *opt,
                                            struct ahpa_error *err)
{
    if (opt->prom == NULL || (opt->ahpa_dir == NULL && opt->kube == NULL)) {
        ahpa_error_set(err, AHPA_EINVAL,
                       "the controller needs Prometheus and --ahpa-dir or a Kubernetes API");
        return NULL;
    }
    struct ahpa_controller *c = ahpa_calloc(1, sizeof(*c));
    c->opt = *opt;
    if (c->opt.interval_ms <= 0)
        c->opt.interval_ms = 60000;
    if (c->opt.step_s <= 0)
        c->opt.step_s = 60;
    if (c->opt.history_s <= 0)
        c->opt.history_s = 7 * 86400;
    if (c->opt.refit_s <= 0)
        c->opt.refit_s = 3600;
    bool pods = opt->pods != NULL && opt->ahpa_dir == NULL;
    const char *mq_flags[AHPA_CONTROLLER__MQ_COUNT] = {
        [AHPA_CONTROLLER__MQ_CPU_USAGE] = opt->cpu_usage_query,
        [AHPA_CONTROLLER__MQ_CPU_REQUESTS] = opt->cpu_requests_query,
        [AHPA_CONTROLLER__MQ_MEMORY_USAGE] = opt->memory_usage_query,
        [AHPA_CONTROLLER__MQ_MEMORY_REQUESTS] = opt->memory_requests_query,
    };
    const char *flags[1 + AHPA_CONTROLLER__MQ_COUNT] = {opt->usage_query};
    for (int q = 0; q < AHPA_CONTROLLER__MQ_COUNT; q++)
        flags[1 + q] = mq_flags[q];
    for (int i = 0; !pods && i < 1 + AHPA_CONTROLLER__MQ_COUNT; i++)
        if (flags[i] != NULL && strstr(flags[i], "<<.Pods>>") != NULL) {
            ahpa_error_set(err, AHPA_ECONFIG, "a query's <<.Pods>> needs the pods from a "
                                              "Kubernetes API (cluster mode)");
            free(c);
            return NULL;
        }
    /* Deployments and StatefulSets keep their name patterns in cluster mode
     * too: a pattern matches the pods of earlier rollouts as well, so the
     * history fetched does not depend on when the adapter started (the
     * pods of the moment would lose the usage of deleted pods). Other
     * kinds, whose pods have no known naming, use the selected pods. */
    c->usage_query = ahpa_strdup(opt->usage_query ? opt->usage_query : DEFAULT_USAGE_QUERY);
    c->usage_query_statefulset =
        ahpa_strdup(opt->usage_query ? opt->usage_query : DEFAULT_USAGE_QUERY_STATEFULSET);
    c->usage_query_pods = !pods ? NULL
                          : ahpa_strdup(opt->usage_query ? opt->usage_query
                                                         : DEFAULT_USAGE_QUERY_PODS);
    c->replicas_query =
        ahpa_strdup(opt->replicas_query ? opt->replicas_query : DEFAULT_REPLICAS_QUERY);
    /* A template given by flag serves every kind of target, as
     * --ahpa-usage-query does. */
    for (int q = 0; q < AHPA_CONTROLLER__MQ_COUNT; q++) {
        c->mq[q] = ahpa_strdup(mq_flags[q] ? mq_flags[q] : ahpa_controller__mq_default(q, false));
        c->mq_sts[q] =
            ahpa_strdup(mq_flags[q] ? mq_flags[q] : ahpa_controller__mq_default(q, true));
        c->mq_pods[q] = !pods ? NULL
                        : ahpa_strdup(mq_flags[q] ? mq_flags[q]
                                                  : ahpa_controller__mq_default_pods(q));
    }
    pthread_mutex_init(&c->workloads_lock, NULL);
    pthread_mutex_init(&c->wake_lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    ahpa_snapshot_init(&c->snapshot);
    ahpa_snapshot_swap(&c->snapshot, &snapshot_new()->ref);
    if (opt->ahpa_dir == NULL && ahpa_controller__cluster_new(c, err) < 0) {
        ahpa_controller_free(c);
        return NULL;
    }
    return c;
}

static char *dup_or_empty(const char *s)
{
    return ahpa_strdup(s ? s : "");
}

/* The limits in force at now: spec and instanceBounds, as the planner
 * combines them (a bound raises the min or lowers the max; a conflict
 * gives the max). */
static void limits_in_force(const struct ahpa_controller *c, const struct ahpa_obj *o,
                            int64_t now_s, struct ahpa_controller_plan *p)
{
    p->min_in_force = o->min_replicas;
    p->max_in_force = o->max_replicas;
    if (o->bounds == NULL)
        return;
    struct ahpa_cron_in_force b;
    ahpa_cron_bounds_at(o->bounds, c->opt.zone, now_s, &b);
    if (b.min_replicas != AHPA_CRON_UNSET && b.min_replicas > p->min_in_force)
        p->min_in_force = b.min_replicas;
    if (b.max_replicas != AHPA_CRON_UNSET && b.max_replicas < p->max_in_force)
        p->max_in_force = b.max_replicas;
    if (p->min_in_force > p->max_in_force)
        p->min_in_force = p->max_in_force;
}

static void plan_copy(struct ahpa_controller_plan *dst, const struct ahpa_controller_plan *src)
{
    *dst = *src;
    dst->ns = dup_or_empty(src->ns);
    dst->name = dup_or_empty(src->name);
    dst->strategy = dup_or_empty(src->strategy);
    dst->target_ref = dup_or_empty(src->target_ref);
    dst->metric = dup_or_empty(src->metric);
    dst->source = dup_or_empty(src->source);
    dst->error = dup_or_empty(src->error);
    dst->metrics_text = dup_or_empty(src->metrics_text);
}

/* One AHPA's cycle into plans[i]. */
static void cycle_one(struct ahpa_controller *c, size_t i, struct ahpa_controller_plan *p,
                      int64_t now_s)
{
    struct ahpa_controller__workload *w = c->workloads[i];
    char error[256];
    ahpa_controller__workload_cycle(c, w, now_s, p, error, sizeof(error));
    const struct ahpa_obj *o = w->obj;
    const struct ahpa_obj_metric *m = ahpa_obj_primary_metric(o);
    char ref[320];
    snprintf(ref, sizeof(ref), "%s/%s", o->target_kind, o->target_name);
    p->ns = dup_or_empty(o->ns);
    p->name = dup_or_empty(o->name);
    p->strategy = dup_or_empty(ahpa_planner_strategy_name(o->strategy));
    p->target_ref = dup_or_empty(ref);
    /* The metric that drove the plan (workload_cycle sets it, borrowed). */
    p->metric = dup_or_empty(p->metric ? p->metric : m ? m->name : "");
    p->source = dup_or_empty(o->source);
    p->error = dup_or_empty(error);
    if (p->metrics_text == NULL)
        p->metrics_text = dup_or_empty("");
    p->quantile = o->quantile;
    p->scale_up_forward_s = o->scale_up_forward_s;
    p->generation = o->generation;
    if (p->t_s == 0)
        p->t_s = now_s;
    limits_in_force(c, o, p->t_s, p);
    if (p->planned) {
        p->min_in_force = p->plan.min_replicas;
        p->max_in_force = p->plan.max_replicas;
    }
}

/* AHPAs are independent: a few workers take them in turn, so a cycle is
 * not one Prometheus round trip after another. */
#define CYCLE_WORKERS 4

struct cycle_work {
    struct ahpa_controller *c;
    struct ahpa_controller__snapshot_data *s;
    int64_t now_s;
    const bool *skip; /* plans already filled (NULL: none) */
    atomic_size_t next;
};

static void *cycle_worker(void *arg)
{
    struct cycle_work *wk = arg;
    for (size_t i; !atomic_load(&wk->c->stopping) &&
                   (i = atomic_fetch_add(&wk->next, 1)) < wk->s->n;)
        if (wk->skip == NULL || !wk->skip[i])
            cycle_one(wk->c, i, &wk->s->plans[i], wk->now_s);
    return NULL;
}

static void run_cycles(struct ahpa_controller *c, struct ahpa_controller__snapshot_data *s,
                       int64_t now_s, const bool *skip)
{
    struct cycle_work wk = {c, s, now_s, skip, 0};
    pthread_t th[CYCLE_WORKERS];
    size_t started = 0;
    for (size_t k = 0; k + 1 < CYCLE_WORKERS && k + 1 < s->n; k++)
        if (pthread_create(&th[started], NULL, cycle_worker, &wk) == 0)
            started++;
    cycle_worker(&wk); /* this thread works too */
    for (size_t k = 0; k < started; k++)
        pthread_join(th[k], NULL);
}

/* Fills the plans of the workloads that need no new cycle (partial
 * refresh) from the published snapshot; returns which (caller frees). */
static bool *keep_plans(struct ahpa_controller *c, struct ahpa_controller__snapshot_data *s)
{
    bool *skip = ahpa_calloc(s->n ? s->n : 1, sizeof(bool));
    struct ahpa_controller_snapshot *prev = ahpa_controller_snapshot(c);
    for (size_t i = 0; i < s->n; i++) {
        const struct ahpa_controller__workload *w = c->workloads[i];
        const struct ahpa_controller_plan *p =
            w->replan ? NULL : ahpa_controller_snapshot_find(prev, w->obj->ns, w->obj->name);
        if (p != NULL) {
            plan_copy(&s->plans[i], p);
            skip[i] = true;
        }
    }
    ahpa_controller_snapshot_release(prev);
    return skip;
}

/* Re-reads the objects (files or the informer's store), plans every AHPA
 * (full) or only the new and redefined ones (the others keep their
 * plans), publishes, and in cluster mode writes the statuses until
 * deadline_ms. Returns the number of AHPAs. */
static int refresh(struct ahpa_controller *c, int64_t now_s, bool full, int64_t deadline_ms,
                   struct ahpa_error *err)
{
    int64_t t0 = now_ms();
    bool changed;
    struct ahpa_controller__snapshot_data *s = snapshot_new();
    int rc = 0;
    if (c->cluster != NULL)
        ahpa_controller__cluster_sync(c, &changed);
    else
        rc = ahpa_controller__scan(c, &changed, err);
    if (rc < 0)
        add_error(s, c->opt.ahpa_dir, ahpa_error_message(err, rc));
    for (size_t i = 0; i < c->nfiles; i++) {
        if (c->files[i].error != NULL)
            add_error(s, c->files[i].path, c->files[i].error);
        for (size_t k = 0; k < c->files[i].nobj_errors; k++)
            add_error(s, c->files[i].path, c->files[i].obj_errors[k]);
    }
    for (size_t i = 0; i < c->ndup_errors; i++) {
        s->errors = ahpa_reallocarray(s->errors, s->nerrors + 1, sizeof(char *));
        s->errors[s->nerrors++] = ahpa_strdup(c->dup_errors[i]);
    }
    s->plans = ahpa_calloc(c->nworkloads ? c->nworkloads : 1, sizeof(*s->plans));
    s->n = c->nworkloads;
    bool *skip = full ? NULL : keep_plans(c, s);
    run_cycles(c, s, now_s, skip);
    free(skip);
    if (atomic_load(&c->stopping)) {
        /* Cut short by a stop: the last complete plans stay published. */
        ahpa_ref_release(&s->ref);
        return ahpa_error_set(err, AHPA_EUNAVAIL, "controller stopping");
    }
    for (size_t i = 0; i < c->nworkloads; i++)
        c->workloads[i]->replan = false;
    ahpa_ref_retain(&s->ref); /* for the status writes below */
    ahpa_snapshot_swap(&c->snapshot, &s->ref);
    if (full) {
        atomic_fetch_add(&c->cycles, 1);
        atomic_store(&c->last_cycle_ms, now_ms());
        atomic_store(&c->last_cycle_duration_ms, now_ms() - t0);
    }
    AHPA_LOG_V(2, "controller %s: %zu AHPAs in %lldms", full ? "cycle" : "refresh",
               c->nworkloads, (long long)(now_ms() - t0));
    if (c->cluster != NULL)
        ahpa_controller__write_statuses(c, s, now_s, deadline_ms);
    ahpa_ref_release(&s->ref);
    return (int)c->nworkloads;
}

/* Cluster mode: the informer started and its first list in the store,
 * waiting up to wait_ms. */
static bool cluster_ready(struct ahpa_controller *c, int64_t wait_ms, struct ahpa_error *err)
{
    if (atomic_load(&c->stopping))
        return false;
    if (ahpa_controller__cluster_start(c, err) < 0)
        return false;
    if (!ahpa_kube_informer_wait_synced(c->cluster->inf, wait_ms))
        return false;
    ahpa_controller__cluster_wait_pods(c);
    return true;
}

int ahpa_controller_cycle(struct ahpa_controller *c, int64_t now_s, struct ahpa_error *err)
{
    if (c->cluster != NULL && !cluster_ready(c, 10000, err))
        return err->code ? -err->code
                         : ahpa_error_set(err, AHPA_EUNAVAIL,
                                          "AdvancedHorizontalPodAutoscaler informer not synced");
    return refresh(c, now_s, true, now_ms() + c->opt.interval_ms, err);
}

int ahpa_controller_refresh(struct ahpa_controller *c, int64_t now_s, struct ahpa_error *err)
{
    if (c->cluster != NULL && !cluster_ready(c, 10000, err))
        return err->code ? -err->code
                         : ahpa_error_set(err, AHPA_EUNAVAIL,
                                          "AdvancedHorizontalPodAutoscaler informer not synced");
    return refresh(c, now_s, false, now_ms() + c->opt.interval_ms, err);
}

/* The loop's work at one wake-up: a full cycle when it is due, else (in
 * cluster mode, after a callback) a partial refresh. Returns when the
 * next cycle is due (ms), or 0 to retry shortly (informer not synced). */
static int64_t loop_step(struct ahpa_controller *c, int64_t due_ms)
{
    struct ahpa_error err = {0};
    if (c->cluster != NULL) {
        if (!cluster_ready(c, 0, &err)) {
            if (err.code != 0)
                AHPA_LOG_WARN("AdvancedHorizontalPodAutoscaler informer: %s", err.msg);
            return 0;
        }
        atomic_store(&c->cluster->dirty, false);
    }
    /* The next cycle starts on the next multiple of the interval of the
     * wall clock, so that every replica of the adapter (and a restarted
     * one) plans at the same moments from the same data. Status writes
     * stop at that moment too. */
    int64_t t = now_ms();
    bool full = t >= due_ms;
    int64_t next_ms = full ? (t / c->opt.interval_ms + 1) * c->opt.interval_ms : due_ms;
    refresh(c, t / 1000, full, next_ms, &err);
    return next_ms;
}

static void *loop(void *arg)
{
    struct ahpa_controller *c = arg;
    int64_t due_ms = 0; /* the first cycle at once */
    pthread_mutex_lock(&c->wake_lock);
    while (!c->stop) {
        pthread_mutex_unlock(&c->wake_lock);
        int64_t next = loop_step(c, due_ms);
        pthread_mutex_lock(&c->wake_lock);
        if (c->stop)
            break;
        /* Not synced yet: look again in 100 ms (a callback wakes us sooner). */
        int64_t wake_ms = next != 0 ? next : now_ms() + 100;
        if (next != 0)
            due_ms = next;
        if (c->cluster != NULL && atomic_load(&c->cluster->dirty))
            continue;
        struct timespec ts = {(time_t)(wake_ms / 1000), (long)(wake_ms % 1000) * 1000000L};
        pthread_cond_timedwait(&c->wake, &c->wake_lock, &ts);
    }
    pthread_mutex_unlock(&c->wake_lock);
    return NULL;
}

int ahpa_controller_start(struct ahpa_controller *c, struct ahpa_error *err)
{
    if (c->running)
        return 0;
    c->stop = false;
    atomic_store(&c->stopping, false);
    if (c->cluster != NULL && ahpa_controller__cluster_start(c, err) < 0)
        return -err->code;
    if (pthread_create(&c->thread, NULL, loop, c) != 0)
        return ahpa_error_set(err, AHPA_EINTERNAL, "cannot start the controller thread");
    c->running = true;
    return 0;
}

void ahpa_controller_stop(struct ahpa_controller *c)
{
    if (!c->running)
        return;
    atomic_store(&c->stopping, true);
    pthread_mutex_lock(&c->wake_lock);
    c->stop = true;
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->wake_lock);
    pthread_join(c->thread, NULL);
    ahpa_controller__cluster_stop(c); /* no callback after this */
    c->running = false;
}

void ahpa_controller_free(struct ahpa_controller *c)
{
    if (c == NULL)
        return;
    ahpa_controller_stop(c);
    ahpa_controller__cluster_stop(c);
    ahpa_controller__cluster_free(c);
    for (size_t i = 0; i < c->nworkloads; i++)
        ahpa_controller__workload_release(c->workloads[i]);
    free(c->workloads);
    for (size_t i = 0; i < c->ndup_errors; i++)
        free(c->dup_errors[i]);
    free(c->dup_errors);
    for (size_t i = 0; i < c->nfiles; i++) {
        ahpa_obj_list_free(c->files[i].objs, c->files[i].nobjs);
        ahpa_obj_errs_free(c->files[i].obj_errors, c->files[i].nobj_errors);
        free(c->files[i].error);
        free(c->files[i].path);
    }
    free(c->files);
    ahpa_snapshot_dispose(&c->snapshot);
    pthread_mutex_destroy(&c->workloads_lock);
    pthread_mutex_destroy(&c->wake_lock);
    pthread_cond_destroy(&c->wake);
    free(c->usage_query);
    free(c->usage_query_statefulset);
    free(c->usage_query_pods);
    free(c->replicas_query);
    for (int q = 0; q < AHPA_CONTROLLER__MQ_COUNT; q++) {
        free(c->mq[q]);
        free(c->mq_sts[q]);
        free(c->mq_pods[q]);
    }
    free(c);
}

/* --- metrics --------------------------------------------------------------------- */

static void gauge_header(struct ahpa_buf *out, const char *name, const char *help)
{
    ahpa_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void cluster_collect(struct ahpa_controller__cluster *k, struct ahpa_buf *out)
{
    static const struct {
        const char *name, *help;
    } counters[] = {
        {"ahpa_controller_status_writes_total", "AHPA status subresource patches that succeeded."},
        {"ahpa_controller_status_failures_total", "AHPA status patches that failed."},
        {"ahpa_controller_status_conflicts_total", "AHPA status patches answered 409 (retried)."},
        {"ahpa_controller_status_deferred_total",
         "AHPA statuses left for after the next cycle (the cycle's time was up)."},
        {"ahpa_controller_events_total", "Events on AHPAs created or counted again."},
        {"ahpa_controller_status_not_leader_total",
         "AHPA status writes left out because this replica is not the elected leader."},
        {"ahpa_controller_managed_hpa_writes_total",
         "Managed HorizontalPodAutoscaler creates, updates and deletes sent."},
        {"ahpa_controller_managed_hpa_failures_total",
         "Managed HorizontalPodAutoscaler reconciles that failed (retried next cycle)."},
    };
    unsigned long long v[] = {atomic_load(&k->status_writes), atomic_load(&k->status_failures),
                              atomic_load(&k->status_conflicts),
                              atomic_load(&k->status_deferred), atomic_load(&k->events),
                              atomic_load(&k->status_not_leader),
                              atomic_load(&k->mhpa_writes), atomic_load(&k->mhpa_failures)};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        ahpa_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counters[i].name,
                        counters[i].help, counters[i].name, counters[i].name, v[i]);
}

void ahpa_controller_collect(void *controller, struct ahpa_buf *out)
{
    struct ahpa_controller *c = controller;
    struct ahpa_controller_snapshot *snap = ahpa_controller_snapshot(c);
    size_t n = ahpa_controller_snapshot_count(snap);
    static const struct {
        const char *name, *help;
        int field;
    } gauges[] = {
        {"ahpa_proactive_pods", "Pods the forecast asks for.", 0},
        {"ahpa_reactive_pods", "Pods the current usage asks for (stock HPA rule).", 1},
        {"ahpa_requested_pods", "Pods planned: by strategy, within bounds and min/max.", 2},
        {"ahpa_min_pods", "Lower limit in force (spec and instanceBounds).", 3},
        {"ahpa_max_pods", "Upper limit in force (spec and instanceBounds).", 4},
        {"ahpa_target_metric", "Target per pod (percent for utilisation).", 5},
        {"ahpa_current_metric", "Current per-pod average of the metric.", 6},
        {"ahpa_current_pods", "Current replicas of the target.", 7},
        {"ahpa_forecast_coverage_ratio", "Share of actuals at or under the quantile forecast.", 8},
        {"ahpa_forecast_pinball_loss", "Mean pinball loss of the quantile forecast.", 9},
    };
    for (size_t g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
        gauge_header(out, gauges[g].name, gauges[g].help);
        for (size_t i = 0; i < n; i++) {
            const struct ahpa_controller_plan *p = ahpa_controller_snapshot_at(snap, i);
            double v = NAN;
            switch (gauges[g].field) {
            case 0: v = p->planned && p->plan.proactive >= 0 ? p->plan.proactive : NAN; break;
            case 1: v = p->planned ? p->plan.reactive : NAN; break;
            case 2: v = p->planned ? p->plan.final : NAN; break;
            case 3: v = p->planned ? p->plan.min_replicas : NAN; break;
            case 4: v = p->planned ? p->plan.max_replicas : NAN; break;
            case 5: v = p->target; break;
            case 6: v = p->current_utilization; break;
            case 7: v = p->replicas_known ? p->replicas : NAN; break;
            case 8: v = p->coverage; break;
            default: v = p->pinball; break;
            }
            if (isfinite(v))
                ahpa_buf_printf(out, "%s{namespace=\"%s\",ahpa=\"%s\",strategy=\"%s\"} %g\n",
                                gauges[g].name, p->ns, p->name, p->strategy, v);
        }
    }
    const char *const *errors;
    size_t nerrors = ahpa_controller_snapshot_errors(snap, &errors);
    ahpa_controller_snapshot_release(snap);
    ahpa_buf_printf(out,
                    "# HELP ahpa_controller_skipped Files and objects skipped (bad, "
                    "duplicate) in the last cycle.\n"
                    "# TYPE ahpa_controller_skipped gauge\n"
                    "ahpa_controller_skipped %zu\n", nerrors);
    ahpa_buf_printf(out,
                    "# HELP ahpa_controller_cycles_total Planning cycles run.\n"
                    "# TYPE ahpa_controller_cycles_total counter\n"
                    "ahpa_controller_cycles_total %llu\n"
                    "# HELP ahpa_controller_cycle_duration_seconds Duration of the last cycle.\n"
                    "# TYPE ahpa_controller_cycle_duration_seconds gauge\n"
                    "ahpa_controller_cycle_duration_seconds %.3f\n"
                    "# HELP ahpa_controller_prometheus_queries_total Queries the controller sent.\n"
                    "# TYPE ahpa_controller_prometheus_queries_total counter\n"
                    "ahpa_controller_prometheus_queries_total %llu\n"
                    "# HELP ahpa_controller_prometheus_query_failures_total Controller queries "
                    "that failed.\n"
                    "# TYPE ahpa_controller_prometheus_query_failures_total counter\n"
                    "ahpa_controller_prometheus_query_failures_total %llu\n",
                    (unsigned long long)atomic_load(&c->cycles),
                    atomic_load(&c->last_cycle_duration_ms) / 1e3,
                    (unsigned long long)atomic_load(&c->queries),
                    (unsigned long long)atomic_load(&c->query_failures));
    if (c->cluster != NULL)
        cluster_collect(c->cluster, out);
}
