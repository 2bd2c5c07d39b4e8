/* /metrics: the server's own metrics in Prometheus text format.
 *
 * Request counters and latency histograms are fixed arrays of atomics
 * indexed by route template, verb and code, so recording a request takes
 * no lock and the label sets stay bounded whatever clients send. */
#include <dirent.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ahpa/buf.h"
#include "ahpa/httpd.h"
#include "ahpa/leader.h"
#include "api_int.h"

#ifndef AHPA_VERSION
#define AHPA_VERSION "0.0.0"
#endif
#ifndef AHPA_GIT_COMMIT
#define AHPA_GIT_COMMIT "unknown"
#endif

const char *const ahpa_api__route_names[AHPA_API_ROUTE_COUNT_] = {
#define ROUTE_NAME_(id, tmpl) tmpl,
    AHPA_API_ROUTES(ROUTE_NAME_)
#undef ROUTE_NAME_
};

static const char *const verbs[AHPA_API_NVERBS] = {"GET",   "HEAD",   "POST",    "PUT",
                                                   "PATCH", "DELETE", "OPTIONS", "other"};
/* The last slot collects every code not listed. */
static const int codes[AHPA_API_NCODES - 1] = {0,   200, 201, 204, 304, 400, 401,
                                               403, 404, 405, 406, 409, 413, 414,
                                               415, 429, 431, 500, 503, 504};
static const double buckets_s[AHPA_API_NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                    0.025,  0.05,  0.1,    0.25,  0.5,
                                                    1,      2.5,   5,      10};

void ahpa_api__metrics_init(struct ahpa_api__metrics *m)
{
    memset(m, 0, sizeof(*m));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_time_s = (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int route_index(const char *route)
{
    for (int i = 0; i < AHPA_API_ROUTE_COUNT_; i++) {
        if (route == ahpa_api__route_names[i] || strcmp(route, ahpa_api__route_names[i]) == 0)
            return i;
    }
    return AHPA_API_ROUTE_OTHER;
}

static int verb_index(const char *method)
{
    for (int i = 0; i < AHPA_API_NVERBS - 1; i++) {
        if (strcmp(method, verbs[i]) == 0)
            return i;
    }
    return AHPA_API_NVERBS - 1;
}

static int code_index(int status)
{
    for (int i = 0; i < AHPA_API_NCODES - 1; i++) {
        if (codes[i] == status)
            return i;
    }
    return AHPA_API_NCODES - 1;
}

void ahpa_api__metrics_observe(struct ahpa_server *s, const char *route, const char *method,
                               int status, double seconds)
{
    struct ahpa_api__metrics *m = &s->metrics;
    int r = route_index(route), v = verb_index(method), c = code_index(status);
    atomic_fetch_add_explicit(&m->requests[r][v][c], 1, memory_order_relaxed);
    int b = 0;
    while (b < AHPA_API_NBUCKETS && seconds > buckets_s[b])
        b++;
    if (b < AHPA_API_NBUCKETS)
        atomic_fetch_add_explicit(&m->latency_buckets[r][v][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_count[r][v], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_ns[r][v], (unsigned long long)(seconds * 1e9),
                              memory_order_relaxed);
}

static void write_requests(const struct ahpa_api__metrics *m, struct ahpa_buf *out)
{
    ahpa_buf_puts(out, "# HELP apiserver_request_total Requests served, by verb, route "
                       "template and HTTP code.\n# TYPE apiserver_request_total counter\n");
    for (int r = 0; r < AHPA_API_ROUTE_COUNT_; r++)
        for (int v = 0; v < AHPA_API_NVERBS; v++)
            for (int c = 0; c < AHPA_API_NCODES; c++) {
                unsigned long long n = atomic_load(&m->requests[r][v][c]);
                if (n == 0)
                    continue;
                char code[16];
                if (c < AHPA_API_NCODES - 1)
                    snprintf(code, sizeof(code), "%d", codes[c]);
                else
                    snprintf(code, sizeof(code), "other");
                ahpa_buf_printf(out,
                                "apiserver_request_total{verb=\"%s\",route=\"%s\",code=\"%s\"} "
                                "%llu\n",
                                verbs[v], ahpa_api__route_names[r], code, n);
            }
}

static void write_latency(const struct ahpa_api__metrics *m, struct ahpa_buf *out)
{
    ahpa_buf_puts(out, "# HELP apiserver_request_duration_seconds Time from the first byte "
                       "of a request to the last byte of its response.\n"
                       "# TYPE apiserver_request_duration_seconds histogram\n");
    for (int r = 0; r < AHPA_API_ROUTE_COUNT_; r++)
        for (int v = 0; v < AHPA_API_NVERBS; v++) {
            unsigned long long count = atomic_load(&m->latency_count[r][v]);
            if (count == 0)
                continue;
            const char *route = ahpa_api__route_names[r];
            unsigned long long cum = 0;
            for (int b = 0; b < AHPA_API_NBUCKETS; b++) {
                cum += atomic_load(&m->latency_buckets[r][v][b]);
                ahpa_buf_printf(out,
                                "apiserver_request_duration_seconds_bucket{verb=\"%s\","
                                "route=\"%s\",le=\"%g\"} %llu\n",
                                verbs[v], route, buckets_s[b], cum);
            }
            ahpa_buf_printf(out,
                            "apiserver_request_duration_seconds_bucket{verb=\"%s\",route=\"%s\","
                            "le=\"+Inf\"} %llu\n"
                            "apiserver_request_duration_seconds_sum{verb=\"%s\",route=\"%s\"} "
                            "%.9f\n"
                            "apiserver_request_duration_seconds_count{verb=\"%s\",route=\"%s\"} "
                            "%llu\n",
                            verbs[v], route, count, verbs[v], route,
                            atomic_load(&m->latency_sum_ns[r][v]) / 1e9, verbs[v], route, count);
        }
}

/* Process metrics, read from /proc/self. */
static void write_process(const struct ahpa_api__metrics *m, struct ahpa_buf *out)
{
    double cpu_s = NAN, rss = NAN, vsize = NAN;
    FILE *f = fopen("/proc/self/stat", "r");
    if (f != NULL) {
        char line[1024];
        if (fgets(line, sizeof(line), f) != NULL) {
            /* Fields after the parenthesised command name, which may contain spaces. */
            const char *p = strrchr(line, ')');
            unsigned long utime, stime, vs;
            long rss_pages;
            if (p != NULL && sscanf(p + 2,
                                    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
                                    "%*d %*d %*d %*d %*d %*d %*u %lu %ld",
                                    &utime, &stime, &vs, &rss_pages) == 4) {
                double tick = (double)sysconf(_SC_CLK_TCK);
                cpu_s = (utime + stime) / tick;
                vsize = (double)vs;
                rss = (double)rss_pages * (double)sysconf(_SC_PAGESIZE);
            }
        }
        fclose(f);
    }
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            fds += e->d_name[0] != '.';
        closedir(d);
        fds--; /* the directory stream itself */
    }
    struct rlimit rl = {0};
    getrlimit(RLIMIT_NOFILE, &rl);
    ahpa_buf_printf(out,
                    "# HELP process_cpu_seconds_total Total user and system CPU time.\n"
                    "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n"
                    "# HELP process_resident_memory_bytes Resident memory size.\n"
                    "# TYPE process_resident_memory_bytes gauge\n"
                    "process_resident_memory_bytes %.0f\n"
                    "# HELP process_virtual_memory_bytes Virtual memory size.\n"
                    "# TYPE process_virtual_memory_bytes gauge\n"
                    "process_virtual_memory_bytes %.0f\n"
                    "# HELP process_open_fds Open file descriptors.\n"
                    "# TYPE process_open_fds gauge\nprocess_open_fds %d\n"
                    "# HELP process_max_fds Limit on open file descriptors.\n"
                    "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n"
                    "# HELP process_start_time_seconds Start time since the epoch.\n"
                    "# TYPE process_start_time_seconds gauge\n"
                    "process_start_time_seconds %.3f\n",
                    cpu_s, rss, vsize, fds, (unsigned long long)rl.rlim_cur, m->start_time_s);
}

/* glibc's view of the heap: what is in use and what it keeps free. RSS far
 * above in-use bytes means freed memory not given back (fragmentation or
 * arenas), not a leak. */
static void write_malloc(struct ahpa_buf *out)
{
    struct mallinfo2 mi = mallinfo2();
    ahpa_buf_printf(out,
                    "# HELP ahpa_malloc_in_use_bytes Heap bytes allocated and not freed "
                    "(glibc mallinfo2 uordblks + hblkhd).\n"
                    "# TYPE ahpa_malloc_in_use_bytes gauge\nahpa_malloc_in_use_bytes %zu\n"
                    "# HELP ahpa_malloc_free_bytes Heap bytes freed but kept by the allocator "
                    "(fordblks; partly given back by malloc_trim).\n"
                    "# TYPE ahpa_malloc_free_bytes gauge\nahpa_malloc_free_bytes %zu\n"
                    "# HELP ahpa_malloc_arena_bytes Bytes of the allocator's arenas, free or "
                    "not (arena).\n"
                    "# TYPE ahpa_malloc_arena_bytes gauge\nahpa_malloc_arena_bytes %zu\n",
                    mi.uordblks + mi.hblkhd, mi.fordblks, mi.arena);
}

void ahpa_api__serve_metrics(struct ahpa_server *s, struct ahpa_httpd_request *req,
                             struct ahpa_httpd_response *resp)
{
    (void)req;
    struct ahpa_buf *out = &resp->body;
    ahpa_buf_reset(out);
    ahpa_buf_printf(out,
                    "# HELP ahpa_build_info Build information; the value is always 1.\n"
                    "# TYPE ahpa_build_info gauge\n"
                    "ahpa_build_info{version=\"%s\",git_commit=\"%s\"} 1\n",
                    AHPA_VERSION, AHPA_GIT_COMMIT);
    ahpa_buf_printf(out,
                    "# HELP apiserver_current_inflight_requests Requests being served now.\n"
                    "# TYPE apiserver_current_inflight_requests gauge\n"
                    "apiserver_current_inflight_requests %u\n",
                    s->httpd ? ahpa_httpd_inflight(s->httpd) : 0);
    write_requests(&s->metrics, out);
    write_latency(&s->metrics, out);
    write_process(&s->metrics, out);
    write_malloc(out);
    if (s->provider != NULL)
        ahpa_api__respcache_collect(s->respcache, out);
    for (int i = 0; i < s->ncollectors; i++)
        s->collectors[i].fn(s->collectors[i].ctx, out);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void ahpa_server_add_collector(struct ahpa_server *s, ahpa_metrics_collect_fn *fn, void *ctx)
{
    if (s->ncollectors < AHPA_API_MAX_COLLECTORS)
        s->collectors[s->ncollectors++] = (struct ahpa_api__collector){fn, ctx};
}

/* ---- leader election ------------------------------------------------ */

static void collect_leader(void *ctx, struct ahpa_buf *out)
{
    ahpa_leader_write_metrics(ctx, out);
}

static int check_leader(void *ctx, char *reason, size_t n)
{
    return ahpa_leader_check(ctx, AHPA_LEADER_HEALTHZ_TOLERANCE_MS, reason, n);
}

int ahpa_server_use_leader(struct ahpa_server *s, struct ahpa_leader *l, struct ahpa_error *err)
{
    ahpa_server_add_collector(s, collect_leader, l);
    return ahpa_server_add_check(s, "leaderElection", AHPA_CHECK_HEALTHZ, check_leader, l, err);
}
