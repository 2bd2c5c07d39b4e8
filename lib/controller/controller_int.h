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
#include "metric.h"

struct ahpa_obj;
struct ahpa_forecast_model;
struct ahpa_kube_informer;
struct json_t;

/* A time series at a fixed step, appended at the end, trimmed at the
 * front to a capacity. */
struct ahpa_controller__ring {
    int64_t t0_s;    /* time of v[0] */
    double *v;
    size_t n, cap;
};

/* ring.c. _init allocates room for cap values (n 0), _dispose frees them.
 * Times are multiples of `step` seconds. _put sets the value at t, fills
 * skipped steps with NaN, keeps the newest cap values and drops times
 * before the ring. _get: the value at t, NaN when outside. _last_finite:
 * the newest finite value at or before `until`, its time in *t (0: none). */
void ahpa_controller__ring_init(struct ahpa_controller__ring *r, size_t cap);
void ahpa_controller__ring_dispose(struct ahpa_controller__ring *r);
void ahpa_controller__ring_put(struct ahpa_controller__ring *r, int64_t step, int64_t t,
                               double v);
double ahpa_controller__ring_get(const struct ahpa_controller__ring *r, int64_t step, int64_t t);
double ahpa_controller__ring_last_finite(const struct ahpa_controller__ring *r, int64_t step,
                                         int64_t until, int64_t *t);

/* Threads and what they touch.
 *
 * The loop thread scans the files and replaces the workload array; cycle
 * workers (started by the loop thread after the scan, joined before the
 * next one) each take one workload at a time. Request threads read the
 * published snapshot (immutable, reference-counted: they never wait on a
 * cycle) and render one workload's page.
 *
 * A workload is reference-counted: the array holds one reference and a
 * renderer takes one (under workloads_lock, for a pointer copy) before it
 * reads, so a workload dropped by a file edit is freed by whoever lets go
 * last. Its `lock` guards the fields the renderer reads (obj, the rings,
 * the model, the future); the cycle fetches from Prometheus into local
 * buffers WITHOUT it and holds it only to merge, feed, refit and predict
 * (under 100 ms for 7 days at 60 s, the first fit's replay included), so
 * a page render never waits behind a Prometheus round trip. Fields
 * marked "cycle only" are touched by one cycle worker at a time and never
 * by renderers. */
/* One metric of an AHPA: its usage U (metric.h) and the model and
 * planner cache made from it. Owned by its workload, guarded by the
 * workload's lock like the fields it replaces there. */
struct ahpa_controller__mstate {
    char *identity;                  /* ahpa_controller__metric_identity */
    char *name;                      /* "cpu", the external metric's name */
    char noun[96];                   /* "cpu usage" (messages) */
    enum ahpa_obj_target_type target_type;
    double target;
    struct ahpa_controller__ring usage; /* U at every step */
    struct ahpa_controller__ring pred_point, pred_upper; /* issued F earlier */
    struct ahpa_forecast_model *model;
    struct ahpa_planner_policy *policy; /* the planner's cache; NULL: none yet */
    int64_t fit_boundary_s;          /* refit boundary of the fit; 0: never */
    int64_t fed_until_s;             /* last sample the model has seen */
    int64_t fetched_until_s;         /* last step fetched; 0: never */
    double *future_point, *future_upper; /* next 24 h from the last cycle */
    size_t nfuture;
    int64_t future_t0_s;
    double coverage_hits, coverage_n, pinball_sum;
    /* Values were fetched but their requests (Utilization) were not. */
    bool requests_missing;
};

struct ahpa_controller__workload {
    struct ahpa_ref ref;             /* first member; destroy frees it */
    pthread_mutex_t lock;
    struct ahpa_obj *obj;            /* owned; replaced under lock by the scan */
    char *key;                       /* "ns/name" */
    struct ahpa_controller__ring replicas;
    int64_t fetched_until_s;         /* replicas: last step fetched; 0: never */
    /* One per obj->metrics[i], in order, matched again by identity at each
     * cycle (a redefined object keeps the history of the metrics it keeps). */
    struct ahpa_controller__mstate *ms;
    size_t nms;
    size_t driving;                  /* index of the metric that drove the last plan */
    int64_t first_seen_s;            /* cycle time it was first planned; cycle only */
    char last_reason[256];           /* last "not planned" reason logged; cycle only */
    /* New or redefined since the last published snapshot: planned by the
     * next partial refresh. Loop thread only (workers read it). */
    bool replan;
};

/* One AHPA object of the cluster as the controller last looked at it.
 * Loop thread only. */
struct ahpa_controller__entry {
    char *ns, *name, *key;  /* key "ns/name" */
    char *rv;               /* the resourceVersion last looked at */
    char *uid;
    struct json_t *spec;    /* deep copy of the spec last validated */
    int64_t generation;
    char *error;            /* validation message; NULL when valid */
};

/* Cluster mode (cluster.c, status.c). */
struct ahpa_controller__cluster {
    struct ahpa_kube_informer *inf;
    bool started;
    /* Set by the informer's callbacks (a new, deleted or re-specified
     * object), taken by the loop thread, which they wake. */
    atomic_bool dirty;
    struct ahpa_controller__entry *entries; /* sorted by key; loop thread */
    size_t nentries;
    atomic_ullong status_writes, status_failures, status_conflicts, events;
    atomic_ullong status_deferred; /* left for after the next cycle (deadline) */
    size_t write_cursor; /* where the last status pass ran out of time; loop thread */
    /* Status writes a follower left out (it is not the elected leader). */
    atomic_ullong status_not_leader;
    /* The pod informer's first list was waited for (once, bounded). */
    bool pods_waited;
    /* Managed HPAs: creates, updates and deletes sent; reconciles failed. */
    atomic_ullong mhpa_writes, mhpa_failures;
    /* Events (events.h): made by status.c on first use; loop thread. */
    struct ahpa_controller__events *recorder;
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
    char *usage_query_statefulset; /* the default's pod pattern for name-<ordinal> */
    /* Any other kind in cluster mode with the pod cache: the selected pods
     * (<<.Pods>>); NULL without the pod cache (the Deployment's serve). */
    char *usage_query_pods;
    /* cpu and memory templates (metric.h), Deployment and StatefulSet pods. */
    char *mq[AHPA_CONTROLLER__MQ_COUNT], *mq_sts[AHPA_CONTROLLER__MQ_COUNT];
    char *mq_pods[AHPA_CONTROLLER__MQ_COUNT]; /* as usage_query_pods; NULL without it */
    struct ahpa_controller__workload **workloads;
    size_t nworkloads;
    pthread_mutex_t workloads_lock;  /* the array, against the renderer */
    struct ahpa_controller__file *files;
    size_t nfiles;
    /* Objects skipped in the last scan because another file already
     * defines their namespace/name ("path: ns/name is defined twice; ..."),
     * or, in cluster mode, invalid objects ("ns/name: message").
     * Loop thread only; copied into every snapshot's errors. */
    char **dup_errors;
    size_t ndup_errors;
    struct ahpa_snapshot snapshot;
    struct ahpa_controller__cluster *cluster; /* NULL with --ahpa-dir */

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

/* cluster.c */
int ahpa_controller__cluster_new(struct ahpa_controller *c, struct ahpa_error *err);
void ahpa_controller__cluster_free(struct ahpa_controller *c);
/* Starts the informer (once). */
int ahpa_controller__cluster_start(struct ahpa_controller *c, struct ahpa_error *err);
/* Stops it: no callback runs after it returns. */
void ahpa_controller__cluster_stop(struct ahpa_controller *c);
/* Rebuilds the workload array from the informer's store: validates the
 * objects whose spec changed, marks new and redefined workloads `replan`,
 * drops deleted ones; invalid objects go to dup_errors. Sets *changed. */
void ahpa_controller__cluster_sync(struct ahpa_controller *c, bool *changed);
/* Before the first cycle: waits (once, at most AHPA_CONTROLLER_PODS_WAIT_MS,
 * cut short by a stop) for the pod informer's first list, so that the
 * first statuses do not all say "pods not listed yet". Loop thread. */
#define AHPA_CONTROLLER_PODS_WAIT_MS 10000
void ahpa_controller__cluster_wait_pods(struct ahpa_controller *c);
/* Wakes the loop thread (a dirty flag was set). */
void ahpa_controller__wake(struct ahpa_controller *c);

/* status.c */
/* The status wanted for a plan / an invalid object, given the one the
 * object has (may be NULL): new references. Conditions keep their
 * lastTransitionTime while their status stays. */
struct json_t *ahpa_controller__status_for_plan(const struct ahpa_controller_plan *p,
                                                const struct json_t *old, int64_t now_s);
struct json_t *ahpa_controller__status_for_invalid(int64_t generation, const char *message,
                                                   const struct json_t *old, int64_t now_s);
struct ahpa_controller__mhpa_result;
/* Frees the Event recorder (cluster_free). */
void ahpa_controller__status_dispose(struct ahpa_controller__cluster *k);
/* Appends the ManagedHPA condition for r to status.conditions (r NULL:
 * the one `old` has, if any, unchanged). */
void ahpa_controller__status_add_mhpa(struct json_t *status, const struct json_t *old,
                                      const struct ahpa_controller__mhpa_result *r,
                                      int64_t now_s);
/* The merge patch {"status": {...}} that turns old (may be NULL) into
 * want: changed fields, and null for fields want lacks. NULL when they
 * are equal. New reference. */
struct json_t *ahpa_controller__status_patch(const struct json_t *old, const struct json_t *want);
/* Writes the statuses of the snapshot's plans and of the invalid
 * objects, and their Events, until deadline_ms (wall clock). Loop thread. */
void ahpa_controller__write_statuses(struct ahpa_controller *c,
                                     const struct ahpa_controller__snapshot_data *s,
                                     int64_t now_s, int64_t deadline_ms);

/* scale.c */
/* A scale subresource's status.selector longer than this is refused. */
#define AHPA_CONTROLLER_SELECTOR_MAX 4096
/* The plural resource of a kind as client-go's UnsafeGuessKindToResource
 * guesses it ("Deployment" -> "deployments", "Policy" -> "policies");
 * "" when it does not fit in n. */
void ahpa_controller__guess_resource(const char *kind, char *out, size_t n);
/* GET <target>/scale: status.replicas into *replicas, status.selector
 * into selector (may be size 0; "" when the scale has none, and left
 * untouched when the GET failed). -AHPA_ENOTFOUND when the target does
 * not exist; -AHPA_EUPSTREAM when the count is missing or out of range
 * (the selector is still given); -AHPA_ETOOBIG when the selector does not
 * fit (selector "" then). */
int ahpa_controller__read_scale(struct ahpa_controller *c, const struct ahpa_obj *o,
                                int32_t *replicas, char *selector, size_t selector_size,
                                struct ahpa_error *err);

/* pods.c: the pods of a scale target, for the usage query's <<.Pods>>. */
/* Bounds of the pod-name alternation: each usage query names at most
 * this many bytes of (escaped) pod names; a workload with more pods is
 * queried in several chunks whose results are summed step by step (the
 * usage query is a sum over pods); more chunks than the maximum: no plan. */
#define AHPA_CONTROLLER_PODS_QUERY_BYTES 8192
#define AHPA_CONTROLLER_PODS_MAX_QUERIES 16
struct ahpa_controller__pods {
    char **chunks;  /* regex bodies "a|b\\.c" (PromQL-string escaped), each within the bound */
    size_t nchunks;
    size_t npods;
};
void ahpa_controller__pods_dispose(struct ahpa_controller__pods *p);
/* Renders the sorted names into chunks of at most max_bytes each, at most
 * max_chunks (-AHPA_ETOOBIG beyond). */
int ahpa_controller__pods_render(char *const *names, size_t n, size_t max_bytes,
                                 size_t max_chunks, struct ahpa_controller__pods *out,
                                 struct ahpa_error *err);
/* The pods `selector` (the scale subresource's status.selector) selects
 * in the target's namespace, from the shared pod cache (opt.pods),
 * finished pods left out, rendered. -AHPA_EUNAVAIL with the reason when
 * they are not known: no selector, pods not listed yet, none selected;
 * -AHPA_ETOOBIG beyond the bounds. */
int ahpa_controller__target_pods(struct ahpa_controller *c, const struct ahpa_obj *o,
                                 const char *selector, struct ahpa_controller__pods *out,
                                 struct ahpa_error *err);
/* render_query plus "<<.Pods>>" replaced by `pods` (one chunk; NULL:
 * left as written). */
void ahpa_controller__render_query_pods(const char *tmpl, const char *ns, const char *name,
                                        const char *pods, struct ahpa_buf *out);

/* workload.c */
/* A new workload (one reference, owned by the caller) for `obj` (taken). */
struct ahpa_controller__workload *ahpa_controller__workload_new(struct ahpa_obj *obj);
/* Drops one reference; the last one frees the workload. NULL is a no-op. */
void ahpa_controller__workload_release(struct ahpa_controller__workload *w);
/* One cycle for one AHPA: fetch, forecast, plan; fills *plan (strings
 * borrowed from w until the snapshot copies them). */
void ahpa_controller__workload_cycle(struct ahpa_controller *c,
                                     struct ahpa_controller__workload *w, int64_t now_s,
                                     struct ahpa_controller_plan *plan, char *error,
                                     size_t error_size);
/* Sizes a new workload's rings for the configured history. */
void ahpa_controller__workload_prepare(struct ahpa_controller *c,
                                       struct ahpa_controller__workload *w);
/* Replaces "<<.Namespace>>" and "<<.Name>>" in a query template. */
void ahpa_controller__render_query(const char *tmpl, const char *ns, const char *name,
                                   struct ahpa_buf *out);

#endif
