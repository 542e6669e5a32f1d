#pragma once
/*
 * A small LSTM forecaster for one load series, written from scratch: one LSTM layer over a
 * sliding input window and a linear head that outputs the whole horizon at once (a direct
 * multi-output forecast, not predictions fed back: errors do not compound and extra input
 * series need no future values). Trained with backpropagation through time over the window,
 * Adam and global-norm gradient clipping, under a fixed budget of window passes.
 *
 * So that a tiny net learns within a few hundred windows, it does not forecast the load itself:
 * the head forecasts the residual against the seasonal naive forecast made at the window's end
 * (the last observed season repeated; optionally the mean of the last few seasons), in units of
 * that base forecast's mean absolute error at each step ahead. Inputs per step are the
 * standardised load, its seasonal difference and the standardised extra series (winsorised).
 * An untrained or clueless net therefore stays close to seasonal naive, not to nonsense.
 *
 * Prediction intervals are normal with a per-horizon variance: the mean squared error at each
 * step ahead of the model's own forecasts from origins in a held-out tail of the series (the
 * weights never saw it), made non-decreasing in the horizon.
 *
 * Deterministic: the same inputs and seed give the same bits on the same machine (one thread,
 * a fixed order of every sum, GSL's MT19937 for initialisation and shuffling). Pure
 * computation: no I/O, no globals; any thread may use its own struct forecast_lstm.
 */
#include <stdbool.h>
#include <stddef.h>

#include "forecast/model.h"

/* Upper bounds that let the forecast keep its state on the stack (no allocation per call). */
#define FORECAST_LSTM_MAX_HIDDEN 64
#define FORECAST_LSTM_MAX_AUX 14

/* Why the last fit failed, or that it did not. */
enum forecast_lstm_status {
	FORECAST_LSTM_OK,         /* fitted */
	FORECAST_LSTM_BAD_ARGS,   /* y NULL, m 0, aux missing, or a configuration out of range */
	FORECAST_LSTM_NON_FINITE, /* y or an extra series holds a NaN or an infinity */
	FORECAST_LSTM_TOO_SHORT,  /* fewer than max(window, base_seasons * m + supervised - 1) +
				     horizon points: not one training window */
	FORECAST_LSTM_NO_MEMORY,  /* an allocation failed */
};

/* A static name for a status, for logs ("too_short"). */
const char *forecast_lstm_status_str(enum forecast_lstm_status s);

/* The knobs of a fit; forecast_lstm_config_default gives the tested values. */
struct forecast_lstm_config {
	size_t hidden;     /* LSTM units, 1..FORECAST_LSTM_MAX_HIDDEN; time grows with its square */
	size_t window;     /* input steps the net reads per forecast (>= 2) */
	size_t supervised; /* training scores the head at this many of the window's last steps
			      (1..window), each a forecast origin: more signal per pass */
	size_t horizon; /* steps the head forecasts directly; later steps repeat the last season */
	size_t base_seasons; /* seasons averaged into the base forecast that the head corrects:
				1 is seasonal naive (best on real loads, whose seasons drift); more
				suit noise-dominated series: 16 units cannot average a season's phases */
	size_t n_aux;        /* aligned extra input series (neighbouring buckets), <= MAX_AUX */
	size_t budget;       /* training window passes (forward and backward): the time budget; 0
			   leaves the initial net, which forecasts close to seasonal naive */
	size_t batch;        /* windows averaged per Adam step */
	double lr;           /* Adam step size at the start; decays linearly to a tenth */
};

/* One fitted model, embedded by its owner; it owns mem, and every array points into it. */
struct forecast_lstm {
	enum forecast_lstm_status status; /* outcome of the last fit; kept even when it failed */
	size_t m;            /* season length; 1 = none (the naive forecast is the base) */
	size_t window;       /* input steps per forecast */
	size_t supervised;   /* window steps scored in training (see the config) */
	size_t horizon;      /* outputs of the head */
	size_t base_seasons; /* seasons averaged into the base forecast */
	size_t hidden;       /* LSTM units */
	size_t n_aux;        /* extra input series */
	size_t n_in;         /* inputs per step: load, seasonal difference, extras */
	size_t n_params;     /* length of theta */
	double *theta;  /* [n_params] weights, laid out as lstm.c's first comment says; open to the
			  gradient check */
	double y_mu;    /* series mean: centres the load input */
	double y_sd;    /* series standard deviation: scales the load input */
	double y_q;     /* mean absolute seasonal difference: scales the difference input */
	double *y_qk;   /* [horizon] mean absolute error of the base forecast k+1 steps ahead:
			  scales the head's output k, so every target is about unit size */
	double *aux_mu; /* [n_aux] means of the extra series */
	double *aux_sd; /* [n_aux] their standard deviations */
	double *var;    /* [horizon] forecast error variance i+1 steps ahead, in load units */
	bool var_in_sample; /* true when the series was too short for a held-out tail and var comes
			       from windows the net trained on (then optimistic) */
	double train_loss; /* mean loss of the last tenth of the training budget, for diagnostics */
	double *ring;      /* [cap * (1 + n_aux)] the latest observations, row t % cap holds time t:
			      load then extras */
	size_t cap;        /* rows of ring: max(window, base_seasons * m) + m, what the next
			      forecast reads */
	size_t n_seen;     /* observations absorbed by the fit and the updates */
	double *mem;       /* the single allocation every array above lives in */
};

/* The tested configuration for season m: 16 units, 48 input steps of which 24 supervised,
 * horizon max(m, 48), a seasonal naive base, 256 window passes with an Adam step after each at
 * step size 0.02. */
struct forecast_lstm_config forecast_lstm_config_default(size_t m);

/*
 * Fits with the default configuration and no extra series (see forecast_lstm_fit_with).
 * m: season length (1 = none); seed: initialisation and shuffling. false on bad arguments
 * (y NULL, series too short for one training window, non-finite) or allocation failure; out
 * then owns nothing and out->status says why.
 */
__attribute__((warn_unused_result)) bool forecast_lstm_fit(const double *y, size_t n, size_t m,
                                                           unsigned long seed,
                                                           struct forecast_lstm *out);

/*
 * Fits a net to y[0..n-1] (and aux[0..cfg->n_aux-1], each n points aligned with y; NULL when
 * n_aux is 0) with the configuration cfg (copied) and seed. When the series allows, up to 32
 * forecast origins at its end, with the points their targets reach, are held out of training
 * to measure the forecast errors; a series too short to keep 8 of them and 16 training windows
 * takes the errors from training windows instead (var_in_sample). Returns false (NULL out
 * aside, with out->status saying why and nothing owned) when y is NULL, m is 0, cfg is NULL
 * or out of range, an aux series is missing (BAD_ARGS), a value is not finite or so large that
 * its sums overflow (NON_FINITE), the series is too short for one training window (TOO_SHORT:
 * 96 points for the default configuration up to m = 25), or memory fails. On success out owns
 * memory: release it with forecast_lstm_cleanup. Constant, all-zero and spiky series fit and
 * give finite forecasts. Costs about 22 ms for the default configuration on one core,
 * whatever n (the budget, not the length, bounds training). Any thread, one call at a time
 * per out.
 */
__attribute__((warn_unused_result)) bool
forecast_lstm_fit_with(const double *y, size_t n, size_t m, const double *const *aux,
                       const struct forecast_lstm_config *cfg, unsigned long seed,
                       struct forecast_lstm *out);

/*
 * Appends one observation to the input window (the cheap per-window update: no retraining, no
 * allocation; weights, scales and error variances stay those of the fit). A non-finite y is
 * ignored. The extra series, if any, repeat their last values (see forecast_lstm_update_aux).
 */
void forecast_lstm_update(struct forecast_lstm *l, double y);

/*
 * As forecast_lstm_update, with the extra series' values aux[0..n_aux-1] for the same window;
 * aux NULL or a non-finite entry repeats the previous value.
 */
void forecast_lstm_update_aux(struct forecast_lstm *l, double y, const double *aux);

/*
 * Forecasts p->h steps after the last observation into p's caller-owned arrays: point
 * forecasts and central normal intervals at every level in p->levels. Steps beyond the head's
 * horizon repeat the forecast one season earlier (or the last step when m is 1) with a
 * variance growing linearly in the step. A model that did not fit (status not OK) gives zeros.
 * No allocation; reads l only.
 */
void forecast_lstm_forecast(const struct forecast_lstm *l, struct forecast_pred *p);

/*
 * The training loss of one window and its gradient with respect to every weight, exactly as
 * the fit computes them (exposed for the finite-difference check of backpropagation). x holds
 * window rows of n_in standardised inputs, oldest first; target holds supervised rows of
 * horizon scaled residuals, one row per scored step; grad receives n_params values. Returns
 * false if scratch memory fails.
 */
__attribute__((warn_unused_result)) bool forecast_lstm_window_grad(const struct forecast_lstm *l,
                                                                   const double *x,
                                                                   const double *target,
                                                                   double *loss, double *grad);

/* Frees everything the model owns and zeroes it; safe on a zeroed or already cleaned struct. */
void forecast_lstm_cleanup(struct forecast_lstm *l);
