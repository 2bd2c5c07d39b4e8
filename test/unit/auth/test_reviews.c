/* lib/auth's reviews end to end against a tiny plain-HTTP reviewer on
 * 127.0.0.1: parking hands, waiters, coalescing, answered handles, failures
 * not cached. (The real kube-apiserver semantics are in test_auth.sh.) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/arena.h"
#include "ahpa/auth.h"
#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "reviews.h"
#include "unit.h"

/* --- the reviewer: TokenReview "good" is alice; SAR allows alice only --- */

struct reviewer {
    int fd, port;
    pthread_t th;
    atomic_int token_reviews, access_reviews;
    atomic_int delay_ms, fail;
    atomic_bool stop;
};

static void answer(int fd, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     body != NULL ? "201 Created" : "500 Internal Server Error",
                     body != NULL ? strlen(body) : 0);
    if (write(fd, head, (size_t)n) < 0 || (body != NULL && write(fd, body, strlen(body)) < 0))
        return;
}

static void serve_one(struct reviewer *rv, int fd)
{
    char buf[16384];
    size_t len = 0;
    for (int i = 0; i < 100 && len < sizeof(buf) - 1; i++) { /* head and body, bounded */
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *body = strstr(buf, "\r\n\r\n");
        const char *cl = strstr(buf, "Content-Length:");
        if (body != NULL && cl != NULL && strlen(body + 4) >= (size_t)strtol(cl + 15, NULL, 10))
            break;
    }
    buf[len] = '\0';
    int ms = atomic_load(&rv->delay_ms);
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    if (strstr(buf, "tokenreviews") != NULL) {
        atomic_fetch_add(&rv->token_reviews, 1);
        answer(fd, atomic_load(&rv->fail) ? NULL
                   : strstr(buf, "\"good\"") != NULL
                       ? "{\"status\":{\"authenticated\":true,\"user\":{\"username\":\"alice\","
                         "\"groups\":[\"ops\"]}}}"
                       : "{\"status\":{\"authenticated\":false,\"error\":\"unknown\"}}");
    } else {
        atomic_fetch_add(&rv->access_reviews, 1);
        answer(fd, atomic_load(&rv->fail) ? NULL
                   : strstr(buf, "\"user\":\"alice\"") != NULL
                       ? "{\"status\":{\"allowed\":true}}"
                       : "{\"status\":{\"allowed\":false,\"reason\":\"not alice\"}}");
    }
}

static void *reviewer_main(void *arg)
{
    struct reviewer *rv = arg;
    while (!atomic_load(&rv->stop)) {
        int fd = accept(rv->fd, NULL, NULL);
        if (fd < 0)
            break;
        serve_one(rv, fd);
        close(fd);
    }
    return NULL;
}

static struct reviewer *reviewer_start(void)
{
    struct reviewer *rv = calloc(1, sizeof(*rv));
    rv->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(rv->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(rv->fd, 64), 0);
    socklen_t sl = sizeof(a);
    getsockname(rv->fd, (struct sockaddr *)&a, &sl);
    rv->port = ntohs(a.sin_port);
    pthread_create(&rv->th, NULL, reviewer_main, rv);
    return rv;
}

static void reviewer_stop(struct reviewer *rv)
{
    atomic_store(&rv->stop, true);
    shutdown(rv->fd, SHUT_RDWR);
    pthread_join(rv->th, NULL);
    close(rv->fd);
    free(rv);
}

/* --- waiting as the API layer does, with a condition variable ------------ */

struct wait {
    struct ahpa_auth_waiter w;
    pthread_mutex_t m;
    pthread_cond_t c;
    bool done;
};

static void notified(void *ctx)
{
    struct wait *w = ctx;
    pthread_mutex_lock(&w->m);
    w->done = true;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

static void wait_for(struct ahpa_auth *a, struct ahpa_auth_review *rv)
{
    struct wait w = {.done = false};
    pthread_mutex_init(&w.m, NULL);
    pthread_cond_init(&w.c, NULL);
    ahpa_auth_wait(a, rv, &w.w, notified, &w);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&w.m);
    while (!w.done)
        if (pthread_cond_timedwait(&w.c, &w.m, &until) != 0)
            break;
    bool done = w.done;
    pthread_mutex_unlock(&w.m);
    ck_assert_msg(done, "no notification within 10 s");
    pthread_cond_destroy(&w.c);
    pthread_mutex_destroy(&w.m);
}

struct fixture {
    struct reviewer *rv;
    struct ahpa_kube_config *kc;
    struct ahpa_kube_client *client;
    struct ahpa_auth *a;
};

static void fixture_start(struct fixture *f, int64_t ttl_ms)
{
    f->rv = reviewer_start();
    char yaml[512];
    snprintf(yaml, sizeof(yaml),
             "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
             "clusters: [{name: k, cluster: {server: \"http://127.0.0.1:%d\"}}]\n"
             "users: [{name: u, user: {token: t}}]\n"
             "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
             f->rv->port);
    struct ahpa_kube_options ko = {.qps = -1, .timeout_ms = 5000};
    struct ahpa_error err = {0};
    ck_assert_msg(ahpa_kube_config_parse(yaml, strlen(yaml), NULL, &ko, &f->kc, &err) == 0, "%s",
                  err.msg);
    f->client = ahpa_kube_client_new(f->kc, &ko, &err);
    ck_assert_ptr_nonnull(f->client);
    struct ahpa_auth_options o = {
        .mode = AHPA_AUTH_MODE_WEBHOOK, .anonymous = true, .authn_client = f->client,
        .authz_client = f->client, .skip_lookup = true, .token_cache_ttl_ms = ttl_ms,
        .authorized_ttl_ms = ttl_ms, .unauthorized_ttl_ms = ttl_ms, .workers = 2,
    };
    f->a = ahpa_auth_new(&o, &err);
    ck_assert_ptr_nonnull(f->a);
    ck_assert_int_eq(ahpa_auth_start(f->a, &err), 0);
}

static void fixture_stop(struct fixture *f)
{
    ahpa_auth_free(f->a);
    ahpa_kube_client_free(f->client);
    ahpa_kube_config_free(f->kc);
    reviewer_stop(f->rv);
}

/* Authenticates a bearer token the way the API layer does. */
static int token_user(struct ahpa_auth *a, const char *token, struct ahpa_arena *arena,
                      struct ahpa_auth_user *u, bool *waited)
{
    char value[64];
    snprintf(value, sizeof(value), "Bearer %s", token);
    const struct ahpa_auth_header h[] = {{"Authorization", value}};
    struct ahpa_auth_request r = {.arena = arena, .headers = h, .nheaders = 1};
    struct ahpa_auth_review *pending = NULL;
    struct ahpa_error err = {0};
    int rc = ahpa_auth_authenticate(a, &r, NULL, u, &pending, &err);
    *waited = rc == AHPA_AUTH_WAIT;
    if (rc != AHPA_AUTH_WAIT)
        return rc;
    wait_for(a, pending);
    struct ahpa_auth_review *again = NULL;
    rc = ahpa_auth_authenticate(a, &r, pending, u, &again, &err);
    ck_assert_ptr_null(again); /* the answered handle decides */
    ahpa_auth_review_release(pending);
    return rc;
}

START_TEST(token_reviews_parked_and_cached)
{
    struct fixture f;
    fixture_start(&f, 60000);
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    struct ahpa_auth_user u;
    bool waited;
    ck_assert_int_eq(token_user(f.a, "good", arena, &u, &waited), 0);
    ck_assert(waited);
    ck_assert_str_eq(u.name, "alice");
    ck_assert(ahpa_auth_user_in_group(&u, "ops"));
    ck_assert(ahpa_auth_user_in_group(&u, AHPA_AUTH_GROUP_AUTHENTICATED));
    ck_assert_int_eq(token_user(f.a, "good", arena, &u, &waited), 0);
    ck_assert(!waited); /* from the cache */
    ck_assert_int_eq(token_user(f.a, "bad", arena, &u, &waited), -AHPA_EUNAUTHORIZED);
    ck_assert_int_eq(token_user(f.a, "bad", arena, &u, &waited), -AHPA_EUNAUTHORIZED);
    ck_assert(!waited); /* a rejection is cached too */
    ck_assert_int_eq(atomic_load(&f.rv->token_reviews), 2);
    /* A failing reviewer: 401, and not cached (asked again). */
    atomic_store(&f.rv->fail, 1);
    ck_assert_int_eq(token_user(f.a, "other", arena, &u, &waited), -AHPA_EUNAUTHORIZED);
    ck_assert_int_eq(token_user(f.a, "other", arena, &u, &waited), -AHPA_EUNAUTHORIZED);
    ck_assert(waited);
    ck_assert_int_eq(atomic_load(&f.rv->token_reviews), 4);
    ahpa_arena_free(arena);
    fixture_stop(&f);
}
END_TEST

struct asker {
    struct ahpa_auth *a;
    const char *user;
    int rc;
    bool waited;
};

static void *ask_main(void *arg)
{
    struct asker *k = arg;
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    const char *groups[] = {"system:authenticated"};
    struct ahpa_auth_user u = {k->user, "", groups, 1, NULL, 0, "token"};
    struct ahpa_auth_attrs at;
    ahpa_auth_request_attrs("GET", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/d/pods/*/m",
                            false, arena, &at);
    struct ahpa_auth_review *pending = NULL;
    const char *reason;
    k->rc = ahpa_auth_authorize(k->a, &u, &at, arena, NULL, &pending, &reason, NULL);
    k->waited = k->rc == AHPA_AUTH_WAIT;
    if (k->waited) {
        wait_for(k->a, pending);
        struct ahpa_auth_review *again = NULL;
        k->rc = ahpa_auth_authorize(k->a, &u, &at, arena, pending, &again, &reason, NULL);
        ahpa_auth_review_release(again);
        ahpa_auth_review_release(pending);
    }
    ahpa_arena_free(arena);
    return NULL;
}

/* Twelve identical questions while the reviewer is slow: one review on the
 * wire, every asker gets its answer; with a TTL of 0 nothing is cached but
 * the answered handle still decides. */
START_TEST(access_reviews_coalesced)
{
    struct fixture f;
    fixture_start(&f, 0);
    atomic_store(&f.rv->delay_ms, 1000); /* every asker arrives while it is on the wire */
    struct asker k[12];
    pthread_t th[12];
    for (int i = 0; i < 12; i++) {
        k[i] = (struct asker){f.a, i % 2 ? "alice" : "mallory", 0, false};
        pthread_create(&th[i], NULL, ask_main, &k[i]);
    }
    for (int i = 0; i < 12; i++) {
        pthread_join(th[i], NULL);
        /* (one that asked just as the answer came in needed no wait) */
        ck_assert_int_eq(k[i].rc, i % 2 ? 0 : -AHPA_EFORBIDDEN);
    }
    ck_assert_int_eq(atomic_load(&f.rv->access_reviews), 2); /* alice's and mallory's */
    struct ahpa_auth_stats st;
    ahpa_auth_stats(f.a, &st);
    ck_assert_uint_eq(st.access_reviews, 2);
    ck_assert_uint_eq(st.coalesced, 10);
    fixture_stop(&f);
}
END_TEST

void ahpa_auth_test_reviews(Suite *s)
{
    TCase *tc = tcase_create("reviews");
    tcase_add_test(tc, token_reviews_parked_and_cached);
    tcase_add_test(tc, access_reviews_coalesced);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
}
