/* What this module hands to MHD must be what GnuTLS accepts: the chain
 * and PKCS#8 key as MHD_OPTION_HTTPS_MEM_CERT/KEY, the CA bundle as
 * MHD_OPTION_HTTPS_MEM_TRUST. */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/tls.h"
#include "tls_test.h"
#include "unit.h"

static gnutls_datum_t datum(const char *s)
{
    gnutls_datum_t d = {(unsigned char *)(uintptr_t)s, (unsigned)strlen(s)};
    return d;
}

START_TEST(gnutls_takes_keypair_and_trust)
{
    char *dir = tls_test_mkdtemp();
    char *certs = tls_test_path(dir, "certs");
    struct ahpa_tls_files_options o = {.cert_dir = certs};
    struct ahpa_tls_paths p;
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_tls_ensure_serving_files(&o, &p, &err) == 0, "%s", err.msg);
    struct ahpa_tls_keypair *kp = NULL;
    ck_assert_int_eq(ahpa_tls_keypair_load(p.cert_file, p.key_file, &kp, NULL), 0);
    struct ahpa_tls_ca *ca = NULL;
    ck_assert_int_eq(ahpa_tls_ca_load_file(p.ca_file, &ca, NULL), 0);

    gnutls_certificate_credentials_t cred;
    ck_assert_int_eq(gnutls_certificate_allocate_credentials(&cred), 0);
    gnutls_datum_t c = datum(ahpa_tls_keypair_cert_pem(kp));
    gnutls_datum_t k = datum(ahpa_tls_keypair_key_pem(kp));
    int rc = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
    ck_assert_msg(rc >= 0, "%s", gnutls_strerror(rc));
    gnutls_datum_t t = datum(ahpa_tls_ca_pem(ca));
    ck_assert_int_eq(gnutls_certificate_set_x509_trust_mem(cred, &t, GNUTLS_X509_FMT_PEM), 1);
    gnutls_certificate_free_credentials(cred);

    /* GnuTLS reads the leaf's names as OpenSSL wrote them. */
    gnutls_x509_crt_t crt;
    ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
    ck_assert_int_eq(gnutls_x509_crt_import(crt, &c, GNUTLS_X509_FMT_PEM), 0);
    ck_assert_int_ne(gnutls_x509_crt_check_hostname(crt, "localhost"), 0);
    ck_assert_int_ne(gnutls_x509_crt_check_ip(crt, (const unsigned char *)"\x7f\0\0\x01", 4, 0),
                     0);
    ck_assert_int_eq(gnutls_x509_crt_check_hostname(crt, "example.com"), 0);
    /* An independent check of the signature chain: GnuTLS verifies the leaf
     * against ca.crt, and refuses it against an unrelated CA. */
    gnutls_x509_crt_t cacrt;
    ck_assert_int_eq(gnutls_x509_crt_init(&cacrt), 0);
    ck_assert_int_eq(gnutls_x509_crt_import(cacrt, &t, GNUTLS_X509_FMT_PEM), 0);
    unsigned status = 99;
    ck_assert_int_eq(gnutls_x509_crt_verify(crt, &cacrt, 1, 0, &status), 0);
    ck_assert_uint_eq(status, 0);
    gnutls_x509_crt_deinit(cacrt);
    struct ahpa_tls_issuer *other = NULL;
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &other, NULL), 0);
    gnutls_datum_t od = datum(ahpa_tls_issuer_cert_pem(other));
    ck_assert_int_eq(gnutls_x509_crt_init(&cacrt), 0);
    ck_assert_int_eq(gnutls_x509_crt_import(cacrt, &od, GNUTLS_X509_FMT_PEM), 0);
    ck_assert_int_eq(gnutls_x509_crt_verify(crt, &cacrt, 1, 0, &status), 0);
    ck_assert_uint_ne(status & GNUTLS_CERT_INVALID, 0);
    gnutls_x509_crt_deinit(cacrt);
    ahpa_tls_issuer_free(other);
    gnutls_x509_crt_deinit(crt);

    ahpa_tls_ca_free(ca);
    ahpa_tls_keypair_free(kp);
    ahpa_tls_paths_dispose(&p);
    free(certs);
    tls_test_rmdir(dir);
}
END_TEST

TCase *tls_test_gnutls_case(void)
{
    TCase *tc = tcase_create("gnutls");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, gnutls_takes_keypair_and_trust);
    return tc;
}
