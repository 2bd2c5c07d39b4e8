/* GnuTLS serving credentials that can be swapped while serving.
 *
 * A retired generation is freed by its last reference, not after some
 * time: a connection opened before a swap may live for hours (keep-alive
 * clients), and GnuTLS reads its certificates and key until it ends. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "httpd_int.h"

static atomic_long generations_alive;

int64_t ahpa_httpd__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long ahpa_httpd__cred_generations_alive(void)
{
    return atomic_load(&generations_alive);
}

static void cred_free(struct ahpa_httpd__cred *c)
{
    for (unsigned i = 0; i < c->npcerts; i++)
        gnutls_pcert_deinit(&c->pcerts[i]);
    if (c->key != NULL)
        gnutls_privkey_deinit(c->key);
    free(c);
}

static void cred_destroy(void *obj)
{
    cred_free(obj);
    atomic_fetch_sub(&generations_alive, 1);
}

/* Returns a generation with one reference, owned by the caller. */
static int cred_load(const char *cert_pem, const char *key_pem, struct ahpa_httpd__cred **out,
                     struct ahpa_error *err)
{
    struct ahpa_httpd__cred *c = ahpa_calloc(1, sizeof(*c));
    gnutls_datum_t cert = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
    gnutls_datum_t key = {(unsigned char *)key_pem, (unsigned)strlen(key_pem)};
    c->npcerts = sizeof(c->pcerts) / sizeof(c->pcerts[0]);
    int rc = gnutls_pcert_list_import_x509_raw(c->pcerts, &c->npcerts, &cert,
                                               GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0) {
        c->npcerts = 0;
        cred_free(c);
        return ahpa_error_set(err, AHPA_EINVAL, "serving certificate: %s", gnutls_strerror(rc));
    }
    if ((rc = gnutls_privkey_init(&c->key)) < 0 ||
        (rc = gnutls_privkey_import_x509_raw(c->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        cred_free(c);
        return ahpa_error_set(err, AHPA_EINVAL, "serving key: %s", gnutls_strerror(rc));
    }
    ahpa_ref_init(&c->ref, cred_destroy);
    atomic_fetch_add(&generations_alive, 1);
    *out = c;
    return 0;
}

int ahpa_httpd__creds_init(struct ahpa_httpd__creds *c, const char *cert_pem,
                           const char *key_pem, struct ahpa_error *err)
{
    struct ahpa_httpd__cred *first;
    int rc = cred_load(cert_pem, key_pem, &first, err);
    if (rc < 0)
        return rc;
    ahpa_snapshot_init(&c->current);
    ahpa_snapshot_swap(&c->current, &first->ref);
    return 0;
}

int ahpa_httpd__creds_replace(struct ahpa_httpd__creds *c, const char *cert_pem,
                              const char *key_pem, struct ahpa_error *err)
{
    struct ahpa_httpd__cred *next;
    int rc = cred_load(cert_pem, key_pem, &next, err);
    if (rc < 0)
        return rc;
    /* The previous generation loses the server's reference; connections
     * that hold it keep it alive until they close. */
    ahpa_snapshot_swap(&c->current, &next->ref);
    return 0;
}

struct ahpa_httpd__cred *ahpa_httpd__creds_acquire(struct ahpa_httpd__creds *c)
{
    /* ref is the first member: the snapshot's pointer is the generation's. */
    return (struct ahpa_httpd__cred *)ahpa_snapshot_get(&c->current);
}

void ahpa_httpd__cred_release(struct ahpa_httpd__cred *cred)
{
    if (cred != NULL)
        ahpa_ref_release(&cred->ref);
}

void ahpa_httpd__creds_dispose(struct ahpa_httpd__creds *c)
{
    ahpa_snapshot_dispose(&c->current);
}

/* --- client-certificate trust --------------------------------------------- */

static void trust_destroy(void *obj)
{
    struct ahpa_httpd__trust *t = obj;
    gnutls_certificate_free_credentials(t->xcred);
    free(t);
}

int ahpa_httpd__trust_new(const char *ca_pem, gnutls_certificate_retrieve_function2 *fn,
                          struct ahpa_httpd__trust **out, struct ahpa_error *err)
{
    struct ahpa_httpd__trust *t = ahpa_calloc(1, sizeof(*t));
    int rc = gnutls_certificate_allocate_credentials(&t->xcred);
    if (rc < 0) {
        free(t);
        return ahpa_error_set(err, AHPA_ENOMEM, "client CA: %s", gnutls_strerror(rc));
    }
    gnutls_certificate_set_retrieve_function2(t->xcred, fn);
    gnutls_datum_t ca = {(unsigned char *)ca_pem, (unsigned)strlen(ca_pem)};
    rc = gnutls_certificate_set_x509_trust_mem(t->xcred, &ca, GNUTLS_X509_FMT_PEM);
    if (rc <= 0) {
        gnutls_certificate_free_credentials(t->xcred);
        free(t);
        return ahpa_error_set(err, AHPA_EINVAL, "client CA bundle: %s",
                              rc < 0 ? gnutls_strerror(rc) : "no certificate");
    }
    ahpa_ref_init(&t->ref, trust_destroy);
    *out = t;
    return 0;
}

void ahpa_httpd__trust_release(struct ahpa_httpd__trust *t)
{
    if (t != NULL)
        ahpa_ref_release(&t->ref);
}
