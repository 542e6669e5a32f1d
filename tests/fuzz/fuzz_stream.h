#pragma once
/*
 * The harness the two framing targets share (fuzz_frontend.c, fuzz_backend.c): it relays a
 * fuzz input through proxy_stream_scan the way a connection does, in read-sized chunks, and
 * aborts when the splitter breaks one of its promises.
 */
#include <stddef.h>
#include <stdint.h>

#include "proxy/frame.h"

/*
 * Decodes one inspected message (type byte first, len bytes, whole) the way the proxy's own
 * inspector does, and returns the inspector's verdict (never HOLD: the harness decides that).
 */
typedef enum proxy_frame_verdict (*fuzz_decode_fn)(void *ctx, const unsigned char *msg,
                                                   uint32_t len);

/*
 * Feeds data (size bytes) to a stream inspecting the message types in types, in chunks whose
 * sizes follow a generator seeded from the data, calling decode on each inspected message and
 * now and then holding one and resuming it. Aborts if a byte is lost, duplicated or reordered,
 * if an inspected message is not whole, of an uninspected type, not at the head of the input
 * or not where the input's own headers place a message, if a held message is not shown again
 * first on resume, or if a violation is reported where there is no bad length and the decoder
 * did not ask to close.
 */
void fuzz_stream_run(const uint8_t *data, size_t size, const char *types, fuzz_decode_fn decode,
                     void *ctx);
