/* The authenticator and authorizer: cache lookups on request threads,
 * reviews on a small pool of review threads, waiters notified when the
 * answer is in. Locking: a->lock guards both tables, the work queue and
 * every review's waiter list and answer (see auth_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ahpa/arena.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/tls.h"
#include "auth_int.h"

#define DEFAULT_CACHE_ENTRIES 4096
#define DEFAULT_WORKERS 4
#define DEFAULT_INFLIGHT 256

enum { AUTHN_OK, AUTHN_FAIL, AUTHN_ERROR, AUTHN_ANON };
enum { AUTHZ_ALLOW, AUTHZ_DENY, AUTHZ_ERROR, AUTHZ_SKIP };

static const struct ahpa_kube_resource token_reviews = {
    "authentication.k8s.io", "v1", "tokenreviews", "TokenReview", false};
static const struct ahpa_kube_resource access_reviews = {
    "authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", false};

/* --- lifecycle ---------------------------------------------------------------- */

static void copy_options(struct ahpa_auth *a, const struct ahpa_auth_options *o)
{
    a->o = *o;
    ahpa_auth__strv_copy(&a->flag_allowed, o->requestheader_allowed_names, o->n_allowed_names);
    ahpa_auth__strv_copy(&a->flag_user, o->requestheader_username_headers,
                         o->n_username_headers);
    ahpa_auth__strv_copy(&a->flag_group, o->requestheader_group_headers, o->n_group_headers);
    ahpa_auth__strv_copy(&a->flag_extra, o->requestheader_extra_prefixes, o->n_extra_prefixes);
    ahpa_auth__strv_copy(&a->audiences, o->audiences, o->naudiences);
    ahpa_auth__strv_copy(&a->paths, o->always_allow_paths, o->n_always_allow_paths);
    a->client_ca_file = o->client_ca_file ? ahpa_strdup(o->client_ca_file) : NULL;
    a->rh_ca_file = o->requestheader_client_ca_file ? ahpa_strdup(o->requestheader_client_ca_file)
                                                    : NULL;
    /* Borrowed pointers into the caller's lists are not kept. */
    a->o.requestheader_allowed_names = a->o.requestheader_username_headers = NULL;
    a->o.requestheader_group_headers = a->o.requestheader_extra_prefixes = NULL;
    a->o.audiences = a->o.always_allow_paths = NULL;
    a->o.client_ca_file = a->o.requestheader_client_ca_file = NULL;
    if (a->o.cache_max_entries == 0)
        a->o.cache_max_entries = DEFAULT_CACHE_ENTRIES;
    if (a->o.workers == 0)
        a->o.workers = DEFAULT_WORKERS;
    if (a->o.max_inflight == 0)
        a->o.max_inflight = DEFAULT_INFLIGHT;
}

struct ahpa_auth *ahpa_auth_new(const struct ahpa_auth_options *o, struct ahpa_error *err)
{
    if (o->mode == AHPA_AUTH_MODE_WEBHOOK && o->authz_client == NULL) {
        ahpa_error_set(err, AHPA_ECONFIG, "--authorization-mode=Webhook needs a Kubernetes "
                                          "configuration (--authorization-kubeconfig, "
                                          "--kubeconfig or in-cluster)");
        return NULL;
    }
    struct ahpa_auth *a = ahpa_calloc(1, sizeof(*a));
    copy_options(a, o);
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->conf_lock, NULL);
    pthread_cond_init(&a->work, NULL);
    ahpa_snapshot_init(&a->conf);
    ahpa_auth__table_init(&a->tokens, a->o.cache_max_entries);
    ahpa_auth__table_init(&a->access, a->o.cache_max_entries);
    if (ahpa_auth__conf_apply(a, NULL, err) < 0) {
        ahpa_auth_free(a);
        return NULL;
    }
    ahpa_auth__files_seen(a);
    return a;
}

static void *worker_main(void *arg);

int ahpa_auth_start(struct ahpa_auth *a, struct ahpa_error *err)
{
    a->workers = ahpa_calloc(a->o.workers, sizeof(*a->workers));
    for (; a->nworkers < a->o.workers; a->nworkers++)
        if (pthread_create(&a->workers[a->nworkers], NULL, worker_main, a) != 0)
            return ahpa_error_set(err, AHPA_EIO, "cannot start review threads");
    if (a->o.skip_lookup || a->o.authn_client == NULL)
        return 0;
    return ahpa_auth__lookup_start(a, err);
}

/* Answers rv as failed and detaches its waiters. Caller holds a->lock. */
static struct ahpa_auth_waiter *fail_locked(struct ahpa_auth *a, struct ahpa_auth_review *rv,
                                            const char *why)
{
    rv->done = true;
    rv->rc = -AHPA_EUNAVAIL;
    rv->error = ahpa_strdup(why);
    ahpa_auth__table_remove(rv->kind == AHPA_AUTH__TOKEN ? &a->tokens : &a->access, rv);
    struct ahpa_auth_waiter *w = rv->waiters;
    rv->waiters = NULL;
    return w;
}

static void notify_all(struct ahpa_auth_waiter *w)
{
    while (w != NULL) {
        struct ahpa_auth_waiter *next = w->next_; /* w may be gone after notify */
        w->notify_(w->ctx_);
        w = next;
    }
}

void ahpa_auth_free(struct ahpa_auth *a)
{
    if (a == NULL)
        return;
    ahpa_kube_informer_free(a->informer);
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    pthread_cond_broadcast(&a->work);
    pthread_mutex_unlock(&a->lock);
    for (unsigned i = 0; i < a->nworkers; i++)
        pthread_join(a->workers[i], NULL);
    free(a->workers);
    /* Reviews never sent: their waiters learn now. */
    for (;;) {
        pthread_mutex_lock(&a->lock);
        struct ahpa_auth_review *rv = a->qhead;
        if (rv != NULL)
            a->qhead = rv->qnext;
        struct ahpa_auth_waiter *w = rv ? fail_locked(a, rv, "the server is stopping") : NULL;
        pthread_mutex_unlock(&a->lock);
        if (rv == NULL)
            break;
        notify_all(w);
        ahpa_auth_review_release(rv);
    }
    ahpa_auth__table_dispose(&a->tokens);
    ahpa_auth__table_dispose(&a->access);
    ahpa_snapshot_dispose(&a->conf);
    json_decref(a->last_cm);
    pthread_cond_destroy(&a->work);
    pthread_mutex_destroy(&a->lock);
    pthread_mutex_destroy(&a->conf_lock);
    struct ahpa_auth__strv *lists[] = {&a->flag_allowed, &a->flag_user, &a->flag_group,
                                       &a->flag_extra, &a->audiences, &a->paths};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        ahpa_auth__strv_dispose(lists[i]);
    free(a->client_ca_file);
    free(a->rh_ca_file);
    free(a);
}

/* --- reviews ------------------------------------------------------------------- */

static void observe(struct ahpa_auth *a, int kind, int64_t ns)
{
    static const int64_t le_ms[7] = {5, 10, 25, 50, 100, 250, 1000};
    int b = 0;
    while (b < 7 && ns > le_ms[b] * 1000000LL)
        b++;
    atomic_fetch_add(&a->lat_bucket[kind][b], 1);
    atomic_fetch_add(&a->lat_sum_us[kind], (unsigned long long)(ns / 1000));
}

static void run_review(struct ahpa_auth *a, struct ahpa_auth_review *rv)
{
    struct ahpa_error err = {0};
    json_t *out = NULL;
    bool token = rv->kind == AHPA_AUTH__TOKEN;
    int64_t t0 = ahpa_auth__now_ns();
    int rc = ahpa_kube_create(token ? a->o.authn_client : a->o.authz_client,
                              token ? &token_reviews : &access_reviews, NULL, rv->body, &out,
                              &err);
    observe(a, rv->kind, ahpa_auth__now_ns() - t0);
    if (rc == 0)
        rc = token ? ahpa_auth__token_review_parse(out, (const char *const *)a->audiences.v,
                                                   a->audiences.n, rv, &err)
                   : ahpa_auth__access_review_parse(out, rv, &err);
    json_decref(out);
    if (rc < 0) {
        atomic_fetch_add(&a->review_fail[rv->kind], 1);
        AHPA_LOG_WARN_REPEAT(token ? "TokenReview failed" : "SubjectAccessReview failed",
                             ahpa_strerror(rc), "%s", ahpa_error_message(&err, rc));
        free(rv->error);
        rv->error = ahpa_strdup(ahpa_error_message(&err, rc));
    }
    rv->rc = rc;
}

static int64_t ttl_ns(const struct ahpa_auth *a, const struct ahpa_auth_review *rv)
{
    int64_t ms = rv->kind == AHPA_AUTH__TOKEN ? a->o.token_cache_ttl_ms
                 : rv->allowed                ? a->o.authorized_ttl_ms
                                              : a->o.unauthorized_ttl_ms;
    return ms * 1000000LL;
}

static void *worker_main(void *arg)
{
    struct ahpa_auth *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (!a->stopping && a->qhead == NULL)
            pthread_cond_wait(&a->work, &a->lock);
        if (a->stopping)
            break;
        struct ahpa_auth_review *rv = a->qhead;
        a->qhead = rv->qnext;
        if (a->qhead == NULL)
            a->qtail = NULL;
        pthread_mutex_unlock(&a->lock);
        run_review(a, rv);
        json_decref(rv->body);
        rv->body = NULL;
        pthread_mutex_lock(&a->lock);
        rv->done = true;
        rv->expires_ns = ahpa_auth__now_ns() + ttl_ns(a, rv);
        a->inflight--;
        /* Failures are not cached: the next request asks again. */
        if (rv->rc < 0 || ttl_ns(a, rv) <= 0)
            ahpa_auth__table_remove(rv->kind == AHPA_AUTH__TOKEN ? &a->tokens : &a->access, rv);
        struct ahpa_auth_waiter *w = rv->waiters;
        rv->waiters = NULL;
        pthread_mutex_unlock(&a->lock);
        notify_all(w);
        ahpa_auth_review_release(rv); /* the queue's */
        pthread_mutex_lock(&a->lock);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* The review under key: answered (cached) or in flight, else a new one
 * queued. Returns a new reference in *out, or -AHPA_EUNAVAIL. body is
 * consumed (key too). */
static int lookup(struct ahpa_auth *a, enum ahpa_auth__kind kind, char *key, json_t *body,
                  struct ahpa_auth_review **out)
{
    struct ahpa_auth__table *t = kind == AHPA_AUTH__TOKEN ? &a->tokens : &a->access;
    int rc = 0;
    pthread_mutex_lock(&a->lock);
    struct ahpa_auth_review *rv = ahpa_auth__table_get(t, key, ahpa_auth__now_ns());
    if (rv != NULL) {
        if (rv->done)
            atomic_fetch_add(kind == AHPA_AUTH__TOKEN ? &a->n_token_hits : &a->n_access_hits, 1);
        else
            atomic_fetch_add(&a->n_coalesced, 1);
        *out = ahpa_auth__review_retain(rv);
        free(key);
        json_decref(body);
    } else if (a->stopping || a->inflight >= a->o.max_inflight) {
        rc = -AHPA_EUNAVAIL;
        free(key);
        json_decref(body);
    } else {
        rv = ahpa_auth__review_new(kind, key, body);
        if ((rc = ahpa_auth__table_put(t, rv)) == 0) {
            rv->queued_ns = ahpa_auth__now_ns();
            if (a->qtail != NULL)
                a->qtail->qnext = rv;
            else
                a->qhead = rv;
            a->qtail = ahpa_auth__review_retain(rv); /* the queue's */
            a->inflight++;
            atomic_fetch_add(kind == AHPA_AUTH__TOKEN ? &a->n_token_reviews
                                                      : &a->n_access_reviews, 1);
            pthread_cond_signal(&a->work);
            *out = rv;
        } else {
            ahpa_auth_review_release(rv);
        }
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

void ahpa_auth_wait(struct ahpa_auth *a, struct ahpa_auth_review *rv,
                    struct ahpa_auth_waiter *w, ahpa_auth_notify_fn *notify, void *ctx)
{
    w->notify_ = notify;
    w->ctx_ = ctx;
    pthread_mutex_lock(&a->lock);
    bool now = rv->done;
    if (!now) {
        w->next_ = rv->waiters;
        rv->waiters = w;
    }
    pthread_mutex_unlock(&a->lock);
    if (now)
        notify(ctx);
}

/* Whether rv (answered, same key) settles the check: done under the lock. */
static bool answered_by(struct ahpa_auth *a, struct ahpa_auth_review *rv,
                        enum ahpa_auth__kind kind, const char *key)
{
    if (rv == NULL || rv->kind != kind || strcmp(rv->key, key) != 0)
        return false;
    pthread_mutex_lock(&a->lock);
    bool done = rv->done;
    pthread_mutex_unlock(&a->lock);
    return done;
}

/* --- authentication ---------------------------------------------------------- */

/* 1: the front proxy named the user; 0: not this authenticator; < 0:
 * hostile headers. */
static int front_proxy(const struct ahpa_auth__conf *c, const struct ahpa_auth_request *r,
                       struct ahpa_auth_user *u, struct ahpa_error *err)
{
    int rc = ahpa_auth_frontproxy_user(r->headers, r->nheaders,
                                       (const char *const *)c->user_headers.v,
                                       c->user_headers.n, (const char *const *)c->group_headers.v,
                                       c->group_headers.n,
                                       (const char *const *)c->extra_prefixes.v,
                                       c->extra_prefixes.n, r->arena, u, err);
    if (rc < 0)
        return rc;
    return u->name != NULL ? 1 : 0;
}

static void client_user(const struct ahpa_auth__verdict *v, struct ahpa_auth_user *u)
{
    *u = (struct ahpa_auth_user){.name = v->cn, .uid = "", .method = "x509",
                                 .groups = (const char **)v->orgs, .ngroups = v->n_orgs};
}

/* "Authorization: Bearer <token>" as k8s reads it, or NULL. */
static const char *bearer(const struct ahpa_auth_request *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, "Authorization") != 0)
            continue;
        const char *v = r->headers[i].value;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strncasecmp(v, "bearer ", 7) != 0)
            return NULL;
        return v + 7;
    }
    return NULL;
}

static void user_from_review(const struct ahpa_auth_review *rv, struct ahpa_arena *arena,
                             struct ahpa_auth_user *u)
{
    *u = (struct ahpa_auth_user){.name = ahpa_arena_strdup(arena, rv->user),
                                 .uid = ahpa_arena_strdup(arena, rv->uid), .method = "token"};
    u->groups = ahpa_arena_alloc(arena, (rv->ngroups + 1) * sizeof(char *));
    for (size_t i = 0; i < rv->ngroups; i++)
        u->groups[u->ngroups++] = ahpa_arena_strdup(arena, rv->groups[i]);
    u->extra = ahpa_arena_alloc(arena, (rv->nextra + 1) * sizeof(*u->extra));
    for (size_t i = 0; i < rv->nextra; i++) {
        struct ahpa_auth_extra *e = &u->extra[u->nextra++];
        e->key = ahpa_arena_strdup(arena, rv->extra_keys[i]);
        e->values = ahpa_arena_alloc(arena, (rv->extra_nvalues[i] + 1) * sizeof(char *));
        for (size_t j = 0; j < rv->extra_nvalues[i]; j++)
            e->values[e->nvalues++] = ahpa_arena_strdup(arena, rv->extra_values[i][j]);
    }
}

/* The token's review result, or AHPA_AUTH_WAIT. */
static int token_user(struct ahpa_auth *a, const char *token, const struct ahpa_auth_request *r,
                      struct ahpa_auth_review *answered, struct ahpa_auth_user *u,
                      struct ahpa_auth_review **pending, struct ahpa_error *err)
{
    const char *const *aud = (const char *const *)a->audiences.v;
    char *key = ahpa_auth__token_key(token, aud, a->audiences.n);
    struct ahpa_auth_review *rv;
    int rc;
    if (answered_by(a, answered, AHPA_AUTH__TOKEN, key)) {
        free(key);
        rv = ahpa_auth__review_retain(answered);
    } else if ((rc = lookup(a, AHPA_AUTH__TOKEN, key,
                            ahpa_auth__token_review_body(token, aud, a->audiences.n), &rv)) < 0) {
        return ahpa_error_set(err, AHPA_EUNAVAIL, "too many authentication reviews in flight");
    } else if (!answered_by(a, rv, AHPA_AUTH__TOKEN, rv->key)) {
        *pending = rv;
        return AHPA_AUTH_WAIT;
    }
    if (rv->rc < 0)
        rc = ahpa_error_set(err, AHPA_EUNAUTHORIZED, "token review failed: %s", rv->error);
    else if (!rv->authenticated)
        rc = ahpa_error_set(err, AHPA_EUNAUTHORIZED, "invalid bearer token: %s", rv->error);
    else
        rc = 0;
    if (rc == 0)
        user_from_review(rv, r->arena, u);
    ahpa_auth_review_release(rv);
    return rc;
}

static void add_group(struct ahpa_auth_user *u, const char *g, struct ahpa_arena *arena)
{
    if (ahpa_auth_user_in_group(u, g))
        return;
    const char **groups = ahpa_arena_alloc(arena, (u->ngroups + 1) * sizeof(char *));
    if (u->ngroups > 0)
        memcpy(groups, u->groups, u->ngroups * sizeof(char *));
    groups[u->ngroups++] = g;
    u->groups = groups;
}

static int authenticate_with(struct ahpa_auth *a, const struct ahpa_auth__conf *c,
                             const struct ahpa_auth_request *r,
                             struct ahpa_auth_review *answered, struct ahpa_auth_user *u,
                             struct ahpa_auth_review **pending, struct ahpa_error *err)
{
    bool failed = false;
    struct ahpa_auth__verdict v = {.rh = -1, .client = -1};
    if (r->nchain > 0 && (c->rh_ca != NULL || c->client_ca != NULL))
        ahpa_auth__chain_verdict((struct ahpa_auth__conf *)c, r, &v);
    if (v.rh == 1) {
        int rc = front_proxy(c, r, u, err);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
    failed = v.rh == 0 || v.client == 0;
    if (v.client == 1) {
        client_user(&v, u);
        return 0;
    }
    const char *token = a->o.authn_client != NULL ? bearer(r) : NULL;
    if (token != NULL && *token != '\0')
        return token_user(a, token, r, answered, u, pending, err);
    if (failed)
        return ahpa_error_set(err, AHPA_EUNAUTHORIZED,
                              "client certificate not signed by a trusted CA (or CN not allowed)");
    if (!a->o.anonymous)
        return ahpa_error_set(err, AHPA_EUNAUTHORIZED, "no credentials");
    *u = (struct ahpa_auth_user){.name = AHPA_AUTH_USER_ANONYMOUS, .uid = "",
                                 .method = "anonymous"};
    add_group(u, AHPA_AUTH_GROUP_UNAUTHENTICATED, r->arena);
    return 0;
}

int ahpa_auth_authenticate(struct ahpa_auth *a, const struct ahpa_auth_request *r,
                           struct ahpa_auth_review *answered, struct ahpa_auth_user *u,
                           struct ahpa_auth_review **pending, struct ahpa_error *err)
{
    *pending = NULL;
    struct ahpa_auth__conf *c = ahpa_auth__conf_get(a);
    int rc = authenticate_with(a, c, r, answered, u, pending, err);
    ahpa_auth__conf_release(c);
    if (rc == 0 && strcmp(u->method, "anonymous") != 0)
        add_group(u, AHPA_AUTH_GROUP_AUTHENTICATED, r->arena);
    if (rc != AHPA_AUTH_WAIT)
        atomic_fetch_add(&a->authn[rc == 0 ? (strcmp(u->method, "anonymous") == 0 ? AUTHN_ANON
                                                                                  : AUTHN_OK)
                                   : rc == -AHPA_EUNAUTHORIZED ? AUTHN_FAIL
                                                               : AUTHN_ERROR],
                         1);
    return rc;
}

/* --- authorization ---------------------------------------------------------- */

static bool always_allowed(const struct ahpa_auth *a, const char *path)
{
    for (size_t i = 0; i < a->paths.n; i++) {
        const char *p = a->paths.v[i];
        size_t n = strlen(p);
        if (n > 0 && p[n - 1] == '*' ? strncmp(path, p, n - 1) == 0 : strcmp(path, p) == 0)
            return true;
    }
    return false;
}

static int decide(struct ahpa_auth *a, struct ahpa_auth_review *rv, struct ahpa_arena *arena,
                  const char **reason, struct ahpa_error *err)
{
    if (rv->rc < 0) {
        atomic_fetch_add(&a->authz[AUTHZ_ERROR], 1);
        return ahpa_error_set(err, AHPA_EUPSTREAM, "authorization review failed: %s",
                              rv->error);
    }
    if (rv->allowed) {
        atomic_fetch_add(&a->authz[AUTHZ_ALLOW], 1);
        return 0;
    }
    atomic_fetch_add(&a->authz[AUTHZ_DENY], 1);
    *reason = ahpa_arena_strdup(arena, rv->reason);
    return -AHPA_EFORBIDDEN;
}

int ahpa_auth_authorize(struct ahpa_auth *a, const struct ahpa_auth_user *u,
                        const struct ahpa_auth_attrs *attrs, struct ahpa_arena *arena,
                        struct ahpa_auth_review *answered, struct ahpa_auth_review **pending,
                        const char **reason, struct ahpa_error *err)
{
    *pending = NULL;
    *reason = "";
    if (a->o.mode == AHPA_AUTH_MODE_ALWAYS_ALLOW ||
        always_allowed(a, attrs->path) ||
        ahpa_auth_user_in_group(u, AHPA_AUTH_GROUP_MASTERS)) {
        atomic_fetch_add(&a->authz[AUTHZ_SKIP], 1);
        return 0;
    }
    json_t *body = ahpa_auth__access_review_body(u, attrs);
    char *key = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    if (key == NULL)
        ahpa_oom(0);
    struct ahpa_auth_review *rv;
    if (answered_by(a, answered, AHPA_AUTH__ACCESS, key)) {
        free(key);
        json_decref(body);
        rv = ahpa_auth__review_retain(answered);
    } else if (lookup(a, AHPA_AUTH__ACCESS, key, body, &rv) < 0) {
        atomic_fetch_add(&a->authz[AUTHZ_ERROR], 1);
        return ahpa_error_set(err, AHPA_EUNAVAIL, "too many authorization reviews in flight");
    } else if (!answered_by(a, rv, AHPA_AUTH__ACCESS, rv->key)) {
        *pending = rv;
        return AHPA_AUTH_WAIT;
    }
    int rc = decide(a, rv, arena, reason, err);
    ahpa_auth_review_release(rv);
    return rc;
}

/* --- metrics ---------------------------------------------------------------- */

void ahpa_auth_stats(struct ahpa_auth *a, struct ahpa_auth_stats *out)
{
    out->token_reviews = atomic_load(&a->n_token_reviews);
    out->token_cache_hits = atomic_load(&a->n_token_hits);
    out->access_reviews = atomic_load(&a->n_access_reviews);
    out->access_cache_hits = atomic_load(&a->n_access_hits);
    out->coalesced = atomic_load(&a->n_coalesced);
}

static void histogram(struct ahpa_auth *a, struct ahpa_buf *out, const char *name, int kind)
{
    static const char *const le[8] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "1",
                                      "+Inf"};
    unsigned long long cum = 0;
    for (int b = 0; b < 8; b++) {
        cum += atomic_load(&a->lat_bucket[kind][b]);
        ahpa_buf_printf(out, "%s_bucket{le=\"%s\"} %llu\n", name, le[b], cum);
    }
    ahpa_buf_printf(out, "%s_sum %.6f\n%s_count %llu\n", name,
                    (double)atomic_load(&a->lat_sum_us[kind]) / 1e6, name, cum);
}

void ahpa_auth_metrics(struct ahpa_auth *a, struct ahpa_buf *out)
{
    ahpa_buf_printf(out,
                    "# HELP authentication_attempts Authentication outcomes.\n"
                    "# TYPE authentication_attempts counter\n"
                    "authentication_attempts{result=\"success\"} %llu\n"
                    "authentication_attempts{result=\"anonymous\"} %llu\n"
                    "authentication_attempts{result=\"failure\"} %llu\n"
                    "authentication_attempts{result=\"error\"} %llu\n"
                    "# HELP ahpa_authorization_decisions_total Authorization outcomes "
                    "(skipped: AlwaysAllow, always-allowed path or system:masters).\n"
                    "# TYPE ahpa_authorization_decisions_total counter\n"
                    "ahpa_authorization_decisions_total{decision=\"allowed\"} %llu\n"
                    "ahpa_authorization_decisions_total{decision=\"denied\"} %llu\n"
                    "ahpa_authorization_decisions_total{decision=\"error\"} %llu\n"
                    "ahpa_authorization_decisions_total{decision=\"skipped\"} %llu\n",
                    atomic_load(&a->authn[AUTHN_OK]), atomic_load(&a->authn[AUTHN_ANON]),
                    atomic_load(&a->authn[AUTHN_FAIL]), atomic_load(&a->authn[AUTHN_ERROR]),
                    atomic_load(&a->authz[AUTHZ_ALLOW]), atomic_load(&a->authz[AUTHZ_DENY]),
                    atomic_load(&a->authz[AUTHZ_ERROR]), atomic_load(&a->authz[AUTHZ_SKIP]));
    ahpa_buf_printf(out,
                    "# HELP ahpa_auth_reviews_total Reviews sent to the kube-apiserver, cache "
                    "hits, waits joined to a review in flight, failed reviews.\n"
                    "# TYPE ahpa_auth_reviews_total counter\n"
                    "ahpa_auth_reviews_total{kind=\"TokenReview\",result=\"sent\"} %llu\n"
                    "ahpa_auth_reviews_total{kind=\"TokenReview\",result=\"cached\"} %llu\n"
                    "ahpa_auth_reviews_total{kind=\"TokenReview\",result=\"failed\"} %llu\n"
                    "ahpa_auth_reviews_total{kind=\"SubjectAccessReview\",result=\"sent\"} %llu\n"
                    "ahpa_auth_reviews_total{kind=\"SubjectAccessReview\",result=\"cached\"} "
                    "%llu\n"
                    "ahpa_auth_reviews_total{kind=\"SubjectAccessReview\",result=\"failed\"} "
                    "%llu\n"
                    "ahpa_auth_reviews_coalesced_total %llu\n",
                    atomic_load(&a->n_token_reviews), atomic_load(&a->n_token_hits),
                    atomic_load(&a->review_fail[0]), atomic_load(&a->n_access_reviews),
                    atomic_load(&a->n_access_hits), atomic_load(&a->review_fail[1]),
                    atomic_load(&a->n_coalesced));
    ahpa_buf_puts(out, "# HELP apiserver_delegated_authn_request_duration_seconds TokenReview "
                       "latency.\n"
                       "# TYPE apiserver_delegated_authn_request_duration_seconds histogram\n");
    histogram(a, out, "apiserver_delegated_authn_request_duration_seconds", AHPA_AUTH__TOKEN);
    ahpa_buf_puts(out, "# HELP apiserver_delegated_authz_request_duration_seconds "
                       "SubjectAccessReview latency.\n"
                       "# TYPE apiserver_delegated_authz_request_duration_seconds histogram\n");
    histogram(a, out, "apiserver_delegated_authz_request_duration_seconds", AHPA_AUTH__ACCESS);
}
