/* Internals shared by the auth files. */
#ifndef AHPA_AUTH_INT_H
#define AHPA_AUTH_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ahpa/auth.h"
#include "ahpa/refcount.h"

struct ahpa_error;

enum ahpa_auth__kind { AHPA_AUTH__TOKEN, AHPA_AUTH__ACCESS };

/* One review: in flight, then answered and immutable. Lives in the table
 * (one reference) and in every waiter's hands (one each). Fields below
 * `done` are written by the review thread before done is set under the
 * table's lock, and read only after seeing done under it (or through a
 * waiter's notification, which happens after). */
struct ahpa_auth_review {
    struct ahpa_ref ref;          /* first member */
    enum ahpa_auth__kind kind;
    char *key;
    json_t *body;                 /* the request; dropped once sent */
    bool done;
    int rc;                       /* 0 answered; < 0 the review failed */
    char *error;                  /* why, for the log */
    /* TokenReview */
    bool authenticated;
    char *user, *uid;
    char **groups;
    size_t ngroups;
    char **extra_keys;            /* extra_keys[i]: values extra_values[i][0..n) */
    char ***extra_values;
    size_t *extra_nvalues;
    size_t nextra;
    /* SubjectAccessReview */
    bool allowed, denied;
    char *reason;
    /* table bookkeeping (under the table's lock) */
    int64_t expires_ns;
    int64_t queued_ns;
    bool in_table;
    struct ahpa_auth_waiter *waiters;
    struct ahpa_auth_review *hnext;          /* bucket chain */
    struct ahpa_auth_review *older, *newer;  /* insertion order */
    struct ahpa_auth_review *qnext;          /* work queue */
};

/* A bounded map key -> review with expiry. Not locked: its owner's lock
 * guards it. */
struct ahpa_auth__table {
    struct ahpa_auth_review **buckets;
    size_t nbuckets;               /* power of two */
    size_t count, max;
    struct ahpa_auth_review *oldest, *newest;
};

void ahpa_auth__table_init(struct ahpa_auth__table *t, size_t max);
/* Drops every review's table reference. */
void ahpa_auth__table_dispose(struct ahpa_auth__table *t);
/* The review under key, or NULL; an answered one past its expiry is
 * removed and not returned. Borrowed (retain to keep). */
struct ahpa_auth_review *ahpa_auth__table_get(struct ahpa_auth__table *t, const char *key,
                                              int64_t now_ns);
/* Adds rv (takes a reference of its own). When full, the oldest answered
 * review goes; -AHPA_EUNAVAIL when every entry is still in flight. */
int ahpa_auth__table_put(struct ahpa_auth__table *t, struct ahpa_auth_review *rv);
void ahpa_auth__table_remove(struct ahpa_auth__table *t, struct ahpa_auth_review *rv);

struct ahpa_auth_review *ahpa_auth__review_new(enum ahpa_auth__kind kind, char *key,
                                               json_t *body);
struct ahpa_auth_review *ahpa_auth__review_retain(struct ahpa_auth_review *rv);

/* TokenReview / SubjectAccessReview bodies and answers. */
json_t *ahpa_auth__token_review_body(const char *token, const char *const *aud, size_t naud);
json_t *ahpa_auth__access_review_body(const struct ahpa_auth_user *u,
                                      const struct ahpa_auth_attrs *a);
/* Fills rv's answer fields from a TokenReview status; audiences (when
 * naud > 0) must meet the status' audiences, else not authenticated. */
int ahpa_auth__token_review_parse(const json_t *resp, const char *const *aud, size_t naud,
                                  struct ahpa_auth_review *rv, struct ahpa_error *err);
int ahpa_auth__access_review_parse(const json_t *resp, struct ahpa_auth_review *rv,
                                   struct ahpa_error *err);
/* The cache key of a token: "t:" + hex SHA-256 of token and audiences. */
char *ahpa_auth__token_key(const char *token, const char *const *aud, size_t naud);

int64_t ahpa_auth__now_ns(void);

/* --- configuration snapshots (conf.c) --------------------------------------- */

struct ahpa_auth__strv {
    char **v;
    size_t n;
};

/* A peer chain's verdicts against the configuration's two CAs, cached
 * because verifying a chain costs far more than answering a request
 * (hundreds of microseconds of CPU): a front proxy or client sends the
 * same chain on every request of a connection. Keyed by the SHA-256 of
 * the chain; kept AHPA_AUTH__VERDICT_TTL_NS and never past the leaf's
 * notAfter. */
#define AHPA_AUTH__VERDICT_SLOTS 256
#define AHPA_AUTH__VERDICT_TTL_NS (60LL * 1000000000LL)

struct ahpa_auth__verdict {
    unsigned char key[32];
    bool used;
    int64_t expires_ns;        /* monotonic */
    int64_t not_after_s;       /* the leaf's, unix seconds */
    int rh;                    /* 1 proxy (verified, CN allowed), 0 failed, -1 no CA */
    int client;                /* 1 verified, 0 failed, -1 no CA */
    char *cn;                  /* the leaf's, when client == 1 */
    char **orgs;
    size_t n_orgs;
};

/* Who is trusted for what: immutable, swapped whole (but for the
 * verdict cache, which has its own lock). */
struct ahpa_auth__conf {
    struct ahpa_ref ref;            /* first member */
    struct ahpa_tls_ca *client_ca;  /* NULL: no x509 client authentication */
    struct ahpa_tls_ca *rh_ca;      /* NULL: no front proxy */
    struct ahpa_auth__strv allowed_names, user_headers, group_headers, extra_prefixes;
    char *cas_pem;                  /* both bundles, for the TLS server */
    bool from_configmap;
    pthread_mutex_t vlock;
    struct ahpa_auth__verdict *verdicts; /* AHPA_AUTH__VERDICT_SLOTS, direct-mapped */
};

/* The verdicts on r's chain (nchain > 0), from the cache or verified now;
 * out's strings are in r->arena. */
void ahpa_auth__chain_verdict(struct ahpa_auth__conf *c, const struct ahpa_auth_request *r,
                              struct ahpa_auth__verdict *out);
/* Frees a verdict's strings and marks it unused. */
void ahpa_auth__verdict_clear(struct ahpa_auth__verdict *v);

struct ahpa_kube_informer;

struct ahpa_auth {
    struct ahpa_auth_options o;     /* lists and strings below are copies */
    struct ahpa_auth__strv flag_allowed, flag_user, flag_group, flag_extra, audiences, paths;
    char *client_ca_file, *rh_ca_file;
    struct ahpa_snapshot conf;      /* of struct ahpa_auth__conf */
    struct ahpa_kube_informer *informer;
    /* conf_lock serializes configuration changes (the informer's thread,
     * file reloads): last_cas, last_cm and files_digest. */
    pthread_mutex_t conf_lock;
    char last_cas[65];              /* hex digest of the last advertised bundle */
    json_t *last_cm;                /* the ConfigMap's data last applied, or NULL */
    char files_digest[65];          /* of the CA files' contents last applied */

    /* One lock for the two tables, the queue and every review's waiters. */
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct ahpa_auth__table tokens, access;
    struct ahpa_auth_review *qhead, *qtail;
    unsigned inflight;
    bool stopping;
    pthread_t *workers;
    unsigned nworkers;

    atomic_ullong n_token_reviews, n_token_hits, n_access_reviews, n_access_hits, n_coalesced;
    atomic_ullong authn[4];          /* success, failure (401), error, anonymous */
    atomic_ullong authz[4];          /* allowed, denied, error, skipped */
    atomic_ullong review_fail[2];    /* by kind */
    atomic_ullong lat_bucket[2][8];  /* by kind, le 5ms .. +Inf */
    atomic_ullong lat_sum_us[2];
};

/* Builds the current configuration from the flags and (cm non-NULL) the
 * ConfigMap's data, swaps it in and tells the TLS server when the
 * advertised bundle changed. */
int ahpa_auth__conf_apply(struct ahpa_auth *a, const json_t *cm_data, struct ahpa_error *err);
struct ahpa_auth__conf *ahpa_auth__conf_get(struct ahpa_auth *a);
void ahpa_auth__conf_release(struct ahpa_auth__conf *c);
/* Remembers the CA files' contents as applied (at creation). */
void ahpa_auth__files_seen(struct ahpa_auth *a);
/* Starts the ConfigMap informer (see ahpa_auth_start). */
int ahpa_auth__lookup_start(struct ahpa_auth *a, struct ahpa_error *err);

void ahpa_auth__strv_copy(struct ahpa_auth__strv *dst, const char *const *v, size_t n);
void ahpa_auth__strv_dispose(struct ahpa_auth__strv *s);

#endif
