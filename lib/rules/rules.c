/* Rules: lifecycle, accessors, series matching and resource labels. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "rules_int.h"

void ahpa_rules__warn(struct ahpa_rules_config *cfg, const char *fmt, ...)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    ahpa_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    cfg->warnings = ahpa_reallocarray(cfg->warnings, cfg->nwarnings + 1,
                                      sizeof(char *));
    cfg->warnings[cfg->nwarnings++] = ahpa_buf_take(&b, NULL);
}

void ahpa_rules__rule_dispose(struct ahpa_rules_rule *r)
{
    free(r->series_query);
    for (size_t i = 0; i < r->nfilters; i++)
        ahpa_rules__regex_dispose(&r->filters[i].re);
    free(r->filters);
    if (r->has_name_re)
        ahpa_rules__regex_dispose(&r->name_re);
    free(r->name_as);
    for (size_t i = 0; i < r->noverrides; i++) {
        free(r->overrides[i].label);
        free(r->overrides[i].group);
        free(r->overrides[i].resource);
    }
    free(r->overrides);
    ahpa_rules__tmpl_dispose(&r->res_tmpl);
    free(r->metrics_query_src);
    ahpa_rules__tmpl_dispose(&r->metrics_query);
}

void ahpa_rules_free(struct ahpa_rules_config *cfg)
{
    if (!cfg)
        return;
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < cfg->nrules[k]; i++)
            ahpa_rules__rule_dispose(&cfg->rules[k][i]);
        free(cfg->rules[k]);
    }
    for (size_t i = 0; i < cfg->nwarnings; i++)
        free(cfg->warnings[i]);
    free(cfg->warnings);
    free(cfg);
}

size_t ahpa_rules_count(const struct ahpa_rules_config *cfg,
                        enum ahpa_rules_kind kind)
{
    return cfg && (unsigned)kind < 2 ? cfg->nrules[kind] : 0;
}

const struct ahpa_rules_rule *ahpa_rules_get(const struct ahpa_rules_config *cfg,
                                             enum ahpa_rules_kind kind,
                                             size_t i)
{
    return i < ahpa_rules_count(cfg, kind) ? &cfg->rules[kind][i] : NULL;
}

size_t ahpa_rules_warning_count(const struct ahpa_rules_config *cfg)
{
    return cfg ? cfg->nwarnings : 0;
}

const char *ahpa_rules_warning(const struct ahpa_rules_config *cfg, size_t i)
{
    return i < ahpa_rules_warning_count(cfg) ? cfg->warnings[i] : NULL;
}

enum ahpa_rules_kind ahpa_rules_rule_kind(const struct ahpa_rules_rule *r)
{
    return r->kind;
}

size_t ahpa_rules_rule_index(const struct ahpa_rules_rule *r)
{
    return r->index;
}

const char *ahpa_rules_series_query(const struct ahpa_rules_rule *r)
{
    return r->series_query;
}

bool ahpa_rules_namespaced(const struct ahpa_rules_rule *r)
{
    return r->namespaced;
}

const char *ahpa_rules_metrics_query(const struct ahpa_rules_rule *r)
{
    return r->metrics_query_src;
}

/* --- resources ------------------------------------------------------- */

/* Matches `s` against the resource template's pieces, the placeholders
 * taking one or more bytes, shortest first (RE2's `.+?` under ^...$). */
static bool tmpl_match(const struct ahpa_rules__tmpl *t, size_t i,
                       const char *s, const char *cap[2], size_t len[2])
{
    if (i == t->n)
        return *s == '\0';
    const struct ahpa_rules__node *nd = &t->nodes[i];
    if (nd->kind == AHPA_RULES__N_TEXT) {
        size_t n = strlen(nd->text);
        return strncmp(s, nd->text, n) == 0 &&
               tmpl_match(t, i + 1, s + n, cap, len);
    }
    int slot = nd->field == AHPA_RULES__F_GROUP ? 0 : 1;
    size_t avail = strlen(s);
    for (size_t n = 1; n <= avail; n++) {
        cap[slot] = s;
        len[slot] = n;
        if (tmpl_match(t, i + 1, s + n, cap, len))
            return true;
    }
    return false;
}

/* Group and plural resource a label names through the template, if it
 * fits the template and names a known resource. */
static bool resource_by_template(const struct ahpa_rules_rule *r,
                                 const char *label, char **group,
                                 char **plural)
{
    const char *cap[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    if (!r->has_res_tmpl || !tmpl_match(&r->res_tmpl, 0, label, cap, len))
        return false;
    char *g = cap[0] ? ahpa_strndup(cap[0], len[0]) : ahpa_strdup("");
    char *res = ahpa_strndup(cap[1], len[1]);
    int rc = ahpa_rules_normalize_resource(g, res, group, plural);
    free(g);
    free(res);
    return rc == 0;
}

static const struct ahpa_rules__override *
override_for_label(const struct ahpa_rules_rule *r, const char *label)
{
    for (size_t i = 0; i < r->noverrides; i++)
        if (strcmp(r->overrides[i].label, label) == 0)
            return &r->overrides[i];
    return NULL;
}

static void add_resource(struct ahpa_rules_match *m, const char *group,
                         const char *plural, const char *label)
{
    for (size_t i = 0; i < m->nresources; i++)
        if (!strcmp(m->resources[i].resource, plural) &&
            !strcmp(m->resources[i].group, group))
            return;
    m->resources = ahpa_reallocarray(m->resources, m->nresources + 1,
                                     sizeof(*m->resources));
    struct ahpa_rules_resource *res = &m->resources[m->nresources++];
    res->group = ahpa_strdup(group);
    res->resource = ahpa_strdup(plural);
    res->label = ahpa_strdup(label);
    if (!*group && !strcmp(plural, "namespaces"))
        m->namespaced = true;
}

static int cmp_resource(const void *a, const void *b)
{
    const struct ahpa_rules_resource *x = a, *y = b;
    int c = strcmp(x->resource, y->resource);
    return c ? c : strcmp(x->group, y->group);
}

static void collect_resources(const struct ahpa_rules_rule *r,
                              const struct ahpa_labelsel_set *labels,
                              struct ahpa_rules_match *m)
{
    size_t n = labels ? labels->len : 0;
    for (size_t i = 0; i < n; i++) { /* overrides win over the template */
        const struct ahpa_rules__override *o =
            labels->names[i] ? override_for_label(r, labels->names[i]) : NULL;
        if (o)
            add_resource(m, o->group, o->resource, o->label);
    }
    for (size_t i = 0; i < n; i++) {
        char *group, *plural;
        if (!labels->names[i] || override_for_label(r, labels->names[i]) ||
            !resource_by_template(r, labels->names[i], &group, &plural))
            continue;
        add_resource(m, group, plural, labels->names[i]);
        free(group);
        free(plural);
    }
    if (m->nresources > 1)
        qsort(m->resources, m->nresources, sizeof(*m->resources),
              cmp_resource);
}

int ahpa_rules_metric_name(const struct ahpa_rules_rule *r, const char *name,
                           struct ahpa_buf *out, struct ahpa_error *err)
{
    if (!r || !name)
        return ahpa_error_set(err, AHPA_EINVAL, "no rule or series name");
    return ahpa_rules__regex_expand(&r->name_re, r->name_as, name, out) ? 1
                                                                        : 0;
}

int ahpa_rules_match_series(const struct ahpa_rules_rule *r, const char *name,
                            const struct ahpa_labelsel_set *labels,
                            struct ahpa_rules_match *out,
                            struct ahpa_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!r || !name)
        return ahpa_error_set(err, AHPA_EINVAL, "no rule or series name");
    for (size_t i = 0; i < r->nfilters; i++)
        if (ahpa_rules__regex_search(&r->filters[i].re, name) !=
            r->filters[i].positive)
            return 0;
    struct ahpa_buf metric;
    ahpa_buf_init(&metric);
    if (!ahpa_rules__regex_expand(&r->name_re, r->name_as, name, &metric)) {
        ahpa_buf_dispose(&metric);
        return 0;
    }
    out->metric = ahpa_buf_take(&metric, NULL);
    collect_resources(r, labels, out);
    return 1;
}

void ahpa_rules_match_dispose(struct ahpa_rules_match *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nresources; i++) {
        free(m->resources[i].group);
        free(m->resources[i].resource);
        free(m->resources[i].label);
    }
    free(m->resources);
    free(m->metric);
    memset(m, 0, sizeof(*m));
}

int ahpa_rules_label_for_resource(const struct ahpa_rules_rule *r,
                                  const char *group, const char *resource,
                                  struct ahpa_buf *out,
                                  struct ahpa_error *err)
{
    if (!r || !resource || !*resource)
        return ahpa_error_set(err, AHPA_EINVAL, "no rule or resource");
    char *g, *plural;
    ahpa_rules__normalize_override(group, resource, &g, &plural);
    int rc = -AHPA_ENOTFOUND;
    for (size_t i = 0; i < r->noverrides && rc != 0; i++) {
        if (!strcmp(r->overrides[i].resource, plural) &&
            !strcmp(r->overrides[i].group, g)) {
            ahpa_buf_puts(out, r->overrides[i].label);
            rc = 0;
        }
    }
    if (rc != 0 && r->has_res_tmpl) {
        char *sg = ahpa_rules__sanitize_group(g);
        char *sr = ahpa_rules__singular(plural);
        struct ahpa_rules__args a = {.group = sg, .resource = sr};
        size_t before = out->len;
        rc = ahpa_rules__tmpl_exec(&r->res_tmpl, &a, out, err);
        if (rc == 0 && out->len == before)
            rc = -AHPA_ENOTFOUND;
        free(sg);
        free(sr);
    }
    if (rc == -AHPA_ENOTFOUND)
        ahpa_error_set(err, AHPA_ENOTFOUND,
                       "%s[%zu]: no label for resource %s%s%s",
                       r->kind == AHPA_RULES_CUSTOM ? "rules" : "externalRules",
                       r->index, plural, *g ? "." : "", g);
    free(g);
    free(plural);
    return rc;
}
