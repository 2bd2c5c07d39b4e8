/* Token-bucket limiter and jittered exponential backoff. Both take time
 * and randomness from the caller, so the tests drive them exactly. */
#include <math.h>

#include "kube_int.h"

void ahpa_kube__limiter_init(struct ahpa_kube__limiter *l, double qps, int burst)
{
    pthread_mutex_init(&l->mu, NULL);
    l->qps = qps;
    l->burst = burst > 0 ? burst : 1;
    l->tokens = l->burst; /* a fresh client may burst at once */
    l->last_ns = -1;
}

void ahpa_kube__limiter_dispose(struct ahpa_kube__limiter *l)
{
    pthread_mutex_destroy(&l->mu);
}

int64_t ahpa_kube__limiter_reserve(struct ahpa_kube__limiter *l, int64_t now_ns)
{
    if (!(l->qps > 0))
        return 0;
    pthread_mutex_lock(&l->mu);
    if (l->last_ns >= 0 && now_ns > l->last_ns) {
        l->tokens += (double)(now_ns - l->last_ns) * 1e-9 * l->qps;
        if (l->tokens > l->burst)
            l->tokens = l->burst;
    }
    if (l->last_ns < now_ns)
        l->last_ns = now_ns;
    l->tokens -= 1.0;
    /* In debt: wait until the refill pays this token back. */
    double wait_s = l->tokens < 0 ? -l->tokens / l->qps : 0.0;
    pthread_mutex_unlock(&l->mu);
    return (int64_t)ceil(wait_s * 1e9);
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

void ahpa_kube__backoff_init(struct ahpa_kube__backoff *b, int64_t initial_ms, int64_t max_ms,
                             uint64_t seed)
{
    b->initial_ms = initial_ms > 0 ? initial_ms : 800;
    b->max_ms = max_ms > 0 ? max_ms : 30000;
    if (b->max_ms < b->initial_ms)
        b->max_ms = b->initial_ms;
    b->next_ms = b->initial_ms;
    b->rng = seed != 0 ? seed : 0x9e3779b97f4a7c15ull;
}

/* Half the step is fixed and half random, so a crowd of clients that lost
 * the apiserver together spreads out, yet none retries sooner than half
 * the step and none waits beyond max_ms. */
int64_t ahpa_kube__backoff_next(struct ahpa_kube__backoff *b)
{
    int64_t d = b->next_ms;
    double u = (double)(xorshift64(&b->rng) >> 11) * 0x1.0p-53; /* [0, 1) */
    int64_t delay = d / 2 + (int64_t)(u * (double)(d - d / 2));
    b->next_ms = d >= b->max_ms / 2 ? b->max_ms : 2 * d;
    return delay;
}

void ahpa_kube__backoff_reset(struct ahpa_kube__backoff *b)
{
    b->next_ms = b->initial_ms;
}
