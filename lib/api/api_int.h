/* Internals shared by the api files. */
#ifndef AHPA_API_INT_H
#define AHPA_API_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct ahpa_buf;
struct ahpa_labelsel;

#include "ahpa/api.h"
#include "ahpa/refcount.h"

struct ahpa_httpd;

/* Route templates: the `route` label of request metrics. */
#define AHPA_API_ROUTES(X)                                        \
    X(VERSION, "/version")                                        \
    X(HEALTHZ, "/healthz")                                        \
    X(LIVEZ, "/livez")                                            \
    X(READYZ, "/readyz")                                          \
    X(METRICS, "/metrics")                                        \
    X(OPENAPI_V2, "/openapi/v2")                                  \
    X(OPENAPI_V3, "/openapi/v3")                                  \
    X(OPENAPI_V3_GV, "/openapi/v3/apis/{group}/{version}")        \
    X(API, "/api")                                                \
    X(APIS, "/apis")                                              \
    X(GROUP, "/apis/{group}")                                     \
    X(GROUP_VERSION, "/apis/{group}/{version}")                   \
    X(CUSTOM, "/apis/custom.metrics.k8s.io/{version}/...")        \
    X(EXTERNAL, "/apis/external.metrics.k8s.io/{version}/...")    \
    X(OBSERVER, "/apis/metrics.alibabacloud.com/{version}/...")   \
    X(OTHER, "other")

enum ahpa_api_route {
#define ROUTE_ENUM_(id, tmpl) AHPA_API_ROUTE_##id,
    AHPA_API_ROUTES(ROUTE_ENUM_)
#undef ROUTE_ENUM_
    AHPA_API_ROUTE_COUNT_
};

extern const char *const ahpa_api__route_names[AHPA_API_ROUTE_COUNT_];

/* --- groups ------------------------------------------------------------ */

#define AHPA_API_MAX_VERSIONS 2

struct ahpa_api__group {
    const char *name;
    const char *versions[AHPA_API_MAX_VERSIONS]; /* preferred first */
    int nversions;
    bool enabled;
    enum ahpa_api_route route;
    ahpa_api_handler_fn *handler;
    void *handler_ctx;
};

#define AHPA_API_NGROUPS 3

/* Resources of one group-version, owned copies. */
struct ahpa_api__gv_resources {
    struct ahpa_api_resource *items;
    size_t n;
};

/* Rendered discovery documents: immutable once published. */
/* A pre-rendered document and its strong ETag: the quoted hex of the
 * text's SHA-256, so equal texts have equal tags across restarts and
 * replicas. */
struct ahpa_api__doc {
    char *text;    /* owned; NULL when absent */
    char etag[67]; /* 64 hex digits in double quotes */
};

struct ahpa_api__discovery {
    struct ahpa_ref ref;
    /* Each with its ETag, as kube-apiserver serves discovery. */
    struct ahpa_api__doc apis;                        /* APIGroupList */
    struct ahpa_api__doc apis_aggregated[2];          /* APIGroupDiscoveryList v2, v2beta1 */
    struct ahpa_api__doc group[AHPA_API_NGROUPS];     /* APIGroup; text NULL when disabled */
    struct ahpa_api__doc gv[AHPA_API_NGROUPS][AHPA_API_MAX_VERSIONS]; /* APIResourceList */
};

/* --- health ------------------------------------------------------------- */

#define AHPA_API_MAX_CHECKS 32

struct ahpa_api__check {
    char name[64];
    unsigned mask;
    ahpa_health_check_fn *fn;
    void *ctx;
};

/* --- metrics ------------------------------------------------------------ */

#define AHPA_API_NVERBS 8
#define AHPA_API_NCODES 21
#define AHPA_API_NBUCKETS 14

struct ahpa_api__metrics {
    atomic_ullong requests[AHPA_API_ROUTE_COUNT_][AHPA_API_NVERBS][AHPA_API_NCODES];
    atomic_ullong latency_buckets[AHPA_API_ROUTE_COUNT_][AHPA_API_NVERBS][AHPA_API_NBUCKETS];
    atomic_ullong latency_count[AHPA_API_ROUTE_COUNT_][AHPA_API_NVERBS];
    atomic_ullong latency_sum_ns[AHPA_API_ROUTE_COUNT_][AHPA_API_NVERBS];
    double start_time_s;
};

#define AHPA_API_MAX_COLLECTORS 16

struct ahpa_api__collector {
    ahpa_metrics_collect_fn *fn;
    void *ctx;
};

/* --- the server ---------------------------------------------------------- */

struct ahpa_api__openapi;

struct ahpa_server {
    const struct ahpa_config *cfg;
    struct ahpa_httpd *httpd;
    struct ahpa_api__group groups[AHPA_API_NGROUPS];

    pthread_mutex_t resources_lock; /* writers of the resource lists */
    struct ahpa_api__gv_resources resources[AHPA_API_NGROUPS][AHPA_API_MAX_VERSIONS];
    struct ahpa_snapshot discovery; /* struct ahpa_api__discovery */

    struct ahpa_api__openapi *openapi;

    pthread_mutex_t checks_lock;
    struct ahpa_api__check checks[AHPA_API_MAX_CHECKS];
    atomic_int nchecks;
    atomic_bool shutting_down;

    struct ahpa_provider *provider; /* NULL: no custom/external metrics */
    struct ahpa_controller *controller; /* NULL: no AHPA objects */
    struct ahpa_api__respcache *respcache; /* rendered metric answers */

    struct ahpa_api__metrics metrics;
    struct ahpa_api__collector collectors[AHPA_API_MAX_COLLECTORS];
    int ncollectors;

    struct ahpa_auth *auth;         /* NULL: no authentication stage */
    _Atomic(struct ahpa_httpd *) httpd_started; /* set once serving */
    pthread_mutex_t cas_lock;       /* installs of the client CA bundle */
};

/* authstage.c: true when the request may go on to its route; else resp
 * holds the answer (401, 403, 400, 500, 503) or the request is parked. */
bool ahpa_api__auth_stage(struct ahpa_server *s, struct ahpa_httpd_request *req,
                          struct ahpa_httpd_response *resp);
/* Installs lib/auth's current client CA bundle in the TLS server. */
void ahpa_api__auth_advertise(struct ahpa_server *s);

/* discovery.c */
void ahpa_api__groups_init(struct ahpa_server *s);
int ahpa_api__group_index(const struct ahpa_server *s, const char *name);
int ahpa_api__version_index(const struct ahpa_api__group *g, const char *version);
void ahpa_api__discovery_publish(struct ahpa_server *s);
void ahpa_api__discovery_dispose(struct ahpa_server *s);

/* Which representation the client accepts (Accept header). */
enum ahpa_api_accept {
    AHPA_ACCEPT_NONE,         /* nothing we can produce: 406 */
    AHPA_ACCEPT_JSON,
    AHPA_ACCEPT_DISCOVERY_V2,
    AHPA_ACCEPT_DISCOVERY_V2BETA1,
};
enum ahpa_api_accept ahpa_api__negotiate(const char *accept, bool discovery_ok);

void ahpa_api__serve_apis(struct ahpa_server *s, struct ahpa_httpd_request *req,
                          struct ahpa_httpd_response *resp);
void ahpa_api__serve_group(struct ahpa_server *s, int gi, struct ahpa_httpd_request *req,
                           struct ahpa_httpd_response *resp);
void ahpa_api__serve_group_version(struct ahpa_server *s, int gi, int vi,
                                   struct ahpa_httpd_request *req,
                                   struct ahpa_httpd_response *resp);

/* health.c */
void ahpa_api__serve_health(struct ahpa_server *s, unsigned endpoint, const char *endpoint_name,
                            const char *check, struct ahpa_httpd_request *req,
                            struct ahpa_httpd_response *resp);
void ahpa_api__health_init(struct ahpa_server *s);

/* metrics.c */
void ahpa_api__metrics_init(struct ahpa_api__metrics *m);
void ahpa_api__metrics_observe(struct ahpa_server *s, const char *route, const char *method,
                               int status, double seconds);
void ahpa_api__serve_metrics(struct ahpa_server *s, struct ahpa_httpd_request *req,
                             struct ahpa_httpd_response *resp);

/* openapi.c */
struct ahpa_api__openapi *ahpa_api__openapi_new(const struct ahpa_server *s);
void ahpa_api__openapi_free(struct ahpa_api__openapi *o);
void ahpa_api__serve_openapi(struct ahpa_server *s, const char *const *segments, size_t n,
                             struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp);

/* version.c */
void ahpa_api__serve_version(struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp);

/* respcache.c */
#define AHPA_API_RESPCACHE_MAX_MS 1000
struct ahpa_api__respcache;
/* Holds at most max_bytes of heap (0: keeps nothing). */
struct ahpa_api__respcache *ahpa_api__respcache_new(size_t max_bytes);
void ahpa_api__respcache_free(struct ahpa_api__respcache *c);
/* Appends the cached body for `key` to `out` when fresh; true on a hit. */
bool ahpa_api__respcache_get(struct ahpa_api__respcache *c, const char *key,
                             struct ahpa_buf *out);
/* Keeps `body` until expires_ms (monotonic; capped at
 * AHPA_API_RESPCACHE_MAX_MS from now), evicting the least recently used
 * answers past the byte bound. */
void ahpa_api__respcache_put(struct ahpa_api__respcache *c, const char *key, const char *body,
                             size_t len, int64_t expires_ms);
/* Drops every expired answer and gives large frees back to the system;
 * from a background thread. */
void ahpa_api__respcache_maintain(struct ahpa_api__respcache *c);
void ahpa_api__respcache_collect(struct ahpa_api__respcache *c, struct ahpa_buf *out);

/* metrics_api.c / observer.c */
/* Fills the external metric `metric` from the controller's plans; returns
 * -AHPA_ENOTFOUND when it is not one of the controller's metrics. */
int ahpa_api__controller_external(struct ahpa_server *s, const struct ahpa_api_call *call,
                                  const char *ns, const char *metric,
                                  const struct ahpa_labelsel *sel, json_t *items,
                                  struct ahpa_error *err);
bool ahpa_api__is_controller_metric(const char *metric);
void ahpa_api__publish_external(struct ahpa_server *s);

/* json.c: writes a JSON document (borrowed) as the body, 200 unless set. */
void ahpa_api__json_body(struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp,
                         const json_t *doc);
/* The same without the request (`pretty`: the ?pretty parameter). */
void ahpa_api__json_answer(struct ahpa_httpd_response *resp, const json_t *doc, bool pretty);
/* A Quantity string (finite values; others become "0") and an RFC 3339
 * time, as new JSON strings. */
json_t *ahpa_api__quantity(double v);
json_t *ahpa_api__timestamp(int64_t t);
/* The external-metrics handler (provider and controller). */
int ahpa_api__external_handler(void *ctx, const struct ahpa_api_call *call,
                               struct ahpa_httpd_response *resp, struct ahpa_error *err);

/* Renders a document to a heap string (caller frees). */
char *ahpa_api__json_render(const json_t *doc);

/* json.c: documents (struct ahpa_api__doc above). Takes ownership of
 * text (may be NULL) and computes its ETag. */
void ahpa_api__doc_set(struct ahpa_api__doc *d, char *text);
void ahpa_api__doc_dispose(struct ahpa_api__doc *d);
/* Serves d (borrowed) with its ETag: 304 without a body when the
 * request's If-None-Match lists that tag (weak or strong form) or "*". */
void ahpa_api__doc_serve(const struct ahpa_api__doc *d, const char *content_type,
                         struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp);

#endif
