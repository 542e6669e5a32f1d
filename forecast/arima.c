/*
 * ARIMA and seasonal ARIMA for one load series (see arima.h): differencing, the conditional
 * sum of squares and the exact Kalman-filter likelihood of the multiplicative ARMA, their
 * minimisation with GSL's BFGS, the unit-root rules that choose d and D (KPSS, seasonal
 * strength), the stepwise order search of Hyndman & Khandakar, the per-window update and the
 * forecasts. The forecast engine (forecast/engine.c) keeps one of these per key range.
 *
 * The Kalman filter uses Harvey's state space for the demeaned differenced series w:
 * a_{t+1} = T a_t + R e_{t+1}, w_t = a_t[0], with T's first column phi and ones above the
 * diagonal, R = (1, theta). The state starts at its stationary covariance, computed from the
 * ARMA autocovariances and psi weights (O(r^2) per likelihood, where R solves an r^2 system).
 * Because w_t is the first state, the covariance update reduces to
 * P' = shift(P - M M' / F) + R R' (M = P's first column), which costs about 2 r^2 flops a step;
 * once P stops changing the filter continues with the frozen gain at O(r) a step.
 */
#include "forecast/arima.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_poly.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/decomp.h"

/* auto.arima's search limits (its defaults). */
#define AR_MAX_P 5
#define AR_MAX_Q 5
#define AR_MAX_SP 2
#define AR_MAX_SQ 2
#define AR_MAX_ORDER 5
#define AR_MAX_D 2
#define AR_MAX_MODELS 94
/* The seasonal strength above which nsdiffs takes a seasonal difference. */
#define AR_SEAS_STRENGTH 0.64
/* KPSS 5% critical value (level stationarity), as urca's table. */
#define AR_KPSS_CRIT 0.463
/* myarima's rule: a model with a root this close to the unit circle is rejected. */
#define AR_MIN_ROOT 1.01
/*
 * Partial autocorrelations are tanh(raw). ML starts from the CSS estimate with raw clipped
 * here (|pacf| <= 0.964): CSS often runs an MA to its unit root, where tanh is so flat that
 * BFGS would stall instead of finding the interior ML optimum.
 */
#define AR_RAW_CLIP 2.0
/* BFGS budget and stopping rules: gradient norm, or R's relative change of the objective. */
#define AR_MAX_ITER 100
#define AR_GRAD_TOL 1e-5
#define AR_REL_TOL 1.5e-8
/* Iterations in a row outside the root screen after which a search candidate is dropped. */
#define AR_SCREEN_ITERS 2
/* Step of the central differences for the objective's gradient (raw parameter units). */
#define AR_FD_STEP 1e-4
/* What the objective reports for a point it cannot evaluate: finite, so BFGS can back off. */
#define AR_BAD 1e10
/* The filter freezes its gain once P's first row moves less than this for r steps in a row. */
#define AR_P_TOL 1e-11
/* R's is.constant: all.equal's relative tolerance. */
#define AR_CONST_TOL 1.5e-8
/* The largest orders and state dimension a fit accepts (memory and time grow as r^2). */
#define AR_FIT_MAX_PQ 100
#define AR_FIT_MAX_D 3
#define AR_FIT_MAX_SD 2
#define AR_MAX_STATE 2000

/* One candidate's fitting problem: the differenced series and scratch for both objectives. */
struct arima_work {
	const double *w;               /* differenced series, borrowed */
	size_t nw;                     /* its length */
	struct forecast_arima_order o; /* the order being fit */
	size_t ncoef;                  /* p + q + P + Q */
	size_t k;                      /* free parameters: ncoef + constant */
	double cstart;                 /* the constant at raw 0: mean of w */
	double cscale;                 /* the constant's change per raw unit: 10 standard errors */
	double c;                      /* current constant of w */
	size_t np;                     /* expanded AR length p + P*m */
	size_t nq;                     /* expanded MA length q + Q*m */
	size_t r;                      /* state dimension max(np, nq + 1) */
	double *coef;                  /* [ncoef] current coefficients in R's order */
	double *phid;                  /* [r] expanded AR, zero-padded: T's first column */
	double *thd;                   /* [r] 1 then expanded MA, zero-padded: R */
	size_t *lp;                    /* [np] lags (1-based) of non-zero AR terms */
	double *vp;                    /* [np] their coefficients */
	size_t nlp;                    /* how many */
	size_t *lq;                    /* [nq + 1] lags (0-based, lag 0 first) of MA terms */
	double *vq;                    /* [nq + 1] their coefficients (1 at lag 0) */
	size_t nlq;                    /* how many */
	double *tmp;                   /* [max order] Levinson scratch */
	double *e;                     /* [nw] CSS residuals */
	double *P;                     /* [r*r] state covariance, predicted */
	double *Pn;                    /* [r*r] the next one */
	double *a;                     /* [r] state, predicted */
	double *M;                     /* [r] first column of P */
	double *gam;                   /* [r + 1] autocovariances of the ARMA, sigma2 = 1 */
	double *psi;                   /* [r + 1] its psi weights */
	double *raw;                   /* [k] the parameters being fit (tanh of PACF, constant) */
	double *x;                     /* [k] parameter vector scratch for the gradient */
	gsl_matrix *A;                 /* (np+1)^2 system for the autocovariances */
	gsl_vector *b;                 /* its right side and solution */
	gsl_permutation *perm;         /* its LU pivots */
	double F;                      /* after ml_value: the last innovation variance */
	double ssq;                    /* after an objective: sum of squared (scaled) residuals */
	size_t nres;                   /* after an objective: how many residuals */
	double sumlog;                 /* after ml_value: sum of log F */
	void *mem;                     /* the allocation behind the arrays */
};

/* R's is.constant: every value equal to the first within all.equal's tolerance. */
static bool is_constant(const double *y, size_t n)
{
	double diff = 0, scale;

	if (n == 0)
		return true;
	for (size_t i = 1; i < n; i++)
		diff += fabs(y[i] - y[0]);
	diff /= (double)n;
	scale = fabs(y[0]);
	return scale > AR_CONST_TOL ? diff / scale < AR_CONST_TOL : diff < AR_CONST_TOL;
}

/* Writes the coefficients of (1-B)^d (1-B^m)^D as y_t = w_t + sum delta[j] y_{t-1-j}. */
static size_t diff_poly(unsigned d, unsigned D, size_t m, double *delta)
{
	size_t nd = d + D * m;
	double *c = delta; /* c[j] holds the coefficient of B^(j+1) while expanding */
	size_t len = 0;    /* degree so far */

	memset(c, 0, nd * sizeof(double));
	for (unsigned i = 0; i < d + D; i++) {
		size_t lag = i < d ? 1 : m;

		/* multiply by (1 - B^lag): c_new[j] = c[j] - c[j - lag], with c[-1] = 1 */
		for (size_t j = len + lag; j-- > 0;) {
			double prev = j + 1 == lag ? 1.0 : (j >= lag ? c[j - lag] : 0.0);

			c[j] -= prev;
		}
		len += lag;
	}
	for (size_t j = 0; j < nd; j++)
		delta[j] = -c[j];
	return nd;
}

/* w = (1-B)^d (1-B^m)^D y; returns its length n - d - D*m (0 if that is not positive). */
static size_t difference(const double *y, size_t n, unsigned d, unsigned D, size_t m, double *w)
{
	size_t len = n;

	memcpy(w, y, n * sizeof(double));
	for (unsigned i = 0; i < d + D; i++) {
		size_t lag = i < D ? m : 1;

		if (len <= lag)
			return 0;
		for (size_t t = 0; t + lag < len; t++)
			w[t] = w[t + lag] - w[t];
		len -= lag;
	}
	return len;
}

/* Maps partial autocorrelations tanh(raw[0..n-1]) to AR coefficients (Durbin-Levinson). */
static void pacf_to_ar(const double *raw, size_t n, double *phi, double *tmp)
{
	for (size_t k = 0; k < n; k++) {
		double rk = tanh(raw[k]);

		for (size_t j = 0; j < k; j++)
			tmp[j] = phi[j] - rk * phi[k - 1 - j];
		memcpy(phi, tmp, k * sizeof(double));
		phi[k] = rk;
	}
}

/* Sets the coefficients, expanded polynomials and constant from the raw parameter vector. */
static void work_set(struct arima_work *wk, const double *x)
{
	const struct forecast_arima_order *o = &wk->o;
	double *ar = wk->coef, *ma = ar + o->p, *sar = ma + o->q, *sma = sar + o->P;
	size_t m = o->m;

	pacf_to_ar(x, o->p, ar, wk->tmp);
	pacf_to_ar(x + o->p, o->q, ma, wk->tmp);
	pacf_to_ar(x + o->p + o->q, o->P, sar, wk->tmp);
	pacf_to_ar(x + o->p + o->q + o->P, o->Q, sma, wk->tmp);
	for (unsigned j = 0; j < o->q; j++)
		ma[j] = -ma[j];
	for (unsigned j = 0; j < o->Q; j++)
		sma[j] = -sma[j];
	wk->c = o->constant ? wk->cstart + wk->cscale * x[wk->ncoef] : 0.0;

	/* phi(B)Phi(B^m) = 1 - sum phid[i] B^(i+1): phid = ar + sar - ar*sar */
	memset(wk->phid, 0, wk->r * sizeof(double));
	memset(wk->thd, 0, wk->r * sizeof(double));
	for (unsigned i = 0; i < o->p; i++)
		wk->phid[i] += ar[i];
	for (unsigned j = 0; j < o->P; j++) {
		wk->phid[(j + 1) * m - 1] += sar[j];
		for (unsigned i = 0; i < o->p; i++)
			wk->phid[(j + 1) * m + i] -= ar[i] * sar[j];
	}
	/* theta(B)Theta(B^m) = 1 + sum thd[i] B^i: thd = ma + sma + ma*sma */
	wk->thd[0] = 1.0;
	for (unsigned i = 0; i < o->q; i++)
		wk->thd[i + 1] += ma[i];
	for (unsigned j = 0; j < o->Q; j++) {
		wk->thd[(j + 1) * m] += sma[j];
		for (unsigned i = 0; i < o->q; i++)
			wk->thd[(j + 1) * m + i + 1] += ma[i] * sma[j];
	}
	wk->nlp = 0;
	for (size_t i = 0; i < wk->np; i++) {
		if (wk->phid[i] != 0.0) {
			wk->lp[wk->nlp] = i + 1;
			wk->vp[wk->nlp++] = wk->phid[i];
		}
	}
	wk->nlq = 0;
	for (size_t i = 0; i <= wk->nq; i++) {
		if (wk->thd[i] != 0.0) {
			wk->lq[wk->nlq] = i;
			wk->vq[wk->nlq++] = wk->thd[i];
		}
	}
}

/* R's CSS objective: 0.5 log(mean squared residual), conditioning on the first np values. */
static double css_value(struct arima_work *wk)
{
	const double *w = wk->w;
	double *e = wk->e, c = wk->c, ssq = 0;

	memset(e, 0, wk->np * sizeof(double));
	for (size_t t = wk->np; t < wk->nw; t++) {
		double v = w[t] - c;

		for (size_t i = 0; i < wk->nlp; i++)
			v -= wk->vp[i] * (w[t - wk->lp[i]] - c);
		/* lq[0] is lag 0 (coefficient 1): the residual itself */
		for (size_t j = 1; j < wk->nlq; j++) {
			if (wk->lq[j] <= t)
				v -= wk->vq[j] * e[t - wk->lq[j]];
		}
		e[t] = v;
		ssq += v * v;
	}
	wk->ssq = ssq;
	wk->nres = wk->nw - wk->np;
	return 0.5 * log(ssq / (double)wk->nres);
}

/* The MA coefficient at lag l (thd with lag 0 = 1), zero beyond the polynomial. */
static double theta_at(const struct arima_work *wk, size_t l)
{
	return l <= wk->nq ? wk->thd[l] : 0.0;
}

/*
 * Autocovariances gam[0..r] and psi weights psi[0..r] of the ARMA with unit innovation
 * variance: solves gam_k - sum phi_i gam_|k-i| = sum_{j>=k} theta_j psi_{j-k} for k <= np and
 * continues the recursion beyond. False if the system is singular (not stationary).
 */
static bool arma_acov(struct arima_work *wk)
{
	size_t r = wk->r, np = wk->np;
	int sign;

	for (size_t j = 0; j <= r; j++) {
		double s = theta_at(wk, j);

		for (size_t i = 0; i < wk->nlp && wk->lp[i] <= j; i++)
			s += wk->vp[i] * wk->psi[j - wk->lp[i]];
		wk->psi[j] = s;
	}
	for (size_t k = 0; k <= r; k++) {
		double s = 0;

		for (size_t j = k; j <= wk->nq; j++)
			s += wk->thd[j] * wk->psi[j - k];
		wk->gam[k] = s; /* the right side for now */
	}
	if (np > 0) {
		gsl_matrix_set_identity(wk->A);
		for (size_t k = 0; k <= np; k++) {
			for (size_t i = 0; i < wk->nlp; i++) {
				size_t l = wk->lp[i], h = k > l ? k - l : l - k;

				*gsl_matrix_ptr(wk->A, k, h) -= wk->vp[i];
			}
			gsl_vector_set(wk->b, k, wk->gam[k]);
		}
		if (gsl_linalg_LU_decomp(wk->A, wk->perm, &sign) != GSL_SUCCESS ||
		    gsl_linalg_LU_svx(wk->A, wk->perm, wk->b) != GSL_SUCCESS)
			return false;
		for (size_t k = 0; k <= np; k++)
			wk->gam[k] = gsl_vector_get(wk->b, k);
		for (size_t k = np + 1; k <= r; k++) {
			double s = wk->gam[k];

			for (size_t i = 0; i < wk->nlp; i++)
				s += wk->vp[i] * wk->gam[k - wk->lp[i]];
			wk->gam[k] = s;
		}
	}
	return isfinite(wk->gam[0]) && wk->gam[0] > 0;
}

/*
 * The stationary covariance of Harvey's state, sigma2 = 1. State i is
 * a[i] = sum_{k>i} phi_k w_{t+i-k} + sum_{k>=i} theta_k e_{t+i-k}, so each entry is a short
 * double sum over the non-zero terms of autocovariances and psi weights.
 */
static void state_cov(struct arima_work *wk)
{
	size_t r = wk->r;

	for (size_t i = 0; i < r; i++) {
		for (size_t j = i; j < r; j++) {
			double s = 0;

			for (size_t u = 0; u < wk->nlp; u++) {
				size_t k = wk->lp[u];

				if (k <= i)
					continue;
				for (size_t v = 0; v < wk->nlp; v++) {
					size_t l = wk->lp[v];
					long h = ((long)i - (long)k) - ((long)j - (long)l);

					if (l > j)
						s += wk->vp[u] * wk->vp[v] * wk->gam[labs(h)];
				}
				for (size_t v = 0; v < wk->nlq; v++) {
					size_t l = wk->lq[v];
					long h = ((long)i - (long)k) - ((long)j - (long)l);

					if (l >= j && h >= 0)
						s += wk->vp[u] * wk->vq[v] * wk->psi[h];
				}
			}
			for (size_t u = 0; u < wk->nlq; u++) {
				size_t k = wk->lq[u];

				if (k < i)
					continue;
				for (size_t v = 0; v < wk->nlp; v++) {
					size_t l = wk->lp[v];
					long h = ((long)j - (long)l) - ((long)i - (long)k);

					if (l > j && h >= 0)
						s += wk->vq[u] * wk->vp[v] * wk->psi[h];
				}
				s += wk->vq[u] * theta_at(wk, k + j - i);
			}
			wk->P[i * r + j] = s;
			wk->P[j * r + i] = s;
		}
	}
}

/*
 * One covariance step of the filter, P' = shift(P - M M'/F) + thd thd' (M = P's first row),
 * on the upper triangle only: the only part ever read.
 */
static void p_step(const double *P, double *Pn, const double *M, const double *thd, double F,
                   size_t r)
{
	for (size_t i = 0; i + 1 < r; i++) {
		const double *src = P + (i + 1) * r + 1; /* src[j] = P[i+1][j+1] */
		double mi = M[i + 1] / F, ti = thd[i], *dst = Pn + i * r;

		for (size_t j = i; j + 1 < r; j++)
			dst[j] = src[j] - mi * M[j + 1] + ti * thd[j];
		dst[r - 1] = ti * thd[r - 1];
	}
	Pn[r * r - 1] = thd[r - 1] * thd[r - 1];
}

/*
 * Runs the Kalman filter over w and returns R's concentrated objective
 * 0.5 log(ssq / n) + 0.5 sum(log F) / n. Leaves the predicted state in a, and the first column
 * of P and F (the gain) of the last step in M and F.
 */
static double ml_value(struct arima_work *wk)
{
	size_t r = wk->r;
	double *a = wk->a, *M = wk->M, ssq = 0, sumlog = 0, F = 1;
	size_t quiet = 0;
	bool frozen = false;

	if (!arma_acov(wk))
		return NAN;
	state_cov(wk);
	memset(a, 0, r * sizeof(double));
	for (size_t t = 0; t < wk->nw; t++) {
		double v = wk->w[t] - wk->c - a[0], a0;

		if (!frozen) {
			double diff = 0, *sw;

			F = wk->P[0];
			if (!(F > 0))
				return NAN;
			memcpy(M, wk->P, r * sizeof(double));
			p_step(wk->P, wk->Pn, M, wk->thd, F, r);
			for (size_t j = 0; j < r; j++)
				diff = fmax(diff, fabs(wk->Pn[j] - wk->P[j]));
			sw = wk->P;
			wk->P = wk->Pn;
			wk->Pn = sw;
			/* row i becomes row 0 i steps later: r quiet steps mean all of P is quiet */
			quiet = diff < AR_P_TOL ? quiet + 1 : 0;
			frozen = quiet > r;
		}
		ssq += v * v / F;
		sumlog += log(F);
		/* a' = T (a + M v / F) */
		a0 = a[0] + v;
		for (size_t i = 0; i + 1 < r; i++)
			a[i] = wk->phid[i] * a0 + a[i + 1] + M[i + 1] * v / F;
		a[r - 1] = wk->phid[r - 1] * a0;
	}
	wk->F = F;
	wk->ssq = ssq;
	wk->sumlog = sumlog;
	wk->nres = wk->nw;
	return 0.5 * log(ssq / (double)wk->nw) + 0.5 * sumlog / (double)wk->nw;
}

/* Smallest root modulus of 1 + sign * sum c[i] z^(i+1), trailing near-zeros dropped. */
static double min_root(const double *c, size_t n, double sign)
{
	double a[AR_MAX_P + AR_MAX_Q + 1], z[2 * (AR_MAX_P + AR_MAX_Q)], best = INFINITY;
	gsl_poly_complex_workspace *ws;

	while (n > 0 && fabs(c[n - 1]) <= 1e-8)
		n--;
	if (n == 0)
		return INFINITY;
	if (n == 1)
		return 1.0 / fabs(c[0]);
	if (n > AR_MAX_P + AR_MAX_Q)
		return INFINITY; /* orders beyond the search's are not screened */
	a[0] = 1.0;
	for (size_t i = 0; i < n; i++)
		a[i + 1] = sign * c[i];
	ws = gsl_poly_complex_workspace_alloc(n + 1);
	if (!ws)
		return 0.0;
	if (gsl_poly_complex_solve(a, n + 1, ws, z) == GSL_SUCCESS) {
		for (size_t i = 0; i < n; i++)
			best = fmin(best, hypot(z[2 * i], z[2 * i + 1]));
	} else {
		best = 0.0;
	}
	gsl_poly_complex_workspace_free(ws);
	return best;
}

/*
 * myarima's screen: true when every root of the expanded AR and MA polynomials lies at least
 * 1.01 from the origin. The roots of a factor in B^m are the m-th roots of the factor's.
 */
static bool roots_ok(const struct forecast_arima_order *o, const double *coef)
{
	const double *ar = coef, *ma = ar + o->p, *sar = ma + o->q, *sma = sar + o->P;
	double mr = fmin(min_root(ar, o->p, -1.0), min_root(ma, o->q, 1.0));
	double ms = fmin(min_root(sar, o->P, -1.0), min_root(sma, o->Q, 1.0));

	if (isfinite(ms))
		mr = fmin(mr, pow(ms, 1.0 / (double)o->m));
	return mr >= AR_MIN_ROOT;
}

/* What BFGS minimises: the CSS or the ML objective at the raw parameters. */
struct arima_obj {
	struct arima_work *wk; /* the problem */
	bool ml;               /* exact likelihood rather than CSS */
};

static double obj_eval(struct arima_obj *ob, const double *x)
{
	double v;

	work_set(ob->wk, x);
	v = ob->ml ? ml_value(ob->wk) : css_value(ob->wk);
	return isfinite(v) && v < AR_BAD ? v : AR_BAD;
}

static double obj_f(const gsl_vector *x, void *arg)
{
	return obj_eval(arg, x->data);
}

static void obj_df(const gsl_vector *x, void *arg, gsl_vector *g)
{
	struct arima_obj *ob = arg;
	double *xs = ob->wk->x;

	memcpy(xs, x->data, ob->wk->k * sizeof(double));
	for (size_t i = 0; i < ob->wk->k; i++) {
		double up, down;

		xs[i] = x->data[i] + AR_FD_STEP;
		up = obj_eval(ob, xs);
		xs[i] = x->data[i] - AR_FD_STEP;
		down = obj_eval(ob, xs);
		xs[i] = x->data[i];
		gsl_vector_set(g, i, (up - down) / (2 * AR_FD_STEP));
	}
}

static void obj_fdf(const gsl_vector *x, void *arg, double *f, gsl_vector *g)
{
	obj_df(x, arg, g);
	*f = obj_f(x, arg);
}

/* How a minimisation ended. */
enum arima_min {
	AR_MIN_DONE,     /* converged or out of iterations: x holds the best point */
	AR_MIN_REJECTED, /* screening: the roots stayed too near the unit circle; x is useless */
	AR_MIN_NOMEM,    /* the minimiser could not be allocated */
};

/*
 * Minimises the objective from x (in place). With screen, gives up once the coefficients have
 * failed myarima's root screen for AR_SCREEN_ITERS iterations in a row: such a search ends on
 * the unit circle, where the filter converges slowly and BFGS crawls, and the model would be
 * rejected anyway.
 */
static enum arima_min minimise(struct arima_work *wk, bool ml, bool screen, double *x)
{
	struct arima_obj ob = {.wk = wk, .ml = ml};
	gsl_multimin_function_fdf fn = {
	        .f = obj_f, .df = obj_df, .fdf = obj_fdf, .n = wk->k, .params = &ob};
	gsl_multimin_fdfminimizer *s;
	gsl_vector_view xv;
	enum arima_min res = AR_MIN_DONE;
	int bad = 0;

	if (wk->k == 0)
		return AR_MIN_DONE;
	s = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, wk->k);
	if (!s)
		return AR_MIN_NOMEM;
	xv = gsl_vector_view_array(x, wk->k);
	gsl_multimin_fdfminimizer_set(s, &fn, &xv.vector, 0.1, 0.1);
	for (int it = 0; it < AR_MAX_ITER; it++) {
		double before = s->f;

		if (gsl_multimin_fdfminimizer_iterate(s) != GSL_SUCCESS)
			break;
		if (gsl_multimin_test_gradient(s->gradient, AR_GRAD_TOL) == GSL_SUCCESS ||
		    fabs(before - s->f) < AR_REL_TOL * (fabs(s->f) + AR_REL_TOL))
			break;
		if (screen) {
			work_set(wk, s->x->data);
			bad = roots_ok(&wk->o, wk->coef) ? 0 : bad + 1;
			if (bad >= AR_SCREEN_ITERS) {
				res = AR_MIN_REJECTED;
				break;
			}
		}
	}
	memcpy(x, s->x->data, wk->k * sizeof(double));
	gsl_multimin_fdfminimizer_free(s);
	return res;
}

static void work_free(struct arima_work *wk)
{
	gsl_matrix_free(wk->A);
	gsl_vector_free(wk->b);
	gsl_permutation_free(wk->perm);
	free(wk->mem);
	memset(wk, 0, sizeof(*wk));
}

/* Sets up the problem of fitting order o to w; false when memory fails. */
static bool work_init(struct arima_work *wk, const double *w, size_t nw,
                      const struct forecast_arima_order *o)
{
	size_t np = o->p + o->P * o->m, nq = o->q + o->Q * o->m, r = np > nq + 1 ? np : nq + 1;
	size_t ncoef = o->p + o->q + o->P + o->Q, k = ncoef + o->constant;
	size_t maxo = o->p > o->q ? o->p : o->q, nd, ni;
	double mean = 0, var = 0;
	double *d;
	size_t *z;

	maxo = maxo > o->P ? maxo : o->P;
	maxo = maxo > o->Q ? maxo : o->Q;
	memset(wk, 0, sizeof(*wk));
	nd = ncoef + 2 * r + maxo + nw + 2 * r * r + 2 * r + 2 * (r + 1) + 2 * k + np + nq + 1;
	ni = np + nq + 1;
	wk->mem = malloc(nd * sizeof(double) + ni * sizeof(size_t));
	wk->A = gsl_matrix_alloc(np + 1, np + 1);
	wk->b = gsl_vector_alloc(np + 1);
	wk->perm = gsl_permutation_alloc(np + 1);
	if (!wk->mem || !wk->A || !wk->b || !wk->perm) {
		work_free(wk);
		return false;
	}
	d = wk->mem;
	wk->coef = d, d += ncoef;
	wk->phid = d, d += r;
	wk->thd = d, d += r;
	wk->tmp = d, d += maxo;
	wk->e = d, d += nw;
	wk->P = d, d += r * r;
	wk->Pn = d, d += r * r;
	wk->a = d, d += r;
	wk->M = d, d += r;
	wk->gam = d, d += r + 1;
	wk->psi = d, d += r + 1;
	wk->raw = d, d += k;
	wk->x = d, d += k;
	wk->vp = d, d += np;
	wk->vq = d, d += nq + 1;
	z = (size_t *)d;
	wk->lp = z, z += np;
	wk->lq = z;
	wk->w = w;
	wk->nw = nw;
	wk->o = *o;
	wk->ncoef = ncoef;
	wk->k = k;
	wk->np = np;
	wk->nq = nq;
	wk->r = r;
	for (size_t t = 0; t < nw; t++)
		mean += w[t];
	mean /= (double)nw;
	for (size_t t = 0; t < nw; t++)
		var += (w[t] - mean) * (w[t] - mean);
	var /= nw > 1 ? (double)(nw - 1) : 1.0;
	wk->cstart = mean;
	wk->cscale = var > 0 ? 10 * sqrt(var / (double)nw) : 1.0;
	memset(wk->raw, 0, k * sizeof(double));
	return true;
}

/* The number of parameters AICc counts: coefficients, constant and sigma2. */
static size_t npar(const struct forecast_arima_order *o)
{
	return o->p + o->q + o->P + o->Q + o->constant + 1;
}

static double aicc_of(double loglik, size_t np, size_t nstar)
{
	double aic = -2 * loglik + 2 * (double)np;

	if (nstar <= np + 1)
		return INFINITY;
	return aic + 2.0 * (double)(np * (np + 1)) / (double)(nstar - np - 1);
}

/* Allocates out's arrays for order o and fills the parts that depend only on y. */
static bool model_alloc(struct forecast_arima *out, const double *y, size_t n,
                        const struct forecast_arima_order *o)
{
	size_t ncoef = o->p + o->q + o->P + o->Q;
	size_t np = o->p + o->P * o->m, nq = o->q + o->Q * o->m, r = np > nq + 1 ? np : nq + 1;
	size_t nd = o->d + o->D * o->m;
	double *d;

	memset(out, 0, sizeof(*out));
	out->mem = calloc(ncoef + np + nq + 3 * r + 2 * nd + 1, sizeof(double));
	if (!out->mem)
		return false;
	d = out->mem;
	out->coef = d, d += ncoef;
	out->phi = d, d += np;
	out->theta = d, d += nq;
	out->state = d, d += r;
	out->gain = d, d += r;
	out->scratch = d, d += r;
	out->delta = d, d += nd;
	out->last = d;
	out->order = *o;
	out->np = np;
	out->nq = nq;
	out->r = r;
	out->nd = diff_poly(o->d, o->D, o->m, out->delta);
	for (size_t j = 0; j < nd; j++)
		out->last[j] = y[n - 1 - j];
	out->n = n;
	return true;
}

/*
 * forecast::Arima's sigma2, which its intervals use: the sum of squared residuals over
 * n* - npar + 1 rather than the ML estimate's n*.
 */
static void df_sigma2(struct forecast_arima *a, size_t k, size_t nstar)
{
	if (nstar + 1 > k)
		a->sigma2 *= (double)nstar / (double)(nstar + 1 - k);
}

/* Copies the work's final ML filter (state, gain, likelihood) and coefficients into out. */
static void model_take(struct forecast_arima *out, const struct arima_work *wk)
{
	const struct forecast_arima_order *o = &wk->o;
	size_t nw = wk->nw;

	memcpy(out->coef, wk->coef, wk->ncoef * sizeof(double));
	memcpy(out->phi, wk->phid, wk->np * sizeof(double));
	memcpy(out->theta, wk->thd + 1, wk->nq * sizeof(double));
	memcpy(out->state, wk->a, wk->r * sizeof(double));
	for (size_t i = 0; i < wk->r; i++)
		out->gain[i] = i + 1 < wk->r ? wk->M[i + 1] / wk->F : 0.0;
	out->wmean = wk->c;
	out->constant = o->D > 0 ? wk->c / (double)o->m : wk->c;
	out->sigma2 = wk->ssq / (double)nw;
	out->loglik = -0.5 * ((double)nw * log(out->sigma2) + wk->sumlog + (double)nw +
	                      (double)nw * log(2 * M_PI));
	out->aicc = aicc_of(out->loglik, npar(o), nw);
	df_sigma2(out, npar(o), nw);
}

/* Checks an order for fit: consistent, and small enough for the series. */
static bool order_valid(const struct forecast_arima_order *o, size_t n)
{
	size_t nd, np, nq, r, k;

	if (o->m == 0 || (o->m == 1 && (o->P || o->D || o->Q)))
		return false;
	if (o->constant && o->d + o->D > 1)
		return false;
	if (o->p > AR_FIT_MAX_PQ || o->q > AR_FIT_MAX_PQ || o->P > AR_FIT_MAX_PQ ||
	    o->Q > AR_FIT_MAX_PQ || o->d > AR_FIT_MAX_D || o->D > AR_FIT_MAX_SD ||
	    o->m > AR_MAX_STATE)
		return false;
	nd = o->d + o->D * o->m;
	np = o->p + o->P * o->m;
	nq = o->q + o->Q * o->m;
	r = np > nq + 1 ? np : nq + 1;
	k = o->p + o->q + o->P + o->Q + o->constant;
	return r <= AR_MAX_STATE && nd < n && n - nd > np && n - nd >= k + 2;
}

/* What fit_order does with an order. */
enum arima_fit {
	AR_FIT_FULL,   /* CSS then ML, the model is kept whatever its roots (forecast_arima_fit) */
	AR_FIT_SEARCH, /* CSS then ML, giving up early on models the root screen will reject */
	AR_FIT_CSS,    /* CSS only, for the approximate criterion; no model is built */
};

/*
 * Fits order o to y (w is scratch [n]). *ic gets the AICc (CSS-based for AR_FIT_CSS) or
 * INFINITY when the root screen rejects the model. Except for AR_FIT_CSS, out receives the
 * model when true is returned (it may have ic INFINITY). False when the order does not suit
 * the series, memory fails, or the likelihood cannot be evaluated; out then owns nothing.
 */
static bool fit_order(const double *y, size_t n, const struct forecast_arima_order *o,
                      enum arima_fit mode, double *w, struct forecast_arima *out, double *ic)
{
	struct arima_work wk;
	size_t nw, np = npar(o);
	enum arima_min res;
	double *x;

	*ic = INFINITY;
	if (!order_valid(o, n))
		return false;
	nw = difference(y, n, o->d, o->D, o->m, w);
	if (!work_init(&wk, w, nw, o))
		return false;
	x = wk.raw;
	res = minimise(&wk, false, mode == AR_FIT_CSS, x);
	if (res == AR_MIN_NOMEM || (res == AR_MIN_REJECTED && mode == AR_FIT_CSS)) {
		work_free(&wk);
		return res != AR_MIN_NOMEM;
	}
	if (mode == AR_FIT_CSS) {
		double v = obj_eval(&(struct arima_obj){.wk = &wk, .ml = false}, x);

		/* myarima's CSS criterion n* log(sigma2) + penalties, less a constant offset */
		if (v < AR_BAD && roots_ok(o, wk.coef) && wk.ssq > 0)
			*ic = aicc_of(-0.5 * (double)nw * log(wk.ssq / (double)wk.nres), np, nw);
		work_free(&wk);
		return true;
	}
	for (size_t i = 0; i < wk.ncoef; i++)
		x[i] = fmax(-AR_RAW_CLIP, fmin(AR_RAW_CLIP, x[i]));
	res = minimise(&wk, true, mode == AR_FIT_SEARCH, x);
	if (res != AR_MIN_DONE ||
	    !(obj_eval(&(struct arima_obj){.wk = &wk, .ml = true}, x) < AR_BAD) || !(wk.ssq > 0) ||
	    !model_alloc(out, y, n, o)) {
		work_free(&wk);
		return false;
	}
	model_take(out, &wk);
	work_free(&wk);
	if (isfinite(out->aicc) && roots_ok(o, out->coef))
		*ic = out->aicc;
	return true;
}

static bool all_finite(const double *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(y[i]))
			return false;
	}
	return true;
}

bool forecast_arima_fit(const double *y, size_t n, const struct forecast_arima_order *o,
                        struct forecast_arima *out)
{
	double *w, ic;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (!y || !o || n == 0 || !all_finite(y, n) || !order_valid(o, n))
		return false;
	w = malloc(n * sizeof(double));
	if (!w)
		return false;
	ok = fit_order(y, n, o, AR_FIT_FULL, w, out, &ic);
	free(w);
	return ok;
}

/*
 * ARIMA(0,d,0)(0,D,0) with the constant fixed at c (or none): the fall-back for constant and
 * unfittable series, as auto.arima's fits with "fixed". w - c is white noise.
 */
static bool model_fixed(const double *y, size_t n, const struct forecast_arima_order *o, double c,
                        double *w, struct forecast_arima *out)
{
	size_t nw = difference(y, n, o->d, o->D, o->m, w);
	double ssq = 0;

	if (nw == 0 || !model_alloc(out, y, n, o))
		return false;
	for (size_t t = 0; t < nw; t++)
		ssq += (w[t] - c) * (w[t] - c);
	out->wmean = c;
	out->constant = o->D > 0 ? c / (double)o->m : c;
	out->sigma2 = ssq / (double)nw;
	if (out->sigma2 > 0) {
		out->loglik = -0.5 * (double)nw * (log(2 * M_PI * out->sigma2) + 1.0);
		out->aicc = aicc_of(out->loglik, 1, nw);
		df_sigma2(out, 1, nw);
	} else {
		/* a perfect fit: R reports an infinite likelihood too */
		out->loglik = INFINITY;
		out->aicc = -INFINITY;
	}
	return true;
}

/*
 * The KPSS level-stationarity statistic with urca's Bartlett window of trunc(3 sqrt(n) / 13)
 * lags (the lag ndiffs asks for).
 */
static double kpss_stat(const double *x, size_t n)
{
	size_t lags = (size_t)trunc(3.0 * sqrt((double)n) / 13.0);
	double mean = 0, s = 0, eta = 0, s2 = 0;

	for (size_t t = 0; t < n; t++)
		mean += x[t];
	mean /= (double)n;
	for (size_t t = 0; t < n; t++) {
		double e = x[t] - mean;

		s += e;
		eta += s * s;
		s2 += e * e;
	}
	eta /= (double)n * (double)n;
	for (size_t l = 1; l <= lags && l < n; l++) {
		double cov = 0;

		for (size_t t = l; t < n; t++)
			cov += (x[t] - mean) * (x[t - l] - mean);
		s2 += 2.0 * (1.0 - (double)l / (double)(lags + 1)) * cov;
	}
	s2 /= (double)n;
	return eta / s2;
}

/* ndiffs: differences while KPSS rejects level stationarity at 5%, at most twice. */
static unsigned ndiffs(double *x, size_t n)
{
	unsigned d = 0;

	if (is_constant(x, n))
		return 0;
	while (d < AR_MAX_D && n > 2) {
		double stat = kpss_stat(x, n);

		if (!(isfinite(stat) && stat > AR_KPSS_CRIT))
			break;
		d++;
		n = difference(x, n, 1, 0, 1, x);
		if (is_constant(x, n))
			break;
	}
	return d;
}

/* One row of the stepwise search's table. */
struct arima_cand {
	unsigned p, q, P, Q; /* the orders tried */
	bool constant;       /* with mean or drift */
	double ic;           /* its AICc (CSS-based when approximating), INFINITY if rejected */
};

/* What the stepwise search shares between candidates. */
struct arima_search {
	const double *y;                            /* the series */
	size_t n;                                   /* its length */
	unsigned d, D;                              /* the chosen differences */
	size_t m;                                   /* season length */
	bool approx;                                /* CSS during the search, ML for the winner */
	double *w;                                  /* [n] differencing scratch */
	struct arima_cand tried[AR_MAX_MODELS + 8]; /* every model fit so far */
	size_t ntried;                              /* how many */
	struct forecast_arima best;                 /* the best ML fit so far (without approx) */
	bool have_best;                             /* best holds a model */
	double best_ic;                             /* its criterion */
};

static struct forecast_arima_order search_order(const struct arima_search *s, unsigned p,
                                                unsigned q, unsigned P, unsigned Q, bool c)
{
	struct forecast_arima_order o = {
	        .p = p, .d = s->d, .q = q, .P = P, .D = s->D, .Q = Q, .m = s->m, .constant = c};
	return o;
}

/* Fits a candidate unless already tried or beyond the limits; true if it beat the best. */
static bool try_model(struct arima_search *s, unsigned p, unsigned q, unsigned P, unsigned Q,
                      bool c)
{
	struct forecast_arima_order o = search_order(s, p, q, P, Q, c);
	struct forecast_arima fit = {0};
	double ic;

	if (p + q + P + Q > AR_MAX_ORDER || s->ntried >= AR_MAX_MODELS)
		return false;
	for (size_t i = 0; i < s->ntried; i++) {
		const struct arima_cand *t = &s->tried[i];

		if (t->p == p && t->q == q && t->P == P && t->Q == Q && t->constant == c)
			return false;
	}
	/* an order too big for the series, or a failed allocation, is just not a candidate */
	if (!fit_order(s->y, s->n, &o, s->approx ? AR_FIT_CSS : AR_FIT_SEARCH, s->w, &fit, &ic))
		ic = INFINITY;
	s->tried[s->ntried++] = (struct arima_cand){p, q, P, Q, c, ic};
	if (ic < s->best_ic) {
		s->best_ic = ic;
		if (!s->approx) {
			forecast_arima_cleanup(&s->best);
			s->best = fit;
			s->have_best = true;
		}
		return true;
	}
	forecast_arima_cleanup(&fit);
	return false;
}

/* The moves of the stepwise search around the current best (P, Q first, as R). */
struct arima_move {
	int dp, dq, dP, dQ; /* change of each order */
};

static const struct arima_move ar_moves[] = {
        {0, 0, -1, 0},  {0, 0, 0, -1}, {0, 0, 1, 0},  {0, 0, 0, 1},  {0, 0, -1, -1}, {0, 0, -1, 1},
        {0, 0, 1, -1},  {0, 0, 1, 1},  {-1, 0, 0, 0}, {0, -1, 0, 0}, {1, 0, 0, 0},   {0, 1, 0, 0},
        {-1, -1, 0, 0}, {-1, 1, 0, 0}, {1, -1, 0, 0}, {1, 1, 0, 0},
};

/*
 * Hyndman-Khandakar's stepwise search: the four starting models (and the null model without
 * constant), then single and paired order moves and the constant toggle from the current best,
 * restarting after every improvement, until no move improves. Unlike R's stepwise search it
 * also keeps p + q + P + Q <= 5 (R applies max.order only to its exhaustive search).
 */
static void stepwise(struct arima_search *s, unsigned max_p, unsigned max_q, unsigned max_P,
                     unsigned max_Q, bool constant)
{
	unsigned p = 2, q = 2, P = 1, Q = 1;
	bool c = constant;

	if (s->n < 10) {
		p = q = 1;
		P = Q = 0;
	}
	p = p < max_p ? p : max_p;
	q = q < max_q ? q : max_q;
	P = P < max_P ? P : max_P;
	Q = Q < max_Q ? Q : max_Q;
	try_model(s, p, q, P, Q, c);
	if (try_model(s, 0, 0, 0, 0, c))
		p = q = P = Q = 0;
	if ((max_p > 0 || max_P > 0) && try_model(s, max_p > 0, 0, s->m > 1 && max_P > 0, 0, c)) {
		p = max_p > 0;
		P = s->m > 1 && max_P > 0;
		q = Q = 0;
	}
	if ((max_q > 0 || max_Q > 0) && try_model(s, 0, max_q > 0, 0, s->m > 1 && max_Q > 0, c)) {
		q = max_q > 0;
		Q = s->m > 1 && max_Q > 0;
		p = P = 0;
	}
	if (constant && try_model(s, 0, 0, 0, 0, false)) {
		p = q = P = Q = 0;
		c = false;
	}
	for (bool improved = true; improved && s->ntried < AR_MAX_MODELS;) {
		improved = false;
		for (size_t i = 0; i < sizeof(ar_moves) / sizeof(ar_moves[0]); i++) {
			const struct arima_move *mv = &ar_moves[i];
			int np = (int)p + mv->dp, nq = (int)q + mv->dq;
			int nP = (int)P + mv->dP, nQ = (int)Q + mv->dQ;

			if (np < 0 || nq < 0 || nP < 0 || nQ < 0 || np > (int)max_p ||
			    nq > (int)max_q || nP > (int)max_P || nQ > (int)max_Q)
				continue;
			if (try_model(s, (unsigned)np, (unsigned)nq, (unsigned)nP, (unsigned)nQ,
			              c)) {
				p = (unsigned)np;
				q = (unsigned)nq;
				P = (unsigned)nP;
				Q = (unsigned)nQ;
				improved = true;
				break;
			}
		}
		if (!improved && constant && try_model(s, p, q, P, Q, !c)) {
			c = !c;
			improved = true;
		}
	}
}

static int cand_cmp(const void *x, const void *y)
{
	double a = ((const struct arima_cand *)x)->ic, b = ((const struct arima_cand *)y)->ic;

	return a < b ? -1 : a > b ? 1 : 0;
}

/* auto.arima's answer for a series whose differences are constant: fixed drift or none. */
static bool auto_constant_diffs(const double *y, size_t n, unsigned d, unsigned D, size_t m,
                                double *w, struct forecast_arima *out)
{
	struct forecast_arima_order o = {.d = d, .D = D, .m = D ? m : 1};
	size_t nw = difference(y, n, d, D, o.m, w);
	double c = 0;

	if (d + D <= 1) {
		for (size_t t = 0; t < nw; t++)
			c += w[t];
		c /= nw ? (double)nw : 1.0;
		o.constant = true;
	}
	return model_fixed(y, n, &o, c, w, out);
}

/* The last resort: ARIMA(0,0,0) with the mean, which any non-empty series can have. */
static bool auto_mean(const double *y, size_t n, double *w, struct forecast_arima *out)
{
	struct forecast_arima_order o = {.m = 1, .constant = true};
	double c = 0;

	for (size_t t = 0; t < n; t++)
		c += y[t];
	return model_fixed(y, n, &o, c / (double)n, w, out);
}

bool forecast_arima_auto(const double *y, size_t n, size_t m, struct forecast_arima *out)
{
	struct arima_search *s;
	unsigned max_p, max_q, max_P, max_Q, d, D = 0;
	size_t nx;
	double *w;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	if (!y || n == 0 || !all_finite(y, n))
		return false;
	m = m < 1 ? 1 : m;
	w = malloc((2 * n + m) * sizeof(double));
	if (!w)
		return false;
	if (is_constant(y, n)) {
		ok = auto_mean(y, n, w, out);
		free(w);
		return ok;
	}
	max_p = (unsigned)(n / 3 < AR_MAX_P ? n / 3 : AR_MAX_P);
	max_q = (unsigned)(n / 3 < AR_MAX_Q ? n / 3 : AR_MAX_Q);
	max_P = (unsigned)(n / 3 / m < AR_MAX_SP ? n / 3 / m : AR_MAX_SP);
	max_Q = (unsigned)(n / 3 / m < AR_MAX_SQ ? n / 3 / m : AR_MAX_SQ);
	if (m == 1)
		max_P = max_Q = 0;
	else if (n > 2 * m && forecast_decomp_strength(y, n, m, w + n) > AR_SEAS_STRENGTH)
		D = 1;
	nx = difference(y, n, 0, D, m, w);
	d = ndiffs(w, nx);
	nx = difference(y, n, d, D, m, w);
	if (nx == 0) {
		ok = auto_mean(y, n, w, out);
		free(w);
		return ok;
	}
	if (is_constant(w, nx)) {
		ok = auto_constant_diffs(y, n, d, D, m, w, out) || auto_mean(y, n, w, out);
		free(w);
		return ok;
	}
	if (m > 1) {
		if (max_P > 0 && max_p > m - 1)
			max_p = (unsigned)(m - 1);
		if (max_Q > 0 && max_q > m - 1)
			max_q = (unsigned)(m - 1);
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		free(w);
		return false;
	}
	*s = (struct arima_search){.y = y,
	                           .n = n,
	                           .d = d,
	                           .D = D,
	                           .m = m,
	                           .approx = n > 150 || m > 12,
	                           .w = w,
	                           .best_ic = INFINITY};
	stepwise(s, max_p, max_q, max_P, max_Q, d + D <= 1);
	if (!s->approx && s->have_best) {
		*out = s->best;
		ok = true;
	} else if (s->approx) {
		/* refit by ML in the order of the approximate criterion until one passes */
		qsort(s->tried, s->ntried, sizeof(s->tried[0]), cand_cmp);
		for (size_t i = 0; i < s->ntried && !ok && isfinite(s->tried[i].ic); i++) {
			const struct arima_cand *t = &s->tried[i];
			struct forecast_arima_order to =
			        search_order(s, t->p, t->q, t->P, t->Q, t->constant);
			double ic;

			if (fit_order(y, n, &to, AR_FIT_SEARCH, w, out, &ic)) {
				ok = isfinite(ic);
				if (!ok)
					forecast_arima_cleanup(out);
			}
		}
	}
	if (!ok) {
		/* nothing passed: the random walk or white noise of the chosen differences */
		struct forecast_arima_order fb = search_order(s, 0, 0, 0, 0, d + D <= 1);
		double ic;

		ok = fit_order(y, n, &fb, AR_FIT_FULL, w, out, &ic) ||
		     auto_constant_diffs(y, n, d, D, m, w, out) || auto_mean(y, n, w, out);
	}
	free(s);
	free(w);
	return ok;
}

void forecast_arima_update(struct forecast_arima *a, double y)
{
	double wv = y, v, a0;
	size_t r = a->r;

	if (!isfinite(y) || !a->mem)
		return;
	for (size_t j = 0; j < a->nd; j++)
		wv -= a->delta[j] * a->last[j];
	v = wv - a->wmean - a->state[0];
	a0 = a->state[0] + v;
	for (size_t i = 0; i + 1 < r; i++)
		a->state[i] = (i < a->np ? a->phi[i] : 0.0) * a0 + a->state[i + 1] + a->gain[i] * v;
	a->state[r - 1] = (r - 1 < a->np ? a->phi[r - 1] : 0.0) * a0;
	if (a->nd > 0) {
		memmove(a->last + 1, a->last, (a->nd - 1) * sizeof(double));
		a->last[0] = y;
	}
	a->n++;
}

void forecast_arima_forecast(const struct forecast_arima *a, struct forecast_pred *p)
{
	size_t r = a->r, h = p->h, L = a->np + a->nd;
	double *s = a->scratch, *var, acc = 0;

	if (!a->mem || h == 0)
		return;
	memcpy(s, a->state, r * sizeof(double));
	for (size_t i = 0; i < h; i++) {
		double a0 = s[0], yv = a0 + a->wmean;

		for (size_t j = 0; j < a->nd; j++)
			yv += a->delta[j] * (i >= j + 1 ? p->mean[i - 1 - j] : a->last[j - i]);
		p->mean[i] = yv;
		for (size_t k = 0; k + 1 < r; k++)
			s[k] = (k < a->np ? a->phi[k] : 0.0) * a0 + s[k + 1];
		s[r - 1] = (r - 1 < a->np ? a->phi[r - 1] : 0.0) * a0;
	}
	if (p->n_levels == 0)
		return;
	var = malloc(h * sizeof(double));
	if (!var) {
		for (size_t i = 0; i < p->n_levels * h; i++) {
			p->lo[i] = -INFINITY;
			p->hi[i] = INFINITY;
		}
		return;
	}
	/*
	 * psi weights of the integrated model: the AR side is phi(B)Phi(B^m) times the
	 * differencing, whose coefficients at lag i are phi_i + delta_i - sum phi_j delta_{i-j}.
	 */
	for (size_t j = 0; j < h; j++) {
		double psi = j == 0 ? 1.0 : (j <= a->nq ? a->theta[j - 1] : 0.0);

		for (size_t i = 1; i <= L && i <= j; i++) {
			double c = (i <= a->np ? a->phi[i - 1] : 0.0) +
			           (i <= a->nd ? a->delta[i - 1] : 0.0);

			for (size_t k = 1; k < i; k++) {
				if (k <= a->np && i - k <= a->nd)
					c -= a->phi[k - 1] * a->delta[i - k - 1];
			}
			psi += c * var[j - i];
		}
		var[j] = psi;
	}
	for (size_t j = 0; j < h; j++) {
		acc += var[j] * var[j];
		var[j] = a->sigma2 * acc;
	}
	forecast_pred_normal(p, var);
	free(var);
}

const char *forecast_arima_name(const struct forecast_arima *a, char *buf, size_t len)
{
	const struct forecast_arima_order *o = &a->order;
	int k;

	if (len == 0)
		return buf;
	k = snprintf(buf, len, "ARIMA(%u,%u,%u)", o->p, o->d, o->q);
	if (k >= 0 && (size_t)k < len && o->m > 1 && o->P + o->D + o->Q > 0)
		k += snprintf(buf + k, len - (size_t)k, "(%u,%u,%u)[%zu]", o->P, o->D, o->Q, o->m);
	if (k >= 0 && (size_t)k < len && o->constant)
		snprintf(buf + k, len - (size_t)k, "%s",
		         o->d + o->D == 0 ? " with non-zero mean" : " with drift");
	return buf;
}

double forecast_arima_aicc(const struct forecast_arima *a)
{
	return a->aicc;
}

void forecast_arima_cleanup(struct forecast_arima *a)
{
	free(a->mem);
	memset(a, 0, sizeof(*a));
}
