/*
 * --eval's accuracy table (see eval.h). OWA is computed per group from the group's mean sMAPE and
 * MASE relative to Naive2's on the same series, as the M4 competition computed it over its
 * whole set.
 */
#include "forecast/cli/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/metrics.h"

void cli_eval_init(struct cli_eval *ev, const double *levels, size_t n_levels)
{
	memset(ev, 0, sizeof(*ev));
	ev->levels = levels;
	ev->n_levels = n_levels;
	ev->n_groups = 1;
	snprintf(ev->group[0].name, sizeof(ev->group[0].name), "overall");
}

static struct cli_group *group_for(struct cli_eval *ev, const char *name)
{
	for (size_t i = 1; i < ev->n_groups; i++)
		if (strcmp(ev->group[i].name, name) == 0)
			return &ev->group[i];
	if (ev->n_groups == CLI_MAX_GROUPS)
		return NULL; /* only "overall" counts it */
	struct cli_group *g = &ev->group[ev->n_groups++];

	snprintf(g->name, sizeof(g->name), "%s", name);
	return g;
}

/* The forecasts at the steps with a true value, packed to the front. */
struct packed {
	size_t h;   /* steps kept */
	double *y;  /* true values */
	double *f;  /* point forecasts */
	double *lo; /* [CLI_MAX_LEVELS * h] */
	double *hi;
};

static void pack(const struct forecast_pred *p, const double *truth, size_t n_truth,
                 struct packed *k)
{
	size_t lim = n_truth < p->h ? n_truth : p->h;

	k->h = 0;
	for (size_t i = 0; i < lim; i++) {
		if (!isfinite(truth[i]))
			continue;
		k->y[k->h] = truth[i];
		k->f[k->h] = p->mean[i];
		for (size_t l = 0; l < p->n_levels; l++) {
			k->lo[l * p->h + k->h] = p->lo[l * p->h + i];
			k->hi[l * p->h + k->h] = p->hi[l * p->h + i];
		}
		k->h++;
	}
}

static void score(struct cli_acc *a, const struct packed *k, const struct forecast_pred *p,
                  double scale)
{
	a->smape += forecast_metric_smape(k->y, k->f, k->h);
	if (isfinite(scale))
		a->mase += forecast_metric_mase(k->y, k->f, k->h, scale);
	for (size_t l = 0; l < p->n_levels; l++) {
		const double *lo = k->lo + l * p->h, *hi = k->hi + l * p->h;

		a->cover[l] += forecast_metric_coverage(k->y, lo, hi, k->h);
		if (isfinite(scale))
			a->msis[l] += forecast_metric_msis(k->y, lo, hi, k->h, p->levels[l], scale);
	}
}

static void add_to(struct cli_group *g, const struct packed *k[3], const struct forecast_pred *p[3],
                   double scale)
{
	g->series++;
	g->scaled += isfinite(scale);
	score(&g->method, k[0], p[0], scale);
	score(&g->naive2, k[1], p[1], scale);
	score(&g->snaive, k[2], p[2], scale);
}

bool cli_eval_add(struct cli_eval *ev, const char *model, const double *x, size_t n, size_t m,
                  const double *truth, size_t n_truth, const struct forecast_pred *method,
                  const struct forecast_pred *naive2, const struct forecast_pred *snaive)
{
	const struct forecast_pred *p[3] = {method, naive2, snaive};
	size_t h = method->h, per = 2 + 2 * ev->n_levels;
	struct packed k[3];
	const struct packed *kp[3] = {&k[0], &k[1], &k[2]};
	double *buf = malloc(3 * per * h * sizeof(double)), scale;
	struct cli_group *g;

	if (!buf) {
		ev->skipped++;
		return false;
	}
	for (int i = 0; i < 3; i++) {
		double *b = buf + (size_t)i * per * h;

		k[i] = (struct packed){
		        .y = b, .f = b + h, .lo = b + 2 * h, .hi = b + 2 * h + ev->n_levels * h};
		pack(p[i], truth, n_truth, &k[i]);
	}
	if (k[0].h == 0) {
		free(buf);
		ev->skipped++;
		return false;
	}
	scale = forecast_metric_scale(x, n, m);
	add_to(&ev->group[0], kp, p, scale);
	g = group_for(ev, model);
	if (g)
		add_to(g, kp, p, scale);
	free(buf);
	return true;
}

/* One table row: the means of a's sums over g's series, and OWA against g's Naive2. */
static void print_row(const struct cli_eval *ev, const struct cli_group *g, const char *name,
                      const struct cli_acc *a, FILE *out)
{
	double n = (double)g->series, ns = (double)g->scaled;
	double smape = a->smape / n, mase = ns > 0 ? a->mase / ns : NAN;
	double owa = forecast_metric_owa(smape, mase, g->naive2.smape / n,
	                                 ns > 0 ? g->naive2.mase / ns : NAN);

	fprintf(out, "%-16s %7zu %8.3f %8.4f %7.4f", name, g->series, smape, mase, owa);
	for (size_t l = 0; l < ev->n_levels; l++)
		fprintf(out, " %7.3f %8.3f", a->cover[l] / n, ns > 0 ? a->msis[l] / ns : NAN);
	fputc('\n', out);
}

void cli_eval_print(const struct cli_eval *ev, FILE *out)
{
	const struct cli_group *all = &ev->group[0];

	fprintf(out, "%-16s %7s %8s %8s %7s", "model", "series", "sMAPE", "MASE", "OWA");
	for (size_t l = 0; l < ev->n_levels; l++)
		fprintf(out, "   cov%-3g  MSIS%-3g", ev->levels[l] * 100, ev->levels[l] * 100);
	fputc('\n', out);
	if (all->series == 0) {
		fprintf(out, "(no series had true values to compare with)\n");
		return;
	}
	print_row(ev, all, "overall", &all->method, out);
	for (size_t i = 1; i < ev->n_groups; i++) {
		char name[80];

		snprintf(name, sizeof(name), "  %s", ev->group[i].name);
		print_row(ev, &ev->group[i], name, &ev->group[i].method, out);
	}
	print_row(ev, all, "naive2", &all->naive2, out);
	print_row(ev, all, "snaive", &all->snaive, out);
	if (ev->skipped)
		fprintf(out, "(%zu series without true values were skipped)\n", ev->skipped);
}
