/* lib/prom response parsing and the ConfigMap parse: pure tables. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/prom.h"
#include "test_prom.h"
#include "unit.h"

static int parse(const char *body, long status, const char *ct, struct ahpa_prom_result *r,
                 struct ahpa_error *err)
{
    return ahpa_prom_parse_response(status, ct, body, strlen(body), r, err);
}

START_TEST(vector_with_nan_and_inf)
{
    const char *body =
        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
        "{\"metric\":{\"pod\":\"p1\",\"__name__\":\"DCGM_FI_DEV_GPU_UTIL\",\"namespace\":\"default\"},"
        "\"value\":[1700000000.123,\"42.5\"]},"
        "{\"metric\":{\"pod\":\"p2\"},\"value\":[1700000000,\"NaN\"]},"
        "{\"metric\":{\"pod\":\"p3\"},\"value\":[1700000000,\"+Inf\"]},"
        "{\"metric\":{\"pod\":\"p4\"},\"value\":[1700000000,\"-Inf\"]},"
        "{\"metric\":{},\"value\":[1700000000,\"-1e-3\"]}]}}";
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    struct ahpa_error err = {0};
    ck_assert_int_eq(parse(body, 200, "application/json", &r, &err), 0);
    ck_assert_int_eq(r.type, AHPA_PROM_RESULT_VECTOR);
    ck_assert_uint_eq(r.n_series, 5);
    const struct ahpa_prom_series *s = &r.series[0];
    ck_assert_uint_eq(s->n_labels, 3);
    ck_assert_str_eq(s->labels[0].name, "__name__"); /* sorted */
    ck_assert_str_eq(s->labels[1].name, "namespace");
    ck_assert_str_eq(s->labels[2].name, "pod");
    ck_assert_str_eq(ahpa_prom_series_label(s, "pod"), "p1");
    ck_assert_str_eq(ahpa_prom_series_label(s, "__name__"), "DCGM_FI_DEV_GPU_UTIL");
    ck_assert_ptr_null(ahpa_prom_series_label(s, "container"));
    ck_assert_uint_eq(s->n_samples, 1);
    ck_assert_int_eq(s->samples[0].t_ms, 1700000000123LL);
    AHPA_ASSERT_NEAR(s->samples[0].value, 42.5, 0);
    ck_assert(isnan(r.series[1].samples[0].value));
    ck_assert(isinf(r.series[2].samples[0].value) && r.series[2].samples[0].value > 0);
    ck_assert(isinf(r.series[3].samples[0].value) && r.series[3].samples[0].value < 0);
    ck_assert_uint_eq(r.series[4].n_labels, 0);
    AHPA_ASSERT_NEAR(r.series[4].samples[0].value, -0.001, 1e-15);
    ahpa_prom_result_dispose(&r);
}
END_TEST

START_TEST(matrix_scalar_string)
{
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    const char *m = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
                    "{\"metric\":{\"a\":\"1\"},\"values\":[[1700000000,\"1\"],[1700000060.5,\"NaN\"],"
                    "[1700000120,\"3.25\"]]}]},\"warnings\":[\"partial\",\"two\"]}";
    ck_assert_int_eq(parse(m, 200, "application/json", &r, NULL), 0);
    ck_assert_int_eq(r.type, AHPA_PROM_RESULT_MATRIX);
    ck_assert_uint_eq(r.n_series, 1);
    ck_assert_uint_eq(r.series[0].n_samples, 3);
    ck_assert_int_eq(r.series[0].samples[1].t_ms, 1700000060500LL);
    ck_assert(isnan(r.series[0].samples[1].value));
    AHPA_ASSERT_NEAR(r.series[0].samples[2].value, 3.25, 0);
    ck_assert_uint_eq(r.n_warnings, 2);
    ck_assert_str_eq(r.warnings[0], "partial");

    /* The same result object is reused: the old contents go away. */
    const char *sc = "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
                     "\"result\":[1700000000.001,\"-Inf\"]}}";
    ck_assert_int_eq(parse(sc, 200, "application/json", &r, NULL), 0);
    ck_assert_int_eq(r.type, AHPA_PROM_RESULT_SCALAR);
    ck_assert_uint_eq(r.n_series, 1);
    ck_assert_uint_eq(r.n_warnings, 0);
    ck_assert_int_eq(r.series[0].samples[0].t_ms, 1700000000001LL);
    ck_assert(isinf(r.series[0].samples[0].value));

    const char *st = "{\"status\":\"success\",\"data\":{\"resultType\":\"string\","
                     "\"result\":[1700000000,\"hello\"]}}";
    ck_assert_int_eq(parse(st, 200, "application/json", &r, NULL), 0);
    ck_assert_int_eq(r.type, AHPA_PROM_RESULT_STRING);
    ck_assert_str_eq(r.string, "hello");
    ahpa_prom_result_dispose(&r);
}
END_TEST

START_TEST(series_and_labels_lists)
{
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    const char *s = "{\"status\":\"success\",\"data\":[{\"__name__\":\"up\",\"job\":\"a\"},"
                    "{\"__name__\":\"up\",\"job\":\"b\",\"instance\":\"x:1\"}]}";
    ck_assert_int_eq(parse(s, 200, "application/json", &r, NULL), 0);
    ck_assert_int_eq(r.type, AHPA_PROM_RESULT_SERIES);
    ck_assert_uint_eq(r.n_series, 2);
    ck_assert_str_eq(ahpa_prom_series_label(&r.series[1], "instance"), "x:1");
    ck_assert_uint_eq(r.series[1].n_samples, 0);
    const char *l = "{\"status\":\"success\",\"data\":[\"__name__\",\"job\",\"pod\"]}";
    ck_assert_int_eq(parse(l, 200, "application/json", &r, NULL), 0);
    ck_assert_int_eq(r.type, AHPA_PROM_RESULT_STRINGS);
    ck_assert_uint_eq(r.n_strings, 3);
    ck_assert_str_eq(r.strings[2], "pod");
    ahpa_prom_result_dispose(&r);
}
END_TEST

START_TEST(error_bodies)
{
    char long_msg[1200];
    memset(long_msg, 'x', sizeof(long_msg) - 1);
    long_msg[sizeof(long_msg) - 1] = '\0';
    char long_body[1400];
    snprintf(long_body, sizeof(long_body),
             "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"%s\"}", long_msg);
    struct {
        const char *body;
        long status;
        const char *ct;
        int code;
        const char *want;
    } cases[] = {
        {"{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: parse error: "
         "unexpected \\\"}\\\"\\nin label matching\"}",
         400, "application/json", AHPA_EUPSTREAM,
         "prometheus: bad_data: 1:5: parse error: unexpected \"}\" in label matching"},
        {"{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in "
         "expression evaluation\"}",
         503, "application/json", AHPA_ETIMEDOUT,
         "prometheus: timeout: query timed out in expression evaluation"},
        {"{\"status\":\"error\",\"errorType\":\"unavailable\"}", 503, "application/json",
         AHPA_EUNAVAIL, "prometheus: unavailable: no message"},
        {"<html><body>Bad Gateway</body></html>", 502, "text/html", AHPA_EUPSTREAM,
         "prometheus: unexpected response (HTTP 502, text/html)"},
        {"", 200, "", AHPA_EUPSTREAM,
         "prometheus: unexpected response (HTTP 200, no content type)"},
        {"[1,2,3]", 200, "application/json", AHPA_EUPSTREAM,
         "prometheus: unexpected response (HTTP 200, application/json)"},
        {"{\"status\":\"success\"}", 200, "application/json", AHPA_EUPSTREAM,
         "prometheus: malformed response: no data"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
         "\"value\":[1,2]}]}}",
         200, "application/json", AHPA_EUPSTREAM, "prometheus: malformed vector result"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
         "\"values\":[[\"1\",\"2\"]]}]}}",
         200, "application/json", AHPA_EUPSTREAM, "prometheus: malformed matrix result"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
         "{\"a\":1},\"value\":[1,\"2\"]}]}}",
         200, "application/json", AHPA_EUPSTREAM, "prometheus: malformed vector result"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"histogramz\",\"result\":[]}}", 200,
         "application/json", AHPA_EUPSTREAM, "prometheus: unknown resultType \"histogramz\""},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"12abc\"]}}",
         200, "application/json", AHPA_EUPSTREAM, "prometheus: malformed scalar result"},
    };
    struct ahpa_prom_result r;
    ahpa_prom_result_init(&r);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ahpa_error err = {0};
        int rc = parse(cases[i].body, cases[i].status, cases[i].ct, &r, &err);
        ck_assert_msg(rc == -cases[i].code, "case %zu: rc %d (%s)", i, rc, err.msg);
        ck_assert_msg(strcmp(err.msg, cases[i].want) == 0, "case %zu: %s", i, err.msg);
        ck_assert_uint_eq(r.n_series, 0);
    }
    struct ahpa_error err = {0};
    ck_assert_int_eq(parse(long_body, 422, "application/json", &r, &err), -AHPA_EUPSTREAM);
    ck_assert_msg(strlen(err.msg) < 240, "%zu", strlen(err.msg));
    ck_assert(strstr(err.msg, "prometheus: execution: xxxx") == err.msg);
    ck_assert(strstr(err.msg, "x...") != NULL);
    ahpa_prom_result_dispose(&r);
}
END_TEST

START_TEST(configmap_from_seed)
{
    const char *seed =
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: application-intelligence\n"
        "  namespace: kube-system\n"
        "data:\n"
        "  prometheusUrl: \"http://cn-shanghai-intranet.arms.aliyuncs.com:9090/api/v1/"
        "prometheus/da9d7dece901db4c9fc7f5b1/1581204543170/c54417d182c6d430fb062ec364e1/"
        "cn-shanghai\"\n";
    struct ahpa_prom_configmap cm;
    struct ahpa_prom_options o = {.token = NULL};
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_prom_options_from_configmap(seed, strlen(seed), &cm, &o, &err), 0);
    ck_assert_str_eq(cm.url, "http://cn-shanghai-intranet.arms.aliyuncs.com:9090/api/v1/"
                             "prometheus/da9d7dece901db4c9fc7f5b1/1581204543170/"
                             "c54417d182c6d430fb062ec364e1/cn-shanghai");
    ck_assert_ptr_eq(o.url, cm.url);
    ck_assert_ptr_null(cm.token);
    ck_assert_ptr_null(o.token);
    ahpa_prom_configmap_dispose(&cm);

    const char *multi = "apiVersion: v1\nkind: Secret\ndata: {prometheusUrl: nope}\n---\n"
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: application-intelligence}\n"
                        "data:\n  prometheusUrl: http://prom:9090\n  token: abc.def\n";
    ck_assert_int_eq(ahpa_prom_options_from_configmap(multi, strlen(multi), &cm, &o, &err), 0);
    ck_assert_str_eq(o.url, "http://prom:9090");
    ck_assert_str_eq(o.token, "abc.def");
    ahpa_prom_configmap_dispose(&cm);
}
END_TEST

START_TEST(configmap_errors)
{
    struct {
        const char *yaml;
        int code;
        const char *want;
    } cases[] = {
        {"kind: ConfigMap\ndata:\n  token: x\n", AHPA_ECONFIG, "no data.prometheusUrl"},
        {"kind: ConfigMap\ndata:\n  prometheusUrl: \"\"\n", AHPA_ECONFIG, "no data.prometheusUrl"},
        {"kind: Deployment\ndata:\n  prometheusUrl: http://x\n", AHPA_ECONFIG, "no ConfigMap"},
        {"", AHPA_ECONFIG, "no ConfigMap"},
        {"kind: ConfigMap\ndata: [\n", AHPA_EPARSE, "line 3"},
        {"kind: ConfigMap\n\tdata: x\n", AHPA_EPARSE, "ConfigMap YAML line 2"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ahpa_prom_configmap cm;
        struct ahpa_error err = {0};
        int rc = ahpa_prom_options_from_configmap(cases[i].yaml, strlen(cases[i].yaml), &cm,
                                                  NULL, &err);
        ck_assert_msg(rc == -cases[i].code, "case %zu: rc %d (%s)", i, rc, err.msg);
        ck_assert_msg(strstr(err.msg, cases[i].want) != NULL, "case %zu: %s", i, err.msg);
        ck_assert_ptr_null(cm.url);
    }
}
END_TEST

START_TEST(verb_flag)
{
    enum ahpa_prom_verb v = AHPA_PROM_GET;
    ck_assert_int_eq(ahpa_prom_verb_parse("post", &v, NULL), 0);
    ck_assert_int_eq(v, AHPA_PROM_POST);
    ck_assert_int_eq(ahpa_prom_verb_parse("GET", &v, NULL), 0);
    ck_assert_int_eq(v, AHPA_PROM_GET);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_prom_verb_parse("PUT", &v, &err), -AHPA_ECONFIG);
    ck_assert_str_eq(err.msg, "--prometheus-verb \"PUT\": want GET or POST");
    ck_assert_int_eq(ahpa_prom_verb_parse(NULL, &v, NULL), -AHPA_ECONFIG);
}
END_TEST

TCase *prom_parse_tcase(void)
{
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, vector_with_nan_and_inf);
    tcase_add_test(tc, matrix_scalar_string);
    tcase_add_test(tc, series_and_labels_lists);
    tcase_add_test(tc, error_bodies);
    tcase_add_test(tc, configmap_from_seed);
    tcase_add_test(tc, configmap_errors);
    tcase_add_test(tc, verb_flag);
    return tc;
}
