/* common.c - what the phases of maillage-subbench share: clocks, latency
 * samples and their quantiles, ReferHousehold requests, blocking connections
 * and the benchmark's own cpu time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#include "bench.h"

/* ------------------------------------------------------------------------- */
/* Clocks. */

static int64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t bench_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

int64_t bench_wall_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

double bench_seconds_between(int64_t from_us, int64_t to_us)
{
	return (double)(to_us - from_us) / 1e6;
}

/* ------------------------------------------------------------------------- */
/* Samples. */

int samples_add(struct samples *s, int64_t us)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		int64_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = us;
	return 0;
}

void samples_release(struct samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The sample of rank ceil(permille/1000 * n), in ms; s sorted, not empty. */
static double quantile_ms(const struct samples *s, unsigned permille)
{
	size_t rank = (permille * s->n + 999) / 1000;

	return (double)s->v[rank ? rank - 1 : 0] / 1000.0;
}

void samples_print_quantiles(struct samples *s)
{
	if (s->n == 0) {
		printf("no samples\n");
		return;
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_i64);
	printf("median %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", quantile_ms(s, 500),
	       quantile_ms(s, 900), quantile_ms(s, 990), quantile_ms(s, 1000));
}

/* ------------------------------------------------------------------------- */
/* Requests and responses. */

void refer_init(struct refer *r, const char *platform)
{
	maillage__v1__request__init(&r->req);
	maillage__v1__refer_household__init(&r->body);
	maillage__v1__referral__init(&r->referral);
	maillage__v1__household__init(&r->household);
	maillage__v1__person__init(&r->person);
	r->person.last_name = "Bench";
	r->person.first_name = r->first_name;
	r->person.birth_date = "1980-01-01";
	r->household.adults = 1;
	r->household.reference_person = &r->person;
	r->referral.platform = (char *)platform;
	r->referral.reason = MAILLAGE__V1__REFERRAL_REASON__REASON_UNPAID_RENT;
	r->referral.household = &r->household;
	r->body.referral = &r->referral;
	r->req.body_case = MAILLAGE__V1__REQUEST__BODY_REFER_HOUSEHOLD;
	r->req.refer_household = &r->body;
	r->req.command_id.data = r->command_id;
	r->req.command_id.len = sizeof(r->command_id);
}

int refer_next(struct refer *r, const char *token, char tag, unsigned worker, uint64_t n,
	       uint64_t request_id)
{
	if (mlc_new_command_id(r->command_id))
		return -1;
	snprintf(r->first_name, sizeof(r->first_name), "%s%c%un%" PRIu64, token, tag, worker, n);
	r->req.request_id = request_id;
	return 0;
}

bool resp_ok(const mlc_response *r)
{
	return !r->status || r->status->code == MAILLAGE__V1__STATUS_CODE__OK;
}

const char *resp_message(const mlc_response *r)
{
	return r->status && r->status->message && r->status->message[0] ? r->status->message :
									  "no message";
}

/* ------------------------------------------------------------------------- */
/* Blocking connections. */

struct mlc *bench_connect_as(const struct bench_opts *o, const char *cert, const char *key,
			     char *err, size_t errlen)
{
	struct mlc_opts mo = { .addr = o->addr, .cert = cert, .key = key, .ca = o->ca,
			       .timeout_ms = BENCH_TIMEOUT_MS };

	return mlc_connect(&mo, err, errlen);
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

/* ------------------------------------------------------------------------- */
/* Cpu. */

static double timeval_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void bench_print_cpu(const struct rusage *start, double wall_s)
{
	struct rusage now;
	double user, sys;

	getrusage(RUSAGE_SELF, &now);
	user = timeval_s(now.ru_utime) - timeval_s(start->ru_utime);
	sys = timeval_s(now.ru_stime) - timeval_s(start->ru_stime);
	printf("benchmark cpu          %.1f s user + %.1f s system over %.1f s (%.0f%% of a core)\n",
	       user, sys, wall_s,
	       wall_s > 0 ? 100 * (user + sys) / wall_s : 0.0);
}
