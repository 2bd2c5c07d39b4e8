/* Internals shared by the httpd files. */
#ifndef AHPA_HTTPD_INT_H
#define AHPA_HTTPD_INT_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ahpa/httpd.h"
#include "ahpa/lru.h"
#include "ahpa/refcount.h"

struct ahpa_error;
struct MHD_Connection;

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

/* --- deferred work (jobs.c) -------------------------------------------
 *
 * A job is one request's deferred answer: a work function the worker pool
 * runs (ahpa_httpd_defer), or a park (no function, ahpa_httpd_park) that a
 * wake ends. A job is open from ahpa_httpd__job_open until it is done:
 * its function returned, it was woken, it waited in the queue past
 * max_queue_wait_ms (expired), the server stopped (cancelled), or its
 * connection closed. While it is open its connection may be suspended; it
 * is resumed when the job is done.
 *
 * Locking: jobs->lock guards the queue, the open list and every field of
 * a job but refs. MHD_suspend_connection and MHD_resume_connection are
 * called with it held, so a job's finish and its connection's suspension
 * cannot cross; libmicrohttpd calls none of our callbacks from inside
 * them. The request thread reads a job's answer only once it is done
 * (nobody writes a done job). */

struct ahpa_httpd__jobs;

struct ahpa_httpd__job {
    atomic_int refs;                /* the connection's, and the worker's or the waker's */
    struct ahpa_httpd__jobs *owner;
    struct MHD_Connection *conn;
    ahpa_httpd_work_fn *fn;         /* NULL: a park */
    ahpa_httpd_free_fn *free_fn;
    void *arg;                      /* fn's; freed with free_fn at the last unref */
    struct ahpa_httpd_response resp; /* the worker's answer, once done */
    int64_t queued_ns;
    bool done;                      /* resp is final, or cancelled/expired */
    bool cancelled;                 /* the server stopped: answer 503 */
    bool expired;                   /* waited in the queue too long: answer 503 */
    bool suspended;                 /* its connection waits for the resume */
    struct ahpa_list_link qlink;    /* on the queue (fn only) */
    struct ahpa_list_link olink;    /* on the open list */
};

struct ahpa_httpd__jobs {
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct ahpa_list queue;         /* jobs for the workers, oldest first */
    struct ahpa_list open;          /* jobs not done */
    unsigned max_open;
    int64_t max_queue_wait_ms;      /* 0: no limit */
    bool stop;                      /* no new jobs; workers exit when idle */
    pthread_t *workers;
    unsigned nworkers;
    atomic_ullong rejected;         /* refused: max_open were open */
    atomic_ullong total;            /* opened */
};

/* Starts `workers` threads. On error the caller still disposes. */
int ahpa_httpd__jobs_init(struct ahpa_httpd__jobs *j, unsigned workers, unsigned max_open,
                          int64_t max_queue_wait_ms, struct ahpa_error *err);
/* Stops and joins the workers; the jobs must be cancelled or done. */
void ahpa_httpd__jobs_dispose(struct ahpa_httpd__jobs *j);
/* Stop: no new jobs, queued ones are dropped, every open one is done and
 * cancelled (its connection resumed now). Running functions finish into
 * the void. */
void ahpa_httpd__jobs_cancel(struct ahpa_httpd__jobs *j);
unsigned ahpa_httpd__jobs_open_count(struct ahpa_httpd__jobs *j);

/* A new open job for conn with two references (the caller's, for the
 * connection, and the worker's or the waker's); with fn it is queued for
 * the workers. NULL when stopping or max_open are open (counted). */
struct ahpa_httpd__job *ahpa_httpd__job_open(struct ahpa_httpd__jobs *j,
                                             struct MHD_Connection *conn,
                                             ahpa_httpd_work_fn *fn,
                                             ahpa_httpd_free_fn *free_fn, void *arg);
void ahpa_httpd__job_unref(struct ahpa_httpd__job *job);
/* Suspends the job's connection unless the job is done already: true
 * when suspended (the finish resumes it), false when done. */
bool ahpa_httpd__job_suspend(struct ahpa_httpd__job *job);
/* Ends a park (its waker's reference goes): done, connection resumed.
 * No-op on a job that is done already (stop, closed connection). */
void ahpa_httpd__job_wake(struct ahpa_httpd__job *job);
/* The connection closed: an open job is done (a running function's answer
 * is dropped); the connection's reference goes. */
void ahpa_httpd__job_detach(struct ahpa_httpd__job *job);

enum ahpa_httpd__job_outcome {
    AHPA_HTTPD__JOB_ANSWERED,  /* the worker's response was moved out */
    AHPA_HTTPD__JOB_WOKEN,     /* a park woken: run the handler again */
    AHPA_HTTPD__JOB_CANCELLED, /* the server stopped */
    AHPA_HTTPD__JOB_EXPIRED,   /* it waited in the queue too long */
};
/* For a done job: what ended it. ANSWERED moves the worker's status,
 * content type, route (when set) and body into *out (its old body is
 * disposed). */
enum ahpa_httpd__job_outcome ahpa_httpd__job_outcome(struct ahpa_httpd__job *job,
                                                     struct ahpa_httpd_response *out);

#endif
