/* benchlib.h - what the maillage benchmarks (maillage-subbench,
 * maillage-bench) share: clocks, latency samples and their quantiles, counts
 * on the command line, ReferHousehold requests, replies, blocking
 * connections through mlclient and our own cpu time. benchnet.h has the
 * non-blocking side (TLS bufferevents, frames).
 *
 * Error lines go to stderr prefixed with bench_prog, which each program
 * defines. Nothing here is thread-safe unless it says so: each struct is
 * used by one thread at a time.
 */
#ifndef MAILLAGE_BENCHLIB_H
#define MAILLAGE_BENCHLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlclient.h"

struct rusage;

/* The program's name, for messages ("maillage-bench"); defined by each tool. */
extern const char bench_prog[];

/* ------------------------------------------------------------------------- */
/* Clocks. */

/* Monotonic time in µs, for intervals. Thread-safe. */
int64_t bench_mono_us(void);

/* Wall-clock time in µs: the server's clock for recorded_at (same machine). */
int64_t bench_wall_us(void);

/* The seconds from from_us to to_us (µs of the same clock). */
double bench_seconds_between(int64_t from_us, int64_t to_us);

/* ------------------------------------------------------------------------- */
/* Latency samples: durations in µs. Zero-initialised = empty. */

struct samples {
	int64_t *v;
	size_t n, cap;
	bool sorted;
};

/* Append us. 0, or -1 when out of memory (s unchanged). */
int samples_add(struct samples *s, int64_t us);

/* Append every sample of from to s. 0, or -1 when out of memory. */
int samples_add_all(struct samples *s, const struct samples *from);

/* Free the samples; s is empty again. */
void samples_release(struct samples *s);

/* The sample of rank ceil(ppm / 1e6 * n) (ppm: parts per million, 500000 =
 * the median, 1000000 = the max), sorting s first; 0 when s is empty. */
int64_t samples_quantile_us(struct samples *s, unsigned ppm);

/* Print "median X ms, p90 X ms, p99 X ms, max X ms" and a newline ("no
 * samples" when empty). */
void samples_print_quantiles(struct samples *s);

/* ------------------------------------------------------------------------- */
/* The command line. */

/* Parse s, the value of option --name, as a count between min and max.
 * 0, or -1 after printing why. */
int bench_parse_count(const char *s, const char *name, uint64_t min, uint64_t max,
		      uint64_t *out);

/* A count option of a tool: getopt_long's id for it, its name, the offset of
 * its uint64_t in the tool's options struct, its limits. */
struct bench_count_opt {
	int id;
	const char *name;
	size_t offset;
	uint64_t min, max;
};

/* Parse arg, the value of the option id, by the n entries of table into the
 * options struct opts. 0, or -1 after printing why (or id is not there). */
int bench_parse_count_opt(const struct bench_count_opt *table, size_t n, void *opts, int id,
			  const char *arg);

/* What every run starts with: a token of 8 hex digits (9 bytes with its NUL),
 * random, that marks the run's household names; SIGPIPE ignored; stdout
 * line-buffered, so that its lines come in order with stderr's. 0, or -1
 * after printing why. */
int bench_start(char token[9]);

/* ------------------------------------------------------------------------- */
/* Requests and replies. */

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

/* The code of r's status (0 for OK or none). */
int resp_code(const mlc_response *r);

/* The message of r's status, or "no message"; valid as long as r. */
const char *resp_message(const mlc_response *r);

/* The name of a status code ("FAILED_PRECONDITION"), or "UNKNOWN". */
const char *bench_status_name(int code);

/* ------------------------------------------------------------------------- */
/* Blocking connections, through mlclient. */

/* A connection to addr (HOST:PORT) as the organisation of cert and key,
 * checking the server against ca, each step timing out after timeout_ms.
 * NULL with a message in err. */
struct mlc *bench_connect(const char *addr, const char *ca, const char *cert, const char *key,
			  int timeout_ms, char *err, size_t errlen);

/* ------------------------------------------------------------------------- */
/* Our own cpu: is the benchmark a limit? */

/* Print the user and system time used by this process since start (from
 * getrusage(RUSAGE_SELF)), over wall_s seconds. */
void bench_print_cpu(const struct rusage *start, double wall_s);

#endif
