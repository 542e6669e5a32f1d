/* The lexer: constants and their offsets, quoting, comments, negative numbers, shape hashes. */
#include <criterion/criterion.h>
#include <string.h>

#include "parser/lexer.h"

#define CAP 64

static struct parser_const consts[CAP];
static struct parser_lexer lx;

static void lex(const char *sql)
{
	parser_lexer_init(&lx, consts, CAP);
	parser_lexer_run(&lx, sql, strlen(sql));
}

/* Decoded value of constant i of sql, NUL-terminated in a static buffer. */
static const char *value(const char *sql, uint32_t i)
{
	static char buf[128];
	size_t len;
	bool trunc;

	cr_assert_lt(i, lx.n_const);
	cr_assert(parser_lexer_value(sql, &consts[i], buf, sizeof(buf) - 1, &len, &trunc));
	cr_assert_not(trunc);
	buf[len] = 0;
	return buf;
}

/* Asserts constant i starts where needle does in sql and has the given kind and value. */
static void expect_const(const char *sql, uint32_t i, const char *needle,
                         enum parser_const_kind kind, const char *val)
{
	const char *at = strstr(sql, needle);

	cr_assert(at, "needle %s", needle);
	cr_assert_lt(i, lx.n_const);
	cr_assert_eq(consts[i].offset, (uint32_t)(at - sql), "const %u at %u, want %u", i,
	             consts[i].offset, (uint32_t)(at - sql));
	cr_assert_eq(consts[i].kind, kind, "const %u kind %d", i, consts[i].kind);
	cr_assert_str_eq(value(sql, i), val);
}

static uint64_t hash_of(const char *sql)
{
	lex(sql);
	return lx.hash;
}

Test(lexer, numbers_and_strings)
{
	const char *sql = "SELECT * FROM t WHERE a = 5 AND b = 'x''y' AND c = 1.5e3 AND d = .25";

	lex(sql);
	cr_assert_eq(lx.n_const, 4);
	expect_const(sql, 0, "5 AND", PARSER_CONST_NUMBER, "5");
	expect_const(sql, 1, "'x''y'", PARSER_CONST_STRING, "x'y");
	expect_const(sql, 2, "1.5e3", PARSER_CONST_NUMBER, "1.5e3");
	expect_const(sql, 3, ".25", PARSER_CONST_NUMBER, ".25");
	cr_assert_eq(consts[1].len, 6);
}

Test(lexer, negative_numbers)
{
	const char *sql =
	        "SELECT a -1, x FROM t WHERE k = -5 AND j IN (1, -2) AND m BETWEEN - 3 AND "
	        "-4 AND n=-6 AND o<-7";

	lex(sql);
	cr_assert_eq(lx.n_const, 8);
	/* after an identifier the minus is binary: only "1" is the constant */
	expect_const(sql, 0, "1, x", PARSER_CONST_NUMBER, "1");
	expect_const(sql, 1, "-5", PARSER_CONST_NUMBER, "-5");
	expect_const(sql, 2, "1, -2", PARSER_CONST_NUMBER, "1");
	expect_const(sql, 3, "-2", PARSER_CONST_NUMBER, "-2");
	expect_const(sql, 4, "- 3", PARSER_CONST_NUMBER, "-3");
	expect_const(sql, 5, "-4", PARSER_CONST_NUMBER, "-4");
	/* "=-" is "=" then a unary minus, as PostgreSQL splits it */
	expect_const(sql, 6, "-6", PARSER_CONST_NUMBER, "-6");
	expect_const(sql, 7, "-7", PARSER_CONST_NUMBER, "-7");
}

Test(lexer, string_forms)
{
	const char *sql =
	        "SELECT E'a\\'b\\n', $$it's$$, $q$x $$ y$q$, 'a'\n  'bc', 'd' 'e', N'nat', "
	        "B'0101', X'ff', U&'uni'";

	lex(sql);
	cr_assert_eq(lx.n_const, 10);
	expect_const(sql, 0, "E'a", PARSER_CONST_ESTRING, "a'b\n");
	expect_const(sql, 1, "$$it's$$", PARSER_CONST_DOLLAR, "it's");
	expect_const(sql, 2, "$q$", PARSER_CONST_DOLLAR, "x $$ y");
	/* continued on the next line: one constant, located at its first quote */
	expect_const(sql, 3, "'a'\n", PARSER_CONST_STRING, "abc");
	/* without a newline in between they stay two */
	expect_const(sql, 4, "'d'", PARSER_CONST_STRING, "d");
	expect_const(sql, 5, "'e'", PARSER_CONST_STRING, "e");
	/* N'' is a keyword and a string; libpg_query locates the string at its quote */
	expect_const(sql, 6, "'nat'", PARSER_CONST_STRING, "nat");
	cr_assert_eq(consts[7].kind, PARSER_CONST_BITSTRING);
	cr_assert_eq(consts[7].offset, (uint32_t)(strstr(sql, "B'") - sql));
	cr_assert_eq(consts[8].kind, PARSER_CONST_BITSTRING);
	expect_const(sql, 9, "U&'uni'", PARSER_CONST_USTRING, "uni");
}

Test(lexer, escapes_and_undecodable_values)
{
	const char *sql = "SELECT E'\\x41\\101\\u00e9\\U0001F600\\t', B'01', U&'\\0061', E'\\u12'";
	char buf[8];
	size_t len;
	bool trunc;

	lex(sql);
	cr_assert_eq(lx.n_const, 4);
	cr_assert_str_eq(value(sql, 0), "AA\xc3\xa9\xf0\x9f\x98\x80\t");
	cr_assert_not(parser_lexer_value(sql, &consts[1], buf, sizeof(buf), &len, &trunc));
	cr_assert_not(parser_lexer_value(sql, &consts[2], buf, sizeof(buf), &len, &trunc));
	cr_assert_not(parser_lexer_value(sql, &consts[3], buf, sizeof(buf), &len, &trunc));
	/* a value longer than the buffer is cut and says so */
	cr_assert(parser_lexer_value(sql, &consts[0], buf, 3, &len, &trunc));
	cr_assert_eq(len, 3);
	cr_assert(trunc);
}

Test(lexer, comments_and_quoted_identifiers_are_not_constants)
{
	const char *sql =
	        "SELECT \"col 'x' 5\", \"a\"\"b\" -- 'not' 7\n FROM t /* 8 /* 'nested' */ 9 */"
	        " WHERE k = 10";

	lex(sql);
	cr_assert_eq(lx.n_const, 1);
	expect_const(sql, 0, "10", PARSER_CONST_NUMBER, "10");
}

Test(lexer, parameters)
{
	lex("SELECT * FROM t WHERE a = $1 AND b IN ($12, $3) AND c = 'x'");
	cr_assert_eq(lx.max_param, 12);
	cr_assert_eq(lx.n_const, 1);
	lex("SELECT 1");
	cr_assert_eq(lx.max_param, 0);
}

Test(lexer, unterminated_quote_runs_to_the_end)
{
	const char *sql = "SELECT 'abc";

	lex(sql);
	cr_assert_eq(lx.n_const, 1);
	cr_assert_eq(consts[0].offset + consts[0].len, strlen(sql));
	lex("SELECT /* open");
	cr_assert_eq(lx.n_const, 0);
}

Test(lexer, find_by_offset)
{
	const char *sql = "SELECT 1, 22, 'c'";

	lex(sql);
	cr_assert_eq(parser_lexer_find(&lx, 7), 0);
	cr_assert_eq(parser_lexer_find(&lx, 10), 1);
	cr_assert_eq(parser_lexer_find(&lx, 14), 2);
	cr_assert_eq(parser_lexer_find(&lx, 8), -1);
	cr_assert_eq(parser_lexer_find(&lx, 100), -1);
}

Test(lexer, overflow_past_cap)
{
	struct parser_const small[3];

	parser_lexer_init(&lx, small, 3);
	parser_lexer_run(&lx, "VALUES (1), (2), (3), (4), (5)", 30);
	cr_assert_eq(lx.n_const, 5);
	cr_assert(parser_lexer_overflow(&lx));
	cr_assert_eq(small[2].offset, 18);
	cr_assert_eq(parser_lexer_find(&lx, 13), 1);
	/* only recorded constants can be found */
	cr_assert_eq(parser_lexer_find(&lx, 28), -1);
}

Test(lexer, same_shape_same_hash)
{
	uint64_t h = hash_of("SELECT * FROM events WHERE id = 5 AND name = 'a'");
	uint32_t n = lx.shape_len;

	cr_assert_neq(h, 0);
	cr_assert_eq(hash_of("select *\n  from EVENTS where ID=123456 and NAME = 'a much longer'"),
	             h);
	cr_assert_eq(lx.shape_len, n);
	cr_assert_eq(hash_of("SELECT * /* c */ FROM events -- x\n WHERE id = 7 AND name = $$b$$"),
	             h);
	cr_assert_eq(hash_of("SELECT * FROM events WHERE id = 5.5e1 AND name = E'\\''"), h);
	/* negative numbers share a shape among themselves, with or without a space */
	cr_assert_eq(hash_of("SELECT * FROM t WHERE a = -5"),
	             hash_of("SELECT * FROM t WHERE a = - 77"));
	/* words are folded eight bytes at a time: long ones, and at the end of the text */
	cr_assert_eq(hash_of("SELECT Account_Balance_After FROM Pgbench_Accounts_Partitioned"),
	             hash_of("select ACCOUNT_BALANCE_AFTER from pgbench_accounts_partitioned"));
	/* only ASCII letters fold, as PostgreSQL folds identifiers in UTF-8: not a byte >= 0x80
	 * whose low seven bits are a capital letter (0xc4 is 'D' + 0x80) */
	cr_assert_neq(hash_of("SELECT * FROM t\xc4\x80"), hash_of("SELECT * FROM t\xe4\x80"));
}

Test(lexer, different_shape_different_hash)
{
	const char *shapes[] = {
	        "SELECT * FROM events WHERE id = 5",
	        "SELECT * FROM events WHERE id = '5'",
	        "SELECT * FROM events WHERE id > 5",
	        "SELECT * FROM events WHERE id >= 5",
	        "SELECT * FROM events WHERE v = 5",
	        "SELECT * FROM names WHERE id = 5",
	        "SELECT * FROM \"Events\" WHERE id = 5",
	        "SELECT * FROM \"events\" WHERE id = 5",
	        "SELECT * FROM events WHERE id = $1",
	        "SELECT * FROM events WHERE id = $2",
	        "SELECT * FROM events WHERE id = 5 - 1",
	        "SELECT * FROM events WHERE id IN (5, 6)",
	        "SELECT * FROM events WHERE id IN (5, 6, 7)",
	        "SELECT * FROM events WHERE i d = 5",
	        "SELECT * FROM events WHERE id = B'1'",
	        /* PostgreSQL sees "-" and "5": a folded minus is part of the shape */
	        "SELECT * FROM events WHERE id = -5",
	        "SELECT * FROM events WHERE id = N'5'",
	        "SELECT * FROM events WHERE id = 5::int",
	        "SELECT * FROM events WHERE id = 5: :int",
	        "SELECT * FROM events WHERE id = 5 'x",
	        "SELECT * FROM events WHERE id = 5abc",
	        "SELECT * FROM events WHERE id = 5 /* open",
	        /* where one token ends and the next begins is part of the shape, at any length */
	        "SELECT * FROM abcdefgh ij",
	        "SELECT * FROM abcdefghij",
	        "SELECT * FROM abcdefg hij",
	        "SELECT * FROM abcdefghijklmnop q",
	        "SELECT * FROM abcdefghijklmnopq",
	        /* same tokens, bytes and 8-byte words; only the boundaries differ */
	        "SELECT abcdefgh ij mnopqrstuv",
	        "SELECT abcdefghij mnopqrst uv",
	        /* junk after a parameter and an unterminated constant break the text at
	         * different places */
	        "SELECT $1E'x'",
	        "SELECT $1$$x",
	        "SELECT $1 union SELECT 2",
	        "SELECT $1 unions SELECT 2",
	};
	uint64_t h[sizeof(shapes) / sizeof(shapes[0])];

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		h[i] = hash_of(shapes[i]);
		for (size_t j = 0; j < i; j++)
			cr_assert_neq(h[i], h[j], "%s vs %s", shapes[i], shapes[j]);
	}
}

Test(lexer, nesting_bound)
{
	lex("SELECT (1 + (2 * 3)) FROM t WHERE a = b");
	cr_assert_eq(lx.nesting, 3 + 2);
	lex("SELECT 1 UNION SELECT 2 EXCEPT SELECT 3 INTERSECT SELECT f(x[1])");
	cr_assert_eq(lx.nesting, 3 + 2);
	/* set operations in any case, at the end of the text; words that only start like them
	 * are not */
	lex("SELECT 1 union SELECT 2 Except SELECT 3 iNtErSeCt");
	cr_assert_eq(lx.nesting, 3);
	lex("SELECT unions, exceptional, intersects, intersecs FROM t");
	cr_assert_eq(lx.nesting, 0);
	/* unbalanced closing parentheses do not wrap around */
	lex("SELECT ))) (");
	cr_assert_eq(lx.nesting, 1);
}
