/* Order statistics of the fit: a sort and a selection whose partition has
 * no data-dependent branch. The values they give are those of
 * ahpa_series_sort and ahpa_series_select_quantile (an order statistic is
 * one value, whoever computes it); they are faster on the fit's data,
 * where a mispredicted branch per element costs more than the comparison. */
#include <math.h>
#include <stddef.h>

#include "ahpa/series.h"
#include "forecast_int.h"

static inline void swap_d(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

static void insertion(double *a, size_t lo, size_t hi)
{
    for (size_t i = lo + 1; i < hi; i++) {
        double v = a[i];
        size_t m = i;
        while (m > lo && a[m - 1] > v) {
            a[m] = a[m - 1];
            m--;
        }
        a[m] = v;
    }
}

/* Lomuto partition of a[lo, hi) (hi - lo > 2) around the median of its
 * quartiles and middle; the pivot ends at *eq_lo and its equals in
 * [*eq_lo, *eq_hi) when the split is lopsided (else *eq_hi = *eq_lo + 1).
 * Returns 1 when the split was lopsided for another reason than equals. */
static int partition(double *a, size_t lo, size_t hi, size_t *eq_lo, size_t *eq_hi)
{
    size_t q1 = lo + (hi - lo) / 4, mid = lo + (hi - lo) / 2, q3 = hi - 1 - (hi - lo) / 4;
    if (a[mid] < a[q1])
        swap_d(&a[mid], &a[q1]);
    if (a[q3] < a[q1])
        swap_d(&a[q3], &a[q1]);
    if (a[q3] < a[mid])
        swap_d(&a[q3], &a[mid]);
    swap_d(&a[lo], &a[mid]);
    double p = a[lo];
    size_t j = lo + 1;
    for (size_t i = lo + 1; i < hi; i++) {
        double x = a[i];
        a[i] = a[j];
        a[j] = x;
        j += x < p;
    }
    swap_d(&a[lo], &a[j - 1]);
    size_t l2 = j;
    if (8 * (j - 1 - lo) < hi - lo)
        for (size_t i = j; i < hi; i++) {
            double x = a[i];
            a[i] = a[l2];
            a[l2] = x;
            l2 += !(p < x);
        }
    *eq_lo = j - 1;
    *eq_hi = l2;
    size_t small = j - 1 - lo < hi - l2 ? j - 1 - lo : hi - l2;
    return 8 * small < hi - lo && l2 - j + 1 < (hi - lo) / 2;
}

/* Quicksort whose partition has no data-dependent branch
 * (Lomuto's scheme: every element is swapped, the boundary advances by the
 * comparison's 0 or 1), so a mispredicted branch per element does not cost
 * what the comparison does: 4-5x faster than ahpa_series_sort on the
 * calibration errors (the fit's commonest step). Pivots: the median of
 * the quartiles and the middle;
 * a lopsided split is followed by a pass that sets the pivot's equals
 * aside, so that many equal values (a flat load: all errors 0) stay
 * O(n log n), and after 9 lopsided splits not due to equals the rest is
 * left to ahpa_series_sort (Lomuto's swaps rotate ordered runs, which
 * some orders defeat); smaller part first on an explicit stack (under 64
 * entries); insertion sort under 24 elements. */
void ahpa_forecast__sort(double *a, size_t n)
{
    size_t stack[128], sp = 0, lo = 0, hi = n;
    int lopsided = 0;
    for (;;) {
        while (hi - lo > 24) {
            if (lopsided > 8) { /* a pattern the pivots keep missing */
                ahpa_series_sort(a + lo, hi - lo);
                break;
            }
            size_t e0, e1;
            lopsided += partition(a, lo, hi, &e0, &e1);
            /* [lo, e0) < p, [e0, e1) == p, [e1, hi) >= p: the smaller
             * part next, the larger one on the stack */
            if (e0 - lo < hi - e1) {
                stack[sp++] = e1;
                stack[sp++] = hi;
                hi = e0;
            } else {
                stack[sp++] = lo;
                stack[sp++] = e0;
                lo = e1;
            }
        }
        insertion(a, lo, hi);
        if (sp == 0)
            break;
        hi = stack[--sp];
        lo = stack[--sp];
    }
}

/* a[k] = the k-th smallest, smaller ones before it, larger after. */
static void select_kth(double *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    int lopsided = 0;
    while (hi - lo > 16) {
        if (lopsided > 8) {
            ahpa_series_select_kth(a + lo, hi - lo, k - lo);
            return;
        }
        size_t e0, e1;
        lopsided += partition(a, lo, hi, &e0, &e1);
        if (k < e0)
            hi = e0;
        else if (k >= e1)
            lo = e1;
        else
            return; /* a[k] equals the pivot, in place */
    }
    insertion(a, lo, hi);
}

double ahpa_forecast__select_quantile(double *a, size_t n, double q)
{
    /* the arithmetic of ahpa_series_select_quantile */
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
    select_kth(a, n, k);
    double lo = a[k];
    if (frac <= 0.0 || k + 1 >= n)
        return lo;
    double hi = a[k + 1];
    for (size_t i = k + 2; i < n; i++)
        if (a[i] < hi)
            hi = a[i];
    return lo + frac * (hi - lo);
}
