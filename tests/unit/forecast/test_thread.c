/*
 * The forecast thread: consumes a worker ring, follows the catalog slot and publishes a
 * snapshot when a window closes; refuses bad arguments. Waits are bounded polls, never
 * assertions on how long something took.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "common/catalog.h"
#include "common/event.h"
#include "common/ring.h"
#include "common/snap.h"
#include "common/time.h"
#include "forecast/thread.h"

#define TABLE 3
#define WINDOW_MS 10000 /* long, so the first window closes at the first tick and no other */

static uint64_t enc(int64_t v)
{
	return (uint64_t)v ^ (1ull << 63);
}

static struct fs_catalog *make_catalog(void)
{
	struct fs_catalog *cat = fs_catalog_create(1, 1);
	struct fs_table *t = &cat->tables[0];

	t->id = TABLE;
	strcpy(t->schema, "public");
	strcpy(t->name, "t");
	t->keytype = FS_KEY_INT;
	t->supported = true;
	t->n_parts = 2;
	t->parts = calloc(2, sizeof(*t->parts));
	t->parts[0] = (struct fs_partition){.name = "t_1", .lo = enc(0), .hi = enc(100)};
	t->parts[1] = (struct fs_partition){.name = "t_2", .lo = enc(100), .hi = enc(200)};
	return cat;
}

static struct forecast_config config(void)
{
	return (struct forecast_config){.window_ms = WINDOW_MS,
	                                .season_windows = 4,
	                                .horizon_windows = 3,
	                                .history_windows = 8,
	                                .sub_buckets = 2,
	                                .refit_windows = 4};
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

Test(forecast_thread, drains_ring_and_publishes_snapshots)
{
	struct forecast_config cfg = config();
	struct fs_ring ring;
	struct fs_ring *rings[1] = {&ring};
	struct fs_snap_slot cat_slot, fc_slot;
	struct forecast_thread *ft;
	struct forecast_snapshot *s;
	const struct forecast_table *t;
	char err[256] = "";
	uint64_t win_us = WINDOW_MS * 1000ull, now = fs_wall_us();
	/* every event in the window before the current one: the first tick closes exactly it */
	uint64_t ts = now - now % win_us - win_us / 2;
	struct fs_profile_event ev = {.ts_us = ts, .table_id = TABLE, .pred = FS_PRED_EQ};

	cr_assert(fs_ring_init(&ring, 1024, sizeof(struct fs_profile_event)));
	fs_snap_slot_init(&cat_slot);
	fs_snap_slot_init(&fc_slot);
	fs_snap_publish(&cat_slot, &make_catalog()->snap);
	for (int i = 0; i < 100; i++) {
		ev.key_lo = ev.key_hi = enc(i * 2);
		cr_assert(fs_ring_push(&ring, &ev));
	}
	ev.table_id = FS_TABLE_NONE;
	cr_assert(fs_ring_push(&ring, &ev));

	ft = forecast_thread_start(&cfg, rings, 1, &cat_slot, &fc_slot, err, sizeof(err));
	cr_assert_not_null(ft, "start failed: %s", err);
	for (int i = 0; i < 3000 && fs_snap_version(&fc_slot) == 0; i++)
		sleep_ms(10);
	s = (struct forecast_snapshot *)fs_snap_acquire(&fc_slot);
	cr_assert_not_null(s, "no snapshot published");
	cr_assert_eq(s->catalog_version, 1);
	cr_assert_eq(s->events, 101);
	cr_assert_eq(s->events_ignored, 1);
	t = forecast_snapshot_table(s, TABLE);
	cr_assert_not_null(t);
	cr_assert_eq(t->windows_observed, 1);
	cr_assert_eq(t->n_buckets, 4);
	cr_assert_float_eq(t->load_now, 100.0 / (WINDOW_MS / 1000), 1e-9, "load %g", t->load_now);
	fs_snap_release(&s->snap);

	/* events pushed while it runs are consumed too */
	ev.table_id = TABLE;
	ev.ts_us = fs_wall_us();
	for (int i = 0; i < 50; i++)
		cr_assert(fs_ring_push(&ring, &ev));
	for (int i = 0; i < 3000 && forecast_thread_events(ft) < 151; i++)
		sleep_ms(10);
	cr_assert_eq(forecast_thread_events(ft), 151);
	cr_assert_eq(fs_ring_count(&ring), 0);

	forecast_thread_stop(ft);
	forecast_thread_stop(NULL);
	cr_assert_geq(fs_snap_version(&fc_slot), 1, "published snapshots outlive the thread");
	fs_snap_slot_cleanup(&fc_slot);
	fs_snap_slot_cleanup(&cat_slot);
	fs_ring_cleanup(&ring);
}

Test(forecast_thread, refuses_bad_arguments)
{
	struct forecast_config cfg = config();
	struct fs_ring ring;
	struct fs_ring *rings[1] = {&ring};
	struct fs_snap_slot cat_slot, fc_slot;
	char err[256];

	fs_snap_slot_init(&cat_slot);
	fs_snap_slot_init(&fc_slot);
	cr_assert(fs_ring_init(&ring, 16, sizeof(uint64_t)));
	err[0] = 0;
	cr_assert_null(
	        forecast_thread_start(&cfg, rings, 1, &cat_slot, &fc_slot, err, sizeof(err)));
	cr_assert(strstr(err, "profile events"), "wrong element size: %s", err);
	fs_ring_cleanup(&ring);

	cfg.window_ms = 0;
	err[0] = 0;
	cr_assert_null(forecast_thread_start(&cfg, NULL, 0, &cat_slot, &fc_slot, err, sizeof(err)));
	cr_assert(strstr(err, "window_ms"), "invalid config: %s", err);

	cfg = config();
	err[0] = 0;
	cr_assert_null(forecast_thread_start(&cfg, NULL, 0, NULL, &fc_slot, err, sizeof(err)));
	cr_assert(err[0], "a missing slot is reported");
	fs_snap_slot_cleanup(&fc_slot);
	fs_snap_slot_cleanup(&cat_slot);
}
