/* A test server on 127.0.0.1 and a libcurl client for it. */
#ifndef AHPA_TEST_API_H
#define AHPA_TEST_API_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "ahpa/config.h"

struct test_server {
    struct ahpa_config cfg;
    struct ahpa_server *server;
    char ca_file[128];
    char dir[64];
    unsigned port;
};

struct test_reply {
    long status;
    char *body;
    char *headers;
};

/* Starts a server with the given extra flags (NULL-terminated). */
void test_server_start(struct test_server *t, const char *const *flags);
/* The same, calling before_start(server, ud) first (to register handlers). */
void test_server_start_with(struct test_server *t, const char *const *flags,
                            void (*before_start)(struct ahpa_server *, void *), void *ud);
void test_server_stop(struct test_server *t);
/* method NULL means GET; extra_headers NULL-terminated or NULL. */
struct test_reply test_request(const struct test_server *t, const char *method, const char *path,
                               const char *const *extra_headers, const char *body);
void test_reply_dispose(struct test_reply *r);
/* The value of a top-level string or integer field as text, "" if absent. */
const char *test_json_field(const char *body, const char *field, char *buf, size_t n);

void test_api_add_http(Suite *s);
void test_api_add_discovery(Suite *s);
void test_api_add_health(Suite *s);
void test_api_add_observer(Suite *s);
void test_api_add_respcache(Suite *s);

#endif
