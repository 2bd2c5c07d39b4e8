/* The scaling policies of the adapter, run step by step through the
 * planner's own entry point (ahpa_planner_policy_plan), as the controller
 * runs it: reactive (the stock HPA), proactive and auto, each with its own
 * replica history (the replicas a stock HPA following the plan would
 * have set: the previous step's plan), or the observed count given with
 * --observed-replicas. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/planner.h"
#include "cli.h"

static const enum ahpa_planner_strategy strategies[POL_COUNT] = {
    AHPA_PLANNER_REACTIVE, AHPA_PLANNER_PROACTIVE, AHPA_PLANNER_AUTO};

static void input_for(const struct run *r, const struct cli_opts *o, size_t t, int pol,
                      const double *rep, struct ahpa_planner_input *in)
{
    ahpa_planner_input_init(in);
    in->now_s = r->t0_s + (int64_t)t * r->step_s;
    in->strategy = strategies[pol];
    in->usage = isfinite(r->y[t]) ? (r->y[t] > 0 ? r->y[t] : 0) : NAN;
    in->current_replicas = (int32_t)rep[t];
    in->scale_up_forward_s = o->forward_s;
    in->target = r->sim.target;
    in->unit = "";
    in->min_replicas = (int32_t)r->sim.min_replicas;
    in->max_replicas = r->sim.max_replicas > 0 && r->sim.max_replicas < INT32_MAX
                           ? (int32_t)r->sim.max_replicas : INT32_MAX;
    if (in->max_replicas < 1)
        in->max_replicas = 1;
    in->stabilization_s = o->stabilization_s;
}

int run_policies(struct run *r, const struct cli_opts *o, char *errbuf, size_t errlen)
{
    struct ahpa_planner_policy *pol[POL_COUNT];
    struct ahpa_planner_policy_cfg cfg = {
        .step_s = r->step_s, .history_s = (int64_t)(o->history_days * 86400.0),
        .startup_s = r->sim.startup_s, .quantile = o->q};
    double *rep[POL_COUNT];
    for (int k = 0; k < POL_COUNT; k++) {
        pol[k] = ahpa_planner_policy_new();
        rep[k] = ahpa_malloc(r->n * sizeof(double));
        r->pol[k] = ahpa_malloc(r->n * sizeof(int64_t));
        for (size_t t = 0; t < r->ts; t++)
            rep[k][t] = o->observed_replicas >= 0 ? (double)o->observed_replicas
                        : isfinite(r->y[t])        ? (double)ahpa_backtest_pods(&r->sim, r->y[t])
                                                   : NAN;
    }
    r->pol_gate = ahpa_malloc(r->n);
    int rc = 0;
    struct ahpa_error err = {0};
    for (size_t t = r->ts; t < r->n && rc == 0; t++) {
        struct ahpa_planner_view u = {r->y, t + 1, r->t0_s};
        int64_t now = r->t0_s + (int64_t)t * r->step_s;
        int64_t b = ahpa_planner_refit_boundary(now - r->step_s, o->refit_s, o->refit_offset_s,
                                                r->step_s);
        for (int k = 0; k < POL_COUNT && rc == 0; k++) {
            if (o->observed_replicas >= 0)
                rep[k][t] = (double)o->observed_replicas;
            else
                rep[k][t] = t > r->ts ? (double)r->pol[k][t - 1]
                            : isfinite(rep[k][t - 1]) ? rep[k][t - 1]
                                                      : (double)r->sim.min_replicas;
            struct ahpa_planner_view rv = {rep[k], t + 1, r->t0_s};
            struct ahpa_planner_input in;
            struct ahpa_planner_result res;
            input_for(r, o, t, k, rep[k], &in);
            rc = ahpa_planner_policy_plan(pol[k], &cfg, &u, &rv, b, &in, &res, &err);
            if (rc == 0) {
                r->pol[k][t] = res.final;
                if (k == POL_AUTO)
                    r->pol_gate[t] = (unsigned char)res.gate;
            }
        }
    }
    if (rc)
        snprintf(errbuf, errlen, "planner: %s", ahpa_error_message(&err, rc));
    for (int k = 0; k < POL_COUNT; k++) {
        free(rep[k]);
        ahpa_planner_policy_free(pol[k]);
    }
    return rc;
}
