/* Rolling-origin evaluation of one method and its capacity simulation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/baseline.h"
#include "ahpa/error.h"
#include "ahpa/forecast.h"
#include "ahpa/mem.h"
#include "cli.h"

const char *method_name(int m)
{
    static const char *const names[M_COUNT] = {"engine", "snaive", "holtwinters",
                                               "maxvalue"};
    return m >= 0 && m < M_COUNT ? names[m] : "?";
}

/* One forecaster behind a common face. */
struct fc {
    int kind;
    struct ahpa_forecast_model *eng;
    struct ahpa_baseline *base;
    size_t period;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int fc_fit(struct fc *f, const struct run *r, size_t lo, size_t hi,
                  struct ahpa_error *err)
{
    if (f->kind == M_ENGINE)
        return ahpa_forecast_fit(f->eng, r->y + lo, hi - lo,
                                 r->t0_s + (int64_t)lo * r->step_s, r->step_s, err);
    return ahpa_baseline_fit(f->base, r->y + lo, hi - lo, err);
}

static int fc_update(struct fc *f, double v, struct ahpa_error *err)
{
    if (f->kind == M_ENGINE)
        return ahpa_forecast_update(f->eng, v, err);
    return ahpa_baseline_update(f->base, v, err);
}

static int fc_predict(struct fc *f, size_t h, double q, double *p, double *u,
                      struct ahpa_error *err)
{
    if (f->kind == M_ENGINE)
        return ahpa_forecast_predict(f->eng, h, q, p, u, err);
    return ahpa_baseline_predict(f->base, h, q, p, u, err);
}

static void fc_init(struct fc *f, int kind, const struct run *r)
{
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    size_t day = (size_t)(86400 / r->step_s);
    f->period = r->hist >= 2 * day ? day : 1;
    if (kind == M_ENGINE)
        f->eng = ahpa_forecast_model_new(NULL);
    else if (kind == M_SNAIVE)
        f->base = ahpa_baseline_new(AHPA_BASELINE_SNAIVE, f->period);
    else if (kind == M_HOLTWINTERS)
        f->base = ahpa_baseline_new(AHPA_BASELINE_HOLTWINTERS, f->period);
    else
        f->base = ahpa_baseline_new(AHPA_BASELINE_MAXVALUE, f->period);
}

static void fc_dispose(struct fc *f)
{
    ahpa_forecast_free(f->eng);
    ahpa_baseline_free(f->base);
}

static void alloc_result(struct method_result *mr, size_t n)
{
    mr->point = ahpa_malloc(n * sizeof(double));
    mr->quant = ahpa_malloc(n * sizeof(double));
    mr->pro = ahpa_malloc(n * sizeof(int64_t));
    mr->aut = ahpa_malloc(n * sizeof(int64_t));
    for (size_t i = 0; i < n; i++)
        mr->point[i] = mr->quant[i] = NAN;
}

/* Issues forecasts at every origin from ts - lead to n - 1: accuracy, and
 * the proactive plans of the baselines. */
static int roll(struct run *r, const struct cli_opts *o, struct fc *f,
                struct method_result *mr, struct ahpa_error *err)
{
    double prev_next = NAN; /* q-forecast for orig issued at orig - 1 */
    size_t first = r->ts - r->lead, last_fit = 0;
    double *p = ahpa_malloc(r->lead * sizeof(double));
    double *u = ahpa_malloc(r->lead * sizeof(double));
    int rc = 0;
    for (size_t orig = first; orig < r->n && rc == 0; orig++) {
        if (orig == first || orig - last_fit >= r->refit) {
            size_t lo = orig + 1 > r->hist ? orig + 1 - r->hist : 0;
            double t = now_ms();
            rc = fc_fit(f, r, lo, orig + 1, err);
            mr->fit_ms += now_ms() - t;
            mr->fits++;
            last_fit = orig;
        } else {
            rc = fc_update(f, r->y[orig], err);
        }
        int known = 1;
        if (rc == 0) {
            rc = fc_predict(f, r->lead, o->q, p, u, err);
            if (rc == -AHPA_ENODATA) {
                /* the recent window is missing: no forecast (p, u are NaN;
                 * not scored) and the plan falls back to the reactive one */
                rc = 0;
                known = 0;
            }
        }
        if (rc)
            break;
        size_t tgt = orig + r->lead;
        if (tgt < r->n) {
            mr->point[tgt] = p[r->lead - 1];
            mr->quant[tgt] = u[r->lead - 1];
        }
        /* the plan covers [orig, orig + lead]: the newest forecast of each
         * instant, orig itself forecast one step ago */
        double mx = isfinite(prev_next) ? prev_next : -INFINITY;
        for (size_t i = 0; i < r->lead; i++)
            if (u[i] > mx)
                mx = u[i];
        prev_next = u[0];
        if (orig >= r->ts) {
            mr->pro[orig] = known ? ahpa_backtest_pods(&r->sim, mx) : r->reactive[orig];
        }
    }
    free(p);
    free(u);
    return rc;
}

int run_method(struct run *r, const struct cli_opts *o, int m, char *errbuf,
               size_t errlen)
{
    struct method_result *mr = &r->m[m];
    struct fc f;
    struct ahpa_error err = {0};
    alloc_result(mr, r->n);
    fc_init(&f, m, r);
    int rc = roll(r, o, &f, mr, &err);
    if (rc) {
        snprintf(errbuf, errlen, "%s: %s", method_name(m), ahpa_error_message(&err, rc));
        fc_dispose(&f);
        return rc;
    }
    if (m == M_ENGINE) {
        struct ahpa_forecast_info info;
        ahpa_forecast_describe(f.eng, &info);
        mr->seasonal = info.seasonal;
        mr->period_steps = info.period_steps;
        mr->seasonal_gain = info.seasonal_gain;
        mr->period_acf = info.period_acf;
    } else {
        mr->seasonal = f.period > 1;
        mr->period_steps = f.period;
    }
    fc_dispose(&f);
    mr->fit_ms = mr->fits ? mr->fit_ms / (double)mr->fits : 0.0;
    size_t nt = r->n - r->ts;
    size_t day = (size_t)(86400 / r->step_s);
    size_t lag = r->ts > day ? day : 1;
    ahpa_backtest_score(r->y + r->ts, mr->point + r->ts, mr->quant + r->ts, nt, o->q,
                        ahpa_backtest_mae_scale(r->y, r->ts, lag),
                        ahpa_backtest_mae_scale(r->y, r->ts, 1), &mr->acc);
    for (size_t t = r->ts; t < r->n; t++) {
        if (m == M_ENGINE) { /* the adapter's own policies */
            mr->pro[t] = r->pol[POL_PROACTIVE][t];
            mr->aut[t] = r->pol[POL_AUTO][t];
        } else {
            mr->aut[t] = mr->pro[t] > r->reactive[t] ? mr->pro[t] : r->reactive[t];
        }
    }
    ahpa_backtest_simulate(&r->sim, mr->pro + r->ts, r->needed + r->ts, nt, NULL,
                           &mr->cap_pro);
    ahpa_backtest_simulate(&r->sim, mr->aut + r->ts, r->needed + r->ts, nt, NULL,
                           &mr->cap_auto);
    mr->run = true;
    return 0;
}

void run_dispose(struct run *r)
{
    for (int m = 0; m < M_COUNT; m++) {
        free(r->m[m].point);
        free(r->m[m].quant);
        free(r->m[m].pro);
        free(r->m[m].aut);
    }
    for (int k = 0; k < POL_COUNT; k++)
        free(r->pol[k]);
    free(r->pol_gate);
    free(r->needed);
}
