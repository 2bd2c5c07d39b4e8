/* The value cache: instant-query results by PromQL text.
 *
 * One mutex guards the table; Prometheus is never called with it held.
 * A miss marks its slot as fetching, so concurrent askers of the same
 * query wait for that one fetch (bounded by the Prometheus timeout)
 * instead of sending their own. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/str.h"
#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "provider_int.h"

#define NBUCKETS 4096

struct ahpa_provider__slot {
    char *key;
    uint64_t hash;
    struct ahpa_provider__slot *next;   /* bucket chain */
    struct ahpa_provider__cached *value; /* NULL until the first success */
    int64_t last_asked_ms;
    bool fetching;
    unsigned waiters;
    unsigned generation;                 /* bumped when a fetch ends */
    int last_rc;
    struct ahpa_error last_err;
};

int64_t ahpa_provider__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cached_destroy(void *obj)
{
    struct ahpa_provider__cached *c = obj;
    ahpa_prom_result_dispose(&c->result);
    free(c);
}

void ahpa_provider__cache_init(struct ahpa_provider__cache *c, int64_t ttl_ms, size_t max)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->done, NULL);
    c->nbuckets = NBUCKETS;
    c->buckets = ahpa_calloc(c->nbuckets, sizeof(*c->buckets));
    c->ttl_ms = ttl_ms;
    c->max_slots = max;
}

static void slot_free(struct ahpa_provider__slot *s)
{
    if (s->value != NULL)
        ahpa_ref_release(&s->value->ref);
    free(s->key);
    free(s);
}

void ahpa_provider__cache_dispose(struct ahpa_provider__cache *c)
{
    for (size_t b = 0; b < c->nbuckets; b++) {
        struct ahpa_provider__slot *s = c->buckets[b];
        while (s != NULL) {
            struct ahpa_provider__slot *next = s->next;
            slot_free(s);
            s = next;
        }
    }
    free(c->buckets);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
}

/* Unlinks and frees a slot; caller holds the lock; the slot is idle. */
static void slot_remove(struct ahpa_provider__cache *c, struct ahpa_provider__slot *victim)
{
    struct ahpa_provider__slot **pp = &c->buckets[victim->hash % c->nbuckets];
    while (*pp != victim)
        pp = &(*pp)->next;
    *pp = victim->next;
    slot_free(victim);
    c->nslots--;
}

/* Makes room by dropping the idle slot asked for least recently. */
static void evict_one(struct ahpa_provider__cache *c)
{
    struct ahpa_provider__slot *victim = NULL;
    for (size_t b = 0; b < c->nbuckets; b++)
        for (struct ahpa_provider__slot *s = c->buckets[b]; s != NULL; s = s->next)
            if (!s->fetching && s->waiters == 0 &&
                (victim == NULL || s->last_asked_ms < victim->last_asked_ms))
                victim = s;
    if (victim != NULL) {
        slot_remove(c, victim);
        atomic_fetch_add(&c->evictions, 1);
    }
}

static struct ahpa_provider__slot *slot_find(struct ahpa_provider__cache *c, const char *key)
{
    uint64_t h = ahpa_str_hash(key);
    for (struct ahpa_provider__slot *s = c->buckets[h % c->nbuckets]; s != NULL; s = s->next)
        if (s->hash == h && strcmp(s->key, key) == 0)
            return s;
    return NULL;
}

static struct ahpa_provider__slot *slot_get(struct ahpa_provider__cache *c, const char *key)
{
    struct ahpa_provider__slot *found = slot_find(c, key);
    if (found != NULL)
        return found;
    uint64_t h = ahpa_str_hash(key);
    if (c->nslots >= c->max_slots)
        evict_one(c);
    struct ahpa_provider__slot *s = ahpa_calloc(1, sizeof(*s));
    s->key = ahpa_strdup(key);
    s->hash = h;
    s->next = c->buckets[h % c->nbuckets];
    c->buckets[h % c->nbuckets] = s;
    c->nslots++;
    return s;
}

static bool fresh(const struct ahpa_provider__cache *c, const struct ahpa_provider__slot *s,
                  int64_t now)
{
    return s->value != NULL && now - s->value->fetched_ms < c->ttl_ms;
}

/* Queries Prometheus for a slot marked fetching; takes and returns with
 * the lock held, drops it around the query. */
static void fetch_locked(struct ahpa_provider *p, struct ahpa_provider__slot *s)
{
    struct ahpa_provider__cache *c = &p->cache;
    char *key = ahpa_strdup(s->key);
    pthread_mutex_unlock(&c->lock);
    struct ahpa_provider__cached *v = ahpa_calloc(1, sizeof(*v));
    ahpa_ref_init(&v->ref, cached_destroy);
    ahpa_prom_result_init(&v->result);
    struct ahpa_error err = {0};
    int rc = ahpa_prom_query(p->opt.prom, key, -1, &v->result, &err);
    v->fetched_ms = ahpa_provider__now_ms();
    free(key);
    if (rc < 0) {
        /* Whatever went wrong upstream (too big, garbage, refused) is a
         * back-end failure to our clients, never their fault. */
        if (rc != -AHPA_ETIMEDOUT) {
            rc = -AHPA_EUPSTREAM;
            err.code = AHPA_EUPSTREAM;
        }
        atomic_store(&p->last_query_failed_ms, v->fetched_ms);
        atomic_fetch_add(&c->failures, 1);
        AHPA_LOG_WARN_REPEAT("prometheus query failed", ahpa_strerror(rc), "%s",
                             ahpa_error_message(&err, rc));
        ahpa_ref_release(&v->ref);
        v = NULL;
    } else {
        atomic_store(&p->last_query_ok_ms, v->fetched_ms);
    }
    pthread_mutex_lock(&c->lock);
    if (v != NULL) {
        if (s->value != NULL)
            ahpa_ref_release(&s->value->ref);
        s->value = v;
    }
    s->last_rc = rc;
    s->last_err = err;
    s->fetching = false;
    s->generation++;
    pthread_cond_broadcast(&c->done);
}

int ahpa_provider__cache_query(struct ahpa_provider *p, const char *promql, bool cached_only,
                               struct ahpa_provider__cached **out, struct ahpa_error *err)
{
    struct ahpa_provider__cache *c = &p->cache;
    int64_t now = ahpa_provider__now_ms();
    pthread_mutex_lock(&c->lock);
    struct ahpa_provider__slot *s = cached_only ? slot_find(c, promql) : slot_get(c, promql);
    if (s == NULL || (cached_only && !fresh(c, s, now))) {
        /* The caller comes back from a worker, which asks again. */
        pthread_mutex_unlock(&c->lock);
        return ahpa_error_set(err, AHPA_EUNAVAIL, "not in the cache");
    }
    s->last_asked_ms = now;
    int rc = 0;
    if (fresh(c, s, now)) {
        atomic_fetch_add(&c->hits, 1);
    } else if (s->fetching) {
        atomic_fetch_add(&c->waits, 1);
        unsigned gen = s->generation;
        s->waiters++;
        while (s->generation == gen)
            pthread_cond_wait(&c->done, &c->lock);
        s->waiters--;
        rc = s->last_rc;
    } else {
        atomic_fetch_add(&c->misses, 1);
        s->fetching = true;
        fetch_locked(p, s);
        rc = s->last_rc;
    }
    if (rc < 0 || s->value == NULL) {
        ahpa_error_set(err, s->last_err.code ? s->last_err.code : AHPA_EUPSTREAM, "%s",
                       s->last_err.msg[0] ? s->last_err.msg : "no result");
        pthread_mutex_unlock(&c->lock);
        return rc < 0 ? rc : -AHPA_EUPSTREAM;
    }
    *out = ahpa_ref_retain(&s->value->ref);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

void ahpa_provider__cache_maintain(struct ahpa_provider *p)
{
    struct ahpa_provider__cache *c = &p->cache;
    pthread_mutex_lock(&c->lock);
    /* Bounded passes: a refresh drops the lock, so rescan from the start
     * after each one; each slot is refreshed at most once per call. */
    for (size_t budget = c->nslots + 1; budget > 0; budget--) {
        int64_t now = ahpa_provider__now_ms();
        struct ahpa_provider__slot *todo = NULL, *stale = NULL;
        for (size_t b = 0; b < c->nbuckets && todo == NULL && stale == NULL; b++)
            for (struct ahpa_provider__slot *s = c->buckets[b]; s != NULL; s = s->next) {
                if (s->fetching || s->waiters > 0)
                    continue;
                if (now - s->last_asked_ms > 4 * c->ttl_ms) {
                    stale = s;
                    break;
                }
                /* Refresh what was asked for within three TTLs and is past
                 * 60% of its life, so the next ask still hits. */
                int64_t age = s->value ? now - s->value->fetched_ms : c->ttl_ms;
                if (age >= c->ttl_ms * 6 / 10 && now - s->last_asked_ms <= 3 * c->ttl_ms &&
                    (s->value == NULL || s->value->fetched_ms > s->last_asked_ms - 3 * c->ttl_ms)) {
                    todo = s;
                    break;
                }
            }
        if (stale != NULL) {
            slot_remove(c, stale);
            continue;
        }
        if (todo == NULL)
            break;
        atomic_fetch_add(&c->refreshes, 1);
        todo->fetching = true;
        fetch_locked(p, todo);
        if (todo->last_rc < 0) /* don't hammer a failing Prometheus */
            break;
    }
    pthread_mutex_unlock(&c->lock);
}

size_t ahpa_provider__cache_size(struct ahpa_provider__cache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->nslots;
    pthread_mutex_unlock(&c->lock);
    return n;
}

int64_t ahpa_provider__cache_oldest_ms(struct ahpa_provider__cache *c)
{
    int64_t now = ahpa_provider__now_ms(), oldest = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t b = 0; b < c->nbuckets; b++)
        for (struct ahpa_provider__slot *s = c->buckets[b]; s != NULL; s = s->next)
            if (s->value != NULL && now - s->last_asked_ms <= 3 * c->ttl_ms &&
                now - s->value->fetched_ms > oldest)
                oldest = now - s->value->fetched_ms;
    pthread_mutex_unlock(&c->lock);
    return oldest;
}
