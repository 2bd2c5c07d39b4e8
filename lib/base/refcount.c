/* Reference counts and the snapshot slot. */
#include "ahpa/refcount.h"

#include <stddef.h>

void ahpa_ref_init(struct ahpa_ref *r, ahpa_ref_destroy_fn *destroy)
{
    atomic_init(&r->count, 1);
    r->destroy = destroy;
}

void *ahpa_ref_retain(struct ahpa_ref *r)
{
    if (r != NULL)
        atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
    return r;
}

void ahpa_ref_release(struct ahpa_ref *r)
{
    if (r == NULL)
        return;
    if (atomic_fetch_sub_explicit(&r->count, 1, memory_order_acq_rel) == 1)
        r->destroy(r);
}

void ahpa_snapshot_init(struct ahpa_snapshot *s)
{
    pthread_mutex_init(&s->lock, NULL);
    s->current = NULL;
}

void ahpa_snapshot_dispose(struct ahpa_snapshot *s)
{
    ahpa_ref_release(s->current);
    s->current = NULL;
    pthread_mutex_destroy(&s->lock);
}

struct ahpa_ref *ahpa_snapshot_get(struct ahpa_snapshot *s)
{
    pthread_mutex_lock(&s->lock);
    struct ahpa_ref *r = ahpa_ref_retain(s->current);
    pthread_mutex_unlock(&s->lock);
    return r;
}

void ahpa_snapshot_swap(struct ahpa_snapshot *s, struct ahpa_ref *next)
{
    pthread_mutex_lock(&s->lock);
    struct ahpa_ref *old = s->current;
    s->current = next;
    pthread_mutex_unlock(&s->lock);
    ahpa_ref_release(old);
}
