/*
 * The models behind one interface, and their automatic choice by rolling-origin backtests (see
 * select.h for the method and why the backtests roll forward instead of refitting).
 */
#include "forecast/select.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/metrics.h"
#include "forecast/prep.h"

/* Models are combined only while their backtest error is within this factor of the best's. */
#define SELECT_COMBINE_SPREAD 1.25

static const char *const model_names[FORECAST_MODEL_COUNT] = {
        [FORECAST_MODEL_AUTO] = "auto",     [FORECAST_MODEL_NAIVE] = "naive",
        [FORECAST_MODEL_SNAIVE] = "snaive", [FORECAST_MODEL_ETS] = "ets",
        [FORECAST_MODEL_ARIMA] = "arima",   [FORECAST_MODEL_PROPHET] = "prophet",
        [FORECAST_MODEL_LSTM] = "lstm",
};

static const enum forecast_model default_candidates[] = {
        FORECAST_MODEL_SNAIVE,
        FORECAST_MODEL_ETS,
        FORECAST_MODEL_ARIMA,
        FORECAST_MODEL_PROPHET,
};

const struct forecast_auto_opts forecast_auto_default = {
        .candidates = default_candidates,
        .n_candidates = sizeof(default_candidates) / sizeof(default_candidates[0]),
        .origins = 3,
        .combine = 2,
};

const char *forecast_model_str(enum forecast_model m)
{
	return m < FORECAST_MODEL_COUNT ? model_names[m] : "?";
}

bool forecast_model_parse(const char *s, enum forecast_model *out)
{
	for (int m = 0; m < FORECAST_MODEL_COUNT; m++) {
		if (strcmp(s, model_names[m]) == 0) {
			*out = (enum forecast_model)m;
			return true;
		}
	}
	return false;
}

/* The main seasonal period, 1 when there is none. */
static size_t main_period(const struct forecast_spec *spec)
{
	return spec->n_periods > 0 && spec->periods[0] >= 1 ? spec->periods[0] : 1;
}

/* Whether ETS or ARIMA must have the seasons removed for them (see forecast_fit_model). */
static bool needs_adjust(enum forecast_model model, const struct forecast_spec *spec)
{
	if (model != FORECAST_MODEL_ETS && model != FORECAST_MODEL_ARIMA)
		return false;
	return spec->n_periods > 1 ||
	       (spec->n_periods == 1 && spec->periods[0] > FORECAST_NATIVE_SEASON_MAX);
}

/* The period (of spec's) whose seasonal naive has the least in-sample error on y. */
static size_t best_snaive_period(const double *y, size_t n, const struct forecast_spec *spec)
{
	size_t best = main_period(spec);
	double best_err = forecast_metric_scale(y, n, best);

	for (size_t i = 1; i < spec->n_periods; i++) {
		size_t m = spec->periods[i];
		double err = m >= 2 && n > 2 * m ? forecast_metric_scale(y, n, m) : NAN;

		if (err < best_err || (isfinite(err) && !isfinite(best_err))) {
			best = m;
			best_err = err;
		}
	}
	return best;
}

/* Fits model to y with season m (1: none); the caller has set out->model and seed. */
static bool fit_plain(const double *y, size_t n, size_t m, const struct forecast_spec *spec,
                      struct forecast_fit *out)
{
	switch (out->model) {
	case FORECAST_MODEL_NAIVE:
		return forecast_naive_fit(y, n, m, FORECAST_NAIVE, &out->u.naive);
	case FORECAST_MODEL_SNAIVE:
		return forecast_naive_fit(y, n, best_snaive_period(y, n, spec), FORECAST_SNAIVE,
		                          &out->u.naive);
	case FORECAST_MODEL_ETS:
		return forecast_ets_auto(y, n, m, &out->u.ets);
	case FORECAST_MODEL_ARIMA:
		return forecast_arima_auto(y, n, m, &out->u.arima);
	case FORECAST_MODEL_PROPHET:
		return forecast_prophet_fit(y, n, spec->periods, spec->n_periods, &out->u.prophet);
	case FORECAST_MODEL_LSTM:
		return forecast_lstm_fit(y, n, m, spec->seed, &out->u.lstm);
	default:
		return false;
	}
}

/*
 * fit_plain, keeping the structure like chose (ETS's components, ARIMA's orders, seasonal
 * naive's period) instead of choosing again: a refit on more of the same series. Chooses as
 * fit_plain does when like is NULL or its structure does not suit y.
 */
static bool fit_plain_like(const double *y, size_t n, size_t m, const struct forecast_spec *spec,
                           const struct forecast_fit *like, struct forecast_fit *out)
{
	if (!like)
		return fit_plain(y, n, m, spec, out);
	switch (out->model) {
	case FORECAST_MODEL_SNAIVE:
		return forecast_naive_fit(y, n, like->u.naive.m, FORECAST_SNAIVE, &out->u.naive);
	case FORECAST_MODEL_ETS:
		if (forecast_ets_fit(y, n, m, like->u.ets.spec, &out->u.ets))
			return true;
		break;
	case FORECAST_MODEL_ARIMA:
		if (forecast_arima_fit(y, n, &like->u.arima.order, &out->u.arima))
			return true;
		break;
	default:
		break;
	}
	return fit_plain(y, n, m, spec, out);
}

/* forecast_fit_model, with the structure of like (same model and spec) when it is not NULL. */
static bool fit_model(const double *y, size_t n, enum forecast_model model,
                      const struct forecast_spec *spec, const struct forecast_fit *like,
                      struct forecast_fit *out)
{
	size_t m = main_period(spec);
	double *adjusted;
	bool ok;

	memset(out, 0, sizeof(*out));
	out->model = model;
	out->seed = spec->seed;
	if (!y || n == 0)
		return false;
	if (!needs_adjust(model, spec))
		return fit_plain_like(y, n, m, spec, like, out);
	adjusted = malloc(n * sizeof(*adjusted));
	if (!adjusted)
		return false;
	ok = forecast_adjust_fit(y, n, spec->periods, spec->n_periods, &out->adj, adjusted);
	if (ok && !fit_plain_like(adjusted, n, 1, spec, like, out)) {
		forecast_adjust_cleanup(&out->adj);
		ok = false;
	}
	free(adjusted);
	return ok;
}

bool forecast_fit_model(const double *y, size_t n, enum forecast_model model,
                        const struct forecast_spec *spec, struct forecast_fit *out)
{
	return fit_model(y, n, model, spec, NULL, out);
}

void forecast_fit_forecast(const struct forecast_fit *f, struct forecast_pred *p)
{
	switch (f->model) {
	case FORECAST_MODEL_ETS:
		forecast_ets_forecast(&f->u.ets, p, f->seed);
		break;
	case FORECAST_MODEL_ARIMA:
		forecast_arima_forecast(&f->u.arima, p);
		break;
	case FORECAST_MODEL_PROPHET:
		forecast_prophet_forecast(&f->u.prophet, p, f->seed);
		break;
	case FORECAST_MODEL_LSTM:
		forecast_lstm_forecast(&f->u.lstm, p);
		break;
	default:
		forecast_naive_forecast(&f->u.naive, p);
		break;
	}
	forecast_adjust_restore(&f->adj, p);
}

void forecast_fit_update(struct forecast_fit *f, double y)
{
	y = forecast_adjust_next(&f->adj, y);
	switch (f->model) {
	case FORECAST_MODEL_ETS:
		forecast_ets_update(&f->u.ets, y);
		break;
	case FORECAST_MODEL_ARIMA:
		forecast_arima_update(&f->u.arima, y);
		break;
	case FORECAST_MODEL_PROPHET:
		forecast_prophet_update(&f->u.prophet, y);
		break;
	case FORECAST_MODEL_LSTM:
		forecast_lstm_update(&f->u.lstm, y);
		break;
	default:
		forecast_naive_update(&f->u.naive, y);
		break;
	}
}

const char *forecast_fit_name(const struct forecast_fit *f, char *buf, size_t len)
{
	size_t used;

	switch (f->model) {
	case FORECAST_MODEL_ETS:
		forecast_ets_name(&f->u.ets, buf, len);
		break;
	case FORECAST_MODEL_ARIMA:
		forecast_arima_name(&f->u.arima, buf, len);
		break;
	case FORECAST_MODEL_NAIVE:
	case FORECAST_MODEL_SNAIVE:
		snprintf(buf, len, "%s[%zu]", forecast_naive_name(&f->u.naive), f->u.naive.m);
		break;
	default:
		snprintf(buf, len, "%s", forecast_model_str(f->model));
		break;
	}
	/* the seasons taken out around the model, e.g. "ETS(A,N,N)+season[48,336]" */
	for (size_t k = 0; k < f->adj.n && (used = strlen(buf)) + 1 < len; k++)
		snprintf(buf + used, len - used, "%s%zu%s", k ? "," : "+season[", f->adj.m[k],
		         k + 1 == f->adj.n ? "]" : "");
	return buf;
}

void forecast_fit_cleanup(struct forecast_fit *f)
{
	switch (f->model) {
	case FORECAST_MODEL_ETS:
		forecast_ets_cleanup(&f->u.ets);
		break;
	case FORECAST_MODEL_ARIMA:
		forecast_arima_cleanup(&f->u.arima);
		break;
	case FORECAST_MODEL_PROPHET:
		forecast_prophet_cleanup(&f->u.prophet);
		break;
	case FORECAST_MODEL_LSTM:
		forecast_lstm_cleanup(&f->u.lstm);
		break;
	case FORECAST_MODEL_NAIVE:
	case FORECAST_MODEL_SNAIVE:
		forecast_naive_cleanup(&f->u.naive);
		break;
	default:
		break;
	}
	forecast_adjust_cleanup(&f->adj);
	f->model = FORECAST_MODEL_AUTO; /* owns nothing now */
}

/* Working memory of the backtests, for a horizon h and a number of origins. */
struct backtest_work {
	double *mean, *lo, *hi;              /* a forecast with calibration levels */
	struct forecast_calib_scores scores; /* cap = origins * h */
	double *block;                       /* owns the arrays */
};

static bool backtest_work_init(struct backtest_work *bw, size_t h, size_t origins)
{
	size_t nl = FORECAST_CALIB_LEVELS, cap = origins * h;

	bw->block = malloc((h + 2 * nl * h + nl * cap) * sizeof(double));
	if (!bw->block)
		return false;
	bw->mean = bw->block;
	bw->lo = bw->mean + h;
	bw->hi = bw->lo + nl * h;
	bw->scores = (struct forecast_calib_scores){.s = bw->hi + nl * h, .cap = cap};
	return true;
}

/*
 * The candidate's backtest: fit on y before the first origin, then at each origin forecast h
 * steps, add the scaled mean absolute error, score the intervals, and roll on by absorbing the
 * h true values. The fit is left in *f for its structure. Returns false, and *f owns nothing,
 * when the model cannot be fit on the shortened history; otherwise *score is the mean error
 * over the origins (NaN if a forecast was not finite) and *calib the interval factors.
 */
static bool backtest(const double *y, size_t n, enum forecast_model model,
                     const struct forecast_spec *spec, size_t origins, double scale,
                     struct backtest_work *bw, struct forecast_fit *f, double *score,
                     struct forecast_calib *calib)
{
	size_t h = spec->horizon, cut = n - origins * h;
	struct forecast_pred p = {.h = h,
	                          .n_levels = FORECAST_CALIB_LEVELS,
	                          .levels = forecast_calib_levels,
	                          .mean = bw->mean,
	                          .lo = bw->lo,
	                          .hi = bw->hi};
	double err = 0;

	if (!forecast_fit_model(y, cut, model, spec, f))
		return false;
	bw->scores.n = 0;
	for (size_t o = 0; o < origins; o++) {
		const double *truth = y + cut + o * h;

		forecast_fit_forecast(f, &p);
		err += forecast_metric_mase(truth, p.mean, h, scale);
		forecast_calib_score(&bw->scores, &p, truth);
		for (size_t i = 0; i < h; i++)
			forecast_fit_update(f, truth[i]);
	}
	*score = err / (double)origins;
	forecast_calib_finish(&bw->scores, calib);
	return true;
}

/* Seasonal naive alone, for histories too short to backtest. */
static bool choose_snaive(const double *y, size_t n, const struct forecast_spec *spec,
                          struct forecast_choice *out)
{
	if (!forecast_fit_model(y, n, FORECAST_MODEL_SNAIVE, spec, &out->fits[0]))
		return false;
	out->n_fits = 1;
	out->weight[0] = 1.0;
	return true;
}

bool forecast_auto(const double *y, size_t n, const struct forecast_spec *spec,
                   const struct forecast_auto_opts *opts, struct forecast_choice *out)
{
	size_t m = main_period(spec), h = spec->horizon, origins = opts->origins;
	size_t need = (m >= 2 ? 2 * m : 2 * h) + origins * h, keep;
	enum forecast_model order[FORECAST_MODEL_COUNT];
	struct forecast_fit tried[FORECAST_MODEL_COUNT]; /* by model: the backtests' fits */
	struct forecast_calib calib[FORECAST_MODEL_COUNT];
	bool have[FORECAST_MODEL_COUNT] = {false};
	size_t n_order = 0;
	struct backtest_work bw;
	double scale, total = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < FORECAST_MODEL_COUNT; i++)
		out->score[i] = NAN;
	if (!y || n == 0 || h == 0 || origins == 0)
		return false;
	if (n < need || opts->n_candidates == 0)
		return choose_snaive(y, n, spec, out);
	/* a constant history has no seasonal-naive error: rank by plain absolute error */
	scale = forecast_metric_scale(y, n - origins * h, m);
	if (!isfinite(scale))
		scale = 1.0;
	if (!backtest_work_init(&bw, h, origins))
		return false;
	for (size_t c = 0; c < opts->n_candidates; c++) {
		enum forecast_model model = opts->candidates[c];
		double s = NAN;

		if (model >= FORECAST_MODEL_COUNT || model == FORECAST_MODEL_AUTO || have[model] ||
		    !backtest(y, n, model, spec, origins, scale, &bw, &tried[model], &s,
		              &calib[model]))
			continue;
		have[model] = true;
		out->score[model] = s;
		if (!isfinite(s))
			continue;
		/* insertion into order, by rising score */
		size_t at = n_order++;

		while (at > 0 && out->score[order[at - 1]] > s) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = model;
	}
	free(bw.block);
	keep = opts->combine < 1 ? 1 : opts->combine;
	if (keep > FORECAST_COMBINE_MAX)
		keep = FORECAST_COMBINE_MAX;
	for (size_t i = 0; i < n_order && out->n_fits < keep; i++) {
		struct forecast_fit *f = &out->fits[out->n_fits];
		/* a perfect backtest would take all the weight: floor the error */
		double w = 1.0 / fmax(out->score[order[i]], 1e-6);

		/* a model far behind the best would only pull the combination towards its errors */
		if (out->n_fits > 0 &&
		    out->score[order[i]] > SELECT_COMBINE_SPREAD * out->score[out->fits[0].model])
			break;
		/* the backtest chose the structure; the whole series re-estimates it */
		if (!fit_model(y, n, order[i], spec, &tried[order[i]], f))
			continue;
		out->calib[out->n_fits] = calib[order[i]];
		out->weight[out->n_fits++] = w;
		total += w;
	}
	for (int i = 0; i < FORECAST_MODEL_COUNT; i++) {
		if (have[i])
			forecast_fit_cleanup(&tried[i]);
	}
	if (out->n_fits == 0)
		return choose_snaive(y, n, spec, out);
	for (size_t i = 0; i < out->n_fits; i++)
		out->weight[i] /= total;
	return true;
}

bool forecast_choose(const double *y, size_t n, enum forecast_model model,
                     const struct forecast_spec *spec, const struct forecast_auto_opts *opts,
                     struct forecast_choice *out)
{
	/* history from before the season's shape changed would teach every model the old phase */
	if (y && spec && spec->n_periods > 0) {
		size_t from = forecast_prep_break(y, n, spec->periods[0]);

		y += from;
		n -= from;
	}
	if (model == FORECAST_MODEL_AUTO)
		return forecast_auto(y, n, spec, opts, out);
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < FORECAST_MODEL_COUNT; i++)
		out->score[i] = NAN;
	if (!forecast_fit_model(y, n, model, spec, &out->fits[0]) &&
	    !forecast_fit_model(y, n, FORECAST_MODEL_SNAIVE, spec, &out->fits[0]))
		return false;
	out->n_fits = 1;
	out->weight[0] = 1.0;
	return true;
}

bool forecast_choice_forecast(const struct forecast_choice *c, struct forecast_pred *p)
{
	size_t h = p->h, nb = p->n_levels * h;
	double *buf;

	if (c->n_fits == 1) {
		forecast_fit_forecast(&c->fits[0], p);
		forecast_calib_apply(&c->calib[0], p);
		return true;
	}
	buf = malloc((h + 2 * nb) * sizeof(*buf));
	if (!buf)
		return false;
	struct forecast_pred one = {.h = h,
	                            .n_levels = p->n_levels,
	                            .levels = p->levels,
	                            .mean = buf,
	                            .lo = buf + h,
	                            .hi = buf + h + nb};

	memset(p->mean, 0, h * sizeof(double));
	memset(p->lo, 0, nb * sizeof(double));
	memset(p->hi, 0, nb * sizeof(double));
	for (size_t k = 0; k < c->n_fits; k++) {
		double w = c->weight[k];

		forecast_fit_forecast(&c->fits[k], &one);
		forecast_calib_apply(&c->calib[k], &one);
		for (size_t i = 0; i < h; i++)
			p->mean[i] += w * one.mean[i];
		for (size_t i = 0; i < nb; i++) {
			p->lo[i] += w * one.lo[i];
			p->hi[i] += w * one.hi[i];
		}
	}
	free(buf);
	return true;
}

void forecast_choice_update(struct forecast_choice *c, double y)
{
	for (size_t i = 0; i < c->n_fits; i++)
		forecast_fit_update(&c->fits[i], y);
}

void forecast_choice_cleanup(struct forecast_choice *c)
{
	for (size_t i = 0; i < c->n_fits; i++)
		forecast_fit_cleanup(&c->fits[i]);
	c->n_fits = 0;
}
