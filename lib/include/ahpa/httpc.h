/* The one HTTP client of the project: a thin, thread-safe libcurl wrapper.
 *
 * A client holds immutable options (base URL, TLS files, bearer token file,
 * extra headers, timeouts, a response size cap) and a small pool of curl
 * easy handles, so keep-alive connections are reused across requests and
 * threads. Every function here may be called from many threads at once on
 * the same client.
 *
 * Call ahpa_httpc_global_init() once from main() before any thread starts
 * (libcurl's global state); ahpa_httpc_client_new() calls it too, as a
 * fallback for tests and tools.
 *
 * Secrets: the bearer token is read from a file (re-read whenever its
 * inode, size or mtime changes) or given literally; it is sent only in the
 * Authorization header and never appears in logs or error messages. */
#ifndef AHPA_HTTPC_H
#define AHPA_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ahpa/buf.h"

struct ahpa_error;

/* Defaults used when an option is 0. */
#define AHPA_HTTPC_DEFAULT_TIMEOUT_MS 10000
#define AHPA_HTTPC_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define AHPA_HTTPC_DEFAULT_MAX_RESPONSE_BYTES (64u * 1024u * 1024u)
/* Idle easy handles (each with its connections) kept for reuse. */
#define AHPA_HTTPC_POOL_MAX 16

/* All pointers are borrowed: ahpa_httpc_client_new() copies what it keeps. */
struct ahpa_httpc_options {
    const char *base_url;  /* required: "http[s]://host[:port][/prefix]", no query */
    const char *ca_file;   /* PEM bundle to verify the server; NULL = system */
    bool insecure_skip_verify;
    const char *cert_file; /* client certificate (PEM), with key_file */
    const char *key_file;
    const char *token_file; /* bearer token file, re-read when it changes */
    const char *token;      /* literal bearer token; token_file wins */
    /* Extra headers as "Name=value" (the flag syntax) or "Name: value".
     * Names must be HTTP tokens; values may not hold CR or LF. */
    const char *const *headers;
    size_t n_headers;
    int64_t timeout_ms;         /* whole request; 0 = default */
    int64_t connect_timeout_ms; /* 0 = default */
    size_t max_response_bytes;  /* body cap; 0 = default */
    const char *user_agent;     /* NULL = "ahpa-metrics-adapter" */
    /* Ask for gzip/deflate. Off by default: on a LAN the server's
     * compression costs more than it saves (measured against Prometheus on
     * loopback: median 1.3 ms with, 0.8-1.0 ms without, for a 1.3 KB
     * answer); worth it for large answers over a slow link. */
    bool compress;
};

struct ahpa_httpc_client;

enum ahpa_httpc_method {
    AHPA_HTTPC_GET,
    AHPA_HTTPC_POST, /* without `body`, parameters go form-encoded in the body */
    AHPA_HTTPC_PUT,
    AHPA_HTTPC_PATCH,
    AHPA_HTTPC_DELETE,
};

/* One query or form parameter; name and value are URL-encoded by the
 * client. Names may repeat ("match[]"). */
struct ahpa_httpc_param {
    const char *name;
    const char *value;
};

/* Streaming receiver: gets the body piece by piece as it arrives. Return 0
 * to go on, > 0 to stop quietly (the request then succeeds), or a negative
 * -AHPA_E* code to fail the request with it. */
typedef int (*ahpa_httpc_data_fn)(const char *data, size_t len, void *ud);

/* All pointers borrowed for the call. Zero-initialise, then set what is
 * needed: {.method = AHPA_HTTPC_GET, .path = "/x"} is a complete request. */
struct ahpa_httpc_request {
    enum ahpa_httpc_method method;
    const char *path; /* appended to the base URL's path, e.g. "/api/v1/query" */
    const struct ahpa_httpc_param *params;
    size_t n_params;
    /* 0 = the client's; otherwise the smaller one wins. Streaming requests
     * (on_data set) have no total limit unless this is > 0. */
    int64_t timeout_ms;
    /* A raw body (JSON, ...) for POST, PUT, PATCH or DELETE, with its
     * content type. With a body, parameters go in the query string. */
    const char *body;
    size_t body_len;
    const char *content_type;
    /* Extra "Name: value" headers for this request only (e.g. Accept). */
    const char *const *headers;
    size_t n_headers;
    /* Streaming (watches): the body goes to on_data instead of resp->body
     * and the client's size cap does not apply (the receiver caps what it
     * keeps). idle_timeout_ms > 0 aborts with -AHPA_ETIMEDOUT when nothing
     * arrives for that long (second resolution). */
    ahpa_httpc_data_fn on_data;
    void *on_data_ud;
    int64_t idle_timeout_ms;
};

/* Caller storage: ahpa_httpc_response_init() before use,
 * ahpa_httpc_response_dispose() once. */
struct ahpa_httpc_response {
    long status;               /* HTTP status; 0 when no response arrived */
    struct ahpa_buf body;      /* the body, NUL-terminated when non-empty */
    char content_type[128];    /* "" when absent; truncated if longer */
    double elapsed_s;          /* wall time of the transfer */
};

void ahpa_httpc_response_init(struct ahpa_httpc_response *r);
void ahpa_httpc_response_dispose(struct ahpa_httpc_response *r);

/* libcurl's global initialisation, once per process. Returns 0 or
 * -AHPA_EINTERNAL. */
int ahpa_httpc_global_init(struct ahpa_error *err);

/* Validates and copies the options. Returns NULL with `err` set
 * (AHPA_ECONFIG) on a bad URL, header or unreadable token file. Caller
 * releases with ahpa_httpc_client_free(). */
struct ahpa_httpc_client *ahpa_httpc_client_new(const struct ahpa_httpc_options *o,
                                                struct ahpa_error *err);
/* No request may be in flight. NULL is a no-op. */
void ahpa_httpc_client_free(struct ahpa_httpc_client *c);

/* Performs one request and fills `resp` (reset first). Any HTTP status is
 * success at this level: the caller judges the status and body. Safe to
 * call from many threads at once.
 * Errors: -AHPA_EUPSTREAM (refused, DNS, TLS, connection dropped),
 * -AHPA_ETIMEDOUT, -AHPA_ETOOBIG (body over the cap; the transfer is
 * aborted), -AHPA_EUNAVAIL (client cancelled), -AHPA_EINVAL (bad request
 * arguments: GET with a body, a header with a line break, ...), or the
 * streaming receiver's own negative code. Messages name the method and path, never the token. */
int ahpa_httpc_do(struct ahpa_httpc_client *c, const struct ahpa_httpc_request *req,
                  struct ahpa_httpc_response *resp, struct ahpa_error *err);

/* Makes in-flight and future requests fail with -AHPA_EUNAVAIL at once
 * (for shutdown): the client's sockets are shut down, so even a transfer
 * waiting for a reply returns within milliseconds. Irreversible. Safe from
 * any thread. */
void ahpa_httpc_client_cancel(struct ahpa_httpc_client *c);

/* The base URL without any userinfo, for log lines; borrowed, valid for
 * the client's life. */
const char *ahpa_httpc_client_url(const struct ahpa_httpc_client *c);

#endif
