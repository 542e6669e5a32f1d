#pragma once
/*
 * The online SPLIT of one range partition on PostgreSQL 15, step by step as in DESIGN.md
 * ("Online change protocol"): PLANNED, SHADOW, CAPTURE, BACKFILL, VERIFY, CUT_OVER, then CLEANED
 * after a grace period, or ROLLED_BACK from any step before the cutover.
 *
 * Naming: for operation N on partition P the shadow tables are P_fsN_a ([lo, split)) and
 * P_fsN_b ([split, hi)); they keep those names after the cutover, when they become the new
 * partitions. P itself is renamed to P_fsoldN when it is detached and dropped at cleanup. The
 * capture trigger and its function are fs_capture_N (row changes) and fs_truncate_N (TRUNCATE)
 * in schema foreshard; each shadow's bound CHECK is fs_bound_N and is dropped at the cutover
 * (the partition constraint replaces it). P's prefix is cut to 38 bytes in derived names.
 *
 * Every step is one transaction that also updates the journal row; DDL on tables clients use
 * runs under a short lock_timeout and is retried with backoff; all functions run on the
 * orchestrator thread, which owns the connection in env.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/catalog.h"
#include "orchestrator/orch.h"

/* What a step runner needs from the thread that drives it. */
struct orch_split_env {
	PGconn *conn;                          /* the orchestrator's connection, borrowed */
	const struct orch_config *cfg;         /* timeouts, chunk size, retries */
	const struct orch_pause_ops *pause;    /* proxy coordination at cutover; NULL when none */
	const char *owner;                     /* host:pid, written into the journal */
	bool (*sleep)(void *ctx, uint32_t ms); /* waits; false when the thread must stop */
	void (*progress)(void *ctx); /* after every committed step: republish the journal */
	void *ctx;                   /* argument of sleep and progress */
};

enum orch_split_status {
	ORCH_SPLIT_CUT_OVER = 0, /* the new partitions are attached; the old one awaits cleanup */
	ORCH_SPLIT_CLEANED,      /* the old partition is dropped */
	ORCH_SPLIT_ROLLED_BACK,  /* aborted and undone: the table is as it was */
	ORCH_SPLIT_REFUSED,      /* not started, nothing written: the request cannot be done */
	ORCH_SPLIT_INTERRUPTED,  /* connection lost or stop requested: recovery continues it */
	ORCH_SPLIT_FAILED,       /* marked FAILED in the journal: needs an operator */
};

const char *orch_split_status_str(enum orch_split_status s);

/*
 * Checks a split of partition part of table t at split_sql (a literal of the key's type, e.g.
 * 150000 or '2024-05-01') — the table is supported, the partition exists, the point lies
 * strictly inside its bounds, the partition has a usable primary key and no other operation on
 * the table is in progress — then journals it as PLANNED and takes its advisory lock, which the
 * caller releases with orch_journal_unlock once the operation is final. Returns true with the
 * new *op_id; false with *st = ORCH_SPLIT_REFUSED (nothing was written) or
 * ORCH_SPLIT_INTERRUPTED (connection lost) and the reason in msg.
 */
__attribute__((warn_unused_result)) bool orch_split_plan(const struct orch_split_env *env,
                                                         const struct fs_table *t, const char *part,
                                                         const char *split_sql, int64_t *op_id,
                                                         enum orch_split_status *st, char *msg,
                                                         size_t msglen);

/*
 * Drives operation op_id (whose lock the caller holds) from its journal state to CUT_OVER:
 * creates shadows, installs the capture trigger, backfills from the journal's cursor, verifies
 * (again, when resumed at VERIFY) and cuts over, asking env->pause to hold table_id's clients
 * around the swap. A failed step, a pause that does not drain, too many lock timeouts or an
 * abort request roll the operation back. Returns ORCH_SPLIT_CUT_OVER (with the commit's wall
 * clock in *cutover_ms), ORCH_SPLIT_ROLLED_BACK, ORCH_SPLIT_INTERRUPTED or ORCH_SPLIT_FAILED
 * (or ORCH_SPLIT_CLEANED for an operation already done), with what happened in msg.
 */
enum orch_split_status orch_split_run(const struct orch_split_env *env, int64_t op_id,
                                      uint16_t table_id, uint64_t *cutover_ms, char *msg,
                                      size_t msglen);

/*
 * Drops the old partition of operation op_id (state CUT_OVER; the caller holds its lock) and
 * marks it CLEANED. Returns ORCH_SPLIT_CLEANED, or ORCH_SPLIT_INTERRUPTED when it must be tried
 * again later (lock timeouts, lost connection), with msg.
 */
enum orch_split_status orch_split_cleanup(const struct orch_split_env *env, int64_t op_id,
                                          char *msg, size_t msglen);

/*
 * Rolls operation op_id back (any state before CUT_OVER; the caller holds its lock): records
 * reason and the abort request first, so that a crash midway still ends in a rollback, then
 * drops the trigger, its functions and the shadow tables and marks it ROLLED_BACK. Returns
 * ORCH_SPLIT_ROLLED_BACK, ORCH_SPLIT_INTERRUPTED (try again later) or ORCH_SPLIT_FAILED.
 */
enum orch_split_status orch_split_rollback(const struct orch_split_env *env, int64_t op_id,
                                           const char *reason, char *msg, size_t msglen);
