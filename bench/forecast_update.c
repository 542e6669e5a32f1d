/*
 * The forecast thread's per-window work at scale, for bench/forecast.sh: fits one model (or the
 * automatic choice) to each series of a foreshard-forecast input file, then times W windows in
 * which every series absorbs one new value (the cheap update) and, separately, the update plus
 * a fresh forecast with 80% and 95% intervals (what a snapshot needs). Prints microseconds per
 * thousand series per window.
 *
 * usage: fs-forecast-update FILE MODEL SEASON HORIZON WINDOWS
 */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forecast/cli/series.h"
#include "forecast/prep.h"
#include "forecast/select.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const double levels[2] = {0.80, 0.95};
	struct forecast_choice *fits = NULL;
	double *last = NULL; /* each series' last value, the base of its new values */
	struct cli_reader r;
	struct cli_series s;
	enum forecast_model model;
	size_t n = 0, cap = 0, m, h, windows;
	double *mean, *lo, *hi, t0, t_update, t_both, fit_s;
	FILE *f;

	if (argc != 6 || !forecast_model_parse(argv[2], &model)) {
		fprintf(stderr, "usage: fs-forecast-update FILE MODEL SEASON HORIZON WINDOWS\n");
		return 2;
	}
	gsl_set_error_handler_off(); /* the models check GSL's return codes themselves */
	m = strtoul(argv[3], NULL, 10);
	h = strtoul(argv[4], NULL, 10);
	windows = strtoul(argv[5], NULL, 10);
	f = fopen(argv[1], "r");
	if (!f || m == 0 || h == 0 || windows == 0) {
		fprintf(stderr, "fs-forecast-update: cannot read %s or bad numbers\n", argv[1]);
		return 2;
	}
	struct forecast_spec spec = {.periods = &m, .n_periods = 1, .horizon = h, .seed = 1};

	cli_reader_init(&r, f, argv[1]);
	t0 = now_s();
	while (cli_read(&r, &s) == CLI_READ_OK) {
		bool none, ok;

		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			fits = realloc(fits, cap * sizeof(*fits));
			last = realloc(last, cap * sizeof(*last));
			if (!fits || !last)
				return 1;
		}
		(void)forecast_prep_fill(s.v, s.n, m, &none);
		ok = forecast_choose(s.v, s.n, model, &spec, &forecast_auto_default, &fits[n]);
		last[n] = s.n ? s.v[s.n - 1] : 0;
		cli_series_free(&s);
		if (!ok) {
			fprintf(stderr, "fs-forecast-update: series %zu did not fit\n", n);
			return 1;
		}
		n++;
	}
	fit_s = now_s() - t0;
	cli_reader_cleanup(&r);
	fclose(f);
	mean = malloc(h * sizeof(double));
	lo = malloc(2 * h * sizeof(double));
	hi = malloc(2 * h * sizeof(double));
	if (!mean || !lo || !hi || n == 0)
		return 1;
	struct forecast_pred p = {
	        .h = h, .n_levels = 2, .levels = levels, .mean = mean, .lo = lo, .hi = hi};

	/* each window's new value: the series' last value with a wobble of a few percent */
	t0 = now_s();
	for (size_t w = 0; w < windows; w++)
		for (size_t i = 0; i < n; i++)
			forecast_choice_update(&fits[i],
			                       last[i] * (0.97 + 0.01 * (double)((i + w) % 7)));
	t_update = now_s() - t0;
	t0 = now_s();
	for (size_t w = 0; w < windows; w++) {
		for (size_t i = 0; i < n; i++) {
			forecast_choice_update(&fits[i],
			                       last[i] * (0.97 + 0.01 * (double)((i + w) % 7)));
			if (!forecast_choice_forecast(&fits[i], &p))
				return 1;
		}
	}
	t_both = now_s() - t0;
	printf("series %zu model %s fit_s %.3f update_us_per_1000 %.2f "
	       "update_forecast_us_per_1000 %.2f\n",
	       n, argv[2], fit_s, t_update / (double)windows / (double)n * 1e9,
	       t_both / (double)windows / (double)n * 1e9);
	for (size_t i = 0; i < n; i++)
		forecast_choice_cleanup(&fits[i]);
	free(fits);
	free(last);
	free(mean);
	free(lo);
	free(hi);
	return 0;
}
