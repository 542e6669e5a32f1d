/* The M4 accuracy measures on hand-computed cases, including the undefined ones. */
#include <criterion/criterion.h>
#include <math.h>

#include "forecast/metrics.h"

Test(metrics, smape)
{
	const double y[3] = {100, 200, 0}, f[3] = {110, 180, 0};

	/* (200*10/210 + 200*20/380 + 0) / 3; a step where both are 0 counts as exact */
	cr_assert_float_eq(forecast_metric_smape(y, f, 3), (2000.0 / 210 + 4000.0 / 380) / 3,
	                   1e-12);
}

Test(metrics, scale_and_mase)
{
	const double x[4] = {1, 3, 2, 5}, flat[3] = {7, 7, 7}, y[2] = {4, 6}, f[2] = {2, 6};

	cr_assert_float_eq(forecast_metric_scale(x, 4, 1), 2.0, 1e-12); /* (2+1+3)/3 */
	cr_assert_float_eq(forecast_metric_scale(x, 4, 2), 1.5, 1e-12); /* (1+2)/2 */
	cr_assert_float_eq(forecast_metric_scale(x, 2, 2), 2.0, 1e-12); /* lag 1 */
	cr_assert(isnan(forecast_metric_scale(flat, 3, 1)));
	cr_assert(isnan(forecast_metric_scale(x, 1, 1)));
	cr_assert_float_eq(forecast_metric_mase(y, f, 2, 2.0), 0.5, 1e-12); /* mean 1 / 2 */
}

Test(metrics, msis_and_coverage)
{
	const double y[2] = {10, 15}, lo[2] = {8, 8}, hi[2] = {12, 12};

	/* widths 4 and 4, plus 2/0.05 * 3 for the miss above */
	cr_assert_float_eq(forecast_metric_msis(y, lo, hi, 2, 0.95, 2.0), (4 + 4 + 120) / 2.0 / 2.0,
	                   1e-9);
	cr_assert_float_eq(forecast_metric_coverage(y, lo, hi, 2), 0.5, 1e-12);
	cr_assert_float_eq(forecast_metric_owa(10, 1, 20, 2), 0.5, 1e-12);
}
