#pragma once
/*
 * Partition bounds as PostgreSQL prints them. pg_get_expr(relpartbound, oid) renders a range
 * partition's bound as "FOR VALUES FROM (lo) TO (hi)" or "DEFAULT", each value being MINVALUE,
 * MAXVALUE, a bare token or a single-quoted literal ('it''s'). The orchestrator keeps the
 * literal text as printed (it is valid SQL for the key's type) and the unquoted value (for the
 * key encoder and for re-quoting with PQescapeLiteral). Pure string handling: no database.
 */
#include <stdbool.h>
#include <stddef.h>

#include "common/catalog.h"

enum orch_bound_kind {
	ORCH_BOUND_VALUE = 0, /* a literal of the key's type */
	ORCH_BOUND_MINVALUE,  /* unbounded below */
	ORCH_BOUND_MAXVALUE,  /* unbounded above */
};

/* One end of a range. */
struct orch_bound {
	enum orch_bound_kind kind;    /* a value or an open end */
	char literal[FS_LITERAL_MAX]; /* as printed: '100', 'a''b', MINVALUE */
	char value[FS_LITERAL_MAX];   /* unquoted text: 100, a'b; empty for open ends */
};

/* A partition's bound. */
struct orch_bounds {
	bool is_default;      /* the DEFAULT partition; lo and hi are unset */
	struct orch_bound lo; /* inclusive lower end */
	struct orch_bound hi; /* exclusive upper end */
};

/*
 * Parses one value of a bound: MINVALUE, MAXVALUE, a bare token (digits, letters, '.', '+',
 * '-', '_') or a single-quoted literal with doubled quotes, surrounded by optional blanks.
 * E'' strings, casts and several values are refused. Returns false with the reason in err.
 * Any thread.
 */
__attribute__((warn_unused_result)) bool
orch_bound_parse(const char *s, size_t len, struct orch_bound *out, char *err, size_t errlen);

/*
 * Parses the text of pg_get_expr(relpartbound, oid) for a range partition with a single key
 * column. Returns false with the reason in err for anything else (list or hash bounds,
 * multi-column bounds, literals longer than FS_LITERAL_MAX - 1). Any thread.
 */
__attribute__((warn_unused_result)) bool
orch_bounds_parse(const char *expr, struct orch_bounds *out, char *err, size_t errlen);
