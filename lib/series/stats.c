/* Robust statistics over arrays with NaN gaps. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ahpa/series.h"

size_t ahpa_series_count_finite(const double *x, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += isfinite(x[i]) ? 1 : 0;
    return c;
}

double ahpa_series_mean(const double *x, size_t n)
{
    /* Kahan-compensated so long series of similar values stay exact. */
    double s = 0.0, comp = 0.0;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        double y = x[i] - comp;
        double t = s + y;
        comp = (t - s) - y;
        s = t;
        c++;
    }
    return c ? s / (double)c : NAN;
}

static void swap_d(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* Places the k-th smallest at a[k], smaller ones before, larger after
 * (Wirth's selection; deterministic, no recursion, input without NaN). */
void ahpa_series_select_kth(double *a, size_t n, size_t k)
{
    ptrdiff_t l = 0, r = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (l < r) {
        double x = a[kk];
        ptrdiff_t i = l, j = r;
        do {
            while (a[i] < x)
                i++;
            while (x < a[j])
                j--;
            if (i <= j) {
                swap_d(&a[i], &a[j]);
                i++;
                j--;
            }
        } while (i <= j);
        if (j < kk)
            l = i;
        if (kk < i)
            r = j;
    }
}

static void insertion_sort(double *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double v = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

void ahpa_series_sort(double *a, size_t n)
{
    /* Quicksort on an explicit stack, smaller part first so the stack stays
     * under 64 entries; median-of-three pivots; short runs by insertion. */
    size_t stack[128], sp = 0;
    size_t lo = 0, hi = n;
    for (;;) {
        while (hi - lo > 16) {
            size_t mid = lo + (hi - lo) / 2;
            if (a[mid] < a[lo])
                swap_d(&a[mid], &a[lo]);
            if (a[hi - 1] < a[lo])
                swap_d(&a[hi - 1], &a[lo]);
            if (a[hi - 1] < a[mid])
                swap_d(&a[hi - 1], &a[mid]);
            double p = a[mid];
            size_t i = lo, j = hi - 1;
            for (;;) {
                while (a[i] < p)
                    i++;
                while (p < a[j])
                    j--;
                if (i >= j)
                    break;
                swap_d(&a[i], &a[j]);
                i++;
                j--;
            }
            /* [lo, j] <= p <= [j+1, hi) */
            size_t split = j + 1;
            if (split - lo < hi - split) {
                stack[sp++] = split;
                stack[sp++] = hi;
                hi = split;
            } else {
                stack[sp++] = lo;
                stack[sp++] = split;
                lo = split;
            }
        }
        insertion_sort(a + lo, hi - lo);
        if (sp == 0)
            break;
        hi = stack[--sp];
        lo = stack[--sp];
    }
}

double ahpa_series_select_quantile(double *a, size_t n, double q)
{
    if (n == 0)
        return NAN;
    if (q <= 0.0)
        q = 0.0;
    if (q >= 1.0)
        q = 1.0;
    double pos = q * (double)(n - 1);
    size_t k = (size_t)floor(pos);
    if (k >= n - 1)
        k = n - 1;
    double frac = pos - (double)k;
    ahpa_series_select_kth(a, n, k);
    double lo = a[k];
    if (frac <= 0.0 || k + 1 >= n)
        return lo;
    double hi = a[k + 1];
    for (size_t i = k + 2; i < n; i++)
        if (a[i] < hi)
            hi = a[i];
    return lo + frac * (hi - lo);
}

static size_t copy_finite(const double *x, size_t n, double *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            out[m++] = x[i];
    return m;
}

double ahpa_series_quantile(const double *x, size_t n, double q,
                            double *scratch)
{
    size_t m = copy_finite(x, n, scratch);
    return ahpa_series_select_quantile(scratch, m, q);
}

double ahpa_series_median(const double *x, size_t n, double *scratch)
{
    return ahpa_series_quantile(x, n, 0.5, scratch);
}

double ahpa_series_mad(const double *x, size_t n, double *scratch)
{
    size_t m = copy_finite(x, n, scratch);
    if (m == 0)
        return NAN;
    double med = ahpa_series_select_quantile(scratch, m, 0.5);
    for (size_t i = 0; i < m; i++)
        scratch[i] = fabs(scratch[i] - med);
    return ahpa_series_select_quantile(scratch, m, 0.5);
}

double ahpa_series_acf(const double *x, size_t n, size_t lag)
{
    if (lag >= n)
        return 0.0;
    double mean = ahpa_series_mean(x, n);
    if (isnan(mean))
        return 0.0;
    double var = 0.0, cov = 0.0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            var += (x[i] - mean) * (x[i] - mean);
    for (size_t i = 0; i + lag < n; i++)
        if (isfinite(x[i]) && isfinite(x[i + lag]))
            cov += (x[i] - mean) * (x[i + lag] - mean);
    if (var <= 0.0)
        return 0.0;
    return cov / var;
}

size_t ahpa_series_fill_gaps(double *x, size_t n)
{
    size_t first = n, filled = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) {
            first = i;
            break;
        }
    if (first == n)
        return 0;
    for (size_t i = 0; i < first; i++, filled++)
        x[i] = x[first];
    size_t prev = first;
    for (size_t i = first + 1; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        for (size_t j = prev + 1; j < i; j++, filled++)
            x[j] = x[prev] + (x[i] - x[prev]) * (double)(j - prev) / (double)(i - prev);
        prev = i;
    }
    for (size_t j = prev + 1; j < n; j++, filled++)
        x[j] = x[prev];
    return filled;
}
