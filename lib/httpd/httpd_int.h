/* Internals shared by the httpd files. */
#ifndef AHPA_HTTPD_INT_H
#define AHPA_HTTPD_INT_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ahpa/refcount.h"

struct ahpa_error;

/* One generation of serving credentials, shared by reference count: the
 * server holds the current generation, and every connection holds the
 * generation its handshake was given, from the handshake until the
 * connection closes (GnuTLS keeps pointing at the certificates and key for
 * the session's life). A retired generation is freed when the last
 * connection using it closes. */
struct ahpa_httpd__cred {
    struct ahpa_ref ref;            /* first member */
    gnutls_pcert_st pcerts[16];
    unsigned npcerts;
    gnutls_privkey_t key;
};

struct ahpa_httpd__creds {
    struct ahpa_snapshot current;   /* of struct ahpa_httpd__cred */
};

int ahpa_httpd__creds_init(struct ahpa_httpd__creds *c, const char *cert_pem,
                           const char *key_pem, struct ahpa_error *err);
/* Loads a new generation and makes it current; new handshakes get it.
 * On error the current generation stays. */
int ahpa_httpd__creds_replace(struct ahpa_httpd__creds *c, const char *cert_pem,
                              const char *key_pem, struct ahpa_error *err);
/* A new reference to the current generation; the caller releases it with
 * ahpa_httpd__cred_release. Takes the snapshot's lock for a pointer copy. */
struct ahpa_httpd__cred *ahpa_httpd__creds_acquire(struct ahpa_httpd__creds *c);
/* NULL is a no-op. */
void ahpa_httpd__cred_release(struct ahpa_httpd__cred *cred);
/* Drops the server's reference; connections may still hold theirs. */
void ahpa_httpd__creds_dispose(struct ahpa_httpd__creds *c);

/* One generation of client-certificate trust: GnuTLS credentials whose
 * trust list is the CA bundle the server advertises as acceptable issuers
 * when it requests (never requires) a client certificate. GnuTLS does not
 * verify the peer with it (the application does, per CA, after the
 * handshake): the list only tells clients which certificate to offer.
 * Shared like the serving credentials: each connection keeps the
 * generation its handshake used until it closes. */
struct ahpa_httpd__trust {
    struct ahpa_ref ref;            /* first member */
    gnutls_certificate_credentials_t xcred;
};

/* A generation with one reference (the caller's); fn fetches the serving
 * chain at each handshake. */
int ahpa_httpd__trust_new(const char *ca_pem, gnutls_certificate_retrieve_function2 *fn,
                          struct ahpa_httpd__trust **out, struct ahpa_error *err);
/* NULL is a no-op. */
void ahpa_httpd__trust_release(struct ahpa_httpd__trust *t);

/* Generations loaded and not yet freed, process-wide (for tests and
 * debugging). */
long ahpa_httpd__cred_generations_alive(void);

int64_t ahpa_httpd__now_ns(void);

#endif
