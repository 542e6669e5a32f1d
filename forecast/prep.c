/*
 * Filling missing values before a fit (see prep.h). Linear interpolation alone flattens a gap in
 * a seasonal series; adding the previous season's deviation from its own straight line keeps the
 * cycle's shape without inventing a level.
 */
#include "forecast/prep.h"

#include <math.h>

/* The first observed index at or after i, or n. */
static size_t next_observed(const double *y, size_t n, size_t i)
{
	while (i < n && !isfinite(y[i]))
		i++;
	return i;
}

/* Fills y[a+1 .. b-1] between the observed y[a] and y[b]. */
static void fill_gap(double *y, size_t a, size_t b, size_t m)
{
	double step = (y[b] - y[a]) / (double)(b - a);
	/* the season before the gap, shifted by m, if it lies wholly in observed history */
	bool seasonal = m > 1 && a >= m && b - a <= m;

	for (size_t t = a + 1; t < b; t++) {
		double v = y[a] + step * (double)(t - a);

		if (seasonal) {
			/* deviation of y[t-m] from the line through y[a-m] and y[b-m] */
			double pa = y[a - m], pb = y[b - m];
			double line = pa + (pb - pa) * (double)(t - a) / (double)(b - a);

			v += y[t - m] - line;
		}
		y[t] = v;
	}
}

size_t forecast_prep_fill(double *y, size_t n, size_t m, bool *all_missing)
{
	size_t first = next_observed(y, n, 0), filled = 0, a;

	*all_missing = first == n;
	if (*all_missing) {
		for (size_t i = 0; i < n; i++)
			y[i] = 0.0;
		return n;
	}
	for (size_t i = 0; i < first; i++)
		y[i] = y[first];
	filled += first;
	a = first;
	for (;;) {
		size_t b = next_observed(y, n, a + 1);

		if (b == n) {
			for (size_t i = a + 1; i < n; i++)
				y[i] = y[a];
			filled += n - a - 1;
			return filled;
		}
		if (b > a + 1) {
			fill_gap(y, a, b, m);
			filled += b - a - 1;
		}
		a = b;
	}
}
