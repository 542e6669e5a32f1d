/*
 * Backtest-calibrated interval widths (see calib.h).
 */
#include "forecast/calib.h"

#include <math.h>
#include <stdlib.h>

const double forecast_calib_levels[FORECAST_CALIB_LEVELS] = {0.50, 0.80, 0.95, 0.99};

void forecast_calib_score(struct forecast_calib_scores *sc, const struct forecast_pred *p,
                          const double *truth)
{
	for (size_t i = 0; i < p->h && sc->n < sc->cap; i++) {
		double e = truth[i] - p->mean[i];
		bool ok = isfinite(e);

		for (size_t l = 0; ok && l < FORECAST_CALIB_LEVELS; l++) {
			size_t at = l * p->h + i;
			double half = e >= 0 ? p->hi[at] - p->mean[i] : p->mean[i] - p->lo[at];

			ok = half > 0 && isfinite(half);
			if (ok)
				sc->s[l * sc->cap + sc->n] = fabs(e) / half;
		}
		/* a step counts only with a score at every level, so the levels share their n */
		if (ok)
			sc->n++;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void forecast_calib_finish(struct forecast_calib_scores *sc, struct forecast_calib *out)
{
	size_t n = sc->n;

	out->on = n >= FORECAST_CALIB_MIN;
	if (!out->on)
		return;
	for (size_t l = 0; l < FORECAST_CALIB_LEVELS; l++) {
		double *s = sc->s + l * sc->cap;
		size_t rank = (size_t)ceil((double)(n + 1) * forecast_calib_levels[l]);

		qsort(s, n, sizeof(*s), cmp_double);
		/* the conformal rank: 1-based, at most n */
		rank = rank < 1 ? 1 : rank > n ? n : rank;
		out->k[l] = sqrt(
		        fmin(fmax(s[rank - 1], 1.0 / FORECAST_CALIB_LIMIT), FORECAST_CALIB_LIMIT));
	}
}

/* The factor for level, interpolated linearly between the grid's levels. */
static double factor(const struct forecast_calib *c, double level)
{
	const double *g = forecast_calib_levels;

	if (level <= g[0])
		return c->k[0];
	for (size_t l = 1; l < FORECAST_CALIB_LEVELS; l++) {
		if (level <= g[l]) {
			double t = (level - g[l - 1]) / (g[l] - g[l - 1]);

			return c->k[l - 1] + t * (c->k[l] - c->k[l - 1]);
		}
	}
	return c->k[FORECAST_CALIB_LEVELS - 1];
}

void forecast_calib_apply(const struct forecast_calib *c, struct forecast_pred *p)
{
	size_t h = p->h;

	if (!c->on)
		return;
	for (size_t l = 0; l < p->n_levels; l++) {
		double k = factor(c, p->levels[l]);

		for (size_t i = 0; i < h; i++) {
			double *lo = &p->lo[l * h + i], *hi = &p->hi[l * h + i];

			*lo = p->mean[i] - k * (p->mean[i] - *lo);
			*hi = p->mean[i] + k * (*hi - p->mean[i]);
		}
	}
	/* factors need not grow with the level: keep a higher level's interval around a lower's */
	for (size_t a = 0; a < p->n_levels; a++) {
		for (size_t b = 0; b < p->n_levels; b++) {
			if (!(p->levels[a] < p->levels[b]))
				continue;
			for (size_t i = 0; i < h; i++) {
				p->lo[b * h + i] = fmin(p->lo[b * h + i], p->lo[a * h + i]);
				p->hi[b * h + i] = fmax(p->hi[b * h + i], p->hi[a * h + i]);
			}
		}
	}
}
