/* HTTPS server: libmicrohttpd with GnuTLS inside, a thread pool, one
 * handler callback, per-request arenas, body caps and graceful stop.
 *
 * The handler runs on a request thread and fills a response; it must not
 * block (a slow handler holds one request thread and every connection
 * that thread serves). Serving credentials are PEM text (the tls module
 * produces them) and can be replaced at any time: new TLS handshakes use
 * the new pair, open connections keep theirs.
 *
 * Work that has to wait on a back end (a Prometheus query) is deferred:
 *
 *   request thread                       worker thread (opt.workers)
 *   handler: ahpa_httpd_defer(req, fn)
 *     -> job queued (bounded)
 *   connection suspended
 *   (MHD_suspend_connection), the
 *   thread serves other connections      fn(arg, resp): waits, fills resp
 *                                        finish: resume the connection
 *   access handler runs again:
 *   queues the worker's response
 *
 * The job never sees the request (its arena, headers, query) after the
 * handler returned: the handler copies what fn needs into arg. The job's
 * response is built in its own memory and handed over under a lock, so
 * a job and the connection may end in either order:
 *   - the worker finishes first: the response is sent when the suspended
 *     connection is resumed (or at once, when it was not suspended yet);
 *   - the client closed the connection meanwhile: libmicrohttpd does not
 *     watch suspended sockets, so the send fails after the resume and the
 *     done callback reports status 0;
 *   - ahpa_httpd_stop: after the grace period every unfinished job's
 *     connection is answered 503 and resumed before the daemon stops;
 *     queued jobs are dropped, running ones finish into the void and
 *     ahpa_httpd_free waits for the workers (each bounded by the back
 *     end's own timeout).
 * A job holds one reference and the connection one; the last to let go
 * frees the job (free_fn(arg) included).
 *
 * In-flight limits, by kind: requests handled on request threads
 * (opt.max_inflight) and deferred jobs queued or running
 * (opt.max_deferred). Past the first, the request is answered with the
 * reject callback's 503 at once; past the second, ahpa_httpd_defer fails
 * and the caller answers 503. Neither ever waits. A job that waited in the
 * queue longer than opt.max_queue_wait_ms is answered 503 without running:
 * its client has likely given up, and running it would only load the
 * back end further. */
#ifndef AHPA_HTTPD_H
#define AHPA_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahpa/buf.h"

struct ahpa_arena;
struct ahpa_error;
struct ahpa_httpd;

/* Borrowed by the handler; everything in it lives until the response has
 * been sent. */
struct ahpa_httpd_request {
    struct ahpa_arena *arena;  /* per-request memory, freed after the response */
    const char *method;        /* as sent: "GET", "HEAD", ... */
    const char *path;          /* percent-decoded, no query string */
    const char *body;          /* NUL-terminated; "" when none */
    size_t body_len;
    bool body_too_large;       /* the body passed the cap and was dropped */
    const char *remote_addr;   /* "127.0.0.1" */
    int64_t start_ns;          /* monotonic */
    void *app;                 /* the handler's own; NULL at first, kept across
                                  the calls of one request (see park) */
    void *conn_;               /* private */
};

/* What the handler fills. The body is owned by the response. */
struct ahpa_httpd_response {
    int status;
    const char *content_type;  /* static or arena string */
    struct ahpa_buf body;
    const char *route;         /* route template for metrics, static string */
    void *headers_;            /* private: extra headers */
};

/* Header value (case-insensitive name) or NULL. Borrowed like the request. */
const char *ahpa_httpd_request_header(const struct ahpa_httpd_request *req, const char *name);
/* First query parameter of that name, decoded, or NULL. */
const char *ahpa_httpd_request_query(const struct ahpa_httpd_request *req, const char *name);
/* Whether the query has the key at all (`?verbose` has no value). */
bool ahpa_httpd_request_has_query(const struct ahpa_httpd_request *req, const char *name);

typedef void ahpa_httpd_query_fn(void *ctx, const char *key, const char *value);
/* Calls fn for every query parameter in order; value may be NULL. */
void ahpa_httpd_request_query_foreach(const struct ahpa_httpd_request *req,
                                      ahpa_httpd_query_fn *fn, void *ctx);

typedef void ahpa_httpd_header_fn(void *ctx, const char *name, const char *value);
/* Calls fn for every request header in order, repeated ones included. */
void ahpa_httpd_request_header_foreach(const struct ahpa_httpd_request *req,
                                       ahpa_httpd_header_fn *fn, void *ctx);

/* Adds a response header; name and value are copied into the arena. */
void ahpa_httpd_response_header(struct ahpa_httpd_request *req,
                                struct ahpa_httpd_response *resp, const char *name,
                                const char *value);

typedef void ahpa_httpd_handler_fn(void *ctx, struct ahpa_httpd_request *req,
                                   struct ahpa_httpd_response *resp);
/* Called once per request after the response is sent (or the connection
 * failed): status 0 when nothing was sent. */
typedef void ahpa_httpd_done_fn(void *ctx, const struct ahpa_httpd_request *req,
                                const char *route, int status, double seconds);
/* Fills resp for requests rejected before the handler runs (body too
 * large when Content-Length announces it): lets the API layer answer with
 * its own error format. */
typedef void ahpa_httpd_reject_fn(void *ctx, struct ahpa_httpd_request *req,
                                  struct ahpa_httpd_response *resp, int status,
                                  const char *message);

struct ahpa_httpd_options {
    const char *bind_address;   /* IPv4 or IPv6 literal; "0.0.0.0", "::" */
    uint16_t port;              /* 0 picks a free port: see ahpa_httpd_port() */
    unsigned threads;           /* pool size, >= 1 */
    unsigned max_connections;
    unsigned idle_timeout_s;
    size_t max_body_bytes;
    size_t connection_memory_bytes; /* per-connection header/URL budget */
    const char *tls_priorities;     /* GnuTLS priority string; NULL: TLS 1.2+ */
    unsigned max_inflight;          /* requests on request threads; 0: unlimited */
    unsigned workers;               /* threads for deferred jobs; 0: 8 */
    unsigned max_deferred;          /* deferred jobs queued or running; 0: 4 x workers */
    int64_t max_queue_wait_ms;      /* a job queued longer is answered 503 unrun; 0: no bound */
    ahpa_httpd_handler_fn *handler;
    ahpa_httpd_done_fn *done;       /* may be NULL */
    ahpa_httpd_reject_fn *reject;   /* may be NULL: plain text then */
    void *ctx;
};

/* --- deferred work ------------------------------------------------------ */

/* Runs on a worker thread: fills resp (status, content_type, body, route:
 * static strings; ahpa_httpd_response_header may not be used). */
typedef void ahpa_httpd_work_fn(void *arg, struct ahpa_httpd_response *resp);
typedef void ahpa_httpd_free_fn(void *arg);

/* Called from the handler only. Queues fn(arg) on the worker pool and
 * answers the request with what it fills. On 0 the job owns arg (freed
 * with free_fn, on any thread) and the handler must return without
 * touching resp. -AHPA_EUNAVAIL when max_deferred jobs are in flight or
 * the server is stopping: arg stays the caller's, who answers (503). */
int ahpa_httpd_defer(struct ahpa_httpd_request *req, ahpa_httpd_work_fn *fn,
                     ahpa_httpd_free_fn *free_fn, void *arg);

/* --- parking: waiting on another thread without holding one ------------ */

/* A parked request waits for ahpa_httpd_wake() from any thread (an
 * authentication review answered, say): its connection is suspended, the
 * request thread serves others. When woken, the handler is called again
 * for the same request (same arena, headers, req->app) on a request
 * thread, and ahpa_httpd_request_woken() returns the parked arg during
 * that call. The handler may then answer, park again or defer (at most
 * AHPA_HTTPD_MAX_PARKS parks per request). A wake before the handler has
 * returned is fine: the handler is then called again at once.
 *
 * Parked requests count as deferred ones (opt.max_deferred). On stop they
 * are answered 503 like deferred jobs; a later wake is harmless. */
#define AHPA_HTTPD_MAX_PARKS 4

struct ahpa_httpd_waker;

/* Called from the handler only. On success the handler must return
 * without touching resp; arg then belongs to the request and is freed with
 * free_fn (may be NULL) once both the waker has been used and the request
 * is done with it. NULL when max_deferred requests wait, the server is
 * stopping or the request parked too often: arg stays the caller's, who
 * answers (503). */
struct ahpa_httpd_waker *ahpa_httpd_park(struct ahpa_httpd_request *req, void *arg,
                                         ahpa_httpd_free_fn *free_fn);
/* Wakes the parked request; exactly once per waker, which is invalid
 * afterwards. Any thread; never blocks beyond one lock. */
void ahpa_httpd_wake(struct ahpa_httpd_waker *w);
/* The arg of the park that woke this call of the handler, else NULL.
 * Borrowed for the handler's call. */
void *ahpa_httpd_request_woken(const struct ahpa_httpd_request *req);

/* --- client certificates ---------------------------------------------- */

/* New TLS handshakes request (never require) a client certificate and
 * advertise the subjects of ca_pem (one or more PEM certificates) as the
 * acceptable issuers; NULL or "" stops requesting one. Open connections
 * keep what their handshake used. Nothing is verified here: the caller
 * verifies ahpa_httpd_request_peer_chain() against whichever CA it means.
 * On error the previous setting stays. Thread-safe. */
int ahpa_httpd_set_client_cas(struct ahpa_httpd *h, const char *ca_pem, struct ahpa_error *err);

/* The chain the client sent in its handshake, leaf first, DER, not
 * verified: fills der[i], len[i] for i < max and returns how many the
 * client sent (0: none, or plain HTTP). Borrowed like the request. */
size_t ahpa_httpd_request_peer_chain(const struct ahpa_httpd_request *req,
                                     const unsigned char **der, size_t *len, size_t max);

struct ahpa_httpd_stats {
    unsigned inflight;          /* on request threads */
    unsigned deferred;          /* deferred jobs queued or running */
    unsigned long long rejected_inflight; /* 503s past max_inflight */
    unsigned long long rejected_deferred; /* defer refusals past max_deferred */
    unsigned long long deferred_total;
    unsigned max_inflight, max_deferred;
};
void ahpa_httpd_stats(const struct ahpa_httpd *h, struct ahpa_httpd_stats *out);

/* Installs process-wide GnuTLS state; call once from main before threads. */
void ahpa_httpd_global_init(void);

/* Starts serving at once. cert/key are PEM (leaf first, then chain; key in
 * PKCS#8 or traditional form) and are copied. Caller frees with
 * ahpa_httpd_free(). */
struct ahpa_httpd *ahpa_httpd_new(const struct ahpa_httpd_options *opt, const char *cert_pem,
                                  const char *key_pem, struct ahpa_error *err);

/* Replaces the serving credentials for new handshakes. On error the old
 * ones stay in use. Thread-safe. */
int ahpa_httpd_set_credentials(struct ahpa_httpd *h, const char *cert_pem, const char *key_pem,
                               struct ahpa_error *err);

/* The bound port (useful with port 0). */
uint16_t ahpa_httpd_port(const struct ahpa_httpd *h);

/* Requests being handled right now (deferred ones included). */
unsigned ahpa_httpd_inflight(const struct ahpa_httpd *h);

/* Graceful stop: closes the listening socket at once, lets in-flight
 * requests (deferred ones too) finish for up to grace_ms, answers the
 * deferred ones still waiting with 503, then closes every connection.
 * Returns the number of requests still in flight when the grace ran out. */
unsigned ahpa_httpd_stop(struct ahpa_httpd *h, int64_t grace_ms);

/* Stops (with no grace) if still running, waits for the workers (a
 * running job is bounded by its back end's timeout) and releases
 * everything. NULL ok. */
void ahpa_httpd_free(struct ahpa_httpd *h);

#endif
