/*
 * The parser's public face (see parser.h): one struct per proxy worker holding the lexer's
 * constant array, the template cache, a scratch template and a growable NUL-terminated copy of
 * the text for libpg_query. parser_query and parser_prepare lex, look the shape up, extract and
 * insert on a miss, and evaluate; parser_bind evaluates a prepared template with Bind values.
 * Only the miss path allocates (the text copy, and libpg_query itself).
 */
#include "parser/parser.h"

#include <stdlib.h>
#include <string.h>

#include "parser/extract.h"
#include "parser/lexer.h"
#include "parser/template.h"

/*
 * Constants recorded per text. Past this, ordinals cannot be keyed: a multi-row INSERT of more
 * than about this many values is profiled without keys.
 */
#define PARSER_LEX_CONSTS 4096

/*
 * libpg_query recurses once per level of the syntax tree when it serializes it: "1+1+...+1" with
 * 10000 terms overflows a 2 MB stack. Texts whose lexer nesting bound exceeds this are reported
 * unparsed without calling it (4000 levels fit in 2 MB with room to spare).
 */
#define PARSER_NESTING_MAX 4000

struct parser {
	struct parser_template_cache *cache;           /* templates by shape */
	const struct fs_catalog *cat;                  /* borrowed from the caller, or NULL */
	uint64_t cat_version;                          /* version of cat when it was set */
	struct parser_stats stats;                     /* counters since creation */
	struct parser_lexer lx;                        /* the last text's lexer result */
	struct parser_template scratch;                /* template built on a miss */
	char *text;                                    /* NUL-terminated copy for libpg_query */
	size_t text_cap;                               /* bytes allocated for text */
	struct parser_const consts[PARSER_LEX_CONSTS]; /* the lexer's constants */
};

struct parser *parser_create(uint32_t cache_entries)
{
	struct parser *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cache = parser_template_cache_create(cache_entries);
	if (!p->cache) {
		free(p);
		return NULL;
	}
	parser_lexer_init(&p->lx, p->consts, PARSER_LEX_CONSTS);
	return p;
}

void parser_destroy(struct parser *p)
{
	if (!p)
		return;
	parser_template_cache_destroy(p->cache);
	free(p->text);
	free(p);
}

void parser_set_catalog(struct parser *p, const struct fs_catalog *cat)
{
	uint64_t version = cat ? cat->version : 0;

	/* templates hold table ids and key types: any change of the catalog voids them */
	if ((cat == NULL) != (p->cat == NULL) || version != p->cat_version)
		parser_template_cache_clear(p->cache);
	p->cat = cat;
	p->cat_version = version;
}

/* Makes the scratch template an unparsed one for the text just lexed, counted as an error. */
static const struct parser_template *unparsed(struct parser *p)
{
	parser_template_init(&p->scratch, &p->lx);
	p->stats.parse_errors++;
	return &p->scratch;
}

/*
 * The template for the text just lexed: from the cache, or extracted into the scratch template
 * and cached unless it holds values of this very text. *hit says which.
 */
static const struct parser_template *classify(struct parser *p, const char *sql, size_t len,
                                              bool *hit)
{
	const struct parser_template *t = parser_template_cache_lookup(p->cache, &p->lx);

	*hit = t != NULL;
	if (t) {
		p->stats.cache_hits++;
		return t;
	}
	if (p->lx.nesting > PARSER_NESTING_MAX)
		return unparsed(p);
	if (len + 1 > p->text_cap) {
		size_t cap = len + 1 < 1024 ? 1024 : len + 1;
		char *text = realloc(p->text, cap);

		if (!text)
			return unparsed(p); /* out of memory: fail open, cache nothing */
		p->text = text;
		p->text_cap = cap;
	}
	memcpy(p->text, sql, len);
	p->text[len] = 0;
	/*
	 * A rejected text is not cached: a few errors depend on a constant's value (an invalid
	 * escape in E'...'), and a cached failure would hide every valid text of the same shape.
	 */
	if (!parser_extract_template(p->text, &p->lx, p->cat, &p->scratch))
		p->stats.parse_errors++;
	else if (!(p->scratch.flags & PARSER_TMPL_NOCACHE))
		parser_template_cache_insert(p->cache, &p->scratch);
	return &p->scratch;
}

void parser_query(struct parser *p, const char *sql, size_t len, struct parser_stmt *out)
{
	const struct parser_template *t;
	struct parser_values v = {.sql = sql, .lx = &p->lx};
	bool hit;

	p->stats.queries++;
	parser_lexer_run(&p->lx, sql, len);
	t = classify(p, sql, len, &hit);
	p->stats.unkeyed += (uint64_t)parser_template_eval(t, &v, out);
	out->cache_hit = hit;
}

void parser_prepare(struct parser *p, const char *sql, size_t len, struct parser_prepared *out)
{
	const struct parser_template *t;
	struct parser_template copy;
	struct parser_values v = {.sql = sql, .lx = &p->lx};
	bool hit;

	p->stats.prepares++;
	parser_lexer_run(&p->lx, sql, len);
	t = classify(p, sql, len, &hit);
	copy = *t;
	parser_template_fold_consts(&copy, &v);
	/* by bytes: tmpl is a char array, and the template is copied back out the same way */
	memcpy(out->tmpl, &copy, sizeof(copy));
	out->parsed = (copy.flags & PARSER_TMPL_PARSED) != 0;
	out->template_id = out->parsed ? copy.template_id : 0;
	out->catalog_version = p->cat_version;
}

void parser_bind(struct parser *p, const struct parser_prepared *prep, int nparams,
                 const char *const *vals, const int32_t *lens, const int16_t *formats,
                 struct parser_stmt *out)
{
	struct parser_template t;
	struct parser_values v = {
	        .nparams = nparams,
	        .vals = vals,
	        .lens = lens,
	        .formats = formats,
	};

	p->stats.binds++;
	memcpy(&t, prep->tmpl, sizeof(t));
	p->stats.unkeyed += (uint64_t)parser_template_eval(&t, &v, out);
	out->cache_hit = false;
}

void parser_get_stats(const struct parser *p, struct parser_stats *out)
{
	*out = p->stats;
}
