/* libcurl wrapper: options, a pool of easy handles, one request at a time
 * per handle.
 *
 * Connection reuse: libcurl keeps live connections inside each easy handle
 * (and curl_easy_reset() keeps them), so a mutex-guarded stack of idle
 * handles gives keep-alive across threads without sharing a connection
 * cache between concurrent threads, which older libcurl releases document
 * as unsafe. DNS and TLS sessions are shared through a CURLSH with one lock
 * per data kind.
 *
 * Cancelling: libcurl calls the progress callback only about once a
 * second while a transfer waits for its reply, so the cancel flag alone
 * could leave a shutdown waiting that long. The client therefore opens and
 * closes its sockets itself (CURLOPT_OPENSOCKETFUNCTION and
 * CLOSESOCKETFUNCTION) and keeps the open ones in a set; a cancel shuts
 * them all down, which wakes every waiting transfer at once. The set and
 * the close share a mutex, so a cancel never touches a descriptor number
 * after it was closed (and perhaps reused elsewhere). */
#include "ahpa/httpc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "httpc_int.h"

struct ahpa_httpc_client {
    char *base_url;    /* trailing '/' removed */
    char *display_url; /* base_url without userinfo */
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *user_agent;
    bool insecure;
    bool compress;
    char **headers; /* "Name: value" */
    size_t n_headers;
    long timeout_ms;
    long connect_timeout_ms;
    size_t max_response_bytes;
    struct ahpa_httpc__token token;
    atomic_bool cancelled;

    pthread_mutex_t sock_mu; /* the sockets set, and cancel against open */
    curl_socket_t *socks;    /* open sockets of this client's connections */
    size_t nsocks, socks_cap;

    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_mu;
    CURL *idle[AHPA_HTTPC_POOL_MAX];
    size_t n_idle;
};

/* Per-transfer state handed to the callbacks. */
struct xfer {
    struct ahpa_httpc_client *c;
    struct ahpa_buf *body;
    size_t cap;
    bool too_big;
    ahpa_httpc_data_fn on_data; /* streaming receiver, or NULL */
    void *on_data_ud;
    int stream_rc; /* what the receiver returned when it stopped */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init_once(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ahpa_httpc_global_init(struct ahpa_error *err)
{
    pthread_once(&global_once, global_init_once);
    if (global_rc != CURLE_OK)
        return ahpa_error_set(err, AHPA_EINTERNAL, "curl_global_init: %s",
                              curl_easy_strerror(global_rc));
    return 0;
}

void ahpa_httpc_response_init(struct ahpa_httpc_response *r)
{
    memset(r, 0, sizeof(*r));
    ahpa_buf_init(&r->body);
}

void ahpa_httpc_response_dispose(struct ahpa_httpc_response *r)
{
    ahpa_buf_dispose(&r->body);
    memset(r, 0, sizeof(*r));
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)h;
    (void)access;
    struct ahpa_httpc_client *c = ud;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h;
    struct ahpa_httpc_client *c = ud;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&c->share_mu[data]);
}

static char *opt_dup(const char *s)
{
    return (s != NULL && *s != '\0') ? ahpa_strdup(s) : NULL;
}

static bool is_token_char(int ch)
{
    return isalnum(ch) || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* "Name=value" or "Name: value" -> "Name: value". */
static int parse_header(const char *spec, char **out, struct ahpa_error *err)
{
    size_t name_len = 0;
    while (is_token_char((unsigned char)spec[name_len]))
        name_len++;
    char sep = spec[name_len];
    if (name_len == 0 || (sep != '=' && sep != ':'))
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "header \"%.64s\": want Name=value with an HTTP token name", spec);
    const char *value = spec + name_len + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strpbrk(value, "\r\n") != NULL)
        return ahpa_error_set(err, AHPA_ECONFIG, "header %.*s: value holds a line break",
                              (int)name_len, spec);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_buf_printf(&b, "%.*s: %s", (int)name_len, spec, value);
    *out = ahpa_buf_take(&b, NULL);
    return 0;
}

/* Checks the scheme and strips userinfo for display. */
static int parse_base_url(struct ahpa_httpc_client *c, const char *url, struct ahpa_error *err)
{
    if (url == NULL || !(ahpa_str_has_prefix(url, "http://") ||
                         ahpa_str_has_prefix(url, "https://")))
        return ahpa_error_set(err, AHPA_ECONFIG, "URL \"%.100s\": want http:// or https://",
                              url ? url : "");
    if (strpbrk(url, "?# \t\r\n") != NULL)
        return ahpa_error_set(err, AHPA_ECONFIG,
                              "URL \"%.100s\": no query, fragment or spaces allowed", url);
    size_t scheme_len = (size_t)(strstr(url, "://") + 3 - url);
    size_t len = strlen(url);
    while (len > scheme_len && url[len - 1] == '/')
        len--;
    c->base_url = ahpa_strndup(url, len);
    const char *host = c->base_url + scheme_len;
    size_t host_end = strcspn(host, "/");
    const char *at = memchr(host, '@', host_end);
    if (host_end == 0 || (at != NULL && at + 1 == host + host_end))
        return ahpa_error_set(err, AHPA_ECONFIG, "URL has no host");
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_buf_append(&b, c->base_url, (size_t)(host - c->base_url));
    ahpa_buf_puts(&b, at != NULL ? at + 1 : host);
    c->display_url = ahpa_buf_take(&b, NULL);
    return 0;
}

static int init_share(struct ahpa_httpc_client *c, struct ahpa_error *err)
{
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_mu[i], NULL);
    pthread_mutex_init(&c->pool_mu, NULL);
    pthread_mutex_init(&c->sock_mu, NULL);
    c->share = curl_share_init();
    if (c->share == NULL)
        return ahpa_error_set(err, AHPA_EINTERNAL, "curl_share_init failed");
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return 0;
}

static long positive_or(int64_t v, long dflt)
{
    return v > 0 ? (long)v : dflt;
}

struct ahpa_httpc_client *ahpa_httpc_client_new(const struct ahpa_httpc_options *o,
                                                struct ahpa_error *err)
{
    if (o == NULL) {
        ahpa_error_set(err, AHPA_EINVAL, "no HTTP client options");
        return NULL;
    }
    if (ahpa_httpc_global_init(err) != 0)
        return NULL;
    struct ahpa_httpc_client *c = ahpa_calloc(1, sizeof(*c));
    int rc = init_share(c, err);
    if (rc == 0)
        rc = parse_base_url(c, o->base_url, err);
    bool have_cert = o->cert_file != NULL && *o->cert_file != '\0';
    bool have_key = o->key_file != NULL && *o->key_file != '\0';
    if (rc == 0 && have_cert != have_key)
        rc = ahpa_error_set(err, AHPA_ECONFIG, "client certificate and key go together");
    c->headers = ahpa_calloc(o->n_headers + 1, sizeof(char *));
    for (size_t i = 0; rc == 0 && i < o->n_headers; i++, c->n_headers++)
        rc = parse_header(o->headers[i], &c->headers[i], err);
    if (rc == 0)
        rc = ahpa_httpc__token_init(&c->token, o->token_file, o->token, err);
    else
        ahpa_httpc__token_init(&c->token, NULL, NULL, NULL);
    c->ca_file = opt_dup(o->ca_file);
    c->cert_file = opt_dup(o->cert_file);
    c->key_file = opt_dup(o->key_file);
    c->user_agent = ahpa_strdup(o->user_agent ? o->user_agent : "ahpa-metrics-adapter");
    c->insecure = o->insecure_skip_verify;
    c->compress = o->compress;
    c->timeout_ms = positive_or(o->timeout_ms, AHPA_HTTPC_DEFAULT_TIMEOUT_MS);
    c->connect_timeout_ms = positive_or(o->connect_timeout_ms,
                                        AHPA_HTTPC_DEFAULT_CONNECT_TIMEOUT_MS);
    if (c->connect_timeout_ms > c->timeout_ms)
        c->connect_timeout_ms = c->timeout_ms;
    c->max_response_bytes = o->max_response_bytes ? o->max_response_bytes
                                                  : AHPA_HTTPC_DEFAULT_MAX_RESPONSE_BYTES;
    atomic_init(&c->cancelled, false);
    if (rc != 0) {
        ahpa_httpc_client_free(c);
        return NULL;
    }
    return c;
}

void ahpa_httpc_client_free(struct ahpa_httpc_client *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_idle; i++)
        curl_easy_cleanup(c->idle[i]);
    if (c->share != NULL)
        curl_share_cleanup(c->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_mu[i]);
    pthread_mutex_destroy(&c->pool_mu);
    pthread_mutex_destroy(&c->sock_mu); /* after the cleanups: they close sockets */
    free(c->socks);
    for (size_t i = 0; i < c->n_headers; i++)
        free(c->headers[i]);
    free(c->headers);
    ahpa_httpc__token_dispose(&c->token);
    free(c->base_url);
    free(c->display_url);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c->user_agent);
    free(c);
}

void ahpa_httpc_client_cancel(struct ahpa_httpc_client *c)
{
    if (c == NULL)
        return;
    atomic_store(&c->cancelled, true);
    pthread_mutex_lock(&c->sock_mu);
    for (size_t i = 0; i < c->nsocks; i++)
        shutdown(c->socks[i], SHUT_RDWR);
    pthread_mutex_unlock(&c->sock_mu);
}

/* Socket callbacks (see the top of the file). No socket is opened once
 * cancelled: the flag is read under the mutex a cancel takes after
 * setting it. */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)purpose;
    struct ahpa_httpc_client *c = ud;
    curl_socket_t fd = CURL_SOCKET_BAD;
    pthread_mutex_lock(&c->sock_mu);
    if (!atomic_load(&c->cancelled)) {
        fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
        if (fd != CURL_SOCKET_BAD) {
            if (c->nsocks == c->socks_cap) {
                c->socks_cap = c->socks_cap ? 2 * c->socks_cap : 8;
                c->socks = ahpa_reallocarray(c->socks, c->socks_cap, sizeof(*c->socks));
            }
            c->socks[c->nsocks++] = fd;
        }
    }
    pthread_mutex_unlock(&c->sock_mu);
    return fd;
}

static int on_close_socket(void *ud, curl_socket_t fd)
{
    struct ahpa_httpc_client *c = ud;
    pthread_mutex_lock(&c->sock_mu);
    for (size_t i = 0; i < c->nsocks; i++) {
        if (c->socks[i] == fd) {
            c->socks[i] = c->socks[--c->nsocks];
            break;
        }
    }
    pthread_mutex_unlock(&c->sock_mu);
    return close(fd);
}

const char *ahpa_httpc_client_url(const struct ahpa_httpc_client *c)
{
    return c->display_url;
}

/* Handle pool. */

static CURL *pool_get(struct ahpa_httpc_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->pool_mu);
    if (c->n_idle > 0)
        h = c->idle[--c->n_idle];
    pthread_mutex_unlock(&c->pool_mu);
    if (h != NULL)
        curl_easy_reset(h); /* options only: live connections stay */
    else
        h = curl_easy_init();
    return h;
}

static void pool_put(struct ahpa_httpc_client *c, CURL *h)
{
    pthread_mutex_lock(&c->pool_mu);
    if (c->n_idle < AHPA_HTTPC_POOL_MAX) {
        c->idle[c->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_mu);
    if (h != NULL)
        curl_easy_cleanup(h);
}

/* Transfer callbacks. */

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    if (x->on_data != NULL) {
        x->stream_rc = x->on_data(p, len, x->on_data_ud);
        return x->stream_rc == 0 ? len : 0;
    }
    if (len > x->cap - x->body->len) {
        x->too_big = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    ahpa_buf_append(x->body, p, len);
    return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    struct xfer *x = ud;
    return atomic_load(&x->c->cancelled) ? 1 : 0;
}

/* name=value&... with both sides percent-encoded. */
static int encode_params(CURL *h, const struct ahpa_httpc_request *req, struct ahpa_buf *out,
                         struct ahpa_error *err)
{
    for (size_t i = 0; i < req->n_params; i++) {
        const struct ahpa_httpc_param *p = &req->params[i];
        if (p->name == NULL || p->value == NULL)
            return ahpa_error_set(err, AHPA_EINVAL, "parameter %zu has no name or value", i);
        char *n = curl_easy_escape(h, p->name, 0);
        char *v = curl_easy_escape(h, p->value, 0);
        if (n == NULL || v == NULL)
            ahpa_oom(strlen(p->name) + strlen(p->value));
        ahpa_buf_printf(out, "%s%s=%s", i ? "&" : "", n, v);
        curl_free(n);
        curl_free(v);
    }
    return 0;
}

static struct curl_slist *append_header(struct curl_slist *l, const char *h)
{
    struct curl_slist *n = curl_slist_append(l, h);
    if (n == NULL)
        ahpa_oom(strlen(h));
    return n;
}

static void set_tls(struct ahpa_httpc_client *c, CURL *h)
{
    if (c->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->cert_file != NULL) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
    }
}

/* The client's limit, lowered per request; streams have none unless asked. */
static long request_timeout_ms(const struct ahpa_httpc_client *c,
                               const struct ahpa_httpc_request *req)
{
    if (req->on_data != NULL)
        return req->timeout_ms > 0 ? (long)req->timeout_ms : 0; /* 0: no limit */
    if (req->timeout_ms > 0 && req->timeout_ms < c->timeout_ms)
        return (long)req->timeout_ms;
    return c->timeout_ms;
}

static void set_common(struct ahpa_httpc_client *c, CURL *h, struct xfer *x,
                       const struct ahpa_httpc_request *req)
{
    long timeout_ms = request_timeout_ms(c, req);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    long connect_ms = c->connect_timeout_ms;
    if (timeout_ms > 0 && timeout_ms < connect_ms)
        connect_ms = timeout_ms;
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    if (c->compress) /* the size cap counts decoded bytes */
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    if (x->on_data == NULL)
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->cap);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, c);
    if (req->on_data != NULL && req->idle_timeout_ms > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)((req->idle_timeout_ms + 999) / 1000));
    }
    set_tls(c, h);
}

static const char *method_name(enum ahpa_httpc_method m)
{
    static const char *const names[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

/* libcurl result -> project error. */
static int map_curl_error(struct ahpa_httpc_client *c, const struct ahpa_httpc_request *req,
                          const struct xfer *x, CURLcode cc, const char *errbuf,
                          struct ahpa_error *err)
{
    const char *m = method_name(req->method);
    const char *why = *errbuf ? errbuf : curl_easy_strerror(cc);
    if (x->on_data != NULL && x->stream_rc != 0 && cc == CURLE_WRITE_ERROR)
        return x->stream_rc > 0 ? 0
                                : ahpa_error_set(err, -x->stream_rc, "%s %s: receiver failed", m,
                                                 req->path);
    if (x->too_big || cc == CURLE_FILESIZE_EXCEEDED)
        return ahpa_error_set(err, AHPA_ETOOBIG, "%s %s: response larger than %zu bytes", m,
                              req->path, x->cap);
    if (cc == CURLE_ABORTED_BY_CALLBACK || atomic_load(&c->cancelled))
        return ahpa_error_set(err, AHPA_EUNAVAIL, "%s %s: cancelled", m, req->path);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return ahpa_error_set(err, AHPA_ETIMEDOUT, "%s %s: %s", m, req->path, why);
    if (cc == CURLE_URL_MALFORMAT)
        return ahpa_error_set(err, AHPA_EINVAL, "%s %s: %s", m, req->path, why);
    return ahpa_error_set(err, AHPA_EUPSTREAM, "%s %s: %s", m, req->path, why);
}

static int check_request(const struct ahpa_httpc_request *req, struct ahpa_error *err)
{
    const char *m = method_name(req->method);
    if ((unsigned)req->method > AHPA_HTTPC_DELETE)
        return ahpa_error_set(err, AHPA_EINVAL, "unknown HTTP method %d", (int)req->method);
    if (req->body != NULL && (req->method == AHPA_HTTPC_GET || req->content_type == NULL))
        return ahpa_error_set(err, AHPA_EINVAL, "%s %s: a body needs a content type and no GET",
                              m, req->path);
    if (req->content_type != NULL && strpbrk(req->content_type, "\r\n") != NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "%s %s: content type holds a line break", m,
                              req->path);
    for (size_t i = 0; i < req->n_headers; i++)
        if (req->headers[i] == NULL || strchr(req->headers[i], ':') == NULL ||
            strpbrk(req->headers[i], "\r\n") != NULL)
            return ahpa_error_set(err, AHPA_EINVAL, "%s %s: header %zu is not one Name: value "
                                                    "line", m, req->path, i);
    return 0;
}

/* Where parameters go and what the body is. */
static void set_method_and_body(CURL *h, const struct ahpa_httpc_request *req,
                                const struct ahpa_buf *form, struct curl_slist **hdrs)
{
    static const char *const custom[] = {NULL, NULL, "PUT", "PATCH", "DELETE"};
    if (custom[req->method] != NULL)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, custom[req->method]);
    if (req->body != NULL) {
        struct ahpa_buf ct;
        ahpa_buf_init(&ct);
        ahpa_buf_printf(&ct, "Content-Type: %s", req->content_type);
        *hdrs = append_header(*hdrs, ahpa_buf_cstr(&ct));
        ahpa_buf_dispose(&ct);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
    } else if (req->method == AHPA_HTTPC_POST) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)form->len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, ahpa_buf_cstr(form));
        *hdrs = append_header(*hdrs, "Content-Type: application/x-www-form-urlencoded");
    }
    if (req->body != NULL || req->method == AHPA_HTTPC_POST)
        *hdrs = append_header(*hdrs, "Expect:");
}

static int prepare(struct ahpa_httpc_client *c, CURL *h, const struct ahpa_httpc_request *req,
                   struct ahpa_buf *url, struct ahpa_buf *form, struct curl_slist **hdrs,
                   struct ahpa_error *err)
{
    int rc = encode_params(h, req, form, err);
    if (rc != 0)
        return rc;
    ahpa_buf_puts(url, c->base_url);
    if (req->path[0] != '/')
        ahpa_buf_putc(url, '/');
    ahpa_buf_puts(url, req->path);
    bool form_in_body = req->method == AHPA_HTTPC_POST && req->body == NULL;
    if (!form_in_body && form->len > 0) {
        ahpa_buf_putc(url, '?');
        ahpa_buf_append(url, form->data, form->len);
    }
    curl_easy_setopt(h, CURLOPT_URL, ahpa_buf_cstr(url));
    set_method_and_body(h, req, form, hdrs);
    for (size_t i = 0; i < c->n_headers; i++)
        *hdrs = append_header(*hdrs, c->headers[i]);
    for (size_t i = 0; i < req->n_headers; i++)
        *hdrs = append_header(*hdrs, req->headers[i]);
    rc = ahpa_httpc__token_refresh(&c->token, err);
    if (rc != 0)
        return rc;
    char *auth = ahpa_httpc__token_header(&c->token);
    if (auth != NULL) {
        *hdrs = append_header(*hdrs, auth);
        ahpa_httpc__token_header_free(auth);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    return 0;
}

static void collect(CURL *h, struct ahpa_httpc_response *resp)
{
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    char *ct = NULL;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
        ahpa_strlcpy(resp->content_type, ct, sizeof(resp->content_type));
    double t = 0;
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &t);
    resp->elapsed_s = t;
}

/* Wipes the header list's memory: one entry holds the token. */
static void free_headers(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p != NULL; p = p->next)
        if (ahpa_str_has_prefix(p->data, "Authorization:"))
            memset(p->data, 0, strlen(p->data));
    curl_slist_free_all(l);
}

int ahpa_httpc_do(struct ahpa_httpc_client *c, const struct ahpa_httpc_request *req,
                  struct ahpa_httpc_response *resp, struct ahpa_error *err)
{
    if (c == NULL || req == NULL || req->path == NULL || resp == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "http request without client, path or response");
    int rc = check_request(req, err);
    if (rc != 0)
        return rc;
    ahpa_buf_reset(&resp->body);
    resp->status = 0;
    resp->content_type[0] = '\0';
    resp->elapsed_s = 0;
    if (atomic_load(&c->cancelled))
        return ahpa_error_set(err, AHPA_EUNAVAIL, "%s %s: cancelled", method_name(req->method),
                              req->path);
    CURL *h = pool_get(c);
    if (h == NULL)
        return ahpa_error_set(err, AHPA_EINTERNAL, "curl_easy_init failed");
    struct xfer x = {.c = c, .body = &resp->body, .cap = c->max_response_bytes,
                     .on_data = req->on_data, .on_data_ud = req->on_data_ud};
    struct ahpa_buf url, form;
    ahpa_buf_init(&url);
    ahpa_buf_init(&form);
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    set_common(c, h, &x, req);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    rc = prepare(c, h, req, &url, &form, &hdrs, err);
    if (rc == 0) {
        CURLcode cc = curl_easy_perform(h);
        collect(h, resp);
        if (cc != CURLE_OK)
            rc = map_curl_error(c, req, &x, cc, errbuf, err);
    }
    AHPA_LOG_V(6, "httpc %s %s%s -> %ld (%d) in %.3fs", method_name(req->method), c->display_url,
               req->path, resp->status, rc, resp->elapsed_s);
    /* Detach per-request pointers before the handle goes back to the pool. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    free_headers(hdrs);
    ahpa_buf_dispose(&url);
    ahpa_buf_dispose(&form);
    pool_put(c, h);
    return rc;
}
