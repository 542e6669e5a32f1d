/*
 * Incremental message splitter, body readers and start-up packet parser for the PostgreSQL
 * protocol (see frame.h). All three are pure functions over bytes, so that they can be unit
 * tested and fuzzed apart from the connection that feeds them.
 */
#include "proxy/frame.h"

#include <stdlib.h>
#include <string.h>

enum proxy_stream_status proxy_stream_scan(struct proxy_stream *s, unsigned char *data, size_t len,
                                           size_t *fwd)
{
	enum proxy_stream_status st = PROXY_STREAM_OK;
	size_t off = 0;

	s->need = 0;
	for (;;) {
		size_t avail = len - off;
		uint32_t mlen;

		if (s->remaining > 0) {
			size_t n = avail < s->remaining ? avail : (size_t)s->remaining;

			if (n == 0)
				break;
			off += n;
			s->remaining -= n;
			continue;
		}
		if (avail < 5) {
			s->need = 5;
			break;
		}
		mlen = proxy_be32(data + off + 1);
		if (mlen < 4 || mlen > PROXY_FRAME_MAX_LEN) {
			st = PROXY_STREAM_BAD;
			break;
		}
		if (!s->inspect[data[off]] || mlen >= PROXY_INSPECT_MAX) {
			if (s->inspect[data[off]] && s->oversized)
				atomic_fetch_add_explicit(s->oversized, 1, memory_order_relaxed);
			if (s->inspect[data[off]] && s->unread_fn)
				s->unread_fn(s->ctx, data[off]);
			s->remaining = (uint64_t)mlen + 1;
			continue;
		}
		if (avail < (size_t)mlen + 1) {
			s->need = mlen + 1;
			break;
		}
		switch (s->fn(s->ctx, data + off, mlen + 1)) {
		case PROXY_FRAME_FORWARD:
			off += (size_t)mlen + 1;
			continue;
		case PROXY_FRAME_HOLD:
			st = PROXY_STREAM_HELD;
			break;
		case PROXY_FRAME_CLOSE:
			st = PROXY_STREAM_BAD;
			break;
		}
		break;
	}
	*fwd = off;
	return st;
}

void proxy_reader_init(struct proxy_reader *r, const unsigned char *body, size_t len)
{
	r->p = body;
	r->end = body + len;
	r->bad = false;
}

const unsigned char *proxy_read_bytes(struct proxy_reader *r, size_t n)
{
	const unsigned char *p = r->p;

	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		r->p = r->end;
		return NULL;
	}
	r->p += n;
	return p;
}

uint8_t proxy_read_u8(struct proxy_reader *r)
{
	const unsigned char *p = proxy_read_bytes(r, 1);

	return p ? p[0] : 0;
}

int16_t proxy_read_i16(struct proxy_reader *r)
{
	const unsigned char *p = proxy_read_bytes(r, 2);

	return p ? (int16_t)((uint16_t)p[0] << 8 | p[1]) : 0;
}

int32_t proxy_read_i32(struct proxy_reader *r)
{
	const unsigned char *p = proxy_read_bytes(r, 4);

	return p ? (int32_t)proxy_be32(p) : 0;
}

const char *proxy_read_str(struct proxy_reader *r)
{
	const unsigned char *nul = memchr(r->p, 0, (size_t)(r->end - r->p));
	const char *s = (const char *)r->p;

	if (!nul) {
		r->bad = true;
		r->p = r->end;
		return "";
	}
	r->p = nul + 1;
	return s;
}

bool proxy_read_bind_params(struct proxy_reader *r, struct proxy_bind_params *out)
{
	int16_t nfmt = proxy_read_i16(r), nparam;
	int16_t fmt_all = 0;

	if (nfmt < 0 || nfmt > PROXY_BIND_PARAMS_MAX)
		return false;
	for (int i = 0; i < nfmt; i++)
		out->formats[i] = proxy_read_i16(r);
	if (nfmt == 1)
		fmt_all = out->formats[0];
	nparam = proxy_read_i16(r);
	if (nparam < 0 || nparam > PROXY_BIND_PARAMS_MAX || (nfmt > 1 && nfmt != nparam))
		return false;
	for (int i = 0; i < nparam; i++) {
		out->lens[i] = proxy_read_i32(r);
		out->vals[i] = out->lens[i] > 0
		                       ? (const char *)proxy_read_bytes(r, (size_t)out->lens[i])
		                       : "";
		if (nfmt <= 1)
			out->formats[i] = fmt_all;
	}
	out->n = nparam;
	return !r->bad;
}

uint32_t proxy_tag_rows(const char *tag)
{
	const char *sp = strrchr(tag, ' ');

	if (!sp || sp[1] < '0' || sp[1] > '9')
		return 0;
	return (uint32_t)strtoul(sp + 1, NULL, 10);
}

/*
 * Reads the name/value pairs of a StartupMessage body (after length and version). Returns
 * false unless they are NUL-terminated pairs followed by one NUL that is the body's last byte.
 */
static bool startup_params(const unsigned char *body, size_t len, struct proxy_startup *out)
{
	struct proxy_reader r;

	proxy_reader_init(&r, body, len);
	while (r.p < r.end && *r.p) {
		const char *name = proxy_read_str(&r);
		const char *value = proxy_read_str(&r);

		if (r.bad)
			return false;
		out->n_params++;
		if (strcmp(name, "user") == 0)
			out->user = value;
		else if (strcmp(name, "database") == 0)
			out->database = value;
		else if (strcmp(name, "replication") == 0)
			out->replication = value;
		else if (strcmp(name, "options") == 0)
			out->options = value;
		else if (strcmp(name, "application_name") == 0)
			out->application_name = value;
	}
	/* PostgreSQL refuses bytes after the terminator as firmly as a missing terminator */
	return r.end - r.p == 1;
}

enum proxy_startup_kind proxy_startup_parse(const unsigned char *pkt, size_t len,
                                            struct proxy_startup *out)
{
	uint32_t n;

	memset(out, 0, sizeof(*out));
	out->user = "";
	out->database = "";
	if (len < 8)
		return PROXY_STARTUP_NEED_MORE;
	n = proxy_be32(pkt);
	out->code = proxy_be32(pkt + 4);
	if (n < 8 || n > PROXY_STARTUP_MAX) {
		out->reason = "invalid start-up packet length";
		return PROXY_STARTUP_BAD;
	}
	out->len = n;
	if (len < n)
		return PROXY_STARTUP_NEED_MORE;
	if (out->code == PROXY_SSL_CODE)
		return PROXY_STARTUP_SSL;
	if (out->code == PROXY_GSSENC_CODE)
		return PROXY_STARTUP_GSSENC;
	if (out->code == PROXY_CANCEL_CODE) {
		if (n != 16) {
			out->reason = "invalid cancel request";
			return PROXY_STARTUP_BAD;
		}
		out->cancel_pid = proxy_be32(pkt + 8);
		out->cancel_key = proxy_be32(pkt + 12);
		return PROXY_STARTUP_CANCEL;
	}
	if (out->code >> 16 != 3) {
		out->reason = "unsupported frontend protocol version";
		return PROXY_STARTUP_UNSUPPORTED;
	}
	if (!startup_params(pkt + 8, n - 8, out)) {
		out->reason = "invalid start-up packet layout";
		return PROXY_STARTUP_BAD;
	}
	if (!out->database[0])
		out->database = out->user;
	return PROXY_STARTUP_MESSAGE;
}
