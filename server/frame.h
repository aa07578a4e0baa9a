/* frame.h - cutting frames (4-byte big-endian length, then the payload) out
 * of a libevent input buffer, whatever way the bytes arrived.
 */
#ifndef MAILLAGE_FRAME_H
#define MAILLAGE_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* Look at the start of in. Returns 1 when a whole frame is buffered (*len =
 * its payload length), 0 when more bytes are needed, ML_EFULL when the length
 * prefix exceeds max (*len = the announced length). Consumes nothing. */
int frame_peek(struct evbuffer *in, size_t max, size_t *len);

/* The payload of the frame frame_peek() found, contiguous (valid until in
 * changes); NULL on allocation failure. */
const uint8_t *frame_payload(struct evbuffer *in, size_t len);

/* Drop that frame, header included. */
void frame_consume(struct evbuffer *in, size_t len);

#endif
