#pragma once
/*
 * The planner: reads the forecast snapshot and the catalog snapshot and decides which partition
 * changes to make before a hot spot arrives. Pure library, no I/O; the planner thread
 * (planner/thread.c) calls it once per closed forecast window.
 *
 * Rule for SPLIT (thin first version): a partition whose forecast load (sum of its buckets'
 * point forecasts) at any step of the horizon exceeds split_threshold_rps, and whose width in
 * encoded key units exceeds split_min_width, is split at the forecast-load-weighted median key
 * over the horizon, snapped to a valid literal of the key type. Nothing is planned before the
 * table has min_history_windows of history (at least one full season), and no second change is
 * planned for a table within hysteresis_ms of the last one.
 */
#include <stdbool.h>
#include <stdint.h>

#include "common/catalog.h"
#include "forecast/forecast.h"

enum planner_kind {
	PLANNER_SPLIT = 0, /* split one partition in two at a key */
	PLANNER_MERGE,     /* merge adjacent partitions (not planned yet) */
};

enum planner_state {
	PLANNER_PROPOSED = 0, /* shown; waits for APPLY in advise mode */
	PLANNER_APPLYING,     /* handed to the orchestrator */
	PLANNER_DONE,         /* cut over */
	PLANNER_FAILED,       /* aborted and rolled back; reason in the journal */
};

const char *planner_kind_str(enum planner_kind k);
const char *planner_state_str(enum planner_state s);

struct planner_action {
	uint32_t id;                      /* unique per process, shown in SHOW PLANS */
	enum planner_kind kind;
	enum planner_state state;
	uint16_t table_id;                /* catalog id */
	char table[2 * FS_NAME_MAX + 2];  /* schema.name, for messages */
	char partition[FS_NAME_MAX];      /* partition to split */
	uint64_t split_key;               /* encoded split point: new bounds [lo,k) and [k,hi) */
	char split_sql[FS_LITERAL_MAX];   /* split point as a SQL literal of the key type */
	double peak_rps;                  /* forecast peak load on the partition over the horizon */
	double peak_hi95;                 /* upper 95% bound at that peak */
	uint64_t peak_at_ms;              /* wall-clock ms of the forecast peak */
	double cost_rows;                 /* rows to copy (partition's estimated rows) */
	uint64_t created_ms;              /* wall clock */
	char reason[320];                 /* in words, for the console */
};

struct planner_config {
	double split_threshold_rps;    /* forecast load above which a partition is split */
	uint64_t split_min_width;      /* encoded key units; narrower partitions are left alone */
	uint32_t min_history_windows;  /* windows of history required before any plan */
	uint64_t hysteresis_ms;        /* minimum time between changes to one table */
};

struct planner;

struct planner *planner_create(const struct planner_config *cfg);
void planner_destroy(struct planner *p);

/*
 * Plans against the given snapshots (borrowed for the call). Writes up to max new actions to
 * out and returns how many. A table with an action in flight (see planner_note_*) gets none.
 */
int planner_plan(struct planner *p, const struct fs_catalog *cat,
		 const struct forecast_snapshot *fc, uint64_t now_ms, struct planner_action *out,
		 int max);

/* Records that a change to table_id started or finished at now_ms (hysteresis, in-flight). */
void planner_note_started(struct planner *p, uint16_t table_id, uint64_t now_ms);
void planner_note_finished(struct planner *p, uint16_t table_id, uint64_t now_ms);

/*
 * Chooses the split key for a partition from a forecast table: the load-weighted median of its
 * buckets' forecasts over the horizon, interpolated inside the median bucket, snapped to the
 * key type (integers and timestamps to whole units; text to the encoded prefix) and kept
 * strictly inside (part.lo, part.hi). Returns false when no valid point exists.
 */
__attribute__((warn_unused_result)) bool planner_split_point(const struct fs_table *t, int part,
							     const struct forecast_table *ft,
							     uint64_t *key_out);
