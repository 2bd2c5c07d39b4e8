/* The pod cache: one informer over pods, each pod kept in a compact form
 * of its own (no JSON), and an index by namespace that the informer's
 * callbacks keep.
 *
 * The stored form: one allocation per pod (`struct pod`: the informer's
 * object header, phase, readiness, and the strings key "ns/name",
 * namespace and resourceVersion, the name being the tail of the key) and
 * a reference to a `struct shape`, interned: the labels packed as
 * "key\0value\0" pairs and the controlling owner "Kind/name". The pods of
 * one ReplicaSet, DaemonSet or Job have the same labels and owner, so
 * they share one shape; a StatefulSet's pods each have their own (their
 * pod-name label).
 *
 * Locking: `lock` (a rwlock) guards the index. The informer's thread
 * takes it for writing in its callbacks, one pod at a time; readers take
 * it for reading to walk one namespace and copy names. The pods
 * themselves are the informer's immutable, reference-counted objects: the
 * index holds a reference to each. The shape table has a mutex of its own
 * (`shapes.mu`), taken to intern a shape (informer thread) and to drop
 * one, which happens wherever the last reference to a pod goes (a reader
 * may hold it last). Nothing here makes a request on a reader's thread. */
#include <jansson.h>
#include <stdint.h>
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

/* What the pods of one workload share. Immutable but for `refs` and
 * `next`, which the table's mutex guards. */
struct shape {
    struct shape *next; /* the table's chain */
    struct shapes *table;
    uint64_t hash;
    size_t refs;
    uint32_t len;     /* bytes in data (a watch line is at most 4 MiB) */
    uint32_t nlabels;
    char data[];      /* nlabels x "key\0value\0", then "Kind/name\0" ("" without owner) */
};

struct shapes {
    pthread_mutex_t mu;
    struct shape **slots;
    size_t nslots; /* a power of two */
    size_t count;
};

enum pod_phase {
    PHASE_NONE, /* no status.phase */
    PHASE_PENDING,
    PHASE_RUNNING,
    PHASE_SUCCEEDED,
    PHASE_FAILED,
    PHASE_UNKNOWN,
    PHASE_OTHER, /* a phase this version does not know */
};

static const char *const phase_names[] = {"", "Pending", "Running", "Succeeded", "Failed",
                                          "Unknown", "?"};

struct pod {
    struct ahpa_kube_obj pub; /* json NULL; first: the informer sees this */
    struct shape *shape;
    unsigned char phase; /* enum pod_phase */
    bool ready;
    char strings[]; /* key "ns/name\0" (name = its tail), "ns\0", "rv\0" */
};

struct ns_bucket {
    char *ns;
    struct ahpa_kube__map pods; /* key "ns/name" -> pod, one reference each */
};

struct ahpa_kube_pods {
    struct ahpa_kube_informer *inf;
    pthread_rwlock_t lock;
    struct ns_bucket *buckets; /* sorted by ns */
    size_t nbuckets;
    struct shapes shapes;
};

/* ---- shapes ------------------------------------------------------- */

static void shapes_init(struct shapes *t)
{
    pthread_mutex_init(&t->mu, NULL);
    t->nslots = 256;
    t->slots = ahpa_calloc(t->nslots, sizeof(*t->slots));
    t->count = 0;
}

/* Every pod is gone by now (the informer freed its store, the index its
 * references, readers are done: kube.h's contract), so every shape is;
 * what is left would be a caller's bug, freed all the same. */
static void shapes_dispose(struct shapes *t)
{
    for (size_t i = 0; i < t->nslots; i++) {
        struct shape *sh = t->slots[i];
        while (sh != NULL) {
            struct shape *next = sh->next;
            free(sh);
            sh = next;
        }
    }
    free(t->slots);
    pthread_mutex_destroy(&t->mu);
}

static void shapes_grow(struct shapes *t)
{
    size_t n = t->nslots * 2;
    struct shape **slots = ahpa_calloc(n, sizeof(*slots));
    for (size_t i = 0; i < t->nslots; i++) {
        struct shape *sh = t->slots[i];
        while (sh != NULL) {
            struct shape *next = sh->next;
            size_t j = sh->hash & (n - 1);
            sh->next = slots[j];
            slots[j] = sh;
            sh = next;
        }
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
}

/* The shape with these bytes, one more reference to it. */
static struct shape *shape_intern(struct shapes *t, const char *data, size_t len,
                                  size_t nlabels)
{
    uint64_t h = ahpa_mem_hash_update(AHPA_STR_HASH_INIT, data, len) ^ nlabels;
    pthread_mutex_lock(&t->mu);
    struct shape **pp = &t->slots[h & (t->nslots - 1)];
    for (struct shape *sh = *pp; sh != NULL; sh = sh->next) {
        if (sh->hash == h && sh->len == len && sh->nlabels == nlabels &&
            memcmp(sh->data, data, len) == 0) {
            sh->refs++;
            pthread_mutex_unlock(&t->mu);
            return sh;
        }
    }
    struct shape *sh = ahpa_malloc(sizeof(*sh) + len);
    sh->table = t;
    sh->hash = h;
    sh->refs = 1;
    sh->len = (uint32_t)len;
    sh->nlabels = (uint32_t)nlabels;
    memcpy(sh->data, data, len);
    sh->next = *pp;
    *pp = sh;
    if (++t->count > t->nslots)
        shapes_grow(t);
    pthread_mutex_unlock(&t->mu);
    return sh;
}

static void shape_release(struct shape *sh)
{
    struct shapes *t = sh->table;
    pthread_mutex_lock(&t->mu);
    if (--sh->refs == 0) {
        struct shape **pp = &t->slots[sh->hash & (t->nslots - 1)];
        while (*pp != sh)
            pp = &(*pp)->next;
        *pp = sh->next;
        t->count--;
        free(sh);
    }
    pthread_mutex_unlock(&t->mu);
}

/* The owner: the string after the labels. */
static const char *shape_owner(const struct shape *sh)
{
    const char *s = sh->data;
    for (size_t i = 0; i < 2u * sh->nlabels; i++)
        s += strlen(s) + 1;
    return s;
}

/* ---- the stored form ---------------------------------------------- */

/* The controlling owner only, as "Kind/name" (the garbage collector's
 * notion of "the pod's workload"); nothing without one. */
static void pack_owner(struct ahpa_buf *b, const json_t *meta)
{
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref)
    {
        const char *kind = json_string_value(json_object_get(ref, "kind"));
        const char *name = json_string_value(json_object_get(ref, "name"));
        if (json_is_true(json_object_get(ref, "controller")) && kind != NULL && name != NULL) {
            ahpa_buf_printf(b, "%s/%s", kind, name);
            break;
        }
    }
    ahpa_buf_append(b, "", 1);
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

static unsigned char phase_of(const json_t *status)
{
    const char *s = json_string_value(json_object_get(status, "phase"));
    if (s == NULL)
        return PHASE_NONE;
    for (unsigned char i = PHASE_PENDING; i < PHASE_OTHER; i++)
        if (strcmp(s, phase_names[i]) == 0)
            return i;
    return PHASE_OTHER;
}

static void pod_destroy(void *obj)
{
    struct pod *pod = obj;
    shape_release(pod->shape);
    free(pod);
}

struct ahpa_kube_obj *ahpa_kube__pod_make(const json_t *json, void *pods)
{
    struct ahpa_kube_pods *p = pods;
    const json_t *meta = json_object_get(json, "metadata");
    const json_t *status = json_object_get(json, "status");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
    if (name == NULL || name[0] == '\0' || rv == NULL)
        return NULL;
    if (ns == NULL)
        ns = "";
    /* The shape's bytes: labels with string values (others are not
     * labels), then the owner. */
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    size_t nlabels = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(meta, "labels"), k, v)
    {
        if (!json_is_string(v))
            continue;
        ahpa_buf_append(&b, k, strlen(k) + 1);
        const char *val = json_string_value(v); /* up to a NUL, as selectors read it */
        ahpa_buf_append(&b, val, strlen(val) + 1);
        nlabels++;
    }
    pack_owner(&b, meta);
    if (b.len > UINT32_MAX) { /* more than any list or watch line brings */
        ahpa_buf_dispose(&b);
        return NULL;
    }
    struct shape *sh = shape_intern(&p->shapes, b.data, b.len, nlabels);
    ahpa_buf_dispose(&b);

    size_t lns = strlen(ns), ln = strlen(name), lrv = strlen(rv);
    size_t lkey = lns ? lns + 1 + ln + 1 : ln + 1;
    struct pod *pod = ahpa_malloc(sizeof(*pod) + lkey + lns + 1 + lrv + 1);
    char *s = pod->strings;
    if (lns) {
        memcpy(s, ns, lns);
        s[lns] = '/';
        memcpy(s + lns + 1, name, ln + 1);
        pod->pub.name = s + lns + 1;
    } else {
        memcpy(s, name, ln + 1);
        pod->pub.name = s;
    }
    pod->pub.key = s;
    s += lkey;
    memcpy(s, ns, lns + 1);
    pod->pub.ns = s;
    s += lns + 1;
    memcpy(s, rv, lrv + 1);
    pod->pub.resource_version = s;
    pod->pub.json = NULL;
    pod->shape = sh;
    pod->phase = phase_of(status);
    pod->ready = is_ready(status);
    ahpa_ref_init(&pod->pub.ref, pod_destroy);
    return &pod->pub;
}

static const struct pod *as_pod(const struct ahpa_kube_obj *o)
{
    return (const struct pod *)o; /* pub is the first member */
}

void ahpa_kube__pod_describe(const struct ahpa_kube_obj *obj, struct ahpa_buf *out)
{
    const struct pod *pod = as_pod(obj);
    const struct shape *sh = pod->shape;
    ahpa_buf_printf(out, "%s ns=%s name=%s rv=%s phase=%s ready=%d owner=%s labels=", obj->key,
                    obj->ns, obj->name, obj->resource_version, phase_names[pod->phase],
                    pod->ready ? 1 : 0, shape_owner(sh));
    const char *s = sh->data;
    for (size_t i = 0; i < sh->nlabels; i++) {
        const char *val = s + strlen(s) + 1;
        ahpa_buf_printf(out, "%s%s=%s", i ? "," : "", s, val);
        s = val + strlen(val) + 1;
    }
}

size_t ahpa_kube__pods_shapes(struct ahpa_kube_pods *p)
{
    pthread_mutex_lock(&p->shapes.mu);
    size_t n = p->shapes.count;
    pthread_mutex_unlock(&p->shapes.mu);
    return n;
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
    shapes_init(&p->shapes);
    struct ahpa_kube_informer_options io = {
        .resource = {"", "v1", "pods", "Pod", true},
        .ns = o->ns,
        .max_items = o->max_items,
        .watch_timeout_s = o->watch_timeout_s,
        .backoff_initial_ms = o->backoff_initial_ms,
        .backoff_max_ms = o->backoff_initial_ms ? 8 * o->backoff_initial_ms : 0,
        .make = ahpa_kube__pod_make,
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
    shapes_dispose(&p->shapes); /* after every pod */
    pthread_rwlock_destroy(&p->lock);
    free(p);
}

struct ahpa_kube_informer *ahpa_kube_pods_informer(struct ahpa_kube_pods *p)
{
    return p->inf;
}

/* ---- readers ------------------------------------------------------ */

static bool pod_matches(const struct ahpa_kube_obj *obj, const struct ahpa_labelsel *sel,
                        unsigned flags)
{
    const struct pod *pod = as_pod(obj);
    if ((flags & AHPA_KUBE_PODS_SKIP_TERMINAL) &&
        (pod->phase == PHASE_SUCCEEDED || pod->phase == PHASE_FAILED))
        return false;
    if (sel == NULL || ahpa_labelsel_is_empty(sel))
        return true;
    const struct shape *sh = pod->shape;
    size_t n = sh->nlabels;
    const char *names_s[LABELS_ON_STACK], *values_s[LABELS_ON_STACK];
    const char **names = names_s, **values = values_s;
    if (n > LABELS_ON_STACK) {
        names = ahpa_calloc(n, sizeof(*names));
        values = ahpa_calloc(n, sizeof(*values));
    }
    const char *s = sh->data;
    for (size_t i = 0; i < n; i++) {
        names[i] = s;
        values[i] = s + strlen(s) + 1;
        s = values[i] + strlen(values[i]) + 1;
    }
    struct ahpa_labelsel_set set = {names, values, n};
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
        if (m->slots[s] != NULL && pod_matches(m->slots[s], sel, flags))
            v[k++] = ahpa_strdup(m->slots[s]->name);
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
