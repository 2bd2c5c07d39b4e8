/* Lifecycle, the refresher thread, health and exported metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/buf.h"
#include "ahpa/clock.h"
#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "provider_int.h"

struct ahpa_provider *ahpa_provider_new(const struct ahpa_provider_options *opt,
                                        struct ahpa_error *err)
{
    if (opt->prom == NULL || opt->rules == NULL) {
        ahpa_error_set(err, AHPA_EINVAL, "provider needs a Prometheus client and rules");
        return NULL;
    }
    struct ahpa_provider *p = ahpa_calloc(1, sizeof(*p));
    p->opt = *opt;
    if (p->opt.relist_interval_ms <= 0)
        p->opt.relist_interval_ms = 60000;
    /* Series must have had a sample within the lookback to be listed: at
     * least Prometheus' 5-minute staleness window, so a slow scrape
     * interval never makes metrics flicker in and out of discovery. */
    if (p->opt.max_age_ms <= 0)
        p->opt.max_age_ms = p->opt.relist_interval_ms > 300000 ? p->opt.relist_interval_ms : 300000;
    if (p->opt.cache_ttl_ms <= 0)
        p->opt.cache_ttl_ms = 15000;
    if (p->opt.cache_max_bytes == 0)
        p->opt.cache_max_bytes = (size_t)32 << 20;
    ahpa_snapshot_init(&p->registry);
    ahpa_provider__cache_init(&p->cache, p->opt.cache_ttl_ms, p->opt.cache_max_bytes,
                              p->opt.cache_max_entries);
    pthread_mutex_init(&p->wake_lock, NULL);
    ahpa_clock_cond_init(&p->wake);
    return p;
}

static void relist_and_log(struct ahpa_provider *p)
{
    struct ahpa_error err = {0};
    int rc = ahpa_provider_relist(p, &err);
    atomic_store(&p->last_relist_ms, ahpa_provider__now_ms());
    atomic_store(&p->last_relist_failed, rc < 0);
    pthread_mutex_lock(&p->wake_lock);
    ahpa_strlcpy(p->relist_error, rc < 0 ? ahpa_error_message(&err, rc) : "",
                 sizeof(p->relist_error));
    pthread_mutex_unlock(&p->wake_lock);
    if (rc < 0)
        AHPA_LOG_WARN_REPEAT("metric relist failed, keeping the last registry",
                             ahpa_strerror(rc), "%s", ahpa_error_message(&err, rc));
}

/* Relists every interval and keeps recently asked values fresh. Wakes at
 * least every second (or quarter TTL) for cache maintenance. */
static void *refresher(void *arg)
{
    struct ahpa_provider *p = arg;
    int64_t next_relist = 0;
    int64_t tick_ms = p->opt.cache_ttl_ms / 4;
    if (tick_ms > 1000)
        tick_ms = 1000;
    if (tick_ms < 50)
        tick_ms = 50;
    pthread_mutex_lock(&p->wake_lock);
    while (!p->stop) {
        pthread_mutex_unlock(&p->wake_lock);
        int64_t now = ahpa_clock_mono_ms();
        if (next_relist == 0 || now >= next_relist) {
            relist_and_log(p);
            /* After a failure, retry sooner than a full interval. */
            int64_t wait = atomic_load(&p->last_relist_failed) ? 5000 : p->opt.relist_interval_ms;
            next_relist = ahpa_clock_mono_ms() + (wait < p->opt.relist_interval_ms
                                                      ? wait
                                                      : p->opt.relist_interval_ms);
        }
        ahpa_provider__cache_maintain(p);
        pthread_mutex_lock(&p->wake_lock);
        if (p->stop)
            break;
        struct timespec ts = ahpa_clock_mono_deadline(tick_ms);
        pthread_cond_timedwait(&p->wake, &p->wake_lock, &ts);
    }
    pthread_mutex_unlock(&p->wake_lock);
    return NULL;
}

int ahpa_provider_start(struct ahpa_provider *p, struct ahpa_error *err)
{
    if (p->running)
        return 0;
    p->stop = false;
    if (pthread_create(&p->thread, NULL, refresher, p) != 0)
        return ahpa_error_set(err, AHPA_EINTERNAL, "cannot start the refresher thread");
    p->running = true;
    return 0;
}

void ahpa_provider_stop(struct ahpa_provider *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->wake_lock);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->wake_lock);
    pthread_join(p->thread, NULL);
    p->running = false;
}

void ahpa_provider_free(struct ahpa_provider *p)
{
    if (p == NULL)
        return;
    ahpa_provider_stop(p);
    ahpa_provider__cache_dispose(&p->cache);
    ahpa_snapshot_dispose(&p->registry);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->wake_lock);
    free(p);
}

int ahpa_provider_health(struct ahpa_provider *p, char *reason, size_t n)
{
    if (atomic_load(&p->last_relist_ok_ms) == 0) {
        pthread_mutex_lock(&p->wake_lock);
        snprintf(reason, n, "no successful relist yet%s%s", p->relist_error[0] ? ": " : "",
                 p->relist_error);
        pthread_mutex_unlock(&p->wake_lock);
        return -AHPA_EUNAVAIL;
    }
    if (atomic_load(&p->last_relist_failed)) {
        pthread_mutex_lock(&p->wake_lock);
        snprintf(reason, n, "last relist failed: %s", p->relist_error);
        pthread_mutex_unlock(&p->wake_lock);
        return -AHPA_EUPSTREAM;
    }
    int64_t failed = atomic_load(&p->last_query_failed_ms);
    if (failed > atomic_load(&p->last_query_ok_ms) && failed > atomic_load(&p->last_relist_ok_ms)) {
        snprintf(reason, n, "the last Prometheus query failed");
        return -AHPA_EUPSTREAM;
    }
    return 0;
}

static void counter(struct ahpa_buf *out, const char *name, const char *help, unsigned long long v)
{
    ahpa_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, v);
}

void ahpa_provider_collect(void *provider, struct ahpa_buf *out)
{
    struct ahpa_provider *p = provider;
    struct ahpa_provider__cache *c = &p->cache;
    counter(out, "ahpa_metrics_cache_hits_total", "Value requests answered from the cache.",
            atomic_load(&c->hits));
    counter(out, "ahpa_metrics_cache_misses_total", "Value requests that queried Prometheus.",
            atomic_load(&c->misses));
    counter(out, "ahpa_metrics_cache_shared_waits_total",
            "Value requests that waited for an identical query already in flight.",
            atomic_load(&c->waits));
    counter(out, "ahpa_metrics_cache_refreshes_total",
            "Background refreshes of recently asked values.", atomic_load(&c->refreshes));
    counter(out, "ahpa_metrics_cache_evictions_total", "Entries evicted to bound the cache.",
            atomic_load(&c->evictions));
    counter(out, "ahpa_metrics_cache_held_failures_total",
            "Value requests answered with their query's failure of the last second instead of "
            "asking a failing Prometheus again.",
            atomic_load(&c->held_failures));
    counter(out, "ahpa_metrics_cache_expirations_total",
            "Entries dropped because nobody asked for them within four TTLs.",
            atomic_load(&c->expirations));
    counter(out, "ahpa_metrics_cache_malloc_trims_total",
            "Times freed cache memory was given back to the system (malloc_trim).",
            atomic_load(&c->trimmer.trims));
    counter(out, "ahpa_metrics_relists_total", "Series relists.", atomic_load(&p->relists));
    counter(out, "ahpa_metrics_relist_failures_total", "Series relists that failed.",
            atomic_load(&p->relist_failures));
    ahpa_buf_printf(out,
                    "# HELP ahpa_metrics_cache_entries Cached queries.\n"
                    "# TYPE ahpa_metrics_cache_entries gauge\nahpa_metrics_cache_entries %zu\n"
                    "# HELP ahpa_metrics_cache_bytes Heap the value cache holds (keys, results, "
                    "overhead).\n# TYPE ahpa_metrics_cache_bytes gauge\n"
                    "ahpa_metrics_cache_bytes %zu\n"
                    "# HELP ahpa_metrics_cache_max_bytes Bound on ahpa_metrics_cache_bytes "
                    "(--metrics-cache-max-bytes).\n# TYPE ahpa_metrics_cache_max_bytes gauge\n"
                    "ahpa_metrics_cache_max_bytes %zu\n"
                    "# HELP ahpa_metrics_cache_oldest_age_seconds Age of the oldest value still "
                    "being asked for.\n# TYPE ahpa_metrics_cache_oldest_age_seconds gauge\n"
                    "ahpa_metrics_cache_oldest_age_seconds %.3f\n"
                    "# HELP ahpa_metrics_relist_duration_seconds Duration of the last relist.\n"
                    "# TYPE ahpa_metrics_relist_duration_seconds gauge\n"
                    "ahpa_metrics_relist_duration_seconds %.3f\n"
                    "# HELP ahpa_metrics_last_relist_success_timestamp_seconds When the registry "
                    "was last rebuilt.\n"
                    "# TYPE ahpa_metrics_last_relist_success_timestamp_seconds gauge\n"
                    "ahpa_metrics_last_relist_success_timestamp_seconds %.3f\n",
                    ahpa_provider__cache_size(c), ahpa_provider__cache_bytes(c), c->max_bytes,
                    ahpa_provider__cache_oldest_ms(c) / 1e3,
                    atomic_load(&p->last_relist_duration_ms) / 1e3,
                    atomic_load(&p->last_relist_ok_ms) / 1e3);
    ahpa_buf_puts(out, "# HELP ahpa_prometheus_request_duration_seconds Prometheus API calls "
                       "by endpoint.\n# TYPE ahpa_prometheus_request_duration_seconds histogram\n");
    for (int ep = 0; ep < AHPA_PROM_EP_COUNT_; ep++) {
        struct ahpa_prom_stats st;
        ahpa_prom_client_stats(p->opt.prom, (enum ahpa_prom_endpoint)ep, &st);
        const char *name = ahpa_prom_endpoint_name((enum ahpa_prom_endpoint)ep);
        for (int b = 0; b < AHPA_PROM_LATENCY_BUCKETS; b++)
            ahpa_buf_printf(out,
                            "ahpa_prometheus_request_duration_seconds_bucket{endpoint=\"%s\","
                            "le=\"%g\"} %llu\n",
                            name, ahpa_prom_latency_bounds_s[b],
                            (unsigned long long)st.latency_le[b]);
        ahpa_buf_printf(out,
                        "ahpa_prometheus_request_duration_seconds_bucket{endpoint=\"%s\","
                        "le=\"+Inf\"} %llu\n"
                        "ahpa_prometheus_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n"
                        "ahpa_prometheus_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
                        name, (unsigned long long)st.requests, name, st.latency_sum_s, name,
                        (unsigned long long)st.requests);
    }
    ahpa_buf_puts(out, "# HELP ahpa_prometheus_request_failures_total Prometheus API calls "
                       "that failed.\n# TYPE ahpa_prometheus_request_failures_total counter\n");
    for (int ep = 0; ep < AHPA_PROM_EP_COUNT_; ep++) {
        struct ahpa_prom_stats st;
        ahpa_prom_client_stats(p->opt.prom, (enum ahpa_prom_endpoint)ep, &st);
        ahpa_buf_printf(out, "ahpa_prometheus_request_failures_total{endpoint=\"%s\"} %llu\n",
                        ahpa_prom_endpoint_name((enum ahpa_prom_endpoint)ep),
                        (unsigned long long)st.failures);
    }
}
