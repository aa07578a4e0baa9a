/* counters.c - the server's counters (see counters.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "counters.h"
#include "err.h"

#define BUCKETS 20         /* batch sizes up to 2^20 */

/* Upper bounds of the histograms' buckets: events per commit (a batch holds
 * up to max_batch commands of a few events each), and commit times from a
 * tmpfs (tens of µs) to a struggling disk (seconds). */
static const uint64_t event_bounds[] = {
	0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
};
static const uint64_t time_bounds_us[] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};
_Static_assert(sizeof(event_bounds) / sizeof(*event_bounds) <= COUNTERS_HIST_MAX &&
	       sizeof(time_bounds_us) / sizeof(*time_bounds_us) <= COUNTERS_HIST_MAX,
	       "histogram bounds exceed COUNTERS_HIST_MAX");

struct counters {
	pthread_mutex_t lock;      /* guards everything below */
	int64_t started_us;
	uint64_t commits, events, jobs, batch_us_total, batch_us_max;
	uint64_t buckets[BUCKETS];
	struct counters_hist commit_events, commit_us;
	uint64_t commands[COUNTERS_BODIES][COUNTERS_CODES];
	uint64_t unprepared;       /* commands the writer prepared itself */
};

static void hist_init(struct counters_hist *h, const uint64_t *bounds, size_t n)
{
	h->bounds = bounds;
	h->n = n;
}

/* Count v in the first bucket whose bound is >= v (or the last). */
static void hist_add(struct counters_hist *h, uint64_t v)
{
	size_t i = 0;

	while (i < h->n && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

struct counters *counters_new(void)
{
	struct counters *c = calloc(1, sizeof(*c));

	if (c) {
		pthread_mutex_init(&c->lock, NULL);
		c->started_us = clock_now_us();
		hist_init(&c->commit_events, event_bounds,
			  sizeof(event_bounds) / sizeof(*event_bounds));
		hist_init(&c->commit_us, time_bounds_us,
			  sizeof(time_bounds_us) / sizeof(*time_bounds_us));
	}
	return c;
}

void counters_free(struct counters *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void counters_batch(struct counters *c, size_t jobs, uint64_t events, uint64_t us)
{
	size_t b = 0;

	while (b + 1 < BUCKETS && jobs >> (b + 1))
		b++;
	pthread_mutex_lock(&c->lock);
	c->commits++;
	c->events += events;
	c->jobs += jobs;
	c->batch_us_total += us;
	if (us > c->batch_us_max)
		c->batch_us_max = us;
	c->buckets[b]++;
	hist_add(&c->commit_events, events);
	hist_add(&c->commit_us, us);
	pthread_mutex_unlock(&c->lock);
}

void counters_command(struct counters *c, int body, int status, bool prepared)
{
	if (body < 0 || body >= COUNTERS_BODIES || status < 0 || status >= COUNTERS_CODES)
		return;
	pthread_mutex_lock(&c->lock);
	c->commands[body][status]++;
	c->unprepared += !prepared;
	pthread_mutex_unlock(&c->lock);
}

/* Resident memory now, from /proc/self/statm (pages). */
static uint64_t rss_now(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The process's CPU time so far (µs) and peak resident memory (bytes), from
 * getrusage(); left alone when it fails. */
static void usage_now(uint64_t *user_us, uint64_t *system_us, uint64_t *max_rss)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return;
	*user_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec;
	*system_us = (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
	*max_rss = (uint64_t)ru.ru_maxrss * 1024;
}

/* The commands counted, as CommandCount messages (non-zero only). */
static int fill_commands(const struct counters *c, Maillage__V1__ServerCounters *out)
{
	size_t n = 0;

	for (int b = 0; b < COUNTERS_BODIES; b++)
		for (int s = 0; s < COUNTERS_CODES; s++)
			n += c->commands[b][s] != 0;
	out->commands = calloc(n ? n : 1, sizeof(*out->commands));
	if (!out->commands)
		return ML_ENOMEM;
	for (int b = 0; b < COUNTERS_BODIES; b++)
		for (int s = 0; s < COUNTERS_CODES; s++) {
			Maillage__V1__CommandCount *cc;

			if (!c->commands[b][s])
				continue;
			cc = malloc(sizeof(*cc));
			if (!cc)
				return ML_ENOMEM;
			maillage__v1__command_count__init(cc);
			cc->command = (char *)wire_body_case_name(b);
			cc->status = s;
			cc->count = c->commands[b][s];
			out->commands[out->n_commands++] = cc;
		}
	return 0;
}

int counters_fill(struct counters *c, Maillage__V1__ServerCounters *out)
{
	int rc;

	out->batch_sizes = calloc(BUCKETS, sizeof(*out->batch_sizes));
	out->commit_us_bounds = calloc(COUNTERS_HIST_MAX, sizeof(*out->commit_us_bounds));
	out->commit_us_counts = calloc(COUNTERS_HIST_MAX + 1, sizeof(*out->commit_us_counts));
	if (!out->batch_sizes || !out->commit_us_bounds || !out->commit_us_counts)
		return ML_ENOMEM;
	pthread_mutex_lock(&c->lock);
	out->commits = c->commits;
	out->events = c->events;
	out->jobs = c->jobs;
	out->batch_us_total = c->batch_us_total;
	out->batch_us_max = c->batch_us_max;
	out->commands_unprepared = c->unprepared;
	for (size_t b = 0; b < BUCKETS; b++)
		if (c->buckets[b])
			out->n_batch_sizes = b + 1;
	memcpy(out->batch_sizes, c->buckets, out->n_batch_sizes * sizeof(*out->batch_sizes));
	out->n_commit_us_bounds = c->commit_us.n;
	out->n_commit_us_counts = c->commit_us.n + 1;
	memcpy(out->commit_us_bounds, c->commit_us.bounds, c->commit_us.n * sizeof(uint64_t));
	memcpy(out->commit_us_counts, c->commit_us.counts, (c->commit_us.n + 1) * sizeof(uint64_t));
	out->uptime_us = (uint64_t)(clock_now_us() - c->started_us);
	rc = fill_commands(c, out);
	pthread_mutex_unlock(&c->lock);
	usage_now(&out->cpu_user_us, &out->cpu_system_us, &out->rss_max_bytes);
	out->rss_bytes = rss_now();
	return rc;
}

void counters_release(Maillage__V1__ServerCounters *out)
{
	for (size_t i = 0; i < out->n_commands; i++)
		free(out->commands[i]);
	free(out->commands);
	free(out->batch_sizes);
	free(out->commit_us_bounds);
	free(out->commit_us_counts);
	out->commands = NULL;
	out->batch_sizes = NULL;
	out->commit_us_bounds = NULL;
	out->commit_us_counts = NULL;
	out->n_commands = 0;
	out->n_batch_sizes = 0;
	out->n_commit_us_bounds = 0;
	out->n_commit_us_counts = 0;
}

void counters_snapshot(struct counters *c, struct counters_snapshot *out)
{
	uint64_t user_us = 0, system_us = 0, max_rss = 0;

	pthread_mutex_lock(&c->lock);
	out->commits = c->commits;
	out->commit_events = c->commit_events;
	out->commit_us = c->commit_us;
	memcpy(out->commands, c->commands, sizeof(out->commands));
	out->started_us = c->started_us;
	pthread_mutex_unlock(&c->lock);
	usage_now(&user_us, &system_us, &max_rss);
	out->cpu_us = user_us + system_us;
	out->rss_bytes = rss_now();
}
