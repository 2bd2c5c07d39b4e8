/* The REST client: paths, the limiter in front of lib/httpc, verbs,
 * paging, and Kubernetes Status answers as project errors. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "kube_int.h"

/* Status messages kept in an error; the rest is cut. */
#define STATUS_MSG_MAX 160

struct ahpa_kube_client {
    struct ahpa_httpc_options hopts; /* strings below are owned copies */
    char *server, *ca_file, *cert_file, *key_file, *token_file, *token, *user_agent;
    struct ahpa_httpc_client *http;
    struct ahpa_kube__limiter limiter;
    atomic_bool cancelled;
    atomic_uint_fast64_t requests;
};

int64_t ahpa_kube__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static char *dup_or_null(const char *s)
{
    return s ? ahpa_strdup(s) : NULL;
}

struct ahpa_kube_client *ahpa_kube_client_new(const struct ahpa_kube_config *cfg,
                                              const struct ahpa_kube_options *o,
                                              struct ahpa_error *err)
{
    static const struct ahpa_kube_options none = {0};
    if (cfg == NULL || cfg->server == NULL) {
        ahpa_error_set(err, AHPA_EINVAL, "Kubernetes client without a server");
        return NULL;
    }
    if (o == NULL)
        o = &none;
    struct ahpa_kube_client *c = ahpa_calloc(1, sizeof(*c));
    c->server = ahpa_strdup(cfg->server);
    c->ca_file = dup_or_null(cfg->ca_file);
    c->cert_file = dup_or_null(cfg->cert_file);
    c->key_file = dup_or_null(cfg->key_file);
    c->token_file = dup_or_null(cfg->token_file);
    c->token = dup_or_null(cfg->token);
    c->user_agent = ahpa_strdup(o->user_agent ? o->user_agent : "ahpa-metrics-adapter");
    c->hopts = (struct ahpa_httpc_options){
        .base_url = c->server, .ca_file = c->ca_file, .insecure_skip_verify = cfg->insecure,
        .cert_file = c->cert_file, .key_file = c->key_file, .token_file = c->token_file,
        .token = c->token, .user_agent = c->user_agent,
        .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : AHPA_KUBE_DEFAULT_TIMEOUT_MS};
    /* Responses keep httpc's 64 MiB cap: a page of 500 pods is a few MB. */
    double qps = o->qps != 0 ? o->qps : AHPA_KUBE_DEFAULT_QPS;
    ahpa_kube__limiter_init(&c->limiter, qps, o->burst > 0 ? o->burst : AHPA_KUBE_DEFAULT_BURST);
    atomic_init(&c->cancelled, false);
    atomic_init(&c->requests, 0);
    c->http = ahpa_httpc_client_new(&c->hopts, err);
    if (c->http == NULL) {
        ahpa_kube_client_free(c);
        return NULL;
    }
    return c;
}

void ahpa_kube_client_free(struct ahpa_kube_client *c)
{
    if (c == NULL)
        return;
    ahpa_httpc_client_free(c->http);
    ahpa_kube__limiter_dispose(&c->limiter);
    free(c->server);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c->token_file);
    if (c->token != NULL)
        memset(c->token, 0, strlen(c->token));
    free(c->token);
    free(c->user_agent);
    free(c);
}

void ahpa_kube_client_cancel(struct ahpa_kube_client *c)
{
    if (c == NULL)
        return;
    atomic_store(&c->cancelled, true);
    ahpa_httpc_client_cancel(c->http);
}

uint64_t ahpa_kube_client_requests(struct ahpa_kube_client *c)
{
    return atomic_load(&c->requests);
}

struct ahpa_httpc_client *ahpa_kube__httpc_new(struct ahpa_kube_client *c, struct ahpa_error *err)
{
    return ahpa_httpc_client_new(&c->hopts, err);
}

/* Sleeps off the limiter's answer in short slices so that a cancel (of
 * the client or of the caller, `abort`) is noticed quickly. */
int ahpa_kube__do(struct ahpa_kube_client *c, struct ahpa_httpc_client *h, atomic_bool *abort,
                  const struct ahpa_httpc_request *req, struct ahpa_httpc_response *resp,
                  struct ahpa_error *err)
{
    int64_t wait_ns = ahpa_kube__limiter_reserve(&c->limiter, ahpa_kube__now_ns());
    int64_t until = ahpa_kube__now_ns() + wait_ns;
    for (int64_t left = wait_ns; left > 0; left = until - ahpa_kube__now_ns()) {
        if (atomic_load(&c->cancelled) || (abort != NULL && atomic_load(abort)))
            return ahpa_error_set(err, AHPA_EUNAVAIL, "%s: cancelled", req->path);
        int64_t slice = left < 20000000 ? left : 20000000;
        struct timespec ts = {0, (long)slice};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&c->requests, 1);
    return ahpa_httpc_do(h ? h : c->http, req, resp, err);
}

/* ---- paths -------------------------------------------------------- */

static bool safe_segment(const char *s)
{
    return s != NULL && s[0] != '\0' && strpbrk(s, "/?#%\\ \t\r\n") == NULL &&
           strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int ahpa_kube_path(const struct ahpa_kube_resource *r, const char *ns, const char *name,
                   const char *subresource, struct ahpa_buf *out, struct ahpa_error *err)
{
    if (r == NULL || !safe_segment(r->version) || !safe_segment(r->resource) ||
        (r->group != NULL && r->group[0] != '\0' && !safe_segment(r->group)))
        return ahpa_error_set(err, AHPA_EINVAL, "bad resource type");
    bool have_ns = ns != NULL && ns[0] != '\0';
    if ((have_ns && !safe_segment(ns)) || (name != NULL && !safe_segment(name)) ||
        (subresource != NULL && !safe_segment(subresource)))
        return ahpa_error_set(err, AHPA_EINVAL, "bad namespace, name or subresource for %s",
                              r->resource);
    if (r->group == NULL || r->group[0] == '\0')
        ahpa_buf_printf(out, "/api/%s", r->version);
    else
        ahpa_buf_printf(out, "/apis/%s/%s", r->group, r->version);
    if (have_ns && r->namespaced)
        ahpa_buf_printf(out, "/namespaces/%s", ns);
    ahpa_buf_printf(out, "/%s", r->resource);
    if (name != NULL)
        ahpa_buf_printf(out, "/%s", name);
    if (name != NULL && subresource != NULL)
        ahpa_buf_printf(out, "/%s", subresource);
    return 0;
}

/* ---- Status ------------------------------------------------------- */

static int code_of(long http, const char *reason)
{
    static const struct {
        const char *reason;
        int code;
    } by_reason[] = {
        {"NotFound", AHPA_ENOTFOUND},         {"AlreadyExists", AHPA_EEXIST},
        {"Conflict", AHPA_ECONFLICT},         {"Expired", AHPA_EGONE},
        {"Gone", AHPA_EGONE},                 {"Unauthorized", AHPA_EUNAUTHORIZED},
        {"Forbidden", AHPA_EFORBIDDEN},       {"Invalid", AHPA_EINVAL},
        {"BadRequest", AHPA_EINVAL},          {"TooManyRequests", AHPA_EUNAVAIL},
        {"Timeout", AHPA_ETIMEDOUT},          {"ServerTimeout", AHPA_ETIMEDOUT},
        {"MethodNotAllowed", AHPA_EMETHOD},   {"NotAcceptable", AHPA_ENOTACCEPTABLE},
        {"RequestEntityTooLarge", AHPA_ETOOBIG}, {"ServiceUnavailable", AHPA_EUNAVAIL},
    };
    for (size_t i = 0; reason != NULL && i < sizeof(by_reason) / sizeof(by_reason[0]); i++)
        if (strcmp(reason, by_reason[i].reason) == 0)
            return by_reason[i].code;
    switch (http) {
    case 400: case 422: return AHPA_EINVAL;
    case 401: return AHPA_EUNAUTHORIZED;
    case 403: return AHPA_EFORBIDDEN;
    case 404: return AHPA_ENOTFOUND;
    case 405: return AHPA_EMETHOD;
    case 406: return AHPA_ENOTACCEPTABLE;
    case 409: return AHPA_ECONFLICT;
    case 410: return AHPA_EGONE;
    case 413: return AHPA_ETOOBIG;
    case 429: case 503: return AHPA_EUNAVAIL;
    case 504: return AHPA_ETIMEDOUT;
    default: return AHPA_EUPSTREAM;
    }
}

/* The server's message on one line, cut, control characters replaced. */
static void one_line(const char *s, char *out, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; s[i] != '\0' && j + 1 < n; i++)
        out[j++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
    out[j] = '\0';
}

int ahpa_kube_status_error(long http_status, const char *body, size_t len, const char *what,
                           char *reason, size_t n, struct ahpa_error *err)
{
    json_t *st = body != NULL && len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
    bool is_status = json_is_object(st) &&
                     json_is_string(json_object_get(st, "kind")) &&
                     strcmp(json_string_value(json_object_get(st, "kind")), "Status") == 0;
    const char *r = is_status ? json_string_value(json_object_get(st, "reason")) : NULL;
    const char *m = is_status ? json_string_value(json_object_get(st, "message")) : NULL;
    json_t *code = is_status ? json_object_get(st, "code") : NULL;
    /* The HTTP status, unless there is none to speak of (an ERROR event
     * arrives in a 200 stream): then the Status's own code. */
    long http = http_status;
    if (json_is_integer(code) && (http_status == 0 || (http_status >= 200 && http_status < 300)))
        http = (long)json_integer_value(code);
    char msg[STATUS_MSG_MAX + 1];
    one_line(m ? m : "", msg, sizeof(msg));
    char rs[64];
    one_line(r ? r : "", rs, sizeof(rs));
    if (reason != NULL && n > 0)
        ahpa_strlcpy(reason, rs, n);
    int ec = code_of(http, rs[0] ? rs : NULL);
    json_decref(st);
    return ahpa_error_set(err, ec, "%s: %ld%s%s%s%s", what ? what : "request", http,
                          rs[0] ? " " : "", rs, msg[0] ? ": " : "", msg);
}

/* ---- verbs -------------------------------------------------------- */

struct call {
    enum ahpa_httpc_method method;
    const char *path;
    const struct ahpa_httpc_param *params;
    size_t n_params;
    const json_t *body;
    const char *content_type;
};

static const char *verb_name(enum ahpa_httpc_method m)
{
    static const char *const names[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    return names[m];
}

/* Sends, judges the status, parses a JSON answer into *out (may be NULL). */
static int call(struct ahpa_kube_client *c, struct ahpa_httpc_client *h, atomic_bool *abort,
                const struct call *k, json_t **out, struct ahpa_error *err)
{
    static const char *const accept[] = {"Accept: application/json"};
    char *text = k->body ? json_dumps(k->body, JSON_COMPACT) : NULL;
    if (k->body != NULL && text == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "%s %s: body is not serialisable",
                              verb_name(k->method), k->path);
    struct ahpa_httpc_request req = {
        .method = k->method, .path = k->path, .params = k->params, .n_params = k->n_params,
        .body = text, .body_len = text ? strlen(text) : 0, .content_type = k->content_type,
        .headers = accept, .n_headers = 1};
    struct ahpa_httpc_response resp;
    ahpa_httpc_response_init(&resp);
    int rc = ahpa_kube__do(c, h, abort, &req, &resp, err);
    free(text);
    char what[300];
    snprintf(what, sizeof(what), "%s %.280s", verb_name(k->method), k->path);
    if (rc == 0 && (resp.status < 200 || resp.status > 299))
        rc = ahpa_kube_status_error(resp.status, resp.body.data, resp.body.len, what, NULL, 0,
                                    err);
    if (rc == 0 && out != NULL) {
        json_error_t je;
        *out = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, &je);
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            rc = ahpa_error_set(err, AHPA_EUPSTREAM, "%s: answer is not a JSON object: %.80s",
                                what, je.text);
        }
    }
    ahpa_httpc_response_dispose(&resp);
    return rc;
}

static int object_call(struct ahpa_kube_client *c, enum ahpa_httpc_method m,
                       const struct ahpa_kube_resource *r, const char *ns, const char *name,
                       const char *sub, const json_t *body, const char *ct, json_t **out,
                       struct ahpa_error *err)
{
    if (out != NULL)
        *out = NULL;
    if (c == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "no Kubernetes client");
    struct ahpa_buf path;
    ahpa_buf_init(&path);
    int rc = ahpa_kube_path(r, ns, name, sub, &path, err);
    if (rc == 0) {
        struct call k = {.method = m, .path = ahpa_buf_cstr(&path), .body = body,
                         .content_type = ct};
        rc = call(c, NULL, NULL, &k, out, err);
    }
    ahpa_buf_dispose(&path);
    return rc;
}

int ahpa_kube_get(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                  const char *ns, const char *name, const char *subresource, json_t **out,
                  struct ahpa_error *err)
{
    if (name == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "get without a name");
    return object_call(c, AHPA_HTTPC_GET, r, ns, name, subresource, NULL, NULL, out, err);
}

int ahpa_kube_create(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                     const char *ns, const json_t *body, json_t **out, struct ahpa_error *err)
{
    if (!json_is_object(body))
        return ahpa_error_set(err, AHPA_EINVAL, "create without an object");
    return object_call(c, AHPA_HTTPC_POST, r, ns, NULL, NULL, body, "application/json", out,
                       err);
}

int ahpa_kube_update(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                     const char *ns, const char *name, const char *subresource,
                     const json_t *body, json_t **out, struct ahpa_error *err)
{
    if (name == NULL || !json_is_object(body))
        return ahpa_error_set(err, AHPA_EINVAL, "update without a name or an object");
    return object_call(c, AHPA_HTTPC_PUT, r, ns, name, subresource, body, "application/json",
                       out, err);
}

int ahpa_kube_patch(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                    const char *ns, const char *name, const char *subresource,
                    const json_t *patch, json_t **out, struct ahpa_error *err)
{
    if (name == NULL || !json_is_object(patch))
        return ahpa_error_set(err, AHPA_EINVAL, "patch without a name or an object");
    return object_call(c, AHPA_HTTPC_PATCH, r, ns, name, subresource, patch,
                       "application/merge-patch+json", out, err);
}

int ahpa_kube_delete(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                     const char *ns, const char *name, struct ahpa_error *err)
{
    if (name == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "delete without a name");
    return object_call(c, AHPA_HTTPC_DELETE, r, ns, name, NULL, NULL, NULL, NULL, err);
}

/* ---- paging ------------------------------------------------------- */

/* Appends one page's items to `items`, or hands each to `sink` (then
 * `items` stays empty and the sink bounds the count); returns the
 * continue token (borrowed from page) through *cont. */
static int take_page(json_t *page, json_t *items, const struct ahpa_kube__sink *sink,
                     size_t max_items, const char **cont, const char *path,
                     struct ahpa_error *err)
{
    json_t *arr = json_object_get(page, "items");
    if (!json_is_array(arr) && !json_is_null(arr) && arr != NULL)
        return ahpa_error_set(err, AHPA_EUPSTREAM, "GET %s: items is not a list", path);
    if (json_array_size(items) + json_array_size(arr) > max_items)
        return ahpa_error_set(err, AHPA_ETOOBIG, "GET %s: more than %zu objects", path,
                              max_items);
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        if (!json_is_object(it))
            return ahpa_error_set(err, AHPA_EUPSTREAM, "GET %s: item %zu is not an object",
                                  path, i);
        if (sink == NULL) {
            json_array_append(items, it);
            continue;
        }
        int rc = sink->fn(it, sink->ud, err);
        if (rc != 0)
            return rc;
    }
    *cont = json_string_value(json_object_get(json_object_get(page, "metadata"), "continue"));
    return 0;
}

static void list_params(const struct ahpa_kube_list_options *lo, char *limit, size_t n,
                        const char *cont, struct ahpa_httpc_param *p, size_t *np)
{
    *np = 0;
    snprintf(limit, n, "%zu", lo->page_limit ? lo->page_limit : AHPA_KUBE_DEFAULT_PAGE_LIMIT);
    p[(*np)++] = (struct ahpa_httpc_param){"limit", limit};
    if (cont != NULL && cont[0] != '\0')
        p[(*np)++] = (struct ahpa_httpc_param){"continue", cont};
    if (lo->label_selector != NULL && lo->label_selector[0] != '\0')
        p[(*np)++] = (struct ahpa_httpc_param){"labelSelector", lo->label_selector};
    if (lo->field_selector != NULL && lo->field_selector[0] != '\0')
        p[(*np)++] = (struct ahpa_httpc_param){"fieldSelector", lo->field_selector};
}

/* Bounded: each page holds at least one object or ends the list, and the
 * total is capped, so the loop runs at most max_items + 1 times. */
static int list_pages(struct ahpa_kube_client *c, struct ahpa_httpc_client *h,
                      atomic_bool *abort, const char *path,
                      const struct ahpa_kube_list_options *lo, const struct ahpa_kube__sink *sink,
                      json_t *list, struct ahpa_error *err)
{
    size_t max_items = lo->max_items ? lo->max_items : AHPA_KUBE_DEFAULT_MAX_ITEMS;
    json_t *items = json_object_get(list, "items");
    char *cont = NULL;
    int rc = 0;
    for (size_t pages = 0; rc == 0; pages++) {
        char limit[32];
        struct ahpa_httpc_param p[4];
        size_t np;
        list_params(lo, limit, sizeof(limit), cont, p, &np);
        struct call k = {.method = AHPA_HTTPC_GET, .path = path, .params = p, .n_params = np};
        json_t *page = NULL;
        rc = call(c, h, abort, &k, &page, err);
        const char *next = NULL;
        if (rc == 0 && pages == 0) {
            json_t *meta = json_object_get(page, "metadata");
            const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
            json_object_set_new(json_object_get(list, "metadata"), "resourceVersion",
                                json_string(rv ? rv : ""));
        }
        if (rc == 0)
            rc = take_page(page, items, sink, max_items, &next, path, err);
        free(cont);
        cont = next && next[0] ? ahpa_strdup(next) : NULL;
        size_t got = json_array_size(json_object_get(page, "items"));
        json_decref(page);
        if (rc == 0 && cont != NULL && (got == 0 || pages > max_items))
            rc = ahpa_error_set(err, AHPA_EUPSTREAM, "GET %s: continue token on an empty page",
                                path);
        if (cont == NULL)
            break;
    }
    free(cont);
    return rc;
}

int ahpa_kube__list_all(struct ahpa_kube_client *c, struct ahpa_httpc_client *h,
                        atomic_bool *abort, const struct ahpa_kube_resource *r, const char *ns,
                        const struct ahpa_kube_list_options *lo,
                        const struct ahpa_kube__sink *sink, json_t **out, struct ahpa_error *err)
{
    static const struct ahpa_kube_list_options none = {0};
    *out = NULL;
    struct ahpa_buf path;
    ahpa_buf_init(&path);
    int rc = ahpa_kube_path(r, ns, NULL, NULL, &path, err);
    if (rc != 0) {
        ahpa_buf_dispose(&path);
        return rc;
    }
    char kind[128];
    snprintf(kind, sizeof(kind), "%sList", r->kind ? r->kind : "");
    json_t *list = json_pack("{s:s, s:{}, s:[]}", "kind", kind, "metadata", "items");
    rc = list_pages(c, h, abort, ahpa_buf_cstr(&path), lo ? lo : &none, sink, list, err);
    ahpa_buf_dispose(&path);
    if (rc != 0) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

int ahpa_kube_list(struct ahpa_kube_client *c, const struct ahpa_kube_resource *r,
                   const char *ns, const struct ahpa_kube_list_options *lo, json_t **out,
                   struct ahpa_error *err)
{
    if (c == NULL || out == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "list without a client or result");
    return ahpa_kube__list_all(c, NULL, NULL, r, ns, lo, NULL, out, err);
}
