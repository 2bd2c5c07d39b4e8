/* Internals of ahpa-backtest shared by its files. */
#ifndef AHPA_BACKTEST_CLI_H
#define AHPA_BACKTEST_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahpa/backtest.h"

enum { M_ENGINE, M_SNAIVE, M_HOLTWINTERS, M_MAXVALUE, M_COUNT };
/* The adapter's policies, run through the planner (policy.c). */
enum { POL_REACTIVE, POL_PROACTIVE, POL_AUTO, POL_COUNT };

struct cli_opts {
    const char *input;
    const char *prom_url;    /* with query, start, end: Prometheus input */
    const char *query;
    const char *start, *end;
    const char *output_plan;
    int64_t step_s;          /* 0: median spacing */
    double q;
    int64_t forward_s;
    int64_t startup_s;       /* -1: = forward */
    double target;           /* 0: derived from the data */
    double test_days;
    double history_days;
    int64_t refit_s;
    bool methods[M_COUNT];
    bool json;
    int64_t refit_offset_s;  /* refit boundaries at k * refit + offset */
    int64_t stabilization_s; /* scale-down stabilisation window */
    int64_t observed_replicas; /* >= 0: the replica count the planner sees
                                  (as a controller would observe it); -1:
                                  each policy's own previous plan */
    int64_t min_replicas;
    int64_t max_replicas;
};

/* Results of one method on the test window. */
struct method_result {
    bool run;
    double *point;           /* forecast for t issued at t - lead */
    double *quant;
    int64_t *pro;            /* proactive desired at t */
    int64_t *aut;            /* auto desired at t (baselines: max(pro,
                                reactive); engine: the planner's auto) */
    struct ahpa_backtest_accuracy acc;
    struct ahpa_backtest_capacity cap_pro, cap_auto;
    bool seasonal;           /* engine: period found at the last fit */
    size_t period_steps;
    double seasonal_gain;    /* engine: out-of-sample gain of the season */
    double period_acf;
    double fit_ms;           /* mean fit time */
    size_t fits;
};

struct run {
    const double *y;         /* whole series */
    size_t n;
    int64_t t0_s, step_s;
    size_t ts;               /* first test index */
    size_t lead;             /* steps of scale-up-forward (>= 1) */
    size_t hist;             /* steps of history per fit */
    size_t refit;            /* steps between fits */
    struct ahpa_backtest_sim sim;
    int64_t *needed, *reactive; /* reactive: the planner's (= r->pol[0]) */
    int64_t *pol[POL_COUNT];  /* the planner's plans, test steps */
    unsigned char *pol_gate;  /* auto's gate at t (enum ahpa_planner_gate_choice) */
    struct ahpa_backtest_capacity cap_oracle, cap_reactive;
    struct method_result m[M_COUNT];
};

const char *method_name(int m);
int run_method(struct run *r, const struct cli_opts *o, int m, char *errbuf,
               size_t errlen);
void run_dispose(struct run *r);
int run_policies(struct run *r, const struct cli_opts *o, char *errbuf, size_t errlen);

#endif
