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
	bool parsed;         /* false: libpg_query rejected it; relayed and counted, never keyed */
	bool cache_hit;      /* the template came from the cache */
	uint32_t template_id; /* hash of the normalized shape; 0 when not parsed */
	uint8_t op;          /* enum fs_op of the first statement */
	int n_access;        /* entries used in access[] */
	bool more_tables;    /* touched more managed tables than PARSER_MAX_ACCESS */
	struct parser_access access[PARSER_MAX_ACCESS];
};

/* Opaque per-statement template, fixed size, copied by value into prepared statements. */
struct parser_template;

/* Prepared statement state kept by the proxy between Parse and Bind. */
struct parser_prepared {
	bool parsed;          /* false when libpg_query rejected the text */
	uint32_t template_id; /* as in parser_stmt */
	uint64_t catalog_version; /* catalog the template was built against */
	unsigned char tmpl[512];  /* struct parser_template by value (size checked in template.c) */
};

struct parser_stats {
	uint64_t queries;     /* strings classified */
	uint64_t cache_hits;  /* served from the template cache */
	uint64_t parse_errors; /* rejected by libpg_query */
	uint64_t unkeyed;     /* touched a managed table without a usable key predicate */
};

struct parser;

/* Creates a parser with a template cache of cache_entries slots. NULL on allocation failure. */
struct parser *parser_create(uint32_t cache_entries);

void parser_destroy(struct parser *p);

/*
 * Makes cat the catalog that names managed tables (borrowed: the caller keeps a reference for as
 * long as the parser may use it). When its version differs from the previous one, cached
 * templates are dropped, since the set of managed tables or their keys may have changed.
 */
void parser_set_catalog(struct parser *p, const struct fs_catalog *cat);

/*
 * Classifies a simple-protocol query string of len bytes (need not be NUL-terminated) and fills
 * out. Never fails: unparseable text yields parsed = false.
 */
void parser_query(struct parser *p, const char *sql, size_t len, struct parser_stmt *out);

/* Builds the template for an extended-protocol Parse message's query text. */
void parser_prepare(struct parser *p, const char *sql, size_t len, struct parser_prepared *out);

/*
 * Evaluates a prepared template with Bind parameter values: vals[i] points at lens[i] bytes
 * (lens[i] < 0 is NULL), formats[i] is 0 for text and 1 for binary (binary values are not
 * decoded yet: such keys count as unkeyed). Fills out.
 */
void parser_bind(struct parser *p, const struct parser_prepared *prep, int nparams,
		 const char *const *vals, const int32_t *lens, const int16_t *formats,
		 struct parser_stmt *out);

/* Counters since creation. */
void parser_get_stats(const struct parser *p, struct parser_stats *out);
