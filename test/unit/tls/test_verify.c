/* Chain verification (PEM and DER), purposes, host names, CA bundles and
 * the CN/O identity of client certificates. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ahpa/error.h"
#include "ahpa/tls.h"
#include "tls_test.h"
#include "unit.h"

struct fixture {
    struct ahpa_tls_issuer *ca;
    struct ahpa_tls_ca *bundle;
    struct ahpa_tls_pem_pair serving;
    struct ahpa_tls_pem_pair client;
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &f->ca, NULL), 0);
    const char *pem = ahpa_tls_issuer_cert_pem(f->ca);
    ck_assert_int_eq(ahpa_tls_ca_load_pem(pem, strlen(pem), &f->bundle, NULL), 0);
    const char *sans[] = {"ahpa.example.com", "10.1.2.3", "fd00::1"};
    ck_assert_int_eq(ahpa_tls_generate_serving(f->ca, sans, 3, NULL, &f->serving, NULL), 0);
    const char *orgs[] = {"system:masters", "dev team"};
    ck_assert_int_eq(ahpa_tls_generate_client(f->ca, "jane", orgs, 2, NULL, &f->client, NULL),
                     0);
}

static void fixture_dispose(struct fixture *f)
{
    ahpa_tls_pem_pair_dispose(&f->serving);
    ahpa_tls_pem_pair_dispose(&f->client);
    ahpa_tls_ca_free(f->bundle);
    ahpa_tls_issuer_free(f->ca);
}

static int verify(const char *pem, const struct ahpa_tls_ca *ca, enum ahpa_tls_purpose p,
                  const char *host, struct ahpa_error *err)
{
    struct ahpa_tls_verify_options vo = {.purpose = p, .host = host};
    return ahpa_tls_verify_chain_pem(pem, strlen(pem), ca, &vo, NULL, err);
}

START_TEST(serving_verifies_for_its_names_only)
{
    struct fixture f;
    fixture_init(&f);
    const char *good[] = {NULL, "localhost", "127.0.0.1", "ahpa.example.com",
                          "AHPA.Example.COM", "10.1.2.3", "fd00::1", "fd00:0::0:1"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct ahpa_error err = {0};
        ck_assert_msg(verify(f.serving.cert_pem, f.bundle, AHPA_TLS_PURPOSE_SERVER, good[i],
                             &err) == 0,
                      "%s: %s", good[i] ? good[i] : "(no host)", err.msg);
    }
    const char *bad[] = {"other.example.com", "example.com", "10.1.2.4", "::1",
                         "ahpa-metrics-adapter", "127.0.0.2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ahpa_error err = {0};
        ck_assert_msg(verify(f.serving.cert_pem, f.bundle, AHPA_TLS_PURPOSE_SERVER, bad[i],
                             &err) == -AHPA_EUNAUTHORIZED,
                      "%s accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "mismatch"));
    }
    /* A serverAuth-only certificate is no client certificate. */
    struct ahpa_error err = {0};
    ck_assert_int_eq(verify(f.serving.cert_pem, f.bundle, AHPA_TLS_PURPOSE_CLIENT, NULL, &err),
                     -AHPA_EUNAUTHORIZED);
    ck_assert_msg(strstr(err.msg, "purpose") != NULL, "%s", err.msg);
    fixture_dispose(&f);
}
END_TEST

START_TEST(validity_window_enforced)
{
    struct fixture f;
    fixture_init(&f);
    int64_t now = (int64_t)time(NULL);
    struct ahpa_tls_verify_options vo = {.purpose = AHPA_TLS_PURPOSE_SERVER};
    const char *pem = f.serving.cert_pem;
    struct ahpa_error err = {0};
    vo.at_s = now + 364 * 86400;
    ck_assert_int_eq(ahpa_tls_verify_chain_pem(pem, strlen(pem), f.bundle, &vo, NULL, &err), 0);
    vo.at_s = now + 366 * 86400;
    ck_assert_int_eq(ahpa_tls_verify_chain_pem(pem, strlen(pem), f.bundle, &vo, NULL, &err),
                     -AHPA_EUNAUTHORIZED);
    ck_assert_msg(strstr(err.msg, "expired") != NULL, "%s", err.msg);
    /* The backdating tolerates a clock 50 minutes behind, not 2 hours. */
    vo.at_s = now - 50 * 60;
    ck_assert_int_eq(ahpa_tls_verify_chain_pem(pem, strlen(pem), f.bundle, &vo, NULL, NULL), 0);
    vo.at_s = now - 2 * 3600;
    ck_assert_int_eq(ahpa_tls_verify_chain_pem(pem, strlen(pem), f.bundle, &vo, NULL, NULL),
                     -AHPA_EUNAUTHORIZED);
    fixture_dispose(&f);
}
END_TEST

static void assert_jane(const struct ahpa_tls_identity *id)
{
    ck_assert_str_eq(id->cn, "jane");
    ck_assert_uint_eq(id->n_orgs, 2);
    ck_assert_str_eq(id->orgs[0], "system:masters");
    ck_assert_str_eq(id->orgs[1], "dev team");
}

START_TEST(client_cert_identity_pem_and_der)
{
    struct fixture f;
    fixture_init(&f);
    struct ahpa_tls_verify_options vo = {.purpose = AHPA_TLS_PURPOSE_CLIENT};
    struct ahpa_tls_identity id;
    struct ahpa_error err = {0};
    const char *pem = f.client.cert_pem;
    ck_assert_int_eq(ahpa_tls_verify_chain_pem(pem, strlen(pem), f.bundle, &vo, &id, &err), 0);
    assert_jane(&id);
    ahpa_tls_identity_dispose(&id);

    struct ahpa_tls_der_chain der;
    ck_assert_int_eq(ahpa_tls_der_chain_from_pem(pem, strlen(pem), &der, NULL), 0);
    ck_assert_uint_eq(der.n, 1);
    ck_assert_int_eq(ahpa_tls_verify_chain_der(der.der, der.len, der.n, f.bundle, &vo, &id,
                                               &err),
                     0);
    assert_jane(&id);
    ahpa_tls_identity_dispose(&id);
    /* clientAuth only: not for serving. */
    vo.purpose = AHPA_TLS_PURPOSE_SERVER;
    ck_assert_int_eq(ahpa_tls_verify_chain_der(der.der, der.len, der.n, f.bundle, &vo, &id,
                                               NULL),
                     -AHPA_EUNAUTHORIZED);
    ck_assert_ptr_null(id.cn);
    ahpa_tls_identity_from_pem(pem, strlen(pem), &id, NULL);
    assert_jane(&id);
    ahpa_tls_identity_dispose(&id);
    ahpa_tls_der_chain_dispose(&der);
    fixture_dispose(&f);
}
END_TEST

START_TEST(foreign_ca_and_bad_der_rejected)
{
    struct fixture f, g;
    fixture_init(&f);
    fixture_init(&g);
    struct ahpa_error err = {0};
    ck_assert_int_eq(verify(f.client.cert_pem, g.bundle, AHPA_TLS_PURPOSE_CLIENT, NULL, &err),
                     -AHPA_EUNAUTHORIZED);
    ck_assert_msg(strstr(err.msg, "depth 0") != NULL, "%s", err.msg);

    struct ahpa_tls_verify_options vo = {.purpose = AHPA_TLS_PURPOSE_CLIENT};
    struct ahpa_tls_der_chain der;
    const char *pem = f.client.cert_pem;
    ck_assert_int_eq(ahpa_tls_der_chain_from_pem(pem, strlen(pem), &der, NULL), 0);
    /* One byte short, one byte of trailing junk, garbage, nothing. */
    size_t len = der.len[0] - 1;
    ck_assert_int_eq(ahpa_tls_verify_chain_der(der.der, &len, 1, f.bundle, &vo, NULL, NULL),
                     -AHPA_EPARSE);
    unsigned char *longer = malloc(der.len[0] + 1);
    memcpy(longer, der.der[0], der.len[0]);
    longer[der.len[0]] = 0;
    const unsigned char *lp[1] = {longer};
    len = der.len[0] + 1;
    ck_assert_int_eq(ahpa_tls_verify_chain_der(lp, &len, 1, f.bundle, &vo, NULL, NULL),
                     -AHPA_EPARSE);
    const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    const unsigned char *jp[1] = {junk};
    len = sizeof(junk);
    ck_assert_int_eq(ahpa_tls_verify_chain_der(jp, &len, 1, f.bundle, &vo, NULL, NULL),
                     -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_tls_verify_chain_der(jp, &len, 0, f.bundle, &vo, NULL, NULL),
                     -AHPA_EPARSE);
    free(longer);
    ahpa_tls_der_chain_dispose(&der);
    fixture_dispose(&f);
    fixture_dispose(&g);
}
END_TEST

START_TEST(ca_bundle_of_two)
{
    struct fixture f, g;
    fixture_init(&f);
    fixture_init(&g);
    const char *a = ahpa_tls_issuer_cert_pem(f.ca), *b = ahpa_tls_issuer_cert_pem(g.ca);
    size_t n = strlen(a) + strlen(b) + 1;
    char *both = malloc(n);
    snprintf(both, n, "%s%s", a, b);
    struct ahpa_tls_ca *ca = NULL;
    ck_assert_int_eq(ahpa_tls_ca_load_pem(both, strlen(both), &ca, NULL), 0);
    ck_assert_uint_eq(ahpa_tls_ca_count(ca), 2);
    ck_assert_str_eq(ahpa_tls_ca_pem(ca), both);
    ck_assert(strncmp(ahpa_tls_ca_subject(ca, 0), "CN=ahpa-metrics-adapter-ca@", 27) == 0);
    ck_assert(strncmp(ahpa_tls_ca_subject(ca, 1), "CN=ahpa-metrics-adapter-ca@", 27) == 0);
    ck_assert_ptr_null(ahpa_tls_ca_subject(ca, 2));
    ck_assert_int_eq(verify(f.client.cert_pem, ca, AHPA_TLS_PURPOSE_CLIENT, NULL, NULL), 0);
    ck_assert_int_eq(verify(g.client.cert_pem, ca, AHPA_TLS_PURPOSE_CLIENT, NULL, NULL), 0);
    ahpa_tls_ca_free(ca);

    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_tls_ca_load_pem("", 0, &ca, &err), -AHPA_EPARSE);
    ck_assert_ptr_null(ca);
    const char *bogus = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    ck_assert_int_eq(ahpa_tls_ca_load_pem(bogus, strlen(bogus), &ca, NULL), -AHPA_EPARSE);
    ck_assert_int_eq(ahpa_tls_ca_load_file("/nonexistent/ca.crt", &ca, NULL), -AHPA_ENOTFOUND);
    free(both);
    fixture_dispose(&f);
    fixture_dispose(&g);
}
END_TEST

/* A certificate whose CN is "admin\0.evil", signed by `ca`. */
static char *cert_with_nul_cn(const struct ahpa_tls_issuer *ca)
{
    struct ahpa_tls_pem_pair cap = {0};
    ahpa_tls_issuer_to_pem(ca, &cap);
    BIO *bio = BIO_new_mem_buf(cap.cert_pem, -1);
    X509 *cax = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    bio = BIO_new_mem_buf(cap.key_pem, -1);
    EVP_PKEY *cak = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ck_assert(cax && cak);
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    ck_assert_int_eq(X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING,
                                                (const unsigned char *)"admin\0.evil", 11, -1,
                                                0),
                     1);
    ck_assert_int_eq(X509_set_subject_name(x, name), 1);
    ck_assert_int_eq(X509_set_issuer_name(x, X509_get_subject_name(cax)), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    ck_assert_int_eq(X509_set_pubkey(x, cak), 1);
    ck_assert_int_gt(X509_sign(x, cak, EVP_sha256()), 0);
    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    char *pem = strndup(p, (size_t)n);
    BIO_free(bio);
    X509_NAME_free(name);
    X509_free(x);
    X509_free(cax);
    EVP_PKEY_free(cak);
    ahpa_tls_pem_pair_dispose(&cap);
    return pem;
}

START_TEST(cn_with_nul_refused)
{
    struct fixture f;
    fixture_init(&f);
    char *evil = cert_with_nul_cn(f.ca);
    struct ahpa_tls_identity eid;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_tls_identity_from_pem(evil, strlen(evil), &eid, &err),
                     -AHPA_EUNAUTHORIZED);
    ck_assert_ptr_null(eid.cn);
    ck_assert_ptr_nonnull(strstr(err.msg, "CN"));
    /* It does chain to the CA: only the identity step refuses it. */
    struct ahpa_tls_verify_options vo = {.purpose = AHPA_TLS_PURPOSE_CLIENT};
    ck_assert_int_eq(ahpa_tls_verify_chain_pem(evil, strlen(evil), f.bundle, &vo, NULL, NULL),
                     0);
    ck_assert_int_eq(ahpa_tls_verify_chain_pem(evil, strlen(evil), f.bundle, &vo, &eid, NULL),
                     -AHPA_EUNAUTHORIZED);
    free(evil);
    struct ahpa_tls_pem_pair c = {0};
    const char *orgs[] = {"a", "b", "c"};
    ck_assert_int_eq(ahpa_tls_generate_client(f.ca, "x", orgs, 0, NULL, &c, NULL), 0);
    struct ahpa_tls_identity id;
    ck_assert_int_eq(ahpa_tls_identity_from_pem(c.cert_pem, strlen(c.cert_pem), &id, NULL), 0);
    ck_assert_str_eq(id.cn, "x");
    ck_assert_uint_eq(id.n_orgs, 0);
    ahpa_tls_identity_dispose(&id);
    ahpa_tls_pem_pair_dispose(&c);
    /* A CN over 64 characters is refused at generation. */
    char cn[80];
    memset(cn, 'a', 70);
    cn[70] = '\0';
    ck_assert_int_eq(ahpa_tls_generate_client(f.ca, cn, NULL, 0, NULL, &c, NULL), -AHPA_EINVAL);
    ck_assert_int_eq(ahpa_tls_generate_client(f.ca, "", NULL, 0, NULL, &c, NULL), -AHPA_EINVAL);
    fixture_dispose(&f);
}
END_TEST

START_TEST(intermediate_chains)
{
    struct ahpa_tls_issuer *root = NULL, *mid = NULL;
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &root, NULL), 0);
    ck_assert_int_eq(ahpa_tls_issuer_generate_sub(root, "front-proxy-ca", NULL, &mid, NULL), 0);
    struct ahpa_tls_pem_pair leaf = {0};
    ck_assert_int_eq(ahpa_tls_generate_client(mid, "front-proxy-client", NULL, 0, NULL, &leaf,
                                              NULL),
                     0);
    const char *rp = ahpa_tls_issuer_cert_pem(root), *mp = ahpa_tls_issuer_cert_pem(mid);
    struct ahpa_tls_ca *rb = NULL, *mb = NULL;
    ck_assert_int_eq(ahpa_tls_ca_load_pem(rp, strlen(rp), &rb, NULL), 0);
    ck_assert_int_eq(ahpa_tls_ca_load_pem(mp, strlen(mp), &mb, NULL), 0);
    ck_assert_str_eq(ahpa_tls_ca_subject(mb, 0), "CN=front-proxy-ca");

    /* Root only: the intermediate must come with the chain. */
    struct ahpa_error err = {0};
    ck_assert_int_eq(verify(leaf.cert_pem, rb, AHPA_TLS_PURPOSE_CLIENT, NULL, &err),
                     -AHPA_EUNAUTHORIZED);
    ck_assert_msg(strstr(err.msg, "issuer") != NULL, "%s", err.msg);
    size_t n = strlen(leaf.cert_pem) + strlen(mp) + 1;
    char *chain = malloc(n);
    snprintf(chain, n, "%s%s", leaf.cert_pem, mp);
    ck_assert_int_eq(verify(chain, rb, AHPA_TLS_PURPOSE_CLIENT, NULL, NULL), 0);
    struct ahpa_tls_der_chain der;
    ck_assert_int_eq(ahpa_tls_der_chain_from_pem(chain, strlen(chain), &der, NULL), 0);
    ck_assert_uint_eq(der.n, 2);
    struct ahpa_tls_verify_options vo = {.purpose = AHPA_TLS_PURPOSE_CLIENT};
    struct ahpa_tls_identity id;
    ck_assert_int_eq(ahpa_tls_verify_chain_der(der.der, der.len, 2, rb, &vo, &id, NULL), 0);
    ck_assert_str_eq(id.cn, "front-proxy-client");
    ck_assert_uint_eq(id.n_orgs, 0);
    ahpa_tls_identity_dispose(&id);
    /* The leaf alone against the root fails over DER as well. */
    ck_assert_int_eq(ahpa_tls_verify_chain_der(der.der, der.len, 1, rb, &vo, NULL, NULL),
                     -AHPA_EUNAUTHORIZED);
    /* An intermediate in the bundle is a trust anchor by itself. */
    ck_assert_int_eq(verify(leaf.cert_pem, mb, AHPA_TLS_PURPOSE_CLIENT, NULL, NULL), 0);
    ahpa_tls_der_chain_dispose(&der);
    free(chain);
    ahpa_tls_ca_free(rb);
    ahpa_tls_ca_free(mb);
    ahpa_tls_pem_pair_dispose(&leaf);
    ahpa_tls_issuer_free(mid);
    ahpa_tls_issuer_free(root);
}
END_TEST

TCase *tls_test_verify_case(void)
{
    TCase *tc = tcase_create("verify");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, serving_verifies_for_its_names_only);
    tcase_add_test(tc, validity_window_enforced);
    tcase_add_test(tc, client_cert_identity_pem_and_der);
    tcase_add_test(tc, foreign_ca_and_bad_der_rejected);
    tcase_add_test(tc, ca_bundle_of_two);
    tcase_add_test(tc, cn_with_nul_refused);
    tcase_add_test(tc, intermediate_chains);
    return tc;
}
