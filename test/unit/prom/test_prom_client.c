/* lib/prom against the loopback test server: paths, verbs, parameters,
 * headers, failures. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/error.h"
#include "ahpa/prom.h"
#include "test_prom.h"
#include "testsrv.h"
#include "unit.h"

static const char vector_body[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
    "{\"metric\":{\"pod\":\"bert-0\",\"namespace\":\"default\"},\"value\":[1700000000,\"37.5\"]}]}}";
static const char matrix_body[] =
    "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
    "{\"metric\":{\"pod\":\"bert-0\"},\"values\":[[1700000000,\"1\"],[1700000060,\"+Inf\"]]}]}}";
static const char series_body[] =
    "{\"status\":\"success\",\"data\":[{\"__name__\":\"DCGM_FI_DEV_GPU_UTIL\",\"pod\":\"bert-0\"}]}";
static const char labels_body[] = "{\"status\":\"success\",\"data\":[\"__name__\",\"pod\"]}";
static const char bad_data_body[] =
    "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:4: parse error: unexpected "
    "end of input\"}";

/* Answers like Prometheus under any prefix; special prefixes misbehave. */
static void handler(const struct testsrv_request *req, struct testsrv_reply *rep, void *ud)
{
    (void)ud;
    const char *t = req->target;
    if (strncmp(t, "/slow", 5) == 0)
        rep->delay_ms = 3000;
    if (strncmp(t, "/huge", 5) == 0) {
        rep->huge_bytes = 100000;
        return;
    }
    if (strncmp(t, "/garbage", 8) == 0) {
        rep->status = 502;
        rep->content_type = "text/html";
        rep->body = "<html>bad gateway</html>";
        return;
    }
    if (strncmp(t, "/drop", 5) == 0) {
        rep->close_without_reply = true;
        return;
    }
    if (strstr(t, "/api/v1/query_range") != NULL)
        rep->body = matrix_body;
    else if (strstr(t, "/api/v1/query") != NULL)
        rep->body = strstr(t, "query=%29") != NULL || strstr(req->body, "query=%29") != NULL
                        ? bad_data_body
                        : vector_body;
    else if (strstr(t, "/api/v1/series") != NULL)
        rep->body = series_body;
    else if (strstr(t, "/api/v1/labels") != NULL || strstr(t, "/api/v1/label/") != NULL)
        rep->body = labels_body;
    else
        rep->status = 404;
    if (rep->body == bad_data_body)
        rep->status = 400;
}

static struct ahpa_prom_client *client(struct testsrv *s, const char *prefix,
                                       struct ahpa_prom_options *o)
{
    char *url = testsrv_url(s, prefix);
    o->url = url;
    struct ahpa_error err = {0};
    struct ahpa_prom_client *c = ahpa_prom_client_new(o, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    free(url);
    return c;
}

START_TEST(get_query_under_arms_prefix)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_prom_options o = {.timeout_ms = 4000};
    struct ahpa_prom_client *c = client(s, "/api/v1/prometheus/da9d/1581/c544/cn-shanghai", &o);
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_prom_query(c, "avg(DCGM_FI_DEV_GPU_UTIL{pod=~\"bert-.*\"})",
                                     1700000000250LL, &r, &err), 0);
    struct testsrv_request last;
    testsrv_last(s, &last);
    ck_assert_str_eq(last.method, "GET");
    ck_assert_str_eq(last.target,
                     "/api/v1/prometheus/da9d/1581/c544/cn-shanghai/api/v1/query"
                     "?query=avg%28DCGM_FI_DEV_GPU_UTIL%7Bpod%3D~%22bert-.%2A%22%7D%29"
                     "&time=1700000000.250&timeout=4000ms");
    ck_assert_int_eq(r.type, AHPA_PROM_RESULT_VECTOR);
    ck_assert_str_eq(ahpa_prom_series_label(&r.series[0], "pod"), "bert-0");
    AHPA_ASSERT_NEAR(r.series[0].samples[0].value, 37.5, 0);
    /* Without a time Prometheus uses its own clock. */
    ck_assert_int_eq(ahpa_prom_query(c, "up", -1, &r, &err), 0);
    testsrv_last(s, &last);
    ck_assert_str_eq(last.target, "/api/v1/prometheus/da9d/1581/c544/cn-shanghai/api/v1/query"
                                  "?query=up&timeout=4000ms");
    struct ahpa_prom_stats st;
    ahpa_prom_client_stats(c, AHPA_PROM_EP_QUERY, &st);
    ck_assert_uint_eq(st.requests, 2);
    ck_assert_uint_eq(st.failures, 0);
    ck_assert_uint_eq(st.latency_le[AHPA_PROM_LATENCY_BUCKETS - 1], 2);
    ck_assert(st.latency_sum_s > 0 && st.latency_sum_s < 2);
    ahpa_prom_client_stats(c, AHPA_PROM_EP_QUERY_RANGE, &st);
    ck_assert_uint_eq(st.requests, 0);
    ck_assert_str_eq(ahpa_prom_endpoint_name(AHPA_PROM_EP_QUERY_RANGE), "query_range");
    ahpa_prom_result_dispose(&r);
    ahpa_prom_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(post_query_range_and_lists)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_prom_options o = {.verb = AHPA_PROM_POST};
    struct ahpa_prom_client *c = client(s, "/prefix/", &o);
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_prom_query_range(c, "rate(x[5m])", 1700000000000LL, 1700003600000LL,
                                           60000, &r, &err), 0);
    struct testsrv_request last;
    testsrv_last(s, &last);
    ck_assert_str_eq(last.method, "POST");
    ck_assert_str_eq(last.target, "/prefix/api/v1/query_range");
    ck_assert_str_eq(last.body, "query=rate%28x%5B5m%5D%29&start=1700000000.000"
                                "&end=1700003600.000&step=60.000&timeout=10000ms");
    ck_assert_int_eq(r.type, AHPA_PROM_RESULT_MATRIX);
    ck_assert_uint_eq(r.series[0].n_samples, 2);
    ck_assert_int_eq(r.series[0].samples[1].t_ms, 1700000060000LL);
    ck_assert(isinf(r.series[0].samples[1].value));

    const char *match[] = {"DCGM_FI_DEV_GPU_UTIL", "{__name__=~\"nvidia_gpu_.*\"}"};
    ck_assert_int_eq(ahpa_prom_series(c, match, 2, 1699999000000LL, -1, &r, &err), 0);
    testsrv_last(s, &last);
    ck_assert_str_eq(last.target, "/prefix/api/v1/series");
    ck_assert_str_eq(last.body, "match%5B%5D=DCGM_FI_DEV_GPU_UTIL"
                                "&match%5B%5D=%7B__name__%3D~%22nvidia_gpu_.%2A%22%7D"
                                "&start=1699999000.000");
    ck_assert_int_eq(r.type, AHPA_PROM_RESULT_SERIES);
    ck_assert_str_eq(ahpa_prom_series_label(&r.series[0], "__name__"), "DCGM_FI_DEV_GPU_UTIL");

    ck_assert_int_eq(ahpa_prom_labels(c, NULL, 0, -1, -1, &r, &err), 0);
    testsrv_last(s, &last);
    ck_assert_str_eq(last.body, "");
    ck_assert_uint_eq(r.n_strings, 2);
    ck_assert_str_eq(r.strings[1], "pod");

    ck_assert_int_eq(ahpa_prom_label_values(c, "pod", match, 1, -1, 1700000000000LL, &r, &err),
                     0);
    testsrv_last(s, &last);
    ck_assert_str_eq(last.target, "/prefix/api/v1/label/pod/values");
    ck_assert_str_eq(last.body, "match%5B%5D=DCGM_FI_DEV_GPU_UTIL&end=1700000000.000");
    ck_assert_uint_eq(r.n_strings, 2);
    ck_assert_int_eq(ahpa_prom_label_values(c, "../admin", NULL, 0, -1, -1, &r, &err),
                     -AHPA_EINVAL);
    ck_assert_int_eq(ahpa_prom_label_values(c, "", NULL, 0, -1, -1, &r, NULL), -AHPA_EINVAL);
    struct ahpa_prom_stats st;
    ahpa_prom_client_stats(c, AHPA_PROM_EP_LABEL_VALUES, &st);
    ck_assert_uint_eq(st.requests, 1);
    ck_assert_str_eq(ahpa_prom_endpoint_name(AHPA_PROM_EP_LABEL_VALUES), "label_values");
    ck_assert_int_eq(ahpa_prom_query_range(c, "x", 10, 5, 1000, &r, &err), -AHPA_EINVAL);
    ck_assert_int_eq(ahpa_prom_series(c, match, 0, -1, -1, &r, NULL), -AHPA_EINVAL);
    ahpa_prom_result_dispose(&r);
    ahpa_prom_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(tenant_header_and_bearer_token)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    char path[] = "/tmp/ahpa-prom-token-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "tok-1\n", 6), 6);
    close(fd);
    const char *headers[] = {"X-Scope-OrgID=team-gpu"};
    struct ahpa_prom_options o = {.token_file = path, .headers = headers, .n_headers = 1};
    struct ahpa_prom_client *c = client(s, "", &o);
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    ck_assert_int_eq(ahpa_prom_query(c, "up", -1, &r, NULL), 0);
    struct testsrv_request last;
    char v[128];
    testsrv_last(s, &last);
    ck_assert(testsrv_header(&last, "X-Scope-OrgID", v, sizeof(v)));
    ck_assert_str_eq(v, "team-gpu");
    ck_assert(testsrv_header(&last, "Authorization", v, sizeof(v)));
    ck_assert_str_eq(v, "Bearer tok-1");
    FILE *f = fopen(path, "w");
    fputs("tok-2-rotated", f);
    fclose(f);
    ck_assert_int_eq(ahpa_prom_query(c, "up", -1, &r, NULL), 0);
    testsrv_last(s, &last);
    ck_assert(testsrv_header(&last, "Authorization", v, sizeof(v)));
    ck_assert_str_eq(v, "Bearer tok-2-rotated");
    unlink(path);
    ahpa_prom_result_dispose(&r);
    ahpa_prom_client_free(c);
    testsrv_stop(s);
}
END_TEST

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

START_TEST(failures_map_to_clear_errors)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    struct {
        const char *prefix;
        const char *query;
        int code;
        const char *want;
    } cases[] = {
        {"/ok", ")", AHPA_EUPSTREAM,
         "prometheus: bad_data: 1:4: parse error: unexpected end of input"},
        {"/garbage", "up", AHPA_EUPSTREAM,
         "prometheus: unexpected response (HTTP 502, text/html)"},
        {"/huge", "up", AHPA_ETOOBIG, "GET /api/v1/query: response larger than 5000 bytes"},
        {"/drop", "up", AHPA_EUPSTREAM, "GET /api/v1/query: "},
        {"/slow", "up", AHPA_ETIMEDOUT, "GET /api/v1/query: "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ahpa_prom_options o = {.timeout_ms = 400, .max_response_bytes = 5000,
                                      .token = "never-in-messages"};
        struct ahpa_prom_client *c = client(s, cases[i].prefix, &o);
        struct ahpa_error err = {0};
        double t0 = now_s();
        int rc = ahpa_prom_query(c, cases[i].query, -1, &r, &err);
        double took = now_s() - t0;
        ck_assert_msg(rc == -cases[i].code, "case %zu: rc %d: %s", i, rc, err.msg);
        ck_assert_msg(strstr(err.msg, cases[i].want) == err.msg, "case %zu: %s", i, err.msg);
        ck_assert_msg(strstr(err.msg, "never-in") == NULL, "case %zu leaks: %s", i, err.msg);
        ck_assert_msg(took < 1.5, "case %zu took %.3f s", i, took);
        ck_assert_uint_eq(r.n_series, 0);
        struct ahpa_prom_stats st;
        ahpa_prom_client_stats(c, AHPA_PROM_EP_QUERY, &st);
        ck_assert_uint_eq(st.requests, 1);
        ck_assert_uint_eq(st.failures, 1);
        if (cases[i].code == AHPA_ETIMEDOUT) {
            /* 0.4 s timeout: not within 0.25 s, within 1 s. */
            ck_assert_uint_eq(st.latency_le[5], 0);
            ck_assert_uint_eq(st.latency_le[7], 1);
            AHPA_ASSERT_NEAR(st.latency_sum_s, 0.4, 0.3);
        }
        ahpa_prom_client_free(c);
    }
    ahpa_prom_result_dispose(&r);
    testsrv_stop(s);
}
END_TEST

START_TEST(connection_refused)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    struct ahpa_prom_options o = {.url = url};
    struct ahpa_prom_client *c = ahpa_prom_client_new(&o, NULL);
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_prom_query(c, "up", -1, &r, &err), -AHPA_EUPSTREAM);
    ck_assert_msg(strstr(err.msg, "GET /api/v1/query:") == err.msg, "%s", err.msg);
    ahpa_prom_result_dispose(&r);
    ahpa_prom_client_free(c);

    struct ahpa_prom_options none = {0};
    ahpa_error_clear(&err);
    ck_assert_ptr_null(ahpa_prom_client_new(&none, &err));
    ck_assert_int_eq(err.code, AHPA_ECONFIG);
}
END_TEST

struct worker {
    struct ahpa_prom_client *c;
    int ok;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    for (int i = 0; i < 20; i++)
        if (ahpa_prom_query(w->c, "up", -1, &r, NULL) == 0 && r.n_series == 1 &&
            strcmp(ahpa_prom_series_label(&r.series[0], "pod"), "bert-0") == 0)
            w->ok++;
    ahpa_prom_result_dispose(&r);
    return NULL;
}

START_TEST(one_client_many_threads)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_prom_options o = {0};
    struct ahpa_prom_client *c = client(s, "", &o);
    enum { N = 6 };
    pthread_t t[N];
    struct worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){c, 0};
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].ok, 20);
    }
    struct ahpa_prom_stats st;
    ahpa_prom_client_stats(c, AHPA_PROM_EP_QUERY, &st);
    ck_assert_uint_eq(st.requests, N * 20);
    ck_assert_uint_eq(st.failures, 0);
    ck_assert_uint_le(testsrv_connections(s), N);
    ahpa_prom_client_free(c);
    testsrv_stop(s);
}
END_TEST

TCase *prom_client_tcase(void)
{
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, get_query_under_arms_prefix);
    tcase_add_test(tc, post_query_range_and_lists);
    tcase_add_test(tc, tenant_header_and_bearer_token);
    tcase_add_test(tc, failures_map_to_clear_errors);
    tcase_add_test(tc, connection_refused);
    tcase_add_test(tc, one_client_many_threads);
    return tc;
}
