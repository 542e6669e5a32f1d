/*
 * The forecast engine with a fake clock: a hot spot that moves periodically inside one
 * partition is forecast before it arrives; events are spread over buckets as documented; the
 * model follows the history length; history carries over a split and a re-layout of an
 * unbounded partition without losing load; the clock may jump; refits keep to their CPU
 * budget.
 */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/forecast.h"

#define T0 1700000000000000ull /* a whole second, in wall-clock microseconds */
#define SEASON 24
#define TABLE 7

/* The integer key encoding (parser/keyenc.h), restated so this test needs no parser; a macro
 * so that static tables of bounds can use it. */
#define enc(v) ((uint64_t)(int64_t)(v) ^ (1ull << 63))

struct part_spec {
	uint64_t lo, hi;
	bool is_default;
};

static struct fs_catalog *make_catalog(uint64_t version, const struct part_spec *ps, int n)
{
	struct fs_catalog *cat = fs_catalog_create(version, 1);
	struct fs_table *t;

	cr_assert_not_null(cat);
	t = &cat->tables[0];
	t->id = TABLE;
	strcpy(t->schema, "public");
	strcpy(t->name, "events");
	strcpy(t->key, "id");
	t->keytype = FS_KEY_INT;
	t->supported = true;
	t->n_parts = n;
	t->parts = calloc((size_t)n, sizeof(*t->parts));
	for (int i = 0; i < n; i++) {
		snprintf(t->parts[i].name, FS_NAME_MAX, "events_p%d", i + 1);
		t->parts[i].lo = ps[i].lo;
		t->parts[i].hi = ps[i].hi;
		t->parts[i].is_default = ps[i].is_default;
	}
	return cat;
}

/* The forecast thread turns GSL's abort-on-error handler off; so do these tests. */
static void gsl_quiet(void)
{
	gsl_set_error_handler_off();
}

TestSuite(engine, .init = gsl_quiet);

static struct forecast_config config(void)
{
	return (struct forecast_config){.window_ms = 1000,
	                                .season_windows = SEASON,
	                                .horizon_windows = 12,
	                                .history_windows = 4 * SEASON,
	                                .sub_buckets = 8,
	                                .refit_windows = SEASON,
	                                .model = FORECAST_MODEL_ETS};
}

/* Whether name is a model the automatic choice may pick. */
static bool auto_candidate(const char *name)
{
	for (size_t i = 0; i < forecast_auto_default.n_candidates; i++)
		if (strcmp(name, forecast_model_str(forecast_auto_default.candidates[i])) == 0)
			return true;
	return false;
}

static void add(struct forecast_engine *e, uint64_t ts, uint16_t table, uint8_t pred, uint64_t lo,
                uint64_t hi)
{
	struct fs_profile_event ev = {
	        .ts_us = ts, .key_lo = lo, .key_hi = hi, .table_id = table, .pred = pred};

	forecast_engine_add(e, &ev);
}

/*
 * One window of the workload: 20 point requests spread over [0, 2000), and in phases 12..17 of
 * each season 150 requests at a hot spot that walks through partition 2 ([1000, 2000)).
 */
static double feed_window(struct forecast_engine *e, gsl_rng *r, uint64_t w)
{
	uint64_t base = T0 + w * 1000000;
	unsigned phase = w % SEASON;
	double n = 0;

	for (int i = 0; i < 20; i++, n++) {
		int64_t k = (int64_t)gsl_rng_uniform_int(r, 2000);

		add(e, base + gsl_rng_uniform_int(r, 1000000), TABLE, FS_PRED_EQ, enc(k), enc(k));
	}
	if (phase >= 12 && phase < 18) {
		int hot = 140 + (int)gsl_rng_uniform_int(r, 21);

		for (int i = 0; i < hot; i++, n++) {
			int64_t k =
			        1000 + (phase - 12) * 160 + (int64_t)gsl_rng_uniform_int(r, 100);

			add(e, base + gsl_rng_uniform_int(r, 1000000), TABLE, FS_PRED_EQ, enc(k),
			    enc(k));
		}
	}
	return n;
}

static const struct part_spec two_parts[] = {
        {enc(0), enc(1000), false},
        {enc(1000), enc(2000), false},
        {0, 0, true},
};

static int bucket_of(const struct forecast_table *ft, uint64_t k)
{
	for (int i = 0; i < ft->n_buckets; i++) {
		if (k >= ft->buckets[i].lo && k < ft->buckets[i].hi)
			return i;
	}
	return -1;
}

static void check_intervals(const struct forecast_table *ft, uint32_t horizon)
{
	for (int i = 0; i < ft->n_buckets; i++) {
		const struct forecast_bucket *b = &ft->buckets[i];

		for (uint32_t s = 0; s < horizon; s++) {
			cr_assert(isfinite(b->mean[s]) && isfinite(b->hi95[s]));
			cr_assert(0 <= b->lo95[s] && b->lo95[s] <= b->lo80[s] &&
			                  b->lo80[s] <= b->mean[s] && b->mean[s] <= b->hi80[s] &&
			                  b->hi80[s] <= b->hi95[s],
			          "bucket %d step %u: intervals out of order", i, s);
		}
	}
}

Test(engine, forecasts_a_moving_hot_spot_before_it_arrives)
{
	struct forecast_config cfg = config();
	struct forecast_engine *e;
	struct fs_catalog *cat = make_catalog(1, two_parts, 3);
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	const uint64_t last_w = 4 * SEASON + 6; /* the next peak starts 6 windows after it */
	struct forecast_snapshot *s;
	const struct forecast_table *ft;
	int hot_b;

	cfg.model = FORECAST_MODEL_AUTO; /* what foreshard runs by default */
	e = forecast_engine_create(&cfg);

	cr_assert_not_null(e);
	gsl_rng_set(r, 1);
	cr_assert(forecast_engine_set_catalog(e, cat));
	cr_assert_not(forecast_engine_tick(e, T0), "the first tick only sets the clock");
	for (uint64_t w = 0; w <= last_w; w++) {
		feed_window(e, r, w);
		cr_assert(forecast_engine_tick(e, T0 + (w + 1) * 1000000));
		cr_assert_not(forecast_engine_tick(e, T0 + (w + 1) * 1000000 + 500000),
		              "no window ends inside a window");
	}
	s = forecast_engine_snapshot(e);
	cr_assert_not_null(s);
	cr_assert_eq(s->catalog_version, 1);
	cr_assert_eq(s->now_ms, (T0 + (last_w + 1) * 1000000) / 1000);
	ft = forecast_snapshot_table(s, TABLE);
	cr_assert_not_null(ft);
	cr_assert_null(forecast_snapshot_table(s, TABLE + 1));
	cr_assert_eq(ft->windows_observed, last_w + 1);
	cr_assert_eq(ft->n_buckets, 16, "8 buckets for each bounded partition, none for default");
	cr_assert_eq(ft->n_hot, 12);
	for (int i = 0; i < 16; i++) {
		cr_assert(auto_candidate(ft->buckets[i].model), "%s", ft->buckets[i].model);
		cr_assert_eq(ft->buckets[i].part_index, i / 8);
		cr_assert_eq(ft->buckets[i].hi - ft->buckets[i].lo, 125);
	}
	check_intervals(ft, 12);
	cr_assert(ft->load_now > 10 && ft->load_now < 30, "off-peak load %.1f", ft->load_now);

	/* step 5 is window last_w + 6: phase 12, the hot spot at keys 1000..1099 */
	hot_b = bucket_of(ft, enc(1050));
	cr_assert_eq(hot_b, 8);
	cr_assert(ft->buckets[hot_b].last < 10, "quiet now: %.1f", ft->buckets[hot_b].last);
	cr_assert(ft->buckets[hot_b].mean[5] > 100, "coming peak forecast %.1f req/s",
	          ft->buckets[hot_b].mean[5]);
	cr_assert(ft->buckets[hot_b].mean[1] < 30, "no peak before phase 12: %.1f",
	          ft->buckets[hot_b].mean[1]);
	for (int step = 5; step < 11; step++) {
		const struct forecast_hot *h = &ft->hot[step];
		int64_t expect = 1000 + (step - 5) * 160 + 50;

		cr_assert_eq(h->ts_ms, s->now_ms + (uint64_t)(step + 1) * 1000);
		cr_assert(h->key_min >= enc(1000) && h->key_max <= enc(2000),
		          "step %d: the hot range lies in partition 2", step);
		cr_assert(enc(expect) >= h->key_min && enc(expect) < h->key_max,
		          "step %d: hot range [%ld, %ld) should hold %ld", step,
		          (long)(h->key_min ^ (1ull << 63)), (long)(h->key_max ^ (1ull << 63)),
		          (long)expect);
		cr_assert(h->load > 100, "step %d: hot load %.1f", step, h->load);
		cr_assert(h->ci_lo <= h->load && h->load <= h->ci_hi);
	}
	fs_snap_release(&s->snap);
	fs_snap_release(&cat->snap);
	forecast_engine_destroy(e);
	gsl_rng_free(r);
}

static double sum_last(const struct forecast_table *ft)
{
	double sum = 0;

	for (int i = 0; i < ft->n_buckets; i++)
		sum += ft->buckets[i].last;
	return sum;
}

static double sum_mean(const struct forecast_table *ft, int step)
{
	double sum = 0;

	for (int i = 0; i < ft->n_buckets; i++)
		sum += ft->buckets[i].mean[step];
	return sum;
}

Test(engine, split_carries_history_and_pending_counts_over)
{
	static const struct part_spec split[] = {
	        {enc(0), enc(1000), false},
	        {enc(1000), enc(1500), false},
	        {enc(1500), enc(2000), false},
	        {0, 0, true},
	};
	struct forecast_config cfg = config();
	struct forecast_engine *e = forecast_engine_create(&cfg);
	struct fs_catalog *cat1 = make_catalog(1, two_parts, 3), *cat2 = make_catalog(2, split, 4);
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	const uint64_t last_w = 3 * SEASON + 13; /* inside the peak: loads differ per bucket */
	struct forecast_snapshot *a, *b, *c;
	const struct forecast_table *fa, *fb, *fc;
	double pending;

	gsl_rng_set(r, 2);
	cr_assert(forecast_engine_set_catalog(e, cat1));
	for (uint64_t w = 0; w <= last_w; w++) {
		feed_window(e, r, w);
		forecast_engine_tick(e, T0 + (w + 1) * 1000000);
	}
	pending = feed_window(e, r, last_w + 1);
	a = forecast_engine_snapshot(e);
	cr_assert(forecast_engine_set_catalog(e, cat2));
	cr_assert(forecast_engine_set_catalog(e, cat2), "the same version again is a no-op");
	b = forecast_engine_snapshot(e);
	fa = forecast_snapshot_table(a, TABLE);
	fb = forecast_snapshot_table(b, TABLE);
	cr_assert_eq(b->catalog_version, 2);
	cr_assert_eq(fb->n_buckets, 24);
	cr_assert_eq(fb->windows_observed, fa->windows_observed);
	cr_assert_float_eq(sum_last(fb), sum_last(fa), 1e-9 * sum_last(fa), "last %.6f vs %.6f",
	                   sum_last(fb), sum_last(fa));
	/* partition 1 did not change: same buckets, same models, same forecasts */
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(fb->buckets[i].lo, fa->buckets[i].lo);
		cr_assert_float_eq(fb->buckets[i].mean[3], fa->buckets[i].mean[3], 1e-12);
	}
	for (int i = 8; i < 24; i++) {
		cr_assert_eq(fb->buckets[i].part_index, 1 + (i - 8) / 8);
		cr_assert_str_eq(fb->buckets[i].model, "ets", "new buckets are refit at once");
	}
	/* refit on redistributed history: the totals forecast stay close */
	for (int step = 0; step < 12; step++) {
		double ma = sum_mean(fa, step), mb = sum_mean(fb, step);

		cr_assert(fabs(ma - mb) < 0.15 * ma + 3, "step %d: total forecast %.1f vs %.1f",
		          step, mb, ma);
	}
	check_intervals(fb, 12);
	/* counts of the open window survive the split */
	cr_assert(forecast_engine_tick(e, T0 + (last_w + 2) * 1000000));
	c = forecast_engine_snapshot(e);
	fc = forecast_snapshot_table(c, TABLE);
	cr_assert_float_eq(fc->load_now, pending, 1e-9, "pending %.1f vs load %.6f", pending,
	                   fc->load_now);
	fs_snap_release(&a->snap);
	fs_snap_release(&b->snap);
	fs_snap_release(&c->snap);
	fs_snap_release(&cat1->snap);
	fs_snap_release(&cat2->snap);
	forecast_engine_destroy(e);
	gsl_rng_free(r);
}

Test(engine, spreads_events_and_ignores_what_it_cannot_place)
{
	struct forecast_config cfg = config();
	struct forecast_engine *e = forecast_engine_create(&cfg);
	struct fs_catalog *cat = make_catalog(1, two_parts, 3);
	struct forecast_snapshot *s;
	const struct forecast_table *ft;

	cr_assert(forecast_engine_set_catalog(e, cat));
	forecast_engine_tick(e, T0);
	/* a range over keys 0..499 touches buckets 0..3 of partition 1: 1/4 each */
	add(e, T0 + 10, TABLE, FS_PRED_RANGE, enc(0), enc(499));
	/* reversed bounds are read the right way round */
	add(e, T0 + 20, TABLE, FS_PRED_RANGE, enc(1999), enc(1875));
	/* no predicate: 1/16 on every bucket */
	add(e, T0 + 30, TABLE, FS_PRED_NONE, 0, 0);
	/* keys only the default partition holds, unmanaged and unknown tables: ignored */
	add(e, T0 + 40, TABLE, FS_PRED_EQ, enc(5000), enc(5000));
	add(e, T0 + 50, FS_TABLE_NONE, FS_PRED_EQ, enc(5), enc(5));
	add(e, T0 + 60, TABLE + 1, FS_PRED_EQ, enc(5), enc(5));
	cr_assert(forecast_engine_tick(e, T0 + 1000000));
	s = forecast_engine_snapshot(e);
	ft = forecast_snapshot_table(s, TABLE);
	cr_assert_eq(s->events, 6);
	cr_assert_eq(s->events_ignored, 3);
	for (int i = 0; i < 16; i++) {
		double expect = 1.0 / 16 + (i < 4 ? 0.25 : 0) + (i == 15 ? 1 : 0);

		cr_assert_float_eq(ft->buckets[i].last, expect, 1e-12, "bucket %d: %g", i,
		                   ft->buckets[i].last);
	}
	cr_assert_float_eq(ft->load_now, 3, 1e-12);
	cr_assert_str_eq(ft->buckets[0].model, "mean");
	fs_snap_release(&s->snap);
	fs_snap_release(&cat->snap);
	forecast_engine_destroy(e);
}

Test(engine, late_and_early_events_land_in_open_windows)
{
	struct forecast_config cfg = config();
	struct forecast_engine *e = forecast_engine_create(&cfg);
	struct fs_catalog *cat = make_catalog(1, two_parts, 3);
	struct forecast_snapshot *s;

	cr_assert(forecast_engine_set_catalog(e, cat));
	forecast_engine_tick(e, T0 + 5000000);
	add(e, T0, TABLE, FS_PRED_EQ, enc(1), enc(1));           /* late: oldest open */
	add(e, T0 + 5000001, TABLE, FS_PRED_EQ, enc(1), enc(1)); /* open window */
	add(e, T0 + 6000001, TABLE, FS_PRED_EQ, enc(1), enc(1)); /* the next one */
	add(e, T0 + 6000002, TABLE, FS_PRED_EQ, enc(1), enc(1));
	cr_assert(forecast_engine_tick(e, T0 + 6000000));
	s = forecast_engine_snapshot(e);
	cr_assert_float_eq(forecast_snapshot_table(s, TABLE)->load_now, 2, 1e-12);
	fs_snap_release(&s->snap);
	cr_assert(forecast_engine_tick(e, T0 + 7000000));
	s = forecast_engine_snapshot(e);
	cr_assert_float_eq(forecast_snapshot_table(s, TABLE)->load_now, 2, 1e-12);
	fs_snap_release(&s->snap);
	fs_snap_release(&cat->snap);
	forecast_engine_destroy(e);
}

Test(engine, model_follows_history_length)
{
	struct forecast_config cfg = config();
	struct forecast_engine *e = forecast_engine_create(&cfg);
	struct fs_catalog *cat = make_catalog(1, two_parts, 3);
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_rng_set(r, 3);
	cr_assert(forecast_engine_set_catalog(e, cat));
	for (uint64_t w = 0; w < 2 * SEASON; w++) {
		struct forecast_snapshot *s;
		const struct forecast_table *ft;
		const char *want = w + 1 >= 2 * SEASON ? "ets"
		                   : w + 1 >= SEASON   ? "snaive"
		                                       : "mean";

		feed_window(e, r, w);
		forecast_engine_tick(e, T0 + (w + 1) * 1000000);
		s = forecast_engine_snapshot(e);
		ft = forecast_snapshot_table(s, TABLE);
		cr_assert_str_eq(ft->buckets[9].model, want, "after %lu windows",
		                 (unsigned long)w + 1);
		check_intervals(ft, 12);
		if (w + 1 == SEASON + 6) {
			/* seasonal naive repeats the season: step 6 is window 36, phase 12, the
			 * peak's first window, whose load fell in bucket 8 */
			cr_assert(ft->buckets[8].mean[6] > 100, "%g", ft->buckets[8].mean[6]);
			cr_assert(ft->buckets[8].mean[5] < 30, "%g", ft->buckets[8].mean[5]);
		}
		fs_snap_release(&s->snap);
	}
	fs_snap_release(&cat->snap);
	forecast_engine_destroy(e);
	gsl_rng_free(r);
}

Test(engine, unbounded_partitions_clip_to_observed_keys_and_relayout)
{
	static const struct part_spec open_ends[] = {
	        {0, enc(0), false},
	        {enc(0), UINT64_MAX, false},
	};
	struct forecast_config cfg = config();
	struct forecast_engine *e = forecast_engine_create(&cfg);
	struct fs_catalog *cat = make_catalog(1, open_ends, 2);
	struct forecast_snapshot *s;
	const struct forecast_table *ft;

	cr_assert(forecast_engine_set_catalog(e, cat));
	forecast_engine_tick(e, T0);
	for (int w = 0; w < 3; w++) {
		for (int64_t k = -500; k < 500; k += 10)
			add(e, T0 + (uint64_t)w * 1000000 + 1, TABLE, FS_PRED_EQ, enc(k), enc(k));
		forecast_engine_tick(e, T0 + (uint64_t)(w + 1) * 1000000);
	}
	s = forecast_engine_snapshot(e);
	ft = forecast_snapshot_table(s, TABLE);
	cr_assert_eq(ft->n_buckets, 16);
	cr_assert(ft->buckets[0].lo >= enc(-1000) && ft->buckets[0].lo <= enc(-500),
	          "MINVALUE clipped near the keys seen: %ld",
	          (long)(ft->buckets[0].lo ^ (1ull << 63)));
	cr_assert(ft->buckets[15].hi <= enc(1000) && ft->buckets[15].hi >= enc(500));
	cr_assert_float_eq(sum_last(ft), 100, 1e-9);
	fs_snap_release(&s->snap);

	/* a key far beyond the clip counts in the outer bucket, then the buckets are re-laid */
	add(e, T0 + 3000001, TABLE, FS_PRED_EQ, enc(-1000000), enc(-1000000));
	forecast_engine_tick(e, T0 + 4000000);
	s = forecast_engine_snapshot(e);
	ft = forecast_snapshot_table(s, TABLE);
	cr_assert(ft->buckets[0].lo <= enc(-1000000), "re-laid to the new key");
	cr_assert_float_eq(sum_last(ft), 1, 1e-9, "load kept through the re-layout");
	cr_assert_eq(ft->windows_observed, 4);
	for (int i = 0; i + 1 < ft->n_buckets; i++)
		cr_assert(ft->buckets[i].hi <= ft->buckets[i + 1].lo);
	fs_snap_release(&s->snap);
	fs_snap_release(&cat->snap);
	forecast_engine_destroy(e);
}

Test(engine, table_without_bounded_partitions_has_one_bucket)
{
	static const struct part_spec only_default[] = {{0, 0, true}};
	struct forecast_config cfg = config();
	struct forecast_engine *e = forecast_engine_create(&cfg);
	struct fs_catalog *cat = make_catalog(1, only_default, 1);
	struct forecast_snapshot *s;
	const struct forecast_table *ft;

	cr_assert(forecast_engine_set_catalog(e, cat));
	forecast_engine_tick(e, T0);
	add(e, T0 + 1, TABLE, FS_PRED_EQ, enc(3), enc(3));
	add(e, T0 + 2, TABLE, FS_PRED_NONE, 0, 0);
	forecast_engine_tick(e, T0 + 1000000);
	s = forecast_engine_snapshot(e);
	ft = forecast_snapshot_table(s, TABLE);
	cr_assert_eq(ft->n_buckets, 1);
	cr_assert_eq(ft->buckets[0].part_index, -1);
	cr_assert_float_eq(ft->load_now, 2, 1e-12);
	cr_assert_eq(ft->hot[0].key_min, 0);
	cr_assert_eq(ft->hot[0].key_max, UINT64_MAX);
	fs_snap_release(&s->snap);
	fs_snap_release(&cat->snap);
	forecast_engine_destroy(e);
}

Test(engine, clock_jump_closes_every_window_without_stalling)
{
	struct forecast_config cfg = config();
	struct forecast_engine *e = forecast_engine_create(&cfg);
	struct fs_catalog *cat = make_catalog(1, two_parts, 3);
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	const uint64_t days = 10, windows = days * 86400;
	struct forecast_snapshot *s;
	const struct forecast_table *ft;

	gsl_rng_set(r, 4);
	cr_assert(forecast_engine_set_catalog(e, cat));
	for (uint64_t w = 0; w < 3 * SEASON; w++) {
		feed_window(e, r, w);
		forecast_engine_tick(e, T0 + (w + 1) * 1000000);
	}
	feed_window(e, r, 3 * SEASON);
	cr_assert(forecast_engine_tick(e, T0 + (3 * SEASON + windows) * 1000000));
	s = forecast_engine_snapshot(e);
	ft = forecast_snapshot_table(s, TABLE);
	cr_assert_eq(ft->windows_observed, 3 * SEASON + windows);
	cr_assert_eq(s->now_ms, (T0 + (3 * SEASON + windows) * 1000000) / 1000);
	cr_assert_float_eq(ft->load_now, 0, 1e-12, "the last windows were empty");
	check_intervals(ft, 12);
	fs_snap_release(&s->snap);
	fs_snap_release(&cat->snap);
	forecast_engine_destroy(e);
	gsl_rng_free(r);
}

Test(engine, rejects_invalid_config_and_snapshots_without_catalog)
{
	struct forecast_config cfg = config();
	struct forecast_engine *e;
	struct forecast_snapshot *s;

	cfg.window_ms = 0;
	cr_assert_null(forecast_engine_create(&cfg));
	cfg = config();
	cfg.season_windows = 0;
	cr_assert_null(forecast_engine_create(&cfg));
	cfg = config();
	cfg.horizon_windows = 0;
	cr_assert_null(forecast_engine_create(&cfg));
	cfg = config();
	cfg.sub_buckets = 0;
	cr_assert_null(forecast_engine_create(&cfg));
	cr_assert_null(forecast_engine_create(NULL));
	cfg = config();
	cfg.history_windows = 0;
	cfg.refit_windows = 0;
	e = forecast_engine_create(&cfg);
	cr_assert_not_null(e, "zero history and refit mean their defaults");
	add(e, T0, TABLE, FS_PRED_EQ, enc(1), enc(1));
	cr_assert_not(forecast_engine_tick(e, T0));
	s = forecast_engine_snapshot(e);
	cr_assert_not_null(s);
	cr_assert_eq(s->n_tables, 0);
	cr_assert_eq(s->events, 1);
	cr_assert_eq(s->events_ignored, 1);
	cr_assert_null(forecast_snapshot_table(s, TABLE));
	fs_snap_release(&s->snap);
	forecast_engine_destroy(e);
	forecast_engine_destroy(NULL);
}

Test(engine, refits_wait_for_the_cpu_budget)
{
	struct forecast_config cfg = config();
	struct forecast_engine *e;
	struct fs_catalog *cat = make_catalog(1, two_parts, 3);
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	/* a budget no fit can keep: one refit per window, the others wait their turn */
	cfg.refit_budget_us = 1;
	e = forecast_engine_create(&cfg);
	gsl_rng_set(r, 5);
	cr_assert(forecast_engine_set_catalog(e, cat));
	for (uint64_t w = 0; w < 2 * SEASON + 3; w++) {
		struct forecast_snapshot *s;
		const struct forecast_table *ft;
		int fitted = 0;

		feed_window(e, r, w);
		forecast_engine_tick(e, T0 + (w + 1) * 1000000);
		s = forecast_engine_snapshot(e);
		ft = forecast_snapshot_table(s, TABLE);
		for (int i = 0; i < ft->n_buckets; i++)
			fitted += strcmp(ft->buckets[i].model, "ets") == 0;
		/* from the window that completes two seasons, one more bucket each window; the
		 * others forecast by seasonal naive meanwhile */
		cr_assert_eq(fitted, w + 1 >= 2 * SEASON ? (int)(w + 2 - 2 * SEASON) : 0,
		             "after %lu windows: %d fitted", (unsigned long)w + 1, fitted);
		check_intervals(ft, 12);
		fs_snap_release(&s->snap);
	}
	gsl_rng_free(r);
	fs_snap_release(&cat->snap);
	forecast_engine_destroy(e);
}
