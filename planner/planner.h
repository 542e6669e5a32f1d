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
 *
 * At most one action per table and call: the partition with the highest forecast peak among
 * those over the threshold (the next one if its split point cannot be placed). Tables that are
 * not supported, with an unsupported key type, or with a change in flight get none; default
 * partitions are never split. A struct planner belongs to one thread (the planner thread).
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

/* Lower-case names for the console ("split", "proposed", ...); "?" for unknown values. */
const char *planner_kind_str(enum planner_kind k);
const char *planner_state_str(enum planner_state s);

struct planner_action {
	uint32_t id; /* unique per process, shown in SHOW PLANS */
	enum planner_kind kind;
	enum planner_state state;
	uint16_t table_id;               /* catalog id */
	char table[2 * FS_NAME_MAX + 2]; /* schema.name, for messages */
	char partition[FS_NAME_MAX];     /* partition to split */
	uint64_t split_key;              /* encoded split point: new bounds [lo,k) and [k,hi) */
	char split_sql[FS_LITERAL_MAX];  /* split point as a SQL literal of the key type */
	double peak_rps;                 /* forecast peak load on the partition over the horizon */
	double peak_hi95;                /* upper 95% bound at that peak */
	uint64_t peak_at_ms;             /* wall-clock ms of the forecast peak */
	double cost_rows;                /* rows to copy (partition's estimated rows) */
	uint64_t created_ms;             /* wall clock */
	uint64_t cutover_ms;             /* wall clock of the cutover commit; 0 until done */
	char reason[320];                /* in words, for the console */
};

/*
 * The orchestrator's answer about one action, sent to the planner thread's results mailbox.
 * (The orchestrator's inbox carries struct planner_action itself.)
 */
struct planner_result {
	uint32_t action_id;  /* planner_action.id */
	uint16_t table_id;   /* catalog id of the table changed */
	bool ok;             /* cut over (true) or rolled back (false) */
	uint64_t cutover_ms; /* wall clock of the cutover commit, when ok */
	char message[256];   /* what happened, for the console */
};

struct planner_config {
	double split_threshold_rps;   /* forecast load above which a partition is split */
	uint64_t split_min_width;     /* encoded key units; narrower partitions are left alone */
	uint32_t min_history_windows; /* windows of history required before any plan */
	uint64_t hysteresis_ms;       /* minimum time between changes to one table */
};

struct planner;

/* Creates a planner with cfg copied; action ids start at 1. NULL on allocation failure. */
struct planner *planner_create(const struct planner_config *cfg);

/* Frees p; NULL is ignored. */
void planner_destroy(struct planner *p);

/*
 * Plans against the given snapshots (borrowed for the call). Writes up to max new actions to
 * out and returns how many; every field is filled, state is PLANNER_PROPOSED and ids increase
 * by one per action across calls. Nothing is planned when fc is not aligned to cat (its
 * catalog_version differs): its buckets may describe partitions that no longer exist. A table
 * with an action in flight (see planner_note_*) or inside hysteresis gets none. planner_plan
 * itself records nothing per table: the caller notes an action as started when it keeps it.
 */
int planner_plan(struct planner *p, const struct fs_catalog *cat,
                 const struct forecast_snapshot *fc, uint64_t now_ms, struct planner_action *out,
                 int max);

/*
 * Records that a change to table_id started (now in flight: no plans for it) or finished (no
 * longer in flight) at now_ms; either starts the table's hysteresis period.
 */
void planner_note_started(struct planner *p, uint16_t table_id, uint64_t now_ms);
void planner_note_finished(struct planner *p, uint16_t table_id, uint64_t now_ms);

/*
 * Chooses the split key for partition part of t from a forecast table: the load-weighted median
 * of its buckets' forecasts summed over the horizon, interpolated linearly inside the median
 * bucket, then snapped to the key type: integers are whole units already (and must fit a
 * smallint or integer column); timestamps to the nearest whole second that lies inside (whole
 * day for a date column), or the microsecond when no whole second does; text to a short
 * printable-ASCII prefix near the median (the shortest within a sixteenth of the median
 * bucket's width, else the nearest one); uuids not at all (the literal of any key, its 8 bytes
 * then 8 zero bytes, is exact). The key lies strictly inside (part.lo, part.hi) and
 * its literal from parser_keyenc_literal reads back as exactly this key. Returns false when no
 * such point exists (no forecast load on the partition, a partition too narrow, a default
 * partition, an unsupported key type).
 */
__attribute__((warn_unused_result)) bool planner_split_point(const struct fs_table *t, int part,
                                                             const struct forecast_table *ft,
                                                             uint64_t *key_out);
