/*
 * Naive, seasonal naive and Naive2 (see naive.h). All three keep a ring of the last period's
 * values, so the per-window update is a store and a residual.
 */
#include "forecast/naive.h"

#include <stdlib.h>
#include <string.h>

#include "forecast/decomp.h"

/* The adjusted value: y divided by its seasonal index (1 when not Naive2 or not seasonal). */
static double adjusted(const struct forecast_naive *nv, double y)
{
	if (nv->kind != FORECAST_NAIVE2 || !(nv->idx[nv->phase] > 0))
		return y;
	return y / nv->idx[nv->phase];
}

void forecast_naive_update(struct forecast_naive *nv, double y)
{
	double v = adjusted(nv, y), e = v - nv->ring[nv->pos];

	nv->sse += e * e;
	nv->n_res++;
	nv->ring[nv->pos] = v;
	nv->pos = nv->pos + 1 == nv->m ? 0 : nv->pos + 1;
	nv->phase = nv->phase + 1 == nv->season ? 0 : nv->phase + 1;
}

/* Naive2's seasonal indices for y, or a single neutral index when it is not seasonal. */
static bool naive2_indices(const double *y, size_t n, size_t m, struct forecast_naive *nv)
{
	bool positive = true;

	for (size_t t = 0; t < n && positive; t++)
		positive = y[t] > 0;
	nv->season = positive && forecast_decomp_is_seasonal(y, n, m) ? m : 1;
	nv->idx = malloc(nv->season * sizeof(double));
	if (!nv->idx)
		return false;
	nv->idx[0] = 1.0;
	if (nv->season > 1 && !forecast_decomp_classical(y, n, m, true, nv->idx))
		nv->season = 1; /* the test needs 3 seasons, the decomposition 2: cannot happen */
	return true;
}

bool forecast_naive_fit(const double *y, size_t n, size_t m, enum forecast_naive_kind kind,
                        struct forecast_naive *out)
{
	memset(out, 0, sizeof(*out));
	if (!y || n == 0)
		return false;
	out->kind = kind;
	out->m = kind == FORECAST_SNAIVE && m >= 2 && n > m ? m : 1;
	out->season = 1;
	out->ring = malloc(out->m * sizeof(double));
	if (!out->ring || (kind == FORECAST_NAIVE2 && !naive2_indices(y, n, m, out))) {
		forecast_naive_cleanup(out);
		return false;
	}
	/* the first period seeds the ring; every later value is an in-sample forecast's target */
	for (size_t t = 0; t < out->m; t++) {
		out->ring[t] = adjusted(out, y[t]);
		out->phase = out->phase + 1 == out->season ? 0 : out->phase + 1;
	}
	for (size_t t = out->m; t < n; t++)
		forecast_naive_update(out, y[t]);
	return true;
}

void forecast_naive_forecast(const struct forecast_naive *nv, struct forecast_pred *p)
{
	double sigma2 = nv->n_res ? nv->sse / (double)nv->n_res : 0.0;

	for (size_t i = 0; i < p->h; i++) {
		double v = nv->ring[(nv->pos + i) % nv->m], s = 1.0, var;

		/* a seasonal naive forecast i steps on is i/m + 1 seasonal random-walk steps away */
		var = sigma2 * (double)(nv->m == 1 ? i + 1 : i / nv->m + 1);
		if (nv->kind == FORECAST_NAIVE2)
			s = nv->idx[(nv->phase + i) % nv->season];
		forecast_pred_step(p, i, v * s, var * s * s);
	}
}

const char *forecast_naive_name(const struct forecast_naive *nv)
{
	switch (nv->kind) {
	case FORECAST_SNAIVE:
		return "snaive";
	case FORECAST_NAIVE2:
		return "naive2";
	default:
		return "naive";
	}
}

void forecast_naive_cleanup(struct forecast_naive *nv)
{
	free(nv->ring);
	free(nv->idx);
	nv->ring = NULL;
	nv->idx = NULL;
}
