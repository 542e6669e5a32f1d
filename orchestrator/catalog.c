/*
 * The catalog reader: builds the catalog snapshot from pg_partitioned_table, pg_class,
 * pg_namespace, pg_inherits, pg_attribute, pg_index and pg_constraint, deciding per table
 * whether the online SPLIT protocol can run on it and saying why not when it cannot. Bounds
 * come from pg_get_expr(relpartbound), parsed by bounds.c and encoded by parser/keyenc.h.
 */
#include "orchestrator/catalog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/event.h"
#include "orchestrator/bounds.h"
#include "orchestrator/db.h"
#include "parser/keyenc.h"

static const char tables_sql[] =
        "SELECT c.oid::text, n.nspname, c.relname, pt.partnatts, pt.partattrs[0],"
        "  coalesce(a.attname, ''), coalesce(format_type(a.atttypid, a.atttypmod), ''),"
        "  coalesce(ty.typname, ''),"
        "  (SELECT string_agg(format('%s on %s', f.conname, f.conrelid::regclass), ', '"
        "                     ORDER BY f.conname)"
        "     FROM pg_constraint f WHERE f.contype = 'f' AND f.conparentid = 0"
        "      AND (f.confrelid = c.oid OR f.confrelid IN"
        "           (SELECT inhrelid FROM pg_inherits WHERE inhparent = c.oid))),"
        "  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique"
        "          AND i.indpred IS NULL AND i.indexprs IS NULL AND (i.indisprimary OR NOT EXISTS"
        "            (SELECT 1 FROM pg_attribute ka WHERE ka.attrelid = c.oid AND NOT ka.attnotnull"
        "             AND ka.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))))"
        " FROM pg_partitioned_table pt"
        " JOIN pg_class c ON c.oid = pt.partrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = pt.partattrs[0]"
        " LEFT JOIN pg_type ty ON ty.oid = a.atttypid"
        " WHERE pt.partstrat = 'r' AND NOT c.relispartition AND c.relpersistence <> 't'"
        "   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'foreshard')"
        " ORDER BY n.nspname, c.relname";

/* columns of tables_sql */
enum {
	T_OID,
	T_SCHEMA,
	T_NAME,
	T_NATTS,
	T_ATTNUM,
	T_KEY,
	T_TYPE_SQL,
	T_TYPNAME,
	T_FKS,
	T_HAS_KEY,
};

static const char parts_sql[] =
        "SELECT c.relname, c.relkind, n.nspname, coalesce(pg_get_expr(c.relpartbound, c.oid), ''),"
        "  c.reltuples::bigint, i.inhdetachpending"
        " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE i.inhparent = $1::oid ORDER BY c.relname";

/* columns of parts_sql */
enum {
	P_NAME,
	P_KIND,
	P_SCHEMA,
	P_BOUND,
	P_TUPLES,
	P_DETACHING,
};

bool orch_catalog_filter_match(const char *filter, const char *schema, const char *name)
{
	const char *p = filter;

	if (!filter || !*filter)
		return true;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *dot;
		size_t slen;

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		dot = memchr(p, '.', len);
		if (!dot) {
			if (len == strlen(name) && strncmp(p, name, len) == 0)
				return true;
		} else {
			slen = (size_t)(dot - p);
			if (slen == strlen(schema) && strncmp(p, schema, slen) == 0 &&
			    len - slen - 1 == strlen(name) &&
			    strncmp(dot + 1, name, len - slen - 1) == 0)
				return true;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

static enum fs_keytype keytype_of(const char *typname)
{
	static const struct {
		const char *name;
		enum fs_keytype type;
	} map[] = {
	        {"int2", FS_KEY_INT},
	        {"int4", FS_KEY_INT},
	        {"int8", FS_KEY_INT},
	        {"date", FS_KEY_TIMESTAMP},
	        {"timestamp", FS_KEY_TIMESTAMP},
	        {"timestamptz", FS_KEY_TIMESTAMP},
	        {"text", FS_KEY_TEXT},
	        {"varchar", FS_KEY_TEXT},
	        {"uuid", FS_KEY_UUID},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(map[i].name, typname) == 0)
			return map[i].type;
	}
	return FS_KEY_UNSUPPORTED;
}

/* Marks t unsupported with reason, keeping the first reason found. */
__attribute__((format(printf, 2, 3))) static void refuse(struct fs_table *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->supported)
		return;
	t->supported = false;
	va_start(ap, fmt);
	/* va_start initialised ap: clang-analyzer reports a false positive on the next line */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	vsnprintf(t->unsupported_reason, sizeof(t->unsupported_reason), fmt, ap);
	va_end(ap);
}

/* Encodes one bound end; open ends map to the ends of the encoded space. */
static bool encode_bound(const struct fs_table *t, const struct orch_bound *b, uint64_t *out)
{
	if (b->kind == ORCH_BOUND_MINVALUE) {
		*out = 0;
		return true;
	}
	if (b->kind == ORCH_BOUND_MAXVALUE) {
		*out = UINT64_MAX;
		return true;
	}
	return parser_keyenc_parse(t->keytype, b->value, strlen(b->value), out);
}

/* Fills one partition from a parts_sql row; refuses the table for what the protocol cannot do. */
static void read_partition(struct fs_table *t, PGresult *r, int row, struct fs_partition *p)
{
	const char *kind = PQgetvalue(r, row, P_KIND);
	struct orch_bounds b;
	char why[160];

	snprintf(p->name, sizeof(p->name), "%s", PQgetvalue(r, row, P_NAME));
	p->est_rows = strtoll(PQgetvalue(r, row, P_TUPLES), NULL, 10);
	p->hi = UINT64_MAX;
	if (strcmp(PQgetvalue(r, row, P_SCHEMA), t->schema) != 0)
		refuse(t,
		       "partition %s is in schema %s: move it into schema %s to let foreshard split it",
		       p->name, PQgetvalue(r, row, P_SCHEMA), t->schema);
	if (kind[0] == 'p')
		refuse(t,
		       "partition %s is itself partitioned; foreshard splits only tables whose partitions are plain tables",
		       p->name);
	if (kind[0] == 'f')
		refuse(t,
		       "partition %s is a foreign table; foreshard splits only tables whose partitions are local tables",
		       p->name);
	if (PQgetvalue(r, row, P_DETACHING)[0] == 't')
		refuse(t,
		       "partition %s is being detached concurrently: finish or cancel that first",
		       p->name);
	if (!orch_bounds_parse(PQgetvalue(r, row, P_BOUND), &b, why, sizeof(why))) {
		refuse(t, "cannot read the bound of partition %s (%s)", p->name, why);
		return;
	}
	if (b.is_default) {
		p->is_default = true;
		refuse(t,
		       "has a DEFAULT partition (%s); foreshard does not split such tables yet: move its rows into range partitions and drop it",
		       p->name);
		return;
	}
	snprintf(p->lo_sql, sizeof(p->lo_sql), "%s", b.lo.literal);
	snprintf(p->hi_sql, sizeof(p->hi_sql), "%s", b.hi.literal);
	if (t->keytype == FS_KEY_UNSUPPORTED)
		return;
	if (!encode_bound(t, &b.lo, &p->lo) || !encode_bound(t, &b.hi, &p->hi))
		refuse(t, "cannot encode the bounds %s and %s of partition %s as %s keys",
		       p->lo_sql, p->hi_sql, p->name, fs_keytype_str(t->keytype));
}

static int partition_order(const void *a, const void *b)
{
	const struct fs_partition *x = a, *y = b;

	if (x->is_default != y->is_default)
		return x->is_default ? 1 : -1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Reads t's partitions (parent oid given as text). Returns false with err on a database error. */
static bool load_partitions(PGconn *c, struct fs_table *t, const char *oid, char *err,
                            size_t errlen)
{
	const char *params[] = {oid};
	PGresult *r;
	int n;

	if (orch_db_exec(c, &r, err, errlen, parts_sql, 1, params) != ORCH_DB_OK)
		return false;
	n = PQntuples(r);
	t->parts = n ? calloc((size_t)n, sizeof(*t->parts)) : NULL;
	if (n && !t->parts) {
		PQclear(r);
		snprintf(err, errlen, "out of memory");
		return false;
	}
	t->n_parts = n;
	for (int i = 0; i < n; i++)
		read_partition(t, r, i, &t->parts[i]);
	PQclear(r);
	if (n)
		qsort(t->parts, (size_t)n, sizeof(*t->parts), partition_order);
	return true;
}

/* Fills t from row of tables_sql and decides on everything but the partitions. */
static void read_table(struct fs_table *t, PGresult *r, int row)
{
	const char *fks = PQgetvalue(r, row, T_FKS);

	snprintf(t->schema, sizeof(t->schema), "%s", PQgetvalue(r, row, T_SCHEMA));
	snprintf(t->name, sizeof(t->name), "%s", PQgetvalue(r, row, T_NAME));
	snprintf(t->key, sizeof(t->key), "%s", PQgetvalue(r, row, T_KEY));
	snprintf(t->keytype_sql, sizeof(t->keytype_sql), "%s", PQgetvalue(r, row, T_TYPE_SQL));
	t->key_attnum = (int16_t)atoi(PQgetvalue(r, row, T_ATTNUM));
	t->keytype = keytype_of(PQgetvalue(r, row, T_TYPNAME));
	t->supported = true;
	if (atoi(PQgetvalue(r, row, T_NATTS)) != 1) {
		t->keytype = FS_KEY_UNSUPPORTED;
		refuse(t,
		       "partitioned on several columns; foreshard splits only tables range-partitioned on one column");
	} else if (t->key_attnum == 0) {
		t->keytype = FS_KEY_UNSUPPORTED;
		refuse(t,
		       "partitioned on an expression; foreshard splits only tables range-partitioned on a plain column");
	} else if (t->keytype == FS_KEY_UNSUPPORTED) {
		refuse(t,
		       "partition key %s has type %s; foreshard splits only keys of type smallint, integer, bigint, date, timestamp, timestamptz, text, varchar or uuid",
		       t->key, t->keytype_sql);
	}
	if (!PQgetisnull(r, row, T_FKS))
		refuse(t,
		       "referenced by foreign key %.80s; PostgreSQL cannot detach partitions of a referenced table: drop that foreign key to let foreshard split it",
		       fks);
	if (PQgetvalue(r, row, T_HAS_KEY)[0] != 't')
		refuse(t,
		       "has no primary key; add one (it includes the partition key) so that foreshard can copy rows safely");
}

static bool partition_equal(const struct fs_partition *a, const struct fs_partition *b)
{
	return strcmp(a->name, b->name) == 0 && a->lo == b->lo && a->hi == b->hi &&
	       strcmp(a->lo_sql, b->lo_sql) == 0 && strcmp(a->hi_sql, b->hi_sql) == 0 &&
	       a->is_default == b->is_default && a->est_rows == b->est_rows;
}

static bool table_equal(const struct fs_table *a, const struct fs_table *b)
{
	if (strcmp(a->schema, b->schema) != 0 || strcmp(a->name, b->name) != 0 ||
	    strcmp(a->key, b->key) != 0 || a->key_attnum != b->key_attnum ||
	    a->keytype != b->keytype || strcmp(a->keytype_sql, b->keytype_sql) != 0 ||
	    a->supported != b->supported ||
	    strcmp(a->unsupported_reason, b->unsupported_reason) != 0 || a->n_parts != b->n_parts)
		return false;
	for (int i = 0; i < a->n_parts; i++) {
		if (!partition_equal(&a->parts[i], &b->parts[i]))
			return false;
	}
	return true;
}

void orch_catalog_settle(struct fs_catalog *cat, const struct fs_catalog *prev)
{
	uint32_t next = 1;
	bool same = prev && prev->n_tables == cat->n_tables;

	for (int i = 0; prev && i < prev->n_tables; i++) {
		if (prev->tables[i].id >= next)
			next = prev->tables[i].id + 1u;
	}
	for (int i = 0; i < cat->n_tables; i++) {
		struct fs_table *t = &cat->tables[i];
		const struct fs_table *old =
		        prev ? fs_catalog_find(prev, t->schema, t->name) : NULL;

		if (old) {
			t->id = old->id;
			continue;
		}
		/* ids wrap only after 65535 distinct tables; skip the "no table" marker */
		if (next >= FS_TABLE_NONE)
			next = 1;
		while (fs_catalog_by_id(prev, (uint16_t)next) ||
		       fs_catalog_by_id(cat, (uint16_t)next))
			next++;
		t->id = (uint16_t)next++;
	}
	for (int i = 0; same && i < cat->n_tables; i++)
		same = cat->tables[i].id == prev->tables[i].id &&
		       table_equal(&cat->tables[i], &prev->tables[i]);
	cat->version = !prev ? 1 : same ? prev->version : prev->version + 1;
}

struct fs_catalog *orch_catalog_load(PGconn *c, const char *tables_filter,
                                     const struct fs_catalog *prev, char *err, size_t errlen)
{
	struct fs_catalog *cat;
	PGresult *r;
	int n = 0, k = 0;

	if (orch_db_exec(c, &r, err, errlen, tables_sql, 0, NULL) != ORCH_DB_OK)
		return NULL;
	for (int i = 0; i < PQntuples(r); i++)
		n += orch_catalog_filter_match(tables_filter, PQgetvalue(r, i, T_SCHEMA),
		                               PQgetvalue(r, i, T_NAME));
	cat = fs_catalog_create(0, n);
	if (!cat) {
		PQclear(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		struct fs_table *t = &cat->tables[k];

		if (!orch_catalog_filter_match(tables_filter, PQgetvalue(r, i, T_SCHEMA),
		                               PQgetvalue(r, i, T_NAME)))
			continue;
		k++;
		read_table(t, r, i);
		if (!load_partitions(c, t, PQgetvalue(r, i, T_OID), err, errlen)) {
			PQclear(r);
			fs_catalog_destroy(&cat->snap);
			return NULL;
		}
	}
	PQclear(r);
	orch_catalog_settle(cat, prev);
	return cat;
}
