#pragma once
/*
 * Seasonal adjustment for models that cannot carry a season themselves: ETS beyond a season of
 * 24 and any second season, ARIMA beyond its own seasonal limit (the approach of R's stlf and
 * of MSTL). Each period in turn is removed with classical decomposition indices (forecast/
 * decomp.h), shortest first, so that a daily shape is taken out before the weekly one is
 * measured; the model is fit to what remains, and its forecasts get the seasons back.
 * Pure computation; any thread may use its own struct forecast_adjust.
 */
#include <stdbool.h>
#include <stddef.h>

#include "forecast/model.h"

/* How many periods one adjustment removes at most. */
#define FORECAST_ADJUST_MAX 4

struct forecast_adjust {
	size_t n;                          /* periods removed */
	size_t m[FORECAST_ADJUST_MAX];     /* their lengths, shortest first */
	double *idx[FORECAST_ADJUST_MAX];  /* [m[k]] indices of each, owned */
	size_t phase[FORECAST_ADJUST_MAX]; /* idx[k][phase[k]] belongs to the next observation */
	bool mult;                         /* indices divide (positive series) or subtract */
};

/*
 * Measures the seasons of y[0..n-1] for the periods given (those under 2 or longer than n / 2
 * are skipped: too few seasons to see a shape) and writes the adjusted series to out[0..n-1]
 * (may be y itself). Multiplicative when every value is positive, additive otherwise. False
 * when memory fails; adj then owns nothing. adj may remove no period at all: out is then y.
 */
__attribute__((warn_unused_result)) bool
forecast_adjust_fit(const double *y, size_t n, const size_t *periods, size_t n_periods,
                    struct forecast_adjust *adj, double *out);

/* The adjusted value of the next observation y; moves the phases on one step. */
double forecast_adjust_next(struct forecast_adjust *adj, double y);

/* Puts the seasons back into p (point forecasts and bounds), which starts at the next step. */
void forecast_adjust_restore(const struct forecast_adjust *adj, struct forecast_pred *p);

/* Frees the indices; safe on a zeroed or already cleaned struct. */
void forecast_adjust_cleanup(struct forecast_adjust *adj);
