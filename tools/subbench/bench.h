/* bench.h - maillage-subbench, the subscription benchmark: what its phases
 * share (options, clocks, latency samples, referrals, blocking connections,
 * cpu figures) and the phases themselves.
 *
 * Output goes to stdout (the figures) and stderr (what went wrong), each
 * error line prefixed with PROG. Nothing here is thread-safe unless it says
 * so: each struct is used by one thread at a time.
 */
#ifndef MAILLAGE_SUBBENCH_BENCH_H
#define MAILLAGE_SUBBENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlclient.h"

#define PROG "maillage-subbench"
#define BENCH_TIMEOUT_MS 30000            /* blocking connections: each step */

struct rusage;

/* The command line; read-only once parsed, shared by every thread. */
struct bench_opts {
	const char *addr;
	const char *ca;
	const char *producer_cert;
	const char *producer_key;
	const char *subscriber_cert;
	const char *subscriber_key;
	const char *platform;
	uint64_t subscribers;
	uint64_t rate;
	uint64_t seconds;
	uint64_t drain_s;
	uint64_t events;
	uint64_t connections;
	uint64_t inflight;
	char token[9];          /* this run's mark in household names */
};

/* ------------------------------------------------------------------------- */
/* Phases (latency.c, fill.c, catchup.c). Each prints its figures and returns
 * the exit status: 0 done, 1 failed or incomplete. */

/* SUBSCRIBERS subscribers follow the log from now while a producer sends RATE
 * ReferHousehold commands per second for SECONDS: delivery latency and the
 * commands' round trip. 1 also when a notification is missing or out of order. */
int latency_run(const struct bench_opts *o);

/* Referrals pipelined over CONNECTIONS until the log holds EVENTS events:
 * commands per second. 1 also when a command was refused. */
int fill_run(const struct bench_opts *o);

/* One subscriber reads the log from position 0 up to its head: events per
 * second. 1 also when it stopped early or saw a gap. */
int catchup_run(const struct bench_opts *o);

/* ------------------------------------------------------------------------- */
/* Clocks (common.c). */

/* Monotonic time in µs, for intervals. */
int64_t bench_mono_us(void);

/* Wall-clock time in µs: the server's clock for recorded_at (same machine). */
int64_t bench_wall_us(void);

/* The seconds from from_us to to_us (µs of the same clock). */
double bench_seconds_between(int64_t from_us, int64_t to_us);

/* ------------------------------------------------------------------------- */
/* Latency samples (common.c): durations in µs. Zero-initialised = empty. */

struct samples {
	int64_t *v;
	size_t n, cap;
};

/* Append us. 0, or -1 when out of memory (s unchanged). */
int samples_add(struct samples *s, int64_t us);

/* Free the samples; s is empty again. */
void samples_release(struct samples *s);

/* Sort s and print "median X ms, p90 X ms, p99 X ms, max X ms" and a newline
 * ("no samples" when empty). */
void samples_print_quantiles(struct samples *s);

/* ------------------------------------------------------------------------- */
/* Requests and responses (common.c). */

/* A ReferHousehold request and everything it points to (not to be copied:
 * req points into the struct). */
struct refer {
	mlc_request req;
	Maillage__V1__ReferHousehold body;
	Maillage__V1__Referral referral;
	Maillage__V1__Household household;
	Maillage__V1__Person person;
	uint8_t command_id[16];
	char first_name[64];
};

/* Set up r as a referral to platform (which must outlive r). */
void refer_init(struct refer *r, const char *platform);

/* Make r the n-th referral of sender (tag, worker): a fresh command id and a
 * household named by no other referral (an open case of the same household
 * would be refused with ALREADY_EXISTS). 0, or -1 without randomness. */
int refer_next(struct refer *r, const char *token, char tag, unsigned worker, uint64_t n,
	       uint64_t request_id);

/* Whether r has no status or an OK one. */
bool resp_ok(const mlc_response *r);

/* The message of r's status, or "no message"; valid as long as r. */
const char *resp_message(const mlc_response *r);

/* ------------------------------------------------------------------------- */
/* Blocking connections (common.c), through mlclient. */

/* A connection to o->addr as the organisation of cert and key, each step
 * timing out after BENCH_TIMEOUT_MS. NULL with a message in err. */
struct mlc *bench_connect_as(const struct bench_opts *o, const char *cert, const char *key,
			     char *err, size_t errlen);

/* The head of the log, asked with a Ping as the producer. 0, or -1 after
 * printing why. */
int bench_log_head(const struct bench_opts *o, uint64_t *head);

/* ------------------------------------------------------------------------- */
/* Our own cpu (common.c): is the benchmark a limit? */

/* Print the user and system time used by this process since start (from
 * getrusage(RUSAGE_SELF)), over wall_s seconds. */
void bench_print_cpu(const struct rusage *start, double wall_s);

#endif
