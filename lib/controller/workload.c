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
#include "controller_int.h"

#define FUTURE_S (24 * 3600)
/* Prometheus answers at most 11,000 points per series and range query;
 * 7 days at 60 s (10,081 points) fit in one. */
#define MAX_POINTS_PER_QUERY 11000

/* --- rings -------------------------------------------------------------------- */

static void ring_init(struct ahpa_controller__ring *r, size_t cap)
{
    r->t0_s = 0;
    r->n = 0;
    r->cap = cap;
    r->v = ahpa_calloc(cap, sizeof(double));
}

static void ring_dispose(struct ahpa_controller__ring *r)
{
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

/* Sets the value at time t (a multiple of step); fills skipped steps with
 * NaN; keeps the newest `cap` values. Times before the ring are dropped. */
static void ring_put(struct ahpa_controller__ring *r, int64_t step, int64_t t, double v)
{
    if (r->n == 0) {
        r->t0_s = t;
        r->v[0] = v;
        r->n = 1;
        return;
    }
    if (t < r->t0_s)
        return;
    size_t idx = (size_t)((t - r->t0_s) / step);
    if (idx >= r->cap) { /* drop from the front to make room */
        size_t drop = idx - r->cap + 1;
        if (drop >= r->n) {
            r->n = 0;
            r->t0_s = t - (int64_t)(r->cap - 1) * step;
        } else {
            memmove(r->v, r->v + drop, (r->n - drop) * sizeof(double));
            r->n -= drop;
            r->t0_s += (int64_t)drop * step;
        }
        idx = r->cap - 1;
        if (r->n == 0)
            r->t0_s = t - (int64_t)idx * step;
    }
    while (r->n <= idx)
        r->v[r->n++] = NAN;
    r->v[idx] = v;
}

static double ring_get(const struct ahpa_controller__ring *r, int64_t step, int64_t t)
{
    if (r->n == 0 || t < r->t0_s)
        return NAN;
    size_t idx = (size_t)((t - r->t0_s) / step);
    return idx < r->n ? r->v[idx] : NAN;
}

static int64_t ring_last_t(const struct ahpa_controller__ring *r, int64_t step)
{
    return r->n ? r->t0_s + (int64_t)(r->n - 1) * step : 0;
}

/* --- lifecycle ------------------------------------------------------------------- */

struct ahpa_controller__workload *ahpa_controller__workload_new(struct ahpa_obj *obj)
{
    struct ahpa_controller__workload *w = ahpa_calloc(1, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    w->obj = obj;
    size_t keylen = strlen(obj->ns) + strlen(obj->name) + 2;
    w->key = ahpa_malloc(keylen);
    snprintf(w->key, keylen, "%s/%s", obj->ns, obj->name);
    ahpa_planner_state_init(&w->planner);
    return w;
}

void ahpa_controller__workload_free(struct ahpa_controller__workload *w)
{
    if (w == NULL)
        return;
    ring_dispose(&w->usage);
    ring_dispose(&w->replicas);
    ring_dispose(&w->pred_point);
    ring_dispose(&w->pred_upper);
    ahpa_forecast_free(w->model);
    free(w->future_point);
    free(w->future_upper);
    ahpa_obj_free(w->obj);
    free(w->key);
    pthread_mutex_destroy(&w->lock);
    free(w);
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

/* query_range of a template over [start, end] into a ring (one series). */
static int fetch_range(struct ahpa_controller *c, const char *tmpl,
                       const struct ahpa_controller__workload *w,
                       struct ahpa_controller__ring *ring, int64_t start, int64_t end,
                       struct ahpa_error *err)
{
    const int64_t step = c->opt.step_s;
    struct ahpa_buf q;
    ahpa_buf_init(&q);
    ahpa_controller__render_query(tmpl, w->obj->ns, w->obj->target_name, &q);
    int rc = 0;
    for (int64_t from = start; rc == 0 && from <= end;) {
        int64_t to = from + (MAX_POINTS_PER_QUERY - 1) * step;
        if (to > end)
            to = end;
        struct ahpa_prom_result res;
        ahpa_prom_result_init(&res);
        atomic_fetch_add(&c->queries, 1);
        rc = ahpa_prom_query_range(c->opt.prom, ahpa_buf_cstr(&q), from * 1000, to * 1000,
                                   step * 1000, &res, err);
        if (rc < 0)
            atomic_fetch_add(&c->query_failures, 1);
        for (size_t s = 0; rc == 0 && s < res.n_series && s < 1; s++)
            for (size_t i = 0; i < res.series[s].n_samples; i++) {
                const struct ahpa_prom_sample *x = &res.series[s].samples[i];
                int64_t t = x->t_ms / 1000;
                ring_put(ring, step, t - t % step, isfinite(x->value) ? x->value : NAN);
            }
        ahpa_prom_result_dispose(&res);
        from = to + step;
    }
    ahpa_buf_dispose(&q);
    return rc;
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
static void feed(struct ahpa_controller *c, struct ahpa_controller__workload *w, int64_t t,
                 double v)
{
    const int64_t step = c->opt.step_s;
    size_t k = lead_steps(c, w->obj);
    double point[64], upper[64];
    if (k <= 64 && ahpa_forecast_predict(w->model, k, w->obj->quantile, point, upper, NULL) == 0) {
        int64_t at = t - step + (int64_t)k * step;
        ring_put(&w->pred_point, step, at, point[k - 1]);
        ring_put(&w->pred_upper, step, at, upper[k - 1]);
    }
    double f = ring_get(&w->pred_upper, step, t);
    if (isfinite(f) && isfinite(v)) {
        double q = w->obj->quantile, e = v - f;
        w->coverage_hits += v <= f;
        w->coverage_n += 1;
        w->pinball_sum += e >= 0 ? q * e : (q - 1) * e;
    }
    ahpa_forecast_update(w->model, v, NULL);
}

/* Fits on the history. The first time, fits on the first half and
 * replays the second half sample by sample, so the report shows what the
 * model would have predicted, then refits on everything. */
static int refit(struct ahpa_controller *c, struct ahpa_controller__workload *w, int64_t now,
                 struct ahpa_error *err)
{
    const int64_t step = c->opt.step_s;
    const struct ahpa_controller__ring *u = &w->usage;
    if (u->n < 2)
        return ahpa_error_set(err, AHPA_ENODATA, "no GPU usage history yet");
    /* FFTW's planner, used by the fit, is not reentrant: fits of different
     * AHPAs take turns; updates and predictions run in parallel. */
    if (w->model == NULL) {
        pthread_mutex_lock(&c->fit_lock);
        w->model = ahpa_forecast_model_new(NULL);
        size_t half = u->n / 2;
        int fitted = half >= 60 ? ahpa_forecast_fit(w->model, u->v, half, u->t0_s, step, NULL) : -1;
        pthread_mutex_unlock(&c->fit_lock);
        if (fitted == 0) {
            for (size_t i = half; i < u->n; i++)
                feed(c, w, u->t0_s + (int64_t)i * step, u->v[i]);
        }
    }
    pthread_mutex_lock(&c->fit_lock);
    int rc = ahpa_forecast_fit(w->model, u->v, u->n, u->t0_s, step, err);
    pthread_mutex_unlock(&c->fit_lock);
    if (rc == 0 && w->fitted_at_s == 0) {
        /* Spread the hourly refits of many AHPAs loaded together over the
         * hour instead of refitting them all in one cycle. */
        uint64_t h = 1469598103934665603ULL;
        for (const char *k = w->key; *k; k++)
            h = (h ^ (unsigned char)*k) * 1099511628211ULL;
        w->fitted_at_s = now - (int64_t)(h % (uint64_t)c->opt.refit_s);
    } else if (rc == 0) {
        w->fitted_at_s = now;
    }
    return rc;
}

/* The next 24 hours (and the planner's window) from the current state. */
static void predict_future(struct ahpa_controller *c, struct ahpa_controller__workload *w)
{
    size_t n = (size_t)(FUTURE_S / c->opt.step_s);
    if (w->future_point == NULL) {
        w->future_point = ahpa_calloc(n, sizeof(double));
        w->future_upper = ahpa_calloc(n, sizeof(double));
    }
    w->nfuture = 0;
    if (ahpa_forecast_predict(w->model, n, w->obj->quantile, w->future_point, w->future_upper,
                              NULL) == 0) {
        w->nfuture = n;
        w->future_t0_s = ring_last_t(&w->usage, c->opt.step_s) + c->opt.step_s;
    }
}

/* Fetches what is new (plus the last step again: late samples), feeds the
 * model, refits when due. */
static int advance(struct ahpa_controller *c, struct ahpa_controller__workload *w, int64_t now,
                   struct ahpa_error *err)
{
    const int64_t step = c->opt.step_s;
    int64_t end = now - now % step;
    int64_t start = w->fetched_until_s ? w->fetched_until_s - step : end - c->opt.history_s;
    int64_t fed_until = ring_last_t(&w->usage, step);
    bool had_model = w->model != NULL;
    int rc = fetch_range(c, c->usage_query, w, &w->usage, start, end, err);
    if (rc == 0)
        rc = fetch_range(c, c->replicas_query, w, &w->replicas, start, end, err);
    if (rc < 0)
        return rc;
    w->fetched_until_s = end;
    if (!had_model || now - w->fitted_at_s >= c->opt.refit_s) {
        rc = refit(c, w, now, err);
    } else {
        for (int64_t t = fed_until + step; t <= ring_last_t(&w->usage, step); t += step)
            feed(c, w, t, ring_get(&w->usage, step, t));
    }
    if (w->model != NULL && w->fitted_at_s != 0)
        predict_future(c, w);
    return rc;
}

/* --- planning ------------------------------------------------------------------------------ */

static void plan_now(struct ahpa_controller *c, struct ahpa_controller__workload *w, int64_t now,
                     struct ahpa_controller_plan *p, char *error, size_t error_size)
{
    const struct ahpa_obj *o = w->obj;
    const struct ahpa_obj_metric *m = ahpa_obj_primary_metric(o);
    const int64_t step = c->opt.step_s;
    int64_t last = ring_last_t(&w->usage, step);
    /* Usage older than two cycles is not "current". */
    p->usage = last >= now - 2 * (c->opt.interval_ms / 1000) - step
                   ? ring_get(&w->usage, step, last) : NAN;
    double r = ring_get(&w->replicas, step, ring_last_t(&w->replicas, step));
    p->replicas = isfinite(r) && r >= 0 ? (int32_t)llround(r) : o->min_replicas;
    p->current_utilization = isfinite(p->usage) && p->replicas > 0 ? p->usage / p->replicas : NAN;

    struct ahpa_planner_input in;
    ahpa_planner_input_init(&in);
    in.now_s = now;
    in.strategy = o->strategy;
    in.usage = p->usage;
    in.current_replicas = p->replicas;
    size_t first = 0, count = 0;
    if (w->nfuture > 0)
        count = ahpa_planner_window(w->future_t0_s, step, w->nfuture, now, o->scale_up_forward_s,
                                    &first);
    in.forecast = count ? w->future_upper + first : NULL;
    in.forecast_n = count;
    in.scale_up_forward_s = o->scale_up_forward_s;
    in.target = m ? m->target : 0;
    in.unit = m && m->target_type == AHPA_OBJ_TARGET_UTILIZATION ? "%" : "";
    in.min_replicas = o->min_replicas;
    in.max_replicas = o->max_replicas;
    struct ahpa_cron_in_force bounds;
    if (o->bounds != NULL) {
        ahpa_cron_bounds_at(o->bounds, c->opt.zone, now, &bounds);
        in.bounds = &bounds;
    }
    in.stabilization_s = o->scale_down_stabilization_s;
    struct ahpa_error err = {0};
    if (ahpa_planner_plan(&in, &w->planner, &p->plan, &err) == 0) {
        p->planned = true;
        p->predicted_peak = p->plan.forecast_peak;
    } else {
        snprintf(error, error_size, "planning: %s", err.msg);
    }
}

void ahpa_controller__workload_cycle(struct ahpa_controller *c,
                                     struct ahpa_controller__workload *w, int64_t now_s,
                                     struct ahpa_controller_plan *p, char *error,
                                     size_t error_size)
{
    const struct ahpa_obj *o = w->obj;
    const struct ahpa_obj_metric *m = ahpa_obj_primary_metric(o);
    memset(p, 0, sizeof(*p));
    p->usage = p->current_utilization = p->predicted_peak = NAN;
    p->coverage = p->pinball = NAN;
    error[0] = '\0';
    if (m == NULL || m->type != AHPA_OBJ_METRIC_RESOURCE || strcmp(m->name, "gpu") != 0) {
        snprintf(error, error_size, "only Resource gpu metrics are planned without a cluster");
        return;
    }
    if (!ahpa_str_is_dns_label(o->ns) || !ahpa_str_is_dns_subdomain(o->target_name)) {
        snprintf(error, error_size, "invalid namespace or scaleTargetRef.name");
        return;
    }
    struct ahpa_error err = {0};
    pthread_mutex_lock(&w->lock);
    int rc = advance(c, w, now_s, &err);
    if (rc < 0 && rc != -AHPA_ENODATA) {
        snprintf(error, error_size, "prometheus: %s", ahpa_error_message(&err, rc));
        AHPA_LOG_WARN("%s: %s", w->key, error);
    }
    if (rc == 0 || rc == -AHPA_ENODATA)
        plan_now(c, w, now_s, p, error, error_size);
    p->t_s = now_s;
    if (w->coverage_n > 0) {
        p->coverage = w->coverage_hits / w->coverage_n;
        p->pinball = w->pinball_sum / w->coverage_n;
    }
    p->history_steps = w->usage.n;
    pthread_mutex_unlock(&w->lock);
}

/* Sizes the rings for the configured history (plus the forecast lead for
 * the recorded predictions). */
void ahpa_controller__workload_prepare(struct ahpa_controller *c,
                                       struct ahpa_controller__workload *w);
void ahpa_controller__workload_prepare(struct ahpa_controller *c,
                                       struct ahpa_controller__workload *w)
{
    size_t cap = (size_t)(c->opt.history_s / c->opt.step_s) + 2;
    ring_init(&w->usage, cap);
    ring_init(&w->replicas, cap);
    ring_init(&w->pred_point, cap + 128);
    ring_init(&w->pred_upper, cap + 128);
}
