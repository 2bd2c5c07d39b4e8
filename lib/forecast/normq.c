/* Inverse of the standard normal CDF: Acklam's rational approximation with
 * the published coefficients (relative error < 1.15e-9). */
#include <math.h>

#include "ahpa/forecast.h"

static const double qa[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                             -2.759285104469687e+02, 1.383577518672690e+02,
                             -3.066479806614716e+01, 2.506628277459239e+00};
static const double qb[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                             -1.556989798598866e+02, 6.680131188771972e+01,
                             -1.328068155288572e+01};
static const double qc[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                             -2.400758277161838e+00, -2.549732539343734e+00,
                             4.374664141464968e+00, 2.938163982698783e+00};
static const double qd[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                             2.445134137142996e+00, 3.754408661907416e+00};

static double tail(double p)
{
    double t = sqrt(-2.0 * log(p));
    return (((((qc[0] * t + qc[1]) * t + qc[2]) * t + qc[3]) * t + qc[4]) * t + qc[5]) /
           ((((qd[0] * t + qd[1]) * t + qd[2]) * t + qd[3]) * t + 1.0);
}

double ahpa_forecast_norm_quantile(double p)
{
    if (!(p >= 0.0 && p <= 1.0))
        return NAN;
    if (p == 0.0)
        return -INFINITY;
    if (p == 1.0)
        return INFINITY;
    const double plow = 0.02425;
    if (p < plow)
        return tail(p);
    if (p > 1.0 - plow)
        return -tail(1.0 - p);
    double u = p - 0.5, r = u * u;
    return (((((qa[0] * r + qa[1]) * r + qa[2]) * r + qa[3]) * r + qa[4]) * r + qa[5]) * u /
           (((((qb[0] * r + qb[1]) * r + qb[2]) * r + qb[3]) * r + qb[4]) * r + 1.0);
}
