/*
 * The ETS family for one load series (see ets.h): R's initial states (classical decomposition
 * and a regression on the seasonally adjusted start), the state filter shared by fitting,
 * updating and simulation, the likelihood and its Nelder-Mead search inside R's "both" bounds,
 * the AICc model choice, and forecasts with analytic intervals (class 1 and 2, and a multiplicative
 * season within a season ahead) or simulated ones (a multiplicative season further ahead).
 * The forecast engine keeps one struct forecast_ets per key bucket and updates it per window.
 */
#include "forecast/ets.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/decomp.h"

/* R's usual bounds (forecast::ets lower/upper) for alpha, beta, gamma and for phi. */
#define ETS_PAR_LO 1e-4
#define ETS_PAR_HI 0.9999
#define ETS_PHI_LO 0.8
#define ETS_PHI_HI 0.98
/* R refuses seasons longer than this ("I can't handle data with frequency greater than 24"). */
#define ETS_MAX_SEASON 24
/* What the objective reports for an inadmissible or overflowing point: finite, so the simplex
 * can rank it, and above any real likelihood. */
#define ETS_BAD 1e300
/* Floor of the sum of squared errors, so that a perfect fit has a finite likelihood. */
#define ETS_SSE_FLOOR 1e-300
/* Below this a multiplicative denominator (forecast, level, season) counts as zero. */
#define ETS_TINY 1e-10
/* Nelder-Mead budget and convergence size in the unconstrained coordinates. */
#define ETS_MAX_ITER 2000
#define ETS_SIZE_TOL 1e-4
/* The search also stops when ETS_STALL_ROUNDS * dimension iterations improved -2 loglik by
 * less than ETS_STALL_LIK (a thousandth of a unit of AICc changes no model choice). */
#define ETS_STALL_ROUNDS 10
#define ETS_STALL_LIK 1e-3
/* Restarts of the simplex from its last result, and their initial step. */
#define ETS_RESTARTS 3
#define ETS_RESTART_STEP 0.5
/* Roots of the characteristic polynomial may reach this radius (R allows 1 + 1e-10; a little
 * more slack keeps the no-trend models, which have a root at exactly 1, admissible). */
#define ETS_ROOT_RADIUS (1.0 + 1e-6)
/* Seasons of squared errors that sigma2 averages over in updates: adapts, but slowly. */
#define ETS_SIGMA_SEASONS 4
#define ETS_SIGMA_MIN_SPAN 16
/* Simulated future paths for the intervals of multiplicative-season models. */
#define ETS_PATHS 1000

/* Scratch memory for fitting one series, allocated once for all candidate models. */
struct ets_work {
	double *s0;   /* [m] initial seasonal states from the decomposition */
	double *pa;   /* [m + 2] characteristic polynomial, one Schur-Cohn stage */
	double *pb;   /* [m + 2] the next stage */
	double *sbuf; /* [m] seasonal states the filter runs on */
};

/* What the likelihood objective needs. */
struct ets_problem {
	const double *y;               /* the series */
	size_t n;                      /* its length */
	size_t m;                      /* season length (1 if none) */
	struct forecast_ets_spec spec; /* the model being fitted */
	double l0;                     /* the start's initial level */
	double b0;                     /* the start's initial slope */
	double sl;                     /* level change per unit of its search coordinate */
	double sb;                     /* slope change per unit of its search coordinate */
	struct ets_work *w;            /* scratch */
};

/* A point of the search, decoded. */
struct ets_par {
	double alpha; /* level smoothing */
	double beta;  /* trend smoothing, 0 without trend */
	double gamma; /* seasonal smoothing, 0 without season */
	double phi;   /* damping, 1 unless damped */
	double l0;    /* initial level */
	double b0;    /* initial slope, 0 without trend */
};

/* The best fit of one candidate model. */
struct ets_result {
	struct forecast_ets_spec spec; /* the model */
	struct ets_par par;            /* its parameters and initial states */
	double lik;                    /* n log SSE + 2 sum log|mu| (R's -2 loglik) */
	double aicc;                   /* R's AICc */
	size_t n_par;                  /* parameters counted for the AICc, sigma included */
};

static bool has_trend(struct forecast_ets_spec s)
{
	return s.trend != FORECAST_ETS_TREND_N;
}

static bool has_season(struct forecast_ets_spec s)
{
	return s.season != FORECAST_ETS_SEASON_N;
}

/* R's np + 1: smoothing parameters, phi, l0, b0, m - 1 free seasonal states, and sigma. */
static size_t ets_count_par(struct forecast_ets_spec s, size_t m)
{
	size_t k = 3;

	if (has_trend(s))
		k += 2;
	if (s.trend == FORECAST_ETS_TREND_AD)
		k++;
	if (has_season(s))
		k += m;
	return k;
}

/*
 * One step of the filter in R's (etscalc) form, which holds for either error type: absorbs y,
 * stores the one-step forecast in *mu and returns false if a multiplicative denominator
 * vanished (the states are then meaningless).
 */
static bool ets_step(struct forecast_ets *e, double y, double *mu)
{
	double phib = e->phi * e->trend;
	double q = e->level + phib;
	double s = 0, p = y, f = q;

	if (e->spec.season == FORECAST_ETS_SEASON_A) {
		s = e->season[e->pos];
		f = q + s;
		p = y - s;
	} else if (e->spec.season == FORECAST_ETS_SEASON_M) {
		s = e->season[e->pos];
		if (fabs(s) < ETS_TINY || fabs(q) < ETS_TINY)
			return false;
		f = q * s;
		p = y / s;
	}
	*mu = f;
	e->level = q + e->alpha * (p - q);
	e->trend = phib + e->beta * (p - q);
	if (e->spec.season == FORECAST_ETS_SEASON_A)
		e->season[e->pos] = s + e->gamma * (y - q - s);
	else if (e->spec.season == FORECAST_ETS_SEASON_M)
		e->season[e->pos] = s + e->gamma * (y / q - s);
	if (has_season(e->spec))
		e->pos = e->pos + 1 == e->m ? 0 : e->pos + 1;
	return true;
}

/* Puts e at the initial states of par on the m states of season (or none if NULL), which
 * receive a copy of s0 unless s0 is NULL. */
static void ets_start(struct forecast_ets *e, struct forecast_ets_spec spec, size_t m,
                      const struct ets_par *par, const double *s0, double *season)
{
	e->spec = spec;
	e->m = has_season(spec) ? m : 1;
	e->alpha = par->alpha;
	e->beta = par->beta;
	e->gamma = par->gamma;
	e->phi = par->phi;
	e->level = par->l0;
	e->trend = par->b0;
	e->season = has_season(spec) ? season : NULL;
	if (e->season && s0)
		memcpy(e->season, s0, m * sizeof(double));
	e->pos = 0;
	e->n = 0;
}

/* Runs the filter over y from e's states: R's -2 loglik, or ETS_BAD; *sse gets the SSE. */
static double ets_filter(struct forecast_ets *e, const double *y, size_t n, double *sse)
{
	bool mult = e->spec.error == FORECAST_ETS_ERR_M;
	double ss = 0, sumlog = 0, lik;

	*sse = 0;
	for (size_t i = 0; i < n; i++) {
		double mu, err;

		if (!ets_step(e, y[i], &mu))
			return ETS_BAD;
		err = y[i] - mu;
		if (mult) {
			if (!(mu > ETS_TINY))
				return ETS_BAD;
			err /= mu;
			sumlog += log(mu);
		}
		ss += err * err;
	}
	if (!isfinite(ss))
		return ETS_BAD;
	e->n = n;
	*sse = ss;
	lik = (double)n * log(ss > ETS_SSE_FLOOR ? ss : ETS_SSE_FLOOR) + 2.0 * sumlog;
	return isfinite(lik) && lik < ETS_BAD ? lik : ETS_BAD;
}

/*
 * Whether all roots of a[0] + a[1] z + ... + a[d] z^d lie within ETS_ROOT_RADIUS, by the
 * Schur-Cohn recursion on the polynomial rescaled to that radius (O(d^2), no eigenvalues).
 * Clobbers a; b is scratch of the same size.
 */
static bool ets_roots_inside(double *a, double *b, size_t d)
{
	double r = 1;

	for (size_t k = 0; k <= d; k++) {
		a[k] *= r;
		r *= ETS_ROOT_RADIUS;
	}
	for (; d > 0; d--) {
		double a0 = a[0], ad = a[d], *t;

		if (!(fabs(a0) < fabs(ad)))
			return false;
		for (size_t k = 0; k < d; k++)
			b[k] = (ad * a[k + 1] - a0 * a[d - 1 - k]) / ad;
		t = a;
		a = b;
		b = t;
	}
	return true;
}

/*
 * R's admissible() for seasonal models (the non-seasonal conditions and the seasonal "easy
 * tests" always hold inside the usual bounds): the characteristic polynomial of the discount
 * matrix must have no root outside the unit circle, else old errors never fade.
 */
static bool ets_admissible(const struct ets_problem *pb, const struct ets_par *p)
{
	size_t m = pb->m;
	double *a = pb->w->pa;
	double c = p->alpha + p->beta - p->alpha * p->phi;

	if (!has_season(pb->spec))
		return true;
	a[0] = p->phi * (1 - p->alpha - p->gamma);
	a[1] = c + p->gamma - 1;
	for (size_t k = 2; k < m; k++)
		a[k] = c;
	a[m] = p->alpha + p->beta - p->phi;
	a[m + 1] = 1;
	return ets_roots_inside(a, pb->w->pb, m + 1);
}

static double sigmoid(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

static double logit(double u)
{
	return log(u / (1.0 - u));
}

/* Maps the search coordinates to parameters inside the usual bounds (beta <= alpha, gamma <=
 * 1 - alpha) and initial states around the start's. */
static void ets_decode(const struct ets_problem *pb, const gsl_vector *x, struct ets_par *p)
{
	size_t i = 0;

	p->alpha = ETS_PAR_LO + (ETS_PAR_HI - ETS_PAR_LO) * sigmoid(gsl_vector_get(x, i++));
	p->beta = 0;
	p->gamma = 0;
	p->phi = 1;
	if (has_trend(pb->spec)) {
		double hi = p->alpha < ETS_PAR_HI ? p->alpha : ETS_PAR_HI;

		p->beta = ETS_PAR_LO + (hi - ETS_PAR_LO) * sigmoid(gsl_vector_get(x, i++));
	}
	if (has_season(pb->spec)) {
		double hi = 1 - p->alpha < ETS_PAR_HI ? 1 - p->alpha : ETS_PAR_HI;

		p->gamma = ETS_PAR_LO + (hi - ETS_PAR_LO) * sigmoid(gsl_vector_get(x, i++));
	}
	if (pb->spec.trend == FORECAST_ETS_TREND_AD)
		p->phi = ETS_PHI_LO + (ETS_PHI_HI - ETS_PHI_LO) * sigmoid(gsl_vector_get(x, i++));
	p->l0 = pb->l0 + pb->sl * gsl_vector_get(x, i++);
	p->b0 = has_trend(pb->spec) ? pb->b0 + pb->sb * gsl_vector_get(x, i) : 0;
}

/* Search dimension: alpha, beta, gamma, phi when present, the level and the slope. */
static size_t ets_dim(struct forecast_ets_spec s)
{
	return 2 + 2 * has_trend(s) + has_season(s) + (s.trend == FORECAST_ETS_TREND_AD);
}

/*
 * R's starting point (initparam): alpha a fifth of its range over m, beta and gamma a tenth and
 * a twentieth of theirs, phi near its top; the initial states at the decomposition's.
 */
static void ets_start_point(const struct ets_problem *pb, gsl_vector *x)
{
	size_t i = 0;
	double fa = 0.2 / (double)pb->m;

	gsl_vector_set(x, i++, logit(fa));
	if (has_trend(pb->spec))
		gsl_vector_set(x, i++, logit(0.1));
	if (has_season(pb->spec))
		gsl_vector_set(x, i++, logit(0.05));
	if (pb->spec.trend == FORECAST_ETS_TREND_AD)
		gsl_vector_set(x, i++, logit(0.99));
	gsl_vector_set(x, i++, 0);
	if (has_trend(pb->spec))
		gsl_vector_set(x, i, 0);
}

static double ets_objective(const gsl_vector *x, void *arg)
{
	const struct ets_problem *pb = arg;
	struct forecast_ets st;
	struct ets_par p;
	double sse;

	ets_decode(pb, x, &p);
	if (!ets_admissible(pb, &p))
		return ETS_BAD;
	ets_start(&st, pb->spec, pb->m, &p, pb->w->s0, pb->w->sbuf);
	return ets_filter(&st, pb->y, pb->n, &sse);
}

/*
 * R's initstate(): seasonal states from the decomposition (multiplicative ones floored at 0.01,
 * the first one set so the states are normalised), then the level (and slope) from the mean (or
 * a least-squares line) of the first max(10, 2m) seasonally adjusted values. Also sets the
 * search scales: the level moves in units of the series' one-step change.
 */
static void ets_initial(struct ets_problem *pb)
{
	const double *y = pb->y;
	size_t n = pb->n, m = pb->m, maxn;
	bool mult = pb->spec.season == FORECAST_ETS_SEASON_M;
	double *s0 = pb->w->s0, fig0 = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, d2 = 0;

	if (has_season(pb->spec)) {
		double sum = 0;

		/* R's decompose(); ets_spec_fits guarantees the two seasons it needs */
		forecast_decomp_classical(y, n, m, mult, s0);
		fig0 = s0[0];
		for (size_t i = 1; i < m; i++) {
			if (mult && s0[i] < 0.01)
				s0[i] = 0.01;
			sum += s0[i];
		}
		if (mult && sum > (double)m) {
			for (size_t i = 1; i < m; i++)
				s0[i] /= sum + 0.01 * (double)(m - 1);
			sum = 0;
			for (size_t i = 1; i < m; i++)
				sum += s0[i];
		}
		s0[0] = mult ? (double)m - sum : -sum;
		if (mult && s0[0] < 0.01)
			s0[0] = 0.01;
	}
	maxn = 2 * m > 10 ? 2 * m : 10;
	if (maxn > n)
		maxn = n;
	for (size_t t = 0; t < maxn; t++) {
		double f = t % m == 0 ? fig0 : s0[t % m], ya = y[t];

		if (pb->spec.season == FORECAST_ETS_SEASON_A)
			ya -= f;
		else if (mult)
			ya /= f > 0.01 ? f : 0.01;
		sx += (double)(t + 1);
		sy += ya;
		sxx += (double)(t + 1) * (double)(t + 1);
		sxy += (double)(t + 1) * ya;
	}
	pb->l0 = sy / (double)maxn;
	pb->b0 = 0;
	if (has_trend(pb->spec) && maxn > 1) {
		double nn = (double)maxn;

		pb->b0 = (nn * sxy - sx * sy) / (nn * sxx - sx * sx);
		pb->l0 = (sy - pb->b0 * sx) / nn;
		/* as R: keep l0 + b0 off zero for the multiplicative error */
		if (fabs(pb->l0 + pb->b0) < 1e-8) {
			pb->l0 *= 1 + 1e-3;
			pb->b0 *= 1 - 1e-3;
		}
	}
	for (size_t t = 1; t < n; t++)
		d2 += (y[t] - y[t - 1]) * (y[t] - y[t - 1]);
	pb->sl = n > 1 ? sqrt(d2 / (double)(n - 1)) : 0;
	if (!(pb->sl > 0))
		pb->sl = fabs(pb->l0) > 0 ? 0.01 * fabs(pb->l0) : 1;
	pb->sb = pb->sl / (double)maxn;
}

/* One Nelder-Mead run from x (left at the best point found); returns its -2 loglik. */
static double ets_simplex(gsl_multimin_fminimizer *mm, gsl_multimin_function *f, gsl_vector *x,
                          const gsl_vector *step)
{
	size_t d = f->n;
	double mark, best;
	bool iterated = false;

	if (gsl_multimin_fminimizer_set(mm, f, x, step) != GSL_SUCCESS)
		return ETS_BAD;
	/* the minimiser's own minimum is only set by its first iteration: start from x's value */
	mark = GSL_MULTIMIN_FN_EVAL(f, x);
	for (size_t it = 1; it <= ETS_MAX_ITER; it++) {
		if (gsl_multimin_fminimizer_iterate(mm) != GSL_SUCCESS)
			break;
		iterated = true;
		if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(mm), ETS_SIZE_TOL) ==
		    GSL_SUCCESS)
			break;
		/* a parameter running to its bound sends its coordinate to infinity and the
		 * simplex never shrinks: stop once the likelihood has stalled instead */
		if (it % (ETS_STALL_ROUNDS * d) == 0) {
			double now = gsl_multimin_fminimizer_minimum(mm);

			if (mark - now < ETS_STALL_LIK)
				break;
			mark = now;
		}
	}
	if (!iterated)
		return mark; /* x is where it started */
	best = gsl_multimin_fminimizer_minimum(mm);
	gsl_vector_memcpy(x, gsl_multimin_fminimizer_x(mm));
	return best;
}

/*
 * Nelder-Mead from R's starting point, restarted from its result while that still helps (a
 * collapsed simplex often sits short of the optimum); false only when GSL cannot allocate.
 */
static bool ets_search(struct ets_problem *pb, struct ets_result *res)
{
	size_t d = ets_dim(pb->spec);
	gsl_multimin_fminimizer *mm =
	        gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, d);
	gsl_vector *x = gsl_vector_alloc(d), *step = gsl_vector_alloc(d);
	gsl_multimin_function f = {.f = ets_objective, .n = d, .params = pb};
	double best;
	bool ok = false;

	if (!mm || !x || !step)
		goto out;
	ets_start_point(pb, x);
	gsl_vector_set_all(step, 1.0);
	best = ets_simplex(mm, &f, x, step);
	gsl_vector_set_all(step, ETS_RESTART_STEP);
	for (int r = 0; r < ETS_RESTARTS; r++) {
		double v = ets_simplex(mm, &f, x, step);
		bool better = v < best - ETS_STALL_LIK;

		best = v < best ? v : best;
		if (!better)
			break;
	}
	res->spec = pb->spec;
	res->lik = best;
	ets_decode(pb, x, &res->par);
	ok = true;
out:
	gsl_vector_free(step);
	gsl_vector_free(x);
	if (mm)
		gsl_multimin_fminimizer_free(mm);
	return ok;
}

/* R's AICc from -2 loglik: INFINITY when the correction's denominator is not positive. */
static double ets_aicc(double lik, size_t k, size_t n)
{
	double aic = lik + 2.0 * (double)k;

	if (!(lik < ETS_BAD) || n <= k + 1)
		return INFINITY;
	return aic + 2.0 * (double)k * (double)(k + 1) / (double)(n - k - 1);
}

/* Fits one candidate into res (aicc INFINITY when R would not fit it); false on memory. */
static bool ets_candidate(const double *y, size_t n, size_t m, struct forecast_ets_spec spec,
                          struct ets_work *w, struct ets_result *res)
{
	struct ets_problem pb = {
	        .y = y, .n = n, .m = has_season(spec) ? m : 1, .spec = spec, .w = w};

	res->spec = spec;
	res->n_par = ets_count_par(spec, pb.m);
	ets_initial(&pb);
	if (!ets_search(&pb, res))
		return false;
	/* R returns an infinite criterion when its np (sigma excluded) reaches n - 1 */
	res->aicc = res->n_par - 1 >= n - 1 ? INFINITY : ets_aicc(res->lik, res->n_par, n);
	return true;
}

static void ets_work_free(struct ets_work *w)
{
	free(w->s0);
	free(w->pa);
	free(w->pb);
	free(w->sbuf);
}

static bool ets_work_alloc(struct ets_work *w, size_t m)
{
	w->s0 = malloc(m * sizeof(double));
	w->pa = malloc((m + 2) * sizeof(double));
	w->pb = malloc((m + 2) * sizeof(double));
	w->sbuf = malloc(m * sizeof(double));
	if (w->s0 && w->pa && w->pb && w->sbuf)
		return true;
	ets_work_free(w);
	return false;
}

/*
 * Leaves out at the end of y with res's model: replays the filter from the initial states
 * (recomputed, as the search used them) and sets sigma2 as R does, SSE / (n - np).
 */
static bool ets_finish(const double *y, size_t n, size_t m, const struct ets_result *res,
                       struct ets_work *w, struct forecast_ets *out)
{
	struct ets_problem pb = {
	        .y = y, .n = n, .m = has_season(res->spec) ? m : 1, .spec = res->spec, .w = w};
	double *season = NULL, sse = 0;
	size_t free_par = res->n_par - 1;

	if (has_season(res->spec)) {
		season = malloc(pb.m * sizeof(double));
		if (!season)
			return false;
		ets_initial(&pb);
	}
	ets_start(out, res->spec, pb.m, &res->par, w->s0, season);
	(void)ets_filter(out, y, n, &sse);
	out->n = n;
	out->sigma2 = n > free_par ? sse / (double)(n - free_par) : sse / (double)n;
	out->loglik = -0.5 * res->lik;
	out->aicc = res->aicc;
	out->n_par = res->n_par;
	return true;
}

static bool ets_series_ok(const double *y, size_t n)
{
	if (!y || n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(y[i]))
			return false;
	}
	return true;
}

static bool ets_constant(const double *y, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		if (y[i] != y[0])
			return false;
	}
	return true;
}

static bool ets_positive(const double *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!(y[i] > 0))
			return false;
	}
	return true;
}

/* Whether spec can be fitted to y at all (R's restrict, data.positive and season length). */
static bool ets_spec_fits(const double *y, size_t n, size_t m, struct forecast_ets_spec spec)
{
	if ((unsigned)spec.error > FORECAST_ETS_ERR_M ||
	    (unsigned)spec.trend > FORECAST_ETS_TREND_AD ||
	    (unsigned)spec.season > FORECAST_ETS_SEASON_M)
		return false;
	/* R's restrict = TRUE: an additive error on a multiplicative season is unstable */
	if (spec.error == FORECAST_ETS_ERR_A && spec.season == FORECAST_ETS_SEASON_M)
		return false;
	if ((spec.error == FORECAST_ETS_ERR_M || spec.season == FORECAST_ETS_SEASON_M) &&
	    !ets_positive(y, n))
		return false;
	return !has_season(spec) || (m >= 2 && n >= 2 * m);
}

/*
 * A constant series: the states reproduce it exactly with R's starting parameters and no
 * uncertainty; the likelihood is unbounded, so the fit counts as perfect.
 */
static bool ets_fit_constant(const double *y, size_t n, size_t m, struct forecast_ets_spec spec,
                             struct forecast_ets *out)
{
	size_t sm = has_season(spec) ? m : 1;
	struct ets_par p = {.alpha = ETS_PAR_LO + 0.2 * (ETS_PAR_HI - ETS_PAR_LO) / (double)sm,
	                    .beta = 0,
	                    .gamma = 0,
	                    .phi = spec.trend == FORECAST_ETS_TREND_AD ? ETS_PHI_HI : 1,
	                    .l0 = y[0],
	                    .b0 = 0};

	if (has_trend(spec))
		p.beta = ETS_PAR_LO + 0.1 * (p.alpha - ETS_PAR_LO);
	if (has_season(spec))
		p.gamma = ETS_PAR_LO + 0.05 * (1 - p.alpha - ETS_PAR_LO);
	if (has_season(spec)) {
		double *season = malloc(sm * sizeof(double));

		if (!season)
			return false;
		for (size_t i = 0; i < sm; i++)
			season[i] = spec.season == FORECAST_ETS_SEASON_M ? 1 : 0;
		ets_start(out, spec, sm, &p, NULL, season);
		out->pos = n % sm;
	} else {
		ets_start(out, spec, sm, &p, NULL, NULL);
	}
	out->n = n;
	out->sigma2 = 0;
	out->loglik = INFINITY;
	out->aicc = -INFINITY;
	out->n_par = ets_count_par(spec, sm);
	return true;
}

bool forecast_ets_fit(const double *y, size_t n, size_t m, struct forecast_ets_spec spec,
                      struct forecast_ets *out)
{
	struct ets_work w;
	struct ets_result res;
	size_t sm = m > 1 ? m : 1;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (!ets_series_ok(y, n) || !ets_spec_fits(y, n, m, spec))
		return false;
	if (ets_constant(y, n))
		return ets_fit_constant(y, n, m, spec, out);
	if (!ets_work_alloc(&w, sm))
		return false;
	/* a model with no admissible, finite point at all (a multiplicative one whose states
	 * collapse everywhere) is refused rather than returned with meaningless states */
	ok = ets_candidate(y, n, m, spec, &w, &res) && res.lik < ETS_BAD &&
	     ets_finish(y, n, m, &res, &w, out);
	ets_work_free(&w);
	if (!ok)
		memset(out, 0, sizeof(*out));
	return ok;
}

bool forecast_ets_auto(const double *y, size_t n, size_t m, struct forecast_ets *out)
{
	static const struct forecast_ets_spec ann = {FORECAST_ETS_ERR_A, FORECAST_ETS_TREND_N,
	                                             FORECAST_ETS_SEASON_N};
	struct ets_work w;
	struct ets_result best = {.aicc = INFINITY}, res;
	bool seasonal = m >= 2 && m <= ETS_MAX_SEASON && n >= 2 * m, ok = true;
	size_t sm = seasonal ? m : 1;

	memset(out, 0, sizeof(*out));
	if (!ets_series_ok(y, n))
		return false;
	if (n < 4 || ets_constant(y, n))
		return forecast_ets_fit(y, n, m, ann, out);
	if (!ets_work_alloc(&w, sm))
		return false;
	for (int e = FORECAST_ETS_ERR_A; e <= FORECAST_ETS_ERR_M && ok; e++) {
		for (int t = FORECAST_ETS_TREND_N; t <= FORECAST_ETS_TREND_AD && ok; t++) {
			for (int s = FORECAST_ETS_SEASON_N; s <= FORECAST_ETS_SEASON_M && ok; s++) {
				struct forecast_ets_spec spec = {e, t, s};

				if ((s != FORECAST_ETS_SEASON_N && !seasonal) ||
				    !ets_spec_fits(y, n, sm, spec))
					continue;
				ok = ets_candidate(y, n, sm, spec, &w, &res);
				if (ok && res.aicc < best.aicc)
					best = res;
			}
		}
	}
	if (ok && !(best.aicc < INFINITY))
		ok = ets_candidate(y, n, sm, ann, &w, &best);
	ok = ok && ets_finish(y, n, sm, &best, &w, out);
	ets_work_free(&w);
	if (!ok)
		memset(out, 0, sizeof(*out));
	return ok;
}

void forecast_ets_update(struct forecast_ets *e, double y)
{
	bool mult = e->spec.error == FORECAST_ETS_ERR_M || e->spec.season == FORECAST_ETS_SEASON_M;
	double mu, err, w;
	size_t span;

	if (!isfinite(y) || (mult && !(y > 0)) || (has_season(e->spec) && !e->season))
		return;
	/* a vanished multiplicative state leaves the states as they were */
	if (!ets_step(e, y, &mu))
		return;
	err = y - mu;
	if (e->spec.error == FORECAST_ETS_ERR_M)
		err = mu > ETS_TINY ? err / mu : 0;
	e->n++;
	/* a running mean of squared errors that forgets after a few seasons, so the intervals
	 * widen when the load turns noisier and narrow again when it calms down */
	span = ETS_SIGMA_SEASONS * e->m;
	if (span < ETS_SIGMA_MIN_SPAN)
		span = ETS_SIGMA_MIN_SPAN;
	w = 1.0 / (double)(e->n < span ? e->n : span);
	if (isfinite(err * err))
		e->sigma2 += w * (err * err - e->sigma2);
}

/* The point forecast i + 1 steps ahead; phisum is phi + ... + phi^(i+1). */
static double ets_point(const struct forecast_ets *e, size_t i, double phisum)
{
	double f = e->level + phisum * e->trend;

	if (!e->season)
		return f;
	if (e->spec.season == FORECAST_ETS_SEASON_A)
		f += e->season[(e->pos + i) % e->m];
	else if (e->spec.season == FORECAST_ETS_SEASON_M)
		f *= e->season[(e->pos + i) % e->m];
	return f;
}

/* c_j of the linear models: how much a one-step error moves the forecast j steps later. */
static double ets_cj(const struct forecast_ets *e, size_t j, double phisum)
{
	double c = e->alpha + e->beta * phisum;

	if (e->spec.season != FORECAST_ETS_SEASON_N && j % e->m == 0)
		c += e->gamma;
	return c;
}

/*
 * Class 1 (additive error): var_h = sigma2 (1 + sum_{j<h} c_j^2). Class 2 (multiplicative error,
 * additive components): theta_1 = mu_1^2, theta_h = mu_h^2 + sigma2 sum_{j<h} c_j^2
 * theta_{h-j}, var_h = (1 + sigma2) theta_h - mu_h^2 (Hyndman et al. 2008, ch. 6). Class 2 needs
 * h numbers of memory; without it the class-1 variance scaled by mu^2 stands in.
 *
 * A multiplicative season within its first season ahead (h <= m) is class 2 times a known
 * factor: y_{t+i} = (l + phisum b)_{t+i-1} s (1 + e), where s was last updated before t, so the
 * variance is s^2 times class 2's for the deseasonalised forecast. Pass the seasons' factors in
 * season (NULL for none); the means in p stay the seasonal ones.
 */
static void ets_analytic(const struct forecast_ets *e, struct forecast_pred *p,
                         const double *season)
{
	size_t h = p->h;
	bool mult = e->spec.error == FORECAST_ETS_ERR_M;
	double *buf = mult ? malloc(2 * h * sizeof(double)) : NULL;
	double csum = 0, phisum = 0, phipow = 1;

	for (size_t i = 0; i < h; i++) {
		double s = season ? season[(e->pos + i) % e->m] : 1, mu = p->mean[i] / s, var;

		if (i >= 1) {
			double c;

			phipow *= e->phi;
			phisum += phipow;
			c = ets_cj(e, i, phisum);
			csum += c * c;
			if (buf)
				buf[h + i] = c * c;
		}
		if (buf) {
			double th = mu * mu;

			for (size_t j = 1; j <= i; j++)
				th += e->sigma2 * buf[h + j] * buf[i - j];
			buf[i] = th;
			var = (1 + e->sigma2) * th - mu * mu;
		} else {
			var = e->sigma2 * (1 + csum);
			if (mult)
				var *= mu * mu;
		}
		forecast_pred_step(p, i, p->mean[i], var * s * s);
	}
	free(buf);
}

/*
 * Multiplicative season more than a season ahead: quantiles of ETS_PATHS simulated futures (the
 * filter driven by drawn errors), as R's simulate = TRUE. Returns false if memory is short.
 */
static bool ets_simulate(const struct forecast_ets *e, struct forecast_pred *p, unsigned long seed)
{
	size_t h = p->h;
	double *paths = malloc(h * ETS_PATHS * sizeof(double));
	double *season = malloc(e->m * sizeof(double));
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	double sd = sqrt(e->sigma2);
	bool ok = paths && season && r;

	if (!ok)
		goto out;
	gsl_rng_set(r, seed);
	for (size_t k = 0; k < ETS_PATHS; k++) {
		struct forecast_ets st = *e;

		st.season = season;
		memcpy(season, e->season, e->m * sizeof(double));
		for (size_t i = 0; i < h; i++) {
			double mu = ets_point(&st, 0, st.phi),
			       eps = gsl_ran_gaussian_ziggurat(r, sd);
			double y = e->spec.error == FORECAST_ETS_ERR_M ? mu * (1 + eps) : mu + eps;

			paths[i * ETS_PATHS + k] = y;
			if (!ets_step(&st, y, &mu)) {
				/* a collapsed path stays where it is */
				for (size_t j = i + 1; j < h; j++)
					paths[j * ETS_PATHS + k] = y;
				break;
			}
		}
	}
	for (size_t i = 0; i < h; i++) {
		double *row = paths + i * ETS_PATHS;

		for (size_t k = 0; k < p->n_levels; k++) {
			double lv = p->levels[k], *lo = &p->lo[k * h + i], *hi = &p->hi[k * h + i];
			size_t klo, khi;

			if (!(lv > 0 && lv < 1)) {
				*lo = *hi = p->mean[i];
				continue;
			}
			/* nearest-rank quantiles, each hinted by the same bound a step earlier */
			klo = (size_t)lround((1 - lv) / 2 * (ETS_PATHS - 1));
			khi = (size_t)lround((1 + lv) / 2 * (ETS_PATHS - 1));
			*lo = forecast_select(row, 0, ETS_PATHS, klo, i > 0 ? lo - 1 : NULL);
			*hi = forecast_select(row, klo + 1, ETS_PATHS, khi, i > 0 ? hi - 1 : NULL);
		}
	}
out:
	if (r)
		gsl_rng_free(r);
	free(season);
	free(paths);
	return ok;
}

/* Whether the seasonal factors of the next h steps can scale the class 2 variance: h <= m, and
 * none of them so close to zero that dividing the forecast by it would lose it. */
static bool ets_season_scales(const struct forecast_ets *e, size_t h)
{
	if (h > e->m)
		return false;
	for (size_t i = 0; i < h; i++) {
		if (!(e->season[(e->pos + i) % e->m] > ETS_TINY))
			return false;
	}
	return true;
}

void forecast_ets_forecast(const struct forecast_ets *e, struct forecast_pred *p,
                           unsigned long seed)
{
	double phisum = 0, phipow = 1;

	for (size_t i = 0; i < p->h; i++) {
		phipow *= e->phi;
		phisum += phipow;
		p->mean[i] = ets_point(e, i, phisum);
	}
	if (p->n_levels == 0 || !p->lo || !p->hi)
		return;
	if (e->spec.season != FORECAST_ETS_SEASON_M || !(e->sigma2 > 0)) {
		ets_analytic(e, p, NULL);
		return;
	}
	/* a multiplicative season: analytic within a season ahead, else simulated futures */
	if (e->spec.error == FORECAST_ETS_ERR_M && ets_season_scales(e, p->h))
		ets_analytic(e, p, e->season);
	else if (!ets_simulate(e, p, seed))
		ets_analytic(e, p, NULL);
}

const char *forecast_ets_name(const struct forecast_ets *e, char *buf, size_t len)
{
	static const char *const trend[] = {"N", "A", "Ad"};
	static const char comp[] = {'A', 'M'};
	static const char season[] = {'N', 'A', 'M'};

	if (len > 0)
		snprintf(buf, len, "ETS(%c,%s,%c)", comp[e->spec.error], trend[e->spec.trend],
		         season[e->spec.season]);
	return buf;
}

double forecast_ets_aicc(const struct forecast_ets *e)
{
	return e->aicc;
}

void forecast_ets_cleanup(struct forecast_ets *e)
{
	free(e->season);
	e->season = NULL;
}
