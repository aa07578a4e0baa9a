/* counters.h - what the server did since it started (ServerCounters in the
 * proto, and /metrics): batches and their sizes and times, events per
 * commit, commands by type and status; read by Ping {counters = true}
 * (benchmarks, operators) and by the metrics endpoint. Thread-safe: the
 * writer thread and the loop thread update, the loop thread reads.
 */
#ifndef MAILLAGE_COUNTERS_H
#define MAILLAGE_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define COUNTERS_BODIES 64          /* Request.body cases are below */
#define COUNTERS_CODES 17           /* StatusCode values are below */
#define COUNTERS_HIST_MAX 16        /* finite buckets of a histogram, at most */

struct counters;

/* A histogram as Prometheus has it, but not cumulative: counts[i] is the
 * number of observations v with bounds[i - 1] < v <= bounds[i] (i < n), and
 * counts[n] of those above bounds[n - 1]. sum is the sum of the values,
 * count the number of observations. bounds is static. */
struct counters_hist {
	const uint64_t *bounds;
	size_t n;
	uint64_t counts[COUNTERS_HIST_MAX + 1];
	uint64_t sum, count;
};

/* A consistent copy of the figures (one lock held while copied), and the
 * process's figures read just after. */
struct counters_snapshot {
	uint64_t commits;                     /* batches committed */
	struct counters_hist commit_events;   /* events appended per commit */
	struct counters_hist commit_us;       /* µs from the start of a batch's
					       * write transaction to its durable
					       * commit */
	uint64_t commands[COUNTERS_BODIES][COUNTERS_CODES]; /* by Request.body
							     * case, StatusCode */
	int64_t started_us;                   /* wall clock when counting began
					       * (server start), µs since epoch */
	uint64_t cpu_us;                      /* user + system CPU time */
	uint64_t rss_bytes;                   /* resident set size now */
};

struct counters *counters_new(void);
void counters_free(struct counters *c);

/* One committed batch of jobs that appended events in us microseconds. */
void counters_batch(struct counters *c, size_t jobs, uint64_t events, uint64_t us);

/* One command (Request.body case) answered with status code; prepared:
 * the loop thread had computed its request hash (command_prepare()). */
void counters_command(struct counters *c, int body, int status, bool prepared);

/* Fill out with the figures and the process's CPU and memory (not
 * connections: the caller knows them); its arrays are freed by
 * counters_release(), to be called whether this succeeded or not (out
 * zero-initialised first). 0 or ML_ENOMEM. */
int counters_fill(struct counters *c, Maillage__V1__ServerCounters *out);
void counters_release(Maillage__V1__ServerCounters *out);

/* Copy the figures into out (nothing to free). Any thread. */
void counters_snapshot(struct counters *c, struct counters_snapshot *out);

#endif
