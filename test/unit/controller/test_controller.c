/* Unit tests for lib/controller: files, incremental history, plans,
 * snapshot and report, against a fake Prometheus whose GPU usage follows
 * a daily cycle (sum over pods, percent) and whose replicas are 3. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/buf.h"
#include "ahpa/controller.h"
#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "ahpa/prom.h"
#include "testsrv.h"
#include "unit.h"

#define DAY 86400.0

static atomic_llong last_start, last_end;
static atomic_int range_queries;
static _Thread_local char body[1 << 20];

/* Reads a query parameter as a number from a target. */
static double param(const char *target, const char *name)
{
    char key[32];
    snprintf(key, sizeof(key), "%s=", name);
    const char *p = strstr(target, key);
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

static double usage_at(double t)
{
    return 100 + 80 * sin(2 * M_PI * fmod(t, DAY) / DAY); /* 20%..180% summed */
}

static void fake(const struct testsrv_request *req, struct testsrv_reply *reply, void *ud)
{
    (void)ud;
    const char *t = req->method[0] == 'P' ? req->body : req->target;
    double start = param(t, "start"), end = param(t, "end"), step = param(t, "step");
    if (strncmp(req->target, "/api/v1/query_range", 19) != 0 || !(step > 0)) {
        reply->status = 400;
        reply->body = "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"unexpected\"}";
        return;
    }
    atomic_fetch_add(&range_queries, 1);
    atomic_store(&last_start, (long long)start);
    atomic_store(&last_end, (long long)end);
    bool replicas = strstr(t, "kube_deployment_status_replicas") != NULL;
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"status\":\"success\",\"data\":{\"resultType\":"
                                "\"matrix\",\"result\":[{\"metric\":{},\"values\":[");
    for (double x = start; x <= end && n + 64 < sizeof(body); x += step)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s[%.0f,\"%.3f\"]",
                              x == start ? "" : ",", x, replicas ? 3.0 : usage_at(x));
    snprintf(body + n, sizeof(body) - n, "]}]}}");
    reply->body = body;
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
    "  scaleStrategy: %s\n"
    "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n";

struct fixture {
    struct testsrv *srv;
    char *url;
    struct ahpa_prom_client *prom;
    char dir[64];
    struct ahpa_controller *c;
};

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void write_ahpa(const char *dir, const char *strategy)
{
    char text[2048];
    snprintf(text, sizeof(text), ahpa_yaml, strategy);
    write_file(dir, "web.yaml", text);
}

static void setup_with(struct fixture *f, testsrv_handler_fn prometheus)
{
    ahpa_httpc_global_init(NULL);
    f->srv = testsrv_start(prometheus, NULL);
    f->url = testsrv_url(f->srv, "");
    struct ahpa_prom_options po = {.url = f->url, .timeout_ms = 5000};
    f->prom = ahpa_prom_client_new(&po, NULL);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ahpa-ctl-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    write_ahpa(f->dir, "auto");
    write_file(f->dir, "broken.yaml", "apiVersion: autoscaling.alibabacloud.com/v1beta1\n"
                                      "kind: AdvancedHorizontalPodAutoscaler\n"
                                      "metadata: {name: bad}\nspec: {maxReplicas: 0}\n");
    write_file(f->dir, "notes.txt", "ignored: not yaml by name\n");
    struct ahpa_controller_options opt = {
        .prom = f->prom, .ahpa_dir = f->dir, .history_s = 2 * 86400, .timezone_name = "UTC"};
    struct ahpa_error err = {0};
    f->c = ahpa_controller_new(&opt, &err);
    ck_assert_ptr_nonnull(f->c);
}

static void setup(struct fixture *f)
{
    setup_with(f, fake);
}

static void teardown(struct fixture *f)
{
    ahpa_controller_free(f->c);
    ahpa_prom_client_free(f->prom);
    testsrv_stop(f->srv);
    free(f->url);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(plans_from_history)
{
    struct fixture f;
    setup(&f);
    const int64_t now = 1795824000 + 6 * 3600; /* 06:00 UTC: usage rising to its peak */
    ck_assert_int_eq(ahpa_controller_cycle(f.c, now, NULL), 1);
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    ck_assert_uint_eq(ahpa_controller_snapshot_count(s), 1);
    const struct ahpa_controller_plan *p = ahpa_controller_snapshot_find(s, "default", "web");
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(p->planned, "%s", p->error);
    ck_assert_int_eq(p->replicas, 3);
    AHPA_ASSERT_NEAR(p->usage, usage_at((double)now), 0.01);
    /* Reactive: ceil(180 / 20) = 9. Proactive: the forecast of a clean
     * cycle near its peak also asks for about 9 (8..11). */
    ck_assert_int_eq(p->plan.reactive, 9);
    ck_assert_msg(p->plan.proactive >= 8 && p->plan.proactive <= 11, "%d", p->plan.proactive);
    ck_assert_int_eq(p->plan.final, p->plan.proactive > 9 ? p->plan.proactive : 9);
    ck_assert_uint_ge(p->history_steps, 2 * 1440);
    const char *const *errors;
    ck_assert_uint_eq(ahpa_controller_snapshot_errors(s, &errors), 1);
    ck_assert_msg(strstr(errors[0], "broken.yaml") && strstr(errors[0], "default/bad"), "%s",
                  errors[0]);
    ahpa_controller_snapshot_release(s);

    /* The next cycle asks only for what is new (plus one step again). */
    ck_assert_int_eq(ahpa_controller_cycle(f.c, now + 120, NULL), 1);
    ck_assert_int_eq(atomic_load(&last_start), now - 60);
    ck_assert_int_eq(atomic_load(&last_end), now + 120);

    struct ahpa_buf html;
    ahpa_buf_init(&html);
    ck_assert_int_eq(ahpa_controller_render(f.c, "default", "web", &html, NULL), 0);
    ck_assert(strstr(html.data, "Predict GPU Resource Observer") != NULL);
    ck_assert(strstr(html.data, "Predict POD Observer") != NULL);
    ahpa_buf_dispose(&html);
    ck_assert_int_eq(ahpa_controller_render(f.c, "default", "nope", &html, NULL),
                     -AHPA_ENOTFOUND);
    ahpa_buf_dispose(&html);

    struct ahpa_buf m;
    ahpa_buf_init(&m);
    ahpa_controller_collect(f.c, &m);
    ck_assert(strstr(m.data, "ahpa_reactive_pods{namespace=\"default\",ahpa=\"web\",strategy=\"auto\"} 9\n"));
    ck_assert(strstr(m.data, "ahpa_target_metric{namespace=\"default\",ahpa=\"web\",strategy=\"auto\"} 20\n"));
    ahpa_buf_dispose(&m);
    teardown(&f);
}
END_TEST

START_TEST(files_change_and_history_stays)
{
    struct fixture f;
    setup(&f);
    const int64_t now = 1795824000 + 12 * 3600;
    ahpa_controller_cycle(f.c, now, NULL);
    int before = atomic_load(&range_queries);
    /* A new definition of the same object keeps its history: the next
     * cycle asks Prometheus for the new minutes only. */
    sleep(1); /* a distinct mtime */
    write_ahpa(f.dir, "observer");
    ahpa_controller_cycle(f.c, now + 60, NULL);
    ck_assert_int_eq(atomic_load(&range_queries) - before, 2); /* usage + replicas */
    ck_assert_int_eq(atomic_load(&last_start), now - 60); /* the last step again */
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    const struct ahpa_controller_plan *p = ahpa_controller_snapshot_find(s, "default", "web");
    ck_assert_str_eq(p->strategy, "observer");
    ck_assert(p->planned);
    ahpa_controller_snapshot_release(s);
    /* Removing the file removes the object. */
    char path[256];
    snprintf(path, sizeof(path), "%s/web.yaml", f.dir);
    unlink(path);
    ck_assert_int_eq(ahpa_controller_cycle(f.c, now + 120, NULL), 0);
    teardown(&f);
}
END_TEST

START_TEST(many_ahpas_in_parallel)
{
    struct fixture f;
    setup(&f);
    for (int i = 0; i < 9; i++) {
        char text[2048], name[32], yaml[2100];
        snprintf(text, sizeof(text), ahpa_yaml, "auto");
        snprintf(name, sizeof(name), "name: web%d,", i);
        /* same target, another object name */
        char *at = strstr(text, "name: web,");
        snprintf(yaml, sizeof(yaml), "%.*s%s%s", (int)(at - text), text, name, at + 10);
        char file[32];
        snprintf(file, sizeof(file), "web%d.yaml", i);
        write_file(f.dir, file, yaml);
    }
    const int64_t now = 1795824000 + 6 * 3600;
    ck_assert_int_eq(ahpa_controller_cycle(f.c, now, NULL), 10);
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    ck_assert_uint_eq(ahpa_controller_snapshot_count(s), 10);
    for (size_t i = 0; i < 10; i++) {
        const struct ahpa_controller_plan *p = ahpa_controller_snapshot_at(s, i);
        ck_assert_msg(p->planned, "%s: %s", p->name, p->error);
        ck_assert_int_eq(p->plan.reactive, 9);
    }
    ahpa_controller_snapshot_release(s);
    ck_assert_int_eq(ahpa_controller_cycle(f.c, now + 60, NULL), 10);
    teardown(&f);
}
END_TEST

START_TEST(prometheus_down_is_reported)
{
    struct fixture f;
    setup(&f);
    testsrv_stop(f.srv);
    f.srv = NULL;
    ck_assert_int_eq(ahpa_controller_cycle(f.c, 1795824000, NULL), 1);
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    const struct ahpa_controller_plan *p = ahpa_controller_snapshot_at(s, 0);
    ck_assert(!p->planned);
    ck_assert_msg(strstr(p->error, "prometheus") != NULL, "%s", p->error);
    ahpa_controller_snapshot_release(s);
    f.srv = testsrv_start(fake, NULL); /* for teardown */
    teardown(&f);
}
END_TEST

static atomic_int slow_queries;

/* Prometheus answering every query with no series, 250 ms late. */
static void slow_empty(const struct testsrv_request *req, struct testsrv_reply *reply, void *ud)
{
    (void)req, (void)ud;
    atomic_fetch_add(&slow_queries, 1);
    reply->delay_ms = 250;
    reply->body = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}";
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Shutdown: the workers finish the AHPAs they are on and take no more, and
 * the cut-short cycle is not published. 24 AHPAs at >= 250 ms each on 4
 * workers take >= 1.5 s; the stop must not wait for them. */
START_TEST(stop_ends_a_cycle_between_ahpas)
{
    struct fixture f;
    setup_with(&f, slow_empty);
    for (int i = 0; i < 23; i++) {
        char text[2048], file[32];
        snprintf(text, sizeof(text), ahpa_yaml, "auto");
        char *at = strstr(text, "name: web,");
        char yaml[2100];
        snprintf(yaml, sizeof(yaml), "%.*sname: web%d,%s", (int)(at - text), text, i, at + 10);
        snprintf(file, sizeof(file), "web%d.yaml", i);
        write_file(f.dir, file, yaml);
    }
    atomic_store(&slow_queries, 0);
    ck_assert_int_eq(ahpa_controller_start(f.c, NULL), 0);
    struct timespec pause = {0, 100 * 1000000L};
    nanosleep(&pause, NULL);
    double t0 = mono_s();
    ahpa_controller_stop(f.c);
    double took = mono_s() - t0;
    int queries = atomic_load(&slow_queries);
    ck_assert_msg(took < 1.0, "stop took %.3f s", took); /* measured: 0.55 s (3.5 s when the cycle runs on) */
    ck_assert_msg(queries < 24, "%d queries: the cycle went on after the stop", queries);
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    ck_assert_uint_eq(ahpa_controller_snapshot_count(s), 0);
    ahpa_controller_snapshot_release(s);
    teardown(&f);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("controller");
    TCase *tc = tcase_create("controller");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, plans_from_history);
    tcase_add_test(tc, files_change_and_history_stays);
    tcase_add_test(tc, many_ahpas_in_parallel);
    tcase_add_test(tc, prometheus_down_is_reported);
    tcase_add_test(tc, stop_ends_a_cycle_between_ahpas);
    suite_add_tcase(s, tc);
    return s;
}
