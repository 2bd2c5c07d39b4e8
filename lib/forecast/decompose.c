/* Robust seasonal-trend decomposition: moving-average trend, per-phase
 * medians for the season, one clipping pass, per-phase residual scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/series.h"
#include "forecast_int.h"

/* The median as ahpa_series_select_quantile(a, m, 0.5) computes it (the
 * same order statistics, the same interpolation), by insertion sort when
 * there are few values: one per cycle, the common case of one bin per
 * phase, where a selection's set-up costs more than the sort. */
static double median_of(double *a, size_t m)
{
    if (m > 16)
        return ahpa_forecast__select_quantile(a, m, 0.5);
    for (size_t i = 1; i < m; i++) {
        double v = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
    double pos = 0.5 * (double)(m - 1);
    size_t k = (size_t)floor(pos);
    double frac = pos - (double)k, lo = a[k];
    if (frac <= 0.0 || k + 1 >= m)
        return lo;
    return lo + frac * (a[k + 1] - lo);
}

/* Median of d over the phases of bin b, for every cycle. */
static double bin_median(const double *d, size_t n, size_t period,
                         size_t phase0, size_t nbins, size_t b, double *tmp)
{
    size_t p_lo = (b * period + nbins - 1) / nbins;
    size_t p_hi = ((b + 1) * period + nbins - 1) / nbins;
    size_t m = 0;
    for (size_t p = p_lo; p < p_hi; p++) {
        size_t first = (p + period - phase0 % period) % period;
        for (size_t i = first; i < n; i += period)
            tmp[m++] = d[i];
    }
    return m ? median_of(tmp, m) : 0.0;
}

static void smooth_circular(float *s, size_t nb, double *tmp)
{
    if (nb < 24)
        return;
    for (size_t b = 0; b < nb; b++)
        tmp[b] = 0.25 * s[(b + nb - 1) % nb] + 0.5 * s[b] + 0.25 * s[(b + 1) % nb];
    for (size_t b = 0; b < nb; b++)
        s[b] = (float)tmp[b];
}

static void profile(const double *d, size_t n, size_t period, size_t phase0,
                    size_t nbins, float *season, double *tmp)
{
    double mean = 0.0;
    for (size_t b = 0; b < nbins; b++) {
        season[b] = (float)bin_median(d, n, period, phase0, nbins, b, tmp);
        mean += season[b];
    }
    smooth_circular(season, nbins, tmp);
    mean /= (double)nbins;
    for (size_t b = 0; b < nbins; b++)
        season[b] = (float)(season[b] - mean);
}

void ahpa_forecast__season(const double *x, size_t n, size_t period,
                           size_t phase0, size_t nbins, float *season,
                           double *work)
{
    /* One pass suffices: x comes with its spikes already clipped, and the
     * per-phase median ignores what is left of them. */
    double *trend = work, *d = work + n, *tmp = work + 2 * n;
    ahpa_forecast__moving_avg(x, n, period, trend);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i] - trend[i];
    profile(d, n, period, phase0, nbins, season, tmp);
    /* Leave the residuals in work[0..n) for the phase scale. */
    size_t ph = phase0 % period;
    for (size_t i = 0; i < n; i++) {
        work[i] = d[i] - fc_season_interp(season, nbins, period, ph);
        if (++ph == period)
            ph = 0;
    }
}

void ahpa_forecast__phase_scale(const double *r, size_t n, size_t period,
                                size_t phase0, float *scale, double *work)
{
    size_t nb = period ? FC_NSCALE : 1;
    size_t cnt[FC_NSCALE + 1] = {0}, pos[FC_NSCALE];
    size_t ph = period ? phase0 % period : 0, m = 0;
    /* counting sort of |r| by phase bin, in one pass each way */
    for (size_t i = 0; i < n; i++) {
        size_t b = period ? ph * FC_NSCALE / period : 0;
        if (isfinite(r[i]))
            cnt[b + 1]++;
        if (period && ++ph == period)
            ph = 0;
    }
    for (size_t b = 0; b < nb; b++) {
        cnt[b + 1] += cnt[b];
        pos[b] = cnt[b];
    }
    ph = period ? phase0 % period : 0;
    for (size_t i = 0; i < n; i++) {
        size_t b = period ? ph * FC_NSCALE / period : 0;
        if (isfinite(r[i])) {
            work[pos[b]++] = fabs(r[i]);
            m++;
        }
        if (period && ++ph == period)
            ph = 0;
    }
    double *all = work + m;
    memcpy(all, work, m * sizeof(double));
    double mean_abs = 0.0;
    for (size_t i = 0; i < m; i++)
        mean_abs += all[i];
    mean_abs = m ? mean_abs / (double)m : 0.0;
    double glob = m ? 1.4826 * ahpa_forecast__select_quantile(all, m, 0.5) : 0.0;
    for (size_t b = 0; b < nb; b++) {
        size_t k = cnt[b + 1] - cnt[b];
        scale[b] = (float)(k >= 8 ? 1.4826 * ahpa_forecast__select_quantile(work + cnt[b], k, 0.5)
                                  : glob);
    }
    if (nb > 1) {
        smooth_circular(scale, nb, work);
        for (size_t b = 0; b < nb; b++)
            work[b] = scale[b];
        double fl = 0.3 * ahpa_forecast__select_quantile(work, nb, 0.5);
        /* sparse loads have a zero median residual in quiet phases */
        if (fl < 0.1 * mean_abs)
            fl = 0.1 * mean_abs;
        for (size_t b = 0; b < nb; b++)
            if (scale[b] < fl)
                scale[b] = (float)fl;
        /* Shrunk halfway (geometric) towards the mean: the per-phase
         * estimates are noisy and the volatility unit already follows the
         * day; the square root did better than either extreme. */
        double g = 0;
        for (size_t b = 0; b < nb; b++)
            g += scale[b];
        g /= (double)nb;
        for (size_t b = 0; b < nb; b++)
            scale[b] = (float)sqrt(scale[b] * g);
    }
    /* A scale of 0 (flat data) would make every error infinite. */
    for (size_t b = 0; b < nb; b++)
        if (!(scale[b] > 1e-12f))
            scale[b] = glob > 0 ? (float)glob : (mean_abs > 0 ? (float)mean_abs : 1.0f);
}
