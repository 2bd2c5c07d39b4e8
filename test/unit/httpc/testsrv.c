/* Loopback HTTP/1.1 test server (see testsrv.h). */
#include "testsrv.h"

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
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 128
#define READ_MAX (TESTSRV_TARGET_MAX + TESTSRV_HEADERS_MAX + 64 * 1024)

struct conn {
    struct testsrv *srv;
    int fd;
    pthread_t thread;
};

struct testsrv {
    int listen_fd;
    int port;
    testsrv_handler_fn fn;
    void *ud;
    atomic_bool stop;
    pthread_t acceptor;
    pthread_mutex_t mu;
    struct conn conns[MAX_CONNS];
    size_t n_conns;
    size_t n_requests;
    struct testsrv_request last;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

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

/* Reads until the header block ends and the Content-Length body is in.
 * Returns bytes of the request consumed, 0 on close/timeout, -1 on junk. */
static ssize_t read_request(struct testsrv *s, int fd, char *buf, size_t *have,
                            struct testsrv_request *req)
{
    for (int rounds = 0; rounds < 1000 && !atomic_load(&s->stop); rounds++) {
        buf[*have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            size_t head = (size_t)(end - buf) + 4;
            size_t clen = 0;
            char *cl = strcasestr(buf, "\r\nContent-Length:");
            if (cl != NULL && cl < end)
                clen = strtoul(cl + 17, NULL, 10);
            if (*have >= head + clen) {
                memset(req, 0, sizeof(*req));
                char *sp1 = memchr(buf, ' ', head);
                char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1)) : NULL;
                char *eol = strstr(buf, "\r\n");
                if (sp1 == NULL || sp2 == NULL)
                    return -1;
                snprintf(req->method, sizeof(req->method), "%.*s", (int)(sp1 - buf), buf);
                snprintf(req->target, sizeof(req->target), "%.*s", (int)(sp2 - sp1 - 1), sp1 + 1);
                snprintf(req->headers, sizeof(req->headers), "%.*s", (int)(end - eol), eol);
                snprintf(req->body, sizeof(req->body), "%.*s", (int)clen, buf + head);
                req->body_len = clen;
                return (ssize_t)(head + clen);
            }
        }
        if (*have >= READ_MAX)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, 100);
        if (pr == 0)
            continue;
        ssize_t r = recv(fd, buf + *have, READ_MAX - *have, 0);
        if (r <= 0)
            return 0;
        *have += (size_t)r;
    }
    return 0;
}

static bool send_reply(struct testsrv *s, int fd, const struct testsrv_reply *rep)
{
    for (int waited = 0; waited < rep->delay_ms && !atomic_load(&s->stop); waited += 10)
        sleep_ms(10);
    if (rep->close_without_reply || atomic_load(&s->stop))
        return false;
    const char *body = rep->body ? rep->body : "";
    size_t blen = rep->huge_bytes ? rep->huge_bytes : strlen(body);
    char head[512];
    int n;
    if (rep->omit_length)
        n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: %s\r\nConnection: close\r\n\r\n",
                     rep->status ? rep->status : 200,
                     rep->content_type ? rep->content_type : "application/json");
    else
        n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                     rep->status ? rep->status : 200,
                     rep->content_type ? rep->content_type : "application/json", blen);
    if (!send_all(fd, head, (size_t)n))
        return false;
    if (rep->huge_bytes == 0)
        return send_all(fd, body, blen) && !rep->omit_length;
    static const char filler[4096] = {0};
    for (size_t sent = 0; sent < blen;) {
        size_t k = blen - sent < sizeof(filler) ? blen - sent : sizeof(filler);
        if (!send_all(fd, filler, k))
            return false;
        sent += k;
    }
    return !rep->omit_length;
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct testsrv *s = c->srv;
    char *buf = malloc(READ_MAX + 1);
    size_t have = 0;
    for (int i = 0; i < 10000 && !atomic_load(&s->stop); i++) {
        struct testsrv_request *req = calloc(1, sizeof(*req));
        ssize_t used = read_request(s, c->fd, buf, &have, req);
        if (used <= 0) {
            free(req);
            break;
        }
        memmove(buf, buf + used, have - (size_t)used);
        have -= (size_t)used;
        pthread_mutex_lock(&s->mu);
        s->n_requests++;
        s->last = *req;
        pthread_mutex_unlock(&s->mu);
        struct testsrv_reply rep = {0};
        s->fn(req, &rep, s->ud);
        free(req);
        if (!send_reply(s, c->fd, &rep))
            break;
    }
    free(buf);
    shutdown(c->fd, SHUT_RDWR);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct testsrv *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        /* A reply is two writes (head, body): with Nagle's algorithm the
         * body waits for the client's delayed ACK of the head, ~40 ms per
         * request on a kept-alive connection (a long controller test spent
         * most of its minute there). */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_mutex_lock(&s->mu);
        if (s->n_conns == MAX_CONNS) {
            pthread_mutex_unlock(&s->mu);
            close(fd);
            continue;
        }
        struct conn *c = &s->conns[s->n_conns++];
        c->srv = s;
        c->fd = fd;
        pthread_create(&c->thread, NULL, conn_main, c);
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

struct testsrv *testsrv_start_port(testsrv_handler_fn fn, void *ud, int port)
{
    struct testsrv *s = calloc(1, sizeof(*s));
    s->fn = fn;
    s->ud = ud;
    pthread_mutex_init(&s->mu, NULL);
    atomic_init(&s->stop, false);
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(s->listen_fd, 0);
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(s->listen_fd);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    ck_assert_int_eq(listen(s->listen_fd, 64), 0);
    socklen_t len = sizeof(a);
    getsockname(s->listen_fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->acceptor, NULL, accept_main, s);
    return s;
}

struct testsrv *testsrv_start(testsrv_handler_fn fn, void *ud)
{
    struct testsrv *s = testsrv_start_port(fn, ud, 0);
    ck_assert_ptr_nonnull(s);
    return s;
}

int testsrv_port(const struct testsrv *s)
{
    return s->port;
}

char *testsrv_url(const struct testsrv *s, const char *prefix)
{
    size_t n = strlen(prefix) + 40;
    char *u = malloc(n);
    snprintf(u, n, "http://127.0.0.1:%d%s", s->port, prefix);
    return u;
}

size_t testsrv_connections(struct testsrv *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_conns;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t testsrv_requests(struct testsrv *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void testsrv_last(struct testsrv *s, struct testsrv_request *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->last;
    pthread_mutex_unlock(&s->mu);
}

bool testsrv_header(const struct testsrv_request *r, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(r->headers, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = strcspn(v, "\r\n");
            snprintf(out, n, "%.*s", (int)vl, v);
            return true;
        }
    }
    return false;
}

void testsrv_stop(struct testsrv *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->acceptor, NULL);
    close(s->listen_fd);
    for (size_t i = 0; i < s->n_conns; i++) {
        shutdown(s->conns[i].fd, SHUT_RDWR);
        pthread_join(s->conns[i].thread, NULL);
        close(s->conns[i].fd);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}
