/* libmicrohttpd glue: daemon set-up, request accumulation and dispatch,
 * completion accounting, graceful stop. */
#include "ahpa/httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/arena.h"
#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "httpd_int.h"

#define DEFAULT_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct ahpa_httpd {
    struct ahpa_httpd_options opt;
    struct MHD_Daemon *daemon;
    struct ahpa_httpd__creds creds;
    char *priorities;
    uint16_t port;
    atomic_uint inflight;
    atomic_bool stopping;
};

struct header {
    const char *name, *value;
    struct header *next;
};

/* Everything one request owns; lives in its own arena. */
struct request_state {
    struct ahpa_httpd_request req;
    struct ahpa_httpd_response resp;
    struct ahpa_buf body;
    struct header *headers;
    bool answered;
};

void ahpa_httpd_global_init(void)
{
    gnutls_global_init();
}

/* --- request accessors ------------------------------------------------ */

const char *ahpa_httpd_request_header(const struct ahpa_httpd_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn_, MHD_HEADER_KIND, name);
}

const char *ahpa_httpd_request_query(const struct ahpa_httpd_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn_, MHD_GET_ARGUMENT_KIND, name);
}

bool ahpa_httpd_request_has_query(const struct ahpa_httpd_request *req, const char *name)
{
    const char *value;
    return MHD_lookup_connection_value_n(req->conn_, MHD_GET_ARGUMENT_KIND, name, strlen(name),
                                         &value, NULL) == MHD_YES;
}

struct foreach_ctx {
    ahpa_httpd_query_fn *fn;
    void *ctx;
};

static enum MHD_Result foreach_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct foreach_ctx *f = cls;
    f->fn(f->ctx, key, value);
    return MHD_YES;
}

void ahpa_httpd_request_query_foreach(const struct ahpa_httpd_request *req,
                                      ahpa_httpd_query_fn *fn, void *ctx)
{
    struct foreach_ctx f = {fn, ctx};
    MHD_get_connection_values(req->conn_, MHD_GET_ARGUMENT_KIND, foreach_arg, &f);
}

void ahpa_httpd_response_header(struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp,
                                const char *name, const char *value)
{
    struct header *h = ahpa_arena_alloc(req->arena, sizeof(*h));
    h->name = ahpa_arena_strdup(req->arena, name);
    h->value = ahpa_arena_strdup(req->arena, value);
    h->next = resp->headers_;
    resp->headers_ = h;
}

/* --- dispatch --------------------------------------------------------- */

static enum MHD_Result send_response(struct MHD_Connection *conn, struct request_state *st)
{
    struct ahpa_httpd_response *resp = &st->resp;
    size_t len;
    char *body = ahpa_buf_take(&resp->body, &len);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : "text/plain; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-cache, private");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    for (struct header *h = resp->headers_; h != NULL; h = h->next)
        MHD_add_response_header(r, h->name, h->value);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    st->answered = true;
    return ret;
}

static void reject(struct ahpa_httpd *h, struct request_state *st, int status, const char *msg)
{
    st->resp.status = status;
    if (h->opt.reject != NULL) {
        h->opt.reject(h->opt.ctx, &st->req, &st->resp, status, msg);
        return;
    }
    ahpa_buf_reset(&st->resp.body);
    ahpa_buf_printf(&st->resp.body, "%s\n", msg);
}

static struct request_state *request_begin(struct ahpa_httpd *h, struct MHD_Connection *conn,
                                           const char *url, const char *method)
{
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    struct request_state *st = ahpa_arena_alloc(arena, sizeof(*st));
    st->req.arena = arena;
    st->req.method = ahpa_arena_strdup(arena, method);
    st->req.path = ahpa_arena_strdup(arena, url);
    st->req.body = "";
    st->req.remote_addr = "";
    st->req.start_ns = ahpa_httpd__now_ns();
    st->req.conn_ = conn;
    ahpa_buf_init(&st->body);
    ahpa_buf_init(&st->resp.body);
    st->resp.status = 200;
    st->resp.route = "other";

    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL) {
        char addr[INET6_ADDRSTRLEN] = "";
        /* copied out: libmicrohttpd's pointer carries no alignment promise */
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET) {
            struct sockaddr_in in4;
            memcpy(&in4, sa, sizeof(in4));
            inet_ntop(AF_INET, &in4.sin_addr, addr, sizeof(addr));
        } else if (sa->sa_family == AF_INET6) {
            struct sockaddr_in6 in6;
            memcpy(&in6, sa, sizeof(in6));
            inet_ntop(AF_INET6, &in6.sin6_addr, addr, sizeof(addr));
        }
        st->req.remote_addr = ahpa_arena_strdup(arena, addr);
    }
    atomic_fetch_add(&h->inflight, 1);
    return st;
}

/* A Content-Length past the cap is refused before any byte of the body is
 * read; chunked bodies are cut off when they pass it. */
static bool announced_too_large(struct ahpa_httpd *h, struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n;
    return cl != NULL && ahpa_str_to_int64(cl, &n, NULL) == 0 &&
           (uint64_t)n > h->opt.max_body_bytes;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct ahpa_httpd *h = cls;
    struct request_state *st = *con_cls;
    if (st == NULL) {
        st = request_begin(h, conn, url, method);
        *con_cls = st;
        if (announced_too_large(h, conn)) {
            st->req.body_too_large = true;
            reject(h, st, 413, "request body too large");
            return send_response(conn, st);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!st->answered && !st->req.body_too_large) {
            if (st->body.len + *upload_data_size > h->opt.max_body_bytes) {
                st->req.body_too_large = true;
                ahpa_buf_dispose(&st->body);
            } else {
                ahpa_buf_append(&st->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->answered)
        return MHD_YES;
    if (st->req.body_too_large) {
        reject(h, st, 413, "request body too large");
        return send_response(conn, st);
    }
    st->req.body = ahpa_buf_cstr(&st->body);
    st->req.body_len = st->body.len;
    h->opt.handler(h->opt.ctx, &st->req, &st->resp);
    return send_response(conn, st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct ahpa_httpd *h = cls;
    struct request_state *st = *con_cls;
    if (st == NULL)
        return;
    *con_cls = NULL;
    int status = st->answered && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? st->resp.status : 0;
    if (h->opt.done != NULL) {
        double secs = (double)(ahpa_httpd__now_ns() - st->req.start_ns) / 1e9;
        h->opt.done(h->opt.ctx, &st->req, st->resp.route, status, secs);
    }
    ahpa_buf_dispose(&st->body);
    ahpa_buf_dispose(&st->resp.body);
    ahpa_arena_free(st->req.arena);
    atomic_fetch_sub(&h->inflight, 1);
}

/* --- TLS -------------------------------------------------------------- */

/* What one connection holds: its server, and a reference to the
 * credentials its handshake was given, dropped when it closes. */
struct conn_tls {
    struct ahpa_httpd *h;
    struct ahpa_httpd__cred *cred;
};

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)conn;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_tls *ct = ahpa_calloc(1, sizeof(*ct));
        ct->h = cls;
        *socket_context = ct;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL) {
        struct conn_tls *ct = *socket_context;
        ahpa_httpd__cred_release(ct->cred);
        free(ct);
        *socket_context = NULL;
    }
}

/* GnuTLS asks for the serving chain at every handshake. Its callback has
 * no user pointer: MHD keeps the connection as the session pointer, and
 * the connection's socket context leads to this server. The connection
 * keeps a reference to what it was given until it closes. */
static int retrieve_cert(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                         const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                         gnutls_pcert_st **pcert, unsigned int *pcert_length,
                         gnutls_privkey_t *pkey)
{
    (void)req_ca_dn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
    struct MHD_Connection *conn = gnutls_session_get_ptr(session);
    if (conn == NULL)
        return -1;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_tls *ct = ci != NULL ? ci->socket_context : NULL;
    if (ct == NULL)
        return -1;
    struct ahpa_httpd__cred *c = ahpa_httpd__creds_acquire(&ct->h->creds);
    ahpa_httpd__cred_release(ct->cred); /* a second handshake on one connection */
    ct->cred = c;
    *pcert = c->pcerts;
    *pcert_length = c->npcerts;
    *pkey = c->key;
    return 0;
}

/* fmt is libmicrohttpd's own printf format */
__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    AHPA_LOG_V(2, "httpd: %s", line);
}

/* --- lifecycle -------------------------------------------------------- */

static int parse_bind(const struct ahpa_httpd_options *opt, struct sockaddr_storage *ss,
                      bool *ipv6, struct ahpa_error *err)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, opt->bind_address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(opt->port);
        *ipv6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, opt->bind_address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(opt->port);
        *ipv6 = true;
        return 0;
    }
    return ahpa_error_set(err, AHPA_ECONFIG, "--bind-address %s is not an IP address",
                          opt->bind_address);
}

struct ahpa_httpd *ahpa_httpd_new(const struct ahpa_httpd_options *opt, const char *cert_pem,
                                  const char *key_pem, struct ahpa_error *err)
{
    struct sockaddr_storage ss;
    bool ipv6 = false;
    if (parse_bind(opt, &ss, &ipv6, err) < 0)
        return NULL;
    struct ahpa_httpd *h = ahpa_calloc(1, sizeof(*h));
    h->opt = *opt;
    if (h->opt.threads < 1)
        h->opt.threads = 1;
    if (ahpa_httpd__creds_init(&h->creds, cert_pem, key_pem, err) < 0) {
        free(h);
        return NULL;
    }
    h->priorities = ahpa_strdup(opt->tls_priorities ? opt->tls_priorities : DEFAULT_PRIORITIES);

    struct MHD_OptionItem items[16];
    size_t n = 0;
#define OPT(o, v, p) items[n++] = (struct MHD_OptionItem){o, (intptr_t)(v), p}
    OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL); /* first, so it covers the rest */
    OPT(MHD_OPTION_SOCK_ADDR, 0, &ss);
    OPT(MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)retrieve_cert);
    OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, h->priorities);
    OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, h);
    OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, h);
    OPT(MHD_OPTION_CONNECTION_LIMIT, opt->max_connections ? opt->max_connections : 1024, NULL);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, opt->idle_timeout_s ? opt->idle_timeout_s : 60, NULL);
    OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        opt->connection_memory_bytes ? opt->connection_memory_bytes : 64 * 1024, NULL);
    OPT(MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL);
    if (h->opt.threads > 1)
        OPT(MHD_OPTION_THREAD_POOL_SIZE, h->opt.threads, NULL);
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    h->daemon = MHD_start_daemon(flags, opt->port, NULL, NULL, on_request, h, MHD_OPTION_ARRAY,
                                 items, MHD_OPTION_END);
    if (h->daemon == NULL) {
        ahpa_error_set(err, AHPA_EIO, "cannot listen on %s:%u (address in use or not local?)",
                       opt->bind_address, (unsigned)opt->port);
        ahpa_httpd_free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di != NULL ? di->port : opt->port;
    return h;
}

int ahpa_httpd_set_credentials(struct ahpa_httpd *h, const char *cert_pem, const char *key_pem,
                               struct ahpa_error *err)
{
    return ahpa_httpd__creds_replace(&h->creds, cert_pem, key_pem, err);
}

uint16_t ahpa_httpd_port(const struct ahpa_httpd *h)
{
    return h->port;
}

unsigned ahpa_httpd_inflight(const struct ahpa_httpd *h)
{
    return atomic_load(&((struct ahpa_httpd *)h)->inflight);
}

unsigned ahpa_httpd_stop(struct ahpa_httpd *h, int64_t grace_ms)
{
    if (h->daemon == NULL)
        return 0;
    atomic_store(&h->stopping, true);
    MHD_socket fd = MHD_quiesce_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    int64_t deadline = ahpa_httpd__now_ns() + grace_ms * 1000000LL;
    while (atomic_load(&h->inflight) > 0 && ahpa_httpd__now_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    unsigned left = atomic_load(&h->inflight);
    MHD_stop_daemon(h->daemon);
    h->daemon = NULL;
    return left;
}

void ahpa_httpd_free(struct ahpa_httpd *h)
{
    if (h == NULL)
        return;
    if (h->daemon != NULL)
        ahpa_httpd_stop(h, 0);
    ahpa_httpd__creds_dispose(&h->creds);
    free(h->priorities);
    free(h);
}
