/*
 * libFuzzer target: client-to-server framing. The input is a stream of frontend messages
 * (after start-up), relayed through proxy_stream_scan with the set the proxy inspects,
 * "QPBESFC", in chunks of varied sizes (fuzz_stream.c). Each inspected message is decoded
 * as proxy/conn.c's inspect_up does, which is static there, so its decoding is repeated here:
 * Query text, Parse name/text, Bind portal/statement/formats/values, Execute portal, Close
 * kind/name, with the same verdicts; Query and Parse texts go to the parser and Bind values to
 * parser_bind, against prepared statements kept by name as the connection keeps them.
 */
#include <stdlib.h>
#include <string.h>

#include "parser/parser.h"
#include "proxy/frame.h"
#include "tests/fuzz/fuzz_catalog.h"
#include "tests/fuzz/fuzz_stream.h"

#define NAMED_MAX 8 /* named statements kept; later ones are not profiled */

/* A connection's view of its prepared statements, as far as the decoder needs one. */
struct session {
	struct parser *parser;                   /* one per input, so that a crash reproduces */
	struct parser_prepared unnamed;          /* the unnamed statement */
	char names[NAMED_MAX][64];               /* names of the named ones ("" = free slot) */
	struct parser_prepared named[NAMED_MAX]; /* their templates */
	struct parser_stmt portal;               /* what the unnamed portal reaches */
};

/* The statement called name; a free slot for it when create; NULL when none. */
static struct parser_prepared *find_prepared(struct session *s, const char *name, bool create)
{
	int free_slot = -1;

	if (!name[0])
		return &s->unnamed;
	for (int i = 0; i < NAMED_MAX; i++) {
		if (s->names[i][0] && strcmp(s->names[i], name) == 0)
			return &s->named[i];
		if (!s->names[i][0] && free_slot < 0)
			free_slot = i;
	}
	if (!create || free_slot < 0 || strlen(name) >= sizeof(s->names[0]))
		return NULL;
	strcpy(s->names[free_slot], name);
	return &s->named[free_slot];
}

/* The unnamed portal's statement from a Bind, as conn.c's bind_params keeps it. */
static void bind_params(struct session *s, struct proxy_reader *r, const char *stmt_name)
{
	const struct parser_prepared *prep = find_prepared(s, stmt_name, false);
	struct proxy_bind_params bp;

	s->portal.n_access = 0;
	s->portal.template_id = 0;
	if (!prep || !prep->parsed || !proxy_read_bind_params(r, &bp))
		return;
	parser_bind(s->parser, prep, bp.n, bp.vals, bp.lens, bp.formats, &s->portal);
}

static enum proxy_frame_verdict decode(void *ctx, const unsigned char *msg, uint32_t len)
{
	struct session *s = ctx;
	struct proxy_reader r;
	struct parser_stmt st;

	proxy_reader_init(&r, msg + 5, len - 5);
	switch (msg[0]) {
	case 'Q': {
		const char *sql = proxy_read_str(&r);

		if (r.bad)
			return PROXY_FRAME_CLOSE;
		parser_query(s->parser, sql, strlen(sql), &st);
		return PROXY_FRAME_FORWARD;
	}
	case 'P': {
		const char *name = proxy_read_str(&r);
		const char *sql = proxy_read_str(&r);
		struct parser_prepared prep;
		struct parser_prepared *slot;

		if (r.bad)
			return PROXY_FRAME_CLOSE;
		parser_prepare(s->parser, sql, strlen(sql), &prep);
		/* what a Parse during a pause is checked against */
		parser_bind(s->parser, &prep, 0, NULL, NULL, NULL, &st);
		slot = find_prepared(s, name, true);
		if (slot)
			*slot = prep;
		return PROXY_FRAME_FORWARD;
	}
	case 'B': {
		const char *portal = proxy_read_str(&r);
		const char *stmt = proxy_read_str(&r);

		if (r.bad)
			return PROXY_FRAME_CLOSE;
		if (!portal[0])
			bind_params(s, &r, stmt);
		return PROXY_FRAME_FORWARD;
	}
	case 'E':
		proxy_read_str(&r);
		return r.bad ? PROXY_FRAME_CLOSE : PROXY_FRAME_FORWARD;
	case 'C': {
		char kind = (char)proxy_read_u8(&r);
		const char *name = proxy_read_str(&r);

		if (r.bad)
			return PROXY_FRAME_CLOSE;
		if (kind == 'S' && name[0]) {
			for (int i = 0; i < NAMED_MAX; i++) {
				if (strcmp(s->names[i], name) == 0)
					s->names[i][0] = 0;
			}
		}
		return PROXY_FRAME_FORWARD;
	}
	}
	return PROXY_FRAME_FORWARD; /* Sync, Flush */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->parser = parser_create(64);
	if (!s->parser)
		abort();
	parser_set_catalog(s->parser, fuzz_catalog());
	fuzz_stream_run(data, size, "QPBESFC", decode, s);
	parser_destroy(s->parser);
	free(s);
	return 0;
}
