/* lib/httpc against a real loopback HTTP/1.1 server (testsrv). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "testsrv.h"
#include "unit.h"

/* Replies by path: the body echoes method and target unless a path asks
 * for something special. */
static void handler(const struct testsrv_request *req, struct testsrv_reply *rep, void *ud)
{
    (void)ud;
    static __thread char echo[TESTSRV_TARGET_MAX + 32];
    if (strncmp(req->target, "/slow", 5) == 0) {
        rep->delay_ms = 3000;
    } else if (strncmp(req->target, "/huge-nolen", 11) == 0) {
        rep->huge_bytes = 300000;
        rep->omit_length = true;
    } else if (strncmp(req->target, "/huge", 5) == 0) {
        rep->huge_bytes = 300000;
    } else if (strncmp(req->target, "/exact", 6) == 0) {
        rep->huge_bytes = 1000;
    } else if (strncmp(req->target, "/drop", 5) == 0) {
        rep->close_without_reply = true;
    } else if (strncmp(req->target, "/fail", 5) == 0) {
        rep->status = 500;
        rep->content_type = "text/plain; charset=utf-8";
        rep->body = "boom";
    }
    if (rep->body == NULL && rep->huge_bytes == 0) {
        snprintf(echo, sizeof(echo), "%s %s", req->method, req->target);
        rep->body = echo;
        rep->content_type = "text/plain";
    }
}

static struct ahpa_httpc_client *client_for(struct testsrv *s, const char *prefix,
                                            struct ahpa_httpc_options *o)
{
    char *url = testsrv_url(s, prefix);
    o->base_url = url;
    struct ahpa_error err = {0};
    struct ahpa_httpc_client *c = ahpa_httpc_client_new(o, &err);
    ck_assert_msg(c != NULL, "client: %s", err.msg);
    free(url);
    return c;
}

static int get(struct ahpa_httpc_client *c, const char *path, struct ahpa_httpc_response *r,
               struct ahpa_error *err)
{
    struct ahpa_httpc_request req = {.method = AHPA_HTTPC_GET, .path = path};
    return ahpa_httpc_do(c, &req, r, err);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

START_TEST(get_encodes_params_under_prefix)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {0};
    struct ahpa_httpc_client *c = client_for(s, "/api/v1/prometheus/abc/cn-shanghai/", &o);
    struct ahpa_httpc_param params[] = {
        {"query", "sum(rate(x{a=\"b c\"}[5m])) & y/z"},
        {"match[]", "up"},
        {"match[]", "down"},
    };
    struct ahpa_httpc_request req = {.method = AHPA_HTTPC_GET, .path = "/api/v1/query", .params = params, .n_params = 3};
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_httpc_do(c, &req, &r, &err), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "text/plain");
    ck_assert_str_eq(r.body.data,
                     "GET /api/v1/prometheus/abc/cn-shanghai/api/v1/query"
                     "?query=sum%28rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29%29%20%26%20y%2Fz"
                     "&match%5B%5D=up&match%5B%5D=down");
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(post_sends_form_body)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {0};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    struct ahpa_httpc_param params[] = {{"query", "a+b"}, {"time", "1700000000.5"}};
    struct ahpa_httpc_request req = {.method = AHPA_HTTPC_POST, .path = "/api/v1/query", .params = params, .n_params = 2};
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    ck_assert_int_eq(ahpa_httpc_do(c, &req, &r, NULL), 0);
    struct testsrv_request last;
    testsrv_last(s, &last);
    ck_assert_str_eq(last.method, "POST");
    ck_assert_str_eq(last.target, "/api/v1/query");
    ck_assert_str_eq(last.body, "query=a%2Bb&time=1700000000.5");
    char ct[128];
    ck_assert(testsrv_header(&last, "Content-Type", ct, sizeof(ct)));
    ck_assert_str_eq(ct, "application/x-www-form-urlencoded");
    ck_assert(!testsrv_header(&last, "Expect", ct, sizeof(ct)));
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(headers_and_token_file_reread)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    char dir[] = "/tmp/ahpa-httpc-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char tok[64], tmp[64];
    snprintf(tok, sizeof(tok), "%s/token", dir);
    snprintf(tmp, sizeof(tmp), "%s/token.new", dir);
    write_file(tok, "  first-token\n");
    const char *headers[] = {"X-Scope-OrgID=tenant-1", "X-Extra: a=b"};
    struct ahpa_httpc_options o = {.token_file = tok, .headers = headers, .n_headers = 2,
                                   .token = "ignored-literal"};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    struct testsrv_request last;
    char v[256];

    ck_assert_int_eq(get(c, "/q", &r, NULL), 0);
    testsrv_last(s, &last);
    ck_assert(testsrv_header(&last, "Authorization", v, sizeof(v)));
    ck_assert_str_eq(v, "Bearer first-token");
    ck_assert(testsrv_header(&last, "X-Scope-OrgID", v, sizeof(v)));
    ck_assert_str_eq(v, "tenant-1");
    ck_assert(testsrv_header(&last, "X-Extra", v, sizeof(v)));
    ck_assert_str_eq(v, "a=b");

    /* Rotation the Kubernetes way: a new file renamed over the old one. */
    write_file(tmp, "second-token");
    ck_assert_int_eq(rename(tmp, tok), 0);
    ck_assert_int_eq(get(c, "/q", &r, NULL), 0);
    testsrv_last(s, &last);
    ck_assert(testsrv_header(&last, "Authorization", v, sizeof(v)));
    ck_assert_str_eq(v, "Bearer second-token");

    /* Rewritten in place with a different length. */
    write_file(tok, "third\n");
    ck_assert_int_eq(get(c, "/q", &r, NULL), 0);
    testsrv_last(s, &last);
    ck_assert(testsrv_header(&last, "Authorization", v, sizeof(v)));
    ck_assert_str_eq(v, "Bearer third");

    /* Missing for a moment: the last token stays in use. */
    unlink(tok);
    ck_assert_int_eq(get(c, "/q", &r, NULL), 0);
    testsrv_last(s, &last);
    ck_assert(testsrv_header(&last, "Authorization", v, sizeof(v)));
    ck_assert_str_eq(v, "Bearer third");

    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    rmdir(dir);
    testsrv_stop(s);
}
END_TEST

START_TEST(literal_token_and_no_token)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {.token = "lit"};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    struct testsrv_request last;
    char v[64];
    ck_assert_int_eq(get(c, "/q", &r, NULL), 0);
    testsrv_last(s, &last);
    ck_assert(testsrv_header(&last, "Authorization", v, sizeof(v)));
    ck_assert_str_eq(v, "Bearer lit");
    ahpa_httpc_client_free(c);
    struct ahpa_httpc_options o2 = {0};
    c = client_for(s, "", &o2);
    ck_assert_int_eq(get(c, "/q", &r, NULL), 0);
    testsrv_last(s, &last);
    ck_assert(!testsrv_header(&last, "Authorization", v, sizeof(v)));
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(compression_only_on_request)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {0};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    struct testsrv_request last;
    char v[128];
    ck_assert_int_eq(get(c, "/q", &r, NULL), 0);
    testsrv_last(s, &last);
    ck_assert(!testsrv_header(&last, "Accept-Encoding", v, sizeof(v)));
    ck_assert(testsrv_header(&last, "User-Agent", v, sizeof(v)));
    ck_assert_str_eq(v, "ahpa-metrics-adapter");
    ahpa_httpc_client_free(c);
    struct ahpa_httpc_options o2 = {.compress = true, .user_agent = "ua/1"};
    c = client_for(s, "", &o2);
    ck_assert_int_eq(get(c, "/q", &r, NULL), 0);
    testsrv_last(s, &last);
    ck_assert(testsrv_header(&last, "Accept-Encoding", v, sizeof(v)));
    ck_assert_msg(strstr(v, "gzip") != NULL, "%s", v);
    ck_assert(testsrv_header(&last, "User-Agent", v, sizeof(v)));
    ck_assert_str_eq(v, "ua/1");
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(json_bodies_methods_and_request_headers)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {.headers = (const char *const[]){"X-Scope-OrgID=t"},
                                   .n_headers = 1};
    struct ahpa_httpc_client *c = client_for(s, "/k8s", &o);
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    struct testsrv_request last;
    char v[128];
    static const char json[] = "{\"spec\":{\"replicas\":3}}";
    const char *accept[] = {"Accept: application/json"};
    struct ahpa_httpc_param dry = {"dryRun", "All"};
    const struct {
        enum ahpa_httpc_method m;
        const char *name;
        const char *ct;
    } cases[] = {
        {AHPA_HTTPC_POST, "POST", "application/json"},
        {AHPA_HTTPC_PUT, "PUT", "application/json"},
        {AHPA_HTTPC_PATCH, "PATCH", "application/merge-patch+json"},
        {AHPA_HTTPC_DELETE, "DELETE", "application/json"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ahpa_httpc_request req = {
            .method = cases[i].m, .path = "/apis/x/v1/things/a", .params = &dry, .n_params = 1,
            .body = json, .body_len = sizeof(json) - 1, .content_type = cases[i].ct,
            .headers = accept, .n_headers = 1};
        ck_assert_int_eq(ahpa_httpc_do(c, &req, &r, NULL), 0);
        testsrv_last(s, &last);
        ck_assert_str_eq(last.method, cases[i].name);
        ck_assert_str_eq(last.target, "/k8s/apis/x/v1/things/a?dryRun=All");
        ck_assert_str_eq(last.body, json);
        ck_assert(testsrv_header(&last, "Content-Type", v, sizeof(v)));
        ck_assert_str_eq(v, cases[i].ct);
        ck_assert(testsrv_header(&last, "Accept", v, sizeof(v)));
        ck_assert_str_eq(v, "application/json");
        ck_assert(testsrv_header(&last, "X-Scope-OrgID", v, sizeof(v)));
    }
    struct ahpa_httpc_request del = {.method = AHPA_HTTPC_DELETE, .path = "/d"};
    ck_assert_int_eq(ahpa_httpc_do(c, &del, &r, NULL), 0);
    testsrv_last(s, &last);
    ck_assert_str_eq(last.method, "DELETE");
    ck_assert_uint_eq(last.body_len, 0);

    struct ahpa_error err = {0};
    struct ahpa_httpc_request bad = {.method = AHPA_HTTPC_GET, .path = "/g", .body = json,
                                     .body_len = 2, .content_type = "application/json"};
    ck_assert_int_eq(ahpa_httpc_do(c, &bad, &r, &err), -AHPA_EINVAL);
    const char *split[] = {"Accept: a\r\nX-Evil: 1"};
    struct ahpa_httpc_request bad2 = {.method = AHPA_HTTPC_GET, .path = "/g", .headers = split,
                                      .n_headers = 1};
    ck_assert_int_eq(ahpa_httpc_do(c, &bad2, &r, NULL), -AHPA_EINVAL);
    struct ahpa_httpc_request bad3 = {.method = AHPA_HTTPC_POST, .path = "/g", .body = json,
                                      .body_len = 2};
    ck_assert_int_eq(ahpa_httpc_do(c, &bad3, &r, NULL), -AHPA_EINVAL);
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

struct sink {
    size_t bytes;
    int calls;
    int stop_after; /* calls; 0 = never */
    int stop_rc;
};

static int on_chunk(const char *data, size_t len, void *ud)
{
    struct sink *k = ud;
    (void)data;
    k->bytes += len;
    k->calls++;
    return (k->stop_after > 0 && k->calls >= k->stop_after) ? k->stop_rc : 0;
}

START_TEST(streaming_receiver)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {.max_response_bytes = 1000, .timeout_ms = 500};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    /* The whole 300000-byte body passes the 1000-byte cap: it is not kept. */
    struct sink k = {0};
    struct ahpa_httpc_request req = {.method = AHPA_HTTPC_GET, .path = "/huge-nolen",
                                     .on_data = on_chunk, .on_data_ud = &k};
    ck_assert_int_eq(ahpa_httpc_do(c, &req, &r, NULL), 0);
    ck_assert_uint_eq(k.bytes, 300000);
    ck_assert_uint_eq(r.body.len, 0);
    ck_assert_int_eq(r.status, 200);
    /* Stopping quietly, and failing with the receiver's code. */
    k = (struct sink){.stop_after = 1, .stop_rc = 1};
    ck_assert_int_eq(ahpa_httpc_do(c, &req, &r, NULL), 0);
    ck_assert_int_eq(k.calls, 1);
    k = (struct sink){.stop_after = 2, .stop_rc = -AHPA_EPARSE};
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_httpc_do(c, &req, &r, &err), -AHPA_EPARSE);
    ck_assert_msg(strstr(err.msg, "receiver failed") != NULL, "%s", err.msg);
    /* No total limit (the client's 500 ms does not apply), but an idle one. */
    k = (struct sink){0};
    struct ahpa_httpc_request slow = {.method = AHPA_HTTPC_GET, .path = "/slow",
                                      .on_data = on_chunk, .on_data_ud = &k,
                                      .idle_timeout_ms = 1000};
    double t0 = now_s();
    ck_assert_int_eq(ahpa_httpc_do(c, &slow, &r, NULL), -AHPA_ETIMEDOUT);
    double took = now_s() - t0;
    ck_assert_msg(took > 0.9 && took < 2.8, "took %.3f s", took);
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(size_cap)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {.max_response_bytes = 1000};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    struct ahpa_error err = {0};
    ck_assert_int_eq(get(c, "/huge", &r, &err), -AHPA_ETOOBIG);
    ck_assert_msg(strstr(err.msg, "larger than 1000 bytes") != NULL, "%s", err.msg);
    ahpa_error_clear(&err);
    ck_assert_int_eq(get(c, "/huge-nolen", &r, &err), -AHPA_ETOOBIG);
    ck_assert_uint_le(r.body.len, 1000);
    ck_assert_int_eq(get(c, "/exact", &r, NULL), 0);
    ck_assert_uint_eq(r.body.len, 1000);
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(timeout_within_bound)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {.timeout_ms = 2000};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    struct ahpa_error err = {0};
    struct ahpa_httpc_request req = {.method = AHPA_HTTPC_GET, .path = "/slow", .timeout_ms = 300};
    double t0 = now_s();
    ck_assert_int_eq(ahpa_httpc_do(c, &req, &r, &err), -AHPA_ETIMEDOUT);
    double took = now_s() - t0;
    ck_assert_msg(took >= 0.25 && took < 1.5, "took %.3f s", took);
    ck_assert_msg(strstr(err.msg, "GET /slow") != NULL, "%s", err.msg);
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

/* A loopback port nobody listens on: bind, read the port, close. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

START_TEST(refused_and_dropped_are_upstream_errors)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/p", dead_port());
    struct ahpa_httpc_options o = {.base_url = url, .token = "s3cret-token-value"};
    struct ahpa_error err = {0};
    struct ahpa_httpc_client *c = ahpa_httpc_client_new(&o, &err);
    ck_assert_ptr_nonnull(c);
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    ck_assert_int_eq(get(c, "/api/v1/query", &r, &err), -AHPA_EUPSTREAM);
    ck_assert_msg(strstr(err.msg, "GET /api/v1/query") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "s3cret") == NULL, "%s", err.msg);
    ck_assert_int_eq(r.status, 0);
    ahpa_httpc_client_free(c);

    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o2 = {0};
    c = client_for(s, "", &o2);
    ahpa_error_clear(&err);
    ck_assert_int_eq(get(c, "/drop", &r, &err), -AHPA_EUPSTREAM);
    /* A 500 is an answer, not a transport error. */
    ck_assert_int_eq(get(c, "/fail", &r, NULL), 0);
    ck_assert_int_eq(r.status, 500);
    ck_assert_str_eq(r.content_type, "text/plain; charset=utf-8");
    ck_assert_str_eq(r.body.data, "boom");
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(recovers_when_server_returns)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    int port = testsrv_port(s);
    struct ahpa_httpc_options o = {.timeout_ms = 1000};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    ck_assert_int_eq(get(c, "/a", &r, NULL), 0); /* leaves a pooled keep-alive connection */
    testsrv_stop(s);
    struct ahpa_error err = {0};
    ck_assert_int_eq(get(c, "/b", &r, &err), -AHPA_EUPSTREAM);
    s = NULL;
    for (int i = 0; i < 50 && s == NULL; i++) {
        s = testsrv_start_port(handler, NULL, port);
        if (s == NULL)
            nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    }
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(get(c, "/c", &r, NULL), 0);
    ck_assert_str_eq(r.body.data, "GET /c");
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(keepalive_reuses_one_connection)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {0};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(get(c, "/k", &r, NULL), 0);
    ck_assert_uint_eq(testsrv_requests(s), 20);
    ck_assert_uint_eq(testsrv_connections(s), 1);
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

struct worker {
    struct ahpa_httpc_client *c;
    int id;
    int ok;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    for (int i = 0; i < 25; i++) {
        char path[64], want[80];
        snprintf(path, sizeof(path), "/w%d/%d", w->id, i);
        snprintf(want, sizeof(want), "GET %s", path);
        if (get(w->c, path, &r, NULL) == 0 && r.status == 200 && strcmp(r.body.data, want) == 0)
            w->ok++;
    }
    ahpa_httpc_response_dispose(&r);
    return NULL;
}

START_TEST(concurrent_requests_share_client)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {0};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    enum { N = 8 };
    pthread_t t[N];
    struct worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){c, i, 0};
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].ok, 25);
    }
    ck_assert_uint_eq(testsrv_requests(s), N * 25);
    /* At most one connection per concurrent request, however many requests. */
    ck_assert_uint_le(testsrv_connections(s), N);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

struct slow_call {
    struct ahpa_httpc_client *c;
    int rc;
};

static void *slow_main(void *arg)
{
    struct slow_call *sc = arg;
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    sc->rc = get(sc->c, "/slow", &r, NULL);
    ahpa_httpc_response_dispose(&r);
    return NULL;
}

START_TEST(cancel_stops_inflight_request)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {.timeout_ms = 10000};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    struct slow_call sc = {c, 0};
    pthread_t t;
    double t0 = now_s();
    pthread_create(&t, NULL, slow_main, &sc);
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    ahpa_httpc_client_cancel(c);
    pthread_join(t, NULL);
    double took = now_s() - t0;
    ck_assert_int_eq(sc.rc, -AHPA_EUNAVAIL);
    ck_assert_msg(took < 2.0, "took %.3f s", took); /* measured: 0.2 s, i.e. at once */
    struct ahpa_httpc_response r;
    ahpa_httpc_response_init(&r);
    ck_assert_int_eq(get(c, "/k", &r, NULL), -AHPA_EUNAVAIL);
    ahpa_httpc_response_dispose(&r);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

/* libcurl calls its progress callback about once a second while a reply
 * is awaited: a cancel must not wait for the next call. Cancelled 1.3 s
 * into the wait, i.e. between two calls. */
START_TEST(cancel_interrupts_a_waiting_transfer_at_once)
{
    struct testsrv *s = testsrv_start(handler, NULL);
    struct ahpa_httpc_options o = {.timeout_ms = 10000};
    struct ahpa_httpc_client *c = client_for(s, "", &o);
    struct slow_call sc = {c, 0};
    pthread_t t;
    pthread_create(&t, NULL, slow_main, &sc);
    struct timespec ts = {1, 300 * 1000000L};
    nanosleep(&ts, NULL);
    double t0 = now_s();
    ahpa_httpc_client_cancel(c);
    pthread_join(t, NULL);
    double took = now_s() - t0;
    ck_assert_int_eq(sc.rc, -AHPA_EUNAVAIL);
    ck_assert_msg(took < 0.2, "cancel took %.3f s", took);
    ahpa_httpc_client_free(c);
    testsrv_stop(s);
}
END_TEST

START_TEST(bad_options)
{
    struct {
        struct ahpa_httpc_options o;
        const char *want;
    } cases[] = {
        {{.base_url = "ftp://h/"}, "want http:// or https://"},
        {{.base_url = NULL}, "want http:// or https://"},
        {{.base_url = "http://h/?q=1"}, "no query"},
        {{.base_url = "http://"}, "no host"},
        {{.base_url = "http://h", .headers = (const char *const[]){"bad name=x"}, .n_headers = 1},
         "HTTP token name"},
        {{.base_url = "http://h", .headers = (const char *const[]){"X-A=1\r\nX-B: 2"}, .n_headers = 1},
         "line break"},
        {{.base_url = "http://h", .token_file = "/nonexistent/token"}, "token file"},
        {{.base_url = "http://h", .cert_file = "c.pem"}, "go together"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ahpa_error err = {0};
        struct ahpa_httpc_client *c = ahpa_httpc_client_new(&cases[i].o, &err);
        ck_assert_msg(c == NULL, "case %zu accepted", i);
        ck_assert_int_eq(err.code, AHPA_ECONFIG);
        ck_assert_msg(strstr(err.msg, cases[i].want) != NULL, "case %zu: %s", i, err.msg);
    }
}
END_TEST

START_TEST(display_url_hides_userinfo)
{
    /* Empty strings are absent options, as unset flags arrive. */
    struct ahpa_httpc_options empty = {.base_url = "http://h", .cert_file = "", .key_file = "",
                                       .ca_file = "", .token_file = "", .token = ""};
    struct ahpa_httpc_client *e = ahpa_httpc_client_new(&empty, NULL);
    ck_assert_ptr_nonnull(e);
    ahpa_httpc_client_free(e);
    struct ahpa_httpc_options o = {.base_url = "https://user:pw@prom.example:9090/prefix/"};
    struct ahpa_httpc_client *c = ahpa_httpc_client_new(&o, NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(ahpa_httpc_client_url(c), "https://prom.example:9090/prefix");
    ahpa_httpc_client_free(c);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("httpc");
    TCase *tc = tcase_create("loopback");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, get_encodes_params_under_prefix);
    tcase_add_test(tc, post_sends_form_body);
    tcase_add_test(tc, headers_and_token_file_reread);
    tcase_add_test(tc, literal_token_and_no_token);
    tcase_add_test(tc, compression_only_on_request);
    tcase_add_test(tc, json_bodies_methods_and_request_headers);
    tcase_add_test(tc, streaming_receiver);
    tcase_add_test(tc, size_cap);
    tcase_add_test(tc, timeout_within_bound);
    tcase_add_test(tc, refused_and_dropped_are_upstream_errors);
    tcase_add_test(tc, recovers_when_server_returns);
    tcase_add_test(tc, keepalive_reuses_one_connection);
    tcase_add_test(tc, concurrent_requests_share_client);
    tcase_add_test(tc, cancel_stops_inflight_request);
    tcase_add_test(tc, cancel_interrupts_a_waiting_transfer_at_once);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, display_url_hides_userinfo);
    suite_add_tcase(s, tc);
    return s;
}
