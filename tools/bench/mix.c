/* mix.c - the timed part of maillage-bench: commands drawn from a weighted
 * mix, each sent by the organisation that would send it on a case where it
 * is legal, pipelined (o->inflight per connection), for o->seconds, as fast
 * as possible or at o->rate commands per second spread evenly; latency from
 * send to reply, commands per second, refusals by status code.
 *
 * The draw: each kind owes its share of every command sent. A kind that
 * cannot go now (its organisation's connections are full, or no case is
 * waiting for it: no committed proposal to answer yet) is skipped and keeps
 * what it is owed, up to MIX_OWED_MAX commands, so it catches up once it
 * can; the figures show the mix actually sent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "bench.h"

#define MIX_OWED_MAX 16.0          /* commands a kind that cannot go may owe */
#define MIX_CODES 17               /* status codes 0..16 */
#define MIX_ERRORS_SHOWN 10
#define MIX_LATE_US 1000           /* --rate: a command sent this late is late */

struct kind_stats {
	uint64_t sent, ok, refused;
	uint64_t by_code[MIX_CODES];
	struct samples latency;
};

struct mix {
	struct pool *p;
	struct book *b;
	const struct bench_opts *o;
	unsigned weight_sum;
	double owed[BENCH_MIX_KINDS];
	unsigned next_partner[BENCH_MIX_KINDS];
	struct kind_stats st[BENCH_MIX_KINDS];
	uint64_t sent, answered, lost;
	int64_t t0, t_end, stopped_us, last_reply_us, drain_until;
	bool stopping, broken;
	struct event *timer;
	struct samples lag;        /* --rate: sent - due */
	uint64_t late;
	unsigned errors_shown;
	struct rusage ru_start;
};

/* ------------------------------------------------------------------------- */
/* Where a command of kind can go now. */

/* Whether partner i has a connection with room and a case waiting for kind. */
static bool partner_can(struct mix *m, enum kind kind, unsigned i)
{
	struct book *b = m->b;

	if (!pool_partner(m->p, i)->with_room)
		return false;
	switch (kind) {
	case K_VISIT:
		return b->n_by_lead[i] > 0;
	case K_ANSWER:
		return b->to_answer[i].n > 0;
	case K_CLOSE:
		return b->to_close[i].n > 0;
	default:
		return false;
	}
}

/* The partner that can take kind now, in turn; -1 when none. */
static int partner_for(struct mix *m, enum kind kind)
{
	unsigned n = (unsigned)m->o->n_partners;

	for (unsigned k = 0; k < n; k++) {
		unsigned i = (m->next_partner[kind] + k) % n;

		if (partner_can(m, kind, i))
			return (int)i;
	}
	return -1;
}

static bool mix_can(struct mix *m, enum kind kind)
{
	struct book *b = m->b;

	switch (kind) {
	case K_VISIT:
	case K_ANSWER:
	case K_CLOSE:
		return partner_for(m, kind) >= 0;
	case K_STEP:
	case K_PROPOSE:
		return pool_org(m->p, ROLE_LANDLORD)->with_room && b->n_shared > 0;
	case K_REFER:
		return pool_org(m->p, ROLE_LANDLORD)->with_room;
	case K_ACK:
		return pool_org(m->p, ROLE_COORDINATION)->with_room && b->to_ack.n > 0;
	default:
		return false;
	}
}

/* The next kind to send, or -1 when none can go now. */
static int mix_choose(struct mix *m)
{
	bool can[BENCH_MIX_KINDS];
	unsigned ready_sum = 0;
	int best = -1;

	for (int k = 0; k < BENCH_MIX_KINDS; k++) {
		can[k] = m->o->weight[k] && mix_can(m, (enum kind)k);
		ready_sum += can[k] ? m->o->weight[k] : 0;
	}
	if (!ready_sum)
		return -1;
	for (int k = 0; k < BENCH_MIX_KINDS; k++) {
		if (can[k]) {
			m->owed[k] += (double)m->o->weight[k] / ready_sum;
			if (best < 0 || m->owed[k] > m->owed[best])
				best = k;
		} else if (m->o->weight[k]) {
			m->owed[k] += (double)m->o->weight[k] / m->weight_sum;
			if (m->owed[k] > MIX_OWED_MAX)
				m->owed[k] = MIX_OWED_MAX;
		}
	}
	m->owed[best] -= 1;
	return best;
}

/* Send one command of kind (which can go). 0 or -1. */
static int mix_send(struct mix *m, enum kind kind)
{
	struct book *b = m->b;
	struct bconn *c;
	uint32_t num = UINT32_MAX;
	int partner;

	switch (kind) {
	case K_VISIT:
	case K_ANSWER:
	case K_CLOSE:
		partner = partner_for(m, kind);
		m->next_partner[kind] = (unsigned)(partner + 1) % (unsigned)m->o->n_partners;
		c = pool_pick(m->p, pool_partner(m->p, (unsigned)partner));
		if (kind == K_VISIT) {
			size_t *next = &b->next_by_lead[partner];

			num = b->by_lead[partner][*next];
			*next = (*next + 1) % b->n_by_lead[partner];
		} else {
			ring_pop(kind == K_ANSWER ? &b->to_answer[partner] : &b->to_close[partner],
				 &num);
		}
		break;
	case K_STEP:
	case K_PROPOSE:
		c = pool_pick(m->p, pool_org(m->p, ROLE_LANDLORD));
		num = b->shared[b->next_shared];
		b->next_shared = (b->next_shared + 1) % b->n_shared;
		break;
	case K_REFER:
		c = pool_pick(m->p, pool_org(m->p, ROLE_LANDLORD));
		break;
	case K_ACK:
		c = pool_pick(m->p, pool_org(m->p, ROLE_COORDINATION));
		ring_pop(&b->to_ack, &num);
		break;
	default:
		return -1;
	}
	if (!c || request_send(c, m->o, b, kind, num, m->sent))
		return -1;
	m->st[kind].sent++;
	m->sent++;
	return 0;
}

/* ------------------------------------------------------------------------- */
/* The pace. */

/* Wake up at at_us (monotonic), or at the end of the run if sooner. */
static void mix_arm(struct mix *m, int64_t at_us)
{
	int64_t now = bench_mono_us(), us;

	if (!m->stopping && at_us > m->t_end)
		at_us = m->t_end;
	us = at_us > now ? at_us - now : 0;
	event_add(m->timer, &(struct timeval){ .tv_sec = us / 1000000, .tv_usec = us % 1000000 });
}

/* The run is over once nothing is in flight, or the drain time is up. */
static void mix_check_done(struct mix *m)
{
	if (m->p->inflight == 0 || m->broken || bench_mono_us() >= m->drain_until)
		event_base_loopbreak(m->p->base);
	else
		mix_arm(m, bench_mono_us() + 100000);
}

static void mix_stop(struct mix *m)
{
	m->stopping = true;
	m->stopped_us = bench_mono_us();
	m->drain_until = m->stopped_us + (int64_t)m->o->drain_s * 1000000;
	mix_check_done(m);
}

/* Send what is due (everything that fits, without --rate). */
static void mix_pump(struct mix *m)
{
	while (!m->stopping && !m->broken) {
		int64_t now = bench_mono_us(), due = now;
		int kind;

		if (now >= m->t_end) {
			mix_stop(m);
			return;
		}
		if (m->o->rate) {
			due = m->t0 + (int64_t)(m->sent * 1000000 / m->o->rate);
			if (due > now) {
				mix_arm(m, due);
				return;
			}
		}
		kind = mix_choose(m);
		if (kind < 0)
			return;      /* every connection is full: replies will call again */
		if (mix_send(m, (enum kind)kind)) {
			fprintf(stderr, PROG ": cannot send %s\n", kind_name((enum kind)kind));
			m->broken = true;
			event_base_loopbreak(m->p->base);
			return;
		}
		if (m->o->rate) {
			m->late += now - due > MIX_LATE_US;
			if (samples_add(&m->lag, now - due))
				m->broken = true;
		}
	}
}

static void mix_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mix *m = arg;

	(void)fd;
	(void)what;
	if (m->stopping)
		mix_check_done(m);
	else
		mix_pump(m);
}

/* ------------------------------------------------------------------------- */
/* Replies. */

/* What an answer makes possible: a referral to acknowledge, a proposal to
 * answer. 0 or -1. */
static int mix_follow(struct mix *m, const struct slot *s, const mlc_response *resp)
{
	struct book *b = m->b;
	uint32_t num;

	if (s->kind == K_REFER) {
		if (!m->o->weight[K_ACK])
			return 0;
		if (resp->result_case != MAILLAGE__V1__RESPONSE__RESULT_COMMAND ||
		    book_add(b, &num) || book_set_id(b, num, resp->command->case_id))
			return -1;
		return ring_push(&b->to_ack, num);
	}
	if (s->kind == K_PROPOSE) {
		b->cases[s->ref].proposals++;
		return m->o->weight[K_ANSWER] ?
		       ring_push(&b->to_answer[b->cases[s->ref].lead], s->ref) : 0;
	}
	return 0;
}

static void mix_on_reply(struct pool *p, struct bconn *c, const struct slot *s,
			 const mlc_response *resp, int64_t now_us)
{
	struct mix *m = p->phase;
	struct kind_stats *st;
	int code = resp_code(resp);

	(void)c;
	if (s->kind >= BENCH_MIX_KINDS)
		return;
	st = &m->st[s->kind];
	m->answered++;
	m->last_reply_us = now_us;
	if (samples_add(&st->latency, now_us - s->sent_us))
		m->broken = true;
	if (code == MAILLAGE__V1__STATUS_CODE__OK) {
		st->ok++;
		if (mix_follow(m, s, resp)) {
			fprintf(stderr, PROG ": cannot keep the case of a %s answer\n",
				kind_name(s->kind));
			m->broken = true;
		}
		return;
	}
	st->refused++;
	st->by_code[code >= 0 && code < MIX_CODES ? code : MAILLAGE__V1__STATUS_CODE__INTERNAL]++;
	if (m->errors_shown++ < MIX_ERRORS_SHOWN)
		fprintf(stderr, PROG ": %s on %s refused: %s: %s\n", kind_name(s->kind),
			s->kind == K_REFER ? "a new household" : m->b->cases[s->ref].id,
			bench_status_name(code), resp_message(resp));
}

static void mix_on_room(struct pool *p)
{
	struct mix *m = p->phase;

	if (m->broken)
		event_base_loopbreak(p->base);
	else if (m->stopping)
		mix_check_done(m);
	else
		mix_pump(m);
}

static void mix_on_lost(struct pool *p, struct bconn *c, uint32_t requests)
{
	struct mix *m = p->phase;

	(void)c;
	m->lost += requests;
	if (m->stopping)
		mix_check_done(m);
}

/* ------------------------------------------------------------------------- */
/* Figures. */

static void print_connections(const struct mix *m)
{
	const struct pool *p = m->p;

	printf("connections            %zu (", p->n_conns);
	for (size_t i = 0; i < p->n_orgs; i++)
		printf("%s%s %zu", i ? ", " : "", p->orgs[i].id, p->orgs[i].n_conns);
	printf("), %" PRIu64 " in flight each at most\n", m->o->inflight);
}

static double ms(int64_t us)
{
	return (double)us / 1000.0;
}

static void print_kinds(struct mix *m, double secs)
{
	printf("%-24s %6s %6s %10s %9s %7s %8s %8s %8s\n", "by type", "target", "sent",
	       "commands/s", "ok", "refused", "p50 ms", "p99 ms", "max ms");
	for (int k = 0; k < BENCH_MIX_KINDS; k++) {
		struct kind_stats *st = &m->st[k];

		if (!m->o->weight[k] && !st->sent)
			continue;
		printf("  %-22s %5.1f%% %5.1f%% %10.0f %9" PRIu64 " %7" PRIu64 " %8.2f %8.2f %8.2f\n",
		       kind_name((enum kind)k), 100.0 * m->o->weight[k] / m->weight_sum,
		       m->sent ? 100.0 * (double)st->sent / (double)m->sent : 0.0,
		       secs > 0 ? (double)st->ok / secs : 0.0, st->ok, st->refused,
		       ms(samples_quantile_us(&st->latency, 500000)),
		       ms(samples_quantile_us(&st->latency, 990000)),
		       ms(samples_quantile_us(&st->latency, 1000000)));
	}
}

static void print_errors(const struct mix *m)
{
	bool any = false;

	printf("errors by status       ");
	for (int code = 1; code < MIX_CODES; code++) {
		uint64_t n = 0;

		for (int k = 0; k < BENCH_MIX_KINDS; k++)
			n += m->st[k].by_code[code];
		if (!n)
			continue;
		printf("%s%s %" PRIu64 " (", any ? "; " : "", bench_status_name(code), n);
		for (int k = 0, first = 1; k < BENCH_MIX_KINDS; k++) {
			if (!m->st[k].by_code[code])
				continue;
			printf("%s%s %" PRIu64, first ? "" : ", ", kind_name((enum kind)k),
			       m->st[k].by_code[code]);
			first = 0;
		}
		printf(")");
		any = true;
	}
	printf("%s\n", any ? "" : "none");
}

/* Print the figures; *ok_per_s the commands answered OK per second. 0, or 1
 * when a command was refused or lost, or the run broke. */
static int mix_report(struct mix *m, double *ok_per_s)
{
	struct samples all = { 0 };
	uint64_t ok = 0, refused = 0;
	int64_t end = m->last_reply_us > m->t0 ? m->last_reply_us : bench_mono_us();
	double secs = bench_seconds_between(m->t0, end);

	for (int k = 0; k < BENCH_MIX_KINDS; k++) {
		ok += m->st[k].ok;
		refused += m->st[k].refused;
		if (samples_add_all(&all, &m->st[k].latency))
			m->broken = true;
	}
	*ok_per_s = secs > 0 ? (double)ok / secs : 0;
	printf("commands               %" PRIu64 " sent, %" PRIu64 " answered (%" PRIu64 " ok, %"
	       PRIu64 " refused), %" PRIu64 " lost with their connection, %" PRIu64
	       " unanswered\n", m->sent, m->answered, ok, refused, m->lost,
	       m->sent - m->answered - m->lost);
	printf("throughput             %.0f commands/s ok over %.2f s (first send to last reply;"
	       " sending stopped at %.2f s)\n", *ok_per_s, secs,
	       bench_seconds_between(m->t0, m->stopped_us ? m->stopped_us : end));
	print_kinds(m, secs);
	printf("latency (send->reply)  p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, "
	       "max %.2f ms (%zu commands)\n", ms(samples_quantile_us(&all, 500000)),
	       ms(samples_quantile_us(&all, 900000)), ms(samples_quantile_us(&all, 990000)),
	       ms(samples_quantile_us(&all, 999000)), ms(samples_quantile_us(&all, 1000000)),
	       all.n);
	print_errors(m);
	if (m->o->rate)
		printf("pacing                 %" PRIu64 " of %" PRIu64 " commands sent over %d ms "
		       "late (connections full); lag p99 %.2f ms, max %.2f ms\n", m->late, m->sent,
		       MIX_LATE_US / 1000, ms(samples_quantile_us(&m->lag, 990000)),
		       ms(samples_quantile_us(&m->lag, 1000000)));
	bench_print_cpu(&m->ru_start, bench_seconds_between(m->t0, bench_mono_us()));
	samples_release(&all);
	return m->broken || refused || m->lost || m->answered + m->lost < m->sent ? 1 : 0;
}

int mix_run(struct pool *p, struct book *b, double *ok_per_s, uint64_t *answered)
{
	struct mix m = { .p = p, .b = b, .o = p->o };
	int rc = 1;

	for (int k = 0; k < BENCH_MIX_KINDS; k++)
		m.weight_sum += m.o->weight[k];
	printf("== mix: %" PRIu64 " s, %s", m.o->seconds, m.o->rate ? "" : "as fast as possible");
	if (m.o->rate)
		printf("%" PRIu64 " commands/s spread evenly", m.o->rate);
	printf("\n");
	print_connections(&m);
	m.timer = event_new(p->base, -1, 0, mix_on_timer, &m);
	if (!m.timer) {
		fprintf(stderr, PROG ": cannot set up the timer\n");
		return 1;
	}
	pool_set_limit(p, (uint32_t)m.o->inflight);
	p->phase = &m;
	p->hooks = (struct pool_hooks){ .on_reply = mix_on_reply, .on_room = mix_on_room,
					.on_lost = mix_on_lost };
	getrusage(RUSAGE_SELF, &m.ru_start);
	m.t0 = bench_mono_us();
	m.t_end = m.t0 + (int64_t)m.o->seconds * 1000000;
	mix_arm(&m, m.t_end);
	mix_pump(&m);
	if (!m.broken && event_base_dispatch(p->base) < 0)
		m.broken = true;
	rc = mix_report(&m, ok_per_s);
	*answered = m.answered;
	p->phase = NULL;
	p->hooks = (struct pool_hooks){ 0 };
	event_free(m.timer);
	for (int k = 0; k < BENCH_MIX_KINDS; k++)
		samples_release(&m.st[k].latency);
	samples_release(&m.lag);
	return rc;
}
