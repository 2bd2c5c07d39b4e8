/* The API server: routing, discovery, health, own metrics, OpenAPI and
 * Kubernetes Status errors. Owns struct ahpa_server, created in main and
 * passed to everything that needs it (there are no other mutable globals).
 *
 * Requests are answered from memory: discovery documents and OpenAPI
 * specs are rendered when their inputs change and swapped in as immutable
 * snapshots, so the APIService availability probe never waits. */
#ifndef AHPA_API_H
#define AHPA_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ahpa_buf;
struct ahpa_config;
struct ahpa_error;
struct ahpa_httpd_request;
struct ahpa_httpd_response;
struct ahpa_server;

/* The API groups this server can serve. */
#define AHPA_GROUP_CUSTOM "custom.metrics.k8s.io"
#define AHPA_GROUP_EXTERNAL "external.metrics.k8s.io"
#define AHPA_GROUP_OBSERVER "metrics.alibabacloud.com"

/* Borrows cfg (must outlive the server). Does not listen yet. Caller frees
 * with ahpa_server_free(). */
struct ahpa_server *ahpa_server_new(const struct ahpa_config *cfg, struct ahpa_error *err);
void ahpa_server_free(struct ahpa_server *s);

/* Starts listening with the given PEM credentials. */
int ahpa_server_start(struct ahpa_server *s, const char *cert_pem, const char *key_pem,
                      struct ahpa_error *err);
/* New credentials for new TLS handshakes; old ones stay on error. */
int ahpa_server_set_credentials(struct ahpa_server *s, const char *cert_pem, const char *key_pem,
                                struct ahpa_error *err);
uint16_t ahpa_server_port(const struct ahpa_server *s);
/* Periodic upkeep from a background thread (main's loop): drops expired
 * rendered answers and gives their memory back. Cheap; any interval. */
void ahpa_server_maintain(struct ahpa_server *s);
/* From now on /readyz fails (the Service stops sending traffic) while
 * requests are still served. */
void ahpa_server_begin_shutdown(struct ahpa_server *s);
/* Stops accepting, waits up to grace_ms for in-flight requests. Returns
 * how many were cut off. */
unsigned ahpa_server_stop(struct ahpa_server *s, int64_t grace_ms);

/* --- health checks --------------------------------------------------- */

enum {
    AHPA_CHECK_LIVEZ = 1,
    AHPA_CHECK_READYZ = 2,
    AHPA_CHECK_HEALTHZ = 4,
    AHPA_CHECK_ALL = 7,
};

/* Returns 0 when healthy, else a negative code and a reason in
 * reason[0..reason_size) (logged, never sent to clients). Must be quick
 * and must not block on I/O: report the state a background loop keeps. */
typedef int ahpa_health_check_fn(void *ctx, char *reason, size_t reason_size);

/* Registers a named check on the endpoints in `mask`. `name` is copied;
 * ctx is borrowed and must outlive the server. At most 32 checks. */
int ahpa_server_add_check(struct ahpa_server *s, const char *name, unsigned mask,
                          ahpa_health_check_fn *fn, void *ctx, struct ahpa_error *err);

/* --- discovery -------------------------------------------------------- */

struct ahpa_api_resource {
    const char *name;          /* "pods/gpu_utilization", "predictionsobserver" */
    const char *singular_name; /* "" for metrics */
    bool namespaced;
    const char *kind;          /* "MetricValueList" */
    const char *const *verbs;  /* NULL-terminated: {"get", NULL} */
};

/* Replaces the resource list of one group-version (copied) and publishes
 * new discovery documents. Unknown or disabled group-versions are ignored
 * with -AHPA_ENOTFOUND. Thread-safe; readers never wait. */
int ahpa_server_set_resources(struct ahpa_server *s, const char *group, const char *version,
                              const struct ahpa_api_resource *res, size_t n,
                              struct ahpa_error *err);

/* --- resource handlers (filled by later layers) ----------------------- */

/* A parsed request below /apis/<group>/<version>/. */
struct ahpa_api_call {
    struct ahpa_httpd_request *req;
    const char *group;
    const char *version;
    const char *const *segments; /* path segments after the version */
    size_t nsegments;
};

/* Fills resp (status, body) or returns a negative code with err set, which
 * the server turns into a Status. */
typedef int ahpa_api_handler_fn(void *ctx, const struct ahpa_api_call *call,
                                struct ahpa_httpd_response *resp, struct ahpa_error *err);

/* Installs the handler for everything below one group's versions. ctx is
 * borrowed. Without one, such paths answer 404. Call before start. */
void ahpa_server_set_handler(struct ahpa_server *s, const char *group, ahpa_api_handler_fn *fn,
                             void *ctx);

/* --- metrics from the provider ----------------------------------------- */

struct ahpa_provider;

/* Serves custom.metrics.k8s.io and external.metrics.k8s.io from `p`
 * (borrowed; must outlive the server): installs their handlers, the
 * provider's /metrics collector, a "prometheus" check on /healthz and
 * /livez-free readiness (see README), and publishes p's registry in
 * discovery. Call before start. */
void ahpa_server_use_provider(struct ahpa_server *s, struct ahpa_provider *p);
/* Republishes discovery from the provider's current registry; fits the
 * provider's `changed` callback (ctx is the server). */
void ahpa_server_provider_changed(void *server);

/* --- the AHPA controller's outputs ---------------------------------------- */

struct ahpa_controller;

/* Serves the controller's plans: external metrics ahpa_desired_replicas,
 * ahpa_predicted_utilization, ahpa_proactive_replicas and
 * ahpa_reactive_replicas (labels ahpa, namespace, strategy), the
 * predictionsobserver resource, and its /metrics gauges. `c` is borrowed
 * and must outlive the server. Call before start. */
void ahpa_server_use_controller(struct ahpa_server *s, struct ahpa_controller *c);

/* --- leader election ---------------------------------------------------- */

struct ahpa_leader;

/* Exports the elector's leader_election_master_status gauge and counters
 * on /metrics and adds component-base's "leaderElection" check to /healthz
 * (fails when the elector believes it leads but has not renewed for the
 * lease duration + 20 s). `l` is borrowed and must outlive the server.
 * Call before start. */
int ahpa_server_use_leader(struct ahpa_server *s, struct ahpa_leader *l, struct ahpa_error *err);

/* --- authentication and authorization ------------------------------------ */

struct ahpa_auth;

/* Puts every request through `a` before routing: authentication (401),
 * then authorization (403), as lib/auth describes; requests that need a
 * review wait parked, never on a request thread. `a` is borrowed: it must
 * outlive the serving, and be freed after ahpa_server_stop() and before
 * ahpa_server_free() (freeing it wakes the parked requests). Also exports
 * its counters on /metrics. Call before start. */
void ahpa_server_use_auth(struct ahpa_server *s, struct ahpa_auth *a);
/* Fits ahpa_auth_options.cas_changed (server as ctx): new TLS handshakes
 * advertise the new client CA bundle. */
void ahpa_server_client_cas_changed(void *server, const char *ca_pem);

/* --- own metrics ------------------------------------------------------ */

/* Appends Prometheus text exposition (with # HELP and # TYPE lines) for
 * the metrics a layer owns. Called on each scrape of /metrics. */
typedef void ahpa_metrics_collect_fn(void *ctx, struct ahpa_buf *out);
void ahpa_server_add_collector(struct ahpa_server *s, ahpa_metrics_collect_fn *fn, void *ctx);

/* --- errors ------------------------------------------------------------ */

/* The one place errors become HTTP: fills resp with a Kubernetes Status
 * for an HTTP code (400, 401, 403, 404, 405, 406, 413, 500, 503, ...). The
 * message is one line, for the client. */
void ahpa_api_status(struct ahpa_httpd_response *resp, int http_code, const char *message);
/* Maps a negative -AHPA_E* code to its HTTP code and Status. Backend
 * failures (EUPSTREAM, ETIMEDOUT, EIO, EINTERNAL, ENOMEM) never leak their
 * message: they become 500 "Internal error occurred: unable to fetch
 * metrics" (the detail belongs in the log). */
void ahpa_api_error(struct ahpa_httpd_response *resp, int code, const struct ahpa_error *err);
/* The HTTP code ahpa_api_error() would use. */
int ahpa_api_http_code(int code);

#endif
