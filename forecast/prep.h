#pragma once
/*
 * Preparing a raw series for the models: missing values (NaN) are filled so that every model
 * sees a complete, finite series. Pure computation; any thread.
 */
#include <stdbool.h>
#include <stddef.h>

/*
 * Fills the missing values (NaN or infinite) of y[0..n-1] in place and returns how many were
 * filled. Leading and trailing gaps take the nearest observed value; an interior gap is
 * interpolated linearly between its neighbours, plus, when the season m > 1 and the gap is
 * no longer than a season and has a season of history before it, the seasonal shape of the season before (the
 * value m steps earlier minus the line through that season's matching points), so a gap in a
 * daily cycle keeps its cycle. *all_missing is set when no value is observed: y is then left
 * all zero and the series carries no information.
 */
size_t forecast_prep_fill(double *y, size_t n, size_t m, bool *all_missing);
