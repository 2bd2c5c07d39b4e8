/* Fuzz target: AHPA object parsing (lib/ahpaobj), YAML and JSON.
 * Every object returned must satisfy the header's contracts, every error
 * must be a non-empty line, and the bounds must evaluate. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct ahpa_obj *o)
{
    if (o->name == NULL || *o->name == '\0' || o->ns == NULL || o->uid == NULL ||
        o->source == NULL || o->target_kind == NULL || o->target_name == NULL ||
        o->target_api_version == NULL)
        abort();
    if (o->min_replicas < 0 || o->max_replicas < 1 || o->min_replicas > o->max_replicas)
        abort();
    if (!(o->quantile > 0 && o->quantile < 1) || o->scale_up_forward_s < 0 ||
        o->scale_down_stabilization_s < 0 || o->scale_down_stabilization_s > 3600)
        abort();
    if (o->nmetrics == 0 || ahpa_obj_primary_metric(o) == NULL)
        abort();
    for (size_t i = 0; i < o->nmetrics; i++)
        if (o->metrics[i].name == NULL || !(o->metrics[i].target > 0) ||
            !isfinite(o->metrics[i].target))
            abort();
    size_t nb = 0;
    if (o->bounds != NULL) {
        for (size_t w = 0; w < ahpa_cron_bounds_window_count(o->bounds); w++)
            nb += ahpa_cron_bounds_count(o->bounds, w);
        struct ahpa_cron_in_force f;
        ahpa_cron_bounds_at(o->bounds, NULL, 1646215200, &f); /* 2022-03-02 10:00Z */
        if (f.conflict && f.min_replicas <= f.max_replicas)
            abort();
    }
    if (nb != o->nbounds_text)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ahpa_obj **objs = NULL;
    char **errs = NULL;
    size_t n = 0, nerrs = 0;
    if (ahpa_obj_parse_yaml((const char *)data, size, NULL, "fuzz.yaml", &objs, &n, &errs,
                            &nerrs, NULL) == 0) {
        for (size_t i = 0; i < n; i++)
            check(objs[i]);
        for (size_t i = 0; i < nerrs; i++)
            if (errs[i] == NULL || *errs[i] == '\0' || strchr(errs[i], '\n') != NULL)
                abort();
        ahpa_obj_list_free(objs, n);
        ahpa_obj_errs_free(errs, nerrs);
    }
    json_t *j = json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK, NULL);
    if (j != NULL) {
        struct ahpa_obj *o = NULL;
        struct ahpa_error err = {0};
        if (ahpa_obj_from_json(j, NULL, &o, &err) == 0) {
            check(o);
            ahpa_obj_free(o);
        } else if (err.msg[0] == '\0') {
            abort();
        }
        json_decref(j);
    }
    return 0;
}
