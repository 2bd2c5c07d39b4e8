/* Internals shared by the httpd files. */
#ifndef AHPA_HTTPD_INT_H
#define AHPA_HTTPD_INT_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct ahpa_error;

/* One generation of serving credentials. Retired generations stay alive
 * for a while, since a handshake in progress may still point at them. */
struct ahpa_httpd__cred {
    gnutls_pcert_st pcerts[16];
    unsigned npcerts;
    gnutls_privkey_t key;
    int64_t retired_ns;             /* 0 while current */
    struct ahpa_httpd__cred *next;  /* older generations */
};

struct ahpa_httpd__creds {
    pthread_mutex_t lock;           /* guards the list, not the readers */
    _Atomic(struct ahpa_httpd__cred *) current;
    struct ahpa_httpd__cred *all;   /* newest first */
};

int ahpa_httpd__creds_init(struct ahpa_httpd__creds *c, const char *cert_pem,
                           const char *key_pem, struct ahpa_error *err);
int ahpa_httpd__creds_replace(struct ahpa_httpd__creds *c, const char *cert_pem,
                              const char *key_pem, int64_t now_ns, struct ahpa_error *err);
void ahpa_httpd__creds_dispose(struct ahpa_httpd__creds *c);

int64_t ahpa_httpd__now_ns(void);

#endif
