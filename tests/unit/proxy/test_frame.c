/*
 * The message splitter: whatever the read boundaries, every byte is relayed once and in order,
 * inspected messages are seen whole, a hold stops the flow at the held message, and bad lengths
 * are reported.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/frame.h"

struct seen {
	int n;             /* messages inspected */
	char types[64];    /* their type bytes */
	uint32_t lens[64]; /* their total lengths */
	int hold_at;       /* hold the message with this index once (-1: never) */
};

static enum proxy_frame_verdict record(void *ctx, unsigned char *msg, uint32_t len)
{
	struct seen *s = ctx;

	cr_assert_eq(proxy_be32(msg + 1) + 1, len, "inspector must see the whole message");
	if (s->hold_at == s->n) {
		s->hold_at = -1;
		return PROXY_FRAME_HOLD;
	}
	s->types[s->n] = (char)msg[0];
	s->lens[s->n++] = len;
	return PROXY_FRAME_FORWARD;
}

/* Appends a message of type t with body b (n bytes). */
static size_t put_msg(unsigned char *buf, char t, const void *b, uint32_t n)
{
	buf[0] = (unsigned char)t;
	proxy_put_be32(buf + 1, n + 4);
	memcpy(buf + 5, b, n);
	return n + 5;
}

static size_t build_stream(unsigned char *buf)
{
	static unsigned char big[5000];
	size_t n = 0;

	memset(big, 'x', sizeof(big));
	n += put_msg(buf + n, 'Q', "select 1\0", 9);
	n += put_msg(buf + n, 'd', big, sizeof(big)); /* streamed, not inspected */
	n += put_msg(buf + n, 'P', "\0select $1\0\0\0", 13);
	n += put_msg(buf + n, 'S', "", 0);
	return n;
}

static bool inspect_types[256];

static struct proxy_stream make_stream(struct seen *s)
{
	inspect_types['Q'] = inspect_types['P'] = inspect_types['S'] = true;
	return (struct proxy_stream){.inspect = inspect_types, .fn = record, .ctx = s};
}

/*
 * The input a connection holds: bytes [head, end) of buf have arrived and not been relayed.
 * relay() scans them the way the connection does and appends what the scan passes to out.
 */
struct pending {
	unsigned char *buf;
	size_t head, end;
	unsigned char *out;
	size_t out_len;
};

static enum proxy_stream_status relay(struct proxy_stream *st, struct pending *p)
{
	size_t fwd = 99999999;
	enum proxy_stream_status r =
	        proxy_stream_scan(st, p->buf + p->head, p->end - p->head, &fwd);

	cr_assert_leq(fwd, p->end - p->head, "passes only bytes that have arrived");
	memcpy(p->out + p->out_len, p->buf + p->head, fwd);
	p->out_len += fwd;
	p->head += fwd;
	return r;
}

static void feed_in_chunks(size_t chunk)
{
	unsigned char data[8192], out[8192];
	size_t n = build_stream(data);
	struct seen s = {.hold_at = -1};
	struct proxy_stream st = make_stream(&s);
	struct pending p = {.buf = data, .out = out};

	for (size_t off = 0; off < n; off += chunk) {
		p.end = n - off < chunk ? n : off + chunk;
		if (p.end - p.head < st.need)
			continue; /* as the connection does: nothing can move yet */
		cr_assert_eq(relay(&st, &p), PROXY_STREAM_OK);
	}
	cr_assert_eq(p.out_len, n, "chunk %zu: every byte relayed", chunk);
	cr_assert_arr_eq(out, data, n, "chunk %zu: bytes relayed in order", chunk);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.types[0], 'Q');
	cr_assert_eq(s.types[1], 'P');
	cr_assert_eq(s.types[2], 'S');
}

Test(frame, split_reads_of_any_size_relay_everything_once)
{
	size_t sizes[] = {1, 2, 3, 4, 5, 6, 7, 13, 64, 4096, 100000};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		feed_in_chunks(sizes[i]);
}

Test(frame, an_incomplete_inspected_message_sets_what_the_input_must_hold)
{
	unsigned char data[8192], out[8192];
	size_t n = build_stream(data);
	struct seen s = {.hold_at = -1};
	struct proxy_stream st = make_stream(&s);
	struct pending p = {.buf = data, .out = out, .end = 3};

	cr_assert_eq(relay(&st, &p), PROXY_STREAM_OK);
	cr_assert_eq(p.out_len, 0);
	cr_assert_eq(st.need, 5, "a header first");
	p.end = 8;
	cr_assert_eq(relay(&st, &p), PROXY_STREAM_OK);
	cr_assert_eq(st.need, 14, "then the whole Query");
	p.end = n;
	cr_assert_eq(relay(&st, &p), PROXY_STREAM_OK);
	cr_assert_eq(p.out_len, n);
	cr_assert_eq(st.need, 5);
}

Test(frame, hold_stops_at_the_held_message_and_resumes_there)
{
	unsigned char data[8192], out[8192];
	size_t n = build_stream(data);
	struct seen s = {.hold_at = 1}; /* the Parse */
	struct proxy_stream st = make_stream(&s);
	struct pending p = {.buf = data, .out = out, .end = n};

	cr_assert_eq(relay(&st, &p), PROXY_STREAM_HELD);
	cr_assert_eq(p.out_len, 14 + 5005, "Query and CopyData went through");
	cr_assert_eq(st.need, 0, "a held message is whole: a resume must scan at once");
	cr_assert_eq(relay(&st, &p), PROXY_STREAM_OK);
	cr_assert_eq(p.out_len, n);
	cr_assert_arr_eq(out, data, n);
	cr_assert_eq(s.n, 3);
}

Test(frame, bad_length_is_reported_after_the_messages_before_it)
{
	unsigned char data[64], out[64];
	struct seen s = {.hold_at = -1};
	struct proxy_stream st = make_stream(&s);
	size_t n = put_msg(data, 'S', "", 0);
	struct pending p = {.buf = data, .out = out};

	memcpy(data + n, (unsigned char[]){'Q', 0, 0, 0, 3}, 5);
	p.end = n + 5;
	cr_assert_eq(relay(&st, &p), PROXY_STREAM_BAD);
	cr_assert_eq(p.out_len, n, "the Sync before the bad message is relayed");
}

Test(frame, oversized_inspected_message_is_streamed_and_counted)
{
	size_t len = PROXY_INSPECT_MAX + 10;
	unsigned char *big = calloc(1, len + 5), *out = malloc(len + 5);
	struct seen s = {.hold_at = -1};
	struct proxy_stream st = make_stream(&s);
	_Atomic uint64_t oversized = 0;
	struct pending p = {.buf = big, .out = out, .end = 1000}; /* only a part has arrived */

	st.oversized = &oversized;
	big[0] = 'Q';
	proxy_put_be32(big + 1, (uint32_t)len + 4);
	cr_assert_eq(relay(&st, &p), PROXY_STREAM_OK);
	cr_assert_eq(p.out_len, 1000, "streamed as it arrives, not buffered whole");
	cr_assert_eq(st.need, 0);
	p.end = len + 5;
	cr_assert_eq(relay(&st, &p), PROXY_STREAM_OK);
	cr_assert_eq(p.out_len, len + 5);
	cr_assert_eq(s.n, 0, "too big to inspect");
	cr_assert_eq(oversized, 1);
	free(big);
	free(out);
}

Test(frame, reader_refuses_to_run_past_the_end)
{
	const unsigned char body[] = {0, 1, 'a', 'b'};
	struct proxy_reader r;

	proxy_reader_init(&r, body, sizeof(body));
	cr_assert_eq(proxy_read_i16(&r), 1);
	cr_assert_str_eq(proxy_read_str(&r), "", "no NUL terminator: malformed");
	cr_assert(r.bad);
	cr_assert_eq(proxy_tag_rows("INSERT 0 42"), 42);
	cr_assert_eq(proxy_tag_rows("SELECT 7"), 7);
	cr_assert_eq(proxy_tag_rows("BEGIN"), 0);
}

/* Appends a big-endian 16- or 32-bit value. */
static size_t put16(unsigned char *p, int16_t v)
{
	p[0] = (unsigned char)((uint16_t)v >> 8);
	p[1] = (unsigned char)v;
	return 2;
}

Test(frame, bind_params_expand_format_codes)
{
	unsigned char b[64];
	size_t n = 0;
	struct proxy_reader r;
	struct proxy_bind_params bp;

	/* one format code (binary) for two parameters: 4-byte 7 and a NULL */
	n += put16(b + n, 1);
	n += put16(b + n, 1);
	n += put16(b + n, 2);
	proxy_put_be32(b + n, 4);
	n += 4;
	memcpy(b + n, "\0\0\0\7", 4);
	n += 4;
	proxy_put_be32(b + n, (uint32_t)-1);
	n += 4;
	proxy_reader_init(&r, b, n);
	cr_assert(proxy_read_bind_params(&r, &bp));
	cr_assert_eq(bp.n, 2);
	cr_assert_eq(bp.formats[0], 1);
	cr_assert_eq(bp.formats[1], 1, "a single format code applies to every parameter");
	cr_assert_eq(bp.lens[0], 4);
	cr_assert_arr_eq(bp.vals[0], "\0\0\0\7", 4);
	cr_assert_eq(bp.lens[1], -1);

	/* two format codes for three parameters: malformed */
	n = 0;
	n += put16(b + n, 2);
	n += put16(b + n, 0);
	n += put16(b + n, 1);
	n += put16(b + n, 3);
	proxy_reader_init(&r, b, n);
	cr_assert_not(proxy_read_bind_params(&r, &bp));

	/* a value longer than the message: malformed */
	n = 0;
	n += put16(b + n, 0);
	n += put16(b + n, 1);
	proxy_put_be32(b + n, 100);
	n += 4;
	proxy_reader_init(&r, b, n);
	cr_assert_not(proxy_read_bind_params(&r, &bp));
}
