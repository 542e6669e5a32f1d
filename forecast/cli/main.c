/*
 * foreshard-forecast: the forecast engine's models on series from stdin, for evaluating and
 * comparing them outside the proxy. Reads "id,v1,...,vn" lines, writes "id,f1,...,fH" lines,
 * optionally the intervals to a file and, with --eval, an accuracy table against the true
 * futures (to stderr, so that stdout stays the forecasts). Output depends only on the input and
 * the options (--seed included).
 */
#include <errno.h>
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/cli/eval.h"
#include "forecast/cli/series.h"
#include "forecast/prep.h"
#include "forecast/select.h"

#define MAX_SEASONS 4

struct options {
	size_t horizon;              /* steps to forecast */
	size_t seasons[MAX_SEASONS]; /* --season values, in order */
	size_t n_seasons;
	enum forecast_model model;     /* --model */
	double levels[CLI_MAX_LEVELS]; /* --level, as fractions */
	size_t n_levels;
	unsigned long seed;    /* --seed */
	const char *intervals; /* --intervals FILE, or NULL */
	const char *eval;      /* --eval FILE, or NULL */
	size_t origins;        /* --origins: backtest origins of --model auto */
	size_t combine;        /* --combine: models auto combines */
};

/* The true futures read from --eval, sorted by id for lookup. */
struct truths {
	struct cli_series *s;
	size_t n;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: foreshard-forecast [options] < series.csv > forecasts.csv\n"
	        "  input: one series per line, id,v1,...,vn (oldest first; empty field = missing)\n"
	        "  --horizon H       steps to forecast (default: the first season, else 8)\n"
	        "  --season S        seasonal period in steps; repeat for several (first = main)\n"
	        "  --model M         auto|naive|snaive|ets|arima|prophet|lstm (default auto)\n"
	        "  --level L,...     interval levels in percent (default 80,95)\n"
	        "  --seed N          seed for the models that draw random numbers (default 1)\n"
	        "  --intervals FILE  write id,level,lo1..loH,hi1..hiH lines to FILE\n"
	        "  --eval FILE       true futures (same format): print sMAPE, MASE, OWA, coverage\n"
	        "                    and MSIS to stderr\n"
	        "  --origins K       backtest origins for --model auto (default 3)\n"
	        "  --combine K       --model auto combines the best K models (1-3, default 2)\n");
}

/* Parses a positive integer option value; exits with a message otherwise. */
static size_t positive(const char *opt, const char *v, size_t max)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end || end == v || x == 0 || x > max || v[0] == '-') {
		fprintf(stderr,
		        "foreshard-forecast: %s wants an integer from 1 to %zu, not \"%s\"\n", opt,
		        max, v);
		exit(2);
	}
	return (size_t)x;
}

static void parse_levels(const char *v, struct options *o)
{
	char *copy = strdup(v), *save = NULL;

	o->n_levels = 0;
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
	     t = strtok_r(NULL, ",", &save)) {
		char *end;
		double l = strtod(t, &end);

		if (*end || !(l > 0 && l < 100) || o->n_levels == CLI_MAX_LEVELS) {
			fprintf(stderr,
			        "foreshard-forecast: --level wants up to %d percentages between 0 and "
			        "100, such as 80,95; \"%s\" is not\n",
			        CLI_MAX_LEVELS, v);
			exit(2);
		}
		o->levels[o->n_levels++] = l / 100.0;
	}
	free(copy);
	if (o->n_levels == 0) {
		fprintf(stderr, "foreshard-forecast: --level needs at least one level\n");
		exit(2);
	}
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	        {"horizon", required_argument, NULL, 'h'},
	        {"season", required_argument, NULL, 's'},
	        {"model", required_argument, NULL, 'm'},
	        {"level", required_argument, NULL, 'l'},
	        {"seed", required_argument, NULL, 'S'},
	        {"intervals", required_argument, NULL, 'i'},
	        {"eval", required_argument, NULL, 'e'},
	        {"origins", required_argument, NULL, 'o'},
	        {"combine", required_argument, NULL, 'c'},
	        {"help", no_argument, NULL, 'H'},
	        {NULL, 0, NULL, 0},
	};
	int ch;

	*o = (struct options){.model = FORECAST_MODEL_AUTO,
	                      .levels = {0.80, 0.95},
	                      .n_levels = 2,
	                      .seed = 1,
	                      .origins = forecast_auto_default.origins,
	                      .combine = forecast_auto_default.combine};
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			o->horizon = positive("--horizon", optarg, 1u << 20);
			break;
		case 's':
			if (o->n_seasons == MAX_SEASONS) {
				fprintf(stderr, "foreshard-forecast: at most %d --season options\n",
				        MAX_SEASONS);
				exit(2);
			}
			o->seasons[o->n_seasons++] = positive("--season", optarg, 1u << 20);
			break;
		case 'm':
			if (!forecast_model_parse(optarg, &o->model)) {
				fprintf(stderr,
				        "foreshard-forecast: unknown --model \"%s\" (auto, naive, snaive, "
				        "ets, arima, prophet or lstm)\n",
				        optarg);
				exit(2);
			}
			break;
		case 'l':
			parse_levels(optarg, o);
			break;
		case 'S':
			o->seed = positive("--seed", optarg, (size_t)-1);
			break;
		case 'i':
			o->intervals = optarg;
			break;
		case 'e':
			o->eval = optarg;
			break;
		case 'o':
			o->origins = positive("--origins", optarg, 100);
			break;
		case 'c':
			o->combine = positive("--combine", optarg, FORECAST_COMBINE_MAX);
			break;
		case 'H':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr,
		        "foreshard-forecast: unexpected argument \"%s\" (series come on "
		        "stdin)\n",
		        argv[optind]);
		exit(2);
	}
	if (o->horizon == 0)
		o->horizon = o->n_seasons ? o->seasons[0] : 8;
}

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct cli_series *)a)->id, ((const struct cli_series *)b)->id);
}

static bool read_truths(const char *path, struct truths *t)
{
	FILE *f = fopen(path, "r");
	struct cli_reader r;
	struct cli_series s;
	enum cli_read_status st;
	size_t cap = 0;

	memset(t, 0, sizeof(*t));
	if (!f) {
		fprintf(stderr, "foreshard-forecast: cannot open --eval file %s: %s\n", path,
		        strerror(errno));
		return false;
	}
	cli_reader_init(&r, f, path);
	while ((st = cli_read(&r, &s)) == CLI_READ_OK) {
		if (t->n == cap) {
			struct cli_series *grown;

			cap = cap ? 2 * cap : 256;
			grown = realloc(t->s, cap * sizeof(*grown));
			if (!grown) {
				cli_series_free(&s);
				st = CLI_READ_ERROR;
				snprintf(r.err, sizeof(r.err), "%s: out of memory", path);
				break;
			}
			t->s = grown;
		}
		t->s[t->n++] = s;
	}
	cli_reader_cleanup(&r);
	fclose(f);
	if (st == CLI_READ_ERROR) {
		fprintf(stderr, "foreshard-forecast: %s\n", r.err);
		return false;
	}
	qsort(t->s, t->n, sizeof(*t->s), by_id);
	return true;
}

static const struct cli_series *find_truth(const struct truths *t, const char *id)
{
	struct cli_series key = {.id = (char *)id};

	return bsearch(&key, t->s, t->n, sizeof(*t->s), by_id);
}

static void free_truths(struct truths *t)
{
	for (size_t i = 0; i < t->n; i++)
		cli_series_free(&t->s[i]);
	free(t->s);
}

/* Room for one forecast with intervals. */
struct pred_buf {
	struct forecast_pred p;
	double *mem;
};

static bool pred_alloc(struct pred_buf *b, const struct options *o)
{
	size_t h = o->horizon, nb = o->n_levels * h;

	b->mem = malloc((h + 2 * nb) * sizeof(double));
	b->p = (struct forecast_pred){.h = h,
	                              .n_levels = o->n_levels,
	                              .levels = o->levels,
	                              .mean = b->mem,
	                              .lo = b->mem + h,
	                              .hi = b->mem + h + nb};
	return b->mem != NULL;
}

static void print_values(FILE *out, const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, ",%.9g", v[i]);
}

/*
 * Forecasts x[0..n-1] (complete) into p with the chosen model, naming the kind of model that
 * carries the most weight in model (len bytes). A model that cannot fit this series falls back to
 * seasonal naive, with a note on stderr.
 */
static bool forecast_series(const char *id, const double *x, size_t n, const struct options *o,
                            const struct forecast_spec *spec, struct forecast_pred *p, char *model,
                            size_t len)
{
	struct forecast_auto_opts ao = forecast_auto_default;
	struct forecast_choice c;
	bool ok;

	ao.origins = o->origins;
	ao.combine = o->combine;
	if (!forecast_choose(x, n, o->model, spec, &ao, &c))
		return false;
	if (o->model != FORECAST_MODEL_AUTO && c.fits[0].model != o->model)
		fprintf(stderr,
		        "foreshard-forecast: %s: %s cannot fit this series (too short?); "
		        "used seasonal naive\n",
		        id, forecast_model_str(o->model));
	snprintf(model, len, "%s", forecast_model_str(c.fits[0].model));
	ok = forecast_choice_forecast(&c, p);
	forecast_choice_cleanup(&c);
	return ok;
}

/* Naive2's and seasonal naive's forecasts of x, the references of --eval. */
static bool reference(const double *x, size_t n, size_t m, enum forecast_naive_kind kind,
                      struct forecast_pred *p)
{
	struct forecast_naive nv;

	if (!forecast_naive_fit(x, n, m, kind, &nv))
		return false;
	forecast_naive_forecast(&nv, p);
	forecast_naive_cleanup(&nv);
	return true;
}

int main(int argc, char **argv)
{
	struct options o;
	struct truths truths = {0};
	struct cli_reader r;
	struct cli_series s;
	struct cli_eval ev;
	struct pred_buf pb = {0}, n2 = {0}, sn = {0};
	enum cli_read_status st = CLI_READ_OK;
	FILE *iv = NULL;
	int rc = 0;

	parse_options(argc, argv, &o);
	/* the models check GSL's return codes themselves; GSL's default handler would abort */
	gsl_set_error_handler_off();
	struct forecast_spec spec = {.periods = o.seasons,
	                             .n_periods = o.n_seasons,
	                             .horizon = o.horizon,
	                             .seed = o.seed};
	size_t m = o.n_seasons ? o.seasons[0] : 1;

	if (o.eval && !read_truths(o.eval, &truths))
		return 2;
	if (o.intervals && !(iv = fopen(o.intervals, "w"))) {
		fprintf(stderr, "foreshard-forecast: cannot write --intervals file %s: %s\n",
		        o.intervals, strerror(errno));
		free_truths(&truths);
		return 2;
	}
	if (!pred_alloc(&pb, &o) || !pred_alloc(&n2, &o) || !pred_alloc(&sn, &o)) {
		fprintf(stderr, "foreshard-forecast: out of memory\n");
		return 1;
	}
	cli_eval_init(&ev, o.levels, o.n_levels);
	cli_reader_init(&r, stdin, "stdin");
	while (rc == 0 && (st = cli_read(&r, &s)) == CLI_READ_OK) {
		char model[64];
		bool all_missing;

		(void)forecast_prep_fill(s.v, s.n, m, &all_missing);
		if (all_missing)
			fprintf(stderr,
			        "foreshard-forecast: %s: every value is missing; forecasting 0\n",
			        s.id);
		if (!forecast_series(s.id, s.v, s.n, &o, &spec, &pb.p, model, sizeof(model))) {
			fprintf(stderr, "foreshard-forecast: %s: out of memory\n", s.id);
			rc = 1;
		} else {
			printf("%s", s.id);
			print_values(stdout, pb.p.mean, o.horizon);
			putchar('\n');
			for (size_t l = 0; iv && l < o.n_levels; l++) {
				fprintf(iv, "%s,%g", s.id, o.levels[l] * 100);
				print_values(iv, pb.p.lo + l * o.horizon, o.horizon);
				print_values(iv, pb.p.hi + l * o.horizon, o.horizon);
				fputc('\n', iv);
			}
			const struct cli_series *t = o.eval ? find_truth(&truths, s.id) : NULL;

			if (t && reference(s.v, s.n, m, FORECAST_NAIVE2, &n2.p) &&
			    reference(s.v, s.n, m, FORECAST_SNAIVE, &sn.p))
				(void)cli_eval_add(&ev, model, s.v, s.n, m, t->v, t->n, &pb.p,
				                   &n2.p, &sn.p);
			else if (o.eval)
				ev.skipped++;
		}
		cli_series_free(&s);
	}
	if (rc == 0 && st == CLI_READ_ERROR) {
		fprintf(stderr, "foreshard-forecast: %s\n", r.err);
		rc = 2;
	}
	if (o.eval && rc == 0)
		cli_eval_print(&ev, stderr);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "foreshard-forecast: writing the forecasts failed: %s\n",
		        strerror(errno));
		rc = 1;
	}
	if (iv && fclose(iv) != 0) {
		fprintf(stderr, "foreshard-forecast: writing %s failed: %s\n", o.intervals,
		        strerror(errno));
		rc = 1;
	}
	cli_reader_cleanup(&r);
	free_truths(&truths);
	free(pb.mem);
	free(n2.mem);
	free(sn.mem);
	return rc;
}
