/* latency.c - the latency phase: a fleet of subscribers following the log
 * from now while a producer thread sends ReferHousehold commands at a steady
 * rate; the delivery latency and the commands' round trip.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "fleet.h"

#define BENCH_CONNECT_LIMIT_S 120         /* every subscriber live by then */
#define BENCH_PRODUCER_INFLIGHT 1024      /* commands unanswered at most */

/* The producer: a thread with one blocking connection. */
struct producer {
	const struct bench_opts *o;
	uint64_t total;          /* commands to send */
	uint64_t sent, ok, refused;
	int64_t *sent_at;        /* monotonic µs, by request_id - 1 */
	int64_t *sent_wall;      /* the same instants on the server's clock */
	struct samples rtt;
	struct samples to_batch; /* sent -> recorded_at: waiting to be read and batched */
	int64_t started_us, finished_us;
	char err[512];           /* empty unless it failed */
	atomic_bool done;        /* the fields above are final once set */
};

/* The phase: the fleet (on this thread) and the producer (on its own). */
struct latency {
	struct fleet fl;
	struct producer prod;
	pthread_t producer_thread;
	bool producer_started;
	int64_t all_live_us, producer_done_us;
	size_t live_at_start;      /* subscribers live when the producer began */
	size_t gone_at_start;      /* and those that never got there */
	struct rusage ru_start;    /* our cpu time then */
};

static int producer_answer(struct producer *p, mlc_response *resp)
{
	uint64_t id = resp->request_id;

	if (id == 0 || id > p->sent) {
		snprintf(p->err, sizeof(p->err), "answer to unknown request %" PRIu64 ": %s", id,
			 resp_message(resp));
		return -1;
	}
	if (resp_ok(resp) && resp->result_case == MAILLAGE__V1__RESPONSE__RESULT_COMMAND) {
		p->ok++;
		if (samples_add(&p->to_batch, resp->command->recorded_at - p->sent_wall[id - 1])) {
			snprintf(p->err, sizeof(p->err), "out of memory");
			return -1;
		}
	} else {
		if (p->refused++ == 0)
			fprintf(stderr, PROG ": command %" PRIu64 " refused: %s\n", id,
				resp_message(resp));
	}
	if (samples_add(&p->rtt, bench_mono_us() - p->sent_at[id - 1])) {
		snprintf(p->err, sizeof(p->err), "out of memory");
		return -1;
	}
	return 0;
}

/* Send each command when it is due (open loop: a slow answer does not delay
 * the next command) and take the answers in between. 0 or -1 (p->err). */
static int producer_loop(struct producer *p, struct mlc *c)
{
	struct refer r;

	refer_init(&r, p->o->platform);
	p->started_us = bench_mono_us();
	while (p->ok + p->refused < p->total) {
		int64_t now = bench_mono_us();
		int64_t due = p->started_us + (int64_t)(p->sent * 1000000 / p->o->rate);
		uint64_t waiting = p->sent - p->ok - p->refused;
		mlc_response *resp;

		if (p->sent < p->total && now >= due && waiting < BENCH_PRODUCER_INFLIGHT) {
			if (refer_next(&r, p->o->token, 'l', 0, p->sent, p->sent + 1)) {
				snprintf(p->err, sizeof(p->err), "cannot make a command id");
				return -1;
			}
			mlc_set_timeout(c, BENCH_TIMEOUT_MS);
			p->sent_at[p->sent] = now;
			p->sent_wall[p->sent] = bench_wall_us();
			if (mlc_send(c, &r.req)) {
				snprintf(p->err, sizeof(p->err), "%s", mlc_error(c));
				return -1;
			}
			p->sent++;
			continue;
		}
		/* Wait for an answer, but no longer than the next command is due. */
		mlc_set_timeout(c, p->sent < p->total ?
				(int)((due > now ? due - now : 0) / 1000 + 1) : BENCH_TIMEOUT_MS);
		resp = mlc_recv(c);
		if (!resp) {
			if (mlc_timed_out(c) && p->sent < p->total)
				continue;        /* only timed out: time to send */
			snprintf(p->err, sizeof(p->err), "%s", mlc_error(c));
			return -1;
		}
		if (producer_answer(p, resp)) {
			mlc_response_free(resp);
			return -1;
		}
		mlc_response_free(resp);
	}
	p->finished_us = bench_mono_us();
	return 0;
}

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	struct mlc *c = bench_connect_as(p->o, p->o->producer_cert, p->o->producer_key, p->err,
					 sizeof(p->err));

	if (c) {
		producer_loop(p, c);
		mlc_close(c);
	}
	atomic_store(&p->done, true);
	return NULL;
}

/* The fleet's on_settled: every subscriber is live or gone; start the producer. */
static void latency_start_producer(struct fleet *fl)
{
	struct latency *l = fl->phase;
	struct producer *p = &l->prod;
	int rc;

	l->all_live_us = bench_mono_us();
	l->live_at_start = fl->live;
	l->gone_at_start = fl->gone;
	getrusage(RUSAGE_SELF, &l->ru_start);
	printf("subscribers            %zu live after %.2f s (%zu failed)\n", fl->live,
	       bench_seconds_between(fl->connect_start_us, l->all_live_us), fl->gone);
	if (fl->live == 0) {
		fl->failed = true;
		event_base_loopbreak(fl->base);
		return;
	}
	p->o = fl->o;
	p->total = fl->o->rate * fl->o->seconds;
	p->sent_at = calloc(p->total, sizeof(*p->sent_at));
	p->sent_wall = calloc(p->total, sizeof(*p->sent_wall));
	rc = p->sent_at && p->sent_wall ?
	     pthread_create(&l->producer_thread, NULL, producer_main, p) : ENOMEM;
	if (rc) {
		fprintf(stderr, PROG ": cannot start the producer: %s\n", strerror(rc));
		fl->failed = true;
		event_base_loopbreak(fl->base);
		return;
	}
	l->producer_started = true;
}

/* The fleet's on_tick: give up on a slow start; stop once the producer is
 * done and every notification arrived (or the drain time is over). */
static void latency_on_tick(struct fleet *fl)
{
	struct latency *l = fl->phase;
	int64_t now = bench_mono_us();

	if (!l->producer_started) {
		if (now - fl->connect_start_us > (int64_t)BENCH_CONNECT_LIMIT_S * 1000000) {
			fprintf(stderr, PROG ": only %zu of %zu subscribers live after %d s\n",
				fl->live, fl->n_subs, BENCH_CONNECT_LIMIT_S);
			fl->failed = true;
			event_base_loopbreak(fl->base);
		}
		return;
	}
	if (!atomic_load(&l->prod.done))
		return;
	if (!l->producer_done_us)
		l->producer_done_us = now;
	if (fl->notifications >= l->prod.ok * l->live_at_start || fl->live == 0 ||
	    now - l->producer_done_us >= (int64_t)fl->o->drain_s * 1000000)
		event_base_loopbreak(fl->base);
}

/* Print the figures; 0 when every expected notification arrived. */
static int latency_report(struct latency *l)
{
	struct fleet *fl = &l->fl;
	struct producer *p = &l->prod;
	uint64_t expected = p->ok * l->live_at_start;
	double sending = bench_seconds_between(p->started_us, p->finished_us ? p->finished_us :
							      bench_mono_us());

	if (p->err[0])
		fprintf(stderr, PROG ": producer: %s\n", p->err);
	printf("commands               %" PRIu64 " sent, %" PRIu64 " ok, %" PRIu64
	       " refused in %.1f s (%.1f/s)\n", p->sent, p->ok, p->refused, sending,
	       sending > 0 ? (double)(p->ok + p->refused) / sending : 0.0);
	printf("command round trip     ");
	samples_print_quantiles(&p->rtt);
	printf("  of which before batch ");
	samples_print_quantiles(&p->to_batch);
	printf("                       (sent -> recorded_at: read by the server, queued for the"
	       " writer)\n");
	printf("notifications          %" PRIu64 " received of %" PRIu64 " expected (%" PRIu64
	       " events x %zu subscribers), %" PRIu64 " missing, %" PRIu64 " out of order\n",
	       fl->notifications, expected, p->ok, l->live_at_start,
	       expected > fl->notifications ? expected - fl->notifications : 0, fl->disorder);
	printf("delivery latency       ");
	samples_print_quantiles(&fl->delivery);
	printf("                       (receive time - event.recorded_at; recorded_at is stamped\n"
	       "                       when the write batch starts, so this includes the group\n"
	       "                       commit's fsync and the fan-out to every subscriber)\n");
	printf("subscribers lost       %zu during the run; heartbeats %" PRIu64 ", pings %" PRIu64
	       "\n", fl->gone - l->gone_at_start, fl->heartbeats, fl->pings);
	bench_print_cpu(&l->ru_start, bench_seconds_between(l->all_live_us, bench_mono_us()));
	return p->err[0] || fl->notifications < expected || fl->disorder ? 1 : 0;
}

static void latency_release(struct latency *l)
{
	fleet_release(&l->fl);
	free(l->prod.sent_at);
	free(l->prod.sent_wall);
	samples_release(&l->prod.rtt);
	samples_release(&l->prod.to_batch);
}

int latency_run(const struct bench_opts *o)
{
	struct latency l = { 0 };
	int rc = 1;

	printf("== delivery latency: %" PRIu64 " subscribers, %" PRIu64 " commands/s for %" PRIu64
	       " s\n", o->subscribers, o->rate, o->seconds);
	atomic_init(&l.prod.done, false);
	l.fl.on_settled = latency_start_producer;
	l.fl.on_tick = latency_on_tick;
	l.fl.phase = &l;
	if (fleet_init(&l.fl, o, FLEET_LATENCY, o->subscribers))
		goto out;
	l.fl.connect_start_us = bench_mono_us();
	fleet_launch(&l.fl);
	if (event_base_dispatch(l.fl.base) < 0)
		fprintf(stderr, PROG ": event loop failed\n");
	if (l.producer_started) {
		/* Only after the producer set done, or when the loop failed. */
		pthread_join(l.producer_thread, NULL);
		rc = latency_report(&l);
	}
	if (l.fl.failed)
		rc = 1;
out:
	latency_release(&l);
	return rc;
}
