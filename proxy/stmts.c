/*
 * A session's prepared statements and the decoding of the frontend messages that make and use
 * them (see stmts.h). Named statements are kept in a small array searched by name: sessions
 * prepare a handful, and a Bind looks one up once.
 */
#include "proxy/stmts.h"

#include <stdlib.h>
#include <string.h>

#include "proxy/frame.h"

/* The statement called name; with create, a new slot for it when there is none. NULL when there
 * is none (or memory fails). */
static struct parser_prepared *find_prepared(struct proxy_stmts *s, const char *name, bool create)
{
	if (!name[0])
		return &s->unnamed;
	for (int i = 0; i < s->n_named; i++) {
		if (strcmp(s->named[i].name, name) == 0)
			return &s->named[i].p;
	}
	if (!create)
		return NULL;
	if (s->n_named == s->cap_named) {
		int cap = s->cap_named ? s->cap_named * 2 : 8;
		struct proxy_prepared *n = realloc(s->named, (size_t)cap * sizeof(*n));

		if (!n)
			return NULL;
		s->named = n;
		s->cap_named = cap;
	}
	s->named[s->n_named].name = strdup(name);
	if (!s->named[s->n_named].name)
		return NULL;
	return &s->named[s->n_named++].p;
}

static void forget_prepared(struct proxy_stmts *s, const char *name)
{
	for (int i = 0; i < s->n_named; i++) {
		if (strcmp(s->named[i].name, name) == 0) {
			free(s->named[i].name);
			s->named[i] = s->named[--s->n_named];
			return;
		}
	}
}

/* Binds the unnamed portal to statement stmt_name with the values of the Bind at r. */
static void bind_portal(struct proxy_stmts *s, struct parser *p, struct proxy_reader *r,
                        const char *stmt_name)
{
	const struct parser_prepared *prep = find_prepared(s, stmt_name, false);
	struct proxy_bind_params bp;

	s->portal.n_access = 0;
	s->portal.template_id = 0;
	if (!prep || !prep->parsed || !proxy_read_bind_params(r, &bp))
		return;
	parser_bind(p, prep, bp.n, bp.vals, bp.lens, bp.formats, &s->portal);
}

bool proxy_stmts_decode(struct proxy_stmts *s, struct parser *p, const unsigned char *msg,
                        uint32_t len, bool bind_parse, struct proxy_up_msg *m)
{
	static const struct parser_stmt no_stmt;
	struct proxy_reader r;

	m->portal = "";
	m->st = &no_stmt;
	proxy_reader_init(&r, msg + 5, len - 5);
	switch (msg[0]) {
	case 'Q': {
		const char *sql = proxy_read_str(&r);

		if (r.bad)
			return false;
		parser_query(p, sql, strlen(sql), &m->own);
		m->st = &m->own;
		return true;
	}
	case 'P': {
		const char *name = proxy_read_str(&r);
		const char *sql = proxy_read_str(&r);
		struct parser_prepared prep, *slot;

		if (r.bad)
			return false;
		parser_prepare(p, sql, strlen(sql), &prep);
		if (bind_parse) {
			parser_bind(p, &prep, 0, NULL, NULL, NULL, &m->own);
			m->st = &m->own;
		}
		/* out of memory for a name: that statement is not profiled */
		slot = find_prepared(s, name, true);
		if (slot)
			*slot = prep;
		return true;
	}
	case 'B': {
		const char *stmt;

		m->portal = proxy_read_str(&r);
		stmt = proxy_read_str(&r);
		if (r.bad)
			return false;
		if (!m->portal[0]) {
			bind_portal(s, p, &r, stmt);
			m->st = &s->portal;
		}
		return true;
	}
	case 'E':
		m->portal = proxy_read_str(&r);
		return !r.bad;
	case 'C': {
		char kind = (char)proxy_read_u8(&r);
		const char *name = proxy_read_str(&r);

		if (r.bad)
			return false;
		if (kind == 'S' && name[0])
			forget_prepared(s, name);
		return true;
	}
	}
	return true;
}

void proxy_stmts_unread(struct proxy_stmts *s, unsigned char type)
{
	if (type == 'P') {
		s->unnamed.parsed = false;
	} else if (type == 'B') {
		s->portal.n_access = 0;
		s->portal.template_id = 0;
	}
}

void proxy_stmts_cleanup(struct proxy_stmts *s)
{
	for (int i = 0; i < s->n_named; i++)
		free(s->named[i].name);
	free(s->named);
	memset(s, 0, sizeof(*s));
}
