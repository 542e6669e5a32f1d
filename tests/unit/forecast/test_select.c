/*
 * The models behind one interface and the backtested choice: names, the short-history fallback,
 * the choice and its weights, combination and what it leaves out, the refit's structure,
 * seasons taken out around ETS and ARIMA, seasonal naive's choice of period, the fallback of a
 * model that cannot fit, determinism, bad input.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

#include "forecast/select.h"

static void gsl_quiet(void)
{
	gsl_set_error_handler_off();
}

TestSuite(select, .init = gsl_quiet);

#define H 24
#define MAXN 2000

static const double levels[2] = {0.80, 0.95};

struct out {
	double mean[2 * MAXN], lo[2 * MAXN], hi[2 * MAXN];
	struct forecast_pred p;
};

static void out_init(struct out *o, size_t h)
{
	o->p = (struct forecast_pred){
	        .h = h, .n_levels = 2, .levels = levels, .mean = o->mean, .lo = o->lo, .hi = o->hi};
}

/* level + slope t + a daily shape (period 24) + a weekday effect (period 168) + noise */
static void load_series(gsl_rng *r, double *y, size_t n, double week, double sd)
{
	for (size_t t = 0; t < n; t++)
		y[t] = 200 + 0.05 * (double)t + 60 * sin(2 * M_PI * (double)t / 24) +
		       week * ((t / 24) % 7 >= 5 ? -1 : 0.4) + gsl_ran_gaussian(r, sd);
}

static double mae(const double *a, const double *b, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += fabs(a[i] - b[i]);
	return s / (double)n;
}

Test(select, model_names_round_trip)
{
	enum forecast_model m;

	for (int i = 0; i < FORECAST_MODEL_COUNT; i++) {
		cr_assert(forecast_model_parse(forecast_model_str((enum forecast_model)i), &m));
		cr_assert_eq(m, i);
	}
	cr_assert_not(forecast_model_parse("holt", &m));
	cr_assert_str_eq(forecast_model_str(FORECAST_MODEL_COUNT), "?");
}

Test(select, short_history_gets_seasonal_naive)
{
	const size_t period = 24;
	struct forecast_spec spec = {.periods = &period, .n_periods = 1, .horizon = H, .seed = 1};
	struct forecast_choice c;
	double y[100];
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	load_series(r, y, 100, 0, 1);
	/* two seasons plus three horizons would be 120 points */
	cr_assert(forecast_auto(y, 100, &spec, &forecast_auto_default, &c));
	cr_assert_eq(c.n_fits, 1);
	cr_assert_eq(c.fits[0].model, FORECAST_MODEL_SNAIVE);
	cr_assert_float_eq(c.weight[0], 1.0, 1e-12);
	cr_assert(isnan(c.score[FORECAST_MODEL_ETS]), "no backtest ran");
	cr_assert_not(c.calib[0].on, "no backtest to calibrate on");
	forecast_choice_cleanup(&c);
	gsl_rng_free(r);
}

Test(select, chooses_and_combines_by_backtest)
{
	const size_t period = 24;
	struct forecast_spec spec = {.periods = &period, .n_periods = 1, .horizon = H, .seed = 1};
	struct forecast_auto_opts opts = forecast_auto_default;
	static double y[600 + H];
	struct forecast_choice c;
	struct out o;
	double total = 0, sn[H];
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_rng_set(r, 11);
	load_series(r, y, 600 + H, 0, 4);
	cr_assert(forecast_auto(y, 600, &spec, &opts, &c));
	cr_assert_eq(c.n_fits, 2, "the best two are combined");
	for (size_t i = 0; i < opts.n_candidates; i++)
		cr_assert(isfinite(c.score[opts.candidates[i]]), "%s was not backtested",
		          forecast_model_str(opts.candidates[i]));
	cr_assert(isnan(c.score[FORECAST_MODEL_LSTM]), "not a default candidate");
	/* the fits are the two best scores, heavier weight on the better */
	for (size_t i = 0; i < opts.n_candidates; i++) {
		enum forecast_model m = opts.candidates[i];

		if (m != c.fits[0].model && m != c.fits[1].model)
			cr_assert_geq(c.score[m], c.score[c.fits[1].model]);
	}
	cr_assert_leq(c.score[c.fits[0].model], c.score[c.fits[1].model]);
	cr_assert_geq(c.weight[0], c.weight[1]);
	total = c.weight[0] + c.weight[1];
	cr_assert_float_eq(total, 1.0, 1e-12);
	/* a trend under the season: the choice beats repeating the last day */
	out_init(&o, H);
	cr_assert(forecast_choice_forecast(&c, &o.p));
	for (int i = 0; i < H; i++)
		sn[i] = y[600 - 24 + i];
	cr_assert_lt(mae(o.mean, y + 600, H), mae(sn, y + 600, H));
	for (int i = 0; i < 2 * H; i++)
		cr_assert(o.lo[i] <= o.hi[i]);
	/* each fit's interval widths are calibrated on its own backtest (forecast/calib.h): the
	 * means stay, the widths are what the calibration makes them */
	cr_assert(c.calib[0].on && c.calib[1].on);
	{
		struct out raw;
		bool differ = false;

		out_init(&raw, H);
		c.calib[0].on = c.calib[1].on = false;
		cr_assert(forecast_choice_forecast(&c, &raw.p));
		for (int i = 0; i < H; i++)
			cr_assert_float_eq(raw.mean[i], o.mean[i], 1e-12);
		for (int i = 0; i < 2 * H; i++)
			differ |= fabs((raw.hi[i] - raw.lo[i]) - (o.hi[i] - o.lo[i])) > 1e-9;
		cr_assert(differ, "calibration changed no interval");
	}
	forecast_choice_cleanup(&c);
	/* combine 1: the best alone */
	opts.combine = 1;
	cr_assert(forecast_auto(y, 600, &spec, &opts, &c));
	cr_assert_eq(c.n_fits, 1);
	cr_assert_float_eq(c.weight[0], 1.0, 1e-12);
	forecast_choice_cleanup(&c);
	gsl_rng_free(r);
}

/*
 * The refit on the whole series keeps the structure the backtest scored: a series that turns
 * into a steep climb during the backtest horizons would get a trend from a fresh choice on all
 * of it, but the combined model is the one fit before the origins.
 */
Test(select, the_refit_keeps_the_structure_the_backtest_scored)
{
	const size_t period = 24, n = 400, cut = n - 3 * H;
	const enum forecast_model ets_only[] = {FORECAST_MODEL_ETS};
	struct forecast_spec spec = {.periods = &period, .n_periods = 1, .horizon = H, .seed = 1};
	struct forecast_auto_opts opts = {
	        .candidates = ets_only, .n_candidates = 1, .origins = 3, .combine = 1};
	struct forecast_ets before, whole;
	struct forecast_choice c;
	double y[400];
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_rng_set(r, 5);
	for (size_t t = 0; t < n; t++)
		y[t] = 100 + (t >= cut ? 8.0 * (double)(t - cut) : 0) + gsl_ran_gaussian(r, 2);
	cr_assert(forecast_ets_auto(y, cut, period, &before));
	cr_assert(forecast_ets_auto(y, n, period, &whole));
	cr_assert_neq(before.spec.trend, whole.spec.trend, "the series must change structure");
	cr_assert(forecast_auto(y, n, &spec, &opts, &c));
	cr_assert_eq(c.n_fits, 1);
	cr_assert_eq(c.fits[0].model, FORECAST_MODEL_ETS);
	cr_assert_eq(c.fits[0].u.ets.spec.error, before.spec.error);
	cr_assert_eq(c.fits[0].u.ets.spec.trend, before.spec.trend);
	cr_assert_eq(c.fits[0].u.ets.spec.season, before.spec.season);
	forecast_ets_cleanup(&before);
	forecast_ets_cleanup(&whole);
	forecast_choice_cleanup(&c);
	gsl_rng_free(r);
}

Test(select, a_model_far_behind_is_not_combined)
{
	const size_t period = 24;
	static const enum forecast_model two[] = {FORECAST_MODEL_NAIVE, FORECAST_MODEL_SNAIVE};
	struct forecast_spec spec = {.periods = &period, .n_periods = 1, .horizon = H, .seed = 1};
	struct forecast_auto_opts opts = {
	        .candidates = two, .n_candidates = 2, .origins = 3, .combine = 2};
	static double y[400];
	struct forecast_choice c;
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	/* a strong daily shape: repeating the last value is far worse than repeating the day */
	load_series(r, y, 400, 0, 2);
	cr_assert(forecast_auto(y, 400, &spec, &opts, &c));
	cr_assert_gt(c.score[FORECAST_MODEL_NAIVE], 1.25 * c.score[FORECAST_MODEL_SNAIVE]);
	cr_assert_eq(c.n_fits, 1, "naive is left out of the combination");
	cr_assert_eq(c.fits[0].model, FORECAST_MODEL_SNAIVE);
	forecast_choice_cleanup(&c);
	gsl_rng_free(r);
}

Test(select, seasons_are_taken_out_around_ets_and_arima)
{
	const size_t periods[2] = {24, 168};
	struct forecast_spec spec = {.periods = periods, .n_periods = 2, .horizon = 48, .seed = 1};
	static double y[1400 + 48];
	struct out o;
	char name[64];
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_rng_set(r, 5);
	load_series(r, y, 1400 + 48, 40, 3);
	for (int k = 0; k < 2; k++) {
		struct forecast_fit f;
		enum forecast_model m = k ? FORECAST_MODEL_ARIMA : FORECAST_MODEL_ETS;

		cr_assert(forecast_fit_model(y, 1400, m, &spec, &f));
		cr_assert_eq(f.adj.n, 2);
		forecast_fit_name(&f, name, sizeof(name));
		cr_assert(strstr(name, "+season[24,168]"), "%s", name);
		out_init(&o, 48);
		forecast_fit_forecast(&f, &o.p);
		/* the weekday effect of 40 is followed: error near the noise, not the effect */
		cr_assert_lt(mae(o.mean, y + 1400, 48), 12, "%s: MAE %f", name,
		             mae(o.mean, y + 1400, 48));
		forecast_fit_cleanup(&f);
	}
	gsl_rng_free(r);
}

Test(select, the_fits_start_after_the_seasons_changed_shape)
{
	const size_t periods[2] = {24, 168};
	struct forecast_spec spec = {.periods = periods, .n_periods = 2, .horizon = H, .seed = 1};
	static double y[1000 + H];
	struct forecast_choice c;
	struct out o;
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	/* half the history has its daily cycle 12 hours off, as a clock reset would leave it */
	load_series(r, y, 1000 + H, 30, 3);
	for (size_t t = 0; t < 500; t++)
		y[t] -= 120 * sin(2 * M_PI * (double)t / 24);
	for (int k = 0; k < 2; k++) {
		enum forecast_model m = k ? FORECAST_MODEL_ARIMA : FORECAST_MODEL_ETS;

		cr_assert(forecast_choose(y, 1000, m, &spec, &forecast_auto_default, &c));
		out_init(&o, H);
		cr_assert(forecast_choice_forecast(&c, &o.p));
		/* the new cycle (amplitude 60) is followed: the error is near the noise */
		cr_assert_lt(mae(o.mean, y + 1000, H), 12, "%s: MAE %f", forecast_model_str(m),
		             mae(o.mean, y + 1000, H));
		forecast_choice_cleanup(&c);
	}
	gsl_rng_free(r);
}

Test(select, seasonal_naive_takes_the_period_that_fits)
{
	const size_t periods[2] = {24, 168};
	struct forecast_spec spec = {.periods = periods, .n_periods = 2, .horizon = H, .seed = 1};
	static double y[1000];
	struct forecast_fit f;
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	load_series(r, y, 1000, 80, 1);
	cr_assert(forecast_fit_model(y, 1000, FORECAST_MODEL_SNAIVE, &spec, &f));
	cr_assert_eq(f.u.naive.m, 168, "a strong weekday effect: a week back fits better");
	forecast_fit_cleanup(&f);
	load_series(r, y, 1000, 0, 1);
	cr_assert(forecast_fit_model(y, 1000, FORECAST_MODEL_SNAIVE, &spec, &f));
	cr_assert_eq(f.u.naive.m, 24, "no weekly effect: the day before fits better");
	forecast_fit_cleanup(&f);
	gsl_rng_free(r);
}

Test(select, a_model_that_cannot_fit_falls_back)
{
	const size_t period = 24;
	struct forecast_spec spec = {.periods = &period, .n_periods = 1, .horizon = H, .seed = 1};
	struct forecast_choice c;
	double y[60];
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	load_series(r, y, 60, 0, 1);
	/* the LSTM needs a training window and a horizon of history */
	cr_assert(forecast_choose(y, 60, FORECAST_MODEL_LSTM, &spec, &forecast_auto_default, &c));
	cr_assert_eq(c.fits[0].model, FORECAST_MODEL_SNAIVE);
	forecast_choice_cleanup(&c);
	cr_assert(forecast_choose(y, 60, FORECAST_MODEL_ETS, &spec, &forecast_auto_default, &c));
	cr_assert_eq(c.fits[0].model, FORECAST_MODEL_ETS);
	forecast_choice_cleanup(&c);
	gsl_rng_free(r);
}

Test(select, deterministic_and_updatable)
{
	const size_t period = 24;
	struct forecast_spec spec = {.periods = &period, .n_periods = 1, .horizon = H, .seed = 7};
	static double y[500];
	struct forecast_choice a, b;
	struct out oa, ob;
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	load_series(r, y, 500, 0, 5);
	cr_assert(forecast_auto(y, 480, &spec, &forecast_auto_default, &a));
	cr_assert(forecast_auto(y, 480, &spec, &forecast_auto_default, &b));
	out_init(&oa, H);
	out_init(&ob, H);
	cr_assert(forecast_choice_forecast(&a, &oa.p));
	cr_assert(forecast_choice_forecast(&b, &ob.p));
	cr_assert(memcmp(oa.mean, ob.mean, H * sizeof(double)) == 0);
	cr_assert(memcmp(oa.hi, ob.hi, 2 * H * sizeof(double)) == 0);
	/* updates move the forecast on: 20 steps later it is finite and close to the truth */
	for (int t = 480; t < 500; t++)
		forecast_choice_update(&a, y[t]);
	cr_assert(forecast_choice_forecast(&a, &oa.p));
	for (int i = 0; i < H; i++)
		cr_assert(isfinite(oa.mean[i]) && isfinite(oa.lo[H + i]));
	forecast_choice_cleanup(&a);
	forecast_choice_cleanup(&b);
	gsl_rng_free(r);
}

Test(select, bad_arguments)
{
	const size_t period = 24;
	struct forecast_spec spec = {.periods = &period, .n_periods = 1, .horizon = H, .seed = 1};
	struct forecast_auto_opts opts = forecast_auto_default;
	struct forecast_choice c;
	struct forecast_fit f;
	double y[200] = {0};

	cr_assert_not(forecast_auto(NULL, 200, &spec, &opts, &c));
	cr_assert_not(forecast_fit_model(y, 0, FORECAST_MODEL_ETS, &spec, &f));
	cr_assert_not(forecast_fit_model(y, 200, FORECAST_MODEL_AUTO, &spec, &f));
	spec.horizon = 0;
	cr_assert_not(forecast_auto(y, 200, &spec, &opts, &c));
	spec.horizon = H;
	opts.origins = 0;
	cr_assert_not(forecast_auto(y, 200, &spec, &opts, &c));
	/* all zero is a series like any other */
	opts.origins = 3;
	cr_assert(forecast_auto(y, 200, &spec, &opts, &c));
	forecast_choice_cleanup(&c);
}
