/* Status errors, methods, bodies, group handlers, /metrics, OpenAPI. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ahpa/api.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/httpd.h"
#include "api_test.h"
#include "unit.h"

START_TEST(error_codes_map_to_http)
{
    static const struct {
        int code, http;
    } cases[] = {
        {-AHPA_EPARSE, 400},    {-AHPA_EINVAL, 400},     {-AHPA_ENOTFOUND, 404},
        {-AHPA_EMETHOD, 405},   {-AHPA_ENOTACCEPTABLE, 406}, {-AHPA_ETOOBIG, 413},
        {-AHPA_EUPSTREAM, 500}, {-AHPA_ETIMEDOUT, 500},  {-AHPA_EUNAVAIL, 503},
        {-AHPA_EFORBIDDEN, 403}, {-AHPA_EUNAUTHORIZED, 401}, {-9999, 500},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_int_eq(ahpa_api_http_code(cases[i].code), cases[i].http);
}
END_TEST

START_TEST(backend_errors_do_not_leak)
{
    struct ahpa_httpd_response resp = {0};
    ahpa_buf_init(&resp.body);
    struct ahpa_error err = {0};
    ahpa_error_set(&err, AHPA_EUPSTREAM, "prometheus at http://secret-host:9090 said 502");
    ahpa_api_error(&resp, -AHPA_EUPSTREAM, &err);
    ck_assert_int_eq(resp.status, 500);
    ck_assert(strstr(resp.body.data, "secret-host") == NULL);
    ck_assert(strstr(resp.body.data, "Internal error occurred: unable to fetch metrics") != NULL);
    ahpa_error_clear(&err);
    ahpa_error_set(&err, AHPA_EPARSE, "labelSelector: unexpected \"}\" at 4");
    ahpa_api_error(&resp, -AHPA_EPARSE, &err);
    ck_assert_int_eq(resp.status, 400);
    char buf[128];
    ck_assert_str_eq(test_json_field(resp.body.data, "message", buf, sizeof(buf)),
                     "labelSelector: unexpected \"}\" at 4");
    ck_assert_str_eq(test_json_field(resp.body.data, "reason", buf, sizeof(buf)), "BadRequest");
    ck_assert_str_eq(test_json_field(resp.body.data, "kind", buf, sizeof(buf)), "Status");
    ahpa_buf_dispose(&resp.body);
}
END_TEST

/* A group handler that answers by the first segment. */
static int handler(void *ctx, const struct ahpa_api_call *call, struct ahpa_httpd_response *resp,
                   struct ahpa_error *err)
{
    int *calls = ctx;
    (*calls)++;
    const char *what = call->segments[0];
    if (strcmp(what, "upstream") == 0)
        return ahpa_error_set(err, AHPA_EUPSTREAM, "connection refused by 10.0.0.1");
    if (strcmp(what, "bad") == 0)
        return ahpa_error_set(err, AHPA_EPARSE, "bad selector at %zu", call->nsegments);
    ahpa_buf_printf(&resp->body, "{\"group\":\"%s\",\"version\":\"%s\",\"n\":%zu}", call->group,
                    call->version, call->nsegments);
    resp->content_type = "application/json";
    return 0;
}

START_TEST(handlers_and_errors_over_the_wire)
{
    struct test_server t;
    test_server_start(&t, NULL);
    int calls = 0;
    ahpa_server_set_handler(t.server, AHPA_GROUP_EXTERNAL, handler, &calls);
    char buf[256];

    struct test_reply r = test_request(&t, NULL, "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/m", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"group\":\"external.metrics.k8s.io\",\"version\":\"v1beta1\",\"n\":3}");
    test_reply_dispose(&r);

    r = test_request(&t, NULL, "/apis/external.metrics.k8s.io/v1beta1/upstream", NULL, NULL);
    ck_assert_int_eq(r.status, 500);
    ck_assert_str_eq(test_json_field(r.body, "message", buf, sizeof(buf)),
                     "Internal error occurred: unable to fetch metrics");
    test_reply_dispose(&r);

    r = test_request(&t, NULL, "/apis/external.metrics.k8s.io/v1beta1/bad/x", NULL, NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_str_eq(test_json_field(r.body, "message", buf, sizeof(buf)), "bad selector at 2");
    test_reply_dispose(&r);

    /* No handler for custom metrics in this test: 404 Status. */
    r = test_request(&t, NULL, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/d/pods/p/m", NULL, NULL);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(test_json_field(r.body, "reason", buf, sizeof(buf)), "NotFound");
    test_reply_dispose(&r);

    /* Protobuf only: 406, and the handler is not called. */
    const char *proto[] = {"Accept: application/vnd.kubernetes.protobuf", NULL};
    int before = calls;
    r = test_request(&t, NULL, "/apis/external.metrics.k8s.io/v1beta1/x", proto, NULL);
    ck_assert_int_eq(r.status, 406);
    ck_assert_int_eq(calls, before);
    test_reply_dispose(&r);
    test_server_stop(&t);
}
END_TEST

START_TEST(methods_and_bodies)
{
    struct test_server t;
    const char *flags[] = {"--max-request-body-bytes=1024", NULL};
    test_server_start(&t, flags);
    char buf[128];
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH", "BREW"};
    for (size_t i = 0; i < 5; i++) {
        struct test_reply r = test_request(&t, methods[i], "/apis", NULL, "{}");
        ck_assert_int_eq(r.status, 405);
        ck_assert_str_eq(test_json_field(r.body, "reason", buf, sizeof(buf)), "MethodNotAllowed");
        ck_assert(strstr(r.headers, "Allow: GET, HEAD") != NULL);
        test_reply_dispose(&r);
    }
    char big[4096];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct test_reply r = test_request(&t, "POST", "/apis", NULL, big);
    ck_assert_int_eq(r.status, 413);
    ck_assert_str_eq(test_json_field(r.body, "code", buf, sizeof(buf)), "413");
    test_reply_dispose(&r);
    r = test_request(&t, "HEAD", "/apis", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    test_reply_dispose(&r);
    test_server_stop(&t);
}
END_TEST

START_TEST(metrics_count_requests)
{
    struct test_server t;
    test_server_start(&t, NULL);
    for (int i = 0; i < 3; i++) {
        struct test_reply r = test_request(&t, NULL, "/apis/custom.metrics.k8s.io/v1beta1", NULL, NULL);
        test_reply_dispose(&r);
    }
    struct test_reply r = test_request(&t, NULL, "/no/such/thing", NULL, NULL);
    test_reply_dispose(&r);
    /* A request is counted when libmicrohttpd reports it complete, which
     * may be just after the client has its answer: read /metrics until the
     * last one shows (bounded: 100 x 10 ms). */
    for (int tries = 0;; tries++) {
        r = test_request(&t, NULL, "/metrics", NULL, NULL);
        ck_assert_int_eq(r.status, 200);
        if (strstr(r.body, "route=\"other\",code=\"404\"} 1\n") != NULL || tries == 100)
            break;
        test_reply_dispose(&r);
        usleep(10000);
    }
    ck_assert(strstr(r.body, "apiserver_request_total{verb=\"GET\",route=\"/apis/{group}/{version}\",code=\"200\"} 3\n"));
    ck_assert(strstr(r.body, "apiserver_request_total{verb=\"GET\",route=\"other\",code=\"404\"} 1\n"));
    ck_assert(strstr(r.body, "apiserver_request_duration_seconds_count{verb=\"GET\",route=\"/apis/{group}/{version}\"} 3\n"));
    ck_assert(strstr(r.body, "le=\"+Inf\"} 3\n"));
    ck_assert(strstr(r.body, "apiserver_current_inflight_requests 1\n"));
    ck_assert(strstr(r.body, "process_open_fds "));
    ck_assert(strstr(r.body, "\nahpa_malloc_in_use_bytes "));
    ck_assert(strstr(r.body, "\nahpa_malloc_free_bytes "));
    ck_assert(strstr(r.headers, "text/plain; version=0.0.4"));
    test_reply_dispose(&r);
    test_server_stop(&t);
}
END_TEST

START_TEST(openapi_etag_and_304)
{
    struct test_server t;
    test_server_start(&t, NULL);
    struct test_reply r = test_request(&t, NULL, "/openapi/v2", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    const char *etag = strstr(r.headers, "ETag: ");
    ck_assert_ptr_nonnull(etag);
    char header[128];
    snprintf(header, sizeof(header), "If-None-Match: %.*s", (int)strcspn(etag + 6, "\r\n"),
             etag + 6);
    test_reply_dispose(&r);
    const char *inm[] = {header, NULL};
    r = test_request(&t, NULL, "/openapi/v2", inm, NULL);
    ck_assert_int_eq(r.status, 304);
    ck_assert_str_eq(r.body, "");
    test_reply_dispose(&r);
    const char *stale[] = {"If-None-Match: \"0000\"", NULL};
    r = test_request(&t, NULL, "/openapi/v2", stale, NULL);
    ck_assert_int_eq(r.status, 200);
    test_reply_dispose(&r);
    r = test_request(&t, NULL, "/openapi/v3/apis/custom.metrics.k8s.io/v1beta2", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(strstr(r.body, "\"/apis/custom.metrics.k8s.io/v1beta2/namespaces/{namespace}/{resource}/{name}/{metric}\""));
    ck_assert(strstr(r.body, "#/components/schemas/io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricValueList"));
    ck_assert(strstr(r.body, "#/definitions/") == NULL);
    test_reply_dispose(&r);
    r = test_request(&t, NULL, "/openapi/v3/apis/nope/v1", NULL, NULL);
    ck_assert_int_eq(r.status, 404);
    test_reply_dispose(&r);
    test_server_stop(&t);
}
END_TEST


/* The ETag header's value of a reply, copied into buf ("" when absent). */
static const char *etag_of(const struct test_reply *r, char *buf, size_t n)
{
    const char *e = strcasestr(r->headers, "ETag: ");
    if (e == NULL) {
        buf[0] = '\0';
        return buf;
    }
    snprintf(buf, n, "%.*s", (int)strcspn(e + 6, "\r\n"), e + 6);
    return buf;
}

static long status_with_inm(const struct test_server *t, const char *path, const char *accept,
                            const char *inm)
{
    char a[256], h[256];
    snprintf(a, sizeof(a), "Accept: %s", accept);
    snprintf(h, sizeof(h), "If-None-Match: %s", inm);
    const char *headers[] = {a, h, NULL};
    struct test_reply r = test_request(t, NULL, path, headers, NULL);
    long st = r.status;
    if (st == 304)
        ck_assert_str_eq(r.body, "");
    test_reply_dispose(&r);
    return st;
}

START_TEST(discovery_etag_and_304)
{
    struct test_server t;
    test_server_start(&t, NULL);
    const char *json = "application/json";
    const char *agg = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    char plain[128], aggregated[128], gv[128], stale[160];

    const char *ja[] = {"Accept: application/json", NULL};
    struct test_reply r = test_request(&t, NULL, "/apis", ja, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(strlen(etag_of(&r, plain, sizeof(plain))), 66);
    test_reply_dispose(&r);
    const char *aa[] = {"Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", NULL};
    r = test_request(&t, NULL, "/apis", aa, NULL);
    ck_assert_int_eq(r.status, 200);
    etag_of(&r, aggregated, sizeof(aggregated));
    test_reply_dispose(&r);
    ck_assert_str_ne(plain, aggregated); /* one tag per representation */

    ck_assert_int_eq(status_with_inm(&t, "/apis", json, plain), 304);
    ck_assert_int_eq(status_with_inm(&t, "/apis", agg, aggregated), 304);
    ck_assert_int_eq(status_with_inm(&t, "/apis", agg, plain), 200);
    ck_assert_int_eq(status_with_inm(&t, "/apis", json, "\"0000\""), 200);
    char list[300];
    snprintf(list, sizeof(list), "\"0000\", W/%s", plain);
    ck_assert_int_eq(status_with_inm(&t, "/apis", json, list), 304);
    ck_assert_int_eq(status_with_inm(&t, "/apis", json, "*"), 304);

    /* A group-version document's tag follows its content. */
    r = test_request(&t, NULL, "/apis/custom.metrics.k8s.io/v1beta2", ja, NULL);
    etag_of(&r, gv, sizeof(gv));
    test_reply_dispose(&r);
    ck_assert_int_eq(status_with_inm(&t, "/apis/custom.metrics.k8s.io/v1beta2", json, gv), 304);
    ck_assert_int_eq(status_with_inm(&t, "/apis/custom.metrics.k8s.io", json, gv), 200);
    static const char *const verbs[] = {"get", NULL};
    struct ahpa_api_resource res = {"pods/m", "", true, "MetricValueList", verbs};
    ck_assert_int_eq(ahpa_server_set_resources(t.server, AHPA_GROUP_CUSTOM, "v1beta2", &res, 1,
                                               NULL),
                     0);
    snprintf(stale, sizeof(stale), "%s", gv);
    ck_assert_int_eq(status_with_inm(&t, "/apis/custom.metrics.k8s.io/v1beta2", json, stale), 200);
    ck_assert_int_eq(status_with_inm(&t, "/apis", agg, aggregated), 200);
    test_server_stop(&t);
}
END_TEST

START_TEST(watch_is_refused_with_405)
{
    struct test_server t;
    test_server_start(&t, NULL);
    int calls = 0;
    ahpa_server_set_handler(t.server, AHPA_GROUP_EXTERNAL, handler, &calls);
    char buf[256];
    static const char *const watches[] = {"?watch=true", "?watch=1", "?watch", "?watch=True",
                                          "?resourceVersion=5&watch=true"};
    for (size_t i = 0; i < sizeof(watches) / sizeof(watches[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path),
                 "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/m%s", watches[i]);
        struct test_reply r = test_request(&t, NULL, path, NULL, NULL);
        ck_assert_msg(r.status == 405, "%s: %ld", watches[i], r.status);
        ck_assert_str_eq(test_json_field(r.body, "kind", buf, sizeof(buf)), "Status");
        ck_assert_str_eq(test_json_field(r.body, "reason", buf, sizeof(buf)), "MethodNotAllowed");
        ck_assert_str_eq(test_json_field(r.body, "message", buf, sizeof(buf)),
                         "watch is not supported on resources of kind "
                         "\"m.external.metrics.k8s.io\"");
        test_reply_dispose(&r);
    }
    ck_assert_int_eq(calls, 0);
    static const char *const lists[] = {"?watch=false", "?watch=0", "?watch=FALSE", ""};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path),
                 "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/m%s", lists[i]);
        struct test_reply r = test_request(&t, NULL, path, NULL, NULL);
        ck_assert_msg(r.status == 200, "%s: %ld", lists[i], r.status);
        test_reply_dispose(&r);
    }
    ck_assert_int_eq(calls, 4);
    test_server_stop(&t);
}
END_TEST

/* kubectl explain reads the GVK on the GET of a resource's list path. */
START_TEST(openapi_operations_carry_gvk)
{
    struct test_server t;
    test_server_start(&t, NULL);
    static const char *const docs[] = {"/openapi/v2",
                                       "/openapi/v3/apis/metrics.alibabacloud.com/v1beta1"};
    for (size_t i = 0; i < 2; i++) {
        struct test_reply r = test_request(&t, NULL, docs[i], NULL, NULL);
        ck_assert_int_eq(r.status, 200);
        json_error_t jerr;
        json_t *doc = json_loads(r.body, 0, &jerr);
        ck_assert_ptr_nonnull(doc);
        json_t *paths = json_object_get(doc, "paths");
        static const char *const want[][2] = {
            {"/apis/metrics.alibabacloud.com/v1beta1/predictionsobserver", "list"},
            {"/apis/metrics.alibabacloud.com/v1beta1/namespaces/{namespace}/predictionsobserver",
             "list"},
            {"/apis/metrics.alibabacloud.com/v1beta1/namespaces/{namespace}/predictionsobserver/"
             "{name}",
             "get"}};
        for (size_t k = 0; k < 3; k++) {
            json_t *op = json_object_get(json_object_get(paths, want[k][0]), "get");
            ck_assert_msg(op != NULL, "%s: no GET at %s", docs[i], want[k][0]);
            ck_assert_str_eq(json_string_value(json_object_get(op, "x-kubernetes-action")),
                             want[k][1]);
            json_t *gvk = json_object_get(op, "x-kubernetes-group-version-kind");
            ck_assert_str_eq(json_string_value(json_object_get(gvk, "group")),
                             AHPA_GROUP_OBSERVER);
            ck_assert_str_eq(json_string_value(json_object_get(gvk, "version")), "v1beta1");
            ck_assert_str_eq(json_string_value(json_object_get(gvk, "kind")),
                             "PredictionsObserver");
        }
        json_t *schemas = i == 0 ? json_object_get(doc, "definitions")
                                 : json_object_get(json_object_get(doc, "components"), "schemas");
        json_t *def = json_object_get(schemas, "com.alibabacloud.metrics.v1beta1.PredictionsObserver");
        json_t *gvks = json_object_get(def, "x-kubernetes-group-version-kind");
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(gvks, 0), "kind")),
                         "PredictionsObserver");
        json_decref(doc);
        test_reply_dispose(&r);
    }
    /* kubectl's OpenAPI v2 reader asks for protobuf only: not JSON. */
    const char *pb[] = {"Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf", NULL};
    struct test_reply r = test_request(&t, NULL, "/openapi/v2", pb, NULL);
    ck_assert_int_eq(r.status, 406);
    test_reply_dispose(&r);
    const char *either[] = {"Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf, "
                            "application/json",
                            NULL};
    r = test_request(&t, NULL, "/openapi/v2", either, NULL);
    ck_assert_int_eq(r.status, 200);
    test_reply_dispose(&r);
    test_server_stop(&t);
}
END_TEST

void test_api_add_http(Suite *s)
{
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, error_codes_map_to_http);
    tcase_add_test(tc, backend_errors_do_not_leak);
    tcase_add_test(tc, handlers_and_errors_over_the_wire);
    tcase_add_test(tc, methods_and_bodies);
    tcase_add_test(tc, metrics_count_requests);
    tcase_add_test(tc, openapi_etag_and_304);
    tcase_add_test(tc, discovery_etag_and_304);
    tcase_add_test(tc, watch_is_refused_with_405);
    tcase_add_test(tc, openapi_operations_carry_gvk);
    suite_add_tcase(s, tc);
}
