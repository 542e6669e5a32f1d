#pragma once
/*
 * The forecast engine: turns profile events into per (table, key bucket) load series, fits a
 * model per bucket and forecasts load over a horizon with prediction intervals. It is a pure
 * library with no I/O and no threads of its own: the forecast thread (forecast/thread.c) feeds
 * it from the workers' rings and publishes its snapshots.
 *
 * Buckets: each partition of a managed table is split into sub_buckets equal-width buckets of
 * the encoded key space (unbounded MINVALUE/MAXVALUE ends are clipped to the keys observed).
 * When the catalog changes (after a split), the history of old buckets is carried over to the
 * new ones in proportion to their overlap, so a split does not blind the forecaster.
 */
#include <stdbool.h>
#include <stdint.h>

#include "common/catalog.h"
#include "common/event.h"
#include "common/snap.h"

struct forecast_config {
	uint32_t window_ms;       /* length of one aggregation window */
	uint32_t season_windows;  /* season length in windows (e.g. one load cycle) */
	uint32_t horizon_windows; /* how far ahead to forecast, in windows */
	uint32_t history_windows; /* windows of history kept per bucket (>= 3 seasons advised) */
	uint32_t sub_buckets;     /* buckets per partition */
	uint32_t refit_windows;   /* refit models every this many windows */
};

/* One key bucket's series and forecast. Loads are requests per second. */
struct forecast_bucket {
	int part_index;    /* index of the partition in the catalog table it lies in */
	uint64_t lo;       /* encoded inclusive lower bound */
	uint64_t hi;       /* encoded exclusive upper bound */
	double last;       /* load in the last closed window */
	double *mean;      /* horizon point forecasts, [horizon] */
	double *lo80, *hi80, *lo95, *hi95; /* prediction intervals, [horizon] each */
	const char *model; /* "hw" or "snaive" (short history), static string */
};

/*
 * One step of the hot-spot forecast in the mission's form: the key range whose predicted load
 * is highest at that time, and the load on it with a 95% interval.
 */
struct forecast_hot {
	uint64_t ts_ms;   /* wall-clock ms at the end of the forecast window */
	uint64_t key_min; /* encoded, inclusive */
	uint64_t key_max; /* encoded, exclusive */
	double load;      /* predicted req/s on [key_min, key_max) */
	double ci_lo;     /* 95% interval */
	double ci_hi;
};

struct forecast_table {
	uint16_t table_id;         /* catalog id */
	uint32_t windows_observed; /* closed windows with this table's series */
	double load_now;           /* req/s over the whole table in the last closed window */
	int n_buckets;
	struct forecast_bucket *buckets; /* sorted by lo */
	int n_hot;                       /* = horizon */
	struct forecast_hot *hot;
};

struct forecast_snapshot {
	struct fs_snap snap;   /* must be first */
	uint64_t now_ms;       /* wall-clock ms at the end of the last closed window */
	uint64_t catalog_version; /* catalog the buckets are aligned to */
	uint32_t window_ms;
	uint32_t horizon;      /* in windows */
	uint32_t season;       /* in windows */
	uint64_t events;       /* events consumed since start */
	int n_tables;
	struct forecast_table *tables;
};

struct forecast_engine;

/* NULL on allocation failure or invalid config (zero window, season or horizon). */
struct forecast_engine *forecast_engine_create(const struct forecast_config *cfg);
void forecast_engine_destroy(struct forecast_engine *e);

/* Aligns buckets to cat (borrowed for the call only), carrying history over. */
void forecast_engine_set_catalog(struct forecast_engine *e, const struct fs_catalog *cat);

/* Counts one event into the window containing ev->ts_us. Events for unknown tables are ignored. */
void forecast_engine_add(struct forecast_engine *e, const struct fs_profile_event *ev);

/*
 * Closes every window that ended at or before now_us (wall clock), appending a value (possibly
 * zero) to every series, updating models and refitting on schedule. Returns true when at least
 * one window closed (a new snapshot is worth publishing).
 */
bool forecast_engine_tick(struct forecast_engine *e, uint64_t now_us);

/* Builds a new immutable snapshot (refcount 1, owned by the caller). NULL on allocation failure. */
struct forecast_snapshot *forecast_engine_snapshot(struct forecast_engine *e);

/* Finds a table in a snapshot, or NULL. */
const struct forecast_table *forecast_snapshot_table(const struct forecast_snapshot *s,
						     uint16_t table_id);
