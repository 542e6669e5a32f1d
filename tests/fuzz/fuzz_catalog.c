/*
 * The fuzz targets' catalog (see fuzz_catalog.h). Built once: a catalog is immutable, and the
 * parser only borrows it.
 */
#include "tests/fuzz/fuzz_catalog.h"

#include <stdio.h>
#include <stdlib.h>

const struct fs_catalog *fuzz_catalog(void)
{
	static const struct {
		const char *name, *key, *type;
		int16_t attnum;
		enum fs_keytype keytype;
	} defs[] = {
	        {"events", "id", "bigint", 1, FS_KEY_INT},
	        {"ts_events", "ts", "timestamptz", 2, FS_KEY_TIMESTAMP},
	        {"names", "name", "text", 1, FS_KEY_TEXT},
	};
	static struct fs_catalog *cat;

	if (cat)
		return cat;
	cat = fs_catalog_create(1, 3);
	if (!cat)
		abort();
	for (int i = 0; i < 3; i++) {
		struct fs_table *t = &cat->tables[i];

		t->id = (uint16_t)(i + 1);
		snprintf(t->schema, sizeof(t->schema), "public");
		snprintf(t->name, sizeof(t->name), "%s", defs[i].name);
		snprintf(t->key, sizeof(t->key), "%s", defs[i].key);
		snprintf(t->keytype_sql, sizeof(t->keytype_sql), "%s", defs[i].type);
		t->key_attnum = defs[i].attnum;
		t->keytype = defs[i].keytype;
		t->supported = true;
	}
	return cat;
}
