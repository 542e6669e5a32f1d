#pragma once
/*
 * PostgreSQL protocol v3 framing for the relay: an incremental splitter that tells the relay how
 * many of the bytes that have arrived it may pass on, showing it whole the messages it wants to
 * inspect and streaming the others (COPY data, large rows) without waiting for their end, plus
 * decoders for the few message bodies the proxy reads.
 *
 * Every message after start-up is: type byte, int32 length (counting itself), body. The
 * splitter works on whatever bytes have arrived, so a message split across reads, or several
 * messages in one read, are handled the same way. It only reads the bytes and counts: the
 * caller moves them, in one write per read rather than one per message.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROXY_FRAME_MAX_LEN 0x40000000u /* 1 GiB, PostgreSQL's own limit (MaxAllocSize) */
#define PROXY_INSPECT_MAX (1u << 20)    /* larger inspected messages are streamed unread */

/* What the inspector decides about one whole message of the input. */
enum proxy_frame_verdict {
	PROXY_FRAME_FORWARD = 0, /* relay it and go on */
	PROXY_FRAME_HOLD,        /* leave it (and everything after it) in the input for now */
	PROXY_FRAME_CLOSE,       /* protocol violation: the caller closes the connection */
};

/*
 * Called for every message whose type the stream inspects, with the whole message (type byte
 * included) contiguous in msg, len bytes. It may rewrite bytes of the message in place (for
 * example the keys in BackendKeyData) but not change its length, and may not touch the buffers.
 */
typedef enum proxy_frame_verdict (*proxy_frame_inspect_fn)(void *ctx, unsigned char *msg,
                                                           uint32_t len);

/* Per-direction splitter state. */
struct proxy_stream {
	uint64_t remaining;          /* bytes of a streamed (uninspected) message still to relay */
	uint32_t need;               /* bytes the input must hold before another scan can move on
					(0: any), so that a large message is not rescanned per read */
	const bool *inspect;         /* [256]: message types to show the inspector whole */
	proxy_frame_inspect_fn fn;   /* the inspector */
	void *ctx;                   /* its argument */
	_Atomic uint64_t *oversized; /* counts inspected messages streamed unread (too big) */
	/*
	 * Optional: told the type of each inspected message streamed unread because it is too big,
	 * before any of it moves, so that the owner's bookkeeping can follow (a Query still ends in
	 * ReadyForQuery). It cannot hold the message.
	 */
	void (*unread_fn)(void *ctx, unsigned char type);
};

enum proxy_stream_status {
	PROXY_STREAM_OK = 0, /* passed all it could; wait for more input */
	PROXY_STREAM_HELD,   /* the inspector held a message */
	PROXY_STREAM_BAD,    /* bad length or the inspector asked to close */
};

/*
 * Scans the len bytes of input at data (the head of what has arrived and not been relayed yet),
 * calling the inspector on each whole inspected message, and sets *fwd to how many bytes at the
 * head may be relayed: complete messages and the part of a streamed one that has arrived. The
 * caller relays them and drops them from the input before the next scan; the rest stays for it.
 * Returns when the input is exhausted (OK), a message is held (HELD; *fwd ends where it
 * starts), or on a violation (BAD; *fwd counts the messages before it).
 */
enum proxy_stream_status proxy_stream_scan(struct proxy_stream *s, unsigned char *data, size_t len,
                                           size_t *fwd);

/* Big-endian readers over a bounded body. */
struct proxy_reader {
	const unsigned char *p;   /* next byte */
	const unsigned char *end; /* one past the last byte */
	bool bad;                 /* set when a read ran past the end: the message is malformed */
};

void proxy_reader_init(struct proxy_reader *r, const unsigned char *body, size_t len);
uint8_t proxy_read_u8(struct proxy_reader *r);
int16_t proxy_read_i16(struct proxy_reader *r);
int32_t proxy_read_i32(struct proxy_reader *r);
/* Returns the NUL-terminated string at the cursor (inside the message), or "" if malformed. */
const char *proxy_read_str(struct proxy_reader *r);
/* Returns a pointer to n bytes at the cursor, or NULL if fewer remain. */
const unsigned char *proxy_read_bytes(struct proxy_reader *r, size_t n);

static inline uint32_t proxy_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void proxy_put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Start-up packet codes (the int32 after the length). */
#define PROXY_PROTO_V3 0x00030000u
#define PROXY_CANCEL_CODE 80877102u
#define PROXY_SSL_CODE 80877103u
#define PROXY_GSSENC_CODE 80877104u
#define PROXY_STARTUP_MAX 10000u /* PostgreSQL's MAX_STARTUP_PACKET_LENGTH */
#define PROXY_AUTH_SASL 10u      /* the code of AuthenticationSASL ('R') */

/* What the first packet of a client connection (or the one after a refused SSL request) is. */
enum proxy_startup_kind {
	PROXY_STARTUP_NEED_MORE = 0, /* the packet has not fully arrived: wait for more bytes */
	PROXY_STARTUP_SSL,           /* SSLRequest: answer 'N' and read the next packet */
	PROXY_STARTUP_GSSENC,        /* GSSENCRequest: answer 'N' and read the next packet */
	PROXY_STARTUP_CANCEL,        /* CancelRequest of exactly 16 bytes: relay it, then close */
	PROXY_STARTUP_MESSAGE,       /* StartupMessage of protocol 3.x with a well-formed list */
	PROXY_STARTUP_UNSUPPORTED,   /* a protocol major version other than 3: refuse politely */
	PROXY_STARTUP_BAD,           /* malformed (length, cancel size, parameter list): close */
};

/*
 * A parsed start-up packet. The strings point into the packet given to proxy_startup_parse and
 * are valid as long as it is; each is NUL-terminated inside the packet.
 */
struct proxy_startup {
	uint32_t len;                 /* the packet's length: bytes to drain, 0 while unknown */
	uint32_t code;                /* the int32 after the length: version or request code */
	const char *user;             /* "user" parameter, "" when absent */
	const char *database;         /* "database", or the user when absent (PostgreSQL's rule) */
	const char *replication;      /* "replication", NULL when absent */
	const char *options;          /* "options" (command-line switches), NULL when absent */
	const char *application_name; /* "application_name", NULL when absent */
	int n_params;                 /* name/value pairs in the packet, duplicates included */
	uint32_t cancel_pid;          /* CancelRequest: the backend's process id */
	uint32_t cancel_key;          /* CancelRequest: its secret key */
	const char *reason;           /* BAD and UNSUPPORTED: why, a static string for the log */
};

/*
 * Classifies the start-up packet at the head of the len bytes at pkt (the client's input so
 * far; bytes past the packet are ignored) and fills out. Validates like PostgreSQL: a length
 * below 8 or above PROXY_STARTUP_MAX is BAD, a CancelRequest must be 16 bytes, the protocol
 * major version must be 3, and the parameters must be NUL-terminated name/value pairs followed
 * by one more NUL that ends the packet. NEED_MORE until 8 bytes, then the whole declared
 * length, are there. Later duplicates of a parameter win. Pure: no allocation, any thread; pkt
 * may be NULL when len is 0.
 */
enum proxy_startup_kind proxy_startup_parse(const unsigned char *pkt, size_t len,
                                            struct proxy_startup *out);

#define PROXY_BIND_PARAMS_MAX 256 /* Bind parameters decoded; a Bind with more is not decoded */

/* The parameters of a Bind message, as parser_bind takes them. */
struct proxy_bind_params {
	int n;                                   /* parameters */
	const char *vals[PROXY_BIND_PARAMS_MAX]; /* each points into the message */
	int32_t lens[PROXY_BIND_PARAMS_MAX];     /* bytes; -1 is SQL NULL */
	int16_t formats[PROXY_BIND_PARAMS_MAX];  /* per parameter: 0 text, 1 binary */
};

/*
 * Reads a Bind message's format codes and parameter values at the reader's cursor (just after
 * the portal and statement names), giving every parameter its own format code as the protocol
 * defines (none = all text, one = the same for all). Returns false when the message is
 * malformed or has more than PROXY_BIND_PARAMS_MAX parameters.
 */
bool proxy_read_bind_params(struct proxy_reader *r, struct proxy_bind_params *out);

/* Rows count at the end of a CommandComplete tag ("INSERT 0 5", "SELECT 3"), 0 if none. */
uint32_t proxy_tag_rows(const char *tag);
