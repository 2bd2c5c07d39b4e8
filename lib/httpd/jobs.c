/* Deferred work: the jobs of suspended connections, their queue and the
 * worker pool, parks and wakes (contract and locking in httpd_int.h). */
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "httpd_int.h"

static struct ahpa_httpd__job *job_of_qlink(struct ahpa_list_link *l)
{
    return l != NULL ? AHPA_CONTAINER_OF(l, struct ahpa_httpd__job, qlink) : NULL;
}

static struct ahpa_httpd__job *job_of_olink(struct ahpa_list_link *l)
{
    return l != NULL ? AHPA_CONTAINER_OF(l, struct ahpa_httpd__job, olink) : NULL;
}

void ahpa_httpd__job_unref(struct ahpa_httpd__job *job)
{
    if (atomic_fetch_sub(&job->refs, 1) != 1)
        return;
    if (job->free_fn != NULL)
        job->free_fn(job->arg);
    ahpa_buf_dispose(&job->resp.body);
    free(job);
}

/* The job's answer is final: wake its connection if it sleeps. Caller
 * holds j->lock. */
static void finish_locked(struct ahpa_httpd__jobs *j, struct ahpa_httpd__job *job)
{
    job->done = true;
    ahpa_list_remove(&j->open, &job->olink);
    if (job->suspended) {
        job->suspended = false;
        MHD_resume_connection(job->conn);
    }
}

struct ahpa_httpd__job *ahpa_httpd__job_open(struct ahpa_httpd__jobs *j,
                                             struct MHD_Connection *conn,
                                             ahpa_httpd_work_fn *fn,
                                             ahpa_httpd_free_fn *free_fn, void *arg)
{
    pthread_mutex_lock(&j->lock);
    if (j->stop || j->open.count >= j->max_open) {
        bool full = !j->stop;
        pthread_mutex_unlock(&j->lock);
        if (full)
            atomic_fetch_add(&j->rejected, 1);
        return NULL;
    }
    struct ahpa_httpd__job *job = ahpa_calloc(1, sizeof(*job));
    atomic_init(&job->refs, 2);
    job->owner = j;
    job->conn = conn;
    job->fn = fn;
    job->free_fn = free_fn;
    job->arg = arg;
    job->queued_ns = ahpa_httpd__now_ns();
    ahpa_buf_init(&job->resp.body);
    if (fn != NULL) {
        ahpa_list_push_back(&j->queue, &job->qlink);
        pthread_cond_signal(&j->work);
    }
    ahpa_list_push_back(&j->open, &job->olink);
    pthread_mutex_unlock(&j->lock);
    atomic_fetch_add(&j->total, 1);
    return job;
}

bool ahpa_httpd__job_suspend(struct ahpa_httpd__job *job)
{
    struct ahpa_httpd__jobs *j = job->owner;
    pthread_mutex_lock(&j->lock);
    bool open = !job->done;
    if (open) {
        MHD_suspend_connection(job->conn);
        job->suspended = true;
    }
    pthread_mutex_unlock(&j->lock);
    return open;
}

void ahpa_httpd__job_wake(struct ahpa_httpd__job *job)
{
    struct ahpa_httpd__jobs *j = job->owner;
    pthread_mutex_lock(&j->lock);
    if (!job->done) /* else stop answered it, or its connection is gone */
        finish_locked(j, job);
    pthread_mutex_unlock(&j->lock);
    ahpa_httpd__job_unref(job);
}

void ahpa_httpd__job_detach(struct ahpa_httpd__job *job)
{
    struct ahpa_httpd__jobs *j = job->owner;
    pthread_mutex_lock(&j->lock);
    if (!job->done) /* closed by the daemon before the job finished */
        finish_locked(j, job);
    pthread_mutex_unlock(&j->lock);
    ahpa_httpd__job_unref(job);
}

enum ahpa_httpd__job_outcome ahpa_httpd__job_outcome(struct ahpa_httpd__job *job,
                                                     struct ahpa_httpd_response *out)
{
    struct ahpa_httpd__jobs *j = job->owner;
    enum ahpa_httpd__job_outcome o = AHPA_HTTPD__JOB_ANSWERED;
    pthread_mutex_lock(&j->lock);
    if (job->cancelled)
        o = AHPA_HTTPD__JOB_CANCELLED;
    else if (job->fn == NULL)
        o = AHPA_HTTPD__JOB_WOKEN;
    else if (job->expired)
        o = AHPA_HTTPD__JOB_EXPIRED;
    pthread_mutex_unlock(&j->lock);
    if (o != AHPA_HTTPD__JOB_ANSWERED)
        return o;
    /* done: nobody writes the job any more */
    out->status = job->resp.status;
    if (job->resp.content_type != NULL)
        out->content_type = job->resp.content_type;
    if (job->resp.route != NULL)
        out->route = job->resp.route;
    ahpa_buf_dispose(&out->body);
    out->body = job->resp.body;
    ahpa_buf_init(&job->resp.body);
    return o;
}

static struct ahpa_httpd__job *queue_pop_locked(struct ahpa_httpd__jobs *j)
{
    struct ahpa_httpd__job *job = job_of_qlink(ahpa_list_front(&j->queue));
    if (job != NULL)
        ahpa_list_remove(&j->queue, &job->qlink);
    return job;
}

static bool queue_wait_expired(const struct ahpa_httpd__jobs *j, const struct ahpa_httpd__job *job)
{
    return j->max_queue_wait_ms > 0 && !job->done &&
           ahpa_httpd__now_ns() - job->queued_ns > j->max_queue_wait_ms * 1000000LL;
}

/* Runs one job's function outside the lock; its answer is kept unless the
 * job was done meanwhile (stop, closed connection). Called and returns
 * with j->lock held. */
static void run_locked(struct ahpa_httpd__jobs *j, struct ahpa_httpd__job *job)
{
    pthread_mutex_unlock(&j->lock);
    /* The job's own response: nobody else sees it until the swap. */
    struct ahpa_httpd_response resp = {.status = 500};
    ahpa_buf_init(&resp.body);
    job->fn(job->arg, &resp);
    pthread_mutex_lock(&j->lock);
    if (!job->done) {
        struct ahpa_buf empty = job->resp.body;
        job->resp = resp;
        resp.body = empty;
        finish_locked(j, job);
    }
    pthread_mutex_unlock(&j->lock);
    ahpa_buf_dispose(&resp.body);
    ahpa_httpd__job_unref(job);
    pthread_mutex_lock(&j->lock);
}

static void *worker_main(void *arg)
{
    struct ahpa_httpd__jobs *j = arg;
    pthread_mutex_lock(&j->lock);
    for (;;) {
        while (!j->stop && j->queue.count == 0)
            pthread_cond_wait(&j->work, &j->lock);
        struct ahpa_httpd__job *job = queue_pop_locked(j);
        if (job == NULL)
            break;
        if (!queue_wait_expired(j, job)) {
            run_locked(j, job);
            continue;
        }
        /* Its client has likely given up: don't spend the back end on it. */
        job->expired = true;
        finish_locked(j, job);
        pthread_mutex_unlock(&j->lock);
        ahpa_httpd__job_unref(job);
        pthread_mutex_lock(&j->lock);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

void ahpa_httpd__jobs_cancel(struct ahpa_httpd__jobs *j)
{
    struct ahpa_list dropped;
    ahpa_list_init(&dropped);
    pthread_mutex_lock(&j->lock);
    j->stop = true;
    for (struct ahpa_httpd__job *job; (job = queue_pop_locked(j)) != NULL;)
        ahpa_list_push_back(&dropped, &job->qlink);
    for (struct ahpa_httpd__job *job; (job = job_of_olink(ahpa_list_front(&j->open))) != NULL;) {
        job->cancelled = true;
        finish_locked(j, job);
    }
    pthread_cond_broadcast(&j->work);
    pthread_mutex_unlock(&j->lock);
    for (struct ahpa_httpd__job *job; (job = job_of_qlink(ahpa_list_front(&dropped))) != NULL;) {
        ahpa_list_remove(&dropped, &job->qlink);
        ahpa_httpd__job_unref(job);
    }
}

unsigned ahpa_httpd__jobs_open_count(struct ahpa_httpd__jobs *j)
{
    pthread_mutex_lock(&j->lock);
    unsigned n = (unsigned)j->open.count;
    pthread_mutex_unlock(&j->lock);
    return n;
}

int ahpa_httpd__jobs_init(struct ahpa_httpd__jobs *j, unsigned workers, unsigned max_open,
                          int64_t max_queue_wait_ms, struct ahpa_error *err)
{
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->work, NULL);
    ahpa_list_init(&j->queue);
    ahpa_list_init(&j->open);
    j->max_open = max_open;
    j->max_queue_wait_ms = max_queue_wait_ms;
    j->stop = false;
    atomic_init(&j->rejected, 0);
    atomic_init(&j->total, 0);
    j->workers = ahpa_calloc(workers, sizeof(*j->workers));
    for (j->nworkers = 0; j->nworkers < workers; j->nworkers++)
        if (pthread_create(&j->workers[j->nworkers], NULL, worker_main, j) != 0)
            return ahpa_error_set(err, AHPA_EIO, "cannot start worker threads");
    return 0;
}

void ahpa_httpd__jobs_dispose(struct ahpa_httpd__jobs *j)
{
    pthread_mutex_lock(&j->lock);
    j->stop = true;
    pthread_cond_broadcast(&j->work);
    pthread_mutex_unlock(&j->lock);
    for (unsigned i = 0; i < j->nworkers; i++)
        pthread_join(j->workers[i], NULL);
    j->nworkers = 0;
    free(j->workers);
    j->workers = NULL;
    pthread_cond_destroy(&j->work);
    pthread_mutex_destroy(&j->lock);
}
