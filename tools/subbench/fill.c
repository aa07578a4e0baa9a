/* fill.c - the fill phase: ReferHousehold commands pipelined over a few
 * blocking connections, one thread each, until the log holds the events
 * asked for; the commands per second.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define BENCH_PROGRESS_S 10               /* a progress line this often */

/* One connection and its thread; the counts are final once it is joined. */
struct filler {
	const struct bench_opts *o;
	pthread_t thread;
	unsigned index;
	uint64_t count;          /* commands to send */
	uint64_t ok, refused;
	atomic_uint_fast64_t *answered;   /* shared progress */
	atomic_uint *finished;            /* threads done */
	char err[512];
};

static int filler_loop(struct filler *f, struct mlc *c)
{
	struct refer r;
	uint64_t sent = 0, answered = 0;

	refer_init(&r, f->o->platform);
	while (answered < f->count) {
		mlc_response *resp;

		if (sent < f->count && sent - answered < f->o->inflight) {
			if (refer_next(&r, f->o->token, 'f', f->index, sent, sent + 1)) {
				snprintf(f->err, sizeof(f->err), "cannot make a command id");
				return -1;
			}
			if (mlc_send(c, &r.req)) {
				snprintf(f->err, sizeof(f->err), "%s", mlc_error(c));
				return -1;
			}
			sent++;
			continue;
		}
		resp = mlc_recv(c);
		if (!resp) {
			snprintf(f->err, sizeof(f->err), "%s", mlc_error(c));
			return -1;
		}
		if (resp_ok(resp))
			f->ok++;
		else if (f->refused++ == 0)
			fprintf(stderr, PROG ": command refused: %s\n", resp_message(resp));
		mlc_response_free(resp);
		answered++;
		atomic_fetch_add(f->answered, 1);
	}
	return 0;
}

static void *filler_main(void *arg)
{
	struct filler *f = arg;
	struct mlc *c = bench_connect_as(f->o, f->o->producer_cert, f->o->producer_key, f->err,
					 sizeof(f->err));

	if (c) {
		filler_loop(f, c);
		mlc_close(c);
	}
	atomic_fetch_add(f->finished, 1);
	return NULL;
}

/* Wait for the fillers, with a progress line every BENCH_PROGRESS_S. */
static void fill_wait(atomic_uint *finished, unsigned started, atomic_uint_fast64_t *answered,
		      uint64_t need, int64_t t0)
{
	int64_t next = t0 + (int64_t)BENCH_PROGRESS_S * 1000000;

	while (atomic_load(finished) < started) {
		int64_t now = bench_mono_us();

		if (now >= next) {
			uint64_t n = atomic_load(answered);

			printf("fill progress          %" PRIu64 " of %" PRIu64 " commands in %.0f s "
			       "(%.0f/s)\n", n, need, bench_seconds_between(t0, now),
			       (double)n / bench_seconds_between(t0, now));
			next += (int64_t)BENCH_PROGRESS_S * 1000000;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	}
}

/* Print the outcome of the fill; 0 when every command was accepted. */
static int fill_report(const struct filler *f, unsigned n, uint64_t need, int64_t t0,
		       int64_t t1, const struct bench_opts *o)
{
	uint64_t ok = 0, refused = 0, head = 0;
	double s = bench_seconds_between(t0, t1);
	int rc = 0;

	for (unsigned i = 0; i < n; i++) {
		ok += f[i].ok;
		refused += f[i].refused;
		if (f[i].err[0]) {
			fprintf(stderr, PROG ": fill connection %u: %s\n", i, f[i].err);
			rc = 1;
		}
	}
	printf("fill                   %" PRIu64 " commands (%" PRIu64 " ok, %" PRIu64
	       " refused) over %u connections, %" PRIu64 " in flight each: %.1f s, "
	       "%.0f commands/s\n", need, ok, refused, n, o->inflight, s,
	       s > 0 ? (double)(ok + refused) / s : 0.0);
	if (bench_log_head(o, &head))
		return 1;
	printf("log head               position %" PRIu64 "\n", head);
	return rc || refused || ok != need ? 1 : 0;
}

int fill_run(const struct bench_opts *o)
{
	atomic_uint_fast64_t answered;
	atomic_uint finished;
	struct filler *f;
	uint64_t head, need;
	unsigned n = (unsigned)o->connections, started = 0;
	int64_t t0;
	int rc = 1;

	if (bench_log_head(o, &head))
		return 1;
	need = o->events > head ? o->events - head : 0;
	printf("== fill: the log holds %" PRIu64 " events, %" PRIu64 " referrals to reach %" PRIu64
	       "\n", head, need, o->events);
	if (need == 0)
		return 0;
	f = calloc(n, sizeof(*f));
	if (!f) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	atomic_init(&answered, 0);
	atomic_init(&finished, 0);
	t0 = bench_mono_us();
	for (unsigned i = 0; i < n; i++) {
		int err;

		f[i] = (struct filler){ .o = o, .index = i, .answered = &answered,
					.finished = &finished,
					.count = need / n + (i < need % n ? 1 : 0) };
		err = pthread_create(&f[i].thread, NULL, filler_main, &f[i]);
		if (err) {
			fprintf(stderr, PROG ": cannot start a fill thread: %s\n", strerror(err));
			break;
		}
		started++;
	}
	fill_wait(&finished, started, &answered, need, t0);
	for (unsigned i = 0; i < started; i++)
		pthread_join(f[i].thread, NULL);
	if (started == n)
		rc = fill_report(f, n, need, t0, bench_mono_us(), o);
	free(f);
	return rc;
}
