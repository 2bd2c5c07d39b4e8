/* Informers: list, then watch from the list's resourceVersion; keep a
 * store of immutable objects and tell callbacks what changed.
 *
 * The loop, on the informer's own thread:
 *   list all pages -> diff against the store (add/update/delete) -> watch
 *   from the list's RV with bookmarks -> apply events one line at a time.
 * A 410 (HTTP or an ERROR event) means our RV was compacted away: relist,
 * and the diff reports what was deleted meanwhile. Any other failure
 * (dropped connection, garbage, a line over the bound) resumes the watch
 * from the last RV seen (bookmarks move it) after a jittered exponential
 * backoff. A watch that ends as the server planned (timeoutSeconds) is
 * resumed at once.
 *
 * The store keeps the whole JSON objects or, with `make`, the module's
 * own compact objects; the loop only ever reads
 * their key, name and resourceVersion.
 *
 * Locking: the store is a map under a rwlock written only by the informer
 * thread; readers take the read lock to copy pointers and references.
 * `mu` guards the small mutable fields (RV, stats) and the condition
 * variable that wakes sleeps at stop and waiters of has_synced. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "kube_int.h"

#define RV_MAX 128
/* A stream that ends this soon without a single event is treated as a
 * failure (backoff), so a server that closes at once is not hammered. */
#define SHORT_WATCH_NS (1000LL * 1000 * 1000)
#define STASH_MAX (64 * 1024)

struct ahpa_kube_informer {
    struct ahpa_kube_client *c;
    struct ahpa_httpc_client *h; /* own connection: stop cancels only it */
    char *group, *version, *resource, *kind, *ns, *label_selector, *field_selector;
    struct ahpa_kube_resource res;
    struct ahpa_kube_informer_options o; /* strings above replace its own */

    pthread_rwlock_t lock; /* the store */
    struct ahpa_kube__map store;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    char rv[RV_MAX];
    struct ahpa_kube_informer_stats stats;
    bool synced;

    atomic_bool stop;
    bool started;
    pthread_t thread;
    struct ahpa_kube__backoff backoff;
};

static char *dup_opt(const char *s)
{
    return s != NULL && s[0] != '\0' ? ahpa_strdup(s) : NULL;
}

static void set_rv(struct ahpa_kube_informer *inf, const char *rv)
{
    pthread_mutex_lock(&inf->mu);
    ahpa_strlcpy(inf->rv, rv, sizeof(inf->rv));
    pthread_mutex_unlock(&inf->mu);
}

static void count(struct ahpa_kube_informer *inf, uint64_t *field)
{
    pthread_mutex_lock(&inf->mu);
    (*field)++;
    pthread_mutex_unlock(&inf->mu);
}

struct ahpa_kube_informer *ahpa_kube_informer_new(struct ahpa_kube_client *c,
                                                  const struct ahpa_kube_informer_options *o,
                                                  struct ahpa_error *err)
{
    if (c == NULL || o == NULL || o->resource.resource == NULL || o->resource.version == NULL) {
        ahpa_error_set(err, AHPA_EINVAL, "informer without a client or resource");
        return NULL;
    }
    struct ahpa_kube_informer *inf = ahpa_calloc(1, sizeof(*inf));
    inf->c = c;
    inf->o = *o;
    inf->group = ahpa_strdup(o->resource.group ? o->resource.group : "");
    inf->version = ahpa_strdup(o->resource.version);
    inf->resource = ahpa_strdup(o->resource.resource);
    inf->kind = dup_opt(o->resource.kind);
    inf->ns = dup_opt(o->ns);
    inf->label_selector = dup_opt(o->label_selector);
    inf->field_selector = dup_opt(o->field_selector);
    inf->res = (struct ahpa_kube_resource){inf->group, inf->version, inf->resource, inf->kind,
                                           o->resource.namespaced};
    inf->o.resource = inf->res;
    inf->o.ns = inf->ns;
    inf->o.label_selector = inf->label_selector;
    inf->o.field_selector = inf->field_selector;
    pthread_rwlock_init(&inf->lock, NULL);
    ahpa_kube__map_init(&inf->store);
    pthread_mutex_init(&inf->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&inf->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&inf->stop, false);
    uint64_t seed = o->seed ? o->seed : (uint64_t)ahpa_kube__now_ns() | 1u;
    ahpa_kube__backoff_init(&inf->backoff, o->backoff_initial_ms, o->backoff_max_ms, seed);
    struct ahpa_buf probe;
    ahpa_buf_init(&probe);
    int rc = ahpa_kube_path(&inf->res, inf->ns, NULL, NULL, &probe, err);
    ahpa_buf_dispose(&probe);
    if (rc == 0)
        inf->h = ahpa_kube__httpc_new(c, err);
    if (inf->h == NULL) {
        ahpa_kube_informer_free(inf);
        return NULL;
    }
    return inf;
}

/* Sleeps up to ms unless stopped; returns false when stopped. */
static bool sleep_unless_stopped(struct ahpa_kube_informer *inf, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (ms % 1000) * 1000000LL;
    ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    pthread_mutex_lock(&inf->mu);
    while (!atomic_load(&inf->stop))
        if (pthread_cond_timedwait(&inf->cv, &inf->mu, &ts) != 0)
            break;
    pthread_mutex_unlock(&inf->mu);
    return !atomic_load(&inf->stop);
}

/* ---- relist and diff ---------------------------------------------- */

static int new_obj(struct ahpa_kube_informer *inf, const json_t *json, struct ahpa_kube_obj **o,
                   struct ahpa_error *err);

/* What changed between two stores, as callbacks: adds and updates in the
 * new one's order, then deletes. Same RV = same object: no callback. */
static void diff_callbacks(struct ahpa_kube_informer *inf, const struct ahpa_kube__map *old,
                           const struct ahpa_kube__map *cur)
{
    for (size_t s = 0; s < cur->nslots; s++) {
        const struct ahpa_kube_obj *o = cur->slots[s];
        if (o == NULL)
            continue;
        struct ahpa_kube_obj *was = ahpa_kube__map_get(old, o->key);
        if (was == NULL && inf->o.on_add)
            inf->o.on_add(o, inf->o.ud);
        else if (was != NULL && strcmp(was->resource_version, o->resource_version) != 0 &&
                 inf->o.on_update)
            inf->o.on_update(was, o, inf->o.ud);
    }
    for (size_t s = 0; s < old->nslots; s++)
        if (old->slots[s] != NULL && ahpa_kube__map_get(cur, old->slots[s]->key) == NULL &&
            inf->o.on_delete)
            inf->o.on_delete(old->slots[s], inf->o.ud);
}

/* The list is in `fresh`: it becomes the store, callbacks hear the
 * difference, and has_synced turns true. */
static void install(struct ahpa_kube_informer *inf, struct ahpa_kube__map *fresh, const char *rv)
{
    set_rv(inf, rv);
    pthread_rwlock_wrlock(&inf->lock);
    struct ahpa_kube__map old = inf->store;
    inf->store = *fresh;
    pthread_rwlock_unlock(&inf->lock);
    /* `fresh` now is the store; only this thread writes it, so reading
     * it here without the lock is safe. */
    diff_callbacks(inf, &old, &inf->store);
    ahpa_kube__map_dispose(&old);
    pthread_mutex_lock(&inf->mu);
    inf->synced = true;
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
}

/* Each listed item goes into the new map as its page arrives, in its
 * stored form, so a relist holds one page of whole objects at most. */
struct fill {
    struct ahpa_kube_informer *inf;
    struct ahpa_kube__map map;
    size_t max_items;
};

static int fill_one(const json_t *item, void *ud, struct ahpa_error *err)
{
    struct fill *f = ud;
    struct ahpa_kube_obj *o;
    int rc = new_obj(f->inf, item, &o, err);
    if (rc != 0)
        return rc;
    ahpa_kube_obj_release(ahpa_kube__map_put(&f->map, o)); /* a duplicate: last wins */
    if (f->map.count > f->max_items)
        return ahpa_error_set(err, AHPA_ETOOBIG, "more than %zu objects", f->max_items);
    return 0;
}

static void fill_init(struct fill *f, struct ahpa_kube_informer *inf)
{
    f->inf = inf;
    ahpa_kube__map_init(&f->map);
    f->max_items = inf->o.max_items ? inf->o.max_items : AHPA_KUBE_DEFAULT_MAX_ITEMS;
}

static int relist(struct ahpa_kube_informer *inf, struct ahpa_error *err)
{
    struct ahpa_kube_list_options lo = {
        .label_selector = inf->label_selector, .field_selector = inf->field_selector,
        .page_limit = inf->o.page_limit, .max_items = inf->o.max_items};
    struct fill f;
    fill_init(&f, inf);
    struct ahpa_kube__sink sink = {fill_one, &f};
    json_t *list = NULL;
    count(inf, &inf->stats.lists);
    int rc = ahpa_kube__list_all(inf->c, inf->h, &inf->stop, &inf->res, inf->ns, &lo, &sink,
                                 &list, err);
    const char *rv = json_string_value(json_object_get(json_object_get(list, "metadata"),
                                                       "resourceVersion"));
    if (rc == 0 && (rv == NULL || rv[0] == '\0' || strlen(rv) >= RV_MAX))
        rc = ahpa_error_set(err, AHPA_EUPSTREAM, "list of %s without a resourceVersion",
                            inf->resource);
    if (rc == 0)
        install(inf, &f.map, rv);
    else
        ahpa_kube__map_dispose(&f.map);
    json_decref(list);
    return rc;
}

int ahpa_kube__informer_load(struct ahpa_kube_informer *inf, const json_t *list,
                             struct ahpa_error *err)
{
    const char *rv = json_string_value(json_object_get(json_object_get(list, "metadata"),
                                                       "resourceVersion"));
    if (rv == NULL || rv[0] == '\0' || strlen(rv) >= RV_MAX)
        return ahpa_error_set(err, AHPA_EINVAL, "list without a resourceVersion");
    struct fill f;
    fill_init(&f, inf);
    size_t i;
    json_t *it;
    int rc = 0;
    json_array_foreach(json_object_get(list, "items"), i, it)
    {
        if (rc == 0)
            rc = fill_one(it, &f, err);
    }
    if (rc == 0)
        install(inf, &f.map, rv);
    else
        ahpa_kube__map_dispose(&f.map);
    return rc;
}

/* ---- watch -------------------------------------------------------- */

static int new_obj(struct ahpa_kube_informer *inf, const json_t *json, struct ahpa_kube_obj **o,
                   struct ahpa_error *err)
{
    if (inf->o.make != NULL) {
        *o = inf->o.make(json, inf->o.ud);
        if (*o == NULL)
            return ahpa_error_set(err, AHPA_EPARSE, "%s object is not usable", inf->resource);
        return 0;
    }
    return ahpa_kube__obj_new(json_incref((json_t *)json), o, err);
}

static int apply_upsert(struct ahpa_kube_informer *inf, json_t *json, struct ahpa_error *err)
{
    struct ahpa_kube_obj *o;
    int rc = new_obj(inf, json, &o, err);
    if (rc != 0)
        return rc;
    size_t max_items = inf->o.max_items ? inf->o.max_items : AHPA_KUBE_DEFAULT_MAX_ITEMS;
    pthread_rwlock_wrlock(&inf->lock);
    bool full = ahpa_kube__map_get(&inf->store, o->key) == NULL && inf->store.count >= max_items;
    struct ahpa_kube_obj *old = full ? NULL : ahpa_kube__map_put(&inf->store, ahpa_kube_obj_retain(o));
    pthread_rwlock_unlock(&inf->lock);
    if (full) {
        ahpa_kube_obj_release(o);
        return ahpa_error_set(err, AHPA_ETOOBIG, "store of %s holds %zu objects already",
                              inf->resource, max_items);
    }
    if (old == NULL && inf->o.on_add)
        inf->o.on_add(o, inf->o.ud);
    else if (old != NULL && inf->o.on_update)
        inf->o.on_update(old, o, inf->o.ud);
    ahpa_kube_obj_release(old);
    ahpa_kube_obj_release(o);
    return 0;
}

static int apply_delete(struct ahpa_kube_informer *inf, json_t *json, struct ahpa_error *err)
{
    struct ahpa_kube_obj *o;
    int rc = new_obj(inf, json, &o, err);
    if (rc != 0)
        return rc;
    pthread_rwlock_wrlock(&inf->lock);
    struct ahpa_kube_obj *old = ahpa_kube__map_del(&inf->store, o->key);
    pthread_rwlock_unlock(&inf->lock);
    if (old != NULL && inf->o.on_delete) /* unknown objects: nothing to tell */
        inf->o.on_delete(o, inf->o.ud);
    ahpa_kube_obj_release(old);
    ahpa_kube_obj_release(o);
    return 0;
}

struct watch_ctx {
    struct ahpa_kube_informer *inf;
    struct ahpa_kube__lines lines;
    struct ahpa_buf stash; /* a Status answer instead of events */
    size_t events;
    struct ahpa_error *err;
};

static bool looks_like_status(const char *line, size_t len)
{
    json_t *j = json_loadb(line, len, 0, NULL);
    const char *k = json_string_value(json_object_get(j, "kind"));
    bool st = k != NULL && strcmp(k, "Status") == 0 && json_object_get(j, "type") == NULL;
    json_decref(j);
    return st;
}

static int on_line(const char *line, size_t len, void *ud)
{
    struct watch_ctx *w = ud;
    struct ahpa_kube_informer *inf = w->inf;
    if (atomic_load(&inf->stop))
        return 1;
    struct ahpa_kube__event ev;
    struct ahpa_error derr = {0};
    int rc = ahpa_kube__event_decode(line, len, inf->kind, &ev, &derr);
    if (rc != 0 && w->events == 0 && looks_like_status(line, len)) {
        ahpa_buf_append(&w->stash, line, len < STASH_MAX ? len : STASH_MAX);
        return 1; /* judged with the HTTP status after the transfer */
    }
    if (rc == 0 && ev.type == AHPA_KUBE_EV_ERROR)
        rc = -ev.error_code;
    else if (rc == 0 && (ev.type == AHPA_KUBE_EV_ADDED || ev.type == AHPA_KUBE_EV_MODIFIED))
        rc = apply_upsert(inf, ev.object, &derr);
    else if (rc == 0 && ev.type == AHPA_KUBE_EV_DELETED)
        rc = apply_delete(inf, ev.object, &derr);
    if (rc == 0) {
        if (strlen(ev.rv) < RV_MAX)
            set_rv(inf, ev.rv);
        w->events++;
        count(inf, &inf->stats.events);
    } else {
        ahpa_error_set(w->err, derr.code ? derr.code : -rc, "%s", derr.msg);
    }
    ahpa_kube__event_dispose(&ev);
    return rc;
}

static int on_data(const char *data, size_t len, void *ud)
{
    struct watch_ctx *w = ud;
    return ahpa_kube__lines_feed(&w->lines, data, len, on_line, w, w->err);
}

static int watch_timeout_s(struct ahpa_kube_informer *inf)
{
    if (inf->o.watch_timeout_s > 0)
        return inf->o.watch_timeout_s;
    /* client-go: [minWatchTimeout, 2 * minWatchTimeout), 5 minutes. */
    struct ahpa_kube__backoff b = inf->backoff;
    b.next_ms = 600000;
    int s = (int)(ahpa_kube__backoff_next(&b) / 1000);
    inf->backoff.rng = b.rng; /* the next watch draws anew */
    return s;
}

/* After the transfer: a non-200 answer carries a Status (stashed, or
 * still in the line buffer when it had no newline). */
static int judge(struct watch_ctx *w, long status, int rc, const char *what,
                 struct ahpa_error *err)
{
    if (status != 0 && status != 200) {
        const struct ahpa_buf *b = w->stash.len ? &w->stash : &w->lines.line;
        struct ahpa_error serr = {0};
        rc = ahpa_kube_status_error(status, b->data, b->len, what, NULL, 0, &serr);
        ahpa_error_clear(err);
        return ahpa_error_set(err, serr.code, "%s", serr.msg);
    }
    if (rc == 0 && w->stash.len > 0)
        return ahpa_error_set(err, AHPA_EUPSTREAM, "%s: a Status instead of events", what);
    return rc;
}

static int watch_once(struct ahpa_kube_informer *inf, size_t *events, struct ahpa_error *err)
{
    char rv[RV_MAX], timeout[16];
    ahpa_kube_informer_resource_version(inf, rv, sizeof(rv));
    int tmo = watch_timeout_s(inf);
    snprintf(timeout, sizeof(timeout), "%d", tmo);
    struct ahpa_httpc_param p[6] = {{"watch", "true"}, {"resourceVersion", rv},
                                    {"allowWatchBookmarks", "true"}, {"timeoutSeconds", timeout}};
    size_t np = 4;
    if (inf->label_selector)
        p[np++] = (struct ahpa_httpc_param){"labelSelector", inf->label_selector};
    if (inf->field_selector)
        p[np++] = (struct ahpa_httpc_param){"fieldSelector", inf->field_selector};
    struct ahpa_buf path;
    ahpa_buf_init(&path);
    ahpa_kube_path(&inf->res, inf->ns, NULL, NULL, &path, NULL);
    struct watch_ctx w = {.inf = inf, .err = err};
    ahpa_kube__lines_init(&w.lines, inf->o.max_line_bytes);
    ahpa_buf_init(&w.stash);
    static const char *const accept[] = {"Accept: application/json"};
    struct ahpa_httpc_request req = {
        .method = AHPA_HTTPC_GET, .path = ahpa_buf_cstr(&path), .params = p, .n_params = np,
        .headers = accept, .n_headers = 1, .on_data = on_data, .on_data_ud = &w,
        .idle_timeout_ms = inf->o.idle_timeout_ms > 0 ? inf->o.idle_timeout_ms
                                                      : (int64_t)(tmo + 60) * 1000};
    struct ahpa_httpc_response resp;
    ahpa_httpc_response_init(&resp);
    count(inf, &inf->stats.watches);
    int rc = ahpa_kube__do(inf->c, inf->h, &inf->stop, &req, &resp, err);
    char what[300];
    snprintf(what, sizeof(what), "WATCH %.280s", ahpa_buf_cstr(&path));
    rc = judge(&w, resp.status, rc, what, err);
    *events = w.events;
    ahpa_httpc_response_dispose(&resp);
    ahpa_kube__lines_dispose(&w.lines);
    ahpa_buf_dispose(&w.stash);
    ahpa_buf_dispose(&path);
    return rc;
}

/* ---- the loop ----------------------------------------------------- */

static void backoff_after(struct ahpa_kube_informer *inf, const char *what, int rc,
                          const struct ahpa_error *err)
{
    count(inf, &inf->stats.errors);
    int64_t d = ahpa_kube__backoff_next(&inf->backoff);
    if (!atomic_load(&inf->stop))
        AHPA_LOG_WARN_REPEAT("kube informer failed", ahpa_strerror(rc), "%s %s: %s; retry in %lld ms",
                             what, inf->resource, ahpa_error_message(err, rc), (long long)d);
    sleep_unless_stopped(inf, d);
}

static void *informer_main(void *arg)
{
    struct ahpa_kube_informer *inf = arg;
    bool need_list = true;
    while (!atomic_load(&inf->stop)) {
        struct ahpa_error err = {0};
        bool just_listed = need_list;
        if (need_list) {
            int rc = relist(inf, &err);
            if (rc != 0) {
                backoff_after(inf, "list", rc, &err);
                continue;
            }
            need_list = false;
        }
        size_t events = 0;
        int64_t t0 = ahpa_kube__now_ns();
        int rc = watch_once(inf, &events, &err);
        if (atomic_load(&inf->stop))
            break;
        if (events > 0)
            ahpa_kube__backoff_reset(&inf->backoff);
        if (rc == -AHPA_EGONE) {
            count(inf, &inf->stats.gone);
            AHPA_LOG_V(2, "kube informer %s: resourceVersion expired, relisting", inf->resource);
            need_list = true;
            /* Gone again right after a fresh list: the server is confused;
             * do not spin between the two. */
            if (just_listed && events == 0)
                backoff_after(inf, "watch after list", rc, &err);
        } else if (rc != 0) {
            backoff_after(inf, "watch", rc, &err);
        } else if (events == 0 && ahpa_kube__now_ns() - t0 < SHORT_WATCH_NS) {
            struct ahpa_error e2 = {0};
            ahpa_error_set(&e2, AHPA_EUPSTREAM, "watch closed at once without events");
            backoff_after(inf, "watch", -AHPA_EUPSTREAM, &e2);
        }
    }
    return NULL;
}

int ahpa_kube_informer_start(struct ahpa_kube_informer *inf, struct ahpa_error *err)
{
    if (inf == NULL || inf->started || atomic_load(&inf->stop))
        return ahpa_error_set(err, AHPA_EINVAL, "informer missing, already started or stopped "
                                                "(a stopped informer does not restart)");
    if (pthread_create(&inf->thread, NULL, informer_main, inf) != 0)
        return ahpa_error_set(err, AHPA_EINTERNAL, "cannot start the informer thread");
    inf->started = true;
    return 0;
}

void ahpa_kube_informer_stop(struct ahpa_kube_informer *inf)
{
    if (inf == NULL)
        return;
    pthread_mutex_lock(&inf->mu);
    atomic_store(&inf->stop, true);
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
    if (inf->h != NULL)
        ahpa_httpc_client_cancel(inf->h);
    if (inf->started) {
        pthread_join(inf->thread, NULL);
        inf->started = false;
    }
}

void ahpa_kube_informer_free(struct ahpa_kube_informer *inf)
{
    if (inf == NULL)
        return;
    ahpa_kube_informer_stop(inf);
    ahpa_httpc_client_free(inf->h);
    ahpa_kube__map_dispose(&inf->store);
    pthread_rwlock_destroy(&inf->lock);
    pthread_mutex_destroy(&inf->mu);
    pthread_cond_destroy(&inf->cv);
    free(inf->group);
    free(inf->version);
    free(inf->resource);
    free(inf->kind);
    free(inf->ns);
    free(inf->label_selector);
    free(inf->field_selector);
    free(inf);
}

/* ---- readers ------------------------------------------------------ */

bool ahpa_kube_informer_has_synced(struct ahpa_kube_informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

bool ahpa_kube_informer_wait_synced(struct ahpa_kube_informer *inf, int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (timeout_ms % 1000) * 1000000LL;
    ts.tv_sec += (time_t)(timeout_ms / 1000 + ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    pthread_mutex_lock(&inf->mu);
    while (!inf->synced && !atomic_load(&inf->stop))
        if (pthread_cond_timedwait(&inf->cv, &inf->mu, &ts) != 0)
            break;
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

void ahpa_kube_informer_resource_version(struct ahpa_kube_informer *inf, char *buf, size_t n)
{
    pthread_mutex_lock(&inf->mu);
    ahpa_strlcpy(buf, inf->rv, n);
    pthread_mutex_unlock(&inf->mu);
}

void ahpa_kube_informer_stats(struct ahpa_kube_informer *inf,
                              struct ahpa_kube_informer_stats *out)
{
    pthread_mutex_lock(&inf->mu);
    *out = inf->stats;
    pthread_mutex_unlock(&inf->mu);
}

struct ahpa_kube_obj *ahpa_kube_informer_get(struct ahpa_kube_informer *inf, const char *ns,
                                             const char *name)
{
    if (name == NULL)
        return NULL;
    struct ahpa_buf key;
    ahpa_buf_init(&key);
    if (ns != NULL && ns[0] != '\0')
        ahpa_buf_printf(&key, "%s/", ns);
    ahpa_buf_puts(&key, name);
    pthread_rwlock_rdlock(&inf->lock);
    struct ahpa_kube_obj *o = ahpa_kube_obj_retain(ahpa_kube__map_get(&inf->store,
                                                                      ahpa_buf_cstr(&key)));
    pthread_rwlock_unlock(&inf->lock);
    ahpa_buf_dispose(&key);
    return o;
}

static int by_key(const void *a, const void *b)
{
    const struct ahpa_kube_obj *x = *(const struct ahpa_kube_obj *const *)a;
    const struct ahpa_kube_obj *y = *(const struct ahpa_kube_obj *const *)b;
    return strcmp(x->key, y->key);
}

size_t ahpa_kube_informer_list(struct ahpa_kube_informer *inf, struct ahpa_kube_obj ***out)
{
    pthread_rwlock_rdlock(&inf->lock);
    size_t n = 0;
    struct ahpa_kube_obj **v = ahpa_calloc(inf->store.count + 1, sizeof(*v));
    for (size_t s = 0; s < inf->store.nslots; s++)
        if (inf->store.slots[s] != NULL)
            v[n++] = ahpa_kube_obj_retain(inf->store.slots[s]);
    pthread_rwlock_unlock(&inf->lock);
    qsort(v, n, sizeof(*v), by_key);
    *out = v;
    return n;
}

size_t ahpa_kube_informer_count(struct ahpa_kube_informer *inf)
{
    pthread_rwlock_rdlock(&inf->lock);
    size_t n = inf->store.count;
    pthread_rwlock_unlock(&inf->lock);
    return n;
}
