/* The server's flag table and cross-flag checks. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/config.h"
#include "ahpa/error.h"
#include "ahpa/quantity.h"

#define F(name, type, member, def, help) \
    {name, type, offsetof(struct ahpa_config, member), def, help, 1, 0}
#define FB(name, type, member, def, help, lo, hi) \
    {name, type, offsetof(struct ahpa_config, member), def, help, lo, hi}

const struct ahpa_flag ahpa_config_flags[] = {
    F("bind-address", AHPA_FLAG_STRING, bind_address, "0.0.0.0",
      "IP address to listen on for --secure-port"),
    FB("secure-port", AHPA_FLAG_INT, secure_port, "6443",
       "HTTPS port; 0 picks a free port and logs it", 0, 65535),
    F("cert-dir", AHPA_FLAG_STRING, cert_dir, "apiserver.local.config/certificates",
      "where apiserver.crt/apiserver.key are kept, generated when missing"),
    F("tls-cert-file", AHPA_FLAG_STRING, tls_cert_file, NULL,
      "serving certificate (PEM, leaf first); overrides --cert-dir"),
    F("tls-private-key-file", AHPA_FLAG_STRING, tls_private_key_file, NULL,
      "private key for --tls-cert-file (PEM)"),
    F("tls-sans", AHPA_FLAG_STRING_LIST, tls_sans, NULL,
      "extra DNS names or IPs for a generated serving certificate"),
    F("service-name", AHPA_FLAG_STRING, service_name, "ahpa-metrics-adapter",
      "Service name added to a generated certificate's SANs"),
    F("service-namespace", AHPA_FLAG_STRING, service_namespace, "kube-system",
      "namespace of --service-name"),
    FB("tls-reload-interval", AHPA_FLAG_DURATION, tls_reload_interval_ms, "10s",
       "how often certificate files are checked for changes", 100, 86400000),
    FB("threads", AHPA_FLAG_INT, threads, "4", "request-serving threads", 1, 256),
    FB("max-connections", AHPA_FLAG_INT, max_connections, "1024",
       "concurrent client connections", 1, 1000000),
    FB("max-requests-inflight", AHPA_FLAG_INT, max_requests_inflight, "400",
       "requests answered from memory at once (discovery, health, cached metrics); more get "
       "503 (0: no limit)", 0, 1000000),
    FB("max-metric-queries-inflight", AHPA_FLAG_INT, max_metric_queries_inflight, "256",
       "metric requests waiting on Prometheus at once (queued or running); more get 503",
       1, 1000000),
    FB("metric-query-workers", AHPA_FLAG_INT, metric_query_workers, "16",
       "threads that wait on Prometheus for metric requests the caches cannot answer", 1, 1024),
    FB("max-request-body-bytes", AHPA_FLAG_INT, max_request_body_bytes, "1048576",
       "larger request bodies are refused with 413", 0, 1073741824),
    FB("max-request-head-bytes", AHPA_FLAG_INT, max_request_head_bytes, "32768",
       "per-connection budget for the request line and headers (larger heads get a 4xx)",
       8192, 16777216),
    FB("request-timeout", AHPA_FLAG_DURATION, request_timeout_ms, "60s",
       "idle connection timeout", 1000, 3600000),
    FB("shutdown-delay-duration", AHPA_FLAG_DURATION, shutdown_delay_ms, "0",
       "after SIGTERM, /readyz fails at once but requests are served this long, so endpoints "
       "and load balancers stop sending traffic first",
       0, 600000),
    FB("shutdown-timeout", AHPA_FLAG_DURATION, shutdown_timeout_ms, "3s",
       "after the delay, how long in-flight requests may finish before connections close",
       0, 600000),
    FB("v", AHPA_FLAG_INT, v, "0", "log verbosity (klog levels)", 0, 10),
    FB("log-repeat-interval", AHPA_FLAG_DURATION, log_repeat_interval_ms, "10s",
       "a failure repeating with one cause is logged in full once, then counted and summed "
       "up once per interval (0: log every occurrence)",
       0, 3600000),
    F("prometheus-url", AHPA_FLAG_STRING, prometheus_url, NULL,
      "Prometheus HTTP API base URL, any path prefix (e.g. Thanos, Mimir, ARMS)"),
    F("prometheus-verb", AHPA_FLAG_STRING, prometheus_verb, "GET",
      "GET or POST (form-encoded parameters) for Prometheus queries"),
    F("prometheus-ca-file", AHPA_FLAG_STRING, prometheus_ca_file, NULL,
      "CA bundle that signs Prometheus' certificate"),
    F("prometheus-insecure-skip-tls-verify", AHPA_FLAG_BOOL, prometheus_insecure_skip_tls_verify,
      "false", "do not verify Prometheus' certificate"),
    F("prometheus-client-tls-cert-file", AHPA_FLAG_STRING, prometheus_client_tls_cert_file, NULL,
      "client certificate for Prometheus"),
    F("prometheus-client-tls-key-file", AHPA_FLAG_STRING, prometheus_client_tls_key_file, NULL,
      "key of --prometheus-client-tls-cert-file"),
    F("prometheus-token-file", AHPA_FLAG_STRING, prometheus_token_file, NULL,
      "bearer token for Prometheus, re-read when the file changes"),
    F("prometheus-header", AHPA_FLAG_STRING_LIST, prometheus_header, NULL,
      "extra header Name=value for Prometheus (repeatable), e.g. X-Scope-OrgID=tenant"),
    FB("prometheus-timeout", AHPA_FLAG_DURATION, prometheus_timeout_ms, "10s",
       "per-query timeout", 100, 600000),
    FB("prometheus-max-response-bytes", AHPA_FLAG_INT, prometheus_max_response_bytes, "67108864",
       "larger Prometheus answers are refused", 1024, 4294967296LL),
    F("application-intelligence-file", AHPA_FLAG_STRING, application_intelligence_file, NULL,
      "the application-intelligence ConfigMap (YAML) with prometheusUrl and token"),
    F("config", AHPA_FLAG_STRING, rules_config, NULL,
      "metric rules in prometheus-adapter's format (default: built-in GPU rules)"),
    FB("metrics-relist-interval", AHPA_FLAG_DURATION, metrics_relist_interval_ms, "1m",
       "how often the metric registry is rebuilt from Prometheus series", 1000, 86400000),
    FB("metrics-max-age", AHPA_FLAG_DURATION, metrics_max_age_ms, "0",
       "series lookback of a relist (0: the relist interval, at least 5m)", 0, 86400000LL * 30),
    FB("metrics-cache-ttl", AHPA_FLAG_DURATION, metrics_cache_ttl_ms, "15s",
       "how long a metric value is served from memory", 100, 3600000),
    FB("metrics-cache-max-bytes", AHPA_FLAG_INT, metrics_cache_max_bytes, "33554432",
       "heap the value cache may hold (keys, results, overhead); least recently asked "
       "queries are evicted past it", 65536, 1LL << 40),
    FB("metrics-cache-max-entries", AHPA_FLAG_INT, metrics_cache_max_entries, "0",
       "DEPRECATED: use --metrics-cache-max-bytes; when set, also bounds the number of "
       "cached queries (0: no bound)", 0, 10000000),
    FB("response-cache-max-bytes", AHPA_FLAG_INT, response_cache_max_bytes, "16777216",
       "heap the cache of rendered metric answers may hold (0: no such cache)", 0, 1LL << 40),
    F("kubeconfig", AHPA_FLAG_STRING, kubeconfig, NULL,
      "kubeconfig file (current-context) for the Kubernetes API; without it and --master, the "
      "in-cluster service account"),
    F("master", AHPA_FLAG_STRING, master, NULL,
      "Kubernetes API server URL (overrides the kubeconfig's server)"),
    F("kube-api-qps", AHPA_FLAG_DOUBLE, kube_api_qps, "20",
      "requests per second to the Kubernetes API, watches included (< 0: no limit)"),
    FB("kube-api-burst", AHPA_FLAG_INT, kube_api_burst, "30",
       "burst of requests to the Kubernetes API above --kube-api-qps", 1, 100000),
    F("watch-namespace", AHPA_FLAG_STRING, watch_namespace, NULL,
      "with a Kubernetes API: watch AdvancedHorizontalPodAutoscalers and pods in this "
      "namespace only (default: all namespaces)"),
    F("ahpa-dir", AHPA_FLAG_STRING, ahpa_dir, NULL,
      "directory of AdvancedHorizontalPodAutoscaler YAML files (re-read on change); without "
      "it, with a Kubernetes API, the objects come from the cluster"),
    FB("prediction-interval", AHPA_FLAG_DURATION, prediction_interval_ms, "60s",
       "how often every AHPA is forecast and planned", 1000, 3600000),
    FB("history-window", AHPA_FLAG_DURATION, history_window_ms, "168h",
       "GPU usage history kept per AHPA (7 days; less works)", 3600000, 86400000LL * 35),
    F("timezone", AHPA_FLAG_STRING, timezone, "UTC",
      "zone of instanceBounds times and crons: UTC, +08:00, or an IANA name"),
    F("ahpa-usage-query", AHPA_FLAG_STRING, ahpa_usage_query, NULL,
      "PromQL for a workload's total GPU utilisation (<<.Namespace>>, <<.Name>>; in cluster "
      "mode <<.Pods>>: its pods' names as a regex)"),
    F("ahpa-replicas-query", AHPA_FLAG_STRING, ahpa_replicas_query, NULL,
      "PromQL for a workload's replicas (<<.Namespace>>, <<.Name>>)"),
    F("ahpa-cpu-usage-query", AHPA_FLAG_STRING, ahpa_cpu_usage_query, NULL,
      "PromQL for a workload's total cpu usage in cores (<<.Namespace>>, <<.Name>>; default: "
      "cAdvisor's container_cpu_usage_seconds_total, rate over 5m, summed over its pods)"),
    F("ahpa-cpu-requests-query", AHPA_FLAG_STRING, ahpa_cpu_requests_query, NULL,
      "PromQL for a workload's cpu request per pod, for Utilization targets (default: "
      "kube-state-metrics' kube_pod_container_resource_requests, averaged over its pods)"),
    F("ahpa-memory-usage-query", AHPA_FLAG_STRING, ahpa_memory_usage_query, NULL,
      "PromQL for a workload's total memory in bytes (default: cAdvisor's "
      "container_memory_working_set_bytes summed over its pods)"),
    F("ahpa-memory-requests-query", AHPA_FLAG_STRING, ahpa_memory_requests_query, NULL,
      "PromQL for a workload's memory request per pod, for Utilization targets (default: "
      "kube-state-metrics' kube_pod_container_resource_requests, averaged over its pods)"),
    F("authorization-mode", AHPA_FLAG_STRING, authorization_mode, "Webhook",
      "Webhook (SubjectAccessReview; needs a Kubernetes configuration) or AlwaysAllow (no "
      "authorization: standalone demos only)"),
    F("authentication-kubeconfig", AHPA_FLAG_STRING, authentication_kubeconfig, NULL,
      "kubeconfig for TokenReview and the extension-apiserver-authentication ConfigMap "
      "(default: --kubeconfig, else in-cluster)"),
    F("authorization-kubeconfig", AHPA_FLAG_STRING, authorization_kubeconfig, NULL,
      "kubeconfig for SubjectAccessReview (default: --kubeconfig, else in-cluster)"),
    F("authentication-skip-lookup", AHPA_FLAG_BOOL, authentication_skip_lookup, "false",
      "do not read client CAs and request-header settings from the "
      "kube-system/extension-apiserver-authentication ConfigMap"),
    F("authentication-tolerate-lookup-failure", AHPA_FLAG_BOOL,
      authentication_tolerate_lookup_failure, "false",
      "start even when that ConfigMap cannot be read (it applies once readable)"),
    FB("authentication-token-webhook-cache-ttl", AHPA_FLAG_DURATION,
       authentication_token_webhook_cache_ttl_ms, "10s",
       "how long TokenReview answers are cached", 0, 86400000),
    F("api-audiences", AHPA_FLAG_STRING_LIST, api_audiences, NULL,
      "audiences asked of TokenReview; a token must be valid for one of them"),
    F("anonymous-auth", AHPA_FLAG_BOOL, anonymous_auth, "true",
      "requests without credentials are system:anonymous (then authorized like any user)"),
    F("client-ca-file", AHPA_FLAG_STRING, client_ca_file, NULL,
      "CA bundle for client certificates (user = CN, groups = O); default: the ConfigMap's"),
    F("requestheader-client-ca-file", AHPA_FLAG_STRING, requestheader_client_ca_file, NULL,
      "CA bundle for the front proxy's certificate; with it the requestheader flags replace "
      "the ConfigMap's"),
    F("requestheader-allowed-names", AHPA_FLAG_STRING_LIST, requestheader_allowed_names, NULL,
      "CNs the front proxy's certificate may have (empty: any)"),
    F("requestheader-username-headers", AHPA_FLAG_STRING_LIST, requestheader_username_headers,
      "X-Remote-User", "headers naming the user, first non-empty wins"),
    F("requestheader-group-headers", AHPA_FLAG_STRING_LIST, requestheader_group_headers,
      "X-Remote-Group", "headers carrying groups"),
    F("requestheader-extra-headers-prefix", AHPA_FLAG_STRING_LIST,
      requestheader_extra_headers_prefix, "X-Remote-Extra-", "header prefixes of user extras"),
    F("authorization-always-allow-paths", AHPA_FLAG_STRING_LIST,
      authorization_always_allow_paths, "/healthz,/readyz,/livez",
      "paths served without authorization (a trailing * matches a prefix)"),
    FB("authorization-webhook-cache-authorized-ttl", AHPA_FLAG_DURATION,
       authorization_webhook_cache_authorized_ttl_ms, "10s",
       "how long allowed SubjectAccessReview answers are cached", 0, 86400000),
    FB("authorization-webhook-cache-unauthorized-ttl", AHPA_FLAG_DURATION,
       authorization_webhook_cache_unauthorized_ttl_ms, "10s",
       "how long denied SubjectAccessReview answers are cached", 0, 86400000),
    F("enable-custom-metrics", AHPA_FLAG_BOOL, enable_custom_metrics, "true",
      "serve custom.metrics.k8s.io (v1beta1, v1beta2)"),
    F("enable-external-metrics", AHPA_FLAG_BOOL, enable_external_metrics, "true",
      "serve external.metrics.k8s.io/v1beta1 (off when another adapter owns it)"),
    F("enable-predictions-observer", AHPA_FLAG_BOOL, enable_predictions_observer, "true",
      "serve metrics.alibabacloud.com/v1beta1 predictionsobserver"),
    F("leader-elect", AHPA_FLAG_BOOL, leader_elect, "true",
      "with a Kubernetes configuration, elect one leader among replicas (a Lease) to write AHPA "
      "status and managed HPAs; every replica serves metrics"),
    FB("leader-elect-lease-duration", AHPA_FLAG_DURATION, leader_elect_lease_duration_ms, "15s",
       "how long candidates wait after the last renewal they saw before taking the lease (the "
       "longest a stopped leader goes unreplaced)",
       100, 3600000),
    FB("leader-elect-renew-deadline", AHPA_FLAG_DURATION, leader_elect_renew_deadline_ms, "10s",
       "a leader that could not renew for this long stops leading; less than the lease duration",
       100, 3600000),
    FB("leader-elect-retry-period", AHPA_FLAG_DURATION, leader_elect_retry_period_ms, "2s",
       "time between attempts to acquire or renew the lease", 100, 3600000),
    F("leader-elect-resource-name", AHPA_FLAG_STRING, leader_elect_resource_name,
      "ahpa-metrics-adapter", "name of the Lease used for leader election"),
    F("leader-elect-resource-namespace", AHPA_FLAG_STRING, leader_elect_resource_namespace, NULL,
      "namespace of the Lease (default: the in-cluster namespace, else kube-system)"),
    F("leader-elect-resource-lock", AHPA_FLAG_STRING, leader_elect_resource_lock, "leases",
      "kind of lock object; only 'leases' is supported"),
    F("managed-hpa-tolerance", AHPA_FLAG_STRING, managed_hpa_tolerance, "0",
      "behavior.scaleUp/scaleDown.tolerance of managed HPAs (a quantity, e.g. 0 or 0.05; "
      "Kubernetes 1.33+ with the HPAConfigurableTolerance gate, which other clusters drop); "
      "empty: not sent, the HPA's default tolerance (10%) applies"),
    FB("prediction-step", AHPA_FLAG_DURATION, prediction_step_ms, "60s",
       "step of the GPU usage history, forecasts and plans (whole seconds; shorter steps cost "
       "memory and CPU in proportion; tests use it to compress time)",
       1000, 3600000),
};

const size_t ahpa_config_nflags = sizeof(ahpa_config_flags) / sizeof(ahpa_config_flags[0]);

/* client-go's rules: lease duration > renew deadline > 1.2 x retry period. */
static int check_leader_election(const struct ahpa_config *cfg, struct ahpa_error *err)
{
    if (cfg->leader_elect_resource_lock == NULL ||
        strcmp(cfg->leader_elect_resource_lock, "leases") != 0)
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "--leader-elect-resource-lock: only \"leases\" "
                              "is supported");
    if (cfg->leader_elect_resource_name == NULL)
        return ahpa_error_set(err, AHPA_ECONFIG, "--leader-elect-resource-name may not be empty");
    if (!cfg->leader_elect)
        return 0;
    if (cfg->leader_elect_lease_duration_ms <= cfg->leader_elect_renew_deadline_ms)
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "--leader-elect-lease-duration must be greater "
                              "than --leader-elect-renew-deadline");
    if (cfg->leader_elect_renew_deadline_ms * 10 <= cfg->leader_elect_retry_period_ms * 12)
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "--leader-elect-renew-deadline must be greater "
                              "than 1.2 x --leader-elect-retry-period");
    return 0;
}

int ahpa_config_load(struct ahpa_config *cfg, int argc, char **argv, struct ahpa_error *err)
{
    *cfg = (struct ahpa_config){0};
    int rc = ahpa_flags_parse(ahpa_config_flags, ahpa_config_nflags, cfg, argc, argv, err);
    if (rc < 0)
        return rc;
    if ((cfg->tls_cert_file == NULL) != (cfg->tls_private_key_file == NULL))
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "--tls-cert-file and --tls-private-key-file go together");
    if (!cfg->enable_custom_metrics && !cfg->enable_external_metrics &&
        !cfg->enable_predictions_observer)
        return ahpa_error_set(err, AHPA_ECONFIG, "every API group is disabled");
    if (cfg->prometheus_verb == NULL || (strcmp(cfg->prometheus_verb, "GET") != 0 &&
                                         strcmp(cfg->prometheus_verb, "POST") != 0))
        return ahpa_error_set(err, AHPA_ECONFIG, "--prometheus-verb must be GET or POST");
    if ((cfg->prometheus_client_tls_cert_file == NULL) !=
        (cfg->prometheus_client_tls_key_file == NULL))
        return ahpa_error_set(err, AHPA_ECONFIG, "--prometheus-client-tls-cert-file and "
                                                 "--prometheus-client-tls-key-file go together");
    if (cfg->authorization_mode == NULL ||
        (strcmp(cfg->authorization_mode, "Webhook") != 0 &&
         strcmp(cfg->authorization_mode, "AlwaysAllow") != 0))
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "--authorization-mode must be Webhook or AlwaysAllow");
    if (cfg->bind_address == NULL)
        return ahpa_error_set(err, AHPA_ECONFIG, "--bind-address may not be empty");
    if (cfg->cert_dir == NULL && cfg->tls_cert_file == NULL)
        return ahpa_error_set(err, AHPA_ECONFIG, "need --cert-dir or --tls-cert-file");
    if (cfg->prediction_step_ms % 1000 != 0)
        return ahpa_error_set(err, AHPA_ECONFIG, "--prediction-step: whole seconds");
    double tol;
    if (cfg->managed_hpa_tolerance != NULL && cfg->managed_hpa_tolerance[0] != '\0' &&
        (ahpa_quantity_parse(cfg->managed_hpa_tolerance, &tol, NULL) < 0 || !(tol >= 0)))
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "--managed-hpa-tolerance: not a non-negative quantity: \"%s\"",
                              cfg->managed_hpa_tolerance);
    return check_leader_election(cfg, err);
}

void ahpa_config_dispose(struct ahpa_config *cfg)
{
    ahpa_flags_dispose(ahpa_config_flags, ahpa_config_nflags, cfg);
}

void ahpa_config_usage(FILE *out, const char *argv0)
{
    fprintf(out,
            "Usage: %s [flags]\n\n"
            "An aggregated Kubernetes API server for GPU custom, external and predicted\n"
            "metrics. Serves custom.metrics.k8s.io, external.metrics.k8s.io and\n"
            "metrics.alibabacloud.com over HTTPS.\n\nFlags:\n",
            argv0);
    ahpa_flags_usage(ahpa_config_flags, ahpa_config_nflags, out);
    fprintf(out, "  -h, --help   this text\n");
}
