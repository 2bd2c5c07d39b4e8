/* Rendering a rule's metricsQuery for a request.
 *
 * The template data follow prometheus-adapter's metricsQuery.Build: the
 * metric selector's matchers, then the namespace, then the objects asked
 * for. Every value reaches the query through ahpa_labelsel's PromQL
 * quoting; object names are regex-quoted when they become alternatives. */
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/mem.h"
#include "rules_int.h"

struct query_data {
    struct ahpa_buf matchers;
    struct ahpa_rules__kv *values;
    size_t nvalues;
    char **group_by;
    size_t ngroup_by;
};

static void data_dispose(struct query_data *d)
{
    ahpa_buf_dispose(&d->matchers);
    for (size_t i = 0; i < d->nvalues; i++) {
        free(d->values[i].key);
        free(d->values[i].value);
    }
    free(d->values);
    for (size_t i = 0; i < d->ngroup_by; i++)
        free(d->group_by[i]);
    free(d->group_by);
}

/* LabelValuesByName[key] = the values as the inside of a PromQL string
 * holding a regex that matches exactly them; later sets win, as in a Go
 * map assignment. */
static void set_value(struct query_data *d, const char *key,
                      const char *const *vals, size_t n)
{
    struct ahpa_buf q;
    ahpa_buf_init(&q);
    ahpa_labelsel_promql_alternatives(&q, vals, n);
    char *inner = ahpa_strndup(q.data + 1, q.len - 2);
    ahpa_buf_dispose(&q);
    size_t pos = 0;
    while (pos < d->nvalues && strcmp(d->values[pos].key, key) < 0)
        pos++;
    if (pos < d->nvalues && strcmp(d->values[pos].key, key) == 0) {
        free(d->values[pos].value);
        d->values[pos].value = inner;
        return;
    }
    d->values = ahpa_reallocarray(d->values, d->nvalues + 1, sizeof(*d->values));
    memmove(&d->values[pos + 1], &d->values[pos],
            (d->nvalues - pos) * sizeof(*d->values));
    d->values[pos].key = ahpa_strdup(key);
    d->values[pos].value = inner;
    d->nvalues++;
}

static int add_selector(struct query_data *d,
                        const struct ahpa_labelsel *sel,
                        struct ahpa_error *err)
{
    if (ahpa_labelsel_is_empty(sel))
        return 0;
    int rc = ahpa_labelsel_render_promql(sel, NULL, &d->matchers, err);
    for (size_t i = 0; rc == 0 && i < sel->nreqs; i++)
        set_value(d, sel->reqs[i].key,
                  (const char *const *)sel->reqs[i].values,
                  sel->reqs[i].nvalues);
    return rc;
}

/* Appends `label="v"` (one value) or `label=~"a|b"`. */
static void add_matcher(struct query_data *d, const char *label,
                        const char *const *vals, size_t n)
{
    if (d->matchers.len)
        ahpa_buf_putc(&d->matchers, ',');
    ahpa_buf_puts(&d->matchers, label);
    if (n == 1) {
        ahpa_buf_putc(&d->matchers, '=');
        ahpa_labelsel_promql_quote(&d->matchers, vals[0], strlen(vals[0]));
    } else {
        ahpa_buf_puts(&d->matchers, "=~");
        ahpa_labelsel_promql_alternatives(&d->matchers, vals, n);
    }
    set_value(d, label, vals, n);
}

static int add_namespace(const struct ahpa_rules_rule *r,
                         struct query_data *d, const char *ns, bool fallback,
                         struct ahpa_error *err)
{
    if (!ns || !*ns)
        return 0;
    struct ahpa_buf lbl;
    ahpa_buf_init(&lbl);
    struct ahpa_error inner = {0};
    int rc = ahpa_rules_label_for_resource(r, "", "namespaces", &lbl, &inner);
    if (rc == -AHPA_ENOTFOUND && fallback) {
        ahpa_buf_puts(&lbl, "namespace");
        rc = 0;
    }
    if (rc == 0 && !ahpa_labelsel_is_prom_label_name(lbl.data))
        rc = ahpa_error_set(err, AHPA_ECONFIG, "namespace label %s is not a "
                            "valid Prometheus label name", lbl.data);
    else if (rc != 0)
        ahpa_error_set(err, -rc, "%s", inner.msg);
    if (rc == 0)
        add_matcher(d, lbl.data, &ns, 1);
    ahpa_buf_dispose(&lbl);
    return rc;
}

static int push_group_by(struct query_data *d, const char *label,
                         struct ahpa_error *err)
{
    if (!ahpa_labelsel_is_prom_label_name(label))
        return ahpa_error_set(err, AHPA_EINVAL, "group-by label %.64s is not "
                              "a valid Prometheus label name", label);
    d->group_by = ahpa_reallocarray(d->group_by, d->ngroup_by + 1,
                                    sizeof(char *));
    d->group_by[d->ngroup_by++] = ahpa_strdup(label);
    return 0;
}

static int execute(const struct ahpa_rules_rule *r, const char *series,
                   struct query_data *d, struct ahpa_buf *out,
                   struct ahpa_error *err)
{
    struct ahpa_buf gb;
    ahpa_buf_init(&gb);
    ahpa_buf_append(&gb, "", 0);
    for (size_t i = 0; i < d->ngroup_by; i++) {
        if (i)
            ahpa_buf_putc(&gb, ',');
        ahpa_buf_puts(&gb, d->group_by[i]);
    }
    ahpa_buf_append(&d->matchers, "", 0);
    struct ahpa_rules__args a = {
        .series = series,
        .label_matchers = d->matchers.data,
        .group_by = gb.data,
        .group_by_slice = (const char *const *)d->group_by,
        .ngroup_by = d->ngroup_by,
        .values = d->values,
        .nvalues = d->nvalues,
    };
    size_t before = out->len;
    int rc = ahpa_rules__tmpl_exec(&r->metrics_query, &a, out, err);
    if (rc == 0 && out->len == before)
        rc = ahpa_error_set(err, AHPA_ECONFIG, "empty query produced by "
                            "metrics query template");
    ahpa_buf_dispose(&gb);
    return rc;
}

static int check_series(const char *series, struct ahpa_error *err)
{
    if (!series || !*series)
        return ahpa_error_set(err, AHPA_EINVAL, "no series name");
    for (const char *p = series; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              c == ':' || (p > series && c >= '0' && c <= '9')))
            return ahpa_error_set(err, AHPA_EINVAL, "series name is not a "
                                  "valid Prometheus metric name");
    }
    return 0;
}

int ahpa_rules_render_query(const struct ahpa_rules_rule *r,
                            const struct ahpa_rules_query *q,
                            struct ahpa_buf *out, struct ahpa_error *err)
{
    if (!r || !q || !q->resource || !*q->resource)
        return ahpa_error_set(err, AHPA_EINVAL, "no rule or resource");
    if (q->nnames == 0 || !q->names)
        return ahpa_error_set(err, AHPA_EINVAL, "no object names");
    int rc = check_series(q->series, err);
    if (rc != 0)
        return rc;
    struct query_data d = {0};
    ahpa_buf_init(&d.matchers);
    struct ahpa_buf lbl;
    ahpa_buf_init(&lbl);
    rc = add_selector(&d, q->metric_selector, err);
    if (rc == 0)
        rc = add_namespace(r, &d, q->namespace, false, err);
    if (rc == 0)
        rc = ahpa_rules_label_for_resource(r, q->group, q->resource, &lbl, err);
    if (rc == 0)
        rc = push_group_by(&d, lbl.data, err);
    if (rc == 0)
        add_matcher(&d, lbl.data, q->names, q->nnames);
    for (size_t i = 0; rc == 0 && i < q->nextra_group_by; i++)
        rc = push_group_by(&d, q->extra_group_by[i], err);
    if (rc == 0)
        rc = execute(r, q->series, &d, out, err);
    ahpa_buf_dispose(&lbl);
    data_dispose(&d);
    return rc;
}

int ahpa_rules_render_external(const struct ahpa_rules_rule *r,
                               const char *series, const char *namespace,
                               const struct ahpa_labelsel *selector,
                               struct ahpa_buf *out, struct ahpa_error *err)
{
    if (!r)
        return ahpa_error_set(err, AHPA_EINVAL, "no rule");
    int rc = check_series(series, err);
    if (rc != 0)
        return rc;
    struct query_data d = {0};
    ahpa_buf_init(&d.matchers);
    rc = add_selector(&d, selector, err);
    if (rc == 0 && r->namespaced)
        rc = add_namespace(r, &d, namespace, true, err);
    if (rc == 0)
        rc = execute(r, series, &d, out, err);
    data_dispose(&d);
    return rc;
}
