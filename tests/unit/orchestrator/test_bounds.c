/* Parsing of partition bounds as pg_get_expr(relpartbound) prints them, and what is refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "orchestrator/bounds.h"
#include "parser/keyenc.h"

static struct orch_bounds parse_ok(const char *expr)
{
	struct orch_bounds b;
	char err[160] = "";

	cr_assert(orch_bounds_parse(expr, &b, err, sizeof(err)), "%s: %s", expr, err);
	return b;
}

static void parse_fails(const char *expr, const char *why)
{
	struct orch_bounds b;
	char err[160] = "";

	cr_assert_not(orch_bounds_parse(expr, &b, err, sizeof(err)), "accepted: %s", expr);
	cr_assert(strstr(err, why), "%s: error \"%s\" does not mention \"%s\"", expr, err, why);
}

Test(bounds, integer_range_as_postgres_prints_it)
{
	struct orch_bounds b = parse_ok("FOR VALUES FROM ('-5') TO ('100')");

	cr_assert_not(b.is_default);
	cr_assert_eq(b.lo.kind, ORCH_BOUND_VALUE);
	cr_assert_str_eq(b.lo.literal, "'-5'");
	cr_assert_str_eq(b.lo.value, "-5");
	cr_assert_eq(b.hi.kind, ORCH_BOUND_VALUE);
	cr_assert_str_eq(b.hi.literal, "'100'");
	cr_assert_str_eq(b.hi.value, "100");
}

Test(bounds, bare_tokens_are_kept)
{
	struct orch_bounds b = parse_ok("FOR VALUES FROM (0) TO (1e3)");

	cr_assert_str_eq(b.lo.literal, "0");
	cr_assert_str_eq(b.lo.value, "0");
	cr_assert_str_eq(b.hi.value, "1e3");
}

Test(bounds, open_ends)
{
	struct orch_bounds b = parse_ok("FOR VALUES FROM (MINVALUE) TO ('-5')");

	cr_assert_eq(b.lo.kind, ORCH_BOUND_MINVALUE);
	cr_assert_str_eq(b.lo.literal, "MINVALUE");
	cr_assert_str_eq(b.lo.value, "");
	b = parse_ok("FOR VALUES FROM ('100') TO (MAXVALUE)");
	cr_assert_eq(b.hi.kind, ORCH_BOUND_MAXVALUE);
	cr_assert_str_eq(b.hi.literal, "MAXVALUE");
}

Test(bounds, quoted_text_with_doubled_quotes_and_backslash)
{
	struct orch_bounds b = parse_ok("FOR VALUES FROM ('a''b') TO ('m\\x')");

	cr_assert_str_eq(b.lo.literal, "'a''b'");
	cr_assert_str_eq(b.lo.value, "a'b");
	cr_assert_str_eq(b.hi.value, "m\\x");
}

Test(bounds, quoted_text_with_parenthesis_and_comma_inside)
{
	struct orch_bounds b = parse_ok("FOR VALUES FROM ('a,(b') TO ('c)')");

	cr_assert_str_eq(b.lo.value, "a,(b");
	cr_assert_str_eq(b.hi.value, "c)");
}

Test(bounds, timestamps)
{
	struct orch_bounds b = parse_ok(
	        "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-02-01 10:00:00.5+00')");

	cr_assert_str_eq(b.lo.value, "2024-01-01 00:00:00+00");
	cr_assert_str_eq(b.hi.value, "2024-02-01 10:00:00.5+00");
}

Test(bounds, uuids_as_postgres_prints_them_encode_as_uuid_keys)
{
	struct orch_bounds b =
	        parse_ok("FOR VALUES FROM ('40000000-0000-0000-0000-000000000000') TO "
	                 "('8f14e45f-ceea-467f-a0e6-b3a2fcd2a0f1')");
	uint64_t lo, hi;

	cr_assert_str_eq(b.lo.literal, "'40000000-0000-0000-0000-000000000000'");
	cr_assert_str_eq(b.lo.value, "40000000-0000-0000-0000-000000000000");
	cr_assert_str_eq(b.hi.value, "8f14e45f-ceea-467f-a0e6-b3a2fcd2a0f1");
	/* what the catalog reader does with them */
	cr_assert(parser_keyenc_parse(FS_KEY_UUID, b.lo.value, strlen(b.lo.value), &lo));
	cr_assert(parser_keyenc_parse(FS_KEY_UUID, b.hi.value, strlen(b.hi.value), &hi));
	cr_assert_eq(lo, UINT64_C(0x4000000000000000));
	cr_assert_eq(hi, UINT64_C(0x8f14e45fceea467f));
}

Test(bounds, default_partition)
{
	struct orch_bounds b = parse_ok("DEFAULT");

	cr_assert(b.is_default);
}

Test(bounds, refuses_what_it_does_not_understand)
{
	parse_fails("FOR VALUES IN (1, 2)", "not a range partition bound");
	parse_fails("FOR VALUES WITH (modulus 4, remainder 0)", "not a range partition bound");
	parse_fails("FOR VALUES FROM (1, 2) TO (3, 4)", "several values");
	parse_fails("FOR VALUES FROM ('a') TO ('b", "unterminated");
	parse_fails("FOR VALUES FROM ('a'x) TO ('b')", "after the closing quote");
	parse_fails("FOR VALUES FROM (E'a') TO ('b')", "unexpected");
	parse_fails("FOR VALUES FROM ('1'::bigint) TO ('2')", "after the closing quote");
	parse_fails("FOR VALUES FROM (1::bigint) TO (2)", "unexpected ':'");
	parse_fails("FOR VALUES FROM (1) TO (2) extra", "text after the bound");
	parse_fails("FOR VALUES FROM (1) UNTIL (2)", "expected TO");
	parse_fails("FOR VALUES FROM (MAXVALUE) TO (MAXVALUE)", "empty range");
	parse_fails("FOR VALUES FROM () TO (1)", "empty bound value");
	parse_fails("", "not a range partition bound");
	parse_fails(NULL, "no partition bound");
}

Test(bounds, refuses_literals_too_long_to_keep)
{
	char expr[256], lit[FS_LITERAL_MAX + 8];

	memset(lit, 'x', sizeof(lit) - 1);
	lit[sizeof(lit) - 1] = '\0';
	snprintf(expr, sizeof(expr), "FOR VALUES FROM ('%s') TO (MAXVALUE)", lit);
	parse_fails(expr, "longer than");
}

Test(bounds, single_value_parser_trims_blanks)
{
	struct orch_bound b;
	char err[160];

	cr_assert(orch_bound_parse("  '150000' ", 11, &b, err, sizeof(err)), "%s", err);
	cr_assert_str_eq(b.literal, "'150000'");
	cr_assert_str_eq(b.value, "150000");
	cr_assert(orch_bound_parse("maxvalue", 8, &b, err, sizeof(err)));
	cr_assert_eq(b.kind, ORCH_BOUND_MAXVALUE);
	cr_assert_not(orch_bound_parse("1; DROP TABLE t", 15, &b, err, sizeof(err)));
}
