#pragma once
/*
 * Order-preserving encoding of partition keys into unsigned 64-bit integers, so that key ranges
 * compare as integers everywhere after the parser:
 * - integers: two's complement with the sign bit flipped;
 * - timestamp, timestamptz, date: microseconds since 1970-01-01 00:00:00 UTC, sign-flipped
 *   (a timestamp without time zone is read as UTC; a date is its midnight; 'infinity' and
 *   '-infinity' are the extremes UINT64_MAX and 0);
 * - text: the first 8 bytes, big-endian, zero-padded. That is C-collation (byte) order; under
 *   other collations the encoded order can differ from the database's, which only blurs the
 *   profile, never correctness, since bounds are written back as literals of the column's type;
 * - uuid: the first 8 of its 16 bytes, big-endian. PostgreSQL orders uuids by memcmp, so the
 *   order is kept, with ties among uuids that share those bytes.
 *
 * All functions are pure and may be called from any thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/catalog.h"

/* Encodes a signed integer key. */
uint64_t parser_keyenc_int(int64_t v);

/* Inverse of parser_keyenc_int. */
int64_t parser_keydec_int(uint64_t k);

/* Encodes a timestamp given as microseconds since the Unix epoch (UTC). */
uint64_t parser_keyenc_ts(int64_t us_since_epoch);

/* Inverse of parser_keyenc_ts. */
int64_t parser_keydec_ts(uint64_t k);

/* Encodes the first 8 bytes of s (len bytes, need not be NUL-terminated). */
uint64_t parser_keyenc_text(const char *s, size_t len);

/*
 * Writes the 8 bytes encoded in k into buf and returns how many lead up to the first zero byte
 * (the prefix a text key can have had: PostgreSQL text holds no zero bytes).
 */
size_t parser_keydec_text(uint64_t k, char buf[8]);

/* Encodes a uuid given as its 16 bytes (the order of its text form and of its binary form). */
uint64_t parser_keyenc_uuid(const unsigned char uuid[16]);

/*
 * Encodes the text form of a constant (as it appears in SQL, without quotes, or as a text-format
 * Bind value) for key type t: an optionally signed decimal integer for FS_KEY_INT (surrounding
 * white space allowed, like int8in); for FS_KEY_TIMESTAMP 'YYYY-MM-DD', optionally followed by
 * ' ' or 'T' and 'HH:MM[:SS[.ffffff]]' and a zone 'Z', 'UTC', '+HH', '+HH:MM' or '-HH:MM' (no
 * zone means UTC), an optional ' BC', or 'infinity', '-infinity', 'epoch'; any bytes for
 * FS_KEY_TEXT; for FS_KEY_UUID exactly what PostgreSQL's uuid_in accepts: 32 hex digits in
 * either case, optionally a hyphen after any group of four digits but the last (so both
 * 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' and 'A0EEBC999C0B4EF8BB6D6BB9BD380A11'), the whole
 * optionally in braces, and no surrounding white space. Returns false when the text is not a
 * valid value of that type (garbage, an integer out of the int64 range, a day that does not
 * exist, a uuid with a digit too many or too few, FS_KEY_UNSUPPORTED).
 */
__attribute__((warn_unused_result)) bool parser_keyenc_parse(enum fs_keytype t, const char *s,
                                                             size_t len, uint64_t *out);

/*
 * Writes the SQL literal for encoded key k of type t into buf (size n, NUL-terminated): 42;
 * '2024-05-01 10:00:00+00' (with '.ffffff' when the microseconds are not zero, ' BC' before
 * year 1, 'infinity' and '-infinity' at the extremes); 'abc' for text, quotes doubled. For text
 * the literal is the decoded prefix up to the first zero byte, cut before the first byte that
 * does not continue valid UTF-8 (an 8-byte prefix can cut a character; split points can hold any
 * bytes), so it sorts at or before k. The text literal assumes standard_conforming_strings = on
 * and a UTF-8 database. For uuid, 'xxxxxxxx-xxxx-xxxx-0000-000000000000' in lower case: the 8
 * bytes of k, then 8 zero bytes, the smallest uuid that encodes to k, so it sorts at or before
 * every uuid that does and reads back as exactly k. Returns false if it does not fit or t is
 * FS_KEY_UNSUPPORTED.
 */
__attribute__((warn_unused_result)) bool parser_keyenc_literal(enum fs_keytype t, uint64_t k,
                                                               char *buf, size_t n);
