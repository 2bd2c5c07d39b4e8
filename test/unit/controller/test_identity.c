/* One policy, one code path: a trace replayed through the controller (a
 * canned Prometheus serving it, one cycle per step) and through the
 * ahpa-backtest CLI (the same trace as CSV) gives identical plans (the
 * final replica counts of auto), step by step. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ahpa/controller.h"
#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "ahpa/prom.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"
#include "fakeprom.h"
#include "testsrv.h"
#include "unit.h"

#define DAY 86400
#define STEP 60
/* The replayed span: 6 hours of a rising morning, 2 days of history. */
#define T_END (1795824000 + 11 * 3600)
#define TEST_STEPS 360
#define HISTORY_S (2 * DAY)
#define T_FIRST (T_END - (TEST_STEPS - 1) * STEP)
#define T_CSV (T_FIRST - HISTORY_S - 2 * 3600)

/* A daily cycle with deterministic noise and short bursts (summed GPU
 * utilisation, percent), printed with 3 decimals by both paths. */
static double usage_at(int64_t t)
{
    uint64_t h = (uint64_t)t * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    double noise = (double)(h % 2001) / 100.0 - 10.0;
    double burst = (t / STEP) % 97 < 4 ? 60 : 0;
    double v = 100 + 80 * sin(2 * M_PI * (double)(t % DAY) / DAY) + noise + burst;
    char s[32];
    snprintf(s, sizeof(s), "%.3f", v);
    return strtod(s, NULL);
}

/* The trace up to T_END, replicas 3. */
static int sample(void *ud, bool replicas, double t, double *v)
{
    (void)ud;
    if (t > T_END)
        return FAKEPROM_END;
    *v = replicas ? 3.0 : usage_at((int64_t)t);
    return FAKEPROM_SAMPLE;
}

static void fake(const struct testsrv_request *req, struct testsrv_reply *reply, void *ud)
{
    fakeprom_answer_range(req, reply, sample, ud);
}

static const char ahpa_yaml[] =
    "apiVersion: autoscaling.alibabacloud.com/v1beta1\n"
    "kind: AdvancedHorizontalPodAutoscaler\n"
    "metadata: {name: web, namespace: default}\n"
    "spec:\n"
    "  metrics:\n"
    "  - type: Resource\n"
    "    resource: {name: gpu, target: {type: Utilization, averageUtilization: 20}}\n"
    "  minReplicas: 1\n"
    "  maxReplicas: 50\n"
    "  prediction: {quantile: 95, scaleUpForward: 180}\n"
    "  scaleStrategy: auto\n"
    "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n";

struct csv_row {
    long long t;
    int fin;
};

/* Reads desired_proactive and desired_auto of the plan CSV. */
static size_t read_plan(const char *path, struct csv_row *rows, size_t max)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    size_t n = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), f)); /* header */
    while (n < max && fgets(line, sizeof(line), f)) {
        /* timestamp,actual,forecast_point,forecast_q,reactive,proactive,auto */
        char *fields[8];
        size_t k = 0;
        for (char *p = line, *s; k < 8 && (s = strsep(&p, ",")) != NULL;)
            fields[k++] = s;
        ck_assert_uint_eq(k, 7);
        struct ahpa_error err = {0};
        int64_t ts;
        ck_assert_int_eq(ahpa_time_parse(fields[0], &ts, &err), 0);
        rows[n].t = ts;
        rows[n].fin = (int)strtol(fields[6], NULL, 10);
        n++;
    }
    fclose(f);
    return n;
}

START_TEST(controller_and_cli_plan_alike)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/ahpa-identity-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128], csv[128], plan[128];
    snprintf(path, sizeof(path), "%s/web.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(ahpa_yaml, f);
    fclose(f);
    /* the same trace as CSV, for the CLI */
    snprintf(csv, sizeof(csv), "%s/trace.csv", dir);
    f = fopen(csv, "w");
    ck_assert_ptr_nonnull(f);
    fputs("timestamp,value\n", f);
    for (int64_t t = T_CSV; t <= T_END; t += STEP)
        fprintf(f, "%" PRId64 ",%.3f\n", t, usage_at(t));
    fclose(f);

    ahpa_httpc_global_init(NULL);
    struct testsrv *srv = testsrv_start(fake, NULL);
    char *url = testsrv_url(srv, "");
    struct ahpa_prom_options po = {.url = url, .timeout_ms = 5000};
    struct ahpa_prom_client *prom = ahpa_prom_client_new(&po, NULL);
    struct ahpa_controller_options opt = {
        .prom = prom, .ahpa_dir = dir, .history_s = HISTORY_S, .timezone_name = "UTC"};
    struct ahpa_controller *c = ahpa_controller_new(&opt, NULL);
    ck_assert_ptr_nonnull(c);
    static int pro[TEST_STEPS], fin[TEST_STEPS];
    for (int i = 0; i < TEST_STEPS; i++) {
        int64_t now = T_FIRST + (int64_t)i * STEP + 7;
        ck_assert_int_eq(ahpa_controller_cycle(c, now, NULL), 1);
        struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(c);
        const struct ahpa_controller_plan *p = ahpa_controller_snapshot_find(s, "default", "web");
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(p->planned, "at %lld: %s", (long long)now, p->error);
        pro[i] = p->plan.proactive;
        fin[i] = p->plan.final;
        ahpa_controller_snapshot_release(s);
    }
    ahpa_controller_free(c);
    ahpa_prom_client_free(prom);
    testsrv_stop(srv);
    free(url);

    /* the CLI, with the controller's refit boundaries */
    snprintf(plan, sizeof(plan), "%s/plan.csv", dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "%s --input %s --target 20 --quantile 95 --scale-up-forward 180 --history-days 2 "
             "--test-days %.10g --refit 3600 --refit-offset %llu --observed-replicas 3 "
             "--min-replicas 1 --max-replicas 50 --method engine --output-plan %s > %s/out.txt",
             AHPA_BACKTEST_BIN, csv, (double)TEST_STEPS * STEP / DAY,
             (unsigned long long)(ahpa_str_hash("default/web") % 3600), plan, dir);
    ck_assert_int_eq(system(cmd), 0);
    static struct csv_row rows[TEST_STEPS + 8];
    size_t n = read_plan(plan, rows, TEST_STEPS + 8);
    ck_assert_uint_eq(n, TEST_STEPS);
    int changes = 0, proactive_above = 0;
    for (int i = 0; i < TEST_STEPS; i++) {
        ck_assert_int_eq(rows[i].t, T_FIRST + (int64_t)i * STEP);
        ck_assert_msg(rows[i].fin == fin[i], "step %d (%lld): controller %d pods, CLI %d", i,
                      rows[i].t, fin[i], rows[i].fin);
        changes += i > 0 && fin[i] != fin[i - 1];
        proactive_above += pro[i] > 3;
    }
    /* the replay is not trivial: the plan moves and the forecast term is
     * above the reactive one (3 pods observed) most of the time */
    ck_assert_int_gt(changes, 3);
    ck_assert_int_gt(proactive_above, TEST_STEPS / 2);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("controller_identity");
    TCase *tc = tcase_create("identity");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, controller_and_cli_plan_alike);
    suite_add_tcase(s, tc);
    return s;
}
