/* One AHPA: its history, its forecast model and its planning cycle. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/cron.h"
#include "ahpa/error.h"
#include "ahpa/forecast.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/planner.h"
#include "ahpa/prom.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"
#include "controller_int.h"
#include "metric.h"

#define FUTURE_S (24 * 3600)
/* Prometheus answers at most 11,000 points per series and range query;
 * 7 days at 60 s (10,081 points) fit in one. */
#define MAX_POINTS_PER_QUERY 11000

/* --- lifecycle ------------------------------------------------------------------- */

/* Samples kept per ring: the window of the last refit boundary plus
 * what came since. */
static size_t history_cap(const struct ahpa_controller *c)
{
    return (size_t)((c->opt.history_s + c->opt.refit_s) / c->opt.step_s) + 2;
}

static void mstate_init(const struct ahpa_controller *c, struct ahpa_controller__mstate *s,
                        const struct ahpa_obj_metric *m)
{
    memset(s, 0, sizeof(*s));
    struct ahpa_buf id;
    ahpa_buf_init(&id);
    ahpa_controller__metric_identity(m, &id);
    s->identity = ahpa_strdup(ahpa_buf_cstr(&id));
    ahpa_buf_dispose(&id);
    s->name = ahpa_strdup(m->name);
    ahpa_controller__metric_noun(m, s->noun, sizeof(s->noun));
    s->target_type = m->target_type;
    s->target = m->target;
    size_t cap = history_cap(c);
    ahpa_controller__ring_init(&s->usage, cap);
    ahpa_controller__ring_init(&s->pred_point, cap + 128);
    ahpa_controller__ring_init(&s->pred_upper, cap + 128);
}

static void mstate_dispose(struct ahpa_controller__mstate *s)
{
    ahpa_controller__ring_dispose(&s->usage);
    ahpa_controller__ring_dispose(&s->pred_point);
    ahpa_controller__ring_dispose(&s->pred_upper);
    ahpa_forecast_free(s->model);
    ahpa_planner_policy_free(s->policy);
    free(s->future_point);
    free(s->future_upper);
    free(s->identity);
    free(s->name);
}

/* Makes w->ms match w->obj->metrics: a metric of the same identity keeps
 * its history and model (its target value may have changed), a new one
 * starts empty, a removed one is dropped. Under the workload's lock. */
static void sync_metrics(const struct ahpa_controller *c, struct ahpa_controller__workload *w)
{
    const struct ahpa_obj *o = w->obj;
    struct ahpa_controller__mstate *ms = ahpa_calloc(o->nmetrics ? o->nmetrics : 1, sizeof(*ms));
    bool *taken = ahpa_calloc(w->nms ? w->nms : 1, sizeof(bool));
    struct ahpa_buf id;
    ahpa_buf_init(&id);
    for (size_t i = 0; i < o->nmetrics; i++) {
        ahpa_buf_reset(&id);
        ahpa_controller__metric_identity(&o->metrics[i], &id);
        size_t k = 0;
        while (k < w->nms && (taken[k] || strcmp(w->ms[k].identity, ahpa_buf_cstr(&id)) != 0))
            k++;
        if (k < w->nms) {
            ms[i] = w->ms[k];
            ms[i].target = o->metrics[i].target;
            taken[k] = true;
        } else {
            mstate_init(c, &ms[i], &o->metrics[i]);
        }
    }
    for (size_t k = 0; k < w->nms; k++)
        if (!taken[k])
            mstate_dispose(&w->ms[k]);
    ahpa_buf_dispose(&id);
    free(taken);
    free(w->ms);
    w->ms = ms;
    w->nms = o->nmetrics;
    if (w->driving >= w->nms)
        w->driving = 0;
}

static void workload_destroy(void *obj)
{
    struct ahpa_controller__workload *w = obj;
    ahpa_controller__ring_dispose(&w->replicas);
    for (size_t i = 0; i < w->nms; i++)
        mstate_dispose(&w->ms[i]);
    free(w->ms);
    ahpa_obj_free(w->obj);
    free(w->key);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

struct ahpa_controller__workload *ahpa_controller__workload_new(struct ahpa_obj *obj)
{
    struct ahpa_controller__workload *w = ahpa_calloc(1, sizeof(*w));
    ahpa_ref_init(&w->ref, workload_destroy);
    pthread_mutex_init(&w->lock, NULL);
    w->obj = obj;
    size_t keylen = strlen(obj->ns) + strlen(obj->name) + 2;
    w->key = ahpa_malloc(keylen);
    snprintf(w->key, keylen, "%s/%s", obj->ns, obj->name);
    return w;
}

void ahpa_controller__workload_release(struct ahpa_controller__workload *w)
{
    if (w != NULL)
        ahpa_ref_release(&w->ref);
}

void ahpa_controller__render_query(const char *tmpl, const char *ns, const char *name,
                                   struct ahpa_buf *out)
{
    const char *p = tmpl;
    while (*p != '\0') {
        if (strncmp(p, "<<.Namespace>>", 14) == 0) {
            ahpa_buf_puts(out, ns);
            p += 14;
        } else if (strncmp(p, "<<.Name>>", 9) == 0) {
            ahpa_buf_puts(out, name);
            p += 9;
        } else {
            ahpa_buf_putc(out, *p++);
        }
    }
}

/* --- fetching ----------------------------------------------------------------------- */

/* Samples of one series as fetched, before they are merged into a ring
 * (under the workload's lock). */
struct fetched {
    int64_t *t;
    double *v;
    size_t n, cap;
};

static void fetched_push(struct fetched *f, int64_t t, double v)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 256;
        f->t = ahpa_reallocarray(f->t, f->cap, sizeof(*f->t));
        f->v = ahpa_reallocarray(f->v, f->cap, sizeof(*f->v));
    }
    f->t[f->n] = t;
    f->v[f->n++] = v;
}

static void fetched_dispose(struct fetched *f)
{
    free(f->t);
    free(f->v);
    memset(f, 0, sizeof(*f));
}

static void fetched_merge(const struct fetched *f, struct ahpa_controller__ring *ring,
                          int64_t step)
{
    for (size_t i = 0; i < f->n; i++)
        ahpa_controller__ring_put(ring, step, f->t[i], f->v[i]);
}

/* query_range of a query over [start, end] (one series) into `out`.
 * Runs without the workload's lock. Non-finite values are kept as NaN
 * (missing). */
static int fetch_range(struct ahpa_controller *c, const char *query, struct fetched *out,
                       int64_t start, int64_t end, struct ahpa_error *err)
{
    const int64_t step = c->opt.step_s;
    int rc = 0;
    for (int64_t from = start; rc == 0 && from <= end;) {
        int64_t to = from + (MAX_POINTS_PER_QUERY - 1) * step;
        if (to > end)
            to = end;
        struct ahpa_prom_result res;
        ahpa_prom_result_init(&res);
        atomic_fetch_add(&c->queries, 1);
        rc = ahpa_prom_query_range(c->opt.prom, query, from * 1000, to * 1000,
                                   step * 1000, &res, err);
        if (rc < 0)
            atomic_fetch_add(&c->query_failures, 1);
        for (size_t s = 0; rc == 0 && s < res.n_series && s < 1; s++)
            for (size_t i = 0; i < res.series[s].n_samples; i++) {
                const struct ahpa_prom_sample *x = &res.series[s].samples[i];
                int64_t t = x->t_ms / 1000;
                fetched_push(out, t - t % step, isfinite(x->value) ? x->value : NAN);
            }
        ahpa_prom_result_dispose(&res);
        from = to + step;
    }
    return rc;
}

/* acc += f, step by step (both in time order): a step missing or NaN in
 * one is the other's value; in both, missing. */
static void fetched_add(struct fetched *acc, const struct fetched *f)
{
    struct fetched sum = {0};
    size_t i = 0, j = 0;
    while (i < acc->n || j < f->n) {
        if (j == f->n || (i < acc->n && acc->t[i] < f->t[j])) {
            fetched_push(&sum, acc->t[i], acc->v[i]);
            i++;
        } else if (i == acc->n || f->t[j] < acc->t[i]) {
            fetched_push(&sum, f->t[j], f->v[j]);
            j++;
        } else {
            double a = acc->v[i++], b = f->v[j++];
            fetched_push(&sum, acc->t[i - 1], isnan(a) ? b : isnan(b) ? a : a + b);
        }
    }
    fetched_dispose(acc);
    *acc = sum;
}

/* --- forecasting ----------------------------------------------------------------------- */

static size_t lead_steps(const struct ahpa_controller *c, const struct ahpa_obj *o)
{
    int64_t k = (o->scale_up_forward_s + c->opt.step_s - 1) / c->opt.step_s;
    return (size_t)(k < 1 ? 1 : k);
}

/* Before feeding the sample at time t: the forecast for t - step + k*step
 * made from data up to t - step, recorded as "issued F earlier". Also
 * scores the recorded forecast for t against the actual. */
static void feed(struct ahpa_controller *c, const struct ahpa_controller__workload *w,
                 struct ahpa_controller__mstate *s, int64_t t, double v)
{
    const int64_t step = c->opt.step_s;
    size_t k = lead_steps(c, w->obj);
    double point[64], upper[64];
    if (k <= 64 && ahpa_forecast_predict(s->model, k, w->obj->quantile, point, upper, NULL) == 0) {
        int64_t at = t - step + (int64_t)k * step;
        ahpa_controller__ring_put(&s->pred_point, step, at, point[k - 1]);
        ahpa_controller__ring_put(&s->pred_upper, step, at, upper[k - 1]);
    }
    double f = ahpa_controller__ring_get(&s->pred_upper, step, t);
    if (isfinite(f) && isfinite(v)) {
        double q = w->obj->quantile, e = v - f;
        s->coverage_hits += v <= f;
        s->coverage_n += 1;
        s->pinball_sum += e >= 0 ? q * e : (q - 1) * e;
    }
    ahpa_forecast_update(s->model, v, NULL);
}

/* The refit boundary in force at `t`: refits happen on fixed wall-clock
 * boundaries, every refit_s, shifted per AHPA by a hash of its key (so
 * that many AHPAs do not refit in one cycle), on a step. Every process
 * computes the same boundaries, whenever it started. */
static int64_t refit_boundary(const struct ahpa_controller *c,
                              const struct ahpa_controller__workload *w, int64_t t)
{
    const int64_t r = c->opt.refit_s, step = c->opt.step_s;
    int64_t off = (int64_t)(ahpa_str_hash(w->key) % (uint64_t)r);
    int64_t b = ahpa_floor_div(t - off, r) * r + off;
    return ahpa_floor_div(b, step) * step;
}

/* Fits on the history window that ends at the boundary b: the samples in
 * [b - history_s, b], whatever else the ring holds, so that a process
 * that has run for days and one started a minute ago fit on the same
 * data. The first time, fits on the first half of that window and
 * replays the second half sample by sample (the report then shows what
 * the model would have predicted); the final fit replaces that state. */
static int refit_at(struct ahpa_controller *c, const struct ahpa_controller__workload *w,
                    struct ahpa_controller__mstate *s, int64_t b, struct ahpa_error *err)
{
    const int64_t step = c->opt.step_s;
    const struct ahpa_controller__ring *u = &s->usage;
    int64_t from = b - c->opt.history_s;
    if (u->n == 0 || b < u->t0_s)
        return ahpa_error_set(err, AHPA_ENODATA, "no %s history yet", s->noun);
    size_t i0 = from > u->t0_s ? (size_t)((from - u->t0_s) / step) : 0;
    size_t i1 = (size_t)((b - u->t0_s) / step);
    if (i1 >= u->n)
        i1 = u->n - 1;
    if (i1 < i0 + 1)
        return ahpa_error_set(err, AHPA_ENODATA, "no %s history yet", s->noun);
    const double *v = u->v + i0;
    size_t n = i1 - i0 + 1;
    int64_t t0 = u->t0_s + (int64_t)i0 * step;
    if (s->model == NULL) {
        s->model = ahpa_forecast_model_new(NULL);
        size_t half = n / 2;
        if (half >= 60 && ahpa_forecast_fit(s->model, v, half, t0, step, NULL) == 0)
            for (size_t i = half; i < n; i++)
                feed(c, w, s, t0 + (int64_t)i * step, v[i]);
    }
    int rc = ahpa_forecast_fit(s->model, v, n, t0, step, err);
    if (rc == 0) {
        s->fit_boundary_s = b;
        s->fed_until_s = t0 + (int64_t)(n - 1) * step;
        /* The policy fits the same window at the same boundary: it starts
         * from a copy of this fit instead (one fit per boundary, plus the
         * gate's replay). */
        if (s->policy == NULL)
            s->policy = ahpa_planner_policy_new();
        struct ahpa_planner_policy_cfg cfg = {.step_s = step, .history_s = c->opt.history_s,
                                              .quantile = w->obj->quantile};
        struct ahpa_planner_view uv = {u->v, u->n, u->t0_s};
        ahpa_planner_policy_adopt_fit(s->policy, &cfg, &uv, b, s->model);
    }
    return rc;
}

/* The next 24 hours (and the planner's window) from the current state. */
static void predict_future(struct ahpa_controller *c, const struct ahpa_controller__workload *w,
                           struct ahpa_controller__mstate *s)
{
    size_t n = (size_t)(FUTURE_S / c->opt.step_s);
    if (s->future_point == NULL) {
        s->future_point = ahpa_calloc(n, sizeof(double));
        s->future_upper = ahpa_calloc(n, sizeof(double));
    }
    s->nfuture = 0;
    if (ahpa_forecast_predict(s->model, n, w->obj->quantile, s->future_point, s->future_upper,
                              NULL) == 0) {
        s->nfuture = n;
        s->future_t0_s = s->fed_until_s + c->opt.step_s;
    }
}

/* What one metric fetched, without the workload's lock. */
struct mfetch {
    struct fetched value, requests;
    int rc;
    struct ahpa_error err;
};

/* The time span a fetch covers: what is new plus the last step again
 * (late samples). The first fetch reaches back to the boundary's window,
 * so that what the model has seen is a function of the data and the
 * clock, not of uptime. */
static int64_t fetch_start(const struct ahpa_controller *c, int64_t fetched_until,
                           int64_t boundary)
{
    return fetched_until ? fetched_until - c->opt.step_s : boundary - c->opt.history_s;
}

/* Fetches the value (and requests) series of metric i. Without the lock:
 * w->obj and w->ms are replaced only by the scan and by this cycle. With
 * `pods` (the target's, for a template naming <<.Pods>>), the value is
 * queried per chunk of pod names and the chunks added step by step (the
 * value is a sum over pods); a requests query, an average per pod, cannot
 * be added up, so it must fit one chunk. */
static void fetch_metric(struct ahpa_controller *c, const struct ahpa_controller__workload *w,
                         size_t i, const struct ahpa_controller__pods *pods, int64_t boundary,
                         int64_t end, struct mfetch *f)
{
    const struct ahpa_obj *o = w->obj;
    const struct ahpa_obj_metric *m = &o->metrics[i];
    int64_t start = fetch_start(c, w->ms[i].fetched_until_s, boundary);
    bool needs_requests = ahpa_controller__metric_needs_requests(m);
    size_t nchunks = pods != NULL && pods->nchunks > 0 ? pods->nchunks : 1;
    if (nchunks > 1 && needs_requests && ahpa_controller__metric_uses_pods(c, o, m, true)) {
        f->rc = ahpa_error_set(&f->err, AHPA_ETOOBIG, "%zu pods: the %s requests query names "
                               "them in one query, which they do not fit", pods->npods, m->name);
        return;
    }
    if (nchunks > 1 && !ahpa_controller__metric_uses_pods(c, o, m, false))
        nchunks = 1;
    f->rc = 0;
    for (size_t k = 0; f->rc == 0 && k < nchunks; k++) {
        const char *chunk = pods != NULL && pods->nchunks > 0 ? pods->chunks[k] : NULL;
        struct ahpa_buf vq, rq;
        ahpa_buf_init(&vq);
        ahpa_buf_init(&rq);
        struct fetched part = {0};
        f->rc = ahpa_controller__metric_queries_pods(c, o, m, chunk, &vq, &rq, &f->err);
        if (f->rc == 0)
            f->rc = fetch_range(c, ahpa_buf_cstr(&vq), &part, start, end, &f->err);
        if (f->rc == 0)
            fetched_add(&f->value, &part);
        if (f->rc == 0 && k == 0 && needs_requests)
            f->rc = fetch_range(c, ahpa_buf_cstr(&rq), &f->requests, start, end, &f->err);
        fetched_dispose(&part);
        ahpa_buf_dispose(&vq);
        ahpa_buf_dispose(&rq);
    }
}

/* Merges a metric's samples as U (metric.h) into its ring: each value
 * with the requests of the same step (Utilization) or the replicas at
 * that step (External Value). Both series come sorted by time. */
static void merge_metric(const struct ahpa_controller *c, struct ahpa_controller__workload *w,
                         size_t i, const struct mfetch *f)
{
    const struct ahpa_obj_metric *m = &w->obj->metrics[i];
    struct ahpa_controller__mstate *s = &w->ms[i];
    const int64_t step = c->opt.step_s;
    size_t j = 0;
    for (size_t k = 0; k < f->value.n; k++) {
        int64_t t = f->value.t[k];
        while (j < f->requests.n && f->requests.t[j] < t)
            j++;
        double req = j < f->requests.n && f->requests.t[j] == t ? f->requests.v[j] : NAN;
        double u = ahpa_controller__metric_usage(m, f->value.v[k], req,
                                                 ahpa_controller__ring_get(&w->replicas, step, t));
        ahpa_controller__ring_put(&s->usage, step, t, u);
        if (isfinite(f->value.v[k]))
            s->requests_missing = ahpa_controller__metric_needs_requests(m) &&
                                  !(isfinite(req) && req > 0);
    }
}

/* Under the lock: merges what metric i fetched, refits when a refit
 * boundary has passed, feeds the settled samples (one step behind the
 * newest, which Prometheus may still be completing) and predicts the
 * next 24 hours. */
static int advance_metric(struct ahpa_controller *c, struct ahpa_controller__workload *w, size_t i,
                          const struct mfetch *f, int64_t boundary, int64_t end,
                          struct ahpa_error *err)
{
    struct ahpa_controller__mstate *s = &w->ms[i];
    const int64_t step = c->opt.step_s;
    if (f->rc < 0) {
        *err = f->err;
        return f->rc;
    }
    merge_metric(c, w, i, f);
    s->fetched_until_s = end;
    int rc = 0;
    if (s->model == NULL || s->fit_boundary_s != boundary)
        rc = refit_at(c, w, s, boundary, err);
    if (rc == 0)
        for (int64_t t = s->fed_until_s + step; t <= end - step; t += step) {
            feed(c, w, s, t, ahpa_controller__ring_get(&s->usage, step, t));
            s->fed_until_s = t;
        }
    if (s->model != NULL && s->fit_boundary_s != 0)
        predict_future(c, w, s);
    return rc;
}

/* --- planning ------------------------------------------------------------------------------ */

/* Why metric s has no plan at `now`, or "" when the inputs are known.
 * Fills r's usage and p's replicas (common to the metrics). See
 * controller.h ("When a plan is published") for the rules. */
static void check_inputs(struct ahpa_controller *c, struct ahpa_controller__workload *w,
                         const struct ahpa_controller__mstate *s, int64_t now,
                         struct ahpa_controller_plan *p, struct ahpa_controller__mres *r, size_t recent_steps)
{
    const struct ahpa_obj *o = w->obj;
    const int64_t step = c->opt.step_s;
    /* A sample older than two cycles (plus a step) is not "current". */
    const int64_t fresh = now - 2 * (c->opt.interval_ms / 1000) - step;
    char since[AHPA_RFC3339_MAX];
    char *why = r->error;
    size_t why_size = sizeof(r->error);
    int64_t tu, tr;
    double u = ahpa_controller__ring_last_finite(&s->usage, step, now, &tu);
    double n = ahpa_controller__ring_last_finite(&w->replicas, step, now, &tr);
    why[0] = '\0';
    if (tu == 0) {
        r->cause = AHPA_CONTROLLER_TARGET_NOT_FOUND;
        if (s->requests_missing)
            snprintf(why, why_size, "no %s requests for %s/%s in Prometheus (Utilization is "
                     "relative to the pods' requests)", s->name, o->target_kind, o->target_name);
        else
            snprintf(why, why_size, "no %s for %s/%s in Prometheus", s->noun, o->target_kind,
                     o->target_name);
        return;
    }
    if (tu < fresh) {
        r->cause = AHPA_CONTROLLER_NO_CURRENT_DATA;
        ahpa_time_format_rfc3339(tu, since);
        snprintf(why, why_size, "no current %s for %s/%s since %s", s->noun, o->target_kind,
                 o->target_name, since);
        return;
    }
    r->usage = u;
    if (tr == 0 || tr < fresh) {
        r->cause = tr == 0 ? AHPA_CONTROLLER_TARGET_NOT_FOUND : AHPA_CONTROLLER_REPLICAS_UNKNOWN;
        snprintf(why, why_size, "replicas unknown: no current replica count for %s/%s",
                 o->target_kind, o->target_name);
        return;
    }
    /* Range-check before any conversion: a huge, negative or fractional
     * count is a broken series, not a number of pods. */
    if (!(n >= 0 && n <= AHPA_CONTROLLER_MAX_REPLICAS) || fabs(n - nearbyint(n)) > 1e-6) {
        r->cause = AHPA_CONTROLLER_REPLICAS_UNKNOWN;
        snprintf(why, why_size, "replicas unknown: %s/%s reports %g (expected a whole number "
                 "0..%d)", o->target_kind, o->target_name, n, AHPA_CONTROLLER_MAX_REPLICAS);
        return;
    }
    p->replicas = (int32_t)nearbyint(n);
    p->replicas_known = true;
    r->current_utilization = p->replicas > 0 ? u / p->replicas : NAN;
    /* The recent window: at least half of its steps must hold a sample, or
     * the forecast continues from a past that is no longer the present. */
    int64_t end = now - now % step;
    size_t have = 0;
    for (size_t k = 0; k < recent_steps; k++)
        have += isfinite(ahpa_controller__ring_get(&s->usage, step, end - (int64_t)k * step));
    if (2 * have < recent_steps) {
        r->cause = AHPA_CONTROLLER_NO_CURRENT_DATA;
        snprintf(why, why_size, "recent history missing: %zu of the last %zu steps of %s "
                 "are missing", recent_steps - have, recent_steps, s->noun);
        return;
    }
}

static void plan_metric(struct ahpa_controller *c, struct ahpa_controller__workload *w,
                        struct ahpa_controller__mstate *s, int64_t now,
                        struct ahpa_controller_plan *p, struct ahpa_controller__mres *r)
{
    const struct ahpa_obj *o = w->obj;
    const int64_t step = c->opt.step_s;
    size_t recent = lead_steps(c, o);
    if (recent < AHPA_CONTROLLER_MIN_RECENT_STEPS)
        recent = AHPA_CONTROLLER_MIN_RECENT_STEPS;
    check_inputs(c, w, s, now, p, r, recent);
    if (r->error[0] != '\0')
        return;

    struct ahpa_planner_input in;
    ahpa_planner_input_init(&in);
    in.now_s = now;
    in.strategy = o->strategy;
    in.usage = r->usage;
    in.current_replicas = p->replicas;
    size_t first = 0, count = 0;
    if (s->nfuture > 0)
        count = ahpa_planner_window(s->future_t0_s, step, s->nfuture, now, o->scale_up_forward_s,
                                    &first);
    if (o->strategy != AHPA_PLANNER_REACTIVE) {
        /* Every strategy but reactive plans from the forecast: without a
         * finite one over the whole window there is no plan. */
        bool finite = count > 0;
        for (size_t i = 0; finite && i < count; i++)
            finite = isfinite(s->future_upper[first + i]);
        if (!finite) {
            char what[160];
            snprintf(what, sizeof(what), "no model yet (not enough %s history)", s->noun);
            r->cause = s->model == NULL ? AHPA_CONTROLLER_NO_HISTORY
                                        : AHPA_CONTROLLER_FORECAST_UNAVAILABLE;
            snprintf(r->error, sizeof(r->error), "forecast unavailable: %s",
                     s->model == NULL ? what
                     : count == 0     ? "the model has no forecast for the next window"
                                      : "the forecast is not finite");
            return;
        }
        in.forecast = s->future_upper + first;
        in.forecast_n = count;
    }
    in.scale_up_forward_s = o->scale_up_forward_s;
    in.target = s->target;
    in.unit = s->target_type == AHPA_OBJ_TARGET_UTILIZATION ? "%" : "";
    in.min_replicas = o->min_replicas;
    in.max_replicas = o->max_replicas;
    struct ahpa_cron_in_force bounds;
    if (o->bounds != NULL) {
        ahpa_cron_bounds_at(o->bounds, c->opt.zone, now, &bounds);
        in.bounds = &bounds;
    }
    in.stabilization_s = o->scale_down_stabilization_s;
    /* The planner decides from the history (its cache is rebuilt at each
     * refit boundary, so the plan does not depend on uptime). */
    if (s->policy == NULL)
        s->policy = ahpa_planner_policy_new();
    struct ahpa_planner_policy_cfg cfg = {.step_s = step, .history_s = c->opt.history_s,
                                          .quantile = o->quantile};
    struct ahpa_planner_view uv = {s->usage.v, s->usage.n, s->usage.t0_s};
    struct ahpa_planner_view rv = {w->replicas.v, w->replicas.n, w->replicas.t0_s};
    int64_t settled = now - now % step - step;
    struct ahpa_error err = {0};
    if (ahpa_planner_policy_plan(s->policy, &cfg, &uv, &rv, refit_boundary(c, w, settled), &in,
                                 &r->plan, &err) == 0) {
        r->planned = true;
        r->predicted_peak = r->plan.forecast_peak;
    } else {
        r->cause = AHPA_CONTROLLER_PLANNING_FAILED;
        snprintf(r->error, sizeof(r->error), "planning: %s", err.msg);
    }
}

/* The model's state and the last replica change, for the status. Under
 * the workload's lock. */
static void describe_model(const struct ahpa_controller *c,
                           const struct ahpa_controller__workload *w,
                           struct ahpa_controller_plan *p)
{
    const struct ahpa_controller__mstate *s = w->nms ? &w->ms[w->driving] : NULL;
    if (s != NULL && s->model != NULL && s->fit_boundary_s != 0) {
        struct ahpa_forecast_info info = {0};
        ahpa_forecast_describe(s->model, &info);
        p->model_fitted = true;
        p->seasonal = info.seasonal;
        p->period_s = info.period_s;
    }
    if (s != NULL && s->coverage_n > 0) {
        p->coverage = s->coverage_hits / s->coverage_n;
        p->pinball = s->pinball_sum / s->coverage_n;
    }
    p->history_steps = s != NULL ? s->usage.n : 0;
    const struct ahpa_controller__ring *r = &w->replicas;
    double newer = NAN;
    for (size_t i = r->n; i-- > 0;) {
        if (!isfinite(r->v[i]))
            continue;
        if (isfinite(newer) && nearbyint(r->v[i]) != nearbyint(newer))
            break;
        newer = r->v[i];
        p->last_scale_s = r->t0_s + (int64_t)i * c->opt.step_s;
    }
    /* The oldest sample of an unchanged series is no scale: unknown. */
    if (r->n > 0 && p->last_scale_s != 0) {
        int64_t t = 0;
        double first = NAN;
        for (size_t i = 0; i < r->n && !isfinite(first); i++)
            first = r->v[i], t = r->t0_s + (int64_t)i * c->opt.step_s;
        if (isfinite(first) && t == p->last_scale_s)
            p->last_scale_s = 0;
    }
}

/* Logs the reason a workload has no plan when it changes (not every
 * cycle), and once when plans resume. */
static void log_reason(struct ahpa_controller__workload *w, const char *error)
{
    if (strcmp(w->last_reason, error) == 0)
        return;
    if (error[0] != '\0')
        AHPA_LOG_WARN("%s: not planned: %s", w->key, error);
    else
        AHPA_LOG_INFO("%s: planned again", w->key);
    snprintf(w->last_reason, sizeof(w->last_reason), "%s", error);
}

/* Fetch (without the lock), then under it merge, forecast and plan every
 * metric and combine their plans. */
static void cycle_metrics(struct ahpa_controller *c, struct ahpa_controller__workload *w,
                          int64_t now_s, struct ahpa_controller_plan *p, char *error,
                          size_t error_size)
{
    const struct ahpa_obj *o = w->obj;
    const int64_t step = c->opt.step_s;
    int64_t end = now_s - now_s % step;
    int64_t boundary = refit_boundary(c, w, end - step);
    size_t n = w->nms;
    struct mfetch *f = ahpa_calloc(n, sizeof(*f));
    struct ahpa_controller__mres *r = ahpa_calloc(n, sizeof(*r));
    struct fetched replicas = {0};
    struct ahpa_error err = {0}, serr = {0}, perr = {0};
    /* Cluster mode: the current replicas from the target's scale
     * subresource (any kind with one), not from kube-state-metrics, and,
     * when a query names <<.Pods>>, its pods, selected by status.selector
     * from the pod cache. */
    bool by_pods = false;
    for (size_t i = 0; c->cluster != NULL && i < n; i++)
        by_pods = by_pods || ahpa_controller__metric_uses_pods(c, o, &o->metrics[i], false) ||
                  ahpa_controller__metric_uses_pods(c, o, &o->metrics[i], true);
    int32_t scale_replicas = -1;
    char selector[AHPA_CONTROLLER_SELECTOR_MAX] = "";
    struct ahpa_controller__pods pods = {0};
    int src = 0, prc = 0, rc = 0;
    if (c->cluster != NULL && (!c->opt.replicas_from_prometheus || by_pods))
        src = ahpa_controller__read_scale(c, o, &scale_replicas, selector, sizeof(selector),
                                          &serr);
    if (c->opt.replicas_from_prometheus)
        scale_replicas = -1;
    if (by_pods && src < 0 && src != -AHPA_ENOTFOUND && selector[0] == '\0')
        prc = ahpa_error_set(&perr, -src, "%s", ahpa_error_message(&serr, src));
    else if (by_pods && src != -AHPA_ENOTFOUND)
        prc = ahpa_controller__target_pods(c, o, selector, &pods, &perr);
    if (src != -AHPA_ENOTFOUND && prc == 0) {
        struct ahpa_buf rq;
        ahpa_buf_init(&rq);
        ahpa_controller__render_query(c->replicas_query, o->ns, o->target_name, &rq);
        rc = fetch_range(c, ahpa_buf_cstr(&rq), &replicas,
                         fetch_start(c, w->fetched_until_s, boundary), end, &err);
        ahpa_buf_dispose(&rq);
        for (size_t i = 0; rc == 0 && i < n; i++)
            fetch_metric(c, w, i, by_pods ? &pods : NULL, boundary, end, &f[i]);
    }
    ahpa_controller__pods_dispose(&pods);
    pthread_mutex_lock(&w->lock);
    if (rc == 0) {
        fetched_merge(&replicas, &w->replicas, step);
        w->fetched_until_s = end;
        if (scale_replicas >= 0)
            ahpa_controller__ring_put(&w->replicas, step, end, scale_replicas);
    }
    if (src == -AHPA_ENOTFOUND) {
        p->cause = AHPA_CONTROLLER_TARGET_NOT_FOUND;
        snprintf(error, error_size, "scale target %s/%s not found", o->target_kind,
                 o->target_name);
    } else if (prc < 0) {
        p->cause = AHPA_CONTROLLER_PODS_UNKNOWN;
        snprintf(error, error_size, "pods unknown: %s", ahpa_error_message(&perr, prc));
    } else if (rc < 0) {
        p->cause = AHPA_CONTROLLER_PROMETHEUS_UNREACHABLE;
        snprintf(error, error_size, "prometheus: %s", ahpa_error_message(&err, rc));
    } else if (src < 0) {
        p->cause = AHPA_CONTROLLER_REPLICAS_UNKNOWN;
        snprintf(error, error_size, "replicas unknown: %s", ahpa_error_message(&serr, src));
    } else {
        for (size_t i = 0; i < n; i++) {
            struct ahpa_error merr = {0};
            int mrc = advance_metric(c, w, i, &f[i], boundary, end, &merr);
            r[i].usage = r[i].current_utilization = r[i].predicted_peak = NAN;
            if (mrc < 0 && mrc != -AHPA_ENODATA) {
                bool down = mrc != -AHPA_ENOTFOUND && mrc != -AHPA_EUNAVAIL &&
                            mrc != -AHPA_ETOOBIG;
                r[i].cause = down ? AHPA_CONTROLLER_PROMETHEUS_UNREACHABLE
                             : mrc == -AHPA_ENOTFOUND ? AHPA_CONTROLLER_TARGET_NOT_FOUND
                                                      : AHPA_CONTROLLER_UNSUPPORTED;
                snprintf(r[i].error, sizeof(r[i].error), "%s%s", down ? "prometheus: " : "",
                         ahpa_error_message(&merr, mrc));
            } else {
                plan_metric(c, w, &w->ms[i], now_s, p, &r[i]);
            }
        }
        w->driving = ahpa_controller__metrics_combine(w->ms, r, n, p, error, error_size);
        p->metrics_text = ahpa_controller__metrics_text(w->ms, r, n, w->driving, p->planned);
    }
    describe_model(c, w, p);
    pthread_mutex_unlock(&w->lock);
    fetched_dispose(&replicas);
    for (size_t i = 0; i < n; i++) {
        fetched_dispose(&f[i].value);
        fetched_dispose(&f[i].requests);
    }
    free(f);
    free(r);
}

void ahpa_controller__workload_cycle(struct ahpa_controller *c,
                                     struct ahpa_controller__workload *w, int64_t now_s,
                                     struct ahpa_controller_plan *p, char *error,
                                     size_t error_size)
{
    const struct ahpa_obj *o = w->obj;
    memset(p, 0, sizeof(*p));
    p->usage = p->current_utilization = p->predicted_peak = NAN;
    p->coverage = p->pinball = NAN;
    error[0] = '\0';
    if (w->first_seen_s == 0)
        w->first_seen_s = now_s;
    p->created_from_object = o->creation_s > 0;
    p->created_s = p->created_from_object ? o->creation_s : w->first_seen_s;
    p->nmetrics = o->nmetrics;
    p->t_s = now_s;
    pthread_mutex_lock(&w->lock);
    sync_metrics(c, w);
    pthread_mutex_unlock(&w->lock);
    const struct ahpa_obj_metric *m = ahpa_obj_primary_metric(o);
    p->metric = m ? m->name : "";
    p->target = m ? m->target : NAN;
    if (o->nmetrics == 0) {
        p->cause = AHPA_CONTROLLER_UNSUPPORTED;
        snprintf(error, error_size, "no metrics");
    } else if (!ahpa_str_is_dns_label(o->ns) || !ahpa_str_is_dns_subdomain(o->target_name)) {
        p->cause = AHPA_CONTROLLER_UNSUPPORTED;
        snprintf(error, error_size, "invalid namespace or scaleTargetRef.name");
    } else {
        cycle_metrics(c, w, now_s, p, error, error_size);
    }
    log_reason(w, error);
}

void ahpa_controller__workload_prepare(struct ahpa_controller *c,
                                       struct ahpa_controller__workload *w)
{
    ahpa_controller__ring_init(&w->replicas, history_cap(c));
    pthread_mutex_lock(&w->lock);
    sync_metrics(c, w);
    pthread_mutex_unlock(&w->lock);
}
