/*
 * Filling missing values before a fit (see prep.h). Linear interpolation alone flattens a gap in
 * a seasonal series; adding the previous season's deviation from its own straight line keeps the
 * cycle's shape without inventing a level.
 */
#include "forecast/prep.h"

#include <math.h>
#include <stdlib.h>

/* Seasons before a candidate change that its shape is compared with. */
#define BREAK_BEFORE 6
/* Seasons a change must leave after it, for the backtests and the fits. */
#define BREAK_AFTER 6
/*
 * Shapes that correlate below this have changed: a cycle shifted by a third of a season or more,
 * or turned over. Weak seasons under noise disagree by chance: of 2,000 synthetic series with no
 * change (bench/forecast_series.py), 34 had a candidate below -0.2, 14 below -0.3, 2 below -0.5.
 */
#define BREAK_CORR (-0.5)

/* The first observed index at or after i, or n. */
static size_t next_observed(const double *y, size_t n, size_t i)
{
	while (i < n && !isfinite(y[i]))
		i++;
	return i;
}

/* Fills y[a+1 .. b-1] between the observed y[a] and y[b]. */
static void fill_gap(double *y, size_t a, size_t b, size_t m)
{
	double step = (y[b] - y[a]) / (double)(b - a);
	/* the season before the gap, shifted by m, if it lies wholly in observed history */
	bool seasonal = m > 1 && a >= m && b - a <= m;

	for (size_t t = a + 1; t < b; t++) {
		double v = y[a] + step * (double)(t - a);

		if (seasonal) {
			/* deviation of y[t-m] from the line through y[a-m] and y[b-m] */
			double pa = y[a - m], pb = y[b - m];
			double line = pa + (pb - pa) * (double)(t - a) / (double)(b - a);

			v += y[t - m] - line;
		}
		y[t] = v;
	}
}

size_t forecast_prep_fill(double *y, size_t n, size_t m, bool *all_missing)
{
	size_t first = next_observed(y, n, 0), filled = 0, a;

	*all_missing = first == n;
	if (*all_missing) {
		for (size_t i = 0; i < n; i++)
			y[i] = 0.0;
		return n;
	}
	for (size_t i = 0; i < first; i++)
		y[i] = y[first];
	filled += first;
	a = first;
	for (;;) {
		size_t b = next_observed(y, n, a + 1);

		if (b == n) {
			for (size_t i = a + 1; i < n; i++)
				y[i] = y[a];
			filled += n - a - 1;
			return filled;
		}
		if (b > a + 1) {
			fill_gap(y, a, b, m);
			filled += b - a - 1;
		}
		a = b;
	}
}

/*
 * The average over seasons s0 <= s < s1 (season s covers y[n - (s+1) m .. n - s m)) of the value
 * at phase j of the season minus that season's mean smean[s].
 */
static double shape_at(const double *y, size_t n, size_t m, const double *smean, size_t s0,
                       size_t s1, size_t j)
{
	double acc = 0;

	for (size_t s = s0; s < s1; s++)
		acc += y[n - (s + 1) * m + j] - smean[s];
	return acc / (double)(s1 - s0);
}

size_t forecast_prep_break(const double *y, size_t n, size_t m)
{
	size_t seasons = m > 1 ? n / m : 0, best_k = 0;
	double best = BREAK_CORR, *smean, *after;

	if (seasons < BREAK_AFTER + 1 + BREAK_BEFORE)
		return 0;
	smean = malloc((seasons + m) * sizeof(*smean));
	if (!smean)
		return 0; /* the whole history is fit, as it would be without a change */
	after = smean + seasons;
	for (size_t s = 0; s < seasons; s++) {
		double acc = 0;

		for (size_t j = 0; j < m; j++)
			acc += y[n - (s + 1) * m + j];
		smean[s] = acc / (double)m;
	}
	/* after[j]: the sum over the last k seasons of the value at phase j less its season's mean,
	 * carried from one candidate k to the next */
	for (size_t j = 0; j < m; j++)
		after[j] = shape_at(y, n, m, smean, 0, BREAK_AFTER, j) * BREAK_AFTER;
	/*
	 * Season k, between the two compared, is left out: a change inside it would otherwise
	 * weigh more in the 6 seasons before than in the k after, and the cut would keep it.
	 */
	for (size_t k = BREAK_AFTER; k + 1 + BREAK_BEFORE <= seasons; k++) {
		double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, va, vb, r;

		for (size_t j = 0; j < m; j++) {
			double a = after[j] / (double)k;
			double b = shape_at(y, n, m, smean, k + 1, k + 1 + BREAK_BEFORE, j);

			sa += a;
			sb += b;
			saa += a * a;
			sbb += b * b;
			sab += a * b;
			after[j] += y[n - (k + 1) * m + j] - smean[k];
		}
		va = saa - sa * sa / (double)m;
		vb = sbb - sb * sb / (double)m;
		if (!(va > 0) || !(vb > 0))
			continue; /* a flat shape: nothing to compare */
		r = (sab - sa * sb / (double)m) / sqrt(va * vb);
		if (r < best) {
			best = r;
			best_k = k;
		}
	}
	free(smean);
	return best_k ? n - best_k * m : 0;
}
