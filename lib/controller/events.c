/* Events on AHPA objects (see events.h). */
#include "events.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"

#define MESSAGE_MAX 1024
#define UID_MAX 128
#define HASH_HEX 16

static const struct ahpa_kube_resource event_res = {"", "v1", "events", "Event", true};

/* One involved object: its token bucket and the last strategy seen. */
struct object_state {
    char uid[UID_MAX];
    double tokens;
    int64_t refilled_s, used_s;
    char strategy[AHPA_EVENTS_STRATEGY_MAX];
};

/* One Event known to exist, and its count. */
struct seen_event {
    char name[AHPA_EVENTS_NAME_MAX];
    char ns[AHPA_EVENTS_NAME_MAX];
    int64_t count, used_s;
};

struct ahpa_controller__events {
    struct ahpa_kube_client *kube;
    const char *component;
    /* Both arrays grow up to their maximum, then the entry used longest
     * ago is replaced. Linear search: at most a few thousand entries,
     * looked up once per AHPA per cycle (strategies) or per event. */
    struct object_state *objects;
    size_t nobjects;
    struct seen_event *seen;
    size_t nseen;
    struct ahpa_controller__events_stats stats;
};

struct ahpa_controller__events *ahpa_controller__events_new(struct ahpa_kube_client *kube,
                                                            const char *component)
{
    struct ahpa_controller__events *ev = ahpa_calloc(1, sizeof(*ev));
    ev->kube = kube;
    ev->component = component;
    return ev;
}

void ahpa_controller__events_free(struct ahpa_controller__events *ev)
{
    if (ev == NULL)
        return;
    free(ev->objects);
    free(ev->seen);
    free(ev);
}

void ahpa_controller__events_stats(const struct ahpa_controller__events *ev,
                                   struct ahpa_controller__events_stats *out)
{
    *out = ev->stats;
}

static const char *type_name(enum ahpa_controller__event_type t)
{
    return t == AHPA_EVENT_WARNING ? "Warning" : "Normal";
}

void ahpa_controller__event_name(const char *obj_name, const char *uid,
                                 enum ahpa_controller__event_type type, const char *reason,
                                 const char *message, char *out)
{
    /* A unit separator between the fields, so that moving characters
     * from one field to the next makes another key. */
    uint64_t h = AHPA_STR_HASH_INIT;
    const char *parts[] = {uid, type_name(type), reason, message};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        h = ahpa_str_hash_update(h, parts[i] ? parts[i] : "");
        h = ahpa_str_hash_update(h, "\x1f");
    }
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

/* ---- bounded tables ---------------------------------------------------- */

static struct object_state *object_of(struct ahpa_controller__events *ev, const char *uid,
                                      int64_t now_s)
{
    size_t oldest = 0;
    for (size_t i = 0; i < ev->nobjects; i++) {
        if (strcmp(ev->objects[i].uid, uid) == 0) {
            ev->objects[i].used_s = now_s;
            return &ev->objects[i];
        }
        if (ev->objects[i].used_s < ev->objects[oldest].used_s)
            oldest = i;
    }
    struct object_state *o;
    if (ev->nobjects < AHPA_EVENTS_OBJECTS_MAX) {
        if (ev->objects == NULL)
            ev->objects = ahpa_calloc(AHPA_EVENTS_OBJECTS_MAX, sizeof(*ev->objects));
        o = &ev->objects[ev->nobjects++];
    } else {
        o = &ev->objects[oldest];
    }
    memset(o, 0, sizeof(*o));
    snprintf(o->uid, sizeof(o->uid), "%s", uid);
    o->tokens = AHPA_EVENTS_BURST;
    o->refilled_s = o->used_s = now_s;
    return o;
}

/* The Event `name` if known, else NULL. */
static struct seen_event *seen_find(struct ahpa_controller__events *ev, const char *ns,
                                    const char *name)
{
    for (size_t i = 0; i < ev->nseen; i++)
        if (strcmp(ev->seen[i].name, name) == 0 && strcmp(ev->seen[i].ns, ns) == 0)
            return &ev->seen[i];
    return NULL;
}

static void seen_put(struct ahpa_controller__events *ev, const char *ns, const char *name,
                     int64_t count, int64_t now_s)
{
    struct seen_event *s = seen_find(ev, ns, name);
    if (s == NULL) {
        if (ev->nseen < AHPA_EVENTS_SEEN_MAX) {
            if (ev->seen == NULL)
                ev->seen = ahpa_calloc(AHPA_EVENTS_SEEN_MAX, sizeof(*ev->seen));
            s = &ev->seen[ev->nseen++];
        } else {
            s = &ev->seen[0];
            for (size_t i = 1; i < ev->nseen; i++)
                if (ev->seen[i].used_s < s->used_s)
                    s = &ev->seen[i];
        }
        snprintf(s->name, sizeof(s->name), "%s", name);
        snprintf(s->ns, sizeof(s->ns), "%s", ns);
    }
    s->count = count;
    s->used_s = now_s;
}

static void seen_forget(struct ahpa_controller__events *ev, struct seen_event *s)
{
    *s = ev->seen[--ev->nseen];
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
                int64_t count, int64_t now_s, struct ahpa_error *err)
{
    json_t *p = json_pack("{s:I}", "count", (json_int_t)count);
    json_object_set_new(p, "lastTimestamp", time_string(now_s));
    int rc = ahpa_kube_patch(ev->kube, &event_res, ns, name, NULL, p, NULL, err);
    json_decref(p);
    return rc;
}

/* The Event exists but this process did not know its count (another
 * leader made it, or it was forgotten): read it, then count + 1. */
static int bump_unknown(struct ahpa_controller__events *ev, const char *ns, const char *name,
                        int64_t now_s, int64_t *count, struct ahpa_error *err)
{
    json_t *cur = NULL;
    int rc = ahpa_kube_get(ev->kube, &event_res, ns, name, NULL, &cur, err);
    if (rc < 0)
        return rc;
    json_int_t n = json_integer_value(json_object_get(cur, "count"));
    json_decref(cur);
    *count = (n > 0 ? n : 1) + 1;
    return bump(ev, ns, name, *count, now_s, err);
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
    ahpa_controller__event_name(obj->name, obj->uid, type, reason, msg, name);
    struct seen_event *s = seen_find(ev, obj->ns, name);
    int64_t count = 1;
    int rc;
    if (s != NULL) {
        count = s->count + 1;
        rc = bump(ev, obj->ns, name, count, now_s, err);
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
        rc = bump_unknown(ev, obj->ns, name, now_s, &count, err);
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
    seen_put(ev, obj->ns, name, count, now_s);
    return 0;
}
