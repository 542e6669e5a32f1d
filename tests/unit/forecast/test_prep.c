/* Filling missing values: linear and seasonal interpolation, ends, a series with no values. */
#include <criterion/criterion.h>
#include <math.h>

#include "forecast/prep.h"

Test(prep, complete_series_is_untouched)
{
	double y[4] = {1, 2, 3, 4};
	bool none;

	cr_assert_eq(forecast_prep_fill(y, 4, 1, &none), 0);
	cr_assert_not(none);
	cr_assert(y[0] == 1 && y[3] == 4);
}

Test(prep, interior_gap_is_linear_and_ends_take_the_nearest_value)
{
	double y[7] = {NAN, 1, NAN, NAN, 4, NAN, INFINITY};
	const double want[7] = {1, 1, 2, 3, 4, 4, 4};
	bool none;

	cr_assert_eq(forecast_prep_fill(y, 7, 1, &none), 5);
	for (int i = 0; i < 7; i++)
		cr_assert_float_eq(y[i], want[i], 1e-12, "y[%d] = %f", i, y[i]);
}

Test(prep, seasonal_gap_keeps_the_cycle)
{
	static const double s[4] = {5, -3, 2, -4};
	double y[24], truth[24];
	bool none;

	for (int t = 0; t < 24; t++)
		truth[t] = y[t] = 10 + 0.5 * t + s[t % 4];
	y[13] = y[14] = y[15] = NAN;
	cr_assert_eq(forecast_prep_fill(y, 24, 4, &none), 3);
	for (int t = 0; t < 24; t++)
		cr_assert_float_eq(y[t], truth[t], 1e-9, "y[%d] = %f, want %f", t, y[t], truth[t]);
}

Test(prep, nothing_observed)
{
	double y[3] = {NAN, NAN, NAN};
	bool none;

	cr_assert_eq(forecast_prep_fill(y, 3, 1, &none), 3);
	cr_assert(none);
	cr_assert(y[0] == 0 && y[1] == 0 && y[2] == 0);
}
