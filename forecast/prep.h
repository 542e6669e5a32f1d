#pragma once
/*
 * Preparing a raw series for the models: missing values (NaN) are filled so that every model
 * sees a complete, finite series, and a change in the shape of the seasons is found so that the
 * models are fit on the history that still looks like the future. Pure computation; any thread.
 */
#include <stdbool.h>
#include <stddef.h>

/*
 * Fills the missing values (NaN or infinite) of y[0..n-1] in place and returns how many were
 * filled. Leading and trailing gaps take the nearest observed value; an interior gap is
 * interpolated linearly between its neighbours, plus, when the season m > 1 and the gap is no
 * longer than a season and has a season of history before it, the seasonal shape of the season
 * before (the value m steps earlier minus the line through that season's matching points), so a
 * gap in a daily cycle keeps its cycle. *all_missing is set when no value is observed: y is then
 * left all zero and the series carries no information.
 */
size_t forecast_prep_fill(double *y, size_t n, size_t m, bool *all_missing);

/*
 * Where the shape of the main season (period m) last changed for good, as when a service's
 * traffic moves to another time zone or its clock is reset: the index of the first observation
 * the fits should use, or 0 when the shape has not changed (or y is too short to tell: fewer
 * than 13 seasons).
 *
 * Seasons are counted back from the end of y. For each candidate k (at least 6 seasons, leaving
 * the fits enough history), the average shape of the last k seasons (each season's values minus
 * that season's mean) is compared with that of the 6 seasons before the season before them. A
 * change is the candidate whose shapes correlate least, if that correlation is below -0.5: a
 * cycle shifted by a third of a season or more, or turned over. A level shift, an outage or a
 * growing amplitude keep the shapes positively correlated and are left to the models. Weak
 * seasons under noise rarely disagree that much by chance (2 of 2,000 synthetic series without a
 * change were cut). Flat shapes (no season) compare as unchanged. The cut falls on a season
 * boundary after the change: the fits keep none of the old shape and lose less than two seasons
 * of the new. O(n) time, O(n / m + m) memory. Returns 0 when memory fails.
 */
size_t forecast_prep_break(const double *y, size_t n, size_t m);
