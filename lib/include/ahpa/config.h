/* Command-line flags into immutable plain values.
 *
 * Flags follow the Kubernetes (pflag) conventions: `--name=value` or
 * `--name value`, `-v=4` / `-v 4`, booleans as `--flag` or `--flag=false`,
 * list flags repeatable and comma-separated (`--tls-sans a,b --tls-sans c`).
 * Unknown flags and bad values are errors that name the flag.
 *
 * The generic parser works on any struct through a table of flag
 * descriptions; struct ahpa_config and its table are the server's. After
 * ahpa_config_load() returns, the configuration is read-only. */
#ifndef AHPA_CONFIG_H
#define AHPA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ahpa_error;

enum ahpa_flag_type {
    AHPA_FLAG_STRING,      /* char *            (NULL when empty default) */
    AHPA_FLAG_INT,         /* int64_t                                     */
    AHPA_FLAG_DOUBLE,      /* double                                      */
    AHPA_FLAG_BOOL,        /* bool                                        */
    AHPA_FLAG_DURATION,    /* int64_t milliseconds; "15s", "1m", "500ms"  */
    AHPA_FLAG_STRING_LIST, /* struct ahpa_strlist                         */
};

/* A list of owned strings. */
struct ahpa_strlist {
    char **items;
    size_t n;
};

struct ahpa_flag {
    const char *name;      /* without dashes: "secure-port" */
    enum ahpa_flag_type type;
    size_t offset;         /* offsetof the field in the target struct */
    const char *def;       /* default as text, NULL for none */
    const char *help;      /* one line */
    int64_t min, max;      /* bounds for INT and DURATION (ms); min > max: none */
};

/* Sets defaults, then applies argv[1..argc). Strings are copied; release
 * them with ahpa_flags_dispose(). `-h`/`--help` returns -AHPA_ENOTFOUND
 * with err->msg "help" so the caller can print usage and exit 0. */
int ahpa_flags_parse(const struct ahpa_flag *table, size_t n, void *target, int argc,
                     char **argv, struct ahpa_error *err);
void ahpa_flags_dispose(const struct ahpa_flag *table, size_t n, void *target);
/* Every flag with its type, default and help text. */
void ahpa_flags_usage(const struct ahpa_flag *table, size_t n, FILE *out);

struct ahpa_buf;

/* Appends the contents of a file given by a flag (rules, ConfigMaps, AHPA
 * objects, zone files) to `out`: -AHPA_ENOTFOUND when it cannot be
 * opened, -AHPA_ETOOBIG past max_bytes, -AHPA_EIO on a read error; the
 * message names the file. `out` is left empty on error. */
int ahpa_config_read_file(const char *path, size_t max_bytes, struct ahpa_buf *out,
                          struct ahpa_error *err);

/* The server's configuration. Field names mirror the flags. */
struct ahpa_config {
    /* serving */
    char *bind_address;
    int64_t secure_port;
    char *cert_dir;
    char *tls_cert_file;
    char *tls_private_key_file;
    struct ahpa_strlist tls_sans;
    char *service_name;
    char *service_namespace;
    int64_t tls_reload_interval_ms;
    int64_t threads;
    int64_t max_connections;
    int64_t max_requests_inflight;
    int64_t max_metric_queries_inflight;
    int64_t metric_query_workers;
    int64_t max_request_body_bytes;
    int64_t max_request_head_bytes;
    int64_t request_timeout_ms;
    int64_t shutdown_delay_ms;   /* SIGTERM to the end of serving (readyz fails) */
    int64_t shutdown_timeout_ms; /* then the drain of in-flight requests */
    int64_t v;
    int64_t log_repeat_interval_ms;
    /* Prometheus and the metric rules */
    char *prometheus_url;
    char *prometheus_verb;
    char *prometheus_ca_file;
    bool prometheus_insecure_skip_tls_verify;
    char *prometheus_client_tls_cert_file;
    char *prometheus_client_tls_key_file;
    char *prometheus_token_file;
    struct ahpa_strlist prometheus_header;
    int64_t prometheus_timeout_ms;
    int64_t prometheus_max_response_bytes;
    char *application_intelligence_file;
    char *rules_config;
    int64_t metrics_relist_interval_ms;
    int64_t metrics_max_age_ms;
    int64_t metrics_cache_ttl_ms;
    int64_t metrics_cache_max_entries; /* deprecated; 0: no bound */
    int64_t metrics_cache_max_bytes;
    int64_t response_cache_max_bytes;
    /* the Kubernetes API (struct ahpa_kube_options) */
    char *kubeconfig;
    char *master;
    double kube_api_qps;
    int64_t kube_api_burst;
    char *watch_namespace;
    /* AHPA objects and the controller */
    char *ahpa_dir;
    int64_t prediction_interval_ms;
    int64_t history_window_ms;
    char *timezone;
    char *ahpa_usage_query;
    char *ahpa_replicas_query;
    char *ahpa_cpu_usage_query, *ahpa_cpu_requests_query;
    char *ahpa_memory_usage_query, *ahpa_memory_requests_query;
    /* authentication and authorization (k8s.io/apiserver's delegating flags) */
    char *authorization_mode;               /* Webhook | AlwaysAllow */
    char *authentication_kubeconfig;
    char *authorization_kubeconfig;
    bool authentication_skip_lookup;
    bool authentication_tolerate_lookup_failure;
    int64_t authentication_token_webhook_cache_ttl_ms;
    struct ahpa_strlist api_audiences;
    bool anonymous_auth;
    char *client_ca_file;
    char *requestheader_client_ca_file;
    struct ahpa_strlist requestheader_allowed_names;
    struct ahpa_strlist requestheader_username_headers;
    struct ahpa_strlist requestheader_group_headers;
    struct ahpa_strlist requestheader_extra_headers_prefix;
    struct ahpa_strlist authorization_always_allow_paths;
    int64_t authorization_webhook_cache_authorized_ttl_ms;
    int64_t authorization_webhook_cache_unauthorized_ttl_ms;
    /* API groups */
    bool enable_custom_metrics;
    bool enable_external_metrics;
    bool enable_predictions_observer;
    /* leader election (component-base's --leader-elect-*); used when a
     * Kubernetes configuration is given */
    bool leader_elect;
    int64_t leader_elect_lease_duration_ms;
    int64_t leader_elect_renew_deadline_ms;
    int64_t leader_elect_retry_period_ms;
    char *leader_elect_resource_name;
    char *leader_elect_resource_namespace; /* NULL = in-cluster namespace or kube-system */
    char *leader_elect_resource_lock;
    /* managed HPAs: behavior.scaleUp/scaleDown.tolerance (a Quantity);
     * NULL or "" = not sent (the HPA's default 10 %) */
    char *managed_hpa_tolerance;
    int64_t prediction_step_ms; /* history and plan step (a whole number of seconds) */
};

extern const struct ahpa_flag ahpa_config_flags[];
extern const size_t ahpa_config_nflags;

/* Parses the server's flags and checks cross-flag rules (cert and key
 * given together, at least one API group on). Release with
 * ahpa_config_dispose(). */
int ahpa_config_load(struct ahpa_config *cfg, int argc, char **argv, struct ahpa_error *err);
void ahpa_config_dispose(struct ahpa_config *cfg);
void ahpa_config_usage(FILE *out, const char *argv0);

#endif
