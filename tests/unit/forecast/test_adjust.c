/* Seasonal adjustment: exact removal and restoration, the multiplicative/additive choice,
 * the phase of later values, skipped periods. */
#include <criterion/criterion.h>
#include <math.h>

#include "forecast/adjust.h"

Test(adjust, removes_and_restores_two_seasons)
{
	static double y[672], adj[672];
	const size_t periods[2] = {168, 24};
	double mean[30], lo[30], hi[30];
	struct forecast_pred p = {.h = 30,
	                          .n_levels = 1,
	                          .levels = (double[]){0.9},
	                          .mean = mean,
	                          .lo = lo,
	                          .hi = hi};
	struct forecast_adjust a;

	/* a multiplicative daily and weekly shape on a constant level */
	for (int t = 0; t < 672; t++)
		y[t] = 100 * (1 + 0.3 * sin(2 * M_PI * t / 24)) * (t % 168 < 120 ? 1.2 : 0.5);
	cr_assert(forecast_adjust_fit(y, 672, periods, 2, &a, adj));
	cr_assert(a.mult, "positive series: multiplicative");
	cr_assert_eq(a.n, 2);
	cr_assert_eq(a.m[0], 24, "shortest first");
	for (int t = 0; t < 672; t++)
		cr_assert_float_eq(adj[t], adj[0], 2.0, "t %d: %f", t, adj[t]);
	/* forecasting the adjusted level gives the seasons back */
	for (int i = 0; i < 30; i++)
		mean[i] = lo[i] = hi[i] = adj[671];
	forecast_adjust_restore(&a, &p);
	for (int i = 0; i < 30; i++)
		cr_assert_float_eq(mean[i], y[(672 + i) % 168], 3.0, "step %d", i);
	/* next() continues the phase */
	for (int i = 0; i < 30; i++) {
		double v = forecast_adjust_next(&a, y[(672 + i) % 168]);

		cr_assert_float_eq(v, adj[671], 2.0, "step %d: %f", i, v);
	}
	forecast_adjust_cleanup(&a);
}

Test(adjust, additive_with_zeros_and_skipped_periods)
{
	double y[100], adj[100];
	const size_t periods[3] = {4, 1, 80};
	struct forecast_adjust a;

	for (int t = 0; t < 100; t++)
		y[t] = t % 4 == 0 ? 0 : 10;
	cr_assert(forecast_adjust_fit(y, 100, periods, 3, &a, adj));
	cr_assert_not(a.mult, "a zero: additive");
	cr_assert_eq(a.n, 1, "period 1 and a period over half the history are skipped");
	for (int t = 0; t < 100; t++)
		cr_assert_float_eq(adj[t], 7.5, 1e-9);
	forecast_adjust_cleanup(&a);
	/* no usable period: the series is copied unchanged */
	cr_assert(forecast_adjust_fit(y, 100, periods + 1, 1, &a, adj));
	cr_assert_eq(a.n, 0);
	cr_assert_float_eq(adj[1], 10, 1e-12);
	forecast_adjust_cleanup(&a);
}
