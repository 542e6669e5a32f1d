#pragma once
/*
 * Forecast accuracy measures as the M4 competition defined them: sMAPE, MASE, and for
 * intervals MSIS and coverage. OWA, their relative combination, is
 * (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) / 2 over averages across series: the caller
 * averages, see forecast_metric_owa. Pure computation; any thread.
 */
#include <stddef.h>

/*
 * Symmetric MAPE in percent: mean of 200 |y - f| / (|y| + |f|) over h steps; a step where both
 * are 0 is a perfect forecast (0).
 */
double forecast_metric_smape(const double *y, const double *f, size_t h);

/*
 * MASE's denominator: the in-sample mean absolute error of the seasonal naive forecast,
 * mean |x[t] - x[t-m]| (lag 1 when m < 2 or the history is not longer than m). NaN when it is
 * 0 or cannot be computed (a constant or one-point history): no scale, no MASE.
 */
double forecast_metric_scale(const double *x, size_t n, size_t m);

/* Mean absolute error divided by scale (forecast_metric_scale); NaN when scale is NaN. */
double forecast_metric_mase(const double *y, const double *f, size_t h, double scale);

/*
 * Mean scaled interval score of central intervals [lo, hi] at level (e.g. 0.95):
 * mean of (hi - lo) + 2/a (lo - y)[y < lo] + 2/a (y - hi)[y > hi], a = 1 - level, over scale.
 */
double forecast_metric_msis(const double *y, const double *lo, const double *hi, size_t h,
                            double level, double scale);

/* The fraction of y[i] inside [lo[i], hi[i]]. */
double forecast_metric_coverage(const double *y, const double *lo, const double *hi, size_t h);

/* OWA from mean sMAPE and MASE of a method and of Naive2 over the same series. */
double forecast_metric_owa(double smape, double mase, double smape_naive2, double mase_naive2);
