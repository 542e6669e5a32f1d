#pragma once
/*
 * Interval widths calibrated on a model's own backtest errors, in the manner of split
 * conformal prediction. At each backtest origin the model forecasts with intervals at a grid
 * of levels; each true value gets a score per level: how far outside (above 1) or inside
 * (below 1) it fell, as a fraction of the interval's half on its side of the forecast. The
 * conformal factor for a level is the score that ceil((n + 1) * level) of the n scores do not
 * exceed: multiplying that interval's halves by it would have covered the level's share of the
 * backtest. A model whose intervals were too narrow in its own past gets them widened, one
 * whose intervals were too wide gets them narrowed.
 *
 * The factor applied is the square root of the conformal one: the geometric mean of the
 * model's own width and the backtest's. A backtest of three horizons holds few independent
 * errors (those of one horizon move together), so its quantiles, the 95% one above all, are
 * rough. On the development sets (docs/forecasting.md) the full factor brought 80% coverage to
 * nominal but left 95% intervals short (0.91 to 0.95, MSIS 1.4% worse than without
 * calibration); the square root gave 95% coverage of 0.936 to 0.966 and a better MSIS at 80%
 * on all five sets and at 95% on four.
 *
 * Pure computation; any thread on its own structs.
 */
#include <stdbool.h>
#include <stddef.h>

#include "forecast/model.h"

/* The levels at which backtests measure the factors; a requested level in between is
 * interpolated, one outside takes the nearest. */
#define FORECAST_CALIB_LEVELS 4
extern const double forecast_calib_levels[FORECAST_CALIB_LEVELS];

/* Fewer scores than this per level leave the model's intervals as they are. */
#define FORECAST_CALIB_MIN 20

/* Conformal factors are kept within [1 / FORECAST_CALIB_LIMIT, FORECAST_CALIB_LIMIT] (before
 * the square root): a few extreme backtest values must not make intervals useless. */
#define FORECAST_CALIB_LIMIT 5.0

/* The factors of one fitted model; all zeros is "not calibrated" (widths as the model gives
 * them). */
struct forecast_calib {
	bool on;
	double k[FORECAST_CALIB_LEVELS]; /* per forecast_calib_levels entry */
};

/* Scores gathered over a backtest: up to cap per level. */
struct forecast_calib_scores {
	double *s; /* [FORECAST_CALIB_LEVELS * cap], caller's */
	size_t cap, n;
};

/*
 * Scores the forecast p (whose levels must be forecast_calib_levels) against truth[0..p->h-1].
 * Steps with a missing truth, a non-finite forecast or an interval half of no width are
 * skipped. Scores past cap are dropped.
 */
void forecast_calib_score(struct forecast_calib_scores *sc, const struct forecast_pred *p,
                          const double *truth);

/* The factors from the scores (sorting them); out->on is false with fewer than
 * FORECAST_CALIB_MIN. */
void forecast_calib_finish(struct forecast_calib_scores *sc, struct forecast_calib *out);

/*
 * Scales each interval of p around its mean by the factor of its level, then widens each
 * interval to hold the intervals of the lower levels, so that they stay nested. Nothing when
 * c is not on.
 */
void forecast_calib_apply(const struct forecast_calib *c, struct forecast_pred *p);
