/* Order-preserving key encoding: order over random pairs, round trips, parsing, literals. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "parser/keyenc.h"

/* Deterministic xorshift64*, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

static uint64_t enc(enum fs_keytype t, const char *s)
{
	uint64_t k = 0;

	cr_assert(parser_keyenc_parse(t, s, strlen(s), &k), "should parse: %s", s);
	return k;
}

static bool parses(enum fs_keytype t, const char *s)
{
	uint64_t k;

	return parser_keyenc_parse(t, s, strlen(s), &k);
}

/* Asserts that none of the n texts in bad is a valid key of type t. */
static void assert_refused(enum fs_keytype t, const char *const *bad, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_not(parses(t, bad[i]), "accepted %s", bad[i]);
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

Test(keyenc, int_order_random_pairs)
{
	for (int i = 0; i < 100000; i++) {
		/* mix full-range values with small ones around zero, where the sign flips */
		int64_t a = (int64_t)rnd() >> (rnd() % 64);
		int64_t b = (int64_t)rnd() >> (rnd() % 64);

		cr_assert_eq(cmp_u64(parser_keyenc_int(a), parser_keyenc_int(b)), (a > b) - (a < b),
		             "%lld vs %lld", (long long)a, (long long)b);
	}
	cr_assert_eq(parser_keyenc_int(INT64_MIN), 0);
	cr_assert_eq(parser_keyenc_int(INT64_MAX), UINT64_MAX);
	cr_assert_lt(parser_keyenc_int(-1), parser_keyenc_int(0));
	cr_assert_eq(parser_keyenc_int(1), parser_keyenc_int(0) + 1);
}

Test(keyenc, int_round_trip_and_literal)
{
	char buf[32];
	int64_t fixed[] = {INT64_MIN, -1, 0, 1, 42, INT64_MAX};

	for (int i = 0; i < 10000; i++) {
		int64_t v = i < 6 ? fixed[i] : (int64_t)rnd();
		uint64_t k = parser_keyenc_int(v);

		cr_assert_eq(parser_keydec_int(k), v);
		cr_assert(parser_keyenc_literal(FS_KEY_INT, k, buf, sizeof(buf)));
		cr_assert_eq(enc(FS_KEY_INT, buf), k, "literal %s", buf);
	}
	cr_assert(parser_keyenc_literal(FS_KEY_INT, parser_keyenc_int(-42), buf, sizeof(buf)));
	cr_assert_str_eq(buf, "-42");
	cr_assert_not(parser_keyenc_literal(FS_KEY_INT, parser_keyenc_int(-42), buf, 3));
}

Test(keyenc, int_parse_accepts_and_rejects)
{
	cr_assert_eq(enc(FS_KEY_INT, "42"), parser_keyenc_int(42));
	cr_assert_eq(enc(FS_KEY_INT, " +7 "), parser_keyenc_int(7));
	cr_assert_eq(enc(FS_KEY_INT, "-9223372036854775808"), 0);
	cr_assert_eq(enc(FS_KEY_INT, "9223372036854775807"), UINT64_MAX);
	cr_assert_not(parses(FS_KEY_INT, "9223372036854775808"));
	cr_assert_not(parses(FS_KEY_INT, "-9223372036854775809"));
	cr_assert_not(parses(FS_KEY_INT, "99999999999999999999"));
	cr_assert_not(parses(FS_KEY_INT, ""));
	cr_assert_not(parses(FS_KEY_INT, "-"));
	cr_assert_not(parses(FS_KEY_INT, "4 2"));
	cr_assert_not(parses(FS_KEY_INT, "1.5"));
	cr_assert_not(parses(FS_KEY_INT, "abc"));
	cr_assert_not(parses(FS_KEY_INT, "12abc"));
}

/* Microseconds since the epoch for a UTC calendar time, by libc as the oracle. */
static int64_t oracle_us(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = s};

	return (int64_t)timegm(&tm) * 1000000;
}

Test(keyenc, ts_parse_matches_libc_on_random_dates)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	for (int i = 0; i < 20000; i++) {
		int y = 1000 + (int)(rnd() % 9000), mo = 1 + (int)(rnd() % 12);
		int d = 1 + (int)(rnd() % (unsigned)dim[mo - 1]);
		int h = (int)(rnd() % 24), mi = (int)(rnd() % 60), s = (int)(rnd() % 60);
		int us = (int)(rnd() % 1000000);
		char buf[64];

		snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%06d", y, mo, d, h, mi, s,
		         us);
		cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, buf)),
		             oracle_us(y, mo, d, h, mi, s) + us, "%s", buf);
	}
}

Test(keyenc, ts_order_random_pairs_and_round_trip)
{
	char buf[64];

	for (int i = 0; i < 50000; i++) {
		/* within about +-10000 years of 1970 */
		int64_t a = (int64_t)(rnd() % (UINT64_C(630000000000) * 1000000)) -
		            INT64_C(315000000000) * 1000000;
		int64_t b = (int64_t)(rnd() % (UINT64_C(630000000000) * 1000000)) -
		            INT64_C(315000000000) * 1000000;
		uint64_t ka = parser_keyenc_ts(a), kb = parser_keyenc_ts(b);

		cr_assert_eq(cmp_u64(ka, kb), (a > b) - (a < b));
		cr_assert_eq(parser_keydec_ts(ka), a);
		/* the literal reads back as the same key, BC dates included */
		cr_assert(parser_keyenc_literal(FS_KEY_TIMESTAMP, ka, buf, sizeof(buf)));
		buf[strlen(buf) - 1] = 0;
		cr_assert_eq(enc(FS_KEY_TIMESTAMP, buf + 1), ka, "literal %s", buf);
	}
}

Test(keyenc, ts_forms_and_zones)
{
	int64_t base = oracle_us(2024, 1, 1, 0, 0, 0);

	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "1970-01-01")), 0);
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "epoch")), 0);
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "2024-01-01")), base);
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "2024-1-1")), base);
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "2024-01-01 10:30")),
	             base + INT64_C(37800) * 1000000);
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "2024-01-01T10:30:00Z")),
	             base + INT64_C(37800) * 1000000);
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "2024-01-01 12:30:00+02")),
	             base + INT64_C(37800) * 1000000);
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "2024-01-01 16:00:00+05:30")),
	             base + INT64_C(37800) * 1000000);
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "2024-01-01 02:30:00 -08:00")),
	             base + INT64_C(37800) * 1000000);
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "2024-01-01 10:30:00 UTC")),
	             base + INT64_C(37800) * 1000000);
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "2024-01-01 00:00:00.5")),
	             base + 500000);
	/* beyond microseconds, PostgreSQL rounds */
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "2024-01-01 00:00:00.1234567")),
	             base + 123457);
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "2024-01-01 24:00:00")),
	             oracle_us(2024, 1, 2, 0, 0, 0));
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "1969-12-31 23:59:59")), -1000000);
	cr_assert_eq(enc(FS_KEY_TIMESTAMP, "infinity"), UINT64_MAX);
	cr_assert_eq(enc(FS_KEY_TIMESTAMP, "-infinity"), 0);
	cr_assert(parses(FS_KEY_TIMESTAMP, "2024-02-29"));
	cr_assert(parses(FS_KEY_TIMESTAMP, "2000-02-29"));
	cr_assert_eq(parser_keydec_ts(enc(FS_KEY_TIMESTAMP, "0001-12-31 00:00:00+00 BC")),
	             oracle_us(0, 12, 31, 0, 0, 0));
}

Test(keyenc, ts_rejects_invalid)
{
	const char *bad[] = {
	        "",
	        "garbage",
	        "2024",
	        "2024-13-01",
	        "2024-00-10",
	        "2024-02-30",
	        "2023-02-29",
	        "1900-02-29",
	        "2024-01-01 25:00",
	        "2024-01-01 24:00:01",
	        "2024-01-01 10:60",
	        "2024-01-01 10:00:00.",
	        "2024-01-01x",
	        "2024-01-01 10:00:00+99",
	        "2024-01-01 10:00:00 Europe/Paris",
	        "999999-12-31 23:59:59",
	};

	assert_refused(FS_KEY_TIMESTAMP, bad, sizeof(bad) / sizeof(bad[0]));
}

Test(keyenc, ts_literal_format)
{
	char buf[64];

	cr_assert(parser_keyenc_literal(FS_KEY_TIMESTAMP, enc(FS_KEY_TIMESTAMP, "2024-05-01 10:00"),
	                                buf, sizeof(buf)));
	cr_assert_str_eq(buf, "'2024-05-01 10:00:00+00'");
	cr_assert(parser_keyenc_literal(FS_KEY_TIMESTAMP,
	                                enc(FS_KEY_TIMESTAMP, "2024-05-01 10:00:00.250+02"), buf,
	                                sizeof(buf)));
	cr_assert_str_eq(buf, "'2024-05-01 08:00:00.25+00'");
	cr_assert(parser_keyenc_literal(FS_KEY_TIMESTAMP, parser_keyenc_ts(-1), buf, sizeof(buf)));
	cr_assert_str_eq(buf, "'1969-12-31 23:59:59.999999+00'");
	cr_assert(parser_keyenc_literal(FS_KEY_TIMESTAMP, UINT64_MAX, buf, sizeof(buf)));
	cr_assert_str_eq(buf, "'infinity'");
	cr_assert(parser_keyenc_literal(FS_KEY_TIMESTAMP, 0, buf, sizeof(buf)));
	cr_assert_str_eq(buf, "'-infinity'");
	cr_assert_not(parser_keyenc_literal(FS_KEY_TIMESTAMP, parser_keyenc_ts(0), buf, 10));
}

/* memcmp order of s and t, both padded with zero bytes to 8 */
static int cmp_prefix8(const unsigned char *s, size_t ls, const unsigned char *t, size_t lt)
{
	for (size_t i = 0; i < 8; i++) {
		unsigned a = i < ls ? s[i] : 0, b = i < lt ? t[i] : 0;

		if (a != b)
			return a < b ? -1 : 1;
	}
	return 0;
}

Test(keyenc, text_order_random_pairs)
{
	for (int i = 0; i < 100000; i++) {
		unsigned char a[12], b[12];
		size_t la = rnd() % 13, lb = rnd() % 13;

		for (size_t j = 0; j < 12; j++) {
			/* a small alphabet makes long common prefixes likely */
			a[j] = (unsigned char)(1 + rnd() % (i % 2 ? 3 : 255));
			b[j] = (unsigned char)(1 + rnd() % (i % 2 ? 3 : 255));
		}
		cr_assert_eq(cmp_u64(parser_keyenc_text((char *)a, la),
		                     parser_keyenc_text((char *)b, lb)),
		             cmp_prefix8(a, la, b, lb));
		/* byte order of the whole strings never contradicts the encoded order */
		if (memcmp(a, b, la < lb ? la : lb) < 0)
			cr_assert_leq(parser_keyenc_text((char *)a, la),
			              parser_keyenc_text((char *)b, lb));
	}
}

Test(keyenc, text_round_trip_and_literal)
{
	char buf[64], raw[8];

	cr_assert_eq(enc(FS_KEY_TEXT, "abc"), parser_keyenc_text("abc", 3));
	cr_assert_eq(parser_keydec_text(enc(FS_KEY_TEXT, "abc"), raw), 3);
	cr_assert_eq(memcmp(raw, "abc", 3), 0);
	cr_assert_eq(enc(FS_KEY_TEXT, "abcdefghij"), enc(FS_KEY_TEXT, "abcdefgh"));
	cr_assert_eq(enc(FS_KEY_TEXT, ""), 0);

	cr_assert(parser_keyenc_literal(FS_KEY_TEXT, enc(FS_KEY_TEXT, "abc"), buf, sizeof(buf)));
	cr_assert_str_eq(buf, "'abc'");
	cr_assert(parser_keyenc_literal(FS_KEY_TEXT, enc(FS_KEY_TEXT, "it's"), buf, sizeof(buf)));
	cr_assert_str_eq(buf, "'it''s'");
	cr_assert(parser_keyenc_literal(FS_KEY_TEXT, enc(FS_KEY_TEXT, "abcdefghij"), buf,
	                                sizeof(buf)));
	cr_assert_str_eq(buf, "'abcdefgh'");
	cr_assert(parser_keyenc_literal(FS_KEY_TEXT, 0, buf, sizeof(buf)));
	cr_assert_str_eq(buf, "''");
	/* "abcdefg" then the first byte of a two-byte character: the half character is cut */
	cr_assert(parser_keyenc_literal(FS_KEY_TEXT, enc(FS_KEY_TEXT, "abcdefg\xc3\xa9"), buf,
	                                sizeof(buf)));
	cr_assert_str_eq(buf, "'abcdefg'");
	cr_assert(parser_keyenc_literal(FS_KEY_TEXT, enc(FS_KEY_TEXT, "h\xc3\xa9llo w\xc3\xb6"),
	                                buf, sizeof(buf)));
	cr_assert_str_eq(buf, "'h\xc3\xa9llo w'");
	/* bytes that are not UTF-8 at all, as a split point between keys may hold */
	cr_assert(parser_keyenc_literal(FS_KEY_TEXT, enc(FS_KEY_TEXT, "ab\xff\xff"), buf,
	                                sizeof(buf)));
	cr_assert_str_eq(buf, "'ab'");
	cr_assert_not(parser_keyenc_literal(FS_KEY_TEXT, enc(FS_KEY_TEXT, "abc"), buf, 5));
}

/* The key of the uuid 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11': its first 8 bytes. */
#define UUID_A0 UINT64_C(0xa0eebc999c0b4ef8)

Test(keyenc, uuid_accepts_what_uuid_in_accepts)
{
	const char *forms[] = {
	        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",   "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
	        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "a0eebc999c0b4ef8bb6d6bb9bd380a11",
	        "{A0EEBC999C0B4EF8BB6D6BB9BD380A11}",     "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
	        "a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11",    "a0EEbc999C0b-4eF8bb6d6bb9bd380a11",
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		cr_assert_eq(enc(FS_KEY_UUID, forms[i]), UUID_A0, "%s", forms[i]);
	/* only the first 8 bytes count */
	cr_assert_eq(enc(FS_KEY_UUID, "a0eebc99-9c0b-4ef8-ffff-ffffffffffff"), UUID_A0);
	cr_assert_eq(enc(FS_KEY_UUID, "00000000-0000-0000-0000-000000000000"), 0);
	cr_assert_eq(enc(FS_KEY_UUID, "ffffffff-ffff-ffff-ffff-ffffffffffff"), UINT64_MAX);
}

Test(keyenc, uuid_rejects_what_uuid_in_rejects)
{
	const char *bad[] = {
	        "",
	        "{}",
	        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",   /* 31 digits */
	        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111", /* 33 digits */
	        "a0eebc999c0b4ef8bb6d6bb9bd380a1",
	        "a0eebc999c0b4ef8bb6d6bb9bd380a111",
	        "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1x",
	        "a0e-ebc99-9c0b-4ef8-bb6d-6bb9bd380a11", /* a hyphen after 3 digits */
	        "a0eebc9-9-9c0b-4ef8-bb6d-6bb9bd380a11",
	        "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
	        "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
	        " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ",
	        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\n",
	        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
	        "{{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}}",
	        "{ a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
	        "(a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11)",
	        "0xa0eebc999c0b4ef8bb6d6bb9bd380a11",
	        "a0eebc99 9c0b 4ef8 bb6d 6bb9bd380a11",
	};

	assert_refused(FS_KEY_UUID, bad, sizeof(bad) / sizeof(bad[0]));
}

/* Writes the 16 bytes u in the canonical text form (lower case, 8-4-4-4-12). */
static void uuid_text(const unsigned char u[16], char out[37])
{
	size_t o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		o += (size_t)snprintf(out + o, 3, "%02x", u[i]);
	}
}

Test(keyenc, uuid_order_follows_memcmp)
{
	/* sorted by memcmp of their bytes, as PostgreSQL sorts uuids; some share 8 bytes */
	const char *sorted[] = {
	        "00000000-0000-0000-0000-000000000000", "00000000-0000-0001-0000-000000000000",
	        "0fffffff-ffff-ffff-ffff-ffffffffffff", "10000000-0000-0000-0000-000000000000",
	        "7f3a91c2-5e0b-11d4-0000-000000000001", "7f3a91c2-5e0b-11d4-8000-000000000000",
	        "7f3a91c2-5e0b-11d5-0000-000000000000", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	        "ffffffff-ffff-ffff-ffff-ffffffffffff",
	};

	for (size_t i = 1; i < sizeof(sorted) / sizeof(sorted[0]); i++)
		cr_assert_leq(enc(FS_KEY_UUID, sorted[i - 1]), enc(FS_KEY_UUID, sorted[i]),
		              "%s before %s", sorted[i - 1], sorted[i]);
	cr_assert_eq(enc(FS_KEY_UUID, sorted[4]), enc(FS_KEY_UUID, sorted[5]), "a tie");

	for (int i = 0; i < 100000; i++) {
		unsigned char a[16], b[16];
		char ta[37], tb[37];
		uint64_t ka, kb;
		int first8;

		for (int j = 0; j < 16; j++) {
			/* a small alphabet makes long common prefixes likely */
			a[j] = (unsigned char)(i % 2 ? rnd() % 2 : rnd());
			b[j] = (unsigned char)(i % 2 ? rnd() % 2 : rnd());
		}
		uuid_text(a, ta);
		uuid_text(b, tb);
		ka = enc(FS_KEY_UUID, ta);
		kb = enc(FS_KEY_UUID, tb);
		cr_assert_eq(ka, parser_keyenc_uuid(a), "text and bytes of %s", ta);
		first8 = memcmp(a, b, 8);
		cr_assert_eq(cmp_u64(ka, kb), (first8 > 0) - (first8 < 0), "%s vs %s", ta, tb);
		/* the order of the whole uuids never contradicts the encoded order */
		if (memcmp(a, b, 16) < 0)
			cr_assert_leq(ka, kb, "%s vs %s", ta, tb);
	}
}

Test(keyenc, uuid_literal_is_the_smallest_uuid_of_its_key)
{
	const char *orig = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
	char buf[64], again[64];
	uint64_t k = enc(FS_KEY_UUID, orig), back;

	cr_assert(parser_keyenc_literal(FS_KEY_UUID, k, buf, sizeof(buf)));
	cr_assert_str_eq(buf, "'a0eebc99-9c0b-4ef8-0000-000000000000'");
	/* canonical lower-case forms compare as strings the way their bytes compare */
	cr_assert_leq(strncmp(buf + 1, orig, 36), 0);
	cr_assert(parser_keyenc_parse(FS_KEY_UUID, buf + 1, 36, &back));
	cr_assert_eq(back, k);
	cr_assert(parser_keyenc_literal(FS_KEY_UUID, back, again, sizeof(again)));
	cr_assert_str_eq(again, buf);

	cr_assert(parser_keyenc_literal(FS_KEY_UUID, 0, buf, sizeof(buf)));
	cr_assert_str_eq(buf, "'00000000-0000-0000-0000-000000000000'");
	cr_assert(parser_keyenc_literal(FS_KEY_UUID, UINT64_MAX, buf, sizeof(buf)));
	cr_assert_str_eq(buf, "'ffffffff-ffff-ffff-0000-000000000000'");
	for (int i = 0; i < 10000; i++) {
		k = rnd();
		cr_assert(parser_keyenc_literal(FS_KEY_UUID, k, buf, sizeof(buf)));
		cr_assert_eq(strlen(buf), 38, "%s", buf);
		cr_assert(parser_keyenc_parse(FS_KEY_UUID, buf + 1, 36, &back), "%s", buf);
		cr_assert_eq(back, k, "%s", buf);
	}
	/* 36 characters, two quotes and the NUL */
	cr_assert_not(parser_keyenc_literal(FS_KEY_UUID, k, buf, 38));
	cr_assert(parser_keyenc_literal(FS_KEY_UUID, k, buf, 39));
}

Test(keyenc, unsupported_type)
{
	char buf[16];
	uint64_t k;

	cr_assert_not(parser_keyenc_parse(FS_KEY_UNSUPPORTED, "1", 1, &k));
	cr_assert_not(parser_keyenc_literal(FS_KEY_UNSUPPORTED, 1, buf, sizeof(buf)));
}
