/* Certificate generation: a self-signed CA and the leaves it signs. */
#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "ahpa/tls.h"
#include "tls_int.h"

struct ahpa_tls_issuer {
    X509 *cert;
    EVP_PKEY *key;
    char *cert_pem;
};

struct gen_params {
    int64_t now_s;
    int64_t days;
};

static struct gen_params gen_params(const struct ahpa_tls_gen_options *opt)
{
    struct gen_params p = {
        .now_s = opt && opt->now_s ? opt->now_s : (int64_t)time(NULL),
        .days = opt && opt->valid_days > 0 ? opt->valid_days : AHPA_TLS_DEFAULT_VALID_DAYS,
    };
    return p;
}

static int new_key(EVP_PKEY **out, struct ahpa_error *err)
{
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!*out)
        return ahpa_tls__ossl_error(err, AHPA_EINTERNAL, "generating an EC P-256 key");
    return 0;
}

/* 128 random bits; an unsigned big number, so the DER INTEGER stays
 * positive (a leading zero byte is added when the top bit is set). */
static int set_serial(X509 *x, struct ahpa_error *err)
{
    unsigned char raw[16];
    do {
        if (RAND_bytes(raw, sizeof(raw)) != 1)
            return ahpa_tls__ossl_error(err, AHPA_EINTERNAL, "random serial");
    } while (raw[0] == 0 && raw[1] == 0); /* keep it 15+ bytes and non-zero */
    BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    OPENSSL_cleanse(raw, sizeof(raw));
    return ok ? 0 : ahpa_tls__ossl_error(err, AHPA_EINTERNAL, "setting the serial");
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value,
                   struct ahpa_error *err)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (!ok)
        return ahpa_tls__ossl_error(err, AHPA_EINTERNAL, "extension %s=%s",
                                    OBJ_nid2sn(nid), value);
    return 0;
}

/* Version, serial, names, validity and public key. `issuer` NULL means
 * self-signed. */
static int cert_begin(X509 *x, const X509_NAME *subject, X509 *issuer, EVP_PKEY *key,
                      struct gen_params p, struct ahpa_error *err)
{
    int rc = set_serial(x, err);
    if (rc < 0)
        return rc;
    const X509_NAME *iname = issuer ? X509_get_subject_name(issuer) : subject;
    if (!X509_set_version(x, X509_VERSION_3) || !X509_set_subject_name(x, subject) ||
        !X509_set_issuer_name(x, iname) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(p.now_s - AHPA_TLS_BACKDATE_S)) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(p.now_s + p.days * 86400)) ||
        !X509_set_pubkey(x, key))
        return ahpa_tls__ossl_error(err, AHPA_EINTERNAL, "building a certificate");
    return 0;
}

static int sign(X509 *x, EVP_PKEY *key, struct ahpa_error *err)
{
    if (X509_sign(x, key, EVP_sha256()) <= 0)
        return ahpa_tls__ossl_error(err, AHPA_EINTERNAL, "signing a certificate");
    return 0;
}

static int name_cn(const char *cn, const char *const *orgs, size_t n_orgs,
                   X509_NAME **out, struct ahpa_error *err)
{
    X509_NAME *name = X509_NAME_new();
    if (!name)
        ahpa_oom(0);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n_orgs; i++)
        if (!orgs[i] || !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                                    (const unsigned char *)orgs[i], -1, -1, 0))
            rc = ahpa_tls__ossl_error(err, AHPA_EINVAL, "organization %zu", i + 1);
    if (rc == 0 && !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                               (const unsigned char *)cn, -1, -1, 0))
        rc = ahpa_tls__ossl_error(err, AHPA_EINVAL, "common name \"%.64s\"", cn);
    if (rc < 0)
        X509_NAME_free(name);
    else
        *out = name;
    return rc;
}

void ahpa_tls_pem_pair_dispose(struct ahpa_tls_pem_pair *p)
{
    if (!p)
        return;
    free(p->cert_pem);
    ahpa_tls__free_secret(p->key_pem);
    p->cert_pem = NULL;
    p->key_pem = NULL;
}

void ahpa_tls_issuer_free(struct ahpa_tls_issuer *ca)
{
    if (!ca)
        return;
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca->cert_pem);
    free(ca);
}

const char *ahpa_tls_issuer_cert_pem(const struct ahpa_tls_issuer *ca)
{
    return ca->cert_pem;
}

void ahpa_tls_issuer_to_pem(const struct ahpa_tls_issuer *ca, struct ahpa_tls_pem_pair *out)
{
    out->cert_pem = ahpa_strdup(ca->cert_pem);
    out->key_pem = ahpa_tls__key_pem(ca->key);
}

/* A CA certificate: self-signed when `parent` is NULL, else signed by it
 * (with an authority key identifier). */
static int ca_build(X509 *x, EVP_PKEY *key, const struct ahpa_tls_issuer *parent,
                    const char *cn, struct gen_params p, struct ahpa_error *err)
{
    X509 *issuer = parent ? parent->cert : x;
    X509_NAME *name = NULL;
    int rc = name_cn(cn, NULL, 0, &name, err);
    if (rc < 0)
        return rc;
    rc = cert_begin(x, name, parent ? parent->cert : NULL, key, p, err);
    X509_NAME_free(name);
    if (rc == 0)
        rc = add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE", err);
    if (rc == 0)
        rc = add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign", err);
    if (rc == 0)
        rc = add_ext(x, issuer, NID_subject_key_identifier, "hash", err);
    if (rc == 0 && parent)
        rc = add_ext(x, issuer, NID_authority_key_identifier, "keyid:always", err);
    if (rc == 0)
        rc = sign(x, parent ? parent->key : key, err);
    return rc;
}

static int issuer_new(const struct ahpa_tls_issuer *parent, const char *cn,
                      const struct ahpa_tls_gen_options *opt, struct ahpa_tls_issuer **out,
                      struct ahpa_error *err)
{
    EVP_PKEY *key = NULL;
    int rc = new_key(&key, err);
    if (rc < 0)
        return rc;
    X509 *x = X509_new();
    if (!x)
        ahpa_oom(0);
    rc = ca_build(x, key, parent, cn, gen_params(opt), err);
    if (rc < 0) {
        X509_free(x);
        EVP_PKEY_free(key);
        return rc;
    }
    struct ahpa_tls_issuer *ca = ahpa_calloc(1, sizeof(*ca));
    ca->cert = x;
    ca->key = key;
    ca->cert_pem = ahpa_tls__cert_pem(x);
    *out = ca;
    return 0;
}

int ahpa_tls_issuer_generate(const struct ahpa_tls_gen_options *opt,
                             struct ahpa_tls_issuer **out, struct ahpa_error *err)
{
    *out = NULL;
    char cn[64];
    snprintf(cn, sizeof(cn), "ahpa-metrics-adapter-ca@%lld", (long long)gen_params(opt).now_s);
    return issuer_new(NULL, cn, opt, out, err);
}

int ahpa_tls_issuer_generate_sub(const struct ahpa_tls_issuer *parent, const char *cn,
                                 const struct ahpa_tls_gen_options *opt,
                                 struct ahpa_tls_issuer **out, struct ahpa_error *err)
{
    *out = NULL;
    if (!parent || !cn || !*cn)
        return ahpa_error_set(err, AHPA_EINVAL, "intermediate CA: parent and CN needed");
    return issuer_new(parent, cn, opt, out, err);
}

int ahpa_tls_issuer_from_pem(const char *cert_pem, const char *key_pem,
                             struct ahpa_tls_issuer **out, struct ahpa_error *err)
{
    *out = NULL;
    STACK_OF(X509) *certs = NULL;
    EVP_PKEY *key = NULL;
    int rc = ahpa_tls__parse_certs("CA", "certificate", cert_pem, strlen(cert_pem),
                                   &certs, err);
    if (rc == 0)
        rc = ahpa_tls__parse_key("CA", "key", key_pem, strlen(key_pem), &key, err);
    X509 *x = certs ? sk_X509_value(certs, 0) : NULL;
    if (rc == 0 && X509_check_ca(x) < 1)
        rc = ahpa_error_set(err, AHPA_EINVAL, "CA certificate: not a CA");
    if (rc == 0 && X509_check_private_key(x, key) != 1)
        rc = ahpa_tls__ossl_error(err, AHPA_EINVAL, "CA key does not match its certificate");
    if (rc == 0) {
        struct ahpa_tls_issuer *ca = ahpa_calloc(1, sizeof(*ca));
        ca->cert = X509_dup(x);
        ca->key = key;
        ca->cert_pem = ahpa_tls__cert_pem(x);
        if (!ca->cert)
            ahpa_oom(0);
        key = NULL;
        *out = ca;
    }
    EVP_PKEY_free(key);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

/* Letters, digits, '-', '.', '_' and '*' (wildcards), 1..253 bytes. */
static bool dns_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '*';
        if (!ok)
            return false;
    }
    return true;
}

static bool looks_like_ipv4(const char *s)
{
    return s[0] && strspn(s, "0123456789.") == strlen(s);
}

static bool san_present(const GENERAL_NAMES *names, int type, const unsigned char *v,
                        int len)
{
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        int t;
        const ASN1_STRING *val = GENERAL_NAME_get0_value(gn, &t);
        if (t != type || ASN1_STRING_length(val) != len)
            continue;
        const unsigned char *d = ASN1_STRING_get0_data(val);
        if (type == GEN_DNS ? strncasecmp((const char *)d, (const char *)v, (size_t)len) == 0
                            : memcmp(d, v, (size_t)len) == 0)
            return true;
    }
    return false;
}

static void san_push(GENERAL_NAMES *names, int type, const unsigned char *v, int len)
{
    if (san_present(names, type, v, len))
        return;
    ASN1_STRING *str = type == GEN_DNS ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    if (!str || !gn || !ASN1_STRING_set(str, v, len))
        ahpa_oom(0);
    GENERAL_NAME_set0_value(gn, type, str);
    if (!sk_GENERAL_NAME_push(names, gn))
        ahpa_oom(0);
}

/* Adds one SAN, detecting its kind: a string with ':' must be an IPv6
 * literal, one of only digits and dots an IPv4 literal, anything else a
 * DNS name. */
static int san_add(GENERAL_NAMES *names, const char *s, struct ahpa_error *err)
{
    unsigned char ip[16];
    if (!s)
        return ahpa_error_set(err, AHPA_EINVAL, "SAN: NULL entry");
    if (strchr(s, ':')) {
        if (inet_pton(AF_INET6, s, ip) != 1)
            return ahpa_error_set(err, AHPA_EINVAL, "SAN \"%.64s\": not an IPv6 address", s);
        san_push(names, GEN_IPADD, ip, 16);
    } else if (looks_like_ipv4(s)) {
        if (inet_pton(AF_INET, s, ip) != 1)
            return ahpa_error_set(err, AHPA_EINVAL, "SAN \"%.64s\": not an IPv4 address", s);
        san_push(names, GEN_IPADD, ip, 4);
    } else {
        if (!dns_name_ok(s))
            return ahpa_error_set(err, AHPA_EINVAL,
                                  "SAN \"%.64s\": not a DNS name or IP address", s);
        san_push(names, GEN_DNS, (const unsigned char *)s, (int)strlen(s));
    }
    return 0;
}

static int add_sans(X509 *x, const char *const *extra, size_t n, struct ahpa_error *err)
{
    GENERAL_NAMES *names = GENERAL_NAMES_new();
    if (!names)
        ahpa_oom(0);
    int rc = san_add(names, "localhost", err);
    if (rc == 0)
        rc = san_add(names, "127.0.0.1", err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = san_add(names, extra[i], err);
    if (rc == 0 && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) != 1)
        rc = ahpa_tls__ossl_error(err, AHPA_EINTERNAL, "subjectAltName");
    GENERAL_NAMES_free(names);
    return rc;
}

struct leaf_spec {
    const char *cn;
    const char *const *orgs;
    size_t n_orgs;
    const char *eku;
    bool serving;
    const char *const *sans;
    size_t n_sans;
};

static int leaf_build(X509 *x, const struct ahpa_tls_issuer *ca, EVP_PKEY *key,
                      const struct leaf_spec *spec, struct gen_params p,
                      struct ahpa_error *err)
{
    X509_NAME *name = NULL;
    int rc = name_cn(spec->cn, spec->orgs, spec->n_orgs, &name, err);
    if (rc < 0)
        return rc;
    rc = cert_begin(x, name, ca->cert, key, p, err);
    X509_NAME_free(name);
    if (rc == 0)
        rc = add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE", err);
    if (rc == 0)
        rc = add_ext(x, ca->cert, NID_key_usage,
                     "critical,digitalSignature,keyEncipherment", err);
    if (rc == 0)
        rc = add_ext(x, ca->cert, NID_ext_key_usage, spec->eku, err);
    if (rc == 0)
        rc = add_ext(x, ca->cert, NID_subject_key_identifier, "hash", err);
    if (rc == 0)
        rc = add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always", err);
    if (rc == 0 && spec->serving)
        rc = add_sans(x, spec->sans, spec->n_sans, err);
    if (rc == 0)
        rc = sign(x, ca->key, err);
    return rc;
}

static int leaf_issue(const struct ahpa_tls_issuer *ca, const struct leaf_spec *spec,
                      const struct ahpa_tls_gen_options *opt,
                      struct ahpa_tls_pem_pair *out, struct ahpa_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!ca)
        return ahpa_error_set(err, AHPA_EINVAL, "no issuing CA");
    EVP_PKEY *key = NULL;
    int rc = new_key(&key, err);
    if (rc < 0)
        return rc;
    X509 *x = X509_new();
    if (!x)
        ahpa_oom(0);
    rc = leaf_build(x, ca, key, spec, gen_params(opt), err);
    if (rc == 0) {
        out->cert_pem = ahpa_tls__cert_pem(x);
        out->key_pem = ahpa_tls__key_pem(key);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

int ahpa_tls_generate_serving(const struct ahpa_tls_issuer *ca,
                              const char *const *extra_sans, size_t n,
                              const struct ahpa_tls_gen_options *opt,
                              struct ahpa_tls_pem_pair *out, struct ahpa_error *err)
{
    struct leaf_spec spec = {
        .cn = AHPA_TLS_SERVING_CN,
        .eku = "serverAuth",
        .serving = true,
        .sans = extra_sans,
        .n_sans = n,
    };
    return leaf_issue(ca, &spec, opt, out, err);
}

int ahpa_tls_generate_client(const struct ahpa_tls_issuer *ca, const char *cn,
                             const char *const *orgs, size_t n_orgs,
                             const struct ahpa_tls_gen_options *opt,
                             struct ahpa_tls_pem_pair *out, struct ahpa_error *err)
{
    if (!cn || !*cn) {
        memset(out, 0, sizeof(*out));
        return ahpa_error_set(err, AHPA_EINVAL, "client certificate: empty common name");
    }
    struct leaf_spec spec = {.cn = cn, .orgs = orgs, .n_orgs = n_orgs, .eku = "clientAuth"};
    return leaf_issue(ca, &spec, opt, out, err);
}

int ahpa_tls_service_names(const char *svc, const char *ns,
                           char *out[AHPA_TLS_SERVICE_NAMES], struct ahpa_error *err)
{
    for (int i = 0; i < AHPA_TLS_SERVICE_NAMES; i++)
        out[i] = NULL;
    if (!svc || !ahpa_str_is_dns_label(svc))
        return ahpa_error_set(err, AHPA_EINVAL, "service name \"%.64s\": not a DNS label",
                              svc ? svc : "");
    if (!ns || !ahpa_str_is_dns_label(ns))
        return ahpa_error_set(err, AHPA_EINVAL, "namespace \"%.64s\": not a DNS label",
                              ns ? ns : "");
    static const char *const suffixes[AHPA_TLS_SERVICE_NAMES] = {
        NULL, "", ".svc", ".svc.cluster.local"};
    size_t cap = strlen(svc) + strlen(ns) + 32;
    for (int i = 0; i < AHPA_TLS_SERVICE_NAMES; i++) {
        out[i] = ahpa_malloc(cap);
        if (!suffixes[i])
            snprintf(out[i], cap, "%s", svc);
        else
            snprintf(out[i], cap, "%s.%s%s", svc, ns, suffixes[i]);
    }
    return 0;
}

void ahpa_tls_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
}
