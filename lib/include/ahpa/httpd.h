/* HTTPS server: libmicrohttpd with GnuTLS inside, a thread pool, one
 * handler callback, per-request arenas, body caps and graceful stop.
 *
 * The handler runs on a pool thread and fills a response; it must not
 * block for long (a slow handler holds one pool thread and every
 * connection that thread serves). Serving credentials are PEM text (the
 * tls module produces them) and can be replaced at any time: new TLS
 * handshakes use the new pair, open connections keep theirs. */
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
    ahpa_httpd_handler_fn *handler;
    ahpa_httpd_done_fn *done;       /* may be NULL */
    ahpa_httpd_reject_fn *reject;   /* may be NULL: plain text then */
    void *ctx;
};

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

/* Requests being handled right now. */
unsigned ahpa_httpd_inflight(const struct ahpa_httpd *h);

/* Graceful stop: closes the listening socket at once, lets in-flight
 * requests finish for up to grace_ms, then closes every connection.
 * Returns the number of requests still in flight when the grace ran out. */
unsigned ahpa_httpd_stop(struct ahpa_httpd *h, int64_t grace_ms);

/* Stops (with no grace) if still running and releases everything. NULL ok. */
void ahpa_httpd_free(struct ahpa_httpd *h);

#endif
