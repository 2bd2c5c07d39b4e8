/* Discovery documents and content negotiation. */
#include <jansson.h>
#include <string.h>

#include "ahpa/api.h"
#include "ahpa/error.h"
#include "api_int.h"
#include "api_test.h"
#include "unit.h"

START_TEST(negotiation_table)
{
    static const struct {
        const char *accept;
        bool discovery_ok;
        enum ahpa_api_accept want;
    } cases[] = {
        {NULL, true, AHPA_ACCEPT_JSON},
        {"", true, AHPA_ACCEPT_JSON},
        {"application/json", true, AHPA_ACCEPT_JSON},
        {"*/*", false, AHPA_ACCEPT_JSON},
        {"application/*", false, AHPA_ACCEPT_JSON},
        {"application/vnd.kubernetes.protobuf", true, AHPA_ACCEPT_NONE},
        {"text/html", false, AHPA_ACCEPT_NONE},
        {"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", true,
         AHPA_ACCEPT_DISCOVERY_V2},
        {"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", true,
         AHPA_ACCEPT_DISCOVERY_V2BETA1},
        {"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", false,
         AHPA_ACCEPT_JSON},
        {"application/json;g=apidiscovery.k8s.io;v=v9;as=APIGroupDiscoveryList", true, AHPA_ACCEPT_NONE},
        {"application/json;as=Table;v=v1;g=meta.k8s.io,application/json", false, AHPA_ACCEPT_JSON},
        {"application/json;as=Table;v=v1;g=meta.k8s.io", false, AHPA_ACCEPT_NONE},
        {"application/vnd.kubernetes.protobuf, application/json", false, AHPA_ACCEPT_JSON},
        {" application/json ; q=0.9", false, AHPA_ACCEPT_JSON},
        {",,,", false, AHPA_ACCEPT_NONE},
        {"application/jsonx", false, AHPA_ACCEPT_NONE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(ahpa_api__negotiate(cases[i].accept, cases[i].discovery_ok) == cases[i].want,
                      "case %zu: %s", i, cases[i].accept ? cases[i].accept : "(null)");
}
END_TEST

static const char *const get_verbs[] = {"get", NULL};
static const char *const get_list_verbs[] = {"get", "list", NULL};

START_TEST(resources_are_published)
{
    struct test_server t;
    test_server_start(&t, NULL);
    struct ahpa_api_resource res[] = {
        {"pods/gpu_utilization", "", true, "MetricValueList", get_verbs},
        {"namespaces/gpu_utilization", "", false, "MetricValueList", get_verbs},
        {"pods/gpu_memory_used_bytes", "", true, "MetricValueList", get_verbs},
    };
    ck_assert_int_eq(ahpa_server_set_resources(t.server, AHPA_GROUP_CUSTOM, "v1beta2", res, 3, NULL), 0);
    struct ahpa_api_resource obs = {"predictionsobserver", "predictionsobserver", true,
                                    "PredictionsObserver", get_list_verbs};
    ck_assert_int_eq(ahpa_server_set_resources(t.server, AHPA_GROUP_OBSERVER, "v1beta1", &obs, 1, NULL), 0);
    ck_assert_int_eq(ahpa_server_set_resources(t.server, "nope.io", "v1", res, 1, NULL), -AHPA_ENOTFOUND);
    ck_assert_int_eq(ahpa_server_set_resources(t.server, AHPA_GROUP_CUSTOM, "v9", res, 1, NULL), -AHPA_ENOTFOUND);

    struct test_reply r = test_request(&t, NULL, "/apis/custom.metrics.k8s.io/v1beta2", NULL, NULL);
    json_t *doc = json_loads(r.body, 0, NULL);
    json_t *list = json_object_get(doc, "resources");
    ck_assert_uint_eq(json_array_size(list), 3);
    json_t *first = json_array_get(list, 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "name")), "pods/gpu_utilization");
    ck_assert(json_is_true(json_object_get(first, "namespaced")));
    ck_assert(json_is_false(json_object_get(json_array_get(list, 1), "namespaced")));
    ck_assert_str_eq(json_string_value(json_object_get(first, "singularName")), "");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(first, "verbs"), 0)), "get");
    json_decref(doc);
    test_reply_dispose(&r);

    /* v1beta1 is a separate list: still empty, but well-formed. */
    r = test_request(&t, NULL, "/apis/custom.metrics.k8s.io/v1beta1", NULL, NULL);
    ck_assert(strstr(r.body, "\"resources\":[]") != NULL);
    test_reply_dispose(&r);

    /* Aggregated: subresources nest under a synthesised parent. */
    const char *agg[] = {"Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", NULL};
    r = test_request(&t, NULL, "/apis", agg, NULL);
    doc = json_loads(r.body, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "kind")), "APIGroupDiscoveryList");
    json_t *custom = json_array_get(json_object_get(doc, "items"), 0);
    json_t *v1beta2 = json_array_get(json_object_get(custom, "versions"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(v1beta2, "version")), "v1beta2");
    json_t *rl = json_object_get(v1beta2, "resources");
    ck_assert_uint_eq(json_array_size(rl), 2); /* pods, namespaces */
    json_t *pods = json_array_get(rl, 0);
    ck_assert_str_eq(json_string_value(json_object_get(pods, "resource")), "pods");
    ck_assert_str_eq(json_string_value(json_object_get(pods, "scope")), "Namespaced");
    ck_assert_uint_eq(json_array_size(json_object_get(pods, "subresources")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(pods, "responseKind"), "kind")), "");
    json_t *sub = json_array_get(json_object_get(pods, "subresources"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(sub, "subresource")), "gpu_memory_used_bytes");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(sub, "responseKind"), "kind")),
                     "MetricValueList");
    json_t *obsv = json_array_get(json_object_get(json_array_get(json_object_get(json_array_get(
                       json_object_get(doc, "items"), 2), "versions"), 0), "resources"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(obsv, "resource")), "predictionsobserver");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(obsv, "responseKind"), "kind")),
                     "PredictionsObserver");
    json_decref(doc);
    ck_assert(strstr(r.headers, "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"));
    test_reply_dispose(&r);
    test_server_stop(&t);
}
END_TEST

START_TEST(disabled_group_is_absent)
{
    struct test_server t;
    const char *flags[] = {"--enable-external-metrics=false", NULL};
    test_server_start(&t, flags);
    struct test_reply r = test_request(&t, NULL, "/apis", NULL, NULL);
    ck_assert(strstr(r.body, "external.metrics.k8s.io") == NULL);
    ck_assert(strstr(r.body, "custom.metrics.k8s.io") != NULL);
    test_reply_dispose(&r);
    r = test_request(&t, NULL, "/apis/external.metrics.k8s.io/v1beta1", NULL, NULL);
    ck_assert_int_eq(r.status, 404);
    test_reply_dispose(&r);
    r = test_request(&t, NULL, "/openapi/v3", NULL, NULL);
    ck_assert(strstr(r.body, "external.metrics.k8s.io") == NULL);
    test_reply_dispose(&r);
    test_server_stop(&t);
}
END_TEST

void test_api_add_discovery(Suite *s)
{
    TCase *tc = tcase_create("discovery");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, negotiation_table);
    tcase_add_test(tc, resources_are_published);
    tcase_add_test(tc, disabled_group_is_absent);
    suite_add_tcase(s, tc);
}
