/*
 * Classical decomposition and the autocorrelation seasonality test (see decomp.h), the pieces of
 * the M4 competition's Naive2 benchmark.
 */
#include "forecast/decomp.h"

#include <math.h>
#include <stdlib.h>

/* Sample autocorrelations r_1..r_kmax of y (r[k-1] = r_k), as R's acf computes them. */
static bool autocorrelations(const double *y, size_t n, size_t kmax, double *r)
{
	double mean = 0, c0 = 0;

	for (size_t t = 0; t < n; t++)
		mean += y[t];
	mean /= (double)n;
	for (size_t t = 0; t < n; t++)
		c0 += (y[t] - mean) * (y[t] - mean);
	if (!(c0 > 0))
		return false;
	for (size_t k = 1; k <= kmax; k++) {
		double ck = 0;

		for (size_t t = k; t < n; t++)
			ck += (y[t] - mean) * (y[t - k] - mean);
		r[k - 1] = ck / c0;
	}
	return true;
}

bool forecast_decomp_is_seasonal(const double *y, size_t n, size_t m)
{
	double *r, sum = 1, limit;
	bool seasonal = false;

	if (m < 2 || n < 3 * m)
		return false;
	r = malloc(m * sizeof(*r));
	if (!r)
		return false;
	if (autocorrelations(y, n, m, r)) {
		for (size_t k = 0; k + 1 < m; k++)
			sum += 2 * r[k] * r[k];
		limit = 1.645 * sqrt(sum / (double)n);
		seasonal = fabs(r[m - 1]) > limit;
	}
	free(r);
	return seasonal;
}

/*
 * The centred moving average of one season at t (m odd: m points; m even: m+1 points with half
 * weights at the ends), for m/2 <= t < n - m/2.
 */
static double centred_mean(const double *y, size_t m, size_t t)
{
	size_t half = m / 2;
	double s = 0;

	if (m % 2) {
		for (size_t k = t - half; k <= t + half; k++)
			s += y[k];
		return s / (double)m;
	}
	s = 0.5 * (y[t - half] + y[t + half]);
	for (size_t k = t - half + 1; k < t + half; k++)
		s += y[k];
	return s / (double)m;
}

bool forecast_decomp_classical(const double *y, size_t n, size_t m, bool mult, double *idx)
{
	double neutral = mult ? 1.0 : 0.0, total = 0;
	size_t lo = m / 2, end = n - m / 2; /* the centred mean exists for lo <= t < end */

	if (m < 2 || n < 2 * m) {
		for (size_t j = 0; j < m; j++)
			idx[j] = neutral;
		return false;
	}
	for (size_t j = 0; j < m; j++) {
		double acc = 0;
		size_t count = 0;

		for (size_t t = lo + (j + m - lo % m) % m; t < end; t += m) {
			double trend = centred_mean(y, m, t);

			if (mult && !(trend != 0))
				continue; /* no ratio to take; the other seasons still inform idx[j] */
			acc += mult ? y[t] / trend : y[t] - trend;
			count++;
		}
		idx[j] = count ? acc / (double)count : neutral;
		total += idx[j];
	}
	/* normalise: indices average 1 (multiplicative) or 0 (additive) */
	for (size_t j = 0; j < m; j++) {
		if (mult)
			idx[j] = total != 0 ? idx[j] * (double)m / total : 1.0;
		else
			idx[j] -= total / (double)m;
	}
	return true;
}

double forecast_decomp_strength(const double *y, size_t n, size_t m, double *idx)
{
	size_t lo = m / 2, end = n > m / 2 ? n - m / 2 : 0;
	double mr = 0, md = 0, vr = 0, vd = 0;

	if (m < 2 || end <= lo + m || !forecast_decomp_classical(y, n, m, false, idx))
		return 0.0;
	for (size_t t = lo; t < end; t++) {
		double d = y[t] - centred_mean(y, m, t);

		md += d;
		mr += d - idx[t % m];
	}
	md /= (double)(end - lo);
	mr /= (double)(end - lo);
	for (size_t t = lo; t < end; t++) {
		double d = y[t] - centred_mean(y, m, t), r = d - idx[t % m];

		vd += (d - md) * (d - md);
		vr += (r - mr) * (r - mr);
	}
	if (!(vd > 0))
		return 0.0;
	return fmax(0.0, fmin(1.0, 1.0 - vr / vd));
}
