/*
 * Helpers shared by the models for filling a struct forecast_pred (see model.h): the normal
 * quantile of a central interval, and intervals from per-step forecast variances.
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
