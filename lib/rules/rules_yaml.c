/* Loading prometheus-adapter's config YAML with libyaml's document API.
 *
 * Every error names the rule list, index and field it comes from, so a
 * user can find the line to fix: `rules[2].name.matches: ...`. Fields this
 * adapter does not know are ignored with a warning, as Go's non-strict
 * YAML decoding ignores them (silently) upstream. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "rules_int.h"

struct loader {
    yaml_document_t *doc;
    struct ahpa_rules_config *cfg;
    struct ahpa_error *err;
};

#define PATH_MAX_ 192

/* Field paths for messages; a too-long path is cut, which is harmless. */
static void path_key(char *dst, const char *path, const char *key)
{
    if (snprintf(dst, PATH_MAX_, "%s.%.64s", path, key) >= PATH_MAX_)
        dst[PATH_MAX_ - 1] = '\0';
}

static void path_index(char *dst, const char *path, size_t i)
{
    if (snprintf(dst, PATH_MAX_, "%s[%zu]", path, i) >= PATH_MAX_)
        dst[PATH_MAX_ - 1] = '\0';
}

static yaml_node_t *node_at(struct loader *ld, int idx)
{
    return yaml_document_get_node(ld->doc, idx);
}

static bool is_null(const yaml_node_t *n)
{
    if (!n)
        return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") ||
           !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static int fail(struct loader *ld, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct loader *ld, const char *path, const char *fmt, ...)
{
    char msg[AHPA_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ahpa_error_set(ld->err, AHPA_ECONFIG, "%s: %s", path, msg);
}

/* The scalar text of n, or NULL (with an error) if n is not a string. */
static const char *scalar(struct loader *ld, yaml_node_t *n, const char *path)
{
    if (!n || n->type != YAML_SCALAR_NODE) {
        fail(ld, path, "must be a string");
        return NULL;
    }
    const char *v = (const char *)n->data.scalar.value;
    if (strlen(v) != n->data.scalar.length) {
        fail(ld, path, "contains a NUL byte");
        return NULL;
    }
    return v;
}

static int set_string(struct loader *ld, yaml_node_t *n, const char *path,
                      char **dst)
{
    if (*dst)
        return fail(ld, path, "duplicate field");
    const char *v = scalar(ld, n, path);
    if (!v)
        return -AHPA_ECONFIG;
    *dst = ahpa_strdup(v);
    return 0;
}

static int get_bool(struct loader *ld, yaml_node_t *n, const char *path,
                    bool *dst)
{
    const char *v = scalar(ld, n, path);
    if (!v)
        return -AHPA_ECONFIG;
    if (ahpa_str_ieq(v, "on") || ahpa_str_ieq(v, "off")) {
        *dst = ahpa_str_ieq(v, "on");
        return 0;
    }
    if (ahpa_str_to_bool(v, dst, NULL) != 0)
        return fail(ld, path, "must be true or false");
    return 0;
}

static int compile_regex(struct loader *ld, struct ahpa_rules__regex *rx,
                         const char *pattern, const char *path)
{
    struct ahpa_error inner = {0};
    bool lazy = false;
    char q[48];
    snprintf(q, sizeof q, "%s", pattern);
    if (ahpa_rules__regex_compile(rx, pattern, &lazy, &inner) != 0)
        return fail(ld, path, "invalid regex \"%s\": %s", q, inner.msg);
    if (lazy)
        ahpa_rules__warn(ld->cfg, "%s: non-greedy quantifier treated as "
                         "greedy (POSIX regex)", path);
    return 0;
}

static int parse_filter(struct loader *ld, struct ahpa_rules_rule *r,
                        yaml_node_t *n, const char *path)
{
    if (!n || n->type != YAML_MAPPING_NODE)
        return fail(ld, path, "must be a mapping with is or isNot");
    const char *is = NULL, *is_not = NULL;
    char sub[PATH_MAX_];
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(ld, node_at(ld, p->key), path);
        if (!k)
            return -AHPA_ECONFIG;
        path_key(sub, path, k);
        const char **dst = !strcmp(k, "is")      ? &is
                           : !strcmp(k, "isNot") ? &is_not
                                                 : NULL;
        if (!dst) {
            ahpa_rules__warn(ld->cfg, "%s: unknown field ignored", sub);
            continue;
        }
        *dst = scalar(ld, node_at(ld, p->value), sub);
        if (!*dst)
            return -AHPA_ECONFIG;
    }
    if ((is && *is) && (is_not && *is_not))
        return fail(ld, path, "cannot have both is and isNot");
    if (!(is && *is) && !(is_not && *is_not))
        return fail(ld, path, "must have either is or isNot");
    struct ahpa_rules__filter *f = &r->filters[r->nfilters];
    f->positive = is && *is;
    path_key(sub, path, f->positive ? "is" : "isNot");
    int rc = compile_regex(ld, &f->re, f->positive ? is : is_not, sub);
    if (rc == 0)
        r->nfilters++;
    return rc;
}

static int parse_filters(struct loader *ld, struct ahpa_rules_rule *r,
                         yaml_node_t *n, const char *path)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(ld, path, "must be a list");
    if (r->filters)
        return fail(ld, path, "duplicate field");
    size_t cnt = (size_t)(n->data.sequence.items.top -
                          n->data.sequence.items.start);
    r->filters = ahpa_calloc(cnt + 1, sizeof(*r->filters));
    char sub[PATH_MAX_];
    for (size_t i = 0; i < cnt; i++) {
        path_index(sub, path, i);
        int rc = parse_filter(ld, r,
                              node_at(ld, n->data.sequence.items.start[i]), sub);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int parse_override(struct loader *ld, struct ahpa_rules_rule *r,
                          const char *label, yaml_node_t *n, const char *path)
{
    if (!ahpa_labelsel_is_prom_label_name(label))
        return fail(ld, path, "not a valid Prometheus label name");
    if (!n || n->type != YAML_MAPPING_NODE)
        return fail(ld, path, "must be a mapping {group, resource}");
    char *group = NULL, *resource = NULL;
    char sub[PATH_MAX_];
    int rc = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         rc == 0 && p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(ld, node_at(ld, p->key), path);
        if (!k) {
            rc = -AHPA_ECONFIG;
            break;
        }
        path_key(sub, path, k);
        if (!strcmp(k, "group"))
            rc = set_string(ld, node_at(ld, p->value), sub, &group);
        else if (!strcmp(k, "resource"))
            rc = set_string(ld, node_at(ld, p->value), sub, &resource);
        else
            ahpa_rules__warn(ld->cfg, "%s: unknown field ignored", sub);
    }
    if (rc == 0 && (!resource || !*resource))
        rc = fail(ld, path, "resource: required");
    if (rc == 0) {
        struct ahpa_rules__override *o = &r->overrides[r->noverrides++];
        o->label = ahpa_strdup(label);
        ahpa_rules__normalize_override(group, resource, &o->group,
                                       &o->resource);
    }
    free(group);
    free(resource);
    return rc;
}

static int parse_overrides(struct loader *ld, struct ahpa_rules_rule *r,
                           yaml_node_t *n, const char *path)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(ld, path, "must be a mapping of label to {group, resource}");
    if (r->overrides)
        return fail(ld, path, "duplicate field");
    size_t cnt = (size_t)(n->data.mapping.pairs.top -
                          n->data.mapping.pairs.start);
    r->overrides = ahpa_calloc(cnt + 1, sizeof(*r->overrides));
    char sub[PATH_MAX_];
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
        const char *label = scalar(ld, node_at(ld, p->key), path);
        if (!label)
            return -AHPA_ECONFIG;
        path_key(sub, path, label);
        int rc = parse_override(ld, r, label, node_at(ld, p->value), sub);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int parse_res_template(struct loader *ld, struct ahpa_rules_rule *r,
                              yaml_node_t *n, const char *path)
{
    const char *src = scalar(ld, n, path);
    if (!src)
        return -AHPA_ECONFIG;
    if (r->has_res_tmpl)
        return fail(ld, path, "duplicate field");
    if (!*src)
        return 0;
    struct ahpa_error inner = {0};
    if (ahpa_rules__tmpl_parse(&r->res_tmpl, src, AHPA_RULES__RESOURCE_FIELDS,
                               &inner) != 0)
        return fail(ld, path, "%s", inner.msg);
    r->has_res_tmpl = true;
    size_t uses[2] = {0, 0};
    for (size_t i = 0; i < r->res_tmpl.n; i++)
        if (r->res_tmpl.nodes[i].kind == AHPA_RULES__N_FIELD)
            uses[r->res_tmpl.nodes[i].field == AHPA_RULES__F_GROUP ? 0 : 1]++;
    if (uses[1] == 0)
        return fail(ld, path, "must include at least <<.Resource>>");
    if (uses[0] > 1 || uses[1] > 1)
        return fail(ld, path, "may use <<.Group>> and <<.Resource>> once each");
    return 0;
}

static int parse_resources(struct loader *ld, struct ahpa_rules_rule *r,
                           yaml_node_t *n, const char *path)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(ld, path, "must be a mapping");
    char sub[PATH_MAX_];
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(ld, node_at(ld, p->key), path);
        if (!k)
            return -AHPA_ECONFIG;
        path_key(sub, path, k);
        yaml_node_t *v = node_at(ld, p->value);
        int rc = 0;
        if (!strcmp(k, "template"))
            rc = parse_res_template(ld, r, v, sub);
        else if (!strcmp(k, "overrides"))
            rc = parse_overrides(ld, r, v, sub);
        else if (!strcmp(k, "namespaced"))
            rc = get_bool(ld, v, sub, &r->namespaced);
        else
            ahpa_rules__warn(ld->cfg, "%s: unknown field ignored", sub);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int parse_name(struct loader *ld, struct ahpa_rules_rule *r,
                      yaml_node_t *n, const char *path, char **matches)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(ld, path, "must be a mapping {matches, as}");
    char sub[PATH_MAX_];
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(ld, node_at(ld, p->key), path);
        if (!k)
            return -AHPA_ECONFIG;
        path_key(sub, path, k);
        int rc = 0;
        if (!strcmp(k, "matches"))
            rc = set_string(ld, node_at(ld, p->value), sub, matches);
        else if (!strcmp(k, "as"))
            rc = set_string(ld, node_at(ld, p->value), sub, &r->name_as);
        else
            ahpa_rules__warn(ld->cfg, "%s: unknown field ignored", sub);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* name.matches (compiled, also a series filter) and the default of as. */
static int finish_name(struct loader *ld, struct ahpa_rules_rule *r,
                       const char *matches, const char *path)
{
    char sub[PATH_MAX_];
    path_key(sub, path, "name.matches");
    /* without matches, upstream names every series through `.*` */
    int rc = compile_regex(ld, &r->name_re,
                           matches && *matches ? matches : ".*", sub);
    if (rc != 0)
        return rc;
    r->has_name_re = true;
    if (r->name_as && *r->name_as)
        return 0;
    free(r->name_as);
    r->name_as = NULL;
    size_t groups = r->name_re.ngroups;
    if (groups > 1)
        return fail(ld, path, "name.as: required when name.matches has more "
                    "than one capture group");
    r->name_as = ahpa_strdup(groups == 1 ? "$1" : "$0");
    return 0;
}

static int finish_rule(struct loader *ld, struct ahpa_rules_rule *r,
                       const char *matches, const char *path)
{
    if (!r->series_query || !*r->series_query)
        return fail(ld, path, "seriesQuery: required");
    if (!r->metrics_query_src || !*r->metrics_query_src)
        return fail(ld, path, "metricsQuery: required");
    struct ahpa_error inner = {0};
    if (ahpa_rules__tmpl_parse(&r->metrics_query, r->metrics_query_src,
                               AHPA_RULES__QUERY_FIELDS, &inner) != 0)
        return fail(ld, path, "metricsQuery: %s", inner.msg);
    return finish_name(ld, r, matches, path);
}

static int parse_rule_field(struct loader *ld, struct ahpa_rules_rule *r,
                            const char *k, yaml_node_t *v, const char *sub,
                            char **matches)
{
    if (!strcmp(k, "seriesQuery"))
        return set_string(ld, v, sub, &r->series_query);
    if (!strcmp(k, "metricsQuery"))
        return set_string(ld, v, sub, &r->metrics_query_src);
    if (!strcmp(k, "seriesFilters"))
        return parse_filters(ld, r, v, sub);
    if (!strcmp(k, "resources"))
        return parse_resources(ld, r, v, sub);
    if (!strcmp(k, "name"))
        return parse_name(ld, r, v, sub, matches);
    ahpa_rules__warn(ld->cfg, "%s: unknown field ignored", sub);
    return 0;
}

static int parse_rule(struct loader *ld, struct ahpa_rules_rule *r,
                      yaml_node_t *n, const char *path)
{
    if (!n || n->type != YAML_MAPPING_NODE)
        return fail(ld, path, "must be a mapping");
    char sub[PATH_MAX_];
    char *matches = NULL;
    int rc = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         rc == 0 && p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(ld, node_at(ld, p->key), path);
        if (!k) {
            rc = -AHPA_ECONFIG;
            break;
        }
        path_key(sub, path, k);
        rc = parse_rule_field(ld, r, k, node_at(ld, p->value), sub, &matches);
    }
    if (rc == 0)
        rc = finish_rule(ld, r, matches, path);
    free(matches);
    return rc;
}

static int parse_rule_list(struct loader *ld, enum ahpa_rules_kind kind,
                           yaml_node_t *n, const char *name)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(ld, name, "must be a list of rules");
    if (ld->cfg->rules[kind])
        return fail(ld, name, "duplicate field");
    size_t cnt = (size_t)(n->data.sequence.items.top -
                          n->data.sequence.items.start);
    if (cnt > AHPA_RULES_MAX_RULES)
        return fail(ld, name, "more than %d rules", AHPA_RULES_MAX_RULES);
    ld->cfg->rules[kind] = ahpa_calloc(cnt + 1, sizeof(struct ahpa_rules_rule));
    char path[PATH_MAX_];
    for (size_t i = 0; i < cnt; i++) {
        struct ahpa_rules_rule *r = &ld->cfg->rules[kind][i];
        r->kind = kind;
        r->index = i;
        r->namespaced = true;
        ld->cfg->nrules[kind] = i + 1; /* disposed even when half-built */
        path_index(path, name, i);
        int rc = parse_rule(ld, r, node_at(ld, n->data.sequence.items.start[i]),
                            path);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int parse_root(struct loader *ld, yaml_node_t *root)
{
    if (is_null(root))
        return 0;
    if (root->type != YAML_MAPPING_NODE)
        return ahpa_error_set(ld->err, AHPA_ECONFIG,
                              "config: top level must be a mapping");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        const char *k = scalar(ld, node_at(ld, p->key), "config");
        if (!k)
            return -AHPA_ECONFIG;
        yaml_node_t *v = node_at(ld, p->value);
        int rc = 0;
        if (!strcmp(k, "rules"))
            rc = parse_rule_list(ld, AHPA_RULES_CUSTOM, v, "rules");
        else if (!strcmp(k, "externalRules"))
            rc = parse_rule_list(ld, AHPA_RULES_EXTERNAL, v, "externalRules");
        else if (!strcmp(k, "resourceRules"))
            ahpa_rules__warn(ld->cfg, "resourceRules: ignored (this adapter "
                             "does not serve metrics.k8s.io)");
        else
            ahpa_rules__warn(ld->cfg, "%.64s: unknown field ignored", k);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int ahpa_rules_parse(const char *yaml, size_t len,
                     struct ahpa_rules_config **out, struct ahpa_error *err)
{
    if (!yaml || !out)
        return ahpa_error_set(err, AHPA_EINVAL, "no config");
    if (len > AHPA_RULES_MAX_CONFIG)
        return ahpa_error_set(err, AHPA_ETOOBIG, "config larger than %u bytes",
                              AHPA_RULES_MAX_CONFIG);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        ahpa_oom(sizeof parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = ahpa_error_set(err, AHPA_ECONFIG,
                                "config line %zu column %zu: %s",
                                parser.problem_mark.line + 1,
                                parser.problem_mark.column + 1,
                                parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        return rc;
    }
    struct ahpa_rules_config *cfg = ahpa_calloc(1, sizeof(*cfg));
    struct ahpa_error local = {0};
    struct loader ld = {&doc, cfg, err ? err : &local};
    int rc = parse_root(&ld, yaml_document_get_root_node(&doc));
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc != 0) {
        ahpa_rules_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}
