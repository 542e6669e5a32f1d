/* Backtest-calibrated interval widths: the factors, what is skipped, and applying them. */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>

#include "forecast/calib.h"

#define H 50
#define NL FORECAST_CALIB_LEVELS

/* A forecast of mean 0 with normal intervals of standard deviation 1 at the calibration levels. */
struct unit_pred {
	double mean[H], lo[NL * H], hi[NL * H];
	struct forecast_pred p;
};

static void unit_pred_init(struct unit_pred *u)
{
	u->p = (struct forecast_pred){.h = H,
	                              .n_levels = NL,
	                              .levels = forecast_calib_levels,
	                              .mean = u->mean,
	                              .lo = u->lo,
	                              .hi = u->hi};
	for (size_t i = 0; i < H; i++)
		forecast_pred_step(&u->p, i, 0.0, 1.0);
}

/* The factors from `origins` backtest horizons whose truths are N(0, sd^2). */
static struct forecast_calib calibrate(double sd, size_t origins, unsigned long seed)
{
	static double s[NL * 40 * H];
	struct forecast_calib_scores sc = {.s = s, .cap = 40 * H};
	struct forecast_calib c;
	struct unit_pred u;
	double truth[H];
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	cr_assert(r);
	cr_assert_leq(origins, 40);
	gsl_rng_set(r, seed);
	unit_pred_init(&u);
	for (size_t o = 0; o < origins; o++) {
		for (size_t i = 0; i < H; i++)
			truth[i] = gsl_ran_gaussian(r, sd);
		forecast_calib_score(&sc, &u.p, truth);
	}
	gsl_rng_free(r);
	cr_assert_eq(sc.n, origins * H);
	forecast_calib_finish(&sc, &c);
	return c;
}

Test(calib, too_narrow_widens_too_wide_narrows_right_stays)
{
	/* 2,000 scores: the conformal factor is close to the true ratio of widths, and the factor
	 * applied is its square root */
	struct forecast_calib narrow = calibrate(2.0, 40, 1), wide = calibrate(0.5, 40, 2),
	                      right = calibrate(1.0, 40, 3);

	cr_assert(narrow.on && wide.on && right.on);
	for (size_t l = 0; l < NL - 1; l++) {
		cr_assert_float_eq(narrow.k[l], sqrt(2.0), 0.1, "level %g: %g",
		                   forecast_calib_levels[l], narrow.k[l]);
		cr_assert_float_eq(wide.k[l], sqrt(0.5), 0.06, "level %g: %g",
		                   forecast_calib_levels[l], wide.k[l]);
		cr_assert_float_eq(right.k[l], 1.0, 0.07, "level %g: %g", forecast_calib_levels[l],
		                   right.k[l]);
	}
}

Test(calib, few_scores_leave_the_intervals_alone)
{
	static double s[NL * H];
	struct forecast_calib_scores sc = {.s = s, .cap = H};
	struct forecast_calib c;
	struct unit_pred u;
	double truth[H];

	unit_pred_init(&u);
	/* missing truths and intervals of no width give no score */
	for (size_t i = 0; i < H; i++)
		truth[i] = i < FORECAST_CALIB_MIN ? NAN : 5.0;
	for (size_t i = FORECAST_CALIB_MIN; i < H; i++) {
		if (i % 2 == 0)
			u.hi[1 * H + i] = u.mean[i]; /* the 80% interval's upper half: empty */
	}
	forecast_calib_score(&sc, &u.p, truth);
	cr_assert_eq(sc.n, (H - FORECAST_CALIB_MIN) / 2);
	cr_assert_lt(sc.n, FORECAST_CALIB_MIN);
	forecast_calib_finish(&sc, &c);
	cr_assert_not(c.on);
	unit_pred_init(&u);
	forecast_calib_apply(&c, &u.p);
	cr_assert_float_eq(u.hi[1 * H], forecast_z(0.80), 1e-12);
}

Test(calib, extreme_backtests_are_limited)
{
	struct forecast_calib c = calibrate(1000.0, 4, 4);

	cr_assert(c.on);
	for (size_t l = 0; l < NL; l++)
		cr_assert_float_eq(c.k[l], sqrt(FORECAST_CALIB_LIMIT), 1e-12);
	c = calibrate(1e-6, 4, 5);
	for (size_t l = 0; l < NL; l++)
		cr_assert_float_eq(c.k[l], sqrt(1.0 / FORECAST_CALIB_LIMIT), 1e-12);
}

Test(calib, apply_scales_around_the_mean_interpolates_and_keeps_nesting)
{
	static const double levels[3] = {0.99, 0.875, 0.80};
	struct forecast_calib c = {.on = true};
	double mean[1] = {10}, lo[3] = {4, 7, 8}, hi[3] = {20, 14, 13};
	struct forecast_pred p = {
	        .h = 1, .n_levels = 3, .levels = levels, .mean = mean, .lo = lo, .hi = hi};

	cr_assert_float_eq(forecast_calib_levels[1], 0.80, 1e-12);
	cr_assert_float_eq(forecast_calib_levels[2], 0.95, 1e-12);
	cr_assert_float_eq(forecast_calib_levels[3], 0.99, 1e-12);
	c.k[0] = 2.0;
	c.k[1] = 2.0; /* 0.80 */
	c.k[2] = 1.0; /* 0.95 */
	c.k[3] = 0.1; /* 0.99: would shrink inside the narrower levels */
	forecast_calib_apply(&c, &p);
	/* 0.80: halves 2 and 3, doubled, around the mean */
	cr_assert_float_eq(lo[2], 6.0, 1e-12);
	cr_assert_float_eq(hi[2], 16.0, 1e-12);
	/* 0.875: half-way between the factors of 0.80 and 0.95, 1.5; it must hold the 80% */
	cr_assert_float_eq(lo[1], 10 - 1.5 * 3, 1e-12);
	cr_assert_float_eq(hi[1], fmax(10 + 1.5 * 4, 16.0), 1e-12);
	/* 0.99: factor 0.1 would give [9.4, 11]; it holds both narrower levels */
	cr_assert_float_eq(lo[0], 5.5, 1e-12);
	cr_assert_float_eq(hi[0], 16.0, 1e-12);
	cr_assert_float_eq(mean[0], 10.0, 1e-12);
}

Test(calib, asymmetric_intervals_are_scored_on_the_side_of_the_error)
{
	static double s[NL * 40];
	struct forecast_calib_scores sc = {.s = s, .cap = 40};
	double mean[1] = {0}, lo[NL], hi[NL], truth[1];
	struct forecast_pred p = {.h = 1,
	                          .n_levels = NL,
	                          .levels = forecast_calib_levels,
	                          .mean = mean,
	                          .lo = lo,
	                          .hi = hi};

	for (size_t l = 0; l < NL; l++) {
		lo[l] = -1.0; /* a narrow lower half */
		hi[l] = 4.0;  /* a wide upper half */
	}
	for (size_t i = 0; i < 40; i++) {
		truth[0] = i % 2 ? 2.0 : -0.5;
		forecast_calib_score(&sc, &p, truth);
	}
	cr_assert_eq(sc.n, 40);
	for (size_t i = 0; i < 40; i++)
		cr_assert_float_eq(s[i], 0.5, 1e-12, "2 of 4 above, 0.5 of 1 below: both half-way");
}
