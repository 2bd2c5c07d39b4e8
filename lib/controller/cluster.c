/* AHPA objects from the cluster: an informer on
 * advancedhorizontalpodautoscalers, the objects validated when their spec
 * changes, and the workload array rebuilt from the informer's store.
 *
 * The informer's callbacks only set a flag and wake the loop thread; the
 * loop thread does everything else (validation, workloads, status), so no
 * state here is shared with the informer's thread but the flag. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "controller_int.h"

static const struct ahpa_kube_resource ahpa_resource = {
    "autoscaling.alibabacloud.com", "v1beta1", "advancedhorizontalpodautoscalers",
    AHPA_OBJ_KIND, true};

/* --- informer callbacks (informer thread) ---------------------------------------- */

void ahpa_controller__wake(struct ahpa_controller *c)
{
    pthread_mutex_lock(&c->wake_lock);
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->wake_lock);
}

static void mark_dirty(struct ahpa_controller *c)
{
    atomic_store(&c->cluster->dirty, true);
    ahpa_controller__wake(c);
}

static void on_add(const struct ahpa_kube_obj *obj, void *ud)
{
    (void)obj;
    mark_dirty(ud);
}

static const char *uid_of(const json_t *j)
{
    const char *s = json_string_value(json_object_get(json_object_get(j, "metadata"), "uid"));
    return s ? s : "";
}

/* Only a new spec (or a new object under the same name) matters: the
 * controller's own status writes come back as updates too. */
static void on_update(const struct ahpa_kube_obj *old_obj, const struct ahpa_kube_obj *new_obj,
                      void *ud)
{
    const json_t *a = old_obj->json, *b = new_obj->json;
    if (!json_equal(json_object_get(a, "spec"), json_object_get(b, "spec")) ||
        strcmp(uid_of(a), uid_of(b)) != 0)
        mark_dirty(ud);
}

static void on_delete(const struct ahpa_kube_obj *obj, void *ud)
{
    (void)obj;
    mark_dirty(ud);
}

/* --- lifecycle -------------------------------------------------------------------------- */

int ahpa_controller__cluster_new(struct ahpa_controller *c, struct ahpa_error *err)
{
    struct ahpa_controller__cluster *k = ahpa_calloc(1, sizeof(*k));
    struct ahpa_kube_informer_options io = {
        .resource = ahpa_resource,
        .ns = c->opt.watch_namespace,
        .watch_timeout_s = c->opt.watch_timeout_s,
        .backoff_initial_ms = c->opt.watch_backoff_ms,
        .backoff_max_ms = c->opt.watch_backoff_ms ? 8 * c->opt.watch_backoff_ms : 0,
        .on_add = on_add,
        .on_update = on_update,
        .on_delete = on_delete,
        .ud = c,
    };
    k->inf = ahpa_kube_informer_new(c->opt.kube, &io, err);
    if (k->inf == NULL) {
        free(k);
        return -AHPA_ECONFIG;
    }
    c->cluster = k;
    return 0;
}

static void entry_dispose(struct ahpa_controller__entry *e)
{
    free(e->ns);
    free(e->name);
    free(e->key);
    free(e->rv);
    free(e->uid);
    json_decref(e->spec);
    free(e->error);
    memset(e, 0, sizeof(*e));
}

void ahpa_controller__cluster_free(struct ahpa_controller *c)
{
    struct ahpa_controller__cluster *k = c->cluster;
    if (k == NULL)
        return;
    ahpa_kube_informer_free(k->inf);
    ahpa_controller__status_dispose(k);
    for (size_t i = 0; i < k->nentries; i++)
        entry_dispose(&k->entries[i]);
    free(k->entries);
    free(k);
    c->cluster = NULL;
}

int ahpa_controller__cluster_start(struct ahpa_controller *c, struct ahpa_error *err)
{
    struct ahpa_controller__cluster *k = c->cluster;
    if (k->started)
        return 0;
    int rc = ahpa_kube_informer_start(k->inf, err);
    if (rc == 0)
        k->started = true;
    return rc;
}

void ahpa_controller__cluster_wait_pods(struct ahpa_controller *c)
{
    struct ahpa_controller__cluster *k = c->cluster;
    if (k == NULL || k->pods_waited || c->opt.pods == NULL)
        return;
    struct ahpa_kube_informer *inf = ahpa_kube_pods_informer(c->opt.pods);
    for (int i = 0; i < AHPA_CONTROLLER_PODS_WAIT_MS / 100 && !atomic_load(&c->stopping); i++)
        if (ahpa_kube_informer_wait_synced(inf, 100))
            break;
    if (!ahpa_kube_informer_has_synced(inf))
        AHPA_LOG_WARN("pods not listed after %d ms: planning without them (reason PodsUnknown)",
                      AHPA_CONTROLLER_PODS_WAIT_MS);
    k->pods_waited = true;
}

void ahpa_controller__cluster_stop(struct ahpa_controller *c)
{
    if (c->cluster != NULL && c->cluster->started) {
        ahpa_kube_informer_stop(c->cluster->inf);
        c->cluster->started = false;
    }
}

/* --- sync (loop thread) ------------------------------------------------------------------ */

static struct ahpa_controller__entry *find_entry(struct ahpa_controller__cluster *k,
                                                 const char *key)
{
    size_t lo = 0, hi = k->nentries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(k->entries[mid].key, key);
        if (cmp == 0)
            return &k->entries[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* In cluster mode the workload array is sorted by key. */
static struct ahpa_controller__workload *find_workload(struct ahpa_controller *c, const char *key)
{
    size_t lo = 0, hi = c->nworkloads;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->workloads[mid]->key, key);
        if (cmp == 0)
            return c->workloads[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Validates obj into e (moved from the previous state or new); returns
 * the parsed object when valid (caller owns) or NULL. */
static struct ahpa_obj *validate(struct ahpa_controller *c, const struct ahpa_kube_obj *obj,
                                 struct ahpa_controller__entry *e)
{
    free(e->error);
    e->error = NULL;
    json_decref(e->spec);
    json_t *spec = json_object_get(obj->json, "spec");
    e->spec = spec ? json_deep_copy(spec) : NULL;
    free(e->uid);
    e->uid = ahpa_strdup(uid_of(obj->json));
    json_t *gen = json_object_get(json_object_get(obj->json, "metadata"), "generation");
    e->generation = json_is_integer(gen) ? (int64_t)json_integer_value(gen) : 0;
    struct ahpa_obj *o = NULL;
    struct ahpa_error err = {0};
    int rc = ahpa_obj_from_json(obj->json, c->opt.zone, &o, &err);
    if (rc < 0) {
        e->error = ahpa_strdup(ahpa_error_message(&err, rc));
        AHPA_LOG_WARN("AdvancedHorizontalPodAutoscaler %s is not planned: %s", e->key, e->error);
        return NULL;
    }
    AHPA_LOG_INFO("AdvancedHorizontalPodAutoscaler %s (generation %lld) from the cluster",
                  e->key, (long long)e->generation);
    return o;
}

/* The entry for obj, moved out of the old array (or new), validated when
 * its spec or uid changed; *parsed gets the new object when it was. */
static void next_entry(struct ahpa_controller *c, const struct ahpa_kube_obj *obj,
                       struct ahpa_controller__entry *e, struct ahpa_obj **parsed,
                       bool *changed)
{
    struct ahpa_controller__entry *old = find_entry(c->cluster, obj->key);
    *parsed = NULL;
    if (old != NULL) {
        *e = *old;
        memset(old, 0, sizeof(*old)); /* moved; its key stays for the search */
        old->key = ahpa_strdup(e->key);
        if (strcmp(e->rv, obj->resource_version) == 0)
            return;
        free(e->rv);
        e->rv = ahpa_strdup(obj->resource_version);
        if (e->spec != NULL &&
            json_equal(e->spec, json_object_get(obj->json, "spec")) &&
            strcmp(e->uid, uid_of(obj->json)) == 0)
            return; /* status, labels or annotations only */
    } else {
        memset(e, 0, sizeof(*e));
        e->ns = ahpa_strdup(obj->ns);
        e->name = ahpa_strdup(obj->name);
        e->key = ahpa_strdup(obj->key);
        e->rv = ahpa_strdup(obj->resource_version);
    }
    *changed = true;
    *parsed = validate(c, obj, e);
}

/* The workload of a valid entry: the parsed object replaces the old
 * definition (history kept when the target is the same), or a new one. */
static struct ahpa_controller__workload *adopt(struct ahpa_controller *c, struct ahpa_obj *o,
                                               const char *key)
{
    struct ahpa_controller__workload *w = find_workload(c, key);
    if (o == NULL)
        return w != NULL ? ahpa_ref_retain(&w->ref) : NULL;
    if (w != NULL && strcmp(w->obj->target_name, o->target_name) == 0 &&
        strcmp(w->obj->target_kind, o->target_kind) == 0) {
        pthread_mutex_lock(&w->lock);
        struct ahpa_obj *old = w->obj;
        w->obj = o;
        pthread_mutex_unlock(&w->lock);
        ahpa_obj_free(old);
        ahpa_ref_retain(&w->ref);
    } else {
        w = ahpa_controller__workload_new(o);
        ahpa_controller__workload_prepare(c, w);
    }
    w->replan = true;
    return w;
}

static void set_errors(struct ahpa_controller *c)
{
    for (size_t i = 0; i < c->ndup_errors; i++)
        free(c->dup_errors[i]);
    free(c->dup_errors);
    c->dup_errors = NULL;
    c->ndup_errors = 0;
    struct ahpa_controller__cluster *k = c->cluster;
    for (size_t i = 0; i < k->nentries; i++) {
        if (k->entries[i].error == NULL)
            continue;
        /* The validation message starts with "ns/name: " already. */
        c->dup_errors = ahpa_reallocarray(c->dup_errors, c->ndup_errors + 1, sizeof(char *));
        c->dup_errors[c->ndup_errors++] = ahpa_strdup(k->entries[i].error);
    }
}

void ahpa_controller__cluster_sync(struct ahpa_controller *c, bool *changed)
{
    struct ahpa_controller__cluster *k = c->cluster;
    *changed = false;
    struct ahpa_kube_obj **objs;
    size_t n = ahpa_kube_informer_list(k->inf, &objs); /* sorted by key */
    struct ahpa_controller__entry *entries = ahpa_calloc(n ? n : 1, sizeof(*entries));
    struct ahpa_obj **parsed = ahpa_calloc(n ? n : 1, sizeof(*parsed));
    for (size_t i = 0; i < n; i++)
        next_entry(c, objs[i], &entries[i], &parsed[i], changed);
    for (size_t i = 0; i < k->nentries; i++) {
        if (k->entries[i].rv != NULL) { /* not moved: deleted from the cluster */
            AHPA_LOG_INFO("AdvancedHorizontalPodAutoscaler %s deleted", k->entries[i].key);
            *changed = true;
        }
        entry_dispose(&k->entries[i]);
    }
    free(k->entries);
    k->entries = entries;
    k->nentries = n;

    struct ahpa_controller__workload **next = ahpa_calloc(n ? n : 1, sizeof(*next));
    size_t nw = 0;
    for (size_t i = 0; i < n; i++) {
        if (entries[i].error != NULL)
            continue;
        struct ahpa_obj *o = parsed[i];
        struct ahpa_controller__workload *w = adopt(c, o, entries[i].key);
        if (w == NULL) { /* valid but never adopted: cannot happen; parse again */
            struct ahpa_error err = {0};
            if (ahpa_obj_from_json(objs[i]->json, c->opt.zone, &o, &err) == 0)
                w = adopt(c, o, entries[i].key);
        }
        if (w != NULL)
            next[nw++] = w;
    }
    free(parsed);
    ahpa_kube_objs_free(objs, n);
    pthread_mutex_lock(&c->workloads_lock);
    struct ahpa_controller__workload **old = c->workloads;
    size_t nold = c->nworkloads;
    c->workloads = next;
    c->nworkloads = nw;
    pthread_mutex_unlock(&c->workloads_lock);
    for (size_t i = 0; i < nold; i++)
        ahpa_controller__workload_release(old[i]);
    free(old);
    set_errors(c);
}
