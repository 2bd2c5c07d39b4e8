/* The metrics provider: what custom.metrics.k8s.io and
 * external.metrics.k8s.io answer, computed from Prometheus through the
 * rules (prometheus-adapter compatible).
 *
 * - A registry of metrics, rebuilt by relisting series on a timer (one
 *   /api/v1/series call per distinct seriesQuery, in parallel). A slow or
 *   failing relist never blocks readers: the last good registry stays.
 * - Values, through a cache keyed by the rendered PromQL: answers younger
 *   than the TTL come from memory; concurrent identical misses make one
 *   Prometheus query; entries asked for recently are refreshed in the
 *   background before they expire, so a client polling every TTL never
 *   waits on Prometheus. The cache is bounded.
 * - Which objects a label selector means, through a resolver interface
 *   (in cluster mode main.c gives one that reads the pod informer); the
 *   default, and the fallback for resources a resolver does not know,
 *   reads kube-state-metrics' kube_<kind>_labels.
 *
 * Thread-safe: every call may come from any request thread. */
#ifndef AHPA_PROVIDER_H
#define AHPA_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ahpa_buf;
struct ahpa_error;
struct ahpa_labelsel;
struct ahpa_prom_client;
struct ahpa_rules_config;
struct ahpa_provider;

/* Which objects of a kind match a selector in a namespace (NULL for
 * cluster scope). Fills *names (heap array of heap strings, caller frees
 * each and the array) and *n. -AHPA_ENOTSUP: this resolver does not know
 * the resource; the provider then asks kube-state-metrics. */
typedef int ahpa_provider_resolve_fn(void *ctx, const char *group, const char *resource,
                                     const char *ns, const struct ahpa_labelsel *sel,
                                     char ***names, size_t *n, struct ahpa_error *err);
/* Whether one named object exists: 1, 0 (the answer is then 404 NotFound
 * without asking Prometheus), or -AHPA_ENOTSUP (not known to this
 * resolver: not checked), another error to answer with. */
typedef int ahpa_provider_exists_fn(void *ctx, const char *group, const char *resource,
                                    const char *ns, const char *name, struct ahpa_error *err);

/* Called after each registry change (from the refresher thread). */
typedef void ahpa_provider_changed_fn(void *ctx);

struct ahpa_provider_options {
    struct ahpa_prom_client *prom;         /* borrowed; outlives the provider */
    const struct ahpa_rules_config *rules; /* borrowed; outlives the provider */
    int64_t relist_interval_ms;            /* 0: 60 s */
    int64_t max_age_ms;                    /* series lookback; 0: max(relist interval, 5 min) */
    int64_t cache_ttl_ms;                  /* 0: 15 s */
    size_t cache_max_bytes;                /* heap the value cache may hold; 0: 32 MiB */
    size_t cache_max_entries;              /* also bound the entries; 0: no */
    ahpa_provider_resolve_fn *resolve;     /* NULL: kube-state-metrics */
    ahpa_provider_exists_fn *exists;       /* NULL: named objects not checked */
    void *resolve_ctx;                     /* for both */
    /* The resolver and `exists` read memory only and never wait (an
     * informer's store): they are called for requests that must not wait
     * (cached_only) too. false: such requests go to a worker first. */
    bool resolve_never_waits;
    ahpa_provider_changed_fn *changed;     /* may be NULL */
    void *changed_ctx;
};

/* Does no I/O. Caller frees with ahpa_provider_free(). */
struct ahpa_provider *ahpa_provider_new(const struct ahpa_provider_options *opt,
                                        struct ahpa_error *err);
/* Starts the refresher thread, which relists at once. */
int ahpa_provider_start(struct ahpa_provider *p, struct ahpa_error *err);
/* Stops the thread (waits for it). Idempotent. */
void ahpa_provider_stop(struct ahpa_provider *p);
void ahpa_provider_free(struct ahpa_provider *p);

/* Relists now, synchronously (tests, and the first relist). */
int ahpa_provider_relist(struct ahpa_provider *p, struct ahpa_error *err);

/* --- the registry ---------------------------------------------------------- */

struct ahpa_provider_metric {
    const char *group;    /* "" for the core group */
    const char *resource; /* "pods"; NULL for external metrics */
    const char *metric;
    bool namespaced;      /* the resource is namespaced */
};

typedef void ahpa_provider_metric_fn(void *ctx, const struct ahpa_provider_metric *m);
/* Calls fn for each custom (external == false) or external metric of the
 * current registry, sorted. Returns how many. */
size_t ahpa_provider_foreach(struct ahpa_provider *p, bool external, ahpa_provider_metric_fn *fn,
                             void *ctx);

/* --- values ------------------------------------------------------------------ */

struct ahpa_provider_custom_query {
    const char *group;       /* "" or NULL for the core group */
    const char *resource;    /* plural: "pods" */
    const char *ns;          /* NULL for cluster-scoped objects */
    const char *name;        /* object name, or "*" */
    const struct ahpa_labelsel *selector;        /* objects, with "*"; may be NULL */
    const char *metric;
    const struct ahpa_labelsel *metric_selector; /* may be NULL */
    bool cached_only; /* answer from memory or fail with -AHPA_EUNAVAIL */
};

struct ahpa_provider_value {
    char *ns;         /* NULL for cluster-scoped */
    char *name;       /* object name; for external values NULL */
    char **label_names, **label_values; /* external: the series' labels */
    size_t nlabels;
    int64_t t_s;      /* the sample's own time */
    double value;     /* finite and >= 0 */
};

struct ahpa_provider_values {
    struct ahpa_provider_value *items;
    size_t n;
    int64_t window_s; /* from the query's range, 0 when none */
    int64_t valid_until_ms; /* monotonic ms (ahpa_clock_mono_ms) until which
                               the same request gets the same answer from
                               the cache (min over the cached results used) */
};

void ahpa_provider_values_dispose(struct ahpa_provider_values *v);

/* Errors: -AHPA_ENOTFOUND (metric unknown for the resource, or one named
 * object without a value), -AHPA_EPARSE/-AHPA_ENOTSUP (selector cannot be
 * expressed), -AHPA_EUPSTREAM/-AHPA_ETIMEDOUT (Prometheus failed).
 *
 * With cached_only the call never waits: it answers from fresh cache
 * entries or returns -AHPA_EUNAVAIL when some Prometheus query (or a
 * custom resolver, which may block) would be needed; request threads try
 * that first and hand the misses to a worker.
 *
 * One named object (name != "*") answers exactly one value or
 * -AHPA_ENOTFOUND, whatever Prometheus returns: values of other objects
 * are dropped and of several values for the object the newest wins. */
int ahpa_provider_custom(struct ahpa_provider *p, const struct ahpa_provider_custom_query *q,
                         struct ahpa_provider_values *out, struct ahpa_error *err);
int ahpa_provider_external(struct ahpa_provider *p, const char *ns, const char *metric,
                           const struct ahpa_labelsel *selector, bool cached_only,
                           struct ahpa_provider_values *out, struct ahpa_error *err);

/* The PromQL that ahpa_provider_external runs for (ns, metric,
 * selector), appended to `out`, without running it: the rule's
 * metricsQuery as the registry maps the metric (for the controller, which
 * plans External metrics from their history). -AHPA_ENOTFOUND when the
 * current registry has no such external metric. */
int ahpa_provider_external_promql(struct ahpa_provider *p, const char *ns, const char *metric,
                                  const struct ahpa_labelsel *selector, struct ahpa_buf *out,
                                  struct ahpa_error *err);

/* --- health and metrics ------------------------------------------------------------ */

/* 0 when the last relist succeeded and Prometheus answered recently. */
int ahpa_provider_health(struct ahpa_provider *p, char *reason, size_t n);
/* Appends Prometheus text for the provider's and the Prometheus client's
 * metrics (cache hits, misses, freshness; query latency per endpoint). */
void ahpa_provider_collect(void *provider, struct ahpa_buf *out);

/* Kind and apiVersion of a resource for describedObject: "Pod", "/v1". */
void ahpa_provider_kind(const char *group, const char *resource, const char **kind,
                        const char **api_version, bool *namespaced);

#endif
