/*
 * The Prophet-style model for one load series (see prophet.h): the design (intercept, time,
 * Fourier terms, changepoint hinges), the MAP fit, the per-window update and the simulated
 * forecast intervals. The fit forms the Gram matrix once; each pass then profiles out the
 * ridge-penalised block (trend and seasonality) through a Cholesky factor, leaving a lasso over
 * at most 25 rate changes: coordinate descent finds the active ones and an exact solve on them
 * finishes, in a few sweeps. A first pass with a strong ridge on the rate changes estimates the
 * noise; the following passes set the L1 penalty from it and reweight outlying observations
 * (Huber), downdating the Gram matrix only at the rows whose weight is below 1. The forecast
 * engine (forecast/engine.c) can keep one per key bucket.
 */
#include "forecast/prophet.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_permutation.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Candidates sit in the first 80% of the history, as in Prophet: the end is left to the
 * trend before it, since a change there would rest on too few points to be told from noise. */
#define CP_RANGE 0.8
/* Fewest steps between candidates: short series get fewer of them instead of collinear ones. */
#define CP_SPACING 4
/* Harmonics per period: period / HARM_DIV within [HARM_MIN, HARM_MAX]. Prophet's daily 4 on
 * hourly data at the low end; the cap is twice Prophet's yearly 10 because a weekly period on
 * sub-daily data must also carry how weekend days differ (on the NYC taxi series 20 weekly
 * harmonics cut the error by a third against 10). */
#define HARM_DIV 6
#define HARM_MIN 3
#define HARM_MAX 20
/* The L1 penalty on a rate change is CP_KAPPA noise standard deviations of its score: about
 * the lasso's universal threshold for 25 candidates, so white noise alone keeps them at zero. */
#define CP_KAPPA 3.0
/* Huber's threshold in robust standard deviations: only clear outliers lose weight. */
#define HUBER_C 2.0
/* Reweighted passes after the first, ridge-only one. */
#define IRLS_PASSES 3
/* Prophet's normal prior on the Fourier coefficients: sd 10 on the max-scaled series. */
#define SEASON_PRIOR_SD 10.0
/* Relative ridge on the profiled block: keeps its Cholesky factor positive definite. */
#define NUM_RIDGE 1e-8
/* Coordinate descent stops when no coefficient moves the fit by this much (relative). */
#define CD_TOL 1e-7
#define CD_MAX_SWEEPS 1000
/* Least residual scale, relative to max |y|. */
#define SD_FLOOR 1e-6
/* MAD to standard deviation for Gaussian residuals. */
#define MAD_TO_SD 1.4826
/* Simulated paths behind the intervals, as Prophet's uncertainty_samples. */
#define N_SAMPLES 1000
/* Share of the clipped residual that each update adds to the level offset. */
#define OFFSET_GAIN 0.05
/* Observations that the updated residual variance averages over. */
#define SIGMA_SPAN 200.0

/* The fit's scratch space: one allocation, all borrowed by the passes. */
struct fit_work {
	const double *y; /* the series */
	size_t n;        /* its length */
	size_t q;        /* ridge block: intercept, time, 2 * F Fourier columns */
	size_t s;        /* lasso block: candidate changepoints */
	size_t p;        /* q + s design columns */
	double *x;       /* p x n: row j is design column j, so Gram = X X' reads rows */
	double *g;       /* p x p unweighted Gram matrix, formed once */
	double *gw;      /* p x p weighted Gram matrix of the current pass; factored in place */
	double *c;       /* p: X y */
	double *cw;      /* p: X W y */
	double *z;       /* q x s: ridge block inverse times its cross block */
	double *h;       /* s x s: profiled Gram matrix of the rate changes */
	double *b;       /* s: profiled score of the rate changes */
	double *ridge;   /* q: ridge on the profiled block's diagonal */
	double *beta;    /* p: coefficients, rate changes last */
	double *r;       /* n: residuals of the current coefficients */
	double *w;       /* n: Huber weights */
	double *abs_r;   /* n: scratch for the median */
};

/* How many harmonics a period gets (see HARM_DIV). */
static size_t harmonics(size_t period)
{
	size_t k = period / HARM_DIV;

	if (k < HARM_MIN)
		k = HARM_MIN;
	if (k > HARM_MAX)
		k = HARM_MAX;
	/* frequencies above Nyquist alias onto lower ones at integer steps */
	if (k > period / 2)
		k = period / 2;
	return k;
}

/*
 * Lists the Fourier frequencies of the periods that the n steps cover, as fractions
 * num[f] / den[f] = k / P for k = 1..harmonics(P), skipping a frequency that an earlier period
 * already has (1/24 is 7/168), which would only make two columns equal. Returns how many.
 */
static size_t list_freqs(size_t n, const size_t *periods, size_t n_periods, size_t *num,
                         size_t *den)
{
	size_t f = 0;

	for (size_t i = 0; i < n_periods; i++) {
		size_t per = periods[i];

		if (per < 2 || per > n)
			continue;
		for (size_t k = 1; k <= harmonics(per); k++) {
			bool dup = false;

			for (size_t j = 0; j < f && !dup; j++)
				dup = num[j] * per == k * den[j];
			if (dup)
				continue;
			num[f] = k;
			den[f] = per;
			f++;
		}
	}
	return f;
}

/* How many candidate changepoints a series of n steps gets. */
static size_t count_cp(size_t n)
{
	size_t hist = (size_t)floor(CP_RANGE * (double)n);
	size_t s = hist > 1 ? (hist - 1) / CP_SPACING : 0;

	return s < FORECAST_PROPHET_MAX_CP ? s : FORECAST_PROPHET_MAX_CP;
}

/* Fills the design rows: 1, t / T, cos and sin of each frequency, hinges (t - c_j)_+ / T. */
static void fill_design(struct fit_work *fw, const size_t *num, const size_t *den, size_t nf,
                        const double *cp, double tscale)
{
	size_t n = fw->n;
	double *x = fw->x;

	for (size_t t = 0; t < n; t++) {
		x[t] = 1.0;
		x[n + t] = (double)t / tscale;
	}
	for (size_t f = 0; f < nf; f++) {
		double *co = x + (2 + 2 * f) * n, *si = co + n;
		double step = 2.0 * M_PI * (double)num[f] / (double)den[f];
		double cs = cos(step), sn = sin(step), c = 1.0, s = 0.0;

		/* rotate by the angle step instead of calling cos and sin n times; the rounding
		 * error grows only linearly with t */
		for (size_t t = 0; t < n; t++) {
			double c1 = c * cs - s * sn;

			co[t] = c;
			si[t] = s;
			s = s * cs + c * sn;
			c = c1;
		}
		/* at Nyquist the sine is zero at every step; exactly, so its coefficient stays 0 */
		if (2 * num[f] == den[f])
			memset(si, 0, n * sizeof(double));
	}
	for (size_t j = 0; j < fw->s; j++) {
		double *hj = x + (fw->q + j) * n;

		for (size_t t = 0; t < n; t++)
			hj[t] = (double)t > cp[j] ? ((double)t - cp[j]) / tscale : 0.0;
	}
}

/* Copies the upper triangle of the p x p matrix a onto its lower one. */
static void mirror(double *a, size_t p)
{
	for (size_t i = 0; i < p; i++) {
		for (size_t j = i + 1; j < p; j++)
			a[j * p + i] = a[i * p + j];
	}
}

/*
 * The unweighted Gram matrix X X', the bulk of the fit's time. GSL's reference dsyrk keeps one
 * running sum per entry; four independent ones let the processor overlap the additions (3-4
 * times faster here). A hinge is zero up to its changepoint, so its products start there.
 */
static void gram(struct fit_work *fw, const double *cp)
{
	size_t n = fw->n, p = fw->p;

	for (size_t a = 0; a < p; a++) {
		const double *xa = fw->x + a * n;

		for (size_t b = a; b < p; b++) {
			const double *xb = fw->x + b * n;
			/* columns are ordered so that b's zeros cover a's */
			size_t t = b >= fw->q ? (size_t)cp[b - fw->q] : 0;
			double s0 = 0, s1 = 0, s2 = 0, s3 = 0;

			for (; t + 4 <= n; t += 4) {
				s0 += xa[t] * xb[t];
				s1 += xa[t + 1] * xb[t + 1];
				s2 += xa[t + 2] * xb[t + 2];
				s3 += xa[t + 3] * xb[t + 3];
			}
			for (; t < n; t++)
				s0 += xa[t] * xb[t];
			fw->g[a * p + b] = (s0 + s1) + (s2 + s3);
		}
	}
	mirror(fw->g, p);
}

/* Forms gw = X W X' and cw = X W y from the unweighted ones, downdating the reweighted rows. */
static void weigh(struct fit_work *fw)
{
	size_t p = fw->p, n = fw->n;
	gsl_matrix_view gw = gsl_matrix_view_array(fw->gw, p, p);
	gsl_matrix_const_view x = gsl_matrix_const_view_array(fw->x, p, n);

	memcpy(fw->gw, fw->g, p * p * sizeof(double));
	memcpy(fw->cw, fw->c, p * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		if (fw->w[i] == 1.0)
			continue;
		gsl_vector_const_view xi = gsl_matrix_const_column(&x.matrix, i);

		gsl_blas_dsyr(CblasUpper, fw->w[i] - 1.0, &xi.vector, &gw.matrix);
		for (size_t j = 0; j < p; j++)
			fw->cw[j] += (fw->w[i] - 1.0) * fw->y[i] * fw->x[j * n + i];
	}
	mirror(fw->gw, p);
}

/*
 * Profiles the ridge block out of the weighted problem: factors A = Gw_BB + diag(ridge) in
 * place, then h = Gw_DD - Gw_BD' A^-1 Gw_BD, b = cw_D - (A^-1 Gw_BD)' cw_B, and leaves
 * A^-1 cw_B in beta[0..q-1] and A^-1 Gw_BD in z, for the back-substitution.
 */
static void profile(struct fit_work *fw, const double *ridge)
{
	size_t p = fw->p, q = fw->q, s = fw->s;
	gsl_matrix_view gw = gsl_matrix_view_array(fw->gw, p, p);
	gsl_matrix_view a = gsl_matrix_submatrix(&gw.matrix, 0, 0, q, q);
	gsl_vector_view u = gsl_vector_view_array(fw->beta, q);

	for (size_t j = 0; j < q; j++)
		fw->gw[j * p + j] += ridge[j];
	/* positive definite: a Gram matrix plus a positive ridge on every diagonal entry */
	gsl_linalg_cholesky_decomp1(&a.matrix);
	memcpy(fw->beta, fw->cw, q * sizeof(double));
	gsl_linalg_cholesky_svx(&a.matrix, &u.vector);
	if (s == 0)
		return;

	gsl_matrix_view bd = gsl_matrix_submatrix(&gw.matrix, 0, q, q, s);
	gsl_matrix_view dd = gsl_matrix_submatrix(&gw.matrix, q, q, s, s);
	gsl_matrix_view z = gsl_matrix_view_array(fw->z, q, s);
	gsl_matrix_view h = gsl_matrix_view_array(fw->h, s, s);
	gsl_vector_const_view cb = gsl_vector_const_view_array(fw->cw, q);
	gsl_vector_view b = gsl_vector_view_array(fw->b, s);

	gsl_matrix_memcpy(&z.matrix, &bd.matrix);
	gsl_linalg_cholesky_svx_mat(&a.matrix, &z.matrix);
	gsl_matrix_memcpy(&h.matrix, &dd.matrix);
	gsl_blas_dgemm(CblasTrans, CblasNoTrans, -1.0, &bd.matrix, &z.matrix, 1.0, &h.matrix);
	memcpy(fw->b, fw->cw + q, s * sizeof(double));
	gsl_blas_dgemv(CblasTrans, -1.0, &z.matrix, &cb.vector, 1.0, &b.vector);
}

static double soft(double z, double lam)
{
	if (z > lam)
		return z - lam;
	if (z < -lam)
		return z + lam;
	return 0.0;
}

/*
 * One sweep of coordinate descent on 1/2 d'Hd - b'd + sum lam_j |d_j| + 1/2 sum rho_j d_j^2,
 * keeping the score g = b - Hd current. Returns how far the largest step moved the fitted
 * values (in the weighted norm).
 */
static double cd_sweep(const double *h, const double *lam, const double *rho, size_t s, double *g,
                       double *d)
{
	double moved = 0;

	for (size_t j = 0; j < s; j++) {
		double hjj = h[j * s + j], nd, diff;

		/* a hinge the rest of the design explains completely carries nothing */
		if (!(hjj > 0))
			continue;
		nd = soft(g[j] + hjj * d[j], lam[j]) / (hjj + rho[j]);
		diff = nd - d[j];
		if (diff == 0)
			continue;
		for (size_t l = 0; l < s; l++)
			g[l] -= diff * h[l * s + j];
		d[j] = nd;
		if (fabs(diff) * sqrt(hjj) > moved)
			moved = fabs(diff) * sqrt(hjj);
	}
	return moved;
}

/*
 * Moves d towards the exact minimiser x for its current active set and signs, the solution
 * of (H_AA + diag(rho_A)) x = b_A - lam_A sign(d_A), as far as no sign flips. Returns true
 * when a coefficient had to stop at zero (it leaves the set), false when d reached x.
 */
static bool active_set_move(const double *h, const double *b, const double *lam, const double *rho,
                            size_t s, double *d)
{
	double m[FORECAST_PROPHET_MAX_CP * FORECAST_PROPHET_MAX_CP], x[FORECAST_PROPHET_MAX_CP];
	double e[FORECAST_PROPHET_MAX_CP];
	size_t act[FORECAST_PROPHET_MAX_CP], na = 0, drop = FORECAST_PROPHET_MAX_CP;
	size_t pdata[FORECAST_PROPHET_MAX_CP];
	double maxdiag = 0, step = 1;

	for (size_t j = 0; j < s; j++) {
		if (d[j] != 0)
			act[na++] = j;
		maxdiag = fmax(maxdiag, h[j * s + j]);
	}
	if (na == 0)
		return false;

	gsl_matrix_view mv = gsl_matrix_view_array(m, na, na);
	gsl_vector_view xv = gsl_vector_view_array(x, na);
	gsl_vector_view ev = gsl_vector_view_array(e, na);
	gsl_permutation perm = {.size = na, .data = pdata};

	for (size_t i = 0; i < na; i++) {
		for (size_t l = 0; l < na; l++)
			m[i * na + l] = h[act[i] * s + act[l]];
		/* a relative ridge, as on the profiled block */
		m[i * na + i] += rho[act[i]] + 1e-9 * maxdiag;
		x[i] = b[act[i]] - (d[act[i]] > 0 ? lam[act[i]] : -lam[act[i]]);
	}
	/* H is a difference of Gram matrices: when the hinges are nearly collinear its rounding
	 * can outweigh the ridge, and a plain Cholesky would stop the process through GSL's error
	 * handler. The modified one (Gill, Murray and Wright) perturbs such a matrix instead. */
	gsl_linalg_mcholesky_decomp(&mv.matrix, &perm, &ev.vector);
	gsl_linalg_mcholesky_svx(&mv.matrix, &perm, &xv.vector);
	for (size_t i = 0; i < na; i++) {
		double di = d[act[i]];

		/* where the segment from d to x first zeroes a coefficient */
		if (lam[act[i]] > 0 && (x[i] > 0) != (di > 0) && di / (di - x[i]) < step) {
			step = di / (di - x[i]);
			drop = i;
		}
	}
	for (size_t i = 0; i < na; i++)
		d[act[i]] += step * (x[i] - d[act[i]]);
	if (drop >= na)
		return false;
	d[act[drop]] = 0;
	return true;
}

/*
 * Solves exactly on the active set left by a sweep, shrinking the set while a sign would flip
 * (each move drops one, so at most s moves), and recomputes the score g. Returns whether d is
 * optimal: every inactive score is then within its penalty.
 */
static bool active_set_solve(const double *h, const double *b, const double *lam, const double *rho,
                             size_t s, double *g, double *d)
{
	for (size_t i = 0; i <= s && active_set_move(h, b, lam, rho, s, d); i++)
		continue;
	for (size_t j = 0; j < s; j++) {
		g[j] = b[j];
		for (size_t l = 0; l < s; l++)
			g[j] -= h[j * s + l] * d[l];
	}
	for (size_t j = 0; j < s; j++) {
		if (d[j] == 0 && h[j * s + j] > 0 && fabs(g[j]) > lam[j] * (1 + 1e-9))
			return false;
	}
	return true;
}

/*
 * Minimises 1/2 d'Hd - b'd + sum lam_j |d_j| + 1/2 sum rho_j d_j^2 from the warm start d.
 * Coordinate descent finds the active set but crawls along nearly collinear hinges, so each
 * sweep is followed by the exact solve on the set it found; a few rounds usually settle it.
 */
static void lasso(const double *h, const double *b, const double *lam, const double *rho, size_t s,
                  double tol, double *d)
{
	double g[FORECAST_PROPHET_MAX_CP];

	for (size_t j = 0; j < s; j++) {
		g[j] = b[j];
		for (size_t l = 0; l < s; l++)
			g[j] -= h[j * s + l] * d[l];
	}
	for (int sweep = 0; sweep < CD_MAX_SWEEPS; sweep++) {
		if (cd_sweep(h, lam, rho, s, g, d) <= tol)
			return;
		if (active_set_solve(h, b, lam, rho, s, g, d))
			return;
	}
}

/* r = y - X' beta, and returns the robust residual scale 1.4826 * median |r|. */
static double residuals(struct fit_work *fw)
{
	gsl_matrix_const_view x = gsl_matrix_const_view_array(fw->x, fw->p, fw->n);
	gsl_vector_const_view beta = gsl_vector_const_view_array(fw->beta, fw->p);
	gsl_vector_view r = gsl_vector_view_array(fw->r, fw->n);

	memcpy(fw->r, fw->y, fw->n * sizeof(double));
	gsl_blas_dgemv(CblasTrans, -1.0, &x.matrix, &beta.vector, 1.0, &r.vector);
	for (size_t i = 0; i < fw->n; i++)
		fw->abs_r[i] = fabs(fw->r[i]);
	return MAD_TO_SD * gsl_stats_median(fw->abs_r, 1, fw->n);
}

/*
 * The passes: pass 0 with a ridge on the rate changes as strong as their own curvature, to get
 * residuals without the noise estimate that the L1 penalty needs; then IRLS_PASSES passes of
 * Huber weights and L1 penalty, both scaled by the previous pass's robust residual scale.
 * Returns the last robust residual scale; fw->beta and fw->r hold the fit.
 */
static double fit_passes(struct fit_work *fw, double ymax, double floor_sd, double sd0)
{
	size_t q = fw->q, s = fw->s, p = fw->p, n = fw->n;
	double lam[FORECAST_PROPHET_MAX_CP] = {0}, rho[FORECAST_PROPHET_MAX_CP] = {0};
	double *d = fw->beta + q, sd = sd0, ynorm = 0;

	for (size_t i = 0; i < n; i++) {
		fw->w[i] = 1.0;
		ynorm += fw->y[i] * fw->y[i];
	}
	ynorm = sqrt(ynorm);
	memset(d, 0, s * sizeof(double));
	for (int pass = 0; pass <= IRLS_PASSES; pass++) {
		double trace = 0,
		       prior = sd * sd / (SEASON_PRIOR_SD * SEASON_PRIOR_SD * ymax * ymax);
		double tol = fmax(CD_TOL * sd * sqrt((double)n), 1e-12 * ynorm);
		gsl_vector_view bb, dv;
		gsl_matrix_view z;

		weigh(fw);
		for (size_t j = 0; j < q; j++)
			trace += fw->gw[j * p + j];
		for (size_t j = 0; j < q; j++)
			fw->ridge[j] = (j >= 2 ? prior : 0.0) + NUM_RIDGE * trace / (double)q;
		profile(fw, fw->ridge);
		for (size_t j = 0; j < s; j++) {
			double hjj = fw->h[j * s + j] > 0 ? fw->h[j * s + j] : 0.0;

			lam[j] = pass == 0 ? 0.0 : CP_KAPPA * sd * sqrt(hjj);
			rho[j] = pass == 0 ? hjj : 0.0;
		}
		if (s > 0) {
			lasso(fw->h, fw->b, lam, rho, s, tol, d);
			/* beta_B = A^-1 cw_B - A^-1 Gw_BD d */
			bb = gsl_vector_view_array(fw->beta, q);
			dv = gsl_vector_view_array(d, s);
			z = gsl_matrix_view_array(fw->z, q, s);
			gsl_blas_dgemv(CblasNoTrans, -1.0, &z.matrix, &dv.vector, 1.0, &bb.vector);
		}
		sd = fmax(residuals(fw), floor_sd);
		for (size_t i = 0; i < n && pass < IRLS_PASSES; i++) {
			double lim = HUBER_C * sd;

			fw->w[i] = fabs(fw->r[i]) <= lim ? 1.0 : lim / fabs(fw->r[i]);
		}
	}
	return sd;
}

/* Sizes the fit's scratch space and points its arrays into block (NULL: only counts). */
static size_t layout(struct fit_work *fw, double *block)
{
	size_t n = fw->n, p = fw->p, q = fw->q, s = fw->s, used = 0;
	double **arrays[] = {&fw->x, &fw->g,     &fw->gw,   &fw->c, &fw->cw, &fw->z,    &fw->h,
	                     &fw->b, &fw->ridge, &fw->beta, &fw->r, &fw->w,  &fw->abs_r};
	size_t sizes[] = {p * n, p * p, p * p, p, p, q * s, s * s, s, q, p, n, n, n};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (block)
			*arrays[i] = block + used;
		used += sizes[i];
	}
	return used;
}

/* Copies the coefficients in fw into out, back in steps and in the series' units. */
static void keep_fit(const struct fit_work *fw, const size_t *num, const size_t *den,
                     const double *cp, double tscale, struct forecast_prophet *out)
{
	size_t nf = (fw->q - 2) / 2, n_coef = 2, active = 0;
	double ss = 0, abs_sum = 0;

	out->m = fw->beta[0];
	out->k = fw->beta[1] / tscale;
	for (size_t f = 0; f < nf; f++) {
		out->freq[f] = (double)num[f] / (double)den[f];
		out->coef[2 * f] = fw->beta[2 + 2 * f];
		out->coef[2 * f + 1] = fw->beta[3 + 2 * f];
		n_coef += 2 * num[f] == den[f] ? 1 : 2;
	}
	out->n_cp = fw->s;
	for (size_t j = 0; j < fw->s; j++) {
		out->cp[j] = cp[j];
		out->delta[j] = fw->beta[fw->q + j] / tscale;
		abs_sum += fabs(out->delta[j]);
		active += out->delta[j] != 0;
	}
	/* Prophet's future: as many changes per step as candidates per history step, each as
	 * large on average as the fitted ones (most of which are zero) */
	out->change_rate = fw->s > 0 ? (double)fw->s / tscale : 0.0;
	out->change_scale = fw->s > 0 ? abs_sum / (double)fw->s : 0.0;
	for (size_t i = 0; i < fw->n; i++)
		ss += fw->r[i] * fw->r[i];
	/* the plain (not robust) variance: outliers the fit ignored still happen in the future */
	n_coef += active;
	out->sigma2 = ss / (double)(fw->n > n_coef ? fw->n - n_coef : 1);
	out->n = fw->n;
	out->n_fit = fw->n;
}

bool forecast_prophet_fit(const double *y, size_t n, const size_t *periods, size_t n_periods,
                          struct forecast_prophet *out)
{
	struct fit_work fw = {.y = y, .n = n};
	size_t max_f = 0, nf, hist, *num;
	double cp[FORECAST_PROPHET_MAX_CP], tscale, ymax = 0, mean = 0, var = 0, *block;

	memset(out, 0, sizeof(*out));
	if (!y || n == 0 || (n_periods > 0 && !periods))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(y[i]))
			return false;
		ymax = fmax(ymax, fabs(y[i]));
		mean += y[i];
	}
	for (size_t i = 0; i < n_periods; i++) {
		if (periods[i] == 0)
			return false;
		max_f += harmonics(periods[i]);
	}
	num = malloc((2 * max_f + 1) * sizeof(size_t));
	if (!num)
		return false;
	nf = list_freqs(n, periods, n_periods, num, num + max_f);
	fw.q = 2 + 2 * nf;
	fw.s = count_cp(n);
	fw.p = fw.q + fw.s;
	block = malloc(layout(&fw, NULL) * sizeof(double));
	if (nf > 0) {
		out->freq = malloc(nf * sizeof(double));
		out->coef = malloc(2 * nf * sizeof(double));
	}
	if (!block || (nf > 0 && (!out->freq || !out->coef))) {
		free(block);
		free(num);
		forecast_prophet_cleanup(out);
		return false;
	}
	layout(&fw, block);
	out->n_freq = nf;

	/* time runs over [0, 1] in the fit, as in Prophet, so every column is of order one */
	tscale = n > 1 ? (double)(n - 1) : 1.0;
	hist = (size_t)floor(CP_RANGE * (double)n);
	for (size_t j = 0; j < fw.s; j++)
		cp[j] = round((double)(j + 1) * (double)(hist - 1) / (double)fw.s);
	fill_design(&fw, num, num + max_f, nf, cp, tscale);

	gsl_matrix_const_view x = gsl_matrix_const_view_array(fw.x, fw.p, n);
	gsl_vector_const_view yv = gsl_vector_const_view_array(y, n);
	gsl_vector_view c = gsl_vector_view_array(fw.c, fw.p);

	gram(&fw, cp);
	gsl_blas_dgemv(CblasNoTrans, 1.0, &x.matrix, &yv.vector, 0.0, &c.vector);

	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		var += (y[i] - mean) * (y[i] - mean);
	/* an all-zero series still needs a unit for its priors and tolerances */
	if (ymax == 0)
		ymax = 1.0;
	/* the residual scale is floored below any real noise of a load series but far above
	 * rounding (the hinges are nearly collinear with the time column, so an exact fit is
	 * only exact to ~1e-8 relative): on an exactly fitted series the weights stay 1 and the
	 * L1 penalty still holds the rate changes at zero */
	out->rscale = fit_passes(&fw, ymax, SD_FLOOR * ymax,
	                         fmax(sqrt(var / (double)n), SD_FLOOR * ymax));
	keep_fit(&fw, num, num + max_f, cp, tscale, out);
	free(block);
	free(num);
	return true;
}

/* Trend plus seasonality plus offset at step t. */
static double prophet_at(const struct forecast_prophet *p, double t)
{
	double v = p->m + p->k * t + p->offset;

	for (size_t j = 0; j < p->n_cp; j++) {
		if (t > p->cp[j])
			v += p->delta[j] * (t - p->cp[j]);
	}
	for (size_t f = 0; f < p->n_freq; f++) {
		/* reduce the phase first: f * t is exact enough, 2 pi f t of a large t is not */
		double a = 2.0 * M_PI * fmod(p->freq[f] * t, 1.0);

		v += p->coef[2 * f] * cos(a) + p->coef[2 * f + 1] * sin(a);
	}
	return v;
}

void forecast_prophet_update(struct forecast_prophet *p, double y)
{
	double e, lim;

	if (!isfinite(y))
		return;
	e = y - prophet_at(p, (double)p->n);
	/* a spike moves the offset by at most a few noise deviations; a real level shift keeps
	 * pushing, and its growing errors widen the bound through sigma2 */
	lim = HUBER_C * fmax(p->rscale, sqrt(p->sigma2));
	p->offset += OFFSET_GAIN * fmax(-lim, fmin(lim, e));
	if (isfinite(e * e))
		p->sigma2 += (e * e - p->sigma2) / SIGMA_SPAN;
	p->n++;
}

/* Fills lo/hi with Gaussian intervals around mean of variance sigma2 + trend_var * i^3. */
static void normal_intervals(const struct forecast_prophet *m, struct forecast_pred *p,
                             double trend_var)
{
	for (size_t i = 0; i < p->h; i++) {
		double tau = (double)(i + 1);

		forecast_pred_step(p, i, p->mean[i], m->sigma2 + trend_var * tau * tau * tau);
	}
}

/* The index of the f-quantile among the sorted samples. */
static size_t rank(double f)
{
	return (size_t)lround(f * (N_SAMPLES - 1));
}

/*
 * Prophet's intervals: every path starts at the last observation with no deviation and, step
 * by step, meets future trend changes at the exponential waiting times of a Poisson process
 * (rate change_rate), each a Laplace(change_scale) rate change; the step's value is the path's
 * trend deviation plus N(0, sigma2) noise. The quantiles over the paths, step by step, give
 * the intervals. Paths advance together, so only N_SAMPLES values per step are kept.
 */
static void simulate_intervals(const struct forecast_prophet *m, struct forecast_pred *p,
                               gsl_rng *r)
{
	double lvl[N_SAMPLES], slope[N_SAMPLES], next[N_SAMPLES], draw[N_SAMPLES];
	double sd = sqrt(m->sigma2 > 0 ? m->sigma2 : 0.0), wait = 1.0 / m->change_rate;

	for (size_t s = 0; s < N_SAMPLES; s++) {
		lvl[s] = 0;
		slope[s] = 0;
		next[s] = gsl_ran_exponential(r, wait);
	}
	for (size_t i = 0; i < p->h; i++) {
		double tau = (double)(i + 1);

		for (size_t s = 0; s < N_SAMPLES; s++) {
			lvl[s] += slope[s];
			while (next[s] < tau) {
				double d = gsl_ran_laplace(r, m->change_scale);

				lvl[s] += d * (tau - next[s]);
				slope[s] += d;
				next[s] += gsl_ran_exponential(r, wait);
			}
			draw[s] = lvl[s] + gsl_ran_gaussian_ziggurat(r, sd);
		}
		for (size_t k = 0; k < p->n_levels; k++) {
			double lev = p->levels[k], lo = 0, hi = 0;
			size_t at = k * p->h + i;

			/* nearest-rank quantiles: selecting costs a fraction of sorting */
			if (lev > 0 && lev < 1) {
				/* last step's quantiles, as deviations, are close to this step's */
				double hlo = i > 0 ? p->lo[at - 1] - p->mean[i - 1] : 0;
				double hhi = i > 0 ? p->hi[at - 1] - p->mean[i - 1] : 0;
				size_t klo = rank((1 - lev) / 2), khi = rank((1 + lev) / 2);

				lo = forecast_select(draw, 0, N_SAMPLES, klo, i > 0 ? &hlo : NULL);
				hi = forecast_select(draw, klo + 1, N_SAMPLES, khi,
				                     i > 0 ? &hhi : NULL);
			}
			/* the sampled median may stray from the mean; intervals still hold it */
			p->lo[at] = p->mean[i] + fmin(lo, 0.0);
			p->hi[at] = p->mean[i] + fmax(hi, 0.0);
		}
	}
}

void forecast_prophet_forecast(const struct forecast_prophet *m, struct forecast_pred *p,
                               unsigned long seed)
{
	gsl_rng *r;

	for (size_t i = 0; i < p->h; i++)
		p->mean[i] = prophet_at(m, (double)(m->n + i));
	if (p->n_levels == 0 || p->h == 0)
		return;
	if (!(m->change_scale > 0 && m->change_rate > 0)) {
		/* no trend changes to simulate: the noise alone, whose quantiles are exact */
		normal_intervals(m, p, 0.0);
		return;
	}
	r = gsl_rng_alloc(gsl_rng_mt19937);
	if (!r) {
		/* out of memory: the same first two moments, from the Gaussian approximation
		 * Var = rate * 2 scale^2 * tau^3 / 3 of the simulated trend deviation */
		normal_intervals(m, p,
		                 2.0 * m->change_rate * m->change_scale * m->change_scale / 3.0);
		return;
	}
	gsl_rng_set(r, seed);
	simulate_intervals(m, p, r);
	gsl_rng_free(r);
}

void forecast_prophet_cleanup(struct forecast_prophet *p)
{
	free(p->freq);
	free(p->coef);
	p->freq = NULL;
	p->coef = NULL;
	p->n_freq = 0;
}
