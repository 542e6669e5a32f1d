/* Filling missing values: linear and seasonal interpolation, ends, a series with no values; and
 * finding where the shape of the seasons changed. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

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

/* A daily cycle (period 24) with noise; from t = at on, shifted by `shift` hours. */
static void shifted_days(double *y, size_t n, size_t at, double shift, unsigned seed)
{
	srand(seed);
	for (size_t t = 0; t < n; t++) {
		double h = (double)t + (t >= at ? shift : 0);

		y[t] = 1000 + 600 * sin(2 * M_PI * h / 24) + 60 * ((double)rand() / RAND_MAX - 0.5);
	}
}

/* The cut forecast_prep_break(y, n, 24) lies on a day boundary after `at`, less than 2 days after. */
static void assert_cut_after(const double *y, size_t n, size_t at)
{
	size_t cut = forecast_prep_break(y, n, 24);

	cr_assert(cut >= at && cut < at + 48 && (n - cut) % 24 == 0, "change at %zu, cut at %zu",
	          at, cut);
}

Test(prep, a_cycle_that_turns_over_is_a_break)
{
	static double y[1000];

	/* 1000 = 41 days and 16 hours; a change at 520 lies on a day counted from the end */
	shifted_days(y, 1000, 520, 12, 1);
	assert_cut_after(y, 1000, 520);
	/* between day boundaries, and by less than half a day */
	for (size_t at = 500; at < 530; at += 3) {
		shifted_days(y, 1000, at, 9, (unsigned)at);
		assert_cut_after(y, 1000, at);
	}
	/* the latest change wins when there are two */
	shifted_days(y, 1000, 280, 12, 3);
	for (size_t t = 712; t < 1000; t++)
		y[t] = 2000 - y[t]; /* turned over again */
	assert_cut_after(y, 1000, 712);
}

Test(prep, level_shifts_outages_noise_and_growth_are_not_breaks)
{
	static double y[1000];

	shifted_days(y, 1000, 0, 0, 4);
	cr_assert_eq(forecast_prep_break(y, 1000, 24), 0, "a steady cycle");
	for (size_t t = 500; t < 1000; t++)
		y[t] += 3000; /* a level shift */
	for (size_t t = 300; t < 340; t++)
		y[t] = 0; /* an outage of 40 hours */
	for (size_t t = 700; t < 1000; t++)
		y[t] = 1000 + (y[t] - 1000) * 2.5; /* the cycle grows */
	cr_assert_eq(forecast_prep_break(y, 1000, 24), 0, "shift, outage and growth");
	for (size_t t = 0; t < 1000; t++)
		y[t] = 5;
	cr_assert_eq(forecast_prep_break(y, 1000, 24), 0, "a constant series has no shape");
}

Test(prep, too_short_or_not_seasonal_has_no_break)
{
	static double y[1000];

	shifted_days(y, 1000, 600, 12, 5);
	/* around the change at 600: 12 days are under the 6 + 1 + 6 a change needs, 13 are enough */
	cr_assert_eq(forecast_prep_break(y + 456, 288, 24), 0);
	cr_assert_eq(forecast_prep_break(y + 432, 312, 24), 600 - 432);
	cr_assert_eq(forecast_prep_break(y, 1000, 1), 0);
	cr_assert_eq(forecast_prep_break(y, 1000, 0), 0);
	cr_assert_neq(forecast_prep_break(y, 1000, 24), 0);
}
