/*
 * libFuzzer target: the parser's entry points. The input is SQL text, optionally followed by a
 * NUL and Bind parameters: each is a flags byte (bit 0 binary, bit 1 NULL), a length byte and
 * that many value bytes (fewer at the end of the input). The text goes to parser_query twice,
 * the second time normally from the template cache, which must agree with the first; then to
 * parser_prepare and parser_bind with the parameters. Text and values are copied into buffers
 * of their exact size, so that a read past either is caught.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser/parser.h"
#include "tests/fuzz/fuzz_catalog.h"

#define PARAMS 16 /* parameters carved from one input at most */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_parser: %s\n", what);
	abort();
}

static void check_stmt(const struct parser_stmt *st)
{
	if (st->n_access < 0 || st->n_access > PARSER_MAX_ACCESS)
		fail("access count out of range");
	if (!st->parsed && (st->template_id != 0 || st->n_access != 0))
		fail("unparsed statement with a template or accesses");
}

/* The same text classified from the cache must reach the same tables and keys. */
static void check_same(const struct parser_stmt *a, const struct parser_stmt *b)
{
	if (a->parsed != b->parsed || a->template_id != b->template_id || a->op != b->op ||
	    a->n_access != b->n_access || a->more_tables != b->more_tables)
		fail("cached classification differs from the first");
	for (int i = 0; i < a->n_access; i++) {
		const struct parser_access *x = &a->access[i], *y = &b->access[i];

		if (x->table_id != y->table_id || x->op != y->op || x->pred != y->pred ||
		    x->key_lo != y->key_lo || x->key_hi != y->key_hi)
			fail("cached access differs from the first");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t sql_len = nul ? (size_t)(nul - data) : size;
	size_t at = nul ? sql_len + 1 : size;
	char *sql = malloc(sql_len ? sql_len : 1);
	char *vals[PARAMS];
	int32_t lens[PARAMS];
	int16_t fmts[PARAMS];
	int n = 0;
	struct parser *p = parser_create(64);
	struct parser_stmt first, again, bound;
	struct parser_prepared prep;

	if (!sql || !p)
		abort();
	memcpy(sql, data, sql_len);
	while (n < PARAMS && at + 2 <= size) {
		uint8_t flags = data[at], len = data[at + 1];

		at += 2;
		if (len > size - at)
			len = (uint8_t)(size - at);
		fmts[n] = flags & 1;
		lens[n] = flags & 2 ? -1 : len;
		vals[n] = malloc(len ? len : 1);
		if (!vals[n])
			abort();
		memcpy(vals[n], data + at, len);
		at += len;
		n++;
	}
	parser_set_catalog(p, fuzz_catalog());
	parser_query(p, sql, sql_len, &first);
	check_stmt(&first);
	parser_query(p, sql, sql_len, &again);
	check_stmt(&again);
	/* from the cache, or a miss again when the tree folded values: the same answer */
	check_same(&first, &again);
	parser_prepare(p, sql, sql_len, &prep);
	/* the text may go before Bind: the template must not need it */
	memset(sql, 0xa5, sql_len);
	parser_bind(p, &prep, n, (const char *const *)vals, lens, fmts, &bound);
	check_stmt(&bound);
	parser_bind(p, &prep, 0, NULL, NULL, NULL, &bound);
	check_stmt(&bound);
	for (int i = 0; i < n; i++)
		free(vals[i]);
	free(sql);
	parser_destroy(p);
	return 0;
}
