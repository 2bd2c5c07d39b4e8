/* ahpa-metrics-adapter: the aggregated API server.
 *
 * main() owns everything: it parses the flags, decides the serving
 * certificate, starts the server, and then is the one thread that waits
 * for signals and polls the certificate files for changes.
 *
 * Shutdown, as kube-apiserver does it: on SIGTERM or SIGINT /readyz fails
 * at once ([-]shutdown) while requests are still served for
 * --shutdown-delay-duration, so endpoints and load balancers stop sending
 * traffic first; then in-flight Prometheus calls are cancelled, the
 * controller and the relist stop, the listener closes and in-flight
 * requests get --shutdown-timeout to finish; exit status 0. A second
 * signal at any point ends the process at once with status 1. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/api.h"
#include "ahpa/auth.h"
#include "ahpa/config.h"
#include "ahpa/controller.h"
#include "ahpa/cron.h"
#include "ahpa/error.h"
#include "ahpa/buf.h"
#include "ahpa/httpc.h"
#include "ahpa/httpd.h"
#include "ahpa/kube.h"
#include "ahpa/leader.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "ahpa/prom.h"
#include "ahpa/provider.h"
#include "ahpa/rules.h"
#include "ahpa/tls.h"

struct adapter {
    struct ahpa_config cfg;
    struct ahpa_prom_configmap configmap;
    struct ahpa_prom_client *prom;
    struct ahpa_rules_config *rules;
    struct ahpa_provider *provider;
    struct ahpa_cron_zone *zone;
    struct ahpa_controller *controller;
    struct ahpa_kube_config *kube_config;
    struct ahpa_kube_client *kube;
    /* The shared pod informer (with a Kubernetes configuration): the
     * controller's target pods and the custom metrics API's selectors. */
    struct ahpa_kube_pods *pods;
    char last_reload_error[AHPA_ERROR_MSG_MAX]; /* logged once per distinct error */
    struct ahpa_server *server;
    struct ahpa_tls_watch *watch;
    struct ahpa_tls_paths paths;
    /* leader election: its own client, as kube-controller-manager gives it */
    struct ahpa_kube_client *lease_client;
    struct ahpa_leader *leader; /* NULL: no election, this process acts alone */
    /* delegated authentication and authorization */
    struct ahpa_kube_config *authn_kcfg, *authz_kcfg;
    struct ahpa_kube_client *authn_client, *authz_client;
    struct ahpa_auth *auth;
};

static int parse_flags(struct adapter *a, int argc, char **argv)
{
    struct ahpa_error err = {0};
    int rc = ahpa_config_load(&a->cfg, argc, argv, &err);
    if (rc == -AHPA_ENOTFOUND && strcmp(err.msg, "help") == 0) {
        ahpa_config_usage(stdout, argv[0]);
        exit(EXIT_SUCCESS);
    }
    if (rc < 0) {
        fprintf(stderr, "Error: %s\nRun '%s --help' for the list of flags.\n", err.msg, argv[0]);
        return rc;
    }
    return 0;
}

/* Serving files: given ones, or reused/generated in --cert-dir with SANs
 * localhost, 127.0.0.1, --tls-sans and the Service's names. */
static int prepare_certificates(struct adapter *a, struct ahpa_tls_keypair **first,
                                struct ahpa_error *err)
{
    const struct ahpa_config *cfg = &a->cfg;
    char *svc[AHPA_TLS_SERVICE_NAMES] = {0};
    size_t nsvc = 0;
    if (cfg->service_name != NULL && cfg->service_namespace != NULL) {
        int rc = ahpa_tls_service_names(cfg->service_name, cfg->service_namespace, svc, err);
        if (rc < 0)
            return rc;
        nsvc = AHPA_TLS_SERVICE_NAMES;
    }
    size_t n = cfg->tls_sans.n + nsvc;
    const char **sans = ahpa_calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < cfg->tls_sans.n; i++)
        sans[i] = cfg->tls_sans.items[i];
    for (size_t i = 0; i < nsvc; i++)
        sans[cfg->tls_sans.n + i] = svc[i];
    struct ahpa_tls_files_options opt = {
        .cert_file = cfg->tls_cert_file,
        .key_file = cfg->tls_private_key_file,
        .cert_dir = cfg->cert_dir,
        .extra_sans = sans,
        .n_extra_sans = n,
    };
    int rc = ahpa_tls_ensure_serving_files(&opt, &a->paths, err);
    free(sans);
    ahpa_tls_strv_free(svc, nsvc);
    if (rc < 0)
        return rc;
    return ahpa_tls_watch_new(a->paths.cert_file, a->paths.key_file, &a->watch, first, err);
}

/* Reads a whole file of at most max_bytes. Caller frees *out. */
static int read_file(const char *path, size_t max_bytes, char **out, size_t *len,
                     struct ahpa_error *err)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    int rc = ahpa_config_read_file(path, max_bytes, &b, err);
    *out = ahpa_buf_take(&b, len);
    return rc;
}

static int load_rules(struct adapter *a, struct ahpa_error *err)
{
    if (a->cfg.rules_config == NULL)
        return ahpa_rules_builtin(&a->rules, err);
    char *text;
    size_t len;
    int rc = read_file(a->cfg.rules_config, 4u << 20, &text, &len, err);
    if (rc == 0)
        rc = ahpa_rules_parse(text, len, &a->rules, err);
    free(text);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < ahpa_rules_warning_count(a->rules); i++)
        AHPA_LOG_WARN("%s: %s", a->cfg.rules_config, ahpa_rules_warning(a->rules, i));
    return 0;
}


/* The custom metrics API's resolver: pods come from the pod informer, as
 * prometheus-adapter lists them from the API; without a Kubernetes
 * configuration, or for other resources, ENOTSUP sends the provider to
 * kube-state-metrics. Request threads call these: they read the
 * informer's store and never wait. */
static bool pods_of(const struct adapter *a, const char *group, const char *resource,
                    const char *ns)
{
    /* With --watch-namespace the informer knows that namespace only. */
    const char *scope = a->cfg.watch_namespace;
    return a->pods != NULL && (group == NULL || group[0] == '\0') &&
           strcmp(resource, "pods") == 0 && ns != NULL && ns[0] != '\0' &&
           (scope == NULL || scope[0] == '\0' || strcmp(scope, ns) == 0);
}

static int resolve_pods(void *ctx, const char *group, const char *resource, const char *ns,
                        const struct ahpa_labelsel *sel, char ***names, size_t *n,
                        struct ahpa_error *err)
{
    struct adapter *a = ctx;
    if (!pods_of(a, group, resource, ns))
        return ahpa_error_set(err, AHPA_ENOTSUP, "not in the pod informer");
    return ahpa_kube_pods_select(a->pods, ns, sel, 0, names, n, err);
}

static int pod_exists(void *ctx, const char *group, const char *resource, const char *ns,
                      const char *name, struct ahpa_error *err)
{
    struct adapter *a = ctx;
    if (!pods_of(a, group, resource, ns))
        return ahpa_error_set(err, AHPA_ENOTSUP, "not in the pod informer");
    return ahpa_kube_pods_exists(a->pods, ns, name, err);
}

/* Prometheus from --prometheus-url, else from the application-intelligence
 * ConfigMap file; neither means no custom or external metrics. */
static int prepare_provider(struct adapter *a, struct ahpa_error *err)
{
    const struct ahpa_config *cfg = &a->cfg;
    struct ahpa_prom_options po = {
        .url = cfg->prometheus_url,
        .verb = strcmp(cfg->prometheus_verb, "POST") == 0 ? AHPA_PROM_POST : AHPA_PROM_GET,
        .ca_file = cfg->prometheus_ca_file,
        .insecure_skip_verify = cfg->prometheus_insecure_skip_tls_verify,
        .cert_file = cfg->prometheus_client_tls_cert_file,
        .key_file = cfg->prometheus_client_tls_key_file,
        .token_file = cfg->prometheus_token_file,
        .headers = (const char *const *)cfg->prometheus_header.items,
        .n_headers = cfg->prometheus_header.n,
        .timeout_ms = cfg->prometheus_timeout_ms,
        .max_response_bytes = (size_t)cfg->prometheus_max_response_bytes,
    };
    if (po.url == NULL && cfg->application_intelligence_file != NULL) {
        char *text;
        size_t len;
        int rc = read_file(cfg->application_intelligence_file, 1u << 20, &text, &len, err);
        if (rc == 0)
            rc = ahpa_prom_options_from_configmap(text, len, &a->configmap, &po, err);
        free(text);
        if (rc < 0)
            return rc;
    }
    if (po.url == NULL) {
        AHPA_LOG_INFO("no --prometheus-url: custom and external metrics have no source");
        return 0;
    }
    int rc = load_rules(a, err);
    if (rc < 0)
        return rc;
    a->prom = ahpa_prom_client_new(&po, err);
    if (a->prom == NULL)
        return -AHPA_ECONFIG;
    struct ahpa_provider_options opt = {
        .prom = a->prom,
        .rules = a->rules,
        .relist_interval_ms = cfg->metrics_relist_interval_ms,
        .max_age_ms = cfg->metrics_max_age_ms,
        .cache_ttl_ms = cfg->metrics_cache_ttl_ms,
        .cache_max_bytes = (size_t)cfg->metrics_cache_max_bytes,
        .cache_max_entries = (size_t)cfg->metrics_cache_max_entries,
        .changed = ahpa_server_provider_changed,
        .changed_ctx = a->server,
        /* Pods from the pod informer once prepare_kube made it (else
         * ENOTSUP: kube-state-metrics); the store is read, never waited on. */
        .resolve = resolve_pods,
        .exists = pod_exists,
        .resolve_ctx = a,
        .resolve_never_waits = true,
    };
    a->provider = ahpa_provider_new(&opt, err);
    if (a->provider == NULL)
        return -AHPA_EINTERNAL;
    ahpa_server_use_provider(a->server, a->provider);
    AHPA_LOG_INFO("metrics from Prometheus at %s", ahpa_prom_client_url(a->prom));
    return 0;
}

/* --timezone: a fixed offset, or an IANA name read from the system's
 * zoneinfo files. */
static int load_zone(struct adapter *a, struct ahpa_error *err)
{
    const char *name = a->cfg.timezone;
    int rc = ahpa_cron_zone_new_fixed(name, &a->zone, err);
    if (rc != -AHPA_ENOTFOUND)
        return rc;
    ahpa_error_clear(err);
    if (strstr(name, "..") != NULL || name[0] == '/')
        return ahpa_error_set(err, AHPA_ECONFIG, "--timezone %s: not a zone name", name);
    char path[512];
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    char *data;
    size_t len;
    rc = read_file(path, 256u << 10, &data, &len, err);
    if (rc == 0)
        rc = ahpa_cron_zone_new_tzif(name, data, len, &a->zone, err);
    free(data);
    return rc;
}

/* A Kubernetes configuration is given: --kubeconfig, --master, or the
 * in-cluster service environment. */
static bool have_kube_config(const struct ahpa_config *cfg)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    return cfg->kubeconfig != NULL || cfg->master != NULL || (host != NULL && host[0] != '\0');
}

/* The Kubernetes API configuration (loaded once: the elector's client is
 * made from it too) and the controller's client, when there is a
 * configuration: --kubeconfig, --master, or the in-cluster service account. */
static int prepare_kube(struct adapter *a, struct ahpa_error *err)
{
    const struct ahpa_config *cfg = &a->cfg;
    if (!have_kube_config(cfg))
        return 0;
    struct ahpa_kube_options ko = {
        .kubeconfig = cfg->kubeconfig,
        .master = cfg->master,
        .qps = cfg->kube_api_qps,
        .burst = (int)cfg->kube_api_burst,
    };
    int rc = ahpa_kube_config_load(&ko, &a->kube_config, err);
    if (rc < 0)
        return rc;
    a->kube = ahpa_kube_client_new(a->kube_config, &ko, err);
    if (a->kube == NULL)
        return -AHPA_ECONFIG;
    AHPA_LOG_INFO("Kubernetes API at %s%s", a->kube_config->server,
                  a->kube_config->in_cluster ? " (in-cluster)" : "");
    struct ahpa_kube_pods_options po = {.ns = cfg->watch_namespace};
    a->pods = ahpa_kube_pods_new(a->kube, &po, err);
    if (a->pods == NULL)
        return -AHPA_ECONFIG;
    ahpa_server_add_collector(a->server, ahpa_kube_pods_collect, a->pods);
    return 0;
}

/* The AHPA controller (it needs Prometheus): objects from --ahpa-dir, or
 * from the cluster when there is a Kubernetes API and no --ahpa-dir. */
static int prepare_controller(struct adapter *a, struct ahpa_error *err)
{
    if (a->cfg.ahpa_dir == NULL && a->kube == NULL)
        return 0;
    if (a->prom == NULL && a->cfg.ahpa_dir == NULL) {
        AHPA_LOG_INFO("no AdvancedHorizontalPodAutoscaler controller: it needs Prometheus");
        return 0;
    }
    if (a->prom == NULL)
        return ahpa_error_set(err, AHPA_ECONFIG, "--ahpa-dir needs --prometheus-url");
    if (a->cfg.ahpa_dir != NULL && a->kube != NULL)
        AHPA_LOG_INFO("--ahpa-dir given: AdvancedHorizontalPodAutoscalers come from its files, "
                      "not from the cluster");
    int rc = load_zone(a, err);
    if (rc < 0)
        return rc;
    struct ahpa_controller_options opt = {
        .prom = a->prom,
        .ahpa_dir = a->cfg.ahpa_dir,
        .zone = a->zone,
        .timezone_name = a->cfg.timezone,
        .interval_ms = a->cfg.prediction_interval_ms,
        .history_s = a->cfg.history_window_ms / 1000,
        .usage_query = a->cfg.ahpa_usage_query,
        .replicas_query = a->cfg.ahpa_replicas_query,
        .cpu_usage_query = a->cfg.ahpa_cpu_usage_query,
        .cpu_requests_query = a->cfg.ahpa_cpu_requests_query,
        .memory_usage_query = a->cfg.ahpa_memory_usage_query,
        .memory_requests_query = a->cfg.ahpa_memory_requests_query,
        .provider = a->provider, /* External metrics through the same rules */
        .kube = a->cfg.ahpa_dir == NULL ? a->kube : NULL,
        .watch_namespace = a->cfg.watch_namespace,
        .pods = a->cfg.ahpa_dir == NULL ? a->pods : NULL,
        .leader = a->leader, /* prepared before: only the leader writes */
        .mhpa_tolerance = a->cfg.managed_hpa_tolerance,
        .step_s = a->cfg.prediction_step_ms / 1000,
    };
    a->controller = ahpa_controller_new(&opt, err);
    if (a->controller == NULL)
        return -AHPA_ECONFIG;
    ahpa_server_use_controller(a->server, a->controller);
    AHPA_LOG_INFO("AdvancedHorizontalPodAutoscaler objects from %s every %llds",
                  a->cfg.ahpa_dir != NULL ? a->cfg.ahpa_dir
                  : a->cfg.watch_namespace != NULL ? a->cfg.watch_namespace
                                                   : "the cluster (all namespaces)",
                  (long long)(a->cfg.prediction_interval_ms / 1000));
    return 0;
}

/* Leader election on a Lease when --leader-elect and a Kubernetes
 * configuration are given. The elector's client times requests out at the
 * renew deadline, as component-base configures it. */
static int prepare_leader(struct adapter *a, struct ahpa_error *err)
{
    const struct ahpa_config *cfg = &a->cfg;
    if (!cfg->leader_elect || a->kube_config == NULL) {
        AHPA_LOG_INFO("leader election off (%s): this process acts alone",
                      cfg->leader_elect ? "no Kubernetes configuration" : "--leader-elect=false");
        return 0;
    }
    /* Its own client on the same configuration, as kube-controller-manager
     * gives the elector one: controller traffic never delays a renewal. */
    struct ahpa_kube_options ko = {
        .qps = cfg->kube_api_qps, .burst = (int)cfg->kube_api_burst,
        .timeout_ms = cfg->leader_elect_renew_deadline_ms,
        .user_agent = "ahpa-metrics-adapter/leader-election"};
    a->lease_client = ahpa_kube_client_new(a->kube_config, &ko, err);
    if (a->lease_client == NULL)
        return -AHPA_ECONFIG;
    const struct ahpa_kube_config *kc = a->kube_config;
    const char *ns = cfg->leader_elect_resource_namespace;
    if (ns == NULL)
        ns = kc->in_cluster && kc->namespace ? kc->namespace : "kube-system";
    struct ahpa_leader_options lo = {
        .client = a->lease_client, .ns = ns, .name = cfg->leader_elect_resource_name,
        .lease_duration_ms = cfg->leader_elect_lease_duration_ms,
        .renew_deadline_ms = cfg->leader_elect_renew_deadline_ms,
        .retry_period_ms = cfg->leader_elect_retry_period_ms, .release_on_cancel = true};
    a->leader = ahpa_leader_new(&lo, err);
    if (a->leader == NULL)
        return -AHPA_ECONFIG;
    return ahpa_server_use_leader(a->server, a->leader, err);
}

/* The kube-apiserver that reviews tokens or access: the given kubeconfig,
 * else --kubeconfig/--master, else in-cluster. No configuration at all is
 * not an error here (*out stays NULL); a given file that fails to load is. */
static int auth_client(const struct ahpa_config *cfg, const char *kubeconfig,
                       struct ahpa_kube_config **kc, struct ahpa_kube_client **out,
                       struct ahpa_error *err)
{
    /* k8s.io/apiserver's delegating clients: QPS 200, burst 400, 10 s. */
    struct ahpa_kube_options ko = {
        .kubeconfig = kubeconfig != NULL ? kubeconfig : cfg->kubeconfig,
        .master = kubeconfig != NULL ? NULL : cfg->master,
        .qps = 200, .burst = 400, .timeout_ms = 10000,
    };
    struct ahpa_error inner = {0};
    int rc = ahpa_kube_config_load(&ko, kc, &inner);
    if (rc < 0) {
        if (ko.kubeconfig != NULL || ko.master != NULL)
            return ahpa_error_set(err, AHPA_ECONFIG, "%s", inner.msg);
        AHPA_LOG_V(1, "no Kubernetes configuration for authentication/authorization: %s",
                   inner.msg);
        return 0;
    }
    *out = ahpa_kube_client_new(*kc, &ko, err);
    return *out != NULL ? 0 : -AHPA_ECONFIG;
}

static int prepare_auth(struct adapter *a, struct ahpa_error *err)
{
    const struct ahpa_config *cfg = &a->cfg;
    bool always = strcmp(cfg->authorization_mode, "AlwaysAllow") == 0;
    int rc = auth_client(cfg, cfg->authentication_kubeconfig, &a->authn_kcfg, &a->authn_client,
                         err);
    if (rc == 0)
        rc = auth_client(cfg, cfg->authorization_kubeconfig, &a->authz_kcfg, &a->authz_client,
                         err);
    if (rc < 0)
        return rc;
    if (!always && a->authz_client == NULL)
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "no Kubernetes configuration to authorize requests with "
                              "(--authorization-mode=Webhook): give --authorization-kubeconfig "
                              "or --kubeconfig, or run in a cluster; for a standalone run "
                              "without authorization, --authorization-mode=AlwaysAllow");
    if (always)
        AHPA_LOG_WARN("--authorization-mode=AlwaysAllow: every request is allowed, anonymous "
                      "ones included; for standalone demos only");
    struct ahpa_auth_options o = {
        .mode = always ? AHPA_AUTH_MODE_ALWAYS_ALLOW : AHPA_AUTH_MODE_WEBHOOK,
        .anonymous = cfg->anonymous_auth,
        .client_ca_file = cfg->client_ca_file,
        .requestheader_client_ca_file = cfg->requestheader_client_ca_file,
#define LIST(field, l) .field = (const char *const *)cfg->l.items
        LIST(requestheader_allowed_names, requestheader_allowed_names),
        .n_allowed_names = cfg->requestheader_allowed_names.n,
        LIST(requestheader_username_headers, requestheader_username_headers),
        .n_username_headers = cfg->requestheader_username_headers.n,
        LIST(requestheader_group_headers, requestheader_group_headers),
        .n_group_headers = cfg->requestheader_group_headers.n,
        LIST(requestheader_extra_prefixes, requestheader_extra_headers_prefix),
        .n_extra_prefixes = cfg->requestheader_extra_headers_prefix.n,
        LIST(audiences, api_audiences),
        .naudiences = cfg->api_audiences.n,
        LIST(always_allow_paths, authorization_always_allow_paths),
        .n_always_allow_paths = cfg->authorization_always_allow_paths.n,
#undef LIST
        .authn_client = a->authn_client,
        .authz_client = a->authz_client,
        .skip_lookup = cfg->authentication_skip_lookup,
        .tolerate_lookup_failure = cfg->authentication_tolerate_lookup_failure,
        .token_cache_ttl_ms = cfg->authentication_token_webhook_cache_ttl_ms,
        .authorized_ttl_ms = cfg->authorization_webhook_cache_authorized_ttl_ms,
        .unauthorized_ttl_ms = cfg->authorization_webhook_cache_unauthorized_ttl_ms,
        .cas_changed = ahpa_server_client_cas_changed,
        .cas_ctx = a->server,
    };
    a->auth = ahpa_auth_new(&o, err);
    if (a->auth == NULL)
        return -AHPA_ECONFIG;
    ahpa_server_use_auth(a->server, a->auth);
    return ahpa_auth_start(a->auth, err);
}

static int start(struct adapter *a)
{
    struct ahpa_error err = {0};
    struct ahpa_tls_keypair *kp = NULL;
    int rc = prepare_certificates(a, &kp, &err);
    if (rc < 0) {
        AHPA_LOG_ERROR("serving certificate: %s", ahpa_error_message(&err, rc));
        return rc;
    }
    a->server = ahpa_server_new(&a->cfg, &err);
    if (a->server != NULL &&
        ((rc = prepare_auth(a, &err)) < 0 || (rc = prepare_provider(a, &err)) < 0 ||
         (rc = prepare_kube(a, &err)) < 0 || (rc = prepare_leader(a, &err)) < 0 ||
         (rc = prepare_controller(a, &err)) < 0)) {
        AHPA_LOG_ERROR("%s", ahpa_error_message(&err, rc));
        ahpa_tls_keypair_free(kp);
        return rc;
    }
    if (a->server != NULL)
        rc = ahpa_server_start(a->server, ahpa_tls_keypair_cert_pem(kp),
                               ahpa_tls_keypair_key_pem(kp), &err);
    if (rc == 0 && a->pods != NULL)
        rc = ahpa_kube_pods_start(a->pods, &err);
    if (rc == 0 && a->provider != NULL)
        rc = ahpa_provider_start(a->provider, &err);
    if (rc == 0 && a->controller != NULL)
        rc = ahpa_controller_start(a->controller, &err);
    if (rc == 0 && a->leader != NULL)
        rc = ahpa_leader_start(a->leader, &err);
    ahpa_tls_keypair_free(kp);
    if (a->server == NULL || rc < 0) {
        AHPA_LOG_ERROR("cannot start serving: %s", ahpa_error_message(&err, rc));
        return rc < 0 ? rc : -AHPA_EINTERNAL;
    }
    AHPA_LOG_INFO("serving securely on %s:%u (certificate %s)", a->cfg.bind_address,
                  (unsigned)ahpa_server_port(a->server), a->paths.cert_file);
    return 0;
}

static void reload_certificates(struct adapter *a)
{
    struct ahpa_error err = {0};
    struct ahpa_tls_keypair *kp = NULL;
    int rc = ahpa_tls_watch_poll(a->watch, &kp, &err);
    if (rc < 0) {
        const char *msg = ahpa_error_message(&err, rc);
        if (strcmp(msg, a->last_reload_error) != 0)
            AHPA_LOG_WARN("certificate files changed but cannot be used, keeping the current "
                          "ones: %s",
                          msg);
        ahpa_strlcpy(a->last_reload_error, msg, sizeof(a->last_reload_error));
        return;
    }
    a->last_reload_error[0] = '\0';
    if (rc == 0)
        return;
    rc = ahpa_server_set_credentials(a->server, ahpa_tls_keypair_cert_pem(kp),
                                     ahpa_tls_keypair_key_pem(kp), &err);
    if (rc < 0)
        AHPA_LOG_WARN("reloaded certificate rejected: %s", ahpa_error_message(&err, rc));
    else
        AHPA_LOG_INFO("loaded new serving certificate (serial %s, subject %s)",
                      ahpa_tls_keypair_serial_hex(kp), ahpa_tls_keypair_subject(kp));
    ahpa_tls_keypair_free(kp);
}

/* --client-ca-file and --requestheader-client-ca-file, checked with the
 * serving certificate: a changed CA applies without a restart. */
static void reload_auth_files(struct adapter *a)
{
    if (a->auth == NULL)
        return;
    struct ahpa_error err = {0};
    int rc = ahpa_auth_reload_files(a->auth, &err);
    if (rc < 0)
        AHPA_LOG_WARN_REPEAT("client CA files changed but cannot be used", ahpa_strerror(rc),
                             "keeping the current ones: %s", ahpa_error_message(&err, rc));
    else if (rc == 1)
        AHPA_LOG_INFO("client CA files reloaded");
}

static const char *signal_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal";
}

/* Waits for SIGTERM/SIGINT, polling the certificate files meanwhile. */
static int wait_for_signal(struct adapter *a, const sigset_t *set)
{
    int64_t ms = a->cfg.tls_reload_interval_ms;
    struct timespec every = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    for (;;) {
        siginfo_t info;
        int sig = sigtimedwait(set, &info, &every);
        if (sig > 0)
            return sig;
        if (errno == EAGAIN) {
            reload_certificates(a);
            ahpa_server_maintain(a->server);
            reload_auth_files(a);
            ahpa_log_flush_due();
        }
    }
}

/* glibc raises its trim threshold (up to 64 MiB) each time a large block
 * is freed and then keeps that much free at the top of its heaps, and
 * every thread arena keeps memory of its own: after a burst the caches
 * drain but the process stays large. A fixed threshold and at most four
 * arenas help a little; what keeps most pages resident is glibc's
 * per-thread cache (tcache), which only GLIBC_TUNABLES can turn off (see
 * manifests/deployment.yaml). test/bench/soak.sh, RSS before a burst of
 * unique selectors, at its peak and after 60 s idle, in MiB:
 *   glibc defaults                          20.0 -> 57.3 -> 40.7
 *   this (trim threshold 256 KiB, 4 arenas) 19.7 -> 48.9 -> 35.7
 *   1 arena                                 19.5 -> 53.9 -> 34.5
 *   1 arena, tcache_count=0 (the manifest)  18.7 -> 52.1 -> 25.6 (1-min soak),
 *                                           18.6 -> 49.4 -> 18.6 (2-min soak)
 * GLIBC_TUNABLES or MALLOC_ARENA_MAX, when set, win. */
static void tune_malloc(void)
{
    if (getenv("GLIBC_TUNABLES") != NULL)
        return;
    mallopt(M_TRIM_THRESHOLD, 256 << 10);
    if (getenv("MALLOC_ARENA_MAX") == NULL)
        mallopt(M_ARENA_MAX, 4);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms on the monotonic clock, resuming after interruptions. */
static void sleep_ms(int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
        continue;
}

/* The signals stay blocked in every thread, so a second one waits, pending,
 * for this thread's sigwait(): it is taken synchronously, never in a
 * handler, and cannot be lost between the first and the thread's start.
 * Status 1 as kube-apiserver (which exits 1 on a second signal). */
static void *second_signal_thread(void *arg)
{
    const sigset_t *set = arg;
    int sig = 0;
    if (sigwait(set, &sig) == 0) {
        AHPA_LOG_WARN("received %s again during shutdown, exiting at once", signal_name(sig));
        fflush(stderr);
        _exit(EXIT_FAILURE);
    }
    return NULL;
}

static void shut_down(struct adapter *a, int sig, sigset_t *set)
{
    int64_t t0 = monotonic_ms();
    ahpa_server_begin_shutdown(a->server);
    pthread_t th;
    if (pthread_create(&th, NULL, second_signal_thread, set) == 0)
        pthread_detach(th);
    AHPA_LOG_INFO("received %s: /readyz fails from now on, requests are served for %lldms "
                  "more (--shutdown-delay-duration)",
                  signal_name(sig), (long long)a->cfg.shutdown_delay_ms);
    if (a->cfg.shutdown_delay_ms > 0)
        sleep_ms(a->cfg.shutdown_delay_ms);
    /* Back ends first: Prometheus calls in flight fail at once, so neither
     * the controller's workers nor request threads are left waiting. */
    if (a->prom != NULL)
        ahpa_prom_client_cancel(a->prom);
    if (a->kube != NULL)
        ahpa_kube_client_cancel(a->kube);
    if (a->controller != NULL)
        ahpa_controller_stop(a->controller);
    /* The controller writes no more: give the Lease back so that another
     * replica takes over on its next try. */
    if (a->leader != NULL)
        ahpa_leader_stop(a->leader);
    if (a->provider != NULL)
        ahpa_provider_stop(a->provider);
    ahpa_kube_pods_stop(a->pods); /* readers keep its last state */
    unsigned cut = ahpa_server_stop(a->server, a->cfg.shutdown_timeout_ms);
    /* Reviews still on the wire fail now rather than at their timeout. */
    if (a->authn_client != NULL)
        ahpa_kube_client_cancel(a->authn_client);
    if (a->authz_client != NULL)
        ahpa_kube_client_cancel(a->authz_client);
    if (cut > 0)
        AHPA_LOG_WARN("%u requests were still in flight after --shutdown-timeout (%lldms)", cut,
                      (long long)a->cfg.shutdown_timeout_ms);
    AHPA_LOG_INFO("stopped %lldms after %s", (long long)(monotonic_ms() - t0),
                  signal_name(sig));
}

int main(int argc, char **argv)
{
    tune_malloc();
    struct adapter a = {0};
    if (parse_flags(&a, argc, argv) < 0)
        return 2;
    ahpa_log_set_verbosity((int)a.cfg.v);
    ahpa_log_set_repeat_interval_ms(a.cfg.log_repeat_interval_ms);
    if (a.cfg.metrics_cache_max_entries > 0)
        AHPA_LOG_WARN("Flag --metrics-cache-max-entries has been deprecated, use "
                      "--metrics-cache-max-bytes instead");

    /* Signals are taken synchronously by this thread alone: block them
     * before any other thread exists so every thread inherits the mask. */
    static sigset_t set; /* the second-signal thread reads it */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    ahpa_httpd_global_init();
    ahpa_httpc_global_init(NULL);

    int status = EXIT_SUCCESS;
    if (start(&a) < 0)
        status = EXIT_FAILURE;
    else
        shut_down(&a, wait_for_signal(&a, &set), &set);
    if (a.controller != NULL)
        ahpa_controller_stop(a.controller);
    if (a.provider != NULL)
        ahpa_provider_stop(a.provider);
    if (a.server != NULL)
        ahpa_server_stop(a.server, 0); /* no-op after shut_down */
    ahpa_leader_free(a.leader); /* stops it first if start failed half-way */
    ahpa_auth_free(a.auth);       /* wakes parked requests: before the server goes */
    ahpa_server_free(a.server);
    ahpa_kube_client_free(a.lease_client);
    ahpa_kube_client_free(a.authn_client);
    ahpa_kube_client_free(a.authz_client);
    ahpa_kube_config_free(a.authn_kcfg);
    ahpa_kube_config_free(a.authz_kcfg);
    ahpa_provider_free(a.provider);
    ahpa_controller_free(a.controller);
    ahpa_kube_pods_free(a.pods); /* after its readers */
    ahpa_kube_client_free(a.kube);
    ahpa_kube_config_free(a.kube_config);
    ahpa_cron_zone_free(a.zone);
    ahpa_prom_client_free(a.prom);
    ahpa_rules_free(a.rules);
    ahpa_prom_configmap_dispose(&a.configmap);
    ahpa_tls_watch_free(a.watch);
    ahpa_tls_paths_dispose(&a.paths);
    ahpa_log_flush(); /* counts of repeated failures not yet written */
    ahpa_config_dispose(&a.cfg);
    return status;
}
