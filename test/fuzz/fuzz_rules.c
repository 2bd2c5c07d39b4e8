/* Fuzz target: prometheus-adapter config YAML (lib/rules). Every accepted
 * config is exercised: series matching, resource labels and query
 * rendering for custom and external requests. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/labelsel.h"
#include "ahpa/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct ahpa_rules_rule *r,
                     const struct ahpa_labelsel *sel)
{
    const char *labels[] = {"pod", "namespace", "exported_pod",
                            "kube_apps_deployment", "job", "container"};
    struct ahpa_labelsel_set set = {labels, NULL, 6};
    const char *series[] = {"DCGM_FI_DEV_GPU_UTIL", "container_cpu_seconds_total",
                            "a", "kube_x_total"};
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    for (size_t i = 0; i < 4; i++) {
        struct ahpa_rules_match m;
        if (ahpa_rules_match_series(r, series[i], &set, &m, NULL) == 1)
            ahpa_rules_match_dispose(&m);
    }
    const char *names[] = {"bert-1", "a.b\"}"};
    const char *extra[] = {"container"};
    struct ahpa_rules_query q = {.series = "m", .resource = "pods", .names = names,
                                 .nnames = 2, .namespace = "default",
                                 .metric_selector = sel, .extra_group_by = extra,
                                 .nextra_group_by = 1};
    ahpa_rules_render_query(r, &q, &b, NULL);
    ahpa_buf_reset(&b);
    q.resource = "namespaces";
    q.namespace = NULL;
    q.nnames = 1;
    ahpa_rules_render_query(r, &q, &b, NULL);
    ahpa_buf_reset(&b);
    ahpa_rules_render_external(r, "m", "default", sel, &b, NULL);
    ahpa_buf_reset(&b);
    ahpa_rules_label_for_resource(r, "apps", "deployments", &b, NULL);
    ahpa_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ahpa_rules_config *cfg = NULL;
    if (ahpa_rules_parse((const char *)data, size, &cfg, NULL) != 0)
        return 0;
    struct ahpa_labelsel *sel = NULL;
    ahpa_labelsel_parse("gpu in (0,1),!x", &sel, NULL);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < ahpa_rules_count(cfg, k) && i < 64; i++)
            exercise(ahpa_rules_get(cfg, k, i), sel);
    ahpa_labelsel_free(sel);
    ahpa_rules_free(cfg);
    return 0;
}
