/* Templates: run compression, item limits, evaluation rules, folding, and the cache. */
#include <criterion/criterion.h>
#include <string.h>

#include "parser/keyenc.h"
#include "parser/template.h"

static const struct fs_table events = {.id = 1, .key = "id", .keytype = FS_KEY_INT};
static const struct fs_table names = {.id = 3, .key = "name", .keytype = FS_KEY_TEXT};

static struct parser_const consts[64];
static struct parser_lexer lx;

static void lex(const char *sql)
{
	parser_lexer_init(&lx, consts, 64);
	parser_lexer_run(&lx, sql, strlen(sql));
}

static void new_template(struct parser_template *t, const char *sql)
{
	lex(sql);
	parser_template_init(t, &lx);
	t->flags |= PARSER_TMPL_PARSED;
}

Test(template, fits_a_prepared_statement)
{
	cr_assert_leq(sizeof(struct parser_template), sizeof(((struct parser_prepared *)0)->tmpl));
}

Test(template, slots_compress_into_runs)
{
	struct parser_template t;
	struct parser_item_builder b;
	int a;

	new_template(&t, "x");
	a = parser_template_add_access(&t, &events, FS_OP_WRITE);
	cr_assert_eq(a, 0);
	parser_template_item_begin(&b, &t, a, PARSER_ITEM_IN, PARSER_SIDE_LO | PARSER_SIDE_HI,
	                           false);
	for (uint32_t i = 0; i < 100; i++)
		parser_template_item_slot(&b, PARSER_SRC_CONST, 2 + 3 * i);
	parser_template_item_slot(&b, PARSER_SRC_PARAM, 1);
	cr_assert(parser_template_item_commit(&b));
	cr_assert_eq(t.access[0].n_runs, 2);
	cr_assert_eq(t.access[0].runs[0].first, 2);
	cr_assert_eq(t.access[0].runs[0].stride, 3);
	cr_assert_eq(t.access[0].runs[0].count, 100);
	cr_assert_eq(t.access[0].runs[1].src, PARSER_SRC_PARAM);
}

Test(template, irregular_slots_beyond_the_run_budget_fail)
{
	struct parser_template t;
	struct parser_item_builder b;

	new_template(&t, "x");
	parser_template_add_access(&t, &events, FS_OP_READ);
	parser_template_item_begin(&b, &t, 0, PARSER_ITEM_IN, PARSER_SIDE_LO | PARSER_SIDE_HI,
	                           false);
	/* decreasing ordinals never extend a run */
	for (uint32_t i = 0; i <= PARSER_TMPL_RUNS; i++)
		parser_template_item_slot(&b, PARSER_SRC_CONST, 100 - i);
	cr_assert_not(parser_template_item_commit(&b));
	cr_assert_eq(t.access[0].n_items, 0);
	cr_assert_eq(t.access[0].n_runs, 0);
}

Test(template, access_and_item_limits)
{
	struct parser_template t;
	struct parser_item_builder b;

	new_template(&t, "x");
	for (int i = 0; i < PARSER_MAX_ACCESS; i++)
		cr_assert_eq(parser_template_add_access(&t, &events, FS_OP_READ), i);
	cr_assert_eq(parser_template_add_access(&t, &events, FS_OP_READ), -1);
	cr_assert(t.flags & PARSER_TMPL_MORE_TABLES);
	for (int i = 0; i < PARSER_TMPL_ITEMS; i++) {
		parser_template_item_begin(&b, &t, 0, PARSER_ITEM_RANGE, PARSER_SIDE_LO, false);
		parser_template_item_slot(&b, PARSER_SRC_PARAM, (uint32_t)i + 1);
		cr_assert(parser_template_item_commit(&b));
	}
	parser_template_item_begin(&b, &t, 0, PARSER_ITEM_RANGE, PARSER_SIDE_LO, false);
	parser_template_item_slot(&b, PARSER_SRC_PARAM, 9);
	cr_assert_not(parser_template_item_commit(&b));
	/* an item with no value, or on no access, commits nothing */
	parser_template_item_begin(&b, &t, 1, PARSER_ITEM_EQ, PARSER_SIDE_LO, false);
	cr_assert_not(parser_template_item_commit(&b));
	parser_template_item_begin(&b, &t, -1, PARSER_ITEM_EQ, PARSER_SIDE_LO, false);
	parser_template_item_slot(&b, PARSER_SRC_PARAM, 1);
	cr_assert_not(parser_template_item_commit(&b));
}

Test(template, eval_combines_items_and_drops_bad_ones)
{
	const char *sql = "k > 5 and k <= 'x' and k in (9, 7, 8)";
	struct parser_template t;
	struct parser_item_builder b;
	struct parser_stmt st;
	struct parser_values v;

	new_template(&t, sql);
	v = (struct parser_values){.sql = sql, .lx = &lx};
	parser_template_add_access(&t, &events, FS_OP_READ);
	parser_template_item_begin(&b, &t, 0, PARSER_ITEM_RANGE, PARSER_SIDE_LO, true);
	parser_template_item_slot(&b, PARSER_SRC_CONST, 0);
	cr_assert(parser_template_item_commit(&b));
	/* 'x' is no integer: this item is dropped at evaluation */
	parser_template_item_begin(&b, &t, 0, PARSER_ITEM_RANGE, PARSER_SIDE_HI, false);
	parser_template_item_slot(&b, PARSER_SRC_CONST, 1);
	cr_assert(parser_template_item_commit(&b));
	parser_template_item_begin(&b, &t, 0, PARSER_ITEM_IN, PARSER_SIDE_LO | PARSER_SIDE_HI,
	                           false);
	for (uint32_t i = 2; i <= 4; i++)
		parser_template_item_slot(&b, PARSER_SRC_CONST, i);
	cr_assert(parser_template_item_commit(&b));

	cr_assert_eq(parser_template_eval(&t, &v, &st), 0);
	cr_assert(st.parsed);
	cr_assert_eq(st.n_access, 1);
	cr_assert_eq(st.access[0].pred, FS_PRED_IN);
	cr_assert_eq(st.access[0].key_lo, parser_keyenc_int(7));
	cr_assert_eq(st.access[0].key_hi, parser_keyenc_int(9));

	/* without the text, no constant evaluates: the whole key space, counted unkeyed */
	v = (struct parser_values){0};
	cr_assert_eq(parser_template_eval(&t, &v, &st), 1);
	cr_assert_eq(st.access[0].pred, FS_PRED_NONE);
	cr_assert_eq(st.access[0].key_lo, 0);
	cr_assert_eq(st.access[0].key_hi, UINT64_MAX);
}

Test(template, text_exclusive_bounds_stay_inclusive)
{
	const char *sql = "name > 'abcdefghij' and name < 'b'";
	struct parser_template t;
	struct parser_item_builder b;
	struct parser_stmt st;
	struct parser_values v = {.sql = sql};

	new_template(&t, sql);
	v.lx = &lx;
	parser_template_add_access(&t, &names, FS_OP_READ);
	parser_template_item_begin(&b, &t, 0, PARSER_ITEM_RANGE, PARSER_SIDE_LO, true);
	parser_template_item_slot(&b, PARSER_SRC_CONST, 0);
	cr_assert(parser_template_item_commit(&b));
	parser_template_item_begin(&b, &t, 0, PARSER_ITEM_RANGE, PARSER_SIDE_HI, true);
	parser_template_item_slot(&b, PARSER_SRC_CONST, 1);
	cr_assert(parser_template_item_commit(&b));
	parser_template_eval(&t, &v, &st);
	/* 'abcdefghz' > 'abcdefghij' shares its 8-byte prefix: lo must not move past it */
	cr_assert_eq(st.access[0].key_lo, parser_keyenc_text("abcdefgh", 8));
	cr_assert_eq(st.access[0].key_hi, parser_keyenc_text("b", 1));
	cr_assert_eq(st.access[0].pred, FS_PRED_RANGE);
}

Test(template, fold_consts_keeps_params)
{
	const char *sql = "k in (4, 2) and k < $1";
	struct parser_template t;
	struct parser_item_builder b;
	struct parser_stmt st;
	struct parser_values v = {.sql = sql};
	const char *vals[] = {"3"};
	const int32_t lens[] = {1};

	new_template(&t, sql);
	v.lx = &lx;
	parser_template_add_access(&t, &events, FS_OP_READ);
	parser_template_item_begin(&b, &t, 0, PARSER_ITEM_IN, PARSER_SIDE_LO | PARSER_SIDE_HI,
	                           false);
	parser_template_item_slot(&b, PARSER_SRC_CONST, 0);
	parser_template_item_slot(&b, PARSER_SRC_CONST, 1);
	cr_assert(parser_template_item_commit(&b));
	parser_template_item_begin(&b, &t, 0, PARSER_ITEM_RANGE, PARSER_SIDE_HI, true);
	parser_template_item_slot(&b, PARSER_SRC_PARAM, 1);
	cr_assert(parser_template_item_commit(&b));

	parser_template_fold_consts(&t, &v);
	cr_assert_eq(t.n_folds, 1);
	cr_assert_eq(t.access[0].n_items, 2);
	cr_assert_eq(t.access[0].n_runs, 1);
	v = (struct parser_values){.nparams = 1, .vals = vals, .lens = lens};
	parser_template_eval(&t, &v, &st);
	cr_assert_eq(st.access[0].pred, FS_PRED_IN);
	cr_assert_eq(st.access[0].key_lo, parser_keyenc_int(2));
	cr_assert_eq(st.access[0].key_hi, parser_keyenc_int(2));
}

Test(template, unparsed_template_reports_nothing)
{
	struct parser_template t;
	struct parser_stmt st;
	struct parser_values v = {0};

	lex("selec garbage");
	parser_template_init(&t, &lx);
	cr_assert_neq(t.template_id, 0);
	cr_assert_eq(parser_template_eval(&t, &v, &st), 0);
	cr_assert_not(st.parsed);
	cr_assert_eq(st.template_id, 0);
	cr_assert_eq(st.n_access, 0);
}

Test(template, cache_lru_replacement_and_clear)
{
	struct parser_template_cache *c = parser_template_cache_create(4); /* one set of 4 */
	struct parser_template t[5];
	struct parser_lexer keys[5];
	const char *sql[] = {"select 1", "select a", "select b", "select c", "select d"};

	cr_assert(c);
	for (int i = 0; i < 5; i++) {
		new_template(&t[i], sql[i]);
		keys[i] = lx;
	}
	for (int i = 0; i < 4; i++) {
		cr_assert_null(parser_template_cache_lookup(c, &keys[i]));
		parser_template_cache_insert(c, &t[i]);
	}
	for (int i = 0; i < 4; i++)
		cr_assert_eq(parser_template_cache_lookup(c, &keys[i])->hash, t[i].hash);
	/* touch 0: 1 is now the least recently used, and the fifth template replaces it */
	cr_assert_not_null(parser_template_cache_lookup(c, &keys[0]));
	parser_template_cache_insert(c, &t[4]);
	cr_assert_null(parser_template_cache_lookup(c, &keys[1]));
	cr_assert_not_null(parser_template_cache_lookup(c, &keys[0]));
	cr_assert_not_null(parser_template_cache_lookup(c, &keys[4]));
	/* the constant count is checked too */
	keys[0].n_const++;
	cr_assert_null(parser_template_cache_lookup(c, &keys[0]));
	keys[0].n_const--;
	parser_template_cache_clear(c);
	for (int i = 0; i < 5; i++)
		cr_assert_null(parser_template_cache_lookup(c, &keys[i]));
	parser_template_cache_destroy(c);
}
