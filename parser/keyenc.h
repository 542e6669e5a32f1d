#pragma once
/*
 * Order-preserving encoding of partition keys into unsigned 64-bit integers, so that key ranges
 * compare as integers everywhere after the parser:
 * - integers: two's complement with the sign bit flipped;
 * - timestamp, timestamptz, date: microseconds since 1970-01-01 00:00:00 UTC, sign-flipped
 *   (a timestamp without time zone is read as UTC; a date is its midnight);
 * - text: the first 8 bytes, big-endian, zero-padded. That is C-collation (byte) order; under
 *   other collations the encoded order can differ from the database's, which only blurs the
 *   profile, never correctness, since bounds are written back as literals of the column's type.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/catalog.h"

uint64_t parser_keyenc_int(int64_t v);
int64_t parser_keydec_int(uint64_t k);

uint64_t parser_keyenc_ts(int64_t us_since_epoch);
int64_t parser_keydec_ts(uint64_t k);

uint64_t parser_keyenc_text(const char *s, size_t len);

/*
 * Encodes the text form of a constant (as it appears in SQL, without quotes, or as a text-format
 * Bind value) for key type t. Returns false when the text is not a valid value of that type.
 */
__attribute__((warn_unused_result)) bool parser_keyenc_parse(enum fs_keytype t, const char *s,
							     size_t len, uint64_t *out);

/*
 * Writes the SQL literal for encoded key k of type t into buf (size n), e.g. 42,
 * '2024-05-01 10:00:00+00' or 'abc'. For text, the literal is the decoded prefix with trailing
 * zero bytes removed. Returns false if it does not fit.
 */
__attribute__((warn_unused_result)) bool parser_keyenc_literal(enum fs_keytype t, uint64_t k,
							       char *buf, size_t n);
