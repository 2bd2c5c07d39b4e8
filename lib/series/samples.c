/* Irregular samples, regular series and resampling. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/timefmt.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/series.h"

void ahpa_series_samples_init(struct ahpa_series_samples *s)
{
    memset(s, 0, sizeof(*s));
}

void ahpa_series_samples_dispose(struct ahpa_series_samples *s)
{
    if (!s)
        return;
    free(s->t);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

void ahpa_series_samples_push(struct ahpa_series_samples *s, int64_t t_s,
                              double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        s->t = ahpa_reallocarray(s->t, cap, sizeof(*s->t));
        s->v = ahpa_reallocarray(s->v, cap, sizeof(*s->v));
        s->cap = cap;
    }
    s->t[s->n] = t_s;
    s->v[s->n] = v;
    s->n++;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t ahpa_series_samples_median_step(const struct ahpa_series_samples *s)
{
    if (s->n < 2)
        return 0;
    size_t m = s->n - 1;
    int64_t *d = ahpa_malloc(m * sizeof(*d));
    for (size_t i = 0; i < m; i++)
        d[i] = s->t[i + 1] - s->t[i];
    qsort(d, m, sizeof(*d), cmp_i64);
    int64_t med = d[m / 2];
    free(d);
    return med;
}

void ahpa_series_init(struct ahpa_series *s)
{
    memset(s, 0, sizeof(*s));
    s->step_s = 1;
}

void ahpa_series_dispose(struct ahpa_series *s)
{
    if (!s)
        return;
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* Floor division that rounds towards minus infinity for negative times. */
static void bin_add(double *acc, size_t *cnt, size_t i, double v,
                    enum ahpa_series_agg agg)
{
    if (cnt[i] == 0) {
        acc[i] = v;
    } else if (agg == AHPA_SERIES_AGG_MAX) {
        if (v > acc[i])
            acc[i] = v;
    } else if (agg == AHPA_SERIES_AGG_LAST) {
        acc[i] = v;
    } else {
        acc[i] += v;
    }
    cnt[i]++;
}

int ahpa_series_resample(const struct ahpa_series_samples *in, int64_t step_s,
                         enum ahpa_series_agg agg, size_t max_bins,
                         struct ahpa_series *out, struct ahpa_error *err)
{
    if (step_s <= 0)
        return ahpa_error_set(err, AHPA_EINVAL, "step must be positive, got %lld",
                              (long long)step_s);
    if (in->n == 0)
        return ahpa_error_set(err, AHPA_ENODATA, "no samples to resample");
    for (size_t i = 1; i < in->n; i++)
        if (in->t[i] < in->t[i - 1])
            return ahpa_error_set(err, AHPA_EINVAL, "samples not sorted at index %zu", i);
    int64_t b0 = ahpa_floor_div(in->t[0], step_s);
    int64_t b1 = ahpa_floor_div(in->t[in->n - 1], step_s);
    uint64_t nb = (uint64_t)(b1 - b0) + 1;
    if ((max_bins && nb > max_bins) || nb > SIZE_MAX / 16)
        return ahpa_error_set(err, AHPA_ETOOBIG,
                              "span of %llu steps exceeds the limit of %zu",
                              (unsigned long long)nb, max_bins);
    double *acc = ahpa_malloc((size_t)nb * sizeof(*acc));
    size_t *cnt = ahpa_calloc((size_t)nb, sizeof(*cnt));
    for (size_t i = 0; i < in->n; i++) {
        if (isnan(in->v[i]))
            continue;
        size_t k = (size_t)(ahpa_floor_div(in->t[i], step_s) - b0);
        bin_add(acc, cnt, k, in->v[i], agg);
    }
    for (size_t k = 0; k < nb; k++) {
        if (cnt[k] == 0)
            acc[k] = agg == AHPA_SERIES_AGG_SUM ? 0.0 : NAN;
        else if (agg == AHPA_SERIES_AGG_MEAN)
            acc[k] /= (double)cnt[k];
    }
    free(cnt);
    free(out->v);
    out->v = acc;
    out->n = (size_t)nb;
    out->t0_s = b0 * step_s;
    out->step_s = step_s;
    return 0;
}
