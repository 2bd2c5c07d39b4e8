/* Shared helpers: a TLS server on a free loopback port and a client. */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ahpa/api.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/httpd.h"
#include "ahpa/tls.h"
#include "api_test.h"
#include "unit.h"

void test_server_start(struct test_server *t, const char *const *flags)
{
    test_server_start_with(t, flags, NULL, NULL);
}

void test_server_start_with(struct test_server *t, const char *const *flags,
                            void (*before_start)(struct ahpa_server *, void *), void *ud)
{
    memset(t, 0, sizeof(*t));
    const char *argv[32] = {"test", "--bind-address=127.0.0.1", "--secure-port=0"};
    int argc = 3;
    for (size_t i = 0; flags != NULL && flags[i] != NULL && argc < 31; i++)
        argv[argc++] = flags[i];
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_config_load(&t->cfg, argc, (char **)argv, &err) == 0, "%s", err.msg);

    struct ahpa_tls_issuer *ca = NULL;
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &ca, &err), 0);
    struct ahpa_tls_pem_pair leaf = {0};
    ck_assert_int_eq(ahpa_tls_generate_serving(ca, NULL, 0, NULL, &leaf, &err), 0);
    snprintf(t->dir, sizeof(t->dir), "/tmp/ahpa-api-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->ca_file, sizeof(t->ca_file), "%s/ca.crt", t->dir);
    FILE *f = fopen(t->ca_file, "w");
    fputs(ahpa_tls_issuer_cert_pem(ca), f);
    fclose(f);

    ahpa_httpd_global_init();
    t->server = ahpa_server_new(&t->cfg, &err);
    ck_assert_ptr_nonnull(t->server);
    if (before_start != NULL)
        before_start(t->server, ud);
    ck_assert_msg(ahpa_server_start(t->server, leaf.cert_pem, leaf.key_pem, &err) == 0, "%s",
                  err.msg);
    t->port = ahpa_server_port(t->server);
    ck_assert_uint_gt(t->port, 0);
    ahpa_tls_pem_pair_dispose(&leaf);
    ahpa_tls_issuer_free(ca);
}

void test_server_stop(struct test_server *t)
{
    ahpa_server_stop(t->server, 1000);
    ahpa_server_free(t->server);
    ahpa_config_dispose(&t->cfg);
    unlink(t->ca_file);
    rmdir(t->dir);
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    ahpa_buf_append(ud, p, size * n);
    return size * n;
}

struct test_reply test_request(const struct test_server *t, const char *method, const char *path,
                               const char *const *extra_headers, const char *body)
{
    struct test_reply r = {0};
    struct ahpa_buf b, h;
    ahpa_buf_init(&b);
    ahpa_buf_init(&h);
    char url[4096];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u%s", t->port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (method != NULL && strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (method != NULL)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; extra_headers != NULL && extra_headers[i] != NULL; i++)
        hl = curl_slist_append(hl, extra_headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    CURLcode rc = curl_easy_perform(c);
    ck_assert_msg(rc == CURLE_OK, "%s: %s", path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    r.body = ahpa_buf_take(&b, NULL);
    r.headers = ahpa_buf_take(&h, NULL);
    return r;
}

void test_reply_dispose(struct test_reply *r)
{
    free(r->body);
    free(r->headers);
}

const char *test_json_field(const char *body, const char *field, char *buf, size_t n)
{
    buf[0] = '\0';
    json_t *doc = json_loads(body, 0, NULL);
    json_t *v = doc ? json_object_get(doc, field) : NULL;
    if (json_is_string(v))
        snprintf(buf, n, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    json_decref(doc);
    return buf;
}

Suite *ahpa_unit_suite(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("api");
    test_api_add_http(s);
    test_api_add_discovery(s);
    test_api_add_health(s);
    test_api_add_observer(s);
    test_api_add_respcache(s);
    return s;
}
