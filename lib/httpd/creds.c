/* GnuTLS serving credentials that can be swapped while serving. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "httpd_int.h"

/* A handshake never takes this long: MHD's idle timeout ends it first. */
#define RETIRED_KEEP_NS (600LL * 1000000000LL)

int64_t ahpa_httpd__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void cred_free(struct ahpa_httpd__cred *c)
{
    for (unsigned i = 0; i < c->npcerts; i++)
        gnutls_pcert_deinit(&c->pcerts[i]);
    if (c->key != NULL)
        gnutls_privkey_deinit(c->key);
    free(c);
}

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
    pthread_mutex_init(&c->lock, NULL);
    c->all = first;
    atomic_store(&c->current, first);
    return 0;
}

int ahpa_httpd__creds_replace(struct ahpa_httpd__creds *c, const char *cert_pem,
                              const char *key_pem, int64_t now_ns, struct ahpa_error *err)
{
    struct ahpa_httpd__cred *next;
    int rc = cred_load(cert_pem, key_pem, &next, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&c->lock);
    struct ahpa_httpd__cred *old = atomic_load(&c->current);
    old->retired_ns = now_ns;
    next->next = c->all;
    c->all = next;
    atomic_store(&c->current, next);
    /* Drop generations retired long enough ago that no handshake can
     * still be using them. */
    for (struct ahpa_httpd__cred **pp = &next->next; *pp != NULL;) {
        struct ahpa_httpd__cred *g = *pp;
        if (g->retired_ns != 0 && now_ns - g->retired_ns > RETIRED_KEEP_NS) {
            *pp = g->next;
            cred_free(g);
        } else {
            pp = &g->next;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

void ahpa_httpd__creds_dispose(struct ahpa_httpd__creds *c)
{
    struct ahpa_httpd__cred *g = c->all;
    while (g != NULL) {
        struct ahpa_httpd__cred *next = g->next;
        cred_free(g);
        g = next;
    }
    c->all = NULL;
    atomic_store(&c->current, NULL);
    pthread_mutex_destroy(&c->lock);
}
