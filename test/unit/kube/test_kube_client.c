/* The REST verbs against the loopback test server: paths, methods,
 * bodies and content types, Status errors, paging, the limiter. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "test_kube.h"
#include "testsrv.h"
#include "unit.h"

static const struct ahpa_kube_resource ahpa_res = {
    "autoscaling.alibabacloud.com", "v1beta1", "advancedhorizontalpodautoscalers",
    "AdvancedHorizontalPodAutoscaler", true};
static const struct ahpa_kube_resource deploy_res = {"apps", "v1", "deployments", "Deployment",
                                                     true};
static const struct ahpa_kube_resource pod_res = {"", "v1", "pods", "Pod", true};
static const struct ahpa_kube_resource ns_res = {"", "v1", "namespaces", "Namespace", false};

static const char obj_body[] =
    "{\"kind\":\"AdvancedHorizontalPodAutoscaler\",\"metadata\":{\"name\":\"fib-gpu\","
    "\"namespace\":\"default\",\"resourceVersion\":\"5\"}}";
static const char notfound_body[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
    "\"advancedhorizontalpodautoscalers \\\"nope\\\" not found\",\"reason\":\"NotFound\","
    "\"code\":404}";
static const char conflict_body[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"Operation "
    "cannot be fulfilled: the object has been modified\",\"reason\":\"Conflict\",\"code\":409}";

/* Pages of pods: 5 items served 2 per page, continue tokens "p2", "p3". */
static char page_bodies[3][512];

static void make_pages(void)
{
    const char *conts[3] = {"p2", "p3", NULL};
    int item = 0;
    for (int p = 0; p < 3; p++) {
        char items[400] = "";
        size_t used = 0;
        for (int k = 0; k < 2 && item < 5; k++, item++)
            used += (size_t)snprintf(items + used, sizeof(items) - used,
                                     "%s{\"metadata\":{\"name\":\"p%d\",\"resourceVersion\":\"%d\"}}",
                                     k ? "," : "", item, 10 + item);
        snprintf(page_bodies[p], sizeof(page_bodies[p]),
                 "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"%d\"%s%s%s},"
                 "\"items\":[%s]}",
                 900 + p, conts[p] ? ",\"continue\":\"" : "", conts[p] ? conts[p] : "",
                 conts[p] ? "\"" : "", items);
    }
}

static void handler(const struct testsrv_request *req, struct testsrv_reply *rep, void *ud)
{
    (void)ud;
    const char *t = req->target;
    if (strstr(t, "continue=p2") != NULL && strstr(t, "/namespaces/expiring/") != NULL) {
        rep->status = 410;
        rep->body = "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Expired\","
                    "\"code\":410,\"message\":\"The provided continue parameter is too old\"}";
    } else if (strstr(t, "/api/v1/namespaces/expiring/pods?") != NULL) {
        rep->body = page_bodies[0];
    } else if (strstr(t, "/nope") != NULL) {
        rep->status = 404;
        rep->body = notfound_body;
    } else if (strcmp(req->method, "PUT") == 0 && strstr(req->body, "\"resourceVersion\":\"1\"")) {
        rep->status = 409;
        rep->body = conflict_body;
    } else if (strstr(t, "/api/v1/namespaces/default/pods?") != NULL) {
        int p = strstr(t, "continue=p3") ? 2 : strstr(t, "continue=p2") ? 1 : 0;
        rep->body = page_bodies[p];
    } else if (strstr(t, "/garbage") != NULL) {
        rep->body = "<html>";
    } else {
        rep->body = obj_body;
    }
}

static struct ahpa_kube_client *client_for(struct testsrv *s, double qps, int burst)
{
    struct ahpa_kube_config cfg = {.server = testsrv_url(s, "")};
    struct ahpa_kube_options o = {.qps = qps, .burst = burst, .timeout_ms = 5000};
    struct ahpa_error err = {0};
    struct ahpa_kube_client *c = ahpa_kube_client_new(&cfg, &o, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    free(cfg.server);
    return c;
}

static void last(struct testsrv *s, struct testsrv_request *r)
{
    testsrv_last(s, r);
}

START_TEST(paths)
{
    struct { const struct ahpa_kube_resource *r; const char *ns, *name, *sub, *want; } t[] = {
        {&ahpa_res, "default", "fib-gpu", "status",
         "/apis/autoscaling.alibabacloud.com/v1beta1/namespaces/default/"
         "advancedhorizontalpodautoscalers/fib-gpu/status"},
        {&ahpa_res, NULL, NULL, NULL,
         "/apis/autoscaling.alibabacloud.com/v1beta1/advancedhorizontalpodautoscalers"},
        {&deploy_res, "web", "api", "scale", "/apis/apps/v1/namespaces/web/deployments/api/scale"},
        {&pod_res, "", NULL, NULL, "/api/v1/pods"},
        {&ns_res, "ignored", "kube-system", NULL, "/api/v1/namespaces/kube-system"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ck_assert_int_eq(ahpa_kube_path(t[i].r, t[i].ns, t[i].name, t[i].sub, &b, NULL), 0);
        ck_assert_str_eq(ahpa_buf_cstr(&b), t[i].want);
        ahpa_buf_dispose(&b);
    }
    const char *bad[] = {"a/b", "..", "a?b", "a%2F", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ck_assert_int_eq(ahpa_kube_path(&pod_res, "default", bad[i], NULL, &b, NULL),
                         -AHPA_EINVAL);
        ck_assert_int_eq(ahpa_kube_path(&pod_res, bad[i][0] ? bad[i] : "x/", "p", NULL, &b, NULL),
                         -AHPA_EINVAL);
        ahpa_buf_dispose(&b);
    }
}
END_TEST

START_TEST(verbs)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_kube_client *c = client_for(s, 0, 0);
    struct testsrv_request r;
    struct ahpa_error err = {0};
    json_t *out = NULL;
    char ct[128];

    ck_assert_int_eq(ahpa_kube_get(c, &ahpa_res, "default", "fib-gpu", NULL, &out, &err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(out, "metadata"), "name")),
                     "fib-gpu");
    json_decref(out);
    last(s, &r);
    ck_assert_str_eq(r.method, "GET");
    ck_assert(testsrv_header(&r, "Accept", ct, sizeof(ct)));
    ck_assert_str_eq(ct, "application/json");

    ck_assert_int_eq(ahpa_kube_get(c, &deploy_res, "web", "api", "scale", &out, &err), 0);
    json_decref(out);
    last(s, &r);
    ck_assert_str_eq(r.target, "/apis/apps/v1/namespaces/web/deployments/api/scale");

    json_t *body = json_pack("{s:s, s:{s:s}}", "kind", "X", "metadata", "name", "n1");
    ck_assert_int_eq(ahpa_kube_create(c, &ahpa_res, "default", body, NULL, &err), 0);
    last(s, &r);
    ck_assert_str_eq(r.method, "POST");
    ck_assert_str_eq(r.target, "/apis/autoscaling.alibabacloud.com/v1beta1/namespaces/default/"
                               "advancedhorizontalpodautoscalers");
    ck_assert_str_eq(r.body, "{\"kind\":\"X\",\"metadata\":{\"name\":\"n1\"}}");
    ck_assert(testsrv_header(&r, "Content-Type", ct, sizeof(ct)));
    ck_assert_str_eq(ct, "application/json");

    json_t *patch = json_pack("{s:{s:i}}", "status", "desiredPods", 4);
    ck_assert_int_eq(ahpa_kube_patch(c, &ahpa_res, "default", "fib-gpu", "status", patch, &out,
                                     &err), 0);
    json_decref(out);
    last(s, &r);
    ck_assert_str_eq(r.method, "PATCH");
    ck_assert_ptr_nonnull(strstr(r.target, "/fib-gpu/status"));
    ck_assert(testsrv_header(&r, "Content-Type", ct, sizeof(ct)));
    ck_assert_str_eq(ct, "application/merge-patch+json");

    json_object_set_new(json_object_get(body, "metadata"), "resourceVersion", json_string("5"));
    ck_assert_int_eq(ahpa_kube_update(c, &ahpa_res, "default", "n1", "status", body, NULL, &err),
                     0);
    last(s, &r);
    ck_assert_str_eq(r.method, "PUT");
    ck_assert_ptr_nonnull(strstr(r.target, "/n1/status"));

    ck_assert_int_eq(ahpa_kube_delete(c, &ahpa_res, "default", "n1", &err), 0);
    last(s, &r);
    ck_assert_str_eq(r.method, "DELETE");
    ck_assert_ptr_nonnull(strstr(r.target, "/advancedhorizontalpodautoscalers/n1"));
    json_decref(body);
    json_decref(patch);
    ck_assert_uint_eq(ahpa_kube_client_requests(c), 6);
    ahpa_kube_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(status_errors)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_kube_client *c = client_for(s, 0, 0);
    struct ahpa_error err = {0};
    json_t *out = (json_t *)1;
    ck_assert_int_eq(ahpa_kube_get(c, &ahpa_res, "default", "nope", NULL, &out, &err),
                     -AHPA_ENOTFOUND);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(err.msg, "GET /apis/autoscaling.alibabacloud.com/v1beta1/namespaces/default/"
                              "advancedhorizontalpodautoscalers/nope: 404 NotFound: "
                              "advancedhorizontalpodautoscalers \"nope\" not found");
    json_t *stale = json_pack("{s:{s:s, s:s}}", "metadata", "name", "n1", "resourceVersion", "1");
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_kube_update(c, &ahpa_res, "default", "n1", NULL, stale, NULL, &err),
                     -AHPA_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(err.msg, "409 Conflict: Operation cannot be fulfilled"));
    json_decref(stale);
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_kube_get(c, &pod_res, "garbage", "x", NULL, &out, &err),
                     -AHPA_EUPSTREAM);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a JSON object"));
    ahpa_kube_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(list_pages)
{
    make_pages();
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_kube_client *c = client_for(s, 0, 0);
    struct ahpa_error err = {0};
    json_t *list = NULL;
    struct ahpa_kube_list_options lo = {.label_selector = "app in (a,b),tier!=db",
                                        .page_limit = 2};
    ck_assert_int_eq(ahpa_kube_list(c, &pod_res, "default", &lo, &list, &err), 0);
    json_t *items = json_object_get(list, "items");
    ck_assert_uint_eq(json_array_size(items), 5);
    for (size_t i = 0; i < 5; i++) {
        char want[8];
        snprintf(want, sizeof(want), "p%zu", i);
        ck_assert_str_eq(json_string_value(json_object_get(
                             json_object_get(json_array_get(items, i), "metadata"), "name")),
                         want);
    }
    /* The snapshot's version is the first page's. */
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(list, "metadata"),
                                                       "resourceVersion")),
                     "900");
    ck_assert_str_eq(json_string_value(json_object_get(list, "kind")), "PodList");
    json_decref(list);
    ck_assert_uint_eq(testsrv_requests(s), 3);
    struct testsrv_request r;
    testsrv_last(s, &r);
    ck_assert_ptr_nonnull(strstr(r.target, "limit=2"));
    ck_assert_ptr_nonnull(strstr(r.target, "continue=p3"));
    ck_assert_ptr_nonnull(strstr(r.target, "labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb"));

    /* The continue token expires between pages: the caller must restart. */
    ck_assert_int_eq(ahpa_kube_list(c, &pod_res, "expiring", &lo, &list, &err), -AHPA_EGONE);
    ck_assert_ptr_null(list);
    ck_assert_ptr_nonnull(strstr(err.msg, "410 Expired: The provided continue parameter"));

    lo.max_items = 3; /* the bound over all pages */
    ck_assert_int_eq(ahpa_kube_list(c, &pod_res, "default", &lo, &list, &err), -AHPA_ETOOBIG);
    ck_assert_ptr_null(list);
    ahpa_kube_client_free(c);
    testsrv_stop(s);
}
END_TEST

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

START_TEST(qps_limit)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_kube_client *c = client_for(s, 20.0, 2); /* 2 at once, then one per 50 ms */
    double t0 = now_s();
    for (int i = 0; i < 8; i++) {
        json_t *out = NULL;
        ck_assert_int_eq(ahpa_kube_get(c, &pod_res, "default", "x", NULL, &out, NULL), 0);
        json_decref(out);
    }
    double took = now_s() - t0;
    /* 6 requests over the burst at 20/s: at least 0.3 s (minus a little
     * clock slack); far less than 2 s even on a loaded machine. */
    ck_assert_msg(took > 0.28 && took < 2.0, "8 requests took %.3f s", took);
    ahpa_kube_client_cancel(c);
    struct ahpa_error err = {0};
    json_t *out = NULL;
    ck_assert_int_eq(ahpa_kube_get(c, &pod_res, "default", "x", NULL, &out, &err),
                     -AHPA_EUNAVAIL);
    ahpa_kube_client_free(c);
    testsrv_stop(s);
}
END_TEST

TCase *kube_client_tcase(void)
{
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, paths);
    tcase_add_test(tc, verbs);
    tcase_add_test(tc, status_errors);
    tcase_add_test(tc, list_pages);
    tcase_add_test(tc, qps_limit);
    return tc;
}
