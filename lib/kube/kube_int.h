/* Internals shared by the files of lib/kube, and the pure pieces the unit
 * tests and the fuzz target reach directly. */
#ifndef AHPA_KUBE_INT_H
#define AHPA_KUBE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahpa/buf.h"
#include "ahpa/httpc.h"
#include "ahpa/kube.h"

struct ahpa_error;

/* ---- token bucket (limiter.c) ------------------------------------- */

/* Tokens refill at `qps` per second up to `burst`. A reservation takes a
 * token now, going into debt if none is left, and says how long the
 * caller must wait before using it; debts queue callers fairly without
 * holding the lock while they sleep. qps <= 0: no limit. */
struct ahpa_kube__limiter {
    pthread_mutex_t mu;
    double qps;
    double burst;
    double tokens;
    int64_t last_ns; /* when `tokens` was last brought up to date */
};

void ahpa_kube__limiter_init(struct ahpa_kube__limiter *l, double qps, int burst);
void ahpa_kube__limiter_dispose(struct ahpa_kube__limiter *l);
/* Takes one token at time now_ns; returns the wait in ns (0 = go). */
int64_t ahpa_kube__limiter_reserve(struct ahpa_kube__limiter *l, int64_t now_ns);

/* ---- jittered exponential backoff (limiter.c) --------------------- */

struct ahpa_kube__backoff {
    int64_t initial_ms;
    int64_t max_ms;
    int64_t next_ms; /* the un-jittered delay of the next failure */
    uint64_t rng;    /* xorshift state, never 0 */
};

void ahpa_kube__backoff_init(struct ahpa_kube__backoff *b, int64_t initial_ms, int64_t max_ms,
                             uint64_t seed);
/* The delay before the next attempt: the current step d jittered into
 * [d/2, d) (so the bound is max_ms), then d doubles up to max_ms. */
int64_t ahpa_kube__backoff_next(struct ahpa_kube__backoff *b);
void ahpa_kube__backoff_reset(struct ahpa_kube__backoff *b);

/* ---- watch stream framing and decoding (watch.c) ------------------ */

/* Splits a byte stream into '\n'-terminated lines without keeping more
 * than one line. A line longer than `max` is an error (-AHPA_ETOOBIG). */
typedef int (*ahpa_kube__line_fn)(const char *line, size_t len, void *ud);

struct ahpa_kube__lines {
    struct ahpa_buf line; /* the partial line so far */
    size_t max;
};

void ahpa_kube__lines_init(struct ahpa_kube__lines *ls, size_t max);
void ahpa_kube__lines_dispose(struct ahpa_kube__lines *ls);
/* Calls fn once per complete non-empty line (without the '\n'; a '\r'
 * before it is dropped); stops at fn's first non-zero return and returns
 * it. */
int ahpa_kube__lines_feed(struct ahpa_kube__lines *ls, const char *data, size_t len,
                          ahpa_kube__line_fn fn, void *ud, struct ahpa_error *err);

enum ahpa_kube__event_type {
    AHPA_KUBE_EV_ADDED,
    AHPA_KUBE_EV_MODIFIED,
    AHPA_KUBE_EV_DELETED,
    AHPA_KUBE_EV_BOOKMARK,
    AHPA_KUBE_EV_ERROR,
};

/* One decoded event. object is a new reference (NULL for ERROR). */
struct ahpa_kube__event {
    enum ahpa_kube__event_type type;
    json_t *object;
    const char *rv; /* borrowed from object: metadata.resourceVersion */
    /* ERROR: the Status's code and the mapped error code. */
    long status_code;
    int error_code;
};

/* Decodes one line. `kind` (may be NULL) is the kind objects must have
 * when they carry one. Errors (-AHPA_EPARSE): not JSON, not an object,
 * unknown type, object missing or of the wrong kind, no name (except
 * bookmarks) or no resourceVersion. An ERROR event decodes successfully
 * (type ERROR, the Status mapped into error_code and `err`). */
int ahpa_kube__event_decode(const char *line, size_t len, const char *kind,
                            struct ahpa_kube__event *ev, struct ahpa_error *err);
void ahpa_kube__event_dispose(struct ahpa_kube__event *ev);

/* ---- YAML to JSON (yaml.c) ---------------------------------------- */

/* One YAML document into a JSON tree (scalars stay strings except what
 * the core schema says: true/false/null/numbers). Aliases refused; depth
 * and node count bounded. *out: new reference. */
int ahpa_kube__yaml_load(const char *text, size_t len, json_t **out, struct ahpa_error *err);

/* ---- objects (store.c) -------------------------------------------- */

/* Wraps `json` (takes the reference) into an object; -AHPA_EPARSE without
 * metadata.name or resourceVersion. */
int ahpa_kube__obj_new(json_t *json, struct ahpa_kube_obj **out, struct ahpa_error *err);

/* A map key -> object (owned reference each): open addressing with
 * linear probing, one pointer per slot and no allocation per entry (an
 * informer's store and the pod cache's index hold one entry per object).
 * At most 3/4 full; a deletion shifts the entries behind it back, so
 * there are no tombstones. Iterate with
 *   for (size_t s = 0; s < m->nslots; s++) if (m->slots[s] != NULL) ... */
struct ahpa_kube__map {
    struct ahpa_kube_obj **slots; /* NULL = empty */
    size_t nslots;                /* a power of two */
    size_t count;
};

void ahpa_kube__map_init(struct ahpa_kube__map *m);
void ahpa_kube__map_dispose(struct ahpa_kube__map *m);
struct ahpa_kube_obj *ahpa_kube__map_get(const struct ahpa_kube__map *m, const char *key);
/* Takes the reference of `obj`; returns the replaced one (caller
 * releases) or NULL. */
struct ahpa_kube_obj *ahpa_kube__map_put(struct ahpa_kube__map *m, struct ahpa_kube_obj *obj);
/* Returns the removed object (caller releases) or NULL. */
struct ahpa_kube_obj *ahpa_kube__map_del(struct ahpa_kube__map *m, const char *key);

/* ---- informers (informer.c) --------------------------------------- */

/* For tests and benchmarks: installs `list` ({"metadata":
 * {"resourceVersion"}, "items": [whole objects]}) as a relist whose
 * answer it was (each item through make, if any, the diff's
 * callbacks, has_synced). Only while the informer's thread is not
 * running (it is the store's one writer). */
int ahpa_kube__informer_load(struct ahpa_kube_informer *inf, const json_t *list,
                             struct ahpa_error *err);

/* ---- pods (pods.c) ------------------------------------------------- */

/* The pod cache's make function (see ahpa_kube_pods in kube.h): a new
 * compact pod from a whole one, its shape interned in `pods` (a struct
 * ahpa_kube_pods); NULL without metadata.name or resourceVersion. */
struct ahpa_kube_obj *ahpa_kube__pod_make(const json_t *pod, void *pods);
/* For tests: a pod made by ahpa_kube__pod_make as one line:
 * "<key> ns=.. name=.. rv=.. phase=.. ready=0|1 owner=Kind/name labels=k=v,..". */
void ahpa_kube__pod_describe(const struct ahpa_kube_obj *pod, struct ahpa_buf *out);
/* Shapes interned now (for tests). */
size_t ahpa_kube__pods_shapes(struct ahpa_kube_pods *p);

/* ---- client internals (client.c) ---------------------------------- */

/* A new httpc client to the same server with the same credentials (the
 * informers' own connections). */
struct ahpa_httpc_client *ahpa_kube__httpc_new(struct ahpa_kube_client *c,
                                               struct ahpa_error *err);
/* Waits for the limiter (cut short by a cancel of the client or by
 * *abort, may be NULL) then performs req on h (NULL = the client's). */
int ahpa_kube__do(struct ahpa_kube_client *c, struct ahpa_httpc_client *h, atomic_bool *abort,
                  const struct ahpa_httpc_request *req, struct ahpa_httpc_response *resp,
                  struct ahpa_error *err);
/* Takes one listed item (borrowed, whole) as its page arrives; non-zero
 * ends the list with that error. */
struct ahpa_kube__sink {
    int (*fn)(const json_t *item, void *ud, struct ahpa_error *err);
    void *ud;
};
/* ahpa_kube_list() on a given connection, cancellable by *abort. With a
 * sink (may be NULL) the items go to it, not into (*out)["items"], and
 * lo->max_items is the sink's business. */
int ahpa_kube__list_all(struct ahpa_kube_client *c, struct ahpa_httpc_client *h, atomic_bool *abort,
                        const struct ahpa_kube_resource *r, const char *ns,
                        const struct ahpa_kube_list_options *lo,
                        const struct ahpa_kube__sink *sink, json_t **out, struct ahpa_error *err);
int64_t ahpa_kube__now_ns(void);

#endif
