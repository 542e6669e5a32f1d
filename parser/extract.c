/*
 * Template extraction (see extract.h): parse with libpg_query, unpack the protobuf tree and walk
 * it. Each SELECT (and each UPDATE or DELETE with its FROM or USING list) is a scope: the
 * relations of its FROM clause, found by name in the catalog unless a CTE of that name hides
 * them, with their aliases. The scope's WHERE clause and inner join conditions are split into
 * AND-ed conjuncts; a conjunct that compares a managed table's key column with constants or
 * parameters becomes an item of that table's access, anything else is ignored (so an OR, a
 * function call or a sub-select only leave the range wider). INSERT ... VALUES keys come from
 * the key column's position in each row.
 *
 * Nested statements can sit anywhere (sub-selects in target lists, CTEs, INSERT ... SELECT,
 * CREATE TABLE AS), so besides the clauses it understands, the walker visits every field of every
 * message through the protobuf-c descriptors and starts a new scope at each statement it meets.
 *
 * Constants are matched to the lexer's by their location, a byte offset into the text. When a
 * key value has no lexer constant at its location, its value is folded from the tree into the
 * template, which is then not cached (another text of the same shape may hold another value).
 */
#include "parser/extract.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>
#include <stdio.h>
#include <string.h>

#include "parser/keyenc.h"

#define SCOPE_MAX 32 /* relations of one FROM clause that can take key predicates */
#define CTE_MAX 32   /* CTE names visible at once */
/*
 * Nodes nested deeper are not walked (a sub-select inside them goes unseen). Bounds the stack: a
 * statement level holds one scope of about 1.5 kB.
 */
#define DEPTH_MAX 100
#define PB_DEPTH_MAX 1000 /* protobuf message nesting unpacked (pb_shallow) */
#define FOLD_TEXT 80      /* bytes of a folded constant kept for encoding */

/* A relation visible in a scope. */
struct scope_entry {
	const char *schema;           /* schema as written, or NULL */
	const char *name;             /* relation name, or the alias of a sub-select or function */
	const char *alias;            /* alias, which hides name, or NULL */
	const struct fs_table *table; /* managed table, or NULL */
	int access;                   /* its access index in the template, or -1 */
	bool key_moved;               /* UPDATE target whose key is assigned: no key predicate */
};

struct scope {
	struct scope_entry e[SCOPE_MAX]; /* in FROM order, join operands in place */
	int n;                           /* entries used */
};

struct ctx {
	const char *sql;               /* the text */
	const struct parser_lexer *lx; /* its constants */
	const struct fs_catalog *cat;  /* managed tables, or NULL */
	struct parser_template *t;     /* template being built */
	const char *ctes[CTE_MAX];     /* CTE names in scope, innermost last (borrowed from tree) */
	int n_ctes;                    /* entries used */
	int depth;                     /* statements being walked */
};

/* A value operand of a key predicate: a slot, or a value taken from the tree. */
struct operand {
	bool folded;          /* text holds the value; src and n are unused */
	enum parser_src src;  /* where the slot is */
	uint32_t n;           /* constant ordinal or parameter number */
	char text[FOLD_TEXT]; /* folded value's text form */
	size_t len;           /* bytes in text */
	bool truncated;       /* text is a prefix of the value */
};

static void walk_node(struct ctx *c, const PgQuery__Node *n);
static void walk_message(struct ctx *c, const ProtobufCMessage *m);
static void walk_select(struct ctx *c, const PgQuery__SelectStmt *s);

static bool set(const char *s)
{
	return s && *s; /* protobuf-c gives "" for an absent string */
}

static void walk_nodes(struct ctx *c, PgQuery__Node *const *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		walk_node(c, nodes[i]);
}

/* Visits every message-typed field of m, so statements nested anywhere are found. */
static void walk_message(struct ctx *c, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d;

	if (!m)
		return;
	d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *arr =
			        *(ProtobufCMessage *const *const *)(base + f->offset);

			for (size_t j = 0; j < n; j++) {
				if (arr[j] && arr[j]->descriptor == &pg_query__node__descriptor)
					walk_node(c, (const PgQuery__Node *)arr[j]);
				else
					walk_message(c, arr[j]);
			}
		} else {
			const ProtobufCMessage *sub =
			        *(ProtobufCMessage *const *)(base + f->offset);

			if (sub && sub->descriptor == &pg_query__node__descriptor)
				walk_node(c, (const PgQuery__Node *)sub);
			else
				walk_message(c, sub);
		}
	}
}

/* Reads a base-128 varint at *pos (before end) into *v. */
static bool pb_varint(const uint8_t *buf, size_t end, size_t *pos, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *pos < end; shift += 7) {
		uint8_t b = buf[(*pos)++];

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/* ---- relations ---- */

static bool is_cte(const struct ctx *c, const char *name)
{
	for (int i = c->n_ctes - 1; i >= 0; i--) {
		if (strcmp(c->ctes[i], name) == 0)
			return true;
	}
	return false;
}

static void push_ctes(struct ctx *c, const PgQuery__WithClause *w)
{
	if (!w)
		return;
	/* names first: a CTE may refer to itself (RECURSIVE) or to those before it */
	for (size_t i = 0; i < w->n_ctes; i++) {
		const PgQuery__Node *n = w->ctes[i];

		if (n->node_case == PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR && c->n_ctes < CTE_MAX)
			c->ctes[c->n_ctes++] = n->common_table_expr->ctename;
	}
	for (size_t i = 0; i < w->n_ctes; i++) {
		const PgQuery__Node *n = w->ctes[i];

		if (n->node_case == PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR)
			walk_node(c, n->common_table_expr->ctequery);
	}
}

static const struct fs_table *find_table(const struct ctx *c, const PgQuery__RangeVar *rv)
{
	const char *schema = set(rv->schemaname) ? rv->schemaname : NULL;

	if (!c->cat || !set(rv->relname) || (!schema && is_cte(c, rv->relname)))
		return NULL;
	return fs_catalog_find(c->cat, schema, rv->relname);
}

/* Adds relation rv, accessed with op, to the template and (when sc is not NULL) to scope sc. */
static struct scope_entry *add_relation(struct ctx *c, struct scope *sc,
                                        const PgQuery__RangeVar *rv, enum fs_op op)
{
	const struct fs_table *tbl = find_table(c, rv);
	int access = tbl ? parser_template_add_access(c->t, tbl, op) : -1;
	struct scope_entry *e;

	if (!sc || sc->n == SCOPE_MAX)
		return NULL;
	e = &sc->e[sc->n++];
	*e = (struct scope_entry){
	        .schema = set(rv->schemaname) ? rv->schemaname : NULL,
	        .name = rv->relname,
	        .alias = rv->alias && set(rv->alias->aliasname) ? rv->alias->aliasname : NULL,
	        .table = access >= 0 ? tbl : NULL,
	        .access = access,
	};
	return e;
}

/* A FROM item that is not a table: only its alias is visible. */
static void add_opaque(struct scope *sc, const PgQuery__Alias *alias)
{
	if (sc->n < SCOPE_MAX)
		sc->e[sc->n++] = (struct scope_entry){
		        .name = alias && set(alias->aliasname) ? alias->aliasname : NULL,
		        .access = -1,
		};
}

static void apply_quals(struct ctx *c, struct scope *sc, int lo, int hi, const PgQuery__Node *q);

static void add_from(struct ctx *c, struct scope *sc, const PgQuery__Node *n)
{
	const PgQuery__JoinExpr *j;
	int a0, a1, a2;

	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_RANGE_VAR:
		add_relation(c, sc, n->range_var, FS_OP_READ);
		break;
	case PG_QUERY__NODE__NODE_JOIN_EXPR:
		j = n->join_expr;
		a0 = sc->n;
		if (j->larg)
			add_from(c, sc, j->larg);
		a1 = sc->n;
		if (j->rarg)
			add_from(c, sc, j->rarg);
		a2 = sc->n;
		/* ON restricts the rows read from both sides of an inner join, only the nullable
		 * side of an outer one */
		if (j->quals && j->jointype == PG_QUERY__JOIN_TYPE__JOIN_INNER)
			apply_quals(c, sc, a0, a2, j->quals);
		else if (j->quals && j->jointype == PG_QUERY__JOIN_TYPE__JOIN_LEFT)
			apply_quals(c, sc, a1, a2, j->quals);
		else if (j->quals && j->jointype == PG_QUERY__JOIN_TYPE__JOIN_RIGHT)
			apply_quals(c, sc, a0, a1, j->quals);
		walk_node(c, j->quals);
		break;
	case PG_QUERY__NODE__NODE_RANGE_SUBSELECT:
		walk_node(c, n->range_subselect->subquery);
		add_opaque(sc, n->range_subselect->alias);
		break;
	case PG_QUERY__NODE__NODE_RANGE_FUNCTION:
		walk_message(c, &n->range_function->base);
		add_opaque(sc, n->range_function->alias);
		break;
	case PG_QUERY__NODE__NODE_RANGE_TABLE_SAMPLE:
		if (n->range_table_sample->relation)
			add_from(c, sc, n->range_table_sample->relation);
		break;
	default:
		walk_node(c, n);
		break;
	}
}

/* ---- key predicates ---- */

static const char *str_node(const PgQuery__Node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_STRING ? n->string->sval : NULL;
}

static bool entry_is(const struct scope_entry *e, const char *schema, const char *qual)
{
	const char *visible = e->alias ? e->alias : e->name;

	if (!visible || strcmp(visible, qual) != 0)
		return false;
	if (!schema)
		return true;
	if (e->alias || !e->table)
		return false;
	return strcmp(e->schema ? e->schema : e->table->schema, schema) == 0;
}

/* The entry in sc[lo, hi) whose partition key column n refers to, or NULL. */
static struct scope_entry *key_entry(struct scope *sc, int lo, int hi, const PgQuery__Node *n)
{
	const PgQuery__ColumnRef *cr;
	const char *col, *qual, *schema;
	struct scope_entry *found = NULL;

	if (!n || n->node_case != PG_QUERY__NODE__NODE_COLUMN_REF)
		return NULL;
	cr = n->column_ref;
	if (cr->n_fields == 0 || !(col = str_node(cr->fields[cr->n_fields - 1])))
		return NULL;
	qual = cr->n_fields >= 2 ? str_node(cr->fields[cr->n_fields - 2]) : NULL;
	schema = cr->n_fields >= 3 ? str_node(cr->fields[cr->n_fields - 3]) : NULL;
	if (cr->n_fields >= 2 && !qual)
		return NULL;
	for (int i = lo; i < hi; i++) {
		struct scope_entry *e = &sc->e[i];

		if (qual && !entry_is(e, schema, qual))
			continue;
		if (qual)
			return e->table && !e->key_moved && strcmp(e->table->key, col) == 0 ? e
			                                                                    : NULL;
		if (e->table && strcmp(e->table->key, col) == 0) {
			if (found)
				return NULL; /* ambiguous: PostgreSQL would reject it */
			found = e;
		}
	}
	return found && !found->key_moved ? found : NULL;
}

/* The text form of a constant in the tree, for folding. */
static bool const_text(const PgQuery__AConst *k, struct operand *o)
{
	const char *s = NULL;
	size_t len;

	if (k->isnull)
		return false;
	switch (k->val_case) {
	case PG_QUERY__A__CONST__VAL_IVAL:
		o->len = (size_t)snprintf(o->text, sizeof(o->text), "%d", k->ival->ival);
		return true;
	case PG_QUERY__A__CONST__VAL_FVAL:
		s = k->fval->fval;
		break;
	case PG_QUERY__A__CONST__VAL_SVAL:
		s = k->sval->sval;
		break;
	default:
		return false;
	}
	len = strlen(s);
	o->truncated = len > sizeof(o->text);
	o->len = o->truncated ? sizeof(o->text) : len;
	memcpy(o->text, s, o->len);
	return true;
}

static bool operand(struct ctx *c, const PgQuery__Node *n, struct operand *o);

/* A unary minus over a constant: PostgreSQL folds "-5" itself, but not "-5::int" or "-'5'". */
static bool negated(struct ctx *c, const PgQuery__AExpr *e, struct operand *o)
{
	int ord = parser_lexer_find(c->lx, (uint32_t)e->location);
	const PgQuery__Node *arg = e->rexpr;
	struct operand in;
	const char *s;
	bool trunc;

	while (arg->node_case == PG_QUERY__NODE__NODE_TYPE_CAST && arg->type_cast->arg)
		arg = arg->type_cast->arg;
	/* "-5::int": the lexer folded the minus into the number it found at the same place */
	if (ord >= 0 && c->lx->consts[ord].kind == PARSER_CONST_NUMBER &&
	    arg->node_case == PG_QUERY__NODE__NODE_A_CONST) {
		o->folded = false;
		o->src = PARSER_SRC_CONST;
		o->n = (uint32_t)ord;
		return true;
	}
	if (!operand(c, e->rexpr, &in) || (!in.folded && in.src != PARSER_SRC_CONST))
		return false;
	if (!in.folded && !parser_lexer_value(c->sql, &c->lx->consts[in.n], in.text,
	                                      sizeof(in.text), &in.len, &in.truncated))
		return false;
	/* fold "-" and the value's text; the slot alone could not carry the sign */
	c->t->flags |= PARSER_TMPL_NOCACHE;
	o->folded = true;
	s = in.text;
	if (in.len > 0 && s[0] == '-') {
		o->len = in.len - 1;
		memcpy(o->text, s + 1, o->len);
		o->truncated = in.truncated;
	} else {
		trunc = in.len == sizeof(o->text);
		o->text[0] = '-';
		o->len = trunc ? in.len : in.len + 1;
		memcpy(o->text + 1, s, o->len - 1);
		o->truncated = in.truncated || trunc;
	}
	return true;
}

/* Whether location lies beyond the constants the lexer could record. */
static bool past_cap(const struct ctx *c, int32_t location)
{
	const struct parser_lexer *lx = c->lx;

	return parser_lexer_overflow(lx) && lx->cap > 0 &&
	       (uint32_t)location > lx->consts[lx->cap - 1].offset;
}

/* Resolves a value expression to a slot or a folded value; false when it is neither. */
static bool operand(struct ctx *c, const PgQuery__Node *n, struct operand *o)
{
	const PgQuery__AExpr *e;
	const char *op;
	int ord;

	*o = (struct operand){.folded = false};
	if (!n)
		return false;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_A_CONST:
		ord = parser_lexer_find(c->lx, (uint32_t)n->a_const->location);
		if (ord >= 0) {
			o->folded = false;
			o->src = PARSER_SRC_CONST;
			o->n = (uint32_t)ord;
			return true;
		}
		/* past the lexer's array: unkeyable, like the rest of an overflowing text */
		if (past_cap(c, n->a_const->location))
			return false;
		o->folded = true;
		c->t->flags |= PARSER_TMPL_NOCACHE;
		return const_text(n->a_const, o);
	case PG_QUERY__NODE__NODE_TYPE_CAST:
		return operand(c, n->type_cast->arg, o);
	case PG_QUERY__NODE__NODE_PARAM_REF:
		if (n->param_ref->number < 1)
			return false;
		o->folded = false;
		o->src = PARSER_SRC_PARAM;
		o->n = (uint32_t)n->param_ref->number;
		return true;
	case PG_QUERY__NODE__NODE_A_EXPR:
		e = n->a_expr;
		op = e->n_name == 1 ? str_node(e->name[0]) : NULL;
		if (e->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || e->lexpr || !e->rexpr || !op)
			return false;
		if (strcmp(op, "+") == 0)
			return operand(c, e->rexpr, o);
		return strcmp(op, "-") == 0 && negated(c, e, o);
	default:
		return false;
	}
}

/* Pushes value expression n into item builder b for key type kt. */
static void push_value(struct ctx *c, struct parser_item_builder *b, enum fs_keytype kt,
                       enum parser_item_kind kind, const PgQuery__Node *n)
{
	struct operand o;
	uint64_t lo, hi;

	if (!operand(c, n, &o)) {
		parser_template_item_fail(b);
	} else if (o.folded) {
		if ((o.truncated && kt != FS_KEY_TEXT) ||
		    !parser_template_encode(kt, kind, o.text, o.len, &lo, &hi))
			parser_template_item_fail(b);
		else
			parser_template_item_fold(b, lo, hi);
	} else {
		parser_template_item_slot(b, o.src, o.n);
	}
}

/* Adds item (kind, side, excl) over values vals[0..n) to entry e's access. */
static void add_item(struct ctx *c, const struct scope_entry *e, enum parser_item_kind kind,
                     int side, bool excl, PgQuery__Node *const *vals, size_t n)
{
	struct parser_item_builder b;
	enum fs_keytype kt;

	if (!e || !e->table || e->access < 0)
		return;
	kt = (enum fs_keytype)c->t->access[e->access].keytype;
	if (kt == FS_KEY_UNSUPPORTED || (kind == PARSER_ITEM_PREFIX && kt != FS_KEY_TEXT))
		return;
	parser_template_item_begin(&b, c->t, e->access, kind, side, excl);
	for (size_t i = 0; i < n && !b.failed; i++)
		push_value(c, &b, kt, kind, vals[i]);
	(void)parser_template_item_commit(&b);
}

/* The comparison operator read with its operands swapped: 5 < k is k > 5. */
static const char *mirror(const char *op)
{
	if (strcmp(op, "<") == 0)
		return ">";
	if (strcmp(op, ">") == 0)
		return "<";
	if (strcmp(op, "<=") == 0)
		return ">=";
	if (strcmp(op, ">=") == 0)
		return "<=";
	return op;
}

static void compare(struct ctx *c, struct scope *sc, int lo, int hi, const PgQuery__AExpr *e,
                    const char *op)
{
	struct scope_entry *ent = key_entry(sc, lo, hi, e->lexpr);
	PgQuery__Node *val = e->rexpr;

	if (!ent) {
		ent = key_entry(sc, lo, hi, e->rexpr);
		val = e->lexpr;
		op = mirror(op);
	}
	if (!ent)
		return;
	if (strcmp(op, "=") == 0)
		add_item(c, ent, PARSER_ITEM_EQ, PARSER_SIDE_LO | PARSER_SIDE_HI, false, &val, 1);
	else if (strcmp(op, "<") == 0)
		add_item(c, ent, PARSER_ITEM_RANGE, PARSER_SIDE_HI, true, &val, 1);
	else if (strcmp(op, "<=") == 0)
		add_item(c, ent, PARSER_ITEM_RANGE, PARSER_SIDE_HI, false, &val, 1);
	else if (strcmp(op, ">") == 0)
		add_item(c, ent, PARSER_ITEM_RANGE, PARSER_SIDE_LO, true, &val, 1);
	else if (strcmp(op, ">=") == 0)
		add_item(c, ent, PARSER_ITEM_RANGE, PARSER_SIDE_LO, false, &val, 1);
}

static const PgQuery__List *list_node(const PgQuery__Node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_LIST ? n->list : NULL;
}

/* One conjunct of a WHERE or ON clause. */
static void apply_conjunct(struct ctx *c, struct scope *sc, int lo, int hi, const PgQuery__AExpr *e)
{
	const char *op = e->n_name > 0 ? str_node(e->name[e->n_name - 1]) : NULL;
	const PgQuery__List *l = list_node(e->rexpr);
	struct scope_entry *ent;

	if (!op || !e->lexpr || !e->rexpr)
		return;
	switch (e->kind) {
	case PG_QUERY__A__EXPR__KIND__AEXPR_OP:
		compare(c, sc, lo, hi, e, op);
		break;
	case PG_QUERY__A__EXPR__KIND__AEXPR_IN:
		ent = key_entry(sc, lo, hi, e->lexpr);
		if (ent && l && strcmp(op, "=") == 0)
			add_item(c, ent, PARSER_ITEM_IN, PARSER_SIDE_LO | PARSER_SIDE_HI, false,
			         l->items, l->n_items);
		break;
	case PG_QUERY__A__EXPR__KIND__AEXPR_OP_ANY:
		ent = key_entry(sc, lo, hi, e->lexpr);
		if (ent && strcmp(op, "=") == 0 &&
		    e->rexpr->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR)
			add_item(c, ent, PARSER_ITEM_IN, PARSER_SIDE_LO | PARSER_SIDE_HI, false,
			         e->rexpr->a_array_expr->elements,
			         e->rexpr->a_array_expr->n_elements);
		break;
	case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN:
		ent = key_entry(sc, lo, hi, e->lexpr);
		if (ent && l && l->n_items == 2) {
			add_item(c, ent, PARSER_ITEM_RANGE, PARSER_SIDE_LO, false, &l->items[0], 1);
			add_item(c, ent, PARSER_ITEM_RANGE, PARSER_SIDE_HI, false, &l->items[1], 1);
		}
		break;
	case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN_SYM:
		ent = key_entry(sc, lo, hi, e->lexpr);
		if (ent && l && l->n_items == 2)
			add_item(c, ent, PARSER_ITEM_RANGE, PARSER_SIDE_LO | PARSER_SIDE_HI, false,
			         l->items, 2);
		break;
	case PG_QUERY__A__EXPR__KIND__AEXPR_LIKE:
		ent = key_entry(sc, lo, hi, e->lexpr);
		if (ent && strcmp(op, "~~") == 0)
			add_item(c, ent, PARSER_ITEM_PREFIX, PARSER_SIDE_LO | PARSER_SIDE_HI, false,
			         &e->rexpr, 1);
		break;
	default:
		break;
	}
}

/* Splits qual into AND-ed conjuncts and applies each to the entries sc[lo, hi). */
static void apply_quals(struct ctx *c, struct scope *sc, int lo, int hi, const PgQuery__Node *q)
{
	if (!q)
		return;
	if (q->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR &&
	    q->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
		for (size_t i = 0; i < q->bool_expr->n_args; i++)
			apply_quals(c, sc, lo, hi, q->bool_expr->args[i]);
	} else if (q->node_case == PG_QUERY__NODE__NODE_A_EXPR) {
		apply_conjunct(c, sc, lo, hi, q->a_expr);
	}
}

/* ---- statements ---- */

/* The FROM list and WHERE clause of a SELECT without set operation: its own scope. */
static void walk_from_where(struct ctx *c, const PgQuery__SelectStmt *s)
{
	struct scope sc = {.n = 0};

	for (size_t i = 0; i < s->n_from_clause; i++)
		add_from(c, &sc, s->from_clause[i]);
	apply_quals(c, &sc, 0, sc.n, s->where_clause);
}

static void walk_select(struct ctx *c, const PgQuery__SelectStmt *s)
{
	int saved = c->n_ctes;

	/* UNION chains nest through larg: bound them like any other nesting */
	if (c->depth >= DEPTH_MAX)
		return;
	c->depth++;
	push_ctes(c, s->with_clause);
	if (s->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
	    s->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED) {
		if (s->larg)
			walk_select(c, s->larg);
		if (s->rarg)
			walk_select(c, s->rarg);
	} else {
		walk_from_where(c, s);
	}
	walk_nodes(c, s->target_list, s->n_target_list);
	walk_node(c, s->where_clause);
	walk_nodes(c, s->group_clause, s->n_group_clause);
	walk_node(c, s->having_clause);
	walk_nodes(c, s->window_clause, s->n_window_clause);
	walk_nodes(c, s->values_lists, s->n_values_lists);
	walk_nodes(c, s->sort_clause, s->n_sort_clause);
	walk_node(c, s->limit_offset);
	walk_node(c, s->limit_count);
	walk_nodes(c, s->distinct_clause, s->n_distinct_clause);
	c->n_ctes = saved;
	c->depth--;
}

/* The 0-based position of the key in each VALUES row, or -1 when the rows do not supply it. */
static int insert_key_pos(const PgQuery__InsertStmt *s, const struct fs_table *tbl)
{
	if (s->n_cols == 0)
		return tbl->key_attnum - 1;
	for (size_t i = 0; i < s->n_cols; i++) {
		const PgQuery__Node *n = s->cols[i];

		if (n->node_case == PG_QUERY__NODE__NODE_RES_TARGET &&
		    strcmp(n->res_target->name, tbl->key) == 0 && n->res_target->n_indirection == 0)
			return (int)i;
	}
	return -1;
}

static void insert_keys(struct ctx *c, int access, const struct fs_table *tbl,
                        const PgQuery__InsertStmt *s, const PgQuery__SelectStmt *v)
{
	struct parser_item_builder b;
	int pos = insert_key_pos(s, tbl);

	if (tbl->keytype == FS_KEY_UNSUPPORTED || pos < 0)
		return;
	/* an IN item whose slots are the key of each row; a single row commits as EQ */
	parser_template_item_begin(&b, c->t, access, PARSER_ITEM_IN,
	                           PARSER_SIDE_LO | PARSER_SIDE_HI, false);
	for (size_t i = 0; i < v->n_values_lists && !b.failed; i++) {
		const PgQuery__List *row = list_node(v->values_lists[i]);

		if (!row || (size_t)pos >= row->n_items)
			parser_template_item_fail(&b);
		else
			push_value(c, &b, tbl->keytype, PARSER_ITEM_IN, row->items[pos]);
	}
	(void)parser_template_item_commit(&b);
}

static void walk_insert(struct ctx *c, const PgQuery__InsertStmt *s)
{
	int saved = c->n_ctes;
	const struct fs_table *tbl = NULL;
	const PgQuery__SelectStmt *v = NULL;
	int access = -1;

	push_ctes(c, s->with_clause);
	if (s->relation && (tbl = find_table(c, s->relation)))
		access = parser_template_add_access(c->t, tbl, FS_OP_WRITE);
	if (s->select_stmt && s->select_stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT)
		v = s->select_stmt->select_stmt;
	if (v && v->n_values_lists > 0 && v->n_from_clause == 0 &&
	    v->op == PG_QUERY__SET_OPERATION__SETOP_NONE) {
		if (access >= 0)
			insert_keys(c, access, tbl, s, v);
		walk_nodes(c, v->values_lists, v->n_values_lists);
	} else {
		walk_node(c, s->select_stmt);
	}
	walk_message(c, s->on_conflict_clause ? &s->on_conflict_clause->base : NULL);
	walk_nodes(c, s->returning_list, s->n_returning_list);
	c->n_ctes = saved;
}

static void walk_update(struct ctx *c, const PgQuery__UpdateStmt *s)
{
	int saved = c->n_ctes;
	struct scope sc = {.n = 0};
	struct scope_entry *target;

	push_ctes(c, s->with_clause);
	target = s->relation ? add_relation(c, &sc, s->relation, FS_OP_WRITE) : NULL;
	/* an UPDATE that assigns the key moves rows: its WHERE bounds only the old keys */
	for (size_t i = 0; target && target->table && i < s->n_target_list; i++) {
		const PgQuery__Node *n = s->target_list[i];

		if (n->node_case == PG_QUERY__NODE__NODE_RES_TARGET &&
		    strcmp(n->res_target->name, target->table->key) == 0)
			target->key_moved = true;
	}
	for (size_t i = 0; i < s->n_from_clause; i++)
		add_from(c, &sc, s->from_clause[i]);
	apply_quals(c, &sc, 0, sc.n, s->where_clause);
	walk_nodes(c, s->target_list, s->n_target_list);
	walk_node(c, s->where_clause);
	walk_nodes(c, s->returning_list, s->n_returning_list);
	c->n_ctes = saved;
}

static void walk_delete(struct ctx *c, const PgQuery__DeleteStmt *s)
{
	int saved = c->n_ctes;
	struct scope sc = {.n = 0};

	push_ctes(c, s->with_clause);
	if (s->relation)
		add_relation(c, &sc, s->relation, FS_OP_WRITE);
	for (size_t i = 0; i < s->n_using_clause; i++)
		add_from(c, &sc, s->using_clause[i]);
	apply_quals(c, &sc, 0, sc.n, s->where_clause);
	walk_node(c, s->where_clause);
	walk_nodes(c, s->returning_list, s->n_returning_list);
	c->n_ctes = saved;
}

static void walk_merge(struct ctx *c, const PgQuery__MergeStmt *s)
{
	int saved = c->n_ctes;
	struct scope sc = {.n = 0};

	push_ctes(c, s->with_clause);
	if (s->relation)
		add_relation(c, &sc, s->relation, FS_OP_WRITE);
	if (s->source_relation)
		add_from(c, &sc, s->source_relation);
	walk_node(c, s->join_condition);
	walk_nodes(c, s->merge_when_clauses, s->n_merge_when_clauses);
	c->n_ctes = saved;
}

/* Adds the RangeVars in rels as accesses with op (TRUNCATE, LOCK). */
static void add_relations(struct ctx *c, PgQuery__Node *const *rels, size_t n, enum fs_op op)
{
	for (size_t i = 0; i < n; i++) {
		if (rels[i]->node_case == PG_QUERY__NODE__NODE_RANGE_VAR)
			add_relation(c, NULL, rels[i]->range_var, op);
	}
}

/* DROP TABLE names: lists of String, [schema,] name. */
static void add_dropped(struct ctx *c, const PgQuery__DropStmt *s)
{
	for (size_t i = 0;
	     s->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE && i < s->n_objects; i++) {
		const PgQuery__List *l = list_node(s->objects[i]);
		PgQuery__RangeVar rv = PG_QUERY__RANGE_VAR__INIT;

		if (!l || l->n_items == 0 || !str_node(l->items[l->n_items - 1]))
			continue;
		rv.relname = (char *)str_node(l->items[l->n_items - 1]);
		if (l->n_items >= 2 && str_node(l->items[l->n_items - 2]))
			rv.schemaname = (char *)str_node(l->items[l->n_items - 2]);
		add_relation(c, NULL, &rv, FS_OP_DDL);
	}
}

/* Statements that change the schema; everything else that is not DML is FS_OP_OTHER. */
static bool is_ddl(PgQuery__Node__NodeCase k)
{
	switch (k) {
	case PG_QUERY__NODE__NODE_CREATE_STMT:
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
	case PG_QUERY__NODE__NODE_DROP_STMT:
	case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
	case PG_QUERY__NODE__NODE_INDEX_STMT:
	case PG_QUERY__NODE__NODE_REINDEX_STMT:
	case PG_QUERY__NODE__NODE_RENAME_STMT:
	case PG_QUERY__NODE__NODE_VIEW_STMT:
	case PG_QUERY__NODE__NODE_REFRESH_MAT_VIEW_STMT:
	case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
	case PG_QUERY__NODE__NODE_ALTER_SEQ_STMT:
	case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT:
	case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT:
	case PG_QUERY__NODE__NODE_ALTER_FUNCTION_STMT:
	case PG_QUERY__NODE__NODE_CREATE_TRIG_STMT:
	case PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT:
	case PG_QUERY__NODE__NODE_ALTER_EXTENSION_STMT:
	case PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT:
	case PG_QUERY__NODE__NODE_ALTER_DOMAIN_STMT:
	case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
	case PG_QUERY__NODE__NODE_ALTER_ENUM_STMT:
	case PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT:
	case PG_QUERY__NODE__NODE_ALTER_TYPE_STMT:
	case PG_QUERY__NODE__NODE_DEFINE_STMT:
	case PG_QUERY__NODE__NODE_COMMENT_STMT:
	case PG_QUERY__NODE__NODE_GRANT_STMT:
	case PG_QUERY__NODE__NODE_GRANT_ROLE_STMT:
	case PG_QUERY__NODE__NODE_ALTER_OWNER_STMT:
	case PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT:
	case PG_QUERY__NODE__NODE_CREATE_POLICY_STMT:
	case PG_QUERY__NODE__NODE_ALTER_POLICY_STMT:
	case PG_QUERY__NODE__NODE_RULE_STMT:
	case PG_QUERY__NODE__NODE_CREATE_STATS_STMT:
	case PG_QUERY__NODE__NODE_CREATE_FOREIGN_TABLE_STMT:
	case PG_QUERY__NODE__NODE_IMPORT_FOREIGN_SCHEMA_STMT:
	case PG_QUERY__NODE__NODE_REPLICA_IDENTITY_STMT:
	case PG_QUERY__NODE__NODE_CREATE_PUBLICATION_STMT:
	case PG_QUERY__NODE__NODE_ALTER_PUBLICATION_STMT:
		return true;
	default:
		return false;
	}
}

/* Walks one statement wherever it appears; returns its operation. */
static enum fs_op walk_stmt(struct ctx *c, const PgQuery__Node *n)
{
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_SELECT_STMT:
		walk_select(c, n->select_stmt);
		return FS_OP_READ;
	case PG_QUERY__NODE__NODE_INSERT_STMT:
		walk_insert(c, n->insert_stmt);
		return FS_OP_WRITE;
	case PG_QUERY__NODE__NODE_UPDATE_STMT:
		walk_update(c, n->update_stmt);
		return FS_OP_WRITE;
	case PG_QUERY__NODE__NODE_DELETE_STMT:
		walk_delete(c, n->delete_stmt);
		return FS_OP_WRITE;
	case PG_QUERY__NODE__NODE_MERGE_STMT:
		walk_merge(c, n->merge_stmt);
		return FS_OP_WRITE;
	case PG_QUERY__NODE__NODE_COPY_STMT:
		if (n->copy_stmt->relation)
			add_relation(c, NULL, n->copy_stmt->relation,
			             n->copy_stmt->is_from ? FS_OP_WRITE : FS_OP_READ);
		walk_node(c, n->copy_stmt->query);
		return n->copy_stmt->is_from ? FS_OP_WRITE : FS_OP_READ;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
		walk_node(c, n->create_table_as_stmt->query);
		return FS_OP_DDL;
	case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT:
		walk_node(c, n->declare_cursor_stmt->query);
		return FS_OP_READ;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		if (n->alter_table_stmt->relation)
			add_relation(c, NULL, n->alter_table_stmt->relation, FS_OP_DDL);
		return FS_OP_DDL;
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		if (n->index_stmt->relation)
			add_relation(c, NULL, n->index_stmt->relation, FS_OP_DDL);
		return FS_OP_DDL;
	case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
		add_relations(c, n->truncate_stmt->relations, n->truncate_stmt->n_relations,
		              FS_OP_DDL);
		return FS_OP_DDL;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		add_dropped(c, n->drop_stmt);
		return FS_OP_DDL;
	case PG_QUERY__NODE__NODE_LOCK_STMT:
		add_relations(c, n->lock_stmt->relations, n->lock_stmt->n_relations, FS_OP_OTHER);
		return FS_OP_OTHER;
	default:
		/* EXPLAIN, PREPARE, SET, BEGIN ...: no table is read or written by the statement */
		return is_ddl(n->node_case) ? FS_OP_DDL : FS_OP_OTHER;
	}
}

static void walk_node(struct ctx *c, const PgQuery__Node *n)
{
	if (!n || c->depth >= DEPTH_MAX)
		return;
	c->depth++;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_SELECT_STMT:
	case PG_QUERY__NODE__NODE_INSERT_STMT:
	case PG_QUERY__NODE__NODE_UPDATE_STMT:
	case PG_QUERY__NODE__NODE_DELETE_STMT:
	case PG_QUERY__NODE__NODE_MERGE_STMT:
		(void)walk_stmt(c, n);
		break;
	default:
		walk_message(c, &n->base);
		break;
	}
	c->depth--;
}

/*
 * Whether the protobuf-encoded ParseResult in buf nests messages at most PB_DEPTH_MAX deep.
 * protobuf-c unpacks recursively, several hundred bytes of stack per level, so "1+1+...+1" with
 * thousands of terms would overflow a worker's stack; this scan finds out first, iteratively,
 * reading field types from the descriptors. False also for a malformed buffer.
 */
static bool pb_shallow(const uint8_t *buf, size_t len)
{
	struct {
		const ProtobufCMessageDescriptor *d; /* type of the open message */
		size_t end;                          /* where it ends in buf */
	} st[PB_DEPTH_MAX];
	size_t pos = 0;
	int n = 1;

	st[0].d = &pg_query__parse_result__descriptor;
	st[0].end = len;
	while (n > 0) {
		uint64_t tag = 0, v = 0;
		const ProtobufCFieldDescriptor *f;

		if (pos == st[n - 1].end) {
			n--;
			continue;
		}
		if (!pb_varint(buf, st[n - 1].end, &pos, &tag))
			return false;
		switch (tag & 7) {
		case 0: /* varint */
			if (!pb_varint(buf, st[n - 1].end, &pos, &v))
				return false;
			break;
		case 1: /* 64-bit */
			pos += 8;
			break;
		case 5: /* 32-bit */
			pos += 4;
			break;
		case 2: /* length-delimited: a string, bytes, packed numbers or a message */
			if (!pb_varint(buf, st[n - 1].end, &pos, &v) || v > st[n - 1].end - pos)
				return false;
			f = protobuf_c_message_descriptor_get_field(st[n - 1].d,
			                                            (unsigned)(tag >> 3));
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (n == PB_DEPTH_MAX)
					return false;
				st[n].d = f->descriptor;
				st[n].end = pos + v;
				n++;
			} else {
				pos += v;
			}
			break;
		default:
			return false;
		}
		if (pos > st[n - 1].end)
			return false;
	}
	return true;
}

bool parser_extract_template(const char *sql, const struct parser_lexer *lx,
                             const struct fs_catalog *cat, struct parser_template *t)
{
	PgQueryProtobufParseResult res;
	PgQuery__ParseResult *tree;
	struct ctx c = {.sql = sql, .lx = lx, .cat = cat, .t = t};

	parser_template_init(t, lx);
	res = pg_query_parse_protobuf(sql);
	if (res.error) {
		pg_query_free_protobuf_parse_result(res);
		return false;
	}
	/* too deep to unpack safely: reported as unparsed, like a text libpg_query rejects */
	tree = pb_shallow((const uint8_t *)res.parse_tree.data, res.parse_tree.len)
	               ? pg_query__parse_result__unpack(NULL, res.parse_tree.len,
	                                                (const uint8_t *)res.parse_tree.data)
	               : NULL;
	pg_query_free_protobuf_parse_result(res);
	if (!tree)
		return false;
	t->flags |= PARSER_TMPL_PARSED;
	for (size_t i = 0; i < tree->n_stmts; i++) {
		const PgQuery__Node *n = tree->stmts[i]->stmt;
		enum fs_op op;

		if (!n)
			continue;
		c.n_ctes = 0;
		c.depth = 1;
		op = walk_stmt(&c, n);
		if (i == 0)
			t->op = (uint8_t)op;
	}
	pg_query__parse_result__free_unpacked(tree, NULL);
	return true;
}
