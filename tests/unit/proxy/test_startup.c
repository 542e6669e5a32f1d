/*
 * The start-up packet parser: every kind of first packet a client may send, the parameters it
 * reports, partial packets, and each way a packet can be malformed.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "proxy/frame.h"

/* Builds a packet with the given code and body (n bytes); returns its length. */
static size_t put_packet(unsigned char *buf, uint32_t code, const void *body, size_t n)
{
	proxy_put_be32(buf, (uint32_t)(n + 8));
	proxy_put_be32(buf + 4, code);
	if (n)
		memcpy(buf + 8, body, n);
	return n + 8;
}

/* A v3.0 StartupMessage with a parameter list (sizeof includes the literal's own NUL). */
#define STARTUP(buf, list) put_packet(buf, PROXY_PROTO_V3, list, sizeof(list))

Test(startup, startup_message_parameters)
{
	unsigned char pkt[256];
	struct proxy_startup st;
	size_t n = STARTUP(pkt, "user\0alice\0database\0shop\0application_name\0psql\0options\0"
	                        "-c geqo=off\0replication\0database\0");

	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_MESSAGE);
	cr_assert_eq(st.len, n);
	cr_assert_eq(st.code, PROXY_PROTO_V3);
	cr_assert_str_eq(st.user, "alice");
	cr_assert_str_eq(st.database, "shop");
	cr_assert_str_eq(st.application_name, "psql");
	cr_assert_str_eq(st.options, "-c geqo=off");
	cr_assert_str_eq(st.replication, "database");
	cr_assert_eq(st.n_params, 5);
	cr_assert_null(st.reason);
	/* the strings point into the packet: no copies */
	cr_assert(st.user > (const char *)pkt && st.user < (const char *)pkt + n);
}

Test(startup, defaults_and_duplicates)
{
	unsigned char pkt[128];
	struct proxy_startup st;
	size_t n = STARTUP(pkt, "user\0bob\0");

	/* no database: PostgreSQL's default is the user name; the others are absent */
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_MESSAGE);
	cr_assert_str_eq(st.database, "bob");
	cr_assert_null(st.replication);
	cr_assert_null(st.options);
	cr_assert_null(st.application_name);
	/* an empty database also means the user's */
	n = STARTUP(pkt, "database\0\0user\0carol\0");
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_MESSAGE);
	cr_assert_str_eq(st.database, "carol");
	/* a later duplicate wins */
	n = STARTUP(pkt, "user\0a\0user\0b\0database\0x\0");
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_MESSAGE);
	cr_assert_str_eq(st.user, "b");
	cr_assert_eq(st.n_params, 3);
	/* no parameters at all, only the terminator: well formed (the server complains) */
	n = put_packet(pkt, PROXY_PROTO_V3, "", 1);
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_MESSAGE);
	cr_assert_str_eq(st.user, "");
	cr_assert_str_eq(st.database, "");
	cr_assert_eq(st.n_params, 0);
	/* a minor version other than 0 is relayed: the server negotiates it */
	n = put_packet(pkt, PROXY_PROTO_V3 | 2, "user\0u\0", 8);
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_MESSAGE);
}

Test(startup, encryption_and_cancel_requests)
{
	unsigned char pkt[64];
	struct proxy_startup st;
	unsigned char key[8];
	size_t n = put_packet(pkt, PROXY_SSL_CODE, NULL, 0);

	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_SSL);
	cr_assert_eq(st.len, 8);
	n = put_packet(pkt, PROXY_GSSENC_CODE, NULL, 0);
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_GSSENC);
	proxy_put_be32(key, 4242);
	proxy_put_be32(key + 4, 0xdeadbeef);
	n = put_packet(pkt, PROXY_CANCEL_CODE, key, sizeof(key));
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_CANCEL);
	cr_assert_eq(st.len, 16);
	cr_assert_eq(st.cancel_pid, 4242);
	cr_assert_eq(st.cancel_key, 0xdeadbeef);
}

Test(startup, trailing_bytes_belong_to_the_next_packet)
{
	unsigned char pkt[128];
	struct proxy_startup st;
	size_t n = put_packet(pkt, PROXY_SSL_CODE, NULL, 0);

	/* an SSL request followed by the StartupMessage the client sends after 'N' */
	n += STARTUP(pkt + n, "user\0u\0");
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_SSL);
	cr_assert_eq(st.len, 8);
	cr_assert_eq(proxy_startup_parse(pkt + 8, n - 8, &st), PROXY_STARTUP_MESSAGE);
	cr_assert_eq(st.len, n - 8);
	cr_assert_str_eq(st.user, "u");
}

Test(startup, partial_packets_need_more)
{
	unsigned char pkt[128];
	struct proxy_startup st;
	size_t n = STARTUP(pkt, "user\0alice\0");

	cr_assert_eq(proxy_startup_parse(NULL, 0, &st), PROXY_STARTUP_NEED_MORE);
	cr_assert_eq(st.len, 0);
	for (size_t i = 1; i < n; i++) {
		cr_assert_eq(proxy_startup_parse(pkt, i, &st), PROXY_STARTUP_NEED_MORE, "%zu", i);
		/* the length is known, and reported, once the header is in */
		cr_assert_eq(st.len, i >= 8 ? n : 0, "%zu", i);
	}
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_MESSAGE);
}

Test(startup, bad_lengths)
{
	unsigned char pkt[PROXY_STARTUP_MAX + 16];
	struct proxy_startup st;

	memset(pkt, 0, sizeof(pkt));
	for (uint32_t len = 0; len < 8; len++) {
		proxy_put_be32(pkt, len);
		proxy_put_be32(pkt + 4, PROXY_PROTO_V3);
		cr_assert_eq(proxy_startup_parse(pkt, 8, &st), PROXY_STARTUP_BAD, "%u", len);
		cr_assert_str_eq(st.reason, "invalid start-up packet length");
		cr_assert_eq(st.len, 0);
	}
	/* refused on the header alone, before the body could arrive */
	proxy_put_be32(pkt, PROXY_STARTUP_MAX + 1);
	cr_assert_eq(proxy_startup_parse(pkt, 8, &st), PROXY_STARTUP_BAD);
	proxy_put_be32(pkt, 0xffffffffu);
	cr_assert_eq(proxy_startup_parse(pkt, 8, &st), PROXY_STARTUP_BAD);
	/* the largest packet is accepted: PROXY_STARTUP_MAX bytes, a long value and terminators */
	proxy_put_be32(pkt, PROXY_STARTUP_MAX);
	memcpy(pkt + 8, "user", 5);
	memset(pkt + 13, 'u', PROXY_STARTUP_MAX - 15);
	pkt[PROXY_STARTUP_MAX - 2] = 0;
	pkt[PROXY_STARTUP_MAX - 1] = 0;
	cr_assert_eq(proxy_startup_parse(pkt, PROXY_STARTUP_MAX, &st), PROXY_STARTUP_MESSAGE);
	cr_assert_eq(strlen(st.user), PROXY_STARTUP_MAX - 15);
}

Test(startup, bad_cancel_and_version)
{
	unsigned char pkt[64] = {0};
	struct proxy_startup st;
	size_t n = put_packet(pkt, PROXY_CANCEL_CODE, pkt + 32, 4);

	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_BAD);
	cr_assert_str_eq(st.reason, "invalid cancel request");
	n = put_packet(pkt, PROXY_CANCEL_CODE, pkt + 32, 12);
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_BAD);
	/* protocol 2 and a made-up 4: refused with a reason the client can be told */
	n = put_packet(pkt, 0x00020000u, "user\0u\0", 8);
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_UNSUPPORTED);
	cr_assert_str_eq(st.reason, "unsupported frontend protocol version");
	cr_assert_eq(st.code, 0x00020000u);
	n = put_packet(pkt, 0x00040000u, "user\0u\0", 8);
	cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_UNSUPPORTED);
}

Test(startup, bad_parameter_layouts)
{
	static const struct {
		const char *body;
		size_t n;
	} bad[] = {
	        {"", 0},                      /* no terminator at all */
	        {"user\0alice\0", 11},        /* pairs but no final NUL */
	        {"user\0alice", 10},          /* value not terminated */
	        {"user", 4},                  /* name not terminated */
	        {"user\0", 5},                /* name without a value */
	        {"user\0alice\0\0x", 13},     /* bytes after the terminator */
	        {"user\0alice\0\0\0", 13},    /* two terminators */
	        {"\0\0", 2},                  /* an empty list then a stray NUL */
	        {"user\0alice\0options", 18}, /* second name not terminated */
	};
	unsigned char pkt[64];
	struct proxy_startup st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = put_packet(pkt, PROXY_PROTO_V3, bad[i].body, bad[i].n);

		cr_assert_eq(proxy_startup_parse(pkt, n, &st), PROXY_STARTUP_BAD, "case %zu", i);
		cr_assert_str_eq(st.reason, "invalid start-up packet layout");
	}
}
