/* bench.h - maillage-subbench, the subscription benchmark: what its phases
 * share (options, blocking connections) and the phases themselves; clocks,
 * latency samples, referrals and cpu figures are in ../benchlib/benchlib.h.
 *
 * Output goes to stdout (the figures) and stderr (what went wrong), each
 * error line prefixed with PROG. Nothing here is thread-safe unless it says
 * so: each struct is used by one thread at a time.
 */
#ifndef MAILLAGE_SUBBENCH_BENCH_H
#define MAILLAGE_SUBBENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "../benchlib/benchlib.h"

#define PROG "maillage-subbench"
#define BENCH_TIMEOUT_MS 30000            /* blocking connections: each step */

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
/* Blocking connections (common.c), through mlclient. */

/* A connection to o->addr as the organisation of cert and key, each step
 * timing out after BENCH_TIMEOUT_MS. NULL with a message in err. */
struct mlc *bench_connect_as(const struct bench_opts *o, const char *cert, const char *key,
			     char *err, size_t errlen);

/* The head of the log, asked with a Ping as the producer. 0, or -1 after
 * printing why. */
int bench_log_head(const struct bench_opts *o, uint64_t *head);

#endif
