/* The history rings of the workloads (the contract in controller_int.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/mem.h"
#include "controller_int.h"

void ahpa_controller__ring_init(struct ahpa_controller__ring *r, size_t cap)
{
    r->t0_s = 0;
    r->n = 0;
    r->cap = cap;
    r->v = ahpa_calloc(cap, sizeof(double));
}

void ahpa_controller__ring_dispose(struct ahpa_controller__ring *r)
{
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

/* Sets the value at time t (a multiple of step); fills skipped steps with
 * NaN; keeps the newest `cap` values. Times before the ring are dropped. */
void ahpa_controller__ring_put(struct ahpa_controller__ring *r, int64_t step, int64_t t,
                               double v)
{
    if (r->n == 0) {
        r->t0_s = t;
        r->v[0] = v;
        r->n = 1;
        return;
    }
    if (t < r->t0_s)
        return;
    size_t idx = (size_t)((t - r->t0_s) / step);
    if (idx >= r->cap) { /* drop from the front to make room */
        size_t drop = idx - r->cap + 1;
        if (drop >= r->n) {
            r->n = 0;
            r->t0_s = t - (int64_t)(r->cap - 1) * step;
        } else {
            memmove(r->v, r->v + drop, (r->n - drop) * sizeof(double));
            r->n -= drop;
            r->t0_s += (int64_t)drop * step;
        }
        idx = r->cap - 1;
        if (r->n == 0)
            r->t0_s = t - (int64_t)idx * step;
    }
    while (r->n <= idx)
        r->v[r->n++] = NAN;
    r->v[idx] = v;
}

double ahpa_controller__ring_get(const struct ahpa_controller__ring *r, int64_t step, int64_t t)
{
    if (r->n == 0 || t < r->t0_s)
        return NAN;
    size_t idx = (size_t)((t - r->t0_s) / step);
    return idx < r->n ? r->v[idx] : NAN;
}

/* The newest finite value of a ring at or before `until`: its time in
 * *t (0: none). */
double ahpa_controller__ring_last_finite(const struct ahpa_controller__ring *r, int64_t step,
                                         int64_t until, int64_t *t)
{
    *t = 0;
    for (size_t i = r->n; i-- > 0;) {
        int64_t ti = r->t0_s + (int64_t)i * step;
        if (ti <= until && isfinite(r->v[i])) {
            *t = ti;
            return r->v[i];
        }
    }
    return NAN;
}
