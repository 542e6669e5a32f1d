#pragma once
/*
 * The benchmark forecasts: naive (the last value), seasonal naive (the value one season
 * earlier) and the M4 competition's Naive2 (naive on the seasonally adjusted series, re-seasoned
 * with classical multiplicative indices when the series tests seasonal). Seasonal naive is the
 * engine's fallback when history is short; Naive2 is OWA's yardstick (forecast/metrics.h).
 * Pure computation; any thread may use its own struct forecast_naive.
 */
#include <stdbool.h>
#include <stddef.h>

#include "forecast/model.h"

enum forecast_naive_kind {
	FORECAST_NAIVE,  /* y[n-1] for every step */
	FORECAST_SNAIVE, /* y[n-m+i] for step i (naive when there is less than a season) */
	FORECAST_NAIVE2, /* naive on y / seasonal index (no index when not seasonal) */
};

struct forecast_naive {
	enum forecast_naive_kind kind;
	size_t m;      /* period in use: 1 for naive and for a series too short for its season */
	double *ring;  /* [m] the last m values (Naive2: the last adjusted value), owned */
	size_t pos;    /* ring[pos] is the value m steps before the next observation */
	double *idx;   /* Naive2 only: [season] multiplicative indices, owned; NULL otherwise */
	size_t season; /* Naive2: length of idx (1 when the series is not seasonal) */
	size_t phase;  /* Naive2: idx[phase] belongs to the next observation */
	double sse;    /* sum of squared one-step in-sample residuals (lag m) */
	size_t n_res;  /* how many residuals sse holds */
};

/*
 * Fits kind with season m to y[0..n-1]. Naive2 seasonally adjusts only a strictly positive
 * series that passes forecast_decomp_is_seasonal. False when n is 0, y is NULL or memory fails;
 * out then owns nothing.
 */
__attribute__((warn_unused_result)) bool forecast_naive_fit(const double *y, size_t n, size_t m,
                                                            enum forecast_naive_kind kind,
                                                            struct forecast_naive *out);

/* Absorbs one new observation (the per-window update). */
void forecast_naive_update(struct forecast_naive *nv, double y);

/*
 * Fills p: point forecasts and normal intervals with variance h * sigma^2 (naive) or
 * (floor((h-1)/m) + 1) * sigma^2 (seasonal naive), sigma^2 the mean squared residual.
 */
void forecast_naive_forecast(const struct forecast_naive *nv, struct forecast_pred *p);

/* "naive", "snaive" or "naive2". */
const char *forecast_naive_name(const struct forecast_naive *nv);

/* Frees what nv owns; safe on a zeroed or already cleaned struct. */
void forecast_naive_cleanup(struct forecast_naive *nv);
