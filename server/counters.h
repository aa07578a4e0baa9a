/* counters.h - what the server did since it started (ServerCounters in the
 * proto): batches and their sizes and times, events, commands by type and
 * status; read by Ping {counters = true} (benchmarks,
 * operators). Thread-safe: the writer thread and the loop thread update,
 * the loop thread reads.
 */
#ifndef MAILLAGE_COUNTERS_H
#define MAILLAGE_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct counters;

struct counters *counters_new(void);
void counters_free(struct counters *c);

/* One committed batch of jobs that appended events in us microseconds. */
void counters_batch(struct counters *c, size_t jobs, uint64_t events, uint64_t us);

/* One command (Request.body case) answered with status code. */
void counters_command(struct counters *c, int body, int status);

/* Fill out with the figures and the process's CPU and memory (not
 * connections: the caller knows them); its arrays are freed by
 * counters_release(). 0 or ML_ENOMEM. */
int counters_fill(struct counters *c, Maillage__V1__ServerCounters *out);
void counters_release(Maillage__V1__ServerCounters *out);

#endif
