/* Delegated authentication and authorization, as k8s.io/apiserver's
 * delegating authenticator and webhook authorizer do it for every
 * aggregated API server.
 *
 * Authentication, first that answers wins (a union: an authenticator that
 * fails with an error lets the next one try; when none succeeds and one
 * failed, the request is unauthenticated, 401):
 *   1. front proxy: the client's certificate verifies against the
 *      request-header CA and its CN is an allowed name (any when the list
 *      is empty): the user comes from the username headers, groups from
 *      the group headers, extra from the prefixed headers. Without such a
 *      certificate these headers are never read.
 *   2. client certificate verified against the client CA: user = CN,
 *      groups = O.
 *   3. bearer token: authentication.k8s.io/v1 TokenReview (cached; a token
 *      the review rejects is a 401, not anonymous).
 *   4. otherwise, with anonymous on, system:anonymous in
 *      system:unauthenticated.
 * Authenticated users get the group system:authenticated.
 *
 * Authorization: always-allowed paths, then the system:masters group, then
 * authorization.k8s.io/v1 SubjectAccessReview (allowed and denied answers
 * cached separately). AlwaysAllow mode skips all three.
 *
 * Requests never wait on the kube-apiserver: a check that needs a review
 * the caches cannot answer returns AHPA_AUTH_WAIT with a review handle;
 * the caller parks the request, registers a waiter (ahpa_auth_wait) and,
 * when notified, repeats the check passing the handle as `answered`.
 * Identical reviews in flight are one review on the wire; the number in
 * flight is bounded (past it: -AHPA_EUNAVAIL, answer 503).
 *
 * Threads: everything here may be called from any thread. Configuration
 * (CAs, names, headers) is an immutable snapshot swapped when the
 * extension-apiserver-authentication ConfigMap or the files change. */
#ifndef AHPA_AUTH_H
#define AHPA_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ahpa_arena;
struct ahpa_buf;
struct ahpa_error;
struct ahpa_kube_client;

#define AHPA_AUTH_WAIT 1

#define AHPA_AUTH_USER_ANONYMOUS "system:anonymous"
#define AHPA_AUTH_GROUP_UNAUTHENTICATED "system:unauthenticated"
#define AHPA_AUTH_GROUP_AUTHENTICATED "system:authenticated"
#define AHPA_AUTH_GROUP_MASTERS "system:masters"

/* Bounds on what a front proxy may send; past them the request is a 400
 * (header values are also bounded by the server's head budget). */
#define AHPA_AUTH_MAX_GROUPS 256
#define AHPA_AUTH_MAX_EXTRA 64       /* extra keys */
#define AHPA_AUTH_MAX_EXTRA_VALUES 64 /* values per key */
#define AHPA_AUTH_MAX_NAME_BYTES 1024 /* user, group, extra key or value */

/* --- users and request attributes (pure) -------------------------------- */

struct ahpa_auth_extra {
    const char *key;              /* lower-cased, unescaped */
    const char **values;
    size_t nvalues;
};

/* Who made the request. Memory: the request arena given to the call that
 * filled it. */
struct ahpa_auth_user {
    const char *name;
    const char *uid;              /* "" when none */
    const char **groups;
    size_t ngroups;
    struct ahpa_auth_extra *extra;
    size_t nextra;
    const char *method;           /* "frontproxy", "x509", "token", "anonymous" */
};

bool ahpa_auth_user_in_group(const struct ahpa_auth_user *u, const char *group);

struct ahpa_auth_header {
    const char *name;
    const char *value;
};

/* The front proxy's headers into *u (in arena): the first of user_headers
 * with a non-empty value is the user (none: returns 0 and u->name NULL,
 * "not this authenticator"); every value of every group header in order
 * (a value is one group, as kube-apiserver sends them); every header
 * starting with one of extra_prefixes (case-insensitive) is an extra key:
 * the rest of the name, lower-cased and percent-unescaped, each value one
 * value. Header names compare case-insensitively. -AHPA_EINVAL for a bad
 * escape, -AHPA_ETOOBIG past the AHPA_AUTH_MAX_* bounds (message says
 * which). */
int ahpa_auth_frontproxy_user(const struct ahpa_auth_header *h, size_t nh,
                              const char *const *user_headers, size_t nuser,
                              const char *const *group_headers, size_t ngroup,
                              const char *const *extra_prefixes, size_t nextra,
                              struct ahpa_arena *arena, struct ahpa_auth_user *u,
                              struct ahpa_error *err);

/* Authorization attributes as kube-apiserver's RequestInfo computes them. */
struct ahpa_auth_attrs {
    bool resource_request;
    const char *verb;          /* get, list, watch, create, ...; non-resource: lower-case method */
    const char *group;         /* "" for the core group */
    const char *version;
    const char *resource;
    const char *subresource;   /* "" when none */
    const char *ns;            /* "" when none */
    const char *name;          /* "" when none */
    const char *path;          /* the request path (non-resource URL) */
};

/* path: percent-decoded, without the query; watch: the query asks for a
 * watch. Strings point into arena copies or static text. */
void ahpa_auth_request_attrs(const char *method, const char *path, bool watch,
                             struct ahpa_arena *arena, struct ahpa_auth_attrs *out);

/* The kube-apiserver's wording of a denial, into arena:
 *   pods.custom.metrics.k8s.io "*" is forbidden: User "alice" cannot get
 *   resource "pods/gpu_utilization" in API group "custom.metrics.k8s.io"
 *   in the namespace "default"[: reason]
 *   forbidden: User "alice" cannot get path "/metrics"[: reason] */
const char *ahpa_auth_forbidden_message(const struct ahpa_auth_user *u,
                                        const struct ahpa_auth_attrs *a, const char *reason,
                                        struct ahpa_arena *arena);

/* --- the authenticator and authorizer ----------------------------------- */

enum ahpa_auth_mode {
    AHPA_AUTH_MODE_WEBHOOK,     /* SubjectAccessReview */
    AHPA_AUTH_MODE_ALWAYS_ALLOW,
};

/* Called (on the informer's thread, or from ahpa_auth_start) when the CA
 * bundle the TLS server should advertise changes: the client CA and the
 * request-header CA concatenated as PEM ("" when neither). */
typedef void ahpa_auth_cas_fn(void *ctx, const char *ca_pem);

struct ahpa_auth_options {
    enum ahpa_auth_mode mode;
    bool anonymous;                         /* --anonymous-auth */
    /* Files; NULL: from the ConfigMap (unless skip_lookup). */
    const char *client_ca_file;
    const char *requestheader_client_ca_file;
    /* Used with requestheader_client_ca_file (the flags' defaults when
     * NULL/empty lists are passed through as given). */
    const char *const *requestheader_allowed_names;
    size_t n_allowed_names;
    const char *const *requestheader_username_headers;
    size_t n_username_headers;
    const char *const *requestheader_group_headers;
    size_t n_group_headers;
    const char *const *requestheader_extra_prefixes;
    size_t n_extra_prefixes;
    /* The kube-apiserver for TokenReview and the ConfigMap (NULL: no
     * token authentication, no lookup) and for SubjectAccessReview (NULL:
     * only AlwaysAllow works). Borrowed; must outlive the object. */
    struct ahpa_kube_client *authn_client;
    struct ahpa_kube_client *authz_client;
    bool skip_lookup;                       /* --authentication-skip-lookup */
    bool tolerate_lookup_failure;           /* --authentication-tolerate-lookup-failure */
    int64_t lookup_timeout_ms;              /* 0: 10 s */
    const char *const *audiences;           /* --authentication-token-audiences... */
    size_t naudiences;
    int64_t token_cache_ttl_ms;             /* --authentication-token-webhook-cache-ttl */
    int64_t authorized_ttl_ms;              /* --authorization-webhook-cache-authorized-ttl */
    int64_t unauthorized_ttl_ms;            /* --authorization-webhook-cache-unauthorized-ttl */
    const char *const *always_allow_paths;  /* "/healthz"; a trailing star: a prefix */
    size_t n_always_allow_paths;
    size_t cache_max_entries;               /* per cache; 0: 4096 */
    unsigned workers;                       /* review threads; 0: 4 */
    unsigned max_inflight;                  /* distinct reviews in flight; 0: 256 */
    ahpa_auth_cas_fn *cas_changed;          /* may be NULL */
    void *cas_ctx;
};

struct ahpa_auth;

/* Loads the CA files, checks the mode has what it needs (Webhook without
 * authz_client: -AHPA_ECONFIG). Copies what it keeps. Caller frees with
 * ahpa_auth_free(). */
struct ahpa_auth *ahpa_auth_new(const struct ahpa_auth_options *o, struct ahpa_error *err);
/* Starts the review threads and, unless skipped, the ConfigMap lookup
 * (waits for its first answer up to lookup_timeout_ms; a failure is
 * -AHPA_EUNAVAIL unless tolerate_lookup_failure). Calls cas_changed once
 * with the initial bundle. */
int ahpa_auth_start(struct ahpa_auth *a, struct ahpa_error *err);
/* Stops the threads; pending waiters are notified (their reviews fail
 * with -AHPA_EUNAVAIL). NULL ok. */
void ahpa_auth_free(struct ahpa_auth *a);

/* Re-reads --client-ca-file and --requestheader-client-ca-file: when their
 * contents changed, the configuration is rebuilt (as for a ConfigMap
 * change) and 1 returned; 0 unchanged (or no files); < 0 the new contents
 * do not load (the previous configuration stays; called again, it tries
 * again). For a poll loop (main's certificate reload). */
int ahpa_auth_reload_files(struct ahpa_auth *a, struct ahpa_error *err);

/* The current advertised CA bundle as a heap string ("" when none);
 * caller frees. */
char *ahpa_auth_client_cas_pem(struct ahpa_auth *a);

/* What a request brings. All borrowed for the call. */
struct ahpa_auth_request {
    struct ahpa_arena *arena;                 /* results go here */
    const struct ahpa_auth_header *headers;
    size_t nheaders;
    const unsigned char *const *chain;        /* peer certificates, DER, leaf first */
    const size_t *chain_len;
    size_t nchain;
};

/* A review on the wire or answered: opaque, reference counted. */
struct ahpa_auth_review;
void ahpa_auth_review_release(struct ahpa_auth_review *rv); /* NULL ok */

/* Authenticates. 0: *u filled (arena). AHPA_AUTH_WAIT: a TokenReview is
 * needed; *pending gets a reference the caller releases (after waiting on
 * it and passing it back as `answered`). <0: -AHPA_EUNAUTHORIZED (401;
 * err says why, for the log), -AHPA_EINVAL/-AHPA_ETOOBIG (400: hostile
 * headers), -AHPA_EUNAVAIL (503: too many reviews in flight). */
int ahpa_auth_authenticate(struct ahpa_auth *a, const struct ahpa_auth_request *r,
                           struct ahpa_auth_review *answered, struct ahpa_auth_user *u,
                           struct ahpa_auth_review **pending, struct ahpa_error *err);

/* Authorizes. 0: allowed. AHPA_AUTH_WAIT: as above, for a
 * SubjectAccessReview. -AHPA_EFORBIDDEN: denied, *reason (arena, may be
 * "") is the reviewer's reason. -AHPA_EUPSTREAM: the review failed (500,
 * as kube-apiserver answers an authorizer error); -AHPA_EUNAVAIL: too many
 * reviews in flight (503). */
int ahpa_auth_authorize(struct ahpa_auth *a, const struct ahpa_auth_user *u,
                        const struct ahpa_auth_attrs *attrs, struct ahpa_arena *arena,
                        struct ahpa_auth_review *answered, struct ahpa_auth_review **pending,
                        const char **reason, struct ahpa_error *err);

typedef void ahpa_auth_notify_fn(void *ctx);

/* Caller storage for one wait; lives until notify has been called. */
struct ahpa_auth_waiter {
    ahpa_auth_notify_fn *notify_;
    void *ctx_;
    struct ahpa_auth_waiter *next_;
};

/* Calls notify(ctx) exactly once when rv is answered: from a review
 * thread, or at once from this call when it already is. */
void ahpa_auth_wait(struct ahpa_auth *a, struct ahpa_auth_review *rv,
                    struct ahpa_auth_waiter *w, ahpa_auth_notify_fn *notify, void *ctx);

/* Prometheus text for /metrics: outcomes and review latencies. */
void ahpa_auth_metrics(struct ahpa_auth *a, struct ahpa_buf *out);

struct ahpa_auth_stats {
    uint64_t token_reviews, token_cache_hits;
    uint64_t access_reviews, access_cache_hits;
    uint64_t coalesced;       /* waits joined to a review already in flight */
};
void ahpa_auth_stats(struct ahpa_auth *a, struct ahpa_auth_stats *out);

#endif
