/* fuzz_frame.c - libFuzzer target for the frame decoder (server/frame.c): the
 * input is cut into chunks that arrive one by one in an evbuffer, as conn.c
 * reads them, and every answer of frame_peek() is checked against a flat copy
 * of the stream.
 *
 * Input: 2 bytes (big-endian) choosing max, 1 byte seeding the chunk sizes,
 * then the byte stream itself.
 */
#include <event2/buffer.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "frame.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() on a broken invariant: libFuzzer reports it as a crash. */
#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer *in;
	const uint8_t *stream;
	size_t max, n, fed = 0, done = 0;   /* stream bytes added, consumed */
	uint32_t rnd;

	if (size < 3)
		return 0;
	max = (size_t)data[0] << 8 | data[1];
	rnd = data[2] | 1u;
	stream = data + 3;
	n = size - 3;
	in = evbuffer_new();
	if (!in)
		return 0;
	for (;;) {
		size_t len = 0, left = fed - done;
		int rc = frame_peek(in, max, &len);

		CHECK(evbuffer_get_length(in) == left);
		if (left < WIRE_FRAME_HEADER) {
			CHECK(rc == 0);
		} else {
			size_t want = wire_get_be32(stream + done);

			CHECK(len == want);
			if (want > max)
				CHECK(rc == ML_EFULL);
			else
				CHECK(rc == (left >= WIRE_FRAME_HEADER + want));
		}
		if (rc == ML_EFULL)
			break;          /* conn.c refuses and closes */
		if (rc == 1) {
			const uint8_t *payload = frame_payload(in, len);

			CHECK(payload != NULL);
			CHECK(!memcmp(payload, stream + done + WIRE_FRAME_HEADER, len));
			frame_consume(in, len);
			done += WIRE_FRAME_HEADER + len;
			continue;
		}
		if (fed == n)
			break;          /* a partial frame is left: conn.c waits */
		/* The next chunk: 1 to 64 bytes, sizes from a small LCG. */
		rnd = rnd * 1103515245u + 12345u;
		{
			size_t chunk = 1 + (rnd >> 16) % 64;

			if (chunk > n - fed)
				chunk = n - fed;
			CHECK(evbuffer_add(in, stream + fed, chunk) == 0);
			fed += chunk;
		}
	}
	evbuffer_free(in);
	return 0;
}
