/*
 * Naive, seasonal naive and Naive2: forecasts and intervals equal to R's forecast package
 * (fixtures/gen_naive.R), the per-window update, Naive2's seasonal adjustment, short series.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "fixtures/datasets.h"
#include "forecast/naive.h"

/* The first 4 years of USAccDeaths (monthly). */
static const double *const acc = ds_usaccdeaths;

#define H 14

/* R: naive(y, h = 14, level = c(80, 95)) */
static const double naive_lo95[H] = {7270.999, 6701.041, 6263.697, 5894.998, 5570.169,
                                     5276.5,   5006.444, 4755.082, 4518.998, 4295.703,
                                     4083.322, 3880.393, 3685.759, 3498.476};
static const double naive_hi80[H] = {9546.719, 9919.394, 10205.36, 10446.44, 10658.83,
                                     10850.85, 11027.43, 11191.79, 11346.16, 11492.16,
                                     11631.03, 11763.72, 11890.98, 12013.44};
/* R: snaive(ts(y, frequency = 12), h = 14, level = c(80, 95)) */
static const double snaive_lo95[H] = {6402.563, 6146.563, 6452.563, 6610.563, 7308.563,
                                      7630.563, 8763.563, 7864.563, 6722.563, 7173.563,
                                      6559.563, 7332.563, 5858.105, 5602.105};
static const double snaive_hi80[H] = {8576.464, 8320.464, 8626.464, 8784.464, 9482.464,
                                      9804.464, 10937.46, 10038.46, 8896.464, 9347.464,
                                      8733.464, 9506.464, 8932.466, 8676.466};

static const double levels[2] = {0.80, 0.95};

struct out {
	double mean[H], lo[2 * H], hi[2 * H];
	struct forecast_pred p;
};

static void out_init(struct out *o)
{
	o->p = (struct forecast_pred){
	        .h = H, .n_levels = 2, .levels = levels, .mean = o->mean, .lo = o->lo, .hi = o->hi};
}

static void run(const double *y, size_t n, size_t m, enum forecast_naive_kind kind, struct out *o)
{
	struct forecast_naive nv;

	out_init(o);
	cr_assert(forecast_naive_fit(y, n, m, kind, &nv));
	forecast_naive_forecast(&nv, &o->p);
	forecast_naive_cleanup(&nv);
}

Test(naive, matches_r_naive)
{
	struct out o;

	run(acc, 48, 12, FORECAST_NAIVE, &o);
	for (int i = 0; i < H; i++) {
		cr_assert_float_eq(o.mean[i], 8647, 1e-9);
		cr_assert_float_eq(o.lo[H + i], naive_lo95[i], 2e-3, "step %d", i);
		cr_assert_float_eq(o.hi[i], naive_hi80[i], 2e-2, "step %d", i);
	}
}

Test(naive, matches_r_snaive)
{
	struct out o;

	run(acc, 48, 12, FORECAST_SNAIVE, &o);
	for (int i = 0; i < H; i++) {
		cr_assert_float_eq(o.mean[i], acc[36 + i % 12], 1e-9, "step %d", i);
		cr_assert_float_eq(o.lo[H + i], snaive_lo95[i], 2e-3, "step %d", i);
		cr_assert_float_eq(o.hi[i], snaive_hi80[i], 2e-2, "step %d", i);
	}
}

Test(naive, update_equals_refit)
{
	struct forecast_naive a, b;
	struct out oa, ob;

	cr_assert(forecast_naive_fit(acc, 40, 12, FORECAST_SNAIVE, &a));
	for (int t = 40; t < 48; t++)
		forecast_naive_update(&a, acc[t]);
	cr_assert(forecast_naive_fit(acc, 48, 12, FORECAST_SNAIVE, &b));
	out_init(&oa);
	out_init(&ob);
	forecast_naive_forecast(&a, &oa.p);
	forecast_naive_forecast(&b, &ob.p);
	for (int i = 0; i < 2 * H; i++) {
		cr_assert_float_eq(oa.lo[i], ob.lo[i], 1e-9);
		cr_assert_float_eq(oa.hi[i], ob.hi[i], 1e-9);
	}
	forecast_naive_cleanup(&a);
	forecast_naive_cleanup(&b);
}

Test(naive, naive2_reseasons_a_seasonal_series)
{
	double y[96];
	struct out o;

	/* a multiplicative season of 12 on a constant level: Naive2 reproduces the season */
	for (int t = 0; t < 96; t++)
		y[t] = 100 * (1 + 0.3 * sin(2 * M_PI * t / 12));
	run(y, 96, 12, FORECAST_NAIVE2, &o);
	for (int i = 0; i < H; i++)
		cr_assert_float_eq(o.mean[i], y[(96 + i) % 12 + 84], 0.5, "step %d: %f", i,
		                   o.mean[i]);
	/* not seasonal at lag 12: plain naive */
	run(acc, 48, 5, FORECAST_NAIVE2, &o);
	for (int i = 0; i < H; i++)
		cr_assert_float_eq(o.mean[i], 8647, 1e-9);
}

Test(naive, short_and_degenerate_series)
{
	struct forecast_naive nv;
	const double one = 5, zeros[30] = {0};
	struct out o;

	/* shorter than a season: seasonal naive is naive */
	run(acc, 7, 12, FORECAST_SNAIVE, &o);
	cr_assert_float_eq(o.mean[13], acc[6], 1e-9);
	/* one point: no residual, zero-width intervals */
	run(&one, 1, 12, FORECAST_SNAIVE, &o);
	cr_assert_float_eq(o.lo[H + 3], 5, 1e-9);
	cr_assert_float_eq(o.hi[H + 3], 5, 1e-9);
	/* all zero: Naive2 does not divide by a zero index */
	run(zeros, 30, 6, FORECAST_NAIVE2, &o);
	for (int i = 0; i < 2 * H; i++)
		cr_assert(o.lo[i] == 0 && o.hi[i] == 0);
	cr_assert_not(forecast_naive_fit(acc, 0, 12, FORECAST_NAIVE, &nv));
	cr_assert_not(forecast_naive_fit(NULL, 3, 12, FORECAST_NAIVE, &nv));
}
