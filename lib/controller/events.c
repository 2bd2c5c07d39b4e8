/* Events on AHPA objects (see events.h). */
#include "events.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/lru.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"

#define MESSAGE_MAX 1024
#define UID_MAX 128
#define HASH_HEX 16

static const struct ahpa_kube_resource event_res = {"", "v1", "events", "Event", true};

/* The three tables below are LRU indexes (ahpa/lru.h: a hash table and a
 * recency list) of entries that embed their node first, so that an entry
 * and its node are the same allocation. A table holds at most its bound;
 * past it the least recently used entry is taken for the new key. */

/* One involved object: its token bucket and the last strategy seen. */
struct object_state {
    struct ahpa_lru_node node; /* key: uid */
    char uid[UID_MAX];
    double tokens;
    int64_t refilled_s;
    char strategy[AHPA_EVENTS_STRATEGY_MAX];
};

/* One Event known to exist, and its count. */
struct seen_event {
    struct ahpa_lru_node node; /* key: "<namespace>/<name>" */
    char key[2 * AHPA_EVENTS_NAME_MAX];
    int64_t count;
};

/* The messages of one (object, type, reason) in the current window
 * (client-go's aggregateRecord): the first AGGREGATE_MAX - 1 distinct
 * ones, as hashes, which keep their own Events. */
struct aggregate {
    struct ahpa_lru_node node; /* key: "<uid>\x1f<type>\x1f<reason>" */
    char key[UID_MAX + 96];
    uint64_t messages[AHPA_EVENTS_AGGREGATE_MAX - 1];
    size_t nmessages;
    int64_t last_s; /* the last event of the group: the window rolls */
};

struct ahpa_controller__events {
    struct ahpa_kube_client *kube;
    const char *component;
    struct ahpa_lru objects, seen, aggregates;
    size_t objects_max, seen_max;
    struct ahpa_controller__events_stats stats;
};

_Static_assert(offsetof(struct object_state, node) == 0, "node first");
_Static_assert(offsetof(struct seen_event, node) == 0, "node first");
_Static_assert(offsetof(struct aggregate, node) == 0, "node first");

struct ahpa_controller__events *ahpa_controller__events_new(struct ahpa_kube_client *kube,
                                                            const char *component)
{
    return ahpa_controller__events_new_bounded(kube, component, AHPA_EVENTS_OBJECTS_MAX,
                                               AHPA_EVENTS_SEEN_MAX);
}

struct ahpa_controller__events *ahpa_controller__events_new_bounded(
    struct ahpa_kube_client *kube, const char *component, size_t objects_max, size_t seen_max)
{
    struct ahpa_controller__events *ev = ahpa_calloc(1, sizeof(*ev));
    ev->kube = kube;
    ev->component = component;
    ev->objects_max = objects_max > 0 ? objects_max : 1;
    ev->seen_max = seen_max > 0 ? seen_max : 1;
    ahpa_lru_init(&ev->objects, 0);
    ahpa_lru_init(&ev->seen, 0);
    ahpa_lru_init(&ev->aggregates, 0);
    return ev;
}

/* Frees every entry of t (each is its node's allocation), then the index. */
static void table_dispose(struct ahpa_lru *t)
{
    struct ahpa_lru_node *n = ahpa_lru_oldest(t), *next;
    for (; n != NULL; n = next) {
        next = ahpa_lru_newer(t, n);
        free(n);
    }
    ahpa_lru_dispose(t);
}

void ahpa_controller__events_free(struct ahpa_controller__events *ev)
{
    if (ev == NULL)
        return;
    table_dispose(&ev->objects);
    table_dispose(&ev->seen);
    table_dispose(&ev->aggregates);
    free(ev);
}

void ahpa_controller__events_stats(const struct ahpa_controller__events *ev,
                                   struct ahpa_controller__events_stats *out)
{
    *out = ev->stats;
    out->objects = ahpa_lru_count(&ev->objects);
    out->seen = ahpa_lru_count(&ev->seen);
    out->aggregates = ahpa_lru_count(&ev->aggregates);
}

static const char *type_name(enum ahpa_controller__event_type t)
{
    return t == AHPA_EVENT_WARNING ? "Warning" : "Normal";
}

/* The hash of the fields, each followed by a unit separator, so that
 * moving characters from one field to the next makes another key; three
 * fields (the combined Event) never give the string of four. */
static uint64_t fields_hash(const char *const *parts, size_t n)
{
    uint64_t h = AHPA_STR_HASH_INIT;
    for (size_t i = 0; i < n; i++) {
        h = ahpa_str_hash_update(h, parts[i] ? parts[i] : "");
        h = ahpa_str_hash_update(h, "\x1f");
    }
    return h;
}

static void name_with_hash(const char *obj_name, uint64_t h, char *out)
{
    /* name + '.' + 16 hex within 253 bytes; a cut name must not end in
     * '.' or '-' (the label before the dot ends alphanumeric). */
    size_t keep = strlen(obj_name), room = AHPA_EVENTS_NAME_MAX - 1 - 1 - HASH_HEX;
    if (keep > room)
        keep = room;
    while (keep > 0 && (obj_name[keep - 1] == '.' || obj_name[keep - 1] == '-'))
        keep--;
    snprintf(out, AHPA_EVENTS_NAME_MAX, "%.*s.%016llx", (int)keep, obj_name,
             (unsigned long long)h);
}

void ahpa_controller__event_name(const char *obj_name, const char *uid,
                                 enum ahpa_controller__event_type type, const char *reason,
                                 const char *message, char *out)
{
    const char *parts[] = {uid, type_name(type), reason, message};
    name_with_hash(obj_name, fields_hash(parts, 4), out);
}

void ahpa_controller__event_combined_name(const char *obj_name, const char *uid,
                                          enum ahpa_controller__event_type type,
                                          const char *reason, char *out)
{
    const char *parts[] = {uid, type_name(type), reason};
    name_with_hash(obj_name, fields_hash(parts, 3), out);
}

/* ---- bounded tables ---------------------------------------------------- */

/* Room for one more entry of `size` bytes in t (bound max): a new
 * allocation, or the least recently used entry taken out of the index.
 * Zeroed; the caller fills its key and indexes it. */
static void *table_slot(struct ahpa_lru *t, size_t max, size_t size)
{
    void *e;
    if (ahpa_lru_count(t) >= max) {
        struct ahpa_lru_node *old = ahpa_lru_oldest(t);
        ahpa_lru_remove(t, old);
        e = old;
        memset(e, 0, size);
    } else {
        e = ahpa_calloc(1, size);
    }
    return e;
}

static struct object_state *object_of(struct ahpa_controller__events *ev, const char *uid,
                                      int64_t now_s)
{
    struct ahpa_lru_node *n = ahpa_lru_find(&ev->objects, uid);
    if (n != NULL) {
        ahpa_lru_touch(&ev->objects, n);
        return (struct object_state *)n;
    }
    struct object_state *o = table_slot(&ev->objects, ev->objects_max, sizeof(*o));
    snprintf(o->uid, sizeof(o->uid), "%s", uid);
    o->tokens = AHPA_EVENTS_BURST;
    o->refilled_s = now_s;
    ahpa_lru_insert(&ev->objects, &o->node, o->uid, sizeof(*o));
    return o;
}

static void seen_key(const char *ns, const char *name, char out[2 * AHPA_EVENTS_NAME_MAX])
{
    snprintf(out, 2 * AHPA_EVENTS_NAME_MAX, "%s/%s", ns, name);
}

/* The Event `name` if known, else NULL; does not count as a use. */
static struct seen_event *seen_find(struct ahpa_controller__events *ev, const char *ns,
                                    const char *name)
{
    char key[2 * AHPA_EVENTS_NAME_MAX];
    seen_key(ns, name, key);
    return (struct seen_event *)ahpa_lru_find(&ev->seen, key);
}

static void seen_put(struct ahpa_controller__events *ev, const char *ns, const char *name,
                     int64_t count)
{
    struct seen_event *s = seen_find(ev, ns, name);
    if (s != NULL) {
        ahpa_lru_touch(&ev->seen, &s->node);
    } else {
        s = table_slot(&ev->seen, ev->seen_max, sizeof(*s));
        seen_key(ns, name, s->key);
        ahpa_lru_insert(&ev->seen, &s->node, s->key, sizeof(*s));
    }
    s->count = count;
}

static void seen_forget(struct ahpa_controller__events *ev, struct seen_event *s)
{
    ahpa_lru_remove(&ev->seen, &s->node);
    free(s);
}

/* client-go's spam filter: a bucket of BURST tokens per object, one
 * token back every REFILL_S seconds. */
static bool take_token(struct object_state *o, int64_t now_s)
{
    if (now_s > o->refilled_s) {
        o->tokens += (double)(now_s - o->refilled_s) / AHPA_EVENTS_REFILL_S;
        if (o->tokens > AHPA_EVENTS_BURST)
            o->tokens = AHPA_EVENTS_BURST;
        o->refilled_s = now_s;
    }
    if (o->tokens < 1.0)
        return false;
    o->tokens -= 1.0;
    return true;
}

bool ahpa_controller__events_strategy(struct ahpa_controller__events *ev, const char *uid,
                                      const char *strategy, int64_t now_s, char *prev, size_t n)
{
    if (uid == NULL || uid[0] == '\0' || strategy == NULL)
        return false;
    struct object_state *o = object_of(ev, uid, now_s);
    bool changed = o->strategy[0] != '\0' && strcmp(o->strategy, strategy) != 0;
    if (changed && prev != NULL && n > 0)
        snprintf(prev, n, "%s", o->strategy);
    snprintf(o->strategy, sizeof(o->strategy), "%s", strategy);
    return changed;
}

/* client-go's EventAggregator, made deterministic: within a window that
 * rolls with each event of the group (AHPA_EVENTS_AGGREGATE_INTERVAL_S
 * since the last one, client-go's "interval > max" test), the first
 * AGGREGATE_MAX - 1 distinct messages keep their own Events and their
 * repeats count them; every other message (the AGGREGATE_MAX-th distinct
 * one on) goes to the group's combined Event. client-go inserts each new
 * message and then drops an arbitrary one from its set (PopAny), so which
 * repeats are combined there varies; here the first messages are kept.
 * Returns true when this message is to be combined. */
static bool aggregate(struct ahpa_controller__events *ev, const char *uid,
                      enum ahpa_controller__event_type type, const char *reason,
                      const char *message, int64_t now_s)
{
    char key[sizeof(((struct aggregate *)0)->key)];
    snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", uid, type_name(type), reason);
    struct aggregate *a = (struct aggregate *)ahpa_lru_find(&ev->aggregates, key);
    if (a != NULL) {
        ahpa_lru_touch(&ev->aggregates, &a->node);
    } else {
        a = table_slot(&ev->aggregates, AHPA_EVENTS_AGGREGATES_MAX, sizeof(*a));
        memcpy(a->key, key, sizeof(key));
        ahpa_lru_insert(&ev->aggregates, &a->node, a->key, sizeof(*a));
        a->last_s = now_s;
    }
    if (now_s - a->last_s > AHPA_EVENTS_AGGREGATE_INTERVAL_S)
        a->nmessages = 0;
    a->last_s = now_s;
    uint64_t h = ahpa_str_hash(message);
    for (size_t i = 0; i < a->nmessages; i++)
        if (a->messages[i] == h)
            return false;
    if (a->nmessages < AHPA_EVENTS_AGGREGATE_MAX - 1) {
        a->messages[a->nmessages++] = h;
        return false;
    }
    return true;
}

/* ---- writing ------------------------------------------------------------- */

static json_t *time_string(int64_t t)
{
    char buf[AHPA_RFC3339_MAX];
    ahpa_time_format_rfc3339(t, buf);
    return json_string(buf);
}

static json_t *event_body(const struct ahpa_controller__events *ev, const char *name,
                          const struct ahpa_controller__event_object *obj,
                          enum ahpa_controller__event_type type, const char *reason,
                          const char *message, int64_t now_s)
{
    json_t *e = json_pack(
        "{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:{s:s},"
        " s:I, s:s}",
        "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", obj->ns,
        "involvedObject", "apiVersion", "autoscaling.alibabacloud.com/v1beta1", "kind",
        "AdvancedHorizontalPodAutoscaler", "name", obj->name, "namespace", obj->ns, "uid",
        obj->uid, "reason", reason, "message", message, "type", type_name(type), "source",
        "component", ev->component, "count", (json_int_t)1, "reportingComponent",
        ev->component);
    json_object_set_new(e, "firstTimestamp", time_string(now_s));
    json_object_set_new(e, "lastTimestamp", time_string(now_s));
    return e;
}

/* count + 1 and lastTimestamp on an existing Event. */
static int bump(struct ahpa_controller__events *ev, const char *ns, const char *name,
                int64_t count, const char *message, int64_t now_s, struct ahpa_error *err)
{
    json_t *p = json_pack("{s:I}", "count", (json_int_t)count);
    if (message != NULL) /* the combined Event shows the latest message */
        json_object_set_new(p, "message", json_string(message));
    json_object_set_new(p, "lastTimestamp", time_string(now_s));
    int rc = ahpa_kube_patch(ev->kube, &event_res, ns, name, NULL, p, NULL, err);
    json_decref(p);
    return rc;
}

/* The Event exists but this process did not know its count (another
 * leader made it, or it was forgotten): read it, then count + 1. */
static int bump_unknown(struct ahpa_controller__events *ev, const char *ns, const char *name,
                        const char *message, int64_t now_s, int64_t *count,
                        struct ahpa_error *err)
{
    json_t *cur = NULL;
    int rc = ahpa_kube_get(ev->kube, &event_res, ns, name, NULL, &cur, err);
    if (rc < 0)
        return rc;
    json_int_t n = json_integer_value(json_object_get(cur, "count"));
    json_decref(cur);
    *count = (n > 0 ? n : 1) + 1;
    return bump(ev, ns, name, *count, message, now_s, err);
}

int ahpa_controller__events_emit(struct ahpa_controller__events *ev,
                                 const struct ahpa_controller__event_object *obj,
                                 enum ahpa_controller__event_type type, const char *reason,
                                 const char *message, int64_t now_s, struct ahpa_error *err)
{
    if (obj == NULL || obj->ns == NULL || obj->name == NULL || obj->uid == NULL ||
        reason == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "event without object or reason");
    if (!take_token(object_of(ev, obj->uid, now_s), now_s)) {
        ev->stats.dropped++;
        return 1;
    }
    char msg[MESSAGE_MAX], name[AHPA_EVENTS_NAME_MAX];
    snprintf(msg, sizeof(msg), "%s", message ? message : "");
    /* Only the combined Event's message changes with a repeat. */
    const char *new_msg = NULL;
    if (aggregate(ev, obj->uid, type, reason, msg, now_s)) {
        char plain[MESSAGE_MAX];
        memcpy(plain, msg, sizeof(plain));
        snprintf(msg, sizeof(msg), "%s%.*s", AHPA_EVENTS_COMBINED_PREFIX,
                 (int)(sizeof(msg) - sizeof(AHPA_EVENTS_COMBINED_PREFIX)), plain);
        ahpa_controller__event_combined_name(obj->name, obj->uid, type, reason, name);
        new_msg = msg;
        ev->stats.combined++;
    } else {
        ahpa_controller__event_name(obj->name, obj->uid, type, reason, msg, name);
    }
    struct seen_event *s = seen_find(ev, obj->ns, name);
    int64_t count = 1;
    int rc;
    if (s != NULL) {
        count = s->count + 1;
        rc = bump(ev, obj->ns, name, count, new_msg, now_s, err);
        if (rc != -AHPA_ENOTFOUND)
            goto done;
        ahpa_error_clear(err); /* deleted (Events expire): a new one */
        seen_forget(ev, s);
        count = 1;
    }
    json_t *body = event_body(ev, name, obj, type, reason, msg, now_s);
    rc = ahpa_kube_create(ev->kube, &event_res, obj->ns, body, NULL, err);
    json_decref(body);
    if (rc == -AHPA_EEXIST || rc == -AHPA_ECONFLICT) {
        ahpa_error_clear(err);
        rc = bump_unknown(ev, obj->ns, name, new_msg, now_s, &count, err);
        if (rc == 0)
            ev->stats.found++;
    }
done:
    if (rc < 0) {
        ev->stats.failed++;
        return rc;
    }
    if (count == 1)
        ev->stats.created++;
    else
        ev->stats.patched++;
    seen_put(ev, obj->ns, name, count);
    return 0;
}
