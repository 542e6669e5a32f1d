#pragma once
/*
 * A Prophet-style decomposable model (Taylor & Letham, "Forecasting at scale", 2017) for one
 * load series: y(t) = g(t) + s(t) + e(t), with
 *   g(t) = k t + m + sum_j delta_j (t - c_j)_+   a piecewise-linear trend whose candidate
 *          changepoints c_j are spread evenly over the first 80% of the history,
 *   s(t) = sum_f a_f cos(2 pi f t) + b_f sin(2 pi f t)   Fourier terms for several periods.
 * The fit is a MAP estimate by penalised, Huber-weighted least squares: the rate changes delta
 * get an L1 penalty (the Laplace prior of Prophet, its scale tied to the noise so that pure
 * noise leaves them at zero), the Fourier coefficients a weak ridge (Prophet's normal prior).
 * Intervals are Prophet's: simulated future trend changes (as frequent as the candidates in the
 * history, as large on average as the fitted changes) plus Gaussian residual noise.
 * Time t counts steps: the first fitted observation is at t = 0, the next one to arrive at t = n.
 * Pure computation: no I/O, no globals; any thread may use its own struct forecast_prophet.
 */
#include <stdbool.h>
#include <stddef.h>

#include "forecast/model.h"

/* Most candidate changepoints, as in Prophet's default. */
#define FORECAST_PROPHET_MAX_CP 25

struct forecast_prophet {
	size_t n;     /* observations absorbed by the fit and the updates: the next is step n */
	size_t n_fit; /* observations the coefficients were fitted on */
	double k;     /* trend rate per step before the first changepoint */
	double m;     /* trend value at step 0 */
	size_t n_cp;  /* candidate changepoints in use (fewer on short series) */
	double cp[FORECAST_PROPHET_MAX_CP];    /* candidate positions in steps, increasing */
	double delta[FORECAST_PROPHET_MAX_CP]; /* rate change per step at each; mostly zero */
	double change_rate; /* future trend changes expected per step: candidates per history step */
	double change_scale; /* mean |delta| over the candidates: Laplace scale of future changes */
	size_t n_freq;       /* Fourier frequencies kept over all periods (duplicates merged) */
	double *freq;        /* [n_freq] cycles per step, owned */
	double *coef;        /* [2 * n_freq] owned: coef[2f] for cos, coef[2f + 1] for sin */
	double offset;       /* level correction learnt by the updates from recent residuals */
	double sigma2;       /* residual variance for the intervals, kept current by updates */
	double rscale;       /* robust residual scale of the fit: bounds what one update moves */
};

/*
 * Fits the model to y[0..n-1] with seasonal periods periods[0..n_periods-1] (in steps; periods
 * may be NULL when n_periods is 0). A period longer than the series, or of 1, is dropped; the
 * number of harmonics grows with the period (period/6, at least 3, at most 20, below Nyquist).
 * Returns false on bad arguments (y NULL, n == 0, a non-finite value, a period of 0, periods
 * NULL with n_periods > 0) or allocation failure; out then owns nothing. On success out owns
 * memory: release it with forecast_prophet_cleanup. Constant, all-zero, short and spiky series
 * fit. Any thread; out is written only by this call.
 */
__attribute__((warn_unused_result)) bool forecast_prophet_fit(const double *y, size_t n,
                                                              const size_t *periods,
                                                              size_t n_periods,
                                                              struct forecast_prophet *out);

/*
 * Absorbs one new observation without refitting (the per-window update): the coefficients stay,
 * time moves on by one step, the level offset follows the residual (clipped, so a spike barely
 * moves it) and sigma2 follows the squared residual. A non-finite y is ignored. Only the thread
 * that owns p may call it.
 */
void forecast_prophet_update(struct forecast_prophet *p, double y);

/*
 * Forecasts p->h steps after the last observation into the caller's arrays of p: mean[i] is the
 * trend plus seasonality plus offset i+1 steps ahead, and lo/hi hold the central intervals for
 * each of p->levels, from 1000 simulated paths of future trend changes and noise drawn with a
 * GSL generator seeded with seed (the same seed gives the same intervals). The intervals always
 * hold the mean; a level outside (0, 1) gives zero width. A model without trend changes has
 * Gaussian intervals, computed exactly; so has any model when the generator (5 KB, freed before
 * returning) cannot be allocated, then with the paths' variance. m is only read, so threads
 * may forecast from one model at once while none updates it; p belongs to the caller.
 */
void forecast_prophet_forecast(const struct forecast_prophet *m, struct forecast_pred *p,
                               unsigned long seed);

/* Frees the owned arrays; safe on a zeroed or already cleaned struct. The owner's thread. */
void forecast_prophet_cleanup(struct forecast_prophet *p);
