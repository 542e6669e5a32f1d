#pragma once
/*
 * Reading the catalog snapshot (common/catalog.h) from PostgreSQL's system catalogs: which
 * range-partitioned tables exist, their key and partition bounds, and whether foreshard can
 * change them online. Orchestrator thread only.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/catalog.h"

/*
 * Reads every range-partitioned table whose schema.name passes tables_filter, with its key
 * column, key type and partitions sorted by lower bound (a default partition last). A table
 * foreshard cannot split (several key columns, an expression key, an unsupported key type, an
 * inbound foreign key, no primary key or NOT NULL unique index, a default, sub-partitioned,
 * foreign or foreign-schema partition, or a bound it cannot read) is included with supported
 * false and a reason that tells the user what to do. Table ids and the version are settled
 * against prev (may be NULL) with orch_catalog_settle. Returns a new catalog with one reference,
 * owned by the caller, or NULL with err on a database error.
 */
struct fs_catalog *orch_catalog_load(PGconn *c, const char *tables_filter,
                                     const struct fs_catalog *prev, char *err, size_t errlen);

/*
 * Makes cat's table ids stable: a table present in prev (same schema and name) keeps its id;
 * new tables get ids above every id in prev, never FS_TABLE_NONE. Sets cat->version to prev's
 * when nothing differs (tables, keys, support, bounds, row estimates), to prev's + 1 when
 * anything does, and to 1 without prev. Tables in both must be sorted by schema, name.
 */
void orch_catalog_settle(struct fs_catalog *cat, const struct fs_catalog *prev);

/*
 * True when schema.name is listed in filter, a comma-separated list of schema.table entries
 * (blanks around entries ignored; an entry without a dot names a table in any schema). An empty
 * or NULL filter matches every table.
 */
bool orch_catalog_filter_match(const char *filter, const char *schema, const char *name);
