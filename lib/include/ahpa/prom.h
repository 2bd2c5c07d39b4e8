/* Prometheus HTTP API client: /api/v1/query, query_range, series, labels.
 *
 * Works with anything that speaks the API (Prometheus, ARMS Prometheus,
 * Thanos Query, Mimir, VictoriaMetrics): the URL may carry any path prefix
 * and the API lives under <prefix>/api/v1/. Requests go through lib/httpc,
 * so one client is safe to share between threads and reuses connections.
 *
 * Errors (all calls): transport errors from httpc (-AHPA_EUPSTREAM,
 * -AHPA_ETIMEDOUT, -AHPA_ETOOBIG, -AHPA_EUNAVAIL); Prometheus' own error
 * JSON as -AHPA_EUPSTREAM with "prometheus: <errorType>: <error>" on one
 * line (errorType "timeout" gives -AHPA_ETIMEDOUT, "unavailable" and
 * "canceled" -AHPA_EUNAVAIL); any other body as -AHPA_EUPSTREAM
 * "prometheus: unexpected response (HTTP <status>, <content type>)". No
 * message carries the token or more than ~200 bytes of upstream text. */
#ifndef AHPA_PROM_H
#define AHPA_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ahpa_error;
struct ahpa_arena;

enum ahpa_prom_verb {
    AHPA_PROM_GET,
    AHPA_PROM_POST, /* parameters form-encoded (prometheus-adapter's --prometheus-verb=POST) */
};

/* "GET" or "POST", any case (--prometheus-verb). -AHPA_ECONFIG otherwise. */
int ahpa_prom_verb_parse(const char *s, enum ahpa_prom_verb *out, struct ahpa_error *err);

/* The --prometheus-* flags. Pointers are borrowed for the call to
 * ahpa_prom_client_new(), which copies what it keeps. */
struct ahpa_prom_options {
    const char *url; /* required; may end in a path prefix */
    enum ahpa_prom_verb verb;
    const char *ca_file;
    bool insecure_skip_verify;
    const char *cert_file;
    const char *key_file;
    const char *token_file; /* re-read when it changes */
    const char *token;      /* literal token (e.g. from the ConfigMap); token_file wins */
    const char *const *headers; /* "Name=value", e.g. "X-Scope-OrgID=tenant" */
    size_t n_headers;
    int64_t timeout_ms;        /* 0 = 10 s; also sent as the query's `timeout` */
    size_t max_response_bytes; /* 0 = 64 MiB, counted after decompression */
    bool compress;             /* ask for gzip (see ahpa_httpc_options) */
};

struct ahpa_prom_client;

/* Returns NULL with `err` set (-AHPA_ECONFIG) on bad options. Caller
 * releases with ahpa_prom_client_free(). Call ahpa_httpc_global_init()
 * from main() before threads start. */
struct ahpa_prom_client *ahpa_prom_client_new(const struct ahpa_prom_options *opts,
                                              struct ahpa_error *err);
void ahpa_prom_client_free(struct ahpa_prom_client *c);
/* Fails in-flight and future queries fast (shutdown). */
void ahpa_prom_client_cancel(struct ahpa_prom_client *c);
/* URL without userinfo, for logs; borrowed for the client's life. */
const char *ahpa_prom_client_url(const struct ahpa_prom_client *c);

/* Call statistics for /metrics: one set per API endpoint, counted since
 * the client was created. Updated with atomics; reading is lock-free and
 * each field is individually consistent. */
enum ahpa_prom_endpoint {
    AHPA_PROM_EP_QUERY,
    AHPA_PROM_EP_QUERY_RANGE,
    AHPA_PROM_EP_SERIES,
    AHPA_PROM_EP_LABELS,
    AHPA_PROM_EP_LABEL_VALUES,
    AHPA_PROM_EP_COUNT_
};

#define AHPA_PROM_LATENCY_BUCKETS 11
/* Upper bounds in seconds of the latency histogram buckets (le). */
extern const double ahpa_prom_latency_bounds_s[AHPA_PROM_LATENCY_BUCKETS];

struct ahpa_prom_stats {
    uint64_t requests; /* calls finished, any outcome */
    uint64_t failures; /* calls that returned an error */
    double latency_sum_s;
    /* Cumulative: calls that took <= ahpa_prom_latency_bounds_s[i]; the
     * +Inf bucket is `requests`. */
    uint64_t latency_le[AHPA_PROM_LATENCY_BUCKETS];
};

/* "query", "query_range", "series", "labels", "label_values". */
const char *ahpa_prom_endpoint_name(enum ahpa_prom_endpoint ep);
void ahpa_prom_client_stats(const struct ahpa_prom_client *c, enum ahpa_prom_endpoint ep,
                            struct ahpa_prom_stats *out);

/* Results. */

struct ahpa_prom_label {
    const char *name;
    const char *value;
};

struct ahpa_prom_sample {
    int64_t t_ms; /* Prometheus timestamps have millisecond resolution */
    double value; /* NaN and +-Inf as Prometheus sent them */
};

struct ahpa_prom_series {
    struct ahpa_prom_label *labels; /* sorted by name, names unique */
    size_t n_labels;
    struct ahpa_prom_sample *samples; /* ascending time */
    size_t n_samples;
};

enum ahpa_prom_result_type {
    AHPA_PROM_RESULT_NONE,
    AHPA_PROM_RESULT_VECTOR, /* one sample per series */
    AHPA_PROM_RESULT_MATRIX,
    AHPA_PROM_RESULT_SCALAR, /* one series, no labels, one sample */
    AHPA_PROM_RESULT_STRING, /* `string` and one sample with value NaN */
    AHPA_PROM_RESULT_SERIES, /* /api/v1/series: label sets, no samples */
    AHPA_PROM_RESULT_STRINGS /* /api/v1/labels: `strings` */
};

/* Caller storage: ahpa_prom_result_init() before use,
 * ahpa_prom_result_dispose() once; a query resets it first. Everything it
 * points to lives in its own arena and is released by dispose. */
struct ahpa_prom_result {
    enum ahpa_prom_result_type type;
    struct ahpa_prom_series *series;
    size_t n_series;
    const char *string; /* AHPA_PROM_RESULT_STRING */
    const char **strings;
    size_t n_strings;
    const char **warnings; /* Prometheus' warnings, if any */
    size_t n_warnings;
    struct ahpa_arena *arena;
};

void ahpa_prom_result_init(struct ahpa_prom_result *r);
void ahpa_prom_result_dispose(struct ahpa_prom_result *r);

/* Value of label `name` in `s` (binary search), or NULL. Borrowed. */
const char *ahpa_prom_series_label(const struct ahpa_prom_series *s, const char *name);

/* Instant query at time_ms (unix milliseconds; < 0 = Prometheus' now). */
int ahpa_prom_query(struct ahpa_prom_client *c, const char *promql, int64_t time_ms,
                    struct ahpa_prom_result *out, struct ahpa_error *err);
/* Range query over [start_ms, end_ms] every step_ms (> 0). */
int ahpa_prom_query_range(struct ahpa_prom_client *c, const char *promql, int64_t start_ms,
                          int64_t end_ms, int64_t step_ms, struct ahpa_prom_result *out,
                          struct ahpa_error *err);
/* /api/v1/series with one match[] per selector (n_match >= 1); start_ms
 * and end_ms < 0 mean unbounded. Result type AHPA_PROM_RESULT_SERIES. */
int ahpa_prom_series(struct ahpa_prom_client *c, const char *const *match, size_t n_match,
                     int64_t start_ms, int64_t end_ms, struct ahpa_prom_result *out,
                     struct ahpa_error *err);
/* /api/v1/labels, optionally restricted by match[] selectors. Result type
 * AHPA_PROM_RESULT_STRINGS. */
int ahpa_prom_labels(struct ahpa_prom_client *c, const char *const *match, size_t n_match,
                     int64_t start_ms, int64_t end_ms, struct ahpa_prom_result *out,
                     struct ahpa_error *err);

/* /api/v1/label/<name>/values, optionally restricted by match[]
 * selectors. `name` must be a valid label name ([a-zA-Z_][a-zA-Z0-9_]*).
 * Result type AHPA_PROM_RESULT_STRINGS. */
int ahpa_prom_label_values(struct ahpa_prom_client *c, const char *name,
                           const char *const *match, size_t n_match, int64_t start_ms,
                           int64_t end_ms, struct ahpa_prom_result *out, struct ahpa_error *err);

/* Pure parse of an API response (status, content type and body) into
 * `out`; what the calls above use, exposed for tests and fuzzing. */
int ahpa_prom_parse_response(long http_status, const char *content_type, const char *body,
                             size_t len, struct ahpa_prom_result *out, struct ahpa_error *err);

/* The seed's `application-intelligence` ConfigMap (YAML):
 *   apiVersion: v1, kind: ConfigMap, data: {prometheusUrl: ..., token: ...}
 * Owned strings; release with ahpa_prom_configmap_dispose(). */
struct ahpa_prom_configmap {
    char *url;   /* data.prometheusUrl; required */
    char *token; /* data.token; NULL when absent or empty */
};

/* Parses `yaml_text` (len bytes; at most 1 MiB; the caller reads the
 * file). Takes the first document that is a ConfigMap with
 * data.prometheusUrl. On success also points opts->url and opts->token
 * (if opts is not NULL and the token is present) into `cm`, so `cm` must
 * outlive the options' use. Errors: -AHPA_EPARSE (bad YAML, with line and
 * column), -AHPA_ECONFIG (no ConfigMap or no prometheusUrl),
 * -AHPA_ETOOBIG. */
int ahpa_prom_options_from_configmap(const char *yaml_text, size_t len,
                                     struct ahpa_prom_configmap *cm,
                                     struct ahpa_prom_options *opts, struct ahpa_error *err);
void ahpa_prom_configmap_dispose(struct ahpa_prom_configmap *cm);

#endif
