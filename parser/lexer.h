#pragma once
/*
 * The parser's hand-written SQL lexer: one pass over a query string that finds its constants and
 * hashes its shape, so that texts differing only in constants, white space, comments or the case
 * of unquoted words share one cached template (parser/template.h).
 *
 * It follows PostgreSQL 15's scanner rules closely enough that each constant it records starts at
 * the byte libpg_query reports as the constant's location (the '-' of a negative number, the E of
 * E'...', the first quote of a string continued on the next line). Where it differs, the
 * extractor notices that a location has no constant and does not cache the template, so a
 * difference costs speed, never a wrong key.
 *
 * No allocation: the caller provides the constant array. Any thread, on its own struct.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum parser_const_kind {
	PARSER_CONST_NUMBER = 0, /* 42, -5, 1.5e3, .5 (a folded unary minus included) */
	PARSER_CONST_STRING,     /* 'abc', with '' and continuation lines */
	PARSER_CONST_ESTRING,    /* E'a\'b': backslash escapes */
	PARSER_CONST_DOLLAR,     /* $tag$...$tag$ */
	PARSER_CONST_USTRING,    /* U&'...': decoded only without escapes */
	PARSER_CONST_BITSTRING,  /* B'0101', X'ff': never a key */
};

/* One constant found in the text. */
struct parser_const {
	uint32_t offset; /* byte offset of its first byte in the text */
	uint32_t len;    /* bytes, prefix and quotes included */
	uint8_t kind;    /* enum parser_const_kind */
};

/* The result of one pass; reused from query to query. */
struct parser_lexer {
	uint64_t hash;               /* of the normalized shape; never 0 */
	uint32_t shape_len;          /* bytes hashed: a cheap second check against collisions */
	uint32_t n_const;            /* constants in the text, those past cap included */
	uint32_t max_param;          /* highest $n referenced, 0 when none */
	uint32_t nesting;            /* bound on the syntax tree's depth: operators, UNION,
					INTERSECT and EXCEPT, plus the deepest ( or [ nesting */
	uint32_t cap;                /* entries in consts */
	struct parser_const *consts; /* caller's array: the first min(n_const, cap), in order */
};

/* Attaches the caller's array of cap constants (borrowed for the lexer's life). */
void parser_lexer_init(struct parser_lexer *lx, struct parser_const *consts, uint32_t cap);

/*
 * Lexes len bytes of sql (need not be NUL-terminated): fills hash, shape_len, n_const, max_param,
 * nesting
 * and the constants. Unterminated quotes or comments run to the end of the text (libpg_query will
 * reject it); the pass itself never fails.
 */
void parser_lexer_run(struct parser_lexer *lx, const char *sql, size_t len);

/* Whether constants past cap were dropped: their ordinals cannot be keyed. */
static inline bool parser_lexer_overflow(const struct parser_lexer *lx)
{
	return lx->n_const > lx->cap;
}

/* Ordinal of the constant that starts at byte offset, or -1. Binary search. */
int parser_lexer_find(const struct parser_lexer *lx, uint32_t offset);

/*
 * Decodes the value of constant c of sql: a number's text without white space, a string's
 * contents with quotes removed and escapes applied. Writes at most n bytes to buf (not
 * NUL-terminated), sets *len to the bytes written and *truncated when the value was longer.
 * Returns false when the value cannot be decoded: bit strings, U& strings with escapes, invalid
 * escapes.
 */
__attribute__((warn_unused_result)) bool parser_lexer_value(const char *sql,
                                                            const struct parser_const *c, char *buf,
                                                            size_t n, size_t *len, bool *truncated);
