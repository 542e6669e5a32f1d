/*
 * Holt-Winters: accuracy against seasonal naive on a trending seasonal series, interval coverage
 * in simulation, degenerate series (constant, zero) and the failure paths of the fit.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>

#include "forecast/hw.h"

#define M 24

/* y_t = base + slope*t + amp*sin(2 pi t / M) + N(0, sd^2) */
static void seasonal_series(gsl_rng *r, double *y, size_t n, double base, double slope, double amp,
                            double sd)
{
	for (size_t t = 0; t < n; t++)
		y[t] = base + slope * (double)t + amp * sin(2 * M_PI * (double)t / M) +
		       gsl_ran_gaussian(r, sd);
}

static void check_finite(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert(isfinite(v[i]), "value %zu is not finite", i);
}

Test(hw, beats_seasonal_naive_on_trending_seasonal_series)
{
	enum {
		N = 8 * M,
		H = M,
		REPS = 20
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double y[N + H], mean[H], err_hw = 0, err_sn = 0;

	gsl_rng_set(r, 42);
	for (int rep = 0; rep < REPS; rep++) {
		struct forecast_hw hw;

		seasonal_series(r, y, N + H, 100, 0.5, 20, 2);
		cr_assert(forecast_hw_fit(y, N, M, &hw));
		cr_assert(hw.alpha > 0 && hw.alpha < 1);
		cr_assert(hw.beta > 0 && hw.beta < hw.alpha);
		cr_assert(hw.gamma > 0 && hw.gamma < 1 - hw.alpha);
		forecast_hw_forecast(&hw, H, 0.95, mean, NULL, NULL);
		check_finite(mean, H);
		for (int i = 0; i < H; i++) {
			err_hw += fabs(y[N + i] - mean[i]);
			err_sn += fabs(y[N + i] - y[N - M + i]);
		}
		forecast_hw_cleanup(&hw);
	}
	err_hw /= REPS * H;
	err_sn /= REPS * H;
	cr_assert(err_hw < 0.5 * err_sn, "HW MAE %.3f should be well below seasonal naive's %.3f",
	          err_hw, err_sn);
	/* the noise sd is 2, so a good model's absolute error is around 1.6-2.5 */
	cr_assert(err_hw < 4.0, "HW MAE %.3f", err_hw);
	gsl_rng_free(r);
}

Test(hw, interval_coverage_matches_nominal_in_simulation)
{
	enum {
		N = 6 * M,
		H = 12,
		REPS = 300
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double y[N + H], mean[H], lo[H], hi[H], lo80[H], hi80[H];
	int in95 = 0, in80 = 0, total = 0;

	gsl_rng_set(r, 7);
	for (int rep = 0; rep < REPS; rep++) {
		struct forecast_hw hw;

		seasonal_series(r, y, N + H, 50, 0.1, 10, 3);
		cr_assert(forecast_hw_fit(y, N, M, &hw));
		forecast_hw_forecast(&hw, H, 0.95, mean, lo, hi);
		forecast_hw_forecast(&hw, H, 0.80, mean, lo80, hi80);
		for (int i = 0; i < H; i++) {
			cr_assert(lo[i] <= lo80[i] && lo80[i] <= mean[i] && mean[i] <= hi80[i] &&
			          hi80[i] <= hi[i]);
			/* intervals widen (weakly) with the horizon */
			if (i > 0)
				cr_assert(hi[i] - lo[i] >= hi[i - 1] - lo[i - 1] - 1e-9);
			in95 += y[N + i] >= lo[i] && y[N + i] <= hi[i];
			in80 += y[N + i] >= lo80[i] && y[N + i] <= hi80[i];
			total++;
		}
		forecast_hw_cleanup(&hw);
	}
	cr_assert((double)in95 / total > 0.90 && (double)in95 / total < 0.99, "95%% coverage %.3f",
	          (double)in95 / total);
	cr_assert((double)in80 / total > 0.72 && (double)in80 / total < 0.88, "80%% coverage %.3f",
	          (double)in80 / total);
	gsl_rng_free(r);
}

Test(hw, update_keeps_tracking_after_the_fit)
{
	enum {
		N = 10 * M,
		FIT = 4 * M,
		H = M
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double y[N + H], mean[H], lo[H], hi[H], err = 0;
	struct forecast_hw hw;

	gsl_rng_set(r, 3);
	seasonal_series(r, y, N + H, 200, -0.2, 40, 1);
	cr_assert(forecast_hw_fit(y, FIT, M, &hw));
	for (size_t t = FIT; t < N; t++)
		forecast_hw_update(&hw, y[t]);
	forecast_hw_update(&hw, NAN); /* ignored */
	cr_assert_eq(hw.n, N);
	forecast_hw_forecast(&hw, H, 0.95, mean, lo, hi);
	check_finite(mean, H);
	check_finite(lo, H);
	check_finite(hi, H);
	for (int i = 0; i < H; i++)
		err += fabs(y[N + i] - mean[i]);
	cr_assert(err / H < 3.0, "MAE after updates %.3f", err / H);
	cr_assert(hw.sigma2 > 0.3 && hw.sigma2 < 4, "sigma2 %.3f for noise variance 1", hw.sigma2);
	forecast_hw_cleanup(&hw);
	gsl_rng_free(r);
}

static void check_flat(double v)
{
	enum {
		N = 3 * M,
		H = 2 * M
	};
	double y[N], mean[H], lo[H], hi[H];
	struct forecast_hw hw;

	for (int i = 0; i < N; i++)
		y[i] = v;
	cr_assert(forecast_hw_fit(y, N, M, &hw), "flat series %g must fit", v);
	forecast_hw_update(&hw, v);
	forecast_hw_forecast(&hw, H, 0.95, mean, lo, hi);
	for (int i = 0; i < H; i++) {
		cr_assert(isfinite(mean[i]) && isfinite(lo[i]) && isfinite(hi[i]));
		cr_assert_float_eq(mean[i], v, 1e-9 * (1 + fabs(v)));
		cr_assert(hi[i] - lo[i] < 1e-6 * (1 + fabs(v)), "flat series: no uncertainty");
	}
	cr_assert(isfinite(hw.alpha) && isfinite(hw.beta) && isfinite(hw.gamma));
	forecast_hw_cleanup(&hw);
	forecast_hw_cleanup(&hw); /* idempotent */
}

Test(hw, constant_and_zero_series_fit_without_failing)
{
	check_flat(0);
	check_flat(17.5);
	check_flat(-3);
}

Test(hw, refuses_short_empty_and_non_finite_series)
{
	double y[2 * M];
	struct forecast_hw hw;

	for (int i = 0; i < 2 * M; i++)
		y[i] = i % M;
	cr_assert_not(forecast_hw_fit(y, 2 * M - 1, M, &hw), "n < 2m must be refused");
	cr_assert_null(hw.season, "a refused fit leaves nothing to free");
	cr_assert_not(forecast_hw_fit(y, 2 * M, 0, &hw), "season 0 must be refused");
	cr_assert_not(forecast_hw_fit(y, 0, M, &hw));
	y[5] = NAN;
	cr_assert_not(forecast_hw_fit(y, 2 * M, M, &hw), "NaN input must be refused");
	y[5] = INFINITY;
	cr_assert_not(forecast_hw_fit(y, 2 * M, M, &hw), "infinite input must be refused");
	y[5] = 5;
	cr_assert(forecast_hw_fit(y, 2 * M, M, &hw), "exactly two seasons is enough");
	forecast_hw_cleanup(&hw);
}

Test(hw, season_of_one_and_level_outside_unit_interval)
{
	double y[8] = {1, 2, 3, 4, 5, 6, 7, 8}, mean[3], lo[3], hi[3];
	struct forecast_hw hw;

	cr_assert(forecast_hw_fit(y, 8, 1, &hw));
	forecast_hw_forecast(&hw, 3, 1.5, mean, lo, hi);
	for (int i = 0; i < 3; i++) {
		cr_assert(isfinite(mean[i]));
		cr_assert_float_eq(lo[i], mean[i], 1e-12, "level outside (0,1): zero width");
		cr_assert_float_eq(hi[i], mean[i], 1e-12);
	}
	cr_assert(mean[0] > 7 && mean[2] > mean[0], "a linear trend is followed: %g %g", mean[0],
	          mean[2]);
	forecast_hw_cleanup(&hw);
}
