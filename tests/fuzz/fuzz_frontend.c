/*
 * libFuzzer target: client-to-server framing. The input is a stream of frontend messages
 * (after start-up), relayed through proxy_stream_scan with the set the proxy inspects,
 * "QPBESFC", in chunks of varied sizes (fuzz_stream.c). Each inspected message is decoded by
 * proxy_stmts_decode, as a connection decodes it: Query and Parse texts go to the parser, Bind
 * values to parser_bind against the prepared statements the session keeps by name; a malformed
 * message closes the stream, as it closes a connection.
 */
#include <stdlib.h>

#include "parser/parser.h"
#include "proxy/frame.h"
#include "proxy/stmts.h"
#include "tests/fuzz/fuzz_catalog.h"
#include "tests/fuzz/fuzz_stream.h"

/* One input's session. */
struct session {
	struct parser *parser; /* one per input, so that a crash reproduces */
	struct proxy_stmts stmts;
	unsigned
	        n; /* messages decoded; every second one as during a pause (a Parse is bound then) */
};

static enum proxy_frame_verdict decode(void *ctx, const unsigned char *msg, uint32_t len)
{
	struct session *s = ctx;
	struct proxy_up_msg m;

	if (!proxy_stmts_decode(&s->stmts, s->parser, msg, len, s->n++ % 2 == 1, &m))
		return PROXY_FRAME_CLOSE;
	return PROXY_FRAME_FORWARD;
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
	proxy_stmts_cleanup(&s->stmts);
	parser_destroy(s->parser);
	free(s);
	return 0;
}
