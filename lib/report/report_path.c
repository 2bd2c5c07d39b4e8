/* Path data for the charts: scales, gap detection and the min/max
 * decimation that keeps a week at one-minute steps small without losing
 * its spikes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/mem.h"
#include "report_int.h"

void ahpa_report__escape(struct ahpa_buf *b, const char *s)
{
    if (s == NULL) {
        ahpa_buf_putc(b, '-');
        return;
    }
    for (; *s; s++) {
        switch (*s) {
        case '&': ahpa_buf_puts(b, "&amp;"); break;
        case '<': ahpa_buf_puts(b, "&lt;"); break;
        case '>': ahpa_buf_puts(b, "&gt;"); break;
        case '"': ahpa_buf_puts(b, "&quot;"); break;
        case '\'': ahpa_buf_puts(b, "&#39;"); break;
        default: ahpa_buf_putc(b, *s); break;
        }
    }
}

void ahpa_report__num(struct ahpa_buf *b, double v)
{
    char tmp[64];
    if (!isfinite(v) || fabs(v) >= 1e15) {
        snprintf(tmp, sizeof(tmp), "%.3g", isfinite(v) ? v : 0.0);
        ahpa_buf_puts(b, tmp);
        return;
    }
    int n = snprintf(tmp, sizeof(tmp), "%.1f", v);
    if (n >= 2 && tmp[n - 2] == '.' && tmp[n - 1] == '0')
        tmp[n -= 2] = '\0';
    ahpa_buf_puts(b, strcmp(tmp, "-0") == 0 ? "0" : tmp);
}

int ahpa_report__col(const struct ahpa_report__frame *f, int64_t t)
{
    double frac = (double)(t - f->t0) / (double)(f->t1 - f->t0);
    double c = floor(frac * f->cols);
    if (c < 0)
        return 0;
    if (c > f->cols - 1)
        return f->cols - 1;
    return (int)c;
}

double ahpa_report__x_of_col(const struct ahpa_report__frame *f, int col)
{
    return f->left + col + 0.5;
}

double ahpa_report__x(const struct ahpa_report__frame *f, int64_t t)
{
    double frac = (double)(t - f->t0) / (double)(f->t1 - f->t0);
    if (frac < 0)
        frac = 0;
    if (frac > 1)
        frac = 1;
    return f->left + frac * f->cols;
}

double ahpa_report__y(const struct ahpa_report__frame *f, double v)
{
    double frac = (v - f->y0) / (f->y1 - f->y0);
    /* Values are inside the range by construction; the clamp only keeps a
     * stray one from producing absurd coordinates. */
    if (frac < -1)
        frac = -1;
    if (frac > 2)
        frac = 2;
    return f->top + f->height * (1.0 - frac);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t ahpa_report__gap_s(const struct ahpa_report__series *s)
{
    if (s->n < 2)
        return INT64_MAX;
    int64_t *d = ahpa_malloc((s->n - 1) * sizeof(*d));
    size_t m = 0;
    for (size_t i = 1; i < s->n; i++)
        if (s->t[i] > s->t[i - 1])
            d[m++] = s->t[i] - s->t[i - 1];
    int64_t gap = INT64_MAX;
    if (m > 0) {
        qsort(d, m, sizeof(*d), cmp_i64);
        gap = 3 * d[m / 2];
    }
    free(d);
    return gap;
}

/* Whether samples prev and i (consecutive finite samples, i = prev + 1)
 * are too far apart to join: further than the series-wide threshold and
 * than three of the steps next to them. The local test keeps a series whose
 * step changes (1-minute history, coarser forecast) from falling apart. */
static int time_break(const struct ahpa_report__series *s, size_t prev, size_t i, int64_t gap)
{
    int64_t dt = s->t[i] - s->t[prev];
    if (dt <= gap)
        return 0;
    int64_t local = INT64_MAX;
    if (prev > 0 && s->t[prev] > s->t[prev - 1])
        local = s->t[prev] - s->t[prev - 1];
    if (i + 1 < s->n && s->t[i + 1] > s->t[i] && s->t[i + 1] - s->t[i] < local)
        local = s->t[i + 1] - s->t[i];
    return local == INT64_MAX || dt > 3 * local;
}

/* One pixel column's worth of samples. */
struct bucket {
    int have, col;
    double vmin, vmax;
    size_t imin, imax;
};

struct pen {
    struct ahpa_buf *b;
    const struct ahpa_report__frame *f;
    size_t points;   /* points in the current segment */
    size_t segments;
};

static void pen_point(struct pen *p, double x, double y)
{
    if (p->points == 0) {
        ahpa_buf_putc(p->b, 'M');
        p->segments++;
    } else {
        ahpa_buf_putc(p->b, ' ');
    }
    ahpa_report__num(p->b, x);
    ahpa_buf_putc(p->b, ' ');
    ahpa_report__num(p->b, y);
    p->points++;
}

static void pen_up(struct pen *p)
{
    if (p->points == 1)
        ahpa_buf_puts(p->b, "h0");
    p->points = 0;
}

static void bucket_flush(struct pen *p, struct bucket *k)
{
    if (!k->have)
        return;
    double x = ahpa_report__x_of_col(p->f, k->col);
    double first = k->imin <= k->imax ? k->vmin : k->vmax;
    double second = k->imin <= k->imax ? k->vmax : k->vmin;
    pen_point(p, x, ahpa_report__y(p->f, first));
    if (k->imin != k->imax)
        pen_point(p, x, ahpa_report__y(p->f, second));
    k->have = 0;
}

static void bucket_add(struct bucket *k, int col, double v, size_t i)
{
    if (!k->have) {
        *k = (struct bucket){.have = 1, .col = col, .vmin = v, .vmax = v,
                             .imin = i, .imax = i};
        return;
    }
    if (v < k->vmin) {
        k->vmin = v;
        k->imin = i;
    }
    if (v > k->vmax) {
        k->vmax = v;
        k->imax = i;
    }
}

/* Breaks (NaN samples, time gaps) take effect between pixel columns only:
 * a break inside one column is invisible anyway, and this way a series
 * never draws more than two points per column, however its NaNs fall. */
size_t ahpa_report__path(struct ahpa_buf *b, const struct ahpa_report__frame *f,
                         const struct ahpa_report__series *s)
{
    struct pen p = {.b = b, .f = f};
    struct bucket k = {0};
    int64_t gap = ahpa_report__gap_s(s);
    size_t prev = SIZE_MAX;
    int broken = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->v[i])) {
            broken = 1;
            continue;
        }
        if (prev != SIZE_MAX && time_break(s, prev, i, gap))
            broken = 1;
        int col = ahpa_report__col(f, s->t[i]);
        if (k.have && col != k.col) {
            bucket_flush(&p, &k);
            if (broken)
                pen_up(&p);
        }
        broken = 0;
        bucket_add(&k, col, s->v[i], i);
        prev = i;
    }
    bucket_flush(&p, &k);
    pen_up(&p);
    return p.segments;
}

/* A band column: the extreme top and bottom over its samples. */
struct band_col {
    int col;
    double top, bot;
};

static void band_emit(struct ahpa_buf *b, const struct ahpa_report__frame *f,
                      const struct band_col *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ahpa_buf_putc(b, i == 0 ? 'M' : ' ');
        ahpa_report__num(b, ahpa_report__x_of_col(f, c[i].col));
        ahpa_buf_putc(b, ' ');
        ahpa_report__num(b, ahpa_report__y(f, c[i].top));
    }
    for (size_t i = n; i-- > 0;) {
        ahpa_buf_putc(b, ' ');
        ahpa_report__num(b, ahpa_report__x_of_col(f, c[i].col));
        ahpa_buf_putc(b, ' ');
        ahpa_report__num(b, ahpa_report__y(f, c[i].bot));
    }
    ahpa_buf_putc(b, 'Z');
}

/* Appends the sample to the open piece, merging into its last column. */
static size_t band_add(struct band_col *c, size_t n, int col, double lo, double hi)
{
    if (n > 0 && c[n - 1].col == col) {
        if (hi > c[n - 1].top)
            c[n - 1].top = hi;
        if (lo < c[n - 1].bot)
            c[n - 1].bot = lo;
        return n;
    }
    c[n] = (struct band_col){.col = col, .top = hi, .bot = lo};
    return n + 1;
}

/* Breaks between columns only, as in ahpa_report__path: at most one band
 * column per pixel column in all. */
size_t ahpa_report__band(struct ahpa_buf *b, const struct ahpa_report__frame *f,
                         const struct ahpa_report__series *lo,
                         const struct ahpa_report__series *hi)
{
    size_t n = lo->n < hi->n ? lo->n : hi->n;
    struct band_col *c = ahpa_calloc((size_t)f->cols + 1, sizeof(*c));
    int64_t gap = ahpa_report__gap_s(lo);
    size_t used = 0, pieces = 0, prev = SIZE_MAX;
    int broken = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(lo->v[i]) || !isfinite(hi->v[i])) {
            broken = 1;
            continue;
        }
        if (prev != SIZE_MAX && time_break(lo, prev, i, gap))
            broken = 1;
        int col = ahpa_report__col(f, lo->t[i]);
        if (broken && used > 0 && c[used - 1].col != col) {
            band_emit(b, f, c, used);
            pieces++;
            used = 0;
        }
        broken = 0;
        double top = hi->v[i] > lo->v[i] ? hi->v[i] : lo->v[i];
        used = band_add(c, used, col, lo->v[i], top);
        prev = i;
    }
    if (used > 0) {
        band_emit(b, f, c, used);
        pieces++;
    }
    free(c);
    return pieces;
}
