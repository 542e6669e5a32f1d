/*
 * A session's prepared statements as the frontend messages make and use them: Parse stores a
 * template by name, Bind of the unnamed portal binds it with its values, Execute names its
 * portal, Close forgets a statement, a Parse is bound without values only when asked (a pause),
 * decoding the same message twice changes nothing more, unread Parse/Bind forget what they
 * replaced, and malformed messages are refused.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "parser/keyenc.h"
#include "parser/parser.h"
#include "proxy/frame.h"
#include "proxy/stmts.h"

#define EVENTS 7 /* table id of the test catalog's one table */

static struct parser *p;
static struct fs_catalog *cat;
static struct proxy_stmts s;
static unsigned char msg[512];

static void setup(void)
{
	struct fs_table *t;

	p = parser_create(64);
	cr_assert(p);
	cat = fs_catalog_create(1, 1);
	cr_assert(cat);
	t = &cat->tables[0];
	t->id = EVENTS;
	snprintf(t->schema, sizeof(t->schema), "public");
	snprintf(t->name, sizeof(t->name), "events");
	snprintf(t->key, sizeof(t->key), "id");
	t->key_attnum = 1;
	t->keytype = FS_KEY_INT;
	t->supported = true;
	parser_set_catalog(p, cat);
	memset(&s, 0, sizeof(s));
}

static void teardown(void)
{
	proxy_stmts_cleanup(&s);
	parser_destroy(p);
	fs_catalog_destroy(&cat->snap);
}

TestSuite(stmts, .init = setup, .fini = teardown);

/* A message is built in msg: begin(type), then its fields (add_*), then end() for its length. */
static size_t n_body;

static void begin(char t)
{
	msg[0] = (unsigned char)t;
	n_body = 0;
}

static void add_raw(const void *b, size_t n)
{
	cr_assert(5 + n_body + n <= sizeof(msg));
	memcpy(msg + 5 + n_body, b, n);
	n_body += n;
}

static void add_str(const char *str)
{
	add_raw(str, strlen(str) + 1);
}

static void add_i16(int16_t v)
{
	unsigned char b[2] = {(unsigned char)((uint16_t)v >> 8), (unsigned char)v};

	add_raw(b, 2);
}

static void add_i32(int32_t v)
{
	unsigned char b[4];

	proxy_put_be32(b, (uint32_t)v);
	add_raw(b, 4);
}

static uint32_t end(void)
{
	proxy_put_be32(msg + 1, (uint32_t)n_body + 4);
	return (uint32_t)n_body + 5;
}

static uint32_t parse_msg(const char *name, const char *sql)
{
	begin('P');
	add_str(name);
	add_str(sql);
	add_i16(0); /* no parameter types */
	return end();
}

/* Bind of portal to stmt with one text parameter (NULL: SQL NULL). */
static uint32_t bind_msg(const char *portal, const char *stmt, const char *val)
{
	begin('B');
	add_str(portal);
	add_str(stmt);
	add_i16(0); /* all parameters text */
	add_i16(1);
	if (val) {
		add_i32((int32_t)strlen(val));
		add_raw(val, strlen(val));
	} else {
		add_i32(-1);
	}
	add_i16(0); /* result formats */
	return end();
}

static uint32_t close_msg(char kind, const char *name)
{
	begin('C');
	add_raw(&kind, 1);
	add_str(name);
	return end();
}

static void decode_ok(uint32_t len, bool bind_parse, struct proxy_up_msg *m)
{
	cr_assert(proxy_stmts_decode(&s, p, msg, len, bind_parse, m), "message '%c' refused",
	          msg[0]);
}

/* Asserts st reaches events at exactly key k. */
static void assert_point(const struct parser_stmt *st, int64_t k)
{
	cr_assert_eq(st->n_access, 1);
	cr_assert_eq(st->access[0].table_id, EVENTS);
	cr_assert_eq(st->access[0].key_lo, parser_keyenc_int(k));
	cr_assert_eq(st->access[0].key_hi, parser_keyenc_int(k));
}

Test(stmts, a_query_is_classified)
{
	struct proxy_up_msg m;

	begin('Q');
	add_str("SELECT * FROM events WHERE id = 17");
	decode_ok(end(), false, &m);
	assert_point(m.st, 17);
	cr_assert_eq(s.n_named, 0);
}

Test(stmts, bind_of_the_unnamed_portal_uses_the_named_statement_and_its_values)
{
	struct proxy_up_msg m;

	decode_ok(parse_msg("get", "SELECT * FROM events WHERE id = $1"), false, &m);
	cr_assert_eq(m.st->n_access, 0, "a Parse outside a pause is not bound");
	cr_assert_eq(s.n_named, 1);
	decode_ok(bind_msg("", "get", "42"), false, &m);
	assert_point(m.st, 42);
	assert_point(&s.portal, 42);
	cr_assert_str_eq(m.portal, "");
	decode_ok(bind_msg("", "get", "43"), false, &m);
	assert_point(&s.portal, 43);

	begin('E');
	add_str("");
	add_i32(0);
	decode_ok(end(), false, &m);
	cr_assert_str_eq(m.portal, "");
	assert_point(&s.portal, 43); /* Execute runs what the portal was bound to */
}

Test(stmts, a_named_portal_and_an_unknown_statement_are_not_profiled)
{
	struct proxy_up_msg m;

	decode_ok(parse_msg("", "SELECT * FROM events WHERE id = $1"), false, &m);
	decode_ok(bind_msg("", "", "5"), false, &m);
	assert_point(&s.portal, 5);
	decode_ok(bind_msg("cur", "", "6"), false, &m);
	cr_assert_str_eq(m.portal, "cur");
	cr_assert_eq(m.st->n_access, 0);
	assert_point(&s.portal, 5); /* the unnamed portal is unchanged */
	decode_ok(bind_msg("", "nosuch", "7"), false, &m);
	cr_assert_eq(m.st->n_access, 0);
	cr_assert_eq(s.portal.n_access, 0);
}

Test(stmts, a_parse_during_a_pause_is_bound_without_values)
{
	struct proxy_up_msg m;

	decode_ok(parse_msg("p", "UPDATE events SET v = 1 WHERE id = $1"), true, &m);
	cr_assert_eq(m.st->n_access, 1, "the tables of a Parse are known before its values");
	cr_assert_eq(m.st->access[0].table_id, EVENTS);
}

Test(stmts, decoding_a_message_again_changes_nothing_more)
{
	struct proxy_up_msg m;
	uint32_t len = parse_msg("again", "SELECT * FROM events WHERE id = $1");

	decode_ok(len, true, &m);
	decode_ok(len, true, &m);
	cr_assert_eq(s.n_named, 1, "a held Parse decoded on each try must not be stored twice");
	len = bind_msg("", "again", "9");
	decode_ok(len, false, &m);
	decode_ok(len, false, &m);
	assert_point(&s.portal, 9);
}

Test(stmts, close_forgets_a_statement_and_names_are_reused)
{
	struct proxy_up_msg m;

	for (int i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "s%d", i);
		decode_ok(parse_msg(name, "SELECT * FROM events WHERE id = $1"), false, &m);
	}
	cr_assert_eq(s.n_named, 20);
	decode_ok(close_msg('S', "s3"), false, &m);
	cr_assert_eq(s.n_named, 19);
	decode_ok(bind_msg("", "s3", "1"), false, &m);
	cr_assert_eq(m.st->n_access, 0, "a closed statement must not be bound");
	decode_ok(close_msg('P', "s4"), false, &m); /* a portal: statements stay */
	decode_ok(close_msg('S', ""), false, &m);   /* the unnamed one is never stored by name */
	cr_assert_eq(s.n_named, 19);
	decode_ok(bind_msg("", "s19", "8"), false, &m);
	assert_point(m.st, 8);
}

Test(stmts, an_unread_parse_or_bind_forgets_what_it_replaced)
{
	struct proxy_up_msg m;

	decode_ok(parse_msg("", "SELECT * FROM events WHERE id = $1"), false, &m);
	decode_ok(bind_msg("", "", "3"), false, &m);
	proxy_stmts_unread(&s, 'B');
	cr_assert_eq(s.portal.n_access, 0);
	proxy_stmts_unread(&s, 'P');
	decode_ok(bind_msg("", "", "4"), false, &m);
	cr_assert_eq(m.st->n_access, 0, "an unnamed statement replaced unseen must not be bound");
}

Test(stmts, malformed_messages_are_refused)
{
	struct proxy_up_msg m;
	const char types[] = {'Q', 'P', 'B', 'E', 'C'};

	for (size_t i = 0; i < sizeof(types); i++) {
		begin(types[i]);
		add_raw("abc", 3); /* a string without its NUL */
		cr_assert_not(proxy_stmts_decode(&s, p, msg, end(), true, &m), "'%c' accepted",
		              types[i]);
	}
	decode_ok(parse_msg("", "SELECT * FROM events WHERE id = $1"), false, &m);
	begin('B'); /* a Bind whose values are cut short: the portal is not profiled */
	add_str("");
	add_str("");
	add_i16(0);
	add_i16(1);
	add_i32(100);
	decode_ok(end(), false, &m);
	cr_assert_eq(m.st->n_access, 0);
	begin('S'); /* not a statement message: nothing to decode */
	decode_ok(end(), false, &m);
	cr_assert_eq(m.st->n_access, 0);
	cr_assert_eq(s.n_named, 0);
}
