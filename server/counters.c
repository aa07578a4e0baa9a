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

#define BODIES 64          /* Request.body cases are below */
#define CODES 17           /* StatusCode values are below */
#define BUCKETS 20         /* batch sizes up to 2^20 */

struct counters {
	pthread_mutex_t lock;
	int64_t started_us;
	uint64_t commits, events, jobs, batch_us_total, batch_us_max;
	uint64_t buckets[BUCKETS];
	uint64_t commands[BODIES][CODES];
};

struct counters *counters_new(void)
{
	struct counters *c = calloc(1, sizeof(*c));

	if (c) {
		pthread_mutex_init(&c->lock, NULL);
		c->started_us = clock_now_us();
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
	pthread_mutex_unlock(&c->lock);
}

void counters_command(struct counters *c, int body, int status)
{
	if (body < 0 || body >= BODIES || status < 0 || status >= CODES)
		return;
	pthread_mutex_lock(&c->lock);
	c->commands[body][status]++;
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

/* The commands counted, as CommandCount messages (non-zero only). */
static int fill_commands(const struct counters *c, Maillage__V1__ServerCounters *out)
{
	size_t n = 0;

	for (int b = 0; b < BODIES; b++)
		for (int s = 0; s < CODES; s++)
			n += c->commands[b][s] != 0;
	out->commands = calloc(n ? n : 1, sizeof(*out->commands));
	if (!out->commands)
		return ML_ENOMEM;
	for (int b = 0; b < BODIES; b++)
		for (int s = 0; s < CODES; s++) {
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
	struct rusage ru;
	int rc;

	out->batch_sizes = calloc(BUCKETS, sizeof(*out->batch_sizes));
	if (!out->batch_sizes)
		return ML_ENOMEM;
	pthread_mutex_lock(&c->lock);
	out->commits = c->commits;
	out->events = c->events;
	out->jobs = c->jobs;
	out->batch_us_total = c->batch_us_total;
	out->batch_us_max = c->batch_us_max;
	for (size_t b = 0; b < BUCKETS; b++)
		if (c->buckets[b])
			out->n_batch_sizes = b + 1;
	memcpy(out->batch_sizes, c->buckets, out->n_batch_sizes * sizeof(*out->batch_sizes));
	out->uptime_us = (uint64_t)(clock_now_us() - c->started_us);
	rc = fill_commands(c, out);
	pthread_mutex_unlock(&c->lock);
	if (!getrusage(RUSAGE_SELF, &ru)) {
		out->cpu_user_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec;
		out->cpu_system_us = (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
		out->rss_max_bytes = (uint64_t)ru.ru_maxrss * 1024;
	}
	out->rss_bytes = rss_now();
	return rc;
}

void counters_release(Maillage__V1__ServerCounters *out)
{
	for (size_t i = 0; i < out->n_commands; i++)
		free(out->commands[i]);
	free(out->commands);
	free(out->batch_sizes);
	out->commands = NULL;
	out->batch_sizes = NULL;
	out->n_commands = 0;
	out->n_batch_sizes = 0;
}
