/*
 * The parser's lexer (see lexer.h): one pass over the query text that records where its
 * constants are and hashes the rest. The shape hash covers the token sequence with each
 * constant replaced by a placeholder byte for its class (number, negative number, string, bit
 * string) and unquoted words folded to lower case, so white space, comments and the constants'
 * values never change it. Each token is hashed as a whole: its bytes eight at a time (a word
 * folded to lower case eight at a time too), then its length, each mixed in by one
 * multiplication. The length keeps the token sequence recoverable from what is hashed, so only
 * a collision of the hash itself can make two shapes share one. This runs on every statement
 * the proxy relays; byte-at-a-time hashing cost three times as many instructions.
 * Token rules follow PostgreSQL 15's scan.l: nested block comments, operator runs cut before a
 * comment and stripped of a trailing + or -, string continuation across a newline, dollar
 * quotes, E'' escapes and $n parameters.
 */
#include "parser/lexer.h"
#include "parser/hex.h"

#include <endian.h>
#include <string.h>
#include <strings.h>

#define HASH_SEED UINT64_C(0xcbf29ce484222325)
#define HASH_MUL UINT64_C(0x9e3779b97f4a7c15)

/* One-byte tokens hashed in place of a constant or to mark a text apart; no text token is one of
 * these bytes. */
enum {
	HASH_NUMBER = 0x01,   /* a numeric constant */
	HASH_STRING = 0x02,   /* a character string constant of any quoting */
	HASH_BITS = 0x03,     /* a bit string constant */
	HASH_OPEN = 0x04,     /* a quote or comment left open: that text never parses, and must
			       not share a shape with its valid twin */
	HASH_NEG = 0x05,      /* a number with a folded unary minus (see lex_number) */
	HASH_NATIONAL = 0x06, /* the N of N'...' */
	HASH_JUNK = 0x07,     /* a word right after a number or parameter: never parses either;
			       apart from HASH_OPEN so that where the text breaks stays in the
			       shape */
};

/* What the previous token was, to tell a unary minus (part of a constant) from a binary one. */
enum prev_tok {
	PREV_EXPR_START = 0, /* start, operator, ( , [ ; : : an expression may begin next */
	PREV_OPERAND,        /* constant, ), ], quoted identifier, parameter: '-' is binary */
	PREV_WORD,           /* identifier or keyword: depends on which word (expr_keyword) */
};

/* The pass's working state. */
struct lex {
	const unsigned char *s;    /* start of the text */
	const unsigned char *end;  /* one past its last byte */
	const unsigned char *p;    /* next byte to read */
	uint64_t h;                /* running hash */
	uint32_t n;                /* bytes hashed, plus one per token */
	enum prev_tok prev;        /* class of the previous token */
	const unsigned char *word; /* the previous word, when prev is PREV_WORD */
	size_t word_len;           /* its length */
	uint32_t chain;            /* operators and set operations so far */
	uint32_t depth;            /* current ( and [ nesting */
	uint32_t max_depth;        /* deepest nesting so far */
	struct parser_lexer *lx;   /* where results go */
};

/* Character classes, as PostgreSQL 15's scanner sees bytes. */
enum {
	C_SPACE = 1,      /* white space: no \v in PostgreSQL 15 */
	C_DIGIT = 2,      /* 0-9 */
	C_IDENT = 4,      /* may start an identifier: letters, _, any byte >= 0x80 */
	C_IDCONT = 8,     /* may continue one: those, digits and $ */
	C_OP = 16,        /* operator characters */
	C_EXPR_PUNCT = 32 /* punctuation after which an expression may begin: ( , [ ; : */
};

static const unsigned char cls[256] = {
        [' '] = C_SPACE,
        ['\t'] = C_SPACE,
        ['\n'] = C_SPACE,
        ['\r'] = C_SPACE,
        ['\f'] = C_SPACE,
        ['0' ... '9'] = C_DIGIT | C_IDCONT,
        ['a' ... 'z'] = C_IDENT | C_IDCONT,
        ['A' ... 'Z'] = C_IDENT | C_IDCONT,
        ['_'] = C_IDENT | C_IDCONT,
        [0x80 ... 0xff] = C_IDENT | C_IDCONT,
        ['$'] = C_IDCONT,
        ['~'] = C_OP,
        ['!'] = C_OP,
        ['@'] = C_OP,
        ['#'] = C_OP,
        ['^'] = C_OP,
        ['&'] = C_OP,
        ['|'] = C_OP,
        ['`'] = C_OP,
        ['?'] = C_OP,
        ['+'] = C_OP,
        ['-'] = C_OP,
        ['*'] = C_OP,
        ['/'] = C_OP,
        ['%'] = C_OP,
        ['<'] = C_OP,
        ['>'] = C_OP,
        ['='] = C_OP,
        ['('] = C_EXPR_PUNCT,
        [','] = C_EXPR_PUNCT,
        ['['] = C_EXPR_PUNCT,
        [';'] = C_EXPR_PUNCT,
        [':'] = C_EXPR_PUNCT,
};

static bool is_space(unsigned char c)
{
	return cls[c] & C_SPACE;
}

static bool is_digit(unsigned char c)
{
	return cls[c] & C_DIGIT;
}

static bool is_ident_start(unsigned char c)
{
	return cls[c] & C_IDENT;
}

static bool is_ident_cont(unsigned char c)
{
	return cls[c] & C_IDCONT;
}

static bool is_op_char(unsigned char c)
{
	return cls[c] & C_OP;
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static inline void mix(struct lex *l, uint64_t w)
{
	l->h = (l->h ^ w) * HASH_MUL;
	l->h ^= l->h >> 32;
}

/* Bytes in 0x41..0x5a ('A'..'Z') of w plus 0x20, eight at a time; others, bytes >= 0x80 among
 * them, unchanged (PostgreSQL folds only ASCII letters of identifiers in a multi-byte
 * encoding). Adding 0x3f and 0x25 to a byte's low seven bits sets its top bit exactly when those
 * bits are at least 'A' and at least 'Z' + 1, and never carries into the next byte. */
static inline uint64_t ascii_lower8(uint64_t w)
{
	const uint64_t low7 = UINT64_C(0x7f7f7f7f7f7f7f7f), top = UINT64_C(0x8080808080808080);
	uint64_t b = w & low7;
	uint64_t upper =
	        (b + UINT64_C(0x3f3f3f3f3f3f3f3f)) & ~(b + UINT64_C(0x2525252525252525)) & ~w & top;

	return w | upper >> 2;
}

/* The n (1 to 8) bytes at b as one word, first byte lowest, the rest zero. Reads 8 bytes when
 * they lie inside the text. */
static inline uint64_t load_word(const struct lex *l, const unsigned char *b, size_t n)
{
	uint64_t w = 0;

	if ((size_t)(l->end - b) >= 8) {
		memcpy(&w, b, 8);
		w = le64toh(w);
		return n == 8 ? w : w & ((UINT64_C(1) << (8 * n)) - 1);
	}
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)b[i] << (8 * i);
	return w;
}

/* Hashes the n bytes at b (n > 0) as one token, folded to lower case when fold. */
static inline void hash_token(struct lex *l, const unsigned char *b, size_t n, bool fold)
{
	size_t i = 0;

	for (; n - i > 8; i += 8) {
		uint64_t w = load_word(l, b + i, 8);

		mix(l, fold ? ascii_lower8(w) : w);
	}
	uint64_t w = load_word(l, b + i, n - i);

	mix(l, fold ? ascii_lower8(w) : w);
	mix(l, n);
	l->n += (uint32_t)n + 1;
}

/* Hashes one of the HASH_ bytes as a token. */
static inline void hash_mark(struct lex *l, unsigned char mark)
{
	mix(l, mark);
	mix(l, 1);
	l->n += 2;
}

/* The final hash: the length folded in, then bits spread (fmix64). */
static uint64_t hash_final(const struct lex *l)
{
	uint64_t h = (l->h ^ ((uint64_t)l->n << 56)) * HASH_MUL;

	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h ? h : 1;
}

/*
 * Words after which a '-' starts an expression, so PostgreSQL's grammar folds it into the
 * following number. A word missing here, or one used otherwise (a column named "between"), costs
 * a cache miss: the extractor finds no constant at the location libpg_query reports, and folded
 * numbers have a placeholder of their own, so no template is ever shared with another tree.
 */
static bool expr_keyword(const unsigned char *w, size_t n)
{
	static const char *const kw[] = {
	        "select", "where",     "and",       "or",         "not",  "between", "when",
	        "then",   "else",      "case",      "having",     "on",   "limit",   "offset",
	        "by",     "returning", "distinct",  "all",        "like", "ilike",   "similar",
	        "to",     "escape",    "symmetric", "asymmetric", "is",   "in",      "any",
	        "some",   "values",    "array",     "return",
	};

	if (n > 10)
		return false;
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		if (strlen(kw[i]) == n && strncasecmp(kw[i], (const char *)w, n) == 0)
			return true;
	}
	return false;
}

/* Records a constant and hashes placeholder in its place. */
static void emit_const(struct lex *l, const unsigned char *start, const unsigned char *stop,
                       enum parser_const_kind kind, unsigned char placeholder)
{
	struct parser_lexer *lx = l->lx;

	if (lx->n_const < lx->cap) {
		struct parser_const *c = &lx->consts[lx->n_const];

		c->offset = (uint32_t)(start - l->s);
		c->len = (uint32_t)(stop - start);
		c->kind = (uint8_t)kind;
	}
	lx->n_const++;
	hash_mark(l, placeholder);
	l->prev = PREV_OPERAND;
}

/* Skips a -- comment up to (not past) the newline. */
static const unsigned char *skip_line_comment(const unsigned char *q, const unsigned char *end)
{
	while (q < end && *q != '\n' && *q != '\r')
		q++;
	return q;
}

/*
 * Skips a nested block comment starting at q ("/ *"); returns the byte after it, or NULL when
 * the comment runs to the end of the text.
 */
static const unsigned char *skip_block_comment(const unsigned char *q, const unsigned char *end)
{
	int depth = 0;

	while (q < end) {
		if (q + 1 < end && q[0] == '/' && q[1] == '*') {
			depth++;
			q += 2;
		} else if (q + 1 < end && q[0] == '*' && q[1] == '/') {
			q += 2;
			if (--depth == 0)
				return q;
		} else {
			q++;
		}
	}
	return NULL;
}

/*
 * After a closing quote at q - 1: PostgreSQL joins the next quoted segment when only white space
 * with at least one newline (and -- comments) separates them. Returns that segment's opening
 * quote, or NULL.
 */
static const unsigned char *continuation(const unsigned char *q, const unsigned char *end)
{
	bool newline = false;

	while (q < end) {
		if (*q == '\n' || *q == '\r') {
			newline = true;
			q++;
		} else if (is_space(*q)) {
			q++;
		} else if (q + 1 < end && q[0] == '-' && q[1] == '-') {
			q = skip_line_comment(q, end);
		} else {
			break;
		}
	}
	return newline && q < end && *q == '\'' ? q : NULL;
}

/* A quoted string constant whose first byte is start and whose contents begin at body. */
static void lex_string(struct lex *l, const unsigned char *start, const unsigned char *body,
                       enum parser_const_kind kind)
{
	const unsigned char *q = body, *end = l->end;

	for (;;) {
		while (q < end) {
			if (*q == '\\' && kind == PARSER_CONST_ESTRING) {
				q = end - q > 2 ? q + 2 : end;
			} else if (*q == '\'') {
				if (q + 1 < end && q[1] == '\'')
					q += 2;
				else
					break;
			} else {
				q++;
			}
		}
		if (q >= end) {
			q = end;
			hash_mark(l, HASH_OPEN);
			break;
		}
		q++; /* the closing quote */
		body = continuation(q, end);
		if (!body)
			break;
		q = body + 1;
	}
	emit_const(l, start, q, kind, kind == PARSER_CONST_BITSTRING ? HASH_BITS : HASH_STRING);
	l->p = q;
}

/* A number whose constant starts at start (a folded '-') and whose digits start at q. */
static void lex_number(struct lex *l, const unsigned char *start, const unsigned char *q)
{
	const unsigned char *end = l->end, *digits = q;

	while (q < end && is_digit(*q))
		q++;
	/* "1..2" is an integer followed by "..", as in PostgreSQL */
	if (q < end && *q == '.' && !(q + 1 < end && q[1] == '.')) {
		q++;
		while (q < end && is_digit(*q))
			q++;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		const unsigned char *r = q + 1;

		if (r < end && (*r == '+' || *r == '-'))
			r++;
		if (r < end && is_digit(*r)) {
			q = r;
			while (q < end && is_digit(*q))
				q++;
		}
	}
	/* PostgreSQL 15 rejects "123abc" ("trailing junk after numeric literal") */
	if (q < end && is_ident_start(*q))
		hash_mark(l, HASH_JUNK);
	/*
	 * A folded minus gets its own placeholder: the shape then still tells apart the texts
	 * PostgreSQL tokenizes differently ("- 5" or "5"), so a wrong guess about the grammar
	 * (a column named "between") costs a cache miss, never the template of another tree.
	 */
	emit_const(l, start, q, PARSER_CONST_NUMBER, start != digits ? HASH_NEG : HASH_NUMBER);
	l->p = q;
}

/* Eight bytes packed as load_word packs them (first byte lowest): a folded word to compare. */
#define WORD8(a, b, c, d, e, f, g, h)                                                              \
	((uint64_t)(a) | (uint64_t)(b) << 8 | (uint64_t)(c) << 16 | (uint64_t)(d) << 24 |          \
	 (uint64_t)(e) << 32 | (uint64_t)(f) << 40 | (uint64_t)(g) << 48 | (uint64_t)(h) << 56)

static inline void lex_word(struct lex *l)
{
	const unsigned char *p = l->p, *q = p + 1;
	size_t n;

	while (q < l->end && is_ident_cont(*q))
		q++;
	n = (size_t)(q - p);
	hash_token(l, p, n, true);
	l->prev = PREV_WORD;
	l->word = p;
	l->word_len = n;
	/* set operations chain left-deep like binary operators; only words of their lengths are
	 * loaded again to compare */
	if (n == 5 || n == 6 || n == 9) {
		uint64_t first = ascii_lower8(load_word(l, p, n < 8 ? n : 8));

		if (first == WORD8('u', 'n', 'i', 'o', 'n', 0, 0, 0) ||
		    first == WORD8('e', 'x', 'c', 'e', 'p', 't', 0, 0) ||
		    (n == 9 && first == WORD8('i', 'n', 't', 'e', 'r', 's', 'e', 'c') &&
		     lower(p[8]) == 't'))
			l->chain++;
	}
	l->p = q;
}

/* A quoted identifier starting at the '"' at q: hashed as written, case included. */
static void lex_quoted_ident(struct lex *l, const unsigned char *q)
{
	const unsigned char *start = q, *end = l->end;
	bool open = true;

	q++;
	while (q < end) {
		if (*q == '"') {
			if (q + 1 < end && q[1] == '"') {
				q += 2;
				continue;
			}
			q++;
			open = false;
			break;
		}
		q++;
	}
	if (open)
		hash_mark(l, HASH_OPEN);
	hash_token(l, start, (size_t)(q - start), false);
	l->prev = PREV_OPERAND;
	l->p = q;
}

/* Length of a dollar-quote delimiter ($$ or $tag$) at q, or 0. */
static size_t dollar_tag(const unsigned char *q, const unsigned char *end)
{
	const unsigned char *r = q + 1;

	if (r < end && *r == '$')
		return 2;
	if (r >= end || !is_ident_start(*r))
		return 0;
	while (r < end && (is_ident_start(*r) || is_digit(*r)))
		r++;
	return r < end && *r == '$' ? (size_t)(r - q) + 1 : 0;
}

static void lex_dollar(struct lex *l, size_t tag)
{
	const unsigned char *start = l->p, *body = start + tag, *stop;

	for (stop = body; (size_t)(l->end - stop) >= tag; stop++) {
		if (*stop == '$' && memcmp(stop, start, tag) == 0)
			break;
	}
	if ((size_t)(l->end - stop) >= tag) {
		stop += tag;
	} else {
		stop = l->end;
		hash_mark(l, HASH_OPEN);
	}
	emit_const(l, start, stop, PARSER_CONST_DOLLAR, HASH_STRING);
	l->p = stop;
}

static void lex_param(struct lex *l)
{
	const unsigned char *q = l->p + 1;
	uint32_t v = 0;

	while (q < l->end && is_digit(*q)) {
		if (v < 100000000)
			v = v * 10 + (uint32_t)(*q - '0');
		q++;
	}
	hash_token(l, l->p, (size_t)(q - l->p), false);
	if (q < l->end && is_ident_start(*q))
		hash_mark(l, HASH_JUNK); /* "$1abc" is junk too */
	if (v > l->lx->max_param)
		l->lx->max_param = v;
	l->prev = PREV_OPERAND;
	l->p = q;
}

/* Whether a '-' here is a unary minus PostgreSQL folds into the number that follows. */
static bool unary_minus_context(const struct lex *l)
{
	return l->prev == PREV_EXPR_START ||
	       (l->prev == PREV_WORD && expr_keyword(l->word, l->word_len));
}

static void lex_operator(struct lex *l)
{
	const unsigned char *p = l->p, *q = p, *end = l->end;
	size_t n;

	while (q < end && is_op_char(*q)) {
		if (q > p && q + 1 < end &&
		    ((q[0] == '-' && q[1] == '-') || (q[0] == '/' && q[1] == '*')))
			break;
		q++;
	}
	n = (size_t)(q - p);
	/* "=-" is "=" then "-", unless the run holds a character only user operators use */
	if (n > 1 && (p[n - 1] == '+' || p[n - 1] == '-')) {
		size_t i;

		for (i = 0; i < n - 1; i++) {
			if (strchr("~!@#^&|`?%", p[i]))
				break;
		}
		if (i == n - 1) {
			while (n > 1 && (p[n - 1] == '+' || p[n - 1] == '-'))
				n--;
		}
	}
	if (n == 1 && *p == '-' && unary_minus_context(l)) {
		const unsigned char *r = p + 1;

		while (r < end && is_space(*r))
			r++;
		if (r < end && (is_digit(*r) || (*r == '.' && r + 1 < end && is_digit(r[1])))) {
			lex_number(l, p, r);
			return;
		}
	}
	hash_token(l, p, n, false);
	l->prev = PREV_EXPR_START;
	l->chain++;
	l->p = p + n;
}

void parser_lexer_init(struct parser_lexer *lx, struct parser_const *consts, uint32_t cap)
{
	memset(lx, 0, sizeof(*lx));
	lx->consts = consts;
	lx->cap = cap;
}

void parser_lexer_run(struct parser_lexer *lx, const char *sql, size_t len)
{
	struct lex l = {
	        .s = (const unsigned char *)sql,
	        .end = (const unsigned char *)sql + len,
	        .p = (const unsigned char *)sql,
	        .h = HASH_SEED,
	        .prev = PREV_EXPR_START,
	        .lx = lx,
	};

	lx->n_const = 0;
	lx->max_param = 0;
	lx->nesting = 0;
	while (l.p < l.end) {
		const unsigned char *p = l.p, *end = l.end;
		unsigned char c = *p;
		size_t tag;

		if (is_space(c)) {
			do
				p++;
			while (p < end && is_space(*p));
			l.p = p;
		} else if (is_ident_start(c) && !(p + 1 < end && (p[1] == '\'' || p[1] == '&'))) {
			lex_word(&l); /* the common case, ahead of the prefixed strings below */
		} else if (c == '-' && p + 1 < end && p[1] == '-') {
			l.p = skip_line_comment(p, end);
		} else if (c == '/' && p + 1 < end && p[1] == '*') {
			l.p = skip_block_comment(p, end);
			if (!l.p) {
				hash_mark(&l, HASH_OPEN);
				l.p = end;
			}
		} else if (c == '\'') {
			lex_string(&l, p, p + 1, PARSER_CONST_STRING);
		} else if (is_ident_start(c)) {
			unsigned char lc = lower(c);

			if (p + 1 < end && p[1] == '\'' && lc == 'e') {
				lex_string(&l, p, p + 2, PARSER_CONST_ESTRING);
			} else if (p + 1 < end && p[1] == '\'' && (lc == 'b' || lc == 'x')) {
				lex_string(&l, p, p + 2, PARSER_CONST_BITSTRING);
			} else if (p + 2 < end && lc == 'u' && p[1] == '&' && p[2] == '\'') {
				lex_string(&l, p, p + 3, PARSER_CONST_USTRING);
			} else if (p + 2 < end && lc == 'u' && p[1] == '&' && p[2] == '"') {
				hash_token(&l, p, 2, true);
				lex_quoted_ident(&l, p + 2);
			} else if (p + 1 < end && p[1] == '\'' && lc == 'n') {
				/* N'...' is NATIONAL CHARACTER then the string, located at its quote */
				hash_mark(&l, HASH_NATIONAL);
				l.prev = PREV_OPERAND;
				l.p = p + 1;
			} else {
				lex_word(&l);
			}
		} else if (c == '"') {
			lex_quoted_ident(&l, p);
		} else if (is_digit(c) || (c == '.' && p + 1 < end && is_digit(p[1]))) {
			lex_number(&l, p, p);
		} else if (c == '$' && p + 1 < end && is_digit(p[1])) {
			lex_param(&l);
		} else if (c == '$' && (tag = dollar_tag(p, end)) > 0) {
			lex_dollar(&l, tag);
		} else if (is_op_char(c)) {
			lex_operator(&l);
		} else {
			/* "::", ":=" and ".." are single tokens; ": :" is two */
			size_t n = p + 1 < end && ((c == ':' && (p[1] == ':' || p[1] == '=')) ||
			                           (c == '.' && p[1] == '.'))
			                   ? 2
			                   : 1;

			hash_token(&l, p, n, false);
			if (c == '(' || c == '[') {
				if (++l.depth > l.max_depth)
					l.max_depth = l.depth;
			} else if ((c == ')' || c == ']') && l.depth > 0) {
				l.depth--;
			}
			l.prev = cls[c] & C_EXPR_PUNCT ? PREV_EXPR_START : PREV_OPERAND;
			l.p += n;
		}
	}
	lx->hash = hash_final(&l);
	lx->nesting = l.chain + l.max_depth;
	lx->shape_len = l.n;
}

int parser_lexer_find(const struct parser_lexer *lx, uint32_t offset)
{
	int lo = 0, hi = (int)(lx->n_const < lx->cap ? lx->n_const : lx->cap) - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		uint32_t o = lx->consts[mid].offset;

		if (o == offset)
			return mid;
		if (o < offset)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* ---- decoding values ---- */

/* Where a decoded value goes. */
struct out {
	char *buf;      /* caller's buffer */
	size_t n;       /* its size */
	size_t len;     /* bytes written */
	bool truncated; /* a byte did not fit */
};

static void put(struct out *o, unsigned char b)
{
	if (o->len < o->n)
		o->buf[o->len++] = (char)b;
	else
		o->truncated = true;
}

static void put_utf8(struct out *o, uint32_t cp)
{
	if (cp < 0x80) {
		put(o, (unsigned char)cp);
	} else if (cp < 0x800) {
		put(o, (unsigned char)(0xc0 | (cp >> 6)));
		put(o, (unsigned char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		put(o, (unsigned char)(0xe0 | (cp >> 12)));
		put(o, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
		put(o, (unsigned char)(0x80 | (cp & 0x3f)));
	} else {
		put(o, (unsigned char)(0xf0 | (cp >> 18)));
		put(o, (unsigned char)(0x80 | ((cp >> 12) & 0x3f)));
		put(o, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
		put(o, (unsigned char)(0x80 | (cp & 0x3f)));
	}
}

/* Reads exactly n hex digits at *q into *v. */
static bool hex_digits(const unsigned char **q, const unsigned char *end, int n, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		int d = *q + i < end ? parser_hex_digit((*q)[i]) : -1;

		if (d < 0)
			return false;
		*v = *v << 4 | (uint32_t)d;
	}
	*q += n;
	return true;
}

/* Decodes the escape after a backslash at q - 1 (E'' strings); returns the next byte or NULL. */
static const unsigned char *escape(const unsigned char *q, const unsigned char *end, struct out *o)
{
	unsigned char c = *q++;
	uint32_t v = 0, lo;
	int n = 0;

	switch (c) {
	case 'b':
		put(o, '\b');
		return q;
	case 'f':
		put(o, '\f');
		return q;
	case 'n':
		put(o, '\n');
		return q;
	case 'r':
		put(o, '\r');
		return q;
	case 't':
		put(o, '\t');
		return q;
	case 'x':
		while (n < 2 && q < end && parser_hex_digit(*q) >= 0) {
			v = v << 4 | (uint32_t)parser_hex_digit(*q++);
			n++;
		}
		put(o, n ? (unsigned char)v : 'x');
		return q;
	case 'u':
	case 'U':
		if (!hex_digits(&q, end, c == 'u' ? 4 : 8, &v) || v > 0x10ffff ||
		    (v >= 0xdc00 && v <= 0xdfff))
			return NULL;
		if (v >= 0xd800 && v <= 0xdbff) {
			/* a UTF-16 surrogate pair, the second half as \uXXXX */
			if (q + 1 >= end || q[0] != '\\' || q[1] != 'u')
				return NULL;
			q += 2;
			if (!hex_digits(&q, end, 4, &lo) || lo < 0xdc00 || lo > 0xdfff)
				return NULL;
			v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
		}
		put_utf8(o, v);
		return q;
	default:
		if (c >= '0' && c <= '7') {
			v = c - '0';
			while (n < 2 && q < end && *q >= '0' && *q <= '7') {
				v = v * 8 + (uint32_t)(*q++ - '0');
				n++;
			}
			put(o, (unsigned char)v);
		} else {
			put(o, c);
		}
		return q;
	}
}

/* Contents of quoted segments from q (after the first opening quote) to end. */
static bool decode_quoted(const unsigned char *q, const unsigned char *end, bool esc, struct out *o)
{
	while (q < end) {
		if (*q == '\'') {
			if (q + 1 < end && q[1] == '\'') {
				put(o, '\'');
				q += 2;
				continue;
			}
			/* the closing quote: skip to the next segment's opening quote, if any */
			q++;
			while (q < end && *q != '\'') {
				if (q + 1 < end && q[0] == '-' && q[1] == '-')
					q = skip_line_comment(q, end);
				else
					q++;
			}
			if (q < end)
				q++;
			continue;
		}
		if (esc && *q == '\\' && q + 1 < end) {
			q = escape(q + 1, end, o);
			if (!q)
				return false;
			continue;
		}
		put(o, *q++);
	}
	return true;
}

bool parser_lexer_value(const char *sql, const struct parser_const *c, char *buf, size_t n,
                        size_t *len, bool *truncated)
{
	const unsigned char *q = (const unsigned char *)sql + c->offset, *end = q + c->len;
	struct out o = {.buf = buf, .n = n};
	bool ok = true;
	size_t tag;

	switch (c->kind) {
	case PARSER_CONST_NUMBER:
		for (; q < end; q++) {
			if (!is_space(*q))
				put(&o, *q);
		}
		break;
	case PARSER_CONST_STRING:
		ok = decode_quoted(q + 1, end, false, &o);
		break;
	case PARSER_CONST_ESTRING:
		ok = decode_quoted(q + 2, end, true, &o);
		break;
	case PARSER_CONST_USTRING:
		ok = !memchr(q, '\\', c->len) && decode_quoted(q + 3, end, false, &o);
		break;
	case PARSER_CONST_DOLLAR:
		tag = dollar_tag(q, end);
		if (tag == 0 || c->len < tag)
			return false;
		q += tag;
		if ((size_t)(end - q) >= tag && memcmp(end - tag, q - tag, tag) == 0)
			end -= tag;
		while (q < end)
			put(&o, *q++);
		break;
	default:
		ok = false;
		break;
	}
	*len = o.len;
	*truncated = o.truncated;
	return ok;
}
