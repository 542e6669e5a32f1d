#pragma once
/*
 * ARIMA(p,d,q)(P,D,Q)[m] for one load series, after R's stats::arima and forecast::auto.arima
 * (Hyndman & Khandakar 2008).
 *
 * The series y is differenced to w = (1-B)^d (1-B^m)^D y, and w minus its constant follows a
 * stationary, invertible multiplicative ARMA:
 *   phi(B) Phi(B^m) (w_t - c) = theta(B) Theta(B^m) e_t,   e_t ~ N(0, sigma2).
 * The constant c is a mean (d+D == 0) or a drift (d+D == 1: c per step, or m*drift per season
 * when D == 1), as R's "intercept" and "drift" regressors. Coefficients are estimated as R's
 * "CSS-ML": conditional sum of squares first, then the exact Gaussian likelihood from a Kalman
 * filter on the ARMA's state-space form. AR and MA polynomials are kept stationary and
 * invertible by construction (each factor is parametrised by its partial autocorrelations).
 *
 * Pure computation: no I/O, no globals; any thread may use its own struct forecast_arima.
 * Uses GSL's linear algebra and root finders, whose failures must not abort: call
 * gsl_set_error_handler_off() first (the forecast thread does).
 */
#include <stdbool.h>
#include <stddef.h>

#include "forecast/model.h"

/* One model order, as R's order = c(p,d,q), seasonal = list(order = c(P,D,Q), period = m). */
struct forecast_arima_order {
	unsigned p;    /* non-seasonal AR order */
	unsigned d;    /* non-seasonal differences */
	unsigned q;    /* non-seasonal MA order */
	unsigned P;    /* seasonal AR order (lags m, 2m, ...) */
	unsigned D;    /* seasonal differences (lag m) */
	unsigned Q;    /* seasonal MA order */
	size_t m;      /* season length; 1 means non-seasonal, and then P, D, Q must be 0 */
	bool constant; /* a mean (d+D == 0) or drift (d+D == 1); must be false when d+D >= 2 */
};

/*
 * A fitted model and its filter state: what forecasts and updates need. Embedded by the caller;
 * the arrays live in one owned allocation (mem).
 */
struct forecast_arima {
	struct forecast_arima_order order; /* the fitted order */
	double *coef;    /* [p+q+P+Q] ar1..p, ma1..q, sar1..P, sma1..Q in R's order and signs */
	double constant; /* R's "intercept" (d+D == 0) or "drift" per step (d+D == 1); 0 without */
	double wmean;    /* mean of the differenced series the constant implies (m*drift if D) */
	size_t np;       /* length of the expanded AR polynomial phi(B)Phi(B^m) */
	size_t nq;       /* length of the expanded MA polynomial theta(B)Theta(B^m) */
	double *phi;     /* [np] expanded AR: w_t = sum phi[i] w_{t-1-i} + ... (R's model$phi) */
	double *theta;   /* [nq] expanded MA: ... + e_t + sum theta[j] e_{t-1-j} (model$theta) */
	size_t r;        /* state dimension max(np, nq + 1) of the Kalman filter */
	double *state;   /* [r] state predicted for the next step, from the filter */
	double *gain;    /* [r] gain at the end of the fit: frozen so an update costs O(r) */
	double *scratch; /* [r] state copy the forecast steps ahead in */
	size_t nd;       /* d + D*m: how many past observations undo the differencing */
	double *delta;   /* [nd] y_t = w_t + sum delta[j] y_{t-1-j} (R's model$Delta) */
	double *last;    /* [nd] the newest observations, last[0] the most recent */
	double sigma2;   /* innovation variance, df-corrected as forecast::Arima: ssq/(n*-npar+1) */
	double loglik;   /* exact Gaussian log-likelihood of the fit, as R's loglik */
	double aicc;     /* small-sample AIC from loglik, as R's aicc */
	size_t n;        /* observations absorbed: the fit's and every update's */
	double *mem;     /* the single allocation every array above points into; owned */
};

/*
 * Chooses and fits a model to y[0..n-1] as forecast::auto.arima does with its defaults: D by the
 * seasonal-strength rule (classical decomposition, strength > 0.64; R uses STL), d by repeated
 * KPSS tests at 5%, then the stepwise search by AICc (max p,q 5, P,Q 2, p+q+P+Q <= 5) from the
 * four Hyndman-Khandakar starting models, using the CSS approximation when n > 150 or m > 12
 * and refitting the winner by exact ML. Constant, very short or otherwise unfittable series
 * fall back to ARIMA(0,d,0)(0,D,0) (with the mean or drift fixed, as R), or ARIMA(0,0,0) with
 * mean. A series fit exactly (constant, or constant once differenced) gets sigma2 at or near
 * 0 (exactly 0: loglik +inf, aicc -inf). m = 1 (or m = 0) means non-seasonal.
 * Returns false on bad arguments (y NULL, n == 0, a non-finite value) or allocation failure;
 * out then owns nothing. On success release out with forecast_arima_cleanup.
 */
__attribute__((warn_unused_result)) bool forecast_arima_auto(const double *y, size_t n, size_t m,
                                                             struct forecast_arima *out);

/*
 * Fits the order o to y[0..n-1] by CSS then exact ML (R's default "CSS-ML"). Returns false on
 * bad arguments (y or o NULL, a non-finite value, an inconsistent order, a constant with
 * d+D >= 2, an order beyond p,q,P,Q <= 100, d <= 3, D <= 2, max(p+P*m, q+Q*m+1) <= 2000,
 * fewer differenced observations than parameters + 2 or than AR lags + 1), when the likelihood
 * cannot be evaluated, or on allocation failure; out then owns nothing. The fitted model may
 * have roots near the unit circle (auto rejects those, a fixed order keeps them). On success
 * release out with forecast_arima_cleanup.
 */
__attribute__((warn_unused_result)) bool forecast_arima_fit(const double *y, size_t n,
                                                            const struct forecast_arima_order *o,
                                                            struct forecast_arima *out);

/*
 * Absorbs one new observation with the fitted coefficients (the per-window update): advances
 * the state with the gain frozen at the end of the fit, in O(r + d + D*m). sigma2 and the
 * coefficients stay as fitted. A non-finite y is ignored.
 */
void forecast_arima_update(struct forecast_arima *a, double y);

/*
 * Fills p (whose arrays belong to the caller) with the forecasts of the next p->h observations
 * and normal intervals from the psi weights of the integrated model (R uses the filter's final
 * covariance; the two agree once the filter has converged). Uses a's scratch, so calls on the
 * same struct must not overlap. If the h variances cannot be allocated the intervals are
 * unbounded (-inf, +inf).
 */
void forecast_arima_forecast(const struct forecast_arima *a, struct forecast_pred *p);

/*
 * Writes R's name of the model, e.g. "ARIMA(1,1,1)(0,1,1)[24] with drift", into buf (len
 * bytes, truncated to fit) and returns buf.
 */
const char *forecast_arima_name(const struct forecast_arima *a, char *buf, size_t len);

/* The fit's AICc (exact likelihood), for comparing with other models of the same data. */
double forecast_arima_aicc(const struct forecast_arima *a);

/* Frees what a owns; safe on a zeroed or already cleaned struct. */
void forecast_arima_cleanup(struct forecast_arima *a);
