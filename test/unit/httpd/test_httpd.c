/* Unit tests for lib/httpd through loopback TLS requests: dispatch,
 * query and headers, body caps, credential swap, graceful stop. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/arena.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/httpd.h"
#include "ahpa/tls.h"
#include "httpd_int.h"
#include "unit.h"

struct pki {
    struct ahpa_tls_issuer *ca;
    struct ahpa_tls_pem_pair leaf;
    char ca_file[64];
};

static void pki_new(struct pki *p, const char *name)
{
    ck_assert_int_eq(ahpa_tls_issuer_generate(NULL, &p->ca, NULL), 0);
    ck_assert_int_eq(ahpa_tls_generate_serving(p->ca, NULL, 0, NULL, &p->leaf, NULL), 0);
    snprintf(p->ca_file, sizeof(p->ca_file), "/tmp/ahpa-httpd-%s-%d.crt", name, (int)getpid());
    FILE *f = fopen(p->ca_file, "w");
    fputs(ahpa_tls_issuer_cert_pem(p->ca), f);
    fclose(f);
}

static void pki_free(struct pki *p)
{
    unlink(p->ca_file);
    ahpa_tls_pem_pair_dispose(&p->leaf);
    ahpa_tls_issuer_free(p->ca);
}

static void on_query(void *ctx, const char *key, const char *value)
{
    ahpa_buf_printf(ctx, "[%s=%s]", key, value ? value : "(none)");
}

static void handler(void *ctx, struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp)
{
    (void)ctx;
    if (strcmp(req->path, "/slow") == 0) {
        struct timespec ts = {0, 400 * 1000000L};
        nanosleep(&ts, NULL);
    }
    const char *h = ahpa_httpd_request_header(req, "X-Test");
    ahpa_buf_printf(&resp->body, "%s %s body=%zu x=%s q=", req->method, req->path, req->body_len,
                    h ? h : "-");
    ahpa_httpd_request_query_foreach(req, on_query, &resp->body);
    ahpa_httpd_response_header(req, resp, "X-Served", ahpa_arena_strdup(req->arena, "yes"));
    resp->status = strcmp(req->path, "/teapot") == 0 ? 418 : 200;
    resp->route = "test";
}

static struct ahpa_httpd *start(struct pki *p, size_t max_body)
{
    struct ahpa_httpd_options o = {.bind_address = "127.0.0.1", .threads = 2,
                                   .max_body_bytes = max_body, .handler = handler};
    struct ahpa_error err = {0};
    struct ahpa_httpd *h = ahpa_httpd_new(&o, p->leaf.cert_pem, p->leaf.key_pem, &err);
    ck_assert_msg(h != NULL, "%s", err.msg);
    return h;
}

static size_t sink(char *d, size_t s, size_t n, void *ud)
{
    ahpa_buf_append(ud, d, s * n);
    return s * n;
}

/* Returns the HTTP status (or -curl code) and the body in *out. */
static long request(struct ahpa_httpd *h, const char *ca, const char *path, const char *post,
                    long timeout_ms, struct ahpa_buf *out)
{
    char url[512];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u%s", ahpa_httpd_port(h), path);
    CURL *c = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "X-Test: hello");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (post != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        status = -(long)rc;
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return status;
}

static long get(struct ahpa_httpd *h, const char *ca, const char *path, const char *post,
                struct ahpa_buf *out)
{
    return request(h, ca, path, post, 10000L, out);
}

static long get_within(struct ahpa_httpd *h, const char *ca, const char *path, long timeout_ms,
                       struct ahpa_buf *out)
{
    return request(h, ca, path, NULL, timeout_ms, out);
}

START_TEST(dispatch_query_headers_body)
{
    struct pki p;
    pki_new(&p, "a");
    struct ahpa_httpd *h = start(&p, 16);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ck_assert_int_eq(get(h, p.ca_file, "/a/b%20c?x=1&y=%2Fz&flag", NULL, &b), 200);
    ck_assert_str_eq(b.data, "GET /a/b c body=0 x=hello q=[x=1][y=/z][flag=(none)]");
    ahpa_buf_reset(&b);
    ck_assert_int_eq(get(h, p.ca_file, "/teapot", "0123456789", &b), 418);
    ck_assert_str_eq(b.data, "POST /teapot body=10 x=hello q=");
    ahpa_buf_reset(&b);
    /* Over the 16-byte cap: refused before the handler (plain text: no
     * reject callback was given). */
    ck_assert_int_eq(get(h, p.ca_file, "/x", "0123456789abcdefXYZ", &b), 413);
    ck_assert_str_eq(b.data, "request body too large\n");
    ahpa_buf_dispose(&b);
    ahpa_httpd_free(h);
    pki_free(&p);
}
END_TEST

START_TEST(credentials_swap_for_new_handshakes)
{
    struct pki p1, p2;
    pki_new(&p1, "one");
    pki_new(&p2, "two");
    struct ahpa_httpd *h = start(&p1, 1024);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ck_assert_int_eq(get(h, p1.ca_file, "/", NULL, &b), 200);
    ck_assert_int_lt(get(h, p2.ca_file, "/", NULL, &b), 0); /* wrong CA */
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_httpd_set_credentials(h, p2.leaf.cert_pem, p2.leaf.key_pem, &err), 0);
    ck_assert_int_eq(get(h, p2.ca_file, "/", NULL, &b), 200);
    ck_assert_int_lt(get(h, p1.ca_file, "/", NULL, &b), 0);
    /* Broken PEM: refused, the current pair stays. */
    ck_assert_int_lt(ahpa_httpd_set_credentials(h, "garbage", p2.leaf.key_pem, &err), 0);
    ck_assert_int_eq(get(h, p2.ca_file, "/", NULL, &b), 200);
    ahpa_buf_dispose(&b);
    ahpa_httpd_free(h);
    pki_free(&p1);
    pki_free(&p2);
}
END_TEST

/* Waits (bounded) until `want` credential generations are alive. */
static long await_generations(long want)
{
    long got = ahpa_httpd__cred_generations_alive();
    for (int i = 0; i < 500 && got != want; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        got = ahpa_httpd__cred_generations_alive();
    }
    return got;
}

static long keepalive_get(CURL *c, struct ahpa_buf *out, long *new_connections)
{
    ahpa_buf_reset(out);
    long status = 0;
    if (curl_easy_perform(c) != CURLE_OK)
        return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, new_connections);
    return status;
}

START_TEST(retired_credentials_live_until_last_connection_closes)
{
    struct pki p1, p2;
    pki_new(&p1, "held");
    pki_new(&p2, "next");
    long base = ahpa_httpd__cred_generations_alive();
    struct ahpa_httpd *h = start(&p1, 1024);
    ck_assert_int_eq(ahpa_httpd__cred_generations_alive(), base + 1);

    /* A keep-alive client handshakes with the first generation. */
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/", ahpa_httpd_port(h));
    CURL *keep = curl_easy_init();
    curl_easy_setopt(keep, CURLOPT_URL, url);
    curl_easy_setopt(keep, CURLOPT_CAINFO, p1.ca_file);
    curl_easy_setopt(keep, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(keep, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(keep, CURLOPT_TIMEOUT_MS, 10000L);
    long connects = 0;
    ck_assert_int_eq(keepalive_get(keep, &b, &connects), 200);
    ck_assert_int_eq(connects, 1);

    /* Swapped: the server now holds the second generation, the open
     * connection still holds the first. */
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_httpd_set_credentials(h, p2.leaf.cert_pem, p2.leaf.key_pem, &err), 0);
    ck_assert_int_eq(ahpa_httpd__cred_generations_alive(), base + 2);
    /* New handshakes get the second; the old connection goes on serving. */
    ck_assert_int_eq(get(h, p2.ca_file, "/", NULL, &b), 200);
    ck_assert_int_eq(keepalive_get(keep, &b, &connects), 200);
    ck_assert_int_eq(connects, 0); /* the same connection, on the old credentials */
    ck_assert_int_eq(await_generations(base + 2), base + 2);

    /* The last connection holding the first generation closes: freed. */
    curl_easy_cleanup(keep);
    ck_assert_int_eq(await_generations(base + 1), base + 1);

    /* Held by no connection (once the server has seen the last client
     * close), a retired generation goes at the swap. */
    ck_assert_int_eq(ahpa_httpd_set_credentials(h, p1.leaf.cert_pem, p1.leaf.key_pem, &err), 0);
    ck_assert_int_eq(await_generations(base + 1), base + 1);
    ck_assert_int_eq(get(h, p1.ca_file, "/", NULL, &b), 200);

    ahpa_buf_dispose(&b);
    ahpa_httpd_free(h);
    ck_assert_int_eq(ahpa_httpd__cred_generations_alive(), base);
    pki_free(&p1);
    pki_free(&p2);
}
END_TEST

struct slow_call {
    struct ahpa_httpd *h;
    const char *ca;
    long status;
};

static void *slow(void *arg)
{
    struct slow_call *s = arg;
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    s->status = get(s->h, s->ca, "/slow", NULL, &b);
    ahpa_buf_dispose(&b);
    return NULL;
}

START_TEST(graceful_stop_finishes_in_flight)
{
    struct pki p;
    pki_new(&p, "g");
    struct ahpa_httpd *h = start(&p, 1024);
    struct slow_call s = {h, p.ca_file, 0};
    pthread_t th;
    pthread_create(&th, NULL, slow, &s);
    for (int i = 0; i < 200 && ahpa_httpd_inflight(h) == 0; i++) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_uint_eq(ahpa_httpd_inflight(h), 1);
    ck_assert_uint_eq(ahpa_httpd_stop(h, 5000), 0); /* waited for it */
    pthread_join(th, NULL);
    ck_assert_int_eq(s.status, 200);
    ahpa_httpd_free(h);
    pki_free(&p);
}
END_TEST

START_TEST(bad_bind_address)
{
    struct pki p;
    pki_new(&p, "b");
    struct ahpa_httpd_options o = {.bind_address = "not-an-ip", .handler = handler};
    struct ahpa_error err = {0};
    ck_assert_ptr_null(ahpa_httpd_new(&o, p.leaf.cert_pem, p.leaf.key_pem, &err));
    ck_assert(strstr(err.msg, "not an IP address") != NULL);
    ahpa_error_clear(&err);
    o.bind_address = "127.0.0.1";
    ck_assert_ptr_null(ahpa_httpd_new(&o, "not a certificate", p.leaf.key_pem, &err));
    ck_assert(strstr(err.msg, "serving certificate") != NULL);
    pki_free(&p);
}
END_TEST

/* --- deferred work ---------------------------------------------------------- */

static atomic_int jobs_freed, jobs_run, done_total, blocking;

struct job {
    int ms;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void job_run(void *arg, struct ahpa_httpd_response *resp)
{
    struct job *j = arg;
    sleep_ms(j->ms); /* a slow back end */
    atomic_fetch_add(&jobs_run, 1);
    ahpa_buf_printf(&resp->body, "slept %d", j->ms);
    resp->status = 200;
}

static void job_free(void *arg)
{
    atomic_fetch_add(&jobs_freed, 1);
    free(arg);
}

/* "/defer/<ms>": waits on a worker; "/block": waits on the request thread;
 * anything else answers at once. */
static void defer_handler(void *ctx, struct ahpa_httpd_request *req,
                          struct ahpa_httpd_response *resp)
{
    (void)ctx;
    resp->route = "test";
    if (strncmp(req->path, "/defer/", 7) == 0) {
        struct job *j = malloc(sizeof(*j));
        j->ms = (int)strtol(req->path + 7, NULL, 10);
        if (ahpa_httpd_defer(req, job_run, job_free, j) == 0)
            return;
        free(j);
        resp->status = 503;
        ahpa_buf_puts(&resp->body, "busy");
        return;
    }
    if (strcmp(req->path, "/block") == 0) {
        atomic_store(&blocking, 1);
        sleep_ms(400);
    }
    ahpa_buf_puts(&resp->body, "fast");
}

static void count_done(void *ctx, const struct ahpa_httpd_request *req, const char *route,
                       int status, double seconds)
{
    (void)ctx, (void)req, (void)route, (void)status, (void)seconds;
    atomic_fetch_add(&done_total, 1);
}

static int64_t queue_wait_ms; /* for the next start_deferring */

static struct ahpa_httpd *start_deferring(struct pki *p, unsigned threads, unsigned workers,
                                          unsigned max_deferred, unsigned max_inflight)
{
    atomic_store(&jobs_freed, 0);
    atomic_store(&jobs_run, 0);
    atomic_store(&done_total, 0);
    atomic_store(&blocking, 0);
    struct ahpa_httpd_options o = {.bind_address = "127.0.0.1", .threads = threads,
                                   .max_body_bytes = 1024, .handler = defer_handler,
                                   .done = count_done, .workers = workers,
                                   .max_deferred = max_deferred, .max_inflight = max_inflight,
                                   .max_queue_wait_ms = queue_wait_ms};
    struct ahpa_error err = {0};
    struct ahpa_httpd *h = ahpa_httpd_new(&o, p->leaf.cert_pem, p->leaf.key_pem, &err);
    ck_assert_msg(h != NULL, "%s", err.msg);
    return h;
}

struct call {
    struct ahpa_httpd *h;
    const char *ca;
    const char *path;
    long timeout_ms;
    long status;
    char body[64];
};

static void *call_main(void *arg)
{
    struct call *c = arg;
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    c->status = get_within(c->h, c->ca, c->path, c->timeout_ms, &b);
    snprintf(c->body, sizeof(c->body), "%s", b.data ? b.data : "");
    ahpa_buf_dispose(&b);
    return NULL;
}

static void wait_deferred(struct ahpa_httpd *h, unsigned n)
{
    struct ahpa_httpd_stats st;
    for (int i = 0; i < 1000; i++) {
        ahpa_httpd_stats(h, &st);
        if (st.deferred >= n)
            return;
        sleep_ms(5);
    }
    ck_abort_msg("only %u of %u requests deferred", st.deferred, n);
}

/* Until no request is counted on a request thread: the client may see an
 * answer before the server has finished with its request. */
static void wait_immediate_idle(struct ahpa_httpd *h)
{
    struct ahpa_httpd_stats st;
    for (int i = 0; i < 1000; i++) {
        ahpa_httpd_stats(h, &st);
        if (st.inflight == 0)
            return;
        sleep_ms(2);
    }
    ck_abort_msg("%u requests stay in flight", st.inflight);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One request thread: slow requests waiting on workers leave it free. */
START_TEST(deferred_requests_leave_threads_free)
{
    struct pki p;
    pki_new(&p, "d");
    struct ahpa_httpd *h = start_deferring(&p, 1, 4, 16, 0);
    struct call slow[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        slow[i] = (struct call){h, p.ca_file, "/defer/1500", 10000, 0, ""};
        pthread_create(&th[i], NULL, call_main, &slow[i]);
    }
    wait_deferred(h, 4);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    int64_t t0 = now_ms();
    ck_assert_int_eq(get(h, p.ca_file, "/fast", NULL, &b), 200);
    int64_t took = now_ms() - t0;
    ck_assert_msg(took < 1000, "a fast request took %lld ms behind slow ones", (long long)took);
    ck_assert_int_eq(atomic_load(&jobs_run), 0); /* the slow ones are still waiting */
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(slow[i].status, 200);
        ck_assert_str_eq(slow[i].body, "slept 1500");
    }
    ahpa_buf_dispose(&b);
    ahpa_httpd_free(h);
    ck_assert_int_eq(atomic_load(&jobs_freed), 4);
    pki_free(&p);
}
END_TEST

/* Past max_deferred, defer refuses at once; past max_inflight, the
 * request is answered 503 before the handler runs. */
START_TEST(inflight_limits_answer_503)
{
    struct pki p;
    pki_new(&p, "l");
    struct ahpa_httpd *h = start_deferring(&p, 2, 2, 2, 1);
    struct call slow[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        slow[i] = (struct call){h, p.ca_file, "/defer/1000", 10000, 0, ""};
        pthread_create(&th[i], NULL, call_main, &slow[i]);
    }
    wait_deferred(h, 2);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    int64_t t0 = now_ms();
    ck_assert_int_eq(get(h, p.ca_file, "/defer/1000", NULL, &b), 503);
    ck_assert_msg(now_ms() - t0 < 800, "the refusal waited");
    ck_assert_str_eq(b.data, "busy");
    /* Deferred requests do not count against the immediate limit. */
    wait_immediate_idle(h);
    ahpa_buf_reset(&b);
    ck_assert_int_eq(get(h, p.ca_file, "/fast", NULL, &b), 200);
    /* One request blocks a request thread: the next one is over the limit. */
    wait_immediate_idle(h);
    struct call block = {h, p.ca_file, "/block", 10000, 0, ""};
    pthread_t bt;
    pthread_create(&bt, NULL, call_main, &block);
    for (int i = 0; i < 400 && !atomic_load(&blocking); i++)
        sleep_ms(1);
    struct ahpa_httpd_stats st;
    ahpa_buf_reset(&b);
    ck_assert_int_eq(get(h, p.ca_file, "/fast", NULL, &b), 503);
    pthread_join(bt, NULL);
    ck_assert_int_eq(block.status, 200);
    ahpa_httpd_stats(h, &st);
    ck_assert_uint_eq(st.rejected_deferred, 1);
    ck_assert_uint_eq(st.rejected_inflight, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(slow[i].status, 200);
    }
    ahpa_buf_dispose(&b);
    ahpa_httpd_free(h);
    pki_free(&p);
}
END_TEST

/* The client gives up while its request waits: the job still finishes,
 * its answer goes nowhere (the write may still land in the socket buffer
 * before the peer's reset is seen), done runs once, nothing leaks. */
START_TEST(client_leaves_while_suspended)
{
    struct pki p;
    pki_new(&p, "c");
    struct ahpa_httpd *h = start_deferring(&p, 1, 2, 8, 0);
    struct call gone = {h, p.ca_file, "/defer/600", 200, 0, ""};
    call_main(&gone);
    ck_assert_int_lt(gone.status, 0); /* curl timed out and closed */
    for (int i = 0; i < 400 && atomic_load(&jobs_freed) < 1; i++)
        sleep_ms(5);
    ck_assert_int_eq(atomic_load(&jobs_run), 1);
    ck_assert_int_eq(atomic_load(&jobs_freed), 1);
    for (int i = 0; i < 400 && atomic_load(&done_total) < 1; i++)
        sleep_ms(5);
    ck_assert_int_eq(atomic_load(&done_total), 1);
    /* The server is fine. */
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ck_assert_int_eq(get(h, p.ca_file, "/defer/10", NULL, &b), 200);
    for (int i = 0; i < 400 && ahpa_httpd_inflight(h) > 0; i++)
        sleep_ms(5);
    ck_assert_uint_eq(ahpa_httpd_inflight(h), 0);
    ahpa_buf_dispose(&b);
    ahpa_httpd_free(h);
    pki_free(&p);
}
END_TEST

/* Stop while requests wait on workers: they are answered 503 promptly,
 * queued jobs never run, nothing hangs or leaks. */
START_TEST(stop_while_suspended)
{
    struct pki p;
    pki_new(&p, "s");
    struct ahpa_httpd *h = start_deferring(&p, 2, 1, 8, 0);
    struct call waiting[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        waiting[i] = (struct call){h, p.ca_file, "/defer/1500", 10000, 0, ""};
        pthread_create(&th[i], NULL, call_main, &waiting[i]);
    }
    wait_deferred(h, 3); /* one runs, two queue */
    int64_t t0 = now_ms();
    ck_assert_uint_eq(ahpa_httpd_stop(h, 100), 3);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(waiting[i].status, 503);
    }
    ck_assert_msg(now_ms() - t0 < 1400, "stop waited for the back end");
    ahpa_httpd_free(h); /* waits for the running job */
    ck_assert_int_eq(atomic_load(&jobs_run), 1);
    ck_assert_int_eq(atomic_load(&jobs_freed), 3);
    pki_free(&p);
}
END_TEST

/* A job that waited in the queue past max_queue_wait_ms is answered 503
 * and never runs. */
START_TEST(queue_wait_is_bounded)
{
    struct pki p;
    pki_new(&p, "q");
    queue_wait_ms = 200;
    struct ahpa_httpd *h = start_deferring(&p, 2, 1, 8, 0);
    queue_wait_ms = 0;
    struct call first = {h, p.ca_file, "/defer/700", 10000, 0, ""};
    pthread_t th;
    pthread_create(&th, NULL, call_main, &first);
    wait_deferred(h, 1);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ck_assert_int_eq(get(h, p.ca_file, "/defer/10", NULL, &b), 503);
    pthread_join(th, NULL);
    ck_assert_int_eq(first.status, 200);
    ck_assert_int_eq(atomic_load(&jobs_run), 1);
    ahpa_buf_dispose(&b);
    ahpa_httpd_free(h);
    ck_assert_int_eq(atomic_load(&jobs_freed), 2);
    pki_free(&p);
}
END_TEST

/* --- parked requests ----------------------------------------------------------- */

struct parkjob {
    struct ahpa_httpd_waker *waker;
    int ms;
    int value;
};

static atomic_int parks_freed;
static pthread_t wakers[32];
static atomic_int nwakers;

static void *waker_main(void *arg)
{
    struct parkjob *j = arg;
    sleep_ms(j->ms);
    j->value = 42;
    ahpa_httpd_wake(j->waker);
    return NULL;
}

static void parkjob_free(void *arg)
{
    atomic_fetch_add(&parks_freed, 1);
    free(arg);
}

/* "/park/<ms>": parked, woken by a thread after ms; "/now": woken before
 * the handler returns; "/twice": parks twice. The second call answers
 * with what the first left in req->app and the waker in its arg. */
static void park_handler(void *ctx, struct ahpa_httpd_request *req,
                         struct ahpa_httpd_response *resp)
{
    (void)ctx;
    resp->route = "test";
    struct parkjob *woken = ahpa_httpd_request_woken(req);
    int *calls = req->app;
    if (calls == NULL) {
        calls = ahpa_arena_alloc(req->arena, sizeof(*calls));
        *calls = 0;
        req->app = calls;
    }
    (*calls)++;
    bool again = woken == NULL || (strcmp(req->path, "/twice") == 0 && *calls < 3);
    if (!again) {
        ahpa_buf_printf(&resp->body, "calls=%d value=%d", *calls, woken->value);
        return;
    }
    struct parkjob *j = calloc(1, sizeof(*j));
    j->ms = strncmp(req->path, "/park/", 6) == 0 ? (int)strtol(req->path + 6, NULL, 10) : 50;
    j->waker = ahpa_httpd_park(req, j, parkjob_free);
    if (j->waker == NULL) {
        free(j);
        resp->status = 503;
        ahpa_buf_puts(&resp->body, "busy");
        return;
    }
    if (strcmp(req->path, "/now") == 0) {
        j->value = 7;
        ahpa_httpd_wake(j->waker);
        return;
    }
    int n = atomic_fetch_add(&nwakers, 1);
    ck_assert_int_lt(n, 32);
    pthread_create(&wakers[n], NULL, waker_main, j);
}

static struct ahpa_httpd *start_parking(struct pki *p, unsigned threads, unsigned max_deferred)
{
    atomic_store(&parks_freed, 0);
    atomic_store(&nwakers, 0);
    struct ahpa_httpd_options o = {.bind_address = "127.0.0.1", .threads = threads,
                                   .max_body_bytes = 1024, .handler = park_handler,
                                   .max_deferred = max_deferred};
    struct ahpa_error err = {0};
    struct ahpa_httpd *h = ahpa_httpd_new(&o, p->leaf.cert_pem, p->leaf.key_pem, &err);
    ck_assert_msg(h != NULL, "%s", err.msg);
    return h;
}

static void join_wakers(void)
{
    for (int i = 0; i < atomic_load(&nwakers); i++)
        pthread_join(wakers[i], NULL);
}

/* One request thread, four requests parked on other threads: it stays
 * free, each is answered by its second call with what its waker left. */
START_TEST(parked_requests_leave_threads_free)
{
    struct pki p;
    pki_new(&p, "pk");
    struct ahpa_httpd *h = start_parking(&p, 1, 16);
    struct call slow[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        slow[i] = (struct call){h, p.ca_file, "/park/800", 10000, 0, ""};
        pthread_create(&th[i], NULL, call_main, &slow[i]);
    }
    wait_deferred(h, 4);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    int64_t t0 = now_ms();
    ck_assert_int_eq(get(h, p.ca_file, "/now", NULL, &b), 200);
    ck_assert_msg(now_ms() - t0 < 600, "a request waited behind parked ones");
    ck_assert_str_eq(b.data, "calls=2 value=7");
    ahpa_buf_reset(&b);
    ck_assert_int_eq(get(h, p.ca_file, "/twice", NULL, &b), 200);
    ck_assert_str_eq(b.data, "calls=3 value=42");
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(slow[i].status, 200);
        ck_assert_str_eq(slow[i].body, "calls=2 value=42");
    }
    join_wakers();
    ahpa_buf_dispose(&b);
    ahpa_httpd_free(h);
    ck_assert_int_eq(atomic_load(&parks_freed), 7);
    pki_free(&p);
}
END_TEST

/* Past max_deferred a park is refused at once; on stop parked requests
 * get 503 and a later wake is harmless. */
START_TEST(parked_requests_limit_and_stop)
{
    struct pki p;
    pki_new(&p, "ps");
    struct ahpa_httpd *h = start_parking(&p, 2, 2);
    struct call waiting[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        waiting[i] = (struct call){h, p.ca_file, "/park/1500", 10000, 0, ""};
        pthread_create(&th[i], NULL, call_main, &waiting[i]);
    }
    wait_deferred(h, 2);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ck_assert_int_eq(get(h, p.ca_file, "/park/10", NULL, &b), 503);
    ck_assert_str_eq(b.data, "busy");
    int64_t t0 = now_ms();
    ahpa_httpd_stop(h, 100);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(waiting[i].status, 503);
    }
    ck_assert_msg(now_ms() - t0 < 1200, "stop waited for the wakers");
    join_wakers(); /* they wake stopped requests */
    ahpa_httpd_free(h);
    ck_assert_int_eq(atomic_load(&parks_freed), 2);
    ahpa_buf_dispose(&b);
    pki_free(&p);
}
END_TEST

/* --- client certificates ---------------------------------------------------- */

static const struct ahpa_tls_issuer *peer_ca;

static void peer_handler(void *ctx, struct ahpa_httpd_request *req,
                         struct ahpa_httpd_response *resp)
{
    (void)ctx;
    const unsigned char *der[4];
    size_t len[4];
    size_t n = ahpa_httpd_request_peer_chain(req, der, len, 4);
    const char *cn = "-";
    struct ahpa_tls_ca *ca = NULL;
    struct ahpa_tls_identity id = {0};
    const char *pem = ahpa_tls_issuer_cert_pem(peer_ca);
    if (n > 0 && ahpa_tls_ca_load_pem(pem, strlen(pem), &ca, NULL) == 0) {
        struct ahpa_tls_verify_options vo = {.purpose = AHPA_TLS_PURPOSE_CLIENT};
        if (ahpa_tls_verify_chain_der(der, len, n, ca, &vo, &id, NULL) == 0)
            cn = id.cn;
    }
    ahpa_buf_printf(&resp->body, "certs=%zu cn=%s", n, cn);
    ahpa_tls_identity_dispose(&id);
    ahpa_tls_ca_free(ca);
}

static long get_with_cert(struct ahpa_httpd *h, const char *ca, const char *cert,
                          const char *key, struct ahpa_buf *out)
{
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/", ahpa_httpd_port(h));
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    if (cert != NULL) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    long status = 0;
    ahpa_buf_reset(out);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* The server asks for a client certificate only once client CAs are set,
 * never requires one, and hands the chain over unverified. */
START_TEST(client_certificate_requested_not_required)
{
    struct pki p, clients;
    pki_new(&p, "cc");
    pki_new(&clients, "ccca");
    peer_ca = clients.ca;
    struct ahpa_tls_pem_pair leaf = {0};
    const char *orgs[] = {"ops"};
    ck_assert_int_eq(ahpa_tls_generate_client(clients.ca, "alice", orgs, 1, NULL, &leaf, NULL), 0);
    char cert[64], key[64];
    snprintf(cert, sizeof(cert), "/tmp/ahpa-httpd-client-%d.crt", (int)getpid());
    snprintf(key, sizeof(key), "/tmp/ahpa-httpd-client-%d.key", (int)getpid());
    write_text(cert, leaf.cert_pem);
    write_text(key, leaf.key_pem);
    struct ahpa_httpd_options o = {.bind_address = "127.0.0.1", .threads = 1,
                                   .max_body_bytes = 16, .handler = peer_handler};
    struct ahpa_httpd *h = ahpa_httpd_new(&o, p.leaf.cert_pem, p.leaf.key_pem, NULL);
    ck_assert_ptr_nonnull(h);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ck_assert_int_eq(get_with_cert(h, p.ca_file, cert, key, &b), 200);
    ck_assert_str_eq(b.data, "certs=0 cn=-"); /* not asked for */
    struct ahpa_error err = {0};
    ck_assert_int_lt(ahpa_httpd_set_client_cas(h, "not pem", &err), 0);
    ck_assert_int_eq(ahpa_httpd_set_client_cas(h, ahpa_tls_issuer_cert_pem(clients.ca), &err), 0);
    ck_assert_int_eq(get_with_cert(h, p.ca_file, cert, key, &b), 200);
    ck_assert_str_eq(b.data, "certs=1 cn=alice");
    ck_assert_int_eq(get_with_cert(h, p.ca_file, NULL, NULL, &b), 200); /* requested only */
    ck_assert_str_eq(b.data, "certs=0 cn=-");
    ck_assert_int_eq(ahpa_httpd_set_client_cas(h, NULL, &err), 0);
    ck_assert_int_eq(get_with_cert(h, p.ca_file, cert, key, &b), 200);
    ck_assert_str_eq(b.data, "certs=0 cn=-");
    ahpa_buf_dispose(&b);
    ahpa_httpd_free(h);
    unlink(cert);
    unlink(key);
    ahpa_tls_pem_pair_dispose(&leaf);
    pki_free(&clients);
    pki_free(&p);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ahpa_httpd_global_init();
    Suite *s = suite_create("httpd");
    TCase *tc = tcase_create("httpd");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dispatch_query_headers_body);
    tcase_add_test(tc, credentials_swap_for_new_handshakes);
    tcase_add_test(tc, retired_credentials_live_until_last_connection_closes);
    tcase_add_test(tc, graceful_stop_finishes_in_flight);
    tcase_add_test(tc, bad_bind_address);
    tcase_add_test(tc, deferred_requests_leave_threads_free);
    tcase_add_test(tc, inflight_limits_answer_503);
    tcase_add_test(tc, client_leaves_while_suspended);
    tcase_add_test(tc, stop_while_suspended);
    tcase_add_test(tc, queue_wait_is_bounded);
    tcase_add_test(tc, parked_requests_leave_threads_free);
    tcase_add_test(tc, parked_requests_limit_and_stop);
    tcase_add_test(tc, client_certificate_requested_not_required);
    suite_add_tcase(s, tc);
    return s;
}
