/*
 * The framing harness (see fuzz_stream.h): a copy of the input standing in for the socket's
 * input (bytes [emitted, fed) have arrived and not been relayed), a chunking generator seeded
 * from the input, and the checks. What a scan passes is compared with the input at once, so a
 * violation is caught at the call that caused it.
 */
#include "tests/fuzz/fuzz_stream.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* State of one run, the inspector's context. */
struct harness {
	const uint8_t *data; /* the whole input */
	unsigned char *buf;  /* a copy the scan reads (an inspector may rewrite bytes in place) */
	size_t size;         /* its length */
	size_t emitted;      /* bytes relayed and checked */
	size_t fed;          /* bytes that have arrived */
	size_t next_at;      /* the earliest offset the next inspected message may start at */
	size_t bound;        /* the reference framing: where a message starts by the headers */
	bool closed;         /* the decoder asked to close */
	uint64_t rng;        /* chunk sizes and hold decisions */
	const unsigned char *held; /* the message last held, NULL when none is pending */
	uint32_t held_len;         /* its length */
	fuzz_decode_fn decode;     /* the target's decoder */
	void *ctx;                 /* its argument */
	bool inspect[256];         /* the types the stream inspects */
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

/*
 * The harness's own framing, independent of the splitter's: moves h->bound from message to
 * message by their headers up to offset at. True when a message starts exactly there.
 */
static bool boundary(struct harness *h, size_t at)
{
	while (h->bound < at) {
		uint32_t len;

		if (h->bound + 5 > h->size)
			return false;
		len = proxy_be32(h->data + h->bound + 1);
		if (len < 4 || len > PROXY_FRAME_MAX_LEN)
			return false;
		h->bound += (size_t)len + 1;
	}
	return h->bound == at;
}

/* Whether a message with a bad length starts at offset at. */
static bool bad_length_at(struct harness *h, size_t at)
{
	uint32_t len;

	if (!boundary(h, at) || at + 5 > h->size)
		return false;
	len = proxy_be32(h->data + at + 1);
	return len < 4 || len > PROXY_FRAME_MAX_LEN;
}

static enum proxy_frame_verdict inspect(void *ctx, unsigned char *msg, uint32_t len)
{
	struct harness *h = ctx;
	size_t at = (size_t)(msg - h->buf);

	if (msg < h->buf + h->emitted || at < h->next_at)
		fail("inspected a message before the head of the input, or one already passed");
	if (!boundary(h, at))
		fail("inspected bytes that do not start a message");
	if (len < 5 || len != proxy_be32(msg + 1) + 1 || len >= PROXY_INSPECT_MAX + 1)
		fail("inspected message length does not match its header");
	if (!h->inspect[msg[0]])
		fail("inspected a type outside the set");
	if (at + len > h->fed || memcmp(msg, h->data + at, len) != 0)
		fail("inspected message has not wholly arrived or is not the input's");
	if (h->held) {
		if (h->held != msg || h->held_len != len)
			fail("resumed stream did not show the held message first");
		h->held = NULL;
	} else if (next(h) % 8 == 0) {
		h->held = msg;
		h->held_len = len;
		return PROXY_FRAME_HOLD;
	}
	h->next_at = at + len;
	if (h->decode(h->ctx, msg, len) == PROXY_FRAME_FORWARD)
		return PROXY_FRAME_FORWARD;
	h->closed = true;
	return PROXY_FRAME_CLOSE;
}

/* Checks what a scan passed (fwd bytes at the head of the input) and drops it from the input. */
static void take(struct harness *h, size_t fwd)
{
	if (fwd > h->fed - h->emitted)
		fail("passed bytes that have not arrived");
	if (fwd && memcmp(h->buf + h->emitted, h->data + h->emitted, fwd) != 0)
		fail("passed bytes are not the input in order");
	h->emitted += fwd;
}

void fuzz_stream_run(const uint8_t *data, size_t size, const char *types, fuzz_decode_fn decode,
                     void *ctx)
{
	struct harness h = {.data = data, .size = size, .decode = decode, .ctx = ctx};
	struct proxy_stream s = {.inspect = h.inspect, .fn = inspect, .ctx = &h};
	enum proxy_stream_status st = PROXY_STREAM_OK;

	h.buf = malloc(size ? size : 1);
	if (!h.buf)
		fail("out of memory");
	memcpy(h.buf, data, size);
	/* FNV-1a of the input: the same input always splits the same way */
	h.rng = 0xcbf29ce484222325u;
	for (size_t i = 0; i < size; i++)
		h.rng = (h.rng ^ data[i]) * 0x100000001b3u;
	h.rng |= 1;
	for (const char *t = types; *t; t++)
		h.inspect[(unsigned char)*t] = true;
	while (st != PROXY_STREAM_BAD) {
		size_t fwd;

		if (st == PROXY_STREAM_OK) {
			size_t n = chunk(&h);

			if (h.fed == size)
				break;
			if (n > size - h.fed)
				n = size - h.fed;
			h.fed += n;
			/* as the connection does: no scan until the input holds what the last one needs */
			if (h.fed - h.emitted < s.need)
				continue;
		}
		/* after HELD, the next scan is the resume: the same message comes first */
		st = proxy_stream_scan(&s, h.buf + h.emitted, h.fed - h.emitted, &fwd);
		take(&h, fwd);
		if (st == PROXY_STREAM_HELD && h.held != h.buf + h.emitted)
			fail("a hold did not stop the stream at the held message");
		if (st == PROXY_STREAM_BAD && !h.closed && !bad_length_at(&h, h.emitted))
			fail("reported a violation where the input has none");
	}
	free(h.buf);
}
