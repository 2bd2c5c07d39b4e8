/* Unit tests for lib/controller: files, incremental history, plans,
 * snapshot and report, against a fake Prometheus whose GPU usage follows
 * a daily cycle (sum over pods, percent) and whose replicas are 3. */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
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
#include "ahpa/log.h"
#include "ahpa/prom.h"
#include "fakeprom.h"
#include "testsrv.h"
#include "unit.h"

#define DAY 86400.0

static atomic_llong last_start, last_end;
static atomic_int range_queries;
/* What the canned Prometheus answers, set per test: usage samples at or
 * after usage_gap_from are left out (0: none), those in
 * [usage_nan_from, usage_nan_to) are "NaN"; the replica count in
 * thousandths. */
static atomic_llong usage_gap_from, usage_nan_from, usage_nan_to;
static atomic_llong usage_from; /* usage samples before it are left out (0: none) */
static atomic_bool usage_huge;  /* usage near DBL_MAX: finite, its forecast need not be */
static atomic_llong replicas_milli = 3000;
static atomic_int delay_ms; /* before every answer */

static atomic_bool usage_noise; /* deterministic noise of +-15 on the usage */

static double usage_at(double t)
{
    double noise = 0;
    if (atomic_load(&usage_noise)) {
        uint64_t h = (uint64_t)(int64_t)t * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
        noise = (double)(h % 3001) / 100.0 - 15.0;
    }
    return 100 + 80 * sin(2 * M_PI * fmod(t, DAY) / DAY) + noise; /* 20%..180% summed */
}

/* The canned series: replicas_milli / 1000, or the usage with the gap,
 * the missing head, the NaN stretch and the huge values set per test. */
static int sample(void *ud, bool replicas, double x, double *v)
{
    (void)ud;
    if (replicas) {
        *v = atomic_load(&replicas_milli) / 1000.0;
        return FAKEPROM_SAMPLE;
    }
    long long gap = atomic_load(&usage_gap_from);
    if (gap > 0 && x >= (double)gap)
        return FAKEPROM_END;
    if (x < (double)atomic_load(&usage_from))
        return FAKEPROM_SKIP;
    if (x >= (double)atomic_load(&usage_nan_from) && x < (double)atomic_load(&usage_nan_to))
        *v = NAN;
    else
        *v = atomic_load(&usage_huge) ? 1.7e308 * (0.5 + usage_at(x) / 400) : usage_at(x);
    return FAKEPROM_SAMPLE;
}

static void fake(const struct testsrv_request *req, struct testsrv_reply *reply, void *ud)
{
    const char *t = req->method[0] == 'P' ? req->body : req->target;
    fakeprom_answer_range(req, reply, sample, ud);
    if (reply->status != 0)
        return;
    atomic_fetch_add(&range_queries, 1);
    reply->delay_ms = atomic_load(&delay_ms);
    atomic_store(&last_start, (long long)fakeprom_param(t, "start"));
    atomic_store(&last_end, (long long)fakeprom_param(t, "end"));
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

/* Replaces a file at once (a hidden temporary, then rename), as editors
 * and ConfigMap updates do, so a concurrent scan never sees half of it. */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256], tmp[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, path), 0);
}

static void write_ahpa(const char *dir, const char *strategy)
{
    char text[2048];
    snprintf(text, sizeof(text), ahpa_yaml, strategy);
    write_file(dir, "web.yaml", text);
}

static void setup_with(struct fixture *f, testsrv_handler_fn prometheus)
{
    atomic_store(&usage_gap_from, 0);
    atomic_store(&usage_nan_from, 0);
    atomic_store(&usage_nan_to, 0);
    atomic_store(&usage_from, 0);
    atomic_store(&usage_huge, false);
    atomic_store(&usage_noise, false);
    atomic_store(&replicas_milli, 3000);
    atomic_store(&delay_ms, 0);
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

/* Only web.yaml: fewer logged errors in long loops. */
static void unlink_broken(struct fixture *f)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/broken.yaml", f->dir);
    unlink(path);
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

/* The plan of default/web after one cycle at now (a copy of what the
 * tests look at; the snapshot is released). */
struct seen {
    bool found, planned, replicas_known;
    int32_t replicas;
    int64_t created_s;
    bool created_from_object;
    char error[256], target_ref[64];
    size_t count, nerrors;
    char errors[4][256];
};

static struct seen cycle_and_look(struct fixture *f, int64_t now)
{
    struct seen x;
    memset(&x, 0, sizeof(x));
    ahpa_controller_cycle(f->c, now, NULL);
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f->c);
    x.count = ahpa_controller_snapshot_count(s);
    const char *const *errors;
    x.nerrors = ahpa_controller_snapshot_errors(s, &errors);
    for (size_t i = 0; i < x.nerrors && i < 4; i++)
        snprintf(x.errors[i], sizeof(x.errors[i]), "%s", errors[i]);
    const struct ahpa_controller_plan *p = ahpa_controller_snapshot_find(s, "default", "web");
    if (p != NULL) {
        x.found = true;
        x.planned = p->planned;
        x.replicas_known = p->replicas_known;
        x.replicas = p->replicas;
        x.created_s = p->created_s;
        x.created_from_object = p->created_from_object;
        snprintf(x.error, sizeof(x.error), "%s", p->error);
        snprintf(x.target_ref, sizeof(x.target_ref), "%s", p->target_ref);
    }
    ahpa_controller_snapshot_release(s);
    return x;
}

/* No planned-replica gauge of default/web in /metrics. */
static void assert_no_plan_gauges(struct fixture *f)
{
    struct ahpa_buf m;
    ahpa_buf_init(&m);
    ahpa_controller_collect(f->c, &m);
    static const char *const gauges[] = {"ahpa_proactive_pods", "ahpa_reactive_pods",
                                         "ahpa_requested_pods", "ahpa_min_pods", "ahpa_max_pods"};
    for (size_t g = 0; g < 5; g++) {
        char line[128];
        snprintf(line, sizeof(line), "%s{namespace=\"default\",ahpa=\"web\"", gauges[g]);
        ck_assert_msg(strstr(ahpa_buf_cstr(&m), line) == NULL, "%s exported", gauges[g]);
    }
    ahpa_buf_dispose(&m);
}

/* Lines of a log file holding `what`; closes the file. */
static int count_lines(FILE *log, const char *what)
{
    rewind(log);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof(line), log) != NULL)
        n += strstr(line, what) != NULL;
    fclose(log);
    return n;
}

START_TEST(usage_gap_at_the_end_is_not_planned)
{
    struct fixture f;
    setup(&f);
    const int64_t now = 1795824000 + 6 * 3600;
    atomic_store(&usage_gap_from, now - 1800); /* the exporter stopped 30 min ago */
    struct seen x = cycle_and_look(&f, now);
    ck_assert(x.found);
    ck_assert_msg(!x.planned, "planned from a 30 min old sample");
    ck_assert_msg(strstr(x.error, "no current GPU usage for Deployment/web since ") != NULL, "%s",
                  x.error);
    assert_no_plan_gauges(&f);
    /* The page says why. */
    struct ahpa_buf html;
    ahpa_buf_init(&html);
    ck_assert_int_eq(ahpa_controller_render(f.c, "default", "web", &html, NULL), 0);
    ck_assert_msg(strstr(ahpa_buf_cstr(&html), "no current GPU usage") != NULL, "no reason");
    ahpa_buf_dispose(&html);
    /* Two more cycles in the same gap: the log says it once. */
    FILE *log = tmpfile();
    ck_assert_ptr_nonnull(log);
    ahpa_log_set_output(log);
    cycle_and_look(&f, now + 60);
    cycle_and_look(&f, now + 120);
    ahpa_log_set_output(stderr);
    ck_assert_int_eq(count_lines(log, "not planned"), 0); /* logged at the first cycle */
    /* Samples again: planned again, said once. */
    log = tmpfile();
    ahpa_log_set_output(log);
    atomic_store(&usage_gap_from, 0);
    x = cycle_and_look(&f, now + 180);
    ck_assert_msg(x.planned, "%s", x.error);
    cycle_and_look(&f, now + 240);
    ahpa_log_set_output(stderr);
    ck_assert_int_eq(count_lines(log, "default/web: planned again"), 1);
    /* The gap again: said once more. */
    log = tmpfile();
    ahpa_log_set_output(log);
    atomic_store(&usage_gap_from, now + 200);
    for (int i = 0; i < 3; i++)
        cycle_and_look(&f, now + 600 + 60 * i);
    ahpa_log_set_output(stderr);
    ck_assert_int_eq(count_lines(log, "default/web: not planned: no current GPU usage"), 1);
    teardown(&f);
}
END_TEST

START_TEST(nan_stretch_at_the_end_is_unknown)
{
    struct fixture f;
    setup(&f);
    const int64_t now = 1795824000 + 6 * 3600;
    /* A long NaN stretch up to now: no current usage. */
    atomic_store(&usage_nan_from, now - 6 * 3600);
    atomic_store(&usage_nan_to, now + 3600);
    struct seen x = cycle_and_look(&f, now);
    ck_assert_msg(!x.planned, "planned from NaN");
    ck_assert_msg(strstr(x.error, "no current GPU usage") != NULL, "%s", x.error);
    assert_no_plan_gauges(&f);
    teardown(&f);

    /* One current sample after a NaN window: the recent window is missing. */
    setup(&f);
    atomic_store(&usage_nan_from, now - 4 * 60);
    atomic_store(&usage_nan_to, now);
    x = cycle_and_look(&f, now);
    ck_assert_msg(!x.planned, "planned after 4 NaN steps");
    ck_assert_msg(strstr(x.error, "recent history missing") != NULL, "%s", x.error);
    assert_no_plan_gauges(&f);
    teardown(&f);
}
END_TEST

START_TEST(no_series_and_no_forecast)
{
    const int64_t now = 1795824000 + 6 * 3600;
    /* Prometheus is up but has no usage series for the workload. */
    struct fixture f;
    setup(&f);
    atomic_store(&usage_gap_from, 1);
    struct seen x = cycle_and_look(&f, now);
    ck_assert(!x.planned);
    ck_assert_msg(strstr(x.error, "no GPU usage for Deployment/web in Prometheus") != NULL, "%s",
                  x.error);
    assert_no_plan_gauges(&f);
    teardown(&f);

    /* Usage near the largest double: finite, but its forecast is not. */
    setup(&f);
    atomic_store(&usage_huge, true);
    x = cycle_and_look(&f, now);
    ck_assert_msg(!x.planned, "auto planned from an infinite forecast");
    ck_assert_msg(strstr(x.error, "forecast unavailable") != NULL, "%s", x.error);
    assert_no_plan_gauges(&f);
    teardown(&f);

    /* A reactive AHPA does not need the forecast: 3 minutes of usage do. */
    setup(&f);
    write_ahpa(f.dir, "reactive");
    atomic_store(&usage_from, now - 120);
    x = cycle_and_look(&f, now);
    ck_assert_msg(x.planned, "%s", x.error);
    teardown(&f);
}
END_TEST

START_TEST(replicas_are_range_checked)
{
    static const long long bad[] = {1000000000000000LL /* 1e12 */, -5000, 2500};
    const int64_t now = 1795824000 + 6 * 3600;
    for (size_t i = 0; i < 3; i++) {
        struct fixture f;
        setup(&f);
        atomic_store(&replicas_milli, bad[i]);
        struct seen x = cycle_and_look(&f, now);
        ck_assert_msg(!x.planned, "planned with %lld/1000 replicas", bad[i]);
        ck_assert_msg(!x.replicas_known, "replicas %d", x.replicas);
        ck_assert_msg(strstr(x.error, "replicas unknown") != NULL, "%s", x.error);
        assert_no_plan_gauges(&f);
        teardown(&f);
    }
    /* 0 replicas is known (scaled to zero). */
    struct fixture f;
    setup(&f);
    atomic_store(&replicas_milli, 0);
    struct seen x = cycle_and_look(&f, now);
    ck_assert_msg(x.planned, "%s", x.error);
    ck_assert(x.replicas_known);
    ck_assert_int_eq(x.replicas, 0);
    teardown(&f);
}
END_TEST

START_TEST(one_ahpa_one_plan)
{
    struct fixture f;
    setup(&f);
    /* A second object named default/web in a later file (by path), with
     * another target: both new in the same scan. */
    char text[2048];
    snprintf(text, sizeof(text), ahpa_yaml, "auto");
    char *at = strstr(text, "kind: Deployment, name: web}");
    ck_assert_ptr_nonnull(at);
    memcpy(at + strlen("kind: Deployment, name: "), "wex}", 4);
    write_file(f.dir, "zz-web.yaml", text);
    const int64_t now = 1795824000 + 6 * 3600;
    struct seen x = cycle_and_look(&f, now);
    ck_assert_uint_eq(x.count, 1);
    ck_assert_str_eq(x.target_ref, "Deployment/web");
    bool reported = false;
    for (size_t i = 0; i < x.nerrors && i < 4; i++)
        reported |= strstr(x.errors[i], "zz-web.yaml") && strstr(x.errors[i], "defined twice");
    ck_assert_msg(reported, "duplicate not reported (%zu errors)", x.nerrors);
    struct ahpa_buf m;
    ahpa_buf_init(&m);
    ahpa_controller_collect(f.c, &m);
    ck_assert(strstr(ahpa_buf_cstr(&m), "\nahpa_controller_skipped 2\n") != NULL); /* + broken */
    ahpa_buf_dispose(&m);
    /* It stays one while the files are re-read. */
    write_ahpa(f.dir, "reactive");
    x = cycle_and_look(&f, now + 60);
    ck_assert_uint_eq(x.count, 1);
    ck_assert_str_eq(x.target_ref, "Deployment/web");
    teardown(&f);
}
END_TEST

START_TEST(creation_timestamp_is_the_objects)
{
    struct fixture f;
    setup(&f);
    const int64_t now = 1795824000 + 6 * 3600;
    struct seen x = cycle_and_look(&f, now);
    ck_assert(!x.created_from_object);
    ck_assert_int_eq(x.created_s, now); /* first seen */
    x = cycle_and_look(&f, now + 60);
    ck_assert_int_eq(x.created_s, now);
    char text[2048];
    snprintf(text, sizeof(text), ahpa_yaml, "auto");
    char *at = strstr(text, "namespace: default}");
    char yaml[2200];
    snprintf(yaml, sizeof(yaml), "%.*snamespace: default, creationTimestamp: "
             "\"2026-11-30T08:00:00Z\"}%s", (int)(at - text), text,
             at + strlen("namespace: default}"));
    write_file(f.dir, "web.yaml", yaml);
    x = cycle_and_look(&f, now + 120);
    ck_assert(x.created_from_object);
    ck_assert_int_eq(x.created_s, 1796025600);
    teardown(&f);
}
END_TEST

/* --- files edited while pages render and cycles run --------------------------- */

struct stress {
    struct fixture *f;
    atomic_bool done;
    atomic_int renders, reads;
};

static void *stress_reader(void *arg)
{
    struct stress *st = arg;
    for (int i = 0; i < 100000 && !atomic_load(&st->done); i++) {
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        if (i % 3 == 0) {
            int rc = ahpa_controller_render(st->f->c, "default", "web", &b, NULL);
            ck_assert(rc == 0 || rc == -AHPA_ENOTFOUND);
            atomic_fetch_add(&st->renders, 1);
        } else if (i % 3 == 1) {
            ahpa_controller_collect(st->f->c, &b);
        } else {
            struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(st->f->c);
            for (size_t k = 0; k < ahpa_controller_snapshot_count(s); k++) {
                const struct ahpa_controller_plan *p = ahpa_controller_snapshot_at(s, k);
                ahpa_buf_printf(&b, "%s/%s %s %s\n", p->ns, p->name, p->target_ref, p->error);
            }
            const char *const *errors;
            for (size_t k = 0; k < ahpa_controller_snapshot_errors(s, &errors); k++)
                ahpa_buf_puts(&b, errors[k]);
            ahpa_controller_snapshot_release(s);
            atomic_fetch_add(&st->reads, 1);
        }
        ahpa_buf_dispose(&b);
    }
    return NULL;
}

static void *stress_editor(void *arg)
{
    struct stress *st = arg;
    char text[2048], from[256], to[256];
    for (int i = 0; i < 40 && !atomic_load(&st->done); i++) {
        snprintf(text, sizeof(text), ahpa_yaml, i % 2 ? "reactive" : "auto");
        if (i % 4 == 3) { /* another target: a new workload replaces the old */
            char *at = strstr(text, "kind: Deployment, name: web}");
            memcpy(at + strlen("kind: Deployment, name: "), "wex}", 4);
        }
        switch (i % 5) {
        case 0: write_file(st->f->dir, "web.yaml", text); break;
        case 1: /* rename */
            snprintf(from, sizeof(from), "%s/web.yaml", st->f->dir);
            snprintf(to, sizeof(to), "%s/web2.yaml", st->f->dir);
            rename(from, to);
            break;
        case 2: write_file(st->f->dir, "dup.yaml", text); break; /* a duplicate */
        case 3: /* delete */
            snprintf(from, sizeof(from), "%s/web2.yaml", st->f->dir);
            unlink(from);
            break;
        default:
            snprintf(from, sizeof(from), "%s/dup.yaml", st->f->dir);
            unlink(from);
            write_file(st->f->dir, "web.yaml", text);
            break;
        }
        usleep(20000);
    }
    atomic_store(&st->done, true);
    return NULL;
}

START_TEST(files_edited_while_readers_render)
{
    struct fixture f;
    setup(&f);
    struct stress st = {.f = &f};
    int64_t now = 1795824000 + 6 * 3600;
    ahpa_controller_cycle(f.c, now, NULL);
    pthread_t readers[3], editor;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&readers[i], NULL, stress_reader, &st), 0);
    ck_assert_int_eq(pthread_create(&editor, NULL, stress_editor, &st), 0);
    /* Cycles until the editor is done, bounded in count and time. */
    for (int i = 0; i < 200 && !atomic_load(&st.done); i++) {
        now += 60;
        ahpa_controller_cycle(f.c, now, NULL);
    }
    atomic_store(&st.done, true);
    pthread_join(editor, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(readers[i], NULL);
    ck_assert_int_gt(atomic_load(&st.renders), 0);
    ck_assert_int_gt(atomic_load(&st.reads), 0);
    /* Whatever the edits left, a snapshot never holds two plans for one AHPA. */
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    for (size_t i = 0; i < ahpa_controller_snapshot_count(s); i++) {
        const struct ahpa_controller_plan *p = ahpa_controller_snapshot_at(s, i);
        ck_assert_ptr_eq(ahpa_controller_snapshot_find(s, p->ns, p->name), p);
    }
    ahpa_controller_snapshot_release(s);
    teardown(&f);
}
END_TEST

START_TEST(loop_thread_with_readers)
{
    /* The controller's own loop (every 100 ms, at the wall clock) while
     * readers render and a file changes; then stop and free. */
    struct fixture f;
    setup(&f);
    ahpa_controller_free(f.c);
    struct ahpa_controller_options opt = {.prom = f.prom, .ahpa_dir = f.dir,
                                          .history_s = 86400, .interval_ms = 100};
    f.c = ahpa_controller_new(&opt, NULL);
    ck_assert_ptr_nonnull(f.c);
    ck_assert_int_eq(ahpa_controller_start(f.c, NULL), 0);
    struct stress st = {.f = &f};
    pthread_t readers[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&readers[i], NULL, stress_reader, &st), 0);
    for (int i = 0; i < 6; i++) {
        usleep(100 * 1000);
        write_ahpa(f.dir, i % 2 ? "reactive" : "auto");
    }
    atomic_store(&st.done, true);
    for (int i = 0; i < 2; i++)
        pthread_join(readers[i], NULL);
    ahpa_controller_stop(f.c);
    struct ahpa_controller_snapshot *s = ahpa_controller_snapshot(f.c);
    ck_assert_uint_eq(ahpa_controller_snapshot_count(s), 1);
    ahpa_controller_snapshot_release(s);
    teardown(&f);
}
END_TEST

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct cycle_arg {
    struct ahpa_controller *c;
    int64_t now;
};

static void *cycle_thread(void *arg)
{
    struct cycle_arg *a = arg;
    ahpa_controller_cycle(a->c, a->now, NULL);
    return NULL;
}

START_TEST(render_does_not_wait_for_prometheus)
{
    struct fixture f;
    setup(&f);
    const int64_t now = 1795824000 + 6 * 3600;
    ahpa_controller_cycle(f.c, now, NULL);
    /* Prometheus now takes 2 s per answer; a cycle is in its queries (4 s
     * in all): a render that waited behind them would take over 3.5 s. */
    atomic_store(&delay_ms, 2000);
    struct cycle_arg a = {f.c, now + 60};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, cycle_thread, &a), 0);
    usleep(300 * 1000);
    struct ahpa_buf html;
    ahpa_buf_init(&html);
    int64_t t0 = mono_ms();
    ck_assert_int_eq(ahpa_controller_render(f.c, "default", "web", &html, NULL), 0);
    int64_t took = mono_ms() - t0;
    ahpa_buf_dispose(&html);
    /* Prometheus gone ends the cycle's slow queries at once (not 4 s on). */
    testsrv_stop(f.srv);
    pthread_join(th, NULL);
    f.srv = testsrv_start(fake, NULL); /* for teardown */
    ck_assert_msg(took < 1500, "the render waited %lld ms behind the cycle", (long long)took);
    teardown(&f);
}
END_TEST


/* Plans are a function of the data and the clock, not of uptime: a
 * controller that has cycled every 30 s for three hours (three refit
 * boundaries) and one created at the last moment publish bit-identical
 * plans, forecasts included; so do they a few cycles later. */
static struct ahpa_controller *new_controller(struct fixture *f)
{
    struct ahpa_controller_options opt = {
        .prom = f->prom, .ahpa_dir = f->dir, .history_s = 2 * 86400, .timezone_name = "UTC"};
    struct ahpa_controller *c = ahpa_controller_new(&opt, NULL);
    ck_assert_ptr_nonnull(c);
    return c;
}

static void assert_same_plan(struct ahpa_controller *a, struct ahpa_controller *b, int64_t now)
{
    struct ahpa_controller_snapshot *sa = ahpa_controller_snapshot(a);
    struct ahpa_controller_snapshot *sb = ahpa_controller_snapshot(b);
    const struct ahpa_controller_plan *pa = ahpa_controller_snapshot_find(sa, "default", "web");
    const struct ahpa_controller_plan *pb = ahpa_controller_snapshot_find(sb, "default", "web");
    ck_assert_ptr_nonnull(pa);
    ck_assert_ptr_nonnull(pb);
    ck_assert_msg(pa->planned && pb->planned, "%s | %s", pa->error, pb->error);
    ck_assert_msg(memcmp(&pa->predicted_peak, &pb->predicted_peak, sizeof(double)) == 0,
                  "at %lld: predicted peak %.17g (long-running) vs %.17g (fresh)", (long long)now,
                  pa->predicted_peak, pb->predicted_peak);
    ck_assert_int_eq(pa->plan.proactive, pb->plan.proactive);
    ck_assert_int_eq(pa->plan.reactive, pb->plan.reactive);
    ck_assert_int_eq(pa->plan.final, pb->plan.final);
    ck_assert_str_eq(pa->plan.text, pb->plan.text);
    ahpa_controller_snapshot_release(sa);
    ahpa_controller_snapshot_release(sb);
}

START_TEST(plans_do_not_depend_on_uptime)
{
    struct fixture f;
    setup(&f);
    atomic_store(&usage_noise, true);
    unlink_broken(&f);
    /* From 03:00 to 06:00 UTC, usage rising: 361 cycles 30 s apart. */
    const int64_t t0 = 1795824000 + 3 * 3600 + 7, t1 = t0 + 3 * 3600;
    for (int64_t t = t0; t <= t1; t += 30)
        ck_assert_int_eq(ahpa_controller_cycle(f.c, t, NULL), 1);
    struct ahpa_controller *fresh = new_controller(&f);
    ck_assert_int_eq(ahpa_controller_cycle(fresh, t1, NULL), 1);
    assert_same_plan(f.c, fresh, t1);
    /* ... and on, including across the next boundaries, with a scale-down
     * after the daily peak (stabilisation rebuilt from the history). */
    for (int64_t t = t1 + 30; t <= t1 + 9 * 3600; t += t < t1 + 3600 ? 30 : 1800) {
        ahpa_controller_cycle(f.c, t, NULL);
        ahpa_controller_cycle(fresh, t, NULL);
        assert_same_plan(f.c, fresh, t);
        struct ahpa_controller *another = new_controller(&f);
        ahpa_controller_cycle(another, t, NULL);
        assert_same_plan(f.c, another, t);
        ahpa_controller_free(another);
    }
    ahpa_controller_free(fresh);
    teardown(&f);
}
END_TEST

TCase *ahpa_controller_cluster_tcase(void); /* test_cluster.c */
TCase *ahpa_controller_pods_tcase(void);    /* test_pods.c */

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
    tcase_add_test(tc, usage_gap_at_the_end_is_not_planned);
    tcase_add_test(tc, nan_stretch_at_the_end_is_unknown);
    tcase_add_test(tc, no_series_and_no_forecast);
    tcase_add_test(tc, replicas_are_range_checked);
    tcase_add_test(tc, one_ahpa_one_plan);
    tcase_add_test(tc, creation_timestamp_is_the_objects);
    tcase_add_test(tc, files_edited_while_readers_render);
    tcase_add_test(tc, render_does_not_wait_for_prometheus);
    tcase_add_test(tc, loop_thread_with_readers);
    tcase_add_test(tc, plans_do_not_depend_on_uptime);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, ahpa_controller_cluster_tcase());
    suite_add_tcase(s, ahpa_controller_pods_tcase());
    return s;
}
