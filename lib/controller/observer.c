/* The predictionsobserver page of one AHPA, from its workload state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/cron.h"
#include "ahpa/error.h"
#include "ahpa/forecast.h"
#include "ahpa/mem.h"
#include "ahpa/planner.h"
#include "ahpa/report.h"
#include "controller_int.h"

struct series {
    int64_t *t;
    double *v, *v2;
    size_t n;
};

static void series_alloc(struct series *s, size_t n, bool two)
{
    s->t = ahpa_calloc(n ? n : 1, sizeof(int64_t));
    s->v = ahpa_calloc(n ? n : 1, sizeof(double));
    s->v2 = two ? ahpa_calloc(n ? n : 1, sizeof(double)) : NULL;
    s->n = 0;
}

static void series_free(struct series *s)
{
    free(s->t);
    free(s->v);
    free(s->v2);
}

static void from_ring(struct series *s, const struct ahpa_controller__ring *r, int64_t step)
{
    series_alloc(s, r->n, false);
    for (size_t i = 0; i < r->n; i++) {
        s->t[s->n] = r->t0_s + (int64_t)i * step;
        s->v[s->n++] = r->v[i];
    }
}

/* Past predictions (issued F earlier) then the next 24 h. */
static void predictions(const struct ahpa_controller__mstate *w, int64_t step,
                        struct series *s)
{
    const struct ahpa_controller__ring *pp = &w->pred_point, *pu = &w->pred_upper;
    series_alloc(s, pu->n + w->nfuture, true);
    for (size_t i = 0; i < pu->n; i++) {
        int64_t t = pu->t0_s + (int64_t)i * step;
        if (w->nfuture > 0 && t >= w->future_t0_s)
            break;
        s->t[s->n] = t;
        size_t j = pp->n && t >= pp->t0_s ? (size_t)((t - pp->t0_s) / step) : pp->n;
        s->v[s->n] = j < pp->n ? pp->v[j] : NAN;
        s->v2[s->n++] = pu->v[i];
    }
    for (size_t i = 0; i < w->nfuture; i++) {
        s->t[s->n] = w->future_t0_s + (int64_t)i * step;
        s->v[s->n] = w->future_point[i];
        s->v2[s->n++] = w->future_upper[i];
    }
}

/* Predicted pods for every predicted step: the stabilised plan, with the
 * bounds in force. */
static void predicted_pods(const struct ahpa_controller *c, const struct ahpa_obj *o,
                           const struct ahpa_controller__mstate *m, const struct series *pred,
                           int64_t step, struct series *out)
{
    series_alloc(out, pred->n, false);
    if (pred->n == 0 || m == NULL)
        return;
    int32_t *pods = ahpa_calloc(pred->n, sizeof(int32_t));
    int32_t *bmin = NULL, *bmax = NULL;
    if (o->bounds != NULL) {
        bmin = ahpa_calloc(pred->n, sizeof(int32_t));
        bmax = ahpa_calloc(pred->n, sizeof(int32_t));
        ahpa_cron_bounds_fill(o->bounds, c->opt.zone, pred->t[0], step, pred->n, bmin, bmax);
    }
    if (ahpa_planner_series_stable(pred->v2, pred->n, step, o->scale_up_forward_s, m->target,
                                   o->scale_down_stabilization_s, AHPA_PLANNER_TOLERANCE,
                                   o->min_replicas, o->max_replicas, bmin, bmax, pods,
                                   NULL) == 0) {
        for (size_t i = 0; i < pred->n; i++) {
            out->t[out->n] = pred->t[i];
            out->v[out->n++] = pods[i] >= 0 ? pods[i] : NAN;
        }
    }
    free(pods);
    free(bmin);
    free(bmax);
}

static void fill_plan(struct ahpa_report_input *in, const struct ahpa_controller_plan *p)
{
    if (p == NULL)
        return;
    in->current_replicas = p->replicas_known ? p->replicas : -1; /* shown as "-" */
    in->current_utilization = p->current_utilization;
    if (p->planned) {
        in->proactive = p->plan.proactive;
        in->reactive = p->plan.reactive;
        in->desired = p->plan.final;
        in->plan_reason = p->plan.text;
    } else {
        in->plan_reason = p->error;
    }
    in->coverage_recent = p->coverage;
    in->pinball_recent = p->pinball;
}

static int render_locked(struct ahpa_controller *c, struct ahpa_controller__workload *w,
                         const struct ahpa_controller_plan *plan, struct ahpa_buf *out,
                         struct ahpa_error *err)
{
    const struct ahpa_obj *o = w->obj;
    /* The metric that drove the last plan: its history and forecast. */
    static const struct ahpa_controller__mstate none;
    const struct ahpa_controller__mstate *m = w->nms > 0 ? &w->ms[w->driving] : NULL;
    const struct ahpa_controller__mstate *ms = m ? m : &none;
    const int64_t step = c->opt.step_s;
    struct series actual, pods, pred, ppods;
    from_ring(&actual, &ms->usage, step);
    from_ring(&pods, &w->replicas, step);
    predictions(ms, step, &pred);
    predicted_pods(c, o, m, &pred, step, &ppods);

    char ref[320], summary[160];
    snprintf(ref, sizeof(ref), "%s/%s", o->target_kind, o->target_name);
    struct ahpa_forecast_info info = {0};
    if (ms->model != NULL)
        ahpa_forecast_describe(ms->model, &info);
    if (info.seasonal)
        snprintf(summary, sizeof(summary), "%s, period %.1f h, seasonal gain %.2f, %zu steps",
                 ahpa_forecast_method_name(info.method), info.period_s / 3600.0,
                 info.seasonal_gain, info.history_steps);
    else
        snprintf(summary, sizeof(summary), "%s, no period, %zu steps",
                 ahpa_forecast_method_name(info.method), info.history_steps);

    struct ahpa_report_input in;
    ahpa_report_input_init(&in);
    in.name = o->name;
    in.namespace_ = o->ns;
    in.strategy = ahpa_planner_strategy_name(o->strategy);
    in.target_ref = ref;
    /* Several metrics: which one drove the plan and what the others ask. */
    char metric[512];
    const char *text = plan && plan->metrics_text ? plan->metrics_text : "";
    snprintf(metric, sizeof(metric), "%s%s%s%s", m ? m->name : "", text[0] ? " (" : "", text,
             text[0] ? ")" : "");
    in.metric = metric;
    in.target_utilization = m && m->target_type == AHPA_OBJ_TARGET_UTILIZATION ? m->target : NAN;
    in.quantile = o->quantile;
    in.scale_up_forward_s = o->scale_up_forward_s;
    in.min_replicas = o->min_replicas;
    in.max_replicas = o->max_replicas;
    in.now_s = plan && plan->t_s ? plan->t_s : (pred.n ? pred.t[0] : 0);
    in.timezone_label = c->opt.timezone_name;
    in.actual_t = actual.t, in.actual = actual.v, in.n_actual = actual.n;
    in.pred_t = pred.t, in.pred_point = pred.v, in.pred_upper = pred.v2, in.n_pred = pred.n;
    in.pods_actual_t = pods.t, in.pods_actual = pods.v, in.n_pods_actual = pods.n;
    in.pods_pred_t = ppods.t, in.pods_pred = ppods.v, in.n_pods_pred = ppods.n;
    in.bounds_text = (const char *const *)o->bounds_text;
    in.n_bounds = o->nbounds_text;
    in.model_summary = summary;
    fill_plan(&in, plan);
    int rc = ahpa_report_render(&in, out, err);
    series_free(&actual);
    series_free(&pods);
    series_free(&pred);
    series_free(&ppods);
    return rc;
}

int ahpa_controller_render(struct ahpa_controller *c, const char *ns, const char *name,
                           struct ahpa_buf *out, struct ahpa_error *err)
{
    /* A reference to the workload (the array may be replaced meanwhile),
     * then its lock for the render only. */
    struct ahpa_controller__workload *w = NULL;
    size_t nslen = strlen(ns);
    pthread_mutex_lock(&c->workloads_lock);
    for (size_t i = 0; i < c->nworkloads && w == NULL; i++) {
        const char *key = c->workloads[i]->key; /* "ns/name", never changes */
        if (strncmp(key, ns, nslen) == 0 && key[nslen] == '/' &&
            strcmp(key + nslen + 1, name) == 0)
            w = ahpa_ref_retain(&c->workloads[i]->ref);
    }
    pthread_mutex_unlock(&c->workloads_lock);
    if (w == NULL)
        return ahpa_error_set(err, AHPA_ENOTFOUND,
                              "advancedhorizontalpodautoscalers \"%s\" not found", name);
    struct ahpa_controller_snapshot *snap = ahpa_controller_snapshot(c);
    const struct ahpa_controller_plan *plan = ahpa_controller_snapshot_find(snap, ns, name);
    pthread_mutex_lock(&w->lock);
    int rc = render_locked(c, w, plan, out, err);
    pthread_mutex_unlock(&w->lock);
    ahpa_controller_snapshot_release(snap);
    ahpa_controller__workload_release(w);
    return rc;
}
