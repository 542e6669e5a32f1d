#pragma once
/*
 * What one client session has prepared, as far as profiling needs it (the unnamed statement, the
 * named ones, and the statement the unnamed portal runs), and the decoding of the frontend
 * messages that make or use them: Query, Parse, Bind, Execute and Close. The proxy's connections
 * (conn.c) act on what it decodes; the frontend fuzz target runs the same code.
 */
#include <stdbool.h>
#include <stdint.h>

#include "parser/parser.h"

/* A named prepared statement. */
struct proxy_prepared {
	char *name; /* owned */
	struct parser_prepared p;
};

/* A session's statements; all zeros is an empty one. */
struct proxy_stmts {
	struct parser_prepared unnamed; /* the unnamed prepared statement */
	struct proxy_prepared *named;   /* named prepared statements, owned */
	int n_named, cap_named;
	struct parser_stmt portal; /* the unnamed portal's statement; named portals are not
				      profiled (they live only inside transactions) */
};

/* One decoded frontend message. */
struct proxy_up_msg {
	const char *portal; /* Bind, Execute: the portal's name (inside the message) */
	/* Query: the statement. Bind: the unnamed portal's statement (no tables for a named
	 * portal). Parse with bind_parse: the statement bound without values, for a pause to judge.
	 * A statement without tables otherwise. Points into own or into the session: valid until
	 * the next message is decoded. */
	const struct parser_stmt *st;
	struct parser_stmt own; /* Query, Parse: where st points */
};

/*
 * Decodes the frontend message msg (type byte, length, body; len bytes in all) and applies it to
 * s: a Parse stores its template under its name, a Bind of the unnamed portal binds it, a Close
 * of a statement forgets it. Query and Parse texts go to parser p, Bind values to parser_bind.
 * A Parse is bound without values into m->st only when bind_parse (during a pause: its analysis
 * locks the tables). Other message types leave s alone. False when the message is malformed.
 * Decoding the same message again gives the same s (a held message is decoded on each try).
 */
bool proxy_stmts_decode(struct proxy_stmts *s, struct parser *p, const unsigned char *msg,
                        uint32_t len, bool bind_parse, struct proxy_up_msg *m);

/*
 * A Parse or Bind too big to read (type 'P' or 'B'): what it replaces is no longer known, so the
 * unnamed statement or portal stops being profiled. A named statement keeps its old template
 * (profiling only).
 */
void proxy_stmts_unread(struct proxy_stmts *s, unsigned char type);

/* Frees what s owns and leaves it empty. */
void proxy_stmts_cleanup(struct proxy_stmts *s);
