/* custom.metrics.k8s.io (v1beta1, v1beta2) and external.metrics.k8s.io
 * (v1beta1): path forms, query parameters and the exact wire shapes of
 * MetricValueList and ExternalMetricValueList. Values come from the
 * provider. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/api.h"
#include "ahpa/arena.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/httpd.h"
#include "ahpa/labelsel.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/provider.h"
#include "ahpa/quantity.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"
#include "api_int.h"

static const char *const get_verbs[] = {"get", NULL};

/* --- discovery from the registry ------------------------------------------ */

struct resource_list {
    struct ahpa_api_resource *items;
    char **names;
    size_t n, cap;
};

static void add_resource(struct resource_list *l, const char *name, bool namespaced,
                         const char *kind)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->items = ahpa_reallocarray(l->items, l->cap, sizeof(*l->items));
        l->names = ahpa_reallocarray(l->names, l->cap, sizeof(*l->names));
    }
    l->names[l->n] = ahpa_strdup(name);
    l->items[l->n] = (struct ahpa_api_resource){l->names[l->n], "", namespaced, kind, get_verbs};
    l->n++;
}

static void on_custom_metric(void *ctx, const struct ahpa_provider_metric *m)
{
    char name[512];
    if (m->group[0] != '\0')
        snprintf(name, sizeof(name), "%s.%s/%s", m->resource, m->group, m->metric);
    else
        snprintf(name, sizeof(name), "%s/%s", m->resource, m->metric);
    add_resource(ctx, name, m->namespaced, "MetricValueList");
}

static void on_external_metric(void *ctx, const struct ahpa_provider_metric *m)
{
    add_resource(ctx, m->metric, true, "ExternalMetricValueList");
}

static void resource_list_dispose(struct resource_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->items);
}

void ahpa_server_provider_changed(void *server)
{
    struct ahpa_server *s = server;
    if (s->provider == NULL)
        return;
    struct resource_list custom = {0}, external = {0};
    ahpa_provider_foreach(s->provider, false, on_custom_metric, &custom);
    ahpa_provider_foreach(s->provider, true, on_external_metric, &external);
    ahpa_server_set_resources(s, AHPA_GROUP_CUSTOM, "v1beta2", custom.items, custom.n, NULL);
    ahpa_server_set_resources(s, AHPA_GROUP_CUSTOM, "v1beta1", custom.items, custom.n, NULL);
    resource_list_dispose(&custom);
    ahpa_api__publish_external(s);
}

/* The external list: the controller's metrics, then the provider's. */
void ahpa_api__publish_external(struct ahpa_server *s)
{
    static const char *const controller_metrics[] = {
        "ahpa_desired_replicas", "ahpa_predicted_utilization", "ahpa_proactive_replicas",
        "ahpa_reactive_replicas"};
    struct resource_list external = {0};
    for (size_t i = 0; s->controller != NULL && i < 4; i++)
        add_resource(&external, controller_metrics[i], true, "ExternalMetricValueList");
    if (s->provider != NULL)
        ahpa_provider_foreach(s->provider, true, on_external_metric, &external);
    ahpa_server_set_resources(s, AHPA_GROUP_EXTERNAL, "v1beta1", external.items, external.n, NULL);
    resource_list_dispose(&external);
}

/* --- the response cache -------------------------------------------------------- */

static void key_arg(void *ctx, const char *k, const char *v)
{
    struct ahpa_buf *b = ctx;
    ahpa_buf_printf(b, "&%s=%s", k, v ? v : "");
}

/* The request as a cache key: version, path and every query parameter in
 * order (decoded, so "%2A" and "*" share an entry). */
static void request_key(const struct ahpa_api_call *call, struct ahpa_buf *key)
{
    ahpa_buf_printf(key, "%s\n%s\n", call->version, call->req->path);
    ahpa_httpd_request_query_foreach(call->req, key_arg, key);
}

static bool cached_answer(struct ahpa_server *s, const struct ahpa_buf *key,
                          struct ahpa_httpd_response *resp)
{
    ahpa_buf_reset(&resp->body);
    if (!ahpa_api__respcache_get(s->respcache, ahpa_buf_cstr(key), &resp->body))
        return false;
    resp->status = 200;
    resp->content_type = "application/json";
    return true;
}

static void remember_answer(struct ahpa_server *s, const char *key,
                            const struct ahpa_httpd_response *resp, int64_t valid_until_ms)
{
    if (resp->status == 200 && valid_until_ms > 0)
        ahpa_api__respcache_put(s->respcache, key, resp->body.data, resp->body.len,
                                valid_until_ms);
}

/* --- request parsing ---------------------------------------------------------- */

/* Parses a selector query parameter; NULL when absent or empty. */
static int selector_param(const struct ahpa_api_call *call, const char *param,
                          struct ahpa_labelsel **out, struct ahpa_error *err)
{
    *out = NULL;
    const char *text = ahpa_httpd_request_query(call->req, param);
    if (text == NULL || *text == '\0')
        return 0;
    struct ahpa_error inner = {0};
    int rc = ahpa_labelsel_parse(text, out, &inner);
    if (rc < 0)
        return ahpa_error_set(err, AHPA_EPARSE, "invalid %s: %s", param, inner.msg);
    return 0;
}

static json_t *selector_json(const struct ahpa_labelsel *sel)
{
    if (sel == NULL || ahpa_labelsel_is_empty(sel))
        return json_null();
    static const char *const ops[] = {"In", "NotIn", "In", "NotIn", "Exists", "DoesNotExist",
                                      "Gt", "Lt"};
    json_t *exprs = json_array();
    for (size_t i = 0; i < sel->nreqs; i++) {
        const struct ahpa_labelsel_req *r = &sel->reqs[i];
        json_t *e = json_pack("{s:s, s:s}", "key", r->key, "operator", ops[r->op]);
        if (r->nvalues > 0) {
            json_t *vals = json_array();
            for (size_t k = 0; k < r->nvalues; k++)
                json_array_append_new(vals, json_string(r->values[k]));
            json_object_set_new(e, "values", vals);
        }
        json_array_append_new(exprs, e);
    }
    return json_pack("{s:o}", "matchExpressions", exprs);
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 253 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
           strpbrk(s, "/%") == NULL;
}

struct custom_path {
    const char *ns, *resource, *group, *name, *metric;
};

/* The path forms of API.md section 3. */
static int parse_custom_path(const struct ahpa_api_call *call, struct custom_path *out,
                             struct ahpa_error *err)
{
    const char *const *seg = call->segments;
    size_t n = call->nsegments;
    memset(out, 0, sizeof(*out));
    if (n < 3)
        return ahpa_error_set(err, AHPA_EINVAL, "invalid request path");
    const char *resource;
    if (n == 4 && strcmp(seg[0], "namespaces") == 0 && strcmp(seg[2], "metrics") == 0) {
        resource = "namespaces";
        out->name = seg[1];
        out->metric = seg[3];
    } else if (n == 5 && strcmp(seg[0], "namespaces") == 0) {
        out->ns = seg[1];
        resource = seg[2];
        out->name = seg[3];
        out->metric = seg[4];
    } else if (n == 3) {
        resource = seg[0];
        out->name = seg[1];
        out->metric = seg[2];
    } else {
        return ahpa_error_set(err, AHPA_ENOTFOUND, "the server could not find the requested "
                                                   "resource");
    }
    if (out->ns != NULL && !ahpa_str_is_dns_label(out->ns))
        return ahpa_error_set(err, AHPA_EINVAL, "invalid namespace \"%.64s\"", out->ns);
    if (!valid_name(out->name) || !valid_name(out->metric))
        return ahpa_error_set(err, AHPA_EINVAL, "invalid object or metric name");
    const char *dot = strchr(resource, '.');
    out->resource = dot ? ahpa_arena_strndup(call->req->arena, resource, (size_t)(dot - resource))
                        : resource;
    out->group = dot ? dot + 1 : "";
    if (!ahpa_str_is_dns_label(out->resource))
        return ahpa_error_set(err, AHPA_EINVAL, "invalid resource \"%.64s\"", resource);
    return 0;
}

/* --- rendering ------------------------------------------------------------------- */

static json_t *custom_item(const char *version, const struct custom_path *cp,
                           const struct ahpa_provider_value *v, int64_t window_s,
                           const struct ahpa_labelsel *msel)
{
    const char *kind, *api_version;
    bool namespaced;
    ahpa_provider_kind(cp->group, cp->resource, &kind, &api_version, &namespaced);
    json_t *obj = json_pack("{s:s}", "kind", kind);
    if (v->ns != NULL)
        json_object_set_new(obj, "namespace", json_string(v->ns));
    json_object_set_new(obj, "name", json_string(v->name ? v->name : ""));
    json_object_set_new(obj, "apiVersion", json_string(api_version));
    json_t *item = json_pack("{s:o}", "describedObject", obj);
    bool v1beta1 = strcmp(version, "v1beta1") == 0;
    if (v1beta1) {
        json_object_set_new(item, "metricName", json_string(cp->metric));
        json_object_set_new(item, "timestamp", ahpa_api__timestamp(v->t_s));
        if (window_s > 0)
            json_object_set_new(item, "window", json_integer(window_s));
        json_object_set_new(item, "value", ahpa_api__quantity(v->value));
        json_object_set_new(item, "selector", selector_json(msel));
    } else {
        json_object_set_new(item, "metric", json_pack("{s:s, s:o}", "name", cp->metric, "selector",
                                                      selector_json(msel)));
        json_object_set_new(item, "timestamp", ahpa_api__timestamp(v->t_s));
        if (window_s > 0)
            json_object_set_new(item, "windowSeconds", json_integer(window_s));
        json_object_set_new(item, "value", ahpa_api__quantity(v->value));
    }
    return item;
}

/* --- answering: from memory on the request thread, or on a worker ----------- */

/* One metric request, everything needed to answer it without the HTTP
 * request. On the request thread its strings are borrowed from the
 * request; a deferred copy owns them in its own arena. */
struct metric_job {
    struct ahpa_server *s;
    struct ahpa_arena *arena;        /* deferred copies only */
    bool external, pretty;
    const char *key;                 /* response cache key */
    const char *group, *version;
    struct custom_path cp;           /* external: ns and metric only */
    struct ahpa_labelsel *sel, *msel; /* owned */
};

static int answer_custom(const struct metric_job *j, bool cached_only,
                         struct ahpa_httpd_response *resp, struct ahpa_error *err)
{
    const struct custom_path *cp = &j->cp;
    struct ahpa_provider_custom_query q = {cp->group, cp->resource, cp->ns,  cp->name,
                                           j->sel,    cp->metric,   j->msel, cached_only};
    struct ahpa_provider_values vals = {0};
    int rc = ahpa_provider_custom(j->s->provider, &q, &vals, err);
    if (rc < 0)
        return rc;
    json_t *items = json_array();
    for (size_t i = 0; i < vals.n; i++)
        json_array_append_new(items,
                              custom_item(j->version, cp, &vals.items[i], vals.window_s, j->msel));
    char api_version[64];
    snprintf(api_version, sizeof(api_version), "%s/%s", j->group, j->version);
    json_t *doc = json_pack("{s:s, s:s, s:{}, s:o}", "kind", "MetricValueList", "apiVersion",
                            api_version, "metadata", "items", items);
    ahpa_api__json_answer(resp, doc, j->pretty);
    json_decref(doc);
    resp->status = 200;
    remember_answer(j->s, j->key, resp, vals.valid_until_ms);
    ahpa_provider_values_dispose(&vals);
    return 0;
}

static void external_items(const char *metric, const struct ahpa_provider_values *vals,
                           json_t *items)
{
    for (size_t i = 0; i < vals->n; i++) {
        const struct ahpa_provider_value *v = &vals->items[i];
        json_t *labels = json_object();
        for (size_t k = 0; k < v->nlabels; k++)
            json_object_set_new(labels, v->label_names[k], json_string(v->label_values[k]));
        json_t *item = json_pack("{s:s, s:o, s:o}", "metricName", metric, "metricLabels", labels,
                                 "timestamp", ahpa_api__timestamp(v->t_s));
        if (vals->window_s > 0)
            json_object_set_new(item, "window", json_integer(vals->window_s));
        json_object_set_new(item, "value", ahpa_api__quantity(v->value));
        json_array_append_new(items, item);
    }
}

static void external_answer(struct ahpa_httpd_response *resp, json_t *items, bool pretty)
{
    json_t *doc = json_pack("{s:s, s:s, s:{}, s:o}", "kind", "ExternalMetricValueList",
                            "apiVersion", "external.metrics.k8s.io/v1beta1", "metadata", "items",
                            items);
    ahpa_api__json_answer(resp, doc, pretty);
    json_decref(doc);
    resp->status = 200;
}

static int answer_external(const struct metric_job *j, bool cached_only,
                           struct ahpa_httpd_response *resp, struct ahpa_error *err)
{
    struct ahpa_provider_values vals = {0};
    int rc = ahpa_provider_external(j->s->provider, j->cp.ns, j->cp.metric, j->sel, cached_only,
                                    &vals, err);
    if (rc < 0)
        return rc;
    json_t *items = json_array();
    external_items(j->cp.metric, &vals, items);
    external_answer(resp, items, j->pretty);
    ahpa_provider_values_dispose(&vals);
    return 0;
}

static int answer(const struct metric_job *j, bool cached_only, struct ahpa_httpd_response *resp,
                  struct ahpa_error *err)
{
    return j->external ? answer_external(j, cached_only, resp, err)
                       : answer_custom(j, cached_only, resp, err);
}

static void job_free(void *arg)
{
    struct metric_job *j = arg;
    ahpa_labelsel_free(j->sel);
    ahpa_labelsel_free(j->msel);
    ahpa_arena_free(j->arena);
}

/* On a worker thread: may wait on Prometheus. */
static void job_run(void *arg, struct ahpa_httpd_response *resp)
{
    const struct metric_job *j = arg;
    struct ahpa_error err = {0};
    int rc = answer(j, false, resp, &err);
    if (rc < 0) {
        if (ahpa_api_http_code(rc) >= 500)
            AHPA_LOG_WARN_REPEAT("metric request failed", ahpa_strerror(rc), "%.256s: %s",
                                 j->key, ahpa_error_message(&err, rc));
        ahpa_api_error(resp, rc, &err);
    }
}

static const char *dup_or_null(struct ahpa_arena *a, const char *s)
{
    return s != NULL ? ahpa_arena_strdup(a, s) : NULL;
}

/* Hands the request to a worker; the selectors move into the job. At the
 * in-flight limit the answer is a quick 503 (never 429: the HPA backs off
 * badly on it). */
static void defer(const struct ahpa_api_call *call, struct metric_job *stack,
                  struct ahpa_httpd_response *resp)
{
    struct ahpa_arena *a = ahpa_arena_new(1024);
    struct metric_job *j = ahpa_arena_alloc(a, sizeof(*j));
    *j = *stack;
    j->arena = a;
    j->key = ahpa_arena_strdup(a, stack->key);
    j->group = ahpa_arena_strdup(a, stack->group);
    j->version = ahpa_arena_strdup(a, stack->version);
    j->cp.ns = dup_or_null(a, stack->cp.ns);
    j->cp.resource = dup_or_null(a, stack->cp.resource);
    j->cp.group = dup_or_null(a, stack->cp.group);
    j->cp.name = dup_or_null(a, stack->cp.name);
    j->cp.metric = dup_or_null(a, stack->cp.metric);
    if (ahpa_httpd_defer(call->req, job_run, job_free, j) == 0) {
        stack->sel = stack->msel = NULL;
        return;
    }
    ahpa_arena_free(a);
    ahpa_api_status(resp, 503, "too many metric queries waiting on the metrics backend, "
                               "please try again later");
}

/* From memory when the caches have it, else on a worker. */
static int answer_or_defer(const struct ahpa_api_call *call, struct metric_job *j,
                           struct ahpa_httpd_response *resp, struct ahpa_error *err)
{
    int rc = answer(j, true, resp, err);
    if (rc == -AHPA_EUNAVAIL) {
        memset(err, 0, sizeof(*err));
        defer(call, j, resp);
        rc = 0;
    }
    ahpa_labelsel_free(j->sel);
    ahpa_labelsel_free(j->msel);
    return rc;
}

static int custom_handler(void *ctx, const struct ahpa_api_call *call,
                          struct ahpa_httpd_response *resp, struct ahpa_error *err)
{
    struct ahpa_server *s = ctx;
    struct metric_job j = {.s = s, .group = call->group, .version = call->version,
                           .pretty = ahpa_httpd_request_has_query(call->req, "pretty")};
    int rc = parse_custom_path(call, &j.cp, err);
    if (rc < 0)
        return rc;
    struct ahpa_buf key;
    ahpa_buf_init(&key);
    request_key(call, &key);
    if (cached_answer(s, &key, resp)) {
        ahpa_buf_dispose(&key);
        return 0;
    }
    j.key = ahpa_buf_cstr(&key);
    if ((rc = selector_param(call, "labelSelector", &j.sel, err)) == 0 &&
        (rc = selector_param(call, "metricLabelSelector", &j.msel, err)) == 0) {
        rc = answer_or_defer(call, &j, resp, err);
    } else {
        ahpa_labelsel_free(j.sel);
        ahpa_labelsel_free(j.msel);
    }
    ahpa_buf_dispose(&key);
    return rc;
}

int ahpa_api__external_handler(void *ctx, const struct ahpa_api_call *call,
                            struct ahpa_httpd_response *resp, struct ahpa_error *err)
{
    struct ahpa_server *s = ctx;
    const char *const *seg = call->segments;
    if (call->nsegments < 3)
        return ahpa_error_set(err, AHPA_EINVAL, "invalid request path");
    if (call->nsegments != 3 || strcmp(seg[0], "namespaces") != 0)
        return ahpa_error_set(err, AHPA_ENOTFOUND, "the server could not find the requested "
                                                   "resource");
    if (!ahpa_str_is_dns_label(seg[1]))
        return ahpa_error_set(err, AHPA_EINVAL, "invalid namespace \"%.64s\"", seg[1]);
    if (!valid_name(seg[2]))
        return ahpa_error_set(err, AHPA_EINVAL, "invalid metric name");
    struct metric_job j = {.s = s, .external = true, .group = call->group,
                           .version = call->version, .key = call->req->path,
                           .pretty = ahpa_httpd_request_has_query(call->req, "pretty"),
                           .cp = {.ns = seg[1], .metric = seg[2]}};
    int rc = selector_param(call, "labelSelector", &j.sel, err);
    if (rc < 0)
        return rc;
    if (s->controller != NULL && ahpa_api__is_controller_metric(seg[2])) {
        /* The controller's plans are in memory. */
        json_t *items = json_array();
        rc = ahpa_api__controller_external(s, call, seg[1], seg[2], j.sel, items, err);
        ahpa_labelsel_free(j.sel);
        if (rc < 0) {
            json_decref(items);
            return rc;
        }
        external_answer(resp, items, j.pretty);
        return 0;
    }
    if (s->provider == NULL) {
        ahpa_labelsel_free(j.sel);
        return ahpa_error_set(err, AHPA_ENOTFOUND,
                              "the server could not find the external metric %s", seg[2]);
    }
    return answer_or_defer(call, &j, resp, err);
}

static int check_prometheus(void *ctx, char *reason, size_t n)
{
    struct ahpa_server *s = ctx;
    return ahpa_provider_health(s->provider, reason, n);
}

void ahpa_server_use_provider(struct ahpa_server *s, struct ahpa_provider *p)
{
    s->provider = p;
    ahpa_server_set_handler(s, AHPA_GROUP_CUSTOM, custom_handler, s);
    ahpa_server_set_handler(s, AHPA_GROUP_EXTERNAL, ahpa_api__external_handler, s);
    ahpa_server_add_collector(s, ahpa_provider_collect, p);
    /* Prometheus health is reported on /healthz only: a failing /readyz
     * would take the whole APIService (and discovery) out of the cluster
     * while Prometheus is merely slow or down. */
    ahpa_server_add_check(s, "prometheus", AHPA_CHECK_HEALTHZ, check_prometheus, s, NULL);
    ahpa_server_provider_changed(s);
}
