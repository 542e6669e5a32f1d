/*
 * Classical decomposition and the M4 seasonality test against R (fixtures/gen_decomp.R):
 * seasonal indices equal to decompose()'s, the test's verdict on seasonal and non-seasonal
 * series, and the refusals.
 */
#include <criterion/criterion.h>

#include "forecast/decomp.h"
#include "fixtures/decomp_ref.h"

Test(decomp, indices_match_r_decompose)
{
	double idx[12];

	cr_assert(forecast_decomp_classical(ds_airpassengers, 144, 12, true, idx));
	for (int j = 0; j < 12; j++)
		cr_assert_float_eq(idx[j], air_mult[j], 1e-9, "multiplicative %d: %.10f", j,
		                   idx[j]);
	cr_assert(forecast_decomp_classical(ds_airpassengers, 144, 12, false, idx));
	for (int j = 0; j < 12; j++)
		cr_assert_float_eq(idx[j], air_add[j], 1e-7, "additive %d: %.10f", j, idx[j]);
}

Test(decomp, seasonality_test_matches_r)
{
	cr_assert_eq(forecast_decomp_is_seasonal(ds_airpassengers, 144, 12), seasonal_air12);
	cr_assert_eq(forecast_decomp_is_seasonal(ds_nile, 100, 12), seasonal_nile12);
	cr_assert_eq(forecast_decomp_is_seasonal(ds_usaccdeaths, 72, 12), seasonal_usacc12);
	cr_assert_eq(forecast_decomp_is_seasonal(ds_usaccdeaths, 72, 5), seasonal_usacc5);
	/* the fixtures cover both verdicts */
	cr_assert(seasonal_air12 && !seasonal_nile12);
}

Test(decomp, refusals)
{
	double idx[12], flat[48];

	for (int t = 0; t < 48; t++)
		flat[t] = 3;
	/* too short to decompose: neutral indices */
	cr_assert_not(forecast_decomp_classical(ds_airpassengers, 20, 12, true, idx));
	cr_assert_float_eq(idx[5], 1.0, 1e-12);
	cr_assert_not(forecast_decomp_is_seasonal(ds_airpassengers, 30, 12)); /* under 3 seasons */
	cr_assert_not(forecast_decomp_is_seasonal(ds_airpassengers, 144, 1));
	cr_assert_not(forecast_decomp_is_seasonal(flat, 48, 12)); /* constant */
}

Test(decomp, seasonal_strength)
{
	double idx[12], noise[144];
	unsigned x = 1;

	/* AirPassengers is over the 0.64 at which R's nsdiffs differences seasonally (it does,
	 * D = 1); white noise is far below */
	cr_assert(forecast_decomp_strength(ds_airpassengers, 144, 12, idx) > 0.64);
	for (int t = 0; t < 144; t++) {
		x = x * 1103515245u + 12345u;
		noise[t] = (double)(x >> 16 & 0x7fff);
	}
	cr_assert(forecast_decomp_strength(noise, 144, 12, idx) < 0.3);
	/* two seasons exactly: each index would fit its one value, so no verdict */
	cr_assert_float_eq(forecast_decomp_strength(ds_airpassengers, 24, 12, idx), 0.0, 1e-12);
}
