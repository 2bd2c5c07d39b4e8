/* Unit tests for lib/auth: front-proxy headers, request attributes, the
 * review table (cache + in-flight set), review bodies and answers, and the
 * authenticator's certificate paths against generated CAs. The review
 * round trips over HTTP are covered by test/integration/test_auth.sh. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ahpa/arena.h"
#include "ahpa/auth.h"
#include "ahpa/error.h"
#include "ahpa/tls.h"
#include "auth_int.h"
#include "reviews.h"
#include "unit.h"

static const char *const user_h[] = {"X-Remote-User"};
static const char *const group_h[] = {"X-Remote-Group"};
static const char *const extra_p[] = {"X-Remote-Extra-"};

static int parse(const struct ahpa_auth_header *h, size_t n, struct ahpa_arena *arena,
                 struct ahpa_auth_user *u, struct ahpa_error *err)
{
    return ahpa_auth_frontproxy_user(h, n, user_h, 1, group_h, 1, extra_p, 1, arena, u, err);
}

START_TEST(frontproxy_basic)
{
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    const struct ahpa_auth_header h[] = {
        {"x-remote-user", "alice"},
        {"X-Remote-Group", "ops"},
        {"Accept", "*/*"},
        {"X-REMOTE-GROUP", "dev"},
        {"X-Remote-Extra-Scopes", "a"},
        {"x-remote-extra-scopes", "b"},
        {"X-Remote-Extra-Acme.com%2Fproject", "p1"},
        {"X-Remote-Group", ""},
    };
    struct ahpa_auth_user u;
    struct ahpa_error err = {0};
    ck_assert_int_eq(parse(h, 8, arena, &u, &err), 0);
    ck_assert_str_eq(u.name, "alice");
    ck_assert_uint_eq(u.ngroups, 2);
    ck_assert_str_eq(u.groups[0], "ops");
    ck_assert_str_eq(u.groups[1], "dev");
    ck_assert_uint_eq(u.nextra, 2);
    ck_assert_str_eq(u.extra[0].key, "scopes");
    ck_assert_uint_eq(u.extra[0].nvalues, 2);
    ck_assert_str_eq(u.extra[0].values[1], "b");
    ck_assert_str_eq(u.extra[1].key, "acme.com/project");
    ahpa_arena_free(arena);
}
END_TEST

START_TEST(frontproxy_no_user)
{
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    const struct ahpa_auth_header h[] = {{"X-Remote-User", ""}, {"X-Remote-Group", "ops"}};
    struct ahpa_auth_user u;
    ck_assert_int_eq(parse(h, 2, arena, &u, NULL), 0);
    ck_assert_ptr_null(u.name);
    ahpa_arena_free(arena);
}
END_TEST

/* Hostile headers: clear errors, never a crash or a partial user. */
START_TEST(frontproxy_hostile)
{
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    struct ahpa_auth_user u;
    struct ahpa_error err = {0};
    const struct ahpa_auth_header bad_escape[] = {{"X-Remote-User", "a"},
                                                  {"X-Remote-Extra-%zz", "v"}};
    ck_assert_int_eq(parse(bad_escape, 2, arena, &u, &err), -AHPA_EINVAL);
    ck_assert_ptr_null(u.name);
    const struct ahpa_auth_header nul_escape[] = {{"X-Remote-User", "a"},
                                                  {"X-Remote-Extra-a%00b", "v"}};
    ck_assert_int_eq(parse(nul_escape, 2, arena, &u, NULL), -AHPA_EINVAL);
    const struct ahpa_auth_header empty_key[] = {{"X-Remote-User", "a"},
                                                 {"X-Remote-Extra-", "v"}};
    ck_assert_int_eq(parse(empty_key, 2, arena, &u, NULL), -AHPA_EINVAL);

    size_t n = AHPA_AUTH_MAX_GROUPS + 2;
    struct ahpa_auth_header *many = calloc(n, sizeof(*many));
    many[0] = (struct ahpa_auth_header){"X-Remote-User", "a"};
    for (size_t i = 1; i < n; i++)
        many[i] = (struct ahpa_auth_header){"X-Remote-Group", "g"};
    ahpa_error_clear(&err);
    ck_assert_int_eq(parse(many, n, arena, &u, &err), -AHPA_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "groups"));
    ck_assert_int_eq(parse(many, AHPA_AUTH_MAX_GROUPS + 1, arena, &u, NULL), 0);
    ck_assert_uint_eq(u.ngroups, AHPA_AUTH_MAX_GROUPS);
    free(many);

    char *huge = malloc(AHPA_AUTH_MAX_NAME_BYTES + 32);
    memset(huge, 'k', AHPA_AUTH_MAX_NAME_BYTES + 31);
    memcpy(huge, "X-Remote-Extra-", 15);
    huge[AHPA_AUTH_MAX_NAME_BYTES + 31] = '\0';
    const struct ahpa_auth_header long_key[] = {{"X-Remote-User", "a"}, {huge, "v"}};
    ck_assert_int_eq(parse(long_key, 2, arena, &u, NULL), -AHPA_ETOOBIG);
    free(huge);
    ahpa_arena_free(arena);
}
END_TEST

struct attrs_case {
    const char *method, *path;
    bool watch;
    bool resource;
    const char *verb, *group, *version, *resource_name, *sub, *ns, *name;
};

static const struct attrs_case attrs_cases[] = {
    {"GET", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/gpu_utilization",
     false, true, "get", "custom.metrics.k8s.io", "v1beta1", "pods", "gpu_utilization",
     "default", "*"},
    {"GET", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/fib/gpu_utilization",
     false, true, "get", "custom.metrics.k8s.io", "v1beta2", "pods", "gpu_utilization",
     "default", "fib"},
    {"GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas",
     false, true, "list", "external.metrics.k8s.io", "v1beta1", "ahpa_desired_replicas", "",
     "default", ""},
    {"GET", "/apis/metrics.alibabacloud.com/v1beta1/namespaces/ns1/predictionsobserver/fib",
     false, true, "get", "metrics.alibabacloud.com", "v1beta1", "predictionsobserver", "", "ns1",
     "fib"},
    {"GET", "/apis/metrics.alibabacloud.com/v1beta1/namespaces/ns1/predictionsobserver", true,
     true, "watch", "metrics.alibabacloud.com", "v1beta1", "predictionsobserver", "", "ns1", ""},
    {"GET", "/apis/metrics.alibabacloud.com/v1beta1/predictionsobserver", false, true, "list",
     "metrics.alibabacloud.com", "v1beta1", "predictionsobserver", "", "", ""},
    {"GET", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/metrics/queue", false, true,
     "get", "custom.metrics.k8s.io", "v1beta1", "metrics", "", "default", "queue"},
    {"GET", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default", false, true, "get",
     "custom.metrics.k8s.io", "v1beta1", "namespaces", "", "default", "default"},
    {"HEAD", "/api/v1/namespaces/default/pods/p", false, true, "get", "", "v1", "pods", "",
     "default", "p"},
    {"GET", "/apis/g.example/v1/watch/namespaces/a/things", false, true, "watch", "g.example",
     "v1", "things", "", "a", ""},
    {"GET", "/apis/custom.metrics.k8s.io/v1beta1", false, false, "get", "", "", "", "", "", ""},
    {"GET", "/apis", false, false, "get", "", "", "", "", "", ""},
    {"GET", "/metrics", false, false, "get", "", "", "", "", "", ""},
    {"HEAD", "/openapi/v2", false, false, "head", "", "", "", "", "", ""},
    {"GET", "/", false, false, "get", "", "", "", "", "", ""},
};

START_TEST(request_attrs)
{
    const struct attrs_case *c = &attrs_cases[_i];
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    struct ahpa_auth_attrs a;
    ahpa_auth_request_attrs(c->method, c->path, c->watch, arena, &a);
    ck_assert_msg(a.resource_request == c->resource, "%s: resource_request", c->path);
    ck_assert_str_eq(a.verb, c->verb);
    ck_assert_str_eq(a.group, c->group);
    ck_assert_str_eq(a.version, c->version);
    ck_assert_str_eq(a.resource, c->resource_name);
    ck_assert_str_eq(a.subresource, c->sub);
    ck_assert_str_eq(a.ns, c->ns);
    ck_assert_str_eq(a.name, c->name);
    ck_assert_str_eq(a.path, c->path);
    ahpa_arena_free(arena);
}
END_TEST

START_TEST(forbidden_wording)
{
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    struct ahpa_auth_user u = {.name = "alice"};
    struct ahpa_auth_attrs a;
    ahpa_auth_request_attrs(
        "GET", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/gpu_utilization",
        false, arena, &a);
    ck_assert_str_eq(ahpa_auth_forbidden_message(&u, &a, "", arena),
                     "pods.custom.metrics.k8s.io \"*\" is forbidden: User \"alice\" cannot get "
                     "resource \"pods/gpu_utilization\" in API group \"custom.metrics.k8s.io\" "
                     "in the namespace \"default\"");
    ahpa_auth_request_attrs("GET", "/metrics", false, arena, &a);
    ck_assert_str_eq(ahpa_auth_forbidden_message(&u, &a, "no rule", arena),
                     "forbidden: User \"alice\" cannot get path \"/metrics\": no rule");
    ahpa_auth_request_attrs("GET", "/apis/metrics.alibabacloud.com/v1beta1/predictionsobserver",
                            false, arena, &a);
    ck_assert_str_eq(ahpa_auth_forbidden_message(&u, &a, NULL, arena),
                     "predictionsobserver.metrics.alibabacloud.com is forbidden: User \"alice\" "
                     "cannot list resource \"predictionsobserver\" in API group "
                     "\"metrics.alibabacloud.com\" at the cluster scope");
    ahpa_arena_free(arena);
}
END_TEST

static struct ahpa_auth_review *review(const char *key)
{
    return ahpa_auth__review_new(AHPA_AUTH__ACCESS, strdup(key), NULL);
}

START_TEST(table_expiry_and_bounds)
{
    struct ahpa_auth__table t;
    ahpa_auth__table_init(&t, 3);
    struct ahpa_auth_review *r[5];
    char key[8];
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        r[i] = review(key);
        ck_assert_int_eq(ahpa_auth__table_put(&t, r[i]), 0);
    }
    /* Full of reviews in flight: nothing can be evicted. */
    r[3] = review("k3");
    ck_assert_int_eq(ahpa_auth__table_put(&t, r[3]), -AHPA_EUNAVAIL);
    ck_assert_ptr_eq(ahpa_auth__table_get(&t, "k1", 0), r[1]);
    /* Answered ones expire and are the first evicted, oldest first. */
    r[1]->done = true;
    r[1]->expires_ns = 100;
    r[2]->done = true;
    r[2]->expires_ns = 1000;
    ck_assert_ptr_eq(ahpa_auth__table_get(&t, "k1", 99), r[1]);
    ck_assert_int_eq(ahpa_auth__table_put(&t, r[3]), 0); /* evicts k1, the oldest answered */
    ck_assert_ptr_null(ahpa_auth__table_get(&t, "k1", 0));
    ck_assert_ptr_eq(ahpa_auth__table_get(&t, "k0", 5000), r[0]); /* in flight: no expiry */
    ck_assert_ptr_eq(ahpa_auth__table_get(&t, "k2", 999), r[2]);
    ck_assert_ptr_null(ahpa_auth__table_get(&t, "k2", 1000));
    ck_assert_uint_eq(t.count, 2);
    r[4] = review("k4");
    ck_assert_int_eq(ahpa_auth__table_put(&t, r[4]), 0);
    ck_assert_uint_eq(t.count, 3);
    ahpa_auth__table_dispose(&t);
    for (int i = 0; i < 5; i++)
        ahpa_auth_review_release(r[i]);
}
END_TEST

START_TEST(token_key_hides_token)
{
    const char *aud[] = {"api"};
    char *k1 = ahpa_auth__token_key("secret-token", NULL, 0);
    char *k2 = ahpa_auth__token_key("secret-token", aud, 1);
    char *k3 = ahpa_auth__token_key("secret-token", NULL, 0);
    ck_assert_ptr_null(strstr(k1, "secret"));
    ck_assert_str_ne(k1, k2);
    ck_assert_str_eq(k1, k3);
    ck_assert_uint_eq(strlen(k1), 2 + 64);
    free(k1);
    free(k2);
    free(k3);
}
END_TEST

START_TEST(review_answers)
{
    struct ahpa_auth_review *rv = ahpa_auth__review_new(AHPA_AUTH__TOKEN, strdup("t"), NULL);
    json_t *resp = json_loads("{\"status\":{\"authenticated\":true,\"audiences\":[\"x\"],"
                              "\"user\":{\"username\":\"bob\",\"uid\":\"u1\","
                              "\"groups\":[\"g1\",\"g2\"],\"extra\":{\"k\":[\"v\"]}}}}",
                              0, NULL);
    ck_assert_int_eq(ahpa_auth__token_review_parse(resp, NULL, 0, rv, NULL), 0);
    ck_assert(rv->authenticated);
    ck_assert_str_eq(rv->user, "bob");
    ck_assert_uint_eq(rv->ngroups, 2);
    ck_assert_uint_eq(rv->nextra, 1);
    ahpa_auth_review_release(rv);
    /* Audiences configured and not met: not authenticated. */
    const char *aud[] = {"ahpa"};
    rv = ahpa_auth__review_new(AHPA_AUTH__TOKEN, strdup("t"), NULL);
    ck_assert_int_eq(ahpa_auth__token_review_parse(resp, aud, 1, rv, NULL), 0);
    ck_assert(!rv->authenticated);
    ahpa_auth_review_release(rv);
    json_decref(resp);

    rv = ahpa_auth__review_new(AHPA_AUTH__ACCESS, strdup("a"), NULL);
    resp = json_loads("{\"status\":{\"allowed\":false,\"denied\":true,\"reason\":\"no\\nway\"}}",
                      0, NULL);
    ck_assert_int_eq(ahpa_auth__access_review_parse(resp, rv, NULL), 0);
    ck_assert(!rv->allowed && rv->denied);
    ck_assert_str_eq(rv->reason, "no way");
    ahpa_auth_review_release(rv);
    json_decref(resp);
    resp = json_loads("{\"kind\":\"Status\"}", 0, NULL);
    rv = ahpa_auth__review_new(AHPA_AUTH__ACCESS, strdup("a"), NULL);
    ck_assert_int_eq(ahpa_auth__access_review_parse(resp, rv, NULL), -AHPA_EPARSE);
    ahpa_auth_review_release(rv);
    json_decref(resp);
}
END_TEST

START_TEST(access_review_body)
{
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    const char *groups[] = {"ops", "system:authenticated"};
    const char *vals[] = {"v"};
    struct ahpa_auth_extra extra = {"scopes", vals, 1};
    struct ahpa_auth_user u = {"alice", "", groups, 2, &extra, 1, "frontproxy"};
    struct ahpa_auth_attrs a;
    ahpa_auth_request_attrs(
        "GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas",
        false, arena, &a);
    json_t *b = ahpa_auth__access_review_body(&u, &a);
    char *s = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(s, "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":"
                        "\"SubjectAccessReview\",\"spec\":{\"extra\":{\"scopes\":[\"v\"]},"
                        "\"groups\":[\"ops\",\"system:authenticated\"],\"resourceAttributes\":"
                        "{\"group\":\"external.metrics.k8s.io\",\"name\":\"\",\"namespace\":"
                        "\"default\",\"resource\":\"ahpa_desired_replicas\",\"subresource\":\"\","
                        "\"verb\":\"list\",\"version\":\"v1beta1\"},\"user\":\"alice\"}}");
    free(s);
    json_decref(b);
    ahpa_arena_free(arena);
}
END_TEST

/* --- the authenticator against generated CAs ---------------------------------- */

struct pki {
    struct ahpa_tls_issuer *client_ca, *proxy_ca;
    char client_file[64], proxy_file[64];
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void pki_new(struct pki *p)
{
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &p->client_ca, NULL), 0);
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &p->proxy_ca, NULL), 0);
    snprintf(p->client_file, sizeof(p->client_file), "/tmp/ahpa-auth-client-%d.crt",
             (int)getpid());
    snprintf(p->proxy_file, sizeof(p->proxy_file), "/tmp/ahpa-auth-proxy-%d.crt", (int)getpid());
    write_file(p->client_file, ahpa_tls_issuer_cert_pem(p->client_ca));
    write_file(p->proxy_file, ahpa_tls_issuer_cert_pem(p->proxy_ca));
}

static void pki_free(struct pki *p)
{
    unlink(p->client_file);
    unlink(p->proxy_file);
    ahpa_tls_issuer_free(p->client_ca);
    ahpa_tls_issuer_free(p->proxy_ca);
}

static int authn(struct ahpa_auth *a, const struct ahpa_tls_issuer *ca, const char *cn,
                 const char *org, const struct ahpa_auth_header *h, size_t nh,
                 struct ahpa_arena *arena, struct ahpa_auth_user *u)
{
    struct ahpa_tls_pem_pair leaf = {0};
    struct ahpa_tls_der_chain chain = {0};
    if (ca != NULL) {
        ck_assert_int_eq(ahpa_tls_generate_client(ca, cn, &org, org ? 1 : 0, NULL, &leaf, NULL),
                         0);
        ck_assert_int_eq(ahpa_tls_der_chain_from_pem(leaf.cert_pem, strlen(leaf.cert_pem),
                                                     &chain, NULL),
                         0);
    }
    struct ahpa_auth_request r = {arena, h, nh, chain.der, chain.len, chain.n};
    struct ahpa_auth_review *pending = NULL;
    int rc = ahpa_auth_authenticate(a, &r, NULL, u, &pending, NULL);
    ck_assert_ptr_null(pending);
    ahpa_tls_der_chain_dispose(&chain);
    ahpa_tls_pem_pair_dispose(&leaf);
    return rc;
}

START_TEST(authenticate_certificates)
{
    struct pki p;
    pki_new(&p);
    const char *allowed[] = {"front-proxy-client"};
    struct ahpa_auth_options o = {
        .mode = AHPA_AUTH_MODE_ALWAYS_ALLOW, .anonymous = true,
        .client_ca_file = p.client_file, .requestheader_client_ca_file = p.proxy_file,
        .requestheader_allowed_names = allowed, .n_allowed_names = 1,
        .requestheader_username_headers = user_h, .n_username_headers = 1,
        .requestheader_group_headers = group_h, .n_group_headers = 1,
        .requestheader_extra_prefixes = extra_p, .n_extra_prefixes = 1,
    };
    struct ahpa_auth *a = ahpa_auth_new(&o, NULL);
    ck_assert_ptr_nonnull(a);
    char *cas = ahpa_auth_client_cas_pem(a);
    ck_assert_ptr_nonnull(strstr(cas, "BEGIN CERTIFICATE"));
    free(cas);
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    const struct ahpa_auth_header h[] = {{"X-Remote-User", "admin"},
                                         {"X-Remote-Group", "system:masters"}};
    struct ahpa_auth_user u;
    /* The proxy with its certificate: the headers are the user. */
    ck_assert_int_eq(authn(a, p.proxy_ca, "front-proxy-client", NULL, h, 2, arena, &u), 0);
    ck_assert_str_eq(u.name, "admin");
    ck_assert(ahpa_auth_user_in_group(&u, "system:masters"));
    ck_assert(ahpa_auth_user_in_group(&u, AHPA_AUTH_GROUP_AUTHENTICATED));
    /* The same chain again (a connection's next requests): the cached
     * verdict gives the same users, and other headers their own. */
    struct ahpa_tls_pem_pair leaf = {0};
    struct ahpa_tls_der_chain chain = {0};
    const char *orgs[] = {"team"};
    ck_assert_int_eq(ahpa_tls_generate_client(p.client_ca, "carol", orgs, 1, NULL, &leaf, NULL), 0);
    ck_assert_int_eq(ahpa_tls_der_chain_from_pem(leaf.cert_pem, strlen(leaf.cert_pem), &chain,
                                                 NULL), 0);
    for (int i = 0; i < 3; i++) {
        struct ahpa_auth_request r = {arena, h, 2, chain.der, chain.len, chain.n};
        struct ahpa_auth_review *pending = NULL;
        ck_assert_int_eq(ahpa_auth_authenticate(a, &r, NULL, &u, &pending, NULL), 0);
        ck_assert_str_eq(u.name, "carol");
        ck_assert(ahpa_auth_user_in_group(&u, "team"));
        ck_assert(!ahpa_auth_user_in_group(&u, "system:masters"));
    }
    ahpa_tls_der_chain_dispose(&chain);
    ahpa_tls_pem_pair_dispose(&leaf);
    /* No certificate: headers ignored, anonymous. */
    ck_assert_int_eq(authn(a, NULL, NULL, NULL, h, 2, arena, &u), 0);
    ck_assert_str_eq(u.name, AHPA_AUTH_USER_ANONYMOUS);
    ck_assert(!ahpa_auth_user_in_group(&u, "system:masters"));
    /* A CN not allowed, or a client certificate presented as the proxy: 401
     * for the first (no other authenticator takes it), the client user for
     * the second (headers ignored). */
    ck_assert_int_eq(authn(a, p.proxy_ca, "someone", NULL, h, 2, arena, &u),
                     -AHPA_EUNAUTHORIZED);
    ck_assert_int_eq(authn(a, p.client_ca, "front-proxy-client", "team", h, 2, arena, &u), 0);
    ck_assert_str_eq(u.name, "front-proxy-client");
    ck_assert_str_eq(u.method, "x509");
    ck_assert(ahpa_auth_user_in_group(&u, "team"));
    ck_assert(!ahpa_auth_user_in_group(&u, "system:masters"));
    /* A certificate of another CA: 401, never anonymous. */
    struct ahpa_tls_issuer *other;
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &other, NULL), 0);
    ck_assert_int_eq(authn(a, other, "front-proxy-client", NULL, h, 2, arena, &u),
                     -AHPA_EUNAUTHORIZED);
    ahpa_tls_issuer_free(other);
    ahpa_arena_free(arena);
    ahpa_auth_free(a);
    pki_free(&p);
}
END_TEST

/* --client-ca-file replaced on disk: the next reload trusts the new CA
 * only; a broken file keeps the current configuration. */
START_TEST(client_ca_file_reload)
{
    struct pki p;
    pki_new(&p);
    struct ahpa_auth_options o = {.mode = AHPA_AUTH_MODE_ALWAYS_ALLOW, .anonymous = true,
                                  .client_ca_file = p.client_file};
    struct ahpa_auth *a = ahpa_auth_new(&o, NULL);
    ck_assert_ptr_nonnull(a);
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    struct ahpa_auth_user u;
    ck_assert_int_eq(ahpa_auth_reload_files(a, NULL), 0); /* unchanged */
    ck_assert_int_eq(authn(a, p.client_ca, "alice", NULL, NULL, 0, arena, &u), 0);
    ck_assert_str_eq(u.name, "alice");
    write_file(p.client_file, ahpa_tls_issuer_cert_pem(p.proxy_ca)); /* rotated */
    ck_assert_int_eq(ahpa_auth_reload_files(a, NULL), 1);
    ck_assert_int_eq(authn(a, p.client_ca, "alice", NULL, NULL, 0, arena, &u), -AHPA_EUNAUTHORIZED);
    ck_assert_int_eq(authn(a, p.proxy_ca, "bob", NULL, NULL, 0, arena, &u), 0);
    ck_assert_str_eq(u.name, "bob");
    write_file(p.client_file, "not a certificate");
    struct ahpa_error err = {0};
    ck_assert_int_lt(ahpa_auth_reload_files(a, &err), 0);
    ck_assert_int_eq(authn(a, p.proxy_ca, "bob", NULL, NULL, 0, arena, &u), 0); /* kept */
    ahpa_arena_free(arena);
    ahpa_auth_free(a);
    pki_free(&p);
}
END_TEST

START_TEST(authorize_without_review)
{
    const char *paths[] = {"/healthz", "/readyz/*"};
    struct ahpa_auth_options o = {.mode = AHPA_AUTH_MODE_WEBHOOK};
    struct ahpa_error err = {0};
    /* Webhook without a reviewer: refused at construction. */
    ck_assert_ptr_null(ahpa_auth_new(&o, &err));
    ck_assert_int_eq(err.code, AHPA_ECONFIG);
    o.mode = AHPA_AUTH_MODE_ALWAYS_ALLOW;
    o.always_allow_paths = paths;
    o.n_always_allow_paths = 2;
    o.anonymous = false;
    struct ahpa_auth *a = ahpa_auth_new(&o, NULL);
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    struct ahpa_auth_user u;
    struct ahpa_auth_request r = {.arena = arena};
    struct ahpa_auth_review *pending;
    /* Anonymous off and no credentials: 401. */
    ck_assert_int_eq(ahpa_auth_authenticate(a, &r, NULL, &u, &pending, NULL),
                     -AHPA_EUNAUTHORIZED);
    struct ahpa_auth_attrs at;
    ahpa_auth_request_attrs("GET", "/metrics", false, arena, &at);
    const char *groups[] = {"x"};
    struct ahpa_auth_user bob = {"bob", "", groups, 1, NULL, 0, "token"};
    const char *reason;
    ck_assert_int_eq(ahpa_auth_authorize(a, &bob, &at, arena, NULL, &pending, &reason, NULL), 0);
    ahpa_auth_free(a);
    ahpa_arena_free(arena);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("auth");
    tcase_add_test(tc, frontproxy_basic);
    tcase_add_test(tc, frontproxy_no_user);
    tcase_add_test(tc, frontproxy_hostile);
    tcase_add_loop_test(tc, request_attrs, 0, sizeof(attrs_cases) / sizeof(attrs_cases[0]));
    tcase_add_test(tc, forbidden_wording);
    tcase_add_test(tc, table_expiry_and_bounds);
    tcase_add_test(tc, token_key_hides_token);
    tcase_add_test(tc, review_answers);
    tcase_add_test(tc, access_review_body);
    tcase_add_test(tc, authenticate_certificates);
    tcase_add_test(tc, client_ca_file_reload);
    tcase_add_test(tc, authorize_without_review);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    ahpa_auth_test_reviews(s);
    return s;
}
