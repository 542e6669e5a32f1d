/*
 * The planner's SPLIT rule against hand-built catalog and forecast snapshots: when it plans and
 * when it must not (history, threshold, width, hysteresis, in flight, unsupported, stale
 * forecast), where it splits (the load-weighted median, snapped per key type) and the words it
 * gives.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "parser/keyenc.h"
#include "planner/planner.h"

#define TABLE 5
#define H 6
#define NOW_MS 1700000000000ull /* 2023-11-14 22:13:20 UTC */

/* A forecast snapshot for one table, in static storage: never released. */
struct fake {
	struct forecast_snapshot s;
	struct forecast_table t;
	struct forecast_bucket b[16];
	struct forecast_hot hot[H];
	double arr[16][5][H];
};

static void no_destroy(struct fs_snap *s)
{
	(void)s;
}

static void fake_init(struct fake *f, uint64_t version)
{
	memset(f, 0, sizeof(*f));
	fs_snap_init(&f->s.snap, no_destroy);
	f->s.now_ms = NOW_MS;
	f->s.catalog_version = version;
	f->s.window_ms = 1000;
	f->s.horizon = H;
	f->s.season = 10;
	f->s.n_tables = 1;
	f->s.tables = &f->t;
	f->t.table_id = TABLE;
	f->t.windows_observed = 100;
	f->t.buckets = f->b;
	f->t.hot = f->hot;
	f->t.n_hot = H;
}

/* Appends a bucket [lo, hi) of partition part whose forecast is load[s] (sd 10% + 1). */
static void fake_bucket(struct fake *f, int part, uint64_t lo, uint64_t hi, const double *load)
{
	int i = f->t.n_buckets++;
	struct forecast_bucket *b = &f->b[i];

	*b = (struct forecast_bucket){.part_index = part,
	                              .lo = lo,
	                              .hi = hi,
	                              .mean = f->arr[i][0],
	                              .lo80 = f->arr[i][1],
	                              .hi80 = f->arr[i][2],
	                              .lo95 = f->arr[i][3],
	                              .hi95 = f->arr[i][4],
	                              .model = "ets"};
	for (int s = 0; s < H; s++) {
		double sd = 0.1 * load[s] + 1;

		b->mean[s] = load[s];
		b->lo80[s] = load[s] - 1.28 * sd > 0 ? load[s] - 1.28 * sd : 0;
		b->hi80[s] = load[s] + 1.28 * sd;
		b->lo95[s] = load[s] - 1.96 * sd > 0 ? load[s] - 1.96 * sd : 0;
		b->hi95[s] = load[s] + 1.96 * sd;
	}
}

static struct fs_catalog *catalog(uint64_t version, enum fs_keytype kt, const char *type_sql,
                                  const struct fs_partition *parts, int n)
{
	struct fs_catalog *cat = fs_catalog_create(version, 1);
	struct fs_table *t = &cat->tables[0];

	t->id = TABLE;
	strcpy(t->schema, "public");
	strcpy(t->name, "events");
	strcpy(t->key, "k");
	t->keytype = kt;
	strcpy(t->keytype_sql, type_sql);
	t->supported = true;
	t->n_parts = n;
	t->parts = calloc((size_t)n, sizeof(*t->parts));
	memcpy(t->parts, parts, (size_t)n * sizeof(*parts));
	return cat;
}

static uint64_t ki(int64_t v)
{
	return parser_keyenc_int(v);
}

/*
 * events(k bigint): p1 [0, 1000), p2 [1000, 5000), default. Partition 2's forecast peaks at
 * step 3 in bucket [2000, 3000); summed over the horizon its buckets weigh 10 : 100 : 10 : 0,
 * so the load-weighted median is the middle of [2000, 3000): 2500.
 */
static struct fs_catalog *events_catalog(void)
{
	struct fs_partition parts[3] = {
	        {.name = "events_p1", .lo = ki(0), .hi = ki(1000), .est_rows = 1000},
	        {.name = "events_p2", .lo = ki(1000), .hi = ki(5000), .est_rows = 40000},
	        {.name = "events_default", .is_default = true},
	};

	return catalog(1, FS_KEY_INT, "bigint", parts, 3);
}

static void events_forecast(struct fake *f, double scale)
{
	static const double quiet[H] = {1, 1, 1, 1, 1, 1};
	double w10[H] = {1, 1, 2, 3, 2, 1}, w100[H] = {5, 10, 20, 40, 15, 10}, zero[H] = {0};

	for (int s = 0; s < H; s++) {
		w10[s] *= scale;
		w100[s] *= scale;
	}
	fake_init(f, 1);
	for (int i = 0; i < 4; i++)
		fake_bucket(f, 0, ki(i * 250), ki((i + 1) * 250), quiet);
	fake_bucket(f, 1, ki(1000), ki(2000), w10);
	fake_bucket(f, 1, ki(2000), ki(3000), w100);
	fake_bucket(f, 1, ki(3000), ki(4000), w10);
	fake_bucket(f, 1, ki(4000), ki(5000), zero);
}

static struct planner_config rules(void)
{
	return (struct planner_config){.split_threshold_rps = 100,
	                               .split_min_width = 2,
	                               .min_history_windows = 20,
	                               .hysteresis_ms = 60000};
}

Test(planner, splits_a_partition_forecast_over_threshold_at_the_load_median)
{
	struct planner_config cfg = rules();
	struct planner *p = planner_create(&cfg);
	struct fs_catalog *cat = events_catalog();
	struct fake f;
	struct planner_action a[4];

	events_forecast(&f, 5); /* p2 peaks at 5*(3 + 40 + 3 + 0) = 230 req/s, step 3 */
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 4), 1);
	cr_assert_eq(a[0].id, 1);
	cr_assert_eq(a[0].kind, PLANNER_SPLIT);
	cr_assert_eq(a[0].state, PLANNER_PROPOSED);
	cr_assert_eq(a[0].table_id, TABLE);
	cr_assert_str_eq(a[0].table, "public.events");
	cr_assert_str_eq(a[0].partition, "events_p2");
	cr_assert_eq(a[0].split_key, ki(2500), "split at %ld",
	             (long)parser_keydec_int(a[0].split_key));
	cr_assert_str_eq(a[0].split_sql, "2500");
	cr_assert_float_eq(a[0].peak_rps, 230, 1e-9);
	cr_assert(a[0].peak_hi95 > 230 && a[0].peak_hi95 < 300, "hi95 %g", a[0].peak_hi95);
	cr_assert_eq(a[0].peak_at_ms, NOW_MS + 4000);
	cr_assert_float_eq(a[0].cost_rows, 40000, 1e-9);
	cr_assert_eq(a[0].created_ms, NOW_MS);
	cr_assert(strstr(a[0].reason, "forecast 230 req/s (95% up to"), "%s", a[0].reason);
	cr_assert(strstr(a[0].reason, "on events_p2 at 22:13:24, in 4 s"), "%s", a[0].reason);
	cr_assert(strstr(a[0].reason, "threshold 100 req/s; split at 2500"), "%s", a[0].reason);

	/* planner_plan records nothing itself: the same forecast plans again, with the next id */
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 4), 1);
	cr_assert_eq(a[0].id, 2);
	fs_snap_release(&cat->snap);
	planner_destroy(p);
}

Test(planner, plans_nothing_without_enough_history)
{
	struct planner_config cfg = rules();
	struct planner *p = planner_create(&cfg);
	struct fs_catalog *cat = events_catalog();
	struct fake f;
	struct planner_action a[1];

	events_forecast(&f, 5);
	f.t.windows_observed = 19;
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 1), 0, "under min_history_windows");
	f.t.windows_observed = 20;
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 1), 1);
	/* at least one full season, whatever min_history_windows says */
	f.s.season = 30;
	f.t.windows_observed = 25;
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 1), 0, "under one season");
	fs_snap_release(&cat->snap);
	planner_destroy(p);
}

Test(planner, plans_nothing_below_threshold_or_when_too_narrow)
{
	struct planner_config cfg = rules();
	struct planner *p = planner_create(&cfg);
	struct fs_catalog *cat = events_catalog();
	struct fake f;
	struct planner_action a[1];

	events_forecast(&f, 2); /* peak 92 req/s */
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 1), 0);
	events_forecast(&f, 5);
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 0), 0, "no room, no plan");
	planner_destroy(p);
	cfg.split_min_width = 4000; /* p2 is exactly 4000 wide: must exceed */
	p = planner_create(&cfg);
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 1), 0);
	planner_destroy(p);
	fs_snap_release(&cat->snap);
}

Test(planner, respects_in_flight_and_hysteresis)
{
	struct planner_config cfg = rules();
	struct planner *p = planner_create(&cfg);
	struct fs_catalog *cat = events_catalog();
	struct fake f;
	struct planner_action a[1];

	events_forecast(&f, 5);
	planner_note_started(p, TABLE, NOW_MS - 600000);
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 1), 0, "a change is in flight");
	planner_note_finished(p, TABLE, NOW_MS - 1000);
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 1), 0, "inside hysteresis");
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS + 58999, a, 1), 0);
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS + 59000, a, 1), 1, "hysteresis over");
	/* another table's change does not hold this one */
	planner_note_started(p, TABLE + 1, NOW_MS);
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS + 60000, a, 1), 1);
	fs_snap_release(&cat->snap);
	planner_destroy(p);
}

Test(planner, skips_unsupported_tables_default_partitions_and_stale_forecasts)
{
	struct planner_config cfg = rules();
	struct planner *p = planner_create(&cfg);
	struct fs_catalog *cat = events_catalog();
	struct fake f;
	struct planner_action a[1];
	static const double hot[H] = {500, 500, 500, 500, 500, 500};

	events_forecast(&f, 5);
	f.s.catalog_version = 2;
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 1), 0, "forecast of another catalog");
	f.s.catalog_version = 1;
	cat->tables[0].supported = false;
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 1), 0, "unsupported table");
	cat->tables[0].supported = true;
	f.t.table_id = TABLE + 1;
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 1), 0, "no forecast for the table");
	cr_assert_eq(planner_plan(p, cat, NULL, NOW_MS, a, 1), 0);
	cr_assert_eq(planner_plan(p, NULL, &f.s, NOW_MS, a, 1), 0);

	/* a hot default partition is never split */
	events_forecast(&f, 1);
	fake_bucket(&f, 2, ki(9000), ki(10000), hot);
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 1), 0);
	fs_snap_release(&cat->snap);
	planner_destroy(p);
}

Test(planner, picks_the_hottest_partition_of_a_table)
{
	struct planner_config cfg = rules();
	struct planner *p = planner_create(&cfg);
	struct fs_catalog *cat = events_catalog();
	struct fake f;
	struct planner_action a[2];
	static const double warm[H] = {150, 150, 150, 150, 150, 150};

	events_forecast(&f, 5);
	/* p1 over the threshold too, but below p2's 230 */
	for (int i = 0; i < 4; i++) {
		for (int s = 0; s < H; s++) {
			f.b[i].mean[s] = warm[s] / 4;
			f.b[i].hi95[s] = warm[s] / 4 + 5;
		}
	}
	cr_assert_eq(planner_plan(p, cat, &f.s, NOW_MS, a, 2), 1, "one action per table");
	cr_assert_str_eq(a[0].partition, "events_p2");
	fs_snap_release(&cat->snap);
	planner_destroy(p);
}

Test(planner, split_point_snaps_timestamps_to_seconds_and_dates_to_days)
{
	int64_t day = 86400LL * 1000000, t0 = 1714521600LL * 1000000; /* 2024-05-01 UTC */
	struct fs_partition parts[1] = {
	        {.name = "m_may1", .lo = parser_keyenc_ts(t0), .hi = parser_keyenc_ts(t0 + day)}};
	struct fs_catalog *cat = catalog(1, FS_KEY_TIMESTAMP, "timestamp with time zone", parts, 1);
	struct fake f;
	uint64_t k;
	char lit[FS_LITERAL_MAX];
	static const double ld[H] = {10, 10, 10, 10, 10, 10}, none[H] = {0};
	int64_t q = day / 4;

	fake_init(&f, 1);
	/* all load in [06:00, 12:00) plus 1234567 us of offset: median 09:00:01.234567 */
	fake_bucket(&f, 0, parser_keyenc_ts(t0), parser_keyenc_ts(t0 + q + 1234567), none);
	fake_bucket(&f, 0, parser_keyenc_ts(t0 + q + 1234567),
	            parser_keyenc_ts(t0 + 2 * q + 1234567), ld);
	fake_bucket(&f, 0, parser_keyenc_ts(t0 + 2 * q + 1234567), parser_keyenc_ts(t0 + day),
	            none);
	cr_assert(planner_split_point(&cat->tables[0], 0, &f.t, &k));
	cr_assert_eq(parser_keydec_ts(k), t0 + 9 * 3600 * 1000000LL + 1000000, "got %ld",
	             (long)(parser_keydec_ts(k) - t0));
	cr_assert(parser_keyenc_literal(FS_KEY_TIMESTAMP, k, lit, sizeof(lit)));
	cr_assert_str_eq(lit, "'2024-05-01 09:00:01+00'");

	/* a date column splits on a day boundary, or not at all */
	strcpy(cat->tables[0].keytype_sql, "date");
	cr_assert_not(planner_split_point(&cat->tables[0], 0, &f.t, &k),
	              "no whole day lies strictly inside a one-day partition");
	cat->tables[0].parts[0].hi = parser_keyenc_ts(t0 + 3 * day);
	f.b[2].hi = cat->tables[0].parts[0].hi;
	cr_assert(planner_split_point(&cat->tables[0], 0, &f.t, &k));
	cr_assert_eq(parser_keydec_ts(k), t0 + day, "median near 09:00 rounds to the next day");

	/* a partition narrower than a second splits at the microsecond */
	strcpy(cat->tables[0].keytype_sql, "timestamp without time zone");
	cat->tables[0].parts[0].lo = parser_keyenc_ts(t0 + 100);
	cat->tables[0].parts[0].hi = parser_keyenc_ts(t0 + 900);
	fake_init(&f, 1);
	fake_bucket(&f, 0, parser_keyenc_ts(t0 + 100), parser_keyenc_ts(t0 + 900), ld);
	cr_assert(planner_split_point(&cat->tables[0], 0, &f.t, &k));
	cr_assert_eq(parser_keydec_ts(k), t0 + 500);
	cr_assert(parser_keyenc_literal(FS_KEY_TIMESTAMP, k, lit, sizeof(lit)));
	cr_assert_str_eq(lit, "'2024-05-01 00:00:00.0005+00'", "%s", lit);
	fs_snap_release(&cat->snap);
}

Test(planner, split_point_for_text_is_a_short_printable_prefix)
{
	struct fs_partition parts[1] = {{.name = "names_a_z",
	                                 .lo = parser_keyenc_text("a", 1),
	                                 .hi = parser_keyenc_text("z", 1)}};
	struct fs_catalog *cat = catalog(1, FS_KEY_TEXT, "text", parts, 1);
	struct fake f;
	uint64_t k, w = (parts[0].hi - parts[0].lo) / 4;
	char lit[FS_LITERAL_MAX];
	static const double ld[H] = {10, 10, 10, 10, 10, 10}, none[H] = {0};

	fake_init(&f, 1);
	for (int i = 0; i < 4; i++)
		fake_bucket(&f, 0, parts[0].lo + i * w,
		            i == 3 ? parts[0].hi : parts[0].lo + (i + 1) * w, i == 1 ? ld : none);
	cr_assert(planner_split_point(&cat->tables[0], 0, &f.t, &k));
	cr_assert(parser_keyenc_literal(FS_KEY_TEXT, k, lit, sizeof(lit)));
	/* the median is the middle of the second quarter of [a, z): about 'i' + 1/4 */
	cr_assert(strlen(lit) <= 4 && lit[1] >= 'h' && lit[1] <= 'j', "literal %s", lit);
	cr_assert(k > parts[0].lo && k < parts[0].hi);

	/* varchar(1) allows one character only */
	strcpy(cat->tables[0].keytype_sql, "character varying(1)");
	cr_assert(planner_split_point(&cat->tables[0], 0, &f.t, &k));
	cr_assert(parser_keyenc_literal(FS_KEY_TEXT, k, lit, sizeof(lit)));
	cr_assert_eq(strlen(lit), 3, "one character between quotes: %s", lit);
	fs_snap_release(&cat->snap);
}

Test(planner, split_point_for_uuid_is_the_median_as_a_uuid_literal)
{
	const char *lo_s = "40000000-0000-0000-0000-000000000000";
	const char *hi_s = "80000000-0000-0000-0000-000000000000";
	struct fs_partition parts[1] = {{.name = "ids_4_8"}};
	struct fs_catalog *cat;
	struct fake f;
	uint64_t k, back, w;
	char lit[FS_LITERAL_MAX];
	static const double ld[H] = {10, 10, 10, 10, 10, 10}, none[H] = {0};

	cr_assert(parser_keyenc_parse(FS_KEY_UUID, lo_s, strlen(lo_s), &parts[0].lo));
	cr_assert(parser_keyenc_parse(FS_KEY_UUID, hi_s, strlen(hi_s), &parts[0].hi));
	cat = catalog(1, FS_KEY_UUID, "uuid", parts, 1);
	w = (parts[0].hi - parts[0].lo) / 4;
	fake_init(&f, 1);
	for (int i = 0; i < 4; i++)
		fake_bucket(&f, 0, parts[0].lo + i * w,
		            i == 3 ? parts[0].hi : parts[0].lo + (i + 1) * w, i == 1 ? ld : none);
	cr_assert(planner_split_point(&cat->tables[0], 0, &f.t, &k));
	cr_assert(k > parts[0].lo && k < parts[0].hi);
	cr_assert(parser_keyenc_literal(FS_KEY_UUID, k, lit, sizeof(lit)));
	/* the middle of the second quarter of [0x40.., 0x80..), taken as it is */
	cr_assert_str_eq(lit, "'58000000-0000-0000-0000-000000000000'");
	cr_assert(parser_keyenc_parse(FS_KEY_UUID, lit + 1, strlen(lit) - 2, &back));
	cr_assert_eq(back, k);
	fs_snap_release(&cat->snap);
}

Test(planner, split_point_refuses_what_cannot_be_split)
{
	struct fs_partition parts[3] = {
	        {.name = "t_1", .lo = ki(0), .hi = ki(1)},
	        {.name = "t_big", .lo = ki(1), .hi = UINT64_MAX},
	        {.name = "t_default", .is_default = true},
	};
	struct fs_catalog *cat = catalog(1, FS_KEY_INT, "integer", parts, 3);
	struct fake f;
	uint64_t k;
	static const double ld[H] = {10, 10, 10, 10, 10, 10}, none[H] = {0};
	int64_t big = 3000000000LL;

	fake_init(&f, 1);
	fake_bucket(&f, 0, ki(0), ki(1), ld);
	fake_bucket(&f, 1, ki(1), ki(big), none);
	fake_bucket(&f, 1, ki(big), ki(big + 1000), ld);
	fake_bucket(&f, 2, ki(7), ki(8), ld);
	cr_assert_not(planner_split_point(&cat->tables[0], 0, &f.t, &k), "one key wide");
	cr_assert_not(planner_split_point(&cat->tables[0], 1, &f.t, &k),
	              "a median beyond the integer range");
	strcpy(cat->tables[0].keytype_sql, "bigint");
	cr_assert(planner_split_point(&cat->tables[0], 1, &f.t, &k));
	cr_assert_eq(parser_keydec_int(k), big + 500);
	cr_assert_not(planner_split_point(&cat->tables[0], 2, &f.t, &k), "default partition");
	cr_assert_not(planner_split_point(&cat->tables[0], 3, &f.t, &k), "no such partition");
	cr_assert_not(planner_split_point(&cat->tables[0], -1, &f.t, &k));
	for (int s = 0; s < H; s++)
		f.b[2].mean[s] = 0;
	cr_assert_not(planner_split_point(&cat->tables[0], 1, &f.t, &k), "no load, no median");
	cat->tables[0].keytype = FS_KEY_UNSUPPORTED;
	cr_assert_not(planner_split_point(&cat->tables[0], 1, &f.t, &k));
	fs_snap_release(&cat->snap);
}

Test(planner, names_kinds_and_states)
{
	cr_assert_str_eq(planner_kind_str(PLANNER_SPLIT), "split");
	cr_assert_str_eq(planner_kind_str(PLANNER_MERGE), "merge");
	cr_assert_str_eq(planner_kind_str((enum planner_kind)42), "?");
	cr_assert_str_eq(planner_state_str(PLANNER_PROPOSED), "proposed");
	cr_assert_str_eq(planner_state_str(PLANNER_APPLYING), "applying");
	cr_assert_str_eq(planner_state_str(PLANNER_DONE), "done");
	cr_assert_str_eq(planner_state_str(PLANNER_FAILED), "failed");
	cr_assert_str_eq(planner_state_str((enum planner_state) - 1), "?");
	cr_assert_null(planner_create(NULL));
	planner_destroy(NULL);
}
