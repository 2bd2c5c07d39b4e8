/* Metric discovery and query rules in prometheus-adapter's config format.
 *
 * A config holds custom-metric rules (`rules`) and external-metric rules
 * (`externalRules`); `resourceRules` are not served and only produce a
 * warning. Each rule says which series to list (`seriesQuery`), which of
 * them to keep (`seriesFilters`, `name.matches`), what the metric is called
 * in the API (`name.as`), which Kubernetes resources a series' labels name
 * (`resources`), and the PromQL that fetches values (`metricsQuery`, a Go
 * template with `<<` `>>` delimiters).
 *
 * Regular expressions are compiled with POSIX regcomp(REG_EXTENDED), not
 * Go's RE2: the common RE2 forms are translated (`\d \D \s \S \w \W`,
 * `(?:...)`, `(?P<name>...)`, a leading `(?i)`, `\A`, `\z`); non-greedy
 * quantifiers become greedy with a warning; other `(?flags)`, `\p{..}`,
 * `\Q..\E` and escaped `]`, `-`, `^` inside brackets are rejected. Matching
 * is leftmost-longest (POSIX), so a capture can differ from RE2's
 * leftmost-first when an alternation is ambiguous; anchored patterns such
 * as `^(.*)_total$` behave the same.
 *
 * Templates support `<<.Series>>`, `<<.LabelMatchers>>`, `<<.GroupBy>>`,
 * `<<.GroupBySlice>>` (printed as Go does: `[pod namespace]`),
 * `<<.LabelValuesByName>>` (`map[namespace:ns pod:a|b]`),
 * `<<index .LabelValuesByName "pod">>`, `<<index .GroupBySlice 0>>`,
 * `<<join .GroupBySlice ",">>` (an extension; Go's text/template has no
 * join), comments and `<<-`/`->>` trimming. Other actions are config
 * errors. Values in LabelValuesByName are regex-escaped and escaped for a
 * PromQL string (so `pod=~"<<index .LabelValuesByName "pod">>"` matches
 * exactly the requested names); prometheus-adapter inserts them raw.
 *
 * Pure and reentrant: a config is immutable after parsing and may be read
 * by any number of threads at once. */
#ifndef AHPA_RULES_H
#define AHPA_RULES_H

#include <stdbool.h>
#include <stddef.h>

struct ahpa_buf;
struct ahpa_error;
struct ahpa_labelsel;
struct ahpa_labelsel_set;

/* Largest config accepted (bytes) and most rules per list. */
#define AHPA_RULES_MAX_CONFIG (4u << 20)
#define AHPA_RULES_MAX_RULES 10000

enum ahpa_rules_kind {
    AHPA_RULES_CUSTOM,   /* `rules`: custom.metrics.k8s.io */
    AHPA_RULES_EXTERNAL, /* `externalRules`: external.metrics.k8s.io */
};

struct ahpa_rules_config;
struct ahpa_rules_rule;

/* --- loading ----------------------------------------------------------- */

/* Parses a config from `len` bytes of YAML (need not be NUL-terminated).
 * An empty document is a config with no rules. Errors (-AHPA_ECONFIG, or
 * -AHPA_ETOOBIG past AHPA_RULES_MAX_CONFIG) name the rule and field:
 * `rules[2].name.matches: invalid regex "(": ...`, or the line and column
 * of a YAML syntax error. Caller frees *out with ahpa_rules_free(). */
int ahpa_rules_parse(const char *yaml, size_t len,
                     struct ahpa_rules_config **out, struct ahpa_error *err);

/* The built-in rules (used without --config): NVIDIA DCGM exporter and
 * ACK's GPU exporter series served as gpu_utilization (percent),
 * gpu_memory_used_bytes, gpu_memory_utilization (percent of total) and
 * gpu_power_watts, for pods and namespaces and as external metrics. */
int ahpa_rules_builtin(struct ahpa_rules_config **out, struct ahpa_error *err);

/* The YAML text of the built-in rules (static, NUL-terminated). */
const char *ahpa_rules_builtin_yaml(void);

void ahpa_rules_free(struct ahpa_rules_config *cfg);

size_t ahpa_rules_count(const struct ahpa_rules_config *cfg,
                        enum ahpa_rules_kind kind);
/* Borrowed; valid while `cfg` lives. NULL when i is out of range. */
const struct ahpa_rules_rule *ahpa_rules_get(const struct ahpa_rules_config *cfg,
                                             enum ahpa_rules_kind kind,
                                             size_t i);

/* Non-fatal findings (ignored sections, unknown fields, non-greedy
 * quantifiers made greedy), one line each; borrowed from `cfg`. */
size_t ahpa_rules_warning_count(const struct ahpa_rules_config *cfg);
const char *ahpa_rules_warning(const struct ahpa_rules_config *cfg, size_t i);

/* --- rule attributes (borrowed from the rule) -------------------------- */

enum ahpa_rules_kind ahpa_rules_rule_kind(const struct ahpa_rules_rule *r);
/* Position in its list, as config errors and warnings number it. */
size_t ahpa_rules_rule_index(const struct ahpa_rules_rule *r);
/* The series selector for /api/v1/series, as written. */
const char *ahpa_rules_series_query(const struct ahpa_rules_rule *r);
/* resources.namespaced (default true): whether an external metric query
 * gets the request's namespace as a matcher. */
bool ahpa_rules_namespaced(const struct ahpa_rules_rule *r);
const char *ahpa_rules_metrics_query(const struct ahpa_rules_rule *r);

/* --- series -> metrics ------------------------------------------------- */

/* A Kubernetes group-resource a series label refers to. */
struct ahpa_rules_resource {
    char *group;    /* "" for the core group, e.g. "apps" */
    char *resource; /* plural, lower case: "pods", "namespaces" */
    char *label;    /* the series label naming the object: "exported_pod" */
};

/* The outcome of matching one series against one rule. Caller storage;
 * release with ahpa_rules_match_dispose(). */
struct ahpa_rules_match {
    char *metric;                           /* API metric name */
    struct ahpa_rules_resource *resources;  /* sorted by resource, group */
    size_t nresources;
    bool namespaced;                        /* a label maps to namespaces */
};

/* Decides whether the series (name and label names; label values are not
 * needed and may be NULL) passes the rule's seriesFilters and
 * name.matches, and if so fills *out with the metric name and associated
 * resources. Labels are associated through resources.overrides, then
 * resources.template (only for resources this module knows, see
 * ahpa_rules_normalize_resource). Returns 1 matched, 0 filtered out, or
 * a negative error. */
int ahpa_rules_match_series(const struct ahpa_rules_rule *r, const char *name,
                            const struct ahpa_labelsel_set *labels,
                            struct ahpa_rules_match *out,
                            struct ahpa_error *err);
void ahpa_rules_match_dispose(struct ahpa_rules_match *m);

/* Appends the API metric name for a series name (no filter check beyond
 * name.matches): 1 and the name appended, or 0 if name.matches fails. */
int ahpa_rules_metric_name(const struct ahpa_rules_rule *r, const char *name,
                           struct ahpa_buf *out, struct ahpa_error *err);

/* Appends the series label that names objects of group/resource for this
 * rule (override first, then template with the singular resource and the
 * group's '.' and '-' as '_'). -AHPA_ENOTFOUND when the rule has neither. */
int ahpa_rules_label_for_resource(const struct ahpa_rules_rule *r,
                                  const char *group, const char *resource,
                                  struct ahpa_buf *out,
                                  struct ahpa_error *err);

/* Maps a resource as users write it ("pod", "Pods", "deployment") to
 * its plural and group; `group` may be NULL or "" to take the known one.
 * Caller frees *plural and *group_out. -AHPA_ENOTFOUND for a resource not
 * in the built-in table (core workload and networking resources). */
int ahpa_rules_normalize_resource(const char *group, const char *resource,
                                  char **group_out, char **plural);

/* --- rendering queries ------------------------------------------------- */

/* A custom-metrics request. All pointers borrowed. */
struct ahpa_rules_query {
    const char *series;            /* Prometheus series name */
    const char *group;             /* "" or NULL for the core group */
    const char *resource;          /* plural: "pods" */
    const char *const *names;      /* object names, nnames >= 1 */
    size_t nnames;
    const char *namespace;         /* NULL or "" when cluster-scoped */
    const struct ahpa_labelsel *metric_selector; /* NULL: none */
    const char *const *extra_group_by; /* label names added to GroupBy */
    size_t nextra_group_by;
};

/* Renders the rule's metricsQuery for a custom-metrics request into `out`
 * (appended). LabelMatchers are, in order: the metric selector's
 * matchers, `<namespace label>="<ns>"`, then the resource label, `="a"`
 * for one name or `=~"a|b"` (regex-quoted) for several; GroupBy is the
 * resource label then extra_group_by. Errors: -AHPA_EINVAL (no names,
 * bad label name), -AHPA_ENOTFOUND (no label for the resource or the
 * namespace), -AHPA_ENOTSUP (selector with gt/lt), -AHPA_ECONFIG (empty
 * query). */
int ahpa_rules_render_query(const struct ahpa_rules_rule *r,
                            const struct ahpa_rules_query *q,
                            struct ahpa_buf *out, struct ahpa_error *err);

/* Renders an external rule's metricsQuery: LabelMatchers are the
 * selector's matchers plus the namespace matcher when the rule is
 * namespaced and `namespace` is non-empty; GroupBy is empty. */
int ahpa_rules_render_external(const struct ahpa_rules_rule *r,
                               const char *series, const char *namespace,
                               const struct ahpa_labelsel *selector,
                               struct ahpa_buf *out, struct ahpa_error *err);

#endif
