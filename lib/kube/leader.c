/* Leader election on a coordination.k8s.io/v1 Lease (see ahpa/leader.h).
 *
 * The elector's thread owns the election state (the record last observed
 * and when); other threads read only the atomics and the status copy
 * under `mu`. The elector has its own two connections to the apiserver:
 * `h` for the election, cancelled by stop to cut a candidate's request
 * short, and `h_release` for the final release, which must still work
 * after that cancel. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/error.h"
#include "ahpa/leader.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"
#include "kube_int.h"

#define HOLDER_MAX (AHPA_LEADER_IDENTITY_MAX * 2)
#define MIN_PERIOD_MS 100
/* A lease or release request never waits less than this. */
#define MIN_REQUEST_MS 50

static const struct ahpa_kube_resource lease_resource = {"coordination.k8s.io", "v1", "leases",
                                                         "Lease", true};

/* One election record: the Lease's spec. */
struct record {
    char holder[HOLDER_MAX];
    int64_t duration_s;
    char acquire[40];
    char renew[40];
    int64_t transitions;
};

struct ahpa_leader {
    struct ahpa_kube_client *kc;
    struct ahpa_httpc_client *h, *h_release;
    char *ns, *name, *identity, *path;
    int64_t lease_ms, renew_ms, retry_ms;
    bool release_on_cancel;
    ahpa_leader_fn on_started, on_stopped;
    ahpa_leader_new_leader_fn on_new_leader;
    void *ud;

    pthread_t thread;
    bool started, joined;
    pthread_mutex_t mu; /* guards stopping, the status copy and counters */
    pthread_cond_t cv;
    bool stopping;
    atomic_bool abort;              /* cuts the limiter wait of a request */
    atomic_bool leading;            /* the thread's view */
    atomic_int_fast64_t until_ms;   /* monotonic: leadership ends here */
    atomic_int_fast64_t renewed_ms; /* monotonic: start of the last successful write */

    /* thread only */
    struct record observed;
    bool have_observed;
    int64_t observed_ms; /* monotonic: when `observed` was first seen */
    uint64_t rng;

    /* under mu */
    char holder[HOLDER_MAX];
    int64_t transitions;
    uint64_t acquired, lost, writes, failures, conflicts;
};

static int64_t mono_ms(void)
{
    return ahpa_kube__now_ns() / 1000000;
}

/* metav1.MicroTime: "2006-01-02T15:04:05.000000Z". */
static void micro_now(char out[40])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char sec[AHPA_RFC3339_MAX];
    ahpa_time_format_rfc3339((int64_t)ts.tv_sec, sec);
    size_t len = strlen(sec); /* "...:05Z" */
    snprintf(out, 40, "%.*s.%06ldZ", (int)(len - 1), sec, ts.tv_nsec / 1000);
}

/* ---- identity ------------------------------------------------------ */

void ahpa_leader_default_identity(char *buf, size_t n)
{
    char host[65] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
        ahpa_strlcpy(host, "localhost", sizeof(host));
    unsigned char u[16];
    size_t got = 0;
    while (got < sizeof(u)) {
        ssize_t r = getrandom(u + got, sizeof(u) - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got < sizeof(u)) { /* no entropy source: the clock and pid still differ */
        uint64_t x = (uint64_t)ahpa_kube__now_ns() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof(u); i++, x = x * 6364136223846793005ULL + 1)
            u[i] = (unsigned char)(x >> 56);
    }
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(buf, n, "%s_%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             host, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
             u[13], u[14], u[15]);
}

/* ---- lifecycle ----------------------------------------------------- */

static int check_options(const struct ahpa_leader_options *o, struct ahpa_error *err)
{
    if (o == NULL || o->client == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "leader election without a Kubernetes client");
    if (o->ns == NULL || !ahpa_str_is_dns_label(o->ns))
        return ahpa_error_set(err, AHPA_EINVAL, "leader election: bad lease namespace");
    if (o->name != NULL && !ahpa_str_is_dns_subdomain(o->name))
        return ahpa_error_set(err, AHPA_EINVAL, "leader election: bad lease name");
    if (o->identity != NULL &&
        (o->identity[0] == '\0' || strlen(o->identity) >= AHPA_LEADER_IDENTITY_MAX * 2))
        return ahpa_error_set(err, AHPA_EINVAL, "leader election: bad identity");
    return 0;
}

static int check_durations(int64_t lease, int64_t renew, int64_t retry, struct ahpa_error *err)
{
    if (lease < MIN_PERIOD_MS || renew < MIN_PERIOD_MS || retry < MIN_PERIOD_MS)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "leader election durations must be at least "
                              "%dms",
                              MIN_PERIOD_MS);
    if (lease <= renew)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "--leader-elect-lease-duration (%lldms) must be "
                              "greater than --leader-elect-renew-deadline (%lldms)",
                              (long long)lease, (long long)renew);
    if (renew * 10 <= retry * 12)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "--leader-elect-renew-deadline (%lldms) must be "
                              "greater than 1.2 x --leader-elect-retry-period (%lldms)",
                              (long long)renew, (long long)retry);
    return 0;
}

struct ahpa_leader *ahpa_leader_new(const struct ahpa_leader_options *o, struct ahpa_error *err)
{
    if (check_options(o, err) < 0)
        return NULL;
    int64_t lease =
        o->lease_duration_ms ? o->lease_duration_ms : AHPA_LEADER_DEFAULT_LEASE_DURATION_MS;
    int64_t renew =
        o->renew_deadline_ms ? o->renew_deadline_ms : AHPA_LEADER_DEFAULT_RENEW_DEADLINE_MS;
    int64_t retry = o->retry_period_ms ? o->retry_period_ms : AHPA_LEADER_DEFAULT_RETRY_PERIOD_MS;
    if (check_durations(lease, renew, retry, err) < 0)
        return NULL;
    struct ahpa_leader *l = ahpa_calloc(1, sizeof(*l));
    l->kc = o->client;
    l->ns = ahpa_strdup(o->ns);
    l->name = ahpa_strdup(o->name ? o->name : AHPA_LEADER_DEFAULT_NAME);
    char id[AHPA_LEADER_IDENTITY_MAX];
    if (o->identity == NULL)
        ahpa_leader_default_identity(id, sizeof(id));
    l->identity = ahpa_strdup(o->identity ? o->identity : id);
    l->lease_ms = lease, l->renew_ms = renew, l->retry_ms = retry;
    l->release_on_cancel = o->release_on_cancel;
    l->on_started = o->on_started_leading, l->on_stopped = o->on_stopped_leading;
    l->on_new_leader = o->on_new_leader, l->ud = o->ud;
    l->rng = o->seed ? o->seed : ((uint64_t)ahpa_kube__now_ns() | 1);
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&l->abort, false);
    atomic_init(&l->leading, false);
    atomic_init(&l->until_ms, 0);
    atomic_init(&l->renewed_ms, 0);
    struct ahpa_buf p;
    ahpa_buf_init(&p);
    ahpa_kube_path(&lease_resource, l->ns, l->name, NULL, &p, NULL); /* names checked above */
    l->path = ahpa_buf_take(&p, NULL);
    l->h = ahpa_kube__httpc_new(l->kc, err);
    l->h_release = l->h ? ahpa_kube__httpc_new(l->kc, err) : NULL;
    if (l->h_release == NULL) {
        ahpa_leader_free(l);
        return NULL;
    }
    return l;
}

static void *run(void *arg);

int ahpa_leader_start(struct ahpa_leader *l, struct ahpa_error *err)
{
    if (l->started)
        return ahpa_error_set(err, AHPA_EINVAL, "leader election already started");
    if (pthread_create(&l->thread, NULL, run, l) != 0)
        return ahpa_error_set(err, AHPA_EINTERNAL, "cannot start the leader election thread");
    l->started = true;
    return 0;
}

void ahpa_leader_stop(struct ahpa_leader *l)
{
    if (l == NULL || !l->started || l->joined)
        return;
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    atomic_store(&l->abort, true);
    /* Cut the request under way, a leader's too: the release reads the
     * Lease afresh on its own connection, which this leaves alone. */
    ahpa_httpc_client_cancel(l->h);
    pthread_join(l->thread, NULL);
    l->joined = true;
}

void ahpa_leader_free(struct ahpa_leader *l)
{
    if (l == NULL)
        return;
    ahpa_leader_stop(l);
    ahpa_httpc_client_free(l->h);
    ahpa_httpc_client_free(l->h_release);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l->ns);
    free(l->name);
    free(l->identity);
    free(l->path);
    free(l);
}

/* ---- readers ------------------------------------------------------- */

bool ahpa_leader_is_leader(const struct ahpa_leader *l)
{
    if (l == NULL)
        return true;
    struct ahpa_leader *m = (struct ahpa_leader *)l; /* atomics only */
    return atomic_load(&m->leading) && mono_ms() < atomic_load(&m->until_ms);
}

void ahpa_leader_status(const struct ahpa_leader *l, struct ahpa_leader_status *out)
{
    struct ahpa_leader *m = (struct ahpa_leader *)l; /* the lock and atomics */
    memset(out, 0, sizeof(*out));
    out->leading = ahpa_leader_is_leader(l);
    ahpa_strlcpy(out->identity, l->identity, sizeof(out->identity));
    snprintf(out->name, sizeof(out->name), "%s/%s", l->ns, l->name);
    pthread_mutex_lock(&m->mu);
    ahpa_strlcpy(out->holder, m->holder, sizeof(out->holder));
    out->transitions = m->transitions;
    out->acquired = m->acquired, out->lost = m->lost, out->writes = m->writes;
    out->failures = m->failures, out->conflicts = m->conflicts;
    pthread_mutex_unlock(&m->mu);
    out->since_renew_ms = atomic_load(&m->leading) ? mono_ms() - atomic_load(&m->renewed_ms) : -1;
}

int ahpa_leader_check(const struct ahpa_leader *l, int64_t tolerance_ms, char *reason, size_t n)
{
    struct ahpa_leader *m = (struct ahpa_leader *)l;
    if (l == NULL || !atomic_load(&m->leading))
        return 0; /* a standby is healthy */
    int64_t since = mono_ms() - atomic_load(&m->renewed_ms);
    if (since <= l->lease_ms + tolerance_ms)
        return 0;
    snprintf(reason, n,
             "failed election to renew leadership on lease %s/%s (last renewal %lldms "
             "ago)",
             l->ns, l->name, (long long)since);
    return -AHPA_EUNAVAIL;
}

/* Label values: Lease names are DNS subdomains, so nothing to escape. */
void ahpa_leader_write_metrics(const struct ahpa_leader *l, struct ahpa_buf *out)
{
    struct ahpa_leader_status st;
    ahpa_leader_status(l, &st);
    ahpa_buf_printf(out,
                    "# HELP leader_election_master_status Gauge of if the reporting system is "
                    "master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' "
                    "is the string used to identify the lease.\n"
                    "# TYPE leader_election_master_status gauge\n"
                    "leader_election_master_status{name=\"%s\"} %d\n",
                    l->name, st.leading ? 1 : 0);
    ahpa_buf_printf(out,
                    "# HELP ahpa_leader_election_lease_writes_total Lease creates and updates "
                    "that succeeded (acquisitions, renewals, releases).\n"
                    "# TYPE ahpa_leader_election_lease_writes_total counter\n"
                    "ahpa_leader_election_lease_writes_total{name=\"%s\"} %llu\n"
                    "# HELP ahpa_leader_election_failures_total Lease requests that failed, 409 "
                    "conflicts included.\n"
                    "# TYPE ahpa_leader_election_failures_total counter\n"
                    "ahpa_leader_election_failures_total{name=\"%s\"} %llu\n"
                    "# HELP ahpa_leader_election_transitions_total Times this process became "
                    "leader.\n"
                    "# TYPE ahpa_leader_election_transitions_total counter\n"
                    "ahpa_leader_election_transitions_total{name=\"%s\"} %llu\n",
                    l->name, (unsigned long long)st.writes, l->name,
                    (unsigned long long)st.failures, l->name, (unsigned long long)st.acquired);
}

/* ---- requests ------------------------------------------------------ */

/* One request on the elector's connection `h`, bounded by timeout_ms.
 * `abort` (may be NULL) cuts the limiter wait short. body: borrowed, may be NULL; *out: new
 * reference (may be NULL to discard). */
static int lease_call(struct ahpa_leader *l, struct ahpa_httpc_client *h, atomic_bool *abort,
                      enum ahpa_httpc_method m, const char *path, const json_t *body,
                      int64_t timeout_ms, json_t **out, struct ahpa_error *err)
{
    static const char *const names[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    static const char *const accept[] = {"Accept: application/json"};
    if (timeout_ms <= 0)
        return ahpa_error_set(err, AHPA_ETIMEDOUT, "%s %s: no time left before the deadline",
                              m == AHPA_HTTPC_GET ? "GET" : "write", path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct ahpa_httpc_request req = {.method = m,
                                     .path = path,
                                     .timeout_ms =
                                         timeout_ms < MIN_REQUEST_MS ? MIN_REQUEST_MS : timeout_ms,
                                     .body = text,
                                     .body_len = text ? strlen(text) : 0,
                                     .content_type = text ? "application/json" : NULL,
                                     .headers = accept,
                                     .n_headers = 1};
    struct ahpa_httpc_response resp;
    ahpa_httpc_response_init(&resp);
    int rc = ahpa_kube__do(l->kc, h, abort, &req, &resp, err);
    free(text);
    char what[300];
    snprintf(what, sizeof(what), "%s %.280s", names[m], path);
    if (rc == 0 && (resp.status < 200 || resp.status > 299))
        rc = ahpa_kube_status_error(resp.status, resp.body.data, resp.body.len, what, NULL, 0, err);
    if (rc == 0 && out != NULL) {
        *out = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            rc = ahpa_error_set(err, AHPA_EUPSTREAM, "%s: answer is not a JSON object", what);
        }
    }
    ahpa_httpc_response_dispose(&resp);
    return rc;
}

static void read_record(const json_t *lease, struct record *r)
{
    memset(r, 0, sizeof(*r));
    const json_t *spec = json_object_get(lease, "spec");
    const char *s = json_string_value(json_object_get(spec, "holderIdentity"));
    ahpa_strlcpy(r->holder, s ? s : "", sizeof(r->holder));
    r->duration_s = json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
    s = json_string_value(json_object_get(spec, "acquireTime"));
    ahpa_strlcpy(r->acquire, s ? s : "", sizeof(r->acquire));
    s = json_string_value(json_object_get(spec, "renewTime"));
    ahpa_strlcpy(r->renew, s ? s : "", sizeof(r->renew));
    r->transitions = json_integer_value(json_object_get(spec, "leaseTransitions"));
}

static bool same_record(const struct record *a, const struct record *b)
{
    return strcmp(a->holder, b->holder) == 0 && a->duration_s == b->duration_s &&
           strcmp(a->acquire, b->acquire) == 0 && strcmp(a->renew, b->renew) == 0 &&
           a->transitions == b->transitions;
}

/* Sets lease.spec from r (holderIdentity left out when empty, as
 * client-go's omitempty pointer fields). */
static void write_record(json_t *lease, const struct record *r)
{
    json_t *spec = json_object();
    if (r->holder[0] != '\0')
        json_object_set_new(spec, "holderIdentity", json_string(r->holder));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(r->duration_s));
    json_object_set_new(spec, "acquireTime", json_string(r->acquire));
    json_object_set_new(spec, "renewTime", json_string(r->renew));
    json_object_set_new(spec, "leaseTransitions", json_integer(r->transitions));
    json_object_set_new(lease, "spec", spec);
}

static void count(struct ahpa_leader *l, uint64_t *field)
{
    pthread_mutex_lock(&l->mu);
    (*field)++;
    pthread_mutex_unlock(&l->mu);
}

/* Records what was read or written; tells of a new holder. */
static void observe(struct ahpa_leader *l, const struct record *r, int64_t now)
{
    if (l->have_observed && same_record(&l->observed, r))
        return;
    bool new_holder = !l->have_observed || strcmp(l->observed.holder, r->holder) != 0;
    l->observed = *r;
    l->observed_ms = now;
    l->have_observed = true;
    pthread_mutex_lock(&l->mu);
    ahpa_strlcpy(l->holder, r->holder, sizeof(l->holder));
    l->transitions = r->transitions;
    pthread_mutex_unlock(&l->mu);
    if (new_holder) {
        AHPA_LOG_V(1, "lease %s/%s: holder is now \"%s\"", l->ns, l->name, r->holder);
        if (l->on_new_leader != NULL)
            l->on_new_leader(r->holder, l->ud);
    }
}

enum attempt { WON, HELD, FAILED };

static enum attempt create_lease(struct ahpa_leader *l, int64_t now, int64_t deadline_ms,
                                 struct ahpa_error *err)
{
    struct record r = {.duration_s = (l->lease_ms + 999) / 1000};
    ahpa_strlcpy(r.holder, l->identity, sizeof(r.holder));
    micro_now(r.acquire);
    ahpa_strlcpy(r.renew, r.acquire, sizeof(r.renew));
    json_t *lease = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "coordination.k8s.io/v1",
                              "kind", "Lease", "metadata", "name", l->name, "namespace", l->ns);
    write_record(lease, &r);
    char coll[512];
    snprintf(coll, sizeof(coll), "/apis/coordination.k8s.io/v1/namespaces/%s/leases", l->ns);
    int rc = lease_call(l, l->h, &l->abort, AHPA_HTTPC_POST, coll, lease, deadline_ms - mono_ms(),
                        NULL, err);
    json_decref(lease);
    if (rc == -AHPA_EEXIST) {
        ahpa_error_clear(err);
        return HELD; /* someone else was quicker; read it next time */
    }
    if (rc < 0)
        return FAILED;
    count(l, &l->writes);
    observe(l, &r, now);
    return WON;
}

/* client-go's tryAcquireOrRenew: read, judge, write with the version read.
 * A 409 on the write reads again at once, once. Every request ends by
 * deadline_ms (monotonic). */
static enum attempt try_acquire_or_renew(struct ahpa_leader *l, int64_t now, int64_t deadline_ms,
                                         struct ahpa_error *err)
{
    for (int round = 0; round < 2; round++) {
        json_t *lease = NULL;
        int rc = lease_call(l, l->h, &l->abort, AHPA_HTTPC_GET, l->path, NULL,
                            deadline_ms - mono_ms(), &lease, err);
        if (rc == -AHPA_ENOTFOUND) {
            ahpa_error_clear(err);
            return create_lease(l, now, deadline_ms, err);
        }
        if (rc < 0)
            return FAILED;
        struct record old, r;
        read_record(lease, &old);
        observe(l, &old, mono_ms());
        bool ours = strcmp(old.holder, l->identity) == 0;
        if (old.holder[0] != '\0' && !ours && mono_ms() < l->observed_ms + old.duration_s * 1000) {
            json_decref(lease);
            return HELD;
        }
        r = old;
        ahpa_strlcpy(r.holder, l->identity, sizeof(r.holder));
        r.duration_s = (l->lease_ms + 999) / 1000;
        micro_now(r.renew);
        if (!ours) {
            ahpa_strlcpy(r.acquire, r.renew, sizeof(r.acquire));
            r.transitions = old.transitions + 1;
        }
        write_record(lease, &r);
        rc = lease_call(l, l->h, &l->abort, AHPA_HTTPC_PUT, l->path, lease, deadline_ms - mono_ms(),
                        NULL, err);
        json_decref(lease);
        if (rc == 0) {
            count(l, &l->writes);
            observe(l, &r, now);
            return WON;
        }
        if (rc != -AHPA_ECONFLICT)
            return FAILED;
        count(l, &l->conflicts);
        AHPA_LOG_V(2, "lease %s/%s: %s; reading it again", l->ns, l->name, err->msg);
        ahpa_error_clear(err);
    }
    ahpa_error_set(err, AHPA_ECONFLICT, "lease %s/%s changed twice under us", l->ns, l->name);
    return FAILED;
}

/* Clears the holder if it is still us, on the connection that stop left
 * alone: holderIdentity "", leaseDurationSeconds 1, as client-go's
 * release(), so the next candidate need not wait. */
static void release(struct ahpa_leader *l)
{
    int64_t budget = l->retry_ms > 1000 ? l->retry_ms : 1000;
    if (budget > l->renew_ms)
        budget = l->renew_ms;
    struct ahpa_error err = {0};
    json_t *lease = NULL;
    int rc = lease_call(l, l->h_release, NULL, AHPA_HTTPC_GET, l->path, NULL, budget, &lease, &err);
    if (rc == 0) {
        struct record r;
        read_record(lease, &r);
        if (strcmp(r.holder, l->identity) != 0) {
            json_decref(lease);
            return; /* not ours any more: nothing to give back */
        }
        r.holder[0] = '\0';
        r.duration_s = 1;
        micro_now(r.renew);
        ahpa_strlcpy(r.acquire, r.renew, sizeof(r.acquire));
        write_record(lease, &r);
        rc = lease_call(l, l->h_release, NULL, AHPA_HTTPC_PUT, l->path, lease, budget, NULL, &err);
        json_decref(lease);
    }
    if (rc < 0) {
        AHPA_LOG_WARN("lease %s/%s: release failed, others wait for it to expire: %s", l->ns,
                      l->name, ahpa_error_message(&err, rc));
        return;
    }
    count(l, &l->writes);
    AHPA_LOG_INFO("lease %s/%s released", l->ns, l->name);
}

/* ---- the election loop --------------------------------------------- */

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* client-go's wait.Jitter(retry, 1.2): in [retry, 2.2 x retry). */
static int64_t jittered(struct ahpa_leader *l)
{
    double f = (double)(xorshift(&l->rng) >> 11) / 9007199254740992.0;
    return l->retry_ms + (int64_t)(1.2 * f * (double)l->retry_ms);
}

/* Waits up to ms (monotonic) unless stopping; returns true when stopping. */
static bool pause_ms(struct ahpa_leader *l, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (ms > 0 ? ms : 0) % 1000 * 1000000;
    ts.tv_sec += (time_t)((ms > 0 ? ms : 0) / 1000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&l->mu);
    while (!l->stopping && pthread_cond_timedwait(&l->cv, &l->mu, &ts) == 0)
        continue;
    bool stopping = l->stopping;
    pthread_mutex_unlock(&l->mu);
    return stopping;
}

static void become_leader(struct ahpa_leader *l, int64_t t0)
{
    atomic_store(&l->renewed_ms, t0);
    atomic_store(&l->until_ms, t0 + l->renew_ms);
    atomic_store(&l->leading, true);
    count(l, &l->acquired);
    AHPA_LOG_INFO("lease %s/%s acquired by %s (transitions %lld)", l->ns, l->name, l->identity,
                  (long long)l->observed.transitions);
    if (l->on_started != NULL)
        l->on_started(l->ud);
}

static void step_down(struct ahpa_leader *l, const char *why)
{
    atomic_store(&l->leading, false);
    count(l, &l->lost);
    AHPA_LOG_WARN("lease %s/%s: no longer leader: %s", l->ns, l->name, why);
    if (l->on_stopped != NULL)
        l->on_stopped(l->ud);
}

static bool candidate_round(struct ahpa_leader *l)
{
    struct ahpa_error err = {0};
    int64_t t0 = mono_ms();
    enum attempt a = try_acquire_or_renew(l, t0, t0 + l->renew_ms, &err);
    if (a == WON) {
        become_leader(l, t0);
        return pause_ms(l, l->retry_ms);
    }
    if (a == FAILED && !atomic_load(&l->abort)) {
        count(l, &l->failures);
        AHPA_LOG_WARN_REPEAT("leader election", "acquire failed", "lease %s/%s: %s", l->ns, l->name,
                             err.msg);
    }
    return pause_ms(l, jittered(l));
}

/* One renewal; returns true when stopping. */
static bool leader_round(struct ahpa_leader *l)
{
    int64_t t0 = mono_ms(), until = atomic_load(&l->until_ms);
    if (t0 >= until) {
        step_down(l, "could not renew within --leader-elect-renew-deadline");
        return false;
    }
    struct ahpa_error err = {0};
    enum attempt a = try_acquire_or_renew(l, t0, until, &err);
    if (a == WON) {
        atomic_store(&l->renewed_ms, t0);
        atomic_store(&l->until_ms, t0 + l->renew_ms);
        return pause_ms(l, l->retry_ms);
    }
    if (a == HELD) {
        char why[HOLDER_MAX + 32];
        snprintf(why, sizeof(why), "the lease is held by %s", l->observed.holder);
        step_down(l, why);
        return pause_ms(l, jittered(l));
    }
    if (atomic_load(&l->abort))
        return true; /* cut short by stop */
    count(l, &l->failures);
    AHPA_LOG_WARN_REPEAT("leader election", "renew failed", "lease %s/%s: %s", l->ns, l->name,
                         err.msg);
    int64_t left = atomic_load(&l->until_ms) - mono_ms();
    return pause_ms(l, left < l->retry_ms ? left : l->retry_ms);
}

static void *run(void *arg)
{
    struct ahpa_leader *l = arg;
    AHPA_LOG_INFO("leader election on lease %s/%s as %s (lease %lldms, renew deadline %lldms, "
                  "retry %lldms)",
                  l->ns, l->name, l->identity, (long long)l->lease_ms, (long long)l->renew_ms,
                  (long long)l->retry_ms);
    bool stopping = false;
    while (!stopping)
        stopping = atomic_load(&l->leading) ? leader_round(l) : candidate_round(l);
    if (atomic_load(&l->leading)) {
        atomic_store(&l->leading, false); /* no more writes by this process */
        if (l->release_on_cancel)
            release(l); /* also past the deadline: it checks the holder is still us */
        count(l, &l->lost);
        if (l->on_stopped != NULL)
            l->on_stopped(l->ud);
    }
    return NULL;
}
