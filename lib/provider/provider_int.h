/* Internals shared by the provider files. */
#ifndef AHPA_PROVIDER_INT_H
#define AHPA_PROVIDER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ahpa/lru.h"
#include "ahpa/mem.h"
#include "ahpa/prom.h"
#include "ahpa/provider.h"
#include "ahpa/refcount.h"

struct ahpa_rules_rule;

/* One metric a rule derives from one series name. */
struct ahpa_provider__entry {
    char *group;       /* "" core; unused for external */
    char *resource;    /* NULL for external */
    char *metric;
    bool namespaced;
    const struct ahpa_rules_rule *rule;
    char *series;      /* the Prometheus series name */
};

/* An immutable registry, shared by reference. */
struct ahpa_provider__registry {
    struct ahpa_ref ref;
    struct ahpa_provider__entry *custom; /* sorted by resource, group, metric */
    size_t ncustom;
    struct ahpa_provider__entry *external; /* sorted by metric */
    size_t nexternal;
};

/* --- cache ------------------------------------------------------------ */

/* A cached instant-query result. */
struct ahpa_provider__cached {
    struct ahpa_ref ref;
    struct ahpa_prom_result result;
    int64_t fetched_ms;        /* monotonic */
    size_t bytes;              /* heap it holds (ahpa_mem_footprint) */
};

/* The value cache: slots indexed and ordered by an LRU of their PromQL
 * text, bounded in bytes (and, when asked, in entries). One mutex guards
 * it all; counters are atomic for /metrics. */
struct ahpa_provider__cache {
    pthread_mutex_t lock;
    pthread_cond_t done;       /* a fetch finished */
    struct ahpa_lru lru;       /* struct ahpa_provider__slot, by key */
    struct ahpa_list wanted;   /* slots asked for again since their last refresh */
    size_t max_bytes, max_entries; /* max_entries 0: no bound on entries */
    int64_t ttl_ms;
    struct ahpa_mem_trimmer trimmer;
    atomic_ullong hits, misses, waits, refreshes, evictions, expirations, failures;
    atomic_ullong held_failures; /* asks answered with a fetch's recent failure */
    atomic_size_t bytes, entries; /* as of the last change, for /metrics */
};
struct ahpa_provider {
    struct ahpa_provider_options opt;
    struct ahpa_snapshot registry;      /* struct ahpa_provider__registry */
    struct ahpa_provider__cache cache;

    pthread_t thread;
    bool running;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    bool stop;

    atomic_llong last_relist_ok_ms;     /* 0: never */
    atomic_llong last_relist_ms;
    atomic_llong last_relist_duration_ms;
    atomic_int last_relist_failed;
    atomic_llong last_query_ok_ms;
    atomic_llong last_query_failed_ms;
    atomic_ullong relists, relist_failures;
    char relist_error[256];             /* guarded by wake_lock */
};

/* Wall-clock unix ms: for Prometheus query times and exported timestamps
 * only; durations and TTLs use ahpa_clock_mono_ms(). */
int64_t ahpa_provider__now_ms(void);

/* registry.c */
struct ahpa_provider__registry *ahpa_provider__registry_get(struct ahpa_provider *p);
void ahpa_provider__registry_release(struct ahpa_provider__registry *r);
const struct ahpa_provider__entry *
ahpa_provider__find_custom(const struct ahpa_provider__registry *r, const char *group,
                           const char *resource, const char *metric);
const struct ahpa_provider__entry *
ahpa_provider__find_external(const struct ahpa_provider__registry *r, const char *metric);

/* cache.c */
/* max_bytes > 0; max_entries 0 bounds only the bytes. */
void ahpa_provider__cache_init(struct ahpa_provider__cache *c, int64_t ttl_ms, size_t max_bytes,
                               size_t max_entries);
void ahpa_provider__cache_dispose(struct ahpa_provider__cache *c);
/* Returns a reference to a result no older than the TTL (caller releases
 * with ahpa_ref_release(&cached->ref)), fetching it (once for all
 * concurrent askers) when needed. With cached_only, -AHPA_EUNAVAIL
 * instead of fetching or waiting for a fetch. */
int ahpa_provider__cache_query(struct ahpa_provider *p, const char *promql, bool cached_only,
                               struct ahpa_provider__cached **out, struct ahpa_error *err);
/* Refreshes the entries asked for again since their last refresh (or
 * fetch) once they are past 60% of their TTL, so the next ask still hits;
 * a key asked for once is never refreshed. Drops the values nobody can be
 * served any more and the entries nobody asked for in 4 TTLs, and gives
 * freed memory back to the system when much was freed. Called by the
 * refresher thread. */
void ahpa_provider__cache_maintain(struct ahpa_provider *p);
size_t ahpa_provider__cache_size(struct ahpa_provider__cache *c);
size_t ahpa_provider__cache_bytes(struct ahpa_provider__cache *c);
/* Age in ms of the oldest entry still being asked for (freshness). */
int64_t ahpa_provider__cache_oldest_ms(struct ahpa_provider__cache *c);

/* resolve.c */
int ahpa_provider__ksm_resolve(void *ctx, const char *group, const char *resource, const char *ns,
                               const struct ahpa_labelsel *sel, char ***names, size_t *n,
                               struct ahpa_error *err);
/* The same, answering from the cache only (-AHPA_EUNAVAIL otherwise). */
int ahpa_provider__ksm_resolve_cached(struct ahpa_provider *p, const char *resource,
                                      const char *ns, const struct ahpa_labelsel *sel,
                                      bool cached_only, char ***names, size_t *n,
                                      struct ahpa_error *err);
/* "deployments" -> "deployment" (kube-state-metrics' singular). */
void ahpa_provider__singular(const char *resource, char *out, size_t n);

#endif
