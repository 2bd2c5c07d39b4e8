/* The pod cache: one informer over pods, each pod trimmed to what the
 * adapter reads, and an index by namespace that the informer's callbacks
 * keep.
 *
 * Locking: `lock` (a rwlock) guards the index. The informer's thread
 * takes it for writing in its callbacks, one pod at a time; readers take
 * it for reading to walk one namespace and copy names. The pods
 * themselves are the informer's immutable, reference-counted objects: the
 * index holds a reference to each. Nothing here makes a request on a
 * reader's thread. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "kube_int.h"

/* Labels of one pod matched without an allocation up to this many. */
#define LABELS_ON_STACK 32

struct ns_bucket {
    char *ns;
    struct ahpa_kube__map pods; /* key "ns/name" -> pod, one reference each */
};

struct ahpa_kube_pods {
    struct ahpa_kube_informer *inf;
    pthread_rwlock_t lock;
    struct ns_bucket *buckets; /* sorted by ns */
    size_t nbuckets;
};

/* ---- the stored form ---------------------------------------------- */

static void copy_string(json_t *dst, const json_t *src, const char *key)
{
    const char *s = json_string_value(json_object_get(src, key));
    if (s != NULL)
        json_object_set_new(dst, key, json_string(s));
}

/* The controlling owner only, as "Kind/name" (the garbage collector's
 * notion of "the pod's workload"). */
static void copy_owner(json_t *dst, const json_t *meta)
{
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref)
    {
        const char *kind = json_string_value(json_object_get(ref, "kind"));
        const char *name = json_string_value(json_object_get(ref, "name"));
        if (json_is_true(json_object_get(ref, "controller")) && kind != NULL && name != NULL) {
            json_object_set_new(dst, "owner", json_sprintf("%s/%s", kind, name));
            return;
        }
    }
}

static bool is_ready(const json_t *status)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));
        if (type != NULL && strcmp(type, "Ready") == 0)
            return st != NULL && strcmp(st, "True") == 0;
    }
    return false;
}

json_t *ahpa_kube__pod_trim(const json_t *pod, void *ud)
{
    (void)ud;
    const json_t *meta = json_object_get(pod, "metadata");
    const json_t *status = json_object_get(pod, "status");
    if (!json_is_object(meta))
        return NULL;
    json_t *m = json_object();
    copy_string(m, meta, "name");
    copy_string(m, meta, "namespace");
    copy_string(m, meta, "resourceVersion");
    json_t *labels = json_object(), *v;
    const char *k;
    json_object_foreach((json_t *)json_object_get(meta, "labels"), k, v)
        if (json_is_string(v))
            json_object_set_new(labels, k, json_string(json_string_value(v)));
    json_object_set_new(m, "labels", labels);
    /* Three JSON objects per pod (this one, metadata, labels): each costs
     * a hash table, so phase, readiness and owner sit at the top. */
    json_t *t = json_pack("{s:o, s:b}", "metadata", m, "ready", is_ready(status));
    copy_string(t, status, "phase");
    copy_owner(t, meta);
    return t;
}

/* ---- the index (informer thread writes, readers read) ------------- */

static size_t bucket_pos(const struct ahpa_kube_pods *p, const char *ns, bool *found)
{
    size_t lo = 0, hi = p->nbuckets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(p->buckets[mid].ns, ns);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void index_put(struct ahpa_kube_pods *p, const struct ahpa_kube_obj *pod)
{
    pthread_rwlock_wrlock(&p->lock);
    bool found;
    size_t i = bucket_pos(p, pod->ns, &found);
    if (!found) {
        p->buckets = ahpa_reallocarray(p->buckets, p->nbuckets + 1, sizeof(*p->buckets));
        memmove(&p->buckets[i + 1], &p->buckets[i], (p->nbuckets - i) * sizeof(*p->buckets));
        p->buckets[i].ns = ahpa_strdup(pod->ns);
        ahpa_kube__map_init(&p->buckets[i].pods);
        p->nbuckets++;
    }
    struct ahpa_kube_obj *old = ahpa_kube__map_put(&p->buckets[i].pods,
                                                   ahpa_kube_obj_retain((struct ahpa_kube_obj *)pod));
    pthread_rwlock_unlock(&p->lock);
    ahpa_kube_obj_release(old);
}

static void index_del(struct ahpa_kube_pods *p, const struct ahpa_kube_obj *pod)
{
    pthread_rwlock_wrlock(&p->lock);
    bool found;
    size_t i = bucket_pos(p, pod->ns, &found);
    struct ahpa_kube_obj *old = found ? ahpa_kube__map_del(&p->buckets[i].pods, pod->key) : NULL;
    if (found && p->buckets[i].pods.count == 0) { /* a namespace emptied: drop it */
        ahpa_kube__map_dispose(&p->buckets[i].pods);
        free(p->buckets[i].ns);
        memmove(&p->buckets[i], &p->buckets[i + 1], (p->nbuckets - i - 1) * sizeof(*p->buckets));
        p->nbuckets--;
    }
    pthread_rwlock_unlock(&p->lock);
    ahpa_kube_obj_release(old);
}

static void on_add(const struct ahpa_kube_obj *obj, void *ud)
{
    index_put(ud, obj);
}

static void on_update(const struct ahpa_kube_obj *old_obj, const struct ahpa_kube_obj *new_obj,
                      void *ud)
{
    (void)old_obj;
    index_put(ud, new_obj);
}

static void on_delete(const struct ahpa_kube_obj *obj, void *ud)
{
    index_del(ud, obj);
}

/* ---- lifecycle ---------------------------------------------------- */

struct ahpa_kube_pods *ahpa_kube_pods_new(struct ahpa_kube_client *c,
                                          const struct ahpa_kube_pods_options *o,
                                          struct ahpa_error *err)
{
    static const struct ahpa_kube_pods_options none = {0};
    if (o == NULL)
        o = &none;
    struct ahpa_kube_pods *p = ahpa_calloc(1, sizeof(*p));
    pthread_rwlock_init(&p->lock, NULL);
    struct ahpa_kube_informer_options io = {
        .resource = {"", "v1", "pods", "Pod", true},
        .ns = o->ns,
        .max_items = o->max_items,
        .watch_timeout_s = o->watch_timeout_s,
        .backoff_initial_ms = o->backoff_initial_ms,
        .backoff_max_ms = o->backoff_initial_ms ? 8 * o->backoff_initial_ms : 0,
        .transform = ahpa_kube__pod_trim,
        .on_add = on_add,
        .on_update = on_update,
        .on_delete = on_delete,
        .ud = p,
    };
    p->inf = ahpa_kube_informer_new(c, &io, err);
    if (p->inf == NULL) {
        ahpa_kube_pods_free(p);
        return NULL;
    }
    return p;
}

int ahpa_kube_pods_start(struct ahpa_kube_pods *p, struct ahpa_error *err)
{
    return ahpa_kube_informer_start(p->inf, err);
}

void ahpa_kube_pods_stop(struct ahpa_kube_pods *p)
{
    if (p != NULL)
        ahpa_kube_informer_stop(p->inf);
}

void ahpa_kube_pods_free(struct ahpa_kube_pods *p)
{
    if (p == NULL)
        return;
    ahpa_kube_informer_free(p->inf); /* stops it: no callback after this */
    for (size_t i = 0; i < p->nbuckets; i++) {
        ahpa_kube__map_dispose(&p->buckets[i].pods);
        free(p->buckets[i].ns);
    }
    free(p->buckets);
    pthread_rwlock_destroy(&p->lock);
    free(p);
}

struct ahpa_kube_informer *ahpa_kube_pods_informer(struct ahpa_kube_pods *p)
{
    return p->inf;
}

/* ---- readers ------------------------------------------------------ */

static bool pod_matches(const struct ahpa_kube_obj *pod, const struct ahpa_labelsel *sel,
                        unsigned flags)
{
    if (flags & AHPA_KUBE_PODS_SKIP_TERMINAL) {
        const char *phase = json_string_value(json_object_get(pod->json, "phase"));
        if (phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
            return false;
    }
    if (sel == NULL || ahpa_labelsel_is_empty(sel))
        return true;
    const json_t *labels = json_object_get(json_object_get(pod->json, "metadata"), "labels");
    size_t n = json_object_size(labels), k = 0;
    const char *names_s[LABELS_ON_STACK], *values_s[LABELS_ON_STACK];
    const char **names = names_s, **values = values_s;
    if (n > LABELS_ON_STACK) {
        names = ahpa_calloc(n, sizeof(*names));
        values = ahpa_calloc(n, sizeof(*values));
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)labels, key, v)
    {
        if (k == n)
            break;
        names[k] = key;
        values[k++] = json_string_value(v);
    }
    struct ahpa_labelsel_set set = {names, values, k};
    bool ok = ahpa_labelsel_matches(sel, &set);
    if (names != names_s) {
        free(names);
        free(values);
    }
    return ok;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ahpa_kube_pods_select(struct ahpa_kube_pods *p, const char *ns,
                          const struct ahpa_labelsel *sel, unsigned flags, char ***names,
                          size_t *n, struct ahpa_error *err)
{
    *names = NULL;
    *n = 0;
    if (ns == NULL || ns[0] == '\0')
        return ahpa_error_set(err, AHPA_EINVAL, "pods are selected within a namespace");
    if (!ahpa_kube_informer_has_synced(p->inf))
        return ahpa_error_set(err, AHPA_EUNAVAIL, "pods not listed yet");
    pthread_rwlock_rdlock(&p->lock);
    bool found;
    size_t b = bucket_pos(p, ns, &found);
    const struct ahpa_kube__map *m = found ? &p->buckets[b].pods : NULL;
    char **v = ahpa_calloc(m ? m->count + 1 : 1, sizeof(*v));
    size_t k = 0;
    for (size_t s = 0; m != NULL && s < m->nslots; s++)
        for (const struct ahpa_kube__map_ent *e = m->slots[s]; e != NULL; e = e->next)
            if (pod_matches(e->obj, sel, flags))
                v[k++] = ahpa_strdup(e->obj->name);
    pthread_rwlock_unlock(&p->lock);
    qsort(v, k, sizeof(*v), by_name);
    *names = v;
    *n = k;
    return 0;
}

int ahpa_kube_pods_exists(struct ahpa_kube_pods *p, const char *ns, const char *name,
                          struct ahpa_error *err)
{
    if (!ahpa_kube_informer_has_synced(p->inf))
        return ahpa_error_set(err, AHPA_EUNAVAIL, "pods not listed yet");
    struct ahpa_kube_obj *o = ahpa_kube_informer_get(p->inf, ns, name);
    ahpa_kube_obj_release(o);
    return o != NULL;
}

void ahpa_kube_pods_names_free(char **names, size_t n)
{
    for (size_t i = 0; names != NULL && i < n; i++)
        free(names[i]);
    free(names);
}

void ahpa_kube_pods_collect(void *pods, struct ahpa_buf *out)
{
    struct ahpa_kube_pods *p = pods;
    struct ahpa_kube_informer_stats st;
    ahpa_kube_informer_stats(p->inf, &st);
    ahpa_buf_printf(out,
                    "# HELP ahpa_pod_informer_pods Pods in the pod informer's store.\n"
                    "# TYPE ahpa_pod_informer_pods gauge\n"
                    "ahpa_pod_informer_pods %zu\n"
                    "# HELP ahpa_pod_informer_synced 1 once the pod informer's first list is in.\n"
                    "# TYPE ahpa_pod_informer_synced gauge\n"
                    "ahpa_pod_informer_synced %d\n"
                    "# HELP ahpa_pod_informer_lists_total Full lists of pods (the first included).\n"
                    "# TYPE ahpa_pod_informer_lists_total counter\n"
                    "ahpa_pod_informer_lists_total %llu\n"
                    "# HELP ahpa_pod_informer_watches_total Pod watch requests started.\n"
                    "# TYPE ahpa_pod_informer_watches_total counter\n"
                    "ahpa_pod_informer_watches_total %llu\n"
                    "# HELP ahpa_pod_informer_gone_total 410 Gone answers (relists).\n"
                    "# TYPE ahpa_pod_informer_gone_total counter\n"
                    "ahpa_pod_informer_gone_total %llu\n"
                    "# HELP ahpa_pod_informer_errors_total Failed pod lists, watches and streams.\n"
                    "# TYPE ahpa_pod_informer_errors_total counter\n"
                    "ahpa_pod_informer_errors_total %llu\n",
                    ahpa_kube_informer_count(p->inf), ahpa_kube_informer_has_synced(p->inf) ? 1 : 0,
                    (unsigned long long)st.lists, (unsigned long long)st.watches,
                    (unsigned long long)st.gone, (unsigned long long)st.errors);
}
