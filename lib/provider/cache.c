/* The value cache: instant-query results by PromQL text.
 *
 * One mutex guards the cache; Prometheus is never called with it held.
 * A miss marks its slot as fetching, so concurrent askers of the same
 * query wait for that one fetch (bounded by the Prometheus timeout)
 * instead of sending their own.
 *
 * Memory. The cache is bounded by the heap it holds: slots, keys, error
 * messages and results, each counted as ahpa_mem_footprint() of its
 * allocations. A result is copied out of the arena it was parsed into
 * (which also holds the JSON tree, several times the result) into one of
 * its exact size. Every ask moves its slot to the young end of the LRU;
 * room is made at the old end, skipping the few slots in use (fetching,
 * waited on or about to be refreshed), so eviction is O(1). Freed bytes
 * are counted, and the refresher gives them back to the system
 * (malloc_trim, rate-limited) after large evictions.
 *
 * Refresh. A slot asked for again after its first fetch, or after its
 * last refresh, goes on the `wanted` list; the refresher refreshes only
 * those, once each, when they are past 60% of their TTL. A key asked for
 * once (a one-off label selector) is fetched once and then expires: its
 * value is dropped when it can no longer be served, its slot after four
 * TTLs without an ask. All times are monotonic. */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/arena.h"
#include "ahpa/clock.h"
#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "provider_int.h"

#define KEEP_TTLS 4      /* a slot not asked for in 4 TTLs is dropped */
#define VALUE_TTLS 2     /* its stale value already after 2 */
#define REFRESH_BATCH 64 /* refreshes per maintenance pass */
#define TRIM_MIN_BYTES ((size_t)1 << 20)
#define TRIM_INTERVAL_MS 2000
#define FAILURE_HOLD_MS 1000 /* a failure answers its key's asks this long */

struct ahpa_provider__slot {
    struct ahpa_lru_node node;           /* in c->lru, by key */
    struct ahpa_list_link wanted;        /* in c->wanted when asked again */
    char *key;
    struct ahpa_provider__cached *value; /* NULL until a success, or dropped */
    int64_t last_asked_ms;
    bool fetching;
    unsigned users;                      /* waiters and pins: not evictable */
    unsigned generation;                 /* bumped when a fetch ends */
    int last_rc;
    int last_err_code;
    char *last_err;                      /* message of the last failure */
    int64_t failed_until_ms;             /* asks until then get last_err */
};

int64_t ahpa_provider__now_ms(void)
{
    return ahpa_clock_wall_ms();
}

static struct ahpa_provider__slot *slot_of(struct ahpa_lru_node *n)
{
    return n ? AHPA_CONTAINER_OF(n, struct ahpa_provider__slot, node) : NULL;
}

static void cached_destroy(void *obj)
{
    struct ahpa_provider__cached *c = obj;
    ahpa_prom_result_dispose(&c->result);
    free(c);
}

void ahpa_provider__cache_init(struct ahpa_provider__cache *c, int64_t ttl_ms, size_t max_bytes,
                               size_t max_entries)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->done, NULL);
    ahpa_lru_init(&c->lru, 1024);
    ahpa_list_init(&c->wanted);
    c->ttl_ms = ttl_ms;
    c->max_bytes = max_bytes;
    c->max_entries = max_entries;
    size_t threshold = max_bytes / 16 > TRIM_MIN_BYTES ? max_bytes / 16 : TRIM_MIN_BYTES;
    ahpa_mem_trimmer_init(&c->trimmer, threshold, TRIM_INTERVAL_MS);
    atomic_store(&c->bytes, ahpa_lru_bytes(&c->lru));
}

static size_t slot_bytes(const struct ahpa_provider__slot *s)
{
    size_t n = ahpa_mem_footprint(sizeof(*s)) + ahpa_mem_footprint(strlen(s->key) + 1);
    if (s->last_err != NULL)
        n += ahpa_mem_footprint(strlen(s->last_err) + 1);
    if (s->value != NULL)
        n += s->value->bytes;
    return n;
}

static void slot_free(struct ahpa_provider__slot *s)
{
    if (s->value != NULL)
        ahpa_ref_release(&s->value->ref);
    free(s->last_err);
    free(s->key);
    free(s);
}

void ahpa_provider__cache_dispose(struct ahpa_provider__cache *c)
{
    struct ahpa_lru_node *n;
    while ((n = ahpa_lru_oldest(&c->lru)) != NULL) {
        ahpa_lru_remove(&c->lru, n);
        slot_free(slot_of(n));
    }
    ahpa_lru_dispose(&c->lru);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
}

/* The gauges /metrics reads without the lock; caller holds it. */
static void publish_size(struct ahpa_provider__cache *c)
{
    atomic_store(&c->bytes, ahpa_lru_bytes(&c->lru));
    atomic_store(&c->entries, ahpa_lru_count(&c->lru));
}

/* Unlinks and frees an idle slot; caller holds the lock. */
static void slot_remove(struct ahpa_provider__cache *c, struct ahpa_provider__slot *s)
{
    ahpa_mem_trimmer_note(&c->trimmer, s->node.bytes);
    ahpa_lru_remove(&c->lru, &s->node);
    if (ahpa_list_linked(&s->wanted))
        ahpa_list_remove(&c->wanted, &s->wanted);
    slot_free(s);
}

static bool busy(const struct ahpa_provider__slot *s)
{
    return s->fetching || s->users > 0;
}

static bool over_bound(const struct ahpa_provider__cache *c)
{
    return ahpa_lru_bytes(&c->lru) > c->max_bytes ||
           (c->max_entries > 0 && ahpa_lru_count(&c->lru) > c->max_entries);
}

/* Evicts least recently asked idle slots, never `keep`, until the cache
 * is within its bounds. Busy slots are few (one per thread at most), so
 * skipping them keeps this O(1) per eviction. */
static void make_room(struct ahpa_provider__cache *c, const struct ahpa_provider__slot *keep)
{
    struct ahpa_lru_node *n = ahpa_lru_oldest(&c->lru);
    while (n != NULL && over_bound(c)) {
        struct ahpa_provider__slot *s = slot_of(n);
        n = ahpa_lru_newer(&c->lru, n);
        if (s == keep || busy(s))
            continue;
        slot_remove(c, s);
        atomic_fetch_add(&c->evictions, 1);
    }
}

static struct ahpa_provider__slot *slot_find(struct ahpa_provider__cache *c, const char *key)
{
    return slot_of(ahpa_lru_find(&c->lru, key));
}

/* The slot for `key`, made (and room made for it) when missing. */
static struct ahpa_provider__slot *slot_get(struct ahpa_provider__cache *c, const char *key,
                                            bool *created)
{
    struct ahpa_provider__slot *s = slot_find(c, key);
    *created = s == NULL;
    if (s != NULL)
        return s;
    s = ahpa_calloc(1, sizeof(*s));
    s->key = ahpa_strdup(key);
    ahpa_lru_insert(&c->lru, &s->node, s->key, slot_bytes(s));
    make_room(c, s);
    return s;
}

/* An ask: the slot becomes the youngest; asked again, it is wanted. */
static void note_ask(struct ahpa_provider__cache *c, struct ahpa_provider__slot *s, int64_t now,
                     bool again)
{
    ahpa_lru_touch(&c->lru, &s->node);
    s->last_asked_ms = now;
    if (again && !ahpa_list_linked(&s->wanted))
        ahpa_list_push_back(&c->wanted, &s->wanted);
}

static bool fresh(const struct ahpa_provider__cache *c, const struct ahpa_provider__slot *s,
                  int64_t now)
{
    return s->value != NULL && now - s->value->fetched_ms < c->ttl_ms;
}

/* A recent failure that answers asks until it expires (no fetch is on). */
static bool held_failure(const struct ahpa_provider__slot *s, int64_t now)
{
    return !s->fetching && s->last_rc < 0 && now < s->failed_until_ms;
}

/* --- results copied to their own size ------------------------------------ */

static size_t aligned(size_t n)
{
    const size_t a = alignof(max_align_t);
    return (n + a - 1) & ~(a - 1);
}

static size_t str_size(const char *s)
{
    return s != NULL ? aligned(strlen(s) + 1) : 0;
}

/* What copy_result allocates, block for block. */
static size_t result_size(const struct ahpa_prom_result *r)
{
    size_t n = aligned(r->n_series * sizeof(*r->series)) + str_size(r->string) +
               aligned(r->n_strings * sizeof(char *)) + aligned(r->n_warnings * sizeof(char *));
    for (size_t i = 0; i < r->n_series; i++) {
        const struct ahpa_prom_series *s = &r->series[i];
        n += aligned(s->n_labels * sizeof(*s->labels)) +
             aligned(s->n_samples * sizeof(*s->samples));
        for (size_t j = 0; j < s->n_labels; j++)
            n += str_size(s->labels[j].name) + str_size(s->labels[j].value);
    }
    for (size_t i = 0; i < r->n_strings; i++)
        n += str_size(r->strings[i]);
    for (size_t i = 0; i < r->n_warnings; i++)
        n += str_size(r->warnings[i]);
    return n;
}

static const char *dup_in(struct ahpa_arena *a, const char *s)
{
    return s != NULL ? ahpa_arena_strdup(a, s) : NULL;
}

static const char **dup_strv(struct ahpa_arena *a, const char **v, size_t n)
{
    const char **out = ahpa_arena_alloc(a, n * sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out[i] = dup_in(a, v[i]);
    return out;
}

/* Replaces r's arena (the parse tree and the result) with one holding
 * just the result. */
static void compact_result(struct ahpa_prom_result *r)
{
    struct ahpa_arena *a = ahpa_arena_new(result_size(r) + alignof(max_align_t));
    struct ahpa_prom_result c = *r;
    c.arena = a;
    c.series = ahpa_arena_alloc(a, r->n_series * sizeof(*c.series));
    for (size_t i = 0; i < r->n_series; i++) {
        const struct ahpa_prom_series *from = &r->series[i];
        struct ahpa_prom_series *to = &c.series[i];
        *to = *from;
        to->labels = ahpa_arena_alloc(a, from->n_labels * sizeof(*to->labels));
        for (size_t j = 0; j < from->n_labels; j++) {
            to->labels[j].name = dup_in(a, from->labels[j].name);
            to->labels[j].value = dup_in(a, from->labels[j].value);
        }
        to->samples = ahpa_arena_alloc(a, from->n_samples * sizeof(*to->samples));
        if (from->n_samples > 0)
            memcpy(to->samples, from->samples, from->n_samples * sizeof(*to->samples));
    }
    c.string = dup_in(a, r->string);
    c.strings = dup_strv(a, r->strings, r->n_strings);
    c.warnings = dup_strv(a, r->warnings, r->n_warnings);
    ahpa_prom_result_dispose(r);
    *r = c;
}

/* --- fetching ------------------------------------------------------------ */

static void record_failure(struct ahpa_provider__slot *s, int rc, const struct ahpa_error *err)
{
    free(s->last_err);
    s->last_err = NULL;
    s->last_err_code = 0;
    if (rc < 0) {
        s->last_err = ahpa_strdup(err->msg[0] ? err->msg : ahpa_strerror(rc));
        s->last_err_code = err->code;
    }
    s->last_rc = rc;
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
    int64_t done = ahpa_clock_mono_ms();
    v->fetched_ms = done;
    int64_t wall = ahpa_provider__now_ms();
    free(key);
    if (rc < 0) {
        /* Whatever went wrong upstream (too big, garbage, refused) is a
         * back-end failure to our clients, never their fault. */
        if (rc != -AHPA_ETIMEDOUT) {
            rc = -AHPA_EUPSTREAM;
            err.code = AHPA_EUPSTREAM;
        }
        atomic_store(&p->last_query_failed_ms, wall);
        atomic_fetch_add(&c->failures, 1);
        AHPA_LOG_WARN_REPEAT("prometheus query failed", ahpa_strerror(rc), "%s",
                             ahpa_error_message(&err, rc));
        ahpa_ref_release(&v->ref);
        v = NULL;
    } else {
        compact_result(&v->result);
        v->bytes = ahpa_mem_footprint(sizeof(*v)) + ahpa_arena_footprint(v->result.arena);
        atomic_store(&p->last_query_ok_ms, wall);
    }
    pthread_mutex_lock(&c->lock);
    if (v != NULL) {
        if (s->value != NULL) {
            ahpa_mem_trimmer_note(&c->trimmer, s->value->bytes);
            ahpa_ref_release(&s->value->ref);
        }
        s->value = v;
    }
    record_failure(s, rc, &err);
    if (rc < 0)
        s->failed_until_ms = done + (c->ttl_ms < FAILURE_HOLD_MS ? c->ttl_ms : FAILURE_HOLD_MS);
    ahpa_lru_set_bytes(&c->lru, &s->node, slot_bytes(s));
    s->fetching = false;
    s->generation++;
    make_room(c, s);
    publish_size(c);
    pthread_cond_broadcast(&c->done);
}

int ahpa_provider__cache_query(struct ahpa_provider *p, const char *promql, bool cached_only,
                               struct ahpa_provider__cached **out, struct ahpa_error *err)
{
    struct ahpa_provider__cache *c = &p->cache;
    int64_t now = ahpa_clock_mono_ms();
    pthread_mutex_lock(&c->lock);
    bool created = false;
    struct ahpa_provider__slot *s =
        cached_only ? slot_find(c, promql) : slot_get(c, promql, &created);
    if (s == NULL || (cached_only && !fresh(c, s, now) && !held_failure(s, now))) {
        /* The caller comes back from a worker, which asks again: this
         * was no ask of its own. */
        pthread_mutex_unlock(&c->lock);
        return ahpa_error_set(err, AHPA_EUNAVAIL, "not in the cache");
    }
    note_ask(c, s, now, !created);
    int rc = 0;
    if (!fresh(c, s, now) && held_failure(s, now)) {
        /* Prometheus just failed this query: say so again rather than
         * send every ask to a back end that is down. */
        atomic_fetch_add(&c->held_failures, 1);
        rc = s->last_rc;
    } else if (fresh(c, s, now)) {
        atomic_fetch_add(&c->hits, 1);
    } else if (s->fetching) {
        atomic_fetch_add(&c->waits, 1);
        unsigned gen = s->generation;
        s->users++;
        while (s->generation == gen)
            pthread_cond_wait(&c->done, &c->lock);
        s->users--;
        rc = s->last_rc;
    } else {
        atomic_fetch_add(&c->misses, 1);
        s->fetching = true;
        fetch_locked(p, s);
        rc = s->last_rc;
    }
    if (rc < 0 || s->value == NULL) {
        ahpa_error_set(err, s->last_err_code ? s->last_err_code : AHPA_EUPSTREAM, "%s",
                       s->last_err ? s->last_err : "no result");
        publish_size(c);
        pthread_mutex_unlock(&c->lock);
        return rc < 0 ? rc : -AHPA_EUPSTREAM;
    }
    *out = ahpa_ref_retain(&s->value->ref);
    publish_size(c);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* --- maintenance ------------------------------------------------------------ */

/* From the old end of the LRU (the least recently asked): drops slots not
 * asked for in KEEP_TTLS and the stale values of those not asked for in
 * VALUE_TTLS (a stale value is never served). Stops at the first slot
 * asked for more recently. */
static void expire_locked(struct ahpa_provider__cache *c, int64_t now)
{
    struct ahpa_lru_node *n = ahpa_lru_oldest(&c->lru);
    while (n != NULL) {
        struct ahpa_provider__slot *s = slot_of(n);
        n = ahpa_lru_newer(&c->lru, n);
        int64_t idle = now - s->last_asked_ms;
        if (idle < VALUE_TTLS * c->ttl_ms)
            break;
        if (busy(s))
            continue;
        if (idle >= KEEP_TTLS * c->ttl_ms) {
            slot_remove(c, s);
            atomic_fetch_add(&c->expirations, 1);
        } else if (s->value != NULL && !fresh(c, s, now)) {
            ahpa_mem_trimmer_note(&c->trimmer, s->value->bytes);
            ahpa_ref_release(&s->value->ref);
            s->value = NULL;
            ahpa_lru_set_bytes(&c->lru, &s->node, slot_bytes(s));
        }
    }
}

static struct ahpa_provider__slot *wanted_slot(struct ahpa_list_link *l)
{
    return AHPA_CONTAINER_OF(l, struct ahpa_provider__slot, wanted);
}

/* Takes up to REFRESH_BATCH wanted slots past 60% of their TTL off the
 * list, pinned so they stay while the lock is dropped. */
static size_t take_due(struct ahpa_provider__cache *c, int64_t now,
                       struct ahpa_provider__slot **due)
{
    size_t n = 0;
    struct ahpa_list_link *l = ahpa_list_front(&c->wanted);
    while (l != NULL && n < REFRESH_BATCH) {
        struct ahpa_provider__slot *s = wanted_slot(l);
        l = ahpa_list_next(&c->wanted, l);
        int64_t age = s->value ? now - s->value->fetched_ms : c->ttl_ms;
        if (s->fetching || age < c->ttl_ms * 6 / 10)
            continue;
        ahpa_list_remove(&c->wanted, &s->wanted);
        s->users++;
        due[n++] = s;
    }
    return n;
}

static void refresh_locked(struct ahpa_provider *p, int64_t now)
{
    struct ahpa_provider__cache *c = &p->cache;
    struct ahpa_provider__slot *due[REFRESH_BATCH];
    size_t n = take_due(c, now, due);
    bool failing = false;
    for (size_t i = 0; i < n; i++) {
        struct ahpa_provider__slot *s = due[i];
        s->users--;
        if (failing) {
            /* Don't hammer a failing Prometheus: try again next pass. */
            if (!ahpa_list_linked(&s->wanted))
                ahpa_list_push_back(&c->wanted, &s->wanted);
            continue;
        }
        if (s->fetching) /* an asker got there first */
            continue;
        atomic_fetch_add(&c->refreshes, 1);
        s->fetching = true;
        fetch_locked(p, s);
        if (s->last_rc < 0) {
            failing = true;
            if (!ahpa_list_linked(&s->wanted))
                ahpa_list_push_back(&c->wanted, &s->wanted);
        }
    }
}

void ahpa_provider__cache_maintain(struct ahpa_provider *p)
{
    struct ahpa_provider__cache *c = &p->cache;
    pthread_mutex_lock(&c->lock);
    int64_t now = ahpa_clock_mono_ms();
    expire_locked(c, now);
    refresh_locked(p, now);
    publish_size(c);
    pthread_mutex_unlock(&c->lock);
    ahpa_mem_trimmer_run(&c->trimmer, ahpa_clock_mono_ms());
}

size_t ahpa_provider__cache_size(struct ahpa_provider__cache *c)
{
    return atomic_load(&c->entries);
}

size_t ahpa_provider__cache_bytes(struct ahpa_provider__cache *c)
{
    return atomic_load(&c->bytes);
}

int64_t ahpa_provider__cache_oldest_ms(struct ahpa_provider__cache *c)
{
    int64_t now = ahpa_clock_mono_ms(), oldest = 0;
    pthread_mutex_lock(&c->lock);
    /* From the young end: the slots asked for within three TTLs. */
    for (struct ahpa_lru_node *n = ahpa_lru_newest(&c->lru); n != NULL;
         n = ahpa_lru_older(&c->lru, n)) {
        const struct ahpa_provider__slot *s = slot_of(n);
        if (now - s->last_asked_ms > 3 * c->ttl_ms)
            break;
        if (s->value != NULL && now - s->value->fetched_ms > oldest)
            oldest = now - s->value->fetched_ms;
    }
    pthread_mutex_unlock(&c->lock);
    return oldest;
}
