/* Prometheus HTTP API calls over lib/httpc. */
#include "ahpa/prom.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "prom_int.h"

struct endpoint_stats {
    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t failures;
    atomic_uint_fast64_t latency_sum_us;
    atomic_uint_fast64_t latency_le[AHPA_PROM_LATENCY_BUCKETS];
};

struct ahpa_prom_client {
    struct ahpa_httpc_client *http;
    enum ahpa_httpc_method method;
    int64_t timeout_ms;
    struct endpoint_stats stats[AHPA_PROM_EP_COUNT_];
};

const double ahpa_prom_latency_bounds_s[AHPA_PROM_LATENCY_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* Label values have the name in the path: perform() is given it. */
static const char *const endpoint_paths[AHPA_PROM_EP_COUNT_] = {
    "/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels", NULL,
};

static const char *const endpoint_names[AHPA_PROM_EP_COUNT_] = {
    "query", "query_range", "series", "labels", "label_values",
};

const char *ahpa_prom_endpoint_name(enum ahpa_prom_endpoint ep)
{
    return (unsigned)ep < AHPA_PROM_EP_COUNT_ ? endpoint_names[ep] : "";
}

void ahpa_prom_client_stats(const struct ahpa_prom_client *c, enum ahpa_prom_endpoint ep,
                            struct ahpa_prom_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (c == NULL || (unsigned)ep >= AHPA_PROM_EP_COUNT_)
        return;
    /* The atomics are only read; the cast drops const for C11's loads. */
    struct endpoint_stats *s = (struct endpoint_stats *)&c->stats[ep];
    out->requests = atomic_load(&s->requests);
    out->failures = atomic_load(&s->failures);
    out->latency_sum_s = (double)atomic_load(&s->latency_sum_us) / 1e6;
    for (int i = 0; i < AHPA_PROM_LATENCY_BUCKETS; i++)
        out->latency_le[i] = atomic_load(&s->latency_le[i]);
}

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void record(struct ahpa_prom_client *c, enum ahpa_prom_endpoint ep, double took_s,
                   int rc)
{
    struct endpoint_stats *s = &c->stats[ep];
    atomic_fetch_add(&s->requests, 1);
    if (rc != 0)
        atomic_fetch_add(&s->failures, 1);
    atomic_fetch_add(&s->latency_sum_us, (uint_fast64_t)(took_s * 1e6));
    for (int i = 0; i < AHPA_PROM_LATENCY_BUCKETS; i++)
        if (took_s <= ahpa_prom_latency_bounds_s[i])
            atomic_fetch_add(&s->latency_le[i], 1);
}

/* Parameters of one call; values point into `text`. */
#define PROM_PARAMS_MAX 8
#define PROM_NUM_MAX 32

struct call {
    struct ahpa_httpc_param params[PROM_PARAMS_MAX];
    size_t n;
    char text[PROM_PARAMS_MAX][PROM_NUM_MAX];
};

int ahpa_prom_verb_parse(const char *s, enum ahpa_prom_verb *out, struct ahpa_error *err)
{
    if (s != NULL && ahpa_str_ieq(s, "GET"))
        *out = AHPA_PROM_GET;
    else if (s != NULL && ahpa_str_ieq(s, "POST"))
        *out = AHPA_PROM_POST;
    else
        return ahpa_error_set(err, AHPA_ECONFIG, "--prometheus-verb \"%.16s\": want GET or POST",
                              s ? s : "");
    return 0;
}

struct ahpa_prom_client *ahpa_prom_client_new(const struct ahpa_prom_options *opts,
                                              struct ahpa_error *err)
{
    if (opts == NULL || opts->url == NULL || *opts->url == '\0') {
        ahpa_error_set(err, AHPA_ECONFIG, "no Prometheus URL (--prometheus-url)");
        return NULL;
    }
    struct ahpa_httpc_options h = {
        .base_url = opts->url,
        .ca_file = opts->ca_file,
        .insecure_skip_verify = opts->insecure_skip_verify,
        .cert_file = opts->cert_file,
        .key_file = opts->key_file,
        .token_file = opts->token_file,
        .token = opts->token,
        .headers = opts->headers,
        .n_headers = opts->n_headers,
        .timeout_ms = opts->timeout_ms,
        .max_response_bytes = opts->max_response_bytes,
        .compress = opts->compress,
    };
    struct ahpa_httpc_client *http = ahpa_httpc_client_new(&h, err);
    if (http == NULL)
        return NULL;
    struct ahpa_prom_client *c = ahpa_calloc(1, sizeof(*c));
    c->http = http;
    c->method = opts->verb == AHPA_PROM_POST ? AHPA_HTTPC_POST : AHPA_HTTPC_GET;
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : AHPA_HTTPC_DEFAULT_TIMEOUT_MS;
    return c;
}

void ahpa_prom_client_free(struct ahpa_prom_client *c)
{
    if (c == NULL)
        return;
    ahpa_httpc_client_free(c->http);
    free(c);
}

void ahpa_prom_client_cancel(struct ahpa_prom_client *c)
{
    if (c != NULL)
        ahpa_httpc_client_cancel(c->http);
}

const char *ahpa_prom_client_url(const struct ahpa_prom_client *c)
{
    return ahpa_httpc_client_url(c->http);
}

static void add_param(struct call *k, const char *name, const char *value)
{
    k->params[k->n].name = name;
    k->params[k->n].value = value;
    k->n++;
}

/* Milliseconds as Prometheus' float seconds, exactly ("1700000000.250"). */
static void add_time(struct call *k, const char *name, int64_t ms)
{
    char *t = k->text[k->n];
    const char *sign = ms < 0 ? "-" : "";
    uint64_t a = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    snprintf(t, PROM_NUM_MAX, "%s%" PRIu64 ".%03" PRIu64, sign, a / 1000, a % 1000);
    add_param(k, name, t);
}

static void add_timeout(struct call *k, int64_t timeout_ms)
{
    char *t = k->text[k->n];
    snprintf(t, PROM_NUM_MAX, "%" PRId64 "ms", timeout_ms);
    add_param(k, "timeout", t);
}

static int perform(struct ahpa_prom_client *c, enum ahpa_prom_endpoint ep, const char *path,
                   const struct ahpa_httpc_param *params, size_t n_params,
                   struct ahpa_prom_result *out, struct ahpa_error *err)
{
    double t0 = monotonic_s();
    struct ahpa_httpc_request req = {.method = c->method, .path = path, .params = params,
                                     .n_params = n_params};
    struct ahpa_httpc_response resp;
    ahpa_httpc_response_init(&resp);
    int rc = ahpa_httpc_do(c->http, &req, &resp, err);
    if (rc == 0)
        rc = ahpa_prom_parse_response(resp.status, resp.content_type, resp.body.data,
                                      resp.body.len, out, err);
    else
        ahpa_prom__result_reset(out);
    AHPA_LOG_V(4, "prometheus %s: HTTP %ld, %zu bytes, %.3f s, rc %d", path, resp.status,
               resp.body.len, resp.elapsed_s, rc);
    for (size_t i = 0; rc == 0 && i < out->n_warnings; i++)
        AHPA_LOG_V(2, "prometheus %s warning: %.200s", path, out->warnings[i]);
    ahpa_httpc_response_dispose(&resp);
    record(c, ep, monotonic_s() - t0, rc);
    return rc;
}

static int run(struct ahpa_prom_client *c, enum ahpa_prom_endpoint ep, const struct call *k,
               struct ahpa_prom_result *out, struct ahpa_error *err)
{
    return perform(c, ep, endpoint_paths[ep], k->params, k->n, out, err);
}

static int check_query(struct ahpa_prom_client *c, const char *promql,
                       struct ahpa_prom_result *out, struct ahpa_error *err)
{
    if (c == NULL || out == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "prometheus: no client or result");
    if (promql == NULL || *promql == '\0')
        return ahpa_error_set(err, AHPA_EINVAL, "prometheus: empty query");
    return 0;
}

int ahpa_prom_query(struct ahpa_prom_client *c, const char *promql, int64_t time_ms,
                    struct ahpa_prom_result *out, struct ahpa_error *err)
{
    int rc = check_query(c, promql, out, err);
    if (rc != 0)
        return rc;
    struct call k = {.n = 0};
    add_param(&k, "query", promql);
    if (time_ms >= 0)
        add_time(&k, "time", time_ms);
    add_timeout(&k, c->timeout_ms);
    rc = run(c, AHPA_PROM_EP_QUERY, &k, out, err);
    if (rc == 0 && out->type != AHPA_PROM_RESULT_VECTOR && out->type != AHPA_PROM_RESULT_SCALAR &&
        out->type != AHPA_PROM_RESULT_STRING)
        rc = ahpa_error_set(err, AHPA_EUPSTREAM, "prometheus: query gave no instant result");
    return rc;
}

int ahpa_prom_query_range(struct ahpa_prom_client *c, const char *promql, int64_t start_ms,
                          int64_t end_ms, int64_t step_ms, struct ahpa_prom_result *out,
                          struct ahpa_error *err)
{
    int rc = check_query(c, promql, out, err);
    if (rc != 0)
        return rc;
    if (step_ms <= 0 || end_ms < start_ms)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "prometheus: range needs step > 0 and end >= start");
    struct call k = {.n = 0};
    add_param(&k, "query", promql);
    add_time(&k, "start", start_ms);
    add_time(&k, "end", end_ms);
    add_time(&k, "step", step_ms);
    add_timeout(&k, c->timeout_ms);
    rc = run(c, AHPA_PROM_EP_QUERY_RANGE, &k, out, err);
    if (rc == 0 && out->type != AHPA_PROM_RESULT_MATRIX)
        rc = ahpa_error_set(err, AHPA_EUPSTREAM, "prometheus: query_range gave no matrix");
    return rc;
}

/* match[] parameters need their own array: there may be many. */
static int list_call(struct ahpa_prom_client *c, enum ahpa_prom_endpoint ep, const char *path,
                     const char *const *match,
                     size_t n_match, int64_t start_ms, int64_t end_ms,
                     struct ahpa_prom_result *out, struct ahpa_error *err)
{
    struct call tail = {.n = 0};
    if (start_ms >= 0)
        add_time(&tail, "start", start_ms);
    if (end_ms >= 0)
        add_time(&tail, "end", end_ms);
    struct ahpa_httpc_param *all = ahpa_calloc(n_match + tail.n + 1, sizeof(*all));
    for (size_t i = 0; i < n_match; i++)
        all[i] = (struct ahpa_httpc_param){"match[]", match[i]};
    memcpy(all + n_match, tail.params, tail.n * sizeof(*all));
    int rc = perform(c, ep, path, all, n_match + tail.n, out, err);
    free(all);
    return rc;
}

int ahpa_prom_series(struct ahpa_prom_client *c, const char *const *match, size_t n_match,
                     int64_t start_ms, int64_t end_ms, struct ahpa_prom_result *out,
                     struct ahpa_error *err)
{
    if (c == NULL || out == NULL || match == NULL || n_match == 0)
        return ahpa_error_set(err, AHPA_EINVAL, "prometheus: series needs a match[] selector");
    int rc = list_call(c, AHPA_PROM_EP_SERIES, endpoint_paths[AHPA_PROM_EP_SERIES], match, n_match, start_ms, end_ms, out, err);
    if (rc == 0 && out->type == AHPA_PROM_RESULT_STRINGS && out->n_strings == 0)
        out->type = AHPA_PROM_RESULT_SERIES; /* an empty list is an empty series list */
    if (rc == 0 && out->type != AHPA_PROM_RESULT_SERIES)
        rc = ahpa_error_set(err, AHPA_EUPSTREAM, "prometheus: series gave no label sets");
    return rc;
}

int ahpa_prom_labels(struct ahpa_prom_client *c, const char *const *match, size_t n_match,
                     int64_t start_ms, int64_t end_ms, struct ahpa_prom_result *out,
                     struct ahpa_error *err)
{
    if (c == NULL || out == NULL || (n_match > 0 && match == NULL))
        return ahpa_error_set(err, AHPA_EINVAL, "prometheus: labels without client or result");
    int rc = list_call(c, AHPA_PROM_EP_LABELS, endpoint_paths[AHPA_PROM_EP_LABELS], match, n_match, start_ms, end_ms, out, err);
    if (rc == 0 && out->type != AHPA_PROM_RESULT_STRINGS)
        rc = ahpa_error_set(err, AHPA_EUPSTREAM, "prometheus: labels gave no names");
    return rc;
}

static bool is_label_name(const char *s)
{
    if (s == NULL || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (s++; *s != '\0'; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

int ahpa_prom_label_values(struct ahpa_prom_client *c, const char *name,
                           const char *const *match, size_t n_match, int64_t start_ms,
                           int64_t end_ms, struct ahpa_prom_result *out, struct ahpa_error *err)
{
    if (c == NULL || out == NULL || (n_match > 0 && match == NULL))
        return ahpa_error_set(err, AHPA_EINVAL, "prometheus: label values without client");
    if (!is_label_name(name) || strlen(name) > 256)
        return ahpa_error_set(err, AHPA_EINVAL, "prometheus: \"%.64s\" is not a label name",
                              name ? name : "");
    char path[320];
    snprintf(path, sizeof(path), "/api/v1/label/%s/values", name);
    int rc = list_call(c, AHPA_PROM_EP_LABEL_VALUES, path, match, n_match, start_ms, end_ms,
                       out, err);
    if (rc == 0 && out->type != AHPA_PROM_RESULT_STRINGS)
        rc = ahpa_error_set(err, AHPA_EUPSTREAM, "prometheus: label values gave no strings");
    return rc;
}
