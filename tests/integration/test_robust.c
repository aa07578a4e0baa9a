/* test_robust.c - bad input on the wire: oversized frames, bytes that are not
 * a Request, an empty body, a wrong field, a half frame that stalls; each gets
 * its answer and the server keeps serving everyone else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define ST(x) MAILLAGE__V1__STATUS_CODE__##x


static int setup(void **state)
{
	(void)state;
	return h_setup(&H, "max_frame_bytes = 65536");
}

static struct mlc *connect_as(const char *org)
{
	struct mlc *c = h_connect(&H, org, NULL, 0);

	assert_non_null(c);
	return c;
}

/* The server still answers a ping on connection c. */
static void assert_serving(struct mlc *c)
{
	mlc_request *req = h_ping(&H);
	mlc_response *resp = h_call(c, req);

	assert_int_equal(h_code(resp), ST(OK));
	assert_non_null(resp->pong);
	mlc_response_free(resp);
	h_request_free(req);
}

static void assert_serving_others(void)
{
	struct mlc *c = connect_as("auditor");

	assert_serving(c);
	mlc_close(c);
}

static void send_frame(struct mlc *c, const void *payload, uint32_t len)
{
	uint8_t hdr[4] = { len >> 24, len >> 16, len >> 8, len };

	assert_int_equal(mlc_send_raw(c, hdr, 4), 0);
	if (len)
		assert_int_equal(mlc_send_raw(c, payload, len), 0);
}

static void test_oversized_frame(void **state)
{
	struct mlc *c = connect_as("ccas-vaulx");
	static uint8_t big[70000];
	mlc_response *resp;

	(void)state;
	memset(big, 0x0a, sizeof(big));
	send_frame(c, big, sizeof(big));
	resp = mlc_recv(c);
	assert_int_equal(h_code(resp), ST(RESOURCE_EXHAUSTED));
	assert_int_equal(resp->request_id, 0);
	assert_non_null(strstr(resp->status->message, "70000 bytes exceeds the limit of 65536"));
	mlc_response_free(resp);
	/* then the connection is closed */
	assert_null(mlc_recv(c));
	mlc_close(c);
	assert_serving_others();
}

static void test_garbage_frame(void **state)
{
	struct mlc *c = connect_as("ccas-vaulx");
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x07 };
	mlc_response *resp;

	(void)state;
	send_frame(c, garbage, sizeof(garbage));
	resp = mlc_recv(c);
	assert_int_equal(h_code(resp), ST(INVALID_ARGUMENT));
	assert_int_equal(resp->request_id, 0);
	assert_non_null(strstr(resp->status->message, "not a maillage.v1.Request"));
	mlc_response_free(resp);
	/* framing is intact: the same connection goes on */
	assert_serving(c);
	mlc_close(c);
}

static void test_empty_body(void **state)
{
	struct mlc *c = connect_as("ccas-vaulx");
	mlc_request *req = h_request(&H);
	mlc_response *resp;

	(void)state;
	resp = h_call(c, req);
	assert_int_equal(h_code(resp), ST(INVALID_ARGUMENT));
	assert_string_equal(resp->status->field, "body");
	mlc_response_free(resp);
	/* a zero-length frame is an empty Request too */
	send_frame(c, NULL, 0);
	resp = mlc_recv(c);
	assert_int_equal(h_code(resp), ST(INVALID_ARGUMENT));
	mlc_response_free(resp);
	assert_serving(c);
	h_request_free(req);
	mlc_close(c);
}

static void test_wrong_field(void **state)
{
	struct mlc *c = connect_as("ccas-vaulx");
	mlc_request *req = h_refer(&H, "vaulx-bron", "Field", "Fanny", "1990-02-30");
	mlc_response *resp;

	(void)state;
	resp = h_call(c, req);
	assert_int_equal(h_code(resp), ST(INVALID_ARGUMENT));
	assert_string_equal(resp->status->field,
			    "refer_household.referral.household.reference_person.birth_date");
	mlc_response_free(resp);
	/* no command_id */
	req->command_id.len = 0;
	req->request_id = 0;
	resp = h_call(c, req);
	assert_int_equal(h_code(resp), ST(INVALID_ARGUMENT));
	assert_string_equal(resp->status->field, "command_id");
	mlc_response_free(resp);
	req->command_id.len = 16;
	h_request_free(req);
	mlc_close(c);
}

/* Half a frame, then silence: closed after frame_timeout_s (2 s in tests),
 * while another client is served meanwhile. */
static void test_half_frame_stall(void **state)
{
	struct mlc *c = connect_as("ccas-vaulx");
	static const uint8_t half[] = { 0x00, 0x00, 0x01, 0x00, 0x08 };
	time_t start = time(NULL);

	(void)state;
	assert_int_equal(mlc_send_raw(c, half, sizeof(half)), 0);
	assert_serving_others();
	assert_null(mlc_recv(c));
	assert_true(time(NULL) - start <= 6);
	mlc_close(c);
	assert_true(h_log_contains(&H, "incomplete frame timeout"));
	assert_serving_others();
}

/* Pipelined requests come back, each matched by its request_id. */
static void test_pipelining(void **state)
{
	struct mlc *c = connect_as("coord-vaulx-bron");
	mlc_request *reqs[20];
	int seen[20] = { 0 };

	(void)state;
	for (int i = 0; i < 20; i++) {
		reqs[i] = i % 2 ? h_ping(&H) : h_get_case(&H, "VNX-2026-999999");
		assert_int_equal(mlc_send(c, reqs[i]), 0);
	}
	for (int i = 0; i < 20; i++) {
		mlc_response *resp = mlc_recv(c);
		int k = (int)(resp->request_id - reqs[0]->request_id);

		assert_true(k >= 0 && k < 20);
		seen[k]++;
		assert_int_equal(h_code(resp), k % 2 ? ST(OK) : ST(NOT_FOUND));
		mlc_response_free(resp);
	}
	for (int i = 0; i < 20; i++) {
		assert_int_equal(seen[i], 1);
		h_request_free(reqs[i]);
	}
	mlc_close(c);
}

/* A client that pipelines commands and hangs up before the replies: the
 * commands are committed or not, whole, and the server carries on. */
static void test_hang_up_mid_flight(void **state)
{
	struct mlc *c = connect_as("siao-rhone");
	char first[32];

	(void)state;
	for (int i = 0; i < 300; i++) {
		mlc_request *req;

		snprintf(first, sizeof(first), "Gone%d", i);
		req = h_refer(&H, "vaulx-bron", "Hangup", first, "1979-09-09");
		assert_int_equal(mlc_send(c, req), 0);
		h_request_free(req);
	}
	mlc_close(c);
	assert_serving_others();
	assert_int_equal(h_verify(&H), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oversized_frame),
		cmocka_unit_test(test_garbage_frame),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_wrong_field),
		cmocka_unit_test(test_half_frame_stall),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_hang_up_mid_flight),
	};

	return cmocka_run_group_tests_name("robust", tests, setup, h_group_teardown);
}
