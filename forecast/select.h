#pragma once
/*
 * One interface over every model, and the automatic choice among them by rolling-origin
 * backtests on the series' own history.
 *
 * Backtests: the candidates are fit once on the history before the first origin, then rolled
 * forward with their cheap per-observation updates; at each origin they forecast the horizon
 * and are scored by MASE (the forecast error scaled by the history's seasonal-naive error).
 * Refitting at every origin would cost a fit per origin for little: the parameters of a model
 * fit on most of the history change little over the last few horizons. The best candidates
 * are then refit on the whole series, keeping the structure their backtest fit chose (ETS's
 * components, ARIMA's orders, seasonal naive's period) and re-estimating its parameters, and
 * combined with weights falling with their backtest error. Each one's interval widths are
 * calibrated on its own backtest errors (forecast/calib.h). When history is too short to
 * backtest, seasonal naive is used alone, with the intervals it gives.
 *
 * Pure computation; any thread may use its own structs.
 */
#include <stdbool.h>
#include <stddef.h>

#include "forecast/adjust.h"
#include "forecast/arima.h"
#include "forecast/calib.h"
#include "forecast/ets.h"
#include "forecast/lstm.h"
#include "forecast/model.h"
#include "forecast/naive.h"
#include "forecast/prophet.h"

enum forecast_model {
	FORECAST_MODEL_AUTO,    /* choose by backtests */
	FORECAST_MODEL_NAIVE,   /* last value */
	FORECAST_MODEL_SNAIVE,  /* value one season earlier */
	FORECAST_MODEL_ETS,     /* exponential smoothing, chosen by AICc (ets.h) */
	FORECAST_MODEL_ARIMA,   /* seasonal ARIMA, orders chosen by AICc (arima.h) */
	FORECAST_MODEL_PROPHET, /* trend with changepoints plus Fourier seasons (prophet.h) */
	FORECAST_MODEL_LSTM,    /* small recurrent network (lstm.h) */
	FORECAST_MODEL_COUNT
};

/* The model's name as the command line spells it ("auto", "ets", ...). */
const char *forecast_model_str(enum forecast_model m);

/* Parses a name written by forecast_model_str; false when s names no model. */
__attribute__((warn_unused_result)) bool forecast_model_parse(const char *s,
                                                              enum forecast_model *out);

/* What a fit needs besides the series. */
struct forecast_spec {
	const size_t *periods; /* seasonal periods in steps; periods[0] is the main one (the only
				  one ETS, ARIMA and seasonal naive use); none = non-seasonal */
	size_t n_periods;      /* entries in periods */
	size_t horizon;        /* steps the forecasts will cover: the backtests' horizon */
	unsigned long seed;    /* for the models that draw random numbers */
};

/*
 * ETS and ARIMA model a season of at most this many steps themselves; longer or further seasons
 * are removed before the fit and restored after (forecast/adjust.h).
 */
#define FORECAST_NATIVE_SEASON_MAX 24

/* One fitted model of any kind. */
struct forecast_fit {
	enum forecast_model model;  /* which member of u is live; never AUTO */
	unsigned long seed;         /* the spec's seed, for simulated intervals */
	struct forecast_adjust adj; /* seasons removed around ETS or ARIMA; adj.n = 0 if none */
	union {
		struct forecast_naive naive; /* NAIVE and SNAIVE */
		struct forecast_ets ets;
		struct forecast_arima arima;
		struct forecast_prophet prophet;
		struct forecast_lstm lstm;
	} u;
};

/*
 * Fits model (not AUTO) to the complete series y[0..n-1]. ETS and ARIMA use the main period
 * themselves when it is the only one and at most FORECAST_NATIVE_SEASON_MAX; otherwise every
 * period is removed first (forecast/adjust.h) and they fit what remains. Seasonal naive uses
 * the period whose seasonal naive fits the history best. False when the model cannot be fit
 * (too short for it, bad arguments, memory); out then owns nothing.
 */
__attribute__((warn_unused_result)) bool forecast_fit_model(const double *y, size_t n,
                                                            enum forecast_model model,
                                                            const struct forecast_spec *spec,
                                                            struct forecast_fit *out);

/* Fills p from f. */
void forecast_fit_forecast(const struct forecast_fit *f, struct forecast_pred *p);

/* Absorbs one new observation without refitting. */
void forecast_fit_update(struct forecast_fit *f, double y);

/* The fitted model's full name, e.g. "ETS(M,Ad,M)", in buf (len bytes); returns buf. */
const char *forecast_fit_name(const struct forecast_fit *f, char *buf, size_t len);

/* Frees what f owns; safe on a cleaned struct. */
void forecast_fit_cleanup(struct forecast_fit *f);

/* At most this many models are combined. */
#define FORECAST_COMBINE_MAX 3

/* The result of the automatic choice: one to FORECAST_COMBINE_MAX weighted fits. */
struct forecast_choice {
	size_t n_fits;                                     /* live entries of fits and weight */
	struct forecast_fit fits[FORECAST_COMBINE_MAX];    /* by falling weight */
	double weight[FORECAST_COMBINE_MAX];               /* sum to 1 */
	struct forecast_calib calib[FORECAST_COMBINE_MAX]; /* per fit, from its backtest */
	double score[FORECAST_MODEL_COUNT];                /* backtest MASE per candidate; NaN when
							   not tried or not fit */
};

/* How the automatic choice runs. */
struct forecast_auto_opts {
	const enum forecast_model *candidates; /* models to try (not AUTO) */
	size_t n_candidates;
	size_t origins; /* backtest origins, one horizon apart (>= 1) */
	size_t combine; /* combine the best this many (1 = pick the best; <= FORECAST_COMBINE_MAX) */
};

/* The default: every model except the LSTM (costly to train twice per series), 3 origins, the
 * best 2 combined. */
extern const struct forecast_auto_opts forecast_auto_default;

/*
 * Chooses and fits models for y[0..n-1] by backtests as described at the top. Falls back to
 * seasonal naive alone when the history is shorter than what the backtests need (two main
 * seasons, or 2 * horizon points when non-seasonal, plus origins * horizon). False only on bad
 * arguments or memory failure; out then owns nothing.
 */
__attribute__((warn_unused_result)) bool forecast_auto(const double *y, size_t n,
                                                       const struct forecast_spec *spec,
                                                       const struct forecast_auto_opts *opts,
                                                       struct forecast_choice *out);

/*
 * Fits what model asks for into out: forecast_auto with opts for AUTO, otherwise that model
 * alone, or seasonal naive when it cannot fit y (too short for it: out->fits[0].model tells).
 * Either way only the history after the last change in the shape of the main season is used
 * (forecast_prep_break). False only on bad arguments or memory failure; out then owns nothing.
 */
__attribute__((warn_unused_result)) bool forecast_choose(const double *y, size_t n,
                                                         enum forecast_model model,
                                                         const struct forecast_spec *spec,
                                                         const struct forecast_auto_opts *opts,
                                                         struct forecast_choice *out);

/* Fills p with the weighted combination of c's forecasts (bounds combined the same way). */
__attribute__((warn_unused_result)) bool forecast_choice_forecast(const struct forecast_choice *c,
                                                                  struct forecast_pred *p);

/* Absorbs one new observation into every fit of c. */
void forecast_choice_update(struct forecast_choice *c, double y);

/* Frees what c owns. */
void forecast_choice_cleanup(struct forecast_choice *c);
