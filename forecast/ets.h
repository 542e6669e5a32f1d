#pragma once
/*
 * Exponential smoothing state space models (ETS, Hyndman et al., "Forecasting with Exponential
 * Smoothing", 2008) for one series, following R's forecast::ets: additive or multiplicative
 * error, no / additive / additive damped trend, no / additive / multiplicative season.
 *
 * Fitting maximises the likelihood (R's opt.crit = "lik": n log(SSE) + 2 sum log|forecast| for
 * multiplicative errors) with GSL's Nelder-Mead simplex over alpha, beta, gamma, phi and the
 * initial level and trend, inside R's "both" bounds: the usual region (1e-4 <= alpha <= 0.9999,
 * beta <= alpha, gamma <= 1 - alpha, 0.8 <= phi <= 0.98) and, for seasonal models, the
 * admissible (forecastable) region checked on the characteristic polynomial's roots.
 * Unlike R, the m initial seasonal states are NOT optimised: they stay at the classical
 * decomposition's seasonal figure (which R only uses as its starting point), because a simplex
 * over m - 1 more dimensions costs ten times the evaluations. The parameter count for the
 * AICc is still R's (m - 1 seasonal states included), so the criterion ranks models as R's does,
 * with the seasonal models' likelihood slightly worse than R's.
 *
 * Model choice (forecast_ets_auto) follows R's ets(y) defaults: restrict = TRUE (no additive
 * error with multiplicative season), no multiplicative trend, multiplicative error or season only
 * for strictly positive series, a model skipped when its parameters (without sigma) reach n - 1.
 * Seasonal models need 2 <= m <= 24 (R refuses m > 24) and at least two full seasons (R also
 * tries m < n < 2m with a Fourier start; here those series get non-seasonal models only).
 *
 * Prediction intervals: analytic variances for the linear class-1 models (additive error and
 * components) and the class-2 models (multiplicative error, additive components). Within one
 * season ahead a multiplicative season only scales the class-2 variance (its factors are known
 * there), which is exact and costs no simulation; further ahead, models with a multiplicative
 * season use quantiles of simulated future paths from a seeded GSL generator.
 *
 * Pure computation: no I/O, no globals; any thread may use its own struct forecast_ets.
 */
#include <stdbool.h>
#include <stddef.h>

#include "forecast/model.h"

/* How the one-step error enters the observation. */
enum forecast_ets_error {
	FORECAST_ETS_ERR_A, /* additive: y = mu + e, for any series */
	FORECAST_ETS_ERR_M, /* multiplicative: y = mu (1 + e), strictly positive series only */
};

/* The trend component. */
enum forecast_ets_trend {
	FORECAST_ETS_TREND_N,  /* none: a level only */
	FORECAST_ETS_TREND_A,  /* additive: level plus a slope per step */
	FORECAST_ETS_TREND_AD, /* additive damped: the slope decays by phi per step */
};

/* The seasonal component. */
enum forecast_ets_season {
	FORECAST_ETS_SEASON_N, /* none */
	FORECAST_ETS_SEASON_A, /* additive: a fixed amount per season position */
	FORECAST_ETS_SEASON_M, /* multiplicative: a factor per season position (positive series) */
};

/* One model of the family, e.g. {M, AD, M} is ETS(M,Ad,M). */
struct forecast_ets_spec {
	enum forecast_ets_error error;   /* error type */
	enum forecast_ets_trend trend;   /* trend type */
	enum forecast_ets_season season; /* season type */
};

/*
 * A fitted model and its states at the end of the absorbed data. season[pos] is the seasonal
 * state of the next observation and season[(pos + i) % m] that of i steps later. sigma2 is the
 * one-step error variance (of relative errors for a multiplicative error): R's sigma2 after the
 * fit, then a mean over updates that forgets after a few seasons. loglik and aicc are R's
 * (-2 loglik = n log SSE + 2 sum log|forecast|); a constant series, fitted perfectly, has loglik
 * INFINITY and aicc -INFINITY; too few observations for the parameters give aicc INFINITY.
 */
struct forecast_ets {
	struct forecast_ets_spec spec; /* the fitted model */
	size_t m;                      /* season length; 1 for a non-seasonal model */
	double alpha;                  /* level smoothing */
	double beta;                   /* trend smoothing (innovations form, <= alpha); 0 if none */
	double gamma;                  /* seasonal smoothing (<= 1 - alpha); 0 if none */
	double phi;                    /* trend damping; 1 unless the trend is damped */
	double level;                  /* current level */
	double trend;                  /* current slope per step; 0 if none */
	double *season;                /* [m] owned seasonal states; NULL without season */
	size_t pos;                    /* index into season of the next observation */
	double sigma2;                 /* one-step error variance, kept current by updates */
	double loglik;                 /* R's log-likelihood of the fit */
	double aicc;                   /* R's AICc of the fit, for the model choice */
	size_t n_par;                  /* parameters as R counts them for the AICc, sigma too */
	size_t n;                      /* observations absorbed, by the fit and the updates */
};

/*
 * Fits every allowed model (see the rules above) to y[0..n-1] with season length m (1, or 0,
 * for none) and keeps the one with the lowest AICc. A constant series gets ETS(A,N,N) with
 * sigma2 0, and a series shorter than 4 an ETS(A,N,N) fit (aicc INFINITY). Returns false when
 * y is NULL, n is 0, a value is not finite or memory fails; out then owns nothing. On success
 * out owns memory: release it with forecast_ets_cleanup.
 */
__attribute__((warn_unused_result)) bool forecast_ets_auto(const double *y, size_t n, size_t m,
                                                           struct forecast_ets *out);

/*
 * Fits the one model spec to y[0..n-1] with season length m. Returns false on the bad arguments
 * of forecast_ets_auto, and when spec does not suit the data: a multiplicative part with a value
 * <= 0, a season with m < 2 or n < 2m, or additive error with multiplicative season (R's
 * restrict), or when no admissible parameters give a finite likelihood (a multiplicative model
 * whose states collapse). out then owns nothing; on success it owns memory
 * (forecast_ets_cleanup). A model with too many parameters for n still fits, with aicc INFINITY.
 */
__attribute__((warn_unused_result)) bool forecast_ets_fit(const double *y, size_t n, size_t m,
                                                          struct forecast_ets_spec spec,
                                                          struct forecast_ets *out);

/*
 * Absorbs one new observation with the fitted parameters (the cheap per-window update): moves
 * the states on one step and folds the squared one-step error into sigma2 with a forgetting
 * mean over a few seasons. A non-finite y, or y <= 0 for a multiplicative model, is ignored.
 */
void forecast_ets_update(struct forecast_ets *e, double y);

/*
 * Fills p (caller-owned arrays, p->h steps, p->n_levels levels): point forecasts and central
 * intervals. Models with a multiplicative season forecasting more than a season ahead simulate
 * future paths with a GSL generator seeded by seed: the same seed gives the same output. Should
 * the paths' memory not be available, those intervals fall back to the class-2 variance of the
 * seasonal forecasts.
 */
void forecast_ets_forecast(const struct forecast_ets *e, struct forecast_pred *p,
                           unsigned long seed);

/* Writes the model's name, e.g. "ETS(M,Ad,M)", into buf (len bytes, truncated); returns buf. */
const char *forecast_ets_name(const struct forecast_ets *e, char *buf, size_t len);

/* The AICc of the fit, for comparing models of the same series (see the field). */
double forecast_ets_aicc(const struct forecast_ets *e);

/* Frees the seasonal states; safe on a zeroed or already cleaned struct. */
void forecast_ets_cleanup(struct forecast_ets *e);
