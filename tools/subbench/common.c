/* common.c - what the phases of maillage-subbench share beyond benchlib:
 * blocking connections as the organisations of the command line, and the
 * head of the log.
 */
#include <stdio.h>

#include "bench.h"

struct mlc *bench_connect_as(const struct bench_opts *o, const char *cert, const char *key,
			     char *err, size_t errlen)
{
	return bench_connect(o->addr, o->ca, cert, key, BENCH_TIMEOUT_MS, err, errlen);
}

int bench_log_head(const struct bench_opts *o, uint64_t *head)
{
	Maillage__V1__Ping ping = MAILLAGE__V1__PING__INIT;
	mlc_request req = MAILLAGE__V1__REQUEST__INIT;
	mlc_response *resp;
	char err[512];
	struct mlc *c = bench_connect_as(o, o->producer_cert, o->producer_key, err, sizeof(err));
	int rc = -1;

	if (!c) {
		fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	req.body_case = MAILLAGE__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	resp = mlc_call(c, &req);
	if (!resp)
		fprintf(stderr, PROG ": ping failed: %s\n", mlc_error(c));
	else if (!resp_ok(resp) || !resp->pong)
		fprintf(stderr, PROG ": ping refused: %s\n", resp_message(resp));
	else {
		*head = resp->pong->last_position;
		rc = 0;
	}
	mlc_response_free(resp);
	mlc_close(c);
	return rc;
}
