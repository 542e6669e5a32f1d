/*
 * One relay step: fresh bytes are sent from where they were read when nothing waits, only what
 * they leave is buffered, bytes behind waiting ones keep their order, a hold stops the flow at
 * the held message, and whatever the read boundaries every byte is sent once and in order.
 */
#include <criterion/criterion.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/relay.h"

/* What the relay sent: its bytes in order, the calls, where the last call's data was. */
struct sink {
	unsigned char out[4096];
	size_t len;
	int calls;
	const unsigned char *last;
	bool fail; /* answer the next send with "out of memory" */
};

static bool collect(void *ctx, const unsigned char *data, size_t n)
{
	struct sink *k = ctx;

	cr_assert_gt(n, 0, "a send of nothing");
	if (k->fail)
		return false;
	cr_assert_leq(k->len + n, sizeof(k->out));
	memcpy(k->out + k->len, data, n);
	k->len += n;
	k->calls++;
	k->last = data;
	return true;
}

/* Inspects Query ('Q'); holds the one whose body starts with "hold" while hold is set. */
struct inspector {
	int seen;
	bool hold;
};

static enum proxy_frame_verdict inspect(void *ctx, unsigned char *msg, uint32_t len)
{
	struct inspector *in = ctx;

	if (in->hold && len >= 9 && memcmp(msg + 5, "hold", 4) == 0)
		return PROXY_FRAME_HOLD;
	in->seen++;
	return PROXY_FRAME_FORWARD;
}

static bool inspected[256];
static struct inspector insp;
static struct proxy_stream stream;
static struct sink sink;
static struct evbuffer *input;

static void setup(void)
{
	inspected['Q'] = true;
	memset(&insp, 0, sizeof(insp));
	memset(&sink, 0, sizeof(sink));
	stream = (struct proxy_stream){.inspect = inspected, .fn = inspect, .ctx = &insp};
	input = evbuffer_new();
	cr_assert(input);
}

static void teardown(void)
{
	evbuffer_free(input);
}

TestSuite(relay, .init = setup, .fini = teardown);

/* Appends message type t with NUL-terminated text body to buf; returns the bytes added. */
static size_t put_query(unsigned char *buf, char t, const char *body)
{
	uint32_t n = (uint32_t)strlen(body) + 1;

	buf[0] = (unsigned char)t;
	proxy_put_be32(buf + 1, n + 4);
	memcpy(buf + 5, body, n);
	return n + 5;
}

static enum proxy_stream_status step(unsigned char *fresh, size_t n, bool *oom)
{
	return proxy_relay(&stream, input, fresh, n, collect, &sink, oom);
}

Test(relay, fresh_bytes_go_out_from_where_they_were_read)
{
	unsigned char buf[256];
	size_t a = put_query(buf, 'Q', "SELECT 1");
	size_t b = put_query(buf + a, 'S', "");
	size_t partial = 7;
	bool oom;

	/* two whole messages and the first bytes of a third */
	put_query(buf + a + b, 'Q', "SELECT 2");
	cr_assert_eq(step(buf, a + b + partial, &oom), PROXY_STREAM_OK);
	cr_assert_not(oom);
	cr_assert_eq(sink.calls, 1, "one send for every message that passed");
	cr_assert_eq(sink.last, buf, "sent from the read buffer itself, not a copy");
	cr_assert_eq(sink.len, a + b);
	cr_assert_eq(insp.seen, 1);
	/* only the incomplete message was copied into the input */
	cr_assert_eq(evbuffer_get_length(input), partial);
}

Test(relay, bytes_behind_waiting_ones_keep_their_order)
{
	unsigned char buf[256];
	size_t a = put_query(buf, 'Q', "SELECT 1"), b = put_query(buf + a, 'Q', "SELECT 2");
	bool oom;

	/* the first message arrives in two reads: its head waits in the input */
	cr_assert_eq(step(buf, 3, &oom), PROXY_STREAM_OK);
	cr_assert_eq(sink.calls, 0);
	cr_assert_eq(evbuffer_get_length(input), 3);
	/* its rest and the whole second message: both out, in order, in one send */
	cr_assert_eq(step(buf + 3, a + b - 3, &oom), PROXY_STREAM_OK);
	cr_assert_not(oom);
	cr_assert_eq(sink.calls, 1);
	cr_assert_eq(sink.len, a + b);
	cr_assert(memcmp(sink.out, buf, a + b) == 0);
	cr_assert_eq(evbuffer_get_length(input), 0);
	cr_assert_eq(insp.seen, 2);
}

Test(relay, a_hold_stops_the_flow_at_the_held_message)
{
	unsigned char buf[256];
	size_t a = put_query(buf, 'Q', "SELECT 1");
	size_t b = put_query(buf + a, 'Q', "hold me");
	size_t c = put_query(buf + a + b, 'Q', "SELECT 3");
	bool oom;

	insp.hold = true;
	cr_assert_eq(step(buf, a + b + c, &oom), PROXY_STREAM_HELD);
	cr_assert_not(oom);
	cr_assert_eq(sink.len, a, "what came before the held message is sent");
	/* the held message and what follows it wait in the input, in order */
	cr_assert_eq(evbuffer_get_length(input), b + c);
	cr_assert(memcmp(evbuffer_pullup(input, -1), buf + a, b + c) == 0);
	/* released: a step without fresh bytes sends them from the input */
	insp.hold = false;
	cr_assert_eq(step(NULL, 0, &oom), PROXY_STREAM_OK);
	cr_assert_eq(sink.len, a + b + c);
	cr_assert(memcmp(sink.out, buf, a + b + c) == 0);
	cr_assert_eq(evbuffer_get_length(input), 0);
	cr_assert_eq(insp.seen, 3);
}

Test(relay, a_bad_length_sends_what_came_before_it)
{
	unsigned char buf[256];
	size_t a = put_query(buf, 'Q', "SELECT 1");
	bool oom;

	buf[a] = 'Q';
	proxy_put_be32(buf + a + 1, 2); /* shorter than the length field itself */
	cr_assert_eq(step(buf, a + 5, &oom), PROXY_STREAM_BAD);
	cr_assert_eq(sink.len, a);
}

Test(relay, a_failed_send_is_out_of_memory)
{
	unsigned char buf[256];
	size_t a = put_query(buf, 'Q', "SELECT 1");
	bool oom = false;

	sink.fail = true;
	cr_assert_eq(step(buf, a, &oom), PROXY_STREAM_OK);
	cr_assert(oom);
}

Test(relay, every_split_into_two_reads_sends_every_byte_once_in_order)
{
	unsigned char buf[512];
	size_t len = 0;
	bool oom;

	len += put_query(buf + len, 'Q', "SELECT * FROM events WHERE id = 1");
	len += put_query(buf + len, 'P', "stmt\0");
	len += put_query(buf + len, 'Q', "SELECT 2");
	len += put_query(buf + len, 'S', "");
	for (size_t cut = 0; cut <= len; cut++) {
		for (size_t second = cut; second <= len; second++) {
			teardown();
			setup();
			step(buf, cut, &oom);
			cr_assert_not(oom);
			step(buf + cut, second - cut, &oom);
			step(buf + second, len - second, &oom);
			cr_assert_not(oom);
			cr_assert_eq(sink.len, len, "cuts at %zu and %zu: %zu of %zu bytes sent",
			             cut, second, sink.len, len);
			cr_assert(memcmp(sink.out, buf, len) == 0, "cuts at %zu and %zu", cut,
			          second);
			cr_assert_eq(insp.seen, 2, "cuts at %zu and %zu", cut, second);
			cr_assert_eq(evbuffer_get_length(input), 0);
		}
	}
}
