/*
 * foreshard.journal (see journal.h): its DDL, the queries and fenced updates the step runner
 * and recovery use, and the snapshot of recent rows published for the console. Also the names
 * of the steps, which are the values of the journal's state column.
 */
#include "orchestrator/journal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const step_names[] = {
        "PLANNED",  "SHADOW",  "CAPTURE",     "BACKFILL", "VERIFY",
        "CUT_OVER", "CLEANED", "ROLLED_BACK", "FAILED",
};

const char *orch_step_str(enum orch_step s)
{
	if ((unsigned)s < sizeof(step_names) / sizeof(step_names[0]))
		return step_names[s];
	return "?";
}

bool orch_step_is_final(enum orch_step s)
{
	return s == ORCH_STEP_CLEANED || s == ORCH_STEP_ROLLED_BACK || s == ORCH_STEP_FAILED;
}

bool orch_journal_step_parse(const char *s, enum orch_step *out)
{
	for (size_t i = 0; i < sizeof(step_names) / sizeof(step_names[0]); i++) {
		if (strcmp(s, step_names[i]) == 0) {
			*out = (enum orch_step)i;
			return true;
		}
	}
	return false;
}

/* The advisory lock's key arguments, as SQL, for an op id in $1. */
#define LOCK_ARGS "1718841200, ($1::bigint & 2147483647)::int"
_Static_assert(ORCH_JOURNAL_LOCK_CLASS == 1718841200, "LOCK_ARGS must name the lock class");

static const char ensure_sql[] =
        "BEGIN;"
        "SELECT pg_advisory_xact_lock(1718841200, 0);"
        "CREATE SCHEMA IF NOT EXISTS foreshard;"
        "CREATE TABLE IF NOT EXISTS foreshard.journal ("
        " op_id bigserial PRIMARY KEY,"
        " kind text NOT NULL,"
        " schema_name text NOT NULL,"
        " table_name text NOT NULL,"
        " source_part text NOT NULL,"
        " split_sql text NOT NULL,"
        " lo_sql text NOT NULL,"
        " hi_sql text NOT NULL,"
        " lower_part text NOT NULL,"
        " upper_part text NOT NULL,"
        " old_part text NOT NULL,"
        " state text NOT NULL CHECK (state IN ('PLANNED', 'SHADOW', 'CAPTURE', 'BACKFILL',"
        "   'VERIFY', 'CUT_OVER', 'CLEANED', 'ROLLED_BACK', 'FAILED')),"
        " backfill_cursor text[],"
        " epoch bigint NOT NULL DEFAULT 1,"
        " owner text NOT NULL,"
        " abort_requested boolean NOT NULL DEFAULT false,"
        " message text NOT NULL DEFAULT '',"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        " updated_at timestamptz NOT NULL DEFAULT now());"
        "COMMENT ON TABLE foreshard.journal IS 'online partition changes made by foreshard';"
        "COMMIT";

enum orch_db_status orch_journal_ensure(PGconn *c, char *err, size_t errlen)
{
	enum orch_db_status st = orch_db_run(c, err, errlen, ensure_sql);

	if (st != ORCH_DB_OK)
		orch_db_rollback(c);
	return st;
}

/* The columns orch_journal_get reads, in the order read_entry expects. */
#define ENTRY_COLUMNS                                                                              \
	"op_id, epoch, state, abort_requested, backfill_cursor IS NOT NULL, kind, schema_name,"    \
	" table_name, source_part, split_sql, lo_sql, hi_sql, lower_part, upper_part, old_part,"   \
	" owner, message, (extract(epoch FROM now() - updated_at) * 1000)::bigint"

#define COPY_FIELD(dst, r, col) snprintf((dst), sizeof(dst), "%s", PQgetvalue((r), 0, (col)))

static bool read_entry(PGresult *r, struct orch_journal_entry *e, char *err, size_t errlen)
{
	long long age;

	memset(e, 0, sizeof(*e));
	e->op_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	e->epoch = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	if (!orch_journal_step_parse(PQgetvalue(r, 0, 2), &e->step)) {
		snprintf(err, errlen, "journal row %" PRId64 " has unknown state %s", e->op_id,
		         PQgetvalue(r, 0, 2));
		return false;
	}
	e->abort_requested = PQgetvalue(r, 0, 3)[0] == 't';
	e->has_cursor = PQgetvalue(r, 0, 4)[0] == 't';
	COPY_FIELD(e->kind, r, 5);
	COPY_FIELD(e->schema, r, 6);
	COPY_FIELD(e->table, r, 7);
	COPY_FIELD(e->part, r, 8);
	COPY_FIELD(e->split_sql, r, 9);
	COPY_FIELD(e->lo_sql, r, 10);
	COPY_FIELD(e->hi_sql, r, 11);
	COPY_FIELD(e->lower, r, 12);
	COPY_FIELD(e->upper, r, 13);
	COPY_FIELD(e->old_name, r, 14);
	COPY_FIELD(e->owner, r, 15);
	COPY_FIELD(e->message, r, 16);
	age = strtoll(PQgetvalue(r, 0, 17), NULL, 10);
	e->age_ms = age > 0 ? (uint64_t)age : 0;
	return true;
}

enum orch_db_status orch_journal_get(PGconn *c, int64_t op_id, struct orch_journal_entry *e,
                                     char *err, size_t errlen)
{
	char id[24];
	const char *params[] = {id};
	PGresult *r;
	enum orch_db_status st;

	snprintf(id, sizeof(id), "%" PRId64, op_id);
	st = orch_db_exec(c, &r, err, errlen,
	                  "SELECT " ENTRY_COLUMNS " FROM foreshard.journal WHERE op_id = $1", 1,
	                  params);
	if (st != ORCH_DB_OK)
		return st;
	if (PQntuples(r) != 1) {
		snprintf(err, errlen, "no journal row %" PRId64, op_id);
		st = ORCH_DB_ERROR;
	} else if (!read_entry(r, e, err, errlen)) {
		st = ORCH_DB_ERROR;
	}
	PQclear(r);
	return st;
}

/*
 * Longest prefix of a partition's name in the names derived from it, in bytes: "_fsold" and 19
 * digits of op id must still fit in PostgreSQL's 63, or the server would silently truncate and
 * two operations could collide.
 */
#define NAME_PREFIX_MAX 38

/* Length of name without a "_fs<digits>_a" or "_b" suffix that an earlier split gave it. */
static size_t base_len(const char *name)
{
	size_t len = strlen(name);
	const char *fs = NULL;

	for (const char *p = strstr(name, "_fs"); p; p = strstr(p + 1, "_fs"))
		fs = p;
	if (!fs || len < 2 || name[len - 2] != '_' ||
	    (name[len - 1] != 'a' && name[len - 1] != 'b'))
		return len;
	for (const char *d = fs + 3; d < name + len - 2; d++) {
		if (*d < '0' || *d > '9')
			return len;
	}
	return fs + 3 < name + len - 2 ? (size_t)(fs - name) : len;
}

/*
 * Copies name into out, cut at NAME_PREFIX_MAX bytes on a UTF-8 character boundary. A partition
 * made by an earlier split loses that split's suffix, so that names do not grow with every split
 * ("events_p2_fs1_b" split again gives "events_p2_fs7_a" and "events_p2_fs7_b").
 */
static void name_prefix(const char *name, char *out)
{
	size_t len = base_len(name);

	if (len > NAME_PREFIX_MAX) {
		len = NAME_PREFIX_MAX;
		while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(out, name, len);
	out[len] = '\0';
}

enum orch_db_status orch_journal_insert(PGconn *c, struct orch_journal_entry *e, char *err,
                                        size_t errlen)
{
	char prefix[NAME_PREFIX_MAX + 1];
	const char *params[] = {e->kind,   e->schema, e->table, e->part, e->split_sql,
	                        e->lo_sql, e->hi_sql, e->owner, prefix};
	PGresult *r;
	char id[24];
	const char *idp[] = {id};
	enum orch_db_status st;

	name_prefix(e->part, prefix);
	st = orch_db_run(c, err, errlen, "BEGIN");
	if (st != ORCH_DB_OK)
		return st;
	/* one operation per table: the check and the insert are serialised per table */
	st = orch_db_exec(c, &r, err, errlen,
	                  "SELECT pg_advisory_xact_lock(1718841200, hashtext($1 || '.' || $2)),"
	                  " (SELECT min(op_id) FROM foreshard.journal WHERE schema_name = $1"
	                  "   AND table_name = $2"
	                  "   AND state NOT IN ('CLEANED', 'ROLLED_BACK', 'FAILED'))",
	                  2, params + 1);
	if (st != ORCH_DB_OK)
		goto fail;
	if (!PQgetisnull(r, 0, 1)) {
		snprintf(err, errlen, "operation %s on %s.%s is still in progress",
		         PQgetvalue(r, 0, 1), e->schema, e->table);
		PQclear(r);
		st = ORCH_DB_ERROR;
		goto fail;
	}
	PQclear(r);
	/* relation names derive from the op id, so they are filled in by the same statement */
	st = orch_db_exec(
	        c, &r, err, errlen,
	        "INSERT INTO foreshard.journal (op_id, kind, schema_name, table_name,"
	        " source_part, split_sql, lo_sql, hi_sql, lower_part, upper_part, old_part,"
	        " state, owner, message)"
	        " SELECT id, $1, $2, $3, $4, $5, $6, $7, $9 || '_fs' || id || '_a',"
	        "  $9 || '_fs' || id || '_b', $9 || '_fsold' || id, 'PLANNED', $8, 'planned'"
	        " FROM (SELECT nextval('foreshard.journal_op_id_seq') AS id) s"
	        " RETURNING op_id",
	        9, params);
	if (st != ORCH_DB_OK)
		goto fail;
	snprintf(id, sizeof(id), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	st = orch_db_exec(c, NULL, err, errlen, "SELECT pg_advisory_lock(" LOCK_ARGS ")", 1, idp);
	if (st != ORCH_DB_OK)
		goto fail;
	st = orch_db_run(c, err, errlen, "COMMIT");
	if (st != ORCH_DB_OK)
		goto fail;
	return orch_journal_get(c, strtoll(id, NULL, 10), e, err, errlen);
fail:
	orch_db_rollback(c);
	return st;
}

enum orch_db_status orch_journal_active(PGconn *c, int64_t *ids, int max, int *n, char *err,
                                        size_t errlen)
{
	PGresult *r;
	enum orch_db_status st = orch_db_exec(
	        c, &r, err, errlen,
	        "SELECT op_id FROM foreshard.journal"
	        " WHERE state NOT IN ('CLEANED', 'ROLLED_BACK', 'FAILED') ORDER BY op_id",
	        0, NULL);

	*n = 0;
	if (st != ORCH_DB_OK)
		return st;
	for (int i = 0; i < PQntuples(r) && *n < max; i++)
		ids[(*n)++] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	PQclear(r);
	return ORCH_DB_OK;
}

enum orch_db_status orch_journal_lock(PGconn *c, int64_t op_id, bool *got, char *err, size_t errlen)
{
	char id[24];
	const char *params[] = {id};
	PGresult *r;
	enum orch_db_status st;

	snprintf(id, sizeof(id), "%" PRId64, op_id);
	*got = false;
	st = orch_db_exec(c, &r, err, errlen, "SELECT pg_try_advisory_lock(" LOCK_ARGS ")", 1,
	                  params);
	if (st != ORCH_DB_OK)
		return st;
	*got = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return ORCH_DB_OK;
}

void orch_journal_unlock(PGconn *c, int64_t op_id)
{
	char id[24], err[256];
	const char *params[] = {id};

	snprintf(id, sizeof(id), "%" PRId64, op_id);
	if (orch_db_exec(c, NULL, err, sizeof(err), "SELECT pg_advisory_unlock(" LOCK_ARGS ")", 1,
	                 params) != ORCH_DB_OK) {
		/* a lost connection released it with the session */
	}
}

enum orch_db_status orch_journal_take_over(PGconn *c, int64_t op_id, const char *owner,
                                           struct orch_journal_entry *e, char *err, size_t errlen)
{
	char id[24];
	const char *params[] = {id, owner};
	enum orch_db_status st;

	snprintf(id, sizeof(id), "%" PRId64, op_id);
	st = orch_db_exec(c, NULL, err, errlen,
	                  "UPDATE foreshard.journal SET epoch = epoch + 1, owner = $2,"
	                  " updated_at = now() WHERE op_id = $1",
	                  2, params);
	if (st != ORCH_DB_OK)
		return st;
	return orch_journal_get(c, op_id, e, err, errlen);
}

/* Runs a fenced UPDATE of e's row whose SET list uses $3.. ; reloads e. */
static enum orch_db_status fenced_update(PGconn *c, struct orch_journal_entry *e, const char *sql,
                                         int n_params, const char *const *params, char *err,
                                         size_t errlen)
{
	PGresult *r;
	enum orch_db_status st = orch_db_exec(c, &r, err, errlen, sql, n_params, params);

	if (st != ORCH_DB_OK)
		return st;
	if (strcmp(PQcmdTuples(r), "1") != 0) {
		snprintf(err, errlen,
		         "operation %" PRId64 " was taken over by another orchestrator", e->op_id);
		PQclear(r);
		return ORCH_DB_ERROR;
	}
	PQclear(r);
	return orch_journal_get(c, e->op_id, e, err, errlen);
}

enum orch_db_status orch_journal_set_step(PGconn *c, struct orch_journal_entry *e,
                                          enum orch_step step, const char *cursor,
                                          const char *message, char *err, size_t errlen)
{
	char id[24], epoch[24];
	const char *params[] = {id, epoch, orch_step_str(step), message, cursor};

	snprintf(id, sizeof(id), "%" PRId64, e->op_id);
	snprintf(epoch, sizeof(epoch), "%" PRId64, e->epoch);
	if (cursor)
		return fenced_update(c, e,
		                     "UPDATE foreshard.journal SET state = $3, message = $4,"
		                     " backfill_cursor = $5::text[], updated_at = now()"
		                     " WHERE op_id = $1 AND epoch = $2",
		                     5, params, err, errlen);
	return fenced_update(c, e,
	                     "UPDATE foreshard.journal SET state = $3, message = $4,"
	                     " updated_at = now() WHERE op_id = $1 AND epoch = $2",
	                     4, params, err, errlen);
}

enum orch_db_status orch_journal_note(PGconn *c, struct orch_journal_entry *e, const char *message,
                                      bool abort, char *err, size_t errlen)
{
	char id[24], epoch[24];
	const char *params[] = {id, epoch, message, abort ? "true" : "false"};

	snprintf(id, sizeof(id), "%" PRId64, e->op_id);
	snprintf(epoch, sizeof(epoch), "%" PRId64, e->epoch);
	return fenced_update(c, e,
	                     "UPDATE foreshard.journal SET message = $3,"
	                     " abort_requested = abort_requested OR $4::boolean, updated_at = now()"
	                     " WHERE op_id = $1 AND epoch = $2",
	                     4, params, err, errlen);
}

static void journal_destroy(struct fs_snap *s)
{
	struct orch_journal *j = (struct orch_journal *)s;

	free(j->rows);
	free(j);
}

struct orch_journal *orch_journal_snapshot(PGconn *c, bool recovered, char *err, size_t errlen)
{
	PGresult *r;
	struct orch_journal *j;
	int n;

	if (orch_db_exec(c, &r, err, errlen,
	                 "SELECT op_id, kind, schema_name || '.' || table_name, source_part,"
	                 " split_sql, lower_part, upper_part, state, message,"
	                 " (extract(epoch FROM created_at) * 1000)::bigint,"
	                 " (extract(epoch FROM updated_at) * 1000)::bigint"
	                 " FROM foreshard.journal ORDER BY op_id DESC LIMIT 100",
	                 0, NULL) != ORCH_DB_OK)
		return NULL;
	_Static_assert(ORCH_JOURNAL_ROWS == 100, "the LIMIT above must match");
	n = PQntuples(r);
	j = calloc(1, sizeof(*j));
	if (j)
		j->rows = n ? calloc((size_t)n, sizeof(*j->rows)) : NULL;
	if (!j || (n && !j->rows)) {
		free(j);
		PQclear(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fs_snap_init(&j->snap, journal_destroy);
	j->recovered = recovered;
	j->n_rows = n;
	for (int i = 0; i < n; i++) {
		struct orch_journal_row *row = &j->rows[i];

		row->op_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		snprintf(row->kind, sizeof(row->kind), "%s", PQgetvalue(r, i, 1));
		snprintf(row->table, sizeof(row->table), "%s", PQgetvalue(r, i, 2));
		snprintf(row->partition, sizeof(row->partition), "%s", PQgetvalue(r, i, 3));
		snprintf(row->split_sql, sizeof(row->split_sql), "%s", PQgetvalue(r, i, 4));
		snprintf(row->lower, sizeof(row->lower), "%s", PQgetvalue(r, i, 5));
		snprintf(row->upper, sizeof(row->upper), "%s", PQgetvalue(r, i, 6));
		if (!orch_journal_step_parse(PQgetvalue(r, i, 7), &row->step))
			row->step = ORCH_STEP_FAILED;
		snprintf(row->message, sizeof(row->message), "%s", PQgetvalue(r, i, 8));
		row->created_ms = strtoull(PQgetvalue(r, i, 9), NULL, 10);
		row->updated_ms = strtoull(PQgetvalue(r, i, 10), NULL, 10);
	}
	PQclear(r);
	return j;
}
