/* Driver for the real-Prometheus test (real_prometheus.sh): runs lib/prom
 * against a live server and prints what it got, one fact per line, for
 * the script to compare with the backfilled OpenMetrics file:
 *
 *   range <pod> <t_ms> <value>      query_range, GET
 *   series <pod> <label_app>        /api/v1/series
 *   sum <t_ms> <value>              instant queries every 15 min, POST
 *   label <name>                    /api/v1/labels
 *   error <message>                 a deliberately bad query
 *
 * It also checks on its own that GET and POST give identical matrices.
 * Usage: prom_real_check URL END_S MINUTES (the window [END_S - MINUTES, END_S]) */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "ahpa/prom.h"

static int fail(const char *what, const struct ahpa_error *err)
{
    fprintf(stderr, "prom_real_check: %s: %s\n", what, err->msg);
    return 1;
}

static bool same_matrix(const struct ahpa_prom_result *a, const struct ahpa_prom_result *b)
{
    if (a->n_series != b->n_series)
        return false;
    for (size_t i = 0; i < a->n_series; i++) {
        const struct ahpa_prom_series *x = &a->series[i], *y = &b->series[i];
        if (x->n_samples != y->n_samples || x->n_labels != y->n_labels)
            return false;
        for (size_t j = 0; j < x->n_samples; j++)
            if (x->samples[j].t_ms != y->samples[j].t_ms ||
                memcmp(&x->samples[j].value, &y->samples[j].value, sizeof(double)) != 0)
                return false;
    }
    return true;
}

static int run(struct ahpa_prom_client *get, struct ahpa_prom_client *post, int64_t end_ms,
               int64_t minutes)
{
    struct ahpa_prom_result r, r2;
    ahpa_prom_result_init(&r);
    ahpa_prom_result_init(&r2);
    struct ahpa_error err = {0};
    const char *q = "DCGM_FI_DEV_GPU_UTIL{namespace=\"default\"}";
    int64_t start_ms = end_ms - minutes * 60000;
    int rc = 1;
    if (ahpa_prom_query_range(get, q, start_ms, end_ms, 60000, &r, &err) != 0 ||
        ahpa_prom_query_range(post, q, start_ms, end_ms, 60000, &r2, &err) != 0) {
        fail("query_range", &err);
        goto out;
    }
    if (!same_matrix(&r, &r2)) {
        fprintf(stderr, "prom_real_check: GET and POST matrices differ\n");
        goto out;
    }
    for (size_t i = 0; i < r.n_series; i++)
        for (size_t j = 0; j < r.series[i].n_samples; j++)
            printf("range %s %" PRId64 " %.17g\n", ahpa_prom_series_label(&r.series[i], "pod"),
                   r.series[i].samples[j].t_ms, r.series[i].samples[j].value);
    const char *match[] = {"kube_pod_labels{namespace=\"default\"}"};
    if (ahpa_prom_series(get, match, 1, start_ms, end_ms, &r, &err) != 0) {
        fail("series", &err);
        goto out;
    }
    for (size_t i = 0; i < r.n_series; i++)
        printf("series %s %s\n", ahpa_prom_series_label(&r.series[i], "pod"),
               ahpa_prom_series_label(&r.series[i], "label_app"));
    for (int64_t t_ms = start_ms; t_ms <= end_ms; t_ms += 15 * 60000) {
        if (ahpa_prom_query(post, "sum(DCGM_FI_DEV_GPU_UTIL)", t_ms, &r, &err) != 0 ||
            r.n_series != 1) {
            fail("query", &err);
            goto out;
        }
        printf("sum %" PRId64 " %.17g\n", r.series[0].samples[0].t_ms,
               r.series[0].samples[0].value);
    }
    if (ahpa_prom_labels(get, NULL, 0, -1, -1, &r, &err) != 0) {
        fail("labels", &err);
        goto out;
    }
    for (size_t i = 0; i < r.n_strings; i++)
        printf("label %s\n", r.strings[i]);
    ahpa_error_clear(&err);
    if (ahpa_prom_query(get, "sum(DCGM_FI_DEV_GPU_UTIL{pod=\"x\"", end_ms, &r, &err) == 0) {
        fprintf(stderr, "prom_real_check: a broken query succeeded\n");
        goto out;
    }
    printf("error %s\n", err.msg);
    rc = 0;
out:
    ahpa_prom_result_dispose(&r);
    ahpa_prom_result_dispose(&r2);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: prom_real_check URL END_S MINUTES\n");
        return 2;
    }
    struct ahpa_error err = {0};
    if (ahpa_httpc_global_init(&err) != 0)
        return fail("init", &err);
    struct ahpa_prom_options o = {.url = argv[1], .verb = AHPA_PROM_GET, .timeout_ms = 5000};
    struct ahpa_prom_client *get = ahpa_prom_client_new(&o, &err);
    o.verb = AHPA_PROM_POST;
    struct ahpa_prom_client *post = get ? ahpa_prom_client_new(&o, &err) : NULL;
    int rc = (get && post) ? run(get, post, strtoll(argv[2], NULL, 10) * 1000,
                                 strtoll(argv[3], NULL, 10))
                           : fail("client", &err);
    ahpa_prom_client_free(get);
    ahpa_prom_client_free(post);
    return rc;
}
