/* Fuzz target: Prometheus API response bodies and the application-
 * intelligence ConfigMap (lib/prom). Whatever parses must be consistent:
 * every series' labels sorted and found again by lookup. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(const struct ahpa_prom_result *r)
{
    for (size_t i = 0; i < r->n_series; i++) {
        const struct ahpa_prom_series *s = &r->series[i];
        for (size_t j = 0; j < s->n_labels; j++) {
            if (j > 0 && strcmp(s->labels[j - 1].name, s->labels[j].name) >= 0)
                abort();
            if (ahpa_prom_series_label(s, s->labels[j].name) != s->labels[j].value)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    if (ahpa_prom_parse_response(200, "application/json", (const char *)data, size, &r, NULL) == 0)
        check_result(&r);
    ahpa_prom_result_dispose(&r);

    struct ahpa_prom_configmap cm;
    struct ahpa_prom_options o = {.url = NULL};
    if (ahpa_prom_options_from_configmap((const char *)data, size, &cm, &o, NULL) == 0) {
        if (cm.url == NULL || o.url != cm.url)
            abort();
        ahpa_prom_configmap_dispose(&cm);
    }
    return 0;
}
