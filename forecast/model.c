/*
 * Helpers shared by the models for filling a struct forecast_pred (see model.h): the normal
 * quantile of a central interval, intervals from per-step forecast variances, and the
 * selection behind the quantiles of simulated futures.
 */
#include "forecast/model.h"

#include <gsl/gsl_cdf.h>
#include <math.h>

double forecast_z(double level)
{
	if (!(level > 0.0 && level < 1.0))
		return 0.0;
	return gsl_cdf_ugaussian_Pinv(0.5 + level / 2.0);
}

void forecast_pred_step(struct forecast_pred *p, size_t i, double mean, double var)
{
	double sd = sqrt(var > 0.0 ? var : 0.0);

	p->mean[i] = mean;
	for (size_t k = 0; k < p->n_levels; k++) {
		double half = forecast_z(p->levels[k]) * sd;

		p->lo[k * p->h + i] = mean - half;
		p->hi[k * p->h + i] = mean + half;
	}
}

void forecast_pred_normal(struct forecast_pred *p, const double *var)
{
	for (size_t i = 0; i < p->h; i++)
		forecast_pred_step(p, i, p->mean[i], var[i]);
}

double forecast_select(double *a, size_t lo, size_t hi, size_t k, const double *hint)
{
	if (hint) {
		/* split a tenth beyond the hint, towards the middle, so that k most likely falls
		 * in the short tail range */
		double v = *hint + (k < lo + (hi - lo) / 2 ? 0.1 : -0.1) * fabs(*hint);
		size_t store = lo;

		/* Lomuto's split: a[lo..store) < v <= a[store..hi) */
		for (size_t i = lo; i < hi; i++) {
			if (a[i] < v) {
				double tmp = a[i];

				a[i] = a[store];
				a[store++] = tmp;
			}
		}
		if (k < store)
			hi = store;
		else
			lo = store;
	}
	while (hi - lo > 2) {
		double x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi - 1], piv, tmp;
		size_t i = lo, j = hi - 1;

		/* the median of three is a value of the range: both scans stop inside it */
		piv = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
		for (;;) {
			while (a[i] < piv)
				i++;
			while (a[j] > piv)
				j--;
			if (i >= j)
				break;
			tmp = a[i];
			a[i++] = a[j];
			a[j--] = tmp;
		}
		/* now a[lo..j] <= piv <= a[j+1..hi) (Hoare's partition) */
		if (k <= j)
			hi = j + 1;
		else
			lo = j + 1;
	}
	if (hi - lo == 2 && a[lo] > a[lo + 1]) {
		double tmp = a[lo];

		a[lo] = a[lo + 1];
		a[lo + 1] = tmp;
	}
	return a[k];
}
