#pragma once
/*
 * Classical seasonal decomposition and the seasonality test the M4 competition used for its
 * Naive2 benchmark: the yardstick of OWA (forecast/metrics.h) and a cheap way to seasonally
 * adjust a series. Pure computation; any thread.
 */
#include <stdbool.h>
#include <stddef.h>

/*
 * Whether y[0..n-1] is seasonal with period m by the 90% autocorrelation test: |r_m| exceeds
 * 1.645 * sqrt((1 + 2 * sum_{k<m} r_k^2) / n). False when m < 2 or n < 3m (too short to
 * tell), or the series is constant.
 */
bool forecast_decomp_is_seasonal(const double *y, size_t n, size_t m);

/*
 * Classical decomposition: a centred moving average of one season estimates the trend, and each
 * seasonal index idx[j] (for the positions t with t % m == j) is the mean of y / trend
 * (multiplicative, indices averaging 1) or y - trend (additive, indices averaging 0). m (>= 2)
 * entries of idx belong to the caller. False when n < 2m: idx is then neutral (all 1 or all 0),
 * the answer for a series too short to show a season.
 */
bool forecast_decomp_classical(const double *y, size_t n, size_t m, bool mult, double *idx);

/*
 * Seasonal strength of y at period m as R's nsdiffs "seas" test measures it, but from the
 * additive classical decomposition instead of STL: 1 - var(remainder) / var(y - trend), within
 * [0, 1], over the points where the centred trend exists. 0 when those points do not hold more
 * than one season (every index would fit its single value exactly). idx is caller scratch [m].
 */
double forecast_decomp_strength(const double *y, size_t n, size_t m, double *idx);
