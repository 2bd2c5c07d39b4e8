/* A short-lived cache of rendered metric responses.
 *
 * A metric request whose values come from the provider's cache gets the
 * same answer until the oldest cached result it used expires; rendering it
 * again (PromQL for the cache key, JSON) is pure overhead. Entries live at
 * most AHPA_API_RESPCACHE_MAX_MS and never past that expiry, so answers
 * are never older than the provider's TTL allows. All times are monotonic.
 *
 * Bounded in bytes (--response-cache-max-bytes): every entry counts the
 * heap its key, body and itself take; past the bound the least recently
 * used entries are evicted, O(1) each. Expired entries are dropped when
 * found, a few from the old end on every put, and all of them by
 * ahpa_api__respcache_maintain(), which also gives large frees back to the
 * system. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/clock.h"
#include "ahpa/lru.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "api_int.h"

#define SWEEP_PER_PUT 4
#define TRIM_MIN_BYTES ((size_t)1 << 20)
#define TRIM_INTERVAL_MS 2000

struct entry {
    struct ahpa_lru_node node;
    char *key;
    char *body;
    size_t len;
    int64_t expires_ms; /* monotonic */
};

struct ahpa_api__respcache {
    atomic_ullong hits, misses, evictions;
    atomic_size_t bytes, entries; /* as of the last change, for /metrics */
    size_t max_bytes;             /* 0: nothing is kept */
    struct ahpa_mem_trimmer trimmer;
    pthread_mutex_t lock;
    struct ahpa_lru lru;          /* struct entry, least recently used first */
};

static struct entry *entry_of(struct ahpa_lru_node *n)
{
    return n ? AHPA_CONTAINER_OF(n, struct entry, node) : NULL;
}

struct ahpa_api__respcache *ahpa_api__respcache_new(size_t max_bytes)
{
    struct ahpa_api__respcache *c = ahpa_calloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    ahpa_lru_init(&c->lru, 256);
    c->max_bytes = max_bytes;
    size_t threshold = max_bytes / 16 > TRIM_MIN_BYTES ? max_bytes / 16 : TRIM_MIN_BYTES;
    ahpa_mem_trimmer_init(&c->trimmer, threshold, TRIM_INTERVAL_MS);
    atomic_store(&c->bytes, ahpa_lru_bytes(&c->lru));
    return c;
}

static void entry_free(struct entry *e)
{
    free(e->key);
    free(e->body);
    free(e);
}

/* Caller holds the lock. */
static void entry_remove(struct ahpa_api__respcache *c, struct entry *e)
{
    ahpa_mem_trimmer_note(&c->trimmer, e->node.bytes);
    ahpa_lru_remove(&c->lru, &e->node);
    entry_free(e);
}

static void publish_size(struct ahpa_api__respcache *c)
{
    atomic_store(&c->bytes, ahpa_lru_bytes(&c->lru));
    atomic_store(&c->entries, ahpa_lru_count(&c->lru));
}

void ahpa_api__respcache_free(struct ahpa_api__respcache *c)
{
    if (c == NULL)
        return;
    struct ahpa_lru_node *n;
    while ((n = ahpa_lru_oldest(&c->lru)) != NULL) {
        ahpa_lru_remove(&c->lru, n);
        entry_free(entry_of(n));
    }
    ahpa_lru_dispose(&c->lru);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

bool ahpa_api__respcache_get(struct ahpa_api__respcache *c, const char *key,
                             struct ahpa_buf *out)
{
    int64_t now = ahpa_clock_mono_ms();
    bool hit = false;
    pthread_mutex_lock(&c->lock);
    struct entry *e = entry_of(ahpa_lru_find(&c->lru, key));
    if (e != NULL && e->expires_ms > now) {
        ahpa_buf_append(out, e->body, e->len);
        ahpa_lru_touch(&c->lru, &e->node);
        hit = true;
    } else if (e != NULL) {
        entry_remove(c, e);
        publish_size(c);
    }
    pthread_mutex_unlock(&c->lock);
    atomic_fetch_add_explicit(hit ? &c->hits : &c->misses, 1, memory_order_relaxed);
    return hit;
}

void ahpa_api__respcache_collect(struct ahpa_api__respcache *c, struct ahpa_buf *out)
{
    ahpa_buf_printf(out,
                    "# HELP ahpa_api_response_cache_requests_total Metric requests answered "
                    "from rendered responses (hit) or rendered anew (miss).\n"
                    "# TYPE ahpa_api_response_cache_requests_total counter\n"
                    "ahpa_api_response_cache_requests_total{result=\"hit\"} %llu\n"
                    "ahpa_api_response_cache_requests_total{result=\"miss\"} %llu\n",
                    (unsigned long long)atomic_load(&c->hits),
                    (unsigned long long)atomic_load(&c->misses));
    ahpa_buf_printf(out,
                    "# HELP ahpa_api_response_cache_entries Rendered responses held.\n"
                    "# TYPE ahpa_api_response_cache_entries gauge\n"
                    "ahpa_api_response_cache_entries %zu\n"
                    "# HELP ahpa_api_response_cache_bytes Heap the rendered responses hold "
                    "(keys, bodies, overhead).\n"
                    "# TYPE ahpa_api_response_cache_bytes gauge\n"
                    "ahpa_api_response_cache_bytes %zu\n"
                    "# HELP ahpa_api_response_cache_max_bytes Bound on "
                    "ahpa_api_response_cache_bytes (--response-cache-max-bytes).\n"
                    "# TYPE ahpa_api_response_cache_max_bytes gauge\n"
                    "ahpa_api_response_cache_max_bytes %zu\n"
                    "# HELP ahpa_api_response_cache_evictions_total Rendered responses evicted "
                    "to bound the cache.\n"
                    "# TYPE ahpa_api_response_cache_evictions_total counter\n"
                    "ahpa_api_response_cache_evictions_total %llu\n",
                    atomic_load(&c->entries), atomic_load(&c->bytes), c->max_bytes,
                    (unsigned long long)atomic_load(&c->evictions));
}

/* Drops up to `max` expired entries from the old end, stopping at the
 * first live one; caller holds the lock. */
static void sweep_oldest(struct ahpa_api__respcache *c, int64_t now, size_t max)
{
    struct ahpa_lru_node *n;
    for (size_t i = 0; i < max && (n = ahpa_lru_oldest(&c->lru)) != NULL; i++) {
        struct entry *e = entry_of(n);
        if (e->expires_ms > now)
            break;
        entry_remove(c, e);
    }
}

static size_t entry_bytes(const struct entry *e)
{
    return ahpa_mem_footprint(sizeof(*e)) + ahpa_mem_footprint(strlen(e->key) + 1) +
           ahpa_mem_footprint(e->len ? e->len : 1);
}

void ahpa_api__respcache_put(struct ahpa_api__respcache *c, const char *key, const char *body,
                             size_t len, int64_t expires_ms)
{
    int64_t now = ahpa_clock_mono_ms();
    if (expires_ms > now + AHPA_API_RESPCACHE_MAX_MS)
        expires_ms = now + AHPA_API_RESPCACHE_MAX_MS;
    if (expires_ms <= now || c->max_bytes == 0)
        return;
    struct entry *e = ahpa_calloc(1, sizeof(*e));
    e->key = ahpa_strdup(key);
    e->body = ahpa_malloc(len ? len : 1);
    memcpy(e->body, body, len);
    e->len = len;
    e->expires_ms = expires_ms;
    size_t bytes = entry_bytes(e);
    pthread_mutex_lock(&c->lock);
    struct entry *old = entry_of(ahpa_lru_find(&c->lru, key));
    if (old != NULL)
        entry_remove(c, old);
    sweep_oldest(c, now, SWEEP_PER_PUT);
    if (bytes + ahpa_lru_bytes(&c->lru) - c->lru.node_bytes > c->max_bytes) {
        entry_free(e); /* larger than the whole cache */
        e = NULL;
    } else {
        ahpa_lru_insert(&c->lru, &e->node, e->key, bytes);
    }
    struct ahpa_lru_node *n;
    while (ahpa_lru_bytes(&c->lru) > c->max_bytes && (n = ahpa_lru_oldest(&c->lru)) != NULL) {
        entry_remove(c, entry_of(n));
        atomic_fetch_add(&c->evictions, 1);
    }
    publish_size(c);
    pthread_mutex_unlock(&c->lock);
}

void ahpa_api__respcache_maintain(struct ahpa_api__respcache *c)
{
    int64_t now = ahpa_clock_mono_ms();
    pthread_mutex_lock(&c->lock);
    struct ahpa_lru_node *n = ahpa_lru_oldest(&c->lru);
    while (n != NULL) {
        struct entry *e = entry_of(n);
        n = ahpa_lru_newer(&c->lru, n);
        if (e->expires_ms <= now)
            entry_remove(c, e);
    }
    publish_size(c);
    pthread_mutex_unlock(&c->lock);
    ahpa_mem_trimmer_run(&c->trimmer, ahpa_clock_mono_ms());
}
