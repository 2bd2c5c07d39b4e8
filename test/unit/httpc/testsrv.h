/* A tiny HTTP/1.1 server on 127.0.0.1:0 for the httpc and prom tests.
 *
 * One acceptor thread and one thread per connection; keep-alive is
 * honoured, so tests can count connections to see reuse. A handler
 * callback chooses each reply: canned body, status, delay, a huge body, or
 * closing the connection without answering. Every loop is bounded. */
#ifndef AHPA_TEST_TESTSRV_H
#define AHPA_TEST_TESTSRV_H

#include <stdbool.h>
#include <stddef.h>

#define TESTSRV_TARGET_MAX 8192
#define TESTSRV_HEADERS_MAX 8192

struct testsrv_request {
    char method[16];
    char target[TESTSRV_TARGET_MAX];   /* path and query as sent */
    char headers[TESTSRV_HEADERS_MAX]; /* raw header lines, CRLF-separated */
    char body[TESTSRV_TARGET_MAX];     /* NUL-terminated; truncated if longer */
    size_t body_len;                   /* real length */
};

struct testsrv_reply {
    int status;               /* 0 = 200 */
    const char *content_type; /* NULL = application/json */
    const char *body;         /* borrowed until the reply is sent; NULL = "" */
    int delay_ms;             /* wait before answering */
    size_t huge_bytes;        /* > 0: send this many filler bytes as the body */
    bool omit_length;         /* close-delimited body, no Content-Length */
    bool close_without_reply; /* drop the connection instead of answering */
};

typedef void (*testsrv_handler_fn)(const struct testsrv_request *req,
                                   struct testsrv_reply *rep, void *ud);

struct testsrv;

/* Listens on a free loopback port; aborts the test on failure. */
struct testsrv *testsrv_start(testsrv_handler_fn fn, void *ud);
/* The same on a given port (a restarted server); NULL if it is taken. */
struct testsrv *testsrv_start_port(testsrv_handler_fn fn, void *ud, int port);
int testsrv_port(const struct testsrv *s);
/* "http://127.0.0.1:PORT" + prefix; caller frees. */
char *testsrv_url(const struct testsrv *s, const char *prefix);
size_t testsrv_connections(struct testsrv *s);
size_t testsrv_requests(struct testsrv *s);
/* Copies the most recent request. */
void testsrv_last(struct testsrv *s, struct testsrv_request *out);
/* Header value of `name` in a request (case-insensitive), copied into
 * out; returns false if absent. */
bool testsrv_header(const struct testsrv_request *r, const char *name, char *out, size_t n);
void testsrv_stop(struct testsrv *s);

#endif
