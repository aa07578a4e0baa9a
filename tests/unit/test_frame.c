/* test_frame.c - the frame decoder on whole, split, back-to-back, empty and
 * oversized input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <string.h>

#include "err.h"
#include "frame.h"
#include "wire.h"

static void add_frame(struct evbuffer *b, const char *payload, size_t len)
{
	uint8_t hdr[4];

	wire_put_be32(hdr, (uint32_t)len);
	evbuffer_add(b, hdr, 4);
	evbuffer_add(b, payload, len);
}

static void test_whole_frame(void **state)
{
	struct evbuffer *b = evbuffer_new();
	size_t len = 0;

	(void)state;
	add_frame(b, "hello", 5);
	assert_int_equal(frame_peek(b, 1024, &len), 1);
	assert_int_equal(len, 5);
	assert_memory_equal(frame_payload(b, len), "hello", 5);
	frame_consume(b, len);
	assert_int_equal(evbuffer_get_length(b), 0);
	assert_int_equal(frame_peek(b, 1024, &len), 0);
	evbuffer_free(b);
}

/* Fed one byte at a time, a frame appears exactly when its last byte does. */
static void test_split_every_byte(void **state)
{
	struct evbuffer *whole = evbuffer_new(), *b = evbuffer_new();
	uint8_t bytes[64];
	size_t n, len = 0;

	(void)state;
	add_frame(whole, "abcdefghij", 10);
	n = evbuffer_remove(whole, bytes, sizeof(bytes));
	assert_int_equal(n, 14);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(frame_peek(b, 1024, &len), 0);
		evbuffer_add(b, bytes + i, 1);
	}
	assert_int_equal(frame_peek(b, 1024, &len), 1);
	assert_int_equal(len, 10);
	assert_memory_equal(frame_payload(b, len), "abcdefghij", 10);
	evbuffer_free(whole);
	evbuffer_free(b);
}

/* Several frames in one read, and a payload spread over buffer chains. */
static void test_back_to_back(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char big[5000];
	size_t len = 0;

	(void)state;
	memset(big, 'x', sizeof(big));
	add_frame(b, "one", 3);
	add_frame(b, "", 0);
	{
		uint8_t hdr[4];

		wire_put_be32(hdr, sizeof(big));
		evbuffer_add(b, hdr, 4);
		for (size_t i = 0; i < sizeof(big); i += 100)
			evbuffer_add(b, big + i, 100);
	}
	assert_int_equal(frame_peek(b, 8192, &len), 1);
	assert_int_equal(len, 3);
	frame_consume(b, len);
	assert_int_equal(frame_peek(b, 8192, &len), 1);
	assert_int_equal(len, 0);
	frame_consume(b, len);
	assert_int_equal(frame_peek(b, 8192, &len), 1);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(frame_payload(b, len), big, sizeof(big));
	frame_consume(b, len);
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

/* A length over the limit is refused from the header alone. */
static void test_oversized(void **state)
{
	struct evbuffer *b = evbuffer_new();
	uint8_t hdr[4];
	size_t len = 0;

	(void)state;
	wire_put_be32(hdr, 1025);
	evbuffer_add(b, hdr, 4);
	assert_int_equal(frame_peek(b, 1024, &len), ML_EFULL);
	assert_int_equal(len, 1025);
	evbuffer_drain(b, 4);
	wire_put_be32(hdr, 0xffffffffu);
	evbuffer_add(b, hdr, 4);
	assert_int_equal(frame_peek(b, 1u << 20, &len), ML_EFULL);
	evbuffer_drain(b, 4);
	wire_put_be32(hdr, 1024);
	evbuffer_add(b, hdr, 4);
	assert_int_equal(frame_peek(b, 1024, &len), 0);   /* at the limit: fine, wait */
	evbuffer_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_frame),
		cmocka_unit_test(test_split_every_byte),
		cmocka_unit_test(test_back_to_back),
		cmocka_unit_test(test_oversized),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
