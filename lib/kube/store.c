/* Immutable objects and the key -> object map behind an informer's store.
 * The map itself is not locked: the informer guards it with its rwlock. */
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "kube_int.h"

/* The object and its strings in one allocation. */
struct obj_impl {
    struct ahpa_kube_obj pub;
    char strings[];
};

static void obj_destroy(void *p)
{
    struct obj_impl *o = p;
    json_decref(o->pub.json);
    free(o);
}

int ahpa_kube__obj_new(json_t *json, struct ahpa_kube_obj **out, struct ahpa_error *err)
{
    *out = NULL;
    json_t *meta = json_object_get(json, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
    if (name == NULL || name[0] == '\0' || rv == NULL) {
        json_decref(json);
        return ahpa_error_set(err, AHPA_EPARSE, "object without metadata.name or "
                                                "resourceVersion");
    }
    if (ns == NULL)
        ns = "";
    size_t ln = strlen(name) + 1, lns = strlen(ns) + 1, lrv = strlen(rv) + 1;
    size_t lkey = lns + ln;
    struct obj_impl *o = ahpa_malloc(sizeof(*o) + ln + lns + lrv + lkey);
    char *p = o->strings;
    memcpy(p, name, ln);
    o->pub.name = p;
    p += ln;
    memcpy(p, ns, lns);
    o->pub.ns = p;
    p += lns;
    memcpy(p, rv, lrv);
    o->pub.resource_version = p;
    p += lrv;
    if (ns[0] != '\0') {
        memcpy(p, ns, lns - 1);
        p[lns - 1] = '/';
        memcpy(p + lns, name, ln);
    } else {
        memcpy(p, name, ln);
    }
    o->pub.key = p;
    o->pub.json = json;
    ahpa_ref_init(&o->pub.ref, obj_destroy);
    *out = &o->pub;
    return 0;
}

struct ahpa_kube_obj *ahpa_kube_obj_retain(struct ahpa_kube_obj *o)
{
    if (o != NULL)
        ahpa_ref_retain(&o->ref);
    return o;
}

void ahpa_kube_obj_release(struct ahpa_kube_obj *o)
{
    if (o != NULL)
        ahpa_ref_release(&o->ref);
}

void ahpa_kube_objs_free(struct ahpa_kube_obj **objs, size_t n)
{
    for (size_t i = 0; objs != NULL && i < n; i++)
        ahpa_kube_obj_release(objs[i]);
    free(objs);
}

/* ---- map ---------------------------------------------------------- */

void ahpa_kube__map_init(struct ahpa_kube__map *m)
{
    m->nslots = 16;
    m->slots = ahpa_calloc(m->nslots, sizeof(*m->slots));
    m->count = 0;
}

void ahpa_kube__map_dispose(struct ahpa_kube__map *m)
{
    for (size_t i = 0; i < m->nslots; i++)
        ahpa_kube_obj_release(m->slots[i]);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* The slot holding `key`, or the empty slot where it would go. Bounded:
 * the table always has an empty slot (at most 3/4 full). */
static size_t find(const struct ahpa_kube__map *m, const char *key)
{
    size_t mask = m->nslots - 1, i = ahpa_str_hash(key) & mask;
    while (m->slots[i] != NULL && strcmp(m->slots[i]->key, key) != 0)
        i = (i + 1) & mask;
    return i;
}

struct ahpa_kube_obj *ahpa_kube__map_get(const struct ahpa_kube__map *m, const char *key)
{
    return m->slots[find(m, key)];
}

static void grow(struct ahpa_kube__map *m)
{
    struct ahpa_kube__map bigger = {ahpa_calloc(m->nslots * 2, sizeof(*m->slots)),
                                    m->nslots * 2, m->count};
    for (size_t i = 0; i < m->nslots; i++)
        if (m->slots[i] != NULL)
            bigger.slots[find(&bigger, m->slots[i]->key)] = m->slots[i];
    free(m->slots);
    *m = bigger;
}

struct ahpa_kube_obj *ahpa_kube__map_put(struct ahpa_kube__map *m, struct ahpa_kube_obj *obj)
{
    size_t i = find(m, obj->key);
    struct ahpa_kube_obj *old = m->slots[i];
    m->slots[i] = obj;
    if (old == NULL && ++m->count > m->nslots / 4 * 3)
        grow(m);
    return old;
}

struct ahpa_kube_obj *ahpa_kube__map_del(struct ahpa_kube__map *m, const char *key)
{
    size_t mask = m->nslots - 1, i = find(m, key);
    struct ahpa_kube_obj *o = m->slots[i];
    if (o == NULL)
        return NULL;
    m->slots[i] = NULL;
    m->count--;
    /* Entries after the hole whose home is not in (hole, j] move into it,
     * so every entry stays reachable from its home slot. */
    for (size_t j = (i + 1) & mask; m->slots[j] != NULL; j = (j + 1) & mask) {
        size_t home = ahpa_str_hash(m->slots[j]->key) & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            m->slots[j] = NULL;
            i = j;
        }
    }
    return o;
}
