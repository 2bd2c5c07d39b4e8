/* The pod cache: the trimmed form of a pod, and selection from the
 * namespace index against the project's test apiserver (a child process):
 * sorted names by label selector and namespace, finished pods left out on
 * request, a deletion and an update seen, existence, and "not listed yet"
 * before the first list. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/labelsel.h"
#include "kube_int.h"
#include "kubeapi_proc.h"
#include "test_kube.h"
#include "unit.h"

static const struct ahpa_kube_resource pod_res = {"", "v1", "pods", "Pod", true};

START_TEST(a_pod_is_trimmed_to_what_is_read)
{
    json_t *pod = json_loads(
        "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"web-1\", "
        "\"namespace\": \"ns\", \"resourceVersion\": \"7\", \"uid\": \"u\", \"labels\": "
        "{\"app\": \"web\", \"n\": 3}, \"annotations\": {\"big\": \"xxxxxxxx\"}, "
        "\"managedFields\": [{}], \"ownerReferences\": [{\"kind\": \"Node\", \"name\": \"x\"}, "
        "{\"kind\": \"ReplicaSet\", \"name\": \"web-5d\", \"controller\": true}]}, "
        "\"spec\": {\"containers\": [{\"name\": \"c\"}]}, \"status\": {\"phase\": \"Running\", "
        "\"podIP\": \"10.0.0.1\", \"conditions\": [{\"type\": \"PodScheduled\", \"status\": "
        "\"True\"}, {\"type\": \"Ready\", \"status\": \"True\"}]}}",
        0, NULL);
    ck_assert_ptr_nonnull(pod);
    json_t *t = ahpa_kube__pod_trim(pod, NULL);
    char *s = json_dumps(t, JSON_SORT_KEYS | JSON_COMPACT);
    ck_assert_str_eq(s, "{\"metadata\":{\"labels\":{\"app\":\"web\"},\"name\":\"web-1\","
                        "\"namespace\":\"ns\",\"resourceVersion\":\"7\"},\"owner\":"
                        "\"ReplicaSet/web-5d\",\"phase\":\"Running\",\"ready\":true}");
    free(s);
    json_decref(t);
    json_decref(pod);
    ck_assert_ptr_null(ahpa_kube__pod_trim(json_null(), NULL));
}
END_TEST

static struct kubeapi_proc api;
static struct ahpa_kube_client *admin;

/* A checked fixture: the double is stopped even when an assertion fails. */
static void setup(void)
{
    kubeapi_proc_start(&api, NULL);
    admin = kubeapi_proc_client(&api, NULL, 5000);
}

static void teardown(void)
{
    ahpa_kube_client_free(admin);
    admin = NULL;
    kubeapi_proc_stop(&api);
}

static void put_pod(const char *ns, const char *name, const char *labels, const char *phase)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"%s\", "
             "\"labels\": %s}, \"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"x\"}]}, "
             "\"status\": {\"phase\": \"%s\"}}",
             name, labels, phase);
    json_t *o = json_loads(text, 0, NULL);
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_kube_create(admin, &pod_res, ns, o, NULL, &err) == 0, "%s", err.msg);
    json_decref(o);
}

static char *joined(struct ahpa_kube_pods *p, const char *ns, const char *selector,
                    unsigned flags)
{
    static char out[512];
    struct ahpa_labelsel *sel = NULL;
    ck_assert_int_eq(ahpa_labelsel_parse(selector, &sel, NULL), 0);
    char **names;
    size_t n;
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_kube_pods_select(p, ns, sel, flags, &names, &n, &err) == 0, "%s", err.msg);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? " " : "", names[i]);
    ahpa_kube_pods_names_free(names, n);
    ahpa_labelsel_free(sel);
    return out;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits (bounded: 5 s) until the selection is `want`. */
static void wait_selection(struct ahpa_kube_pods *p, const char *ns, const char *sel,
                           const char *want)
{
    for (int i = 0; i < 100 && strcmp(joined(p, ns, sel, 0), want) != 0; i++)
        sleep_ms(50);
    ck_assert_str_eq(joined(p, ns, sel, 0), want);
}

START_TEST(pods_selected_from_the_informer)
{
    put_pod("default", "web-b", "{\"app\": \"web\", \"tier\": \"gpu\"}", "Running");
    put_pod("default", "web-a", "{\"app\": \"web\"}", "Pending");
    put_pod("default", "web-done", "{\"app\": \"web\"}", "Failed");
    put_pod("default", "db-0", "{\"app\": \"db\"}", "Running");
    put_pod("kube-system", "web-other", "{\"app\": \"web\"}", "Running");

    struct ahpa_kube_pods_options o = {.watch_timeout_s = 30, .backoff_initial_ms = 50};
    struct ahpa_error err = {0};
    struct ahpa_kube_pods *p = ahpa_kube_pods_new(admin, &o, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    char **names;
    size_t n;
    /* Before the first list: unknown, not "no pods". */
    ck_assert_int_eq(ahpa_kube_pods_select(p, "default", NULL, 0, &names, &n, NULL),
                     -AHPA_EUNAVAIL);
    ck_assert_int_eq(ahpa_kube_pods_exists(p, "default", "web-a", NULL), -AHPA_EUNAVAIL);
    ck_assert_int_eq(ahpa_kube_pods_start(p, &err), 0);
    ck_assert(ahpa_kube_informer_wait_synced(ahpa_kube_pods_informer(p), 5000));

    ck_assert_str_eq(joined(p, "default", "app=web", 0), "web-a web-b web-done");
    ck_assert_str_eq(joined(p, "default", "app=web", AHPA_KUBE_PODS_SKIP_TERMINAL), "web-a web-b");
    ck_assert_str_eq(joined(p, "default", "app=web,tier=gpu", 0), "web-b");
    ck_assert_str_eq(joined(p, "default", "app in (db,web),tier!=gpu", 0), "db-0 web-a web-done");
    ck_assert_str_eq(joined(p, "default", "", 0), "db-0 web-a web-b web-done");
    ck_assert_str_eq(joined(p, "kube-system", "app=web", 0), "web-other");
    ck_assert_str_eq(joined(p, "nowhere", "app=web", 0), "");
    ck_assert_int_eq(ahpa_kube_pods_select(p, NULL, NULL, 0, &names, &n, NULL), -AHPA_EINVAL);
    ck_assert_int_eq(ahpa_kube_pods_exists(p, "default", "web-a", NULL), 1);
    ck_assert_int_eq(ahpa_kube_pods_exists(p, "default", "web-other", NULL), 0);

    /* Watched changes: a deletion, a relabel, a new pod. */
    ck_assert_int_eq(ahpa_kube_delete(admin, &pod_res, "default", "web-a", &err), 0);
    wait_selection(p, "default", "app=web", "web-b web-done");
    json_t *patch = json_loads("{\"metadata\": {\"labels\": {\"app\": \"db\"}}}", 0, NULL);
    ck_assert_int_eq(ahpa_kube_patch(admin, &pod_res, "default", "web-b", NULL, patch, NULL, &err),
                     0);
    json_decref(patch);
    wait_selection(p, "default", "app=db", "db-0 web-b");
    put_pod("default", "web-c", "{\"app\": \"web\"}", "Running");
    wait_selection(p, "default", "app=web", "web-c web-done");
    /* The last pod of a namespace gone: the namespace is empty, not stale. */
    ck_assert_int_eq(ahpa_kube_delete(admin, &pod_res, "kube-system", "web-other", &err), 0);
    wait_selection(p, "kube-system", "", "");
    ck_assert_uint_eq(ahpa_kube_informer_count(ahpa_kube_pods_informer(p)), 4);

    ahpa_kube_pods_free(p);
}
END_TEST

TCase *kube_pods_tcase(void)
{
    TCase *tc = tcase_create("pods");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_pod_is_trimmed_to_what_is_read);
    return tc;
}

TCase *kube_pods_api_tcase(void)
{
    TCase *tc = tcase_create("pods_api");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pods_selected_from_the_informer);
    return tc;
}
