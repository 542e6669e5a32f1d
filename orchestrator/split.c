/*
 * The online SPLIT protocol (see split.h and DESIGN.md): one function per step, each a single
 * transaction that also moves the journal row forward, and the runner that chains them from
 * whatever state the journal holds, so that a fresh operation and one resumed after a crash take
 * the same path. SQL is generated here from quoted identifiers (PQescapeIdentifier) and literals
 * re-quoted with PQescapeLiteral; nothing read from a request is pasted into SQL as it came.
 *
 * DESIGN: correctness under concurrent writes rests on three facts. (1) The capture trigger
 * runs in the writer's transaction, so in any snapshot taken after CAPTURE committed the shadows
 * hold exactly the changes made since, and the trigger's upsert and delete-by-key make it
 * indifferent to whether backfill has copied a row yet. (2) Backfill copies with FOR SHARE, so a
 * row being changed is copied only after its writer commits, in its new version, which the
 * trigger has already written (the copy then does nothing on conflict). (3) Chunks are bounded
 * by primary-key values looked up before the copy, not by LIMIT on the locked rows, so a row
 * whose key a writer moves during the copy cannot make the cursor skip others. VERIFY proves
 * the result in one snapshot before anything visible changes.
 */
#include "orchestrator/split.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/time.h"
#include "orchestrator/bounds.h"
#include "orchestrator/db.h"
#include "orchestrator/fault.h"
#include "orchestrator/journal.h"

#define QN 136          /* a quoted identifier: 63 bytes, each possibly doubled, quotes, NUL */
#define QQ (2 * QN)     /* a schema-qualified one */
#define QL 176          /* a quoted literal of at most FS_LITERAL_MAX bytes, or a typed one */
#define TYPE_MAX 160    /* format_type of a column, e.g. "character varying(20)" */
#define VERIFY_ROUNDS 3 /* verify, repair, re-verify: give up after this many rounds */

static const char *const status_names[] = {"cut over", "cleaned",     "rolled back",
                                           "refused",  "interrupted", "failed"};

const char *orch_split_status_str(enum orch_split_status s)
{
	if ((unsigned)s < sizeof(status_names) / sizeof(status_names[0]))
		return status_names[s];
	return "?";
}

/* A growable SQL text; allocation failure is remembered and reported once at use. */
struct sbuf {
	char *s;    /* NUL-terminated text, owned */
	size_t len; /* bytes used, without the NUL */
	size_t cap; /* bytes allocated */
	bool oom;   /* an append failed: the text is incomplete */
};

static void sb_reset(struct sbuf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->s)
		b->s[0] = '\0';
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	/* va_start initialised ap: clang-analyzer reports a false positive on the next line */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *s;

		while (n >= 0 && b->len + (size_t)n + 1 > cap)
			cap *= 2;
		s = n < 0 ? NULL : realloc(b->s, cap);
		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A column of the partition, quoted. */
struct column {
	char name[QN];       /* quoted identifier */
	char type[TYPE_MAX]; /* format_type, for casts of cursor values */
};

/* How a step ended, for the runner's next move. */
enum step_result {
	STEP_OK = 0, /* committed: go on */
	STEP_RETRY,  /* lock timeout or deadlock: back off and run the step again */
	STEP_ABORT,  /* cannot go on: roll back, the reason is in op->why */
	STEP_LOST,   /* connection lost: leave the operation to recovery */
	STEP_STOP,   /* the thread is stopping: leave the operation to the next start */
	STEP_FAILED, /* the journal says FAILED: an operator must look */
};

/* Everything one run of one operation needs; lives for the duration of a public call. */
struct split_op {
	const struct orch_split_env *env;
	PGconn *c;                   /* env->conn */
	struct orch_journal_entry e; /* the journal row, refreshed by every journal update */
	char why[512];               /* the last error or reason, in words */
	struct sbuf sql;             /* scratch SQL text, reused by every statement */
	char parent[QQ];             /* "schema"."table" */
	char part[QQ];               /* "schema"."partition" being split */
	char lower[QQ];              /* "schema"."P_fsN_a" */
	char upper[QQ];              /* "schema"."P_fsN_b" */
	char old[QQ];                /* "schema"."P_fsoldN" */
	char old_name[QN];           /* "P_fsoldN", for RENAME TO */
	char capture_fn[QQ];         /* foreshard."fs_capture_N" */
	char truncate_fn[QQ];        /* foreshard."fs_truncate_N" */
	char capture_trg[QN];        /* "fs_capture_N" */
	char truncate_trg[QN];       /* "fs_truncate_N" */
	char bound_con[QN];          /* "fs_bound_N" */
	struct orch_bound lo, hi;    /* the partition's bounds */
	struct orch_bound split;     /* the split point */
	char lo_lit[QL], hi_lit[QL]; /* quoted bound values or MINVALUE/MAXVALUE, for FOR VALUES */
	char split_lit[QL];          /* quoted split value, for FOR VALUES */
	/* the following are filled by load_columns and need the partition to exist */
	char key[QN];           /* partition key column, quoted */
	char keytype[TYPE_MAX]; /* its type, for casts of literals */
	char owner_role[QN];    /* the partition's owner when not the current user, or "" */
	int n_cols;             /* columns copied: all but generated ones */
	struct column *cols;    /* owned */
	int n_pk;               /* columns of the primary key (or NOT NULL unique index) */
	struct column *pk;      /* owned, in index order */
};

static void op_cleanup(struct split_op *op)
{
	free(op->sql.s);
	free(op->cols);
	free(op->pk);
}

/* Formats op->why; returns STEP_ABORT so that callers can "return abort_with(...)". */
__attribute__((format(printf, 2, 3))) static enum step_result abort_with(struct split_op *op,
                                                                         const char *fmt, ...)
{
	char why[sizeof(op->why)]; /* callers may pass op->why itself as an argument */
	va_list ap;

	va_start(ap, fmt);
	/* va_start initialised ap: clang-analyzer reports a false positive on the next line */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	memcpy(op->why, why, sizeof(why));
	return STEP_ABORT;
}

/* Maps a failed statement to a step result, ending the open transaction. */
static enum step_result db_fail(struct split_op *op, enum orch_db_status st)
{
	orch_db_rollback(op->c);
	switch (st) {
	case ORCH_DB_OK:
		return STEP_OK;
	case ORCH_DB_RETRY:
		return STEP_RETRY;
	case ORCH_DB_LOST:
		return STEP_LOST;
	case ORCH_DB_ERROR:
		break;
	}
	return STEP_ABORT;
}

/* Runs the SQL in op->sql (several statements allowed when there are no parameters). */
static enum orch_db_status exec_sql(struct split_op *op, PGresult **res, int n_params,
                                    const char *const *params)
{
	if (op->sql.oom) {
		snprintf(op->why, sizeof(op->why), "out of memory building SQL");
		return ORCH_DB_ERROR;
	}
	return orch_db_exec(op->c, res, op->why, sizeof(op->why), op->sql.s, n_params, params);
}

#define TRY(expr)                                                                                  \
	do {                                                                                       \
		enum orch_db_status st_ = (expr);                                                  \
		if (st_ != ORCH_DB_OK)                                                             \
			return db_fail(op, st_);                                                   \
	} while (0)

/* Starts a step's transaction with the lock timeout every DDL on a live table needs. */
static enum orch_db_status begin_step(struct split_op *op)
{
	sb_reset(&op->sql);
	sb_printf(&op->sql, "BEGIN; SET LOCAL lock_timeout = '%" PRIu32 "ms'",
	          op->env->cfg->lock_timeout_ms ? op->env->cfg->lock_timeout_ms : 200);
	return exec_sql(op, NULL, 0, NULL);
}

/*
 * Moves the journal to step inside the open transaction and commits; then the fault point of
 * that name, if any.
 */
static enum step_result commit_step(struct split_op *op, enum orch_step step, const char *cursor,
                                    const char *message, const char *fault)
{
	TRY(orch_journal_set_step(op->c, &op->e, step, cursor, message, op->why, sizeof(op->why)));
	TRY(orch_db_run(op->c, op->why, sizeof(op->why), "COMMIT"));
	fs_log(FS_LOG_INFO, "orchestrator: op %" PRId64 " %s.%s: %s", op->e.op_id, op->e.schema,
	       op->e.part, message);
	if (op->env->progress)
		op->env->progress(op->env->ctx);
	if (fault)
		orch_fault_point(fault);
	return STEP_OK;
}

/* Quotes schema.name into buf (size QQ). */
static bool qualify(PGconn *c, const char *schema, const char *name, char *buf)
{
	char s[QN], n[QN];

	if (!orch_db_ident(c, schema, s, sizeof(s)) || !orch_db_ident(c, name, n, sizeof(n)))
		return false;
	snprintf(buf, (size_t)QQ, "%s.%s", s, n);
	return true;
}

/* Quotes a bound for FOR VALUES: MINVALUE, MAXVALUE or the re-quoted value. */
static bool bound_literal(PGconn *c, const struct orch_bound *b, char *buf)
{
	if (b->kind != ORCH_BOUND_VALUE) {
		snprintf(buf, QL, "%s", b->literal);
		return true;
	}
	return orch_db_literal(c, b->value, buf, QL);
}

/* Fills the names and literals of op from op->e; needs no query. */
static enum step_result load_names(struct split_op *op)
{
	PGconn *c = op->c;
	struct orch_journal_entry *e = &op->e;
	char name[FS_NAME_MAX];
	char err[160];

	if (!orch_bound_parse(e->split_sql, strlen(e->split_sql), &op->split, err, sizeof(err)))
		return abort_with(op, "split point %s is not a literal: %s", e->split_sql, err);
	if (!orch_bound_parse(e->lo_sql, strlen(e->lo_sql), &op->lo, err, sizeof(err)) ||
	    !orch_bound_parse(e->hi_sql, strlen(e->hi_sql), &op->hi, err, sizeof(err)))
		return abort_with(op, "bad bound literal %s or %s: %s", e->lo_sql, e->hi_sql, err);
	if (op->split.kind != ORCH_BOUND_VALUE)
		return abort_with(op, "the split point must be a value, not %s", e->split_sql);
	if (!qualify(c, e->schema, e->table, op->parent) ||
	    !qualify(c, e->schema, e->part, op->part) ||
	    !qualify(c, e->schema, e->lower, op->lower) ||
	    !qualify(c, e->schema, e->upper, op->upper) ||
	    !qualify(c, e->schema, e->old_name, op->old) ||
	    !orch_db_ident(c, e->old_name, op->old_name, sizeof(op->old_name)) ||
	    !bound_literal(c, &op->lo, op->lo_lit) || !bound_literal(c, &op->hi, op->hi_lit) ||
	    !bound_literal(c, &op->split, op->split_lit))
		return abort_with(op, "cannot quote the names or bounds of operation %" PRId64,
		                  e->op_id);
	snprintf(name, sizeof(name), "fs_capture_%" PRId64, e->op_id);
	if (!qualify(c, "foreshard", name, op->capture_fn) ||
	    !orch_db_ident(c, name, op->capture_trg, sizeof(op->capture_trg)))
		return abort_with(op, "cannot quote trigger names");
	snprintf(name, sizeof(name), "fs_truncate_%" PRId64, e->op_id);
	if (!qualify(c, "foreshard", name, op->truncate_fn) ||
	    !orch_db_ident(c, name, op->truncate_trg, sizeof(op->truncate_trg)))
		return abort_with(op, "cannot quote trigger names");
	snprintf(name, sizeof(name), "fs_bound_%" PRId64, e->op_id);
	if (!orch_db_ident(c, name, op->bound_con, sizeof(op->bound_con)))
		return abort_with(op, "cannot quote constraint names");
	return STEP_OK;
}

/* Reads name and type columns of r into a new array of columns. */
static struct column *read_columns(struct split_op *op, PGresult *r, int *n)
{
	struct column *cols = calloc((size_t)PQntuples(r) + 1, sizeof(*cols));

	*n = 0;
	if (!cols)
		return NULL;
	for (int i = 0; i < PQntuples(r); i++) {
		if (!orch_db_ident(op->c, PQgetvalue(r, i, 0), cols[i].name, QN)) {
			free(cols);
			return NULL;
		}
		snprintf(cols[i].type, sizeof(cols[i].type), "%s", PQgetvalue(r, i, 1));
	}
	*n = PQntuples(r);
	return cols;
}

/*
 * Reads the key column and type from the parent, the copied columns and the unique key from the
 * partition, and the partition's owner. Needs the partition to exist (every step before
 * CUT_OVER).
 */
static enum step_result load_columns(struct split_op *op)
{
	const char *parent[] = {op->parent};
	const char *part[] = {op->part};
	PGresult *r;

	sb_reset(&op->sql);
	sb_printf(&op->sql,
	          "SELECT a.attname, format_type(a.atttypid, a.atttypmod)"
	          " FROM pg_partitioned_table pt JOIN pg_attribute a ON a.attrelid = pt.partrelid"
	          "  AND a.attnum = pt.partattrs[0]"
	          " WHERE pt.partrelid = $1::regclass AND pt.partstrat = 'r' AND pt.partnatts = 1");
	TRY(exec_sql(op, &r, 1, parent));
	if (PQntuples(r) != 1) {
		PQclear(r);
		return abort_with(op, "%s is no longer range-partitioned on one column",
		                  op->parent);
	}
	if (!orch_db_ident(op->c, PQgetvalue(r, 0, 0), op->key, sizeof(op->key))) {
		PQclear(r);
		return abort_with(op, "cannot quote the key column");
	}
	snprintf(op->keytype, sizeof(op->keytype), "%s", PQgetvalue(r, 0, 1));
	PQclear(r);

	sb_reset(&op->sql);
	sb_printf(&op->sql, "SELECT a.attname, format_type(a.atttypid, a.atttypmod)"
	                    " FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0"
	                    " AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum");
	TRY(exec_sql(op, &r, 1, part));
	free(op->cols);
	op->cols = read_columns(op, r, &op->n_cols);
	PQclear(r);
	if (!op->cols)
		return abort_with(op, "cannot read the columns of %s", op->part);

	/* the primary key, else a NOT NULL unique index without predicate or expressions */
	sb_reset(&op->sql);
	sb_printf(&op->sql,
	          "SELECT a.attname, format_type(a.atttypid, a.atttypmod)"
	          " FROM (SELECT i.indkey, i.indnkeyatts FROM pg_index i"
	          "   WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indisvalid"
	          "   AND i.indpred IS NULL AND i.indexprs IS NULL AND NOT EXISTS"
	          "    (SELECT 1 FROM pg_attribute n WHERE n.attrelid = i.indrelid"
	          "     AND n.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])"
	          "     AND NOT n.attnotnull)"
	          "   ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1) k"
	          " CROSS JOIN LATERAL generate_series(0, k.indnkeyatts - 1) p"
	          " JOIN pg_attribute a ON a.attrelid = $1::regclass AND a.attnum = k.indkey[p.p]"
	          " ORDER BY p.p");
	TRY(exec_sql(op, &r, 1, part));
	free(op->pk);
	op->pk = read_columns(op, r, &op->n_pk);
	PQclear(r);
	if (!op->pk)
		return abort_with(op, "cannot read the primary key of %s", op->part);
	if (op->n_pk == 0)
		return abort_with(op, "%s has no primary key or NOT NULL unique index", op->part);

	sb_reset(&op->sql);
	sb_printf(&op->sql, "SELECT CASE WHEN c.relowner = r.oid THEN '' ELSE"
	                    " pg_get_userbyid(c.relowner)::text END FROM pg_class c, pg_roles r"
	                    " WHERE c.oid = $1::regclass AND r.rolname = current_user");
	TRY(exec_sql(op, &r, 1, part));
	op->owner_role[0] = '\0';
	if (PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] &&
	    !orch_db_ident(op->c, PQgetvalue(r, 0, 0), op->owner_role, sizeof(op->owner_role))) {
		PQclear(r);
		return abort_with(op, "cannot quote the owner of %s", op->part);
	}
	PQclear(r);
	return STEP_OK;
}

/* Writes the copied columns, each with prefix (e.g. "NEW."), separated by commas. */
static void put_cols(struct split_op *op, const char *prefix)
{
	for (int i = 0; i < op->n_cols; i++)
		sb_printf(&op->sql, "%s%s%s", i ? ", " : "", prefix, op->cols[i].name);
}

/* Writes the key columns, each with prefix, separated by commas. */
static void put_pk(struct split_op *op, const char *prefix)
{
	for (int i = 0; i < op->n_pk; i++)
		sb_printf(&op->sql, "%s%s%s", i ? ", " : "", prefix, op->pk[i].name);
}

/* Writes the cursor in parameter $n (text[] of key values) as a row of typed values. */
static void put_cursor(struct split_op *op, int n)
{
	sb_printf(&op->sql, "(");
	for (int i = 0; i < op->n_pk; i++)
		sb_printf(&op->sql, "%s(($%d::text[])[%d])::%s", i ? ", " : "", n, i + 1,
		          op->pk[i].type);
	sb_printf(&op->sql, ")");
}

/*
 * Writes " AND (pk) > cursor($1) AND (pk) <= cursor($2)" for the ends that are present; the
 * parameters are numbered from 1 in that order.
 */
static void put_range(struct split_op *op, bool has_lo, bool has_hi)
{
	if (has_lo) {
		sb_printf(&op->sql, " AND (");
		put_pk(op, "");
		sb_printf(&op->sql, ") > ");
		put_cursor(op, 1);
	}
	if (has_hi) {
		sb_printf(&op->sql, " AND (");
		put_pk(op, "");
		sb_printf(&op->sql, ") <= ");
		put_cursor(op, has_lo ? 2 : 1);
	}
}

/* Writes the split point as a typed expression, e.g. ('150000')::bigint. */
static void put_split(struct split_op *op)
{
	sb_printf(&op->sql, "(%s)::%s", op->split_lit, op->keytype);
}

/* Writes "CHECK (k IS NOT NULL AND k >= lo AND k < hi)" for one shadow, open ends omitted. */
static void put_bound_check(struct split_op *op, bool is_lower)
{
	sb_printf(&op->sql, "CHECK (%s IS NOT NULL", op->key);
	if (is_lower && op->lo.kind == ORCH_BOUND_VALUE)
		sb_printf(&op->sql, " AND %s >= (%s)::%s", op->key, op->lo_lit, op->keytype);
	if (!is_lower) {
		sb_printf(&op->sql, " AND %s >= ", op->key);
		put_split(op);
	}
	if (is_lower) {
		sb_printf(&op->sql, " AND %s < ", op->key);
		put_split(op);
	}
	if (!is_lower && op->hi.kind == ORCH_BOUND_VALUE)
		sb_printf(&op->sql, " AND %s < (%s)::%s", op->key, op->hi_lit, op->keytype);
	sb_printf(&op->sql, ")");
}

/* SHADOW: the two standalone tables, with the partition's columns, defaults, checks, indexes. */
static enum step_result step_shadow(struct split_op *op)
{
	TRY(begin_step(op));
	sb_reset(&op->sql);
	for (int i = 0; i < 2; i++) {
		const char *shadow = i == 0 ? op->lower : op->upper;

		sb_printf(&op->sql,
		          "CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
		          " INCLUDING INDEXES INCLUDING GENERATED INCLUDING STORAGE"
		          " INCLUDING COMPRESSION);"
		          "ALTER TABLE %s ADD CONSTRAINT %s ",
		          shadow, op->part, shadow, op->bound_con);
		put_bound_check(op, i == 0);
		sb_printf(&op->sql, ";");
		if (op->owner_role[0])
			sb_printf(&op->sql, "ALTER TABLE %s OWNER TO %s;", shadow, op->owner_role);
	}
	TRY(exec_sql(op, NULL, 0, NULL));
	return commit_step(op, ORCH_STEP_SHADOW, NULL, "shadow tables created", "SHADOW");
}

/* Writes "DELETE FROM shadow WHERE pk = OLD.pk" for each shadow, chosen by the old key. */
static void put_trigger_delete(struct split_op *op)
{
	for (int s = 0; s < 2; s++) {
		if (s == 0) {
			sb_printf(&op->sql, "  IF OLD.%s < ", op->key);
			put_split(op);
			sb_printf(&op->sql, " THEN\n");
		} else {
			sb_printf(&op->sql, "  ELSE\n");
		}
		sb_printf(&op->sql, "    DELETE FROM %s WHERE ", s == 0 ? op->lower : op->upper);
		for (int i = 0; i < op->n_pk; i++)
			sb_printf(&op->sql, "%s%s = OLD.%s", i ? " AND " : "", op->pk[i].name,
			          op->pk[i].name);
		sb_printf(&op->sql, ";\n");
	}
	sb_printf(&op->sql, "  END IF;\n");
}

/* Writes the upsert of NEW into the shadow its key belongs to. */
static void put_trigger_upsert(struct split_op *op)
{
	for (int s = 0; s < 2; s++) {
		int set = 0;

		if (s == 0) {
			sb_printf(&op->sql, "  IF NEW.%s < ", op->key);
			put_split(op);
			sb_printf(&op->sql, " THEN\n");
		} else {
			sb_printf(&op->sql, "  ELSE\n");
		}
		sb_printf(&op->sql, "    INSERT INTO %s (", s == 0 ? op->lower : op->upper);
		put_cols(op, "");
		sb_printf(&op->sql, ") VALUES (");
		put_cols(op, "NEW.");
		sb_printf(&op->sql, ") ON CONFLICT (");
		put_pk(op, "");
		sb_printf(&op->sql, ") DO ");
		for (int i = 0; i < op->n_cols; i++) {
			bool in_pk = false;

			for (int k = 0; k < op->n_pk; k++)
				in_pk |= strcmp(op->pk[k].name, op->cols[i].name) == 0;
			if (in_pk)
				continue;
			sb_printf(&op->sql, "%s%s = EXCLUDED.%s", set++ ? ", " : "UPDATE SET ",
			          op->cols[i].name, op->cols[i].name);
		}
		sb_printf(&op->sql, "%s;\n", set ? "" : "NOTHING");
	}
	sb_printf(&op->sql, "  END IF;\n");
}

/*
 * CAPTURE: the row trigger that mirrors every change of the partition into the shadows, and a
 * TRUNCATE trigger that empties them. The functions run as their owner (SECURITY DEFINER) so
 * that clients' roles need no rights on the shadows, with a fixed search_path.
 */
static enum step_result step_capture(struct split_op *op)
{
	char *body, *truncate_body;
	enum orch_db_status st;

	TRY(begin_step(op));
	/* the bodies are built first, then quoted as literals: no dollar-quote to escape from */
	sb_reset(&op->sql);
	sb_printf(&op->sql, "#variable_conflict use_column\nBEGIN\nIF TG_OP <> 'INSERT' THEN\n");
	put_trigger_delete(op);
	sb_printf(&op->sql, "END IF;\nIF TG_OP <> 'DELETE' THEN\n");
	put_trigger_upsert(op);
	sb_printf(&op->sql, "END IF;\nRETURN NULL;\nEND");
	body = op->sql.oom ? NULL : PQescapeLiteral(op->c, op->sql.s, op->sql.len);
	sb_reset(&op->sql);
	sb_printf(&op->sql, "BEGIN TRUNCATE %s, %s; RETURN NULL; END", op->lower, op->upper);
	truncate_body = op->sql.oom ? NULL : PQescapeLiteral(op->c, op->sql.s, op->sql.len);
	sb_reset(&op->sql);
	if (body && truncate_body)
		sb_printf(&op->sql,
		          "CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
		          " SET search_path = pg_catalog, pg_temp AS %s;"
		          "CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
		          " SET search_path = pg_catalog, pg_temp AS %s;"
		          "CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE ON %s"
		          " FOR EACH ROW EXECUTE FUNCTION %s();"
		          "CREATE TRIGGER %s AFTER TRUNCATE ON %s"
		          " FOR EACH STATEMENT EXECUTE FUNCTION %s()",
		          op->capture_fn, body, op->truncate_fn, truncate_body, op->capture_trg,
		          op->part, op->capture_fn, op->truncate_trg, op->part, op->truncate_fn);
	PQfreemem(body);
	PQfreemem(truncate_body);
	if (!body || !truncate_body) {
		orch_db_rollback(op->c);
		return abort_with(op, "cannot build the capture trigger's functions");
	}
	st = exec_sql(op, NULL, 0, NULL);
	if (st != ORCH_DB_OK)
		return db_fail(op, st);
	return commit_step(op, ORCH_STEP_CAPTURE, NULL, "capture trigger installed", "CAPTURE");
}

/*
 * Writes "INSERT INTO shadow (cols) SELECT cols FROM part WHERE key-side AND range FOR SHARE
 * ON CONFLICT DO NOTHING" for one shadow.
 */
static void put_copy(struct split_op *op, bool is_lower, bool has_lo, bool has_hi)
{
	sb_printf(&op->sql, "INSERT INTO %s (", is_lower ? op->lower : op->upper);
	put_cols(op, "");
	sb_printf(&op->sql, ") SELECT ");
	put_cols(op, "");
	sb_printf(&op->sql, " FROM ONLY %s WHERE %s %s ", op->part, op->key, is_lower ? "<" : ">=");
	put_split(op);
	put_range(op, has_lo, has_hi);
	sb_printf(&op->sql, " FOR SHARE ON CONFLICT DO NOTHING");
}

/* Writes the query for the key of the n-th row after the cursor ($1 when has_lo), as text[]. */
static void put_chunk_end(struct split_op *op, bool has_lo, uint32_t n)
{
	sb_printf(&op->sql, "SELECT ARRAY[");
	for (int i = 0; i < op->n_pk; i++)
		sb_printf(&op->sql, "%s%s::text", i ? ", " : "", op->pk[i].name);
	sb_printf(&op->sql, "]::text FROM ONLY %s WHERE true", op->part);
	put_range(op, has_lo, false);
	sb_printf(&op->sql, " ORDER BY ");
	put_pk(op, "");
	sb_printf(&op->sql, " OFFSET %" PRIu32 " LIMIT 1", n - 1);
}

/* Parameters for a range (lo, hi], either possibly NULL (open). Returns how many. */
static int range_params(const char *lo, const char *hi, const char **params)
{
	int n = 0;

	if (lo)
		params[n++] = lo;
	if (hi)
		params[n++] = hi;
	return n;
}

/* Copies the rows with keys in (lo, hi] into both shadows; NULL ends are open. */
static enum orch_db_status copy_range(struct split_op *op, const char *lo, const char *hi)
{
	const char *params[2];
	int n = range_params(lo, hi, params);
	enum orch_db_status st = ORCH_DB_OK;

	for (int s = 0; s < 2 && st == ORCH_DB_OK; s++) {
		sb_reset(&op->sql);
		put_copy(op, s == 0, lo != NULL, hi != NULL);
		st = exec_sql(op, NULL, n, params);
	}
	return st;
}

static uint32_t backoff_ms(int attempt)
{
	uint32_t ms = 50u << (attempt < 6 ? attempt : 6);

	return ms < 2000 ? ms : 2000;
}

static uint32_t retries(const struct split_op *op)
{
	return op->env->cfg->cutover_retries ? op->env->cfg->cutover_retries : 10;
}

/*
 * Backfill chunks wait for row locks that busy writers hold, and nobody waits on the backfill,
 * so it gets many more consecutive attempts than the client-visible cutover.
 */
static uint32_t backfill_retries(const struct split_op *op)
{
	return 10 * retries(op);
}

static uint32_t chunk_rows(const struct split_op *op)
{
	return op->env->cfg->backfill_chunk_rows ? op->env->cfg->backfill_chunk_rows : 5000;
}

/*
 * Finds the end of the chunk after cursor (NULL: from the start) in the current transaction.
 * *end gets a malloc'd text[] literal, or NULL when fewer than a chunk's rows remain.
 */
static enum orch_db_status chunk_end(struct split_op *op, const char *cursor, char **end)
{
	const char *params[] = {cursor};
	PGresult *r;
	enum orch_db_status st;

	*end = NULL;
	sb_reset(&op->sql);
	put_chunk_end(op, cursor != NULL, chunk_rows(op));
	st = exec_sql(op, &r, cursor ? 1 : 0, params);
	if (st != ORCH_DB_OK)
		return st;
	if (PQntuples(r) == 1) {
		*end = strdup(PQgetvalue(r, 0, 0));
		if (!*end) {
			snprintf(op->why, sizeof(op->why), "out of memory");
			st = ORCH_DB_ERROR;
		}
	}
	PQclear(r);
	return st;
}

/* Reads the journal's cursor; *cursor gets a malloc'd text[] literal or NULL. */
static enum orch_db_status read_cursor(struct split_op *op, char **cursor)
{
	char id[24];
	const char *params[] = {id};
	PGresult *r;
	enum orch_db_status st;

	*cursor = NULL;
	snprintf(id, sizeof(id), "%" PRId64, op->e.op_id);
	st = orch_db_exec(op->c, &r, op->why, sizeof(op->why),
	                  "SELECT backfill_cursor::text FROM foreshard.journal WHERE op_id = $1", 1,
	                  params);
	if (st != ORCH_DB_OK)
		return st;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		*cursor = strdup(PQgetvalue(r, 0, 0));
		if (!*cursor) {
			snprintf(op->why, sizeof(op->why), "out of memory");
			st = ORCH_DB_ERROR;
		}
	}
	PQclear(r);
	return st;
}

/*
 * One backfill chunk: from the journal's cursor to the key chunk_rows further, copied into the
 * shadows and the cursor moved, in one transaction. *done is set when this was the last chunk.
 */
static enum step_result backfill_chunk(struct split_op *op, bool *done)
{
	char *cursor = NULL, *end = NULL;
	enum orch_db_status st;
	enum step_result res;
	char msg[96];

	*done = false;
	st = orch_db_run(op->c, op->why, sizeof(op->why), "BEGIN");
	if (st == ORCH_DB_OK)
		st = read_cursor(op, &cursor);
	if (st == ORCH_DB_OK)
		st = chunk_end(op, cursor, &end);
	if (st == ORCH_DB_OK)
		st = copy_range(op, cursor, end);
	if (st != ORCH_DB_OK) {
		free(cursor);
		free(end);
		return db_fail(op, st);
	}
	*done = end == NULL;
	snprintf(msg, sizeof(msg), "%s", *done ? "backfill complete" : "backfill in progress");
	res = commit_step(op, ORCH_STEP_BACKFILL, end, msg,
	                  *done ? "BACKFILL" : (cursor ? NULL : "BACKFILL_CHUNK"));
	free(cursor);
	free(end);
	return res;
}

/*
 * BACKFILL: chunks from the journal's cursor to the end, throttled, stoppable. A chunk that hits
 * a lock timeout or deadlock is retried after a backoff; only consecutive failures count
 * towards the limit, so a long backfill is not failed by a few scattered deadlocks.
 */
static enum step_result step_backfill(struct split_op *op)
{
	uint32_t failures = 0;

	for (;;) {
		bool done;
		enum step_result r = backfill_chunk(op, &done);
		uint32_t pause_ms = op->env->cfg->backfill_sleep_ms;

		if (r == STEP_RETRY) {
			if (++failures >= backfill_retries(op))
				return abort_with(op,
				                  "backfill gave up after %" PRIu32
				                  " lock timeouts or deadlocks (%s)",
				                  failures, op->why);
			pause_ms = backoff_ms((int)failures - 1);
		} else if (r != STEP_OK || done) {
			return r;
		} else {
			failures = 0;
		}
		if (op->env->sleep && !op->env->sleep(op->env->ctx, pause_ms))
			return STEP_STOP;
	}
}

/* A key range (lo, hi] whose source and shadow contents differed; NULL ends are open. */
struct bad_chunk {
	char *lo; /* malloc'd text[] literal or NULL */
	char *hi; /* malloc'd text[] literal or NULL */
};

/* Writes "SELECT md5(ROW(cols)::text) AS m FROM rel WHERE true AND range". */
static void put_hashes(struct split_op *op, const char *rel, bool has_lo, bool has_hi)
{
	sb_printf(&op->sql, "SELECT md5(ROW(");
	put_cols(op, "");
	sb_printf(&op->sql, ")::text) AS m FROM ONLY %s WHERE true", rel);
	put_range(op, has_lo, has_hi);
}

/*
 * Compares the rows with keys in (lo, hi] between the partition and the union of the shadows:
 * count, sum of the first 64 bits of each row's md5 and xor of the next 64. *same gets the
 * verdict.
 */
static enum orch_db_status compare_range(struct split_op *op, const char *lo, const char *hi,
                                         bool *same)
{
	static const char agg[] =
	        "count(*) || ':' || coalesce(sum(('x' || substr(m, 1, 16))::bit(64)::bigint), 0)"
	        " || ':' || coalesce(bit_xor(('x' || substr(m, 17, 16))::bit(64)::bigint), 0)";
	const char *params[2];
	int n = range_params(lo, hi, params);
	PGresult *r;
	enum orch_db_status st;

	sb_reset(&op->sql);
	sb_printf(&op->sql, "SELECT (SELECT %s FROM (", agg);
	put_hashes(op, op->part, lo != NULL, hi != NULL);
	sb_printf(&op->sql, ") s), (SELECT %s FROM (", agg);
	put_hashes(op, op->lower, lo != NULL, hi != NULL);
	sb_printf(&op->sql, " UNION ALL ");
	put_hashes(op, op->upper, lo != NULL, hi != NULL);
	sb_printf(&op->sql, ") d)");
	st = exec_sql(op, &r, n, params);
	if (st != ORCH_DB_OK)
		return st;
	*same = strcmp(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1)) == 0;
	if (!*same)
		fs_log(FS_LOG_WARN,
		       "orchestrator: op %" PRId64 " chunk (%s, %s] differs: source %s, shadows %s",
		       op->e.op_id, lo ? lo : "start", hi ? hi : "end", PQgetvalue(r, 0, 0),
		       PQgetvalue(r, 0, 1));
	PQclear(r);
	return ORCH_DB_OK;
}

static void free_bad(struct bad_chunk *bad, int n)
{
	for (int i = 0; i < n; i++) {
		free(bad[i].lo);
		free(bad[i].hi);
	}
	free(bad);
}

/* Appends (lo, hi] to *bad, taking ownership of both strings. */
static bool add_bad(struct bad_chunk **bad, int *n, char *lo, char *hi)
{
	struct bad_chunk *b = realloc(*bad, (size_t)(*n + 1) * sizeof(**bad));

	if (!b) {
		free(lo);
		free(hi);
		return false;
	}
	*bad = b;
	b[*n].lo = lo;
	b[*n].hi = hi;
	(*n)++;
	return true;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/*
 * Compares every chunk in one REPEATABLE READ snapshot, or only the ranges in *bad when
 * recheck. Replaces *bad with the ranges that differ.
 */
static enum orch_db_status verify_pass(struct split_op *op, struct bad_chunk **bad, int *n_bad,
                                       bool recheck)
{
	struct bad_chunk *found = NULL;
	int n_found = 0;
	char *cursor = NULL;
	enum orch_db_status st;

	st = orch_db_run(op->c, op->why, sizeof(op->why),
	                 "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	for (int i = 0; st == ORCH_DB_OK; i++) {
		char *lo, *hi = NULL;
		bool same;

		if (recheck) {
			if (i == *n_bad)
				break;
			lo = (*bad)[i].lo;
			hi = (*bad)[i].hi;
		} else {
			lo = cursor;
			st = chunk_end(op, cursor, &hi);
			if (st != ORCH_DB_OK)
				break;
		}
		st = compare_range(op, lo, hi, &same);
		if (st == ORCH_DB_OK && !same &&
		    !add_bad(&found, &n_found, dup_or_null(lo), dup_or_null(hi))) {
			snprintf(op->why, sizeof(op->why), "out of memory");
			st = ORCH_DB_ERROR;
		}
		if (!recheck) {
			free(cursor);
			cursor = hi;
			if (!hi)
				break;
		}
	}
	free(cursor);
	if (st == ORCH_DB_OK)
		st = orch_db_run(op->c, op->why, sizeof(op->why), "COMMIT");
	if (st != ORCH_DB_OK) {
		orch_db_rollback(op->c);
		free_bad(found, n_found);
		return st;
	}
	free_bad(*bad, *n_bad);
	*bad = found;
	*n_bad = n_found;
	return ORCH_DB_OK;
}

/*
 * Makes the shadows' rows in (lo, hi] equal to the partition's: source rows locked first (the
 * order writers take them in), shadow rows deleted, rows copied again; one transaction.
 */
static enum orch_db_status repair_range(struct split_op *op, const char *lo, const char *hi)
{
	const char *params[2];
	int n = range_params(lo, hi, params);
	enum orch_db_status st = orch_db_run(op->c, op->why, sizeof(op->why), "BEGIN");

	if (st == ORCH_DB_OK) {
		sb_reset(&op->sql);
		sb_printf(&op->sql, "SELECT count(*) FROM (SELECT 1 FROM ONLY %s WHERE true",
		          op->part);
		put_range(op, lo != NULL, hi != NULL);
		sb_printf(&op->sql, " FOR SHARE) s");
		st = exec_sql(op, NULL, n, params);
	}
	for (int s = 0; s < 2 && st == ORCH_DB_OK; s++) {
		sb_reset(&op->sql);
		sb_printf(&op->sql, "DELETE FROM ONLY %s WHERE true",
		          s == 0 ? op->lower : op->upper);
		put_range(op, lo != NULL, hi != NULL);
		st = exec_sql(op, NULL, n, params);
	}
	if (st == ORCH_DB_OK)
		st = copy_range(op, lo, hi);
	if (st == ORCH_DB_OK)
		st = orch_db_run(op->c, op->why, sizeof(op->why), "COMMIT");
	if (st != ORCH_DB_OK)
		orch_db_rollback(op->c);
	return st;
}

/* VERIFY: compare, repair what differs, compare those ranges again; then journal VERIFY. */
static enum step_result step_verify(struct split_op *op)
{
	struct bad_chunk *bad = NULL;
	int n_bad = 0, repaired = 0;
	enum orch_db_status st = ORCH_DB_OK;
	char msg[128];

	for (int round = 0; round < VERIFY_ROUNDS && st == ORCH_DB_OK; round++) {
		st = verify_pass(op, &bad, &n_bad, round > 0);
		if (st != ORCH_DB_OK || n_bad == 0)
			break;
		fs_log(FS_LOG_WARN, "orchestrator: op %" PRId64 ": %d chunk(s) differ, repairing",
		       op->e.op_id, n_bad);
		for (int i = 0; i < n_bad && st == ORCH_DB_OK; i++)
			st = repair_range(op, bad[i].lo, bad[i].hi);
		repaired += n_bad;
	}
	if (st != ORCH_DB_OK) {
		free_bad(bad, n_bad);
		return db_fail(op, st);
	}
	if (n_bad > 0) {
		free_bad(bad, n_bad);
		return abort_with(
		        op, "verification failed: %d chunk(s) still differ after %d repair rounds",
		        n_bad, VERIFY_ROUNDS);
	}
	if (repaired)
		snprintf(msg, sizeof(msg), "verified after repairing %d chunk(s)", repaired);
	else
		snprintf(msg, sizeof(msg), "verified: shadows equal the partition");
	TRY(orch_db_run(op->c, op->why, sizeof(op->why), "BEGIN"));
	return commit_step(op, ORCH_STEP_VERIFY, NULL, msg, "VERIFY");
}

/*
 * Checks, with the parent locked, that the partition is still attached with the bounds the
 * journal recorded: a concurrent manual change must abort the operation, not be overwritten.
 */
static enum step_result check_attached(struct split_op *op)
{
	const char *params[] = {op->parent, op->part};
	struct orch_bounds b;
	char err[160];
	PGresult *r;

	sb_reset(&op->sql);
	sb_printf(&op->sql, "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c"
	                    " JOIN pg_inherits i ON i.inhrelid = c.oid"
	                    " WHERE i.inhparent = $1::regclass AND c.oid = to_regclass($2)");
	TRY(exec_sql(op, &r, 2, params));
	if (PQntuples(r) != 1) {
		PQclear(r);
		orch_db_rollback(op->c);
		return abort_with(op, "%s is no longer a partition of %s", op->part, op->parent);
	}
	if (!orch_bounds_parse(PQgetvalue(r, 0, 0), &b, err, sizeof(err)) ||
	    strcmp(b.lo.literal, op->e.lo_sql) != 0 || strcmp(b.hi.literal, op->e.hi_sql) != 0) {
		abort_with(op, "the bounds of %s changed to %s", op->part, PQgetvalue(r, 0, 0));
		PQclear(r);
		orch_db_rollback(op->c);
		return STEP_ABORT;
	}
	PQclear(r);
	return STEP_OK;
}

/* The swap itself, in one transaction; the caller pauses clients around it. */
static enum step_result cutover_once(struct split_op *op)
{
	enum step_result res;

	TRY(begin_step(op));
	sb_reset(&op->sql);
	/* parent first: clients lock the parent before its partitions */
	sb_printf(&op->sql, "LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE", op->parent);
	TRY(exec_sql(op, NULL, 0, NULL));
	res = check_attached(op);
	if (res != STEP_OK)
		return res;
	sb_reset(&op->sql);
	sb_printf(&op->sql,
	          "ALTER TABLE %s DETACH PARTITION %s;"
	          "SET LOCAL client_min_messages = debug1;"
	          "ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s);"
	          "ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s);"
	          "SET LOCAL client_min_messages = warning;"
	          "DROP TRIGGER %s ON %s; DROP TRIGGER %s ON %s;"
	          "DROP FUNCTION %s(); DROP FUNCTION %s();"
	          "ALTER TABLE %s DROP CONSTRAINT %s; ALTER TABLE %s DROP CONSTRAINT %s;"
	          "ALTER TABLE %s RENAME TO %s",
	          op->parent, op->part, op->parent, op->lower, op->lo_lit, op->split_lit,
	          op->parent, op->upper, op->split_lit, op->hi_lit, op->capture_trg, op->part,
	          op->truncate_trg, op->part, op->capture_fn, op->truncate_fn, op->lower,
	          op->bound_con, op->upper, op->bound_con, op->part, op->old_name);
	TRY(exec_sql(op, NULL, 0, NULL));
	/* its fault point follows the resume, in step_cutover */
	return commit_step(op, ORCH_STEP_CUT_OVER, NULL, "cut over: new partitions attached", NULL);
}

/*
 * CUTOVER: pause the table's clients, swap, resume; on a lock timeout resume, back off and try
 * again, up to cutover_retries times. A pause that does not drain aborts the operation.
 */
static enum step_result step_cutover(struct split_op *op, uint16_t table_id, uint64_t *at_ms)
{
	const struct orch_pause_ops *pause = op->env->pause;

	for (uint32_t attempt = 0;; attempt++) {
		enum step_result res;

		if (pause && pause->pause &&
		    !pause->pause(pause->ctx, table_id, op->env->cfg->pause_timeout_ms))
			return abort_with(op,
			                  "clients did not drain within %" PRIu32 " ms at cutover",
			                  op->env->cfg->pause_timeout_ms);
		res = cutover_once(op);
		if (res == STEP_OK)
			*at_ms = fs_wall_us() / 1000;
		if (pause && pause->resume)
			pause->resume(pause->ctx, table_id);
		if (res == STEP_OK)
			orch_fault_point("CUT_OVER");
		if (res != STEP_RETRY)
			return res;
		if (attempt + 1 >= retries(op))
			return abort_with(op,
			                  "cutover gave up after %" PRIu32 " lock timeouts (%s)",
			                  attempt + 1, op->why);
		fs_log(FS_LOG_INFO, "orchestrator: op %" PRId64 " cutover attempt %" PRIu32 ": %s",
		       op->e.op_id, attempt + 1, op->why);
		if (op->env->sleep && !op->env->sleep(op->env->ctx, backoff_ms((int)attempt)))
			return STEP_STOP;
	}
}

/* Runs a lock-taking step, retrying lock timeouts and deadlocks with backoff. */
static enum step_result with_retries(struct split_op *op,
                                     enum step_result (*step)(struct split_op *))
{
	for (uint32_t attempt = 0;; attempt++) {
		enum step_result res = step(op);

		if (res != STEP_RETRY)
			return res;
		if (attempt + 1 >= retries(op))
			return abort_with(op, "gave up after %" PRIu32 " lock timeouts (%s)",
			                  attempt + 1, op->why);
		if (op->env->sleep && !op->env->sleep(op->env->ctx, backoff_ms((int)attempt)))
			return STEP_STOP;
	}
}

static enum step_result load_op(struct split_op *op, const struct orch_split_env *env,
                                int64_t op_id)
{
	memset(op, 0, sizeof(*op));
	op->env = env;
	op->c = env->conn;
	TRY(orch_journal_get(op->c, op_id, &op->e, op->why, sizeof(op->why)));
	return load_names(op);
}

static enum orch_split_status status_of(enum step_result r)
{
	switch (r) {
	case STEP_OK:
		return ORCH_SPLIT_CUT_OVER;
	case STEP_LOST:
	case STEP_STOP:
	case STEP_RETRY:
		return ORCH_SPLIT_INTERRUPTED;
	case STEP_FAILED:
	case STEP_ABORT:
		break;
	}
	return ORCH_SPLIT_FAILED;
}

/* Marks the operation FAILED with op->why; used when even a rollback cannot proceed. */
static enum orch_split_status mark_failed(struct split_op *op, char *msg, size_t msglen)
{
	char err[256];

	snprintf(msg, msglen, "op %" PRId64 " failed: %s", op->e.op_id, op->why);
	orch_db_rollback(op->c);
	if (orch_db_run(op->c, err, sizeof(err), "BEGIN") == ORCH_DB_OK &&
	    orch_journal_set_step(op->c, &op->e, ORCH_STEP_FAILED, NULL, op->why, err,
	                          sizeof(err)) == ORCH_DB_OK &&
	    orch_db_run(op->c, err, sizeof(err), "COMMIT") == ORCH_DB_OK) {
		if (op->env->progress)
			op->env->progress(op->env->ctx);
		return ORCH_SPLIT_FAILED;
	}
	orch_db_rollback(op->c);
	return ORCH_SPLIT_INTERRUPTED;
}

/* The rollback's one transaction: drop what the steps created; never an attached table. */
static enum step_result rollback_once(struct split_op *op)
{
	const char *params[] = {op->lower, op->upper};
	PGresult *r;
	bool attached;

	TRY(begin_step(op));
	sb_reset(&op->sql);
	sb_printf(&op->sql, "SELECT count(*) FROM pg_class WHERE relispartition"
	                    " AND oid IN (to_regclass($1), to_regclass($2))");
	TRY(exec_sql(op, &r, 2, params));
	attached = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
	PQclear(r);
	if (attached) {
		orch_db_rollback(op->c);
		snprintf(op->why, sizeof(op->why),
		         "a shadow table of op %" PRId64
		         " is attached as a partition: not dropping it",
		         op->e.op_id);
		return STEP_FAILED;
	}
	sb_reset(&op->sql);
	sb_printf(&op->sql,
	          "DROP TRIGGER IF EXISTS %s ON %s; DROP TRIGGER IF EXISTS %s ON %s;"
	          "DROP FUNCTION IF EXISTS %s(); DROP FUNCTION IF EXISTS %s();"
	          "DROP TABLE IF EXISTS %s, %s",
	          op->capture_trg, op->part, op->truncate_trg, op->part, op->capture_fn,
	          op->truncate_fn, op->lower, op->upper);
	TRY(exec_sql(op, NULL, 0, NULL));
	return commit_step(op, ORCH_STEP_ROLLED_BACK, NULL, op->e.message, "ROLLED_BACK");
}

/* Rolls back the loaded operation op with reason; see orch_split_rollback. */
static enum orch_split_status rollback_op(struct split_op *op, const char *reason, char *msg,
                                          size_t msglen)
{
	enum step_result res;
	enum orch_db_status st;
	char note[256];

	if (op->e.step >= ORCH_STEP_CUT_OVER) {
		snprintf(msg, msglen, "op %" PRId64 " is already %s: it cannot be rolled back",
		         op->e.op_id, orch_step_str(op->e.step));
		return op->e.step == ORCH_STEP_ROLLED_BACK ? ORCH_SPLIT_ROLLED_BACK
		                                           : ORCH_SPLIT_FAILED;
	}
	snprintf(note, sizeof(note), "rolled back: %s", reason);
	st = orch_journal_note(op->c, &op->e, op->e.abort_requested ? op->e.message : note, true,
	                       op->why, sizeof(op->why));
	if (st != ORCH_DB_OK) {
		snprintf(msg, msglen, "op %" PRId64 " rollback pending: %s", op->e.op_id, op->why);
		return st == ORCH_DB_ERROR ? ORCH_SPLIT_FAILED : ORCH_SPLIT_INTERRUPTED;
	}
	res = with_retries(op, rollback_once);
	if (res == STEP_OK) {
		snprintf(msg, msglen, "op %" PRId64 " %s", op->e.op_id, op->e.message);
		return ORCH_SPLIT_ROLLED_BACK;
	}
	if (res == STEP_FAILED || res == STEP_ABORT)
		return mark_failed(op, msg, msglen);
	snprintf(msg, msglen, "op %" PRId64 " rollback pending: %s", op->e.op_id, op->why);
	return ORCH_SPLIT_INTERRUPTED;
}

enum orch_split_status orch_split_rollback(const struct orch_split_env *env, int64_t op_id,
                                           const char *reason, char *msg, size_t msglen)
{
	struct split_op op;
	enum step_result r = load_op(&op, env, op_id);
	enum orch_split_status st;

	if (r == STEP_OK) {
		st = rollback_op(&op, reason, msg, msglen);
	} else {
		snprintf(msg, msglen, "op %" PRId64 " rollback pending: %s", op_id, op.why);
		st = r == STEP_ABORT && op.e.op_id ? mark_failed(&op, msg, msglen)
		                                   : ORCH_SPLIT_INTERRUPTED;
	}
	op_cleanup(&op);
	return st;
}

/* Advances op from its journal state to CUT_OVER; see orch_split_run. */
static enum step_result advance(struct split_op *op, uint16_t table_id, uint64_t *at_ms)
{
	bool verified = false;
	enum step_result r = load_columns(op);

	while (r == STEP_OK && op->e.step < ORCH_STEP_CUT_OVER) {
		if (op->env->sleep && !op->env->sleep(op->env->ctx, 0))
			return STEP_STOP;
		switch (op->e.step) {
		case ORCH_STEP_PLANNED:
			r = with_retries(op, step_shadow);
			break;
		case ORCH_STEP_SHADOW:
			r = with_retries(op, step_capture);
			break;
		case ORCH_STEP_CAPTURE:
		case ORCH_STEP_BACKFILL:
			r = with_retries(op, step_backfill);
			if (r == STEP_OK)
				r = with_retries(op, step_verify);
			verified = r == STEP_OK;
			break;
		case ORCH_STEP_VERIFY:
			/* resumed at VERIFY: what was verified before the crash is re-proven */
			if (!verified)
				r = with_retries(op, step_verify);
			if (r == STEP_OK)
				r = step_cutover(op, table_id, at_ms);
			break;
		default:
			return abort_with(op, "unexpected state %s", orch_step_str(op->e.step));
		}
	}
	return r;
}

enum orch_split_status orch_split_run(const struct orch_split_env *env, int64_t op_id,
                                      uint16_t table_id, uint64_t *cutover_ms, char *msg,
                                      size_t msglen)
{
	struct split_op op;
	enum step_result r = load_op(&op, env, op_id);
	enum orch_split_status st;

	*cutover_ms = 0;
	if (r == STEP_OK && orch_step_is_final(op.e.step)) {
		snprintf(msg, msglen, "op %" PRId64 " already %s", op_id, orch_step_str(op.e.step));
		st = op.e.step == ORCH_STEP_CLEANED       ? ORCH_SPLIT_CLEANED
		     : op.e.step == ORCH_STEP_ROLLED_BACK ? ORCH_SPLIT_ROLLED_BACK
		                                          : ORCH_SPLIT_FAILED;
	} else if (r == STEP_OK && op.e.step == ORCH_STEP_CUT_OVER) {
		snprintf(msg, msglen, "op %" PRId64 " cut over; cleanup pending", op_id);
		st = ORCH_SPLIT_CUT_OVER;
	} else if (r == STEP_OK && op.e.abort_requested) {
		st = rollback_op(&op, op.e.message, msg, msglen);
	} else if (r == STEP_OK) {
		r = advance(&op, table_id, cutover_ms);
		if (r == STEP_OK) {
			snprintf(msg, msglen, "op %" PRId64 ": split %s.%s at %s into %s and %s",
			         op_id, op.e.schema, op.e.part, op.e.split_sql, op.e.lower,
			         op.e.upper);
			st = ORCH_SPLIT_CUT_OVER;
			/* fresh statistics for the planner and for queries on the new partitions */
			sb_reset(&op.sql);
			sb_printf(&op.sql, "ANALYZE %s, %s", op.lower, op.upper);
			if (exec_sql(&op, NULL, 0, NULL) != ORCH_DB_OK)
				fs_log(FS_LOG_WARN, "orchestrator: op %" PRId64 ": %s", op_id,
				       op.why);
		} else if (r == STEP_ABORT) {
			st = rollback_op(&op, op.why, msg, msglen);
		} else if (r == STEP_FAILED) {
			st = mark_failed(&op, msg, msglen);
		} else {
			st = status_of(r);
			snprintf(msg, msglen, "op %" PRId64 " interrupted at %s: %s", op_id,
			         orch_step_str(op.e.step),
			         r == STEP_STOP ? "orchestrator stopping" : op.why);
		}
	} else if (r == STEP_ABORT && op.e.op_id) {
		/* the journal row is there but cannot be followed (bad names or literals) */
		st = rollback_op(&op, op.why, msg, msglen);
	} else {
		st = status_of(r);
		snprintf(msg, msglen, "op %" PRId64 " %s: %s", op_id,
		         st == ORCH_SPLIT_INTERRUPTED ? "interrupted" : "cannot be read", op.why);
	}
	op_cleanup(&op);
	return st;
}

/* The cleanup's one transaction: drop the detached old partition unless someone reattached it. */
static enum step_result cleanup_once(struct split_op *op)
{
	const char *params[] = {op->old};
	PGresult *r;
	bool attached;

	TRY(begin_step(op));
	sb_reset(&op->sql);
	sb_printf(&op->sql, "SELECT count(*) FROM pg_class WHERE relispartition"
	                    " AND oid = to_regclass($1)");
	TRY(exec_sql(op, &r, 1, params));
	attached = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
	PQclear(r);
	if (attached) {
		orch_db_rollback(op->c);
		snprintf(op->why, sizeof(op->why), "%s was attached again: not dropping it",
		         op->old);
		return STEP_FAILED;
	}
	sb_reset(&op->sql);
	sb_printf(&op->sql, "DROP TABLE IF EXISTS %s", op->old);
	TRY(exec_sql(op, NULL, 0, NULL));
	return commit_step(op, ORCH_STEP_CLEANED, NULL, "cleaned: old partition dropped",
	                   "CLEANED");
}

enum orch_split_status orch_split_cleanup(const struct orch_split_env *env, int64_t op_id,
                                          char *msg, size_t msglen)
{
	struct split_op op;
	enum step_result r = load_op(&op, env, op_id);
	enum orch_split_status st;

	if (r == STEP_OK && op.e.step == ORCH_STEP_CLEANED) {
		st = ORCH_SPLIT_CLEANED;
		snprintf(msg, msglen, "op %" PRId64 " already cleaned", op_id);
	} else if (r == STEP_OK && op.e.step != ORCH_STEP_CUT_OVER) {
		st = ORCH_SPLIT_FAILED;
		snprintf(msg, msglen, "op %" PRId64 " is %s, not CUT_OVER: nothing to clean", op_id,
		         orch_step_str(op.e.step));
	} else {
		if (r == STEP_OK)
			r = with_retries(&op, cleanup_once);
		if (r == STEP_OK) {
			st = ORCH_SPLIT_CLEANED;
			snprintf(msg, msglen, "op %" PRId64 " cleaned", op_id);
		} else if (r == STEP_FAILED) {
			st = mark_failed(&op, msg, msglen);
		} else {
			st = ORCH_SPLIT_INTERRUPTED;
			snprintf(msg, msglen, "op %" PRId64 " cleanup pending: %s", op_id, op.why);
		}
	}
	op_cleanup(&op);
	return st;
}

/* Checks lo < split < hi in the key's type on the server, which owns the type's order. */
static enum step_result check_split_inside(struct split_op *op)
{
	PGresult *r;
	bool inside;

	sb_reset(&op->sql);
	sb_printf(&op->sql, "SELECT true");
	if (op->lo.kind == ORCH_BOUND_VALUE) {
		sb_printf(&op->sql, " AND ");
		put_split(op);
		sb_printf(&op->sql, " > (%s)::%s", op->lo_lit, op->keytype);
	}
	if (op->hi.kind == ORCH_BOUND_VALUE) {
		sb_printf(&op->sql, " AND ");
		put_split(op);
		sb_printf(&op->sql, " < (%s)::%s", op->hi_lit, op->keytype);
	}
	TRY(exec_sql(op, &r, 0, NULL));
	inside = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!inside)
		return abort_with(op, "split point %s is not strictly inside [%s, %s) of %s",
		                  op->e.split_sql, op->e.lo_sql, op->e.hi_sql, op->e.part);
	return STEP_OK;
}

bool orch_split_plan(const struct orch_split_env *env, const struct fs_table *t, const char *part,
                     const char *split_sql, int64_t *op_id, enum orch_split_status *st, char *msg,
                     size_t msglen)
{
	struct split_op op;
	const struct fs_partition *p = NULL;
	enum step_result r;

	*op_id = 0;
	*st = ORCH_SPLIT_REFUSED;
	if (!t->supported) {
		snprintf(msg, msglen, "%s.%s cannot be split: %s", t->schema, t->name,
		         t->unsupported_reason);
		return false;
	}
	for (int i = 0; i < t->n_parts; i++) {
		if (strcmp(t->parts[i].name, part) == 0)
			p = &t->parts[i];
	}
	if (!p || p->is_default) {
		snprintf(msg, msglen, "%s.%s has no range partition named %s", t->schema, t->name,
		         part);
		return false;
	}
	memset(&op, 0, sizeof(op));
	op.env = env;
	op.c = env->conn;
	snprintf(op.e.kind, sizeof(op.e.kind), "SPLIT");
	snprintf(op.e.schema, sizeof(op.e.schema), "%s", t->schema);
	snprintf(op.e.table, sizeof(op.e.table), "%s", t->name);
	snprintf(op.e.part, sizeof(op.e.part), "%s", p->name);
	snprintf(op.e.split_sql, sizeof(op.e.split_sql), "%s", split_sql);
	snprintf(op.e.lo_sql, sizeof(op.e.lo_sql), "%s", p->lo_sql);
	snprintf(op.e.hi_sql, sizeof(op.e.hi_sql), "%s", p->hi_sql);
	snprintf(op.e.owner, sizeof(op.e.owner), "%s", env->owner);
	/* names are placeholders until the journal assigns the op id; only the checks use them */
	snprintf(op.e.lower, sizeof(op.e.lower), "%s", p->name);
	snprintf(op.e.upper, sizeof(op.e.upper), "%s", p->name);
	snprintf(op.e.old_name, sizeof(op.e.old_name), "%s", p->name);
	r = load_names(&op);
	if (r == STEP_OK)
		r = load_columns(&op);
	if (r == STEP_OK)
		r = check_split_inside(&op);
	if (r == STEP_OK) {
		enum orch_db_status dst = orch_journal_insert(op.c, &op.e, op.why, sizeof(op.why));

		if (dst != ORCH_DB_OK)
			r = db_fail(&op, dst);
	}
	if (r == STEP_OK) {
		*op_id = op.e.op_id;
		fs_log(FS_LOG_INFO, "orchestrator: op %" PRId64 " planned: split %s.%s at %s",
		       op.e.op_id, t->schema, p->name, split_sql);
		if (env->progress)
			env->progress(env->ctx);
		op_cleanup(&op);
		orch_fault_point("PLANNED");
		return true;
	}
	*st = r == STEP_LOST ? ORCH_SPLIT_INTERRUPTED : ORCH_SPLIT_REFUSED;
	snprintf(msg, msglen, "split of %s.%s refused: %s", t->schema, p->name, op.why);
	op_cleanup(&op);
	return false;
}
