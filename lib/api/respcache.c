/* A short-lived cache of rendered metric responses.
 *
 * A metric request whose values come from the provider's cache gets the
 * same answer until the oldest cached result it used expires; rendering it
 * again (PromQL for the cache key, JSON) is pure overhead. Entries live at
 * most AHPA_API_RESPCACHE_MAX_MS and never past that expiry, so answers
 * are never older than the provider's TTL allows. Bounded: when full,
 * expired entries are swept and, if none expired, nothing new is kept. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/str.h"
#include "ahpa/buf.h"
#include "ahpa/mem.h"
#include "api_int.h"

#define NBUCKETS 1024
#define MAX_ENTRIES 4096

struct entry {
    char *key;
    uint64_t hash;
    char *body;
    size_t len;
    int64_t expires_ms;
    struct entry *next;
};

struct ahpa_api__respcache {
    atomic_ullong hits, misses;
    pthread_mutex_t lock;
    struct entry *buckets[NBUCKETS];
    size_t n;
};

int64_t ahpa_api__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ahpa_api__respcache *ahpa_api__respcache_new(void)
{
    struct ahpa_api__respcache *c = ahpa_calloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void entry_free(struct entry *e)
{
    free(e->key);
    free(e->body);
    free(e);
}

void ahpa_api__respcache_free(struct ahpa_api__respcache *c)
{
    if (c == NULL)
        return;
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct entry *e = c->buckets[b], *next; e != NULL; e = next) {
            next = e->next;
            entry_free(e);
        }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

bool ahpa_api__respcache_get(struct ahpa_api__respcache *c, const char *key,
                             struct ahpa_buf *out)
{
    uint64_t h = ahpa_str_hash(key);
    int64_t now = ahpa_api__now_ms();
    bool hit = false;
    pthread_mutex_lock(&c->lock);
    for (struct entry *e = c->buckets[h % NBUCKETS]; e != NULL; e = e->next) {
        if (e->hash == h && strcmp(e->key, key) == 0) {
            if (e->expires_ms > now) {
                ahpa_buf_append(out, e->body, e->len);
                hit = true;
            }
            break;
        }
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
}

/* Drops expired entries; caller holds the lock. */
static void sweep(struct ahpa_api__respcache *c, int64_t now)
{
    for (size_t b = 0; b < NBUCKETS; b++)
        for (struct entry **pp = &c->buckets[b]; *pp != NULL;) {
            struct entry *e = *pp;
            if (e->expires_ms <= now) {
                *pp = e->next;
                entry_free(e);
                c->n--;
            } else {
                pp = &e->next;
            }
        }
}

void ahpa_api__respcache_put(struct ahpa_api__respcache *c, const char *key, const char *body,
                             size_t len, int64_t expires_ms)
{
    int64_t now = ahpa_api__now_ms();
    if (expires_ms > now + AHPA_API_RESPCACHE_MAX_MS)
        expires_ms = now + AHPA_API_RESPCACHE_MAX_MS;
    if (expires_ms <= now)
        return;
    uint64_t h = ahpa_str_hash(key);
    pthread_mutex_lock(&c->lock);
    struct entry **pp = &c->buckets[h % NBUCKETS];
    for (; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0) {
            struct entry *old = *pp;
            *pp = old->next;
            entry_free(old);
            c->n--;
            break;
        }
    }
    if (c->n >= MAX_ENTRIES)
        sweep(c, now);
    if (c->n < MAX_ENTRIES) {
        struct entry *e = ahpa_calloc(1, sizeof(*e));
        e->key = ahpa_strdup(key);
        e->hash = h;
        e->body = ahpa_malloc(len ? len : 1);
        memcpy(e->body, body, len);
        e->len = len;
        e->expires_ms = expires_ms;
        e->next = c->buckets[h % NBUCKETS];
        c->buckets[h % NBUCKETS] = e;
        c->n++;
    }
    pthread_mutex_unlock(&c->lock);
}
