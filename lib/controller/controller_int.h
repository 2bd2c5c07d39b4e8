/* Internals shared by the controller files. */
#ifndef AHPA_CONTROLLER_INT_H
#define AHPA_CONTROLLER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ahpa/controller.h"
#include "ahpa/planner.h"
#include "ahpa/refcount.h"

struct ahpa_obj;
struct ahpa_forecast_model;

/* A time series at a fixed step, appended at the end, trimmed at the
 * front to a capacity. */
struct ahpa_controller__ring {
    int64_t t0_s;    /* time of v[0] */
    double *v;
    size_t n, cap;
};

/* Everything the controller keeps for one AHPA. The lock guards all of it
 * against the report renderer; only the controller thread writes. */
struct ahpa_controller__workload {
    pthread_mutex_t lock;
    struct ahpa_obj *obj;            /* owned */
    char *key;                       /* "ns/name" */
    struct ahpa_controller__ring usage, replicas;
    struct ahpa_controller__ring pred_point, pred_upper; /* issued F earlier */
    struct ahpa_forecast_model *model;
    int64_t fitted_at_s;             /* 0: never */
    int64_t fetched_until_s;         /* last step fetched; 0: never */
    struct ahpa_planner_state planner;
    double *future_point, *future_upper; /* next 24 h from the last cycle */
    size_t nfuture;
    int64_t future_t0_s;
    double coverage_hits, coverage_n, pinball_sum;
    bool seen;                       /* in the latest file scan */
};

struct ahpa_controller__snapshot_data {
    struct ahpa_ref ref;
    struct ahpa_controller_plan *plans;
    size_t n;
    char **errors;
    size_t nerrors;
    char *strings;                   /* not used: plans own their copies */
};

struct ahpa_controller__file {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    char *error;                     /* NULL when the file was fine */
    struct ahpa_obj **objs;          /* parsed objects (owned until adopted) */
    size_t nobjs;
    char **obj_errors;
    size_t nobj_errors;
};

struct ahpa_controller {
    struct ahpa_controller_options opt;
    char *usage_query, *replicas_query;
    struct ahpa_controller__workload **workloads;
    size_t nworkloads;
    pthread_mutex_t workloads_lock;  /* the array, against the renderer */
    pthread_mutex_t fit_lock;        /* forecast fits take turns (FFTW) */
    struct ahpa_controller__file *files;
    size_t nfiles;
    struct ahpa_snapshot snapshot;

    pthread_t thread;
    bool running, stop;
    /* Set first by ahpa_controller_stop(): cycle workers take no further
     * AHPA and the unfinished cycle is not published. */
    atomic_bool stopping;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;

    atomic_ullong cycles, queries, query_failures;
    atomic_llong last_cycle_ms, last_cycle_duration_ms;
};

/* files.c: rescans the directory; sets *changed when objects changed. */
int ahpa_controller__scan(struct ahpa_controller *c, bool *changed, struct ahpa_error *err);

/* workload.c */
struct ahpa_controller__workload *ahpa_controller__workload_new(struct ahpa_obj *obj);
void ahpa_controller__workload_free(struct ahpa_controller__workload *w);
/* One cycle for one AHPA: fetch, forecast, plan; fills *plan (strings
 * borrowed from w until the snapshot copies them). */
void ahpa_controller__workload_cycle(struct ahpa_controller *c,
                                     struct ahpa_controller__workload *w, int64_t now_s,
                                     struct ahpa_controller_plan *plan, char *error,
                                     size_t error_size);
/* Replaces "<<.Namespace>>" and "<<.Name>>" in a query template. */
void ahpa_controller__render_query(const char *tmpl, const char *ns, const char *name,
                                   struct ahpa_buf *out);

#endif
