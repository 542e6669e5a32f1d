/*
 * Prophet-style model: recovery of a known trend change and seasonal shape, two seasonalities at
 * once, robustness to spikes, agreement with R's tslm (its linear core) on textbook series,
 * interval coverage in simulation, determinism for a seed, the per-window update, degenerate
 * series (constant, zero, short, intermittent) and the failure paths of the fit.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/prophet.h"
#include "fixtures/prophet_ref.h"

static const double levels[2] = {0.80, 0.95};

/* Caller-side arrays for a forecast of up to 96 steps at the two levels above. */
struct out {
	double mean[96];        /* point forecasts */
	double lo[2 * 96];      /* lower bounds, 80% then 95% */
	double hi[2 * 96];      /* upper bounds, laid out as lo */
	struct forecast_pred p; /* points into the arrays above */
};

static void out_init(struct out *o, size_t h)
{
	cr_assert(h <= 96);
	o->p = (struct forecast_pred){
	        .h = h, .n_levels = 2, .levels = levels, .mean = o->mean, .lo = o->lo, .hi = o->hi};
}

/* Amplitude of the fitted harmonic at k cycles per period, 0 when the model has none. */
static double amplitude(const struct forecast_prophet *m, double k, double period)
{
	for (size_t f = 0; f < m->n_freq; f++) {
		if (fabs(m->freq[f] - k / period) < 1e-12)
			return hypot(m->coef[2 * f], m->coef[2 * f + 1]);
	}
	return 0;
}

/* Finite, nested intervals around the mean: lo95 <= lo80 <= mean <= hi80 <= hi95. */
static void check_intervals(const struct out *o)
{
	size_t h = o->p.h;

	for (size_t i = 0; i < h; i++) {
		cr_assert(isfinite(o->mean[i]) && isfinite(o->lo[i]) && isfinite(o->hi[i]) &&
		                  isfinite(o->lo[h + i]) && isfinite(o->hi[h + i]),
		          "step %zu not finite", i);
		cr_assert(o->lo[h + i] <= o->lo[i] && o->lo[i] <= o->mean[i] &&
		                  o->mean[i] <= o->hi[i] && o->hi[i] <= o->hi[h + i],
		          "step %zu: intervals not nested around the mean", i);
	}
}

/* 10 + 0.02 t, turning to slope -0.03 at t = 600, plus a two-harmonic daily shape and noise. */
static double kinked(gsl_rng *r, size_t t)
{
	double tr = t < 600 ? 10 + 0.02 * (double)t : 22 - 0.03 * (double)(t - 600);

	return tr + 5 * sin(2 * M_PI * (double)t / 24) + 2 * cos(4 * M_PI * (double)t / 24) +
	       gsl_ran_gaussian(r, 1.0);
}

Test(prophet, recovers_a_trend_change_and_the_seasonal_shape)
{
	enum {
		N = 1000
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	size_t per = 24;
	double y[N], near = 0, far = 0, pos = 0, wsum = 0;
	struct forecast_prophet m;

	gsl_rng_set(r, 11);
	for (size_t t = 0; t < N; t++)
		y[t] = kinked(r, t);
	cr_assert(forecast_prophet_fit(y, N, &per, 1, &m));
	cr_assert_eq(m.n_cp, 25);
	cr_assert(fabs(m.k - 0.02) < 0.002, "initial rate %g, true 0.02", m.k);
	for (size_t j = 0; j < m.n_cp; j++) {
		cr_assert(m.cp[j] < 0.8 * N, "candidates stay in the first 80%%");
		if (fabs(m.cp[j] - 600) <= 80) {
			near += m.delta[j];
			pos += fabs(m.delta[j]) * m.cp[j];
			wsum += fabs(m.delta[j]);
		} else {
			far += fabs(m.delta[j]);
		}
	}
	cr_assert(fabs(near + 0.05) < 0.005, "rate change near t=600: %g, true -0.05", near);
	cr_assert(fabs(pos / wsum - 600) < 40, "change located at %g, true 600", pos / wsum);
	cr_assert(far < 0.005, "spurious rate changes elsewhere sum to %g", far);
	cr_assert(fabs(amplitude(&m, 1, 24) - 5) < 0.25, "first harmonic %g, true 5",
	          amplitude(&m, 1, 24));
	cr_assert(fabs(amplitude(&m, 2, 24) - 2) < 0.25, "second harmonic %g, true 2",
	          amplitude(&m, 2, 24));
	for (double k = 3; k <= 4; k++)
		cr_assert(amplitude(&m, k, 24) < 0.25, "harmonic %g: %g, true 0", k,
		          amplitude(&m, k, 24));
	cr_assert(fabs(sqrt(m.sigma2) - 1) < 0.1, "noise sd %g, true 1", sqrt(m.sigma2));
	forecast_prophet_cleanup(&m);
	gsl_rng_free(r);
}

/* Flat 50 plus daily and weekly shapes on hourly data. */
static double two_seasons(size_t t)
{
	double d = (double)t;

	return 50 + 5 * sin(2 * M_PI * d / 24) + 3 * cos(2 * M_PI * d / 168) +
	       2 * sin(4 * M_PI * d / 168);
}

/* Fits 6 weeks of two_seasons plus N(0,1) noise (and spikes when spikes > 0); returns the mean
 * absolute error of the 48-step forecast against the noiseless truth. */
static double fit_two_seasons(double spikes, struct forecast_prophet *m)
{
	enum {
		N = 6 * 168,
		H = 48
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	size_t per[2] = {24, 168};
	double y[N], err = 0;
	struct out o;

	gsl_rng_set(r, 5);
	for (size_t t = 0; t < N; t++) {
		y[t] = two_seasons(t) + gsl_ran_gaussian(r, 1.0);
		if (spikes > 0 && gsl_rng_uniform(r) < 0.03)
			y[t] += spikes;
	}
	cr_assert(forecast_prophet_fit(y, N, per, 2, m));
	out_init(&o, H);
	forecast_prophet_forecast(m, &o.p, 1);
	check_intervals(&o);
	for (size_t i = 0; i < H; i++)
		err += fabs(o.mean[i] - two_seasons(N + i));
	gsl_rng_free(r);
	return err / H;
}

Test(prophet, fits_daily_and_weekly_seasonality_together)
{
	struct forecast_prophet m;
	double err = fit_two_seasons(0, &m), cp_sum = 0;
	size_t daily = 0;

	cr_assert(err < 0.4, "forecast MAE %g against the truth (noise sd 1)", err);
	cr_assert(fabs(amplitude(&m, 1, 24) - 5) < 0.2, "daily %g", amplitude(&m, 1, 24));
	cr_assert(fabs(amplitude(&m, 1, 168) - 3) < 0.2, "weekly %g", amplitude(&m, 1, 168));
	cr_assert(fabs(amplitude(&m, 2, 168) - 2) < 0.2, "weekly 2nd %g", amplitude(&m, 2, 168));
	/* 7/168 is 1/24: the weekly period must not bring a second, identical column */
	for (size_t f = 0; f < m.n_freq; f++)
		daily += fabs(m.freq[f] - 1.0 / 24) < 1e-12;
	cr_assert_eq(daily, 1);
	cr_assert_eq(m.n_freq, 4 + 20 - 2, "4 daily + 20 weekly harmonics less 7/168, 14/168");
	for (size_t j = 0; j < m.n_cp; j++)
		cp_sum += fabs(m.delta[j]);
	cr_assert(cp_sum < 0.002, "a flat trend keeps its rate changes near zero: %g", cp_sum);
	forecast_prophet_cleanup(&m);
}

Test(prophet, spikes_do_not_drag_the_fit)
{
	struct forecast_prophet m;
	double err = fit_two_seasons(60, &m);

	/* 3% spikes of +60 would lift a least-squares fit by 1.8 everywhere */
	cr_assert(err < 0.6, "forecast MAE %g against the spike-free truth", err);
	cr_assert(fabs(amplitude(&m, 1, 24) - 5) < 0.3, "daily %g", amplitude(&m, 1, 24));
	cr_assert(fabs(amplitude(&m, 1, 168) - 3) < 0.3, "weekly %g", amplitude(&m, 1, 168));
	/* the spikes remain in the noise that the intervals must cover */
	cr_assert(m.sigma2 > 4, "sigma2 %g should include the spikes", m.sigma2);
	cr_assert(m.rscale < 1.5, "robust scale %g should not", m.rscale);
	forecast_prophet_cleanup(&m);
}

/* Compares a fit on an R fixture series with tslm(y ~ trend + fourier(y, 3)). */
Test(prophet, agrees_with_r_tslm_on_nottem)
{
	enum {
		N = 240,
		H = 12
	};
	size_t per = 12;
	struct forecast_prophet m;
	struct out o;

	cr_assert(forecast_prophet_fit(ds_nottem, N, &per, 1, &m));
	/* no real trend change in 20 years of temperatures: the fit is R's linear one */
	for (size_t j = 0; j < m.n_cp; j++)
		cr_assert_eq(m.delta[j], 0, "changepoint %zu: %g", j, m.delta[j]);
	cr_assert(fabs(m.k - nottem_slope) < 0.001, "slope %g, R %g", m.k, nottem_slope);
	cr_assert(fabs(sqrt(m.sigma2) - nottem_sigma) < 0.02 * nottem_sigma, "sigma %g, R %g",
	          sqrt(m.sigma2), nottem_sigma);
	for (size_t k = 0; k < 3; k++)
		cr_assert(fabs(amplitude(&m, (double)k + 1, 12) - nottem_amp[k]) < 0.05,
		          "harmonic %zu: %g, R %g", k + 1, amplitude(&m, (double)k + 1, 12),
		          nottem_amp[k]);
	out_init(&o, H);
	forecast_prophet_forecast(&m, &o.p, 1);
	check_intervals(&o);
	for (size_t i = 0; i < H; i++) {
		double w = o.hi[H + i] - o.lo[H + i], wr = nottem_hi95[i] - nottem_lo95[i];

		cr_assert(fabs(o.mean[i] - nottem_mean[i]) < 0.15, "step %zu: %g, R %g", i,
		          o.mean[i], nottem_mean[i]);
		/* R adds parameter uncertainty and a t quantile: a few percent wider */
		cr_assert(w < wr && w > 0.95 * wr, "step %zu: 95%% width %g, R %g", i, w, wr);
	}
	forecast_prophet_cleanup(&m);
}

Test(prophet, keeps_r_seasonal_shape_on_usaccdeaths_with_its_trend_change)
{
	size_t per = 12, active = 0;
	struct forecast_prophet m;

	cr_assert(forecast_prophet_fit(ds_usaccdeaths, 72, &per, 1, &m));
	for (size_t j = 0; j < m.n_cp; j++)
		active += m.delta[j] != 0;
	/* the deaths fall, then rise again after 1976: a straight line misses that, so the
	 * trends differ on purpose, but the seasonal shape is R's */
	cr_assert(active >= 1, "the 1976 upturn should be a changepoint");
	cr_assert(sqrt(m.sigma2) < usacc_sigma, "sigma %g should beat the straight line's %g",
	          sqrt(m.sigma2), usacc_sigma);
	for (size_t k = 0; k < 3; k++)
		cr_assert(fabs(amplitude(&m, (double)k + 1, 12) - usacc_amp[k]) <
		                  0.05 * usacc_amp[0],
		          "harmonic %zu: %g, R %g", k + 1, amplitude(&m, (double)k + 1, 12),
		          usacc_amp[k]);
	forecast_prophet_cleanup(&m);
}

/* Runs reps simulations of n steps of y and counts how often the next h fall in the intervals;
 * kink != 0 puts a rate change of that size at a random place in the first 80%. */
static void coverage(unsigned long seed, double kink, double *c80, double *c95)
{
	enum {
		N = 20 * 24,
		H = 24,
		REPS = 150
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	size_t per = 24, in80 = 0, in95 = 0;
	double y[N + H];

	gsl_rng_set(r, seed);
	for (int rep = 0; rep < REPS; rep++) {
		struct forecast_prophet m;
		double at = gsl_rng_uniform(r) * 0.8 * N;
		struct out o;

		for (size_t t = 0; t < N + H; t++)
			y[t] = 20 + 0.05 * (double)t +
			       ((double)t > at ? kink * ((double)t - at) : 0) +
			       10 * sin(2 * M_PI * (double)t / 24) + gsl_ran_gaussian(r, 2.0);
		cr_assert(forecast_prophet_fit(y, N, &per, 1, &m));
		out_init(&o, H);
		forecast_prophet_forecast(&m, &o.p, (unsigned long)rep);
		check_intervals(&o);
		for (size_t i = 0; i < H; i++) {
			in80 += y[N + i] >= o.lo[i] && y[N + i] <= o.hi[i];
			in95 += y[N + i] >= o.lo[H + i] && y[N + i] <= o.hi[H + i];
		}
		forecast_prophet_cleanup(&m);
	}
	*c80 = (double)in80 / (REPS * H);
	*c95 = (double)in95 / (REPS * H);
	gsl_rng_free(r);
}

Test(prophet, interval_coverage_matches_nominal_in_simulation)
{
	double c80, c95;

	coverage(7, 0, &c80, &c95);
	cr_assert(c80 > 0.74 && c80 < 0.86, "80%% coverage %.3f on a straight trend", c80);
	cr_assert(c95 > 0.91 && c95 < 0.985, "95%% coverage %.3f on a straight trend", c95);
	/* with a real change in the history the intervals come from the simulated paths */
	coverage(8, -0.1, &c80, &c95);
	cr_assert(c80 > 0.74 && c80 < 0.92, "80%% coverage %.3f after a trend change", c80);
	cr_assert(c95 > 0.91 && c95 < 0.995, "95%% coverage %.3f after a trend change", c95);
}

/* A trend that turns three times by 0.1 per step, a daily shape and noise of sd 0.5. */
static double zigzag(gsl_rng *r, size_t t)
{
	double d = (double)t, tr = 0.05 * d;

	tr += d > 200 ? 0.1 * (d - 200) : 0;
	tr -= d > 400 ? 0.2 * (d - 400) : 0;
	tr += d > 600 ? 0.1 * (d - 600) : 0;
	return 10 + tr + 5 * sin(2 * M_PI * d / 24) + gsl_ran_gaussian(r, 0.5);
}

Test(prophet, same_seed_same_intervals_and_they_widen)
{
	enum {
		N = 1000,
		H = 96
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	size_t per = 24;
	double y[N];
	struct forecast_prophet m;
	struct out a, b, c;

	gsl_rng_set(r, 11);
	for (size_t t = 0; t < N; t++)
		y[t] = zigzag(r, t);
	cr_assert(forecast_prophet_fit(y, N, &per, 1, &m));
	cr_assert(m.change_scale > 0 && m.change_rate > 0, "the paths must be simulated here");
	out_init(&a, H);
	out_init(&b, H);
	out_init(&c, H);
	forecast_prophet_forecast(&m, &a.p, 123);
	forecast_prophet_forecast(&m, &b.p, 123);
	forecast_prophet_forecast(&m, &c.p, 124);
	check_intervals(&a);
	cr_assert(memcmp(a.mean, b.mean, sizeof(a.mean)) == 0);
	cr_assert(memcmp(a.lo, b.lo, sizeof(a.lo)) == 0 && memcmp(a.hi, b.hi, sizeof(a.hi)) == 0,
	          "the same seed must give the same intervals");
	cr_assert(memcmp(a.mean, c.mean, sizeof(a.mean)) == 0, "the mean does not depend on it");
	cr_assert(memcmp(a.lo, c.lo, sizeof(a.lo)) != 0, "another seed gives other samples");
	/* future trend changes accumulate: the last step's 95% interval is clearly the widest */
	cr_assert(a.hi[2 * H - 1] - a.lo[2 * H - 1] > 1.5 * (a.hi[H] - a.lo[H]), "%g vs %g",
	          a.hi[2 * H - 1] - a.lo[2 * H - 1], a.hi[H] - a.lo[H]);
	forecast_prophet_cleanup(&m);
	gsl_rng_free(r);
}

Test(prophet, update_follows_a_level_shift_but_not_a_spike)
{
	enum {
		N = 24 * 30,
		MORE = 24 * 10
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	size_t per = 24;
	double y[N], before;
	struct forecast_prophet m;
	struct out o;

	gsl_rng_set(r, 3);
	for (size_t t = 0; t < N; t++)
		y[t] = 100 + 10 * sin(2 * M_PI * (double)t / 24) + gsl_ran_gaussian(r, 1.0);
	cr_assert(forecast_prophet_fit(y, N, &per, 1, &m));
	before = m.offset;
	forecast_prophet_update(&m, 100 + 10 * sin(2 * M_PI * N / 24) + 500);
	cr_assert(fabs(m.offset - before) < 0.2, "one spike moved the offset by %g",
	          m.offset - before);
	forecast_prophet_update(&m, NAN);
	cr_assert_eq(m.n, N + 1, "a NaN is ignored");
	for (size_t t = N + 1; t < N + MORE; t++)
		forecast_prophet_update(&m, 110 + 10 * sin(2 * M_PI * (double)t / 24) +
		                                    gsl_ran_gaussian(r, 1.0));
	cr_assert_eq(m.n, N + MORE);
	cr_assert_eq(m.n_fit, N);
	cr_assert(fabs(m.offset - 10) < 1.0, "offset %g after a shift of +10", m.offset);
	out_init(&o, 24);
	forecast_prophet_forecast(&m, &o.p, 1);
	check_intervals(&o);
	for (size_t i = 0; i < 24; i++) {
		double truth = 110 + 10 * sin(2 * M_PI * (double)(N + MORE + i) / 24);

		cr_assert(fabs(o.mean[i] - truth) < 1.5, "step %zu: %g, truth %g", i, o.mean[i],
		          truth);
	}
	forecast_prophet_cleanup(&m);
	gsl_rng_free(r);
}

static void check_flat(double v, size_t n)
{
	size_t per[2] = {24, 168};
	double y[500];
	struct forecast_prophet m;
	struct out o;

	for (size_t i = 0; i < n; i++)
		y[i] = v;
	cr_assert(forecast_prophet_fit(y, n, per, 2, &m), "flat %g of length %zu must fit", v, n);
	forecast_prophet_update(&m, v);
	out_init(&o, 48);
	forecast_prophet_forecast(&m, &o.p, 1);
	check_intervals(&o);
	for (size_t i = 0; i < 48; i++) {
		cr_assert(fabs(o.mean[i] - v) < 1e-6 * (1 + fabs(v)), "flat %g: step %zu gives %g",
		          v, i, o.mean[i]);
		cr_assert(o.hi[48 + i] - o.lo[48 + i] < 1e-6 * (1 + fabs(v)), "no uncertainty");
	}
	forecast_prophet_cleanup(&m);
	forecast_prophet_cleanup(&m); /* idempotent */
}

Test(prophet, constant_zero_and_short_series_fit_without_failing)
{
	check_flat(0, 500);
	check_flat(17.5, 500);
	check_flat(-3, 200);
	check_flat(4, 1);
	check_flat(4, 2);
	check_flat(0, 7);
}

Test(prophet, short_series_drop_the_periods_they_do_not_cover)
{
	size_t per[2] = {24, 168};
	double y[100];
	struct forecast_prophet m;
	struct out o;

	for (size_t t = 0; t < 100; t++)
		y[t] = 3 + 0.1 * (double)t + sin(2 * M_PI * (double)t / 24);
	cr_assert(forecast_prophet_fit(y, 20, per, 2, &m));
	cr_assert_eq(m.n_freq, 0, "20 steps cover neither period");
	out_init(&o, 10);
	forecast_prophet_forecast(&m, &o.p, 1);
	check_intervals(&o);
	forecast_prophet_cleanup(&m);
	cr_assert(forecast_prophet_fit(y, 100, per, 2, &m));
	cr_assert_eq(m.n_freq, 4, "100 steps keep the daily period only");
	forecast_prophet_forecast(&m, &o.p, 1);
	check_intervals(&o);
	for (size_t i = 0; i < 10; i++) {
		double truth = 3 + 0.1 * (double)(100 + i) + sin(2 * M_PI * (double)(100 + i) / 24);

		cr_assert(fabs(o.mean[i] - truth) < 0.05, "step %zu: %g, truth %g", i, o.mean[i],
		          truth);
	}
	forecast_prophet_cleanup(&m);
}

Test(prophet, intermittent_spiky_series_stays_sensible)
{
	enum {
		N = 500
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	size_t per = 24;
	double y[N];
	struct forecast_prophet m;
	struct out o;

	gsl_rng_set(r, 9);
	for (size_t t = 0; t < N; t++)
		y[t] = gsl_rng_uniform(r) < 0.05 ? 100 : 0;
	cr_assert(forecast_prophet_fit(y, N, &per, 1, &m));
	out_init(&o, 48);
	forecast_prophet_forecast(&m, &o.p, 1);
	check_intervals(&o);
	for (size_t i = 0; i < 48; i++) {
		cr_assert(fabs(o.mean[i]) < 5, "step %zu: %g; the spikes are not the level", i,
		          o.mean[i]);
		cr_assert(o.hi[48 + i] > 20, "the 95%% interval must leave room for spikes");
	}
	forecast_prophet_cleanup(&m);
	gsl_rng_free(r);
}

Test(prophet, levels_outside_the_unit_interval_give_zero_width)
{
	enum {
		N = 1000
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	const double odd[2] = {0, 1.5};
	size_t per = 24;
	double y[N], mean[4], lo[8], hi[8];
	struct forecast_pred p = {
	        .h = 4, .n_levels = 2, .levels = odd, .mean = mean, .lo = lo, .hi = hi};
	struct forecast_prophet m;

	gsl_rng_set(r, 11);
	for (size_t t = 0; t < N; t++)
		y[t] = kinked(r, t);
	cr_assert(forecast_prophet_fit(y, N, &per, 1, &m));
	forecast_prophet_forecast(&m, &p, 1);
	for (size_t i = 0; i < 8; i++) {
		cr_assert_eq(lo[i], mean[i % 4]);
		cr_assert_eq(hi[i], mean[i % 4]);
	}
	p.n_levels = 0;
	forecast_prophet_forecast(&m, &p, 1); /* means only */
	forecast_prophet_cleanup(&m);
	gsl_rng_free(r);
}

Test(prophet, refuses_bad_arguments)
{
	size_t per[2] = {24, 168}, zero = 0;
	double y[48];
	struct forecast_prophet m;

	for (size_t i = 0; i < 48; i++)
		y[i] = (double)(i % 24);
	cr_assert_not(forecast_prophet_fit(NULL, 48, per, 2, &m), "y NULL");
	cr_assert_null(m.freq, "a refused fit leaves nothing to free");
	cr_assert_null(m.coef);
	cr_assert_not(forecast_prophet_fit(y, 0, per, 2, &m), "n == 0");
	cr_assert_not(forecast_prophet_fit(y, 48, NULL, 2, &m), "periods NULL with n_periods 2");
	cr_assert_not(forecast_prophet_fit(y, 48, &zero, 1, &m), "a period of 0");
	y[7] = NAN;
	cr_assert_not(forecast_prophet_fit(y, 48, per, 2, &m), "NaN");
	y[7] = -INFINITY;
	cr_assert_not(forecast_prophet_fit(y, 48, per, 2, &m), "infinity");
	cr_assert_null(m.freq);
	y[7] = 7;
	cr_assert(forecast_prophet_fit(y, 48, NULL, 0, &m), "no periods at all is fine");
	cr_assert_eq(m.n_freq, 0);
	forecast_prophet_cleanup(&m);
	cr_assert(forecast_prophet_fit(y, 48, per, 2, &m));
	cr_assert_eq(m.n_freq, 4);
	forecast_prophet_cleanup(&m);
}
