/* CA bundles, chain verification and the identity of a client certificate. */
#include <arpa/inet.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/tls.h"
#include "tls_int.h"

/* Longer peer chains are refused before any signature work. */
#define MAX_CHAIN 16

struct ahpa_tls_ca {
    STACK_OF(X509) *certs;
    X509_STORE *store;
    char **subjects;
    char *pem;
};

void ahpa_tls_ca_free(struct ahpa_tls_ca *ca)
{
    if (!ca)
        return;
    ahpa_tls_strv_free(ca->subjects, (size_t)sk_X509_num(ca->certs));
    free(ca->subjects);
    sk_X509_pop_free(ca->certs, X509_free);
    X509_STORE_free(ca->store);
    free(ca->pem);
    free(ca);
}

static int ca_from_text(const char *what, const char *name, const char *pem, size_t len,
                        struct ahpa_tls_ca **out, struct ahpa_error *err)
{
    *out = NULL;
    STACK_OF(X509) *certs = NULL;
    int rc = ahpa_tls__parse_certs(what, name, pem, len, &certs, err);
    if (rc < 0)
        return rc;
    struct ahpa_tls_ca *ca = ahpa_calloc(1, sizeof(*ca));
    ca->certs = certs;
    ca->store = X509_STORE_new();
    if (!ca->store)
        ahpa_oom(0);
    int n = sk_X509_num(certs);
    ca->subjects = ahpa_calloc((size_t)n, sizeof(char *));
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(certs, i);
        ca->subjects[i] = ahpa_tls__name_text(X509_get_subject_name(x));
        /* A duplicate certificate is not an error. */
        if (!X509_STORE_add_cert(ca->store, x))
            ERR_clear_error();
    }
    ca->pem = ahpa_tls__certs_pem(certs);
    *out = ca;
    return 0;
}

int ahpa_tls_ca_load_pem(const char *pem, size_t len, struct ahpa_tls_ca **out,
                         struct ahpa_error *err)
{
    if (!pem) {
        *out = NULL;
        return ahpa_error_set(err, AHPA_EINVAL, "CA bundle: NULL PEM text");
    }
    if (len > AHPA_TLS_MAX_FILE_BYTES) {
        *out = NULL;
        return ahpa_error_set(err, AHPA_ETOOBIG, "CA bundle: larger than %d bytes",
                              AHPA_TLS_MAX_FILE_BYTES);
    }
    return ca_from_text("CA bundle", "PEM", pem, len, out, err);
}

int ahpa_tls_ca_load_file(const char *path, struct ahpa_tls_ca **out,
                          struct ahpa_error *err)
{
    *out = NULL;
    struct ahpa_tls__file f;
    int rc = ahpa_tls__read_file("CA file", path, AHPA_TLS_MAX_FILE_BYTES, &f, err);
    if (rc < 0)
        return rc;
    rc = ca_from_text("CA file", path, f.data, f.len, out, err);
    ahpa_tls__file_dispose(&f);
    return rc;
}

size_t ahpa_tls_ca_count(const struct ahpa_tls_ca *ca)
{
    return (size_t)sk_X509_num(ca->certs);
}

const char *ahpa_tls_ca_subject(const struct ahpa_tls_ca *ca, size_t i)
{
    return i < ahpa_tls_ca_count(ca) ? ca->subjects[i] : NULL;
}

const char *ahpa_tls_ca_pem(const struct ahpa_tls_ca *ca)
{
    return ca->pem;
}

void ahpa_tls_identity_dispose(struct ahpa_tls_identity *id)
{
    if (!id)
        return;
    free(id->cn);
    ahpa_tls_strv_free(id->orgs, id->n_orgs);
    free(id->orgs);
    memset(id, 0, sizeof(*id));
}

/* UTF-8 copy of a name entry; NULL when it cannot be converted or holds a
 * NUL byte (which would let "admin\0.evil" pass as "admin"). */
static char *entry_text(const X509_NAME_ENTRY *e)
{
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    char *s = NULL;
    if (n >= 0 && !memchr(utf8, '\0', (size_t)n))
        s = ahpa_strndup((const char *)utf8, (size_t)n);
    OPENSSL_free(utf8);
    return s;
}

/* As Go's pkix.Name: the last CN wins, every O in order. */
static int identity_of(X509 *leaf, struct ahpa_tls_identity *id, struct ahpa_error *err)
{
    memset(id, 0, sizeof(*id));
    const X509_NAME *name = X509_get_subject_name(leaf);
    int n = X509_NAME_entry_count(name);
    id->orgs = ahpa_calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        if (nid != NID_commonName && nid != NID_organizationName)
            continue;
        char *s = entry_text(e);
        if (!s) {
            ERR_clear_error();
            ahpa_tls_identity_dispose(id);
            return ahpa_error_set(err, AHPA_EUNAUTHORIZED,
                                  "client certificate: malformed %s in subject",
                                  nid == NID_commonName ? "CN" : "O");
        }
        if (nid == NID_commonName) {
            free(id->cn);
            id->cn = s;
        } else {
            id->orgs[id->n_orgs++] = s;
        }
    }
    if (!id->cn)
        id->cn = ahpa_strdup("");
    return 0;
}

static bool is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int set_params(X509_STORE_CTX *ctx, const struct ahpa_tls_verify_options *opt)
{
    int purpose = opt->purpose == AHPA_TLS_PURPOSE_CLIENT ? X509_PURPOSE_SSL_CLIENT
                                                          : X509_PURPOSE_SSL_SERVER;
    if (!X509_STORE_CTX_set_purpose(ctx, purpose))
        return 0;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (opt->at_s)
        X509_VERIFY_PARAM_set_time(param, (time_t)opt->at_s);
    if (!opt->host)
        return 1;
    if (is_ip_literal(opt->host))
        return X509_VERIFY_PARAM_set1_ip_asc(param, opt->host);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(param, opt->host, 0);
}

static int verify_stack(STACK_OF(X509) *chain, const struct ahpa_tls_ca *ca,
                        const struct ahpa_tls_verify_options *opt,
                        struct ahpa_tls_identity *id, struct ahpa_error *err)
{
    if (!ca || !opt)
        return ahpa_error_set(err, AHPA_EINVAL, "verify: no CA or options");
    X509 *leaf = sk_X509_value(chain, 0);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx)
        ahpa_oom(0);
    int rc = 0;
    if (!X509_STORE_CTX_init(ctx, ca->store, leaf, chain) || !set_params(ctx, opt)) {
        rc = ahpa_tls__ossl_error(err, AHPA_EINVAL, "verify: bad parameters");
    } else if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        int depth = X509_STORE_CTX_get_error_depth(ctx);
        ERR_clear_error();
        rc = ahpa_error_set(err, AHPA_EUNAUTHORIZED,
                            "certificate verify failed at depth %d: %s", depth,
                            X509_verify_cert_error_string(e));
    }
    X509_STORE_CTX_free(ctx);
    if (rc == 0 && id)
        rc = identity_of(leaf, id, err);
    return rc;
}

int ahpa_tls_verify_chain_pem(const char *pem, size_t len, const struct ahpa_tls_ca *ca,
                              const struct ahpa_tls_verify_options *opt,
                              struct ahpa_tls_identity *id, struct ahpa_error *err)
{
    if (id)
        memset(id, 0, sizeof(*id));
    if (!pem)
        return ahpa_error_set(err, AHPA_EINVAL, "verify: NULL chain");
    if (len > AHPA_TLS_MAX_FILE_BYTES)
        return ahpa_error_set(err, AHPA_ETOOBIG, "certificate chain: too large");
    STACK_OF(X509) *chain = NULL;
    int rc = ahpa_tls__parse_certs("certificate chain", "PEM", pem, len, &chain, err);
    if (rc == 0 && sk_X509_num(chain) > MAX_CHAIN)
        rc = ahpa_error_set(err, AHPA_EPARSE, "certificate chain: over %d certificates",
                            MAX_CHAIN);
    if (rc == 0)
        rc = verify_stack(chain, ca, opt, id, err);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

static int parse_der(const unsigned char *const *der, const size_t *len, size_t n,
                     STACK_OF(X509) **out, struct ahpa_error *err)
{
    *out = NULL;
    if (!der || !len || n == 0)
        return ahpa_error_set(err, AHPA_EPARSE, "certificate chain: empty");
    if (n > MAX_CHAIN)
        return ahpa_error_set(err, AHPA_EPARSE, "certificate chain: over %d certificates",
                              MAX_CHAIN);
    STACK_OF(X509) *chain = sk_X509_new_null();
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = der[i];
        X509 *x = p && len[i] <= LONG_MAX ? d2i_X509(NULL, &p, (long)len[i]) : NULL;
        if (!x || p != der[i] + len[i]) {
            X509_free(x);
            sk_X509_pop_free(chain, X509_free);
            return ahpa_tls__ossl_error(err, AHPA_EPARSE,
                                        "certificate chain: certificate %zu is not DER", i + 1);
        }
        if (!sk_X509_push(chain, x))
            ahpa_oom(0);
    }
    *out = chain;
    return 0;
}

int ahpa_tls_verify_chain_der(const unsigned char *const *der, const size_t *len,
                              size_t n, const struct ahpa_tls_ca *ca,
                              const struct ahpa_tls_verify_options *opt,
                              struct ahpa_tls_identity *id, struct ahpa_error *err)
{
    if (id)
        memset(id, 0, sizeof(*id));
    STACK_OF(X509) *chain = NULL;
    int rc = parse_der(der, len, n, &chain, err);
    if (rc == 0)
        rc = verify_stack(chain, ca, opt, id, err);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

int ahpa_tls_identity_from_pem(const char *pem, size_t len, struct ahpa_tls_identity *id,
                               struct ahpa_error *err)
{
    memset(id, 0, sizeof(*id));
    if (!pem)
        return ahpa_error_set(err, AHPA_EINVAL, "identity: NULL PEM text");
    STACK_OF(X509) *chain = NULL;
    int rc = ahpa_tls__parse_certs("certificate", "PEM", pem, len, &chain, err);
    if (rc == 0)
        rc = identity_of(sk_X509_value(chain, 0), id, err);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

void ahpa_tls_der_chain_dispose(struct ahpa_tls_der_chain *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        OPENSSL_free((void *)(uintptr_t)c->der[i]);
    free(c->der);
    free(c->len);
    memset(c, 0, sizeof(*c));
}

int ahpa_tls_der_chain_from_pem(const char *pem, size_t len, struct ahpa_tls_der_chain *out,
                                struct ahpa_error *err)
{
    memset(out, 0, sizeof(*out));
    STACK_OF(X509) *chain = NULL;
    int rc = ahpa_tls__parse_certs("certificate chain", "PEM", pem, len, &chain, err);
    if (rc < 0)
        return rc;
    size_t n = (size_t)sk_X509_num(chain);
    out->der = ahpa_calloc(n, sizeof(*out->der));
    out->len = ahpa_calloc(n, sizeof(*out->len));
    for (size_t i = 0; i < n; i++) {
        unsigned char *d = NULL;
        int dl = i2d_X509(sk_X509_value(chain, (int)i), &d);
        if (dl <= 0)
            ahpa_oom(0);
        out->der[i] = d;
        out->len[i] = (size_t)dl;
        out->n = i + 1;
    }
    sk_X509_pop_free(chain, X509_free);
    return 0;
}
