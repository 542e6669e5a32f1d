/*
 * Removing and restoring seasons around a non-seasonal model (see adjust.h). The indices are
 * fixed at the fit; the per-window update only moves their phase, which is what makes the
 * adjusted models as cheap to update as the plain ones.
 */
#include "forecast/adjust.h"

#include <stdlib.h>
#include <string.h>

#include "forecast/decomp.h"

/* Removes (sign 1) or restores (sign -1) index s from v. */
static double apply(bool mult, double v, double s, int sign)
{
	if (mult)
		return sign > 0 ? v / s : v * s;
	return sign > 0 ? v - s : v + s;
}

bool forecast_adjust_fit(const double *y, size_t n, const size_t *periods, size_t n_periods,
                         struct forecast_adjust *adj, double *out)
{
	size_t order[FORECAST_ADJUST_MAX], k = 0;

	memset(adj, 0, sizeof(*adj));
	adj->mult = true;
	for (size_t t = 0; t < n && adj->mult; t++)
		adj->mult = y[t] > 0;
	if (out != y)
		memcpy(out, y, n * sizeof(double));
	/* the usable periods, shortest first */
	for (size_t i = 0; i < n_periods && k < FORECAST_ADJUST_MAX; i++) {
		size_t p = periods[i], at = k++;

		if (p < 2 || p > n / 2) {
			k--;
			continue;
		}
		while (at > 0 && order[at - 1] > p) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = p;
	}
	for (size_t i = 0; i < k; i++) {
		size_t m = order[i];
		double *idx = malloc(m * sizeof(double));

		if (!idx) {
			forecast_adjust_cleanup(adj);
			return false;
		}
		forecast_decomp_classical(out, n, m, adj->mult, idx);
		for (size_t t = 0; t < n; t++)
			out[t] = apply(adj->mult, out[t], idx[t % m], 1);
		adj->m[adj->n] = m;
		adj->idx[adj->n] = idx;
		adj->phase[adj->n] = n % m;
		adj->n++;
	}
	return true;
}

double forecast_adjust_next(struct forecast_adjust *adj, double y)
{
	for (size_t k = 0; k < adj->n; k++) {
		y = apply(adj->mult, y, adj->idx[k][adj->phase[k]], 1);
		adj->phase[k] = adj->phase[k] + 1 == adj->m[k] ? 0 : adj->phase[k] + 1;
	}
	return y;
}

void forecast_adjust_restore(const struct forecast_adjust *adj, struct forecast_pred *p)
{
	for (size_t k = 0; k < adj->n; k++) {
		for (size_t i = 0; i < p->h; i++) {
			double s = adj->idx[k][(adj->phase[k] + i) % adj->m[k]];

			p->mean[i] = apply(adj->mult, p->mean[i], s, -1);
			for (size_t l = 0; l < p->n_levels; l++) {
				p->lo[l * p->h + i] = apply(adj->mult, p->lo[l * p->h + i], s, -1);
				p->hi[l * p->h + i] = apply(adj->mult, p->hi[l * p->h + i], s, -1);
			}
		}
	}
}

void forecast_adjust_cleanup(struct forecast_adjust *adj)
{
	for (size_t k = 0; k < adj->n; k++)
		free(adj->idx[k]);
	memset(adj, 0, sizeof(*adj));
}
