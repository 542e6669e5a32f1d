/* The catalog's table filter, stable table ids and version bumps across reloads. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/event.h"
#include "orchestrator/catalog.h"

Test(catalog, filter)
{
	cr_assert(orch_catalog_filter_match("", "public", "t"));
	cr_assert(orch_catalog_filter_match(NULL, "public", "t"));
	cr_assert(orch_catalog_filter_match("public.t", "public", "t"));
	cr_assert(orch_catalog_filter_match("app.x, public.t ", "public", "t"));
	cr_assert(orch_catalog_filter_match("t", "other", "t"), "a bare name matches any schema");
	cr_assert_not(orch_catalog_filter_match("public.t", "app", "t"));
	cr_assert_not(orch_catalog_filter_match("public.tt", "public", "t"));
	cr_assert_not(orch_catalog_filter_match("public.t", "public", "tt"));
	cr_assert_not(orch_catalog_filter_match("pub.t,public.x", "public", "t"));
}

/* A catalog of tables named by "schema.name" strings, each with one partition [0, hi). */
static struct fs_catalog *make(int n, const char *const *names, uint64_t hi)
{
	struct fs_catalog *cat = fs_catalog_create(0, n);

	cr_assert_not_null(cat);
	for (int i = 0; i < n; i++) {
		struct fs_table *t = &cat->tables[i];
		const char *dot = strchr(names[i], '.');

		snprintf(t->schema, sizeof(t->schema), "%.*s", (int)(dot - names[i]), names[i]);
		snprintf(t->name, sizeof(t->name), "%s", dot + 1);
		t->supported = true;
		t->n_parts = 1;
		t->parts = calloc(1, sizeof(*t->parts));
		snprintf(t->parts[0].name, sizeof(t->parts[0].name), "%.60s_p0", t->name);
		t->parts[0].hi = hi;
	}
	return cat;
}

Test(catalog, ids_stay_stable_and_version_moves_only_on_change)
{
	const char *const two[] = {"a.x", "b.y"};
	const char *const three[] = {"a.w", "a.x", "b.y"};
	struct fs_catalog *c1 = make(2, two, 100), *c2, *c3, *c4;

	orch_catalog_settle(c1, NULL);
	cr_assert_eq(c1->version, 1);
	cr_assert_neq(c1->tables[0].id, c1->tables[1].id);
	cr_assert_neq(c1->tables[0].id, FS_TABLE_NONE);

	c2 = make(2, two, 100);
	orch_catalog_settle(c2, c1);
	cr_assert_eq(c2->version, 1, "nothing changed: same version");
	cr_assert_eq(c2->tables[0].id, c1->tables[0].id);
	cr_assert_eq(c2->tables[1].id, c1->tables[1].id);

	c3 = make(2, two, 200);
	orch_catalog_settle(c3, c2);
	cr_assert_eq(c3->version, 2, "a bound changed: version bumped");

	c4 = make(3, three, 200);
	orch_catalog_settle(c4, c3);
	cr_assert_eq(c4->version, 3);
	cr_assert_eq(c4->tables[1].id, c3->tables[0].id, "a.x keeps its id");
	cr_assert_eq(c4->tables[2].id, c3->tables[1].id, "b.y keeps its id");
	cr_assert_gt(c4->tables[0].id, c3->tables[0].id, "a new table gets a new id");
	cr_assert_gt(c4->tables[0].id, c3->tables[1].id);

	fs_catalog_destroy(&c1->snap);
	fs_catalog_destroy(&c2->snap);
	fs_catalog_destroy(&c3->snap);
	fs_catalog_destroy(&c4->snap);
}

Test(catalog, support_change_bumps_version)
{
	const char *const one[] = {"a.x"};
	struct fs_catalog *c1 = make(1, one, 100), *c2 = make(1, one, 100);

	orch_catalog_settle(c1, NULL);
	c2->tables[0].supported = false;
	snprintf(c2->tables[0].unsupported_reason, sizeof(c2->tables[0].unsupported_reason), "no");
	orch_catalog_settle(c2, c1);
	cr_assert_eq(c2->version, 2);
	fs_catalog_destroy(&c1->snap);
	fs_catalog_destroy(&c2->snap);
}
