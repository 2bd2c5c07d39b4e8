/* Unit tests for lib/rules: config loading and errors, naming, resource
 * association, query templates, the built-in rules. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/rules.h"
#include "unit.h"

static struct ahpa_rules_config *load(const char *yaml)
{
    struct ahpa_rules_config *cfg = NULL;
    struct ahpa_error err = {0};
    int rc = ahpa_rules_parse(yaml, strlen(yaml), &cfg, &err);
    ck_assert_msg(rc == 0, "config failed: %s", err.msg);
    return cfg;
}

static struct ahpa_labelsel *sel_of(const char *s)
{
    struct ahpa_labelsel *sel = NULL;
    if (!s)
        return NULL;
    ck_assert_int_eq(ahpa_labelsel_parse(s, &sel, NULL), 0);
    return sel;
}

/* --- built-in rules ------------------------------------------------- */

START_TEST(builtin_loads)
{
    struct ahpa_rules_config *cfg = NULL;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_rules_builtin(&cfg, &err), 0);
    ck_assert_uint_eq(ahpa_rules_count(cfg, AHPA_RULES_CUSTOM), 11);
    ck_assert_uint_eq(ahpa_rules_count(cfg, AHPA_RULES_EXTERNAL), 11);
    ck_assert_uint_eq(ahpa_rules_warning_count(cfg), 0);
    ck_assert_ptr_null(ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 11));
    ck_assert_ptr_nonnull(strstr(ahpa_rules_builtin_yaml(), "DCGM_FI_DEV_FB_FREE"));
    /* every rule names one of the four documented metrics */
    static const char *names[] = {"gpu_utilization", "gpu_memory_used_bytes",
                                  "gpu_memory_utilization", "gpu_power_watts"};
    size_t seen[4] = {0};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < 11; i++) {
            const struct ahpa_rules_rule *r = ahpa_rules_get(cfg, k, i);
            ck_assert_uint_eq(ahpa_rules_rule_index(r), i);
            ck_assert_int_eq(ahpa_rules_rule_kind(r), k);
            const char *q = ahpa_rules_series_query(r);
            size_t n = strcspn(q, "{");
            char series[64];
            ck_assert_uint_lt(n, sizeof series);
            memcpy(series, q, n);
            series[n] = '\0';
            struct ahpa_buf b;
            ahpa_buf_init(&b);
            ck_assert_int_eq(ahpa_rules_metric_name(r, series, &b, NULL), 1);
            bool found = false;
            for (int m = 0; m < 4; m++)
                if (strcmp(b.data, names[m]) == 0)
                    seen[m]++, found = true;
            ck_assert_msg(found, "rule %zu names %s", i, b.data);
            ahpa_buf_dispose(&b);
        }
    }
    ck_assert_uint_eq(seen[0], 6); /* 3 exporters x custom/external */
    ck_assert_uint_eq(seen[1], 6);
    ck_assert_uint_eq(seen[2], 6);
    ck_assert_uint_eq(seen[3], 4); /* DCGM only */
    ahpa_rules_free(cfg);
}
END_TEST

static const struct {
    int kind;
    size_t rule;
    const char *series, *resource, *names, *ns, *selector, *want;
} builtin_queries[] = {
    {AHPA_RULES_CUSTOM, 0, "DCGM_FI_DEV_GPU_UTIL", "pods", "bert-1,bert-2",
     "default", NULL,
     "avg(DCGM_FI_DEV_GPU_UTIL{namespace=\"default\",pod=~\"bert-1|bert-2\"}) by (pod)"},
    {AHPA_RULES_CUSTOM, 0, "DCGM_FI_DEV_GPU_UTIL", "pods", "bert-1", "default",
     NULL, "avg(DCGM_FI_DEV_GPU_UTIL{namespace=\"default\",pod=\"bert-1\"}) by (pod)"},
    {AHPA_RULES_CUSTOM, 1, "DCGM_FI_DEV_GPU_UTIL", "pods", "a,b", "ml", NULL,
     "avg(DCGM_FI_DEV_GPU_UTIL{exported_namespace=\"ml\",exported_pod=~\"a|b\"}) "
     "by (exported_pod)"},
    {AHPA_RULES_CUSTOM, 2, "nvidia_gpu_duty_cycle", "pods", "a", "ml", NULL,
     "avg(nvidia_gpu_duty_cycle{namespace_name=\"ml\",pod_name=\"a\"}) by (pod_name)"},
    {AHPA_RULES_CUSTOM, 0, "DCGM_FI_DEV_GPU_UTIL", "namespaces", "default", NULL,
     NULL, "avg(DCGM_FI_DEV_GPU_UTIL{namespace=\"default\"}) by (namespace)"},
    {AHPA_RULES_CUSTOM, 0, "DCGM_FI_DEV_GPU_UTIL", "pods", "web.1,web-2", "d",
     "gpu in (0,1)",
     "avg(DCGM_FI_DEV_GPU_UTIL{gpu=~\"0|1\",namespace=\"d\",pod=~\"web\\\\.1|web-2\"}) by (pod)"},
    {AHPA_RULES_CUSTOM, 3, "DCGM_FI_DEV_FB_USED", "pods", "a,b", "default", NULL,
     "sum(DCGM_FI_DEV_FB_USED{namespace=\"default\",pod=~\"a|b\"}) by (pod) * 1048576"},
    {AHPA_RULES_CUSTOM, 5, "nvidia_gpu_memory_used_bytes", "pods", "a", "n", NULL,
     "sum(nvidia_gpu_memory_used_bytes{namespace_name=\"n\",pod_name=\"a\"}) by (pod_name)"},
    {AHPA_RULES_CUSTOM, 6, "DCGM_FI_DEV_FB_USED", "pods", "a,b", "default", NULL,
     "100 * sum(DCGM_FI_DEV_FB_USED{namespace=\"default\",pod=~\"a|b\"}) by (pod) / "
     "(sum(DCGM_FI_DEV_FB_USED{namespace=\"default\",pod=~\"a|b\"}) by (pod) + "
     "sum(DCGM_FI_DEV_FB_FREE{namespace=\"default\",pod=~\"a|b\"}) by (pod))"},
    {AHPA_RULES_CUSTOM, 8, "nvidia_gpu_memory_used_bytes", "pods", "a", "n", NULL,
     "100 * sum(nvidia_gpu_memory_used_bytes{namespace_name=\"n\",pod_name=\"a\"}) by (pod_name) / "
     "sum(nvidia_gpu_memory_total_bytes{namespace_name=\"n\",pod_name=\"a\"}) by (pod_name)"},
    {AHPA_RULES_CUSTOM, 10, "DCGM_FI_DEV_POWER_USAGE", "pod", "a", "n", NULL,
     "sum(DCGM_FI_DEV_POWER_USAGE{exported_namespace=\"n\",exported_pod=\"a\"}) by (exported_pod)"},
    {AHPA_RULES_EXTERNAL, 0, "DCGM_FI_DEV_GPU_UTIL", NULL, NULL, "default",
     "gpu in (0,1)", "avg(DCGM_FI_DEV_GPU_UTIL{gpu=~\"0|1\",namespace=\"default\"})"},
    {AHPA_RULES_EXTERNAL, 1, "DCGM_FI_DEV_GPU_UTIL", NULL, NULL, "default",
     "exported_pod in (a,b)",
     "avg(DCGM_FI_DEV_GPU_UTIL{exported_pod=~\"a|b\",exported_namespace=\"default\"})"},
    {AHPA_RULES_EXTERNAL, 4, "DCGM_FI_DEV_FB_USED", NULL, NULL, "x", NULL,
     "sum(DCGM_FI_DEV_FB_USED{exported_namespace=\"x\"}) * 1048576"},
};

/* "a,b" -> {"a","b"} in a caller-freed copy. */
static size_t split_names(const char *s, char **copy, const char *out[8])
{
    size_t n = 0;
    *copy = strdup(s ? s : "");
    char *save = NULL;
    for (char *p = strtok_r(*copy, ",", &save); p && n < 8;
         p = strtok_r(NULL, ",", &save))
        out[n++] = p;
    return n;
}

START_TEST(builtin_queries_render)
{
    struct ahpa_rules_config *cfg = NULL;
    ck_assert_int_eq(ahpa_rules_builtin(&cfg, NULL), 0);
    for (size_t i = 0; i < sizeof builtin_queries / sizeof builtin_queries[0]; i++) {
        const struct ahpa_rules_rule *r =
            ahpa_rules_get(cfg, builtin_queries[i].kind, builtin_queries[i].rule);
        struct ahpa_labelsel *sel = sel_of(builtin_queries[i].selector);
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        struct ahpa_error err = {0};
        int rc;
        if (builtin_queries[i].kind == AHPA_RULES_CUSTOM) {
            char *copy;
            const char *names[8];
            size_t n = split_names(builtin_queries[i].names, &copy, names);
            struct ahpa_rules_query q = {
                .series = builtin_queries[i].series,
                .resource = builtin_queries[i].resource,
                .names = names, .nnames = n,
                .namespace = builtin_queries[i].ns,
                .metric_selector = sel};
            rc = ahpa_rules_render_query(r, &q, &b, &err);
            free(copy);
        } else {
            rc = ahpa_rules_render_external(r, builtin_queries[i].series,
                                            builtin_queries[i].ns, sel, &b, &err);
        }
        ck_assert_msg(rc == 0, "case %zu: %s", i, err.msg);
        ck_assert_msg(strcmp(b.data, builtin_queries[i].want) == 0,
                      "case %zu:\n got  %s\n want %s", i, b.data,
                      builtin_queries[i].want);
        ahpa_buf_dispose(&b);
        ahpa_labelsel_free(sel);
    }
    ahpa_rules_free(cfg);
}
END_TEST

/* --- series matching ------------------------------------------------ */

struct labels {
    const char *names[12];
    struct ahpa_labelsel_set set;
};

static void labels_make(struct labels *l, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        l->names[i] = names[i];
    l->set.names = l->names;
    l->set.values = NULL;
    l->set.len = n;
}

/* "group/resource=label;..." rendering of a match for comparison. */
static char *match_str(const struct ahpa_rules_match *m)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_buf_printf(&b, "%s%s:", m->metric, m->namespaced ? "(ns)" : "");
    for (size_t i = 0; i < m->nresources; i++)
        ahpa_buf_printf(&b, "%s%s/%s=%s", i ? ";" : "", m->resources[i].group,
                        m->resources[i].resource, m->resources[i].label);
    return ahpa_buf_take(&b, NULL);
}

static const char *cfg_match_yaml =
    "rules:\n"
    "- seriesQuery: '{__name__=~\"^container_.*\",namespace!=\"\"}'\n"
    "  seriesFilters:\n"
    "  - isNot: \"^container_.*_seconds_total$\"\n"
    "  resources: {template: \"<<.Resource>>\"}\n"
    "  name: {matches: \"^container_(.*)_total$\"}\n"
    "  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'\n"
    "- seriesQuery: '{__name__=~\"^kube_.*\"}'\n"
    "  resources:\n"
    "    template: \"kube_<<.Group>>_<<.Resource>>\"\n"
    "    overrides:\n"
    "      exported_pod: {resource: pods}\n"
    "      microservice: {group: apps, resource: deployment}\n"
    "      ray: {group: ray.io, resource: raycluster}\n"
    "  name: {matches: \"^(?P<base>.*)_seconds$\", as: \"${base}_s\"}\n"
    "  metricsQuery: '<<.Series>>{<<.LabelMatchers>>}'\n"
    "- seriesQuery: 'x'\n"
    "  seriesFilters: [{is: \"^a\"}, {is: \"b$\"}]\n"
    "  metricsQuery: '<<.Series>>'\n";

START_TEST(match_series_tables)
{
    struct ahpa_rules_config *cfg = load(cfg_match_yaml);
    static const struct {
        size_t rule;
        const char *name;
        const char *labels[6];
        size_t nlabels;
        const char *want; /* NULL: filtered out */
    } cases[] = {
        {0, "container_network_bytes_total", {"pod", "namespace", "container", "deployment"}, 4,
         "network_bytes(ns):apps/deployments=deployment;/namespaces=namespace;/pods=pod"},
        {0, "container_cpu_usage_seconds_total", {"pod"}, 1, NULL},
        {0, "container_memory_bytes", {"pod"}, 1, NULL},
        {0, "container_x_total", {"node", "job", "instance"}, 3,
         "x:batch/jobs=job;/nodes=node"}, /* as a RESTMapper would */
        {1, "kube_cpu_seconds", {"kube_apps_deployment", "kube__pod", "exported_pod", "kube_x_y"}, 4,
         "kube_cpu_s:apps/deployments=kube_apps_deployment;/pods=exported_pod"},
        {1, "kube_cpu_seconds", {"microservice", "ray", "kube__namespace"}, 3,
         /* .+? needs a non-empty group: core-group labels never match,
          * as upstream */
         "kube_cpu_s:apps/deployments=microservice;ray.io/rayclusters=ray"},
        {1, "kube_cpu_total", {"pod"}, 1, NULL},
        {2, "ab", {"pod"}, 1, "ab:"},
        {2, "axb", {NULL}, 0, "axb:"},
        {2, "ba", {NULL}, 0, NULL},
        {2, "a", {NULL}, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct labels l;
        labels_make(&l, cases[i].labels, cases[i].nlabels);
        struct ahpa_rules_match m;
        const struct ahpa_rules_rule *r = ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, cases[i].rule);
        int rc = ahpa_rules_match_series(r, cases[i].name, &l.set, &m, NULL);
        if (!cases[i].want) {
            ck_assert_msg(rc == 0, "case %zu matched", i);
            continue;
        }
        ck_assert_msg(rc == 1, "case %zu: rc %d", i, rc);
        char *s = match_str(&m);
        ck_assert_msg(strcmp(s, cases[i].want) == 0, "case %zu:\n got  %s\n want %s",
                      i, s, cases[i].want);
        free(s);
        ahpa_rules_match_dispose(&m);
    }
    /* resource -> label through overrides and the template */
    const struct ahpa_rules_rule *r = ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 1);
    static const struct {
        const char *group, *resource, *want;
    } lbl[] = {
        {"", "pods", "exported_pod"},
        {NULL, "pod", "exported_pod"},
        {"apps", "deployments", "microservice"},
        {"", "nodes", "kube__node"},
        {"networking.k8s.io", "ingresses", "kube_networking_k8s_io_ingress"},
        {"batch", "jobs", "kube_batch_job"},
        {"my-group.io", "widgets", "kube_my_group_io_widget"},
    };
    for (size_t i = 0; i < sizeof lbl / sizeof lbl[0]; i++) {
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ck_assert_int_eq(ahpa_rules_label_for_resource(r, lbl[i].group, lbl[i].resource, &b, NULL), 0);
        ck_assert_str_eq(b.data, lbl[i].want);
        ahpa_buf_dispose(&b);
    }
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    struct ahpa_error err = {0};
    r = ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 2);
    ck_assert_int_eq(ahpa_rules_label_for_resource(r, "apps", "deployments", &b, &err),
                     -AHPA_ENOTFOUND);
    ck_assert_str_eq(err.msg, "rules[2]: no label for resource deployments.apps");
    ahpa_buf_dispose(&b);
    ahpa_rules_free(cfg);
}
END_TEST

START_TEST(builtin_match_series)
{
    struct ahpa_rules_config *cfg = NULL;
    ck_assert_int_eq(ahpa_rules_builtin(&cfg, NULL), 0);
    const char *a[] = {"pod", "namespace", "gpu", "UUID", "container", "Hostname"};
    const char *b[] = {"exported_pod", "exported_namespace", "pod", "namespace", "gpu"};
    struct labels la, lb;
    labels_make(&la, a, 6);
    labels_make(&lb, b, 5);
    struct ahpa_rules_match m;
    const struct ahpa_rules_rule *r0 = ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 0);
    const struct ahpa_rules_rule *r1 = ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 1);
    ck_assert_int_eq(ahpa_rules_match_series(r0, "DCGM_FI_DEV_GPU_UTIL", &la.set, &m, NULL), 1);
    char *s = match_str(&m);
    ck_assert_str_eq(s, "gpu_utilization(ns):/namespaces=namespace;/pods=pod");
    free(s);
    ahpa_rules_match_dispose(&m);
    ck_assert_int_eq(ahpa_rules_match_series(r1, "DCGM_FI_DEV_GPU_UTIL", &lb.set, &m, NULL), 1);
    s = match_str(&m);
    ck_assert_str_eq(s, "gpu_utilization(ns):/namespaces=exported_namespace;/pods=exported_pod");
    free(s);
    ahpa_rules_match_dispose(&m);
    ck_assert_int_eq(ahpa_rules_match_series(r0, "DCGM_FI_DEV_GPU_UTIL_X", &la.set, &m, NULL), 0);
    ck_assert_int_eq(ahpa_rules_match_series(r0, "XDCGM_FI_DEV_GPU_UTIL", &la.set, &m, NULL), 0);
    ahpa_rules_match_dispose(&m);
    ahpa_rules_free(cfg);
}
END_TEST

/* --- naming --------------------------------------------------------- */

static const struct {
    const char *matches, *as, *series, *want; /* want NULL: no match */
} naming[] = {
    {"^container_(.*)_seconds_total$", NULL, "container_cpu_usage_seconds_total", "cpu_usage"},
    {"^(.*)_total$", "${1}_per_second", "http_requests_total", "http_requests_per_second"},
    {"^(.*)_total$", "$1_per_second", "http_requests_total", ""}, /* Go: $1_per_second is one name */
    {"^(.*)_total$", "$$1", "a_total", "$1"},
    {"^(.*)_total$", "x$", "a_total", "x$"},
    {"^(.*)_total$", "${1", "a_total", "${1"},
    {"^(.*)_total$", "$9", "a_total", ""},
    {"cpu", NULL, "node_cpu_seconds", "cpu"}, /* $0 is the match, not the name */
    {NULL, NULL, "anything_at_all", "anything_at_all"},
    {NULL, "const", "x", "const"},
    {"^(?:foo|bar)_(.*)$", NULL, "bar_x", "x"},
    {"^(?P<base>.*)_seconds$", "${base}_s", "cpu_seconds", "cpu_s"},
    {"^gpu_(\\d+)_util$", "g$1", "gpu_12_util", "g12"},
    {"^gpu_(\\d+)_util$", "g$1", "gpu_x_util", NULL},
    {"^(\\w+)\\.(\\w+)$", "$2-$1", "a_b.c9", "c9-a_b"},
    {"(?i)^dcgm_(.*)$", NULL, "DCGM_FI", "FI"},
    {"^([a-z]+)_[\\d]+$", NULL, "abc_42", "abc"},
    {"^(.*?)_total$", NULL, "a_b_total", "a_b"},
    {"^x\\.y$", NULL, "x.y", "x.y"},
    {"^x\\.y$", NULL, "xzy", NULL},
    {"\\Aab\\z", NULL, "ab", "ab"},
    {"^a{x}$", NULL, "a{x}", "a{x}"},
    {"^(a{2,3})b{1,}$", NULL, "aaabb", "aaa"},
    {"^(a{2,3})$", NULL, "aaaa", NULL},
    {"^(x+)+$", NULL, "xx", "xx"},
};

START_TEST(naming_table)
{
    for (size_t i = 0; i < sizeof naming / sizeof naming[0]; i++) {
        struct ahpa_buf y;
        ahpa_buf_init(&y);
        ahpa_buf_puts(&y, "rules:\n- seriesQuery: x\n  metricsQuery: q\n  name: {");
        if (naming[i].matches) {
            ahpa_buf_puts(&y, "matches: '");
            ahpa_buf_puts(&y, naming[i].matches);
            ahpa_buf_puts(&y, "', ");
        }
        if (naming[i].as) {
            ahpa_buf_puts(&y, "as: '");
            ahpa_buf_puts(&y, naming[i].as);
            ahpa_buf_puts(&y, "'");
        }
        ahpa_buf_puts(&y, "}\n");
        struct ahpa_rules_config *cfg = load(y.data);
        const struct ahpa_rules_rule *r = ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 0);
        struct ahpa_rules_match m;
        int rc = ahpa_rules_match_series(r, naming[i].series, NULL, &m, NULL);
        if (!naming[i].want) {
            ck_assert_msg(rc == 0, "case %zu matched", i);
        } else {
            ck_assert_msg(rc == 1, "case %zu: rc %d", i, rc);
            ck_assert_msg(strcmp(m.metric, naming[i].want) == 0,
                          "case %zu: got %s want %s", i, m.metric, naming[i].want);
            ck_assert_uint_eq(m.nresources, 0);
        }
        ahpa_rules_match_dispose(&m);
        ahpa_rules_free(cfg);
        ahpa_buf_dispose(&y);
    }
}
END_TEST

/* --- config errors -------------------------------------------------- */

#define RULE_OK "- seriesQuery: s\n  metricsQuery: q\n"

static const struct {
    const char *yaml, *msg;
} config_errors[] = {
    {"rules:\n- seriesQuery: x\n  name: {matches: \"(\"}\n  metricsQuery: q\n",
     "rules[0].name.matches: invalid regex \"(\": "},
    {"rules:\n- metricsQuery: q\n", "rules[0]: seriesQuery: required"},
    {"rules:\n" RULE_OK "- seriesQuery: s\n", "rules[1]: metricsQuery: required"},
    {"externalRules:\n" RULE_OK RULE_OK "- seriesQuery: s\n  metricsQuery: '<<.Serie>>'\n",
     "externalRules[2]: metricsQuery: at offset 0: unknown field .Serie"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: 'a <<range .GroupBySlice>>'\n",
     "rules[0]: metricsQuery: at offset 2: unsupported action \"range\""},
    {"rules:\n- seriesQuery: s\n  metricsQuery: 'x{<<.LabelMatchers}'\n",
     "rules[0]: metricsQuery: unclosed action at offset 2"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: '<<index .LabelValuesByName pod>>'\n",
     "index: use .LabelValuesByName \"label\" or .GroupBySlice N"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: '<<join .GroupBy \",\">>'\n",
     "join works on .GroupBySlice only"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: '<<.Group>>'\n", "unknown field .Group"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  seriesFilters: [{is: a, isNot: b}]\n",
     "rules[0].seriesFilters[0]: cannot have both is and isNot"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  seriesFilters: [{}]\n",
     "rules[0].seriesFilters[0]: must have either is or isNot"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  seriesFilters: [{is: a}, {isNot: \"a[\"}]\n",
     "rules[0].seriesFilters[1].isNot: invalid regex \"a[\": missing ']'"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  seriesFilters: {is: a}\n",
     "rules[0].seriesFilters: must be a list"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  resources: {overrides: {a-b: {resource: pod}}}\n",
     "rules[0].resources.overrides.a-b: not a valid Prometheus label name"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  resources: {overrides: {pod: {group: x}}}\n",
     "rules[0].resources.overrides.pod: resource: required"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  resources: {template: \"kube_<<.Group>>\"}\n",
     "rules[0].resources.template: must include at least <<.Resource>>"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  resources: {template: \"<<.Resource>>_<<.Resource>>\"}\n",
     "rules[0].resources.template: may use <<.Group>> and <<.Resource>> once each"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  resources: {template: \"<<.Series>>\"}\n",
     "rules[0].resources.template: at offset 0: unknown field .Series"},
    {"externalRules:\n- seriesQuery: s\n  metricsQuery: q\n  resources: {namespaced: maybe}\n",
     "externalRules[0].resources.namespaced: must be true or false"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  name: {matches: '^(a)_(b)$'}\n",
     "rules[0]: name.as: required when name.matches has more than one capture group"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  name: {matches: 'a(?i)b'}\n",
     "rules[0].name.matches: invalid regex \"a(?i)b\": group flag at offset 1 is not supported"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  name: {matches: '\\p{L}'}\n",
     "escape sequence at offset 0 is not supported (POSIX regex)"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  name: {matches: '[\\]]'}\n",
     "escaped ']', '-' or '^' in brackets"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  name: {matches: '^c++o'}\n",
     "nested repetition operator at offset 3"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  name: {matches: 'a{1001}'}\n",
     "repetition count over 1000"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  name: {matches: '((a{10})+){100}'}\n",
     "repetition count over 1000 at offset 10"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  name: {matches: '*a'}\n",
     "repetition without an argument at offset 0"},
    {"rules:\n- seriesQuery: s\n  metricsQuery: q\n  name: {matches: 'a)'}\n",
     "invalid regex \"a)\": unexpected ')'"},
    {"rules:\n- seriesQuery: s\n  seriesQuery: t\n  metricsQuery: q\n",
     "rules[0].seriesQuery: duplicate field"},
    {"rules:\n- seriesQuery: \"a\\0b\"\n  metricsQuery: q\n",
     "rules[0].seriesQuery: contains a NUL byte"},
    {"rules:\n- seriesQuery: [a]\n  metricsQuery: q\n", "rules[0].seriesQuery: must be a string"},
    {"rules: [\n", "config line "},
    {"rules:\n  - a: b\n - c\n", "config line 3 column"},
    {"- a\n- b\n", "config: top level must be a mapping"},
    {"rules: 5\n", "rules: must be a list of rules"},
    {"rules:\n- 5\n", "rules[0]: must be a mapping"},
    {"rules:\n- seriesQuery: *undefined\n", "config line"},
};

START_TEST(config_error_table)
{
    for (size_t i = 0; i < sizeof config_errors / sizeof config_errors[0]; i++) {
        struct ahpa_rules_config *cfg = (void *)1;
        struct ahpa_error err = {0};
        int rc = ahpa_rules_parse(config_errors[i].yaml, strlen(config_errors[i].yaml),
                                  &cfg, &err);
        ck_assert_msg(rc == -AHPA_ECONFIG, "case %zu: rc %d", i, rc);
        ck_assert_ptr_eq(cfg, (void *)1);
        ck_assert_msg(strstr(err.msg, config_errors[i].msg) != NULL,
                      "case %zu:\n got  %s\n want %s", i, err.msg, config_errors[i].msg);
    }
    /* the NUL check needs the real length */
    struct ahpa_rules_config *cfg = NULL;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_rules_parse("rules: []", AHPA_RULES_MAX_CONFIG + 1, &cfg, &err),
                     -AHPA_ETOOBIG);
    ck_assert_int_eq(ahpa_rules_parse(NULL, 0, &cfg, NULL), -AHPA_EINVAL);
}
END_TEST

START_TEST(config_warnings_and_defaults)
{
    struct ahpa_rules_config *cfg = load(
        "# comment only at top\n"
        "resourceRules:\n  cpu: {containerQuery: x}\n"
        "bogus: 1\n"
        "rules:\n"
        "- seriesQuery: s\n  metricsQuery: q\n  labelValueReplacements: []\n"
        "  name: {matches: '^(.*?)_x$', extra: 1}\n"
        "externalRules:\n"
        "- seriesQuery: e\n  metricsQuery: q\n  resources: {namespaced: false}\n"
        "- seriesQuery: e2\n  metricsQuery: q\n");
    ck_assert_uint_eq(ahpa_rules_warning_count(cfg), 5);
    ck_assert_str_eq(ahpa_rules_warning(cfg, 0),
                     "resourceRules: ignored (this adapter does not serve metrics.k8s.io)");
    ck_assert_str_eq(ahpa_rules_warning(cfg, 1), "bogus: unknown field ignored");
    ck_assert_str_eq(ahpa_rules_warning(cfg, 2), "rules[0].labelValueReplacements: unknown field ignored");
    ck_assert_str_eq(ahpa_rules_warning(cfg, 3), "rules[0].name.extra: unknown field ignored");
    ck_assert_str_eq(ahpa_rules_warning(cfg, 4),
                     "rules[0].name.matches: non-greedy quantifier treated as greedy (POSIX regex)");
    ck_assert_ptr_null(ahpa_rules_warning(cfg, 5));
    ck_assert(!ahpa_rules_namespaced(ahpa_rules_get(cfg, AHPA_RULES_EXTERNAL, 0)));
    ck_assert(ahpa_rules_namespaced(ahpa_rules_get(cfg, AHPA_RULES_EXTERNAL, 1)));
    ck_assert_str_eq(ahpa_rules_series_query(ahpa_rules_get(cfg, AHPA_RULES_EXTERNAL, 1)), "e2");
    ck_assert_str_eq(ahpa_rules_metrics_query(ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 0)), "q");
    ahpa_rules_free(cfg);
    cfg = load("");
    ck_assert_uint_eq(ahpa_rules_count(cfg, AHPA_RULES_CUSTOM), 0);
    ahpa_rules_free(cfg);
    cfg = load("rules:\nexternalRules: ~\n");
    ck_assert_uint_eq(ahpa_rules_count(cfg, AHPA_RULES_EXTERNAL), 0);
    ahpa_rules_free(cfg);
    ahpa_rules_free(NULL);
}
END_TEST

/* --- templates and rendering ---------------------------------------- */

static const char *tmpl_yaml =
    "rules:\n"
    "- seriesQuery: s\n"
    "  resources: {overrides: {pod: {resource: pod}, namespace: {resource: namespace}}}\n"
    "  metricsQuery: |-\n"
    "    <<.Series>>|<<.LabelMatchers>>|<<.GroupBy>>|<<.GroupBySlice>>|<<.LabelValuesByName>>|\n"
    "    <<index .LabelValuesByName \"pod\">>|<<index .LabelValuesByName \"none\">>|\n"
    "    <<join .GroupBySlice \",\">>|<<index .GroupBySlice 0>>|<</* comment */>>\n"
    "    <<- .Series ->>   !\n"
    "- seriesQuery: s\n"
    "  resources: {overrides: {pod: {resource: pod}}}\n"
    "  metricsQuery: '<<index .GroupBySlice 3>>'\n"
    "- seriesQuery: s\n"
    "  resources: {overrides: {pod: {resource: pod}}}\n"
    "  metricsQuery: '<</* nothing */>>'\n"
    "- seriesQuery: s\n"
    "  resources: {overrides: {pod: {resource: pod}}}\n"
    "  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'\n";

START_TEST(template_fields)
{
    struct ahpa_rules_config *cfg = load(tmpl_yaml);
    const struct ahpa_rules_rule *r = ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 0);
    const char *names[] = {"a.1", "b"};
    const char *extra[] = {"container"};
    struct ahpa_labelsel *sel = sel_of("env=prod");
    struct ahpa_rules_query q = {.series = "m", .resource = "pods", .names = names,
                                 .nnames = 2, .namespace = "ns", .metric_selector = sel,
                                 .extra_group_by = extra, .nextra_group_by = 1};
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_rules_render_query(r, &q, &b, &err), 0);
    ck_assert_str_eq(b.data,
        "m|env=\"prod\",namespace=\"ns\",pod=~\"a\\\\.1|b\"|pod,container|[pod container]|"
        "map[env:prod namespace:ns pod:a\\\\.1|b]|\n"
        "a\\\\.1|b||\n"
        "pod,container|pod|m!");
    /* errors at render time */
    ahpa_buf_reset(&b);
    q.extra_group_by = NULL;
    q.nextra_group_by = 0;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(ahpa_rules_render_query(ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 2), &q, &b, &err),
                     -AHPA_ENOTFOUND); /* rule 2 has no namespace label */
    ck_assert_str_eq(err.msg, "rules[2]: no label for resource namespaces");
    q.namespace = NULL;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(ahpa_rules_render_query(ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 1), &q, &b, &err),
                     -AHPA_EINVAL);
    ck_assert_str_eq(err.msg, "index 3 out of range of .GroupBySlice");
    memset(&err, 0, sizeof err);
    ahpa_buf_reset(&b);
    ck_assert_int_eq(ahpa_rules_render_query(ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 2), &q, &b, &err),
                     -AHPA_ECONFIG);
    ck_assert_str_eq(err.msg, "empty query produced by metrics query template");
    ahpa_buf_dispose(&b);
    ahpa_labelsel_free(sel);
    ahpa_rules_free(cfg);
}
END_TEST

START_TEST(render_hostile_inputs)
{
    struct ahpa_rules_config *cfg = load(tmpl_yaml);
    const struct ahpa_rules_rule *r = ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 3);
    static const struct {
        const char *names[2];
        size_t n;
        const char *want;
    } cases[] = {
        {{"x\"} or vector(1) #"}, 1,
         "sum(m{pod=\"x\\\"} or vector(1) #\"}) by (pod)"},
        {{"a\"}", "b\\"}, 2, "sum(m{pod=~\"a\\\"\\\\}|b\\\\\\\\\"}) by (pod)"},
        {{"new\nline"}, 1, "sum(m{pod=\"new\\nline\"}) by (pod)"},
        {{".*", "a|b"}, 2, "sum(m{pod=~\"\\\\.\\\\*|a\\\\|b\"}) by (pod)"},
        {{"\xc3\xa9\xff"}, 1, "sum(m{pod=\"\xc3\xa9\\xff\"}) by (pod)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ahpa_rules_query q = {.series = "m", .resource = "pods",
                                     .names = cases[i].names, .nnames = cases[i].n};
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ck_assert_int_eq(ahpa_rules_render_query(r, &q, &b, NULL), 0);
        ck_assert_msg(strcmp(b.data, cases[i].want) == 0, "case %zu:\n got  %s\n want %s",
                      i, b.data, cases[i].want);
        ahpa_buf_dispose(&b);
    }
    /* a very long name stays one string literal */
    size_t n = 100000;
    char *big = malloc(n + 1);
    memset(big, '"', n);
    big[n] = '\0';
    const char *bn[] = {big};
    struct ahpa_rules_query q = {.series = "m", .resource = "pods", .names = bn, .nnames = 1};
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ck_assert_int_eq(ahpa_rules_render_query(r, &q, &b, NULL), 0);
    ck_assert_uint_eq(b.len, strlen("sum(m{pod=\"\"}) by (pod)") + 2 * n);
    ahpa_buf_dispose(&b);
    free(big);
    /* request errors */
    struct ahpa_error err = {0};
    const char *one[] = {"a"};
    const char *badgb[] = {"a-b"};
    struct ahpa_rules_query bad = {.series = "m", .resource = "pods", .names = one, .nnames = 0};
    ck_assert_int_eq(ahpa_rules_render_query(r, &bad, &b, &err), -AHPA_EINVAL);
    bad.nnames = 1;
    bad.series = "m{x=\"\"}";
    ck_assert_int_eq(ahpa_rules_render_query(r, &bad, &b, NULL), -AHPA_EINVAL);
    bad.series = "m";
    bad.extra_group_by = badgb;
    bad.nextra_group_by = 1;
    ck_assert_int_eq(ahpa_rules_render_query(r, &bad, &b, NULL), -AHPA_EINVAL);
    bad.nextra_group_by = 0;
    struct ahpa_labelsel *gt = sel_of("a>1");
    bad.metric_selector = gt;
    ck_assert_int_eq(ahpa_rules_render_query(r, &bad, &b, NULL), -AHPA_ENOTSUP);
    ahpa_labelsel_free(gt);
    struct ahpa_labelsel *dotted = sel_of("app.kubernetes.io/name=x");
    bad.metric_selector = dotted;
    ck_assert_int_eq(ahpa_rules_render_query(r, &bad, &b, NULL), -AHPA_EINVAL);
    ahpa_labelsel_free(dotted);
    bad.metric_selector = NULL;
    bad.resource = "deployments";
    bad.group = "apps";
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(ahpa_rules_render_query(r, &bad, &b, &err), -AHPA_ENOTFOUND);
    ck_assert_str_eq(err.msg, "rules[3]: no label for resource deployments.apps");
    ahpa_buf_dispose(&b);
    ahpa_rules_free(cfg);
}
END_TEST

START_TEST(external_namespacing)
{
    struct ahpa_rules_config *cfg = load(
        "externalRules:\n"
        "- seriesQuery: s\n  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'\n"
        "  resources: {namespaced: false}\n"
        "- seriesQuery: s\n  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) <<.GroupBy>><<.GroupBySlice>>'\n"
        "- seriesQuery: s\n  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'\n"
        "  resources: {template: 'k_<<.Resource>>'}\n");
    struct ahpa_labelsel *sel = sel_of("queue=jobs,!drain");
    static const struct {
        size_t rule;
        const char *ns, *want;
    } cases[] = {
        {0, "default", "sum(q{drain=\"\",queue=\"jobs\"})"},
        {1, "default", "sum(q{drain=\"\",queue=\"jobs\",namespace=\"default\"}) []"},
        {1, "", "sum(q{drain=\"\",queue=\"jobs\"}) []"},
        {2, "a\"b", "sum(q{drain=\"\",queue=\"jobs\",k_namespace=\"a\\\"b\"})"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        const struct ahpa_rules_rule *r = ahpa_rules_get(cfg, AHPA_RULES_EXTERNAL, cases[i].rule);
        ck_assert_int_eq(ahpa_rules_render_external(r, "q", cases[i].ns, sel, &b, NULL), 0);
        ck_assert_msg(strcmp(b.data, cases[i].want) == 0, "case %zu:\n got  %s\n want %s",
                      i, b.data, cases[i].want);
        ahpa_buf_dispose(&b);
    }
    ahpa_labelsel_free(sel);
    ahpa_rules_free(cfg);
}
END_TEST

START_TEST(resource_normalization)
{
    static const struct {
        const char *group, *in, *group_want, *plural_want;
    } cases[] = {
        {NULL, "pod", "", "pods"},
        {"", "Pods", "", "pods"},
        {NULL, "deployment", "apps", "deployments"},
        {"extensions", "deployment", "extensions", "deployments"},
        {NULL, "ingress", "networking.k8s.io", "ingresses"},
        {NULL, "endpoints", "", "endpoints"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *g, *p;
        ck_assert_int_eq(ahpa_rules_normalize_resource(cases[i].group, cases[i].in, &g, &p), 0);
        ck_assert_str_eq(g, cases[i].group_want);
        ck_assert_str_eq(p, cases[i].plural_want);
        free(g);
        free(p);
    }
    char *g, *p;
    ck_assert_int_eq(ahpa_rules_normalize_resource(NULL, "widget", &g, &p), -AHPA_ENOTFOUND);
    ck_assert_int_eq(ahpa_rules_normalize_resource(NULL, "", &g, &p), -AHPA_EINVAL);
    /* overrides outside the table: plural guessed */
    struct ahpa_rules_config *cfg = load(
        "rules:\n- seriesQuery: s\n  metricsQuery: q\n"
        "  resources: {overrides: {a: {group: x.io, resource: Policy}, b: {resource: box},"
        " c: {resource: days}, d: {resource: key}}}\n");
    const struct ahpa_rules_rule *r = ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 0);
    const char *labels[] = {"a", "b", "c", "d"};
    struct labels l;
    labels_make(&l, labels, 4);
    struct ahpa_rules_match m;
    ck_assert_int_eq(ahpa_rules_match_series(r, "s", &l.set, &m, NULL), 1);
    char *s = match_str(&m);
    ck_assert_str_eq(s, "s:/boxes=b;/days=c;/keys=d;x.io/policies=a");
    free(s);
    ahpa_rules_match_dispose(&m);
    ahpa_rules_free(cfg);
}
END_TEST

START_TEST(template_edges)
{
    /* ">>" inside a string literal, "<" and ">>" in plain text, a long
     * query, and quotes/backslashes in config text passed through */
    struct ahpa_buf y;
    ahpa_buf_init(&y);
    ahpa_buf_puts(&y, "rules:\n- seriesQuery: 'm{a=\"x\\\\\"}'\n"
                      "  resources: {overrides: {pod: {resource: pod}}}\n"
                      "  metricsQuery: '<<index .LabelValuesByName \">>\">>|a > b >> c < d|");
    for (int i = 0; i < 2000; i++)
        ahpa_buf_puts(&y, "<<.Series>>");
    ahpa_buf_puts(&y, "|\"}\\n'\n");
    struct ahpa_rules_config *cfg = load(y.data);
    const struct ahpa_rules_rule *r = ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 0);
    ck_assert_str_eq(ahpa_rules_series_query(r), "m{a=\"x\\\\\"}");
    const char *names[] = {"p"};
    struct ahpa_rules_query q = {.series = "s", .resource = "pods", .names = names, .nnames = 1};
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ck_assert_int_eq(ahpa_rules_render_query(r, &q, &b, NULL), 0);
    ck_assert(strncmp(b.data, "|a > b >> c < d|ss", 18) == 0);
    ck_assert_uint_eq(b.len, strlen("|a > b >> c < d|") + 2000 + strlen("|\"}\\n"));
    ck_assert_str_eq(b.data + b.len - 5, "|\"}\\n");
    ahpa_buf_dispose(&b);
    ahpa_buf_dispose(&y);
    ahpa_rules_free(cfg);
}
END_TEST

/* Rendering is reentrant: threads sharing one config get the same text. */
struct thread_arg {
    const struct ahpa_rules_rule *rule;
    const char *want;
    int ok;
};

static void *render_loop(void *p)
{
    struct thread_arg *a = p;
    const char *names[] = {"bert-1", "bert-2"};
    struct ahpa_rules_query q = {.series = "DCGM_FI_DEV_GPU_UTIL", .resource = "pods",
                                 .names = names, .nnames = 2, .namespace = "default"};
    const char *labels[] = {"pod", "namespace", "gpu"};
    struct ahpa_labelsel_set set = {labels, NULL, 3};
    a->ok = 1;
    for (int i = 0; i < 2000; i++) {
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        struct ahpa_rules_match m;
        if (ahpa_rules_render_query(a->rule, &q, &b, NULL) != 0 || strcmp(b.data, a->want) != 0 ||
            ahpa_rules_match_series(a->rule, "DCGM_FI_DEV_GPU_UTIL", &set, &m, NULL) != 1 ||
            strcmp(m.metric, "gpu_utilization") != 0 || m.nresources != 2)
            a->ok = 0;
        ahpa_rules_match_dispose(&m);
        ahpa_buf_dispose(&b);
    }
    return NULL;
}

START_TEST(concurrent_rendering)
{
    struct ahpa_rules_config *cfg = NULL;
    ck_assert_int_eq(ahpa_rules_builtin(&cfg, NULL), 0);
    pthread_t t[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].rule = ahpa_rules_get(cfg, AHPA_RULES_CUSTOM, 0);
        args[i].want = builtin_queries[0].want;
        ck_assert_int_eq(pthread_create(&t[i], NULL, render_loop, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert(args[i].ok);
    }
    ahpa_rules_free(cfg);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, builtin_loads);
    tcase_add_test(tc, builtin_queries_render);
    tcase_add_test(tc, match_series_tables);
    tcase_add_test(tc, builtin_match_series);
    tcase_add_test(tc, naming_table);
    tcase_add_test(tc, config_error_table);
    tcase_add_test(tc, config_warnings_and_defaults);
    tcase_add_test(tc, template_fields);
    tcase_add_test(tc, render_hostile_inputs);
    tcase_add_test(tc, external_namespacing);
    tcase_add_test(tc, resource_normalization);
    tcase_add_test(tc, template_edges);
    tcase_add_test(tc, concurrent_rendering);
    suite_add_tcase(s, tc);
    return s;
}
