/* Immutable snapshots shared between threads by reference count.
 *
 * Writers build a new object, publish it with ahpa_snapshot_swap(); readers
 * take a reference with ahpa_snapshot_get() and drop it with
 * ahpa_ref_release() when done. Readers never see half an update and never
 * wait on a writer for longer than a pointer copy. */
#ifndef AHPA_REFCOUNT_H
#define AHPA_REFCOUNT_H

#include <pthread.h>
#include <stdatomic.h>

typedef void ahpa_ref_destroy_fn(void *obj);

/* Embed as the first member of a shared object. */
struct ahpa_ref {
    atomic_long count;
    ahpa_ref_destroy_fn *destroy; /* frees the enclosing object */
};

/* Count starts at 1, owned by the caller. */
void ahpa_ref_init(struct ahpa_ref *r, ahpa_ref_destroy_fn *destroy);
void *ahpa_ref_retain(struct ahpa_ref *r);
/* Drops one reference; the last one calls destroy. NULL is a no-op. */
void ahpa_ref_release(struct ahpa_ref *r);

/* A slot holding the current snapshot (or NULL). */
struct ahpa_snapshot {
    pthread_mutex_t lock;
    struct ahpa_ref *current;
};

void ahpa_snapshot_init(struct ahpa_snapshot *s);
/* Releases the held snapshot. */
void ahpa_snapshot_dispose(struct ahpa_snapshot *s);
/* Returns a new reference to the current snapshot (caller releases), or
 * NULL when none was published. */
struct ahpa_ref *ahpa_snapshot_get(struct ahpa_snapshot *s);
/* Takes ownership of `next` (may be NULL) and releases the previous one. */
void ahpa_snapshot_swap(struct ahpa_snapshot *s, struct ahpa_ref *next);

#endif
