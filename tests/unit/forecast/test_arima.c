/*
 * ARIMA: agreement with R (stats::arima / forecast::Arima coefficients, sigma2, log-likelihood
 * and 95% forecasts on four textbook series; auto.arima's chosen order on five), interval
 * coverage on simulated processes, the per-observation update, degenerate series (constant,
 * short, level shift, spiky, exact seasonal and trending) and the failure paths.
 *
 * Tolerances against R: ARMA coefficients within 1e-2 absolute, the constant within 1e-2
 * relative, sigma2 within 1% relative, the log-likelihood within 0.05, forecasts and interval
 * bounds within 1% of max(|R's value|, R's interval half-width).
 */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

#include "forecast/arima.h"
#include "fixtures/arima_ref.h"

#define H 10

/* The forecast thread turns GSL's abort-on-error handler off; so do the tests. */
static void gsl_quiet(void)
{
	gsl_set_error_handler_off();
}

TestSuite(arima, .init = gsl_quiet);
#define NSERIES(a) (sizeof(a) / sizeof((a)[0]))

/* A struct forecast_pred over caller arrays, with 80% and 95% intervals. */
struct pred_buf {
	double levels[2];
	double mean[64];
	double lo[128];
	double hi[128];
	struct forecast_pred p;
};

static void pred_init(struct pred_buf *b, size_t h)
{
	cr_assert(h <= 64);
	b->levels[0] = 0.80;
	b->levels[1] = 0.95;
	b->p = (struct forecast_pred){.h = h,
	                              .n_levels = 2,
	                              .levels = b->levels,
	                              .mean = b->mean,
	                              .lo = b->lo,
	                              .hi = b->hi};
}

/* Finite forecasts, 80% inside 95%, and intervals that never narrow with the horizon. */
static void check_pred(const struct pred_buf *b)
{
	size_t h = b->p.h;

	for (size_t i = 0; i < h; i++) {
		cr_assert(isfinite(b->mean[i]) && isfinite(b->lo[h + i]) && isfinite(b->hi[h + i]),
		          "step %zu not finite", i);
		cr_assert(b->lo[h + i] <= b->lo[i] && b->lo[i] <= b->mean[i] &&
		                  b->mean[i] <= b->hi[i] && b->hi[i] <= b->hi[h + i],
		          "step %zu intervals out of order", i);
		if (i > 0)
			cr_assert(b->hi[h + i] - b->lo[h + i] >=
			                  b->hi[h + i - 1] - b->lo[h + i - 1] - 1e-9,
			          "interval narrows at step %zu", i);
	}
}

static void check_close(double got, double want, double tol, const char *what, size_t i)
{
	cr_assert(fabs(got - want) <= tol, "%s[%zu]: %.8g, R %.8g (tol %.3g)", what, i, got, want,
	          tol);
}

/* One fixed-order fixture: coefficients, sigma2, loglik and the 95% forecasts against R. */
static void check_fixture(const double *y, size_t n, struct forecast_arima_order o,
                          const double *coef, double sigma2, double loglik, const double *mean,
                          const double *lo95, const double *hi95)
{
	struct forecast_arima a;
	struct pred_buf b;
	size_t k = o.p + o.q + o.P + o.Q;

	cr_assert(forecast_arima_fit(y, n, &o, &a));
	for (size_t i = 0; i < k; i++)
		check_close(a.coef[i], coef[i], 1e-2, "coef", i);
	if (o.constant)
		check_close(a.constant, coef[k], 1e-2 * fabs(coef[k]), "constant", 0);
	check_close(a.sigma2, sigma2, 1e-2 * sigma2, "sigma2", 0);
	check_close(a.loglik, loglik, 0.05, "loglik", 0);
	pred_init(&b, H);
	forecast_arima_forecast(&a, &b.p);
	check_pred(&b);
	for (size_t i = 0; i < H; i++) {
		double tol = 1e-2 * fmax(fabs(mean[i]), (hi95[i] - lo95[i]) / 2);

		check_close(b.mean[i], mean[i], tol, "mean", i);
		check_close(b.lo[H + i], lo95[i], tol, "lo95", i);
		check_close(b.hi[H + i], hi95[i], tol, "hi95", i);
	}
	forecast_arima_cleanup(&a);
}

Test(arima, lynx_ar2_with_mean_matches_r)
{
	check_fixture(ds_lynx, NSERIES(ds_lynx),
	              (struct forecast_arima_order){.p = 2, .m = 1, .constant = true},
	              arima_ref_lynx_coef, arima_ref_lynx_sigma2, arima_ref_lynx_loglik,
	              arima_ref_lynx_mean, arima_ref_lynx_lo95, arima_ref_lynx_hi95);
}

Test(arima, wwwusage_arima111_matches_r)
{
	check_fixture(ds_wwwusage, NSERIES(ds_wwwusage),
	              (struct forecast_arima_order){.p = 1, .d = 1, .q = 1, .m = 1},
	              arima_ref_wwwusage_coef, arima_ref_wwwusage_sigma2, arima_ref_wwwusage_loglik,
	              arima_ref_wwwusage_mean, arima_ref_wwwusage_lo95, arima_ref_wwwusage_hi95);
}

Test(arima, log_airpassengers_airline_model_matches_r)
{
	check_fixture(arima_ref_logair, NSERIES(arima_ref_logair),
	              (struct forecast_arima_order){.d = 1, .q = 1, .D = 1, .Q = 1, .m = 12},
	              arima_ref_logair_coef, arima_ref_logair_sigma2, arima_ref_logair_loglik,
	              arima_ref_logair_mean, arima_ref_logair_lo95, arima_ref_logair_hi95);
}

Test(arima, nile_arima111_with_drift_matches_r)
{
	check_fixture(
	        ds_nile, NSERIES(ds_nile),
	        (struct forecast_arima_order){.p = 1, .d = 1, .q = 1, .m = 1, .constant = true},
	        arima_ref_nile_coef, arima_ref_nile_sigma2, arima_ref_nile_loglik,
	        arima_ref_nile_mean, arima_ref_nile_lo95, arima_ref_nile_hi95);
}

static void check_auto(const double *y, size_t n, size_t m, const int *ref, double ref_aicc)
{
	struct forecast_arima a;
	char name[80];

	cr_assert(forecast_arima_auto(y, n, m, &a));
	forecast_arima_name(&a, name, sizeof(name));
	cr_assert((int)a.order.p == ref[0] && (int)a.order.d == ref[1] &&
	                  (int)a.order.q == ref[2] && (int)a.order.P == ref[3] &&
	                  (int)a.order.D == ref[4] && (int)a.order.Q == ref[5] &&
	                  (int)a.order.constant == ref[7],
	          "chose %s (AICc %.4f); R chose (%d,%d,%d)(%d,%d,%d)[%d] constant %d (AICc %.4f)",
	          name, forecast_arima_aicc(&a), ref[0], ref[1], ref[2], ref[3], ref[4], ref[5],
	          ref[6], ref[7], ref_aicc);
	cr_assert(ref[3] + ref[4] + ref[5] == 0 || a.order.m == (size_t)ref[6]);
	check_close(forecast_arima_aicc(&a), ref_aicc, 0.05, "aicc", 0);
	forecast_arima_cleanup(&a);
}

Test(arima, auto_chooses_r_orders)
{
	check_auto(ds_wwwusage, NSERIES(ds_wwwusage), 1, arima_ref_wwwusage_auto,
	           arima_ref_wwwusage_auto_aicc);
	check_auto(ds_lynx, NSERIES(ds_lynx), 1, arima_ref_lynx_auto, arima_ref_lynx_auto_aicc);
	check_auto(ds_nile, NSERIES(ds_nile), 1, arima_ref_nile_auto, arima_ref_nile_auto_aicc);
	check_auto(ds_airpassengers, NSERIES(ds_airpassengers), 12, arima_ref_air_auto,
	           arima_ref_air_auto_aicc);
	check_auto(ds_usaccdeaths, NSERIES(ds_usaccdeaths), 12, arima_ref_usaccdeaths_auto,
	           arima_ref_usaccdeaths_auto_aicc);
}

/* y_t = c + phi (y_{t-1} - c) + e_t + theta e_{t-1}, after a burn-in. */
static void sim_arma11(gsl_rng *r, double *y, size_t n, double c, double phi, double theta)
{
	double prev = 0, eprev = 0;

	for (size_t t = 0; t < n + 100; t++) {
		double e = gsl_ran_gaussian(r, 1.0), x = phi * prev + e + theta * eprev;

		if (t >= 100)
			y[t - 100] = c + x;
		prev = x;
		eprev = e;
	}
}

Test(arima, interval_coverage_matches_nominal_for_arma11)
{
	enum {
		N = 150,
		REPS = 200
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	struct forecast_arima_order o = {.p = 1, .q = 1, .m = 1, .constant = true};
	double y[N + H];
	int in80 = 0, in95 = 0, total = 0;

	gsl_rng_set(r, 11);
	for (int rep = 0; rep < REPS; rep++) {
		struct forecast_arima a;
		struct pred_buf b;

		sim_arma11(r, y, N + H, 20, 0.7, 0.4);
		cr_assert(forecast_arima_fit(y, N, &o, &a));
		pred_init(&b, H);
		forecast_arima_forecast(&a, &b.p);
		check_pred(&b);
		for (int i = 0; i < H; i++) {
			in80 += y[N + i] >= b.lo[i] && y[N + i] <= b.hi[i];
			in95 += y[N + i] >= b.lo[H + i] && y[N + i] <= b.hi[H + i];
			total++;
		}
		forecast_arima_cleanup(&a);
	}
	cr_assert((double)in95 / total > 0.90 && (double)in95 / total < 0.99, "95%% coverage %.3f",
	          (double)in95 / total);
	cr_assert((double)in80 / total > 0.72 && (double)in80 / total < 0.88, "80%% coverage %.3f",
	          (double)in80 / total);
	gsl_rng_free(r);
}

/* The airline model (1-B)(1-B^m) y_t = (1 + th B)(1 + Th B^m) e_t. */
static void sim_airline(gsl_rng *r, double *y, size_t n, size_t m, double th, double Th)
{
	double e[600];

	cr_assert(n <= 600 && n > m + 1);
	for (size_t t = 0; t < n; t++) {
		double x = e[t] = gsl_ran_gaussian(r, 1.0);

		if (t >= 1)
			x += th * e[t - 1];
		if (t >= m)
			x += Th * e[t - m];
		if (t >= m + 1)
			x += th * Th * e[t - m - 1];
		y[t] = x + (t >= 1 ? y[t - 1] : 100) + (t >= m ? y[t - m] : 0) -
		       (t >= m + 1 ? y[t - m - 1] : 0);
	}
}

Test(arima, seasonal_interval_coverage_and_estimates)
{
	enum {
		M = 12,
		N = 120,
		REPS = 60
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	struct forecast_arima_order o = {.d = 1, .q = 1, .D = 1, .Q = 1, .m = M};
	double y[N + H], ma = 0, sma = 0;
	int in95 = 0, total = 0;

	gsl_rng_set(r, 5);
	for (int rep = 0; rep < REPS; rep++) {
		struct forecast_arima a;
		struct pred_buf b;

		sim_airline(r, y, N + H, M, -0.4, -0.6);
		cr_assert(forecast_arima_fit(y, N, &o, &a));
		ma += a.coef[0] / REPS;
		sma += a.coef[1] / REPS;
		pred_init(&b, H);
		forecast_arima_forecast(&a, &b.p);
		check_pred(&b);
		for (int i = 0; i < H; i++) {
			in95 += y[N + i] >= b.lo[H + i] && y[N + i] <= b.hi[H + i];
			total++;
		}
		forecast_arima_cleanup(&a);
	}
	cr_assert(fabs(ma + 0.4) < 0.1, "mean ma1 %.3f, true -0.4", ma);
	cr_assert(fabs(sma + 0.6) < 0.15, "mean sma1 %.3f, true -0.6", sma);
	cr_assert((double)in95 / total > 0.88 && (double)in95 / total < 0.99, "95%% coverage %.3f",
	          (double)in95 / total);
	gsl_rng_free(r);
}

Test(arima, auto_on_simulated_seasonal_series_beats_seasonal_naive)
{
	enum {
		M = 24,
		N = 20 * M,
		HS = M,
		REPS = 3
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double y[N + HS], err = 0, err_sn = 0;

	gsl_rng_set(r, 8);
	for (int rep = 0; rep < REPS; rep++) {
		struct forecast_arima a;
		struct pred_buf b;

		for (size_t t = 0; t < N + HS; t++)
			y[t] = 100 + 0.05 * (double)t + 20 * sin(2 * M_PI * (double)t / M) +
			       gsl_ran_gaussian(r, 2.0);
		cr_assert(forecast_arima_auto(y, N, M, &a));
		cr_assert(a.order.m == M && a.order.D == 1, "the seasonal difference is taken");
		pred_init(&b, HS);
		forecast_arima_forecast(&a, &b.p);
		check_pred(&b);
		for (int i = 0; i < HS; i++) {
			err += fabs(y[N + i] - b.mean[i]) / (REPS * HS);
			err_sn += fabs(y[N + i] - y[N - M + i]) / (REPS * HS);
		}
		forecast_arima_cleanup(&a);
	}
	/* noise sd 2: seasonal naive's MAE is about 2.26, a perfect model's 1.6 */
	cr_assert(err < 0.95 * err_sn && err < 2.3, "ARIMA MAE %.3f vs seasonal naive %.3f", err,
	          err_sn);
	gsl_rng_free(r);
}

Test(arima, update_is_the_ar_recursion_and_tracks_arma)
{
	enum {
		N = 600,
		FIT = 300
	};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	struct forecast_arima_order ar2 = {.p = 2, .m = 1, .constant = true};
	struct forecast_arima_order arma = {.p = 1, .q = 1, .m = 1, .constant = true};
	struct forecast_arima a;
	struct pred_buf b;
	double y[N], sse = 0, c;

	gsl_rng_set(r, 21);
	/* for a pure AR the update is exact: the next forecast is the AR recursion */
	cr_assert(forecast_arima_fit(ds_lynx, 100, &ar2, &a));
	for (size_t t = 100; t < NSERIES(ds_lynx); t++)
		forecast_arima_update(&a, ds_lynx[t]);
	forecast_arima_update(&a, NAN); /* ignored */
	cr_assert(a.n == NSERIES(ds_lynx));
	pred_init(&b, 1);
	forecast_arima_forecast(&a, &b.p);
	c = a.constant;
	check_close(b.mean[0], c + a.coef[0] * (ds_lynx[113] - c) + a.coef[1] * (ds_lynx[112] - c),
	            1e-6 * fabs(c), "ar recursion", 0);
	forecast_arima_cleanup(&a);

	/* with an MA part the frozen gain keeps one-step errors at the innovation variance */
	sim_arma11(r, y, N, 5, 0.5, 0.6);
	cr_assert(forecast_arima_fit(y, FIT, &arma, &a));
	pred_init(&b, 1);
	for (size_t t = FIT; t < N; t++) {
		forecast_arima_forecast(&a, &b.p);
		sse += (y[t] - b.mean[0]) * (y[t] - b.mean[0]);
		forecast_arima_update(&a, y[t]);
	}
	sse /= N - FIT;
	cr_assert(sse > 0.8 && sse < 1.25, "one-step MSE %.3f, innovation variance 1", sse);
	forecast_arima_cleanup(&a);
	gsl_rng_free(r);
}

Test(arima, constant_series_gives_mean_and_zero_width)
{
	double y[100];
	struct forecast_arima a;
	struct pred_buf b;

	for (int i = 0; i < 100; i++)
		y[i] = 7.5;
	cr_assert(forecast_arima_auto(y, 100, 24, &a));
	cr_assert(a.order.p + a.order.q + a.order.P + a.order.Q + a.order.d + a.order.D == 0);
	pred_init(&b, H);
	forecast_arima_forecast(&a, &b.p);
	check_pred(&b);
	for (int i = 0; i < H; i++)
		cr_assert(b.mean[i] == 7.5 && b.lo[H + i] == 7.5 && b.hi[H + i] == 7.5);
	forecast_arima_cleanup(&a);

	memset(y, 0, sizeof(y));
	cr_assert(forecast_arima_auto(y, 100, 1, &a));
	forecast_arima_forecast(&a, &b.p);
	for (int i = 0; i < H; i++)
		cr_assert(b.mean[i] == 0.0 && b.hi[H + i] == 0.0);
	forecast_arima_cleanup(&a);
}

Test(arima, short_series_never_fail)
{
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double y[30];

	gsl_rng_set(r, 2);
	for (size_t n = 1; n <= 30; n++) {
		for (size_t i = 0; i < n; i++)
			y[i] = 10 + gsl_ran_gaussian(r, 1.0);
		for (size_t m = 1; m <= 24; m += 23) {
			struct forecast_arima a;
			struct pred_buf b;

			cr_assert(forecast_arima_auto(y, n, m, &a), "n %zu m %zu", n, m);
			pred_init(&b, H);
			forecast_arima_forecast(&a, &b.p);
			check_pred(&b);
			forecast_arima_cleanup(&a);
		}
	}
	gsl_rng_free(r);
}

Test(arima, level_shift_and_spikes_give_sane_forecasts)
{
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double y[400];
	struct forecast_arima a;
	struct pred_buf b;

	gsl_rng_set(r, 4);
	for (int i = 0; i < 400; i++)
		y[i] = (i < 200 ? 10 : 50) + gsl_ran_gaussian(r, 1.0);
	cr_assert(forecast_arima_auto(y, 400, 24, &a));
	pred_init(&b, H);
	forecast_arima_forecast(&a, &b.p);
	check_pred(&b);
	for (int i = 0; i < H; i++)
		cr_assert(fabs(b.mean[i] - 50) < 5, "after the shift the level is 50: %g",
		          b.mean[i]);
	forecast_arima_cleanup(&a);

	for (int i = 0; i < 400; i++)
		y[i] = (i % 53 == 0 ? 5000 : 0) + fabs(gsl_ran_gaussian(r, 1.0));
	cr_assert(forecast_arima_auto(y, 400, 24, &a));
	forecast_arima_forecast(&a, &b.p);
	check_pred(&b);
	for (int i = 0; i < H; i++)
		cr_assert(b.mean[i] > -1000 && b.mean[i] < 5000, "step %d: %g", i, b.mean[i]);
	forecast_arima_cleanup(&a);
	gsl_rng_free(r);
}

Test(arima, exact_seasonal_and_trending_series_are_continued)
{
	enum {
		M = 24,
		N = 10 * M
	};
	double y[N];
	struct forecast_arima a;
	struct pred_buf b;

	for (int i = 0; i < N; i++)
		y[i] = 100 + 30 * sin(2 * M_PI * i / M);
	cr_assert(forecast_arima_auto(y, N, M, &a));
	pred_init(&b, M);
	forecast_arima_forecast(&a, &b.p);
	check_pred(&b);
	for (int i = 0; i < M; i++)
		check_close(b.mean[i], y[N - M + i], 1e-6, "seasonal", (size_t)i);
	forecast_arima_cleanup(&a);

	for (int i = 0; i < N; i++)
		y[i] = 3 + 0.5 * i;
	cr_assert(forecast_arima_auto(y, N, 1, &a));
	cr_assert(a.order.d == 1 && a.order.constant, "a line is a random walk with drift");
	pred_init(&b, H);
	forecast_arima_forecast(&a, &b.p);
	check_pred(&b);
	for (int i = 0; i < H; i++)
		check_close(b.mean[i], 3 + 0.5 * (N + i), 1e-6, "line", (size_t)i);
	forecast_arima_cleanup(&a);
}

Test(arima, auto_is_deterministic)
{
	struct forecast_arima a, c;
	struct pred_buf b1, b2;

	cr_assert(forecast_arima_auto(ds_airpassengers, NSERIES(ds_airpassengers), 12, &a));
	cr_assert(forecast_arima_auto(ds_airpassengers, NSERIES(ds_airpassengers), 12, &c));
	cr_assert(a.order.p == c.order.p && a.order.q == c.order.q && a.order.P == c.order.P &&
	          a.order.Q == c.order.Q && a.order.d == c.order.d && a.order.D == c.order.D &&
	          a.order.constant == c.order.constant);
	cr_assert(a.aicc == c.aicc && a.sigma2 == c.sigma2);
	pred_init(&b1, H);
	pred_init(&b2, H);
	forecast_arima_forecast(&a, &b1.p);
	forecast_arima_forecast(&c, &b2.p);
	cr_assert(memcmp(b1.mean, b2.mean, H * sizeof(double)) == 0);
	cr_assert(memcmp(b1.hi, b2.hi, 2 * H * sizeof(double)) == 0);
	forecast_arima_cleanup(&a);
	forecast_arima_cleanup(&c);
}

Test(arima, names_follow_r)
{
	struct forecast_arima a = {.order = {.p = 1, .d = 1, .q = 1, .D = 1, .Q = 1, .m = 24}};
	char buf[64], tiny[8];

	cr_assert_str_eq(forecast_arima_name(&a, buf, sizeof(buf)), "ARIMA(1,1,1)(0,1,1)[24]");
	a.order = (struct forecast_arima_order){.d = 1, .m = 1, .constant = true};
	cr_assert_str_eq(forecast_arima_name(&a, buf, sizeof(buf)), "ARIMA(0,1,0) with drift");
	a.order = (struct forecast_arima_order){.p = 2, .m = 12, .constant = true};
	cr_assert_str_eq(forecast_arima_name(&a, buf, sizeof(buf)),
	                 "ARIMA(2,0,0) with non-zero mean");
	cr_assert_str_eq(forecast_arima_name(&a, tiny, sizeof(tiny)), "ARIMA(2");
}

Test(arima, bad_arguments_fail_and_own_nothing)
{
	double y[50];
	struct forecast_arima a;
	struct forecast_arima_order ok = {.p = 1, .m = 1};

	for (int i = 0; i < 50; i++)
		y[i] = i % 7;
	cr_assert(!forecast_arima_auto(NULL, 50, 1, &a));
	cr_assert(a.mem == NULL);
	cr_assert(!forecast_arima_auto(y, 0, 1, &a));
	y[10] = NAN;
	cr_assert(!forecast_arima_auto(y, 50, 1, &a));
	cr_assert(!forecast_arima_fit(y, 50, &ok, &a));
	y[10] = INFINITY;
	cr_assert(!forecast_arima_auto(y, 50, 1, &a));
	y[10] = 3;
	cr_assert(!forecast_arima_fit(NULL, 50, &ok, &a));
	cr_assert(!forecast_arima_fit(y, 50, NULL, &a));
	cr_assert(!forecast_arima_fit(y, 0, &ok, &a));
	/* inconsistent orders */
	cr_assert(!forecast_arima_fit(y, 50, &(struct forecast_arima_order){.p = 1, .m = 0}, &a));
	cr_assert(!forecast_arima_fit(y, 50, &(struct forecast_arima_order){.P = 1, .m = 1}, &a));
	cr_assert(!forecast_arima_fit(
	        y, 50, &(struct forecast_arima_order){.d = 1, .D = 1, .m = 7, .constant = true},
	        &a));
	/* too short for the order */
	cr_assert(!forecast_arima_fit(y, 5, &(struct forecast_arima_order){.p = 3, .q = 3, .m = 1},
	                              &a));
	cr_assert(!forecast_arima_fit(y, 20,
	                              &(struct forecast_arima_order){.P = 1, .D = 1, .m = 12}, &a));
	cr_assert(a.mem == NULL);
	forecast_arima_cleanup(&a); /* safe on a zeroed struct */
	forecast_arima_cleanup(&a);
	cr_assert(forecast_arima_fit(y, 50, &ok, &a));
	forecast_arima_cleanup(&a);
	forecast_arima_cleanup(&a);
}
