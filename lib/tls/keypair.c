/* A certificate chain and its private key, loaded, checked and re-encoded
 * as PEM for GnuTLS. */
#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/timefmt.h"
#include "ahpa/tls.h"
#include "tls_int.h"

struct ahpa_tls_keypair {
    char *cert_pem;
    char *key_pem;
    int64_t not_before;
    int64_t not_after;
    char *subject;
    char *serial_hex;
    char **sans;
    size_t n_sans;
    size_t chain_len;
};

void ahpa_tls_keypair_free(struct ahpa_tls_keypair *kp)
{
    if (!kp)
        return;
    free(kp->cert_pem);
    ahpa_tls__free_secret(kp->key_pem);
    free(kp->subject);
    free(kp->serial_hex);
    ahpa_tls_strv_free(kp->sans, kp->n_sans);
    free(kp->sans);
    free(kp);
}

static char *serial_hex(X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    char *s = ahpa_strdup(hex ? hex : "");
    OPENSSL_free(hex);
    BN_free(bn);
    return s;
}

/* Text of a DNS or IP SAN; NULL for other kinds. */
static char *san_text(const GENERAL_NAME *gn)
{
    int type;
    const ASN1_STRING *v = GENERAL_NAME_get0_value(gn, &type);
    const unsigned char *d = ASN1_STRING_get0_data(v);
    int len = ASN1_STRING_length(v);
    if (type == GEN_DNS)
        return ahpa_strndup((const char *)d, (size_t)len);
    if (type != GEN_IPADD || (len != 4 && len != 16))
        return NULL;
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(len == 4 ? AF_INET : AF_INET6, d, buf, sizeof(buf)))
        return NULL;
    return ahpa_strdup(buf);
}

static void collect_sans(struct ahpa_tls_keypair *kp, X509 *leaf)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int n = names ? sk_GENERAL_NAME_num(names) : 0;
    kp->sans = ahpa_calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        char *s = san_text(sk_GENERAL_NAME_value(names, i));
        if (s)
            kp->sans[kp->n_sans++] = s;
    }
    GENERAL_NAMES_free(names);
    ERR_clear_error();
}

static void warn_validity(const char *what, const char *name, const struct ahpa_tls_keypair *kp)
{
    int64_t now = (int64_t)time(NULL);
    char when[AHPA_RFC3339_MAX];
    if (now > kp->not_after) {
        ahpa_time_format_rfc3339(kp->not_after, when);
        AHPA_LOG_WARN("%s %s: certificate expired at %s", what, name, when);
    } else if (now < kp->not_before) {
        ahpa_time_format_rfc3339(kp->not_before, when);
        AHPA_LOG_WARN("%s %s: certificate not valid before %s", what, name, when);
    }
}

static struct ahpa_tls_keypair *keypair_of(STACK_OF(X509) *certs, EVP_PKEY *key)
{
    X509 *leaf = sk_X509_value(certs, 0);
    struct ahpa_tls_keypair *kp = ahpa_calloc(1, sizeof(*kp));
    kp->cert_pem = ahpa_tls__certs_pem(certs);
    kp->key_pem = ahpa_tls__key_pem(key);
    kp->not_before = ahpa_tls__time_unix(X509_get0_notBefore(leaf));
    kp->not_after = ahpa_tls__time_unix(X509_get0_notAfter(leaf));
    kp->subject = ahpa_tls__name_text(X509_get_subject_name(leaf));
    kp->serial_hex = serial_hex(leaf);
    kp->chain_len = (size_t)sk_X509_num(certs);
    collect_sans(kp, leaf);
    return kp;
}

int ahpa_tls__keypair_build(const char *cert_what, const char *cert_name,
                            const char *cert_pem, size_t cert_len,
                            const char *key_what, const char *key_name,
                            const char *key_pem, size_t key_len,
                            struct ahpa_tls_keypair **out, struct ahpa_error *err)
{
    *out = NULL;
    STACK_OF(X509) *certs = NULL;
    EVP_PKEY *key = NULL;
    int rc = ahpa_tls__parse_certs(cert_what, cert_name, cert_pem, cert_len, &certs, err);
    if (rc == 0)
        rc = ahpa_tls__parse_key(key_what, key_name, key_pem, key_len, &key, err);
    if (rc == 0 && X509_check_private_key(sk_X509_value(certs, 0), key) != 1)
        rc = ahpa_tls__ossl_error(err, AHPA_EINVAL, "%s %s does not match %s %s",
                                  key_what, key_name, cert_what, cert_name);
    if (rc == 0) {
        *out = keypair_of(certs, key);
        if ((*out)->not_before == INT64_MIN || (*out)->not_after == INT64_MIN) {
            ahpa_tls_keypair_free(*out);
            *out = NULL;
            rc = ahpa_error_set(err, AHPA_EPARSE, "%s %s: unreadable validity dates",
                                cert_what, cert_name);
        }
    }
    if (rc == 0)
        warn_validity(cert_what, cert_name, *out);
    EVP_PKEY_free(key);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

int ahpa_tls_keypair_from_pem(const char *cert_pem, size_t cert_len,
                              const char *key_pem, size_t key_len,
                              struct ahpa_tls_keypair **out, struct ahpa_error *err)
{
    *out = NULL;
    if (!cert_pem || !key_pem)
        return ahpa_error_set(err, AHPA_EINVAL, "keypair: NULL PEM text");
    return ahpa_tls__keypair_build("certificate", "PEM", cert_pem, cert_len, "key", "PEM",
                                   key_pem, key_len, out, err);
}

int ahpa_tls_keypair_load(const char *cert_file, const char *key_file,
                          struct ahpa_tls_keypair **out, struct ahpa_error *err)
{
    *out = NULL;
    struct ahpa_tls__file cert, key;
    int rc = ahpa_tls__read_file("certificate file", cert_file, AHPA_TLS_MAX_FILE_BYTES,
                                 &cert, err);
    if (rc < 0)
        return rc;
    rc = ahpa_tls__read_file("key file", key_file, AHPA_TLS_MAX_FILE_BYTES, &key, err);
    if (rc == 0)
        rc = ahpa_tls__keypair_build("certificate file", cert_file, cert.data, cert.len,
                                     "key file", key_file, key.data, key.len, out, err);
    ahpa_tls__file_dispose(&cert);
    ahpa_tls__file_dispose(&key);
    return rc;
}

const char *ahpa_tls_keypair_cert_pem(const struct ahpa_tls_keypair *kp)
{
    return kp->cert_pem;
}

const char *ahpa_tls_keypair_key_pem(const struct ahpa_tls_keypair *kp)
{
    return kp->key_pem;
}

int64_t ahpa_tls_keypair_not_before(const struct ahpa_tls_keypair *kp)
{
    return kp->not_before;
}

int64_t ahpa_tls_keypair_not_after(const struct ahpa_tls_keypair *kp)
{
    return kp->not_after;
}

const char *ahpa_tls_keypair_subject(const struct ahpa_tls_keypair *kp)
{
    return kp->subject;
}

const char *ahpa_tls_keypair_serial_hex(const struct ahpa_tls_keypair *kp)
{
    return kp->serial_hex;
}

size_t ahpa_tls_keypair_san_count(const struct ahpa_tls_keypair *kp)
{
    return kp->n_sans;
}

const char *ahpa_tls_keypair_san(const struct ahpa_tls_keypair *kp, size_t i)
{
    return i < kp->n_sans ? kp->sans[i] : NULL;
}

size_t ahpa_tls_keypair_chain_len(const struct ahpa_tls_keypair *kp)
{
    return kp->chain_len;
}
