/* Period detection: calendar and autocorrelation candidates, screened by the
 * autocorrelation of the series detrended over one period. */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "ahpa/mem.h"
#include "ahpa/series.h"
#include "forecast_int.h"

/* Points of the free-period autocorrelation search. */
#define FREE_POINTS 1024

void ahpa_forecast__moving_avg(const double *x, size_t n, size_t w,
                               double *out)
{
    if (w > n)
        w = n;
    if (w == 0)
        return;
    /* Running sums over a window that slides with i, clamped to the data at
     * both ends so every output averages exactly w values. */
    double sum = 0.0;
    for (size_t i = 0; i < w; i++)
        sum += x[i];
    /* the window starts at i - w/2, clamped to [0, n - w]: it stays at 0
     * up to i = w/2, then moves one step per output up to n - w */
    size_t half = w / 2, i = 0;
    for (; i < n && i <= half; i++)
        out[i] = sum / (double)w;
    for (size_t lo = 0; i < n && lo < n - w; i++, lo++) {
        sum += x[lo + w] - x[lo];
        out[i] = sum / (double)w;
    }
    for (; i < n; i++)
        out[i] = sum / (double)w;
}

/* Lag-`lag` autocorrelation of x minus its moving average over `lag`,
 * unbiased (scaled by n / (n - lag)) so that a week is not penalised
 * against a day for having fewer pairs. */
static double detrended_acf(const double *x, size_t n, size_t lag, double *work)
{
    ahpa_forecast__moving_avg(x, n, lag, work);
    for (size_t i = 0; i < n; i++)
        work[i] = x[i] - work[i];
    return ahpa_series_acf(work, n, lag) * (double)n / (double)(n - lag);
}

static void *fc_fftw_alloc(size_t bytes)
{
    void *p = fftw_malloc(bytes);
    if (!p)
        ahpa_oom(bytes);
    return p;
}

/* FFTW's planner (plan creation and destruction) keeps global state and is
 * not reentrant by itself. fftw_make_planner_thread_safe (libfftw3_threads)
 * puts it behind FFTW's own lock; it must run before the first plan, hence
 * once per process, here, so that any caller may fit from any thread.
 *
 * Planning costs more than the transform at these sizes (a tenth of a
 * fit), so the plans of each power-of-two length are made once per process
 * and kept: a pair of plans per length (at most FC_FFT_LOG2_MAX + 1 pairs,
 * a few KiB), made under plans_lock on first use and never destroyed;
 * executing a plan on new arrays (fftw_execute_dft_r2c / _c2r, arrays from
 * fftw_malloc, so aligned like the planning ones) is reentrant. The plans
 * are FFTW_ESTIMATE ones, a deterministic choice: the same as before the
 * cache, so the same bits. The once flag, the lock and the plans are the
 * module's only process-wide state: they start no thread and do not
 * change any result. */
#define FC_FFT_LOG2_MAX 20
static once_flag planner_once = ONCE_FLAG_INIT;
static mtx_t plans_lock;
static fftw_plan plans_fwd[FC_FFT_LOG2_MAX + 1], plans_inv[FC_FFT_LOG2_MAX + 1];

static void planner_make_safe(void)
{
    fftw_make_planner_thread_safe();
    if (mtx_init(&plans_lock, mtx_plain) != thrd_success)
        ahpa_oom(sizeof(plans_lock));
}

/* The plans of length 2^lg (buf and spec: arrays of that length, only
 * read for their alignment and layout when planning). */
static void plans_for(unsigned lg, double *buf, fftw_complex *spec, fftw_plan *fwd,
                      fftw_plan *inv)
{
    call_once(&planner_once, planner_make_safe);
    mtx_lock(&plans_lock);
    if (plans_fwd[lg] == NULL) {
        int nfft = 1 << lg;
        /* FFTW_ESTIMATE leaves the arrays alone */
        plans_fwd[lg] = fftw_plan_dft_r2c_1d(nfft, buf, spec, FFTW_ESTIMATE);
        plans_inv[lg] = fftw_plan_dft_c2r_1d(nfft, spec, buf, FFTW_ESTIMATE);
    }
    *fwd = plans_fwd[lg];
    *inv = plans_inv[lg];
    mtx_unlock(&plans_lock);
}

/* Unbiased autocorrelation of x minus its least-squares line, all lags up
 * to n/2, through a zero-padded real FFT (Wiener-Khinchin). */
static void acf_fft(const double *x, size_t n, double *acf)
{
    size_t nfft = 1;
    unsigned lg = 0;
    while (nfft < 2 * n) {
        nfft <<= 1;
        lg++;
    }
    if (lg > FC_FFT_LOG2_MAX)
        ahpa_oom(nfft * sizeof(double)); /* n is at most FREE_POINTS */
    double *buf = fc_fftw_alloc(nfft * sizeof(double));
    fftw_complex *spec = fc_fftw_alloc((nfft / 2 + 1) * sizeof(fftw_complex));
    fftw_plan fwd, inv;
    plans_for(lg, buf, spec, &fwd, &inv);
    double tm = (double)(n - 1) / 2.0, sxx = 0.0, sxy = 0.0, mean = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxx += ((double)i - tm) * ((double)i - tm);
        sxy += ((double)i - tm) * (x[i] - mean);
    }
    double slope = sxx > 0 ? sxy / sxx : 0.0;
    memset(buf, 0, nfft * sizeof(double));
    for (size_t i = 0; i < n; i++)
        buf[i] = x[i] - mean - slope * ((double)i - tm);
    fftw_execute_dft_r2c(fwd, buf, spec);
    for (size_t k = 0; k <= nfft / 2; k++) {
        double re = spec[k][0], im = spec[k][1];
        spec[k][0] = re * re + im * im;
        spec[k][1] = 0.0;
    }
    fftw_execute_dft_c2r(inv, spec, buf);
    double c0 = buf[0];
    for (size_t l = 0; l <= n / 2; l++)
        acf[l] = c0 > 0 ? buf[l] / c0 * (double)n / (double)(n - l) : 0.0;
    fftw_free(buf);
    fftw_free(spec);
}

/* Lags that are the highest autocorrelation within +-10% around them. */
static size_t acf_peaks(const double *acf, size_t n, size_t minlag,
                        size_t *lags, size_t max)
{
    size_t cnt = 0;
    for (size_t l = minlag; l <= n / 2 && l + 1 <= n / 2; l++) {
        if (acf[l] < acf[l - 1] || acf[l] < acf[l + 1] || acf[l] <= 0.0)
            continue;
        size_t w = l / 10 + 1, lo = l > w ? l - w : 1, hi = l + w;
        if (hi > n / 2)
            hi = n / 2;
        int best = 1;
        for (size_t j = lo; j <= hi && best; j++)
            if (acf[j] > acf[l])
                best = 0;
        if (!best)
            continue;
        /* keep the top `max` by height */
        size_t pos = cnt < max ? cnt++ : max;
        while (pos > 0 && acf[lags[pos - 1]] < acf[l]) {
            if (pos < max)
                lags[pos] = lags[pos - 1];
            pos--;
        }
        if (pos < max)
            lags[pos] = l;
    }
    return cnt;
}

/* p is within 3% of a candidate or of a whole multiple of one. */
static int near_any(size_t p, const size_t *c, size_t nc)
{
    for (size_t i = 0; i < nc; i++) {
        double r = (double)p / (double)c[i];
        if (r > 0.97 && fabs(r - floor(r + 0.5)) < 0.03 * r)
            return 1;
    }
    return 0;
}

/* The block search finds the best aligned multiple of a period: the
 * smallest exact divisor (>= 4 steps) about as autocorrelated replaces it. */
static size_t fundamental(const double *x, size_t n, size_t p, double *r,
                          double *work)
{
    int tries = 0;
    for (size_t q = 4; q <= p / 2 && tries < 12; q++) {
        if (p % q)
            continue;
        tries++;
        double rq = detrended_acf(x, n, q, work);
        if (rq >= *r - 0.05) {
            *r = rq;
            return q;
        }
    }
    return p;
}

size_t ahpa_forecast__periods(const double *x, size_t n, int64_t step_s,
                              int free_periods, double min_acf,
                              struct fc_period *out, size_t max)
{
    size_t cand[8], nc = 0;
    size_t day = (size_t)((86400 + step_s / 2) / step_s);
    if (day >= 4 && 2 * day <= n)
        cand[nc++] = day;
    if (day >= 1 && 14 * day <= n)
        cand[nc++] = 7 * day;
    size_t nfree = nc;
    if (free_periods && n >= 32) {
        /* The peak search runs on block means of at most FREE_POINTS
         * points: a period is then known to a block, which is enough for a
         * free period, and the transform stays small. */
        size_t b = (n + FREE_POINTS - 1) / FREE_POINTS, nb = n / b;
        double *xs = ahpa_malloc(nb * sizeof(double));
        double *acf = ahpa_malloc((nb / 2 + 1) * sizeof(double));
        for (size_t i = 0; i < nb; i++) {
            double s = 0;
            for (size_t j = 0; j < b; j++)
                s += x[i * b + j];
            xs[i] = s / (double)b;
        }
        size_t lags[3], minlag = (4 + b - 1) / b;
        acf_fft(xs, nb, acf);
        size_t np = acf_peaks(acf, nb, minlag < 2 ? 2 : minlag, lags, 3);
        /* a free period needs three cycles: its test is out of sample */
        for (size_t i = 0; i < np && nc < 8; i++)
            if (acf[lags[i]] >= min_acf && 3 * lags[i] * b <= n &&
                !near_any(lags[i] * b, cand, nc))
                cand[nc++] = lags[i] * b;
        free(acf);
        free(xs);
    }
    nfree = nc - nfree;
    double *work = ahpa_malloc(n * sizeof(double));
    size_t cnt = 0, ncal = nc - nfree;
    for (size_t i = 0; i < nc; i++) {
        double r = detrended_acf(x, n, cand[i], work);
        if (r < min_acf)
            continue;
        if (i >= ncal)
            cand[i] = fundamental(x, n, cand[i], &r, work);
        size_t pos = cnt < max ? cnt++ : max;
        while (pos > 0 && out[pos - 1].acf < r) {
            if (pos < max)
                out[pos] = out[pos - 1];
            pos--;
        }
        if (pos < max)
            out[pos] = (struct fc_period){cand[i], r, i < ncal};
    }
    free(work);
    return cnt;
}
