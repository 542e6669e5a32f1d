/*
 * Order-preserving key encoding (see keyenc.h): the integer, timestamp, text and uuid encodings,
 * the parsing of constants' text forms into encoded keys, and the way back from an encoded key to
 * a SQL literal that the planner writes into DDL. Calendar arithmetic is proleptic Gregorian, as
 * in PostgreSQL, done on day numbers so that no libc time zone state is involved.
 */
#include "parser/keyenc.h"
#include "parser/hex.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SIGN_BIT (UINT64_C(1) << 63)
#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

uint64_t parser_keyenc_int(int64_t v)
{
	return (uint64_t)v ^ SIGN_BIT;
}

int64_t parser_keydec_int(uint64_t k)
{
	return (int64_t)(k ^ SIGN_BIT);
}

uint64_t parser_keyenc_ts(int64_t us_since_epoch)
{
	return parser_keyenc_int(us_since_epoch);
}

int64_t parser_keydec_ts(uint64_t k)
{
	return parser_keydec_int(k);
}

uint64_t parser_keyenc_text(const char *s, size_t len)
{
	uint64_t k = 0;

	for (size_t i = 0; i < 8; i++)
		k = (k << 8) | (i < len ? (unsigned char)s[i] : 0);
	return k;
}

size_t parser_keydec_text(uint64_t k, char buf[8])
{
	size_t n = 8;

	for (int i = 0; i < 8; i++)
		buf[i] = (char)(k >> (56 - 8 * i));
	for (size_t i = 0; i < 8; i++) {
		if (buf[i] == 0) {
			n = i;
			break;
		}
	}
	return n;
}

uint64_t parser_keyenc_uuid(const unsigned char uuid[16])
{
	/* the big-endian value of leading bytes orders them by memcmp, the same packing as text */
	return parser_keyenc_text((const char *)uuid, 8);
}

/* ---- calendar ---- */

/*
 * Days from 1970-01-01 to y-m-d. Shifting the year to start in March puts the leap day last, so
 * the day of the year follows from the month by one linear formula; 400-year eras repeat exactly.
 */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* ---- parsing ---- */

/* A cursor over the text being parsed. */
struct cur {
	const char *p;   /* next byte */
	const char *end; /* one past the last byte */
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void skip_space(struct cur *c)
{
	while (c->p < c->end && is_space(*c->p))
		c->p++;
}

static bool at(const struct cur *c, char ch)
{
	return c->p < c->end && *c->p == ch;
}

/* Reads between min and max decimal digits into *v. */
static bool digits(struct cur *c, int min, int max, int64_t *v)
{
	int n = 0;

	*v = 0;
	while (n < max && c->p < c->end && is_digit(*c->p)) {
		*v = *v * 10 + (*c->p - '0');
		c->p++;
		n++;
	}
	return n >= min;
}

/* Case-insensitive match of the ASCII word w at the cursor; advances past it when it matches. */
static bool word(struct cur *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, w, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool parse_int(const char *s, size_t len, int64_t *out)
{
	struct cur c = {s, s + len};
	bool neg = false;
	uint64_t v = 0, limit;
	int n = 0;

	skip_space(&c);
	if (at(&c, '-') || at(&c, '+'))
		neg = *c.p++ == '-';
	limit = neg ? SIGN_BIT : SIGN_BIT - 1;
	while (c.p < c.end && is_digit(*c.p)) {
		uint64_t d = (uint64_t)(*c.p++ - '0');

		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
		n++;
	}
	skip_space(&c);
	if (n == 0 || c.p != c.end)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* Parses 'HH:MM[:SS[.ffffff]]' into microseconds of the day; fractions round to the microsecond. */
static bool parse_time(struct cur *c, int64_t *us)
{
	int64_t h, mi, s = 0, frac = 0;
	int nd = 0;
	bool round_up = false;

	if (!digits(c, 1, 2, &h) || !at(c, ':'))
		return false;
	c->p++;
	if (!digits(c, 2, 2, &mi))
		return false;
	if (at(c, ':')) {
		c->p++;
		if (!digits(c, 2, 2, &s))
			return false;
		if (at(c, '.')) {
			c->p++;
			if (c->p >= c->end || !is_digit(*c->p))
				return false;
			for (; c->p < c->end && is_digit(*c->p); c->p++, nd++) {
				if (nd < 6)
					frac = frac * 10 + (*c->p - '0');
				else if (nd == 6)
					round_up = *c->p >=
					           '5'; /* PostgreSQL rounds to the microsecond */
			}
			for (; nd < 6; nd++)
				frac *= 10;
			frac += round_up;
		}
	}
	/* PostgreSQL accepts 24:00:00 as the end of the day, and nothing later */
	if (mi > 59 || s > 59 || h > 24 || (h == 24 && (mi || s || frac)))
		return false;
	*us = ((h * 60 + mi) * 60 + s) * US_PER_SEC + frac;
	return true;
}

/* Parses a zone suffix into seconds east of UTC. */
static bool parse_zone(struct cur *c, int64_t *off)
{
	int64_t h, m = 0;
	int sign;

	*off = 0;
	if (word(c, "Z") || word(c, "UTC") || word(c, "GMT"))
		return true;
	if (!at(c, '+') && !at(c, '-'))
		return false;
	sign = *c->p++ == '-' ? -1 : 1;
	if (!digits(c, 1, 2, &h))
		return false;
	if (at(c, ':')) {
		c->p++;
		if (!digits(c, 2, 2, &m))
			return false;
	} else if (c->end - c->p >= 2 && is_digit(c->p[0]) && is_digit(c->p[1])) {
		digits(c, 2, 2, &m); /* the compact form +HHMM */
	}
	if (h > 15 || m > 59)
		return false;
	*off = sign * (h * 3600 + m * 60);
	return true;
}

static bool parse_ts(const char *s, size_t len, int64_t *out)
{
	struct cur c = {s, s + len};
	int64_t y, mo, d, tod = 0, off = 0, days, us;

	skip_space(&c);
	if (word(&c, "infinity") || word(&c, "+infinity")) {
		*out = INT64_MAX;
		goto done;
	}
	if (word(&c, "-infinity")) {
		*out = INT64_MIN;
		goto done;
	}
	if (word(&c, "epoch")) {
		*out = 0;
		goto done;
	}
	if (!digits(&c, 4, 6, &y) || !at(&c, '-'))
		return false;
	c.p++;
	if (!digits(&c, 1, 2, &mo) || !at(&c, '-'))
		return false;
	c.p++;
	if (!digits(&c, 1, 2, &d))
		return false;
	if (at(&c, 'T') || at(&c, 't') || (at(&c, ' ') && c.end - c.p > 1 && is_digit(c.p[1]))) {
		c.p++;
		skip_space(&c);
		if (!parse_time(&c, &tod))
			return false;
		skip_space(&c);
		if (c.p < c.end && !at(&c, 'B') && !at(&c, 'b') && !at(&c, 'A') && !at(&c, 'a') &&
		    !parse_zone(&c, &off))
			return false;
	}
	skip_space(&c);
	if (word(&c, "BC"))
		y = 1 - y; /* 1 BC is year 0 */
	else
		(void)word(&c, "AD");
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (int)mo))
		return false;
	days = days_from_civil(y, (int)mo, (int)d);
	if (__builtin_mul_overflow(days, US_PER_DAY, &us) || __builtin_add_overflow(us, tod, &us) ||
	    __builtin_sub_overflow(us, off * US_PER_SEC, &us))
		return false;
	*out = us;
done:
	skip_space(&c);
	return c.p == c.end;
}

/*
 * Parses a uuid as PostgreSQL 15's string_to_uuid does, so that what we take for a key is what
 * the server takes for a uuid: 16 pairs of hex digits, one optional hyphen after each second
 * pair but the last, the whole optionally in braces; no white space anywhere.
 */
static bool parse_uuid(const char *s, size_t len, unsigned char out[16])
{
	struct cur c = {s, s + len};
	bool braces = at(&c, '{');

	if (braces)
		c.p++;
	for (int i = 0; i < 16; i++) {
		int hi, lo;

		if (c.end - c.p < 2)
			return false;
		hi = parser_hex_digit((unsigned char)c.p[0]);
		lo = parser_hex_digit((unsigned char)c.p[1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
		c.p += 2;
		if (i % 2 == 1 && i < 15 && at(&c, '-'))
			c.p++;
	}
	if (braces) {
		if (!at(&c, '}'))
			return false;
		c.p++;
	}
	return c.p == c.end;
}

bool parser_keyenc_parse(enum fs_keytype t, const char *s, size_t len, uint64_t *out)
{
	int64_t v;
	unsigned char uuid[16];

	switch (t) {
	case FS_KEY_INT:
		if (!parse_int(s, len, &v))
			return false;
		*out = parser_keyenc_int(v);
		return true;
	case FS_KEY_TIMESTAMP:
		if (!parse_ts(s, len, &v))
			return false;
		*out = parser_keyenc_ts(v);
		return true;
	case FS_KEY_TEXT:
		*out = parser_keyenc_text(s, len);
		return true;
	case FS_KEY_UUID:
		if (!parse_uuid(s, len, uuid))
			return false;
		*out = parser_keyenc_uuid(uuid);
		return true;
	default:
		return false;
	}
}

/* ---- literals ---- */

static bool ts_literal(uint64_t k, char *buf, size_t n)
{
	int64_t us = parser_keydec_ts(k), days, tod, y;
	int mo, d, len;
	bool bc;

	if (k == 0 || k == UINT64_MAX)
		len = snprintf(buf, n, "'%s'", k ? "infinity" : "-infinity");
	else {
		days = us / US_PER_DAY;
		tod = us % US_PER_DAY;
		if (tod < 0) {
			tod += US_PER_DAY;
			days--;
		}
		civil_from_days(days, &y, &mo, &d);
		bc = y <= 0;
		len = snprintf(buf, n, "'%04lld-%02d-%02d %02d:%02d:%02d",
		               (long long)(bc ? 1 - y : y), mo, d, (int)(tod / (3600 * US_PER_SEC)),
		               (int)(tod / (60 * US_PER_SEC) % 60), (int)(tod / US_PER_SEC % 60));
		if (len < 0 || (size_t)len >= n)
			return false;
		if (tod % US_PER_SEC) {
			int frac = (int)(tod % US_PER_SEC), digits6 = 6;

			/* trailing zeros dropped, as PostgreSQL prints them */
			while (frac % 10 == 0) {
				frac /= 10;
				digits6--;
			}
			len += snprintf(buf + len, n - (size_t)len, ".%0*d", digits6, frac);
			if ((size_t)len >= n)
				return false;
		}
		len += snprintf(buf + len, n - (size_t)len, "+00%s'", bc ? " BC" : "");
	}
	return len >= 0 && (size_t)len < n;
}

/*
 * Length of the longest prefix of s[0..n) that is valid UTF-8: an 8-byte key prefix can cut a
 * character, and split points between keys can hold any bytes at all.
 */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t need;
		unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

		if (c < 0x80)
			need = 1;
		else if (c >= 0xc2 && c <= 0xdf)
			need = 2;
		else if (c >= 0xe0 && c <= 0xef)
			need = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 4;
		else
			break;
		if (c == 0xe0)
			lo = 0xa0; /* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f; /* no UTF-16 surrogates */
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* nothing past U+10FFFF */
		if (i + need > n || (need > 1 && (s[i + 1] < lo || s[i + 1] > hi)))
			break;
		for (size_t j = 2; j < need; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return i;
		}
		i += need;
	}
	return i;
}

static bool text_literal(uint64_t k, char *buf, size_t n)
{
	char raw[8];
	size_t n_raw = parser_keydec_text(k, raw);
	size_t len = utf8_valid_prefix((const unsigned char *)raw, n_raw), o = 0;

	if (n < 3)
		return false;
	buf[o++] = '\'';
	for (size_t i = 0; i < len; i++) {
		if (o + (raw[i] == '\'' ? 2 : 1) + 2 > n)
			return false;
		if (raw[i] == '\'')
			buf[o++] = '\'';
		buf[o++] = raw[i];
	}
	buf[o++] = '\'';
	buf[o] = 0;
	return true;
}

bool parser_keyenc_literal(enum fs_keytype t, uint64_t k, char *buf, size_t n)
{
	int len;

	switch (t) {
	case FS_KEY_INT:
		len = snprintf(buf, n, "%lld", (long long)parser_keydec_int(k));
		return len >= 0 && (size_t)len < n;
	case FS_KEY_TIMESTAMP:
		return ts_literal(k, buf, n);
	case FS_KEY_TEXT:
		return text_literal(k, buf, n);
	case FS_KEY_UUID:
		/* zero trailing bytes: the smallest uuid encoding to k, as a split bound needs */
		len = snprintf(buf, n, "'%08x-%04x-%04x-0000-000000000000'", (unsigned)(k >> 32),
		               (unsigned)(k >> 16) & 0xffff, (unsigned)k & 0xffff);
		return len >= 0 && (size_t)len < n;
	default:
		return false;
	}
}
