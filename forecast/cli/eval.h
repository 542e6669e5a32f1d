#pragma once
/*
 * --eval's accounting: per group of series (overall, and by the model that carried the most
 * weight), the sums behind mean sMAPE, MASE, interval coverage and MSIS of the method and of
 * the two references, Naive2 (for OWA) and seasonal naive, over the same series.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "forecast/model.h"

/* How many interval levels --level may ask for. */
#define CLI_MAX_LEVELS 8

/* Sums of one method's accuracy over a group of series. */
struct cli_acc {
	double smape;                 /* sum of per-series sMAPE */
	double mase;                  /* sum of per-series MASE, over the series with a scale */
	double cover[CLI_MAX_LEVELS]; /* sums of per-series coverage, per level */
	double msis[CLI_MAX_LEVELS];  /* sums of per-series MSIS, per level, series with a scale */
};

struct cli_group {
	char name[64];         /* "overall" or the model's name */
	size_t series;         /* series evaluated */
	size_t scaled;         /* of those, series whose history gives a MASE scale */
	struct cli_acc method; /* the forecasts under evaluation */
	struct cli_acc naive2; /* M4's Naive2 on the same series */
	struct cli_acc snaive; /* seasonal naive on the same series */
};

/* Up to this many groups: overall plus one per model. */
#define CLI_MAX_GROUPS 16

struct cli_eval {
	size_t n_levels;      /* levels of the intervals */
	const double *levels; /* [n_levels], borrowed */
	size_t n_groups;
	struct cli_group group[CLI_MAX_GROUPS]; /* group[0] is "overall" */
	size_t skipped;                         /* series with no true value to compare with */
};

void cli_eval_init(struct cli_eval *ev, const double *levels, size_t n_levels);

/*
 * Scores one series: truth[0..n_truth-1] (NaN where unknown) against the method's, Naive2's and
 * seasonal naive's forecasts (each with intervals at ev's levels, horizon p->h), with history
 * x[0..n-1] (complete) and main season m for the MASE scale. Counts it in "overall" and in the
 * group named model. False when no step has a true value (the series is counted as skipped).
 */
bool cli_eval_add(struct cli_eval *ev, const char *model, const double *x, size_t n, size_t m,
                  const double *truth, size_t n_truth, const struct forecast_pred *method,
                  const struct forecast_pred *naive2, const struct forecast_pred *snaive);

/* Prints the table: one row per group for the method, then the references over all series. */
void cli_eval_print(const struct cli_eval *ev, FILE *out);
