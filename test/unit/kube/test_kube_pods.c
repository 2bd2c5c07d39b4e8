/* The pod cache: the compact form of a pod (and its shared shapes), the
 * heap it costs per pod, and selection from the
 * namespace index against the project's test apiserver (a child process):
 * sorted names by label selector and namespace, finished pods left out on
 * request, a deletion and an update seen, existence, and "not listed yet"
 * before the first list. */
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/labelsel.h"
#include "kube_int.h"
#include "kubeapi_proc.h"
#include "test_kube.h"
#include "unit.h"

static const struct ahpa_kube_resource pod_res = {"", "v1", "pods", "Pod", true};

/* A cache that never connects (the pods come through
 * ahpa_kube__pod_make or ahpa_kube__informer_load). */
static struct ahpa_kube_client *offline_client(void)
{
    struct ahpa_kube_config cfg = {.server = "http://127.0.0.1:1"};
    struct ahpa_error err = {0};
    struct ahpa_kube_client *c = ahpa_kube_client_new(&cfg, NULL, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    return c;
}

static char *described(const struct ahpa_kube_obj *o)
{
    static char out[512];
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_kube__pod_describe(o, &b);
    snprintf(out, sizeof(out), "%s", ahpa_buf_cstr(&b));
    ahpa_buf_dispose(&b);
    return out;
}

#define POD_TEXT \
    "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"%s\", " \
    "\"namespace\": \"ns\", \"resourceVersion\": \"7\", \"uid\": \"u\", \"labels\": " \
    "{\"app\": \"web\", \"n\": 3, \"tier\": \"%s\"}, \"annotations\": {\"big\": \"xxxxxxxx\"}, " \
    "\"managedFields\": [{}], \"ownerReferences\": [{\"kind\": \"Node\", \"name\": \"x\"}, " \
    "{\"kind\": \"ReplicaSet\", \"name\": \"web-5d\", \"controller\": true}]}, " \
    "\"spec\": {\"containers\": [{\"name\": \"c\"}]}, \"status\": {\"phase\": \"%s\", " \
    "\"podIP\": \"10.0.0.1\", \"conditions\": [{\"type\": \"PodScheduled\", \"status\": " \
    "\"True\"}, {\"type\": \"Ready\", \"status\": \"%s\"}]}}"

START_TEST(a_pod_is_kept_as_what_is_read)
{
    struct ahpa_kube_client *c = offline_client();
    struct ahpa_kube_pods *p = ahpa_kube_pods_new(c, NULL, NULL);
    ck_assert_ptr_nonnull(p);
    char buf[1024];
    struct ahpa_kube_obj *o[4];
    const char *args[4][4] = {{"web-1", "gpu", "Running", "True"},
                              {"web-2", "gpu", "Failed", "False"},
                              {"web-3", "cpu", "Pending", "True"},
                              {"web-4", "gpu", "Evicting", "True"}};
    for (int i = 0; i < 4; i++) {
        snprintf(buf, sizeof(buf), POD_TEXT, args[i][0], args[i][1], args[i][2], args[i][3]);
        json_t *pod = json_loads(buf, 0, NULL);
        ck_assert_ptr_nonnull(pod);
        o[i] = ahpa_kube__pod_make(pod, p);
        json_decref(pod);
        ck_assert_ptr_nonnull(o[i]);
        ck_assert_ptr_null(o[i]->json);
    }
    /* Only what the cache reads survives: no uid, annotations, spec,
     * non-string labels, or owners that do not control. */
    ck_assert_str_eq(described(o[0]), "ns/web-1 ns=ns name=web-1 rv=7 phase=Running ready=1 "
                                      "owner=ReplicaSet/web-5d labels=app=web,tier=gpu");
    ck_assert_str_eq(described(o[1]), "ns/web-2 ns=ns name=web-2 rv=7 phase=Failed ready=0 "
                                      "owner=ReplicaSet/web-5d labels=app=web,tier=gpu");
    ck_assert_str_eq(described(o[2]), "ns/web-3 ns=ns name=web-3 rv=7 phase=Pending ready=1 "
                                      "owner=ReplicaSet/web-5d labels=app=web,tier=cpu");
    ck_assert_str_eq(described(o[3]), "ns/web-4 ns=ns name=web-4 rv=7 phase=? ready=1 "
                                      "owner=ReplicaSet/web-5d labels=app=web,tier=gpu");
    /* Same labels and owner: one shape, freed with its last pod. */
    ck_assert_uint_eq(ahpa_kube__pods_shapes(p), 2);
    ahpa_kube_obj_release(o[2]);
    ck_assert_uint_eq(ahpa_kube__pods_shapes(p), 1);
    ahpa_kube_obj_release(o[0]);
    ahpa_kube_obj_release(o[1]);
    ck_assert_uint_eq(ahpa_kube__pods_shapes(p), 1);
    ahpa_kube_obj_release(o[3]);
    ck_assert_uint_eq(ahpa_kube__pods_shapes(p), 0);

    /* A pod without namespace, labels or owner; unusable ones. */
    json_t *bare = json_loads("{\"metadata\": {\"name\": \"b\", \"resourceVersion\": \"9\"}}",
                              0, NULL);
    struct ahpa_kube_obj *b = ahpa_kube__pod_make(bare, p);
    ck_assert_str_eq(described(b), "b ns= name=b rv=9 phase= ready=0 owner= labels=");
    ahpa_kube_obj_release(b);
    json_decref(bare);
    json_t *norv = json_loads("{\"metadata\": {\"name\": \"b\"}}", 0, NULL);
    ck_assert_ptr_null(ahpa_kube__pod_make(norv, p));
    json_decref(norv);
    ck_assert_ptr_null(ahpa_kube__pod_make(json_null(), p));
    ck_assert_uint_eq(ahpa_kube__pods_shapes(p), 0);
    ahpa_kube_pods_free(p);
    ahpa_kube_client_free(c);
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

/* ---- memory per pod ------------------------------------------------ */

#define BENCH_PODS 10000
/* Bytes of heap per pod the test accepts (the measured figure: README). */
#define POD_BYTES_MAX 350
#define BENCH_PER_WORKLOAD 10
#define BENCH_NAMESPACES 20

/* A pod as the apiserver sends it (the parts the cache drops included):
 * Deployments' pods with the 7 labels of a Helm chart, every fifth
 * workload a StatefulSet (10 labels, three of them its own per pod). */
static json_t *bench_pod(size_t i)
{
    size_t w = i / BENCH_PER_WORKLOAD, k = i % BENCH_PER_WORKLOAD;
    bool sts = w % 5 == 4;
    char ns[32], app[48], name[96], hash[16], owner[80], rv[24], uid[40];
    snprintf(ns, sizeof(ns), "team-%02zu", w % BENCH_NAMESPACES);
    snprintf(app, sizeof(app), "service-%04zu", w);
    snprintf(hash, sizeof(hash), "%08zx", w * 2654435761u % 0xffffffffu);
    if (sts) {
        snprintf(name, sizeof(name), "%s-%zu", app, k);
        snprintf(owner, sizeof(owner), "%s", app);
    } else {
        snprintf(name, sizeof(name), "%s-%.8s-%05zx", app, hash, i * 40503u % 0xfffffu);
        snprintf(owner, sizeof(owner), "%s-%.8s", app, hash);
    }
    snprintf(rv, sizeof(rv), "%zu", 1000000 + i);
    snprintf(uid, sizeof(uid), "4f2c%04zx-1b7e-4c1a-9d2e-6a5b3c%06zx", k, i);
    json_t *labels = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "app", app,
                               "app.kubernetes.io/name", app, "app.kubernetes.io/instance", app,
                               "app.kubernetes.io/component", k % 2 ? "server" : "server",
                               "app.kubernetes.io/part-of", "shop", "app.kubernetes.io/version",
                               "1.24.3");
    if (sts) {
        char idx[8];
        snprintf(idx, sizeof(idx), "%zu", k);
        json_object_set_new(labels, "controller-revision-hash", json_sprintf("%s-%s", app, hash));
        json_object_set_new(labels, "statefulset.kubernetes.io/pod-name", json_string(name));
        json_object_set_new(labels, "apps.kubernetes.io/pod-index", json_string(idx));
    } else {
        json_object_set_new(labels, "pod-template-hash", json_string(hash));
    }
    return json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:o, s:{s:s}, s:[{s:s, s:s, s:s, s:s, s:b}]},"
        " s:{s:[{s:s, s:s, s:{s:{s:s, s:s}}}], s:s},"
        " s:{s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}]}}",
        "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace", ns, "uid", uid,
        "resourceVersion", rv, "creationTimestamp", "2026-12-05T10:00:00Z", "labels", labels,
        "annotations", "kubectl.kubernetes.io/restartedAt", "2026-12-01T08:00:00Z",
        "ownerReferences", "apiVersion", "apps/v1", "kind", sts ? "StatefulSet" : "ReplicaSet",
        "name", owner, "uid", uid, "controller", 1, "spec", "containers", "name", "server",
        "image", "registry.local/shop/server:1.24.3", "resources", "requests", "cpu", "500m",
        "memory", "512Mi", "nodeName", "node-17", "status", "phase", i % 50 ? "Running" : "Succeeded",
        "podIP", "10.1.2.3", "conditions", "type", "PodScheduled", "status", "True", "type", "Ready",
        "status", i % 7 ? "True" : "False");
}

static size_t words(const char *s)
{
    size_t n = s[0] != '\0';
    for (; *s; s++)
        n += *s == ' ';
    return n;
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HEAP_MEASURED 0 /* the sanitizers' allocators are not glibc's */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HEAP_MEASURED 0
#endif
#endif
#ifndef HEAP_MEASURED
#define HEAP_MEASURED 1
#endif

/* The store's and the index's heap per pod, through the relist path
 * (each item through the cache's own conversion), with the whole pods
 * built before the first reading and freed after the second. Prints the
 * figure lib/kube/README.md quotes; fails above the bound. */
START_TEST(pods_cost_little_memory)
{
    struct ahpa_kube_client *c = offline_client();
    struct ahpa_error err = {0};
    struct ahpa_kube_pods *p = ahpa_kube_pods_new(c, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    json_t *items = json_array();
    for (size_t i = 0; i < BENCH_PODS; i++)
        json_array_append_new(items, bench_pod(i));
    json_t *list = json_pack("{s:{s:s}, s:o}", "metadata", "resourceVersion", "2000000", "items",
                             items);
    size_t before = heap_in_use();
    ck_assert_msg(ahpa_kube__informer_load(ahpa_kube_pods_informer(p), list, &err) == 0, "%s",
                  err.msg);
    size_t after = heap_in_use();
    json_decref(list);
    double per_pod = ((double)after - (double)before) / BENCH_PODS;
    fprintf(stderr, "pod cache: %d pods, %.0f bytes of heap per pod%s\n", BENCH_PODS, per_pod,
            HEAP_MEASURED ? "" : " (not glibc's allocator: not judged)");
    ck_assert_uint_eq(ahpa_kube_informer_count(ahpa_kube_pods_informer(p)), BENCH_PODS);
    /* The same answers as ever: workload 3 (team-03), its 10 pods; one of
     * them finished; workload 24 is a StatefulSet selected by ordinal. */
    ck_assert_uint_eq(words(joined(p, "team-03", "app=service-0003,pod-template-hash", 0)), 10);
    ck_assert_uint_eq(words(joined(p, "team-03", "app=service-0003,!pod-template-hash", 0)), 0);
    ck_assert_str_eq(joined(p, "team-04", "statefulset.kubernetes.io/pod-name in "
                                          "(service-0024-3,service-0024-7)", 0),
                     "service-0024-3 service-0024-7");
    ck_assert_uint_eq(words(joined(p, "team-00", "app=service-0000", 0)), 10);
    ck_assert_uint_eq(words(joined(p, "team-00", "app=service-0000", AHPA_KUBE_PODS_SKIP_TERMINAL)),
                      9);
    ck_assert_int_eq(ahpa_kube_pods_exists(p, "team-04", "service-0024-7", NULL), 1);
    ck_assert_int_eq(ahpa_kube_pods_exists(p, "team-05", "service-0024-7", NULL), 0);
    ahpa_kube_pods_free(p);
    ahpa_kube_client_free(c);
    if (HEAP_MEASURED)
        ck_assert_msg(per_pod < POD_BYTES_MAX, "%.0f bytes per pod", per_pod);
}
END_TEST

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
    tcase_add_test(tc, a_pod_is_kept_as_what_is_read);
    tcase_add_test(tc, pods_cost_little_memory);
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
