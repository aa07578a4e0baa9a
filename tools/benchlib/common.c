/* common.c - what the maillage benchmarks share: clocks, latency samples and
 * their quantiles, counts on the command line and the start of a run,
 * ReferHousehold requests, replies, blocking connections and the benchmark's
 * own cpu time.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#include "benchlib.h"

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

static int samples_reserve(struct samples *s, size_t more)
{
	size_t cap = s->cap ? s->cap : 4096;
	int64_t *v;

	if (s->n + more <= s->cap)
		return 0;
	while (cap < s->n + more)
		cap *= 2;
	v = realloc(s->v, cap * sizeof(*v));
	if (!v)
		return -1;
	s->v = v;
	s->cap = cap;
	return 0;
}

int samples_add(struct samples *s, int64_t us)
{
	if (samples_reserve(s, 1))
		return -1;
	s->v[s->n++] = us;
	s->sorted = false;
	return 0;
}

int samples_add_all(struct samples *s, const struct samples *from)
{
	if (from->n == 0)
		return 0;
	if (samples_reserve(s, from->n))
		return -1;
	memcpy(s->v + s->n, from->v, from->n * sizeof(*s->v));
	s->n += from->n;
	s->sorted = false;
	return 0;
}

void samples_release(struct samples *s)
{
	free(s->v);
	*s = (struct samples){ 0 };
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t samples_quantile_us(struct samples *s, unsigned ppm)
{
	uint64_t rank;

	if (s->n == 0)
		return 0;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_i64);
		s->sorted = true;
	}
	rank = ((uint64_t)ppm * s->n + 999999) / 1000000;
	return s->v[rank ? (rank > s->n ? s->n : rank) - 1 : 0];
}

void samples_print_quantiles(struct samples *s)
{
	if (s->n == 0) {
		printf("no samples\n");
		return;
	}
	printf("median %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	       (double)samples_quantile_us(s, 500000) / 1000.0,
	       (double)samples_quantile_us(s, 900000) / 1000.0,
	       (double)samples_quantile_us(s, 990000) / 1000.0,
	       (double)samples_quantile_us(s, 1000000) / 1000.0);
}

/* ------------------------------------------------------------------------- */
/* The command line. */

int bench_parse_count(const char *s, const char *name, uint64_t min, uint64_t max,
		      uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < min || v > max) {
		fprintf(stderr, "%s: bad value '%s' for --%s (%" PRIu64 " to %" PRIu64 ")\n",
			bench_prog, s, name, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int bench_parse_count_opt(const struct bench_count_opt *table, size_t n, void *opts, int id,
			  const char *arg)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].id == id)
			return bench_parse_count(arg, table[i].name, table[i].min, table[i].max,
						 (uint64_t *)((char *)opts + table[i].offset));
	return -1;
}

int bench_start(char token[9])
{
	uint8_t rnd[16];

	if (mlc_new_command_id(rnd)) {
		fprintf(stderr, "%s: cannot get random bytes\n", bench_prog);
		return -1;
	}
	snprintf(token, 9, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Requests and replies. */

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
	return resp_code(r) == MAILLAGE__V1__STATUS_CODE__OK;
}

int resp_code(const mlc_response *r)
{
	return r->status ? (int)r->status->code : MAILLAGE__V1__STATUS_CODE__OK;
}

const char *resp_message(const mlc_response *r)
{
	return r->status && r->status->message && r->status->message[0] ? r->status->message :
									  "no message";
}

const char *bench_status_name(int code)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&maillage__v1__status_code__descriptor, code);

	return v ? v->name : "UNKNOWN";
}

/* ------------------------------------------------------------------------- */
/* Blocking connections. */

struct mlc *bench_connect(const char *addr, const char *ca, const char *cert, const char *key,
			  int timeout_ms, char *err, size_t errlen)
{
	struct mlc_opts mo = { .addr = addr, .cert = cert, .key = key, .ca = ca,
			       .timeout_ms = timeout_ms };

	return mlc_connect(&mo, err, errlen);
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
