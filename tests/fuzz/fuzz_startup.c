/*
 * libFuzzer target: the start-up packet parser, proxy_startup_parse, on the first bytes a
 * client sends. Besides the sanitizers' checks, it aborts when a result breaks the contract:
 * a parameter string outside the packet or not terminated inside it, a packet length larger
 * than the input, a verdict on a complete packet that changes when its last byte is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/frame.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_startup: %s\n", what);
	abort();
}

/* A reported string must be NULL (where allowed) or terminated inside the parameter list. */
static void check_str(const char *s, const uint8_t *pkt, uint32_t len, bool nullable)
{
	const char *lo = (const char *)pkt + 8, *hi = (const char *)pkt + len;

	if (!s) {
		if (!nullable)
			fail("required string is NULL");
		return;
	}
	if (s[0] == 0 && (s < lo || s >= hi))
		return; /* the "" given for an absent user, a static string */
	if (s < lo || s >= hi || !memchr(s, 0, (size_t)(hi - s)))
		fail("string is not inside the packet");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_startup st, partial;
	enum proxy_startup_kind kind = proxy_startup_parse(data, size, &st);

	switch (kind) {
	case PROXY_STARTUP_NEED_MORE:
		if (size >= 8 && st.len <= size)
			fail("needs more of a packet that has arrived");
		return 0;
	case PROXY_STARTUP_BAD:
	case PROXY_STARTUP_UNSUPPORTED:
		if (!st.reason)
			fail("refusal without a reason");
		if (kind == PROXY_STARTUP_BAD && st.len == 0)
			return 0; /* refused on the header's length alone */
		break;
	case PROXY_STARTUP_MESSAGE:
		check_str(st.user, data, st.len, false);
		check_str(st.database, data, st.len, false);
		check_str(st.replication, data, st.len, true);
		check_str(st.options, data, st.len, true);
		check_str(st.application_name, data, st.len, true);
		if (!st.database[0] && st.user[0])
			fail("empty database not defaulted to the user");
		if (st.n_params < 0 || (size_t)st.n_params > st.len / 2)
			fail("parameter count out of range");
		break;
	case PROXY_STARTUP_CANCEL:
		if (st.len != 16)
			fail("cancel request not 16 bytes");
		break;
	case PROXY_STARTUP_SSL:
	case PROXY_STARTUP_GSSENC:
		break;
	default:
		fail("unknown kind");
	}
	if (st.len < 8 || st.len > PROXY_STARTUP_MAX || st.len > size)
		fail("packet length outside the input or the limits");
	/* one byte short of the packet: no verdict yet */
	if (proxy_startup_parse(data, st.len - 1, &partial) != PROXY_STARTUP_NEED_MORE)
		fail("verdict on an incomplete packet");
	return 0;
}
