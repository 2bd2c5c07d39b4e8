/* A Kubernetes API client: configuration, REST requests, informers.
 *
 * Configuration comes from one of three places, chosen as client-go's
 * BuildConfigFromFlags chooses: with neither --kubeconfig nor --master the
 * in-cluster service account (KUBERNETES_SERVICE_HOST/_PORT, the token,
 * CA and namespace files); otherwise the kubeconfig file's current context
 * (or the one named), with --master overriding its server.
 *
 * Requests go through one lib/httpc client and a token-bucket limiter
 * shared by every request of the client, watches included (as client-go
 * throttles them). Kubernetes Status answers become -AHPA_E* codes:
 *   NotFound 404 -> ENOTFOUND       Conflict 409 -> ECONFLICT
 *   AlreadyExists 409 -> EEXIST     Expired/Gone 410 -> EGONE
 *   Unauthorized 401 -> EUNAUTHORIZED  Forbidden 403 -> EFORBIDDEN
 *   Invalid/BadRequest 400,422 -> EINVAL  TooManyRequests 429 -> EUNAVAIL
 *   Timeout 504 -> ETIMEDOUT        other -> EUPSTREAM
 * and the error message is one line: "<VERB> <path>: <http> <Reason>:
 * <message>" (the server's message, control characters replaced, cut).
 *
 * Ownership follows jansson's convention where json_t crosses the API:
 * request bodies are borrowed, results (`**out`) are new references the
 * caller json_decref()s.
 *
 * Threads: a client may be used from many threads at once. Informers run
 * one thread each. */
#ifndef AHPA_KUBE_H
#define AHPA_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahpa/refcount.h"

struct ahpa_buf;
struct ahpa_error;
struct ahpa_labelsel;
struct json_t;

/* Defaults of kube-controller-manager's --kube-api-qps / --kube-api-burst
 * (component-base's client-go defaults are 5/10, too low for a controller
 * that writes the status of every AHPA; the scheduler's 50/100 is for a
 * far busier component). */
#define AHPA_KUBE_DEFAULT_QPS 20.0
#define AHPA_KUBE_DEFAULT_BURST 30
#define AHPA_KUBE_DEFAULT_TIMEOUT_MS 30000
#define AHPA_KUBE_DEFAULT_PAGE_LIMIT 500
/* A list, over all its pages, never holds more objects than this. */
#define AHPA_KUBE_DEFAULT_MAX_ITEMS 200000
/* A kubeconfig file larger than this is refused. */
#define AHPA_KUBE_KUBECONFIG_MAX_BYTES (1024 * 1024)
/* One watch event (one line of the stream) may not exceed this. */
#define AHPA_KUBE_WATCH_LINE_MAX (4u * 1024u * 1024u)
#define AHPA_KUBE_INCLUSTER_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* What the flags give. All pointers borrowed for ahpa_kube_config_load(). */
struct ahpa_kube_options {
    const char *kubeconfig; /* --kubeconfig FILE, NULL = none */
    const char *master;     /* --master URL, overrides the kubeconfig's server */
    const char *context;    /* context name; NULL = current-context */
    double qps;             /* --kube-api-qps; 0 = default, < 0 = no limit */
    int burst;              /* --kube-api-burst; 0 = default */
    int64_t timeout_ms;     /* per request (not watches); 0 = default */
    /* insecure-skip-tls-verify in a kubeconfig is refused unless this is
     * set (then it is used with a warning). */
    bool allow_insecure;
    /* For tests: the service-account directory (token, ca.crt, namespace)
     * and the environment lookup; NULL = AHPA_KUBE_INCLUSTER_DIR, getenv. */
    const char *incluster_dir;
    const char *(*getenv_fn)(const char *name);
    const char *user_agent; /* NULL = "ahpa-metrics-adapter" */
};

/* A resolved configuration: where to connect and how to authenticate.
 * Inline kubeconfig data (certificate-authority-data, ...) is written to
 * private 0600 temporary files, removed by ahpa_kube_config_free(). */
struct ahpa_kube_config {
    char *server;     /* "https://host:port[/prefix]" */
    char *ca_file;    /* NULL = system trust store */
    char *cert_file;  /* client certificate, with key_file, or NULL */
    char *key_file;
    char *token_file; /* re-read when it changes (rotation), or NULL */
    char *token;      /* literal bearer token, or NULL */
    char *namespace;  /* the in-cluster or context namespace, or NULL */
    bool insecure;    /* skip server verification (allowed explicitly) */
    bool in_cluster;
    char *temp_files[3]; /* written from inline data; deleted on free */
};

/* Resolves `o` into `*out` (caller frees with ahpa_kube_config_free()).
 * -AHPA_ECONFIG with the reason: no configuration at all, unreadable or
 * bad kubeconfig, missing context/cluster/user, unsupported auth (exec,
 * auth-provider, basic), refused insecure-skip-tls-verify. */
int ahpa_kube_config_load(const struct ahpa_kube_options *o, struct ahpa_kube_config **out,
                          struct ahpa_error *err);
/* The same for kubeconfig text already in memory; relative paths in it
 * are taken relative to `base_dir` (NULL = the working directory). `o`
 * may be NULL (defaults); its kubeconfig field is not used. */
int ahpa_kube_config_parse(const char *text, size_t len, const char *base_dir,
                           const struct ahpa_kube_options *o, struct ahpa_kube_config **out,
                           struct ahpa_error *err);
void ahpa_kube_config_free(struct ahpa_kube_config *c);

/* A resource type. Strings borrowed; a static table is typical:
 * {"autoscaling.alibabacloud.com", "v1beta1", "advancedhorizontalpodautoscalers",
 *  "AdvancedHorizontalPodAutoscaler", true}. group "" is the core group. */
struct ahpa_kube_resource {
    const char *group;
    const char *version;
    const char *resource; /* plural, lower case */
    const char *kind;     /* expected kind of the objects; NULL = do not check */
    bool namespaced;
};

struct ahpa_kube_client;

/* Copies what it keeps from `cfg` and `o` (o may be NULL: defaults).
 * Caller frees with ahpa_kube_client_free(). */
struct ahpa_kube_client *ahpa_kube_client_new(const struct ahpa_kube_config *cfg,
                                              const struct ahpa_kube_options *o,
                                              struct ahpa_error *err);
/* No request may be in flight and every informer must be freed first.
 * NULL is a no-op. */
void ahpa_kube_client_free(struct ahpa_kube_client *c);
/* Fails in-flight and future requests with -AHPA_EUNAVAIL (shutdown).
 * Irreversible; safe from any thread. */
void ahpa_kube_client_cancel(struct ahpa_kube_client *c);
/* Requests sent so far (for metrics and tests). */
uint64_t ahpa_kube_client_requests(struct ahpa_kube_client *c);

/* The collection path ("/apis/g/v/namespaces/ns/res"), with name and
 * subresource appended when given; ns NULL or "" = all namespaces (or a
 * cluster-scoped resource). Appends to `out` (a struct ahpa_buf). Names
 * are checked (no '/', '?', '%', "..") -> -AHPA_EINVAL. */
int ahpa_kube_path(const struct ahpa_kube_resource *r, const char *ns, const char *name,
                   const char *subresource, struct ahpa_buf *out, struct ahpa_error *err);

/* GET one object, or a subresource of it ("status", "scale"; NULL = the
 * object). *out: new reference. */
int ahpa_kube_get(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                  const char *ns, const char *name, const char *subresource,
                  struct json_t **out, struct ahpa_error *err);

struct ahpa_kube_list_options {
    const char *label_selector; /* NULL = all */
    const char *field_selector; /* NULL = all */
    size_t page_limit;          /* "limit" per page; 0 = default */
    size_t max_items;           /* over all pages; 0 = default; more -> ETOOBIG */
};

/* Lists every page (limit/continue) into one List object:
 * {"kind": "<Kind>List", "metadata": {"resourceVersion": <the first page's>},
 *  "items": [...]}. A continue token that expires between pages (410)
 * returns -AHPA_EGONE; the caller restarts. *out: new reference. */
int ahpa_kube_list(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                   const char *ns, const struct ahpa_kube_list_options *lo,
                   struct json_t **out, struct ahpa_error *err);

/* POST. body borrowed; *out (may be NULL to discard): the created object. */
int ahpa_kube_create(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                     const char *ns, const struct json_t *body, struct json_t **out,
                     struct ahpa_error *err);
/* PUT the object (or its subresource); body must carry
 * metadata.resourceVersion for optimistic concurrency (409 -> ECONFLICT). */
int ahpa_kube_update(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                     const char *ns, const char *name, const char *subresource,
                     const struct json_t *body, struct json_t **out, struct ahpa_error *err);
/* PATCH with application/merge-patch+json (RFC 7386). */
int ahpa_kube_patch(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                    const char *ns, const char *name, const char *subresource,
                    const struct json_t *patch, struct json_t **out, struct ahpa_error *err);
/* DELETE; a 404 is -AHPA_ENOTFOUND (callers that do not care ignore it). */
int ahpa_kube_delete(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                     const char *ns, const char *name, struct ahpa_error *err);

/* Turns a non-2xx answer into an error: parses a Status body if there is
 * one (reason, message, code), else uses the HTTP status. Returns the
 * negative code; `reason` (may be NULL, size `n`) receives the Status
 * reason or "". Exposed for tests and for callers of raw requests. */
int ahpa_kube_status_error(long http_status, const char *body, size_t len, const char *what,
                           char *reason, size_t n, struct ahpa_error *err);

/* ---- Informers ---------------------------------------------------- */

/* One object of an informer's store: immutable, reference counted, safe
 * to read from any thread while a reference is held. `json` is read-only:
 * never modify it, nor json_incref/json_decref it (its life is the
 * object's; deep-copy what must outlive the reference). It is NULL in the
 * store of an informer with a `make` function: the object is then the
 * first member of that module's own compact form. */
struct ahpa_kube_obj {
    struct ahpa_ref ref; /* release with ahpa_kube_obj_release() */
    struct json_t *json;
    const char *ns;   /* "" for cluster-scoped objects */
    const char *name;
    const char *resource_version;
    const char *key; /* "ns/name" or "name" */
};

struct ahpa_kube_obj *ahpa_kube_obj_retain(struct ahpa_kube_obj *o);
void ahpa_kube_obj_release(struct ahpa_kube_obj *o); /* NULL is a no-op */

/* Callbacks run on the informer's thread, one at a time, in event order,
 * with no lock held; the objects are borrowed for the call (retain to
 * keep). The store already holds the new state when they run. A slow
 * callback delays the informer, not its readers. */
typedef void (*ahpa_kube_add_fn)(const struct ahpa_kube_obj *obj, void *ud);
typedef void (*ahpa_kube_update_fn)(const struct ahpa_kube_obj *old_obj,
                                    const struct ahpa_kube_obj *new_obj, void *ud);
/* obj: the last state known; after a relist, the state before the
 * disconnection (the deletion itself was not seen). */
typedef void (*ahpa_kube_delete_fn)(const struct ahpa_kube_obj *obj, void *ud);

struct ahpa_kube_informer_options {
    struct ahpa_kube_resource resource; /* strings borrowed until _new returns */
    const char *ns;             /* NULL or "" = all namespaces */
    const char *label_selector; /* NULL = all; copied */
    const char *field_selector; /* NULL = all; copied */
    size_t page_limit;          /* 0 = AHPA_KUBE_DEFAULT_PAGE_LIMIT */
    size_t max_items;           /* store bound; 0 = AHPA_KUBE_DEFAULT_MAX_ITEMS */
    size_t max_line_bytes;      /* 0 = AHPA_KUBE_WATCH_LINE_MAX */
    /* Server-side watch timeout; 0 = random in [300, 600) s as client-go. */
    int watch_timeout_s;
    /* A stream silent for this long (no byte at all) is restarted;
     * 0 = the watch timeout + 60 s. */
    int64_t idle_timeout_ms;
    int64_t backoff_initial_ms; /* 0 = 800 (client-go's reflector) */
    int64_t backoff_max_ms;     /* 0 = 30000 */
    uint64_t seed;              /* jitter seed; 0 = from the clock */
    /* Instead of JSON, the store keeps what this builds from each object
     * (listed or watched; borrowed, whole), called with `ud`: a new object
     * (reference count 1, its own destroy in `ref`, which may run on any
     * thread that drops the last reference) with ns, name,
     * resource_version and key set as ahpa_kube_obj describes them and
     * `json` NULL; NULL when the object is unusable. Runs on the
     * informer's thread, once per object, before anything is stored.
     * NULL = the whole JSON objects. */
    struct ahpa_kube_obj *(*make)(const struct json_t *obj, void *ud);
    ahpa_kube_add_fn on_add;       /* each may be NULL */
    ahpa_kube_update_fn on_update; /* also called when only the RV changed */
    ahpa_kube_delete_fn on_delete;
    void *ud;
};

struct ahpa_kube_informer;

/* Creates the informer (not started). The client is borrowed and must
 * outlive the informer; the informer opens its own connection for its
 * watch so that stopping it cancels only its stream. Caller frees with
 * ahpa_kube_informer_free(). */
struct ahpa_kube_informer *ahpa_kube_informer_new(struct ahpa_kube_client *c,
                                                  const struct ahpa_kube_informer_options *o,
                                                  struct ahpa_error *err);
/* Starts the list/watch thread. -AHPA_EINVAL if already started. */
int ahpa_kube_informer_start(struct ahpa_kube_informer *inf, struct ahpa_error *err);
/* Stops the thread and waits for it: cancels the blocking stream, wakes a
 * backoff sleep; returns within about 100 ms. No callback runs after it
 * returns. Idempotent. */
void ahpa_kube_informer_stop(struct ahpa_kube_informer *inf);
/* Stops it if running. NULL is a no-op. */
void ahpa_kube_informer_free(struct ahpa_kube_informer *inf);

/* True once the first full list is in the store (stays true across
 * relists). */
bool ahpa_kube_informer_has_synced(struct ahpa_kube_informer *inf);
/* Waits up to timeout_ms for has_synced; returns it. */
bool ahpa_kube_informer_wait_synced(struct ahpa_kube_informer *inf, int64_t timeout_ms);
/* The resourceVersion the informer would resume from ("" before the first
 * list); copied into buf of size n. */
void ahpa_kube_informer_resource_version(struct ahpa_kube_informer *inf, char *buf, size_t n);

struct ahpa_kube_informer_stats {
    uint64_t lists;    /* full relists (the first included) */
    uint64_t watches;  /* watch requests started */
    uint64_t gone;     /* 410 answers or ERROR 410 events */
    uint64_t errors;   /* failed requests, broken or bad streams */
    uint64_t events;   /* watch events applied (bookmarks included) */
};
void ahpa_kube_informer_stats(struct ahpa_kube_informer *inf,
                              struct ahpa_kube_informer_stats *out);

/* Store reads, safe from any thread at any time (a rwlock: readers share
 * it and hold it only to copy pointers and take references).
 * get: a new reference, or NULL. ns NULL or "" for cluster-scoped. */
struct ahpa_kube_obj *ahpa_kube_informer_get(struct ahpa_kube_informer *inf, const char *ns,
                                             const char *name);
/* A consistent snapshot: *out (caller frees with ahpa_kube_objs_free())
 * holds one reference per object, sorted by key. Returns the count. */
size_t ahpa_kube_informer_list(struct ahpa_kube_informer *inf, struct ahpa_kube_obj ***out);
void ahpa_kube_objs_free(struct ahpa_kube_obj **objs, size_t n);
size_t ahpa_kube_informer_count(struct ahpa_kube_informer *inf);

/* ---- The pod cache -------------------------------------------------- */

/* One informer over /api/v1/pods (all namespaces, or one), shared by the
 * controller (the pods of each scale target) and the custom metrics API
 * (pods by labelSelector). Memory-bounded: each pod is kept, from the
 * moment it arrives (list pages included), as one small allocation of its
 * own (name, namespace, resourceVersion, phase, the Ready condition) and a
 * reference to an interned "shape" shared by the pods of one workload (the
 * labels, packed, and the controlling owner "Kind/name"); no JSON. Pods
 * are indexed by namespace. Readers never wait on the network: they read
 * the index under its read lock (held to walk one namespace and copy
 * names) and never block on the informer's requests. */
struct ahpa_kube_pods;

struct ahpa_kube_pods_options {
    const char *ns;         /* NULL or "" = all namespaces (--watch-namespace) */
    size_t max_items;       /* pods kept at most; 0 = AHPA_KUBE_DEFAULT_MAX_ITEMS */
    int watch_timeout_s;    /* for tests; 0 = default */
    int64_t backoff_initial_ms; /* for tests; 0 = default */
};

/* Not started. The client is borrowed and outlives the cache. o may be
 * NULL (defaults). Caller frees with ahpa_kube_pods_free(). */
struct ahpa_kube_pods *ahpa_kube_pods_new(struct ahpa_kube_client *c,
                                          const struct ahpa_kube_pods_options *o,
                                          struct ahpa_error *err);
int ahpa_kube_pods_start(struct ahpa_kube_pods *p, struct ahpa_error *err);
/* Stops the informer (idempotent); readers keep reading the last state. */
void ahpa_kube_pods_stop(struct ahpa_kube_pods *p);
/* Stops it if running. NULL is a no-op. */
void ahpa_kube_pods_free(struct ahpa_kube_pods *p);
/* The underlying informer: has_synced, stats, count (borrowed). */
struct ahpa_kube_informer *ahpa_kube_pods_informer(struct ahpa_kube_pods *p);

/* Leave out pods in phase Succeeded or Failed (finished, evicted). */
#define AHPA_KUBE_PODS_SKIP_TERMINAL 1u

/* The names of the pods of namespace `ns` (required) that `sel` selects
 * (NULL or empty: all), sorted (strcmp), as a heap array of heap strings
 * (free with ahpa_kube_pods_names_free()). -AHPA_EUNAVAIL before the
 * first list is in ("pods not listed yet": unknown, not "no pods"). Safe
 * from any thread; never makes a request. */
int ahpa_kube_pods_select(struct ahpa_kube_pods *p, const char *ns,
                          const struct ahpa_labelsel *sel, unsigned flags, char ***names,
                          size_t *n, struct ahpa_error *err);
/* 1 when the pod exists, 0 when not, -AHPA_EUNAVAIL before the first list. */
int ahpa_kube_pods_exists(struct ahpa_kube_pods *p, const char *ns, const char *name,
                          struct ahpa_error *err);
void ahpa_kube_pods_names_free(char **names, size_t n);
/* Appends ahpa_pod_informer_{pods,synced} gauges and _{lists,watches,
 * gone,errors}_total counters (Prometheus text); fits
 * ahpa_server_add_collector (ctx is the cache). */
void ahpa_kube_pods_collect(void *pods, struct ahpa_buf *out);

#endif
