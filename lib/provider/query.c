/* Custom and external metric values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/mem.h"
#include "ahpa/rules.h"
#include "ahpa/str.h"
#include "provider_int.h"

/* Objects per query: a longer regex alternation is split. */
#define NAMES_PER_QUERY 500

void ahpa_provider_kind(const char *group, const char *resource, const char **kind,
                        const char **api_version, bool *namespaced)
{
    static const struct {
        const char *group, *resource, *kind, *api_version;
        bool namespaced;
    } known[] = {
        {"", "pods", "Pod", "/v1", true},
        {"", "namespaces", "Namespace", "/v1", false},
        {"", "nodes", "Node", "/v1", false},
        {"", "services", "Service", "/v1", true},
        {"", "persistentvolumeclaims", "PersistentVolumeClaim", "/v1", true},
        {"apps", "deployments", "Deployment", "apps/v1", true},
        {"apps", "statefulsets", "StatefulSet", "apps/v1", true},
        {"apps", "replicasets", "ReplicaSet", "apps/v1", true},
        {"apps", "daemonsets", "DaemonSet", "apps/v1", true},
        {"batch", "jobs", "Job", "batch/v1", true},
        {"batch", "cronjobs", "CronJob", "batch/v1", true},
        {"networking.k8s.io", "ingresses", "Ingress", "networking.k8s.io/v1", true},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(known[i].resource, resource) == 0 &&
            (group == NULL || *group == '\0' || strcmp(group, known[i].group) == 0)) {
            *kind = known[i].kind;
            *api_version = known[i].api_version;
            *namespaced = known[i].namespaced;
            return;
        }
    }
    *kind = "";
    *api_version = "";
    *namespaced = true;
}

void ahpa_provider_values_dispose(struct ahpa_provider_values *v)
{
    for (size_t i = 0; i < v->n; i++) {
        struct ahpa_provider_value *x = &v->items[i];
        free(x->ns);
        free(x->name);
        for (size_t k = 0; k < x->nlabels; k++) {
            free(x->label_names[k]);
            free(x->label_values[k]);
        }
        free(x->label_names);
        free(x->label_values);
    }
    free(v->items);
    memset(v, 0, sizeof(*v));
}

static struct ahpa_provider_value *push(struct ahpa_provider_values *v, size_t *cap)
{
    if (v->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        v->items = ahpa_reallocarray(v->items, *cap, sizeof(*v->items));
    }
    struct ahpa_provider_value *x = &v->items[v->n++];
    memset(x, 0, sizeof(*x));
    return x;
}

/* NaN and infinities are not values: the object has none. Negative values
 * are clamped to 0 (usage metrics; the HPA averages them). */
static bool usable(double *v)
{
    if (!isfinite(*v) || fabs(*v) >= 9.2e15)
        return false;
    if (*v < 0)
        *v = 0;
    return true;
}

/* A PromQL duration ("5m", "1h30m", "1d", "2w") in seconds, or -1. */
static int64_t promql_duration_s(const char *p, size_t n)
{
    static const struct {
        const char *unit;
        double s;
    } units[] = {{"ms", 0.001}, {"s", 1},      {"m", 60},       {"h", 3600},
                 {"d", 86400},  {"w", 604800}, {"y", 31536000}};
    double total = 0;
    size_t i = 0;
    while (i < n) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        double v = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            v = v * 10 + (p[i++] - '0');
        size_t u;
        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
            size_t len = strlen(units[u].unit);
            if (i + len <= n && strncmp(p + i, units[u].unit, len) == 0 &&
                !(len == 1 && p[i] == 'm' && i + 1 < n && p[i + 1] == 's')) {
                total += v * units[u].s;
                i += len;
                break;
            }
        }
        if (u == sizeof(units) / sizeof(units[0]))
            return -1;
    }
    return (int64_t)total;
}

/* The longest range selector ("[2m]", or a subquery's "[1h:5m]") in a
 * query, in seconds: the window the value covers; 0 when none. */
static int64_t window_of(const char *promql)
{
    int64_t best = 0;
    for (const char *p = strchr(promql, '['); p != NULL; p = strchr(p + 1, '[')) {
        size_t n = strcspn(p + 1, "]:");
        if (p[1 + n] == '\0' || n == 0 || n > 32)
            continue;
        int64_t s = promql_duration_s(p + 1, n);
        if (s > best)
            best = s;
    }
    return best;
}

static int run_query(struct ahpa_provider *p, const char *promql, const char *label,
                     const char *ns, struct ahpa_provider_values *out, size_t *cap,
                     bool keep_labels, bool cached_only, struct ahpa_error *err)
{
    struct ahpa_provider__cached *res = NULL;
    int rc = ahpa_provider__cache_query(p, promql, cached_only, &res, err);
    if (rc < 0)
        return rc;
    int64_t w = window_of(promql);
    if (w > out->window_s)
        out->window_s = w;
    int64_t until = res->fetched_ms + p->opt.cache_ttl_ms;
    if (out->valid_until_ms == 0 || until < out->valid_until_ms)
        out->valid_until_ms = until;
    const struct ahpa_prom_result *r = &res->result;
    for (size_t i = 0; i < r->n_series; i++) {
        const struct ahpa_prom_series *s = &r->series[i];
        if (s->n_samples == 0)
            continue;
        double v = s->samples[s->n_samples - 1].value;
        const char *name = label ? ahpa_prom_series_label(s, label) : NULL;
        if (!usable(&v) || (label != NULL && name == NULL))
            continue;
        struct ahpa_provider_value *x = push(out, cap);
        x->ns = ns ? ahpa_strdup(ns) : NULL;
        x->name = name ? ahpa_strdup(name) : NULL;
        x->t_s = s->samples[s->n_samples - 1].t_ms / 1000;
        x->value = v;
        if (keep_labels) {
            x->label_names = ahpa_calloc(s->n_labels + 1, sizeof(char *));
            x->label_values = ahpa_calloc(s->n_labels + 1, sizeof(char *));
            for (size_t k = 0; k < s->n_labels; k++) {
                if (strcmp(s->labels[k].name, "__name__") == 0)
                    continue;
                x->label_names[x->nlabels] = ahpa_strdup(s->labels[k].name);
                x->label_values[x->nlabels++] = ahpa_strdup(s->labels[k].value);
            }
        }
    }
    ahpa_ref_release(&res->ref);
    return 0;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Every object that has the metric: the values of its resource label in
 * the rule's series (within the namespace, if any). */
static int names_from_series(struct ahpa_provider *p, const struct ahpa_provider__entry *e,
                             const char *ns, bool cached_only, char ***names, size_t *n,
                             struct ahpa_error *err)
{
    struct ahpa_buf label, ns_label, q;
    ahpa_buf_init(&label);
    ahpa_buf_init(&ns_label);
    ahpa_buf_init(&q);
    int rc = ahpa_rules_label_for_resource(e->rule, e->group, e->resource, &label, err);
    if (rc == 0 && ns != NULL)
        rc = ahpa_rules_label_for_resource(e->rule, "", "namespaces", &ns_label, err);
    if (rc == 0) {
        ahpa_buf_printf(&q, "group by (%s) (%s{%s!=\"\"", ahpa_buf_cstr(&label), e->series,
                        ahpa_buf_cstr(&label));
        if (ns != NULL) {
            ahpa_buf_printf(&q, ",%s=", ahpa_buf_cstr(&ns_label));
            ahpa_labelsel_promql_quote(&q, ns, strlen(ns));
        }
        ahpa_buf_puts(&q, "})");
        struct ahpa_provider__cached *res = NULL;
        rc = ahpa_provider__cache_query(p, ahpa_buf_cstr(&q), cached_only, &res, err);
        if (rc == 0) {
            *n = 0;
            *names = ahpa_calloc(res->result.n_series + 1, sizeof(char *));
            for (size_t i = 0; i < res->result.n_series; i++) {
                const char *v = ahpa_prom_series_label(&res->result.series[i],
                                                       ahpa_buf_cstr(&label));
                if (v != NULL)
                    (*names)[(*n)++] = ahpa_strdup(v);
            }
            ahpa_ref_release(&res->ref);
        }
    }
    ahpa_buf_dispose(&label);
    ahpa_buf_dispose(&ns_label);
    ahpa_buf_dispose(&q);
    return rc;
}

static int object_names(struct ahpa_provider *p, const struct ahpa_provider__entry *e,
                        const struct ahpa_provider_custom_query *q, char ***names, size_t *n,
                        struct ahpa_error *err)
{
    const char *group = q->group ? q->group : "";
    bool may_wait = !q->cached_only || p->opt.resolve_never_waits;
    if (strcmp(q->name, "*") != 0) {
        if (p->opt.exists != NULL) {
            if (!may_wait)
                return ahpa_error_set(err, AHPA_EUNAVAIL, "the resolver may wait");
            struct ahpa_error xerr = {0};
            int rc = p->opt.exists(p->opt.resolve_ctx, group, q->resource, q->ns, q->name, &xerr);
            if (rc == 0)
                return ahpa_error_set(err, AHPA_ENOTFOUND, "%s \"%s\" not found", q->resource,
                                      q->name);
            if (rc < 0 && rc != -AHPA_ENOTSUP)
                return ahpa_error_set(err, -rc, "%s", ahpa_error_message(&xerr, rc));
        }
        *names = ahpa_calloc(1, sizeof(char *));
        (*names)[0] = ahpa_strdup(q->name);
        *n = 1;
        return 0;
    }
    if (q->selector == NULL || ahpa_labelsel_is_empty(q->selector))
        return names_from_series(p, e, q->ns, q->cached_only, names, n, err);
    if (p->opt.resolve != NULL) {
        if (!may_wait) /* a custom resolver may block */
            return ahpa_error_set(err, AHPA_EUNAVAIL, "the resolver may wait");
        struct ahpa_error rerr = {0};
        int rc = p->opt.resolve(p->opt.resolve_ctx, group, q->resource, q->ns, q->selector,
                                names, n, &rerr);
        if (rc != -AHPA_ENOTSUP) {
            if (rc < 0)
                ahpa_error_set(err, -rc, "%s", ahpa_error_message(&rerr, rc));
            return rc;
        }
    }
    return ahpa_provider__ksm_resolve_cached(p, q->resource, q->ns, q->selector, q->cached_only,
                                             names, n, err);
}

static int query_names(struct ahpa_provider *p, const struct ahpa_provider__entry *e,
                       const struct ahpa_provider_custom_query *q, char **names, size_t n,
                       struct ahpa_provider_values *out, size_t *cap, struct ahpa_error *err)
{
    struct ahpa_buf label, promql;
    ahpa_buf_init(&label);
    ahpa_buf_init(&promql);
    int rc = ahpa_rules_label_for_resource(e->rule, e->group, e->resource, &label, err);
    for (size_t start = 0; rc == 0 && start < n; start += NAMES_PER_QUERY) {
        size_t count = n - start < NAMES_PER_QUERY ? n - start : NAMES_PER_QUERY;
        struct ahpa_rules_query rq = {
            .series = e->series, .group = e->group, .resource = e->resource,
            .names = (const char *const *)names + start, .nnames = count,
            .namespace = q->ns, .metric_selector = q->metric_selector,
        };
        ahpa_buf_reset(&promql);
        rc = ahpa_rules_render_query(e->rule, &rq, &promql, err);
        if (rc == 0)
            rc = run_query(p, ahpa_buf_cstr(&promql), ahpa_buf_cstr(&label), q->ns, out, cap,
                           false, q->cached_only, err);
    }
    ahpa_buf_dispose(&label);
    ahpa_buf_dispose(&promql);
    return rc;
}

/* One named object: keeps the newest value of exactly that object (in
 * its namespace) and drops the rest, so duplicate series or series of
 * other objects never make a second item. */
static void keep_one(struct ahpa_provider_values *out, const char *ns, const char *name)
{
    size_t best = out->n;
    for (size_t i = 0; i < out->n; i++) {
        const struct ahpa_provider_value *x = &out->items[i];
        bool same_ns = ns == NULL || (x->ns != NULL && strcmp(x->ns, ns) == 0);
        if (x->name == NULL || strcmp(x->name, name) != 0 || !same_ns)
            continue;
        if (best == out->n || x->t_s > out->items[best].t_s)
            best = i;
    }
    struct ahpa_provider_values rest = *out;
    out->items = NULL;
    out->n = 0;
    if (best < rest.n) {
        out->items = ahpa_calloc(1, sizeof(*out->items));
        out->items[0] = rest.items[best];
        out->n = 1;
        memmove(&rest.items[best], &rest.items[best + 1],
                (rest.n - best - 1) * sizeof(*rest.items));
        rest.n--;
    }
    ahpa_provider_values_dispose(&rest);
}

int ahpa_provider_custom(struct ahpa_provider *p, const struct ahpa_provider_custom_query *q,
                         struct ahpa_provider_values *out, struct ahpa_error *err)
{
    memset(out, 0, sizeof(*out));
    struct ahpa_provider__registry *r = ahpa_provider__registry_get(p);
    const struct ahpa_provider__entry *e =
        r ? ahpa_provider__find_custom(r, q->group, q->resource, q->metric) : NULL;
    if (e == NULL) {
        ahpa_provider__registry_release(r);
        return ahpa_error_set(err, AHPA_ENOTFOUND, "the server could not find the metric %s for %s",
                              q->metric, q->resource);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = object_names(p, e, q, &names, &n, err);
    if (rc == 0 && n > 0)
        rc = query_names(p, e, q, names, n, out, &cap, err);
    free_names(names, n);
    ahpa_provider__registry_release(r);
    if (rc == 0 && strcmp(q->name, "*") != 0)
        keep_one(out, q->ns, q->name);
    if (rc == 0 && strcmp(q->name, "*") != 0 && out->n == 0)
        rc = ahpa_error_set(err, AHPA_ENOTFOUND,
                            "the server could not find the metric %s for %s %s", q->metric,
                            q->resource, q->name);
    if (rc < 0)
        ahpa_provider_values_dispose(out);
    return rc;
}

int ahpa_provider_external(struct ahpa_provider *p, const char *ns, const char *metric,
                           const struct ahpa_labelsel *selector, bool cached_only,
                           struct ahpa_provider_values *out, struct ahpa_error *err)
{
    memset(out, 0, sizeof(*out));
    struct ahpa_provider__registry *r = ahpa_provider__registry_get(p);
    const struct ahpa_provider__entry *e = r ? ahpa_provider__find_external(r, metric) : NULL;
    if (e == NULL) {
        ahpa_provider__registry_release(r);
        return ahpa_error_set(err, AHPA_ENOTFOUND,
                              "the server could not find the external metric %s", metric);
    }
    struct ahpa_buf promql;
    ahpa_buf_init(&promql);
    size_t cap = 0;
    int rc = ahpa_rules_render_external(e->rule, e->series, ns, selector, &promql, err);
    if (rc == 0)
        rc = run_query(p, ahpa_buf_cstr(&promql), NULL, NULL, out, &cap, true, cached_only,
                       err);
    ahpa_buf_dispose(&promql);
    ahpa_provider__registry_release(r);
    if (rc < 0)
        ahpa_provider_values_dispose(out);
    return rc;
}

int ahpa_provider_external_promql(struct ahpa_provider *p, const char *ns, const char *metric,
                                  const struct ahpa_labelsel *selector, struct ahpa_buf *out,
                                  struct ahpa_error *err)
{
    struct ahpa_provider__registry *r = ahpa_provider__registry_get(p);
    const struct ahpa_provider__entry *e = r ? ahpa_provider__find_external(r, metric) : NULL;
    int rc = e == NULL ? ahpa_error_set(err, AHPA_ENOTFOUND,
                                        "the server could not find the external metric %s",
                                        metric)
                       : ahpa_rules_render_external(e->rule, e->series, ns, selector, out, err);
    ahpa_provider__registry_release(r);
    return rc;
}
