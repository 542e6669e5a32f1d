#pragma once
/*
 * Additive Holt-Winters (ETS(A,A,A)) for one series: level, trend and m seasonal states.
 * Parameters (alpha, beta, gamma) are fit by minimising the one-step squared error with GSL's
 * Nelder-Mead simplex; intervals use the ETS(A,A,A) forecast variance
 * sigma^2 * (1 + sum_{j=1}^{h-1} c_j^2), c_j = alpha + beta*j + gamma*[j mod m == 0].
 *
 * The recursions are in innovations (error-correction) form, with e the one-step error:
 *   level' = level + trend + alpha*e,  trend' = trend + beta*e,  season' = season + gamma*e.
 * The parameters stay in the usual admissible region 0 < alpha < 1, 0 < beta < alpha,
 * 0 < gamma < 1 - alpha, which keeps every fitted model forecastable (no exploding states).
 * Pure computation: no I/O, no globals; any thread may use its own struct forecast_hw.
 */
#include <stdbool.h>
#include <stddef.h>

struct forecast_hw {
	size_t m;       /* season length */
	double alpha;   /* level smoothing */
	double beta;    /* trend smoothing (innovations form: alpha times Holt's beta) */
	double gamma;   /* seasonal smoothing */
	double level;   /* current level */
	double trend;   /* current trend, per step */
	double *season; /* m seasonal states, owned; season[pos] is the next step's */
	size_t pos;     /* index of the seasonal state for the next observation */
	double sigma2;  /* one-step residual variance, kept current by updates */
	size_t n;       /* observations absorbed, by the fit and the updates */
};

/*
 * Fits a model to y[0..n-1] with season m: initial states by classical decomposition of the
 * first seasons, parameters by Nelder-Mead on the one-step SSE. Returns false when m is 0, the
 * series is too short (n < 2m), contains a non-finite value, or memory fails; out is then
 * left with no allocation. On success out owns memory: release it with forecast_hw_cleanup.
 * Constant and all-zero series fit fine (sigma2 = 0, intervals of zero width).
 */
__attribute__((warn_unused_result)) bool forecast_hw_fit(const double *y, size_t n, size_t m,
                                                         struct forecast_hw *out);

/*
 * Absorbs one new observation with the fitted parameters (the cheap per-window update): moves
 * the states on by one step and folds the squared error into sigma2. A non-finite y is ignored.
 */
void forecast_hw_update(struct forecast_hw *hw, double y);

/*
 * Forecasts h steps ahead: mean[i] is the forecast i+1 steps after the last observation. When
 * lo and hi are non-NULL they receive the central prediction interval at level (e.g. 0.95;
 * a level outside (0,1) gives zero width). Arrays have h elements and belong to the caller.
 */
void forecast_hw_forecast(const struct forecast_hw *hw, size_t h, double level, double *mean,
                          double *lo, double *hi);

/* Frees the seasonal states; safe on a zeroed or already cleaned struct. */
void forecast_hw_cleanup(struct forecast_hw *hw);
