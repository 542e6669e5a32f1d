#pragma once
/*
 * Statement templates and the per-worker template cache.
 *
 * A template is what libpg_query taught us about one query shape (parser/lexer.h): the managed
 * tables it touches and, for each, the predicates on the partition key, written not as values
 * but as slots: "the minimum of constants 3, 5, 7" or "parameter $2". Evaluating a template
 * against the constants of a new text of the same shape, or against Bind values, yields the key
 * range without parsing again. It is a fixed-size value type, so it can be copied into the
 * cache, into a prepared statement (struct parser_prepared) or onto the stack.
 *
 * Key predicates of one access are AND-combined: the range is the intersection of every item's
 * bounds, and an item that cannot be evaluated (a value that is not of the key's type, a NULL or
 * missing parameter) is dropped, which only widens the range. Exclusive bounds (<, >) are
 * tightened by one for integer and timestamp keys, where the encoding is exact, and kept
 * inclusive for text keys (a superset). An empty intersection collapses to its lower bound.
 *
 * A template, the cache and the evaluation belong to one worker thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/catalog.h"
#include "common/event.h"
#include "parser/lexer.h"
#include "parser/parser.h"

#define PARSER_TMPL_ITEMS 4 /* key predicates kept per access; more are dropped (wider range) */
#define PARSER_TMPL_RUNS 6  /* slot runs per access, over all its items */
#define PARSER_TMPL_FOLDS 8 /* folded (min, max) pairs per template */
#define PARSER_NO_FOLD 0xff /* item without a folded pair */

/* Template flags. */
#define PARSER_TMPL_PARSED 0x01      /* libpg_query accepted the text */
#define PARSER_TMPL_MORE_TABLES 0x02 /* touched more than PARSER_MAX_ACCESS managed tables */
#define PARSER_TMPL_NOCACHE 0x04     /* holds values folded from this very text: do not share */

/* Where a slot's value comes from. */
enum parser_src {
	PARSER_SRC_CONST = 0, /* a lexer constant, by ordinal (0-based, in text order) */
	PARSER_SRC_PARAM,     /* a Bind parameter, by its number n of $n (1-based) */
};

/* How an item bounds the key. */
enum parser_item_kind {
	PARSER_ITEM_RANGE = 0, /* <, <=, >, >=, BETWEEN: the weakest, reported as FS_PRED_RANGE */
	PARSER_ITEM_PREFIX,    /* LIKE 'abc%': slots hold patterns, FS_PRED_PREFIX */
	PARSER_ITEM_IN,        /* IN (...), = ANY(ARRAY[...]), several INSERT rows: FS_PRED_IN */
	PARSER_ITEM_EQ,        /* = or a single value: FS_PRED_EQ */
};

#define PARSER_SIDE_LO 1 /* the item's minimum bounds the key from below */
#define PARSER_SIDE_HI 2 /* the item's maximum bounds the key from above */

/* Slots first, first + stride, ... (count of them), all from one source. */
struct parser_run {
	uint8_t src;    /* enum parser_src */
	uint8_t pad;    /* explicit: the struct is copied by value */
	uint16_t first; /* constant ordinal or parameter number of the first slot */
	uint16_t
	        stride; /* distance between consecutive slots (multi-row INSERT: columns per row) */
	uint16_t count; /* slots in the run, at least 1 */
};

/* One key predicate: the values of its runs and folded pair, taken together. */
struct parser_item {
	uint8_t kind;      /* enum parser_item_kind */
	uint8_t side;      /* PARSER_SIDE_* bits */
	uint8_t excl;      /* strict comparison (< or >) */
	uint8_t fold;      /* index of a folded pair in the template, or PARSER_NO_FOLD */
	uint8_t first_run; /* its runs are runs[first_run .. first_run + n_runs) of the access */
	uint8_t n_runs;    /* 0 when all its values are folded */
};

/* One managed table a template touches. */
struct parser_tmpl_access {
	uint16_t table_id;                           /* catalog id */
	uint8_t op;                                  /* enum fs_op */
	uint8_t keytype;                             /* enum fs_keytype, from the catalog */
	uint8_t n_items;                             /* entries used in items[] */
	uint8_t n_runs;                              /* entries used in runs[] */
	struct parser_item items[PARSER_TMPL_ITEMS]; /* AND-combined key predicates */
	struct parser_run runs[PARSER_TMPL_RUNS];    /* slots of all items */
};

/* Encoded values that could not be left as slots, already reduced to their extremes. */
struct parser_fold {
	uint64_t min; /* smallest encoded value (for PREFIX: the prefix itself) */
	uint64_t max; /* largest (for PREFIX: the prefix padded with 0xff) */
};

struct parser_template {
	uint64_t hash;        /* lexer shape hash this template was built for */
	uint32_t shape_len;   /* lexer shape length: second check on a hit */
	uint32_t n_const;     /* constants in texts of this shape: third check */
	uint32_t template_id; /* nonzero id of the shape, derived from hash */
	uint8_t flags;        /* PARSER_TMPL_* */
	uint8_t op;           /* enum fs_op of the first statement */
	uint8_t n_access;     /* entries used in access[] */
	uint8_t n_folds;      /* entries used in folds[] */
	struct parser_fold folds[PARSER_TMPL_FOLDS];
	struct parser_tmpl_access access[PARSER_MAX_ACCESS];
};

/* Where slot values come from when a template is evaluated. */
struct parser_values {
	const char *sql;               /* text of the constants, or NULL */
	const struct parser_lexer *lx; /* its lexer result, or NULL */
	int nparams;                   /* Bind parameters, 0 when none */
	const char *const *vals;       /* vals[i] is $i+1's bytes */
	const int32_t *lens;           /* their lengths, < 0 for NULL */
	const int16_t *formats;        /* 0 text, 1 binary; NULL means all text */
};

/*
 * Starts an empty, unparsed template for the shape lx found: hash, length, constant count and a
 * nonzero template id.
 */
void parser_template_init(struct parser_template *t, const struct parser_lexer *lx);

/*
 * Adds an access to table tbl with operation op. Returns its index, or -1 when PARSER_MAX_ACCESS
 * are used already (the template is then flagged PARSER_TMPL_MORE_TABLES).
 */
int parser_template_add_access(struct parser_template *t, const struct fs_table *tbl,
                               enum fs_op op);

/*
 * Builds one item of an access, slot by slot. Nothing is visible in the template until
 * parser_template_item_commit succeeds, so an item that turns out unusable halfway (an IN list
 * with an expression in it) is simply abandoned.
 */
struct parser_item_builder {
	struct parser_template *t;   /* template being built */
	int access;                  /* index of the access in t */
	struct parser_item item;     /* the item so far */
	int n_runs;                  /* runs appended after the access's committed ones */
	int n_values;                /* slots and folded values pushed */
	bool has_fold;               /* fold_min/fold_max hold values */
	uint64_t fold_min, fold_max; /* extremes of the folded values */
	bool failed;                 /* a push did not fit: commit will refuse */
};

void parser_template_item_begin(struct parser_item_builder *b, struct parser_template *t,
                                int access, enum parser_item_kind kind, int side, bool excl);

/* Adds the slot: constant ordinal or parameter number n. */
void parser_template_item_slot(struct parser_item_builder *b, enum parser_src src, uint32_t n);

/* Adds an encoded value known now (min and max equal; for PREFIX, the pattern's bounds). */
void parser_template_item_fold(struct parser_item_builder *b, uint64_t min, uint64_t max);

/* Marks the item unusable. */
void parser_template_item_fail(struct parser_item_builder *b);

/*
 * Appends the item to its access. An IN item with one value becomes EQ. Returns false (and adds
 * nothing) when the item failed, has no value, or does not fit.
 */
bool parser_template_item_commit(struct parser_item_builder *b);

/*
 * Encodes the text form s (len bytes) of one value of an item of the given kind for key type kt
 * into [*lo, *hi]: a single key (lo == hi) or, for PREFIX, the bounds of a LIKE pattern's
 * literal prefix. Returns false when s is not a value of that type or the pattern has no prefix.
 */
__attribute__((warn_unused_result)) bool parser_template_encode(enum fs_keytype kt,
                                                                enum parser_item_kind kind,
                                                                const char *s, size_t len,
                                                                uint64_t *lo, uint64_t *hi);

/*
 * Evaluates template t with values v into out (parsed, template id, op, accesses with encoded
 * key ranges). Returns the number of READ or WRITE accesses left without a usable key predicate.
 * No allocation.
 */
int parser_template_eval(const struct parser_template *t, const struct parser_values *v,
                         struct parser_stmt *out);

/*
 * Replaces every constant slot of t by its value from v, folded into the item's pair, so that
 * t no longer refers to the text (prepared statements keep only the template). Items whose
 * constants do not evaluate, or that need a pair when none is left, are removed (a wider range).
 */
void parser_template_fold_consts(struct parser_template *t, const struct parser_values *v);

/* ---- cache ---- */

struct parser_template_cache;

/*
 * Creates a cache of about entries templates (rounded up to whole sets of four; at least one
 * set). All memory is allocated here; lookups and inserts never allocate. NULL on failure.
 */
struct parser_template_cache *parser_template_cache_create(uint32_t entries);

void parser_template_cache_destroy(struct parser_template_cache *c);

/*
 * Returns the cached template for the shape lx found, or NULL. The pointer is valid until the
 * next insert or clear.
 */
const struct parser_template *parser_template_cache_lookup(struct parser_template_cache *c,
                                                           const struct parser_lexer *lx);

/* Copies t into the cache, replacing the least recently used template of its set. */
void parser_template_cache_insert(struct parser_template_cache *c, const struct parser_template *t);

/* Drops every template (the catalog changed). */
void parser_template_cache_clear(struct parser_template_cache *c);
