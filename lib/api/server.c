/* struct ahpa_server: lifecycle and request routing. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ahpa/arena.h"
#include "ahpa/buf.h"
#include "ahpa/config.h"
#include "ahpa/error.h"
#include "ahpa/httpd.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "api_int.h"

#define MAX_PATH_BYTES 4096
#define MAX_SEGMENTS 16

/* --- routing -------------------------------------------------------------- */

/* Splits "/a/b/c" into segments in the request arena. A trailing slash is
 * ignored; empty inner segments ("//") make the path invalid. */
static int split_path(struct ahpa_httpd_request *req, const char **seg, size_t *n)
{
    const char *p = req->path;
    *n = 0;
    if (*p != '/')
        return -1;
    while (*p == '/' && p[1] != '\0') {
        p++;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || *n == MAX_SEGMENTS)
            return -1;
        seg[(*n)++] = ahpa_arena_strndup(req->arena, p, len);
        p += len;
    }
    return 0;
}

static void serve_root(struct ahpa_server *s, struct ahpa_httpd_request *req,
                       struct ahpa_httpd_response *resp)
{
    json_t *paths = json_array();
    static const char *const fixed[] = {"/apis", "/healthz", "/livez", "/metrics",
                                        "/openapi/v2", "/openapi/v3", "/readyz", "/version"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        json_array_append_new(paths, json_string(fixed[i]));
    for (int gi = 0; gi < AHPA_API_NGROUPS; gi++) {
        const struct ahpa_api__group *g = &s->groups[gi];
        if (!g->enabled)
            continue;
        char p[160];
        snprintf(p, sizeof(p), "/apis/%s", g->name);
        json_array_append_new(paths, json_string(p));
        for (int v = 0; v < g->nversions; v++) {
            snprintf(p, sizeof(p), "/apis/%s/%s", g->name, g->versions[v]);
            json_array_append_new(paths, json_string(p));
        }
    }
    json_t *doc = json_pack("{s:o}", "paths", paths);
    ahpa_api__json_body(req, resp, doc);
    json_decref(doc);
}

static void serve_health_route(struct ahpa_server *s, const char **seg, size_t n,
                               struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp)
{
    static const struct {
        const char *name;
        unsigned mask;
        enum ahpa_api_route route;
    } endpoints[] = {{"healthz", AHPA_CHECK_HEALTHZ, AHPA_API_ROUTE_HEALTHZ},
                     {"livez", AHPA_CHECK_LIVEZ, AHPA_API_ROUTE_LIVEZ},
                     {"readyz", AHPA_CHECK_READYZ, AHPA_API_ROUTE_READYZ}};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(seg[0], endpoints[i].name) == 0) {
            resp->route = ahpa_api__route_names[endpoints[i].route];
            ahpa_api__serve_health(s, endpoints[i].mask, endpoints[i].name,
                                   n == 2 ? seg[1] : NULL, req, resp);
            return;
        }
    }
}

/* ?watch as kube-apiserver reads it: present and neither "0" nor "false"
 * (any case), so `?watch`, `watch=1` and `watch=true` all ask for a watch. */
static bool watch_requested(const struct ahpa_httpd_request *req)
{
    if (!ahpa_httpd_request_has_query(req, "watch"))
        return false;
    const char *v = ahpa_httpd_request_query(req, "watch");
    return v == NULL || (strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0);
}

/* Nothing here supports watch: a plain answer to a watch request would be
 * read as an event stream and fail to decode, so answer what kube-apiserver
 * does for a resource without the verb. */
static void refuse_watch(const struct ahpa_api__group *g, const char *const *rest, size_t n,
                         struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp)
{
    const char *resource = n >= 3 && strcmp(rest[0], "namespaces") == 0 ? rest[2] : rest[0];
    char msg[256];
    snprintf(msg, sizeof(msg), "watch is not supported on resources of kind \"%.100s.%s\"",
             resource, g->name);
    ahpa_httpd_response_header(req, resp, "Allow", "GET, HEAD");
    ahpa_api_status(resp, 405, msg);
}

static void serve_apis_route(struct ahpa_server *s, const char **seg, size_t n,
                             struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp)
{
    if (n == 1) {
        resp->route = ahpa_api__route_names[AHPA_API_ROUTE_APIS];
        ahpa_api__serve_apis(s, req, resp);
        return;
    }
    int gi = ahpa_api__group_index(s, seg[1]);
    if (gi < 0) {
        resp->route = ahpa_api__route_names[AHPA_API_ROUTE_GROUP];
        ahpa_api_status(resp, 404, "the server could not find the requested resource");
        return;
    }
    struct ahpa_api__group *g = &s->groups[gi];
    if (n == 2) {
        resp->route = ahpa_api__route_names[AHPA_API_ROUTE_GROUP];
        ahpa_api__serve_group(s, gi, req, resp);
        return;
    }
    int vi = ahpa_api__version_index(g, seg[2]);
    if (vi < 0) {
        resp->route = ahpa_api__route_names[AHPA_API_ROUTE_GROUP_VERSION];
        ahpa_api_status(resp, 404, "the server could not find the requested resource");
        return;
    }
    if (n == 3) {
        resp->route = ahpa_api__route_names[AHPA_API_ROUTE_GROUP_VERSION];
        ahpa_api__serve_group_version(s, gi, vi, req, resp);
        return;
    }
    resp->route = ahpa_api__route_names[g->route];
    if (g->handler == NULL) {
        ahpa_api_status(resp, 404, "the server could not find the requested resource");
        return;
    }
    if (watch_requested(req)) {
        refuse_watch(g, seg + 3, n - 3, req, resp);
        return;
    }
    if (ahpa_api__negotiate(ahpa_httpd_request_header(req, "Accept"), false) ==
        AHPA_ACCEPT_NONE) {
        ahpa_api_status(resp, 406, "only application/json is served");
        return;
    }
    struct ahpa_api_call call = {req, g->name, g->versions[vi], seg + 3, n - 3};
    struct ahpa_error err = {0};
    int rc = g->handler(g->handler_ctx, &call, resp, &err);
    if (rc < 0) {
        /* Each failed request is counted in apiserver_request_total{code};
         * the log gets its cause once per interval, not a line each. */
        if (ahpa_api_http_code(rc) >= 500)
            AHPA_LOG_WARN_REPEAT("request failed", ahpa_strerror(rc), "%s %.256s: %s",
                                 req->method, req->path, ahpa_error_message(&err, rc));
        ahpa_api_error(resp, rc, &err);
    }
}

static void route(struct ahpa_server *s, struct ahpa_httpd_request *req,
                  struct ahpa_httpd_response *resp)
{
    const char *seg[MAX_SEGMENTS];
    size_t n;
    if (strlen(req->path) > MAX_PATH_BYTES) {
        ahpa_api_status(resp, 400, "request path too long");
        return;
    }
    if (split_path(req, seg, &n) < 0) {
        ahpa_api_status(resp, 404, "the server could not find the requested resource");
        return;
    }
    if (n == 0) {
        serve_root(s, req, resp);
    } else if (strcmp(seg[0], "version") == 0 && n == 1) {
        resp->route = ahpa_api__route_names[AHPA_API_ROUTE_VERSION];
        ahpa_api__serve_version(req, resp);
    } else if ((strcmp(seg[0], "healthz") == 0 || strcmp(seg[0], "livez") == 0 ||
                strcmp(seg[0], "readyz") == 0) &&
               n <= 2) {
        serve_health_route(s, seg, n, req, resp);
    } else if (strcmp(seg[0], "metrics") == 0 && n == 1) {
        resp->route = ahpa_api__route_names[AHPA_API_ROUTE_METRICS];
        ahpa_api__serve_metrics(s, req, resp);
    } else if (strcmp(seg[0], "openapi") == 0) {
        ahpa_api__serve_openapi(s, seg, n, req, resp);
    } else if (strcmp(seg[0], "apis") == 0) {
        serve_apis_route(s, seg, n, req, resp);
    } else {
        resp->route = strcmp(seg[0], "api") == 0 ? ahpa_api__route_names[AHPA_API_ROUTE_API]
                                                  : ahpa_api__route_names[AHPA_API_ROUTE_OTHER];
        ahpa_api_status(resp, 404, "the server could not find the requested resource");
    }
}

static void on_request(void *ctx, struct ahpa_httpd_request *req,
                       struct ahpa_httpd_response *resp)
{
    struct ahpa_server *s = ctx;
    if (!ahpa_api__auth_stage(s, req, resp))
        return;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        ahpa_httpd_response_header(req, resp, "Allow", "GET, HEAD");
        ahpa_api_status(resp, 405, "the server does not allow this method on the requested "
                                   "resource");
        return;
    }
    route(s, req, resp);
}

static void on_reject(void *ctx, struct ahpa_httpd_request *req,
                      struct ahpa_httpd_response *resp, int status, const char *message)
{
    (void)ctx, (void)req;
    ahpa_api_status(resp, status, message);
}

static void on_done(void *ctx, const struct ahpa_httpd_request *req, const char *route_name,
                    int status, double seconds)
{
    struct ahpa_server *s = ctx;
    ahpa_api__metrics_observe(s, route_name, req->method, status, seconds);
    AHPA_LOG_V(3, "\"HTTP\" verb=\"%s\" URI=\"%.256s\" latency=\"%.3fms\" resp=%d srcIP=\"%s\"",
               req->method, req->path, seconds * 1e3, status, req->remote_addr);
}

/* --- in-flight limits ---------------------------------------------------------- */

/* Two kinds, as kube-apiserver splits its limits: "immediate" requests
 * are answered from memory on request threads; "backend" ones (metric
 * requests that miss the caches) wait on Prometheus on a worker. */
static void collect_inflight(void *ctx, struct ahpa_buf *out)
{
    struct ahpa_server *s = ctx;
    if (s->httpd == NULL) /* not serving: nothing to say */
        return;
    struct ahpa_httpd_stats st;
    ahpa_httpd_stats(s->httpd, &st);
    ahpa_buf_printf(out,
                    "# HELP ahpa_current_inflight_requests Requests being answered, by kind.\n"
                    "# TYPE ahpa_current_inflight_requests gauge\n"
                    "ahpa_current_inflight_requests{request_kind=\"immediate\"} %u\n"
                    "ahpa_current_inflight_requests{request_kind=\"backend\"} %u\n"
                    "# HELP ahpa_inflight_requests_limit Requests answered at once before "
                    "503s, by kind (0: no limit).\n"
                    "# TYPE ahpa_inflight_requests_limit gauge\n"
                    "ahpa_inflight_requests_limit{request_kind=\"immediate\"} %u\n"
                    "ahpa_inflight_requests_limit{request_kind=\"backend\"} %u\n"
                    "# HELP ahpa_dropped_requests_total Requests answered 503 at an in-flight "
                    "limit, by kind.\n"
                    "# TYPE ahpa_dropped_requests_total counter\n"
                    "ahpa_dropped_requests_total{request_kind=\"immediate\"} %llu\n"
                    "ahpa_dropped_requests_total{request_kind=\"backend\"} %llu\n"
                    "# HELP ahpa_backend_requests_total Metric requests handed to a worker "
                    "because the caches did not have the answer.\n"
                    "# TYPE ahpa_backend_requests_total counter\n"
                    "ahpa_backend_requests_total %llu\n",
                    st.inflight, st.deferred, st.max_inflight, st.max_deferred,
                    st.rejected_inflight, st.rejected_deferred, st.deferred_total);
}

/* --- lifecycle -------------------------------------------------------------- */

struct ahpa_server *ahpa_server_new(const struct ahpa_config *cfg, struct ahpa_error *err)
{
    (void)err;
    struct ahpa_server *s = ahpa_calloc(1, sizeof(*s));
    s->cfg = cfg;
    pthread_mutex_init(&s->resources_lock, NULL);
    pthread_mutex_init(&s->checks_lock, NULL);
    pthread_mutex_init(&s->cas_lock, NULL);
    ahpa_snapshot_init(&s->discovery);
    ahpa_api__metrics_init(&s->metrics);
    ahpa_api__groups_init(s);
    ahpa_api__health_init(s);
    pthread_mutex_lock(&s->resources_lock);
    ahpa_api__discovery_publish(s);
    pthread_mutex_unlock(&s->resources_lock);
    s->openapi = ahpa_api__openapi_new(s);
    s->respcache = ahpa_api__respcache_new((size_t)cfg->response_cache_max_bytes);
    ahpa_server_add_collector(s, collect_inflight, s);
    return s;
}

void ahpa_server_maintain(struct ahpa_server *s)
{
    ahpa_api__respcache_maintain(s->respcache);
}

void ahpa_server_set_handler(struct ahpa_server *s, const char *group, ahpa_api_handler_fn *fn,
                             void *ctx)
{
    int gi = ahpa_api__group_index(s, group);
    if (gi < 0)
        return;
    s->groups[gi].handler = fn;
    s->groups[gi].handler_ctx = ctx;
}

int ahpa_server_start(struct ahpa_server *s, const char *cert_pem, const char *key_pem,
                      struct ahpa_error *err)
{
    const struct ahpa_config *cfg = s->cfg;
    struct ahpa_httpd_options opt = {
        .bind_address = cfg->bind_address,
        .port = (uint16_t)cfg->secure_port,
        .threads = (unsigned)cfg->threads,
        .max_connections = (unsigned)cfg->max_connections,
        .idle_timeout_s = (unsigned)((cfg->request_timeout_ms + 999) / 1000),
        .max_body_bytes = (size_t)cfg->max_request_body_bytes,
        /* libmicrohttpd zeroes this budget on every request of a
         * keep-alive connection: its size is a per-request cost. */
        .connection_memory_bytes = (size_t)cfg->max_request_head_bytes,
        .max_inflight = (unsigned)cfg->max_requests_inflight,
        .workers = (unsigned)cfg->metric_query_workers,
        .max_deferred = (unsigned)cfg->max_metric_queries_inflight,
        /* Queued plus running stays within twice the Prometheus timeout. */
        .max_queue_wait_ms = cfg->prometheus_timeout_ms,
        .handler = on_request,
        .done = on_done,
        .reject = on_reject,
        .ctx = s,
    };
    s->httpd = ahpa_httpd_new(&opt, cert_pem, key_pem, err);
    if (s->httpd == NULL)
        return -AHPA_EIO;
    atomic_store(&s->httpd_started, s->httpd);
    ahpa_api__auth_advertise(s);
    return 0;
}

int ahpa_server_set_credentials(struct ahpa_server *s, const char *cert_pem, const char *key_pem,
                                struct ahpa_error *err)
{
    return ahpa_httpd_set_credentials(s->httpd, cert_pem, key_pem, err);
}

uint16_t ahpa_server_port(const struct ahpa_server *s)
{
    return s->httpd ? ahpa_httpd_port(s->httpd) : 0;
}

void ahpa_server_begin_shutdown(struct ahpa_server *s)
{
    atomic_store(&s->shutting_down, true);
}

unsigned ahpa_server_stop(struct ahpa_server *s, int64_t grace_ms)
{
    ahpa_server_begin_shutdown(s);
    return s->httpd ? ahpa_httpd_stop(s->httpd, grace_ms) : 0;
}

void ahpa_server_free(struct ahpa_server *s)
{
    if (s == NULL)
        return;
    ahpa_httpd_free(s->httpd);
    ahpa_api__openapi_free(s->openapi);
    ahpa_api__respcache_free(s->respcache);
    ahpa_snapshot_dispose(&s->discovery);
    ahpa_api__discovery_dispose(s);
    pthread_mutex_destroy(&s->resources_lock);
    pthread_mutex_destroy(&s->checks_lock);
    pthread_mutex_destroy(&s->cas_lock);
    free(s);
}
