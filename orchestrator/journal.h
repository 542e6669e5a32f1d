#pragma once
/*
 * The durable journal of online changes: table foreshard.journal in the managed database. One
 * row per operation records what is being changed, the last committed step, the backfill cursor
 * and who works on it. Every step updates its row in the same transaction as its DDL, so the
 * journal and the system catalogs never disagree; recovery after a crash reads it to resume or
 * roll back. Orchestrator thread only.
 *
 * Ownership: the worker on an operation holds a session advisory lock on it (two-key form,
 * class ORCH_JOURNAL_LOCK_CLASS, key op_id) and bumps its epoch when it takes it over; every
 * update is fenced on that epoch, so a stale owner can never overwrite a newer one's state.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/catalog.h"
#include "orchestrator/db.h"
#include "orchestrator/orch.h"

/* First key of the advisory locks on operations: "fsop" in ASCII. */
#define ORCH_JOURNAL_LOCK_CLASS 0x66736f70

/* One operation as the step runner sees it. */
struct orch_journal_entry {
	int64_t op_id;                  /* bigserial, names the shadow tables and the trigger */
	int64_t epoch;                  /* bumped at every take-over; updates are fenced on it */
	enum orch_step step;            /* last committed step */
	bool abort_requested;           /* roll back instead of resuming (set before a rollback) */
	bool has_cursor;                /* backfill has committed at least one chunk */
	char kind[16];                  /* "SPLIT" */
	char schema[FS_NAME_MAX];       /* schema of the partitioned table and its partitions */
	char table[FS_NAME_MAX];        /* partitioned table */
	char part[FS_NAME_MAX];         /* partition being split */
	char split_sql[FS_LITERAL_MAX]; /* split point literal, e.g. '150000' */
	char lo_sql[FS_LITERAL_MAX];    /* the partition's lower bound literal or MINVALUE */
	char hi_sql[FS_LITERAL_MAX];    /* the partition's upper bound literal or MAXVALUE */
	char lower[FS_NAME_MAX];        /* new relation for [lo, split) */
	char upper[FS_NAME_MAX];        /* new relation for [split, hi) */
	char old_name[FS_NAME_MAX];     /* what the source partition is renamed to at cutover */
	char owner[64];                 /* host:pid of the orchestrator working on it */
	char message[256];              /* last thing that happened */
	uint64_t age_ms;                /* time since the last update, by the server's clock */
};

/* Parses the journal's spelling of a step. Returns false for anything else. */
__attribute__((warn_unused_result)) bool orch_journal_step_parse(const char *s,
                                                                 enum orch_step *out);

/*
 * Creates schema foreshard and the journal table when absent (serialised with an advisory
 * lock, so that two orchestrators starting together do not collide).
 */
__attribute__((warn_unused_result)) enum orch_db_status orch_journal_ensure(PGconn *c, char *err,
                                                                            size_t errlen);

/*
 * Writes e as a new PLANNED operation owned by e->owner and takes its advisory lock, in one
 * transaction, unless another operation on the same table is unfinished (ORCH_DB_ERROR, saying
 * which). Reloads e with the op id and derived names.
 */
__attribute__((warn_unused_result)) enum orch_db_status
orch_journal_insert(PGconn *c, struct orch_journal_entry *e, char *err, size_t errlen);

/* Reads operation op_id into e. ORCH_DB_ERROR when there is no such row. */
__attribute__((warn_unused_result)) enum orch_db_status
orch_journal_get(PGconn *c, int64_t op_id, struct orch_journal_entry *e, char *err, size_t errlen);

/*
 * Lists up to max operations that are not in a final state, oldest first, into ids; *n gets
 * how many.
 */
__attribute__((warn_unused_result)) enum orch_db_status
orch_journal_active(PGconn *c, int64_t *ids, int max, int *n, char *err, size_t errlen);

/* Tries the session advisory lock on op_id; *got says whether this session now holds it. */
__attribute__((warn_unused_result)) enum orch_db_status
orch_journal_lock(PGconn *c, int64_t op_id, bool *got, char *err, size_t errlen);

/* Releases the lock taken by orch_journal_lock or orch_journal_insert; errors are ignored. */
void orch_journal_unlock(PGconn *c, int64_t op_id);

/*
 * Takes op_id over (the caller holds its lock): bumps the epoch, records owner and reloads e.
 */
__attribute__((warn_unused_result)) enum orch_db_status
orch_journal_take_over(PGconn *c, int64_t op_id, const char *owner, struct orch_journal_entry *e,
                       char *err, size_t errlen);

/*
 * Records that step committed, with message, fenced on e->epoch; meant to run inside the
 * transaction of the step's DDL. When cursor is not NULL it is stored as the backfill cursor
 * (the text form of a text[] of the primary key's values). Updates e on success. ORCH_DB_ERROR
 * when the row was taken over by someone else.
 */
__attribute__((warn_unused_result)) enum orch_db_status
orch_journal_set_step(PGconn *c, struct orch_journal_entry *e, enum orch_step step,
                      const char *cursor, const char *message, char *err, size_t errlen);

/*
 * Records message (and abort_requested when abort is true) in its own statement, fenced on
 * e->epoch. Updates e on success.
 */
__attribute__((warn_unused_result)) enum orch_db_status
orch_journal_note(PGconn *c, struct orch_journal_entry *e, const char *message, bool abort,
                  char *err, size_t errlen);

/*
 * Reads the newest ORCH_JOURNAL_ROWS operations into a new snapshot with one reference, owned by
 * the caller (publish it or fs_snap_release it). NULL with err on error.
 */
struct orch_journal *orch_journal_snapshot(PGconn *c, bool recovered, char *err, size_t errlen);
