/*
 * Extraction through the public parser API: a corpus of statements with the tables, operations,
 * predicates and key ranges they must yield against a hand-built catalog, run twice so the
 * second pass comes from the template cache; then parameters, prepared statements, the cache,
 * catalog changes and failure paths.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser/keyenc.h"
#include "parser/parser.h"

enum {
	EV = 1,
	TS = 2,
	NM = 3,
	AC = 4,
	UU = 5
}; /* table ids of the test catalog */

static struct fs_catalog *make_catalog(uint64_t version, const char *events_key)
{
	struct {
		const char *schema, *name, *key;
		uint16_t id;
		int16_t attnum;
		enum fs_keytype type;
	} defs[] = {
	        {"public", "events", events_key, EV, 1, FS_KEY_INT},
	        {"public", "ts_events", "ts", TS, 2, FS_KEY_TIMESTAMP},
	        {"public", "names", "name", NM, 1, FS_KEY_TEXT},
	        {"app", "accounts", "acct", AC, 1, FS_KEY_INT},
	        {"public", "uuids", "id", UU, 1, FS_KEY_UUID},
	};
	int n = (int)(sizeof(defs) / sizeof(defs[0]));
	struct fs_catalog *cat = fs_catalog_create(version, n);

	cr_assert(cat);
	for (int i = 0; i < n; i++) {
		struct fs_table *t = &cat->tables[i];

		t->id = defs[i].id;
		snprintf(t->schema, sizeof(t->schema), "%s", defs[i].schema);
		snprintf(t->name, sizeof(t->name), "%s", defs[i].name);
		snprintf(t->key, sizeof(t->key), "%s", defs[i].key);
		t->key_attnum = defs[i].attnum;
		t->keytype = defs[i].type;
		t->supported = true;
	}
	return cat;
}

static struct parser *p;
static struct fs_catalog *cat;

static void setup(void)
{
	p = parser_create(4096);
	cr_assert(p);
	cat = make_catalog(1, "id");
	parser_set_catalog(p, cat);
}

static void teardown(void)
{
	parser_destroy(p);
	fs_catalog_destroy(&cat->snap);
}

static enum fs_keytype type_of(uint16_t table)
{
	return table == TS   ? FS_KEY_TIMESTAMP
	       : table == NM ? FS_KEY_TEXT
	       : table == UU ? FS_KEY_UUID
	                     : FS_KEY_INT;
}

/* Encoded form of a key given as text; NULL means the end of the key space (lo or hi). */
static uint64_t key(uint16_t table, const char *text, uint64_t dflt)
{
	uint64_t k = dflt;

	if (text)
		cr_assert(parser_keyenc_parse(type_of(table), text, strlen(text), &k), "key %s",
		          text);
	return k;
}

/* What one access must look like. */
struct want {
	uint16_t table;
	uint8_t op;
	uint8_t pred;
	const char *lo; /* NULL: lowest key */
	const char *hi; /* NULL: highest key */
};

static void expect_access(const char *sql, const struct parser_stmt *st, int i,
                          const struct want *w)
{
	const struct parser_access *a = &st->access[i];

	cr_assert_eq(a->table_id, w->table, "%s: access %d table %u", sql, i, a->table_id);
	cr_assert_eq(a->op, w->op, "%s: access %d op %u", sql, i, a->op);
	cr_assert_eq(a->pred, w->pred, "%s: access %d pred %u", sql, i, a->pred);
	cr_assert_eq(a->key_lo, key(w->table, w->lo, 0), "%s: access %d key_lo %llx", sql, i,
	             (unsigned long long)a->key_lo);
	cr_assert_eq(a->key_hi, key(w->table, w->hi, UINT64_MAX), "%s: access %d key_hi %llx", sql,
	             i, (unsigned long long)a->key_hi);
}

#define R FS_OP_READ
#define W FS_OP_WRITE
#define D FS_OP_DDL
#define O FS_OP_OTHER
#define NONE FS_PRED_NONE
#define EQ FS_PRED_EQ
#define IN FS_PRED_IN
#define RANGE FS_PRED_RANGE
#define PREFIX FS_PRED_PREFIX

static const struct corpus_case {
	const char *sql;
	uint8_t op;       /* statement operation */
	int n;            /* accesses */
	struct want a[2]; /* the first two */
} corpus[] = {
        {"SELECT * FROM events WHERE id = 42", R, 1, {{EV, R, EQ, "42", "42"}}},
        {"select * from events where id = -7", R, 1, {{EV, R, EQ, "-7", "-7"}}},
        {"SELECT * FROM events WHERE id IN (5, 1, 3)", R, 1, {{EV, R, IN, "1", "5"}}},
        {"SELECT * FROM events WHERE id IN (1)", R, 1, {{EV, R, EQ, "1", "1"}}},
        {"SELECT * FROM events WHERE id = ANY(ARRAY[4, 2, 9])", R, 1, {{EV, R, IN, "2", "9"}}},
        {"SELECT * FROM events WHERE id BETWEEN 10 AND 20", R, 1, {{EV, R, RANGE, "10", "20"}}},
        {"SELECT * FROM events WHERE id BETWEEN SYMMETRIC 20 AND 10",
         R,
         1,
         {{EV, R, RANGE, "10", "20"}}},
        {"SELECT * FROM events WHERE id > 5", R, 1, {{EV, R, RANGE, "6", NULL}}},
        {"SELECT * FROM events WHERE id >= 5", R, 1, {{EV, R, RANGE, "5", NULL}}},
        {"SELECT * FROM events WHERE id < 5", R, 1, {{EV, R, RANGE, NULL, "4"}}},
        {"SELECT * FROM events WHERE id <= 5", R, 1, {{EV, R, RANGE, NULL, "5"}}},
        {"SELECT * FROM events WHERE 5 < id", R, 1, {{EV, R, RANGE, "6", NULL}}},
        {"SELECT * FROM events WHERE 5 >= id", R, 1, {{EV, R, RANGE, NULL, "5"}}},
        {"SELECT * FROM events WHERE id > 10 AND id < 20 AND v = 'x'",
         R,
         1,
         {{EV, R, RANGE, "11", "19"}}},
        {"SELECT * FROM events WHERE id BETWEEN 10 AND 20 AND id > 12",
         R,
         1,
         {{EV, R, RANGE, "13", "20"}}},
        {"SELECT * FROM events WHERE id >= 10 AND id <= 5", R, 1, {{EV, R, RANGE, "10", "10"}}},
        {"SELECT * FROM events WHERE id = 1 OR id = 2", R, 1, {{EV, R, NONE, NULL, NULL}}},
        {"SELECT * FROM events WHERE id = 3 AND (v = 1 OR v = 2)", R, 1, {{EV, R, EQ, "3", "3"}}},
        {"SELECT * FROM events WHERE NOT id = 3", R, 1, {{EV, R, NONE, NULL, NULL}}},
        {"SELECT * FROM events WHERE v = 3", R, 1, {{EV, R, NONE, NULL, NULL}}},
        {"SELECT count(*) FROM events", R, 1, {{EV, R, NONE, NULL, NULL}}},
        {"SELECT * FROM events WHERE id = 99999999999999999999", R, 1, {{EV, R, NONE, NULL, NULL}}},
        {"SELECT * FROM events WHERE id = '12'::bigint", R, 1, {{EV, R, EQ, "12", "12"}}},
        {"SELECT * FROM events WHERE id = -(5)", R, 1, {{EV, R, EQ, "-5", "-5"}}},
        {"SELECT * FROM events WHERE id = -5::int", R, 1, {{EV, R, EQ, "-5", "-5"}}},
        {"SELECT * FROM EVENTS WHERE ID = 1", R, 1, {{EV, R, EQ, "1", "1"}}},
        {"SELECT * FROM events e WHERE e.id = 8", R, 1, {{EV, R, EQ, "8", "8"}}},
        {"SELECT * FROM events e WHERE events.id = 8", R, 1, {{EV, R, NONE, NULL, NULL}}},
        {"SELECT * FROM public.events WHERE public.events.id = 9", R, 1, {{EV, R, EQ, "9", "9"}}},
        {"SELECT * FROM app.accounts WHERE acct = 77", R, 1, {{AC, R, EQ, "77", "77"}}},
        {"SELECT * FROM other.events WHERE id = 1", R, 0, {{0}}},
        {"SELECT * FROM users WHERE id = 1", R, 0, {{0}}},
        {"SELECT * FROM events AS e JOIN names n ON n.name = 'bob' WHERE e.id = 3",
         R,
         2,
         {{EV, R, EQ, "3", "3"}, {NM, R, EQ, "bob", "bob"}}},
        {"SELECT * FROM events e LEFT JOIN names n ON n.name = 'a' AND e.id = 1",
         R,
         2,
         {{EV, R, NONE, NULL, NULL}, {NM, R, EQ, "a", "a"}}},
        {"SELECT * FROM events e JOIN events f ON f.id = e.id WHERE e.id = 5",
         R,
         2,
         {{EV, R, EQ, "5", "5"}, {EV, R, NONE, NULL, NULL}}},
        {"SELECT * FROM events, names WHERE id = 4 AND name >= 'k'",
         R,
         2,
         {{EV, R, EQ, "4", "4"}, {NM, R, RANGE, "k", NULL}}},
        {"SELECT * FROM (SELECT * FROM events WHERE id > 100) s WHERE s.id < 50",
         R,
         1,
         {{EV, R, RANGE, "101", NULL}}},
        {"SELECT * FROM names WHERE name IN (SELECT v FROM events WHERE id = 2)",
         R,
         2,
         {{NM, R, NONE, NULL, NULL}, {EV, R, EQ, "2", "2"}}},
        {"SELECT (SELECT max(v) FROM events WHERE id < 0) AS m",
         R,
         1,
         {{EV, R, RANGE, NULL, "-1"}}},
        {"SELECT * FROM events WHERE id = 5 UNION ALL SELECT * FROM events WHERE id = 7",
         R,
         2,
         {{EV, R, EQ, "5", "5"}, {EV, R, EQ, "7", "7"}}},
        {"WITH events AS (SELECT 1 AS id) SELECT * FROM events WHERE id = 5", R, 0, {{0}}},
        {"WITH x AS (SELECT * FROM events WHERE id = 6) SELECT * FROM x",
         R,
         1,
         {{EV, R, EQ, "6", "6"}}},
        {"WITH d AS (DELETE FROM events WHERE id = 3 RETURNING *) SELECT * FROM d",
         R,
         1,
         {{EV, W, EQ, "3", "3"}}},
        {"SELECT * FROM ts_events WHERE ts >= '2024-01-01' AND ts < '2024-02-01'",
         R,
         1,
         {{TS, R, RANGE, "2024-01-01", "2024-01-31 23:59:59.999999"}}},
        {"SELECT * FROM ts_events WHERE ts = timestamptz '2024-03-10 12:30:00+02'",
         R,
         1,
         {{TS, R, EQ, "2024-03-10 10:30:00", "2024-03-10 10:30:00"}}},
        {"SELECT * FROM ts_events WHERE ts BETWEEN date '2024-01-01' AND '2024-01-02T00:00:00Z'",
         R,
         1,
         {{TS, R, RANGE, "2024-01-01", "2024-01-02"}}},
        {"SELECT * FROM ts_events WHERE ts > '2024-01-01' AND ts > '2024-06-01 00:00'",
         R,
         1,
         {{TS, R, RANGE, "2024-06-01 00:00:00.000001", NULL}}},
        {"SELECT * FROM names WHERE name = 'it''s'", R, 1, {{NM, R, EQ, "it's", "it's"}}},
        {"SELECT * FROM names WHERE name = E'a\\'b'", R, 1, {{NM, R, EQ, "a'b", "a'b"}}},
        {"SELECT * FROM names WHERE name = $$dollar$$", R, 1, {{NM, R, EQ, "dollar", "dollar"}}},
        {"SELECT * FROM names WHERE name = 'a much longer name'",
         R,
         1,
         {{NM, R, EQ, "a much l", "a much l"}}},
        {"SELECT * FROM names WHERE name > 'm'", R, 1, {{NM, R, RANGE, "m", NULL}}},
        {"SELECT * FROM names WHERE name LIKE 'abc%'",
         R,
         1,
         {{NM, R, PREFIX, "abc", "abc\xff\xff\xff\xff\xff"}}},
        {"SELECT * FROM names WHERE name LIKE '%abc'", R, 1, {{NM, R, NONE, NULL, NULL}}},
        /* a uuid's key is its first 8 bytes: any uuid sharing them names the same key */
        {"SELECT * FROM uuids WHERE id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
         R,
         1,
         {{UU, R, EQ, "a0eebc99-9c0b-4ef8-0000-000000000000",
           "a0eebc99-9c0b-4ef8-ffff-ffffffffffff"}}},
        {"SELECT * FROM uuids WHERE id = '{A0EEBC999C0B4EF8BB6D6BB9BD380A11}'::uuid",
         R,
         1,
         {{UU, R, EQ, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}}},
        {"SELECT * FROM uuids WHERE id = uuid 'a0eebc999c0b4ef8bb6d6bb9bd380a11'",
         R,
         1,
         {{UU, R, EQ, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}}},
        /* uuids sharing 8 bytes share a key: an exclusive bound stays inclusive, as for text */
        {"SELECT * FROM uuids WHERE id >= '10000000-0000-0000-0000-000000000000'"
         " AND id < '20000000-0000-0000-0000-000000000000'",
         R,
         1,
         {{UU, R, RANGE, "10000000-0000-0000-0000-000000000000",
           "20000000-0000-0000-0000-000000000000"}}},
        {"SELECT * FROM uuids WHERE id IN ('c0000000-0000-0000-0000-000000000000',"
         " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'b0000000-0000-0000-0000-000000000000')",
         R,
         1,
         {{UU, R, IN, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
           "c0000000-0000-0000-0000-000000000000"}}},
        {"SELECT * FROM uuids WHERE id LIKE 'a0ee%'", R, 1, {{UU, R, NONE, NULL, NULL}}},
        {"SELECT * FROM uuids WHERE id = 'a0eebc99'", R, 1, {{UU, R, NONE, NULL, NULL}}},
        {"INSERT INTO uuids VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1)",
         W,
         1,
         {{UU, W, EQ, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}}},
        {"INSERT INTO events VALUES (5, 'a')", W, 1, {{EV, W, EQ, "5", "5"}}},
        {"INSERT INTO events VALUES (5, 'a'), (2, 'b'), (9, 'c')", W, 1, {{EV, W, IN, "2", "9"}}},
        {"INSERT INTO events (v, id) VALUES ('a', 42), ('b', 40)", W, 1, {{EV, W, IN, "40", "42"}}},
        {"INSERT INTO events (v) VALUES ('a')", W, 1, {{EV, W, NONE, NULL, NULL}}},
        {"INSERT INTO events VALUES (DEFAULT, 'a')", W, 1, {{EV, W, NONE, NULL, NULL}}},
        {"INSERT INTO ts_events VALUES (1, '2024-05-01 00:00:00', 3)",
         W,
         1,
         {{TS, W, EQ, "2024-05-01", "2024-05-01"}}},
        {"INSERT INTO names VALUES ('zed') ON CONFLICT DO NOTHING",
         W,
         1,
         {{NM, W, EQ, "zed", "zed"}}},
        {"INSERT INTO events SELECT * FROM events WHERE id < 0",
         W,
         2,
         {{EV, W, NONE, NULL, NULL}, {EV, R, RANGE, NULL, "-1"}}},
        {"UPDATE events SET v = 1 WHERE id = 9", W, 1, {{EV, W, EQ, "9", "9"}}},
        {"UPDATE events SET id = 5 WHERE id = 3", W, 1, {{EV, W, NONE, NULL, NULL}}},
        {"UPDATE events SET v = 0", W, 1, {{EV, W, NONE, NULL, NULL}}},
        {"UPDATE events e SET v = n.v FROM names n WHERE e.id = 4 AND n.name = 'z'",
         W,
         2,
         {{EV, W, EQ, "4", "4"}, {NM, R, EQ, "z", "z"}}},
        {"DELETE FROM events WHERE id BETWEEN 1 AND 3", W, 1, {{EV, W, RANGE, "1", "3"}}},
        {"DELETE FROM names USING events WHERE names.name < 'm' AND events.id = 1",
         W,
         2,
         {{NM, W, RANGE, NULL, "m"}, {EV, R, EQ, "1", "1"}}},
        {"SELECT 1; SELECT * FROM events WHERE id = 2", R, 1, {{EV, R, EQ, "2", "2"}}},
        {"UPDATE events SET v = 0 WHERE id = 1; DELETE FROM names WHERE name = 'q'",
         W,
         2,
         {{EV, W, EQ, "1", "1"}, {NM, W, EQ, "q", "q"}}},
        {"TRUNCATE events", D, 1, {{EV, D, NONE, NULL, NULL}}},
        {"ALTER TABLE public.events ADD COLUMN x int", D, 1, {{EV, D, NONE, NULL, NULL}}},
        {"DROP TABLE app.accounts", D, 1, {{AC, D, NONE, NULL, NULL}}},
        {"CREATE TABLE t2 (a int)", D, 0, {{0}}},
        {"COPY events FROM STDIN", W, 1, {{EV, W, NONE, NULL, NULL}}},
        {"BEGIN", O, 0, {{0}}},
        {"SET search_path = public", O, 0, {{0}}},
        {"EXPLAIN SELECT * FROM events WHERE id = 1", O, 0, {{0}}},
        {"", O, 0, {{0}}},
};

/* Runs the corpus; returns how many texts were cache hits. */
static uint64_t run_corpus(bool second_pass)
{
	uint64_t hits = 0;

	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		const struct corpus_case *c = &corpus[i];
		struct parser_stmt st;

		parser_query(p, c->sql, strlen(c->sql), &st);
		cr_assert(st.parsed, "%s: not parsed", c->sql);
		cr_assert_eq(st.op, c->op, "%s: op %u", c->sql, st.op);
		cr_assert_eq(st.n_access, c->n, "%s: %d accesses", c->sql, st.n_access);
		cr_assert_neq(st.template_id, 0);
		for (int j = 0; j < c->n && j < 2; j++)
			expect_access(c->sql, &st, j, &c->a[j]);
		/* all but "-(5)", whose value libpg_query folded where the lexer saw none */
		if (second_pass && !strstr(c->sql, "-(5)"))
			cr_assert(st.cache_hit, "%s: not a cache hit", c->sql);
		hits += st.cache_hit;
	}
	return hits;
}

Test(extract, corpus, .init = setup, .fini = teardown)
{
	struct parser_stats s;
	size_t n = sizeof(corpus) / sizeof(corpus[0]);

	uint64_t hits;

	cr_assert_geq(n, 40);
	hits = run_corpus(false);
	/* the same texts again: served from the cache, with the same results */
	cr_assert_eq(run_corpus(true), n - 1);
	parser_get_stats(p, &s);
	cr_assert_eq(s.queries, 2 * n);
	cr_assert_eq(s.cache_hits, hits + n - 1);
	cr_assert_eq(s.parse_errors, 0);
}

Test(extract, cache_hit_with_new_constants, .init = setup, .fini = teardown)
{
	struct parser_stmt a, b;
	const char *q1 = "SELECT * FROM events WHERE id BETWEEN 10 AND 20 LIMIT 5";
	const char *q2 = "select  *  from EVENTS\n where id between 100 and 200 limit 1 -- x";

	parser_query(p, q1, strlen(q1), &a);
	cr_assert_not(a.cache_hit);
	parser_query(p, q2, strlen(q2), &b);
	cr_assert(b.cache_hit);
	cr_assert_eq(b.template_id, a.template_id);
	expect_access(q2, &b, 0, &(struct want){EV, R, RANGE, "100", "200"});

	/* a multi-row INSERT: the key is every third constant */
	q1 = "INSERT INTO events VALUES (1, 'a', 2.5), (2, 'b', 3.5)";
	q2 = "INSERT INTO events VALUES (70, 'x', 0), (3, 'y', 9)";
	parser_query(p, q1, strlen(q1), &a);
	parser_query(p, q2, strlen(q2), &b);
	cr_assert(b.cache_hit);
	expect_access(q2, &b, 0, &(struct want){EV, W, IN, "3", "70"});

	/* negative constants: a shape of their own, cached like any other */
	q1 = "SELECT * FROM events WHERE id IN (-1, -2)";
	q2 = "SELECT * FROM events WHERE id IN (-10, - 20)";
	parser_query(p, q1, strlen(q1), &a);
	parser_query(p, q2, strlen(q2), &b);
	cr_assert(b.cache_hit);
	expect_access(q2, &b, 0, &(struct want){EV, R, IN, "-20", "-10"});

	/* a different shape is a miss */
	q2 = "SELECT * FROM events WHERE id BETWEEN 10 AND 20";
	parser_query(p, q2, strlen(q2), &b);
	cr_assert_not(b.cache_hit);
}

Test(extract, folded_values_are_not_cached, .init = setup, .fini = teardown)
{
	struct parser_stmt st;
	const char *q1 = "SELECT * FROM events WHERE id = - /* c */ 5";
	const char *q2 = "SELECT * FROM events WHERE id = - /* c */ 8";

	/* the lexer keeps "-" and "5" apart; libpg_query folds them: the value is the tree's */
	parser_query(p, q1, strlen(q1), &st);
	expect_access(q1, &st, 0, &(struct want){EV, R, EQ, "-5", "-5"});
	parser_query(p, q2, strlen(q2), &st);
	cr_assert_not(st.cache_hit);
	expect_access(q2, &st, 0, &(struct want){EV, R, EQ, "-8", "-8"});
}

Test(extract, catalog_version_change_invalidates, .init = setup, .fini = teardown)
{
	struct parser_stmt st;
	struct fs_catalog *same = make_catalog(1, "id"), *next = make_catalog(2, "v");
	const char *q = "SELECT * FROM events WHERE id = 5 AND v = 9";

	parser_query(p, q, strlen(q), &st);
	parser_query(p, q, strlen(q), &st);
	cr_assert(st.cache_hit);
	/* the same version again keeps the cache */
	parser_set_catalog(p, same);
	parser_query(p, q, strlen(q), &st);
	cr_assert(st.cache_hit);
	/* a new version re-keys events on v: the cached template must not be used */
	parser_set_catalog(p, next);
	parser_query(p, q, strlen(q), &st);
	cr_assert_not(st.cache_hit);
	expect_access(q, &st, 0, &(struct want){EV, R, EQ, "9", "9"});
	/* no catalog: nothing is managed */
	parser_set_catalog(p, NULL);
	parser_query(p, q, strlen(q), &st);
	cr_assert_not(st.cache_hit);
	cr_assert_eq(st.n_access, 0);
	cr_assert(st.parsed);
	fs_catalog_destroy(&same->snap);
	fs_catalog_destroy(&next->snap);
}

Test(extract, garbage_is_not_parsed, .init = setup, .fini = teardown)
{
	struct parser_stmt st;
	struct parser_stats s;
	const char *q = "SELEC * FROM events WHERE id = 1";

	parser_query(p, q, strlen(q), &st);
	cr_assert_not(st.parsed);
	cr_assert_eq(st.template_id, 0);
	cr_assert_eq(st.n_access, 0);
	parser_query(p, q, strlen(q), &st);
	cr_assert_not(st.parsed);
	cr_assert_not(st.cache_hit); /* failures are not cached: they must not hide valid twins */
	q = "SELECT * FROM events WHERE id = 'unterminated";
	parser_query(p, q, strlen(q), &st);
	cr_assert_not(st.parsed);
	parser_get_stats(p, &s);
	cr_assert_eq(s.parse_errors, 3);
	cr_assert_eq(s.queries, 3);
}

Test(extract, text_need_not_be_terminated, .init = setup, .fini = teardown)
{
	struct parser_stmt st;
	const char *q = "SELECT * FROM events WHERE id = 5; garbage garbage";

	parser_query(p, q, strlen("SELECT * FROM events WHERE id = 5;"), &st);
	cr_assert(st.parsed);
	expect_access(q, &st, 0, &(struct want){EV, R, EQ, "5", "5"});
}

Test(extract, unkeyed_and_more_tables, .init = setup, .fini = teardown)
{
	struct parser_stmt st;
	struct parser_stats s;
	const char *q = "SELECT * FROM events a, events b, names c, ts_events d, app.accounts e "
	                "WHERE a.id = 1";

	parser_query(p, q, strlen(q), &st);
	cr_assert_eq(st.n_access, PARSER_MAX_ACCESS);
	cr_assert(st.more_tables);
	expect_access(q, &st, 0, &(struct want){EV, R, EQ, "1", "1"});
	parser_get_stats(p, &s);
	cr_assert_eq(s.unkeyed, 3);
	/* DDL touches the table but is not counted as an unkeyed read or write */
	q = "TRUNCATE events";
	parser_query(p, q, strlen(q), &st);
	parser_get_stats(p, &s);
	cr_assert_eq(s.unkeyed, 3);
}

Test(extract, huge_insert_past_the_lexer_cap_is_unkeyed, .init = setup, .fini = teardown)
{
	size_t rows = 5000, cap = rows * 16 + 64, len;
	char *q = malloc(cap);
	struct parser_stmt st;

	cr_assert(q);
	len = (size_t)snprintf(q, cap, "INSERT INTO events VALUES ");
	for (size_t i = 0; i < rows; i++)
		len += (size_t)snprintf(q + len, cap - len, "%s(%zu)", i ? "," : "", i);
	parser_query(p, q, len, &st);
	cr_assert(st.parsed);
	expect_access(q, &st, 0, &(struct want){EV, W, NONE, NULL, NULL});
	free(q);
}

/* ---- parameters ---- */

static void bind_text(const struct parser_prepared *prep, int n, const char *const *vals,
                      struct parser_stmt *st)
{
	int32_t lens[8];

	for (int i = 0; i < n; i++)
		lens[i] = vals[i] ? (int32_t)strlen(vals[i]) : -1;
	parser_bind(p, prep, n, vals, lens, NULL, st);
}

Test(extract, params_text, .init = setup, .fini = teardown)
{
	struct parser_prepared prep;
	struct parser_stmt st;
	const char *q = "SELECT * FROM events WHERE id = $1";

	parser_prepare(p, q, strlen(q), &prep);
	cr_assert(prep.parsed);
	cr_assert_neq(prep.template_id, 0);
	cr_assert_eq(prep.catalog_version, 1);
	bind_text(&prep, 1, (const char *[]){"42"}, &st);
	cr_assert(st.parsed);
	cr_assert_eq(st.template_id, prep.template_id);
	expect_access(q, &st, 0, &(struct want){EV, R, EQ, "42", "42"});
	bind_text(&prep, 1, (const char *[]){"-8"}, &st);
	expect_access(q, &st, 0, &(struct want){EV, R, EQ, "-8", "-8"});
	/* NULL, missing and invalid values leave no key predicate */
	bind_text(&prep, 1, (const char *[]){NULL}, &st);
	expect_access(q, &st, 0, &(struct want){EV, R, NONE, NULL, NULL});
	parser_bind(p, &prep, 0, NULL, NULL, NULL, &st);
	expect_access(q, &st, 0, &(struct want){EV, R, NONE, NULL, NULL});
	bind_text(&prep, 1, (const char *[]){"abc"}, &st);
	expect_access(q, &st, 0, &(struct want){EV, R, NONE, NULL, NULL});

	q = "SELECT * FROM events WHERE id >= 10 AND id < $1::bigint";
	parser_prepare(p, q, strlen(q), &prep);
	bind_text(&prep, 1, (const char *[]){"20"}, &st);
	expect_access(q, &st, 0, &(struct want){EV, R, RANGE, "10", "19"});

	q = "INSERT INTO events VALUES ($1, $2), ($3, $4)";
	parser_prepare(p, q, strlen(q), &prep);
	bind_text(&prep, 4, (const char *[]){"7", "a", "3", "b"}, &st);
	expect_access(q, &st, 0, &(struct want){EV, W, IN, "3", "7"});

	q = "SELECT * FROM names WHERE name LIKE $1";
	parser_prepare(p, q, strlen(q), &prep);
	bind_text(&prep, 1, (const char *[]){"ab%"}, &st);
	expect_access(q, &st, 0, &(struct want){NM, R, PREFIX, "ab", "ab\xff\xff\xff\xff\xff\xff"});

	q = "SELECT * FROM ts_events WHERE ts BETWEEN $1 AND $2";
	parser_prepare(p, q, strlen(q), &prep);
	bind_text(&prep, 2, (const char *[]){"2024-01-01", "2024-01-02 10:00:00+00"}, &st);
	expect_access(q, &st, 0, &(struct want){TS, R, RANGE, "2024-01-01", "2024-01-02 10:00:00"});

	q = "SELECT * FROM uuids WHERE id = $1::uuid";
	parser_prepare(p, q, strlen(q), &prep);
	bind_text(&prep, 1, (const char *[]){"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"}, &st);
	expect_access(q, &st, 0,
	              &(struct want){UU, R, EQ, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	                             "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"});
	/* uuid_in refuses surrounding blanks, and so do we */
	bind_text(&prep, 1, (const char *[]){" a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}, &st);
	expect_access(q, &st, 0, &(struct want){UU, R, NONE, NULL, NULL});
}

Test(extract, params_binary, .init = setup, .fini = teardown)
{
	struct parser_prepared prep;
	struct parser_stmt st;
	const char *q = "SELECT * FROM events WHERE id IN ($1, $2, $3)";
	const char i8[8] = {0, 0, 0, 0, 0, 0, 0x01, 0x00};                   /* 256 */
	const char i4[4] = {(char)0xff, (char)0xff, (char)0xff, (char)0xfe}; /* -2 */
	const char i2[2] = {0, 9};                                           /* 9 */
	const char *vals[] = {i8, i4, i2};
	const int32_t lens[] = {8, 4, 2};
	const int16_t fmts[] = {1, 1, 1};
	/* 2024-01-01 00:00:00 UTC: 8766 days after 2000-01-01, as a timestamp and as a date */
	int64_t us = INT64_C(8766) * 86400 * 1000000;
	char ts8[8], d4[4] = {0, 0, 0x22, 0x3e};

	parser_prepare(p, q, strlen(q), &prep);
	parser_bind(p, &prep, 3, vals, lens, fmts, &st);
	expect_access(q, &st, 0, &(struct want){EV, R, IN, "-2", "256"});

	/* a binary value of a length no integer has: dropped */
	parser_bind(p, &prep, 3, vals, (const int32_t[]){8, 3, 2}, fmts, &st);
	expect_access(q, &st, 0, &(struct want){EV, R, NONE, NULL, NULL});

	/*
	 * binary numerics: 12345678 (digits 1234 5678, weight 1), -20000 (digit 2, weight 1: the
	 * trailing zero digit is implied) and 7 written 7.00 (dscale 2)
	 */
	{
		const char n1[12] = {0, 2, 0, 1, 0, 0, 0, 0, 0x04, (char)0xd2, 0x16, 0x2e};
		const char n2[10] = {0, 1, 0, 1, 0x40, 0, 0, 0, 0, 2};
		const char n3[10] = {0, 1, 0, 0, 0, 0, 0, 2, 0, 7};
		const char frac[12] = {0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, (char)0x88}; /* 1.5 */
		const char nan[10] = {0, 1, 0, 0, (char)0xc0, 0, 0, 0, 0, 1};
		const char bad[10] = {0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10}; /* digit 10000 */

		parser_bind(p, &prep, 3, (const char *[]){n1, n2, n3},
		            (const int32_t[]){12, 10, 10}, fmts, &st);
		expect_access(q, &st, 0, &(struct want){EV, R, IN, "-20000", "12345678"});
		for (int i = 0; i < 3; i++) {
			const char *odd[] = {frac, nan, bad};
			int32_t odd_len[] = {12, 10, 10};

			parser_bind(p, &prep, 3, (const char *[]){n3, odd[i], n3},
			            (const int32_t[]){10, odd_len[i], 10}, fmts, &st);
			expect_access(q, &st, 0, &(struct want){EV, R, NONE, NULL, NULL});
		}
	}

	for (int i = 0; i < 8; i++)
		ts8[i] = (char)(us >> (56 - 8 * i));
	q = "SELECT * FROM ts_events WHERE ts >= $1 AND ts <= $2";
	parser_prepare(p, q, strlen(q), &prep);
	parser_bind(p, &prep, 2, (const char *[]){ts8, d4}, (const int32_t[]){8, 4},
	            (const int16_t[]){1, 1}, &st);
	expect_access(q, &st, 0, &(struct want){TS, R, RANGE, "2024-01-01", "2024-01-01"});

	/* a date too far out for microseconds in 64 bits (found by fuzzing): dropped, no overflow */
	q = "SELECT * FROM ts_events WHERE ts = $1";
	parser_prepare(p, q, strlen(q), &prep);
	parser_bind(p, &prep, 1,
	            (const char *[]){(const char[]){0x7f, (char)0xff, (char)0xff, (char)0xfe}},
	            (const int32_t[]){4}, (const int16_t[]){1}, &st);
	expect_access(q, &st, 0, &(struct want){TS, R, NONE, NULL, NULL});

	q = "SELECT * FROM names WHERE name = $1";
	parser_prepare(p, q, strlen(q), &prep);
	parser_bind(p, &prep, 1, (const char *[]){"bin"}, (const int32_t[]){3},
	            (const int16_t[]){1}, &st);
	expect_access(q, &st, 0, &(struct want){NM, R, EQ, "bin", "bin"});

	/* a binary uuid is its 16 bytes; any other length gives no key */
	{
		const char *u = "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11";

		q = "SELECT * FROM uuids WHERE id = $1";
		parser_prepare(p, q, strlen(q), &prep);
		parser_bind(p, &prep, 1, (const char *[]){u}, (const int32_t[]){16},
		            (const int16_t[]){1}, &st);
		expect_access(q, &st, 0,
		              &(struct want){UU, R, EQ, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
		                             "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"});
		parser_bind(p, &prep, 1, (const char *[]){u}, (const int32_t[]){15},
		            (const int16_t[]){1}, &st);
		expect_access(q, &st, 0, &(struct want){UU, R, NONE, NULL, NULL});
	}
}

Test(extract, prepared_constants_are_folded, .init = setup, .fini = teardown)
{
	struct parser_prepared prep;
	struct parser_stmt st;
	struct parser_stats s;
	const char *q = "SELECT * FROM events WHERE id IN (3, 1, 2) AND id >= $1";
	char *copy = strdup(q);

	/* the text is gone by Bind time: the template must not need it */
	parser_prepare(p, copy, strlen(copy), &prep);
	memset(copy, ' ', strlen(copy));
	free(copy);
	bind_text(&prep, 1, (const char *[]){"2"}, &st);
	expect_access(q, &st, 0, &(struct want){EV, R, IN, "2", "3"});
	parser_bind(p, &prep, 0, NULL, NULL, NULL, &st);
	expect_access(q, &st, 0, &(struct want){EV, R, IN, "1", "3"});

	q = "SELECT * FROM names WHERE name LIKE 'xy%'";
	parser_prepare(p, q, strlen(q), &prep);
	parser_bind(p, &prep, 0, NULL, NULL, NULL, &st);
	expect_access(q, &st, 0, &(struct want){NM, R, PREFIX, "xy", "xy\xff\xff\xff\xff\xff\xff"});

	q = "SELEC garbage";
	parser_prepare(p, q, strlen(q), &prep);
	cr_assert_not(prep.parsed);
	cr_assert_eq(prep.template_id, 0);
	parser_bind(p, &prep, 0, NULL, NULL, NULL, &st);
	cr_assert_not(st.parsed);
	cr_assert_eq(st.n_access, 0);

	parser_get_stats(p, &s);
	cr_assert_eq(s.prepares, 3);
	cr_assert_eq(s.binds, 4);
	cr_assert_eq(s.queries, 0);
	cr_assert_eq(s.parse_errors, 1);
}

/* "SELECT 1 + 1 + ... + 1" with n terms, and the key predicate after it. */
static char *long_chain(int n, size_t *len)
{
	char *q = malloc((size_t)n * 4 + 64);

	cr_assert(q);
	*len = (size_t)sprintf(q, "SELECT 1");
	for (int i = 0; i < n; i++)
		*len += (size_t)sprintf(q + *len, " + 1");
	*len += (size_t)sprintf(q + *len, " FROM events WHERE id = 3");
	return q;
}

Test(extract, deep_trees_are_refused_not_crashed_on, .init = setup, .fini = teardown)
{
	struct parser_stmt st;
	struct parser_stats s;
	size_t len;
	char *q;

	/* deep enough that libpg_query's serialization could exhaust a stack: never called */
	q = long_chain(20000, &len);
	parser_query(p, q, len, &st);
	cr_assert_not(st.parsed);
	free(q);
	/* parsed by libpg_query, but too deep to unpack safely */
	q = long_chain(1500, &len);
	parser_query(p, q, len, &st);
	cr_assert_not(st.parsed);
	free(q);
	/* shallow enough: analysed */
	q = long_chain(100, &len);
	parser_query(p, q, len, &st);
	cr_assert(st.parsed);
	expect_access(q, &st, 0, &(struct want){EV, R, EQ, "3", "3"});
	free(q);
	parser_get_stats(p, &s);
	cr_assert_eq(s.parse_errors, 2);
}
