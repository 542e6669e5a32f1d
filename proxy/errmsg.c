/* Encoding of the ErrorResponse messages foreshard sends on its own behalf (see errmsg.h). */
#include "proxy/errmsg.h"

#include <event2/buffer.h>
#include <string.h>

#include "proxy/frame.h"

/* Appends one field: its code byte and a NUL-terminated value. */
static int add_field(struct evbuffer *out, char code, const char *value)
{
	if (evbuffer_add(out, &code, 1) < 0)
		return -1;
	return evbuffer_add(out, value, strlen(value) + 1);
}

int proxy_errmsg_fatal(struct evbuffer *out, const char *sqlstate, const char *msg)
{
	unsigned char hdr[5];
	/* length word, S and V fields ("FATAL"), C, M, and the terminating NUL */
	size_t len =
	        4 + 2 * (1 + sizeof("FATAL")) + 1 + strlen(sqlstate) + 1 + 1 + strlen(msg) + 1 + 1;

	hdr[0] = 'E';
	proxy_put_be32(hdr + 1, (uint32_t)len);
	if (evbuffer_add(out, hdr, sizeof(hdr)) < 0 || add_field(out, 'S', "FATAL") < 0 ||
	    add_field(out, 'V', "FATAL") < 0 || add_field(out, 'C', sqlstate) < 0 ||
	    add_field(out, 'M', msg) < 0 || evbuffer_add(out, "", 1) < 0)
		return -1;
	return 0;
}
