/*
 * libFuzzer target: server-to-client framing. The input is a stream of backend messages,
 * relayed through proxy_stream_scan with the set the proxy inspects, "ZCsIE", in chunks of
 * varied sizes (fuzz_stream.c). Each inspected message is read as proxy/conn.c's inspect_down
 * reads it (ReadyForQuery status, CommandComplete tag through proxy_tag_rows), and
 * ErrorResponse fields are walked to their terminator as an error reporter would.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy/frame.h"
#include "tests/fuzz/fuzz_stream.h"

/* What the decoder gathered, so that nothing it reads can be optimised away. */
struct tally {
	uint64_t rows;    /* rows of every CommandComplete */
	uint32_t status;  /* sum of ReadyForQuery status bytes */
	size_t err_bytes; /* length of every ErrorResponse field */
};

static enum proxy_frame_verdict decode(void *ctx, const unsigned char *msg, uint32_t len)
{
	struct tally *t = ctx;
	struct proxy_reader r;

	proxy_reader_init(&r, msg + 5, len - 5);
	switch (msg[0]) {
	case 'Z':
		t->status += proxy_read_u8(&r);
		break;
	case 'C':
		t->rows += proxy_tag_rows(proxy_read_str(&r));
		break;
	case 'E':
		/* fields: a code byte and a string each, until a zero code */
		while (!r.bad) {
			uint8_t code = proxy_read_u8(&r);

			if (code == 0)
				break;
			t->err_bytes += strlen(proxy_read_str(&r));
		}
		break;
	}
	/* like the proxy, never close on what the server sends: the client judges it */
	return PROXY_FRAME_FORWARD;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally t = {0};

	fuzz_stream_run(data, size, "ZCsIE", decode, &t);
	return 0;
}
