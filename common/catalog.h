#pragma once
/*
 * The catalog snapshot: which tables foreshard manages, their partition key and their current
 * partition bounds. The orchestrator thread builds it from PostgreSQL's catalogs and publishes
 * it through a snapshot slot (common/snap.h); proxy workers, the forecast thread, the planner
 * and the console read it. A published catalog is immutable.
 */
#include <stdbool.h>
#include <stdint.h>

#include "common/snap.h"

#define FS_NAME_MAX 64    /* NAMEDATALEN */
#define FS_LITERAL_MAX 80 /* longest bound literal we keep, e.g. a timestamptz */

enum fs_keytype {
	FS_KEY_INT = 0,   /* smallint, integer, bigint */
	FS_KEY_TIMESTAMP, /* timestamp, timestamptz, date: microseconds since the Unix epoch */
	FS_KEY_TEXT,      /* text, varchar: first 8 bytes, C collation order */
	FS_KEY_UUID,      /* uuid: first 8 of its 16 bytes, big-endian (uuid order is memcmp) */
	FS_KEY_UNSUPPORTED,
};

const char *fs_keytype_str(enum fs_keytype t);

struct fs_partition {
	char name[FS_NAME_MAX];      /* relation name, in the parent's schema */
	uint64_t lo;                 /* encoded inclusive lower bound; 0 for MINVALUE */
	uint64_t hi;                 /* encoded exclusive upper bound; UINT64_MAX for MAXVALUE */
	char lo_sql[FS_LITERAL_MAX]; /* lower bound as SQL literal, "MINVALUE" when unbounded */
	char hi_sql[FS_LITERAL_MAX]; /* upper bound as SQL literal, "MAXVALUE" when unbounded */
	bool is_default;             /* the DEFAULT partition: no bounds */
	int64_t est_rows;            /* pg_class.reltuples, for the cost of moving it */
};

struct fs_table {
	uint16_t id;                   /* stable for the life of the process */
	char schema[FS_NAME_MAX];      /* namespace of the partitioned parent */
	char name[FS_NAME_MAX];        /* parent relation name */
	char key[FS_NAME_MAX];         /* partition key column */
	int16_t key_attnum;            /* its attribute number */
	enum fs_keytype keytype;       /* how keys of this table are encoded */
	char keytype_sql[FS_NAME_MAX]; /* the column's SQL type, for casts in DDL */
	bool supported;                /* false: observed only, never changed */
	char unsupported_reason[200];  /* why not, in words for the console */
	int n_parts;                   /* number of partitions, sorted by lo */
	struct fs_partition *parts;    /* owned by the catalog */
};

struct fs_catalog {
	struct fs_snap snap;     /* must be first: refcount for publication */
	uint64_t version;        /* bumped on every change of tables or bounds */
	int n_tables;            /* number of managed tables */
	struct fs_table *tables; /* owned; indexed by position, not by id */
};

/* Finds a table by (schema, name); schema NULL matches any. Returns NULL when not managed. */
const struct fs_table *fs_catalog_find(const struct fs_catalog *cat, const char *schema,
                                       const char *name);

/* Finds a table by id. Returns NULL when absent. */
const struct fs_table *fs_catalog_by_id(const struct fs_catalog *cat, uint16_t id);

/* Index of the partition holding encoded key k, or -1 (a gap or only a default partition). */
int fs_table_partition_of(const struct fs_table *t, uint64_t k);

/* Allocates an empty catalog with refcount 1. Returns NULL on allocation failure. */
struct fs_catalog *fs_catalog_create(uint64_t version, int n_tables);

/* Frees a catalog; used as its snapshot destructor. */
void fs_catalog_destroy(struct fs_snap *snap);
