/* libmicrohttpd glue: daemon set-up, request accumulation and dispatch,
 * in-flight limits, completion accounting, graceful stop. Deferred work
 * (the jobs of suspended connections, the worker pool, parks) is in
 * jobs.c, the request accessors in request.c, the credentials in creds.c. */
#include "ahpa/httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ahpa/arena.h"
#include "ahpa/error.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "httpd_int.h"

#define DEFAULT_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define DEFAULT_WORKERS 8
#define MAX_WORKERS 1024
/* How long a stop waits for cancelled deferred requests to get their 503 out. */
#define CANCEL_FLUSH_MS 500

struct ahpa_httpd {
    struct ahpa_httpd_options opt;
    struct MHD_Daemon *daemon;
    struct ahpa_httpd__creds creds;
    struct ahpa_snapshot trust;     /* of struct ahpa_httpd__trust, or empty */
    char *priorities;
    uint16_t port;
    atomic_uint inflight;
    atomic_uint deferred_reqs;      /* requests whose answer a job makes */
    atomic_bool stopping;
    atomic_ullong rejected_inflight;
    struct ahpa_httpd__jobs jobs;
    bool jobs_ready;                /* jobs initialised (disposed by free) */
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
    struct ahpa_httpd *h;
    struct ahpa_httpd__job *pending; /* set by ahpa_httpd_defer or ahpa_httpd_park */
    struct ahpa_httpd__job *woken;   /* the park whose wake runs the handler now */
    unsigned parks;
    bool answered;
};

/* req is the first member: a pointer to it is a pointer to the state. */
static struct request_state *state_of(struct ahpa_httpd_request *req)
{
    _Static_assert(offsetof(struct request_state, req) == 0, "req must come first");
    return (struct request_state *)(void *)req;
}

void ahpa_httpd_global_init(void)
{
    gnutls_global_init();
}

/* --- request accessors ------------------------------------------------ */

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

/* --- deferred work (jobs.c) --------------------------------------------- */

/* A new job for the request, or NULL when it already waits on one or the
 * jobs refuse (stopping, too many open). */
static struct ahpa_httpd__job *request_job(struct request_state *st, ahpa_httpd_work_fn *fn,
                                           ahpa_httpd_free_fn *free_fn, void *arg)
{
    struct ahpa_httpd *h = st->h;
    if (st->pending != NULL)
        return NULL;
    struct ahpa_httpd__job *job = ahpa_httpd__job_open(&h->jobs, st->req.conn_, fn, free_fn, arg);
    if (job == NULL)
        return NULL;
    st->pending = job;
    atomic_fetch_add(&h->deferred_reqs, 1);
    return job;
}

int ahpa_httpd_defer(struct ahpa_httpd_request *req, ahpa_httpd_work_fn *fn,
                     ahpa_httpd_free_fn *free_fn, void *arg)
{
    return request_job(state_of(req), fn, free_fn, arg) != NULL ? 0 : -AHPA_EUNAVAIL;
}

struct ahpa_httpd_waker *ahpa_httpd_park(struct ahpa_httpd_request *req, void *arg,
                                         ahpa_httpd_free_fn *free_fn)
{
    struct request_state *st = state_of(req);
    if (st->parks >= AHPA_HTTPD_MAX_PARKS)
        return NULL;
    struct ahpa_httpd__job *job = request_job(st, NULL, free_fn, arg);
    if (job == NULL)
        return NULL;
    st->parks++;
    return (struct ahpa_httpd_waker *)(void *)job;
}

void ahpa_httpd_wake(struct ahpa_httpd_waker *w)
{
    ahpa_httpd__job_wake((struct ahpa_httpd__job *)(void *)w);
}

void *ahpa_httpd_request_woken(const struct ahpa_httpd_request *req)
{
    struct request_state *st = state_of((struct ahpa_httpd_request *)req);
    return st->woken != NULL ? st->woken->arg : NULL;
}

/* A done job: true when the handler is to run again (a woken park), with
 * the park moved to st->woken; else the request has its answer. */
static bool settle(struct ahpa_httpd *h, struct request_state *st)
{
    switch (ahpa_httpd__job_outcome(st->pending, &st->resp)) {
    case AHPA_HTTPD__JOB_WOKEN:
        st->woken = st->pending;
        st->pending = NULL;
        atomic_fetch_sub(&h->deferred_reqs, 1);
        return true;
    case AHPA_HTTPD__JOB_CANCELLED:
        reject(h, st, 503, "the server is shutting down");
        return false;
    case AHPA_HTTPD__JOB_EXPIRED:
        reject(h, st, 503, "too many requests waiting on the metrics backend, "
                           "please try again later");
        return false;
    case AHPA_HTTPD__JOB_ANSWERED:
        break;
    }
    return false;
}

/* Runs the handler (again, after a wake) until the request has an answer
 * to send or waits: suspends the connection while a job or park is open. */
static enum MHD_Result run_handler(struct ahpa_httpd *h, struct MHD_Connection *conn,
                                   struct request_state *st)
{
    for (;;) {
        h->opt.handler(h->opt.ctx, &st->req, &st->resp);
        if (st->woken != NULL) { /* the handler has read its arg */
            ahpa_httpd__job_unref(st->woken);
            st->woken = NULL;
        }
        if (st->pending == NULL)
            return send_response(conn, st);
        if (ahpa_httpd__job_suspend(st->pending))
            return MHD_YES;
        if (!settle(h, st))
            return send_response(conn, st);
    }
}

void ahpa_httpd_stats(const struct ahpa_httpd *ch, struct ahpa_httpd_stats *out)
{
    struct ahpa_httpd *h = (struct ahpa_httpd *)ch;
    memset(out, 0, sizeof(*out));
    out->deferred = ahpa_httpd__jobs_open_count(&h->jobs);
    unsigned all = atomic_load(&h->inflight), deferred = atomic_load(&h->deferred_reqs);
    out->inflight = all > deferred ? all - deferred : 0;
    out->rejected_inflight = atomic_load(&h->rejected_inflight);
    out->rejected_deferred = atomic_load(&h->jobs.rejected);
    out->deferred_total = atomic_load(&h->jobs.total);
    out->max_inflight = h->opt.max_inflight;
    out->max_deferred = h->opt.max_deferred;
}

static struct request_state *request_begin(struct ahpa_httpd *h, struct MHD_Connection *conn,
                                           const char *url, const char *method)
{
    struct ahpa_arena *arena = ahpa_arena_new(4096);
    struct request_state *st = ahpa_arena_alloc(arena, sizeof(*st));
    memset(st, 0, sizeof(*st));
    st->h = h;
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

/* Requests on request threads, this one included, past the limit. */
static bool over_inflight_limit(struct ahpa_httpd *h)
{
    if (h->opt.max_inflight == 0)
        return false;
    unsigned all = atomic_load(&h->inflight), deferred = atomic_load(&h->deferred_reqs);
    return all > deferred && all - deferred > h->opt.max_inflight;
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
    if (st->pending != NULL && !st->answered) /* resumed: the job is done */
        return settle(h, st) ? run_handler(h, conn, st) : send_response(conn, st);
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
    if (over_inflight_limit(h)) {
        atomic_fetch_add(&h->rejected_inflight, 1);
        reject(h, st, 503, "too many requests in flight, please try again later");
        return send_response(conn, st);
    }
    st->req.body = ahpa_buf_cstr(&st->body);
    st->req.body_len = st->body.len;
    return run_handler(h, conn, st);
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
    if (st->pending != NULL) {
        ahpa_httpd__job_detach(st->pending);
        atomic_fetch_sub(&h->deferred_reqs, 1);
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
    struct ahpa_httpd__trust *trust; /* NULL: no client certificate asked */
};

/* With client CAs set, the session gets their credentials (trust list =
 * acceptable issuers, same serving chain callback) and asks for a client
 * certificate. libmicrohttpd has set the session up before this point and
 * starts the handshake after it. */
static void request_client_cert(struct ahpa_httpd *h, struct MHD_Connection *conn,
                                struct conn_tls *ct)
{
    struct ahpa_httpd__trust *t = (struct ahpa_httpd__trust *)ahpa_snapshot_get(&h->trust);
    if (t == NULL)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session = ci != NULL ? ci->tls_session : NULL;
    if (session == NULL ||
        gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, t->xcred) < 0) {
        ahpa_httpd__trust_release(t);
        return;
    }
    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
    ct->trust = t;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_tls *ct = ahpa_calloc(1, sizeof(*ct));
        ct->h = cls;
        *socket_context = ct;
        request_client_cert(ct->h, conn, ct);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL) {
        struct conn_tls *ct = *socket_context;
        ahpa_httpd__cred_release(ct->cred);
        ahpa_httpd__trust_release(ct->trust);
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

int ahpa_httpd_set_client_cas(struct ahpa_httpd *h, const char *ca_pem, struct ahpa_error *err)
{
    struct ahpa_httpd__trust *t = NULL;
    if (ca_pem != NULL && *ca_pem != '\0') {
        int rc = ahpa_httpd__trust_new(ca_pem, retrieve_cert, &t, err);
        if (rc < 0)
            return rc;
    }
    ahpa_snapshot_swap(&h->trust, t != NULL ? &t->ref : NULL);
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
    if (h->opt.workers == 0)
        h->opt.workers = DEFAULT_WORKERS;
    if (h->opt.workers > MAX_WORKERS)
        h->opt.workers = MAX_WORKERS;
    if (h->opt.max_deferred == 0)
        h->opt.max_deferred = 4 * h->opt.workers;
    ahpa_snapshot_init(&h->trust);
    if (ahpa_httpd__creds_init(&h->creds, cert_pem, key_pem, err) < 0) {
        ahpa_snapshot_dispose(&h->trust);
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
    h->jobs_ready = true;
    if (ahpa_httpd__jobs_init(&h->jobs, h->opt.workers, h->opt.max_deferred,
                              h->opt.max_queue_wait_ms, err) < 0) {
        ahpa_httpd_free(h);
        return NULL;
    }
    unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
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
    /* The pool's threads take the listening socket out of their epoll sets
     * after the quiesce, asynchronously: closing it now could let its number
     * be reused under them. Stop listening at once (new connections are
     * refused) and close it after the threads are gone. */
    MHD_socket fd = MHD_quiesce_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET)
        shutdown(fd, SHUT_RDWR);
    int64_t deadline = ahpa_httpd__now_ns() + grace_ms * 1000000LL;
    while (atomic_load(&h->inflight) > 0 && ahpa_httpd__now_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    unsigned left = atomic_load(&h->inflight);
    ahpa_httpd__jobs_cancel(&h->jobs);
    deadline = ahpa_httpd__now_ns() + CANCEL_FLUSH_MS * 1000000LL;
    while (atomic_load(&h->deferred_reqs) > 0 && ahpa_httpd__now_ns() < deadline) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(h->daemon);
    h->daemon = NULL;
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    return left;
}

void ahpa_httpd_free(struct ahpa_httpd *h)
{
    if (h == NULL)
        return;
    if (h->daemon != NULL)
        ahpa_httpd_stop(h, 0);
    if (h->jobs_ready)
        ahpa_httpd__jobs_dispose(&h->jobs);
    ahpa_httpd__creds_dispose(&h->creds);
    ahpa_snapshot_dispose(&h->trust);
    free(h->priorities);
    free(h);
}
