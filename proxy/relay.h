#pragma once
/*
 * One relay step of one direction: what a side's input holds, followed by the bytes just read,
 * scanned by the direction's stream (proxy/frame.h) and the messages it passes sent on in one
 * call. Kept apart from the connection (proxy/conn.c) so that its buffer handling, the busiest
 * code of the proxy, can be tested on its own. It is inline, and the proxy's send callback
 * too, so that the relay compiles to what it was before it moved here: as a function of its
 * own it cost 5% more instructions in foreshard's code per relayed statement, with only the
 * callback out of line 1.7% (bench/relay_profile.sh).
 */
#include <event2/buffer.h>
#include <stdbool.h>
#include <stddef.h>

#include "proxy/frame.h"

/* Sends the n bytes at data on (n > 0: a step with nothing to send does not call it); false
 * when out of memory. */
typedef bool (*proxy_relay_send_fn)(void *ctx, const unsigned char *data, size_t n);

/*
 * Relays, through stream s, what input `in` holds followed by the n bytes at fresh (n may be 0):
 * one scan over them and one send of the messages it passes, whatever their number. Everything
 * before a held or refused message is sent too. Fresh bytes are scanned where they are when the
 * input is empty, the usual case, and only what they leave (an incomplete or held message) is
 * copied into the input; behind bytes already waiting they are appended first, so that order
 * holds. A result of OK with *oom set: out of memory (what was sent stays sent; the connection
 * is to be closed).
 */
static inline enum proxy_stream_status proxy_relay(struct proxy_stream *s, struct evbuffer *in,
                                                   unsigned char *fresh, size_t n,
                                                   proxy_relay_send_fn send, void *ctx, bool *oom)
{
	enum proxy_stream_status st = PROXY_STREAM_OK;
	unsigned char *data = fresh;
	size_t avail = n, fwd = 0;

	*oom = false;
	if (n > 0 && evbuffer_get_length(in) > 0) {
		/* behind what is already waiting: in order, from the input */
		if (evbuffer_add(in, fresh, n) != 0) {
			*oom = true;
			return st;
		}
		data = NULL;
	}
	if (!data) {
		avail = evbuffer_get_length(in);
		/*
		 * One block. This copies only when the input holds several chains: an incomplete
		 * message followed by more reads, which s->need limits to once per message.
		 */
		if (avail == 0 || avail < s->need)
			return st;
		data = evbuffer_pullup(in, -1);
		if (!data) {
			*oom = true;
			return st;
		}
	}
	if (avail >= s->need)
		st = proxy_stream_scan(s, data, avail, &fwd);
	*oom = fwd > 0 && !send(ctx, data, fwd);
	if (data != fresh)
		evbuffer_drain(in, fwd);
	else if (fwd < avail && evbuffer_add(in, data + fwd, avail - fwd) != 0)
		*oom = true;
	return st;
}
