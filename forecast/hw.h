#pragma once
/*
 * Additive Holt-Winters (ETS(A,A,A)) for one series: level, trend and m seasonal states.
 * Parameters (alpha, beta, gamma) are fit by minimising the one-step squared error with GSL's
 * Nelder-Mead simplex; intervals use the ETS(A,A,A) forecast variance
 * sigma^2 * (1 + sum_{j=1}^{h-1} c_j^2), c_j = alpha + beta*j + gamma*[j mod m == 0].
 */
#include <stdbool.h>
#include <stddef.h>

struct forecast_hw {
	size_t m;       /* season length */
	double alpha;   /* level smoothing */
	double beta;    /* trend smoothing */
	double gamma;   /* seasonal smoothing */
	double level;   /* current level */
	double trend;   /* current trend */
	double *season; /* m seasonal states, owned; season[pos] is the next step's */
	size_t pos;     /* index of the seasonal state for the next observation */
	double sigma2;  /* one-step residual variance */
	size_t n;       /* observations absorbed */
};

/*
 * Fits a model to y[0..n-1] with season m (n >= 2m required). Returns false when the series
 * is too short or memory fails. out must be cleaned up with forecast_hw_cleanup.
 */
__attribute__((warn_unused_result)) bool forecast_hw_fit(const double *y, size_t n, size_t m,
							 struct forecast_hw *out);

/* Absorbs one new observation with the fitted parameters (the cheap per-window update). */
void forecast_hw_update(struct forecast_hw *hw, double y);

/*
 * Forecasts h steps: mean[i], and if lo/hi are non-NULL the interval at level (e.g. 0.95).
 */
void forecast_hw_forecast(const struct forecast_hw *hw, size_t h, double level, double *mean,
			  double *lo, double *hi);

void forecast_hw_cleanup(struct forecast_hw *hw);
