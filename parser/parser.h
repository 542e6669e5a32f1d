#pragma once
/*
 * The query profile collector's parser: turns SQL text into the tables a statement touches and
 * the range of partition keys it reaches, fast enough to run on every query.
 *
 * How it stays cheap: a hand-written lexer (parser/lexer.c) makes one pass over the text,
 * pulls out the constants and hashes the remaining shape. The hash looks up a template in a
 * per-worker cache (parser/template.c). Only on a miss does libpg_query parse the text
 * (parser/extract.c); the template it yields says which constant ordinals (or $n parameters)
 * bound the partition key, so a hit only evaluates those constants (parser/keyenc.c).
 *
 * One struct parser per proxy worker; it is not shared between threads.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/catalog.h"
#include "common/event.h"

#define PARSER_MAX_ACCESS 4 /* table accesses kept per statement string */

/* One managed table a statement touches. */
struct parser_access {
	uint16_t table_id; /* catalog id of the managed table */
	uint8_t op;        /* enum fs_op */
	uint8_t pred;      /* enum fs_pred; FS_PRED_NONE means the whole key space */
	uint64_t key_lo;   /* encoded lowest key reached, inclusive */
	uint64_t key_hi;   /* encoded highest key reached, inclusive */
};

/* What the parser learned about one query string (possibly several statements). */
struct parser_stmt {
	bool parsed;          /* false: libpg_query rejected it; relayed and counted, never keyed */
	bool cache_hit;       /* the template came from the cache */
	uint32_t template_id; /* hash of the normalized shape; 0 when not parsed */
	uint8_t op;           /* enum fs_op of the first statement */
	int n_access;         /* entries used in access[] */
	bool more_tables;     /* touched more managed tables than PARSER_MAX_ACCESS */
	struct parser_access access[PARSER_MAX_ACCESS]; /* in the order the text names them */
};

/* Opaque per-statement template, fixed size, copied by value into prepared statements. */
struct parser_template;

/* Prepared statement state kept by the proxy between Parse and Bind. */
struct parser_prepared {
	bool parsed;              /* false when libpg_query rejected the text */
	uint32_t template_id;     /* as in parser_stmt */
	uint64_t catalog_version; /* catalog the template was built against */
	unsigned char tmpl[512];  /* struct parser_template by value (size checked in template.c) */
};

/* Counters of one parser; the worker copies them for the console. */
struct parser_stats {
	uint64_t queries;      /* simple-protocol strings classified (parser_query) */
	uint64_t prepares;     /* Parse texts classified (parser_prepare) */
	uint64_t binds;        /* prepared templates evaluated (parser_bind) */
	uint64_t cache_hits;   /* queries and prepares served from the template cache */
	uint64_t parse_errors; /* queries and prepares reported unparsed: rejected by libpg_query,
				  nested too deep to analyse safely, or out of memory */
	uint64_t unkeyed;      /* READ or WRITE accesses to a managed table, by a query or a bind,
				 without a usable key predicate (whole key space) */
};

struct parser;

/*
 * Creates a parser with a template cache of cache_entries slots (rounded up to a multiple of
 * four; about 470 bytes each). Everything the query path needs is allocated here. NULL on
 * allocation failure. The parser belongs to the thread that uses it.
 */
struct parser *parser_create(uint32_t cache_entries);

/* Frees p and its cache. NULL is ignored. */
void parser_destroy(struct parser *p);

/*
 * Makes cat the catalog that names managed tables (borrowed: the caller keeps a reference for as
 * long as the parser may use it). When its version differs from the previous one, cached
 * templates are dropped, since the set of managed tables or their keys may have changed.
 */
void parser_set_catalog(struct parser *p, const struct fs_catalog *cat);

/*
 * Classifies a simple-protocol query string of len bytes (need not be NUL-terminated) and fills
 * out. Never fails: unparseable text yields parsed = false, and so does text nested so deeply
 * (thousands of chained operators or set operations) that libpg_query's recursion could
 * exhaust the worker's stack. On a cache hit it costs one lexer pass, a hash lookup and the
 * encoding of the key constants, and never allocates; a miss runs libpg_query (which
 * allocates). Failures are not cached. Exclusive bounds on text keys are reported inclusive (a
 * superset); see parser/template.h for how predicates combine. The calling worker's thread,
 * which needs a stack of 2 MB or more for libpg_query.
 */
void parser_query(struct parser *p, const char *sql, size_t len, struct parser_stmt *out);

/*
 * Builds the template for an extended-protocol Parse message's query text (len bytes) into out,
 * with the text's constants folded in, so out no longer refers to the text. out records the
 * catalog version it was built against: when the catalog changes, the proxy should prepare the
 * text again (parser_bind keeps evaluating the old template, which may name stale keys).
 */
void parser_prepare(struct parser *p, const char *sql, size_t len, struct parser_prepared *out);

/*
 * Evaluates a prepared template with Bind parameter values: vals[i] points at lens[i] bytes
 * (lens[i] < 0 is NULL), formats[i] is 0 for text and 1 for binary (formats NULL: all text).
 * Binary values are decoded for int2/int4/int8 and whole numerics (integer keys), timestamp(tz) and date
 * (timestamp keys) and text; a predicate whose value cannot be decoded, is NULL or is missing
 * is dropped (a wider range, FS_PRED_NONE when none is left). nparams may be 0 with NULL arrays.
 * Fills out; out->cache_hit is false. Never allocates.
 */
void parser_bind(struct parser *p, const struct parser_prepared *prep, int nparams,
                 const char *const *vals, const int32_t *lens, const int16_t *formats,
                 struct parser_stmt *out);

/* Copies the counters since creation into out. */
void parser_get_stats(const struct parser *p, struct parser_stats *out);
