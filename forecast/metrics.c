/* The M4 accuracy measures (see metrics.h). */
#include "forecast/metrics.h"

#include <math.h>

double forecast_metric_smape(const double *y, const double *f, size_t h)
{
	double s = 0;

	for (size_t i = 0; i < h; i++) {
		double d = fabs(y[i]) + fabs(f[i]);

		if (d > 0)
			s += 200.0 * fabs(y[i] - f[i]) / d;
	}
	return h ? s / (double)h : NAN;
}

double forecast_metric_scale(const double *x, size_t n, size_t m)
{
	size_t lag = m >= 2 && n > m ? m : 1;
	double s = 0;

	if (n <= lag)
		return NAN;
	for (size_t t = lag; t < n; t++)
		s += fabs(x[t] - x[t - lag]);
	s /= (double)(n - lag);
	return s > 0 ? s : NAN;
}

double forecast_metric_mase(const double *y, const double *f, size_t h, double scale)
{
	double s = 0;

	for (size_t i = 0; i < h; i++)
		s += fabs(y[i] - f[i]);
	return h ? s / (double)h / scale : NAN;
}

double forecast_metric_msis(const double *y, const double *lo, const double *hi, size_t h,
                            double level, double scale)
{
	double a = 1.0 - level, s = 0;

	for (size_t i = 0; i < h; i++) {
		s += hi[i] - lo[i];
		if (y[i] < lo[i])
			s += 2.0 / a * (lo[i] - y[i]);
		if (y[i] > hi[i])
			s += 2.0 / a * (y[i] - hi[i]);
	}
	return h ? s / (double)h / scale : NAN;
}

double forecast_metric_coverage(const double *y, const double *lo, const double *hi, size_t h)
{
	size_t in = 0;

	for (size_t i = 0; i < h; i++)
		in += y[i] >= lo[i] && y[i] <= hi[i];
	return h ? (double)in / (double)h : NAN;
}

double forecast_metric_owa(double smape, double mase, double smape_naive2, double mase_naive2)
{
	return 0.5 * (smape / smape_naive2 + mase / mase_naive2);
}
