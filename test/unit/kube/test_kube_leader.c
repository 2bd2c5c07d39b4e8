/* Leader election against the project's test apiserver (real HTTPS to
 * the double, real Lease objects): acquisition and renewal, one leader
 * among two, release, takeover after expiry, a held Lease respected,
 * stepping down within the renew deadline when the apiserver is cut off,
 * a 409 read again, the healthz check and the metrics.
 *
 * Durations are short (lease 1.5 s, renew deadline 1 s, retry 200 ms);
 * every wait is bounded and the bounds are derived from them, with
 * slack for a loaded machine where the bound is measured by polling. */
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/leader.h"
#include "kubeapi_proc.h"
#include "test_kube.h"
#include "unit.h"

#define LEASE_MS 1500
#define RENEW_MS 1000
#define RETRY_MS 200
/* The record holds whole seconds: 1.5 s is written (and waited) as 2 s. */
#define LEASE_RECORD_MS (((LEASE_MS + 999) / 1000) * 1000)

static struct kubeapi_proc api;
static struct ahpa_kube_client *admin;
static const struct ahpa_kube_resource lease_res = {"coordination.k8s.io", "v1", "leases", "Lease",
                                                    true};

static void setup(void)
{
    static const char *const extra[] = {"--token", "tok-alice=alice", "--token", "tok-bob=bob",
                                        NULL};
    kubeapi_proc_start(&api, extra);
    admin = kubeapi_proc_client(&api, NULL, 5000);
}

static void teardown(void)
{
    ahpa_kube_client_free(admin);
    admin = NULL;
    kubeapi_proc_stop(&api);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

struct counts {
    atomic_int started, stopped, new_leader;
};

static void on_started(void *ud)
{
    atomic_fetch_add(&((struct counts *)ud)->started, 1);
}

static void on_stopped(void *ud)
{
    atomic_fetch_add(&((struct counts *)ud)->stopped, 1);
}

static void on_new(const char *id, void *ud)
{
    (void)id;
    atomic_fetch_add(&((struct counts *)ud)->new_leader, 1);
}

/* An elector of lease `name` as `identity`, over its own client. */
struct cand {
    struct ahpa_kube_client *client;
    struct ahpa_leader *l;
    struct counts n;
};

static void cand_start(struct cand *c, const char *name, const char *identity, const char *token)
{
    memset(c, 0, sizeof(*c));
    c->client = kubeapi_proc_client(&api, token, 5000);
    struct ahpa_leader_options o = {.client = c->client,
                                    .ns = "default",
                                    .name = name,
                                    .identity = identity,
                                    .lease_duration_ms = LEASE_MS,
                                    .renew_deadline_ms = RENEW_MS,
                                    .retry_period_ms = RETRY_MS,
                                    .release_on_cancel = true,
                                    .on_started_leading = on_started,
                                    .on_stopped_leading = on_stopped,
                                    .on_new_leader = on_new,
                                    .ud = &c->n,
                                    .seed = 7};
    struct ahpa_error err = {0};
    c->l = ahpa_leader_new(&o, &err);
    ck_assert_msg(c->l != NULL, "%s", err.msg);
    ck_assert_int_eq(ahpa_leader_start(c->l, &err), 0);
}

static void cand_free(struct cand *c)
{
    ahpa_leader_free(c->l);
    ahpa_kube_client_free(c->client);
}

/* Polls is_leader for up to ms; returns the time it took, or -1. */
static long long wait_leader(struct ahpa_leader *l, long ms)
{
    long long t0 = now_ms();
    while (now_ms() - t0 < ms) {
        if (ahpa_leader_is_leader(l))
            return now_ms() - t0;
        sleep_ms(10);
    }
    return -1;
}

static json_t *get_lease(const char *name)
{
    json_t *o = NULL;
    struct ahpa_error err = {0};
    int rc = ahpa_kube_get(admin, &lease_res, "default", name, NULL, &o, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    return o;
}

static const char *spec_str(json_t *lease, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(lease, "spec"), key));
    return s ? s : "";
}

static long long spec_int(json_t *lease, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(lease, "spec"), key));
}

/* metav1.MicroTime: 2006-01-02T15:04:05.000000Z */
static bool is_micro_time(const char *s)
{
    return strlen(s) == 27 && s[4] == '-' && s[10] == 'T' && s[19] == '.' && s[26] == 'Z';
}

START_TEST(acquires_renews_and_releases)
{
    struct cand a;
    cand_start(&a, "lease-basic", "alice-1", "tok-alice");
    ck_assert_int_ge(wait_leader(a.l, 3000), 0);
    json_t *lease = get_lease("lease-basic");
    ck_assert_str_eq(spec_str(lease, "holderIdentity"), "alice-1");
    ck_assert_int_eq(spec_int(lease, "leaseDurationSeconds"), 2); /* 1.5 s rounded up */
    ck_assert_int_eq(spec_int(lease, "leaseTransitions"), 0);
    ck_assert_msg(is_micro_time(spec_str(lease, "renewTime")), "%s", spec_str(lease, "renewTime"));
    ck_assert(is_micro_time(spec_str(lease, "acquireTime")));
    char renew1[40], acquire1[40];
    snprintf(renew1, sizeof(renew1), "%s", spec_str(lease, "renewTime"));
    snprintf(acquire1, sizeof(acquire1), "%s", spec_str(lease, "acquireTime"));
    json_decref(lease);

    sleep_ms(3 * RETRY_MS);
    lease = get_lease("lease-basic");
    ck_assert_str_ne(spec_str(lease, "renewTime"), renew1);     /* renewed */
    ck_assert_str_eq(spec_str(lease, "acquireTime"), acquire1); /* still the same tenure */
    json_decref(lease);
    ck_assert(ahpa_leader_is_leader(a.l));
    struct ahpa_leader_status st;
    ahpa_leader_status(a.l, &st);
    ck_assert(st.leading);
    ck_assert_str_eq(st.holder, "alice-1");
    ck_assert_uint_ge(st.writes, 3);
    ck_assert_int_ge(st.since_renew_ms, 0);
    ck_assert_int_le(st.since_renew_ms, RENEW_MS);
    char reason[256];
    ck_assert_int_eq(ahpa_leader_check(a.l, 0, reason, sizeof(reason)), 0);
    /* A tolerance below minus the lease duration makes any renewal age too
     * old: the failing side of the check, as a stuck elector would see it. */
    ck_assert_int_eq(ahpa_leader_check(a.l, -LEASE_MS - 1, reason, sizeof(reason)),
                     -AHPA_EUNAVAIL);
    ck_assert_ptr_nonnull(strstr(reason, "failed election to renew leadership on lease "
                                         "default/lease-basic"));

    struct ahpa_buf m;
    ahpa_buf_init(&m);
    ahpa_leader_write_metrics(a.l, &m);
    ck_assert_ptr_nonnull(
        strstr(ahpa_buf_cstr(&m), "\nleader_election_master_status{name=\"lease-basic\"} 1\n"));
    ahpa_buf_dispose(&m);

    ahpa_leader_stop(a.l);
    ck_assert(!ahpa_leader_is_leader(a.l));
    ck_assert_int_eq(atomic_load(&a.n.started), 1);
    ck_assert_int_eq(atomic_load(&a.n.stopped), 1);
    lease = get_lease("lease-basic");
    ck_assert_str_eq(spec_str(lease, "holderIdentity"), ""); /* released */
    ck_assert_int_eq(spec_int(lease, "leaseDurationSeconds"), 1);
    json_decref(lease);
    ahpa_buf_init(&m);
    ahpa_leader_write_metrics(a.l, &m);
    ck_assert_ptr_nonnull(
        strstr(ahpa_buf_cstr(&m), "\nleader_election_master_status{name=\"lease-basic\"} 0\n"));
    ahpa_buf_dispose(&m);
    cand_free(&a);
}
END_TEST

START_TEST(one_leader_of_two_and_fast_handover)
{
    struct cand a, b;
    cand_start(&a, "lease-two", "alice-2", "tok-alice");
    cand_start(&b, "lease-two", "bob-2", "tok-bob");
    long long t0 = now_ms();
    while (now_ms() - t0 < 3000 && !ahpa_leader_is_leader(a.l) && !ahpa_leader_is_leader(b.l))
        sleep_ms(10);
    /* 2 s of samples: always exactly one leader. */
    int both = 0, none = 0;
    for (int i = 0; i < 200; i++) {
        bool la = ahpa_leader_is_leader(a.l), lb = ahpa_leader_is_leader(b.l);
        both += la && lb;
        none += !la && !lb;
        sleep_ms(10);
    }
    ck_assert_int_eq(both, 0);
    ck_assert_int_eq(none, 0);
    struct cand *leader = ahpa_leader_is_leader(a.l) ? &a : &b;
    struct cand *other = leader == &a ? &b : &a;
    ck_assert_int_eq(atomic_load(&other->n.started), 0);

    /* Release: the other takes over on its next try, not after the lease. */
    ahpa_leader_stop(leader->l);
    long long took = wait_leader(other->l, 3000);
    ck_assert_int_ge(took, 0);
    ck_assert_msg(took <= (RETRY_MS * 22) / 10 + 600, "takeover after release took %lldms", took);
    json_t *lease = get_lease("lease-two");
    ck_assert_int_eq(spec_int(lease, "leaseTransitions"), 1);
    json_decref(lease);
    cand_free(&a);
    cand_free(&b);
}
END_TEST

static void put_ghost_lease(const char *name, int duration_s)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":"
             "{\"name\":\"%s\",\"namespace\":\"default\"},\"spec\":{\"holderIdentity\":\"ghost\","
             "\"leaseDurationSeconds\":%d,\"acquireTime\":\"2020-01-01T00:00:00.000000Z\","
             "\"renewTime\":\"2020-01-01T00:00:00.000000Z\",\"leaseTransitions\":4}}",
             name, duration_s);
    json_t *o = json_loads(body, 0, NULL);
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_kube_create(admin, &lease_res, "default", o, NULL, &err) == 0, "%s",
                  err.msg);
    json_decref(o);
}

/* A lease not renewed for its duration is taken, however old its
 * renewTime (clocks are not compared: the candidate waits a full duration
 * from when it first saw the record). */
START_TEST(takes_over_an_expired_lease)
{
    put_ghost_lease("lease-ghost", 1);
    struct cand a;
    long long t0 = now_ms();
    cand_start(&a, "lease-ghost", "alice-3", "tok-alice");
    long long took = wait_leader(a.l, 4000);
    ck_assert_int_ge(took, 0);
    ck_assert_msg(took >= 1000 - 100 && took <= 1000 + (RETRY_MS * 22) / 10 + 800, "took %lldms",
                  took);
    (void)t0;
    json_t *lease = get_lease("lease-ghost");
    ck_assert_str_eq(spec_str(lease, "holderIdentity"), "alice-3");
    ck_assert_int_eq(spec_int(lease, "leaseTransitions"), 5);
    json_decref(lease);
    ck_assert_int_eq(atomic_load(&a.n.new_leader), 2); /* ghost, then alice-3 */
    cand_free(&a);
}
END_TEST

/* A lease its holder keeps renewing is never taken. */
START_TEST(respects_a_held_lease)
{
    put_ghost_lease("lease-held", 1);
    struct cand a;
    cand_start(&a, "lease-held", "alice-4", "tok-alice");
    struct ahpa_error err = {0};
    for (int i = 0; i < 10; i++) { /* 3 s of renewals every 300 ms */
        json_t *lease = get_lease("lease-held");
        char t[40];
        snprintf(t, sizeof(t), "2020-01-01T00:00:%02d.000000Z", i + 1);
        json_object_set_new(json_object_get(lease, "spec"), "renewTime", json_string(t));
        ck_assert_msg(ahpa_kube_update(admin, &lease_res, "default", "lease-held", NULL, lease,
                                       NULL, &err) == 0,
                      "%s", err.msg);
        json_decref(lease);
        ck_assert(!ahpa_leader_is_leader(a.l));
        sleep_ms(300);
    }
    ck_assert_int_eq(atomic_load(&a.n.started), 0);
    ck_assert_int_ge(wait_leader(a.l, 3000), 0); /* the ghost stopped renewing */
    cand_free(&a);
}
END_TEST

/* Cut off from the apiserver, a leader stops being leader within the
 * renew deadline of its last renewal; the other candidate takes over
 * after the lease duration. */
START_TEST(steps_down_when_cut_off)
{
    struct cand a, b;
    cand_start(&a, "lease-cut", "alice-5", "tok-alice");
    ck_assert_int_ge(wait_leader(a.l, 3000), 0);
    cand_start(&b, "lease-cut", "bob-5", "tok-bob");
    sleep_ms(500);
    ck_assert(!ahpa_leader_is_leader(b.l));
    ck_assert_int_eq(
        kubeapi_proc_admin(&api, "POST", "/-/test/partition?user=alice&mode=hang", NULL, NULL),
        200);
    long long tp = now_ms();
    while (ahpa_leader_is_leader(a.l) && now_ms() - tp < 3000)
        sleep_ms(5);
    long long gone = now_ms() - tp;
    ck_assert_msg(gone <= RENEW_MS + 100, "still leader %lldms after the partition", gone);
    /* The callback comes from the thread, whose request is cut at the
     * deadline. */
    while (atomic_load(&a.n.stopped) == 0 && now_ms() - tp < 3000)
        sleep_ms(5);
    long long cb = now_ms() - tp;
    ck_assert_msg(cb <= RENEW_MS + 400, "on_stopped_leading %lldms after the partition", cb);
    long long took = wait_leader(b.l, 4000);
    ck_assert_int_ge(took, 0);
    long long since = now_ms() - tp;
    ck_assert_msg(since <= LEASE_RECORD_MS + (RETRY_MS * 22) / 10 + 800, "takeover %lldms", since);
    ck_assert(!ahpa_leader_is_leader(a.l));
    ck_assert_int_eq(kubeapi_proc_admin(&api, "POST", "/-/test/heal", NULL, NULL), 200);
    sleep_ms(3 * RETRY_MS);
    ck_assert(!ahpa_leader_is_leader(a.l)); /* healed, it respects bob's lease */
    ck_assert(ahpa_leader_is_leader(b.l));
    cand_free(&a);
    cand_free(&b);
}
END_TEST

/* A 409 on the renewal's update: read again at once, write again, still
 * leader, no round lost. */
START_TEST(conflict_is_read_again)
{
    struct cand a;
    cand_start(&a, "lease-409", "alice-6", "tok-alice");
    ck_assert_int_ge(wait_leader(a.l, 3000), 0);
    static const char conflict[] =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
        "\"Operation cannot be fulfilled on leases.coordination.k8s.io \\\"lease-409\\\": the "
        "object has been modified\",\"reason\":\"Conflict\",\"code\":409}";
    ck_assert_int_eq(kubeapi_proc_admin(&api, "POST",
                                        "/-/test/inject?path=/apis/coordination.k8s.io/v1/"
                                        "namespaces/default/leases/lease-409&code=409&times=1"
                                        "&method=PUT",
                                        conflict, NULL),
                     200);
    struct ahpa_leader_status st;
    long long t0 = now_ms();
    do {
        sleep_ms(20);
        ahpa_leader_status(a.l, &st);
    } while (st.conflicts < 1 && now_ms() - t0 < 3000);
    ck_assert_uint_eq(st.conflicts, 1);
    ck_assert_uint_eq(st.failures, 0); /* the round that met it succeeded */
    uint64_t writes = st.writes;
    sleep_ms(2 * RETRY_MS + 100);
    ahpa_leader_status(a.l, &st);
    ck_assert_uint_gt(st.writes, writes); /* renewing again */
    ck_assert(ahpa_leader_is_leader(a.l));
    ck_assert_uint_eq(st.lost, 0);
    cand_free(&a);
}
END_TEST

/* Stopping a leader cut off from the apiserver is bounded: the renewal
 * under way is cut, the release gives up after its budget
 * (min(renew deadline, max(retry, 1 s)) per request). */
START_TEST(stop_is_bounded_when_cut_off)
{
    struct cand a;
    cand_start(&a, "lease-stop", "alice-7", "tok-alice");
    ck_assert_int_ge(wait_leader(a.l, 3000), 0);
    ck_assert_int_eq(
        kubeapi_proc_admin(&api, "POST", "/-/test/partition?user=alice&mode=hang", NULL, NULL),
        200);
    sleep_ms(RETRY_MS + 50); /* a renewal is now waiting on the network */
    long long t0 = now_ms();
    ahpa_leader_stop(a.l);
    long long took = now_ms() - t0;
    ck_assert_msg(took <= 2 * RENEW_MS + 300, "stop took %lldms", took);
    ck_assert(!ahpa_leader_is_leader(a.l));
    ck_assert_int_eq(atomic_load(&a.n.stopped), 1);
    ck_assert_int_eq(kubeapi_proc_admin(&api, "POST", "/-/test/heal", NULL, NULL), 200);
    json_t *lease = get_lease("lease-stop");
    ck_assert_str_eq(spec_str(lease, "holderIdentity"), "alice-7"); /* not released: cut off */
    json_decref(lease);
    cand_free(&a);
}
END_TEST

START_TEST(options_are_checked)
{
    struct ahpa_kube_client *c = kubeapi_proc_client(&api, NULL, 0);
    struct ahpa_error err = {0};
    struct ahpa_leader_options o = {.client = c,
                                    .ns = "default",
                                    .lease_duration_ms = 1000,
                                    .renew_deadline_ms = 1000,
                                    .retry_period_ms = 200};
    ck_assert_ptr_null(ahpa_leader_new(&o, &err));
    ck_assert_int_eq(err.code, AHPA_EINVAL);
    ahpa_error_clear(&err);
    o.renew_deadline_ms = 240, o.retry_period_ms = 200; /* not > 1.2 x retry */
    ck_assert_ptr_null(ahpa_leader_new(&o, &err));
    ahpa_error_clear(&err);
    o.renew_deadline_ms = 600, o.ns = "Bad_NS";
    ck_assert_ptr_null(ahpa_leader_new(&o, &err));
    ahpa_error_clear(&err);
    o.ns = "default";
    struct ahpa_leader *l = ahpa_leader_new(&o, &err);
    ck_assert_ptr_nonnull(l);
    struct ahpa_leader_status st;
    ahpa_leader_status(l, &st);
    ck_assert_ptr_nonnull(strchr(st.identity, '_')); /* hostname_uuid */
    ck_assert_uint_eq(strlen(strrchr(st.identity, '_') + 1), 36);
    ck_assert_str_eq(st.name, "default/ahpa-metrics-adapter");
    ck_assert(!ahpa_leader_is_leader(l)); /* never started */
    ahpa_leader_free(l);
    ck_assert(ahpa_leader_is_leader(NULL)); /* no election: acts alone */
    ahpa_kube_client_free(c);
}
END_TEST

TCase *kube_leader_tcase(void)
{
    TCase *tc = tcase_create("leader");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, options_are_checked);
    tcase_add_test(tc, acquires_renews_and_releases);
    tcase_add_test(tc, one_leader_of_two_and_fast_handover);
    tcase_add_test(tc, takes_over_an_expired_lease);
    tcase_add_test(tc, respects_a_held_lease);
    tcase_add_test(tc, steps_down_when_cut_off);
    tcase_add_test(tc, conflict_is_read_again);
    tcase_add_test(tc, stop_is_bounded_when_cut_off);
    return tc;
}
