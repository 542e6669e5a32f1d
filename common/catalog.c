/* Lookups over the immutable catalog snapshot (see catalog.h). */
#include "common/catalog.h"

#include <stdlib.h>
#include <string.h>

static const char *const keytype_names[] = {"int", "timestamp", "text", "uuid", "unsupported"};
_Static_assert(sizeof(keytype_names) / sizeof(keytype_names[0]) == FS_KEY_UNSUPPORTED + 1,
               "one name per key type");

const char *fs_keytype_str(enum fs_keytype t)
{
	if ((unsigned)t < sizeof(keytype_names) / sizeof(keytype_names[0]))
		return keytype_names[t];
	return "?";
}

const struct fs_table *fs_catalog_find(const struct fs_catalog *cat, const char *schema,
                                       const char *name)
{
	for (int i = 0; cat && i < cat->n_tables; i++) {
		const struct fs_table *t = &cat->tables[i];

		if (strcmp(t->name, name) == 0 && (!schema || strcmp(t->schema, schema) == 0))
			return t;
	}
	return NULL;
}

const struct fs_table *fs_catalog_by_id(const struct fs_catalog *cat, uint16_t id)
{
	for (int i = 0; cat && i < cat->n_tables; i++) {
		if (cat->tables[i].id == id)
			return &cat->tables[i];
	}
	return NULL;
}

int fs_table_partition_of(const struct fs_table *t, uint64_t k)
{
	int lo = 0, hi = t->n_parts - 1;

	/* parts are sorted by lo and do not overlap; the default partition sorts last */
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		const struct fs_partition *p = &t->parts[mid];

		if (p->is_default || k < p->lo) {
			hi = mid - 1;
		} else if (k >= p->hi && p->hi != UINT64_MAX) {
			lo = mid + 1;
		} else {
			return mid;
		}
	}
	return -1;
}

struct fs_catalog *fs_catalog_create(uint64_t version, int n_tables)
{
	struct fs_catalog *cat = calloc(1, sizeof(*cat));

	if (!cat)
		return NULL;
	cat->tables = n_tables ? calloc((size_t)n_tables, sizeof(*cat->tables)) : NULL;
	if (n_tables && !cat->tables) {
		free(cat);
		return NULL;
	}
	cat->n_tables = n_tables;
	cat->version = version;
	fs_snap_init(&cat->snap, fs_catalog_destroy);
	return cat;
}

void fs_catalog_destroy(struct fs_snap *snap)
{
	struct fs_catalog *cat = (struct fs_catalog *)snap;

	for (int i = 0; i < cat->n_tables; i++)
		free(cat->tables[i].parts);
	free(cat->tables);
	free(cat);
}
