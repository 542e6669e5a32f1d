/*
 * LSTM forecaster: backpropagation against finite differences, learning a sine with and without
 * a season, accuracy against seasonal naive and interval coverage on simulated seasonal series,
 * determinism per seed, the per-window update, extra input series, degenerate (constant, zero,
 * spiky, minimal-length) series and the failure paths of the fit.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/lstm.h"

#define M 24
#define H 48

static const double levels[2] = {0.80, 0.95};

/* A prediction over h steps at 80% and 95%, with its own arrays. */
struct pred {
	struct forecast_pred p;
	double mean[128];
	double lo[2 * 128];
	double hi[2 * 128];
};

static void pred_init(struct pred *q, size_t h)
{
	cr_assert(h <= 128);
	memset(q, 0, sizeof(*q));
	q->p.h = h;
	q->p.n_levels = 2;
	q->p.levels = levels;
	q->p.mean = q->mean;
	q->p.lo = q->lo;
	q->p.hi = q->hi;
}

/* Every value finite and, per step, lo95 <= lo80 <= mean <= hi80 <= hi95. */
static void check_pred(const struct pred *q)
{
	size_t h = q->p.h;

	for (size_t i = 0; i < h; i++) {
		cr_assert(isfinite(q->mean[i]) && isfinite(q->lo[i]) && isfinite(q->hi[i]) &&
		                  isfinite(q->lo[h + i]) && isfinite(q->hi[h + i]),
		          "step %zu not finite", i);
		cr_assert(q->lo[h + i] <= q->lo[i] && q->lo[i] <= q->mean[i] &&
		                  q->mean[i] <= q->hi[i] && q->hi[i] <= q->hi[h + i],
		          "step %zu: intervals not nested around the mean", i);
	}
}

/* Bitwise on purpose: determinism promises the same bits, not merely equal values. */
static bool same_bits(const double *a, const double *b, size_t n)
{
	/* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison): the bits are the claim */
	return memcmp(a, b, n * sizeof(double)) == 0;
}

/* y_t = base + slope*t + amp*sin(2 pi t / M) + N(0, sd^2) */
static void seasonal_series(gsl_rng *r, double *y, size_t n, double base, double slope, double amp,
                            double sd)
{
	for (size_t t = 0; t < n; t++)
		y[t] = base + slope * (double)t + amp * sin(2 * M_PI * (double)t / M) +
		       (sd > 0 ? gsl_ran_gaussian(r, sd) : 0);
}

/*
 * Compares forecast_lstm_window_grad with central differences of the loss for every stride-th
 * weight, at l's weights, on a random window and target.
 */
static void check_gradient(struct forecast_lstm *l, gsl_rng *r, size_t stride)
{
	size_t nx = l->window * l->n_in, nt = l->supervised * l->horizon, checked = 0;
	double *x = malloc(nx * sizeof(double)), *tgt = malloc(nt * sizeof(double));
	double *grad = malloc(l->n_params * sizeof(double));
	double *tmp = malloc(l->n_params * sizeof(double));
	double loss, diff2 = 0, sum2 = 0, gmax = 0;
	const double eps = 1e-5;

	cr_assert(x && tgt && grad && tmp);
	for (size_t i = 0; i < nx; i++)
		x[i] = 4.0 * gsl_rng_uniform(r) - 2.0;
	for (size_t i = 0; i < nt; i++)
		tgt[i] = 3.0 * gsl_rng_uniform(r) - 1.5;
	cr_assert(forecast_lstm_window_grad(l, x, tgt, &loss, grad));
	cr_assert(isfinite(loss) && loss > 0);
	for (size_t p = 0; p < l->n_params; p += stride) {
		double keep = l->theta[p], up, down, num;

		l->theta[p] = keep + eps;
		cr_assert(forecast_lstm_window_grad(l, x, tgt, &up, tmp));
		l->theta[p] = keep - eps;
		cr_assert(forecast_lstm_window_grad(l, x, tgt, &down, tmp));
		l->theta[p] = keep;
		num = (up - down) / (2 * eps);
		cr_assert(fabs(num - grad[p]) <= 1e-7 + 1e-5 * fabs(num),
		          "weight %zu of %zu: backprop %.10g, finite difference %.10g", p,
		          l->n_params, grad[p], num);
		diff2 += (num - grad[p]) * (num - grad[p]);
		sum2 += num * num;
		gmax = fmax(gmax, fabs(grad[p]));
		checked++;
	}
	cr_assert(sqrt(diff2) <= 1e-6 * sqrt(sum2), "relative gradient error %.3g over %zu weights",
	          sqrt(diff2 / sum2), checked);
	cr_assert(gmax > 1e-3, "a vanishing gradient would make the check vacuous");
	free(x);
	free(tgt);
	free(grad);
	free(tmp);
}

Test(lstm, backprop_matches_finite_differences)
{
	enum {
		N = 300
	};
	struct forecast_lstm_config cfg = forecast_lstm_config_default(1);
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double y[N], x[N];
	const double *aux[1] = {x};
	struct forecast_lstm l;

	gsl_rng_set(r, 1);
	for (int t = 0; t < N; t++) {
		y[t] = sin(0.3 * t) + gsl_ran_gaussian(r, 0.2);
		x[t] = cos(0.2 * t) + gsl_ran_gaussian(r, 0.2);
	}
	/* a small net with an extra series: every weight, at the initial and at trained values */
	cfg.hidden = 5;
	cfg.window = 7;
	cfg.supervised = 3;
	cfg.horizon = 4;
	cfg.n_aux = 1;
	cfg.budget = 0;
	cr_assert(forecast_lstm_fit_with(y, N, 1, aux, &cfg, 3, &l));
	check_gradient(&l, r, 1);
	forecast_lstm_cleanup(&l);
	cfg.budget = 60;
	cr_assert(forecast_lstm_fit_with(y, N, 1, aux, &cfg, 3, &l));
	check_gradient(&l, r, 1);
	forecast_lstm_cleanup(&l);

	/* the default shape (16 units, 48 steps, 24 supervised, 48 outputs), every 7th weight */
	cr_assert(forecast_lstm_fit(y, N, 1, 5, &l));
	cr_assert_eq(l.hidden, 16);
	cr_assert_eq(l.n_params, 4 * 16 * (2 + 16 + 1) + 48 * (16 + 1));
	check_gradient(&l, r, 7);
	forecast_lstm_cleanup(&l);
	gsl_rng_free(r);
}

Test(lstm, learns_a_pure_sine_with_and_without_the_season)
{
	enum {
		N = 600
	};
	double y[N + H];
	struct forecast_lstm l;
	struct pred q;

	for (int t = 0; t < N + H; t++)
		y[t] = 10 + 5 * sin(2 * M_PI * t / M);
	pred_init(&q, H);

	/* no season given: the net itself must learn the oscillation (naive errs up to 10) */
	cr_assert(forecast_lstm_fit(y, N, 1, 1, &l));
	forecast_lstm_forecast(&l, &q.p);
	check_pred(&q);
	for (int i = 0; i < H; i++)
		cr_assert(fabs(q.mean[i] - y[N + i]) < 0.5, "m=1 step %d: %g vs %g", i, q.mean[i],
		          y[N + i]);
	cr_assert(q.hi[H + H - 1] - q.lo[H + H - 1] < 2.0, "a learnt sine is not uncertain");
	forecast_lstm_cleanup(&l);

	/* with the season, seasonal naive is exact and the net must learn to add nothing */
	cr_assert(forecast_lstm_fit(y, N, M, 1, &l));
	forecast_lstm_forecast(&l, &q.p);
	check_pred(&q);
	for (int i = 0; i < H; i++)
		cr_assert(fabs(q.mean[i] - y[N + i]) < 0.02, "m=24 step %d: %g vs %g", i, q.mean[i],
		          y[N + i]);
	forecast_lstm_cleanup(&l);
}

/*
 * Fits REPS series from gen (N points, then H to forecast) with cfg and returns the MAE over
 * all forecasts divided by seasonal naive's; checks the intervals' shape and counts coverage.
 */
static double accuracy_and_coverage(void (*gen)(gsl_rng *, double *, size_t),
                                    const struct forecast_lstm_config *cfg, double *cov80,
                                    double *cov95)
{
	enum {
		N = 1000,
		REPS = 6
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double y[N + H], err = 0, err_sn = 0;
	int in95 = 0, in80 = 0, total = 0;
	struct pred q;

	gsl_rng_set(r, 42);
	pred_init(&q, H);
	for (int rep = 0; rep < REPS; rep++) {
		struct forecast_lstm l;

		gen(r, y, N + H);
		cr_assert(forecast_lstm_fit_with(y, N, M, NULL, cfg, (unsigned long)rep, &l));
		cr_assert_not(l.var_in_sample, "1000 points leave a held-out tail");
		forecast_lstm_forecast(&l, &q.p);
		check_pred(&q);
		for (int i = 0; i < H; i++) {
			if (i > 0)
				cr_assert(q.hi[H + i] - q.lo[H + i] >=
				          q.hi[H + i - 1] - q.lo[H + i - 1] - 1e-9);
			err += fabs(y[N + i] - q.mean[i]);
			err_sn += fabs(y[N + i] - y[N - M + i % M]);
			in95 += y[N + i] >= q.lo[H + i] && y[N + i] <= q.hi[H + i];
			in80 += y[N + i] >= q.lo[i] && y[N + i] <= q.hi[i];
			total++;
		}
		forecast_lstm_cleanup(&l);
	}
	gsl_rng_free(r);
	*cov80 = (double)in80 / total;
	*cov95 = (double)in95 / total;
	return err / err_sn;
}

/* A daily cycle whose amplitude drifts over a week, on a slow trend, with noise sd 3. */
static void drifting_season(gsl_rng *r, double *y, size_t n)
{
	for (size_t t = 0; t < n; t++)
		y[t] = 100 + 0.02 * (double)t + 20 * sin(2 * M_PI * (double)t / M) +
		       8 * sin(2 * M_PI * (double)t / (7 * M)) + gsl_ran_gaussian(r, 3);
}

/* A fixed daily cycle buried in noise of sd 5. */
static void noisy_season(gsl_rng *r, double *y, size_t n)
{
	seasonal_series(r, y, n, 50, 0, 10, 5);
}

Test(lstm, beats_seasonal_naive_with_calibrated_intervals)
{
	struct forecast_lstm_config cfg = forecast_lstm_config_default(M);
	double rel, c80, c95;

	/* the net follows the drift that seasonal naive lags behind */
	rel = accuracy_and_coverage(drifting_season, &cfg, &c80, &c95);
	cr_assert(rel < 0.7, "drifting season: MAE %.3f of seasonal naive's", rel);
	cr_assert(c95 > 0.85 && c95 < 0.995, "95%% coverage %.3f", c95);
	cr_assert(c80 > 0.65 && c80 < 0.93, "80%% coverage %.3f", c80);

	/* on pure noise around a fixed cycle, a base averaging three seasons removes most of
	 * seasonal naive's noise (error sd 5*sqrt(4/3) instead of 5*sqrt(2)) */
	cfg.base_seasons = 3;
	rel = accuracy_and_coverage(noisy_season, &cfg, &c80, &c95);
	cr_assert(rel < 0.9, "noisy season: MAE %.3f of seasonal naive's", rel);
	cr_assert(c95 > 0.85 && c95 < 0.995, "95%% coverage %.3f", c95);
	cr_assert(c80 > 0.65 && c80 < 0.93, "80%% coverage %.3f", c80);
}

Test(lstm, same_seed_same_bits_other_seed_differs)
{
	enum {
		N = 400
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double y[N];
	struct forecast_lstm a, b, c;
	struct pred qa, qb, qc;

	gsl_rng_set(r, 9);
	seasonal_series(r, y, N, 50, 0.05, 10, 2);
	cr_assert(forecast_lstm_fit(y, N, M, 11, &a));
	cr_assert(forecast_lstm_fit(y, N, M, 11, &b));
	cr_assert(forecast_lstm_fit(y, N, M, 12, &c));
	pred_init(&qa, H);
	pred_init(&qb, H);
	pred_init(&qc, H);
	forecast_lstm_forecast(&a, &qa.p);
	forecast_lstm_forecast(&b, &qb.p);
	forecast_lstm_forecast(&c, &qc.p);
	cr_assert(same_bits(a.theta, b.theta, a.n_params));
	cr_assert(same_bits(qa.mean, qb.mean, H), "same seed: same forecast bits");
	cr_assert(same_bits(qa.lo, qb.lo, (size_t)2 * H));
	cr_assert(same_bits(qa.hi, qb.hi, (size_t)2 * H));
	cr_assert_eq(a.train_loss, b.train_loss);
	cr_assert_not(same_bits(a.theta, c.theta, a.n_params));
	cr_assert_not(same_bits(qa.mean, qc.mean, H), "another seed differs");
	forecast_lstm_cleanup(&a);
	forecast_lstm_cleanup(&b);
	forecast_lstm_cleanup(&c);
	gsl_rng_free(r);
}

Test(lstm, update_moves_the_window_without_retraining)
{
	enum {
		N = 480,
		MORE = 3 * M,
		LONG = 100
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double y[N + MORE], *theta, before, after;
	struct forecast_lstm l;
	struct pred q, q2;

	gsl_rng_set(r, 3);
	seasonal_series(r, y, N + MORE, 100, 0, 20, 1);
	/* the load steps up by 60 (three amplitudes) just after the fit */
	for (int t = N; t < N + MORE; t++)
		y[t] += 60;
	cr_assert(forecast_lstm_fit(y, N, M, 4, &l));
	theta = malloc(l.n_params * sizeof(double));
	cr_assert(theta);
	memcpy(theta, l.theta, l.n_params * sizeof(double));
	pred_init(&q, H);
	forecast_lstm_forecast(&l, &q.p);
	before = q.mean[0];
	for (int t = N; t < N + MORE; t++)
		forecast_lstm_update(&l, y[t]);
	cr_assert_eq(l.n_seen, N + MORE);
	cr_assert(same_bits(theta, l.theta, l.n_params), "no retraining");
	forecast_lstm_forecast(&l, &q.p);
	after = q.mean[0];
	check_pred(&q);
	cr_assert(after - before > 40, "the step up reaches the forecast: %g -> %g", before, after);
	for (int i = 0; i < M; i++)
		cr_assert(fabs(q.mean[i] - (y[N + MORE - M + i])) < 8, "step %d: %g vs %g", i,
		          q.mean[i], y[N + MORE - M + i]);

	/* a non-finite observation is ignored */
	forecast_lstm_update(&l, NAN);
	forecast_lstm_update(&l, INFINITY);
	cr_assert_eq(l.n_seen, N + MORE);
	pred_init(&q2, H);
	forecast_lstm_forecast(&l, &q2.p);
	cr_assert(same_bits(q.mean, q2.mean, H));

	/* beyond the head's 48 steps the last forecast season repeats and intervals keep widening */
	pred_init(&q2, LONG);
	forecast_lstm_forecast(&l, &q2.p);
	check_pred(&q2);
	cr_assert(same_bits(q.mean, q2.mean, H));
	for (int i = H; i < LONG; i++) {
		cr_assert_eq(q2.mean[i], q2.mean[i - M]);
		cr_assert(q2.hi[LONG + i] - q2.lo[LONG + i] >
		          q2.hi[LONG + i - 1] - q2.lo[LONG + i - 1]);
	}
	free(theta);
	forecast_lstm_cleanup(&l);
	gsl_rng_free(r);
}

Test(lstm, extra_series_inform_the_forecast)
{
	enum {
		N = 800,
		AHEAD = 200
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	static double x[N + AHEAD], z[N + AHEAD];
	const double *aux[1] = {x};
	double mae[2] = {0, 0};
	struct forecast_lstm_config cfg = forecast_lstm_config_default(1);
	struct forecast_lstm l, a, b;
	struct pred q, qa, qb;

	/* z follows x with a lag of one step: x's last value is z's next one */
	gsl_rng_set(r, 5);
	x[0] = 0;
	for (int t = 1; t < N + AHEAD; t++)
		x[t] = 0.8 * x[t - 1] + gsl_ran_gaussian(r, 1);
	z[0] = 0;
	for (int t = 1; t < N + AHEAD; t++)
		z[t] = x[t - 1] + gsl_ran_gaussian(r, 0.1);
	cfg.horizon = 4;
	pred_init(&q, 1);
	for (size_t use = 0; use < 2; use++) {
		cfg.n_aux = use;
		cr_assert(forecast_lstm_fit_with(z, N, 1, use ? aux : NULL, &cfg, 1, &l));
		for (int t = N; t < N + AHEAD; t++) {
			forecast_lstm_forecast(&l, &q.p);
			check_pred(&q);
			mae[use] += fabs(q.mean[0] - z[t]) / AHEAD;
			forecast_lstm_update_aux(&l, z[t], &x[t]);
		}
		forecast_lstm_cleanup(&l);
	}
	/* alone, z is an AR(1) with innovation sd 1 (MAE ~0.8); with x it is nearly known */
	cr_assert(mae[0] > 0.6, "without the extra series %.3f", mae[0]);
	cr_assert(mae[1] < 0.5 * mae[0], "with the extra series %.3f, without %.3f", mae[1],
	          mae[0]);

	/* update without extra values repeats the last ones, as giving them explicitly does */
	cfg.n_aux = 1;
	cfg.budget = 16;
	cr_assert(forecast_lstm_fit_with(z, N, 1, aux, &cfg, 2, &a));
	cr_assert(forecast_lstm_fit_with(z, N, 1, aux, &cfg, 2, &b));
	forecast_lstm_update(&a, z[N]);
	forecast_lstm_update_aux(&b, z[N], &x[N - 1]);
	pred_init(&qa, 4);
	pred_init(&qb, 4);
	forecast_lstm_forecast(&a, &qa.p);
	forecast_lstm_forecast(&b, &qb.p);
	cr_assert(same_bits(qa.mean, qb.mean, 4));
	forecast_lstm_cleanup(&a);
	forecast_lstm_cleanup(&b);
	gsl_rng_free(r);
}

static void check_flat(double v)
{
	enum {
		N = 300
	};
	double y[N];
	struct forecast_lstm l;
	struct pred q;

	for (int i = 0; i < N; i++)
		y[i] = v;
	cr_assert(forecast_lstm_fit(y, N, M, 1, &l), "flat series %g must fit", v);
	forecast_lstm_update(&l, v);
	pred_init(&q, H);
	forecast_lstm_forecast(&l, &q.p);
	check_pred(&q);
	for (int i = 0; i < H; i++) {
		cr_assert(fabs(q.mean[i] - v) <= 1e-6 * (1 + fabs(v)), "flat %g: step %d gives %g",
		          v, i, q.mean[i]);
		cr_assert(q.hi[H + i] - q.lo[H + i] <= 1e-6 * (1 + fabs(v)),
		          "flat: no uncertainty");
	}
	forecast_lstm_cleanup(&l);
	forecast_lstm_cleanup(&l); /* idempotent */
}

Test(lstm, constant_and_zero_series_forecast_themselves)
{
	check_flat(0);
	check_flat(17.5);
	check_flat(-3);
}

Test(lstm, spiky_series_stay_finite)
{
	enum {
		N = 400
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double y[N];
	struct forecast_lstm l;
	struct pred q;

	gsl_rng_set(r, 8);
	pred_init(&q, H);
	/* mostly zero load with rare huge bursts */
	for (int t = 0; t < N; t++)
		y[t] = t % 37 == 5 ? 1e6 : 0;
	cr_assert(forecast_lstm_fit(y, N, M, 1, &l));
	forecast_lstm_forecast(&l, &q.p);
	check_pred(&q);
	forecast_lstm_update(&l, 1e9);
	forecast_lstm_update(&l, -1e9);
	forecast_lstm_forecast(&l, &q.p);
	check_pred(&q);
	forecast_lstm_cleanup(&l);
	/* heavy-tailed noise on a large level */
	for (int t = 0; t < N; t++)
		y[t] = 1e12 + 1e10 * gsl_ran_cauchy(r, 1.0);
	cr_assert(forecast_lstm_fit(y, N, M, 1, &l));
	forecast_lstm_forecast(&l, &q.p);
	check_pred(&q);
	forecast_lstm_cleanup(&l);
	gsl_rng_free(r);
}

Test(lstm, minimal_length_fits_one_shorter_is_refused)
{
	/* default for m = 24: max(48, 24 + 24 - 1) + 48 = 96 points */
	double y[120];
	struct forecast_lstm l;
	struct pred q;

	for (int t = 0; t < 120; t++)
		y[t] = 5 + 3 * sin(2 * M_PI * t / M) + 0.1 * (t % 7);
	cr_assert_not(forecast_lstm_fit(y, 95, M, 1, &l));
	cr_assert_eq(l.status, FORECAST_LSTM_TOO_SHORT);
	cr_assert_str_eq(forecast_lstm_status_str(l.status), "too_short");
	cr_assert_null(l.mem, "a refused fit leaves nothing to free");
	cr_assert(forecast_lstm_fit(y, 96, M, 1, &l));
	cr_assert_eq(l.status, FORECAST_LSTM_OK);
	cr_assert(l.var_in_sample, "no room for a held-out tail");
	pred_init(&q, H);
	forecast_lstm_forecast(&l, &q.p);
	check_pred(&q);
	forecast_lstm_cleanup(&l);
	/* a long season needs a longer series: max(48, 168 + 23) + 168 */
	cr_assert_not(forecast_lstm_fit(y, 120, 168, 1, &l));
	cr_assert_eq(l.status, FORECAST_LSTM_TOO_SHORT);
}

Test(lstm, refuses_bad_arguments)
{
	enum {
		N = 200
	};
	double y[N];
	const double *no_aux[1] = {NULL};
	struct forecast_lstm_config cfg = forecast_lstm_config_default(M), bad;
	struct forecast_lstm l;
	struct pred q;

	for (int t = 0; t < N; t++)
		y[t] = t % M;
	cr_assert_not(forecast_lstm_fit(NULL, N, M, 1, &l));
	cr_assert_eq(l.status, FORECAST_LSTM_BAD_ARGS);
	cr_assert_not(forecast_lstm_fit(y, N, M, 1, NULL));
	cr_assert_not(forecast_lstm_fit(y, N, 0, 1, &l), "season 0 must be refused");
	cr_assert_eq(l.status, FORECAST_LSTM_BAD_ARGS);
	cr_assert_not(forecast_lstm_fit(y, 0, M, 1, &l));
	cr_assert_eq(l.status, FORECAST_LSTM_TOO_SHORT);
	y[50] = NAN;
	cr_assert_not(forecast_lstm_fit(y, N, M, 1, &l));
	cr_assert_eq(l.status, FORECAST_LSTM_NON_FINITE);
	y[50] = -INFINITY;
	cr_assert_not(forecast_lstm_fit(y, N, M, 1, &l));
	cr_assert_eq(l.status, FORECAST_LSTM_NON_FINITE);
	cr_assert_str_eq(forecast_lstm_status_str(l.status), "non_finite");
	cr_assert_null(l.mem);
	y[50] = 2;
	/* values so large that their sum overflows cannot be standardised */
	for (int t = 0; t < N; t++)
		y[t] = t % 2 ? 1e308 : -1e308;
	cr_assert_not(forecast_lstm_fit(y, N, M, 1, &l));
	cr_assert_eq(l.status, FORECAST_LSTM_NON_FINITE);
	for (int t = 0; t < N; t++)
		y[t] = t % M;

	bad = cfg;
	bad.hidden = 0;
	cr_assert_not(forecast_lstm_fit_with(y, N, M, NULL, &bad, 1, &l));
	bad.hidden = FORECAST_LSTM_MAX_HIDDEN + 1;
	cr_assert_not(forecast_lstm_fit_with(y, N, M, NULL, &bad, 1, &l));
	bad = cfg;
	bad.window = 1;
	cr_assert_not(forecast_lstm_fit_with(y, N, M, NULL, &bad, 1, &l));
	bad = cfg;
	bad.supervised = cfg.window + 1;
	cr_assert_not(forecast_lstm_fit_with(y, N, M, NULL, &bad, 1, &l));
	bad.supervised = 0;
	cr_assert_not(forecast_lstm_fit_with(y, N, M, NULL, &bad, 1, &l));
	bad = cfg;
	bad.horizon = 0;
	cr_assert_not(forecast_lstm_fit_with(y, N, M, NULL, &bad, 1, &l));
	bad = cfg;
	bad.batch = 0;
	cr_assert_not(forecast_lstm_fit_with(y, N, M, NULL, &bad, 1, &l));
	bad = cfg;
	bad.lr = NAN;
	cr_assert_not(forecast_lstm_fit_with(y, N, M, NULL, &bad, 1, &l));
	bad.lr = 0;
	cr_assert_not(forecast_lstm_fit_with(y, N, M, NULL, &bad, 1, &l));
	bad = cfg;
	bad.n_aux = 1;
	cr_assert_not(forecast_lstm_fit_with(y, N, M, NULL, &bad, 1, &l), "aux array missing");
	cr_assert_not(forecast_lstm_fit_with(y, N, M, no_aux, &bad, 1, &l), "aux series missing");
	bad.n_aux = FORECAST_LSTM_MAX_AUX + 1;
	cr_assert_not(forecast_lstm_fit_with(y, N, M, no_aux, &bad, 1, &l));
	cr_assert_eq(l.status, FORECAST_LSTM_BAD_ARGS);
	cr_assert_str_eq(forecast_lstm_status_str(l.status), "bad_args");
	cr_assert_not(forecast_lstm_fit_with(y, N, M, NULL, NULL, 1, &l));
	cr_assert_null(l.mem);

	/* a refused model forecasts zeros and ignores updates */
	forecast_lstm_update(&l, 5);
	cr_assert_eq(l.n_seen, 0);
	pred_init(&q, 4);
	q.mean[0] = q.lo[0] = q.hi[7] = 42;
	forecast_lstm_forecast(&l, &q.p);
	for (int i = 0; i < 4; i++)
		cr_assert(q.mean[i] == 0 && q.lo[i] == 0 && q.hi[4 + i] == 0);
	forecast_lstm_cleanup(&l);
}
