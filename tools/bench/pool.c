/* pool.c - the connections of maillage-bench on one libevent loop: which
 * organisation each speaks for, the pace at which they start, their request
 * slots (a bounded number in flight, replies matched by request_id) and
 * every change of their state (the diagram is in bench.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "bench.h"

#define BENCH_CONNECT_PARALLEL 64         /* handshakes under way at once */
#define SLOT_BITS 20                      /* request_id = sequence << 20 | slot */
#define SLOT_MASK ((UINT64_C(1) << SLOT_BITS) - 1)
#define REASONS_SHOWN 5                   /* connection failures printed */

/* ------------------------------------------------------------------------- */
/* Room: READY connections with a free slot, counted per organisation. */

static bool has_room(const struct bconn *c)
{
	return c->state == BCONN_READY && c->cap - c->n_free < c->limit;
}

/* Call after anything that may change has_room(c), with its value before. */
static void room_changed(struct bconn *c, bool before)
{
	bool now = has_room(c);

	if (now && !before)
		c->org->with_room++;
	else if (!now && before)
		c->org->with_room--;
}

/* Each change of state goes through here, which keeps the counts. */
static void bconn_set_state(struct bconn *c, enum bconn_state next)
{
	struct pool *p = c->pool;
	bool before = has_room(c);

	if (c->state == BCONN_CONNECTING || c->state == BCONN_HELLO)
		p->connecting--;
	else if (c->state == BCONN_READY)
		p->ready--;
	c->state = next;
	if (next == BCONN_CONNECTING || next == BCONN_HELLO)
		p->connecting++;
	else if (next == BCONN_READY)
		p->ready++;
	else if (next == BCONN_GONE)
		p->gone++;
	room_changed(c, before);
}

/* Give up on c (freed with the others at the end); the first reasons are
 * shown, and the phase hears of the requests lost with it. */
static void bconn_gone(struct bconn *c, const char *why)
{
	struct pool *p = c->pool;
	uint32_t lost = c->cap - c->n_free;

	if (c->state == BCONN_GONE)
		return;
	if (p->reasons_shown++ < REASONS_SHOWN)
		fprintf(stderr, PROG ": connection %zu (%s): %s\n", c->index, c->org->id, why);
	if (c->bev)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bconn_set_state(c, BCONN_GONE);
	p->inflight -= lost;
	if (lost && p->hooks.on_lost)
		p->hooks.on_lost(p, c, lost);
}

/* ------------------------------------------------------------------------- */
/* Requests. */

int bconn_send(struct bconn *c, mlc_request *req, enum kind kind, uint32_t ref)
{
	bool before = has_room(c);
	struct slot *s;
	uint32_t n;

	if (c->n_free == 0 || c->state == BCONN_GONE)
		return -1;
	n = c->free_slots[--c->n_free];
	s = &c->slots[n];
	req->request_id = ++c->seq << SLOT_BITS | n;
	*s = (struct slot){ .request_id = req->request_id, .sent_us = bench_mono_us(),
			    .kind = kind, .ref = ref };
	c->pool->inflight++;
	room_changed(c, before);
	if (bench_frame_send(c->bev, req)) {
		bconn_gone(c, "cannot queue a request");
		return -1;
	}
	return 0;
}

static void slot_free(struct bconn *c, struct slot *s)
{
	bool before = has_room(c);

	s->request_id = 0;
	if (c->state == BCONN_GONE)
		return;       /* counted lost with the connection */
	c->free_slots[c->n_free++] = (uint32_t)(s - c->slots);
	c->pool->inflight--;
	room_changed(c, before);
}

/* The slot of the request resp answers; NULL when it answers none. */
static struct slot *slot_of(struct bconn *c, const mlc_response *resp)
{
	uint64_t n = resp->request_id & SLOT_MASK;

	if (resp->request_id == 0 || n >= c->cap || c->slots[n].request_id != resp->request_id)
		return NULL;
	return &c->slots[n];
}

static void bconn_hello(struct bconn *c)
{
	Maillage__V1__Ping ping = MAILLAGE__V1__PING__INIT;
	mlc_request req = MAILLAGE__V1__REQUEST__INIT;

	req.body_case = MAILLAGE__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	bench_nodelay(c->bev);
	bconn_set_state(c, BCONN_HELLO);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE))
		bconn_gone(c, "cannot read from the connection");
	else
		bconn_send(c, &req, K_HELLO, 0);
}

/* One frame from the server; true when it was the reply to a request of the
 * phase (not the Pong of the hello). */
static bool bconn_handle(struct bconn *c, const mlc_response *resp)
{
	struct slot *s = slot_of(c, resp);
	char why[300];

	if (!s) {
		snprintf(why, sizeof(why), "reply to no request (request_id %" PRIu64 "): %s: %s",
			 resp->request_id, bench_status_name(resp_code(resp)), resp_message(resp));
		bconn_gone(c, why);
		return false;
	}
	if (s->kind == K_HELLO) {
		slot_free(c, s);
		if (resp_ok(resp) && resp->result_case == MAILLAGE__V1__RESPONSE__RESULT_PONG) {
			bconn_set_state(c, BCONN_READY);
		} else {
			snprintf(why, sizeof(why), "ping refused: %s: %s",
				 bench_status_name(resp_code(resp)), resp_message(resp));
			bconn_gone(c, why);
		}
		return false;
	}
	if (c->pool->hooks.on_reply)
		c->pool->hooks.on_reply(c->pool, c, s, resp, bench_mono_us());
	slot_free(c, s);
	return true;
}

static void bconn_on_read(struct bufferevent *bev, void *arg)
{
	struct bconn *c = arg;
	struct pool *p = c->pool;
	struct evbuffer *in = bufferevent_get_input(bev);
	bool was_hello = c->state == BCONN_HELLO, replies = false, bad = false;
	mlc_response *resp;

	while (c->state != BCONN_GONE && (resp = bench_frame_next(in, &bad))) {
		replies |= bconn_handle(c, resp);
		mlc_response_free(resp);
	}
	if (bad)
		bconn_gone(c, "the server sent a frame over 64 MiB or not a maillage.v1.Response");
	if (replies && p->hooks.on_room)
		p->hooks.on_room(p);
	if (was_hello && c->state != BCONN_HELLO)
		pool_launch(p);
}

static void bconn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct bconn *c = arg;
	char reason[200], why[300];

	if (c->state == BCONN_GONE)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		bconn_hello(c);
	} else {
		bench_tls_describe_end(bev, what, reason, sizeof(reason));
		snprintf(why, sizeof(why), "%s%s", c->state == BCONN_CONNECTING ?
			 "cannot connect (refused, or the tls handshake failed): " : "", reason);
		bconn_gone(c, why);
	}
	if (c->state == BCONN_GONE)
		pool_launch(c->pool);
}

static int bconn_connect(struct bconn *c)
{
	struct pool *p = c->pool;
	const char *why;

	c->bev = bench_tls_bufferevent_new(p->base, c->org->ctx, &why);
	if (!c->bev) {
		bconn_gone(c, why);
		return -1;
	}
	bufferevent_setcb(c->bev, bconn_on_read, NULL, bconn_on_event, c);
	bconn_set_state(c, BCONN_CONNECTING);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&p->addr, p->addrlen)) {
		bconn_gone(c, "cannot connect");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------- */
/* The pool. */

void pool_launch(struct pool *p)
{
	while (p->next_start < p->n_conns && p->connecting < BENCH_CONNECT_PARALLEL)
		bconn_connect(&p->conns[p->next_start++]);
	if (p->next_start < p->n_conns || p->connecting > 0 || p->settled)
		return;
	p->settled = true;
	p->settled_us = bench_mono_us();
	if (p->hooks.on_settled)
		p->hooks.on_settled(p);
}

struct bconn *pool_pick(struct pool *p, struct org *org)
{
	if (!org->with_room)
		return NULL;
	for (size_t i = 0; i < org->n_conns; i++) {
		struct bconn *c = &p->conns[org->conns[org->next]];

		org->next = (org->next + 1) % org->n_conns;
		if (has_room(c))
			return c;
	}
	return NULL;
}

void pool_set_limit(struct pool *p, uint32_t limit)
{
	for (size_t i = 0; i < p->n_conns; i++) {
		struct bconn *c = &p->conns[i];
		bool before = has_room(c);

		c->limit = limit < c->cap ? limit : c->cap;
		room_changed(c, before);
	}
}

struct org *pool_org(struct pool *p, enum org_role role)
{
	return &p->orgs[role];
}

struct org *pool_partner(struct pool *p, unsigned i)
{
	return &p->orgs[ROLE_PARTNER + i];
}

/* How many connections each organisation gets: by share, at least one each
 * when there are enough, the rest to (or from) the one with the most. */
static void pool_split(struct pool *p, const unsigned share[3], size_t *count)
{
	size_t np = p->n_orgs - ROLE_PARTNER, total = 0, most = 0;
	double parts = share[ROLE_LANDLORD] + share[ROLE_COORDINATION] + share[ROLE_PARTNER];

	for (size_t i = 0; i < p->n_orgs; i++) {
		double s = i < ROLE_PARTNER ? share[i] : (double)share[ROLE_PARTNER] / (double)np;
		double want = parts > 0 ? (double)p->n_conns * s / parts : 0;

		count[i] = p->n_conns >= p->n_orgs && want < 1 ? 1 : (size_t)(want + 0.5);
		total += count[i];
		if (count[i] > count[most])
			most = i;
	}
	if (total < p->n_conns)
		count[most] += p->n_conns - total;
	for (size_t i = 0; total > p->n_conns; i = (i + 1) % p->n_orgs) {
		size_t j = (most + i) % p->n_orgs;

		if (count[j] > 1 || (p->n_conns < p->n_orgs && count[j] > 0)) {
			count[j]--;
			total--;
		}
	}
}

/* The organisations: landlord, coordination, then the partners. */
static int pool_orgs(struct pool *p, const char *host)
{
	const struct bench_opts *o = p->o;
	char cert[4096], key[4096], ca[4096];

	p->n_orgs = ROLE_PARTNER + o->n_partners;
	p->orgs = calloc(p->n_orgs, sizeof(*p->orgs));
	if (!p->orgs)
		return -1;
	snprintf(ca, sizeof(ca), "%s/ca.crt", o->dev);
	for (size_t i = 0; i < p->n_orgs; i++) {
		struct org *g = &p->orgs[i];

		g->role = i < ROLE_PARTNER ? (enum org_role)i : ROLE_PARTNER;
		g->partner = i < ROLE_PARTNER ? 0 : (unsigned)(i - ROLE_PARTNER);
		g->id = g->role == ROLE_LANDLORD ? o->landlord :
			g->role == ROLE_COORDINATION ? o->coordination : o->partners[g->partner];
		snprintf(cert, sizeof(cert), "%s/%s.crt", o->dev, g->id);
		snprintf(key, sizeof(key), "%s/%s.key", o->dev, g->id);
		g->ctx = bench_tls_ctx_new(ca, cert, key, host);
		if (!g->ctx)
			return -1;
	}
	return 0;
}

/* Give the connections to the organisations, interleaved. */
static int pool_assign(struct pool *p, const unsigned share[3])
{
	size_t *count = calloc(p->n_orgs, sizeof(*count));
	size_t k = 0;

	if (!count)
		return -1;
	pool_split(p, share, count);
	for (size_t i = 0; i < p->n_orgs; i++) {
		p->orgs[i].conns = calloc(count[i] ? count[i] : 1, sizeof(size_t));
		if (!p->orgs[i].conns) {
			free(count);
			return -1;
		}
	}
	while (k < p->n_conns) {
		for (size_t i = 0; i < p->n_orgs && k < p->n_conns; i++) {
			struct org *g = &p->orgs[i];

			if (g->n_conns == count[i])
				continue;
			g->conns[g->n_conns++] = k;
			p->conns[k++].org = g;
		}
	}
	free(count);
	return 0;
}

int pool_init(struct pool *p, const struct bench_opts *o, size_t n_conns, uint32_t cap,
	      const unsigned share[3])
{
	struct event_config *cfg = event_config_new();
	char host[128];

	p->o = o;
	p->n_conns = n_conns;
	if (!cfg || event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER))
		goto err_setup;
	p->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (!p->base)
		goto err_setup;
	if (bench_parse_addr(o->addr, &p->addr, &p->addrlen, host, sizeof(host)) ||
	    pool_orgs(p, host))
		return -1;
	p->conns = calloc(n_conns, sizeof(*p->conns));
	if (!p->conns || pool_assign(p, share))
		goto err_setup;
	for (size_t i = 0; i < n_conns; i++) {
		struct bconn *c = &p->conns[i];

		c->pool = p;
		c->index = i;
		c->cap = c->limit = c->n_free = cap;
		c->slots = calloc(cap, sizeof(*c->slots));
		c->free_slots = malloc(cap * sizeof(*c->free_slots));
		if (!c->slots || !c->free_slots)
			goto err_setup;
		for (uint32_t k = 0; k < cap; k++)
			c->free_slots[k] = cap - 1 - k;
	}
	return 0;

err_setup:
	fprintf(stderr, PROG ": cannot set up %zu connections (out of memory?)\n", n_conns);
	return -1;
}

void pool_release(struct pool *p)
{
	for (size_t i = 0; p->conns && i < p->n_conns; i++) {
		struct bconn *c = &p->conns[i];

		if (c->bev) {
			if (c->state == BCONN_HELLO || c->state == BCONN_READY)
				bench_tls_shutdown(c->bev);
			bufferevent_free(c->bev);
		}
		free(c->slots);
		free(c->free_slots);
	}
	free(p->conns);
	for (size_t i = 0; p->orgs && i < p->n_orgs; i++) {
		bench_tls_ctx_free(p->orgs[i].ctx);
		free(p->orgs[i].conns);
	}
	free(p->orgs);
	if (p->base)
		event_base_free(p->base);
}
