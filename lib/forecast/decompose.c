/* Robust seasonal-trend decomposition: moving-average trend, per-phase
 * medians for the season, one clipping pass, per-phase residual scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/series.h"
#include "forecast_int.h"

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
    return m ? ahpa_series_select_quantile(tmp, m, 0.5) : 0.0;
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

static double season_of(const float *season, size_t nbins, size_t period,
                        size_t phase)
{
    return season[(phase % period) * nbins / period];
}

double ahpa_forecast__season(const double *x, size_t n, size_t period,
                             size_t phase0, size_t nbins, float *season,
                             double *work)
{
    double *trend = work, *d = work + n, *xc = work + 2 * n;
    double sigma = 0.0;
    memcpy(xc, x, n * sizeof(double));
    for (int pass = 0; pass < 2; pass++) {
        ahpa_forecast__moving_avg(xc, n, period, trend);
        for (size_t i = 0; i < n; i++)
            d[i] = xc[i] - trend[i];
        profile(d, n, period, phase0, nbins, season, xc);
        /* xc was scratch: rebuild it as x with residuals clipped at 4
         * robust sigmas, so spikes do not bend the second estimate. */
        for (size_t i = 0; i < n; i++)
            d[i] = x[i] - trend[i] - season_of(season, nbins, period, phase0 + i);
        memcpy(xc, d, n * sizeof(double));
        double med = ahpa_series_select_quantile(xc, n, 0.5);
        for (size_t i = 0; i < n; i++)
            xc[i] = fabs(d[i] - med);
        sigma = 1.4826 * ahpa_series_select_quantile(xc, n, 0.5);
        double lim = 4.0 * sigma;
        for (size_t i = 0; i < n; i++) {
            double r = d[i] - med;
            double c = r > lim ? lim : (r < -lim ? -lim : r);
            xc[i] = x[i] - (r - c);
        }
    }
    /* Leave the final residuals in work[0..n) for the phase scale. */
    memmove(work, d, n * sizeof(double));
    return sigma;
}

void ahpa_forecast__phase_scale(const double *r, size_t n, size_t period,
                                size_t phase0, float *scale, double *work)
{
    size_t nb = period ? FC_NSCALE : 1;
    double all = 0.0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(r[i]))
            work[m++] = fabs(r[i]);
    all = m ? 1.4826 * ahpa_series_select_quantile(work, m, 0.5) : 0.0;
    for (size_t b = 0; b < nb; b++) {
        m = 0;
        for (size_t i = 0; i < n; i++) {
            size_t ph = (phase0 + i) % (period ? period : 1);
            if (isfinite(r[i]) && (period ? ph * FC_NSCALE / period : 0) == b)
                work[m++] = fabs(r[i]);
        }
        scale[b] = (float)(m >= 8 ? 1.4826 * ahpa_series_select_quantile(work, m, 0.5) : all);
    }
    if (nb > 1) {
        smooth_circular(scale, nb, work);
        for (size_t b = 0; b < nb; b++)
            work[b] = scale[b];
        double med = ahpa_series_select_quantile(work, nb, 0.5);
        for (size_t b = 0; b < nb; b++)
            if (scale[b] < 0.3 * med)
                scale[b] = (float)(0.3 * med);
    }
    /* A scale of 0 (flat data) would make every error infinite. */
    for (size_t b = 0; b < nb; b++)
        if (!(scale[b] > 1e-12f))
            scale[b] = 1.0f;
}
