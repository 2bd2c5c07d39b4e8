/* Canned apiserver for the informer tests (see fakeapi.h). */
#include "fakeapi.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_OBJS 256
#define MAX_OUT 4096
#define MAX_CONNS 128
#define REQ_MAX 16384
#define STREAM_ROUNDS 600 /* x 50 ms: a stream ends properly after 30 s */

struct fobj {
    char ns[64], name[64];
    long rv;
    char *spec;
};

/* What streams send: history events (rv > 0) and broadcasts (rv == 0). */
struct outline {
    long rv;
    char *line;
    bool compacted; /* forgotten history: never sent again */
};

struct fconn {
    struct fakeapi *f;
    int fd;
    pthread_t thread;
    bool streaming;
};

struct fakeapi {
    char path[256], kind[64];
    int listen_fd, port;
    atomic_bool stop;
    pthread_t acceptor;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fobj objs[MAX_OBJS];
    size_t nobjs;
    struct outline out[MAX_OUT];
    size_t nout;
    long rv, oldest_rv;
    bool gone_as_event;
    bool held;
    int fail_status;       /* > 0: watches get this status and fail_body */
    char fail_body[512];
    unsigned drop_gen;
    size_t lists, watches, streams, started, page;
    long last_watch_rv;
    char last_target[1024];
    struct fconn conns[MAX_CONNS];
    size_t nconns;
};

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool send_reply(int fd, int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     status, strlen(body));
    return send_all(fd, head, (size_t)n) && send_all(fd, body, strlen(body));
}

static char *obj_json(const struct fakeapi *f, const struct fobj *o, bool with_kind)
{
    char *s = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&s, &n);
    fprintf(m, "{%s%s%s\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"resourceVersion\":\"%ld\"},"
               "\"spec\":%s}",
            with_kind ? "\"kind\":\"" : "", with_kind ? f->kind : "", with_kind ? "\"," : "",
            o->name, o->ns, o->rv, o->spec);
    fclose(m);
    return s;
}

/* Under mu. */
static void push_out(struct fakeapi *f, long rv, char *line)
{
    ck_assert_uint_lt(f->nout, MAX_OUT);
    f->out[f->nout++] = (struct outline){rv, line, false};
    pthread_cond_broadcast(&f->cv);
}

static void push_event(struct fakeapi *f, const char *type, const struct fobj *o)
{
    char *obj = obj_json(f, o, true);
    char *line = NULL;
    ck_assert_int_ge(asprintf(&line, "{\"type\":\"%s\",\"object\":%s}", type, obj), 0);
    free(obj);
    push_out(f, o->rv, line);
}

static int by_key(const void *a, const void *b)
{
    const struct fobj *x = a, *y = b;
    int c = strcmp(x->ns, y->ns);
    return c ? c : strcmp(x->name, y->name);
}

static long param(const char *target, const char *name, long dflt)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "%s=", name);
    const char *q = strchr(target, '?');
    for (const char *p = q; p != NULL; p = strchr(p + 1, '&'))
        if (strncmp(p + 1, pat, strlen(pat)) == 0)
            return strtol(p + 1 + strlen(pat), NULL, 10);
    return dflt;
}

static bool has_param(const char *target, const char *name_eq)
{
    const char *q = strchr(target, '?');
    return q != NULL && strstr(q, name_eq) != NULL;
}

static void serve_list(struct fakeapi *f, int fd, const char *target)
{
    pthread_mutex_lock(&f->mu);
    f->lists++;
    qsort(f->objs, f->nobjs, sizeof(f->objs[0]), by_key);
    size_t limit = (size_t)param(target, "limit", 0);
    if (f->page)
        limit = f->page;
    size_t from = (size_t)param(target, "continue", 0);
    size_t to = limit && from + limit < f->nobjs ? from + limit : f->nobjs;
    char *s = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&s, &n);
    fprintf(m, "{\"kind\":\"%sList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"%ld\"",
            f->kind, f->rv);
    if (to < f->nobjs)
        fprintf(m, ",\"continue\":\"%zu\"", to);
    fprintf(m, "},\"items\":[");
    for (size_t i = from; i < to; i++) {
        char *o = obj_json(f, &f->objs[i], false);
        fprintf(m, "%s%s", i > from ? "," : "", o);
        free(o);
    }
    fprintf(m, "]}");
    fclose(m);
    pthread_mutex_unlock(&f->mu);
    send_reply(fd, 200, s);
    free(s);
}

static bool send_chunk(int fd, const char *line)
{
    char head[32];
    size_t len = strlen(line) + 1;
    int n = snprintf(head, sizeof(head), "%zx\r\n", len);
    return send_all(fd, head, (size_t)n) && send_all(fd, line, len - 1) &&
           send_all(fd, "\n\r\n", 3);
}

static const char gone_event[] =
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
    "\"Failure\",\"message\":\"too old resource version\",\"reason\":\"Expired\",\"code\":410}}";
static const char gone_status[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":\"too old "
    "resource version: 1 (5)\",\"reason\":\"Expired\",\"code\":410}\n";

/* Streams history after `from`, then everything new, until stopped,
 * dropped or STREAM_ROUNDS pass. Returns false when the connection must
 * close without a proper end. */
static bool stream(struct fakeapi *f, struct fconn *c, long from)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    if (!send_all(c->fd, head, sizeof(head) - 1))
        return false;
    pthread_mutex_lock(&f->mu);
    unsigned gen = f->drop_gen;
    size_t start = f->nout, pos = 0; /* broadcasts before `start` are not ours */
    f->streams++;
    f->started++;
    bool ok = true;
    for (int round = 0; round < STREAM_ROUNDS && ok; round++) {
        while (ok && pos < f->nout && f->drop_gen == gen && !f->held) {
            size_t i = pos++;
            struct outline *o = &f->out[i];
            if ((o->rv == 0 && i < start) || (o->rv != 0 && o->rv <= from) || o->compacted)
                continue;
            char *line = strdup(o->line);
            pthread_mutex_unlock(&f->mu);
            ok = send_chunk(c->fd, line);
            free(line);
            pthread_mutex_lock(&f->mu);
        }
        if (atomic_load(&f->stop) || f->drop_gen != gen) {
            ok = false;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
    f->streams--;
    pthread_mutex_unlock(&f->mu);
    return ok && send_all(c->fd, "0\r\n\r\n", 5);
}

static bool serve_watch(struct fakeapi *f, struct fconn *c, const char *target)
{
    long from = param(target, "resourceVersion", 0);
    pthread_mutex_lock(&f->mu);
    f->watches++;
    f->last_watch_rv = from;
    bool gone = from < f->oldest_rv;
    bool as_event = f->gone_as_event;
    bool held = f->held;
    int fail = f->fail_status;
    char fail_body[512];
    snprintf(fail_body, sizeof(fail_body), "%s", f->fail_body);
    pthread_mutex_unlock(&f->mu);
    if (fail > 0)
        return send_reply(c->fd, fail, fail_body);
    if (held)
        return send_reply(c->fd, 503, "{\"kind\":\"Status\",\"reason\":\"ServiceUnavailable\","
                                      "\"code\":503}");
    if (gone && !as_event)
        return send_reply(c->fd, 410, gone_status);
    if (gone) {
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n";
        send_all(c->fd, head, sizeof(head) - 1);
        send_chunk(c->fd, gone_event);
        send_all(c->fd, "0\r\n\r\n", 5);
        return false;
    }
    c->streaming = true;
    bool ok = stream(f, c, from);
    c->streaming = false;
    return ok;
}

static ssize_t read_head(struct fakeapi *f, int fd, char *buf, size_t *have)
{
    for (int rounds = 0; rounds < 600 && !atomic_load(&f->stop); rounds++) {
        buf[*have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end != NULL)
            return end + 4 - buf;
        if (*have >= REQ_MAX)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) == 0)
            continue;
        ssize_t r = recv(fd, buf + *have, REQ_MAX - *have, 0);
        if (r <= 0)
            return 0;
        *have += (size_t)r;
    }
    return 0;
}

static void *conn_main(void *arg)
{
    struct fconn *c = arg;
    struct fakeapi *f = c->f;
    char *buf = malloc(REQ_MAX + 1);
    size_t have = 0;
    for (int i = 0; i < 1000 && !atomic_load(&f->stop); i++) {
        ssize_t used = read_head(f, c->fd, buf, &have);
        if (used <= 0)
            break;
        char method[16] = "", target[1024] = "";
        sscanf(buf, "%15s %1023s", method, target);
        memmove(buf, buf + used, have - (size_t)used);
        have -= (size_t)used;
        pthread_mutex_lock(&f->mu);
        snprintf(f->last_target, sizeof(f->last_target), "%s", target);
        pthread_mutex_unlock(&f->mu);
        size_t plen = strlen(f->path);
        bool ours = strncmp(target, f->path, plen) == 0 &&
                    (target[plen] == '\0' || target[plen] == '?');
        bool ok;
        if (!ours || strcmp(method, "GET") != 0)
            ok = send_reply(c->fd, 404, "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}");
        else if (has_param(target, "watch=true") || has_param(target, "watch=1"))
            ok = serve_watch(f, c, target);
        else {
            serve_list(f, c->fd, target);
            ok = true;
        }
        if (!ok)
            break;
    }
    free(buf);
    shutdown(c->fd, SHUT_RDWR);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct fakeapi *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {.fd = f->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        /* Replies and watch events are several writes: without this each
         * waits for the client's delayed ACK (~40 ms), as in testsrv.c. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_mutex_lock(&f->mu);
        if (f->nconns == MAX_CONNS) {
            pthread_mutex_unlock(&f->mu);
            close(fd);
            continue;
        }
        struct fconn *c = &f->conns[f->nconns++];
        c->f = f;
        c->fd = fd;
        pthread_create(&c->thread, NULL, conn_main, c);
        pthread_mutex_unlock(&f->mu);
    }
    return NULL;
}

struct fakeapi *fakeapi_start(const char *path, const char *kind)
{
    struct fakeapi *f = calloc(1, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "%s", path);
    snprintf(f->kind, sizeof(f->kind), "%s", kind);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    atomic_init(&f->stop, false);
    f->rv = 100;
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(f->listen_fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(f->listen_fd, 64), 0);
    socklen_t len = sizeof(a);
    getsockname(f->listen_fd, (struct sockaddr *)&a, &len);
    f->port = ntohs(a.sin_port);
    pthread_create(&f->acceptor, NULL, accept_main, f);
    return f;
}

void fakeapi_stop(struct fakeapi *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->acceptor, NULL);
    close(f->listen_fd);
    pthread_mutex_lock(&f->mu);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    for (size_t i = 0; i < f->nconns; i++) {
        shutdown(f->conns[i].fd, SHUT_RDWR);
        pthread_join(f->conns[i].thread, NULL);
        close(f->conns[i].fd);
    }
    for (size_t i = 0; i < f->nobjs; i++)
        free(f->objs[i].spec);
    for (size_t i = 0; i < f->nout; i++)
        free(f->out[i].line);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

char *fakeapi_url(struct fakeapi *f)
{
    char *u = NULL;
    ck_assert_int_ge(asprintf(&u, "http://127.0.0.1:%d", f->port), 0);
    return u;
}

static struct fobj *find(struct fakeapi *f, const char *ns, const char *name)
{
    for (size_t i = 0; i < f->nobjs; i++)
        if (strcmp(f->objs[i].ns, ns) == 0 && strcmp(f->objs[i].name, name) == 0)
            return &f->objs[i];
    return NULL;
}

long fakeapi_put(struct fakeapi *f, const char *ns, const char *name, const char *spec)
{
    pthread_mutex_lock(&f->mu);
    struct fobj *o = find(f, ns, name);
    bool added = o == NULL;
    if (added) {
        ck_assert_uint_lt(f->nobjs, MAX_OBJS);
        o = &f->objs[f->nobjs++];
        snprintf(o->ns, sizeof(o->ns), "%s", ns);
        snprintf(o->name, sizeof(o->name), "%s", name);
    } else {
        free(o->spec);
    }
    o->spec = strdup(spec);
    o->rv = ++f->rv;
    push_event(f, added ? "ADDED" : "MODIFIED", o);
    long rv = f->rv;
    pthread_mutex_unlock(&f->mu);
    return rv;
}

long fakeapi_delete(struct fakeapi *f, const char *ns, const char *name)
{
    pthread_mutex_lock(&f->mu);
    struct fobj *o = find(f, ns, name);
    long rv = 0;
    if (o != NULL) {
        o->rv = rv = ++f->rv;
        push_event(f, "DELETED", o);
        free(o->spec);
        *o = f->objs[--f->nobjs];
    }
    pthread_mutex_unlock(&f->mu);
    return rv;
}

long fakeapi_bookmark(struct fakeapi *f)
{
    pthread_mutex_lock(&f->mu);
    long rv = ++f->rv; /* as if objects outside our selector changed */
    char *line = NULL;
    ck_assert_int_ge(asprintf(&line, "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\","
                                     "\"metadata\":{\"resourceVersion\":\"%ld\"}}}",
                              f->kind, rv), 0);
    push_out(f, 0, line);
    pthread_mutex_unlock(&f->mu);
    return rv;
}

void fakeapi_compact(struct fakeapi *f, bool as_event)
{
    pthread_mutex_lock(&f->mu);
    f->oldest_rv = f->rv;
    f->gone_as_event = as_event;
    for (size_t i = 0; i < f->nout; i++)
        f->out[i].compacted = f->out[i].rv != 0;
    if (as_event)
        push_out(f, 0, strdup(gone_event));
    else
        f->drop_gen++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void fakeapi_hold(struct fakeapi *f, bool held)
{
    pthread_mutex_lock(&f->mu);
    f->held = held;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void fakeapi_fail_watches(struct fakeapi *f, int status, const char *body)
{
    pthread_mutex_lock(&f->mu);
    f->fail_status = status;
    snprintf(f->fail_body, sizeof(f->fail_body), "%s", body ? body : "");
    pthread_mutex_unlock(&f->mu);
}

void fakeapi_drop_streams(struct fakeapi *f)
{
    pthread_mutex_lock(&f->mu);
    f->drop_gen++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void fakeapi_send_raw(struct fakeapi *f, const char *line)
{
    pthread_mutex_lock(&f->mu);
    push_out(f, 0, strdup(line));
    pthread_mutex_unlock(&f->mu);
}

#define GETTER(type, name, field)              \
    type fakeapi_##name(struct fakeapi *f)     \
    {                                          \
        pthread_mutex_lock(&f->mu);            \
        type v = f->field;                     \
        pthread_mutex_unlock(&f->mu);          \
        return v;                              \
    }
GETTER(long, rv, rv)
GETTER(size_t, lists, lists)
GETTER(size_t, watches, watches)
GETTER(size_t, streams, streams)
GETTER(size_t, streams_started, started)
GETTER(long, last_watch_rv, last_watch_rv)

void fakeapi_last_target(struct fakeapi *f, char *out, size_t n)
{
    pthread_mutex_lock(&f->mu);
    snprintf(out, n, "%s", f->last_target);
    pthread_mutex_unlock(&f->mu);
}

void fakeapi_set_page(struct fakeapi *f, size_t n)
{
    pthread_mutex_lock(&f->mu);
    f->page = n;
    pthread_mutex_unlock(&f->mu);
}
