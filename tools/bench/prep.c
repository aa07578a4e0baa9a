/* prep.c - before the timed part: the cases the mix works on, made through
 * the same connections, pipelined (BENCH_PREP_INFLIGHT per connection), not
 * timed.
 * Shared cases and cases to close are referred by the landlord, acknowledged
 * and accepted by coordination with a lead partner in turn; a first batch of
 * referrals waits for the mix's acknowledgements.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "bench.h"

#define PREP_TO_ACK 512            /* referrals left to acknowledge */
#define PREP_CLOSE_MARGIN 1.5      /* cases to close: over the estimate */
#define PREP_ERRORS_SHOWN 5

/* One step: kind on the cases first..first+n-1 of the book. */
struct prep {
	struct pool *p;
	struct book *b;
	enum kind kind;
	uint32_t first, n;
	uint32_t next, answered, refused;
	struct org *org;
	bool broken;
};

static void prep_on_room(struct pool *p)
{
	struct prep *s = p->phase;
	struct bconn *c;

	while (!s->broken && s->next < s->n && (c = pool_pick(p, s->org))) {
		uint32_t num = s->first + s->next;

		if (request_send(c, p->o, s->b, s->kind, num, num)) {
			fprintf(stderr, PROG ": cannot send %s\n", kind_name(s->kind));
			s->broken = true;
			event_base_loopbreak(p->base);
			return;
		}
		s->next++;
	}
}

static void prep_on_reply(struct pool *p, struct bconn *c, const struct slot *sl,
			  const mlc_response *resp, int64_t now_us)
{
	struct prep *s = p->phase;

	(void)c;
	(void)now_us;
	s->answered++;
	if (!resp_ok(resp)) {
		if (s->refused++ < PREP_ERRORS_SHOWN)
			fprintf(stderr, PROG ": preparation: %s refused: %s: %s\n",
				kind_name(sl->kind), bench_status_name(resp_code(resp)),
				resp_message(resp));
	} else if (sl->kind == K_REFER) {
		if (resp->result_case != MAILLAGE__V1__RESPONSE__RESULT_COMMAND ||
		    book_set_id(s->b, sl->ref, resp->command->case_id)) {
			fprintf(stderr, PROG ": preparation: a referral's answer has no case id\n");
			s->broken = true;
		}
	}
	if (s->answered == s->n || s->broken)
		event_base_loopbreak(p->base);
}

static void prep_on_lost(struct pool *p, struct bconn *c, uint32_t requests)
{
	struct prep *s = p->phase;

	(void)c;
	(void)requests;
	s->broken = true;
	event_base_loopbreak(p->base);
}

/* Send kind for the n cases from first and wait for every answer; the time
 * it took in *secs. 0, or -1 when one was refused or lost. */
static int prep_step(struct pool *p, struct book *b, enum kind kind, uint32_t first,
		     uint32_t n, double *secs)
{
	struct prep s = { .p = p, .b = b, .kind = kind, .first = first, .n = n,
			  .org = pool_org(p, kind == K_REFER ? ROLE_LANDLORD : ROLE_COORDINATION) };
	int64_t t0 = bench_mono_us();

	*secs = 0;
	if (n == 0)
		return 0;
	p->phase = &s;
	p->hooks = (struct pool_hooks){ .on_reply = prep_on_reply, .on_room = prep_on_room,
					.on_lost = prep_on_lost };
	prep_on_room(p);
	if (!s.broken && event_base_dispatch(p->base) < 0)
		s.broken = true;
	*secs = bench_seconds_between(t0, bench_mono_us());
	printf("prepare %-22s %" PRIu32 " in %.1f s (%.0f/s)%s\n", kind_name(kind), n, *secs,
	       *secs > 0 ? n / *secs : 0.0, s.refused ? ", some refused" : "");
	p->phase = NULL;
	return s.broken || s.refused || s.answered < n ? -1 : 0;
}

/* Cases set aside for CloseSupport: asked for, or enough for the expected
 * rate (--rate, else the referrals' rate here) over the run, with a margin. */
static uint32_t prep_close_count(const struct bench_opts *o, double refer_per_s)
{
	unsigned sum = 0;
	double rate, want;

	if (o->close_cases)
		return (uint32_t)o->close_cases;
	for (size_t k = 0; k < BENCH_MIX_KINDS; k++)
		sum += o->weight[k];
	if (!o->weight[K_CLOSE] || !sum)
		return 0;
	rate = o->rate ? (double)o->rate : refer_per_s;
	want = rate * (double)o->seconds * o->weight[K_CLOSE] / sum * PREP_CLOSE_MARGIN + 64;
	return want > 1e6 ? 1000000 : (uint32_t)want;
}

int prep_run(struct pool *p, struct book *b)
{
	const struct bench_opts *o = p->o;
	uint32_t shared = (uint32_t)o->cases, to_ack = o->weight[K_ACK] ? PREP_TO_ACK : 0;
	uint32_t first, closing, n, num;
	double secs;

	printf("== prepare: %" PRIu32 " cases in support shared by the mix, then cases to "
	       "close, %" PRIu32 " referrals to acknowledge\n", shared, to_ack);
	pool_set_limit(p, BENCH_PREP_INFLIGHT);
	first = (uint32_t)b->n;
	for (uint32_t i = 0; i < shared + to_ack; i++)
		if (book_add(b, &num))
			goto err_memory;
	if (prep_step(p, b, K_REFER, first, shared + to_ack, &secs))
		return 1;
	closing = prep_close_count(o, secs > 0 ? (shared + to_ack) / secs : 1000);
	for (uint32_t i = 0; i < closing; i++)
		if (book_add(b, &num))
			goto err_memory;
	if (prep_step(p, b, K_REFER, first + shared + to_ack, closing, &secs))
		return 1;
	/* the shared cases and those to close: acknowledged, then accepted */
	n = shared + to_ack + closing;
	for (uint32_t i = first; i < first + n; i++)
		b->cases[i].lead = (uint16_t)((i - first) % o->n_partners);
	if (prep_step(p, b, K_ACK, first, shared, &secs) ||
	    prep_step(p, b, K_ACK, first + shared + to_ack, closing, &secs) ||
	    prep_step(p, b, K_ACCEPT, first, shared, &secs) ||
	    prep_step(p, b, K_ACCEPT, first + shared + to_ack, closing, &secs))
		return 1;
	for (uint32_t i = first; i < first + n; i++) {
		uint32_t at = i - first;
		int rc = at < shared ? book_share(b, i, b->cases[i].lead) :
			 at < shared + to_ack ? ring_push(&b->to_ack, i) :
			 ring_push(&b->to_close[b->cases[i].lead], i);

		if (rc)
			goto err_memory;
	}
	printf("prepared               %" PRIu32 " shared, %" PRIu32 " to close, %" PRIu32
	       " to acknowledge\n\n", shared, closing, to_ack);
	return 0;

err_memory:
	fprintf(stderr, PROG ": out of memory for the cases\n");
	return 1;
}
