#pragma once
/*
 * What every forecasting model (forecast/naive.c, ets.c, arima.c, ...) fills in: point forecasts
 * and central prediction intervals over a horizon, at one or more coverage levels. The arrays
 * belong to the caller; a model only writes into them.
 *
 * Models take complete series: missing values are filled before fitting (forecast/prep.c), so a
 * model never sees a NaN.
 */
#include <stddef.h>

struct forecast_pred {
	size_t h;             /* horizon: steps after the last observation */
	size_t n_levels;      /* how many interval levels */
	const double *levels; /* [n_levels] coverage in (0, 1), e.g. 0.80 and 0.95 */
	double *mean;         /* [h] point forecasts; mean[i] is i+1 steps ahead */
	double *lo;           /* [n_levels * h] lower bounds: lo[k * h + i] for levels[k], step i */
	double *hi;           /* [n_levels * h] upper bounds, laid out as lo */
};

/* The two-sided normal quantile for a central interval of coverage level (0.95 -> 1.96). */
double forecast_z(double level);

/* Sets step i of p: the point forecast and normal intervals of forecast variance var. */
void forecast_pred_step(struct forecast_pred *p, size_t i, double mean, double var);

/*
 * Fills p's intervals as mean +- z * sqrt(var[i]) for every level (var[i] is the forecast
 * variance i+1 steps ahead). The common case for models with Gaussian forecast errors.
 */
void forecast_pred_normal(struct forecast_pred *p, const double *var);

/*
 * Quickselect, for the quantiles of simulated futures: rearranges a[lo..hi) so that a[k]
 * (lo <= k < hi) holds the value that sorting would put there, with nothing larger before it
 * and nothing smaller after it, and returns it. That order lets an upper quantile be sought
 * above a lower one only. hint, when not NULL, is a value near the answer (the same quantile
 * one step earlier): splitting there first leaves a short range to finish, about half the time
 * of median-of-three pivots alone. A fraction of what sorting costs.
 */
double forecast_select(double *a, size_t lo, size_t hi, size_t k, const double *hint);
