/*
 * Additive Holt-Winters (ETS(A,A,A)) for one load series (see hw.h): the classical
 * decomposition that seeds the states, the one-step-error filter, the Nelder-Mead parameter
 * search over an unconstrained reparametrisation, the per-window update and the forecasts with
 * their ETS(A,A,A) prediction intervals. The forecast engine (forecast/engine.c) keeps one of
 * these per key bucket.
 */
#include "forecast/hw.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Keeps alpha away from 0 and 1 so the open-interval constraints hold after rounding. */
#define HW_EDGE 1e-4
/* Nelder-Mead budget per start; the SSE surface in three parameters settles well before. */
#define HW_MAX_ITER 250
/* Simplex size (in the unconstrained space) at which a start is considered converged. */
#define HW_SIZE_TOL 1e-3
/* Seasons of squared errors that sigma2 averages over after the fit: adapts, but slowly. */
#define HW_SIGMA_SEASONS 4
/* At most this many leading seasons seed the states. */
#define HW_INIT_SEASONS 4
/* What the objective reports for a point whose SSE overflows: finite, so the simplex can rank it. */
#define HW_BAD_SSE 1e300

/* What the SSE objective needs: the series and the decomposition's initial states. */
struct hw_problem {
	const double *y;  /* the series */
	size_t n;         /* its length */
	size_t m;         /* season length */
	double l0;        /* level before the first observation */
	double b0;        /* trend before the first observation */
	const double *s0; /* m seasonal states; s0[i] applies to y[i] */
	double *s;        /* m scratch states for the filter */
};

static double sigmoid(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/* Maps an unconstrained point to (alpha, beta, gamma) inside the admissible region. */
static double inside(double x)
{
	return HW_EDGE + (1.0 - 2.0 * HW_EDGE) * sigmoid(x);
}

static void hw_params(const gsl_vector *x, double *a, double *b, double *g)
{
	*a = inside(gsl_vector_get(x, 0));
	*b = *a * inside(gsl_vector_get(x, 1));
	*g = (1.0 - *a) * inside(gsl_vector_get(x, 2));
}

/* The inverse of hw_params, for starting points given as parameters. */
static double logit(double p)
{
	return log(p / (1.0 - p));
}

static double outside(double p)
{
	return logit((p - HW_EDGE) / (1.0 - 2.0 * HW_EDGE));
}

static void hw_unparams(double a, double b, double g, gsl_vector *x)
{
	gsl_vector_set(x, 0, outside(a));
	gsl_vector_set(x, 1, outside(b / a));
	gsl_vector_set(x, 2, outside(g / (1.0 - a)));
}

/* One step of the filter: absorbs y and returns its one-step error. */
static double hw_absorb(struct forecast_hw *hw, double y)
{
	double e = y - (hw->level + hw->trend + hw->season[hw->pos]);

	hw->level = hw->level + hw->trend + hw->alpha * e;
	hw->trend = hw->trend + hw->beta * e;
	hw->season[hw->pos] += hw->gamma * e;
	hw->pos = hw->pos + 1 == hw->m ? 0 : hw->pos + 1;
	return e;
}

/* Puts hw at the decomposition's initial states with the given parameters. */
static void hw_start(struct forecast_hw *hw, const struct hw_problem *pb, double a, double b,
                     double g)
{
	hw->m = pb->m;
	hw->alpha = a;
	hw->beta = b;
	hw->gamma = g;
	hw->level = pb->l0;
	hw->trend = pb->b0;
	memcpy(hw->season, pb->s0, pb->m * sizeof(double));
	hw->pos = 0;
	hw->sigma2 = 0;
	hw->n = 0;
}

/* One-step sum of squared errors of the filter over the whole series. */
static double hw_sse(const struct hw_problem *pb, double a, double b, double g)
{
	struct forecast_hw st = {.season = pb->s};
	double sse = 0;

	hw_start(&st, pb, a, b, g);
	for (size_t i = 0; i < pb->n; i++) {
		double e = hw_absorb(&st, pb->y[i]);

		sse += e * e;
	}
	return sse;
}

static double hw_objective(const gsl_vector *x, void *arg)
{
	const struct hw_problem *pb = arg;
	double a, b, g, sse;

	hw_params(x, &a, &b, &g);
	sse = hw_sse(pb, a, b, g);
	/* the simplex cannot rank non-finite values; an overflowing point is simply bad */
	return isfinite(sse) && sse < HW_BAD_SSE ? sse : HW_BAD_SSE;
}

/*
 * Classical decomposition of the first seasons: a least-squares line through the season means
 * gives level and trend, and each seasonal index is the average of its detrended values,
 * centred to sum to zero. The level is placed one step before y[0].
 */
static void hw_initial_states(const double *y, size_t n, size_t m, double *l0, double *b0,
                              double *s0)
{
	size_t k = n / m;
	double sx = 0, sy = 0, sxx = 0, sxy = 0, slope, icpt, mean_s = 0;

	if (k > HW_INIT_SEASONS)
		k = HW_INIT_SEASONS;
	for (size_t j = 0; j < k; j++) {
		double avg = 0;

		for (size_t i = 0; i < m; i++)
			avg += y[j * m + i];
		avg /= (double)m;
		sx += (double)j;
		sy += avg;
		sxx += (double)j * (double)j;
		sxy += (double)j * avg;
	}
	/* k >= 2, so the denominator is positive */
	slope = ((double)k * sxy - sx * sy) / ((double)k * sxx - sx * sx);
	icpt = (sy - slope * sx) / (double)k;
	/* season j's mean sits at time j*m + (m-1)/2; per step the line rises slope/m */
	*b0 = slope / (double)m;
	for (size_t i = 0; i < m; i++) {
		double acc = 0;

		for (size_t j = 0; j < k; j++) {
			double t = (double)(j * m + i);
			double line = icpt + *b0 * (t - (double)(m - 1) / 2.0);

			acc += y[j * m + i] - line;
		}
		s0[i] = acc / (double)k;
		mean_s += s0[i];
	}
	mean_s /= (double)m;
	for (size_t i = 0; i < m; i++)
		s0[i] -= mean_s;
	*l0 = icpt + *b0 * (-1.0 - (double)(m - 1) / 2.0);
}

/* Runs Nelder-Mead from (a, b, g); returns the best SSE found and its parameters. */
static double hw_search(struct hw_problem *pb, double a, double b, double g, double *best)
{
	gsl_multimin_fminimizer *mm =
	        gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, 3);
	gsl_vector *x = gsl_vector_alloc(3), *step = gsl_vector_alloc(3);
	gsl_multimin_function f = {.f = hw_objective, .n = 3, .params = pb};
	double val = HW_BAD_SSE;

	if (!mm || !x || !step)
		goto out;
	hw_unparams(a, b, g, x);
	gsl_vector_set_all(step, 1.0);
	if (gsl_multimin_fminimizer_set(mm, &f, x, step) != GSL_SUCCESS)
		goto out;
	for (int it = 0; it < HW_MAX_ITER; it++) {
		if (gsl_multimin_fminimizer_iterate(mm) != GSL_SUCCESS)
			break;
		if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(mm), HW_SIZE_TOL) ==
		    GSL_SUCCESS)
			break;
	}
	val = gsl_multimin_fminimizer_minimum(mm);
	hw_params(gsl_multimin_fminimizer_x(mm), &best[0], &best[1], &best[2]);
out:
	gsl_vector_free(step);
	gsl_vector_free(x);
	if (mm)
		gsl_multimin_fminimizer_free(mm);
	return val;
}

bool forecast_hw_fit(const double *y, size_t n, size_t m, struct forecast_hw *out)
{
	/* starts: a smooth model and a reactive one; the better of the two wins */
	static const double starts[][3] = {{0.2, 0.02, 0.1}, {0.6, 0.05, 0.2}};
	struct hw_problem pb = {.y = y, .n = n, .m = m};
	double *s0, best[3] = {0}, best_sse = HW_BAD_SSE, sse = 0;

	memset(out, 0, sizeof(*out));
	if (m == 0 || n < 2 * m)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(y[i]))
			return false;
	}
	s0 = malloc(2 * m * sizeof(double));
	out->season = malloc(m * sizeof(double));
	if (!s0 || !out->season) {
		free(s0);
		free(out->season);
		out->season = NULL;
		return false;
	}
	hw_initial_states(y, n, m, &pb.l0, &pb.b0, s0);
	pb.s0 = s0;
	pb.s = s0 + m;

	/* the objective is always finite, so a search fails only when GSL cannot allocate */
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		double p[3];
		double v = hw_search(&pb, starts[i][0], starts[i][1], starts[i][2], p);

		if (v < best_sse) {
			best_sse = v;
			memcpy(best, p, sizeof(best));
		}
	}
	if (!(best_sse < HW_BAD_SSE)) {
		/* no start found a finite SSE: keep the first start's parameters */
		memcpy(best, starts[0], sizeof(best));
	}

	/* replay the filter with the chosen parameters to leave the states at the series' end */
	hw_start(out, &pb, best[0], best[1], best[2]);
	for (size_t i = 0; i < n; i++) {
		double e = hw_absorb(out, y[i]);

		sse += e * e;
	}
	/* degrees of freedom as in ets(): the three smoothing parameters and the m + 2 initial
	 * states were all estimated from these errors (the first season's errors are small
	 * because the seasonal states were taken from it) */
	out->sigma2 = isfinite(sse) ? sse / (double)(n > m + 5 ? n - m - 5 : 1) : 0;
	out->n = n;
	free(s0);
	return true;
}

void forecast_hw_update(struct forecast_hw *hw, double y)
{
	double e, w;
	size_t span;

	if (!isfinite(y) || !hw->season)
		return;
	e = hw_absorb(hw, y);
	hw->n++;
	/* a running mean of squared errors that forgets after a few seasons, so the intervals
	 * widen when the load turns noisier and narrow again when it calms down */
	span = HW_SIGMA_SEASONS * hw->m;
	if (span < 16)
		span = 16;
	w = 1.0 / (double)(hw->n < span ? hw->n : span);
	if (isfinite(e * e))
		hw->sigma2 += w * (e * e - hw->sigma2);
}

void forecast_hw_forecast(const struct forecast_hw *hw, size_t h, double level, double *mean,
                          double *lo, double *hi)
{
	double z = 0, csum = 0;

	if (level > 0 && level < 1)
		z = gsl_cdf_ugaussian_Pinv(0.5 + level / 2.0);
	for (size_t i = 0; i < h; i++) {
		double f = hw->level + (double)(i + 1) * hw->trend +
		           (hw->season ? hw->season[(hw->pos + i) % hw->m] : 0);
		double sd;

		/* step i+1 adds c_i^2 for i >= 1 to the variance factor */
		if (i >= 1) {
			double c =
			        hw->alpha + hw->beta * (double)i + (i % hw->m == 0 ? hw->gamma : 0);

			csum += c * c;
		}
		mean[i] = f;
		if (!lo || !hi)
			continue;
		sd = sqrt(hw->sigma2 > 0 ? hw->sigma2 * (1.0 + csum) : 0);
		lo[i] = f - z * sd;
		hi[i] = f + z * sd;
	}
}

void forecast_hw_cleanup(struct forecast_hw *hw)
{
	free(hw->season);
	hw->season = NULL;
}
