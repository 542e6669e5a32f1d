/*
 * Statement templates (see template.h): building them slot by slot for the extractor,
 * evaluating them into key ranges on every query, folding constants away for prepared
 * statements, and the per-worker cache of templates keyed by shape hash.
 *
 * The cache is 4-way set associative: a shape hash selects a set, a lookup compares four keys
 * that sit together in one array (a cache line or two), and an insert replaces the set's least
 * recently used template. All memory comes from parser_template_cache_create.
 */
#include "parser/template.h"

#include <stdlib.h>
#include <string.h>

#include "parser/keyenc.h"

_Static_assert(sizeof(struct parser_template) <= sizeof(((struct parser_prepared *)0)->tmpl),
               "a template must fit in struct parser_prepared");
_Static_assert(PARSER_TMPL_RUNS <= 0xff && PARSER_TMPL_FOLDS < PARSER_NO_FOLD,
               "run and fold indexes are bytes");

#define VALUE_MAX 80 /* bytes of a constant decoded for encoding: the longest timestamp fits */

/* Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01 (binary timestamps and dates). */
#define PG_EPOCH_US (INT64_C(946684800) * 1000000)

void parser_template_init(struct parser_template *t, const struct parser_lexer *lx)
{
	uint32_t id = (uint32_t)(lx->hash ^ (lx->hash >> 32));

	memset(t, 0, sizeof(*t));
	t->hash = lx->hash;
	t->shape_len = lx->shape_len;
	t->n_const = lx->n_const;
	t->template_id = id ? id : 1;
	t->op = FS_OP_OTHER;
}

int parser_template_add_access(struct parser_template *t, const struct fs_table *tbl, enum fs_op op)
{
	struct parser_tmpl_access *a;

	if (t->n_access == PARSER_MAX_ACCESS) {
		t->flags |= PARSER_TMPL_MORE_TABLES;
		return -1;
	}
	a = &t->access[t->n_access];
	memset(a, 0, sizeof(*a));
	a->table_id = tbl->id;
	a->op = (uint8_t)op;
	a->keytype = (uint8_t)tbl->keytype;
	return t->n_access++;
}

/* ---- building items ---- */

void parser_template_item_begin(struct parser_item_builder *b, struct parser_template *t,
                                int access, enum parser_item_kind kind, int side, bool excl)
{
	memset(b, 0, sizeof(*b));
	b->t = t;
	b->access = access;
	b->item.kind = (uint8_t)kind;
	b->item.side = (uint8_t)side;
	b->item.excl = excl;
	b->item.fold = PARSER_NO_FOLD;
	b->failed = access < 0 || access >= t->n_access;
	if (!b->failed)
		b->item.first_run = t->access[access].n_runs;
}

void parser_template_item_slot(struct parser_item_builder *b, enum parser_src src, uint32_t n)
{
	struct parser_tmpl_access *a;
	struct parser_run *r;

	if (b->failed)
		return;
	if (n > UINT16_MAX) {
		b->failed = true;
		return;
	}
	a = &b->t->access[b->access];
	b->n_values++;
	/* extend the current run when the slot continues its arithmetic progression */
	if (b->n_runs > 0) {
		r = &a->runs[a->n_runs + b->n_runs - 1];
		if (r->src == src && r->count == 1 && n > r->first) {
			r->stride = (uint16_t)(n - r->first);
			r->count = 2;
			return;
		}
		if (r->src == src && r->count > 1 && r->count < UINT16_MAX &&
		    n == (uint32_t)r->first + (uint32_t)r->stride * r->count) {
			r->count++;
			return;
		}
	}
	if (a->n_runs + b->n_runs >= PARSER_TMPL_RUNS) {
		b->failed = true;
		return;
	}
	r = &a->runs[a->n_runs + b->n_runs++];
	*r = (struct parser_run){
	        .src = (uint8_t)src, .first = (uint16_t)n, .stride = 1, .count = 1};
}

void parser_template_item_fold(struct parser_item_builder *b, uint64_t min, uint64_t max)
{
	if (!b->has_fold || min < b->fold_min)
		b->fold_min = min;
	if (!b->has_fold || max > b->fold_max)
		b->fold_max = max;
	b->has_fold = true;
	b->n_values++;
}

void parser_template_item_fail(struct parser_item_builder *b)
{
	b->failed = true;
}

bool parser_template_item_commit(struct parser_item_builder *b)
{
	struct parser_template *t = b->t;
	struct parser_tmpl_access *a;

	if (b->failed || b->n_values == 0)
		return false;
	a = &t->access[b->access];
	if (a->n_items == PARSER_TMPL_ITEMS || (b->has_fold && t->n_folds == PARSER_TMPL_FOLDS))
		return false;
	if (b->has_fold) {
		t->folds[t->n_folds] = (struct parser_fold){b->fold_min, b->fold_max};
		b->item.fold = t->n_folds++;
	}
	if (b->item.kind == PARSER_ITEM_IN && b->n_values == 1)
		b->item.kind = PARSER_ITEM_EQ;
	b->item.n_runs = (uint8_t)b->n_runs;
	a->items[a->n_items++] = b->item;
	a->n_runs = (uint8_t)(a->n_runs + b->n_runs);
	return true;
}

/* ---- evaluation ---- */

static int64_t be_int(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	/* sign-extend from n bytes */
	if (n < 8 && (v >> (8 * n - 1)) & 1)
		v |= ~UINT64_C(0) << (8 * n);
	return (int64_t)v;
}

/*
 * A binary numeric (a client that declared its parameter numeric) compared with an integer key:
 * ndigits, weight, sign and dscale as int16, then ndigits base-10000 digits, the first worth
 * 10000^weight. Only whole numbers within int64 give a key; a fraction, NaN, an infinity or a
 * malformed value gives none. Zero has no digits and the 8 bytes of an int8, which decodes it
 * the same.
 */
static bool numeric_value(const unsigned char *p, int32_t len, uint64_t *out)
{
	int64_t ndigits, weight, sign, v = 0;

	if (len < 10 || (len - 8) % 2 != 0)
		return false;
	ndigits = be_int(p, 2);
	weight = be_int(p + 2, 2);
	sign = be_int(p + 4, 2) & 0xffff;
	if (ndigits != (len - 8) / 2 || (sign != 0 && sign != 0x4000) || weight < 0 ||
	    ndigits > weight + 1)
		return false;
	for (int64_t i = 0; i <= weight; i++) {
		int64_t d = i < ndigits ? be_int(p + 8 + 2 * i, 2) : 0;

		if (d < 0 || d >= 10000 || __builtin_mul_overflow(v, 10000, &v) ||
		    __builtin_add_overflow(v, sign ? -d : d, &v))
			return false;
	}
	*out = parser_keyenc_int(v);
	return true;
}

/*
 * Encodes a binary-format Bind value: int2/int4/int8 or a whole numeric for integer keys;
 * timestamp(tz) (8 bytes, microseconds since 2000-01-01) or date (4 bytes, days since then) for
 * timestamp keys; text's binary form is its bytes; uuid's is its 16 bytes, and any other length
 * gives no key.
 */
static bool binary_value(enum fs_keytype kt, const unsigned char *p, int32_t len, uint64_t *out)
{
	int64_t v;

	switch (kt) {
	case FS_KEY_INT:
		if (len == 2 || len == 4 || len == 8) {
			*out = parser_keyenc_int(be_int(p, len));
			return true;
		}
		return numeric_value(p, len, out);
	case FS_KEY_TIMESTAMP:
		if (len == 8) {
			v = be_int(p, 8);
			if (v == INT64_MAX || v == INT64_MIN) {
				*out = v == INT64_MAX ? UINT64_MAX : 0; /* infinity */
				return true;
			}
			if (__builtin_add_overflow(v, PG_EPOCH_US, &v))
				return false;
		} else if (len == 4) {
			v = be_int(p, 4);
			if (v == INT32_MAX || v == INT32_MIN) {
				*out = v == INT32_MAX ? UINT64_MAX : 0;
				return true;
			}
			/* a date can lie far past what microseconds hold: then it gives no key */
			if (__builtin_mul_overflow(v, INT64_C(86400) * 1000000, &v) ||
			    __builtin_add_overflow(v, PG_EPOCH_US, &v))
				return false;
		} else {
			return false;
		}
		*out = parser_keyenc_ts(v);
		return true;
	case FS_KEY_TEXT:
		*out = parser_keyenc_text((const char *)p, (size_t)len);
		return true;
	case FS_KEY_UUID:
		if (len != 16)
			return false;
		*out = parser_keyenc_uuid(p);
		return true;
	default:
		return false;
	}
}

/*
 * The bounds of a LIKE pattern on a text key: every match starts with the bytes before the
 * first unescaped % or _. False when the pattern starts with a wildcard (no bound).
 */
static bool prefix_bounds(const char *s, size_t len, uint64_t *lo, uint64_t *hi)
{
	unsigned char pre[8] = {0};
	size_t n = 0;
	bool wild = false;

	for (size_t i = 0; i < len && n < 8; i++) {
		if (s[i] == '%' || s[i] == '_') {
			wild = true;
			break;
		}
		if (s[i] == '\\' && i + 1 < len)
			i++;
		pre[n++] = (unsigned char)s[i];
	}
	if (wild && n == 0)
		return false;
	*lo = parser_keyenc_text((const char *)pre, n);
	*hi = *lo;
	if (wild) {
		while (n < 8)
			pre[n++] = 0xff;
		*hi = parser_keyenc_text((const char *)pre, 8);
	}
	return true;
}

bool parser_template_encode(enum fs_keytype kt, enum parser_item_kind kind, const char *s,
                            size_t len, uint64_t *lo, uint64_t *hi)
{
	if (kind == PARSER_ITEM_PREFIX)
		return kt == FS_KEY_TEXT && prefix_bounds(s, len, lo, hi);
	if (!parser_keyenc_parse(kt, s, len, lo))
		return false;
	*hi = *lo;
	return true;
}

/* Encodes slot (src, n) of an item of the given kind for key type kt into [*lo, *hi]. */
static bool slot_value(const struct parser_values *v, enum fs_keytype kt,
                       enum parser_item_kind kind, enum parser_src src, uint32_t n, uint64_t *lo,
                       uint64_t *hi)
{
	char buf[VALUE_MAX];
	const char *s;
	size_t len;
	bool truncated = false;

	if (kind == PARSER_ITEM_PREFIX && kt != FS_KEY_TEXT)
		return false;
	if (src == PARSER_SRC_CONST) {
		const struct parser_lexer *lx = v->lx;

		if (!lx || !v->sql || n >= lx->n_const || n >= lx->cap ||
		    !parser_lexer_value(v->sql, &lx->consts[n], buf, sizeof(buf), &len, &truncated))
			return false;
		s = buf;
	} else {
		if (n < 1 || (int)n > v->nparams || !v->vals || !v->lens || v->lens[n - 1] < 0)
			return false;
		s = v->vals[n - 1];
		len = (size_t)v->lens[n - 1];
		if (v->formats && v->formats[n - 1] == 1 && kind != PARSER_ITEM_PREFIX) {
			if (!binary_value(kt, (const unsigned char *)s, v->lens[n - 1], lo))
				return false;
			*hi = *lo;
			return true;
		}
	}
	if (truncated && kt != FS_KEY_TEXT)
		return false;
	return parser_template_encode(kt, kind, s, len, lo, hi);
}

/* Widens [*mn, *mx] by every slot of run r; false when one does not evaluate. */
static bool run_values(const struct parser_values *v, enum fs_keytype kt,
                       enum parser_item_kind kind, const struct parser_run *r, uint64_t *mn,
                       uint64_t *mx)
{
	for (uint32_t j = 0; j < r->count; j++) {
		uint64_t lo, hi;

		if (!slot_value(v, kt, kind, (enum parser_src)r->src,
		                (uint32_t)r->first + j * r->stride, &lo, &hi))
			return false;
		if (lo < *mn)
			*mn = lo;
		if (hi > *mx)
			*mx = hi;
	}
	return true;
}

/* Integer and timestamp encodings are exact: the next key after k is k + 1. */
static bool exact(enum fs_keytype kt)
{
	return kt == FS_KEY_INT || kt == FS_KEY_TIMESTAMP;
}

static const uint8_t pred_of_kind[] = {
        [PARSER_ITEM_RANGE] = FS_PRED_RANGE,
        [PARSER_ITEM_PREFIX] = FS_PRED_PREFIX,
        [PARSER_ITEM_IN] = FS_PRED_IN,
        [PARSER_ITEM_EQ] = FS_PRED_EQ,
};

static void eval_access(const struct parser_template *t, const struct parser_tmpl_access *a,
                        const struct parser_values *v, struct parser_access *out)
{
	enum fs_keytype kt = (enum fs_keytype)a->keytype;
	uint64_t lo = 0, hi = UINT64_MAX;
	int best = -1;

	for (int i = 0; i < a->n_items; i++) {
		const struct parser_item *it = &a->items[i];
		uint64_t mn = UINT64_MAX, mx = 0, b;
		bool ok = true;

		if (it->fold != PARSER_NO_FOLD) {
			mn = t->folds[it->fold].min;
			mx = t->folds[it->fold].max;
		}
		for (int r = 0; r < it->n_runs && ok; r++)
			ok = run_values(v, kt, (enum parser_item_kind)it->kind,
			                &a->runs[it->first_run + r], &mn, &mx);
		if (!ok)
			continue; /* dropping an AND-ed predicate only widens the range */
		if (it->side & PARSER_SIDE_LO) {
			b = it->excl && exact(kt) && mn < UINT64_MAX ? mn + 1 : mn;
			if (b > lo)
				lo = b;
		}
		if (it->side & PARSER_SIDE_HI) {
			b = it->excl && exact(kt) && mx > 0 ? mx - 1 : mx;
			if (b < hi)
				hi = b;
		}
		if (it->kind > best)
			best = it->kind;
	}
	out->table_id = a->table_id;
	out->op = a->op;
	if (best < 0) {
		out->pred = FS_PRED_NONE;
		out->key_lo = 0;
		out->key_hi = UINT64_MAX;
		return;
	}
	out->pred = pred_of_kind[best];
	out->key_lo = lo;
	out->key_hi = hi < lo ? lo : hi;
}

int parser_template_eval(const struct parser_template *t, const struct parser_values *v,
                         struct parser_stmt *out)
{
	int unkeyed = 0;

	out->parsed = (t->flags & PARSER_TMPL_PARSED) != 0;
	out->template_id = out->parsed ? t->template_id : 0;
	out->op = t->op;
	out->more_tables = (t->flags & PARSER_TMPL_MORE_TABLES) != 0;
	out->n_access = out->parsed ? t->n_access : 0;
	for (int i = 0; i < out->n_access; i++) {
		struct parser_access *a = &out->access[i];

		eval_access(t, &t->access[i], v, a);
		if (a->pred == FS_PRED_NONE && (a->op == FS_OP_READ || a->op == FS_OP_WRITE))
			unkeyed++;
	}
	return unkeyed;
}

void parser_template_fold_consts(struct parser_template *t, const struct parser_values *v)
{
	for (int i = 0; i < t->n_access; i++) {
		struct parser_tmpl_access *a = &t->access[i];
		struct parser_tmpl_access old = *a;
		enum fs_keytype kt = (enum fs_keytype)a->keytype;

		a->n_items = 0;
		a->n_runs = 0;
		for (int j = 0; j < old.n_items; j++) {
			struct parser_item it = old.items[j];
			uint64_t mn = UINT64_MAX, mx = 0;
			bool ok = true, folded = false;
			uint8_t first = a->n_runs;

			if (it.fold != PARSER_NO_FOLD) {
				mn = t->folds[it.fold].min;
				mx = t->folds[it.fold].max;
			}
			for (int r = 0; r < it.n_runs && ok; r++) {
				const struct parser_run *run = &old.runs[it.first_run + r];

				if (run->src == PARSER_SRC_CONST) {
					ok = run_values(v, kt, (enum parser_item_kind)it.kind, run,
					                &mn, &mx);
					folded = true;
				} else {
					a->runs[a->n_runs++] = *run;
				}
			}
			if (ok && folded && it.fold == PARSER_NO_FOLD) {
				if (t->n_folds < PARSER_TMPL_FOLDS)
					it.fold = t->n_folds++;
				else
					ok = false;
			}
			if (!ok) {
				a->n_runs = first; /* drop the item and the runs it kept */
				continue;
			}
			if (folded)
				t->folds[it.fold] = (struct parser_fold){mn, mx};
			it.first_run = first;
			it.n_runs = (uint8_t)(a->n_runs - first);
			a->items[a->n_items++] = it;
		}
	}
}

/* ---- cache ---- */

#define WAYS 4

/* What a lookup compares, kept apart from the templates so a probe touches little memory. */
struct cache_key {
	uint64_t hash;      /* shape hash */
	uint32_t shape_len; /* shape length */
	uint32_t stamp;     /* last use; 0 marks an empty slot */
};

struct parser_template_cache {
	uint32_t mask;                 /* sets - 1; sets is a power of two */
	uint32_t tick;                 /* use counter for the stamps, never 0 */
	struct cache_key *keys;        /* sets * WAYS keys */
	struct parser_template *tmpls; /* the templates, same indexes */
};

struct parser_template_cache *parser_template_cache_create(uint32_t entries)
{
	struct parser_template_cache *c = calloc(1, sizeof(*c));
	uint32_t sets = 1;

	if (!c)
		return NULL;
	while (sets * WAYS < entries && sets < (UINT32_C(1) << 24))
		sets <<= 1;
	c->mask = sets - 1;
	c->keys = calloc((size_t)sets * WAYS, sizeof(*c->keys));
	c->tmpls = calloc((size_t)sets * WAYS, sizeof(*c->tmpls));
	if (!c->keys || !c->tmpls) {
		parser_template_cache_destroy(c);
		return NULL;
	}
	return c;
}

void parser_template_cache_destroy(struct parser_template_cache *c)
{
	if (!c)
		return;
	free(c->keys);
	free(c->tmpls);
	free(c);
}

static uint32_t set_of(const struct parser_template_cache *c, uint64_t hash)
{
	return (uint32_t)((hash >> 32) ^ hash) & c->mask;
}

static uint32_t next_stamp(struct parser_template_cache *c)
{
	if (++c->tick == 0)
		c->tick = 1;
	return c->tick;
}

const struct parser_template *parser_template_cache_lookup(struct parser_template_cache *c,
                                                           const struct parser_lexer *lx)
{
	uint32_t base = set_of(c, lx->hash) * WAYS;

	for (uint32_t i = base; i < base + WAYS; i++) {
		struct cache_key *k = &c->keys[i];

		if (k->stamp && k->hash == lx->hash && k->shape_len == lx->shape_len &&
		    c->tmpls[i].n_const == lx->n_const) {
			k->stamp = next_stamp(c);
			return &c->tmpls[i];
		}
	}
	return NULL;
}

void parser_template_cache_insert(struct parser_template_cache *c, const struct parser_template *t)
{
	uint32_t base = set_of(c, t->hash) * WAYS, victim = base;

	for (uint32_t i = base; i < base + WAYS; i++) {
		const struct cache_key *k = &c->keys[i];

		if (k->stamp == 0 || (k->hash == t->hash && k->shape_len == t->shape_len)) {
			victim = i;
			break;
		}
		/* the oldest stamp, counting from the current tick so wrap-around is harmless */
		if (c->tick - k->stamp > c->tick - c->keys[victim].stamp)
			victim = i;
	}
	c->tmpls[victim] = *t;
	c->keys[victim] = (struct cache_key){t->hash, t->shape_len, next_stamp(c)};
}

void parser_template_cache_clear(struct parser_template_cache *c)
{
	memset(c->keys, 0, (size_t)(c->mask + 1) * WAYS * sizeof(*c->keys));
}
