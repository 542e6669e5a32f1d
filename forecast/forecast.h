#pragma once
/*
 * The forecast engine: turns profile events into per (table, key bucket) load series, fits a
 * model per bucket and forecasts load over a horizon with prediction intervals. It is a pure
 * library with no I/O and no threads of its own: the forecast thread (forecast/thread.c) feeds
 * it from the workers' rings and publishes its snapshots.
 *
 * Buckets: each partition of a managed table is split into sub_buckets equal-width buckets of
 * the encoded key space. An unbounded MINVALUE/MAXVALUE end is clipped to the keys observed
 * plus half their span as a margin (or, before any key is seen there, to the width of the
 * nearest bounded partition); the outermost bucket still counts every key beyond the clip, and
 * the buckets are re-laid when keys are seen outside it. The default partition has no buckets;
 * a table with no bounded partition gets one bucket over the whole key space. When the catalog
 * changes (after a split), the history of old buckets is carried over to the new ones in
 * proportion to their overlap, so a split does not blind the forecaster.
 *
 * Windows are wall-clock aligned (multiples of window_ms since the epoch); every table's series
 * gets a value for every closed window, zero when nothing was seen. All memory per bucket is
 * bounded by history_windows, season_windows and horizon_windows.
 */
#include <stdbool.h>
#include <stdint.h>

#include "common/catalog.h"
#include "common/event.h"
#include "common/snap.h"
#include "forecast/select.h"

/* Largest history_windows accepted: 8 MB of doubles per bucket is already absurd. */
#define FORECAST_MAX_HISTORY (1u << 20)

struct forecast_config {
	uint32_t window_ms;        /* length of one aggregation window */
	uint32_t season_windows;   /* season length in windows (e.g. one load cycle) */
	uint32_t horizon_windows;  /* how far ahead to forecast, in windows */
	uint32_t history_windows;  /* windows kept per bucket (>= 3 seasons advised); 0 = 4 seasons;
				     raised to 2 seasons, the least a seasonal model fits on */
	uint32_t sub_buckets;      /* buckets per partition */
	uint32_t refit_windows;    /* refit models every this many windows; 0 = once per season */
	uint32_t refit_budget_us;  /* thread CPU time the refits of one window may take (at least
				     one refit always runs; the others wait for a later window);
				     0 = no limit */
	enum forecast_model model; /* per bucket: AUTO (backtested choice, forecast/select.h) or
				      one model */
};

/* One key bucket's series and forecast. Loads are requests per second. */
struct forecast_bucket {
	int part_index; /* index of the partition in the catalog table it lies in; -1 for the
			      single whole-key-space bucket of a table without bounded partitions */
	uint64_t lo;    /* encoded inclusive lower bound */
	uint64_t hi;    /* encoded exclusive upper bound */
	double last;    /* load in the last closed window */
	double *mean;   /* horizon point forecasts, [horizon] */
	double *lo80, *hi80, *lo95, *hi95; /* prediction intervals, [horizon] each */
	const char *model; /* static string: the model carrying the most weight once there are
			      2 seasons of history ("ets", "arima", ...: forecast_model_str),
			      "snaive" before (>= 1 season) or "mean" (less: the history's mean,
			      wide intervals) */
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
	struct fs_snap snap;      /* must be first */
	uint64_t now_ms;          /* wall-clock ms at the end of the last closed window */
	uint64_t catalog_version; /* catalog the buckets are aligned to */
	uint32_t window_ms;
	uint32_t horizon;        /* in windows */
	uint32_t season;         /* in windows */
	uint64_t events;         /* events consumed since start */
	uint64_t events_ignored; /* of those, events counted nowhere: unknown or unmanaged table,
				    keys outside every bucket */
	int n_tables;
	struct forecast_table *tables;
};

struct forecast_engine;

/*
 * Creates an engine with no catalog (every event is ignored until forecast_engine_set_catalog).
 * Returns NULL on allocation failure or invalid config (zero window, season, horizon or
 * sub_buckets). cfg is copied. The engine belongs to one thread (the forecast thread).
 */
struct forecast_engine *forecast_engine_create(const struct forecast_config *cfg);

/* Frees the engine and everything it owns. Snapshots it built stay valid (they own their
 * memory). NULL is ignored. */
void forecast_engine_destroy(struct forecast_engine *e);

/*
 * Aligns buckets to cat (borrowed for the call only), carrying history over: a new bucket gets
 * each old bucket's series in proportion to their key overlap, so load totals are preserved and
 * forecasts continue across a split. Buckets whose bounds did not change keep their model;
 * the others are refit at once. A catalog with the version already applied is a no-op.
 * Returns false on allocation failure: tables that could not be re-laid keep their old
 * buckets and the version is not recorded, so calling again with the same catalog retries.
 */
__attribute__((warn_unused_result)) bool forecast_engine_set_catalog(struct forecast_engine *e,
                                                                     const struct fs_catalog *cat);

/*
 * Counts one event into the window containing ev->ts_us. An event's key range [key_lo,
 * key_hi] counts one request shared evenly among the buckets it overlaps; FS_PRED_NONE shares
 * it among all the table's buckets. Events of a window already closed count in the oldest open
 * one; events more than a few windows ahead count in the furthest window kept open. Events for
 * unknown tables, FS_TABLE_NONE, or with keys outside every bucket are counted as ignored.
 */
void forecast_engine_add(struct forecast_engine *e, const struct fs_profile_event *ev);

/*
 * Closes every window that ended at or before now_us (wall clock), appending a value (possibly
 * zero) to every series, updating models and refitting on schedule (each bucket every
 * refit_windows, staggered across a table's buckets). After a stall longer than the history,
 * the empty windows beyond it are skipped by whole seasons (they are counted in
 * windows_observed but cost nothing). The first call only starts the clock. Returns true when
 * at least one window closed (a new snapshot is worth publishing).
 */
bool forecast_engine_tick(struct forecast_engine *e, uint64_t now_us);

/*
 * Builds a new immutable snapshot (refcount 1, owned by the caller; its fs_snap destroy frees
 * it, so release it with fs_snap_release or publish it). Loads, forecasts and interval bounds
 * are clipped at zero. NULL on allocation failure.
 */
struct forecast_snapshot *forecast_engine_snapshot(struct forecast_engine *e);

/* Finds a table in a snapshot (tables are sorted by id), or NULL. Any thread holding a
 * reference. */
const struct forecast_table *forecast_snapshot_table(const struct forecast_snapshot *s,
                                                     uint16_t table_id);
