/* /healthz, /livez and /readyz in the kube-apiserver's format:
 *
 *   [+]ping ok
 *   [-]prometheus failed: reason withheld
 *   readyz check failed
 *
 * Reasons go to the log only. `?verbose` lists every check on success too,
 * `?exclude=name` (repeatable) skips checks, `/<endpoint>/<check>` runs one. */
#include <stdio.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/httpd.h"
#include "ahpa/log.h"
#include "ahpa/str.h"
#include "api_int.h"

static int check_ping(void *ctx, char *reason, size_t n)
{
    (void)ctx, (void)reason, (void)n;
    return 0;
}

/* Readiness ends when shutdown begins, so the Service drains this pod
 * before its listener closes. */
static int check_shutdown(void *ctx, char *reason, size_t n)
{
    struct ahpa_server *s = ctx;
    if (atomic_load(&s->shutting_down)) {
        snprintf(reason, n, "server is shutting down");
        return -AHPA_EUNAVAIL;
    }
    return 0;
}

void ahpa_api__health_init(struct ahpa_server *s)
{
    ahpa_server_add_check(s, "ping", AHPA_CHECK_ALL, check_ping, s, NULL);
    ahpa_server_add_check(s, "shutdown", AHPA_CHECK_READYZ, check_shutdown, s, NULL);
}

int ahpa_server_add_check(struct ahpa_server *s, const char *name, unsigned mask,
                          ahpa_health_check_fn *fn, void *ctx, struct ahpa_error *err)
{
    pthread_mutex_lock(&s->checks_lock);
    int n = atomic_load(&s->nchecks);
    if (n >= AHPA_API_MAX_CHECKS) {
        pthread_mutex_unlock(&s->checks_lock);
        return ahpa_error_set(err, AHPA_ERANGE, "too many health checks");
    }
    struct ahpa_api__check *c = &s->checks[n];
    ahpa_strlcpy(c->name, name, sizeof(c->name));
    c->mask = mask;
    c->fn = fn;
    c->ctx = ctx;
    /* Publish the entry before the count: readers take no lock. */
    atomic_store(&s->nchecks, n + 1);
    pthread_mutex_unlock(&s->checks_lock);
    return 0;
}

struct excludes {
    const char *names[16];
    int n;
};

static void collect_exclude(void *ctx, const char *key, const char *value)
{
    struct excludes *x = ctx;
    if (strcmp(key, "exclude") == 0 && value != NULL && x->n < 16)
        x->names[x->n++] = value;
}

static bool excluded(const struct excludes *x, const char *name)
{
    for (int i = 0; i < x->n; i++) {
        if (strcmp(x->names[i], name) == 0)
            return true;
    }
    return false;
}

static void serve_one(struct ahpa_server *s, unsigned endpoint, const char *check,
                      struct ahpa_httpd_response *resp)
{
    int n = atomic_load(&s->nchecks);
    for (int i = 0; i < n; i++) {
        const struct ahpa_api__check *c = &s->checks[i];
        if (!(c->mask & endpoint) || strcmp(c->name, check) != 0)
            continue;
        char reason[256] = "";
        int rc = c->fn(c->ctx, reason, sizeof(reason));
        ahpa_buf_reset(&resp->body);
        if (rc == 0) {
            ahpa_buf_puts(&resp->body, "ok");
            resp->status = 200;
        } else {
            AHPA_LOG_V(1, "health check %s failed: %s", c->name, reason);
            ahpa_buf_printf(&resp->body, "internal server error: %s check failed\n", c->name);
            resp->status = 500;
        }
        resp->content_type = "text/plain; charset=utf-8";
        return;
    }
    ahpa_api_status(resp, 404, "no such health check");
}

void ahpa_api__serve_health(struct ahpa_server *s, unsigned endpoint, const char *endpoint_name,
                            const char *check, struct ahpa_httpd_request *req,
                            struct ahpa_httpd_response *resp)
{
    if (check != NULL) {
        serve_one(s, endpoint, check, resp);
        return;
    }
    struct excludes x = {0};
    ahpa_httpd_request_query_foreach(req, collect_exclude, &x);
    struct ahpa_buf *out = &resp->body;
    ahpa_buf_reset(out);
    bool failed = false;
    int n = atomic_load(&s->nchecks);
    for (int i = 0; i < n; i++) {
        const struct ahpa_api__check *c = &s->checks[i];
        if (!(c->mask & endpoint))
            continue;
        if (excluded(&x, c->name)) {
            ahpa_buf_printf(out, "[+]%s excluded: ok\n", c->name);
            continue;
        }
        char reason[256] = "";
        if (c->fn(c->ctx, reason, sizeof(reason)) == 0) {
            ahpa_buf_printf(out, "[+]%s ok\n", c->name);
        } else {
            failed = true;
            AHPA_LOG_V(1, "%s check %s failed: %s", endpoint_name, c->name, reason);
            ahpa_buf_printf(out, "[-]%s failed: reason withheld\n", c->name);
        }
    }
    resp->content_type = "text/plain; charset=utf-8";
    if (failed) {
        ahpa_buf_printf(out, "%s check failed\n", endpoint_name);
        resp->status = 500;
    } else if (ahpa_httpd_request_has_query(req, "verbose")) {
        ahpa_buf_printf(out, "%s check passed\n", endpoint_name);
        resp->status = 200;
    } else {
        ahpa_buf_reset(out);
        ahpa_buf_puts(out, "ok");
        resp->status = 200;
    }
}
