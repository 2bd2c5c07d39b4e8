/* The authentication and authorization stage in front of every route.
 *
 * A request runs through it on a request thread; when lib/auth needs a
 * review the caches do not have, the request is parked (httpd suspends the
 * connection, the thread serves others) and lib/auth's review thread wakes
 * it when the answer is in; the handler then runs again for the same
 * request and the stage resumes where it was (req->app keeps its state). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ahpa/arena.h"
#include "ahpa/auth.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/httpd.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "api_int.h"

#define MAX_CHAIN 8
/* Headers looked at per request; a head is bounded by
 * --max-request-head-bytes anyway. */
#define MAX_HEADERS 4096

enum stage { STAGE_AUTHN, STAGE_AUTHZ, STAGE_DONE };

struct stage_state {
    enum stage stage;
    struct ahpa_auth_request areq;
    struct ahpa_auth_user user;
    struct ahpa_auth_attrs attrs;
};

/* What a parked request holds: lib/auth's waiter and the review. */
struct parked {
    struct ahpa_auth_waiter w;
    struct ahpa_httpd_waker *waker;
    struct ahpa_auth_review *rv;
};

struct header_list {
    struct ahpa_auth_header *h;
    size_t n, cap;
};

static void count_header(void *ctx, const char *name, const char *value)
{
    (void)name, (void)value;
    (*(size_t *)ctx)++;
}

static void collect_header(void *ctx, const char *name, const char *value)
{
    struct header_list *l = ctx;
    if (l->n < l->cap)
        l->h[l->n++] = (struct ahpa_auth_header){name, value};
}

static bool watch_param(const struct ahpa_httpd_request *req)
{
    if (!ahpa_httpd_request_has_query(req, "watch"))
        return false;
    const char *v = ahpa_httpd_request_query(req, "watch");
    return v == NULL || (strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0);
}

static struct stage_state *state_new(struct ahpa_httpd_request *req)
{
    struct stage_state *st = ahpa_arena_alloc(req->arena, sizeof(*st));
    memset(st, 0, sizeof(*st));
    size_t count = 0;
    ahpa_httpd_request_header_foreach(req, count_header, &count);
    struct header_list l = {NULL, 0, count < MAX_HEADERS ? count : MAX_HEADERS};
    l.h = ahpa_arena_alloc(req->arena, (l.cap + 1) * sizeof(*l.h));
    ahpa_httpd_request_header_foreach(req, collect_header, &l);
    const unsigned char **der = ahpa_arena_alloc(req->arena, MAX_CHAIN * sizeof(*der));
    size_t *len = ahpa_arena_alloc(req->arena, MAX_CHAIN * sizeof(*len));
    size_t n = ahpa_httpd_request_peer_chain(req, der, len, MAX_CHAIN);
    st->areq = (struct ahpa_auth_request){req->arena, l.h, l.n, der, len,
                                          n < MAX_CHAIN ? n : MAX_CHAIN};
    ahpa_auth_request_attrs(req->method, req->path, watch_param(req), req->arena, &st->attrs);
    req->app = st;
    return st;
}

static void parked_free(void *arg)
{
    struct parked *p = arg;
    ahpa_auth_review_release(p->rv);
    free(p);
}

static void review_done(void *ctx)
{
    struct parked *p = ctx;
    ahpa_httpd_wake(p->waker);
}

/* Parks the request until rv is answered; false (and a 503) when the
 * server cannot hold one more waiting request. */
static bool park(struct ahpa_server *s, struct ahpa_httpd_request *req,
                 struct ahpa_httpd_response *resp, struct ahpa_auth_review *rv)
{
    struct parked *p = ahpa_calloc(1, sizeof(*p));
    p->rv = rv;
    p->waker = ahpa_httpd_park(req, p, parked_free);
    if (p->waker == NULL) {
        parked_free(p);
        ahpa_httpd_response_header(req, resp, "Retry-After", "1");
        ahpa_api_status(resp, 503, "too many requests waiting on authentication or "
                                   "authorization, please try again later");
        return false;
    }
    ahpa_auth_wait(s->auth, rv, &p->w, review_done, p);
    return true;
}

static void authn_failed(struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp,
                         int rc, const struct ahpa_error *err)
{
    AHPA_LOG_V(2, "authentication of %s %.256s from %s failed: %s", req->method, req->path,
               req->remote_addr, ahpa_error_message(err, rc));
    if (rc == -AHPA_EUNAUTHORIZED) {
        ahpa_api_status(resp, 401, "Unauthorized");
    } else if (rc == -AHPA_EUNAVAIL) {
        ahpa_httpd_response_header(req, resp, "Retry-After", "1");
        ahpa_api_status(resp, 503, err->msg);
    } else { /* hostile front-proxy headers: say which bound */
        ahpa_api_status(resp, 400, err->msg);
    }
}

static void authz_failed(struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp,
                         const struct stage_state *st, int rc, const char *reason,
                         const struct ahpa_error *err)
{
    if (rc == -AHPA_EFORBIDDEN) {
        ahpa_api_status(resp, 403,
                        ahpa_auth_forbidden_message(&st->user, &st->attrs, reason, req->arena));
        return;
    }
    AHPA_LOG_WARN_REPEAT("authorization failed", ahpa_strerror(rc), "%s %.256s: %s",
                         req->method, req->path, ahpa_error_message(err, rc));
    if (rc == -AHPA_EUNAVAIL) {
        ahpa_httpd_response_header(req, resp, "Retry-After", "1");
        ahpa_api_status(resp, 503, err->msg);
    } else { /* as kube-apiserver answers an authorizer error */
        ahpa_api_status(resp, 500, "Internal error occurred: authorization review failed");
    }
}

bool ahpa_api__auth_stage(struct ahpa_server *s, struct ahpa_httpd_request *req,
                          struct ahpa_httpd_response *resp)
{
    if (s->auth == NULL)
        return true;
    struct stage_state *st = req->app != NULL ? req->app : state_new(req);
    struct parked *woken = ahpa_httpd_request_woken(req);
    struct ahpa_auth_review *answered = woken != NULL ? woken->rv : NULL;
    struct ahpa_auth_review *pending = NULL;
    struct ahpa_error err = {0};
    if (st->stage == STAGE_AUTHN) {
        int rc = ahpa_auth_authenticate(s->auth, &st->areq, answered, &st->user, &pending, &err);
        if (rc == AHPA_AUTH_WAIT)
        {
            park(s, req, resp, pending);
            return false;
        }
        if (rc < 0) {
            authn_failed(req, resp, rc, &err);
            return false;
        }
        st->stage = STAGE_AUTHZ;
    }
    if (st->stage == STAGE_AUTHZ) {
        const char *reason = "";
        int rc = ahpa_auth_authorize(s->auth, &st->user, &st->attrs, req->arena, answered,
                                     &pending, &reason, &err);
        if (rc == AHPA_AUTH_WAIT)
        {
            park(s, req, resp, pending);
            return false;
        }
        if (rc < 0) {
            authz_failed(req, resp, st, rc, reason, &err);
            return false;
        }
        st->stage = STAGE_DONE;
    }
    return true;
}

static void collect_auth(void *ctx, struct ahpa_buf *out)
{
    struct ahpa_server *s = ctx;
    ahpa_auth_metrics(s->auth, out);
}

void ahpa_server_use_auth(struct ahpa_server *s, struct ahpa_auth *a)
{
    s->auth = a;
    ahpa_server_add_collector(s, collect_auth, s);
}

/* The bundle is read from lib/auth under the lock rather than taken from
 * the notification, so the last call always installs the newest one. */
void ahpa_api__auth_advertise(struct ahpa_server *s)
{
    pthread_mutex_lock(&s->cas_lock);
    struct ahpa_httpd *h = atomic_load(&s->httpd_started);
    if (h != NULL && s->auth != NULL) {
        char *pem = ahpa_auth_client_cas_pem(s->auth);
        struct ahpa_error err = {0};
        int rc = ahpa_httpd_set_client_cas(h, pem, &err);
        if (rc < 0)
            AHPA_LOG_WARN("client CA bundle not advertised: %s", ahpa_error_message(&err, rc));
        free(pem);
    }
    pthread_mutex_unlock(&s->cas_lock);
}

void ahpa_server_client_cas_changed(void *server, const char *ca_pem)
{
    (void)ca_pem;
    ahpa_api__auth_advertise(server);
}
