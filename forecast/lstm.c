/*
 * The LSTM forecaster of one load series (see lstm.h): input standardisation, the LSTM cell's
 * forward step and its backpropagation through time, the Adam training loop under a fixed
 * budget, the per-horizon error variances from a held-out tail, the ring of recent
 * observations that the per-window update appends to, and the forecasts with normal intervals.
 * The forecast engine (forecast/engine.c) can keep one of these per key bucket.
 *
 * Weights live in one array theta, so that clipping, Adam and the gradient check treat them as
 * one vector. With I inputs, H units, G = 4H gate rows and K outputs it holds, in order:
 *   wx [I][G]  input weights, stored transposed so the forward pass is a run of axpy loops
 *   wh [H][G]  recurrent weights, transposed likewise
 *   b  [G]     gate biases; gates are ordered input, forget, candidate, output
 *   v  [K][H]  head weights
 *   c  [K]     head biases
 * The cell is the standard one: i, f, o = sigmoid, g = tanh of (b + wx'x + wh'h_prev);
 * c = f*c_prev + i*g; h = o*tanh(c). The forecast reads the head at the window's last step.
 *
 * Training is many-to-many: the head is also scored at each of the window's last `supervised`
 * steps, each step being the origin of its own horizon of targets. One forward and backward pass
 * then teaches about as many forecasts as it has supervised steps for a third more work, which
 * is what lets a few hundred window passes train the net at all.
 */
#include "forecast/lstm.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Inputs and targets are winsorised at this many scale units: one spike cannot saturate every
 * gate or dominate a training budget of a few hundred windows. */
#define LSTM_CLIP 8.0
/* Global gradient norm above which a step is scaled down (exploding gradients through time). */
#define LSTM_MAX_GRAD_NORM 1.0
/* Adam's moment decay rates and denominator guard, the usual values. */
#define LSTM_BETA1 0.9
#define LSTM_BETA2 0.999
#define LSTM_EPS 1e-8
/* Most and fewest forecast origins in the held-out tail: 32 origins keep evaluation cheap, and
 * fewer than 8 say too little about the errors to be worth taking from training. */
#define LSTM_HOLD_MAX 32
#define LSTM_HOLD_MIN 8
/* Training windows that must remain after the tail is held out. */
#define LSTM_TRAIN_MIN 16
/* A scale smaller than this fraction of the series' size is rounding noise (a pure sine's
 * seasonal differences, a constant's deviation): the next scale is used instead. */
#define LSTM_SCALE_REL 1e-6

/* Sizes and offsets into theta (and into a gradient laid out the same way). */
struct lstm_dims {
	size_t win; /* input steps per window */
	size_t sup; /* supervised steps at the window's end */
	size_t in;  /* inputs per step */
	size_t hid; /* units */
	size_t out; /* head outputs */
	size_t g;   /* gate rows, 4 * hid */
	size_t wh;  /* offset of the recurrent weights */
	size_t b;   /* offset of the gate biases */
	size_t v;   /* offset of the head weights */
	size_t c;   /* offset of the head biases */
	size_t n;   /* total */
};

/* Per-window training state: what the backward pass needs from the forward one, and its own
 * temporaries. Arrays of window rows hold one row per input step. */
struct lstm_scratch {
	double *act; /* [window][g] gate activations i, f, g, o */
	double *c;   /* [window][hid] cell states */
	double *tc;  /* [window][hid] tanh of the cell states */
	double *h;   /* [window][hid] hidden states */
	double *out; /* [sup][out] head outputs at the supervised steps */
	double *dz;  /* [g] gradient at the gate pre-activations */
	double *dh;  /* [hid] gradient at the current hidden state */
	double *dhp; /* [hid] gradient at the previous hidden state, being accumulated */
	double *dc;  /* [hid] gradient at the cell state carried backwards */
};

const char *forecast_lstm_status_str(enum forecast_lstm_status s)
{
	switch (s) {
	case FORECAST_LSTM_OK:
		return "ok";
	case FORECAST_LSTM_BAD_ARGS:
		return "bad_args";
	case FORECAST_LSTM_NON_FINITE:
		return "non_finite";
	case FORECAST_LSTM_TOO_SHORT:
		return "too_short";
	case FORECAST_LSTM_NO_MEMORY:
		return "no_memory";
	}
	return "unknown";
}

struct forecast_lstm_config forecast_lstm_config_default(size_t m)
{
	struct forecast_lstm_config c = {
	        .hidden = 16,
	        .window = 48,
	        .supervised = 24,
	        .horizon = m > 48 ? m : 48,
	        .base_seasons = 1,
	        .n_aux = 0,
	        .budget = 256,
	        .batch = 1,
	        .lr = 0.02,
	};

	return c;
}

static void lstm_dims(const struct forecast_lstm *l, struct lstm_dims *d)
{
	d->win = l->window;
	d->sup = l->supervised;
	d->in = l->n_in;
	d->hid = l->hidden;
	d->out = l->horizon;
	d->g = 4 * l->hidden;
	d->wh = d->in * d->g;
	d->b = d->wh + d->hid * d->g;
	d->v = d->b + d->g;
	d->c = d->v + d->out * d->hid;
	d->n = d->c + d->out;
}

static size_t lstm_scratch_len(const struct lstm_dims *d)
{
	return d->win * (d->g + 3 * d->hid) + d->sup * d->out + d->g + 3 * d->hid;
}

static void lstm_scratch_bind(struct lstm_scratch *s, const struct lstm_dims *d, double *p)
{
	size_t window = d->win;

	s->act = p;
	p += window * d->g;
	s->c = p;
	p += window * d->hid;
	s->tc = p;
	p += window * d->hid;
	s->h = p;
	p += window * d->hid;
	s->out = p;
	p += d->sup * d->out;
	s->dz = p;
	p += d->g;
	s->dh = p;
	p += d->hid;
	s->dhp = p;
	p += d->hid;
	s->dc = p;
}

static double sigmoid(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/* tanh through exp: libm's tanh costs as much as the rest of a cell step, and this is exact up
 * to rounding (absolute error ~1e-16), so tanh' = 1 - tanh^2 still holds for backpropagation. */
static double fast_tanh(double x)
{
	return 2.0 / (1.0 + exp(-2.0 * x)) - 1.0;
}

static double clip(double x)
{
	return x > LSTM_CLIP ? LSTM_CLIP : (x < -LSTM_CLIP ? -LSTM_CLIP : x);
}

/*
 * A scale that is safe to divide by: s itself unless it is rounding noise against the series'
 * size |mu| + sd, then sd, then a tiny fraction of that size (1e-6 for an all-zero series),
 * so a flat input becomes zeros rather than noise blown up.
 */
static double safe_scale(double s, double mu, double sd)
{
	double tiny = LSTM_SCALE_REL * (fabs(mu) + sd);

	if (s > tiny && s > 0)
		return s;
	if (sd > tiny && sd > 0)
		return sd;
	return tiny > 0 ? tiny : LSTM_SCALE_REL;
}

/* The inputs of one step: load y, the load one season earlier (y itself when unknown) and the
 * extra series' values. */
static void lstm_features(const struct forecast_lstm *l, double y, double y_lag, const double *aux,
                          double *x)
{
	x[0] = clip((y - l->y_mu) / l->y_sd);
	x[1] = clip((y - y_lag) / l->y_q);
	for (size_t a = 0; a < l->n_aux; a++)
		x[2 + a] = clip((aux[a] - l->aux_mu[a]) / l->aux_sd[a]);
}

/* One cell step; h_prev and c_prev are NULL at the window's first step (zero state). */
static void lstm_step(const struct lstm_dims *d, const double *th, const double *x,
                      const double *h_prev, const double *c_prev, double *act, double *c,
                      double *tc, double *h)
{
	size_t hn = d->hid, g = d->g;

	memcpy(act, th + d->b, g * sizeof(double));
	for (size_t i = 0; i < d->in; i++) {
		const double *w = th + i * g;
		double xi = x[i];

		for (size_t r = 0; r < g; r++)
			act[r] += w[r] * xi;
	}
	if (h_prev) {
		for (size_t j = 0; j < hn; j++) {
			const double *w = th + d->wh + j * g;
			double hj = h_prev[j];

			for (size_t r = 0; r < g; r++)
				act[r] += w[r] * hj;
		}
	}
	for (size_t j = 0; j < hn; j++) {
		double ig = sigmoid(act[j]);
		double fg = sigmoid(act[hn + j]);
		double gg = fast_tanh(act[2 * hn + j]);
		double og = sigmoid(act[3 * hn + j]);

		act[j] = ig;
		act[hn + j] = fg;
		act[2 * hn + j] = gg;
		act[3 * hn + j] = og;
		c[j] = ig * gg + (c_prev ? fg * c_prev[j] : 0.0);
		tc[j] = fast_tanh(c[j]);
		h[j] = og * tc[j];
	}
}

/* Head output k read from the hidden state h. */
static double lstm_head(const struct lstm_dims *d, const double *th, const double *h, size_t k)
{
	const double *v = th + d->v + k * d->hid;
	double o = th[d->c + k];

	for (size_t j = 0; j < d->hid; j++)
		o += v[j] * h[j];
	return o;
}

/* Runs the window x[win][in] from the zero state, keeping every step for the backward pass,
 * and leaves the head's outputs at the supervised steps in s->out. */
static void lstm_forward(const struct lstm_dims *d, const double *th, const double *x,
                         struct lstm_scratch *s)
{
	size_t hn = d->hid, first_sup = d->win - d->sup;

	for (size_t t = 0; t < d->win; t++) {
		lstm_step(d, th, x + t * d->in, t ? s->h + (t - 1) * hn : NULL,
		          t ? s->c + (t - 1) * hn : NULL, s->act + t * d->g, s->c + t * hn,
		          s->tc + t * hn, s->h + t * hn);
		if (t < first_sup)
			continue;
		for (size_t k = 0; k < d->out; k++)
			s->out[(t - first_sup) * d->out + k] = lstm_head(d, th, s->h + t * hn, k);
	}
}

/*
 * Loss 0.5 * mean over supervised steps and horizons of (out - target)^2 for the window just run
 * forward (target laid out as s->out), and backpropagation through time: adds the loss's
 * gradient to grad (laid out as theta) and returns the loss.
 */
static double lstm_backward(const struct lstm_dims *d, const double *th, const double *x,
                            const double *target, struct lstm_scratch *s, double *grad)
{
	size_t hn = d->hid, g = d->g, first_sup = d->win - d->sup;
	double loss = 0, norm = 1.0 / (double)(d->sup * d->out);

	memset(s->dh, 0, hn * sizeof(double));
	memset(s->dc, 0, hn * sizeof(double));
	for (size_t t = d->win; t-- > 0;) {
		const double *a = s->act + t * g, *tc = s->tc + t * hn, *xt = x + t * d->in;
		const double *c_prev = t ? s->c + (t - 1) * hn : NULL;

		/* the head's error at this step joins what flows back from later steps */
		for (size_t k = 0; t >= first_sup && k < d->out; k++) {
			size_t at = (t - first_sup) * d->out + k;
			double e = s->out[at] - target[at];
			double dy = e * norm;
			const double *v = th + d->v + k * hn;
			double *gv = grad + d->v + k * hn;
			const double *ht = s->h + t * hn;

			loss += 0.5 * e * e;
			grad[d->c + k] += dy;
			for (size_t j = 0; j < hn; j++) {
				gv[j] += dy * ht[j];
				s->dh[j] += dy * v[j];
			}
		}
		for (size_t j = 0; j < hn; j++) {
			double ig = a[j], fg = a[hn + j], gg = a[2 * hn + j], og = a[3 * hn + j];
			double dc = s->dc[j] + s->dh[j] * og * (1.0 - tc[j] * tc[j]);

			s->dz[j] = dc * gg * ig * (1.0 - ig);
			s->dz[hn + j] = c_prev ? dc * c_prev[j] * fg * (1.0 - fg) : 0.0;
			s->dz[2 * hn + j] = dc * ig * (1.0 - gg * gg);
			s->dz[3 * hn + j] = s->dh[j] * tc[j] * og * (1.0 - og);
			s->dc[j] = dc * fg;
		}
		for (size_t r = 0; r < g; r++)
			grad[d->b + r] += s->dz[r];
		for (size_t i = 0; i < d->in; i++) {
			double *gw = grad + i * g;
			double xi = xt[i];

			for (size_t r = 0; r < g; r++)
				gw[r] += xi * s->dz[r];
		}
		if (!t)
			break;
		/* the recurrent weights' gradient and the gradient reaching h_{t-1} */
		for (size_t j = 0; j < hn; j++) {
			const double *w = th + d->wh + j * g;
			double *gw = grad + d->wh + j * g;
			double hj = s->h[(t - 1) * hn + j], acc = 0;

			for (size_t r = 0; r < g; r++) {
				gw[r] += hj * s->dz[r];
				acc += w[r] * s->dz[r];
			}
			s->dhp[j] = acc;
		}
		memcpy(s->dh, s->dhp, hn * sizeof(double));
	}
	return loss * norm;
}

bool forecast_lstm_window_grad(const struct forecast_lstm *l, const double *x, const double *target,
                               double *loss, double *grad)
{
	struct lstm_dims d;
	struct lstm_scratch s;
	double *buf;

	lstm_dims(l, &d);
	buf = malloc(lstm_scratch_len(&d) * sizeof(double));
	if (!buf)
		return false;
	lstm_scratch_bind(&s, &d, buf);
	memset(grad, 0, d.n * sizeof(double));
	lstm_forward(&d, l->theta, x, &s);
	*loss = lstm_backward(&d, l->theta, x, target, &s, grad);
	free(buf);
	return true;
}

/* Time of the newest observation in phase with step k+1 after origin t: the seasonal naive
 * forecast's source. The base averages it with the base_seasons - 1 seasons before. */
static size_t lstm_base_index(size_t m, size_t t, size_t k)
{
	return t + 1 + k % m - m;
}

/* The base forecast k+1 steps after origin t, from the series y. */
static double lstm_base(const struct forecast_lstm *l, const double *y, size_t t, size_t k)
{
	size_t at = lstm_base_index(l->m, t, k);
	double s = 0;

	for (size_t b = 0; b < l->base_seasons; b++)
		s += y[at - b * l->m];
	return s / (double)l->base_seasons;
}

/* Mean and standard deviation of v[0..n-1] (n >= 1), two-pass for accuracy. */
static void mean_sd(const double *v, size_t n, double *mu, double *sd)
{
	double s = 0, ss = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	*mu = s / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - *mu) * (v[i] - *mu);
	*sd = sqrt(ss / (double)n);
}

/* The first window end t that training can use: its window starts at 0 or later and every
 * supervised step's base lies in the series. */
static size_t lstm_first_end(const struct forecast_lstm_config *cfg, size_t m)
{
	size_t need = cfg->base_seasons * m + cfg->supervised - 2;

	return cfg->window - 1 > need ? cfg->window - 1 : need;
}

/* Validates the arguments; on failure returns the status to report. */
static enum forecast_lstm_status lstm_check(const double *y, size_t n, size_t m,
                                            const double *const *aux,
                                            const struct forecast_lstm_config *cfg)
{
	if (!y || !cfg || m == 0 || cfg->hidden == 0 || cfg->hidden > FORECAST_LSTM_MAX_HIDDEN ||
	    cfg->window < 2 || cfg->supervised == 0 || cfg->supervised > cfg->window ||
	    cfg->horizon == 0 || cfg->base_seasons == 0 || cfg->n_aux > FORECAST_LSTM_MAX_AUX ||
	    cfg->batch == 0 || !(cfg->lr > 0 && isfinite(cfg->lr)) || (cfg->n_aux && !aux))
		return FORECAST_LSTM_BAD_ARGS;
	for (size_t a = 0; a < cfg->n_aux; a++) {
		if (!aux[a])
			return FORECAST_LSTM_BAD_ARGS;
	}
	if (n < lstm_first_end(cfg, m) + 1 + cfg->horizon)
		return FORECAST_LSTM_TOO_SHORT;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(y[i]))
			return FORECAST_LSTM_NON_FINITE;
		for (size_t a = 0; a < cfg->n_aux; a++) {
			if (!isfinite(aux[a][i]))
				return FORECAST_LSTM_NON_FINITE;
		}
	}
	return FORECAST_LSTM_OK;
}

/*
 * Scales of the inputs and of the targets; false when the values are so large that sums
 * overflow. Each horizon step gets its own target scale, the mean absolute error of the base
 * forecast that far ahead over the whole series: without a season (m = 1) that error grows
 * with the step, and one scale would leave the far targets huge and the near ones tiny.
 */
static bool lstm_scales(struct forecast_lstm *l, const double *y, size_t n,
                        const double *const *aux)
{
	double q = 0, mu, sd;

	mean_sd(y, n, &mu, &sd);
	for (size_t t = l->m; t < n; t++)
		q += fabs(y[t] - y[t - l->m]);
	q = n > l->m ? q / (double)(n - l->m) : 0;
	if (!isfinite(mu) || !isfinite(sd) || !isfinite(q))
		return false;
	l->y_mu = mu;
	l->y_sd = safe_scale(sd, mu, sd);
	l->y_q = safe_scale(q, mu, sd);
	for (size_t k = 0; k < l->horizon; k++) {
		double e = 0;
		size_t cnt = 0;

		/* origins from base_seasons * m - 1 have a base, and the fit checked that n
		 * reaches beyond the first one's horizon */
		for (size_t t = l->base_seasons * l->m - 1; t + 1 + k < n; t++, cnt++)
			e += fabs(y[t + 1 + k] - lstm_base(l, y, t, k));
		e /= (double)cnt;
		if (!isfinite(e))
			return false;
		l->y_qk[k] = safe_scale(e, mu, sd);
	}
	for (size_t a = 0; a < l->n_aux; a++) {
		mean_sd(aux[a], n, &mu, &sd);
		if (!isfinite(mu) || !isfinite(sd))
			return false;
		l->aux_mu[a] = mu;
		l->aux_sd[a] = safe_scale(sd, mu, sd);
	}
	return true;
}

/* The scaled, winsorised residual targets of the window ending at t: what the head should
 * output at each supervised step (the step's own time is its forecast origin). */
static void lstm_targets(const struct forecast_lstm *l, const double *y, size_t t, double *tgt)
{
	for (size_t s = 0; s < l->supervised; s++) {
		size_t o = t + 1 + s - l->supervised;

		for (size_t k = 0; k < l->horizon; k++) {
			double e = y[o + 1 + k] - lstm_base(l, y, o, k);

			tgt[s * l->horizon + k] = clip(e / l->y_qk[k]);
		}
	}
}

/* PyTorch-like initialisation: weights uniform in +-1/sqrt(H), a small head so the untrained
 * model stays near seasonal naive, forget biases at 1 so the cell remembers from the start. */
static void lstm_init(const struct lstm_dims *d, double *th, gsl_rng *r)
{
	double a = 1.0 / sqrt((double)d->hid);

	for (size_t p = 0; p < d->b; p++)
		th[p] = a * (2.0 * gsl_rng_uniform(r) - 1.0);
	for (size_t p = d->b; p < d->v; p++)
		th[p] = (p - d->b) / d->hid == 1 ? 1.0 : 0.0;
	for (size_t p = d->v; p < d->c; p++)
		th[p] = 0.1 * a * (2.0 * gsl_rng_uniform(r) - 1.0);
	for (size_t p = d->c; p < d->n; p++)
		th[p] = 0.0;
}

/* What the training loop works with, allocated once per fit. */
struct lstm_train {
	struct lstm_dims d;    /* net shape */
	struct lstm_scratch s; /* per-window state */
	const double *y;       /* the series */
	double *feat;          /* [n][in] inputs of every time step */
	double *grad;          /* [d.n] batch gradient */
	double *m1;            /* [d.n] Adam first moments */
	double *m2;            /* [d.n] Adam second moments */
	double *tgt;           /* [sup][out] targets of the current window */
	size_t *ends;          /* training windows, by their last input's time; shuffled */
	size_t n_ends;         /* how many */
};

/* Adam over the budget: batches of windows drawn without replacement from a reshuffled list. */
static void lstm_train_run(struct forecast_lstm *l, const struct forecast_lstm_config *cfg,
                           struct lstm_train *tr, gsl_rng *r)
{
	const struct lstm_dims *d = &tr->d;
	size_t steps = (cfg->budget + cfg->batch - 1) / cfg->batch, pos = 0, tail_steps;
	double b1t = 1, b2t = 1, tail_loss = 0;

	tail_steps = steps / 10 ? steps / 10 : 1;
	memset(tr->m1, 0, d->n * sizeof(double));
	memset(tr->m2, 0, d->n * sizeof(double));
	gsl_ran_shuffle(r, tr->ends, tr->n_ends, sizeof(size_t));
	for (size_t step = 0; step < steps; step++) {
		double loss = 0, norm = 0, scale, lr;

		memset(tr->grad, 0, d->n * sizeof(double));
		for (size_t b = 0; b < cfg->batch; b++) {
			size_t t;
			const double *x;

			if (pos == tr->n_ends) {
				gsl_ran_shuffle(r, tr->ends, tr->n_ends, sizeof(size_t));
				pos = 0;
			}
			t = tr->ends[pos++];
			x = tr->feat + (t + 1 - d->win) * d->in;
			lstm_targets(l, tr->y, t, tr->tgt);
			lstm_forward(d, l->theta, x, &tr->s);
			loss += lstm_backward(d, l->theta, x, tr->tgt, &tr->s, tr->grad);
		}
		for (size_t p = 0; p < d->n; p++) {
			tr->grad[p] /= (double)cfg->batch;
			norm += tr->grad[p] * tr->grad[p];
		}
		norm = sqrt(norm);
		scale = norm > LSTM_MAX_GRAD_NORM ? LSTM_MAX_GRAD_NORM / norm : 1.0;
		/* linear decay to a tenth: big early steps, then settling into a minimum */
		lr = cfg->lr * (1.0 - 0.9 * (double)step / (double)steps);
		b1t *= LSTM_BETA1;
		b2t *= LSTM_BETA2;
		lr *= sqrt(1.0 - b2t) / (1.0 - b1t);
		for (size_t p = 0; p < d->n; p++) {
			double gp = tr->grad[p] * scale;

			tr->m1[p] = LSTM_BETA1 * tr->m1[p] + (1.0 - LSTM_BETA1) * gp;
			tr->m2[p] = LSTM_BETA2 * tr->m2[p] + (1.0 - LSTM_BETA2) * gp * gp;
			l->theta[p] -= lr * tr->m1[p] / (sqrt(tr->m2[p]) + LSTM_EPS);
		}
		if (step + tail_steps >= steps)
			tail_loss += loss / (double)cfg->batch;
	}
	l->train_loss = tail_loss / (double)tail_steps;
}

/*
 * Per-horizon mean squared forecast error of the windows ending in [from, to] (their last step
 * is the forecast origin, as in forecast_lstm_forecast), in load units, made non-decreasing in
 * the horizon: a few dozen correlated origins are noisy, and an interval that narrows further
 * ahead would be a claim the data cannot back.
 */
static void lstm_error_var(struct forecast_lstm *l, struct lstm_train *tr, size_t from, size_t to)
{
	const struct lstm_dims *d = &tr->d;
	const double *out = tr->s.out + (d->sup - 1) * d->out;
	size_t count = 0;

	memset(l->var, 0, l->horizon * sizeof(double));
	for (size_t t = from; t <= to; t++) {
		lstm_forward(d, l->theta, tr->feat + (t + 1 - d->win) * d->in, &tr->s);
		for (size_t k = 0; k < l->horizon; k++) {
			double f = lstm_base(l, tr->y, t, k) + l->y_qk[k] * out[k];
			double e = tr->y[t + 1 + k] - f;

			l->var[k] += e * e;
		}
		count++;
	}
	for (size_t k = 0; k < l->horizon; k++) {
		l->var[k] /= (double)count;
		if (!isfinite(l->var[k]))
			l->var[k] = k ? l->var[k - 1] : 0;
		if (k && l->var[k] < l->var[k - 1])
			l->var[k] = l->var[k - 1];
	}
}

/* Allocates out's single block and points its arrays into it. */
static bool lstm_alloc(struct forecast_lstm *l)
{
	struct lstm_dims d;
	size_t stride = 1 + l->n_aux;
	double *p;

	lstm_dims(l, &d);
	l->n_params = d.n;
	l->cap = (l->window > l->base_seasons * l->m ? l->window : l->base_seasons * l->m) + l->m;
	p = malloc((d.n + 2 * l->n_aux + 2 * l->horizon + l->cap * stride) * sizeof(double));
	if (!p)
		return false;
	l->mem = p;
	l->theta = p;
	p += d.n;
	l->aux_mu = p;
	p += l->n_aux;
	l->aux_sd = p;
	p += l->n_aux;
	l->y_qk = p;
	p += l->horizon;
	l->var = p;
	p += l->horizon;
	l->ring = p;
	return true;
}

/* Fills the ring with the last cap observations, at row t % cap. */
static void lstm_fill_ring(struct forecast_lstm *l, const double *y, size_t n,
                           const double *const *aux)
{
	size_t stride = 1 + l->n_aux, from = n > l->cap ? n - l->cap : 0;

	for (size_t t = from; t < n; t++) {
		double *row = l->ring + (t % l->cap) * stride;

		row[0] = y[t];
		/* aux is non-NULL whenever n_aux > 0 (lstm_check); the test is for the analyzer */
		for (size_t a = 0; aux && a < l->n_aux; a++)
			row[1 + a] = aux[a][t];
	}
	l->n_seen = n;
}

/* Failure exit of the fit: nothing owned, the reason kept. */
static bool lstm_fail(struct forecast_lstm *l, enum forecast_lstm_status st)
{
	free(l->mem);
	memset(l, 0, sizeof(*l));
	l->status = st;
	return false;
}

bool forecast_lstm_fit_with(const double *y, size_t n, size_t m, const double *const *aux,
                            const struct forecast_lstm_config *cfg, unsigned long seed,
                            struct forecast_lstm *out)
{
	struct lstm_train tr = {.y = y};
	enum forecast_lstm_status st;
	size_t first, total, hold, n_train;
	double *buf;
	gsl_rng *r;

	if (!out)
		return false;
	memset(out, 0, sizeof(*out));
	st = lstm_check(y, n, m, aux, cfg);
	if (st != FORECAST_LSTM_OK)
		return lstm_fail(out, st);
	out->m = m;
	out->window = cfg->window;
	out->supervised = cfg->supervised;
	out->horizon = cfg->horizon;
	out->base_seasons = cfg->base_seasons;
	out->hidden = cfg->hidden;
	out->n_aux = cfg->n_aux;
	out->n_in = 2 + cfg->n_aux;
	if (!lstm_alloc(out))
		return lstm_fail(out, FORECAST_LSTM_NO_MEMORY);
	if (!lstm_scales(out, y, n, aux))
		return lstm_fail(out, FORECAST_LSTM_NON_FINITE);

	/* window ends t run from first to n-1-horizon; the last hold of them are held out as
	 * forecast origins, together with every point their targets reach */
	first = lstm_first_end(cfg, m);
	total = n - out->horizon - first;
	hold = total / 3 < LSTM_HOLD_MAX ? total / 3 : LSTM_HOLD_MAX;
	if (hold < LSTM_HOLD_MIN || total < out->horizon + hold - 1 + LSTM_TRAIN_MIN)
		hold = 0;
	/* a held-out origin's targets must all lie beyond the last training target */
	n_train = hold ? total - hold - out->horizon + 1 : total;

	lstm_dims(out, &tr.d);
	buf = malloc((n * tr.d.in + 3 * tr.d.n + tr.d.sup * tr.d.out + lstm_scratch_len(&tr.d)) *
	             sizeof(double));
	tr.ends = malloc(n_train * sizeof(size_t));
	r = gsl_rng_alloc(gsl_rng_mt19937);
	if (!buf || !tr.ends || !r) {
		free(buf);
		free(tr.ends);
		if (r)
			gsl_rng_free(r);
		return lstm_fail(out, FORECAST_LSTM_NO_MEMORY);
	}
	tr.feat = buf;
	tr.grad = tr.feat + n * tr.d.in;
	tr.m1 = tr.grad + tr.d.n;
	tr.m2 = tr.m1 + tr.d.n;
	tr.tgt = tr.m2 + tr.d.n;
	lstm_scratch_bind(&tr.s, &tr.d, tr.tgt + tr.d.sup * tr.d.out);
	for (size_t t = 0; t < n; t++) {
		double a[FORECAST_LSTM_MAX_AUX];

		for (size_t j = 0; aux && j < out->n_aux; j++)
			a[j] = aux[j][t];
		lstm_features(out, y[t], t >= m ? y[t - m] : y[t], a, tr.feat + t * tr.d.in);
	}
	for (size_t i = 0; i < n_train; i++)
		tr.ends[i] = first + i;
	tr.n_ends = n_train;

	gsl_rng_set(r, seed);
	lstm_init(&tr.d, out->theta, r);
	lstm_train_run(out, cfg, &tr, r);
	if (hold) {
		lstm_error_var(out, &tr, first + total - hold, first + total - 1);
	} else {
		size_t k = n_train < LSTM_HOLD_MAX ? n_train : LSTM_HOLD_MAX;

		lstm_error_var(out, &tr, first + n_train - k, first + n_train - 1);
		out->var_in_sample = true;
	}
	lstm_fill_ring(out, y, n, aux);
	out->status = FORECAST_LSTM_OK;
	gsl_rng_free(r);
	free(tr.ends);
	free(buf);
	return true;
}

bool forecast_lstm_fit(const double *y, size_t n, size_t m, unsigned long seed,
                       struct forecast_lstm *out)
{
	struct forecast_lstm_config cfg = forecast_lstm_config_default(m);

	return forecast_lstm_fit_with(y, n, m, NULL, &cfg, seed, out);
}

void forecast_lstm_update_aux(struct forecast_lstm *l, double y, const double *aux)
{
	size_t stride = 1 + l->n_aux;
	double *row, *prev;

	if (!l->mem || !isfinite(y))
		return;
	/* cap >= 2, so the new row never overwrites the previous one */
	row = l->ring + (l->n_seen % l->cap) * stride;
	prev = l->ring + ((l->n_seen - 1) % l->cap) * stride;
	row[0] = y;
	for (size_t a = 0; a < l->n_aux; a++)
		row[1 + a] = aux && isfinite(aux[a]) ? aux[a] : prev[1 + a];
	l->n_seen++;
}

void forecast_lstm_update(struct forecast_lstm *l, double y)
{
	forecast_lstm_update_aux(l, y, NULL);
}

/* The ring's row for time t (one of the last cap observations). */
static const double *lstm_row(const struct forecast_lstm *l, size_t t)
{
	return l->ring + (t % l->cap) * (1 + l->n_aux);
}

/* lstm_base on the ring, for the origin now. */
static double lstm_ring_base(const struct forecast_lstm *l, size_t now, size_t k)
{
	size_t at = lstm_base_index(l->m, now, k);
	double s = 0;

	for (size_t b = 0; b < l->base_seasons; b++)
		s += lstm_row(l, at - b * l->m)[0];
	return s / (double)l->base_seasons;
}

void forecast_lstm_forecast(const struct forecast_lstm *l, struct forecast_pred *p)
{
	/* zeroed although every used entry is written first: the static analyzer cannot see that
	 * the window (>= 2 steps) always runs */
	double h[2][FORECAST_LSTM_MAX_HIDDEN] = {{0}}, c[2][FORECAST_LSTM_MAX_HIDDEN] = {{0}};
	double act[4 * FORECAST_LSTM_MAX_HIDDEN], tc[FORECAST_LSTM_MAX_HIDDEN];
	double x[2 + FORECAST_LSTM_MAX_AUX] = {0}, last = 0;
	struct lstm_dims d;
	size_t now, cur = 0, kmax;

	if (l->status != FORECAST_LSTM_OK || !l->mem) {
		memset(p->mean, 0, p->h * sizeof(double));
		memset(p->lo, 0, p->n_levels * p->h * sizeof(double));
		memset(p->hi, 0, p->n_levels * p->h * sizeof(double));
		return;
	}
	lstm_dims(l, &d);
	now = l->n_seen - 1;
	for (size_t j = 0; j < l->window; j++) {
		size_t t = now + 1 + j - l->window;
		const double *row = lstm_row(l, t);

		lstm_features(l, row[0], t >= l->m ? lstm_row(l, t - l->m)[0] : row[0], row + 1, x);
		lstm_step(&d, l->theta, x, j ? h[cur] : NULL, j ? c[cur] : NULL, act, c[cur ^ 1],
		          tc, h[cur ^ 1]);
		cur ^= 1;
	}
	kmax = l->horizon - 1;
	for (size_t i = 0; i < p->h; i++) {
		if (i < l->horizon) {
			last = l->y_qk[i] * lstm_head(&d, l->theta, h[cur], i);
			p->mean[i] = lstm_ring_base(l, now, i) + last;
		} else if (i >= l->m) {
			p->mean[i] = p->mean[i - l->m];
		} else {
			/* a head shorter than the season: keep its last correction */
			p->mean[i] = lstm_ring_base(l, now, i) + last;
		}
	}
	for (size_t i = 0; i < p->h; i++) {
		double v =
		        i <= kmax ? l->var[i] : l->var[kmax] * (double)(i + 1) / (double)(kmax + 1);

		forecast_pred_step(p, i, p->mean[i], v);
	}
}

void forecast_lstm_cleanup(struct forecast_lstm *l)
{
	free(l->mem);
	memset(l, 0, sizeof(*l));
}
