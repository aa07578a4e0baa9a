/* frame.c - length-prefixed frames over an evbuffer. */
#include <event2/buffer.h>

#include "err.h"
#include "frame.h"
#include "wire.h"

int frame_peek(struct evbuffer *in, size_t max, size_t *len)
{
	uint8_t hdr[WIRE_FRAME_HEADER];

	if (evbuffer_copyout(in, hdr, sizeof(hdr)) < (ev_ssize_t)sizeof(hdr))
		return 0;
	*len = wire_get_be32(hdr);
	if (*len > max)
		return ML_EFULL;
	return evbuffer_get_length(in) >= WIRE_FRAME_HEADER + *len;
}

const uint8_t *frame_payload(struct evbuffer *in, size_t len)
{
	const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(WIRE_FRAME_HEADER + len));

	return p ? p + WIRE_FRAME_HEADER : NULL;
}

void frame_consume(struct evbuffer *in, size_t len)
{
	evbuffer_drain(in, WIRE_FRAME_HEADER + len);
}
