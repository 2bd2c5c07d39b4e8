/* Generation and keypair loading, checked by parsing the results with
 * OpenSSL directly. */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/tls.h"
#include "tls_test.h"
#include "unit.h"

static X509 *parse_cert(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ck_assert_ptr_nonnull(x);
    return x;
}

static EVP_PKEY *parse_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ck_assert_ptr_nonnull(k);
    return k;
}

static bool ext_critical(X509 *x, int nid)
{
    int i = X509_get_ext_by_NID(x, nid, -1);
    ck_assert_int_ge(i, 0);
    return X509_EXTENSION_get_critical(X509_get_ext(x, i)) == 1;
}

static void assert_p256(EVP_PKEY *k)
{
    char group[64];
    size_t n = 0;
    ck_assert_int_eq(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    ck_assert_int_eq(EVP_PKEY_get_group_name(k, group, sizeof(group), &n), 1);
    ck_assert_str_eq(group, "prime256v1");
}

static time_t asn1_unix(const ASN1_TIME *t)
{
    struct tm tm;
    ck_assert_int_eq(ASN1_TIME_to_tm(t, &tm), 1);
    return timegm(&tm);
}

START_TEST(ca_has_ca_properties)
{
    struct ahpa_error err = {0};
    struct ahpa_tls_gen_options go = {.now_s = 1790000000};
    struct ahpa_tls_issuer *ca = NULL;
    ck_assert_int_eq(ahpa_tls_issuer_generate(&go, &ca, &err), 0);
    X509 *x = parse_cert(ahpa_tls_issuer_cert_pem(ca));
    ck_assert_int_eq(X509_check_ca(x), 1);
    ck_assert(ext_critical(x, NID_basic_constraints));
    ck_assert(ext_critical(x, NID_key_usage));
    ck_assert_uint_eq(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    ck_assert_ptr_nonnull(X509_get0_subject_key_id(x));
    ck_assert_int_eq(X509_check_issued(x, x), X509_V_OK);
    char cn[128];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    ck_assert_str_eq(cn, "ahpa-metrics-adapter-ca@1790000000");
    ck_assert_int_eq(asn1_unix(X509_get0_notBefore(x)), 1790000000 - 3600);
    ck_assert_int_eq(asn1_unix(X509_get0_notAfter(x)), 1790000000 + 365 * 86400);
    EVP_PKEY *pub = X509_get0_pubkey(x);
    assert_p256(pub);
    ck_assert_int_eq(X509_verify(x, pub), 1);
    X509_free(x);
    ahpa_tls_issuer_free(ca);
}
END_TEST

START_TEST(serving_cert_fields)
{
    struct ahpa_error err = {0};
    struct ahpa_tls_gen_options go = {.now_s = 1790000000, .valid_days = 30};
    struct ahpa_tls_issuer *ca = NULL;
    ck_assert_int_eq(ahpa_tls_issuer_generate(&go, &ca, &err), 0);
    const char *sans[] = {"ahpa.example.com", "10.1.2.3", "fd00::1", "LOCALHOST", "127.0.0.1"};
    struct ahpa_tls_pem_pair leaf = {0};
    ck_assert_int_eq(ahpa_tls_generate_serving(ca, sans, 5, &go, &leaf, &err), 0);
    ck_assert(strncmp(leaf.key_pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    X509 *x = parse_cert(leaf.cert_pem);
    X509 *cx = parse_cert(ahpa_tls_issuer_cert_pem(ca));
    EVP_PKEY *k = parse_key(leaf.key_pem);
    assert_p256(k);
    ck_assert_int_eq(X509_check_private_key(x, k), 1);
    ck_assert_int_eq(X509_check_issued(cx, x), X509_V_OK);
    ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(cx)), 1);
    ck_assert_int_eq(X509_check_ca(x), 0);
    ck_assert(ext_critical(x, NID_basic_constraints));
    ck_assert_uint_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    ck_assert_uint_eq(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
    ck_assert_int_eq(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
                                           X509_get0_subject_key_id(cx)), 0);
    ck_assert_int_eq(asn1_unix(X509_get0_notBefore(x)), 1790000000 - 3600);
    ck_assert_int_eq(asn1_unix(X509_get0_notAfter(x)), 1790000000 + 30 * 86400);
    char cn[128];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    ck_assert_str_eq(cn, "ahpa-metrics-adapter");
    /* 128 random bits, the top 16 not all zero: 29 to 32 hex digits. */
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    ck_assert_int_ge(BN_num_bits(bn), 113);
    ck_assert_int_le(BN_num_bits(bn), 128);
    ck_assert(!BN_is_negative(bn));
    BN_free(bn);

    struct ahpa_tls_keypair *kp = NULL;
    ck_assert_int_eq(ahpa_tls_keypair_from_pem(leaf.cert_pem, strlen(leaf.cert_pem),
                                               leaf.key_pem, strlen(leaf.key_pem), &kp, &err),
                     0);
    const char *want[] = {"localhost", "127.0.0.1", "ahpa.example.com", "10.1.2.3", "fd00::1"};
    ck_assert_uint_eq(ahpa_tls_keypair_san_count(kp), 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_str_eq(ahpa_tls_keypair_san(kp, i), want[i]);
    ck_assert_ptr_null(ahpa_tls_keypair_san(kp, 5));
    ck_assert_str_eq(ahpa_tls_keypair_subject(kp), "CN=ahpa-metrics-adapter");
    ck_assert_int_eq(ahpa_tls_keypair_not_after(kp), 1790000000 + 30 * 86400);
    ck_assert_uint_eq(ahpa_tls_keypair_chain_len(kp), 1);
    ahpa_tls_keypair_free(kp);
    EVP_PKEY_free(k);
    X509_free(cx);
    X509_free(x);
    ahpa_tls_pem_pair_dispose(&leaf);
    ahpa_tls_issuer_free(ca);
}
END_TEST

START_TEST(bad_sans_rejected)
{
    struct ahpa_tls_issuer *ca = NULL;
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &ca, NULL), 0);
    const char *bad[] = {"", "bad name", "a,b", "1.2.3", "256.1.1.1", "fe80::1%eth0",
                         "x:y", "caf\xc3\xa9.example"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ahpa_error err = {0};
        struct ahpa_tls_pem_pair leaf = {0};
        ck_assert_msg(ahpa_tls_generate_serving(ca, &bad[i], 1, NULL, &leaf, &err) ==
                          -AHPA_EINVAL, "SAN \"%s\" accepted", bad[i]);
        ck_assert_ptr_null(leaf.cert_pem);
        ck_assert_ptr_nonnull(strstr(err.msg, "SAN"));
    }
    ahpa_tls_issuer_free(ca);
}
END_TEST

START_TEST(service_names)
{
    char *n[AHPA_TLS_SERVICE_NAMES];
    ck_assert_int_eq(ahpa_tls_service_names("ahpa", "kube-system", n, NULL), 0);
    ck_assert_str_eq(n[0], "ahpa");
    ck_assert_str_eq(n[1], "ahpa.kube-system");
    ck_assert_str_eq(n[2], "ahpa.kube-system.svc");
    ck_assert_str_eq(n[3], "ahpa.kube-system.svc.cluster.local");
    ahpa_tls_strv_free(n, AHPA_TLS_SERVICE_NAMES);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_tls_service_names("Bad_Svc", "ns", n, &err), -AHPA_EINVAL);
    ck_assert_ptr_null(n[0]);
    ck_assert_int_eq(ahpa_tls_service_names("svc", "a.b", n, NULL), -AHPA_EINVAL);
    ck_assert_int_eq(ahpa_tls_service_names(NULL, "ns", n, NULL), -AHPA_EINVAL);
}
END_TEST

static void issue(struct ahpa_tls_issuer *ca, struct ahpa_tls_pem_pair *out)
{
    ck_assert_int_eq(ahpa_tls_generate_serving(ca, NULL, 0, NULL, out, NULL), 0);
}

START_TEST(keypair_mismatch_detected)
{
    struct ahpa_tls_issuer *ca = NULL;
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &ca, NULL), 0);
    struct ahpa_tls_pem_pair a = {0}, b = {0};
    issue(ca, &a);
    issue(ca, &b);
    struct ahpa_error err = {0};
    struct ahpa_tls_keypair *kp = NULL;
    ck_assert_int_eq(ahpa_tls_keypair_from_pem(a.cert_pem, strlen(a.cert_pem), b.key_pem,
                                               strlen(b.key_pem), &kp, &err),
                     -AHPA_EINVAL);
    ck_assert_ptr_null(kp);
    ck_assert_msg(strstr(err.msg, "does not match") != NULL, "%s", err.msg);
    ck_assert_ptr_null(strstr(err.msg, "PRIVATE"));
    /* The pair loads both ways round when it belongs together. */
    ck_assert_int_eq(ahpa_tls_keypair_from_pem(b.cert_pem, strlen(b.cert_pem), b.key_pem,
                                               strlen(b.key_pem), &kp, NULL),
                     0);
    ahpa_tls_keypair_free(kp);
    ahpa_tls_pem_pair_dispose(&a);
    ahpa_tls_pem_pair_dispose(&b);
    ahpa_tls_issuer_free(ca);
}
END_TEST

static char *key_as(const char *pkcs8, const EVP_CIPHER *enc)
{
    EVP_PKEY *k = parse_key(pkcs8);
    BIO *bio = BIO_new(BIO_s_mem());
    if (enc)
        ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(bio, k, enc, "secret", 6, NULL, NULL), 1);
    else
        ck_assert_int_eq(PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0, NULL, NULL), 1);
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    char *s = strndup(p, (size_t)n);
    BIO_free(bio);
    EVP_PKEY_free(k);
    return s;
}

START_TEST(keypair_key_formats)
{
    struct ahpa_tls_issuer *ca = NULL;
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &ca, NULL), 0);
    struct ahpa_tls_pem_pair a = {0};
    issue(ca, &a);
    /* A traditional "EC PRIVATE KEY" comes out as PKCS#8, the same key. */
    char *trad = key_as(a.key_pem, NULL);
    ck_assert_ptr_nonnull(strstr(trad, "BEGIN EC PRIVATE KEY"));
    struct ahpa_tls_keypair *kp = NULL;
    ck_assert_int_eq(ahpa_tls_keypair_from_pem(a.cert_pem, strlen(a.cert_pem), trad,
                                               strlen(trad), &kp, NULL),
                     0);
    ck_assert_str_eq(ahpa_tls_keypair_key_pem(kp), a.key_pem);
    ck_assert_str_eq(ahpa_tls_keypair_cert_pem(kp), a.cert_pem);
    ahpa_tls_keypair_free(kp);
    /* An encrypted key is refused, never prompted for. */
    char *enc = key_as(a.key_pem, EVP_aes_256_cbc());
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_tls_keypair_from_pem(a.cert_pem, strlen(a.cert_pem), enc,
                                               strlen(enc), &kp, &err),
                     -AHPA_EPARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "key PEM"));
    /* A certificate text without any certificate. */
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_tls_keypair_from_pem(a.key_pem, strlen(a.key_pem), a.key_pem,
                                               strlen(a.key_pem), &kp, &err),
                     -AHPA_EPARSE);
    ck_assert_ptr_nonnull(strstr(err.msg, "certificate PEM"));
    free(trad);
    free(enc);
    ahpa_tls_pem_pair_dispose(&a);
    ahpa_tls_issuer_free(ca);
}
END_TEST

START_TEST(issuer_from_pem_signs)
{
    struct ahpa_tls_issuer *ca = NULL, *ca2 = NULL;
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &ca, NULL), 0);
    struct ahpa_tls_pem_pair leaf = {0}, leaf2 = {0};
    issue(ca, &leaf);
    /* A leaf is no CA. */
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_tls_issuer_from_pem(leaf.cert_pem, leaf.key_pem, &ca2, &err),
                     -AHPA_EINVAL);
    ck_assert_ptr_null(ca2);
    /* A CA rebuilt from its PEM signs leaves the original CA accepts. */
    struct ahpa_tls_pem_pair cap = {0};
    ahpa_tls_issuer_to_pem(ca, &cap);
    ck_assert_int_eq(ahpa_tls_issuer_from_pem(cap.cert_pem, cap.key_pem, &ca2, NULL), 0);
    issue(ca2, &leaf2);
    X509 *x = parse_cert(leaf2.cert_pem);
    X509 *cx = parse_cert(ahpa_tls_issuer_cert_pem(ca));
    ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(cx)), 1);
    /* A key of another CA does not go with this certificate. */
    ahpa_error_clear(&err);
    struct ahpa_tls_issuer *ca3 = NULL;
    ck_assert_int_eq(ahpa_tls_issuer_from_pem(cap.cert_pem, leaf.key_pem, &ca3, &err),
                     -AHPA_EINVAL);
    ck_assert_ptr_null(ca3);
    ck_assert_ptr_nonnull(strstr(err.msg, "does not match"));
    X509_free(x);
    X509_free(cx);
    ahpa_tls_pem_pair_dispose(&cap);
    ahpa_tls_pem_pair_dispose(&leaf);
    ahpa_tls_pem_pair_dispose(&leaf2);
    ahpa_tls_issuer_free(ca2);
    ahpa_tls_issuer_free(ca);
}
END_TEST

TCase *tls_test_gen_case(void)
{
    TCase *tc = tcase_create("gen");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ca_has_ca_properties);
    tcase_add_test(tc, serving_cert_fields);
    tcase_add_test(tc, bad_sans_rejected);
    tcase_add_test(tc, service_names);
    tcase_add_test(tc, keypair_mismatch_detected);
    tcase_add_test(tc, keypair_key_formats);
    tcase_add_test(tc, issuer_from_pem_signs);
    return tc;
}
