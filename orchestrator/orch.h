#pragma once
/*
 * The orchestrator: applies plan actions to PostgreSQL online and safely, and keeps the catalog
 * snapshot current. It owns one thread (orchestrator/thread.c) with its own libpq connection to
 * manage_dsn. Actions arrive in its mailbox; the catalog is re-read from PostgreSQL's catalogs
 * after every change and periodically, and published into the catalog slot.
 *
 * Pausing clients is the proxy's job; the orchestrator asks for it through struct orch_pause_ops
 * so that it can be tested without a proxy.
 */
#include <stdbool.h>
#include <stdint.h>

#include "common/catalog.h"
#include "common/mailbox.h"
#include "common/snap.h"
#include "planner/planner.h"

struct orch_pause_ops {
	void *ctx;
	/*
	 * Holds new statements touching table_id in every worker and waits until no transaction
	 * touching it is in flight. Returns false if that did not happen within timeout_ms; the
	 * table is then resumed by the callee.
	 */
	bool (*pause)(void *ctx, uint16_t table_id, uint32_t timeout_ms);
	/* Releases held statements in arrival order. */
	void (*resume)(void *ctx, uint16_t table_id);
};

struct orch_config {
	const char *dsn;              /* libpq conninfo of the managed database */
	const char *tables;           /* comma-separated schema.table list to manage; "" = all */
	uint32_t lock_timeout_ms;     /* per-lock timeout of cutover DDL */
	uint32_t pause_timeout_ms;    /* longest the proxy may hold statements at cutover */
	uint32_t cutover_retries;     /* attempts before giving up on a cutover */
	uint32_t backfill_chunk_rows; /* rows per backfill transaction */
	uint32_t catalog_refresh_ms;  /* how often bounds are re-read when nothing changes */
	uint32_t cleanup_grace_ms;    /* how long the old partition is kept after cutover */
	uint32_t backfill_sleep_ms; /* pause between backfill chunks, for clients' I/O; 0 = none */
};

/*
 * The inbox carries struct planner_action (the change to apply); results are struct
 * planner_result (planner/planner.h). Operations finished by start-up recovery are reported with
 * action_id 0.
 */

/*
 * Steps of an online change as stored in foreshard.journal.state. Each state means "this step
 * has committed"; the order is the protocol's (DESIGN.md, "Online change protocol").
 */
enum orch_step {
	ORCH_STEP_PLANNED = 0, /* journal row written; nothing created yet */
	ORCH_STEP_SHADOW,      /* shadow tables with their bound CHECKs and indexes exist */
	ORCH_STEP_CAPTURE,     /* the capture trigger mirrors every write into the shadows */
	ORCH_STEP_BACKFILL,    /* backfill under way; rows up to the journal's cursor are copied */
	ORCH_STEP_VERIFY,      /* source and shadows compared equal in one snapshot */
	ORCH_STEP_CUT_OVER,    /* shadows attached, old partition detached and renamed */
	ORCH_STEP_CLEANED,     /* old partition dropped (final) */
	ORCH_STEP_ROLLED_BACK, /* shadows and trigger dropped, the table is as before (final) */
	ORCH_STEP_FAILED,      /* stopped where only an operator can decide; see message (final) */
};

/* The journal's spelling of s ("PLANNED", "CUT_OVER", ...). Any thread. */
const char *orch_step_str(enum orch_step s);

/* True for CLEANED, ROLLED_BACK and FAILED: nothing is left to do for the operation. */
bool orch_step_is_final(enum orch_step s);

/* One operation as the console shows it. */
struct orch_journal_row {
	int64_t op_id;                   /* foreshard.journal.op_id */
	char kind[16];                   /* "SPLIT" */
	char table[2 * FS_NAME_MAX + 2]; /* schema.name of the partitioned table */
	char partition[FS_NAME_MAX];     /* the partition being split */
	char split_sql[FS_LITERAL_MAX];  /* split point, as the SQL literal that was asked for */
	char lower[FS_NAME_MAX];         /* new partition for [lo, split) */
	char upper[FS_NAME_MAX];         /* new partition for [split, hi) */
	enum orch_step step;             /* last committed step */
	char message[256];               /* last thing that happened, in words */
	uint64_t created_ms;             /* wall clock when the operation was planned */
	uint64_t updated_ms;             /* wall clock of the last journal update */
};

/* The journal snapshot published into orch_journal_slot(): immutable once published. */
struct orch_journal {
	struct fs_snap snap;           /* must be first: refcount for publication */
	bool recovered;                /* start-up recovery has finished */
	int n_rows;                    /* rows in rows[] */
	struct orch_journal_row *rows; /* newest first, at most ORCH_JOURNAL_ROWS; owned */
};

/* How many journal rows the snapshot carries. */
#define ORCH_JOURNAL_ROWS 100

struct orch;

/*
 * Starts the orchestrator thread: connects, creates the foreshard schema and journal if absent,
 * recovers unfinished operations from the journal (resume or roll back), loads and publishes the
 * catalog into cat_slot, then serves actions from its inbox. Results go to results (may be NULL).
 * Returns NULL with a message in err when the database cannot be reached at start.
 */
struct orch *orch_start(const struct orch_config *cfg, struct fs_snap_slot *cat_slot,
                        const struct orch_pause_ops *pause, struct fs_mailbox *results, char *err,
                        size_t errlen);

/* The mailbox actions are sent to (struct planner_action). */
struct fs_mailbox *orch_inbox(struct orch *o);

/*
 * Journal rows for the console: a struct orch_journal, newest first, published by the thread
 * after every step and every catalog refresh. Read with fs_snap_acquire and release.
 */
struct fs_snap_slot *orch_journal_slot(struct orch *o);

/* Stops the thread (finishing or abandoning the current step safely) and frees everything. */
void orch_stop(struct orch *o);
