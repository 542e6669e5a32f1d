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
};

/* What flows into the orchestrator's mailbox. */
struct orch_msg {
	struct planner_action action; /* the change to apply */
};

/* What the orchestrator reports back, read by the planner thread from its mailbox. */
struct orch_result {
	uint32_t action_id;   /* planner_action.id */
	uint16_t table_id;
	bool ok;              /* cut over (true) or rolled back (false) */
	uint64_t cutover_ms;  /* wall clock of the cutover commit, when ok */
	char message[256];    /* what happened, for the console */
};

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

/* The mailbox actions are sent to (struct orch_msg). */
struct fs_mailbox *orch_inbox(struct orch *o);

/* Journal rows for the console: newest first, as a snapshot published by the thread. */
struct fs_snap_slot *orch_journal_slot(struct orch *o);

/* Stops the thread (finishing or abandoning the current step safely) and frees everything. */
void orch_stop(struct orch *o);
