/*
 * The framing harness (see fuzz_stream.h): an evbuffer standing in for the socket's input, one
 * for the peer's output, a chunking generator seeded from the input, and the checks. The
 * output is drained and compared with the input after every pump, so a violation is caught at
 * the call that caused it.
 */
#include "tests/fuzz/fuzz_stream.h"

#include <event2/buffer.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* State of one run, the inspector's context. */
struct harness {
	const uint8_t *data;   /* the whole input */
	size_t size;           /* its length */
	size_t emitted;        /* bytes already taken from the output and checked */
	struct evbuffer *out;  /* the output, read only to know where the head of input is */
	uint64_t rng;          /* chunk sizes and hold decisions */
	const uint8_t *held;   /* the message last held, NULL when none is pending */
	uint32_t held_len;     /* its length */
	fuzz_decode_fn decode; /* the target's decoder */
	void *ctx;             /* its argument */
	bool inspect[256];     /* the types the stream inspects */
};

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_stream: %s\n", what);
	abort();
}

/* xorshift64: any deterministic sequence will do, as long as the input decides it. */
static uint32_t next(struct harness *h)
{
	h->rng ^= h->rng << 13;
	h->rng ^= h->rng >> 7;
	h->rng ^= h->rng << 17;
	return (uint32_t)(h->rng >> 16);
}

/* One read's worth: mostly small, so that headers and bodies split everywhere. */
static size_t chunk(struct harness *h)
{
	uint32_t r = next(h);

	switch (r % 4) {
	case 0:
		return 1 + r / 4 % 5;
	case 1:
		return 1 + r / 4 % 64;
	default:
		return 1 + r / 4 % 4096;
	}
}

static enum proxy_frame_verdict inspect(void *ctx, unsigned char *msg, uint32_t len)
{
	struct harness *h = ctx;
	size_t at = h->emitted + evbuffer_get_length(h->out);

	if (len < 5 || len != proxy_be32(msg + 1) + 1 || len >= PROXY_INSPECT_MAX + 1)
		fail("inspected message length does not match its header");
	if (!h->inspect[msg[0]])
		fail("inspected a type outside the set");
	if (at + len > h->size || memcmp(msg, h->data + at, len) != 0)
		fail("inspected message is not the next one in the input");
	if (h->held) {
		if (h->held != h->data + at || h->held_len != len)
			fail("resumed stream did not show the held message first");
		h->held = NULL;
	} else if (next(h) % 8 == 0) {
		h->held = h->data + at;
		h->held_len = len;
		return PROXY_FRAME_HOLD;
	}
	return h->decode(h->ctx, msg, len);
}

/* Takes what the stream moved to the output and checks it is the input's next bytes. */
static void check_output(struct harness *h)
{
	size_t n = evbuffer_get_length(h->out);
	unsigned char *p = evbuffer_pullup(h->out, (ssize_t)n);

	if (h->emitted + n > h->size || (n && memcmp(p, h->data + h->emitted, n) != 0))
		fail("output is not the input in order");
	h->emitted += n;
	evbuffer_drain(h->out, n);
}

void fuzz_stream_run(const uint8_t *data, size_t size, const char *types, fuzz_decode_fn decode,
                     void *ctx)
{
	struct harness h = {.data = data, .size = size, .decode = decode, .ctx = ctx};
	struct proxy_stream s = {.inspect = h.inspect, .fn = inspect, .ctx = &h};
	struct evbuffer *in = evbuffer_new();
	size_t fed = 0;
	enum proxy_stream_status st = PROXY_STREAM_OK;

	h.out = evbuffer_new();
	if (!in || !h.out)
		fail("out of memory");
	/* FNV-1a of the input: the same input always splits the same way */
	h.rng = 0xcbf29ce484222325u;
	for (size_t i = 0; i < size; i++)
		h.rng = (h.rng ^ data[i]) * 0x100000001b3u;
	h.rng |= 1;
	for (const char *t = types; *t; t++)
		h.inspect[(unsigned char)*t] = true;
	while (st != PROXY_STREAM_BAD) {
		if (st == PROXY_STREAM_OK) {
			size_t n = chunk(&h);

			if (fed == size)
				break;
			if (n > size - fed)
				n = size - fed;
			evbuffer_add(in, data + fed, n);
			fed += n;
		}
		/* after HELD, the next pump is the resume: the same message comes first */
		st = proxy_stream_pump(&s, in, h.out);
		check_output(&h);
		if (st == PROXY_STREAM_HELD && !h.held)
			fail("stream reported a hold the inspector did not ask for");
	}
	if (st != PROXY_STREAM_BAD && h.emitted + evbuffer_get_length(in) != size)
		fail("bytes lost between input and output");
	evbuffer_free(in);
	evbuffer_free(h.out);
}
